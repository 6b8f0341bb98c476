/* shape.c: shape inference of the shape ops (reshape flatten permute transpose concat slice
 * unsqueeze squeeze broadcast_to gather one_hot). */
#include "ops/registry.h"

#include <string.h>

static struct cg_dim numel_dim(struct cg_infer *c, const struct cg_shape *s, int from, int to,
                               int *fail)
{
    struct cg_dim n = cg_dim_const(1);
    for (int i = from; i < to; i++)
        if (cg_dim_mul(n, cg_dim_resolve(&c->g->syms, s->d[i]), &n))
            *fail = 1;
    return n;
}

enum cg_status cg_infer_reshape(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    const struct cg_attr *a = cg_infer_attr(c, "shape");
    int fail = 0;
    struct cg_dim total = numel_dim(c, &x->shape, 0, x->shape.rank, &fail);
    struct cg_shape s = {0};
    s.rank = a->n;
    struct cg_dim known = cg_dim_const(1);
    for (int i = 0; i < a->n; i++) {
        s.d[i] = cg_dim_resolve(&c->g->syms, a->dims[i]);
        int64_t v;
        if (i == a->auto_index)
            continue;
        if (cg_dim_is_const(s.d[i], &v) && v <= 0)
            return cg_infer_fail(c, "invalid size %lld in the target shape", (long long)v);
        if (cg_dim_mul(known, s.d[i], &known))
            fail = 1;
    }
    if (fail)
        return cg_infer_fail(c, "cannot compute the sizes of reshaping %s", cg_infer_tstr(c, 0));
    if (a->auto_index >= 0) {
        struct cg_dim q;
        int64_t tv, kv;
        if (cg_dim_is_const(total, &tv) && cg_dim_is_const(known, &kv)) {
            if (kv == 0 || tv % kv)
                return cg_infer_fail(c, "cannot reshape %s (%lld elements) to %s: %lld is not "
                                     "divisible by %lld", cg_infer_tstr(c, 0), (long long)tv,
                                     cg_infer_sstr(c, &s), (long long)tv, (long long)kv);
            q = cg_dim_const(tv / kv);
        } else if (cg_dim_div(total, known, &q)) {
            return cg_infer_fail(c, "cannot infer the -1 in reshaping %s: %s elements are not "
                                 "a multiple of %s", cg_infer_tstr(c, 0), cg_infer_dstr(c, total),
                                 cg_infer_dstr(c, known));
        }
        s.d[a->auto_index] = q;
    } else if (cg_dim_unify(&c->g->syms, total, known)) {
        return cg_infer_fail(c, "cannot reshape %s (%s elements) to %s (%s elements)",
                             cg_infer_tstr(c, 0), cg_infer_dstr(c, total), cg_infer_sstr(c, &s),
                             cg_infer_dstr(c, known));
    }
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_flatten(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int r = x->shape.rank;
    if (r == 0) {
        c->out_shape.rank = 1;
        c->out_shape.d[0] = cg_dim_const(1);
        c->out_dtype = x->dtype;
        return CG_OK;
    }
    int s0, e0;
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "start"), r, &s0));
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "end"), r, &e0));
    if (s0 > e0)
        return cg_infer_fail(c, "start (%d) is after end (%d) for %s", s0, e0,
                             cg_infer_tstr(c, 0));
    int fail = 0;
    struct cg_shape s = {0};
    for (int i = 0; i < s0; i++)
        s.d[s.rank++] = x->shape.d[i];
    s.d[s.rank++] = numel_dim(c, &x->shape, s0, e0 + 1, &fail);
    for (int i = e0 + 1; i < r; i++)
        s.d[s.rank++] = x->shape.d[i];
    if (fail)
        return cg_infer_fail(c, "cannot compute the flattened size of %s", cg_infer_tstr(c, 0));
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_permute(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    const struct cg_attr *a = cg_infer_attr(c, "dims");
    int r = x->shape.rank;
    if (a->n != r)
        return cg_infer_fail(c, "permutation has %d entries but %s has %d dims", a->n,
                             cg_infer_tstr(c, 0), r);
    int seen[CG_MAX_RANK] = {0};
    struct cg_shape s = {0};
    s.rank = r;
    for (int i = 0; i < r; i++) {
        int ax;
        CG_TRY(cg_infer_axis(c, a->ints[i], r, &ax));
        if (seen[ax]++)
            return cg_infer_fail(c, "dims is not a permutation: axis %d appears twice", ax);
        s.d[i] = x->shape.d[ax];
    }
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_transpose(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int a, b;
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "a"), x->shape.rank, &a));
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "b"), x->shape.rank, &b));
    c->out_shape = x->shape;
    c->out_shape.d[a] = x->shape.d[b];
    c->out_shape.d[b] = x->shape.d[a];
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_concat(struct cg_infer *c)
{
    const struct cg_value *x0 = c->in[0];
    int r = x0->shape.rank, ax;
    if (r == 0)
        return cg_infer_fail(c, "cannot concatenate scalars (unsqueeze them first)");
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), r, &ax));
    struct cg_shape s = x0->shape;
    for (int i = 1; i < c->nin; i++) {
        const struct cg_value *xi = c->in[i];
        if (xi->dtype != x0->dtype)
            return cg_infer_fail(c, "tensor %d is %s but tensor 0 is %s (dtypes must match)", i,
                                 cg_infer_tstr(c, i), cg_infer_tstr(c, 0));
        if (xi->shape.rank != r)
            return cg_infer_fail(c, "tensor %d is %s but tensor 0 is %s (ranks must match)", i,
                                 cg_infer_tstr(c, i), cg_infer_tstr(c, 0));
        for (int d = 0; d < r; d++) {
            if (d == ax) {
                if (cg_dim_add(s.d[d], cg_dim_resolve(&c->g->syms, xi->shape.d[d]), &s.d[d]))
                    return cg_infer_fail(c, "cannot compute the concatenated size");
            } else if (cg_dim_unify(&c->g->syms, s.d[d], xi->shape.d[d])) {
                return cg_infer_fail(c, "tensor %d is %s but tensor 0 is %s (all dims but axis "
                                     "%d must match)", i, cg_infer_tstr(c, i),
                                     cg_infer_tstr(c, 0), ax);
            }
        }
    }
    c->out_shape = s;
    c->out_dtype = x0->dtype;
    return CG_OK;
}

enum cg_status cg_infer_slice(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int ax;
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), x->shape.rank, &ax));
    int64_t n;
    int64_t st = cg_infer_int(c, "start"), en = cg_infer_int(c, "end");
    if (!cg_dim_is_const(cg_dim_resolve(&c->g->syms, x->shape.d[ax]), &n) && st >= 0 && en >= 0) {
        /* a symbolic side sliced from the front: the size is known (checked once bound) */
        if (st >= en)
            return cg_infer_fail(c, "slice [%lld:%lld] of axis %d of %s is empty",
                                 (long long)st, (long long)en, ax, cg_infer_tstr(c, 0));
        c->out_shape = x->shape;
        c->out_shape.d[ax] = cg_dim_const(en - st);
        c->out_dtype = x->dtype;
        return CG_OK;
    }
    CG_TRY(cg_infer_const(c, x->shape.d[ax], "the sliced dimension", &n));
    int64_t s0 = st < 0 ? st + n : st, e0 = en < 0 ? en + n : en;
    if (s0 < 0)
        s0 = 0;
    if (e0 > n)
        e0 = n;
    if (s0 >= e0)
        return cg_infer_fail(c, "slice [%lld:%lld] of axis %d of %s is empty", (long long)st,
                             (long long)en, ax, cg_infer_tstr(c, 0));
    c->out_shape = x->shape;
    c->out_shape.d[ax] = cg_dim_const(e0 - s0);
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_unsqueeze(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    int r = x->shape.rank, ax;
    if (r >= CG_MAX_RANK)
        return cg_infer_fail(c, "%s already has the maximum of %d dims", cg_infer_tstr(c, 0),
                             CG_MAX_RANK);
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), r + 1, &ax));
    struct cg_shape s = {0};
    s.rank = r + 1;
    for (int i = 0, j = 0; i < r + 1; i++)
        s.d[i] = i == ax ? cg_dim_const(1) : x->shape.d[j++];
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_squeeze(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    const struct cg_attr *a = cg_infer_attr(c, "axis");
    int mask[CG_MAX_RANK];
    CG_TRY(cg_infer_axes_mask(c, "axis", x->shape.rank, mask));
    struct cg_shape s = {0};
    for (int i = 0; i < x->shape.rank; i++) {
        int64_t v;
        int is1 = cg_dim_is_const(cg_dim_resolve(&c->g->syms, x->shape.d[i]), &v) && v == 1;
        if (mask[i] && is1)
            continue;
        s.d[s.rank++] = x->shape.d[i];
    }
    (void)a;
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_broadcast_to(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0];
    const struct cg_attr *a = cg_infer_attr(c, "shape");
    if (a->n < x->shape.rank)
        return cg_infer_fail(c, "cannot broadcast %s to a shape of %d dims", cg_infer_tstr(c, 0),
                             a->n);
    struct cg_shape s = {0};
    s.rank = a->n;
    for (int i = 0; i < a->n; i++) {
        int xi = i - (a->n - x->shape.rank);
        struct cg_dim want = a->dims[i];
        if (i == a->auto_index) {
            if (xi < 0)
                return cg_infer_fail(c, "-1 is only allowed for existing dims");
            s.d[i] = x->shape.d[xi];
            continue;
        }
        s.d[i] = want;
        if (xi < 0)
            continue;
        struct cg_dim have = cg_dim_resolve(&c->g->syms, x->shape.d[xi]);
        int64_t v;
        if (cg_dim_is_const(have, &v) && v == 1)
            continue;
        if (cg_dim_unify(&c->g->syms, have, want)) {
            struct cg_shape tgt = {0};
            tgt.rank = a->n;
            memcpy(tgt.d, a->dims, sizeof(struct cg_dim) * (size_t)a->n);
            return cg_infer_fail(c, "cannot broadcast %s to %s (dim %d: %s vs %s)",
                                 cg_infer_tstr(c, 0), cg_infer_sstr(c, &tgt), i,
                                 cg_infer_dstr(c, have), cg_infer_dstr(c, want));
        }
    }
    c->out_shape = s;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_gather(struct cg_infer *c)
{
    const struct cg_value *x = c->in[0], *idx = c->in[1];
    int r = x->shape.rank, ax;
    CG_TRY(cg_infer_axis(c, cg_infer_int(c, "axis"), r, &ax));
    if (idx->shape.rank != r)
        return cg_infer_fail(c, "idx %s must have as many dims as x %s", cg_infer_tstr(c, 1),
                             cg_infer_tstr(c, 0));
    for (int d = 0; d < r; d++) {
        int64_t vi, vx;
        if (d == ax)
            continue;
        if (cg_dim_is_const(cg_dim_resolve(&c->g->syms, idx->shape.d[d]), &vi) &&
            cg_dim_is_const(cg_dim_resolve(&c->g->syms, x->shape.d[d]), &vx) && vi > vx)
            return cg_infer_fail(c, "idx %s is larger than x %s in dim %d", cg_infer_tstr(c, 1),
                                 cg_infer_tstr(c, 0), d);
    }
    c->out_shape = idx->shape;
    c->out_dtype = x->dtype;
    return CG_OK;
}

enum cg_status cg_infer_one_hot(struct cg_infer *c)
{
    const struct cg_value *idx = c->in[0];
    int64_t n = cg_infer_int(c, "n");
    if (n < 1)
        return cg_infer_fail(c, "n must be >= 1, got %lld", (long long)n);
    if (idx->shape.rank >= CG_MAX_RANK)
        return cg_infer_fail(c, "too many dims");
    c->out_shape = idx->shape;
    c->out_shape.d[c->out_shape.rank++] = cg_dim_const(n);
    c->out_dtype = CG_F32;
    return CG_OK;
}
