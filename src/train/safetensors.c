/* safetensors.c: the safetensors writer (header serialisation) and reader (a strict parser of
 * the subset of JSON the format uses: objects, strings, arrays of non-negative integers). */
#include "train/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cg_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

enum cg_status cg_st_header(const struct cg_st_file *f, char **hdr, size_t *hdr_len,
                            struct cg_error *e)
{
    struct cg_buf b = {0};
    cg_buf_append(&b, "        ", 8); /* the length, filled below */
    cg_buf_append(&b, "{\"__metadata__\":{", 17);
    for (int i = 0; i < f->nmeta; i++) {
        if (i)
            cg_buf_append(&b, ",", 1);
        cg_buf_json_str(&b, f->meta[i].key);
        cg_buf_append(&b, ":", 1);
        cg_buf_json_str(&b, f->meta[i].value);
    }
    cg_buf_append(&b, "}", 1);
    size_t off = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const struct cg_st_tensor *t = &f->tensors[i];
        cg_buf_append(&b, ",", 1);
        cg_buf_json_str(&b, t->name);
        cg_buf_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", t->is_int ? "I32" : "F32");
        for (int d = 0; d < t->rank; d++)
            cg_buf_printf(&b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        cg_buf_printf(&b, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
        off += t->nbytes;
    }
    cg_buf_append(&b, "}", 1);
    while (b.len % 8)
        cg_buf_append(&b, " ", 1);
    if (b.oom || !b.data) {
        cg_buf_free(&b);
        return cg_error_nomem(e);
    }
    uint64_t h = b.len - 8;
    for (int i = 0; i < 8; i++)
        b.data[i] = (char)(h >> (8 * i));
    *hdr = b.data;
    *hdr_len = b.len;
    return CG_OK;
}

/* ---- reader ---- */

struct parser {
    const char *p, *end, *path;
    struct cg_error *e;
};

static enum cg_status bad(struct parser *ps, const char *what)
{
    return cg_error_set(ps->e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: %s", ps->path, what);
}

static void ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' ||
                               *ps->p == '\r'))
        ps->p++;
}

static int eat(struct parser *ps, char c)
{
    ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* A JSON string without \u escapes beyond ASCII into *out (cg_malloc'd). */
static enum cg_status string(struct parser *ps, char **out)
{
    if (!eat(ps, '"'))
        return bad(ps, "expected a string in the header");
    struct cg_buf b = {0};
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\') {
            if (ps->p >= ps->end)
                break;
            c = *ps->p++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'u' && ps->end - ps->p >= 4) {
                char hex[5] = {ps->p[0], ps->p[1], ps->p[2], ps->p[3], 0};
                c = (char)strtol(hex, NULL, 16);
                ps->p += 4;
            }
        }
        cg_buf_append(&b, &c, 1);
    }
    if (ps->p >= ps->end) {
        cg_buf_free(&b);
        return bad(ps, "unterminated string in the header");
    }
    ps->p++;
    cg_buf_append(&b, "", 0);
    *out = b.data ? b.data : cg_strdup("");
    return *out ? CG_OK : cg_error_nomem(ps->e);
}

/* [n, n, ...] of non-negative integers (at most max). */
static enum cg_status int_array(struct parser *ps, int64_t *v, int max, int *n)
{
    *n = 0;
    if (!eat(ps, '['))
        return bad(ps, "expected an array in the header");
    if (eat(ps, ']'))
        return CG_OK;
    do {
        ws(ps);
        char *endp;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return bad(ps, "expected a non-negative integer in the header");
        long long x = strtoll(ps->p, &endp, 10);
        if (endp > ps->end || *n >= max)
            return bad(ps, "array too long in the header");
        ps->p = endp;
        v[(*n)++] = x;
    } while (eat(ps, ','));
    if (!eat(ps, ']'))
        return bad(ps, "expected ']' in the header");
    return CG_OK;
}

static enum cg_status tensor(struct parser *ps, struct cg_st_tensor *t, int64_t off[2])
{
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (!eat(ps, '{'))
        return bad(ps, "expected a tensor object in the header");
    if (eat(ps, '}'))
        return bad(ps, "empty tensor entry");
    do {
        char *key = NULL;
        CG_TRY(string(ps, &key));
        enum cg_status st = CG_OK;
        if (!eat(ps, ':'))
            st = bad(ps, "expected ':' in the header");
        else if (!strcmp(key, "dtype")) {
            char *d = NULL;
            st = string(ps, &d);
            if (st == CG_OK && strcmp(d, "F32") && strcmp(d, "I32"))
                st = cg_error_set(ps->e, CG_ERR_INPUT, "%s: error: tensor '%s' has dtype %s; "
                                  "clgraph checkpoints hold F32 and I32", ps->path, t->name, d);
            if (st == CG_OK)
                t->is_int = !strcmp(d, "I32");
            cg_free(d);
            have_dtype = 1;
        } else if (!strcmp(key, "shape")) {
            st = int_array(ps, t->shape, CG_ST_MAX_RANK, &t->rank);
            have_shape = 1;
        } else if (!strcmp(key, "data_offsets")) {
            int n;
            st = int_array(ps, off, 2, &n);
            if (st == CG_OK && n != 2)
                st = bad(ps, "data_offsets needs two numbers");
            have_off = 1;
        } else {
            st = bad(ps, "unknown key in a tensor entry");
        }
        cg_free(key);
        CG_TRY(st);
    } while (eat(ps, ','));
    if (!eat(ps, '}'))
        return bad(ps, "expected '}' after a tensor entry");
    if (!have_dtype || !have_shape || !have_off)
        return cg_error_set(ps->e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: tensor '%s' "
                            "lacks dtype, shape or data_offsets", ps->path, t->name);
    return CG_OK;
}

static enum cg_status metadata(struct parser *ps, struct cg_st_file *f)
{
    if (!eat(ps, '{'))
        return bad(ps, "__metadata__ is not an object");
    if (eat(ps, '}'))
        return CG_OK;
    do {
        struct cg_st_meta m = {0};
        CG_TRY(string(ps, &m.key));
        enum cg_status st = eat(ps, ':') ? string(ps, &m.value) : bad(ps, "expected ':'");
        size_t cap = (size_t)f->nmeta;
        if (st == CG_OK && cg_grow((void **)&f->meta, &cap, (size_t)f->nmeta + 1, sizeof m))
            st = cg_error_nomem(ps->e);
        if (st != CG_OK) {
            cg_free(m.key);
            cg_free(m.value);
            return st;
        }
        f->meta[f->nmeta++] = m;
    } while (eat(ps, ','));
    return eat(ps, '}') ? CG_OK : bad(ps, "expected '}' after __metadata__");
}

enum cg_status cg_st_read(const char *path, struct cg_st_file *f, struct cg_error *e)
{
    memset(f, 0, sizeof *f);
    size_t len;
    CG_TRY(cg_read_file(path, (size_t)1 << 40, &f->buf, &len, e));
    struct parser ps = {0};
    ps.path = path;
    ps.e = e;
    enum cg_status st = CG_OK;
    uint64_t h = 0;
    if (len < 8)
        st = bad(&ps, "shorter than the 8-byte header length (truncated?)");
    for (int i = 0; i < 8 && st == CG_OK; i++)
        h |= (uint64_t)(unsigned char)f->buf[i] << (8 * i);
    if (st == CG_OK && h > len - 8)
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: header length %llu "
                          "exceeds the file (%zu bytes; truncated?)", path,
                          (unsigned long long)h, len);
    if (st != CG_OK) {
        cg_st_free(f);
        return st;
    }
    const char *data = f->buf + 8 + h;
    size_t data_len = len - 8 - (size_t)h, expect = 0;
    ps.p = f->buf + 8;
    ps.end = f->buf + 8 + h;
    if (!eat(&ps, '{'))
        st = bad(&ps, "the header is not a JSON object");
    size_t cap = 0;
    while (st == CG_OK && !eat(&ps, '}')) {
        if ((f->ntensors || f->nmeta) && !eat(&ps, ',')) {
            st = bad(&ps, "expected ',' or '}' in the header");
            break;
        }
        char *key = NULL;
        st = string(&ps, &key);
        if (st == CG_OK && !eat(&ps, ':'))
            st = bad(&ps, "expected ':' in the header");
        if (st == CG_OK && !strcmp(key, "__metadata__")) {
            st = metadata(&ps, f);
            cg_free(key);
            continue;
        }
        if (st == CG_OK && cg_grow((void **)&f->tensors, &cap, (size_t)f->ntensors + 1,
                                   sizeof *f->tensors))
            st = cg_error_nomem(e);
        if (st != CG_OK) {
            cg_free(key);
            break;
        }
        struct cg_st_tensor *t = &f->tensors[f->ntensors++];
        memset(t, 0, sizeof *t);
        t->name = key;
        int64_t off[2];
        st = tensor(&ps, t, off);
        if (st != CG_OK)
            break;
        int64_t numel = 1;
        for (int d = 0; d < t->rank; d++)
            numel *= t->shape[d];
        if ((size_t)off[1] > data_len && (size_t)off[0] == expect)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: tensor '%s' "
                              "ends at byte %lld of the data, which has %zu (truncated?)", path,
                              t->name, (long long)off[1], data_len);
        else if ((size_t)off[0] != expect || off[1] < off[0] || (size_t)off[1] > data_len ||
            (size_t)(off[1] - off[0]) != (size_t)numel * 4)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: tensor '%s' has "
                              "data_offsets [%lld, %lld], expected [%zu, %zu] within %zu bytes of "
                              "data", path, t->name, (long long)off[0], (long long)off[1], expect,
                              expect + (size_t)numel * 4, data_len);
        t->data = data + off[0];
        t->nbytes = (size_t)(off[1] - off[0]);
        expect = (size_t)off[1];
    }
    if (st == CG_OK) {
        ws(&ps);
        if (ps.p != ps.end)
            st = bad(&ps, "bytes after the header's JSON object");
        else if (expect != data_len)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: %zu bytes of "
                              "data, the header describes %zu", path, data_len, expect);
    }
    if (st != CG_OK)
        cg_st_free(f);
    return st;
}

void cg_st_free(struct cg_st_file *f)
{
    for (int i = 0; i < f->ntensors; i++)
        cg_free(f->tensors[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        cg_free(f->meta[i].key);
        cg_free(f->meta[i].value);
    }
    cg_free(f->tensors);
    cg_free(f->meta);
    cg_free(f->buf);
    memset(f, 0, sizeof *f);
}

const struct cg_st_tensor *cg_st_tensor(const struct cg_st_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *cg_st_meta_get(const struct cg_st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key))
            return f->meta[i].value;
    return NULL;
}
