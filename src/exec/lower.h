/* lower.h: how one graph node becomes device work (the `lower` column of ops.def).
 *
 * The executor (exec.c) gives every value a place in the device arena, then calls each node's
 * lowering function with a struct cg_lower. The function emits launches, all prepared at compile
 * time: OpenCL kernels from the cl/ sources specialised with -D defines (sizes are compile-time
 * constants), or CLBlast GEMMs. Nothing is allocated or built while a step runs.
 *
 * Kernel argument convention: a tensor argument (CG_KA_VALUE) is passed as two kernel
 * arguments, `__global float *p` and `uint p_off` (in elements); the kernel starts with
 * `p += p_off;` (int tensors: cast to `__global int *`). Scratch memory (CG_KA_SCRATCH) is the
 * same pair pointing into a per-executor scratch region shared by all nodes (launches run in
 * order, so a node's scratch is free again after its last launch). Random kernels get three more
 * arguments appended by the executor at run time: `uint seed_lo, uint seed_hi, uint step`;
 * launches with a `runtime` function get the values it computes from the step (see below). */
#ifndef CG_LOWER_H
#define CG_LOWER_H

#include "ops/registry.h"

enum cg_karg_kind { CG_KA_VALUE, CG_KA_SCRATCH, CG_KA_INT, CG_KA_FLOAT };

struct cg_karg {
    enum cg_karg_kind kind;
    int value;        /* CG_KA_VALUE: value id */
    int64_t i;        /* CG_KA_INT; CG_KA_VALUE/SCRATCH: extra element offset */
    float f;          /* CG_KA_FLOAT */
};

#define CG_KV(v) ((struct cg_karg){.kind = CG_KA_VALUE, .value = (v)})
#define CG_KVO(v, off) ((struct cg_karg){.kind = CG_KA_VALUE, .value = (v), .i = (off)})
#define CG_KS(off) ((struct cg_karg){.kind = CG_KA_SCRATCH, .i = (off)})
#define CG_KI(x) ((struct cg_karg){.kind = CG_KA_INT, .i = (x)})
#define CG_KF(x) ((struct cg_karg){.kind = CG_KA_FLOAT, .f = (float)(x)})

struct cg_exec;

struct cg_lower {
    struct cg_exec *x;
    struct cg_graph *g;
    const struct cg_node *node;
    struct cg_error *e;
};

/* A kernel launch over dims (1..3) dimensions: global sizes gws (rounded up to multiples of lws
 * by the caller; kernels check bounds), local sizes lws (NULL: the driver chooses). `random`
 * appends the run-time seed/step arguments. */
struct cg_launch_desc {
    const char *source;  /* "elementwise.cl" */
    const char *kernel;  /* "ew_unary" */
    const char *defines; /* "-DN=100 -DOP=3" */
    int dims;
    size_t gws[3], lws[3];
    int has_lws;
    int random;
    /* Run-time arguments (optimizer steps): when set, every cg_exec_run calls
     * runtime(rt_consts, step, lr_scale, out) on the host (lr_scale: cg_exec_set_lr_scale) and
     * appends the n <= 4 values it fills (CG_KA_INT or CG_KA_FLOAT) after the other arguments;
     * nothing is allocated or waited for. */
    int (*runtime)(const double *rt_consts, uint64_t step, double lr_scale, struct cg_karg *out);
    double rt_consts[4];
};

enum cg_status cg_lower_kernel(struct cg_lower *l, const struct cg_launch_desc *d,
                               const struct cg_karg *args, int nargs);

/* A (strided-batched) row-major GEMM through CLBlast:
 * C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], for b < batch, with element offsets and
 * strides. Operands are values (or scratch when the value is -1: offsets are then scratch
 * offsets). */
struct cg_gemm_desc {
    int trans_a, trans_b;
    size_t m, n, k, lda, ldb, ldc;
    int a, b, c;                 /* value ids, -1 = scratch */
    size_t a_off, b_off, c_off;  /* elements */
    size_t a_stride, b_stride, c_stride, batch;
    float alpha, beta;
};

enum cg_status cg_lower_emit_gemm(struct cg_lower *l, const struct cg_gemm_desc *d);

/* Reserves `floats` elements of scratch for this node (the scratch region is the maximum over
 * nodes). */
enum cg_status cg_lower_scratch(struct cg_lower *l, size_t floats);

/* The device the executor compiles for (programs, and compile-time checks such as the GEMM
 * self-check of lower_gemm.c). */
struct cg_device *cg_lower_device(const struct cg_lower *l);

/* Shape helpers for lowering code: concrete dims and element counts of a value. */
int64_t cg_lower_dim(const struct cg_lower *l, int value, int axis);
int64_t cg_lower_numel(const struct cg_lower *l, int value);
const struct cg_shape *cg_lower_shape_of(const struct cg_lower *l, int value);
/* The node's attribute `name` (by schema name). */
const struct cg_attr *cg_lower_attr(const struct cg_lower *l, const char *name);
/* Fails with "file:line:col: error: OP: message" (CG_ERR_INPUT), for device limits or cases a
 * lowering does not support. */
enum cg_status cg_lower_fail(struct cg_lower *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fills d for a 1-D launch of `kernel` from cl/`source`: one work-item per element of n
 * (rounded up to the fixed local size CG_LWS; kernels check bounds). */
#define CG_LWS 64
void cg_launch_1d(struct cg_launch_desc *d, const char *source, const char *kernel,
                  const char *defines, int64_t n);

/* cg_launch_1d + cg_lower_kernel. */
enum cg_status cg_lower_kernel_1d(struct cg_lower *l, const char *source, const char *kernel,
                                  const char *defines, int64_t n, const struct cg_karg *args,
                                  int nargs);

/* The node's int-or-pair attribute `name` (stride, pad, ...: a CG_AT_INT default or CG_AT_INTS
 * of 1 or 2 entries) as [h, w]; an absent attribute leaves v unchanged. */
void cg_lower_attr_pair(const struct cg_lower *l, const char *name, int64_t v[2]);

/* Appends " -DNAME=VALUE" to a defines buffer (NUL-terminated, size n). */
void cg_defines_add(char *buf, size_t n, const char *name, long long value);
void cg_defines_addf(char *buf, size_t n, const char *name, double value);

#endif
