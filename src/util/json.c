/* json.c: the JSON reader of json.h: recursive descent over the text, one function per value
 * kind, building the struct cg_json tree with the project's allocator. */
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct jparser {
    const char *p, *start, *name;
    int depth;
    struct cg_error *e;
};

void cg_json_free(struct cg_json *v)
{
    cg_free(v->str);
    for (int i = 0; i < v->n; i++) {
        if (v->keys)
            cg_free(v->keys[i]);
        cg_json_free(&v->items[i]);
    }
    cg_free(v->keys);
    cg_free(v->items);
    memset(v, 0, sizeof *v);
}

static enum cg_status bad(struct jparser *j, const char *what)
{
    return cg_error_set(j->e, CG_ERR_INPUT, "%s: error: malformed JSON at offset %ld: %s",
                        j->name, (long)(j->p - j->start), what);
}

static void ws(struct jparser *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

/* Four hex digits after "\u"; -1 when they are not. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        int d = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(struct cg_buf *b, unsigned long c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3f)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), n = 4;
    }
    cg_buf_append(b, u, n);
}

/* string = '"' { char | '\' escape } '"' */
static enum cg_status string(struct jparser *j, char **out)
{
    if (*j->p != '"')
        return bad(j, "expected a string");
    j->p++;
    struct cg_buf b = {0};
    enum cg_status st = CG_OK;
    while (*j->p && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20) {
            j->p--;
            st = bad(j, "control character in a string");
            goto error;
        }
        if (c != '\\') {
            cg_buf_append(&b, &c, 1);
            continue;
        }
        c = *j->p++;
        switch (c) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case '"': case '\\': case '/': break;
        case 'u': {
            long v = hex4(j->p);
            if (v < 0) {
                st = bad(j, "bad \\u escape");
                goto error;
            }
            j->p += 4;
            if (v >= 0xd800 && v < 0xdc00) {
                long lo = j->p[0] == '\\' && j->p[1] == 'u' ? hex4(j->p + 2) : -1;
                if (lo < 0xdc00 || lo >= 0xe000) {
                    st = bad(j, "unpaired surrogate in a \\u escape");
                    goto error;
                }
                j->p += 6;
                v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
            } else if (v >= 0xdc00 && v < 0xe000) {
                st = bad(j, "unpaired surrogate in a \\u escape");
                goto error;
            }
            if (v == 0) {
                st = bad(j, "\\u0000 in a string");
                goto error;
            }
            put_utf8(&b, (unsigned long)v);
            continue;
        }
        default:
            j->p--;
            st = bad(j, "bad escape");
            goto error;
        }
        cg_buf_append(&b, &c, 1);
    }
    if (*j->p != '"') {
        st = bad(j, "unterminated string");
        goto error;
    }
    j->p++;
    if (b.oom) {
        st = cg_error_nomem(j->e);
        goto error;
    }
    *out = cg_strdup(cg_buf_str(&b));
    if (!*out)
        st = cg_error_nomem(j->e);
error:
    cg_buf_free(&b);
    return st;
}

/* number = [ '-' ] digits [ '.' digits ] [ ( 'e' | 'E' ) [ '+' | '-' ] digits ] */
static enum cg_status number(struct jparser *j, struct cg_json *v)
{
    const char *s = j->p, *q = s;
    if (*q == '-')
        q++;
    size_t d = strspn(q, "0123456789");
    if (!d)
        return bad(j, "expected a digit");
    q += d;
    int integer = 1;
    if (*q == '.') {
        integer = 0;
        d = strspn(++q, "0123456789");
        if (!d)
            return bad(j, "expected a digit after '.'");
        q += d;
    }
    if (*q == 'e' || *q == 'E') {
        integer = 0;
        q++;
        if (*q == '+' || *q == '-')
            q++;
        d = strspn(q, "0123456789");
        if (!d)
            return bad(j, "expected a digit in the exponent");
        q += d;
    }
    size_t n = (size_t)(q - s);
    if (n >= sizeof v->numtext)
        return bad(j, "number too long");
    memcpy(v->numtext, s, n);
    v->numtext[n] = 0;
    v->kind = integer ? CG_JSON_INT : CG_JSON_REAL;
    v->num = strtod(v->numtext, NULL);
    if (integer)
        v->i = strtoll(v->numtext, NULL, 10);
    j->p = q;
    return CG_OK;
}

static enum cg_status value(struct jparser *j, struct cg_json *v);

/* object = '{' [ string ':' value { ',' string ':' value } ] '}'
 * array  = '[' [ value { ',' value } ] ']' */
static enum cg_status container(struct jparser *j, struct cg_json *v)
{
    int obj = *j->p == '{';
    char close = obj ? '}' : ']';
    v->kind = obj ? CG_JSON_OBJ : CG_JSON_ARR;
    j->p++;
    ws(j);
    size_t cap = 0, kcap = 0;
    while (*j->p != close) {
        if (v->n > 0) {
            if (*j->p != ',')
                return bad(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            j->p++;
            ws(j);
        }
        char *key = NULL;
        if (obj) {
            CG_TRY(string(j, &key));
            ws(j);
            if (*j->p != ':') {
                cg_free(key);
                return bad(j, "expected ':'");
            }
            j->p++;
            if (cg_grow((void **)&v->keys, &kcap, (size_t)v->n + 1, sizeof *v->keys)) {
                cg_free(key);
                return cg_error_nomem(j->e);
            }
        }
        if (cg_grow((void **)&v->items, &cap, (size_t)v->n + 1, sizeof *v->items)) {
            cg_free(key);
            return cg_error_nomem(j->e);
        }
        if (obj)
            v->keys[v->n] = key;
        v->n++;
        CG_TRY(value(j, &v->items[v->n - 1]));
        ws(j);
    }
    j->p++;
    return CG_OK;
}

/* value = object | array | string | number | 'true' | 'false' | 'null' */
static enum cg_status value(struct jparser *j, struct cg_json *v)
{
    memset(v, 0, sizeof *v);
    ws(j);
    if (++j->depth > MAX_DEPTH)
        return bad(j, "nested too deeply");
    enum cg_status st = CG_OK;
    if (*j->p == '"') {
        v->kind = CG_JSON_STR;
        st = string(j, &v->str);
    } else if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
        st = number(j, v);
    } else if (*j->p == '{' || *j->p == '[') {
        st = container(j, v);
    } else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
        v->kind = CG_JSON_BOOL;
        v->boolean = *j->p == 't';
        j->p += v->boolean ? 4 : 5;
    } else if (!strncmp(j->p, "null", 4)) {
        v->kind = CG_JSON_NULL;
        j->p += 4;
    } else {
        return bad(j, "expected a value");
    }
    j->depth--;
    return st;
}

enum cg_status cg_json_parse(const char *text, const char *name, struct cg_json *out,
                             struct cg_error *e)
{
    struct jparser j = {text, text, name, 0, e};
    enum cg_status st = value(&j, out);
    if (st == CG_OK) {
        ws(&j);
        if (*j.p)
            st = bad(&j, "text after the value");
    }
    if (st != CG_OK)
        cg_json_free(out);
    return st;
}

const struct cg_json *cg_json_get(const struct cg_json *o, const char *key,
                                  enum cg_json_kind kind)
{
    if (!o || o->kind != CG_JSON_OBJ)
        return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key)) {
            enum cg_json_kind k = o->items[i].kind;
            return k == kind || (kind == CG_JSON_REAL && k == CG_JSON_INT) ? &o->items[i]
                                                                            : NULL;
        }
    return NULL;
}

int cg_json_number(const struct cg_json *o, const char *key, double *v)
{
    const struct cg_json *x = cg_json_get(o, key, CG_JSON_REAL);
    if (x)
        *v = x->num;
    return x != NULL;
}
