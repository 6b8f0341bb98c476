/* util.c: errors, the allocator with its failure-injection hook, string buffers and file reading
 * (see util.h). */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cg_status cg_error_vset(struct cg_error *e, enum cg_status st, const char *fmt, va_list ap)
{
    if (e) {
        e->status = st;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return st;
}

enum cg_status cg_error_set(struct cg_error *e, enum cg_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_error_vset(e, st, fmt, ap);
    va_end(ap);
    return st;
}

void cg_error_note(struct cg_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    size_t used = strlen(e->msg);
    if (used + 2 >= sizeof e->msg)
        return;
    e->msg[used++] = '\n';
    e->msg[used] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + used, sizeof e->msg - used, fmt, ap);
    va_end(ap);
}

enum cg_status cg_error_nomem(struct cg_error *e)
{
    return cg_error_set(e, CG_ERR_NOMEM, "error: out of host memory");
}

int cg_status_exit_code(enum cg_status st)
{
    switch (st) {
    case CG_OK: return 0;
    case CG_ERR_INPUT: return 1;
    default: return 2;
    }
}

static long fail_countdown = -1;

void cg_alloc_fail_after(long n) { fail_countdown = n; }

static int alloc_should_fail(void)
{
    if (fail_countdown < 0)
        return 0;
    if (fail_countdown == 0)
        return 1;
    fail_countdown--;
    return 0;
}

void *cg_malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *cg_calloc(size_t count, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return calloc(count ? count : 1, n ? n : 1);
}

void *cg_realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void cg_free(void *p) { free(p); }

char *cg_strndup(const char *s, size_t n)
{
    char *d = cg_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *cg_strdup(const char *s) { return cg_strndup(s, strlen(s)); }

int cg_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > ((size_t)-1) / 2 / elem)
            return -1;
        ncap *= 2;
    }
    void *p = cg_realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

void cg_buf_append(struct cg_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (cg_grow((void **)&b->data, &b->cap, b->len + n + 1, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
{
    if (b->oom)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if (cg_grow((void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1)) {
        b->oom = 1;
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void cg_buf_json_str(struct cg_buf *b, const char *s)
{
    cg_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            cg_buf_append(b, esc, 2);
        } else if (*p < 0x20) {
            cg_buf_printf(b, "\\u%04x", *p);
        } else {
            cg_buf_append(b, (const char *)p, 1);
        }
    }
    cg_buf_append(b, "\"", 1);
}

const char *cg_buf_str(const struct cg_buf *b) { return b->data ? b->data : ""; }

void cg_buf_free(struct cg_buf *b)
{
    cg_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

enum cg_status cg_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                            struct cg_error *e)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot open: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    enum cg_status st = CG_OK;
    for (;;) {
        if (cg_grow((void **)&data, &cap, n + 65536 + 1, 1)) {
            st = cg_error_nomem(e);
            goto error;
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_bytes) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: file is larger than %zu bytes", path,
                              max_bytes);
            goto error;
        }
        if (got == 0) {
            if (ferror(f)) {
                st = cg_error_set(e, CG_ERR_INPUT, "%s: error: read failed: %s", path,
                                  strerror(errno));
                goto error;
            }
            break;
        }
    }
    data[n] = 0;
    fclose(f);
    *out = data;
    *len = n;
    return CG_OK;
error:
    cg_free(data);
    fclose(f);
    return st;
}

int cg_edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)cap)
        return cap + 1;
    int row[257];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb] > cap ? cap + 1 : row[lb];
}
