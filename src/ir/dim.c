/* dim.c: symbolic dimensions (see dim.h). */
#include "ir/dim.h"

#include <stdio.h>
#include <string.h>

struct cg_dim cg_dim_const(int64_t v)
{
    struct cg_dim d = {0};
    if (v) {
        d.nterms = 1;
        d.t[0].coef = v;
    }
    return d;
}

struct cg_dim cg_dim_sym(int id)
{
    struct cg_dim d = {0};
    d.nterms = 1;
    d.t[0].coef = 1;
    d.t[0].sym[0] = (uint8_t)id;
    return d;
}

static int term_cmp_syms(const struct cg_term *a, const struct cg_term *b)
{
    return memcmp(a->sym, b->sym, CG_TERM_SYMS);
}

/* Adds term t into the accumulator (terms kept sorted by symbols). */
static int acc_add(struct cg_term *acc, int *n, struct cg_term t)
{
    if (t.coef == 0)
        return 0;
    for (int i = 0; i < *n; i++) {
        int c = term_cmp_syms(&acc[i], &t);
        if (c == 0) {
            if (__builtin_add_overflow(acc[i].coef, t.coef, &acc[i].coef))
                return -1;
            if (acc[i].coef == 0) {
                memmove(&acc[i], &acc[i + 1], (size_t)(*n - i - 1) * sizeof *acc);
                (*n)--;
            }
            return 0;
        }
        if (c > 0) {
            if (*n >= 2 * CG_DIM_TERMS * CG_DIM_TERMS)
                return -1;
            memmove(&acc[i + 1], &acc[i], (size_t)(*n - i) * sizeof *acc);
            acc[i] = t;
            (*n)++;
            return 0;
        }
    }
    if (*n >= 2 * CG_DIM_TERMS * CG_DIM_TERMS)
        return -1;
    acc[(*n)++] = t;
    return 0;
}

static int acc_finish(const struct cg_term *acc, int n, struct cg_dim *out)
{
    if (n > CG_DIM_TERMS)
        return -1;
    struct cg_dim d = {0};
    d.nterms = n;
    memcpy(d.t, acc, (size_t)n * sizeof *acc);
    *out = d;
    return 0;
}

int cg_dim_add(struct cg_dim a, struct cg_dim b, struct cg_dim *out)
{
    struct cg_term acc[2 * CG_DIM_TERMS * CG_DIM_TERMS];
    int n = 0;
    for (int i = 0; i < a.nterms; i++)
        if (acc_add(acc, &n, a.t[i]))
            return -1;
    for (int i = 0; i < b.nterms; i++)
        if (acc_add(acc, &n, b.t[i]))
            return -1;
    return acc_finish(acc, n, out);
}

int cg_dim_sub(struct cg_dim a, struct cg_dim b, struct cg_dim *out)
{
    for (int i = 0; i < b.nterms; i++)
        b.t[i].coef = -b.t[i].coef;
    return cg_dim_add(a, b, out);
}

static int term_mul(struct cg_term a, struct cg_term b, struct cg_term *out)
{
    struct cg_term t = {0};
    if (__builtin_mul_overflow(a.coef, b.coef, &t.coef))
        return -1;
    uint8_t s[2 * CG_TERM_SYMS];
    int n = 0;
    for (int i = 0; i < CG_TERM_SYMS; i++) {
        if (a.sym[i])
            s[n++] = a.sym[i];
        if (b.sym[i])
            s[n++] = b.sym[i];
    }
    if (n > CG_TERM_SYMS)
        return -1;
    for (int i = 1; i < n; i++) /* insertion sort */
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            uint8_t x = s[j];
            s[j] = s[j - 1];
            s[j - 1] = x;
        }
    memcpy(t.sym, s, (size_t)n);
    *out = t;
    return 0;
}

int cg_dim_mul(struct cg_dim a, struct cg_dim b, struct cg_dim *out)
{
    struct cg_term acc[2 * CG_DIM_TERMS * CG_DIM_TERMS];
    int n = 0;
    for (int i = 0; i < a.nterms; i++)
        for (int j = 0; j < b.nterms; j++) {
            struct cg_term t;
            if (term_mul(a.t[i], b.t[j], &t) || acc_add(acc, &n, t))
                return -1;
        }
    return acc_finish(acc, n, out);
}

/* Divides term a by term b: b's symbols must all occur in a and b's coefficient divide a's. */
static int term_div(struct cg_term a, struct cg_term b, struct cg_term *out)
{
    if (b.coef == 0 || a.coef % b.coef)
        return -1;
    struct cg_term t = {0};
    t.coef = a.coef / b.coef;
    uint8_t s[CG_TERM_SYMS];
    memcpy(s, a.sym, CG_TERM_SYMS);
    for (int i = 0; i < CG_TERM_SYMS; i++) {
        if (!b.sym[i])
            continue;
        int found = 0;
        for (int j = 0; j < CG_TERM_SYMS && !found; j++)
            if (s[j] == b.sym[i]) {
                s[j] = 0;
                found = 1;
            }
        if (!found)
            return -1;
    }
    int n = 0;
    for (int j = 0; j < CG_TERM_SYMS; j++)
        if (s[j])
            t.sym[n++] = s[j];
    *out = t;
    return 0;
}

int cg_dim_div(struct cg_dim a, struct cg_dim b, struct cg_dim *out)
{
    if (b.nterms != 1)
        return -1;
    struct cg_term acc[2 * CG_DIM_TERMS * CG_DIM_TERMS];
    int n = 0;
    for (int i = 0; i < a.nterms; i++) {
        struct cg_term t;
        if (term_div(a.t[i], b.t[0], &t) || acc_add(acc, &n, t))
            return -1;
    }
    return acc_finish(acc, n, out);
}

int cg_dim_is_const(struct cg_dim d, int64_t *v)
{
    if (d.nterms == 0) {
        *v = 0;
        return 1;
    }
    if (d.nterms == 1 && d.t[0].sym[0] == 0) {
        *v = d.t[0].coef;
        return 1;
    }
    return 0;
}

int cg_dim_is_sym(struct cg_dim d, int *id)
{
    if (d.nterms == 1 && d.t[0].coef == 1 && d.t[0].sym[0] && !d.t[0].sym[1]) {
        *id = d.t[0].sym[0];
        return 1;
    }
    return 0;
}

int cg_dim_eq(struct cg_dim a, struct cg_dim b)
{
    if (a.nterms != b.nterms)
        return 0;
    for (int i = 0; i < a.nterms; i++)
        if (a.t[i].coef != b.t[i].coef || term_cmp_syms(&a.t[i], &b.t[i]))
            return 0;
    return 1;
}

int cg_dim_has_sym(struct cg_dim d, int id)
{
    for (int i = 0; i < d.nterms; i++)
        for (int j = 0; j < CG_TERM_SYMS; j++)
            if (d.t[i].sym[j] == id)
                return 1;
    return 0;
}

int cg_sym_find(const struct cg_symtab *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->names[i], name))
            return i + 1;
    return 0;
}

int cg_sym_intern(struct cg_symtab *st, const char *name)
{
    int id = cg_sym_find(st, name);
    if (id)
        return id;
    if (st->n >= CG_MAX_SYMBOLS || strlen(name) >= sizeof st->names[0])
        return -1;
    snprintf(st->names[st->n], sizeof st->names[0], "%s", name);
    st->bound[st->n] = 0;
    st->n++;
    return st->n;
}

/* Substitutes symbol id by value v in d; -1 when the result does not fit. */
static int subst(struct cg_dim d, int id, struct cg_dim v, struct cg_dim *out)
{
    struct cg_dim acc = {0};
    for (int i = 0; i < d.nterms; i++) {
        struct cg_dim term = {0};
        term.nterms = 1;
        term.t[0].coef = d.t[i].coef;
        int k = 0;
        int uses = 0;
        for (int j = 0; j < CG_TERM_SYMS; j++) {
            if (!d.t[i].sym[j])
                continue;
            if (d.t[i].sym[j] == id)
                uses++;
            else
                term.t[0].sym[k++] = d.t[i].sym[j];
        }
        for (int u = 0; u < uses; u++)
            if (cg_dim_mul(term, v, &term))
                return -1;
        if (cg_dim_add(acc, term, &acc))
            return -1;
    }
    *out = acc;
    return 0;
}

struct cg_dim cg_dim_resolve(const struct cg_symtab *st, struct cg_dim d)
{
    for (int guard = 0; guard < CG_MAX_SYMBOLS + 1; guard++) {
        int changed = 0;
        for (int i = 0; i < d.nterms && !changed; i++)
            for (int j = 0; j < CG_TERM_SYMS && !changed; j++) {
                int id = d.t[i].sym[j];
                if (id && st->bound[id - 1]) {
                    struct cg_dim r;
                    if (subst(d, id, st->value[id - 1], &r) == 0) {
                        d = r;
                        changed = 1;
                    }
                }
            }
        if (!changed)
            break;
    }
    return d;
}

int cg_dim_unify(struct cg_symtab *st, struct cg_dim a, struct cg_dim b)
{
    a = cg_dim_resolve(st, a);
    b = cg_dim_resolve(st, b);
    if (cg_dim_eq(a, b))
        return 0;
    int id, id2;
    /* two free symbols: the one declared later stands for the earlier one (N stays N) */
    if (cg_dim_is_sym(a, &id) && cg_dim_is_sym(b, &id2)) {
        int later = id > id2 ? id : id2;
        st->bound[later - 1] = 1;
        st->value[later - 1] = cg_dim_sym(id > id2 ? id2 : id);
        return 0;
    }
    if (cg_dim_is_sym(a, &id) && !cg_dim_has_sym(b, id)) {
        st->bound[id - 1] = 1;
        st->value[id - 1] = b;
        return 0;
    }
    if (cg_dim_is_sym(b, &id) && !cg_dim_has_sym(a, id)) {
        st->bound[id - 1] = 1;
        st->value[id - 1] = a;
        return 0;
    }
    /* c*S + k = constant: solve for the one free symbol S. */
    int64_t v;
    struct cg_dim poly = a;
    if (cg_dim_is_const(a, &v))
        poly = b;
    else if (!cg_dim_is_const(b, &v))
        return -1;
    int64_t coef = 0, k = 0;
    int sym = 0;
    for (int i = 0; i < poly.nterms; i++) {
        if (!poly.t[i].sym[0])
            k = poly.t[i].coef;
        else if (!poly.t[i].sym[1] && !sym) {
            sym = poly.t[i].sym[0];
            coef = poly.t[i].coef;
        } else
            return -1;
    }
    if (!sym || coef == 0 || (v - k) % coef || (v - k) / coef <= 0)
        return -1;
    st->bound[sym - 1] = 1;
    st->value[sym - 1] = cg_dim_const((v - k) / coef);
    return 0;
}

int cg_sym_bind(struct cg_symtab *st, int id, int64_t v, struct cg_dim *have)
{
    if (cg_dim_unify(st, cg_dim_sym(id), cg_dim_const(v)) == 0)
        return 0;
    if (have)
        *have = cg_dim_resolve(st, cg_dim_sym(id));
    return -1;
}

const char *cg_dim_str(const struct cg_symtab *st, struct cg_dim d, char *buf, size_t n)
{
    if (st)
        d = cg_dim_resolve(st, d);
    size_t used = 0;
    buf[0] = 0;
    if (d.nterms == 0)
        snprintf(buf, n, "0");
    for (int i = 0; i < d.nterms && used < n; i++) {
        const struct cg_term *t = &d.t[i];
        int64_t c = t->coef;
        if (i > 0)
            used += (size_t)snprintf(buf + used, n - used, c < 0 ? "-" : "+");
        else if (c < 0)
            used += (size_t)snprintf(buf + used, n - used, "-");
        if (c < 0)
            c = -c;
        int wrote = 0;
        if (c != 1 || !t->sym[0]) {
            used += (size_t)snprintf(buf + used, n - used, "%lld", (long long)c);
            wrote = 1;
        }
        for (int j = 0; j < CG_TERM_SYMS && t->sym[j] && used < n; j++) {
            const char *name = st && t->sym[j] <= st->n ? st->names[t->sym[j] - 1] : "?";
            used += (size_t)snprintf(buf + used, n - used, "%s%s", wrote ? "*" : "", name);
            wrote = 1;
        }
    }
    return buf;
}
