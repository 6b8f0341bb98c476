/* test_api_exec.c: models through the public header alone (include/clgraph/clgraph.h): compile
 * with shapes binding symbols, set inputs, train, forward, read values and gradients, save and
 * load parameters, and the errors of misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include <clgraph/clgraph.h>

#include "device_test.h"

static const char graph[] = "input x : f32[N, 2]\ninput y : f32[N]\n"
                            "param w : f32[2] = zeros()\nparam b : f32[] = zeros()\n"
                            "param unused : f32[3] = ones()\n"
                            "pred = sum(x * w, 1) + b\nloss = mean(square(pred - y))\n"
                            "minimize loss over w, b\n";

/* text compiled for x : [4, 2] with optimizer and clip_grad, inputs set (y = 3 x0 - 2 x1 + 1). */
static struct cg_model *compile_with(struct cg_device *dev, const char *text, int train,
                                     const char *optimizer, double clip)
{
    struct cg_error e;
    struct cg_graph *g = NULL;
    assert_int_equal(cg_graph_load_text("mem.graph", text, strlen(text), &g, &e), CG_OK);
    struct cg_input_shape shapes[] = {{"x", 2, {4, 2}}, {"y", 1, {4}}};
    struct cg_model_options o = {shapes, 2, train, optimizer, 1, clip};
    struct cg_model *m = NULL;
    if (cg_model_compile(g, dev, &o, &m, &e) != CG_OK) {
        fprintf(stderr, "%s\n", e.msg);
        cg_graph_destroy(g);
        fail();
    }
    float x[8] = {1, 0, 0, 1, 1, 1, 2, -1}, y[4];
    for (int i = 0; i < 4; i++)
        y[i] = 3 * x[2 * i] - 2 * x[2 * i + 1] + 1;
    assert_int_equal(cg_model_set(m, "x", x, sizeof x, &e), CG_OK);
    assert_int_equal(cg_model_set(m, "y", y, sizeof y, &e), CG_OK);
    return m;
}

static struct cg_model *compile(struct cg_device *dev, int train)
{
    return compile_with(dev, graph, train, "sgd(lr=0.1)", 0);
}

static void test_train_save_load(void **state)
{
    struct cg_device *dev = *state;
    struct cg_error e;
    struct cg_model *m = compile(dev, 1);
    float loss0, loss, gw[2], gu[3], w[2];
    assert_int_equal(cg_model_forward(m, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "loss", &loss0, 4, &e), CG_OK);
    assert_int_equal(cg_model_step(m, &e), CG_OK);
    /* gradient of the first step, at w = 0, b = 0: d/dw mean((xw + b - y)^2) = -2/N sum x y */
    assert_int_equal(cg_model_get_grad(m, "w", gw, sizeof gw, &e), CG_OK);
    assert_true(fabsf(gw[0] - -12.0f) < 1e-5f && fabsf(gw[1] - 4.0f) < 1e-5f);
    assert_int_equal(cg_model_get_grad(m, "unused", gu, sizeof gu, &e), CG_OK);
    assert_true(gu[0] == 0 && gu[2] == 0);
    for (int k = 1; k < 300; k++)
        assert_int_equal(cg_model_step(m, &e), CG_OK);
    assert_int_equal(cg_model_steps(m), 300);
    assert_int_equal(cg_model_forward(m, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "loss", &loss, 4, &e), CG_OK);
    assert_true(loss0 > 1 && loss < 1e-4f);
    assert_int_equal(cg_model_get(m, "w", w, sizeof w, &e), CG_OK);
    assert_true(fabsf(w[0] - 3) < 0.01f && fabsf(w[1] + 2) < 0.01f);

    char dir[] = "/tmp/cg_api_exec_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(cg_model_save(m, dir, &e), CG_OK);
    struct cg_model *m2 = compile(dev, 0);
    assert_int_equal(cg_model_load(m2, dir, &e), CG_OK);
    assert_int_equal(cg_model_forward(m2, &e), CG_OK);
    float loss2;
    assert_int_equal(cg_model_get(m2, "loss", &loss2, 4, &e), CG_OK);
    assert_true(loss2 == loss);
    /* misuse */
    assert_int_equal(cg_model_step(m2, &e), CG_ERR_INPUT);
    assert_int_equal(cg_model_get_grad(m2, "w", gw, sizeof gw, &e), CG_ERR_INPUT);
    assert_int_equal(cg_model_get(m2, "nope", w, sizeof w, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no value named 'nope'"));
    assert_int_equal(cg_model_set(m2, "pred", w, sizeof w, &e), CG_ERR_INPUT);
    assert_int_equal(cg_model_set(m2, "w", w, 4, &e), CG_ERR_INPUT);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cg_model_destroy(m2);
    cg_model_destroy(m);
}

static void test_bad_options(void **state)
{
    struct cg_device *dev = *state;
    struct cg_error e;
    struct cg_graph *g = NULL;
    assert_int_equal(cg_graph_load_text("mem.graph", graph, strlen(graph), &g, &e), CG_OK);
    struct cg_model_options o = {NULL, 0, 1, "adam(lr=0)", 0, 0};
    struct cg_model *m = NULL;
    assert_int_equal(cg_model_compile(g, dev, &o, &m, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "lr must be positive"));
    struct cg_input_shape bad = {"z", 1, {3}};
    o.optimizer = NULL;
    o.shapes = &bad;
    o.nshapes = 1;
    assert_int_equal(cg_model_compile(g, dev, &o, &m, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no input 'z'"));
    assert_null(m);
    cg_graph_destroy(g);
}

/* cg_model_set_lr_scale multiplies the lr; clip_grad clips the first step's gradient (norm
 * sqrt(12^2 + 4^2 + 7^2) at w = 0, b = 0); `every` objectives alternate. */
static void test_lr_scale_clip_every(void **state)
{
    struct cg_device *dev = *state;
    struct cg_error e;
    struct cg_model *half = compile(dev, 1), *ref = compile_with(dev, graph, 1, "sgd(lr=0.05)", 0);
    float w[2], wr[2], b;
    assert_int_equal(cg_model_set_lr_scale(half, 0, &e), CG_OK);
    assert_int_equal(cg_model_step(half, &e), CG_OK);
    assert_int_equal(cg_model_get(half, "w", w, sizeof w, &e), CG_OK);
    assert_true(w[0] == 0 && w[1] == 0); /* lr 0: no change */
    cg_model_set_steps(half, 0);
    assert_int_equal(cg_model_set_lr_scale(half, 0.5, &e), CG_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cg_model_step(half, &e), CG_OK);
        assert_int_equal(cg_model_step(ref, &e), CG_OK);
    }
    assert_int_equal(cg_model_get(half, "w", w, sizeof w, &e), CG_OK);
    assert_int_equal(cg_model_get(ref, "w", wr, sizeof wr, &e), CG_OK);
    assert_memory_equal(w, wr, sizeof w); /* 0.1 * 0.5 is 0.05 exactly */
    assert_int_equal(cg_model_set_lr_scale(half, -1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "finite and >= 0, got -1"));
    assert_int_equal(cg_model_set_lr_scale(half, NAN, &e), CG_ERR_INPUT);
    cg_model_destroy(half);
    cg_model_destroy(ref);

    struct cg_model *m = compile_with(dev, graph, 1, "sgd(lr=0.1)", 1.0);
    assert_int_equal(cg_model_step(m, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "w", w, sizeof w, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "b", &b, sizeof b, &e), CG_OK);
    double f = 1.0 / (sqrt(209.0) + 1e-6);
    assert_true(fabs(w[0] - 1.2 * f) < 1e-6 && fabs(w[1] + 0.4 * f) < 1e-6 &&
                fabs(b - 0.7 * f) < 1e-6);
    cg_model_destroy(m);
    struct cg_graph *g = NULL;
    assert_int_equal(cg_graph_load_text("mem.graph", graph, strlen(graph), &g, &e), CG_OK);
    struct cg_model_options o = {NULL, 0, 1, NULL, 0, -1};
    assert_int_equal(cg_model_compile(g, dev, &o, &m, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "--clip-grad -1: expected a positive finite maximum norm"));
    cg_graph_destroy(g);

    static const char alt[] = "input x : f32[N, 2]\ninput y : f32[N]\n"
                              "param w : f32[2] = zeros()\nparam b : f32[] = zeros()\n"
                              "pred = sum(x * w, 1) + b\nloss = mean(square(pred - y))\n"
                              "minimize loss over w every 2\n"
                              "minimize loss over b with adam(lr=0.1) every 2 offset 1\n";
    m = compile_with(dev, alt, 1, "sgd(lr=0.1)", 0);
    float w1[2], b1;
    assert_int_equal(cg_model_step(m, &e), CG_OK); /* step 0: w only */
    assert_int_equal(cg_model_get(m, "w", w1, sizeof w1, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "b", &b1, sizeof b1, &e), CG_OK);
    assert_true(fabsf(w1[0] - 1.2f) < 1e-6f && b1 == 0);
    assert_int_equal(cg_model_step(m, &e), CG_OK); /* step 1: b only, Adam's first step: -lr */
    assert_int_equal(cg_model_get(m, "w", w, sizeof w, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "b", &b, sizeof b, &e), CG_OK);
    assert_memory_equal(w, w1, sizeof w);
    assert_true(fabsf(fabsf(b) - 0.1f) < 1e-6f);
    cg_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_save_load),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_lr_scale_clip_every),
    };
    return cmocka_run_group_tests(tests, cg_test_device_open, cg_test_device_close);
}
