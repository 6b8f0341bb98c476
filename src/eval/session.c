/* session.c: a run directory opened for evaluation: checkpoint, graph copy, data set, lazily
 * compiled forward-only models per batch size, and passes over a split (session.h). */
#include "eval/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/loader_augment.h"
#include "exec/model.h"
#include "ir/graph.h"
#include "runtime/runtime.h"
#include "train/binding.h"
#include "train/checkpoint.h"
#include "train/views.h"
#include "util/json.h"

struct cg_eval_session {
    struct cg_eval_info info;
    char rundir[4096], ckpt[4200], graph[4096], copy[4200], data[1024];
    char *graph_text;
    size_t graph_len;
    struct cg_st_file file; /* the checkpoint, kept for every model compiled */
    struct cg_dataset *ds;
    int ninputs;
    struct cg_input_desc inputs[CG_BIND_MAX_INPUTS];
    char names[CG_BIND_MAX_INPUTS][64];
    struct cg_sampler *sm[2]; /* per split; NULL for an empty split */
    void *bufs[CG_BIND_MAX_INPUTS];       /* what the sampler delivers (the fields' shapes) */
    size_t row_bytes[CG_BIND_MAX_INPUTS]; /* per anchor, of bufs */
    /* Inputs whose training pipeline changes the size (the run's record, views.h): the
     * trainer's evaluation resize (cg_train_aug_pipes, eval = 1) on the device, per split's
     * sampler, into a device buffer of the graph's shape read back into gbufs. */
    struct cg_train_aug aug;
    struct cg_loader_augmenter *augr[2];
    cl_mem dbuf[CG_BIND_MAX_INPUTS];      /* NULL: the input is not resized */
    void *gbufs[CG_BIND_MAX_INPUTS];      /* the graph's shape */
    size_t grow_bytes[CG_BIND_MAX_INPUTS]; /* per anchor, of gbufs */
    size_t *index;
    struct cg_device *dev;
    struct cg_model *model; /* one schedule per batch size (cg_model_bind) */
    size_t rows;            /* the batch size of the selected schedule */
    /* the pass in progress */
    int active;
    enum cg_eval_split split;
    size_t k, nbatches;
};

static const char *split_name(enum cg_eval_split s) { return s == CG_EVAL_TEST ? "test" : "train"; }

static enum cg_status meta_u64(struct cg_eval_session *s, const char *key, uint64_t *v,
                               struct cg_error *e)
{
    const char *t = cg_st_meta_get(&s->file, key);
    char *end;
    if (t)
        *v = strtoull(t, &end, 10);
    if (!t || !*t || *end)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a clgraph training checkpoint: "
                            "its metadata has no valid '%s'", s->ckpt, key);
    return CG_OK;
}

static enum cg_status open_session(struct cg_eval_session *s, const struct cg_eval_options *o,
                                   struct cg_error *e)
{
    if (!o->rundir || !o->rundir[0])
        return cg_error_set(e, CG_ERR_INPUT, "error: missing RUNDIR");
    if (o->batch < 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: --batch %lld: expected a positive integer",
                            (long long)o->batch);
    snprintf(s->rundir, sizeof s->rundir, "%s", o->rundir);
    s->info.rundir = s->rundir;
    struct stat sb;
    if (stat(s->rundir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: no such run directory", s->rundir);
    /* config.json marks a run directory of `clgraph train`. */
    char path[4300], cfg_hash[32];
    snprintf(path, sizeof path, "%s/config.json", s->rundir);
    char *cfg;
    size_t cfg_len;
    if (access(path, F_OK) != 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: no config.json: not a run directory "
                            "of clgraph train", s->rundir);
    CG_TRY(cg_read_file(path, (size_t)1 << 20, &cfg, &cfg_len, e));
    struct cg_json js;
    enum cg_status jst = cg_json_parse(cfg, path, &js, e);
    cg_free(cfg);
    CG_TRY(jst);
    const struct cg_json *h = cg_json_get(&js, "graph_fnv1a64", CG_JSON_STR);
    snprintf(cfg_hash, sizeof cfg_hash, "%s", h ? h->str : "");
    cg_json_free(&js);
    /* The newest checkpoint, validated (format, data hash) and kept for the models. */
    int64_t step = cg_ckpt_newest(s->rundir, s->ckpt, sizeof s->ckpt);
    if (step < 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: no checkpoint in %s/checkpoints "
                            "(nothing to evaluate; train the run first)", s->rundir, s->rundir);
    s->info.checkpoint = s->ckpt;
    CG_TRY(cg_ckpt_read(s->ckpt, &s->file, e));
    uint64_t batch, seed, ck_step;
    CG_TRY(meta_u64(s, "step", &ck_step, e));
    CG_TRY(meta_u64(s, "batch", &batch, e));
    CG_TRY(meta_u64(s, "seed", &seed, e));
    const char *graph = cg_st_meta_get(&s->file, "graph"),
               *data = cg_st_meta_get(&s->file, "data"),
               *hash = cg_st_meta_get(&s->file, "graph_fnv1a64");
    if (!graph || !data || !hash)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a clgraph training checkpoint (no "
                            "graph, data or graph_fnv1a64 in its metadata)", s->ckpt);
    s->info.step = ck_step;
    s->info.seed = seed;
    s->info.batch = o->batch > 0 ? o->batch : (int64_t)batch;
    if (s->info.batch <= 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: the checkpoint's batch is 0", s->ckpt);
    snprintf(s->graph, sizeof s->graph, "%s", graph);
    s->info.graph = s->graph;
    snprintf(s->data, sizeof s->data, "%s", o->data ? o->data : data);
    s->info.data = s->data;
    /* The run's copy of the graph, identical to what the checkpoint was trained from. */
    snprintf(s->copy, sizeof s->copy, "%s/graph.graph", s->rundir);
    s->info.graph_copy = s->copy;
    CG_TRY(cg_read_file(s->copy, (size_t)64 << 20, &s->graph_text, &s->graph_len, e));
    char have[32];
    snprintf(have, sizeof have, "%016llx",
             (unsigned long long)cg_fnv1a(CG_FNV_INIT, s->graph_text, s->graph_len));
    if (strcmp(have, hash))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: the run's graph copy does not match "
                            "the checkpoint %s (hash %s, the checkpoint's %s)", s->copy, s->ckpt,
                            have, hash);
    if (cfg_hash[0] && strcmp(cfg_hash, hash))
        return cg_error_set(e, CG_ERR_INPUT, "%s/config.json: error: graph_fnv1a64 %s differs "
                            "from the checkpoint %s's %s", s->rundir, cfg_hash, s->ckpt, hash);
    struct cg_graph *g;
    CG_TRY(cg_graph_load_text(s->graph, s->graph_text, s->graph_len, &g, e));
    enum cg_status st = cg_inputs_describe(g, s->copy, s->info.batch, s->inputs, s->names,
                                           CG_BIND_MAX_INPUTS, &s->ninputs, &s->info.sampler,
                                           e);
    cg_graph_destroy(g);
    CG_TRY(st);
    /* The data set and a sampler per split: every example once, in order. */
    st = cg_data_open(s->data, &s->ds, e);
    if (st != CG_OK) {
        if (!o->data)
            cg_error_note(e, "note: that is the run's data set (checkpoint metadata 'data'); "
                          "give another with --data NAME[:key=value,...]|DIR");
        return st;
    }
    struct cg_sampler_config sc = {0};
    sc.kind = s->info.sampler;
    sc.views = cg_inputs_views(s->inputs, s->ninputs);
    sc.batch = (size_t)s->info.batch;
    sc.seed = seed;
    sc.keep_last = 1;
    sc.no_shuffle = 1;
    /* The run's augmentation record, resolved as `train --resume` does (a checkpoint without
     * one was trained unaugmented): the fields' shapes the sampler delivers, and the resize of
     * size-changing inputs to the graph's size that the trainer's evaluation applies. */
    const char *rec = cg_st_meta_get(&s->file, "augment");
    st = cg_train_aug_resolve(&s->aug, NULL, 0, rec ? rec : "none", s->inputs, s->ninputs,
                              s->ds->train.count ? &s->ds->train : &s->ds->test, &sc, e);
    if (st != CG_OK) {
        cg_error_note(e, "note: while applying the run's augmentation (checkpoint %s, "
                      "metadata 'augment') to data set %s", s->ckpt, s->data);
        return st;
    }
    const struct cg_split *splits[2] = {&s->ds->test, &s->ds->train};
    for (int k = 0; k < 2; k++) {
        if (splits[k]->count == 0)
            continue;
        st = cg_sampler_create(splits[k], s->aug.src, s->ninputs, &sc, &s->sm[k], e);
        if (st != CG_OK) {
            cg_error_note(e, "note: while binding the %s split of data set %s to %s",
                          split_name((enum cg_eval_split)k), s->data, s->copy);
            return st;
        }
    }
    struct cg_sampler *any = s->sm[0] ? s->sm[0] : s->sm[1];
    if (!any)
        return cg_error_set(e, CG_ERR_INPUT, "error: --data %s: both splits are empty",
                            s->data);
    for (int i = 0; i < s->ninputs; i++) {
        size_t bytes = cg_sampler_input_bytes(any, i);
        s->row_bytes[i] = bytes / (size_t)s->info.batch;
        if (!(s->bufs[i] = cg_malloc(bytes ? bytes : 1)))
            return cg_error_nomem(e);
        if (!s->aug.eval[i][0])
            continue;
        size_t elems = cg_sampler_input_rows(any, i);
        for (int d = 0; d < s->inputs[i].rank; d++)
            elems *= (size_t)s->inputs[i].dims[d];
        s->grow_bytes[i] = elems * sizeof(float) / (size_t)s->info.batch;
        if (!(s->gbufs[i] = cg_malloc(elems * sizeof(float))))
            return cg_error_nomem(e);
    }
    if (!(s->index = cg_malloc((size_t)s->info.batch * sizeof *s->index)))
        return cg_error_nomem(e);
    CG_TRY(cg_device_open(o->device, 0, &s->dev, e));
    for (int i = 0; i < s->ninputs; i++) {
        if (!s->gbufs[i])
            continue;
        cl_int err;
        s->dbuf[i] = clCreateBuffer(cg_device_context(s->dev), CL_MEM_READ_WRITE,
                                    s->grow_bytes[i] * (size_t)s->info.batch, NULL, &err);
        if (err != CL_SUCCESS) {
            s->dbuf[i] = NULL;
            return cg_cl_fail(e, err, "clCreateBuffer");
        }
    }
    return CG_OK;
}

enum cg_status cg_eval_open(const struct cg_eval_options *o, struct cg_eval_session **out,
                            struct cg_error *e)
{
    *out = NULL;
    struct cg_eval_session *s = cg_calloc(1, sizeof *s);
    if (!s)
        return cg_error_nomem(e);
    enum cg_status st = open_session(s, o, e);
    if (st != CG_OK) {
        cg_eval_close(s);
        return st;
    }
    *out = s;
    return CG_OK;
}

void cg_eval_close(struct cg_eval_session *s)
{
    if (!s)
        return;
    cg_model_destroy(s->model);
    for (int k = 0; k < 2; k++)
        cg_loader_augmenter_destroy(s->augr[k]);
    for (int i = 0; i < CG_BIND_MAX_INPUTS; i++) {
        if (s->dbuf[i])
            clReleaseMemObject(s->dbuf[i]);
        cg_free(s->gbufs[i]);
        cg_free(s->bufs[i]);
    }
    cg_device_close(s->dev);
    for (int k = 0; k < 2; k++)
        cg_sampler_destroy(s->sm[k]);
    cg_free(s->index);
    cg_dataset_free(s->ds);
    cg_st_free(&s->file);
    cg_free(s->graph_text);
    cg_free(s);
}

const struct cg_eval_info *cg_eval_info(const struct cg_eval_session *s) { return &s->info; }

const struct cg_dataset *cg_eval_data(const struct cg_eval_session *s) { return s->ds; }

const struct cg_split *cg_eval_split(const struct cg_eval_session *s, enum cg_eval_split split)
{
    return split == CG_EVAL_TEST ? &s->ds->test : &s->ds->train;
}

struct cg_device *cg_eval_device(struct cg_eval_session *s) { return s->dev; }

/* The forward-only model selected for batches of `rows` examples: compiled on first use with
 * the checkpoint's parameters; other batch sizes are further schedules of the same model
 * (cg_model_bind: they share its parameters). */
static enum cg_status model_for(struct cg_eval_session *s, size_t rows, struct cg_model **out,
                                struct cg_error *e)
{
    struct cg_input_shape shapes[CG_BIND_MAX_INPUTS];
    for (int i = 0; i < s->ninputs; i++) {
        shapes[i].name = s->inputs[i].name;
        shapes[i].rank = s->inputs[i].rank + 1;
        shapes[i].dims[0] = (int64_t)rows;
        for (int k = 0; k < s->inputs[i].rank; k++)
            shapes[i].dims[k + 1] = s->inputs[i].dims[k];
    }
    *out = s->model;
    if (s->model)
        return rows == s->rows ? CG_OK : (s->rows = rows, cg_model_bind(s->model, shapes,
                                                                         s->ninputs, e));
    struct cg_graph *g;
    CG_TRY(cg_graph_load_text(s->graph, s->graph_text, s->graph_len, &g, e));
    struct cg_model_options mo = {shapes, s->ninputs, 0, NULL, s->info.seed, 0};
    struct cg_model *m;
    enum cg_status st = cg_model_compile(g, s->dev, &mo, &m, e);
    if (st != CG_OK) {
        cg_graph_destroy(g);
        return st;
    }
    st = cg_ckpt_apply(m, s->ckpt, &s->file, 1, e);
    if (st != CG_OK) {
        cg_model_destroy(m);
        return st;
    }
    s->model = *out = m;
    s->rows = rows;
    return CG_OK;
}

enum cg_status cg_eval_graph(struct cg_eval_session *s, struct cg_graph **g, struct cg_error *e)
{
    struct cg_model *m;
    CG_TRY(model_for(s, (size_t)s->info.batch, &m, e));
    *g = cg_model_graph(m);
    return CG_OK;
}

enum cg_status cg_eval_begin(struct cg_eval_session *s, enum cg_eval_split split,
                             struct cg_error *e)
{
    struct cg_sampler *sm = s->sm[split];
    s->active = 0;
    if (!sm)
        return cg_error_set(e, CG_ERR_INPUT, "error: data set %s: the %s split has no examples",
                            s->data, split_name(split));
    const char *pipes[CG_BIND_MAX_INPUTS];
    if (!s->augr[split] && cg_train_aug_pipes(&s->aug, 1, pipes)) {
        struct cg_loader_target targets[CG_BIND_MAX_INPUTS] = {{0}};
        for (int i = 0; i < s->ninputs; i++)
            targets[i].buf = s->dbuf[i];
        CG_TRY(cg_loader_augmenter_create(s->dev, sm, s->aug.src, pipes, targets, 0,
                                          &s->augr[split], e));
    }
    struct cg_sampler_state st = {s->info.seed, 0, 0};
    cg_sampler_set_state(sm, &st);
    s->split = split;
    s->k = 0;
    s->nbatches = cg_sampler_steps_per_epoch(sm);
    s->active = 1;
    return CG_OK;
}

/* Input i of the batch just sampled (rows anchors, in s->bufs[i] at the field's size) brought
 * to the graph's size into s->gbufs[i] by the split's augmenter, as the trainer's evaluation
 * does: uploaded into its staging place, resized into s->dbuf[i], read back. The augmenter runs
 * on the full batch it was compiled for (the resize is per image, so the rows of a remainder
 * batch are those of a full one; the stale rows after them are not read). */
static enum cg_status resize_input(struct cg_eval_session *s, int i, size_t rows,
                                   struct cg_error *e)
{
    struct cg_loader_augmenter *A = s->augr[s->split];
    struct cg_sampler *sm = s->sm[s->split];
    const struct cg_loader_target *up = &cg_loader_augmenter_targets(A)[i];
    cl_command_queue q = cg_device_queue(s->dev);
    cl_int err = clEnqueueWriteBuffer(q, up->buf, CL_TRUE, up->offset, s->row_bytes[i] * rows,
                                      s->bufs[i], 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cg_cl_fail(e, err, "clEnqueueWriteBuffer");
    cl_event done = NULL;
    CG_TRY(cg_loader_augment(A, i, q, up->buf, up->offset, cg_sampler_input_rows(sm, i),
                             cg_sampler_input_views(sm, i), 0, s->k, NULL, &done, e));
    err = clEnqueueReadBuffer(q, s->dbuf[i], CL_TRUE, 0, s->grow_bytes[i] * rows, s->gbufs[i],
                              done ? 1 : 0, done ? &done : NULL, NULL);
    if (done)
        clReleaseEvent(done);
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clEnqueueReadBuffer");
}

enum cg_status cg_eval_next(struct cg_eval_session *s, struct cg_eval_batch *b, int *more,
                            struct cg_error *e)
{
    *more = 0;
    if (!s->active || s->k >= s->nbatches) {
        s->active = 0;
        return CG_OK;
    }
    struct cg_batch_info info;
    cg_sampler_next(s->sm[s->split], s->bufs, s->index, &info);
    struct cg_model *m;
    CG_TRY(model_for(s, info.rows, &m, e));
    for (int i = 0; i < s->ninputs; i++) {
        if (s->dbuf[i])
            CG_TRY(resize_input(s, i, info.rows, e));
        CG_TRY(s->dbuf[i] ? cg_model_set(m, s->inputs[i].name, s->gbufs[i],
                                         s->grow_bytes[i] * info.rows, e)
                          : cg_model_set(m, s->inputs[i].name, s->bufs[i],
                                         s->row_bytes[i] * info.rows, e));
    }
    CG_TRY(cg_model_forward(m, e));
    b->k = s->k++;
    b->nbatches = s->nbatches;
    b->rows = info.rows;
    b->index = s->index;
    b->model = m;
    *more = 1;
    return CG_OK;
}

enum cg_status cg_eval_shape(const struct cg_eval_batch *b, const char *name, int *is_int,
                             int *rank, int64_t *dims, struct cg_error *e)
{
    struct cg_graph *g = cg_model_graph(b->model);
    int v = cg_graph_find_value(g, name);
    if (v < 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: the graph has no value named '%s'", name);
    const struct cg_value *val = &g->values[v];
    *is_int = val->dtype == CG_I32;
    *rank = val->shape.rank;
    for (int d = 0; d < val->shape.rank && d < 8; d++)
        if (!cg_dim_is_const(val->shape.d[d], &dims[d]))
            dims[d] = -1;
    return CG_OK;
}

void cg_eval_array_free(struct cg_eval_array *a)
{
    if (!a)
        return;
    cg_free(a->data);
    memset(a, 0, sizeof *a);
}

enum cg_status cg_eval_gather(const struct cg_eval_batch *b, const char *name, size_t count,
                              struct cg_eval_array *a, struct cg_error *e)
{
    int is_int, rank;
    int64_t dims[8];
    CG_TRY(cg_eval_shape(b, name, &is_int, &rank, dims, e));
    size_t size = 1;
    for (int d = 1; d < rank; d++)
        size *= (size_t)dims[d];
    if (rank < 1 || dims[0] != (int64_t)b->rows ||
        (a->data && (is_int != a->is_int || size != a->example_size || rank - 1 != a->rank))) {
        char buf[256];
        struct cg_graph *g = cg_model_graph(b->model);
        int v = cg_graph_find_value(g, name);
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: value '%s' is %s, not one row per "
                            "example (a batch has %zu)", g->path ? g->path : "graph", name,
                            cg_shape_str(g, &g->values[v].shape, g->values[v].dtype, 1, buf,
                                         sizeof buf), b->rows);
    }
    if (!a->data) {
        a->is_int = is_int;
        a->rank = rank - 1;
        for (int d = 1; d < rank; d++)
            a->dims[d - 1] = dims[d];
        a->example_size = size;
        a->count = count;
        if (!(a->data = cg_malloc(count * size * 4 + 4)))
            return cg_error_nomem(e);
    }
    size_t row = size * 4;
    char *tmp = cg_malloc(b->rows * row + 4);
    if (!tmp)
        return cg_error_nomem(e);
    enum cg_status st = cg_model_get(b->model, name, tmp, b->rows * row, e);
    for (size_t r = 0; r < b->rows && st == CG_OK; r++) {
        if (b->index[r] >= a->count) {
            st = cg_error_set(e, CG_ERR_INPUT, "error: example index %zu beyond the %zu of the "
                              "split", b->index[r], a->count);
            break;
        }
        memcpy((char *)a->data + b->index[r] * row, tmp + r * row, row);
    }
    cg_free(tmp);
    return st;
}

enum cg_status cg_eval_collect(struct cg_eval_session *s, enum cg_eval_split split,
                               const char *name, struct cg_eval_array *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    CG_TRY(cg_eval_begin(s, split, e));
    size_t count = cg_eval_split(s, split)->count;
    enum cg_status st = CG_OK;
    struct cg_eval_batch b;
    int more = 1;
    while (st == CG_OK) {
        st = cg_eval_next(s, &b, &more, e);
        if (st != CG_OK || !more)
            break;
        st = cg_eval_gather(&b, name, count, out, e);
    }
    s->active = 0;
    if (st != CG_OK)
        cg_eval_array_free(out);
    return st;
}
