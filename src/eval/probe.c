/* probe.c: the device-trained multinomial logistic regression probe (probe.h). */
#include "eval/probe.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval/measures.h"
#include "util/util.h"

static const double PI = 3.14159265358979323846;

/* Validates the problem: sizes, finite features, labels in range. */
static enum cg_status check_problem(const struct cg_probe_problem *p, struct cg_error *e)
{
    if (p->n_train < 1 || p->n_test < 1 || p->dim < 1 || p->n_classes < 2)
        return cg_error_set(e, CG_ERR_INPUT, "error: linear probe: needs at least one train and "
                            "one test example, a feature and two classes (have %zu train, %zu "
                            "test, %d features, %d classes)", p->n_train, p->n_test, p->dim,
                            p->n_classes);
    const char *split[2] = {"train", "test"};
    const float *x[2] = {p->x_train, p->x_test};
    const int32_t *y[2] = {p->y_train, p->y_test};
    size_t n[2] = {p->n_train, p->n_test};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < n[s]; i++) {
            if (y[s][i] < 0 || y[s][i] >= p->n_classes)
                return cg_error_set(e, CG_ERR_INPUT, "error: linear probe: %s label %d of "
                                    "example %zu is outside [0, %d)", split[s], y[s][i], i,
                                    p->n_classes);
            for (int d = 0; d < p->dim; d++)
                if (!isfinite(x[s][i * (size_t)p->dim + d]))
                    return cg_error_set(e, CG_ERR_INPUT, "error: linear probe: %s feature %d "
                                        "of example %zu is not finite", split[s], d, i);
        }
    }
    return CG_OK;
}

/* Predictions argmax_k (W z + b)_k of standardised rows z = (x - mean) / sd, in double; adds
 * the cross-entropy of the labels to *ce when ce is not NULL. */
static void predict(const float *x, const int32_t *y, size_t n, int dim, int k,
                    const double *mean, const double *sd, const float *W, const float *b,
                    int32_t *pred, double *ce, double *z, double *s)
{
    for (size_t i = 0; i < n; i++) {
        for (int d = 0; d < dim; d++)
            z[d] = ((double)x[i * (size_t)dim + d] - mean[d]) / sd[d];
        double mx = -INFINITY;
        int best = 0;
        for (int c = 0; c < k; c++) {
            double v = b[c];
            const float *w = W + (size_t)c * (size_t)dim;
            for (int d = 0; d < dim; d++)
                v += (double)w[d] * z[d];
            s[c] = v;
            if (v > mx) {
                mx = v;
                best = c;
            }
        }
        pred[i] = best;
        if (ce) {
            double se = 0;
            for (int c = 0; c < k; c++)
                se += exp(s[c] - mx);
            *ce += mx + log(se) - s[y[i]];
        }
    }
}

enum cg_status cg_probe_fit(struct cg_device *dev, const struct cg_probe_problem *p,
                            const struct cg_probe_options *o, struct cg_probe_result *r,
                            float *W_out, float *b_out, struct cg_error *e)
{
    static const struct cg_probe_options dflt = {0};
    if (!o)
        o = &dflt;
    CG_TRY(check_problem(p, e));
    int steps = o->steps > 0 ? o->steps : CG_PROBE_STEPS, D = p->dim, K = p->n_classes;
    double lr = o->lr > 0 ? o->lr : CG_PROBE_LR, C = o->C > 0 ? o->C : 1.0;
    size_t n = p->n_train, nd = n * (size_t)D;
    double *mean = cg_calloc((size_t)D, sizeof *mean), *sd = cg_calloc((size_t)D, sizeof *sd);
    double *z = cg_malloc(((size_t)D + (size_t)K) * sizeof *z);
    float *xs = cg_malloc(nd * sizeof *xs);
    float *W = cg_malloc((size_t)K * (size_t)D * sizeof *W), *b = cg_malloc((size_t)K * 4);
    size_t nmax = p->n_train > p->n_test ? p->n_train : p->n_test;
    int32_t *pred = cg_malloc(nmax * sizeof *pred);
    struct cg_graph *g = NULL;
    struct cg_model *m = NULL;
    struct cg_buf text = {0};
    enum cg_status st = mean && sd && z && xs && W && b && pred ? CG_OK : cg_error_nomem(e);
    /* StandardScaler with the train split's statistics (population deviation; 0 counts as 1). */
    for (size_t i = 0; i < n && st == CG_OK; i++)
        for (int d = 0; d < D; d++)
            mean[d] += p->x_train[i * (size_t)D + d];
    for (int d = 0; d < D && st == CG_OK; d++)
        mean[d] /= (double)n;
    for (size_t i = 0; i < n && st == CG_OK; i++)
        for (int d = 0; d < D; d++) {
            double v = p->x_train[i * (size_t)D + d] - mean[d];
            sd[d] += v * v;
        }
    for (int d = 0; d < D && st == CG_OK; d++) {
        sd[d] = sqrt(sd[d] / (double)n);
        if (!(sd[d] > 1e-300)) /* scikit-learn: a zero variance scales by 1 */
            sd[d] = 1;
    }
    for (size_t i = 0; i < n && st == CG_OK; i++)
        for (int d = 0; d < D; d++)
            xs[i * (size_t)D + d] = (float)((p->x_train[i * (size_t)D + d] - mean[d]) / sd[d]);
    /* The probe's graph: mean cross-entropy + ||W||^2 / (2 C n), full batch. */
    cg_buf_printf(&text,
                  "# the linear probe of clgraph eval (src/eval/probe.c)\n"
                  "input x : f32[N, %d]\n"
                  "input y : i32[N]\n"
                  "param w : f32[%d, %d] = zeros()\n"
                  "param b : f32[%d] = zeros()\n"
                  "logits = linear(x, w, b)\n"
                  "loss = cross_entropy(logits, y) + %.17g * sum(w * w)\n"
                  "minimize loss with adam(lr=%.17g)\n",
                  D, K, D, K, 1.0 / (2.0 * C * (double)n), lr);
    if (st == CG_OK && text.oom)
        st = cg_error_nomem(e);
    if (st == CG_OK)
        st = cg_graph_load_text("<linear probe>", cg_buf_str(&text), text.len, &g, e);
    struct cg_input_shape shapes[2] = {{"x", 2, {(int64_t)n, D}}, {"y", 1, {(int64_t)n}}};
    struct cg_model_options mo = {shapes, 2, 1, NULL, 0, 0};
    if (st == CG_OK) {
        st = cg_model_compile(g, dev, &mo, &m, e);
        if (st == CG_OK)
            g = NULL; /* the model owns it */
    }
    if (st == CG_OK)
        st = cg_model_set(m, "x", xs, nd * sizeof *xs, e);
    if (st == CG_OK)
        st = cg_model_set(m, "y", p->y_train, n * sizeof *p->y_train, e);
    /* Adam at the full learning rate for the first half of the steps, then a cosine decay to 0
     * over the second half (step t of the second half: lr (1 + cos(pi t / half)) / 2). */
    int half = steps - steps / 2;
    for (int t = 0; t < steps && st == CG_OK; t++) {
        double scale = t < half ? 1.0 : 0.5 * (1 + cos(PI * (t - half) / (steps - half)));
        st = cg_model_set_lr_scale(m, scale, e);
        if (st == CG_OK)
            st = cg_model_step(m, e);
    }
    if (st == CG_OK)
        st = cg_model_get(m, "w", W, (size_t)K * (size_t)D * sizeof *W, e);
    if (st == CG_OK)
        st = cg_model_get(m, "b", b, (size_t)K * sizeof *b, e);
    /* Scores on the host, in double. */
    double ce = 0, ww = 0;
    if (st == CG_OK) {
        predict(p->x_train, p->y_train, n, D, K, mean, sd, W, b, pred, &ce, z, z + D);
        st = cg_measure_accuracy(p->y_train, pred, n, K, &r->train_accuracy, e);
    }
    if (st == CG_OK) {
        for (size_t i = 0; i < (size_t)K * (size_t)D; i++)
            ww += (double)W[i] * W[i];
        r->objective = ce + ww / (2 * C);
        r->steps = steps;
        predict(p->x_test, p->y_test, p->n_test, D, K, mean, sd, W, b, pred, NULL, z, z + D);
        st = cg_measure_accuracy(p->y_test, pred, p->n_test, K, &r->accuracy, e);
    }
    if (st == CG_OK)
        st = cg_measure_balanced_accuracy(p->y_test, pred, p->n_test, K, &r->balanced_accuracy,
                                          e);
    if (st == CG_OK && W_out)
        memcpy(W_out, W, (size_t)K * (size_t)D * sizeof *W);
    if (st == CG_OK && b_out)
        memcpy(b_out, b, (size_t)K * sizeof *b);
    cg_model_destroy(m);
    cg_graph_destroy(g);
    cg_buf_free(&text);
    cg_free(pred);
    cg_free(b);
    cg_free(W);
    cg_free(xs);
    cg_free(z);
    cg_free(sd);
    cg_free(mean);
    return st;
}
