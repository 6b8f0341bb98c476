/* measures_bench.c: wall time of the host R^2 and uniformity measures (src/eval/measures.h) on
 * synthetic features, for docs/EVAL.md. Built as build/measures_bench, not a test.
 *
 *     build/measures_bench [N_TRAIN [N_TEST]]    (default 2000 2000)
 *
 * For feature widths 5 and 200 (targets: 5 latents, features a fixed random nonlinear map of
 * them plus noise) it prints the CPU seconds (one thread) of the linear R^2 (all train rows), of
 * the kernel ridge R^2 with the default cap (CG_R2_KRR_MAX_TRAIN, 16-point grid, 3 folds) and
 * with the cap at N_TRAIN, and of the uniformity of N_TRAIN rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "eval/measures.h"

/* Process CPU seconds: on a shared machine the wall time says more about the neighbours. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long rng_state = 42;
static double unif(void) /* splitmix64, in [0, 1) */
{
    unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* z [n, 5] uniform latents; x [n, dx] = tanh(z W + b) + noise with a fixed W, b. */
static void make(size_t n, int dx, const double *w, float *x, float *z)
{
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 5; k++)
            z[i * 5 + (size_t)k] = (float)(2 * unif() - 1);
        for (int j = 0; j < dx; j++) {
            double s = w[5 * dx + j];
            for (int k = 0; k < 5; k++)
                s += z[i * 5 + (size_t)k] * w[k * dx + j];
            x[i * (size_t)dx + (size_t)j] = (float)(tanh(s) + 0.01 * (unif() - 0.5));
        }
    }
}

int main(int argc, char **argv)
{
    size_t ntr = argc > 1 ? (size_t)atol(argv[1]) : 2000, nte = argc > 2 ? (size_t)atol(argv[2])
                                                                           : 2000;
    const int widths[] = {5, 200};
    for (int wi = 0; wi < 2; wi++) {
        int dx = widths[wi];
        double *w = malloc((size_t)(6 * dx) * sizeof *w);
        float *x = malloc(ntr * (size_t)dx * sizeof *x), *z = malloc(ntr * 5 * sizeof *z);
        float *xt = malloc(nte * (size_t)dx * sizeof *xt), *zt = malloc(nte * 5 * sizeof *zt);
        if (!w || !x || !z || !xt || !zt)
            return 2;
        for (int k = 0; k < 6 * dx; k++)
            w[k] = 2 * unif() - 1;
        make(ntr, dx, w, x, z);
        make(nte, dx, w, xt, zt);
        struct cg_r2_data d = {x, z, ntr, xt, zt, nte, dx, 5};
        struct cg_error e = {0};
        double r2, u;
        double t0 = now();
        if (cg_measure_r2_linear(&d, ntr, nte, &r2, &e) != CG_OK)
            return fprintf(stderr, "%s\n", e.msg), 1;
        double t1 = now();
        printf("dx %3d: linear R^2 %.4f  %.3f s (%zu train, %zu test)\n", dx, r2, t1 - t0, ntr,
               nte);
        size_t caps[2] = {0, ntr};
        for (int c = 0; c < 2; c++) {
            struct cg_krr_options o = {.max_train = caps[c], .max_test = nte};
            struct cg_krr_choice ch;
            t0 = now();
            if (cg_measure_r2_kernel_ridge(&d, &o, &r2, &ch, &e) != CG_OK)
                return fprintf(stderr, "%s\n", e.msg), 1;
            t1 = now();
            size_t used = caps[c] ? caps[c] : CG_R2_KRR_MAX_TRAIN;
            printf("dx %3d: kernel ridge R^2 %.4f  %.3f s (train capped at %zu; alpha %g, "
                   "gamma %.3g)\n",
                   dx, r2, t1 - t0, used < ntr ? used : ntr, ch.alpha, ch.gamma);
        }
        t0 = now();
        if (cg_measure_uniformity(x, ntr, dx, ntr, &u, NULL, &e) != CG_OK)
            return fprintf(stderr, "%s\n", e.msg), 1;
        printf("dx %3d: uniformity %.4g  %.3f s (%zu rows)\n", dx, u, now() - t0, ntr);
        free(w);
        free(x);
        free(z);
        free(xt);
        free(zt);
    }
    return 0;
}
