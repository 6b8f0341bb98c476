/* nn.c: shape inference of the functional layers (linear matmul conv2d conv_transpose2d pooling
 * upsample_nearest softmax log_softmax l2_normalize dropout). */
#include "ops/registry.h"

#include <string.h>

enum cg_status cg_infer_linear(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0], *w = c->in[1], *b = c->in[2];
    if (x->shape.rank < 1)
        return cg_infer_fail(c, "x must have at least 1 dim, got %s", cg_infer_tstr(c, 0));
    CG_TRY(cg_infer_rank(c, 1, 2, "(out, in)"));
    struct cg_dim in = x->shape.d[x->shape.rank - 1];
    if (cg_dim_unify(&c->g->syms, in, w->shape.d[1]))
        return cg_infer_fail(c, "x %s has %s features but w %s expects %s (w is [out, in])",
                             cg_infer_tstr(c, 0), cg_infer_dstr(c, in), cg_infer_tstr(c, 1),
                             cg_infer_dstr(c, w->shape.d[1]));
    if (b) {
        if (b->shape.rank != 1 || cg_dim_unify(&c->g->syms, b->shape.d[0], w->shape.d[0]))
            return cg_infer_fail(c, "b %s must be [%s] to match w %s", cg_infer_tstr(c, 2),
                                 cg_infer_dstr(c, w->shape.d[0]), cg_infer_tstr(c, 1));
    }
    c->out_shape = x->shape;
    c->out_shape.d[x->shape.rank - 1] = w->shape.d[0];
    return CG_OK;
}

enum cg_status cg_infer_matmul(struct cg_infer *c)
{
    struct cg_shape a = c->in[0]->shape, b = c->in[1]->shape;
    if (a.rank == 0 || b.rank == 0)
        return cg_infer_fail(c, "both operands need at least 1 dim, got %s and %s",
                             cg_infer_tstr(c, 0), cg_infer_tstr(c, 1));
    int a1 = a.rank == 1, b1 = b.rank == 1;
    if (a1) { /* [k] -> [1, k] */
        a.rank = 2;
        a.d[1] = a.d[0];
        a.d[0] = cg_dim_const(1);
    }
    if (b1) { /* [k] -> [k, 1] */
        b.rank = 2;
        b.d[1] = cg_dim_const(1);
    }
    struct cg_dim ka = a.d[a.rank - 1], kb = b.d[b.rank - 2];
    if (cg_dim_unify(&c->g->syms, ka, kb))
        return cg_infer_fail(c, "inner dims differ: %s @ %s (%s vs %s)", cg_infer_tstr(c, 0),
                             cg_infer_tstr(c, 1), cg_infer_dstr(c, ka), cg_infer_dstr(c, kb));
    struct cg_shape ba = a, bb = b, batch;
    ba.rank -= 2;
    bb.rank -= 2;
    CG_TRY(cg_infer_broadcast(c, &ba, &bb, &batch));
    struct cg_shape s = batch;
    if (!a1)
        s.d[s.rank++] = a.d[a.rank - 2];
    if (!b1)
        s.d[s.rank++] = b.d[b.rank - 1];
    if (s.rank > CG_MAX_RANK)
        return cg_infer_fail(c, "too many dims");
    c->out_shape = s;
    return CG_OK;
}

/* Spatial size after a window: floor((n + 2p - d(k-1) - 1) / s) + 1, symbolic when s = 1. */
static enum cg_status window_out(struct cg_infer *c, struct cg_dim n, int64_t k, int64_t s,
                                 int64_t p, int64_t d, const char *what, struct cg_dim *out)
{
    int64_t nv;
    int64_t span = d * (k - 1) + 1;
    struct cg_dim r = cg_dim_resolve(&c->g->syms, n);
    if (cg_dim_is_const(r, &nv)) {
        int64_t o = (nv + 2 * p - span) / s + 1;
        if (nv + 2 * p < span || o < 1)
            return cg_infer_fail(c, "the %s (%lld with padding %lld) is smaller than the window "
                                 "(%lld)", what, (long long)nv, (long long)p, (long long)span);
        *out = cg_dim_const(o);
        return CG_OK;
    }
    if (s != 1)
        return cg_infer_fail(c, "the %s is %s; a stride > 1 needs a concrete size (bind the "
                             "symbol with --bind)", what, cg_infer_dstr(c, r));
    if (cg_dim_add(r, cg_dim_const(2 * p - span + 1), out))
        return cg_infer_fail(c, "cannot compute the output size");
    return CG_OK;
}

enum cg_status cg_infer_conv2d(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0], *w = c->in[1], *b = c->in[2];
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    CG_TRY(cg_infer_rank(c, 1, 4, "(out, in/groups, kh, kw)"));
    int64_t stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1}, kh, kw, cin, cout, cw;
    CG_TRY(cg_infer_pair(c, "stride", 1, stride));
    CG_TRY(cg_infer_pair(c, "pad", 0, pad));
    CG_TRY(cg_infer_pair(c, "dilation", 1, dil));
    int64_t groups = cg_infer_int(c, "groups");
    if (groups < 1)
        return cg_infer_fail(c, "groups must be >= 1, got %lld", (long long)groups);
    CG_TRY(cg_infer_const(c, w->shape.d[2], "the kernel height", &kh));
    CG_TRY(cg_infer_const(c, w->shape.d[3], "the kernel width", &kw));
    CG_TRY(cg_infer_const(c, w->shape.d[0], "the output channel count", &cout));
    CG_TRY(cg_infer_const(c, w->shape.d[1], "w's input channels", &cw));
    CG_TRY(cg_infer_const(c, x->shape.d[1], "the input channel count", &cin));
    if (cin % groups || cout % groups)
        return cg_infer_fail(c, "channels (in %lld, out %lld) must be divisible by groups %lld",
                             (long long)cin, (long long)cout, (long long)groups);
    if (cw * groups != cin)
        return cg_infer_fail(c, "x %s has %lld channels but w %s expects %lld (= %lld x groups "
                             "%lld)", cg_infer_tstr(c, 0), (long long)cin, cg_infer_tstr(c, 1),
                             (long long)(cw * groups), (long long)cw, (long long)groups);
    if (b && (b->shape.rank != 1 || cg_dim_unify(&c->g->syms, b->shape.d[0], w->shape.d[0])))
        return cg_infer_fail(c, "b %s must be [%lld]", cg_infer_tstr(c, 2), (long long)cout);
    struct cg_shape s = {0};
    s.rank = 4;
    s.d[0] = x->shape.d[0];
    s.d[1] = cg_dim_const(cout);
    CG_TRY(window_out(c, x->shape.d[2], kh, stride[0], pad[0], dil[0], "input height", &s.d[2]));
    CG_TRY(window_out(c, x->shape.d[3], kw, stride[1], pad[1], dil[1], "input width", &s.d[3]));
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_conv_transpose2d(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0], *w = c->in[1], *b = c->in[2];
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    CG_TRY(cg_infer_rank(c, 1, 4, "(in, out/groups, kh, kw)"));
    int64_t stride[2] = {1, 1}, pad[2] = {0, 0}, opad[2] = {0, 0}, dil[2] = {1, 1};
    int64_t kh, kw, cin, cw, coutg;
    CG_TRY(cg_infer_pair(c, "stride", 1, stride));
    CG_TRY(cg_infer_pair(c, "pad", 0, pad));
    CG_TRY(cg_infer_pair(c, "output_pad", 0, opad));
    CG_TRY(cg_infer_pair(c, "dilation", 1, dil));
    int64_t groups = cg_infer_int(c, "groups");
    if (groups < 1)
        return cg_infer_fail(c, "groups must be >= 1, got %lld", (long long)groups);
    for (int i = 0; i < 2; i++)
        if (opad[i] >= stride[i] && opad[i] >= dil[i])
            return cg_infer_fail(c, "output_pad (%lld) must be smaller than the stride (%lld) "
                                 "or the dilation (%lld)", (long long)opad[i],
                                 (long long)stride[i], (long long)dil[i]);
    CG_TRY(cg_infer_const(c, w->shape.d[0], "w's input channels", &cw));
    CG_TRY(cg_infer_const(c, w->shape.d[1], "w's output channels per group", &coutg));
    CG_TRY(cg_infer_const(c, w->shape.d[2], "the kernel height", &kh));
    CG_TRY(cg_infer_const(c, w->shape.d[3], "the kernel width", &kw));
    CG_TRY(cg_infer_const(c, x->shape.d[1], "the input channel count", &cin));
    if (cin != cw || cin % groups)
        return cg_infer_fail(c, "x %s has %lld channels but w %s expects %lld (w is [in, "
                             "out/groups, kh, kw])", cg_infer_tstr(c, 0), (long long)cin,
                             cg_infer_tstr(c, 1), (long long)cw);
    int64_t cout = coutg * groups;
    if (b && (b->shape.rank != 1 || cg_dim_unify(&c->g->syms, b->shape.d[0], cg_dim_const(cout))))
        return cg_infer_fail(c, "b %s must be [%lld]", cg_infer_tstr(c, 2), (long long)cout);
    struct cg_shape s = {0};
    s.rank = 4;
    s.d[0] = x->shape.d[0];
    s.d[1] = cg_dim_const(cout);
    int64_t k[2] = {kh, kw};
    for (int i = 0; i < 2; i++) {
        int64_t n;
        struct cg_dim r = cg_dim_resolve(&c->g->syms, x->shape.d[2 + i]);
        int64_t add = -2 * pad[i] + dil[i] * (k[i] - 1) + opad[i] + 1;
        if (cg_dim_is_const(r, &n)) {
            int64_t o = (n - 1) * stride[i] + add;
            if (o < 1)
                return cg_infer_fail(c, "output %s would be %lld", i ? "width" : "height",
                                     (long long)o);
            s.d[2 + i] = cg_dim_const(o);
        } else {
            struct cg_dim t;
            if (cg_dim_mul(r, cg_dim_const(stride[i]), &t) ||
                cg_dim_add(t, cg_dim_const(add - stride[i]), &s.d[2 + i]))
                return cg_infer_fail(c, "cannot compute the output size");
        }
    }
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_pool2d(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    int64_t k[2] = {1, 1}, stride[2], pad[2] = {0, 0};
    CG_TRY(cg_infer_pair(c, "k", 1, k));
    stride[0] = k[0];
    stride[1] = k[1];
    CG_TRY(cg_infer_pair(c, "stride", 1, stride));
    CG_TRY(cg_infer_pair(c, "pad", 0, pad));
    for (int i = 0; i < 2; i++)
        if (pad[i] * 2 > k[i])
            return cg_infer_fail(c, "pad (%lld) must be at most half the window (%lld)",
                                 (long long)pad[i], (long long)k[i]);
    struct cg_shape s = x->shape;
    CG_TRY(window_out(c, x->shape.d[2], k[0], stride[0], pad[0], 1, "input height", &s.d[2]));
    CG_TRY(window_out(c, x->shape.d[3], k[1], stride[1], pad[1], 1, "input width", &s.d[3]));
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_upsample(struct cg_infer *c)
{
    CG_TRY(cg_infer_rank(c, 0, 4, "(N,C,H,W)"));
    int64_t f = cg_infer_int(c, "scale");
    if (f < 1)
        return cg_infer_fail(c, "scale must be an integer >= 1, got %lld", (long long)f);
    struct cg_shape s = c->in[0]->shape;
    if (cg_dim_mul(s.d[2], cg_dim_const(f), &s.d[2]) ||
        cg_dim_mul(s.d[3], cg_dim_const(f), &s.d[3]))
        return cg_infer_fail(c, "cannot compute the output size");
    c->out_shape = s;
    return CG_OK;
}

enum cg_status cg_infer_axis_op(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int ax;
    if (x->shape.rank == 0)
        return cg_infer_fail(c, "needs at least 1 dim, got a scalar");
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), x->shape.rank, &ax));
    if (c->node->op == CG_OP_l2_normalize && cg_infer_float(c, "eps") < 0)
        return cg_infer_fail(c, "eps must be >= 0");
    c->out_shape = x->shape;
    return CG_OK;
}

enum cg_status cg_infer_dropout(struct cg_infer *c)
{
    double p = cg_infer_float(c, "p");
    if (!(p >= 0 && p < 1))
        return cg_infer_fail(c, "p must be in [0, 1), got %g", p);
    c->out_shape = c->in[0]->shape;
    return CG_OK;
}
