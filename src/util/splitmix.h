/* splitmix.h: the deterministic numbers of the benchmark steps (BENCH.md section 1).
 *
 * A stream s is the sequence of splitmix64 outputs seeded with s; element i is computed
 * directly (counter-based), so any slice of a tensor can be generated independently and every
 * implementation (clgraph, bench/torch_ref.py, tinygrad) sees the same data and initial
 * parameters. The `clgraph bench` command and tests build their inputs from these. */
#ifndef CG_SPLITMIX_H
#define CG_SPLITMIX_H

#include <stddef.h>
#include <stdint.h>

/* Returns r(s, i), the i-th 64-bit output (i = 0, 1, ...) of stream s: mix64 of
 * s + (i + 1) * 0x9E3779B97F4A7C15, all arithmetic mod 2^64. */
uint64_t cg_splitmix_r(uint64_t s, uint64_t i);

/* Returns u(s, i) = (r(s, i) >> 40) / 2^24, a double in [0, 1) with 24 random bits. */
double cg_splitmix_u(uint64_t s, uint64_t i);

/* Fills out[0..n-1] with Uniform(s, ., lo, hi): out[i] = (float)(lo + (hi - lo) * u(s, i)),
 * evaluated in double and rounded to float once. out must hold n floats. */
void cg_bench_uniform(uint64_t s, size_t n, double lo, double hi, float *out);

/* Fills out[0..n-1] with labels floor(k * u(s, i)), each in [0, k). k must be > 0. */
void cg_bench_labels(uint64_t s, size_t n, int32_t k, int32_t *out);

/* Returns the init bound b = 1/sqrt(fan_in) (in double) of a conv or linear layer whose weight
 * and bias are both Uniform(stream, shape, -b, b). fan_in must be > 0. */
double cg_bench_init_bound(int64_t fan_in);

#endif
