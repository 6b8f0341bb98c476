/* measures.c: the host-side evaluation measures of measures.h, in double precision.
 *
 * Classification scores count; the R^2 measures standardise, fit and score as scikit-learn does
 * (StandardScaler, LinearRegression, KernelRidge with GridSearchCV, r2_score), with one dense
 * Cholesky solver (row-major lower triangle, dot products with four accumulators) for both the
 * normal equations and the kernel systems; uniformity is a pairwise log-sum-exp; crop mass sums
 * the probabilities of the grid crops that overlap the box. Large inputs are capped by strided
 * subsets (rows floor(i * n / m)), which NumPy reproduces as (np.arange(m) * n) // m. */
#include "eval/measures.h"

#include <math.h>
#include <string.h>

/* ---- Argument checks --------------------------------------------------------------------- */

static enum cg_status need_ptr(const void *p, const char *fn, const char *arg, struct cg_error *e)
{
    return p ? CG_OK : cg_error_set(e, CG_ERR_INPUT, "%s: %s is NULL", fn, arg);
}

/* Checks that the rows x cols floats at a are finite; names fn, the array, the row and column. */
static enum cg_status check_finite(const float *a, size_t rows, int cols, const char *fn,
                                   const char *arg, struct cg_error *e)
{
    for (size_t i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (!isfinite(a[i * (size_t)cols + (size_t)j]))
                return cg_error_set(e, CG_ERR_INPUT, "%s: %s[%zu][%d] is not finite (%g)", fn,
                                    arg, i, j, (double)a[i * (size_t)cols + (size_t)j]);
    return CG_OK;
}

/* Checks that the n labels at y lie in [0, k); what says what they are ("class", "group"). */
static enum cg_status check_labels(const int32_t *y, size_t n, int k, const char *fn,
                                   const char *arg, const char *what, struct cg_error *e)
{
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= k)
            return cg_error_set(e, CG_ERR_INPUT,
                                "%s: %s[%zu] = %d is not a %s in [0, %d)", fn, arg, i,
                                (int)y[i], what, k);
    return CG_OK;
}

static enum cg_status check_class_args(const int32_t *y_true, const int32_t *y_pred, size_t n,
                                       int n_classes, const char *fn, struct cg_error *e)
{
    CG_TRY(need_ptr(y_true, fn, "y_true", e));
    CG_TRY(need_ptr(y_pred, fn, "y_pred", e));
    if (n < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: no examples (n = 0)", fn);
    if (n_classes < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: n_classes = %d, must be >= 1", fn, n_classes);
    CG_TRY(check_labels(y_true, n, n_classes, fn, "y_true", "class", e));
    return check_labels(y_pred, n, n_classes, fn, "y_pred", "class", e);
}

/* Row i of a strided subset of m rows out of n (identity when m >= n). */
static size_t sub_row(size_t i, size_t n, size_t m)
{
    return m >= n ? i : (size_t)((unsigned long long)i * n / m);
}

/* ---- Classification ------------------------------------------------------------------------ */

enum cg_status cg_measure_argmax(const float *scores, size_t n, int k, int32_t *pred,
                                 struct cg_error *e)
{
    const char *fn = "argmax";
    CG_TRY(need_ptr(scores, fn, "scores", e));
    CG_TRY(need_ptr(pred, fn, "pred", e));
    if (n < 1 || k < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: empty scores [%zu, %d]", fn, n, k);
    CG_TRY(check_finite(scores, n, k, fn, "scores", e));
    for (size_t i = 0; i < n; i++) {
        const float *s = scores + i * (size_t)k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (s[c] > s[best])
                best = c;
        pred[i] = best;
    }
    return CG_OK;
}

enum cg_status cg_measure_accuracy(const int32_t *y_true, const int32_t *y_pred, size_t n,
                                   int n_classes, double *acc, struct cg_error *e)
{
    CG_TRY(need_ptr(acc, "accuracy", "acc", e));
    CG_TRY(check_class_args(y_true, y_pred, n, n_classes, "accuracy", e));
    size_t correct = 0;
    for (size_t i = 0; i < n; i++)
        correct += y_true[i] == y_pred[i];
    *acc = (double)correct / (double)n;
    return CG_OK;
}

enum cg_status cg_measure_balanced_accuracy(const int32_t *y_true, const int32_t *y_pred,
                                            size_t n, int n_classes, double *bacc,
                                            struct cg_error *e)
{
    const char *fn = "balanced accuracy";
    CG_TRY(need_ptr(bacc, fn, "bacc", e));
    CG_TRY(check_class_args(y_true, y_pred, n, n_classes, fn, e));
    size_t *cnt = cg_calloc(2 * (size_t)n_classes, sizeof *cnt);
    if (!cnt)
        return cg_error_nomem(e);
    size_t *hit = cnt + n_classes;
    for (size_t i = 0; i < n; i++) {
        cnt[y_true[i]]++;
        hit[y_true[i]] += y_true[i] == y_pred[i];
    }
    double sum = 0;
    int present = 0;
    for (int c = 0; c < n_classes; c++)
        if (cnt[c]) {
            sum += (double)hit[c] / (double)cnt[c];
            present++;
        }
    cg_free(cnt);
    *bacc = sum / present; /* present >= 1 since n >= 1 */
    return CG_OK;
}

enum cg_status cg_measure_groups(const int32_t *y_true, const int32_t *y_pred,
                                 const int32_t *group, size_t n, int n_classes, int n_groups,
                                 struct cg_group_acc *out, double *worst, struct cg_error *e)
{
    const char *fn = "group accuracy";
    CG_TRY(need_ptr(group, fn, "group", e));
    CG_TRY(need_ptr(out, fn, "out", e));
    CG_TRY(check_class_args(y_true, y_pred, n, n_classes, fn, e));
    if (n_groups < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: n_groups = %d, must be >= 1", fn, n_groups);
    CG_TRY(check_labels(group, n, n_groups, fn, "group", "group", e));
    memset(out, 0, (size_t)n_groups * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[group[i]].count++;
        out[group[i]].correct += y_true[i] == y_pred[i];
    }
    double w = INFINITY;
    for (int g = 0; g < n_groups; g++)
        if (out[g].count) {
            out[g].accuracy = (double)out[g].correct / (double)out[g].count;
            w = fmin(w, out[g].accuracy);
        }
    if (worst)
        *worst = w; /* finite: some group has the examples */
    return CG_OK;
}

/* ---- Dense linear algebra ------------------------------------------------------------------ */

/* Dot product of n doubles with four accumulators (independent chains, so it runs at the
 * machine's throughput rather than the adder's latency). */
static double dot(const double *a, const double *b, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

/* In-place Cholesky factorisation A = L L^T of the symmetric n x n row-major matrix a (only the
 * lower triangle is read; L overwrites it). Returns 0, or -1 when a is not positive definite.
 * Row-oriented (each L[i][j] is a dot product of rows i and j), two rows against four columns at
 * a time: eight independent sums per pass over k load six values instead of sixteen, which is
 * what bounds the speed (about 12 GFLOP/s against 7 for one product at a time at n = 1000 on the
 * CI machine's core, 8 against 2.4 at n = 2000). */
static int cholesky(double *a, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        int two = i + 1 < n;
        double *r0 = a + i * n, *r1 = two ? r0 + n : r0;
        size_t j = 0;
        for (; j + 4 <= i; j += 4) {
            const double *c[4] = {a + j * n, a + (j + 1) * n, a + (j + 2) * n, a + (j + 3) * n};
            double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
            for (size_t k = 0; k < j; k++) {
                double x0 = r0[k], x1 = r1[k];
                double y0 = c[0][k], y1 = c[1][k], y2 = c[2][k], y3 = c[3][k];
                s00 += x0 * y0;
                s01 += x0 * y1;
                s02 += x0 * y2;
                s03 += x0 * y3;
                s10 += x1 * y0;
                s11 += x1 * y1;
                s12 += x1 * y2;
                s13 += x1 * y3;
            }
            const double s0[4] = {s00, s01, s02, s03}, s1[4] = {s10, s11, s12, s13};
            /* the columns j..j+3 themselves, in order (each uses the ones before it) */
            for (int q = 0; q < 4; q++) {
                double t0 = r0[j + q] - s0[q], t1 = r1[j + q] - s1[q];
                for (int p = 0; p < q; p++) {
                    t0 -= r0[j + p] * c[q][j + p];
                    t1 -= r1[j + p] * c[q][j + p];
                }
                r0[j + q] = t0 / c[q][j + q];
                if (two)
                    r1[j + q] = t1 / c[q][j + q];
            }
        }
        for (; j < i; j++) {
            const double *rj = a + j * n;
            r0[j] = (r0[j] - dot(r0, rj, j)) / rj[j];
            if (two)
                r1[j] = (r1[j] - dot(r1, rj, j)) / rj[j];
        }
        double d = r0[i] - dot(r0, r0, i);
        if (!(d > 0))
            return -1;
        r0[i] = sqrt(d);
        if (two) {
            r1[i] = (r1[i] - dot(r1, r0, i)) / r0[i];
            d = r1[i + 1] - dot(r1, r1, i + 1);
            if (!(d > 0))
                return -1;
            r1[i + 1] = sqrt(d);
        }
    }
    return 0;
}

/* Solves L L^T X = B in place for the n x m row-major right-hand sides b, with the factor of
 * cholesky(), all m columns together and both substitutions along rows of L (contiguous). */
static void cholesky_solve(const double *l, size_t n, double *b, size_t m)
{
    for (size_t i = 0; i < n; i++) { /* L Y = B: row i of Y from the rows above */
        const double *li = l + i * n;
        double *bi = b + i * m;
        for (size_t k = 0; k < i; k++) {
            double v = li[k];
            const double *bk = b + k * m;
            for (size_t c = 0; c < m; c++)
                bi[c] -= v * bk[c];
        }
        for (size_t c = 0; c < m; c++)
            bi[c] /= li[i];
    }
    for (size_t i = n; i-- > 0;) { /* L^T X = Y: row i of X is final, push it up its column */
        const double *li = l + i * n;
        double *bi = b + i * m;
        for (size_t c = 0; c < m; c++)
            bi[c] /= li[i];
        for (size_t k = 0; k < i; k++) {
            double v = li[k];
            double *bk = b + k * m;
            for (size_t c = 0; c < m; c++)
                bk[c] -= v * bi[c];
        }
    }
}

/* ---- R^2 ----------------------------------------------------------------------------------- */

/* Checks a regression problem's pointers, sizes and values (all rows, not only the subset). */
static enum cg_status check_r2_data(const struct cg_r2_data *d, const char *fn, struct cg_error *e)
{
    CG_TRY(need_ptr(d, fn, "data", e));
    CG_TRY(need_ptr(d->x_train, fn, "x_train", e));
    CG_TRY(need_ptr(d->y_train, fn, "y_train", e));
    CG_TRY(need_ptr(d->x_test, fn, "x_test", e));
    CG_TRY(need_ptr(d->y_test, fn, "y_test", e));
    if (d->dx < 1 || d->dy < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: %d features and %d targets, need >= 1 of each",
                            fn, d->dx, d->dy);
    if (d->n_train < 2)
        return cg_error_set(e, CG_ERR_INPUT, "%s: %zu train examples, need >= 2", fn,
                            d->n_train);
    if (d->n_test < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: no test examples", fn);
    CG_TRY(check_finite(d->x_train, d->n_train, d->dx, fn, "x_train", e));
    CG_TRY(check_finite(d->y_train, d->n_train, d->dy, fn, "y_train", e));
    CG_TRY(check_finite(d->x_test, d->n_test, d->dx, fn, "x_test", e));
    return check_finite(d->y_test, d->n_test, d->dy, fn, "y_test", e);
}

/* Mean and scale (StandardScaler: population deviation; 1 where it is 0 or negligible against
 * the mean) of the m-row subset of the n x c float matrix a, into mean[c], scale[c]. */
static void column_stats(const float *a, size_t n, size_t m, int c, double *mean, double *scale)
{
    size_t rows = m < n ? m : n;
    for (int j = 0; j < c; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < rows; i++)
            s += a[sub_row(i, n, m) * (size_t)c + (size_t)j];
        double mu = s / (double)rows;
        for (size_t i = 0; i < rows; i++) {
            double v = a[sub_row(i, n, m) * (size_t)c + (size_t)j] - mu;
            s2 += v * v;
        }
        double sd = sqrt(s2 / (double)rows);
        mean[j] = mu;
        scale[j] = sd > 1e-12 * fmax(1.0, fabs(mu)) ? sd : 1.0;
    }
}

/* Writes the m-row subset of the n x c float matrix a, standardised by mean and scale (NULL:
 * copied as is), into the m x c double matrix out (m <= n). */
static void standardise(const float *a, size_t n, size_t m, int c, const double *mean,
                        const double *scale, double *out)
{
    for (size_t i = 0; i < m; i++) {
        const float *r = a + sub_row(i, n, m) * (size_t)c;
        for (int j = 0; j < c; j++)
            out[i * (size_t)c + (size_t)j] =
                mean ? (r[j] - mean[j]) / scale[j] : (double)r[j];
    }
}

/* Writes the design matrix of the m-row subset of the n x c float matrix a into out (m x (c+1)):
 * each row standardised by mean and scale, then a 1 for the intercept. */
static void design(const float *a, size_t n, size_t m, int c, const double *mean,
                   const double *scale, double *out)
{
    size_t c1 = (size_t)c + 1;
    for (size_t i = 0; i < m; i++) {
        const float *r = a + sub_row(i, n, m) * (size_t)c;
        for (int j = 0; j < c; j++)
            out[i * c1 + (size_t)j] = (r[j] - mean[j]) / scale[j];
        out[i * c1 + (size_t)c] = 1.0;
    }
}

/* scikit-learn's r2_score(y, p, multioutput="uniform_average") of m x c matrices (rows
 * y[rows[i]] when rows is not NULL): per output 1 - SS_res / SS_tot, an output with SS_tot == 0
 * scoring 1 if SS_res == 0 else 0, averaged over outputs. */
static double r2_score(const double *y, const size_t *rows, const double *p, size_t m, int c)
{
    double total = 0;
    for (int j = 0; j < c; j++) {
        double mu = 0, res = 0, tot = 0;
        for (size_t i = 0; i < m; i++)
            mu += y[(rows ? rows[i] : i) * (size_t)c + (size_t)j];
        mu /= (double)m;
        for (size_t i = 0; i < m; i++) {
            double v = y[(rows ? rows[i] : i) * (size_t)c + (size_t)j];
            double r = v - p[i * (size_t)c + (size_t)j];
            res += r * r;
            tot += (v - mu) * (v - mu);
        }
        total += tot > 0 ? 1.0 - res / tot : (res == 0 ? 1.0 : 0.0);
    }
    return total / c;
}

enum cg_status cg_measure_r2_linear(const struct cg_r2_data *d, size_t max_train,
                                    size_t max_test, double *r2, struct cg_error *e)
{
    const char *fn = "linear R^2";
    CG_TRY(need_ptr(r2, fn, "r2", e));
    CG_TRY(check_r2_data(d, fn, e));
    size_t mtr = max_train ? max_train : CG_R2_LINEAR_MAX_TRAIN;
    size_t mte = max_test ? max_test : CG_R2_MAX_TEST;
    if (mtr < 2)
        return cg_error_set(e, CG_ERR_INPUT, "%s: max_train = %zu, need >= 2", fn, mtr);
    size_t ntr = d->n_train < mtr ? d->n_train : mtr, nte = d->n_test < mte ? d->n_test : mte;
    size_t p = (size_t)d->dx, q = (size_t)d->dy;
    size_t p1 = p + 1; /* features plus the constant column */
    /* One block: feature stats, train X|1 and Y, Gram, rhs, test X|1 and Y, predictions. */
    size_t need = 2 * p + ntr * p1 + ntr * q + p1 * p1 + p1 * q + nte * p1 + nte * q + nte * q;
    double *mem = cg_malloc(need * sizeof *mem);
    if (!mem)
        return cg_error_nomem(e);
    double *mx = mem, *sx = mx + p, *x = sx + p, *y = x + ntr * p1, *g = y + ntr * q;
    double *b = g + p1 * p1, *xt = b + p1 * q, *yt = xt + nte * p1, *pred = yt + nte * q;

    /* The intercept is a coefficient like the others; with centred features the normal
     * equations decouple it, so the ridge below hardly touches it. */
    column_stats(d->x_train, d->n_train, ntr, d->dx, mx, sx);
    design(d->x_train, d->n_train, ntr, d->dx, mx, sx, x);
    design(d->x_test, d->n_test, nte, d->dx, mx, sx, xt);
    standardise(d->y_train, d->n_train, ntr, d->dy, NULL, NULL, y);
    standardise(d->y_test, d->n_test, nte, d->dy, NULL, NULL, yt);

    /* Normal equations G w = X^T Y, G = X^T X + ridge I, accumulated row by row (lower part). */
    memset(g, 0, p1 * p1 * sizeof *g);
    memset(b, 0, p1 * q * sizeof *b);
    for (size_t i = 0; i < ntr; i++) {
        const double *r = x + i * p1;
        for (size_t j = 0; j < p1; j++) {
            double v = r[j];
            if (v == 0)
                continue;
            double *gj = g + j * p1;
            for (size_t k = 0; k <= j; k++)
                gj[k] += v * r[k];
            for (size_t c = 0; c < q; c++)
                b[j * q + c] += v * y[i * q + c];
        }
    }
    double trace = 0;
    for (size_t j = 0; j < p1; j++)
        trace += g[j * p1 + j];
    double ridge = 1e-10 * trace / (double)p1;
    for (size_t j = 0; j < p1; j++)
        g[j * p1 + j] += ridge;
    enum cg_status st = CG_OK;
    if (cholesky(g, p1) != 0) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "%s: the normal equations of %zu examples and %zu features are not "
                          "positive definite",
                          fn, ntr, p);
        goto done;
    }
    cholesky_solve(g, p1, b, q);
    for (size_t i = 0; i < nte; i++)
        for (size_t c = 0; c < q; c++) {
            double s = 0;
            for (size_t j = 0; j < p1; j++)
                s += xt[i * p1 + j] * b[j * q + c];
            pred[i * q + c] = s;
        }
    *r2 = r2_score(yt, NULL, pred, nte, d->dy);
done:
    cg_free(mem);
    return st;
}

/* The reference grid of the identifiability code (GridSearchCV's param_grid). */
static const double krr_alphas[] = {1.0, 0.1, 0.01, 0.001};
static const double krr_gammas[] = {0.01, 0.21544346900318834, 4.6415888336127775, 100.0};

/* Squared distances between the rows of a (na x c) and b (nb x c) into out (na x nb). */
static void sqdist(const double *a, size_t na, const double *b, size_t nb, size_t c, double *out)
{
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            const double *u = a + i * c, *v = b + j * c;
            double s = 0;
            for (size_t k = 0; k < c; k++)
                s += (u[k] - v[k]) * (u[k] - v[k]);
            out[i * nb + j] = s;
        }
}

/* Fits kernel ridge on the train rows tr[0..nt) of the kernel matrix k (n x n, row-major) and
 * targets y (n x q), then predicts the rows va[0..nv) into pred (nv x q). a (nt x nt), coef
 * (nt x q) are scratch. Returns 0, or -1 when K + alpha I is not positive
 * definite. */
static int krr_fit_predict(const double *k, size_t n, const double *y, size_t q, const size_t *tr,
                           size_t nt, const size_t *va, size_t nv, double alpha, double *a,
                           double *coef, double *pred)
{
    for (size_t i = 0; i < nt; i++) {
        for (size_t j = 0; j <= i; j++)
            a[i * nt + j] = k[tr[i] * n + tr[j]];
        a[i * nt + i] += alpha;
        for (size_t c = 0; c < q; c++)
            coef[i * q + c] = y[tr[i] * q + c];
    }
    if (cholesky(a, nt) != 0)
        return -1;
    cholesky_solve(a, nt, coef, q);
    for (size_t i = 0; i < nv; i++) {
        const double *ki = k + va[i] * n;
        double *pi = pred + i * q;
        for (size_t c = 0; c < q; c++)
            pi[c] = 0;
        for (size_t j = 0; j < nt; j++) {
            double v = ki[tr[j]];
            for (size_t c = 0; c < q; c++)
                pi[c] += v * coef[j * q + c];
        }
    }
    return 0;
}

enum cg_status cg_measure_r2_kernel_ridge(const struct cg_r2_data *d,
                                          const struct cg_krr_options *opt, double *r2,
                                          struct cg_krr_choice *choice, struct cg_error *e)
{
    const char *fn = "kernel ridge R^2";
    static const struct cg_krr_options defaults = {0};
    CG_TRY(need_ptr(r2, fn, "r2", e));
    CG_TRY(check_r2_data(d, fn, e));
    if (!opt)
        opt = &defaults;
    const double *alphas = opt->alphas ? opt->alphas : krr_alphas;
    const double *gammas = opt->gammas ? opt->gammas : krr_gammas;
    int na = opt->alphas ? opt->n_alphas : (int)CG_ARRAY_LEN(krr_alphas);
    int ng = opt->gammas ? opt->n_gammas : (int)CG_ARRAY_LEN(krr_gammas);
    int folds = opt->folds ? opt->folds : 3;
    size_t mtr = opt->max_train ? opt->max_train : CG_R2_KRR_MAX_TRAIN;
    size_t mte = opt->max_test ? opt->max_test : CG_R2_MAX_TEST;
    if (na < 1 || ng < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: empty grid (%d alphas, %d gammas)", fn, na,
                            ng);
    for (int i = 0; i < na; i++)
        if (!(alphas[i] > 0) || !isfinite(alphas[i]))
            return cg_error_set(e, CG_ERR_INPUT, "%s: alpha %g must be finite and > 0", fn,
                                alphas[i]);
    for (int i = 0; i < ng; i++)
        if (!(gammas[i] > 0) || !isfinite(gammas[i]))
            return cg_error_set(e, CG_ERR_INPUT, "%s: gamma %g must be finite and > 0", fn,
                                gammas[i]);
    if (folds < 2)
        return cg_error_set(e, CG_ERR_INPUT, "%s: %d cross-validation folds, need >= 2", fn,
                            folds);
    if (mtr < 2)
        return cg_error_set(e, CG_ERR_INPUT, "%s: max_train = %zu, need >= 2", fn, mtr);
    size_t n = d->n_train < mtr ? d->n_train : mtr, nte = d->n_test < mte ? d->n_test : mte;
    int grid = na * ng > 1;
    if (grid && n < 2 * (size_t)folds)
        return cg_error_set(e, CG_ERR_INPUT,
                            "%s: %zu train examples are too few for %d cross-validation folds "
                            "(need >= 2 per fold)",
                            fn, n, folds);
    size_t p = (size_t)d->dx, q = (size_t)d->dy, big = n > nte ? n : nte;
    size_t need = 2 * p + 2 * q + n * p + n * q + nte * p + nte * q + 3 * n * n + n * q +
                  big * q + n + (size_t)na * (size_t)ng;
    double *mem = cg_malloc(need * sizeof *mem);
    size_t *idx = cg_malloc(2 * n * sizeof *idx);
    if (!mem || !idx) {
        cg_free(mem);
        cg_free(idx);
        return cg_error_nomem(e);
    }
    double *mx = mem, *sx = mx + p, *my = sx + p, *sy = my + q;
    double *x = sy + q, *y = x + n * p, *xt = y + n * q, *yt = xt + nte * p;
    double *d2 = yt + nte * q, *k = d2 + n * n, *a = k + n * n;
    double *coef = a + n * n, *pred = coef + n * q, *row = pred + big * q;
    double *score = row + n;
    size_t *tr = idx, *va = idx + n;

    column_stats(d->x_train, d->n_train, n, d->dx, mx, sx);
    column_stats(d->y_train, d->n_train, n, d->dy, my, sy);
    standardise(d->x_train, d->n_train, n, d->dx, mx, sx, x);
    standardise(d->y_train, d->n_train, n, d->dy, my, sy, y);
    standardise(d->x_test, d->n_test, nte, d->dx, mx, sx, xt);
    standardise(d->y_test, d->n_test, nte, d->dy, my, sy, yt);
    for (size_t i = 0; i < n; i++) { /* symmetric: the lower half, mirrored */
        sqdist(x + i * p, 1, x, i + 1, p, d2 + i * n);
        for (size_t j = 0; j < i; j++)
            d2[j * n + i] = d2[i * n + j];
    }

    enum cg_status st = CG_OK;
    int ba = 0, bg = 0;
    double best = NAN;
    for (int gi = 0; grid && gi < ng; gi++) {
        for (size_t i = 0; i < n * n; i++)
            k[i] = exp(-gammas[gi] * d2[i]);
        for (int ai = 0; ai < na; ai++)
            score[ai * ng + gi] = 0;
        for (int f = 0; f < folds; f++) {
            /* KFold(folds): contiguous, sizes n / folds with the first n % folds one longer. */
            size_t base = n / (size_t)folds, extra = n % (size_t)folds, uf = (size_t)f;
            size_t lo = uf * base + (uf < extra ? uf : extra), hi = lo + base + (uf < extra);
            size_t nt = 0, nv = 0;
            for (size_t i = 0; i < n; i++) {
                if (i >= lo && i < hi)
                    va[nv++] = i;
                else
                    tr[nt++] = i;
            }
            for (int ai = 0; ai < na; ai++) {
                if (krr_fit_predict(k, n, y, q, tr, nt, va, nv, alphas[ai], a, coef, pred)) {
                    st = cg_error_set(e, CG_ERR_INPUT,
                                      "%s: K + alpha I is not positive definite (alpha %g, "
                                      "gamma %g)",
                                      fn, alphas[ai], gammas[gi]);
                    goto done;
                }
                score[ai * ng + gi] += r2_score(y, va, pred, nv, d->dy) / folds;
            }
        }
    }
    /* The first best point in alpha-major order (GridSearchCV's ranking). */
    for (int ai = 0; grid && ai < na; ai++)
        for (int gi = 0; gi < ng; gi++)
            if (isnan(best) || score[ai * ng + gi] > best) {
                best = score[ai * ng + gi];
                ba = ai;
                bg = gi;
            }

    /* The refit on the whole train split and the test predictions, row by row. */
    double alpha = alphas[ba], gamma = gammas[bg];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j <= i; j++)
            a[i * n + j] = exp(-gamma * d2[i * n + j]);
        a[i * n + i] += alpha;
    }
    memcpy(coef, y, n * q * sizeof *coef);
    if (cholesky(a, n) != 0) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "%s: K + alpha I is not positive definite (alpha %g, gamma %g)", fn,
                          alpha, gamma);
        goto done;
    }
    cholesky_solve(a, n, coef, q);
    for (size_t i = 0; i < nte; i++) {
        sqdist(xt + i * p, 1, x, n, p, row);
        double *pi = pred + i * q;
        for (size_t c = 0; c < q; c++)
            pi[c] = 0;
        for (size_t j = 0; j < n; j++) {
            double v = exp(-gamma * row[j]);
            for (size_t c = 0; c < q; c++)
                pi[c] += v * coef[j * q + c];
        }
    }
    *r2 = r2_score(yt, NULL, pred, nte, d->dy);
    if (choice) {
        choice->alpha = alpha;
        choice->gamma = gamma;
        choice->cv_r2 = grid ? best : NAN;
    }
done:
    cg_free(mem);
    cg_free(idx);
    return st;
}

/* ---- Embeddings ---------------------------------------------------------------------------- */

enum cg_status cg_measure_alignment(const float *z, const float *z_pos, size_t n, int d,
                                    double *align, struct cg_error *e)
{
    const char *fn = "alignment";
    CG_TRY(need_ptr(z, fn, "z", e));
    CG_TRY(need_ptr(z_pos, fn, "z_pos", e));
    CG_TRY(need_ptr(align, fn, "align", e));
    if (n < 1 || d < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: empty embeddings [%zu, %d]", fn, n, d);
    CG_TRY(check_finite(z, n, d, fn, "z", e));
    CG_TRY(check_finite(z_pos, n, d, fn, "z_pos", e));
    double sum = 0;
    for (size_t i = 0; i < n * (size_t)d; i++) {
        double v = (double)z[i] - z_pos[i];
        sum += v * v;
    }
    *align = sum / (double)n;
    return CG_OK;
}

enum cg_status cg_measure_uniformity(const float *z, size_t n, int d, size_t max_n,
                                     double *uniformity, double *uniformity_log,
                                     struct cg_error *e)
{
    const char *fn = "uniformity";
    CG_TRY(need_ptr(z, fn, "z", e));
    if (n < 2 || d < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: [%zu, %d] embeddings, need >= 2 rows of >= 1",
                            fn, n, d);
    size_t m = max_n ? max_n : CG_UNIFORMITY_MAX;
    if (m < 2)
        return cg_error_set(e, CG_ERR_INPUT, "%s: max_n = %zu, need >= 2", fn, m);
    CG_TRY(check_finite(z, n, d, fn, "z", e));
    if (m > n)
        m = n;
    double *x = cg_malloc(m * (size_t)d * sizeof *x);
    if (!x)
        return cg_error_nomem(e);
    standardise(z, n, m, d, NULL, NULL, x);
    /* log sum_{i<j} exp(v_ij), v_ij = -2 ||x_i - x_j||^2, kept as max + log(sum exp(v - max)). */
    double top = -INFINITY, sum = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            const double *u = x + i * (size_t)d, *w = x + j * (size_t)d;
            double s = 0;
            for (int c = 0; c < d; c++)
                s += (u[c] - w[c]) * (u[c] - w[c]);
            double v = -2.0 * s;
            if (v > top) {
                sum = sum * exp(top - v) + 1.0;
                top = v;
            } else {
                sum += exp(v - top);
            }
        }
    cg_free(x);
    double pairs = (double)m * (double)(m - 1) / 2.0;
    double lg = top + log(sum) - log(pairs);
    if (uniformity)
        *uniformity = exp(lg);
    if (uniformity_log)
        *uniformity_log = lg;
    return CG_OK;
}

/* ---- Crop mass ----------------------------------------------------------------------------- */

enum cg_status cg_measure_mnist_grid_box(int32_t cell, struct cg_box *box, struct cg_error *e)
{
    CG_TRY(need_ptr(box, "mnist_grid box", "box", e));
    int cells = CG_MNIST_GRID_CELLS * CG_MNIST_GRID_CELLS;
    if (cell < 0 || cell >= cells)
        return cg_error_set(e, CG_ERR_INPUT, "mnist_grid box: cell %d is not in [0, %d)",
                            (int)cell, cells);
    box->top = CG_MNIST_GRID_CELL * (cell / CG_MNIST_GRID_CELLS);
    box->left = CG_MNIST_GRID_CELL * (cell % CG_MNIST_GRID_CELLS);
    box->height = box->width = CG_MNIST_GRID_CELL;
    return CG_OK;
}

/* Whether the crop [pos, pos + size) overlaps [lo, lo + len) on a positive length. */
static int overlaps(int pos, int size, int lo, int len)
{
    return pos < lo + len && pos + size > lo;
}

enum cg_status cg_measure_crop_mass(const float *probs, const struct cg_box *box, size_t n,
                                    const struct cg_crop_grid *grid, double *mass,
                                    struct cg_error *e)
{
    const char *fn = "crop mass";
    CG_TRY(need_ptr(probs, fn, "probs", e));
    CG_TRY(need_ptr(box, fn, "box", e));
    CG_TRY(need_ptr(grid, fn, "grid", e));
    CG_TRY(need_ptr(mass, fn, "mass", e));
    if (n < 1)
        return cg_error_set(e, CG_ERR_INPUT, "%s: no examples (n = 0)", fn);
    const struct cg_crop_grid *g = grid;
    if (g->h < 1 || g->w < 1 || g->size < 1 || g->size > g->h || g->size > g->w ||
        g->stride < 1)
        return cg_error_set(e, CG_ERR_INPUT,
                            "%s: invalid crop grid (canvas %dx%d, crop size %d, stride %d): "
                            "need 1 <= size <= height, width and stride >= 1",
                            fn, g->h, g->w, g->size, g->stride);
    int gh = (g->h - g->size) / g->stride + 1, gw = (g->w - g->size) / g->stride + 1;
    size_t k = (size_t)gh * (size_t)gw;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cg_box *b = box + i;
        if (b->height < 1 || b->width < 1)
            return cg_error_set(e, CG_ERR_INPUT, "%s: box[%zu] is empty (%dx%d)", fn, i,
                                b->height, b->width);
        const float *p = probs + i * k;
        double all = 0, hit = 0;
        for (int r = 0; r < gh; r++) {
            int row_in = overlaps(r * g->stride, g->size, b->top, b->height);
            for (int c = 0; c < gw; c++) {
                float v = p[(size_t)r * (size_t)gw + (size_t)c];
                if (!isfinite(v) || v < 0)
                    return cg_error_set(e, CG_ERR_INPUT,
                                        "%s: probs[%zu][%d] = %g is not a probability", fn, i,
                                        r * gw + c, (double)v);
                all += v;
                if (row_in && overlaps(c * g->stride, g->size, b->left, b->width))
                    hit += v;
            }
        }
        if (fabs(all - 1.0) > 1e-3)
            return cg_error_set(e, CG_ERR_INPUT,
                                "%s: probs[%zu] sums to %.6g over the %zu crops, not 1", fn, i,
                                all, k);
        total += hit / all;
    }
    *mass = total / (double)n;
    return CG_OK;
}
