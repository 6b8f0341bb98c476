/* lower_pending.c: the op families whose device lowering is still being written (issue 4).
 * Compiling a graph that uses one of them fails with a clear "not implemented yet" error at the
 * op's call site; each family moves to its own lower_<family>.c as it lands. */
#include "exec/lower.h"

static enum cg_status pending(struct cg_lower *l)
{
    return cg_lower_fail(l, "this op has no device implementation yet (issue 4 is landing op "
                         "families one by one; see docs/STATUS.md)");
}

enum cg_status cg_lower_reduce(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_shape(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_gemm(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_conv(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_pool(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_softmax(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_random(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_loss(struct cg_lower *l) { return pending(l); }
enum cg_status cg_lower_crop(struct cg_lower *l) { return pending(l); }
