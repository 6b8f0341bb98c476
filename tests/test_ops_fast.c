/* test_ops_fast.c: the fast paths of the lowering (bench/README.md, performance section) on the
 * test device against the double references of src/ops/ref.c. The direct convolution kernel
 * (conv_direct of cl/conv.cl) replaces im2col + GEMM for conv2d and stride-1 conv_transpose2d;
 * CLGRAPH_CONV=direct|gemm forces either path, so every case runs through both. Cases: widths
 * that are not multiples of the kernel's 8-wide output vectors, output channel blocks of 8, 4,
 * 2 and 1, groups, depthwise (SSIM-like 7x7 valid), stride 2, dilation, padding larger than the
 * kernel, bias or not, a batch of several images. conv2d_grad_w (conv_grad_w_direct + batch_sum
 * vs im2col + GEMM) is checked on the same cases against a direct double sum. The GEMM kernels
 * of cl/gemm.cl (CLGRAPH_GEMM=own|clblast) through matmul and linear at odd sizes. */
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
    {19, 2, 6, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    /* grad_w: 2 images per chunk, 1 left */
};

static int64_t conv_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
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

static void run_conv2d(const struct conv_case *t, size_t k, const char *path)
{
    int64_t oh = conv_out(t->h, t->kh, t->sh, t->ph, t->dh);
    int64_t ow = conv_out(t->w, t->kw, t->sw, t->pw, t->dw);
    int64_t xs[4] = {t->n, t->c, t->h, t->w}, ws[4] = {t->o, t->c / t->groups, t->kh, t->kw};
    size_t nx = (size_t)(t->n * t->c * t->h * t->w), nw = (size_t)(ws[0] * ws[1] * ws[2] * ws[3]);
    size_t ny = (size_t)(t->n * t->o * oh * ow);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)t->o * 4),
          *gy = malloc(ny * 4), *out[2] = {NULL, NULL};
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
             t->bias ? ", b" : "", (long long)t->sh, (long long)t->sw,
             (long long)t->ph, (long long)t->pw, (long long)t->dh, (long long)t->dw,
             (long long)t->groups, (long long)t->kh, (long long)t->kw, (long long)t->sh,
             (long long)t->sw, (long long)t->ph, (long long)t->pw, (long long)t->dh,
             (long long)t->dw, (long long)t->groups);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"w", w, NULL, nw}, {"b", b, NULL, (size_t)t->o},
                           {"gy", gy, NULL, ny}};
    const char *fetch[] = {"y", "gw"};
    assert_int_equal(ot_run(text, in, 4, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    double *xd = ot_to_double(x, nx), *wd = ot_to_double(w, nw), *bd = ot_to_double(b, (size_t)t->o);
    double *yd = malloc(ny * 8), *gyd = ot_to_double(gy, ny), *gwd = malloc(nw * 8);
    cg_ref_conv2d(xd, xs, wd, ws, t->bias ? bd : NULL, t->sh, t->sw, t->ph, t->pw, t->dh, t->dw,
                  t->groups, yd);
    if (!ot_close(out[0], yd, ny, 1e-4, 1e-5))
        fail_msg("conv2d case %zu (%s)", k, path);
    grad_w_ref(t, xd, gyd, gwd);
    if (!ot_close(out[1], gwd, nw, 1e-4, 1e-4))
        fail_msg("conv2d_grad_w case %zu (%s)", k, path);
    free(x);
    free(w);
    free(b);
    free(gy);
    free(gyd);
    free(gwd);
    free(out[0]);
    free(out[1]);
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
    double *xd = ot_to_double(x, nx), *wd = ot_to_double(w, nw), *bd = ot_to_double(b, (size_t)t->o);
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

/* matmul (gemm_nn, batch strides, a shared right operand folded into m) and linear (gemm_nt,
 * k not a multiple of 8) at odd sizes, against double sums. */
struct mm_case {
    int64_t batch, m, n, k;
    int shared_b;
};

static const struct mm_case mm_cases[] = {
    {1, 13, 17, 29, 0}, {3, 5, 9, 7, 0}, {2, 33, 41, 65, 0}, {4, 6, 11, 3, 1}, {1, 1, 1, 1, 0},
    {2, 64, 8, 16, 0},
};

static void run_gemm_case(const struct mm_case *t, size_t k, const char *path)
{
    size_t na = (size_t)(t->batch * t->m * t->k), nb = (size_t)((t->shared_b ? 1 : t->batch) *
                                                                 t->k * t->n);
    size_t nc = (size_t)(t->batch * t->m * t->n), nw = (size_t)(t->n * t->k);
    float *a = malloc(na * 4), *b = malloc(nb * 4), *w = malloc(nw * 4), *bias = malloc(
        (size_t)t->n * 4), *out[2] = {NULL, NULL};
    ot_fill(a, na, 11, 0);
    ot_fill(b, nb, 12, 0);
    ot_fill(w, nw, 13, 0);
    ot_fill(bias, (size_t)t->n, 14, 0);
    char text[1024], bshape[64];
    if (t->shared_b)
        snprintf(bshape, sizeof bshape, "%lld, %lld", (long long)t->k, (long long)t->n);
    else
        snprintf(bshape, sizeof bshape, "%lld, %lld, %lld", (long long)t->batch,
                 (long long)t->k, (long long)t->n);
    snprintf(text, sizeof text,
             "input a : f32[%lld, %lld, %lld]\ninput b : f32[%s]\ninput w : f32[%lld, %lld]\n"
             "input bias : f32[%lld]\ny = matmul(a, b)\nz = linear(a, w, bias)\n",
             (long long)t->batch, (long long)t->m, (long long)t->k, bshape, (long long)t->n,
             (long long)t->k, (long long)t->n);
    struct ot_feed in[] = {{"a", a, NULL, na}, {"b", b, NULL, nb}, {"w", w, NULL, nw},
                           {"bias", bias, NULL, (size_t)t->n}};
    const char *fetch[] = {"y", "z"};
    assert_int_equal(ot_run(text, in, 4, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    double *yd = malloc(nc * 8), *zd = malloc(nc * 8);
    for (int64_t bi = 0; bi < t->batch; bi++)
        for (int64_t i = 0; i < t->m; i++)
            for (int64_t j = 0; j < t->n; j++) {
                double sy = 0, sz = bias[j];
                for (int64_t p = 0; p < t->k; p++) {
                    double av = a[(bi * t->m + i) * t->k + p];
                    sy += av * b[((t->shared_b ? 0 : bi) * t->k + p) * t->n + j];
                    sz += av * w[j * t->k + p];
                }
                yd[(bi * t->m + i) * t->n + j] = sy;
                zd[(bi * t->m + i) * t->n + j] = sz;
            }
    if (!ot_close(out[0], yd, nc, 1e-4, 1e-5) || !ot_close(out[1], zd, nc, 1e-4, 1e-5))
        fail_msg("gemm case %zu (%s)", k, path);
    free(a);
    free(b);
    free(w);
    free(bias);
    free(out[0]);
    free(out[1]);
    free(yd);
    free(zd);
}

static void test_gemm_paths(void **state)
{
    (void)state;
    static const char *gp[] = {"own", "clblast"};
    for (size_t p = 0; p < 2; p++) {
        setenv("CLGRAPH_GEMM", gp[p], 1);
        for (size_t k = 0; k < CG_ARRAY_LEN(mm_cases); k++)
            run_gemm_case(&mm_cases[k], k, gp[p]);
    }
    unsetenv("CLGRAPH_GEMM");
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
        cmocka_unit_test(test_gemm_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
