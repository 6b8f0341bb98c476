/* ast.h: the syntax tree of a .graph file, produced by the parser (parse.c) and consumed by the
 * graph builder (ir/build.c). All nodes and strings of one file live in one cg_arena, freed at
 * once. Locations are 1-based line and column (columns count bytes). */
#ifndef CG_AST_H
#define CG_AST_H

#include <stdarg.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/util.h"

struct cg_loc {
    const char *file; /* the path as given (owned by the source set) */
    int line, col;
};

/* Sets e to CG_ERR_INPUT with "file:line:col: error: " followed by the formatted message, and
 * returns CG_ERR_INPUT (lang/diag.c). */
enum cg_status cg_error_at(struct cg_error *e, struct cg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum cg_status cg_error_vat(struct cg_error *e, struct cg_loc loc, const char *fmt, va_list ap);

enum cg_expr_kind {
    CG_EX_NUM,  /* number literal: num (and ival when is_int) */
    CG_EX_STR,  /* string literal: str */
    CG_EX_NAME, /* identifier: str */
    CG_EX_LIST, /* [a, b, ...]: items */
    CG_EX_CALL, /* f(args): str = callee, args */
    CG_EX_BIN,  /* lhs op rhs, op one of + - * / */
    CG_EX_NEG,  /* -lhs */
};

struct cg_expr;

/* One argument of a call: positional when kw is NULL. */
struct cg_arg {
    const char *kw;
    struct cg_loc kw_loc;
    struct cg_expr *value;
};

struct cg_expr {
    enum cg_expr_kind kind;
    struct cg_loc loc;
    double num;
    int64_t ival;
    int is_int;
    const char *str;
    char op;
    struct cg_expr *lhs, *rhs;
    struct cg_expr **items;
    int nitems;
    struct cg_arg *args;
    int nargs;
    int height; /* 1 for a leaf, else 1 + the largest height of the operands (bounded by the
                   parser, so that recursive walks of the tree stay shallow) */
};

enum cg_dtype { CG_F32 = 0, CG_I32 = 1 };

/* A declared type: f32[d0, ...] where each dim is an integer literal or a symbol name. */
struct cg_type_ast {
    enum cg_dtype dtype;
    int ndims;
    struct cg_expr **dims; /* CG_EX_NUM or CG_EX_NAME */
    struct cg_loc loc;
};

enum cg_stmt_kind {
    CG_ST_IMPORT,
    CG_ST_INPUT,
    CG_ST_PARAM,
    CG_ST_ASSIGN,
    CG_ST_DEF,
    CG_ST_RETURN,
    CG_ST_MINIMIZE,
    CG_ST_OUTPUT,
    CG_ST_METRIC,
};

/* A parameter pattern of `minimize ... over PAT`: text like "enc", "clf.*" or "*". */
struct cg_pattern {
    const char *text;
    struct cg_loc loc;
};

struct cg_stmt {
    enum cg_stmt_kind kind;
    struct cg_loc loc;
    /* Names: the declared name (input, param, def, output, metric) or the assignment targets. */
    const char **names;
    struct cg_loc *name_locs;
    int nnames;
    struct cg_type_ast type; /* input, param */
    struct cg_expr *expr;    /* assign, param initialiser (a call, or NULL), minimize, output
                                (NULL when absent), metric */
    struct cg_expr **exprs;  /* return: the returned expressions */
    int nexprs;
    /* def: its parameters (names with optional default expressions) and body. */
    const char **params;
    struct cg_loc *param_locs;
    struct cg_expr **param_defaults; /* NULL entries for parameters without default */
    int nparams;
    struct cg_stmt **body;
    int nbody;
    struct cg_pattern *pats; /* minimize over */
    int npats;
    struct cg_expr *with; /* minimize with OPT(...): a call, or NULL */
    int every, offset;    /* minimize every K offset J: runs on steps t with t mod K == J
                             (1 and 0 without the clause) */
    const char *path;     /* import */
};

/* One parsed file. */
struct cg_ast_file {
    const char *path;
    struct cg_stmt **stmts;
    int nstmts;
};

#endif
