/* test_ops_conv.c: conv2d, conv_transpose2d and the internal conv2d_grad_w on the test device
 * against the double references of src/ops/ref.c (forward) and finite differences of
 * cg_ref_conv2d (weight gradient). Table-driven: odd sides, non-square kernels, stride, padding,
 * dilation, groups, output_pad, 1x1 convs (no im2col), with and without bias; one case large
 * enough to be processed in two batch chunks; gradients of x, w, b through autodiff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

struct conv_case {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, oph, opw;
    int bias;
};

static const struct conv_case cases[] = {
    {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0},
    {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},
    {2, 3, 9, 8, 5, 2, 3, 2, 1, 1, 0, 1, 1, 1, 1, 0, 1},
    {1, 4, 9, 9, 6, 3, 3, 2, 2, 1, 1, 2, 2, 2, 1, 1, 1},
    {3, 6, 5, 7, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2, 0, 0, 1},
    {2, 4, 6, 5, 8, 3, 2, 1, 2, 2, 1, 1, 2, 4, 0, 1, 0},
    {2, 2, 8, 8, 3, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 1, 1},
    {1, 5, 6, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 0, 0, 1},
};

static int64_t conv_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

struct fd_ctx {
    const struct conv_case *t;
    const double *x, *gy;
    double *y;
    size_t ny;
};

/* sum(conv2d(x, w) * gy) as a function of w: its gradient is conv2d_grad_w(x, gy). */
static double conv_dot(const double *w, void *vctx)
{
    struct fd_ctx *c = vctx;
    const struct conv_case *t = c->t;
    int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->o, t->c / t->groups, t->kh, t->kw};
    cg_ref_conv2d(c->x, xs, w, ws, NULL, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw, t->groups,
                  c->y);
    double s = 0;
    for (size_t i = 0; i < c->ny; i++)
        s += c->y[i] * c->gy[i];
    return s;
}

/* The weight gradient by the double reference of src/ops/ref.c. */
static void grad_w_ref(const struct conv_case *t, const double *x, const double *gy, double *gw)
{
    int64_t xs[4] = {t->n, t->c, t->h, t->w};
    int64_t gys[4] = {t->n, t->o, conv_out(t->h, t->kh, t->sh, t->ph, t->dh),
                      conv_out(t->w, t->kw, t->sw, t->pw, t->dw)};
    cg_ref_conv2d_grad_w(x, xs, gy, gys, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw,
                         t->groups, gw);
}

/* fd: finite differences for the weight gradient, else the direct sum; gtol: its absolute
 * tolerance (sums over many terms in float32 lose more). */
static void run_conv2d(const struct conv_case *t, int fd, double gtol)
{
    int64_t oh = conv_out(t->h, t->kh, t->sh, t->ph, t->dh);
    int64_t ow = conv_out(t->w, t->kw, t->sw, t->pw, t->dw);
    int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->o, t->c / t->groups, t->kh, t->kw};
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]);
    size_t ny = (size_t)(t->n * t->o * oh * ow);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->o * 4),
          *gy = malloc(ny * 4);
    ot_fill(x, nx, 1, 0);
    ot_fill(w, nw, 2, 0);
    ot_fill(b, (size_t)t->o, 3, 0);
    ot_fill(gy, ny, 4, 0);
    char text[1024];
    snprintf(text, sizeof text,
             "input x : f32[%lld, %lld, %lld, %lld]\ninput w : f32[%lld, %lld, %lld, %lld]\n"
             "input b : f32[%lld]\ninput gy : f32[%lld, %lld, %lld, %lld]\n"
             "y = conv2d(x, w%s, stride=[%lld, %lld], pad=[%lld, %lld], dilation=[%lld, %lld], "
             "groups=%lld)\n"
             "gw = conv2d_grad_w(x, gy, kh=%lld, kw=%lld, stride=[%lld, %lld], pad=[%lld, %lld], "
             "dilation=[%lld, %lld], groups=%lld)\n",
             (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w,
             (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
             (long long)t->o, (long long)t->n, (long long)t->o, (long long)oh, (long long)ow,
             t->bias ? ", b" : "", (long long)t->sh, (long long)t->sw, (long long)t->ph,
             (long long)t->pw, (long long)t->dh, (long long)t->dw, (long long)t->groups,
             (long long)t->kh, (long long)t->kw, (long long)t->sh, (long long)t->sw,
             (long long)t->ph, (long long)t->pw, (long long)t->dh, (long long)t->dw,
             (long long)t->groups);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw}, {"b", b, NULL, (size_t)t->o},
                           {"gy", gy, NULL, ny}};
    const char *fetch[] = {"y", "gw"};
    float *out[2] = {NULL, NULL};
    assert_int_equal(ot_run(text, in, 4, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    double *xd = ot_to_double(x, nx), *wd = ot_to_double(w, nw), *bd = ot_to_double(b, (size_t)t->o);
    double *gyd = ot_to_double(gy, ny), *yd = malloc(ny * 8), *gwd = malloc(nw * 8);
    cg_ref_conv2d(xd, xs, wd, ws, t->bias ? bd : NULL, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw,
                  t->groups, yd);
    assert_true(ot_close(out[0], yd, ny, 1e-4, 1e-5));
    if (fd) {
        struct fd_ctx c = {t, xd, gyd, yd, ny};
        ot_fd_grad(conv_dot, &c, wd, nw, 1e-3, gwd);
    } else {
        grad_w_ref(t, xd, gyd, gwd);
    }
    assert_true(ot_close(out[1], gwd, nw, 1e-4, gtol));
    free(out[0]);
    free(out[1]);
    free(x);
    free(w);
    free(b);
    free(gy);
    free(xd);
    free(wd);
    free(bd);
    free(gyd);
    free(yd);
    free(gwd);
}

static void test_conv2d(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
        run_conv2d(&cases[i], 1, 1e-4);
}

/* im2col of one image is 576 x 4096 floats: the batch of 8 is processed in two chunks. The
 * weight gradient sums 32768 products of magnitude ~1 in float32 (CLBlast accumulates in
 * order): absolute errors near 1e-2 are roundoff. */
static void test_conv2d_chunked(void **state)
{
    (void)state;
    const struct conv_case big = {8, 64, 64, 64, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1};
    run_conv2d(&big, 0, 3e-2);
}

static void test_conv_transpose2d(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++) {
        const struct conv_case *t = &cases[k];
        /* x has c channels; w is [c, o/groups, kh, kw]; y has o channels */
        int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->c, t->o / t->groups, t->kh, t->kw};
        int64_t oh = (t->h - 1) * t->sh - 2 * t->ph + t->dh * (t->kh - 1) + t->oph + 1;
        int64_t ow = (t->w - 1) * t->sw - 2 * t->pw + t->dw * (t->kw - 1) + t->opw + 1;
        size_t nx = (size_t)(t->n * t->c * t->h * t->w),
               nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]), ny = (size_t)(t->n * t->o * oh * ow);
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->o * 4), *y = NULL;
        ot_fill(x, nx, 5, 0);
        ot_fill(w, nw, 6, 0);
        ot_fill(b, (size_t)t->o, 7, 0);
        char text[1024];
        snprintf(text, sizeof text,
                 "input x : f32[%lld, %lld, %lld, %lld]\ninput w : f32[%lld, %lld, %lld, %lld]\n"
                 "input b : f32[%lld]\n"
                 "y = conv_transpose2d(x, w%s, stride=[%lld, %lld], pad=[%lld, %lld], "
                 "output_pad=[%lld, %lld], groups=%lld, dilation=[%lld, %lld])\n",
                 (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w,
                 (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
                 (long long)t->o, t->bias ? ", b" : "", (long long)t->sh, (long long)t->sw,
                 (long long)t->ph, (long long)t->pw, (long long)t->oph, (long long)t->opw,
                 (long long)t->groups, (long long)t->dh, (long long)t->dw);
        struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw},
                               {"b", b, NULL, (size_t)t->o}};
        const char *fetch[] = {"y"};
        assert_int_equal(ot_run(text, in, 3, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
        double *xd = ot_to_double(x, nx), *wd = ot_to_double(w, nw), *bd = ot_to_double(b, (size_t)t->o);
        double *yd = malloc(ny * 8);
        cg_ref_conv_transpose2d(xd, xs, wd, ws, t->bias ? bd : NULL, t->sh, t->sw, t->ph, t->pw,
                                t->oph, t->opw, t->dh, t->dw, t->groups, yd);
        if (!ot_close(y, yd, ny, 1e-4, 1e-5))
            fail_msg("conv_transpose2d case %zu", k);
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

struct ad_ctx {
    const struct conv_case *t;
    int transpose;
    double *x, *w, *b, *r, *y;
    size_t ny;
};

/* sum(conv(x, w, b) * r) with x, w, b from the context (one is being perturbed). */
static double ad_dot(const double *v, void *vctx)
{
    (void)v;
    struct ad_ctx *c = vctx;
    const struct conv_case *t = c->t;
    int64_t xs[4] = {t->n, t->c, t->h, t->w};
    if (c->transpose) {
        int64_t ws[4] = {t->c, t->o / t->groups, t->kh, t->kw};
        cg_ref_conv_transpose2d(c->x, xs, c->w, ws, c->b, t->sh, t->sw, t->ph, t->pw, t->oph,
                                t->opw, t->dh, t->dw, t->groups, c->y);
    } else {
        int64_t ws[4] = {t->o, t->c / t->groups, t->kh, t->kw};
        cg_ref_conv2d(c->x, xs, c->w, ws, c->b, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw,
                      t->groups, c->y);
    }
    double s = 0;
    for (size_t i = 0; i < c->ny; i++)
        s += c->y[i] * c->r[i];
    return s;
}

/* Gradients of x, w and b through autodiff (conv_transpose2d / conv2d / conv2d_grad_w / sum)
 * vs finite differences of the reference, for conv2d and conv_transpose2d. */
static void test_conv_autodiff(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++)
        for (int tr = 0; tr < 2; tr++) {
            const struct conv_case *t = &cases[k];
            int64_t ws[4] = {tr ? t->c : t->o, (tr ? t->o : t->c) / t->groups, t->kh, t->kw};
            int64_t oh = tr ? (t->h - 1) * t->sh - 2 * t->ph + t->dh * (t->kh - 1) + t->oph + 1
                            : conv_out(t->h, t->kh, t->sh, t->ph, t->dh);
            int64_t ow = tr ? (t->w - 1) * t->sw - 2 * t->pw + t->dw * (t->kw - 1) + t->opw + 1
                            : conv_out(t->w, t->kw, t->sw, t->pw, t->dw);
            size_t nx = (size_t)(t->n * t->c * t->h * t->w),
                   nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]), nb = (size_t)t->o,
                   ny = (size_t)(t->n * t->o * oh * ow);
            float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(nb * 4),
                  *r = malloc(ny * 4), *g[3] = {0};
            ot_fill(x, nx, 11, 0);
            ot_fill(w, nw, 12, 0);
            ot_fill(b, nb, 13, 0);
            ot_fill(r, ny, 14, 0);
            char text[1024];
            snprintf(text, sizeof text,
                     "input x : f32[%lld, %lld, %lld, %lld]\n"
                     "input w : f32[%lld, %lld, %lld, %lld]\ninput b : f32[%lld]\n"
                     "input r : f32[%lld, %lld, %lld, %lld]\n"
                     "loss = sum(%s(x, w, b, stride=[%lld, %lld], pad=[%lld, %lld], "
                     "dilation=[%lld, %lld], groups=%lld) * r)\n",
                     (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w,
                     (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
                     (long long)t->o, (long long)t->n, (long long)t->o, (long long)oh,
                     (long long)ow, tr ? "conv_transpose2d" : "conv2d", (long long)t->sh,
                     (long long)t->sw, (long long)t->ph, (long long)t->pw, (long long)t->dh,
                     (long long)t->dw, (long long)t->groups);
            if (tr) { /* output_pad goes before the closing of the call */
                char *close = strstr(text, ") * r)");
                char tail[64];
                snprintf(tail, sizeof tail, ", output_pad=[%lld, %lld]) * r)\n",
                         (long long)t->oph, (long long)t->opw);
                snprintf(close, sizeof text - (size_t)(close - text), "%s", tail);
            }
            struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw}, {"b", b, NULL, nb},
                                   {"r", r, NULL, ny}};
            const char *wrt[] = {"x", "w", "b"};
            assert_int_equal(ot_run(text, in, 4, NULL, 0, NULL, "loss", wrt, 3, g), 0);
            struct ad_ctx c = {t, tr, ot_to_double(x, nx), ot_to_double(w, nw), ot_to_double(b, nb),
                               ot_to_double(r, ny), malloc(ny * 8), ny};
            double *gx = malloc(nx * 8), *gw = malloc(nw * 8), *gb = malloc(nb * 8);
            ot_fd_grad(ad_dot, &c, c.x, nx, 1e-3, gx);
            ot_fd_grad(ad_dot, &c, c.w, nw, 1e-3, gw);
            ot_fd_grad(ad_dot, &c, c.b, nb, 1e-3, gb);
            if (!ot_close(g[0], gx, nx, 1e-4, 1e-4) || !ot_close(g[1], gw, nw, 1e-4, 1e-4) ||
                !ot_close(g[2], gb, nb, 1e-4, 1e-4))
                fail_msg("%s case %zu gradients", tr ? "conv_transpose2d" : "conv2d", k);
            free(x);
            free(w);
            free(b);
            free(r);
            for (int i = 0; i < 3; i++)
                free(g[i]);
            free(c.x);
            free(c.w);
            free(c.b);
            free(c.r);
            free(c.y);
            free(gx);
            free(gw);
            free(gb);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_conv_transpose2d),
        cmocka_unit_test(test_conv2d_chunked),
        cmocka_unit_test(test_conv_autodiff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
