/* lower_optim.c: lowering of the optimizer updates (sgd_update, adam_update, created by
 * passes/optim.c) to the kernels of cl/optim.cl.
 *
 * Both update their parameter (input 0, whose storage the node's output shares: the ops are
 * CG_OPF_INPLACE) and their state inputs in place. Hyperparameters are -D defines, with the
 * differences PyTorch computes in Python double (1 - beta1, ...) taken in double here; what
 * depends on the step t = step + 1 of the launch (the objective's update count: Adam's bias
 * corrections, SGD's first-step momentum buffer) or on the lr, which the executor's lr scale
 * multiplies (-lr, -lr / bias correction, AdamW's 1 - lr * wd), is computed on the host at run
 * time (desc.runtime). */
#include <math.h>
#include <string.h>

#include "exec/lower.h"

#define LWS 64

/* SGD: `first` is 1 at the objective's first update (PyTorch's momentum buffer is then a copy
 * of d_p); `neg_lr` = -(lr * lr_scale), in double as PyTorch's scheduled lr, then rounded to
 * float. c = {lr}. */
static int sgd_runtime(const double *c, uint64_t step, double lr_scale, struct cg_karg *out)
{
    out[0] = CG_KI(step == 0);
    out[1] = CG_KF(-(c[0] * lr_scale));
    return 2;
}

/* Adam/AdamW with t = step + 1 (step: the objective's updates so far) and the scheduled
 * lr = lr * lr_scale: -lr / (1 - beta1^t), sqrt(1 - beta2^t) and AdamW's 1 - lr * weight_decay,
 * in double as PyTorch, then rounded to float. c = {lr, beta1, beta2, weight_decay}. */
static int adam_runtime(const double *c, uint64_t step, double lr_scale, struct cg_karg *out)
{
    double t = (double)step + 1, lr = c[0] * lr_scale;
    double bc1 = 1 - pow(c[1], t), bc2 = 1 - pow(c[2], t);
    out[0] = CG_KF(-(lr / bc1));
    out[1] = CG_KF(sqrt(bc2));
    out[2] = CG_KF(1 - lr * c[3]);
    return 3;
}

enum cg_status cg_lower_optim(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    char defs[1024] = "";
    int64_t n = cg_lower_numel(l, nd->out);
    double lr = cg_lower_attr(l, "lr")->f, wd = cg_lower_attr(l, "weight_decay")->f;
    struct cg_launch_desc d;
    memset(&d, 0, sizeof d);
    d.source = "optim.cl";
    d.defines = defs;
    d.dims = 1;
    d.lws[0] = LWS;
    d.has_lws = 1;
    d.gws[0] = (size_t)(((n + 3) / 4 + LWS - 1) / LWS * LWS);
    if (d.gws[0] == 0)
        d.gws[0] = LWS;
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_addf(defs, sizeof defs, "WD", wd);
    if (nd->op == CG_OP_sgd_update) {
        double mom = cg_lower_attr(l, "momentum")->f;
        cg_defines_addf(defs, sizeof defs, "MOMENTUM", nd->inputs[2] >= 0 ? mom : 0.0);
        cg_defines_addf(defs, sizeof defs, "ONE_M_DAMP", 1 - cg_lower_attr(l, "dampening")->f);
        cg_defines_add(defs, sizeof defs, "NESTEROV", cg_lower_attr(l, "nesterov")->i != 0);
        d.kernel = "sgd_update";
        d.runtime = sgd_runtime;
        d.rt_consts[0] = lr;
        int buf = nd->inputs[2] >= 0 ? nd->inputs[2] : nd->inputs[0]; /* unused without */
        struct cg_karg args[3] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]), CG_KV(buf)};
        return cg_lower_kernel(l, &d, args, 3);
    }
    double b1 = cg_lower_attr(l, "beta1")->f, b2 = cg_lower_attr(l, "beta2")->f;
    int decoupled = cg_lower_attr(l, "decoupled")->i != 0;
    cg_defines_addf(defs, sizeof defs, "BETA1", b1);
    cg_defines_addf(defs, sizeof defs, "BETA2", b2);
    cg_defines_addf(defs, sizeof defs, "ONE_M_B1", 1 - b1);
    cg_defines_addf(defs, sizeof defs, "ONE_M_B2", 1 - b2);
    cg_defines_addf(defs, sizeof defs, "EPS", cg_lower_attr(l, "eps")->f);
    cg_defines_add(defs, sizeof defs, "DECOUPLED", decoupled);
    d.kernel = "adam_update";
    d.runtime = adam_runtime;
    d.rt_consts[0] = lr;
    d.rt_consts[1] = b1;
    d.rt_consts[2] = b2;
    d.rt_consts[3] = wd;
    struct cg_karg args[4] = {CG_KV(nd->inputs[0]), CG_KV(nd->inputs[1]), CG_KV(nd->inputs[2]),
                              CG_KV(nd->inputs[3])};
    return cg_lower_kernel(l, &d, args, 4);
}
