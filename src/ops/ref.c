/* ref.c: plain C reference implementations of every op, in double (see ref.h).
 *
 * Deliberately simple: every output element is computed by a direct loop over its definition,
 * with index arithmetic spelled out. No blocking, no vectorisation, no reuse between ops beyond
 * a few index helpers. Semantics follow PyTorch 1.13; tests/test_ref.c checks them against
 * values computed by torch (tests/ref_fixtures/gen_ref.py). */
#include "ops/ref.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* ---- index helpers ------------------------------------------------------------------------- */

static int64_t numel(int rank, const int64_t *s)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= s[i];
    return n;
}

/* Row-major strides of shape s. */
static void strides_of(int rank, const int64_t *s, int64_t *st)
{
    int64_t acc = 1;
    for (int i = rank - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s[i];
    }
}

/* Splits flat index f of shape s into coordinates c. */
static void unravel(int64_t f, int rank, const int64_t *s, int64_t *c)
{
    for (int i = rank - 1; i >= 0; i--) {
        c[i] = s[i] ? f % s[i] : 0;
        f = s[i] ? f / s[i] : 0;
    }
}

/* Offset in a tensor of shape xs (rank xr) of the element at output coordinates c (rank yr)
 * under NumPy broadcasting: x's dims align right, a size-1 dim reads index 0. */
static int64_t bcast_offset(int xr, const int64_t *xs, int yr, const int64_t *c)
{
    int64_t st[CG_REF_MAX_RANK], off = 0;
    strides_of(xr, xs, st);
    for (int i = 0; i < xr; i++) {
        int64_t ci = c[yr - xr + i];
        off += (xs[i] == 1 ? 0 : ci) * st[i];
    }
    return off;
}

void cg_ref_identity(const double *x, int64_t n, double *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i];
}

/* ---- elementwise --------------------------------------------------------------------------- */

static double unary1(enum cg_op_id op, double x, double p0, double p1)
{
    switch (op) {
    case CG_OP_neg:
        return -x;
    case CG_OP_exp:
        return exp(x);
    case CG_OP_log:
        return log(x);
    case CG_OP_sqrt:
        return sqrt(x);
    case CG_OP_rsqrt:
        return 1.0 / sqrt(x);
    case CG_OP_abs:
        return fabs(x);
    case CG_OP_square:
        return x * x;
    case CG_OP_pow:
        return pow(x, p0);
    case CG_OP_relu:
        return x > 0 ? x : 0.0;
    case CG_OP_leaky_relu:
        return x > 0 ? x : x * p0;
    case CG_OP_sigmoid:
        return 1.0 / (1.0 + exp(-x));
    case CG_OP_tanh:
        return tanh(x);
    case CG_OP_softplus:
        return p0 * x > p1 ? x : log1p(exp(p0 * x)) / p0;
    case CG_OP_clamp:
        return fmin(fmax(x, p0), p1);
    default:
        assert(!"cg_ref_unary: not a unary op");
        return NAN;
    }
}

void cg_ref_unary(enum cg_op_id op, const double *x, int64_t n, double p0, double p1, double *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = unary1(op, x[i], p0, p1);
}

int cg_ref_broadcast_shape(int ra, const int64_t *as, int rb, const int64_t *bs, int64_t *ys)
{
    int r = ra > rb ? ra : rb;
    if (r > CG_REF_MAX_RANK)
        return -1;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? as[ia] : 1, db = ib >= 0 ? bs[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        ys[i] = da == 1 ? db : da;
    }
    return r;
}

static double binary1(enum cg_op_id op, double a, double b)
{
    switch (op) {
    case CG_OP_add:
        return a + b;
    case CG_OP_sub:
        return a - b;
    case CG_OP_mul:
        return a * b;
    case CG_OP_div:
        return a / b;
    case CG_OP_maximum:
        return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    case CG_OP_minimum:
        return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
    default:
        assert(!"cg_ref_binary: not a binary op");
        return NAN;
    }
}

void cg_ref_binary(enum cg_op_id op, const double *a, int ra, const int64_t *as, const double *b,
                   int rb, const int64_t *bs, double *y)
{
    int64_t ys[CG_REF_MAX_RANK], c[CG_REF_MAX_RANK];
    int r = cg_ref_broadcast_shape(ra, as, rb, bs, ys);
    assert(r >= 0);
    int64_t n = numel(r, ys);
    for (int64_t f = 0; f < n; f++) {
        unravel(f, r, ys, c);
        y[f] = binary1(op, a[bcast_offset(ra, as, r, c)], b[bcast_offset(rb, bs, r, c)]);
    }
}

/* ---- reductions ---------------------------------------------------------------------------- */

int cg_ref_reduce_shape(int rank, const int64_t *xs, const int *mask, int keepdims, int64_t *ys)
{
    int r = 0;
    for (int i = 0; i < rank; i++) {
        int red = mask == NULL || mask[i];
        if (!red)
            ys[r++] = xs[i];
        else if (keepdims)
            ys[r++] = 1;
    }
    return r;
}

/* A reduction split of x: the kept ("outer") and reduced ("inner") dims with x's strides. */
struct red_split {
    int no, ni;
    int64_t os[CG_REF_MAX_RANK], ost[CG_REF_MAX_RANK]; /* kept sizes, their strides in x */
    int64_t is[CG_REF_MAX_RANK], ist[CG_REF_MAX_RANK]; /* reduced sizes, their strides in x */
    int64_t nout, nred;
};

static void red_split_init(struct red_split *s, int rank, const int64_t *xs, const int *mask)
{
    int64_t st[CG_REF_MAX_RANK];
    strides_of(rank, xs, st);
    s->no = s->ni = 0;
    for (int i = 0; i < rank; i++) {
        if (mask == NULL || mask[i]) {
            s->is[s->ni] = xs[i];
            s->ist[s->ni++] = st[i];
        } else {
            s->os[s->no] = xs[i];
            s->ost[s->no++] = st[i];
        }
    }
    s->nout = numel(s->no, s->os);
    s->nred = numel(s->ni, s->is);
}

/* Offset in x of kept index o and reduced index r (both row-major over their dims). */
static int64_t red_offset(const struct red_split *s, int64_t o, int64_t r)
{
    int64_t c[CG_REF_MAX_RANK], off = 0;
    unravel(o, s->no, s->os, c);
    for (int i = 0; i < s->no; i++)
        off += c[i] * s->ost[i];
    unravel(r, s->ni, s->is, c);
    for (int i = 0; i < s->ni; i++)
        off += c[i] * s->ist[i];
    return off;
}

void cg_ref_reduce(enum cg_op_id op, const double *x, int rank, const int64_t *xs,
                   const int *mask, int unbiased, double *y)
{
    struct red_split s;
    red_split_init(&s, rank, xs, mask);
    for (int64_t o = 0; o < s.nout; o++) {
        double acc = 0, m;
        switch (op) {
        case CG_OP_sum:
        case CG_OP_mean:
            for (int64_t r = 0; r < s.nred; r++)
                acc += x[red_offset(&s, o, r)];
            y[o] = op == CG_OP_sum ? acc : acc / (double)s.nred;
            break;
        case CG_OP_max:
        case CG_OP_min:
            acc = op == CG_OP_max ? -INFINITY : INFINITY;
            for (int64_t r = 0; r < s.nred; r++) {
                double v = x[red_offset(&s, o, r)];
                if (isnan(v) || (op == CG_OP_max ? v > acc : v < acc))
                    acc = v;
                if (isnan(acc))
                    break;
            }
            y[o] = acc;
            break;
        case CG_OP_logsumexp:
            m = -INFINITY;
            for (int64_t r = 0; r < s.nred; r++)
                m = fmax(m, x[red_offset(&s, o, r)]);
            if (isinf(m)) { /* all -inf, or some +inf */
                y[o] = m;
                break;
            }
            for (int64_t r = 0; r < s.nred; r++)
                acc += exp(x[red_offset(&s, o, r)] - m);
            y[o] = m + log(acc);
            break;
        case CG_OP_var:
            for (int64_t r = 0; r < s.nred; r++)
                acc += x[red_offset(&s, o, r)];
            m = acc / (double)s.nred;
            acc = 0;
            for (int64_t r = 0; r < s.nred; r++) {
                double d = x[red_offset(&s, o, r)] - m;
                acc += d * d;
            }
            y[o] = acc / (double)(s.nred - (unbiased ? 1 : 0));
            break;
        default:
            assert(!"cg_ref_reduce: not a reduction");
        }
    }
}

void cg_ref_argmax(const double *x, int rank, const int64_t *xs, const int *mask, int32_t *y)
{
    struct red_split s;
    red_split_init(&s, rank, xs, mask);
    for (int64_t o = 0; o < s.nout; o++) {
        int64_t best = 0;
        double bv = x[red_offset(&s, o, 0)];
        for (int64_t r = 1; r < s.nred && !isnan(bv); r++) {
            double v = x[red_offset(&s, o, r)];
            if (v > bv || isnan(v)) {
                bv = v;
                best = r;
            }
        }
        y[o] = (int32_t)best;
    }
}

/* ---- shape ops ----------------------------------------------------------------------------- */

void cg_ref_permute(const double *x, int rank, const int64_t *xs, const int *perm, double *y)
{
    int64_t st[CG_REF_MAX_RANK], ys[CG_REF_MAX_RANK], c[CG_REF_MAX_RANK];
    strides_of(rank, xs, st);
    for (int i = 0; i < rank; i++)
        ys[i] = xs[perm[i]];
    int64_t n = numel(rank, ys);
    for (int64_t f = 0; f < n; f++) {
        int64_t off = 0;
        unravel(f, rank, ys, c);
        for (int i = 0; i < rank; i++)
            off += c[i] * st[perm[i]];
        y[f] = x[off];
    }
}

void cg_ref_concat(int n, const double *const *xs, const int64_t *const *shapes, int rank,
                   int axis, double *y)
{
    /* View every tensor as [outer, size_i * inner]; y is [outer, total * inner]. */
    int64_t outer = 1, inner = 1, total = 0;
    for (int d = 0; d < axis; d++)
        outer *= shapes[0][d];
    for (int d = axis + 1; d < rank; d++)
        inner *= shapes[0][d];
    for (int i = 0; i < n; i++)
        total += shapes[i][axis];
    for (int64_t o = 0; o < outer; o++) {
        int64_t at = 0;
        for (int i = 0; i < n; i++) {
            int64_t row = shapes[i][axis] * inner;
            for (int64_t j = 0; j < row; j++)
                y[o * total * inner + at + j] = xs[i][o * row + j];
            at += row;
        }
    }
}

int64_t cg_ref_slice(const double *x, int rank, const int64_t *xs, int axis, int64_t start,
                     int64_t end, double *y)
{
    int64_t size = xs[axis], outer = 1, inner = 1;
    if (start < 0)
        start += size;
    if (end < 0)
        end += size;
    start = start < 0 ? 0 : start > size ? size : start;
    end = end < 0 ? 0 : end > size ? size : end;
    int64_t len = end > start ? end - start : 0;
    for (int d = 0; d < axis; d++)
        outer *= xs[d];
    for (int d = axis + 1; d < rank; d++)
        inner *= xs[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < len; i++)
            for (int64_t j = 0; j < inner; j++)
                y[(o * len + i) * inner + j] = x[(o * size + start + i) * inner + j];
    return len;
}

void cg_ref_gather(const double *x, int rank, const int64_t *xs, const int32_t *idx,
                   const int64_t *is, int axis, double *y)
{
    int64_t st[CG_REF_MAX_RANK], c[CG_REF_MAX_RANK];
    strides_of(rank, xs, st);
    int64_t n = numel(rank, is);
    for (int64_t f = 0; f < n; f++) {
        int64_t off = 0;
        unravel(f, rank, is, c);
        assert(idx[f] >= 0 && idx[f] < xs[axis]);
        c[axis] = idx[f];
        for (int i = 0; i < rank; i++)
            off += c[i] * st[i];
        y[f] = x[off];
    }
}

void cg_ref_one_hot(const int32_t *idx, int64_t m, int64_t n, double *y)
{
    for (int64_t i = 0; i < m; i++) {
        assert(idx[i] >= 0 && idx[i] < n);
        for (int64_t j = 0; j < n; j++)
            y[i * n + j] = j == idx[i] ? 1.0 : 0.0;
    }
}

void cg_ref_broadcast_to(const double *x, int rank, const int64_t *xs, int yrank,
                         const int64_t *ys, double *y)
{
    int64_t c[CG_REF_MAX_RANK];
    int64_t n = numel(yrank, ys);
    for (int64_t f = 0; f < n; f++) {
        unravel(f, yrank, ys, c);
        y[f] = x[bcast_offset(rank, xs, yrank, c)];
    }
}

/* ---- dense layers -------------------------------------------------------------------------- */

void cg_ref_linear(const double *x, int64_t rows, int64_t in, const double *w, int64_t out,
                   const double *b, double *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t i = 0; i < in; i++)
                acc += x[r * in + i] * w[o * in + i];
            y[r * out + o] = acc;
        }
}

/* matmul operands as [batch..., m, k] @ [batch..., k, n] (1-D operands promoted). */
struct mm_view {
    int ra, rb, rbatch;
    int64_t as[CG_REF_MAX_RANK], bs[CG_REF_MAX_RANK], batch[CG_REF_MAX_RANK];
    int64_t m, k, n;
};

static int mm_view_init(struct mm_view *v, int ra, const int64_t *as, int rb, const int64_t *bs)
{
    if (ra < 1 || rb < 1)
        return -1;
    if (ra == 1) {
        v->ra = 2;
        v->as[0] = 1;
        v->as[1] = as[0];
    } else {
        v->ra = ra;
        memcpy(v->as, as, sizeof(int64_t) * (size_t)ra);
    }
    if (rb == 1) {
        v->rb = 2;
        v->bs[0] = bs[0];
        v->bs[1] = 1;
    } else {
        v->rb = rb;
        memcpy(v->bs, bs, sizeof(int64_t) * (size_t)rb);
    }
    v->m = v->as[v->ra - 2];
    v->k = v->as[v->ra - 1];
    v->n = v->bs[v->rb - 1];
    if (v->k != v->bs[v->rb - 2])
        return -1;
    v->rbatch = cg_ref_broadcast_shape(v->ra - 2, v->as, v->rb - 2, v->bs, v->batch);
    return v->rbatch;
}

int cg_ref_matmul_shape(int ra, const int64_t *as, int rb, const int64_t *bs, int64_t *ys)
{
    struct mm_view v;
    if (mm_view_init(&v, ra, as, rb, bs) < 0)
        return -1;
    int r = v.rbatch;
    memcpy(ys, v.batch, sizeof(int64_t) * (size_t)r);
    if (ra > 1)
        ys[r++] = v.m;
    if (rb > 1)
        ys[r++] = v.n;
    return r > CG_REF_MAX_RANK ? -1 : r;
}

void cg_ref_matmul(const double *a, int ra, const int64_t *as, const double *b, int rb,
                   const int64_t *bs, double *y)
{
    struct mm_view v;
    int ok = mm_view_init(&v, ra, as, rb, bs);
    assert(ok >= 0);
    (void)ok;
    int64_t c[CG_REF_MAX_RANK];
    int64_t nbatch = numel(v.rbatch, v.batch);
    for (int64_t bi = 0; bi < nbatch; bi++) {
        unravel(bi, v.rbatch, v.batch, c);
        /* batch offsets in units of whole matrices */
        const double *am = a + bcast_offset(v.ra - 2, v.as, v.rbatch, c) * v.m * v.k;
        const double *bm = b + bcast_offset(v.rb - 2, v.bs, v.rbatch, c) * v.k * v.n;
        for (int64_t i = 0; i < v.m; i++)
            for (int64_t j = 0; j < v.n; j++) {
                double acc = 0;
                for (int64_t t = 0; t < v.k; t++)
                    acc += am[i * v.k + t] * bm[t * v.n + j];
                y[(bi * v.m + i) * v.n + j] = acc;
            }
    }
}

/* ---- convolutions and pooling -------------------------------------------------------------- */

void cg_ref_conv2d(const double *x, const int64_t xs[4], const double *w, const int64_t ws[4],
                   const double *b, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                   int64_t dw, int64_t groups, double *y)
{
    int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    int64_t O = ws[0], CG = ws[1], KH = ws[2], KW = ws[3];
    int64_t OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1;
    int64_t OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
    int64_t OG = O / groups;
    assert(CG * groups == C && OG * groups == O);
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            int64_t g = o / OG;
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = b ? b[o] : 0.0;
                    for (int64_t ci = 0; ci < CG; ci++)
                        for (int64_t ky = 0; ky < KH; ky++)
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t iy = oy * sh - ph + ky * dh;
                                int64_t ix = ox * sw - pw + kx * dw;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                int64_t c = g * CG + ci;
                                acc += x[((n * C + c) * H + iy) * W + ix] *
                                       w[((o * CG + ci) * KH + ky) * KW + kx];
                            }
                    y[((n * O + o) * OH + oy) * OW + ox] = acc;
                }
        }
}

void cg_ref_conv2d_grad_w(const double *x, const int64_t xs[4], const double *gy,
                          const int64_t gys[4], int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                          int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups,
                          double *gw)
{
    int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
    int64_t o = gys[1], oh = gys[2], ow = gys[3];
    int64_t cg = c / groups, og = o / groups;
    for (int64_t oc = 0; oc < o; oc++)
        for (int64_t ic = 0; ic < cg; ic++)
            for (int64_t u = 0; u < kh; u++)
                for (int64_t v = 0; v < kw; v++) {
                    double s = 0;
                    int64_t ci = oc / og * cg + ic;
                    for (int64_t b = 0; b < n; b++)
                        for (int64_t i = 0; i < oh; i++) {
                            int64_t y = i * sh - ph + u * dh;
                            if (y < 0 || y >= h)
                                continue;
                            for (int64_t j = 0; j < ow; j++) {
                                int64_t xx = j * sw - pw + v * dw;
                                if (xx >= 0 && xx < w)
                                    s += gy[((b * o + oc) * oh + i) * ow + j] *
                                         x[((b * c + ci) * h + y) * w + xx];
                            }
                        }
                    gw[((oc * cg + ic) * kh + u) * kw + v] = s;
                }
}

/* Written as the scatter that defines it: input pixel (iy, ix) of channel c adds
 * x * w[c, oc, ky, kx] to output (iy*sh - ph + ky*dh, ix*sw - pw + kx*dw). */
void cg_ref_conv_transpose2d(const double *x, const int64_t xs[4], const double *w,
                             const int64_t ws[4], const double *b, int64_t sh, int64_t sw,
                             int64_t ph, int64_t pw, int64_t oph, int64_t opw, int64_t dh,
                             int64_t dw, int64_t groups, double *y)
{
    int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    int64_t OG = ws[1], KH = ws[2], KW = ws[3];
    int64_t O = OG * groups, CG = C / groups;
    int64_t OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1;
    int64_t OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1;
    assert(ws[0] == C && CG * groups == C);
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < OH * OW; i++)
                y[(n * O + o) * OH * OW + i] = b ? b[o] : 0.0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t g = c / CG;
            for (int64_t iy = 0; iy < H; iy++)
                for (int64_t ix = 0; ix < W; ix++) {
                    double v = x[((n * C + c) * H + iy) * W + ix];
                    for (int64_t oc = 0; oc < OG; oc++)
                        for (int64_t ky = 0; ky < KH; ky++)
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t oy = iy * sh - ph + ky * dh;
                                int64_t ox = ix * sw - pw + kx * dw;
                                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW)
                                    continue;
                                int64_t o = g * OG + oc;
                                y[((n * O + o) * OH + oy) * OW + ox] +=
                                    v * w[((c * OG + oc) * KH + ky) * KW + kx];
                            }
                }
        }
}

int64_t cg_ref_pool_out(int64_t n, int64_t k, int64_t s, int64_t p)
{
    return (n + 2 * p - k) / s + 1;
}

static void pool2d(int is_max, const double *x, const int64_t xs[4], int64_t kh, int64_t kw,
                   int64_t sh, int64_t sw, int64_t ph, int64_t pw, double *y)
{
    int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3];
    int64_t OH = cg_ref_pool_out(H, kh, sh, ph), OW = cg_ref_pool_out(W, kw, sw, pw);
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t y0 = oy * sh - ph, x0 = ox * sw - pw;
                double acc = is_max ? -INFINITY : 0.0;
                for (int64_t iy = y0; iy < y0 + kh; iy++)
                    for (int64_t ix = x0; ix < x0 + kw; ix++) {
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            continue;
                        double v = x[(p * H + iy) * W + ix];
                        if (!is_max)
                            acc += v;
                        else if (v > acc || isnan(v))
                            acc = v;
                    }
                if (!is_max) { /* PyTorch's divisor: the window clipped to the padded input */
                    int64_t y1 = y0 + kh < H + ph ? y0 + kh : H + ph;
                    int64_t x1 = x0 + kw < W + pw ? x0 + kw : W + pw;
                    acc /= (double)((y1 - y0) * (x1 - x0));
                }
                y[(p * OH + oy) * OW + ox] = acc;
            }
}

void cg_ref_max_pool2d(const double *x, const int64_t xs[4], int64_t kh, int64_t kw, int64_t sh,
                       int64_t sw, int64_t ph, int64_t pw, double *y)
{
    pool2d(1, x, xs, kh, kw, sh, sw, ph, pw, y);
}

void cg_ref_avg_pool2d(const double *x, const int64_t xs[4], int64_t kh, int64_t kw, int64_t sh,
                       int64_t sw, int64_t ph, int64_t pw, double *y)
{
    pool2d(0, x, xs, kh, kw, sh, sw, ph, pw, y);
}

void cg_ref_upsample_nearest(const double *x, const int64_t xs[4], int64_t scale, double *y)
{
    int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], OH = H * scale, OW = W * scale;
    for (int64_t p = 0; p < NC; p++)
        for (int64_t i = 0; i < OH; i++)
            for (int64_t j = 0; j < OW; j++)
                y[(p * OH + i) * OW + j] = x[(p * H + i / scale) * W + j / scale];
}

/* ---- along-an-axis ops --------------------------------------------------------------------- */

/* x viewed as [outer, len, inner] around axis. */
static void axis_split(int rank, const int64_t *xs, int axis, int64_t *outer, int64_t *len,
                       int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++)
        *outer *= xs[d];
    for (int d = axis + 1; d < rank; d++)
        *inner *= xs[d];
    *len = xs[axis];
}

#define AXIS_AT(o, i, j) (((o) * len + (i)) * inner + (j))

static void softmax_impl(int logp, const double *x, int rank, const int64_t *xs, int axis,
                         double *y)
{
    int64_t outer, len, inner;
    axis_split(rank, xs, axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double m = -INFINITY, s = 0;
            for (int64_t i = 0; i < len; i++)
                m = fmax(m, x[AXIS_AT(o, i, j)]);
            for (int64_t i = 0; i < len; i++)
                s += exp(x[AXIS_AT(o, i, j)] - m);
            for (int64_t i = 0; i < len; i++) {
                double d = x[AXIS_AT(o, i, j)] - m;
                y[AXIS_AT(o, i, j)] = logp ? d - log(s) : exp(d) / s;
            }
        }
}

void cg_ref_softmax(const double *x, int rank, const int64_t *xs, int axis, double *y)
{
    softmax_impl(0, x, rank, xs, axis, y);
}

void cg_ref_log_softmax(const double *x, int rank, const int64_t *xs, int axis, double *y)
{
    softmax_impl(1, x, rank, xs, axis, y);
}

void cg_ref_l2_normalize(const double *x, int rank, const int64_t *xs, int axis, double eps,
                         double *y)
{
    int64_t outer, len, inner;
    axis_split(rank, xs, axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double s = 0;
            for (int64_t i = 0; i < len; i++)
                s += x[AXIS_AT(o, i, j)] * x[AXIS_AT(o, i, j)];
            double d = fmax(sqrt(s), eps);
            for (int64_t i = 0; i < len; i++)
                y[AXIS_AT(o, i, j)] = x[AXIS_AT(o, i, j)] / d;
        }
}

void cg_ref_entropy(const double *p, int rank, const int64_t *ps, int axis, double *y)
{
    int64_t outer, len, inner;
    axis_split(rank, ps, axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double s = 0;
            for (int64_t i = 0; i < len; i++) {
                double v = p[AXIS_AT(o, i, j)];
                if (v != 0)
                    s -= v * log(v);
            }
            y[o * inner + j] = s;
        }
}

#undef AXIS_AT

/* ---- classification losses ----------------------------------------------------------------- */

static double row_logsumexp(const double *row, int64_t c)
{
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < c; j++)
        m = fmax(m, row[j]);
    if (isinf(m))
        return m;
    for (int64_t j = 0; j < c; j++)
        s += exp(row[j] - m);
    return m + log(s);
}

double cg_ref_cross_entropy(const double *logits, int64_t n, int64_t c, const int32_t *y)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        assert(y[i] >= 0 && y[i] < c);
        s += row_logsumexp(logits + i * c, c) - logits[i * c + y[i]];
    }
    return s / (double)n;
}

double cg_ref_nll(const double *logp, int64_t n, int64_t c, const int32_t *y)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        assert(y[i] >= 0 && y[i] < c);
        s -= logp[i * c + y[i]];
    }
    return s / (double)n;
}

double cg_ref_accuracy(const double *logits, int64_t n, int64_t c, const int32_t *y)
{
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < c; j++)
            if (logits[i * c + j] > logits[i * c + best])
                best = j;
        hits += best == y[i];
    }
    return (double)hits / (double)n;
}

double cg_ref_mse(const double *a, int ra, const int64_t *as, const double *b, int rb,
                  const int64_t *bs)
{
    int64_t ys[CG_REF_MAX_RANK], c[CG_REF_MAX_RANK];
    int r = cg_ref_broadcast_shape(ra, as, rb, bs, ys);
    assert(r >= 0);
    int64_t n = numel(r, ys);
    double s = 0;
    for (int64_t f = 0; f < n; f++) {
        unravel(f, r, ys, c);
        double d = a[bcast_offset(ra, as, r, c)] - b[bcast_offset(rb, bs, r, c)];
        s += d * d;
    }
    return s / (double)n;
}

/* ---- SSIM ---------------------------------------------------------------------------------- */

/* The 1-D Gaussian window, normalised: g[u] = exp(-(u - win/2)^2 / (2 sigma^2)) / sum. */
static double gauss_at(int64_t u, int64_t win, double sigma, double sum)
{
    double t = (double)(u - win / 2);
    return exp(-(t * t) / (2 * sigma * sigma)) / sum;
}

static double gauss_sum(int64_t win, double sigma)
{
    double s = 0;
    for (int64_t u = 0; u < win; u++)
        s += gauss_at(u, win, sigma, 1.0);
    return s;
}

/* SSIM of one channel plane a, b [h, w]: the spatial means of the ssim map and the cs map. */
static void ssim_plane(const double *a, const double *b, int64_t h, int64_t w, int64_t win,
                       double sigma, double c1, double c2, double *ssim, double *cs)
{
    double gs = gauss_sum(win, sigma), ssum = 0, csum = 0;
    int64_t oh = h - win + 1, ow = w - win + 1;
    for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) {
            double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
            for (int64_t u = 0; u < win; u++)
                for (int64_t v = 0; v < win; v++) {
                    double g = gauss_at(u, win, sigma, gs) * gauss_at(v, win, sigma, gs);
                    double va = a[(i + u) * w + j + v], vb = b[(i + u) * w + j + v];
                    ma += g * va;
                    mb += g * vb;
                    saa += g * va * va;
                    sbb += g * vb * vb;
                    sab += g * va * vb;
                }
            saa -= ma * ma;
            sbb -= mb * mb;
            sab -= ma * mb;
            double csv = (2 * sab + c2) / (saa + sbb + c2);
            ssum += (2 * ma * mb + c1) / (ma * ma + mb * mb + c1) * csv;
            csum += csv;
        }
    *ssim = ssum / (double)(oh * ow);
    *cs = csum / (double)(oh * ow);
}

void cg_ref_ssim(const double *a, const double *b, const int64_t xs[4], int64_t win,
                 double sigma, double k1, double k2, double range, double *y)
{
    int64_t N = xs[0], C = xs[1], HW = xs[2] * xs[3];
    double c1 = (k1 * range) * (k1 * range), c2 = (k2 * range) * (k2 * range);
    for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int64_t c = 0; c < C; c++) {
            double sv, csv;
            ssim_plane(a + (n * C + c) * HW, b + (n * C + c) * HW, xs[2], xs[3], win, sigma,
                       c1, c2, &sv, &csv);
            s += sv;
        }
        y[n] = s / (double)C;
    }
}

/* F.avg_pool2d(x, 2, stride 2, padding (h % 2, w % 2)) of planes [p, h, w] -> [p, oh, ow]. */
static void ms_ssim_down(const double *x, int64_t p, int64_t h, int64_t w, double *y)
{
    int64_t xs[4] = {1, p, h, w};
    cg_ref_avg_pool2d(x, xs, 2, 2, 2, 2, h % 2, w % 2, y);
}

enum cg_status cg_ref_ms_ssim(const double *a, const double *b, const int64_t xs[4],
                              int64_t scales, const double *weights, int64_t win, double sigma,
                              double k1, double k2, double range, double *y)
{
    static const double standard[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
    int64_t N = xs[0], C = xs[1], h = xs[2], w = xs[3], P = N * C;
    double c1 = (k1 * range) * (k1 * range), c2 = (k2 * range) * (k2 * range);
    double wt[8], wsum = 0;
    enum cg_status st = CG_ERR_NOMEM;
    assert(scales >= 1 && scales <= 8 && (weights || scales <= 5));
    for (int64_t s = 0; s < scales; s++)
        wsum += weights ? 0.0 : standard[s];
    for (int64_t s = 0; s < scales; s++)
        wt[s] = weights ? weights[s] : standard[s] / wsum;

    size_t plane = (size_t)(P * h * w);
    double *val = cg_malloc(sizeof(double) * (size_t)P);
    double *buf = cg_malloc(sizeof(double) * 4 * plane); /* a, b at this scale; a, b next */
    if (!val || !buf)
        goto error;
    memcpy(buf, a, sizeof(double) * plane);
    memcpy(buf + plane, b, sizeof(double) * plane);
    for (int64_t p = 0; p < P; p++)
        val[p] = 1.0;
    double *ca = buf, *cb = buf + plane, *na = buf + 2 * plane, *nb = buf + 3 * plane;
    for (int64_t s = 0; s < scales; s++) {
        for (int64_t p = 0; p < P; p++) {
            double sv, csv;
            ssim_plane(ca + p * h * w, cb + p * h * w, h, w, win, sigma, c1, c2, &sv, &csv);
            double v = s < scales - 1 ? csv : sv;
            val[p] *= pow(v > 0 ? v : 0.0, wt[s]);
        }
        if (s < scales - 1) {
            ms_ssim_down(ca, P, h, w, na);
            ms_ssim_down(cb, P, h, w, nb);
            h = (h + 1) / 2;
            w = (w + 1) / 2;
            double *t = ca;
            ca = na;
            na = t;
            t = cb;
            cb = nb;
            nb = t;
        }
    }
    for (int64_t n = 0; n < N; n++) {
        double m = 0;
        for (int64_t c = 0; c < C; c++)
            m += val[n * C + c];
        y[n] = m / (double)C;
    }
    st = CG_OK;
error:
    cg_free(val);
    cg_free(buf);
    return st;
}

/* ---- other losses and distances ------------------------------------------------------------ */

void cg_ref_kl_std_normal(const double *mu, const double *logvar, int64_t n, int64_t d,
                          double *y)
{
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) {
            double m = mu[i * d + j], lv = logvar[i * d + j];
            s += exp(lv) + m * m - 1 - lv;
        }
        y[i] = 0.5 * s;
    }
}

/* Row i of concat(za, zb). */
static const double *nce_row(const double *za, const double *zb, int64_t n, int64_t d, int64_t i)
{
    return i < n ? za + i * d : zb + (i - n) * d;
}

/* Cosine similarity of rows i and j of concat(za, zb), norms clamped at 1e-12. */
static double nce_cos(const double *za, const double *zb, int64_t n, int64_t d, int64_t i,
                      int64_t j)
{
    const double *u = nce_row(za, zb, n, d, i), *v = nce_row(za, zb, n, d, j);
    double uv = 0, uu = 0, vv = 0;
    for (int64_t k = 0; k < d; k++) {
        uv += u[k] * v[k];
        uu += u[k] * u[k];
        vv += v[k] * v[k];
    }
    return (uv / fmax(sqrt(uu), 1e-12)) / fmax(sqrt(vv), 1e-12);
}

double cg_ref_info_nce(const double *za, const double *zb, int64_t n, int64_t d,
                       double temperature)
{
    double total = 0;
    for (int64_t i = 0; i < 2 * n; i++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < 2 * n; j++)
            if (j != i)
                m = fmax(m, nce_cos(za, zb, n, d, i, j) / temperature);
        for (int64_t j = 0; j < 2 * n; j++)
            if (j != i)
                s += exp(nce_cos(za, zb, n, d, i, j) / temperature - m);
        total += m + log(s) - nce_cos(za, zb, n, d, i, (i + n) % (2 * n)) / temperature;
    }
    return total / (double)(2 * n);
}

void cg_ref_pairwise_sqdist(const double *a, int64_t n, const double *b, int64_t m, int64_t d,
                            double *y)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double s = 0;
            for (int64_t k = 0; k < d; k++) {
                double t = a[i * d + k] - b[j * d + k];
                s += t * t;
            }
            y[i * m + j] = s;
        }
}

/* ---- crops --------------------------------------------------------------------------------- */

int64_t cg_ref_crop_side(int64_t n, int64_t size, int64_t stride)
{
    return (n - size) / stride + 1;
}

/* Copies window g of image x[n] (all channels) to out [C, size, size]. */
static void crop_one(const double *x, const int64_t xs[4], int64_t n, int64_t g, int64_t size,
                     int64_t stride, double *out)
{
    int64_t C = xs[1], H = xs[2], W = xs[3], gw = cg_ref_crop_side(W, size, stride);
    int64_t y0 = (g / gw) * stride, x0 = (g % gw) * stride;
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < size; i++)
            for (int64_t j = 0; j < size; j++)
                out[(c * size + i) * size + j] = x[((n * C + c) * H + y0 + i) * W + x0 + j];
}

void cg_ref_crop_grid(const double *x, const int64_t xs[4], const int32_t *idx, int64_t k,
                      int64_t size, int64_t stride, double *y)
{
    int64_t cells = cg_ref_crop_side(xs[2], size, stride) * cg_ref_crop_side(xs[3], size, stride);
    int64_t crop = xs[1] * size * size;
    for (int64_t n = 0; n < xs[0]; n++)
        for (int64_t j = 0; j < k; j++) {
            assert(idx[n * k + j] >= 0 && idx[n * k + j] < cells);
            crop_one(x, xs, n, idx[n * k + j], size, stride, y + (n * k + j) * crop);
        }
    (void)cells;
}

void cg_ref_crop_all(const double *x, const int64_t xs[4], int64_t size, int64_t stride,
                     double *y)
{
    int64_t cells = cg_ref_crop_side(xs[2], size, stride) * cg_ref_crop_side(xs[3], size, stride);
    int64_t crop = xs[1] * size * size;
    for (int64_t n = 0; n < xs[0]; n++)
        for (int64_t g = 0; g < cells; g++)
            crop_one(x, xs, n, g, size, stride, y + (n * cells + g) * crop);
}
