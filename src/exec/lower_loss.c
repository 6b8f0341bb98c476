/* lower_loss.c: lowering of the classification losses (cross_entropy, nll, accuracy) and of
 * class_loss_grad to the kernels of cl/loss.cl. The scalar losses are one work-group that
 * loops over the rows and sums pairwise; the gradient is one work-item per row. Labels outside
 * [0, classes) make the loss, its gradient row and accuracy NaN (never an out-of-bounds
 * access); validating labels on the host would cost a sync per step, so data loading checks
 * them instead. The other losses of ops.def are composites or other families' work. */
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"

#define LWS 64

enum cg_status cg_lower_loss(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int z = nd->inputs[0], lab = nd->inputs[1];
    int64_t n = cg_lower_dim(l, z, 0), c = cg_lower_dim(l, z, 1);
    if (n * c >= (int64_t)1 << 32)
        return cg_lower_fail(l, "logits of %lld elements are too large for 32-bit indexing",
                             (long long)(n * c));
    int op = nd->op == CG_OP_class_loss_grad ? (int)cg_lower_attr(l, "op")->i : nd->op;
    if (op != CG_OP_cross_entropy && op != CG_OP_nll && op != CG_OP_accuracy)
        return cg_lower_fail(l, "internal error: not a classification loss (op %d)", op);
    char defs[256] = "";
    cg_defines_add(defs, sizeof defs, "NB", n);
    cg_defines_add(defs, sizeof defs, "C", c);
    cg_defines_add(defs, sizeof defs, "LWS", LWS);
    size_t used = strlen(defs);
    snprintf(defs + used, sizeof defs - used, " -DOP_%s", cg_ops()[op].name);
    struct cg_launch_desc d = {0};
    d.source = "loss.cl";
    d.defines = defs;
    d.dims = 1;
    d.has_lws = 1;
    d.lws[0] = LWS;
    if (nd->op != CG_OP_class_loss_grad) {
        if (c == 0)
            return cg_lower_fail(l, "needs at least one class");
        d.kernel = "class_loss";
        d.gws[0] = LWS;
        struct cg_karg args[3] = {CG_KV(z), CG_KV(lab), CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 3);
    }
    if (op == CG_OP_accuracy)
        return cg_lower_fail(l, "internal error: accuracy has no gradient");
    if (n == 0 || c == 0)
        return CG_OK;
    d.kernel = "class_loss_grad";
    d.gws[0] = (size_t)((n + LWS - 1) / LWS * LWS);
    struct cg_karg args[4] = {CG_KV(z), CG_KV(lab), CG_KV(nd->inputs[2]), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 4);
}
