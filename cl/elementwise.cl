/* elementwise.cl: constants, unary ops and broadcasting binary ops, and their gradients.
 * Specialised by -D: N (element count), OP_<name> (which op), P0/P1 (op parameters), and for
 * broadcasting RANK, D<k> (output dims), SA<k>/SB<k> (input strides, 0 where broadcast). One
 * work-item per output element. */

#ifndef N
#define N 1
#endif
#ifndef VALUE
#define VALUE 0.0f
#endif
#ifndef P0
#define P0 0.0f
#endif
#ifndef P1
#define P1 0.0f
#endif
#ifndef WHICH
#define WHICH 0
#endif

__kernel void ew_const(__global float *y, uint y_off)
{
    y[y_off] = VALUE;
}

inline float unary_f(float x)
{
#if defined(OP_neg)
    return -x;
#elif defined(OP_exp)
    return exp(x);
#elif defined(OP_log)
    return log(x);
#elif defined(OP_sqrt)
    return sqrt(x);
#elif defined(OP_rsqrt)
    return rsqrt(x);
#elif defined(OP_abs)
    return fabs(x);
#elif defined(OP_square)
    return x * x;
#elif defined(OP_pow)
    return pow(x, P0);
#elif defined(OP_relu)
    return x > 0.0f ? x : 0.0f;
#elif defined(OP_leaky_relu)
    return x > 0.0f ? x : x * P0;
#elif defined(OP_sigmoid)
    return 1.0f / (1.0f + exp(-x));
#elif defined(OP_tanh)
    return tanh(x);
#elif defined(OP_softplus)
    return x * P0 > P1 ? x : log1p(exp(x * P0)) / P0;
#elif defined(OP_clamp)
    return fmin(fmax(x, P0), P1);
#else
    return x;
#endif
}

/* d unary_f / dx, given x and y = unary_f(x). */
inline float unary_d(float x, float y)
{
#if defined(OP_neg)
    return -1.0f;
#elif defined(OP_exp)
    return y;
#elif defined(OP_log)
    return 1.0f / x;
#elif defined(OP_sqrt)
    return 0.5f / y;
#elif defined(OP_rsqrt)
    return -0.5f * y * y * y;
#elif defined(OP_abs)
    return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
#elif defined(OP_square)
    return 2.0f * x;
#elif defined(OP_pow)
    return P0 * pow(x, P0 - 1.0f);
#elif defined(OP_relu)
    return x > 0.0f ? 1.0f : 0.0f;
#elif defined(OP_leaky_relu)
    return x > 0.0f ? 1.0f : P0;
#elif defined(OP_sigmoid)
    return y * (1.0f - y);
#elif defined(OP_tanh)
    return 1.0f - y * y;
#elif defined(OP_softplus)
    return x * P0 > P1 ? 1.0f : 1.0f / (1.0f + exp(-x * P0));
#elif defined(OP_clamp)
    return (x >= P0 && x <= P1) ? 1.0f : 0.0f;
#else
    return 1.0f;
#endif
}

__kernel void ew_unary(__global const float *x, uint x_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i < N)
        y[y_off + i] = unary_f(x[x_off + i]);
}

__kernel void ew_unary_grad(__global const float *x, uint x_off, __global const float *y,
                            uint y_off, __global const float *gy, uint gy_off,
                            __global float *gx, uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    float d = unary_d(x[x_off + i], y[y_off + i]);
#if defined(OP_relu) || defined(OP_clamp)
    /* a select, as PyTorch's threshold/clamp backward: an infinite gy where the op is flat
     * gives 0, not inf * 0 = NaN (ms_ssim's relu before a fractional pow relies on it) */
    gx[gx_off + i] = d == 0.0f ? 0.0f : gy[gy_off + i] * d;
#else
    gx[gx_off + i] = gy[gy_off + i] * d;
#endif
}

inline float binary_f(float a, float b)
{
#if defined(OP_add)
    return a + b;
#elif defined(OP_sub)
    return a - b;
#elif defined(OP_mul)
    return a * b;
#elif defined(OP_div)
    return a / b;
#elif defined(OP_maximum)
    return (a > b || isnan(a)) ? a : b;
#elif defined(OP_minimum)
    return (a < b || isnan(a)) ? a : b;
#else
    return 0.0f;
#endif
}

__kernel void ew_binary(__global const float *a, uint a_off, __global const float *b, uint b_off,
                        __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint ia, ib;
    cg_bcast(i, &ia, &ib);
    y[y_off + i] = binary_f(a[a_off + ia], b[b_off + ib]);
}

/* Gradient of a binary op with respect to input WHICH (0: a, 1: b), at the broadcast shape. */
__kernel void ew_binary_grad(__global const float *a, uint a_off, __global const float *b,
                             uint b_off, __global const float *gy, uint gy_off,
                             __global float *g, uint g_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint ia, ib;
    cg_bcast(i, &ia, &ib);
    float av = a[a_off + ia], bv = b[b_off + ib], gv = gy[gy_off + i], r;
#if defined(OP_mul)
    r = WHICH == 0 ? gv * bv : gv * av;
#elif defined(OP_div)
    r = WHICH == 0 ? gv / bv : -gv * av / (bv * bv);
#elif defined(OP_maximum)
    r = av == bv ? 0.5f * gv : ((WHICH == 0) == (av > bv) ? gv : 0.0f);
#elif defined(OP_minimum)
    r = av == bv ? 0.5f * gv : ((WHICH == 0) == (av < bv) ? gv : 0.0f);
#else
    r = gv;
#endif
    g[g_off + i] = r;
}
