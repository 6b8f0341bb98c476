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
 * graph file can declare. The step t of Adam's bias corrections is cg_exec_run's step + 1. */
#ifndef CG_OPTIM_H
#define CG_OPTIM_H

#include "ir/graph.h"

/* Where the pass put things: a training step runs nodes [0, update_end); a forward pass
 * [0, forward_end). */
struct cg_optim_plan {
    size_t forward_end; /* node count before the pass */
    size_t grad_end;    /* gradients: [forward_end, grad_end); updates: [grad_end, update_end) */
    size_t update_end;
    size_t nparams;     /* parameter count before the pass */
    int *param_grad;    /* [nparams]: gradient value of each parameter from the first objective
                         * that selects and reaches it, else -1 (cg_malloc'd) */
};

/* Appends gradient and update nodes for every objective of g (bound: all shapes concrete).
 * Objectives without `with` use dflt (NULL: adam(lr=0.001) with PyTorch's defaults). On success
 * *plan is filled (free with cg_optim_plan_free). */
enum cg_status cg_optim_expand(struct cg_graph *g, const struct cg_optim *dflt,
                               struct cg_optim_plan *plan, struct cg_error *e);

void cg_optim_plan_free(struct cg_optim_plan *plan);

/* Parses an optimizer written as in a graph's `with` clause, e.g. "adam(lr=1e-3)" or
 * "sgd(lr=0.1, momentum=0.9)", with the builder's defaults and validation; the strings *o
 * points to are static. Errors: "error: --optimizer: ..." (CG_ERR_INPUT). */
enum cg_status cg_optim_parse(const char *text, struct cg_optim *o, struct cg_error *e);

#endif
