/* internal.c: shape inference of the internal ops that passes create (gradient helpers and the
 * building blocks of composite ops): their outputs take the shape of one input or of a `like`
 * argument, or are built from attributes. */
#include "ops/registry.h"

#include <string.h>

enum cg_status cg_infer_same0(struct cg_infer *c)
{
    c->out_shape = c->in[0]->shape;
    return CG_OK;
}

enum cg_status cg_infer_gy(struct cg_infer *c)
{
    c->out_shape = c->in[2]->shape;
    return CG_OK;
}

enum cg_status cg_infer_like_arg(struct cg_infer *c)
{
    const struct cg_schema *s = &c->op->schema;
    for (int i = 0; i < s->nargs; i++)
        if (s->args[i].is_tensor && !strcmp(s->args[i].name, "like")) {
            c->out_shape = c->in[s->args[i].slot]->shape;
            return CG_OK;
        }
    return cg_infer_fail(c, "internal error: no 'like' argument");
}

enum cg_status cg_infer_conv2d_grad_w(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0], *gy = c->in[1];
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    CG_TRY(cg_infer_rank(c, 1, 4, "(N,O,H,W)"));
    int64_t groups = cg_infer_int(c, "groups"), cin;
    CG_TRY(cg_infer_const(c, x->shape.d[1], "the input channel count", &cin));
    if (groups < 1 || cin % groups)
        return cg_infer_fail(c, "bad groups %lld", (long long)groups);
    struct cg_shape s = {0};
    s.rank = 4;
    s.d[0] = gy->shape.d[1];
    s.d[1] = cg_dim_const(cin / groups);
    s.d[2] = cg_dim_const(cg_infer_int(c, "kh"));
    s.d[3] = cg_dim_const(cg_infer_int(c, "kw"));
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_gauss_window(struct cg_infer *c)
{
    struct cg_shape s = {0};
    s.rank = 4;
    s.d[0] = cg_dim_const(cg_infer_int(c, "c"));
    s.d[1] = cg_dim_const(1);
    s.d[2] = s.d[3] = cg_dim_const(cg_infer_int(c, "win"));
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_iota(struct cg_infer *c)
{
    c->out_shape.rank = 1;
    c->out_shape.d[0] = cg_dim_const(cg_infer_int(c, "n"));
    c->out_dtype = CG_I32;
    return CG_OK;
}
