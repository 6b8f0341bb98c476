/* schedule.h: the training options `--lr-schedule` and `--clip-grad`. Learning-rate schedules: as multipliers of every objective's
 * configured lr, one value per training step t (counted from 0; the lr of the t-th update), the
 * values PyTorch's schedulers give with one scheduler.step() after every training step:
 *
 *   constant                        1
 *   cosine[(min=F)]                 F + (1 - F) (1 + cos(pi t / T)) / 2: CosineAnnealingLR with
 *                                   T_max = T (the run's total steps), eta_min = F lr (F in
 *                                   [0, 1], default 0)
 *   step(every=N[, gamma=G])        G^floor(t / N): StepLR(step_size=N, gamma=G) (G > 0,
 *   step(epochs=E[, gamma=G])       default 0.1); with epochs, N = E * steps per epoch
 *   warmup(steps=W[, then=S])       (t + 1) / W for t < W: LambdaLR(lambda t: min(1, (t + 1) / W));
 *                                   from t = W on, S (constant, the default, or cosine[(min=F)]
 *                                   over the remaining T - W steps with t - W: SequentialLR of
 *                                   that LambdaLR and CosineAnnealingLR(T_max = T - W),
 *                                   milestones [W])
 *
 * Parsing is separate from resolving: a schedule that needs the run's length (cosine) or its
 * epochs (step(epochs=)) gets them from cg_lr_schedule_resolve. */
#ifndef CG_SCHEDULE_H
#define CG_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum cg_lr_kind { CG_LR_CONSTANT, CG_LR_COSINE, CG_LR_STEP, CG_LR_WARMUP };

struct cg_lr_schedule {
    enum cg_lr_kind kind;
    double min;       /* cosine, and warmup then cosine: the floor, a fraction of lr */
    double gamma;     /* step */
    int64_t every;    /* step: steps between decays (from epochs once resolved) */
    int64_t epochs;   /* step(epochs=E): E, else 0 */
    int64_t warmup;   /* warmup: W */
    int then_cosine;  /* warmup: then cosine (else constant) */
    uint64_t total;   /* the run's total steps (cg_lr_schedule_resolve) */
    char text[160];   /* the canonical spelling, e.g. "warmup(steps=10, then=cosine(min=0.1))" */
};

/* Parses text ("cosine(min=0.1)", ...; see above) into *s. Unknown names, unknown or repeated
 * keys, missing or out-of-range values: CG_ERR_INPUT "error: --lr-schedule TEXT: ..." naming
 * them and listing what is accepted. */
enum cg_status cg_lr_schedule_parse(const char *text, struct cg_lr_schedule *s,
                                    struct cg_error *e);

/* Fixes the run's length: total steps, and steps_per_epoch (0: the caller has no epochs, and
 * step(epochs=) is then an error). */
enum cg_status cg_lr_schedule_resolve(struct cg_lr_schedule *s, uint64_t total,
                                      uint64_t steps_per_epoch, struct cg_error *e);

/* Does the schedule depend on the run's total steps (cosine, warmup then cosine)? */
int cg_lr_schedule_uses_total(const struct cg_lr_schedule *s);

/* The multiplier of the lr at step t (resolved schedule). */
double cg_lr_schedule_factor(const struct cg_lr_schedule *s, uint64_t t);

/* The value of --clip-grad (a positive finite number, the maximum total L2 norm of each
 * objective's gradients; see cg_model_options.clip_grad); else CG_ERR_INPUT naming it. canon
 * (may be NULL) receives the shortest spelling that reads back exactly ("0.5"). */
enum cg_status cg_clip_grad_parse(const char *text, double *out, char *canon, size_t n,
                                  struct cg_error *e);

#endif
