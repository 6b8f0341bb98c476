/* random.c: shape inference of the random ops and crops (normal_like uniform_like randint
 * categorical crop_grid crop_all). */
#include "ops/registry.h"

enum cg_status cg_infer_like(struct cg_infer *c)
{
    c->out_shape = c->in[0]->shape;
    return CG_OK;
}

enum cg_status cg_infer_randint(struct cg_infer *c)
{
    const struct cg_attr *a = cg_infer_attr(c, "shape");
    if (cg_infer_int(c, "n") < 1)
        return cg_infer_fail(c, "n must be >= 1, got %lld", (long long)cg_infer_int(c, "n"));
    if (a->auto_index >= 0)
        return cg_infer_fail(c, "the shape cannot contain -1");
    c->out_shape.rank = a->n;
    for (int i = 0; i < a->n; i++) {
        int64_t v;
        c->out_shape.d[i] = a->dims[i];
        if (cg_dim_is_const(a->dims[i], &v) && v < 1)
            return cg_infer_fail(c, "invalid size %lld", (long long)v);
    }
    c->out_dtype = CG_I32;
    return CG_OK;
}

enum cg_status cg_infer_categorical(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 2, "(rows, categories)"));
    int64_t k = cg_infer_int(c, "k");
    if (k < 1)
        return cg_infer_fail(c, "k must be >= 1, got %lld", (long long)k);
    c->out_shape.rank = 2;
    c->out_shape.d[0] = c->in[0]->shape.d[0];
    c->out_shape.d[1] = cg_dim_const(k);
    c->out_dtype = CG_I32;
    return CG_OK;
}

/* Number of crop positions along a side of n: floor((n - size) / stride) + 1. */
static enum cg_status grid_side(struct cg_infer *c, struct cg_dim n, const char *what,
                                int64_t *count)
{
    int64_t size = cg_infer_int(c, "size"), stride = cg_infer_int(c, "stride"), v;
    if (size < 1 || stride < 1)
        return cg_infer_fail(c, "size and stride must be >= 1, got %lld and %lld",
                             (long long)size, (long long)stride);
    CG_TRY(cg_infer_const(c, n, what, &v));
    if (v < size)
        return cg_infer_fail(c, "the crop size %lld is larger than the image %s %lld",
                             (long long)size, what, (long long)v);
    *count = (v - size) / stride + 1;
    return CG_OK;
}

static enum cg_status crop_out(struct cg_infer *c, struct cg_dim per_image)
{
    const struct cg_value *x = c->in[0];
    int64_t size = cg_infer_int(c, "size");
    struct cg_shape s = {0};
    s.rank = 4;
    if (cg_dim_mul(x->shape.d[0], per_image, &s.d[0]))
        return cg_infer_fail(c, "cannot compute the crop count");
    s.d[1] = x->shape.d[1];
    s.d[2] = s.d[3] = cg_dim_const(size);
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_crop_grid(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    CG_TRY(cg_infer_rank(c, 1, 2, "(N, K)"));
    int64_t gh, gw;
    CG_TRY(grid_side(c, c->in[0]->shape.d[2], "height", &gh));
    CG_TRY(grid_side(c, c->in[0]->shape.d[3], "width", &gw));
    if (cg_dim_unify(&c->g->syms, c->in[0]->shape.d[0], c->in[1]->shape.d[0]))
        return cg_infer_fail(c, "idx %s must have one row per image of x %s",
                             cg_infer_tstr(c, 1), cg_infer_tstr(c, 0));
    return crop_out(c, c->in[1]->shape.d[1]);
}

enum cg_status cg_infer_crop_all(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    int64_t gh, gw;
    CG_TRY(grid_side(c, c->in[0]->shape.d[2], "height", &gh));
    CG_TRY(grid_side(c, c->in[0]->shape.d[3], "width", &gw));
    return crop_out(c, cg_dim_const(gh * gw));
}
