/* test_api.c: the public API (include/clgraph/clgraph.h) used the way an embedding program
 * would, through that header alone: load, bind, describe, errors, devices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <clgraph/clgraph.h>

static const char graph[] = "input x : f32[N, 784]\n"
                            "input y : i32[N]\n"
                            "logits = mlp(x, [32, 10], name=\"clf\")\n"
                            "minimize cross_entropy(logits, y) with adam(lr=1e-3)\n"
                            "output logits\n"
                            "metric acc = accuracy(logits, y)\n";

static void test_load_describe(void **state)
{
    (void)state;
    struct cg_error e;
    struct cg_graph *g = NULL;
    assert_int_equal(cg_graph_load_text("mem.graph", graph, strlen(graph), &g, &e), CG_OK);
    assert_int_equal(cg_graph_count(g, CG_INPUTS), 2);
    assert_int_equal(cg_graph_count(g, CG_PARAMS), 4);
    assert_int_equal(cg_graph_count(g, CG_OUTPUTS), 1);
    assert_int_equal(cg_graph_count(g, CG_METRICS), 1);
    assert_int_equal(cg_graph_count(g, CG_OBJECTIVES), 1);
    struct cg_tensor_desc d;
    assert_int_equal(cg_graph_describe(g, CG_PARAMS, 0, &d), 0);
    assert_string_equal(d.name, "clf.dense0.w");
    assert_string_equal(d.shape_text, "f32[32, 784]");
    assert_int_equal(d.numel, 32 * 784);
    assert_int_equal(cg_graph_describe(g, CG_INPUTS, 0, &d), 0);
    assert_int_equal(d.dims[0], -1);
    assert_int_equal(d.numel, -1);
    assert_string_equal(d.shape_text, "f32[N, 784]");
    assert_int_equal(cg_graph_describe(g, CG_PARAMS, 4, &d), -1);
    assert_int_equal(cg_graph_bind(g, "N", 8, &e), CG_OK);
    assert_int_equal(cg_graph_reinfer(g, &e), CG_OK);
    assert_int_equal(cg_graph_describe(g, CG_OUTPUTS, 0, &d), 0);
    assert_string_equal(d.shape_text, "f32[8, 10]");
    assert_int_equal(cg_graph_describe(g, CG_INPUTS, 1, &d), 0);
    assert_int_equal(d.is_int, 1);
    assert_int_equal(d.numel, 8);
    assert_int_equal(cg_graph_describe(g, CG_OBJECTIVES, 0, &d), 0);
    assert_string_equal(d.name, "cross_entropy(logits, y)");
    assert_int_equal(d.rank, 0);
    cg_graph_destroy(g);
    cg_graph_destroy(NULL);
}

static void test_errors(void **state)
{
    (void)state;
    struct cg_error e;
    struct cg_graph *g = (struct cg_graph *)&e;
    const char *bad = "input x : f32[N, 3]\ny = relu(x, 2, 3)\n";
    assert_int_equal(cg_graph_load_text("bad.graph", bad, strlen(bad), &g, &e), CG_ERR_INPUT);
    assert_null(g);
    assert_non_null(strstr(e.msg, "bad.graph:2:13: error: relu: too many arguments"));
    assert_int_equal(cg_graph_load("/nonexistent/x.graph", &g, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "/nonexistent/x.graph"));
}

static void test_version_device(void **state)
{
    (void)state;
    assert_non_null(strstr(cg_version(), "(git "));
    struct cg_error e;
    struct cg_device *dev = NULL;
    assert_int_equal(cg_device_open("no-such-device-xyz", 0, &dev, &e), CG_ERR_INPUT);
    assert_int_equal(cg_device_open(NULL, 0, &dev, &e), CG_OK);
    assert_non_null(dev);
    cg_device_close(dev);
    cg_device_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_describe),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_version_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
