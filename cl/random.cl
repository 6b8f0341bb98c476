/* random.cl: the random ops (src/exec/lower_random.c) on a counter-based generator,
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the
 * constants of Random123).
 *
 * Every random kernel ends with three arguments the executor sets at each run
 * (src/exec/exec.c cg_exec_run): seed_lo and seed_hi, the key, derived from the run's seed and
 * the node's rng_id, and step. Element i draws the block philox(counter = (i, step, 0, 0), key
 * = (seed_lo, seed_hi)) and uses its words in order: the numbers depend only on (seed, rng_id,
 * i, step), never on the device, the local size or the order of work-items. A dropout and its
 * gradient (the same rng_id) therefore apply the same mask.
 * The generator (philox4x32_10, rnd_u01) is in cl/common.cl, shared with cl/augment.cl.
 * Specialised by -D: N (element count), and P, SCALE (dropout), NCAT (randint's n or the
 * category count of categorical), KDRAWS (categorical draws per row). */

#ifndef N
#define N 1
#endif
#ifndef P
#define P 0.0f
#endif
#ifndef SCALE
#define SCALE 1.0f
#endif
#ifndef NCAT
#define NCAT 1
#endif
#ifndef KDRAWS
#define KDRAWS 1
#endif

/* The block of element i. */
inline uint4 rnd_block(uint i, uint seed_lo, uint seed_hi, uint step)
{
    return philox4x32_10((uint4)(i, step, 0u, 0u), seed_lo, seed_hi);
}

/* Known-answer check of the generator (tests/test_ops_random.c): y[0..3] = philox(c, k). */
__kernel void rnd_philox_kat(__global int *y, uint y_off, uint c0, uint c1, uint c2, uint c3,
                             uint k0, uint k1)
{
    if (get_global_id(0) != 0)
        return;
    uint4 r = philox4x32_10((uint4)(c0, c1, c2, c3), k0, k1);
    y += y_off;
    y[0] = (int)r.x;
    y[1] = (int)r.y;
    y[2] = (int)r.z;
    y[3] = (int)r.w;
}

/* uniform_like: y[i] ~ U[0, 1), 24 random bits. */
__kernel void rnd_uniform(__global float *y, uint y_off, uint seed_lo, uint seed_hi, uint step)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    y[y_off + i] = rnd_u01(rnd_block(i, seed_lo, seed_hi, step).x);
}

/* normal_like: y[i] ~ N(0, 1) by Box-Muller, u1 in (0, 1] (no log(0)), u2 in [0, 1). */
__kernel void rnd_normal(__global float *y, uint y_off, uint seed_lo, uint seed_hi, uint step)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint4 r = rnd_block(i, seed_lo, seed_hi, step);
    float u1 = (float)((r.x >> 8) + 1u) * 0x1.0p-24f, u2 = rnd_u01(r.y);
    y[y_off + i] = sqrt(-2.0f * log(u1)) * cospi(2.0f * u2);
}

/* randint: y[i] in [0, NCAT) as (r * NCAT) >> 32 (Lemire's multiply-shift without rejection:
 * each value has probability within NCAT / 2^32 of 1 / NCAT). */
__kernel void rnd_randint(__global int *y, uint y_off, uint seed_lo, uint seed_hi, uint step)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    uint r = rnd_block(i, seed_lo, seed_hi, step).x;
    y[y_off + i] = (int)(((ulong)r * (ulong)NCAT) >> 32);
}

/* dropout: y = x * SCALE (SCALE = 1 / (1 - P)) where u >= P (kept with probability 1 - P), else
 * 0. Used for the forward and, on gy with the same rng_id, for the gradient. */
__kernel void rnd_dropout(__global const float *x, uint x_off, __global float *y, uint y_off,
                          uint seed_lo, uint seed_hi, uint step)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    float u = rnd_u01(rnd_block(i, seed_lo, seed_hi, step).x);
    y[y_off + i] = u >= P ? x[x_off + i] * SCALE : 0.0f;
}

/* categorical: p [rows, NCAT] (weights, negative ones read as 0), y [rows, KDRAWS]; draw i of
 * row i / KDRAWS is the first category whose running sum exceeds u * (row sum), by a linear
 * scan (the last category of positive weight when rounding runs past the end; 0 for a row
 * without any). */
__kernel void rnd_categorical(__global const float *p, uint p_off, __global int *y, uint y_off,
                              uint seed_lo, uint seed_hi, uint step)
{
    uint i = get_global_id(0);
    if (i >= N)
        return;
    p += p_off + (i / KDRAWS) * NCAT;
    float s = 0.0f;
    for (int c = 0; c < NCAT; c++)
        s += fmax(p[c], 0.0f);
    float t = rnd_u01(rnd_block(i, seed_lo, seed_hi, step).x) * s, cum = 0.0f;
    int pick = -1, last = 0;
    for (int c = 0; c < NCAT; c++) {
        float w = fmax(p[c], 0.0f);
        if (w > 0.0f) {
            last = c;
            cum += w;
            if (pick < 0 && t < cum)
                pick = c;
        }
    }
    y[y_off + i] = pick < 0 ? last : pick;
}
