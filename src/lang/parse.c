/* parse.c: recursive-descent parser and import loader (see parse.h). Every parse function starts
 * with the grammar rule it parses. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "lang/parse.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lexer.h"

struct parser {
    struct cg_lexer lx;
    struct cg_token tok, peek;
    int has_peek;
    int depth;
    struct cg_arena *arena;
    struct cg_error *e;
};

static enum cg_status perr(struct parser *p, struct cg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum cg_status perr(struct parser *p, struct cg_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum cg_status st = cg_error_vat(p->e, loc, fmt, ap);
    va_end(ap);
    return st;
}

static enum cg_status advance(struct parser *p)
{
    if (p->has_peek) {
        p->tok = p->peek;
        p->has_peek = 0;
        return CG_OK;
    }
    return cg_lex_next(&p->lx, &p->tok, p->e);
}

static enum cg_status peek(struct parser *p, struct cg_token **out)
{
    if (!p->has_peek) {
        CG_TRY(cg_lex_next(&p->lx, &p->peek, p->e));
        p->has_peek = 1;
    }
    *out = &p->peek;
    return CG_OK;
}

static int is_punct(const struct cg_token *t, const char *s)
{
    return t->kind == CG_TK_PUNCT && !strcmp(t->text, s);
}

static int is_kw(const struct cg_token *t, const char *s)
{
    return t->kind == CG_TK_KEYWORD && !strcmp(t->text, s);
}

static enum cg_status expected(struct parser *p, const char *what)
{
    char buf[128];
    return perr(p, p->tok.loc, "expected %s, found %s", what,
                cg_tok_describe(&p->tok, buf, sizeof buf));
}

static enum cg_status expect_punct(struct parser *p, const char *s, const char *what)
{
    if (!is_punct(&p->tok, s))
        return expected(p, what);
    return advance(p);
}

static void *alloc(struct parser *p, size_t n) { return cg_arena_alloc(p->arena, n); }

#define NEW(p, type) ((type *)alloc((p), sizeof(type)))

/* Growable pointer list in the arena (copied on growth; old copies stay in the arena). */
struct plist {
    void **items;
    int n, cap;
};

static enum cg_status plist_push(struct parser *p, struct plist *l, void *item)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 4;
        void **items = alloc(p, (size_t)cap * sizeof *items);
        if (!items)
            return cg_error_nomem(p->e);
        if (l->n)
            memcpy(items, l->items, (size_t)l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = item;
    return CG_OK;
}

static enum cg_status parse_expr(struct parser *p, struct cg_expr **out);

/* Counts one level of nesting (a bracket, a call or a unary minus); the limit bounds the
 * recursion on hostile input. */
static enum cg_status enter(struct parser *p)
{
    if (++p->depth > CG_MAX_NESTING)
        return perr(p, p->tok.loc, "expression is nested too deeply (more than %d levels)",
                    CG_MAX_NESTING);
    return CG_OK;
}

static enum cg_status new_expr(struct parser *p, enum cg_expr_kind k, struct cg_loc loc,
                               struct cg_expr **out)
{
    struct cg_expr *x = NEW(p, struct cg_expr);
    if (!x)
        return cg_error_nomem(p->e);
    x->kind = k;
    x->loc = loc;
    x->height = 1;
    *out = x;
    return CG_OK;
}

/* Makes x at least one higher than its operand y and enforces CG_MAX_EXPR_HEIGHT. */
static enum cg_status grow_height(struct parser *p, struct cg_expr *x, const struct cg_expr *y)
{
    if (y && y->height + 1 > x->height)
        x->height = y->height + 1;
    if (x->height > CG_MAX_EXPR_HEIGHT)
        return perr(p, x->loc, "expression is too long (more than %d operations in a chain); "
                    "split it with intermediate names", CG_MAX_EXPR_HEIGHT);
    return CG_OK;
}

/* args := [arg {',' arg}] [','] ')'    arg := NAME '=' expr | expr
 * (the opening '(' has been consumed) */
static enum cg_status parse_args(struct parser *p, struct cg_expr *call)
{
    struct cg_arg *args = NULL;
    int n = 0, cap = 0;
    while (!is_punct(&p->tok, ")")) {
        struct cg_arg a = {0};
        struct cg_token *nx;
        if (p->tok.kind == CG_TK_IDENT || p->tok.kind == CG_TK_KEYWORD) {
            CG_TRY(peek(p, &nx));
            if (is_punct(nx, "=")) {
                a.kw = p->tok.text;
                a.kw_loc = p->tok.loc;
                CG_TRY(advance(p));
                CG_TRY(advance(p));
            }
        }
        if (!a.kw && n > 0 && args[n - 1].kw)
            return perr(p, p->tok.loc, "positional argument after keyword argument '%s'",
                        args[n - 1].kw);
        if (is_punct(&p->tok, ")") || is_punct(&p->tok, ","))
            return expected(p, "an argument");
        CG_TRY(parse_expr(p, &a.value));
        CG_TRY(grow_height(p, call, a.value));
        if (n == cap) {
            int ncap = cap ? cap * 2 : 4;
            struct cg_arg *na = alloc(p, (size_t)ncap * sizeof *na);
            if (!na)
                return cg_error_nomem(p->e);
            if (n)
                memcpy(na, args, (size_t)n * sizeof *na);
            args = na;
            cap = ncap;
        }
        args[n++] = a;
        if (is_punct(&p->tok, ","))
            CG_TRY(advance(p));
        else if (!is_punct(&p->tok, ")"))
            return expected(p, "',' or ')' in the argument list");
    }
    call->args = args;
    call->nargs = n;
    return advance(p);
}

/* primary := NUMBER | STRING | NAME | NAME '(' args ')' | '(' expr ')'
 *          | '[' [expr {',' expr}] [','] ']' */
static enum cg_status parse_primary(struct parser *p, struct cg_expr **out)
{
    struct cg_token t = p->tok;
    switch (t.kind) {
    case CG_TK_NUMBER:
        CG_TRY(new_expr(p, CG_EX_NUM, t.loc, out));
        (*out)->num = t.num;
        (*out)->ival = t.ival;
        (*out)->is_int = t.is_int;
        (*out)->str = t.text;
        return advance(p);
    case CG_TK_STRING:
        CG_TRY(new_expr(p, CG_EX_STR, t.loc, out));
        (*out)->str = t.text;
        return advance(p);
    case CG_TK_IDENT:
        CG_TRY(advance(p));
        if (is_punct(&p->tok, "(") && !p->tok.space_before) {
            CG_TRY(enter(p));
            CG_TRY(new_expr(p, CG_EX_CALL, t.loc, out));
            (*out)->str = t.text;
            CG_TRY(advance(p));
            CG_TRY(parse_args(p, *out));
            p->depth--;
            return CG_OK;
        }
        if (is_punct(&p->tok, "("))
            return perr(p, p->tok.loc, "unexpected '(' after '%s' (write calls as %s(...), with "
                        "no space before the parenthesis)", t.text, t.text);
        CG_TRY(new_expr(p, CG_EX_NAME, t.loc, out));
        (*out)->str = t.text;
        return CG_OK;
    case CG_TK_PUNCT:
        if (is_punct(&t, "(")) {
            CG_TRY(enter(p));
            CG_TRY(advance(p));
            CG_TRY(parse_expr(p, out));
            if (is_punct(&p->tok, ","))
                return perr(p, p->tok.loc, "tuples are not values; use a list [a, b]");
            CG_TRY(expect_punct(p, ")", "')'"));
            p->depth--;
            return CG_OK;
        }
        if (is_punct(&t, "[")) {
            struct plist items = {0};
            CG_TRY(enter(p));
            CG_TRY(advance(p));
            int height = 1;
            while (!is_punct(&p->tok, "]")) {
                struct cg_expr *it;
                CG_TRY(parse_expr(p, &it));
                CG_TRY(plist_push(p, &items, it));
                if (it->height + 1 > height)
                    height = it->height + 1;
                if (is_punct(&p->tok, ","))
                    CG_TRY(advance(p));
                else if (!is_punct(&p->tok, "]"))
                    return expected(p, "',' or ']' in the list");
            }
            CG_TRY(new_expr(p, CG_EX_LIST, t.loc, out));
            (*out)->items = (struct cg_expr **)items.items;
            (*out)->nitems = items.n;
            (*out)->height = height;
            CG_TRY(grow_height(p, *out, NULL));
            p->depth--;
            return advance(p);
        }
        break;
    case CG_TK_KEYWORD:
        return perr(p, t.loc, "keyword '%s' cannot be used as a value", t.text);
    default:
        break;
    }
    return expected(p, "an expression");
}

/* unary := '-' unary | primary */
static enum cg_status parse_unary(struct parser *p, struct cg_expr **out)
{
    if (is_punct(&p->tok, "-")) {
        struct cg_loc loc = p->tok.loc;
        CG_TRY(enter(p));
        CG_TRY(advance(p));
        struct cg_expr *x;
        CG_TRY(parse_unary(p, &x));
        p->depth--;
        if (x->kind == CG_EX_NUM) { /* fold -literal */
            x->num = -x->num;
            x->ival = -x->ival;
            x->loc = loc;
            *out = x;
        } else {
            CG_TRY(new_expr(p, CG_EX_NEG, loc, out));
            (*out)->lhs = x;
            CG_TRY(grow_height(p, *out, x));
        }
    } else if (is_punct(&p->tok, "+")) {
        return perr(p, p->tok.loc, "unary '+' is not supported");
    } else {
        CG_TRY(parse_primary(p, out));
    }
    return CG_OK;
}

/* binary := unary {op unary}, where mul := * /  binds tighter than add := + - (left assoc.) */
static enum cg_status parse_binary(struct parser *p, int level, struct cg_expr **out)
{
    const char *ops = level == 0 ? "+-" : "*/";
    if (level == 0)
        CG_TRY(parse_binary(p, 1, out));
    else
        CG_TRY(parse_unary(p, out));
    while (p->tok.kind == CG_TK_PUNCT && p->tok.text[1] == 0 && strchr(ops, p->tok.text[0])) {
        struct cg_expr *b = NULL;
        CG_TRY(new_expr(p, CG_EX_BIN, p->tok.loc, &b));
        b->op = p->tok.text[0];
        b->lhs = *out;
        CG_TRY(advance(p));
        if (level == 0)
            CG_TRY(parse_binary(p, 1, &b->rhs));
        else
            CG_TRY(parse_unary(p, &b->rhs));
        CG_TRY(grow_height(p, b, b->lhs));
        CG_TRY(grow_height(p, b, b->rhs));
        *out = b;
    }
    return CG_OK;
}

/* expr := add */
static enum cg_status parse_expr(struct parser *p, struct cg_expr **out)
{
    return parse_binary(p, 0, out);
}

static enum cg_status expect_name(struct parser *p, const char *what, const char **name,
                                  struct cg_loc *loc)
{
    if (p->tok.kind == CG_TK_KEYWORD)
        return perr(p, p->tok.loc, "'%s' is a keyword and cannot be used as %s", p->tok.text,
                    what);
    if (p->tok.kind != CG_TK_IDENT)
        return expected(p, what);
    *name = p->tok.text;
    if (loc)
        *loc = p->tok.loc;
    return advance(p);
}

/* end of statement := NEWLINE | EOF | (before) '}' */
static enum cg_status end_of_statement(struct parser *p)
{
    if (p->tok.kind == CG_TK_NEWLINE)
        return advance(p);
    if (p->tok.kind == CG_TK_EOF || is_punct(&p->tok, "}"))
        return CG_OK;
    if (is_punct(&p->tok, ";"))
        return advance(p);
    return expected(p, "end of line");
}

/* type := ('f32' | 'i32') '[' [dim {',' dim}] ']'    dim := INTEGER | SYMBOL */
static enum cg_status parse_type(struct parser *p, struct cg_type_ast *ty)
{
    ty->loc = p->tok.loc;
    if (p->tok.kind != CG_TK_IDENT ||
        (strcmp(p->tok.text, "f32") != 0 && strcmp(p->tok.text, "i32") != 0))
        return expected(p, "a type (f32[...] or i32[...])");
    ty->dtype = !strcmp(p->tok.text, "f32") ? CG_F32 : CG_I32;
    CG_TRY(advance(p));
    CG_TRY(expect_punct(p, "[", "'[' after the element type"));
    struct plist dims = {0};
    while (!is_punct(&p->tok, "]")) {
        struct cg_expr *d = NULL;
        if (p->tok.kind == CG_TK_NUMBER) {
            if (!p->tok.is_int || p->tok.ival <= 0)
                return perr(p, p->tok.loc, "invalid dimension %s: a dimension is a positive "
                            "integer or an upper-case symbol such as N", p->tok.text);
            CG_TRY(new_expr(p, CG_EX_NUM, p->tok.loc, &d));
            d->ival = p->tok.ival;
            d->num = p->tok.num;
            d->is_int = 1;
        } else if (p->tok.kind == CG_TK_IDENT) {
            const char *s = p->tok.text;
            int ok = s[0] >= 'A' && s[0] <= 'Z';
            for (const char *c = s; *c && ok; c++)
                ok = (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
            if (!ok)
                return perr(p, p->tok.loc, "invalid dimension '%s': a symbol is upper-case "
                            "(letters, digits, _), such as N or B", s);
            CG_TRY(new_expr(p, CG_EX_NAME, p->tok.loc, &d));
            d->str = s;
        } else if (is_punct(&p->tok, "-")) {
            return perr(p, p->tok.loc, "invalid dimension: dimensions must be positive");
        } else {
            return expected(p, "a dimension (an integer or a symbol such as N)");
        }
        CG_TRY(plist_push(p, &dims, d));
        CG_TRY(advance(p));
        if (is_punct(&p->tok, ","))
            CG_TRY(advance(p));
        else if (!is_punct(&p->tok, "]"))
            return expected(p, "',' or ']' in the dimension list");
    }
    if (dims.n > 8)
        return perr(p, ty->loc, "a tensor has at most 8 dimensions, this type has %d", dims.n);
    ty->dims = (struct cg_expr **)dims.items;
    ty->ndims = dims.n;
    return advance(p);
}

/* pattern := STRING | ('*' | NAME) {'.' ('*' | NAME)}  (no spaces inside) */
static enum cg_status parse_pattern(struct parser *p, struct cg_pattern *pat)
{
    pat->loc = p->tok.loc;
    if (p->tok.kind == CG_TK_STRING) {
        pat->text = p->tok.text;
        return advance(p);
    }
    struct cg_buf b = {0};
    int first = 1;
    for (;;) {
        if (!first && p->tok.space_before)
            break;
        if (p->tok.kind == CG_TK_IDENT || p->tok.kind == CG_TK_KEYWORD ||
            is_punct(&p->tok, "*") || (!first && is_punct(&p->tok, ".")) ||
            (!first && p->tok.kind == CG_TK_NUMBER && p->tok.is_int)) {
            cg_buf_printf(&b, "%s", p->tok.text);
            first = 0;
            if (advance(p) != CG_OK) {
                cg_buf_free(&b);
                return p->e->status;
            }
        } else {
            break;
        }
    }
    if (first) {
        cg_buf_free(&b);
        return expected(p, "a parameter pattern (a name such as enc, clf.*, or *)");
    }
    pat->text = cg_arena_strdup(p->arena, cg_buf_str(&b));
    int oom = b.oom;
    cg_buf_free(&b);
    if (!pat->text || oom)
        return cg_error_nomem(p->e);
    size_t n = strlen(pat->text);
    if (pat->text[n - 1] == '.' || strstr(pat->text, ".."))
        return perr(p, pat->loc, "invalid parameter pattern '%s' (names are joined by single "
                    "dots, as in clf.dense0 or clf.*)", pat->text);
    return CG_OK;
}

static enum cg_status parse_statement(struct parser *p, struct cg_stmt **out, int in_def);

static enum cg_status new_stmt(struct parser *p, enum cg_stmt_kind k, struct cg_stmt **out)
{
    struct cg_stmt *s = NEW(p, struct cg_stmt);
    if (!s)
        return cg_error_nomem(p->e);
    s->kind = k;
    s->loc = p->tok.loc;
    *out = s;
    return CG_OK;
}

static enum cg_status one_name(struct parser *p, struct cg_stmt *s, const char *what)
{
    s->names = alloc(p, sizeof *s->names);
    s->name_locs = alloc(p, sizeof *s->name_locs);
    if (!s->names || !s->name_locs)
        return cg_error_nomem(p->e);
    s->nnames = 1;
    return expect_name(p, what, &s->names[0], &s->name_locs[0]);
}

/* def := 'def' NAME '(' [NAME ['=' expr] {',' NAME ['=' expr]}] ')' '{' {stmt} '}'
 * The body's last statement must be `return`. */
static enum cg_status parse_def(struct parser *p, struct cg_stmt *s)
{
    CG_TRY(one_name(p, s, "the def's name"));
    CG_TRY(expect_punct(p, "(", "'(' after the def's name"));
    struct plist names = {0}, locs = {0}, defs = {0};
    while (!is_punct(&p->tok, ")")) {
        struct cg_loc *loc = NEW(p, struct cg_loc);
        const char *name;
        if (!loc)
            return cg_error_nomem(p->e);
        CG_TRY(expect_name(p, "a parameter name", &name, loc));
        for (int i = 0; i < names.n; i++)
            if (!strcmp(names.items[i], name))
                return perr(p, *loc, "duplicate parameter '%s' in def '%s'", name, s->names[0]);
        struct cg_expr *dflt = NULL;
        if (is_punct(&p->tok, "=")) {
            CG_TRY(advance(p));
            CG_TRY(parse_expr(p, &dflt));
        } else if (defs.n && defs.items[defs.n - 1]) {
            return perr(p, *loc, "parameter '%s' without a default follows one with a default",
                        name);
        }
        CG_TRY(plist_push(p, &names, (void *)name));
        CG_TRY(plist_push(p, &locs, loc));
        CG_TRY(plist_push(p, &defs, dflt));
        if (is_punct(&p->tok, ","))
            CG_TRY(advance(p));
        else if (!is_punct(&p->tok, ")"))
            return expected(p, "',' or ')' in the parameter list");
    }
    CG_TRY(advance(p));
    s->nparams = names.n;
    s->params = (const char **)names.items;
    s->param_defaults = (struct cg_expr **)defs.items;
    s->param_locs = alloc(p, (size_t)(names.n ? names.n : 1) * sizeof *s->param_locs);
    if (!s->param_locs)
        return cg_error_nomem(p->e);
    for (int i = 0; i < names.n; i++)
        s->param_locs[i] = *(struct cg_loc *)locs.items[i];
    if (p->tok.kind == CG_TK_NEWLINE)
        return perr(p, p->tok.loc, "expected '{' on the same line as def %s(...)", s->names[0]);
    CG_TRY(expect_punct(p, "{", "'{' to start the def's body"));
    struct plist body = {0};
    int returned = 0;
    for (;;) {
        while (p->tok.kind == CG_TK_NEWLINE)
            CG_TRY(advance(p));
        if (is_punct(&p->tok, "}"))
            break;
        if (p->tok.kind == CG_TK_EOF)
            return perr(p, s->loc, "def '%s' is missing its closing '}'", s->names[0]);
        if (returned)
            return perr(p, p->tok.loc, "statement after return in def '%s' (return must be the "
                        "last statement)", s->names[0]);
        struct cg_stmt *st;
        CG_TRY(parse_statement(p, &st, 1));
        CG_TRY(plist_push(p, &body, st));
        returned = st->kind == CG_ST_RETURN;
    }
    if (!returned)
        return perr(p, p->tok.loc, "def '%s' must end with a return statement", s->names[0]);
    s->body = (struct cg_stmt **)body.items;
    s->nbody = body.n;
    return advance(p);
}

/* The integer after `every` or `offset` (an optional '-' and an integer literal), at *loc. */
static enum cg_status clause_int(struct parser *p, const char *what, long long *v,
                                 struct cg_loc *loc)
{
    *loc = p->tok.loc;
    int neg = is_punct(&p->tok, "-");
    if (neg)
        CG_TRY(advance(p));
    if (p->tok.kind != CG_TK_NUMBER || !p->tok.is_int) {
        char buf[128];
        return perr(p, p->tok.loc, "expected an integer after %s, as in every 2 offset 1, found "
                    "%s", what, cg_tok_describe(&p->tok, buf, sizeof buf));
    }
    *v = neg ? -p->tok.ival : p->tok.ival;
    return advance(p);
}

/* clauses := {over pattern {',' pattern} | with call | every INT [offset INT]}, each at most
 * once, in any order. */
static enum cg_status parse_minimize_clauses(struct parser *p, struct cg_stmt *s)
{
    struct cg_loc seen[3] = {{0}}; /* over, with, every: where each was given */
    s->every = 1;
    s->offset = 0;
    for (;;) {
        struct cg_token t = p->tok;
        int k = is_kw(&t, "over") ? 0 : is_kw(&t, "with") ? 1
              : t.kind == CG_TK_IDENT && !strcmp(t.text, "every") ? 2 : -1;
        if (k < 0 && t.kind == CG_TK_IDENT && !strcmp(t.text, "offset"))
            return perr(p, t.loc, "offset must follow every K, as in every 2 offset 1");
        if (k < 0)
            return CG_OK;
        if (seen[k].line)
            return perr(p, t.loc, "duplicate '%s' clause in minimize (the first is at %d:%d)",
                        t.text, seen[k].line, seen[k].col);
        seen[k] = t.loc;
        CG_TRY(advance(p));
        if (k == 0) {
            struct cg_pattern *pats = NULL;
            int n = 0;
            for (;;) {
                struct cg_pattern *np = alloc(p, (size_t)(n + 1) * sizeof *np);
                if (!np)
                    return cg_error_nomem(p->e);
                if (n)
                    memcpy(np, pats, (size_t)n * sizeof *np);
                pats = np;
                CG_TRY(parse_pattern(p, &pats[n++]));
                if (!is_punct(&p->tok, ","))
                    break;
                CG_TRY(advance(p));
            }
            s->pats = pats;
            s->npats = n;
        } else if (k == 1) {
            if (p->tok.kind != CG_TK_IDENT)
                return expected(p, "an optimizer after with, as in with adam(lr=1e-3)");
            struct cg_loc wloc = p->tok.loc;
            CG_TRY(parse_expr(p, &s->with));
            if (s->with->kind == CG_EX_NAME) {
                s->with->kind = CG_EX_CALL; /* `with sgd` means sgd() */
            } else if (s->with->kind != CG_EX_CALL) {
                return perr(p, wloc,
                            "expected an optimizer call after with, as in with adam(lr=1e-3)");
            }
        } else {
            long long every, offset = 0;
            struct cg_loc kloc, jloc;
            CG_TRY(clause_int(p, "every", &every, &kloc));
            if (every < 1 || every > INT32_MAX)
                return perr(p, kloc, "every %lld: the period must be an integer from 1 to %d "
                            "(the objective runs on steps t with t mod K == offset)", every,
                            INT32_MAX);
            if (p->tok.kind == CG_TK_IDENT && !strcmp(p->tok.text, "offset")) {
                CG_TRY(advance(p));
                CG_TRY(clause_int(p, "offset", &offset, &jloc));
                if (offset < 0 || offset >= every)
                    return perr(p, jloc, "offset %lld is outside [0, %lld): with every %lld the "
                                "objective runs on steps t with t mod %lld == offset", offset,
                                every, every, every);
            }
            s->every = (int)every;
            s->offset = (int)offset;
        }
    }
}

/* stmt := import STRING | input NAME ':' type | param NAME ':' type ['=' expr]
 *       | def ... | return expr {',' expr}
 *       | minimize expr clauses
 *       | output NAME ['=' expr] | metric NAME '=' expr
 *       | NAME {',' NAME} '=' expr */
static enum cg_status parse_statement(struct parser *p, struct cg_stmt **out, int in_def)
{
    struct cg_token t = p->tok;
    struct cg_stmt *s = NULL;
    if (t.kind == CG_TK_KEYWORD) {
        const char *kw = t.text;
        if (in_def && (!strcmp(kw, "import") || !strcmp(kw, "input") || !strcmp(kw, "def") ||
                       !strcmp(kw, "minimize") || !strcmp(kw, "output") ||
                       !strcmp(kw, "metric")))
            return perr(p, t.loc, "'%s' is not allowed inside a def (only assignments, param "
                        "and return)", kw);
        if (!in_def && !strcmp(kw, "return"))
            return perr(p, t.loc, "return outside a def");
        if (!strcmp(kw, "over") || !strcmp(kw, "with"))
            return perr(p, t.loc, "'%s' must follow a minimize statement on the same line", kw);
        if (!strcmp(kw, "import")) {
            CG_TRY(new_stmt(p, CG_ST_IMPORT, &s));
            CG_TRY(advance(p));
            if (p->tok.kind != CG_TK_STRING)
                return expected(p, "a path string after import, as in import \"lib/enc.graph\"");
            s->path = p->tok.text;
            if (!s->path[0])
                return perr(p, p->tok.loc, "empty import path");
            CG_TRY(advance(p));
        } else if (!strcmp(kw, "input") || !strcmp(kw, "param")) {
            int is_input = kw[0] == 'i';
            CG_TRY(new_stmt(p, is_input ? CG_ST_INPUT : CG_ST_PARAM, &s));
            CG_TRY(advance(p));
            CG_TRY(one_name(p, s, is_input ? "the input's name" : "the parameter's name"));
            CG_TRY(expect_punct(p, ":", "':' and a type, as in x : f32[N, 784]"));
            CG_TRY(parse_type(p, &s->type));
            if (is_punct(&p->tok, "=")) {
                if (is_input)
                    return perr(p, p->tok.loc, "an input has no initialiser (it is fed from "
                                "data); did you mean param?");
                CG_TRY(advance(p));
                CG_TRY(parse_expr(p, &s->expr));
            }
        } else if (!strcmp(kw, "def")) {
            CG_TRY(new_stmt(p, CG_ST_DEF, &s));
            CG_TRY(advance(p));
            CG_TRY(parse_def(p, s));
        } else if (!strcmp(kw, "return")) {
            CG_TRY(new_stmt(p, CG_ST_RETURN, &s));
            CG_TRY(advance(p));
            struct plist xs = {0};
            for (;;) {
                struct cg_expr *x;
                CG_TRY(parse_expr(p, &x));
                CG_TRY(plist_push(p, &xs, x));
                if (!is_punct(&p->tok, ","))
                    break;
                CG_TRY(advance(p));
            }
            s->exprs = (struct cg_expr **)xs.items;
            s->nexprs = xs.n;
        } else if (!strcmp(kw, "minimize")) {
            CG_TRY(new_stmt(p, CG_ST_MINIMIZE, &s));
            CG_TRY(advance(p));
            CG_TRY(parse_expr(p, &s->expr));
            CG_TRY(parse_minimize_clauses(p, s));
        } else if (!strcmp(kw, "output")) {
            CG_TRY(new_stmt(p, CG_ST_OUTPUT, &s));
            CG_TRY(advance(p));
            CG_TRY(one_name(p, s, "the output's name"));
            if (is_punct(&p->tok, "=")) {
                CG_TRY(advance(p));
                CG_TRY(parse_expr(p, &s->expr));
            }
        } else if (!strcmp(kw, "metric")) {
            CG_TRY(new_stmt(p, CG_ST_METRIC, &s));
            CG_TRY(advance(p));
            CG_TRY(one_name(p, s, "the metric's name"));
            CG_TRY(expect_punct(p, "=", "'=' and an expression after the metric's name"));
            CG_TRY(parse_expr(p, &s->expr));
        }
    } else if (t.kind == CG_TK_IDENT) {
        struct cg_token *nx;
        CG_TRY(peek(p, &nx));
        if (!is_punct(nx, "=") && !is_punct(nx, ",")) {
            if (is_punct(nx, "(") || nx->kind == CG_TK_NEWLINE || nx->kind == CG_TK_EOF)
                return perr(p, t.loc, "an expression on its own does nothing; assign it "
                            "(name = ...) or use it in minimize/output/metric");
            char buf[128];
            return perr(p, nx->loc, "expected '=' after '%s', found %s", t.text,
                        cg_tok_describe(nx, buf, sizeof buf));
        }
        CG_TRY(new_stmt(p, CG_ST_ASSIGN, &s));
        struct plist names = {0}, locs = {0};
        for (;;) {
            struct cg_loc *loc = NEW(p, struct cg_loc);
            const char *name;
            if (!loc)
                return cg_error_nomem(p->e);
            CG_TRY(expect_name(p, "a name to assign", &name, loc));
            CG_TRY(plist_push(p, &names, (void *)name));
            CG_TRY(plist_push(p, &locs, loc));
            if (!is_punct(&p->tok, ","))
                break;
            CG_TRY(advance(p));
        }
        CG_TRY(expect_punct(p, "=", "'=' in the assignment"));
        s->names = (const char **)names.items;
        s->nnames = names.n;
        s->name_locs = alloc(p, (size_t)names.n * sizeof *s->name_locs);
        if (!s->name_locs)
            return cg_error_nomem(p->e);
        for (int i = 0; i < names.n; i++)
            s->name_locs[i] = *(struct cg_loc *)locs.items[i];
        CG_TRY(parse_expr(p, &s->expr));
    } else {
        char buf[128];
        return perr(p, t.loc, "expected a statement, found %s",
                    cg_tok_describe(&t, buf, sizeof buf));
    }
    *out = s;
    return end_of_statement(p);
}

/* file := {NEWLINE | stmt} EOF */
enum cg_status cg_parse(const char *path, const char *text, size_t len, struct cg_arena *arena,
                        struct cg_ast_file **out, struct cg_error *e)
{
    struct parser p = {0};
    p.arena = arena;
    p.e = e;
    cg_lex_init(&p.lx, path, text, len, arena);
    struct cg_ast_file *f = cg_arena_alloc(arena, sizeof *f);
    if (!f)
        return cg_error_nomem(e);
    f->path = path;
    struct plist stmts = {0};
    CG_TRY(advance(&p));
    for (;;) {
        while (p.tok.kind == CG_TK_NEWLINE)
            CG_TRY(advance(&p));
        if (p.tok.kind == CG_TK_EOF)
            break;
        if (is_punct(&p.tok, "}"))
            return perr(&p, p.tok.loc, "unmatched '}'");
        struct cg_stmt *s;
        CG_TRY(parse_statement(&p, &s, 0));
        CG_TRY(plist_push(&p, &stmts, s));
        if (is_punct(&p.tok, "}"))
            return perr(&p, p.tok.loc, "unmatched '}'");
    }
    f->stmts = (struct cg_stmt **)stmts.items;
    f->nstmts = stmts.n;
    *out = f;
    return CG_OK;
}

/* ---- loading a program with its imports ---- */

static enum cg_status load_file(struct cg_program *prog, const char *path, const char *text,
                                size_t len, const char **stack, int depth, struct cg_error *e);

static char *dir_join(struct cg_arena *a, const char *from, const char *rel)
{
    if (rel[0] == '/')
        return cg_arena_strdup(a, rel);
    const char *slash = strrchr(from, '/');
    size_t dl = slash ? (size_t)(slash - from + 1) : 0;
    size_t rl = strlen(rel);
    char *s = cg_arena_alloc(a, dl + rl + 1);
    if (!s)
        return NULL;
    memcpy(s, from, dl);
    memcpy(s + dl, rel, rl + 1);
    return s;
}

#define CG_MAX_IMPORT_DEPTH 64

static enum cg_status load_imports(struct cg_program *prog, struct cg_ast_file *f,
                                   const char **stack, int depth, struct cg_error *e)
{
    for (int i = 0; i < f->nstmts; i++) {
        struct cg_stmt *s = f->stmts[i];
        if (s->kind != CG_ST_IMPORT)
            continue;
        char *path = dir_join(&prog->arena, f->path, s->path);
        if (!path)
            return cg_error_nomem(e);
        char real[PATH_MAX];
        if (!realpath(path, real))
            return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: cannot import \"%s\": %s: %s",
                                s->loc.file, s->loc.line, s->loc.col, s->path, path,
                                strerror(errno));
        for (int k = 0; k < depth; k++)
            if (!strcmp(stack[k], real)) {
                cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: import cycle: \"%s\" imports "
                             "itself through", s->loc.file, s->loc.line, s->loc.col, s->path);
                for (int j = k; j < depth; j++)
                    cg_error_note(e, "  %s", stack[j]);
                cg_error_note(e, "  %s", real);
                return CG_ERR_INPUT;
            }
        int seen = 0; /* a file imported twice (diamond) is loaded once */
        for (int k = 0; k < prog->nfiles; k++) {
            char r2[PATH_MAX];
            if (realpath(prog->files[k]->path, r2) && !strcmp(r2, real))
                seen = 1;
        }
        if (seen)
            continue;
        if (depth >= CG_MAX_IMPORT_DEPTH)
            return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: imports nested more than %d "
                                "deep", s->loc.file, s->loc.line, s->loc.col, CG_MAX_IMPORT_DEPTH);
        char *text;
        size_t len;
        struct cg_error fe;
        if (cg_read_file(path, CG_MAX_FILE_BYTES, &text, &len, &fe) != CG_OK)
            return cg_error_set(e, fe.status, "%s:%d:%d: error: cannot import \"%s\": %s",
                                s->loc.file, s->loc.line, s->loc.col, s->path, fe.msg);
        enum cg_status st = load_file(prog, path, text, len, stack, depth, e);
        cg_free(text);
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

static enum cg_status load_file(struct cg_program *prog, const char *path, const char *text,
                                size_t len, const char **stack, int depth, struct cg_error *e)
{
    struct cg_ast_file *f;
    if (len > CG_MAX_FILE_BYTES)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: file is larger than %u bytes", path,
                            CG_MAX_FILE_BYTES);
    CG_TRY(cg_parse(path, text, len, &prog->arena, &f, e));
    struct cg_ast_file **files =
        cg_arena_alloc(&prog->arena, (size_t)(prog->nfiles + 1) * sizeof *files);
    if (!files)
        return cg_error_nomem(e);
    if (prog->nfiles)
        memcpy(files, prog->files, (size_t)prog->nfiles * sizeof *files);
    files[prog->nfiles++] = f;
    prog->files = files;
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? cg_arena_strdup(&prog->arena, real) : path;
    if (!key)
        return cg_error_nomem(e);
    stack[depth] = key;
    return load_imports(prog, f, stack, depth + 1, e);
}

enum cg_status cg_program_load_text(struct cg_program *prog, const char *path, const char *text,
                                    size_t len, struct cg_error *e)
{
    const char *stack[CG_MAX_IMPORT_DEPTH + 1];
    const char *p = cg_arena_strdup(&prog->arena, path);
    if (!p)
        return cg_error_nomem(e);
    return load_file(prog, p, text, len, stack, 0, e);
}

enum cg_status cg_program_load(struct cg_program *prog, const char *path, struct cg_error *e)
{
    char *text;
    size_t len;
    CG_TRY(cg_read_file(path, CG_MAX_FILE_BYTES, &text, &len, e));
    enum cg_status st = cg_program_load_text(prog, path, text, len, e);
    cg_free(text);
    return st;
}

void cg_program_free(struct cg_program *prog)
{
    cg_arena_free(&prog->arena);
    prog->files = NULL;
    prog->nfiles = 0;
}
