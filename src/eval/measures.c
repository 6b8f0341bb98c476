/* measures.c: the host-side evaluation measures of measures.h. This first version only fixes
 * the API: every function reports "not implemented yet". */
#include "eval/measures.h"

#define CG_NOT_YET(name) cg_error_set(e, CG_ERR_INPUT, "%s: not implemented yet", name)

enum cg_status cg_measure_argmax(const float *scores, size_t n, int k, int32_t *pred,
                                 struct cg_error *e)
{
    (void)scores, (void)n, (void)k, (void)pred;
    return CG_NOT_YET("argmax");
}

enum cg_status cg_measure_accuracy(const int32_t *y_true, const int32_t *y_pred, size_t n,
                                   int n_classes, double *acc, struct cg_error *e)
{
    (void)y_true, (void)y_pred, (void)n, (void)n_classes, (void)acc;
    return CG_NOT_YET("accuracy");
}

enum cg_status cg_measure_balanced_accuracy(const int32_t *y_true, const int32_t *y_pred,
                                            size_t n, int n_classes, double *bacc,
                                            struct cg_error *e)
{
    (void)y_true, (void)y_pred, (void)n, (void)n_classes, (void)bacc;
    return CG_NOT_YET("balanced accuracy");
}

enum cg_status cg_measure_groups(const int32_t *y_true, const int32_t *y_pred,
                                 const int32_t *group, size_t n, int n_classes, int n_groups,
                                 struct cg_group_acc *out, double *worst, struct cg_error *e)
{
    (void)y_true, (void)y_pred, (void)group, (void)n, (void)n_classes, (void)n_groups, (void)out,
        (void)worst;
    return CG_NOT_YET("group accuracy");
}

enum cg_status cg_measure_r2_linear(const struct cg_r2_data *d, size_t max_train,
                                    size_t max_test, double *r2, struct cg_error *e)
{
    (void)d, (void)max_train, (void)max_test, (void)r2;
    return CG_NOT_YET("linear R^2");
}

enum cg_status cg_measure_r2_kernel_ridge(const struct cg_r2_data *d,
                                          const struct cg_krr_options *opt, double *r2,
                                          struct cg_krr_choice *choice, struct cg_error *e)
{
    (void)d, (void)opt, (void)r2, (void)choice;
    return CG_NOT_YET("kernel ridge R^2");
}

enum cg_status cg_measure_alignment(const float *z, const float *z_pos, size_t n, int d,
                                    double *align, struct cg_error *e)
{
    (void)z, (void)z_pos, (void)n, (void)d, (void)align;
    return CG_NOT_YET("alignment");
}

enum cg_status cg_measure_uniformity(const float *z, size_t n, int d, size_t max_n,
                                     double *uniformity, double *uniformity_log,
                                     struct cg_error *e)
{
    (void)z, (void)n, (void)d, (void)max_n, (void)uniformity, (void)uniformity_log;
    return CG_NOT_YET("uniformity");
}

enum cg_status cg_measure_mnist_grid_box(int32_t cell, struct cg_box *box, struct cg_error *e)
{
    (void)cell, (void)box;
    return CG_NOT_YET("mnist_grid box");
}

enum cg_status cg_measure_crop_mass(const float *probs, const struct cg_box *box, size_t n,
                                    const struct cg_crop_grid *grid, double *mass,
                                    struct cg_error *e)
{
    (void)probs, (void)box, (void)n, (void)grid, (void)mass;
    return CG_NOT_YET("crop mass");
}
