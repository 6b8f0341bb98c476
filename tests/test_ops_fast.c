/* test_ops_fast.c: the fast paths of the lowering (bench/README.md, performance section) on the
 * test device against the double references of src/ops/ref.c. The direct convolution kernel
 * (conv_direct of cl/conv.cl) replaces im2col + GEMM for conv2d and stride-1 conv_transpose2d;
 * CLGRAPH_CONV=direct|gemm forces either path, so every case runs through both. Cases: widths
 * that are not multiples of the kernel's 8-wide output vectors, output channel blocks of 8, 4,
 * 2 and 1, groups, depthwise (SSIM-like 7x7 valid), stride 2, dilation, padding larger than the
 * kernel, bias or not, a batch of several images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

struct conv_case {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int bias;
};

static const struct conv_case cases[] = {
    {2, 3, 13, 11, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  /* ocb 8, ow 11 */
    {3, 5, 9, 17, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0},   /* ocb 4 */
    {2, 4, 7, 9, 6, 3, 2, 1, 1, 0, 1, 1, 1, 2, 1},     /* groups, ocb 1 per group of 3 */
    {2, 3, 28, 28, 3, 7, 7, 1, 1, 0, 0, 1, 1, 3, 0},   /* depthwise 7x7 valid (SSIM) */
    {2, 2, 15, 16, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   /* stride 2 */
    {1, 4, 12, 13, 2, 3, 3, 1, 1, 2, 3, 2, 2, 2, 1},   /* dilation, pad > kernel reach */
    {1, 6, 5, 5, 6, 3, 3, 1, 1, 4, 4, 1, 1, 1, 1},     /* pad 4 > k - 1 */
    {2, 8, 6, 30, 32, 1, 3, 1, 1, 0, 1, 1, 1, 1, 1},   /* 1x3, ocb 8, 4 x-blocks */
};

static double *to_double(const float *f, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static int64_t conv_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

static void run_conv2d(const struct conv_case *t, size_t k, const char *path)
{
    int64_t oh = conv_out(t->h, t->kh, t->sh, t->ph, t->dh);
    int64_t ow = conv_out(t->w, t->kw, t->sw, t->pw, t->dw);
    int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->o, t->c / t->groups, t->kh, t->kw};
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]);
    size_t ny = (size_t)(t->n * t->o * oh * ow);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->o * 4), *y = NULL;
    ot_fill(x, nx, 1, 0);
    ot_fill(w, nw, 2, 0);
    ot_fill(b, (size_t)t->o, 3, 0);
    char text[1024];
    snprintf(text, sizeof text,
             "input x : f32[%lld, %lld, %lld, %lld]\ninput w : f32[%lld, %lld, %lld, %lld]\n"
             "input b : f32[%lld]\n"
             "y = conv2d(x, w%s, stride=[%lld, %lld], pad=[%lld, %lld], dilation=[%lld, %lld], "
             "groups=%lld)\n",
             (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w,
             (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
             (long long)t->o, t->bias ? ", b" : "", (long long)t->sh, (long long)t->sw,
             (long long)t->ph, (long long)t->pw, (long long)t->dh, (long long)t->dw,
             (long long)t->groups);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw}, {"b", b, NULL, (size_t)t->o}};
    const char *fetch[] = {"y"};
    assert_int_equal(ot_run(text, in, 3, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)t->o);
    double *yd = malloc(ny * 8);
    cg_ref_conv2d(xd, xs, wd, ws, t->bias ? bd : NULL, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw,
                  t->groups, yd);
    if (!ot_close(y, yd, ny, 1e-4, 1e-5))
        fail_msg("conv2d case %zu (%s)", k, path);
    free(x);
    free(w);
    free(b);
    free(y);
    free(xd);
    free(wd);
    free(bd);
    free(yd);
}

/* conv_transpose2d with stride 1 (the direct path; output_pad 0) */
static void run_conv_transpose2d(const struct conv_case *t, size_t k, const char *path)
{
    int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->c, t->o / t->groups, t->kh, t->kw};
    int64_t oh = (t->h - 1) - 2 * t->ph + t->dh * (t->kh - 1) + 1;
    int64_t ow = (t->w - 1) - 2 * t->pw + t->dw * (t->kw - 1) + 1;
    if (oh < 1 || ow < 1)
        return;
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]);
    size_t ny = (size_t)(t->n * t->o * oh * ow);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->o * 4), *y = NULL;
    ot_fill(x, nx, 5, 0);
    ot_fill(w, nw, 6, 0);
    ot_fill(b, (size_t)t->o, 7, 0);
    char text[1024];
    snprintf(text, sizeof text,
             "input x : f32[%lld, %lld, %lld, %lld]\ninput w : f32[%lld, %lld, %lld, %lld]\n"
             "input b : f32[%lld]\n"
             "y = conv_transpose2d(x, w%s, stride=[1, 1], pad=[%lld, %lld], "
             "output_pad=[0, 0], groups=%lld, dilation=[%lld, %lld])\n",
             (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w,
             (long long)ws[0], (long long)ws[1], (long long)ws[2], (long long)ws[3],
             (long long)t->o, t->bias ? ", b" : "", (long long)t->ph, (long long)t->pw,
             (long long)t->groups, (long long)t->dh, (long long)t->dw);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw}, {"b", b, NULL, (size_t)t->o}};
    const char *fetch[] = {"y"};
    assert_int_equal(ot_run(text, in, 3, fetch, 1, &y, NULL, NULL, 0, NULL), 0);
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, (size_t)t->o);
    double *yd = malloc(ny * 8);
    cg_ref_conv_transpose2d(xd, xs, wd, ws, t->bias ? bd : NULL, 1, 1, t->ph, t->pw, 0, 0, t->dh,
                            t->dw, t->groups, yd);
    if (!ot_close(y, yd, ny, 1e-4, 1e-5))
        fail_msg("conv_transpose2d case %zu (%s)", k, path);
    free(x);
    free(w);
    free(b);
    free(y);
    free(xd);
    free(wd);
    free(bd);
    free(yd);
}

static const char *paths[] = {"direct", "gemm"};

static void test_conv2d_paths(void **state)
{
    (void)state;
    for (size_t p = 0; p < 2; p++) {
        setenv("CLGRAPH_CONV", paths[p], 1);
        for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++)
            run_conv2d(&cases[k], k, paths[p]);
    }
    unsetenv("CLGRAPH_CONV");
}

static void test_conv_transpose2d_paths(void **state)
{
    (void)state;
    for (size_t p = 0; p < 2; p++) {
        setenv("CLGRAPH_CONV", paths[p], 1);
        for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++)
            run_conv_transpose2d(&cases[k], k, paths[p]);
    }
    unsetenv("CLGRAPH_CONV");
}

int main(void)
{
    (void)ot_fd_grad; /* op_test.h's helper, unused here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_paths),
        cmocka_unit_test(test_conv_transpose2d_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
