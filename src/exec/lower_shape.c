/* lower_shape.c: lowering of the shape ops that need a real copy (permute, transpose, concat,
 * slice, broadcast_to, gather, one_hot) and of the internal ops slice_grad, scatter_add,
 * gauss_window, mask_diag and iota, to the kernels of cl/shape.cl.
 *
 * Most of them are one strided copy (sh_copy): an iterated shape with, per dim, a source and a
 * destination element stride (0 where broadcast), sizes and strides as -D defines. A concat is
 * one copy per input into its place in the output; a slice_grad is a fill with zeros then a
 * copy of gy into its place. Copies of i32 tensors use -DT=int (4-byte moves, no conversion).
 * reshape, flatten, squeeze, unsqueeze and stop_gradient are aliases (cg_lower_alias). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"

#define DEFS 2048

/* Appends " -DNAME=v0,v1,..." (n >= 1 values). */
static void defines_list(char *buf, size_t size, const char *name, const int64_t *v, int n)
{
    size_t used = strlen(buf);
    if (used < size)
        used += (size_t)snprintf(buf + used, size - used, " -D%s=", name);
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "",
                                 (long long)v[i]);
}

/* Dims of a value (rank 0 reads as [1]); returns the rank used (>= 1). */
static int dims_of(const struct cg_lower *l, int v, int64_t *d)
{
    int r = cg_lower_shape_of(l, v)->rank;
    for (int k = 0; k < r; k++)
        d[k] = cg_lower_dim(l, v, k);
    if (r == 0) {
        d[0] = 1;
        r = 1;
    }
    return r;
}

/* Row-major contiguous strides of dims d. */
static void contiguous(const int64_t *d, int r, int64_t *s)
{
    int64_t st = 1;
    for (int k = r - 1; k >= 0; k--) {
        s[k] = st;
        st *= d[k];
    }
}

static int is_int(const struct cg_lower *l, int v) { return l->g->values[v].dtype == CG_I32; }

/* The element type define for values of v's dtype. */
static void type_define(const struct cg_lower *l, int v, char *buf, size_t n)
{
    if (is_int(l, v)) {
        size_t used = strlen(buf);
        if (used < n)
            snprintf(buf + used, n - used, " -DT=int");
    }
}

static int64_t numel(const int64_t *d, int r)
{
    int64_t n = 1;
    for (int k = 0; k < r; k++)
        n *= d[k];
    return n;
}

/* Offsets are 32-bit in the kernels. */
static enum cg_status check_size(struct cg_lower *l, int64_t n)
{
    if (n > (int64_t)UINT32_MAX)
        return cg_lower_fail(l, "%lld elements are more than the kernels index (2^32)",
                             (long long)n);
    return CG_OK;
}

/* y[dst_off + oy(i)] = x[src_off + ox(i)] over the iterated shape d (rank r). */
static enum cg_status emit_copy(struct cg_lower *l, int r, const int64_t *d, const int64_t *sx,
                                const int64_t *sy, int src, int64_t src_off, int dst,
                                int64_t dst_off)
{
    char defs[DEFS] = "";
    int64_t n = numel(d, r);
    CG_TRY(check_size(l, n));
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_add(defs, sizeof defs, "NDIM", r);
    defines_list(defs, sizeof defs, "DIMS", d, r);
    defines_list(defs, sizeof defs, "SX", sx, r);
    defines_list(defs, sizeof defs, "SY", sy, r);
    type_define(l, dst, defs, sizeof defs);
    struct cg_launch_desc desc;
    cg_launch_1d(&desc, "shape.cl", "sh_copy", defs, n);
    struct cg_karg args[2] = {CG_KVO(src, src_off), CG_KVO(dst, dst_off)};
    return cg_lower_kernel(l, &desc, args, 2);
}

static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

/* Python slice bounds of [start:end) on a side of n: negative counts from the end, clamped to
 * [0, n]. */
static void slice_bounds(int64_t start, int64_t end, int64_t n, int64_t *s0, int64_t *e0)
{
    int64_t s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
    *s0 = s < 0 ? 0 : (s > n ? n : s);
    *e0 = e < 0 ? 0 : (e > n ? n : e);
}

static enum cg_status lower_permute(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0];
    int64_t xd[CG_MAX_RANK], xs[CG_MAX_RANK], yd[CG_MAX_RANK], sx[CG_MAX_RANK], sy[CG_MAX_RANK];
    int r = dims_of(l, x, xd);
    contiguous(xd, r, xs);
    int perm[CG_MAX_RANK];
    for (int k = 0; k < r; k++)
        perm[k] = k;
    if (nd->op == CG_OP_transpose) {
        int a = norm_axis(cg_lower_attr(l, "a")->i, r), b = norm_axis(cg_lower_attr(l, "b")->i, r);
        if (a < 0 || a >= r || b < 0 || b >= r)
            return cg_lower_fail(l, "internal error: bad transpose axes");
        perm[a] = b;
        perm[b] = a;
    } else {
        const struct cg_attr *p = cg_lower_attr(l, "dims");
        if (p->n != cg_lower_shape_of(l, x)->rank)
            return cg_lower_fail(l, "internal error: permutation of %d dims for rank %d", p->n,
                                 cg_lower_shape_of(l, x)->rank);
        for (int k = 0; k < p->n; k++)
            perm[k] = norm_axis(p->ints ? p->ints[k] : p->i, r);
    }
    for (int k = 0; k < r; k++) {
        yd[k] = xd[perm[k]];
        sx[k] = xs[perm[k]];
    }
    contiguous(yd, r, sy);
    return emit_copy(l, r, yd, sx, sy, x, 0, nd->out, 0);
}

static enum cg_status lower_concat(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int64_t yd[CG_MAX_RANK], ys[CG_MAX_RANK];
    int r = dims_of(l, nd->out, yd);
    contiguous(yd, r, ys);
    int ax = norm_axis(cg_lower_attr(l, "axis")->i, r);
    int64_t off = 0;
    for (int i = 0; i < nd->ninputs; i++) {
        int64_t xd[CG_MAX_RANK], xs[CG_MAX_RANK];
        dims_of(l, nd->inputs[i], xd);
        contiguous(xd, r, xs);
        CG_TRY(emit_copy(l, r, xd, xs, ys, nd->inputs[i], 0, nd->out, off * ys[ax]));
        off += xd[ax];
    }
    return CG_OK;
}

static enum cg_status lower_slice(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0];
    int64_t xd[CG_MAX_RANK], xs[CG_MAX_RANK], yd[CG_MAX_RANK], ys[CG_MAX_RANK], s0, e0;
    int r = dims_of(l, x, xd);
    contiguous(xd, r, xs);
    dims_of(l, nd->out, yd);
    contiguous(yd, r, ys);
    int ax = norm_axis(cg_lower_attr(l, "axis")->i, r);
    slice_bounds(cg_lower_attr(l, "start")->i, cg_lower_attr(l, "end")->i, xd[ax], &s0, &e0);
    if (e0 - s0 != yd[ax])
        return cg_lower_fail(l, "internal error: slice [%lld:%lld] of %lld does not give %lld",
                             (long long)s0, (long long)e0, (long long)xd[ax],
                             (long long)yd[ax]);
    return emit_copy(l, r, yd, xs, ys, x, s0 * xs[ax], nd->out, 0);
}

/* slice_grad(gy, like, axis, start, end): zeros of like's shape with gy at [start:end). */
static enum cg_status lower_slice_grad(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int gy = nd->inputs[0];
    int64_t yd[CG_MAX_RANK], ys[CG_MAX_RANK], gd[CG_MAX_RANK], gs[CG_MAX_RANK], s0, e0;
    int r = dims_of(l, nd->out, yd);
    contiguous(yd, r, ys);
    dims_of(l, gy, gd);
    contiguous(gd, r, gs);
    if (cg_lower_shape_of(l, gy)->rank != cg_lower_shape_of(l, nd->out)->rank)
        return cg_lower_fail(l, "gy and like must have the same rank");
    int ax = norm_axis(cg_lower_attr(l, "axis")->i, r);
    if (ax < 0 || ax >= r)
        return cg_lower_fail(l, "axis out of range");
    slice_bounds(cg_lower_attr(l, "start")->i, cg_lower_attr(l, "end")->i, yd[ax], &s0, &e0);
    for (int k = 0; k < r; k++)
        if (k == ax ? gd[k] != e0 - s0 : gd[k] != yd[k])
            return cg_lower_fail(l, "gy does not have the shape of the slice [%lld:%lld] along "
                                 "axis %d of like", (long long)s0, (long long)e0, ax);
    char defs[256] = "";
    int64_t n = numel(yd, r);
    CG_TRY(check_size(l, n));
    cg_defines_add(defs, sizeof defs, "N", n);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "shape.cl", "sh_fill", defs, n);
    struct cg_karg args[1] = {CG_KV(nd->out)};
    CG_TRY(cg_lower_kernel(l, &d, args, 1));
    return emit_copy(l, r, gd, gs, ys, gy, 0, nd->out, s0 * ys[ax]);
}

static enum cg_status lower_broadcast_to(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0];
    int64_t yd[CG_MAX_RANK], ys[CG_MAX_RANK], sx[CG_MAX_RANK];
    int r = dims_of(l, nd->out, yd);
    contiguous(yd, r, ys);
    const struct cg_shape *xsh = cg_lower_shape_of(l, x);
    int64_t st = 1;
    for (int k = r - 1; k >= 0; k--) {
        int xk = k - (cg_lower_shape_of(l, nd->out)->rank - xsh->rank);
        int64_t dk = xk >= 0 && xk < xsh->rank ? cg_lower_dim(l, x, xk) : 1;
        if (dk != 1 && dk != yd[k])
            return cg_lower_fail(l, "internal error: cannot broadcast");
        sx[k] = dk == 1 ? 0 : st;
        st *= dk;
    }
    return emit_copy(l, r, yd, sx, ys, x, 0, nd->out, 0);
}

static enum cg_status lower_gather(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], idx = nd->inputs[1];
    int64_t xd[CG_MAX_RANK], xs[CG_MAX_RANK], id[CG_MAX_RANK], is[CG_MAX_RANK];
    int r = dims_of(l, x, xd);
    contiguous(xd, r, xs);
    dims_of(l, idx, id);
    contiguous(id, r, is);
    int ax = norm_axis(cg_lower_attr(l, "axis")->i, r);
    int64_t sx[CG_MAX_RANK];
    for (int k = 0; k < r; k++)
        sx[k] = k == ax ? 0 : xs[k];
    char defs[DEFS] = "";
    int64_t n = numel(id, r);
    CG_TRY(check_size(l, n));
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_add(defs, sizeof defs, "NDIM", r);
    cg_defines_add(defs, sizeof defs, "AXIS", ax);
    cg_defines_add(defs, sizeof defs, "XA", xd[ax]);
    cg_defines_add(defs, sizeof defs, "XSA", xs[ax]);
    defines_list(defs, sizeof defs, "DIMS", id, r);
    defines_list(defs, sizeof defs, "SX", sx, r);
    defines_list(defs, sizeof defs, "SY", is, r);
    type_define(l, nd->out, defs, sizeof defs);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "shape.cl", "sh_gather", defs, n);
    struct cg_karg args[3] = {CG_KV(x), CG_KV(idx), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 3);
}

/* scatter_add(gy, idx, like, axis): zeros of like's shape, out[.. idx[p] ..] += gy[p]. */
static enum cg_status lower_scatter_add(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int gy = nd->inputs[0], idx = nd->inputs[1];
    int64_t yd[CG_MAX_RANK], id[CG_MAX_RANK], is[CG_MAX_RANK], sx[CG_MAX_RANK];
    int r = dims_of(l, nd->out, yd);
    dims_of(l, idx, id);
    contiguous(id, r, is);
    if (cg_lower_shape_of(l, idx)->rank != cg_lower_shape_of(l, nd->out)->rank ||
        cg_lower_numel(l, gy) != cg_lower_numel(l, idx))
        return cg_lower_fail(l, "gy and idx must have the same shape, of like's rank");
    int ax = norm_axis(cg_lower_attr(l, "axis")->i, r);
    if (ax < 0 || ax >= r)
        return cg_lower_fail(l, "axis out of range");
    for (int k = 0; k < r; k++) {
        sx[k] = k == ax ? 0 : is[k];
        if (k != ax && id[k] > yd[k])
            return cg_lower_fail(l, "idx is larger than like in dim %d", k);
    }
    char defs[DEFS] = "";
    int64_t n = numel(yd, r);
    CG_TRY(check_size(l, n));
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_add(defs, sizeof defs, "NDIM", r);
    cg_defines_add(defs, sizeof defs, "AXIS", ax);
    cg_defines_add(defs, sizeof defs, "XA", yd[ax]);
    cg_defines_add(defs, sizeof defs, "IA", id[ax]);
    cg_defines_add(defs, sizeof defs, "ISA", is[ax]);
    defines_list(defs, sizeof defs, "DIMS", yd, r);
    defines_list(defs, sizeof defs, "IDIMS", id, r);
    defines_list(defs, sizeof defs, "SX", sx, r);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "shape.cl", "sh_scatter_add", defs, n);
    struct cg_karg args[3] = {CG_KV(gy), CG_KV(idx), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 3);
}

/* The small kernels with one input (or none) and one output, named by their defines. */
static enum cg_status lower_simple(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    char defs[512] = "";
    int64_t n = cg_lower_numel(l, nd->out);
    CG_TRY(check_size(l, n));
    cg_defines_add(defs, sizeof defs, "N", n);
    const char *kernel;
    struct cg_karg args[2];
    int nargs = 0;
    const struct cg_shape *s = cg_lower_shape_of(l, nd->out);
    switch (nd->op) {
    case CG_OP_one_hot:
        kernel = "sh_one_hot";
        cg_defines_add(defs, sizeof defs, "NCLS", cg_lower_attr(l, "n")->i);
        args[nargs++] = CG_KV(nd->inputs[0]);
        break;
    case CG_OP_gauss_window:
        kernel = "sh_gauss_window";
        if (!(cg_lower_attr(l, "sigma")->f > 0))
            return cg_lower_fail(l, "sigma must be > 0");
        cg_defines_add(defs, sizeof defs, "WIN", cg_lower_attr(l, "win")->i);
        cg_defines_addf(defs, sizeof defs, "SIGMA", cg_lower_attr(l, "sigma")->f);
        break;
    case CG_OP_mask_diag:
        kernel = "sh_mask_diag";
        if (s->rank < 2)
            return cg_lower_fail(l, "x needs at least 2 dims");
        cg_defines_add(defs, sizeof defs, "ROWS", cg_lower_dim(l, nd->out, -2));
        cg_defines_add(defs, sizeof defs, "COLS", cg_lower_dim(l, nd->out, -1));
        cg_defines_addf(defs, sizeof defs, "VALUE", cg_lower_attr(l, "value")->f);
        args[nargs++] = CG_KV(nd->inputs[0]);
        break;
    default: /* iota */
        kernel = "sh_iota";
        if (cg_lower_attr(l, "mod")->i < 0)
            return cg_lower_fail(l, "mod must be >= 0");
        cg_defines_add(defs, sizeof defs, "SHIFT", cg_lower_attr(l, "shift")->i);
        cg_defines_add(defs, sizeof defs, "MOD", cg_lower_attr(l, "mod")->i);
        break;
    }
    args[nargs++] = CG_KV(nd->out);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "shape.cl", kernel, defs, n);
    return cg_lower_kernel(l, &d, args, nargs);
}

enum cg_status cg_lower_shape(struct cg_lower *l)
{
    switch (l->node->op) {
    case CG_OP_permute:
    case CG_OP_transpose:
        return lower_permute(l);
    case CG_OP_concat:
        return lower_concat(l);
    case CG_OP_slice:
        return lower_slice(l);
    case CG_OP_slice_grad:
        return lower_slice_grad(l);
    case CG_OP_broadcast_to:
        return lower_broadcast_to(l);
    case CG_OP_gather:
        return lower_gather(l);
    case CG_OP_scatter_add:
        return lower_scatter_add(l);
    case CG_OP_one_hot:
    case CG_OP_gauss_window:
    case CG_OP_mask_diag:
    case CG_OP_iota:
        return lower_simple(l);
    default:
        return cg_lower_fail(l, "internal error: not a shape op");
    }
}
