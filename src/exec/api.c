/* api.c: the executable handle of the public API (struct cg_model, include/clgraph/clgraph.h):
 * binds a loaded graph's symbols from input shapes, adds the optimizer pass when training
 * (passes/optim.h), compiles it with cg_exec and runs forward passes and training steps (the
 * forward nodes, then the active objectives' gradients and updates: exec/step.h). */
#include <stdio.h>
#include <string.h>

#include "data/npy.h"
#include "exec/exec.h"
#include "exec/model.h"
#include "exec/step.h"
#include "passes/optim.h"
#include "runtime/runtime.h"

struct cg_model {
    struct cg_graph *g; /* owned */
    struct cg_exec *x;
    struct cg_optim_plan plan;
    int train;
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

enum cg_status cg_model_compile(struct cg_graph *g, struct cg_device *dev,
                                const struct cg_model_options *opt, struct cg_model **out,
                                struct cg_error *e)
{
    static const struct cg_model_options none = {0};
    struct cg_optim dflt;
    *out = NULL;
    if (!opt)
        opt = &none;
    if (opt->optimizer)
        CG_TRY(cg_optim_parse(opt->optimizer, &dflt, e));
    for (int i = 0; i < opt->nshapes; i++)
        CG_TRY(bind_shape(g, &opt->shapes[i], e));
    CG_TRY(cg_graph_reinfer(g, e));
    struct cg_model *m = cg_calloc(1, sizeof *m);
    if (!m)
        return cg_error_nomem(e);
    m->seed = opt->seed;
    m->train = opt->train;
    enum cg_status st = CG_OK;
    if (opt->train)
        st = cg_optim_expand(g, opt->optimizer ? &dflt : NULL, opt->clip_grad, &m->plan, e);
    else
        m->plan.forward_end = m->plan.update_end = g->nnodes;
    if (st == CG_OK)
        st = cg_exec_create(g, dev, &m->x, e);
    if (st == CG_OK)
        st = cg_exec_init_params(m->x, opt->seed, e);
    if (st != CG_OK) {
        cg_exec_destroy(m->x);
        cg_optim_plan_free(&m->plan);
        cg_free(m);
        return st;
    }
    m->g = g;
    *out = m;
    return CG_OK;
}

void cg_model_destroy(struct cg_model *m)
{
    if (!m)
        return;
    cg_exec_destroy(m->x);
    cg_optim_plan_free(&m->plan);
    cg_graph_destroy(m->g);
    cg_free(m);
}

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
    cg_exec_set_lr_scale(m->x, scale);
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
