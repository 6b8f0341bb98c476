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
