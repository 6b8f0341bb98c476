/* optim.h: the optimizer pass: training steps as graph nodes.
 *
 * For a bound graph, cg_optim_expand appends, for every objective in file order, the gradient
 * of the objective with respect to its selected parameters (cg_autodiff), and then, for every
 * objective in file order, one update node per parameter that the objective reaches:
 * sgd_update or adam_update (ops.def), which change the parameter and its optimizer state in
 * place, with PyTorch's rules (torch.optim.SGD, Adam, AdamW; see cl/optim.cl). All gradients
 * are taken from the same forward pass and the same parameters before any update (as PyTorch's
 * `l1.backward(); l2.backward(); opt1.step(); opt2.step()`), so objectives sharing layers see
 * consistent values. A parameter the objective does not reach gets no update (PyTorch skips
 * parameters whose .grad is None).
 *
 * Optimizer state (SGD's momentum buffer, Adam's exp_avg and exp_avg_sq) are new parameters
 * flagged `state` (graph.h) with zeros() init, so the executor zero-fills them with the other
 * parameters and they persist across steps; they are named "<param>:momentum_buffer",
 * "<param>:exp_avg", "<param>:exp_avg_sq" (suffixed ":<k>" for objective k > 0), names that no
 * graph file can declare. The update kernels get their step count as the `step` of the launch
 * (cg_exec_train_step passes each objective's own update count, cg_optim_updates_before): Adam's
 * bias corrections use t = that count + 1, SGD's momentum buffer starts at count 0. The
 * configured lr is multiplied by the executor's lr scale (cg_exec_set_lr_scale) at run time. */
#ifndef CG_OPTIM_H
#define CG_OPTIM_H

#include "ir/graph.h"

/* The nodes of one objective: its gradient (and clipping) nodes and its update nodes, and when
 * they run (`minimize ... every K offset J`: on the steps t, counted from 0, with
 * t mod K == J). */
struct cg_optim_range {
    size_t grad_begin, grad_end;     /* gradients, then the clipping nodes (--clip-grad) */
    size_t update_begin, update_end; /* one update node per reached parameter */
    uint64_t every, offset;
};

/* Where the pass put things: a training step runs the forward nodes [0, forward_end), then for
 * every objective active at the step its gradient range, then for every active objective its
 * update range (cg_exec_train_step, exec/step.h). With every objective active at every step
 * that is nodes [0, update_end) in order. */
struct cg_optim_plan {
    size_t forward_end; /* node count before the pass */
    size_t grad_end;    /* gradients: [forward_end, grad_end); updates: [grad_end, update_end) */
    size_t update_end;
    size_t nparams;     /* parameter count before the pass */
    int *param_grad;    /* [nparams]: gradient value of each parameter from the first objective
                         * that selects and reaches it, else -1 (cg_malloc'd); before clipping */
    size_t nobjectives;
    struct cg_optim_range *obj; /* [nobjectives], in file order (cg_malloc'd) */
};

/* Is objective range r active at step t (t mod every == offset)? */
int cg_optim_active(const struct cg_optim_range *r, uint64_t step);

/* How many updates objective range r made before step t (the steps s < t with
 * s mod every == offset): its optimizer's own step count, so Adam's t at an active step is this
 * + 1, as for a PyTorch optimizer whose step() runs only on those steps. */
uint64_t cg_optim_updates_before(const struct cg_optim_range *r, uint64_t step);

/* Appends gradient and update nodes for every objective of g (bound: all shapes concrete).
 * Objectives without `with` use dflt (NULL: adam(lr=0.001) with PyTorch's defaults).
 * clip_grad > 0 clips each objective's gradients as torch.nn.utils.clip_grad_norm_ (max_norm
 * clip_grad, L2) over that objective's parameters before its updates: total norm
 * n = sqrt(sum over its gradients of sum(g^2)), factor f = min(1, clip_grad / (n + 1e-6)),
 * g <- g * f, all as graph nodes on the device (no host synchronisation); 0: no clipping.
 * On success *plan is filled (free with cg_optim_plan_free). */
enum cg_status cg_optim_expand(struct cg_graph *g, const struct cg_optim *dflt, double clip_grad,
                               struct cg_optim_plan *plan, struct cg_error *e);

void cg_optim_plan_free(struct cg_optim_plan *plan);

/* Parses an optimizer written as in a graph's `with` clause, e.g. "adam(lr=1e-3)" or
 * "sgd(lr=0.1, momentum=0.9)", with the builder's defaults and validation; the strings *o
 * points to are static. Errors: "error: --optimizer: ..." (CG_ERR_INPUT). */
enum cg_status cg_optim_parse(const char *text, struct cg_optim *o, struct cg_error *e);

#endif
