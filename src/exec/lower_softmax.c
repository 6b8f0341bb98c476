/* lower_softmax.c: lowering of softmax, log_softmax, l2_normalize and l2_normalize_grad to the
 * row kernels of cl/softmax.cl. The axis splits x into [outer, C, inner]; rows of at least
 * 256 elements get a work-group each (local-memory trees), shorter rows a work-item each.
 * softmax's and log_softmax's gradients are ordinary graph ops (grad_rules.c). */
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"

#define LWS 64

enum cg_status cg_lower_softmax(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0];
    int rank = cg_lower_shape_of(l, x)->rank;
    int64_t axis = cg_lower_attr(l, "axis")->i;
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank)
        return cg_lower_fail(l, "internal error: axis out of range");
    int64_t outer = 1, c = cg_lower_dim(l, x, (int)axis), inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= cg_lower_dim(l, x, i);
    for (int i = (int)axis + 1; i < rank; i++)
        inner *= cg_lower_dim(l, x, i);
    int64_t rows = outer * inner;
    if (rows * (c > LWS ? c : LWS) >= (int64_t)1 << 32)
        return cg_lower_fail(l, "tensor too large for 32-bit indexing");
    if (rows == 0 || c == 0)
        return CG_OK;
    int group = c >= 256;
    char defs[512] = "";
    cg_defines_add(defs, sizeof defs, "OUTER", outer);
    cg_defines_add(defs, sizeof defs, "C", c);
    cg_defines_add(defs, sizeof defs, "INNER", inner);
    cg_defines_add(defs, sizeof defs, "GROUP", group);
    cg_defines_add(defs, sizeof defs, "LWS", LWS);
    if (nd->op == CG_OP_l2_normalize || nd->op == CG_OP_l2_normalize_grad)
        cg_defines_addf(defs, sizeof defs, "EPS", cg_lower_attr(l, "eps")->f);
    int fwd = nd->op != CG_OP_l2_normalize_grad;
    if (fwd) {
        size_t used = strlen(defs);
        snprintf(defs + used, sizeof defs - used, " -DOP_%s", cg_ops()[nd->op].name);
    }
    struct cg_launch_desc d = {0};
    d.source = "softmax.cl";
    d.kernel = fwd ? "softmax_fwd" : "l2_normalize_grad";
    d.defines = defs;
    d.dims = 1;
    d.has_lws = 1;
    d.lws[0] = LWS;
    d.gws[0] = group ? (size_t)rows * LWS : (size_t)((rows + LWS - 1) / LWS * LWS);
    if (fwd) {
        struct cg_karg args[2] = {CG_KV(x), CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 2);
    }
    struct cg_karg args[3] = {CG_KV(x), CG_KV(nd->inputs[1]), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 3);
}
