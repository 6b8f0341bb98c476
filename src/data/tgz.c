/* tgz.c: the .tgz member reader (see tgz.h).
 *
 * The archive is read into memory and inflated piecewise (cg_gzin): a 512-byte header, then the
 * member's data rounded up to 512 bytes, kept when the member is wanted and discarded otherwise,
 * so a 20 MB member nobody asked for costs no memory. Two zero blocks (or the end of the stream)
 * end the archive. */
#include "data/tgz.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "data/fileio.h"

#define TGZ_MAX_FILE ((size_t)1 << 31)

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

/* An octal field (NUL/space terminated); -1 when malformed. */
static long long octal(const unsigned char *f, size_t n)
{
    size_t i = 0;
    long long v = 0;
    while (i < n && f[i] == ' ')
        i++;
    if (i == n || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (1LL << 40))
            return -1;
        v = v * 8 + (f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    return v;
}

static int all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

enum cg_status cg_tgz_extract(const char *path, int n, const char *const *names, char **bufs,
                              size_t *lens, size_t max_member, struct cg_error *e)
{
    for (int i = 0; i < n; i++)
        bufs[i] = NULL, lens[i] = 0;
    char *file = NULL;
    size_t flen = 0;
    CG_TRY(cg_read_file(path, TGZ_MAX_FILE, &file, &flen, e));
    struct cg_gzin g;
    enum cg_status st;
    if (!cg_is_gzip(file, flen)) {
        st = bad(e, path, "not a gzip file (magic %02x %02x at offset 0)",
                 flen > 0 ? (unsigned char)file[0] : 0, flen > 1 ? (unsigned char)file[1] : 0);
        cg_free(file);
        return st;
    }
    if ((st = cg_gzin_open(&g, path, file, flen, e)) != CG_OK) {
        cg_free(file);
        return st;
    }
    size_t offset = 0; /* in the uncompressed tar */
    unsigned char h[512];
    for (;;) {
        size_t got;
        if ((st = cg_gzin_read(&g, path, h, 512, &got, e)) != CG_OK)
            goto error;
        if (got == 0)
            break; /* end of stream without the two zero blocks: accepted, as tar does */
        if (got < 512) {
            st = bad(e, path, "truncated tar header at offset %zu (%zu of 512 bytes)", offset,
                     got);
            goto error;
        }
        if (all_zero(h, 512))
            break;
        long long sum = octal(h + 148, 8);
        long long calc = 0;
        for (int i = 0; i < 512; i++)
            calc += (i >= 148 && i < 156) ? ' ' : h[i];
        if (sum != calc) {
            st = bad(e, path, "bad tar header checksum at offset %zu (stored %lld, computed %lld)",
                     offset, sum, calc);
            goto error;
        }
        long long size = octal(h + 124, 12);
        if (size < 0) {
            st = bad(e, path, "bad tar member size field at offset %zu", offset + 124);
            goto error;
        }
        char name[256 + 1 + 155 + 1];
        size_t nl = strnlen((const char *)h, 100);
        size_t pl = memcmp(h + 257, "ustar", 5) == 0 ? strnlen((const char *)h + 345, 155) : 0;
        size_t k = 0;
        if (pl) {
            memcpy(name, h + 345, pl);
            k = pl;
            name[k++] = '/';
        }
        memcpy(name + k, h, nl);
        name[k + nl] = '\0';
        char type = (char)h[156];
        int want = -1;
        if (type == '0' || type == '\0')
            for (int i = 0; i < n; i++)
                if (!bufs[i] && strcmp(names[i], name) == 0)
                    want = i;
        offset += 512;
        size_t padded = ((size_t)size + 511) / 512 * 512;
        if (want >= 0) {
            if ((size_t)size > max_member) {
                st = bad(e, path, "member %s is %lld bytes, more than the %zu allowed", name,
                         size, max_member);
                goto error;
            }
            char *buf = cg_malloc((size_t)size + 1);
            if (!buf) {
                st = cg_error_nomem(e);
                goto error;
            }
            bufs[want] = buf;
            if ((st = cg_gzin_read(&g, path, buf, (size_t)size, &got, e)) != CG_OK)
                goto error;
            buf[got] = '\0';
            lens[want] = got;
            if (got == (size_t)size && padded > (size_t)size)
                st = cg_gzin_read(&g, path, NULL, padded - (size_t)size, &got, e),
                got += (size_t)size;
        } else {
            st = cg_gzin_read(&g, path, NULL, padded, &got, e);
        }
        if (st != CG_OK)
            goto error;
        if (got < padded) {
            st = bad(e, path, "truncated tar: member %s at offset %zu needs %zu bytes, %zu remain",
                     name, offset, padded, got);
            goto error;
        }
        offset += padded;
    }
    cg_gzin_close(&g);
    cg_free(file);
    return CG_OK;

error:
    cg_gzin_close(&g);
    cg_free(file);
    for (int i = 0; i < n; i++) {
        cg_free(bufs[i]);
        bufs[i] = NULL;
        lens[i] = 0;
    }
    return st;
}
