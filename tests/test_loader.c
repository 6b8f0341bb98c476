/* test_loader.c: the prefetching loader of src/data/loader.c: host-only batches equal the bare
 * sampler's and deliver every example once per epoch, shutdown in the middle of an epoch (and
 * before any batch), state save/restore through the loader (the position of the next delivered
 * batch, not the worker's), and, on the OpenCL device, non-blocking uploads into caller buffers
 * at offsets (plain and pinned slots), the augmentation callback after every upload and
 * upload errors returned to the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/loader.h"
#include "runtime/runtime.h"

#define XE 4

static struct cg_split *make_split(size_t count)
{
    struct cg_split *s = calloc(1, sizeof *s);
    s->count = count;
    s->nfields = 2;
    struct cg_field *x = &s->fields[0], *y = &s->fields[1];
    snprintf(x->name, sizeof x->name, "x");
    x->dtype = CG_NPY_F32;
    x->rank = 3;
    x->shape[0] = 1, x->shape[1] = 2, x->shape[2] = 2;
    x->count = count;
    x->data = calloc(count * XE, 4);
    snprintf(y->name, sizeof y->name, "y");
    y->dtype = CG_NPY_I32;
    y->count = count;
    y->data = calloc(count, 4);
    for (size_t i = 0; i < count; i++) {
        for (int k = 0; k < XE; k++)
            ((float *)x->data)[i * XE + k] = (float)i + 0.25f * (float)k;
        ((int32_t *)y->data)[i] = (int32_t)(i % 3);
    }
    return s;
}

static void free_split(struct cg_split *s)
{
    for (int i = 0; i < s->nfields; i++)
        free(s->fields[i].data);
    free(s);
}

static const struct cg_input_desc inputs[2] = {{"x", 0, 3, {1, 2, 2}}, {"y", 1, 0, {0}}};

static struct cg_sampler *sampler(const struct cg_split *s, size_t batch, int keep_last,
                                  int kind, int views)
{
    struct cg_sampler_config cfg = {.kind = kind, .batch = batch, .seed = 11,
                                    .keep_last = keep_last, .views = views};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, inputs, 2, &cfg, &sm, &e), CG_OK);
    return sm;
}

static void every_example_once(int keep_last)
{
    const size_t count = 1003, batch = 32;
    struct cg_split *s = make_split(count);
    struct cg_sampler *sm = sampler(s, batch, keep_last, CG_SAMPLER_PLAIN, 0);
    struct cg_sampler *ref = sampler(s, batch, keep_last, CG_SAMPLER_PLAIN, 0);
    void *rb[2] = {malloc(batch * XE * 4), malloc(batch * 4)};
    struct cg_loader_config cfg = {.depth = 4};
    struct cg_loader *L;
    struct cg_error e;
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    size_t steps = cg_sampler_steps_per_epoch(sm);
    for (uint64_t ep = 0; ep < 4; ep++) {
        static int seen[1003];
        memset(seen, 0, sizeof seen);
        size_t total = 0;
        for (size_t t = 0; t < steps; t++) {
            struct cg_loader_batch b;
            assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
            assert_null(b.uploaded);
            assert_int_equal(b.info.epoch, ep);
            assert_int_equal(b.info.step, t);
            struct cg_batch_info ri;
            cg_sampler_next(ref, rb, NULL, &ri); /* the loader delivers the sampler's batches */
            assert_int_equal(ri.rows, b.info.rows);
            assert_memory_equal(rb[0], b.host[0], batch * XE * 4);
            assert_memory_equal(rb[1], b.host[1], batch * 4);
            for (size_t r = 0; r < b.info.rows; r++) {
                size_t i = b.index[r];
                assert_true(((float *)b.host[0])[r * XE] == (float)i);
                seen[i]++;
                total++;
            }
        }
        assert_int_equal(total, keep_last ? count : count / batch * batch);
        for (size_t i = 0; i < count; i++)
            assert_true(seen[i] == 1 || (!keep_last && seen[i] == 0));
    }
    cg_loader_destroy(L);
    free(rb[0]);
    free(rb[1]);
    cg_sampler_destroy(sm);
    cg_sampler_destroy(ref);
    free_split(s);
}

static void test_once_drop_last(void **st)
{
    (void)st;
    every_example_once(0);
}

static void test_once_keep_last(void **st)
{
    (void)st;
    every_example_once(1);
}

static void test_shutdown(void **st)
{
    (void)st;
    struct cg_split *s = make_split(500);
    struct cg_error e;
    for (int k = 0; k < 20; k++) { /* stop after k batches: ring full, mid-fill, or untouched */
        struct cg_sampler *sm = sampler(s, 8, 0, CG_SAMPLER_PLAIN, 0);
        struct cg_loader_config cfg = {.depth = 1 + k % 4};
        struct cg_loader *L;
        assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
        for (int t = 0; t < k; t++) {
            struct cg_loader_batch b;
            assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
        }
        cg_loader_destroy(L);
        cg_sampler_destroy(sm);
    }
    cg_loader_destroy(NULL);
    struct cg_sampler *sm = sampler(s, 8, 0, CG_SAMPLER_PLAIN, 0);
    struct cg_loader_config bad = {.depth = -1};
    struct cg_loader *L;
    assert_int_equal(cg_loader_create(sm, &bad, &L, &e), CG_ERR_INPUT);
    bad.depth = 0;
    bad.pinned = 1;
    assert_int_equal(cg_loader_create(sm, &bad, &L, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "pinned"));
    cg_sampler_destroy(sm);
    free_split(s);
}

static void test_state_restore(void **st)
{
    (void)st;
    const size_t batch = 16;
    struct cg_split *s = make_split(100); /* 6 steps per epoch */
    struct cg_error e;
    static size_t full[30 * 16], resumed[30 * 16];
    struct cg_sampler *sm = sampler(s, batch, 0, CG_SAMPLER_PLAIN, 0);
    struct cg_loader_config cfg = {0};
    struct cg_loader *L;
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    struct cg_loader_batch b;
    for (int t = 0; t < 30; t++) {
        assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
        memcpy(full + t * batch, b.index, batch * sizeof(size_t));
    }
    cg_loader_destroy(L);
    cg_sampler_destroy(sm);

    sm = sampler(s, batch, 0, CG_SAMPLER_PLAIN, 0);
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    for (int t = 0; t < 9; t++)
        assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
    struct cg_sampler_state saved;
    cg_loader_state(L, &saved); /* the worker is ahead; the state is the next delivered */
    assert_int_equal(saved.epoch, 1);
    assert_int_equal(saved.step, 3);
    cg_loader_destroy(L);
    cg_sampler_destroy(sm);

    sm = sampler(s, batch, 0, CG_SAMPLER_PLAIN, 0);
    cg_sampler_set_state(sm, &saved);
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    for (int t = 9; t < 30; t++) {
        assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
        memcpy(resumed + t * batch, b.index, batch * sizeof(size_t));
    }
    assert_memory_equal(full + 9 * batch, resumed + 9 * batch, 21 * batch * sizeof(size_t));
    cg_loader_destroy(L);
    cg_sampler_destroy(sm);
    free_split(s);
}

/* ---- on the device ---- */

struct aug_log {
    int calls, input;
    size_t rows;
    int views;
    int fail;
};

static enum cg_status aug(void *ctx, int input, cl_command_queue q, cl_mem buf, size_t offset,
                          size_t rows, int views, uint64_t epoch, uint64_t step, cl_event after,
                          cl_event *done, struct cg_error *e)
{
    (void)q, (void)buf, (void)offset, (void)epoch, (void)step, (void)done;
    struct aug_log *log = ctx;
    assert_non_null(after);
    if (input != 0)
        return CG_OK; /* called for every input: the test watches x */
    log->calls++;
    log->input = input;
    log->rows = rows;
    log->views = views;
    if (log->fail)
        return cg_error_set(e, CG_ERR_DEVICE, "error: augmentation failed on purpose");
    return CG_OK;
}

static void device_upload(struct cg_device *dev, int pinned, int views)
{
    const size_t batch = 10, count = 95;
    size_t xrows = views ? batch * (size_t)views : batch;
    struct cg_split *s = make_split(count);
    struct cg_sampler *sm = sampler(s, batch, 0, views ? CG_SAMPLER_MULTIVIEW : 0, views);
    cl_int err;
    const size_t xoff = 64, yoff = 64 + xrows * XE * 4 + 32, total = yoff + batch * 4 + 16;
    cl_mem buf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, total, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    struct cg_loader_target t[2] = {{buf, xoff}, {buf, yoff}};
    struct aug_log log = {0};
    struct cg_loader_config cfg = {.depth = 3, .context = cg_device_context(dev),
                                   .queue = cg_device_queue(dev), .targets = t,
                                   .pinned = pinned, .augment = aug, .augment_ctx = &log};
    struct cg_loader *L;
    struct cg_error e;
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    float *xb = malloc(xrows * XE * 4);
    int32_t *yb = malloc(batch * 4);
    for (int k = 0; k < 25; k++) {
        struct cg_loader_batch b;
        assert_int_equal(cg_loader_next(L, &b, &e), CG_OK);
        assert_non_null(b.uploaded);
        /* the caller's read after the upload, in queue order */
        assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), buf, CL_TRUE, xoff,
                                             xrows * XE * 4, xb, 0, NULL, NULL), CL_SUCCESS);
        assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), buf, CL_TRUE, yoff, batch * 4,
                                             yb, 0, NULL, NULL), CL_SUCCESS);
        assert_memory_equal(xb, b.host[0], xrows * XE * 4);
        assert_memory_equal(yb, b.host[1], batch * 4);
        for (size_t r = 0; r < xrows; r++)
            assert_true(xb[r * XE] == (float)b.index[r % batch]);
    }
    assert_int_equal(log.calls, 25);
    if (views > 1) {
        assert_int_equal(log.input, 0);
        assert_int_equal(log.rows, xrows);
        assert_int_equal(log.views, views);
        log.fail = 1;
        struct cg_loader_batch b;
        assert_int_equal(cg_loader_next(L, &b, &e), CG_ERR_DEVICE);
        assert_non_null(strstr(e.msg, "augmentation failed"));
    }
    cg_loader_destroy(L);
    cg_sampler_destroy(sm);
    clReleaseMemObject(buf);
    free(xb);
    free(yb);
    free_split(s);
}

static void test_device(void **st)
{
    struct cg_device *dev = *st;
    if (!dev)
        skip();
    device_upload(dev, 0, 0);
    device_upload(dev, 1, 0);
    device_upload(dev, 0, 2);
    device_upload(dev, 1, 4);
}

static void test_device_errors(void **st)
{
    struct cg_device *dev = *st;
    if (!dev)
        skip();
    struct cg_split *s = make_split(40);
    struct cg_sampler *sm = sampler(s, 8, 0, 0, 0);
    cl_int err;
    cl_mem small = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, 16, NULL, &err);
    struct cg_loader_target t[2] = {{small, 0}, {small, 0}};
    struct cg_loader_config cfg = {.queue = cg_device_queue(dev)};
    struct cg_loader *L;
    struct cg_error e;
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_ERR_INPUT); /* no targets */
    assert_non_null(strstr(e.msg, "target"));
    cfg.targets = t;
    assert_int_equal(cg_loader_create(sm, &cfg, &L, &e), CG_OK);
    struct cg_loader_batch b;
    assert_int_equal(cg_loader_next(L, &b, &e), CG_ERR_DEVICE); /* 128 bytes into 16 */
    assert_non_null(strstr(e.msg, "clEnqueueWriteBuffer"));
    cg_loader_destroy(L);
    cg_sampler_destroy(sm);
    clReleaseMemObject(small);
    free_split(s);
}

static int setup(void **state)
{
    struct cg_error e;
    struct cg_device *dev = NULL;
    if (cg_device_open(NULL, 0, &dev, &e) != CG_OK)
        dev = NULL; /* the device tests skip */
    *state = dev;
    return 0;
}

static int teardown(void **state)
{
    cg_device_close(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_drop_last), cmocka_unit_test(test_once_keep_last),
        cmocka_unit_test(test_shutdown),       cmocka_unit_test(test_state_restore),
        cmocka_unit_test(test_device),         cmocka_unit_test(test_device_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
