/* jpeg.c: JPEG decoding and encoding through libjpeg-turbo, and resampling (see jpeg.h).
 *
 * libjpeg reports fatal errors through error_exit, which by default prints and exits; here it
 * formats the message into the decoder's state and longjmps back to the call, which frees what
 * it allocated and returns the error. Warnings (corrupt data libjpeg can survive, e.g. a
 * premature end of the data) are treated as errors too: a damaged image must not train a model
 * silently. Files are decoded from memory (jpeg_mem_src) and encoded to memory (jpeg_mem_dest),
 * then written atomically. */
#include "data/jpeg.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "data/fileio.h"

#define JPEG_MAX_FILE ((size_t)1 << 30)
#define JPEG_MAX_PIXELS ((size_t)1 << 28)

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    unsigned char *mem; /* the encoder's memory destination (malloc'd by libjpeg) */
    unsigned long memlen;
};

static void jerr_exit(j_common_ptr cinfo)
{
    struct jerr *j = (struct jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, j->msg);
    longjmp(j->jump, 1);
}

static void jerr_output(j_common_ptr cinfo) { (void)cinfo; }

/* Warnings (level -1) are fatal: corrupt data must not decode to a silently damaged image. */
static void jerr_emit(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jerr_exit(cinfo);
}

void cg_image_free(struct cg_image *im)
{
    if (!im)
        return;
    cg_free(im->pixels);
    memset(im, 0, sizeof *im);
}

static enum cg_status image_alloc(struct cg_image *im, int w, int h, int c, struct cg_error *e)
{
    memset(im, 0, sizeof *im);
    im->pixels = cg_malloc((size_t)w * (size_t)h * (size_t)c);
    if (!im->pixels)
        return cg_error_nomem(e);
    im->w = w, im->h = h, im->channels = c;
    return CG_OK;
}

enum cg_status cg_jpeg_read_mem(const char *name, const void *bytes, size_t len,
                                struct cg_image *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    struct jerr jerr;
    /* volatile: these change between setjmp and a possible longjmp */
    uint8_t *volatile pixels = NULL;
    volatile int created = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = jerr_exit;
    jerr.mgr.output_message = jerr_output;
    jerr.mgr.emit_message = jerr_emit;
    if (setjmp(jerr.jump)) {
        if (created)
            jpeg_destroy_decompress(&cinfo);
        cg_free(pixels);
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a valid JPEG file: %s", name,
                            jerr.msg);
    }
    if (len == 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a valid JPEG file: empty file",
                            name);
    jpeg_create_decompress(&cinfo);
    created = 1;
    jpeg_mem_src(&cinfo, (const unsigned char *)bytes, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int channels;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        channels = 3;
        break;
    default:
        jpeg_destroy_decompress(&cinfo);
        return cg_error_set(e, CG_ERR_INPUT,
                            "%s: error: unsupported JPEG colour space (%s, %d components); "
                            "only greyscale and RGB/YCbCr images are read",
                            name,
                            cinfo.jpeg_color_space == JCS_CMYK    ? "CMYK"
                            : cinfo.jpeg_color_space == JCS_YCCK ? "YCCK"
                                                                 : "unknown",
                            cinfo.num_components);
    }
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height;
    if (w == 0 || h == 0 || w * h > JPEG_MAX_PIXELS || cinfo.output_components != channels) {
        jpeg_destroy_decompress(&cinfo);
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: unsupported JPEG size %zux%zu", name, w,
                            h);
    }
    pixels = cg_malloc(w * h * (size_t)channels);
    if (!pixels) {
        jpeg_destroy_decompress(&cinfo);
        return cg_error_nomem(e);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * w * (size_t)channels;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->w = (int)w, out->h = (int)h, out->channels = channels;
    out->pixels = pixels;
    return CG_OK;
}

enum cg_status cg_jpeg_read(const char *path, struct cg_image *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    CG_TRY(cg_read_file(path, JPEG_MAX_FILE, &buf, &len, e));
    enum cg_status st = cg_jpeg_read_mem(path, buf, len, out, e);
    cg_free(buf);
    return st;
}

enum cg_status cg_jpeg_write(const char *path, int w, int h, int channels, const uint8_t *pixels,
                             int quality, struct cg_error *e)
{
    if (w < 1 || h < 1 || w > 65500 || h > 65500 || (channels != 1 && channels != 3) ||
        quality < 1 || quality > 100 || !pixels)
        return cg_error_set(e, CG_ERR_INPUT,
                            "%s: error: cannot write a JPEG of %dx%d pixels, %d channels, quality "
                            "%d (sizes 1..65500, channels 1 or 3, quality 1..100)",
                            path, w, h, channels, quality);
    struct jpeg_compress_struct cinfo;
    struct jerr jerr;
    memset(&cinfo, 0, sizeof cinfo);
    jerr.mem = NULL;
    jerr.memlen = 0;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = jerr_exit;
    jerr.mgr.output_message = jerr_output;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(jerr.mem); /* allocated by libjpeg's memory destination with malloc */
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: JPEG encoding failed: %s", path,
                            jerr.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &jerr.mem, &jerr.memlen);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (channels == 3 && quality >= 90) {
        for (int c = 0; c < 3; c++)
            cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(pixels + (size_t)cinfo.next_scanline * (size_t)w *
                                                          (size_t)channels);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    enum cg_status st = cg_file_write_atomic(path, jerr.mem, jerr.memlen, e);
    free(jerr.mem);
    return st;
}

/* ---- resampling -------------------------------------------------------------------------- */

/* Weights of a triangle filter for one axis: out[i] averages in[first[i] .. first[i]+n[i]) with
 * weights w[i*maxn ..]. */
struct axis {
    int *first, *n;
    float *w;
    int maxn;
};

static void axis_free(struct axis *a)
{
    cg_free(a->first);
    cg_free(a->n);
    cg_free(a->w);
}

static enum cg_status axis_make(int in, int out, struct axis *a, struct cg_error *e)
{
    memset(a, 0, sizeof *a);
    double scale = (double)in / out, support = scale > 1 ? scale : 1;
    a->maxn = (int)ceil(support) * 2 + 1;
    a->first = cg_malloc(sizeof(int) * (size_t)out);
    a->n = cg_malloc(sizeof(int) * (size_t)out);
    a->w = cg_malloc(sizeof(float) * (size_t)out * (size_t)a->maxn);
    if (!a->first || !a->n || !a->w) {
        axis_free(a);
        return cg_error_nomem(e);
    }
    for (int i = 0; i < out; i++) {
        double centre = (i + 0.5) * scale;
        int lo = (int)floor(centre - support), hi = (int)ceil(centre + support);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        double sum = 0;
        int k = 0;
        float *w = a->w + (size_t)i * (size_t)a->maxn;
        for (int x = lo; x < hi && k < a->maxn; x++, k++) {
            double t = fabs((x + 0.5 - centre) / support);
            double v = t < 1 ? 1 - t : 0;
            w[k] = (float)v;
            sum += v;
        }
        if (sum <= 0) { /* cannot happen for in, out >= 1; keep it total anyway */
            int x = (int)centre < in ? (int)centre : in - 1;
            lo = x, k = 1, w[0] = 1, sum = 1;
        }
        for (int j = 0; j < k; j++)
            w[j] = (float)(w[j] / sum);
        a->first[i] = lo;
        a->n[i] = k;
    }
    return CG_OK;
}

static uint8_t to_byte(float v)
{
    v = roundf(v);
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

enum cg_status cg_image_resize(const struct cg_image *in, int w, int h, struct cg_image *out,
                               struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || in->w < 1 || in->h < 1)
        return cg_error_set(e, CG_ERR_INPUT, "cannot resize a %dx%d image to %dx%d", in->w,
                            in->h, w, h);
    int c = in->channels;
    struct axis ax, ay;
    float *tmp = NULL;
    enum cg_status st = axis_make(in->w, w, &ax, e);
    if (st != CG_OK)
        return st;
    if ((st = axis_make(in->h, h, &ay, e)) != CG_OK) {
        axis_free(&ax);
        return st;
    }
    tmp = cg_malloc(sizeof(float) * (size_t)in->h * (size_t)w * (size_t)c);
    if (!tmp || (st = image_alloc(out, w, h, c, e)) != CG_OK) {
        st = tmp ? st : cg_error_nomem(e);
        goto error;
    }
    /* horizontal pass into tmp [in->h, w, c], then vertical into out */
    for (int y = 0; y < in->h; y++) {
        const uint8_t *row = in->pixels + (size_t)y * (size_t)in->w * (size_t)c;
        for (int x = 0; x < w; x++) {
            const float *wt = ax.w + (size_t)x * (size_t)ax.maxn;
            for (int k = 0; k < c; k++) {
                float s = 0;
                for (int j = 0; j < ax.n[x]; j++)
                    s += wt[j] * row[(size_t)(ax.first[x] + j) * (size_t)c + (size_t)k];
                tmp[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)k] = s;
            }
        }
    }
    for (int y = 0; y < h; y++) {
        const float *wt = ay.w + (size_t)y * (size_t)ay.maxn;
        for (size_t i = 0; i < (size_t)w * (size_t)c; i++) {
            float s = 0;
            for (int j = 0; j < ay.n[y]; j++)
                s += wt[j] * tmp[(size_t)(ay.first[y] + j) * (size_t)w * (size_t)c + i];
            out->pixels[(size_t)y * (size_t)w * (size_t)c + i] = to_byte(s);
        }
    }
    cg_free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    return CG_OK;

error:
    cg_free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    cg_image_free(out);
    return st;
}

enum cg_status cg_image_crop_center(const struct cg_image *in, int w, int h,
                                    struct cg_image *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || w > in->w || h > in->h)
        return cg_error_set(e, CG_ERR_INPUT, "cannot crop a %dx%d window out of a %dx%d image",
                            w, h, in->w, in->h);
    CG_TRY(image_alloc(out, w, h, in->channels, e));
    int x0 = (in->w - w) / 2, y0 = (in->h - h) / 2;
    size_t rowbytes = (size_t)w * (size_t)in->channels;
    for (int y = 0; y < h; y++)
        memcpy(out->pixels + (size_t)y * rowbytes,
               in->pixels + ((size_t)(y0 + y) * (size_t)in->w + (size_t)x0) * (size_t)in->channels,
               rowbytes);
    return CG_OK;
}

enum cg_status cg_image_fit(const struct cg_image *in, int w, int h, struct cg_image *out,
                            struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || in->w < 1 || in->h < 1)
        return cg_error_set(e, CG_ERR_INPUT, "cannot fit a %dx%d image to %dx%d", in->w, in->h,
                            w, h);
    if (in->w == w && in->h == h)
        return cg_image_crop_center(in, w, h, out, e);
    double sx = (double)w / in->w, sy = (double)h / in->h, s = sx > sy ? sx : sy;
    int rw = (int)lround(in->w * s), rh = (int)lround(in->h * s);
    if (rw < w)
        rw = w;
    if (rh < h)
        rh = h;
    struct cg_image mid;
    CG_TRY(cg_image_resize(in, rw, rh, &mid, e));
    enum cg_status st = cg_image_crop_center(&mid, w, h, out, e);
    cg_image_free(&mid);
    return st;
}
