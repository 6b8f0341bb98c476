/* loader_augment.c: the loader's augmentation callback over compiled augmentation pipelines
 * (contracts, places and randomness in loader_augment.h). */
#include "data/loader_augment.h"

#include <string.h>

#include "util/splitmix.h"

struct aug_input {
    struct cg_augment_plan *plan; /* NULL: not augmented */
    cl_mem staging;               /* size-changing pipelines: the upload place */
    struct cg_loader_target graph;
    size_t rows;
    int64_t c, h, w, oh, ow;
    uint64_t seed;
};

struct cg_loader_augmenter {
    const struct cg_sampler *sm;
    int n;
    struct aug_input *in;
    struct cg_loader_target *upload; /* per input */
};

void cg_loader_augmenter_destroy(struct cg_loader_augmenter *A)
{
    if (!A)
        return;
    for (int i = 0; A->in && i < A->n; i++) {
        cg_augment_plan_destroy(A->in[i].plan);
        if (A->in[i].staging)
            clReleaseMemObject(A->in[i].staging);
    }
    cg_free(A->in);
    cg_free(A->upload);
    cg_free(A);
}

/* Compiles input i's pipeline text into A->in[i] and sets its upload place. */
static enum cg_status setup_input(struct cg_loader_augmenter *A, struct cg_device *dev, int i,
                                  const struct cg_input_desc *d, const char *text,
                                  struct cg_error *e)
{
    struct aug_input *ai = &A->in[i];
    const char *name = d->name ? d->name : "?";
    if (d->is_int || d->rank != 3)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation of graph input '%s': it must "
                            "be f32 images [C, H, W] (per example), not %s of rank %d", name,
                            d->is_int ? "i32" : "f32", d->rank);
    if (ai->graph.offset % sizeof(float))
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation of graph input '%s': byte "
                            "offset %zu is not a multiple of 4", name, ai->graph.offset);
    struct cg_augment *a;
    enum cg_status st = cg_augment_parse(text, &a, e);
    if (st == CG_OK) {
        st = cg_augment_out_shape(a, ai->c, ai->h, ai->w, &ai->oh, &ai->ow, e);
        if (st == CG_OK)
            st = cg_augment_compile(a, dev, (int64_t)ai->rows, ai->c, ai->h, ai->w, &ai->plan,
                                    e);
        cg_augment_destroy(a);
    }
    if (st != CG_OK) {
        if (st == CG_ERR_INPUT)
            cg_error_note(e, "note: in the augmentation of graph input '%s'", name);
        return st;
    }
    if (ai->oh == ai->h && ai->ow == ai->w)
        return CG_OK; /* in place at the graph place */
    cl_int err;
    size_t bytes = ai->rows * (size_t)(ai->c * ai->h * ai->w) * sizeof(float);
    ai->staging = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        ai->staging = NULL;
        return cg_cl_fail(e, err, "clCreateBuffer");
    }
    A->upload[i].buf = ai->staging;
    A->upload[i].offset = 0;
    return CG_OK;
}

enum cg_status cg_loader_augmenter_create(struct cg_device *dev, const struct cg_sampler *sm,
                                          const struct cg_input_desc *inputs,
                                          const char *const *pipelines,
                                          const struct cg_loader_target *targets, uint64_t seed,
                                          struct cg_loader_augmenter **out, struct cg_error *e)
{
    *out = NULL;
    struct cg_loader_augmenter *A = cg_calloc(1, sizeof *A);
    if (!A)
        return cg_error_nomem(e);
    A->sm = sm;
    A->n = cg_sampler_ninputs(sm);
    A->in = cg_calloc((size_t)A->n + 1, sizeof *A->in);
    A->upload = cg_calloc((size_t)A->n + 1, sizeof *A->upload);
    if (!A->in || !A->upload) {
        cg_loader_augmenter_destroy(A);
        return cg_error_nomem(e);
    }
    for (int i = 0; i < A->n; i++) {
        struct aug_input *ai = &A->in[i];
        const struct cg_input_desc *d = &inputs[i];
        ai->graph = targets[i];
        A->upload[i] = targets[i];
        ai->rows = cg_sampler_input_rows(sm, i);
        ai->seed = cg_splitmix_r(seed, (uint64_t)i);
        if (d->rank == 3) {
            ai->c = d->dims[0], ai->h = d->dims[1], ai->w = d->dims[2];
            ai->oh = ai->h, ai->ow = ai->w;
        }
        if (!pipelines || !pipelines[i] || !pipelines[i][0])
            continue;
        enum cg_status st = setup_input(A, dev, i, d, pipelines[i], e);
        if (st != CG_OK) {
            cg_loader_augmenter_destroy(A);
            return st;
        }
    }
    *out = A;
    return CG_OK;
}

const struct cg_loader_target *cg_loader_augmenter_targets(const struct cg_loader_augmenter *A)
{
    return A->upload;
}

void cg_loader_augmenter_out_shape(const struct cg_loader_augmenter *A, int i, int64_t *h,
                                   int64_t *w)
{
    *h = A->in[i].oh;
    *w = A->in[i].ow;
}

uint64_t cg_loader_augmenter_seed(const struct cg_loader_augmenter *A, int i)
{
    return A->in[i].seed;
}

enum cg_status cg_loader_augment(void *ctx, int input, cl_command_queue q, cl_mem buf,
                                 size_t offset, size_t rows, int views, uint64_t epoch,
                                 uint64_t step, cl_event after, cl_event *done,
                                 struct cg_error *e)
{
    (void)buf, (void)offset, (void)views;
    struct cg_loader_augmenter *A = ctx;
    *done = NULL;
    if (input < 0 || input >= A->n || !A->in[input].plan)
        return CG_OK;
    struct aug_input *ai = &A->in[input];
    if (rows != ai->rows)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation of input %d: %zu rows, "
                            "compiled for %zu", input, rows, ai->rows);
    const struct cg_loader_target *up = &A->upload[input];
    uint64_t t = epoch * (uint64_t)cg_sampler_steps_per_epoch(A->sm) + step;
    return cg_augment_run(ai->plan, q, up->buf, up->offset / sizeof(float), ai->graph.buf,
                          ai->graph.offset / sizeof(float), ai->seed, t, after ? 1 : 0,
                          after ? &after : NULL, done, e);
}
