/* pca.c: PCA of pca.h: centring, the covariance or subspace iteration, Jacobi rotations, the
 * sign convention and the projection. */
#include "eval/pca.h"

#include <math.h>
#include <string.h>

#include "util/splitmix.h"

#define SMALL_D 64
#define MAX_K 8

void cg_eigen_sym(double *a, int m, double *w, double *v)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            v[i * m + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < m; p++) {
            diag += a[p * m + p] * a[p * m + p];
            for (int q = p + 1; q < m; q++)
                off += a[p * m + q] * a[p * m + q];
        }
        if (off <= 1e-30 * diag || off == 0)
            break;
        for (int p = 0; p < m; p++)
            for (int q = p + 1; q < m; q++) {
                double apq = a[p * m + q];
                if (apq == 0)
                    continue;
                /* the rotation that zeroes a[p][q] (Golub & Van Loan, sym.schur2) */
                double theta = (a[q * m + q] - a[p * m + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < m; k++) { /* columns p, q */
                    double akp = a[k * m + p], akq = a[k * m + q];
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for (int k = 0; k < m; k++) { /* rows p, q */
                    double apk = a[p * m + k], aqk = a[q * m + k];
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < m; k++) {
                    double vkp = v[k * m + p], vkq = v[k * m + q];
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < m; i++)
        w[i] = a[i * m + i];
    /* selection sort, descending, moving the eigenvector columns along */
    for (int i = 0; i < m; i++) {
        int best = i;
        for (int j = i + 1; j < m; j++)
            if (w[j] > w[best])
                best = j;
        if (best == i)
            continue;
        double t = w[i];
        w[i] = w[best], w[best] = t;
        for (int k = 0; k < m; k++) {
            t = v[k * m + i];
            v[k * m + i] = v[k * m + best], v[k * m + best] = t;
        }
    }
}

/* Orthonormalises the p columns of q (d x p, row-major) by modified Gram-Schmidt, twice. A
 * column that vanishes is replaced by a unit vector of a fresh stream. */
static void orthonormalise(double *q, size_t d, int p, uint64_t *seed)
{
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < p; j++) {
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (size_t f = 0; f < d; f++)
                    dot += q[f * (size_t)p + (size_t)i] * q[f * (size_t)p + (size_t)j];
                for (size_t f = 0; f < d; f++)
                    q[f * (size_t)p + (size_t)j] -= dot * q[f * (size_t)p + (size_t)i];
            }
            double nrm = 0;
            for (size_t f = 0; f < d; f++)
                nrm += q[f * (size_t)p + (size_t)j] * q[f * (size_t)p + (size_t)j];
            nrm = sqrt(nrm);
            if (nrm < 1e-200) {
                for (size_t f = 0; f < d; f++)
                    q[f * (size_t)p + (size_t)j] = cg_splitmix_u(0x5eed, (*seed)++) - 0.5;
                j--; /* orthogonalise the fresh column again */
                continue;
            }
            for (size_t f = 0; f < d; f++)
                q[f * (size_t)p + (size_t)j] /= nrm;
        }
}

/* t = Xc q (n x p), with Xc the data centred by mu. */
static void times_q(const float *x, const double *mu, size_t n, size_t d, const double *q,
                    int p, double *t)
{
    memset(t, 0, n * (size_t)p * sizeof *t);
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < d; f++) {
            double xc = (double)x[i * d + f] - mu[f];
            for (int j = 0; j < p; j++)
                t[i * (size_t)p + (size_t)j] += xc * q[f * (size_t)p + (size_t)j];
        }
}

/* The top k eigenvectors of the covariance by subspace iteration (see pca.h) into vec (d x k,
 * column j the j-th) and their eigenvalues into w. */
static enum cg_status subspace(const float *x, const double *mu, size_t n, size_t d, int k,
                               double *vec, double *w, struct cg_error *e)
{
    int p = k + 6 < (int)d ? k + 6 : (int)d;
    double *q = cg_malloc(d * (size_t)p * sizeof *q), *t = cg_malloc(n * (size_t)p * sizeof *t);
    double *prev = cg_calloc(d * (size_t)k, sizeof *prev);
    double b[MAX_K + 6][MAX_K + 6], bw[MAX_K + 6], bv[(MAX_K + 6) * (MAX_K + 6)];
    if (!q || !t || !prev) {
        cg_free(q), cg_free(t), cg_free(prev);
        return cg_error_nomem(e);
    }
    uint64_t seed = 0; /* the counter of the stream of starting vectors */
    for (size_t i = 0; i < d * (size_t)p; i++)
        q[i] = cg_splitmix_u(0x5eed, seed++) - 0.5;
    orthonormalise(q, d, p, &seed);
    for (int it = 0; it < 500; it++) {
        /* q <- Xc^T Xc q, orthonormalised */
        times_q(x, mu, n, d, q, p, t);
        memset(q, 0, d * (size_t)p * sizeof *q);
        for (size_t i = 0; i < n; i++)
            for (size_t f = 0; f < d; f++) {
                double xc = (double)x[i * d + f] - mu[f];
                for (int j = 0; j < p; j++)
                    q[f * (size_t)p + (size_t)j] += xc * t[i * (size_t)p + (size_t)j];
            }
        orthonormalise(q, d, p, &seed);
        /* Rayleigh-Ritz: B = (Xc q)^T (Xc q) / (n - 1), q <- q V */
        times_q(x, mu, n, d, q, p, t);
        double *bf = &b[0][0];
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++) {
                double s = 0;
                for (size_t i = 0; i < n; i++)
                    s += t[i * (size_t)p + (size_t)r] * t[i * (size_t)p + (size_t)c];
                bf[r * p + c] = s / (double)(n - 1);
            }
        cg_eigen_sym(bf, p, bw, bv);
        double row[MAX_K + 6];
        for (size_t f = 0; f < d; f++) {
            for (int c = 0; c < p; c++) {
                double s = 0;
                for (int r = 0; r < p; r++)
                    s += q[f * (size_t)p + (size_t)r] * bv[r * p + c];
                row[c] = s;
            }
            memcpy(q + f * (size_t)p, row, (size_t)p * sizeof *row);
        }
        /* converged when the wanted vectors (up to sign) stop moving */
        double change = 0;
        for (int j = 0; j < k; j++) {
            double dot = 0;
            for (size_t f = 0; f < d; f++)
                dot += q[f * (size_t)p + (size_t)j] * prev[f * (size_t)k + (size_t)j];
            double c = 1 - fabs(dot);
            if (c > change)
                change = c;
            for (size_t f = 0; f < d; f++)
                prev[f * (size_t)k + (size_t)j] = q[f * (size_t)p + (size_t)j];
        }
        for (int j = 0; j < k; j++)
            w[j] = bw[j];
        if (it > 0 && change < 1e-15)
            break;
    }
    memcpy(vec, prev, d * (size_t)k * sizeof *vec);
    cg_free(q), cg_free(t), cg_free(prev);
    return CG_OK;
}

enum cg_status cg_pca(const float *x, size_t n, size_t d, int k, double *out, double *var,
                      double *total, struct cg_error *e)
{
    if (n < 2 || d < 1 || k < 1 || k > MAX_K || (size_t)k > d)
        return cg_error_set(e, CG_ERR_INPUT, "PCA of %zu examples of %zu features onto %d "
                            "components: needs at least 2 examples and 1 <= components <= "
                            "min(features, %d)", n, d, k, MAX_K);
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return cg_error_set(e, CG_ERR_INPUT, "PCA: example %zu, feature %zu is %g (not "
                                "finite)", i / d, i % d, (double)x[i]);
    double *mu = cg_calloc(d, sizeof *mu), *vec = cg_malloc(d * (size_t)k * sizeof *vec);
    double w[MAX_K];
    enum cg_status st = CG_OK;
    double *c = NULL, *cw = NULL, *cv = NULL;
    if (!mu || !vec) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < d; f++)
            mu[f] += x[i * d + f];
    for (size_t f = 0; f < d; f++)
        mu[f] /= (double)n;
    double tr = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < d; f++) {
            double xc = (double)x[i * d + f] - mu[f];
            tr += xc * xc;
        }
    tr /= (double)(n - 1);
    if (d <= SMALL_D) {
        c = cg_calloc(d * d, sizeof *c), cw = cg_malloc(d * sizeof *cw);
        cv = cg_malloc(d * d * sizeof *cv);
        if (!c || !cw || !cv) {
            st = cg_error_nomem(e);
            goto error;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t a = 0; a < d; a++) {
                double xa = (double)x[i * d + a] - mu[a];
                for (size_t b = a; b < d; b++)
                    c[a * d + b] += xa * ((double)x[i * d + b] - mu[b]);
            }
        for (size_t a = 0; a < d; a++)
            for (size_t b = a; b < d; b++)
                c[b * d + a] = c[a * d + b] /= (double)(n - 1);
        cg_eigen_sym(c, (int)d, cw, cv);
        for (int j = 0; j < k; j++) {
            w[j] = cw[j];
            for (size_t f = 0; f < d; f++)
                vec[f * (size_t)k + (size_t)j] = cv[f * d + (size_t)j];
        }
    } else {
        st = subspace(x, mu, n, d, k, vec, w, e);
        if (st != CG_OK)
            goto error;
    }
    for (int j = 0; j < k; j++) { /* sign: the largest-magnitude loading is positive */
        size_t big = 0;
        for (size_t f = 1; f < d; f++)
            if (fabs(vec[f * (size_t)k + (size_t)j]) > fabs(vec[big * (size_t)k + (size_t)j]))
                big = f;
        if (vec[big * (size_t)k + (size_t)j] < 0)
            for (size_t f = 0; f < d; f++)
                vec[f * (size_t)k + (size_t)j] = -vec[f * (size_t)k + (size_t)j];
        if (var)
            var[j] = w[j] > 0 ? w[j] : 0;
    }
    if (total)
        *total = tr;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            double s = 0;
            for (size_t f = 0; f < d; f++)
                s += ((double)x[i * d + f] - mu[f]) * vec[f * (size_t)k + (size_t)j];
            out[i * (size_t)k + (size_t)j] = s;
        }
error:
    cg_free(mu), cg_free(vec), cg_free(c), cg_free(cw), cg_free(cv);
    return st;
}
