/* grad.c: the autodiff pass (see grad.h): finds the nodes between the wanted values and the
 * target, walks them in reverse creation order (a reverse topological order) calling each op's
 * gradient rule, and sums the gradients of values that are used more than once. */
#include "passes/grad.h"

#include <string.h>

enum cg_status cg_grad_none(struct cg_grad *g)
{
    (void)g;
    return CG_OK;
}

enum cg_status cg_autodiff(struct cg_graph *g, int target, const int *wrt, int n, int *grads,
                           struct cg_error *e)
{
    const struct cg_op_def *ops = cg_ops();
    size_t nv = g->nvalues, nn = g->nnodes;
    char *from_wrt = cg_calloc(nv, 1);  /* value depends on some wrt value */
    char *to_target = cg_calloc(nv, 1); /* value influences the target */
    int *gval = cg_malloc(nv * sizeof *gval);
    struct cg_builder *b = cg_builder_open(g, e);
    enum cg_status st = CG_OK;
    if (!from_wrt || !to_target || !gval || !b) {
        st = cg_error_nomem(e);
        goto error;
    }
    if (g->values[target].shape.rank != 0 || g->values[target].dtype != CG_F32) {
        st = cg_error_set(e, CG_ERR_INPUT, "error: the gradient target must be an f32 scalar");
        goto error;
    }
    for (size_t i = 0; i < nv; i++)
        gval[i] = -1;
    for (int i = 0; i < n; i++)
        from_wrt[wrt[i]] = 1;
    for (size_t k = 0; k < nn; k++) { /* forward: what depends on wrt */
        const struct cg_node *nd = &g->nodes[k];
        if (ops[nd->op].flags & CG_OPF_NO_GRAD)
            continue;
        for (int i = 0; i < nd->ninputs; i++)
            if (nd->inputs[i] >= 0 && from_wrt[nd->inputs[i]])
                from_wrt[nd->out] = 1;
    }
    to_target[target] = 1;
    for (size_t k = nn; k-- > 0;) { /* backward: what the target depends on */
        const struct cg_node *nd = &g->nodes[k];
        if (!to_target[nd->out])
            continue;
        for (int i = 0; i < nd->ninputs; i++)
            if (nd->inputs[i] >= 0)
                to_target[nd->inputs[i]] = 1;
    }
    if (from_wrt[target] && to_target[target])
        st = cg_build_const(b, 1.0, g->values[target].loc, &gval[target]);
    for (size_t k = nn; k-- > 0 && st == CG_OK;) {
        struct cg_grad c = {0};
        c.node = g->nodes[k];
        c.y = c.node.out;
        if (gval[c.y] < 0 || (ops[c.node.op].flags & CG_OPF_NO_GRAD))
            continue;
        int any = 0;
        for (int i = 0; i < c.node.ninputs && i < 64; i++) {
            int v = c.node.inputs[i];
            any |= v >= 0 && from_wrt[v] && to_target[v] && g->values[v].dtype == CG_F32;
        }
        if (!any)
            continue;
        c.b = b;
        c.g = g;
        c.gy = gval[c.y];
        c.e = e;
        for (int i = 0; i < 64; i++)
            c.gx[i] = -1;
        st = ops[c.node.op].grad(&c);
        for (int i = 0; i < c.node.ninputs && i < 64 && st == CG_OK; i++) {
            int v = c.node.inputs[i];
            if (v < 0 || c.gx[i] < 0 || !from_wrt[v] || !to_target[v])
                continue;
            if (gval[v] < 0) {
                gval[v] = c.gx[i];
            } else {
                int in[2] = {gval[v], c.gx[i]};
                st = cg_build_node(b, CG_OP_add, in, 2, NULL, NULL, 0, c.node.loc, &gval[v]);
            }
        }
    }
    for (int i = 0; i < n && st == CG_OK; i++) {
        grads[i] = gval[wrt[i]];
        if (grads[i] >= 0) /* the caller reads it after the run: it must not be overwritten */
            g->values[grads[i]].keep = 1;
    }
error:
    cg_builder_close(b);
    cg_free(from_wrt);
    cg_free(to_target);
    cg_free(gval);
    return st;
}
