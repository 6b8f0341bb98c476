/* raster.h: 8-bit pictures of float tensors, for `clgraph data show --grid` and the run report
 * of `clgraph viz`: canvases, CHW float images drawn as tiles (nearest-neighbour upscaling,
 * a value range mapped to [0, 255]), heatmaps through a colour map, and the example grid.
 *
 * Pictures are struct cg_image (data/jpeg.h): RGB or grey bytes, row-major, interleaved. A tile
 * whose source has one channel is grey on an RGB canvas; a three-channel source on a grey
 * canvas is its channel mean. NaN draws as 0 (black); values outside the range are clamped. */
#ifndef CG_RASTER_H
#define CG_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "data/jpeg.h"
#include "util/util.h"

/* Allocates a w x h canvas of channels (1 or 3) filled with the byte fill. CG_ERR_INPUT when a
 * side is < 1 or the canvas would exceed 10^8 pixels (naming the size), CG_ERR_NOMEM. */
enum cg_status cg_canvas_new(struct cg_image *im, int w, int h, int channels, uint8_t fill,
                             struct cg_error *e);

/* Draws the float image src (channels c, 1 or 3, planes of h x w, CHW) on dst with its top-left
 * corner at (x0, y0), each source pixel a scale x scale block; value v becomes
 * 255 * (v - lo) / (hi - lo) clamped (hi <= lo: everything 0). Parts outside dst are clipped. */
void cg_draw_chw(struct cg_image *dst, int x0, int y0, const float *src, int c, int h, int w,
                 int scale, float lo, float hi);

/* Draws the h x w map (row-major) on an RGB dst at (x0, y0), scale x scale blocks, coloured by
 * viridis over [lo, hi] (chart.h). */
void cg_draw_heat(struct cg_image *dst, int x0, int y0, const float *map, int h, int w,
                  int scale, float lo, float hi);

/* The range of n values for display: [0, 1] when every finite value lies in it (images,
 * masks, probabilities), else the finite minimum and maximum (lo == hi when constant or when
 * there is no finite value). */
void cg_display_range(const float *v, size_t n, float *lo, float *hi);

/* Tiles the first n examples of x (f32 CHW, c 1 or 3, values clamped to [0, 1]) into a grid of
 * ceil(sqrt(n)) columns with 2-pixel grey (96) borders: *out gets a canvas of c channels.
 * CG_ERR_INPUT when the grid would be too large (see cg_canvas_new), CG_ERR_NOMEM. */
enum cg_status cg_grid_chw(const float *x, size_t n, int c, int h, int w, struct cg_image *out,
                           struct cg_error *e);

#endif
