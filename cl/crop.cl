/* crop.cl: crops of image batches (src/exec/lower_crop.c): crop_grid (chosen windows of a grid),
 * crop_all (every window) and crop_grad (the scatter-add of crop gradients back into an image).
 *
 * Windows are SIZE x SIZE at STRIDE on a row-major grid of GH x GW cells over x [NB, C, H, W]
 * (GH = (H - SIZE) / STRIDE + 1, GW likewise); cell g starts at row (g / GW) * STRIDE and column
 * (g % GW) * STRIDE. With HAS_IDX the crops are idx [NB, K] (cell numbers; out of [0, GH*GW) is
 * clamped into it), without it K = GH*GW and crop k of image n is cell k. Crop n*K + k of the
 * output [NB*K, C, SIZE, SIZE] comes from image n. One work-item per element; the gradient is a
 * gather (one work-item per image pixel looping over the crops in order), so it is
 * deterministic. */

#ifndef N
#define N 1
#endif
#ifndef C
#define C 1
#endif
#ifndef H
#define H 1
#endif
#ifndef W
#define W 1
#endif
#ifndef SIZE
#define SIZE 1
#endif
#ifndef STRIDE
#define STRIDE 1
#endif
#ifndef GH
#define GH 1
#endif
#ifndef GW
#define GW 1
#endif
#ifndef K
#define K (GH * GW)
#endif

inline int crop_cell(__global const int *idx, uint nk)
{
#ifdef HAS_IDX
    return clamp(idx[nk], 0, GH * GW - 1);
#else
    return (int)(nk % K);
#endif
}

/* y [NB*K, C, SIZE, SIZE] (N elements) from x [NB, C, H, W]. */
__kernel void crop_fwd(__global const float *x, uint x_off, __global const int *idx,
                       uint idx_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    x += x_off;
    idx += idx_off;
    uint col = i % SIZE, row = (i / SIZE) % SIZE, c = (i / (SIZE * SIZE)) % C;
    uint nk = i / (SIZE * SIZE * C), n = nk / K;
    int g = crop_cell(idx, nk);
    uint r0 = (uint)(g / GW) * STRIDE, c0 = (uint)(g % GW) * STRIDE;
    y[y_off + i] = x[((n * C + c) * H + r0 + row) * W + c0 + col];
}

/* gx [NB, C, H, W] (N elements): the sum of gy over every crop element that copied this pixel,
 * in crop order. */
__kernel void crop_grad(__global const float *gy, uint gy_off, __global const int *idx,
                        uint idx_off, __global float *gx, uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    gy += gy_off;
    idx += idx_off;
    int w = (int)(i % W), h = (int)((i / W) % H);
    uint c = (i / (W * H)) % C, n = i / (W * H * C);
    float acc = 0.0f;
#ifdef HAS_IDX
    for (uint k = 0; k < K; k++) {
        uint nk = n * K + k;
        int g = crop_cell(idx, nk);
        int row = h - (g / GW) * STRIDE, col = w - (g % GW) * STRIDE;
        if (row >= 0 && row < SIZE && col >= 0 && col < SIZE)
            acc += gy[((nk * C + c) * SIZE + (uint)row) * SIZE + (uint)col];
    }
#else
    /* the cells covering (h, w): r * STRIDE <= h < r * STRIDE + SIZE, likewise for columns */
    int rlo = h - SIZE + 1 > 0 ? (h - SIZE + STRIDE) / STRIDE : 0, rhi = min(h / STRIDE, GH - 1);
    int clo = w - SIZE + 1 > 0 ? (w - SIZE + STRIDE) / STRIDE : 0, chi = min(w / STRIDE, GW - 1);
    for (int r = rlo; r <= rhi; r++)
        for (int q = clo; q <= chi; q++) {
            uint nk = n * K + (uint)(r * GW + q);
            uint row = (uint)(h - r * STRIDE), col = (uint)(w - q * STRIDE);
            acc += gy[((nk * C + c) * SIZE + row) * SIZE + col];
        }
#endif
    gx[gx_off + i] = acc;
}
