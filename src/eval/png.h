/* png.h: PNG encoding of 8-bit images (struct cg_image of data/jpeg.h) for the run report.
 *
 * Lossless, so masks, heatmaps and learned filters show their exact pixels (JPEG would smear
 * them). The encoder writes one IHDR, one IDAT (zlib via deflate, per-row adaptive filters
 * chosen by the minimum sum of absolute differences, as libpng's default) and IEND, with CRCs
 * from zlib's crc32. Grey (1 channel), RGB (3) and RGBA (4), 8 bits per sample, no interlace. */
#ifndef CG_PNG_H
#define CG_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "data/jpeg.h"
#include "util/util.h"

/* Encodes im (channels 1, 3 or 4; w, h >= 1) into a PNG held in memory: *out cg_malloc'd,
 * *out_len bytes. Returns CG_OK, CG_ERR_INPUT for bad dimensions or channels, CG_ERR_NOMEM. */
enum cg_status cg_png_encode(const struct cg_image *im, uint8_t **out, size_t *out_len,
                             struct cg_error *e);

/* Encodes im and writes it to path atomically (data/fileio.h). CG_ERR_INPUT also for an I/O
 * failure ("PATH: error: ..."). */
enum cg_status cg_png_write(const char *path, const struct cg_image *im, struct cg_error *e);

#endif
