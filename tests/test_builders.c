/* test_builders.c: the data set builders of datasets.def on small synthetic MNIST-format
 * directories written here (IDX bytes by hand: 300 train / 100 test digits, 600 / 200 Fashion
 * items), checking the statistics that define each data set exactly: colored_mnist's colour
 * counts per class group and split, mnist_grid's cell (chi-square bound) and the digit in it,
 * shift_mnist's shortcut pixel, digits_on_objects' mixture 0.5 object + 0.5 digit, waterbirds_like's
 * correlation (train) and balance (test) with the JPEG export, latent_pairs' positives and mask
 * rate; then byte-identical saves for the same seed and different ones for another seed. */
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

#include "data/builders.h"
#include "data/dataset.h"

#define NTRAIN 300
#define NTEST 100

static char tmpdir[256], mnist_dir[300], fashion_dir[300];
static char mnist_arg[320], fashion_arg[320];

/* The synthetic images: image i of a split, label i % 10, a 4-pixel black border (so the
 * shortcut pixel of shift_mnist is 0 in every source image). */
static uint8_t pixel(int fashion, int split, int i, int r, int c)
{
    if (r < 4 || r >= 24 || c < 4 || c >= 24)
        return 0;
    int k = i % 10;
    if (!fashion && (r + c + k) % 3 == 0)
        return 0;
    return (uint8_t)((r * 7 + c * 13 + i * 31 + k * 17 + split * 5 + fashion * 101) % 256);
}

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

static void write_idx_pair(const char *dir, const char *prefix, int fashion, int split, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put_be32(f, 0x00000803);
    put_be32(f, (uint32_t)n);
    put_be32(f, 28);
    put_be32(f, 28);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
                fputc(pixel(fashion, split, i, r, c), f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    f = fopen(path, "wb");
    assert_non_null(f);
    put_be32(f, 0x00000801);
    put_be32(f, (uint32_t)n);
    for (int i = 0; i < n; i++)
        fputc(i % 10, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cg_test_builders_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(mnist_dir, sizeof mnist_dir, "%s/mnist", tmpdir);
    snprintf(fashion_dir, sizeof fashion_dir, "%s/fashion", tmpdir);
    mkdir(mnist_dir, 0777);
    mkdir(fashion_dir, 0777);
    write_idx_pair(mnist_dir, "train", 0, 0, NTRAIN);
    write_idx_pair(mnist_dir, "t10k", 0, 1, NTEST);
    write_idx_pair(fashion_dir, "train", 1, 0, 2 * NTRAIN);
    write_idx_pair(fashion_dir, "t10k", 1, 1, 2 * NTEST);
    snprintf(mnist_arg, sizeof mnist_arg, "%s", mnist_dir);
    snprintf(fashion_arg, sizeof fashion_arg, "%s", fashion_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static float src(int fashion, int split, int i, int q) { return (float)pixel(fashion, split, i, q / 28, q % 28) / 255.0f; }

/* Builds `name` with the synthetic sources plus extra params. */
static struct cg_dataset *build(const char *name, const char *k1, const char *v1, uint64_t seed)
{
    struct cg_data_param p[3];
    int n = 0;
    size_t nb;
    const struct cg_builder_def *b = cg_dataset_builders(&nb), *def = NULL;
    for (size_t i = 0; i < nb; i++)
        if (!strcmp(b[i].name, name))
            def = &b[i];
    assert_non_null(def);
    if (strstr(def->params, "mnist:"))
        p[n++] = (struct cg_data_param){"mnist", mnist_arg};
    if (strstr(def->params, "fashion:"))
        p[n++] = (struct cg_data_param){"fashion", fashion_arg};
    if (k1)
        p[n++] = (struct cg_data_param){k1, v1};
    struct cg_error e = {0};
    struct cg_dataset *d = NULL;
    if (cg_dataset_build(name, p, n, seed, &d, &e) != CG_OK)
        fail_msg("%s: %s", name, e.msg);
    return d;
}

static const struct cg_field *field(const struct cg_split *s, const char *name, size_t count)
{
    const struct cg_field *f = cg_split_field(s, name);
    if (!f)
        fail_msg("no field %s", name);
    assert_int_equal(f->count, count);
    return f;
}

#define I32(f) ((const int32_t *)(f)->data)
#define F32(f) ((const float *)(f)->data)

static void test_mnist(void **state)
{
    (void)state;
    struct cg_dataset *d = build("mnist", NULL, NULL, 0);
    for (int s = 0; s < 2; s++) {
        const struct cg_split *sp = s ? &d->test : &d->train;
        int n = s ? NTEST : NTRAIN;
        const struct cg_field *x = field(sp, "x", (size_t)n), *y = field(sp, "y", (size_t)n);
        assert_int_equal(x->rank, 3);
        assert_int_equal(x->shape[0], 1);
        assert_int_equal(x->shape[1], 28);
        for (int i = 0; i < n; i++) {
            assert_int_equal(I32(y)[i], i % 10);
            for (int q = 0; q < 784; q++)
                assert_true(F32(x)[(size_t)i * 784 + (size_t)q] == src(0, s, i, q));
        }
    }
    cg_dataset_free(d);
    d = build("fashion_mnist", NULL, NULL, 0);
    assert_int_equal(d->train.count, 2 * NTRAIN);
    assert_true(F32(field(&d->test, "x", 2 * NTEST))[5 * 784 + 300] == src(1, 1, 5, 300));
    cg_dataset_free(d);
}

static void check_colored(double alpha, uint64_t seed)
{
    char a[32];
    snprintf(a, sizeof a, "%g", alpha);
    struct cg_dataset *d = build("colored_mnist", "alpha", a, seed);
    static const float rgb[2][3] = {{1, 1, 0}, {0, 0, 1}};
    for (int s = 0; s < 2; s++) {
        const struct cg_split *sp = s ? &d->test : &d->train;
        size_t n = s ? NTEST : NTRAIN;
        const struct cg_field *x = field(sp, "x", n), *y = field(sp, "y", n);
        const struct cg_field *dg = field(sp, "digit", n), *col = field(sp, "color", n);
        assert_int_equal(x->shape[0], 3);
        size_t group_n[2] = {0, 0}, own[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            int g = I32(dg)[i] >= 5;
            assert_int_equal(I32(dg)[i], (int)(i % 10));
            assert_int_equal(I32(y)[i], g);
            int c = I32(col)[i];
            assert_true(c == 0 || c == 1);
            group_n[g]++;
            own[g] += c == g; /* 0-4 yellow (0), 5-9 blue (1) */
            for (int ch = 0; ch < 3; ch++)
                for (int q = 0; q < 784; q += 7) {
                    float v = src(0, s, (int)i, q);
                    assert_true(F32(x)[(i * 3 + (size_t)ch) * 784 + (size_t)q] ==
                                v + (1.0f - v) * rgb[c][ch]);
                }
        }
        for (int g = 0; g < 2; g++) {
            size_t want = s ? group_n[g] : (size_t)floor(alpha / 100.0 * (double)group_n[g] + 0.5);
            if (own[g] != want)
                fail_msg("alpha %g split %d group %d: %zu of %zu in the group's colour, want %zu",
                         alpha, s, g, own[g], group_n[g], want);
        }
    }
    cg_dataset_free(d);
}

static void test_colored_mnist(void **state)
{
    (void)state;
    check_colored(1, 0);   /* round(1.5) = 2 of 150 */
    check_colored(0.5, 3); /* round(0.75) = 1 */
    check_colored(2, 4);
    check_colored(10, 5);
    check_colored(0, 6);
    check_colored(100, 7);
    struct cg_error e = {0};
    struct cg_dataset *d = NULL;
    const struct cg_data_param p[] = {{"mnist", mnist_arg}, {"alpha", "101"}};
    assert_int_equal(cg_dataset_build("colored_mnist", p, 2, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "alpha"));
}

static void test_mnist_grid(void **state)
{
    (void)state;
    for (uint64_t seed = 0; seed < 4; seed++) {
        struct cg_dataset *d = build("mnist_grid", NULL, NULL, seed);
        for (int s = 0; s < 2; s++) {
            const struct cg_split *sp = s ? &d->test : &d->train;
            size_t n = s ? NTEST : NTRAIN;
            const struct cg_field *x = field(sp, "x", n), *cell = field(sp, "cell", n);
            assert_int_equal(x->shape[1], 84);
            assert_int_equal(I32(field(sp, "y", n))[7], 7);
            double cnt[9] = {0};
            for (size_t i = 0; i < n; i++) {
                int c = I32(cell)[i];
                assert_true(c >= 0 && c < 9);
                cnt[c]++;
                int r0 = (c / 3) * 28, c0 = (c % 3) * 28;
                for (int r = 0; r < 84; r++)
                    for (int k = 0; k < 84; k++) {
                        int in = r >= r0 && r < r0 + 28 && k >= c0 && k < c0 + 28;
                        float want = in ? src(0, s, (int)i, (r - r0) * 28 + (k - c0)) : 0.0f;
                        assert_true(F32(x)[i * 84 * 84 + (size_t)r * 84 + (size_t)k] == want);
                    }
            }
            /* Uniform: chi-square with 8 degrees of freedom below 26.12 (p = 0.001). */
            double chi = 0, ex = (double)n / 9.0;
            for (int c = 0; c < 9; c++)
                chi += (cnt[c] - ex) * (cnt[c] - ex) / ex;
            if (chi > 26.12)
                fail_msg("seed %llu split %d: chi-square %g", (unsigned long long)seed, s, chi);
        }
        cg_dataset_free(d);
    }
}

static void test_shift_mnist(void **state)
{
    (void)state;
    struct cg_dataset *d = build("shift_mnist", NULL, NULL, 0);
    const struct cg_field *x = field(&d->train, "x", NTRAIN), *y = field(&d->train, "y", NTRAIN);
    assert_null(cg_split_field(&d->train, "x_shortcut"));
    for (size_t i = 0; i < NTRAIN; i++) {
        int sc = 28 + 4 + 2 * I32(y)[i];
        for (int q = 0; q < 784; q++)
            assert_true(F32(x)[i * 784 + (size_t)q] == (q == sc ? 1.0f : src(0, 0, (int)i, q)));
    }
    const struct cg_field *xt = field(&d->test, "x", NTEST), *xs = field(&d->test, "x_shortcut", NTEST);
    const struct cg_field *yt = field(&d->test, "y", NTEST);
    for (size_t i = 0; i < NTEST; i++) {
        int sc = 28 + 4 + 2 * I32(yt)[i];
        for (int q = 0; q < 784; q++) {
            assert_true(F32(xt)[i * 784 + (size_t)q] == src(0, 1, (int)i, q));
            assert_true(F32(xs)[i * 784 + (size_t)q] == (q == sc ? 1.0f : src(0, 1, (int)i, q)));
        }
        assert_true(F32(xt)[i * 784 + (size_t)sc] == 0.0f); /* absent from the plain test */
    }
    cg_dataset_free(d);
}

static void test_digits_on_objects(void **state)
{
    (void)state;
    struct cg_dataset *d = build("digits_on_objects", NULL, NULL, 3);
    for (int s = 0; s < 2; s++) {
        const struct cg_split *sp = s ? &d->test : &d->train;
        size_t nt = s ? NTEST : NTRAIN, n = 2 * nt;
        const struct cg_field *x = field(sp, "x", n), *tg = field(sp, "is_target", n);
        const struct cg_field *dg = field(sp, "digit", n), *ob = field(sp, "object", n);
        const struct cg_field *it = field(sp, "item", n), *di = field(sp, "digit_item", n);
        size_t targets = 0;
        uint8_t used_item[2 * NTRAIN] = {0}, used_digit[NTRAIN] = {0};
        for (size_t i = 0; i < n; i++) {
            int t = I32(tg)[i], item = I32(it)[i], dj = I32(di)[i];
            assert_true(t == 0 || t == 1);
            targets += (size_t)t;
            assert_true(item >= 0 && (size_t)item < n);
            assert_false(used_item[item]);
            used_item[item] = 1;
            assert_int_equal(I32(ob)[i], item % 10);
            if (t) {
                assert_true(dj >= 0 && (size_t)dj < nt);
                assert_false(used_digit[dj]);
                used_digit[dj] = 1;
                assert_int_equal(I32(dg)[i], dj % 10);
            } else {
                assert_int_equal(dj, -1);
                assert_int_equal(I32(dg)[i], -1);
            }
            for (int q = 0; q < 784; q++) {
                float o = src(1, s, item, q);
                float want = t ? 0.5f * o + 0.5f * src(0, s, dj, q) : o;
                assert_true(F32(x)[i * 784 + (size_t)q] == want);
            }
        }
        assert_int_equal(targets, nt);
        /* Shuffled: not all backgrounds first. */
        size_t first_half = 0;
        for (size_t i = 0; i < nt; i++)
            first_half += (size_t)I32(tg)[i];
        assert_true(first_half > nt / 4 && first_half < 3 * nt / 4);
    }
    cg_dataset_free(d);
}

static void check_waterbirds(double corr, uint64_t seed)
{
    char c[32];
    snprintf(c, sizeof c, "%g", corr);
    struct cg_dataset *d = build("waterbirds_like", "corr", c, seed);
    for (int s = 0; s < 2; s++) {
        const struct cg_split *sp = s ? &d->test : &d->train;
        size_t n = s ? NTEST : NTRAIN;
        const struct cg_field *x = field(sp, "x", n), *y = field(sp, "y", n);
        const struct cg_field *pl = field(sp, "place", n), *gr = field(sp, "group", n);
        const struct cg_field *dg = field(sp, "digit", n), *ob = field(sp, "object", n);
        const struct cg_field *it = field(sp, "item", n);
        size_t cls_n[2] = {0, 0}, match[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            int yi = I32(y)[i], p = I32(pl)[i], item = I32(it)[i];
            assert_int_equal(I32(dg)[i], (int)(i % 10));
            assert_int_equal(yi, I32(dg)[i] >= 5);
            assert_int_equal(I32(gr)[i], 2 * yi + p);
            assert_int_equal(I32(ob)[i], item % 10);
            assert_int_equal(p, I32(ob)[i] >= 5); /* land 0-4, water 5-9 */
            cls_n[yi]++;
            match[yi] += p == yi;
            for (int q = 0; q < 784; q++) {
                float dv = src(0, s, (int)i, q), ov = src(1, s, item, q);
                assert_true(F32(x)[i * 784 + (size_t)q] == dv + (1.0f - dv) * 0.5f * ov);
            }
        }
        double p = s ? 0.5 : corr / 100.0;
        for (int k = 0; k < 2; k++)
            if (match[k] != (size_t)floor(p * (double)cls_n[k] + 0.5))
                fail_msg("corr %g split %d class %d: %zu of %zu on their own place", corr, s, k,
                         match[k], cls_n[k]);
    }
    cg_dataset_free(d);
}

static void test_waterbirds_like(void **state)
{
    (void)state;
    check_waterbirds(95, 0);
    check_waterbirds(80, 1);
    /* The JPEG export: one file per example and metadata.csv rows path,y,group,split. */
    struct cg_dataset *d = build("waterbirds_like", NULL, NULL, 2);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/wb", tmpdir);
    mkdir(dir, 0777);
    struct cg_error e = {0};
    assert_int_equal(cg_dataset_write_jpegs(d, dir, &e), CG_OK);
    snprintf(path, sizeof path, "%s/metadata.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "path,y,group,split\n");
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        char p[128], split[16];
        int y, g;
        assert_int_equal(sscanf(line, "%127[^,],%d,%d,%15s", p, &y, &g, split), 4);
        const struct cg_split *sp = rows < NTRAIN ? &d->train : &d->test;
        size_t i = rows < NTRAIN ? rows : rows - NTRAIN;
        assert_string_equal(split, rows < NTRAIN ? "train" : "test");
        assert_int_equal(y, I32(cg_split_field(sp, "y"))[i]);
        assert_int_equal(g, I32(cg_split_field(sp, "group"))[i]);
        char jp[800];
        snprintf(jp, sizeof jp, "%s/%s", dir, p);
        struct stat st;
        assert_int_equal(stat(jp, &st), 0);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, NTRAIN + NTEST);
    cg_dataset_free(d);
}

static void test_latent_pairs(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        const char *pc = mode == 0 ? "0.75" : mode == 1 ? "0" : "1";
        struct cg_dataset *d = build("latent_pairs", "p_change", pc, 11);
        const struct cg_split *sp = &d->train;
        size_t n = 10000;
        const struct cg_field *x = field(sp, "x", n), *xp = field(sp, "x_pos", n);
        const struct cg_field *xn = field(sp, "x_neg", n), *c = field(sp, "c", n);
        const struct cg_field *s = field(sp, "s", n), *spos = field(sp, "s_pos", n);
        assert_int_equal(x->shape[0], 10);
        assert_int_equal(c->shape[0], 5);
        size_t changed = 0;
        for (size_t i = 0; i < n; i++) {
            int any = 0;
            for (int k = 0; k < 5; k++) {
                int ch = F32(spos)[i * 5 + (size_t)k] != F32(s)[i * 5 + (size_t)k];
                changed += (size_t)ch;
                any |= ch;
            }
            /* The positive shares c: with no style change it is the same point x. */
            int same = !memcmp(F32(x) + i * 10, F32(xp) + i * 10, 40);
            assert_int_equal(same, !any);
            assert_true(memcmp(F32(x) + i * 10, F32(xn) + i * 10, 40) != 0);
        }
        double rate = (double)changed / (double)(5 * n);
        if (mode == 0 && fabs(rate - 0.75) > 0.02)
            fail_msg("mask rate %g", rate);
        if (mode == 1)
            assert_int_equal(changed, 0);
        if (mode == 2)
            assert_int_equal(changed, 5 * n);
        if (mode == 0) {
            /* c ~ N(0, Sc): zero mean within 5 standard errors of a sample covariance. */
            for (int k = 0; k < 5; k++) {
                double m = 0, v = 0;
                for (size_t i = 0; i < n; i++)
                    m += F32(c)[i * 5 + (size_t)k];
                m /= (double)n;
                for (size_t i = 0; i < n; i++)
                    v += pow(F32(c)[i * 5 + (size_t)k] - m, 2);
                v /= (double)n;
                assert_true(fabs(m) < 5 * sqrt(v / (double)n));
                assert_true(v > 0);
            }
            assert_int_equal(d->test.count, 2000);
        }
        cg_dataset_free(d);
    }
}

static int files_equal(const char *a, const char *b)
{
    char *ta = NULL, *tb = NULL;
    size_t la, lb;
    struct cg_error e = {0};
    if (cg_read_file(a, 1 << 28, &ta, &la, &e) != CG_OK)
        fail_msg("%s", e.msg);
    if (cg_read_file(b, 1 << 28, &tb, &lb, &e) != CG_OK)
        fail_msg("%s", e.msg);
    int same = la == lb && !memcmp(ta, tb, la);
    cg_free(ta);
    cg_free(tb);
    return same;
}

/* Same seed: byte-identical files; another seed: some field differs (except for the data sets
 * without random choices). */
static void test_determinism(void **state)
{
    (void)state;
    size_t nb;
    const struct cg_builder_def *b = cg_dataset_builders(&nb);
    for (size_t k = 0; k < nb; k++) {
        const char *name = b[k].name;
        int latent = !strcmp(name, "latent_pairs");
        char dirs[3][512];
        for (int r = 0; r < 3; r++) {
            struct cg_dataset *d = latent ? build(name, "n_train", "500", r == 2 ? 8 : 7)
                                          : build(name, NULL, NULL, r == 2 ? 8 : 7);
            snprintf(dirs[r], sizeof dirs[r], "%s/det_%s_%d", tmpdir, name, r);
            struct cg_error e = {0};
            assert_int_equal(cg_dataset_save(d, dirs[r], &e), CG_OK);
            cg_dataset_free(d);
        }
        struct cg_dataset *d = NULL;
        struct cg_error e = {0};
        assert_int_equal(cg_dataset_load(dirs[0], &d, &e), CG_OK);
        int differs = 0;
        for (int s = 0; s < 2; s++) {
            const struct cg_split *sp = s ? &d->test : &d->train;
            for (int i = 0; i < sp->nfields; i++) {
                char a[700], bb[700], c[700];
                const char *sn = s ? "test" : "train";
                snprintf(a, sizeof a, "%s/%s/%s.npy", dirs[0], sn, sp->fields[i].name);
                snprintf(bb, sizeof bb, "%s/%s/%s.npy", dirs[1], sn, sp->fields[i].name);
                snprintf(c, sizeof c, "%s/%s/%s.npy", dirs[2], sn, sp->fields[i].name);
                if (!files_equal(a, bb))
                    fail_msg("%s: %s differs between two builds with the same seed", name, a);
                differs |= !files_equal(a, c);
            }
        }
        char a[700], bb[700];
        snprintf(a, sizeof a, "%s/info.json", dirs[0]);
        snprintf(bb, sizeof bb, "%s/info.json", dirs[1]);
        assert_true(files_equal(a, bb));
        int plain = !strcmp(name, "mnist") || !strcmp(name, "fashion_mnist") ||
                    !strcmp(name, "shift_mnist"); /* no random choices */
        if (differs == plain)
            fail_msg("%s: seeds 7 and 8 give %s data", name, differs ? "different" : "the same");
        cg_dataset_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist),
        cmocka_unit_test(test_colored_mnist),
        cmocka_unit_test(test_mnist_grid),
        cmocka_unit_test(test_shift_mnist),
        cmocka_unit_test(test_digits_on_objects),
        cmocka_unit_test(test_waterbirds_like),
        cmocka_unit_test(test_latent_pairs),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
