/* png.c: the PNG encoder of png.h: filter each row (the filter of the five that minimises the
 * sum of absolute filtered bytes), deflate the filtered rows with zlib, wrap them in chunks. */
#include "eval/png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/fileio.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC over type and data) at *pos of out. */
static void chunk(uint8_t *out, size_t *pos, const char *type, const uint8_t *data, size_t n)
{
    uint8_t *p = out + *pos;
    be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    uLong crc = crc32(0L, p + 4, (uInt)(n + 4));
    be32(p + 8 + n, (uint32_t)crc);
    *pos += n + 12;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters one row of rowlen bytes (bpp bytes per pixel; prev NULL for the first row) into
 * dst (filter byte + rowlen bytes), with the filter of smallest sum |signed byte|. cand holds
 * scratch space for 5 * rowlen bytes. */
static void filter_row(const uint8_t *cur, const uint8_t *prev, size_t rowlen, int bpp,
                       uint8_t *cand, uint8_t *dst)
{
    unsigned long best = (unsigned long)-1;
    int bestf = 0;
    for (int f = 0; f < 5; f++) {
        uint8_t *c = cand + (size_t)f * rowlen;
        unsigned long sum = 0;
        for (size_t i = 0; i < rowlen; i++) {
            int a = i >= (size_t)bpp ? cur[i - (size_t)bpp] : 0;
            int b = prev ? prev[i] : 0;
            int cc = prev && i >= (size_t)bpp ? prev[i - (size_t)bpp] : 0;
            int pred = f == 0   ? 0
                       : f == 1 ? a
                       : f == 2 ? b
                       : f == 3 ? (a + b) / 2
                                : paeth(a, b, cc);
            c[i] = (uint8_t)(cur[i] - pred);
            sum += (unsigned long)abs((int8_t)c[i]);
        }
        if (sum < best)
            best = sum, bestf = f;
    }
    dst[0] = (uint8_t)bestf;
    memcpy(dst + 1, cand + (size_t)bestf * rowlen, rowlen);
}

enum cg_status cg_png_encode(const struct cg_image *im, uint8_t **out, size_t *out_len,
                             struct cg_error *e)
{
    *out = NULL;
    *out_len = 0;
    int ch = im->channels;
    if (im->w < 1 || im->h < 1 || im->w > (1 << 24) || im->h > (1 << 24) ||
        (ch != 1 && ch != 3 && ch != 4) || !im->pixels)
        return cg_error_set(e, CG_ERR_INPUT, "PNG: cannot encode a %dx%d image of %d channels "
                            "(1, 3 or 4 channels, sides 1 to 2^24)", im->w, im->h, ch);
    size_t rowlen = (size_t)im->w * (size_t)ch, rows = (size_t)im->h;
    size_t rawlen = (rowlen + 1) * rows;
    uint8_t *raw = cg_malloc(rawlen), *cand = cg_malloc(5 * rowlen);
    uLong zcap = compressBound((uLong)rawlen);
    uint8_t *png = cg_malloc(8 + 25 + 12 + (size_t)zcap + 12);
    enum cg_status st = CG_OK;
    if (!raw || !cand || !png) {
        st = cg_error_nomem(e);
        goto error;
    }
    for (size_t r = 0; r < rows; r++)
        filter_row(im->pixels + r * rowlen, r ? im->pixels + (r - 1) * rowlen : NULL, rowlen, ch,
                   cand, raw + r * (rowlen + 1));
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(png, sig, 8);
    size_t pos = 8;
    uint8_t ihdr[13];
    be32(ihdr, (uint32_t)im->w);
    be32(ihdr + 4, (uint32_t)im->h);
    ihdr[8] = 8;                                   /* bit depth */
    ihdr[9] = (uint8_t)(ch == 1 ? 0 : ch == 3 ? 2 : 6); /* grey, RGB, RGBA */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;            /* deflate, adaptive filters, no interlace */
    chunk(png, &pos, "IHDR", ihdr, 13);
    /* IDAT is compressed straight into place, after its length and type. */
    uLongf zlen = zcap;
    if (compress2(png + pos + 8, &zlen, raw, (uLong)rawlen, 9) != Z_OK) {
        st = cg_error_nomem(e);
        goto error;
    }
    be32(png + pos, (uint32_t)zlen);
    memcpy(png + pos + 4, "IDAT", 4);
    be32(png + pos + 8 + zlen, (uint32_t)crc32(0L, png + pos + 4, (uInt)(zlen + 4)));
    pos += zlen + 12;
    chunk(png, &pos, "IEND", NULL, 0);
    *out = png;
    *out_len = pos;
    png = NULL;
error:
    cg_free(raw);
    cg_free(cand);
    cg_free(png);
    return st;
}

enum cg_status cg_png_write(const char *path, const struct cg_image *im, struct cg_error *e)
{
    uint8_t *png;
    size_t len;
    CG_TRY(cg_png_encode(im, &png, &len, e));
    enum cg_status st = cg_file_write_atomic(path, png, len, e);
    cg_free(png);
    return st;
}
