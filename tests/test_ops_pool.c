/* test_ops_pool.c: max_pool2d, avg_pool2d, upsample_nearest and the internal pooling gradients
 * (max_pool2d_grad, avg_pool2d_grad) on the test device, against the double references of
 * src/ops/ref.c (forward) and central finite differences of them (gradients). Table-driven:
 * odd sides, non-square windows, strides and padding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

struct pool_case {
    int64_t n, c, h, w, kh, kw, sh, sw, ph, pw;
};

static const struct pool_case cases[] = {
    {1, 1, 4, 4, 2, 2, 2, 2, 0, 0},  {2, 3, 7, 7, 3, 3, 2, 2, 1, 1}, {1, 2, 5, 9, 2, 3, 1, 2, 1, 1},
    {2, 1, 8, 6, 3, 2, 3, 1, 0, 1},  {1, 3, 6, 6, 2, 2, 2, 2, 1, 1}, {1, 1, 9, 5, 4, 4, 1, 1, 2, 2},
};

static int64_t out_side(int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k) / s + 1; }

static void graph_text(const struct pool_case *t, const char *line, char *buf, size_t n)
{
    int64_t oh = out_side(t->h, t->kh, t->sh, t->ph), ow = out_side(t->w, t->kw, t->sw, t->pw);
    snprintf(buf, n,
             "input x : f32[%lld, %lld, %lld, %lld]\ninput gy : f32[%lld, %lld, %lld, %lld]\n%s\n",
             (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w, (long long)t->n,
             (long long)t->c, (long long)oh, (long long)ow, line);
}

struct fd_ctx {
    const struct pool_case *t;
    int max;
    const double *gy;
    double *y;
};

/* sum(pool(x) * gy): its gradient in x is the pooling gradient of gy. */
static double pool_dot(const double *x, void *vctx)
{
    struct fd_ctx *c = vctx;
    const struct pool_case *t = c->t;
    int64_t xs[4] = {t->n, t->c, t->h, t->w};
    if (c->max)
        cg_ref_max_pool2d(x, xs, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw, c->y);
    else
        cg_ref_avg_pool2d(x, xs, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw, c->y);
    int64_t m = t->n * t->c * out_side(t->h, t->kh, t->sh, t->ph) *
                out_side(t->w, t->kw, t->sw, t->pw);
    double s = 0;
    for (int64_t i = 0; i < m; i++)
        s += c->y[i] * c->gy[i];
    return s;
}

static void run_case(const struct pool_case *t, int max)
{
    int64_t xs[4] = {t->n, t->c, t->h, t->w};
    int64_t oh = out_side(t->h, t->kh, t->sh, t->ph), ow = out_side(t->w, t->kw, t->sw, t->pw);
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), ny = (size_t)(t->n * t->c * oh * ow);
    float *x = malloc(nx * 4), *gy = malloc(ny * 4);
    double *xd = malloc(nx * 8), *gyd = malloc(ny * 8), *yd = malloc(ny * 8), *gd = malloc(nx * 8);
    ot_fill(x, nx, 1, 0);
    ot_fill(gy, ny, 2, 0);
    for (size_t i = 0; i < nx; i++)
        xd[i] = x[i];
    for (size_t i = 0; i < ny; i++)
        gyd[i] = gy[i];
    char line[256], text[512];
    snprintf(line, sizeof line,
             "y = %s(x, [%lld, %lld], stride=[%lld, %lld], pad=[%lld, %lld])\n"
             "gx = %s(%s, k=[%lld, %lld], stride=[%lld, %lld], pad=[%lld, %lld])",
             max ? "max_pool2d" : "avg_pool2d", (long long)t->kh, (long long)t->kw,
             (long long)t->sh, (long long)t->sw, (long long)t->ph, (long long)t->pw,
             max ? "max_pool2d_grad" : "avg_pool2d_grad", max ? "x, gy" : "gy, x",
             (long long)t->kh, (long long)t->kw, (long long)t->sh, (long long)t->sw,
             (long long)t->ph, (long long)t->pw);
    graph_text(t, line, text, sizeof text);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"gy", gy, NULL, ny}};
    const char *fetch[] = {"y", "gx"};
    float *out[2] = {NULL, NULL};
    assert_int_equal(ot_run(text, in, 2, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    if (max)
        cg_ref_max_pool2d(xd, xs, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw, yd);
    else
        cg_ref_avg_pool2d(xd, xs, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw, yd);
    assert_true(ot_close(out[0], yd, ny, 1e-5, 1e-6));
    struct fd_ctx c = {t, max, gyd, yd};
    ot_fd_grad(pool_dot, &c, xd, nx, 1e-4, gd);
    assert_true(ot_close(out[1], gd, nx, 1e-4, 1e-5));
    free(out[0]);
    free(out[1]);
    free(x);
    free(gy);
    free(xd);
    free(gyd);
    free(yd);
    free(gd);
}

static void test_max_pool(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
        run_case(&cases[i], 1);
}

static void test_avg_pool(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
        run_case(&cases[i], 0);
}

/* Ties: the gradient goes to the first maximum of each window only (PyTorch). */
static void test_max_pool_ties(void **state)
{
    (void)state;
    float x[16] = {1, 1, 0, 2, 1, 1, 2, 2, 3, 0, 5, 5, 0, 3, 5, 5};
    float gy[4] = {1, 2, 3, 4};
    const float want[16] = {1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    struct ot_feed in[] = {{"x", x, NULL, 16}, {"gy", gy, NULL, 4}};
    const char *fetch[] = {"gx"};
    float *out = NULL;
    assert_int_equal(ot_run("input x : f32[1, 1, 4, 4]\ninput gy : f32[1, 1, 2, 2]\n"
                            "gx = max_pool2d_grad(x, gy, k=2)\n",
                            in, 2, fetch, 1, &out, NULL, NULL, 0, NULL), 0);
    for (int i = 0; i < 16; i++)
        assert_float_equal(out[i], want[i], 0);
    free(out);
}

static void test_upsample(void **state)
{
    (void)state;
    static const int64_t shapes[][5] = {{1, 1, 2, 3, 2}, {2, 3, 5, 4, 3}, {1, 2, 3, 3, 1}};
    for (size_t k = 0; k < CG_ARRAY_LEN(shapes); k++) {
        const int64_t *s = shapes[k];
        size_t nx = (size_t)(s[0] * s[1] * s[2] * s[3]), ny = nx * (size_t)(s[4] * s[4]);
        float *x = malloc(nx * 4), *y = NULL;
        double *xd = malloc(nx * 8), *yd = malloc(ny * 8);
        ot_fill(x, nx, 3, 0);
        for (size_t i = 0; i < nx; i++)
            xd[i] = x[i];
        char text[256];
        snprintf(text, sizeof text, "input x : f32[%lld, %lld, %lld, %lld]\n"
                 "y = upsample_nearest(x, %lld)\n", (long long)s[0], (long long)s[1],
                 (long long)s[2], (long long)s[3], (long long)s[4]);
        struct ot_feed in[] = {{"x", x, NULL, nx}};
        const char *fetch[] = {"y"};
        assert_int_equal(ot_run(text, in, 1, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
        cg_ref_upsample_nearest(xd, s, s[4], yd);
        assert_true(ot_close(y, yd, ny, 0, 0));
        free(y);
        free(x);
        free(xd);
        free(yd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_pool),
        cmocka_unit_test(test_avg_pool),
        cmocka_unit_test(test_max_pool_ties),
        cmocka_unit_test(test_upsample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
