/* sampler.c: binding graph inputs to split fields, per-epoch shuffles, triplet / pair draws and
 * the row copies that fill a batch (contracts in sampler.h).
 *
 * Random numbers are splitmix streams: the permutation of epoch e uses the stream
 * r(r(seed, 0), e) (Fisher-Yates from the identity, so an epoch's order depends only on
 * (seed, e)); the draws of step t of epoch e use the stream r(r(r(seed, 1), e), t), element
 * 2b for anchor b's positive and 2b+1 for its negative or random partner. */
#include "data/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "util/splitmix.h"

enum role {
    ROLE_ANCHOR, /* the anchors' rows */
    ROLE_POS,    /* a same-class example per anchor (triplet) */
    ROLE_NEG,    /* an other-class example per anchor (triplet) */
    ROLE_RANDOM, /* a uniformly random example per anchor (pairs: fresh negative) */
    ROLE_VIEWS,  /* K copies of the anchors, view-major (multiview) */
    ROLE_VIEW,   /* copy `view` of the anchors alone (multiview: x1, x2, ...) */
};

struct binding {
    const struct cg_field *f;
    enum role role;
    int view;
    size_t elems; /* elements per example */
    size_t rows;  /* rows of the host buffer */
};

struct cg_sampler {
    const struct cg_split *s;
    struct cg_sampler_config cfg;
    int n;
    struct binding *b;
    size_t count, steps;
    uint64_t seed, epoch, step;
    size_t *perm;      /* the current epoch's order */
    uint64_t perm_for; /* epoch perm holds (perm_valid) */
    int perm_valid;
    /* triplet */
    size_t ncls;
    size_t *by_class; /* example indices sorted by (class, index) */
    size_t *cls_of;   /* class slot of each example */
    size_t *cls_off;  /* ncls + 1 offsets into by_class */
    /* per-anchor partners of the current step */
    size_t *pos, *neg, *rnd;
};

uint64_t cg_sampler_below(uint64_t r, uint64_t n)
{
    /* high 64 bits of r * n, from 32-bit halves */
    uint64_t rl = r & 0xffffffffu, rh = r >> 32, nl = n & 0xffffffffu, nh = n >> 32;
    uint64_t ll = rl * nl, lh = rl * nh, hl = rh * nl, hh = rh * nh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static const struct cg_field *find_field(const struct cg_split *s, const char *name)
{
    for (int i = 0; i < s->nfields; i++)
        if (!strcmp(s->fields[i].name, name))
            return &s->fields[i];
    return NULL;
}

static const char *dtype_name(enum cg_npy_dtype d)
{
    return d == CG_NPY_F32 ? "f32" : d == CG_NPY_I32 ? "i32" : "u8";
}

static void shape_str(struct cg_buf *b, const char *dt, int rank, const int64_t *d)
{
    cg_buf_printf(b, "%s[", dt);
    for (int i = 0; i < rank; i++)
        cg_buf_printf(b, "%s%lld", i ? "," : "", (long long)d[i]);
    cg_buf_printf(b, "]");
}

/* "graph inputs: x f32[3,28,28], y i32[]; data set fields: x f32[3,28,28], y i32[]" */
static void both_sides(struct cg_buf *b, const struct cg_split *s, const struct cg_input_desc *in,
                       int n)
{
    cg_buf_printf(b, "\nnote: graph inputs (per example):");
    for (int i = 0; i < n; i++) {
        cg_buf_printf(b, "%s %s ", i ? "," : "", in[i].name);
        shape_str(b, in[i].is_int ? "i32" : "f32", in[i].rank, in[i].dims);
    }
    cg_buf_printf(b, "\nnote: data set fields (per example, %zu examples):", s->count);
    if (!s->nfields)
        cg_buf_printf(b, " none");
    for (int i = 0; i < s->nfields; i++) {
        const struct cg_field *f = &s->fields[i];
        cg_buf_printf(b, "%s %s ", i ? "," : "", f->name);
        shape_str(b, dtype_name(f->dtype), f->rank, f->shape);
    }
}

static enum cg_status input_error(struct cg_error *e, const struct cg_split *s,
                                  const struct cg_input_desc *in, int n, int i,
                                  const struct cg_field *f, const char *what)
{
    struct cg_buf b = {0};
    cg_buf_printf(&b, "error: graph input '%s' ", in[i].name);
    shape_str(&b, in[i].is_int ? "i32" : "f32", in[i].rank, in[i].dims);
    if (f) {
        cg_buf_printf(&b, " %s field '%s' ", what, f->name);
        shape_str(&b, dtype_name(f->dtype), f->rank, f->shape);
        cg_buf_printf(&b, " of the data set");
    } else {
        cg_buf_printf(&b, " %s", what);
    }
    both_sides(&b, s, in, n);
    enum cg_status st = b.oom ? cg_error_nomem(e) : cg_error_set(e, CG_ERR_INPUT, "%s",
                                                                   cg_buf_str(&b));
    cg_buf_free(&b);
    return st;
}

/* The field and role of the graph input named nm under cfg (sampler.h describes the naming
 * rules); NULL when no field supplies it. */
static const struct cg_field *resolve(const struct cg_split *s,
                                      const struct cg_sampler_config *cfg, const char *nm,
                                      enum role *role, int *view)
{
    size_t len = strlen(nm);
    char base[64];
    const struct cg_field *f = NULL;
    *role = ROLE_ANCHOR;
    *view = 0;
    if (cfg->kind == CG_SAMPLER_MULTIVIEW) {
        const char *vf = cfg->view_field ? cfg->view_field : "x";
        size_t vl = strlen(vf);
        if (!strcmp(nm, vf)) {
            *role = ROLE_VIEWS;
            return find_field(s, vf);
        }
        if (!find_field(s, nm) && len > vl && !strncmp(nm, vf, vl)) {
            char *end;
            long k = strtol(nm + vl, &end, 10);
            if (!*end && nm[vl] >= '1' && nm[vl] <= '9' && k >= 1 && k <= cfg->views) {
                *role = ROLE_VIEW;
                *view = (int)k - 1;
                return find_field(s, vf);
            }
        }
    }
    if ((f = find_field(s, nm)))
        return f;
    if (cfg->kind == CG_SAMPLER_TRIPLET && len >= 2 && len < sizeof base &&
        (nm[len - 1] == 'p' || nm[len - 1] == 'n')) {
        memcpy(base, nm, len - 1);
        base[len - 1] = 0;
        if ((f = find_field(s, base)))
            *role = nm[len - 1] == 'p' ? ROLE_POS : ROLE_NEG;
    }
    if (!f && cfg->kind == CG_SAMPLER_PAIRS && len > 4 && len < sizeof base &&
        !strcmp(nm + len - 4, "_neg")) {
        memcpy(base, nm, len - 4);
        base[len - 4] = 0;
        if ((f = find_field(s, base)))
            *role = ROLE_RANDOM;
    }
    return f;
}

const struct cg_field *cg_sampler_field_of(const struct cg_split *s,
                                           const struct cg_sampler_config *cfg,
                                           const char *input)
{
    enum role role;
    int view;
    return resolve(s, cfg, input, &role, &view);
}

/* Binds graph input i to its field and role, checking dtype and shape. */
static enum cg_status bind_input(struct cg_sampler *sm, const struct cg_input_desc *in, int n,
                                 int i, struct cg_error *e)
{
    const struct cg_split *s = sm->s;
    const struct cg_input_desc *d = &in[i];
    struct binding *b = &sm->b[i];
    b->f = resolve(s, &sm->cfg, d->name, &b->role, &b->view);
    b->rows = sm->cfg.batch * (size_t)(b->role == ROLE_VIEWS ? sm->cfg.views : 1);
    if (!b->f) {
        const char *why = "has no field of that name in the data set";
        if (sm->cfg.kind == CG_SAMPLER_TRIPLET)
            why = "has no field of that name in the data set (triplet: Fp and Fn take field F "
                  "of the positive and the negative)";
        else if (sm->cfg.kind == CG_SAMPLER_PAIRS)
            why = "has no field of that name in the data set (pairs: F_neg without a field "
                  "takes field F of a random example)";
        else if (sm->cfg.kind == CG_SAMPLER_MULTIVIEW)
            why = "has no field of that name in the data set (multiview: the view field and "
                  "its views 1..K take the repeated images)";
        return input_error(e, s, in, n, i, NULL, why);
    }
    const struct cg_field *f = b->f;
    int dt_ok = d->is_int ? (f->dtype == CG_NPY_I32 || f->dtype == CG_NPY_U8)
                          : f->dtype == CG_NPY_F32;
    if (!dt_ok)
        return input_error(e, s, in, n, i, f, "has another dtype than");
    int sh_ok = d->rank == f->rank;
    for (int k = 0; sh_ok && k < d->rank; k++)
        sh_ok = d->dims[k] == f->shape[k];
    if (!sh_ok)
        return input_error(e, s, in, n, i, f, "has another per-example shape than");
    b->elems = 1;
    for (int k = 0; k < f->rank; k++)
        b->elems *= (size_t)f->shape[k];
    return CG_OK;
}

struct lab {
    int64_t label;
    size_t index;
};

static int lab_cmp(const void *a, const void *b)
{
    const struct lab *x = a, *y = b;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Groups the examples by the class field for the triplet draws. */
static enum cg_status build_classes(struct cg_sampler *sm, struct cg_error *e)
{
    const char *cf = sm->cfg.class_field ? sm->cfg.class_field : "y";
    const struct cg_field *f = find_field(sm->s, cf);
    if (!f)
        return cg_error_set(e, CG_ERR_INPUT, "error: triplet sampler: the data set has no class "
                            "field '%s'", cf);
    if (f->rank != 0 || f->dtype == CG_NPY_F32)
        return cg_error_set(e, CG_ERR_INPUT, "error: triplet sampler: class field '%s' must be "
                            "a scalar integer per example (i32 or u8), it is %s with rank %d", cf,
                            dtype_name(f->dtype), f->rank);
    size_t n = sm->count;
    struct lab *l = cg_malloc(n * sizeof *l);
    sm->by_class = cg_malloc(n * sizeof(size_t));
    sm->cls_of = cg_malloc(n * sizeof(size_t));
    sm->cls_off = cg_malloc((n + 1) * sizeof(size_t));
    if (!l || !sm->by_class || !sm->cls_of || !sm->cls_off) {
        cg_free(l);
        return cg_error_nomem(e);
    }
    for (size_t i = 0; i < n; i++) {
        l[i].index = i;
        l[i].label = f->dtype == CG_NPY_I32 ? ((const int32_t *)f->data)[i]
                                            : ((const uint8_t *)f->data)[i];
    }
    qsort(l, n, sizeof *l, lab_cmp);
    sm->ncls = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || l[i].label != l[i - 1].label)
            sm->cls_off[sm->ncls++] = i;
        sm->by_class[i] = l[i].index;
        sm->cls_of[l[i].index] = sm->ncls - 1;
    }
    sm->cls_off[sm->ncls] = n;
    enum cg_status st = CG_OK;
    if (sm->ncls < 2)
        st = cg_error_set(e, CG_ERR_INPUT, "error: triplet sampler: class field '%s' has a "
                          "single class (%lld); negatives need another", cf,
                          (long long)l[0].label);
    for (size_t c = 0; st == CG_OK && c < sm->ncls; c++)
        if (sm->cls_off[c + 1] - sm->cls_off[c] < 2)
            st = cg_error_set(e, CG_ERR_INPUT, "error: triplet sampler: class %lld of field "
                              "'%s' has a single example; positives need another",
                              (long long)l[sm->cls_off[c]].label, cf);
    cg_free(l);
    return st;
}

enum cg_status cg_sampler_create(const struct cg_split *s, const struct cg_input_desc *inputs,
                                 int ninputs, const struct cg_sampler_config *cfg,
                                 struct cg_sampler **out, struct cg_error *e)
{
    *out = NULL;
    if (!cfg->batch)
        return cg_error_set(e, CG_ERR_INPUT, "error: sampler: the batch size must be > 0");
    if (cfg->batch > s->count && !cfg->keep_last)
        return cg_error_set(e, CG_ERR_INPUT, "error: sampler: batch %zu is larger than the "
                            "data set's %zu examples (drop_last would give no batch)",
                            cfg->batch, s->count);
    if (!s->count)
        return cg_error_set(e, CG_ERR_INPUT, "error: sampler: the data set has no examples");
    if (cfg->kind == CG_SAMPLER_MULTIVIEW && cfg->views < 1)
        return cg_error_set(e, CG_ERR_INPUT, "error: multiview sampler: views must be >= 1, "
                            "not %d", cfg->views);
    struct cg_sampler *sm = cg_calloc(1, sizeof *sm);
    if (!sm)
        return cg_error_nomem(e);
    sm->s = s;
    sm->cfg = *cfg;
    sm->n = ninputs;
    sm->count = s->count;
    sm->seed = cfg->seed;
    sm->steps = cfg->keep_last ? (s->count + cfg->batch - 1) / cfg->batch : s->count / cfg->batch;
    enum cg_status st = CG_OK;
    sm->b = cg_calloc(ninputs ? (size_t)ninputs : 1, sizeof *sm->b);
    sm->perm = cg_malloc(s->count * sizeof(size_t));
    sm->pos = cg_calloc(cfg->batch, sizeof(size_t));
    sm->neg = cg_calloc(cfg->batch, sizeof(size_t));
    sm->rnd = cg_calloc(cfg->batch, sizeof(size_t));
    if (!sm->b || !sm->perm || !sm->pos || !sm->neg || !sm->rnd) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (int i = 0; i < ninputs && st == CG_OK; i++)
        st = bind_input(sm, inputs, ninputs, i, e);
    if (st == CG_OK && cfg->kind == CG_SAMPLER_TRIPLET)
        st = build_classes(sm, e);
    if (st != CG_OK)
        goto error;
    *out = sm;
    return CG_OK;
error:
    cg_sampler_destroy(sm);
    return st;
}

void cg_sampler_destroy(struct cg_sampler *sm)
{
    if (!sm)
        return;
    cg_free(sm->b);
    cg_free(sm->perm);
    cg_free(sm->by_class);
    cg_free(sm->cls_of);
    cg_free(sm->cls_off);
    cg_free(sm->pos);
    cg_free(sm->neg);
    cg_free(sm->rnd);
    cg_free(sm);
}

size_t cg_sampler_steps_per_epoch(const struct cg_sampler *sm)
{
    return sm->steps;
}

size_t cg_sampler_batch(const struct cg_sampler *sm)
{
    return sm->cfg.batch;
}

int cg_sampler_ninputs(const struct cg_sampler *sm)
{
    return sm->n;
}

size_t cg_sampler_input_rows(const struct cg_sampler *sm, int i)
{
    return sm->b[i].rows;
}

size_t cg_sampler_input_bytes(const struct cg_sampler *sm, int i)
{
    return sm->b[i].rows * sm->b[i].elems * 4;
}

int cg_sampler_input_views(const struct cg_sampler *sm, int i)
{
    return sm->b[i].role == ROLE_VIEWS ? sm->cfg.views : 1;
}

static void make_perm(struct cg_sampler *sm)
{
    if (sm->perm_valid && sm->perm_for == sm->epoch)
        return;
    size_t n = sm->count;
    for (size_t i = 0; i < n; i++)
        sm->perm[i] = i;
    if (!sm->cfg.no_shuffle) {
        uint64_t es = cg_splitmix_r(cg_splitmix_r(sm->seed, 0), sm->epoch);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)cg_sampler_below(cg_splitmix_r(es, n - 1 - i), i + 1);
            size_t t = sm->perm[i];
            sm->perm[i] = sm->perm[j];
            sm->perm[j] = t;
        }
    }
    sm->perm_for = sm->epoch;
    sm->perm_valid = 1;
}

/* Copies example `ex` of binding b into row `row` of buffer dst. */
static void copy_row(const struct binding *b, void *dst, size_t row, size_t ex)
{
    const struct cg_field *f = b->f;
    if (f->dtype == CG_NPY_U8) {
        int32_t *o = (int32_t *)dst + row * b->elems;
        const uint8_t *in = (const uint8_t *)f->data + ex * b->elems;
        for (size_t k = 0; k < b->elems; k++)
            o[k] = in[k];
    } else {
        memcpy((char *)dst + row * b->elems * 4, (const char *)f->data + ex * b->elems * 4,
               b->elems * 4);
    }
}

void cg_sampler_next(struct cg_sampler *sm, void *const *bufs, size_t *index,
                     struct cg_batch_info *info)
{
    make_perm(sm);
    size_t N = sm->cfg.batch, first = (size_t)sm->step * N;
    size_t rows = sm->count - first < N ? sm->count - first : N;
    const size_t *anc = sm->perm + first;
    uint64_t ds = cg_splitmix_r(cg_splitmix_r(cg_splitmix_r(sm->seed, 1), sm->epoch), sm->step);
    int need_pn = 0, need_rnd = 0;
    for (int i = 0; i < sm->n; i++) {
        need_pn |= sm->b[i].role == ROLE_POS || sm->b[i].role == ROLE_NEG;
        need_rnd |= sm->b[i].role == ROLE_RANDOM;
    }
    for (size_t r = 0; r < rows; r++) {
        if (need_pn) {
            size_t a = anc[r], c = sm->cls_of[a], lo = sm->cls_off[c];
            size_t cnt = sm->cls_off[c + 1] - lo;
            size_t k = (size_t)cg_sampler_below(cg_splitmix_r(ds, 2 * r), cnt - 1);
            size_t p = sm->by_class[lo + k];
            sm->pos[r] = p == a ? sm->by_class[lo + cnt - 1] : p;
            k = (size_t)cg_sampler_below(cg_splitmix_r(ds, 2 * r + 1), sm->count - cnt);
            sm->neg[r] = sm->by_class[k < lo ? k : k + cnt];
        }
        if (need_rnd)
            sm->rnd[r] = (size_t)cg_sampler_below(cg_splitmix_r(ds, 2 * r + 1), sm->count);
    }
    for (int i = 0; i < sm->n; i++) {
        const struct binding *b = &sm->b[i];
        const size_t *src = b->role == ROLE_POS ? sm->pos : b->role == ROLE_NEG ? sm->neg
                            : b->role == ROLE_RANDOM ? sm->rnd : anc;
        int copies = b->role == ROLE_VIEWS ? sm->cfg.views : 1;
        size_t rb = b->elems * 4;
        for (int v = 0; v < copies; v++) {
            size_t base = (size_t)v * N;
            for (size_t r = 0; r < rows; r++)
                copy_row(b, bufs[i], base + r, src[r]);
            if (rows < N)
                memset((char *)bufs[i] + (base + rows) * rb, 0, (N - rows) * rb);
        }
    }
    if (index)
        memcpy(index, anc, rows * sizeof *index);
    if (info) {
        info->epoch = sm->epoch;
        info->step = sm->step;
        info->rows = rows;
    }
    if (++sm->step >= sm->steps) {
        sm->step = 0;
        sm->epoch++;
    }
}

void cg_sampler_get_state(const struct cg_sampler *sm, struct cg_sampler_state *st)
{
    st->seed = sm->seed;
    st->epoch = sm->epoch;
    st->step = sm->step;
}

void cg_sampler_set_state(struct cg_sampler *sm, const struct cg_sampler_state *st)
{
    if (st->seed != sm->seed)
        sm->perm_valid = 0;
    sm->seed = st->seed;
    sm->epoch = st->epoch;
    sm->step = st->step;
    if (sm->step >= sm->steps) {
        sm->step = 0;
        sm->epoch++;
    }
}
