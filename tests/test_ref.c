/* test_ref.c: the C reference ops (src/ops/ref.c) against PyTorch and against hand-checked
 * tiny cases.
 *
 * The torch values live in ref_fixtures/ref_expected.h, written by ref_fixtures/gen_ref.py
 * (torch float64); this test rebuilds the same inputs from the same formula (see fill() and the
 * script's docstring), so CI needs no torch. Tolerance: 1e-10 relative (scale max(|e|, 1e-2))
 * for most ops, 1e-8 for the SSIM family, exact for indices and copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ops/ref.h"
#include "ref_fixtures/ref_expected.h"

#define TOL 1e-10
#define TOL_SSIM 1e-8
#define BUF 8192

static double A[BUF], B[BUF], C3[BUF], Y[BUF];
static int32_t I[BUF];

/* The inputs of gen_ref.py: scale * v(i, seed) + shift. */
static double v(int64_t i, int seed)
{
    return sin(0.37 * (double)i + 1.7 * (double)seed) +
           0.3 * cos(1.1 * (double)i + 0.5 * (double)seed);
}

static double *fill(double *buf, int64_t n, int seed, double scale, double shift)
{
    assert_true(n <= BUF);
    for (int64_t i = 0; i < n; i++)
        buf[i] = scale * v(i, seed) + shift;
    return buf;
}

static int32_t *fill_int(int32_t *buf, int64_t n, int64_t a, int64_t b, int64_t m)
{
    for (int64_t i = 0; i < n; i++)
        buf[i] = (int32_t)((a * i + b) % m);
    return buf;
}

static int64_t numel(int rank, const int64_t *s)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= s[i];
    return n;
}

static void check_close(const char *name, const double *e, size_t ne, const double *got,
                        int64_t n, double tol)
{
    if ((size_t)n != ne)
        fail_msg("%s: %lld values, torch has %zu", name, (long long)n, ne);
    for (int64_t i = 0; i < n; i++) {
        double scale = fmax(fabs(e[i]), 1e-2);
        if (!(fabs(got[i] - e[i]) <= tol * scale))
            fail_msg("%s[%lld]: got %.17g, torch %.17g (diff %.3g)", name, (long long)i, got[i],
                     e[i], got[i] - e[i]);
    }
}

#define EXP(name) ref_##name, CG_ARRAY_LEN(ref_##name)
#define CHECK(name, got, n, tol) check_close(#name, EXP(name), got, n, tol)

struct expect {
    const char *name;
    const double *e;
    size_t n;
};
#define E(name) {#name, EXP(name)}

/* ---- against torch ------------------------------------------------------------------------- */

static void test_unary(void **state)
{
    (void)state;
    const double *x = fill(A, 37, 1, 2.0, 0.0), *xp = fill(B, 37, 1, 1.0, 1.5);
    const struct {
        enum cg_op_id op;
        int positive;
        double p0, p1;
        struct expect e;
    } cases[] = {
        {CG_OP_neg, 0, 0, 0, E(neg)},
        {CG_OP_exp, 0, 0, 0, E(exp)},
        {CG_OP_log, 1, 0, 0, E(log)},
        {CG_OP_sqrt, 1, 0, 0, E(sqrt)},
        {CG_OP_rsqrt, 1, 0, 0, E(rsqrt)},
        {CG_OP_abs, 0, 0, 0, E(abs)},
        {CG_OP_square, 0, 0, 0, E(square)},
        {CG_OP_pow, 0, 3.0, 0, E(pow3)},
        {CG_OP_pow, 1, -1.5, 0, E(pow_m15)},
        {CG_OP_relu, 0, 0, 0, E(relu)},
        {CG_OP_leaky_relu, 0, 0.01, 0, E(leaky_relu)},
        {CG_OP_leaky_relu, 0, 0.2, 0, E(leaky_relu02)},
        {CG_OP_sigmoid, 0, 0, 0, E(sigmoid)},
        {CG_OP_tanh, 0, 0, 0, E(tanh)},
        {CG_OP_softplus, 0, 1.0, 20.0, E(softplus)},
        {CG_OP_softplus, 0, 2.0, 1.5, E(softplus_b2_t15)},
        {CG_OP_clamp, 0, -0.5, 0.7, E(clamp)},
    };
    for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++) {
        cg_ref_unary(cases[k].op, cases[k].positive ? xp : x, 37, cases[k].p0, cases[k].p1, Y);
        check_close(cases[k].e.name, cases[k].e.e, cases[k].e.n, Y, 37, TOL);
    }
}

static void test_binary(void **state)
{
    (void)state;
    static const struct {
        int ra, rb;
        int64_t as[4], bs[4];
    } shapes[] = {
        {3, 3, {2, 3, 4}, {2, 3, 4}}, {3, 2, {2, 1, 4}, {3, 1}}, {1, 3, {5}, {2, 3, 5}},
        {1, 3, {1}, {4, 1, 3}},       {4, 3, {3, 1, 2, 1}, {4, 1, 5}},
    };
    const struct expect e[][6] = {
        {E(add0), E(sub0), E(mul0), E(div0), E(maximum0), E(minimum0)},
        {E(add1), E(sub1), E(mul1), E(div1), E(maximum1), E(minimum1)},
        {E(add2), E(sub2), E(mul2), E(div2), E(maximum2), E(minimum2)},
        {E(add3), E(sub3), E(mul3), E(div3), E(maximum3), E(minimum3)},
        {E(add4), E(sub4), E(mul4), E(div4), E(maximum4), E(minimum4)},
    };
    const enum cg_op_id ops[6] = {CG_OP_add, CG_OP_sub,     CG_OP_mul,
                                  CG_OP_div, CG_OP_maximum, CG_OP_minimum};
    for (size_t k = 0; k < CG_ARRAY_LEN(shapes); k++) {
        int64_t ys[CG_REF_MAX_RANK];
        int64_t na = numel(shapes[k].ra, shapes[k].as), nb = numel(shapes[k].rb, shapes[k].bs);
        fill(A, na, 2, 1.0, 0.0);
        fill(B, nb, 3, 1.0, 2.0);
        for (int64_t i = 0; i < nb; i++)
            C3[i] = B[i] - 2.0;
        int r = cg_ref_broadcast_shape(shapes[k].ra, shapes[k].as, shapes[k].rb, shapes[k].bs, ys);
        assert_true(r >= 0);
        for (int o = 0; o < 6; o++) {
            cg_ref_binary(ops[o], A, shapes[k].ra, shapes[k].as, o >= 4 ? C3 : B, shapes[k].rb,
                          shapes[k].bs, Y);
            check_close(e[k][o].name, e[k][o].e, e[k][o].n, Y, numel(r, ys), TOL);
        }
    }
}

static void test_reduce(void **state)
{
    (void)state;
    const int64_t xs[3] = {3, 4, 5};
    const int masks[6][3] = {{1, 1, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 1}, {0, 1, 1}};
    const struct expect e[6][7] = {
        {E(sum0), E(mean0), E(max0), E(min0), E(logsumexp0), E(var0), E(var_biased0)},
        {E(sum1), E(mean1), E(max1), E(min1), E(logsumexp1), E(var1), E(var_biased1)},
        {E(sum2), E(mean2), E(max2), E(min2), E(logsumexp2), E(var2), E(var_biased2)},
        {E(sum3), E(mean3), E(max3), E(min3), E(logsumexp3), E(var3), E(var_biased3)},
        {E(sum4), E(mean4), E(max4), E(min4), E(logsumexp4), E(var4), E(var_biased4)},
        {E(sum5), E(mean5), E(max5), E(min5), E(logsumexp5), E(var5), E(var_biased5)},
    };
    const enum cg_op_id ops[7] = {CG_OP_sum,       CG_OP_mean, CG_OP_max, CG_OP_min,
                                  CG_OP_logsumexp, CG_OP_var,  CG_OP_var};
    fill(A, 60, 3, 1.0, 0.0);
    for (int m = 0; m < 6; m++) {
        int64_t ys[CG_REF_MAX_RANK];
        int r = cg_ref_reduce_shape(3, xs, masks[m], 0, ys);
        for (int o = 0; o < 7; o++) {
            cg_ref_reduce(ops[o], A, 3, xs, masks[m], o == 5, Y);
            check_close(e[m][o].name, e[m][o].e, e[m][o].n, Y, numel(r, ys), TOL);
        }
    }
    /* NULL mask = all dims */
    cg_ref_reduce(CG_OP_sum, A, 3, xs, NULL, 1, Y);
    CHECK(sum0, Y, 1, TOL);

    const struct expect ea[4] = {E(argmax_all), E(argmax0), E(argmax1), E(argmax2)};
    for (int k = 0; k < 4; k++) {
        int mask[3] = {k == 0 || k == 1, k == 0 || k == 2, k == 0 || k == 3};
        int64_t ys[CG_REF_MAX_RANK];
        int r = cg_ref_reduce_shape(3, xs, mask, 0, ys);
        cg_ref_argmax(A, 3, xs, k == 0 ? NULL : mask, I);
        for (int64_t i = 0; i < numel(r, ys); i++)
            Y[i] = I[i];
        check_close(ea[k].name, ea[k].e, ea[k].n, Y, numel(r, ys), 0);
    }

    const int64_t s7[1] = {7};
    fill(A, 7, 4, 1.0, 0.0);
    cg_ref_reduce(CG_OP_sum, A, 1, s7, NULL, 1, Y);
    CHECK(sum_r1, Y, 1, TOL);
    cg_ref_reduce(CG_OP_logsumexp, A, 1, s7, NULL, 1, Y);
    CHECK(logsumexp_r1, Y, 1, TOL);
}

static void test_shape_ops(void **state)
{
    (void)state;
    const int64_t xs[4] = {2, 3, 4, 5};
    fill(A, 120, 5, 1.0, 0.0);
    cg_ref_permute(A, 4, xs, (const int[]){2, 0, 3, 1}, Y);
    CHECK(permute, Y, 120, 0);
    cg_ref_permute(A, 4, xs, (const int[]){0, 3, 2, 1}, Y);
    CHECK(transpose13, Y, 120, 0);

    { /* concat along 1, 0, 2 */
        const int64_t s0[3] = {2, 3, 4}, s1[3] = {2, 1, 4}, s2[3] = {2, 2, 4};
        const double *xp[3] = {fill(A, 24, 6, 1, 0), fill(B, 8, 7, 1, 0), fill(C3, 16, 8, 1, 0)};
        const int64_t *sp[3] = {s0, s1, s2};
        cg_ref_concat(3, xp, sp, 3, 1, Y);
        CHECK(concat1, Y, 48, 0);
        const int64_t t0[2] = {1, 3}, t1[2] = {2, 3};
        const double *xq[2] = {fill(A, 3, 6, 1, 0), fill(B, 6, 7, 1, 0)};
        const int64_t *sq[2] = {t0, t1};
        cg_ref_concat(2, xq, sq, 2, 0, Y);
        CHECK(concat0, Y, 9, 0);
        const int64_t u0[3] = {2, 2, 3}, u1[3] = {2, 2, 1};
        const double *xr[2] = {fill(A, 12, 6, 1, 0), fill(B, 4, 7, 1, 0)};
        const int64_t *sr[2] = {u0, u1};
        cg_ref_concat(2, xr, sr, 3, 2, Y);
        CHECK(concat2, Y, 16, 0);
    }

    const int64_t ss[3] = {4, 5, 6};
    fill(A, 120, 9, 1.0, 0.0);
    assert_int_equal(cg_ref_slice(A, 3, ss, 1, 1, 4, Y), 3);
    CHECK(slice_a1, Y, 4 * 3 * 6, 0);
    assert_int_equal(cg_ref_slice(A, 3, ss, 2, -4, -1, Y), 3);
    CHECK(slice_neg, Y, 4 * 5 * 3, 0);
    assert_int_equal(cg_ref_slice(A, 3, ss, 0, 2, 10, Y), 2);
    CHECK(slice_clamp, Y, 2 * 5 * 6, 0);

    const int64_t gs[3] = {3, 4, 5};
    fill(A, 60, 10, 1.0, 0.0);
    cg_ref_gather(A, 3, gs, fill_int(I, 30, 7, 3, 4), (const int64_t[]){2, 3, 5}, 1, Y);
    CHECK(gather1, Y, 30, 0);
    cg_ref_gather(A, 3, gs, fill_int(I, 24, 5, 1, 3), (const int64_t[]){3, 2, 4}, 0, Y);
    CHECK(gather0, Y, 24, 0);
    cg_ref_gather(A, 3, gs, fill_int(I, 84, 3, 2, 5), (const int64_t[]){3, 4, 7}, 2, Y);
    CHECK(gather2, Y, 84, 0);

    cg_ref_one_hot(fill_int(I, 6, 7, 3, 4), 6, 5, Y);
    CHECK(one_hot, Y, 30, 0);

    cg_ref_broadcast_to(fill(A, 3, 11, 1, 0), 2, (const int64_t[]){3, 1}, 3,
                        (const int64_t[]){2, 3, 4}, Y);
    CHECK(broadcast_to0, Y, 24, 0);
    cg_ref_broadcast_to(fill(A, 1, 11, 1, 0), 1, (const int64_t[]){1}, 1, (const int64_t[]){5},
                        Y);
    CHECK(broadcast_to1, Y, 5, 0);
    cg_ref_broadcast_to(fill(A, 6, 11, 1, 0), 3, (const int64_t[]){2, 1, 3}, 3,
                        (const int64_t[]){2, 4, 3}, Y);
    CHECK(broadcast_to2, Y, 24, 0);
}

static void test_dense(void **state)
{
    (void)state;
    fill(A, 30, 12, 1.0, 0.0);
    fill(B, 20, 13, 0.5, 0.0);
    fill(C3, 4, 14, 1.0, 0.0);
    cg_ref_linear(A, 6, 5, B, 4, C3, Y);
    CHECK(linear, Y, 24, TOL);
    cg_ref_linear(A, 6, 5, B, 4, NULL, Y);
    CHECK(linear_nobias, Y, 24, TOL);

    static const struct {
        int ra, rb;
        int64_t as[4], bs[4];
    } mm[] = {
        {2, 2, {3, 4}, {4, 5}},       {1, 2, {4}, {4, 5}},       {2, 1, {3, 4}, {4}},
        {1, 1, {4}, {4}},             {4, 3, {2, 1, 3, 4}, {5, 4, 2}},
        {1, 3, {4}, {2, 4, 3}},       {3, 1, {2, 3, 4}, {4}},
    };
    const struct expect e[] = {E(matmul0), E(matmul1), E(matmul2), E(matmul3),
                               E(matmul4), E(matmul5), E(matmul6)};
    const int want_rank[] = {2, 1, 1, 0, 4, 2, 2};
    for (size_t k = 0; k < CG_ARRAY_LEN(mm); k++) {
        int64_t ys[CG_REF_MAX_RANK];
        int r = cg_ref_matmul_shape(mm[k].ra, mm[k].as, mm[k].rb, mm[k].bs, ys);
        assert_int_equal(r, want_rank[k]);
        fill(A, numel(mm[k].ra, mm[k].as), 15, 1.0, 0.0);
        fill(B, numel(mm[k].rb, mm[k].bs), 16, 1.0, 0.0);
        cg_ref_matmul(A, mm[k].ra, mm[k].as, B, mm[k].rb, mm[k].bs, Y);
        check_close(e[k].name, e[k].e, e[k].n, Y, numel(r, ys), TOL);
    }
}

static void test_conv(void **state)
{
    (void)state;
    static const struct {
        int64_t xs[4], ws[4];
        int bias;
        int64_t sh, sw, ph, pw, dh, dw, groups;
    } conv[] = {
        {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, 1, 0, 0, 1, 1, 1},
        {{1, 4, 9, 8}, {6, 2, 3, 2}, 1, 2, 1, 1, 2, 2, 1, 2},
        {{2, 6, 5, 7}, {6, 1, 3, 3}, 0, 2, 2, 1, 1, 1, 1, 6},
        {{1, 2, 4, 4}, {3, 2, 1, 1}, 1, 1, 1, 0, 0, 1, 1, 1},
    };
    const struct expect e[] = {E(conv0), E(conv1), E(conv2), E(conv3)};
    for (size_t k = 0; k < CG_ARRAY_LEN(conv); k++) {
        const int64_t *xs = conv[k].xs, *ws = conv[k].ws;
        int64_t oh = (xs[2] + 2 * conv[k].ph - conv[k].dh * (ws[2] - 1) - 1) / conv[k].sh + 1;
        int64_t ow = (xs[3] + 2 * conv[k].pw - conv[k].dw * (ws[3] - 1) - 1) / conv[k].sw + 1;
        fill(A, numel(4, xs), 17, 1.0, 0.0);
        fill(B, numel(4, ws), 18, 0.5, 0.0);
        fill(C3, ws[0], 19, 1.0, 0.0);
        cg_ref_conv2d(A, xs, B, ws, conv[k].bias ? C3 : NULL, conv[k].sh, conv[k].sw,
                      conv[k].ph, conv[k].pw, conv[k].dh, conv[k].dw, conv[k].groups, Y);
        check_close(e[k].name, e[k].e, e[k].n, Y, xs[0] * ws[0] * oh * ow, TOL);
    }

    static const struct {
        int64_t xs[4], ws[4];
        int bias;
        int64_t sh, sw, ph, pw, oph, opw, groups, dh, dw;
    } convt[] = {
        {{2, 3, 4, 5}, {3, 2, 3, 3}, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {{1, 4, 3, 4}, {4, 3, 2, 3}, 1, 2, 3, 0, 1, 1, 2, 2, 1, 1},
        {{1, 2, 5, 4}, {2, 3, 3, 2}, 0, 1, 1, 1, 1, 1, 1, 1, 2, 3},
    };
    const struct expect et[] = {E(convt0), E(convt1), E(convt2)};
    for (size_t k = 0; k < CG_ARRAY_LEN(convt); k++) {
        const int64_t *xs = convt[k].xs, *ws = convt[k].ws;
        int64_t o = ws[1] * convt[k].groups;
        int64_t oh = (xs[2] - 1) * convt[k].sh - 2 * convt[k].ph + convt[k].dh * (ws[2] - 1) +
                     convt[k].oph + 1;
        int64_t ow = (xs[3] - 1) * convt[k].sw - 2 * convt[k].pw + convt[k].dw * (ws[3] - 1) +
                     convt[k].opw + 1;
        fill(A, numel(4, xs), 20, 1.0, 0.0);
        fill(B, numel(4, ws), 21, 0.5, 0.0);
        fill(C3, o, 22, 1.0, 0.0);
        cg_ref_conv_transpose2d(A, xs, B, ws, convt[k].bias ? C3 : NULL, convt[k].sh,
                                convt[k].sw, convt[k].ph, convt[k].pw, convt[k].oph,
                                convt[k].opw, convt[k].dh, convt[k].dw, convt[k].groups, Y);
        check_close(et[k].name, et[k].e, et[k].n, Y, xs[0] * o * oh * ow, TOL);
    }
}

static void test_pool(void **state)
{
    (void)state;
    const int64_t xs[4] = {2, 3, 7, 6};
    static const int64_t pool[3][6] = {{2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 1, 2, 1, 0}};
    const struct expect em[] = {E(maxpool0), E(maxpool1), E(maxpool2)};
    const struct expect ea[] = {E(avgpool0), E(avgpool1), E(avgpool2)};
    fill(A, numel(4, xs), 23, 1.0, 0.0);
    for (int k = 0; k < 3; k++) {
        const int64_t *p = pool[k];
        int64_t n = 6 * cg_ref_pool_out(7, p[0], p[2], p[4]) * cg_ref_pool_out(6, p[1], p[3], p[5]);
        cg_ref_max_pool2d(A, xs, p[0], p[1], p[2], p[3], p[4], p[5], Y);
        check_close(em[k].name, em[k].e, em[k].n, Y, n, 0);
        cg_ref_avg_pool2d(A, xs, p[0], p[1], p[2], p[3], p[4], p[5], Y);
        check_close(ea[k].name, ea[k].e, ea[k].n, Y, n, TOL);
    }
    cg_ref_upsample_nearest(fill(A, 24, 24, 1, 0), (const int64_t[]){1, 2, 3, 4}, 3, Y);
    CHECK(upsample, Y, 216, 0);
}

static void test_axis_ops(void **state)
{
    (void)state;
    const int64_t xs[3] = {3, 4, 5};
    const struct expect e[3][4] = {
        {E(softmax0), E(log_softmax0), E(l2_normalize0), E(entropy0)},
        {E(softmax1), E(log_softmax1), E(l2_normalize1), E(entropy1)},
        {E(softmax2), E(log_softmax2), E(l2_normalize2), E(entropy2)},
    };
    fill(A, 60, 25, 2.0, 0.0);
    fill(B, 60, 26, 1.0, 1.5);
    for (int ax = 0; ax < 3; ax++) {
        cg_ref_softmax(A, 3, xs, ax, Y);
        check_close(e[ax][0].name, e[ax][0].e, e[ax][0].n, Y, 60, TOL);
        cg_ref_log_softmax(A, 3, xs, ax, Y);
        check_close(e[ax][1].name, e[ax][1].e, e[ax][1].n, Y, 60, TOL);
        cg_ref_l2_normalize(A, 3, xs, ax, 1e-12, Y);
        check_close(e[ax][2].name, e[ax][2].e, e[ax][2].n, Y, 60, TOL);
        cg_ref_entropy(B, 3, xs, ax, Y);
        check_close(e[ax][3].name, e[ax][3].e, e[ax][3].n, Y, 60 / xs[ax], TOL);
    }
}

static void test_losses(void **state)
{
    (void)state;
    double r;
    fill(A, 35, 27, 2.0, 0.0);
    fill_int(I, 5, 3, 1, 7);
    r = cg_ref_cross_entropy(A, 5, 7, I);
    CHECK(cross_entropy, &r, 1, TOL);
    cg_ref_log_softmax(A, 2, (const int64_t[]){5, 7}, 1, B);
    r = cg_ref_nll(B, 5, 7, I);
    CHECK(nll, &r, 1, TOL);
    fill(A, 24, 28, 1.0, 0.0);
    fill_int(I, 6, 1, 0, 4);
    r = cg_ref_accuracy(A, 6, 4, I);
    CHECK(accuracy, &r, 1, 0);

    fill(A, 24, 29, 1.0, 0.0);
    fill(B, 3, 30, 1.0, 0.0);
    r = cg_ref_mse(A, 3, (const int64_t[]){2, 3, 4}, B, 2, (const int64_t[]){3, 1});
    CHECK(mse0, &r, 1, TOL);
    fill(A, 5, 29, 1.0, 0.0);
    fill(B, 5, 30, 1.0, 0.0);
    r = cg_ref_mse(A, 1, (const int64_t[]){5}, B, 1, (const int64_t[]){5});
    CHECK(mse1, &r, 1, TOL);

    cg_ref_kl_std_normal(fill(A, 24, 31, 1.0, 0.0), fill(B, 24, 32, 0.5, 0.0), 3, 8, Y);
    CHECK(kl, Y, 3, TOL);

    fill(A, 24, 33, 1.0, 0.0);
    fill(B, 24, 34, 1.0, 0.0);
    r = cg_ref_info_nce(A, B, 4, 6, 0.5);
    CHECK(info_nce05, &r, 1, TOL);
    r = cg_ref_info_nce(A, B, 4, 6, 0.1);
    CHECK(info_nce01, &r, 1, TOL);

    cg_ref_pairwise_sqdist(fill(A, 12, 35, 1.0, 0.0), 4, fill(B, 15, 36, 1.0, 0.0), 5, 3, Y);
    CHECK(pairwise, Y, 20, TOL);
}

/* The image pair of gen_ref.py's img_pair(). */
static void img_pair(int64_t n)
{
    fill(A, n, 40, 0.35, 0.5);
    for (int64_t i = 0; i < n; i++)
        B[i] = 0.5 + 0.3 * v(i, 40) + 0.1 * v(i, 41);
}

static void test_ssim(void **state)
{
    (void)state;
    const int64_t s1[4] = {2, 3, 16, 13}, s2[4] = {1, 2, 12, 11}, s3[4] = {2, 3, 28, 28};
    const int64_t s4[4] = {1, 2, 23, 19}, s5[4] = {1, 1, 48, 40};
    img_pair(numel(4, s1));
    cg_ref_ssim(A, B, s1, 7, 1.5, 0.01, 0.03, 1.0, Y);
    CHECK(ssim_w7, Y, 2, TOL_SSIM);
    cg_ref_ssim(A, B, s1, 5, 0.8, 0.02, 0.05, 2.0, Y);
    CHECK(ssim_k, Y, 2, TOL_SSIM);
    img_pair(numel(4, s2));
    cg_ref_ssim(A, B, s2, 11, 1.5, 0.01, 0.03, 1.0, Y);
    CHECK(ssim_w11, Y, 1, TOL_SSIM);

    img_pair(numel(4, s3));
    assert_int_equal(cg_ref_ms_ssim(A, B, s3, 2, NULL, 7, 1.5, 0.01, 0.03, 1.0, Y), CG_OK);
    CHECK(ms_ssim_s2, Y, 2, TOL_SSIM);
    img_pair(numel(4, s4));
    assert_int_equal(cg_ref_ms_ssim(A, B, s4, 3, NULL, 5, 1.5, 0.01, 0.03, 1.0, Y), CG_OK);
    CHECK(ms_ssim_s3, Y, 1, TOL_SSIM);
    const double w[3] = {0.5, 0.3, 0.2};
    assert_int_equal(cg_ref_ms_ssim(A, B, s4, 3, w, 3, 1.0, 0.01, 0.03, 1.0, Y), CG_OK);
    CHECK(ms_ssim_w, Y, 1, TOL_SSIM);
    assert_int_equal(cg_ref_ms_ssim(A, B, s4, 1, NULL, 5, 1.5, 0.01, 0.03, 1.0, Y), CG_OK);
    CHECK(ms_ssim_s1, Y, 1, TOL_SSIM);
    img_pair(numel(4, s5));
    assert_int_equal(cg_ref_ms_ssim(A, B, s5, 5, NULL, 3, 1.5, 0.01, 0.03, 1.0, Y), CG_OK);
    CHECK(ms_ssim_s5, Y, 1, TOL_SSIM);
}

static void test_crops(void **state)
{
    (void)state;
    const int64_t xs[4] = {2, 3, 9, 8};
    fill(A, numel(4, xs), 42, 1.0, 0.0);
    assert_int_equal(cg_ref_crop_side(9, 3, 2), 4);
    assert_int_equal(cg_ref_crop_side(8, 3, 2), 3);
    cg_ref_crop_grid(A, xs, fill_int(I, 8, 5, 2, 12), 4, 3, 2, Y);
    CHECK(crop_grid, Y, 8 * 27, 0);
    cg_ref_crop_all(A, xs, 3, 2, Y);
    CHECK(crop_all, Y, 24 * 27, 0);
}

/* ---- tiny hand-checked cases --------------------------------------------------------------- */

static void expect_values(const double *got, const double *want, int n)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-14 * fmax(1.0, fabs(want[i]))))
            fail_msg("[%d]: got %.17g, want %.17g", i, got[i], want[i]);
}

static void test_hand_elementwise(void **state)
{
    (void)state;
    double y[6];
    cg_ref_unary(CG_OP_relu, (const double[]){-1, 0, 2}, 3, 0, 0, y);
    expect_values(y, (const double[]){0, 0, 2}, 3);
    cg_ref_unary(CG_OP_clamp, (const double[]){-3, 0.5, 3}, 3, 1, 0, y); /* lo > hi: hi */
    expect_values(y, (const double[]){0, 0, 0}, 3);
    cg_ref_unary(CG_OP_softplus, (const double[]){30, 0}, 2, 1, 20, y);
    expect_values(y, (const double[]){30, log(2.0)}, 2);

    int64_t ys[CG_REF_MAX_RANK];
    assert_int_equal(cg_ref_broadcast_shape(2, (const int64_t[]){2, 1}, 1, (const int64_t[]){3},
                                            ys), 2);
    assert_true(ys[0] == 2 && ys[1] == 3);
    assert_int_equal(cg_ref_broadcast_shape(1, (const int64_t[]){2}, 1, (const int64_t[]){3}, ys),
                     -1);
    cg_ref_binary(CG_OP_add, (const double[]){1, 2}, 2, (const int64_t[]){2, 1},
                  (const double[]){10, 20, 30}, 1, (const int64_t[]){3}, y);
    expect_values(y, (const double[]){11, 21, 31, 12, 22, 32}, 6);
    cg_ref_binary(CG_OP_maximum, (const double[]){NAN, 1}, 1, (const int64_t[]){2},
                  (const double[]){0, 2}, 1, (const int64_t[]){2}, y);
    assert_true(isnan(y[0]) && y[1] == 2);
}

static void test_hand_reduce_shape(void **state)
{
    (void)state;
    double y[4];
    int32_t iy[4];
    int64_t ys[CG_REF_MAX_RANK];
    const int64_t xs[3] = {2, 3, 4};
    assert_int_equal(cg_ref_reduce_shape(3, xs, (const int[]){0, 1, 0}, 1, ys), 3);
    assert_true(ys[0] == 2 && ys[1] == 1 && ys[2] == 4);
    assert_int_equal(cg_ref_reduce_shape(3, xs, (const int[]){0, 1, 0}, 0, ys), 2);
    assert_int_equal(cg_ref_reduce_shape(3, xs, NULL, 0, ys), 0);
    /* ties: the first maximum */
    cg_ref_argmax((const double[]){1, 3, 3, 0}, 1, (const int64_t[]){4}, NULL, iy);
    assert_int_equal(iy[0], 1);
    cg_ref_reduce(CG_OP_var, (const double[]){1, 2, 3, 4}, 1, (const int64_t[]){4}, NULL, 1, y);
    expect_values(y, (const double[]){5.0 / 3.0}, 1);
    cg_ref_reduce(CG_OP_logsumexp, (const double[]){-INFINITY, -INFINITY}, 1,
                  (const int64_t[]){2}, NULL, 0, y);
    assert_true(isinf(y[0]) && y[0] < 0);
    assert_int_equal(cg_ref_slice((const double[]){1, 2, 3}, 1, (const int64_t[]){3}, 0, 2, 1, y),
                     0);
    double z[3];
    cg_ref_l2_normalize((const double[]){0, 0, 0}, 1, (const int64_t[]){3}, 0, 1e-12, z);
    expect_values(z, (const double[]){0, 0, 0}, 3);
    cg_ref_entropy((const double[]){0.5, 0.5, 0}, 1, (const int64_t[]){3}, 0, y);
    expect_values(y, (const double[]){log(2.0)}, 1);
}

static void test_hand_layers(void **state)
{
    (void)state;
    double y[16];
    const double x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* 2x2 box filter, valid */
    cg_ref_conv2d(x9, (const int64_t[]){1, 1, 3, 3}, (const double[]){1, 1, 1, 1},
                  (const int64_t[]){1, 1, 2, 2}, (const double[]){100}, 1, 1, 0, 0, 1, 1, 1, y);
    expect_values(y, (const double[]){112, 116, 124, 128}, 4);
    /* stride-2 transpose of a 2x2 ones kernel replicates every pixel into a 2x2 block */
    cg_ref_conv_transpose2d((const double[]){1, 2, 3, 4}, (const int64_t[]){1, 1, 2, 2},
                            (const double[]){1, 1, 1, 1}, (const int64_t[]){1, 1, 2, 2}, NULL,
                            2, 2, 0, 0, 0, 0, 1, 1, 1, y);
    expect_values(y, (const double[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16);
    /* padding counts in the average, not in the max */
    cg_ref_avg_pool2d((const double[]){1, 1, 1, 1}, (const int64_t[]){1, 1, 2, 2}, 2, 2, 1, 1, 1,
                      1, y);
    expect_values(y, (const double[]){0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25}, 9);
    cg_ref_max_pool2d((const double[]){-1, -2, -3, -4}, (const int64_t[]){1, 1, 2, 2}, 2, 2, 1, 1,
                      1, 1, y);
    expect_values(y, (const double[]){-1, -1, -2, -1, -1, -2, -3, -3, -4}, 9);
    cg_ref_matmul((const double[]){1, 2}, 1, (const int64_t[]){2}, (const double[]){3, 4}, 1,
                  (const int64_t[]){2}, y);
    expect_values(y, (const double[]){11}, 1);
    cg_ref_one_hot((const int32_t[]){2, 0}, 2, 3, y);
    expect_values(y, (const double[]){0, 0, 1, 1, 0, 0}, 6);
}

static void test_hand_losses(void **state)
{
    (void)state;
    double y[4];
    const int32_t lab[2] = {0, 2};
    const double zero[8] = {0};
    assert_true(fabs(cg_ref_cross_entropy(zero, 2, 3, lab) - log(3.0)) < 1e-15);
    assert_true(cg_ref_accuracy((const double[]){1, 0, 0, 0, 0, 1}, 2, 3, lab) == 1.0);
    cg_ref_kl_std_normal(zero, zero, 2, 4, y);
    expect_values(y, (const double[]){0, 0}, 2);
    cg_ref_pairwise_sqdist((const double[]){0, 0}, 1, (const double[]){3, 4, 1, 1}, 2, 2, y);
    expect_values(y, (const double[]){25, 2}, 2);
    /* two orthogonal pairs at temperature 1: each anchor's positive has cos 1, negatives 0 */
    double l = cg_ref_info_nce((const double[]){1, 0, 0, 1}, (const double[]){2, 0, 0, 3}, 2, 2,
                               1.0);
    assert_true(fabs(l - (log(exp(1.0) + 2.0) - 1.0)) < 1e-14);

    /* identical images: SSIM and MS-SSIM are 1 */
    const int64_t xs[4] = {1, 2, 11, 9};
    fill(A, 198, 7, 0.3, 0.5);
    cg_ref_ssim(A, A, xs, 5, 1.5, 0.01, 0.03, 1.0, y);
    assert_true(fabs(y[0] - 1.0) < 1e-14);
    assert_int_equal(cg_ref_ms_ssim(A, A, xs, 2, NULL, 5, 1.5, 0.01, 0.03, 1.0, y), CG_OK);
    assert_true(fabs(y[0] - 1.0) < 1e-14);
}

static void test_ms_ssim_nomem(void **state)
{
    (void)state;
    double y[1];
    const int64_t xs[4] = {1, 1, 11, 11};
    fill(A, 121, 7, 0.3, 0.5);
    for (long k = 0; k < 2; k++) {
        cg_alloc_fail_after(k);
        enum cg_status st = cg_ref_ms_ssim(A, A, xs, 2, NULL, 3, 1.5, 0.01, 0.03, 1.0, y);
        cg_alloc_fail_after(-1);
        assert_int_equal(st, CG_ERR_NOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_shape_ops),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_axis_ops),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_ssim),
        cmocka_unit_test(test_crops),
        cmocka_unit_test(test_hand_elementwise),
        cmocka_unit_test(test_hand_reduce_shape),
        cmocka_unit_test(test_hand_layers),
        cmocka_unit_test(test_hand_losses),
        cmocka_unit_test(test_ms_ssim_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
