/* exec.h: a bound graph compiled for one device, and running it.
 *
 * cg_exec_create gives every value a place in two device buffers, one for the parameters and
 * optimizer state (which executors of the same graph at other sizes can share:
 * cg_exec_create_shared) and one for every other value (aliases share their input's
 * place: reshape, flatten, squeeze, unsqueeze, stop_gradient, and the outputs of in-place
 * CG_OPF_INPLACE nodes such as optimizer updates), lowers every node into launches
 * (lower.h), builds every program and creates every kernel with its arguments set. cg_exec_run
 * then only enqueues: no allocation, no kernel build, no host synchronisation except what
 * cg_exec_read asks for. Parameters are initialised on the host from their initialisers and the
 * seed (cg_exec_init_params), so the same seed gives the same parameters on every device. */
#ifndef CG_EXEC_H
#define CG_EXEC_H

#include "ir/graph.h"

struct cg_device;
struct cg_exec;

/* Compiles g (all shapes concrete) for dev. The executor keeps pointers to g and dev, which
 * must outlive it. */
enum cg_status cg_exec_create(struct cg_graph *g, struct cg_device *dev, struct cg_exec **out,
                              struct cg_error *e);

/* cg_exec_create for a graph with the same parameters as share's graph (the same graph built
 * for other sizes): the new executor uses share's parameter buffer (parameters and optimizer
 * state; memplan.h's parameter region), so updates made through either are seen by both, with
 * no copy. share NULL: a buffer of its own, as cg_exec_create. The buffer lives until the last
 * executor using it is destroyed. A parameter layout that differs from share's is an error. */
enum cg_status cg_exec_create_shared(struct cg_graph *g, struct cg_device *dev,
                                     const struct cg_exec *share, struct cg_exec **out,
                                     struct cg_error *e);

void cg_exec_destroy(struct cg_exec *x);

/* Fills every parameter from its initialiser with the host generator keyed by (seed, parameter
 * index), so results do not depend on the device. */
enum cg_status cg_exec_init_params(struct cg_exec *x, uint64_t seed, struct cg_error *e);

/* Copies bytes of host data into value v (an input, a parameter, or any value); the size must
 * be the value's element count times 4. */
enum cg_status cg_exec_write(struct cg_exec *x, int v, const void *data, size_t bytes,
                             struct cg_error *e);

/* Copies value v to the host (blocking). */
enum cg_status cg_exec_read(struct cg_exec *x, int v, void *data, size_t bytes,
                            struct cg_error *e);

/* Enqueues every launch in order; random ops draw from streams keyed by (seed, step, op). */
enum cg_status cg_exec_run(struct cg_exec *x, uint64_t seed, uint64_t step, struct cg_error *e);

/* Enqueues only the launches of nodes [begin, end) (end is clamped to the node count), e.g. the
 * forward nodes without the gradient and update nodes that passes appended after them. */
enum cg_status cg_exec_run_nodes(struct cg_exec *x, uint64_t seed, uint64_t step, size_t begin,
                                 size_t end, struct cg_error *e);

/* Multiplies the lr of every optimizer update by scale from the next launch on (a host-side
 * kernel argument: no rebuild, no synchronisation); 1 when the executor is created. */
void cg_exec_set_lr_scale(struct cg_exec *x, double scale);

/* The device buffer and byte offset where value v lives (for the loader's non-blocking
 * uploads into input places, data/loader.h). */
void cg_exec_place(const struct cg_exec *x, int v, void **buf, size_t *offset);

/* Waits for the queue to drain. */
enum cg_status cg_exec_finish(struct cg_exec *x, struct cg_error *e);

/* Bytes of device memory the executor holds (values and scratch). */
size_t cg_exec_device_bytes(const struct cg_exec *x);

/* Profiling, for `clgraph bench --profile` (not thread-safe; one process-wide recorder):
 * after cg_exec_profile_start, every launch that cg_exec_run_nodes enqueues (any executor) keeps
 * an OpenCL event; cg_exec_profile_collect waits for them, calls cb once per launch in enqueue
 * order with its device time (CL_PROFILING_COMMAND_START..END), releases the events and stops
 * recording. The device must have been opened with CG_DEVICE_PROFILING. Recording allocates
 * and waits: use it only for diagnosis, never for the timed steps of a benchmark. */
struct cg_exec_prof {
    const char *op;     /* the node's op ("conv2d") */
    const char *kernel; /* the kernel name, "gemm" for a GEMM */
    const char *detail; /* kernel name, with "m.. n.. k.. b.." for a GEMM */
    const char *value;  /* the node's output value name ("" when it has none) */
    size_t node;
    int line, col;      /* where the graph file made the node */
    double ms;
};
void cg_exec_profile_start(void);
enum cg_status cg_exec_profile_collect(void (*cb)(void *ctx, const struct cg_exec_prof *p),
                                       void *ctx, struct cg_error *e);

/* Host-side initial values of parameter p (numel floats into out), as cg_exec_init_params. */
void cg_param_init_values(const struct cg_graph *g, size_t p, uint64_t seed, float *out);

#endif
