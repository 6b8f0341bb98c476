/* composite.c: the composite losses and similarities (mse ssim ms_ssim kl_std_normal info_nce
 * pairwise_sqdist entropy), expanded at graph-build time into primitive ops.
 *
 * The builder (ir/build.c, call_op) calls an op's expansion with the matched call instead of
 * adding a node. Each expansion first runs the op's own shape inference on the call (loss.c), so
 * that `clgraph check` reports exactly the messages it always did, then emits ordinary nodes
 * with cg_build_node. The composites therefore need no kernels of their own, and their gradients
 * are the exact compositions of the primitives' rules (passes/grad_rules.c).
 *
 * The formulas follow tests/golden/gen.py and src/ops/ref.c (PyTorch / pytorch-msssim):
 *   mse              mean(square(a - b))
 *   kl_std_normal    0.5 * sum over the non-batch dims of (exp(lv) + mu^2 - 1 - lv)
 *   pairwise_sqdist  relu(sum(a^2, 1, keep) + sum(b^2, 1, keep)^T - 2 a b^T)
 *   entropy          -sum(p * log(p), axis)   (no 0 log 0 = 0: p = 0 gives NaN)
 *   info_nce         mean(logsumexp_{j != i} s_ij) - mean(na . nb) / t, s = z z^T / t
 *   ssim, ms_ssim    Gaussian-window statistics by a depthwise conv2d (see ssim_maps). */
#include "ir/build.h"

#include <stdio.h>
#include <string.h>

/* The large negative that removes self-similarities from info_nce's softmax (exp underflows to
 * exactly 0 for any |s| < 1e8, i.e. any temperature above 1e-8). */
#define CG_NCE_MASK (-1e9)

/* The standard MS-SSIM scale weights (Wang et al. 2003, pytorch-msssim). */
static const double ms_weights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

/* ---- helpers -------------------------------------------------------------------------------- */

static const struct cg_attr *attr(struct cg_call *call, const char *name)
{
    const struct cg_schema *s = &call->op->schema;
    for (int i = 0; i < s->nargs; i++)
        if (!s->args[i].is_tensor && !strcmp(s->args[i].name, name))
            return &call->attrs[s->args[i].slot];
    return NULL;
}

/* Runs the op's own shape inference over the call's inputs and attributes, as if it were a node:
 * the same checks and messages as before the op became a composite. Unifications it makes are
 * kept (the primitives then see the unified shapes); a failure leaves the symbols as they were. */
static enum cg_status check_call(struct cg_builder *b, struct cg_call *call)
{
    struct cg_graph *g = cg_build_graph(b);
    struct cg_node n;
    struct cg_infer c;
    memset(&n, 0, sizeof n);
    memset(&c, 0, sizeof c);
    n.op = call->op_id;
    n.inputs = call->inputs;
    n.ninputs = call->ninputs;
    memcpy(n.attrs, call->attrs, sizeof n.attrs);
    n.out = -1;
    n.loc = call->loc;
    c.g = g;
    c.op = call->op;
    c.node = &n;
    c.e = cg_build_error(b);
    c.nin = n.ninputs;
    for (int i = 0; i < n.ninputs && i < (int)CG_ARRAY_LEN(c.in); i++)
        c.in[i] = n.inputs[i] >= 0 ? &g->values[n.inputs[i]] : NULL;
    c.out_dtype = CG_F32;
    struct cg_symtab before = g->syms;
    c.shown = &before;
    enum cg_status st = call->op->infer(&c);
    if (st != CG_OK)
        g->syms = before;
    return st;
}

static enum cg_status fail(struct cg_builder *b, struct cg_call *call, const char *msg)
{
    return cg_error_set(cg_build_error(b), CG_ERR_INPUT, "%s:%d:%d: error: %s: %s",
                        call->loc.file, call->loc.line, call->loc.col, call->op->name, msg);
}

/* Dim `axis` of value v as a constant; fails naming `what` when it is symbolic. */
static enum cg_status concrete(struct cg_builder *b, struct cg_call *call, int v, int axis,
                               const char *what, int64_t *out)
{
    struct cg_graph *g = cg_build_graph(b);
    const struct cg_shape *s = &g->values[v].shape;
    char msg[256];
    if (axis >= 0 && axis < s->rank && cg_dim_is_const(cg_dim_resolve(&g->syms, s->d[axis]), out))
        return CG_OK;
    snprintf(msg, sizeof msg, "%s must be a concrete size here (bind the symbol with --bind or "
             "feed a concrete shape)", what);
    return fail(b, call, msg);
}

static struct cg_attr int_attr(int64_t v)
{
    struct cg_attr a;
    memset(&a, 0, sizeof a);
    a.kind = CG_AT_INT;
    a.i = v;
    a.f = (double)v;
    a.auto_index = -1;
    return a;
}

static struct cg_attr float_attr(double v)
{
    struct cg_attr a;
    memset(&a, 0, sizeof a);
    a.kind = CG_AT_FLOAT;
    a.f = v;
    a.i = (int64_t)v;
    a.auto_index = -1;
    return a;
}

/* An int-list attribute (axes, pads) whose arrays live in the graph's arena. */
static enum cg_status ints_attr(struct cg_builder *b, const int64_t *v, int n,
                                struct cg_attr *out)
{
    struct cg_graph *g = cg_build_graph(b);
    memset(out, 0, sizeof *out);
    out->kind = CG_AT_INTS;
    out->n = n;
    out->was_list = 1;
    out->auto_index = -1;
    out->ints = cg_arena_alloc(&g->arena, sizeof *out->ints * (size_t)n);
    out->floats = cg_arena_alloc(&g->arena, sizeof *out->floats * (size_t)n);
    if (!out->ints || !out->floats)
        return cg_error_nomem(cg_build_error(b));
    for (int i = 0; i < n; i++) {
        out->ints[i] = v[i];
        out->floats[i] = (double)v[i];
    }
    out->i = v[0];
    out->f = (double)v[0];
    return CG_OK;
}

/* Emits op(x) (no attributes). */
static enum cg_status un(struct cg_builder *b, struct cg_call *call, int op, int x, int *out)
{
    return cg_build_node(b, op, &x, 1, NULL, NULL, 0, call->loc, out);
}

/* Emits op(x, y) (binary, broadcasting). */
static enum cg_status bin(struct cg_builder *b, struct cg_call *call, int op, int x, int y,
                          int *out)
{
    int in[2] = {x, y};
    return cg_build_node(b, op, in, 2, NULL, NULL, 0, call->loc, out);
}

/* Emits op(x, const v) (or op(const v, x) when const_first). */
static enum cg_status bin_const(struct cg_builder *b, struct cg_call *call, int op, int x,
                                double v, int const_first, int *out)
{
    int k;
    CG_TRY(cg_build_const(b, v, call->loc, &k));
    return const_first ? bin(b, call, op, k, x, out) : bin(b, call, op, x, k, out);
}

/* Emits a reduction op (sum, mean, logsumexp) of x over axes[0..naxes) (naxes 0: all). */
static enum cg_status reduce(struct cg_builder *b, struct cg_call *call, int op, int x,
                             const int64_t *axes, int naxes, int keepdims, int *out)
{
    const char *names[2] = {"axis", "keepdims"};
    struct cg_attr vals[2];
    memset(&vals[0], 0, sizeof vals[0]);
    vals[0].kind = CG_AT_NONE;
    vals[0].auto_index = -1;
    if (naxes > 0)
        CG_TRY(ints_attr(b, axes, naxes, &vals[0]));
    vals[1] = int_attr(keepdims);
    return cg_build_node(b, op, &x, 1, names, vals, 2, call->loc, out);
}

/* ---- mse, kl_std_normal, entropy, pairwise_sqdist -------------------------------------------- */

enum cg_status cg_expand_mse(struct cg_builder *b, struct cg_call *call, int *out)
{
    int d;
    CG_TRY(check_call(b, call));
    CG_TRY(bin(b, call, CG_OP_sub, call->inputs[0], call->inputs[1], &d));
    CG_TRY(un(b, call, CG_OP_square, d, &d));
    return reduce(b, call, CG_OP_mean, d, NULL, 0, 0, out);
}

enum cg_status cg_expand_kl_std_normal(struct cg_builder *b, struct cg_call *call, int *out)
{
    int mu = call->inputs[0], lv = call->inputs[1], t, m2;
    CG_TRY(check_call(b, call));
    CG_TRY(un(b, call, CG_OP_exp, lv, &t));
    CG_TRY(un(b, call, CG_OP_square, mu, &m2));
    CG_TRY(bin(b, call, CG_OP_add, t, m2, &t));
    CG_TRY(bin_const(b, call, CG_OP_sub, t, 1.0, 0, &t));
    CG_TRY(bin(b, call, CG_OP_sub, t, lv, &t));
    int rank = cg_build_graph(b)->values[mu].shape.rank;
    if (rank > 1) { /* a rank-1 mu has one feature per row: nothing to sum */
        int64_t axes[CG_MAX_RANK];
        for (int i = 1; i < rank; i++)
            axes[i - 1] = i;
        CG_TRY(reduce(b, call, CG_OP_sum, t, axes, rank - 1, 0, &t));
    }
    return bin_const(b, call, CG_OP_mul, t, 0.5, 1, out);
}

enum cg_status cg_expand_entropy(struct cg_builder *b, struct cg_call *call, int *out)
{
    int p = call->inputs[0], lp, t;
    int64_t axis = attr(call, "axis")->i;
    CG_TRY(check_call(b, call));
    CG_TRY(un(b, call, CG_OP_log, p, &lp));
    CG_TRY(bin(b, call, CG_OP_mul, p, lp, &t));
    CG_TRY(reduce(b, call, CG_OP_sum, t, &axis, 1, 0, &t));
    return un(b, call, CG_OP_neg, t, out);
}

/* The expansion rounds: |a|^2 + |b|^2 - 2 a.b can come out slightly negative where a row of a
 * equals a row of b; relu clamps it at 0 (torch.cdist(a, b)**2 and the direct sum of squared
 * differences are >= 0). The gradient is unchanged wherever the distance is positive, and 0 at a
 * clamped entry, where the exact gradient 2(a - b) is 0 as well. */
enum cg_status cg_expand_pairwise_sqdist(struct cg_builder *b, struct cg_call *call, int *out)
{
    int a = call->inputs[0], bb = call->inputs[1], sa, sb, ab, d;
    int64_t one = 1;
    CG_TRY(check_call(b, call));
    CG_TRY(un(b, call, CG_OP_square, a, &sa));
    CG_TRY(reduce(b, call, CG_OP_sum, sa, &one, 1, 1, &sa)); /* [N, 1] */
    CG_TRY(un(b, call, CG_OP_square, bb, &sb));
    CG_TRY(reduce(b, call, CG_OP_sum, sb, &one, 1, 1, &sb)); /* [M, 1] */
    const char *tn[2] = {"a", "b"};
    struct cg_attr tv[2] = {int_attr(0), int_attr(1)};
    CG_TRY(cg_build_node(b, CG_OP_transpose, &sb, 1, tn, tv, 2, call->loc, &sb)); /* [1, M] */
    int lin[3] = {a, bb, -1};
    CG_TRY(cg_build_node(b, CG_OP_linear, lin, 3, NULL, NULL, 0, call->loc, &ab)); /* a b^T */
    CG_TRY(bin_const(b, call, CG_OP_mul, ab, 2.0, 1, &ab));
    CG_TRY(bin(b, call, CG_OP_add, sa, sb, &d));
    CG_TRY(bin(b, call, CG_OP_sub, d, ab, &d));
    return un(b, call, CG_OP_relu, d, out);
}

/* ---- info_nce --------------------------------------------------------------------------------- */

/* SimCLR NT-Xent. With na, nb the l2-normalised rows of za, zb and z = concat([na, nb], 0), the
 * similarities are s = z z^T / t; each of the 2N rows is an anchor whose positive is its partner
 * (i + N mod 2N). cross_entropy(s with the diagonal removed, partner labels) is
 *     mean_i logsumexp_{j != i} s_ij - mean_i s_{i,partner(i)},
 * and s_{i,partner(i)} = na_k . nb_k / t for both i = k and i = k + N, so the second term is
 * mean_k(na_k . nb_k) / t. This form needs no labels (iota would need a concrete 2N; a symbolic
 * batch stays symbolic here). The diagonal is masked by mask_diag(s, -1e9), whose own gradient
 * rule is none: it is applied as s + stop_gradient(mask_diag(s) - s), which carries the gradient
 * to s unchanged (the masked entries' softmax weight is exactly 0, so theirs is 0 too). */
enum cg_status cg_expand_info_nce(struct cg_builder *b, struct cg_call *call, int *out)
{
    double t = attr(call, "temperature")->f;
    int na, nb, z, s, m, lse, pos, tk;
    int64_t one = 1;
    CG_TRY(check_call(b, call));
    const char *an = "axis";
    struct cg_attr av = int_attr(1);
    CG_TRY(cg_build_node(b, CG_OP_l2_normalize, &call->inputs[0], 1, &an, &av, 1, call->loc,
                         &na));
    CG_TRY(cg_build_node(b, CG_OP_l2_normalize, &call->inputs[1], 1, &an, &av, 1, call->loc,
                         &nb));
    int zs[2] = {na, nb};
    CG_TRY(cg_build_node(b, CG_OP_concat, zs, 2, NULL, NULL, 0, call->loc, &z)); /* [2N, D] */
    int lin[3] = {z, z, -1};
    CG_TRY(cg_build_node(b, CG_OP_linear, lin, 3, NULL, NULL, 0, call->loc, &s)); /* z z^T */
    CG_TRY(cg_build_const(b, t, call->loc, &tk));
    CG_TRY(bin(b, call, CG_OP_div, s, tk, &s));
    const char *mn = "value";
    struct cg_attr mv = float_attr(CG_NCE_MASK);
    CG_TRY(cg_build_node(b, CG_OP_mask_diag, &s, 1, &mn, &mv, 1, call->loc, &m));
    CG_TRY(bin(b, call, CG_OP_sub, m, s, &m));
    CG_TRY(un(b, call, CG_OP_stop_gradient, m, &m));
    CG_TRY(bin(b, call, CG_OP_add, s, m, &s));
    CG_TRY(reduce(b, call, CG_OP_logsumexp, s, &one, 1, 0, &lse)); /* [2N] */
    CG_TRY(reduce(b, call, CG_OP_mean, lse, NULL, 0, 0, &lse));
    CG_TRY(bin(b, call, CG_OP_mul, na, nb, &pos));
    CG_TRY(reduce(b, call, CG_OP_sum, pos, &one, 1, 0, &pos)); /* [N] */
    CG_TRY(reduce(b, call, CG_OP_mean, pos, NULL, 0, 0, &pos));
    CG_TRY(bin(b, call, CG_OP_div, pos, tk, &pos));
    return bin(b, call, CG_OP_sub, lse, pos, out);
}

/* ---- ssim, ms_ssim ---------------------------------------------------------------------------- */

/* What one SSIM evaluation needs: the window [C, 1, win, win] and the stabilising constants. */
struct ssim_ctx {
    int window;
    int64_t channels;
    double c1, c2;
};

/* Reads the shared attributes, checks the channel count is concrete and emits the window. */
static enum cg_status ssim_setup(struct cg_builder *b, struct cg_call *call, struct ssim_ctx *s)
{
    double k1 = attr(call, "k1")->f, k2 = attr(call, "k2")->f, range = attr(call, "range")->f;
    CG_TRY(concrete(b, call, call->inputs[0], 1, "the channel count", &s->channels));
    s->c1 = (k1 * range) * (k1 * range);
    s->c2 = (k2 * range) * (k2 * range);
    const char *names[3] = {"c", "win", "sigma"};
    struct cg_attr vals[3] = {int_attr(s->channels), int_attr(attr(call, "win")->i),
                              float_attr(attr(call, "sigma")->f)};
    return cg_build_node(b, CG_OP_gauss_window, NULL, 0, names, vals, 3, call->loc, &s->window);
}

/* F(x): the Gaussian-weighted local mean of every channel at the valid positions, a depthwise
 * conv2d with the window (pytorch-msssim filters separably with the same 1-D window). */
static enum cg_status gfilter(struct cg_builder *b, struct cg_call *call,
                              const struct ssim_ctx *s, int x, int *out)
{
    const char *name = "groups";
    struct cg_attr groups = int_attr(s->channels);
    int in[3] = {x, s->window, -1};
    return cg_build_node(b, CG_OP_conv2d, in, 3, &name, &groups, 1, call->loc, out);
}

/* The SSIM map and the contrast-structure map of images a, b [N, C, H, W], both
 * [N, C, H-win+1, W-win+1], as pytorch-msssim's _ssim:
 *     mu = F(x), s_aa = F(a a) - mu_a^2, s_bb = F(b b) - mu_b^2, s_ab = F(a b) - mu_a mu_b,
 *     cs = (2 s_ab + C2) / (s_aa + s_bb + C2),
 *     ssim = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1) * cs. */
static enum cg_status ssim_maps(struct cg_builder *b, struct cg_call *call,
                                const struct ssim_ctx *s, int a, int bb, int *ssim, int *cs)
{
    int mu_a, mu_b, aa, bq, ab, sq_a, sq_b, mu_ab, s_aa, s_bb, s_ab, num, den, lum;
    CG_TRY(gfilter(b, call, s, a, &mu_a));
    CG_TRY(gfilter(b, call, s, bb, &mu_b));
    CG_TRY(un(b, call, CG_OP_square, mu_a, &sq_a));
    CG_TRY(un(b, call, CG_OP_square, mu_b, &sq_b));
    CG_TRY(bin(b, call, CG_OP_mul, mu_a, mu_b, &mu_ab));
    CG_TRY(bin(b, call, CG_OP_mul, a, a, &aa));
    CG_TRY(gfilter(b, call, s, aa, &s_aa));
    CG_TRY(bin(b, call, CG_OP_sub, s_aa, sq_a, &s_aa));
    CG_TRY(bin(b, call, CG_OP_mul, bb, bb, &bq));
    CG_TRY(gfilter(b, call, s, bq, &s_bb));
    CG_TRY(bin(b, call, CG_OP_sub, s_bb, sq_b, &s_bb));
    CG_TRY(bin(b, call, CG_OP_mul, a, bb, &ab));
    CG_TRY(gfilter(b, call, s, ab, &s_ab));
    CG_TRY(bin(b, call, CG_OP_sub, s_ab, mu_ab, &s_ab));
    /* cs */
    CG_TRY(bin_const(b, call, CG_OP_mul, s_ab, 2.0, 1, &num));
    CG_TRY(bin_const(b, call, CG_OP_add, num, s->c2, 0, &num));
    CG_TRY(bin(b, call, CG_OP_add, s_aa, s_bb, &den));
    CG_TRY(bin_const(b, call, CG_OP_add, den, s->c2, 0, &den));
    CG_TRY(bin(b, call, CG_OP_div, num, den, cs));
    /* luminance, then the ssim map */
    CG_TRY(bin_const(b, call, CG_OP_mul, mu_ab, 2.0, 1, &num));
    CG_TRY(bin_const(b, call, CG_OP_add, num, s->c1, 0, &num));
    CG_TRY(bin(b, call, CG_OP_add, sq_a, sq_b, &den));
    CG_TRY(bin_const(b, call, CG_OP_add, den, s->c1, 0, &den));
    CG_TRY(bin(b, call, CG_OP_div, num, den, &lum));
    return bin(b, call, CG_OP_mul, lum, *cs, ssim);
}

enum cg_status cg_expand_ssim(struct cg_builder *b, struct cg_call *call, int *out)
{
    struct ssim_ctx s;
    int map, cs;
    static const int64_t axes[3] = {1, 2, 3};
    CG_TRY(check_call(b, call));
    CG_TRY(ssim_setup(b, call, &s));
    CG_TRY(ssim_maps(b, call, &s, call->inputs[0], call->inputs[1], &map, &cs));
    return reduce(b, call, CG_OP_mean, map, axes, 3, 0, out); /* [N] */
}

/* Halves images [N, C, h, w] as pytorch-msssim does between scales: avg_pool2d(k 2, stride 2,
 * padding (h % 2, w % 2)), count_include_pad, so an odd side becomes (side + 1) / 2. */
static enum cg_status ms_down(struct cg_builder *b, struct cg_call *call, int x, int64_t h,
                              int64_t w, int *out)
{
    const char *names[2] = {"k", "pad"};
    struct cg_attr vals[2];
    int64_t pad[2] = {h % 2, w % 2};
    vals[0] = int_attr(2);
    CG_TRY(ints_attr(b, pad, 2, &vals[1]));
    return cg_build_node(b, CG_OP_avg_pool2d, &x, 1, names, vals, 2, call->loc, out);
}

/* Weights: the standard ones truncated to `scales` and renormalised to sum 1, or the given ones
 * as they are (src/ops/ref.c, pytorch-msssim). Per scale s and channel the value is relu(mean cs
 * map) for s < scales-1 and relu(mean ssim map) at the last; the result is
 * mean over channels of prod_s value_s ** w_s. Like PyTorch, a value clamped to 0 makes the
 * product 0 and its gradient (w_s 0^(w_s - 1)) not finite when 0 < w_s < 1. */
enum cg_status cg_expand_ms_ssim(struct cg_builder *b, struct cg_call *call, int *out)
{
    struct ssim_ctx s;
    int64_t scales = attr(call, "scales")->i, h, w;
    static const int64_t hw[2] = {2, 3};
    const struct cg_attr *given = attr(call, "weights");
    double wt[8], wsum = 0;
    CG_TRY(check_call(b, call));
    if (scales < 1 || scales > (int64_t)CG_ARRAY_LEN(wt))
        return fail(b, call, "internal error: scales out of range");
    for (int64_t i = 0; i < scales; i++)
        wsum += given->kind == CG_AT_NONE ? ms_weights[i] : 0.0;
    for (int64_t i = 0; i < scales; i++)
        wt[i] = given->kind == CG_AT_NONE ? ms_weights[i] / wsum : given->floats[i];
    CG_TRY(ssim_setup(b, call, &s));
    CG_TRY(concrete(b, call, call->inputs[0], 2, "the image height", &h));
    CG_TRY(concrete(b, call, call->inputs[0], 3, "the image width", &w));
    int a = call->inputs[0], bb = call->inputs[1], acc = -1;
    for (int64_t i = 0; i < scales; i++) {
        int map, cs, v;
        CG_TRY(ssim_maps(b, call, &s, a, bb, &map, &cs));
        int last = i == scales - 1;
        CG_TRY(reduce(b, call, CG_OP_mean, last ? map : cs, hw, 2, 0, &v)); /* [N, C] */
        CG_TRY(un(b, call, CG_OP_relu, v, &v));
        const char *pn = "p";
        struct cg_attr pv = float_attr(wt[i]);
        CG_TRY(cg_build_node(b, CG_OP_pow, &v, 1, &pn, &pv, 1, call->loc, &v));
        if (acc < 0)
            acc = v;
        else
            CG_TRY(bin(b, call, CG_OP_mul, acc, v, &acc));
        if (!last) {
            CG_TRY(ms_down(b, call, a, h, w, &a));
            CG_TRY(ms_down(b, call, bb, h, w, &bb));
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
    }
    int64_t ch = 1;
    return reduce(b, call, CG_OP_mean, acc, &ch, 1, 0, out); /* [N] */
}
