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
 * lowest offset that conflicts with no overlapping placed value. */
#ifndef CG_MEMPLAN_H
#define CG_MEMPLAN_H

#include "ir/graph.h"

struct cg_memplan {
    size_t *offset;      /* per value, in floats from the buffer start (aliases: their root's) */
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

void cg_memplan_free(struct cg_memplan *p);

/* Does node n's output share its first input's storage (views, in-place updates)? */
int cg_node_is_view(const struct cg_node *n);

/* Floats a value of n elements occupies (rounded up for alignment). */
size_t cg_memplan_slot(int64_t n);

#endif
