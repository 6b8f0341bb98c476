/* lower_random.c: lowering of the random ops (uniform_like, normal_like, randint, categorical,
 * dropout) to the Philox kernels of cl/random.cl. Every launch has random = 1: the executor
 * appends (seed_lo, seed_hi, step) at each run, the key derived from the run's seed and the
 * node's rng_id, so a draw depends only on (seed, rng_id, element index, step).
 *
 * dropout always applies its mask for now: there is no evaluation mode in the executor yet
 * (issue 6 adds it; at evaluation dropout is the identity). Its gradient is a dropout of gy
 * with the forward node's rng_id (passes/grad_rules.c), hence the same mask. */
#include <stdint.h>
#include <string.h>

#include "exec/lower.h"


enum cg_status cg_lower_random(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int64_t n = cg_lower_numel(l, nd->out);
    if (n > (int64_t)UINT32_MAX)
        return cg_lower_fail(l, "%lld elements are more than the generator counts (2^32)",
                             (long long)n);
    char defs[256] = "";
    cg_defines_add(defs, sizeof defs, "N", n);
    struct cg_karg args[2];
    int nargs = 0;
    const char *kernel;
    switch (nd->op) {
    case CG_OP_uniform_like:
        kernel = "rnd_uniform";
        break;
    case CG_OP_normal_like:
        kernel = "rnd_normal";
        break;
    case CG_OP_randint: {
        int64_t k = cg_lower_attr(l, "n")->i;
        if (k < 1 || k > (int64_t)UINT32_MAX)
            return cg_lower_fail(l, "n must be in [1, 2^32), got %lld", (long long)k);
        kernel = "rnd_randint";
        cg_defines_add(defs, sizeof defs, "NCAT", k);
        break;
    }
    case CG_OP_categorical:
        kernel = "rnd_categorical";
        if (cg_lower_shape_of(l, nd->inputs[0])->rank != 2)
            return cg_lower_fail(l, "p must be [rows, categories]");
        cg_defines_add(defs, sizeof defs, "NCAT", cg_lower_dim(l, nd->inputs[0], 1));
        cg_defines_add(defs, sizeof defs, "KDRAWS", cg_lower_attr(l, "k")->i);
        args[nargs++] = CG_KV(nd->inputs[0]);
        break;
    case CG_OP_dropout: {
        double p = cg_lower_attr(l, "p")->f;
        if (!(p >= 0 && p < 1))
            return cg_lower_fail(l, "p must be in [0, 1), got %g", p);
        kernel = "rnd_dropout";
        cg_defines_addf(defs, sizeof defs, "P", p);
        cg_defines_addf(defs, sizeof defs, "SCALE", 1.0 / (1.0 - p));
        args[nargs++] = CG_KV(nd->inputs[0]);
        break;
    }
    default:
        return cg_lower_fail(l, "internal error: not a random op");
    }
    args[nargs++] = CG_KV(nd->out);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "random.cl", kernel, defs, n);
    d.random = 1;
    return cg_lower_kernel(l, &d, args, nargs);
}
