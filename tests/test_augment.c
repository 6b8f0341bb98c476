/* test_augment.c: the augmentation pipelines (src/data/augment.c, cl/augment.cl) on the test
 * device: every augmentation against its host reference for 1- and 3-channel odd-sized images
 * (the device and the host draw the same parameters: outputs agree within 1e-5), identity
 * settings give the input back bit for bit, flip and grayscale rates, determinism in (seed,
 * step), in-place runs, no kernel build inside a run, the grammar and its error messages, the
 * host Philox against Random123's known answers, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"

static struct cg_device *dev;

/* Most tests use batches [NI, C, 7, 9] and the full pipeline FULL, so that they share programs
 * (every distinct shape is a kernel build, about 0.4 s on PoCL). */
enum { NI = 24 };
#define FULL "rrc(size=11,scale=0.2:1),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),gray(p=0.2),blur(k=3)"

static int setup(void **state)
{
    (void)state;
    struct cg_error e;
    if (cg_device_open(NULL, 0, &dev, &e) != CG_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_device_close(dev);
    return 0;
}

/* Deterministic values in [0, 1]: a 64-bit LCG, with some exact 0s, 1s and equal channels. */
static void fill(float *x, size_t n, uint64_t s)
{
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(s >> 40);
        x[i] = r % 17 == 0 ? 0.0f : (r % 19 == 0 ? 1.0f : (float)(r & 0xFFFF) / 65535.0f);
    }
}

static cl_mem upload(const float *x, size_t n)
{
    cl_int err;
    cl_mem m = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              n * sizeof(float), (void *)x, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void download(cl_mem m, size_t off, float *y, size_t n)
{
    assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), m, CL_TRUE, off * sizeof(float),
                                         n * sizeof(float), y, 0, NULL, NULL), CL_SUCCESS);
}

/* Runs text on the device over x [n, c, h, w] at (seed, step) into *y (malloc'd; out size in
 * *ny), through input and output buffers with offsets 3 and 5. */
static void run_dev(const char *text, const float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                    uint64_t seed, uint64_t step, float **y, size_t *ny)
{
    struct cg_augment *a;
    struct cg_augment_plan *p;
    struct cg_error e;
    if (cg_augment_parse(text, &a, &e) != CG_OK)
        fail_msg("%s", e.msg);
    if (cg_augment_compile(a, dev, n, c, h, w, &p, &e) != CG_OK)
        fail_msg("%s", e.msg);
    int64_t oh, ow;
    cg_augment_plan_out_shape(p, &oh, &ow);
    size_t nin = (size_t)(n * c * h * w), nout = (size_t)(n * c * oh * ow);
    float *xin = calloc(nin + 3, sizeof *xin);
    memcpy(xin + 3, x, nin * sizeof *x);
    cl_mem in = upload(xin, nin + 3), out = upload(xin, 1);
    clReleaseMemObject(out);
    cl_int err;
    out = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, (nout + 5) * sizeof(float),
                         NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    if (cg_augment_run(p, NULL, in, 3, out, 5, seed, step, 0, NULL, NULL, &e) != CG_OK)
        fail_msg("%s", e.msg);
    *y = malloc(nout * sizeof **y);
    download(out, 5, *y, nout);
    *ny = nout;
    clReleaseMemObject(in);
    clReleaseMemObject(out);
    free(xin);
    cg_augment_plan_destroy(p);
    cg_augment_destroy(a);
}

static float *run_ref(const char *text, const float *x, int64_t n, int64_t c, int64_t h,
                      int64_t w, uint64_t seed, uint64_t step, size_t *ny)
{
    struct cg_augment *a;
    struct cg_error e;
    int64_t oh, ow;
    assert_int_equal(cg_augment_parse(text, &a, &e), CG_OK);
    assert_int_equal(cg_augment_out_shape(a, c, h, w, &oh, &ow, &e), CG_OK);
    *ny = (size_t)(n * c * oh * ow);
    float *y = malloc(*ny * sizeof *y);
    if (cg_augment_ref(a, x, y, n, c, h, w, seed, step, &e) != CG_OK)
        fail_msg("%s", e.msg);
    cg_augment_destroy(a);
    return y;
}

/* Largest |a - b|. */
static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > m || a[i] != a[i] || b[i] != b[i])
            m = a[i] != a[i] || b[i] != b[i] ? INFINITY : fabs((double)a[i] - b[i]);
    return m;
}

/* Every augmentation, alone and chained, device vs host, 1 and 3 channels, odd sizes. */
static void test_device_matches_reference(void **state)
{
    (void)state;
    static const char *const pipes[] = {
        "rrc(size=5x11)",
        "rrc(size=11, scale=0.2:1)",
        "rrc(size=11, scale=0.05:0.3, ratio=0.2:5)",
        "rrc",
        "flip",
        "jitter(0.4, 0.4, 0.4, 0.1)",
        "jitter(0.8, 0.8, 0.8, 0.5, p=0.8)",
        "jitter(c=0.5)",
        "jitter(h=-0.2:0.3, s=0:2)",
        "gray(p=0.5)",
        "blur(k=3)",
        "blur(k=5, sigma=0.5:3, p=0.5)",
        FULL,
    };
    static const int64_t shapes[][3] = {{1, 7, 9}, {3, 7, 9}};
    for (size_t t = 0; t < CG_ARRAY_LEN(pipes); t++)
        for (size_t sh = 0; sh < CG_ARRAY_LEN(shapes); sh++) {
            int64_t c = shapes[sh][0], h = shapes[sh][1], w = shapes[sh][2];
            size_t nx = (size_t)(NI * c * h * w), nd, nr;
            float *x = malloc(nx * sizeof *x), *yd;
            fill(x, nx, t * 10 + (uint64_t)c + sh);
            run_dev(pipes[t], x, NI, c, h, w, 42 + t, 7, &yd, &nd);
            float *yr = run_ref(pipes[t], x, NI, c, h, w, 42 + t, 7, &nr);
            assert_int_equal(nd, nr);
            double d = max_diff(yd, yr, nd);
            if (d > 1e-5)
                fail_msg("%s on [%d, %lld, %lld, %lld]: device and reference differ by %g",
                         pipes[t], NI, (long long)c, (long long)h, (long long)w, d);
            for (size_t i = 0; i < nd; i++)
                assert_true(yd[i] >= 0.0f && yd[i] <= 1.0f);
            free(x);
            free(yd);
            free(yr);
        }
}

/* Identity settings return the input exactly, on the device and in the reference. */
static void test_identities(void **state)
{
    (void)state;
    static const char *const pipes[] = {
        "flip(p=0)", "jitter(0, 0, 0, 0)", "jitter", "rrc(size=9, scale=1:1, ratio=1:1)",
        "gray(p=0)", "blur(k=3, p=0)",
        "flip(0),jitter(0,0,0,0),rrc(9,1:1,1:1),gray(0),blur(5,p=0)",
    };
    for (size_t t = 0; t < CG_ARRAY_LEN(pipes); t++)
        for (int64_t c = 1; c <= 3; c += 2) {
            size_t nx = (size_t)(NI * c * 9 * 9), nd, nr;
            float *x = malloc(nx * sizeof *x), *yd;
            fill(x, nx, 99 + t);
            run_dev(pipes[t], x, NI, c, 9, 9, 1, 2, &yd, &nd);
            float *yr = run_ref(pipes[t], x, NI, c, 9, 9, 1, 2, &nr);
            assert_int_equal(nd, nx);
            if (memcmp(yd, x, nx * sizeof *x) || memcmp(yr, x, nx * sizeof *x))
                fail_msg("%s (C=%lld) is not the identity", pipes[t], (long long)c);
            free(x);
            free(yd);
            free(yr);
        }
}

/* Flip rate 0.5 and grayscale rate p over many images, within 5 standard errors. */
static void test_rates(void **state)
{
    (void)state;
    enum { NR = 4000 };
    float *x = malloc(NR * 3 * 2 * sizeof *x), *y;
    size_t ny;
    for (int i = 0; i < NR * 3 * 2; i++)
        x[i] = (float)(i % 6) / 8.0f; /* channels and columns all distinct */
    int flips = 0, grays = 0;
    run_dev("flip", x, NR, 3, 1, 2, 5, 0, &y, &ny);
    for (int i = 0; i < NR; i++)
        flips += y[i * 6] == x[i * 6 + 1];
    free(y);
    run_dev("gray(p=0.2)", x, NR, 3, 1, 2, 5, 0, &y, &ny);
    for (int i = 0; i < NR; i++)
        grays += y[i * 6] == y[i * 6 + 2];
    free(y);
    double se5 = 5 * sqrt(0.25 / NR);
    assert_true(fabs(flips / (double)NR - 0.5) < se5);
    assert_true(fabs(grays / (double)NR - 0.2) < 5 * sqrt(0.16 / NR));
    /* jitter's p: an applied jitter with strong brightness changes the image */
    int changed = 0;
    run_dev("jitter(b=0.9, p=0.3)", x, NR, 3, 1, 2, 6, 0, &y, &ny);
    for (int i = 0; i < NR; i++)
        changed += memcmp(y + i * 6, x + i * 6, 6 * sizeof *x) != 0;
    free(y);
    assert_true(fabs(changed / (double)NR - 0.3) < 5 * sqrt(0.21 / NR));
    free(x);
}

/* The same (seed, step) gives the same bits; another step or seed gives other images. */
static void test_determinism(void **state)
{
    (void)state;
    size_t nx = NI * 3 * 7 * 9, n1, n2, n3, n4;
    float *x = malloc(nx * sizeof *x), *a, *b, *c, *d;
    fill(x, nx, 3);
    run_dev(FULL, x, NI, 3, 7, 9, 10, 4, &a, &n1);
    run_dev(FULL, x, NI, 3, 7, 9, 10, 4, &b, &n2);
    run_dev(FULL, x, NI, 3, 7, 9, 10, 5, &c, &n3);
    run_dev(FULL, x, NI, 3, 7, 9, 11, 4, &d, &n4);
    assert_memory_equal(a, b, n1 * sizeof *a);
    size_t per = n1 / NI;
    for (int i = 0; i < NI; i++) {
        assert_memory_not_equal(a + i * per, c + i * per, per * sizeof *a);
        assert_memory_not_equal(a + i * per, d + i * per, per * sizeof *a);
    }
    free(x);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* In place (in == out, same offset), one stage and several; and no program is built or looked
 * up while the pipeline runs. */
static void test_in_place_and_no_build(void **state)
{
    (void)state;
    static const char *const pipes[] = {"flip", "rrc(scale=0.2:1)", "blur(k=3)",
                                        "flip,jitter(0.4,0.4,0.4,0.1)"};
    for (size_t t = 0; t < CG_ARRAY_LEN(pipes); t++) {
        struct cg_augment *a;
        struct cg_augment_plan *p;
        struct cg_error e;
        size_t nx = NI * 3 * 7 * 9, nr;
        float *x = malloc(nx * sizeof *x), *y = malloc(nx * sizeof *y);
        fill(x, nx, 8 + t);
        assert_int_equal(cg_augment_parse(pipes[t], &a, &e), CG_OK);
        assert_int_equal(cg_augment_compile(a, dev, NI, 3, 7, 9, &p, &e), CG_OK);
        cl_mem m = upload(x, nx);
        struct cg_cache_stats s0, s1;
        cg_device_cache_stats(dev, &s0);
        cl_event done;
        assert_int_equal(cg_augment_run(p, NULL, m, 0, m, 0, 9, 1, 0, NULL, &done, &e), CG_OK);
        assert_non_null(done);
        assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
        clReleaseEvent(done);
        cg_device_cache_stats(dev, &s1);
        assert_int_equal(s0.memory_hits, s1.memory_hits);
        assert_int_equal(s0.source_builds, s1.source_builds);
        download(m, 0, y, nx);
        float *yr = run_ref(pipes[t], x, NI, 3, 7, 9, 9, 1, &nr);
        assert_true(max_diff(y, yr, nx) <= 1e-5);
        clReleaseMemObject(m);
        cg_augment_plan_destroy(p);
        cg_augment_destroy(a);
        free(x);
        free(y);
        free(yr);
    }
}

/* The grammar: accepted forms and every error message. */
static void test_parse(void **state)
{
    (void)state;
    static const char *const good[] = {
        "flip", " flip ( ) ", "rrc(size=20,scale=0.2:1),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),"
        "gray(p=0.2),blur(k=3)", "rrc(24x20)", "rrc(size = 7, ratio = 1:1)",
        "jitter(b=0.6:1.4, h=0.5)", "blur(5, 1.5)", "gray(1)",
    };
    struct cg_augment *a;
    struct cg_error e;
    for (size_t t = 0; t < CG_ARRAY_LEN(good); t++) {
        if (cg_augment_parse(good[t], &a, &e) != CG_OK)
            fail_msg("%s: %s", good[t], e.msg);
        cg_augment_destroy(a);
    }
    assert_int_equal(cg_augment_parse("rrc(24x20),flip", &a, &e), CG_OK);
    assert_int_equal(cg_augment_stages(a), 2);
    int64_t oh, ow;
    assert_int_equal(cg_augment_out_shape(a, 3, 30, 30, &oh, &ow, &e), CG_OK);
    assert_true(oh == 24 && ow == 20);
    assert_int_equal(cg_augment_out_shape(a, 2, 30, 30, &oh, &ow, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "1 or 3 channels, got 2"));
    cg_augment_destroy(a);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"flop", "at character 1: unknown augmentation 'flop'"},
        {"flip,,gray", "at character 6: expected an augmentation name, found ','"},
        {"", "expected an augmentation name"},
        {"flip gray", "at character 6: expected ',' between augmentations, found 'g'"},
        {"flip(p=1.5)", "'p=1.5': p must be a number in [0, 1]"},
        {"flip(q=1)", "'q=1': flip has no argument 'q'"},
        {"flip(0.5, 0.5)", "'0.5': too many arguments for flip"},
        {"flip(p=0.2", "missing ')' after the arguments of flip"},
        {"rrc(scale=0.x)", "'scale=0.x': bad value '0.x'"},
        {"rrc(scale=0:1)", "'scale=0:1': scale must be lo:hi with 0 < lo <= hi <= 1"},
        {"rrc(size=0)", "'size=0': size must be S or HxW"},
        {"rrc(ratio=2:1)", "'ratio=2:1': ratio must be lo:hi"},
        {"jitter(h=0.7)", "'h=0.7': hue must be in [0, 0.5]"},
        {"jitter(b=-1)", "'b=-1': b must be >= 0"},
        {"jitter(c=1.5:0.5)", "'c=1.5:0.5': a range must be lo:hi"},
        {"jitter(h=-0.6:0)", "a hue range must be lo:hi in [-0.5, 0.5]"},
        {"jitter(p=0.5, 0.4)", "'0.4': a positional argument after a KEY=value one"},
        {"gray(p=0.1, p=0.2)", "'p=0.2': p given twice"},
        {"blur", "at character 1: blur needs a kernel size"},
        {"blur(k=4)", "'k=4': k must be an odd integer"},
        {"blur(3, sigma=0)", "'sigma=0': sigma must be > 0"},
        {"flip(p=3x4)", "'p=3x4': p takes a number or a range lo:hi, not a size"},
    };
    for (size_t t = 0; t < CG_ARRAY_LEN(bad); t++) {
        a = (struct cg_augment *)&e;
        assert_int_equal(cg_augment_parse(bad[t].text, &a, &e), CG_ERR_INPUT);
        assert_null(a);
        if (!strstr(e.msg, bad[t].msg) || strncmp(e.msg, "error: augmentation '", 21))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[t].text, e.msg, bad[t].msg);
    }
    /* compile-time errors */
    struct cg_augment_plan *p;
    assert_int_equal(cg_augment_parse("blur(k=7)", &a, &e), CG_OK);
    assert_int_equal(cg_augment_compile(a, dev, 4, 1, 3, 9, &p, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "augmentation 1 (blur, k=7) needs images with sides above 3, "
                                  "got 3x9"));
    assert_int_equal(cg_augment_compile(a, dev, 0, 1, 9, 9, &p, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "batch of 0 images"));
    cg_augment_destroy(a);
}

/* The host Philox against Random123's known answers (as test_ops_random). */
static void test_philox_kat(void **state)
{
    (void)state;
    uint32_t out[4];
    cg_philox4x32_10((const uint32_t[4]){0, 0, 0, 0}, 0, 0, out);
    assert_int_equal(out[0], 0x6627e8d5);
    assert_int_equal(out[3], 0x9b00dbd8);
    cg_philox4x32_10((const uint32_t[4]){0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                     0xa4093822, 0x299f31d0, out);
    assert_int_equal(out[0], 0xd16cfe09);
    assert_int_equal(out[1], 0x94fdcceb);
    assert_int_equal(out[2], 0x5001e420);
    assert_int_equal(out[3], 0x24126ea1);
}

/* Every allocation of parse, reference and compile may fail: a clean CG_ERR_NOMEM. */
static void test_allocation_failures(void **state)
{
    (void)state;
    static float x[NI * 3 * 7 * 9], y[NI * 3 * 11 * 11];
    fill(x, CG_ARRAY_LEN(x), 1);
    for (long k = 0; k < 20; k++) {
        struct cg_augment *a = NULL;
        struct cg_augment_plan *p = NULL;
        struct cg_error e;
        cg_alloc_fail_after(k);
        enum cg_status st = cg_augment_parse(FULL, &a, &e);
        if (st == CG_OK)
            st = cg_augment_ref(a, x, y, NI, 3, 7, 9, 0, 0, &e);
        if (st == CG_OK)
            st = cg_augment_compile(a, dev, NI, 3, 7, 9, &p, &e);
        cg_alloc_fail_after(-1);
        assert_true(st == CG_OK || st == CG_ERR_NOMEM);
        cg_augment_plan_destroy(p);
        cg_augment_destroy(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_philox_kat),
        cmocka_unit_test(test_device_matches_reference),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_in_place_and_no_build),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
