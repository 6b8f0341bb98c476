/* idx.c: the IDX reader and writer (see idx.h).
 *
 * The reader works on the whole file in memory. A raw file is checked against its length before
 * anything is allocated; a gzip file is inflated piecewise: first the 4-byte magic and the
 * dimensions, then (after checking that the claimed size is one a deflate stream of this length
 * could hold, at most 1032:1) exactly the data, then one more byte must not come. */
#include "data/idx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "data/fileio.h"

#define IDX_MAX_FILE ((size_t)1 << 34) /* 16 GiB */
#define DEFLATE_MAX_RATIO 1032u

size_t cg_idx_dtype_size(enum cg_idx_dtype dtype)
{
    switch (dtype) {
    case CG_IDX_U8: return 1;
    case CG_IDX_I32:
    case CG_IDX_F32: return 4;
    }
    return 0;
}

void cg_idx_free(struct cg_idx *a)
{
    if (!a)
        return;
    cg_free(a->data);
    memset(a, 0, sizeof *a);
}

__attribute__((format(printf, 3, 4))) static enum cg_status bad(struct cg_error *e,
                                                               const char *name,
                                                               const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cg_error_set(e, CG_ERR_INPUT, "%s: error: %s", name, msg);
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void format_dims(char *out, size_t n, const int64_t *shape, int nd)
{
    size_t k = 0;
    out[0] = '\0';
    for (int d = 0; d < nd && k < n; d++)
        k += (size_t)snprintf(out + k, n - k, "%s%lld", d ? "x" : "", (long long)shape[d]);
}

/* Checks the 4-byte magic; sets *nd. */
static enum cg_status check_magic(const char *name, const uint8_t *m, struct cg_idx *out,
                                  struct cg_error *e)
{
    if (m[0] != 0 || m[1] != 0)
        return bad(e, name,
                   "not an IDX file: magic 0x%02x%02x%02x%02x at offset 0 (expected 0x0000 then "
                   "the type and the number of dimensions)",
                   m[0], m[1], m[2], m[3]);
    if (m[2] != CG_IDX_U8 && m[2] != CG_IDX_I32 && m[2] != CG_IDX_F32)
        return bad(e, name,
                   "unsupported IDX element type 0x%02x at offset 2 (supported: 0x08 u8, 0x0C "
                   "i32, 0x0D f32)",
                   m[2]);
    if (m[3] < 1 || m[3] > CG_IDX_MAX_DIMS)
        return bad(e, name, "IDX file with %d dimensions at offset 3 (1 to %d supported)", m[3],
                   CG_IDX_MAX_DIMS);
    out->dtype = (enum cg_idx_dtype)m[2];
    out->ndims = m[3];
    return CG_OK;
}

/* Reads the dimensions and computes count and nbytes without overflow. */
static enum cg_status check_dims(const char *name, const uint8_t *d, struct cg_idx *out,
                                 struct cg_error *e)
{
    size_t es = cg_idx_dtype_size(out->dtype), count = 1;
    int overflow = 0;
    for (int i = 0; i < out->ndims; i++) {
        out->shape[i] = be32(d + 4 * i);
        if (out->shape[i] && count > SIZE_MAX / es / (size_t)out->shape[i])
            overflow = 1;
        else
            count *= (size_t)out->shape[i];
    }
    for (int i = 0; i < out->ndims; i++)
        if (out->shape[i] == 0)
            count = 0, overflow = 0;
    if (overflow) {
        char dims[160];
        format_dims(dims, sizeof dims, out->shape, out->ndims);
        return bad(e, name, "IDX dimensions %s are too large (the byte size overflows)", dims);
    }
    out->count = count;
    out->nbytes = count * es;
    return CG_OK;
}

static void to_host(struct cg_idx *a)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (a->dtype == CG_IDX_U8)
        return;
    uint32_t *w = a->data;
    for (size_t i = 0; i < a->count; i++)
        w[i] = __builtin_bswap32(w[i]);
#else
    (void)a;
#endif
}

static enum cg_status read_raw(const char *name, const uint8_t *b, size_t len, struct cg_idx *out,
                               struct cg_error *e)
{
    if (len < 4)
        return bad(e, name, "truncated: %zu bytes, shorter than the 4-byte IDX magic", len);
    CG_TRY(check_magic(name, b, out, e));
    size_t hdr = 4 + 4 * (size_t)out->ndims;
    if (len < hdr)
        return bad(e, name, "truncated: %zu bytes, shorter than the %zu-byte header of %d "
                   "dimensions", len, hdr, out->ndims);
    CG_TRY(check_dims(name, b + 4, out, e));
    char dims[160];
    format_dims(dims, sizeof dims, out->shape, out->ndims);
    if (len - hdr < out->nbytes)
        return bad(e, name, "truncated: dimensions %s need %zu data bytes after the %zu-byte "
                   "header, the file has %zu", dims, out->nbytes, hdr, len - hdr);
    if (len - hdr > out->nbytes)
        return bad(e, name, "%zu trailing bytes at offset %zu after the data of dimensions %s",
                   len - hdr - out->nbytes, hdr + out->nbytes, dims);
    out->data = cg_malloc(out->nbytes ? out->nbytes : 1);
    if (!out->data)
        return cg_error_nomem(e);
    memcpy(out->data, b + hdr, out->nbytes);
    to_host(out);
    return CG_OK;
}

static enum cg_status read_gz(const char *name, const uint8_t *b, size_t len, struct cg_idx *out,
                              struct cg_error *e)
{
    struct cg_gzin g;
    enum cg_status st;
    uint8_t head[4 + 4 * CG_IDX_MAX_DIMS];
    size_t got;
    st = cg_gzin_open(&g, name, b, len, e);
    if (st != CG_OK)
        return st;
    if ((st = cg_gzin_read(&g, name, head, 4, &got, e)) != CG_OK)
        goto error;
    if (got < 4) {
        st = bad(e, name, "truncated: %zu uncompressed bytes, shorter than the 4-byte IDX magic",
                 got);
        goto error;
    }
    if ((st = check_magic(name, head, out, e)) != CG_OK)
        goto error;
    size_t dlen = 4 * (size_t)out->ndims;
    if ((st = cg_gzin_read(&g, name, head + 4, dlen, &got, e)) != CG_OK)
        goto error;
    if (got < dlen) {
        st = bad(e, name, "truncated: %zu uncompressed bytes, shorter than the %zu-byte header "
                 "of %d dimensions", 4 + got, 4 + dlen, out->ndims);
        goto error;
    }
    if ((st = check_dims(name, head + 4, out, e)) != CG_OK)
        goto error;
    char dims[160];
    format_dims(dims, sizeof dims, out->shape, out->ndims);
    if (out->nbytes / DEFLATE_MAX_RATIO > len) {
        st = bad(e, name, "truncated: dimensions %s need %zu data bytes, more than a gzip "
                 "stream of %zu bytes can hold", dims, out->nbytes, len);
        goto error;
    }
    out->data = cg_malloc(out->nbytes ? out->nbytes : 1);
    if (!out->data) {
        st = cg_error_nomem(e);
        goto error;
    }
    if ((st = cg_gzin_read(&g, name, out->data, out->nbytes, &got, e)) != CG_OK)
        goto error;
    if (got < out->nbytes) {
        st = bad(e, name, "truncated: dimensions %s need %zu data bytes after the %zu-byte "
                 "header, the uncompressed file has %zu", dims, out->nbytes, 4 + dlen, got);
        goto error;
    }
    uint8_t extra[256];
    size_t nextra = 0;
    do {
        if ((st = cg_gzin_read(&g, name, extra, sizeof extra, &got, e)) != CG_OK)
            goto error;
        nextra += got;
    } while (got == sizeof extra);
    if (nextra) {
        st = bad(e, name, "%zu trailing bytes at uncompressed offset %zu after the data of "
                 "dimensions %s", nextra, 4 + dlen + out->nbytes, dims);
        goto error;
    }
    cg_gzin_close(&g);
    to_host(out);
    return CG_OK;

error:
    cg_gzin_close(&g);
    cg_idx_free(out);
    return st;
}

enum cg_status cg_idx_read_mem(const char *name, const void *bytes, size_t len,
                               struct cg_idx *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    enum cg_status st = cg_is_gzip(bytes, len) ? read_gz(name, bytes, len, out, e)
                                               : read_raw(name, bytes, len, out, e);
    if (st != CG_OK)
        cg_idx_free(out);
    return st;
}

enum cg_status cg_idx_read(const char *path, struct cg_idx *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    CG_TRY(cg_read_file(path, IDX_MAX_FILE, &buf, &len, e));
    enum cg_status st = cg_idx_read_mem(path, buf, len, out, e);
    cg_free(buf);
    return st;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum cg_status cg_idx_write(const char *path, enum cg_idx_dtype dtype, const int64_t *shape,
                            int ndims, const void *data, struct cg_error *e)
{
    size_t es = cg_idx_dtype_size(dtype);
    if (!es)
        return bad(e, path, "cannot write IDX element type 0x%02x", (unsigned)dtype);
    if (ndims < 1 || ndims > CG_IDX_MAX_DIMS)
        return bad(e, path, "cannot write an IDX file of %d dimensions (1 to %d)", ndims,
                   CG_IDX_MAX_DIMS);
    size_t count = 1;
    int zero = 0;
    for (int d = 0; d < ndims; d++) {
        if (shape[d] < 0 || shape[d] > (int64_t)UINT32_MAX)
            return bad(e, path, "cannot write IDX dimension %lld (0 to 2^32-1)",
                       (long long)shape[d]);
        zero |= shape[d] == 0;
    }
    for (int d = 0; d < ndims && !zero; d++) {
        if ((size_t)shape[d] > (SIZE_MAX - 64) / es / count)
            return bad(e, path, "cannot write: the IDX byte size overflows");
        count *= (size_t)shape[d];
    }
    size_t nbytes = zero ? 0 : count * es, hdr = 4 + 4 * (size_t)ndims;
    if (nbytes && !data)
        return bad(e, path, "cannot write: no data for %zu bytes", nbytes);
    uint8_t *buf = cg_malloc(hdr + nbytes), *gz = NULL;
    if (!buf)
        return cg_error_nomem(e);
    buf[0] = buf[1] = 0;
    buf[2] = (uint8_t)dtype;
    buf[3] = (uint8_t)ndims;
    for (int d = 0; d < ndims; d++) {
        uint32_t v = (uint32_t)shape[d];
        uint8_t *p = buf + 4 + 4 * d;
        p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    }
    if (nbytes)
        memcpy(buf + hdr, data, nbytes);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (es == 4) {
        for (size_t i = 0; i < count; i++) {
            uint32_t w;
            memcpy(&w, buf + hdr + 4 * i, 4);
            w = __builtin_bswap32(w);
            memcpy(buf + hdr + 4 * i, &w, 4);
        }
    }
#endif
    enum cg_status st;
    if (ends_with(path, ".gz")) {
        size_t gzlen;
        st = cg_gzip_compress(buf, hdr + nbytes, &gz, &gzlen, e);
        if (st == CG_OK)
            st = cg_file_write_atomic(path, gz, gzlen, e);
    } else {
        st = cg_file_write_atomic(path, buf, hdr + nbytes, e);
    }
    cg_free(gz);
    cg_free(buf);
    return st;
}
