/* discovery.c: lists every OpenCL device of every platform with its capabilities, and chooses
 * one by selector string (see runtime.h and docs/RUNTIME.md for the rules). */
#include "runtime/runtime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From cl_icd.h / cl_ext.h (cl_khr_icd), which not every installation has. */
#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

#define CG_NO_PLATFORM_HINT                                                                      \
    "hint: install an OpenCL driver; `ci/setup` installs PoCL, which runs OpenCL on the CPU"

const char *cg_device_type_name(enum cg_device_type t)
{
    switch (t) {
    case CG_DEVICE_CPU: return "cpu";
    case CG_DEVICE_GPU: return "gpu";
    case CG_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

/* Copies a platform string parameter into buf (truncated); "" when the query fails. */
static void platform_str(cl_platform_id p, cl_platform_info what, char *buf, size_t n)
{
    size_t got = 0;
    buf[0] = 0;
    if (clGetPlatformInfo(p, what, n - 1, buf, &got) != CL_SUCCESS) {
        /* Too long for buf (or failed): fetch the whole string and truncate it. */
        if (clGetPlatformInfo(p, what, 0, NULL, &got) != CL_SUCCESS || got == 0)
            return;
        char *tmp = cg_malloc(got + 1);
        if (!tmp)
            return;
        if (clGetPlatformInfo(p, what, got, tmp, NULL) == CL_SUCCESS) {
            tmp[got] = 0;
            snprintf(buf, n, "%s", tmp);
        }
        cg_free(tmp);
        return;
    }
    buf[n - 1] = 0;
}

/* Returns a heap copy of a device string parameter ("" on failure; NULL when out of memory). */
static char *device_str_alloc(cl_device_id d, cl_device_info what)
{
    size_t got = 0;
    if (clGetDeviceInfo(d, what, 0, NULL, &got) != CL_SUCCESS)
        got = 0;
    char *s = cg_malloc(got + 1);
    if (!s)
        return NULL;
    s[0] = 0;
    if (got && clGetDeviceInfo(d, what, got, s, NULL) != CL_SUCCESS)
        got = 0;
    s[got] = 0;
    return s;
}

/* Copies a device string parameter into buf (truncated); returns -1 when out of memory. */
static int device_str(cl_device_id d, cl_device_info what, char *buf, size_t n)
{
    char *s = device_str_alloc(d, what);
    if (!s)
        return -1;
    snprintf(buf, n, "%s", s);
    /* Drivers pad some strings with spaces. */
    for (size_t len = strlen(buf); len && buf[len - 1] == ' '; len--)
        buf[len - 1] = 0;
    cg_free(s);
    return 0;
}

/* Reads a fixed-size scalar device parameter into out (left zeroed when the query fails). */
static void device_val(cl_device_id d, cl_device_info what, void *out, size_t size)
{
    memset(out, 0, size);
    if (clGetDeviceInfo(d, what, size, out, NULL) != CL_SUCCESS)
        memset(out, 0, size);
}

/* Whether the space-separated list `exts` contains exactly the token `name`. */
static int has_token(const char *exts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = exts; (p = strstr(p, name)) != NULL; p += n) {
        int starts = p == exts || p[-1] == ' ';
        int ends = p[n] == 0 || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* Fills the capability fields of info for device d; returns -1 when out of host memory. */
static int query_device(struct cg_device_info *info, cl_device_id d)
{
    info->id = d;
    if (device_str(d, CL_DEVICE_NAME, info->name, sizeof info->name) ||
        device_str(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor) ||
        device_str(d, CL_DEVICE_VERSION, info->version, sizeof info->version) ||
        device_str(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version) ||
        device_str(d, CL_DEVICE_OPENCL_C_VERSION, info->c_version, sizeof info->c_version))
        return -1;
    if (sscanf(info->version, "OpenCL %d.%d", &info->cl_major, &info->cl_minor) != 2)
        info->cl_major = 1, info->cl_minor = 0;
    int ver = info->cl_major * 10 + info->cl_minor;

    cl_device_type type;
    device_val(d, CL_DEVICE_TYPE, &type, sizeof type);
    info->type = (type & CL_DEVICE_TYPE_GPU)           ? CG_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU)         ? CG_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? CG_DEVICE_ACCELERATOR
                                                       : CG_DEVICE_OTHER;
    cl_uint u;
    device_val(d, CL_DEVICE_MAX_COMPUTE_UNITS, &u, sizeof u);
    info->compute_units = u;
    device_val(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, &u, sizeof u);
    info->clock_mhz = u;
    device_val(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, &u, sizeof u);
    info->float_vector_width = u;
    cl_ulong ul;
    device_val(d, CL_DEVICE_GLOBAL_MEM_SIZE, &ul, sizeof ul);
    info->global_mem = ul;
    device_val(d, CL_DEVICE_LOCAL_MEM_SIZE, &ul, sizeof ul);
    info->local_mem = ul;
    device_val(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &ul, sizeof ul);
    info->max_alloc = ul;
    cl_device_local_mem_type lt;
    device_val(d, CL_DEVICE_LOCAL_MEM_TYPE, &lt, sizeof lt);
    info->local_mem_is_local = lt == CL_LOCAL;
    size_t wg;
    device_val(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, &wg, sizeof wg);
    info->max_work_group = wg;

    char *exts = device_str_alloc(d, CL_DEVICE_EXTENSIONS);
    if (!exts)
        return -1;
    cl_device_fp_config fp64cfg;
    device_val(d, CL_DEVICE_DOUBLE_FP_CONFIG, &fp64cfg, sizeof fp64cfg);
    info->fp16 = has_token(exts, "cl_khr_fp16");
    info->fp64 = has_token(exts, "cl_khr_fp64") || fp64cfg != 0;
    info->subgroups = has_token(exts, "cl_khr_subgroups") || has_token(exts, "cl_intel_subgroups");
    if (!info->subgroups && ver >= 21) {
        cl_uint nsub;
        device_val(d, CL_DEVICE_MAX_NUM_SUB_GROUPS, &nsub, sizeof nsub);
        info->subgroups = nsub > 0;
    }
    info->atomics32_global = ver >= 11 || has_token(exts, "cl_khr_global_int32_base_atomics");
    info->atomics32_local = ver >= 11 || has_token(exts, "cl_khr_local_int32_base_atomics");
    info->atomics64 = has_token(exts, "cl_khr_int64_base_atomics");
    cg_free(exts);
    return 0;
}

static enum cg_status no_platform(struct cg_error *e, const char *what)
{
    cg_error_set(e, CG_ERR_DEVICE, "error: %s", what);
    cg_error_note(e, CG_NO_PLATFORM_HINT);
    return CG_ERR_DEVICE;
}

enum cg_status cg_device_list(struct cg_device_info **list, size_t *count, struct cg_error *e)
{
    cl_platform_id *plats = NULL;
    cl_device_id *devs = NULL;
    struct cg_device_info *out = NULL;
    size_t n = 0, cap = 0;
    enum cg_status st = CG_OK;
    cl_uint nplat = 0;

    *list = NULL;
    *count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && nplat == 0))
        return no_platform(e, "no OpenCL platform was found");
    if (err != CL_SUCCESS)
        return cg_cl_fail(e, err, "clGetPlatformIDs");
    plats = cg_calloc(nplat, sizeof *plats);
    if (!plats) {
        st = cg_error_nomem(e);
        goto error;
    }
    err = clGetPlatformIDs(nplat, plats, NULL);
    if (err != CL_SUCCESS) {
        st = cg_cl_fail(e, err, "clGetPlatformIDs");
        goto error;
    }
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        /* No device (CL_DEVICE_NOT_FOUND), or a broken platform: skip it, others may work. */
        if (err != CL_SUCCESS || ndev == 0)
            continue;
        cg_free(devs);
        devs = cg_calloc(ndev, sizeof *devs);
        if (!devs) {
            st = cg_error_nomem(e);
            goto error;
        }
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL);
        if (err != CL_SUCCESS) {
            st = cg_cl_fail(e, err, "clGetDeviceIDs");
            goto error;
        }
        for (cl_uint d = 0; d < ndev; d++) {
            if (cg_grow((void **)&out, &cap, n + 1, sizeof *out)) {
                st = cg_error_nomem(e);
                goto error;
            }
            struct cg_device_info *info = &out[n];
            memset(info, 0, sizeof *info);
            info->index = (int)n;
            info->platform = plats[p];
            platform_str(plats[p], CL_PLATFORM_NAME, info->platform_name,
                         sizeof info->platform_name);
            platform_str(plats[p], CL_PLATFORM_VENDOR, info->platform_vendor,
                         sizeof info->platform_vendor);
            platform_str(plats[p], CL_PLATFORM_VERSION, info->platform_version,
                         sizeof info->platform_version);
            if (query_device(info, devs[d])) {
                st = cg_error_nomem(e);
                goto error;
            }
            n++;
        }
    }
    if (n == 0) {
        st = no_platform(e, "no OpenCL device was found (the OpenCL platforms list none)");
        goto error;
    }
    cg_free(plats);
    cg_free(devs);
    *list = out;
    *count = n;
    return CG_OK;
error:
    cg_free(plats);
    cg_free(devs);
    cg_free(out);
    return st;
}

const char *cg_device_selector(const char *option)
{
    if (option)
        return option;
    const char *env = getenv("CLGRAPH_DEVICE");
    return env && *env ? env : NULL;
}

/* Case-insensitive substring search. */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* Appends the list of every device to e's message. */
static void note_devices(struct cg_error *e, const struct cg_device_info *list, size_t count)
{
    cg_error_note(e, "available devices:");
    for (size_t i = 0; i < count; i++)
        cg_error_note(e, "  [%zu] %s / %s", i, list[i].platform_name, list[i].name);
}

enum cg_status cg_device_select(const struct cg_device_info *list, size_t count,
                                const char *selector, size_t *index, struct cg_error *e)
{
    *index = 0;
    if (!selector || !*selector) {
        for (size_t i = 0; i < count; i++)
            if (list[i].type == CG_DEVICE_GPU) {
                *index = i;
                return CG_OK;
            }
        for (size_t i = 0; i < count; i++)
            if (contains_ci(list[i].platform_name, "Portable Computing Language")) {
                *index = i;
                return CG_OK;
            }
        if (count == 0)
            return no_platform(e, "no OpenCL device was found");
        return CG_OK;
    }
    size_t digits = strspn(selector, "0123456789");
    if (selector[digits] == 0) {
        unsigned long long i = strtoull(selector, NULL, 10);
        if (digits > 9 || i >= count) {
            cg_error_set(e, CG_ERR_INPUT,
                         "error: device index %s is out of range (%zu device%s found)", selector,
                         count, count == 1 ? "" : "s");
            note_devices(e, list, count);
            return CG_ERR_INPUT;
        }
        *index = (size_t)i;
        return CG_OK;
    }
    for (size_t i = 0; i < count; i++)
        if (contains_ci(list[i].platform_name, selector) || contains_ci(list[i].name, selector)) {
            *index = i;
            return CG_OK;
        }
    cg_error_set(e, CG_ERR_INPUT, "error: no OpenCL device matches '%s'", selector);
    note_devices(e, list, count);
    return CG_ERR_INPUT;
}
