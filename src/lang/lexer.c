/* lexer.c: the tokenizer of lexer.h. */
#include "lang/lexer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keywords[] = {"input",  "param", "def",  "return", "minimize", "over",
                                       "with",   "output", "metric", "import"};

int cg_is_keyword(const char *s)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(keywords); i++)
        if (!strcmp(s, keywords[i]))
            return 1;
    return 0;
}

void cg_lex_init(struct cg_lexer *lx, const char *path, const char *text, size_t len,
                 struct cg_arena *arena)
{
    memset(lx, 0, sizeof *lx);
    lx->path = path;
    lx->src = lx->p = lx->line_start = text;
    lx->end = text + len;
    lx->line = 1;
    lx->arena = arena;
    /* A UTF-8 byte-order mark is allowed at the start. */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        lx->p = lx->line_start = text + 3;
}

static int col_of(const struct cg_lexer *lx, const char *at) { return (int)(at - lx->line_start) + 1; }

#define LEX_FAIL(lx, e, at, ...)                                                                   \
    do {                                                                                           \
        char msg_[512];                                                                            \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                  \
        return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: %s", (lx)->path, (lx)->line,        \
                            col_of(lx, at), msg_);                                                 \
    } while (0)

static int is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ident_char(int c) { return is_ident_start(c) || is_digit(c); }

/* Skips a valid UTF-8 sequence starting at p (used inside comments and strings); returns the
 * number of bytes, or 0 if the bytes are not valid UTF-8. */
static int utf8_len(const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    int n;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2)
        n = 2;
    else if ((c & 0xF0) == 0xE0)
        n = 3;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static void describe_byte(char *buf, size_t n, const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    int u = utf8_len(p, end);
    if (c >= 0x21 && c < 0x7F)
        snprintf(buf, n, "'%c'", c);
    else if (u > 1)
        snprintf(buf, n, "'%.*s'", u, p);
    else
        snprintf(buf, n, "byte 0x%02X", c);
}

enum cg_status cg_lex_next(struct cg_lexer *lx, struct cg_token *t, struct cg_error *e)
{
    memset(t, 0, sizeof *t);
    int space = 0;
    for (;;) {
        if (lx->p >= lx->end)
            break;
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
            space = 1;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') {
                int u = utf8_len(lx->p, lx->end);
                if (u == 0 || *lx->p == 0)
                    LEX_FAIL(lx, e, lx->p, "invalid UTF-8 in comment");
                lx->p += u;
            }
        } else if (c == '\n' && lx->depth > 0) {
            lx->p++;
            lx->line++;
            lx->line_start = lx->p;
            space = 1;
        } else {
            break;
        }
    }
    t->space_before = space;
    t->loc.file = lx->path;
    t->loc.line = lx->line;
    t->loc.col = col_of(lx, lx->p);
    if (lx->p >= lx->end) {
        t->kind = CG_TK_EOF;
        t->text = "";
        return CG_OK;
    }
    const char *start = lx->p;
    char c = *start;
    if (c == '\n') {
        lx->p++;
        lx->line++;
        lx->line_start = lx->p;
        t->kind = CG_TK_NEWLINE;
        t->text = "\n";
        t->len = 1;
        return CG_OK;
    }
    if (is_ident_start((unsigned char)c)) {
        const char *q = start;
        while (q < lx->end && is_ident_char((unsigned char)*q))
            q++;
        size_t n = (size_t)(q - start);
        if (n > CG_MAX_IDENT)
            LEX_FAIL(lx, e, start, "identifier is too long (%zu characters; the limit is %d)", n,
                     CG_MAX_IDENT);
        t->text = cg_arena_strndup(lx->arena, start, n);
        if (!t->text)
            return cg_error_nomem(e);
        t->len = n;
        t->kind = cg_is_keyword(t->text) ? CG_TK_KEYWORD : CG_TK_IDENT;
        lx->p = q;
        return CG_OK;
    }
    if (is_digit((unsigned char)c)) {
        const char *q = start;
        int is_int = 1;
        while (q < lx->end && is_digit((unsigned char)*q))
            q++;
        if (q + 1 < lx->end && *q == '.' && is_digit((unsigned char)q[1])) {
            is_int = 0;
            q++;
            while (q < lx->end && is_digit((unsigned char)*q))
                q++;
        } else if (q < lx->end && *q == '.' &&
                   (q + 1 == lx->end || !is_ident_start((unsigned char)q[1]))) {
            /* "1." is a number too (also at the very end of the text) */
            is_int = 0;
            q++;
        }
        if (q < lx->end && (*q == 'e' || *q == 'E')) {
            const char *r = q + 1;
            if (r < lx->end && (*r == '+' || *r == '-'))
                r++;
            if (r < lx->end && is_digit((unsigned char)*r)) {
                while (r < lx->end && is_digit((unsigned char)*r))
                    r++;
                q = r;
                is_int = 0;
            } else {
                LEX_FAIL(lx, e, q, "malformed number: exponent has no digits");
            }
        }
        if (q < lx->end && is_ident_char((unsigned char)*q))
            LEX_FAIL(lx, e, start, "malformed number '%.*s'", (int)((q - start) + 1 > 40 ? 40 : (q - start) + 1), start);
        size_t n = (size_t)(q - start);
        if (n > 64)
            LEX_FAIL(lx, e, start, "number is too long (%zu characters)", n);
        char tmp[80];
        memcpy(tmp, start, n);
        tmp[n] = 0;
        t->kind = CG_TK_NUMBER;
        t->num = strtod(tmp, NULL);
        t->is_int = is_int;
        if (is_int) {
            if (n > 18)
                LEX_FAIL(lx, e, start, "integer %s is out of range", tmp);
            t->ival = strtoll(tmp, NULL, 10);
        }
        t->text = cg_arena_strdup(lx->arena, tmp);
        if (!t->text)
            return cg_error_nomem(e);
        t->len = n;
        lx->p = q;
        return CG_OK;
    }
    if (c == '"') {
        const char *q = start + 1;
        struct cg_buf b = {0};
        for (;;) {
            if (q >= lx->end || *q == '\n') {
                cg_buf_free(&b);
                LEX_FAIL(lx, e, start, "unterminated string");
            }
            if (*q == '"')
                break;
            if (*q == '\\') {
                if (q + 1 < lx->end && (q[1] == '"' || q[1] == '\\')) {
                    cg_buf_append(&b, q + 1, 1);
                    q += 2;
                    continue;
                }
                cg_buf_free(&b);
                LEX_FAIL(lx, e, q, "unknown escape in string (only \\\" and \\\\ are allowed)");
            }
            int u = utf8_len(q, lx->end);
            if (u == 0 || *q == 0) {
                cg_buf_free(&b);
                LEX_FAIL(lx, e, q, "invalid byte 0x%02X in string", (unsigned char)*q);
            }
            cg_buf_append(&b, q, (size_t)u);
            q += u;
            if (b.len > CG_MAX_STRING) {
                cg_buf_free(&b);
                LEX_FAIL(lx, e, start, "string is too long (the limit is %d bytes)", CG_MAX_STRING);
            }
        }
        if (b.oom) {
            cg_buf_free(&b);
            return cg_error_nomem(e);
        }
        t->kind = CG_TK_STRING;
        t->text = cg_arena_strdup(lx->arena, cg_buf_str(&b));
        cg_buf_free(&b);
        if (!t->text)
            return cg_error_nomem(e);
        lx->p = q + 1;
        t->len = (size_t)(lx->p - start);
        return CG_OK;
    }
    static const char punct[] = "()[]{},:=+-*/.;";
    if (c && strchr(punct, c)) {
        static const char *const texts[] = {"(", ")", "[", "]", "{", "}", ",", ":",
                                            "=", "+", "-", "*", "/", ".", ";"};
        t->kind = CG_TK_PUNCT;
        t->text = texts[strchr(punct, c) - punct];
        t->len = 1;
        if (c == '(' || c == '[')
            lx->depth++;
        else if ((c == ')' || c == ']') && lx->depth > 0)
            lx->depth--;
        lx->p++;
        return CG_OK;
    }
    char what[32];
    describe_byte(what, sizeof what, start, lx->end);
    if (utf8_len(start, lx->end) == 0 || (unsigned char)c < 0x20 || c == 0x7F)
        LEX_FAIL(lx, e, start, "unexpected %s (is this a text file?)", what);
    LEX_FAIL(lx, e, start, "unexpected character %s", what);
}

const char *cg_tok_describe(const struct cg_token *t, char *buf, size_t n)
{
    switch (t->kind) {
    case CG_TK_EOF: snprintf(buf, n, "end of file"); break;
    case CG_TK_NEWLINE: snprintf(buf, n, "end of line"); break;
    case CG_TK_IDENT: snprintf(buf, n, "identifier '%.60s'", t->text); break;
    case CG_TK_KEYWORD: snprintf(buf, n, "keyword '%s'", t->text); break;
    case CG_TK_NUMBER: snprintf(buf, n, "number %s", t->text); break;
    case CG_TK_STRING: snprintf(buf, n, "string \"%.60s\"", t->text); break;
    case CG_TK_PUNCT: snprintf(buf, n, "'%s'", t->text); break;
    }
    return buf;
}
