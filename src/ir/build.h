/* build.h: the graph builder's interface for op expansions (the layer sugar in ops/layers.c).
 *
 * The builder walks the parsed program (build.c): it inlines every def call in a new scope,
 * matches call arguments against op signatures, creates nodes and infers their shapes, and
 * creates or shares parameters by their full names. Layer expansions use the two functions
 * below to create parameters and ordinary op nodes. */
#ifndef CG_BUILD_H
#define CG_BUILD_H

#include "ops/registry.h"

struct cg_builder;

/* A matched op call: its tensor inputs (value ids, -1 when absent) and attributes, by slot. */
struct cg_call {
    const struct cg_op_def *op;
    int op_id;
    int inputs[64];
    int ninputs;
    struct cg_attr attrs[CG_MAX_ATTRS];
    struct cg_loc loc;
};

/* Creates the parameter `<scope>.<layer><k>.<suffix>` (k counts `layer` in the current scope,
 * advanced by cg_build_next_layer), or `<scope>.<name>.<suffix>` when name is given; an existing
 * parameter of that name is shared when its shape matches, an error otherwise. */
enum cg_status cg_build_param(struct cg_builder *b, const char *prefix, const char *suffix,
                              const struct cg_shape *shape, struct cg_init init,
                              struct cg_loc loc, int *value);

/* Returns the name prefix for the next layer of kind `layer` ("conv", "dense", ...) in the
 * current scope: "<scope>.<layer><k>" (k then advances), or "<scope>.<name>" when name is not
 * NULL. The string lives in the graph's arena. */
const char *cg_build_layer_prefix(struct cg_builder *b, const char *layer, const char *name);

/* Enters a named sub-scope (e.g. mlp's name=) with fresh layer counters; cg_build_pop_scope
 * leaves it. */
enum cg_status cg_build_push_scope(struct cg_builder *b, const char *name);
void cg_build_pop_scope(struct cg_builder *b);

/* Creates a node of op `op_id` with the given inputs (value ids; -1 absent) and attributes by
 * name (pairs of schema name and value; unnamed attributes take their defaults), infers its
 * shape, and returns the output value id in *out. */
enum cg_status cg_build_node(struct cg_builder *b, int op_id, const int *inputs, int ninputs,
                             const char *const *attr_names, const struct cg_attr *attr_values,
                             int nattrs, struct cg_loc loc, int *out);

/* Is s a non-empty identifier ([A-Za-z_][A-Za-z0-9_]*), usable as a name= or scope=? */
int cg_is_simple_name(const char *s);

/* Creates an f32 scalar constant node. */
enum cg_status cg_build_const(struct cg_builder *b, double v, struct cg_loc loc, int *out);

/* A builder over an existing graph, for passes that add nodes (autodiff, optimizers): nodes are
 * appended with their shapes inferred, random nodes get fresh stream ids. NULL when out of
 * memory. cg_builder_close frees the builder, not the graph. */
struct cg_builder *cg_builder_open(struct cg_graph *g, struct cg_error *e);
void cg_builder_close(struct cg_builder *b);

/* Test hook: when allow is 1, graph text may call internal ops (unary_grad, conv2d_grad_w, ...)
 * so that tests can check gradient kernels directly. Off by default. */
void cg_build_allow_internal_ops(int allow);

/* The graph being built (for shapes of values) and the error being filled. */
struct cg_graph *cg_build_graph(struct cg_builder *b);
struct cg_error *cg_build_error(struct cg_builder *b);

#endif
