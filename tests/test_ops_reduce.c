/* test_ops_reduce.c: reductions (sum mean max min logsumexp var argmax, sum_to, reduce_grad),
 * the softmax family (softmax, log_softmax, l2_normalize, l2_normalize_grad) and the
 * classification losses (cross_entropy, nll, accuracy, class_loss_grad) on the test device.
 * Forward results against the double references of src/ops/ref.c; gradients through the
 * autodiff pass, of target = sum(y * r) with a fed weighting r (or the scalar loss itself),
 * against central finite differences of the references. Table-driven: odd sizes, any axis
 * set, negative axes, keepdims, rows long enough for the work-group kernels, ties, NaN and
 * out-of-range labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

#define RTOL 2e-4
#define ATOL 2e-5
#define FD_MAX 600 /* finite differences only for inputs up to this size */

static size_t numel(int rank, const int64_t *d)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)d[i];
    return n;
}

static void shape_text(int rank, const int64_t *d, char *buf, size_t n)
{
    size_t u = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank; i++)
        u += (size_t)snprintf(buf + u, n - u, "%s%lld", i ? ", " : "", (long long)d[i]);
    snprintf(buf + u, n - u, "]");
}

/* ---- reductions ---- */

struct red_case {
    const char *op;
    int rank;
    int64_t d[4];
    int naxes; /* 0: all */
    int axes[4];
    int keep, unbiased;
};

static const struct red_case red_cases[] = {
    {"sum", 2, {3, 5}, 1, {1}, 0, 0},
    {"sum", 3, {3, 4, 5}, 2, {0, 2}, 1, 0},
    {"sum", 4, {2, 3, 4, 5}, 2, {1, 3}, 0, 0},
    {"sum", 1, {7}, 0, {0}, 0, 0},
    {"sum", 2, {3, 300}, 1, {-1}, 0, 0},  /* work-group per row */
    {"sum", 2, {1000, 7}, 1, {0}, 0, 0},  /* work-group, strided */
    {"mean", 1, {65536}, 0, {0}, 0, 0},   /* a loss-sized mean */
    {"mean", 3, {4, 1, 6}, 2, {-1, 1}, 1, 0},
    {"mean", 3, {5, 6, 7}, 1, {1}, 0, 0},
    {"max", 3, {3, 4, 5}, 1, {2}, 0, 0},
    {"max", 3, {3, 4, 5}, 2, {0, 2}, 1, 0},
    {"max", 2, {2, 500}, 0, {0}, 0, 0},
    {"min", 3, {3, 4, 5}, 1, {0}, 0, 0},
    {"min", 2, {9, 40}, 1, {1}, 1, 0},
    {"logsumexp", 2, {4, 9}, 1, {-1}, 0, 0},
    {"logsumexp", 3, {3, 4, 5}, 2, {0, 1}, 1, 0},
    {"logsumexp", 2, {3, 700}, 1, {1}, 0, 0},
    {"var", 2, {4, 9}, 1, {1}, 0, 1},
    {"var", 2, {4, 9}, 1, {1}, 0, 0},
    {"var", 4, {2, 3, 4, 5}, 3, {0, 2, 3}, 1, 1},
    {"var", 1, {3000}, 0, {0}, 0, 1},
    {"argmax", 3, {3, 4, 5}, 1, {1}, 0, 0},
    {"argmax", 3, {3, 4, 5}, 0, {0}, 0, 0},
    {"argmax", 2, {3, 400}, 1, {-1}, 1, 0},
    /* work-group per output over runs of a contiguous innermost reduced dim (INNER), the
     * bias gradient's shape: runs of 100 and 70, not multiples of the work-group size */
    {"sum", 4, {3, 2, 10, 10}, 3, {0, 2, 3}, 0, 0},
    {"max", 3, {5, 2, 70}, 2, {0, 2}, 1, 0},
};

struct red_fd {
    const struct red_case *t;
    const int *mask;
    const double *r;
    double *y;
    size_t ny;
};

static double red_dot(const double *x, void *vctx)
{
    struct red_fd *c = vctx;
    cg_ref_reduce((enum cg_op_id)cg_op_find(c->t->op), x, c->t->rank, c->t->d, c->mask,
                  c->t->unbiased, c->y);
    double s = 0;
    for (size_t i = 0; i < c->ny; i++)
        s += c->y[i] * c->r[i];
    return s;
}

static void run_red(const struct red_case *t, int seed)
{
    int mask[CG_MAX_RANK] = {0};
    for (int i = 0; i < t->rank; i++)
        mask[i] = t->naxes == 0;
    char axis[64] = "";
    size_t u = 0;
    for (int i = 0; i < t->naxes; i++) {
        mask[t->axes[i] < 0 ? t->axes[i] + t->rank : t->axes[i]] = 1;
        u += (size_t)snprintf(axis + u, sizeof axis - u, "%s%d", i ? ", " : "[", t->axes[i]);
    }
    if (t->naxes)
        snprintf(axis + u, sizeof axis - u, "], ");
    int64_t ys[CG_MAX_RANK];
    int yr = cg_ref_reduce_shape(t->rank, t->d, mask, t->keep, ys);
    size_t nx = numel(t->rank, t->d), ny = numel(yr, ys);
    char xs[64], yst[64], text[512], extra[32] = "";
    shape_text(t->rank, t->d, xs, sizeof xs);
    shape_text(yr, ys, yst, sizeof yst);
    if (!strcmp(t->op, "var"))
        snprintf(extra, sizeof extra, "unbiased=%d, ", t->unbiased);
    int arg = !strcmp(t->op, "argmax");
    snprintf(text, sizeof text,
             "input x : f32%s\ninput r : f32%s\ny = %s(x, %s%skeepdims=%d)\n%s", xs, yst, t->op,
             axis, extra, t->keep, arg ? "" : "loss = sum(y * r)\n");
    float *x = malloc(nx * 4), *r = malloc(ny * 4);
    ot_fill(x, nx, seed, 0);
    ot_fill(r, ny, seed + 7, 0.1);
    double *xd = ot_to_double(x, nx), *rd = ot_to_double(r, ny), *yd = malloc(ny * 8);
    struct ot_feed in[] = {{"x", x, NULL, nx}, {"r", r, NULL, ny}};
    const char *fetch[] = {"y"}, *wrt[] = {"x"};
    float *y = NULL, *gx = NULL;
    int want_grad = !arg && nx <= FD_MAX;
    assert_int_equal(ot_run(text, in, 2, fetch, 1, &y, want_grad ? "loss" : NULL, wrt,
                            want_grad, &gx), 0);
    if (arg) {
        int32_t *yi = malloc(ny * 4);
        cg_ref_argmax(xd, t->rank, t->d, t->naxes ? mask : NULL, yi);
        for (size_t i = 0; i < ny; i++)
            assert_int_equal(((const int32_t *)y)[i], yi[i]);
        free(yi);
    } else {
        cg_ref_reduce((enum cg_op_id)cg_op_find(t->op), xd, t->rank, t->d, mask, t->unbiased,
                      yd);
        if (!ot_close(y, yd, ny, RTOL, ATOL))
            fail_msg("%s", text);
    }
    if (want_grad) {
        double *g = malloc(nx * 8);
        struct red_fd c = {t, mask, rd, yd, ny};
        ot_fd_grad(red_dot, &c, xd, nx, 1e-4, g);
        if (!ot_close(gx, g, nx, RTOL, ATOL))
            fail_msg("gradient: %s", text);
        free(g);
        free(gx);
    }
    free(y);
    free(x);
    free(r);
    free(xd);
    free(rd);
    free(yd);
}

static void test_reduce(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(red_cases); i++)
        run_red(&red_cases[i], (int)i + 1);
}

/* The gradient of the big mean without finite differences: r / K everywhere. */
static void test_mean_grad_large(void **state)
{
    (void)state;
    size_t n = 64 * 1024;
    float *x = malloc(n * 4), r = 3.0f, *y = NULL, *gx = NULL;
    ot_fill(x, n, 5, 0);
    struct ot_feed in[] = {{"x", x, NULL, n}, {"r", &r, NULL, 1}};
    const char *fetch[] = {"y"}, *wrt[] = {"x"};
    assert_int_equal(ot_run("input x : f32[64, 1024]\ninput r : f32[]\ny = mean(x)\n"
                            "loss = y * r\n", in, 2, fetch, 1, &y, "loss", wrt, 1, &gx), 0);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(gx[i], 3.0 / 65536, 1e-12);
    free(x);
    free(y);
    free(gx);
}

/* Ties: max/min split the gradient evenly among the tied elements; argmax takes the first;
 * NaN propagates through max and wins argmax. */
static void test_ties_nan(void **state)
{
    (void)state;
    float x[8] = {1, 3, 3, 2, 5, -1, 5, 5}, r[2] = {2, 3};
    float *out[3] = {NULL, NULL, NULL}, *gx = NULL;
    struct ot_feed in[] = {{"x", x, NULL, 8}, {"r", r, NULL, 2}};
    const char *fetch[] = {"y", "a", "m"}, *wrt[] = {"x"};
    assert_int_equal(ot_run("input x : f32[2, 4]\ninput r : f32[2]\ny = max(x, 1)\n"
                            "a = argmax(x, 1)\nm = min(x)\nloss = sum(y * r)\n",
                            in, 2, fetch, 3, out, "loss", wrt, 1, &gx), 0);
    const float wg[8] = {0, 1, 1, 0, 1, 0, 1, 1};
    assert_float_equal(out[0][0], 3, 0);
    assert_float_equal(out[0][1], 5, 0);
    assert_int_equal(((int32_t *)out[1])[0], 1);
    assert_int_equal(((int32_t *)out[1])[1], 0);
    assert_float_equal(out[2][0], -1, 0);
    for (int i = 0; i < 8; i++)
        assert_float_equal(gx[i], wg[i], 1e-7);
    for (int k = 0; k < 3; k++)
        free(out[k]);
    free(gx);
    x[2] = NAN;
    assert_int_equal(ot_run("input x : f32[2, 4]\ny = max(x, 1)\na = argmax(x, 1)\n", in, 1,
                            fetch, 2, out, NULL, NULL, 0, NULL), 0);
    assert_true(isnan(out[0][0]));
    assert_float_equal(out[0][1], 5, 0);
    assert_int_equal(((int32_t *)out[1])[0], 2);
    free(out[0]);
    free(out[1]);
}

/* sum_to, called directly: x summed to like's shape (leading dims and dims where like is 1). */
static void test_sum_to(void **state)
{
    (void)state;
    static const struct {
        int rx, rl;
        int64_t x[4], l[4];
    } cases[] = {
        {3, 2, {3, 4, 5}, {4, 1}}, {3, 3, {2, 1, 5}, {1, 1, 5}}, {2, 0, {6, 7}, {0}},
        {4, 3, {2, 3, 4, 5}, {3, 1, 5}}, {2, 2, {300, 4}, {1, 4}}, {2, 1, {4, 1}, {1}},
    };
    for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++) {
        int rx = cases[k].rx, rl = cases[k].rl;
        const int64_t *xsz = cases[k].x, *lsz = cases[k].l;
        int mask[CG_MAX_RANK] = {0};
        for (int d = 0; d < rx; d++) {
            int id = d - (rx - rl);
            mask[d] = id < 0 || (lsz[id] == 1 && xsz[d] != 1);
        }
        size_t nx = numel(rx, xsz), nl = numel(rl, lsz);
        char xs[64], ls[64], text[256];
        shape_text(rx, xsz, xs, sizeof xs);
        shape_text(rl, lsz, ls, sizeof ls);
        snprintf(text, sizeof text, "input x : f32%s\ninput like : f32%s\ng = sum_to(x, like)\n",
                 xs, ls);
        float *x = malloc(nx * 4), *like = calloc(nl, 4), *g = NULL;
        ot_fill(x, nx, (int)k, 0);
        double *xd = ot_to_double(x, nx), *want = malloc(nl * 8);
        cg_ref_reduce(CG_OP_sum, xd, rx, xsz, mask, 0, want);
        struct ot_feed in[] = {{"x", x, NULL, nx}, {"like", like, NULL, nl}};
        const char *fetch[] = {"g"};
        assert_int_equal(ot_run(text, in, 2, fetch, 1, &g, NULL, NULL, 0, NULL), 0);
        if (!ot_close(g, want, nl, RTOL, ATOL))
            fail_msg("%s", text);
        free(x);
        free(like);
        free(g);
        free(xd);
        free(want);
    }
}

/* Broadcasting binary ops: their gradients sum back through sum_to. */
struct bin_fd {
    int64_t as[3], bs[3];
    const double *b, *r;
    double *y;
};

static double bin_dot(const double *a, void *vctx)
{
    struct bin_fd *c = vctx;
    cg_ref_binary(CG_OP_mul, a, 3, c->as, c->b, 2, c->bs, c->y);
    double s = 0;
    for (int i = 0; i < 3 * 4 * 5; i++)
        s += c->y[i] * c->r[i];
    return s;
}

static void test_binary_bcast_grad(void **state)
{
    (void)state;
    float a[15], b[4], r[60], *gx[2] = {NULL, NULL};
    ot_fill(a, 15, 1, 0);
    ot_fill(b, 4, 2, 0);
    ot_fill(r, 60, 3, 0);
    struct ot_feed in[] = {{"a", a, NULL, 15}, {"b", b, NULL, 4}, {"r", r, NULL, 60}};
    const char *wrt[] = {"a", "b"};
    assert_int_equal(ot_run("input a : f32[3, 1, 5]\ninput b : f32[4, 1]\n"
                            "input r : f32[3, 4, 5]\ny = a * b\nloss = sum(y * r)\n",
                            in, 3, NULL, 0, NULL, "loss", wrt, 2, gx), 0);
    double *ad = ot_to_double(a, 15), *bd = ot_to_double(b, 4), *rd = ot_to_double(r, 60), y[60], g[15];
    struct bin_fd c = {{3, 1, 5}, {4, 1, 0}, bd, rd, y};
    ot_fd_grad(bin_dot, &c, ad, 15, 1e-4, g);
    assert_true(ot_close(gx[0], g, 15, RTOL, ATOL));
    double gb[4] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 5; k++)
                gb[j] += ad[i * 5 + k] * rd[(i * 4 + j) * 5 + k];
    assert_true(ot_close(gx[1], gb, 4, RTOL, ATOL));
    free(gx[0]);
    free(gx[1]);
    free(ad);
    free(bd);
    free(rd);
}

/* ---- softmax, log_softmax, l2_normalize ---- */

struct sm_case {
    const char *op;
    int rank;
    int64_t d[3];
    int axis; /* may be negative */
    double eps;
};

static const struct sm_case sm_cases[] = {
    {"softmax", 2, {5, 7}, -1, 0},        {"softmax", 3, {3, 4, 5}, 1, 0},
    {"softmax", 2, {6, 3}, 0, 0},         {"softmax", 2, {2, 300}, 1, 0},
    {"softmax", 2, {300, 3}, 0, 0},       {"log_softmax", 2, {5, 7}, -1, 0},
    {"log_softmax", 3, {3, 4, 5}, 0, 0},  {"log_softmax", 2, {3, 500}, -1, 0},
    {"l2_normalize", 2, {5, 7}, -1, 1e-12}, {"l2_normalize", 3, {3, 4, 5}, 1, 1e-12},
    {"l2_normalize", 2, {2, 400}, 1, 1e-12}, {"l2_normalize", 2, {4, 3}, 1, 0.5},
    {"l2_normalize", 2, {300, 2}, 0, 1e-12},
};

struct sm_fd {
    const struct sm_case *t;
    int axis;
    const double *r;
    double *y;
    size_t n;
};

static void sm_ref(const struct sm_case *t, int axis, const double *x, double *y)
{
    if (!strcmp(t->op, "softmax"))
        cg_ref_softmax(x, t->rank, t->d, axis, y);
    else if (!strcmp(t->op, "log_softmax"))
        cg_ref_log_softmax(x, t->rank, t->d, axis, y);
    else
        cg_ref_l2_normalize(x, t->rank, t->d, axis, t->eps, y);
}

static double sm_dot(const double *x, void *vctx)
{
    struct sm_fd *c = vctx;
    sm_ref(c->t, c->axis, x, c->y);
    double s = 0;
    for (size_t i = 0; i < c->n; i++)
        s += c->y[i] * c->r[i];
    return s;
}

static void test_softmax(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(sm_cases); k++) {
        const struct sm_case *t = &sm_cases[k];
        int axis = t->axis < 0 ? t->axis + t->rank : t->axis;
        size_t n = numel(t->rank, t->d);
        char xs[64], extra[48] = "", text[384];
        shape_text(t->rank, t->d, xs, sizeof xs);
        if (t->eps > 0)
            snprintf(extra, sizeof extra, ", eps=%g", t->eps);
        snprintf(text, sizeof text, "input x : f32%s\ninput r : f32%s\ny = %s(x, axis=%d%s)\n"
                 "loss = sum(y * r)\n", xs, xs, t->op, t->axis, extra);
        float *x = malloc(n * 4), *r = malloc(n * 4), *y = NULL, *gx = NULL;
        ot_fill(x, n, (int)k + 2, 0);
        if (t->eps == 0.5) /* some rows with norms below eps */
            for (size_t i = 0; i < 6; i++)
                x[i] *= 0.1f;
        ot_fill(r, n, (int)k + 9, 0);
        for (size_t i = 0; i < n; i++)
            x[i] *= 3.0f;
        double *xd = ot_to_double(x, n), *rd = ot_to_double(r, n), *yd = malloc(n * 8);
        struct ot_feed in[] = {{"x", x, NULL, n}, {"r", r, NULL, n}};
        const char *fetch[] = {"y"}, *wrt[] = {"x"};
        int want_grad = n <= FD_MAX;
        assert_int_equal(ot_run(text, in, 2, fetch, 1, &y, "loss", wrt, want_grad, &gx), 0);
        sm_ref(t, axis, xd, yd);
        if (!ot_close(y, yd, n, RTOL, ATOL))
            fail_msg("%s", text);
        if (want_grad) {
            double *g = malloc(n * 8);
            struct sm_fd c = {t, axis, rd, yd, n};
            ot_fd_grad(sm_dot, &c, xd, n, 1e-4, g);
            if (!ot_close(gx, g, n, RTOL, ATOL))
                fail_msg("gradient: %s", text);
            free(g);
            free(gx);
        }
        free(x);
        free(r);
        free(y);
        free(xd);
        free(rd);
        free(yd);
    }
}

/* Large values: softmax subtracts the maximum, so no overflow. */
static void test_softmax_stable(void **state)
{
    (void)state;
    float x[4] = {1000, 1001, -1000, 1002}, *out[2] = {NULL, NULL};
    struct ot_feed in[] = {{"x", x, NULL, 4}};
    const char *fetch[] = {"y", "z"};
    assert_int_equal(ot_run("input x : f32[1, 4]\ny = softmax(x)\nz = log_softmax(x)\n", in, 1,
                            fetch, 2, out, NULL, NULL, 0, NULL), 0);
    double xd[4] = {1000, 1001, -1000, 1002}, y[4], z[4];
    int64_t d[2] = {1, 4};
    cg_ref_softmax(xd, 2, d, 1, y);
    cg_ref_log_softmax(xd, 2, d, 1, z);
    assert_true(ot_close(out[0], y, 4, RTOL, ATOL));
    assert_true(ot_close(out[1], z, 4, RTOL, ATOL));
    free(out[0]);
    free(out[1]);
}

/* l2_normalize_grad called directly on a zero row: gy / eps. */
static void test_l2_zero_row(void **state)
{
    (void)state;
    float x[6] = {0, 0, 0, 1, 2, 2}, gy[6] = {1, -2, 3, 1, 1, 1}, *g = NULL;
    struct ot_feed in[] = {{"x", x, NULL, 6}, {"gy", gy, NULL, 6}};
    const char *fetch[] = {"g"};
    assert_int_equal(ot_run("input x : f32[2, 3]\ninput gy : f32[2, 3]\n"
                            "g = l2_normalize_grad(x, gy, axis=1, eps=0.25)\n",
                            in, 2, fetch, 1, &g, NULL, NULL, 0, NULL), 0);
    /* row 1: n = 3, y = x/3, sum(gy y) = 5/3; (gy - y 5/3) / 3 */
    const double want[6] = {4, -8, 12, (1 - 5.0 / 9) / 3, (1 - 10.0 / 9) / 3, (1 - 10.0 / 9) / 3};
    assert_true(ot_close(g, want, 6, RTOL, ATOL));
    free(g);
}

/* ---- classification losses ---- */

struct loss_fd {
    int64_t n, c;
    const int32_t *y;
    int nll;
};

static double loss_f(const double *z, void *vctx)
{
    struct loss_fd *c = vctx;
    return c->nll ? cg_ref_nll(z, c->n, c->c, c->y) : cg_ref_cross_entropy(z, c->n, c->c, c->y);
}

static void test_losses(void **state)
{
    (void)state;
    static const int64_t shapes[][2] = {{5, 4}, {1, 3}, {200, 10}, {3, 300}, {64, 2}};
    for (size_t k = 0; k < CG_ARRAY_LEN(shapes); k++) {
        int64_t n = shapes[k][0], c = shapes[k][1];
        size_t nz = (size_t)(n * c);
        float *z = malloc(nz * 4), *out[3] = {NULL, NULL, NULL}, *gx[2] = {NULL, NULL};
        int32_t *y = malloc((size_t)n * 4);
        ot_fill(z, nz, (int)k + 4, 0);
        for (size_t i = 0; i < nz; i++)
            z[i] *= 2.5f;
        for (int64_t i = 0; i < n; i++)
            y[i] = (int32_t)((i * 7 + 3) % c);
        char text[512];
        snprintf(text, sizeof text,
                 "input z : f32[%lld, %lld]\ninput t : i32[%lld]\nce = cross_entropy(z, t)\n"
                 "nl = nll(z, t)\nacc = accuracy(z, t)\nloss = ce + 0.5 * nl\n", (long long)n,
                 (long long)c, (long long)n);
        struct ot_feed in[] = {{"z", z, NULL, nz}, {"t", NULL, y, (size_t)n}};
        const char *fetch[] = {"ce", "nl", "acc"}, *wrt[] = {"z"};
        int want_grad = nz <= 2000;
        assert_int_equal(ot_run(text, in, 2, fetch, 3, out, "loss", wrt, want_grad, gx), 0);
        double *zd = ot_to_double(z, nz);
        double ce = cg_ref_cross_entropy(zd, n, c, y), nl = cg_ref_nll(zd, n, c, y),
               acc = cg_ref_accuracy(zd, n, c, y);
        assert_true(ot_close(out[0], &ce, 1, RTOL, ATOL));
        assert_true(ot_close(out[1], &nl, 1, RTOL, ATOL));
        assert_true(ot_close(out[2], &acc, 1, 0, 1e-7));
        if (want_grad) {
            double *g1 = malloc(nz * 8), *g2 = malloc(nz * 8);
            struct loss_fd f1 = {n, c, y, 0}, f2 = {n, c, y, 1};
            ot_fd_grad(loss_f, &f1, zd, nz, 1e-4, g1);
            ot_fd_grad(loss_f, &f2, zd, nz, 1e-4, g2);
            for (size_t i = 0; i < nz; i++)
                g1[i] += 0.5 * g2[i];
            if (!ot_close(gx[0], g1, nz, RTOL, ATOL))
                fail_msg("gradient: %s", text);
            free(g1);
            free(g2);
            free(gx[0]);
        }
        for (int i = 0; i < 3; i++)
            free(out[i]);
        free(z);
        free(y);
        free(zd);
    }
}

/* accuracy ties go to the first maximum; out-of-range labels give NaN, never a bad access. */
static void test_loss_edges(void **state)
{
    (void)state;
    float z[6] = {2, 2, 1, 0, 3, 3}, *out[3] = {NULL, NULL, NULL};
    int32_t y[2] = {0, 2};
    struct ot_feed in[] = {{"z", z, NULL, 6}, {"t", NULL, y, 2}};
    const char *fetch[] = {"acc", "ce", "nl"};
    const char *text = "input z : f32[2, 3]\ninput t : i32[2]\nacc = accuracy(z, t)\n"
                       "ce = cross_entropy(z, t)\nnl = nll(z, t)\n";
    assert_int_equal(ot_run(text, in, 2, fetch, 1, out, NULL, NULL, 0, NULL), 0);
    assert_float_equal(out[0][0], 0.5, 1e-7); /* row 0 right (first of the tie), row 1 wrong */
    free(out[0]);
    int32_t bad[2] = {3, -1};
    struct ot_feed in2[] = {{"z", z, NULL, 6}, {"t", NULL, bad, 2}};
    assert_int_equal(ot_run(text, in2, 2, fetch, 3, out, NULL, NULL, 0, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(isnan(out[i][0]));
        free(out[i]);
    }
    float gy = 1, *g = NULL;
    struct ot_feed in3[] = {{"z", z, NULL, 6}, {"t", NULL, bad, 2}, {"gy", &gy, NULL, 1}};
    const char *gf[] = {"g"};
    char gtext[256];
    snprintf(gtext, sizeof gtext, "input z : f32[2, 3]\ninput t : i32[2]\ninput gy : f32[]\n"
             "g = class_loss_grad(z, t, gy, %d)\n", (int)CG_OP_cross_entropy);
    assert_int_equal(ot_run(gtext, in3, 3, gf, 1, &g, NULL, NULL, 0, NULL), 0);
    for (int i = 0; i < 6; i++)
        assert_true(isnan(g[i]));
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_mean_grad_large),
        cmocka_unit_test(test_ties_nan),
        cmocka_unit_test(test_sum_to),
        cmocka_unit_test(test_binary_bcast_grad),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_softmax_stable),
        cmocka_unit_test(test_l2_zero_row),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_loss_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
