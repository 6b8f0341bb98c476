/* pca.h: principal component analysis on the host, in double precision, for the embedding
 * scatter of the run report (and any other 2-D view of features).
 *
 * The symmetric eigenproblem is solved by cyclic Jacobi rotations (exact to rounding). For few
 * dimensions (d <= 64) the d x d covariance is decomposed whole; for more, the top components
 * come from subspace iteration on X^T X (never forming it: each step is two products with the
 * centred data) with a Rayleigh-Ritz step through the same Jacobi solver, iterated until the
 * wanted eigenvalues no longer change (relative 1e-13) or 500 steps. Each component's sign is
 * fixed so that its largest-magnitude loading is positive, so results are deterministic. */
#ifndef CG_PCA_H
#define CG_PCA_H

#include <stddef.h>

#include "util/util.h"

/* Eigen-decomposition of the symmetric m x m matrix a (row-major, destroyed): eigenvalues in
 * w[0..m) in descending order, eigenvectors as the columns of v (m x m, row-major: v[i*m+k] is
 * component i of eigenvector k). Cyclic Jacobi, at most 100 sweeps. */
void cg_eigen_sym(double *a, int m, double *w, double *v);

/* Projects n examples of d features (x, row-major f32) onto their first k principal components
 * (1 <= k <= d, k <= 8): out[i*k + j] is example i's coordinate along component j (the data
 * centred by its mean). var[j] (may be NULL) receives component j's variance (denominator
 * n - 1) and *total (may be NULL) the total variance (the trace), so var[j] / *total is the
 * explained fraction. Non-finite inputs are refused. Returns CG_OK, CG_ERR_INPUT (n < 2, bad k,
 * a NaN or Inf, naming its example and feature), CG_ERR_NOMEM. */
enum cg_status cg_pca(const float *x, size_t n, size_t d, int k, double *out, double *var,
                      double *total, struct cg_error *e);

#endif
