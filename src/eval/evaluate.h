/* evaluate.h: what `clgraph eval` computes on an opened run (session.h), as a library: the
 * graph's metrics and loss over a whole split, classification accuracy from the graph's
 * `logits`, per-group accuracy, linear probes (probe.h), R^2 of latent factors, alignment and
 * uniformity of embeddings and the crop mass of P(T|X) models (measures.h), and the eval.json
 * document. Every measure, its definition, its applicability rule and its eval.json name is in
 * docs/EVAL.md; the library prints nothing. */
#ifndef CG_EVAL_EVALUATE_H
#define CG_EVAL_EVALUATE_H

#include "eval/measures.h"
#include "eval/probe.h"
#include "eval/session.h"

#define CG_EVAL_MAX_PROBES 16
#define CG_EVAL_MAX_METRICS 32
#define CG_EVAL_MAX_R2 32
#define CG_EVAL_MAX_GROUPS 256

/* Zero-initialised: the defaults (test split, default probes, groups from field `group`). */
struct cg_evaluate_config {
    enum cg_eval_split split;
    const char *probes[CG_EVAL_MAX_PROBES]; /* "OUTPUT:FIELD"; none: the default pairs */
    int nprobes;
    int no_probe;         /* 1: no linear probe at all */
    int no_r2;            /* 1: no R^2 */
    const char *groups;   /* the group field (NULL: "group" when the data has it) */
    struct cg_probe_options probe; /* the probe's optimisation (zero: defaults) */
};

struct cg_eval_value {
    char name[256];
    double value;
};

struct cg_eval_probe {
    char output[128], field[32];
    int dim, n_classes;
    struct cg_probe_result r;
};

struct cg_eval_r2 {
    char output[128], field[32];
    double linear, kernel_ridge;
};

struct cg_eval_result {
    enum cg_eval_split split;
    size_t examples;
    double seconds;
    int nmetrics;
    struct cg_eval_value metrics[CG_EVAL_MAX_METRICS]; /* the graph's scalar metrics */
    int nlosses;
    struct cg_eval_value losses[8]; /* "loss" (one objective) or each objective's text */
    int has_accuracy;               /* logits [N, C] and a label field y */
    double accuracy, balanced_accuracy;
    int ngroups;                    /* > 0: the per-group table of group_field */
    char group_field[32];
    struct cg_group_acc groups[CG_EVAL_MAX_GROUPS];
    double worst_group_accuracy;
    int nprobes;
    struct cg_eval_probe probes[CG_EVAL_MAX_PROBES];
    int nr2;
    struct cg_eval_r2 r2[CG_EVAL_MAX_R2];
    int has_embedding; /* outputs z and z_pos */
    double alignment, uniformity, uniformity_log;
    int has_crop_mass; /* output p_crops and field cell */
    double crop_mass;
};

/* Evaluates the session's run (see docs/EVAL.md) into *r. Errors: CG_ERR_INPUT naming the
 * option, value or field (an --probe pair whose output or field does not exist or does not fit,
 * a group field that is not an integer label, labels out of range), CG_ERR_DEVICE, NOMEM. */
enum cg_status cg_evaluate(struct cg_eval_session *s, const struct cg_evaluate_config *c,
                           struct cg_eval_result *r, struct cg_error *e);

/* Appends the eval.json document of r (with the session's checkpoint and step) to b. */
void cg_evaluate_json(const struct cg_eval_session *s, const struct cg_eval_result *r,
                      struct cg_buf *b);

#endif
