/* evaluate.c: the measures of `clgraph eval` over an opened run (evaluate.h, docs/EVAL.md). */
#include "eval/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec/model.h"
#include "ir/graph.h"

#define MAX_FEATS (CG_EVAL_MAX_PROBES + CG_EVAL_MAX_R2 + 4)

/* The crop grid of the CRL-TAC convention (SEEDS.md section 2): 20 x 20 crops at stride 4 of the
 * 84 x 84 mnist_grid canvas, 17 x 17 = 289 crops. */
static const struct cg_crop_grid CROP_GRID = {CG_MNIST_GRID_CANVAS, CG_MNIST_GRID_CANVAS, 20, 4};

/* A per-example value gathered on the splits that need it. */
struct feat {
    const char *name;
    int need[2]; /* per split (CG_EVAL_TEST, CG_EVAL_TRAIN) */
    struct cg_eval_array a[2];
};

struct work {
    struct feat feats[MAX_FEATS];
    int nfeats;
    int32_t *ints[8]; /* label copies, freed at the end */
    int nints;
    int32_t *pred;
    struct cg_box *boxes;
};

static void work_free(struct work *w)
{
    for (int i = 0; i < w->nfeats; i++)
        for (int k = 0; k < 2; k++)
            cg_eval_array_free(&w->feats[i].a[k]);
    for (int i = 0; i < w->nints; i++)
        cg_free(w->ints[i]);
    cg_free(w->pred);
    cg_free(w->boxes);
}

/* The feature slot of value name, added when new. */
static struct feat *feat(struct work *w, const char *name)
{
    for (int i = 0; i < w->nfeats; i++)
        if (!strcmp(w->feats[i].name, name))
            return &w->feats[i];
    if (w->nfeats == MAX_FEATS)
        return NULL;
    struct feat *f = &w->feats[w->nfeats++];
    memset(f, 0, sizeof *f);
    f->name = name;
    return f;
}

static const char *split_name(enum cg_eval_split s) { return s == CG_EVAL_TEST ? "test" : "train"; }

/* Is field f an integer label (a scalar i32 or u8 per example)? */
static int is_label_field(const struct cg_field *f)
{
    return f && f->rank == 0 && (f->dtype == CG_NPY_I32 || f->dtype == CG_NPY_U8);
}

/* Field name of split sp as int32 labels (a copy kept in w), with the largest label in *max. */
static enum cg_status labels(struct work *w, const struct cg_split *sp, const char *name,
                             int32_t **out, int *max, struct cg_error *e)
{
    const struct cg_field *f = cg_split_field(sp, name);
    if (!is_label_field(f))
        return cg_error_set(e, CG_ERR_INPUT, "error: field '%s' is not an integer label per "
                            "example", name);
    int32_t *y = cg_malloc(sp->count * sizeof *y + 4);
    if (!y || w->nints == (int)CG_ARRAY_LEN(w->ints)) {
        cg_free(y);
        return cg_error_nomem(e);
    }
    w->ints[w->nints++] = y;
    int mx = -1;
    for (size_t i = 0; i < sp->count; i++) {
        y[i] = f->dtype == CG_NPY_U8 ? ((const uint8_t *)f->data)[i]
                                     : ((const int32_t *)f->data)[i];
        if (y[i] < 0)
            return cg_error_set(e, CG_ERR_INPUT, "error: field '%s': label %d of example %zu "
                                "is negative", name, y[i], i);
        mx = y[i] > mx ? y[i] : mx;
    }
    *out = y;
    if (max)
        *max = mx;
    return CG_OK;
}

/* Value name of g: f32, one row per example of a batch of `batch` (first dimension), with
 * example_size elements per row. Returns 0 when it does not exist or does not fit. */
static int per_example(const struct cg_graph *g, const char *name, int64_t batch,
                       int64_t *example_size, int64_t *last_dim, int *rank)
{
    int v = cg_graph_find_value(g, name);
    if (v < 0 || g->values[v].dtype != CG_F32 || g->values[v].shape.rank < 1)
        return 0;
    const struct cg_shape *sh = &g->values[v].shape;
    int64_t d0, n = 1, d = 0;
    if (!cg_dim_is_const(sh->d[0], &d0) || d0 != batch)
        return 0;
    for (int k = 1; k < sh->rank; k++) {
        if (!cg_dim_is_const(sh->d[k], &d))
            return 0;
        n *= d;
    }
    if (example_size)
        *example_size = n;
    if (last_dim)
        *last_dim = d;
    if (rank)
        *rank = sh->rank;
    return 1;
}

/* Is name one of g's inputs? */
static int is_input(const struct cg_graph *g, const char *name)
{
    for (size_t i = 0; i < g->ninputs; i++)
        if (!strcmp(g->inputs[i].name, name))
            return 1;
    return 0;
}

/* A list of the split's fields for messages. */
static void field_list(const struct cg_split *sp, struct cg_buf *b)
{
    for (int i = 0; i < sp->nfields; i++)
        cg_buf_printf(b, "%s%s", i ? ", " : "", sp->fields[i].name);
}

/* The pass over the evaluated split: metrics and losses averaged over examples, features. */
static enum cg_status eval_pass(struct cg_eval_session *s, struct work *w, int split,
                                struct cg_eval_result *r, struct cg_error *e)
{
    size_t count = cg_eval_split(s, (enum cg_eval_split)split)->count;
    double sums[CG_EVAL_MAX_METRICS + 8] = {0};
    CG_TRY(cg_eval_begin(s, (enum cg_eval_split)split, e));
    struct cg_eval_batch b;
    int more;
    for (;;) {
        CG_TRY(cg_eval_next(s, &b, &more, e));
        if (!more)
            break;
        if (split == (int)r->split) {
            struct cg_graph *g = cg_model_graph(b.model);
            struct cg_exec *x = cg_model_exec(b.model);
            for (int i = 0; i < r->nmetrics; i++) {
                float f;
                CG_TRY(cg_model_get(b.model, r->metrics[i].name, &f, sizeof f, e));
                sums[i] += (double)f * (double)b.rows;
            }
            for (int i = 0; i < r->nlosses; i++) {
                float f;
                CG_TRY(cg_exec_read(x, g->objectives[i].value, &f, sizeof f, e));
                sums[CG_EVAL_MAX_METRICS + i] += (double)f * (double)b.rows;
            }
        }
        for (int i = 0; i < w->nfeats; i++)
            if (w->feats[i].need[split])
                CG_TRY(cg_eval_gather(&b, w->feats[i].name, count, &w->feats[i].a[split], e));
    }
    if (split == (int)r->split) {
        for (int i = 0; i < r->nmetrics; i++)
            r->metrics[i].value = sums[i] / (double)count;
        for (int i = 0; i < r->nlosses; i++)
            r->losses[i].value = sums[CG_EVAL_MAX_METRICS + i] / (double)count;
    }
    return CG_OK;
}

/* Plans what applies (every check that can fail for a user's reason comes before the passes),
 * runs the passes and computes every measure. */
static enum cg_status evaluate(struct cg_eval_session *s, const struct cg_evaluate_config *c,
                               struct cg_eval_result *r, struct work *w, struct cg_error *e)
{
    struct cg_graph *g;
    CG_TRY(cg_eval_graph(s, &g, e));
    const struct cg_eval_info *info = cg_eval_info(s);
    int64_t B = info->batch;
    int es = (int)c->split, os = 1 - es;
    const struct cg_split *sp[2] = {cg_eval_split(s, CG_EVAL_TEST), cg_eval_split(s, CG_EVAL_TRAIN)};
    r->split = c->split;
    r->examples = sp[es]->count;
    if (sp[es]->count == 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: data set %s: the %s split has no examples",
                            info->data, split_name(c->split));
    /* the graph's scalar metrics and its objectives */
    for (size_t i = 0; i < g->nmetrics && r->nmetrics < CG_EVAL_MAX_METRICS; i++)
        if (cg_shape_numel(g, &g->values[g->metrics[i].value].shape) == 1 &&
            g->values[g->metrics[i].value].dtype == CG_F32)
            snprintf(r->metrics[r->nmetrics++].name, sizeof r->metrics[0].name, "%s",
                     g->metrics[i].name);
    for (size_t i = 0; i < g->nobjectives && r->nlosses < 8; i++)
        snprintf(r->losses[r->nlosses++].name, sizeof r->losses[0].name, "%s",
                 g->nobjectives == 1 ? "loss" : g->objectives[i].text);
    /* accuracy from logits [N, C] against field y */
    int64_t C = 0, size;
    int rank;
    int32_t *y = NULL;
    int ymax = -1;
    if (per_example(g, "logits", B, &size, &C, &rank) && rank == 2 &&
        is_label_field(cg_split_field(sp[es], "y"))) {
        CG_TRY(labels(w, sp[es], "y", &y, &ymax, e));
        r->has_accuracy = 1;
        feat(w, "logits")->need[es] = 1;
    }
    /* groups */
    const char *gname = c->groups;
    if (gname && !cg_split_field(sp[es], gname)) {
        struct cg_buf b = {0};
        field_list(sp[es], &b);
        enum cg_status st = cg_error_set(e, CG_ERR_INPUT, "error: --groups %s: the data set "
                                         "%s has no such field (fields: %s)", gname, info->data,
                                         cg_buf_str(&b));
        cg_buf_free(&b);
        return st;
    }
    if (gname && !r->has_accuracy)
        return cg_error_set(e, CG_ERR_INPUT, "error: --groups %s: group accuracy needs a graph "
                            "value 'logits' [N, C] and a label field 'y'", gname);
    if (!gname && r->has_accuracy && cg_split_field(sp[es], "group"))
        gname = "group";
    int32_t *grp = NULL;
    int gmax = -1;
    if (gname) {
        enum cg_status st = labels(w, sp[es], gname, &grp, &gmax, e);
        if (st != CG_OK) {
            cg_error_note(e, "note: --groups names an integer field of the data set");
            return st;
        }
        if (gmax >= CG_EVAL_MAX_GROUPS)
            return cg_error_set(e, CG_ERR_INPUT, "error: group field '%s' has labels up to %d; "
                                "at most %d groups", gname, gmax, CG_EVAL_MAX_GROUPS);
        snprintf(r->group_field, sizeof r->group_field, "%s", gname);
    }
    /* linear probes: OUTPUT:FIELD pairs */
    int have_both = sp[0]->count > 0 && sp[1]->count > 0;
    if (!c->no_probe && c->nprobes > 0) {
        for (int i = 0; i < c->nprobes; i++) {
            const char *colon = strrchr(c->probes[i], ':');
            struct cg_eval_probe *p = &r->probes[r->nprobes];
            if (!colon || colon == c->probes[i] || !colon[1] ||
                (size_t)(colon - c->probes[i]) >= sizeof p->output)
                return cg_error_set(e, CG_ERR_INPUT, "error: --probe %s: expected OUTPUT:FIELD "
                                    "(a graph value and an integer label field)", c->probes[i]);
            snprintf(p->output, sizeof p->output, "%.*s", (int)(colon - c->probes[i]),
                     c->probes[i]);
            snprintf(p->field, sizeof p->field, "%s", colon + 1);
            if (!per_example(g, p->output, B, NULL, NULL, NULL))
                return cg_error_set(e, CG_ERR_INPUT, "error: --probe %s: the graph (%s) has no "
                                    "f32 value '%s' with one row per example", c->probes[i],
                                    info->graph_copy, p->output);
            for (int k = 0; k < 2; k++)
                if (!is_label_field(cg_split_field(sp[k], p->field))) {
                    struct cg_buf b = {0};
                    field_list(sp[k], &b);
                    enum cg_status st = cg_error_set(e, CG_ERR_INPUT, "error: --probe %s: the "
                                                     "%s split of %s has no integer label field "
                                                     "'%s' (fields: %s)", c->probes[i],
                                                     split_name((enum cg_eval_split)k),
                                                     info->data, p->field, cg_buf_str(&b));
                    cg_buf_free(&b);
                    return st;
                }
            r->nprobes++;
        }
    } else if (!c->no_probe && have_both && is_label_field(cg_split_field(sp[0], "y")) &&
               is_label_field(cg_split_field(sp[1], "y"))) {
        for (size_t i = 0; i < g->noutputs && r->nprobes < CG_EVAL_MAX_PROBES; i++)
            if (per_example(g, g->outputs[i].name, B, NULL, NULL, NULL)) {
                struct cg_eval_probe *p = &r->probes[r->nprobes++];
                snprintf(p->output, sizeof p->output, "%s", g->outputs[i].name);
                snprintf(p->field, sizeof p->field, "y");
            }
    }
    if (r->nprobes && !have_both)
        return cg_error_set(e, CG_ERR_INPUT, "error: --probe: the linear probe fits on the "
                            "train split and scores on the test split; data set %s lacks one",
                            info->data);
    for (int i = 0; i < r->nprobes; i++) {
        struct feat *f = feat(w, r->probes[i].output);
        f->need[0] = f->need[1] = 1;
    }
    /* R^2 of the f32 vector fields that are neither graph inputs nor observations (names
     * starting with x: x, x_pos, x_neg), from each f32 output */
    if (!c->no_r2 && have_both)
        for (int k = 0; k < sp[1]->nfields; k++) {
            const struct cg_field *tf = &sp[1]->fields[k], *sf = cg_split_field(sp[0], tf->name);
            if (tf->dtype != CG_NPY_F32 || tf->rank != 1 || !sf || sf->dtype != CG_NPY_F32 ||
                sf->rank != 1 || sf->shape[0] != tf->shape[0] ||
                is_input(g, tf->name) || tf->name[0] == 'x')
                continue;
            for (size_t i = 0; i < g->noutputs && r->nr2 < CG_EVAL_MAX_R2; i++)
                if (per_example(g, g->outputs[i].name, B, NULL, NULL, NULL)) {
                    struct cg_eval_r2 *q = &r->r2[r->nr2++];
                    snprintf(q->output, sizeof q->output, "%s", g->outputs[i].name);
                    snprintf(q->field, sizeof q->field, "%s", tf->name);
                    struct feat *f = feat(w, g->outputs[i].name);
                    f->need[0] = f->need[1] = 1;
                }
        }
    /* alignment and uniformity: values z and z_pos [N, d] */
    int64_t dz = 0, dzp = 0;
    if (per_example(g, "z", B, &dz, NULL, NULL) && per_example(g, "z_pos", B, &dzp, NULL, NULL) &&
        dz == dzp && sp[es]->count >= 2) {
        r->has_embedding = 1;
        feat(w, "z")->need[es] = 1;
        feat(w, "z_pos")->need[es] = 1;
    }
    /* crop mass: value p_crops [N, 289] and field cell (mnist_grid) */
    int64_t ncrops = 0;
    int32_t *cell = NULL;
    int gh = (CROP_GRID.h - CROP_GRID.size) / CROP_GRID.stride + 1;
    if (per_example(g, "p_crops", B, &ncrops, NULL, &rank) && rank == 2 &&
        ncrops == (int64_t)gh * gh && is_label_field(cg_split_field(sp[es], "cell"))) {
        CG_TRY(labels(w, sp[es], "cell", &cell, NULL, e));
        r->has_crop_mass = 1;
        feat(w, "p_crops")->need[es] = 1;
    }
    /* the passes */
    CG_TRY(eval_pass(s, w, es, r, e));
    int other = 0;
    for (int i = 0; i < w->nfeats; i++)
        other |= w->feats[i].need[os];
    if (other)
        CG_TRY(eval_pass(s, w, os, r, e));
    size_t n = sp[es]->count;
    /* accuracy, balanced accuracy, groups */
    if (r->has_accuracy) {
        if (ymax >= C)
            return cg_error_set(e, CG_ERR_INPUT, "error: field 'y' has label %d but logits has "
                                "%lld classes", ymax, (long long)C);
        if (!(w->pred = cg_malloc(n * sizeof *w->pred)))
            return cg_error_nomem(e);
        CG_TRY(cg_measure_argmax(feat(w, "logits")->a[es].data, n, (int)C, w->pred, e));
        CG_TRY(cg_measure_accuracy(y, w->pred, n, (int)C, &r->accuracy, e));
        CG_TRY(cg_measure_balanced_accuracy(y, w->pred, n, (int)C, &r->balanced_accuracy, e));
        if (grp) {
            CG_TRY(cg_measure_groups(y, w->pred, grp, n, (int)C, gmax + 1, r->groups,
                                     &r->worst_group_accuracy, e));
            r->ngroups = gmax + 1;
        }
    }
    /* probes: fit on train, score on test */
    for (int i = 0; i < r->nprobes; i++) {
        struct cg_eval_probe *p = &r->probes[i];
        struct feat *f = feat(w, p->output);
        int32_t *ytr, *yte;
        int m0, m1;
        CG_TRY(labels(w, sp[CG_EVAL_TRAIN], p->field, &ytr, &m0, e));
        CG_TRY(labels(w, sp[CG_EVAL_TEST], p->field, &yte, &m1, e));
        p->dim = (int)f->a[CG_EVAL_TRAIN].example_size;
        p->n_classes = (m0 > m1 ? m0 : m1) + 1;
        if (p->n_classes < 2)
            p->n_classes = 2;
        struct cg_probe_problem pp = {f->a[CG_EVAL_TRAIN].data, ytr, sp[CG_EVAL_TRAIN]->count,
                                      f->a[CG_EVAL_TEST].data, yte, sp[CG_EVAL_TEST]->count,
                                      p->dim, p->n_classes};
        enum cg_status st = cg_probe_fit(cg_eval_device(s), &pp, &c->probe, &p->r, NULL, NULL,
                                         e);
        /* the label copies are no longer needed */
        cg_free(w->ints[--w->nints]);
        cg_free(w->ints[--w->nints]);
        if (st != CG_OK) {
            cg_error_note(e, "note: while fitting the linear probe %s -> %s", p->output,
                          p->field);
            return st;
        }
    }
    /* R^2 */
    for (int i = 0; i < r->nr2; i++) {
        struct cg_eval_r2 *q = &r->r2[i];
        struct feat *f = feat(w, q->output);
        const struct cg_field *ftr = cg_split_field(sp[CG_EVAL_TRAIN], q->field),
                              *fte = cg_split_field(sp[CG_EVAL_TEST], q->field);
        struct cg_r2_data d = {f->a[CG_EVAL_TRAIN].data, ftr->data, sp[CG_EVAL_TRAIN]->count,
                               f->a[CG_EVAL_TEST].data, fte->data, sp[CG_EVAL_TEST]->count,
                               (int)f->a[CG_EVAL_TRAIN].example_size, (int)ftr->shape[0]};
        enum cg_status st = cg_measure_r2_linear(&d, 0, 0, &q->linear, e);
        if (st == CG_OK)
            st = cg_measure_r2_kernel_ridge(&d, NULL, &q->kernel_ridge, NULL, e);
        if (st != CG_OK) {
            cg_error_note(e, "note: while computing the R^2 of %s from %s", q->field, q->output);
            return st;
        }
    }
    if (r->has_embedding) {
        CG_TRY(cg_measure_alignment(feat(w, "z")->a[es].data, feat(w, "z_pos")->a[es].data, n,
                                    (int)dz, &r->alignment, e));
        CG_TRY(cg_measure_uniformity(feat(w, "z")->a[es].data, n, (int)dz, 0, &r->uniformity,
                                     &r->uniformity_log, e));
    }
    if (r->has_crop_mass) {
        if (!(w->boxes = cg_malloc(n * sizeof *w->boxes)))
            return cg_error_nomem(e);
        for (size_t i = 0; i < n; i++)
            CG_TRY(cg_measure_mnist_grid_box(cell[i], &w->boxes[i], e));
        CG_TRY(cg_measure_crop_mass(feat(w, "p_crops")->a[es].data, w->boxes, n, &CROP_GRID,
                                    &r->crop_mass, e));
    }
    return CG_OK;
}

enum cg_status cg_evaluate(struct cg_eval_session *s, const struct cg_evaluate_config *c,
                           struct cg_eval_result *r, struct cg_error *e)
{
    static const struct cg_evaluate_config dflt = {0};
    struct work w;
    memset(&w, 0, sizeof w);
    memset(r, 0, sizeof *r);
    enum cg_status st = evaluate(s, c ? c : &dflt, r, &w, e);
    work_free(&w);
    return st;
}

/* ---- eval.json ---- */

static void num(struct cg_buf *b, double v)
{
    if (isfinite(v))
        cg_buf_printf(b, "%.10g", v);
    else
        cg_buf_printf(b, "null");
}

void cg_evaluate_json(const struct cg_eval_session *s, const struct cg_eval_result *r,
                      struct cg_buf *b)
{
    const struct cg_eval_info *info = cg_eval_info(s);
    cg_buf_printf(b, "{\n  \"metrics\": {");
    for (int i = 0; i < r->nmetrics; i++) {
        cg_buf_printf(b, "%s", i ? ", " : "");
        cg_buf_json_str(b, r->metrics[i].name);
        cg_buf_printf(b, ": ");
        num(b, r->metrics[i].value);
    }
    cg_buf_printf(b, "}");
    if (r->nlosses == 1 && !strcmp(r->losses[0].name, "loss")) {
        cg_buf_printf(b, ",\n  \"loss\": ");
        num(b, r->losses[0].value);
    } else if (r->nlosses) {
        cg_buf_printf(b, ",\n  \"losses\": {");
        for (int i = 0; i < r->nlosses; i++) {
            cg_buf_printf(b, "%s", i ? ", " : "");
            cg_buf_json_str(b, r->losses[i].name);
            cg_buf_printf(b, ": ");
            num(b, r->losses[i].value);
        }
        cg_buf_printf(b, "}");
    }
    if (r->has_accuracy) {
        cg_buf_printf(b, ",\n  \"accuracy\": ");
        num(b, r->accuracy);
        cg_buf_printf(b, ",\n  \"balanced_accuracy\": ");
        num(b, r->balanced_accuracy);
    }
    if (r->ngroups) {
        cg_buf_printf(b, ",\n  \"group_field\": ");
        cg_buf_json_str(b, r->group_field);
        cg_buf_printf(b, ",\n  \"groups\": [");
        int k = 0;
        for (int i = 0; i < r->ngroups; i++) {
            if (!r->groups[i].count)
                continue;
            cg_buf_printf(b, "%s\n    {\"group\": %d, \"count\": %zu, \"correct\": %zu, "
                          "\"accuracy\": ", k++ ? "," : "", i, r->groups[i].count,
                          r->groups[i].correct);
            num(b, r->groups[i].accuracy);
            cg_buf_printf(b, "}");
        }
        cg_buf_printf(b, "\n  ],\n  \"worst_group_accuracy\": ");
        num(b, r->worst_group_accuracy);
    }
    if (r->nprobes) {
        cg_buf_printf(b, ",\n  \"probe\": {");
        for (int i = 0; i < r->nprobes; i++) {
            const struct cg_eval_probe *p = &r->probes[i];
            char key[200];
            snprintf(key, sizeof key, "%s->%s", p->output, p->field);
            cg_buf_printf(b, "%s\n    ", i ? "," : "");
            cg_buf_json_str(b, key);
            cg_buf_printf(b, ": {\"accuracy\": ");
            num(b, p->r.accuracy);
            cg_buf_printf(b, ", \"balanced_accuracy\": ");
            num(b, p->r.balanced_accuracy);
            cg_buf_printf(b, ", \"train_accuracy\": ");
            num(b, p->r.train_accuracy);
            cg_buf_printf(b, ", \"features\": %d, \"classes\": %d, \"steps\": %d}", p->dim,
                          p->n_classes, p->r.steps);
        }
        cg_buf_printf(b, "\n  }");
    }
    if (r->nr2) {
        cg_buf_printf(b, ",\n  \"r2\": {");
        for (int i = 0; i < r->nr2; i++) {
            char key[200];
            snprintf(key, sizeof key, "%s->%s", r->r2[i].output, r->r2[i].field);
            cg_buf_printf(b, "%s\n    ", i ? "," : "");
            cg_buf_json_str(b, key);
            cg_buf_printf(b, ": {\"linear\": ");
            num(b, r->r2[i].linear);
            cg_buf_printf(b, ", \"kernel_ridge\": ");
            num(b, r->r2[i].kernel_ridge);
            cg_buf_printf(b, "}");
        }
        cg_buf_printf(b, "\n  }");
    }
    if (r->has_embedding) {
        cg_buf_printf(b, ",\n  \"alignment\": ");
        num(b, r->alignment);
        cg_buf_printf(b, ",\n  \"uniformity\": ");
        num(b, r->uniformity);
        cg_buf_printf(b, ",\n  \"uniformity_log\": ");
        num(b, r->uniformity_log);
    }
    if (r->has_crop_mass) {
        cg_buf_printf(b, ",\n  \"crop_mass\": ");
        num(b, r->crop_mass);
    }
    cg_buf_printf(b, ",\n  \"split\": \"%s\",\n  \"examples\": %zu,\n  \"checkpoint\": ",
                  split_name(r->split), r->examples);
    cg_buf_json_str(b, info->checkpoint);
    cg_buf_printf(b, ",\n  \"step\": %llu,\n  \"data\": ", (unsigned long long)info->step);
    cg_buf_json_str(b, info->data);
    cg_buf_printf(b, ",\n  \"batch\": %lld\n}\n", (long long)info->batch);
}
