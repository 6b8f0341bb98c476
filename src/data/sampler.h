/* sampler.h: samplers that fill a graph's named inputs with batches drawn from a data set split.
 *
 * A sampler maps every graph input (described by struct cg_input_desc: name, dtype, per-example
 * shape, so that this module does not depend on the graph internals) to a field of a
 * struct cg_split and a role, checks dtypes and shapes once at creation, and then fills host
 * batch buffers, one per input, step after step:
 *
 *   plain       input F <- field F of the anchors (x, y, group, digit, ...).
 *   triplet     (CIM, SEEDS.md section 1) x, y <- the anchors; xp <- field x of one example of
 *               the anchor's class (not the anchor itself), xn <- field x of one example of
 *               another class; class from field y (cfg.class_field). In general an input Fp / Fn
 *               that is not itself a field takes field F of the positive / negative. Positives
 *               and negatives are drawn anew each step, deterministically from
 *               (seed, epoch, step).
 *   multiview   K views of each image: the view field (cfg.view_field, "x") fills a
 *               [K*N, ...] buffer view-major (row v*N + i is view v of anchor i) for the device
 *               augmentation to turn into K different views; inputs F1..FK (x1, x2 for two-view
 *               methods) take view k alone as [N, ...]. Other inputs take the anchors' rows.
 *   pairs       (content/style, SEEDS.md section 3) x <- the anchors, x_pos <- field x_pos of
 *               the anchors (the positive view x~), x_neg <- field x_neg of the anchors when the
 *               data set has it, else field x of an example drawn uniformly at random each step
 *               (a fresh negative x3). Other inputs as plain.
 *
 * Order: every epoch visits a permutation of the split (Fisher-Yates driven by splitmix streams
 * keyed by (seed, epoch)); drop_last is the default, so every batch has exactly cfg.batch
 * anchors and shapes stay static; with keep_last the last batch of an epoch holds the remainder
 * (rows < batch) and the rest of its buffers are zero. The position (seed, epoch, step) is the
 * whole state: saving it and restoring it into a sampler over the same split and inputs gives
 * the same batches from there on.
 *
 * Dtypes: an f32 input takes an f32 field; an i32 input takes an i32 or a u8 field (widened).
 * Per-example shapes must match exactly. The loader (loader.h) runs a sampler on a background
 * thread; a sampler itself is not thread-safe. */
#ifndef CG_SAMPLER_H
#define CG_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "util/util.h"

/* One graph input as the sampler sees it: per-example shape (without the batch dimension). */
struct cg_input_desc {
    const char *name;
    int is_int; /* 1: i32, 0: f32 */
    int rank;   /* per-example rank (0 for a label) */
    int64_t dims[CG_FIELD_MAX_RANK];
};

enum cg_sampler_kind {
    CG_SAMPLER_PLAIN = 0,
    CG_SAMPLER_TRIPLET,
    CG_SAMPLER_MULTIVIEW,
    CG_SAMPLER_PAIRS,
};

/* Zero-initialised, this is a plain shuffling sampler with drop_last; batch must be set. */
struct cg_sampler_config {
    enum cg_sampler_kind kind;
    size_t batch;            /* anchors per step (> 0) */
    uint64_t seed;           /* shuffling and triplet draws */
    int keep_last;           /* 1: keep the last partial batch of an epoch (default: drop it) */
    int no_shuffle;          /* 1: every epoch in index order (triplet draws still random) */
    const char *class_field; /* triplet: the class labels (NULL: "y") */
    const char *view_field;  /* multiview: the field to repeat (NULL: "x") */
    int views;               /* multiview: K >= 1 */
};

/* The position of a sampler: the next batch is step `step` of epoch `epoch`. */
struct cg_sampler_state {
    uint64_t seed, epoch, step;
};

/* What one filled batch is. */
struct cg_batch_info {
    uint64_t epoch, step; /* its position */
    size_t rows;          /* anchors filled (== batch except the last batch under keep_last) */
};

struct cg_sampler;

/* Creates a sampler over split s (borrowed: it must outlive the sampler and not change) for
 * the ninputs graph inputs (copied). Fails with CG_ERR_INPUT when an input has no field to
 * come from, or its dtype or shape does not match the field's; the message names the input
 * (with its dtype and shape) and lists the split's fields with theirs. Also CG_ERR_INPUT: a
 * batch of 0 or larger than the split (drop_last would give no batch), a class field that is
 * not a scalar integer, a class with a single example or a single class (triplet), views < 1.
 * *out is owned by the caller (cg_sampler_destroy); it starts at epoch 0, step 0. */
enum cg_status cg_sampler_create(const struct cg_split *s, const struct cg_input_desc *inputs,
                                 int ninputs, const struct cg_sampler_config *cfg,
                                 struct cg_sampler **out, struct cg_error *e);

void cg_sampler_destroy(struct cg_sampler *sm);

/* The field of split s that a sampler configured as cfg would fill the graph input named
 * `input` from (the naming rules above: x2 of a multiview sampler reads the view field, xp of a
 * triplet sampler reads x, ...), or NULL when none does. Checks neither dtype nor shape: the
 * trainer uses it to learn the size of the images an augmentation pipeline receives. */
const struct cg_field *cg_sampler_field_of(const struct cg_split *s,
                                           const struct cg_sampler_config *cfg,
                                           const char *input);

/* Batches per epoch: count / batch, rounded up under keep_last. */
size_t cg_sampler_steps_per_epoch(const struct cg_sampler *sm);

/* Anchors per batch (cfg.batch). */
size_t cg_sampler_batch(const struct cg_sampler *sm);

/* Number of graph inputs, and the rows (batch, or K*batch for a multi-view input) and bytes of
 * the host buffer of input i. */
int cg_sampler_ninputs(const struct cg_sampler *sm);
size_t cg_sampler_input_rows(const struct cg_sampler *sm, int i);
size_t cg_sampler_input_bytes(const struct cg_sampler *sm, int i);

/* K when input i holds K views of each anchor (view-major [K*N, ...]), else 1. */
int cg_sampler_input_views(const struct cg_sampler *sm, int i);

/* Fills bufs[i] (cg_sampler_input_bytes(sm, i) bytes each) with the next batch, writes the
 * anchors' example indices to index[0..rows-1] when index is not NULL (room for batch), fills
 * *info when not NULL, and advances (to the next epoch after its last step). Never fails once
 * created; it allocates nothing. */
void cg_sampler_next(struct cg_sampler *sm, void *const *bufs, size_t *index,
                     struct cg_batch_info *info);

/* The current position, and moving to a saved one (its seed replaces the configured seed;
 * a step beyond the epoch's last moves to the start of the next epoch). */
void cg_sampler_get_state(const struct cg_sampler *sm, struct cg_sampler_state *st);
void cg_sampler_set_state(struct cg_sampler *sm, const struct cg_sampler_state *st);

/* Returns a uniform integer in [0, n) from a 64-bit random value (multiply-high; n > 0). */
uint64_t cg_sampler_below(uint64_t r, uint64_t n);

#endif
