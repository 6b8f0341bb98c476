/* lower_pool.c: lowering of max_pool2d, avg_pool2d, upsample_nearest and the internal pooling
 * gradients (max_pool2d_grad, avg_pool2d_grad) to the kernels of cl/pool.cl: one work-item per
 * element written, sizes and window as -D defines. */
#include <string.h>

#include "exec/lower.h"


enum cg_status cg_lower_pool(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int op = nd->op;
    /* the NCHW input side: x for the forward ops and max_pool2d_grad, `like` for avg's grad */
    int xin = op == CG_OP_avg_pool2d_grad ? nd->inputs[1] : nd->inputs[0];
    int64_t nc = cg_lower_dim(l, xin, 0) * cg_lower_dim(l, xin, 1);
    int64_t h = cg_lower_dim(l, xin, 2), w = cg_lower_dim(l, xin, 3);
    char defs[512] = "";
    cg_defines_add(defs, sizeof defs, "NC", nc);
    cg_defines_add(defs, sizeof defs, "H", h);
    cg_defines_add(defs, sizeof defs, "W", w);
    if (op == CG_OP_upsample_nearest) {
        cg_defines_add(defs, sizeof defs, "SCALE", cg_lower_attr(l, "scale")->i);
        struct cg_karg args[2] = {CG_KV(nd->inputs[0]), CG_KV(nd->out)};
        return cg_lower_kernel_1d(l, "pool.cl", "upsample_nearest", defs, cg_lower_numel(l, nd->out), args, 2);
    }
    int64_t k[2] = {1, 1}, s[2], p[2] = {0, 0};
    cg_lower_attr_pair(l, "k", k);
    s[0] = k[0];
    s[1] = k[1];
    cg_lower_attr_pair(l, "stride", s);
    cg_lower_attr_pair(l, "pad", p);
    /* the pooled side: the output of the forward ops, gy of the gradients */
    int pooled = op == CG_OP_max_pool2d_grad ? nd->inputs[1]
                 : op == CG_OP_avg_pool2d_grad ? nd->inputs[0] : nd->out;
    cg_defines_add(defs, sizeof defs, "OH", cg_lower_dim(l, pooled, 2));
    cg_defines_add(defs, sizeof defs, "OW", cg_lower_dim(l, pooled, 3));
    cg_defines_add(defs, sizeof defs, "KH", k[0]);
    cg_defines_add(defs, sizeof defs, "KW", k[1]);
    cg_defines_add(defs, sizeof defs, "SH", s[0]);
    cg_defines_add(defs, sizeof defs, "SW", s[1]);
    cg_defines_add(defs, sizeof defs, "PH", p[0]);
    cg_defines_add(defs, sizeof defs, "PW", p[1]);
    int64_t n = cg_lower_numel(l, nd->out);
    switch (op) {
    case CG_OP_max_pool2d:
    case CG_OP_avg_pool2d: {
        struct cg_karg args[2] = {CG_KV(nd->inputs[0]), CG_KV(nd->out)};
        return cg_lower_kernel_1d(l, "pool.cl", op == CG_OP_max_pool2d ? "max_pool2d" : "avg_pool2d", defs, n, args, 2);
    }
    case CG_OP_max_pool2d_grad: {
        struct cg_karg args[3] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]), CG_KV(nd->out)};
        return cg_lower_kernel_1d(l, "pool.cl", "max_pool2d_grad", defs, n, args, 3);
    }
    case CG_OP_avg_pool2d_grad: {
        struct cg_karg args[2] = {CG_KV(nd->inputs[0]), CG_KV(nd->out)};
        return cg_lower_kernel_1d(l, "pool.cl", "avg_pool2d_grad", defs, n, args, 2);
    }
    default:
        return cg_lower_fail(l, "internal error: not a pooling op");
    }
}
