/* test_ops_shape.c: the shape ops that copy (permute, transpose, concat, slice, broadcast_to,
 * gather, one_hot), the crops (crop_grid, crop_all) and the internal ops of their gradients and
 * of composite ops (slice_grad, scatter_add, crop_grad, gauss_window, mask_diag, iota) on the
 * test device. Forward against the double references of src/ops/ref.c; gradients through the
 * autodiff pass against central finite differences of target = sum(y * r) on the reference.
 * Table-driven: odd sizes, negative axes and bounds, ranks 1 to 5, i32 copies, out-of-range
 * indices (clamped; one_hot gives a zero row), repeated indices (accumulate, bit-identical run
 * to run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

#define MAXN 4096

/* "f32[2, 3, 4]" into buf. */
static const char *tstr(const char *dt, int rank, const int64_t *d, char *buf, size_t n)
{
    size_t u = (size_t)snprintf(buf, n, "%s[", dt);
    for (int k = 0; k < rank && u < n; k++)
        u += (size_t)snprintf(buf + u, n - u, "%s%lld", k ? ", " : "", (long long)d[k]);
    if (u < n)
        snprintf(buf + u, n - u, "]");
    return buf;
}

static int64_t count(int rank, const int64_t *d)
{
    int64_t n = 1;
    for (int k = 0; k < rank; k++)
        n *= d[k];
    return n;
}

/* ---- a linear op y = f(x) checked forward and backward ---- */

struct lin_op {
    const char *call;              /* graph text of y, in terms of x (and i) */
    int rank;                      /* x */
    int64_t xs[8];
    int irank;                     /* index input i (0: none) */
    int64_t is[8];
    const int32_t *idx;
    /* reference: y from x; returns y's rank and sets ys */
    int (*ref)(const struct lin_op *op, const double *x, double *y, int64_t *ys);
    int perm[8];                   /* permute / transpose */
    int axis;
    int64_t start, end;
    int yrank;                     /* broadcast_to */
    int64_t bs[8];
};

struct fd_ctx {
    const struct lin_op *op;
    const double *r;
    double *y;
};

static double dot_r(const double *x, void *vctx)
{
    struct fd_ctx *c = vctx;
    int64_t ys[8];
    int yr = c->op->ref(c->op, x, c->y, ys);
    double s = 0;
    for (int64_t i = 0; i < count(yr, ys); i++)
        s += c->y[i] * c->r[i];
    return s;
}

static void check_lin(const struct lin_op *op)
{
    static double xd[MAXN], yd[MAXN], rd[MAXN], gd[MAXN], tmp[MAXN];
    static float xf[MAXN], rf[MAXN];
    int64_t n = count(op->rank, op->xs), ys[8];
    ot_fill(xf, (size_t)n, 3, 0);
    for (int64_t i = 0; i < n; i++)
        xd[i] = xf[i];
    int yr = op->ref(op, xd, yd, ys);
    int64_t m = count(yr, ys);
    ot_fill(rf, (size_t)m, 7, 0);
    for (int64_t i = 0; i < m; i++)
        rd[i] = rf[i];
    char text[1024], a[128], b[128], c[128];
    snprintf(text, sizeof text, "input x : %s\ninput r : %s\n%s%s%sy = %s\nt = sum(y * r)\n",
             tstr("f32", op->rank, op->xs, a, sizeof a), tstr("f32", yr, ys, b, sizeof b),
             op->irank ? "input i : " : "", op->irank ? tstr("i32", op->irank, op->is, c, sizeof c)
                                                     : "", op->irank ? "\n" : "", op->call);
    struct ot_feed feeds[3] = {{"x", xf, NULL, (size_t)n}, {"r", rf, NULL, (size_t)m},
                               {"i", NULL, op->idx, (size_t)count(op->irank, op->is)}};
    const char *fetch[1] = {"y"}, *wrt[1] = {"x"};
    float *y = NULL, *g = NULL;
    if (ot_run(text, feeds, op->irank ? 3 : 2, fetch, 1, &y, "t", wrt, 1, &g) != 0) {
        fprintf(stderr, "graph:\n%s", text);
        fail();
    }
    if (!ot_close(y, yd, (size_t)m, 1e-6, 0)) {
        fprintf(stderr, "forward of %s", text);
        fail();
    }
    struct fd_ctx ctx = {op, rd, tmp};
    ot_fd_grad(dot_r, &ctx, xd, (size_t)n, 1e-3, gd);
    if (!ot_close(g, gd, (size_t)n, 2e-4, 2e-5)) {
        fprintf(stderr, "gradient of %s", text);
        fail();
    }
    free(y);
    free(g);
}

static int ref_permute(const struct lin_op *op, const double *x, double *y, int64_t *ys)
{
    cg_ref_permute(x, op->rank, op->xs, op->perm, y);
    for (int k = 0; k < op->rank; k++)
        ys[k] = op->xs[op->perm[k]];
    return op->rank;
}

static int ref_slice(const struct lin_op *op, const double *x, double *y, int64_t *ys)
{
    int ax = op->axis < 0 ? op->axis + op->rank : op->axis;
    memcpy(ys, op->xs, sizeof op->xs);
    ys[ax] = cg_ref_slice(x, op->rank, op->xs, ax, op->start, op->end, y);
    return op->rank;
}

static int ref_bcast(const struct lin_op *op, const double *x, double *y, int64_t *ys)
{
    cg_ref_broadcast_to(x, op->rank, op->xs, op->yrank, op->bs, y);
    memcpy(ys, op->bs, sizeof op->bs);
    return op->yrank;
}

/* gather with indices clamped into range first (the device clamps; the reference asserts). */
static int ref_gather(const struct lin_op *op, const double *x, double *y, int64_t *ys)
{
    static int32_t cl[MAXN];
    int ax = op->axis < 0 ? op->axis + op->rank : op->axis;
    int64_t n = count(op->irank, op->is);
    for (int64_t i = 0; i < n; i++)
        cl[i] = op->idx[i] < 0 ? 0 : (op->idx[i] >= op->xs[ax] ? (int32_t)op->xs[ax] - 1
                                                                 : op->idx[i]);
    cg_ref_gather(x, op->rank, op->xs, cl, op->is, ax, y);
    memcpy(ys, op->is, sizeof op->is);
    return op->irank;
}

static void test_permute(void **state)
{
    (void)state;
    static const struct lin_op ops[] = {
        {"permute(x, [1, 0])", 2, {3, 5}, .ref = ref_permute, .perm = {1, 0}},
        {"permute(x, [2, 0, 1])", 3, {2, 3, 5}, .ref = ref_permute, .perm = {2, 0, 1}},
        {"permute(x, [-1, 0, -2])", 3, {4, 3, 5}, .ref = ref_permute, .perm = {2, 0, 1}},
        {"permute(x, [0])", 1, {7}, .ref = ref_permute, .perm = {0}},
        {"permute(x, [3, 1, 0, 2])", 4, {2, 3, 1, 5}, .ref = ref_permute, .perm = {3, 1, 0, 2}},
        {"permute(x, [4, 2, 0, 3, 1])", 5, {2, 3, 2, 3, 5}, .ref = ref_permute,
         .perm = {4, 2, 0, 3, 1}},
        {"transpose(x, 0, 1)", 2, {3, 7}, .ref = ref_permute, .perm = {1, 0}},
        {"transpose(x, -1, -3)", 3, {2, 3, 5}, .ref = ref_permute, .perm = {2, 1, 0}},
        {"transpose(x, 1, 3)", 5, {2, 3, 2, 5, 3}, .ref = ref_permute, .perm = {0, 3, 2, 1, 4}},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ops); i++)
        check_lin(&ops[i]);
}

static void test_slice(void **state)
{
    (void)state;
    static const struct lin_op ops[] = {
        {"slice(x, 1, 1, 4)", 2, {3, 5}, .ref = ref_slice, .axis = 1, .start = 1, .end = 4},
        {"slice(x, -1, -3, -1)", 3, {2, 3, 7}, .ref = ref_slice, .axis = -1, .start = -3,
         .end = -1},
        {"slice(x, 0, -100, 2)", 2, {5, 3}, .ref = ref_slice, .axis = 0, .start = -100, .end = 2},
        {"slice(x, 2, 1, 100)", 4, {2, 3, 5, 3}, .ref = ref_slice, .axis = 2, .start = 1,
         .end = 100},
        {"slice(x, 0, 3, 4)", 1, {9}, .ref = ref_slice, .axis = 0, .start = 3, .end = 4},
        {"slice(x, -4, 0, 1)", 5, {2, 3, 2, 3, 5}, .ref = ref_slice, .axis = -4, .start = 0,
         .end = 1},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ops); i++)
        check_lin(&ops[i]);
}

static void test_broadcast_to(void **state)
{
    (void)state;
    static const struct lin_op ops[] = {
        {"broadcast_to(x, [4, 3])", 1, {3}, .ref = ref_bcast, .yrank = 2, .bs = {4, 3}},
        {"broadcast_to(x, [2, 3, 5])", 3, {2, 1, 5}, .ref = ref_bcast, .yrank = 3,
         .bs = {2, 3, 5}},
        {"broadcast_to(x, [3, 2, 4, 5])", 2, {4, 1}, .ref = ref_bcast, .yrank = 4,
         .bs = {3, 2, 4, 5}},
        {"broadcast_to(x, [2, -1, 3])", 3, {1, 5, 1}, .ref = ref_bcast, .yrank = 3,
         .bs = {2, 5, 3}},
        {"broadcast_to(x, [2, 3, 1, 2, 3])", 1, {1}, .ref = ref_bcast, .yrank = 5,
         .bs = {2, 3, 1, 2, 3}},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ops); i++)
        check_lin(&ops[i]);
}

static void test_gather(void **state)
{
    (void)state;
    /* repeated indices (gradients accumulate) and, in the last rows, out-of-range ones */
    static const int32_t i1[] = {0, 4, 4, 1, 2, 2, 2, 0, 3, 1, 0, 4};
    static const int32_t i2[] = {2, 0, 1, 1, 0, 2, 2, 2, 0, 1, 1, 0, 0, 0, 2, 1, 2, 0};
    static const int32_t i3[] = {0, 1, 2, 3, -5, 9, 1, 1, 7, -1, 2, 0};
    static const struct lin_op ops[] = {
        {"gather(x, i, 1)", 2, {3, 5}, 2, {3, 4}, i1, ref_gather, .axis = 1},
        {"gather(x, i, -1)", 2, {3, 5}, 2, {2, 6}, i1, ref_gather, .axis = -1},
        {"gather(x, i, 0)", 3, {3, 2, 4}, 3, {3, 2, 3}, i2, ref_gather, .axis = 0},
        {"gather(x, i, 1)", 3, {2, 3, 3}, 3, {2, 3, 3}, i2, ref_gather, .axis = 1},
        {"gather(x, i, 1)", 2, {3, 4}, 2, {3, 4}, i3, ref_gather, .axis = 1},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(ops); i++)
        check_lin(&ops[i]);
}

/* ---- concat: several inputs ---- */

struct concat_case {
    int n, rank, axis;
    int64_t shapes[3][5];
};

static void test_concat(void **state)
{
    (void)state;
    static const struct concat_case cases[] = {
        {2, 2, 0, {{2, 3}, {4, 3}}},
        {3, 3, 1, {{2, 1, 4}, {2, 3, 4}, {2, 2, 4}}},
        {3, 3, -1, {{2, 3, 1}, {2, 3, 5}, {2, 3, 2}}},
        {2, 1, 0, {{5}, {3}}},
        {2, 5, 2, {{2, 1, 3, 2, 3}, {2, 1, 1, 2, 3}}},
    };
    for (size_t t = 0; t < CG_ARRAY_LEN(cases); t++) {
        const struct concat_case *cc = &cases[t];
        int ax = cc->axis < 0 ? cc->axis + cc->rank : cc->axis;
        static float xf[3][MAXN], rf[MAXN];
        static double xd[3][MAXN], yd[MAXN], gd[MAXN];
        const double *xp[3];
        const int64_t *sp[3];
        int64_t ys[5];
        memcpy(ys, cc->shapes[0], sizeof ys);
        ys[ax] = 0;
        char text[1024] = "", buf[128], names[256] = "";
        struct ot_feed feeds[4];
        const char *wrt[3] = {"a", "b", "c"};
        size_t u = 0;
        for (int k = 0; k < cc->n; k++) {
            int64_t n = count(cc->rank, cc->shapes[k]);
            ot_fill(xf[k], (size_t)n, 11 + k, 0);
            for (int64_t i = 0; i < n; i++)
                xd[k][i] = xf[k][i];
            xp[k] = xd[k];
            sp[k] = cc->shapes[k];
            ys[ax] += cc->shapes[k][ax];
            u += (size_t)snprintf(text + u, sizeof text - u, "input %s : %s\n", wrt[k],
                                  tstr("f32", cc->rank, cc->shapes[k], buf, sizeof buf));
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     wrt[k]);
            feeds[k] = (struct ot_feed){wrt[k], xf[k], NULL, (size_t)n};
        }
        int64_t m = count(cc->rank, ys);
        ot_fill(rf, (size_t)m, 5, 0);
        snprintf(text + u, sizeof text - u, "input r : %s\ny = concat([%s], %d)\n"
                 "t = sum(y * r)\n", tstr("f32", cc->rank, ys, buf, sizeof buf), names,
                 cc->axis);
        feeds[cc->n] = (struct ot_feed){"r", rf, NULL, (size_t)m};
        cg_ref_concat(cc->n, xp, sp, cc->rank, ax, yd);
        const char *fetch[1] = {"y"};
        float *y = NULL, *g[3] = {NULL, NULL, NULL};
        assert_int_equal(ot_run(text, feeds, cc->n + 1, fetch, 1, &y, "t", wrt, cc->n, g), 0);
        assert_true(ot_close(y, yd, (size_t)m, 0, 0));
        /* the gradient of sum(concat * r) in input k is the matching slice of r */
        int64_t outer = 1, inner = 1, off = 0;
        for (int d = 0; d < ax; d++)
            outer *= ys[d];
        for (int d = ax + 1; d < cc->rank; d++)
            inner *= ys[d];
        for (int k = 0; k < cc->n; k++) {
            int64_t len = cc->shapes[k][ax];
            for (int64_t o = 0; o < outer; o++)
                for (int64_t a = 0; a < len; a++)
                    for (int64_t j = 0; j < inner; j++)
                        gd[(o * len + a) * inner + j] = rf[(o * ys[ax] + off + a) * inner + j];
            off += len;
            assert_true(ot_close(g[k], gd, (size_t)count(cc->rank, cc->shapes[k]), 0, 0));
            free(g[k]);
        }
        free(y);
    }
}

/* ---- i32 copies move the bits ---- */

static void test_int_copies(void **state)
{
    (void)state;
    static const int32_t v[24] = {0, -1, 2147483647, -2147483647 - 1, 5, 6, 7, 8, 9, 10, 11, 12,
                                  13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 0x7fc00001, 24};
    struct ot_feed feeds[1] = {{"v", NULL, v, 24}};
    const char *fetch[3] = {"p", "s", "c"};
    float *out[3];
    assert_int_equal(ot_run("input v : i32[2, 3, 4]\np = permute(v, [2, 0, 1])\n"
                            "s = slice(v, -1, 1, 3)\nc = concat([v, v], 1)\n",
                            feeds, 1, fetch, 3, out, NULL, NULL, 0, NULL), 0);
    const int32_t *p = (const int32_t *)out[0], *s = (const int32_t *)out[1],
                  *c = (const int32_t *)out[2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int d = 0; d < 4; d++) {
                int32_t want = v[(a * 3 + b) * 4 + d];
                assert_int_equal(p[(d * 2 + a) * 3 + b], want);
                if (d >= 1 && d < 3)
                    assert_int_equal(s[(a * 3 + b) * 2 + d - 1], want);
                assert_int_equal(c[(a * 6 + b) * 4 + d], want);
                assert_int_equal(c[(a * 6 + 3 + b) * 4 + d], want);
            }
    for (int k = 0; k < 3; k++)
        free(out[k]);
}

static void test_one_hot(void **state)
{
    (void)state;
    static const int32_t idx[] = {0, 3, 2, 2, -1, 4, 1, 7};
    struct ot_feed feeds[1] = {{"i", NULL, idx, 8}};
    const char *fetch[2] = {"y", "z"};
    float *out[2];
    assert_int_equal(ot_run("input i : i32[2, 4]\ny = one_hot(i, 4)\nz = one_hot(i, 9)\n", feeds,
                            1, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    static double want[8 * 9];
    static const int32_t in4[] = {0, 3, 2, 2, 0, 0, 1, 0}; /* placeholders for invalid rows */
    cg_ref_one_hot(in4, 8, 4, want);
    for (int r = 0; r < 8; r++)
        if (idx[r] < 0 || idx[r] >= 4)
            for (int c = 0; c < 4; c++)
                want[r * 4 + c] = 0; /* out of range: a row of zeros */
    assert_true(ot_close(out[0], want, 32, 0, 0));
    static const int32_t in9[] = {0, 3, 2, 2, 0, 4, 1, 7};
    cg_ref_one_hot(in9, 8, 9, want);
    for (int c = 0; c < 9; c++)
        want[4 * 9 + c] = 0;
    assert_true(ot_close(out[1], want, 72, 0, 0));
    free(out[0]);
    free(out[1]);
}

/* ---- internal ops, called directly ---- */

static void test_slice_grad(void **state)
{
    (void)state;
    /* like [3, 7, 2], gy [3, L, 2] placed at [s0:e0) of axis 1 */
    static const struct {
        int axis;
        int64_t start, end, s0, len;
    } cases[] = {{1, 2, 5, 2, 3}, {-2, -3, -1, 4, 2}, {1, -100, 2, 0, 2}, {1, 4, 100, 4, 3}};
    for (size_t t = 0; t < CG_ARRAY_LEN(cases); t++) {
        float gy[3 * 7 * 2], like[3 * 7 * 2] = {0};
        int64_t len = cases[t].len, s0 = cases[t].s0;
        ot_fill(gy, (size_t)(3 * len * 2), 4, 0);
        char text[256];
        snprintf(text, sizeof text,
                 "input gy : f32[3, %lld, 2]\ninput like : f32[3, 7, 2]\n"
                 "g = slice_grad(gy, like, axis=%d, start=%lld, end=%lld)\n",
                 (long long)len, cases[t].axis, (long long)cases[t].start,
                 (long long)cases[t].end);
        struct ot_feed feeds[2] = {{"gy", gy, NULL, (size_t)(3 * len * 2)},
                                   {"like", like, NULL, 42}};
        const char *fetch[1] = {"g"};
        float *g;
        assert_int_equal(ot_run(text, feeds, 2, fetch, 1, &g, NULL, NULL, 0, NULL), 0);
        double want[42] = {0};
        for (int a = 0; a < 3; a++)
            for (int64_t b = 0; b < len; b++)
                for (int c = 0; c < 2; c++)
                    want[(a * 7 + s0 + b) * 2 + c] = gy[(a * len + b) * 2 + c];
        assert_true(ot_close(g, want, 42, 0, 0));
        free(g);
    }
}

static void test_scatter_add(void **state)
{
    (void)state;
    /* like [3, 4, 2]; idx/gy [2, 6, 2] along axis 1 with repeats and out-of-range entries */
    static const int32_t idx[24] = {0, 1, 1, 1, 3, 0, 1, 1, 2, 9, -3, 3,
                                    3, 3, 3, 3, 0, 3, 2, 2, 1, 0, 2, 2};
    float gy[24], like[24] = {0};
    for (int i = 0; i < 24; i++)
        gy[i] = (float)(0.1 + 0.37 * i) * (i % 3 ? 1.0f : -1.0f) + 1e-7f * (float)i;
    struct ot_feed feeds[3] = {{"gy", gy, NULL, 24}, {"i", NULL, idx, 24},
                               {"like", like, NULL, 24}};
    const char *text = "input gy : f32[2, 6, 2]\ninput i : i32[2, 6, 2]\n"
                       "input like : f32[3, 4, 2]\ng = scatter_add(gy, i, like, axis=-2)\n";
    const char *fetch[1] = {"g"};
    float *g1, *g2;
    assert_int_equal(ot_run(text, feeds, 3, fetch, 1, &g1, NULL, NULL, 0, NULL), 0);
    assert_int_equal(ot_run(text, feeds, 3, fetch, 1, &g2, NULL, NULL, 0, NULL), 0);
    double want[24] = {0};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 6; b++)
            for (int c = 0; c < 2; c++) {
                int p = (a * 6 + b) * 2 + c, j = idx[p] < 0 ? 0 : (idx[p] > 3 ? 3 : idx[p]);
                want[(a * 4 + j) * 2 + c] += gy[p];
            }
    assert_true(ot_close(g1, want, 24, 1e-6, 1e-6));
    assert_memory_equal(g1, g2, 24 * sizeof(float)); /* deterministic */
    free(g1);
    free(g2);
}

static void test_gauss_mask_iota(void **state)
{
    (void)state;
    static const float x[2 * 3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                       13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
    struct ot_feed feeds[1] = {{"x", x, NULL, 24}};
    const char *fetch[5] = {"w", "m", "a", "b", "c"};
    float *out[5];
    assert_int_equal(ot_run("input x : f32[2, 3, 4]\nw = gauss_window(c=2, win=7, sigma=1.5)\n"
                            "m = mask_diag(x, value=-5)\na = iota(n=10)\n"
                            "b = iota(n=10, shift=3, mod=4)\nc = iota(n=6, shift=-8, mod=5)\n",
                            feeds, 1, fetch, 5, out, NULL, NULL, 0, NULL), 0);
    double g[7], s = 0, want[2 * 49];
    for (int k = 0; k < 7; k++) {
        g[k] = exp(-(k - 3.0) * (k - 3.0) / (2 * 1.5 * 1.5));
        s += g[k];
    }
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < 7; r++)
            for (int q = 0; q < 7; q++)
                want[(c * 7 + r) * 7 + q] = g[r] / s * g[q] / s;
    assert_true(ot_close(out[0], want, 98, 1e-5, 1e-7));
    for (int i = 0; i < 24; i++)
        want[i] = (i % 4) == (i / 4) % 3 ? -5.0 : x[i];
    assert_true(ot_close(out[1], want, 24, 0, 0));
    const int32_t *a = (const int32_t *)out[2], *b = (const int32_t *)out[3],
                  *c = (const int32_t *)out[4];
    for (int i = 0; i < 10; i++) {
        assert_int_equal(a[i], i);
        assert_int_equal(b[i], (i + 3) % 4);
    }
    for (int i = 0; i < 6; i++)
        assert_int_equal(c[i], ((i - 8) % 5 + 5) % 5);
    for (int k = 0; k < 5; k++)
        free(out[k]);
}

/* ---- crops ---- */

struct crop_case {
    int64_t xs[4], size, stride, k; /* k = 0: crop_all */
};

struct crop_fd {
    const struct crop_case *t;
    const int32_t *idx;
    const double *r;
    double *y;
};

static int64_t crop_count(const struct crop_case *t)
{
    return t->k ? t->k
                : cg_ref_crop_side(t->xs[2], t->size, t->stride) *
                      cg_ref_crop_side(t->xs[3], t->size, t->stride);
}

static double crop_dot(const double *x, void *vctx)
{
    struct crop_fd *c = vctx;
    const struct crop_case *t = c->t;
    if (t->k)
        cg_ref_crop_grid(x, t->xs, c->idx, t->k, t->size, t->stride, c->y);
    else
        cg_ref_crop_all(x, t->xs, t->size, t->stride, c->y);
    int64_t m = t->xs[0] * crop_count(t) * t->xs[1] * t->size * t->size;
    double s = 0;
    for (int64_t i = 0; i < m; i++)
        s += c->y[i] * c->r[i];
    return s;
}

static void test_crops(void **state)
{
    (void)state;
    static const struct crop_case cases[] = {
        {{2, 2, 7, 6}, 3, 2, 4}, {{1, 3, 8, 8}, 4, 4, 3}, {{2, 1, 9, 7}, 3, 1, 5},
        {{2, 2, 7, 6}, 3, 2, 0}, {{1, 2, 8, 8}, 4, 4, 0}, {{1, 1, 6, 9}, 4, 1, 0},
        {{3, 1, 5, 5}, 5, 3, 2},
    };
    static const int32_t idx_all[] = {0, 5, 5, 3, 2, 1, 0, 7, 4, 4, 6, 2, 1, 3, 0};
    for (size_t t = 0; t < CG_ARRAY_LEN(cases); t++) {
        const struct crop_case *cc = &cases[t];
        int64_t n = count(4, cc->xs), cells = cg_ref_crop_side(cc->xs[2], cc->size, cc->stride) *
                                              cg_ref_crop_side(cc->xs[3], cc->size, cc->stride);
        int64_t k = crop_count(cc), m = cc->xs[0] * k * cc->xs[1] * cc->size * cc->size;
        static float xf[MAXN], rf[MAXN];
        static double xd[MAXN], rd[MAXN], yd[MAXN], gd[MAXN], tmp[MAXN];
        static int32_t idx[64], idx_in[64];
        for (int64_t i = 0; i < cc->xs[0] * k; i++) {
            idx[i] = (int32_t)(idx_all[i % 15] % cells);
            idx_in[i] = idx[i];
        }
        if (cc->k) { /* out of range: clamped into the grid */
            idx_in[0] = -4;
            idx[0] = 0;
            idx_in[1] = (int32_t)cells + 3;
            idx[1] = (int32_t)cells - 1;
        }
        ot_fill(xf, (size_t)n, 2, 0);
        ot_fill(rf, (size_t)m, 9, 0);
        for (int64_t i = 0; i < n; i++)
            xd[i] = xf[i];
        for (int64_t i = 0; i < m; i++)
            rd[i] = rf[i];
        char text[512], a[64], b[64];
        int64_t ys[4] = {cc->xs[0] * k, cc->xs[1], cc->size, cc->size};
        if (cc->k)
            snprintf(text, sizeof text, "input x : %s\ninput i : i32[%lld, %lld]\ninput r : %s\n"
                     "y = crop_grid(x, i, %lld, %lld)\nt = sum(y * r)\n",
                     tstr("f32", 4, cc->xs, a, sizeof a), (long long)cc->xs[0], (long long)k,
                     tstr("f32", 4, ys, b, sizeof b), (long long)cc->size, (long long)cc->stride);
        else
            snprintf(text, sizeof text, "input x : %s\ninput r : %s\n"
                     "y = crop_all(x, %lld, %lld)\nt = sum(y * r)\n",
                     tstr("f32", 4, cc->xs, a, sizeof a), tstr("f32", 4, ys, b, sizeof b),
                     (long long)cc->size, (long long)cc->stride);
        struct ot_feed feeds[3] = {{"x", xf, NULL, (size_t)n}, {"r", rf, NULL, (size_t)m},
                                   {"i", NULL, idx_in, (size_t)(cc->xs[0] * k)}};
        const char *fetch[1] = {"y"}, *wrt[1] = {"x"};
        float *y, *g;
        assert_int_equal(ot_run(text, feeds, cc->k ? 3 : 2, fetch, 1, &y, "t", wrt, 1, &g), 0);
        struct crop_fd ctx = {cc, idx, rd, tmp};
        crop_dot(xd, &ctx);
        memcpy(yd, tmp, (size_t)m * sizeof *yd);
        assert_true(ot_close(y, yd, (size_t)m, 0, 0));
        ot_fd_grad(crop_dot, &ctx, xd, (size_t)n, 1e-3, gd);
        if (!ot_close(g, gd, (size_t)n, 2e-4, 2e-5)) {
            fprintf(stderr, "gradient of %s", text);
            fail();
        }
        free(y);
        free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permute),       cmocka_unit_test(test_slice),
        cmocka_unit_test(test_broadcast_to),  cmocka_unit_test(test_gather),
        cmocka_unit_test(test_concat),        cmocka_unit_test(test_int_copies),
        cmocka_unit_test(test_one_hot),       cmocka_unit_test(test_slice_grad),
        cmocka_unit_test(test_scatter_add),   cmocka_unit_test(test_gauss_mask_iota),
        cmocka_unit_test(test_crops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
