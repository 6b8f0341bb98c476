/* memplan.h: the memory plan of a bound graph: where each value lives on the device.
 *
 * Values fall into two regions of one address space. The persistent region holds what must
 * survive a run: parameters (and optimizer state) first, in parameter order (the parameter
 * region, which the executor keeps in a buffer of its own that every binding of a model
 * shares), then inputs and every value marked `keep` (outputs, metrics, top-level names,
 * objectives, and whatever a caller wants to read back, such as gradients). The arena holds
 * everything else, placed by liveness: a value lives from the node that computes it to its
 * last use (views and in-place updates extend the life of the storage they share), and values
 * whose lives do not overlap may share bytes. Placement is greedy, largest first, at the
 * lowest offset that conflicts with no overlapping placed value.
 *
 * In place where legal: an elementwise node (cl/elementwise.cl: work-item i reads element i of
 * a same-sized input and then writes element i of the output) writes into the storage of an
 * input of the output's size when that storage dies at the node: it is computed by the graph
 * (not an input or a parameter), holds no kept value, no later node reads any value stored
 * there, and no other input of the node is stored there (x * x may reuse x's storage). The
 * output then joins that storage, as a view does, and may itself be overwritten later. */
#ifndef CG_MEMPLAN_H
#define CG_MEMPLAN_H

#include "ir/graph.h"

struct cg_memplan {
    size_t *offset;      /* per value, in floats from the buffer start (aliases: their root's) */
    int *root;           /* per value, the value whose storage it uses (itself when its own) */
    size_t inplace;      /* elementwise outputs written over a dying input */
    size_t params;       /* floats of the parameter region at offset 0 (inside the persistent
                          * one): g->params in order, optimizer state included, so two graphs
                          * with the same parameters have the same parameter layout */
    size_t persistent;   /* floats in the persistent region (at offset 0) */
    size_t arena;        /* floats in the arena (after the persistent region) */
    size_t peak_live;    /* floats live at the busiest node, both regions */
    size_t unplanned;    /* floats a plan without reuse would need (for comparison) */
};

/* Plans g (all shapes concrete). Values with g->values[v].keep set are persistent, as are the
 * named ones listed above. On success free the plan with cg_memplan_free. */
enum cg_status cg_memplan_build(const struct cg_graph *g, struct cg_memplan *p,
                                struct cg_error *e);

/* cg_memplan_build with in-place writes of elementwise nodes (inplace 1, the default) or
 * without (0: for comparison, `clgraph check --memory`). */
enum cg_status cg_memplan_build_opts(const struct cg_graph *g, int inplace, struct cg_memplan *p,
                                     struct cg_error *e);

void cg_memplan_free(struct cg_memplan *p);

/* Does node n's output share its first input's storage (views, in-place updates)? */
int cg_node_is_view(const struct cg_node *n);

/* Is node n elementwise (an op of cl/elementwise.cl with inputs), so that its output may take
 * over the storage of a dying input of the same size? */
int cg_node_is_elementwise(const struct cg_node *n);

/* Floats a value of n elements occupies (rounded up for alignment). */
size_t cg_memplan_slot(int64_t n);

#endif
