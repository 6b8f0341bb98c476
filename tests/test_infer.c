/* test_infer.c: shape and dtype inference of every op of ops.def (a good case with the exact
 * output type, and a bad case with the exact message and location), and the symbolic dimension
 * polynomials of src/ir/dim.c (add, sub, mul, div, unify, resolve, bind, str). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dim.h"
#include "ir/graph.h"
#include "ops/registry.h"

/* Every case is one `output o = EXPR` after these inputs (line 14, EXPR from column 12). */
static const char *prelude = "input x : f32[N, 3, 28, 28]\n"
                             "input v : f32[N, 8]\n"
                             "input s : f32[]\n"
                             "input y : i32[N]\n"
                             "input m : f32[4, 5]\n"
                             "input k : i32[N, 2]\n"
                             "input w : f32[5, 8]\n"
                             "input bb : f32[5]\n"
                             "input j : i32[6, 2]\n"
                             "input yy : i32[6]\n"
                             "input cw : f32[16, 3, 3, 3]\n"
                             "input cb : f32[16]\n"
                             "input small : f32[N, 3, 2, 2]\n"
                             "input tw : f32[3, 6, 2, 2]\n";
#define CASE_LINE 15
#define EXPR_COL 12

/* col 0: the expression must give type `want`; else it must fail at column col of the
 * expression with message `want`. */
static const struct {
    const char *expr;
    int col;
    const char *want;
} cases[] = {
    {"neg(v)", 0, "f32[N, 8]"},
    {"neg(y)", 5, "neg: argument 'x' must be f32, got i32[N]"},
    {"exp(v)", 0, "f32[N, 8]"},
    {"exp(y)", 5, "exp: argument 'x' must be f32, got i32[N]"},
    {"log(x)", 0, "f32[N, 3, 28, 28]"},
    {"log(k)", 5, "log: argument 'x' must be f32, got i32[N, 2]"},
    {"sqrt(s)", 0, "f32[]"},
    {"sqrt(\"a\")", 6, "sqrt: argument 'x': expected a tensor, got a string"},
    {"rsqrt(v)", 0, "f32[N, 8]"},
    {"rsqrt(y)", 7, "rsqrt: argument 'x' must be f32, got i32[N]"},
    {"abs(v)", 0, "f32[N, 8]"},
    {"abs(v, v)", 8, "abs: too many arguments (2 given, at most 1); signature: abs(x:f32)"},
    {"square(v)", 0, "f32[N, 8]"},
    {"square()", 1, "square: missing argument 'x'; signature: square(x:f32)"},
    {"pow(v, 2)", 0, "f32[N, 8]"},
    {"pow(v, \"a\")", 8, "pow: argument 'p' must be a number, got a string"},
    {"relu(v)", 0, "f32[N, 8]"},
    {"relu(y)", 6, "relu: argument 'x' must be f32, got i32[N]"},
    {"leaky_relu(v, slope=0.2)", 0, "f32[N, 8]"},
    {"leaky_relu(y)", 12, "leaky_relu: argument 'x' must be f32, got i32[N]"},
    {"sigmoid(v)", 0, "f32[N, 8]"},
    {"sigmoid(y)", 9, "sigmoid: argument 'x' must be f32, got i32[N]"},
    {"tanh(v)", 0, "f32[N, 8]"},
    {"tanh(y)", 6, "tanh: argument 'x' must be f32, got i32[N]"},
    {"softplus(v, beta=2)", 0, "f32[N, 8]"},
    {"softplus(v, beta=0)", 1, "softplus: beta must be positive, got 0"},
    {"clamp(v, 0, 1)", 0, "f32[N, 8]"},
    {"clamp(v, 1, 0)", 1, "clamp: lo (1) is greater than hi (0)"},
    {"stop_gradient(y)", 0, "i32[N]"},
    {"stop_gradient(y, 2)", 18, "stop_gradient: too many arguments (2 given, at most 1); signature: stop_gradient(x:tensor)"},
    {"add(v, s)", 0, "f32[N, 8]"},
    {"add(m, w)", 1, "add: cannot broadcast [4, 5] with [5, 8] (dim -1: 5 vs 8)"},
    {"v + m", 3, "add: cannot broadcast [N, 8] with [4, 5] (dim -1: 8 vs 5)"},
    {"unsqueeze(sum(v, 1), 1) + unsqueeze(sum(v, 0), 0)", 0, "f32[N, 8]"},
    {"sub(x, 1)", 0, "f32[N, 3, 28, 28]"},
    {"sub(x, v)", 1, "sub: cannot broadcast [N, 3, 28, 28] with [N, 8] (dim -1: 28 vs 8)"},
    {"mul(x, sum(x, 1, keepdims=1))", 0, "f32[N, 3, 28, 28]"},
    {"mul(m, bb)", 0, "f32[4, 5]"},
    {"mul(m, w)", 1, "mul: cannot broadcast [4, 5] with [5, 8] (dim -1: 5 vs 8)"},
    {"div(v, s)", 0, "f32[N, 8]"},
    {"div(v, m)", 1, "div: cannot broadcast [N, 8] with [4, 5] (dim -1: 8 vs 5)"},
    {"maximum(v, 0)", 0, "f32[N, 8]"},
    {"maximum(v, y)", 12, "maximum: argument 'b' must be f32, got i32[N]"},
    {"minimum(m, 1)", 0, "f32[4, 5]"},
    {"minimum(m, v)", 1, "minimum: cannot broadcast [4, 5] with [N, 8] (dim -1: 5 vs 8)"},
    {"sum(x)", 0, "f32[]"},
    {"sum(x, 1)", 0, "f32[N, 28, 28]"},
    {"sum(x, 4)", 1, "sum: axis 4 is out of range for a tensor of 4 dims (valid: -4 to 3)"},
    {"mean(x, [2, 3], keepdims=1)", 0, "f32[N, 3, 1, 1]"},
    {"mean(x, [1, -3])", 1, "mean: axis -3 appears twice"},
    {"max(v, 0)", 0, "f32[8]"},
    {"max(v, [])", 1, "max: axis list is empty"},
    {"min(v, -1)", 0, "f32[N]"},
    {"min(v, -3)", 1, "min: axis -3 is out of range for a tensor of 2 dims (valid: -2 to 1)"},
    {"logsumexp(v, 1)", 0, "f32[N]"},
    {"logsumexp(y)", 11, "logsumexp: argument 'x' must be f32, got i32[N]"},
    {"var(v, 0, unbiased=0)", 0, "f32[8]"},
    {"var(v, 2)", 1, "var: axis 2 is out of range for a tensor of 2 dims (valid: -2 to 1)"},
    {"argmax(v, 1)", 0, "i32[N]"},
    {"argmax(v, [0, 1])", 1, "argmax: takes one axis, got 2"},
    {"reshape(x, [N, -1])", 0, "f32[N, 2352]"},
    {"reshape(v, [-1])", 0, "f32[8*N]"},
    {"reshape(m, [2, 10])", 0, "f32[2, 10]"},
    {"reshape(m, [3, 7])", 1, "reshape: cannot reshape f32[4, 5] (20 elements) to [3, 7] (21 elements)"},
    {"reshape(m, [3, -1])", 1, "reshape: cannot reshape f32[4, 5] (20 elements) to [3, -1]: 20 is not divisible by 3"},
    {"reshape(m, [-1, -1])", 17, "reshape: only one -1 is allowed in a shape"},
    {"reshape(m, [0, 20])", 1, "reshape: invalid size 0 in the target shape"},
    {"flatten(x)", 0, "f32[N, 2352]"},
    {"flatten(x, 2)", 0, "f32[N, 3, 784]"},
    {"flatten(x, 0)", 0, "f32[2352*N]"},
    {"flatten(x, 3, 1)", 1, "flatten: start (3) is after end (1) for f32[N, 3, 28, 28]"},
    {"permute(x, [0, 2, 3, 1])", 0, "f32[N, 28, 28, 3]"},
    {"permute(x, [0, 1])", 1, "permute: permutation has 2 entries but f32[N, 3, 28, 28] has 4 dims"},
    {"permute(x, [0, 1, 1, 2])", 1, "permute: dims is not a permutation: axis 1 appears twice"},
    {"transpose(v, 0, 1)", 0, "f32[8, N]"},
    {"transpose(v, 0, 2)", 1, "transpose: axis 2 is out of range for a tensor of 2 dims (valid: -2 to 1)"},
    {"concat([v, v], 1)", 0, "f32[N, 16]"},
    {"concat([m, m, m])", 0, "f32[12, 5]"},
    {"concat([v, x], 0)", 1, "concat: tensor 1 is f32[N, 3, 28, 28] but tensor 0 is f32[N, 8] (ranks must match)"},
    {"concat([w, m], 0)", 1, "concat: tensor 1 is f32[4, 5] but tensor 0 is f32[5, 8] (all dims but axis 0 must match)"},
    {"concat([k, w], 0)", 1, "concat: tensor 1 is f32[5, 8] but tensor 0 is i32[N, 2] (dtypes must match)"},
    {"concat([s, s])", 1, "concat: cannot concatenate scalars (unsqueeze them first)"},
    {"slice(m, 1, 1, 3)", 0, "f32[4, 2]"},
    {"slice(m, 0, -2, 100)", 0, "f32[2, 5]"},
    {"slice(m, 0, 3, 1)", 1, "slice: slice [3:1] of axis 0 of f32[4, 5] is empty"},
    {"slice(v, 0, 0, 1)", 0, "f32[1, 8]"},
    {"slice(v, 0, -2, -1)", 1, "slice: the sliced dimension is N, but must be a concrete size here (bind the symbol with --bind or feed a concrete shape)"},
    {"unsqueeze(v, 0)", 0, "f32[1, N, 8]"},
    {"unsqueeze(v, -1)", 0, "f32[N, 8, 1]"},
    {"unsqueeze(v, 3)", 1, "unsqueeze: axis 3 is out of range for a tensor of 3 dims (valid: -3 to 2)"},
    {"squeeze(unsqueeze(v, 1))", 0, "f32[N, 8]"},
    {"squeeze(unsqueeze(v, 1), 1)", 0, "f32[N, 8]"},
    {"squeeze(m, 0)", 0, "f32[4, 5]"},
    {"squeeze(m, 2)", 1, "squeeze: axis 2 is out of range for a tensor of 2 dims (valid: -2 to 1)"},
    {"broadcast_to(s, [3, 4])", 0, "f32[3, 4]"},
    {"broadcast_to(unsqueeze(sum(v, 1), 1), [N, 8])", 0, "f32[N, 8]"},
    {"broadcast_to(m, [4, 6])", 1, "broadcast_to: cannot broadcast f32[4, 5] to [4, 6] (dim 1: 5 vs 6)"},
    {"broadcast_to(m, [5])", 1, "broadcast_to: cannot broadcast f32[4, 5] to a shape of 1 dims"},
    {"gather(v, k, 1)", 0, "f32[N, 2]"},
    {"gather(v, y, 1)", 1, "gather: idx i32[N] must have as many dims as x f32[N, 8]"},
    {"gather(m, j, 1)", 1, "gather: idx i32[6, 2] is larger than x f32[4, 5] in dim 0"},
    {"one_hot(y, 10)", 0, "f32[N, 10]"},
    {"one_hot(y, 0)", 1, "one_hot: n must be >= 1, got 0"},
    {"one_hot(v, 3)", 9, "one_hot: argument 'idx' must be i32 (integer labels or indices), got f32[N, 8]"},
    {"linear(v, w, bb)", 0, "f32[N, 5]"},
    {"linear(v, w)", 0, "f32[N, 5]"},
    {"linear(v, m)", 1, "linear: x f32[N, 8] has 8 features but w f32[4, 5] expects 5 (w is [out, in])"},
    {"linear(v, w, m)", 1, "linear: b f32[4, 5] must be [5] to match w f32[5, 8]"},
    {"linear(v, bb)", 1, "linear: w has 1 dims (f32[5]), expected 2 (out, in)"},
    {"matmul(v, transpose(w, 0, 1))", 0, "f32[N, 5]"},
    {"matmul(m, bb)", 0, "f32[4]"},
    {"matmul(bb, w)", 0, "f32[8]"},
    {"matmul(unsqueeze(m, 0), transpose(m, 0, 1))", 0, "f32[1, 4, 4]"},
    {"matmul(v, w)", 1, "matmul: inner dims differ: f32[N, 8] @ f32[5, 8] (8 vs 5)"},
    {"matmul(s, v)", 1, "matmul: both operands need at least 1 dim, got f32[] and f32[N, 8]"},
    {"conv2d(x, cw, cb, pad=1)", 0, "f32[N, 16, 28, 28]"},
    {"conv2d(x, cw, stride=2)", 0, "f32[N, 16, 13, 13]"},
    {"conv2d(x, cw, dilation=2)", 0, "f32[N, 16, 24, 24]"},
    {"conv2d(x, cw, stride=[1, 2], pad=[0, 1])", 0, "f32[N, 16, 26, 14]"},
    {"conv2d(v, cw)", 1, "conv2d: x has 2 dims (f32[N, 8]), expected 4 (N,C,H,W)"},
    {"conv2d(conv2d(x, cw), cw)", 1, "conv2d: x f32[N, 16, 26, 26] has 16 channels but w f32[16, 3, 3, 3] expects 3 (= 3 x groups 1)"},
    {"conv2d(x, cw, groups=2)", 1, "conv2d: channels (in 3, out 16) must be divisible by groups 2"},
    {"conv2d(x, cw, m)", 1, "conv2d: b f32[4, 5] must be [16]"},
    {"conv2d(x, cw, stride=[1, 2, 3])", 1, "conv2d: stride must be an integer or a pair [h, w], got 3 values"},
    {"conv2d(x, cw, pad=-1)", 1, "conv2d: pad must be >= 0, got [-1, -1]"},
    {"conv2d(small, cw)", 1, "conv2d: the input height (2 with padding 0) is smaller than the window (3)"},
    {"conv_transpose2d(x, tw, stride=2)", 0, "f32[N, 6, 56, 56]"},
    {"conv_transpose2d(x, tw, stride=2, output_pad=1)", 0, "f32[N, 6, 57, 57]"},
    {"conv_transpose2d(x, cw)", 1, "conv_transpose2d: x f32[N, 3, 28, 28] has 3 channels but w f32[16, 3, 3, 3] expects 16 (w is [in, out/groups, kh, kw])"},
    {"conv_transpose2d(x, tw, output_pad=1)", 1, "conv_transpose2d: output_pad (1) must be smaller than the stride (1) or the dilation (1)"},
    {"max_pool2d(x, 2)", 0, "f32[N, 3, 14, 14]"},
    {"max_pool2d(x, [2, 4])", 0, "f32[N, 3, 14, 7]"},
    {"max_pool2d(small, 3)", 1, "max_pool2d: the input height (2 with padding 0) is smaller than the window (3)"},
    {"max_pool2d(v, 2)", 1, "max_pool2d: x has 2 dims (f32[N, 8]), expected 4 (N,C,H,W)"},
    {"avg_pool2d(x, 3, stride=1, pad=1)", 0, "f32[N, 3, 28, 28]"},
    {"avg_pool2d(x, 2, pad=2)", 1, "avg_pool2d: pad (2) must be at most half the window (2)"},
    {"upsample_nearest(x, 2)", 0, "f32[N, 3, 56, 56]"},
    {"upsample_nearest(x, 0)", 1, "upsample_nearest: scale must be an integer >= 1, got 0"},
    {"softmax(v)", 0, "f32[N, 8]"},
    {"softmax(v, 2)", 1, "softmax: axis 2 is out of range for a tensor of 2 dims (valid: -2 to 1)"},
    {"log_softmax(v, 0)", 0, "f32[N, 8]"},
    {"log_softmax(s)", 1, "log_softmax: needs at least 1 dim, got a scalar"},
    {"l2_normalize(v, eps=0)", 0, "f32[N, 8]"},
    {"l2_normalize(v, eps=-1)", 1, "l2_normalize: eps must be >= 0"},
    {"dropout(v, 0.1)", 0, "f32[N, 8]"},
    {"dropout(v, 1)", 1, "dropout: p must be in [0, 1), got 1"},
    {"conv(x, 8, 3)", 0, "f32[N, 8, 26, 26]"},
    {"conv(v, 8, 3)", 1, "conv: input must have 4 dims (N,C,H,W), got f32[N, 8]"},
    {"conv(x, 8, 3, groups=2)", 1, "conv: channels must be divisible by groups; input is f32[N, 3, 28, 28]"},
    {"conv_t(x, 4, 2, stride=2)", 0, "f32[N, 4, 56, 56]"},
    {"conv_t(x, 4, 0)", 1, "conv_t: k must be a positive size or a pair [kh, kw]"},
    {"dense(v, 3)", 0, "f32[N, 3]"},
    {"dense(s, 3)", 1, "dense: input must have a feature dim, got f32[]"},
    {"dense(transpose(v, 0, 1), 3)", 1, "dense: the feature count (last dim) must be a concrete size; input is f32[8, N]"},
    {"dense(v, 0)", 1, "dense: layer sizes must be >= 1"},
    {"mlp(v, [4, 2])", 0, "f32[N, 2]"},
    {"mlp(v, [4], act=\"gelu\")", 1, "mlp: unknown act (known: relu, tanh, sigmoid, leaky_relu, softplus, none)"},
    {"mlp(v, [])", 1, "mlp: sizes must list at least one layer size"},
    {"cross_entropy(linear(v, w), y)", 0, "f32[]"},
    {"cross_entropy(v, k)", 1, "cross_entropy: y has 2 dims (i32[N, 2]), expected 1 (N)"},
    {"cross_entropy(m, yy)", 1, "cross_entropy: batch sizes differ: f32[4, 5] vs labels i32[6]"},
    {"nll(log_softmax(linear(v, w)), y)", 0, "f32[]"},
    {"nll(x, y)", 1, "nll: logp has 4 dims (f32[N, 3, 28, 28]), expected 2 (N, classes)"},
    {"accuracy(linear(v, w), y)", 0, "f32[]"},
    {"accuracy(v, v)", 13, "accuracy: argument 'y' must be i32 (integer labels or indices), got f32[N, 8]"},
    {"mse(v, v)", 0, "f32[]"},
    {"mse(v, m)", 1, "mse: cannot broadcast [N, 8] with [4, 5] (dim -1: 8 vs 5)"},
    {"ssim(x, x)", 0, "f32[N]"},
    {"ssim(small, small)", 1, "ssim: images f32[N, 3, 2, 2] are too small for 1 scale with a 11x11 window: scale 1 is 2x2"},
    {"ssim(x, x, win=4)", 1, "ssim: win must be an odd size >= 1, got 4"},
    {"ssim(x, v)", 1, "ssim: shapes differ: f32[N, 3, 28, 28] vs f32[N, 8]"},
    {"ms_ssim(x, x, scales=2, win=7)", 0, "f32[N]"},
    {"ms_ssim(x, x)", 1, "ms_ssim: images f32[N, 3, 28, 28] are too small for 5 scales with a 11x11 window: scale 3 is 7x7"},
    {"ms_ssim(x, x, scales=2, weights=[1])", 1, "ms_ssim: weights has 1 entries for 2 scales"},
    {"ms_ssim(x, x, scales=6, win=3)", 1, "ms_ssim: the standard weights cover 5 scales; give weights=[...] for 6"},
    {"kl_std_normal(v, v)", 0, "f32[N]"},
    {"kl_std_normal(v, bb)", 1, "kl_std_normal: shapes differ: f32[N, 8] vs f32[5]"},
    {"info_nce(v, v)", 0, "f32[]"},
    {"info_nce(v, v, temperature=0)", 1, "info_nce: temperature must be positive, got 0"},
    {"pairwise_sqdist(v, w)", 0, "f32[N, 5]"},
    {"pairwise_sqdist(v, m)", 1, "pairwise_sqdist: feature dims differ: f32[N, 8] vs f32[4, 5]"},
    {"entropy(softmax(v))", 0, "f32[N]"},
    {"entropy(s)", 1, "entropy: needs at least 1 dim, got a scalar"},
    {"normal_like(x)", 0, "f32[N, 3, 28, 28]"},
    {"normal_like()", 1, "normal_like: missing argument 'x'; signature: normal_like(x:tensor)"},
    {"uniform_like(v)", 0, "f32[N, 8]"},
    {"uniform_like(v, 1)", 17, "uniform_like: too many arguments (2 given, at most 1); signature: uniform_like(x:tensor)"},
    {"randint(10, [N, 3])", 0, "i32[N, 3]"},
    {"randint(0, [3])", 1, "randint: n must be >= 1, got 0"},
    {"randint(5, [-1])", 1, "randint: the shape cannot contain -1"},
    {"categorical(softmax(v), 3)", 0, "i32[N, 3]"},
    {"categorical(x, 2)", 1, "categorical: p has 4 dims (f32[N, 3, 28, 28]), expected 2 (rows, categories)"},
    {"categorical(softmax(v), 0)", 1, "categorical: k must be >= 1, got 0"},
    {"crop_grid(x, k, 14, 14)", 0, "f32[2*N, 3, 14, 14]"},
    {"crop_grid(x, k, 30, 1)", 1, "crop_grid: the crop size 30 is larger than the image height 28"},
    {"crop_grid(x, y, 14, 14)", 1, "crop_grid: idx has 1 dims (i32[N]), expected 2 (N, K)"},
    {"crop_all(x, 14, 7)", 0, "f32[9*N, 3, 14, 14]"},
    {"crop_all(x, 0, 1)", 1, "crop_all: size and stride must be >= 1, got 0 and 1"},
};

static void test_every_op(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        char text[4096], want[1024];
        snprintf(text, sizeof text, "%soutput o = %s\n", prelude, cases[i].expr);
        struct cg_error e = {0};
        struct cg_graph *g = NULL;
        enum cg_status st = cg_graph_load_text("i.graph", text, strlen(text), &g, &e);
        if (cases[i].col == 0) {
            if (st != CG_OK) {
                print_error("%s: unexpected error %s\n", cases[i].expr, e.msg);
                failures++;
                continue;
            }
            const struct cg_value *v = &g->values[g->outputs[0].value];
            char b[256];
            cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b);
            if (strcmp(b, cases[i].want)) {
                print_error("%s: got %s, want %s\n", cases[i].expr, b, cases[i].want);
                failures++;
            }
            cg_graph_destroy(g);
        } else {
            snprintf(want, sizeof want, "i.graph:%d:%d: error: %s", CASE_LINE,
                     EXPR_COL - 1 + cases[i].col, cases[i].want);
            if (st != CG_ERR_INPUT || strcmp(e.msg, want)) {
                print_error("%s:\n  got  %s\n  want %s\n", cases[i].expr,
                            st == CG_OK ? "(no error)" : e.msg, want);
                failures++;
            }
            cg_graph_destroy(g);
        }
    }
    assert_int_equal(failures, 0);
}

/* Every op of ops.def (but the internal const) has a good and a bad case above. */
static void test_coverage(void **state)
{
    (void)state;
    const struct cg_op_def *ops = cg_ops();
    for (int op = 0; op < CG_OP_COUNT; op++) {
        if (ops[op].flags & CG_OPF_INTERNAL)
            continue;
        int good = 0, bad = 0;
        size_t n = strlen(ops[op].name);
        for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
            if (!strncmp(cases[i].expr, ops[op].name, n) && cases[i].expr[n] == '(')
                *(cases[i].col ? &bad : &good) += 1;
        if (!good || !bad)
            fail_msg("op %s lacks a %s case", ops[op].name, good ? "bad" : "good");
    }
}

/* ---- symbolic dimensions ---------------------------------------------------------------- */

static const char *dstr(const struct cg_symtab *st, struct cg_dim d)
{
    static char b[8][128];
    static int k;
    k = (k + 1) % 8;
    return cg_dim_str(st, d, b[k], sizeof b[k]);
}

static void test_dim_arithmetic(void **state)
{
    (void)state;
    struct cg_symtab st = {0};
    int n = cg_sym_intern(&st, "N"), kk = cg_sym_intern(&st, "K");
    assert_int_equal(n, 1);
    assert_int_equal(kk, 2);
    assert_int_equal(cg_sym_intern(&st, "N"), 1);
    assert_int_equal(cg_sym_find(&st, "K"), 2);
    assert_int_equal(cg_sym_find(&st, "Q"), 0);
    struct cg_dim N = cg_dim_sym(n), K = cg_dim_sym(kk), r, t;
    assert_string_equal(dstr(&st, cg_dim_const(0)), "0");
    assert_string_equal(dstr(&st, cg_dim_const(-7)), "-7");
    assert_string_equal(dstr(&st, N), "N");
    assert_int_equal(cg_dim_mul(N, cg_dim_const(2), &r), 0);
    assert_string_equal(dstr(&st, r), "2*N");
    assert_int_equal(cg_dim_mul(N, K, &t), 0);
    assert_int_equal(cg_dim_add(t, cg_dim_const(1), &t), 0);
    assert_string_equal(dstr(&st, t), "1+N*K");
    assert_int_equal(cg_dim_sub(t, cg_dim_const(3), &t), 0);
    assert_string_equal(dstr(&st, t), "-2+N*K");
    assert_int_equal(cg_dim_sub(N, N, &r), 0);
    assert_int_equal(r.nterms, 0);
    assert_string_equal(dstr(&st, r), "0");
    /* (N + 1)(N - 1) = N*N - 1 */
    struct cg_dim a, b;
    assert_int_equal(cg_dim_add(N, cg_dim_const(1), &a), 0);
    assert_int_equal(cg_dim_sub(N, cg_dim_const(1), &b), 0);
    assert_int_equal(cg_dim_mul(a, b, &r), 0);
    assert_string_equal(dstr(&st, r), "-1+N*N");
    /* exact division by a single term */
    assert_int_equal(cg_dim_mul(N, cg_dim_const(6), &a), 0);
    assert_int_equal(cg_dim_div(a, cg_dim_const(3), &r), 0);
    assert_string_equal(dstr(&st, r), "2*N");
    assert_int_equal(cg_dim_div(a, N, &r), 0);
    assert_string_equal(dstr(&st, r), "6");
    assert_int_equal(cg_dim_div(a, cg_dim_const(4), &r), -1);
    assert_int_equal(cg_dim_div(a, K, &r), -1);
    assert_int_equal(cg_dim_div(a, cg_dim_const(0), &r), -1);
    assert_int_equal(cg_dim_add(N, K, &b), 0);
    assert_int_equal(cg_dim_div(a, b, &r), -1); /* divisor of two terms */
    /* overflow and too many symbols per term are reported, not wrapped */
    assert_int_equal(cg_dim_mul(cg_dim_const(INT64_MAX), cg_dim_const(2), &r), -1);
    assert_int_equal(cg_dim_add(cg_dim_const(INT64_MAX), cg_dim_const(1), &r), -1);
    assert_int_equal(cg_dim_mul(N, N, &a), 0);
    assert_int_equal(cg_dim_mul(a, N, &a), 0);
    assert_int_equal(cg_dim_mul(a, N, &r), -1);
    /* too many terms */
    int id3 = cg_sym_intern(&st, "A"), id4 = cg_sym_intern(&st, "B");
    struct cg_dim p = cg_dim_const(1);
    assert_int_equal(cg_dim_add(p, N, &p), 0);
    assert_int_equal(cg_dim_add(p, K, &p), 0);
    assert_int_equal(cg_dim_add(p, cg_dim_sym(id3), &p), 0);
    assert_int_equal(cg_dim_add(p, cg_dim_sym(id4), &r), -1);
    int64_t v;
    assert_true(cg_dim_is_const(cg_dim_const(5), &v) && v == 5);
    assert_false(cg_dim_is_const(N, &v));
    int id;
    assert_true(cg_dim_is_sym(K, &id) && id == kk);
    assert_false(cg_dim_is_sym(cg_dim_const(2), &id));
    assert_true(cg_dim_has_sym(t, kk));
    assert_false(cg_dim_has_sym(t, id3));
    assert_true(cg_dim_eq(N, cg_dim_sym(n)));
    assert_false(cg_dim_eq(N, K));
    /* without a symbol table names print as ? */
    assert_string_equal(dstr(NULL, N), "?");
}

static void test_dim_unify(void **state)
{
    (void)state;
    struct cg_symtab st = {0};
    int n = cg_sym_intern(&st, "N"), b = cg_sym_intern(&st, "B"), k = cg_sym_intern(&st, "K");
    struct cg_dim N = cg_dim_sym(n), B = cg_dim_sym(b), K = cg_dim_sym(k), r;
    /* two free symbols: the later one stands for the earlier one */
    assert_int_equal(cg_dim_unify(&st, B, N), 0);
    assert_string_equal(dstr(&st, B), "N");
    assert_string_equal(dstr(&st, N), "N");
    /* 2*K + 4 = 10 solves K = 3 */
    struct cg_dim e;
    assert_int_equal(cg_dim_mul(K, cg_dim_const(2), &e), 0);
    assert_int_equal(cg_dim_add(e, cg_dim_const(4), &e), 0);
    assert_int_equal(cg_dim_unify(&st, e, cg_dim_const(10)), 0);
    assert_string_equal(dstr(&st, K), "3");
    assert_string_equal(dstr(&st, e), "10");
    /* no positive integer solution */
    struct cg_symtab st2 = {0};
    int m = cg_sym_intern(&st2, "M");
    assert_int_equal(cg_dim_mul(cg_dim_sym(m), cg_dim_const(2), &e), 0);
    assert_int_equal(cg_dim_unify(&st2, e, cg_dim_const(7)), -1);
    assert_int_equal(cg_dim_unify(&st2, e, cg_dim_const(0)), -1);
    assert_int_equal(cg_dim_unify(&st2, cg_dim_const(3), cg_dim_const(4)), -1);
    /* a symbol cannot equal an expression containing itself */
    assert_int_equal(cg_dim_add(cg_dim_sym(m), cg_dim_const(1), &e), 0);
    assert_int_equal(cg_dim_unify(&st2, cg_dim_sym(m), e), -1);
    /* binding through unification: B = N, so binding B binds N */
    assert_int_equal(cg_sym_bind(&st, b, 16, &r), 0);
    assert_string_equal(dstr(&st, N), "16");
    assert_int_equal(cg_sym_bind(&st, n, 16, &r), 0);
    assert_int_equal(cg_sym_bind(&st, n, 8, &r), -1);
    assert_string_equal(dstr(&st, r), "16");
    /* resolve substitutes repeatedly */
    struct cg_symtab st3 = {0};
    int p = cg_sym_intern(&st3, "P"), q = cg_sym_intern(&st3, "Q");
    assert_int_equal(cg_dim_mul(cg_dim_sym(q), cg_dim_const(2), &e), 0);
    assert_int_equal(cg_dim_unify(&st3, cg_dim_sym(p), e), 0);
    assert_string_equal(dstr(&st3, cg_dim_sym(p)), "2*Q");
    assert_int_equal(cg_sym_bind(&st3, q, 5, NULL), 0);
    r = cg_dim_resolve(&st3, cg_dim_sym(p));
    int64_t v;
    assert_true(cg_dim_is_const(r, &v) && v == 10);
    /* the table is bounded */
    struct cg_symtab big = {0};
    char name[16];
    for (int i = 0; i < CG_MAX_SYMBOLS; i++) {
        snprintf(name, sizeof name, "S%d", i);
        assert_int_equal(cg_sym_intern(&big, name), i + 1);
    }
    assert_int_equal(cg_sym_intern(&big, "EXTRA"), -1);
    char longname[64];
    memset(longname, 'L', 40);
    longname[40] = 0;
    struct cg_symtab st4 = {0};
    assert_int_equal(cg_sym_intern(&st4, longname), -1);
}

static void test_symbolic_graphs(void **state)
{
    (void)state;
    /* polynomial dims flow through ops and become concrete after binding */
    const char *text = "input x : f32[N, 3, 28, 28]\ninput z : f32[M, 3, 28, 28]\n"
                       "c = concat([x, z, x], 0)\n"
                       "output crops = crop_all(c, 14, 14)\n"
                       "output r = reshape(c, [-1, 3 * 28 * 28])\n"
                       "output u = upsample_nearest(reshape(x, [N * 3, 1, 28, 28]), 2)\n";
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    if (cg_graph_load_text("s.graph", text, strlen(text), &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    char b[256];
    const struct cg_value *v = &g->values[g->outputs[0].value];
    assert_string_equal(cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b),
                        "f32[8*N+4*M, 3, 14, 14]");
    v = &g->values[g->outputs[1].value];
    assert_string_equal(cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b),
                        "f32[2*N+M, 2352]");
    assert_int_equal(cg_graph_bind(g, "N", 2, &e), CG_OK);
    assert_int_equal(cg_graph_bind(g, "M", 1, &e), CG_OK);
    assert_int_equal(cg_graph_reinfer(g, &e), CG_OK);
    v = &g->values[g->outputs[0].value];
    assert_string_equal(cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b),
                        "f32[20, 3, 14, 14]");
    v = &g->values[g->outputs[2].value];
    assert_string_equal(cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b),
                        "f32[6, 1, 56, 56]");
    cg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_dim_arithmetic),
        cmocka_unit_test(test_dim_unify),
        cmocka_unit_test(test_symbolic_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
