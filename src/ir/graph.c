/* graph.c: graph lifetime, symbol binding, re-inference and formatting helpers (see graph.h). */
#include "ir/graph.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lang/parse.h"
#include "ops/registry.h"

void cg_graph_destroy(struct cg_graph *g)
{
    if (!g)
        return;
    cg_free(g->values);
    cg_free(g->nodes);
    cg_free(g->params);
    cg_free(g->inputs);
    cg_free(g->outputs);
    cg_free(g->metrics);
    cg_free(g->objectives);
    cg_free(g->vars);
    if (g->prog && !g->prog_borrowed) {
        cg_program_free(g->prog);
        cg_free(g->prog);
    }
    cg_arena_free(&g->arena);
    cg_free(g);
}

enum cg_status cg_graph_bind(struct cg_graph *g, const char *name, int64_t v, struct cg_error *e)
{
    int id = cg_sym_find(&g->syms, name);
    if (!id) {
        struct cg_buf known = {0};
        for (int i = 0; i < g->syms.n; i++)
            cg_buf_printf(&known, "%s%s", i ? ", " : "", g->syms.names[i]);
        cg_error_set(e, CG_ERR_INPUT, "error: --bind %s=%lld: the graph has no symbol '%s' "
                     "(its symbols: %s)", name, (long long)v, name,
                     g->syms.n ? cg_buf_str(&known) : "none");
        cg_buf_free(&known);
        return CG_ERR_INPUT;
    }
    if (v < 1)
        return cg_error_set(e, CG_ERR_INPUT, "error: --bind %s=%lld: a size must be >= 1", name,
                            (long long)v);
    struct cg_dim have;
    if (cg_sym_bind(&g->syms, id, v, &have)) {
        char buf[128];
        return cg_error_set(e, CG_ERR_INPUT, "error: cannot bind %s=%lld: %s is already %s",
                            name, (long long)v, name, cg_dim_str(&g->syms, have, buf, sizeof buf));
    }
    return CG_OK;
}

enum cg_status cg_graph_reinfer(struct cg_graph *g, struct cg_error *e)
{
    for (size_t i = 0; i < g->nvalues; i++) {
        struct cg_value *v = &g->values[i];
        if (v->kind == CG_V_NODE)
            continue;
        for (int k = 0; k < v->shape.rank; k++)
            v->shape.d[k] = cg_dim_resolve(&g->syms, v->shape.d[k]);
    }
    for (size_t i = 0; i < g->nnodes; i++) {
        enum cg_status st = cg_infer_node(g, &g->nodes[i], e);
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

int cg_graph_find_value(const struct cg_graph *g, const char *name)
{
    for (size_t i = 0; i < g->ninputs; i++)
        if (!strcmp(g->inputs[i].name, name))
            return g->inputs[i].value;
    for (size_t i = 0; i < g->nparams; i++)
        if (!strcmp(g->params[i].name, name))
            return g->params[i].value;
    for (size_t i = 0; i < g->noutputs; i++)
        if (!strcmp(g->outputs[i].name, name))
            return g->outputs[i].value;
    for (size_t i = 0; i < g->nmetrics; i++)
        if (!strcmp(g->metrics[i].name, name))
            return g->metrics[i].value;
    for (size_t i = 0; i < g->nvars; i++)
        if (!strcmp(g->vars[i].name, name))
            return g->vars[i].value;
    return -1;
}

int64_t cg_shape_numel(const struct cg_graph *g, const struct cg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        int64_t v;
        if (!cg_dim_is_const(cg_dim_resolve(&g->syms, s->d[i]), &v))
            return -1;
        n *= v;
    }
    return n;
}

const char *cg_shape_str_syms(const struct cg_symtab *st, const struct cg_shape *s,
                              enum cg_dtype dt, int with_dtype, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    if (with_dtype)
        used += (size_t)snprintf(buf, n, "%s", dt == CG_I32 ? "i32" : "f32");
    if (used < n)
        used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < s->rank && used < n; i++) {
        char d[96];
        cg_dim_str(st, s->d[i], d, sizeof d);
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", d);
    }
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

const char *cg_shape_str(const struct cg_graph *g, const struct cg_shape *s, enum cg_dtype dt,
                         int with_dtype, char *buf, size_t n)
{
    return cg_shape_str_syms(g ? &g->syms : NULL, s, dt, with_dtype, buf, n);
}

const char *cg_init_str(const struct cg_init *init, char *buf, size_t n)
{
    switch (init->kind) {
    case CG_INIT_ZEROS: snprintf(buf, n, "zeros()"); break;
    case CG_INIT_ONES: snprintf(buf, n, "ones()"); break;
    case CG_INIT_CONSTANT: snprintf(buf, n, "constant(%g)", init->a); break;
    case CG_INIT_NORMAL: snprintf(buf, n, "normal(std=%g, mean=%g)", init->a, init->b); break;
    case CG_INIT_UNIFORM: snprintf(buf, n, "uniform(%g, %g)", init->a, init->b); break;
    case CG_INIT_KAIMING_UNIFORM: snprintf(buf, n, "kaiming_uniform(a=%g)", init->a); break;
    case CG_INIT_XAVIER_UNIFORM: snprintf(buf, n, "xavier_uniform()"); break;
    }
    return buf;
}

/* Glob match with '*' matching any run of characters (dots included); iterative with one
 * backtrack point, so hostile patterns cost O(len(p) * len(s)). */
static int glob(const char *p, const char *s)
{
    const char *star = NULL, *mark = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            mark = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++mark;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return !*p;
}

int cg_pattern_match(const char *pattern, const char *name)
{
    if (strchr(pattern, '*'))
        return glob(pattern, name);
    size_t n = strlen(pattern);
    return !strncmp(pattern, name, n) && (name[n] == 0 || name[n] == '.');
}
