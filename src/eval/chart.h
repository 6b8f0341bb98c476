/* chart.h: inline SVG charts for the run report (report.h): line charts of training curves,
 * scatter plots of 2-D embeddings coloured by label, and the colour maps shared with the
 * raster pictures (viridis for intensities, a ten-colour categorical palette for labels).
 *
 * Axes get "nice" ticks (1, 2, 2.5 or 5 times a power of ten) covering the data, with labels
 * and a grid; non-finite values are skipped (a line breaks there). Each function appends one
 * <svg> element with a viewBox (it scales with the page) to a cg_buf; none can fail except by
 * running out of memory, which the buffer records. */
#ifndef CG_CHART_H
#define CG_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* One series of a line chart: n points (x[i], y[i]); points_only draws markers (e.g. test
 * evaluations), else a polyline (with a marker when it has a single point). */
struct cg_series {
    const char *name;
    const double *x, *y;
    size_t n;
    int points_only;
};

/* The frame of a chart: title above, axis labels, size in pixels (the viewBox). */
struct cg_chart_frame {
    const char *title, *xlabel, *ylabel;
    int width, height;
};

/* Appends a line chart of ns series (colours from the categorical palette in order, a legend
 * when ns > 1). A chart without any finite point says "no data". */
void cg_svg_line_chart(struct cg_buf *b, const struct cg_chart_frame *f,
                       const struct cg_series *s, int ns);

/* Appends a scatter plot of n points (x[i], y[i]) coloured by label[i] (label NULL: one
 * colour); names[k] (NULL: "k") names label k in the legend, which lists the labels present
 * (up to 20). Both axes share one scale, so distances read true. */
void cg_svg_scatter(struct cg_buf *b, const struct cg_chart_frame *f, const double *x,
                    const double *y, const int *label, size_t n, const char *const *names,
                    int nnames);

/* The categorical colour of index k ("#rrggbb", ten colours, cycling). */
const char *cg_palette(int k);

/* The viridis colour map at t in [0, 1] (clamped; NaN gives the colour of 0) as RGB bytes. */
void cg_viridis(double t, uint8_t rgb[3]);

/* Nice tick positions covering [lo, hi]: about `want` ticks at a step of 1, 2, 2.5 or 5 times a
 * power of ten; writes up to max ticks into t and returns how many (at least 2 for lo < hi). */
int cg_nice_ticks(double lo, double hi, int want, double *t, int max);

#endif
