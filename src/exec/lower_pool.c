/* lower_pool.c: lowering of max_pool2d, avg_pool2d, upsample_nearest and the pooling gradients.
 * Not written yet: compiling a graph that uses these ops fails with a clear error at the op's
 * call site (issue 4 lands op families one by one; see docs/STATUS.md). */
#include "exec/lower.h"

enum cg_status cg_lower_pool(struct cg_lower *l)
{
    return cg_lower_fail(l, "this op has no device implementation yet (issue 4 is landing op "
                         "families one by one; see docs/STATUS.md)");
}
