/* jpeg.h: JPEG images through libjpeg-turbo, and the resampling that fits them to a graph's
 * input size.
 *
 * Decoding yields grey (1 channel) or RGB (3 channels) 8-bit images, interleaved row-major
 * (HWC); other colour spaces (CMYK, YCCK) are refused. libjpeg's errors are caught by an error
 * manager that longjmps back, so a corrupt file is an error value naming the path, never an exit
 * or a message on stderr. The writer is atomic (temp file, fsync, rename). */
#ifndef CG_JPEG_H
#define CG_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* An 8-bit image: h rows of w pixels of channels (1 or 3) interleaved bytes. pixels is
 * cg_malloc'd and owned; release with cg_image_free. */
struct cg_image {
    int w, h, channels;
    uint8_t *pixels;
};

void cg_image_free(struct cg_image *im);

/* Decodes the JPEG file at path into *out (zeroed first, also on failure): channels 1 for
 * greyscale files, 3 for YCbCr/RGB ones. Returns CG_OK; CG_ERR_INPUT with "PATH: error: ..."
 * for an unreadable, corrupt or unsupported (CMYK) file; CG_ERR_NOMEM. */
enum cg_status cg_jpeg_read(const char *path, struct cg_image *out, struct cg_error *e);

/* Like cg_jpeg_read from len bytes in memory; name stands for the file in messages. */
enum cg_status cg_jpeg_read_mem(const char *name, const void *bytes, size_t len,
                                struct cg_image *out, struct cg_error *e);

/* Writes a baseline JPEG of w x h pixels with channels 1 (grey) or 3 (RGB) interleaved bytes
 * at quality 1..100 (4:2:0 chroma subsampling below 90, 4:4:4 from 90). Atomic. Returns CG_OK,
 * CG_ERR_INPUT for bad arguments or an I/O failure ("PATH: error: ..."), or CG_ERR_NOMEM. */
enum cg_status cg_jpeg_write(const char *path, int w, int h, int channels, const uint8_t *pixels,
                             int quality, struct cg_error *e);

/* Resamples in to w x h (same channels) into *out with a separable triangle filter whose
 * support widens with the reduction factor: bilinear when enlarging, an antialiased area-like
 * average when reducing (as PIL's BILINEAR resize). Pixel centres are aligned ((x+0.5)*scale).
 * Returns CG_OK, CG_ERR_INPUT for a size < 1, or CG_ERR_NOMEM. */
enum cg_status cg_image_resize(const struct cg_image *in, int w, int h, struct cg_image *out,
                               struct cg_error *e);

/* Copies the centred w x h window of in (w <= in->w, h <= in->h; the window starts at
 * ((in->w - w) / 2, (in->h - h) / 2)) into *out. CG_ERR_INPUT when it does not fit. */
enum cg_status cg_image_crop_center(const struct cg_image *in, int w, int h,
                                    struct cg_image *out, struct cg_error *e);

/* Fits in to exactly w x h: resizes so that the image covers w x h keeping its aspect ratio
 * (the shorter side becomes the target's, the other rounded, at least the target's) and crops
 * the centre. The result of an image already w x h is a copy. */
enum cg_status cg_image_fit(const struct cg_image *in, int w, int h, struct cg_image *out,
                            struct cg_error *e);

#endif
