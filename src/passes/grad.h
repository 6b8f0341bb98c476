/* grad.h: reverse-mode automatic differentiation as a graph pass.
 *
 * cg_autodiff appends to a bound graph the nodes that compute the gradient of a scalar target
 * with respect to chosen values (inputs or parameters). Each op's gradient rule (ops.def column
 * `grad`, in passes/grad_rules.c) receives a struct cg_grad describing one forward node and the
 * gradient of its output, and emits ordinary nodes for the gradients of its inputs; gradients of
 * values used several times are summed. Ops flagged CG_OPF_NO_GRAD, stop_gradient and integer
 * values stop the walk. */
#ifndef CG_GRAD_H
#define CG_GRAD_H

#include "ir/build.h"

/* What a gradient rule sees and fills. */
struct cg_grad {
    struct cg_builder *b;
    struct cg_graph *g;
    struct cg_node node; /* a copy of the forward node (the node array may grow) */
    int y;               /* the forward output value */
    int gy;              /* the gradient of y (same shape as y) */
    int gx[64];          /* out: gradient of each input slot, -1 for none */
    struct cg_error *e;
};

/* Appends the gradient of `target` (a scalar f32 value) with respect to wrt[0..n) to g; grads[i]
 * receives the gradient's value id, or -1 when wrt[i] does not influence the target (its
 * gradient is zero). The gradient values are marked `keep` (memplan.h), so they can be read
 * after a run. The graph must be bound (all shapes concrete). */
enum cg_status cg_autodiff(struct cg_graph *g, int target, const int *wrt, int n, int *grads,
                           struct cg_error *e);

#endif
