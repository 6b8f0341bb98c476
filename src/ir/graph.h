/* graph.h: the intermediate representation: a dataflow graph of values and op nodes, with the
 * model's inputs, trainable parameters, outputs, metrics and objectives.
 *
 * The builder (build.c) creates it from a parsed program by inlining defs, naming parameters and
 * inferring every value's shape and dtype through the op registry (ops/registry.h). Values are
 * numbered in creation order, which is a topological order. All strings and arrays live in the
 * graph's arena; cg_graph_destroy frees everything. */
#ifndef CG_GRAPH_H
#define CG_GRAPH_H

#include "ir/dim.h"
#include "lang/ast.h"

struct cg_program;

struct cg_shape {
    int rank;
    struct cg_dim d[CG_MAX_RANK];
};

enum cg_value_kind { CG_V_INPUT, CG_V_PARAM, CG_V_NODE };

struct cg_value {
    enum cg_value_kind kind;
    enum cg_dtype dtype;
    struct cg_shape shape;
    int index;        /* input or param index, or the producing node */
    const char *name; /* a name for messages and outputs (may be NULL) */
    struct cg_loc loc;
    int keep; /* must survive a run (read back by the caller): see passes/memplan.h */
};

/* Attribute values of an op call, as matched against the op's signature. */
enum cg_attr_kind {
    CG_AT_NONE,   /* absent optional argument */
    CG_AT_INT,    /* i */
    CG_AT_FLOAT,  /* f */
    CG_AT_INTS,   /* ints[n] */
    CG_AT_FLOATS, /* floats[n] */
    CG_AT_STR,    /* s */
    CG_AT_DIMS,   /* dims[n]: a shape list; an entry with is_auto set stands for -1 */
};

struct cg_attr {
    enum cg_attr_kind kind;
    int64_t i;
    double f;
    int n;
    int64_t *ints;
    double *floats;
    const char *s;
    struct cg_dim *dims;
    int auto_index; /* for DIMS: index of the -1 entry, or -1 */
    int was_list;   /* given as a list rather than a scalar */
};

#define CG_MAX_ATTRS 12

struct cg_node {
    int op;      /* index into the op registry */
    int *inputs; /* value ids; -1 for an absent optional tensor */
    int ninputs;
    struct cg_attr attrs[CG_MAX_ATTRS]; /* by position among the signature's non-tensor args */
    int out;                            /* the value this node produces */
    uint32_t rng_id;                    /* distinct per random node (counter-based streams) */
    struct cg_loc loc;
};

enum cg_init_kind {
    CG_INIT_ZEROS,
    CG_INIT_ONES,
    CG_INIT_CONSTANT, /* a */
    CG_INIT_NORMAL,   /* std = a, mean = b */
    CG_INIT_UNIFORM,  /* lo = a, hi = b */
    CG_INIT_KAIMING_UNIFORM, /* a = a; bound = sqrt(6 / ((1 + a^2) fan_in)) */
    CG_INIT_XAVIER_UNIFORM,  /* bound = sqrt(6 / (fan_in + fan_out)) */
};

struct cg_init {
    enum cg_init_kind kind;
    double a, b;
};

struct cg_param {
    const char *name; /* full name, e.g. "tn.conv0.w" */
    enum cg_dtype dtype;
    struct cg_shape shape; /* always concrete */
    struct cg_init init;
    int value;
    struct cg_loc loc;
    int state; /* optimizer state (passes/optim.c): zero-initialised, not trainable */
};

struct cg_input {
    const char *name;
    int value;
    struct cg_loc loc;
    struct cg_shape decl; /* as declared: symbols unresolved (binding other input shapes) */
};

/* A named value: an output or a metric. */
struct cg_named {
    const char *name;
    int value;
    struct cg_loc loc;
};

/* An optimizer choice: name and its arguments after defaults were applied. */
struct cg_optim {
    const char *name; /* NULL: the run's optimizer */
    int nargs;
    const char *arg_names[8];
    double arg_values[8];
};

struct cg_objective {
    int value; /* scalar f32 */
    const char *text; /* the minimized expression as written, for summaries */
    const char **patterns;
    int npatterns;
    int *params; /* selected parameters, in declaration order */
    int nparams;
    struct cg_optim optim;
    struct cg_loc loc;
    int every, offset; /* `every K offset J`: gradient and update only on steps t (0-based)
                          with t mod K == J (1 and 0: every step) */
};

struct cg_graph {
    struct cg_arena arena;
    struct cg_symtab syms;
    struct cg_value *values;
    size_t nvalues, cap_values;
    struct cg_node *nodes;
    size_t nnodes, cap_nodes;
    struct cg_param *params;
    size_t nparams, cap_params;
    struct cg_input *inputs;
    size_t ninputs, cap_inputs;
    struct cg_named *outputs;
    size_t noutputs, cap_outputs;
    struct cg_named *metrics;
    size_t nmetrics, cap_metrics;
    struct cg_objective *objectives;
    size_t nobjectives, cap_objectives;
    struct cg_named *vars; /* top-level names bound to tensors at the end of the file */
    size_t nvars, cap_vars;
    const char *path;         /* the main file */
    struct cg_program *prog;  /* the parsed sources (names and locations point into them) */
    int prog_borrowed;        /* prog belongs to another graph (cg_graph_rebuild) */
};

/* Builds the graph of the program whose main file is `path` (parse, import, inline, infer).
 * On success *out owns a new graph; on failure *out is NULL and e holds the first error. */
enum cg_status cg_graph_load(const char *path, struct cg_graph **out, struct cg_error *e);

/* A symbol's size given before the graph is built (clgraph check --bind N=64). */
struct cg_binding {
    const char *name;
    int64_t value;
};

/* cg_graph_load with symbols bound as soon as an input declares them, so that ops needing
 * concrete sizes (strided convolutions on a symbolic side, slices) see them; then every binding
 * is checked (unknown symbol, conflict) and shapes are re-inferred. */
enum cg_status cg_graph_load_bound(const char *path, const struct cg_binding *binds, int nbinds,
                                   struct cg_graph **out, struct cg_error *e);

/* Same, from text (imports resolve relative to path's directory). */
enum cg_status cg_graph_load_text(const char *path, const char *text, size_t len,
                                  struct cg_graph **out, struct cg_error *e);

/* Builds a new graph from the program g was built from (no file is read again), with the
 * symbols bound as cg_graph_load_bound does: the same graph for other sizes. The new graph
 * borrows g's parsed program (names and locations point into it), so g must outlive it. */
enum cg_status cg_graph_rebuild(const struct cg_graph *g, const struct cg_binding *binds,
                                int nbinds, struct cg_graph **out, struct cg_error *e);

void cg_graph_destroy(struct cg_graph *g);

/* Binds symbol `name` to value v (from --bind or a feed). Errors: unknown symbol (with the known
 * ones), a value < 1, or a conflict with an earlier binding. Call cg_graph_reinfer afterwards. */
enum cg_status cg_graph_bind(struct cg_graph *g, const char *name, int64_t v, struct cg_error *e);

/* Re-runs shape inference over every node in order with the current symbol bindings, so that all
 * shapes become concrete when all symbols are bound; reports shape errors that only show with
 * concrete sizes. */
enum cg_status cg_graph_reinfer(struct cg_graph *g, struct cg_error *e);

/* The value named `name`: an input, a parameter (full name), an output, a metric, or a
 * top-level assigned name (its last binding); -1 when none. */
int cg_graph_find_value(const struct cg_graph *g, const char *name);

/* Element count of a concrete shape (1 for rank 0); -1 when a dimension is symbolic. */
int64_t cg_shape_numel(const struct cg_graph *g, const struct cg_shape *s);

/* Formats "f32[N, 3, 28, 28]" (dtype included when with_dtype) into buf; returns buf. */
const char *cg_shape_str(const struct cg_graph *g, const struct cg_shape *s, enum cg_dtype dt,
                         int with_dtype, char *buf, size_t n);

/* cg_shape_str with an explicit symbol table (NULL: symbols unresolved). */
const char *cg_shape_str_syms(const struct cg_symtab *st, const struct cg_shape *s,
                              enum cg_dtype dt, int with_dtype, char *buf, size_t n);

/* Formats an initialiser, e.g. "kaiming_uniform(a=2.23607)", into buf; returns buf. */
const char *cg_init_str(const struct cg_init *init, char *buf, size_t n);

/* Does pattern (e.g. "enc", "clf.*", "*.b") select the parameter named `name`? A pattern without
 * a wildcard selects the name itself and everything under "pattern.". */
int cg_pattern_match(const char *pattern, const char *name);

#endif
