/* grad_rules.c: the gradient rule of every differentiable op (the `grad` column of ops.def).
 * Each rule emits ordinary nodes computing the gradients of its inputs from the gradient of
 * its output (c->gy), reusing forward ops where the math allows (a conv's input gradient is a
 * transposed conv, softmax's is elementwise plus a sum) and internal ops where it does not
 * (unary_grad, binary_grad, reduce_grad, sum_to, conv2d_grad_w, pooling grads, scatters). */
#include <string.h>

#include "passes/grad.h"

/* ---- small node-building helpers ---- */

static struct cg_attr a_int(int64_t v)
{
    struct cg_attr a = {.kind = CG_AT_INT, .i = v, .f = (double)v, .auto_index = -1};
    return a;
}

static struct cg_attr a_float(double v)
{
    struct cg_attr a = {.kind = CG_AT_FLOAT, .f = v, .i = (int64_t)v, .auto_index = -1};
    return a;
}

/* The forward node's attribute `name`. */
static struct cg_attr fattr(struct cg_grad *c, const char *name)
{
    const struct cg_schema *s = &cg_ops()[c->node.op].schema;
    for (int i = 0; i < s->nargs; i++)
        if (!s->args[i].is_tensor && !strcmp(s->args[i].name, name))
            return c->node.attrs[s->args[i].slot];
    struct cg_attr none = {.kind = CG_AT_NONE, .auto_index = -1};
    return none;
}

static double fattr_f(struct cg_grad *c, const char *name)
{
    struct cg_attr a = fattr(c, name);
    return a.kind == CG_AT_INT ? (double)a.i : a.f;
}

/* Emits op(inputs) with attributes (names[i] = vals[i]); returns the value id in *out. */
static enum cg_status emit(struct cg_grad *c, int op, const int *in, int nin, const char **names,
                           const struct cg_attr *vals, int na, int *out)
{
    return cg_build_node(c->b, op, in, nin, names, vals, na, c->node.loc, out);
}

static enum cg_status emit1(struct cg_grad *c, int op, int a, int *out)
{
    return emit(c, op, &a, 1, NULL, NULL, 0, out);
}

static enum cg_status emit2(struct cg_grad *c, int op, int a, int b, int *out)
{
    int in[2] = {a, b};
    return emit(c, op, in, 2, NULL, NULL, 0, out);
}

static const struct cg_shape *shape(struct cg_grad *c, int v) { return &c->g->values[v].shape; }

static int same_shape(struct cg_grad *c, int a, int b)
{
    const struct cg_shape *x = shape(c, a), *y = shape(c, b);
    if (x->rank != y->rank)
        return 0;
    for (int i = 0; i < x->rank; i++)
        if (!cg_dim_eq(x->d[i], y->d[i]))
            return 0;
    return 1;
}

/* Sums t down to the shape of `like` when broadcasting made it larger. */
static enum cg_status sum_to(struct cg_grad *c, int t, int like, int *out)
{
    if (same_shape(c, t, like)) {
        *out = t;
        return CG_OK;
    }
    return emit2(c, CG_OP_sum_to, t, like, out);
}

/* reshape(t, shape of like) */
static enum cg_status reshape_like(struct cg_grad *c, int t, int like, int *out)
{
    if (same_shape(c, t, like)) {
        *out = t;
        return CG_OK;
    }
    const struct cg_shape *s = shape(c, like);
    struct cg_attr a = {.kind = CG_AT_DIMS, .n = s->rank, .auto_index = -1};
    a.dims = cg_arena_alloc(&c->g->arena, sizeof(struct cg_dim) * (size_t)(s->rank ? s->rank : 1));
    if (!a.dims)
        return cg_error_nomem(c->e);
    memcpy(a.dims, s->d, sizeof(struct cg_dim) * (size_t)s->rank);
    const char *name = "shape";
    return emit(c, CG_OP_reshape, &t, 1, &name, &a, 1, out);
}

static enum cg_status ints_attr(struct cg_grad *c, const int64_t *v, int n, struct cg_attr *a)
{
    memset(a, 0, sizeof *a);
    a->kind = CG_AT_INTS;
    a->auto_index = -1;
    a->was_list = 1;
    a->n = n;
    a->ints = cg_arena_alloc(&c->g->arena, sizeof(int64_t) * (size_t)(n ? n : 1));
    a->floats = cg_arena_alloc(&c->g->arena, sizeof(double) * (size_t)(n ? n : 1));
    if (!a->ints || !a->floats)
        return cg_error_nomem(c->e);
    for (int i = 0; i < n; i++) {
        a->ints[i] = v[i];
        a->floats[i] = (double)v[i];
    }
    if (n)
        a->i = v[0];
    return CG_OK;
}

/* sum(t, axes) keeping no dims */
static enum cg_status sum_axes(struct cg_grad *c, int t, const int64_t *axes, int n, int keep,
                               int *out)
{
    const char *names[2] = {"axis", "keepdims"};
    struct cg_attr vals[2];
    CG_TRY(ints_attr(c, axes, n, &vals[0]));
    vals[1] = a_int(keep);
    return emit(c, CG_OP_sum, &t, 1, names, vals, 2, out);
}

static int64_t dim(struct cg_grad *c, int v, int i)
{
    int64_t x = 0;
    const struct cg_shape *s = shape(c, v);
    if (i < 0)
        i += s->rank;
    cg_dim_is_const(cg_dim_resolve(&c->g->syms, s->d[i]), &x);
    return x;
}

/* ---- rules ---- */

enum cg_status cg_grad_unary(struct cg_grad *c)
{
    static const char *const p0s[] = {[CG_OP_pow] = "p", [CG_OP_leaky_relu] = "slope",
                                      [CG_OP_softplus] = "beta", [CG_OP_clamp] = "lo"};
    int op = c->node.op;
    if (op == CG_OP_neg)
        return emit1(c, CG_OP_neg, c->gy, &c->gx[0]);
    double p0 = 0, p1 = 0;
    if (op < (int)CG_ARRAY_LEN(p0s) && p0s[op])
        p0 = fattr_f(c, p0s[op]);
    if (op == CG_OP_softplus)
        p1 = fattr_f(c, "threshold");
    if (op == CG_OP_clamp)
        p1 = fattr_f(c, "hi");
    const char *names[3] = {"op", "p0", "p1"};
    struct cg_attr vals[3] = {a_int(op), a_float(p0), a_float(p1)};
    /* where the derivative is a function of y alone (cl/elementwise.cl's unary_d; relu's
     * x > 0 is y > 0), y stands in for x too, so x need not live until the backward pass and
     * the forward op can overwrite it (passes/memplan.h); the values computed are the same */
    int y_only = op == CG_OP_relu || op == CG_OP_exp || op == CG_OP_sqrt || op == CG_OP_rsqrt ||
                 op == CG_OP_sigmoid || op == CG_OP_tanh;
    int in[3] = {y_only ? c->y : c->node.inputs[0], c->y, c->gy};
    return emit(c, CG_OP_unary_grad, in, 3, names, vals, 3, &c->gx[0]);
}

enum cg_status cg_grad_binary(struct cg_grad *c)
{
    int a = c->node.inputs[0], b = c->node.inputs[1], op = c->node.op;
    for (int which = 0; which < 2; which++) {
        int x = which ? b : a, t;
        if (op == CG_OP_add || (op == CG_OP_sub && which == 0)) {
            t = c->gy;
        } else if (op == CG_OP_sub) {
            CG_TRY(emit1(c, CG_OP_neg, c->gy, &t));
        } else {
            const char *names[2] = {"op", "which"};
            struct cg_attr vals[2] = {a_int(op), a_int(which)};
            int in[3] = {a, b, c->gy};
            CG_TRY(emit(c, CG_OP_binary_grad, in, 3, names, vals, 2, &t));
        }
        CG_TRY(sum_to(c, t, x, &c->gx[which]));
    }
    return CG_OK;
}

enum cg_status cg_grad_reduce(struct cg_grad *c)
{
    const char *names[3] = {"op", "axis", "unbiased"};
    struct cg_attr vals[3] = {a_int(c->node.op), fattr(c, "axis"), a_int(1)};
    if (c->node.op == CG_OP_var)
        vals[2] = fattr(c, "unbiased");
    int in[3] = {c->node.inputs[0], c->y, c->gy};
    return emit(c, CG_OP_reduce_grad, in, 3, names, vals, 3, &c->gx[0]);
}

enum cg_status cg_grad_reshape(struct cg_grad *c)
{
    return reshape_like(c, c->gy, c->node.inputs[0], &c->gx[0]);
}

enum cg_status cg_grad_permute(struct cg_grad *c)
{
    if (c->node.op == CG_OP_transpose) {
        const char *names[2] = {"a", "b"};
        struct cg_attr vals[2] = {fattr(c, "a"), fattr(c, "b")};
        return emit(c, CG_OP_transpose, &c->gy, 1, names, vals, 2, &c->gx[0]);
    }
    struct cg_attr perm = fattr(c, "dims");
    int64_t inv[CG_MAX_RANK];
    int r = perm.n;
    for (int i = 0; i < r; i++) {
        int64_t p = perm.ints[i] < 0 ? perm.ints[i] + r : perm.ints[i];
        inv[p] = i;
    }
    const char *name = "dims";
    struct cg_attr a;
    CG_TRY(ints_attr(c, inv, r, &a));
    return emit(c, CG_OP_permute, &c->gy, 1, &name, &a, 1, &c->gx[0]);
}

enum cg_status cg_grad_concat(struct cg_grad *c)
{
    int r = shape(c, c->y)->rank;
    int64_t axis = fattr(c, "axis").i;
    if (axis < 0)
        axis += r;
    int64_t off = 0;
    for (int i = 0; i < c->node.ninputs; i++) {
        int64_t len = dim(c, c->node.inputs[i], (int)axis);
        const char *names[3] = {"axis", "start", "end"};
        struct cg_attr vals[3] = {a_int(axis), a_int(off), a_int(off + len)};
        CG_TRY(emit(c, CG_OP_slice, &c->gy, 1, names, vals, 3, &c->gx[i]));
        off += len;
    }
    return CG_OK;
}

enum cg_status cg_grad_slice(struct cg_grad *c)
{
    const char *names[3] = {"axis", "start", "end"};
    struct cg_attr vals[3] = {fattr(c, "axis"), fattr(c, "start"), fattr(c, "end")};
    int in[2] = {c->gy, c->node.inputs[0]};
    return emit(c, CG_OP_slice_grad, in, 2, names, vals, 3, &c->gx[0]);
}

enum cg_status cg_grad_broadcast_to(struct cg_grad *c)
{
    return sum_to(c, c->gy, c->node.inputs[0], &c->gx[0]);
}

enum cg_status cg_grad_gather(struct cg_grad *c)
{
    const char *name = "axis";
    struct cg_attr a = fattr(c, "axis");
    int in[3] = {c->gy, c->node.inputs[1], c->node.inputs[0]};
    return emit(c, CG_OP_scatter_add, in, 3, &name, &a, 1, &c->gx[0]);
}

enum cg_status cg_grad_linear(struct cg_grad *c)
{
    int x = c->node.inputs[0], w = c->node.inputs[1], b = c->node.inputs[2];
    int r = shape(c, x)->rank;
    CG_TRY(emit2(c, CG_OP_matmul, c->gy, w, &c->gx[0])); /* [..., out] @ [out, in] */
    int x2 = x, g2 = c->gy;
    if (r != 2) { /* flatten the batch dims: [M, in], [M, out] */
        int64_t m = 1;
        for (int i = 0; i < r - 1; i++)
            m *= dim(c, x, i);
        const char *name = "shape";
        struct cg_attr a = {.kind = CG_AT_DIMS, .n = 2, .auto_index = -1};
        a.dims = cg_arena_alloc(&c->g->arena, 2 * sizeof(struct cg_dim));
        struct cg_attr a2 = a;
        a2.dims = cg_arena_alloc(&c->g->arena, 2 * sizeof(struct cg_dim));
        if (!a.dims || !a2.dims)
            return cg_error_nomem(c->e);
        a.dims[0] = a2.dims[0] = cg_dim_const(m);
        a.dims[1] = cg_dim_const(dim(c, x, -1));
        a2.dims[1] = cg_dim_const(dim(c, c->gy, -1));
        if (r == 1) { /* x [in]: one row */
            a.dims[0] = a2.dims[0] = cg_dim_const(1);
        }
        CG_TRY(emit(c, CG_OP_reshape, &x, 1, &name, &a, 1, &x2));
        CG_TRY(emit(c, CG_OP_reshape, &c->gy, 1, &name, &a2, 1, &g2));
    }
    int gt;
    const char *tn[2] = {"a", "b"};
    struct cg_attr tv[2] = {a_int(0), a_int(1)};
    CG_TRY(emit(c, CG_OP_transpose, &g2, 1, tn, tv, 2, &gt));
    CG_TRY(emit2(c, CG_OP_matmul, gt, x2, &c->gx[1])); /* [out, M] @ [M, in] */
    if (b >= 0) {
        int64_t axes[CG_MAX_RANK];
        for (int i = 0; i < r - 1; i++)
            axes[i] = i;
        if (r == 1)
            c->gx[2] = c->gy;
        else
            CG_TRY(sum_axes(c, c->gy, axes, r - 1, 0, &c->gx[2]));
    }
    return CG_OK;
}

enum cg_status cg_grad_matmul(struct cg_grad *c)
{
    int a = c->node.inputs[0], b = c->node.inputs[1];
    int ra = shape(c, a)->rank, rb = shape(c, b)->rank;
    int a2 = a, b2 = b, gy = c->gy;
    const char *an = "axis";
    struct cg_attr av;
    if (ra == 1) { /* [k] -> [1, k]; gy gains the row dim before the last */
        av = a_int(0);
        CG_TRY(emit(c, CG_OP_unsqueeze, &a, 1, &an, &av, 1, &a2));
        av = a_int(rb == 1 ? 0 : -2);
        CG_TRY(emit(c, CG_OP_unsqueeze, &gy, 1, &an, &av, 1, &gy));
    }
    if (rb == 1) { /* [k] -> [k, 1]; gy gains the column dim */
        av = a_int(1);
        CG_TRY(emit(c, CG_OP_unsqueeze, &b, 1, &an, &av, 1, &b2));
        av = a_int(-1);
        CG_TRY(emit(c, CG_OP_unsqueeze, &gy, 1, &an, &av, 1, &gy));
    }
    const char *tn[2] = {"a", "b"};
    struct cg_attr tv[2] = {a_int(-2), a_int(-1)};
    int bt, at, ga, gb;
    CG_TRY(emit(c, CG_OP_transpose, &b2, 1, tn, tv, 2, &bt));
    CG_TRY(emit2(c, CG_OP_matmul, gy, bt, &ga));
    CG_TRY(sum_to(c, ga, a2, &ga));
    CG_TRY(reshape_like(c, ga, a, &c->gx[0]));
    CG_TRY(emit(c, CG_OP_transpose, &a2, 1, tn, tv, 2, &at));
    CG_TRY(emit2(c, CG_OP_matmul, at, gy, &gb));
    CG_TRY(sum_to(c, gb, b2, &gb));
    return reshape_like(c, gb, b, &c->gx[1]);
}

/* int-or-pair attribute of the forward node as two values. */
static void fpair(struct cg_grad *c, const char *name, int64_t dflt, int64_t v[2])
{
    struct cg_attr a = fattr(c, name);
    v[0] = v[1] = dflt;
    if (a.kind == CG_AT_INT)
        v[0] = v[1] = a.i;
    else if (a.kind == CG_AT_INTS && a.n >= 1) {
        v[0] = a.ints[0];
        v[1] = a.ints[a.n - 1];
    }
}

static enum cg_status bias_grad(struct cg_grad *c, int slot)
{
    if (c->node.inputs[slot] < 0)
        return CG_OK;
    int64_t axes[3] = {0, 2, 3};
    return sum_axes(c, c->gy, axes, 3, 0, &c->gx[slot]);
}

enum cg_status cg_grad_conv2d(struct cg_grad *c)
{
    int x = c->node.inputs[0], w = c->node.inputs[1];
    int64_t s[2], p[2], d[2], op[2];
    fpair(c, "stride", 1, s);
    fpair(c, "pad", 0, p);
    fpair(c, "dilation", 1, d);
    int64_t k[2] = {dim(c, w, 2), dim(c, w, 3)};
    for (int i = 0; i < 2; i++) /* output_pad that makes the transposed conv reach x's size */
        op[i] = dim(c, x, 2 + i) - ((dim(c, c->gy, 2 + i) - 1) * s[i] - 2 * p[i] +
                                    d[i] * (k[i] - 1) + 1);
    struct cg_attr vals[5];
    CG_TRY(ints_attr(c, s, 2, &vals[0]));
    CG_TRY(ints_attr(c, p, 2, &vals[1]));
    CG_TRY(ints_attr(c, op, 2, &vals[2]));
    vals[3] = fattr(c, "groups");
    CG_TRY(ints_attr(c, d, 2, &vals[4]));
    const char *names[5] = {"stride", "pad", "output_pad", "groups", "dilation"};
    int in[3] = {c->gy, w, -1};
    CG_TRY(emit(c, CG_OP_conv_transpose2d, in, 3, names, vals, 5, &c->gx[0]));
    const char *wn[6] = {"kh", "kw", "stride", "pad", "dilation", "groups"};
    struct cg_attr wv[6] = {a_int(k[0]), a_int(k[1]), vals[0], vals[1], vals[4], vals[3]};
    int win[2] = {x, c->gy};
    CG_TRY(emit(c, CG_OP_conv2d_grad_w, win, 2, wn, wv, 6, &c->gx[1]));
    return bias_grad(c, 2);
}

enum cg_status cg_grad_conv_transpose2d(struct cg_grad *c)
{
    int x = c->node.inputs[0], w = c->node.inputs[1];
    int64_t s[2], p[2], d[2];
    fpair(c, "stride", 1, s);
    fpair(c, "pad", 0, p);
    fpair(c, "dilation", 1, d);
    struct cg_attr vals[4];
    CG_TRY(ints_attr(c, s, 2, &vals[0]));
    CG_TRY(ints_attr(c, p, 2, &vals[1]));
    CG_TRY(ints_attr(c, d, 2, &vals[2]));
    vals[3] = fattr(c, "groups");
    const char *names[4] = {"stride", "pad", "dilation", "groups"};
    int in[3] = {c->gy, w, -1};
    CG_TRY(emit(c, CG_OP_conv2d, in, 3, names, vals, 4, &c->gx[0]));
    const char *wn[6] = {"kh", "kw", "stride", "pad", "dilation", "groups"};
    struct cg_attr wv[6] = {a_int(dim(c, w, 2)), a_int(dim(c, w, 3)), vals[0], vals[1], vals[2],
                            vals[3]};
    int win[2] = {c->gy, x};
    CG_TRY(emit(c, CG_OP_conv2d_grad_w, win, 2, wn, wv, 6, &c->gx[1]));
    return bias_grad(c, 2);
}

enum cg_status cg_grad_pool(struct cg_grad *c)
{
    const char *names[3] = {"k", "stride", "pad"};
    struct cg_attr vals[3] = {fattr(c, "k"), fattr(c, "stride"), fattr(c, "pad")};
    int x = c->node.inputs[0];
    if (c->node.op == CG_OP_max_pool2d) {
        int in[2] = {x, c->gy};
        return emit(c, CG_OP_max_pool2d_grad, in, 2, names, vals, 3, &c->gx[0]);
    }
    int in[2] = {c->gy, x};
    return emit(c, CG_OP_avg_pool2d_grad, in, 2, names, vals, 3, &c->gx[0]);
}

enum cg_status cg_grad_upsample(struct cg_grad *c)
{
    int64_t f = fattr(c, "scale").i;
    const char *name = "k";
    struct cg_attr k = a_int(f);
    int t, sc;
    CG_TRY(emit(c, CG_OP_avg_pool2d, &c->gy, 1, &name, &k, 1, &t));
    CG_TRY(cg_build_const(c->b, (double)(f * f), c->node.loc, &sc));
    return emit2(c, CG_OP_mul, t, sc, &c->gx[0]);
}

enum cg_status cg_grad_softmax(struct cg_grad *c)
{
    const char *names[2] = {"axis", "keepdims"};
    struct cg_attr vals[2] = {{0}, a_int(1)};
    int64_t axis = fattr(c, "axis").i; /* softmax's int axis as sum's axes list */
    CG_TRY(ints_attr(c, &axis, 1, &vals[0]));
    int t, s;
    if (c->node.op == CG_OP_softmax) { /* y * (gy - sum(gy * y)) */
        CG_TRY(emit2(c, CG_OP_mul, c->gy, c->y, &t));
        CG_TRY(emit(c, CG_OP_sum, &t, 1, names, vals, 2, &s));
        CG_TRY(emit2(c, CG_OP_sub, c->gy, s, &t));
        return emit2(c, CG_OP_mul, c->y, t, &c->gx[0]);
    }
    /* log_softmax: gy - exp(y) * sum(gy) */
    int e;
    CG_TRY(emit(c, CG_OP_sum, &c->gy, 1, names, vals, 2, &s));
    CG_TRY(emit1(c, CG_OP_exp, c->y, &e));
    CG_TRY(emit2(c, CG_OP_mul, e, s, &t));
    return emit2(c, CG_OP_sub, c->gy, t, &c->gx[0]);
}

enum cg_status cg_grad_l2_normalize(struct cg_grad *c)
{
    const char *names[2] = {"axis", "eps"};
    struct cg_attr vals[2] = {fattr(c, "axis"), fattr(c, "eps")};
    int in[2] = {c->node.inputs[0], c->gy};
    return emit(c, CG_OP_l2_normalize_grad, in, 2, names, vals, 2, &c->gx[0]);
}

enum cg_status cg_grad_dropout(struct cg_grad *c)
{
    /* the same mask: a dropout of gy drawing from the forward node's stream */
    const char *name = "p";
    struct cg_attr p = fattr(c, "p");
    CG_TRY(emit(c, CG_OP_dropout, &c->gy, 1, &name, &p, 1, &c->gx[0]));
    c->g->nodes[c->g->nnodes - 1].rng_id = c->node.rng_id;
    return CG_OK;
}

enum cg_status cg_grad_class_loss(struct cg_grad *c)
{
    const char *name = "op";
    struct cg_attr op = a_int(c->node.op);
    int in[3] = {c->node.inputs[0], c->node.inputs[1], c->gy};
    return emit(c, CG_OP_class_loss_grad, in, 3, &name, &op, 1, &c->gx[0]);
}

enum cg_status cg_grad_crop(struct cg_grad *c)
{
    const char *names[2] = {"size", "stride"};
    struct cg_attr vals[2] = {fattr(c, "size"), fattr(c, "stride")};
    int idx = c->node.op == CG_OP_crop_grid ? c->node.inputs[1] : -1;
    int in[3] = {c->gy, idx, c->node.inputs[0]};
    return emit(c, CG_OP_crop_grad, in, 3, names, vals, 2, &c->gx[0]);
}
