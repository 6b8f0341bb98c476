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
 * outputs of CD_R rows (float8s) for OCB output channels, so every input value loaded is used
 * OCB*KW times and every weight CD_R times. Work-item (xb, oy / CD_R, n*(OC/OCB) + ob).
 * Gathers only: deterministic. */
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
#if TRANSPOSED /* o = o0 + j with j < OCB: the block never crosses a group (OCB divides OCG) */
#define CD_W(o, c, ky, kx)                                                                      \
    w[((g * ICG + (c)) * OCG + (o0 - g * OCG) + ((o) - o0)) * (KH * KW) + (KH - 1 - (ky)) * KW + \
      (KW - 1 - (kx))]
#else
#define CD_W(o, c, ky, kx) w[((o) * ICG + (c)) * (KH * KW) + (ky) * KW + (kx)]
#endif

#ifndef CD_R
#define CD_R 1
#endif
#define CD_YB ((OH + CD_R - 1) / CD_R)

__kernel void conv_direct(__global float *x, uint x_off, __global float *w, uint w_off,
                          __global float *bias, uint bias_off, __global float *y, uint y_off)
{
    int xb = (int)get_global_id(0), yb = (int)get_global_id(1), z = (int)get_global_id(2);
    if (xb >= CD_XB || yb >= CD_YB || z >= NB * (OC / OCB))
        return;
    x += x_off;
    w += w_off;
    bias += bias_off;
    y += y_off;
    int n = z / (OC / OCB), o0 = (z % (OC / OCB)) * OCB, g = o0 / OCG;
    int ox0 = xb * CD_VW, ix0 = ox0 * SW - PW, oy0 = yb * CD_R;
    float8 acc[CD_R][OCB];
    for (int j = 0; j < OCB; j++)
        for (int r = 0; r < CD_R; r++)
#if HAS_BIAS
            acc[r][j] = (float8)(bias[o0 + j]);
#else
            acc[r][j] = (float8)(0.0f);
#endif
    __global const float *xn = x + ((size_t)n * IC + (size_t)g * ICG) * (IH * IW);
    for (int c = 0; c < ICG; c++) {
        for (int ky = 0; ky < KH; ky++) {
            float in[CD_R][CD_SPAN];
#pragma unroll
            for (int r = 0; r < CD_R; r++) {
                int iy = (oy0 + r) * SH - PH + ky * DH;
                int rowok = iy >= 0 && iy < IH;
                __global const float *row = xn + (c * IH + (rowok ? iy : 0)) * IW;
#pragma unroll
                for (int t = 0; t < CD_SPAN; t++) {
                    int ix = ix0 + t;
                    in[r][t] = rowok && ix >= 0 && ix < IW ? row[ix] : 0.0f;
                }
            }
#pragma unroll
            for (int kx = 0; kx < KW; kx++) {
                float8 v[CD_R];
#pragma unroll
                for (int r = 0; r < CD_R; r++)
                    v[r] = (float8)(in[r][kx * DW], in[r][kx * DW + SW], in[r][kx * DW + 2 * SW],
                                    in[r][kx * DW + 3 * SW], in[r][kx * DW + 4 * SW],
                                    in[r][kx * DW + 5 * SW], in[r][kx * DW + 6 * SW],
                                    in[r][kx * DW + 7 * SW]);
#pragma unroll
                for (int j = 0; j < OCB; j++) {
                    float8 wv = (float8)(CD_W(o0 + j, c, ky, kx));
#pragma unroll
                    for (int r = 0; r < CD_R; r++)
                        acc[r][j] = mad(v[r], wv, acc[r][j]);
                }
            }
        }
    }
    for (int r = 0; r < CD_R && oy0 + r < OH; r++)
        for (int j = 0; j < OCB; j++) {
            float8 a = acc[r][j];
#if RELU
            a = fmax(a, (float8)(0.0f));
#endif
            __global float *yr = y + (((size_t)n * OC + o0 + j) * OH + oy0 + r) * OW + ox0;
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

/* ---- conv_grad_w_direct: the weight gradient of a convolution without im2col ----
 * part[chunk][o][c][ky][kx] = sum over the chunk's NPW images n, oy, ox of gy[n][o][oy][ox] *
 * x[n][g*ICG + c][oy*SH - PH + ky*DH][ox*SW - PW + kx*DW] (zero outside), g = o / OCG;
 * batch_sum then adds the chunks in order (deterministic). Work-item (c*KH + ky, o / OCB, chunk) keeps OCB*KW float8 partial
 * sums along ox (8 outputs of a row at a time) over the NPW images of its chunk, in order, and
 * writes one partial per chunk; consecutive work-items share a chunk (cache). */
#ifndef NPW
#define NPW 1
#endif
#define GW_CHUNKS ((NB + NPW - 1) / NPW)

__kernel void conv_grad_w_direct(__global float *x, uint x_off, __global float *gy, uint gy_off,
                                 __global float *part, uint part_off)
{
    int cy = (int)get_global_id(0), ob = (int)get_global_id(1), ch = (int)get_global_id(2);
    if (cy >= ICG * KH || ob >= OC / OCB || ch >= GW_CHUNKS)
        return;
    x += x_off;
    gy += gy_off;
    part += part_off;
    int cl = cy / KH, ky = cy % KH, o0 = ob * OCB, g = o0 / OCG;
    float8 acc[OCB][KW];
    for (int j = 0; j < OCB; j++)
        for (int kx = 0; kx < KW; kx++)
            acc[j][kx] = (float8)(0.0f);
    for (int n = ch * NPW; n < ch * NPW + NPW && n < NB; n++) {
        __global const float *xc = x + ((size_t)n * IC + (size_t)g * ICG + cl) * (IH * IW);
        __global const float *gyn = gy + ((size_t)n * OC + o0) * (OH * OW);
        for (int oy = 0; oy < OH; oy++) {
            int iy = oy * SH - PH + ky * DH;
            if (iy < 0 || iy >= IH)
                continue;
            __global const float *row = xc + iy * IW;
            for (int ox0 = 0; ox0 < OW; ox0 += CD_VW) {
                int ix0 = ox0 * SW - PW;
                float in[CD_SPAN];
#pragma unroll
                for (int t = 0; t < CD_SPAN; t++) {
                    int ix = ix0 + t;
                    in[t] = ix >= 0 && ix < IW ? row[ix] : 0.0f;
                }
                float8 gv[OCB];
                if (ox0 + CD_VW <= OW) {
                    for (int j = 0; j < OCB; j++)
                        gv[j] = vload8(0, gyn + (size_t)j * (OH * OW) + oy * OW + ox0);
                } else {
                    for (int j = 0; j < OCB; j++) {
                        float t8[CD_VW];
                        for (int q = 0; q < CD_VW; q++)
                            t8[q] = ox0 + q < OW ? gyn[(size_t)j * (OH * OW) + oy * OW + ox0 + q]
                                                 : 0.0f;
                        gv[j] = vload8(0, t8);
                    }
                }
#pragma unroll
                for (int kx = 0; kx < KW; kx++) {
                    float8 v = (float8)(in[kx * DW], in[kx * DW + SW], in[kx * DW + 2 * SW],
                                        in[kx * DW + 3 * SW], in[kx * DW + 4 * SW],
                                        in[kx * DW + 5 * SW], in[kx * DW + 6 * SW],
                                        in[kx * DW + 7 * SW]);
#pragma unroll
                    for (int j = 0; j < OCB; j++)
                        acc[j][kx] = mad(gv[j], v, acc[j][kx]);
                }
            }
        }
    }
    __global float *pn = part + (size_t)ch * (OC * ICG * KH * KW);
    for (int j = 0; j < OCB; j++)
        for (int kx = 0; kx < KW; kx++) {
            float8 v = acc[j][kx];
            float4 h = v.lo + v.hi;
            float2 h2 = h.lo + h.hi;
            pn[(((o0 + j) * ICG + cl) * KH + ky) * KW + kx] = h2.x + h2.y;
        }
}
