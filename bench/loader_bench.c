/* loader_bench.c: throughput of the samplers and the prefetching loader (src/data/loader.h) on
 * a synthetic split of 10,000 f32 images 3x28x28 with i32 labels (10 classes), batch 64.
 *
 * Modes, each for a fixed number of batches after a warm-up, reported as anchors (examples)
 * per second:
 *   sampler        cg_sampler_next on the caller's thread (the host gather alone)
 *   loader-host    the loader thread, host-only batches
 *   loader-upload  the loader with non-blocking uploads into a device buffer, waiting for each
 *                  upload (prepare + transfer pipeline)
 *   triplet-upload the same with the triplet sampler (3 images per anchor)
 *   views2-upload  multi-view K=2 ([2N, 3, 28, 28] per batch), identity augmentation
 *   augment        plain and K=2 views with the device augmentation AUG (--augment TEXT)
 *                  through the loader's adapter (loader_augment.h): upload into a staging
 *                  buffer, crop to 24x24, jitter ... in the loader's event chain
 *   overlap        a simulated device step of --step-us microseconds (sleep on the caller's
 *                  thread) after each batch, with the sampler inline vs the loader: the loader
 *                  should hide the host preparation
 * Usage: loader_bench [--batches N] [--step-us U] [--device SELECTOR] [--augment TEXT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/loader.h"
#include "data/loader_augment.h"
#include "runtime/runtime.h"
#include "util/splitmix.h"

#define COUNT 10000
#define BATCH 64
#define AUG "rrc(size=24),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),gray(p=0.2)"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

static int fail(const struct cg_error *e)
{
    fprintf(stderr, "%s\n", e->msg);
    return 1;
}

static struct cg_input_desc in_plain[2] = {{"x", 0, 3, {3, 28, 28}}, {"y", 1, 0, {0}}};
static struct cg_input_desc in_triplet[4] = {
    {"x", 0, 3, {3, 28, 28}}, {"xp", 0, 3, {3, 28, 28}}, {"xn", 0, 3, {3, 28, 28}},
    {"y", 1, 0, {0}}};

/* Runs `batches` batches through a loader (after 20 warm-up batches) and returns examples/s. */
static int run_loader(const struct cg_split *s, const struct cg_input_desc *in, int nin,
                      enum cg_sampler_kind kind, int views, struct cg_device *dev, int pinned,
                      const char *aug, int batches, long step_us, double *rate,
                      struct cg_error *e)
{
    struct cg_sampler_config sc = {.kind = kind, .batch = BATCH, .seed = 1, .views = views};
    struct cg_sampler *sm;
    if (cg_sampler_create(s, in, nin, &sc, &sm, e))
        return 1;
    struct cg_loader_target t[4];
    cl_mem buf = NULL;
    if (dev) {
        size_t total = 0;
        for (int i = 0; i < nin; i++) {
            t[i].offset = total;
            total += (cg_sampler_input_bytes(sm, i) + 255) / 256 * 256;
        }
        cl_int err;
        buf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, total, NULL, &err);
        if (err != CL_SUCCESS) {
            cg_sampler_destroy(sm);
            return cg_cl_fail(e, err, "clCreateBuffer"), 1;
        }
        for (int i = 0; i < nin; i++)
            t[i].buf = buf;
    }
    struct cg_loader_config lc = {.depth = 3, .context = dev ? cg_device_context(dev) : NULL,
                                  .queue = dev ? cg_device_queue(dev) : NULL,
                                  .targets = dev ? t : NULL, .pinned = pinned};
    struct cg_loader *L;
    struct cg_loader_augmenter *A = NULL;
    int rc = 1;
    if (aug && dev) {
        const char *pipes[4] = {aug};
        if (cg_loader_augmenter_create(dev, sm, in, pipes, t, 5, &A, e))
            goto out;
        lc.targets = cg_loader_augmenter_targets(A);
        lc.augment = cg_loader_augment;
        lc.augment_ctx = A;
    }
    if (cg_loader_create(sm, &lc, &L, e))
        goto out;
    double t0 = 0;
    for (int k = 0; k < batches + 20; k++) {
        if (k == 20)
            t0 = now();
        struct cg_loader_batch b;
        if (cg_loader_next(L, &b, e))
            goto out_l;
        if (b.uploaded && clWaitForEvents(1, &b.uploaded) != CL_SUCCESS) {
            cg_error_set(e, CG_ERR_DEVICE, "clWaitForEvents failed");
            goto out_l;
        }
        if (step_us)
            sleep_us(step_us);
    }
    *rate = (double)batches * BATCH / (now() - t0);
    rc = 0;
out_l:
    cg_loader_destroy(L);
out:
    cg_loader_augmenter_destroy(A);
    cg_sampler_destroy(sm);
    if (buf)
        clReleaseMemObject(buf);
    return rc;
}

/* The sampler inline on the caller's thread, with an optional simulated step. */
static int run_inline(const struct cg_split *s, int batches, long step_us, double *rate,
                      struct cg_error *e)
{
    struct cg_sampler_config sc = {.batch = BATCH, .seed = 1};
    struct cg_sampler *sm;
    if (cg_sampler_create(s, in_plain, 2, &sc, &sm, e))
        return 1;
    void *bufs[2] = {malloc(cg_sampler_input_bytes(sm, 0)), malloc(cg_sampler_input_bytes(sm, 1))};
    double t0 = 0;
    for (int k = 0; k < batches + 20; k++) {
        if (k == 20)
            t0 = now();
        cg_sampler_next(sm, bufs, NULL, NULL);
        if (step_us)
            sleep_us(step_us);
    }
    *rate = (double)batches * BATCH / (now() - t0);
    free(bufs[0]);
    free(bufs[1]);
    cg_sampler_destroy(sm);
    return 0;
}

int main(int argc, char **argv)
{
    int batches = 2000;
    long step_us = 1000;
    const char *selector = NULL, *aug = AUG;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches"))
            batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--step-us"))
            step_us = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--device"))
            selector = argv[i + 1];
        else if (!strcmp(argv[i], "--augment"))
            aug = argv[i + 1];
    }
    /* the split: x uniform in [0, 1) from splitmix, y = i % 10 */
    static struct cg_split s;
    s.count = COUNT;
    s.nfields = 2;
    struct cg_field *x = &s.fields[0], *y = &s.fields[1];
    strcpy(x->name, "x");
    x->dtype = CG_NPY_F32;
    x->rank = 3;
    x->shape[0] = 3, x->shape[1] = 28, x->shape[2] = 28;
    x->count = COUNT;
    x->data = malloc((size_t)COUNT * 3 * 28 * 28 * 4);
    strcpy(y->name, "y");
    y->dtype = CG_NPY_I32;
    y->count = COUNT;
    y->data = malloc(COUNT * 4);
    cg_bench_uniform(7, (size_t)COUNT * 3 * 28 * 28, 0, 1, x->data);
    for (int i = 0; i < COUNT; i++)
        ((int32_t *)y->data)[i] = i % 10;

    struct cg_error e;
    struct cg_device *dev = NULL;
    if (cg_device_open(selector, 0, &dev, &e) != CG_OK) {
        fprintf(stderr, "note: no device (%s): upload modes skipped\n", e.msg);
        dev = NULL;
    }
    printf("loader_bench: %d examples f32[3,28,28] + i32 label, batch %d, %d timed batches\n",
           COUNT, BATCH, batches);
    if (dev)
        printf("device: %s\n", cg_device_info(dev)->name);
    double r;
    if (run_inline(&s, batches, 0, &r, &e))
        return fail(&e);
    printf("%-34s %12.0f examples/s\n", "sampler (inline, host)", r);
    if (run_loader(&s, in_plain, 2, CG_SAMPLER_PLAIN, 0, NULL, 0, NULL, batches, 0, &r, &e))
        return fail(&e);
    printf("%-34s %12.0f examples/s\n", "loader-host", r);
    if (dev) {
        for (int pinned = 0; pinned < 2; pinned++) {
            const char *sfx = pinned ? " (pinned)" : " (plain)";
            char name[64];
            if (run_loader(&s, in_plain, 2, CG_SAMPLER_PLAIN, 0, dev, pinned, NULL, batches, 0,
                           &r,
                           &e))
                return fail(&e);
            snprintf(name, sizeof name, "loader-upload%s", sfx);
            printf("%-34s %12.0f examples/s\n", name, r);
            if (run_loader(&s, in_triplet, 4, CG_SAMPLER_TRIPLET, 0, dev, pinned, NULL, batches,
                           0, &r, &e))
                return fail(&e);
            snprintf(name, sizeof name, "triplet-upload%s", sfx);
            printf("%-34s %12.0f anchors/s\n", name, r);
            if (run_loader(&s, in_plain, 2, CG_SAMPLER_MULTIVIEW, 2, dev, pinned, NULL, batches,
                           0, &r, &e))
                return fail(&e);
            snprintf(name, sizeof name, "views2-upload%s, no augment", sfx);
            printf("%-34s %12.0f anchors/s\n", name, r);
        }
        printf("augmentation: %s\n", aug);
        if (run_loader(&s, in_plain, 2, CG_SAMPLER_PLAIN, 0, dev, 0, aug, batches, 0, &r, &e))
            return fail(&e);
        printf("%-34s %12.0f examples/s\n", "loader-upload + augment", r);
        if (run_loader(&s, in_plain, 2, CG_SAMPLER_MULTIVIEW, 2, dev, 0, aug, batches, 0, &r,
                       &e))
            return fail(&e);
        printf("%-34s %12.0f anchors/s\n", "views2-upload + augment", r);
    }
    if (step_us > 0) {
        int nb = batches / 4 > 0 ? batches / 4 : 1;
        double a, b;
        if (run_inline(&s, nb, step_us, &a, &e) ||
            run_loader(&s, in_plain, 2, CG_SAMPLER_PLAIN, 0, NULL, 0, NULL, nb, step_us, &b, &e))
            return fail(&e);
        double t0 = now();
        for (int k = 0; k < nb; k++)
            sleep_us(step_us);
        double alone = 1e6 * (now() - t0) / nb;
        printf("overlap, %ld us simulated step (%.1f us/batch alone): inline %.1f us/batch, "
               "loader %.1f us/batch\n", step_us, alone, 1e6 * BATCH / a, 1e6 * BATCH / b);
    }
    cg_device_close(dev);
    free(x->data);
    free(y->data);
    return 0;
}
