/* elementwise.c: shape inference of constants, unary and broadcasting binary elementwise ops. */
#include "ops/registry.h"

#include <math.h>

enum cg_status cg_infer_const_op(struct cg_infer *c)
{
    c->out_shape.rank = 0;
    c->out_dtype = CG_F32;
    return CG_OK;
}

enum cg_status cg_infer_unary(struct cg_infer *c)
{
    if (c->node->op == CG_OP_clamp && cg_infer_float(c, "lo") > cg_infer_float(c, "hi"))
        return cg_infer_fail(c, "lo (%g) is greater than hi (%g)", cg_infer_float(c, "lo"),
                             cg_infer_float(c, "hi"));
    if (c->node->op == CG_OP_softplus && cg_infer_float(c, "beta") <= 0)
        return cg_infer_fail(c, "beta must be positive, got %g", cg_infer_float(c, "beta"));
    c->out_shape = c->in[0]->shape;
    c->out_dtype = CG_F32;
    return CG_OK;
}

enum cg_status cg_infer_identity(struct cg_infer *c)
{
    c->out_shape = c->in[0]->shape;
    c->out_dtype = c->in[0]->dtype;
    return CG_OK;
}

enum cg_status cg_infer_binary(struct cg_infer *c)
{
    c->out_dtype = CG_F32;
    return cg_infer_broadcast(c, &c->in[0]->shape, &c->in[1]->shape, &c->out_shape);
}
