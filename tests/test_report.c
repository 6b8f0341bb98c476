/* test_report.c: unit tests of the run report's building blocks: the PNG encoder
 * (src/eval/png.c: every chunk's CRC, the IDAT inflated with zlib and unfiltered back to the
 * exact pixels, for grey, RGB and RGBA images whose rows pick different filters), base64
 * (RFC 4648 vectors), HTML escaping and the report page (self-contained, sections in the
 * table of contents, atomic write), the SVG charts (ticks, skipped non-finite points, legend,
 * "no data"), the colour maps, and PCA (src/eval/pca.c) against known answers on both of its
 * paths (covariance + Jacobi for d <= 64, subspace iteration above). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TMPDIR_PREFIX "/tmp/cg_report"
#include "tmpdir_test.h"

#include "eval/chart.h"
#include "eval/pca.h"
#include "eval/png.h"
#include "eval/report.h"

/* ---- PNG ------------------------------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes a PNG written by cg_png_encode (one IDAT) back to pixels, checking its structure;
 * returns the filter types seen as a bit mask. */
static int decode(const uint8_t *png, size_t len, const struct cg_image *want)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(len > 8 + 25 + 12 + 12);
    assert_memory_equal(png, sig, 8);
    size_t pos = 8;
    const uint8_t *idat = NULL;
    size_t idat_len = 0;
    int seen_end = 0, chunks = 0;
    while (pos < len) {
        uint32_t n = rd32(png + pos);
        assert_true(pos + 12 + n <= len);
        uint32_t crc = (uint32_t)crc32(0L, png + pos + 4, n + 4);
        assert_int_equal(crc, rd32(png + pos + 8 + n));
        const uint8_t *data = png + pos + 8;
        if (chunks == 0) {
            assert_memory_equal(png + pos + 4, "IHDR", 4);
            assert_int_equal(n, 13);
            assert_int_equal(rd32(data), want->w);
            assert_int_equal(rd32(data + 4), want->h);
            assert_int_equal(data[8], 8);
            assert_int_equal(data[9], want->channels == 1 ? 0 : want->channels == 3 ? 2 : 6);
        } else if (!memcmp(png + pos + 4, "IDAT", 4)) {
            idat = data, idat_len = n;
        } else if (!memcmp(png + pos + 4, "IEND", 4)) {
            seen_end = 1;
            assert_int_equal(n, 0);
        }
        chunks++;
        pos += 12 + n;
    }
    assert_int_equal(pos, len);
    assert_true(seen_end);
    assert_non_null(idat);
    size_t rowlen = (size_t)want->w * (size_t)want->channels;
    uLongf rawlen = (uLongf)((rowlen + 1) * (size_t)want->h);
    uint8_t *raw = malloc(rawlen + 1), *img = malloc(rowlen * (size_t)want->h);
    uLongf got = rawlen + 1;
    assert_int_equal(uncompress(raw, &got, idat, (uLong)idat_len), Z_OK);
    assert_int_equal(got, rawlen);
    int filters = 0, bpp = want->channels;
    for (size_t r = 0; r < (size_t)want->h; r++) {
        int f = raw[r * (rowlen + 1)];
        assert_true(f >= 0 && f <= 4);
        filters |= 1 << f;
        const uint8_t *src = raw + r * (rowlen + 1) + 1;
        uint8_t *cur = img + r * rowlen, *prev = r ? img + (r - 1) * rowlen : NULL;
        for (size_t i = 0; i < rowlen; i++) {
            int a = i >= (size_t)bpp ? cur[i - (size_t)bpp] : 0, b = prev ? prev[i] : 0;
            int c = prev && i >= (size_t)bpp ? prev[i - (size_t)bpp] : 0;
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
            cur[i] = (uint8_t)(src[i] + pred);
        }
    }
    assert_memory_equal(img, want->pixels, rowlen * (size_t)want->h);
    free(raw);
    free(img);
    return filters;
}

static void test_png_round_trip(void **state)
{
    (void)state;
    const int sizes[][3] = {{1, 1, 1}, {7, 5, 1}, {33, 17, 3}, {64, 48, 3}, {9, 40, 4}};
    int all_filters = 0;
    for (size_t t = 0; t < CG_ARRAY_LEN(sizes); t++) {
        struct cg_image im = {sizes[t][0], sizes[t][1], sizes[t][2], NULL};
        size_t n = (size_t)im.w * (size_t)im.h * (size_t)im.channels;
        im.pixels = malloc(n);
        for (size_t i = 0; i < n; i++) { /* gradients, a noisy band and flat areas */
            size_t px = i / (size_t)im.channels, x = px % (size_t)im.w, y = px / (size_t)im.w;
            im.pixels[i] = (uint8_t)(y % 3 == 0   ? (x * 7 + y * 3 + i % 3)
                                     : y % 3 == 1 ? (x * 2654435761u >> 7) ^ (y * 40503u)
                                                  : 200);
        }
        struct cg_error e = {0};
        uint8_t *png;
        size_t len;
        assert_int_equal(cg_png_encode(&im, &png, &len, &e), CG_OK);
        all_filters |= decode(png, len, &im);
        /* the file writer gives the same bytes */
        const char *path = tpath("a.png");
        assert_int_equal(cg_png_write(path, &im, &e), CG_OK);
        FILE *f = fopen(path, "rb");
        uint8_t *back = malloc(len + 1);
        assert_int_equal(fread(back, 1, len + 1, f), len);
        fclose(f);
        assert_memory_equal(back, png, len);
        free(back);
        cg_free(png);
        free(im.pixels);
    }
    assert_true(__builtin_popcount((unsigned)all_filters) >= 3); /* adaptive filtering works */
}

static void test_png_errors(void **state)
{
    (void)state;
    uint8_t px[4] = {0};
    struct cg_error e = {0};
    uint8_t *png = (uint8_t *)1;
    size_t len = 1;
    struct cg_image bad[] = {{0, 1, 1, px}, {1, 1, 2, px}, {1, -3, 1, px}, {1, 1, 1, NULL}};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        assert_int_equal(cg_png_encode(&bad[i], &png, &len, &e), CG_ERR_INPUT);
        assert_null(png);
        assert_non_null(strstr(e.msg, "PNG: cannot encode"));
    }
    struct cg_image ok = {2, 2, 1, px};
    assert_int_equal(cg_png_write("/nonexistent-dir/x.png", &ok, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/x.png"));
    cg_alloc_fail_after(0);
    assert_int_equal(cg_png_encode(&ok, &png, &len, &e), CG_ERR_NOMEM);
    cg_alloc_fail_after(-1);
}

/* ---- base64, escaping, the page ------------------------------------------------------------- */

static void test_base64_escape(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < CG_ARRAY_LEN(in); i++) {
        struct cg_buf b = {0};
        cg_base64_append(&b, in[i], strlen(in[i]));
        assert_string_equal(cg_buf_str(&b), out[i]);
        cg_buf_free(&b);
    }
    /* a long input crosses the encoder's internal chunks: decode it back */
    enum { N = 5000 };
    uint8_t data[N];
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 8));
    struct cg_buf b = {0};
    cg_base64_append(&b, data, N);
    assert_int_equal(b.len, (N + 2) / 3 * 4);
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0, o = 0; i < b.len; i += 4) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++)
            v = v << 6 | (uint32_t)(b.data[i + (size_t)k] == '=' ? 0
                                    : strchr(tab, b.data[i + (size_t)k]) - tab);
        for (int k = 0; k < 3 && o < N; k++, o++)
            assert_int_equal((uint8_t)(v >> (16 - 8 * k)), data[o]);
    }
    cg_buf_free(&b);
    struct cg_buf h = {0};
    cg_html_escape(&h, "a<b & \"c\" > 'd'");
    assert_string_equal(cg_buf_str(&h), "a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;");
    cg_buf_free(&h);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void test_report_page(void **state)
{
    (void)state;
    struct cg_report r;
    struct cg_error e = {0};
    cg_report_begin(&r, "run <a>");
    cg_report_section(&r, "curves", "Curves & more");
    cg_report_text(&r, "x < y");
    uint8_t px[12] = {0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255};
    struct cg_image im = {2, 2, 3, px};
    assert_int_equal(cg_report_image(&r, &im, 4, "a \"tile\"", &e), CG_OK);
    cg_report_section(&r, "second", "Second");
    cg_report_html(&r, "<p>%d</p>", 42);
    struct cg_image bad = {0, 0, 3, px};
    assert_int_equal(cg_report_image(&r, &bad, 1, "", &e), CG_ERR_INPUT);
    const char *path = tpath("report.html");
    assert_int_equal(cg_report_write(&r, path, &e), CG_OK);
    cg_report_free(&r);
    char *s = slurp(path);
    assert_non_null(strstr(s, "<title>run &lt;a&gt;</title>"));
    assert_non_null(
        strstr(s, "<nav><a href=\"#curves\">Curves &amp; more</a><a href=\"#second\">"));
    assert_non_null(strstr(s, "<section id=\"curves\">\n<h2>Curves &amp; more</h2>\nx &lt; y"));
    assert_non_null(strstr(s, "<img width=\"8\" height=\"8\" alt=\"a &quot;tile&quot;\" "
                              "src=\"data:image/png;base64,iVBORw0KGgo"));
    assert_non_null(strstr(s, "<p>42</p></section>"));
    assert_null(strstr(s, "http://"));
    assert_null(strstr(s, "https://"));
    assert_null(strstr(s, "<script"));
    assert_non_null(strstr(s, "</html>\n"));
    free(s);
    /* an unwritable path names itself */
    cg_report_begin(&r, "t");
    assert_int_equal(cg_report_write(&r, "/nonexistent-dir/r.html", &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/r.html"));
    cg_report_free(&r);
}

/* ---- charts and colours --------------------------------------------------------------------- */

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void test_ticks_colours(void **state)
{
    (void)state;
    double t[24];
    int n = cg_nice_ticks(0.13, 2.9, 5, t, 24);
    assert_int_equal(n, 4);
    assert_true(t[0] == 0 && t[1] == 1 && t[3] == 3);
    n = cg_nice_ticks(10, 500, 6, t, 24);
    assert_true(t[0] == 0 && t[1] == 100 && t[n - 1] == 500);
    n = cg_nice_ticks(-0.031, 0.012, 5, t, 24);
    assert_true(fabs(t[0] + 0.04) < 1e-12 && fabs(t[1] + 0.02) < 1e-12 && t[n - 1] >= 0.012);
    n = cg_nice_ticks(5, 5, 5, t, 24); /* a constant still gets a range */
    assert_true(n >= 2 && t[0] <= 5 && t[n - 1] >= 5 && t[0] < t[n - 1]);
    uint8_t c[3];
    cg_viridis(0, c);
    assert_true(c[0] == 68 && c[1] == 1 && c[2] == 84);
    cg_viridis(1, c);
    assert_true(c[0] == 253 && c[1] == 231 && c[2] == 37);
    cg_viridis(NAN, c);
    assert_true(c[0] == 68);
    cg_viridis(0.5, c);
    assert_true(c[0] == 38 && c[1] == 130 && c[2] == 142);
    assert_string_equal(cg_palette(0), "#1f77b4");
    assert_string_equal(cg_palette(13), cg_palette(3));
    assert_string_equal(cg_palette(-1), cg_palette(9));
}

static void test_charts(void **state)
{
    (void)state;
    double x[5] = {10, 20, 30, 40, 50}, y[5] = {2.0, 1.5, NAN, 0.9, 0.7};
    double tx[2] = {25, 50}, ty[2] = {1.4, 0.8};
    struct cg_series s[2] = {{"train", x, y, 5, 0}, {"test", tx, ty, 2, 1}};
    struct cg_chart_frame f = {"loss", "step", "loss", 480, 300};
    struct cg_buf b = {0};
    cg_svg_line_chart(&b, &f, s, 2);
    const char *svg = cg_buf_str(&b);
    assert_int_equal(count(svg, "<svg"), 1);
    assert_int_equal(count(svg, "</svg>"), 1);
    assert_int_equal(count(svg, "<polyline"), 2); /* the NaN breaks the line */
    assert_non_null(strstr(svg, ">train</text>"));
    assert_non_null(strstr(svg, ">test</text>"));
    assert_non_null(strstr(svg, ">step</text>"));
    assert_non_null(strstr(svg, ">0.5</text>")); /* a y tick */
    assert_non_null(strstr(svg, ">50</text>"));  /* an x tick */
    assert_true(count(svg, "<circle") >= 3);      /* 2 test markers + the legend's */
    cg_buf_free(&b);
    double nan2[2] = {NAN, INFINITY};
    struct cg_series empty = {"x", nan2, nan2, 2, 0};
    cg_svg_line_chart(&b, &f, &empty, 1);
    assert_non_null(strstr(cg_buf_str(&b), "no data"));
    cg_buf_free(&b);
    /* scatter: one group per label present, a legend with names, equal scales */
    double px[6] = {0, 1, 2, 3, 4, 5}, py[6] = {0, 0.1, 0.2, 0.1, 0, NAN};
    int lab[6] = {0, 0, 2, 2, 2, 1};
    const char *names[3] = {"zero", NULL, "two"};
    struct cg_chart_frame sf = {"emb", "PC1", "PC2", 520, 400};
    cg_svg_scatter(&b, &sf, px, py, lab, 6, names, 3);
    svg = cg_buf_str(&b);
    assert_int_equal(count(svg, "r=\"2.3\""), 5); /* the NaN point is skipped */
    assert_non_null(strstr(svg, ">zero</text>"));
    assert_non_null(strstr(svg, ">two</text>"));
    assert_non_null(strstr(svg, ">1</text>")); /* label 1 has no name */
    assert_int_equal(count(svg, "fill-opacity"), 3);
    cg_buf_free(&b);
}

/* ---- PCA ------------------------------------------------------------------------------------ */

static void test_eigen(void **state)
{
    (void)state;
    /* [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 5, 3, 1 */
    double a[9] = {2, 1, 0, 1, 2, 0, 0, 0, 5}, w[3], v[9];
    cg_eigen_sym(a, 3, w, v);
    assert_true(fabs(w[0] - 5) < 1e-12 && fabs(w[1] - 3) < 1e-12 && fabs(w[2] - 1) < 1e-12);
    assert_true(fabs(fabs(v[2 * 3 + 0]) - 1) < 1e-12);                /* e3 */
    assert_true(fabs(fabs(v[0 * 3 + 1]) - sqrt(0.5)) < 1e-12);        /* (1,1,0)/sqrt2 */
    assert_true(fabs(v[0 * 3 + 1] - v[1 * 3 + 1]) < 1e-12);
}

/* n points in d dimensions: x = mu + a_i * 3 u + b_i * 1 v (+ c_i * 0.1 along a third
 * direction), with u, v, w orthonormal and a, b, c zero-mean with unit variance: the first
 * components are u and v with variances 9 and 1 (times the sample variances). */
static void known_answer(size_t d)
{
    enum { N = 400 };
    float *x = malloc(N * d * sizeof *x);
    double *u = calloc(d, sizeof *u), *v = calloc(d, sizeof *v), *w = calloc(d, sizeof *w);
    for (size_t f = 0; f < d; f++) { /* three orthonormal directions spread over all features */
        u[f] = (f % 2 ? 1.0 : -1.0) / sqrt((double)d);
        v[f] = (f % 4 < 2 ? 1.0 : -1.0) / sqrt((double)d);
        w[f] = (f % 8 < 4 ? 1.0 : -1.0) / sqrt((double)d);
    }
    double a[N], bb[N], c[N];
    for (int i = 0; i < N; i++) { /* exact zero mean, unit variance, uncorrelated */
        double t = 2 * 3.14159265358979323846 * (i + 0.5) / N;
        a[i] = sqrt(2) * cos(t), bb[i] = sqrt(2) * sin(t), c[i] = sqrt(2) * cos(3 * t);
    }
    for (int i = 0; i < N; i++)
        for (size_t f = 0; f < d; f++)
            x[(size_t)i * d + f] =
                (float)(0.5 + 0.01 * (double)f + 3 * a[i] * u[f] + bb[i] * v[f] +
                        0.1 * c[i] * w[f]);
    double out[N * 2], var[2], total;
    struct cg_error e = {0};
    assert_int_equal(cg_pca(x, N, d, 2, out, var, &total, &e), CG_OK);
    double scale = (double)N / (N - 1);
    assert_true(fabs(var[0] - 9 * scale) < 1e-4);
    assert_true(fabs(var[1] - 1 * scale) < 1e-4);
    assert_true(fabs(total - 10.01 * scale) < 1e-4);
    /* the coordinates are a and b up to sign (floats in x: ~1e-6 relative) */
    double s0 = out[0] * a[0] > 0 ? 1 : -1, s1 = out[1] * bb[0] > 0 ? 1 : -1;
    for (int i = 0; i < N; i++) {
        if (fabs(out[i * 2] - s0 * 3 * a[i]) > 1e-4 || fabs(out[i * 2 + 1] - s1 * bb[i]) > 1e-4)
            fail_msg("d=%zu example %d: (%g, %g) against (%g, %g)", d, i, out[i * 2],
                     out[i * 2 + 1], s0 * 3 * a[i], s1 * bb[i]);
    }
    free(x), free(u), free(v), free(w);
}

static void test_pca(void **state)
{
    (void)state;
    known_answer(8);   /* covariance + Jacobi */
    known_answer(200); /* subspace iteration */
    /* D = 2 with k = 2 is a rotation of the centred data: distances are kept */
    float x2[8] = {0, 0, 1, 0, 0, 2, 3, 3};
    double out[8];
    struct cg_error e = {0};
    assert_int_equal(cg_pca(x2, 4, 2, 2, out, NULL, NULL, &e), CG_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double dx = x2[2 * i] - x2[2 * j], dy = x2[2 * i + 1] - x2[2 * j + 1];
            double px = out[2 * i] - out[2 * j], py = out[2 * i + 1] - out[2 * j + 1];
            assert_true(fabs(dx * dx + dy * dy - px * px - py * py) < 1e-9);
        }
    /* deterministic signs: a run again gives the same bits */
    double again[8];
    assert_int_equal(cg_pca(x2, 4, 2, 2, again, NULL, NULL, &e), CG_OK);
    assert_memory_equal(out, again, sizeof out);
    /* errors */
    assert_int_equal(cg_pca(x2, 1, 2, 2, out, NULL, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "at least 2 examples"));
    assert_int_equal(cg_pca(x2, 4, 2, 3, out, NULL, NULL, &e), CG_ERR_INPUT);
    x2[5] = NAN;
    assert_int_equal(cg_pca(x2, 4, 2, 2, out, NULL, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "example 2, feature 1 is nan"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_round_trip), cmocka_unit_test(test_png_errors),
        cmocka_unit_test(test_base64_escape),  cmocka_unit_test(test_report_page),
        cmocka_unit_test(test_ticks_colours),  cmocka_unit_test(test_charts),
        cmocka_unit_test(test_eigen),          cmocka_unit_test(test_pca),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
