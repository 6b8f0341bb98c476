/* test_readers.c: unit tests of the file readers of src/data: IDX (idx.c: round trips of every
 * type raw and gzip, big-endian bytes on disk, every kind of broken file with its message), JPEG
 * (jpeg.c: decode of files the writer wrote, grey and RGB, by PSNR; corrupt and truncated files;
 * resize, crop and fit sizes and values) and image folders (folder.c: class subdirectories, CSV
 * manifests good and broken with line numbers, the loader), CMYK and YCCK JPEGs refused, and
 * every allocation of every reader failing in turn (CG_ERR_NOMEM or success, never a crash or a
 * leak: the ASan build checks). Every input is generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/fileio.h"
#include "data/folder.h"
#include "data/idx.h"
#include "data/jpeg.h"

#include <jpeglib.h>

#define TMPDIR_PREFIX "/tmp/cg_readers"
#include "tmpdir_test.h"

static uint8_t *get_file(const char *path, size_t *n)
{
    char *buf;
    struct cg_error e;
    assert_int_equal(cg_read_file(path, 1 << 28, &buf, n, &e), CG_OK);
    return (uint8_t *)buf;
}

/* Expects cg_idx_read(path) to fail with exactly "PATH: error: MSG". */
static void idx_fails(const char *path, const char *msg)
{
    struct cg_idx a;
    struct cg_error e;
    char want[1024];
    assert_int_equal(cg_idx_read(path, &a, &e), CG_ERR_INPUT);
    assert_null(a.data);
    snprintf(want, sizeof want, "%s: error: %s", path, msg);
    assert_string_equal(e.msg, want);
}

/* ---- IDX --------------------------------------------------------------------------------- */

static void test_idx_round_trip(void **state)
{
    (void)state;
    struct cg_error e;
    uint8_t u8[12];
    for (int i = 0; i < 12; i++)
        u8[i] = (uint8_t)(i * 21);
    int32_t i32[5] = {0, -1, 2147483647, -2147483647 - 1, 258};
    float f32[6] = {0.0f, -1.5f, 3.25f, 1e-7f, -0.0f, 65504.0f};
    int64_t s_u8[3] = {3, 2, 2}, s_i32[1] = {5}, s_f32[2] = {2, 3};
    const char *names[2] = {"a.idx", "a.idx.gz"};
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tpath(names[gz]);
        struct cg_idx a;
        assert_int_equal(cg_idx_write(p, CG_IDX_U8, s_u8, 3, u8, &e), CG_OK);
        assert_int_equal(cg_idx_read(p, &a, &e), CG_OK);
        assert_int_equal(a.dtype, CG_IDX_U8);
        assert_int_equal(a.ndims, 3);
        assert_int_equal(a.shape[0], 3);
        assert_int_equal(a.shape[2], 2);
        assert_int_equal(a.count, 12);
        assert_memory_equal(a.data, u8, 12);
        cg_idx_free(&a);
        assert_int_equal(cg_idx_write(p, CG_IDX_I32, s_i32, 1, i32, &e), CG_OK);
        assert_int_equal(cg_idx_read(p, &a, &e), CG_OK);
        assert_int_equal(a.dtype, CG_IDX_I32);
        assert_int_equal(a.nbytes, 20);
        assert_memory_equal(a.data, i32, 20);
        cg_idx_free(&a);
        assert_int_equal(cg_idx_write(p, CG_IDX_F32, s_f32, 2, f32, &e), CG_OK);
        assert_int_equal(cg_idx_read(p, &a, &e), CG_OK);
        assert_int_equal(a.dtype, CG_IDX_F32);
        assert_memory_equal(a.data, f32, 24);
        cg_idx_free(&a);
        cg_idx_free(&a); /* harmless twice */
    }
    /* on disk: big-endian, header 00 00 0C 01 00 00 00 05 */
    const char *p = tpath("be.idx");
    assert_int_equal(cg_idx_write(p, CG_IDX_I32, s_i32, 1, i32, &e), CG_OK);
    size_t n;
    uint8_t *b = get_file(p, &n);
    const uint8_t want[16] = {0, 0, 0x0C, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(n, 8 + 20);
    assert_memory_equal(b, want, 16);
    assert_int_equal(b[27], 2); /* 258 = 00 00 01 02 */
    assert_int_equal(b[26], 1);
    cg_free(b);
    /* the .gz file really is gzip, and no temporary file is left */
    b = get_file(tpath("a.idx.gz"), &n);
    assert_true(cg_is_gzip(b, n));
    cg_free(b);
    /* zero-sized dimension */
    int64_t s0[2] = {0, 28};
    struct cg_idx a;
    assert_int_equal(cg_idx_write(p, CG_IDX_U8, s0, 2, NULL, &e), CG_OK);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_OK);
    assert_int_equal(a.count, 0);
    assert_non_null(a.data);
    cg_idx_free(&a);
    /* writer argument errors */
    assert_int_equal(cg_idx_write(p, CG_IDX_U8, s0, 9, NULL, &e), CG_ERR_INPUT);
    int64_t sbig[1] = {(int64_t)1 << 32};
    assert_int_equal(cg_idx_write(p, CG_IDX_U8, sbig, 1, u8, &e), CG_ERR_INPUT);
    char want_msg[600];
    snprintf(want_msg, sizeof want_msg,
             "%s: error: cannot write IDX dimension 4294967296 (0 to 2^32-1)", p);
    assert_string_equal(e.msg, want_msg);
    assert_int_equal(cg_idx_write("/nonexistent-dir/x.idx", CG_IDX_U8, s_u8, 3, u8, &e),
                     CG_ERR_INPUT);
    assert_string_equal(e.msg, "/nonexistent-dir/x.idx: error: cannot create a temporary file "
                               "next to it: No such file or directory");
}

static void test_idx_broken(void **state)
{
    (void)state;
    const char *p = tpath("bad.idx");
    const uint8_t bad_magic[8] = {1, 2, 8, 1, 0, 0, 0, 0};
    put_file(p, bad_magic, 8);
    idx_fails(p, "not an IDX file: magic 0x01020801 at offset 0 (expected 0x0000 then the type "
                 "and the number of dimensions)");
    const uint8_t bad_type[8] = {0, 0, 0x09, 1, 0, 0, 0, 0};
    put_file(p, bad_type, 8);
    idx_fails(p, "unsupported IDX element type 0x09 at offset 2 (supported: 0x08 u8, 0x0C i32, "
                 "0x0D f32)");
    const uint8_t zero_dims[4] = {0, 0, 0x08, 0};
    put_file(p, zero_dims, 4);
    idx_fails(p, "IDX file with 0 dimensions at offset 3 (1 to 8 supported)");
    const uint8_t nine_dims[4] = {0, 0, 0x08, 9};
    put_file(p, nine_dims, 4);
    idx_fails(p, "IDX file with 9 dimensions at offset 3 (1 to 8 supported)");
    put_file(p, bad_magic, 3);
    idx_fails(p, "truncated: 3 bytes, shorter than the 4-byte IDX magic");
    const uint8_t short_hdr[10] = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0};
    put_file(p, short_hdr, 10);
    idx_fails(p, "truncated: 10 bytes, shorter than the 16-byte header of 3 dimensions");
    /* truncated data and trailing bytes */
    uint8_t f[8 + 6 + 3] = {0, 0, 0x0D, 1, 0, 0, 0, 2};
    put_file(p, f, 8 + 7);
    idx_fails(p, "truncated: dimensions 2 need 8 data bytes after the 8-byte header, the file has 7");
    put_file(p, f, 8 + 8 + 1);
    idx_fails(p, "1 trailing bytes at offset 16 after the data of dimensions 2");
    /* huge dimensions: overflow, and a size far beyond the file */
    const uint8_t huge[16] = {0, 0, 0x0C, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff};
    put_file(p, huge, 16);
    idx_fails(p, "IDX dimensions 4294967295x4294967295x4294967295 are too large (the byte size "
                 "overflows)");
    const uint8_t big[12] = {0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0};
    put_file(p, big, 12);
    idx_fails(p, "truncated: dimensions 65536x65536 need 4294967296 data bytes after the 12-byte "
                 "header, the file has 0");
    idx_fails(tpath("missing.idx"), "cannot open: No such file or directory");
}

static void test_idx_gzip_broken(void **state)
{
    (void)state;
    struct cg_error e;
    uint8_t px[784];
    for (int i = 0; i < 784; i++)
        px[i] = (uint8_t)((i * 7919) >> 3);
    int64_t shape[3] = {1, 28, 28};
    const char *good = tpath("g.idx.gz"), *p = tpath("gbad.idx.gz");
    assert_int_equal(cg_idx_write(good, CG_IDX_U8, shape, 3, px, &e), CG_OK);
    size_t n;
    uint8_t *b = get_file(good, &n);
    /* truncated stream */
    put_file(p, b, n - 20);
    struct cg_idx a;
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    char want[1024];
    snprintf(want, sizeof want, "%s: error: truncated gzip stream (it ends after %zu compressed "
             "bytes, inside the data)", p, n - 20);
    assert_string_equal(e.msg, want);
    /* corrupt deflate data: a bad block type in the first block header */
    uint8_t *c = cg_malloc(n);
    memcpy(c, b, n);
    c[10] |= 0x06; /* BTYPE = 11, reserved */
    put_file(p, c, n);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: corrupt gzip data at compressed byte 11 (zlib: "
             "invalid block type)", p);
    assert_string_equal(e.msg, want);
    /* a corrupt CRC in the trailer */
    memcpy(c, b, n);
    c[n - 8] ^= 0xff;
    put_file(p, c, n);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: corrupt gzip data at compressed byte %zu (zlib: "
             "incorrect data check)", p, n - 4);
    assert_string_equal(e.msg, want);
    /* garbage after the stream */
    memcpy(c, b, n);
    uint8_t *d = cg_malloc(n + 3);
    memcpy(d, b, n);
    memcpy(d + n, "xyz", 3);
    put_file(p, d, n + 3);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: 3 trailing bytes after the gzip stream at compressed "
             "byte %zu", p, n);
    assert_string_equal(e.msg, want);
    cg_free(d);
    cg_free(c);
    cg_free(b);
    /* uncompressed content errors inside gzip: trailing data, truncated data, huge dims */
    uint8_t raw[16 + 784 + 2] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28};
    memcpy(raw + 16, px, 784);
    uint8_t *gz;
    size_t gzn;
    assert_int_equal(cg_gzip_compress(raw, sizeof raw, &gz, &gzn, &e), CG_OK);
    put_file(p, gz, gzn);
    cg_free(gz);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: 2 trailing bytes at uncompressed offset 800 after "
             "the data of dimensions 1x28x28", p);
    assert_string_equal(e.msg, want);
    assert_int_equal(cg_gzip_compress(raw, 16 + 700, &gz, &gzn, &e), CG_OK);
    put_file(p, gz, gzn);
    cg_free(gz);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: truncated: dimensions 1x28x28 need 784 data bytes "
             "after the 16-byte header, the uncompressed file has 700", p);
    assert_string_equal(e.msg, want);
    raw[4] = 0x7f; /* 2130706433 x 28 x 28 images */
    assert_int_equal(cg_gzip_compress(raw, sizeof raw, &gz, &gzn, &e), CG_OK);
    put_file(p, gz, gzn);
    cg_free(gz);
    assert_int_equal(cg_idx_read(p, &a, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: truncated: dimensions 2130706433x28x28 need "
             "1670473843472 data bytes, more than a gzip stream of %zu bytes can hold", p, gzn);
    assert_string_equal(e.msg, want);
    assert_null(a.data);
}

/* ---- JPEG -------------------------------------------------------------------------------- */

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? 99 : 10 * log10(255.0 * 255.0 / (se / n));
}

static uint8_t *smooth_image(int w, int h, int c)
{
    uint8_t *px = cg_malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] =
                    (uint8_t)(128 + 100 * sin(0.2 * x + 0.9 * k) * cos(0.15 * y + 0.4 * k));
    return px;
}

static void test_jpeg_round_trip(void **state)
{
    (void)state;
    struct cg_error e;
    for (int c = 1; c <= 3; c += 2) {
        int w = 40, h = 24;
        uint8_t *px = smooth_image(w, h, c);
        const char *p = tpath(c == 1 ? "grey.jpg" : "rgb.jpg");
        assert_int_equal(cg_jpeg_write(p, w, h, c, px, 95, &e), CG_OK);
        struct cg_image im;
        assert_int_equal(cg_jpeg_read(p, &im, &e), CG_OK);
        assert_int_equal(im.w, w);
        assert_int_equal(im.h, h);
        assert_int_equal(im.channels, c);
        double q = psnr(px, im.pixels, (size_t)w * h * c);
        assert_true(q > 38.0);
        double m0 = 0, m1 = 0;
        for (size_t i = 0; i < (size_t)w * h * c; i++)
            m0 += px[i], m1 += im.pixels[i];
        assert_true(fabs(m0 - m1) / ((double)w * h * c) < 1.0);
        cg_image_free(&im);
        /* lower quality still decodes, with lower PSNR */
        assert_int_equal(cg_jpeg_write(p, w, h, c, px, 30, &e), CG_OK);
        assert_int_equal(cg_jpeg_read(p, &im, &e), CG_OK);
        assert_true(psnr(px, im.pixels, (size_t)w * h * c) > 25.0);
        cg_image_free(&im);
        cg_free(px);
    }
    uint8_t one = 0;
    assert_int_equal(cg_jpeg_write(tpath("x.jpg"), 1, 1, 2, &one, 90, &e), CG_ERR_INPUT);
    char want[600];
    snprintf(want, sizeof want, "%s: error: cannot write a JPEG of 1x1 pixels, 2 channels, "
             "quality 90 (sizes 1..65500, channels 1 or 3, quality 1..100)", tpath("x.jpg"));
    assert_string_equal(e.msg, want);
    assert_int_equal(access(tpath("x.jpg"), F_OK), -1);
}

static void jpeg_fails(const char *p, const char *msg)
{
    struct cg_image im;
    struct cg_error e;
    char want[1024];
    assert_int_equal(cg_jpeg_read(p, &im, &e), CG_ERR_INPUT);
    assert_null(im.pixels);
    snprintf(want, sizeof want, "%s: error: %s", p, msg);
    assert_string_equal(e.msg, want);
}

static void test_jpeg_corrupt(void **state)
{
    (void)state;
    struct cg_error e;
    uint8_t *px = smooth_image(64, 48, 3);
    const char *good = tpath("c.jpg"), *p = tpath("corrupt.jpg");
    assert_int_equal(cg_jpeg_write(good, 64, 48, 3, px, 90, &e), CG_OK);
    cg_free(px);
    size_t n;
    uint8_t *b = get_file(good, &n);
    put_file(p, b, n / 2);
    jpeg_fails(p, "not a valid JPEG file: Premature end of JPEG file");
    put_file(p, b, 100);
    jpeg_fails(p, "not a valid JPEG file: Premature end of JPEG file");
    uint8_t noise[300];
    for (int i = 0; i < 300; i++)
        noise[i] = (uint8_t)(i * 37 + 11);
    put_file(p, noise, sizeof noise);
    jpeg_fails(p, "not a valid JPEG file: Not a JPEG file: starts with 0x0b 0x30");
    put_file(p, noise, 0);
    jpeg_fails(p, "not a valid JPEG file: empty file");
    /* random bytes in the entropy-coded data after the header */
    uint8_t *c = cg_malloc(n);
    memcpy(c, b, n);
    for (size_t i = n / 2; i < n - 2; i++)
        c[i] = (uint8_t)(i * 131 + 7);
    put_file(p, c, n);
    struct cg_image im;
    assert_int_equal(cg_jpeg_read(p, &im, &e), CG_ERR_INPUT);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s: error: not a valid JPEG file: ", p);
    assert_memory_equal(e.msg, prefix, strlen(prefix));
    cg_free(c);
    cg_free(b);
    jpeg_fails(tpath("none.jpg"), "cannot open: No such file or directory");
}

static void test_resize_crop(void **state)
{
    (void)state;
    struct cg_error e;
    struct cg_image in = {.w = 32, .h = 24, .channels = 3}, out, crop;
    in.pixels = cg_malloc(32 * 24 * 3);
    memset(in.pixels, 77, 32 * 24 * 3);
    const int sizes[][2] = {{16, 12}, {64, 48}, {7, 5}, {1, 1}, {100, 3}};
    for (size_t i = 0; i < CG_ARRAY_LEN(sizes); i++) {
        assert_int_equal(cg_image_resize(&in, sizes[i][0], sizes[i][1], &out, &e), CG_OK);
        assert_int_equal(out.w, sizes[i][0]);
        assert_int_equal(out.h, sizes[i][1]);
        assert_int_equal(out.channels, 3);
        for (size_t k = 0; k < (size_t)out.w * out.h * 3; k++)
            assert_int_equal(out.pixels[k], 77); /* a constant stays constant */
        cg_image_free(&out);
    }
    /* halving a linear ramp reproduces it at the output pixels' centres (the triangle filter
     * spans 4 inputs, weights 1:3:3:1); at the border the window is cut and renormalised */
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 32; x++)
            for (int k = 0; k < 3; k++)
                in.pixels[(y * 32 + x) * 3 + k] = (uint8_t)(x * 8);
    assert_int_equal(cg_image_resize(&in, 16, 12, &out, &e), CG_OK);
    assert_int_equal(out.pixels[0], 6);      /* (0.75 * 0 + 0.75 * 8 + 0.25 * 16) / 1.75 */
    assert_int_equal(out.pixels[3 * 5], 84); /* 8 * 10.5 */
    assert_int_equal(out.pixels[3 * 5 + 16 * 3 * 7], 84);
    cg_image_free(&out);
    /* centre crop: the window starts at ((32-10)/2, (24-4)/2) = (11, 10) */
    assert_int_equal(cg_image_crop_center(&in, 10, 4, &crop, &e), CG_OK);
    assert_int_equal(crop.w, 10);
    assert_int_equal(crop.h, 4);
    assert_int_equal(crop.pixels[0], 11 * 8);
    assert_int_equal(crop.pixels[9 * 3], 20 * 8);
    cg_image_free(&crop);
    assert_int_equal(cg_image_crop_center(&in, 33, 4, &crop, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "cannot crop a 33x4 window out of a 32x24 image");
    assert_int_equal(cg_image_resize(&in, 0, 4, &out, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "cannot resize a 32x24 image to 0x4");
    /* fit: covers then crops; a same-size fit is a copy */
    const int fits[][2] = {{10, 10}, {28, 28}, {64, 16}, {32, 24}, {3, 30}};
    for (size_t i = 0; i < CG_ARRAY_LEN(fits); i++) {
        assert_int_equal(cg_image_fit(&in, fits[i][0], fits[i][1], &out, &e), CG_OK);
        assert_int_equal(out.w, fits[i][0]);
        assert_int_equal(out.h, fits[i][1]);
        if (fits[i][0] == 32)
            assert_memory_equal(out.pixels, in.pixels, 32 * 24 * 3);
        cg_image_free(&out);
    }
    cg_image_free(&in);
}

/* ---- folders and manifests --------------------------------------------------------------- */

static void write_jpeg(const char *path, int w, int h, int c, uint8_t value)
{
    struct cg_error e;
    uint8_t *px = cg_malloc((size_t)w * h * c);
    memset(px, value, (size_t)w * h * c);
    assert_int_equal(cg_jpeg_write(path, w, h, c, px, 95, &e), CG_OK);
    cg_free(px);
}

static void test_folder_classes(void **state)
{
    (void)state;
    struct cg_error e;
    mkdir(tpath("cls"), 0755);
    mkdir(tpath("cls/dog"), 0755);
    mkdir(tpath("cls/cat"), 0755);
    mkdir(tpath("cls/.git"), 0755);
    write_jpeg(tpath("cls/cat/b.jpg"), 16, 16, 3, 200);
    write_jpeg(tpath("cls/cat/a.JPG"), 20, 10, 1, 100);
    write_jpeg(tpath("cls/dog/c.jpeg"), 8, 8, 3, 50);
    put_file(tpath("cls/dog/notes.txt"), "x", 1);
    put_file(tpath("cls/README"), "x", 1);
    struct cg_folder_list l;
    assert_int_equal(cg_folder_scan(tpath("cls"), &l, &e), CG_OK);
    assert_int_equal(l.nclasses, 2);
    assert_string_equal(l.classes[0], "cat");
    assert_string_equal(l.classes[1], "dog");
    assert_int_equal(l.count, 3);
    assert_string_equal(l.entries[0].path, tpath("cls/cat/a.JPG"));
    assert_string_equal(l.entries[1].path, tpath("cls/cat/b.jpg"));
    assert_string_equal(l.entries[2].path, tpath("cls/dog/c.jpeg"));
    assert_int_equal(l.entries[0].y, 0);
    assert_int_equal(l.entries[2].y, 1);
    assert_int_equal(l.entries[2].group, -1);
    float *x;
    assert_int_equal(cg_folder_load(&l, 3, 12, 12, &x, &e), CG_OK);
    for (int i = 0; i < 3; i++) {
        const float want[3] = {100 / 255.0f, 200 / 255.0f, 50 / 255.0f};
        double m = 0;
        for (int k = 0; k < 3 * 144; k++)
            m += x[i * 3 * 144 + k];
        assert_true(fabs(m / (3 * 144) - want[i]) < 2 / 255.0);
    }
    cg_free(x);
    assert_int_equal(cg_folder_load(&l, 1, 5, 7, &x, &e), CG_OK);
    assert_true(fabsf(x[0] - 100 / 255.0f) < 2 / 255.0f);
    assert_true(fabsf(x[35] - 200 / 255.0f) < 2 / 255.0f);
    cg_free(x);
    assert_int_equal(cg_folder_load(&l, 2, 5, 7, &x, &e), CG_ERR_INPUT);
    assert_string_equal(e.msg, "cannot load images as 2 channels of 5x7 (channels 1 or 3)");
    cg_folder_list_free(&l);
    /* an empty class, no class, a missing root, a corrupt image at load */
    mkdir(tpath("cls/eel"), 0755);
    assert_int_equal(cg_folder_scan(tpath("cls"), &l, &e), CG_ERR_INPUT);
    char want[600];
    snprintf(want, sizeof want, "%s: error: class directory 'eel' has no .jpg/.jpeg image",
             tpath("cls"));
    assert_string_equal(e.msg, want);
    assert_null(l.entries);
    put_file(tpath("cls/eel/bad.jpg"), "not a jpeg", 10);
    assert_int_equal(cg_folder_scan(tpath("cls"), &l, &e), CG_OK);
    assert_int_equal(cg_folder_load(&l, 3, 4, 4, &x, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: not a valid JPEG file: Not a JPEG file: starts with "
             "0x6e 0x6f", tpath("cls/eel/bad.jpg"));
    assert_string_equal(e.msg, want);
    assert_null(x);
    cg_folder_list_free(&l);
    mkdir(tpath("empty"), 0755);
    assert_int_equal(cg_folder_scan(tpath("empty"), &l, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: no class directory (expected ROOT/<class>/*.jpg)",
             tpath("empty"));
    assert_string_equal(e.msg, want);
    assert_int_equal(cg_folder_scan(tpath("nope"), &l, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: cannot open the directory: No such file or directory",
             tpath("nope"));
    assert_string_equal(e.msg, want);
}

static void manifest_fails(const char *text, int nclasses, int line, const char *msg)
{
    const char *p = tpath("m/bad.csv");
    put_file(p, text, strlen(text));
    struct cg_folder_list l;
    struct cg_error e;
    assert_int_equal(cg_manifest_read(p, nclasses, &l, &e), CG_ERR_INPUT);
    assert_null(l.entries);
    char want[1024];
    snprintf(want, sizeof want, "%s:%d: error: %s", p, line, msg);
    assert_string_equal(e.msg, want);
}

static void test_manifest(void **state)
{
    (void)state;
    struct cg_error e;
    mkdir(tpath("m"), 0755);
    mkdir(tpath("m/img"), 0755);
    write_jpeg(tpath("m/img/a.jpg"), 8, 8, 3, 10);
    write_jpeg(tpath("m/img/b,1.jpg"), 8, 8, 1, 20);
    write_jpeg(tpath("m/img/c.jpg"), 8, 8, 3, 30);
    const char *good = "\xEF\xBB\xBFpath,y,group,split,place\r\n"
                       "img/a.jpg,1,3,train,land\r\n"
                       "\r\n"
                       "\"img/b,1.jpg\", 0 ,0,test,water\r\n"
                       "img/c.jpg,1,2,train,\"wa\"\"ter\"\r\n";
    put_file(tpath("m/meta.csv"), good, strlen(good));
    struct cg_folder_list l, sel;
    assert_int_equal(cg_manifest_read(tpath("m/meta.csv"), 2, &l, &e), CG_OK);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.nclasses, 2);
    assert_null(l.classes);
    assert_string_equal(l.entries[0].path, tpath("m/img/a.jpg"));
    assert_string_equal(l.entries[1].path, tpath("m/img/b,1.jpg"));
    assert_int_equal(l.entries[0].y, 1);
    assert_int_equal(l.entries[0].group, 3);
    assert_string_equal(l.entries[0].split, "train");
    assert_int_equal(l.entries[1].y, 0);
    assert_string_equal(l.entries[1].split, "test");
    assert_int_equal(cg_folder_select(&l, "train", &sel, &e), CG_OK);
    assert_int_equal(sel.count, 2);
    assert_string_equal(sel.entries[1].path, tpath("m/img/c.jpg"));
    float *x;
    assert_int_equal(cg_folder_load(&sel, 3, 4, 4, &x, &e), CG_OK);
    assert_true(fabsf(x[0] - 10 / 255.0f) < 2 / 255.0f);
    assert_true(fabsf(x[48 + 47] - 30 / 255.0f) < 2 / 255.0f);
    cg_free(x);
    cg_folder_list_free(&sel);
    cg_folder_list_free(&l);
    /* without group and split */
    const char *plain = "y,path\n0,img/a.jpg\n4,img/c.jpg";
    put_file(tpath("m/plain.csv"), plain, strlen(plain));
    assert_int_equal(cg_manifest_read(tpath("m/plain.csv"), 0, &l, &e), CG_OK);
    assert_int_equal(l.count, 2);
    assert_int_equal(l.nclasses, 5);
    assert_int_equal(l.entries[1].group, -1);
    assert_string_equal(l.entries[1].split, "");
    cg_folder_list_free(&l);

    char msg[600];
    snprintf(msg, sizeof msg, "image 'img/nope.jpg' not found (%s: No such file or directory)",
             tpath("m/img/nope.jpg"));
    manifest_fails("path,y\nimg/a.jpg,1\n\nimg/nope.jpg,0\n", 2, 4, msg);
    manifest_fails("path,y,group\nimg/a.jpg,1,0\nimg/c.jpg,2,0\n", 2, 3,
                   "bad label y '2' (expected an integer in [0, 2))");
    manifest_fails("path,y\nimg/a.jpg,-1\n", 0, 2, "bad label y '-1' (expected an integer >= 0)");
    manifest_fails("path,y\nimg/a.jpg,x1\n", 2, 2,
                   "bad label y 'x1' (expected an integer in [0, 2))");
    manifest_fails("path,y\nimg/a.jpg,\n", 2, 2, "bad label y '' (expected an integer in [0, 2))");
    manifest_fails("path,y,split\nimg/a.jpg,1,train\nimg/c.jpg,1\n", 2, 3,
                   "2 columns, the header has 3");
    manifest_fails("path,y\nimg/a.jpg,1,extra\n", 2, 2, "3 columns, the header has 2");
    manifest_fails("path,label\nimg/a.jpg,1\n", 2, 1,
                   "the header has no 'y' column (expected path, y and optionally group, split)");
    manifest_fails("path,y,path\n", 2, 1, "column 'path' appears twice in the header");
    manifest_fails("path,y,group\nimg/a.jpg,1,g\n", 2, 2,
                   "bad group 'g' (expected an integer >= 0)");
    manifest_fails("path,y\nimg/a.jpg,1\n\"img/a.jpg,1\n", 2, 3, "unterminated quoted field");
    manifest_fails("path,y\n", 2, 2, "the manifest has a header but no rows");
    manifest_fails("", 2, 1, "empty manifest (expected a header with the columns path and y)");
    manifest_fails("path,y,split\nimg/a.jpg,1,a-very-long-split-name\n", 2, 2,
                   "bad split 'a-very-long-split-name' (1 to 15 characters)");
    snprintf(msg, sizeof msg, "image 'img' not found (%s: not a regular file)", tpath("m/img"));
    manifest_fails("path,y\nimg,1\n", 2, 2, msg);
}

/* Writes a 4-component JPEG (CMYK, or YCCK when ycck) with libjpeg directly: our writer only
 * writes grey and RGB. */
static void write_cmyk(const char *path, int ycck)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    jpeg_stdio_dest(&c, f);
    c.image_width = 8;
    c.image_height = 6;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, ycck ? JCS_YCCK : JCS_CMYK);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[8 * 4];
    for (int i = 0; i < 8 * 4; i++)
        row[i] = (uint8_t)(i * 7);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void test_jpeg_cmyk(void **state)
{
    (void)state;
    const char *p = tpath("cmyk.jpg");
    write_cmyk(p, 0);
    jpeg_fails(p, "unsupported JPEG colour space (CMYK, 4 components); only greyscale and "
                  "RGB/YCbCr images are read");
    write_cmyk(p, 1);
    jpeg_fails(p, "unsupported JPEG colour space (YCCK, 4 components); only greyscale and "
                  "RGB/YCbCr images are read");
    /* in a folder, the loader names the image */
    mkdir(tpath("cm"), 0755);
    mkdir(tpath("cm/a"), 0755);
    write_cmyk(tpath("cm/a/x.jpg"), 0);
    struct cg_folder_list l;
    struct cg_error e;
    float *x = NULL;
    assert_int_equal(cg_folder_scan(tpath("cm"), &l, &e), CG_OK);
    assert_int_equal(cg_folder_load(&l, 3, 4, 4, &x, &e), CG_ERR_INPUT);
    assert_null(x);
    assert_non_null(strstr(e.msg, tpath("cm/a/x.jpg")));
    assert_non_null(strstr(e.msg, "CMYK"));
    cg_folder_list_free(&l);
}

/* Runs CALL with the n-th allocation failing, n = 0, 1, ... until it succeeds: every failure
 * must be CG_ERR_NOMEM; FREE releases a success. At least one allocation must be hit. */
#define ALLOC_LOOP(CALL, FREE)                                                                    \
    do {                                                                                          \
        long n_;                                                                                  \
        for (n_ = 0; n_ < 10000; n_++) {                                                          \
            cg_alloc_fail_after(n_);                                                              \
            enum cg_status st_ = (CALL);                                                          \
            cg_alloc_fail_after(-1);                                                              \
            if (st_ == CG_OK) {                                                                   \
                FREE;                                                                             \
                break;                                                                            \
            }                                                                                     \
            if (st_ != CG_ERR_NOMEM)                                                              \
                fail_msg("%s: allocation %ld: status %d: %s", #CALL, n_, (int)st_, e.msg);        \
        }                                                                                         \
        assert_true(n_ > 0 && n_ < 10000);                                                        \
    } while (0)

static void test_alloc_failures(void **state)
{
    (void)state;
    struct cg_error e;
    /* IDX raw and gzip: write and read */
    uint8_t u8[24];
    for (int i = 0; i < 24; i++)
        u8[i] = (uint8_t)i;
    int64_t shape[3] = {2, 3, 4};
    const char *names[2] = {"al.idx", "al.idx.gz"};
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tpath(names[gz]);
        struct cg_idx a;
        ALLOC_LOOP(cg_idx_write(p, CG_IDX_U8, shape, 3, u8, &e), (void)0);
        ALLOC_LOOP(cg_idx_read(p, &a, &e), cg_idx_free(&a));
        size_t n;
        uint8_t *b = get_file(p, &n);
        ALLOC_LOOP(cg_idx_read_mem("mem", b, n, &a, &e), cg_idx_free(&a));
        cg_free(b);
    }
    /* JPEG: write, read, fit */
    uint8_t *px = smooth_image(20, 12, 3);
    const char *jp = tpath("al.jpg");
    ALLOC_LOOP(cg_jpeg_write(jp, 20, 12, 3, px, 90, &e), (void)0);
    cg_free(px);
    struct cg_image im, fit;
    ALLOC_LOOP(cg_jpeg_read(jp, &im, &e), cg_image_free(&im));
    assert_int_equal(cg_jpeg_read(jp, &im, &e), CG_OK);
    ALLOC_LOOP(cg_image_fit(&im, 7, 9, &fit, &e), cg_image_free(&fit));
    cg_image_free(&im);
    /* class folders and manifests: scan, read, select, load */
    mkdir(tpath("af"), 0755);
    mkdir(tpath("af/a"), 0755);
    mkdir(tpath("af/b"), 0755);
    write_jpeg(tpath("af/a/1.jpg"), 8, 8, 3, 10);
    write_jpeg(tpath("af/b/2.jpg"), 6, 8, 1, 20);
    const char *csv = "path,y,group,split\na/1.jpg,1,0,train\n\"b/2.jpg\",0,1,test\n"
                      "a/1.jpg,1,1,train\n";
    put_file(tpath("af/m.csv"), csv, strlen(csv));
    struct cg_folder_list l, sel;
    float *x;
    ALLOC_LOOP(cg_folder_scan(tpath("af"), &l, &e), cg_folder_list_free(&l));
    ALLOC_LOOP(cg_manifest_read(tpath("af/m.csv"), 2, &l, &e), cg_folder_list_free(&l));
    assert_int_equal(cg_manifest_read(tpath("af/m.csv"), 2, &l, &e), CG_OK);
    ALLOC_LOOP(cg_folder_select(&l, "train", &sel, &e), cg_folder_list_free(&sel));
    ALLOC_LOOP(cg_folder_load(&l, 3, 5, 5, &x, &e), cg_free(x));
    cg_folder_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_round_trip),  cmocka_unit_test(test_idx_broken),
        cmocka_unit_test(test_idx_gzip_broken), cmocka_unit_test(test_jpeg_round_trip),
        cmocka_unit_test(test_jpeg_corrupt),    cmocka_unit_test(test_resize_crop),
        cmocka_unit_test(test_folder_classes),  cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_jpeg_cmyk),       cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
