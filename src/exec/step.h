/* step.h: the training part of a step on an executor: the gradient and update launches of the
 * objectives that the optimizer pass's plan (passes/optim.h) makes active at a step.
 *
 * The forward pass is the caller's (nodes [0, plan->forward_end), with the global step); then,
 * for every objective active at the step (`minimize ... every K offset J`: t mod K == J), its
 * gradient range with the global step (random ops stay keyed by it), then for every active
 * objective in file order its update range with that objective's own update count as the step
 * (Adam's bias correction t = count + 1, SGD's first update at count 0). Inactive objectives
 * enqueue nothing. Only enqueues: no allocation, no host synchronisation. */
#ifndef CG_STEP_H
#define CG_STEP_H

#include "exec/exec.h"
#include "passes/optim.h"

/* Enqueues the gradients and updates of the objectives of plan active at global step `step`
 * (see above). x must have been compiled from the graph the plan was made for. */
enum cg_status cg_exec_train_step(struct cg_exec *x, const struct cg_optim_plan *plan,
                                  uint64_t seed, uint64_t step, struct cg_error *e);

#endif
