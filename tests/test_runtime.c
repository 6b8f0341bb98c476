/* test_runtime.c: unit tests of the OpenCL runtime (src/runtime): discovery, selection, error
 * names, program building with -D specialisation, build errors, the in-memory and on-disk
 * program caches, the CLGRAPH_CL_DIR override and allocation-failure paths. They run on the
 * device that CLGRAPH_DEVICE selects (PoCL's CPU device in CI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/fileio.h"
#include "runtime/kcache.h"
#include "runtime/runtime.h"
#include "runtime/sha256.h"

#define N 100

static char tmp_root[256];
static char *saved_device;

/* ---- helpers ---------------------------------------------------------------------------- */

/* Makes a fresh directory under the test's temporary root. */
static void make_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmp_root, name);
    cg_remove_tree(out);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Counts the cache entries (*.clbin) in dir and returns the path of the last one in path. */
static int count_entries(const char *dir, char *path, size_t n)
{
    int count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len > 6 && strcmp(ent->d_name + len - 6, ".clbin") == 0) {
            count++;
            snprintf(path, n, "%s/%s", dir, ent->d_name);
        }
    }
    closedir(d);
    return count;
}

static struct cg_device *open_device(void)
{
    struct cg_device *dev = NULL;
    struct cg_error e = {0};
    enum cg_status st = cg_device_open(NULL, 0, &dev, &e);
    if (st)
        fail_msg("cg_device_open: %s", e.msg);
    return dev;
}

/* Runs kernel cg_test_axpi of prog on x = 0.5 * i and checks y[i] == scale * x[i] + i + add. */
static void run_axpi(struct cg_device *dev, cl_program prog, float scale, float add)
{
    struct cg_error e = {0};
    cl_kernel k = NULL;
    if (cg_device_kernel(dev, prog, "cg_test_axpi", &k, &e))
        fail_msg("%s", e.msg);
    float x[N + 4], y[N + 4];
    for (int i = 0; i < N + 4; i++)
        x[i] = 0.5f * (float)(i - 4), y[i] = -1.0f;
    cl_int err;
    cl_context ctx = cg_device_context(dev);
    cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem by = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof y, y, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_int off = 4; /* (buffer, offset) arguments, as schedules pass them */
    assert_int_equal(clSetKernelArg(k, 0, sizeof bx, &bx), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof off, &off), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof by, &by), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 3, sizeof off, &off), CL_SUCCESS);
    size_t global = 128;
    cl_command_queue q = cg_device_queue(dev);
    assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == -1.0f);
    for (int i = 0; i < N; i++) {
        float want = scale * x[i + 4] + (float)i + add;
        if (y[i + 4] != want)
            fail_msg("y[%d] = %g, want %g", i, y[i + 4], want);
    }
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseKernel(k);
}

/* ---- discovery and selection ------------------------------------------------------------ */

static void test_discovery(void **state)
{
    (void)state;
    struct cg_device_info *list = NULL;
    size_t count = 0;
    struct cg_error e = {0};
    assert_int_equal(cg_device_list(&list, &count, &e), CG_OK);
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) {
        const struct cg_device_info *d = &list[i];
        assert_int_equal(d->index, (int)i);
        assert_non_null(d->id);
        assert_non_null(d->platform);
        assert_true(strlen(d->platform_name) > 0);
        assert_true(strlen(d->name) > 0);
        assert_true(strncmp(d->version, "OpenCL ", 7) == 0);
        assert_true(d->cl_major >= 1);
        assert_true(strlen(d->c_version) > 0);
        assert_true(d->compute_units >= 1);
        assert_true(d->global_mem > 0);
        assert_true(d->local_mem > 0);
        assert_true(d->max_alloc > 0 && d->max_alloc <= d->global_mem);
        assert_true(d->max_work_group >= 1);
        assert_true(d->float_vector_width >= 1);
        assert_true(d->atomics32_global);
        assert_string_not_equal(cg_device_type_name(d->type), "");
    }
    cg_free(list);
}

static void test_select(void **state)
{
    (void)state;
    struct cg_device_info *list = NULL;
    size_t count = 0, idx = 99;
    struct cg_error e = {0};
    assert_int_equal(cg_device_list(&list, &count, &e), CG_OK);

    assert_int_equal(cg_device_select(list, count, "0", &idx, &e), CG_OK);
    assert_int_equal(idx, 0);
    char sel[16];
    snprintf(sel, sizeof sel, "%zu", count - 1);
    assert_int_equal(cg_device_select(list, count, sel, &idx, &e), CG_OK);
    assert_int_equal(idx, count - 1);

    /* Substrings of the device name and of the platform name, in another case. */
    char upper[300];
    snprintf(upper, sizeof upper, "%s", list[count - 1].name);
    upper[strlen(upper) > 6 ? 6 : strlen(upper)] = 0;
    for (char *p = upper; *p; p++)
        *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    assert_int_equal(cg_device_select(list, count, upper, &idx, &e), CG_OK);
    assert_true(strncasecmp(list[idx].name, upper, strlen(upper)) == 0);
    snprintf(upper, sizeof upper, "%s", list[0].platform_name);
    for (char *p = upper; *p; p++)
        *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
    assert_int_equal(cg_device_select(list, count, upper, &idx, &e), CG_OK);
    assert_string_equal(list[idx].platform_name, list[0].platform_name);

    /* The default: the first GPU, else PoCL's device, else device 0. */
    assert_int_equal(cg_device_select(list, count, NULL, &idx, &e), CG_OK);
    size_t want = count;
    for (size_t i = 0; i < count && want == count; i++)
        if (list[i].type == CG_DEVICE_GPU)
            want = i;
    for (size_t i = 0; i < count && want == count; i++)
        if (strstr(list[i].platform_name, "Portable Computing Language"))
            want = i;
    assert_int_equal(idx, want == count ? 0 : want);

    /* Failures list every device. */
    assert_int_equal(cg_device_select(list, count, "no-such-device-xyz", &idx, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no-such-device-xyz"));
    assert_non_null(strstr(e.msg, "  [0] "));
    assert_non_null(strstr(e.msg, list[0].platform_name));
    assert_non_null(strstr(e.msg, list[0].name));
    assert_int_equal(cg_device_select(list, count, "99", &idx, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "out of range"));
    assert_non_null(strstr(e.msg, "  [0] "));
    cg_free(list);
}

static void test_select_env(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_device *dev = NULL;
    setenv("CLGRAPH_DEVICE", "0", 1);
    assert_string_equal(cg_device_selector(NULL), "0");
    assert_string_equal(cg_device_selector("1"), "1"); /* the option wins */
    assert_int_equal(cg_device_open(NULL, 0, &dev, &e), CG_OK);
    assert_int_equal(cg_device_info(dev)->index, 0);
    cg_device_close(dev);

    setenv("CLGRAPH_DEVICE", "nomatch-at-all", 1);
    assert_int_equal(cg_device_open(NULL, 0, &dev, &e), CG_ERR_INPUT);
    assert_null(dev);
    assert_non_null(strstr(e.msg, "nomatch-at-all"));
    assert_non_null(strstr(e.msg, "[0]"));

    unsetenv("CLGRAPH_DEVICE");
    assert_null(cg_device_selector(NULL));
    if (saved_device)
        setenv("CLGRAPH_DEVICE", saved_device, 1);
}

static void test_profiling_queue(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_device *dev = NULL;
    cl_command_queue_properties props = 0;
    assert_int_equal(cg_device_open(NULL, CG_DEVICE_PROFILING, &dev, &e), CG_OK);
    assert_int_equal(clGetCommandQueueInfo(cg_device_queue(dev), CL_QUEUE_PROPERTIES,
                                           sizeof props, &props, NULL),
                     CL_SUCCESS);
    assert_true(props & CL_QUEUE_PROFILING_ENABLE);
    assert_false(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
    cl_device_id id = NULL;
    assert_int_equal(clGetCommandQueueInfo(cg_device_queue(dev), CL_QUEUE_DEVICE, sizeof id, &id,
                                           NULL),
                     CL_SUCCESS);
    assert_ptr_equal(id, cg_device_id(dev));
    assert_non_null(cg_device_context(dev));
    cg_device_close(dev);
    cg_device_close(NULL);
}

/* ---- errors ----------------------------------------------------------------------------- */

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(cg_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(cg_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    assert_string_equal(cg_cl_error_name(-11), "CL_BUILD_PROGRAM_FAILURE");
    assert_string_equal(cg_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    assert_string_equal(cg_cl_error_name(-70), "CL_INVALID_DEVICE_QUEUE");
    assert_string_equal(cg_cl_error_name(-72), "CL_MAX_SIZE_RESTRICTION_EXCEEDED");
    assert_string_equal(cg_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(cg_cl_error_name(-9999), "CL error -9999");
    assert_string_equal(cg_cl_error_name(-25), "CL error -25");

    struct cg_error e = {0};
    assert_int_equal(cg_cl_fail(&e, CL_OUT_OF_RESOURCES, "clEnqueueNDRangeKernel(conv2d_fwd)"),
                     CG_ERR_DEVICE);
    assert_int_equal(e.status, CG_ERR_DEVICE);
    assert_string_equal(e.msg,
                        "error: clEnqueueNDRangeKernel(conv2d_fwd) failed: CL_OUT_OF_RESOURCES");
}

static void test_sources(void **state)
{
    (void)state;
    struct cg_error e = {0};
    char *text = NULL;
    size_t len = 0;
    assert_true(cg_cl_source_count >= 2);
    assert_int_equal(cg_cl_source_get("common.cl", &text, &len, &e), CG_OK);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "CG_AT"));
    cg_free(text);

    /* Every embedded file is byte-for-byte the file of cl/. */
    const char *srcdir = getenv("CLGRAPH_SOURCE_DIR");
    if (srcdir) {
        for (size_t i = 0; i < cg_cl_source_count; i++) {
            char path[1024], *disk = NULL;
            size_t disk_len = 0;
            snprintf(path, sizeof path, "%s/cl/%s", srcdir, cg_cl_sources[i].name);
            assert_int_equal(cg_read_file(path, 1 << 24, &disk, &disk_len, &e), CG_OK);
            assert_int_equal(disk_len, cg_cl_sources[i].len);
            assert_memory_equal(disk, cg_cl_sources[i].text, disk_len);
            assert_int_equal(cg_cl_sources[i].text[disk_len], 0);
            cg_free(disk);
        }
    }
    assert_int_equal(cg_cl_source_get("no_such.cl", &text, &len, &e), CG_ERR_INPUT);
    assert_null(text);
    assert_non_null(strstr(e.msg, "cl/no_such.cl"));
    assert_int_equal(cg_cl_source_get("../etc/passwd", &text, &len, &e), CG_ERR_INPUT);
}

/* ---- programs --------------------------------------------------------------------------- */

static void test_build_and_run(void **state)
{
    (void)state;
    struct cg_device *dev = open_device();
    struct cg_error e = {0};
    cl_program p1 = NULL, p2 = NULL, p3 = NULL;
    if (cg_device_program(dev, "test_runtime.cl", "-DCG_N=100 -DCG_SCALE=2.0f", &p1, &e))
        fail_msg("%s", e.msg);
    run_axpi(dev, p1, 2.0f, 0.0f);

    /* The same (source, options) pair is answered from memory; other options build anew. */
    assert_int_equal(cg_device_program(dev, "test_runtime.cl", "-DCG_N=100 -DCG_SCALE=2.0f",
                                       &p2, &e),
                     CG_OK);
    assert_ptr_equal(p1, p2);
    if (cg_device_program(dev, "test_runtime.cl", "-DCG_N=100 -DCG_SCALE=-3.0f", &p3, &e))
        fail_msg("%s", e.msg);
    assert_ptr_not_equal(p1, p3);
    run_axpi(dev, p3, -3.0f, 0.0f);
    struct cg_cache_stats s;
    cg_device_cache_stats(dev, &s);
    assert_int_equal(s.memory_hits, 1);
    assert_int_equal(s.source_builds, 2);

    cl_kernel k = NULL;
    assert_int_equal(cg_device_kernel(dev, p1, "no_such_kernel", &k, &e), CG_ERR_DEVICE);
    assert_null(k);
    assert_non_null(strstr(e.msg, "clCreateKernel(no_such_kernel) failed: CL_INVALID_"));
    cg_device_close(dev);
}

static void test_build_error(void **state)
{
    (void)state;
    char dir[512];
    make_dir(dir, sizeof dir, "cl_bad");
    write_file(dir, "bad_syntax.cl",
               "__kernel void broken(__global float *x)\n{\n    x[0] = 1.0f +;\n}\n");
    setenv("CLGRAPH_CL_DIR", dir, 1);
    struct cg_device *dev = open_device();
    struct cg_error e = {0};
    cl_program p = NULL;
    assert_int_equal(cg_device_program(dev, "bad_syntax.cl", "-DCG_X=1", &p, &e), CG_ERR_DEVICE);
    assert_null(p);
    assert_int_equal(e.status, CG_ERR_DEVICE);
    assert_non_null(strstr(e.msg, "error: building cl/bad_syntax.cl (options "));
    assert_non_null(strstr(e.msg, "-DCG_X=1"));
    assert_non_null(strstr(e.msg, cg_device_info(dev)->name));
    assert_non_null(strstr(e.msg, "CL_BUILD_PROGRAM_FAILURE"));
    assert_non_null(strstr(e.msg, "build log"));
    /* The log names the file and line thanks to the #line markers. */
    assert_non_null(strstr(e.msg, "bad_syntax.cl:3"));

    /* A missing -D is reported by the source's #error through the same path. */
    assert_int_equal(cg_device_program(dev, "test_runtime.cl", "-DCG_N=4", &p, &e),
                     CG_ERR_DEVICE);
    assert_non_null(strstr(e.msg, "CG_SCALE must be defined"));
    cg_device_close(dev);
    unsetenv("CLGRAPH_CL_DIR");
    cg_remove_tree(dir);
}

static void test_cl_dir_override(void **state)
{
    (void)state;
    char dir[512];
    make_dir(dir, sizeof dir, "cl_override");
    write_file(dir, "test_runtime.cl",
               "__kernel void cg_test_axpi(__global const float *x, int x_off,\n"
               "                           __global float *y, int y_off)\n"
               "{\n"
               "    int i = get_global_id(0);\n"
               "    if (i < CG_N)\n"
               "        CG_AT(y, y_off)[i] = CG_SCALE * CG_AT(x, x_off)[i] + (float)i + 1000.0f;\n"
               "}\n");
    setenv("CLGRAPH_CL_DIR", dir, 1);
    struct cg_device *dev = open_device();
    struct cg_error e = {0};
    cl_program p = NULL;
    if (cg_device_program(dev, "test_runtime.cl", "-DCG_N=100 -DCG_SCALE=2.0f", &p, &e))
        fail_msg("%s", e.msg);
    run_axpi(dev, p, 2.0f, 1000.0f);
    /* Files the directory lacks still come from the embedded copies. */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(cg_cl_source_get("common.cl", &text, &len, &e), CG_OK);
    cg_free(text);
    cg_device_close(dev);
    unsetenv("CLGRAPH_CL_DIR");
    cg_remove_tree(dir);
}

/* Opens a device, builds the test program and checks the cache counters and the result. */
static void cached_build(unsigned long hits, unsigned long misses, unsigned long writes,
                         unsigned long builds)
{
    struct cg_device *dev = open_device();
    struct cg_error e = {0};
    cl_program p = NULL;
    if (cg_device_program(dev, "test_runtime.cl", "-DCG_N=100 -DCG_SCALE=0.25f", &p, &e))
        fail_msg("%s", e.msg);
    struct cg_cache_stats s;
    cg_device_cache_stats(dev, &s);
    assert_int_equal(s.disk_hits, hits);
    assert_int_equal(s.disk_misses, misses);
    assert_int_equal(s.disk_writes, writes);
    assert_int_equal(s.source_builds, builds);
    run_axpi(dev, p, 0.25f, 0.0f);
    cg_device_close(dev);
}

static void test_disk_cache(void **state)
{
    (void)state;
    char dir[512], entry[1024] = "";
    snprintf(dir, sizeof dir, "%s/kcache/nested", tmp_root);
    cg_remove_tree(dir);
    setenv("CLGRAPH_CACHE_DIR", dir, 1);
    setenv("CLGRAPH_KERNEL_CACHE", "1", 1);

    cached_build(0, 1, 1, 1); /* first open: miss, compile, write */
    assert_int_equal(count_entries(dir, entry, sizeof entry), 1);
    cached_build(1, 0, 0, 0); /* second open: hit */

    /* Truncated entry: falls back to compiling and rewrites the entry. */
    struct stat st;
    assert_int_equal(stat(entry, &st), 0);
    assert_true(st.st_size > 48);
    assert_int_equal(truncate(entry, st.st_size / 2), 0);
    cached_build(0, 1, 1, 1);
    assert_int_equal(stat(entry, &st), 0);
    cached_build(1, 0, 0, 0);

    /* Header intact, binary replaced by garbage: the driver refuses it, we compile. */
    FILE *f = fopen(entry, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 48, SEEK_SET), 0);
    for (long i = 48; i < st.st_size; i++)
        fputc((int)(i * 131 + 7) & 0xff, f);
    fclose(f);
    cached_build(0, 1, 1, 1);

    /* Bad magic. */
    f = fopen(entry, "r+b");
    assert_non_null(f);
    fputs("XXXX", f);
    fclose(f);
    cached_build(0, 1, 1, 1);
    assert_int_equal(count_entries(dir, entry, sizeof entry), 1);

    /* CLGRAPH_KERNEL_CACHE=0 turns it off. */
    setenv("CLGRAPH_KERNEL_CACHE", "0", 1);
    cached_build(0, 0, 0, 1);
    unsetenv("CLGRAPH_KERNEL_CACHE");
    setenv("CLGRAPH_CACHE_DIR", tmp_root, 1);
}

static void test_cache_dir(void **state)
{
    (void)state;
    char buf[512];
    unsetenv("CLGRAPH_KERNEL_CACHE");
    setenv("CLGRAPH_CACHE_DIR", "/x/y", 1);
    assert_int_equal(cg_kernel_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/y");
    unsetenv("CLGRAPH_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    assert_int_equal(cg_kernel_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/xdg/clgraph/kernels");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(cg_kernel_cache_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/u/.cache/clgraph/kernels");
    assert_int_equal(cg_kernel_cache_dir(buf, 8), -1);
    setenv("CLGRAPH_CACHE_DIR", tmp_root, 1);

    struct cg_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.platform_name, sizeof info.platform_name, "Portable Computing Language");
    assert_int_equal(cg_device_disk_cache_enabled(&info), 0);
    snprintf(info.platform_name, sizeof info.platform_name, "NVIDIA CUDA");
    assert_int_equal(cg_device_disk_cache_enabled(&info), 1);
    setenv("CLGRAPH_KERNEL_CACHE", "0", 1);
    assert_int_equal(cg_device_disk_cache_enabled(&info), 0);
    unsetenv("CLGRAPH_KERNEL_CACHE");
}

static void hex32(const unsigned char d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_cache_key(void **state)
{
    (void)state;
    unsigned char d[32], d2[32];
    char hex[65];
    struct cg_sha256 s;
    cg_sha256_init(&s);
    cg_sha256_update(&s, "abc", 3);
    cg_sha256_final(&s, d);
    hex32(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Two blocks, fed in uneven pieces. */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cg_sha256_init(&s);
    cg_sha256_update(&s, msg, 5);
    cg_sha256_update(&s, msg + 5, strlen(msg) - 5);
    cg_sha256_final(&s, d);
    hex32(d, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* The key changes with every input. */
    struct cg_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.name, sizeof info.name, "dev");
    snprintf(info.driver_version, sizeof info.driver_version, "1.0");
    cg_kcache_key(&info, "src", 3, "-DN=1", d);
    cg_kcache_key(&info, "src", 3, "-DN=1", d2);
    assert_memory_equal(d, d2, 32);
    cg_kcache_key(&info, "src", 3, "-DN=2", d2);
    assert_memory_not_equal(d, d2, 32);
    cg_kcache_key(&info, "srC", 3, "-DN=1", d2);
    assert_memory_not_equal(d, d2, 32);
    snprintf(info.driver_version, sizeof info.driver_version, "1.1");
    cg_kcache_key(&info, "src", 3, "-DN=1", d2);
    assert_memory_not_equal(d, d2, 32);
}

/* ---- allocation failures ---------------------------------------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 0; n < 1000; n++) {
        struct cg_device *dev = NULL;
        struct cg_error e = {0};
        cg_alloc_fail_after(n);
        enum cg_status st = cg_device_open(NULL, 0, &dev, &e);
        cl_program p = NULL;
        enum cg_status pst = CG_ERR_NOMEM;
        if (st == CG_OK)
            pst = cg_device_program(dev, "test_runtime.cl", "-DCG_N=1 -DCG_SCALE=1.0f", &p, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK && pst == CG_OK) {
            cg_device_close(dev);
            break;
        }
        failures++;
        assert_int_not_equal(e.status, CG_OK);
        assert_true(strlen(e.msg) > 0);
        if (st != CG_OK)
            assert_null(dev);
        cg_device_close(dev);
    }
    assert_true(failures >= 2);
}

/* ---- main ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/clgraph-test-runtime-XXXXXX");
    if (!mkdtemp(tmp_root))
        return -1;
    /* Never touch the user's cache from tests. */
    setenv("CLGRAPH_CACHE_DIR", tmp_root, 1);
    unsetenv("CLGRAPH_CL_DIR");
    unsetenv("CLGRAPH_KERNEL_CACHE");
    const char *dev = getenv("CLGRAPH_DEVICE");
    saved_device = dev ? strdup(dev) : NULL;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cg_remove_tree(tmp_root);
    free(saved_device);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),      cmocka_unit_test(test_select),
        cmocka_unit_test(test_select_env),     cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_sources),        cmocka_unit_test(test_build_and_run),
        cmocka_unit_test(test_build_error),    cmocka_unit_test(test_cl_dir_override),
        cmocka_unit_test(test_disk_cache),     cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_profiling_queue), cmocka_unit_test(test_cache_key),      cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
