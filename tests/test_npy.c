/* test_npy.c: unit tests of the .npy reader and writer (src/data/npy.c): files that NumPy wrote
 * (embedded below as bytes, since the tests cannot count on numpy being installed), round trips
 * of every dtype at ranks 0 to 4 (and 8), byte-identity of our files with np.save's, atomic
 * replacement, every kind of broken file with its message, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/npy.h"

/* ---- fixtures written by NumPy 1.24 (np.lib.format.write_array into a BytesIO) ----------------
 */

/* np.save of np.float32 (2, 3): {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
static const unsigned char np_f4_2x3[152] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0xc0, 0x3f,
};
/* np.save of np.int32 (4,): {'descr': '<i4', 'fortran_order': False, 'shape': (4,), } */
static const unsigned char np_i4_4[144] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x34, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f,
};
/* np.save of np.uint8 (2, 2, 2): {'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), } */
static const unsigned char np_u1_2x2x2[136] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x75, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x32, 0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x01, 0x02, 0x7f, 0x80, 0xc8, 0xfe, 0xff,
};
/* np.save of np.float32 (): {'descr': '<f4', 'fortran_order': False, 'shape': (), } */
static const unsigned char np_f4_scalar[132] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73,
    0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46,
    0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20,
    0x28, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x60, 0x40,
};
/* np.save of np.float32 (0, 3): {'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), } */
static const unsigned char np_f4_0x3[128] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x30, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
};
/* np.save of np.int32 (2, 2), version=(2, 0): {'descr': '<i4', 'fortran_order': False, 'shape': (2,
 * 2), } */
static const unsigned char np_i4_v2[144] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32,
    0x2c, 0x20, 0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
};
/* np.save of np.uint8 (3,), version=(3, 0): {'descr': '|u1', 'fortran_order': False, 'shape': (3,),
 * } */
static const unsigned char np_u1_v3[131] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x03, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64,
    0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x75, 0x31, 0x27, 0x2c, 0x20, 0x27,
    0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a,
    0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27,
    0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x09, 0x08, 0x07,
};

/* ---- helpers ------------------------------------------------------------------------------- */

static char tmp_dir[256];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/cg_test_npy_XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmp_dir);
    if (d) {
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            char sub[600];
            if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", tmp_dir, ent->d_name);
            if (rmdir(sub) != 0)
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(tmp_dir);
    return 0;
}

static void tmp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmp_dir, name);
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole (small) file into buf; returns its length. */
static size_t read_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Counts the entries of the temp directory (to see that no temp file is left behind). */
static int count_entries(void)
{
    int n = 0;
    DIR *d = opendir(tmp_dir);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL)
        n += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
    closedir(d);
    return n;
}

/* Builds a .npy file of format version major.0 in buf from the header dict text (padded with
 * spaces and '\n' to a multiple of 64 as NumPy does) followed by dlen bytes of data. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
                       size_t dlen)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t hlen = len + 1 + (64 - (pre + len + 1) % 64) % 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    if (major != 1)
        buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', hlen - len - 1);
    buf[pre + hlen - 1] = '\n';
    if (dlen)
        memcpy(buf + pre + hlen, data, dlen);
    return pre + hlen + dlen;
}

/* Checks that reading the n bytes b, from memory and from a file, fails with CG_ERR_INPUT and a
 * message that names the file and contains want. */
static void expect_refused(const unsigned char *b, size_t n, const char *want)
{
    char path[300];
    struct cg_npy a;
    struct cg_error e = {0};
    tmp_path(path, sizeof path, "broken.npy");
    write_bytes(path, b, n);

    assert_int_equal(cg_npy_read(path, &a, &e), CG_ERR_INPUT);
    if (!strstr(e.msg, want) || strncmp(e.msg, path, strlen(path)) != 0)
        fail_msg("message \"%s\" lacks \"%s\" or the path", e.msg, want);
    assert_null(a.data);

    memset(&e, 0, sizeof e);
    assert_int_equal(cg_npy_read_mem("mem.npy", b, n, &a, &e), CG_ERR_INPUT);
    if (!strstr(e.msg, want) || strncmp(e.msg, "mem.npy: error: ", 16) != 0)
        fail_msg("message \"%s\" lacks \"%s\" or the name", e.msg, want);
    assert_null(a.data);
    unlink(path);
}

/* Same with a v1.0 file made from dict and dlen bytes of data. */
static void expect_refused_dict(const char *dict, size_t dlen, const char *want)
{
    static unsigned char buf[4096], zeros[512];
    expect_refused(buf, make_npy(buf, 1, dict, zeros, dlen), want);
}

/* ---- tests --------------------------------------------------------------------------------- */

/* Reading each NumPy fixture from memory and from a file gives the array NumPy saved. */
static void test_read_numpy_files(void **state)
{
    (void)state;
    static const struct {
        const unsigned char *bytes;
        size_t len;
        enum cg_npy_dtype dtype;
        int rank;
        int64_t shape[3];
    } cases[] = {
        {np_f4_2x3, sizeof np_f4_2x3, CG_NPY_F32, 2, {2, 3}},
        {np_i4_4, sizeof np_i4_4, CG_NPY_I32, 1, {4}},
        {np_u1_2x2x2, sizeof np_u1_2x2x2, CG_NPY_U8, 3, {2, 2, 2}},
        {np_f4_scalar, sizeof np_f4_scalar, CG_NPY_F32, 0, {0}},
        {np_f4_0x3, sizeof np_f4_0x3, CG_NPY_F32, 2, {0, 3}},
        {np_i4_v2, sizeof np_i4_v2, CG_NPY_I32, 2, {2, 2}},
        {np_u1_v3, sizeof np_u1_v3, CG_NPY_U8, 1, {3}},
    };
    char path[300];
    tmp_path(path, sizeof path, "numpy.npy");
    for (size_t c = 0; c < CG_ARRAY_LEN(cases); c++) {
        for (int from_file = 0; from_file < 2; from_file++) {
            struct cg_npy a;
            struct cg_error e = {0};
            if (from_file) {
                write_bytes(path, cases[c].bytes, cases[c].len);
                assert_int_equal(cg_npy_read(path, &a, &e), CG_OK);
            } else {
                assert_int_equal(cg_npy_read_mem("m", cases[c].bytes, cases[c].len, &a, &e), CG_OK);
            }
            assert_int_equal(a.dtype, cases[c].dtype);
            assert_int_equal(a.rank, cases[c].rank);
            size_t count = 1;
            for (int d = 0; d < a.rank; d++) {
                assert_int_equal(a.shape[d], cases[c].shape[d]);
                count *= (size_t)cases[c].shape[d];
            }
            assert_int_equal(a.count, count);
            assert_int_equal(a.nbytes, count * cg_npy_dtype_size(a.dtype));
            assert_non_null(a.data);
            assert_memory_equal(a.data, cases[c].bytes + cases[c].len - a.nbytes, a.nbytes);
            cg_npy_free(&a);
            assert_null(a.data);
            cg_npy_free(&a);
        }
    }
    unlink(path);
    /* The values themselves. */
    struct cg_npy a;
    struct cg_error e = {0};
    assert_int_equal(cg_npy_read_mem("m", np_f4_2x3, sizeof np_f4_2x3, &a, &e), CG_OK);
    const float *f = a.data;
    for (int i = 0; i < 6; i++)
        assert_true(f[i] == 0.5f * (float)i - 1.0f);
    cg_npy_free(&a);
    assert_int_equal(cg_npy_read_mem("m", np_i4_4, sizeof np_i4_4, &a, &e), CG_OK);
    const int32_t *v = a.data;
    assert_int_equal(v[0], -2);
    assert_int_equal(v[3], 2147483647);
    cg_npy_free(&a);
    assert_int_equal(cg_npy_read_mem("m", np_f4_scalar, sizeof np_f4_scalar, &a, &e), CG_OK);
    assert_true(*(const float *)a.data == 3.5f);
    assert_int_equal(a.count, 1);
    cg_npy_free(&a);
    cg_npy_free(NULL);
}

/* cg_npy_write produces exactly the bytes np.save writes. */
static void test_write_matches_numpy(void **state)
{
    (void)state;
    static const struct {
        const unsigned char *bytes;
        size_t len;
    } cases[] = {
        {np_f4_2x3, sizeof np_f4_2x3},     {np_i4_4, sizeof np_i4_4},
        {np_u1_2x2x2, sizeof np_u1_2x2x2}, {np_f4_scalar, sizeof np_f4_scalar},
        {np_f4_0x3, sizeof np_f4_0x3},
    };
    char path[300];
    unsigned char got[512];
    tmp_path(path, sizeof path, "ours.npy");
    for (size_t c = 0; c < CG_ARRAY_LEN(cases); c++) {
        struct cg_npy a;
        struct cg_error e = {0};
        assert_int_equal(cg_npy_read_mem("m", cases[c].bytes, cases[c].len, &a, &e), CG_OK);
        assert_int_equal(cg_npy_write(path, a.dtype, a.shape, a.rank, a.data, &e), CG_OK);
        assert_int_equal(read_bytes(path, got, sizeof got), cases[c].len);
        assert_memory_equal(got, cases[c].bytes, cases[c].len);
        cg_npy_free(&a);
    }
    unlink(path);
    assert_int_equal(count_entries(), 0);
}

/* Every dtype at ranks 0..4 (and 8) survives a write and a read; headers are 64-byte aligned. */
static void test_round_trips(void **state)
{
    (void)state;
    static const int64_t shapes[][8] = {
        {0}, {5}, {3, 4}, {2, 3, 2}, {2, 1, 3, 2}, {1, 2, 1, 2, 1, 2, 1, 3},
    };
    static const int ranks[] = {0, 1, 2, 3, 4, 8};
    static const enum cg_npy_dtype dtypes[] = {CG_NPY_F32, CG_NPY_I32, CG_NPY_U8};
    char path[300];
    unsigned char buf[256];
    tmp_path(path, sizeof path, "rt.npy");
    for (size_t t = 0; t < CG_ARRAY_LEN(dtypes); t++) {
        for (size_t r = 0; r < CG_ARRAY_LEN(ranks); r++) {
            size_t count = 1, esize = cg_npy_dtype_size(dtypes[t]);
            for (int d = 0; d < ranks[r]; d++)
                count *= (size_t)shapes[r][d];
            for (size_t i = 0; i < count * esize; i++)
                buf[i] = (unsigned char)(37 * i + 11 * t + r);
            struct cg_error e = {0};
            assert_int_equal(cg_npy_write(path, dtypes[t], shapes[r], ranks[r], buf, &e), CG_OK);
            struct stat sb;
            assert_int_equal(stat(path, &sb), 0);
            assert_int_equal(((size_t)sb.st_size - count * esize) % 64, 0);
            struct cg_npy a;
            assert_int_equal(cg_npy_read(path, &a, &e), CG_OK);
            assert_int_equal(a.dtype, dtypes[t]);
            assert_int_equal(a.rank, ranks[r]);
            for (int d = 0; d < ranks[r]; d++)
                assert_int_equal(a.shape[d], shapes[r][d]);
            assert_int_equal(a.count, count);
            assert_memory_equal(a.data, buf, count * esize);
            cg_npy_free(&a);
        }
    }
    /* A zero-size array with no data pointer; a rewrite replaces the file. */
    struct cg_error e = {0};
    int64_t zero[2] = {4, 0};
    assert_int_equal(cg_npy_write(path, CG_NPY_I32, zero, 2, NULL, &e), CG_OK);
    struct cg_npy a;
    assert_int_equal(cg_npy_read(path, &a, &e), CG_OK);
    assert_int_equal(a.count, 0);
    assert_int_equal(a.shape[0], 4);
    assert_int_equal(a.shape[1], 0);
    cg_npy_free(&a);
    unlink(path);
    assert_int_equal(count_entries(), 0);
}

/* Files that are not .npy at all, or of another version. */
static void test_refuse_prefix(void **state)
{
    (void)state;
    unsigned char buf[4096];
    size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                        "\0\0\0\0", 4);
    buf[5] = 'Z';
    expect_refused(buf, n,
                   "not a .npy file (bad magic: expected \"\\x93NUMPY\", found "
                   "\"\\x93NUMPZ\")");
    expect_refused((const unsigned char *)"PK\3\4 a zip file", 16, "bad magic");
    expect_refused(buf, 0, "file is too short for a .npy header (0 bytes)");
    expect_refused((const unsigned char *)"\x93NUM", 4, "file is too short");
    expect_refused((const unsigned char *)"\x93NUMPY\1\0\x10", 9, "file is too short");

    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", 4);
    buf[6] = 4;
    expect_refused(buf, n, "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)");
    buf[6] = 1;
    buf[7] = 1;
    expect_refused(buf, n, "unsupported .npy format version 1.1");
    buf[7] = 0;
    buf[8] = 0xff;
    buf[9] = 0xff;
    expect_refused(buf, n,
                   "header length 65535 goes beyond the end of the file (122 bytes after "
                   "the 10-byte prefix)");
    n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", 4);
    buf[11] = 0x7f;
    expect_refused(buf, n, "goes beyond the end of the file");
}

/* Headers that are not the dict NumPy writes. */
static void test_refuse_header(void **state)
{
    (void)state;
    expect_refused_dict("[1, 2, 3]", 0,
                        "the .npy header is not a dict (it starts with \"[1, 2, 3]");
    expect_refused_dict("", 0, "the .npy header is empty (a dict was expected)");
    expect_refused_dict("{'descr': '<f4', }", 0,
                        "the .npy header is missing the keys 'fortran_order' 'shape'");
    expect_refused_dict("{'descr': '<f4', 'shape': (1,), }", 4, "missing the key 'fortran_order'");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
                        "unexpected key 'x' in the .npy header");
    expect_refused_dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4,
                        "duplicate key 'descr'");
    expect_refused_dict("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", 4,
                        "expected ',' or '}' in the header dict at offset 16");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", 4,
                        "expected True or False at offset 34, found \"Maybe, 'shape'");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 4,
                        "expected a dimension (a non-negative integer)");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 4,
                        "expected ',' or ')' in the shape");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': 6, }", 4,
                        "expected a shape tuple");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4,
                        "negative dimension in shape");
    expect_refused_dict("{'descr' '<f4', 'fortran_order': False, 'shape': (1,), }", 4,
                        "expected ':' after a key at offset 9");
    expect_refused_dict("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", 4,
                        "expected ',' or '}' in the header dict at offset 17");
    expect_refused_dict("{'descr': '<f4", 4,
                        "expected a closing quote, found the end of the header");
    expect_refused_dict("{'descr\n': '<f4'}", 4, "expected a closing quote at offset 7");
    expect_refused_dict("{'de\\x73cr': '<f4'}", 4, "expected a string without escapes at offset 4");
    expect_refused_dict("{descr: '<f4'}", 4, "expected a quoted string at offset 1");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", 4,
                        "unexpected text after the .npy header dict: \"junk\"");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
                        "expected ',' or '}' in the header dict, found the end of the header");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\x01\xff", 4,
                        "unexpected text after the .npy header dict: \"\\x01\\xff\"");
}

/* Arrays of a kind clgraph does not take: the message says what was found and what is supported. */
static void test_refuse_dtype_and_order(void **state)
{
    (void)state;
    expect_refused_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
                        "error: big-endian dtype '>f4' is not supported; supported dtypes: '<f4' "
                        "(float32), '<i4' (int32) and '|u1' (uint8)");
    expect_refused_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16,
                        "error: dtype '<f8' is not supported; supported dtypes: '<f4' (float32)");
    expect_refused_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16,
                        "\nnote: convert it first, e.g. np.save(path, a.astype(np.float32))");
    expect_refused_dict("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
                        "dtype '|O' is not supported");
    expect_refused_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16,
                        "dtype '<i8' is not supported");
    expect_refused_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                        "structured dtype (a list of fields) is not supported");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                        "error: fortran_order is True; only C-order arrays are supported");
}

/* Data that do not match the shape, and shapes that cannot be. */
static void test_refuse_size(void **state)
{
    (void)state;
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
                        "error: truncated data: expected 24 bytes for shape (2, 3) of '<f4', "
                        "file has 20");
    expect_refused_dict("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", 0,
                        "expected 4 bytes for shape () of '<i4', file has 0");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28,
                        "error: 4 bytes of trailing garbage after the 24 bytes of data of shape "
                        "(2, 3)");
    expect_refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (0,), }", 1,
                        "1 bytes of trailing garbage");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, "
                        "4294967296, 4), }",
                        0,
                        "shape (4294967296, 4294967296, 4) is too large (its element count "
                        "overflows)");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(4611686018427387904, 2), }",
                        0, "is too large (its byte size overflows)");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(99999999999999999999,), }",
                        0, "shape dimension 99999999999999999999 is too large (overflow)");
    expect_refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(1, 1, 1, 1, 1, 1, 1, 1, 1), }",
                        4, "shape has more than 8 dimensions");
    /* A huge shape with a zero in it is an empty array, not an overflow. */
    static unsigned char buf[512];
    size_t n = make_npy(buf, 1,
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (0, "
                        "9223372036854775807, 9223372036854775807), }",
                        NULL, 0);
    struct cg_npy a;
    struct cg_error e = {0};
    assert_int_equal(cg_npy_read_mem("m", buf, n, &a, &e), CG_OK);
    assert_int_equal(a.count, 0);
    cg_npy_free(&a);
    /* Lenient where NumPy is: a list for the shape, Python 2 longs, double quotes, no spaces. */
    n = make_npy(buf, 1, "{\"shape\":[2L,1],\"fortran_order\":False,\"descr\":\"|u1\"}", "xy", 2);
    assert_int_equal(cg_npy_read_mem("m", buf, n, &a, &e), CG_OK);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.shape[0], 2);
    assert_memory_equal(a.data, "xy", 2);
    cg_npy_free(&a);
}

static void test_refuse_files(void **state)
{
    (void)state;
    char path[300];
    struct cg_npy a;
    struct cg_error e = {0};
    tmp_path(path, sizeof path, "missing.npy");
    assert_int_equal(cg_npy_read(path, &a, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "missing.npy: error: cannot open: No such file"));
    assert_int_equal(cg_npy_read(tmp_dir, &a, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, ": error: not a regular file"));
}

static void test_write_errors(void **state)
{
    (void)state;
    char path[300];
    struct cg_error e = {0};
    int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float x = 1.0f;
    tmp_path(path, sizeof path, "w.npy");
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, 9, &x, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "w.npy: error: cannot write an array of rank 9 (0 to 8"));
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, -1, &x, &e), CG_ERR_INPUT);
    shape[0] = -3;
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, 1, &x, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "negative dimension -3"));
    shape[0] = INT64_MAX;
    shape[1] = 4;
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, 2, &x, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "byte size overflows"));
    shape[0] = 2;
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, 1, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no data for 8 bytes"));
    assert_int_equal(cg_npy_write(path, (enum cg_npy_dtype)7, shape, 1, &x, &e), CG_ERR_INPUT);
    assert_int_equal(count_entries(), 0);

    char nodir[300];
    tmp_path(nodir, sizeof nodir, "no/such/dir/w.npy");
    assert_int_equal(cg_npy_write(nodir, CG_NPY_F32, shape, 0, &x, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "w.npy: error: cannot create a temporary file next to it"));

    /* The rename fails onto a non-empty directory: the target stays and no temp file is left. */
    char dir[300], inner[320];
    tmp_path(dir, sizeof dir, "adir");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep", dir);
    write_bytes(inner, "k", 1);
    assert_int_equal(cg_npy_write(dir, CG_NPY_F32, shape, 0, &x, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "adir: error: cannot rename"));
    assert_int_equal(count_entries(), 1);
    unlink(inner);
    rmdir(dir);
}

/* Every allocation of the reader and the writer can fail: CG_ERR_NOMEM, nothing leaks, the
 * output is left empty. */
static void test_allocation_failures(void **state)
{
    (void)state;
    char path[300];
    tmp_path(path, sizeof path, "alloc.npy");
    write_bytes(path, np_f4_2x3, sizeof np_f4_2x3);
    int failures = 0;
    for (long n = 0;; n++) {
        struct cg_npy a;
        struct cg_error e = {0};
        cg_alloc_fail_after(n);
        enum cg_status st = cg_npy_read(path, &a, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            cg_npy_free(&a);
            break;
        }
        assert_int_equal(st, CG_ERR_NOMEM);
        assert_null(a.data);
        assert_int_equal(a.rank, 0);
        failures++;
    }
    assert_true(failures >= 2);

    struct cg_npy a;
    struct cg_error e = {0};
    cg_alloc_fail_after(0);
    assert_int_equal(cg_npy_read_mem("m", np_f4_2x3, sizeof np_f4_2x3, &a, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
    assert_null(a.data);

    int64_t shape[1] = {1};
    float x = 2.0f;
    cg_alloc_fail_after(0);
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, shape, 1, &x, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
    /* The old file is intact. */
    assert_int_equal(cg_npy_read(path, &a, &e), CG_OK);
    assert_int_equal(a.count, 6);
    cg_npy_free(&a);
    unlink(path);
    assert_int_equal(count_entries(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_numpy_files), cmocka_unit_test(test_write_matches_numpy),
        cmocka_unit_test(test_round_trips),      cmocka_unit_test(test_refuse_prefix),
        cmocka_unit_test(test_refuse_header),    cmocka_unit_test(test_refuse_dtype_and_order),
        cmocka_unit_test(test_refuse_size),      cmocka_unit_test(test_refuse_files),
        cmocka_unit_test(test_write_errors),     cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
