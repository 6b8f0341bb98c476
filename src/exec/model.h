/* model.h: the library's internal view of a struct cg_model (clgraph.h), for the trainer
 * (src/train): the compiled graph, its executor and where the forward pass ends. Not part of
 * the public API; implemented in api.c. */
#ifndef CG_MODEL_H
#define CG_MODEL_H

#include "exec/exec.h"

struct cg_model;

/* The model's graph (after the optimizer pass: optimizer state parameters flagged `state`). */
struct cg_graph *cg_model_graph(struct cg_model *m);

/* The model's executor (cg_exec_read / cg_exec_write / cg_exec_place on its values). */
struct cg_exec *cg_model_exec(struct cg_model *m);

/* Nodes [0, this) are the forward pass; the gradient and update nodes come after. */
size_t cg_model_forward_nodes(const struct cg_model *m);

#endif
