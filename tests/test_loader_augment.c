/* test_loader_augment.c: the loader's augmentation adapter (src/data/loader_augment.c) on the
 * test device: the augmented batch at the graph place equals cg_augment_ref of the delivered
 * host batch with the input's seed and the global step (epoch * steps_per_epoch + step), for
 * K = 2 views augmented in place (the views differ) and for a size-changing crop through a
 * staging buffer; labels pass untouched; two runs give identical bytes and a run resumed from a
 * sampler state gives the uninterrupted run's batches; errors name the graph input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader_augment.h"

enum { C = 3, H = 8, W = 8, XE = C * H * W, COUNT = 37, BATCH = 8, STEPS = 10 };

static struct cg_device *dev;

static struct cg_split *make_split(void)
{
    struct cg_split *s = calloc(1, sizeof *s);
    s->count = COUNT;
    s->nfields = 2;
    struct cg_field *x = &s->fields[0], *y = &s->fields[1];
    snprintf(x->name, sizeof x->name, "x");
    x->dtype = CG_NPY_F32;
    x->rank = 3;
    x->shape[0] = C, x->shape[1] = H, x->shape[2] = W;
    x->count = COUNT;
    x->data = calloc((size_t)COUNT * XE, 4);
    snprintf(y->name, sizeof y->name, "y");
    y->dtype = CG_NPY_I32;
    y->count = COUNT;
    y->data = calloc(COUNT, 4);
    uint64_t r = 5;
    for (size_t i = 0; i < (size_t)COUNT * XE; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        ((float *)x->data)[i] = (float)((r >> 40) & 0xFFFF) / 65535.0f;
    }
    for (int i = 0; i < COUNT; i++)
        ((int32_t *)y->data)[i] = i % 4;
    return s;
}

static void free_split(struct cg_split *s)
{
    for (int i = 0; i < s->nfields; i++)
        free(s->fields[i].data);
    free(s);
}

static const struct cg_input_desc inputs[2] = {{"x", 0, 3, {C, H, W}}, {"y", 1, 0, {0}}};

/* One run of `steps` batches from sampler state (epoch0, step0); returns the graph-place x of
 * every batch (malloc'd, steps * xrows * oh * ow * C floats) and checks each against the host
 * reference. */
static float *run(const char *pipe, int views, uint64_t epoch0, uint64_t step0, int steps,
                  size_t *xfloats)
{
    struct cg_split *s = make_split();
    struct cg_sampler_config sc = {.kind = views ? CG_SAMPLER_MULTIVIEW : CG_SAMPLER_PLAIN,
                                   .batch = BATCH, .seed = 3, .views = views};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, inputs, 2, &sc, &sm, &e), CG_OK);
    struct cg_sampler_state ss = {3, epoch0, step0};
    cg_sampler_set_state(sm, &ss);
    size_t xrows = cg_sampler_input_rows(sm, 0), spe = cg_sampler_steps_per_epoch(sm);
    cl_int err;
    const size_t xoff = 256, yoff = xoff + xrows * XE * 4 + 64;
    cl_mem arena = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE,
                                  yoff + BATCH * 4 + 64, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    struct cg_loader_target graph[2] = {{arena, xoff}, {arena, yoff}};
    const char *pipes[2] = {pipe, NULL};
    struct cg_loader_augmenter *A;
    if (cg_loader_augmenter_create(dev, sm, inputs, pipes, graph, 77, &A, &e) != CG_OK)
        fail_msg("%s", e.msg);
    int64_t oh, ow;
    cg_loader_augmenter_out_shape(A, 0, &oh, &ow);
    const struct cg_loader_target *up = cg_loader_augmenter_targets(A);
    if (oh == H && ow == W) /* in place */
        assert_true(up[0].buf == arena && up[0].offset == xoff);
    else
        assert_true(up[0].buf != arena && up[0].offset == 0);
    assert_true(up[1].buf == arena && up[1].offset == yoff);
    struct cg_augment *a;
    assert_int_equal(cg_augment_parse(pipe, &a, &e), CG_OK);
    struct cg_loader_config lc = {.depth = 3, .context = cg_device_context(dev),
                                  .queue = cg_device_queue(dev), .targets = up,
                                  .augment = cg_loader_augment, .augment_ctx = A};
    struct cg_loader *L;
    assert_int_equal(cg_loader_create(sm, &lc, &L, &e), CG_OK);
    size_t per = xrows * C * (size_t)(oh * ow);
    float *all = malloc((size_t)steps * per * sizeof *all), *ref = malloc(per * sizeof *ref);
    int32_t yb[BATCH];
    for (int k = 0; k < steps; k++) {
        struct cg_loader_batch b;
        if (cg_loader_next(L, &b, &e) != CG_OK)
            fail_msg("%s", e.msg);
        float *got = all + (size_t)k * per;
        assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), arena, CL_TRUE, xoff,
                                             per * 4, got, 0, NULL, NULL), CL_SUCCESS);
        assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), arena, CL_TRUE, yoff,
                                             sizeof yb, yb, 0, NULL, NULL), CL_SUCCESS);
        assert_memory_equal(yb, b.host[1], sizeof yb);
        uint64_t t = b.info.epoch * spe + b.info.step;
        assert_int_equal(t, epoch0 * spe + step0 + (uint64_t)k);
        assert_int_equal(cg_augment_ref(a, b.host[0], ref, (int64_t)xrows, C, H, W,
                                        cg_loader_augmenter_seed(A, 0), t, &e), CG_OK);
        for (size_t j = 0; j < per; j++)
            if (fabsf(got[j] - ref[j]) > 1e-5f)
                fail_msg("step %llu element %zu: device %.7f, reference %.7f",
                         (unsigned long long)t, j, got[j], ref[j]);
        if (views > 1) /* row v*N + i is view v of anchor i: the views differ */
            for (size_t i = 0; i < BATCH; i++)
                assert_memory_not_equal(got + i * C * oh * ow, got + (BATCH + i) * C * oh * ow,
                                        (size_t)(C * oh * ow) * 4);
    }
    cg_loader_destroy(L);
    cg_loader_augmenter_destroy(A);
    cg_augment_destroy(a);
    cg_sampler_destroy(sm);
    clReleaseMemObject(arena);
    free(ref);
    free_split(s);
    *xfloats = per;
    return all;
}

/* Against the reference, identical across runs, and a resumed run (epoch 1, step 1: global step
 * spe + 1) continues the uninterrupted one. */
static void check(const char *pipe, int views)
{
    size_t per, per2;
    const int spe = COUNT / BATCH; /* 4 */
    float *a = run(pipe, views, 0, 0, STEPS, &per);
    float *b = run(pipe, views, 0, 0, STEPS, &per2);
    assert_memory_equal(a, b, (size_t)STEPS * per * 4);
    float *r = run(pipe, views, 1, 1, 3, &per2);
    assert_memory_equal(a + (size_t)(spe + 1) * per, r, 3 * per * 4);
    /* fresh parameters every step: the same epoch position one epoch later differs */
    assert_memory_not_equal(a, a + (size_t)spe * per, per * 4);
    free(a);
    free(b);
    free(r);
}

static void test_views_in_place(void **st)
{
    (void)st;
    if (!dev)
        skip();
    check("rrc(scale=0.3:1),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),gray(p=0.2)", 2);
}

static void test_resize_staging(void **st)
{
    (void)st;
    if (!dev)
        skip();
    check("rrc(size=5x6,scale=0.3:1),flip,gray(p=0.3)", 0);
}

static void test_errors(void **st)
{
    (void)st;
    if (!dev)
        skip();
    struct cg_split *s = make_split();
    struct cg_sampler_config sc = {.batch = BATCH, .seed = 3};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, inputs, 2, &sc, &sm, &e), CG_OK);
    cl_int err;
    cl_mem buf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, 4096, NULL, &err);
    struct cg_loader_target t[2] = {{buf, 0}, {buf, 2048}};
    struct cg_loader_augmenter *A = NULL;
    const char *on_y[2] = {NULL, "flip"};
    assert_int_equal(cg_loader_augmenter_create(dev, sm, inputs, on_y, t, 1, &A, &e),
                     CG_ERR_INPUT);
    assert_null(A);
    assert_non_null(strstr(e.msg, "graph input 'y'"));
    const char *bad[2] = {"flip,nope", NULL};
    assert_int_equal(cg_loader_augmenter_create(dev, sm, inputs, bad, t, 1, &A, &e),
                     CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "nope"));
    assert_non_null(strstr(e.msg, "graph input 'x'"));
    const char *big[2] = {"blur(k=17)", NULL}; /* does not fit the 8x8 field */
    assert_int_equal(cg_loader_augmenter_create(dev, sm, inputs, big, t, 1, &A, &e),
                     CG_ERR_INPUT);
    t[0].offset = 2;
    const char *ok[2] = {"flip", NULL};
    assert_int_equal(cg_loader_augmenter_create(dev, sm, inputs, ok, t, 1, &A, &e),
                     CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "multiple of 4"));
    /* allocation failures: NOMEM or success, nothing leaked */
    t[0].offset = 0;
    for (long n = 0; n < 40; n++) {
        cg_alloc_fail_after(n);
        enum cg_status r = cg_loader_augmenter_create(dev, sm, inputs, ok, t, 1, &A, &e);
        cg_alloc_fail_after(-1);
        assert_true(r == CG_OK || r == CG_ERR_NOMEM);
        cg_loader_augmenter_destroy(A);
        A = NULL;
    }
    clReleaseMemObject(buf);
    cg_sampler_destroy(sm);
    free_split(s);
}

static int setup(void **state)
{
    (void)state;
    struct cg_error e;
    if (cg_device_open(NULL, 0, &dev, &e) != CG_OK)
        dev = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_device_close(dev);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views_in_place),
        cmocka_unit_test(test_resize_staging),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
