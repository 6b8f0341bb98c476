/* step.c: the gradient and update launches of the objectives active at a step (step.h). */
#include "exec/step.h"

enum cg_status cg_exec_train_step(struct cg_exec *x, const struct cg_optim_plan *plan,
                                  uint64_t seed, uint64_t step, struct cg_error *e)
{
    for (size_t k = 0; k < plan->nobjectives; k++) {
        const struct cg_optim_range *r = &plan->obj[k];
        if (cg_optim_active(r, step))
            CG_TRY(cg_exec_run_nodes(x, seed, step, r->grad_begin, r->grad_end, e));
    }
    for (size_t k = 0; k < plan->nobjectives; k++) {
        const struct cg_optim_range *r = &plan->obj[k];
        if (cg_optim_active(r, step))
            CG_TRY(cg_exec_run_nodes(x, seed, cg_optim_updates_before(r, step), r->update_begin,
                                     r->update_end, e));
    }
    return CG_OK;
}
