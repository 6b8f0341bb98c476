/* test_runtime.cl: kernels used only by tests/test_runtime.c to check program building, -D
 * specialisation and the common.cl prelude. The embedding must keep every byte, including
 * these: "quoted" back\\slash ??= trigraph, UTF-8 éü—, a tab:	. */
#ifndef CG_SCALE
#error "CG_SCALE must be defined with -DCG_SCALE=..."
#endif

/* y[i] = CG_SCALE * x[i] + i, for i < CG_N. */
__kernel void cg_test_axpi(__global const float *x, int x_off, __global float *y, int y_off)
{
    int i = get_global_id(0);
    if (i < CG_N)
        CG_AT(y, y_off)[i] = CG_SCALE * CG_AT(x, x_off)[i] + (float)i;
}
