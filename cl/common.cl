/* common.cl: the shared header of every clgraph OpenCL program.
 *
 * The runtime (src/runtime/device.c) builds a program for cl/NAME as the text of this file
 * followed by cl/NAME, with #line markers so build logs name the right file and line, compiled
 * with -cl-std=CL1.2 and the -D options of the schedule (sizes and strides known at compile
 * time). Keep this file small: helpers and macros every kernel family may use. */

/* Kernel arguments are (buffer, offset) pairs into the schedule's arena: CG_AT(buf, off) is the
 * element pointer of such a pair. */
#define CG_AT(buf, off) ((buf) + (off))

/* Integer ceiling division, for work sizes. */
#define CG_CDIV(a, b) (((a) + (b) - 1) / (b))

/* Half-precision storage is used only where the device reports cl_khr_fp16. */
#ifdef cl_khr_fp16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#define CG_HAS_FP16 1
#else
#define CG_HAS_FP16 0
#endif

/* Broadcast indexing: for an output element index i over dims D0..D{RANK-1} (row-major), the
 * offsets into two inputs with element strides SA_k and SB_k (0 along broadcast dims). Define
 * RANK, D0.., SA0.., SB0.. with -D before using it. */
#define CG_BSTEP(k)                                                                                \
    {                                                                                              \
        uint r_ = i_ % D##k;                                                                       \
        i_ /= D##k;                                                                                \
        oa_ += r_ * SA##k;                                                                         \
        ob_ += r_ * SB##k;                                                                         \
    }
inline void cg_bcast(uint i, uint *oa, uint *ob)
{
#ifdef RANK
    uint i_ = i, oa_ = 0, ob_ = 0;
#if RANK > 7
    CG_BSTEP(7)
#endif
#if RANK > 6
    CG_BSTEP(6)
#endif
#if RANK > 5
    CG_BSTEP(5)
#endif
#if RANK > 4
    CG_BSTEP(4)
#endif
#if RANK > 3
    CG_BSTEP(3)
#endif
#if RANK > 2
    CG_BSTEP(2)
#endif
#if RANK > 1
    CG_BSTEP(1)
#endif
#if RANK > 0
    CG_BSTEP(0)
#endif
    *oa = oa_;
    *ob = ob_;
#else
    *oa = i;
    *ob = i;
#endif
}

/* Philox4x32-10 (Salmon et al., SC 2011; the constants of Random123), the counter-based
 * generator of the random ops (cl/random.cl) and the augmentations (cl/augment.cl); the host
 * copy is in src/data/augment.c. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Philox4x32 with 10 rounds of counter c under key (k0, k1). */
inline uint4 philox4x32_10(uint4 c, uint k0, uint k1)
{
#pragma unroll
    for (int r = 0; r < 10; r++) {
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}

/* A float in [0, 1) from the top 24 bits of a word: exactly representable, never 1. */
inline float rnd_u01(uint r)
{
    return (float)(r >> 8) * 0x1.0p-24f;
}
