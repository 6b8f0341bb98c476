/* shape.cl: data movement of the shape ops (permute, transpose, concat, slice, broadcast_to,
 * gather, one_hot) and of the internal ops slice_grad, scatter_add, gauss_window, mask_diag and
 * iota (src/exec/lower_shape.c).
 *
 * Specialised by -D: N (element count of the launch), NDIM (1..8), DIMS (the iterated shape,
 * comma-separated, row-major), SX and SY (element strides of the source and the destination for
 * each iterated dim, 0 where a dim is broadcast), AXIS, T (the element type: float, or int for
 * i32 tensors; copies move 4-byte words and never convert). One work-item per element; global
 * sizes are rounded up, so every kernel checks i < N. Reductions (scatter_add) loop in a fixed
 * order inside one work-item: results are bit-identical run to run. */

#ifndef N
#define N 1
#endif
#ifndef NDIM
#define NDIM 1
#endif
#ifndef DIMS
#define DIMS 1
#endif
#ifndef SX
#define SX 1
#endif
#ifndef SY
#define SY 1
#endif
#ifndef AXIS
#define AXIS 0
#endif
#ifndef T
#define T float
#endif
#ifndef VALUE
#define VALUE 0.0f
#endif

__constant uint sh_dims[NDIM] = {DIMS};
__constant uint sh_sx[NDIM] = {SX};
__constant uint sh_sy[NDIM] = {SY};

/* Source and destination offsets of element i of the iterated shape. */
inline void sh_offsets(uint i, uint *ox, uint *oy)
{
    uint a = 0, b = 0;
#pragma unroll
    for (int k = NDIM - 1; k >= 0; k--) {
        uint c = i % sh_dims[k];
        i /= sh_dims[k];
        a += c * sh_sx[k];
        b += c * sh_sy[k];
    }
    *ox = a;
    *oy = b;
}

/* y[oy(i)] = x[ox(i)] over the iterated shape: permute, slice, broadcast_to (SY contiguous) and
 * one input of concat or slice_grad (SX contiguous, SY the output's strides). */
__kernel void sh_copy(__global const T *x, uint x_off, __global T *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    x += x_off;
    y += y_off;
    uint ox, oy;
    sh_offsets(i, &ox, &oy);
    y[oy] = x[ox];
}

/* y[i] = VALUE for i < N (the zeros under slice_grad). */
__kernel void sh_fill(__global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i < N)
        y[y_off + i] = VALUE;
}

#ifndef XA
#define XA 1 /* x's size along AXIS */
#endif
#ifndef IA
#define IA 1 /* idx's size along AXIS */
#endif

/* gather: y and idx share the iterated shape (contiguous, SY); SX are x's strides with 0 at
 * AXIS and XSA x's stride along AXIS. An index outside [0, XA) is clamped into it (torch raises
 * an error; a kernel cannot, and must not read out of bounds). */
#ifndef XSA
#define XSA 1
#endif
__kernel void sh_gather(__global const T *x, uint x_off, __global const int *idx, uint idx_off,
                        __global T *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    x += x_off;
    idx += idx_off;
    y += y_off;
    uint ox, oy;
    sh_offsets(i, &ox, &oy);
    int j = clamp(idx[i], 0, XA - 1);
    y[i] = x[ox + (uint)j * XSA];
}

/* scatter_add (gather's gradient): the iterated shape is the output's (x's, contiguous); SX are
 * idx's (and gy's) contiguous strides with 0 at AXIS, ISA idx's stride along AXIS and
 * IDIMS idx's shape. Output element c sums gy at every idx position p with p = c off AXIS and
 * clamp(idx[p]) == c[AXIS], in increasing order along AXIS. */
#ifndef IDIMS
#define IDIMS 1
#endif
#ifndef ISA
#define ISA 1
#endif
__constant uint sh_idims[NDIM] = {IDIMS};
__kernel void sh_scatter_add(__global const float *gy, uint gy_off, __global const int *idx,
                             uint idx_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    gy += gy_off;
    idx += idx_off;
    uint rest = i, base = 0, ca = 0, inside = 1;
#pragma unroll
    for (int k = NDIM - 1; k >= 0; k--) {
        uint c = rest % sh_dims[k];
        rest /= sh_dims[k];
        if (k == AXIS)
            ca = c;
        else if (c >= sh_idims[k])
            inside = 0;
        else
            base += c * sh_sx[k];
    }
    float acc = 0.0f;
    if (inside)
        for (uint j = 0; j < IA; j++) {
            uint p = base + j * ISA;
            if ((uint)clamp(idx[p], 0, XA - 1) == ca)
                acc += gy[p];
        }
    y[y_off + i] = acc;
}

/* one_hot: idx has N / NCLS entries; y[m, c] = 1 where idx[m] == c (an index outside
 * [0, NCLS) gives a row of zeros). */
#ifndef NCLS
#define NCLS 1
#endif
__kernel void sh_one_hot(__global const int *idx, uint idx_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    int v = idx[idx_off + i / NCLS];
    y[y_off + i] = v == (int)(i % NCLS) ? 1.0f : 0.0f;
}

/* gauss_window: y [C, 1, WIN, WIN] = g g^T for every channel, g[k] = exp(-(k - (WIN-1)/2)^2 /
 * (2 SIGMA^2)) normalised to sum 1 (the window of SSIM), computed in float. */
#ifndef WIN
#define WIN 1
#endif
#ifndef SIGMA
#define SIGMA 1.0f
#endif
inline float sh_gauss(int k)
{
    float d = (float)k - 0.5f * (float)(WIN - 1);
    return exp(-d * d / (2.0f * SIGMA * SIGMA));
}
__kernel void sh_gauss_window(__global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    float s = 0.0f;
    for (int k = 0; k < WIN; k++)
        s += sh_gauss(k);
    uint c = i % WIN, r = (i / WIN) % WIN;
    y[y_off + i] = (sh_gauss((int)r) / s) * (sh_gauss((int)c) / s);
}

/* mask_diag: y = x with y[..., r, c] = VALUE where r == c; ROWS, COLS: the last two dims. */
#ifndef ROWS
#define ROWS 1
#endif
#ifndef COLS
#define COLS 1
#endif
__kernel void sh_mask_diag(__global const float *x, uint x_off, __global float *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint c = i % COLS, r = (i / COLS) % ROWS;
    y[y_off + i] = r == c ? VALUE : x[x_off + i];
}

/* iota: y[i] = (i + SHIFT) mod MOD (MOD 0: no modulo; the result of a modulo is in [0, MOD)
 * also for a negative SHIFT, as Python's %). */
#ifndef SHIFT
#define SHIFT 0
#endif
#ifndef MOD
#define MOD 0
#endif
__kernel void sh_iota(__global int *y, uint y_off)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    long v = (long)i + (long)SHIFT;
#if MOD != 0
    v %= (long)MOD;
    if (v < 0)
        v += (long)MOD;
#endif
    y[y_off + i] = (int)v;
}
