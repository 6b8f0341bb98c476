/* conv.cl: the non-GEMM parts of the convolutions (im2col, col2im, the batch sum of weight
 * gradients) and the per-channel bias added after a CLBlast GEMM (conv and linear). NCHW
 * tensors; sizes and attributes as -D defines (below, with their defaults). One work-item per
 * element written; col2im gathers (one work-item per output pixel), so results do not depend
 * on scheduling. */

#ifndef N
#define N 1
#endif
#ifndef C
#define C 1
#endif
#ifndef INNER
#define INNER 1
#endif

/* y[i] += b[(i / INNER) % C] for i < N. */
__kernel void bias_add(__global float *b, uint b_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    b += b_off;
    y += y_off;
    y[i] += b[(i / INNER) % C];
}

/* ---- im2col: col[b][c*KH*KW + ky*KW + kx][oy*OW + ox] = x[b][c][oy*SH - PH + ky*DH][...] ----
 * for b < NB (zero outside the image). x: [NB, IC, IH, IW]; col: [NB, IC*KH*KW, OH*OW]. */
#ifndef NB
#define NB 1
#endif
#ifndef IC
#define IC 1
#endif
#ifndef IH
#define IH 1
#endif
#ifndef IW
#define IW 1
#endif
#ifndef OC
#define OC 1
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
#ifndef DH
#define DH 1
#endif
#ifndef DW
#define DW 1
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif
#ifndef M
#define M 1
#endif

__kernel void im2col(__global float *x, uint x_off, __global float *col, uint col_off)
{
    uint i = get_global_id(0);
    if (i >= NB * IC * KH * KW * OH * OW)
        return;
    x += x_off;
    col += col_off;
    uint p = i % (OH * OW), kk = (i / (OH * OW)) % (IC * KH * KW);
    uint b = i / (OH * OW * IC * KH * KW);
    uint c = kk / (KH * KW), r = kk % (KH * KW);
    int iy = (int)(p / OW) * SH - PH + (int)(r / KW) * DH;
    int ix = (int)(p % OW) * SW - PW + (int)(r % KW) * DW;
    float v = 0.0f;
    if (iy >= 0 && iy < IH && ix >= 0 && ix < IW)
        v = x[((b * IC + c) * IH + (uint)iy) * IW + (uint)ix];
    col[i] = v;
}

/* ---- col2im of a transposed convolution: y[b][oc][oy][ox] = bias[oc] + sum over (ky, kx)
 * with oy = iy*SH - PH + ky*DH (likewise ox) of col[b][oc*KH*KW + ky*KW + kx][iy*IW + ix].
 * One work-item per output element (a gather: deterministic). y: [NB, OC, OH, OW]. */
__kernel void col2im(__global float *col, uint col_off, __global float *bias, uint bias_off,
                     __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= NB * OC * OH * OW)
        return;
    col += col_off;
    bias += bias_off;
    y += y_off;
    uint ox = i % OW, oy = (i / OW) % OH, oc = (i / (OW * OH)) % OC, b = i / (OW * OH * OC);
    __global const float *cb = col + ((size_t)b * OC + oc) * KH * KW * IH * IW;
    float s = 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int ty = (int)oy + PH - ky * DH;
        if (ty < 0 || ty % SH)
            continue;
        int iy = ty / SH;
        if (iy >= IH)
            continue;
        for (int kx = 0; kx < KW; kx++) {
            int tx = (int)ox + PW - kx * DW;
            if (tx < 0 || tx % SW)
                continue;
            int ix = tx / SW;
            if (ix < IW)
                s += cb[(ky * KW + kx) * IH * IW + iy * IW + ix];
        }
    }
#if HAS_BIAS
    s += bias[oc];
#endif
    y[i] = s;
}

/* ---- y[i] = sum over b < NB of part[b*M + i], in order (the batch sum of weight gradients) */
__kernel void batch_sum(__global float *part, uint part_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= M)
        return;
    part += part_off;
    y += y_off;
    float s = 0.0f;
    for (uint b = 0; b < NB; b++)
        s += part[b * M + i];
    y[i] = s;
}

/* ---- conv_direct: a direct convolution (no im2col), for small channel counts ----
 * y[n][o][oy][ox] = bias[o] + sum over c < ICG (the group's input channels), ky, kx of
 * W(o, c, ky, kx) * x[n][g*ICG + c][oy*SH - PH + ky*DH][ox*SW - PW + kx*DW] (zero outside),
 * g = o / OCG. TRANSPOSED = 0: W is the conv2d weight [OC][ICG][KH][KW]. TRANSPOSED = 1: W is a
 * conv_transpose2d weight [IC][OCG][KH][KW] read flipped (a stride-1 transposed convolution is
 * this convolution with PH = DH*(KH-1) - its pad). One work-item computes VW = 8 consecutive
 * outputs of a row (a float8) for OCB output channels, so every input value loaded is used
 * OCB*KW times. Work-item (xb, oy, n*(OC/OCB) + ob). Gathers only: deterministic. */
#ifndef ICG
#define ICG 1
#endif
#ifndef OCG
#define OCG 1
#endif
#ifndef OCB
#define OCB 1
#endif
#ifndef TRANSPOSED
#define TRANSPOSED 0
#endif
#ifndef RELU
#define RELU 0
#endif
#define CD_VW 8
#define CD_XB ((OW + CD_VW - 1) / CD_VW)
#define CD_SPAN ((CD_VW - 1) * SW + (KW - 1) * DW + 1)
#if TRANSPOSED
#define CD_W(o, c, ky, kx)                                                                      \
    w[(((o) / OCG * ICG + (c)) * OCG + (o) % OCG) * (KH * KW) + (KH - 1 - (ky)) * KW +          \
      (KW - 1 - (kx))]
#else
#define CD_W(o, c, ky, kx) w[((o) * ICG + (c)) * (KH * KW) + (ky) * KW + (kx)]
#endif

__kernel void conv_direct(__global float *x, uint x_off, __global float *w, uint w_off,
                          __global float *bias, uint bias_off, __global float *y, uint y_off)
{
    int xb = (int)get_global_id(0), oy = (int)get_global_id(1), z = (int)get_global_id(2);
    if (xb >= CD_XB || oy >= OH || z >= NB * (OC / OCB))
        return;
    x += x_off;
    w += w_off;
    bias += bias_off;
    y += y_off;
    int n = z / (OC / OCB), o0 = (z % (OC / OCB)) * OCB, g = o0 / OCG;
    int ox0 = xb * CD_VW, ix0 = ox0 * SW - PW;
    float8 acc[OCB];
    for (int j = 0; j < OCB; j++)
#if HAS_BIAS
        acc[j] = (float8)(bias[o0 + j]);
#else
        acc[j] = (float8)(0.0f);
#endif
    __global const float *xn = x + ((size_t)n * IC + (size_t)g * ICG) * (IH * IW);
    for (int c = 0; c < ICG; c++) {
        for (int ky = 0; ky < KH; ky++) {
            int iy = oy * SH - PH + ky * DH;
            if (iy < 0 || iy >= IH)
                continue;
            __global const float *row = xn + (c * IH + iy) * IW;
            float in[CD_SPAN];
#pragma unroll
            for (int t = 0; t < CD_SPAN; t++) {
                int ix = ix0 + t;
                in[t] = ix >= 0 && ix < IW ? row[ix] : 0.0f;
            }
#pragma unroll
            for (int kx = 0; kx < KW; kx++) {
                float8 v = (float8)(in[kx * DW], in[kx * DW + SW], in[kx * DW + 2 * SW],
                                    in[kx * DW + 3 * SW], in[kx * DW + 4 * SW],
                                    in[kx * DW + 5 * SW], in[kx * DW + 6 * SW],
                                    in[kx * DW + 7 * SW]);
#pragma unroll
                for (int j = 0; j < OCB; j++)
                    acc[j] = mad(v, (float8)(CD_W(o0 + j, c, ky, kx)), acc[j]);
            }
        }
    }
    for (int j = 0; j < OCB; j++) {
        float8 a = acc[j];
#if RELU
        a = fmax(a, (float8)(0.0f));
#endif
        __global float *yr = y + (((size_t)n * OC + o0 + j) * OH + oy) * OW + ox0;
        if (ox0 + CD_VW <= OW) {
            vstore8(a, 0, yr);
        } else {
            float t[CD_VW];
            vstore8(a, 0, t);
            for (int k = 0; k < CD_VW && ox0 + k < OW; k++)
                yr[k] = t[k];
        }
    }
}
