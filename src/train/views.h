/* views.h: the views and augmentations of `clgraph train` (docs/TRAINING.md, "Views and
 * augmentations"): which graph inputs are the multiview sampler's views, and which augmentation
 * pipeline (docs/AUGMENT.md) each graph input gets from the --augment options, the default, or a
 * resumed run's record.
 *
 *   - Views: graph inputs x1, x2, ..., xK (consecutive from 1, K >= 2) are K views of field x of
 *     the same anchors (the multiview sampler, src/data/sampler.h; binding.h chooses it).
 *   - --augment PIPELINE sets the pipeline of every image input (f32 [C, H, W] per example,
 *     C = 1 or 3); --augment NAME=PIPELINE sets input NAME's (it wins over the former);
 *     `none` disables. Without either, the views of the multiview sampler get the default
 *     pipeline for their images (cg_train_aug_default) and other inputs none.
 *   - A pipeline reads the images of the input's field and must write the graph input's shape: a
 *     size-changing pipeline (rrc(size=24) on 28x28 fields) makes the sampler deliver the field's
 *     shape (src[] below) into a staging buffer (src/data/loader_augment.h); evaluation, which is
 *     not augmented, resizes those inputs' whole images to the graph's size (eval[] below).
 *   - The record ("x1=PIPE;x2=PIPE", or "none"; pipelines without spaces) goes to config.json and
 *     the checkpoints' metadata; a resumed run takes it as it is (no defaults), or compares it
 *     with the --augment options given again.
 *
 * Everything here is host-side text and shape checking, done before any work: the pipelines are
 * parsed and their output shapes checked against the graph; the trainer compiles them once when
 * it opens the device (cg_loader_augmenter_create). */
#ifndef CG_TRAIN_VIEWS_H
#define CG_TRAIN_VIEWS_H

#include "data/dataset.h"
#include "data/sampler.h"
#include "train/binding.h"
#include "util/util.h"

#define CG_TRAIN_MAX_INPUTS CG_BIND_MAX_INPUTS
#define CG_TRAIN_MAX_PIPE 512

/* The resolved augmentation of every graph input. */
struct cg_train_aug {
    int n;
    char pipe[CG_TRAIN_MAX_INPUTS][CG_TRAIN_MAX_PIPE]; /* "" = not augmented */
    char eval[CG_TRAIN_MAX_INPUTS][CG_TRAIN_MAX_PIPE]; /* evaluation's resize, "" = none */
    struct cg_input_desc src[CG_TRAIN_MAX_INPUTS];     /* what the sampler delivers */
    int any;                                           /* some input is augmented */
    int resized;                                       /* some pipeline changes the size */
    char record[CG_TRAIN_MAX_INPUTS * (CG_TRAIN_MAX_PIPE + 66) + 8];
};

/* The default pipeline for images [c, h, w] that the graph takes as [c, oh, ow] (SimCLR's
 * recipe, scaled to the image size): rrc (to oh x ow when that differs; scale 0.2:1 when the
 * smaller side is at most 64 pixels, else torchvision's 0.08:1), flip; for c = 3 also
 * jitter(0.4,0.4,0.4,0.1,p=0.8) (small images; 0.8,0.8,0.8,0.2 above 64 pixels) and
 * gray(p=0.2); above 64 pixels also blur(k, sigma=0.1:2, p=0.5) with k = 10% of the smaller
 * output side, rounded down, plus 1 when even (SimCLR's kernel size). Writes it (no spaces)
 * into buf. */
void cg_train_aug_default(int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, char *buf,
                          size_t n);

/* Checks the --augment values opts[0..nopts) alone, before the graph and the data are loaded:
 * their form, each pipeline's syntax, nothing given twice (CG_ERR_INPUT naming the value). */
enum cg_status cg_train_aug_check(const char *const *opts, int nopts, struct cg_error *e);

/* Resolves the pipelines of the graph inputs in[0..n) (graph per-example shapes) into *A: from
 * the --augment values opts[0..nopts) (as given on the command line), the defaults, and, when
 * saved is not NULL (resuming), the run's record saved: with no opts the record is taken as it
 * is; with opts their record must equal it. Fields come from split s through the sampler
 * configuration scfg (cg_sampler_field_of); an input without a field is left to the sampler's
 * own error. Every pipeline is parsed and its output shape checked on the field's images.
 * Errors (CG_ERR_INPUT, each naming the option value): an empty pipeline, the same input or the
 * plain form given twice, an unknown input name (the inputs listed), a pipeline on an input that
 * is not an f32 image [C, H, W] with C = 1 or 3, a plain --augment with no image input, syntax
 * and shape errors of the pipeline (augment.h's message, prefixed), an output shape other than
 * the graph input's, a pipeline longer than CG_TRAIN_MAX_PIPE - 1 characters, a record that
 * differs from saved (both shown). */
enum cg_status cg_train_aug_resolve(struct cg_train_aug *A, const char *const *opts, int nopts,
                                    const char *saved, const struct cg_input_desc *in, int n,
                                    const struct cg_split *s,
                                    const struct cg_sampler_config *scfg, struct cg_error *e);

/* Pipelines for cg_loader_augmenter_create: out[i] = A's pipeline of input i, or NULL; with
 * eval set, the evaluation's (the resize of size-changing inputs). Returns whether any is set. */
int cg_train_aug_pipes(const struct cg_train_aug *A, int eval, const char **out);

#endif
