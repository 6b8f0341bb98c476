/* pool.cl: max_pool2d, avg_pool2d (count_include_pad), upsample_nearest and the pooling
 * gradients, on NCHW tensors. Specialised by -D: NC (N*C planes), H, W (input side), OH, OW
 * (output side), KH, KW (window), SH, SW (stride), PH, PW (padding), SCALE (upsampling). One
 * work-item per element written; gradients gather (one work-item per input element looping
 * over the windows that cover it), so results do not depend on scheduling. */

#ifndef NC
#define NC 1
#endif
#ifndef H
#define H 1
#endif
#ifndef W
#define W 1
#endif
#ifndef OH
#define OH 1
#endif
#ifndef OW
#define OW 1
#endif
#ifndef KH
#define KH 1
#endif
#ifndef KW
#define KW 1
#endif
#ifndef SH
#define SH 1
#endif
#ifndef SW
#define SW 1
#endif
#ifndef PH
#define PH 0
#endif
#ifndef PW
#define PW 0
#endif
#ifndef SCALE
#define SCALE 1
#endif

/* Index (in the plane) of the first maximum of window (oy, ox), as PyTorch: scan in row-major
 * order, replace on a strictly greater value or on a NaN (so NaN propagates); -1 when the window
 * has no input. */
inline int window_argmax(__global const float *xp, int oy, int ox, float *best)
{
    int y0 = oy * SH - PH, x0 = ox * SW - PW, arg = -1;
    float m = -INFINITY;
    for (int u = 0; u < KH; u++) {
        int y = y0 + u;
        if (y < 0 || y >= H)
            continue;
        for (int v = 0; v < KW; v++) {
            int x = x0 + v;
            if (x < 0 || x >= W)
                continue;
            float t = xp[y * W + x];
            if (arg < 0 || t > m || isnan(t)) {
                m = t;
                arg = y * W + x;
            }
        }
    }
    *best = m;
    return arg;
}

/* Divisor of window (oy, ox) with count_include_pad: its extent clipped to the padded input. */
inline float window_count(int oy, int ox)
{
    int y0 = oy * SH - PH, x0 = ox * SW - PW;
    int y1 = min(y0 + KH, H + PH), x1 = min(x0 + KW, W + PW);
    return (float)((y1 - y0) * (x1 - x0));
}

__kernel void max_pool2d(__global float *x, uint x_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= NC * OH * OW)
        return;
    x += x_off;
    y += y_off;
    uint plane = i / (OH * OW), r = i % (OH * OW);
    float m;
    window_argmax(x + plane * H * W, (int)(r / OW), (int)(r % OW), &m);
    y[i] = m;
}

__kernel void avg_pool2d(__global float *x, uint x_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= NC * OH * OW)
        return;
    x += x_off;
    y += y_off;
    uint plane = i / (OH * OW), r = i % (OH * OW);
    int oy = (int)(r / OW), ox = (int)(r % OW);
    __global const float *xp = x + plane * H * W;
    int y0 = oy * SH - PH, x0 = ox * SW - PW;
    float s = 0.0f;
    for (int u = 0; u < KH; u++) {
        int yy = y0 + u;
        if (yy < 0 || yy >= H)
            continue;
        for (int v = 0; v < KW; v++) {
            int xx = x0 + v;
            if (xx >= 0 && xx < W)
                s += xp[yy * W + xx];
        }
    }
    y[i] = s / window_count(oy, ox);
}

/* Range of output rows (or columns) whose window covers input position p. */
#define COVER(p, K, S, P, O, lo, hi)                                                               \
    {                                                                                              \
        int t_ = (p) + (P) - (K) + 1;                                                              \
        lo = t_ <= 0 ? 0 : (t_ + (S) - 1) / (S);                                                   \
        hi = min(((p) + (P)) / (S), (O) - 1);                                                      \
    }

/* gx[n,c,y,x] = sum of gy over the windows whose first maximum is (y, x). */
__kernel void max_pool2d_grad(__global float *x, uint x_off, __global float *gy, uint gy_off,
                              __global float *gx, uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= NC * H * W)
        return;
    x += x_off;
    gy += gy_off;
    gx += gx_off;
    uint plane = i / (H * W), r = i % (H * W);
    int py = (int)(r / W), px = (int)(r % W), oy0, oy1, ox0, ox1;
    COVER(py, KH, SH, PH, OH, oy0, oy1)
    COVER(px, KW, SW, PW, OW, ox0, ox1)
    __global const float *xp = x + plane * H * W;
    __global const float *gp = gy + plane * OH * OW;
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            float m;
            if (window_argmax(xp, oy, ox, &m) == (int)r)
                s += gp[oy * OW + ox];
        }
    gx[i] = s;
}

/* gx[n,c,y,x] = sum over the windows covering (y, x) of gy / window count. */
__kernel void avg_pool2d_grad(__global float *gy, uint gy_off, __global float *gx, uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= NC * H * W)
        return;
    gy += gy_off;
    gx += gx_off;
    uint plane = i / (H * W), r = i % (H * W);
    int py = (int)(r / W), px = (int)(r % W), oy0, oy1, ox0, ox1;
    COVER(py, KH, SH, PH, OH, oy0, oy1)
    COVER(px, KW, SW, PW, OW, ox0, ox1)
    __global const float *gp = gy + plane * OH * OW;
    float s = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++)
            s += gp[oy * OW + ox] / window_count(oy, ox);
    gx[i] = s;
}

/* y[n,c,i,j] = x[n,c,i/SCALE,j/SCALE]; H, W are the input side. */
__kernel void upsample_nearest(__global float *x, uint x_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= NC * H * SCALE * W * SCALE)
        return;
    x += x_off;
    y += y_off;
    uint ow = W * SCALE, plane = i / (H * SCALE * ow), r = i % (H * SCALE * ow);
    y[i] = x[plane * H * W + (r / ow) / SCALE * W + (r % ow) / SCALE];
}
