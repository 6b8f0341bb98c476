/* api.c: the graph inspection functions of the public API (cg_graph_count, cg_graph_describe in
 * include/clgraph/clgraph.h) over the internal graph of graph.h. */
#include <stdio.h>
#include <string.h>

#include "ir/graph.h"

size_t cg_graph_count(const struct cg_graph *g, enum cg_graph_kind kind)
{
    switch (kind) {
    case CG_INPUTS: return g->ninputs;
    case CG_PARAMS: return g->nparams;
    case CG_OUTPUTS: return g->noutputs;
    case CG_METRICS: return g->nmetrics;
    case CG_OBJECTIVES: return g->nobjectives;
    }
    return 0;
}

int cg_graph_describe(const struct cg_graph *g, enum cg_graph_kind kind, size_t i,
                      struct cg_tensor_desc *d)
{
    if (i >= cg_graph_count(g, kind))
        return -1;
    int value;
    memset(d, 0, sizeof *d);
    switch (kind) {
    case CG_INPUTS: d->name = g->inputs[i].name; value = g->inputs[i].value; break;
    case CG_PARAMS: d->name = g->params[i].name; value = g->params[i].value; break;
    case CG_OUTPUTS: d->name = g->outputs[i].name; value = g->outputs[i].value; break;
    case CG_METRICS: d->name = g->metrics[i].name; value = g->metrics[i].value; break;
    default: d->name = g->objectives[i].text; value = g->objectives[i].value; break;
    }
    const struct cg_value *v = &g->values[value];
    d->is_int = v->dtype == CG_I32;
    d->rank = v->shape.rank;
    for (int k = 0; k < v->shape.rank; k++) {
        int64_t n;
        d->dims[k] = cg_dim_is_const(cg_dim_resolve(&g->syms, v->shape.d[k]), &n) ? n : -1;
    }
    d->numel = cg_shape_numel(g, &v->shape);
    cg_shape_str(g, &v->shape, v->dtype, 1, d->shape_text, sizeof d->shape_text);
    return 0;
}
