/* loss.c: shape inference of losses and similarities (cross_entropy nll accuracy mse ssim
 * ms_ssim kl_std_normal info_nce pairwise_sqdist entropy). */
#include "ops/registry.h"

enum cg_status cg_infer_class_loss(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 2, "(N, classes)"));
    CG_TRY(cg_infer_rank(c, 1, 1, "(N)"));
    if (cg_dim_unify(&c->g->syms, c->in[0]->shape.d[0], c->in[1]->shape.d[0]))
        return cg_infer_fail(c, "batch sizes differ: %s vs labels %s", cg_infer_tstr(c, 0),
                             cg_infer_tstr(c, 1));
    c->out_shape.rank = 0;
    return CG_OK;
}

enum cg_status cg_infer_mse(struct cg_infer *c)
{
    struct cg_shape s;
    CG_TRY(cg_infer_broadcast(c, &c->in[0]->shape, &c->in[1]->shape, &s));
    c->out_shape.rank = 0;
    return CG_OK;
}

static enum cg_status same_shape(struct cg_infer *c, int i, int j)
{
    const struct cg_shape *a = &c->in[i]->shape, *b = &c->in[j]->shape;
    if (a->rank != b->rank)
        return cg_infer_fail(c, "shapes differ: %s vs %s", cg_infer_tstr(c, i),
                             cg_infer_tstr(c, j));
    for (int d = 0; d < a->rank; d++)
        if (cg_dim_unify(&c->g->syms, a->d[d], b->d[d]))
            return cg_infer_fail(c, "shapes differ: %s vs %s", cg_infer_tstr(c, i),
                                 cg_infer_tstr(c, j));
    return CG_OK;
}

enum cg_status cg_infer_ssim(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    CG_TRY(same_shape(c, 0, 1));
    int64_t win = cg_infer_int(c, "win"), h, w;
    if (win < 1 || win % 2 == 0)
        return cg_infer_fail(c, "win must be an odd size >= 1, got %lld", (long long)win);
    if (cg_infer_float(c, "sigma") <= 0)
        return cg_infer_fail(c, "sigma must be positive");
    if (cg_infer_float(c, "range") <= 0)
        return cg_infer_fail(c, "range must be positive");
    CG_TRY(cg_infer_const(c, c->in[0]->shape.d[2], "the image height", &h));
    CG_TRY(cg_infer_const(c, c->in[0]->shape.d[3], "the image width", &w));
    int64_t scales = 1;
    if (c->node->op == CG_OP_ms_ssim) {
        scales = cg_infer_int(c, "scales");
        if (scales < 1 || scales > 8)
            return cg_infer_fail(c, "scales must be between 1 and 8, got %lld",
                                 (long long)scales);
        const struct cg_attr *wt = cg_infer_attr(c, "weights");
        if (wt->kind != CG_AT_NONE) {
            if (wt->n != scales)
                return cg_infer_fail(c, "weights has %d entries for %lld scales", wt->n,
                                     (long long)scales);
            for (int i = 0; i < wt->n; i++)
                if (wt->floats[i] < 0)
                    return cg_infer_fail(c, "weights must be >= 0");
        } else if (scales > 5) {
            return cg_infer_fail(c, "the standard weights cover 5 scales; give weights=[...] "
                                 "for %lld", (long long)scales);
        }
    }
    int64_t sh = h, sw = w;
    for (int64_t s = 0; s < scales; s++) {
        if (sh < win || sw < win)
            return cg_infer_fail(c, "images %s are too small for %lld scale%s with a %lldx%lld "
                                 "window: scale %lld is %lldx%lld", cg_infer_tstr(c, 0),
                                 (long long)scales, scales > 1 ? "s" : "", (long long)win,
                                 (long long)win, (long long)(s + 1), (long long)sh,
                                 (long long)sw);
        sh = (sh + 1) / 2;
        sw = (sw + 1) / 2;
    }
    c->out_shape.rank = 1;
    c->out_shape.d[0] = c->in[0]->shape.d[0];
    return CG_OK;
}

enum cg_status cg_infer_kl(struct cg_infer *c)
{
    if (c->in[0]->shape.rank < 1)
        return cg_infer_fail(c, "mu must have a batch dim, got %s", cg_infer_tstr(c, 0));
    CG_TRY(same_shape(c, 0, 1));
    c->out_shape.rank = 1;
    c->out_shape.d[0] = c->in[0]->shape.d[0];
    return CG_OK;
}

enum cg_status cg_infer_info_nce(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 2, "(N, D)"));
    CG_TRY(same_shape(c, 0, 1));
    if (cg_infer_float(c, "temperature") <= 0)
        return cg_infer_fail(c, "temperature must be positive, got %g",
                             cg_infer_float(c, "temperature"));
    c->out_shape.rank = 0;
    return CG_OK;
}

enum cg_status cg_infer_pairwise(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 2, "(N, D)"));
    CG_TRY(cg_infer_rank(c, 1, 2, "(M, D)"));
    if (cg_dim_unify(&c->g->syms, c->in[0]->shape.d[1], c->in[1]->shape.d[1]))
        return cg_infer_fail(c, "feature dims differ: %s vs %s", cg_infer_tstr(c, 0),
                             cg_infer_tstr(c, 1));
    c->out_shape.rank = 2;
    c->out_shape.d[0] = c->in[0]->shape.d[0];
    c->out_shape.d[1] = c->in[1]->shape.d[0];
    return CG_OK;
}

enum cg_status cg_infer_entropy(struct cg_infer *c)
{
    const struct cg_value *p = c->in[0];
    int ax;
    if (p->shape.rank == 0)
        return cg_infer_fail(c, "needs at least 1 dim, got a scalar");
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), p->shape.rank, &ax));
    struct cg_shape s = {0};
    for (int i = 0; i < p->shape.rank; i++)
        if (i != ax)
            s.d[s.rank++] = p->shape.d[i];
    c->out_shape = s;
    return CG_OK;
}
