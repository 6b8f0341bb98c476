/* build.c: from a parsed program to a shape-checked graph (see graph.h and build.h).
 *
 * Expressions are evaluated symbolically: a number stays a number until an op needs a tensor,
 * names resolve in the current def's scope and then at top level, def calls are inlined in a new
 * scope (which names the parameters their layers create), and op calls become nodes whose shapes
 * are inferred at once, so every error points at the call that caused it. */
#include "ir/build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/parse.h"

/* ---- evaluated expressions ---- */

enum res_kind { R_TENSOR, R_NUM, R_STR, R_LIST, R_TUPLE, R_DIM };

struct res {
    enum res_kind kind;
    int value;     /* R_TENSOR */
    double num;    /* R_NUM */
    int is_int;
    const char *str;
    struct res *items; /* R_LIST, R_TUPLE */
    int nitems;
    struct cg_dim dim; /* R_DIM */
    struct cg_loc loc;
};

struct binding {
    const char *name;
    struct res r;
};

struct frame {
    const char *scope; /* "" at top level, else "a.b" */
    struct binding *vars;
    size_t nvars, cap;
    const char **counter_names;
    int *counters;
    size_t ncounters, capc;
    const struct cg_stmt *def; /* NULL at top level */
};

#define MAX_FRAMES 64

struct cg_builder {
    struct cg_graph *g;
    struct cg_program *prog; /* owned by the graph */
    struct cg_error *e;
    const struct cg_stmt **defs;
    const char **def_files;
    size_t ndefs, cap_defs;
    struct frame frames[MAX_FRAMES];
    int nframes;
    uint32_t next_rng;
    const struct cg_binding *binds; /* sizes given before building (--bind) */
    int nbinds;
    const struct cg_stmt **obj_stmts; /* the minimize statement of each objective */
    size_t nobj_stmts, cap_obj_stmts;
};

struct cg_graph *cg_build_graph(struct cg_builder *b) { return b->g; }

int cg_is_simple_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}
struct cg_error *cg_build_error(struct cg_builder *b) { return b->e; }

static enum cg_status berr(struct cg_builder *b, struct cg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum cg_status berr(struct cg_builder *b, struct cg_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum cg_status st = cg_error_vat(b->e, loc, fmt, ap);
    va_end(ap);
    return st;
}

static void *galloc(struct cg_builder *b, size_t n) { return cg_arena_alloc(&b->g->arena, n); }

static const char *gstrdup(struct cg_builder *b, const char *s)
{
    return cg_arena_strdup(&b->g->arena, s);
}

static struct frame *top(struct cg_builder *b) { return &b->frames[b->nframes - 1]; }

/* ---- values and nodes ---- */

static enum cg_status new_value(struct cg_builder *b, enum cg_value_kind kind, int index,
                                struct cg_loc loc, int *id)
{
    struct cg_value v = {0};
    v.kind = kind;
    v.index = index;
    v.loc = loc;
    if (CG_PUSH(b->g->values, b->g->nvalues, b->g->cap_values, v))
        return cg_error_nomem(b->e);
    *id = (int)b->g->nvalues - 1;
    return CG_OK;
}

static enum cg_status add_node(struct cg_builder *b, struct cg_call *call, int *out)
{
    struct cg_graph *g = b->g;
    struct cg_node n = {0};
    n.op = call->op_id;
    n.loc = call->loc;
    n.ninputs = call->ninputs;
    n.inputs = galloc(b, (size_t)(call->ninputs ? call->ninputs : 1) * sizeof(int));
    if (!n.inputs)
        return cg_error_nomem(b->e);
    memcpy(n.inputs, call->inputs, (size_t)call->ninputs * sizeof(int));
    memcpy(n.attrs, call->attrs, sizeof n.attrs);
    if (call->op->flags & CG_OPF_RANDOM)
        n.rng_id = ++b->next_rng;
    int vid;
    CG_TRY(new_value(b, CG_V_NODE, (int)g->nnodes, call->loc, &vid));
    n.out = vid;
    if (CG_PUSH(g->nodes, g->nnodes, g->cap_nodes, n))
        return cg_error_nomem(b->e);
    CG_TRY(cg_infer_node(g, &g->nodes[g->nnodes - 1], b->e));
    *out = vid;
    return CG_OK;
}

static void call_init(struct cg_call *call, int op_id, struct cg_loc loc)
{
    memset(call, 0, sizeof *call);
    call->op_id = op_id;
    call->op = &cg_ops()[op_id];
    call->loc = loc;
    const struct cg_schema *s = &call->op->schema;
    call->ninputs = s->ntensors;
    for (int i = 0; i < s->nargs; i++) {
        if (s->args[i].is_tensor)
            call->inputs[s->args[i].slot] = -1;
        else
            call->attrs[s->args[i].slot] = s->args[i].dflt;
    }
}

enum cg_status cg_build_node(struct cg_builder *b, int op_id, const int *inputs, int ninputs,
                             const char *const *attr_names, const struct cg_attr *attr_values,
                             int nattrs, struct cg_loc loc, int *out)
{
    struct cg_call call;
    call_init(&call, op_id, loc);
    for (int i = 0; i < ninputs && i < (int)CG_ARRAY_LEN(call.inputs); i++)
        call.inputs[i] = inputs[i];
    if (ninputs > call.ninputs)
        call.ninputs = ninputs;
    const struct cg_schema *s = &call.op->schema;
    for (int k = 0; k < nattrs; k++)
        for (int i = 0; i < s->nargs; i++)
            if (!s->args[i].is_tensor && !strcmp(s->args[i].name, attr_names[k]))
                call.attrs[s->args[i].slot] = attr_values[k];
    return add_node(b, &call, out);
}

static enum cg_status const_node(struct cg_builder *b, double v, struct cg_loc loc, int *out)
{
    struct cg_attr a = {.kind = CG_AT_FLOAT, .f = v};
    const char *name = "value";
    return cg_build_node(b, CG_OP_const, NULL, 0, &name, &a, 1, loc, out);
}

static void pop_frame(struct cg_builder *b);

enum cg_status cg_build_const(struct cg_builder *b, double v, struct cg_loc loc, int *out)
{
    return const_node(b, v, loc, out);
}

struct cg_builder *cg_builder_open(struct cg_graph *g, struct cg_error *e)
{
    struct cg_builder *b = cg_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->g = g;
    b->e = e;
    b->frames[0].scope = "";
    b->nframes = 1;
    for (size_t i = 0; i < g->nnodes; i++) /* random nodes keep distinct stream ids */
        if (g->nodes[i].rng_id > b->next_rng)
            b->next_rng = g->nodes[i].rng_id;
    return b;
}

void cg_builder_close(struct cg_builder *b)
{
    if (!b)
        return;
    while (b->nframes > 0)
        pop_frame(b);
    cg_free(b);
}

/* ---- scopes and parameters ---- */

static enum cg_status push_frame(struct cg_builder *b, const char *scope, const struct cg_stmt *def,
                                 struct cg_loc loc)
{
    if (b->nframes >= MAX_FRAMES)
        return berr(b, loc, "calls nested more than %d deep", MAX_FRAMES);
    struct frame *f = &b->frames[b->nframes++];
    memset(f, 0, sizeof *f);
    f->scope = scope;
    f->def = def;
    return CG_OK;
}

static void pop_frame(struct cg_builder *b)
{
    struct frame *f = top(b);
    cg_free(f->vars);
    cg_free(f->counter_names);
    cg_free(f->counters);
    memset(f, 0, sizeof *f);
    b->nframes--;
}

static const char *join_scope(struct cg_builder *b, const char *scope, const char *name)
{
    size_t ls = strlen(scope), ln = strlen(name);
    char *s = galloc(b, ls + ln + 2);
    if (!s)
        return NULL;
    if (ls) {
        memcpy(s, scope, ls);
        s[ls] = '.';
        memcpy(s + ls + 1, name, ln + 1);
    } else {
        memcpy(s, name, ln + 1);
    }
    return s;
}

enum cg_status cg_build_push_scope(struct cg_builder *b, const char *name)
{
    const char *scope = join_scope(b, top(b)->scope, name);
    if (!scope)
        return cg_error_nomem(b->e);
    struct frame *parent = top(b);
    CG_TRY(push_frame(b, scope, parent->def, (struct cg_loc){0}));
    /* a sub-scope sees the same variables: copy nothing, lookups walk to the def frame */
    return CG_OK;
}

void cg_build_pop_scope(struct cg_builder *b) { pop_frame(b); }

const char *cg_build_layer_prefix(struct cg_builder *b, const char *layer, const char *name)
{
    struct frame *f = top(b);
    if (name)
        return join_scope(b, f->scope, name);
    size_t i;
    for (i = 0; i < f->ncounters; i++)
        if (!strcmp(f->counter_names[i], layer))
            break;
    if (i == f->ncounters) {
        size_t cap = f->capc;
        if (CG_PUSH(f->counter_names, f->ncounters, f->capc, layer))
            return NULL;
        f->ncounters--;
        if (CG_PUSH(f->counters, f->ncounters, cap, 0))
            return NULL;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s%d", layer, f->counters[i]++);
    return join_scope(b, f->scope, buf);
}

static int shape_eq(struct cg_graph *g, const struct cg_shape *a, const struct cg_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (!cg_dim_eq(cg_dim_resolve(&g->syms, a->d[i]), cg_dim_resolve(&g->syms, b->d[i])))
            return 0;
    return 1;
}

static int find_param(struct cg_graph *g, const char *name)
{
    for (size_t i = 0; i < g->nparams; i++)
        if (!strcmp(g->params[i].name, name))
            return (int)i;
    return -1;
}

static enum cg_status make_param(struct cg_builder *b, const char *full, enum cg_dtype dt,
                                 const struct cg_shape *shape, struct cg_init init,
                                 struct cg_loc loc, int *value)
{
    struct cg_graph *g = b->g;
    char s1[256], s2[256];
    int idx = find_param(g, full);
    if (idx >= 0) {
        struct cg_param *p = &g->params[idx];
        if (!shape_eq(g, &p->shape, shape) || p->dtype != dt)
            return berr(b, loc, "parameter '%s' is shared with a different shape: it was "
                        "created as %s at %s:%d:%d, this use needs %s", full,
                        cg_shape_str(g, &p->shape, p->dtype, 1, s1, sizeof s1), p->loc.file,
                        p->loc.line, p->loc.col, cg_shape_str(g, shape, dt, 1, s2, sizeof s2));
        *value = p->value;
        return CG_OK;
    }
    for (int i = 0; i < shape->rank; i++) {
        int64_t v;
        if (!cg_dim_is_const(cg_dim_resolve(&g->syms, shape->d[i]), &v))
            return berr(b, loc, "parameter '%s' would have the symbolic shape %s; parameter "
                        "shapes must be concrete", full,
                        cg_shape_str(g, shape, dt, 1, s1, sizeof s1));
        if (v <= 0)
            return berr(b, loc, "parameter '%s' would have the invalid shape %s", full,
                        cg_shape_str(g, shape, dt, 1, s1, sizeof s1));
    }
    struct cg_param p = {0};
    p.name = gstrdup(b, full);
    if (!p.name)
        return cg_error_nomem(b->e);
    p.dtype = dt;
    p.shape = *shape;
    for (int i = 0; i < shape->rank; i++)
        p.shape.d[i] = cg_dim_resolve(&g->syms, shape->d[i]);
    p.init = init;
    p.loc = loc;
    CG_TRY(new_value(b, CG_V_PARAM, (int)g->nparams, loc, &p.value));
    g->values[p.value].shape = p.shape;
    g->values[p.value].dtype = dt;
    g->values[p.value].name = p.name;
    if (CG_PUSH(g->params, g->nparams, g->cap_params, p))
        return cg_error_nomem(b->e);
    *value = p.value;
    return CG_OK;
}

enum cg_status cg_build_param(struct cg_builder *b, const char *prefix, const char *suffix,
                              const struct cg_shape *shape, struct cg_init init,
                              struct cg_loc loc, int *value)
{
    const char *full = join_scope(b, prefix, suffix);
    if (!full)
        return cg_error_nomem(b->e);
    return make_param(b, full, CG_F32, shape, init, loc, value);
}

/* ---- names ---- */

static struct binding *lookup_in(struct frame *f, const char *name)
{
    for (size_t i = f->nvars; i-- > 0;)
        if (!strcmp(f->vars[i].name, name))
            return &f->vars[i];
    return NULL;
}

/* The frame that holds the variables of the current def (sub-scopes share it). */
static struct frame *var_frame(struct cg_builder *b)
{
    int i = b->nframes - 1;
    while (i > 0 && b->frames[i].vars == NULL && b->frames[i].def == b->frames[i - 1].def &&
           b->frames[i].def != NULL)
        i--;
    return &b->frames[i];
}

static struct binding *lookup(struct cg_builder *b, const char *name)
{
    struct binding *r = lookup_in(var_frame(b), name);
    if (!r && b->nframes > 1)
        r = lookup_in(&b->frames[0], name);
    return r;
}

static enum cg_status bind(struct cg_builder *b, const char *name, struct res r)
{
    struct frame *f = var_frame(b);
    struct binding *old = lookup_in(f, name);
    if (old) {
        old->r = r;
        return CG_OK;
    }
    struct binding nb = {name, r};
    if (CG_PUSH(f->vars, f->nvars, f->cap, nb))
        return cg_error_nomem(b->e);
    return CG_OK;
}

static const struct cg_stmt *find_def(struct cg_builder *b, const char *name)
{
    for (size_t i = 0; i < b->ndefs; i++)
        if (!strcmp(b->defs[i]->names[0], name))
            return b->defs[i];
    return NULL;
}

/* The closest known name (variables, defs, ops) to `name`, or NULL. A suggestion must keep
 * part of the name (distance below its length), so 'q' does not suggest 'x'. */
static const char *suggest(struct cg_builder *b, const char *name, int calls)
{
    const char *best = NULL;
    int len = (int)strlen(name);
    int bestd = len <= 3 ? 2 : 3;
    if (bestd > len)
        bestd = len;
    if (calls) {
        const char *op = cg_op_suggest(name);
        if (op && cg_edit_distance(name, op, 2) < bestd) {
            best = op;
            bestd = cg_edit_distance(name, op, 2);
        }
        for (size_t i = 0; i < b->ndefs; i++) {
            int d = cg_edit_distance(name, b->defs[i]->names[0], 2);
            if (d < bestd) {
                bestd = d;
                best = b->defs[i]->names[0];
            }
        }
        return best;
    }
    struct frame *fs[2] = {var_frame(b), b->nframes > 1 ? &b->frames[0] : NULL};
    for (int k = 0; k < 2; k++) {
        if (!fs[k])
            continue;
        for (size_t i = 0; i < fs[k]->nvars; i++) {
            int d = cg_edit_distance(name, fs[k]->vars[i].name, 2);
            if (d < bestd) {
                bestd = d;
                best = fs[k]->vars[i].name;
            }
        }
    }
    return best;
}

/* ---- expressions ---- */

static const char *kind_name(const struct res *r)
{
    switch (r->kind) {
    case R_TENSOR: return "a tensor";
    case R_NUM: return r->is_int ? "an integer" : "a number";
    case R_STR: return "a string";
    case R_LIST: return "a list";
    case R_TUPLE: return "a tuple";
    case R_DIM: return "a dimension";
    }
    return "?";
}

static const char *type_of(struct cg_builder *b, const struct res *r, char *buf, size_t n)
{
    if (r->kind == R_TENSOR) {
        const struct cg_value *v = &b->g->values[r->value];
        return cg_shape_str(b->g, &v->shape, v->dtype, 1, buf, n);
    }
    snprintf(buf, n, "%s", kind_name(r));
    return buf;
}

static enum cg_status eval(struct cg_builder *b, const struct cg_expr *x, struct res *out);

static enum cg_status to_tensor(struct cg_builder *b, struct res *r, const char *what)
{
    if (r->kind == R_TENSOR)
        return CG_OK;
    if (r->kind == R_NUM) {
        int v;
        CG_TRY(const_node(b, r->num, r->loc, &v));
        r->kind = R_TENSOR;
        r->value = v;
        return CG_OK;
    }
    if (r->kind == R_DIM)
        return berr(b, r->loc, "%s: a dimension symbol is not a tensor value", what);
    if (r->kind == R_TUPLE)
        return berr(b, r->loc, "%s: expected a tensor, got %d values (a def returning several "
                    "values must be assigned with a, b = ...)", what, r->nitems);
    return berr(b, r->loc, "%s: expected a tensor, got %s", what, kind_name(r));
}

/* Matches call arguments to a schema: out_args[k] is the evaluated argument for schema arg k
 * (given[k] = 0 when not given). */
static enum cg_status match_args(struct cg_builder *b, const struct cg_expr *x,
                                 const struct cg_schema *s, const char *fname, const char *sig,
                                 struct res *out_args, int *given)
{
    int npos = 0;
    for (int i = 0; i < x->nargs; i++) {
        const struct cg_arg *a = &x->args[i];
        int k = -1;
        if (a->kw) {
            for (int j = 0; j < s->nargs; j++)
                if (!strcmp(s->args[j].name, a->kw))
                    k = j;
            if (k < 0) {
                const char *best = NULL;
                int bestd = 3;
                for (int j = 0; j < s->nargs; j++) {
                    int d = cg_edit_distance(a->kw, s->args[j].name, 2);
                    if (d < bestd) {
                        bestd = d;
                        best = s->args[j].name;
                    }
                }
                if (best)
                    return berr(b, a->kw_loc, "%s: unknown keyword argument '%s' (did you mean "
                                "'%s'?); signature: %s", fname, a->kw, best, sig);
                return berr(b, a->kw_loc, "%s: unknown keyword argument '%s'; signature: %s",
                            fname, a->kw, sig);
            }
            if (given[k])
                return berr(b, a->kw_loc, "%s: argument '%s' given twice", fname, a->kw);
        } else {
            k = npos++;
            if (k >= s->nargs)
                return berr(b, a->value->loc, "%s: too many arguments (%d given, at most %d); "
                            "signature: %s", fname, npos, s->nargs, sig);
        }
        given[k] = 1;
        CG_TRY(eval(b, a->value, &out_args[k]));
    }
    for (int j = 0; j < s->nargs; j++)
        if (!given[j] && s->args[j].required)
            return berr(b, x->loc, "%s: missing argument '%s'; signature: %s", fname,
                        s->args[j].name, sig);
    return CG_OK;
}

static enum cg_status want_int(struct cg_builder *b, const struct res *r, const char *fname,
                               const char *arg, int64_t *v)
{
    if (r->kind == R_NUM && (r->is_int || (r->num == floor(r->num) && fabs(r->num) < 1e15))) {
        *v = (int64_t)r->num;
        return CG_OK;
    }
    if (r->kind == R_DIM) {
        if (cg_dim_is_const(cg_dim_resolve(&b->g->syms, r->dim), v))
            return CG_OK;
    }
    char buf[256];
    return berr(b, r->loc, "%s: argument '%s' must be an integer, got %s", fname, arg,
                type_of(b, r, buf, sizeof buf));
}

/* Converts an evaluated argument to the attribute of schema type t. */
static enum cg_status to_attr(struct cg_builder *b, const struct res *r,
                              const struct cg_arg_schema *as, const char *fname,
                              struct cg_attr *out)
{
    char buf[256];
    memset(out, 0, sizeof *out);
    out->auto_index = -1;
    switch (as->type) {
    case CG_ARG_INT:
        out->kind = CG_AT_INT;
        CG_TRY(want_int(b, r, fname, as->name, &out->i));
        out->f = (double)out->i;
        return CG_OK;
    case CG_ARG_FLOAT:
        if (r->kind != R_NUM)
            return berr(b, r->loc, "%s: argument '%s' must be a number, got %s", fname,
                        as->name, type_of(b, r, buf, sizeof buf));
        out->kind = CG_AT_FLOAT;
        out->f = r->num;
        out->i = (int64_t)r->num;
        return CG_OK;
    case CG_ARG_STR:
        if (r->kind != R_STR)
            return berr(b, r->loc, "%s: argument '%s' must be a string, got %s", fname,
                        as->name, type_of(b, r, buf, sizeof buf));
        out->kind = CG_AT_STR;
        out->s = r->str;
        return CG_OK;
    case CG_ARG_INTS:
    case CG_ARG_AXES:
    case CG_ARG_FLOATS: {
        int is_float = as->type == CG_ARG_FLOATS;
        const struct res *items = r;
        int n = 1;
        if (r->kind == R_LIST) {
            items = r->items;
            n = r->nitems;
            out->was_list = 1;
        }
        if (n > 64)
            return berr(b, r->loc, "%s: argument '%s' has too many entries (%d)", fname,
                        as->name, n);
        out->kind = is_float ? CG_AT_FLOATS : CG_AT_INTS;
        out->n = n;
        out->ints = galloc(b, (size_t)(n ? n : 1) * sizeof *out->ints);
        out->floats = galloc(b, (size_t)(n ? n : 1) * sizeof *out->floats);
        if (!out->ints || !out->floats)
            return cg_error_nomem(b->e);
        for (int i = 0; i < n; i++) {
            if (is_float) {
                if (items[i].kind != R_NUM)
                    return berr(b, items[i].loc, "%s: argument '%s' must be a number or a list "
                                "of numbers, got %s", fname, as->name,
                                type_of(b, &items[i], buf, sizeof buf));
                out->floats[i] = items[i].num;
            } else {
                if (items[i].kind != R_NUM && items[i].kind != R_DIM)
                    return berr(b, items[i].loc, "%s: argument '%s' must be an integer or a "
                                "list of integers, got %s", fname, as->name,
                                type_of(b, &items[i], buf, sizeof buf));
                CG_TRY(want_int(b, &items[i], fname, as->name, &out->ints[i]));
                out->floats[i] = (double)out->ints[i];
            }
        }
        if (n > 0) {
            out->i = out->ints[0];
            out->f = out->floats[0];
        }
        return CG_OK;
    }
    case CG_ARG_DIMS: {
        if (r->kind != R_LIST)
            return berr(b, r->loc, "%s: argument '%s' must be a list of sizes such as [N, -1], "
                        "got %s", fname, as->name, type_of(b, r, buf, sizeof buf));
        int n = r->nitems;
        if (n > CG_MAX_RANK)
            return berr(b, r->loc, "%s: a shape has at most %d dims, got %d", fname,
                        CG_MAX_RANK, n);
        out->kind = CG_AT_DIMS;
        out->n = n;
        out->dims = galloc(b, (size_t)(n ? n : 1) * sizeof *out->dims);
        if (!out->dims)
            return cg_error_nomem(b->e);
        for (int i = 0; i < n; i++) {
            const struct res *it = &r->items[i];
            if (it->kind == R_DIM) {
                out->dims[i] = it->dim;
            } else if (it->kind == R_NUM && it->is_int) {
                if (it->num == -1) {
                    if (out->auto_index >= 0)
                        return berr(b, it->loc, "%s: only one -1 is allowed in a shape", fname);
                    out->auto_index = i;
                    out->dims[i] = cg_dim_const(-1);
                } else if (it->num < 0) {
                    return berr(b, it->loc, "%s: invalid size %g in a shape", fname, it->num);
                } else {
                    out->dims[i] = cg_dim_const((int64_t)it->num);
                }
            } else {
                return berr(b, it->loc, "%s: a shape entry must be an integer or a symbol, got "
                            "%s", fname, type_of(b, it, buf, sizeof buf));
            }
        }
        return CG_OK;
    }
    default:
        return berr(b, r->loc, "%s: internal error: bad attribute type", fname);
    }
}

static enum cg_status call_op(struct cg_builder *b, const struct cg_expr *x, int op_id,
                              struct res *out)
{
    const struct cg_op_def *op = &cg_ops()[op_id];
    const struct cg_schema *s = &op->schema;
    struct res args[CG_MAX_ARGS];
    int given[CG_MAX_ARGS] = {0};
    memset(args, 0, sizeof args);
    CG_TRY(match_args(b, x, s, op->name, op->signature, args, given));
    struct cg_call call;
    call_init(&call, op_id, x->loc);
    char buf[256];
    for (int k = 0; k < s->nargs; k++) {
        const struct cg_arg_schema *as = &s->args[k];
        if (!given[k])
            continue;
        if (as->type == CG_ARG_TENSORS) {
            if (args[k].kind != R_LIST)
                return berr(b, args[k].loc, "%s: argument '%s' must be a list of tensors [a, b, "
                            "...], got %s", op->name, as->name, type_of(b, &args[k], buf, sizeof buf));
            if (args[k].nitems == 0)
                return berr(b, args[k].loc, "%s: argument '%s' is an empty list", op->name,
                            as->name);
            if (args[k].nitems > (int)CG_ARRAY_LEN(call.inputs) - s->ntensors)
                return berr(b, args[k].loc, "%s: too many tensors (%d)", op->name,
                            args[k].nitems);
            /* the list's tensors are the node's inputs from this slot on */
            call.ninputs = as->slot;
            for (int i = 0; i < args[k].nitems; i++) {
                CG_TRY(to_tensor(b, &args[k].items[i], op->name));
                call.inputs[call.ninputs++] = args[k].items[i].value;
            }
        } else if (as->is_tensor) {
            char what[64];
            snprintf(what, sizeof what, "%s: argument '%s'", op->name, as->name);
            CG_TRY(to_tensor(b, &args[k], what));
            const struct cg_value *v = &b->g->values[args[k].value];
            if ((as->type == CG_ARG_F32 && v->dtype != CG_F32) ||
                (as->type == CG_ARG_I32 && v->dtype != CG_I32))
                return berr(b, args[k].loc, "%s: argument '%s' must be %s, got %s", op->name,
                            as->name, as->type == CG_ARG_F32 ? "f32" : "i32 (integer labels or "
                            "indices)", type_of(b, &args[k], buf, sizeof buf));
            call.inputs[as->slot] = args[k].value;
        } else {
            CG_TRY(to_attr(b, &args[k], as, op->name, &call.attrs[as->slot]));
        }
    }
    int v;
    if (op->expand)
        CG_TRY(op->expand(b, &call, &v));
    else
        CG_TRY(add_node(b, &call, &v));
    out->kind = R_TENSOR;
    out->value = v;
    out->loc = x->loc;
    return CG_OK;
}

static enum cg_status exec_block(struct cg_builder *b, struct cg_stmt **stmts, int n,
                                 int top_level);

static enum cg_status call_def(struct cg_builder *b, const struct cg_expr *x,
                               const struct cg_stmt *def, struct res *out)
{
    for (int i = 0; i < b->nframes; i++)
        if (b->frames[i].def == def)
            return berr(b, x->loc, "def '%s' calls itself (recursion is not allowed: defs are "
                        "inlined)", def->names[0]);
    /* signature for messages */
    char sig[512];
    size_t used = (size_t)snprintf(sig, sizeof sig, "%s(", def->names[0]);
    for (int i = 0; i < def->nparams && used < sizeof sig; i++)
        used += (size_t)snprintf(sig + used, sizeof sig - used, "%s%s%s", i ? ", " : "",
                                 def->params[i], def->param_defaults[i] ? "=..." : "");
    if (used < sizeof sig)
        snprintf(sig + used, sizeof sig - used, ")");
    struct res *args = cg_calloc((size_t)def->nparams + 1, sizeof *args);
    int *given = cg_calloc((size_t)def->nparams + 1, sizeof *given);
    enum cg_status st = CG_OK;
    const char *scope_name = def->names[0];
    int npos = 0;
    if (!args || !given) {
        st = cg_error_nomem(b->e);
        goto error;
    }
    for (int i = 0; i < x->nargs; i++) {
        const struct cg_arg *a = &x->args[i];
        int k = -1;
        if (a->kw && !strcmp(a->kw, "scope")) {
            struct res r;
            if ((st = eval(b, a->value, &r)) != CG_OK)
                goto error;
            if (r.kind != R_STR || !cg_is_simple_name(r.str)) {
                st = berr(b, a->value->loc, "%s: scope must be a simple name such as \"enc2\" "
                          "(letters, digits and _, no dots)", def->names[0]);
                goto error;
            }
            scope_name = r.str;
            continue;
        }
        if (a->kw) {
            for (int j = 0; j < def->nparams; j++)
                if (!strcmp(def->params[j], a->kw))
                    k = j;
            if (k < 0) {
                st = berr(b, a->kw_loc, "%s: unknown keyword argument '%s'; signature: %s",
                          def->names[0], a->kw, sig);
                goto error;
            }
            if (given[k]) {
                st = berr(b, a->kw_loc, "%s: argument '%s' given twice", def->names[0], a->kw);
                goto error;
            }
        } else {
            k = npos++;
            if (k >= def->nparams) {
                st = berr(b, a->value->loc, "%s: too many arguments (%d given, takes %d); "
                          "signature: %s", def->names[0], npos, def->nparams, sig);
                goto error;
            }
        }
        given[k] = 1;
        if ((st = eval(b, a->value, &args[k])) != CG_OK)
            goto error;
    }
    for (int j = 0; j < def->nparams; j++)
        if (!given[j] && !def->param_defaults[j]) {
            st = berr(b, x->loc, "%s: missing argument '%s'; signature: %s", def->names[0],
                      def->params[j], sig);
            goto error;
        }
    const char *scope = join_scope(b, top(b)->scope, scope_name);
    if (!scope) {
        st = cg_error_nomem(b->e);
        goto error;
    }
    if ((st = push_frame(b, scope, def, x->loc)) != CG_OK)
        goto error;
    for (int j = 0; j < def->nparams && st == CG_OK; j++) {
        if (!given[j])
            st = eval(b, def->param_defaults[j], &args[j]);
        if (st == CG_OK)
            st = bind(b, def->params[j], args[j]);
    }
    if (st == CG_OK)
        st = exec_block(b, def->body, def->nbody - 1, 0);
    const struct cg_stmt *ret = def->body[def->nbody - 1];
    if (st == CG_OK) {
        if (ret->nexprs == 1) {
            st = eval(b, ret->exprs[0], out);
        } else {
            struct res *items = galloc(b, (size_t)ret->nexprs * sizeof *items);
            if (!items)
                st = cg_error_nomem(b->e);
            for (int i = 0; i < ret->nexprs && st == CG_OK; i++)
                st = eval(b, ret->exprs[i], &items[i]);
            out->kind = R_TUPLE;
            out->items = items;
            out->nitems = ret->nexprs;
        }
    }
    pop_frame(b);
    out->loc = x->loc;
error:
    cg_free(args);
    cg_free(given);
    return st;
}

static int internal_ops_allowed;

void cg_build_allow_internal_ops(int allow) { internal_ops_allowed = allow; }

static enum cg_status eval_call(struct cg_builder *b, const struct cg_expr *x, struct res *out)
{
    const struct cg_stmt *def = find_def(b, x->str);
    if (def)
        return call_def(b, x, def, out);
    int op = internal_ops_allowed ? cg_op_find_any(x->str) : cg_op_find(x->str);
    if (op >= 0)
        return call_op(b, x, op, out);
    struct binding *v = lookup(b, x->str);
    if (v)
        return berr(b, x->loc, "'%s' is a value, not a function", x->str);
    const char *s = suggest(b, x->str, 1);
    if (s)
        return berr(b, x->loc, "unknown function '%s' (did you mean '%s'?)", x->str, s);
    return berr(b, x->loc, "unknown function '%s' (not an op of the library nor a def)", x->str);
}

static int is_symbol_name(const char *s)
{
    if (!(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static enum cg_status eval_bin(struct cg_builder *b, const struct cg_expr *x, struct res *out)
{
    struct res l, r;
    CG_TRY(eval(b, x->lhs, &l));
    CG_TRY(eval(b, x->rhs, &r));
    char op = x->op;
    out->loc = x->loc;
    if (l.kind == R_NUM && r.kind == R_NUM) {
        out->kind = R_NUM;
        out->is_int = l.is_int && r.is_int && op != '/';
        switch (op) {
        case '+': out->num = l.num + r.num; break;
        case '-': out->num = l.num - r.num; break;
        case '*': out->num = l.num * r.num; break;
        default:
            if (l.is_int && r.is_int && r.num != 0 && fmod(l.num, r.num) == 0) {
                out->is_int = 1;
            }
            out->num = l.num / r.num;
        }
        return CG_OK;
    }
    if ((l.kind == R_DIM || (l.kind == R_NUM && l.is_int)) &&
        (r.kind == R_DIM || (r.kind == R_NUM && r.is_int))) {
        struct cg_dim a = l.kind == R_DIM ? l.dim : cg_dim_const((int64_t)l.num);
        struct cg_dim c = r.kind == R_DIM ? r.dim : cg_dim_const((int64_t)r.num);
        int fail = op == '+' ? cg_dim_add(a, c, &out->dim)
                 : op == '-' ? cg_dim_sub(a, c, &out->dim)
                 : op == '*' ? cg_dim_mul(a, c, &out->dim)
                             : cg_dim_div(a, c, &out->dim);
        if (fail)
            return berr(b, x->loc, "cannot compute this size expression exactly");
        out->kind = R_DIM;
        return CG_OK;
    }
    static const int ops[] = {['+'] = CG_OP_add, ['-'] = CG_OP_sub, ['*'] = CG_OP_mul,
                              ['/'] = CG_OP_div};
    char what[32];
    snprintf(what, sizeof what, "operator '%c'", op);
    CG_TRY(to_tensor(b, &l, what));
    CG_TRY(to_tensor(b, &r, what));
    char b1[256], b2[256];
    if (b->g->values[l.value].dtype != CG_F32 || b->g->values[r.value].dtype != CG_F32)
        return berr(b, x->loc, "operator '%c' needs f32 operands, got %s and %s", op,
                    type_of(b, &l, b1, sizeof b1), type_of(b, &r, b2, sizeof b2));
    int in[2] = {l.value, r.value};
    out->kind = R_TENSOR;
    return cg_build_node(b, ops[(unsigned char)op], in, 2, NULL, NULL, 0, x->loc, &out->value);
}

static enum cg_status eval(struct cg_builder *b, const struct cg_expr *x, struct res *out)
{
    memset(out, 0, sizeof *out);
    out->loc = x->loc;
    switch (x->kind) {
    case CG_EX_NUM:
        out->kind = R_NUM;
        out->num = x->num;
        out->is_int = x->is_int;
        return CG_OK;
    case CG_EX_STR:
        out->kind = R_STR;
        out->str = x->str;
        return CG_OK;
    case CG_EX_NAME: {
        struct binding *v = lookup(b, x->str);
        if (v) {
            *out = v->r;
            out->loc = x->loc;
            return CG_OK;
        }
        int sym = cg_sym_find(&b->g->syms, x->str);
        if (sym || is_symbol_name(x->str)) {
            if (!sym)
                sym = cg_sym_intern(&b->g->syms, x->str);
            if (sym < 0)
                return berr(b, x->loc, "too many dimension symbols");
            out->kind = R_DIM;
            out->dim = cg_dim_sym(sym);
            return CG_OK;
        }
        if (find_def(b, x->str) || cg_op_find(x->str) >= 0)
            return berr(b, x->loc, "'%s' is a function; call it as %s(...)", x->str, x->str);
        const char *s = suggest(b, x->str, 0);
        if (s)
            return berr(b, x->loc, "unknown name '%s' (did you mean '%s'?)", x->str, s);
        return berr(b, x->loc, "unknown name '%s'", x->str);
    }
    case CG_EX_LIST: {
        out->kind = R_LIST;
        out->nitems = x->nitems;
        out->items = galloc(b, (size_t)(x->nitems ? x->nitems : 1) * sizeof *out->items);
        if (!out->items)
            return cg_error_nomem(b->e);
        for (int i = 0; i < x->nitems; i++)
            CG_TRY(eval(b, x->items[i], &out->items[i]));
        return CG_OK;
    }
    case CG_EX_CALL:
        return eval_call(b, x, out);
    case CG_EX_BIN:
        return eval_bin(b, x, out);
    case CG_EX_NEG: {
        struct res r;
        CG_TRY(eval(b, x->lhs, &r));
        if (r.kind == R_NUM) {
            *out = r;
            out->num = -r.num;
            return CG_OK;
        }
        CG_TRY(to_tensor(b, &r, "unary '-'"));
        if (b->g->values[r.value].dtype != CG_F32) {
            char buf[256];
            return berr(b, x->loc, "unary '-' needs an f32 operand, got %s",
                        type_of(b, &r, buf, sizeof buf));
        }
        out->kind = R_TENSOR;
        return cg_build_node(b, CG_OP_neg, &r.value, 1, NULL, NULL, 0, x->loc, &out->value);
    }
    }
    return berr(b, x->loc, "internal error: unknown expression");
}

/* Prints an expression back as text (for summaries). */
static void expr_text(const struct cg_expr *x, struct cg_buf *o)
{
    switch (x->kind) {
    case CG_EX_NUM: cg_buf_printf(o, "%s", x->str ? x->str : "0"); break;
    case CG_EX_STR: cg_buf_printf(o, "\"%s\"", x->str); break;
    case CG_EX_NAME: cg_buf_printf(o, "%s", x->str); break;
    case CG_EX_LIST:
        cg_buf_printf(o, "[");
        for (int i = 0; i < x->nitems; i++) {
            if (i)
                cg_buf_printf(o, ", ");
            expr_text(x->items[i], o);
        }
        cg_buf_printf(o, "]");
        break;
    case CG_EX_CALL:
        cg_buf_printf(o, "%s(", x->str);
        for (int i = 0; i < x->nargs; i++) {
            if (i)
                cg_buf_printf(o, ", ");
            if (x->args[i].kw)
                cg_buf_printf(o, "%s=", x->args[i].kw);
            expr_text(x->args[i].value, o);
        }
        cg_buf_printf(o, ")");
        break;
    case CG_EX_BIN: {
        int paren_l = x->lhs->kind == CG_EX_BIN && (x->op == '*' || x->op == '/') &&
                      (x->lhs->op == '+' || x->lhs->op == '-');
        int paren_r = x->rhs->kind == CG_EX_BIN &&
                      ((x->op == '*' || x->op == '/') || x->op == '-' || x->rhs->op == '+' ||
                       x->rhs->op == '-') &&
                      !((x->op == '+') && (x->rhs->op == '*' || x->rhs->op == '/'));
        if (paren_l)
            cg_buf_printf(o, "(");
        expr_text(x->lhs, o);
        cg_buf_printf(o, paren_l ? ") %c " : " %c ", x->op);
        if (paren_r)
            cg_buf_printf(o, "(");
        expr_text(x->rhs, o);
        if (paren_r)
            cg_buf_printf(o, ")");
        break;
    }
    case CG_EX_NEG:
        cg_buf_printf(o, "-");
        expr_text(x->lhs, o);
        break;
    }
}

/* ---- statements ---- */

static enum cg_status declare_check(struct cg_builder *b, const char *name, struct cg_loc loc,
                                    const char *what)
{
    struct cg_graph *g = b->g;
    for (size_t i = 0; i < g->ninputs; i++)
        if (!strcmp(g->inputs[i].name, name))
            return berr(b, loc, "duplicate declaration of '%s': already declared as an input at "
                        "line %d", name, g->inputs[i].loc.line);
    if (b->nframes == 1) {
        int p = find_param(g, name);
        if (p >= 0)
            return berr(b, loc, "duplicate declaration of '%s': already a parameter (line %d)",
                        name, g->params[p].loc.line);
    }
    if (cg_op_find(name) >= 0 && strcmp(what, "output") && strcmp(what, "metric"))
        return berr(b, loc, "'%s' is the name of a built-in op and cannot be declared as %s",
                    name, what);
    return CG_OK;
}

static enum cg_status do_type(struct cg_builder *b, const struct cg_type_ast *t,
                              struct cg_shape *s, int allow_symbols)
{
    s->rank = t->ndims;
    for (int i = 0; i < t->ndims; i++) {
        const struct cg_expr *d = t->dims[i];
        if (d->kind == CG_EX_NUM) {
            s->d[i] = cg_dim_const(d->ival);
        } else {
            if (!allow_symbols)
                return berr(b, d->loc, "a parameter's shape must be concrete; '%s' is a symbol",
                            d->str);
            int known = cg_sym_find(&b->g->syms, d->str);
            int id = cg_sym_intern(&b->g->syms, d->str);
            if (id < 0)
                return berr(b, d->loc, "too many dimension symbols (at most %d)", CG_MAX_SYMBOLS);
            s->d[i] = cg_dim_sym(id);
            for (int k = 0; k < b->nbinds && !known; k++)
                if (!strcmp(b->binds[k].name, d->str))
                    CG_TRY(cg_graph_bind(b->g, d->str, b->binds[k].value, b->e));
        }
    }
    return CG_OK;
}

static const char *const init_sigs[] = {
    "zeros()", "ones()", "constant(v:float)", "normal(std:float=1, mean:float=0)",
    "uniform(lo:float=0, hi:float=1)", "kaiming_uniform(a:float=0)", "xavier_uniform()",
};

static enum cg_status do_init(struct cg_builder *b, const struct cg_expr *x, struct cg_init *init)
{
    if (!x) {
        init->kind = CG_INIT_ZEROS;
        return CG_OK;
    }
    if (x->kind != CG_EX_CALL)
        return berr(b, x->loc, "expected an initialiser call such as zeros(), normal(std=0.01) "
                    "or uniform(-1, 1)");
    int k = -1;
    for (size_t i = 0; i < CG_ARRAY_LEN(init_sigs); i++) {
        size_t n = strcspn(init_sigs[i], "(");
        if (strlen(x->str) == n && !strncmp(init_sigs[i], x->str, n))
            k = (int)i;
    }
    if (k < 0)
        return berr(b, x->loc, "unknown initialiser '%s' (known: zeros, ones, constant, normal, "
                    "uniform, kaiming_uniform, xavier_uniform)", x->str);
    struct cg_schema s;
    char err[64];
    cg_schema_parse(init_sigs[k], &s, err, sizeof err);
    struct res args[CG_MAX_ARGS];
    int given[CG_MAX_ARGS] = {0};
    CG_TRY(match_args(b, x, &s, x->str, init_sigs[k], args, given));
    double v[2];
    for (int i = 0; i < s.nargs; i++) {
        if (given[i] && args[i].kind != R_NUM)
            return berr(b, args[i].loc, "%s: argument '%s' must be a number", x->str,
                        s.args[i].name);
        v[i] = given[i] ? args[i].num : s.args[i].dflt.f;
    }
    init->kind = (enum cg_init_kind)k;
    init->a = s.nargs > 0 ? v[0] : 0;
    init->b = s.nargs > 1 ? v[1] : 0;
    if (k == CG_INIT_NORMAL && init->a < 0)
        return berr(b, x->loc, "normal: std must be >= 0, got %g", init->a);
    if (k == CG_INIT_UNIFORM && init->a > init->b)
        return berr(b, x->loc, "uniform: lo (%g) is greater than hi (%g)", init->a, init->b);
    return CG_OK;
}

static const char *const optim_sigs[] = {
    "sgd(lr:float=0.01, momentum:float=0, dampening:float=0, weight_decay:float=0, nesterov:int=0)",
    "adam(lr:float=0.001, beta1:float=0.9, beta2:float=0.999, eps:float=1e-8, weight_decay:float=0)",
    "adamw(lr:float=0.001, beta1:float=0.9, beta2:float=0.999, eps:float=1e-8, weight_decay:float=0.01)",
};

static enum cg_status do_optim(struct cg_builder *b, const struct cg_expr *x, struct cg_optim *o)
{
    int k = -1;
    for (size_t i = 0; i < CG_ARRAY_LEN(optim_sigs); i++) {
        size_t n = strcspn(optim_sigs[i], "(");
        if (strlen(x->str) == n && !strncmp(optim_sigs[i], x->str, n))
            k = (int)i;
    }
    if (k < 0)
        return berr(b, x->loc, "unknown optimizer '%s' (known: sgd, adam, adamw)", x->str);
    struct cg_schema s;
    char err[64];
    cg_schema_parse(optim_sigs[k], &s, err, sizeof err);
    struct res args[CG_MAX_ARGS];
    int given[CG_MAX_ARGS] = {0};
    CG_TRY(match_args(b, x, &s, x->str, optim_sigs[k], args, given));
    o->name = x->str;
    o->nargs = s.nargs;
    for (int i = 0; i < s.nargs; i++) {
        if (given[i] && args[i].kind != R_NUM)
            return berr(b, args[i].loc, "%s: argument '%s' must be a number", x->str,
                        s.args[i].name);
        o->arg_names[i] = gstrdup(b, s.args[i].name);
        o->arg_values[i] = given[i] ? args[i].num : s.args[i].dflt.f;
        if (!o->arg_names[i])
            return cg_error_nomem(b->e);
        const char *an = s.args[i].name;
        double v = o->arg_values[i];
        struct cg_loc al = given[i] ? args[i].loc : x->loc;
        if (!strcmp(an, "lr") && !(v > 0))
            return berr(b, al, "%s: lr must be positive, got %g", x->str, v);
        if ((!strcmp(an, "beta1") || !strcmp(an, "beta2")) && !(v >= 0 && v < 1))
            return berr(b, al, "%s: %s must be in [0, 1), got %g", x->str, an, v);
        if ((!strcmp(an, "momentum") || !strcmp(an, "weight_decay") || !strcmp(an, "eps") ||
             !strcmp(an, "dampening")) && !(v >= 0))
            return berr(b, al, "%s: %s must be >= 0, got %g", x->str, an, v);
    }
    double mom = 0, damp = 0, nest = 0;
    for (int i = 0; i < o->nargs; i++) {
        if (!strcmp(o->arg_names[i], "momentum"))
            mom = o->arg_values[i];
        if (!strcmp(o->arg_names[i], "dampening"))
            damp = o->arg_values[i];
        if (!strcmp(o->arg_names[i], "nesterov"))
            nest = o->arg_values[i];
    }
    if (nest != 0 && (mom <= 0 || damp != 0))
        return berr(b, x->loc, "sgd: nesterov needs momentum > 0 and dampening = 0 (as in "
                    "PyTorch)");
    return CG_OK;
}

static enum cg_status want_scalar(struct cg_builder *b, struct res *r, const char *what)
{
    CG_TRY(to_tensor(b, r, what));
    const struct cg_value *v = &b->g->values[r->value];
    if (v->shape.rank != 0 || v->dtype != CG_F32) {
        char buf[256];
        return berr(b, r->loc, "%s must be an f32 scalar, got %s (reduce it, e.g. with mean)",
                    what, type_of(b, r, buf, sizeof buf));
    }
    return CG_OK;
}

static enum cg_status named_value(struct cg_builder *b, const struct cg_stmt *s, int *value)
{
    struct res r;
    if (s->expr) {
        CG_TRY(eval(b, s->expr, &r));
    } else {
        struct binding *v = lookup(b, s->names[0]);
        if (!v) {
            const char *sg = suggest(b, s->names[0], 0);
            if (sg)
                return berr(b, s->name_locs[0], "unknown name '%s' (did you mean '%s'?); write "
                            "output %s = EXPR to define it here", s->names[0], sg, s->names[0]);
            return berr(b, s->name_locs[0], "unknown name '%s'; write output %s = EXPR to "
                        "define it here", s->names[0], s->names[0]);
        }
        r = v->r;
        r.loc = s->name_locs[0];
    }
    CG_TRY(to_tensor(b, &r, s->kind == CG_ST_OUTPUT ? "output" : "metric"));
    *value = r.value;
    return CG_OK;
}

static enum cg_status exec_stmt(struct cg_builder *b, const struct cg_stmt *s)
{
    struct cg_graph *g = b->g;
    switch (s->kind) {
    case CG_ST_IMPORT:
    case CG_ST_DEF:
        return CG_OK;
    case CG_ST_INPUT: {
        CG_TRY(declare_check(b, s->names[0], s->name_locs[0], "an input"));
        struct cg_input in = {.name = s->names[0], .loc = s->name_locs[0]};
        CG_TRY(new_value(b, CG_V_INPUT, (int)g->ninputs, s->loc, &in.value));
        struct cg_value *v = &g->values[in.value];
        v->dtype = s->type.dtype;
        v->name = in.name;
        CG_TRY(do_type(b, &s->type, &v->shape, 1));
        in.decl = v->shape;
        if (CG_PUSH(g->inputs, g->ninputs, g->cap_inputs, in))
            return cg_error_nomem(b->e);
        struct res r = {.kind = R_TENSOR, .value = in.value, .loc = s->loc};
        return bind(b, s->names[0], r);
    }
    case CG_ST_PARAM: {
        CG_TRY(declare_check(b, s->names[0], s->name_locs[0], "a parameter"));
        struct cg_shape shape;
        struct cg_init init;
        CG_TRY(do_type(b, &s->type, &shape, 0));
        if (s->type.dtype != CG_F32)
            return berr(b, s->type.loc, "parameters are trainable and must be f32");
        CG_TRY(do_init(b, s->expr, &init));
        if ((init.kind == CG_INIT_KAIMING_UNIFORM || init.kind == CG_INIT_XAVIER_UNIFORM) &&
            shape.rank < 2)
            return berr(b, s->expr->loc, "%s needs a parameter of at least 2 dims (fan-in and "
                        "fan-out are undefined for %d dim%s)", init.kind ==
                        CG_INIT_KAIMING_UNIFORM ? "kaiming_uniform" : "xavier_uniform",
                        shape.rank, shape.rank == 1 ? "" : "s");
        const char *full = join_scope(b, top(b)->scope, s->names[0]);
        if (!full)
            return cg_error_nomem(b->e);
        if (b->nframes == 1 && find_param(g, full) >= 0)
            return berr(b, s->name_locs[0], "duplicate declaration of parameter '%s'", full);
        struct res r = {.kind = R_TENSOR, .loc = s->loc};
        CG_TRY(make_param(b, full, CG_F32, &shape, init, s->name_locs[0], &r.value));
        return bind(b, s->names[0], r);
    }
    case CG_ST_ASSIGN: {
        struct res r;
        for (int i = 0; i < s->nnames; i++)
            if (cg_op_find(s->names[i]) >= 0 || find_def(b, s->names[i]))
                return berr(b, s->name_locs[i], "cannot assign to '%s': it is the name of %s",
                            s->names[i], cg_op_find(s->names[i]) >= 0 ? "a built-in op" : "a def");
        CG_TRY(eval(b, s->expr, &r));
        if (s->nnames == 1) {
            if (r.kind == R_TUPLE)
                return berr(b, s->loc, "the right-hand side has %d values; assign them to as "
                            "many names (a, b = ...)", r.nitems);
            return bind(b, s->names[0], r);
        }
        if (r.kind != R_TUPLE)
            return berr(b, s->loc, "cannot unpack %s into %d names", kind_name(&r), s->nnames);
        if (r.nitems != s->nnames)
            return berr(b, s->loc, "cannot unpack %d values into %d names", r.nitems, s->nnames);
        for (int i = 0; i < s->nnames; i++)
            CG_TRY(bind(b, s->names[i], r.items[i]));
        return CG_OK;
    }
    case CG_ST_MINIMIZE: {
        struct res r;
        CG_TRY(eval(b, s->expr, &r));
        CG_TRY(want_scalar(b, &r, "the minimized expression"));
        struct cg_objective o = {0};
        o.value = r.value;
        o.loc = s->loc;
        o.every = s->every > 0 ? s->every : 1;
        o.offset = s->offset;
        struct cg_buf txt = {0};
        expr_text(s->expr, &txt);
        o.text = gstrdup(b, cg_buf_str(&txt));
        cg_buf_free(&txt);
        if (!o.text)
            return cg_error_nomem(b->e);
        /* parameters are selected once the whole file is built (resolve_objectives), so
         * that "all parameters" includes those created after this statement */
        if (CG_PUSH(b->obj_stmts, b->nobj_stmts, b->cap_obj_stmts, s))
            return cg_error_nomem(b->e);
        if (s->with)
            CG_TRY(do_optim(b, s->with, &o.optim));
        if (CG_PUSH(g->objectives, g->nobjectives, g->cap_objectives, o))
            return cg_error_nomem(b->e);
        return CG_OK;
    }
    case CG_ST_OUTPUT:
    case CG_ST_METRIC: {
        int is_out = s->kind == CG_ST_OUTPUT;
        struct cg_named **list = is_out ? &g->outputs : &g->metrics;
        size_t *n = is_out ? &g->noutputs : &g->nmetrics;
        size_t *cap = is_out ? &g->cap_outputs : &g->cap_metrics;
        for (size_t i = 0; i < *n; i++)
            if (!strcmp((*list)[i].name, s->names[0]))
                return berr(b, s->name_locs[0], "duplicate %s '%s' (first at line %d)",
                            is_out ? "output" : "metric", s->names[0], (*list)[i].loc.line);
        struct cg_named nv = {.name = s->names[0], .loc = s->name_locs[0]};
        CG_TRY(named_value(b, s, &nv.value));
        if (!is_out) {
            struct res r = {.kind = R_TENSOR, .value = nv.value, .loc = s->expr->loc};
            CG_TRY(want_scalar(b, &r, "a metric"));
        }
        if (CG_PUSH(*list, *n, *cap, nv))
            return cg_error_nomem(b->e);
        if (s->expr) {
            struct res r = {.kind = R_TENSOR, .value = nv.value, .loc = s->loc};
            CG_TRY(bind(b, s->names[0], r));
        }
        return CG_OK;
    }
    case CG_ST_RETURN:
        return berr(b, s->loc, "return outside a def");
    }
    return CG_OK;
}

static enum cg_status exec_block(struct cg_builder *b, struct cg_stmt **stmts, int n,
                                 int top_level)
{
    (void)top_level;
    for (int i = 0; i < n; i++)
        CG_TRY(exec_stmt(b, stmts[i]));
    return CG_OK;
}

/* Selects each objective's parameters by its `over` patterns (all parameters without). */
static enum cg_status resolve_objectives(struct cg_builder *b)
{
    struct cg_graph *g = b->g;
    for (size_t k = 0; k < g->nobjectives; k++) {
        const struct cg_stmt *s = b->obj_stmts[k];
        struct cg_objective *o = &g->objectives[k];
        o->patterns = galloc(b, (size_t)(s->npats + 1) * sizeof *o->patterns);
        o->params = galloc(b, (g->nparams + 1) * sizeof *o->params);
        if (!o->patterns || !o->params)
            return cg_error_nomem(b->e);
        o->npatterns = s->npats;
        for (int i = 0; i < s->npats; i++) {
            o->patterns[i] = s->pats[i].text;
            int any = 0;
            for (size_t p = 0; p < g->nparams; p++)
                any |= cg_pattern_match(s->pats[i].text, g->params[p].name);
            if (!any) {
                cg_error_set(b->e, CG_ERR_INPUT, "%s:%d:%d: error: minimize: pattern '%s' "
                             "selects no parameter", s->pats[i].loc.file, s->pats[i].loc.line,
                             s->pats[i].loc.col, s->pats[i].text);
                if (g->nparams) {
                    struct cg_buf l = {0};
                    for (size_t p = 0; p < g->nparams && p < 12; p++)
                        cg_buf_printf(&l, "%s%s", p ? ", " : "", g->params[p].name);
                    if (g->nparams > 12)
                        cg_buf_printf(&l, ", ...");
                    cg_error_note(b->e, "note: the parameters are: %s", cg_buf_str(&l));
                    cg_buf_free(&l);
                }
                return CG_ERR_INPUT;
            }
        }
        for (size_t p = 0; p < g->nparams; p++) {
            int sel = s->npats == 0;
            for (int i = 0; i < s->npats && !sel; i++)
                sel = cg_pattern_match(s->pats[i].text, g->params[p].name);
            if (sel)
                o->params[o->nparams++] = (int)p;
        }
        if (o->nparams == 0)
            return berr(b, s->loc, "minimize: the graph has no parameters to train");
    }
    return CG_OK;
}

static enum cg_status collect_defs(struct cg_builder *b)
{
    for (int f = 0; f < b->prog->nfiles; f++) {
        const struct cg_ast_file *file = b->prog->files[f];
        for (int i = 0; i < file->nstmts; i++) {
            const struct cg_stmt *s = file->stmts[i];
            if (f > 0 && s->kind != CG_ST_DEF && s->kind != CG_ST_IMPORT)
                return berr(b, s->loc, "an imported file may only contain def and import "
                            "statements (this file is imported for its defs)");
            if (s->kind != CG_ST_DEF)
                continue;
            const char *name = s->names[0];
            if (cg_op_find(name) >= 0)
                return berr(b, s->name_locs[0], "def '%s' has the name of a built-in op", name);
            for (int k = 0; k < s->nparams; k++)
                if (!strcmp(s->params[k], "scope"))
                    return berr(b, s->param_locs[k], "def '%s': a parameter cannot be named "
                                "'scope' (scope=\"...\" names a call's instance)", name);
            const struct cg_stmt *old = find_def(b, name);
            if (old)
                return berr(b, s->name_locs[0], "duplicate def '%s' (first defined at %s:%d:%d)",
                            name, old->loc.file, old->loc.line, old->loc.col);
            if (CG_PUSH(b->defs, b->ndefs, b->cap_defs, s))
                return cg_error_nomem(b->e);
        }
    }
    return CG_OK;
}

static enum cg_status build(struct cg_builder *b)
{
    CG_TRY(collect_defs(b));
    CG_TRY(push_frame(b, "", NULL, (struct cg_loc){0}));
    const struct cg_ast_file *main = b->prog->files[0];
    CG_TRY(exec_block(b, main->stmts, main->nstmts, 1));
    return resolve_objectives(b);
}

static enum cg_status finish(struct cg_builder *b, enum cg_status st, struct cg_graph **out)
{
    if (st == CG_OK && b->nframes > 0) { /* keep the top-level tensor names for fetches */
        struct frame *f = &b->frames[0];
        for (size_t i = 0; i < f->nvars && st == CG_OK; i++) {
            if (f->vars[i].r.kind != R_TENSOR)
                continue;
            struct cg_named nv = {.name = f->vars[i].name, .value = f->vars[i].r.value,
                                  .loc = f->vars[i].r.loc};
            if (CG_PUSH(b->g->vars, b->g->nvars, b->g->cap_vars, nv))
                st = cg_error_nomem(b->e);
        }
    }
    while (b->nframes > 0)
        pop_frame(b);
    cg_free(b->defs);
    cg_free(b->obj_stmts);
    if (st != CG_OK) {
        cg_graph_destroy(b->g);
        *out = NULL;
        return st;
    }
    *out = b->g;
    return CG_OK;
}

/* A new graph for path, with a new program to load or (borrow != NULL) another graph's. */
static enum cg_status start(struct cg_builder *b, const char *path, struct cg_program *borrow,
                            struct cg_error *e)
{
    memset(b, 0, sizeof *b);
    b->e = e;
    cg_ops();
    b->g = cg_calloc(1, sizeof *b->g);
    if (!b->g)
        return cg_error_nomem(e);
    b->g->path = cg_arena_strdup(&b->g->arena, path);
    b->g->prog_borrowed = borrow != NULL;
    b->prog = b->g->prog = borrow ? borrow : cg_calloc(1, sizeof *b->prog);
    if (!b->g->path || !b->prog)
        return cg_error_nomem(e);
    return CG_OK;
}

enum cg_status cg_graph_load(const char *path, struct cg_graph **out, struct cg_error *e)
{
    return cg_graph_load_bound(path, NULL, 0, out, e);
}

/* build with the symbols bound as early as inputs declare them, then every binding checked */
static enum cg_status build_bound(struct cg_builder *b, const struct cg_binding *binds,
                                  int nbinds)
{
    b->binds = binds;
    b->nbinds = nbinds;
    CG_TRY(build(b));
    for (int k = 0; k < nbinds; k++) /* reports unknown symbols */
        CG_TRY(cg_graph_bind(b->g, binds[k].name, binds[k].value, b->e));
    return nbinds ? cg_graph_reinfer(b->g, b->e) : CG_OK;
}

enum cg_status cg_graph_load_bound(const char *path, const struct cg_binding *binds, int nbinds,
                                   struct cg_graph **out, struct cg_error *e)
{
    struct cg_builder b;
    enum cg_status st = start(&b, path, NULL, e);
    if (st == CG_OK)
        st = cg_program_load(b.prog, path, e);
    if (st == CG_OK)
        st = build_bound(&b, binds, nbinds);
    return finish(&b, st, out);
}

enum cg_status cg_graph_rebuild(const struct cg_graph *g, const struct cg_binding *binds,
                                int nbinds, struct cg_graph **out, struct cg_error *e)
{
    struct cg_builder b;
    enum cg_status st = start(&b, g->path, g->prog, e);
    if (st == CG_OK)
        st = build_bound(&b, binds, nbinds);
    return finish(&b, st, out);
}

enum cg_status cg_graph_load_text(const char *path, const char *text, size_t len,
                                  struct cg_graph **out, struct cg_error *e)
{
    struct cg_builder b;
    enum cg_status st = start(&b, path, NULL, e);
    if (st == CG_OK)
        st = cg_program_load_text(b.prog, path, text, len, e);
    if (st == CG_OK)
        st = build(&b);
    return finish(&b, st, out);
}
