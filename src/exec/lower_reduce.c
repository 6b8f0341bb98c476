/* lower_reduce.c: lowering of the reductions (sum mean max min logsumexp var argmax) and of
 * their gradient helpers sum_to and reduce_grad to the kernels of cl/reduce.cl.
 *
 * x is viewed as groups of adjacent dims that are all kept or all reduced (size-1 dims
 * dropped); the kernels walk any axis set through -D sizes and strides of those groups, so no
 * permute copy is needed. Large reduced counts use one work-group per output element with a
 * local-memory tree; small ones one work-item per output element.
 *
 * Gradients (reduce_grad): sum and mean broadcast gy back; logsumexp gives gy * exp(x - y);
 * var gy * 2 (x - mean) / (K - unbiased), with the means from a first reduce launch into
 * scratch; max and min follow torch's rule for full reductions and amax/amin: gy is split
 * evenly among the elements equal to the result (tie counts from a first launch into scratch).
 * torch's max(x, dim) instead sends all of gy to the returned index; clgraph has no indexed
 * max, so the even split is the only rule here. */
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"

#define LWS 64

/* x's dims grouped into runs of kept or reduced dims (see cl/reduce.cl). */
struct red_view {
    int nk, nr, ng;
    int64_t kd[CG_MAX_RANK], ks[CG_MAX_RANK], rd[CG_MAX_RANK], rs[CG_MAX_RANK];
    int64_t gd[CG_MAX_RANK];
    int gr[CG_MAX_RANK];
    int64_t m, k, n;
};

static void red_view_make(const int64_t *xs, int rank, const int *mask, struct red_view *v)
{
    memset(v, 0, sizeof *v);
    v->m = v->k = v->n = 1;
    for (int d = 0; d < rank; d++) {
        v->n *= xs[d];
        if (mask[d])
            v->k *= xs[d];
        else
            v->m *= xs[d];
        if (xs[d] == 1)
            continue;
        if (v->ng > 0 && v->gr[v->ng - 1] == (mask[d] != 0)) {
            v->gd[v->ng - 1] *= xs[d];
            continue;
        }
        v->gd[v->ng] = xs[d];
        v->gr[v->ng++] = mask[d] != 0;
    }
    int64_t stride = 1;
    int64_t gs[CG_MAX_RANK];
    for (int j = v->ng - 1; j >= 0; j--) {
        gs[j] = stride;
        stride *= v->gd[j];
    }
    for (int j = 0; j < v->ng; j++) {
        if (v->gr[j]) {
            v->rd[v->nr] = v->gd[j];
            v->rs[v->nr++] = gs[j];
        } else {
            v->kd[v->nk] = v->gd[j];
            v->ks[v->nk++] = gs[j];
        }
    }
}

static void add_indexed(char *buf, size_t n, const char *prefix, int j, long long value)
{
    char name[16];
    snprintf(name, sizeof name, "%s%d", prefix, j);
    cg_defines_add(buf, n, name, value);
}

static void red_view_defines(const struct red_view *v, char *buf, size_t n)
{
    cg_defines_add(buf, n, "M", v->m);
    cg_defines_add(buf, n, "K", v->k);
    cg_defines_add(buf, n, "N", v->n);
    cg_defines_add(buf, n, "NK", v->nk);
    cg_defines_add(buf, n, "NR", v->nr);
    cg_defines_add(buf, n, "NG", v->ng);
    for (int j = 0; j < v->nk; j++) {
        add_indexed(buf, n, "KD", j, v->kd[j]);
        add_indexed(buf, n, "KS", j, v->ks[j]);
    }
    for (int j = 0; j < v->nr; j++) {
        add_indexed(buf, n, "RD", j, v->rd[j]);
        add_indexed(buf, n, "RS", j, v->rs[j]);
    }
    for (int j = 0; j < v->ng; j++) {
        add_indexed(buf, n, "GD", j, v->gd[j]);
        add_indexed(buf, n, "GR", j, v->gr[j]);
    }
}

static void op_define(const char *op, char *buf, size_t n)
{
    size_t used = strlen(buf);
    if (used < n)
        snprintf(buf + used, n - used, " -DOP_%s", op);
}

/* The dims of value v as concrete sizes; returns its rank. */
static int dims_of(const struct cg_lower *l, int v, int64_t *d)
{
    int r = cg_lower_shape_of(l, v)->rank;
    for (int i = 0; i < r; i++)
        d[i] = cg_lower_dim(l, v, i);
    return r;
}

/* The reduction mask of the node's `axis` attribute over rank dims (absent: all). Accepts a
 * list (CG_AT_INTS, as graph files give it) or a single int (as gradient rules may pass). */
static enum cg_status axes_mask(struct cg_lower *l, int rank, int *mask)
{
    const struct cg_attr *a = cg_lower_attr(l, "axis");
    memset(mask, 0, sizeof(int) * CG_MAX_RANK);
    int n = a->kind == CG_AT_INTS ? a->n : 1;
    for (int i = 0; i < rank && a->kind == CG_AT_NONE; i++)
        mask[i] = 1;
    if (a->kind == CG_AT_NONE)
        return CG_OK;
    if (a->kind != CG_AT_INT && a->kind != CG_AT_INTS)
        return cg_lower_fail(l, "internal error: bad axis attribute");
    for (int i = 0; i < n; i++) {
        int64_t ax = a->kind == CG_AT_INTS ? a->ints[i] : a->i;
        if (ax < 0)
            ax += rank;
        if (ax < 0 || ax >= rank)
            return cg_lower_fail(l, "internal error: axis %lld out of range for rank %d",
                                 (long long)ax, rank);
        mask[ax] = 1;
    }
    return CG_OK;
}

/* One reduce launch of OP_<op> over view v: x (and aux for tiecount) into y. */
static enum cg_status emit_reduce(struct cg_lower *l, const struct red_view *v, const char *op,
                                  int unbiased, struct cg_karg x, struct cg_karg aux,
                                  struct cg_karg y)
{
    char defs[2048] = "";
    red_view_defines(v, defs, sizeof defs);
    op_define(op, defs, sizeof defs);
    cg_defines_add(defs, sizeof defs, "UNBIASED", unbiased);
    /* a work-group per output when the reduced count is large, or moderate with few outputs */
    int group = v->k >= 256 || (v->k >= 32 && v->m < 256);
    cg_defines_add(defs, sizeof defs, "GROUP", group);
    cg_defines_add(defs, sizeof defs, "LWS", LWS);
    struct cg_launch_desc d = {0};
    d.source = "reduce.cl";
    d.kernel = "reduce";
    d.defines = defs;
    d.dims = 1;
    d.has_lws = 1;
    d.lws[0] = LWS;
    d.gws[0] = group ? (size_t)v->m * LWS : (size_t)((v->m + LWS - 1) / LWS * LWS);
    struct cg_karg args[3] = {x, aux, y};
    return cg_lower_kernel(l, &d, args, 3);
}

static enum cg_status too_large(struct cg_lower *l, const struct red_view *v)
{
    if (v->n >= (int64_t)1 << 32 || v->m * LWS >= (int64_t)1 << 32)
        return cg_lower_fail(l, "tensor of %lld elements is too large for 32-bit indexing",
                             (long long)v->n);
    return CG_OK;
}

/* sum_to(x, like): the dims of x that like lacks (leading) or has as 1 are summed. */
static enum cg_status lower_sum_to(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int64_t xs[CG_MAX_RANK], ls[CG_MAX_RANK];
    int r = dims_of(l, nd->inputs[0], xs), rl = dims_of(l, nd->inputs[1], ls);
    int mask[CG_MAX_RANK] = {0};
    if (rl > r)
        return cg_lower_fail(l, "internal error: cannot sum rank %d down to rank %d", r, rl);
    for (int d = 0; d < r; d++) {
        int id = d - (r - rl);
        if (id < 0)
            mask[d] = 1;
        else if (ls[id] == 1)
            mask[d] = xs[d] != 1;
        else if (ls[id] != xs[d])
            return cg_lower_fail(l, "internal error: cannot sum dim %d of size %lld to %lld", d,
                                 (long long)xs[d], (long long)ls[id]);
    }
    struct red_view v;
    red_view_make(xs, r, mask, &v);
    CG_TRY(too_large(l, &v));
    if (v.m == 0)
        return CG_OK;
    return emit_reduce(l, &v, "sum", 0, CG_KV(nd->inputs[0]), CG_KV(nd->inputs[0]),
                       CG_KV(nd->out));
}

static enum cg_status lower_reduce_grad(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], y = nd->inputs[1], gy = nd->inputs[2];
    int op = (int)cg_lower_attr(l, "op")->i;
    int unbiased = (int)cg_lower_attr(l, "unbiased")->i;
    if (op != CG_OP_sum && op != CG_OP_mean && op != CG_OP_max && op != CG_OP_min &&
        op != CG_OP_logsumexp && op != CG_OP_var)
        return cg_lower_fail(l, "internal error: no gradient for reduction op %d", op);
    if (op != CG_OP_var)
        unbiased = 0;
    int64_t xs[CG_MAX_RANK];
    int r = dims_of(l, x, xs);
    int mask[CG_MAX_RANK];
    CG_TRY(axes_mask(l, r, mask));
    struct red_view v;
    red_view_make(xs, r, mask, &v);
    CG_TRY(too_large(l, &v));
    if (v.n == 0)
        return CG_OK;
    struct cg_karg aux = CG_KV(x);
    if (op == CG_OP_max || op == CG_OP_min || op == CG_OP_var) {
        CG_TRY(cg_lower_scratch(l, (size_t)v.m));
        aux = CG_KS(0);
        CG_TRY(emit_reduce(l, &v, op == CG_OP_var ? "mean" : "tiecount", 0, CG_KV(x), CG_KV(y),
                           aux));
    }
    char defs[2048] = "";
    red_view_defines(&v, defs, sizeof defs);
    op_define(cg_ops()[op].name, defs, sizeof defs);
    cg_defines_add(defs, sizeof defs, "UNBIASED", unbiased);
    struct cg_launch_desc d = {0};
    d.source = "reduce.cl";
    d.kernel = "reduce_grad";
    d.defines = defs;
    d.dims = 1;
    d.has_lws = 1;
    d.lws[0] = LWS;
    d.gws[0] = (size_t)((v.n + LWS - 1) / LWS * LWS);
    struct cg_karg args[5] = {CG_KV(x), CG_KV(y), CG_KV(gy), aux, CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 5);
}

enum cg_status cg_lower_reduce(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    if (nd->op == CG_OP_sum_to)
        return lower_sum_to(l);
    if (nd->op == CG_OP_reduce_grad)
        return lower_reduce_grad(l);
    int64_t xs[CG_MAX_RANK];
    int r = dims_of(l, nd->inputs[0], xs);
    int mask[CG_MAX_RANK];
    CG_TRY(axes_mask(l, r, mask));
    struct red_view v;
    red_view_make(xs, r, mask, &v);
    CG_TRY(too_large(l, &v));
    if (v.m == 0)
        return CG_OK;
    if (v.k == 0 && nd->op != CG_OP_sum && nd->op != CG_OP_mean && nd->op != CG_OP_var &&
        nd->op != CG_OP_logsumexp)
        return cg_lower_fail(l, "cannot reduce an empty dim (no identity for %s)",
                             cg_ops()[nd->op].name);
    int unbiased = nd->op == CG_OP_var ? (int)cg_lower_attr(l, "unbiased")->i != 0 : 0;
    return emit_reduce(l, &v, cg_ops()[nd->op].name, unbiased, CG_KV(nd->inputs[0]),
                       CG_KV(nd->inputs[0]), CG_KV(nd->out));
}
