/* runtime.h: the OpenCL runtime of clgraph.
 *
 * Everything below the schedule talks to OpenCL through this module:
 *   - error names and the one helper that turns a failed OpenCL call into a struct cg_error;
 *   - discovery of every device of every platform, with the capabilities the compiler needs
 *     (queried, never inferred from a vendor name);
 *   - selection of one device by a selector string (--device, else CLGRAPH_DEVICE, else the
 *     default: first GPU, else PoCL's first device, else the first device);
 *   - struct cg_device: context, one in-order queue, the device's capabilities and its program
 *     cache (in memory per device, and on disk for drivers that do not cache binaries themselves);
 *   - the OpenCL C sources of cl/, embedded at build time (cmake/embed_cl.cmake).
 *
 * Typical use:
 *     struct cg_device *dev; cl_program prog; cl_kernel k; struct cg_error e;
 *     if (cg_device_open(NULL, 0, &dev, &e)) ... report e.msg ...
 *     if (cg_device_program(dev, "conv.cl", "-DN=64 -DC=3", &prog, &e)) ...
 *     if (cg_device_kernel(dev, prog, "conv2d_fwd", &k, &e)) ...
 *     ... clSetKernelArg / clEnqueueNDRangeKernel on cg_device_queue(dev) ...
 *     clReleaseKernel(k); cg_device_close(dev);   (programs belong to the device)
 *
 * Source convention: a program built from cl/NAME is cl/common.cl followed by cl/NAME (with
 * #line directives, so build logs name the right file and line), compiled with -cl-std=CL1.2
 * plus the caller's options. See docs/RUNTIME.md. */
#ifndef CG_RUNTIME_H
#define CG_RUNTIME_H

#include <stddef.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>

#include "util/util.h"

/* ---- Embedded sources ------------------------------------------------------------------- */

/* One embedded file of cl/: its file name ("conv.cl"), its bytes followed by a NUL, and its
 * length without that NUL. The table is generated at build time in cl_sources.c. */
struct cg_cl_source {
    const char *name;
    const char *text;
    size_t len;
};
extern const struct cg_cl_source cg_cl_sources[];
extern const size_t cg_cl_source_count;

/* Returns in *text (a NUL-terminated heap copy the caller frees with cg_free) and *len the
 * source of cl/NAME. When env CLGRAPH_CL_DIR is set and CLGRAPH_CL_DIR/NAME exists, that file
 * wins over the embedded copy (kernel development without rebuilding). Unknown name or an
 * unreadable override: CG_ERR_INPUT; out of memory: CG_ERR_NOMEM. */
enum cg_status cg_cl_source_get(const char *name, char **text, size_t *len, struct cg_error *e);

/* ---- Errors ----------------------------------------------------------------------------- */

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"); "CL error -NNNN" for unknown codes
 * (in a static buffer per thread). Never NULL. */
const char *cg_cl_error_name(cl_int err);

/* Reports a failed OpenCL call: sets e to CG_ERR_DEVICE with the message
 * "error: CALL failed: NAME" (CALL as given, e.g. "clEnqueueNDRangeKernel(conv2d_fwd)") and
 * returns CG_ERR_DEVICE. */
enum cg_status cg_cl_fail(struct cg_error *e, cl_int err, const char *call);

/* ---- Discovery -------------------------------------------------------------------------- */

enum cg_device_type { CG_DEVICE_CPU, CG_DEVICE_GPU, CG_DEVICE_ACCELERATOR, CG_DEVICE_OTHER };

/* "cpu", "gpu", "accelerator" or "other". */
const char *cg_device_type_name(enum cg_device_type t);

/* What one device is and can do. Strings are truncated to fit their arrays. */
struct cg_device_info {
    int index; /* position over all platforms (platform order, then device order) */
    cl_platform_id platform;
    cl_device_id id;
    char platform_name[256], platform_vendor[256], platform_version[256];
    char name[256], vendor[256];
    enum cg_device_type type;
    char version[256];        /* CL_DEVICE_VERSION, "OpenCL 3.0 ..." */
    char driver_version[256]; /* CL_DRIVER_VERSION */
    char c_version[256];      /* CL_DEVICE_OPENCL_C_VERSION */
    int cl_major, cl_minor;   /* parsed from version */
    unsigned compute_units, clock_mhz;
    unsigned long long global_mem, local_mem, max_alloc;
    int local_mem_is_local; /* 1: dedicated local memory; 0: emulated in global memory */
    size_t max_work_group;
    unsigned float_vector_width; /* CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT */
    int fp16, fp64, subgroups;
    int atomics32_global, atomics32_local, atomics64;
};

/* Lists every device of every platform into *list (a cg_malloc'd array the caller frees with
 * cg_free) of *count >= 1 entries. No platform or no device: CG_ERR_DEVICE with a message that
 * says so and hints to run ci/setup (which installs PoCL). */
enum cg_status cg_device_list(struct cg_device_info **list, size_t *count, struct cg_error *e);

/* Returns the selector in effect: `option` when not NULL (the --device value), else env
 * CLGRAPH_DEVICE when set and non-empty, else NULL (the default choice). */
const char *cg_device_selector(const char *option);

/* Chooses a device of list[0..count) by selector (already resolved, see cg_device_selector;
 * NULL or "" = the default: first GPU, else first device of PoCL's platform, else device 0).
 * A selector of decimal digits is an index; anything else is a case-insensitive substring of
 * the platform name or the device name, and the first matching device wins. No match or an
 * index out of range: CG_ERR_INPUT, with every device listed as "  [i] platform / device". */
enum cg_status cg_device_select(const struct cg_device_info *list, size_t count,
                                const char *selector, size_t *index, struct cg_error *e);

/* ---- Devices ---------------------------------------------------------------------------- */

struct cg_device; /* opaque: context, queue, info, program caches */

enum {
    CG_DEVICE_PROFILING = 1 << 0, /* create the queue with CL_QUEUE_PROFILING_ENABLE */
};

/* Opens the device chosen by `selector` (resolved through cg_device_selector, so NULL means
 * CLGRAPH_DEVICE, else the default) with a context and one in-order queue. flags: CG_DEVICE_*.
 * On success *dev is owned by the caller (cg_device_close). Errors: see cg_device_list and
 * cg_device_select; OpenCL failures give CG_ERR_DEVICE; host allocation CG_ERR_NOMEM. */
enum cg_status cg_device_open(const char *selector, unsigned flags, struct cg_device **dev,
                              struct cg_error *e);

/* Releases every program, the queue and the context, and frees dev. NULL is a no-op. */
void cg_device_close(struct cg_device *dev);

/* Accessors; the objects belong to the device (do not release them). */
cl_context cg_device_context(const struct cg_device *dev);
cl_command_queue cg_device_queue(const struct cg_device *dev);
cl_device_id cg_device_id(const struct cg_device *dev);
const struct cg_device_info *cg_device_info(const struct cg_device *dev);

/* Builds (or returns from the device's cache) the program of cl/SOURCE_NAME: cl/common.cl
 * followed by the named source, with `options` (may be NULL; e.g. "-DN=64 -DC=3") appended to
 * -cl-std=CL1.2. The same (source, options) pair returns the same cl_program, which belongs to
 * the device. The on-disk binary cache (docs/RUNTIME.md) is consulted first when enabled.
 * Build failure: CG_ERR_DEVICE, "error: building cl/NAME (options ...) for DEVICE failed:
 * CL_BUILD_PROGRAM_FAILURE" followed by the (trimmed) build log. */
enum cg_status cg_device_program(struct cg_device *dev, const char *source_name,
                                 const char *options, cl_program *program, struct cg_error *e);

/* Creates kernel `name` of program; the caller releases it (clReleaseKernel). Failure:
 * CG_ERR_DEVICE naming the kernel ("clCreateKernel(conv2d_fwd) failed: CL_INVALID_KERNEL_NAME"). */
enum cg_status cg_device_kernel(struct cg_device *dev, cl_program program, const char *name,
                                cl_kernel *kernel, struct cg_error *e);

/* Counters of the program caches of a device, for tests and `bench`. */
struct cg_cache_stats {
    unsigned long memory_hits;  /* cg_device_program answered from the in-memory cache */
    unsigned long disk_hits;    /* program built from a cached binary */
    unsigned long disk_misses;  /* disk cache enabled but no usable entry */
    unsigned long disk_writes;  /* entries written */
    unsigned long source_builds; /* programs compiled from source */
};
void cg_device_cache_stats(const struct cg_device *dev, struct cg_cache_stats *stats);

/* Whether the on-disk binary cache is used for this device: env CLGRAPH_KERNEL_CACHE=0 turns it
 * off, =1 on; otherwise it is on except for PoCL (platform "Portable Computing Language"),
 * which caches binaries itself. */
int cg_device_disk_cache_enabled(const struct cg_device_info *info);

/* The cache directory: $CLGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/clgraph/kernels, else
 * $HOME/.cache/clgraph/kernels. Writes it to buf (size n); returns 0, or -1 when no
 * location is known or it does not fit. */
int cg_kernel_cache_dir(char *buf, size_t n);

#endif
