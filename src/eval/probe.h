/* probe.h: the linear probe of `clgraph eval`: multinomial logistic regression on frozen
 * features, trained on the device by clgraph itself (docs/EVAL.md, "Linear probe").
 *
 * The problem is scikit-learn's LogisticRegression(C, multi_class="multinomial", lbfgs) on
 * StandardScaler-transformed features: features are standardised with the train split's mean
 * and (population) standard deviation, a zero deviation counting as 1; the objective is
 * sum_i CE(W x_i + b, y_i) + ||W||^2 / (2 C), the bias unpenalised. clgraph minimises the same
 * objective divided by n_train (mean cross-entropy + ||W||^2 / (2 C n_train): the same
 * minimiser), written as a small graph (text in memory, parameters w [K, D] and b [K] starting
 * at zero) compiled for the device with cg_model_compile and trained full-batch: Adam
 * (lr 0.1 by default) for a fixed number of steps (500 by default), at the full learning rate
 * for the first half and with a cosine decay to 0 over the second half (cg_model_set_lr_scale).
 * This schedule reached scikit-learn's accuracy within 0.1 point and its objective within 0.5 %
 * on the fixture, on scikit-learn's digits and on a correlated 400-feature problem (docs/EVAL.md). Deterministic: the same features give the same bits on a device.
 * The test and train predictions (argmax of the logits) are then computed on the host in double
 * from the trained W and b. */
#ifndef CG_EVAL_PROBE_H
#define CG_EVAL_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "clgraph/clgraph.h"

#define CG_PROBE_STEPS 500
#define CG_PROBE_LR 0.1

/* Features x [n, dim] (row-major f32) and labels y [n] in [0, n_classes) of both splits. */
struct cg_probe_problem {
    const float *x_train;
    const int32_t *y_train;
    size_t n_train;
    const float *x_test;
    const int32_t *y_test;
    size_t n_test;
    int dim, n_classes;
};

/* Zero-initialised: the defaults. */
struct cg_probe_options {
    int steps; /* full-batch steps (0: CG_PROBE_STEPS) */
    double lr; /* Adam's initial learning rate (0: CG_PROBE_LR) */
    double C;  /* inverse regularisation strength (0: 1, scikit-learn's default) */
};

struct cg_probe_result {
    double accuracy, balanced_accuracy; /* on the test split */
    double train_accuracy;
    double objective; /* sum_i CE + ||W||^2 / (2C) on the train split, in double */
    int steps;
};

/* Fits the probe on dev and scores it (see above). Needs n_train >= 1, n_test >= 1, dim >= 1,
 * n_classes >= 2, finite features and labels in range (else CG_ERR_INPUT naming the split, row
 * and value); device failures are CG_ERR_DEVICE. W [n_classes, dim] and b [n_classes], when not
 * NULL, receive the trained parameters (in the standardised feature space). */
enum cg_status cg_probe_fit(struct cg_device *dev, const struct cg_probe_problem *p,
                            const struct cg_probe_options *o, struct cg_probe_result *r,
                            float *W, float *b, struct cg_error *e);

#endif
