/* chart.c: the SVG charts and colour maps of chart.h. A chart is a plot rectangle inside
 * margins (title above, tick labels and axis labels below and to the left); data coordinates
 * map linearly onto it through the range of the ticks. */
#include "eval/chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval/report.h"

#define MAX_TICKS 24

static const char *const PALETTE[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char *cg_palette(int k)
{
    return PALETTE[((k % 10) + 10) % 10];
}

void cg_viridis(double t, uint8_t rgb[3])
{
    /* viridis at t = 0, 1/8, ..., 1 (matplotlib's table), linearly interpolated */
    static const uint8_t V[9][3] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},
                                    {49, 104, 142}, {38, 130, 142}, {31, 158, 137},
                                    {53, 183, 121}, {110, 206, 88}, {253, 231, 37}};
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    double u = t * 8;
    int i = (int)u;
    if (i > 7)
        i = 7;
    double f = u - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)lrint(V[i][k] + f * (V[i + 1][k] - V[i][k]));
}

int cg_nice_ticks(double lo, double hi, int want, double *t, int max)
{
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= d, hi += d;
    }
    if (want < 2)
        want = 2;
    double raw = (hi - lo) / (want - 1), p = pow(10, floor(log10(raw))), step = 10 * p;
    static const double M[4] = {1, 2, 2.5, 5};
    for (int i = 0; i < 4; i++)
        if (M[i] * p >= raw) {
            step = M[i] * p;
            break;
        }
    double start = floor(lo / step + 1e-9) * step;
    int n = 0;
    for (; n < max; n++) {
        double v = start + n * step;
        t[n] = fabs(v) < step * 1e-9 ? 0 : v;
        if (v >= hi - step * 1e-9) {
            n++;
            break;
        }
    }
    return n;
}

/* Formats tick v with the decimals its step needs. */
static void tick_label(char *s, size_t n, double v, double step)
{
    double a = fabs(v) > fabs(step) ? fabs(v) : fabs(step);
    if (a >= 1e6 || (a < 1e-3 && a > 0)) {
        snprintf(s, n, "%.3g", v);
        return;
    }
    int dec = 0;
    for (double st = fabs(step); dec < 6 && fabs(st - round(st)) > 1e-9 * (1 + st); st *= 10)
        dec++;
    snprintf(s, n, "%.*f", dec, v);
}

struct frame {
    double x0, x1, y0, y1;       /* data range */
    double px, py, pw, ph;       /* plot rectangle in pixels */
};

static double fx(const struct frame *f, double x)
{
    return f->px + (x - f->x0) / (f->x1 - f->x0) * f->pw;
}

static double fy(const struct frame *f, double y)
{
    return f->py + f->ph - (y - f->y0) / (f->y1 - f->y0) * f->ph;
}

static void text(struct cg_buf *b, double x, double y, const char *attrs, const char *s)
{
    cg_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    cg_html_escape(b, s);
    cg_buf_printf(b, "</text>\n");
}

/* The frame's opening: <svg>, background, title, grid lines, ticks, tick and axis labels. */
static void axes(struct cg_buf *b, const struct cg_chart_frame *c, const struct frame *f,
                 const double *xt, int nx, const double *yt, int ny)
{
    cg_buf_printf(b, "<svg viewBox=\"0 0 %d %d\" "
                  "width=\"%d\" height=\"%d\" role=\"img\">\n", c->width, c->height, c->width,
                  c->height);
    cg_buf_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", c->width, c->height);
    if (c->title)
        text(b, f->px, 18, "font-size=\"14\" font-weight=\"600\" fill=\"#1d2430\"", c->title);
    cg_buf_printf(b, "<g stroke=\"#e8eaef\" stroke-width=\"1\">\n");
    for (int i = 0; i < nx; i++)
        cg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                      fx(f, xt[i]), f->py, fx(f, xt[i]), f->py + f->ph);
    for (int i = 0; i < ny; i++)
        cg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->px,
                      fy(f, yt[i]), f->px + f->pw, fy(f, yt[i]));
    cg_buf_printf(b, "</g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                  "fill=\"none\" stroke=\"#9aa3b2\"/>\n", f->px, f->py, f->pw, f->ph);
    char s[48];
    cg_buf_printf(b, "<g font-size=\"11\" fill=\"#5b6474\">\n");
    for (int i = 0; i < nx; i++) {
        tick_label(s, sizeof s, xt[i], nx > 1 ? xt[1] - xt[0] : 1);
        text(b, fx(f, xt[i]), f->py + f->ph + 15, "text-anchor=\"middle\"", s);
    }
    for (int i = 0; i < ny; i++) {
        tick_label(s, sizeof s, yt[i], ny > 1 ? yt[1] - yt[0] : 1);
        text(b, f->px - 6, fy(f, yt[i]) + 4, "text-anchor=\"end\"", s);
    }
    cg_buf_printf(b, "</g>\n");
    if (c->xlabel)
        text(b, f->px + f->pw / 2, c->height - 6,
             "font-size=\"12\" text-anchor=\"middle\" fill=\"#394152\"", c->xlabel);
    if (c->ylabel) {
        char attrs[160];
        snprintf(attrs, sizeof attrs, "font-size=\"12\" text-anchor=\"middle\" fill=\"#394152\" "
                 "transform=\"rotate(-90 14 %.1f)\"", f->py + f->ph / 2);
        text(b, 14, f->py + f->ph / 2, attrs, c->ylabel);
    }
}

/* The finite range of n values; 0 when there is none. */
static int range(const double *v, size_t n, double *lo, double *hi)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (!any || v[i] < *lo)
                *lo = v[i];
            if (!any || v[i] > *hi)
                *hi = v[i];
            any = 1;
        }
    return any;
}

static void no_data(struct cg_buf *b, const struct cg_chart_frame *c)
{
    cg_buf_printf(b, "<svg viewBox=\"0 0 %d %d\" "
                  "width=\"%d\" height=\"%d\" role=\"img\">\n<rect width=\"%d\" height=\"%d\" "
                  "fill=\"#fff\" stroke=\"#e1e4ea\"/>\n", c->width, c->height, c->width,
                  c->height, c->width, c->height);
    if (c->title)
        text(b, 12, 18, "font-size=\"14\" font-weight=\"600\" fill=\"#1d2430\"", c->title);
    text(b, c->width / 2.0, c->height / 2.0, "font-size=\"13\" text-anchor=\"middle\" "
         "fill=\"#8a92a0\"", "no data");
    cg_buf_printf(b, "</svg>\n");
}

static void marker(struct cg_buf *b, double x, double y, const char *color)
{
    cg_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\" fill=\"%s\" stroke=\"#fff\" "
                  "stroke-width=\"1\"/>\n", x, y, color);
}

void cg_svg_line_chart(struct cg_buf *b, const struct cg_chart_frame *c,
                       const struct cg_series *s, int ns)
{
    double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
    int any = 0;
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            if (!any || s[k].x[i] < xlo)
                xlo = s[k].x[i];
            if (!any || s[k].x[i] > xhi)
                xhi = s[k].x[i];
            if (!any || s[k].y[i] < ylo)
                ylo = s[k].y[i];
            if (!any || s[k].y[i] > yhi)
                yhi = s[k].y[i];
            any = 1;
        }
    if (!any) {
        no_data(b, c);
        return;
    }
    double xt[MAX_TICKS], yt[MAX_TICKS];
    int nx = cg_nice_ticks(xlo, xhi, 6, xt, MAX_TICKS);
    int ny = cg_nice_ticks(ylo, yhi, 5, yt, MAX_TICKS);
    struct frame f = {xt[0], xt[nx - 1], yt[0], yt[ny - 1], 62, 30, c->width - 62 - 16.0,
                      c->height - 30 - 42.0};
    axes(b, c, &f, xt, nx, yt, ny);
    for (int k = 0; k < ns; k++) {
        const char *color = cg_palette(k);
        if (s[k].points_only) {
            for (size_t i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                    marker(b, fx(&f, s[k].x[i]), fy(&f, s[k].y[i]), color);
            continue;
        }
        size_t run = 0, last = 0;
        for (size_t i = 0; i <= s[k].n; i++) {
            int ok = i < s[k].n && isfinite(s[k].x[i]) && isfinite(s[k].y[i]);
            if (ok) {
                if (!run)
                    cg_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
                                  "stroke-linejoin=\"round\" points=\"", color);
                cg_buf_printf(b, "%s%.1f,%.1f", run ? " " : "", fx(&f, s[k].x[i]),
                              fy(&f, s[k].y[i]));
                run++, last = i;
            } else if (run) {
                cg_buf_printf(b, "\"/>\n");
                if (run == 1)
                    marker(b, fx(&f, s[k].x[last]), fy(&f, s[k].y[last]), color);
                run = 0;
            }
        }
    }
    if (ns > 1) {
        double lx = f.px + f.pw;
        for (int k = ns - 1; k >= 0; k--) {
            const char *name = s[k].name ? s[k].name : "";
            lx -= 7.0 * (double)strlen(name) + 34;
            if (s[k].points_only)
                marker(b, lx + 9, 14, cg_palette(k));
            else
                cg_buf_printf(b, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"14\" stroke=\"%s\" "
                              "stroke-width=\"2\"/>\n", lx, lx + 18, cg_palette(k));
            text(b, lx + 23, 18, "font-size=\"12\" fill=\"#394152\"", name);
        }
    }
    cg_buf_printf(b, "</svg>\n");
}

void cg_svg_scatter(struct cg_buf *b, const struct cg_chart_frame *c, const double *x,
                    const double *y, const int *label, size_t n, const char *const *names,
                    int nnames)
{
    double xlo = 0, xhi = 0, ylo = 0, yhi = 0;
    if (!range(x, n, &xlo, &xhi) || !range(y, n, &ylo, &yhi)) {
        no_data(b, c);
        return;
    }
    /* one scale for both axes: widen the shorter span around its centre */
    const double legend_w = label ? 120 : 0;
    double pw = c->width - 62 - 16.0 - legend_w, ph = c->height - 30 - 42.0;
    double sx = (xhi - xlo) * 1.08, sy = (yhi - ylo) * 1.08; /* a margin around the points */
    if (sx <= 0 && sy <= 0)
        sx = sy = 1;
    double unit = sx / pw > sy / ph ? sx / pw : sy / ph; /* data units per pixel */
    double cx = (xlo + xhi) / 2, cy = (ylo + yhi) / 2;
    xlo = cx - unit * pw / 2, xhi = cx + unit * pw / 2;
    ylo = cy - unit * ph / 2, yhi = cy + unit * ph / 2;
    double xt[MAX_TICKS], yt[MAX_TICKS];
    int nx = cg_nice_ticks(xlo, xhi, 7, xt, MAX_TICKS);
    int ny = cg_nice_ticks(ylo, yhi, 6, yt, MAX_TICKS);
    /* ticks inside the range only; the frame is the equal-scale range itself */
    int ix = 0, iy = 0;
    double xi[MAX_TICKS], yi[MAX_TICKS];
    for (int i = 0; i < nx; i++)
        if (xt[i] >= xlo && xt[i] <= xhi)
            xi[ix++] = xt[i];
    for (int i = 0; i < ny; i++)
        if (yt[i] >= ylo && yt[i] <= yhi)
            yi[iy++] = yt[i];
    struct frame f = {xlo, xhi, ylo, yhi, 62, 30, pw, ph};
    axes(b, c, &f, xi, ix, yi, iy);
    int present[256] = {0}, maxl = -1, other = 0;
    for (size_t i = 0; i < n; i++) {
        int l = label ? label[i] : 0;
        if (l >= 0 && l < 256) {
            present[l] = 1;
            if (l > maxl)
                maxl = l;
        } else {
            other = 1;
        }
    }
    /* points grouped by colour, drawn in label order (out-of-range labels grey, last) */
    for (int l = 0; l <= maxl + 1; l++) {
        if (l <= maxl ? !present[l] : !other)
            continue;
        cg_buf_printf(b, "<g fill=\"%s\" fill-opacity=\"0.72\">\n",
                      l <= maxl ? cg_palette(l) : "#9aa3b2");
        for (size_t i = 0; i < n; i++) {
            int li = label ? label[i] : 0;
            int mine = l <= maxl ? li == l : (li < 0 || li >= 256);
            if (mine && isfinite(x[i]) && isfinite(y[i]))
                cg_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.3\"/>\n", fx(&f, x[i]),
                              fy(&f, y[i]));
        }
        cg_buf_printf(b, "</g>\n");
    }
    if (label) {
        double lx = f.px + f.pw + 18, ly = f.py + 10;
        int shown = 0;
        for (int l = 0; l <= maxl && shown < 20; l++) {
            if (!present[l])
                continue;
            char def[16];
            snprintf(def, sizeof def, "%d", l);
            const char *name = names && l < nnames && names[l] ? names[l] : def;
            cg_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"/>\n", lx,
                          ly - 4, cg_palette(l));
            text(b, lx + 10, ly, "font-size=\"12\" fill=\"#394152\"", name);
            ly += 18, shown++;
        }
    }
    cg_buf_printf(b, "</svg>\n");
}
