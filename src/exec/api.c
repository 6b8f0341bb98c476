/* api.c: the executable handle of the public API (struct cg_model, include/clgraph/clgraph.h):
 * binds a loaded graph's symbols from input shapes, adds the optimizer pass when training
 * (passes/optim.h), compiles it with cg_exec and runs forward passes and training steps (the
 * forward nodes, then the active objectives' gradients and updates: exec/step.h).
 *
 * A model holds one schedule per binding of the symbols it was asked to run (cg_model_bind):
 * the graph rebuilt for those sizes from the first graph's parsed program (cg_graph_rebuild),
 * its optimizer pass and its executor, compiled on first use and kept. Every executor uses the
 * first one's parameter buffer (cg_exec_create_shared), so parameters and optimizer state are
 * shared with no copy; the fields g, x and plan of the model are the selected schedule's. */
#include <stdio.h>
#include <string.h>

#include "data/npy.h"
#include "exec/exec.h"
#include "exec/model.h"
#include "exec/step.h"
#include "passes/optim.h"
#include "runtime/runtime.h"

/* One binding's compiled graph; key[i] is the size of symbol i + 1 of the first graph's symbol
 * table where that symbol is a free one (not unified with another), else 0. */
struct schedule {
    struct cg_graph *g; /* owned */
    struct cg_exec *x;
    struct cg_optim_plan plan;
    int64_t key[CG_MAX_SYMBOLS];
};

struct cg_model {
    struct cg_graph *g; /* the selected schedule's */
    struct cg_exec *x;
    struct cg_optim_plan plan;
    struct schedule *sched; /* [0]: the graph given to cg_model_compile */
    size_t nsched, cap_sched;
    struct cg_device *dev;
    int train;
    int has_dflt;           /* dflt holds the options' optimizer */
    struct cg_optim dflt;
    double clip_grad;       /* the options' */
    double lr_scale;        /* cg_model_set_lr_scale's, for every schedule */
    uint64_t seed, step;
};

/* One input's shape binds the symbols its declaration uses. */
static enum cg_status bind_shape(struct cg_graph *g, const struct cg_input_shape *s,
                                 struct cg_error *e)
{
    for (size_t i = 0; i < g->ninputs; i++) {
        if (strcmp(g->inputs[i].name, s->name))
            continue;
        const struct cg_shape *sh = &g->values[g->inputs[i].value].shape;
        if (sh->rank != s->rank)
            return cg_error_set(e, CG_ERR_INPUT, "error: input '%s' has %d dims, the given "
                                "shape %d", s->name, sh->rank, s->rank);
        for (int d = 0; d < sh->rank; d++) {
            int id;
            int64_t have;
            struct cg_dim r = cg_dim_resolve(&g->syms, sh->d[d]);
            if (cg_dim_is_const(r, &have) && have != s->dims[d])
                return cg_error_set(e, CG_ERR_INPUT, "error: input '%s': dim %d is %lld, the "
                                    "given shape says %lld", s->name, d, (long long)have,
                                    (long long)s->dims[d]);
            if (!cg_dim_is_const(r, &have) && cg_dim_is_sym(sh->d[d], &id))
                CG_TRY(cg_graph_bind(g, g->syms.names[id - 1], s->dims[d], e)); /* 1-based */
        }
        return CG_OK;
    }
    return cg_error_set(e, CG_ERR_INPUT, "error: the graph has no input '%s'", s->name);
}

/* The symbol that symbol id stands for: id itself, or the free symbol it was unified with. */
static int free_symbol(const struct cg_symtab *st, int id)
{
    int next;
    for (int hops = 0; hops < CG_MAX_SYMBOLS && st->bound[id - 1] &&
                       cg_dim_is_sym(st->value[id - 1], &next); hops++)
        id = next;
    return id;
}

/* The key of g's current binding: the size of every free symbol bound to a constant. */
static void binding_key(const struct cg_graph *g, int64_t *key)
{
    for (int i = 0; i < CG_MAX_SYMBOLS; i++) {
        int64_t v = 0;
        if (i < g->syms.n && g->syms.bound[i] && !cg_dim_is_const(g->syms.value[i], &v))
            v = 0;
        key[i] = v;
    }
}

/* Compiles schedule s for g (bound) on dev: the optimizer pass when training, the executor
 * (sharing share's parameter buffer unless share is NULL). */
static enum cg_status compile_schedule(struct cg_model *m, struct schedule *s,
                                       const struct cg_exec *share, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    if (m->train)
        st = cg_optim_expand(s->g, m->has_dflt ? &m->dflt : NULL, m->clip_grad, &s->plan, e);
    else
        s->plan.forward_end = s->plan.update_end = s->g->nnodes;
    if (st == CG_OK)
        st = cg_exec_create_shared(s->g, m->dev, share, &s->x, e);
    if (st == CG_OK)
        cg_exec_set_lr_scale(s->x, m->lr_scale);
    if (st != CG_OK) {
        cg_exec_destroy(s->x);
        cg_optim_plan_free(&s->plan);
        s->x = NULL;
    }
    return st;
}

static void select_schedule(struct cg_model *m, size_t i)
{
    m->g = m->sched[i].g;
    m->x = m->sched[i].x;
    m->plan = m->sched[i].plan;
}

enum cg_status cg_model_compile(struct cg_graph *g, struct cg_device *dev,
                                const struct cg_model_options *opt, struct cg_model **out,
                                struct cg_error *e)
{
    static const struct cg_model_options none = {0};
    *out = NULL;
    if (!opt)
        opt = &none;
    struct cg_model *m = cg_calloc(1, sizeof *m);
    if (!m)
        return cg_error_nomem(e);
    m->seed = opt->seed;
    m->train = opt->train;
    m->dev = dev;
    m->has_dflt = opt->optimizer != NULL;
    m->clip_grad = opt->clip_grad;
    m->lr_scale = 1;
    struct schedule s = {.g = g};
    enum cg_status st = CG_OK;
    if (opt->optimizer)
        st = cg_optim_parse(opt->optimizer, &m->dflt, e);
    for (int i = 0; i < opt->nshapes && st == CG_OK; i++)
        st = bind_shape(g, &opt->shapes[i], e);
    if (st == CG_OK)
        st = cg_graph_reinfer(g, e);
    if (st == CG_OK)
        st = compile_schedule(m, &s, NULL, e);
    if (st == CG_OK)
        st = cg_exec_init_params(s.x, opt->seed, e);
    if (st == CG_OK && CG_PUSH(m->sched, m->nsched, m->cap_sched, s))
        st = cg_error_nomem(e);
    if (st != CG_OK) {
        cg_exec_destroy(s.x);
        cg_optim_plan_free(&s.plan);
        cg_free(m);
        return st;
    }
    binding_key(g, m->sched[0].key);
    select_schedule(m, 0);
    *out = m;
    return CG_OK;
}

void cg_model_destroy(struct cg_model *m)
{
    if (!m)
        return;
    for (size_t i = m->nsched; i-- > 0;) { /* the first graph's program last */
        cg_exec_destroy(m->sched[i].x);
        cg_optim_plan_free(&m->sched[i].plan);
        cg_graph_destroy(m->sched[i].g);
    }
    cg_free(m->sched);
    cg_free(m);
}

/* The key and the bindings for shapes: the first graph's binding with the symbols that the
 * inputs' declared shapes name replaced by the given sizes. */
static enum cg_status shapes_key(const struct cg_graph *r, const struct cg_input_shape *shapes,
                                 int nshapes, int64_t *key, struct cg_error *e)
{
    char given[CG_MAX_SYMBOLS] = {0};
    const char *from[CG_MAX_SYMBOLS] = {0};
    binding_key(r, key);
    for (int k = 0; k < nshapes; k++) {
        const struct cg_input_shape *s = &shapes[k];
        const struct cg_input *in = NULL;
        for (size_t i = 0; i < r->ninputs && !in; i++)
            if (s->name && !strcmp(r->inputs[i].name, s->name))
                in = &r->inputs[i];
        if (!in)
            return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: the graph has no input "
                                "'%s'", s->name ? s->name : "(null)");
        if (s->rank != in->decl.rank)
            return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: input '%s' has %d dims, "
                                "the given shape %d", s->name, in->decl.rank, s->rank);
        for (int d = 0; d < s->rank; d++) {
            int64_t c;
            int id;
            if (cg_dim_is_const(in->decl.d[d], &c)) {
                if (c != s->dims[d])
                    return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: input '%s': dim "
                                        "%d is %lld, the given shape says %lld", s->name, d,
                                        (long long)c, (long long)s->dims[d]);
                continue;
            }
            if (!cg_dim_is_sym(in->decl.d[d], &id))
                continue; /* checked against the rebuilt graph */
            const char *sym = r->syms.names[id - 1];
            if (s->dims[d] < 1)
                return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: input '%s': dim %d "
                                    "(%s) is %lld; a size must be >= 1", s->name, d, sym,
                                    (long long)s->dims[d]);
            id = free_symbol(&r->syms, id);
            if (given[id - 1] && key[id - 1] != s->dims[d])
                return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: input '%s' says %s = "
                                    "%lld, input '%s' said %lld", s->name, sym,
                                    (long long)s->dims[d], from[id - 1],
                                    (long long)key[id - 1]);
            given[id - 1] = 1;
            from[id - 1] = s->name;
            key[id - 1] = s->dims[d];
        }
    }
    return CG_OK;
}

/* "N=5, K=3": the binding of key, for messages. */
static const char *key_str(const struct cg_graph *r, const int64_t *key, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < r->syms.n && used < n; i++)
        if (key[i])
            used += (size_t)snprintf(buf + used, n - used, "%s%s=%lld", used ? ", " : "",
                                     r->syms.names[i], (long long)key[i]);
    return buf;
}

/* Does the rebuilt graph g (before the optimizer pass) have the first nparams parameters of r
 * (those before its optimizer pass), with the same shapes? */
static enum cg_status same_params(const struct cg_graph *r, size_t nparams,
                                  const struct cg_graph *g, const char *binding,
                                  struct cg_error *e)
{
    if (g->nparams != nparams)
        return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: at %s the graph has %zu "
                            "parameters, at the compiled binding %zu", binding, g->nparams,
                            nparams);
    for (size_t p = 0; p < nparams; p++) {
        const struct cg_param *a = &r->params[p], *b = &g->params[p];
        int same = !strcmp(a->name, b->name) && a->shape.rank == b->shape.rank;
        for (int d = 0; same && d < a->shape.rank; d++) {
            int64_t x = -1, y = -2;
            cg_dim_is_const(cg_dim_resolve(&r->syms, a->shape.d[d]), &x);
            cg_dim_is_const(cg_dim_resolve(&g->syms, b->shape.d[d]), &y);
            same = x == y;
        }
        if (!same) {
            char sa[256], sb[256];
            return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: at %s parameter '%s' "
                                "would be %s, but the model's is %s: a parameter whose shape "
                                "depends on a symbol cannot change size between bindings",
                                binding, b->name, cg_shape_str(g, &b->shape, b->dtype, 1, sb,
                                                               sizeof sb),
                                cg_shape_str(r, &a->shape, a->dtype, 1, sa, sizeof sa));
        }
    }
    return CG_OK;
}

enum cg_status cg_model_bind(struct cg_model *m, const struct cg_input_shape *shapes,
                             int nshapes, struct cg_error *e)
{
    const struct cg_graph *r = m->sched[0].g;
    int64_t key[CG_MAX_SYMBOLS];
    CG_TRY(shapes_key(r, shapes, nshapes, key, e));
    for (size_t i = 0; i < m->nsched; i++)
        if (!memcmp(m->sched[i].key, key, sizeof key)) {
            select_schedule(m, i);
            return CG_OK;
        }
    /* first use of this binding: rebuild the graph for it and compile it */
    struct cg_binding binds[CG_MAX_SYMBOLS];
    int nbinds = 0;
    for (int i = 0; i < r->syms.n; i++)
        if (key[i])
            binds[nbinds++] = (struct cg_binding){r->syms.names[i], key[i]};
    char binding[512];
    key_str(r, key, binding, sizeof binding);
    struct schedule s = {0};
    memcpy(s.key, key, sizeof key);
    enum cg_status st = cg_graph_rebuild(r, binds, nbinds, &s.g, e);
    for (int k = 0; k < nshapes && st == CG_OK; k++) { /* sizes the key cannot express */
        int v = cg_graph_find_value(s.g, shapes[k].name);
        const struct cg_shape *sh = &s.g->values[v].shape;
        for (int d = 0; d < sh->rank && st == CG_OK; d++) {
            int64_t c = -1;
            cg_dim_is_const(cg_dim_resolve(&s.g->syms, sh->d[d]), &c);
            if (c != shapes[k].dims[d]) {
                char b[256];
                st = cg_error_set(e, CG_ERR_INPUT, "error: cg_model_bind: input '%s' is %s at "
                                  "%s, not the given size %lld in dim %d", shapes[k].name,
                                  cg_shape_str(s.g, sh, s.g->values[v].dtype, 1, b, sizeof b),
                                  binding, (long long)shapes[k].dims[d], d);
            }
        }
    }
    if (st == CG_OK)
        st = same_params(r, m->train ? m->sched[0].plan.nparams : r->nparams, s.g, binding, e);
    if (st == CG_OK)
        st = compile_schedule(m, &s, m->sched[0].x, e);
    if (st == CG_OK && CG_PUSH(m->sched, m->nsched, m->cap_sched, s))
        st = cg_error_nomem(e);
    if (st != CG_OK) {
        cg_error_note(e, "note: while compiling the model for %s", binding);
        cg_exec_destroy(s.x);
        cg_optim_plan_free(&s.plan);
        cg_graph_destroy(s.g);
        return st;
    }
    select_schedule(m, m->nsched - 1);
    return CG_OK;
}

size_t cg_model_schedules(const struct cg_model *m) { return m->nsched; }

static enum cg_status find(struct cg_model *m, const char *name, int *v, struct cg_error *e)
{
    *v = cg_graph_find_value(m->g, name);
    if (*v < 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: the graph has no value named '%s'", name);
    return CG_OK;
}

enum cg_status cg_model_set(struct cg_model *m, const char *name, const void *data, size_t bytes,
                            struct cg_error *e)
{
    int v;
    CG_TRY(find(m, name, &v, e));
    if (m->g->values[v].kind == CG_V_NODE)
        return cg_error_set(e, CG_ERR_INPUT, "error: '%s' is computed, not an input or a "
                            "parameter", name);
    return cg_exec_write(m->x, v, data, bytes, e);
}

enum cg_status cg_model_get(struct cg_model *m, const char *name, void *data, size_t bytes,
                            struct cg_error *e)
{
    int v;
    CG_TRY(find(m, name, &v, e));
    return cg_exec_read(m->x, v, data, bytes, e);
}

enum cg_status cg_model_get_grad(struct cg_model *m, const char *name, float *data, size_t bytes,
                                 struct cg_error *e)
{
    int v;
    CG_TRY(find(m, name, &v, e));
    const struct cg_value *val = &m->g->values[v];
    if (!m->train || val->kind != CG_V_PARAM || (size_t)val->index >= m->plan.nparams)
        return cg_error_set(e, CG_ERR_INPUT, "error: '%s': gradients exist for the trainable "
                            "parameters of a model compiled with train = 1", name);
    int gv = m->plan.param_grad[val->index];
    if (gv >= 0)
        return cg_exec_read(m->x, gv, data, bytes, e);
    int64_t n = cg_shape_numel(m->g, &val->shape);
    if ((size_t)n * 4 != bytes)
        return cg_exec_read(m->x, v, data, bytes, e); /* reports the size mismatch */
    memset(data, 0, bytes); /* no objective reaches it */
    return CG_OK;
}

enum cg_status cg_model_forward(struct cg_model *m, struct cg_error *e)
{
    CG_TRY(cg_exec_run_nodes(m->x, m->seed, m->step, 0, m->plan.forward_end, e));
    return cg_exec_finish(m->x, e);
}

enum cg_status cg_model_step(struct cg_model *m, struct cg_error *e)
{
    if (!m->train)
        return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_step: the model was compiled "
                            "without train = 1");
    CG_TRY(cg_exec_run_nodes(m->x, m->seed, m->step, 0, m->plan.forward_end, e));
    CG_TRY(cg_exec_train_step(m->x, &m->plan, m->seed, m->step, e));
    m->step++;
    return CG_OK;
}

enum cg_status cg_model_set_lr_scale(struct cg_model *m, double scale, struct cg_error *e)
{
    if (!(scale >= 0) || scale > 1e30)
        return cg_error_set(e, CG_ERR_INPUT, "error: cg_model_set_lr_scale: the scale must be "
                            "finite and >= 0, got %g", scale);
    m->lr_scale = scale;
    for (size_t i = 0; i < m->nsched; i++)
        cg_exec_set_lr_scale(m->sched[i].x, scale);
    return CG_OK;
}

uint64_t cg_model_steps(const struct cg_model *m) { return m->step; }

void cg_model_set_steps(struct cg_model *m, uint64_t step) { m->step = step; }

struct cg_graph *cg_model_graph(struct cg_model *m) { return m->g; }

struct cg_exec *cg_model_exec(struct cg_model *m) { return m->x; }

size_t cg_model_forward_nodes(const struct cg_model *m) { return m->plan.forward_end; }

/* Path of parameter p's file: DIR/NAME.npy. */
static enum cg_status param_path(const char *dir, const char *name, char *buf, size_t n,
                                 struct cg_error *e)
{
    if ((size_t)snprintf(buf, n, "%s/%s.npy", dir, name) >= n)
        return cg_error_set(e, CG_ERR_INPUT, "error: path too long: %s/%s.npy", dir, name);
    return CG_OK;
}

enum cg_status cg_model_save(struct cg_model *m, const char *dir, struct cg_error *e)
{
    const struct cg_graph *g = m->g;
    enum cg_status st = CG_OK;
    for (size_t p = 0; p < g->nparams && st == CG_OK; p++) {
        const struct cg_param *par = &g->params[p];
        if (par->state)
            continue;
        int64_t n = cg_shape_numel(g, &par->shape), shape[CG_MAX_RANK];
        for (int i = 0; i < par->shape.rank; i++)
            cg_dim_is_const(par->shape.d[i], &shape[i]);
        char path[4096];
        float *h = cg_malloc((size_t)(n ? n : 1) * 4);
        if (!h)
            return cg_error_nomem(e);
        st = param_path(dir, par->name, path, sizeof path, e);
        if (st == CG_OK)
            st = cg_exec_read(m->x, par->value, h, (size_t)n * 4, e);
        if (st == CG_OK)
            st = cg_npy_write(path, CG_NPY_F32, shape, par->shape.rank, h, e);
        cg_free(h);
    }
    return st;
}

enum cg_status cg_model_load(struct cg_model *m, const char *dir, struct cg_error *e)
{
    const struct cg_graph *g = m->g;
    enum cg_status st = CG_OK;
    for (size_t p = 0; p < g->nparams && st == CG_OK; p++) {
        const struct cg_param *par = &g->params[p];
        if (par->state)
            continue;
        char path[4096];
        struct cg_npy a = {0};
        st = param_path(dir, par->name, path, sizeof path, e);
        if (st == CG_OK)
            st = cg_npy_read(path, &a, e);
        int same = st == CG_OK && a.dtype == CG_NPY_F32 && a.rank == par->shape.rank;
        for (int i = 0; same && i < a.rank; i++) {
            int64_t d;
            same = cg_dim_is_const(par->shape.d[i], &d) && d == a.shape[i];
        }
        if (st == CG_OK && !same) {
            char b[256];
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: does not fit parameter '%s', which "
                              "is %s", path, par->name, cg_shape_str(g, &par->shape, par->dtype,
                                                                     1, b, sizeof b));
        }
        if (st == CG_OK)
            st = cg_exec_write(m->x, par->value, a.data, a.nbytes, e);
        cg_npy_free(&a);
    }
    return st;
}
