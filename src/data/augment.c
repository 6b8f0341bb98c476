/* augment.c: the augmentation pipelines of augment.h: the parser of the pipeline grammar, shape
 * inference, the host reference of every stage, and the compiled device pipeline (kernels of
 * cl/augment.cl chained through device temporaries).
 *
 * The host reference mirrors the kernels operation by operation (same float expressions, same
 * summation orders, the contrast mean reduced as a group of AUG_LWS work-items does), so the two
 * agree to a few ulps; the parameter draws (crop boxes, flips, factors, orders) agree exactly
 * unless the device's exp/sqrt round differently from the host's at a decision boundary. */
#include "data/augment.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/splitmix.h"

#define AUG_LWS 64
#define AUG_TAG 0x41554721u
#define AUG_MAX_SIDE 65536
#define AUG_MAX_K 99

enum aug_kind { AUG_RRC, AUG_FLIP, AUG_JITTER, AUG_GRAY, AUG_BLUR };

static const char *const aug_names[] = {"rrc", "flip", "jitter", "gray", "blur"};

/* Keys of each stage in positional order. */
static const char *const aug_keys[][5] = {
    {"size", "scale", "ratio", NULL},
    {"p", NULL},
    {"b", "c", "s", "h", "p"},
    {"p", NULL},
    {"k", "sigma", "p", NULL},
};

enum { JIT_BRIGHT, JIT_CONTRAST, JIT_SAT, JIT_HUE };

struct aug_stage {
    enum aug_kind kind;
    float p;
    int64_t oh, ow;      /* rrc: output size (0: the input's) */
    float scale[2];      /* rrc */
    double ratio[2];     /* rrc */
    float logr[2];       /* rrc: logf of the ratio bounds */
    float jit[4][2];     /* jitter: ranges of brightness, contrast, saturation, hue */
    unsigned mask;       /* jitter: bit JIT_x set when that operation is not the identity */
    int k;               /* blur */
    float sigma[2];      /* blur */
};

struct cg_augment {
    struct aug_stage *st;
    size_t n;
};

/* ---- the generator ---------------------------------------------------------------------- */

void cg_philox4x32_10(const uint32_t ctr[4], uint32_t k0, uint32_t k1, uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = (uint32_t)p1;
        c[2] = n2;
        c[3] = (uint32_t)p0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    memcpy(out, c, sizeof c);
}

/* The key of stage s under seed, and block j of image img (cl/augment.cl aug_block). */
struct aug_key {
    uint32_t k0, k1, step;
};

static struct aug_key aug_key_of(uint64_t seed, size_t s, uint64_t step)
{
    uint64_t k = cg_splitmix_r(seed, (uint64_t)s);
    return (struct aug_key){(uint32_t)k, (uint32_t)(k >> 32), (uint32_t)step};
}

static void aug_block(struct aug_key k, uint32_t img, uint32_t j, uint32_t out[4])
{
    uint32_t ctr[4] = {img, k.step, j, AUG_TAG};
    cg_philox4x32_10(ctr, k.k0, k.k1, out);
}

static float u01(uint32_t r)
{
    return (float)(r >> 8) * 0x1.0p-24f;
}

static float uniformf(uint32_t r, float lo, float hi)
{
    return lo + (hi - lo) * u01(r);
}

static int randint(uint32_t r, uint32_t n)
{
    return (int)(((uint64_t)r * n) >> 32);
}

static float luma(float r, float g, float b)
{
    return 0.2989f * r + 0.587f * g + 0.114f * b;
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

/* ---- the parser --------------------------------------------------------------------------- */

struct parser {
    const char *text, *s;
    struct cg_error *e;
};

static enum cg_status perr(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum cg_status perr(struct parser *ps, const char *at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cg_error_set(ps->e, CG_ERR_INPUT, "error: augmentation '%s': at character %d: %s",
                        ps->text, (int)(at - ps->text) + 1, what);
}

static void skip_space(struct parser *ps)
{
    while (isspace((unsigned char)*ps->s))
        ps->s++;
}

/* NUMBER: the whole of [b, e) as a finite double. */
static int parse_num(const char *b, const char *e, double *v)
{
    char buf[64];
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, b, n);
    buf[n] = 0;
    char *end;
    *v = strtod(buf, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

/* value := NUMBER [ ":" NUMBER ] | INTEGER "x" INTEGER. Sets v[0..1] and *kind: 1 number (v[1]
 * = v[0]), 2 range, 3 size. */
static int parse_value(const char *b, const char *e, double v[2], int *kind)
{
    for (const char *q = b; q < e; q++)
        if (*q == ':' || *q == 'x') {
            *kind = *q == ':' ? 2 : 3;
            if (parse_num(b, q, &v[0]) || parse_num(q + 1, e, &v[1]))
                return -1;
            if (*kind == 3 && (v[0] != floor(v[0]) || v[1] != floor(v[1])))
                return -1;
            return 0;
        }
    *kind = 1;
    if (parse_num(b, e, &v[0]))
        return -1;
    v[1] = v[0];
    return 0;
}

/* Applies key = value (token [tb, te) for messages) to stage st. */
static enum cg_status set_arg(struct parser *ps, struct aug_stage *st, int key, const double v[2],
                              int kind, const char *tb, const char *te)
{
    const char *name = aug_keys[st->kind][key];
    int tl = (int)(te - tb);
    if (kind == 3 && !(st->kind == AUG_RRC && key == 0))
        return perr(ps, tb, "'%.*s': %s takes a number or a range lo:hi, not a size", tl, tb,
                    name);
    if (!strcmp(name, "p")) {
        if (kind != 1 || !(v[0] >= 0 && v[0] <= 1))
            return perr(ps, tb, "'%.*s': p must be a number in [0, 1]", tl, tb);
        st->p = (float)v[0];
    } else if (st->kind == AUG_RRC && key == 0) {
        if (kind == 2 || v[0] < 1 || v[1] < 1 || v[0] > AUG_MAX_SIDE || v[1] > AUG_MAX_SIDE ||
            v[0] != floor(v[0]))
            return perr(ps, tb, "'%.*s': size must be S or HxW with sides in [1, %d]", tl, tb,
                        AUG_MAX_SIDE);
        st->oh = (int64_t)v[0];
        st->ow = (int64_t)v[1];
    } else if (st->kind == AUG_RRC && key == 1) {
        if (!(v[0] > 0 && v[0] <= v[1] && v[1] <= 1))
            return perr(ps, tb, "'%.*s': scale must be lo:hi with 0 < lo <= hi <= 1", tl, tb);
        st->scale[0] = (float)v[0];
        st->scale[1] = (float)v[1];
    } else if (st->kind == AUG_RRC && key == 2) {
        if (!(v[0] > 0 && v[0] <= v[1]))
            return perr(ps, tb, "'%.*s': ratio must be lo:hi with 0 < lo <= hi", tl, tb);
        st->ratio[0] = v[0];
        st->ratio[1] = v[1];
    } else if (st->kind == AUG_JITTER) {
        double lo = v[0], hi = v[1];
        if (key == JIT_HUE) {
            if (kind == 1 && !(v[0] >= 0 && v[0] <= 0.5))
                return perr(ps, tb, "'%.*s': hue must be in [0, 0.5]", tl, tb);
            if (kind == 1)
                lo = -v[0];
            if (!(lo >= -0.5 && lo <= hi && hi <= 0.5))
                return perr(ps, tb, "'%.*s': a hue range must be lo:hi in [-0.5, 0.5]", tl, tb);
        } else {
            if (kind == 1 && !(v[0] >= 0))
                return perr(ps, tb, "'%.*s': %s must be >= 0", tl, tb, name);
            if (kind == 1) {
                lo = 1 - v[0] > 0 ? 1 - v[0] : 0;
                hi = 1 + v[0];
            }
            if (!(lo >= 0 && lo <= hi))
                return perr(ps, tb, "'%.*s': a range must be lo:hi with 0 <= lo <= hi", tl, tb);
        }
        st->jit[key][0] = (float)lo;
        st->jit[key][1] = (float)hi;
    } else if (st->kind == AUG_BLUR && key == 0) {
        if (kind != 1 || v[0] != floor(v[0]) || v[0] < 1 || v[0] > AUG_MAX_K ||
            (int)v[0] % 2 == 0)
            return perr(ps, tb, "'%.*s': k must be an odd integer in [1, %d]", tl, tb,
                        AUG_MAX_K);
        st->k = (int)v[0];
    } else {
        if (!(v[0] > 0 && v[0] <= v[1]))
            return perr(ps, tb, "'%.*s': sigma must be > 0 (or lo:hi with 0 < lo <= hi)", tl,
                        tb);
        st->sigma[0] = (float)v[0];
        st->sigma[1] = (float)v[1];
    }
    return CG_OK;
}

static void stage_defaults(struct aug_stage *st)
{
    st->p = st->kind == AUG_FLIP ? 0.5f : (st->kind == AUG_GRAY ? 0.1f : 1.0f);
    st->scale[0] = 0.08f;
    st->scale[1] = 1.0f;
    st->ratio[0] = 3.0 / 4.0;
    st->ratio[1] = 4.0 / 3.0;
    for (int j = 0; j < 4; j++)
        st->jit[j][0] = st->jit[j][1] = j == JIT_HUE ? 0.0f : 1.0f;
    st->sigma[0] = 0.1f;
    st->sigma[1] = 2.0f;
}

/* stage := NAME [ "(" [ arg { "," arg } ] ")" ]; arg := [ KEY "=" ] value */
static enum cg_status parse_stage(struct parser *ps, struct aug_stage *st)
{
    skip_space(ps);
    const char *nb = ps->s;
    while (isalnum((unsigned char)*ps->s) || *ps->s == '_')
        ps->s++;
    int nl = (int)(ps->s - nb), kind = -1;
    for (int k = 0; k < (int)CG_ARRAY_LEN(aug_names); k++)
        if ((int)strlen(aug_names[k]) == nl && !strncmp(nb, aug_names[k], (size_t)nl))
            kind = k;
    if (nl == 0)
        return perr(ps, nb, "expected an augmentation name, found '%.*s'", *nb ? 1 : 0, nb);
    if (kind < 0)
        return perr(ps, nb, "unknown augmentation '%.*s' (expected rrc, flip, jitter, gray or "
                    "blur)", nl, nb);
    memset(st, 0, sizeof *st);
    st->kind = (enum aug_kind)kind;
    stage_defaults(st);
    skip_space(ps);
    unsigned given = 0;
    int npos = 0;
    if (*ps->s == '(') {
        ps->s++;
        skip_space(ps);
        if (*ps->s == ')')
            ps->s++;
        else
            for (;;) {
                skip_space(ps);
                const char *tb = ps->s;
                while (*ps->s && *ps->s != ',' && *ps->s != ')' && *ps->s != '(')
                    ps->s++;
                const char *te = ps->s;
                while (te > tb && isspace((unsigned char)te[-1]))
                    te--;
                int tl = (int)(te - tb);
                if (*ps->s != ',' && *ps->s != ')')
                    return perr(ps, ps->s, "'%.*s': missing ')' after the arguments of %s", tl,
                                tb, aug_names[kind]);
                const char *eq = memchr(tb, '=', (size_t)tl), *vb = tb;
                int key = -1;
                if (eq) {
                    const char *ke = eq;
                    while (ke > tb && isspace((unsigned char)ke[-1]))
                        ke--;
                    for (int k = 0; k < 5 && aug_keys[kind][k]; k++)
                        if ((int)strlen(aug_keys[kind][k]) == (int)(ke - tb) &&
                            !strncmp(tb, aug_keys[kind][k], (size_t)(ke - tb)))
                            key = k;
                    if (key < 0)
                        return perr(ps, tb, "'%.*s': %s has no argument '%.*s'", tl, tb,
                                    aug_names[kind], (int)(ke - tb), tb);
                    vb = eq + 1;
                    while (vb < te && isspace((unsigned char)*vb))
                        vb++;
                } else {
                    if (npos >= 5 || !aug_keys[kind][npos])
                        return perr(ps, tb, "'%.*s': too many arguments for %s", tl, tb,
                                    aug_names[kind]);
                    if (given)
                        return perr(ps, tb, "'%.*s': a positional argument after a KEY=value "
                                    "one", tl, tb);
                    key = npos++;
                }
                if (given & (1u << key))
                    return perr(ps, tb, "'%.*s': %s given twice", tl, tb, aug_keys[kind][key]);
                if (eq)
                    given |= 1u << key;
                double v[2];
                int vk;
                if (parse_value(vb, te, v, &vk))
                    return perr(ps, tb, "'%.*s': bad value '%.*s'", tl, tb, (int)(te - vb), vb);
                CG_TRY(set_arg(ps, st, key, v, vk, tb, te));
                if (*ps->s++ == ')')
                    break;
            }
    }
    if (st->kind == AUG_BLUR && st->k == 0)
        return perr(ps, nb, "blur needs a kernel size: blur(k=3)");
    if (st->kind == AUG_RRC) {
        st->logr[0] = logf((float)st->ratio[0]);
        st->logr[1] = logf((float)st->ratio[1]);
    }
    if (st->kind == AUG_JITTER)
        for (int j = 0; j < 4; j++) {
            float id = j == JIT_HUE ? 0.0f : 1.0f;
            if (st->jit[j][0] != id || st->jit[j][1] != id)
                st->mask |= 1u << j;
        }
    return CG_OK;
}

/* pipeline := stage { "," stage } */
enum cg_status cg_augment_parse(const char *text, struct cg_augment **out, struct cg_error *e)
{
    *out = NULL;
    struct parser ps = {text, text, e};
    struct cg_augment *a = cg_calloc(1, sizeof *a);
    size_t cap = 0;
    if (!a)
        return cg_error_nomem(e);
    enum cg_status st = CG_OK;
    for (;;) {
        struct aug_stage s;
        st = parse_stage(&ps, &s);
        if (st != CG_OK)
            break;
        if (CG_PUSH(a->st, a->n, cap, s)) {
            st = cg_error_nomem(e);
            break;
        }
        skip_space(&ps);
        if (!*ps.s)
            break;
        if (*ps.s != ',') {
            st = perr(&ps, ps.s, "expected ',' between augmentations, found '%c'", *ps.s);
            break;
        }
        ps.s++;
    }
    if (st != CG_OK) {
        cg_augment_destroy(a);
        return st;
    }
    *out = a;
    return CG_OK;
}

void cg_augment_destroy(struct cg_augment *a)
{
    if (!a)
        return;
    cg_free(a->st);
    cg_free(a);
}

size_t cg_augment_stages(const struct cg_augment *a)
{
    return a->n;
}

/* ---- shapes ------------------------------------------------------------------------------ */

/* The output size of stage st on h x w images; checks that the stage fits. */
static enum cg_status stage_shape(const struct aug_stage *st, size_t idx, int64_t h, int64_t w,
                                  int64_t *oh, int64_t *ow, struct cg_error *e)
{
    *oh = h;
    *ow = w;
    if (st->kind == AUG_RRC && st->oh) {
        *oh = st->oh;
        *ow = st->ow;
    }
    if (st->kind == AUG_BLUR && (st->k / 2 >= h || st->k / 2 >= w))
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation %zu (blur, k=%d) needs images "
                            "with sides above %d, got %lldx%lld", idx + 1, st->k, st->k / 2,
                            (long long)h, (long long)w);
    return CG_OK;
}

enum cg_status cg_augment_out_shape(const struct cg_augment *a, int64_t c, int64_t h, int64_t w,
                                    int64_t *oh, int64_t *ow, struct cg_error *e)
{
    if (c != 1 && c != 3)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentations take images with 1 or 3 "
                            "channels, got %lld", (long long)c);
    if (h < 1 || w < 1 || h > AUG_MAX_SIDE || w > AUG_MAX_SIDE)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentations take images with sides in "
                            "[1, %d], got %lldx%lld", AUG_MAX_SIDE, (long long)h, (long long)w);
    for (size_t s = 0; s < a->n; s++)
        CG_TRY(stage_shape(&a->st[s], s, h, w, &h, &w, e));
    *oh = h;
    *ow = w;
    return CG_OK;
}

/* torchvision's fallback of RandomResizedCrop (in double, as Python): fb = top, left, h, w. */
static void rrc_fallback(const struct aug_stage *st, int64_t h, int64_t w, int fb[4])
{
    double in_ratio = (double)w / (double)h;
    int64_t ch = h, cw = w;
    if (in_ratio < st->ratio[0])
        ch = (int64_t)rint((double)w / st->ratio[0]);
    else if (in_ratio > st->ratio[1])
        cw = (int64_t)rint((double)h * st->ratio[1]);
    if (ch > h)
        ch = h;
    if (cw > w)
        cw = w;
    fb[0] = (int)((h - ch) / 2);
    fb[1] = (int)((w - cw) / 2);
    fb[2] = (int)ch;
    fb[3] = (int)cw;
}

/* ---- the host reference ------------------------------------------------------------------- */

/* One image of each stage: x [c, h, w] -> y [c, oh, ow], image index img. */
struct ref_ctx {
    const struct aug_stage *st;
    struct aug_key key;
    int64_t c, h, w, oh, ow;
    int fb[4];
};

static void ref_rrc(const struct ref_ctx *r, uint32_t img, const float *x, float *y)
{
    const struct aug_stage *st = r->st;
    int H = (int)r->h, W = (int)r->w, top = r->fb[0], left = r->fb[1], h = r->fb[2],
        w = r->fb[3];
    for (uint32_t a = 0; a < 10; a++) {
        uint32_t b[4];
        aug_block(r->key, img, a, b);
        float target = (float)(H * W) * uniformf(b[0], st->scale[0], st->scale[1]);
        float ar = expf(uniformf(b[1], st->logr[0], st->logr[1]));
        int cw = (int)rintf(sqrtf(target * ar)), ch = (int)rintf(sqrtf(target / ar));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            top = randint(b[2], (uint32_t)(H - ch + 1));
            left = randint(b[3], (uint32_t)(W - cw + 1));
            h = ch;
            w = cw;
            break;
        }
    }
    int OH = (int)r->oh, OW = (int)r->ow;
    float sy = (float)h / (float)OH, sx = (float)w / (float)OW;
    x += top * W + left;
    for (int o = 0; o < OH * OW; o++) {
        int oy = o / OW, ox = o % OW;
        float fy = fmaxf(sy * ((float)oy + 0.5f) - 0.5f, 0.0f);
        float fx = fmaxf(sx * ((float)ox + 0.5f) - 0.5f, 0.0f);
        int y0 = (int)fy, x0 = (int)fx;
        int dy = y0 < h - 1 ? W : 0, dx = x0 < w - 1 ? 1 : 0;
        float ly1 = fy - (float)y0, lx1 = fx - (float)x0;
        float ly0 = 1.0f - ly1, lx0 = 1.0f - lx1;
        for (int c = 0; c < (int)r->c; c++) {
            const float *p = x + c * H * W + y0 * W + x0;
            y[c * OH * OW + o] =
                ly0 * (lx0 * p[0] + lx1 * p[dx]) + ly1 * (lx0 * p[dy] + lx1 * p[dy + dx]);
        }
    }
}

static void ref_flip(const struct ref_ctx *r, uint32_t img, const float *x, float *y)
{
    uint32_t b[4];
    aug_block(r->key, img, 0, b);
    int flip = u01(b[0]) < r->st->p;
    int64_t W = r->w, n = r->c * r->h * r->w;
    for (int64_t o = 0; o < n; o++) {
        int64_t col = o % W;
        y[o] = x[flip ? o - col + (W - 1 - col) : o];
    }
}

static void ref_gray(const struct ref_ctx *r, uint32_t img, const float *x, float *y)
{
    uint32_t b[4];
    aug_block(r->key, img, 0, b);
    int64_t hw = r->h * r->w;
    if (!(r->c == 3 && u01(b[0]) < r->st->p)) {
        memcpy(y, x, (size_t)(r->c * hw) * sizeof *y);
        return;
    }
    for (int64_t o = 0; o < hw; o++) {
        float l = luma(x[o], x[hw + o], x[2 * hw + o]);
        for (int c = 0; c < 3; c++)
            y[c * hw + o] = l;
    }
}

/* cl/augment.cl aug_hue. */
static void hue_shift(float *v, float shift)
{
    float r = v[0], g = v[1], b = v[2];
    float maxc = fmaxf(fmaxf(r, g), b), minc = fminf(fminf(r, g), b);
    int eqc = maxc == minc;
    float cr = maxc - minc;
    float s = cr / (eqc ? 1.0f : maxc);
    float crd = eqc ? 1.0f : cr;
    float rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
    float hh = maxc == r ? bc - gc : (maxc == g ? 2.0f + rc - bc : 4.0f + gc - rc);
    hh = hh / 6.0f + 1.0f;
    hh -= floorf(hh);
    hh += shift;
    hh = hh - floorf(hh);
    float h6 = hh * 6.0f, fi = floorf(h6), f = h6 - fi;
    int i = (int)fi;
    i = i >= 6 ? i - 6 : i;
    float pp = clamp01(maxc * (1.0f - s));
    float q = clamp01(maxc * (1.0f - s * f));
    float t = clamp01(maxc * (1.0f - s * (1.0f - f)));
    float vv = maxc;
    const float out[6][3] = {{vv, t, pp}, {q, vv, pp}, {pp, vv, t},
                             {pp, q, vv}, {t, pp, vv}, {vv, pp, q}};
    memcpy(v, out[i], sizeof out[i]);
}

static void jit_op(int op, float *v, int c, float f, float mean)
{
    if (op == JIT_HUE) {
        if (c == 3)
            hue_shift(v, f);
        return;
    }
    float other = 0.0f;
    if (op == JIT_CONTRAST)
        other = mean;
    else if (op == JIT_SAT)
        other = luma(v[0], v[1], v[2 % c]);
    for (int k = 0; k < c; k++)
        v[k] = clamp01(f * v[k] + (1.0f - f) * other);
}

/* The jitter operations that apply to c-channel images (saturation and hue need 3). */
static unsigned jit_mask(const struct aug_stage *st, int64_t c)
{
    return st->mask & (c == 3 ? 15u : (1u << JIT_BRIGHT) | (1u << JIT_CONTRAST));
}

static void ref_jitter(const struct ref_ctx *r, uint32_t img, const float *x, float *y)
{
    const struct aug_stage *st = r->st;
    uint32_t b0[4], b1[4];
    aug_block(r->key, img, 0, b0);
    aug_block(r->key, img, 1, b1);
    int64_t hw = r->h * r->w;
    int c = (int)r->c;
    if (!(u01(b0[0]) < st->p)) {
        memcpy(y, x, (size_t)(c * hw) * sizeof *y);
        return;
    }
    float fac[4] = {uniformf(b0[1], st->jit[0][0], st->jit[0][1]),
                    uniformf(b0[2], st->jit[1][0], st->jit[1][1]),
                    uniformf(b0[3], st->jit[2][0], st->jit[2][1]),
                    uniformf(b1[0], st->jit[3][0], st->jit[3][1])};
    int ord[4] = {0, 1, 2, 3};
    for (int k = 3; k >= 1; k--) {
        int j = randint(b1[1 + 3 - k], (uint32_t)(k + 1)), t = ord[k];
        ord[k] = ord[j];
        ord[j] = t;
    }
    unsigned mask = jit_mask(st, c);
    int kc = 4;
    for (int k = 0; k < 4; k++)
        if (ord[k] == JIT_CONTRAST && (mask & (1u << JIT_CONTRAST)))
            kc = k;
    float part[AUG_LWS] = {0}, v[3];
    for (int64_t o = 0; o < hw; o++) {
        for (int k = 0; k < c; k++)
            v[k] = x[k * hw + o];
        for (int k = 0; k < kc; k++)
            if (mask & (1u << ord[k]))
                jit_op(ord[k], v, c, fac[ord[k]], 0.0f);
        for (int k = 0; k < c; k++)
            y[k * hw + o] = v[k];
        part[o % AUG_LWS] += c == 3 ? luma(v[0], v[1], v[2]) : v[0];
    }
    if (kc == 4)
        return;
    for (int s = AUG_LWS / 2; s > 0; s >>= 1)
        for (int l = 0; l < s; l++)
            part[l] += part[l + s];
    float mean = part[0] / (float)hw;
    for (int64_t o = 0; o < hw; o++) {
        for (int k = 0; k < c; k++)
            v[k] = y[k * hw + o];
        for (int k = kc; k < 4; k++)
            if (mask & (1u << ord[k]))
                jit_op(ord[k], v, c, fac[ord[k]], mean);
        for (int k = 0; k < c; k++)
            y[k * hw + o] = v[k];
    }
}

static int reflect(int i, int n)
{
    return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
}

/* Both passes of the blur; tmp holds one image. */
static void ref_blur(const struct ref_ctx *r, uint32_t img, const float *x, float *y, float *tmp)
{
    const struct aug_stage *st = r->st;
    int K = st->k, H = (int)r->h, W = (int)r->w, C = (int)r->c;
    uint32_t b[4];
    aug_block(r->key, img, 0, b);
    if (!(u01(b[0]) < st->p)) {
        memcpy(y, x, (size_t)(C * H * W) * sizeof *y);
        return;
    }
    float wt[AUG_MAX_K], sigma = uniformf(b[1], st->sigma[0], st->sigma[1]);
    float half = (float)(K - 1) * 0.5f, sum = 0.0f;
    for (int k = 0; k < K; k++) {
        float t = ((float)k - half) / sigma;
        wt[k] = expf(-0.5f * (t * t));
        sum += wt[k];
    }
    for (int k = 0; k < K; k++)
        wt[k] /= sum;
    for (int o = 0; o < C * H * W; o++) {
        int col = o % W;
        const float *row = x + (o - col);
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += wt[k] * row[reflect(col + k - K / 2, W)];
        tmp[o] = s;
    }
    for (int o = 0; o < C * H * W; o++) {
        int plane = o / (H * W) * (H * W), rr = o % (H * W) / W, col = o % W;
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += wt[k] * tmp[plane + reflect(rr + k - K / 2, H) * W + col];
        y[o] = s;
    }
}

enum cg_status cg_augment_ref(const struct cg_augment *a, const float *in, float *out, int64_t n,
                              int64_t c, int64_t h, int64_t w, uint64_t seed, uint64_t step,
                              struct cg_error *e)
{
    int64_t oh, ow, big = c * h * w;
    CG_TRY(cg_augment_out_shape(a, c, h, w, &oh, &ow, e));
    for (size_t s = 0; s < a->n; s++) {
        int64_t sh, sw;
        stage_shape(&a->st[s], s, h, w, &sh, &sw, e);
        if (c * sh * sw > big)
            big = c * sh * sw;
    }
    float *buf = cg_malloc((size_t)big * 3 * sizeof(float));
    if (!buf)
        return cg_error_nomem(e);
    float *cur = buf, *next = buf + big, *tmp = buf + 2 * big;
    for (int64_t i = 0; i < n; i++) {
        int64_t ih = h, iw = w;
        memcpy(cur, in + i * c * h * w, (size_t)(c * h * w) * sizeof(float));
        for (size_t s = 0; s < a->n; s++) {
            struct ref_ctx r = {&a->st[s], aug_key_of(seed, s, step), c, ih, iw, 0, 0, {0}};
            stage_shape(r.st, s, ih, iw, &r.oh, &r.ow, e);
            uint32_t img = (uint32_t)i;
            switch (r.st->kind) {
            case AUG_RRC:
                rrc_fallback(r.st, ih, iw, r.fb);
                ref_rrc(&r, img, cur, next);
                break;
            case AUG_FLIP:
                ref_flip(&r, img, cur, next);
                break;
            case AUG_JITTER:
                ref_jitter(&r, img, cur, next);
                break;
            case AUG_GRAY:
                ref_gray(&r, img, cur, next);
                break;
            case AUG_BLUR:
                ref_blur(&r, img, cur, next, tmp);
                break;
            }
            float *t = cur;
            cur = next;
            next = t;
            ih = r.oh;
            iw = r.ow;
        }
        memcpy(out + i * c * oh * ow, cur, (size_t)(c * oh * ow) * sizeof(float));
    }
    cg_free(buf);
    return CG_OK;
}

/* ---- the device pipeline ------------------------------------------------------------------ */

/* Buffer slots of a launch. */
enum { SLOT_IN = -1, SLOT_OUT = -2 };

struct aug_launch {
    cl_kernel k;
    int src, dst;     /* SLOT_IN, SLOT_OUT or a temporary 0..2 */
    cl_uint seed_arg; /* index of seed_lo (seed_hi, step follow) */
    size_t stage;     /* its key is splitmix(seed, stage) */
};

struct cg_augment_plan {
    struct cg_device *dev;
    int64_t n, c, h, w, oh, ow;
    struct aug_launch *L;
    size_t nl;
    cl_mem tmp[3];
    size_t tmp_elems;
};

void cg_augment_plan_destroy(struct cg_augment_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nl; i++)
        if (p->L[i].k)
            clReleaseKernel(p->L[i].k);
    for (int t = 0; t < 3; t++)
        if (p->tmp[t])
            clReleaseMemObject(p->tmp[t]);
    cg_free(p->L);
    cg_free(p);
}

void cg_augment_plan_out_shape(const struct cg_augment_plan *p, int64_t *oh, int64_t *ow)
{
    *oh = p->oh;
    *ow = p->ow;
}

/* Sets argument i of k to the value at v (size n). */
static enum cg_status set_arg_(cl_kernel k, cl_uint i, size_t n, const void *v,
                               struct cg_error *e)
{
    cl_int err = clSetKernelArg(k, i, n, v);
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clSetKernelArg(augment)");
}
#define SETF(k, i, x) set_arg_(k, i, sizeof(cl_float), &(cl_float){(cl_float)(x)}, e)
#define SETI(k, i, x) set_arg_(k, i, sizeof(cl_int), &(cl_int){(cl_int)(x)}, e)

/* Adds the launches of stage s (input ih x iw) to p, reading slot src and writing slot dst. */
static enum cg_status plan_stage(struct cg_augment_plan *p, const struct aug_stage *st, size_t s,
                                 int64_t ih, int64_t iw, int64_t oh, int64_t ow, int src,
                                 int dst, struct cg_error *e)
{
    char opts[256];
    snprintf(opts, sizeof opts, "-DN=%lld -DC=%lld -DH=%lld -DW=%lld -DOH=%lld -DOW=%lld -DK=%d "
             "-DLWS=%d", (long long)p->n, (long long)p->c, (long long)ih, (long long)iw,
             (long long)oh, (long long)ow, st->kind == AUG_BLUR ? st->k : 1, AUG_LWS);
    cl_program prog;
    CG_TRY(cg_device_program(p->dev, "augment.cl", opts, &prog, e));
    static const char *const kname[] = {"aug_rrc", "aug_flip", "aug_jitter", "aug_gray",
                                        "aug_blur_h"};
    int nk = st->kind == AUG_BLUR ? 2 : 1;
    for (int j = 0; j < nk; j++) {
        struct aug_launch *l = &p->L[p->nl];
        memset(l, 0, sizeof *l);
        l->stage = s;
        l->src = j == 0 ? src : 2;
        l->dst = nk == 2 && j == 0 ? 2 : dst;
        CG_TRY(cg_device_kernel(p->dev, prog, j ? "aug_blur_v" : kname[st->kind], &l->k, e));
        p->nl++;
        cl_kernel k = l->k;
        cl_uint a = 4;
        switch (st->kind) {
        case AUG_RRC: {
            int fb[4];
            rrc_fallback(st, ih, iw, fb);
            CG_TRY(SETF(k, a++, st->scale[0]));
            CG_TRY(SETF(k, a++, st->scale[1]));
            CG_TRY(SETF(k, a++, st->logr[0]));
            CG_TRY(SETF(k, a++, st->logr[1]));
            for (int i = 0; i < 4; i++)
                CG_TRY(SETI(k, a++, fb[i]));
            break;
        }
        case AUG_FLIP:
        case AUG_GRAY:
            CG_TRY(SETF(k, a++, st->p));
            break;
        case AUG_JITTER: {
            CG_TRY(SETF(k, a++, st->p));
            for (int i = 0; i < 4; i++) {
                CG_TRY(SETF(k, a++, st->jit[i][0]));
                CG_TRY(SETF(k, a++, st->jit[i][1]));
            }
            CG_TRY(set_arg_(k, a++, sizeof(cl_uint), &(cl_uint){jit_mask(st, p->c)}, e));
            break;
        }
        case AUG_BLUR:
            CG_TRY(SETF(k, a++, st->p));
            CG_TRY(SETF(k, a++, st->sigma[0]));
            CG_TRY(SETF(k, a++, st->sigma[1]));
            break;
        }
        l->seed_arg = a;
    }
    return CG_OK;
}

enum cg_status cg_augment_compile(const struct cg_augment *a, struct cg_device *dev, int64_t n,
                                  int64_t c, int64_t h, int64_t w, struct cg_augment_plan **out,
                                  struct cg_error *e)
{
    *out = NULL;
    int64_t oh, ow;
    CG_TRY(cg_augment_out_shape(a, c, h, w, &oh, &ow, e));
    if (a->n == 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: an empty augmentation pipeline");
    int64_t big = c * h * w, hh = h, ww = w;
    int blur = 0;
    for (size_t s = 0; s < a->n; s++) {
        CG_TRY(stage_shape(&a->st[s], s, hh, ww, &hh, &ww, e));
        if (c * hh * ww > big)
            big = c * hh * ww;
        blur |= a->st[s].kind == AUG_BLUR;
    }
    if (n < 1 || (double)n * (double)big >= 4294967296.0)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation batch of %lld images of "
                            "%lld values: need 1 to 2^32 values in all", (long long)n,
                            (long long)big);
    struct cg_augment_plan *p = cg_calloc(1, sizeof *p);
    if (!p)
        return cg_error_nomem(e);
    p->dev = dev;
    p->n = n;
    p->c = c;
    p->h = h;
    p->w = w;
    p->oh = oh;
    p->ow = ow;
    p->tmp_elems = (size_t)(n * big);
    enum cg_status st = CG_OK;
    p->L = cg_calloc(2 * a->n, sizeof *p->L);
    if (!p->L)
        st = cg_error_nomem(e);
    /* Temporaries: 0 always (stage outputs, and the output of a one-stage pipeline run in
     * place), 1 for three stages or more, 2 for the blur's intermediate. */
    int ntmp = a->n >= 3 ? 2 : 1;
    for (int t = 0; t < 3 && st == CG_OK; t++) {
        if (t >= ntmp && !(t == 2 && blur))
            continue;
        cl_int err;
        p->tmp[t] = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE,
                                   p->tmp_elems * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS)
            st = cg_cl_fail(e, err, "clCreateBuffer(augment temporary)");
    }
    hh = h;
    ww = w;
    for (size_t s = 0; s < a->n && st == CG_OK; s++) {
        int64_t sh, sw;
        stage_shape(&a->st[s], s, hh, ww, &sh, &sw, e);
        int src = s == 0 ? SLOT_IN : (int)((s - 1) % 2);
        int dst = s + 1 == a->n ? SLOT_OUT : (int)(s % 2);
        st = plan_stage(p, &a->st[s], s, hh, ww, sh, sw, src, dst, e);
        hh = sh;
        ww = sw;
    }
    if (st != CG_OK) {
        cg_augment_plan_destroy(p);
        return st;
    }
    *out = p;
    return CG_OK;
}

/* Whether [a, a + na) and [b, b + nb) (bytes of the same buffer) overlap. */
static int overlap(size_t a, size_t na, size_t b, size_t nb)
{
    return a < b + nb && b < a + na;
}

enum cg_status cg_augment_run(struct cg_augment_plan *p, cl_command_queue q, cl_mem in,
                              size_t in_off, cl_mem out, size_t out_off, uint64_t seed,
                              uint64_t step, cl_uint nwait, const cl_event *wait, cl_event *done,
                              struct cg_error *e)
{
    if (!q)
        q = cg_device_queue(p->dev);
    size_t in_n = (size_t)(p->n * p->c * p->h * p->w);
    size_t out_n = (size_t)(p->n * p->c * p->oh * p->ow);
    if (in_off + in_n > UINT32_MAX || out_off + out_n > UINT32_MAX)
        return cg_error_set(e, CG_ERR_INPUT, "error: augmentation offsets beyond 2^32 elements");
    /* A launch that reads the input and writes the output directly cannot work in place: it
     * writes temporary 0, copied to the output afterwards. */
    int alias = in == out && overlap(in_off, in_n, out_off, out_n);
    int copy = 0;
    if (done)
        *done = NULL;
    for (size_t i = 0; i < p->nl; i++) {
        struct aug_launch *l = &p->L[i];
        int dst = l->dst;
        if (alias && l->src == SLOT_IN && dst == SLOT_OUT) {
            dst = 0;
            copy = 1;
        }
        cl_mem sm = l->src == SLOT_IN ? in : p->tmp[l->src];
        cl_mem dm = dst == SLOT_OUT ? out : p->tmp[dst];
        cl_uint so = l->src == SLOT_IN ? (cl_uint)in_off : 0;
        cl_uint dof = dst == SLOT_OUT ? (cl_uint)out_off : 0;
        struct aug_key k = aug_key_of(seed, l->stage, step);
        CG_TRY(set_arg_(l->k, 0, sizeof sm, &sm, e));
        CG_TRY(set_arg_(l->k, 1, sizeof so, &so, e));
        CG_TRY(set_arg_(l->k, 2, sizeof dm, &dm, e));
        CG_TRY(set_arg_(l->k, 3, sizeof dof, &dof, e));
        CG_TRY(set_arg_(l->k, l->seed_arg, sizeof k.k0, &k.k0, e));
        CG_TRY(set_arg_(l->k, l->seed_arg + 1, sizeof k.k1, &k.k1, e));
        CG_TRY(set_arg_(l->k, l->seed_arg + 2, sizeof k.step, &k.step, e));
        size_t gws = (size_t)p->n * AUG_LWS, lws = AUG_LWS;
        int last = i + 1 == p->nl && !copy;
        cl_int err = clEnqueueNDRangeKernel(q, l->k, 1, NULL, &gws, &lws, i == 0 ? nwait : 0,
                                            i == 0 ? wait : NULL, last ? done : NULL);
        if (err != CL_SUCCESS)
            return cg_cl_fail(e, err, "clEnqueueNDRangeKernel(augment)");
    }
    if (copy) {
        cl_int err = clEnqueueCopyBuffer(q, p->tmp[0], out, 0, out_off * sizeof(float),
                                         out_n * sizeof(float), 0, NULL, done);
        if (err != CL_SUCCESS)
            return cg_cl_fail(e, err, "clEnqueueCopyBuffer(augment)");
    }
    return CG_OK;
}
