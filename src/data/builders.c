/* builders.c: the data set builders of datasets.def (the seed papers' data sets, SEEDS.md), and
 * the JPEG + metadata.csv export of a data set (builders.h).
 *
 * Every random choice comes from a splitmix64 stream (util/splitmix.h) derived from the seed and
 * a fixed tag per purpose, so the same seed and parameters give byte-identical fields on every
 * machine. Images come from cg_source_mnist / cg_source_fashion (sources.h) and become f32 as
 * byte / 255.0f. Exact proportions (colored_mnist's alpha, waterbirds_like's correlation) are
 * met by choosing exactly round(p * n) examples of each group with a seeded shuffle. The exact
 * constructions are in docs/DATA.md. */
#include "data/builders.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/jpeg.h"
#include "data/sources.h"
#include "util/splitmix.h"

/* Tags of the streams: stream(seed, tag) = r(seed, tag) seeds an independent stream. */
enum {
    TAG_COLOR = 1,  /* colored_mnist train colours: +0 digits 0-4, +1 digits 5-9 */
    TAG_CELL = 3,   /* mnist_grid cells: +0 train, +1 test */
    TAG_OBJ = 5,    /* digits_on_objects item permutation: +0 train, +1 test */
    TAG_ORDER = 7,  /* digits_on_objects example order: +0 train, +1 test */
    TAG_PLACE = 9,  /* waterbirds_like places: +2*split + y */
    TAG_BG = 13,    /* waterbirds_like background items: +0 train, +1 test */
    TAG_MODEL = 15, /* latent_pairs generative model */
    TAG_LAT = 17,   /* latent_pairs examples: +0 train, +1 test */
};

static uint64_t stream(uint64_t seed, uint64_t tag) { return cg_splitmix_r(seed, tag); }

/* A double in [0, 1) with 53 random bits: element i of stream s. */
static double u53(uint64_t s, uint64_t i) { return (double)(cg_splitmix_r(s, i) >> 11) * 0x1p-53; }

/* A standard normal from elements 2i and 2i+1 of stream s (Box-Muller, cosine branch). */
static double normal(uint64_t s, uint64_t i)
{
    double u1 = u53(s, 2 * i), u2 = u53(s, 2 * i + 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586476925 * u2);
}

/* Shuffles a[0..n) with stream s (Fisher-Yates from the end, j = floor(u(s, i) * (i + 1))). */
static void shuffle(size_t *a, size_t n, uint64_t s)
{
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)(u53(s, i) * (double)(i + 1));
        size_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* round(p * n), halves away from zero. */
static size_t round_count(double p, size_t n) { return (size_t)floor(p * (double)n + 0.5); }

/* Marks mark[idx[k]] = 1 for exactly round(p * n) of the n indices idx (chosen by shuffling a
 * copy with stream s), 0 for the others. */
static enum cg_status choose_exact(const size_t *idx, size_t n, double p, uint64_t s,
                                   uint8_t *mark, struct cg_error *e)
{
    size_t *c = cg_malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return cg_error_nomem(e);
    memcpy(c, idx, n * sizeof *c);
    shuffle(c, n, s);
    size_t k = round_count(p, n);
    for (size_t i = 0; i < n; i++)
        mark[c[i]] = i < k;
    cg_free(c);
    return CG_OK;
}

static float px(uint8_t b) { return (float)b / 255.0f; }

static const char *source_dir(const struct cg_data_param *p, int n, const char *key)
{
    const char *d = cg_data_param_str(p, n, key, NULL);
    return d && strcmp(d, "none") ? d : NULL;
}

static enum cg_status need_28(const struct cg_images *im, const char *what, struct cg_error *e)
{
    if (im->h != 28 || im->w != 28)
        return cg_error_set(e, CG_ERR_INPUT, "%s images are %dx%d, need 28x28", what, im->h,
                            im->w);
    if (im->count == 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s has no images", what);
    return CG_OK;
}

/* Loads MNIST (and Fashion-MNIST when fashion is not NULL) for a builder; on failure frees
 * whatever was loaded. */
static enum cg_status load_sources(const struct cg_data_param *p, int n, struct cg_images mn[2],
                                   struct cg_images *fa, struct cg_error *e)
{
    memset(mn, 0, 2 * sizeof *mn);
    if (fa)
        memset(fa, 0, 2 * sizeof *fa);
    enum cg_status st = cg_source_mnist(source_dir(p, n, "mnist"), &mn[0], &mn[1], e);
    if (st == CG_OK)
        st = need_28(&mn[0], "MNIST train", e);
    if (st == CG_OK)
        st = need_28(&mn[1], "MNIST test", e);
    if (st == CG_OK && fa) {
        st = cg_source_fashion(source_dir(p, n, "fashion"), &fa[0], &fa[1], e);
        if (st == CG_OK)
            st = need_28(&fa[0], "Fashion-MNIST train", e);
        if (st == CG_OK)
            st = need_28(&fa[1], "Fashion-MNIST test", e);
    }
    if (st != CG_OK) {
        cg_images_free(&mn[0]);
        cg_images_free(&mn[1]);
        if (fa) {
            cg_images_free(&fa[0]);
            cg_images_free(&fa[1]);
        }
    }
    return st;
}

static void free_sources(struct cg_images mn[2], struct cg_images *fa)
{
    cg_images_free(&mn[0]);
    cg_images_free(&mn[1]);
    if (fa) {
        cg_images_free(&fa[0]);
        cg_images_free(&fa[1]);
    }
}

static const int64_t SHAPE_1x28[3] = {1, 28, 28};

/* Adds an i32 field and returns its data. */
static enum cg_status add_i32(struct cg_split *s, const char *name, size_t count, int32_t **out,
                              struct cg_error *e)
{
    struct cg_field *f;
    CG_TRY(cg_split_add(s, name, CG_NPY_I32, 0, NULL, count, &f, e));
    *out = f->data;
    return CG_OK;
}

static enum cg_status add_f32(struct cg_split *s, const char *name, int rank,
                              const int64_t *shape, size_t count, float **out,
                              struct cg_error *e)
{
    struct cg_field *f;
    CG_TRY(cg_split_add(s, name, CG_NPY_F32, rank, shape, count, &f, e));
    *out = f->data;
    return CG_OK;
}

/* x f32[1,28,28] and y i32 of a grey source split. */
static enum cg_status plain_split(struct cg_split *s, const struct cg_images *im,
                                  struct cg_error *e)
{
    float *x;
    int32_t *y;
    CG_TRY(add_f32(s, "x", 3, SHAPE_1x28, im->count, &x, e));
    CG_TRY(add_i32(s, "y", im->count, &y, e));
    for (size_t i = 0; i < im->count * 784; i++)
        x[i] = px(im->pixels[i]);
    memcpy(y, im->labels, im->count * sizeof *y);
    return CG_OK;
}

/* ---- mnist, fashion_mnist ------------------------------------------------------------------ */

enum cg_status cg_build_mnist(struct cg_dataset *d, const struct cg_data_param *p, int n,
                              struct cg_error *e)
{
    struct cg_images mn[2];
    CG_TRY(load_sources(p, n, mn, NULL, e));
    enum cg_status st = plain_split(&d->train, &mn[0], e);
    if (st == CG_OK)
        st = plain_split(&d->test, &mn[1], e);
    free_sources(mn, NULL);
    return st;
}

enum cg_status cg_build_fashion_mnist(struct cg_dataset *d, const struct cg_data_param *p, int n,
                                      struct cg_error *e)
{
    struct cg_images fa[2] = {{0}};
    enum cg_status st = cg_source_fashion(source_dir(p, n, "fashion"), &fa[0], &fa[1], e);
    if (st == CG_OK)
        st = need_28(&fa[0], "Fashion-MNIST train", e);
    if (st == CG_OK)
        st = need_28(&fa[1], "Fashion-MNIST test", e);
    if (st == CG_OK)
        st = plain_split(&d->train, &fa[0], e);
    if (st == CG_OK)
        st = plain_split(&d->test, &fa[1], e);
    cg_images_free(&fa[0]);
    cg_images_free(&fa[1]);
    return st;
}

/* ---- colored_mnist ------------------------------------------------------------------------- */

/* Fills one split; colour[i] (0 yellow (1,1,0), 1 blue (0,0,1)) given. */
static enum cg_status colored_split(struct cg_split *s, const struct cg_images *im,
                                    const uint8_t *colour, struct cg_error *e)
{
    static const int64_t shape[3] = {3, 28, 28};
    static const float rgb[2][3] = {{1, 1, 0}, {0, 0, 1}};
    float *x;
    int32_t *y, *digit, *col;
    CG_TRY(add_f32(s, "x", 3, shape, im->count, &x, e));
    CG_TRY(add_i32(s, "y", im->count, &y, e));
    CG_TRY(add_i32(s, "digit", im->count, &digit, e));
    CG_TRY(add_i32(s, "color", im->count, &col, e));
    for (size_t i = 0; i < im->count; i++) {
        digit[i] = im->labels[i];
        y[i] = im->labels[i] >= 5;
        col[i] = colour[i];
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 784; k++) {
                float v = px(im->pixels[i * 784 + (size_t)k]);
                x[(i * 3 + (size_t)c) * 784 + (size_t)k] = v + (1.0f - v) * rgb[colour[i]][c];
            }
    }
    return CG_OK;
}

enum cg_status cg_build_colored_mnist(struct cg_dataset *d, const struct cg_data_param *p, int n,
                                      struct cg_error *e)
{
    double alpha;
    CG_TRY(cg_data_param_f64(p, n, "alpha", 1.0, &alpha, e));
    if (!(alpha >= 0 && alpha <= 100))
        return cg_error_set(e, CG_ERR_INPUT, "parameter alpha: %g is not a percentage in "
                            "[0, 100]", alpha);
    struct cg_images mn[2];
    CG_TRY(load_sources(p, n, mn, NULL, e));
    enum cg_status st = CG_OK;
    size_t nmax = mn[0].count > mn[1].count ? mn[0].count : mn[1].count;
    uint8_t *colour = cg_malloc(nmax);
    size_t *idx = cg_malloc(nmax * sizeof *idx);
    uint8_t *mark = cg_malloc(nmax);
    if (!colour || !idx || !mark) {
        st = cg_error_nomem(e);
        goto error;
    }
    /* Train: in group g (0: digits 0-4, 1: 5-9) exactly round(alpha% of the group) get the
     * group's own colour (0-4 yellow, 5-9 blue), the others the opposite one. */
    for (int g = 0; g < 2; g++) {
        size_t m = 0;
        for (size_t i = 0; i < mn[0].count; i++)
            if ((mn[0].labels[i] >= 5) == g)
                idx[m++] = i;
        st = choose_exact(idx, m, alpha / 100.0, stream(d->seed, TAG_COLOR + (uint64_t)g), mark,
                          e);
        if (st != CG_OK)
            goto error;
        for (size_t k = 0; k < m; k++)
            colour[idx[k]] = mark[idx[k]] ? (uint8_t)g : (uint8_t)(1 - g);
    }
    st = colored_split(&d->train, &mn[0], colour, e);
    if (st != CG_OK)
        goto error;
    for (size_t i = 0; i < mn[1].count; i++)
        colour[i] = mn[1].labels[i] >= 5;
    st = colored_split(&d->test, &mn[1], colour, e);
error:
    cg_free(colour);
    cg_free(idx);
    cg_free(mark);
    free_sources(mn, NULL);
    return st;
}

/* ---- mnist_grid ---------------------------------------------------------------------------- */

static enum cg_status grid_split(struct cg_split *s, const struct cg_images *im, uint64_t st_cell,
                                 struct cg_error *e)
{
    static const int64_t shape[3] = {1, 84, 84};
    float *x;
    int32_t *y, *cell;
    CG_TRY(add_f32(s, "x", 3, shape, im->count, &x, e));
    CG_TRY(add_i32(s, "y", im->count, &y, e));
    CG_TRY(add_i32(s, "cell", im->count, &cell, e));
    for (size_t i = 0; i < im->count; i++) {
        int c = (int)(u53(st_cell, i) * 9.0);
        cell[i] = c;
        y[i] = im->labels[i];
        int r0 = (c / 3) * 28, c0 = (c % 3) * 28;
        for (int r = 0; r < 28; r++)
            for (int k = 0; k < 28; k++)
                x[i * 84 * 84 + (size_t)(r0 + r) * 84 + (size_t)(c0 + k)] =
                    px(im->pixels[i * 784 + (size_t)r * 28 + (size_t)k]);
    }
    return CG_OK;
}

enum cg_status cg_build_mnist_grid(struct cg_dataset *d, const struct cg_data_param *p, int n,
                                   struct cg_error *e)
{
    struct cg_images mn[2];
    CG_TRY(load_sources(p, n, mn, NULL, e));
    enum cg_status st = grid_split(&d->train, &mn[0], stream(d->seed, TAG_CELL), e);
    if (st == CG_OK)
        st = grid_split(&d->test, &mn[1], stream(d->seed, TAG_CELL + 1), e);
    free_sources(mn, NULL);
    return st;
}

/* ---- shift_mnist --------------------------------------------------------------------------- */

/* Copies the digits into x, setting the shortcut pixel (row 1, column 4 + 2y) to 1. */
static void shortcut(float *x, const struct cg_images *im)
{
    for (size_t i = 0; i < im->count; i++)
        x[i * 784 + 28 + 4 + 2 * (size_t)im->labels[i]] = 1.0f;
}

enum cg_status cg_build_shift_mnist(struct cg_dataset *d, const struct cg_data_param *p, int n,
                                    struct cg_error *e)
{
    struct cg_images mn[2];
    CG_TRY(load_sources(p, n, mn, NULL, e));
    float *xs;
    enum cg_status st = plain_split(&d->train, &mn[0], e);
    if (st == CG_OK)
        st = plain_split(&d->test, &mn[1], e);
    if (st == CG_OK)
        st = add_f32(&d->test, "x_shortcut", 3, SHAPE_1x28, mn[1].count, &xs, e);
    if (st == CG_OK) {
        shortcut(d->train.fields[0].data, &mn[0]);
        for (size_t i = 0; i < mn[1].count * 784; i++)
            xs[i] = px(mn[1].pixels[i]);
        shortcut(xs, &mn[1]);
    }
    free_sources(mn, NULL);
    return st;
}

/* ---- digits_on_objects --------------------------------------------------------------------- */

static enum cg_status objects_split(struct cg_split *s, const struct cg_images *mn,
                                    const struct cg_images *fa, uint64_t seed, int split,
                                    struct cg_error *e)
{
    size_t nt = mn->count < fa->count / 2 ? mn->count : fa->count / 2;
    if (nt == 0)
        return cg_error_set(e, CG_ERR_INPUT, "digits_on_objects needs at least 2 Fashion-MNIST "
                            "items per split");
    size_t *items = cg_malloc(fa->count * sizeof *items);
    size_t *order = cg_malloc(2 * nt * sizeof *order);
    enum cg_status st = CG_OK;
    float *x;
    int32_t *tg, *dg, *ob, *itf, *dif;
    if (!items || !order) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (size_t i = 0; i < fa->count; i++)
        items[i] = i;
    shuffle(items, fa->count, stream(seed, TAG_OBJ + (uint64_t)split));
    for (size_t i = 0; i < 2 * nt; i++)
        order[i] = i;
    shuffle(order, 2 * nt, stream(seed, TAG_ORDER + (uint64_t)split));
    if ((st = add_f32(s, "x", 3, SHAPE_1x28, 2 * nt, &x, e)) != CG_OK ||
        (st = add_i32(s, "is_target", 2 * nt, &tg, e)) != CG_OK ||
        (st = add_i32(s, "digit", 2 * nt, &dg, e)) != CG_OK ||
        (st = add_i32(s, "object", 2 * nt, &ob, e)) != CG_OK ||
        (st = add_i32(s, "item", 2 * nt, &itf, e)) != CG_OK ||
        (st = add_i32(s, "digit_item", 2 * nt, &dif, e)) != CG_OK)
        goto error;
    /* Example k < nt is background k (item items[k]); k >= nt is target k - nt (item
     * items[k], digit k - nt); example order[k] of the split holds example k. */
    for (size_t k = 0; k < 2 * nt; k++) {
        size_t o = order[k], it = items[k];
        int target = k >= nt;
        tg[o] = target;
        ob[o] = fa->labels[it];
        dg[o] = target ? mn->labels[k - nt] : -1;
        itf[o] = (int32_t)it;
        dif[o] = target ? (int32_t)(k - nt) : -1;
        for (size_t q = 0; q < 784; q++) {
            float v = px(fa->pixels[it * 784 + q]);
            x[o * 784 + q] = target ? 0.5f * v + 0.5f * px(mn->pixels[(k - nt) * 784 + q]) : v;
        }
    }
error:
    cg_free(items);
    cg_free(order);
    return st;
}

enum cg_status cg_build_digits_on_objects(struct cg_dataset *d, const struct cg_data_param *p,
                                          int n, struct cg_error *e)
{
    struct cg_images mn[2], fa[2];
    CG_TRY(load_sources(p, n, mn, fa, e));
    enum cg_status st = objects_split(&d->train, &mn[0], &fa[0], d->seed, 0, e);
    if (st == CG_OK)
        st = objects_split(&d->test, &mn[1], &fa[1], d->seed, 1, e);
    free_sources(mn, fa);
    return st;
}

/* ---- waterbirds_like ----------------------------------------------------------------------- */

static enum cg_status water_split(struct cg_split *s, const struct cg_images *mn,
                                  const struct cg_images *fa, double p, uint64_t seed, int split,
                                  struct cg_error *e)
{
    size_t nm = mn->count;
    size_t *idx = cg_malloc(nm * sizeof *idx), *pool[2] = {NULL, NULL}, npool[2] = {0, 0};
    uint8_t *mark = cg_malloc(nm);
    enum cg_status st = CG_OK;
    float *x;
    int32_t *y, *place, *group, *digit, *object, *item;
    pool[0] = cg_malloc(fa->count * sizeof *pool[0]);
    pool[1] = cg_malloc(fa->count * sizeof *pool[1]);
    if (!idx || !mark || !pool[0] || !pool[1]) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (size_t i = 0; i < fa->count; i++) {
        int pl = fa->labels[i] >= 5;
        pool[pl][npool[pl]++] = i;
    }
    if (!npool[0] || !npool[1]) {
        st = cg_error_set(e, CG_ERR_INPUT, "Fashion-MNIST %s has no %s items (classes %s)",
                          split ? "test" : "train", npool[0] ? "water" : "land",
                          npool[0] ? "5-9" : "0-4");
        goto error;
    }
    if ((st = add_f32(s, "x", 3, SHAPE_1x28, nm, &x, e)) != CG_OK ||
        (st = add_i32(s, "y", nm, &y, e)) != CG_OK ||
        (st = add_i32(s, "place", nm, &place, e)) != CG_OK ||
        (st = add_i32(s, "group", nm, &group, e)) != CG_OK ||
        (st = add_i32(s, "digit", nm, &digit, e)) != CG_OK ||
        (st = add_i32(s, "object", nm, &object, e)) != CG_OK ||
        (st = add_i32(s, "item", nm, &item, e)) != CG_OK)
        goto error;
    /* Exactly round(p * n_y) examples of class y get place y (its "own" background). */
    for (int cls = 0; cls < 2; cls++) {
        size_t m = 0;
        for (size_t i = 0; i < nm; i++)
            if ((mn->labels[i] >= 5) == cls)
                idx[m++] = i;
        st = choose_exact(idx, m, p, stream(seed, TAG_PLACE + 2 * (uint64_t)split + (uint64_t)cls),
                          mark, e);
        if (st != CG_OK)
            goto error;
        for (size_t k = 0; k < m; k++)
            place[idx[k]] = mark[idx[k]] ? cls : 1 - cls;
    }
    uint64_t bg = stream(seed, TAG_BG + (uint64_t)split);
    for (size_t i = 0; i < nm; i++) {
        int pl = place[i];
        size_t it = pool[pl][(size_t)(u53(bg, i) * (double)npool[pl])];
        digit[i] = mn->labels[i];
        y[i] = mn->labels[i] >= 5;
        group[i] = 2 * y[i] + pl;
        object[i] = fa->labels[it];
        item[i] = (int32_t)it;
        for (size_t q = 0; q < 784; q++) {
            float dv = px(mn->pixels[i * 784 + q]), ov = px(fa->pixels[it * 784 + q]);
            x[i * 784 + q] = dv + (1.0f - dv) * 0.5f * ov;
        }
    }
error:
    cg_free(idx);
    cg_free(mark);
    cg_free(pool[0]);
    cg_free(pool[1]);
    return st;
}

enum cg_status cg_build_waterbirds_like(struct cg_dataset *d, const struct cg_data_param *p,
                                        int n, struct cg_error *e)
{
    double corr;
    CG_TRY(cg_data_param_f64(p, n, "corr", 95.0, &corr, e));
    if (!(corr >= 0 && corr <= 100))
        return cg_error_set(e, CG_ERR_INPUT, "parameter corr: %g is not a percentage in "
                            "[0, 100]", corr);
    struct cg_images mn[2], fa[2];
    CG_TRY(load_sources(p, n, mn, fa, e));
    enum cg_status st = water_split(&d->train, &mn[0], &fa[0], corr / 100.0, d->seed, 0, e);
    if (st == CG_OK)
        st = water_split(&d->test, &mn[1], &fa[1], 0.5, d->seed, 1, e);
    free_sources(mn, fa);
    return st;
}

/* ---- latent_pairs -------------------------------------------------------------------------- */

#define LAT_C 5
#define LAT_D 10
#define LAT_COND_MAX 16.0 /* about the 25th percentile of cond(W) (cl-ica's ratio 0.25) */

struct latent_model {
    double gc[LAT_C][LAT_C], gs[LAT_C][LAT_C], ga[LAT_C][LAT_C]; /* S = G G^T */
    double b[LAT_C][LAT_C], a[LAT_C];
    double w[3][LAT_D][LAT_D];
};

/* The condition number of the 10x10 matrix w: sqrt of the eigenvalue ratio of w^T w (cyclic
 * Jacobi). */
static double cond10(const double w[LAT_D][LAT_D])
{
    double m[LAT_D][LAT_D];
    for (int i = 0; i < LAT_D; i++)
        for (int j = 0; j < LAT_D; j++) {
            double t = 0;
            for (int k = 0; k < LAT_D; k++)
                t += w[k][i] * w[k][j];
            m[i][j] = t;
        }
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < LAT_D; i++)
            for (int j = i + 1; j < LAT_D; j++)
                off += m[i][j] * m[i][j];
        if (off < 1e-30)
            break;
        for (int p = 0; p < LAT_D; p++)
            for (int q = p + 1; q < LAT_D; q++) {
                if (fabs(m[p][q]) < 1e-300)
                    continue;
                double th = (m[q][q] - m[p][p]) / (2 * m[p][q]);
                double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < LAT_D; k++) {
                    double kp = m[k][p], kq = m[k][q];
                    m[k][p] = c * kp - s * kq;
                    m[k][q] = s * kp + c * kq;
                }
                for (int k = 0; k < LAT_D; k++) {
                    double pk = m[p][k], qk = m[q][k];
                    m[p][k] = c * pk - s * qk;
                    m[q][k] = s * pk + c * qk;
                }
            }
    }
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < LAT_D; i++) {
        lo = fmin(lo, m[i][i]);
        hi = fmax(hi, m[i][i]);
    }
    return lo > 0 ? sqrt(hi / lo) : INFINITY;
}

static void latent_model(uint64_t seed, struct latent_model *m)
{
    uint64_t s = stream(seed, TAG_MODEL);
    uint64_t k = 0;
    for (int i = 0; i < LAT_C; i++)
        for (int j = 0; j < LAT_C; j++) {
            m->gc[i][j] = normal(s, k++);
            m->gs[i][j] = normal(s, k++);
            m->ga[i][j] = normal(s, k++);
            m->b[i][j] = normal(s, k++);
        }
    for (int i = 0; i < LAT_C; i++)
        m->a[i] = normal(s, k++);
    /* Layer l, attempt t: stream r(s', 1000 * l + t) of the model stream s' = r(s, 1 << 32);
     * weights U(-1, 1), columns scaled to unit norm, resampled while cond > LAT_COND_MAX. */
    uint64_t ws = cg_splitmix_r(s, (uint64_t)1 << 32);
    for (int l = 0; l < 3; l++)
        for (uint64_t t = 0;; t++) {
            uint64_t ls = cg_splitmix_r(ws, 1000 * (uint64_t)l + t);
            for (int i = 0; i < LAT_D; i++)
                for (int j = 0; j < LAT_D; j++)
                    m->w[l][i][j] = 2.0 * u53(ls, (uint64_t)(i * LAT_D + j)) - 1.0;
            for (int j = 0; j < LAT_D; j++) {
                double nrm = 0;
                for (int i = 0; i < LAT_D; i++)
                    nrm += m->w[l][i][j] * m->w[l][i][j];
                nrm = sqrt(nrm);
                for (int i = 0; i < LAT_D; i++)
                    m->w[l][i][j] /= nrm;
            }
            if (cond10(m->w[l]) <= LAT_COND_MAX)
                break;
        }
}

/* x = W3 lrelu(W2 lrelu(W1 z)), lrelu slope 0.2. */
static void mix(const struct latent_model *m, const double z[LAT_D], float *x)
{
    double h[LAT_D], t[LAT_D];
    memcpy(h, z, sizeof h);
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < LAT_D; i++) {
            double v = 0;
            for (int j = 0; j < LAT_D; j++)
                v += m->w[l][i][j] * h[j];
            t[i] = l < 2 && v < 0 ? 0.2 * v : v;
        }
        memcpy(h, t, sizeof h);
    }
    for (int i = 0; i < LAT_D; i++)
        x[i] = (float)h[i];
}

/* v = G u for 5 standard normals u = normal(s, k0 .. k0 + 4). */
static void gauss(const double g[LAT_C][LAT_C], uint64_t s, uint64_t k0, double *v)
{
    double u[LAT_C];
    for (int i = 0; i < LAT_C; i++)
        u[i] = normal(s, k0 + (uint64_t)i);
    for (int i = 0; i < LAT_C; i++) {
        v[i] = 0;
        for (int j = 0; j < LAT_C; j++)
            v[i] += g[i][j] * u[j];
    }
}

/* c ~ N(0, Sc), s ~ N(0, Ss) + B c + a from the normals k0 .. k0 + 9 of stream st. */
static void latent_sample(const struct latent_model *m, uint64_t st, uint64_t k0, double *z)
{
    gauss(m->gc, st, k0, z);
    gauss(m->gs, st, k0 + LAT_C, z + LAT_C);
    for (int i = 0; i < LAT_C; i++) {
        double bc = 0;
        for (int j = 0; j < LAT_C; j++)
            bc += m->b[i][j] * z[j];
        z[LAT_C + i] += bc + m->a[i];
    }
}

static enum cg_status latent_split(struct cg_split *sp, const struct latent_model *m,
                                   size_t count, double pchange, uint64_t st,
                                   struct cg_error *e)
{
    const int64_t d10[1] = {LAT_D}, d5[1] = {LAT_C};
    float *x, *xp, *xn, *c, *s, *sp5;
    CG_TRY(add_f32(sp, "x", 1, d10, count, &x, e));
    CG_TRY(add_f32(sp, "x_pos", 1, d10, count, &xp, e));
    CG_TRY(add_f32(sp, "x_neg", 1, d10, count, &xn, e));
    CG_TRY(add_f32(sp, "c", 1, d5, count, &c, e));
    CG_TRY(add_f32(sp, "s", 1, d5, count, &s, e));
    CG_TRY(add_f32(sp, "s_pos", 1, d5, count, &sp5, e));
    for (size_t i = 0; i < count; i++) {
        /* Example i's stream: normals 0-9 (c, s), 10-14 (eps), 15-24 (negative), that is
         * uniforms 0-49; uniforms 200-204 (mask). */
        uint64_t es = cg_splitmix_r(st, i);
        double z[LAT_D], zp[LAT_D], zn[LAT_D], eps[LAT_C];
        latent_sample(m, es, 0, z);
        gauss(m->ga, es, 10, eps);
        memcpy(zp, z, sizeof zp);
        for (int k = 0; k < LAT_C; k++)
            if (u53(es, 200 + (uint64_t)k) < pchange)
                zp[LAT_C + k] += eps[k];
        latent_sample(m, es, 15, zn);
        mix(m, z, x + i * LAT_D);
        mix(m, zp, xp + i * LAT_D);
        mix(m, zn, xn + i * LAT_D);
        for (int k = 0; k < LAT_C; k++) {
            c[i * LAT_C + (size_t)k] = (float)z[k];
            s[i * LAT_C + (size_t)k] = (float)z[LAT_C + k];
            sp5[i * LAT_C + (size_t)k] = (float)zp[LAT_C + k];
        }
    }
    return CG_OK;
}

enum cg_status cg_build_latent_pairs(struct cg_dataset *d, const struct cg_data_param *p, int n,
                                     struct cg_error *e)
{
    int64_t ntr, nte;
    double pc;
    CG_TRY(cg_data_param_i64(p, n, "n_train", 10000, &ntr, e));
    CG_TRY(cg_data_param_i64(p, n, "n_test", 2000, &nte, e));
    CG_TRY(cg_data_param_f64(p, n, "p_change", 0.75, &pc, e));
    if (ntr < 1 || ntr > 10000000)
        return cg_error_set(e, CG_ERR_INPUT, "parameter n_train: %lld is not in [1, 10000000]",
                            (long long)ntr);
    if (nte < 1 || nte > 10000000)
        return cg_error_set(e, CG_ERR_INPUT, "parameter n_test: %lld is not in [1, 10000000]",
                            (long long)nte);
    if (!(pc >= 0 && pc <= 1))
        return cg_error_set(e, CG_ERR_INPUT, "parameter p_change: %g is not in [0, 1]", pc);
    struct latent_model m;
    latent_model(d->seed, &m);
    CG_TRY(latent_split(&d->train, &m, (size_t)ntr, pc, stream(d->seed, TAG_LAT), e));
    CG_TRY(latent_split(&d->test, &m, (size_t)nte, pc, stream(d->seed, TAG_LAT + 1), e));
    return CG_OK;
}

/* ---- JPEG export --------------------------------------------------------------------------- */

enum cg_status cg_dataset_write_jpegs(const struct cg_dataset *d, const char *dir,
                                      struct cg_error *e)
{
    char path[4200];
    struct cg_buf csv = {0};
    uint8_t *img = NULL;
    enum cg_status st = CG_OK;
    cg_buf_printf(&csv, "path,y,group,split\n");
    for (int sp = 0; sp < 2; sp++) {
        const struct cg_split *s = sp ? &d->test : &d->train;
        const char *sn = sp ? "test" : "train";
        const struct cg_field *x = cg_split_field(s, "x"), *y = cg_split_field(s, "y");
        const struct cg_field *g = cg_split_field(s, "group");
        if (!x || x->dtype != CG_NPY_F32 || x->rank != 3 || (x->shape[0] != 1 && x->shape[0] != 3) ||
            !y || y->dtype != CG_NPY_I32 || y->rank != 0 ||
            (g && (g->dtype != CG_NPY_I32 || g->rank != 0))) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: the %s split needs x f32[1 or 3, H, W] and "
                              "y i32 for JPEG export", d->name, sn);
            goto error;
        }
        int ch = (int)x->shape[0], h = (int)x->shape[1], w = (int)x->shape[2];
        size_t plane = (size_t)h * (size_t)w;
        cg_free(img);
        img = cg_malloc(plane * (size_t)ch);
        if (!img) {
            st = cg_error_nomem(e);
            goto error;
        }
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, k ? "%s/images/%s" : "%s/images", dir, sn);
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create directory: %s",
                                  path, strerror(errno));
                goto error;
            }
        }
        const float *xd = x->data;
        const int32_t *yd = y->data, *gd = g ? g->data : NULL;
        for (size_t i = 0; i < s->count; i++) {
            for (size_t q = 0; q < plane; q++)
                for (int c = 0; c < ch; c++) {
                    float v = xd[(i * (size_t)ch + (size_t)c) * plane + q];
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    img[q * (size_t)ch + (size_t)c] = (uint8_t)lrintf(v * 255.0f);
                }
            snprintf(path, sizeof path, "%s/images/%s/%06zu.jpg", dir, sn, i);
            st = cg_jpeg_write(path, w, h, ch, img, 95, e);
            if (st != CG_OK)
                goto error;
            cg_buf_printf(&csv, "images/%s/%06zu.jpg,%d,", sn, i, (int)yd[i]);
            if (gd)
                cg_buf_printf(&csv, "%d", (int)gd[i]);
            cg_buf_printf(&csv, ",%s\n", sn);
        }
    }
    if (csv.oom) {
        st = cg_error_nomem(e);
        goto error;
    }
    snprintf(path, sizeof path, "%s/metadata.csv", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fputs(cg_buf_str(&csv), f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot write: %s", path, strerror(errno));
        goto error;
    }
error:
    cg_free(img);
    cg_buf_free(&csv);
    return st;
}
