/* test_composite.c: the composite ops (mse ssim ms_ssim kl_std_normal info_nce pairwise_sqdist
 * entropy) of src/ops/composite.c, which expand into primitive ops at graph-build time.
 *
 * Build level (no device): each expansion gives the op's output type, leaves no composite node
 * behind, emits the expected primitives (counted by op), keeps the op's own error messages, and
 * differentiates (the autodiff pass finds a rule for every emitted op).
 * Device level (tests/op_test.h): forward values against src/ops/ref.c and gradients of
 * sum(y * r) against central finite differences of the same references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "op_test.h"
#include "ops/ref.h"

/* ---- build level ------------------------------------------------------------------------------ */

static struct cg_graph *load(const char *text, struct cg_error *e)
{
    struct cg_graph *g = NULL;
    if (cg_graph_load_text("c.graph", text, strlen(text), &g, e) != CG_OK)
        return NULL;
    return g;
}

static int count_op(const struct cg_graph *g, int op)
{
    int n = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        n += g->nodes[i].op == op;
    return n;
}

static const char *type_of(struct cg_graph *g, const char *name, char *buf, size_t n)
{
    int v = cg_graph_find_value(g, name);
    if (v < 0)
        return "(none)";
    return cg_shape_str(g, &g->values[v].shape, g->values[v].dtype, 1, buf, n);
}

/* One expansion: `y = EXPR` after the inputs, then `loss = sum(y)` (one more sum node); y must have type `want`, the op counts must hold
 * (pairs of op id and count, ended by -1) and the gradient of sum(y) in `wrt` must build. */
struct expand_case {
    const char *expr;
    const char *want;
    const char *wrt;
    int counts[16];
};

static const char *inputs = "input x : f32[N, 3, 28, 28]\n"
                            "input x2 : f32[N, 3, 28, 28]\n"
                            "input o : f32[2, 2, 30, 29]\n"
                            "input o2 : f32[2, 2, 30, 29]\n"
                            "input v : f32[N, 8]\n"
                            "input v2 : f32[N, 8]\n"
                            "input u : f32[6, 8]\n"
                            "input u2 : f32[6, 8]\n"
                            "input w : f32[5, 8]\n"
                            "input t : f32[N, 2, 3]\n"
                            "input q : f32[4]\n"
                            "input cz : f32[N, C, 16, 16]\n";

static const struct expand_case expand_cases[] = {
    {"mse(v, v2)", "f32[]", "v", {CG_OP_sub, 1, CG_OP_square, 1, CG_OP_mean, 1, CG_OP_mse, 0, -1}},
    {"kl_std_normal(t, t)", "f32[N]", "t",
     {CG_OP_exp, 1, CG_OP_sum, 2, CG_OP_kl_std_normal, 0, -1}},
    {"kl_std_normal(q, q)", "f32[4]", "q", {CG_OP_sum, 1, CG_OP_exp, 1, -1}},
    {"pairwise_sqdist(v, w)", "f32[N, 5]", "v",
     {CG_OP_linear, 1, CG_OP_transpose, 1, CG_OP_relu, 1, CG_OP_sum, 3, -1}},
    {"entropy(v)", "f32[N]", "v", {CG_OP_log, 1, CG_OP_sum, 2, CG_OP_neg, 1, -1}},
    {"entropy(t, axis=1)", "f32[N, 3]", "t", {CG_OP_log, 1, CG_OP_entropy, 0, -1}},
    {"info_nce(u, u2)", "f32[]", "u",
     {CG_OP_l2_normalize, 2, CG_OP_concat, 1, CG_OP_linear, 1, CG_OP_mask_diag, 1,
      CG_OP_logsumexp, 1, CG_OP_iota, 0, CG_OP_info_nce, 0, -1}},
    {"ssim(x, x2, win=7)", "f32[N]", "x",
     {CG_OP_gauss_window, 1, CG_OP_conv2d, 5, CG_OP_mean, 1, CG_OP_ssim, 0, -1}},
    {"ms_ssim(x, x2, scales=2, win=7)", "f32[N]", "x",
     {CG_OP_gauss_window, 1, CG_OP_conv2d, 10, CG_OP_avg_pool2d, 2, CG_OP_pow, 2,
      CG_OP_relu, 2, CG_OP_ms_ssim, 0, -1}},
    {"ms_ssim(o, o2, scales=3, weights=[0.2, 0.3, 0.5], win=7)", "f32[2]", "o",
     {CG_OP_gauss_window, 1, CG_OP_conv2d, 15, CG_OP_avg_pool2d, 4, CG_OP_pow, 3, -1}},
};

static void test_expansions(void **state)
{
    (void)state;
    for (size_t k = 0; k < CG_ARRAY_LEN(expand_cases); k++) {
        const struct expand_case *c = &expand_cases[k];
        char text[2048], buf[256];
        snprintf(text, sizeof text, "%sy = %s\nloss = sum(y)\n", inputs, c->expr);
        struct cg_error e = {0};
        struct cg_graph *g = load(text, &e);
        if (!g)
            fail_msg("%s: %s", c->expr, e.msg);
        if (strcmp(type_of(g, "y", buf, sizeof buf), c->want))
            fail_msg("%s: type %s, want %s", c->expr, buf, c->want);
        for (int i = 0; c->counts[i] >= 0; i += 2)
            if (count_op(g, c->counts[i]) != c->counts[i + 1])
                fail_msg("%s: %d %s nodes, want %d", c->expr, count_op(g, c->counts[i]),
                         cg_ops()[c->counts[i]].name, c->counts[i + 1]);
        int t = cg_graph_find_value(g, "loss"), wv = cg_graph_find_value(g, c->wrt), gv = -1;
        if (cg_autodiff(g, t, &wv, 1, &gv, &e) != CG_OK)
            fail_msg("%s: autodiff: %s", c->expr, e.msg);
        assert_true(gv >= 0);
        cg_graph_destroy(g);
    }
}

/* The op's own checks run first: the messages (and locations) are those of `clgraph check`
 * before expansion; plus the expansion's own need for a concrete channel count. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *want;
    } cases[] = {
        {"mse(v, t)", "13:5: error: mse: cannot broadcast [N, 8] with [N, 2, 3] (dim -1: 8 vs 3)"},
        {"ssim(x, x2, win=4)", "13:5: error: ssim: win must be an odd size >= 1, got 4"},
        {"ssim(x, v)", "13:5: error: ssim: shapes differ: f32[N, 3, 28, 28] vs f32[N, 8]"},
        {"ms_ssim(x, x2)", "13:5: error: ms_ssim: images f32[N, 3, 28, 28] are too small for 5 "
                           "scales with a 11x11 window: scale 3 is 7x7"},
        {"ms_ssim(x, x2, scales=2, weights=[1])",
         "13:5: error: ms_ssim: weights has 1 entries for 2 scales"},
        {"kl_std_normal(v, t)", "13:5: error: kl_std_normal: shapes differ: f32[N, 8] vs f32[N, 2, 3]"},
        {"info_nce(v, v2, temperature=0)",
         "13:5: error: info_nce: temperature must be positive, got 0"},
        {"pairwise_sqdist(v, t)", "13:5: error: pairwise_sqdist: b has 3 dims (f32[N, 2, 3]), "
                                  "expected 2 (M, D)"},
        {"entropy(v, axis=2)", "13:5: error: entropy: axis 2 is out of range for a tensor of 2 "
                               "dims (valid: -2 to 1)"},
        {"ssim(cz, cz, win=3)", "13:5: error: ssim: the channel count must be a concrete size "
                                "here (bind the symbol with --bind or feed a concrete shape)"},
    };
    for (size_t k = 0; k < CG_ARRAY_LEN(cases); k++) {
        char text[2048];
        snprintf(text, sizeof text, "%sy = %s\n", inputs, cases[k].expr);
        struct cg_error e = {0};
        struct cg_graph *g = load(text, &e);
        if (g)
            fail_msg("%s: built", cases[k].expr);
        if (!strstr(e.msg, cases[k].want))
            fail_msg("%s:\n  got  %s\n  want %s", cases[k].expr, e.msg, cases[k].want);
    }
}

/* Symbols stay symbolic: info_nce needs no concrete batch size (no labels), N unifies through
 * the composites. (Its gradient needs a bound N: concat's rule slices at concrete offsets.) */
static void test_symbols(void **state)
{
    (void)state;
    struct cg_error e = {0};
    char buf[256];
    struct cg_graph *g = load("input a : f32[N, 4]\ninput b : f32[M, 4]\ninput y : i32[M]\n"
                              "k = kl_std_normal(a, b)\nz = info_nce(a, b) + mean(k)\n"
                              "c = cross_entropy(b, y)\n", &e);
    if (!g)
        fail_msg("%s", e.msg);
    assert_string_equal(type_of(g, "k", buf, sizeof buf), "f32[N]");
    assert_string_equal(type_of(g, "z", buf, sizeof buf), "f32[]");
    cg_graph_destroy(g);
}

static void test_cim_graph(void **state)
{
    (void)state;
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/graphs/cim.graph", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        skip();
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    if (cg_graph_load_text(path, text, n, &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(count_op(g, CG_OP_ms_ssim), 0);
    assert_int_equal(count_op(g, CG_OP_gauss_window), 2);
    int64_t total = 0;
    for (size_t i = 0; i < g->nparams; i++)
        total += cg_shape_numel(g, &g->params[i].shape);
    assert_int_equal(total, 3075971);
    cg_graph_destroy(g);
}

/* ---- device level ------------------------------------------------------------------------------ */

/* ot_run fetching y and the gradients of `loss`: 1 when it ran, -1 on failure (printed). */
static int run(const char *text, const struct ot_feed *feeds, int nfeeds, float **y,
               const char **wrt, int nwrt, float **grads)
{
    const char *fetch[1] = {"y"};
    return ot_run(text, feeds, nfeeds, fetch, 1, y, "loss", wrt, nwrt, grads) == 0 ? 1 : -1;
}

/* A device case: up to two inputs, the output y (ny values) and r (same shape), the reference
 * forward, and the tolerances. */
struct dev_case {
    const char *text; /* declares the inputs a, b (when nin == 2) and r; computes y */
    int nin;
    size_t n[2], ny;
    void (*ref)(const double *const *in, const void *arg, double *y);
    const void *arg;
    double rtol, atol, grtol, gatol;
};

struct fd_ctx {
    const struct dev_case *c;
    const double *in[2];
    const double *r;
    double *y;
};

static double loss_of(const double *x, void *vctx)
{
    (void)x; /* x is one of ctx->in, perturbed in place */
    struct fd_ctx *f = vctx;
    f->c->ref(f->in, f->c->arg, f->y);
    double s = 0;
    for (size_t i = 0; i < f->c->ny; i++)
        s += f->y[i] * f->r[i];
    return s;
}

static void dev_check(const struct dev_case *c, float *const *data)
{
    float *r = malloc(c->ny * 4), *y = NULL, *grads[2] = {NULL, NULL};
    double *in[2] = {NULL, NULL}, *rd = malloc(c->ny * 8), *yd = malloc(c->ny * 8);
    ot_fill(r, c->ny, 9, 0.2);
    for (size_t i = 0; i < c->ny; i++)
        rd[i] = r[i];
    struct ot_feed feeds[3] = {{"a", data[0], NULL, c->n[0]}, {"b", data[1], NULL, c->n[1]},
                               {"r", r, NULL, c->ny}};
    if (c->nin == 1)
        feeds[1] = feeds[2];
    const char *wrt[2] = {"a", "b"};
    char text[2048];
    snprintf(text, sizeof text, "%sloss = sum(y * r)\n", c->text);
    int rc = run(text, feeds, c->nin + 1, &y, wrt, c->nin, grads);
    assert_int_equal(rc, 1);
    for (int k = 0; k < c->nin; k++) {
        in[k] = malloc(c->n[k] * 8);
        for (size_t i = 0; i < c->n[k]; i++)
            in[k][i] = data[k][i];
    }
    struct fd_ctx f = {c, {in[0], in[1]}, rd, yd};
    c->ref(f.in, c->arg, yd);
    assert_true(ot_close(y, yd, c->ny, c->rtol, c->atol));
    for (int k = 0; k < c->nin; k++) {
        double *gd = malloc(c->n[k] * 8);
        ot_fd_grad(loss_of, &f, in[k], c->n[k], 1e-4, gd);
        if (!ot_close(grads[k], gd, c->n[k], c->grtol, c->gatol))
            fail_msg("gradient of input %d", k);
        free(gd);
    }
    free(r), free(rd), free(yd), free(y), free(grads[0]), free(grads[1]), free(in[0]),
        free(in[1]);
}

static float *filled(size_t n, int seed, double margin)
{
    float *x = malloc(n * 4);
    ot_fill(x, n, seed, margin);
    return x;
}

/* mse over a [3, 4] and a broadcast b [4]. */
static void ref_mse(const double *const *in, const void *arg, double *y)
{
    (void)arg;
    int64_t as[2] = {3, 4}, bs[1] = {4};
    y[0] = cg_ref_mse(in[0], 2, as, in[1], 1, bs);
}

static void test_dev_mse(void **state)
{
    (void)state;
    float *d[2] = {filled(12, 1, 0), filled(4, 2, 0)};
    struct dev_case c = {"input a : f32[3, 4]\ninput b : f32[4]\ninput r : f32[]\ny = mse(a, b)\n",
                         2, {12, 4}, 1, ref_mse, NULL, 1e-5, 1e-6, 1e-3, 1e-5};
    dev_check(&c, d);
    free(d[0]), free(d[1]);
}

/* kl_std_normal over [3, 2, 2] (4 features per row). */
static void ref_kl(const double *const *in, const void *arg, double *y)
{
    (void)arg;
    cg_ref_kl_std_normal(in[0], in[1], 3, 4, y);
}

static void test_dev_kl(void **state)
{
    (void)state;
    float *d[2] = {filled(12, 3, 0), filled(12, 4, 0)};
    struct dev_case c = {"input a : f32[3, 2, 2]\ninput b : f32[3, 2, 2]\ninput r : f32[3]\n"
                         "y = kl_std_normal(a, b)\n",
                         2, {12, 12}, 3, ref_kl, NULL, 1e-5, 1e-5, 1e-3, 1e-4};
    dev_check(&c, d);
    free(d[0]), free(d[1]);
}

static void ref_pairwise(const double *const *in, const void *arg, double *y)
{
    (void)arg;
    cg_ref_pairwise_sqdist(in[0], 3, in[1], 5, 4, y);
}

static void test_dev_pairwise(void **state)
{
    (void)state;
    float *d[2] = {filled(12, 5, 0), filled(20, 6, 0)};
    struct dev_case c = {"input a : f32[3, 4]\ninput b : f32[5, 4]\ninput r : f32[3, 5]\n"
                         "y = pairwise_sqdist(a, b)\n",
                         2, {12, 20}, 15, ref_pairwise, NULL, 1e-4, 1e-5, 1e-3, 1e-4};
    dev_check(&c, d);
    free(d[0]), free(d[1]);
}

/* entropy of p [3, 5] > 0 along axis *arg. */
static void ref_entropy(const double *const *in, const void *arg, double *y)
{
    int64_t ps[2] = {3, 5};
    cg_ref_entropy(in[0], 2, ps, *(const int *)arg, y);
}

static void test_dev_entropy(void **state)
{
    (void)state;
    float *d[2] = {filled(15, 7, 0), NULL};
    for (int i = 0; i < 15; i++)
        d[0][i] = 0.1f + 0.3f * fabsf(d[0][i]);
    static const int ax1 = 1, ax0 = 0;
    struct dev_case c1 = {"input a : f32[3, 5]\ninput r : f32[3]\ny = entropy(a)\n", 1, {15, 0},
                          3, ref_entropy, &ax1, 1e-5, 1e-5, 1e-3, 1e-4};
    struct dev_case c0 = {"input a : f32[3, 5]\ninput r : f32[5]\ny = entropy(a, axis=0)\n", 1,
                          {15, 0}, 5, ref_entropy, &ax0, 1e-5, 1e-5, 1e-3, 1e-4};
    dev_check(&c1, d);
    dev_check(&c0, d);
    free(d[0]);
}

/* info_nce over za, zb [4, 3] at temperature *arg. */
static void ref_nce(const double *const *in, const void *arg, double *y)
{
    y[0] = cg_ref_info_nce(in[0], in[1], 4, 3, *(const double *)arg);
}

static void test_dev_info_nce(void **state)
{
    (void)state;
    float *d[2] = {filled(12, 8, 0), filled(12, 9, 0)};
    static const double t5 = 0.5, t2 = 0.2;
    struct dev_case c = {"input a : f32[4, 3]\ninput b : f32[4, 3]\ninput r : f32[]\n"
                         "y = info_nce(a, b)\n",
                         2, {12, 12}, 1, ref_nce, &t5, 1e-5, 1e-5, 1e-3, 1e-4};
    struct dev_case c2 = {"input a : f32[4, 3]\ninput b : f32[4, 3]\ninput r : f32[]\n"
                          "y = info_nce(a, b, temperature=0.2)\n",
                          2, {12, 12}, 1, ref_nce, &t2, 1e-5, 1e-5, 1e-3, 1e-4};
    dev_check(&c, d);
    dev_check(&c2, d);
    free(d[0]), free(d[1]);
}

/* Image pairs in [0, 1] with b close to a (SSIM well above 0 at every scale). */
static void image_pair(size_t n, float **a, float **b)
{
    *a = filled(n, 10, 0);
    *b = filled(n, 11, 0);
    for (size_t i = 0; i < n; i++) {
        (*a)[i] = 0.5f + 0.4f * (*a)[i] / 1.3f;
        (*b)[i] = 0.8f * (*a)[i] + 0.2f * (0.5f + 0.4f * (*b)[i] / 1.3f);
    }
}

struct ssim_arg {
    int64_t xs[4], scales, win;
    const double *weights;
    double sigma, k1, k2, range;
};

static void ref_ssim(const double *const *in, const void *varg, double *y)
{
    const struct ssim_arg *s = varg;
    if (s->scales == 0)
        cg_ref_ssim(in[0], in[1], s->xs, s->win, s->sigma, s->k1, s->k2, s->range, y);
    else
        assert_int_equal(cg_ref_ms_ssim(in[0], in[1], s->xs, s->scales, s->weights, s->win,
                                        s->sigma, s->k1, s->k2, s->range, y),
                         CG_OK);
}

static void test_dev_ssim(void **state)
{
    (void)state;
    float *d[2];
    image_pair(2 * 2 * 9 * 10, &d[0], &d[1]);
    static const struct ssim_arg s5 = {{2, 2, 9, 10}, 0, 5, NULL, 1.5, 0.01, 0.03, 1};
    static const struct ssim_arg s3 = {{2, 2, 9, 10}, 0, 3, NULL, 1.0, 0.02, 0.05, 2};
    struct dev_case c = {"input a : f32[2, 2, 9, 10]\ninput b : f32[2, 2, 9, 10]\n"
                         "input r : f32[2]\ny = ssim(a, b, win=5)\n",
                         2, {360, 360}, 2, ref_ssim, &s5, 5e-4, 5e-5, 5e-3, 2e-4};
    struct dev_case c3 = {"input a : f32[2, 2, 9, 10]\ninput b : f32[2, 2, 9, 10]\n"
                          "input r : f32[2]\ny = ssim(a, b, win=3, sigma=1, k1=0.02, k2=0.05, "
                          "range=2)\n",
                          2, {360, 360}, 2, ref_ssim, &s3, 5e-4, 5e-5, 5e-3, 2e-4};
    dev_check(&c, d);
    dev_check(&c3, d);
    free(d[0]), free(d[1]);
}

static void test_dev_ms_ssim(void **state)
{
    (void)state;
    float *d[2];
    image_pair(1 * 2 * 23 * 22, &d[0], &d[1]);
    static const struct ssim_arg std3 = {{1, 2, 23, 22}, 3, 5, NULL, 1.5, 0.01, 0.03, 1};
    static const double given[2] = {0.5, 1.0};
    static const struct ssim_arg w2 = {{1, 2, 23, 22}, 2, 3, given, 1.5, 0.01, 0.03, 1};
    struct dev_case c = {"input a : f32[1, 2, 23, 22]\ninput b : f32[1, 2, 23, 22]\n"
                         "input r : f32[1]\ny = ms_ssim(a, b, scales=3, win=5)\n",
                         2, {1012, 1012}, 1, ref_ssim, &std3, 5e-4, 5e-5, 5e-3, 2e-4};
    struct dev_case c2 = {"input a : f32[1, 2, 23, 22]\ninput b : f32[1, 2, 23, 22]\n"
                          "input r : f32[1]\ny = ms_ssim(a, b, scales=2, weights=[0.5, 1], "
                          "win=3)\n",
                          2, {1012, 1012}, 1, ref_ssim, &w2, 5e-4, 5e-5, 5e-3, 2e-4};
    dev_check(&c, d);
    dev_check(&c2, d);
    free(d[0]), free(d[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansions),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_symbols),      cmocka_unit_test(test_cim_graph),
        cmocka_unit_test(test_dev_mse),      cmocka_unit_test(test_dev_kl),
        cmocka_unit_test(test_dev_pairwise), cmocka_unit_test(test_dev_entropy),
        cmocka_unit_test(test_dev_info_nce), cmocka_unit_test(test_dev_ssim),
        cmocka_unit_test(test_dev_ms_ssim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
