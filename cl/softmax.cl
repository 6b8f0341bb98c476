/* softmax.cl: softmax, log_softmax and l2_normalize along one axis, and l2_normalize_grad.
 *
 * x is viewed as [OUTER, C, INNER] (C the axis); a row is the C elements (o, :, i), ROWS =
 * OUTER * INNER. Specialised by -D: OUTER, C, INNER, OP_<name>, EPS (l2_normalize), and GROUP:
 * 1 runs one work-group of LWS items per row with local-memory trees (long rows), 0 one
 * work-item per row. Numerically stable: softmax and log_softmax subtract the row maximum;
 * sums are compensated within an item and pairwise across the group, in float. */

#ifndef OUTER
#define OUTER 1
#endif
#ifndef C
#define C 1
#endif
#ifndef INNER
#define INNER 1
#endif
#ifndef EPS
#define EPS 1e-12f
#endif
#ifndef GROUP
#define GROUP 0
#endif
#ifndef LWS
#define LWS 64
#endif

#define ROWS (OUTER * INNER)

#if GROUP
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

inline float group_max(float v, __local float *buf, uint t)
{
    buf[t] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (t < s)
            buf[t] = fmax(buf[t], buf[t + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
#define GSUM(v) group_sum((v), sbuf, t)
#define GMAX(v) group_max((v), sbuf, t)
#define ROW_SETUP                                                                                  \
    __local float sbuf[LWS];                                                                       \
    uint row = get_group_id(0), t = get_local_id(0), step = LWS;
#else
#define GSUM(v) (v)
#define GMAX(v) (v)
#define ROW_SETUP uint row = get_global_id(0), t = 0, step = 1;
#endif

/* Kahan step: adds v to (s, comp). */
#define KAHAN(s, comp, v)                                                                          \
    {                                                                                              \
        float y_ = (v) - comp, t_ = s + y_;                                                        \
        comp = isfinite(t_) ? (t_ - s) - y_ : 0.0f;                                                \
        s = t_;                                                                                    \
    }

/* Offset of row `row`'s first element; its elements are INNER apart. */
inline uint row_base(uint row)
{
    return (row / INNER) * (C * INNER) + row % INNER;
}

/* Sum over this item's share of the row of x^2 (mode 0) or gy * x (mode 1). */
inline float part_dot(__global const float *x, __global const float *gy, uint base, uint t,
                      uint step, int mode)
{
    float s = 0.0f, comp = 0.0f;
    for (uint c = t; c < C; c += step) {
        float v = x[base + c * INNER];
        KAHAN(s, comp, mode ? gy[base + c * INNER] * v : v * v);
    }
    return s;
}

__kernel void softmax_fwd(__global const float *x, uint x_off, __global float *y, uint y_off)
{
    ROW_SETUP
    if (row >= ROWS) /* uniform over a work-group in GROUP mode */
        return;
    x += x_off;
    y += y_off;
    uint base = row_base(row);
#if defined(OP_l2_normalize)
    float n = sqrt(GSUM(part_dot(x, x, base, t, step, 0)));
    float inv = 1.0f / fmax(n, EPS);
    for (uint c = t; c < C; c += step)
        y[base + c * INNER] = x[base + c * INNER] * inv;
#else
    float m = -INFINITY;
    for (uint c = t; c < C; c += step) {
        float v = x[base + c * INNER];
        m = (v > m || isnan(v)) ? v : m;
    }
    m = GMAX(m);
    float s = 0.0f, comp = 0.0f;
    for (uint c = t; c < C; c += step)
        KAHAN(s, comp, exp(x[base + c * INNER] - m));
    s = GSUM(s);
#if defined(OP_log_softmax)
    float ls = m + log(s);
    for (uint c = t; c < C; c += step)
        y[base + c * INNER] = x[base + c * INNER] - ls;
#else
    float inv = 1.0f / s;
    for (uint c = t; c < C; c += step)
        y[base + c * INNER] = exp(x[base + c * INNER] - m) * inv;
#endif
#endif
}

/* Gradient of l2_normalize: with n = ||x|| and y = x / n, gx = (gy - y sum(gy y)) / n when
 * n > EPS, else gy / EPS (the clamp is constant there). */
__kernel void l2_normalize_grad(__global const float *x, uint x_off, __global const float *gy,
                                uint gy_off, __global float *gx, uint gx_off)
{
    ROW_SETUP
    if (row >= ROWS)
        return;
    x += x_off;
    gy += gy_off;
    gx += gx_off;
    uint base = row_base(row);
    float n = sqrt(GSUM(part_dot(x, x, base, t, step, 0)));
    float d = GSUM(part_dot(x, gy, base, t, step, 1)); /* sum(gy x) = n sum(gy y) */
    if (n > EPS) {
        float inv = 1.0f / n, k = d * inv * inv;
        for (uint c = t; c < C; c += step) {
            uint i = base + c * INNER;
            gx[i] = (gy[i] - x[i] * k) * inv;
        }
    } else {
        for (uint c = t; c < C; c += step)
            gx[base + c * INNER] = gy[base + c * INNER] * (1.0f / EPS);
    }
}
