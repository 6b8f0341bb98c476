/* test_ops_gemm.c: linear and matmul through CLBlast on the test device against the double
 * references (cg_ref_linear, cg_ref_matmul): odd sizes, 1-D operands, batches with broadcast
 * (shared operands, strided batches, per-entry GEMMs), with and without bias; and the device's
 * GEMM self-check; matmul gradients through autodiff vs finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec/lower_gemm.h"
#include "op_test.h"
#include "ops/ref.h"

static size_t numel(int r, const int64_t *s)
{
    size_t n = 1;
    for (int i = 0; i < r; i++)
        n *= (size_t)s[i];
    return n;
}

static void shape_str(int r, const int64_t *s, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < r; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)s[i]);
    snprintf(buf + used, n - used, "]");
}

struct mm_case {
    int ra, rb;
    int64_t as[4], bs[4];
};

static const struct mm_case mm_cases[] = {
    {1, 1, {7}, {7}},                           /* dot */
    {1, 2, {5}, {5, 3}},                        /* row @ matrix */
    {2, 1, {4, 6}, {6}},                        /* matrix @ column */
    {2, 2, {13, 7}, {7, 9}},
    {3, 2, {3, 5, 7}, {7, 11}},                 /* shared b: batch folded into m */
    {2, 3, {5, 7}, {4, 7, 3}},                  /* shared a: stride 0 */
    {3, 3, {2, 5, 7}, {2, 7, 3}},               /* strided batch */
    {4, 3, {2, 1, 3, 5}, {3, 5, 4}},            /* broadcast batch */
    {4, 4, {2, 1, 3, 5}, {1, 3, 5, 2}},         /* broadcast both ways: per-entry GEMMs */
    {1, 3, {5}, {3, 5, 2}},                     /* row @ batch */
    {3, 1, {3, 4, 5}, {5}},                     /* batch @ column */
    {3, 3, {1, 4, 6}, {3, 6, 2}},               /* a broadcast along the batch */
};

static void test_matmul(void **state)
{
    (void)state;
    for (size_t c = 0; c < CG_ARRAY_LEN(mm_cases); c++) {
        const struct mm_case *t = &mm_cases[c];
        int64_t ys[8];
        int ry = cg_ref_matmul_shape(t->ra, t->as, t->rb, t->bs, ys);
        assert_true(ry >= 0);
        size_t na = numel(t->ra, t->as), nb = numel(t->rb, t->bs), ny = numel(ry, ys);
        float *a = malloc(na * 4), *b = malloc(nb * 4), *y = NULL;
        ot_fill(a, na, (int)c, 0);
        ot_fill(b, nb, (int)c + 50, 0);
        char sa[64], sb[64], text[256];
        shape_str(t->ra, t->as, sa, sizeof sa);
        shape_str(t->rb, t->bs, sb, sizeof sb);
        snprintf(text, sizeof text, "input a : f32%s\ninput b : f32%s\ny = matmul(a, b)\n", sa, sb);
        struct ot_feed in[] = {{"a", a, NULL, na}, {"b", b, NULL, nb}};
        const char *fetch[] = {"y"};
        assert_int_equal(ot_run(text, in, 2, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
        double *ad = ot_to_double(a, na), *bd = ot_to_double(b, nb), *yd = malloc(ny * 8);
        cg_ref_matmul(ad, t->ra, t->as, bd, t->rb, t->bs, yd);
        if (!ot_close(y, yd, ny, 1e-5, 1e-5))
            fail_msg("matmul case %zu: %s @ %s", c, sa, sb);
        free(a);
        free(b);
        free(y);
        free(ad);
        free(bd);
        free(yd);
    }
}

struct lin_case {
    int rx;
    int64_t xs[4];
    int64_t out;
    int bias;
};

static const struct lin_case lin_cases[] = {
    {1, {7}, 5, 1},        {2, {9, 13}, 11, 1},   {2, {4, 6}, 3, 0},
    {3, {2, 3, 17}, 19, 1}, {4, {2, 1, 3, 5}, 1, 1}, {2, {33, 65}, 47, 0},
};

static void test_linear(void **state)
{
    (void)state;
    for (size_t c = 0; c < CG_ARRAY_LEN(lin_cases); c++) {
        const struct lin_case *t = &lin_cases[c];
        int64_t in = t->xs[t->rx - 1];
        size_t nx = numel(t->rx, t->xs), nw = (size_t)(t->out * in);
        size_t rows = nx / (size_t)in, ny = rows * (size_t)t->out;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->out * 4);
        float *y = NULL;
        ot_fill(x, nx, (int)c, 0);
        ot_fill(w, nw, (int)c + 20, 0);
        ot_fill(b, (size_t)t->out, (int)c + 40, 0);
        char sx[64], text[256];
        shape_str(t->rx, t->xs, sx, sizeof sx);
        snprintf(text, sizeof text,
                 "input x : f32%s\ninput w : f32[%lld, %lld]\ninput b : f32[%lld]\n"
                 "y = linear(x, w%s)\n",
                 sx, (long long)t->out, (long long)in, (long long)t->out, t->bias ? ", b" : "");
        struct ot_feed in_[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw},
                                {"b", b, NULL, (size_t)t->out}};
        const char *fetch[] = {"y"};
        assert_int_equal(ot_run(text, in_, 3, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
        double *xd = ot_to_double(x, nx), *wd = ot_to_double(w, nw), *bd = ot_to_double(b, (size_t)t->out);
        double *yd = malloc(ny * 8);
        cg_ref_linear(xd, (int64_t)rows, in, wd, t->out, t->bias ? bd : NULL, yd);
        if (!ot_close(y, yd, ny, 1e-5, 1e-5))
            fail_msg("linear case %zu", c);
        free(x);
        free(w);
        free(b);
        free(y);
        free(xd);
        free(wd);
        free(bd);
        free(yd);
    }
}

struct mm_fd {
    const struct mm_case *t;
    double *a, *b, *r, *y;
    size_t ny;
};

/* sum(matmul(a, b) * r); a and b are read from the context (one is being perturbed). */
static double mm_dot(const double *v, void *vctx)
{
    (void)v;
    struct mm_fd *c = vctx;
    cg_ref_matmul(c->a, c->t->ra, c->t->as, c->b, c->t->rb, c->t->bs, c->y);
    double s = 0;
    for (size_t i = 0; i < c->ny; i++)
        s += c->y[i] * c->r[i];
    return s;
}

/* Gradients through autodiff (matmul of transposes, sum_to over broadcast batches, 1-D
 * unsqueezes) vs finite differences of the reference. */
static void test_matmul_grad(void **state)
{
    (void)state;
    for (size_t c = 0; c < CG_ARRAY_LEN(mm_cases); c++) {
        const struct mm_case *t = &mm_cases[c];
        int64_t ys[8];
        int ry = cg_ref_matmul_shape(t->ra, t->as, t->rb, t->bs, ys);
        size_t na = numel(t->ra, t->as), nb = numel(t->rb, t->bs), ny = numel(ry, ys);
        float *a = malloc(na * 4), *b = malloc(nb * 4), *r = malloc(ny * 4), *g[2] = {0};
        ot_fill(a, na, (int)c, 0);
        ot_fill(b, nb, (int)c + 50, 0);
        ot_fill(r, ny, (int)c + 90, 0);
        char sa[64], sb[64], sy[64], text[384];
        shape_str(t->ra, t->as, sa, sizeof sa);
        shape_str(t->rb, t->bs, sb, sizeof sb);
        shape_str(ry, ys, sy, sizeof sy);
        snprintf(text, sizeof text, "input a : f32%s\ninput b : f32%s\ninput r : f32%s\n"
                 "loss = sum(matmul(a, b) * r)\n", sa, sb, sy);
        struct ot_feed in[] = {{"a", a, NULL, na}, {"b", b, NULL, nb}, {"r", r, NULL, ny}};
        const char *wrt[] = {"a", "b"};
        assert_int_equal(ot_run(text, in, 3, NULL, 0, NULL, "loss", wrt, 2, g), 0);
        struct mm_fd ctx = {t, ot_to_double(a, na), ot_to_double(b, nb), ot_to_double(r, ny),
                            malloc(ny * 8), ny};
        double *ga = malloc(na * 8), *gb = malloc(nb * 8);
        ot_fd_grad(mm_dot, &ctx, ctx.a, na, 1e-4, ga);
        ot_fd_grad(mm_dot, &ctx, ctx.b, nb, 1e-4, gb);
        if (!ot_close(g[0], ga, na, 1e-4, 1e-4) || !ot_close(g[1], gb, nb, 1e-4, 1e-4))
            fail_msg("matmul gradient case %zu: %s @ %s", c, sa, sb);
        free(a);
        free(b);
        free(r);
        free(g[0]);
        free(g[1]);
        free(ctx.a);
        free(ctx.b);
        free(ctx.r);
        free(ctx.y);
        free(ga);
        free(gb);
    }
}

/* The self-check passes on the test device, and its verdict is cached (the second call is
 * immediate and agrees). */
static void test_self_check(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_device *dev = ot_device();
    assert_non_null(dev);
    int s0 = -1, s1 = -1;
    if (cg_gemm_self_check(dev, &s0, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(cg_gemm_self_check(dev, &s1, &e), CG_OK);
    assert_int_equal(s0, s1);
    printf("GEMM self-check: zero-stride strided batches %s\n", s0 ? "work" : "fall back");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_check),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_matmul_grad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
