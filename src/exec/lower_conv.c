/* lower_conv.c: lowering of conv2d, conv_transpose2d and the internal conv2d_grad_w, NCHW.
 *
 * Two paths. The direct kernels of cl/conv.cl (the default for every window larger than 1x1;
 * measured on PoCL, bench/README.md): conv_direct computes conv2d, and conv_transpose2d with
 * stride 1 (as a conv2d over x with the weight flipped and pad d*(k-1) - p), bias included;
 * conv_grad_w_direct computes per-chunk weight gradients that batch_sum adds in order.
 * CLGRAPH_CONV=gemm|direct forces a path (tests, measurements).
 *
 * The im2col/col2im + GEMM path (1x1 windows, strided transposed convs, CLGRAPH_CONV=gemm):
 * conv2d: im2col of a chunk of the batch into scratch ([b][C*kh*kw][OH*OW]), then per group one
 * GEMM strided-batched over the chunk, y[n, g] = w[g] @ col[n, g] (w shared: stride 0), then
 * the bias kernel. A 1x1 conv with stride 1 and no padding skips im2col (x is its own col).
 * conv_transpose2d: per group col[n, g] = w[g]^T @ x[n, g], then col2im gathers each output
 * pixel's contributions (deterministic) and adds the bias. conv2d_grad_w: im2col of x, per group
 * part[n, g] = gy[n, g] @ col[n, g]^T, then a kernel sums the parts over the batch in order.
 * The batch is processed in chunks so that the col buffer stays under COL_LIMIT floats.
 * GEMMs go through cg_gemm_emit (cl/gemm.cl, or CLBlast). */
#include <stdlib.h>
#include <string.h>

#include "exec/lower_gemm.h"

#define COL_LIMIT ((int64_t)16 << 20) /* floats of im2col/col2im scratch (64 MB) */

/* The geometry of a convolution: image x [n, c, h, w] read through a window into an output
 * grid [oh, ow]. */
struct geom {
    int64_t n, c, h, w, oh, ow, kh, kw, s[2], p[2], d[2], groups;
};

static void geom_attrs(const struct cg_lower *l, struct geom *g)
{
    g->s[0] = g->s[1] = 1;
    g->p[0] = g->p[1] = 0;
    g->d[0] = g->d[1] = 1;
    cg_lower_attr_pair(l, "stride", g->s);
    cg_lower_attr_pair(l, "pad", g->p);
    cg_lower_attr_pair(l, "dilation", g->d);
    g->groups = cg_lower_attr(l, "groups")->i;
    if (g->groups < 1)
        g->groups = 1;
}

static void geom_image(const struct cg_lower *l, int x, struct geom *g)
{
    g->n = cg_lower_dim(l, x, 0);
    g->c = cg_lower_dim(l, x, 1);
    g->h = cg_lower_dim(l, x, 2);
    g->w = cg_lower_dim(l, x, 3);
}

/* The window defines shared by im2col and col2im. */
static void window_defines(const struct geom *g, char *defs, size_t n)
{
    cg_defines_add(defs, n, "KH", g->kh);
    cg_defines_add(defs, n, "KW", g->kw);
    cg_defines_add(defs, n, "SH", g->s[0]);
    cg_defines_add(defs, n, "SW", g->s[1]);
    cg_defines_add(defs, n, "PH", g->p[0]);
    cg_defines_add(defs, n, "PW", g->p[1]);
    cg_defines_add(defs, n, "DH", g->d[0]);
    cg_defines_add(defs, n, "DW", g->d[1]);
}

/* x is its own im2col: a 1x1 window, stride 1, no padding. */
static int is_pointwise(const struct geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->s[0] == 1 && g->s[1] == 1 && g->p[0] == 0 &&
           g->p[1] == 0;
}

/* im2col of images [n0, n0 + nb) of x into scratch at 0. */
static enum cg_status emit_im2col(struct cg_lower *l, int x, const struct geom *g, int64_t n0,
                                  int64_t nb)
{
    char defs[512] = "";
    cg_defines_add(defs, sizeof defs, "NB", nb);
    cg_defines_add(defs, sizeof defs, "IC", g->c);
    cg_defines_add(defs, sizeof defs, "IH", g->h);
    cg_defines_add(defs, sizeof defs, "IW", g->w);
    cg_defines_add(defs, sizeof defs, "OH", g->oh);
    cg_defines_add(defs, sizeof defs, "OW", g->ow);
    window_defines(g, defs, sizeof defs);
    struct cg_karg args[2] = {CG_KVO(x, n0 * g->c * g->h * g->w), CG_KS(0)};
    return cg_lower_kernel_1d(l, "conv.cl", "im2col", defs, nb * g->c * g->kh * g->kw * g->oh * g->ow, args, 2);
}

/* Images per chunk so that per_image floats of col fit under COL_LIMIT (at least 1). */
static int64_t chunk_of(int64_t n, int64_t per_image)
{
    int64_t nb = per_image > 0 ? COL_LIMIT / per_image : n;
    if (nb < 1)
        nb = 1;
    return nb < n ? nb : n;
}

/* The convolution path: env CLGRAPH_CONV=gemm or =direct forces one (tests, measurements);
 * otherwise direct when use_direct says so. */
static int conv_forced(void)
{
    const char *v = getenv("CLGRAPH_CONV");
    if (v && !strcmp(v, "gemm"))
        return 0;
    if (v && !strcmp(v, "direct"))
        return 1;
    return -1;
}

/* Emits conv_direct (cl/conv.cl) over images of x -> y: og output channels per group, cg input
 * channels per group, o output channels in all; transposed: w is a conv_transpose2d weight
 * (stride 1; g's pads are already the equivalent direct conv's). relu fuses max(., 0). */
static enum cg_status emit_direct(struct cg_lower *l, int x, int w, int b, int y,
                                  const struct geom *g, int64_t o, int64_t og, int64_t cg,
                                  int transposed, int relu)
{
    int64_t ocb = og % 8 == 0 ? 8 : og % 4 == 0 ? 4 : og % 2 == 0 ? 2 : 1;
    char defs[512] = "";
    cg_defines_add(defs, sizeof defs, "NB", g->n);
    cg_defines_add(defs, sizeof defs, "IC", g->c);
    cg_defines_add(defs, sizeof defs, "IH", g->h);
    cg_defines_add(defs, sizeof defs, "IW", g->w);
    cg_defines_add(defs, sizeof defs, "OC", o);
    cg_defines_add(defs, sizeof defs, "OH", g->oh);
    cg_defines_add(defs, sizeof defs, "OW", g->ow);
    cg_defines_add(defs, sizeof defs, "ICG", cg);
    cg_defines_add(defs, sizeof defs, "OCG", og);
    cg_defines_add(defs, sizeof defs, "OCB", ocb);
    cg_defines_add(defs, sizeof defs, "TRANSPOSED", transposed);
    cg_defines_add(defs, sizeof defs, "HAS_BIAS", b >= 0);
    cg_defines_add(defs, sizeof defs, "RELU", relu);
    const int64_t rows = 1; /* CD_R = 2 or 4 rows per work-item: measured 10-25% slower on PoCL */
    cg_defines_add(defs, sizeof defs, "CD_R", rows);
    window_defines(g, defs, sizeof defs);
    struct cg_launch_desc d;
    memset(&d, 0, sizeof d);
    d.source = "conv.cl";
    d.kernel = "conv_direct";
    d.defines = defs;
    d.dims = 3;
    d.gws[0] = (size_t)((g->ow + 7) / 8);
    d.gws[1] = (size_t)((g->oh + rows - 1) / rows);
    d.gws[2] = (size_t)(g->n * (o / ocb));
    d.lws[0] = d.lws[1] = d.lws[2] = 1;
    d.has_lws = 1;
    struct cg_karg args[4] = {CG_KV(x), CG_KV(w), CG_KV(b >= 0 ? b : w), CG_KV(y)};
    return cg_lower_kernel(l, &d, args, 4);
}

/* Direct convolution rather than im2col + GEMM: measured on PoCL (bench/README.md). */
static int use_direct(const struct geom *g, int64_t og, int64_t cg)
{
    int f = conv_forced();
    if (f >= 0)
        return f;
    (void)og;
    (void)cg;
    return g->kh * g->kw > 1;
}

static enum cg_status lower_conv2d(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], w = nd->inputs[1], b = nd->inputs[2], y = nd->out;
    struct geom g;
    geom_attrs(l, &g);
    geom_image(l, x, &g);
    g.kh = cg_lower_dim(l, w, 2);
    g.kw = cg_lower_dim(l, w, 3);
    g.oh = cg_lower_dim(l, y, 2);
    g.ow = cg_lower_dim(l, y, 3);
    int64_t o = cg_lower_dim(l, w, 0), og = o / g.groups, cg = g.c / g.groups;
    int64_t kg = cg * g.kh * g.kw, k = g.c * g.kh * g.kw, p = g.oh * g.ow;
    if (g.n == 0 || o == 0 || p == 0)
        return CG_OK;
    if (use_direct(&g, og, cg))
        return emit_direct(l, x, w, b, y, &g, o, og, cg, 0, 0);
    int direct = is_pointwise(&g);
    int64_t nb = direct ? g.n : chunk_of(g.n, k * p);
    if (!direct)
        CG_TRY(cg_lower_scratch(l, (size_t)(nb * k * p)));
    for (int64_t n0 = 0; n0 < g.n; n0 += nb) {
        int64_t cnt = g.n - n0 < nb ? g.n - n0 : nb;
        if (!direct)
            CG_TRY(emit_im2col(l, x, &g, n0, cnt));
        for (int64_t gi = 0; gi < g.groups; gi++) {
            struct cg_gemm_desc d = {0};
            d.m = (size_t)og;
            d.n = (size_t)p;
            d.k = (size_t)kg;
            d.lda = (size_t)kg;
            d.ldb = (size_t)p;
            d.ldc = (size_t)p;
            d.a = w;
            d.a_off = (size_t)(gi * og * kg);
            d.b = direct ? x : -1;
            d.b_off = (size_t)((direct ? n0 * k * p : 0) + gi * kg * p);
            d.b_stride = (size_t)(k * p);
            d.c = y;
            d.c_off = (size_t)((n0 * o + gi * og) * p);
            d.c_stride = (size_t)(o * p);
            d.batch = (size_t)cnt;
            d.alpha = 1;
            CG_TRY(cg_gemm_emit(l, &d));
        }
    }
    if (b >= 0)
        CG_TRY(cg_lower_bias_add(l, y, b, g.n * o * p, o, p));
    return CG_OK;
}

static enum cg_status lower_conv_transpose2d(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], w = nd->inputs[1], b = nd->inputs[2], y = nd->out;
    struct geom g; /* the image is x; the window maps y's grid onto x's */
    geom_attrs(l, &g);
    geom_image(l, x, &g);
    g.kh = cg_lower_dim(l, w, 2);
    g.kw = cg_lower_dim(l, w, 3);
    int64_t oc = cg_lower_dim(l, y, 1), oh = cg_lower_dim(l, y, 2), ow = cg_lower_dim(l, y, 3);
    int64_t cig = g.c / g.groups, ocg = oc / g.groups, hw = g.h * g.w;
    int64_t mg = ocg * g.kh * g.kw, kt = oc * g.kh * g.kw;
    if (g.n == 0 || oc == 0 || oh * ow == 0)
        return CG_OK;
    if (g.s[0] == 1 && g.s[1] == 1 && use_direct(&g, ocg, cig)) {
        struct geom dg = g; /* the equivalent stride-1 direct conv over x */
        dg.oh = oh;
        dg.ow = ow;
        dg.p[0] = g.d[0] * (g.kh - 1) - g.p[0];
        dg.p[1] = g.d[1] * (g.kw - 1) - g.p[1];
        return emit_direct(l, x, w, b, y, &dg, oc, ocg, cig, 1, 0);
    }
    int64_t nb = chunk_of(g.n, kt * hw);
    CG_TRY(cg_lower_scratch(l, (size_t)(nb * kt * hw)));
    for (int64_t n0 = 0; n0 < g.n; n0 += nb) {
        int64_t cnt = g.n - n0 < nb ? g.n - n0 : nb;
        for (int64_t gi = 0; gi < g.groups; gi++) {
            struct cg_gemm_desc d = {0};
            d.trans_a = 1;
            d.m = (size_t)mg;
            d.n = (size_t)hw;
            d.k = (size_t)cig;
            d.lda = (size_t)mg;
            d.ldb = (size_t)hw;
            d.ldc = (size_t)hw;
            d.a = w;
            d.a_off = (size_t)(gi * cig * mg);
            d.b = x;
            d.b_off = (size_t)((n0 * g.c + gi * cig) * hw);
            d.b_stride = (size_t)(g.c * hw);
            d.c = -1;
            d.c_off = (size_t)(gi * mg * hw);
            d.c_stride = (size_t)(kt * hw);
            d.batch = (size_t)cnt;
            d.alpha = 1;
            CG_TRY(cg_gemm_emit(l, &d));
        }
        char defs[512] = "";
        cg_defines_add(defs, sizeof defs, "NB", cnt);
        cg_defines_add(defs, sizeof defs, "OC", oc);
        cg_defines_add(defs, sizeof defs, "OH", oh);
        cg_defines_add(defs, sizeof defs, "OW", ow);
        cg_defines_add(defs, sizeof defs, "IH", g.h);
        cg_defines_add(defs, sizeof defs, "IW", g.w);
        cg_defines_add(defs, sizeof defs, "HAS_BIAS", b >= 0);
        window_defines(&g, defs, sizeof defs);
        struct cg_karg args[3] = {CG_KS(0), CG_KV(b >= 0 ? b : x),
                                  CG_KVO(y, n0 * oc * oh * ow)};
        CG_TRY(cg_lower_kernel_1d(l, "conv.cl", "col2im", defs, cnt * oc * oh * ow, args, 3));
    }
    return CG_OK;
}

static enum cg_status lower_conv2d_grad_w(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], gy = nd->inputs[1], gw = nd->out;
    struct geom g;
    geom_attrs(l, &g);
    geom_image(l, x, &g);
    g.kh = cg_lower_attr(l, "kh")->i;
    g.kw = cg_lower_attr(l, "kw")->i;
    g.oh = cg_lower_dim(l, gy, 2);
    g.ow = cg_lower_dim(l, gy, 3);
    int64_t o = cg_lower_dim(l, gy, 1), og = o / g.groups, cg = g.c / g.groups;
    int64_t kg = cg * g.kh * g.kw, k = g.c * g.kh * g.kw, p = g.oh * g.ow;
    if (g.n == 0 || o == 0 || kg == 0)
        return CG_OK;
    if (use_direct(&g, og, cg)) { /* per-image partial sums, then batch_sum */
        int64_t ocb = og % 8 == 0 ? 8 : og % 4 == 0 ? 4 : og % 2 == 0 ? 2 : 1;
        /* images per work-item: 8 chunks (NPW 1 / 4 / 8 images of 64: batch_sum 87 / 19 / 5 ms
         * per CRL-TAC step; env CLGRAPH_NPW overrides, for measurements) */
        int64_t npw = getenv("CLGRAPH_NPW") ? atoi(getenv("CLGRAPH_NPW")) : g.n / 8;
        if (npw < 1)
            npw = 1;
        int64_t chunks = (g.n + npw - 1) / npw;
        CG_TRY(cg_lower_scratch(l, (size_t)(chunks * o * kg)));
        char defs[512] = "";
        cg_defines_add(defs, sizeof defs, "NB", g.n);
        cg_defines_add(defs, sizeof defs, "IC", g.c);
        cg_defines_add(defs, sizeof defs, "IH", g.h);
        cg_defines_add(defs, sizeof defs, "IW", g.w);
        cg_defines_add(defs, sizeof defs, "OC", o);
        cg_defines_add(defs, sizeof defs, "OH", g.oh);
        cg_defines_add(defs, sizeof defs, "OW", g.ow);
        cg_defines_add(defs, sizeof defs, "ICG", cg);
        cg_defines_add(defs, sizeof defs, "OCG", og);
        cg_defines_add(defs, sizeof defs, "OCB", ocb);
        cg_defines_add(defs, sizeof defs, "NPW", npw);
        window_defines(&g, defs, sizeof defs);
        struct cg_launch_desc d;
        memset(&d, 0, sizeof d);
        d.source = "conv.cl";
        d.kernel = "conv_grad_w_direct";
        d.defines = defs;
        d.dims = 3;
        d.gws[0] = (size_t)(cg * g.kh);
        d.gws[1] = (size_t)(o / ocb);
        d.gws[2] = (size_t)chunks;
        d.lws[0] = d.lws[1] = d.lws[2] = 1;
        d.has_lws = 1;
        struct cg_karg args[3] = {CG_KV(x), CG_KV(gy), CG_KS(0)};
        CG_TRY(cg_lower_kernel(l, &d, args, 3));
        char sdefs[128] = "";
        cg_defines_add(sdefs, sizeof sdefs, "NB", chunks);
        cg_defines_add(sdefs, sizeof sdefs, "M", o * kg);
        struct cg_karg sargs[2] = {CG_KS(0), CG_KV(gw)};
        return cg_lower_kernel_1d(l, "conv.cl", "batch_sum", sdefs, o * kg, sargs, 2);
    }
    int direct = is_pointwise(&g);
    int64_t nb = direct ? g.n : chunk_of(g.n, k * p);
    int64_t col = direct ? 0 : nb * k * p, parts = g.n > 1 ? g.n * o * kg : 0;
    CG_TRY(cg_lower_scratch(l, (size_t)(col + parts)));
    for (int64_t n0 = 0; n0 < g.n; n0 += nb) {
        int64_t cnt = g.n - n0 < nb ? g.n - n0 : nb;
        if (!direct)
            CG_TRY(emit_im2col(l, x, &g, n0, cnt));
        for (int64_t gi = 0; gi < g.groups; gi++) {
            struct cg_gemm_desc d = {0};
            d.trans_b = 1;
            d.m = (size_t)og;
            d.n = (size_t)kg;
            d.k = (size_t)p;
            d.lda = (size_t)p;
            d.ldb = (size_t)p;
            d.ldc = (size_t)kg;
            d.a = gy;
            d.a_off = (size_t)((n0 * o + gi * og) * p);
            d.a_stride = (size_t)(o * p);
            d.b = direct ? x : -1;
            d.b_off = (size_t)((direct ? n0 * k * p : 0) + gi * kg * p);
            d.b_stride = (size_t)(k * p);
            d.c = parts ? -1 : gw;
            d.c_off = (size_t)((parts ? col + n0 * o * kg : 0) + gi * og * kg);
            d.c_stride = (size_t)(o * kg);
            d.batch = (size_t)cnt;
            d.alpha = 1;
            CG_TRY(cg_gemm_emit(l, &d));
        }
    }
    if (!parts)
        return CG_OK;
    char defs[128] = "";
    cg_defines_add(defs, sizeof defs, "NB", g.n);
    cg_defines_add(defs, sizeof defs, "M", o * kg);
    struct cg_karg args[2] = {CG_KS(col), CG_KV(gw)};
    return cg_lower_kernel_1d(l, "conv.cl", "batch_sum", defs, o * kg, args, 2);
}

enum cg_status cg_lower_conv(struct cg_lower *l)
{
    switch (l->node->op) {
    case CG_OP_conv2d:
        return lower_conv2d(l);
    case CG_OP_conv_transpose2d:
        return lower_conv_transpose2d(l);
    case CG_OP_conv2d_grad_w:
        return lower_conv2d_grad_w(l);
    default:
        return cg_lower_fail(l, "internal error: not a convolution");
    }
}
