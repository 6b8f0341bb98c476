/* lower_shape.c: lowering of permute transpose concat slice broadcast_to gather one_hot and slice_grad, scatter_add, gauss_window, mask_diag, iota.
 * Not written yet: compiling a graph that uses these ops fails with a clear error at the op's
 * call site (issue 4 lands op families one by one; see docs/STATUS.md). */
#include "exec/lower.h"

enum cg_status cg_lower_shape(struct cg_lower *l)
{
    return cg_lower_fail(l, "this op has no device implementation yet (issue 4 is landing op "
                         "families one by one; see docs/STATUS.md)");
}
