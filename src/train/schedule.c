/* schedule.c: parsing and evaluating learning-rate schedules (schedule.h). */
#include "train/schedule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNOWN "constant, cosine[(min=F)], step(every=N|epochs=E[, gamma=G]), " \
              "warmup(steps=W[, then=constant|cosine[(min=F)]])"

struct sp {
    const char *text, *p;
    struct cg_error *e;
};

static enum cg_status bad(struct sp *P, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    return cg_error_set(P->e, CG_ERR_INPUT, "error: --lr-schedule %s: %s (accepted: " KNOWN ")",
                        P->text, msg);
}

static void skip(struct sp *P)
{
    while (*P->p == ' ')
        P->p++;
}

/* A word [a-z_]+ into buf (empty when none). */
static void word(struct sp *P, char *buf, size_t n)
{
    size_t k = 0;
    skip(P);
    while ((islower((unsigned char)*P->p) || *P->p == '_') && k + 1 < n)
        buf[k++] = *P->p++;
    buf[k] = 0;
}

static enum cg_status number(struct sp *P, const char *key, double *v)
{
    skip(P);
    char *end;
    errno = 0;
    *v = strtod(P->p, &end);
    if (end == P->p || errno || !isfinite(*v))
        return bad(P, "%s expects a number%s", key, "");
    P->p = end;
    return CG_OK;
}

static enum cg_status integer(struct sp *P, const char *key, int64_t min, int64_t *v)
{
    double d;
    CG_TRY(number(P, key, &d));
    if (d != floor(d) || d < (double)min || d > 1e15) {
        char m[32];
        snprintf(m, sizeof m, "%lld", (long long)min);
        return bad(P, "%s expects an integer >= %s", key, m);
    }
    *v = (int64_t)d;
    return CG_OK;
}

/* name [ '(' key '=' value {',' key '=' value} ')' ]; nested: the value of warmup's then=. */
static enum cg_status parse(struct sp *P, struct cg_lr_schedule *s, int nested)
{
    char name[32], key[32], seen[8][32];
    int nseen = 0, have_every = 0, have_epochs = 0, have_steps = 0;
    word(P, name, sizeof name);
    memset(s, 0, sizeof *s);
    s->gamma = 0.1;
    if (!strcmp(name, "constant"))
        s->kind = CG_LR_CONSTANT;
    else if (!strcmp(name, "cosine"))
        s->kind = CG_LR_COSINE;
    else if (!strcmp(name, "step") && !nested)
        s->kind = CG_LR_STEP;
    else if (!strcmp(name, "warmup") && !nested)
        s->kind = CG_LR_WARMUP;
    else if (nested)
        return bad(P, "then=%s: warmup continues with constant or cosine[(min=F)]",
                   name[0] ? name : P->p, "");
    else
        return bad(P, "unknown schedule '%s'", name[0] ? name : P->p, "");
    skip(P);
    if (*P->p == '(') {
        P->p++;
        skip(P);
        while (*P->p != ')') {
            word(P, key, sizeof key);
            skip(P);
            if (!key[0] || *P->p != '=')
                return bad(P, "%s: expected key=value arguments, at '%s'", name, P->p);
            P->p++;
            for (int i = 0; i < nseen; i++)
                if (!strcmp(seen[i], key))
                    return bad(P, "%s: %s given twice", name, key);
            if (nseen < 8)
                snprintf(seen[nseen++], sizeof seen[0], "%s", key);
            int64_t iv;
            if (s->kind == CG_LR_COSINE && !strcmp(key, "min")) {
                CG_TRY(number(P, "min", &s->min));
                if (s->min < 0 || s->min > 1)
                    return bad(P, "cosine: min is a fraction of lr in [0, 1]%s%s", "", "");
            } else if (s->kind == CG_LR_STEP && !strcmp(key, "every")) {
                CG_TRY(integer(P, "every", 1, &s->every));
                have_every = 1;
            } else if (s->kind == CG_LR_STEP && !strcmp(key, "epochs")) {
                CG_TRY(integer(P, "epochs", 1, &s->epochs));
                have_epochs = 1;
            } else if (s->kind == CG_LR_STEP && !strcmp(key, "gamma")) {
                CG_TRY(number(P, "gamma", &s->gamma));
                if (s->gamma <= 0)
                    return bad(P, "step: gamma must be > 0%s%s", "", "");
            } else if (s->kind == CG_LR_WARMUP && !strcmp(key, "steps")) {
                CG_TRY(integer(P, "steps", 1, &iv));
                s->warmup = iv;
                have_steps = 1;
            } else if (s->kind == CG_LR_WARMUP && !strcmp(key, "then")) {
                struct cg_lr_schedule then;
                CG_TRY(parse(P, &then, 1));
                s->then_cosine = then.kind == CG_LR_COSINE;
                s->min = then.min;
            } else {
                const char *keys = s->kind == CG_LR_COSINE ? "min"
                                 : s->kind == CG_LR_STEP   ? "every, epochs, gamma"
                                 : s->kind == CG_LR_WARMUP ? "steps, then"
                                                           : "none";
                char m[96];
                snprintf(m, sizeof m, "%s (its keys: %s)", name, keys);
                return bad(P, "unknown key '%s' for %s", key, m);
            }
            skip(P);
            if (*P->p == ',') {
                P->p++;
                skip(P);
            } else if (*P->p != ')') {
                return bad(P, "%s: expected ',' or ')' at '%s'", name, P->p);
            }
        }
        P->p++;
    }
    if (s->kind == CG_LR_STEP && have_every == have_epochs)
        return bad(P, "step needs every=N (steps) or epochs=E, one of them%s%s", "", "");
    if (s->kind == CG_LR_WARMUP && !have_steps)
        return bad(P, "warmup needs steps=W%s%s", "", "");
    return CG_OK;
}

/* v in the shortest of %.15g, %.17g that reads back exactly. */
static const char *num(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
    return buf;
}

static void canonical(struct cg_lr_schedule *s)
{
    char cos[64] = "cosine", b[32];
    if (s->min != 0)
        snprintf(cos, sizeof cos, "cosine(min=%s)", num(s->min, b, sizeof b));
    switch (s->kind) {
    case CG_LR_CONSTANT: snprintf(s->text, sizeof s->text, "constant"); break;
    case CG_LR_COSINE: snprintf(s->text, sizeof s->text, "%s", cos); break;
    case CG_LR_STEP:
        snprintf(s->text, sizeof s->text, "step(%s=%lld, gamma=%s)",
                 s->epochs ? "epochs" : "every", (long long)(s->epochs ? s->epochs : s->every),
                 num(s->gamma, b, sizeof b));
        break;
    case CG_LR_WARMUP:
        if (s->then_cosine)
            snprintf(s->text, sizeof s->text, "warmup(steps=%lld, then=%s)", (long long)s->warmup,
                     cos);
        else
            snprintf(s->text, sizeof s->text, "warmup(steps=%lld)", (long long)s->warmup);
        break;
    }
}

enum cg_status cg_lr_schedule_parse(const char *text, struct cg_lr_schedule *s,
                                    struct cg_error *e)
{
    struct sp P = {text, text, e};
    CG_TRY(parse(&P, s, 0));
    skip(&P);
    if (*P.p)
        return bad(&P, "unexpected '%s' after the schedule", P.p, "");
    canonical(s);
    return CG_OK;
}

enum cg_status cg_lr_schedule_resolve(struct cg_lr_schedule *s, uint64_t total,
                                      uint64_t steps_per_epoch, struct cg_error *e)
{
    s->total = total;
    if (s->kind == CG_LR_STEP && s->epochs) {
        if (!steps_per_epoch)
            return cg_error_set(e, CG_ERR_INPUT, "error: --lr-schedule %s: epochs need a data "
                                "set (clgraph train); use step(every=N) with N in steps",
                                s->text);
        s->every = s->epochs * (int64_t)steps_per_epoch;
    }
    return CG_OK;
}

int cg_lr_schedule_uses_total(const struct cg_lr_schedule *s)
{
    return s->kind == CG_LR_COSINE || (s->kind == CG_LR_WARMUP && s->then_cosine);
}

/* CosineAnnealingLR's closed form as a fraction of lr: step t of T. */
static double cosine(double min, uint64_t t, uint64_t T)
{
    if (T == 0 || t >= T)
        return T == 0 ? 1 : min;
    return min + (1 - min) * (1 + cos(3.14159265358979323846 * (double)t / (double)T)) / 2;
}

double cg_lr_schedule_factor(const struct cg_lr_schedule *s, uint64_t t)
{
    switch (s->kind) {
    case CG_LR_CONSTANT: return 1;
    case CG_LR_COSINE: return cosine(s->min, t, s->total);
    case CG_LR_STEP: return pow(s->gamma, (double)(t / (uint64_t)(s->every > 0 ? s->every : 1)));
    case CG_LR_WARMUP: {
        uint64_t w = (uint64_t)s->warmup;
        if (t < w)
            return (double)(t + 1) / (double)w;
        if (!s->then_cosine)
            return 1;
        return cosine(s->min, t - w, s->total > w ? s->total - w : 0);
    }
    }
    return 1;
}

enum cg_status cg_clip_grad_parse(const char *text, double *out, char *canon, size_t n,
                                  struct cg_error *e)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v <= 0 || v > 3e38)
        return cg_error_set(e, CG_ERR_INPUT, "error: --clip-grad %s: expected a positive finite "
                            "maximum norm, as in --clip-grad 1.0", text);
    *out = v;
    if (canon)
        num(v, canon, n);
    return CG_OK;
}
