/* viz.c: the run report of viz.h. Reads config.json, metrics.jsonl and eval.json of the run
 * directory, opens an evaluation session on its newest checkpoint, sorts the graph's outputs
 * into pictures (image grids, crop heatmaps, embeddings), gathers them over the first test
 * batches in one pass, reads the conv weights, and writes the page section by section. */
#include "eval/viz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eval/chart.h"
#include "eval/pca.h"
#include "eval/raster.h"
#include "eval/report.h"
#include "eval/session.h"
#include "exec/model.h"
#include "ir/graph.h"
#include "ops/registry.h"
#include "util/json.h"

#define MAX_QUANTITIES 32
#define MAX_POINTS 2000
#define MAX_TENSORS 24
#define MAX_CONVS 4
#define GRID_COLS 8
#define TILE_PX 112   /* displayed size of an example image */
#define FILTER_PX 36  /* displayed size of a filter tile */
#define LAYOUT_PX 760 /* side of the filters-at-their-embedding canvas */

/* ---- metrics.jsonl ---------------------------------------------------------------------- */

struct mrec {
    double step;
    int test;
    double v[MAX_QUANTITIES];
};

struct metrics {
    char names[MAX_QUANTITIES][64];
    int nq;
    struct mrec *r;
    size_t n, cap;
    long bad_lines, first_bad; /* lines that are not a JSON record with a step */
};

/* The quantities in display order: loss first, examples_per_s last, the others in order of
 * appearance. Returns how many. */
static int display_order(const struct metrics *m, int *order)
{
    int no = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int q = 0; q < m->nq; q++) {
            int p = !strcmp(m->names[q], "loss") ? 0
                    : !strcmp(m->names[q], "examples_per_s") ? 2 : 1;
            if (p == pass)
                order[no++] = q;
        }
    return no;
}

static int quantity(struct metrics *m, const char *name)
{
    for (int q = 0; q < m->nq; q++)
        if (!strcmp(m->names[q], name))
            return q;
    if (m->nq == MAX_QUANTITIES || strlen(name) >= sizeof m->names[0])
        return -1;
    snprintf(m->names[m->nq], sizeof m->names[0], "%s", name);
    return m->nq++;
}

/* Reads RUNDIR/metrics.jsonl (absent: no records). Lines that do not parse (a record being
 * written) are counted, not fatal. */
static enum cg_status read_metrics(const char *rundir, struct metrics *m, struct cg_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", rundir);
    struct stat st;
    if (stat(path, &st) != 0)
        return CG_OK;
    char *text;
    size_t len;
    CG_TRY(cg_read_file(path, (size_t)1 << 28, &text, &len, e));
    long lineno = 0;
    enum cg_status s = CG_OK;
    for (char *line = text; *line && s == CG_OK;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        lineno++;
        if (line[strspn(line, " \t\r")]) {
            struct cg_json v;
            struct cg_error pe = {0};
            double step;
            if (cg_json_parse(line, path, &v, &pe) != CG_OK) {
                if (pe.status == CG_ERR_NOMEM)
                    s = cg_error_nomem(e);
                else if (!m->bad_lines++)
                    m->first_bad = lineno;
            } else if (!cg_json_number(&v, "step", &step)) {
                if (!m->bad_lines++)
                    m->first_bad = lineno;
                cg_json_free(&v);
            } else if (cg_grow((void **)&m->r, &m->cap, m->n + 1, sizeof *m->r)) {
                s = cg_error_nomem(e);
                cg_json_free(&v);
            } else {
                struct mrec *r = &m->r[m->n++];
                const struct cg_json *split = cg_json_get(&v, "split", CG_JSON_STR);
                r->step = step;
                r->test = split && !strcmp(split->str, "test");
                for (int q = 0; q < MAX_QUANTITIES; q++)
                    r->v[q] = NAN;
                for (int i = 0; i < v.n; i++) {
                    const char *k = v.keys[i];
                    enum cg_json_kind kind = v.items[i].kind;
                    if (!strcmp(k, "step") || !strcmp(k, "epoch") || !strcmp(k, "time_s") ||
                        (kind != CG_JSON_INT && kind != CG_JSON_REAL && kind != CG_JSON_NULL))
                        continue;
                    int q = quantity(m, k);
                    if (q >= 0 && kind != CG_JSON_NULL)
                        r->v[q] = v.items[i].num;
                }
                cg_json_free(&v);
            }
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    cg_free(text);
    return s;
}

/* ---- the pieces of the summary ---------------------------------------------------------- */

static void kv(struct cg_report *r, const char *key, const char *value)
{
    cg_report_html(r, "<tr><th>");
    cg_report_text(r, key);
    cg_report_html(r, "</th><td>");
    cg_report_text(r, value);
    cg_report_html(r, "</td></tr>\n");
}

/* config's member key as text ("" when absent), numbers as written. */
static const char *cfg_text(const struct cg_json *cfg, const char *key)
{
    const struct cg_json *v = cg_json_get(cfg, key, CG_JSON_STR);
    if (v)
        return v->str;
    v = cg_json_get(cfg, key, CG_JSON_REAL);
    return v ? v->numtext : "";
}

static void fmt_num(char *s, size_t n, double v)
{
    if (isnan(v))
        snprintf(s, n, "-");
    else
        snprintf(s, n, "%.6g", v);
}

/* Rows "a.b.c" -> number (or string) for every leaf of eval.json, up to 300. */
static void flat_rows(struct cg_report *r, const struct cg_json *v, char *prefix, size_t cap,
                      int *rows)
{
    size_t len = strlen(prefix);
    if (*rows >= 300)
        return;
    if (v->kind == CG_JSON_OBJ || v->kind == CG_JSON_ARR) {
        for (int i = 0; i < v->n; i++) {
            if (v->kind == CG_JSON_OBJ)
                snprintf(prefix + len, cap - len, "%s%s", len ? "." : "", v->keys[i]);
            else
                snprintf(prefix + len, cap - len, "[%d]", i);
            flat_rows(r, &v->items[i], prefix, cap, rows);
            prefix[len] = 0;
        }
        return;
    }
    char num[64];
    const char *text = num;
    if (v->kind == CG_JSON_INT || v->kind == CG_JSON_REAL)
        fmt_num(num, sizeof num, v->num);
    else if (v->kind == CG_JSON_STR)
        text = v->str;
    else
        text = v->kind == CG_JSON_NULL ? "null" : v->boolean ? "true" : "false";
    if (v->kind == CG_JSON_STR) { /* text reads from the left */
        cg_report_html(r, "<tr><th>");
        cg_report_text(r, prefix[0] ? prefix : "value");
        cg_report_html(r, "</th><td class=\"s\">");
        cg_report_text(r, text);
        cg_report_html(r, "</td></tr>\n");
    } else {
        kv(r, prefix[0] ? prefix : "value", text);
    }
    (*rows)++;
}

static void section_summary(struct cg_report *r, const struct cg_viz_options *o,
                            const struct cg_json *cfg, const struct cg_eval_info *info,
                            const struct metrics *m, const struct cg_json *evj,
                            const char *eval_err)
{
    char buf[512];
    cg_report_section(r, "summary", "Run");
    cg_report_html(r, "<table class=\"kv\">\n");
    kv(r, "run directory", o->rundir);
    kv(r, "graph", info->graph);
    const struct cg_json *params = cg_json_get(cfg, "data_params", CG_JSON_OBJ);
    struct cg_buf d = {0};
    cg_buf_printf(&d, "%s", info->data);
    if (strcmp(cfg_text(cfg, "data_name"), info->data) && cfg_text(cfg, "data_name")[0] &&
        (!o->data || !strcmp(o->data, cfg_text(cfg, "data")))) {
        cg_buf_printf(&d, " (%s", cfg_text(cfg, "data_name"));
        for (int i = 0; params && i < params->n; i++)
            if (params->items[i].kind == CG_JSON_STR)
                cg_buf_printf(&d, "%s%s=%s", i ? ", " : ": ", params->keys[i],
                              params->items[i].str);
        cg_buf_printf(&d, ")");
    }
    if (o->data)
        cg_buf_printf(&d, " (given with --data; the run trained on %s)", cfg_text(cfg, "data"));
    kv(r, "data", cg_buf_str(&d));
    cg_buf_free(&d);
    if (cfg_text(cfg, "train_examples")[0]) {
        snprintf(buf, sizeof buf, "%s train, %s test (sampler: %s)",
                 cfg_text(cfg, "train_examples"), cfg_text(cfg, "test_examples"),
                 cfg_text(cfg, "sampler"));
        kv(r, "examples", buf);
    }
    const char *epochs = cfg_text(cfg, "epochs"), *steps = cfg_text(cfg, "steps");
    snprintf(buf, sizeof buf, "%llu (newest checkpoint) of %s %s, %s steps per epoch",
             (unsigned long long)info->step, strcmp(steps, "0") ? steps : epochs,
             strcmp(steps, "0") ? (strcmp(steps, "1") ? "steps" : "step")
                                : (strcmp(epochs, "1") ? "epochs" : "epoch"),
             cfg_text(cfg, "steps_per_epoch"));
    kv(r, "steps", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)info->batch);
    kv(r, "batch", buf);
    if (cfg_text(cfg, "optimizer")[0])
        kv(r, "optimizer", cfg_text(cfg, "optimizer"));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)info->seed);
    kv(r, "seed", buf);
    if (cfg_text(cfg, "device")[0])
        kv(r, "trained on", cfg_text(cfg, "device"));
    kv(r, "checkpoint", info->checkpoint);
    if (cfg_text(cfg, "clgraph_version")[0])
        kv(r, "clgraph", cfg_text(cfg, "clgraph_version"));
    cg_report_html(r, "</table>\n");
    /* the last train and test records */
    const struct mrec *last[2] = {NULL, NULL};
    for (size_t i = 0; i < m->n; i++)
        last[m->r[i].test] = &m->r[i];
    if (m->n) {
        cg_report_html(r, "<h3>Last records of metrics.jsonl</h3>\n<table class=\"kv num\">\n"
                       "<tr><th></th>");
        for (int t = 0; t < 2; t++)
            if (last[t])
                cg_report_html(r, "<th>%s (step %.0f)</th>", t ? "test" : "train", last[t]->step);
        cg_report_html(r, "</tr>\n");
        int order[MAX_QUANTITIES], no = display_order(m, order);
        for (int i = 0; i < no; i++) {
            int q = order[i];
            cg_report_html(r, "<tr><th>");
            cg_report_text(r, m->names[q]);
            cg_report_html(r, "</th>");
            for (int t = 0; t < 2; t++)
                if (last[t]) {
                    fmt_num(buf, sizeof buf, last[t]->v[q]);
                    cg_report_html(r, "<td>%s</td>", buf);
                }
            cg_report_html(r, "</tr>\n");
        }
        cg_report_html(r, "</table>\n");
    }
    if (evj) {
        cg_report_html(r, "<h3>eval.json</h3>\n<table class=\"kv num\">\n");
        char prefix[512] = "";
        int rows = 0;
        flat_rows(r, evj, prefix, sizeof prefix, &rows);
        cg_report_html(r, "</table>\n");
    } else if (eval_err) {
        cg_report_html(r, "<p class=\"note\">eval.json not shown: ");
        cg_report_text(r, eval_err);
        cg_report_html(r, "</p>\n");
    }
}

/* ---- curves ----------------------------------------------------------------------------- */

static enum cg_status section_curves(struct cg_report *r, const struct metrics *m,
                                     struct cg_error *e)
{
    cg_report_section(r, "curves", "Curves");
    if (!m->n) {
        cg_report_html(r, "<p class=\"note\">metrics.jsonl has no records yet.</p>\n");
        return CG_OK;
    }
    cg_report_html(r, "<p class=\"note\">From metrics.jsonl: train records (every --log-every "
                   "steps) as lines, test-split evaluations as markers.");
    if (m->bad_lines)
        cg_report_html(r, " %ld line(s) skipped (not a JSON record with a step; the first is "
                       "line %ld).", m->bad_lines, m->first_bad);
    cg_report_html(r, "</p>\n<div class=\"charts\">\n");
    double *buf = cg_malloc(4 * (m->n + 1) * sizeof *buf);
    if (!buf)
        return cg_error_nomem(e);
    int order[MAX_QUANTITIES], no = display_order(m, order);
    for (int i = 0; i < no; i++) {
        int q = order[i];
        double *tx = buf, *ty = buf + m->n, *ex = buf + 2 * m->n, *ey = buf + 3 * m->n;
        size_t nt = 0, ne = 0;
        for (size_t k = 0; k < m->n; k++) {
            if (m->r[k].test)
                ex[ne] = m->r[k].step, ey[ne++] = m->r[k].v[q];
            else
                tx[nt] = m->r[k].step, ty[nt++] = m->r[k].v[q];
        }
        struct cg_series s[2];
        int ns = 0;
        int any_t = 0, any_e = 0;
        for (size_t k = 0; k < nt; k++)
            any_t |= isfinite(ty[k]);
        for (size_t k = 0; k < ne; k++)
            any_e |= isfinite(ey[k]);
        if (any_t)
            s[ns++] = (struct cg_series){"train", tx, ty, nt, 0};
        if (any_e)
            s[ns++] = (struct cg_series){"test", ex, ey, ne, 1};
        if (!ns)
            continue;
        const char *title = !strcmp(m->names[q], "examples_per_s") ? "examples/s (train)"
                                                                    : m->names[q];
        struct cg_chart_frame f = {title, "step", m->names[q], 540, 300};
        cg_svg_line_chart(&r->body, &f, s, ns);
    }
    cg_free(buf);
    cg_report_html(r, "</div>\n");
    return CG_OK;
}

/* ---- the graph's tensors ---------------------------------------------------------------- */

enum tkind { T_IMAGE, T_HEAT, T_EMBED };

struct tensor {
    char name[128];
    enum tkind kind;
    int c, h, w, g;         /* images [c, h, w]; heatmaps g x g */
    struct cg_eval_array a; /* gathered rows */
};

struct conv {
    char param[128], embed[128];
    int k, c, h, w;
    float *wt, *emb; /* host copies */
};

struct plan {
    struct tensor t[MAX_TENSORS];
    int nt;
    int input; /* index in t of the image input, -1 when none */
    int crop_size, crop_stride; /* from a crop_grid / crop_all node on the image input, or 0 */
    struct conv conv[MAX_CONVS];
    int nconv;
    struct cg_buf skipped; /* "<li>name: reason</li>" */
};

static int concrete(const struct cg_shape *s, int64_t *dims)
{
    for (int d = 0; d < s->rank; d++)
        if (!cg_dim_is_const(s->d[d], &dims[d]))
            return 0;
    return 1;
}

static void skip(struct plan *p, const struct cg_graph *g, const char *name, int v,
                 const char *why)
{
    char sh[256];
    cg_buf_printf(&p->skipped, "<li><code>");
    cg_html_escape(&p->skipped, name);
    cg_buf_printf(&p->skipped, "</code> ");
    cg_html_escape(&p->skipped, cg_shape_str(g, &g->values[v].shape, g->values[v].dtype, 1, sh,
                                             sizeof sh));
    cg_buf_printf(&p->skipped, ": ");
    cg_html_escape(&p->skipped, why);
    cg_buf_printf(&p->skipped, "</li>\n");
}

static struct tensor *add_tensor(struct plan *p, const char *name, enum tkind kind)
{
    if (p->nt == MAX_TENSORS)
        return NULL;
    struct tensor *t = &p->t[p->nt++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    return t;
}

/* Sorts the graph's image input and outputs into pictures, finds the crop geometry and the
 * conv layers (with an embedding parameter of their filters). */
static void plan_graph(struct plan *p, const struct cg_graph *g, int64_t batch)
{
    int64_t dims[CG_MAX_RANK];
    p->input = -1;
    /* the image input: x when it is one, else the first [N, 1|3, H, W] input */
    for (int pass = 0; pass < 2 && p->input < 0; pass++)
        for (size_t i = 0; i < g->ninputs && p->input < 0; i++) {
            const struct cg_value *v = &g->values[g->inputs[i].value];
            if (pass == 0 && strcmp(g->inputs[i].name, "x"))
                continue;
            if (v->dtype == CG_F32 && v->shape.rank == 4 && concrete(&v->shape, dims) &&
                dims[0] == batch && (dims[1] == 1 || dims[1] == 3)) {
                struct tensor *t = add_tensor(p, g->inputs[i].name, T_IMAGE);
                t->c = (int)dims[1], t->h = (int)dims[2], t->w = (int)dims[3];
                p->input = p->nt - 1;
            }
        }
    for (size_t i = 0; i < g->noutputs; i++) {
        const char *name = g->outputs[i].name;
        int vi = g->outputs[i].value;
        const struct cg_value *v = &g->values[vi];
        if (v->dtype != CG_F32) {
            skip(p, g, name, vi, "not f32");
            continue;
        }
        if (!concrete(&v->shape, dims) || v->shape.rank < 2 || dims[0] != batch) {
            skip(p, g, name, vi, "not one row per example");
            continue;
        }
        int softmax = v->kind == CG_V_NODE && g->nodes[v->index].op == CG_OP_softmax;
        int64_t gs = (int64_t)llround(sqrt((double)(v->shape.rank == 2 ? dims[1] : 0)));
        struct tensor *t = NULL;
        if (v->shape.rank == 4) {
            if ((t = add_tensor(p, name, T_IMAGE)))
                t->c = (int)dims[1], t->h = (int)dims[2], t->w = (int)dims[3];
        } else if (v->shape.rank == 2 && gs >= 2 && gs * gs == dims[1] &&
                   (softmax || strstr(name, "crop"))) {
            if ((t = add_tensor(p, name, T_HEAT)))
                t->g = (int)gs;
        } else if (v->shape.rank == 2 && dims[1] >= 2) {
            t = add_tensor(p, name, T_EMBED);
        } else {
            skip(p, g, name, vi, v->shape.rank == 2 ? "one value per example"
                                                    : "neither an image [N, C, H, W] nor a "
                                                      "vector [N, D] per example");
            continue;
        }
        if (!t)
            skip(p, g, name, vi, "too many pictures already");
    }
    /* crop geometry from the graph */
    for (size_t n = 0; n < g->nnodes && p->input >= 0; n++) {
        const struct cg_node *nd = &g->nodes[n];
        if ((nd->op == CG_OP_crop_grid || nd->op == CG_OP_crop_all) &&
            nd->inputs[0] == cg_graph_find_value(g, p->t[p->input].name)) {
            p->crop_size = (int)nd->attrs[0].i;
            p->crop_stride = (int)nd->attrs[1].i;
            break;
        }
    }
    /* conv layers: weights [K, C, h, w] of the first conv2d node and of those whose filters are
     * images (C 1 or 3), each parameter once */
    for (size_t n = 0; n < g->nnodes && p->nconv < MAX_CONVS; n++) {
        const struct cg_node *nd = &g->nodes[n];
        if (nd->op != CG_OP_conv2d || nd->ninputs < 2 || nd->inputs[1] < 0)
            continue;
        const struct cg_value *w = &g->values[nd->inputs[1]];
        if (w->kind != CG_V_PARAM || w->shape.rank != 4 || !concrete(&w->shape, dims))
            continue;
        if (p->nconv > 0 && dims[1] != 1 && dims[1] != 3)
            continue; /* after the first conv, only those whose filters are images */
        const char *pname = g->params[w->index].name;
        int dup = 0;
        for (int k = 0; k < p->nconv; k++)
            dup |= !strcmp(p->conv[k].param, pname);
        if (dup)
            continue;
        struct conv *c = &p->conv[p->nconv++];
        memset(c, 0, sizeof *c);
        snprintf(c->param, sizeof c->param, "%s", pname);
        c->k = (int)dims[0], c->c = (int)dims[1], c->h = (int)dims[2], c->w = (int)dims[3];
        for (size_t q = 0; q < g->nparams; q++) {
            const struct cg_param *pp = &g->params[q];
            if (!pp->state && pp->dtype == CG_F32 && pp->shape.rank == 2 &&
                concrete(&pp->shape, dims) && dims[0] == c->k && dims[1] == 2) {
                snprintf(c->embed, sizeof c->embed, "%s", pp->name);
                break;
            }
        }
    }
}

static void plan_free(struct plan *p)
{
    for (int i = 0; i < p->nt; i++)
        cg_eval_array_free(&p->t[i].a);
    for (int i = 0; i < p->nconv; i++) {
        cg_free(p->conv[i].wt);
        cg_free(p->conv[i].emb);
    }
    cg_buf_free(&p->skipped);
}

/* One pass over the test split's first batches: K rows of every image and heatmap, up to
 * MAX_POINTS rows (full batches only: the remainder would need a second schedule built) of the
 * embeddings, and the conv weights from the first batch's model. *rows: rows gathered. */
static enum cg_status gather(struct cg_eval_session *s, struct plan *p, size_t k, size_t *rows,
                             struct cg_error *e)
{
    const struct cg_split *sp = cg_eval_split(s, CG_EVAL_TEST);
    size_t batch = (size_t)cg_eval_info(s)->batch, full = sp->count / batch;
    size_t need = 0;
    for (int i = 0; i < p->nt; i++) {
        size_t n = p->t[i].kind == T_EMBED ? (full ? full * batch : sp->count) : k;
        if (n > MAX_POINTS && p->t[i].kind == T_EMBED)
            n = MAX_POINTS;
        if (n > need)
            need = n;
    }
    if (need == 0 && p->nconv == 0)
        return CG_OK;
    CG_TRY(cg_eval_begin(s, CG_EVAL_TEST, e));
    size_t got = 0, nb = 0;
    while (got < need || (nb == 0 && p->nconv)) {
        if (nb == full && got > 0)
            break;
        struct cg_eval_batch b;
        int more;
        CG_TRY(cg_eval_next(s, &b, &more, e));
        if (!more)
            break;
        for (int i = 0; i < p->nt; i++)
            if (p->t[i].kind == T_EMBED || got < k)
                CG_TRY(cg_eval_gather(&b, p->t[i].name, sp->count, &p->t[i].a, e));
        for (int i = 0; nb == 0 && i < p->nconv; i++) {
            struct conv *c = &p->conv[i];
            size_t n = (size_t)c->k * (size_t)c->c * (size_t)c->h * (size_t)c->w;
            c->wt = cg_malloc(n * sizeof *c->wt);
            if (!c->wt)
                return cg_error_nomem(e);
            CG_TRY(cg_model_get(b.model, c->param, c->wt, n * sizeof *c->wt, e));
            if (c->embed[0]) {
                c->emb = cg_malloc((size_t)c->k * 2 * sizeof *c->emb);
                if (!c->emb)
                    return cg_error_nomem(e);
                CG_TRY(cg_model_get(b.model, c->embed, c->emb, (size_t)c->k * 2 * sizeof *c->emb,
                                    e));
            }
        }
        got += b.rows;
        nb++;
    }
    *rows = got;
    return CG_OK;
}

/* The label field y of the test split (i32 scalars), or NULL. */
static const int32_t *labels_of(struct cg_eval_session *s)
{
    const struct cg_field *f = cg_split_field(cg_eval_split(s, CG_EVAL_TEST), "y");
    return f && f->dtype == CG_NPY_I32 && f->rank == 0 ? f->data : NULL;
}

/* The example's picture of image tensor t at scale: channel mean when C is not 1 or 3. */
static enum cg_status example_image(const struct tensor *t, size_t i, float lo, float hi,
                                    int scale, struct cg_image *im, struct cg_error *e)
{
    int c = t->c == 3 ? 3 : 1;
    CG_TRY(cg_canvas_new(im, t->w * scale, t->h * scale, c, 0, e));
    size_t plane = (size_t)t->h * (size_t)t->w;
    const float *src = (const float *)t->a.data + i * (size_t)t->c * plane;
    if (t->c == 1 || t->c == 3) {
        cg_draw_chw(im, 0, 0, src, c, t->h, t->w, scale, lo, hi);
        return CG_OK;
    }
    float *mean = cg_calloc(plane, sizeof *mean);
    if (!mean) {
        cg_image_free(im);
        return cg_error_nomem(e);
    }
    for (int k = 0; k < t->c; k++)
        for (size_t q = 0; q < plane; q++)
            mean[q] += src[(size_t)k * plane + q] / (float)t->c;
    cg_draw_chw(im, 0, 0, mean, 1, t->h, t->w, scale, lo, hi);
    cg_free(mean);
    return CG_OK;
}

static int scale_for(int side, int px)
{
    int s = (int)lround((double)px / side);
    return s < 1 ? 1 : s;
}

static void caption(char *s, size_t n, size_t i, const int32_t *y)
{
    if (y)
        snprintf(s, n, "#%zu &middot; y=%d", i, (int)y[i]);
    else
        snprintf(s, n, "#%zu", i);
}

static enum cg_status section_images(struct cg_report *r, struct plan *p, size_t k,
                                     const int32_t *y, struct cg_error *e)
{
    int rowsof[MAX_TENSORS], nr = 0;
    if (p->input >= 0)
        rowsof[nr++] = p->input;
    for (int i = 0; i < p->nt; i++)
        if (p->t[i].kind == T_IMAGE && i != p->input)
            rowsof[nr++] = i;
    int heat = 0;
    for (int i = 0; i < p->nt; i++)
        heat |= p->t[i].kind == T_HEAT;
    if (nr == 0 || (nr == 1 && heat))
        return CG_OK; /* only the input, which the heatmaps show */
    cg_report_section(r, "images", "Images");
    cg_report_html(r, "<p class=\"note\">The first %zu test examples: one row per tensor (the "
                   "input, then each image output), upscaled by nearest neighbour. Values in "
                   "[0, 1] are shown as they are; other ranges are stretched from the "
                   "tensor's minimum (black) to its maximum (white) over these examples. A "
                   "tensor with other than 1 or 3 channels shows its channel mean.</p>\n", k);
    float lo[MAX_TENSORS], hi[MAX_TENSORS];
    for (int j = 0; j < nr; j++) {
        const struct tensor *t = &p->t[rowsof[j]];
        cg_display_range(t->a.data, k * (size_t)t->c * (size_t)t->h * (size_t)t->w, &lo[j],
                         &hi[j]);
    }
    for (size_t c0 = 0; c0 < k; c0 += GRID_COLS) {
        size_t c1 = c0 + GRID_COLS < k ? c0 + GRID_COLS : k;
        cg_report_html(r, "<table class=\"grid\">\n<tr><th></th>");
        for (size_t i = c0; i < c1; i++) {
            char cap[64];
            caption(cap, sizeof cap, i, y);
            cg_report_html(r, "<td>%s</td>", cap);
        }
        cg_report_html(r, "</tr>\n");
        for (int j = 0; j < nr; j++) {
            const struct tensor *t = &p->t[rowsof[j]];
            int scale = scale_for(t->h > t->w ? t->h : t->w, TILE_PX);
            cg_report_html(r, "<tr><th>");
            cg_report_text(r, t->name);
            if (t->c != 1 && t->c != 3)
                cg_report_html(r, "<br>(mean of %d)", t->c);
            cg_report_html(r, "</th>");
            for (size_t i = c0; i < c1; i++) {
                struct cg_image im;
                CG_TRY(example_image(t, i, lo[j], hi[j], scale, &im, e));
                char alt[200];
                snprintf(alt, sizeof alt, "%s of test example %zu", t->name, i);
                cg_report_html(r, "<td>");
                enum cg_status st = cg_report_image(r, &im, 1, alt, e);
                cg_image_free(&im);
                CG_TRY(st);
                cg_report_html(r, "</td>");
            }
            cg_report_html(r, "</tr>\n");
        }
        cg_report_html(r, "</table>\n");
    }
    return CG_OK;
}

/* Crop coverage of example i's g x g probabilities p over an h x w image: each pixel sums the
 * probabilities of the crops (size c, stride s) that contain it. */
static void coverage(const float *p, int g, int c, int s, int h, int w, float *out)
{
    memset(out, 0, (size_t)h * (size_t)w * sizeof *out);
    for (int a = 0; a < g; a++)
        for (int b = 0; b < g; b++) {
            float v = p[a * g + b];
            for (int y = a * s; y < a * s + c && y < h; y++)
                for (int x = b * s; x < b * s + c && x < w; x++)
                    out[(size_t)y * (size_t)w + (size_t)x] += v;
        }
}

static enum cg_status section_heat(struct cg_report *r, struct plan *p, size_t k,
                                   const int32_t *y, struct cg_error *e)
{
    int any = 0;
    for (int i = 0; i < p->nt; i++)
        any |= p->t[i].kind == T_HEAT;
    if (!any)
        return CG_OK;
    cg_report_section(r, "crops", "P(T|X) over the crop grid");
    const struct tensor *in = p->input >= 0 ? &p->t[p->input] : NULL;
    enum cg_status st = CG_OK;
    float *cov = in ? cg_malloc((size_t)in->h * (size_t)in->w * sizeof *cov) : NULL;
    if (in && !cov)
        return cg_error_nomem(e);
    for (int ti = 0; ti < p->nt && st == CG_OK; ti++) {
        const struct tensor *t = &p->t[ti];
        if (t->kind != T_HEAT)
            continue;
        int g = t->g, s = p->crop_stride, c = p->crop_size;
        if (in && (s <= 0 || c <= 0)) { /* the convention: stride 4, crops fill the image */
            s = 4, c = in->h - 4 * (g - 1);
        }
        int overlay = in && c >= 1 && (g - 1) * s + c <= in->h && (g - 1) * s + c <= in->w;
        cg_report_html(r, "<h3>");
        cg_report_text(r, t->name);
        cg_report_html(r, "</h3>\n<p class=\"note\">Each example: %s the %dx%d map of P(T|X)%s. "
                       "Row-major map: cell (i, j) is the crop "
                       "whose top-left corner is (%d&middot;i, %d&middot;j). Each map's colours "
                       "(viridis) run from 0 to its own maximum.", in ? "the input," : "", g, g,
                       overlay ? ", the crop coverage over the input" : "", s > 0 ? s : 4,
                       s > 0 ? s : 4);
        if (overlay)
            cg_report_html(r, " The overlay shows crop coverage on the input: each pixel the "
                           "summed probability of the %dx%d crops containing it.", c, c);
        cg_report_html(r, "</p>\n");
        int iscale = in ? scale_for(in->h > in->w ? in->h : in->w, 160) : 1;
        int hscale = scale_for(g, in ? in->h * iscale : 160);
        float ilo = 0, ihi = 1;
        if (in)
            cg_display_range(in->a.data, k * (size_t)in->c * (size_t)in->h * (size_t)in->w,
                             &ilo, &ihi);
        for (size_t i = 0; i < k && st == CG_OK; i++) {
            const float *pm = (const float *)t->a.data + i * (size_t)g * (size_t)g;
            float mx = 0;
            int arg = 0;
            for (int q = 0; q < g * g; q++)
                if (pm[q] > mx)
                    mx = pm[q], arg = q;
            char cap[64];
            caption(cap, sizeof cap, i, y);
            cg_report_html(r, "<div class=\"pair\"><div class=\"imgs\">");
            struct cg_image im = {0};
            if (in) {
                st = example_image(in, i, ilo, ihi, iscale, &im, e);
                if (st == CG_OK)
                    st = cg_report_image(r, &im, 1, "input", e);
                cg_image_free(&im);
            }
            if (st == CG_OK)
                st = cg_canvas_new(&im, g * hscale, g * hscale, 3, 0, e);
            if (st == CG_OK) {
                cg_draw_heat(&im, 0, 0, pm, g, g, hscale, 0, mx);
                st = cg_report_image(r, &im, 1, "P(T|X)", e);
                cg_image_free(&im);
            }
            if (st == CG_OK && overlay) {
                coverage(pm, g, c, s, in->h, in->w, cov);
                float cmax = 0;
                for (size_t q = 0; q < (size_t)in->h * (size_t)in->w; q++)
                    cmax = cov[q] > cmax ? cov[q] : cmax;
                struct cg_image base, heat;
                st = example_image(in, i, ilo, ihi, iscale, &base, e);
                if (st == CG_OK)
                    st = cg_canvas_new(&heat, in->w * iscale, in->h * iscale, 3, 0, e);
                if (st == CG_OK) {
                    cg_draw_heat(&heat, 0, 0, cov, in->h, in->w, iscale, 0, cmax);
                    for (size_t q = 0; q < (size_t)heat.w * (size_t)heat.h; q++)
                        for (int ch = 0; ch < 3; ch++) {
                            int b = base.pixels[q * (size_t)base.channels +
                                                (size_t)(base.channels == 3 ? ch : 0)];
                            heat.pixels[q * 3 + (size_t)ch] =
                                (uint8_t)((45 * b + 55 * heat.pixels[q * 3 + (size_t)ch]) / 100);
                        }
                    st = cg_report_image(r, &heat, 1, "crop coverage over the input", e);
                    cg_image_free(&heat);
                }
                cg_image_free(&base);
            }
            cg_report_html(r, "</div>%s &middot; max p %.3g at (%d, %d)</div>\n", cap, mx,
                           arg / g, arg % g);
        }
    }
    cg_free(cov);
    return st;
}

static enum cg_status section_embeddings(struct cg_report *r, struct plan *p, size_t rows,
                                         const int32_t *y, struct cg_error *e)
{
    int any = 0;
    for (int i = 0; i < p->nt; i++)
        any |= p->t[i].kind == T_EMBED;
    if (!any)
        return CG_OK;
    cg_report_section(r, "embeddings", "Embeddings");
    size_t n = rows < MAX_POINTS ? rows : MAX_POINTS;
    double *xy = cg_malloc(n * 2 * sizeof *xy), *px = cg_malloc(n * sizeof *px);
    double *py = cg_malloc(n * sizeof *py);
    int *lab = y ? cg_malloc(n * sizeof *lab) : NULL;
    enum cg_status st = CG_OK;
    if (!xy || !px || !py || (y && !lab)) {
        st = cg_error_nomem(e);
        goto done;
    }
    for (size_t i = 0; y && i < n; i++)
        lab[i] = y[i];
    cg_report_html(r, "<div class=\"charts\">\n");
    for (int ti = 0; ti < p->nt; ti++) {
        const struct tensor *t = &p->t[ti];
        if (t->kind != T_EMBED)
            continue;
        size_t d = t->a.example_size;
        char xl[96], yl[96], title[200];
        if (d == 2) {
            for (size_t i = 0; i < n; i++) {
                const float *row = (const float *)t->a.data + 2 * i;
                px[i] = row[0], py[i] = row[1];
            }
            snprintf(xl, sizeof xl, "%.60s[0]", t->name);
            snprintf(yl, sizeof yl, "%.60s[1]", t->name);
        } else {
            double var[2], total;
            struct cg_error pe = {0};
            enum cg_status ps = cg_pca(t->a.data, n, d, 2, xy, var, &total, &pe);
            if (ps == CG_ERR_NOMEM) {
                st = cg_error_nomem(e);
                break;
            }
            if (ps != CG_OK) {
                cg_report_html(r, "<p class=\"note\"><code>");
                cg_report_text(r, t->name);
                cg_report_html(r, "</code> not shown: ");
                cg_report_text(r, pe.msg);
                cg_report_html(r, "</p>\n");
                continue;
            }
            for (size_t i = 0; i < n; i++)
                px[i] = xy[2 * i], py[i] = xy[2 * i + 1];
            snprintf(xl, sizeof xl, "PC1 (%.1f %% of the variance)",
                     total > 0 ? 100 * var[0] / total : 0);
            snprintf(yl, sizeof yl, "PC2 (%.1f %%)", total > 0 ? 100 * var[1] / total : 0);
        }
        snprintf(title, sizeof title, "%.100s: %zu test examples, %zu dims%s", t->name, n, d,
                 d > 2 ? " (PCA)" : "");
        struct cg_chart_frame f = {title, xl, yl, 560, 460};
        cg_svg_scatter(&r->body, &f, px, py, lab, n, NULL, 0);
    }
    cg_report_html(r, "</div>\n<p class=\"note\">Colour: the label field y%s. PCA is exact "
                   "(double precision, host), on the examples shown.</p>\n",
                   y ? "" : " (absent: one colour)");
done:
    cg_free(xy), cg_free(px), cg_free(py), cg_free(lab);
    return st;
}

/* Draws filter f of conv c (its channels 1 or 3, or channel ch alone when ch >= 0) at (x0, y0)
 * scaled, symmetric around 0: -max|w| black, 0 mid grey, +max|w| white. */
static void draw_filter(struct cg_image *im, int x0, int y0, const struct conv *c, int f, int ch,
                        int scale)
{
    size_t size = (size_t)c->c * (size_t)c->h * (size_t)c->w;
    const float *w = c->wt + (size_t)f * size;
    float m = 0;
    for (size_t q = 0; q < size; q++)
        m = fabsf(w[q]) > m ? fabsf(w[q]) : m;
    if (m == 0)
        m = 1;
    if (ch >= 0)
        cg_draw_chw(im, x0, y0, w + (size_t)ch * (size_t)c->h * (size_t)c->w, 1, c->h, c->w,
                    scale, -m, m);
    else
        cg_draw_chw(im, x0, y0, w, c->c, c->h, c->w, scale, -m, m);
}

static enum cg_status section_filters(struct cg_report *r, struct plan *p, struct cg_error *e)
{
    if (!p->nconv)
        return CG_OK;
    cg_report_section(r, "filters", "Filters");
    cg_report_html(r, "<p class=\"note\">conv2d weights [K, C, h, w], each filter scaled to its "
                   "own largest |w|: negative dark, 0 grey, positive bright (RGB filters per "
                   "channel).</p>\n");
    for (int i = 0; i < p->nconv; i++) {
        const struct conv *c = &p->conv[i];
        if (!c->wt)
            continue;
        int scale = scale_for(c->h > c->w ? c->h : c->w, FILTER_PX);
        int tw = c->w * scale, th = c->h * scale;
        int per_filter = c->c == 1 || c->c == 3;
        int k = c->k > 1024 ? 1024 : c->k, cols, rws, chans = 1;
        if (per_filter) {
            cols = (int)ceil(sqrt((double)k)), rws = (k + cols - 1) / cols;
        } else { /* one row per filter, one column per input channel */
            k = k > 16 ? 16 : k;
            chans = c->c > 8 ? 8 : c->c;
            cols = chans, rws = k;
        }
        struct cg_image im;
        CG_TRY(cg_canvas_new(&im, cols * (tw + 4) + 4, rws * (th + 4) + 4,
                             per_filter ? (c->c == 3 ? 3 : 1) : 1, 230, e));
        for (int f = 0; f < k; f++)
            for (int ch = 0; ch < (per_filter ? 1 : chans); ch++) {
                int col = per_filter ? f % cols : ch, row = per_filter ? f / cols : f;
                draw_filter(&im, 4 + col * (tw + 4), 4 + row * (th + 4), c, f,
                            per_filter ? -1 : ch, scale);
            }
        cg_report_html(r, "<h3><code>");
        cg_report_text(r, c->param);
        cg_report_html(r, "</code> [%d, %d, %d, %d]", c->k, c->c, c->h, c->w);
        if (!per_filter)
            cg_report_html(r, ": rows are filters (first %d), columns input channels (first %d)",
                           k, chans);
        else if (k < c->k)
            cg_report_html(r, " (first %d)", k);
        cg_report_html(r, "</h3>\n");
        enum cg_status st = cg_report_image(r, &im, 1, c->param, e);
        cg_image_free(&im);
        CG_TRY(st);
        if (!c->emb || !per_filter)
            continue;
        /* the filters at their embedding coordinates */
        double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
        int any = 0;
        for (int f = 0; f < c->k; f++) {
            double ex = c->emb[2 * f], ey = c->emb[2 * f + 1];
            if (!isfinite(ex) || !isfinite(ey))
                continue;
            xlo = any && xlo < ex ? xlo : ex, xhi = any && xhi > ex ? xhi : ex;
            ylo = any && ylo < ey ? ylo : ey, yhi = any && yhi > ey ? yhi : ey;
            any = 1;
        }
        if (!any)
            continue;
        int lpx = c->k <= 32 ? 48 : c->k <= 100 ? 36 : 27; /* tile size: smaller when many */
        int ls = scale_for(c->h > c->w ? c->h : c->w, lpx), lw = c->w * ls, lh = c->h * ls;
        int tile = lw > lh ? lw : lh, span = LAYOUT_PX - 20 - tile;
        double unit = fmax(xhi - xlo, yhi - ylo); /* one scale: the longer side spans `span` */
        int cw = 20 + tile + (unit > 0 ? (int)lround((xhi - xlo) / unit * span) : 0);
        int chh = 20 + tile + (unit > 0 ? (int)lround((yhi - ylo) / unit * span) : 0);
        CG_TRY(cg_canvas_new(&im, cw, chh, c->c == 3 ? 3 : 1, 245, e));
        for (int f = 0; f < c->k; f++) {
            double ex = c->emb[2 * f], ey = c->emb[2 * f + 1];
            if (!isfinite(ex) || !isfinite(ey))
                continue;
            int x = 10 + (unit > 0 ? (int)lround((ex - xlo) / unit * span) : 0);
            int yy = 10 + (unit > 0 ? (int)lround((yhi - ey) / unit * span) : 0);
            draw_filter(&im, x, yy, c, f, -1, ls);
        }
        cg_report_html(r, "<h3>The filters of <code>");
        cg_report_text(r, c->param);
        cg_report_html(r, "</code> at their coordinates in <code>");
        cg_report_text(r, c->embed);
        cg_report_html(r, "</code> [%d, 2]</h3>\n<p class=\"note\">x: %s[:, 0] from %.3g to %.3g, "
                       "y (up): [:, 1] from %.3g to %.3g, one scale for both.</p>\n", c->k,
                       c->embed, xlo, xhi, ylo, yhi);
        st = cg_report_image(r, &im, 1, "filters at their embedding coordinates", e);
        cg_image_free(&im);
        CG_TRY(st);
    }
    return CG_OK;
}

/* ---- the report ------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads RUNDIR/NAME as JSON into *v (absent: *present 0). A broken file is not fatal: its
 * message goes to err. */
static enum cg_status read_json(const char *rundir, const char *name, struct cg_json *v,
                                int *present, char *err, size_t errn, struct cg_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", rundir, name);
    *present = 0;
    err[0] = 0;
    memset(v, 0, sizeof *v);
    struct stat st;
    if (stat(path, &st) != 0)
        return CG_OK;
    char *text;
    size_t len;
    struct cg_error pe = {0};
    enum cg_status s = cg_read_file(path, (size_t)1 << 24, &text, &len, &pe);
    if (s == CG_OK) {
        s = cg_json_parse(text, path, v, &pe);
        cg_free(text);
    }
    if (s == CG_ERR_NOMEM)
        return cg_error_nomem(e);
    if (s != CG_OK)
        snprintf(err, errn, "%s", pe.msg);
    else
        *present = 1;
    return CG_OK;
}

/* Whether a file can be created at path (its directory exists and is writable). */
static enum cg_status check_writable(const char *path, struct cg_error *e)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot write the report: no directory "
                            "%s", path, dir);
    if (access(dir, W_OK) != 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot write the report: directory %s "
                            "is not writable", path, dir);
    return CG_OK;
}

enum cg_status cg_viz_report(const struct cg_viz_options *o, struct cg_viz_result *res,
                             struct cg_error *e)
{
    double t0 = now();
    memset(res, 0, sizeof *res);
    int k = o->examples ? o->examples : 16;
    if (k < 1 || k > 256)
        return cg_error_set(e, CG_ERR_INPUT, "error: --examples %d is out of range (1 to 256)",
                            k);
    if (o->out)
        snprintf(res->path, sizeof res->path, "%s", o->out);
    else
        snprintf(res->path, sizeof res->path, "%s/report.html", o->rundir);
    CG_TRY(check_writable(res->path, e)); /* before any work */
    struct cg_eval_options eo = {o->rundir, o->data, o->device, 0};
    struct cg_eval_session *s = NULL;
    struct metrics m = {0};
    struct cg_json cfg = {0}, evj = {0};
    struct plan p;
    memset(&p, 0, sizeof p);
    struct cg_report r;
    memset(&r, 0, sizeof r); /* begun once the title is known */
    /* a broken config.json only thins the summary; a broken eval.json is named in it */
    char cfg_err[sizeof e->msg], eval_err[sizeof e->msg];
    int have_cfg, have_eval;
    enum cg_status st = cg_eval_open(&eo, &s, e);
    if (st == CG_OK)
        st = read_json(o->rundir, "config.json", &cfg, &have_cfg, cfg_err, sizeof cfg_err, e);
    if (st == CG_OK)
        st = read_json(o->rundir, "eval.json", &evj, &have_eval, eval_err, sizeof eval_err, e);
    if (st == CG_OK)
        st = read_metrics(o->rundir, &m, e);
    struct cg_graph *g = NULL;
    if (st == CG_OK)
        st = cg_eval_graph(s, &g, e);
    if (st != CG_OK)
        goto done;
    const struct cg_eval_info *info = cg_eval_info(s);
    plan_graph(&p, g, info->batch);
    size_t rows = 0;
    st = gather(s, &p, (size_t)k, &rows, e);
    if (st != CG_OK)
        goto done;
    size_t kk = rows < (size_t)k ? rows : (size_t)k;
    const int32_t *y = labels_of(s);
    char title[4400];
    const char *base = strrchr(info->graph, '/');
    snprintf(title, sizeof title, "%s on %s, step %llu", base ? base + 1 : info->graph,
             info->data, (unsigned long long)info->step);
    cg_report_begin(&r, title);
    section_summary(&r, o, &cfg, info, &m, have_eval ? &evj : NULL, eval_err[0] ? eval_err : NULL);
    if (st == CG_OK)
        st = section_curves(&r, &m, e);
    if (st == CG_OK && kk)
        st = section_images(&r, &p, kk, y, e);
    if (st == CG_OK && kk)
        st = section_heat(&r, &p, kk, y, e);
    if (st == CG_OK && rows >= 2)
        st = section_embeddings(&r, &p, rows, y, e);
    if (st == CG_OK)
        st = section_filters(&r, &p, e);
    if (st != CG_OK)
        goto done;
    if (p.skipped.len) {
        cg_report_section(&r, "not-shown", "Outputs not shown");
        cg_report_html(&r, "<ul>\n%s</ul>\n", cg_buf_str(&p.skipped));
    }
    st = cg_report_write(&r, res->path, e);
    if (st == CG_OK) {
        struct stat sb;
        res->bytes = stat(res->path, &sb) == 0 ? (size_t)sb.st_size : 0;
        res->seconds = now() - t0;
        const char *ids[] = {"summary", "curves", "images", "crops", "embeddings", "filters",
                             "not-shown"};
        for (size_t i = 0; i < CG_ARRAY_LEN(ids); i++) {
            char pat[64];
            snprintf(pat, sizeof pat, "<section id=\"%s\">", ids[i]);
            if (strstr(cg_buf_str(&r.body), pat)) {
                size_t u = strlen(res->sections);
                snprintf(res->sections + u, sizeof res->sections - u, "%s%s", u ? " " : "",
                         ids[i]);
                res->nsections++;
            }
        }
    }
done:
    cg_report_free(&r);
    plan_free(&p);
    cg_json_free(&cfg);
    cg_json_free(&evj);
    cg_free(m.r);
    cg_eval_close(s);
    return st;
}
