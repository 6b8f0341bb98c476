/* lexer.h: turns .graph text into tokens (GRAPH_LANGUAGE.md, "Lexical rules").
 *
 * Newlines end statements, except while a `(` or `[` is open: then they are skipped (line
 * continuation). `#` comments run to the end of the line. Hostile input is bounded: identifiers,
 * strings and numbers have length limits, and every unexpected byte is an error with its
 * location. */
#ifndef CG_LEXER_H
#define CG_LEXER_H

#include <stddef.h>

#include "lang/ast.h"

enum cg_tok_kind {
    CG_TK_EOF,
    CG_TK_NEWLINE,
    CG_TK_IDENT,
    CG_TK_NUMBER,
    CG_TK_STRING,
    CG_TK_KEYWORD, /* one of the keywords; text holds it */
    CG_TK_PUNCT,   /* one of ( ) [ ] { } , : = + - * / . ; text holds it */
};

#define CG_MAX_IDENT 256
#define CG_MAX_STRING 4096

struct cg_token {
    enum cg_tok_kind kind;
    struct cg_loc loc;
    const char *text; /* arena copy: identifier, keyword, punctuation, or decoded string */
    size_t len;       /* length of the source text of the token */
    double num;
    long long ival;
    int is_int;
    int space_before; /* whitespace or a line break directly precedes the token */
};

struct cg_lexer {
    const char *path;
    const char *src, *end, *p;
    int line;
    const char *line_start;
    int depth; /* open ( and [ */
    struct cg_arena *arena;
};

/* Prepares a lexer over text[0..len) (which need not be NUL-terminated). */
void cg_lex_init(struct cg_lexer *lx, const char *path, const char *text, size_t len,
                 struct cg_arena *arena);

/* Reads the next token into *t. Returns CG_OK, or an error "path:line:col: error: ..." in e. */
enum cg_status cg_lex_next(struct cg_lexer *lx, struct cg_token *t, struct cg_error *e);

/* Describes a token for messages: "identifier 'x'", "newline", "end of file", "'('". Writes into
 * buf (size n) and returns it. */
const char *cg_tok_describe(const struct cg_token *t, char *buf, size_t n);

/* Is s one of the language's keywords? */
int cg_is_keyword(const char *s);

#endif
