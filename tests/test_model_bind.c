/* test_model_bind.c: one compiled schedule per binding of the symbols (cg_model_bind): a batch
 * computed at N = 8 and its first rows at N = 5 give the same outputs, training at one binding
 * is seen by another (parameters and optimizer state are shared), a binding used again is not
 * compiled again (no program is built or even looked up), and the errors of bad bindings leave
 * the selection as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <clgraph/clgraph.h>

#include "device_test.h"

#include "ir/graph.h"
#include "runtime/runtime.h"

/* A strided convolution, pooling, a dense layer and a per-row output: the sizes of most
 * kernels depend on N. */
static const char graph[] =
    "input x : f32[N, 2, 8, 8]\ninput y : i32[N]\n"
    "h = relu(conv(x, 4, k=3, stride=2, pad=1))\n"
    "h = max_pool2d(h, 2)\n"
    "logits = dense(flatten(h), 3)\n"
    "p = softmax(logits, 1)\n"
    "loss = cross_entropy(logits, y)\n"
    "minimize loss with adam(lr=0.01)\n"
    "output p\n";

#define NX (2 * 8 * 8)

static float xs[8 * NX];
static int ys[8];

static void fill(void)
{
    uint32_t s = 12345;
    for (int i = 0; i < 8 * NX; i++) {
        s = s * 1664525u + 1013904223u;
        xs[i] = (float)(s >> 8) / (float)(1u << 24) * 2 - 1;
    }
    for (int i = 0; i < 8; i++)
        ys[i] = i % 3;
}

static struct cg_model *compile(struct cg_device *dev, const char *text, int n)
{
    struct cg_error e;
    struct cg_graph *g = NULL;
    if (cg_graph_load_text("bind.graph", text, strlen(text), &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    struct cg_input_shape shapes[] = {{"x", 4, {n, 2, 8, 8}}, {"y", 1, {n}}};
    struct cg_model_options o = {shapes, 2, 1, NULL, 7, 0};
    struct cg_model *m = NULL;
    if (cg_model_compile(g, dev, &o, &m, &e) != CG_OK) {
        cg_graph_destroy(g);
        fail_msg("%s", e.msg);
    }
    return m;
}

/* Binds N = n and feeds the first n rows. */
static void bind_feed(struct cg_model *m, int n)
{
    struct cg_error e;
    struct cg_input_shape shapes[] = {{"x", 4, {n, 2, 8, 8}}};
    if (cg_model_bind(m, shapes, 1, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(cg_model_set(m, "x", xs, (size_t)n * NX * 4, &e), CG_OK);
    assert_int_equal(cg_model_set(m, "y", ys, (size_t)n * 4, &e), CG_OK);
}

static void forward_p(struct cg_model *m, int n, float *p)
{
    struct cg_error e;
    if (cg_model_forward(m, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(cg_model_get(m, "p", p, (size_t)n * 3 * 4, &e), CG_OK);
}

static void assert_rows_equal(const float *a, const float *b, int n)
{
    for (int i = 0; i < n * 3; i++)
        if (fabsf(a[i] - b[i]) > 1e-6f * (1 + fabsf(a[i])))
            fail_msg("p[%d]: %.9g at N=8, %.9g at N=5", i, (double)a[i], (double)b[i]);
}

static void test_rows_and_training(void **state)
{
    struct cg_device *dev = *state;
    struct cg_error e;
    fill();
    struct cg_model *m = compile(dev, graph, 8);
    assert_int_equal(cg_model_schedules(m), 1);
    float p8[24], p5[15], w8[4 * 2 * 9], w5[4 * 2 * 9];
    bind_feed(m, 8); /* the compiled binding: selects the first schedule, compiles nothing */
    assert_int_equal(cg_model_schedules(m), 1);
    forward_p(m, 8, p8);
    bind_feed(m, 5);
    assert_int_equal(cg_model_schedules(m), 2);
    forward_p(m, 5, p5);
    assert_rows_equal(p8, p5, 5);
    float p_at_init = p5[0];

    /* train at N = 8; N = 5 sees the trained parameters */
    bind_feed(m, 8);
    for (int k = 0; k < 5; k++)
        assert_int_equal(cg_model_step(m, &e), CG_OK);
    forward_p(m, 8, p8);
    assert_int_equal(cg_model_get(m, "conv0.w", w8, sizeof w8, &e), CG_OK);
    struct cg_cache_stats s0, s1;
    cg_device_cache_stats(dev, &s0);
    bind_feed(m, 5);
    cg_device_cache_stats(dev, &s1);
    assert_memory_equal(&s0, &s1, sizeof s0); /* the second use of N = 5 builds nothing */
    assert_int_equal(cg_model_schedules(m), 2);
    forward_p(m, 5, p5);
    assert_true(p5[0] != p_at_init);
    assert_rows_equal(p8, p5, 5);
    assert_int_equal(cg_model_get(m, "conv0.w", w5, sizeof w5, &e), CG_OK);
    assert_memory_equal(w8, w5, sizeof w8);

    /* a step at N = 5 continues the same Adam state and step count; N = 8 sees it */
    assert_int_equal(cg_model_steps(m), 5);
    float ea5[4 * 2 * 9], ea8[4 * 2 * 9];
    assert_int_equal(cg_model_step(m, &e), CG_OK);
    assert_int_equal(cg_model_steps(m), 6);
    assert_int_equal(cg_model_get(m, "conv0.w", w5, sizeof w5, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "conv0.w:exp_avg", ea5, sizeof ea5, &e), CG_OK);
    assert_memory_not_equal(w8, w5, sizeof w8);
    bind_feed(m, 8);
    assert_int_equal(cg_model_schedules(m), 2);
    assert_int_equal(cg_model_get(m, "conv0.w", w8, sizeof w8, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "conv0.w:exp_avg", ea8, sizeof ea8, &e), CG_OK);
    assert_memory_equal(w8, w5, sizeof w8);
    assert_memory_equal(ea8, ea5, sizeof ea8);
    /* values computed at a binding are its own: N = 8's p is still from before that step */
    float q8[24];
    assert_int_equal(cg_model_get(m, "p", q8, sizeof q8, &e), CG_OK);
    assert_memory_equal(q8, p8, sizeof q8);
    /* the lr scale holds for every schedule, also one compiled after it was set */
    assert_int_equal(cg_model_set_lr_scale(m, 0, &e), CG_OK);
    bind_feed(m, 3);
    assert_int_equal(cg_model_schedules(m), 3);
    assert_int_equal(cg_model_step(m, &e), CG_OK);
    bind_feed(m, 5);
    assert_int_equal(cg_model_step(m, &e), CG_OK);
    assert_int_equal(cg_model_get(m, "conv0.w", w5, sizeof w5, &e), CG_OK);
    assert_memory_equal(w8, w5, sizeof w8);
    cg_model_destroy(m);
}

static void test_errors(void **state)
{
    struct cg_device *dev = *state;
    struct cg_error e;
    fill();
    struct cg_model *m = compile(dev, graph, 8);
    struct cg_input_shape bad[] = {{"z", 1, {3}}};
    assert_int_equal(cg_model_bind(m, bad, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no input 'z'"));
    struct cg_input_shape rank[] = {{"x", 2, {5, 128}}};
    assert_int_equal(cg_model_bind(m, rank, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "input 'x' has 4 dims, the given shape 2"));
    struct cg_input_shape fixed[] = {{"x", 4, {5, 3, 8, 8}}};
    assert_int_equal(cg_model_bind(m, fixed, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "dim 1 is 2, the given shape says 3"));
    struct cg_input_shape clash[] = {{"x", 4, {5, 2, 8, 8}}, {"y", 1, {6}}};
    assert_int_equal(cg_model_bind(m, clash, 2, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "input 'y' says N = 6, input 'x' said 5"));
    struct cg_input_shape zero[] = {{"y", 1, {0}}};
    assert_int_equal(cg_model_bind(m, zero, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "must be >= 1"));
    assert_int_equal(cg_model_schedules(m), 1);
    /* the selection is unchanged: N = 8 still runs */
    assert_int_equal(cg_model_set(m, "x", xs, sizeof xs, &e), CG_OK);
    assert_int_equal(cg_model_forward(m, &e), CG_OK);
    cg_model_destroy(m);

    /* a parameter whose shape depends on a symbol */
    static const char dep[] = "input x : f32[N, 2, 8, D]\ninput y : i32[N]\n"
                              "logits = dense(flatten(x), 3)\n"
                              "loss = cross_entropy(logits, y)\nminimize loss\n";
    char path[] = "/tmp/cg_model_bind_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, dep, strlen(dep)), (ssize_t)strlen(dep));
    close(fd);
    struct cg_graph *g = NULL;
    struct cg_binding b8[] = {{"N", 8}, {"D", 8}}; /* dense needs D when it is built */
    if (cg_graph_load_bound(path, b8, 2, &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    unlink(path);
    struct cg_model_options o = {NULL, 0, 1, NULL, 0, 0};
    if (cg_model_compile(g, dev, &o, &m, &e) != CG_OK)
        fail_msg("%s", e.msg);
    struct cg_input_shape d4[] = {{"x", 4, {8, 2, 8, 4}}};
    assert_int_equal(cg_model_bind(m, d4, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter 'dense0.w' would be f32[3, 64], but the model's is "
                               "f32[3, 128]"));
    assert_non_null(strstr(e.msg, "D=4"));
    struct cg_input_shape n4[] = {{"x", 4, {4, 2, 8, 8}}}; /* N alone may change */
    assert_int_equal(cg_model_bind(m, n4, 1, &e), CG_OK);
    assert_int_equal(cg_model_schedules(m), 2);
    cg_model_destroy(m);

    /* a graph that does not shape-check at the other size */
    static const char fixed_rows[] = "input x : f32[N, 2]\nparam w : f32[2] = ones()\n"
                                     "y = reshape(x * w, [4, 2])\noutput y\n";
    assert_int_equal(cg_graph_load_text("rows.graph", fixed_rows, strlen(fixed_rows), &g, &e),
                     CG_OK);
    struct cg_input_shape r4[] = {{"x", 2, {4, 2}}}, r5[] = {{"x", 2, {5, 2}}};
    struct cg_model_options o2 = {r4, 1, 0, NULL, 0, 0};
    if (cg_model_compile(g, dev, &o2, &m, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(cg_model_bind(m, r5, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "reshape"));
    assert_non_null(strstr(e.msg, "while compiling the model for N=5"));
    assert_int_equal(cg_model_schedules(m), 1);
    assert_int_equal(cg_model_set(m, "x", xs, 8 * 4, &e), CG_OK);
    assert_int_equal(cg_model_forward(m, &e), CG_OK);
    cg_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_training),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, cg_test_device_open, cg_test_device_close);
}
