/* test_probe.c: the device-trained linear probe (src/eval/probe.c) against scikit-learn on the
 * fixed problem of tests/eval/fixtures/probe (tests/eval/gen_fixtures.py: 4 classes, 20
 * anisotropic offset features, 1000 train / 500 test; LogisticRegression(C=1, multinomial,
 * lbfgs) on StandardScaler features): the test accuracy within 1 point of scikit-learn's, the
 * train accuracy within 1 point, the balanced accuracy within 2, and the objective within 0.1 %
 * of the optimum scikit-learn reaches (tests/eval/probe_ref, gen_probe_reference.py). Also:
 * two fits give the same bits, and bad problems are refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/npy.h"
#include "eval/probe.h"
#include "util/json.h"

static struct cg_device *dev;
static struct cg_npy xtr, ytr, xte, yte;
static struct cg_json expected;

static void load(const char *name, struct cg_npy *a)
{
    char path[4096];
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/eval/fixtures/probe/%s", src ? src : ".", name);
    struct cg_error e;
    cg_npy_free(a);
    if (cg_npy_read(path, a, &e) != CG_OK)
        fail_msg("%s", e.msg);
}

static int setup(void **state)
{
    (void)state;
    struct cg_error e;
    if (cg_device_open(NULL, 0, &dev, &e) != CG_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_device_close(dev);
    cg_npy_free(&xtr), cg_npy_free(&ytr), cg_npy_free(&xte), cg_npy_free(&yte);
    cg_json_free(&expected);
    return 0;
}

static struct cg_probe_problem problem(void)
{
    load("x_train.npy", &xtr);
    load("y_train.npy", &ytr);
    load("x_test.npy", &xte);
    load("y_test.npy", &yte);
    assert_int_equal(xtr.dtype, CG_NPY_F32);
    assert_int_equal(ytr.dtype, CG_NPY_I32);
    struct cg_probe_problem p = {xtr.data, ytr.data, (size_t)xtr.shape[0], xte.data, yte.data,
                                 (size_t)xte.shape[0], (int)xtr.shape[1], 4};
    char path[4096], *text;
    size_t len;
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/eval/fixtures/probe/expected.json", src ? src : ".");
    struct cg_error e;
    cg_json_free(&expected);
    if (cg_read_file(path, 1 << 20, &text, &len, &e) != CG_OK ||
        cg_json_parse(text, path, &expected, &e) != CG_OK)
        fail_msg("%s", e.msg);
    cg_free(text);
    double k;
    assert_true(cg_json_number(&expected, "n_classes", &k));
    p.n_classes = (int)k;
    return p;
}

static double want(const char *key)
{
    double v;
    if (!cg_json_number(&expected, key, &v))
        fail_msg("expected.json has no number '%s'", key);
    return v;
}

static void test_agrees_with_sklearn(void **state)
{
    (void)state;
    struct cg_probe_problem p = problem();
    struct cg_probe_result r, r2;
    struct cg_error e;
    float W[4 * 20], W2[4 * 20], b[4], b2[4];
    if (cg_probe_fit(dev, &p, NULL, &r, W, b, &e) != CG_OK)
        fail_msg("%s", e.msg);
    printf("probe: test accuracy %.4f (sklearn %.4f), balanced %.4f (sklearn %.4f), train %.4f "
           "(sklearn %.4f), objective %.6f, %d steps\n", r.accuracy, want("test_accuracy"),
           r.balanced_accuracy, want("test_balanced_accuracy"), r.train_accuracy,
           want("train_accuracy"), r.objective, r.steps);
    assert_true(fabs(r.accuracy - want("test_accuracy")) <= want("tolerance_accuracy"));
    assert_true(fabs(r.train_accuracy - want("train_accuracy")) <= 0.01);
    assert_true(fabs(r.balanced_accuracy - want("test_balanced_accuracy")) <= 0.02);
    /* the optimum scikit-learn reaches (tests/eval/gen_probe_reference.py) */
    char path[4096], *text;
    size_t len;
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/eval/probe_ref/expected.json", src ? src : ".");
    struct cg_json ref;
    double obj;
    if (cg_read_file(path, 1 << 20, &text, &len, &e) != CG_OK ||
        cg_json_parse(text, path, &ref, &e) != CG_OK)
        fail_msg("%s", e.msg);
    cg_free(text);
    assert_true(cg_json_number(&ref, "objective_value", &obj));
    cg_json_free(&ref);
    printf("probe: objective %.6f, scikit-learn's %.6f\n", r.objective, obj);
    assert_true(r.objective <= obj * 1.001);
    assert_true(r.objective >= obj * (1 - 1e-4)); /* the same objective, not a lower one */
    /* deterministic */
    if (cg_probe_fit(dev, &p, NULL, &r2, W2, b2, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_memory_equal(W, W2, sizeof W);
    assert_memory_equal(b, b2, sizeof b);
}

static void test_refusals(void **state)
{
    (void)state;
    struct cg_probe_problem p = problem();
    struct cg_probe_result r;
    struct cg_error e;
    int32_t bad[1000];
    memcpy(bad, p.y_train, sizeof bad);
    bad[7] = 4;
    p.y_train = bad;
    assert_int_equal(cg_probe_fit(dev, &p, NULL, &r, NULL, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "train label 4 of example 7 is outside [0, 4)"));
    p = problem();
    p.n_classes = 1;
    assert_int_equal(cg_probe_fit(dev, &p, NULL, &r, NULL, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "two classes"));
    p = problem();
    float x[500 * 20];
    memcpy(x, p.x_test, sizeof x);
    x[3 * 20 + 5] = NAN;
    p.x_test = x;
    assert_int_equal(cg_probe_fit(dev, &p, NULL, &r, NULL, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "test feature 5 of example 3 is not finite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_sklearn),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
