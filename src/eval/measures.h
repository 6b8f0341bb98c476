/* measures.h: the host-side evaluation measures of `clgraph eval` (docs/EVAL.md, "Measures").
 *
 * Plain C in double precision, no device: classification accuracy and balanced accuracy,
 * per-group accuracy and the worst group, R^2 of known factors predicted from features (linear
 * least squares and RBF kernel ridge, the protocol of the content/style identifiability code),
 * alignment and uniformity of embeddings (Wang & Isola 2020; SEEDS.md section 2) and the
 * probability mass that a P(T|X) model puts on crops intersecting the digit (CRL-TAC). The linear
 * probe itself is trained on the device by src/eval (not here); these functions score what it
 * and the model produce.
 *
 * Conventions: arrays are C-order row-major; features and targets are float32 as the device and
 * the data sets give them, every computation is in double. Every function validates its
 * arguments (sizes, label ranges, finiteness) and returns CG_OK, CG_ERR_INPUT with a message
 * naming the argument, the offending row or value and what is wrong, or CG_ERR_NOMEM. No
 * function keeps a pointer to its arguments; outputs are written only on success. The reference
 * values of the tests come from scikit-learn (tests/eval/gen_fixtures.py). */
#ifndef CG_EVAL_MEASURES_H
#define CG_EVAL_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- Classification ------------------------------------------------------------------------ */

/* Writes pred[i] = argmax_k scores[i*k + c] over c in [0, k) (the first maximum on ties), for
 * i < n. scores must be finite. k >= 1. */
enum cg_status cg_measure_argmax(const float *scores, size_t n, int k, int32_t *pred,
                                 struct cg_error *e);

/* Accuracy: the fraction of i < n with y_pred[i] == y_true[i]. Labels must lie in
 * [0, n_classes); n >= 1. *acc in [0, 1]. */
enum cg_status cg_measure_accuracy(const int32_t *y_true, const int32_t *y_pred, size_t n,
                                   int n_classes, double *acc, struct cg_error *e);

/* Balanced accuracy (scikit-learn's balanced_accuracy_score, adjusted=False): the mean over the
 * classes present in y_true of the per-class recall (correct / count of that true class). Same
 * argument rules as cg_measure_accuracy. */
enum cg_status cg_measure_balanced_accuracy(const int32_t *y_true, const int32_t *y_pred,
                                            size_t n, int n_classes, double *bacc,
                                            struct cg_error *e);

/* One row of a group table. */
struct cg_group_acc {
    size_t count;    /* examples in the group */
    size_t correct;  /* of which predicted correctly */
    double accuracy; /* correct / count; 0 when count is 0 (such a group is not reported) */
};

/* Per-group accuracy: for every group value g in [0, n_groups), out[g] gets the count, the
 * correct predictions and the accuracy of the examples i with group[i] == g (out has n_groups
 * entries). *worst (may be NULL) gets the smallest accuracy over the groups with count > 0
 * (worst-group accuracy). Labels must lie in [0, n_classes), groups in [0, n_groups); n >= 1. */
enum cg_status cg_measure_groups(const int32_t *y_true, const int32_t *y_pred,
                                 const int32_t *group, size_t n, int n_classes, int n_groups,
                                 struct cg_group_acc *out, double *worst, struct cg_error *e);

/* ---- R^2 of known factors from features ---------------------------------------------------- */

/* The default caps on the examples used (a strided subset, rows floor(i * n / max) for
 * i < max, is taken when a split is larger): they bound the time of the fits (docs/EVAL.md). */
#define CG_R2_LINEAR_MAX_TRAIN 20000
#define CG_R2_KRR_MAX_TRAIN 1000
#define CG_R2_MAX_TEST 10000

/* A regression problem: features x [n, dx] and targets y [n, dy] of a train and a test split. */
struct cg_r2_data {
    const float *x_train, *y_train;
    size_t n_train;
    const float *x_test, *y_test;
    size_t n_test;
    int dx, dy;
};

/* R^2 with linear least squares. Features are standardised with the train split's mean and
 * standard deviation (scikit-learn's StandardScaler: a zero deviation counts as 1); an affine
 * map (with intercept) is fitted on the train split by least squares (normal equations with a
 * relative ridge of 1e-10 for stability, solved by Cholesky); *r2 is scikit-learn's r2_score on
 * the test split, averaged uniformly over the dy outputs (an output whose test variance is 0
 * scores 1 when predicted exactly, else 0). max_train (0: CG_R2_LINEAR_MAX_TRAIN) and max_test
 * (0: CG_R2_MAX_TEST) cap the splits by strided subsets. Needs n_train >= 2, n_test >= 1,
 * dx, dy >= 1, finite values. */
enum cg_status cg_measure_r2_linear(const struct cg_r2_data *d, size_t max_train,
                                    size_t max_test, double *r2, struct cg_error *e);

/* Options of the kernel ridge R^2. Zero-initialised means the defaults. */
struct cg_krr_options {
    const double *alphas; /* the regularisation grid, n_alphas values > 0; NULL: the reference
                           * grid {1, 0.1, 0.01, 0.001} */
    int n_alphas;
    const double *gammas; /* the RBF widths, n_gammas values > 0; NULL: the reference grid
                           * logspace(-2, 2, 4) = {0.01, 0.2154.., 4.6416.., 100} */
    int n_gammas;
    int folds;            /* cross-validation folds when the grid has more than one point;
                           * 0: 3; else >= 2 */
    size_t max_train;     /* 0: CG_R2_KRR_MAX_TRAIN */
    size_t max_test;      /* 0: CG_R2_MAX_TEST */
};

/* What the kernel ridge fit chose. */
struct cg_krr_choice {
    double alpha, gamma;
    double cv_r2; /* the mean validation R^2 of the chosen point (NaN without cross-validation) */
};

/* R^2 with RBF kernel ridge regression (scikit-learn's KernelRidge(kernel="rbf"): predictions
 * K(x, X) (K(X, X) + alpha I)^-1 Y, K(a, b) = exp(-gamma ||a - b||^2), no intercept), as the
 * identifiability code evaluates (ysharma1126/ssl_identifiability): features and targets are
 * standardised with the train split's statistics, (alpha, gamma) is chosen on the grid by
 * K-fold cross-validation on the train split (scikit-learn's GridSearchCV: contiguous folds
 * without shuffling, the first n % K folds one longer; mean validation r2_score; the first best
 * point in alpha-major order), the model is refitted on the whole (capped) train split and *r2
 * is r2_score on the test split, uniform over outputs. A grid of one point is used as is.
 * opt may be NULL (defaults). choice may be NULL. Requirements as cg_measure_r2_linear, and
 * n_train >= folds when cross-validating. */
enum cg_status cg_measure_r2_kernel_ridge(const struct cg_r2_data *d,
                                          const struct cg_krr_options *opt, double *r2,
                                          struct cg_krr_choice *choice, struct cg_error *e);

/* ---- Embeddings ---------------------------------------------------------------------------- */

/* Alignment (Wang & Isola, alpha = 2): mean over i < n of ||z[i] - z_pos[i]||^2, for
 * embeddings z and their positives z_pos, both [n, d]. n, d >= 1; values finite. */
enum cg_status cg_measure_alignment(const float *z, const float *z_pos, size_t n, int d,
                                    double *align, struct cg_error *e);

/* The default cap on the examples of the uniformity (O(n^2 d) work): a strided subset. */
#define CG_UNIFORMITY_MAX 4096

/* Uniformity with t = 2 over the pairs i < j of the rows of z [n, d] (a strided subset of at
 * most max_n rows; 0: CG_UNIFORMITY_MAX): *uniformity = mean_{i<j} exp(-2 ||z_i - z_j||^2)
 * (SEEDS.md section 2; lower is more uniform) and *uniformity_log = its natural logarithm
 * (Wang & Isola's uniformity loss), computed as a log-sum-exp so that it stays finite when the
 * mean underflows. Either output may be NULL. n >= 2, d >= 1; values finite. */
enum cg_status cg_measure_uniformity(const float *z, size_t n, int d, size_t max_n,
                                     double *uniformity, double *uniformity_log,
                                     struct cg_error *e);

/* ---- Crop mass of P(T|X) models ------------------------------------------------------------ */

/* A rectangle on the canvas: rows [top, top + height), columns [left, left + width). */
struct cg_box {
    int top, left, height, width;
};

/* The crop grid: crops of size x size at stride over an h x w canvas, numbered row-major over
 * gh = (h - size) / stride + 1 rows and gw = (w - size) / stride + 1 columns (crop_grid's
 * numbering, docs/LANGUAGE.md). CRL-TAC on MNIST-grid: {84, 84, 20, 4}, 17 x 17 = 289 crops. */
struct cg_crop_grid {
    int h, w, size, stride;
};

/* The canvas, cell side and cells per row of the mnist_grid data set (docs/DATA.md). */
#define CG_MNIST_GRID_CANVAS 84
#define CG_MNIST_GRID_CELL 28
#define CG_MNIST_GRID_CELLS 3

/* The digit's box of an mnist_grid example from its `cell` field (0-8, row-major): the 28 x 28
 * cell at row 28 * (cell / 3), column 28 * (cell % 3). A cell outside [0, 9) is CG_ERR_INPUT. */
enum cg_status cg_measure_mnist_grid_box(int32_t cell, struct cg_box *box, struct cg_error *e);

/* Crop mass: for each example i < n, the probability mass of the crops that intersect box[i]
 * (a crop intersects when its overlap area with the box is > 0), divided by the row's total
 * mass; *mass is the mean over examples. probs is [n, gh * gw] (the grid's crop count), each row
 * non-negative, finite and summing to 1 within 1e-3 (softmax output). The grid must be valid
 * (size <= h, w; stride >= 1) and every box non-empty. */
enum cg_status cg_measure_crop_mass(const float *probs, const struct cg_box *box, size_t n,
                                    const struct cg_crop_grid *grid, double *mass,
                                    struct cg_error *e);

#endif
