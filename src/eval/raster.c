/* raster.c: the canvases and tile drawing of raster.h. */
#include "eval/raster.h"

#include <math.h>
#include <string.h>

#include "eval/chart.h"

enum cg_status cg_canvas_new(struct cg_image *im, int w, int h, int channels, uint8_t fill,
                             struct cg_error *e)
{
    memset(im, 0, sizeof *im);
    if (w < 1 || h < 1 || (double)w * h > 1e8 || (channels != 1 && channels != 3))
        return cg_error_set(e, CG_ERR_INPUT, "error: a picture of %dx%d pixels and %d channels "
                            "is out of range (1 or 3 channels, at most 10^8 pixels)", w, h,
                            channels);
    size_t n = (size_t)w * (size_t)h * (size_t)channels;
    im->pixels = cg_malloc(n);
    if (!im->pixels)
        return cg_error_nomem(e);
    memset(im->pixels, fill, n);
    im->w = w, im->h = h, im->channels = channels;
    return CG_OK;
}

static uint8_t to_byte(float v, float lo, float hi)
{
    if (!(hi > lo) || v != v)
        return 0;
    float t = (v - lo) / (hi - lo);
    return (uint8_t)lrintf((t < 0 ? 0 : t > 1 ? 1 : t) * 255.0f);
}

void cg_draw_chw(struct cg_image *dst, int x0, int y0, const float *src, int c, int h, int w,
                 int scale, float lo, float hi)
{
    size_t plane = (size_t)h * (size_t)w;
    int dc = dst->channels;
    for (int r = 0; r < h * scale; r++) {
        int y = y0 + r;
        if (y < 0 || y >= dst->h)
            continue;
        for (int q = 0; q < w * scale; q++) {
            int x = x0 + q;
            if (x < 0 || x >= dst->w)
                continue;
            size_t s = (size_t)(r / scale) * (size_t)w + (size_t)(q / scale);
            uint8_t *p = dst->pixels + ((size_t)y * (size_t)dst->w + (size_t)x) * (size_t)dc;
            if (c == dc) {
                for (int k = 0; k < c; k++)
                    p[k] = to_byte(src[(size_t)k * plane + s], lo, hi);
            } else if (c == 1) { /* grey on RGB */
                p[0] = p[1] = p[2] = to_byte(src[s], lo, hi);
            } else { /* RGB on grey: the mean */
                p[0] = to_byte((src[s] + src[plane + s] + src[2 * plane + s]) / 3, lo, hi);
            }
        }
    }
}

void cg_draw_heat(struct cg_image *dst, int x0, int y0, const float *map, int h, int w,
                  int scale, float lo, float hi)
{
    for (int r = 0; r < h * scale; r++) {
        int y = y0 + r;
        if (y < 0 || y >= dst->h)
            continue;
        for (int q = 0; q < w * scale; q++) {
            int x = x0 + q;
            if (x < 0 || x >= dst->w)
                continue;
            float v = map[(size_t)(r / scale) * (size_t)w + (size_t)(q / scale)];
            uint8_t rgb[3];
            cg_viridis(hi > lo ? (v - lo) / (hi - lo) : 0, rgb);
            memcpy(dst->pixels + ((size_t)y * (size_t)dst->w + (size_t)x) * 3, rgb, 3);
        }
    }
}

void cg_display_range(const float *v, size_t n, float *lo, float *hi)
{
    int any = 0;
    *lo = *hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!any || v[i] < *lo)
            *lo = v[i];
        if (!any || v[i] > *hi)
            *hi = v[i];
        any = 1;
    }
    if (any && *lo >= 0 && *hi <= 1)
        *lo = 0, *hi = 1;
}

enum cg_status cg_grid_chw(const float *x, size_t n, int c, int h, int w, struct cg_image *out,
                           struct cg_error *e)
{
    int cols = (int)ceil(sqrt((double)n)), rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    CG_TRY(cg_canvas_new(out, cols * (w + 2) + 2, rows * (h + 2) + 2, c, 96, e));
    size_t size = (size_t)c * (size_t)h * (size_t)w;
    for (size_t i = 0; i < n; i++)
        cg_draw_chw(out, 2 + (int)(i % (size_t)cols) * (w + 2),
                    2 + (int)(i / (size_t)cols) * (h + 2), x + i * size, c, h, w, 1, 0, 1);
    return CG_OK;
}
