/* gemm.cl: row-major single-precision GEMM for CPU-like OpenCL devices (PoCL), written with
 * explicit vector types (PoCL does not vectorise scalar kernels across work-items well):
 *   C[b] = ALPHA * op(A[b]) op(B[b]) + BETA * C[b],  op(A) [M, K], op(B) [K, N], b < BATCH.
 * Sizes, leading dimensions, strides, transposes and the scalars are -D defines (below, with
 * their defaults); every launch is specialised. Each work-item owns a tile of C and sums over
 * k in order (no atomics, no split-k): results do not depend on scheduling.
 *   gemm_nn: op(B) = B (TB = 0); a work-item computes RB rows x NV (16) columns, k outer: one
 *            float16 of B row k and RB scalars of A (A or A^T, TA) per step. Work-item
 *            (j/NV, i/RB, b).
 *   gemm_nt: op(B) = B^T (TB = 1): rows of A (TA = 0) and of B are both contiguous in k; a
 *            work-item computes 4 x 4 dot products with float16 partial sums along k, reduced at
 *            the end. Work-item (j/4, i/4, b). */
#ifndef M
#define M 1
#endif
#ifndef N
#define N 1
#endif
#ifndef K
#define K 1
#endif
#ifndef LDA
#define LDA K
#endif
#ifndef LDB
#define LDB N
#endif
#ifndef LDC
#define LDC N
#endif
#ifndef SA
#define SA 0
#endif
#ifndef SB
#define SB 0
#endif
#ifndef SC
#define SC 0
#endif
#ifndef BATCH
#define BATCH 1
#endif
#ifndef TA
#define TA 0
#endif
#ifndef ALPHA
#define ALPHA 1.0f
#endif
#ifndef BETA
#define BETA 0.0f
#endif

#if TA
#define A_AT(i, k) a[(size_t)(k) * LDA + (i)]
#else
#define A_AT(i, k) a[(size_t)(i) * LDA + (k)]
#endif

/* stores row r of a 4-row tile: v (w valid columns from j0) */
#define GEMM_STORE1(i, j, v)                                                                    \
    do {                                                                                         \
        __global float *cp_ = c + (size_t)(i) * LDC + (j);                                       \
        *cp_ = BETA == 0.0f ? ALPHA * (v) : ALPHA * (v) + BETA * *cp_;                           \
    } while (0)

#ifndef RB
#define RB 4
#endif
#ifndef NV /* columns per work-item of gemm_nn: 8 or 16 */
#define NV 16
#endif
#if NV == 16
#define VECN float16
#define VLOADN vload16
#define VSTOREN vstore16
#else
#define VECN float8
#define VLOADN vload8
#define VSTOREN vstore8
#endif

__kernel void gemm_nn(__global float *a, uint a_off, __global float *b, uint b_off,
                      __global float *c, uint c_off)
{
    int jb = (int)get_global_id(0), ib = (int)get_global_id(1), bt = (int)get_global_id(2);
    int j0 = jb * NV, i0 = ib * RB;
    if (j0 >= N || i0 >= M || bt >= BATCH)
        return;
    a += a_off + (size_t)bt * SA;
    b += b_off + (size_t)bt * SB;
    c += c_off + (size_t)bt * SC;
    /* rows past M read row M-1 (never stored) */
    int ri[RB];
    VECN acc[RB];
    for (int r = 0; r < RB; r++) {
        ri[r] = min(i0 + r, M - 1);
        acc[r] = (VECN)(0.0f);
    }
    if (j0 + NV <= N) {
        __global const float *bp = b + j0;
        for (int k = 0; k < K; k++) {
            VECN bv = VLOADN(0, bp + (size_t)k * LDB);
#pragma unroll
            for (int r = 0; r < RB; r++)
                acc[r] = mad((VECN)(A_AT(ri[r], k)), bv, acc[r]);
        }
    } else {
        for (int k = 0; k < K; k++) {
            float t[NV];
            for (int q = 0; q < NV; q++)
                t[q] = j0 + q < N ? b[(size_t)k * LDB + j0 + q] : 0.0f;
            VECN bv = VLOADN(0, t);
#pragma unroll
            for (int r = 0; r < RB; r++)
                acc[r] = mad((VECN)(A_AT(ri[r], k)), bv, acc[r]);
        }
    }
    for (int r = 0; r < RB && i0 + r < M; r++) {
        if ((j0 + NV <= N) & (BETA == 0.0f)) {
            VSTOREN(ALPHA * acc[r], 0, c + (size_t)(i0 + r) * LDC + j0);
        } else {
            float t[NV];
            VSTOREN(acc[r], 0, t);
            for (int q = 0; q < NV && j0 + q < N; q++)
                GEMM_STORE1(i0 + r, j0 + q, t[q]);
        }
    }
}

__kernel void gemm_nt(__global float *a, uint a_off, __global float *b, uint b_off,
                      __global float *c, uint c_off)
{
    int jb = (int)get_global_id(0), ib = (int)get_global_id(1), bt = (int)get_global_id(2);
    int j0 = jb * 4, i0 = ib * 4;
    if (j0 >= N || i0 >= M || bt >= BATCH)
        return;
    a += a_off + (size_t)bt * SA;
    b += b_off + (size_t)bt * SB;
    c += c_off + (size_t)bt * SC;
    /* rows and columns past the edge read the last one (never stored) */
    __global const float *ap[4], *bp[4];
    for (int r = 0; r < 4; r++) {
        ap[r] = a + (size_t)min(i0 + r, M - 1) * LDA;
        bp[r] = b + (size_t)min(j0 + r, N - 1) * LDB;
    }
    float16 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = (float16)(0.0f);
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        float16 av[4], bv[4];
        for (int r = 0; r < 4; r++) {
            av[r] = vload16(0, ap[r] + k);
            bv[r] = vload16(0, bp[r] + k);
        }
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++)
                acc[r][q] = mad(av[r], bv[q], acc[r][q]);
    }
    float s[4][4];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) {
            float8 v8 = acc[r][q].lo + acc[r][q].hi;
            float4 h = v8.lo + v8.hi;
            float2 h2 = h.lo + h.hi;
            s[r][q] = h2.x + h2.y;
        }
    for (; k < K; k++)
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++)
                s[r][q] = mad(ap[r][k], bp[q][k], s[r][q]);
    for (int r = 0; r < 4 && i0 + r < M; r++)
        for (int q = 0; q < 4 && j0 + q < N; q++)
            GEMM_STORE1(i0 + r, j0 + q, s[r][q]);
}
