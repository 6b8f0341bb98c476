/* lower_ew.c: lowering of constants, unary and broadcasting binary ops and their gradient
 * helpers (unary_grad, binary_grad) to the kernels of cl/elementwise.cl. */
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"


/* -DRANK, -DD<k> for the output and -DSA<k>/-DSB<k> strides of a and b broadcast to it. */
static void bcast_defines(const struct cg_lower *l, int a, int b, int out, char *buf, size_t n)
{
    const struct cg_shape *so = cg_lower_shape_of(l, out);
    int r = so->rank;
    cg_defines_add(buf, n, "RANK", r);
    for (int pass = 0; pass < 2; pass++) {
        int v = pass ? b : a;
        const struct cg_shape *s = cg_lower_shape_of(l, v);
        int64_t stride = 1;
        for (int k = r - 1; k >= 0; k--) {
            int ik = k - (r - s->rank);
            int64_t dk = ik >= 0 ? cg_lower_dim(l, v, ik) : 1;
            char name[16];
            snprintf(name, sizeof name, "S%c%d", pass ? 'B' : 'A', k);
            cg_defines_add(buf, n, name, dk == 1 ? 0 : stride);
            stride *= dk;
        }
    }
    for (int k = 0; k < r; k++) {
        char name[16];
        snprintf(name, sizeof name, "D%d", k);
        cg_defines_add(buf, n, name, cg_lower_dim(l, out, k));
    }
}

static void op_define(int op, char *buf, size_t n)
{
    size_t used = strlen(buf);
    if (used < n)
        snprintf(buf + used, n - used, " -DOP_%s", cg_ops()[op].name);
}

enum cg_status cg_lower_ew(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    char defs[1024] = "";
    struct cg_launch_desc d;
    int64_t n = cg_lower_numel(l, nd->out);
    cg_defines_add(defs, sizeof defs, "N", n);
    if (nd->op == CG_OP_const) {
        cg_defines_addf(defs, sizeof defs, "VALUE", cg_lower_attr(l, "value")->f);
        cg_launch_1d(&d, "elementwise.cl", "ew_const", defs, 1);
        struct cg_karg args[1] = {CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 1);
    }
    if (nd->op == CG_OP_unary_grad) {
        int op = (int)cg_lower_attr(l, "op")->i;
        op_define(op, defs, sizeof defs);
        cg_defines_addf(defs, sizeof defs, "P0", cg_lower_attr(l, "p0")->f);
        cg_defines_addf(defs, sizeof defs, "P1", cg_lower_attr(l, "p1")->f);
        cg_launch_1d(&d, "elementwise.cl", "ew_unary_grad", defs, n);
        struct cg_karg args[4] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]),
                                  CG_KV(nd->inputs[2]), CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 4);
    }
    if (nd->op == CG_OP_binary_grad) {
        op_define((int)cg_lower_attr(l, "op")->i, defs, sizeof defs);
        cg_defines_add(defs, sizeof defs, "WHICH", cg_lower_attr(l, "which")->i);
        bcast_defines(l, nd->inputs[0], nd->inputs[1], nd->out, defs, sizeof defs);
        cg_launch_1d(&d, "elementwise.cl", "ew_binary_grad", defs, n);
        struct cg_karg args[4] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]),
                                  CG_KV(nd->inputs[2]), CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 4);
    }
    op_define(nd->op, defs, sizeof defs);
    if (nd->ninputs == 1) {
        static const char *const p0[] = {[CG_OP_pow] = "p", [CG_OP_leaky_relu] = "slope",
                                         [CG_OP_softplus] = "beta", [CG_OP_clamp] = "lo"};
        static const char *const p1[] = {[CG_OP_softplus] = "threshold", [CG_OP_clamp] = "hi"};
        if (nd->op < (int)CG_ARRAY_LEN(p0) && p0[nd->op])
            cg_defines_addf(defs, sizeof defs, "P0", cg_lower_attr(l, p0[nd->op])->f);
        if (nd->op < (int)CG_ARRAY_LEN(p1) && p1[nd->op])
            cg_defines_addf(defs, sizeof defs, "P1", cg_lower_attr(l, p1[nd->op])->f);
        cg_launch_1d(&d, "elementwise.cl", "ew_unary", defs, n);
        struct cg_karg args[2] = {CG_KV(nd->inputs[0]), CG_KV(nd->out)};
        return cg_lower_kernel(l, &d, args, 2);
    }
    bcast_defines(l, nd->inputs[0], nd->inputs[1], nd->out, defs, sizeof defs);
    cg_launch_1d(&d, "elementwise.cl", "ew_binary", defs, n);
    struct cg_karg args[3] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 3);
}
