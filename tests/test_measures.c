/* test_measures.c: the evaluation measures of src/eval/measures.c against scikit-learn, NumPy
 * and SciPy values in tests/eval/fixtures/ (written by tests/eval/gen_fixtures.py): accuracy,
 * balanced accuracy, group table and argmax (exact), linear and kernel ridge R^2 (with the grid
 * search's choice; the rule for constant outputs), alignment, uniformity and its log (also where
 * the mean underflows), crop mass and the mnist_grid box; the strided caps against explicit
 * subsets; every error message and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"
#include "eval/measures.h"
#include "util/json.h"

/* ---- Fixture access ------------------------------------------------------------------------ */

static const char *fixture_path(const char *problem, const char *file)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    snprintf(buf[k], sizeof buf[k], "%s/tests/eval/fixtures/%s/%s", src ? src : ".", problem,
             file);
    return buf[k];
}

/* Reads problem/name.npy, asserting success and the dtype. */
static struct cg_npy load(const char *problem, const char *name, enum cg_npy_dtype dt)
{
    char file[256];
    snprintf(file, sizeof file, "%s.npy", name);
    struct cg_npy a;
    struct cg_error e = {0};
    enum cg_status st = cg_npy_read(fixture_path(problem, file), &a, &e);
    if (st != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(a.dtype, dt);
    return a;
}

/* Parses problem/expected.json into *j. */
static void expected(const char *problem, struct cg_json *j)
{
    char *text;
    size_t len;
    struct cg_error e = {0};
    if (cg_read_file(fixture_path(problem, "expected.json"), 1 << 20, &text, &len, &e) != CG_OK)
        fail_msg("%s", e.msg);
    if (cg_json_parse(text, "expected.json", j, &e) != CG_OK)
        fail_msg("%s", e.msg);
    cg_free(text);
}

static double num(const struct cg_json *j, const char *key)
{
    double v;
    if (!cg_json_number(j, key, &v))
        fail_msg("expected.json has no number '%s'", key);
    return v;
}

#define assert_near(got, want, tol)                                                               \
    do {                                                                                          \
        double g_ = (got), w_ = (want);                                                           \
        if (!(fabs(g_ - w_) <= (tol)))                                                            \
            fail_msg("%s = %.12g, expected %.12g (tolerance %g)", #got, g_, w_, (double)(tol));   \
    } while (0)

/* Asserts that st is CG_ERR_INPUT and that e's message contains want. */
static void assert_error(enum cg_status st, const struct cg_error *e, const char *want)
{
    assert_int_equal(st, CG_ERR_INPUT);
    if (!strstr(e->msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, want);
}

/* ---- Classification ------------------------------------------------------------------------ */

static void test_classes(void **state)
{
    (void)state;
    struct cg_json j;
    expected("classes", &j);
    struct cg_npy yt = load("classes", "y_true", CG_NPY_I32);
    struct cg_npy yp = load("classes", "y_pred", CG_NPY_I32);
    struct cg_npy gr = load("classes", "group", CG_NPY_I32);
    struct cg_npy sc = load("classes", "scores", CG_NPY_F32);
    size_t n = yt.count;
    int k = (int)num(&j, "n_classes"), ng = (int)num(&j, "n_groups");
    struct cg_error e = {0};

    int32_t *pred = malloc(n * sizeof *pred);
    assert_int_equal(cg_measure_argmax(sc.data, n, k, pred, &e), CG_OK);
    assert_memory_equal(pred, yp.data, n * sizeof *pred);
    free(pred);

    double acc = -1, bacc = -1, worst = -1;
    assert_int_equal(cg_measure_accuracy(yt.data, yp.data, n, k, &acc, &e), CG_OK);
    assert_near(acc, num(&j, "accuracy"), 1e-12);
    assert_int_equal(cg_measure_balanced_accuracy(yt.data, yp.data, n, k, &bacc, &e), CG_OK);
    assert_near(bacc, num(&j, "balanced_accuracy"), 1e-12);
    assert_true(fabs(acc - bacc) > 1e-3); /* the fixture tells the two apart */

    struct cg_group_acc g[8];
    assert_int_equal(cg_measure_groups(yt.data, yp.data, gr.data, n, k, ng, g, &worst, &e),
                     CG_OK);
    const struct cg_json *groups = cg_json_get(&j, "groups", CG_JSON_ARR);
    assert_non_null(groups);
    assert_int_equal(groups->n, ng);
    for (int i = 0; i < ng; i++) {
        assert_int_equal(g[i].count, (size_t)num(&groups->items[i], "count"));
        assert_near(g[i].accuracy, num(&groups->items[i], "accuracy"), 1e-12);
        assert_true(g[i].correct <= g[i].count);
    }
    assert_int_equal(g[3].count, 0); /* an empty group does not make the worst 0 */
    assert_near(worst, num(&j, "worst_group_accuracy"), 1e-12);
    assert_true(worst > 0.3);

    cg_npy_free(&yt);
    cg_npy_free(&yp);
    cg_npy_free(&gr);
    cg_npy_free(&sc);
    cg_json_free(&j);
}

static void test_classes_small(void **state)
{
    (void)state;
    struct cg_error e = {0};
    const int32_t y[] = {0, 0, 0, 1}, p[] = {0, 0, 0, 0}, grp[] = {1, 1, 0, 1};
    double acc, bacc, worst;
    assert_int_equal(cg_measure_accuracy(y, p, 4, 2, &acc, &e), CG_OK);
    assert_true(acc == 0.75);
    assert_int_equal(cg_measure_balanced_accuracy(y, p, 4, 2, &bacc, &e), CG_OK);
    assert_true(bacc == 0.5);
    struct cg_group_acc g[2];
    assert_int_equal(cg_measure_groups(y, p, grp, 4, 2, 2, g, &worst, &e), CG_OK);
    assert_true(g[0].count == 1 && g[0].accuracy == 1.0);
    assert_true(g[1].count == 3 && g[1].correct == 2);
    assert_near(worst, 2.0 / 3.0, 1e-15);
    assert_int_equal(cg_measure_groups(y, p, grp, 4, 2, 2, g, NULL, &e), CG_OK);
    const float s[] = {1, 3, 3, 2, -1, -2};
    int32_t am[2];
    assert_int_equal(cg_measure_argmax(s, 2, 3, am, &e), CG_OK);
    assert_true(am[0] == 1 && am[1] == 0); /* the first maximum on ties */
}

static void test_classes_errors(void **state)
{
    (void)state;
    struct cg_error e = {0};
    const int32_t y[] = {0, 1, 2}, bad[] = {0, 3, 1}, neg[] = {0, -1, 1};
    double v;
    struct cg_group_acc g[3];
    assert_error(cg_measure_accuracy(y, bad, 3, 3, &v, &e), &e,
                 "y_pred[1] = 3 is not a class in [0, 3)");
    assert_error(cg_measure_accuracy(neg, y, 3, 3, &v, &e), &e, "y_true[1] = -1 is not a class");
    assert_error(cg_measure_accuracy(y, y, 0, 3, &v, &e), &e, "no examples");
    assert_error(cg_measure_accuracy(y, y, 3, 0, &v, &e), &e, "n_classes = 0");
    assert_error(cg_measure_accuracy(NULL, y, 3, 3, &v, &e), &e, "y_true is NULL");
    assert_error(cg_measure_balanced_accuracy(y, bad, 3, 3, &v, &e), &e,
                 "balanced accuracy: y_pred[1]");
    assert_error(cg_measure_groups(y, y, bad, 3, 3, 3, g, &v, &e), &e,
                 "group[1] = 3 is not a group in [0, 3)");
    assert_error(cg_measure_groups(y, y, y, 3, 3, 0, g, &v, &e), &e, "n_groups = 0");
    assert_error(cg_measure_groups(y, y, NULL, 3, 3, 3, g, &v, &e), &e, "group is NULL");
    const float s[] = {1, NAN};
    int32_t p[1];
    assert_error(cg_measure_argmax(s, 1, 2, p, &e), &e, "scores[0][1] is not finite");
    assert_error(cg_measure_argmax(s, 1, 0, p, &e), &e, "empty scores");
    cg_alloc_fail_after(0);
    assert_int_equal(cg_measure_balanced_accuracy(y, y, 3, 3, &v, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
}

/* ---- R^2 ----------------------------------------------------------------------------------- */

struct r2_fixture {
    struct cg_npy xtr, ytr, xte, yte;
    struct cg_r2_data d;
    struct cg_json j;
};

static void r2_load(const char *problem, struct r2_fixture *f)
{
    expected(problem, &f->j);
    f->xtr = load(problem, "x_train", CG_NPY_F32);
    f->ytr = load(problem, "y_train", CG_NPY_F32);
    f->xte = load(problem, "x_test", CG_NPY_F32);
    f->yte = load(problem, "y_test", CG_NPY_F32);
    f->d = (struct cg_r2_data){f->xtr.data, f->ytr.data, (size_t)f->xtr.shape[0],
                               f->xte.data, f->yte.data, (size_t)f->xte.shape[0],
                               (int)f->xtr.shape[1], (int)f->ytr.shape[1]};
    assert_int_equal(f->d.n_train, (size_t)num(&f->j, "n_train"));
    assert_int_equal(f->d.dy, (int)num(&f->j, "dy"));
}

static void r2_free(struct r2_fixture *f)
{
    cg_npy_free(&f->xtr);
    cg_npy_free(&f->ytr);
    cg_npy_free(&f->xte);
    cg_npy_free(&f->yte);
    cg_json_free(&f->j);
}

static void check_r2(const char *problem)
{
    struct r2_fixture f;
    r2_load(problem, &f);
    struct cg_error e = {0};
    double r2 = NAN;
    if (cg_measure_r2_linear(&f.d, 0, 0, &r2, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_near(r2, num(&f.j, "r2_linear"), 1e-6);

    struct cg_krr_choice ch;
    if (cg_measure_r2_kernel_ridge(&f.d, NULL, &r2, &ch, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_near(r2, num(&f.j, "r2_kernel_ridge"), 1e-6);
    assert_true(ch.alpha == num(&f.j, "kernel_ridge_alpha"));
    assert_near(ch.gamma, num(&f.j, "kernel_ridge_gamma"), 1e-12);
    assert_near(ch.cv_r2, num(&f.j, "kernel_ridge_cv_r2"), 1e-6);

    double alpha = num(&f.j, "fixed_alpha"), gamma = num(&f.j, "fixed_gamma");
    struct cg_krr_options o = {.alphas = &alpha, .n_alphas = 1, .gammas = &gamma, .n_gammas = 1};
    if (cg_measure_r2_kernel_ridge(&f.d, &o, &r2, &ch, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_near(r2, num(&f.j, "r2_kernel_ridge_fixed"), 1e-6);
    assert_true(isnan(ch.cv_r2) && ch.alpha == alpha && ch.gamma == gamma);
    r2_free(&f);
}

static void test_r2_linear_problem(void **state)
{
    (void)state;
    check_r2("r2_linear");
}

static void test_r2_nonlinear_problem(void **state)
{
    (void)state;
    check_r2("r2_nonlinear");
}

/* The caps take the rows floor(i * n / m): an explicit copy of those rows gives the same R^2. */
static void test_r2_caps(void **state)
{
    (void)state;
    struct r2_fixture f;
    r2_load("r2_nonlinear", &f);
    struct cg_error e = {0};
    size_t m = 300, mt = 150, p = (size_t)f.d.dx, q = (size_t)f.d.dy;
    float *x = malloc(m * p * sizeof *x), *y = malloc(m * q * sizeof *y);
    float *xt = malloc(mt * p * sizeof *xt), *yt = malloc(mt * q * sizeof *yt);
    for (size_t i = 0; i < m; i++) {
        size_t r = i * f.d.n_train / m;
        memcpy(x + i * p, (float *)f.xtr.data + r * p, p * sizeof *x);
        memcpy(y + i * q, (float *)f.ytr.data + r * q, q * sizeof *y);
    }
    for (size_t i = 0; i < mt; i++) {
        size_t r = i * f.d.n_test / mt;
        memcpy(xt + i * p, (float *)f.xte.data + r * p, p * sizeof *xt);
        memcpy(yt + i * q, (float *)f.yte.data + r * q, q * sizeof *yt);
    }
    struct cg_r2_data sub = {x, y, m, xt, yt, mt, f.d.dx, f.d.dy};
    double a, b;
    assert_int_equal(cg_measure_r2_linear(&f.d, m, mt, &a, &e), CG_OK);
    assert_int_equal(cg_measure_r2_linear(&sub, 0, 0, &b, &e), CG_OK);
    assert_true(a == b);
    struct cg_krr_options o = {.max_train = m, .max_test = mt};
    struct cg_krr_choice ca, cb;
    assert_int_equal(cg_measure_r2_kernel_ridge(&f.d, &o, &a, &ca, &e), CG_OK);
    assert_int_equal(cg_measure_r2_kernel_ridge(&sub, NULL, &b, &cb, &e), CG_OK);
    assert_true(a == b && ca.alpha == cb.alpha && ca.gamma == cb.gamma);
    /* the fit is not trivially perfect, and a capped fit differs from the full one */
    assert_true(a > 0.3 && a < 0.99);
    free(x);
    free(y);
    free(xt);
    free(yt);
    r2_free(&f);
}

/* Exactly linear targets: R^2 is 1. */
static void test_r2_exact(void **state)
{
    (void)state;
    enum { N = 40 };
    float x[N * 2], y[N * 2];
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)((i * 7) % 11);
        y[2 * i] = 3.0f * x[2 * i] - 2.0f * x[2 * i + 1] + 5.0f;
        y[2 * i + 1] = x[2 * i + 1];
    }
    struct cg_r2_data d = {x, y, N, x, y, N, 2, 2};
    struct cg_error e = {0};
    double r2;
    assert_int_equal(cg_measure_r2_linear(&d, 0, 0, &r2, &e), CG_OK);
    assert_near(r2, 1.0, 1e-9);
}

/* r2_score's rule for an output whose test values are all equal: 1 when predicted exactly (a
 * constant target standardises to 0 and kernel ridge predicts exactly 0), averaged uniformly
 * with the other outputs. */
static void test_r2_constant_output(void **state)
{
    (void)state;
    enum { N = 30 };
    float x[N], y1[N], y2[N * 2];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / N;
        y1[i] = sinf(6.0f * x[i]) + 0.1f * (float)((i * 7) % 5);
        y2[2 * i] = y1[i];
        y2[2 * i + 1] = 4.0f;
    }
    struct cg_r2_data one = {x, y1, N, x, y1, N, 1, 1}, two = {x, y2, N, x, y2, N, 1, 2};
    struct cg_error e = {0};
    double r1, r2;
    assert_int_equal(cg_measure_r2_kernel_ridge(&one, NULL, &r1, NULL, &e), CG_OK);
    assert_int_equal(cg_measure_r2_kernel_ridge(&two, NULL, &r2, NULL, &e), CG_OK);
    assert_true(r1 > 0.5 && r1 < 1.0);
    assert_near(r2, (r1 + 1.0) / 2.0, 1e-12);
}

static void test_r2_errors(void **state)
{
    (void)state;
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, y[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float nan_x[8] = {0, 1, 2, NAN, 4, 5, 6, 7};
    struct cg_r2_data d = {x, y, 8, x, y, 8, 1, 1};
    struct cg_error e = {0};
    double r2;
    struct cg_r2_data b = d;
    b.x_train = nan_x;
    assert_error(cg_measure_r2_linear(&b, 0, 0, &r2, &e), &e,
                 "linear R^2: x_train[3][0] is not finite");
    b = d;
    b.y_test = nan_x;
    assert_error(cg_measure_r2_kernel_ridge(&b, NULL, &r2, NULL, &e), &e,
                 "kernel ridge R^2: y_test[3][0] is not finite");
    b = d;
    b.n_train = 1;
    assert_error(cg_measure_r2_linear(&b, 0, 0, &r2, &e), &e, "1 train examples, need >= 2");
    b = d;
    b.n_test = 0;
    assert_error(cg_measure_r2_linear(&b, 0, 0, &r2, &e), &e, "no test examples");
    b = d;
    b.dy = 0;
    assert_error(cg_measure_r2_linear(&b, 0, 0, &r2, &e), &e, "1 features and 0 targets");
    b = d;
    b.x_test = NULL;
    assert_error(cg_measure_r2_linear(&b, 0, 0, &r2, &e), &e, "x_test is NULL");
    assert_error(cg_measure_r2_linear(NULL, 0, 0, &r2, &e), &e, "data is NULL");
    assert_error(cg_measure_r2_linear(&d, 1, 0, &r2, &e), &e, "max_train = 1");
    double bad = -1, ok = 1;
    struct cg_krr_options o = {.alphas = &bad, .n_alphas = 1};
    assert_error(cg_measure_r2_kernel_ridge(&d, &o, &r2, NULL, &e), &e,
                 "alpha -1 must be finite and > 0");
    o = (struct cg_krr_options){.gammas = &bad, .n_gammas = 1};
    assert_error(cg_measure_r2_kernel_ridge(&d, &o, &r2, NULL, &e), &e,
                 "gamma -1 must be finite and > 0");
    o = (struct cg_krr_options){.alphas = &ok, .n_alphas = 0};
    assert_error(cg_measure_r2_kernel_ridge(&d, &o, &r2, NULL, &e), &e, "empty grid");
    o = (struct cg_krr_options){.folds = 1};
    assert_error(cg_measure_r2_kernel_ridge(&d, &o, &r2, NULL, &e), &e,
                 "1 cross-validation folds, need >= 2");
    o = (struct cg_krr_options){.folds = 5};
    assert_error(cg_measure_r2_kernel_ridge(&d, &o, &r2, NULL, &e), &e,
                 "8 train examples are too few for 5 cross-validation folds");
    /* a tiny alpha on duplicated rows: K + alpha I is numerically singular */
    float dup[8] = {1, 1, 1, 1, 1, 1, 1, 2};
    double tiny = 1e-300, g1 = 1;
    b = d;
    b.x_train = dup;
    o = (struct cg_krr_options){.alphas = &tiny, .n_alphas = 1, .gammas = &g1, .n_gammas = 1};
    assert_error(cg_measure_r2_kernel_ridge(&b, &o, &r2, NULL, &e), &e,
                 "K + alpha I is not positive definite (alpha 1e-300, gamma 1)");
    cg_alloc_fail_after(0);
    assert_int_equal(cg_measure_r2_linear(&d, 0, 0, &r2, &e), CG_ERR_NOMEM);
    assert_int_equal(cg_measure_r2_kernel_ridge(&d, NULL, &r2, NULL, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(1);
    assert_int_equal(cg_measure_r2_kernel_ridge(&d, NULL, &r2, NULL, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
}

/* ---- Embeddings ---------------------------------------------------------------------------- */

static void test_embed(void **state)
{
    (void)state;
    struct cg_json j;
    expected("embed", &j);
    struct cg_npy z = load("embed", "z", CG_NPY_F32);
    struct cg_npy zp = load("embed", "z_pos", CG_NPY_F32);
    struct cg_npy zf = load("embed", "z_far", CG_NPY_F32);
    size_t n = (size_t)z.shape[0];
    int d = (int)z.shape[1];
    struct cg_error e = {0};
    double al, u, ul;
    assert_int_equal(cg_measure_alignment(z.data, zp.data, n, d, &al, &e), CG_OK);
    assert_near(al, num(&j, "alignment"), 1e-9);
    assert_int_equal(cg_measure_uniformity(z.data, n, d, 0, &u, &ul, &e), CG_OK);
    assert_near(u, num(&j, "uniformity"), 1e-9);
    assert_near(ul, num(&j, "uniformity_log"), 1e-9);
    assert_int_equal(cg_measure_uniformity(zf.data, n, d, 0, &u, &ul, &e), CG_OK);
    assert_true(u == 0.0);
    assert_near(ul / num(&j, "far_uniformity_log"), 1.0, 1e-9);
    assert_int_equal(cg_measure_uniformity(z.data, n, d, 0, NULL, &ul, &e), CG_OK);

    /* the cap: the strided rows floor(i * n / m) */
    size_t m = 100;
    float *sub = malloc(m * (size_t)d * sizeof *sub);
    for (size_t i = 0; i < m; i++)
        memcpy(sub + i * (size_t)d, (float *)z.data + (i * n / m) * (size_t)d,
               (size_t)d * sizeof *sub);
    double ua, ub;
    assert_int_equal(cg_measure_uniformity(z.data, n, d, m, &ua, NULL, &e), CG_OK);
    assert_int_equal(cg_measure_uniformity(sub, m, d, 0, &ub, NULL, &e), CG_OK);
    assert_true(ua == ub && ua != num(&j, "uniformity"));
    free(sub);
    cg_npy_free(&z);
    cg_npy_free(&zp);
    cg_npy_free(&zf);
    cg_json_free(&j);
}

static void test_embed_errors(void **state)
{
    (void)state;
    struct cg_error e = {0};
    const float z[4] = {0, 1, INFINITY, 0}, ok[4] = {0, 1, 1, 0};
    double v;
    assert_error(cg_measure_alignment(ok, z, 2, 2, &v, &e), &e,
                 "alignment: z_pos[1][0] is not finite (inf)");
    assert_error(cg_measure_alignment(ok, ok, 0, 2, &v, &e), &e, "empty embeddings [0, 2]");
    assert_error(cg_measure_alignment(ok, NULL, 2, 2, &v, &e), &e, "z_pos is NULL");
    assert_error(cg_measure_uniformity(z, 2, 2, 0, &v, NULL, &e), &e,
                 "uniformity: z[1][0] is not finite");
    assert_error(cg_measure_uniformity(ok, 1, 2, 0, &v, NULL, &e), &e, "need >= 2 rows");
    assert_error(cg_measure_uniformity(ok, 2, 2, 1, &v, NULL, &e), &e, "max_n = 1");
    cg_alloc_fail_after(0);
    assert_int_equal(cg_measure_uniformity(ok, 2, 2, 0, &v, NULL, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
}

/* ---- Crop mass ----------------------------------------------------------------------------- */

static void test_crops(void **state)
{
    (void)state;
    struct cg_json j;
    expected("crops", &j);
    struct cg_npy pr = load("crops", "probs", CG_NPY_F32);
    struct cg_npy cell = load("crops", "cell", CG_NPY_I32);
    size_t n = cell.count;
    struct cg_box *box = malloc(n * sizeof *box);
    struct cg_error e = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cg_measure_mnist_grid_box(((int32_t *)cell.data)[i], &box[i], &e), CG_OK);
    struct cg_crop_grid g = {(int)num(&j, "canvas"), (int)num(&j, "canvas"), (int)num(&j, "size"),
                             (int)num(&j, "stride")};
    assert_int_equal(pr.shape[1], 289);
    double mass;
    assert_int_equal(cg_measure_crop_mass(pr.data, box, n, &g, &mass, &e), CG_OK);
    assert_near(mass, num(&j, "crop_mass"), 1e-9);
    free(box);
    cg_npy_free(&pr);
    cg_npy_free(&cell);
    cg_json_free(&j);
}

/* The box of every cell, and the boundary of "intersects": a crop touching the box's edge
 * without overlapping area does not count. */
static void test_crop_boxes(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_box b;
    assert_int_equal(cg_measure_mnist_grid_box(0, &b, &e), CG_OK);
    assert_true(b.top == 0 && b.left == 0 && b.height == 28 && b.width == 28);
    assert_int_equal(cg_measure_mnist_grid_box(5, &b, &e), CG_OK);
    assert_true(b.top == 28 && b.left == 56);
    assert_int_equal(cg_measure_mnist_grid_box(8, &b, &e), CG_OK);
    assert_true(b.top == 56 && b.left == 56);
    /* 1-d grid of crops of 2 at stride 2 on a 6 x 2 canvas: rows [0,2), [2,4), [4,6) */
    struct cg_crop_grid g = {6, 2, 2, 2};
    const float p[3] = {0.25f, 0.5f, 0.25f};
    struct cg_box touch = {2, 0, 2, 2}; /* exactly the middle crop; the others only touch it */
    double mass;
    assert_int_equal(cg_measure_crop_mass(p, &touch, 1, &g, &mass, &e), CG_OK);
    assert_near(mass, 0.5, 1e-15);
    struct cg_box over = {1, 1, 2, 1}; /* rows 1-2, overlaps the first two crops */
    assert_int_equal(cg_measure_crop_mass(p, &over, 1, &g, &mass, &e), CG_OK);
    assert_near(mass, 0.75, 1e-15);
}

static void test_crop_errors(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_box b;
    assert_error(cg_measure_mnist_grid_box(9, &b, &e), &e, "cell 9 is not in [0, 9)");
    assert_error(cg_measure_mnist_grid_box(-1, &b, &e), &e, "cell -1");
    struct cg_crop_grid g = {6, 2, 2, 2};
    const float p[3] = {0.25f, 0.5f, 0.25f}, half[3] = {0.25f, 0.0f, 0.25f};
    const float negp[3] = {0.75f, 0.5f, -0.25f};
    struct cg_box box = {0, 0, 2, 2}, empty = {0, 0, 0, 2};
    double m;
    assert_error(cg_measure_crop_mass(half, &box, 1, &g, &m, &e), &e,
                 "probs[0] sums to 0.5 over the 3 crops, not 1");
    assert_error(cg_measure_crop_mass(negp, &box, 1, &g, &m, &e), &e,
                 "probs[0][2] = -0.25 is not a probability");
    assert_error(cg_measure_crop_mass(p, &empty, 1, &g, &m, &e), &e, "box[0] is empty (0x2)");
    assert_error(cg_measure_crop_mass(p, &box, 0, &g, &m, &e), &e, "no examples");
    struct cg_crop_grid bad = {6, 2, 3, 2};
    assert_error(cg_measure_crop_mass(p, &box, 1, &bad, &m, &e), &e,
                 "invalid crop grid (canvas 6x2, crop size 3, stride 2)");
    bad = (struct cg_crop_grid){6, 2, 2, 0};
    assert_error(cg_measure_crop_mass(p, &box, 1, &bad, &m, &e), &e, "stride 0");
    assert_error(cg_measure_crop_mass(p, &box, 1, NULL, &m, &e), &e, "grid is NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_classes_small),
        cmocka_unit_test(test_classes_errors),
        cmocka_unit_test(test_r2_linear_problem),
        cmocka_unit_test(test_r2_nonlinear_problem),
        cmocka_unit_test(test_r2_caps),
        cmocka_unit_test(test_r2_exact),
        cmocka_unit_test(test_r2_constant_output),
        cmocka_unit_test(test_r2_errors),
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_embed_errors),
        cmocka_unit_test(test_crops),
        cmocka_unit_test(test_crop_boxes),
        cmocka_unit_test(test_crop_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
