/* gemm.cl: row-major single-precision GEMM for CPU-like OpenCL devices (PoCL), written with
 * explicit vector types (PoCL does not vectorise scalar kernels across work-items well):
 *   C[b] = ALPHA * op(A[b]) op(B[b]) + BETA * C[b],  op(A) [M, K], op(B) [K, N], b < BATCH.
 * Sizes, leading dimensions, strides, transposes and the scalars are -D defines (below, with
 * their defaults); every launch is specialised. Each work-item owns a tile of C and sums over
 * k in order (no atomics, no split-k): results do not depend on scheduling.
 *   gemm_nn: op(B) = B (TB = 0); a work-item computes 4 rows x 8 columns, k outer: one float8
 *            of B row k and 4 scalars of A (A or A^T, TA) per step. Work-item (j/8, i/4, b).
 *   gemm_nt: op(B) = B^T (TB = 1): rows of A (TA = 0) and of B are both contiguous in k; a
 *            work-item computes 4 x 4 dot products with float8 partial sums along k, reduced at
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

__kernel void gemm_nn(__global float *a, uint a_off, __global float *b, uint b_off,
                      __global float *c, uint c_off)
{
    int jb = (int)get_global_id(0), ib = (int)get_global_id(1), bt = (int)get_global_id(2);
    int j0 = jb * 8, i0 = ib * 4;
    if (j0 >= N || i0 >= M || bt >= BATCH)
        return;
    a += a_off + (size_t)bt * SA;
    b += b_off + (size_t)bt * SB;
    c += c_off + (size_t)bt * SC;
    /* rows past M read row M-1 (never stored) */
    int r1 = min(i0 + 1, M - 1), r2 = min(i0 + 2, M - 1), r3 = min(i0 + 3, M - 1);
    float8 c0 = (float8)(0.0f), c1 = c0, c2 = c0, c3 = c0;
    if (j0 + 8 <= N) {
        __global const float *bp = b + j0;
        for (int k = 0; k < K; k++) {
            float8 bv = vload8(0, bp + (size_t)k * LDB);
            c0 = mad((float8)(A_AT(i0, k)), bv, c0);
            c1 = mad((float8)(A_AT(r1, k)), bv, c1);
            c2 = mad((float8)(A_AT(r2, k)), bv, c2);
            c3 = mad((float8)(A_AT(r3, k)), bv, c3);
        }
    } else {
        for (int k = 0; k < K; k++) {
            float t[8];
            for (int q = 0; q < 8; q++)
                t[q] = j0 + q < N ? b[(size_t)k * LDB + j0 + q] : 0.0f;
            float8 bv = vload8(0, t);
            c0 = mad((float8)(A_AT(i0, k)), bv, c0);
            c1 = mad((float8)(A_AT(r1, k)), bv, c1);
            c2 = mad((float8)(A_AT(r2, k)), bv, c2);
            c3 = mad((float8)(A_AT(r3, k)), bv, c3);
        }
    }
    float8 rows[4] = {c0, c1, c2, c3};
    for (int r = 0; r < 4 && i0 + r < M; r++) {
        if (j0 + 8 <= N && BETA == 0.0f) {
            vstore8(ALPHA * rows[r], 0, c + (size_t)(i0 + r) * LDC + j0);
        } else {
            float t[8];
            vstore8(rows[r], 0, t);
            for (int q = 0; q < 8 && j0 + q < N; q++)
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
    float8 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = (float8)(0.0f);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        float8 av[4], bv[4];
        for (int r = 0; r < 4; r++) {
            av[r] = vload8(0, ap[r] + k);
            bv[r] = vload8(0, bp[r] + k);
        }
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++)
                acc[r][q] = mad(av[r], bv[q], acc[r][q]);
    }
    float s[4][4];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) {
            float8 v = acc[r][q];
            float4 h = v.lo + v.hi;
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
