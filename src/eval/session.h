/* session.h: a trained run directory opened for evaluation (`clgraph eval`, `clgraph viz`).
 *
 * cg_eval_open reads what a run of `clgraph train` left in RUNDIR (docs/TRAINING.md):
 * config.json (it must exist: it marks a run directory), the newest checkpoint
 * (checkpoints/step-N.safetensors; a missing or corrupt one is refused with the reason), the
 * graph from the run's copy RUNDIR/graph.graph (its FNV-1a 64 hash must equal the checkpoint's
 * graph_fnv1a64; imports resolve relative to the original graph path the checkpoint records),
 * and the data set: the run's own spec (checkpoint metadata "data") or an override
 * (NAME[:k=v,...] or a built directory, as `train --data`). Everything that can fail for a
 * user's reason fails here, before any device work, with CG_ERR_INPUT naming the file.
 *
 * Model: one forward-only model (cg_model_options.train = 0) compiled on first use, with the
 * checkpoint's trainable parameters (optimizer-state entries ignored: cg_ckpt_apply with
 * params_only); the remainder batch of a split (count mod batch) runs on a second schedule of
 * the same model (cg_model_bind), which shares its parameters. Random ops draw from (the run's
 * seed, step 0).
 *
 * Iteration: cg_eval_begin(split) then cg_eval_next until it reports no more: EVERY example of
 * the split is evaluated exactly once, in index order (batches of the session's batch size,
 * then the remainder). The inputs are filled as `clgraph train` fills them (the same sampler
 * kinds: plain, triplet for x,xp,xn,y, pairs for x,x_pos, multiview for x1..xK, whose views
 * are identical unaugmented copies); an input whose training augmentation (the checkpoint's
 * "augment" record, resolved by cg_train_aug_resolve, src/train/views.h) changes the image size
 * is filled as the trainer's evaluation fills it: the field's whole images resized to the
 * graph's size on the device by the loader's augmenter with cg_train_aug_pipes(eval = 1)
 * (src/data/loader_augment.h), compiled when a pass over a split first begins. The positives
 * and negatives that the triplet and pairs samplers draw come from a fixed stream keyed by the
 * run's seed, so two passes over a split (and two sessions) see the same inputs. After cg_eval_next, the caller
 * reads any named value of the batch (outputs, metrics, objectives, top-level names such as
 * logits) with cg_model_get on batch.model, and relates rows to the split's fields through
 * batch.index. cg_eval_collect gathers one per-example value over a whole split into one host
 * array [count, ...] (the linear probe's features, viz's embeddings). */
#ifndef CG_EVAL_SESSION_H
#define CG_EVAL_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "clgraph/clgraph.h"
#include "data/dataset.h"
#include "data/sampler.h"

enum cg_eval_split { CG_EVAL_TEST = 0, CG_EVAL_TRAIN = 1 };

struct cg_eval_options {
    const char *rundir; /* required */
    const char *data;   /* NULL: the run's data spec; else NAME[:k=v,...] or DIR */
    const char *device; /* NULL: CLGRAPH_DEVICE, else the default device */
    int64_t batch;      /* 0: the run's batch */
};

/* What the session evaluates (strings owned by the session). */
struct cg_eval_info {
    const char *rundir;
    const char *checkpoint; /* the newest checkpoint's path */
    uint64_t step;          /* its step */
    const char *graph;      /* the original graph path (metadata "graph") */
    const char *graph_copy; /* RUNDIR/graph.graph, what is compiled */
    const char *data;       /* the data spec used (the override or the run's) */
    int64_t batch;          /* evaluation batch size */
    uint64_t seed;          /* the run's seed (random ops, triplet/pairs draws) */
    enum cg_sampler_kind sampler;
};

/* One evaluated batch: rows examples, their indices in the split, and the model whose values
 * hold this batch's results (valid until the next cg_eval_next / cg_eval_begin / close). */
struct cg_eval_batch {
    size_t k, nbatches;   /* this is batch k of nbatches */
    size_t rows;
    const size_t *index;  /* rows indices into the split */
    struct cg_model *model;
};

struct cg_eval_session;

/* Opens o->rundir (see above). On success the caller owns *out (cg_eval_close). Errors:
 * CG_ERR_INPUT naming the file and what is wrong (no config.json, no checkpoint, a corrupt
 * checkpoint, a graph copy that does not match the checkpoint's hash, a data set that cannot be
 * opened or does not fit the graph's inputs, or to which the run's augmentation record does
 * not apply), CG_ERR_DEVICE when the device cannot be opened. */
enum cg_status cg_eval_open(const struct cg_eval_options *o, struct cg_eval_session **out,
                            struct cg_error *e);

void cg_eval_close(struct cg_eval_session *s);

const struct cg_eval_info *cg_eval_info(const struct cg_eval_session *s);
const struct cg_dataset *cg_eval_data(const struct cg_eval_session *s);
const struct cg_split *cg_eval_split(const struct cg_eval_session *s, enum cg_eval_split split);
struct cg_device *cg_eval_device(struct cg_eval_session *s);

/* The graph compiled for the session's batch (compiling that model on first use): its
 * outputs, metrics, objectives and values, with shapes bound to the batch size. */
enum cg_status cg_eval_graph(struct cg_eval_session *s, struct cg_graph **g,
                             struct cg_error *e);

/* Starts a pass over split (from its first example; a pass in progress is abandoned),
 * compiling the split's evaluation resize on the first pass when some input needs one. Fails
 * (CG_ERR_INPUT) when the split has no examples or its fields do not fit the graph's inputs;
 * CG_ERR_DEVICE when the resize cannot be compiled. */
enum cg_status cg_eval_begin(struct cg_eval_session *s, enum cg_eval_split split,
                             struct cg_error *e);

/* Fills the inputs of the next batch of the pass and runs the forward pass (waiting for it).
 * Sets *more = 1 and fills *b, or *more = 0 at the end of the split (b untouched). */
enum cg_status cg_eval_next(struct cg_eval_session *s, struct cg_eval_batch *b, int *more,
                            struct cg_error *e);

/* The shape of value name in batch b's model: *is_int, *rank and dims (8). CG_ERR_INPUT when
 * the graph has no such value. */
enum cg_status cg_eval_shape(const struct cg_eval_batch *b, const char *name, int *is_int,
                             int *rank, int64_t *dims, struct cg_error *e);

/* A per-example value gathered over a split: count rows of example_size elements (f32, or i32
 * when is_int), per-example shape dims[0..rank). */
struct cg_eval_array {
    void *data; /* cg_malloc'd: count * example_size * 4 bytes */
    size_t count, example_size;
    int is_int, rank;
    int64_t dims[8];
};

/* Copies value name of batch b (one row per example: its first dimension is b->rows) into rows
 * b->index[r] of *a, a whole-split array of count rows; the first call (a->data NULL) sets a's
 * shape and allocates it. Errors (CG_ERR_INPUT): no such value, a value that is not
 * per-example, or another shape than a's. For passes that gather several values at once. */
enum cg_status cg_eval_gather(const struct cg_eval_batch *b, const char *name, size_t count,
                              struct cg_eval_array *a, struct cg_error *e);

/* Runs a whole pass over split and gathers value name (whose first dimension must be the
 * batch: one row per example) into *out, rows in split order. Errors (CG_ERR_INPUT): no such
 * value, or a value that is not per-example (naming its shape). Free with
 * cg_eval_array_free. */
enum cg_status cg_eval_collect(struct cg_eval_session *s, enum cg_eval_split split,
                               const char *name, struct cg_eval_array *out, struct cg_error *e);

void cg_eval_array_free(struct cg_eval_array *a);

#endif
