/* reduce.cl: reductions (sum mean max min logsumexp var argmax), sum_to and reduce_grad.
 *
 * The host (src/exec/lower_reduce.c) describes x, a dense row-major tensor, as groups of
 * adjacent dims that are either all kept or all reduced (size-1 dims dropped), so any axis set
 * works without a permute copy:
 *   NK, KD<j>, KS<j>   kept groups, outermost first: sizes and element strides in x;
 *   NR, RD<j>, RS<j>   reduced groups, likewise;
 *   M                  output elements (the product of the kept sizes; the output layout is the
 *                      kept dims in order, whatever keepdims);
 *   K                  elements reduced into each output;
 *   NG, GD<j>, GR<j>   every group in order with a flag (1 = reduced), for reduce_grad;
 *   N                  elements of x (reduce_grad);
 *   OP_<name>          the reduction: sum mean max min logsumexp var argmax, or tiecount (the
 *                      number of elements equal to aux[o], for the max/min gradient);
 *   UNBIASED           var's divisor is K - UNBIASED;
 *   GROUP              1: one work-group of LWS items per output element with a local-memory
 *                      tree (large K); 0: one work-item per output element (small K).
 * Sums are compensated (Kahan, four interleaved partial sums) within a work-item and pairwise
 * across the work-group, all in float. max/min/argmax treat NaN as the largest (smallest) value
 * and propagate it, as torch; argmax returns the first maximal index counted row-major over the
 * reduced dims. */

#ifndef M
#define M 1
#endif
#ifndef K
#define K 1
#endif
#ifndef N
#define N 1
#endif
#ifndef NK
#define NK 0
#endif
#ifndef NR
#define NR 0
#endif
#ifndef NG
#define NG 0
#endif
#ifndef UNBIASED
#define UNBIASED 0
#endif
#ifndef GROUP
#define GROUP 0
#endif
#ifndef LWS
#define LWS 64
#endif

/* Offset in x of the first element reduced into output o. */
#define RD_KSTEP(j)                                                                                \
    {                                                                                              \
        uint r_ = o_ % KD##j;                                                                      \
        o_ /= KD##j;                                                                               \
        b_ += r_ * KS##j;                                                                          \
    }
inline uint kept_off(uint o)
{
    uint o_ = o, b_ = 0;
#if NK > 7
    RD_KSTEP(7)
#endif
#if NK > 6
    RD_KSTEP(6)
#endif
#if NK > 5
    RD_KSTEP(5)
#endif
#if NK > 4
    RD_KSTEP(4)
#endif
#if NK > 3
    RD_KSTEP(3)
#endif
#if NK > 2
    RD_KSTEP(2)
#endif
#if NK > 1
    RD_KSTEP(1)
#endif
#if NK > 0
    RD_KSTEP(0)
#endif
    return b_;
}

/* Offset in x of the k-th reduced element (row-major over the reduced dims). */
#define RD_RSTEP(j)                                                                                \
    {                                                                                              \
        uint r_ = k_ % RD##j;                                                                      \
        k_ /= RD##j;                                                                               \
        b_ += r_ * RS##j;                                                                          \
    }
inline uint red_off(uint k)
{
#if NR == 0
    return 0;
#elif NR == 1
    return k * RS0;
#else
    uint k_ = k, b_ = 0;
#if NR > 7
    RD_RSTEP(7)
#endif
#if NR > 6
    RD_RSTEP(6)
#endif
#if NR > 5
    RD_RSTEP(5)
#endif
#if NR > 4
    RD_RSTEP(4)
#endif
#if NR > 3
    RD_RSTEP(3)
#endif
#if NR > 2
    RD_RSTEP(2)
#endif
    RD_RSTEP(1)
    RD_RSTEP(0)
    return b_;
#endif
}

/* Output index of x's element i (drops the reduced dims). */
#define RD_GSTEP(j)                                                                                \
    {                                                                                              \
        uint r_ = i_ % GD##j;                                                                      \
        i_ /= GD##j;                                                                               \
        if (!GR##j) {                                                                              \
            o_ += r_ * s_;                                                                         \
            s_ *= GD##j;                                                                           \
        }                                                                                          \
    }
inline uint out_index(uint i)
{
    uint i_ = i, o_ = 0, s_ = 1;
#if NG > 7
    RD_GSTEP(7)
#endif
#if NG > 6
    RD_GSTEP(6)
#endif
#if NG > 5
    RD_GSTEP(5)
#endif
#if NG > 4
    RD_GSTEP(4)
#endif
#if NG > 3
    RD_GSTEP(3)
#endif
#if NG > 2
    RD_GSTEP(2)
#endif
#if NG > 1
    RD_GSTEP(1)
#endif
#if NG > 0
    RD_GSTEP(0)
#endif
    return o_;
}

/* f(x) of part_sum: mode 0 x, 1 (x - c)^2, 2 exp(x - c), 3 (x == c). */
inline float part_f(float v, int mode, float c)
{
    if (mode == 1) {
        v -= c;
        v *= v;
    } else if (mode == 2) {
        v = exp(v - c);
    } else if (mode == 3) {
        v = v == c ? 1.0f : 0.0f;
    }
    return v;
}

/* Adds v to the compensated (Kahan) sum *s with compensation *comp (the sum is *s - *comp). */
inline void kahan_add(float *s, float *comp, float v)
{
    float yk = v - *comp, tt = *s + yk;
    *comp = isfinite(tt) ? (tt - *s) - yk : 0.0f;
    *s = tt;
}

/* This item's compensated sum over reduced elements t, t+step, ... of part_f(x): four
 * independent Kahan sums over k = t + 4 m step + q step (q < 4), so that four dependency chains
 * run side by side, added pairwise at the end. */
inline float part_sum(__global const float *x, uint base, uint t, uint step, int mode, float c)
{
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f}, comp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    uint k = t;
    for (; k + 3 * step < K; k += 4 * step) {
#pragma unroll
        for (int q = 0; q < 4; q++)
            kahan_add(&s[q], &comp[q], part_f(x[base + red_off(k + q * step)], mode, c));
    }
    for (int q = 0; k < K; k += step, q++)
        kahan_add(&s[q], &comp[q], part_f(x[base + red_off(k)], mode, c));
    return ((s[0] - comp[0]) + (s[1] - comp[1])) + ((s[2] - comp[2]) + (s[3] - comp[3]));
}

/* Whether (v, k) beats the best so far (m, km): larger (min: smaller), NaN beats numbers, ties
 * go to the smaller index. */
inline int better(float v, uint k, float m, uint km)
{
#if defined(OP_min)
    if (v < m)
        return 1;
#else
    if (v > m)
        return 1;
#endif
    if (isnan(v))
        return !isnan(m) || k < km;
    if (isnan(m))
        return 0;
    return v == m && k < km;
}

inline void part_best(__global const float *x, uint base, uint t, uint step, float *m, uint *km)
{
#if defined(OP_min)
    float bm = INFINITY;
#else
    float bm = -INFINITY;
#endif
    uint bk = 0xffffffffu;
    for (uint k = t; k < K; k += step) {
        float v = x[base + red_off(k)];
        if (better(v, k, bm, bk)) {
            bm = v;
            bk = k;
        }
    }
    *m = bm;
    *km = bk;
}

#if GROUP
/* Pairwise sum of v over the work-group; every item gets the total. */
inline float group_sum(float v, __local float *buf, uint t)
{
    buf[t] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (t < s)
            buf[t] += buf[t + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline void group_best(float *m, uint *km, __local float *buf, __local uint *kbuf, uint t)
{
    buf[t] = *m;
    kbuf[t] = *km;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (t < s && better(buf[t + s], kbuf[t + s], buf[t], kbuf[t])) {
            buf[t] = buf[t + s];
            kbuf[t] = kbuf[t + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    *m = buf[0];
    *km = kbuf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
}
#define GSUM(v) group_sum((v), sbuf, t)
#else
#define GSUM(v) (v)
#endif

/* y[o] = reduction of x over the reduced dims at output o. aux: tiecount's reference values
 * (other ops ignore it). argmax writes int32. */
__kernel void reduce(__global const float *x, uint x_off, __global const float *aux, uint aux_off,
                     __global float *y, uint y_off)
{
#if GROUP
    __local float sbuf[LWS];
    __local uint kbuf[LWS];
    uint o = get_group_id(0), t = get_local_id(0), step = LWS;
#else
    uint o = get_global_id(0), t = 0, step = 1;
#endif
    if (o >= M) /* uniform over a work-group in GROUP mode */
        return;
    x += x_off;
    uint base = kept_off(o);
    float r;
#if defined(OP_sum) || defined(OP_mean) || defined(OP_var)
    float s = GSUM(part_sum(x, base, t, step, 0, 0.0f));
#if defined(OP_sum)
    r = s;
#elif defined(OP_mean)
    r = s / (float)K;
#else
    float mean = s / (float)K;
    r = GSUM(part_sum(x, base, t, step, 1, mean)) / (float)((int)K - UNBIASED);
#endif
#elif defined(OP_tiecount)
    r = GSUM(part_sum(x, base, t, step, 3, aux[aux_off + o]));
#else
    float m;
    uint km;
    part_best(x, base, t, step, &m, &km);
#if GROUP
    group_best(&m, &km, sbuf, kbuf, t);
#endif
#if defined(OP_argmax)
    if (t == 0)
        ((__global int *)y)[y_off + o] = km < K ? (int)km : 0;
    return;
#elif defined(OP_logsumexp)
    r = isinf(m) ? m : m + log(GSUM(part_sum(x, base, t, step, 2, m)));
#else
    r = m;
#endif
#endif
    if (t == 0)
        y[y_off + o] = r;
}

/* Gradient of the reduction OP_<name> with respect to x, one item per element of x: y, gy at
 * the output index; aux: the tie counts (max, min) or the means (var). max/min split gy evenly
 * among the elements equal to the result (torch's amax/amin and full max/min rule). */
__kernel void reduce_grad(__global const float *x, uint x_off, __global const float *y,
                          uint y_off, __global const float *gy, uint gy_off,
                          __global const float *aux, uint aux_off, __global float *gx,
                          uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint o = out_index(i);
    float g = gy[gy_off + o], r;
#if defined(OP_mean)
    r = g / (float)K;
#elif defined(OP_max) || defined(OP_min)
    r = x[x_off + i] == y[y_off + o] ? g / aux[aux_off + o] : 0.0f;
#elif defined(OP_logsumexp)
    r = g * exp(x[x_off + i] - y[y_off + o]);
#elif defined(OP_var)
    r = g * 2.0f * (x[x_off + i] - aux[aux_off + o]) / (float)((int)K - UNBIASED);
#else
    r = g;
#endif
    gx[gx_off + i] = r;
}
