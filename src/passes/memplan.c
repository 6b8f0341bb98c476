/* memplan.c: liveness-based memory planning (see memplan.h). */
#include "passes/memplan.h"

#include <stdlib.h>
#include <string.h>

#include "ops/registry.h"

#define ALIGN_FLOATS 32 /* 128-byte alignment of every value's offset */

int cg_node_is_view(const struct cg_node *n)
{
    const struct cg_op_def *op = &cg_ops()[n->op];
    return op->lower == cg_lower_alias || (op->flags & CG_OPF_INPLACE);
}

int cg_node_is_elementwise(const struct cg_node *n)
{
    return cg_ops()[n->op].lower == cg_lower_ew && n->ninputs > 0;
}

/* The input of elementwise node k (output v) whose storage v can take over, or -1: an input
 * of v's size computed by the graph (not an input or parameter), whose storage holds no kept
 * value, is read by no node after k and by no other input of node k (grp_last and grp_keep
 * describe the storage groups formed so far). */
static int inplace_input(const struct cg_graph *g, int v, const int *root, const long *grp_last,
                         const char *grp_keep)
{
    const struct cg_value *val = &g->values[v];
    const struct cg_node *n = &g->nodes[val->index];
    int64_t nv = cg_shape_numel(g, &val->shape);
    for (int i = 0; i < n->ninputs; i++) {
        int u = n->inputs[i];
        if (u < 0)
            continue;
        int r = root[u];
        if (g->values[r].kind != CG_V_NODE || grp_keep[r] || grp_last[r] != (long)val->index ||
            g->values[u].dtype != val->dtype || cg_shape_numel(g, &g->values[u].shape) != nv ||
            cg_shape_numel(g, &g->values[r].shape) != nv)
            continue;
        int shared = 0;
        for (int j = 0; j < n->ninputs; j++)
            shared |= n->inputs[j] >= 0 && n->inputs[j] != u && root[n->inputs[j]] == r;
        if (!shared)
            return u;
    }
    return -1;
}

size_t cg_memplan_slot(int64_t n)
{
    return ((size_t)(n > 0 ? n : 1) + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

struct item {
    int v;
    size_t size;
    long first, last; /* node indices */
};

static int by_size_desc(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->v - y->v;
}

struct span {
    size_t lo, hi;
};

static int by_lo(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void cg_memplan_free(struct cg_memplan *p)
{
    cg_free(p->offset);
    cg_free(p->root);
    memset(p, 0, sizeof *p);
}

enum cg_status cg_memplan_build(const struct cg_graph *g, struct cg_memplan *p,
                                struct cg_error *e)
{
    return cg_memplan_build_opts(g, 1, p, e);
}

enum cg_status cg_memplan_build_opts(const struct cg_graph *g, int inplace, struct cg_memplan *p,
                                     struct cg_error *e)
{
    memset(p, 0, sizeof *p);
    size_t nv = g->nvalues;
    int *root = cg_malloc((nv ? nv : 1) * sizeof *root);
    char *keep = cg_calloc(nv ? nv : 1, 1);
    long *first = cg_malloc((nv ? nv : 1) * sizeof *first);
    long *last = cg_malloc((nv ? nv : 1) * sizeof *last);
    long *lastv = cg_malloc((nv ? nv : 1) * sizeof *lastv);
    struct item *items = cg_malloc((nv ? nv : 1) * sizeof *items);
    struct span *spans = cg_malloc((nv ? nv : 1) * sizeof *spans);
    p->offset = cg_calloc(nv ? nv : 1, sizeof *p->offset);
    p->root = cg_malloc((nv ? nv : 1) * sizeof *p->root);
    enum cg_status st = CG_OK;
    if (!root || !keep || !first || !last || !lastv || !items || !spans || !p->offset ||
        !p->root) {
        st = cg_error_nomem(e);
        goto error;
    }
    /* what must persist, and the last node reading each value */
    for (size_t v = 0; v < nv; v++) {
        const struct cg_value *val = &g->values[v];
        keep[v] = val->kind != CG_V_NODE || val->keep;
        first[v] = val->kind == CG_V_NODE ? (long)val->index : -1;
        lastv[v] = first[v];
    }
    for (size_t i = 0; i < g->noutputs; i++)
        keep[g->outputs[i].value] = 1;
    for (size_t i = 0; i < g->nmetrics; i++)
        keep[g->metrics[i].value] = 1;
    for (size_t i = 0; i < g->nvars; i++)
        keep[g->vars[i].value] = 1;
    for (size_t i = 0; i < g->nobjectives; i++)
        keep[g->objectives[i].value] = 1;
    for (size_t k = 0; k < g->nnodes; k++) {
        const struct cg_node *n = &g->nodes[k];
        for (int i = 0; i < n->ninputs; i++)
            if (n->inputs[i] >= 0 && lastv[n->inputs[i]] < (long)k)
                lastv[n->inputs[i]] = (long)k;
    }
    /* storage groups, in value (topological) order: views and in-place updates join their
     * input's, an elementwise node may take over a dying input's; a group lives from its root's
     * node to the last node reading any member (last[]), and persists when a member is kept
     * (keep[] of the root) */
    for (size_t v = 0; v < nv; v++) {
        const struct cg_value *val = &g->values[v];
        int u = -1;
        root[v] = (int)v;
        last[v] = lastv[v];
        if (val->kind == CG_V_NODE && cg_node_is_view(&g->nodes[val->index]))
            root[v] = root[g->nodes[val->index].inputs[0]];
        else if (inplace && val->kind == CG_V_NODE && !keep[v] &&
                 cg_node_is_elementwise(&g->nodes[val->index]) &&
                 (u = inplace_input(g, (int)v, root, last, keep)) >= 0) {
            root[v] = root[u];
            p->inplace++;
        }
        int r = root[v];
        if (r != (int)v) {
            keep[r] |= keep[v];
            if (last[r] < lastv[v])
                last[r] = lastv[v];
        }
    }
    size_t nitems = 0, pers = 0;
    for (size_t i = 0; i < g->nparams; i++) { /* the parameter region, in parameter order */
        int v = g->params[i].value;
        size_t sz = cg_memplan_slot(cg_shape_numel(g, &g->params[i].shape));
        p->offset[v] = pers;
        pers += sz;
        p->unplanned += sz;
    }
    p->params = pers;
    for (size_t v = 0; v < nv; v++) {
        const struct cg_value *val = &g->values[v];
        if (root[v] != (int)v && !cg_node_is_view(&g->nodes[val->index])) /* in place */
            p->unplanned += cg_memplan_slot(cg_shape_numel(g, &val->shape));
        if (root[v] != (int)v || val->kind == CG_V_PARAM)
            continue;
        int64_t n = cg_shape_numel(g, &g->values[v].shape);
        if (n < 0) {
            st = cg_error_set(e, CG_ERR_INPUT, "error: cannot plan memory: a value has a "
                              "symbolic shape (bind every symbol first)");
            goto error;
        }
        size_t sz = cg_memplan_slot(n);
        p->unplanned += sz;
        if (keep[v]) {
            p->offset[v] = pers;
            pers += sz;
        } else {
            items[nitems++] = (struct item){(int)v, sz, first[v], last[v]};
        }
    }
    p->persistent = pers;
    qsort(items, nitems, sizeof *items, by_size_desc);
    size_t top = 0;
    for (size_t i = 0; i < nitems; i++) {
        size_t ns = 0;
        for (size_t j = 0; j < i; j++) /* placed values alive at the same time */
            if (items[j].first <= items[i].last && items[i].first <= items[j].last)
                spans[ns++] = (struct span){p->offset[items[j].v],
                                            p->offset[items[j].v] + items[j].size};
        qsort(spans, ns, sizeof *spans, by_lo);
        size_t at = pers;
        for (size_t j = 0; j < ns; j++) {
            if (spans[j].lo >= at + items[i].size)
                break;
            if (spans[j].hi > at)
                at = spans[j].hi;
        }
        p->offset[items[i].v] = at;
        if (at + items[i].size > top)
            top = at + items[i].size;
    }
    p->arena = top > pers ? top - pers : 0;
    /* peak live floats over the nodes */
    for (size_t k = 0; k < g->nnodes; k++) {
        size_t live = pers;
        for (size_t i = 0; i < nitems; i++)
            if (items[i].first <= (long)k && (long)k <= items[i].last)
                live += items[i].size;
        if (live > p->peak_live)
            p->peak_live = live;
    }
    if (!g->nnodes)
        p->peak_live = pers;
    for (size_t v = 0; v < nv; v++) {
        p->offset[v] = p->offset[root[v]];
        p->root[v] = root[v];
    }
error:
    cg_free(lastv);
    cg_free(root);
    cg_free(keep);
    cg_free(first);
    cg_free(last);
    cg_free(items);
    cg_free(spans);
    if (st != CG_OK)
        cg_memplan_free(p);
    return st;
}
