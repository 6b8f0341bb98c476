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
 * Conventions: every fallible function returns an enum cg_status and, on failure, fills the
 * struct cg_error it was given (a complete message; the library never prints or exits). Objects
 * are created by the _load and _open functions and released by _destroy and _close, which
 * accept NULL.
 *
 * Status: loading, binding and inspecting graphs, and opening devices, are implemented.
 * Executing graphs (forward, gradients, training steps) is being built; see docs/STATUS.md. */
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

#ifdef __cplusplus
}
#endif

#endif
