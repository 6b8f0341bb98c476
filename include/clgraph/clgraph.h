/* clgraph.h: the public C API of clgraph, for embedding it in other programs.
 *
 * clgraph compiles a model written in a .graph file (see docs/LANGUAGE.md) into a dataflow
 * graph and runs it on an OpenCL device. This header is the whole API; it needs no OpenCL
 * headers. Link with -lclgraph (static: also -lOpenCL -lclblast -ljpeg -lz -lm -lpthread).
 *
 * A first program:
 *
 *     #include <clgraph/clgraph.h>
 *     #include <stdio.h>
 *
 *     int main(void) {
 *         struct cg_error e;
 *         struct cg_graph *g;
 *         if (cg_graph_load("graphs/cim.graph", &g, &e) != CG_OK) {   // parse + shape-check
 *             fprintf(stderr, "%s\n", e.msg);                        // file:line:col: error:
 *             return 1;
 *         }
 *         if (cg_graph_bind(g, "N", 64, &e) || cg_graph_reinfer(g, &e)) { ... }
 *         for (size_t i = 0; i < cg_graph_count(g, CG_PARAMS); i++) {
 *             struct cg_tensor_desc d;
 *             cg_graph_describe(g, CG_PARAMS, i, &d);               // "tn.conv0.w" f32[16,3,3,3]
 *             printf("%s %lld values\n", d.name, (long long)d.numel);
 *         }
 *         cg_graph_destroy(g);
 *
 *         struct cg_device *dev;                                      // NULL: CLGRAPH_DEVICE,
 *         if (cg_device_open(NULL, 0, &dev, &e) == CG_OK)             // else first GPU, else
 *             cg_device_close(dev);                                   // PoCL's CPU device
 *     }
 *
 * Training it (a model = a graph compiled for a device, with its parameters and optimizer
 * state on the device):
 *
 *     struct cg_input_shape shapes[] = {{"x", 2, {64, 784}}, {"y", 1, {64}}};  // binds N = 64
 *     struct cg_model_options o = {shapes, 2, 1, "adam(lr=1e-3)", 42}; // train, default opt, seed
 *     struct cg_model *m;
 *     if (cg_model_compile(g, dev, &o, &m, &e) != CG_OK) { ... }     // m now owns g
 *     cg_model_set(m, "x", xs, sizeof xs, &e);                       // inputs (or params) by name
 *     cg_model_set(m, "y", ys, sizeof ys, &e);
 *     for (int k = 0; k < 100; k++)
 *         cg_model_step(m, &e);            // forward, every objective's gradient, every update
 *     cg_model_forward(m, &e);                                      // the model after 100 steps
 *     float loss;
 *     cg_model_get(m, "loss", &loss, sizeof loss, &e);               // any named value
 *     cg_model_save(m, "ckpt", &e);                                  // ckpt/clf.dense0.w.npy ...
 *     cg_model_destroy(m);
 *
 * Conventions: every fallible function returns an enum cg_status and, on failure, fills the
 * struct cg_error it was given (a complete message; the library never prints or exits). Objects
 * are created by the _load and _open functions and released by _destroy and _close, which
 * accept NULL.
 *
 * Status: loading, binding and inspecting graphs, opening devices, and compiling and running
 * models (forward passes, training steps with sgd/adam/adamw) are implemented; ops whose family
 * has not landed yet fail at compile time with the op's location; see docs/STATUS.md. */
#ifndef CLGRAPH_H
#define CLGRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a fallible call. INPUT and DEVICE are also the CLI's exit codes. */
enum cg_status {
    CG_OK = 0,
    CG_ERR_INPUT = 1,  /* bad graph, data or usage: the user can fix it */
    CG_ERR_DEVICE = 2, /* OpenCL or runtime failure */
    CG_ERR_NOMEM = 3,  /* host allocation failed */
};

/* An error: the status and a complete, human-readable message. */
struct cg_error {
    enum cg_status status;
    char msg[4096];
};

/* "0.1.0 (git abc1234)". */
const char *cg_version(void);

/* ---- Graphs -------------------------------------------------------------------------- */

struct cg_graph; /* a parsed, expanded and shape-checked graph */

/* Loads the graph file at path and the files it imports, inlines defs, creates parameters and
 * infers every shape. On success the caller owns *out (cg_graph_destroy). */
enum cg_status cg_graph_load(const char *path, struct cg_graph **out, struct cg_error *e);

/* The same from text in memory; imports resolve relative to the directory of path. */
enum cg_status cg_graph_load_text(const char *path, const char *text, size_t len,
                                  struct cg_graph **out, struct cg_error *e);

/* Binds the symbol `name` (e.g. "N") to a size; call cg_graph_reinfer after the last bind. */
enum cg_status cg_graph_bind(struct cg_graph *g, const char *name, int64_t v, struct cg_error *e);

/* Re-infers every shape with the current bindings (all concrete once every symbol is bound). */
enum cg_status cg_graph_reinfer(struct cg_graph *g, struct cg_error *e);

void cg_graph_destroy(struct cg_graph *g);

/* What a graph declares, by kind. */
enum cg_graph_kind { CG_INPUTS, CG_PARAMS, CG_OUTPUTS, CG_METRICS, CG_OBJECTIVES };

/* A declared tensor. dims[i] is -1 where the size is still symbolic (shape_text shows it). */
struct cg_tensor_desc {
    const char *name;  /* full name ("clf.dense0.w"); for objectives the minimized expression */
    int is_int;        /* 1 for i32, 0 for f32 */
    int rank;
    int64_t dims[8];
    int64_t numel;     /* -1 when symbolic */
    char shape_text[256]; /* "f32[N, 3, 28, 28]" */
};

/* Number of declared items of a kind. */
size_t cg_graph_count(const struct cg_graph *g, enum cg_graph_kind kind);

/* Describes item i (< cg_graph_count) of a kind into *d; returns 0, or -1 when i is out of
 * range. Strings stay valid until the graph is destroyed. */
int cg_graph_describe(const struct cg_graph *g, enum cg_graph_kind kind, size_t i,
                      struct cg_tensor_desc *d);

/* ---- Devices ------------------------------------------------------------------------- */

struct cg_device; /* an OpenCL device with its context, queue and program caches */

/* Opens the device chosen by selector: a device index or a case-insensitive substring of the
 * platform or device name; NULL means env CLGRAPH_DEVICE, else the first GPU, else PoCL's CPU
 * device. flags: 0, or 1 for a profiling queue. No OpenCL platform: CG_ERR_DEVICE; no match:
 * CG_ERR_INPUT listing the devices. */
enum cg_status cg_device_open(const char *selector, unsigned flags, struct cg_device **dev,
                              struct cg_error *e);

void cg_device_close(struct cg_device *dev);

/* ---- Models: running graphs --------------------------------------------------------- */

struct cg_model; /* a graph compiled for a device: parameters, optimizer state, launches */

/* The shape of an input, to bind the symbols of its declaration (N in f32[N, 784]). */
struct cg_input_shape {
    const char *name;
    int rank;
    int64_t dims[8];
};

struct cg_model_options {
    const struct cg_input_shape *shapes; /* bind symbols; may be NULL if the graph is bound */
    int nshapes;
    int train;             /* 1: add gradients and optimizer updates (cg_model_step) */
    const char *optimizer; /* for objectives without `with`, as in a graph: "sgd(lr=0.1)";
                            * NULL: adam(lr=1e-3) */
    uint64_t seed;         /* parameter initialisation and random ops */
    double clip_grad;      /* > 0: clip each objective's gradients to this total L2 norm before
                            * its update, as torch.nn.utils.clip_grad_norm_(params, clip_grad)
                            * (factor min(1, clip_grad / (norm + 1e-6)), computed on the device);
                            * 0: no clipping */
};

/* Binds g's symbols from opt->shapes, adds the training nodes when opt->train (for every
 * minimize statement: its gradient w.r.t. its parameters; then its optimizer's update, PyTorch's
 * rules), compiles everything for dev (all device programs are built here) and initialises the
 * parameters from their initialisers and the seed (optimizer state: zeros). On success the model
 * owns g (do not destroy it; it is changed by the passes) and dev must outlive the model; on
 * failure g still belongs to the caller. opt NULL: no shapes, no training, seed 0. */
enum cg_status cg_model_compile(struct cg_graph *g, struct cg_device *dev,
                                const struct cg_model_options *opt, struct cg_model **out,
                                struct cg_error *e);

void cg_model_destroy(struct cg_model *m);

/* Selects the schedule for other input shapes: the symbols that the given inputs' declared
 * shapes name take the given sizes (inputs not listed keep their sizes; e.g. only "x" with
 * N = 5 for evaluation's last partial batch of a model compiled at N = 64). The first use of
 * a binding compiles it (graph passes, memory plan, device programs) and keeps it; later uses
 * only switch. Every schedule shares the model's parameters and optimizer state (one device
 * buffer, no copy on a switch) and the step counter; its inputs and computed values are its
 * own, so set the inputs after a switch. cg_model_set/get/get_grad/forward/step then act on the
 * selected schedule; the shapes given to cg_model_compile select the first one again. Errors
 * (CG_ERR_INPUT, the selection unchanged): an unknown input, a rank or a fixed dimension that
 * differs from the declaration, two inputs giving one symbol different sizes, a graph that does
 * not shape-check at those sizes, or a parameter whose shape depends on a symbol that changes. */
enum cg_status cg_model_bind(struct cg_model *m, const struct cg_input_shape *shapes,
                             int nshapes, struct cg_error *e);

/* Number of schedules compiled so far (1 after cg_model_compile; cg_model_bind adds one per
 * new binding). */
size_t cg_model_schedules(const struct cg_model *m);

/* Copies bytes of host data (f32 or i32, C order, element count x 4 bytes) into the input or
 * parameter called name (parameters by full name, "clf.dense0.w"). */
enum cg_status cg_model_set(struct cg_model *m, const char *name, const void *data, size_t bytes,
                            struct cg_error *e);

/* Copies the current value of name to the host (blocking): an input, a parameter, an output, a
 * metric, a top-level name of the graph, or optimizer state ("w:exp_avg", "w:exp_avg_sq",
 * "w:momentum_buffer"). Values computed by the graph hold what the last forward pass or step
 * computed. */
enum cg_status cg_model_get(struct cg_model *m, const char *name, void *data, size_t bytes,
                            struct cg_error *e);

/* Copies the gradient of trainable parameter name as the last cg_model_step computed it (from
 * the first objective that selects and reaches it, before clipping; zeros when no objective
 * reaches it). An objective that alternates (`every K`) computes it only at its own steps: the
 * value is then that of its last active step. */
enum cg_status cg_model_get_grad(struct cg_model *m, const char *name, float *data, size_t bytes,
                                 struct cg_error *e);

/* Runs the forward pass (no update) and waits for it. */
enum cg_status cg_model_forward(struct cg_model *m, struct cg_error *e);

/* Enqueues one training step: the forward pass, the gradient of every objective active at this
 * step (all from the same forward values), then their updates in file order. An objective
 * written `minimize ... every K offset J` is active at the steps t (counted from 0 over all
 * calls) with t mod K == J; without the clause at every step. Does not wait: cg_model_get
 * waits for what it reads. Each objective's optimizer counts its own updates (Adam's bias
 * correction t = 1 at its first update). */
enum cg_status cg_model_step(struct cg_model *m, struct cg_error *e);

/* Multiplies every objective's configured lr by scale from the next cg_model_step on (a learning
 * rate schedule sets it before each step; 1 at compile time). scale must be finite and >= 0
 * (else CG_ERR_INPUT). Costs no device work: the value reaches the update kernels as an
 * argument. */
enum cg_status cg_model_set_lr_scale(struct cg_model *m, double scale, struct cg_error *e);

/* Training steps run so far. */
uint64_t cg_model_steps(const struct cg_model *m);

/* Sets the step counter (the next cg_model_step is step `step`: each objective's update count,
 * hence Adam's t, derives from it, random ops are keyed by (seed, step)): restoring it with the
 * parameters and optimizer state from a checkpoint makes a resumed run continue bit-identically
 * (src/train/checkpoint.h). */
void cg_model_set_steps(struct cg_model *m, uint64_t step);

/* Writes every trainable parameter to DIR/<full name>.npy (float32, its shape; the directory
 * must exist). Optimizer state and the step count are not saved: the safetensors checkpoint
 * format (issue 6) will hold them. */
enum cg_status cg_model_save(struct cg_model *m, const char *dir, struct cg_error *e);

/* Reads every trainable parameter from DIR/<full name>.npy (as cg_model_save writes them);
 * a missing file or a shape mismatch is an error (parameters read before it keep their value). */
enum cg_status cg_model_load(struct cg_model *m, const char *dir, struct cg_error *e);

#ifdef __cplusplus
}
#endif

#endif
