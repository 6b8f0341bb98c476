/* test_build.c: unit tests of the graph builder (src/ir/build.c, graph.c, dim.c through the
 * builder): parameter naming and scoping, weight sharing, def calls and their argument errors,
 * duplicate declarations, objectives, metrics and optimizers, imports (relative paths, diamonds,
 * cycles, missing files), symbol unification and binding, initialiser printing, pattern matching
 * and allocation-failure injection over a whole graph load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/graph.h"
#include "lang/parse.h"
#include "ops/registry.h"

static struct cg_graph *load(const char *text)
{
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    if (cg_graph_load_text("b.graph", text, strlen(text), &g, &e) != CG_OK)
        fail_msg("unexpected error: %s", e.msg);
    return g;
}

/* The graph fails to build with exactly msg (after "b.graph:"; a msg starting with '!' is
 * compared whole, without the prefix). */
static void load_err(const char *text, const char *msg)
{
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    enum cg_status st = cg_graph_load_text("b.graph", text, strlen(text), &g, &e);
    char want[4096];
    if (msg[0] == '!')
        snprintf(want, sizeof want, "%s", msg + 1);
    else
        snprintf(want, sizeof want, "b.graph:%s", msg);
    if (st != CG_ERR_INPUT)
        fail_msg("expected error '%s', got status %d for:\n%s", want, st, text);
    assert_null(g);
    assert_string_equal(e.msg, want);
}

/* "name shape" of every parameter, space separated, e.g. "conv0.w f32[8, 1, 3, 3], ...". */
static const char *params_str(struct cg_graph *g)
{
    static char out[4096];
    size_t u = 0;
    out[0] = 0;
    for (size_t i = 0; i < g->nparams && u < sizeof out; i++) {
        char b[128];
        u += (size_t)snprintf(out + u, sizeof out - u, "%s%s %s", i ? ", " : "",
                              g->params[i].name,
                              cg_shape_str(g, &g->params[i].shape, CG_F32, 1, b, sizeof b));
    }
    return out;
}

static const char *value_str(struct cg_graph *g, int v)
{
    static char b[256];
    return cg_shape_str(g, &g->values[v].shape, g->values[v].dtype, 1, b, sizeof b);
}

static const char *output_str(struct cg_graph *g, const char *name)
{
    for (size_t i = 0; i < g->noutputs; i++)
        if (!strcmp(g->outputs[i].name, name))
            return value_str(g, g->outputs[i].value);
    fail_msg("no output %s", name);
    return NULL;
}

/* ---- naming and scoping ----------------------------------------------------------------- */

static void test_param_names(void **state)
{
    (void)state;
    struct cg_graph *g = load("input x : f32[N, 1, 8, 8]\n"
                              "def inner(h) {\n  return conv(h, 4, 3, pad=1)\n}\n"
                              "def outer(h) {\n  h = conv(h, 2, 1, bias=0)\n"
                              "  return inner(h)\n}\n"
                              "a = conv(x, 2, 1)\n"
                              "b = outer(a)\n"
                              "c = conv(b, 3, 1, name=\"head\")\n"
                              "d = dense(flatten(c), 5)\n"
                              "e = mlp(d, [6, 7], name=\"clf\")\n"
                              "f = mlp(e, [2])\n"
                              "g = conv_t(c, 1, 2, stride=2)\n");
    assert_string_equal(params_str(g),
                        "conv0.w f32[2, 1, 1, 1], conv0.b f32[2], "
                        "outer.conv0.w f32[2, 2, 1, 1], "
                        "outer.inner.conv0.w f32[4, 2, 3, 3], outer.inner.conv0.b f32[4], "
                        "head.w f32[3, 4, 1, 1], head.b f32[3], "
                        "dense0.w f32[5, 192], dense0.b f32[5], "
                        "clf.dense0.w f32[6, 5], clf.dense0.b f32[6], "
                        "clf.dense1.w f32[7, 6], clf.dense1.b f32[7], "
                        "dense1.w f32[2, 7], dense1.b f32[2], "
                        "conv_t0.w f32[3, 1, 2, 2], conv_t0.b f32[1]");
    cg_graph_destroy(g);
}

static void test_sharing(void **state)
{
    (void)state;
    /* calling a def twice shares its parameters; scope= makes a separate instance */
    struct cg_graph *g = load("input x : f32[N, 4]\ninput y : f32[N, 4]\n"
                              "def enc(h) {\n  return dense(relu(dense(h, 8)), 4)\n}\n"
                              "za = enc(x)\nzb = enc(y)\nzc = enc(y, scope=\"enc2\")\n"
                              "minimize mean(za * zb * zc) over enc2\n");
    assert_string_equal(params_str(g),
                        "enc.dense0.w f32[8, 4], enc.dense0.b f32[8], enc.dense1.w f32[4, 8], "
                        "enc.dense1.b f32[4], enc2.dense0.w f32[8, 4], enc2.dense0.b f32[8], "
                        "enc2.dense1.w f32[4, 8], enc2.dense1.b f32[4]");
    assert_int_equal(g->nobjectives, 1);
    assert_int_equal(g->objectives[0].nparams, 4);
    assert_string_equal(g->params[g->objectives[0].params[0]].name, "enc2.dense0.w");
    cg_graph_destroy(g);
    /* sharing with a different shape names both shapes and the first creation */
    load_err("input x : f32[N, 4]\ninput y : f32[N, 6]\n"
             "def enc(h) {\n  return dense(h, 8)\n}\n"
             "a = enc(x)\nb = enc(y)\n",
             "4:10: error: parameter 'enc.dense0.w' is shared with a different shape: it was "
             "created as f32[8, 4] at b.graph:4:10, this use needs f32[8, 6]");
    /* a def that calls another def twice with different channel counts */
    load_err("input x : f32[N, 1, 8, 8]\n"
             "def inner(h) {\n  return conv(h, 4, 3, pad=1)\n}\n"
             "def outer(h) {\n  return inner(inner(h))\n}\n"
             "b = outer(x)\n",
             "3:10: error: parameter 'outer.inner.conv0.w' is shared with a different shape: it "
             "was created as f32[4, 1, 3, 3] at b.graph:3:10, this use needs f32[4, 4, 3, 3]");
    load_err("def enc(h) {\n  return h\n}\ninput x : f32[N]\ny = enc(x, scope=\"\")\n",
             "5:18: error: enc: scope must be a simple name such as \"enc2\" (letters, digits and _, no dots)");
}

static void test_explicit_params(void **state)
{
    (void)state;
    struct cg_graph *g = load("input x : f32[N, 3]\n"
                              "param w : f32[3, 2] = normal(std=0.01)\n"
                              "def aff(h) {\n  param s : f32[2] = ones()\n  param t : f32[2]\n"
                              "  return h * s + t\n}\n"
                              "y = aff(matmul(x, w))\nz = aff(y)\n"
                              "output z\n");
    assert_string_equal(params_str(g), "w f32[3, 2], aff.s f32[2], aff.t f32[2]");
    char b[128];
    assert_string_equal(cg_init_str(&g->params[0].init, b, sizeof b), "normal(std=0.01, mean=0)");
    assert_string_equal(cg_init_str(&g->params[1].init, b, sizeof b), "ones()");
    assert_string_equal(cg_init_str(&g->params[2].init, b, sizeof b), "zeros()");
    assert_string_equal(output_str(g, "z"), "f32[N, 2]");
    cg_graph_destroy(g);
    load_err("param w : f32[N]\n",
             "1:15: error: a parameter's shape must be concrete; 'N' is a symbol");
    load_err("param w : i32[3]\n", "1:11: error: parameters are trainable and must be f32");
    load_err("param w : f32[3] = glorot()\n",
             "1:20: error: unknown initialiser 'glorot' (known: zeros, ones, constant, normal, "
             "uniform, kaiming_uniform, xavier_uniform)");
    load_err("param w : f32[3] = 3\n",
             "1:20: error: expected an initialiser call such as zeros(), normal(std=0.01) or "
             "uniform(-1, 1)");
    load_err("param w : f32[3] = normal(std=-1)\n",
             "1:20: error: normal: std must be >= 0, got -1");
    load_err("param w : f32[3] = uniform(1, -1)\n",
             "1:20: error: uniform: lo (1) is greater than hi (-1)");
    load_err("param w : f32[3] = constant()\n",
             "1:20: error: constant: missing argument 'v'; signature: constant(v:float)");
    load_err("param w : f32[3] = constant(\"a\")\n",
             "1:29: error: constant: argument 'v' must be a number");
    load_err("param w : f32[3] = ones(1)\n",
             "1:25: error: ones: too many arguments (1 given, at most 0); signature: ones()");
}

static void test_initialiser_printing(void **state)
{
    (void)state;
    struct cg_graph *g = load("param a : f32[2] = constant(0.25)\n"
                              "param b : f32[2] = uniform(-2, 3)\n"
                              "param c : f32[2, 2] = kaiming_uniform(a=0.5)\n"
                              "param d : f32[2, 2] = xavier_uniform()\n"
                              "param e : f32[2] = normal(mean=1, std=2)\n");
    const char *want[] = {"constant(0.25)", "uniform(-2, 3)", "kaiming_uniform(a=0.5)",
                          "xavier_uniform()", "normal(std=2, mean=1)"};
    char b[128];
    for (int i = 0; i < 5; i++)
        assert_string_equal(cg_init_str(&g->params[i].init, b, sizeof b), want[i]);
    cg_graph_destroy(g);
    /* layer parameters: PyTorch's defaults */
    g = load("input x : f32[N, 16]\ny = dense(x, 4)\n");
    assert_string_equal(cg_init_str(&g->params[0].init, b, sizeof b), "kaiming_uniform(a=2.23607)");
    assert_string_equal(cg_init_str(&g->params[1].init, b, sizeof b), "uniform(-0.25, 0.25)");
    cg_graph_destroy(g);
}

static void test_assignment_and_tuples(void **state)
{
    (void)state;
    struct cg_graph *g = load("input x : f32[N, 4]\n"
                              "def two(h, k=2) {\n  return h * k, sum(h, 1)\n}\n"
                              "a, b = two(x)\n"
                              "a = a + 1\n"
                              "output a\noutput b\n");
    assert_string_equal(output_str(g, "a"), "f32[N, 4]");
    assert_string_equal(output_str(g, "b"), "f32[N]");
    cg_graph_destroy(g);
    const char *pre = "input x : f32[N, 4]\ndef two(h) {\n  return h, h\n}\n";
    char t[512];
    snprintf(t, sizeof t, "%sa = two(x)\n", pre);
    load_err(t, "5:1: error: the right-hand side has 2 values; assign them to as many names "
                "(a, b = ...)");
    snprintf(t, sizeof t, "%sa, b, c = two(x)\n", pre);
    load_err(t, "5:1: error: cannot unpack 2 values into 3 names");
    snprintf(t, sizeof t, "%sa, b = x\n", pre);
    load_err(t, "5:1: error: cannot unpack a tensor into 2 names");
    snprintf(t, sizeof t, "%sa = relu(two(x))\n", pre);
    load_err(t, "5:10: error: relu: argument 'x': expected a tensor, got 2 values (a def "
                "returning several values must be assigned with a, b = ...)");
}

static void test_call_errors(void **state)
{
    (void)state;
    const char *pre = "input x : f32[N, 4]\ninput y : i32[N]\n"
                      "def f(h, k=2) {\n  return h * k\n}\n";
    struct {
        const char *stmt, *msg;
    } cases[] = {
        {"a = f(x, 1, 2)", "6:13: error: f: too many arguments (3 given, takes 2); signature: "
                           "f(h, k=...)"},
        {"a = f()", "6:5: error: f: missing argument 'h'; signature: f(h, k=...)"},
        {"a = f(x, q=1)", "6:10: error: f: unknown keyword argument 'q'; signature: f(h, k=...)"},
        {"a = f(x, k=1, k=2)", "6:15: error: f: argument 'k' given twice"},
        {"a = relu(x, 1)", "6:13: error: relu: too many arguments (2 given, at most 1); "
                           "signature: relu(x:f32)"},
        {"a = dense(x)", "6:5: error: dense: missing argument 'out'; signature: dense(x:f32, "
                         "out:int, bias:int=1, name:str=none)"},
        {"a = dense(x, 4, bais=0)", "6:17: error: dense: unknown keyword argument 'bais' (did "
                                    "you mean 'bias'?); signature: dense(x:f32, out:int, "
                                    "bias:int=1, name:str=none)"},
        {"a = dense(x, \"4\")", "6:14: error: dense: argument 'out' must be an integer, got a "
                                "string"},
        {"a = dense(x, 2.5)", "6:14: error: dense: argument 'out' must be an integer, got a "
                              "number"},
        {"a = dense(x, 4, name=3)", "6:22: error: dense: argument 'name' must be a string, got "
                                    "an integer"},
        {"a = relu(y)", "6:10: error: relu: argument 'x' must be f32, got i32[N]"},
        {"a = cross_entropy(x, x)", "6:22: error: cross_entropy: argument 'y' must be i32 "
                                    "(integer labels or indices), got f32[N, 4]"},
        {"a = leaky_relu(x, slope=\"a\")", "6:25: error: leaky_relu: argument 'slope' must be a "
                                           "number, got a string"},
        {"a = relu(\"s\")", "6:10: error: relu: argument 'x': expected a tensor, got a string"},
        {"a = y + 1", "6:7: error: operator '+' needs f32 operands, got i32[N] and f32[]"},
        {"a = -y", "6:5: error: unary '-' needs an f32 operand, got i32[N]"},
        {"a = reshape(x, 4)", "6:16: error: reshape: argument 'shape' must be a list of sizes "
                              "such as [N, -1], got an integer"},
        {"a = concat(x, 0)", "6:12: error: concat: argument 'xs' must be a list of tensors [a, "
                             "b, ...], got f32[N, 4]"},
        {"a = concat([], 0)", "6:12: error: concat: argument 'xs' is an empty list"},
        {"a = x(1)", "6:5: error: 'x' is a value, not a function"},
        {"a = relu", "6:5: error: 'relu' is a function; call it as relu(...)"},
        {"a = f", "6:5: error: 'f' is a function; call it as f(...)"},
        {"a = xx + 1", "6:5: error: unknown name 'xx' (did you mean 'x'?)"},
        {"a = qqqqq", "6:5: error: unknown name 'qqqqq'"},
        {"a = rleu(x)", "6:5: error: unknown function 'rleu' (did you mean 'relu'?)"},
        {"a = g(x)", "6:5: error: unknown function 'g' (not an op of the library nor a def)"},
        {"a = ff(x)", "6:5: error: unknown function 'ff' (did you mean 'f'?)"},
        {"a = q", "6:5: error: unknown name 'q'"},
        {"a = zzzzzz(x)", "6:5: error: unknown function 'zzzzzz' (not an op of the library nor a "
                          "def)"},
        {"a = const(1)", "6:5: error: unknown function 'const' (did you mean 'concat'?)"},
        {"a = relu(N)", "6:10: error: relu: argument 'x': a dimension symbol is not a tensor "
                        "value"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        char t[1024];
        snprintf(t, sizeof t, "%s%s\n", pre, cases[i].stmt);
        load_err(t, cases[i].msg);
    }
}

static void test_recursion(void **state)
{
    (void)state;
    load_err("def f(h) {\n  return g(h)\n}\ndef g(h) {\n  return f(h)\n}\n"
             "input x : f32[N]\ny = f(x)\n",
             "5:10: error: def 'f' calls itself (recursion is not allowed: defs are inlined)");
    load_err("def f(h) {\n  return f(h)\n}\ninput x : f32[N]\ny = f(x)\n",
             "2:10: error: def 'f' calls itself (recursion is not allowed: defs are inlined)");
}

static void test_duplicates(void **state)
{
    (void)state;
    load_err("input x : f32[N]\ninput x : f32[N]\n",
             "2:7: error: duplicate declaration of 'x': already declared as an input at line 1");
    load_err("param w : f32[2]\nparam w : f32[2]\n",
             "2:7: error: duplicate declaration of 'w': already a parameter (line 1)");
    load_err("param w : f32[2]\ninput w : f32[2]\n",
             "2:7: error: duplicate declaration of 'w': already a parameter (line 1)");
    load_err("def f(h) {\n  return h\n}\ndef f(h) {\n  return h\n}\n",
             "4:5: error: duplicate def 'f' (first defined at b.graph:1:1)");
    load_err("def relu(h) {\n  return h\n}\n",
             "1:5: error: def 'relu' has the name of a built-in op");
    load_err("input relu : f32[2]\n",
             "1:7: error: 'relu' is the name of a built-in op and cannot be declared as an input");
    load_err("input x : f32[2]\noutput o = x\noutput o = x\n",
             "3:8: error: duplicate output 'o' (first at line 2)");
    load_err("input x : f32[2]\nmetric m = sum(x)\nmetric m = sum(x)\n",
             "3:8: error: duplicate metric 'm' (first at line 2)");
    load_err("input x : f32[2]\noutput q\n",
             "2:8: error: unknown name 'q'; write output q = EXPR to define it here");
    load_err("input x : f32[2]\noutput xx\n",
             "2:8: error: unknown name 'xx' (did you mean 'x'?); write output xx = EXPR to "
             "define it here");
}

static void test_objectives(void **state)
{
    (void)state;
    const char *pre = "input x : f32[N, 4]\ninput y : i32[N]\n"
                      "def enc(h) {\n  return dense(h, 3)\n}\n"
                      "z = enc(x)\nlogits = mlp(z, [5, 2], name=\"clf\")\n";
    char t[1024];
    snprintf(t, sizeof t, "%sminimize cross_entropy(logits, y) over clf.*, \"enc\" with "
             "adam(lr=0.5, beta1=0.8)\nminimize mean(z) with sgd\nminimize mean(z) over *.b\n"
             "metric acc = accuracy(logits, y)\n", pre);
    struct cg_graph *g = load(t);
    assert_int_equal(g->nobjectives, 3);
    const struct cg_objective *o = &g->objectives[0];
    assert_string_equal(o->text, "cross_entropy(logits, y)");
    assert_int_equal(o->nparams, 6);
    assert_int_equal(o->npatterns, 2);
    assert_string_equal(o->optim.name, "adam");
    assert_int_equal(o->optim.nargs, 5);
    assert_string_equal(o->optim.arg_names[0], "lr");
    assert_true(o->optim.arg_values[0] == 0.5);
    assert_true(o->optim.arg_values[1] == 0.8);
    assert_true(o->optim.arg_values[2] == 0.999);
    assert_string_equal(g->objectives[1].optim.name, "sgd");
    assert_true(g->objectives[1].optim.arg_values[0] == 0.01);
    assert_int_equal(g->objectives[1].nparams, 6);
    assert_int_equal(g->objectives[2].nparams, 3);
    assert_null(g->objectives[2].optim.name);
    assert_int_equal(g->nmetrics, 1);
    assert_string_equal(value_str(g, g->metrics[0].value), "f32[]");
    cg_graph_destroy(g);

    struct {
        const char *stmt, *msg;
    } cases[] = {
        {"minimize z", "8:10: error: the minimized expression must be an f32 scalar, got f32[N, "
                       "3] (reduce it, e.g. with mean)"},
        {"minimize argmax(z, 1)", "8:10: error: the minimized expression must be an f32 scalar, "
                                  "got i32[N] (reduce it, e.g. with mean)"},
        {"metric m = z", "8:12: error: a metric must be an f32 scalar, got f32[N, 3] (reduce "
                         "it, e.g. with mean)"},
        {"minimize mean(z) over dec", "8:23: error: minimize: pattern 'dec' selects no "
                                      "parameter\nnote: the parameters are: enc.dense0.w, "
                                      "enc.dense0.b, clf.dense0.w, clf.dense0.b, clf.dense1.w, "
                                      "clf.dense1.b"},
        {"minimize mean(z) over en", "8:23: error: minimize: pattern 'en' selects no "
                                     "parameter\nnote: the parameters are: enc.dense0.w, "
                                     "enc.dense0.b, clf.dense0.w, clf.dense0.b, clf.dense1.w, "
                                     "clf.dense1.b"},
        {"minimize mean(z) with adamax(lr=1)", "8:23: error: unknown optimizer 'adamax' "
                                               "(known: sgd, adam, adamw)"},
        {"minimize mean(z) with adam(lr=1, betas=2)",
         "8:34: error: adam: unknown keyword argument 'betas' (did you mean 'beta1'?); "
         "signature: adam(lr:float=0.001, beta1:float=0.9, beta2:float=0.999, eps:float=1e-8, "
         "weight_decay:float=0)"},
        {"minimize mean(z) with sgd(lr=0)", "8:30: error: sgd: lr must be positive, got 0"},
        {"minimize mean(z) with sgd(lr=-1e-3)", "8:30: error: sgd: lr must be positive, got "
                                                "-0.001"},
        {"minimize mean(z) with sgd(lr=\"a\")", "8:30: error: sgd: argument 'lr' must be a "
                                                "number"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        snprintf(t, sizeof t, "%s%s\n", pre, cases[i].stmt);
        load_err(t, cases[i].msg);
    }
    load_err("input x : f32[N]\nminimize mean(x)\n",
             "2:1: error: minimize: the graph has no parameters to train");
}

/* ---- imports ---------------------------------------------------------------------------- */

static char tmp_dir[256];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/cg_test_build_XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    char sub[512];
    snprintf(sub, sizeof sub, "%s/lib", tmp_dir);
    mkdir(sub, 0755);
    return 0;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static enum cg_status load_path(const char *rel, struct cg_graph **g, struct cg_error *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
    return cg_graph_load(path, g, e);
}

static void test_imports(void **state)
{
    (void)state;
    /* relative paths from the importing file; a diamond loads the shared file once */
    write_file("lib/base.graph", "def base(h) {\n  return relu(h)\n}\n");
    write_file("lib/a.graph", "import \"base.graph\"\ndef fa(h) {\n  return base(h)\n}\n");
    write_file("lib/b.graph", "import \"./base.graph\"\ndef fb(h) {\n  return base(h) * 2\n}\n");
    write_file("main.graph", "import \"lib/a.graph\"\nimport \"lib/b.graph\"\n"
                             "input x : f32[N, 2]\noutput y = fa(x) + fb(x)\n");
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    if (load_path("main.graph", &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(g->prog->nfiles, 4);
    assert_string_equal(output_str(g, "y"), "f32[N, 2]");
    cg_graph_destroy(g);

    /* cycles are reported at the import that closes them */
    write_file("lib/c1.graph", "import \"c2.graph\"\ndef c1(h) {\n  return h\n}\n");
    write_file("lib/c2.graph", "def c2(h) {\n  return h\n}\n\nimport \"c1.graph\"\n");
    write_file("cyc.graph", "import \"lib/c1.graph\"\n");
    assert_int_equal(load_path("cyc.graph", &g, &e), CG_ERR_INPUT);
    assert_null(g);
    char want[2048];
    snprintf(want, sizeof want, "%s/lib/c2.graph:5:1: error: import cycle: \"c1.graph\" imports "
             "itself through", tmp_dir);
    assert_true(!strncmp(e.msg, want, strlen(want)));
    assert_non_null(strstr(e.msg, "lib/c1.graph\n"));

    write_file("self.graph", "import \"self.graph\"\n");
    assert_int_equal(load_path("self.graph", &g, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s/self.graph:1:1: error: import cycle: \"self.graph\" imports "
             "itself through", tmp_dir);
    assert_true(!strncmp(e.msg, want, strlen(want)));

    /* a missing file */
    write_file("miss.graph", "input x : f32[2]\n  import \"nope.graph\"\n");
    assert_int_equal(load_path("miss.graph", &g, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s/miss.graph:2:3: error: cannot import \"nope.graph\": "
             "%s/nope.graph: No such file or directory", tmp_dir, tmp_dir);
    assert_string_equal(e.msg, want);

    /* an imported file with a statement other than def/import */
    write_file("lib/bad.graph", "def ok(h) {\n  return h\n}\ninput z : f32[2]\n");
    write_file("usebad.graph", "import \"lib/bad.graph\"\n");
    assert_int_equal(load_path("usebad.graph", &g, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s/lib/bad.graph:4:1: error: an imported file may only contain "
             "def and import statements (this file is imported for its defs)", tmp_dir);
    assert_string_equal(e.msg, want);

    /* a syntax error in an imported file names that file */
    write_file("lib/syn.graph", "def s(h) {\n  return h +\n}\n");
    write_file("usesyn.graph", "import \"lib/syn.graph\"\n");
    assert_int_equal(load_path("usesyn.graph", &g, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s/lib/syn.graph:2:13: error: expected an expression, found "
             "end of line", tmp_dir);
    assert_string_equal(e.msg, want);

    /* a duplicate def across files */
    write_file("lib/dup.graph", "def base(h) {\n  return h\n}\n");
    write_file("usedup.graph", "import \"lib/base.graph\"\nimport \"lib/dup.graph\"\n");
    assert_int_equal(load_path("usedup.graph", &g, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s/lib/dup.graph:1:5: error: duplicate def 'base' (first "
             "defined at %s/usedup.graph/../lib/base.graph:1:1)", tmp_dir, tmp_dir);
    (void)want;
    assert_non_null(strstr(e.msg, "error: duplicate def 'base' (first defined at "));

    /* a directory and a missing main file */
    assert_int_equal(load_path("lib", &g, &e), CG_ERR_INPUT);
    assert_int_equal(load_path("none.graph", &g, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "none.graph"));
}

/* ---- symbols ---------------------------------------------------------------------------- */

static void test_symbols(void **state)
{
    (void)state;
    struct cg_graph *g = load("input x : f32[N, 8]\ninput y : i32[B]\n"
                              "logits = dense(x, 3)\n"
                              "loss = cross_entropy(logits, y)\n"
                              "output f = reshape(x, [N, 2, -1])\n"
                              "output h = concat([x, x], 0)\n");
    /* N and B unify through cross_entropy */
    assert_string_equal(value_str(g, g->inputs[1].value), "i32[N]");
    assert_string_equal(output_str(g, "f"), "f32[N, 2, 4]");
    assert_string_equal(output_str(g, "h"), "f32[2*N, 8]");
    struct cg_error e = {0};
    /* binding an unknown symbol lists the known ones */
    assert_int_equal(cg_graph_bind(g, "M", 4, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "error: --bind M=4: the graph has no symbol 'M' (its symbols: N, "
                               "B)");
    assert_int_equal(cg_graph_bind(g, "N", 0, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "error: --bind N=0: a size must be >= 1");
    assert_int_equal(cg_graph_bind(g, "B", 16, &e), CG_OK);
    /* B = N, so N is now 16 too: a conflicting bind names the value */
    assert_int_equal(cg_graph_bind(g, "N", 32, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "error: cannot bind N=32: N is already 16");
    assert_int_equal(cg_graph_bind(g, "N", 16, &e), CG_OK);
    assert_int_equal(cg_graph_reinfer(g, &e), CG_OK);
    for (size_t i = 0; i < g->nvalues; i++)
        assert_true(cg_shape_numel(g, &g->values[i].shape) >= 1);
    assert_string_equal(output_str(g, "h"), "f32[32, 8]");
    assert_string_equal(value_str(g, g->inputs[0].value), "f32[16, 8]");
    cg_graph_destroy(g);

    /* a graph without symbols */
    g = load("input x : f32[2]\n");
    assert_int_equal(cg_graph_bind(g, "N", 4, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "error: --bind N=4: the graph has no symbol 'N' (its symbols: "
                               "none)");
    cg_graph_destroy(g);

    /* shape errors that only show with concrete sizes come out of reinfer */
    g = load("input x : f32[N, 1, H, H]\noutput p = slice(x, 1, 0, 1)\n"
             "output q = reshape(x, [N, H, H])\n");
    assert_int_equal(cg_graph_bind(g, "N", 2, &e), CG_OK);
    assert_int_equal(cg_graph_bind(g, "H", 5, &e), CG_OK);
    assert_int_equal(cg_graph_reinfer(g, &e), CG_OK);
    assert_string_equal(output_str(g, "q"), "f32[2, 5, 5]");
    cg_graph_destroy(g);
    g = load("input x : f32[N, 4]\ninput z : f32[M, 4]\noutput s = x + z\n");
    assert_string_equal(output_str(g, "s"), "f32[N, 4]");
    cg_graph_destroy(g);
    /* conflicting symbols at build time */
    load_err("input x : f32[N, 4]\ninput z : f32[4, 4]\ninput w : f32[5, 4]\n"
             "a = x + z\nb = x + w\n",
             "5:7: error: add: cannot broadcast [4, 4] with [5, 4] (dim -2: 4 vs 5)");
}

static void test_pattern_match(void **state)
{
    (void)state;
    struct {
        const char *pat, *name;
        int want;
    } cases[] = {
        {"enc", "enc", 1},           {"enc", "enc.dense0.w", 1}, {"enc", "enc2.dense0.w", 0},
        {"enc", "en", 0},            {"enc.dense0", "enc.dense0.b", 1},
        {"clf.*", "clf.dense0.w", 1}, {"clf.*", "clf", 0},       {"clf.*", "clfx.w", 0},
        {"*", "a.b.c", 1},           {"*.b", "enc.dense0.b", 1}, {"*.b", "enc.dense0.w", 0},
        {"*conv*", "tn.conv0.w", 1}, {"a*b*c", "axxbyyc", 1},   {"a*b*c", "axxbyy", 0},
        {"**", "x", 1},              {"*", "", 1},              {"", "", 1},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
        if (cg_pattern_match(cases[i].pat, cases[i].name) != cases[i].want)
            fail_msg("cg_pattern_match(\"%s\", \"%s\") != %d", cases[i].pat, cases[i].name,
                     cases[i].want);
    /* a hostile pattern stays fast */
    char pat[2001], name[4001];
    for (int i = 0; i < 2000; i++)
        pat[i] = i % 2 ? 'a' : '*';
    pat[2000] = 0;
    memset(name, 'a', 4000);
    name[3999] = 'b';
    name[4000] = 0;
    assert_int_equal(cg_pattern_match(pat, name), 0);
}

/* ---- allocation failures ---------------------------------------------------------------- */

static const char *moderate =
    "input x : f32[N, 3, 16, 16]\ninput y : i32[N]\n"
    "def enc(h, c=8) {\n  param s : f32[1] = constant(2)\n"
    "  h = max_pool2d(relu(conv(h, c, 3, pad=1)), 2)\n"
    "  return conv(h, 4, 1) * s, mean(h)\n}\n"
    "a, m = enc(x)\nb, m2 = enc(x + 1)\nc, m3 = enc(x, scope=\"e2\")\n"
    "logits = mlp(flatten(a + b + c), [16, 10], name=\"clf\")\n"
    "loss = cross_entropy(logits, y) + 0.1 * m + m2\n"
    "minimize loss over clf, enc with adam(lr=1e-3)\n"
    "minimize mean(c) over e2.*\n"
    "output feat = concat([a, b], 1)\nmetric acc = accuracy(logits, y)\n";

static void test_alloc_failure(void **state)
{
    (void)state;
    int succeeded = 0;
    long k;
    for (k = 0; k < 3000 && !succeeded; k++) {
        struct cg_error e = {0};
        struct cg_graph *g = NULL;
        cg_alloc_fail_after(k);
        enum cg_status st = cg_graph_load_text("b.graph", moderate, strlen(moderate), &g, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            succeeded = 1;
            assert_int_equal(g->nparams, 14);
        } else {
            if (st != CG_ERR_NOMEM)
                fail_msg("allocation %ld failed: status %d: %s", k, st, e.msg);
            assert_null(g);
        }
        cg_graph_destroy(g);
    }
    assert_true(succeeded);
    assert_true(k > 20); /* the load does allocate, so failures were exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_names),
        cmocka_unit_test(test_sharing),
        cmocka_unit_test(test_explicit_params),
        cmocka_unit_test(test_initialiser_printing),
        cmocka_unit_test(test_assignment_and_tuples),
        cmocka_unit_test(test_call_errors),
        cmocka_unit_test(test_recursion),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_objectives),
        cmocka_unit_test_setup_teardown(test_imports, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_pattern_match),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
