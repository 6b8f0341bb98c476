/* registry.h: the op registry, one table for the whole op library (ops.def).
 *
 * Every op is one line of ops.def: its name, its signature and its shape/dtype inference
 * function (and for the layer sugar, an expansion function instead). A signature is written as
 * the user sees it, e.g.
 *     "conv2d(x:f32, w:f32, b:f32?, stride:ints=1, pad:ints=0, dilation:ints=1, groups:int=1)"
 * and is parsed once into a schema: tensor arguments become the node's inputs (in order), the
 * others its attributes (in order). Argument types:
 *     tensor f32 i32   a tensor (any dtype / f32 / i32); a number literal becomes an f32 constant
 *     tensors          a list of tensors [a, b, ...]
 *     int float str    scalars
 *     ints floats      an int (float) or a list of them
 *     axes             an int, a list of ints, or absent (none)
 *     dims             a list of sizes: integers, symbols (N), products (N*8) and one -1
 * `?` marks an optional tensor, `=V` a default (`=none`: absent unless given). */
#ifndef CG_REGISTRY_H
#define CG_REGISTRY_H

#include "ir/graph.h"

enum cg_arg_type {
    CG_ARG_TENSOR,
    CG_ARG_F32,
    CG_ARG_I32,
    CG_ARG_TENSORS,
    CG_ARG_INT,
    CG_ARG_FLOAT,
    CG_ARG_STR,
    CG_ARG_INTS,
    CG_ARG_FLOATS,
    CG_ARG_AXES,
    CG_ARG_DIMS,
};

struct cg_arg_schema {
    char name[24];
    enum cg_arg_type type;
    int is_tensor;    /* tensor, f32, i32, tensors */
    int optional;     /* tensor marked ? */
    int required;     /* no default */
    struct cg_attr dflt;
    int slot;         /* input index (tensors) or attribute index (others) */
};

#define CG_MAX_ARGS 14

struct cg_schema {
    int nargs;
    struct cg_arg_schema args[CG_MAX_ARGS];
    int ntensors, nattrs;
};

struct cg_infer;
struct cg_builder;
struct cg_call;
struct cg_grad;  /* passes/grad.h */
struct cg_lower; /* exec/lower.h */

enum cg_op_flags {
    CG_OPF_NO_GRAD = 1, /* output is not differentiable (argmax, accuracy, random draws) */
    CG_OPF_RANDOM = 2,  /* draws random numbers (gets an rng id) */
    CG_OPF_LAYER = 4,   /* layer sugar: expands into params and other ops */
    CG_OPF_INTERNAL = 8, /* not callable from graph files */
    CG_OPF_INPLACE = 16  /* output shares input 0's storage, but the node computes (optimizer
                          * updates write p in place); see exec.c's storage loop */
};

struct cg_op_def {
    const char *name;
    const char *signature;
    enum cg_status (*infer)(struct cg_infer *ctx);
    enum cg_status (*expand)(struct cg_builder *b, struct cg_call *call, int *out);
    enum cg_status (*grad)(struct cg_grad *g);   /* gradient rule: emits nodes */
    enum cg_status (*lower)(struct cg_lower *l); /* device work for one node */
    int flags;
    struct cg_schema schema;
};

/* The op enum, generated from ops.def. */
enum cg_op_id {
#define CG_OP(id, sig, infer, expand, grad, lower, flags) CG_OP_##id,
#include "ops/ops.def"
#undef CG_OP
    CG_OP_COUNT
};

/* Returns the op table (parsed on first use; the signatures are compile-time constants, so a
 * parse failure is a programmer error reported by the registry test). */
const struct cg_op_def *cg_ops(void);
/* Finds an op by name; -1 when unknown. Internal ops are not found. */
int cg_op_find(const char *name);
/* Finds any op by name, internal ones included (tests of gradient kernels); -1 when unknown. */
int cg_op_find_any(const char *name);
/* The op closest in spelling to name (for "did you mean"), or NULL. */
const char *cg_op_suggest(const char *name);

/* Parses a signature string into a schema (also used for optimizer signatures). Returns 0, or -1
 * with a reason in err. */
int cg_schema_parse(const char *sig, struct cg_schema *s, char *err, size_t errlen);

/* What an inference function sees: the node's inputs, attributes and location; it sets out_shape
 * and out_dtype or fails through cg_infer_fail. */
struct cg_infer {
    struct cg_graph *g;
    const struct cg_op_def *op;
    struct cg_node *node;
    const struct cg_value *in[CG_MAX_ARGS + 64]; /* by input slot; NULL when absent */
    int nin;
    struct cg_shape out_shape;
    enum cg_dtype out_dtype;
    struct cg_error *e;
    /* The symbols as they were before this node: messages show shapes as the user wrote them,
     * not as a failed unification left them (N stays N in "cannot broadcast [N, 8] ..."). */
    const struct cg_symtab *shown;
};

/* Fails with "file:line:col: error: OP: message". Returns CG_ERR_INPUT. */
enum cg_status cg_infer_fail(struct cg_infer *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Attribute accessors by name (the name must exist in the op's signature). */
const struct cg_attr *cg_infer_attr(struct cg_infer *c, const char *name);
int64_t cg_infer_int(struct cg_infer *c, const char *name);
double cg_infer_float(struct cg_infer *c, const char *name);
/* Formats input i's type, e.g. "f32[N, 3, 28, 28]", into a rotating static buffer. */
const char *cg_infer_tstr(struct cg_infer *c, int i);
const char *cg_infer_sstr(struct cg_infer *c, const struct cg_shape *s);
const char *cg_infer_dstr(struct cg_infer *c, struct cg_dim d);
/* Unifies two dims; on failure reports "what: a vs b". */
enum cg_status cg_infer_unify(struct cg_infer *c, struct cg_dim a, struct cg_dim b,
                              const char *what);
/* Reads a dim that must be concrete (for sizes that arithmetic beyond polynomials uses). */
enum cg_status cg_infer_const(struct cg_infer *c, struct cg_dim d, const char *what, int64_t *v);
/* Normalises axis (negative counts from the end) for rank; fails when out of range. */
enum cg_status cg_infer_axis(struct cg_infer *c, int64_t axis, int rank, int *out);
/* NumPy broadcasting of two shapes into out; fails showing both. */
enum cg_status cg_infer_broadcast(struct cg_infer *c, const struct cg_shape *a,
                                  const struct cg_shape *b, struct cg_shape *out);
/* Reads an axes attribute (int, list or absent = all) into mask[rank]; fails on bad or repeated
 * axes. */
enum cg_status cg_infer_axes_mask(struct cg_infer *c, const char *attr, int rank, int *mask);
/* Requires input i to have the given rank (the hint names the dims, e.g. "(N,C,H,W)"). */
enum cg_status cg_infer_rank(struct cg_infer *c, int i, int rank, const char *hint);

/* Reads an int-or-pair attribute (stride, pad, ...) into v[2]; absent leaves v unchanged. Fails
 * below min or with more than two values. */
enum cg_status cg_infer_pair(struct cg_infer *c, const char *name, int64_t min, int64_t v[2]);

/* Runs the op's inference for node n, setting the output value's shape and dtype. */
enum cg_status cg_infer_node(struct cg_graph *g, struct cg_node *n, struct cg_error *e);

/* Inference functions, one group per family (ops/elementwise.c, reduce.c, shape.c, nn.c,
 * loss.c, random.c); named in ops.def. */
#define CG_OP(id, sig, infer, expand, grad, lower, flags)                                        \
    enum cg_status infer(struct cg_infer *c);                                                      \
    enum cg_status grad(struct cg_grad *g);                                                        \
    enum cg_status lower(struct cg_lower *l);
#include "ops/ops.def"
#undef CG_OP

/* Expansion of the layer sugar (ops/layers.c). */
enum cg_status cg_expand_conv(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_conv_t(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_dense(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_mlp(struct cg_builder *b, struct cg_call *call, int *out);

/* Expansion of the composite losses into primitive ops (ops/composite.c). */
enum cg_status cg_expand_mse(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_ssim(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_ms_ssim(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_kl_std_normal(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_info_nce(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_pairwise_sqdist(struct cg_builder *b, struct cg_call *call, int *out);
enum cg_status cg_expand_entropy(struct cg_builder *b, struct cg_call *call, int *out);

#endif
