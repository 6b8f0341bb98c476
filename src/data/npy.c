/* npy.c: the .npy reader and writer (see npy.h).
 *
 * A .npy file is: the magic "\x93NUMPY", a version byte pair, the header length (2 bytes
 * little-endian in v1.0, 4 bytes in v2.0/v3.0), a header that is a Python dict literal
 * ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }) padded with spaces and a '\n',
 * then the raw elements. The header is parsed by a small recursive-descent parser over that dict
 * grammar; every function of it starts with the rule it parses. The reader checks the prefix,
 * the header, the dtype, the order and the size against the file's length before it allocates
 * the data, so a broken or hostile file costs nothing but a message. */
#include "data/npy.h"

#include "data/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host ('<f4' and '<i4' data are used as they are)"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64              /* NumPy pads prefix + header to a multiple of this */
#define NPY_GROWTH_DIGITS 21      /* NumPy's spare room for growing the first axis */
#define NPY_MAX_HEADER (1u << 20) /* generous: NumPy itself refuses more than 10000 bytes */
#define NPY_SUPPORTED "'<f4' (float32), '<i4' (int32) and '|u1' (uint8)"

static const struct {
    const char *descr;
    size_t size;
} npy_dtypes[] = {
    [CG_NPY_F32] = {"<f4", 4},
    [CG_NPY_I32] = {"<i4", 4},
    [CG_NPY_U8] = {"|u1", 1},
};

const char *cg_npy_dtype_descr(enum cg_npy_dtype dtype)
{
    return (unsigned)dtype < CG_ARRAY_LEN(npy_dtypes) ? npy_dtypes[dtype].descr : "?";
}

size_t cg_npy_dtype_size(enum cg_npy_dtype dtype)
{
    return (unsigned)dtype < CG_ARRAY_LEN(npy_dtypes) ? npy_dtypes[dtype].size : 0;
}

void cg_npy_free(struct cg_npy *a)
{
    if (!a)
        return;
    cg_free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Sets e to CG_ERR_INPUT with "NAME: error: <fmt...>". */
__attribute__((format(printf, 3, 4))) static enum cg_status
bad(struct cg_error *e, const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cg_error_set(e, CG_ERR_INPUT, "%s: error: %s", name, msg);
}

/* Returns len less the trailing spaces and newlines of s (the header's padding). */
static size_t trimmed(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\n'))
        len--;
    return len;
}

/* Writes up to 40 bytes of s (length len, trailing padding dropped) into dst as printable text:
 * other bytes become \xNN, a cut is marked with "...". dst must hold at least 4*40+4 bytes. */
static void snippet(char *dst, const char *s, size_t len)
{
    len = trimmed(s, len);
    size_t o = 0, n = len < 40 ? len : 40;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            dst[o++] = (char)c;
        else
            o += (size_t)sprintf(dst + o, "\\x%02x", c);
    }
    if (len > n) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Formats shape as NumPy prints it: "()", "(4,)", "(2, 3)". out must hold 256 bytes. */
static void format_shape(char *out, const int64_t *shape, int rank)
{
    size_t o = 0;
    out[o++] = '(';
    for (int d = 0; d < rank; d++)
        o += (size_t)sprintf(out + o, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (rank == 1)
        out[o++] = ',';
    out[o++] = ')';
    out[o] = '\0';
}

/* ---- the header dict ----------------------------------------------------------------------- */

struct npy_header {
    const char *descr; /* points into the header text */
    size_t descr_len;
    int fortran_order;
    int rank;
    int64_t shape[CG_NPY_MAX_RANK];
    int have_descr, have_order, have_shape;
};

struct npy_parser {
    const char *s;
    size_t n, i;
    const char *name;
    struct cg_error *e;
};

static int peek(const struct npy_parser *p) { return p->i < p->n ? (unsigned char)p->s[p->i] : -1; }

static void skip_space(struct npy_parser *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static enum cg_status expected(struct npy_parser *p, const char *what)
{
    char near[200];
    if (trimmed(p->s + p->i, p->n - p->i) == 0)
        return bad(p->e, p->name, "malformed .npy header: expected %s, found the end of the header",
                   what);
    snippet(near, p->s + p->i, p->n - p->i);
    return bad(p->e, p->name, "malformed .npy header: expected %s at offset %zu, found \"%s\"",
               what, p->i, near);
}

/* string := "'" chars "'" | '"' chars '"'   (no escapes, no newlines) */
static enum cg_status parse_string(struct npy_parser *p, const char **s, size_t *len)
{
    int q = peek(p);
    if (q != '\'' && q != '"')
        return expected(p, "a quoted string");
    size_t start = ++p->i;
    while (p->i < p->n && p->s[p->i] != q) {
        if (p->s[p->i] == '\\')
            return expected(p, "a string without escapes");
        if (p->s[p->i] == '\n')
            return expected(p, "a closing quote");
        p->i++;
    }
    if (p->i >= p->n)
        return expected(p, "a closing quote");
    *s = p->s + start;
    *len = p->i - start;
    p->i++;
    return CG_OK;
}

/* bool := 'True' | 'False' */
static enum cg_status parse_bool(struct npy_parser *p, int *v)
{
    static const char *const words[2] = {"False", "True"};
    for (int b = 0; b < 2; b++) {
        size_t len = strlen(words[b]);
        if (p->n - p->i >= len && memcmp(p->s + p->i, words[b], len) == 0) {
            p->i += len;
            *v = b;
            return CG_OK;
        }
    }
    return expected(p, "True or False");
}

/* dim := digits ['L'] */
static enum cg_status parse_dim(struct npy_parser *p, int64_t *v)
{
    if (peek(p) == '-')
        return bad(p->e, p->name,
                   "malformed .npy header: negative dimension in shape at offset %zu", p->i);
    if (peek(p) < '0' || peek(p) > '9')
        return expected(p, "a dimension (a non-negative integer)");
    int64_t x = 0;
    size_t start = p->i;
    while (peek(p) >= '0' && peek(p) <= '9') {
        int d = p->s[p->i] - '0';
        if (x > (INT64_MAX - d) / 10) {
            while (peek(p) >= '0' && peek(p) <= '9')
                p->i++;
            return bad(p->e, p->name, "shape dimension %.*s is too large (overflow)",
                       (int)(p->i - start < 40 ? p->i - start : 40), p->s + start);
        }
        x = 10 * x + d;
        p->i++;
    }
    if (peek(p) == 'L')
        p->i++;
    *v = x;
    return CG_OK;
}

/* shape := '(' [dim (',' dim)* [',']] ')'   (a list '[...]' is accepted too) */
static enum cg_status parse_shape(struct npy_parser *p, struct npy_header *h)
{
    int open = peek(p);
    if (open != '(' && open != '[')
        return expected(p, "a shape tuple");
    int close = open == '(' ? ')' : ']';
    p->i++;
    h->rank = 0;
    for (;;) {
        skip_space(p);
        if (peek(p) == close)
            break;
        if (h->rank == CG_NPY_MAX_RANK)
            return bad(p->e, p->name,
                       "shape has more than %d dimensions (at most %d are supported)",
                       CG_NPY_MAX_RANK, CG_NPY_MAX_RANK);
        CG_TRY(parse_dim(p, &h->shape[h->rank]));
        h->rank++;
        skip_space(p);
        if (peek(p) == ',') {
            p->i++;
            continue;
        }
        if (peek(p) != close)
            return expected(p,
                            close == ')' ? "',' or ')' in the shape" : "',' or ']' in the shape");
    }
    p->i++;
    return CG_OK;
}

/* entry := string ':' value   where the key decides the value: descr string, fortran_order bool,
 * shape tuple */
static enum cg_status parse_entry(struct npy_parser *p, struct npy_header *h)
{
    const char *key;
    size_t klen;
    CG_TRY(parse_string(p, &key, &klen));
    skip_space(p);
    if (peek(p) != ':')
        return expected(p, "':' after a key");
    p->i++;
    skip_space(p);
    int *seen;
    if (klen == 5 && memcmp(key, "descr", 5) == 0)
        seen = &h->have_descr;
    else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0)
        seen = &h->have_order;
    else if (klen == 5 && memcmp(key, "shape", 5) == 0)
        seen = &h->have_shape;
    else {
        char k[200];
        snippet(k, key, klen);
        return bad(p->e, p->name,
                   "unexpected key '%s' in the .npy header (it has exactly 'descr', "
                   "'fortran_order' and 'shape')",
                   k);
    }
    if (*seen)
        return bad(p->e, p->name, "duplicate key '%.*s' in the .npy header", (int)klen, key);
    *seen = 1;
    if (seen == &h->have_descr) {
        if (peek(p) == '[')
            return bad(p->e, p->name,
                       "structured dtype (a list of fields) is not supported; supported dtypes: "
                       "%s",
                       NPY_SUPPORTED);
        return parse_string(p, &h->descr, &h->descr_len);
    }
    if (seen == &h->have_order)
        return parse_bool(p, &h->fortran_order);
    return parse_shape(p, h);
}

/* header := '{' [entry (',' entry)* [',']] '}' spaces */
static enum cg_status parse_header(struct npy_parser *p, struct npy_header *h)
{
    memset(h, 0, sizeof *h);
    skip_space(p);
    if (trimmed(p->s + p->i, p->n - p->i) == 0)
        return bad(p->e, p->name, "the .npy header is empty (a dict was expected)");
    if (peek(p) != '{') {
        char near[200];
        snippet(near, p->s + p->i, p->n - p->i);
        return bad(p->e, p->name, "the .npy header is not a dict (it starts with \"%s\")", near);
    }
    p->i++;
    for (;;) {
        skip_space(p);
        if (peek(p) == '}')
            break;
        CG_TRY(parse_entry(p, h));
        skip_space(p);
        if (peek(p) == ',') {
            p->i++;
            continue;
        }
        if (peek(p) != '}')
            return expected(p, "',' or '}' in the header dict");
    }
    p->i++;
    skip_space(p);
    if (p->i < p->n) {
        char near[200];
        snippet(near, p->s + p->i, p->n - p->i);
        return bad(p->e, p->name, "unexpected text after the .npy header dict: \"%s\"", near);
    }
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return bad(p->e, p->name, "the .npy header is missing the key%s%s%s%s",
                   (!h->have_descr + !h->have_order + !h->have_shape) > 1 ? "s" : "",
                   h->have_descr ? "" : " 'descr'", h->have_order ? "" : " 'fortran_order'",
                   h->have_shape ? "" : " 'shape'");
    return CG_OK;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* Checks the fixed prefix (magic, version, header length) from the first avail bytes of a file
 * of total bytes; sets *hdr_off and *hdr_len. */
static enum cg_status check_prefix(const char *name, const unsigned char *b, size_t avail,
                                   size_t total, size_t *hdr_off, size_t *hdr_len,
                                   struct cg_error *e)
{
    size_t n = avail < NPY_MAGIC_LEN ? avail : NPY_MAGIC_LEN;
    if (memcmp(b, NPY_MAGIC, n) != 0) {
        char found[200];
        snippet(found, (const char *)b, n);
        return bad(e, name, "not a .npy file (bad magic: expected \"\\x93NUMPY\", found \"%s\")",
                   found);
    }
    if (total < NPY_MAGIC_LEN + 2)
        return bad(e, name, "file is too short for a .npy header (%zu bytes)", total);
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return bad(e, name, "unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)",
                   major, minor);
    size_t lensize = major == 1 ? 2 : 4;
    if (total < 8 + lensize)
        return bad(e, name, "file is too short for a .npy header (%zu bytes)", total);
    size_t len = (size_t)b[8] | (size_t)b[9] << 8;
    if (lensize == 4)
        len |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    *hdr_off = 8 + lensize;
    if (len > total - *hdr_off)
        return bad(e, name,
                   "header length %zu goes beyond the end of the file (%zu bytes after the "
                   "%zu-byte prefix)",
                   len, total - *hdr_off, *hdr_off);
    if (len > NPY_MAX_HEADER)
        return bad(e, name, "header length %zu exceeds the limit of %u bytes", len, NPY_MAX_HEADER);
    *hdr_len = len;
    return CG_OK;
}

/* Parses the header text, checks dtype, order and shape, and checks that data_avail bytes follow
 * the header: fills out's dtype, rank, shape, count and nbytes. */
static enum cg_status check_header(const char *name, const char *text, size_t len,
                                   size_t data_avail, struct cg_npy *out, struct cg_error *e)
{
    struct npy_parser p = {text, len, 0, name, e};
    struct npy_header h;
    CG_TRY(parse_header(&p, &h));

    int found = -1;
    for (size_t k = 0; k < CG_ARRAY_LEN(npy_dtypes); k++)
        if (h.descr_len == strlen(npy_dtypes[k].descr) &&
            memcmp(h.descr, npy_dtypes[k].descr, h.descr_len) == 0)
            found = (int)k;
    if (found < 0) {
        char d[200];
        snippet(d, h.descr, h.descr_len);
        bad(e, name, "%sdtype '%s' is not supported; supported dtypes: %s",
            h.descr_len && h.descr[0] == '>' ? "big-endian " : "", d, NPY_SUPPORTED);
        cg_error_note(e, "note: convert it first, e.g. np.save(path, a.astype(np.float32))");
        return CG_ERR_INPUT;
    }
    if (h.fortran_order)
        return bad(e, name,
                   "fortran_order is True; only C-order arrays are supported (save "
                   "np.ascontiguousarray(a))");

    char shape[256];
    format_shape(shape, h.shape, h.rank);
    size_t esize = npy_dtypes[found].size, count = 1;
    int zero = 0;
    for (int d = 0; d < h.rank; d++)
        zero |= h.shape[d] == 0;
    for (int d = 0; d < h.rank && !zero; d++) {
        if ((uint64_t)h.shape[d] > SIZE_MAX / count)
            return bad(e, name, "shape %s is too large (its element count overflows)", shape);
        count *= (size_t)h.shape[d];
    }
    if (zero)
        count = 0;
    if (count > SIZE_MAX / esize)
        return bad(e, name, "shape %s is too large (its byte size overflows)", shape);
    size_t nbytes = count * esize;
    if (data_avail < nbytes)
        return bad(e, name, "truncated data: expected %zu bytes for shape %s of '%s', file has %zu",
                   nbytes, shape, npy_dtypes[found].descr, data_avail);
    if (data_avail > nbytes)
        return bad(e, name, "%zu bytes of trailing garbage after the %zu bytes of data of shape %s",
                   data_avail - nbytes, nbytes, shape);

    out->dtype = (enum cg_npy_dtype)found;
    out->rank = h.rank;
    memcpy(out->shape, h.shape, sizeof h.shape);
    out->count = count;
    out->nbytes = nbytes;
    return CG_OK;
}

enum cg_status cg_npy_read_mem(const char *name, const void *bytes, size_t len, struct cg_npy *out,
                               struct cg_error *e)
{
    const unsigned char *b = bytes;
    size_t off = 0, hlen = 0;
    memset(out, 0, sizeof *out);
    CG_TRY(check_prefix(name, b, len, len, &off, &hlen, e));
    CG_TRY(check_header(name, (const char *)b + off, hlen, len - off - hlen, out, e));
    out->data = cg_malloc(out->nbytes);
    if (!out->data) {
        memset(out, 0, sizeof *out);
        return cg_error_nomem(e);
    }
    if (out->nbytes)
        memcpy(out->data, b + off + hlen, out->nbytes);
    return CG_OK;
}

enum cg_status cg_npy_read(const char *path, struct cg_npy *out, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    char *hdr = NULL;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return bad(e, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = bad(e, path, "not a regular file");
        goto error;
    }
    size_t total = (size_t)sb.st_size;
    unsigned char prefix[12];
    size_t want = total < sizeof prefix ? total : sizeof prefix;
    size_t avail = fread(prefix, 1, want, f);
    if (avail != want) {
        st = bad(e, path, "read failed in the .npy prefix");
        goto error;
    }
    size_t off = 0, hlen = 0;
    st = check_prefix(path, prefix, avail, total, &off, &hlen, e);
    if (st != CG_OK)
        goto error;
    if (fseek(f, (long)off, SEEK_SET) != 0) {
        st = bad(e, path, "cannot seek: %s", strerror(errno));
        goto error;
    }
    hdr = cg_malloc(hlen + 1);
    if (!hdr) {
        st = cg_error_nomem(e);
        goto error;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        st = bad(e, path, "read failed in the header");
        goto error;
    }
    st = check_header(path, hdr, hlen, total - off - hlen, out, e);
    if (st != CG_OK)
        goto error;
    out->data = cg_malloc(out->nbytes);
    if (!out->data) {
        st = cg_error_nomem(e);
        goto error;
    }
    size_t got = fread(out->data, 1, out->nbytes, f);
    if (got != out->nbytes) {
        st = bad(e, path, "truncated data: expected %zu bytes, could read %zu", out->nbytes, got);
        goto error;
    }
    cg_free(hdr);
    fclose(f);
    return CG_OK;

error:
    cg_free(hdr);
    cg_npy_free(out);
    fclose(f);
    return st;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Writes the v1.0 prefix and header of the array into out (at least 512 bytes), exactly as NumPy
 * 1.24 does: sorted keys, the shape's repr, spare spaces for growing axis 0, then spaces and '\n'
 * up to a multiple of 64 bytes. Returns the length. */
static size_t build_header(char *out, enum cg_npy_dtype dtype, const int64_t *shape, int rank)
{
    char sh[256];
    format_shape(sh, shape, rank);
    char *h = out + 10;
    int len = sprintf(h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      npy_dtypes[dtype].descr, sh);
    if (rank > 0) {
        char d0[32];
        int spare = NPY_GROWTH_DIGITS - sprintf(d0, "%lld", (long long)shape[0]);
        for (; spare > 0; spare--)
            h[len++] = ' ';
    }
    int pad = NPY_ALIGN - (10 + len + 1) % NPY_ALIGN;
    memset(h + len, ' ', (size_t)pad);
    len += pad;
    h[len++] = '\n';
    memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)(len & 0xff);
    out[9] = (char)(len >> 8);
    return (size_t)len + 10;
}

enum cg_status cg_npy_write(const char *path, enum cg_npy_dtype dtype, const int64_t *shape,
                            int rank, const void *data, struct cg_error *e)
{
    if ((unsigned)dtype >= CG_ARRAY_LEN(npy_dtypes))
        return bad(e, path, "cannot write dtype %d (not a cg_npy_dtype)", (int)dtype);
    if (rank < 0 || rank > CG_NPY_MAX_RANK)
        return bad(e, path, "cannot write an array of rank %d (0 to %d supported)", rank,
                   CG_NPY_MAX_RANK);
    size_t count = 1;
    int zero = 0;
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 0)
            return bad(e, path, "cannot write an array with negative dimension %lld",
                       (long long)shape[d]);
        zero |= shape[d] == 0;
    }
    for (int d = 0; d < rank && !zero; d++) {
        if ((uint64_t)shape[d] > SIZE_MAX / npy_dtypes[dtype].size / count)
            return bad(e, path, "cannot write: the array's byte size overflows");
        count *= (size_t)shape[d];
    }
    size_t nbytes = zero ? 0 : count * npy_dtypes[dtype].size;
    if (nbytes && !data)
        return bad(e, path, "cannot write: no data for %zu bytes", nbytes);

    char header[512];
    size_t hlen = build_header(header, dtype, shape, rank);

    const void *parts[2] = {header, data};
    size_t lens[2] = {hlen, nbytes};
    return cg_file_write_atomic_parts(path, parts, lens, 2, e);
}
