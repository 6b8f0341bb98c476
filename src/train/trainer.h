/* trainer.h: `clgraph train` as a library: a graph trained on a data set, with a run directory,
 * checkpoints that never lose work and bit-identical resume (docs/TRAINING.md).
 *
 * cg_train_prepare does everything that can fail for a user's reason before any work: option
 * values, the run directory (created, writable, not already a run unless resuming), the newest
 * checkpoint's metadata when resuming, the graph, the data set (built from NAME[:k=v,...] or
 * loaded from a directory) and the binding of its fields to the graph's inputs (both splits).
 * cg_train_run then opens the device, compiles the model once for the batch size, restores the
 * checkpoint when resuming, and loops: the prefetching loader uploads each batch into the
 * inputs' device places, cg_model_step enqueues the step, and only at logged steps does the
 * host wait to read the loss and metrics. Evaluation on the test split (forward only, metrics
 * averaged over the test batches) and checkpoints come at epoch ends by default; a checkpoint is
 * always written at the end. The library prints nothing: progress goes to a callback, records to
 * RUNDIR/metrics.jsonl.
 *
 * Determinism: parameters initialise from the seed; random ops draw from (seed, step); the
 * sampler from (seed, epoch, step); a checkpoint holds parameters, optimizer state, the step and
 * the sampler position, so a resumed run computes exactly what an uninterrupted one does on the
 * same device. */
#ifndef CG_TRAINER_H
#define CG_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Settings; zero / NULL means "not given" (defaults, or on resume: the run's own). */
struct cg_train_config {
    const char *graph;     /* GRAPH file */
    const char *data;      /* "NAME[:k=v,...]" (built; key seed=S: the data set's seed, default
                            * 0) or a directory written by `clgraph data build` */
    int64_t epochs, steps; /* total of the whole run; steps wins; default: 1 epoch */
    int64_t batch;         /* default 64 */
    const char *optimizer; /* default adam(lr=1e-3) (for objectives without `with`) */
    int64_t seed;          /* -1: not given (default 0) */
    const char *device;
    int64_t checkpoint_every; /* steps; 0: every epoch */
    int64_t keep;             /* newest checkpoints kept; 0: all */
    int64_t eval_every;       /* steps; 0: every epoch; -1: never */
    int64_t log_every;        /* steps between loss reads; 0: 10 */
    const char *rundir;
    int resume;
    int debug_nan; /* check the loss every step; name the first op producing a NaN/Inf */
    const char *const *augment; /* the --augment values as given ([NAME=]PIPELINE), naugment of
                                 * them; none: the default (views.h), or on resume the run's */
    int naugment;
    const char *lr_schedule; /* --lr-schedule (train/schedule.h); default constant */
    const char *clip_grad;   /* --clip-grad MAXNORM as given; NULL: no clipping */
};

enum cg_train_event_kind {
    CG_TRAIN_START,      /* text: a summary line */
    CG_TRAIN_STEP,       /* every step (no device read: loss/metrics of the last log) */
    CG_TRAIN_LOG,        /* a logged step: loss and metrics read */
    CG_TRAIN_EVAL,       /* an evaluation: metrics averaged over the test split */
    CG_TRAIN_CHECKPOINT, /* text: the path written */
    CG_TRAIN_NOTE,       /* text: anything else worth a line */
};

struct cg_train_event {
    enum cg_train_event_kind kind;
    uint64_t step, total, epoch, steps_per_epoch, batch;
    double elapsed_s;       /* since this process started training */
    double examples_per_s;  /* over the last logging interval */
    int nvalues;
    const char *const *names; /* "loss" (or one per objective), then the scalar metrics */
    const double *values;
    const char *text;
};

typedef void (*cg_train_cb)(void *ctx, const struct cg_train_event *ev);

struct cg_trainer;

/* Validates and loads everything (see above); *out is owned by the caller (cg_train_destroy).
 * CG_ERR_INPUT for anything the user can fix, with a message naming it. */
enum cg_status cg_train_prepare(const struct cg_train_config *cfg, struct cg_trainer **out,
                                struct cg_error *e);

/* The effective settings (after defaults and the resumed run's own). */
const struct cg_train_config *cg_train_config(const struct cg_trainer *t);

/* Trains to the end (or the first error: non-finite loss is CG_ERR_INPUT naming the step). */
enum cg_status cg_train_run(struct cg_trainer *t, cg_train_cb cb, void *ctx,
                            struct cg_error *e);

void cg_train_destroy(struct cg_trainer *t);

/* Appends `,"NAME":VALUE` for each of the n values to b, as metrics.jsonl records hold them:
 * names JSON-escaped (an objective's name is its expression's text), non-finite values as
 * null. */
void cg_train_json_values(struct cg_buf *b, int n, const char *const *names,
                          const double *values);

#endif
