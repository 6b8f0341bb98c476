/* registry.c: the op table generated from ops.def, signature parsing, and the helpers that
 * inference functions use to read attributes and report shape errors (see registry.h). */
#include "ops/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cg_op_def table[CG_OP_COUNT] = {
#define CG_OP(id, sig, infer_fn, expand_fn, grad_fn, lower_fn, fl)                                \
    [CG_OP_##id] = {.name = #id, .signature = sig, .infer = infer_fn, .expand = expand_fn,         \
                    .grad = grad_fn, .lower = lower_fn, .flags = (fl)},
#include "ops/ops.def"
#undef CG_OP
};

static int parsed;

static const struct {
    const char *name;
    enum cg_arg_type type;
} arg_types[] = {
    {"tensor", CG_ARG_TENSOR}, {"f32", CG_ARG_F32},       {"i32", CG_ARG_I32},
    {"tensors", CG_ARG_TENSORS}, {"int", CG_ARG_INT},     {"float", CG_ARG_FLOAT},
    {"str", CG_ARG_STR},       {"ints", CG_ARG_INTS},     {"floats", CG_ARG_FLOATS},
    {"axes", CG_ARG_AXES},     {"dims", CG_ARG_DIMS},
};

/* Default strings of signatures live in a static pool (the table is process-wide). */
static const char *pool_str(const char *s)
{
    static char pool[512];
    static size_t used;
    size_t n = strlen(s) + 1;
    if (used + n > sizeof pool)
        return "";
    memcpy(pool + used, s, n);
    used += n;
    return pool + used - n;
}

int cg_schema_parse(const char *sig, struct cg_schema *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *p = strchr(sig, '(');
    if (!p) {
        snprintf(err, errlen, "no '(' in signature");
        return -1;
    }
    p++;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        if (s->nargs >= CG_MAX_ARGS) {
            snprintf(err, errlen, "too many arguments");
            return -1;
        }
        struct cg_arg_schema *a = &s->args[s->nargs];
        size_t n = strcspn(p, ":");
        if (!p[n] || n >= sizeof a->name) {
            snprintf(err, errlen, "bad argument near '%s'", p);
            return -1;
        }
        memcpy(a->name, p, n);
        a->name[n] = 0;
        p += n + 1;
        size_t tn = strcspn(p, "?=,)");
        int found = 0;
        for (size_t i = 0; i < CG_ARRAY_LEN(arg_types); i++)
            if (strlen(arg_types[i].name) == tn && !strncmp(arg_types[i].name, p, tn)) {
                a->type = arg_types[i].type;
                found = 1;
            }
        if (!found) {
            snprintf(err, errlen, "unknown type in '%s'", p);
            return -1;
        }
        p += tn;
        a->is_tensor = a->type == CG_ARG_TENSOR || a->type == CG_ARG_F32 ||
                       a->type == CG_ARG_I32 || a->type == CG_ARG_TENSORS;
        a->required = 1;
        if (*p == '?') {
            a->optional = 1;
            a->required = 0;
            p++;
        } else if (*p == '=') {
            p++;
            a->required = 0;
            size_t dn = strcspn(p, ",)");
            char d[64];
            if (dn >= sizeof d) {
                snprintf(err, errlen, "default too long");
                return -1;
            }
            memcpy(d, p, dn);
            d[dn] = 0;
            p += dn;
            if (!strcmp(d, "none")) {
                a->dflt.kind = CG_AT_NONE;
            } else if (d[0] == '"') {
                a->dflt.kind = CG_AT_STR;
                size_t l = strlen(d);
                d[l - 1] = 0;
                a->dflt.s = pool_str(d + 1);
            } else if (a->type == CG_ARG_FLOAT || a->type == CG_ARG_FLOATS) {
                a->dflt.kind = CG_AT_FLOAT;
                a->dflt.f = strtod(d, NULL);
            } else {
                a->dflt.kind = CG_AT_INT;
                a->dflt.i = strtoll(d, NULL, 10);
                a->dflt.f = (double)a->dflt.i;
            }
        }
        a->slot = a->is_tensor ? s->ntensors++ : s->nattrs++;
        s->nargs++;
    }
    if (s->nattrs > CG_MAX_ATTRS) {
        snprintf(err, errlen, "too many attributes");
        return -1;
    }
    return 0;
}

const struct cg_op_def *cg_ops(void)
{
    if (!parsed) {
        for (int i = 0; i < CG_OP_COUNT; i++) {
            char err[128];
            if (cg_schema_parse(table[i].signature, &table[i].schema, err, sizeof err)) {
                fprintf(stderr, "clgraph: internal error: signature of %s: %s\n", table[i].name,
                        err);
                abort(); /* a programmer error in ops.def, caught by test_registry */
            }
        }
        parsed = 1;
    }
    return table;
}

int cg_op_find(const char *name)
{
    const struct cg_op_def *ops = cg_ops();
    for (int i = 0; i < CG_OP_COUNT; i++)
        if (!(ops[i].flags & CG_OPF_INTERNAL) && !strcmp(ops[i].name, name))
            return i;
    return -1;
}

int cg_op_find_any(const char *name)
{
    const struct cg_op_def *ops = cg_ops();
    for (int i = 0; i < CG_OP_COUNT; i++)
        if (!strcmp(ops[i].name, name))
            return i;
    return -1;
}

const char *cg_op_suggest(const char *name)
{
    const struct cg_op_def *ops = cg_ops();
    const char *best = NULL;
    int bestd = 3;
    for (int i = 0; i < CG_OP_COUNT; i++) {
        if (ops[i].flags & CG_OPF_INTERNAL)
            continue;
        int d = cg_edit_distance(name, ops[i].name, 2);
        if (d < bestd) {
            bestd = d;
            best = ops[i].name;
        }
    }
    return best;
}

/* ---- helpers for inference functions ---- */

enum cg_status cg_infer_fail(struct cg_infer *c, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cg_error_set(c->e, CG_ERR_INPUT, "%s:%d:%d: error: %s: %s", c->node->loc.file,
                        c->node->loc.line, c->node->loc.col, c->op->name, msg);
}

const struct cg_attr *cg_infer_attr(struct cg_infer *c, const char *name)
{
    const struct cg_schema *s = &c->op->schema;
    for (int i = 0; i < s->nargs; i++)
        if (!s->args[i].is_tensor && !strcmp(s->args[i].name, name))
            return &c->node->attrs[s->args[i].slot];
    fprintf(stderr, "clgraph: internal error: op %s has no attribute %s\n", c->op->name, name);
    abort();
}

int64_t cg_infer_int(struct cg_infer *c, const char *name)
{
    const struct cg_attr *a = cg_infer_attr(c, name);
    if (a->kind == CG_AT_FLOAT)
        return (int64_t)a->f;
    if (a->kind == CG_AT_INTS && a->n > 0)
        return a->ints[0];
    return a->i;
}

double cg_infer_float(struct cg_infer *c, const char *name)
{
    const struct cg_attr *a = cg_infer_attr(c, name);
    return a->kind == CG_AT_INT ? (double)a->i : a->f;
}

static char rot_bufs[8][256];
static int rot_next;

static char *rot_buf(void)
{
    char *b = rot_bufs[rot_next];
    rot_next = (rot_next + 1) % 8;
    return b;
}

/* cg_shape_str with the symbols of c->shown. */
static const char *shown_shape_str(struct cg_infer *c, const struct cg_shape *s,
                                   enum cg_dtype dt, int with_dtype)
{
    const struct cg_symtab *st = c->shown ? c->shown : &c->g->syms;
    return cg_shape_str_syms(st, s, dt, with_dtype, rot_buf(), 256);
}

const char *cg_infer_sstr(struct cg_infer *c, const struct cg_shape *s)
{
    return shown_shape_str(c, s, CG_F32, 0);
}

const char *cg_infer_tstr(struct cg_infer *c, int i)
{
    const struct cg_value *v = c->in[i];
    return shown_shape_str(c, &v->shape, v->dtype, 1);
}

const char *cg_infer_dstr(struct cg_infer *c, struct cg_dim d)
{
    return cg_dim_str(c->shown ? c->shown : &c->g->syms, d, rot_buf(), 256);
}

enum cg_status cg_infer_unify(struct cg_infer *c, struct cg_dim a, struct cg_dim b,
                              const char *what)
{
    if (cg_dim_unify(&c->g->syms, a, b) == 0)
        return CG_OK;
    return cg_infer_fail(c, "%s: %s vs %s", what, cg_infer_dstr(c, a), cg_infer_dstr(c, b));
}

enum cg_status cg_infer_const(struct cg_infer *c, struct cg_dim d, const char *what, int64_t *v)
{
    d = cg_dim_resolve(&c->g->syms, d);
    if (cg_dim_is_const(d, v))
        return CG_OK;
    return cg_infer_fail(c, "%s is %s, but must be a concrete size here (bind the symbol with "
                         "--bind or feed a concrete shape)", what, cg_infer_dstr(c, d));
}

enum cg_status cg_infer_axis(struct cg_infer *c, int64_t axis, int rank, int *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank ? rank : 1) || (rank == 0))
        return cg_infer_fail(c, "axis %lld is out of range for a tensor of %d dims (valid: %d to "
                             "%d)", (long long)axis, rank, -rank, rank - 1);
    *out = (int)a;
    return CG_OK;
}

enum cg_status cg_infer_broadcast(struct cg_infer *c, const struct cg_shape *a,
                                  const struct cg_shape *b, struct cg_shape *out)
{
    struct cg_shape r = {0};
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = r.rank - 1; i >= 0; i--) { /* trailing dims first, as PyTorch reports */
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        struct cg_dim da = ia >= 0 ? cg_dim_resolve(&c->g->syms, a->d[ia]) : cg_dim_const(1);
        struct cg_dim db = ib >= 0 ? cg_dim_resolve(&c->g->syms, b->d[ib]) : cg_dim_const(1);
        int64_t va, vb;
        int ca = cg_dim_is_const(da, &va), cb = cg_dim_is_const(db, &vb);
        if (ca && va == 1)
            r.d[i] = db;
        else if (cb && vb == 1)
            r.d[i] = da;
        else if (cg_dim_unify(&c->g->syms, da, db) == 0)
            r.d[i] = cg_dim_resolve(&c->g->syms, da);
        else
            return cg_infer_fail(c, "cannot broadcast %s with %s (dim %d: %s vs %s)",
                                 cg_infer_sstr(c, a), cg_infer_sstr(c, b), i - r.rank,
                                 cg_infer_dstr(c, da), cg_infer_dstr(c, db));
    }
    *out = r;
    return CG_OK;
}

enum cg_status cg_infer_rank(struct cg_infer *c, int i, int rank, const char *hint)
{
    if (c->in[i]->shape.rank == rank)
        return CG_OK;
    const struct cg_schema *s = &c->op->schema;
    const char *name = "input";
    for (int k = 0; k < s->nargs; k++)
        if (s->args[k].is_tensor && s->args[k].slot == i)
            name = s->args[k].name;
    return cg_infer_fail(c, "%s has %d dims (%s), expected %d%s%s", name, c->in[i]->shape.rank,
                         cg_infer_tstr(c, i), rank, hint ? " " : "", hint ? hint : "");
}

enum cg_status cg_infer_pair(struct cg_infer *c, const char *name, int64_t min, int64_t v[2])
{
    const struct cg_attr *a = cg_infer_attr(c, name);
    if (a->kind == CG_AT_NONE)
        return CG_OK;
    if (a->kind == CG_AT_INT) { /* a signature default */
        v[0] = v[1] = a->i;
    } else if (a->n == 1) {
        v[0] = v[1] = a->ints[0];
    } else if (a->n == 2) {
        v[0] = a->ints[0];
        v[1] = a->ints[1];
    } else {
        return cg_infer_fail(c, "%s must be an integer or a pair [h, w], got %d values", name,
                             a->n);
    }
    if (v[0] < min || v[1] < min)
        return cg_infer_fail(c, "%s must be >= %lld, got [%lld, %lld]", name, (long long)min,
                             (long long)v[0], (long long)v[1]);
    return CG_OK;
}

enum cg_status cg_infer_node(struct cg_graph *g, struct cg_node *n, struct cg_error *e)
{
    struct cg_infer c = {0};
    c.g = g;
    c.op = &cg_ops()[n->op];
    c.node = n;
    c.e = e;
    c.nin = n->ninputs;
    if (n->ninputs > (int)CG_ARRAY_LEN(c.in))
        return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: %s: too many inputs (%d)",
                            n->loc.file, n->loc.line, n->loc.col, c.op->name, n->ninputs);
    for (int i = 0; i < n->ninputs; i++)
        c.in[i] = n->inputs[i] >= 0 ? &g->values[n->inputs[i]] : NULL;
    c.out_dtype = CG_F32;
    struct cg_symtab before = g->syms;
    c.shown = &before;
    enum cg_status st = c.op->infer(&c);
    if (st != CG_OK) {
        g->syms = before; /* a failed node leaves no half-made unification behind */
        return st;
    }
    struct cg_value *out = &g->values[n->out];
    out->shape = c.out_shape;
    for (int i = 0; i < out->shape.rank; i++)
        out->shape.d[i] = cg_dim_resolve(&g->syms, out->shape.d[i]);
    out->dtype = c.out_dtype;
    return CG_OK;
}

enum cg_status cg_infer_none(struct cg_infer *c)
{
    return cg_infer_fail(c, "internal error: layer op has no inference of its own");
}
