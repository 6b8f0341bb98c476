/* op_test.h: shared helpers of the device op tests (tests/test_ops_*.c), header-only.
 *
 * ot_run compiles a small graph (text) for the test device (CLGRAPH_DEVICE or the default),
 * feeds named arrays, runs it once and returns fetched values and, optionally, gradients of a
 * scalar target (through the autodiff pass). ot_fd_grad computes central finite differences of
 * a double-precision reference function, the oracle for gradients. ot_close compares arrays
 * with a relative and an absolute tolerance and prints the worst element on failure.
 *
 *     float *y;
 *     struct ot_feed in[] = {{"x", xs, NULL, 12}};
 *     const char *fetch[] = {"y"};
 *     assert_int_equal(ot_run("input x : f32[3, 4]\ny = relu(x)\n", in, 1, fetch, 1, &y,
 *                             NULL, NULL, 0, NULL), 0);
 *     assert_true(ot_close(y, ref, 12, 1e-5, 1e-6));
 *     free(y);
 */
#ifndef OP_TEST_H
#define OP_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "ir/build.h"
#include "passes/grad.h"
#include "runtime/runtime.h"

struct ot_feed {
    const char *name;
    const float *f;   /* f32 data, or */
    const int32_t *i; /* i32 data */
    size_t n;         /* elements */
};

static struct cg_device *ot_dev;

static struct cg_device *ot_device(void)
{
    if (!ot_dev) {
        struct cg_error e;
        if (cg_device_open(NULL, 0, &ot_dev, &e) != CG_OK) {
            fprintf(stderr, "%s\n", e.msg);
            return NULL;
        }
    }
    return ot_dev;
}

/* Runs graph text. out[k] (malloc'd, caller frees) receives fetch[k]; grads[k] receives the
 * gradient of grad_of with respect to wrt[k] (zeros when independent). Internal ops may be
 * called in the text. Returns 0, or -1 after printing the error. */
static int ot_run(const char *text, const struct ot_feed *feeds, int nfeeds, const char **fetch,
                  int nfetch, float **out, const char *grad_of, const char **wrt, int nwrt,
                  float **grads)
{
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    struct cg_exec *x = NULL;
    int gv[64], wv[64], rc = -1;
    cg_build_allow_internal_ops(1);
    enum cg_status st = cg_graph_load_text("test.graph", text, strlen(text), &g, &e);
    cg_build_allow_internal_ops(0);
    if (st == CG_OK && nwrt > 0) {
        int t = cg_graph_find_value(g, grad_of);
        for (int k = 0; k < nwrt; k++)
            wv[k] = cg_graph_find_value(g, wrt[k]);
        st = cg_autodiff(g, t, wv, nwrt, gv, &e);
    }
    if (st == CG_OK && !ot_device())
        goto done;
    if (st == CG_OK)
        st = cg_exec_create(g, ot_dev, &x, &e);
    if (st == CG_OK)
        st = cg_exec_init_params(x, 0, &e);
    for (int f = 0; f < nfeeds && st == CG_OK; f++) {
        int v = cg_graph_find_value(g, feeds[f].name);
        if (v < 0) {
            fprintf(stderr, "ot_run: no value %s\n", feeds[f].name);
            goto done;
        }
        st = cg_exec_write(x, v, feeds[f].f ? (const void *)feeds[f].f : (const void *)feeds[f].i,
                           feeds[f].n * 4, &e);
    }
    if (st == CG_OK)
        st = cg_exec_run(x, 0, 0, &e);
    for (int k = 0; k < nfetch && st == CG_OK; k++) {
        int v = cg_graph_find_value(g, fetch[k]);
        int64_t n = v >= 0 ? cg_shape_numel(g, &g->values[v].shape) : 0;
        out[k] = calloc((size_t)(n ? n : 1), 4);
        if (v < 0) {
            fprintf(stderr, "ot_run: no value %s\n", fetch[k]);
            goto done;
        }
        st = cg_exec_read(x, v, out[k], (size_t)n * 4, &e);
    }
    for (int k = 0; k < nwrt && st == CG_OK; k++) {
        int64_t n = cg_shape_numel(g, &g->values[wv[k]].shape);
        grads[k] = calloc((size_t)(n ? n : 1), 4);
        if (gv[k] >= 0)
            st = cg_exec_read(x, gv[k], grads[k], (size_t)n * 4, &e);
    }
    rc = st == CG_OK ? 0 : -1;
    if (st != CG_OK)
        fprintf(stderr, "%s\n", e.msg);
done:
    cg_exec_destroy(x);
    cg_graph_destroy(g);
    return rc;
}

/* Central finite differences of f at x[0..n) in double: g[i] = (f(x+h e_i) - f(x-h e_i)) / 2h. */
static void ot_fd_grad(double (*f)(const double *x, void *ctx), void *ctx, double *x, size_t n,
                       double h, double *g)
{
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double fp = f(x, ctx);
        x[i] = keep - h;
        double fm = f(x, ctx);
        x[i] = keep;
        g[i] = (fp - fm) / (2 * h);
    }
}

/* |got - want| <= atol + rtol * |want| everywhere; prints the worst element otherwise. */
static int ot_close(const float *got, const double *want, size_t n, double rtol, double atol)
{
    size_t worst = 0;
    double worst_excess = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]), lim = atol + rtol * fabs(want[i]);
        if (!(err <= lim) && (err - lim > worst_excess || !(err == err))) {
            worst_excess = err == err ? err - lim : INFINITY;
            worst = i;
        }
    }
    if (worst_excess > 0) {
        fprintf(stderr, "ot_close: element %zu: got %.9g, want %.9g (rtol %g, atol %g)\n", worst,
                (double)got[worst], want[worst], rtol, atol);
        return 0;
    }
    return 1;
}

/* A malloc'd double copy of n floats (the references work in double). */
static inline double *ot_to_double(const float *f, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

/* Deterministic test data: smooth, varied, away from 0 by a margin when margin > 0. */
static void ot_fill(float *x, size_t n, int seed, double margin)
{
    for (size_t i = 0; i < n; i++) {
        double v = sin(0.37 * (double)i + 1.7 * seed) + 0.3 * cos(1.1 * (double)i + 0.5 * seed);
        if (margin > 0 && fabs(v) < margin)
            v = v < 0 ? v - margin : v + margin;
        x[i] = (float)v;
    }
}

#endif
