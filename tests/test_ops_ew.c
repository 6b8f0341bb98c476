/* test_ops_ew.c: the elementwise family on the test device: every unary op and every
 * broadcasting binary op, forward against the double references of src/ops/ref.c, gradients
 * through the autodiff pass (target = sum(y * r) with a fed weighting r) against central finite
 * differences of the references; constants; and the select semantics of relu/clamp gradients
 * (an infinite upstream gradient where the op is flat gives 0, as in PyTorch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "ops/ref.h"

#define RTOL 2e-4
#define ATOL 2e-5

struct unary_case {
    const char *call; /* the graph call with x, e.g. "pow(x, 1.5)" */
    enum cg_op_id op;
    double p0, p1;
    double margin;  /* keep inputs this far from 0 (kinks, log, sqrt) */
    int positive;   /* inputs made positive (log, sqrt, rsqrt, fractional pow) */
};

static const struct unary_case unary_cases[] = {
    {"neg(x)", CG_OP_neg, 0, 0, 0, 0},
    {"exp(x)", CG_OP_exp, 0, 0, 0, 0},
    {"log(x)", CG_OP_log, 0, 0, 0.2, 1},
    {"sqrt(x)", CG_OP_sqrt, 0, 0, 0.2, 1},
    {"rsqrt(x)", CG_OP_rsqrt, 0, 0, 0.3, 1},
    {"abs(x)", CG_OP_abs, 0, 0, 0.05, 0},
    {"square(x)", CG_OP_square, 0, 0, 0, 0},
    {"pow(x, 1.5)", CG_OP_pow, 1.5, 0, 0.2, 1},
    {"pow(x, 3)", CG_OP_pow, 3, 0, 0, 0},
    {"relu(x)", CG_OP_relu, 0, 0, 0.05, 0},
    {"leaky_relu(x, slope=0.2)", CG_OP_leaky_relu, 0.2, 0, 0.05, 0},
    {"sigmoid(x)", CG_OP_sigmoid, 0, 0, 0, 0},
    {"tanh(x)", CG_OP_tanh, 0, 0, 0, 0},
    {"softplus(x, beta=2, threshold=1.5)", CG_OP_softplus, 2, 1.5, 0.05, 0},
    {"clamp(x, -0.5, 0.7)", CG_OP_clamp, -0.5, 0.7, 0, 0},
};

#define NU 37 /* odd size: not a multiple of any work-group size */

struct ctx {
    enum cg_op_id op;
    double p0, p1;
    const double *r;
    size_t n;
    int ra, rb;
    const int64_t *as, *bs;
    const double *other;
    int which;
};

static double unary_target(const double *x, void *vc)
{
    struct ctx *c = vc;
    double y[NU], t = 0;
    cg_ref_unary(c->op, x, (int64_t)c->n, c->p0, c->p1, y);
    for (size_t i = 0; i < c->n; i++)
        t += y[i] * c->r[i];
    return t;
}

static void test_unary(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(unary_cases); k++) {
        const struct unary_case *uc = &unary_cases[k];
        float xf[NU], rf[NU];
        double x[NU], r[NU], want[NU], gwant[NU];
        ot_fill(xf, NU, (int)k + 1, uc->margin);
        ot_fill(rf, NU, 100 + (int)k, 0);
        for (int i = 0; i < NU; i++) {
            if (uc->positive)
                xf[i] = fabsf(xf[i]) + (float)uc->margin;
            if (uc->op == CG_OP_clamp && fabsf(xf[i] + 0.5f) < 0.02f)
                xf[i] += 0.05f; /* away from the bounds, where the derivative jumps */
            if (uc->op == CG_OP_clamp && fabsf(xf[i] - 0.7f) < 0.02f)
                xf[i] += 0.05f;
            x[i] = xf[i];
            r[i] = rf[i];
        }
        cg_ref_unary(uc->op, x, NU, uc->p0, uc->p1, want);
        struct ctx c = {.op = uc->op, .p0 = uc->p0, .p1 = uc->p1, .r = r, .n = NU};
        ot_fd_grad(unary_target, &c, x, NU, 1e-6, gwant);
        char text[512];
        snprintf(text, sizeof text,
                 "input x : f32[%d]\ninput r : f32[%d]\ny = %s\nt = sum(y * r)\n", NU, NU,
                 uc->call);
        struct ot_feed feeds[2] = {{"x", xf, NULL, NU}, {"r", rf, NULL, NU}};
        const char *fetch[1] = {"y"}, *wrt[1] = {"x"};
        float *y = NULL, *g = NULL;
        assert_int_equal(ot_run(text, feeds, 2, fetch, 1, &y, "t", wrt, 1, &g), 0);
        if (!ot_close(y, want, NU, RTOL, ATOL) || !ot_close(g, gwant, NU, 1e-3, 1e-4))
            fail_msg("unary case %s", uc->call);
        free(y);
        free(g);
    }
}

struct binary_case {
    const char *op;
    enum cg_op_id id;
    int ra, rb;
    int64_t as[4], bs[4];
};

static const struct binary_case binary_cases[] = {
    {"add", CG_OP_add, 3, 2, {3, 1, 4}, {5, 4}},
    {"sub", CG_OP_sub, 2, 3, {1, 5}, {3, 2, 1}},
    {"mul", CG_OP_mul, 3, 1, {2, 3, 5}, {5}},
    {"div", CG_OP_div, 1, 3, {1}, {2, 3, 4}},
    {"maximum", CG_OP_maximum, 3, 2, {2, 3, 4}, {3, 4}},
    {"minimum", CG_OP_minimum, 2, 2, {3, 1}, {1, 4}},
    {"mul", CG_OP_mul, 0, 2, {0}, {3, 7}},
};

static size_t numel(int r, const int64_t *d)
{
    size_t n = 1;
    for (int i = 0; i < r; i++)
        n *= (size_t)d[i];
    return n;
}

static double binary_target(const double *v, void *vc)
{
    struct ctx *c = vc;
    int64_t ys[8];
    int ry = cg_ref_broadcast_shape(c->ra, c->as, c->rb, c->bs, ys);
    size_t ny = numel(ry, ys);
    double *y = malloc(ny * sizeof *y), t = 0;
    const double *a = c->which == 0 ? v : c->other, *b = c->which == 0 ? c->other : v;
    cg_ref_binary(c->op, a, c->ra, c->as, b, c->rb, c->bs, y);
    for (size_t i = 0; i < ny; i++)
        t += y[i] * c->r[i];
    free(y);
    return t;
}

static void shape_text(int r, const int64_t *d, char *buf, size_t n)
{
    size_t u = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < r; i++)
        u += (size_t)snprintf(buf + u, n - u, "%s%lld", i ? ", " : "", (long long)d[i]);
    snprintf(buf + u, n - u, "]");
}

static void test_binary(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(binary_cases); k++) {
        const struct binary_case *bc = &binary_cases[k];
        int64_t ys[8];
        int ry = cg_ref_broadcast_shape(bc->ra, bc->as, bc->rb, bc->bs, ys);
        size_t na = numel(bc->ra, bc->as), nb = numel(bc->rb, bc->bs), ny = numel(ry, ys);
        float *af = malloc(na * 4), *bf = malloc(nb * 4), *rf = malloc(ny * 4);
        double *a = malloc(na * 8), *b = malloc(nb * 8), *r = malloc(ny * 8);
        double *want = malloc(ny * 8), *ga = malloc(na * 8), *gb = malloc(nb * 8);
        ot_fill(af, na, 3 + (int)k, 0.1);
        ot_fill(bf, nb, 40 + (int)k, 0.3); /* away from 0: div */
        ot_fill(rf, ny, 70 + (int)k, 0);
        for (size_t i = 0; i < na; i++)
            a[i] = af[i];
        for (size_t i = 0; i < nb; i++)
            b[i] = bf[i];
        for (size_t i = 0; i < ny; i++)
            r[i] = rf[i];
        cg_ref_binary(bc->id, a, bc->ra, bc->as, b, bc->rb, bc->bs, want);
        struct ctx c = {.op = bc->id, .r = r, .ra = bc->ra, .rb = bc->rb, .as = bc->as,
                        .bs = bc->bs, .other = b, .which = 0};
        ot_fd_grad(binary_target, &c, a, na, 1e-6, ga);
        c.other = a;
        c.which = 1;
        ot_fd_grad(binary_target, &c, b, nb, 1e-6, gb);
        char sa[64], sb[64], sy[64], text[512];
        shape_text(bc->ra, bc->as, sa, sizeof sa);
        shape_text(bc->rb, bc->bs, sb, sizeof sb);
        shape_text(ry, ys, sy, sizeof sy);
        snprintf(text, sizeof text, "input a : f32%s\ninput b : f32%s\ninput r : f32%s\n"
                 "y = %s(a, b)\nt = sum(y * r)\n", sa, sb, sy, bc->op);
        struct ot_feed feeds[3] = {{"a", af, NULL, na}, {"b", bf, NULL, nb}, {"r", rf, NULL, ny}};
        const char *fetch[1] = {"y"}, *wrt[2] = {"a", "b"};
        float *y = NULL, *g[2] = {NULL, NULL};
        assert_int_equal(ot_run(text, feeds, 3, fetch, 1, &y, "t", wrt, 2, g), 0);
        if (!ot_close(y, want, ny, RTOL, ATOL) || !ot_close(g[0], ga, na, 1e-3, 1e-4) ||
            !ot_close(g[1], gb, nb, 1e-3, 1e-4))
            fail_msg("binary case %zu (%s)", k, bc->op);
        free(y), free(g[0]), free(g[1]);
        free(af), free(bf), free(rf), free(a), free(b), free(r), free(want), free(ga), free(gb);
    }
}

static void test_constants_and_operators(void **state)
{
    (void)state;
    float xf[4] = {1, -2, 3, -4};
    struct ot_feed feeds[1] = {{"x", xf, NULL, 4}};
    const char *fetch[2] = {"y", "c"};
    float *out[2] = {NULL, NULL};
    assert_int_equal(ot_run("input x : f32[4]\nc = 2.5 * 4 - 1\ny = 0.5 * x - c / 2 + -x\n",
                            feeds, 1, fetch, 2, out, NULL, NULL, 0, NULL), -1); /* c is a number */
    free(out[0]);
    free(out[1]);
    out[0] = out[1] = NULL;
    assert_int_equal(ot_run("input x : f32[4]\ny = 0.5 * x - 9 / 2 + -x\nc = y * 0 + 9\n",
                            feeds, 1, fetch, 2, out, NULL, NULL, 0, NULL), 0);
    double want[4], want_c[4] = {9, 9, 9, 9};
    for (int i = 0; i < 4; i++)
        want[i] = 0.5 * xf[i] - 4.5 - xf[i];
    assert_true(ot_close(out[0], want, 4, 1e-6, 1e-6));
    assert_true(ot_close(out[1], want_c, 4, 0, 0));
    free(out[0]);
    free(out[1]);
}

/* relu and clamp backward select: gy = inf where the op is flat gives 0, not NaN. */
static void test_flat_gradient_selects(void **state)
{
    (void)state;
    float xf[4] = {-1, 2, -3, 0.5f}, gyf[4] = {INFINITY, 1, INFINITY, 2};
    char text[256];
    snprintf(text, sizeof text, "input x : f32[4]\ninput gy : f32[4]\ny = relu(x)\n"
             "g = unary_grad(x, y, gy, op=%d)\n", (int)CG_OP_relu);
    struct ot_feed feeds[2] = {{"x", xf, NULL, 4}, {"gy", gyf, NULL, 4}};
    const char *fetch[1] = {"g"};
    float *g = NULL;
    assert_int_equal(ot_run(text, feeds, 2, fetch, 1, &g, NULL, NULL, 0, NULL), 0);
    double want[4] = {0, 1, 0, 2};
    assert_true(ot_close(g, want, 4, 0, 0));
    free(g);
    snprintf(text, sizeof text, "input x : f32[4]\ninput gy : f32[4]\ny = clamp(x, -0.5, 1)\n"
             "g = unary_grad(x, y, gy, op=%d, p0=-0.5, p1=1)\n", (int)CG_OP_clamp);
    assert_int_equal(ot_run(text, feeds, 2, fetch, 1, &g, NULL, NULL, 0, NULL), 0);
    double want2[4] = {0, 0, 0, 2};
    assert_true(ot_close(g, want2, 4, 0, 0));
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_constants_and_operators),
        cmocka_unit_test(test_flat_gradient_selects),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_device_close(ot_dev);
    return rc;
}
