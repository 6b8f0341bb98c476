/* test_ops_random.c: the random ops on the test device (cl/random.cl, src/exec/lower_random.c).
 * Philox4x32-10 known-answer vectors (Random123's kat_vectors) run on the device; the bits of
 * uniform_like and the values of normal_like against a host Philox with the executor's key
 * derivation (splitmix of (seed, rng_id)) and counter (element, step); statistics on 1e5
 * samples (mean and variance of uniform and normal, dropout keep rate and scale, randint range
 * and frequencies, categorical frequencies against p) within 5 standard errors; dropout's
 * gradient applies the forward mask; reruns are bit-identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/augment.h"
#include "op_test.h"
#include "util/splitmix.h"

#define NS 100000

/* ---- Philox4x32-10: the host implementation (data/augment.h) against the known answers, then
 * the device against it ---- */

static const struct {
    uint32_t ctr[4], key[2], want[4];
} kat[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_kat_host(void **state)
{
    (void)state;
    for (size_t t = 0; t < CG_ARRAY_LEN(kat); t++) {
        uint32_t out[4];
        cg_philox4x32_10(kat[t].ctr, kat[t].key[0], kat[t].key[1], out);
        assert_memory_equal(out, kat[t].want, sizeof out);
    }
}

/* The generator itself on the device, through the rnd_philox_kat kernel of random.cl. */
static void test_kat_device(void **state)
{
    (void)state;
    struct cg_device *dev = ot_device();
    assert_non_null(dev);
    struct cg_error e;
    cl_program prog;
    cl_kernel k;
    assert_int_equal(cg_device_program(dev, "random.cl", "", &prog, &e), CG_OK);
    assert_int_equal(cg_device_kernel(dev, prog, "rnd_philox_kat", &k, &e), CG_OK);
    cl_int err;
    cl_mem buf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE, 16, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    for (size_t t = 0; t < CG_ARRAY_LEN(kat); t++) {
        cl_uint zero = 0, a[6] = {kat[t].ctr[0], kat[t].ctr[1], kat[t].ctr[2], kat[t].ctr[3],
                                  kat[t].key[0], kat[t].key[1]};
        assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
        assert_int_equal(clSetKernelArg(k, 1, sizeof zero, &zero), CL_SUCCESS);
        for (int i = 0; i < 6; i++)
            assert_int_equal(clSetKernelArg(k, (cl_uint)(2 + i), sizeof a[i], &a[i]),
                             CL_SUCCESS);
        size_t one = 1;
        assert_int_equal(clEnqueueNDRangeKernel(cg_device_queue(dev), k, 1, NULL, &one, NULL, 0,
                                                NULL, NULL), CL_SUCCESS);
        uint32_t out[4];
        assert_int_equal(clEnqueueReadBuffer(cg_device_queue(dev), buf, CL_TRUE, 0, 16, out, 0,
                                             NULL, NULL), CL_SUCCESS);
        assert_memory_equal(out, kat[t].want, sizeof out);
    }
    clReleaseMemObject(buf);
    clReleaseKernel(k);
}

/* The rng_id the builder gives the first node of op `op` in text. */
static uint32_t rng_of(const char *text, int op)
{
    struct cg_graph *g = NULL;
    struct cg_error e;
    uint32_t id = 0;
    if (cg_graph_load_text("t.graph", text, strlen(text), &g, &e) != CG_OK)
        return 0;
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == op) {
            id = g->nodes[i].rng_id;
            break;
        }
    cg_graph_destroy(g);
    return id;
}

/* The block of element i under the executor's key for (seed 0, rng_id) at step 0 (ot_run). */
static void block(uint32_t rng_id, uint32_t i, uint32_t out[4])
{
    uint64_t key = cg_splitmix_r(0, rng_id);
    uint32_t ctr[4] = {i, 0, 0, 0};
    cg_philox4x32_10(ctr, (uint32_t)key, (uint32_t)(key >> 32), out);
}

static void mean_var(const float *x, size_t n, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += (x[i] - *mean) * (x[i] - *mean);
    *var = s2 / (double)(n - 1);
}

static void test_uniform_normal(void **state)
{
    (void)state;
    static float x[NS];
    static double want[NS];
    const char *text = "input x : f32[100000]\nu = uniform_like(x)\nz = normal_like(x)\n";
    uint32_t ru = rng_of(text, CG_OP_uniform_like), rz = rng_of(text, CG_OP_normal_like);
    assert_true(ru != 0 && rz != 0 && ru != rz);
    struct ot_feed feeds[1] = {{"x", x, NULL, NS}};
    const char *fetch[2] = {"u", "z"};
    float *out[2], *again[2];
    assert_int_equal(ot_run(text, feeds, 1, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    assert_int_equal(ot_run(text, feeds, 1, fetch, 2, again, NULL, NULL, 0, NULL), 0);
    assert_memory_equal(out[0], again[0], NS * sizeof(float));
    assert_memory_equal(out[1], again[1], NS * sizeof(float));
    for (uint32_t i = 0; i < NS; i++) {
        uint32_t b[4];
        block(ru, i, b);
        assert_true(out[0][i] >= 0.0f && out[0][i] < 1.0f);
        assert_true((uint32_t)(out[0][i] * 16777216.0f) == b[0] >> 8); /* exact bits */
        block(rz, i, b);
        double u1 = ((b[0] >> 8) + 1) / 16777216.0, u2 = (b[1] >> 8) / 16777216.0;
        want[i] = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
    }
    assert_true(ot_close(out[1], want, NS, 2e-5, 2e-5));
    double m, v;
    mean_var(out[0], NS, &m, &v);
    assert_true(fabs(m - 0.5) < 5 * sqrt(1.0 / 12 / NS));
    assert_true(fabs(v - 1.0 / 12) < 5 * sqrt(1.0 / 180 / NS)); /* var of (u - 1/2)^2 */
    mean_var(out[1], NS, &m, &v);
    assert_true(fabs(m) < 5 * sqrt(1.0 / NS));
    assert_true(fabs(v - 1) < 5 * sqrt(2.0 / NS));
    for (int k = 0; k < 2; k++) {
        free(out[k]);
        free(again[k]);
    }
}

static void test_dropout(void **state)
{
    (void)state;
    static float x[NS], r[NS];
    for (int i = 0; i < NS; i++)
        x[i] = 1.0f + (float)(i % 7);
    ot_fill(r, NS, 4, 0.1);
    static const double ps[] = {0.3, 0.0, 0.9};
    for (size_t t = 0; t < CG_ARRAY_LEN(ps); t++) {
        char text[256];
        snprintf(text, sizeof text, "input x : f32[100000]\ninput r : f32[100000]\n"
                 "y = dropout(x, %g)\nt = sum(y * r)\n", ps[t]);
        struct ot_feed feeds[2] = {{"x", x, NULL, NS}, {"r", r, NULL, NS}};
        const char *fetch[1] = {"y"}, *wrt[1] = {"x"};
        float *y, *g;
        assert_int_equal(ot_run(text, feeds, 2, fetch, 1, &y, "t", wrt, 1, &g), 0);
        float scale = (float)(1.0 / (1.0 - ps[t]));
        size_t kept = 0;
        for (int i = 0; i < NS; i++) {
            if (y[i] != 0) {
                kept++;
                assert_true(y[i] == x[i] * scale);
                assert_true(g[i] == r[i] * scale); /* the gradient applies the same mask */
            } else {
                assert_true(g[i] == 0.0f);
            }
        }
        double keep = 1 - ps[t], rate = (double)kept / NS;
        assert_true(fabs(rate - keep) <= 5 * sqrt(keep * (1 - keep) / NS));
        free(y);
        free(g);
    }
}

static void test_randint(void **state)
{
    (void)state;
    static const int ns[] = {1, 7, 1000};
    for (size_t t = 0; t < CG_ARRAY_LEN(ns); t++) {
        char text[128];
        snprintf(text, sizeof text, "v = randint(%d, [250, 400])\n", ns[t]);
        const char *fetch[1] = {"v"};
        float *out;
        assert_int_equal(ot_run(text, NULL, 0, fetch, 1, &out, NULL, NULL, 0, NULL), 0);
        const int32_t *v = (const int32_t *)out;
        static int hist[1000];
        memset(hist, 0, sizeof hist);
        for (int i = 0; i < NS; i++) {
            assert_true(v[i] >= 0 && v[i] < ns[t]);
            hist[v[i]]++;
        }
        if (ns[t] <= 10) {
            double p = 1.0 / ns[t];
            for (int c = 0; c < ns[t]; c++)
                assert_true(fabs(hist[c] - NS * p) <= 5 * sqrt(NS * p * (1 - p)) + 1e-9);
        }
        free(out);
    }
}

static void test_categorical(void **state)
{
    (void)state;
    /* unnormalised rows; zero and negative weights are never drawn */
    static const float p[3 * 5] = {1, 2, 3, 4, 0,   0, 0, 5, 0, 0,   0.5f, 0, 0.25f, -1, 0.25f};
    struct ot_feed feeds[1] = {{"p", p, NULL, 15}};
    const char *fetch[1] = {"s"};
    float *out;
    assert_int_equal(ot_run("input p : f32[3, 5]\ns = categorical(p, 30000)\n", feeds, 1, fetch,
                            1, &out, NULL, NULL, 0, NULL), 0);
    const int32_t *s = (const int32_t *)out;
    for (int row = 0; row < 3; row++) {
        int hist[5] = {0};
        double tot = 0;
        for (int c = 0; c < 5; c++)
            tot += p[row * 5 + c] > 0 ? p[row * 5 + c] : 0;
        for (int j = 0; j < 30000; j++) {
            int v = s[row * 30000 + j];
            assert_true(v >= 0 && v < 5);
            hist[v]++;
        }
        for (int c = 0; c < 5; c++) {
            double q = p[row * 5 + c] > 0 ? p[row * 5 + c] / tot : 0;
            if (q == 0)
                assert_int_equal(hist[c], 0);
            else
                assert_true(fabs(hist[c] - 30000 * q) <= 5 * sqrt(30000 * q * (1 - q)) + 1e-9);
        }
    }
    free(out);
}

int main(void)
{
    (void)ot_fd_grad; /* op_test.h's gradient helper: nothing here is differentiable by FD */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_host),   cmocka_unit_test(test_kat_device),
        cmocka_unit_test(test_uniform_normal), cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_randint),    cmocka_unit_test(test_categorical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
