/* reduce.c: shape inference of reductions (sum mean max min logsumexp var argmax). */
#include "ops/registry.h"

#include <string.h>

/* Reads the `axis` attribute into a mask over rank dims (all when absent). */
enum cg_status cg_infer_axes_mask(struct cg_infer *c, const char *attr, int rank, int *mask)
{
    const struct cg_attr *a = cg_infer_attr(c, attr);
    memset(mask, 0, sizeof(int) * CG_MAX_RANK);
    if (a->kind == CG_AT_NONE) {
        for (int i = 0; i < rank; i++)
            mask[i] = 1;
        return CG_OK;
    }
    if (a->n == 0)
        return cg_infer_fail(c, "axis list is empty");
    for (int i = 0; i < a->n; i++) {
        int ax;
        enum cg_status st = cg_infer_axis(c, a->ints[i], rank, &ax);
        if (st != CG_OK)
            return st;
        if (mask[ax])
            return cg_infer_fail(c, "axis %lld appears twice", (long long)a->ints[i]);
        mask[ax] = 1;
    }
    return CG_OK;
}

enum cg_status cg_infer_reduce(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int mask[CG_MAX_RANK];
    enum cg_status st = cg_infer_axes_mask(c, "axis", x->shape.rank, mask);
    if (st != CG_OK)
        return st;
    int keep = cg_infer_int(c, "keepdims") != 0;
    if (c->node->op == CG_OP_argmax) {
        const struct cg_attr *a = cg_infer_attr(c, "axis");
        if (a->kind != CG_AT_NONE && a->n != 1)
            return cg_infer_fail(c, "takes one axis, got %d", a->n);
    }
    struct cg_shape s = {0};
    for (int i = 0; i < x->shape.rank; i++) {
        if (!mask[i])
            s.d[s.rank++] = x->shape.d[i];
        else if (keep)
            s.d[s.rank++] = cg_dim_const(1);
    }
    c->out_shape = s;
    c->out_dtype = c->node->op == CG_OP_argmax ? CG_I32 : CG_F32;
    return CG_OK;
}
