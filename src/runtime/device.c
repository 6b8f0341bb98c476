/* device.c: struct cg_device (context, in-order queue, capabilities) and its program caches:
 * programs are built from cl/common.cl + cl/NAME with -D options, kept in memory per
 * (source, options) pair, and, for drivers that do not cache binaries themselves, stored on disk
 * (kcache.c). */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kcache.h"

/* Build logs longer than this are cut (the error message has a fixed size). */
#define CG_BUILD_LOG_MAX 3000

struct cg_program_entry {
    char *source;  /* cl/ file name */
    char *options; /* the caller's options ("" when none) */
    cl_program program;
};

struct cg_device {
    struct cg_device_info info;
    cl_context context;
    cl_command_queue queue;
    struct cg_program_entry *programs;
    size_t nprograms, cap_programs;
    int disk_cache; /* 1 when the on-disk binary cache is used */
    struct cg_cache_stats stats;
};

enum cg_status cg_device_open(const char *selector, unsigned flags, struct cg_device **out,
                              struct cg_error *e)
{
    struct cg_device_info *list = NULL;
    struct cg_device *dev = NULL;
    size_t count = 0, index = 0;
    enum cg_status st;
    cl_int err;

    *out = NULL;
    st = cg_device_list(&list, &count, e);
    if (st)
        goto error;
    st = cg_device_select(list, count, cg_device_selector(selector), &index, e);
    if (st)
        goto error;
    dev = cg_calloc(1, sizeof *dev);
    if (!dev) {
        st = cg_error_nomem(e);
        goto error;
    }
    dev->info = list[index];
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)dev->info.platform, 0};
    dev->context = clCreateContext(props, 1, &dev->info.id, NULL, NULL, &err);
    if (!dev->context) {
        st = cg_cl_fail(e, err, "clCreateContext");
        goto error;
    }
    cl_command_queue_properties qprops =
        (flags & CG_DEVICE_PROFILING) ? CL_QUEUE_PROFILING_ENABLE : 0;
    dev->queue = clCreateCommandQueue(dev->context, dev->info.id, qprops, &err);
    if (!dev->queue) {
        st = cg_cl_fail(e, err, "clCreateCommandQueue");
        goto error;
    }
    dev->disk_cache = cg_device_disk_cache_enabled(&dev->info);
    cg_free(list);
    *out = dev;
    return CG_OK;
error:
    cg_free(list);
    cg_device_close(dev);
    return st;
}

void cg_device_close(struct cg_device *dev)
{
    if (!dev)
        return;
    for (size_t i = 0; i < dev->nprograms; i++) {
        clReleaseProgram(dev->programs[i].program);
        cg_free(dev->programs[i].source);
        cg_free(dev->programs[i].options);
    }
    cg_free(dev->programs);
    if (dev->queue)
        clReleaseCommandQueue(dev->queue);
    if (dev->context)
        clReleaseContext(dev->context);
    cg_free(dev);
}

cl_context cg_device_context(const struct cg_device *dev) { return dev->context; }
cl_command_queue cg_device_queue(const struct cg_device *dev) { return dev->queue; }
cl_device_id cg_device_id(const struct cg_device *dev) { return dev->info.id; }
const struct cg_device_info *cg_device_info(const struct cg_device *dev) { return &dev->info; }

void cg_device_cache_stats(const struct cg_device *dev, struct cg_cache_stats *stats)
{
    *stats = dev->stats;
}

int cg_device_disk_cache_enabled(const struct cg_device_info *info)
{
    const char *env = getenv("CLGRAPH_KERNEL_CACHE");
    if (env && strcmp(env, "0") == 0)
        return 0;
    if (env && strcmp(env, "1") == 0)
        return 1;
    return strstr(info->platform_name, "Portable Computing Language") == NULL;
}

int cg_kernel_cache_dir(char *buf, size_t n)
{
    const char *dir = getenv("CLGRAPH_CACHE_DIR");
    int w;
    if (dir && *dir) {
        w = snprintf(buf, n, "%s", dir);
    } else if ((dir = getenv("XDG_CACHE_HOME")) && *dir) {
        w = snprintf(buf, n, "%s/clgraph/kernels", dir);
    } else if ((dir = getenv("HOME")) && *dir) {
        w = snprintf(buf, n, "%s/.cache/clgraph/kernels", dir);
    } else {
        return -1;
    }
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* Sets e for a failed build of cl/NAME, with the build log appended. */
static enum cg_status build_failed(struct cg_device *dev, cl_program prog, const char *name,
                                   const char *options, cl_int err, struct cg_error *e)
{
    cg_error_set(e, CG_ERR_DEVICE, "error: building cl/%s (options %s) for %s failed: %s", name,
                 options, dev->info.name, cg_cl_error_name(err));
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, dev->info.id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) !=
            CL_SUCCESS ||
        n <= 1)
        return CG_ERR_DEVICE;
    char *log = cg_malloc(n + 1);
    if (!log)
        return CG_ERR_DEVICE;
    if (clGetProgramBuildInfo(prog, dev->info.id, CL_PROGRAM_BUILD_LOG, n, log, NULL) ==
        CL_SUCCESS) {
        log[n] = 0;
        size_t len = strlen(log);
        while (len && (log[len - 1] == '\n' || log[len - 1] == ' '))
            log[--len] = 0;
        if (len > CG_BUILD_LOG_MAX)
            cg_error_note(e, "build log (first %d of %zu bytes):\n%.*s\n...", CG_BUILD_LOG_MAX,
                          len, CG_BUILD_LOG_MAX, log);
        else
            cg_error_note(e, "build log:\n%s", log);
    }
    cg_free(log);
    return CG_ERR_DEVICE;
}

/* Tries to create and build the program from a cached binary; returns NULL on any problem. */
static cl_program program_from_binary(struct cg_device *dev, const unsigned char *bin,
                                      size_t len, const char *options)
{
    cl_int err, bin_status = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(dev->context, 1, &dev->info.id, &len, &bin,
                                                &bin_status, &err);
    if (!prog)
        return NULL;
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS ||
        clBuildProgram(prog, 1, &dev->info.id, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

/* Stores the binary of a freshly built program in the disk cache (best effort). */
static void store_binary(struct cg_device *dev, cl_program prog, const char *dir,
                         const unsigned char key[32])
{
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0)
        return;
    unsigned char *bin = cg_malloc(size);
    if (!bin)
        return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS &&
        cg_kcache_store(dir, key, bin, size) == 0)
        dev->stats.disk_writes++;
    cg_free(bin);
}

/* Assembles the text of a program: common.cl, then the named source, with #line markers. */
static enum cg_status assemble_source(const char *name, struct cg_buf *out, struct cg_error *e)
{
    char *common = NULL, *text = NULL;
    size_t common_len = 0, text_len = 0;
    enum cg_status st = cg_cl_source_get("common.cl", &common, &common_len, e);
    if (st)
        goto error;
    cg_buf_printf(out, "#line 1 \"common.cl\"\n");
    cg_buf_append(out, common, common_len);
    if (strcmp(name, "common.cl") != 0) {
        st = cg_cl_source_get(name, &text, &text_len, e);
        if (st)
            goto error;
        cg_buf_printf(out, "\n#line 1 \"%s\"\n", name);
        cg_buf_append(out, text, text_len);
    }
    cg_buf_append(out, "\n", 1);
    if (out->oom)
        st = cg_error_nomem(e);
error:
    cg_free(common);
    cg_free(text);
    return st;
}

enum cg_status cg_device_program(struct cg_device *dev, const char *source_name,
                                 const char *options, cl_program *program, struct cg_error *e)
{
    struct cg_buf src = {0}, opts = {0};
    cl_program prog = NULL;
    char *name_copy = NULL, *opts_copy = NULL;
    unsigned char key[32];
    char dir[4096];
    int use_disk = 0;
    enum cg_status st = CG_OK;
    cl_int err;

    *program = NULL;
    if (!options)
        options = "";
    for (size_t i = 0; i < dev->nprograms; i++) {
        if (strcmp(dev->programs[i].source, source_name) == 0 &&
            strcmp(dev->programs[i].options, options) == 0) {
            dev->stats.memory_hits++;
            *program = dev->programs[i].program;
            return CG_OK;
        }
    }
    st = assemble_source(source_name, &src, e);
    if (st)
        goto error;
    cg_buf_printf(&opts, "-cl-std=CL1.2%s%s", *options ? " " : "", options);
    name_copy = cg_strdup(source_name);
    opts_copy = cg_strdup(options);
    if (opts.oom || !name_copy || !opts_copy) {
        st = cg_error_nomem(e);
        goto error;
    }

    use_disk = dev->disk_cache && cg_kernel_cache_dir(dir, sizeof dir) == 0;
    if (use_disk) {
        unsigned char *bin = NULL;
        size_t len = 0;
        cg_kcache_key(&dev->info, src.data, src.len, cg_buf_str(&opts), key);
        if (cg_kcache_load(dir, key, &bin, &len) == 0)
            prog = program_from_binary(dev, bin, len, cg_buf_str(&opts));
        cg_free(bin);
        if (prog)
            dev->stats.disk_hits++;
        else
            dev->stats.disk_misses++;
    }
    if (!prog) {
        const char *text = src.data;
        prog = clCreateProgramWithSource(dev->context, 1, &text, &src.len, &err);
        if (!prog) {
            st = cg_cl_fail(e, err, "clCreateProgramWithSource");
            goto error;
        }
        err = clBuildProgram(prog, 1, &dev->info.id, cg_buf_str(&opts), NULL, NULL);
        if (err != CL_SUCCESS) {
            st = build_failed(dev, prog, source_name, cg_buf_str(&opts), err, e);
            goto error;
        }
        dev->stats.source_builds++;
        if (use_disk)
            store_binary(dev, prog, dir, key);
    }
    struct cg_program_entry entry = {name_copy, opts_copy, prog};
    if (CG_PUSH(dev->programs, dev->nprograms, dev->cap_programs, entry)) {
        st = cg_error_nomem(e);
        goto error;
    }
    cg_buf_free(&src);
    cg_buf_free(&opts);
    *program = prog;
    return CG_OK;
error:
    if (prog)
        clReleaseProgram(prog);
    cg_free(name_copy);
    cg_free(opts_copy);
    cg_buf_free(&src);
    cg_buf_free(&opts);
    return st;
}

enum cg_status cg_device_kernel(struct cg_device *dev, cl_program program, const char *name,
                                cl_kernel *kernel, struct cg_error *e)
{
    (void)dev;
    cl_int err;
    *kernel = clCreateKernel(program, name, &err);
    if (!*kernel) {
        char call[256];
        snprintf(call, sizeof call, "clCreateKernel(%s)", name);
        return cg_cl_fail(e, err, call);
    }
    return CG_OK;
}
