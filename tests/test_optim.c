/* test_optim.c: the optimizer pass and its kernels (passes/optim.c, cl/optim.cl) on the test
 * device: each optimizer's update over 3 steps against a host reference of PyTorch's rule,
 * optimizer parsing, a tiny linear regression converging, and bit-identical repeatability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "op_test.h"
#include "passes/optim.h"

#define NW 10 /* two float4 groups and a scalar tail */

/* A compiled training graph. */
struct tg {
    struct cg_graph *g;
    struct cg_exec *x;
    struct cg_optim_plan plan;
};

static int tg_open(struct tg *t, const char *text, const char *optim, uint64_t seed)
{
    struct cg_error e = {0};
    struct cg_optim o;
    memset(t, 0, sizeof *t);
    enum cg_status st = cg_optim_parse(optim, &o, &e);
    if (st == CG_OK)
        st = cg_graph_load_text("test.graph", text, strlen(text), &t->g, &e);
    if (st == CG_OK)
        st = cg_optim_expand(t->g, &o, 0, &t->plan, &e);
    if (st == CG_OK && ot_device())
        st = cg_exec_create(t->g, ot_dev, &t->x, &e);
    if (st == CG_OK && t->x)
        st = cg_exec_init_params(t->x, seed, &e);
    if (st != CG_OK || !t->x) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static void tg_close(struct tg *t)
{
    cg_exec_destroy(t->x);
    cg_optim_plan_free(&t->plan);
    cg_graph_destroy(t->g);
}

static void tg_rw(struct tg *t, const char *name, float *data, size_t n, int write)
{
    struct cg_error e = {0};
    int v = cg_graph_find_value(t->g, name);
    assert_true(v >= 0);
    enum cg_status st = write ? cg_exec_write(t->x, v, data, n * 4, &e)
                              : cg_exec_read(t->x, v, data, n * 4, &e);
    if (st != CG_OK)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(st, CG_OK);
}

static void tg_step(struct tg *t, uint64_t seed, uint64_t step)
{
    struct cg_error e = {0};
    enum cg_status st = cg_exec_run_nodes(t->x, seed, step, 0, t->plan.update_end, &e);
    if (st != CG_OK)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(st, CG_OK);
}

/* PyTorch's update of one element at step t (1-based), in double; s0/s1 are the state. */
struct ref_opt {
    int adam, adamw;
    double lr, mom, damp, wd, b1, b2, eps;
    int nesterov;
};

static void ref_update(const struct ref_opt *o, int t, double *p, double g, double *s0,
                       double *s1)
{
    if (!o->adam) {
        double d = g + o->wd * *p;
        if (o->mom != 0) {
            *s0 = t == 1 ? d : o->mom * *s0 + (1 - o->damp) * d;
            d = o->nesterov ? d + o->mom * *s0 : *s0;
        }
        *p -= o->lr * d;
        return;
    }
    if (o->adamw)
        *p *= 1 - o->lr * o->wd;
    else
        g += o->wd * *p;
    *s0 = o->b1 * *s0 + (1 - o->b1) * g;
    *s1 = o->b2 * *s1 + (1 - o->b2) * g * g;
    double bc1 = 1 - pow(o->b1, t), bc2 = 1 - pow(o->b2, t);
    *p -= o->lr / bc1 * *s0 / (sqrt(*s1) / sqrt(bc2) + o->eps);
}

/* minimize sum(square(w)) (gradient 2w) for 3 steps; w and its state against the reference. */
static void check_optim(const char *spec, struct ref_opt o, const char *state0)
{
    struct tg t;
    assert_int_equal(tg_open(&t, "param w : f32[10] = zeros()\nminimize sum(square(w))\n", spec,
                             0),
                     0);
    float w[NW], got[NW];
    double p[NW], s0[NW] = {0}, s1[NW] = {0};
    ot_fill(w, NW, 3, 0.1);
    for (int i = 0; i < NW; i++)
        p[i] = w[i];
    tg_rw(&t, "w", w, NW, 1);
    for (int step = 1; step <= 3; step++) {
        tg_step(&t, 0, (uint64_t)step - 1);
        for (int i = 0; i < NW; i++)
            ref_update(&o, step, &p[i], 2 * p[i], &s0[i], &s1[i]);
        tg_rw(&t, "w", got, NW, 0);
        if (!ot_close(got, p, NW, 2e-5, 1e-7))
            fail_msg("%s: w differs at step %d", spec, step);
        if (state0) {
            tg_rw(&t, state0, got, NW, 0);
            if (!ot_close(got, s0, NW, 2e-5, 1e-7))
                fail_msg("%s: %s differs at step %d", spec, state0, step);
        }
    }
    tg_close(&t);
}

static void test_sgd(void **state)
{
    (void)state;
    check_optim("sgd(lr=0.1)", (struct ref_opt){.lr = 0.1}, NULL);
    check_optim("sgd(lr=0.1, weight_decay=0.05)", (struct ref_opt){.lr = 0.1, .wd = 0.05}, NULL);
    check_optim("sgd(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)",
                (struct ref_opt){.lr = 0.1, .mom = 0.9, .damp = 0.2, .wd = 0.01},
                "w:momentum_buffer");
    check_optim("sgd(lr=0.05, momentum=0.8, nesterov=1)",
                (struct ref_opt){.lr = 0.05, .mom = 0.8, .nesterov = 1}, "w:momentum_buffer");
}

static void test_adam(void **state)
{
    (void)state;
    struct ref_opt a = {.adam = 1, .lr = 0.001, .b1 = 0.9, .b2 = 0.999, .eps = 1e-8};
    check_optim("adam()", a, "w:exp_avg");
    a.lr = 0.01;
    a.wd = 0.1;
    a.b1 = 0.8;
    a.b2 = 0.99;
    a.eps = 1e-6;
    check_optim("adam(lr=0.01, weight_decay=0.1, beta1=0.8, beta2=0.99, eps=1e-6)", a,
                "w:exp_avg");
    struct ref_opt w = {.adam = 1, .adamw = 1, .lr = 0.01, .b1 = 0.9, .b2 = 0.999, .eps = 1e-8,
                        .wd = 0.01};
    check_optim("adamw(lr=0.01)", w, "w:exp_avg");
    w.wd = 0.5;
    check_optim("adamw(lr=0.01, weight_decay=0.5)", w, "w:exp_avg");
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_optim o;
    assert_int_equal(cg_optim_parse("adam(lr=-1)", &o, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "lr must be positive"));
    assert_int_equal(cg_optim_parse("rmsprop(lr=1)", &o, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "unknown optimizer 'rmsprop'"));
    assert_int_equal(cg_optim_parse("sgd(lr=1, nesterov=1)", &o, &e), CG_ERR_INPUT);
    assert_int_equal(cg_optim_parse("adam()\nparam q : f32[]", &o, &e), CG_ERR_INPUT);
    assert_int_equal(cg_optim_parse("sgd(lr=0.5, momentum=0.9)", &o, &e), CG_OK);
    assert_string_equal(o.name, "sgd");
    assert_int_equal(o.nargs, 5);
    assert_string_equal(o.arg_names[0], "lr");
    assert_true(o.arg_values[0] == 0.5 && o.arg_values[1] == 0.9);
}

/* Objectives: `with` wins over the default; unreached parameters are not updated; the
 * gradient of each parameter is reported. */
static void test_objectives(void **state)
{
    (void)state;
    struct tg t;
    assert_int_equal(tg_open(&t, "param a : f32[3] = ones()\nparam b : f32[3] = ones()\n"
                                 "param c : f32[3] = ones()\n"
                                 "minimize sum(square(a)) over a, c with sgd(lr=0.25)\n"
                                 "minimize sum(b)\n",
                             "sgd(lr=0.5)", 0),
                     0);
    tg_step(&t, 0, 0);
    float a[3], b[3], c[3];
    tg_rw(&t, "a", a, 3, 0);
    tg_rw(&t, "b", b, 3, 0);
    tg_rw(&t, "c", c, 3, 0);
    for (int i = 0; i < 3; i++) {
        assert_true(a[i] == 0.5f);  /* 1 - 0.25 * 2 */
        assert_true(b[i] == 0.5f);  /* 1 - 0.5 * 1 (the default) */
        assert_true(c[i] == 1.0f);  /* not reached: no update */
    }
    assert_true(t.plan.param_grad[0] >= 0 && t.plan.param_grad[1] >= 0);
    assert_int_equal(t.plan.param_grad[2], -1);
    tg_close(&t);
}

/* y = 2 x0 - x1 + 0.5 on 8 points; Adam brings the mean squared error near 0. */
static const char linreg[] = "input x : f32[8, 2]\ninput y : f32[8]\n"
                             "param w : f32[2] = zeros()\nparam b : f32[] = zeros()\n"
                             "pred = sum(x * w, 1) + b\nloss = mean(square(pred - y))\n"
                             "minimize loss\n";

static void test_linear_regression(void **state)
{
    (void)state;
    struct tg t;
    assert_int_equal(tg_open(&t, linreg, "adam(lr=0.05)", 0), 0);
    float x[16], y[8], loss0, loss;
    ot_fill(x, 16, 1, 0);
    for (int i = 0; i < 8; i++)
        y[i] = 2 * x[2 * i] - x[2 * i + 1] + 0.5f;
    tg_rw(&t, "x", x, 16, 1);
    tg_rw(&t, "y", y, 8, 1);
    tg_step(&t, 0, 0);
    tg_rw(&t, "loss", &loss0, 1, 0);
    for (uint64_t k = 1; k < 400; k++)
        tg_step(&t, 0, k);
    struct cg_error e = {0};
    assert_int_equal(cg_exec_run_nodes(t.x, 0, 400, 0, t.plan.forward_end, &e), CG_OK);
    tg_rw(&t, "loss", &loss, 1, 0);
    float w[2], b;
    tg_rw(&t, "w", w, 2, 0);
    tg_rw(&t, "b", &b, 1, 0);
    assert_true(loss0 > 1.0f);
    if (!(loss < 1e-4f) || fabsf(w[0] - 2) > 0.02f || fabsf(w[1] + 1) > 0.02f ||
        fabsf(b - 0.5f) > 0.02f)
        fail_msg("no convergence: loss %g -> %g, w = (%g, %g), b = %g", (double)loss0,
                 (double)loss, (double)w[0], (double)w[1], (double)b);
    tg_close(&t);
}

/* Same seed, same bits (parameter init, random ops, updates); another seed differs. */
static void run_seeded(uint64_t seed, float *w)
{
    static const char text[] = "input x : f32[4, 6]\n"
                               "param w : f32[6] = uniform(-1, 1)\n"
                               "h = x * w + 0.1 * normal_like(x)\n"
                               "minimize mean(square(h))\n";
    struct tg t;
    assert_int_equal(tg_open(&t, text, "adam(lr=0.01)", seed), 0);
    float x[24];
    ot_fill(x, 24, 2, 0);
    tg_rw(&t, "x", x, 24, 1);
    for (uint64_t k = 0; k < 5; k++)
        tg_step(&t, seed, k);
    tg_rw(&t, "w", w, 6, 0);
    tg_close(&t);
}

static void test_repeatable(void **state)
{
    (void)state;
    float a[6], b[6], c[6];
    run_seeded(7, a);
    run_seeded(7, b);
    run_seeded(8, c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
}

int main(void)
{
    (void)ot_run;
    (void)ot_fd_grad;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_objectives),
        cmocka_unit_test(test_linear_regression),
        cmocka_unit_test(test_repeatable),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_device_close(ot_dev);
    return rc;
}
