/* layers.c: the layer sugar (conv conv_t dense mlp). Each call creates its parameters with
 * PyTorch's default initialisation for the same layer (weight kaiming_uniform(a=sqrt(5)), bias
 * uniform(+-1/sqrt(fan_in))) under the naming rules of GRAPH_LANGUAGE.md, then emits the
 * functional op (conv2d, conv_transpose2d, linear). */
#include "ir/build.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct cg_attr *attr(struct cg_call *call, const char *name)
{
    const struct cg_schema *s = &call->op->schema;
    for (int i = 0; i < s->nargs; i++)
        if (!s->args[i].is_tensor && !strcmp(s->args[i].name, name))
            return &call->attrs[s->args[i].slot];
    return NULL;
}

static enum cg_status fail(struct cg_builder *b, struct cg_call *call, const char *msg,
                           const char *shape)
{
    return cg_error_set(cg_build_error(b), CG_ERR_INPUT, "%s:%d:%d: error: %s: %s%s",
                        call->loc.file, call->loc.line, call->loc.col, call->op->name, msg,
                        shape ? shape : "");
}

static const char *input_str(struct cg_builder *b, int v, char *buf, size_t n)
{
    struct cg_graph *g = cg_build_graph(b);
    return cg_shape_str(g, &g->values[v].shape, g->values[v].dtype, 1, buf, n);
}

/* Reads a concrete dim of value v; fails naming what it is. */
static enum cg_status concrete(struct cg_builder *b, struct cg_call *call, int v, int axis,
                               const char *what, int64_t *out)
{
    struct cg_graph *g = cg_build_graph(b);
    const struct cg_shape *s = &g->values[v].shape;
    char buf[256], msg[256];
    if (axis < 0)
        axis += s->rank;
    if (axis < 0 || axis >= s->rank ||
        !cg_dim_is_const(cg_dim_resolve(&g->syms, s->d[axis]), out)) {
        snprintf(msg, sizeof msg, "%s must be a concrete size; input is ", what);
        return fail(b, call, msg, input_str(b, v, buf, sizeof buf));
    }
    return CG_OK;
}

static struct cg_init kaiming(void) { return (struct cg_init){CG_INIT_KAIMING_UNIFORM, sqrt(5.0), 0}; }

static struct cg_init bias_init(int64_t fan_in)
{
    double bound = 1.0 / sqrt((double)fan_in);
    return (struct cg_init){CG_INIT_UNIFORM, -bound, bound};
}

static const char *layer_name(struct cg_call *call)
{
    const struct cg_attr *n = attr(call, "name");
    return n && n->kind == CG_AT_STR ? n->s : NULL;
}

/* name= must be a simple name, so that one instance's parameters cannot land under another's. */
static enum cg_status check_name(struct cg_builder *b, struct cg_call *call)
{
    const char *n = layer_name(call);
    if (n && !cg_is_simple_name(n))
        return fail(b, call, "name must be a simple name such as \"clf\" (letters, digits and "
                    "_, no dots)", NULL);
    return CG_OK;
}

/* Shared by conv and conv_t: w_shape and the bias fan-in differ. */
static enum cg_status expand_conv_common(struct cg_builder *b, struct cg_call *call, int op_id,
                                         const char *layer, int transposed, int *out)
{
    int x = call->inputs[0];
    struct cg_graph *g = cg_build_graph(b);
    char buf[256];
    CG_TRY(check_name(b, call));
    if (g->values[x].shape.rank != 4)
        return fail(b, call, "input must have 4 dims (N,C,H,W), got ",
                    input_str(b, x, buf, sizeof buf));
    int64_t cin, out_ch = attr(call, "out")->i, groups = attr(call, "groups")->i;
    const struct cg_attr *k = attr(call, "k");
    CG_TRY(concrete(b, call, x, 1, "the input channel count", &cin));
    if (out_ch < 1)
        return fail(b, call, "out must be >= 1", NULL);
    if (groups < 1 || cin % groups || out_ch % groups)
        return fail(b, call, "channels must be divisible by groups; input is ",
                    input_str(b, x, buf, sizeof buf));
    if (k->n < 1 || k->n > 2 || k->ints[0] < 1 || k->ints[k->n - 1] < 1)
        return fail(b, call, "k must be a positive size or a pair [kh, kw]", NULL);
    int64_t kh = k->ints[0], kw = k->ints[k->n - 1];
    struct cg_shape ws = {0};
    ws.rank = 4;
    ws.d[0] = cg_dim_const(transposed ? cin : out_ch);
    ws.d[1] = cg_dim_const(transposed ? out_ch / groups : cin / groups);
    ws.d[2] = cg_dim_const(kh);
    ws.d[3] = cg_dim_const(kw);
    int64_t fan_in = (transposed ? out_ch / groups : cin / groups) * kh * kw;
    const char *prefix = cg_build_layer_prefix(b, layer, layer_name(call));
    if (!prefix)
        return cg_error_nomem(cg_build_error(b));
    int w, bias = -1;
    CG_TRY(cg_build_param(b, prefix, "w", &ws, kaiming(), call->loc, &w));
    if (attr(call, "bias")->i) {
        struct cg_shape bs = {0};
        bs.rank = 1;
        bs.d[0] = cg_dim_const(out_ch);
        CG_TRY(cg_build_param(b, prefix, "b", &bs, bias_init(fan_in), call->loc, &bias));
    }
    const char *names[5] = {"stride", "pad", "dilation", "groups", "output_pad"};
    struct cg_attr vals[5] = {*attr(call, "stride"), *attr(call, "pad"), *attr(call, "dilation"),
                              *attr(call, "groups"), {0}};
    int nattrs = 4;
    if (transposed)
        vals[nattrs++] = *attr(call, "output_pad");
    int in[3] = {x, w, bias};
    return cg_build_node(b, op_id, in, 3, names, vals, nattrs, call->loc, out);
}

enum cg_status cg_expand_conv(struct cg_builder *b, struct cg_call *call, int *out)
{
    return expand_conv_common(b, call, CG_OP_conv2d, "conv", 0, out);
}

enum cg_status cg_expand_conv_t(struct cg_builder *b, struct cg_call *call, int *out)
{
    return expand_conv_common(b, call, CG_OP_conv_transpose2d, "conv_t", 1, out);
}

/* One dense layer on x: creates <prefix>.w [out, in] and <prefix>.b [out]. */
static enum cg_status dense(struct cg_builder *b, struct cg_call *call, int x, int64_t out_f,
                            int with_bias, const char *name, int *out)
{
    struct cg_graph *g = cg_build_graph(b);
    char buf[256];
    if (g->values[x].shape.rank < 1)
        return fail(b, call, "input must have a feature dim, got ",
                    input_str(b, x, buf, sizeof buf));
    if (out_f < 1)
        return fail(b, call, "layer sizes must be >= 1", NULL);
    int64_t in_f;
    CG_TRY(concrete(b, call, x, -1, "the feature count (last dim)", &in_f));
    const char *prefix = cg_build_layer_prefix(b, "dense", name);
    if (!prefix)
        return cg_error_nomem(cg_build_error(b));
    struct cg_shape ws = {0}, bs = {0};
    ws.rank = 2;
    ws.d[0] = cg_dim_const(out_f);
    ws.d[1] = cg_dim_const(in_f);
    bs.rank = 1;
    bs.d[0] = cg_dim_const(out_f);
    int w, bias = -1;
    CG_TRY(cg_build_param(b, prefix, "w", &ws, kaiming(), call->loc, &w));
    if (with_bias)
        CG_TRY(cg_build_param(b, prefix, "b", &bs, bias_init(in_f), call->loc, &bias));
    int in[3] = {x, w, bias};
    return cg_build_node(b, CG_OP_linear, in, 3, NULL, NULL, 0, call->loc, out);
}

enum cg_status cg_expand_dense(struct cg_builder *b, struct cg_call *call, int *out)
{
    CG_TRY(check_name(b, call));
    return dense(b, call, call->inputs[0], attr(call, "out")->i, (int)attr(call, "bias")->i,
                 layer_name(call), out);
}

enum cg_status cg_expand_mlp(struct cg_builder *b, struct cg_call *call, int *out)
{
    const struct cg_attr *sizes = attr(call, "sizes");
    const char *act = attr(call, "act")->s;
    static const char *const acts[] = {"relu", "tanh", "sigmoid", "leaky_relu", "softplus",
                                       "none"};
    static const int act_ops[] = {CG_OP_relu, CG_OP_tanh, CG_OP_sigmoid, CG_OP_leaky_relu,
                                  CG_OP_softplus, -1};
    int act_op = -2;
    for (size_t i = 0; i < CG_ARRAY_LEN(acts); i++)
        if (!strcmp(act, acts[i]))
            act_op = act_ops[i];
    if (act_op == -2)
        return fail(b, call, "unknown act (known: relu, tanh, sigmoid, leaky_relu, softplus, "
                    "none)", NULL);
    if (sizes->n < 1)
        return fail(b, call, "sizes must list at least one layer size", NULL);
    const char *name = layer_name(call);
    CG_TRY(check_name(b, call));
    if (name)
        CG_TRY(cg_build_push_scope(b, name));
    int x = call->inputs[0];
    enum cg_status st = CG_OK;
    for (int i = 0; i < sizes->n && st == CG_OK; i++) {
        st = dense(b, call, x, sizes->ints[i], (int)attr(call, "bias")->i, NULL, &x);
        if (st == CG_OK && i + 1 < sizes->n && act_op >= 0)
            st = cg_build_node(b, act_op, &x, 1, NULL, NULL, 0, call->loc, &x);
    }
    if (name)
        cg_build_pop_scope(b);
    *out = x;
    return st;
}
