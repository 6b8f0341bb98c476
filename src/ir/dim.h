/* dim.h: tensor dimensions that may be symbolic.
 *
 * A graph is shape-checked before its symbols (N, B, ...) have values, so a dimension is a small
 * polynomial with integer coefficients over the symbols: 3, N, 2*N, N*K + 1. That covers what the
 * op library produces from symbolic batch sizes (flatten, concat, crops, reshape). Symbols unify:
 * when an op needs two dimensions to be equal and one of them is a free symbol, the symbol is
 * bound to the other (the symbol table remembers it), so `N` and `B` that must agree become one.
 * When the graph is compiled for concrete feeds every symbol gets a value and every dimension is
 * a constant. */
#ifndef CG_DIM_H
#define CG_DIM_H

#include <stddef.h>
#include <stdint.h>

#define CG_DIM_TERMS 4 /* terms of a polynomial */
#define CG_TERM_SYMS 3 /* symbols multiplied in one term */
#define CG_MAX_SYMBOLS 64
#define CG_MAX_RANK 8

/* coef * sym[0] * sym[1] * ... ; symbols are 1-based ids, sorted, 0 = unused slot. */
struct cg_term {
    int64_t coef;
    uint8_t sym[CG_TERM_SYMS];
};

/* Sum of terms, normalised: no zero coefficients, terms sorted, like terms merged. nterms == 0 is
 * the constant 0. */
struct cg_dim {
    int nterms;
    struct cg_term t[CG_DIM_TERMS];
};

/* The symbols of a graph and what unification or binding has made of them. */
struct cg_symtab {
    int n;
    char names[CG_MAX_SYMBOLS][32];
    int bound[CG_MAX_SYMBOLS];           /* 1 when value[] holds what the symbol stands for */
    struct cg_dim value[CG_MAX_SYMBOLS]; /* indexed by id - 1 */
};

struct cg_dim cg_dim_const(int64_t v);
struct cg_dim cg_dim_sym(int id);

/* Arithmetic. Each returns 0, or -1 when the result does not fit the representation (too many
 * terms or symbols, or integer overflow). */
int cg_dim_add(struct cg_dim a, struct cg_dim b, struct cg_dim *out);
int cg_dim_sub(struct cg_dim a, struct cg_dim b, struct cg_dim *out);
int cg_dim_mul(struct cg_dim a, struct cg_dim b, struct cg_dim *out);
/* Exact division a / b where b is a single term; -1 when some term is not divisible. */
int cg_dim_div(struct cg_dim a, struct cg_dim b, struct cg_dim *out);

/* 1 and *v set when d is a constant. */
int cg_dim_is_const(struct cg_dim d, int64_t *v);
/* 1 when d is exactly one symbol (coefficient 1); *id set. */
int cg_dim_is_sym(struct cg_dim d, int *id);
int cg_dim_eq(struct cg_dim a, struct cg_dim b);
int cg_dim_has_sym(struct cg_dim d, int id);

/* Looks up or adds a symbol by name; returns its id (>= 1) or -1 when the table is full. */
int cg_sym_intern(struct cg_symtab *st, const char *name);
/* Returns the id of an existing symbol, or 0. */
int cg_sym_find(const struct cg_symtab *st, const char *name);

/* Replaces every bound symbol of d by its value (repeatedly). */
struct cg_dim cg_dim_resolve(const struct cg_symtab *st, struct cg_dim d);

/* Makes a and b equal if possible: returns 0 when they already are or a free symbol could be
 * bound; -1 when they differ (after resolving). */
int cg_dim_unify(struct cg_symtab *st, struct cg_dim a, struct cg_dim b);

/* Binds a symbol to a concrete value given by the user or by a feed. Returns 0, or -1 when the
 * symbol is already (directly or through unification) bound to a different value; then
 * *have receives the resolved value it stands for. */
int cg_sym_bind(struct cg_symtab *st, int id, int64_t v, struct cg_dim *have);

/* Formats d ("3", "N", "2*N", "N*K+1") into buf (size n); returns buf. */
const char *cg_dim_str(const struct cg_symtab *st, struct cg_dim d, char *buf, size_t n);

#endif
