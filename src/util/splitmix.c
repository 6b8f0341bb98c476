/* splitmix.c: counter-based splitmix64 streams and the benchmark's uniform data, labels and
 * parameter-init bounds, exactly as BENCH.md section 1 defines them (see splitmix.h). */
#include "util/splitmix.h"

#include <math.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t cg_splitmix_r(uint64_t s, uint64_t i)
{
    return mix64(s + (i + 1) * 0x9E3779B97F4A7C15ULL);
}

double cg_splitmix_u(uint64_t s, uint64_t i)
{
    return (double)(cg_splitmix_r(s, i) >> 40) * (1.0 / 16777216.0);
}

void cg_bench_uniform(uint64_t s, size_t n, double lo, double hi, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(lo + (hi - lo) * cg_splitmix_u(s, i));
}

void cg_bench_labels(uint64_t s, size_t n, int32_t k, int32_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int32_t)floor((double)k * cg_splitmix_u(s, i));
}

double cg_bench_init_bound(int64_t fan_in)
{
    return 1.0 / sqrt((double)fan_in);
}
