/* views.c: the multiview inputs and the per-input augmentation pipelines of `clgraph train`
 * (contracts in views.h). */
#include "train/views.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "train/binding.h"

void cg_train_aug_default(int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, char *buf,
                          size_t n)
{
    int64_t side = h < w ? h : w, oside = oh < ow ? oh : ow;
    int small = side <= 64;
    char size[64] = "";
    if (oh != h || ow != w)
        snprintf(size, sizeof size, "size=%lldx%lld,", (long long)oh, (long long)ow);
    size_t u = (size_t)snprintf(buf, n, "rrc(%sscale=%s),flip", size, small ? "0.2:1" : "0.08:1");
    if (c == 3 && u < n)
        u += (size_t)snprintf(buf + u, n - u, ",jitter(%s,p=0.8),gray(p=0.2)",
                              small ? "0.4,0.4,0.4,0.1" : "0.8,0.8,0.8,0.2");
    if (!small && u < n) {
        int64_t k = oside / 10; /* SimCLR's int(0.1 * size), made odd */
        if (k % 2 == 0)
            k++;
        if (k / 2 >= oside)
            k = 1;
        snprintf(buf + u, n - u, ",blur(k=%lld,sigma=0.1:2,p=0.5)", (long long)k);
    }
}

/* ---- resolution ---- */

/* One --augment value: an input's (name set) or every image input's. */
struct setting {
    const char *opt; /* the value as given (for messages) */
    char name[64];
    char pipe[CG_TRAIN_MAX_PIPE];
    int none;
    int saved; /* an item of a resumed run's record */
};

/* Copies text without white space into out (n bytes); CG_ERR_INPUT when it does not fit. */
static enum cg_status squeeze(const char *what, const char *text, char *out, size_t n,
                              struct cg_error *e)
{
    size_t u = 0;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (u + 1 >= n)
            return cg_error_set(e, CG_ERR_INPUT, "error: %s: the pipeline is longer than %zu "
                                "characters", what, n - 1);
        out[u++] = *p;
    }
    out[u] = 0;
    return CG_OK;
}

/* Splits "NAME=PIPELINE" (NAME an identifier) from a plain "PIPELINE" into *st. */
static enum cg_status parse_setting(const char *what, const char *v, struct setting *st,
                                    struct cg_error *e)
{
    const char *p = v;
    while (isspace((unsigned char)*p))
        p++;
    const char *name = p;
    if (isalpha((unsigned char)*p) || *p == '_')
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
    size_t nl = (size_t)(p - name);
    while (isspace((unsigned char)*p))
        p++;
    st->name[0] = 0;
    if (nl && *p == '=') {
        if (nl >= sizeof st->name)
            return cg_error_set(e, CG_ERR_INPUT, "error: %s: the input name is too long", what);
        memcpy(st->name, name, nl);
        st->name[nl] = 0;
        v = p + 1;
    }
    CG_TRY(squeeze(what, v, st->pipe, sizeof st->pipe, e));
    if (!st->pipe[0])
        return cg_error_set(e, CG_ERR_INPUT, "error: %s: empty pipeline (give stages such as "
                            "'rrc,flip', or 'none' to disable augmentation)", what);
    st->none = !strcmp(st->pipe, "none");
    return CG_OK;
}

static const char *dt(int is_int) { return is_int ? "i32" : "f32"; }

static void desc_str(char *buf, size_t n, const struct cg_input_desc *d)
{
    size_t u = (size_t)snprintf(buf, n, "%s[", dt(d->is_int));
    for (int k = 0; k < d->rank && u < n; k++)
        u += (size_t)snprintf(buf + u, n - u, "%s%lld", k ? "," : "", (long long)d->dims[k]);
    if (u < n)
        snprintf(buf + u, n - u, "]");
}

/* Whether the graph input d, filled from field f (NULL: unknown), is an image an augmentation
 * can take: f32 [C, H, W] with C = 1 or 3, the field f32 [C, h, w] too. */
static int is_image(const struct cg_input_desc *d, const struct cg_field *f)
{
    if (d->is_int || d->rank != 3 || (d->dims[0] != 1 && d->dims[0] != 3))
        return 0;
    return !f || (f->dtype == CG_NPY_F32 && f->rank == 3 && f->shape[0] == d->dims[0]);
}

/* Prefixes e's message ("error: ...") with "error: WHAT: ". */
static enum cg_status prefix_error(struct cg_error *e, const char *what)
{
    char msg[sizeof e->msg];
    const char *m = e->msg;
    if (!strncmp(m, "error: ", 7))
        m += 7;
    snprintf(msg, sizeof msg, "%s", m);
    return cg_error_set(e, e->status, "error: %s: %s", what, msg);
}

/* Checks pipeline text for input i (field f) and sets A->src[i] and A->eval[i]. */
static enum cg_status check_pipe(struct cg_train_aug *A, int i, const char *what,
                                 const struct cg_input_desc *d, const struct cg_field *f,
                                 const char *text, struct cg_error *e)
{
    char gs[128];
    desc_str(gs, sizeof gs, d);
    if (!is_image(d, f)) {
        if (f && f->rank == 3 && !d->is_int && d->rank == 3)
            return cg_error_set(e, CG_ERR_INPUT, "error: %s: graph input '%s' is %s but its "
                                "field '%s' has other channels or dtype; augmentations need f32 "
                                "images [C, H, W] with C = 1 or 3", what, d->name, gs, f->name);
        return cg_error_set(e, CG_ERR_INPUT, "error: %s: graph input '%s' is %s per example; "
                            "augmentations need f32 images [C, H, W] with C = 1 or 3", what,
                            d->name, gs);
    }
    int64_t c = d->dims[0], h = f ? f->shape[1] : d->dims[1], w = f ? f->shape[2] : d->dims[2];
    int64_t oh, ow;
    struct cg_augment *a;
    enum cg_status st = cg_augment_parse(text, &a, e);
    if (st == CG_OK) {
        st = cg_augment_out_shape(a, c, h, w, &oh, &ow, e);
        cg_augment_destroy(a);
    }
    if (st != CG_OK)
        return st == CG_ERR_INPUT ? prefix_error(e, what) : st;
    if (oh != d->dims[1] || ow != d->dims[2])
        return cg_error_set(e, CG_ERR_INPUT, "error: %s: the pipeline makes %lldx%lld images "
                            "of %s's %lldx%lld ones, but graph input '%s' is %s per example "
                            "(the output size is the last rrc's size=)", what, (long long)oh,
                            (long long)ow, f ? f->name : d->name, (long long)h, (long long)w,
                            d->name, gs);
    A->src[i] = *d;
    if (oh == h && ow == w)
        return CG_OK;
    A->src[i].dims[1] = h;
    A->src[i].dims[2] = w;
    A->resized = 1;
    snprintf(A->eval[i], sizeof A->eval[i], "rrc(size=%lldx%lld,scale=1:1,ratio=%.9g:%.9g)",
             (long long)oh, (long long)ow, (double)w / (double)h, (double)w / (double)h);
    return CG_OK;
}

enum { MAXSET = CG_TRAIN_MAX_INPUTS + 8 };

/* Parses the --augment values opts[0..nopts) into set[*nset..] (room for max), the plain one's
 * index into *global (-1: none): the form, each pipeline's syntax, nothing given twice. */
static enum cg_status collect(const char *const *opts, int nopts, struct setting *set, int max,
                              int *nset, int *global, struct cg_error *e)
{
    char what[CG_TRAIN_MAX_PIPE + 128];
    int first = *nset;
    for (int k = 0; k < nopts; k++) {
        if (*nset == max)
            return cg_error_set(e, CG_ERR_INPUT, "error: --augment: more than %d values",
                                max - first);
        struct setting *st = &set[(*nset)++];
        snprintf(what, sizeof what, "--augment %s", opts[k]);
        st->opt = opts[k];
        CG_TRY(parse_setting(what, opts[k], st, e));
        if (!st->none) {
            struct cg_augment *a;
            if (cg_augment_parse(st->pipe, &a, e) != CG_OK)
                return e->status == CG_ERR_INPUT ? prefix_error(e, what) : e->status;
            cg_augment_destroy(a);
        }
        for (int j = first; j < *nset - 1; j++)
            if (!strcmp(set[j].name, st->name))
                return st->name[0] ? cg_error_set(e, CG_ERR_INPUT, "error: --augment: input "
                                                  "'%s' given twice ('%s' and '%s')", st->name,
                                                  set[j].opt, st->opt)
                                   : cg_error_set(e, CG_ERR_INPUT, "error: --augment given "
                                                  "twice for all image inputs ('%s' and '%s'); "
                                                  "use --augment NAME=PIPELINE for one input",
                                                  set[j].opt, st->opt);
        if (!st->name[0])
            *global = *nset - 1;
    }
    return CG_OK;
}

enum cg_status cg_train_aug_check(const char *const *opts, int nopts, struct cg_error *e)
{
    struct setting *set = cg_calloc(MAXSET, sizeof *set);
    if (!set)
        return cg_error_nomem(e);
    int nset = 0, global = -1;
    enum cg_status st = collect(opts, nopts, set, MAXSET, &nset, &global, e);
    cg_free(set);
    return st;
}

/* The record of A's pipelines ("none" when there is none). */
static void make_record(struct cg_train_aug *A, const struct cg_input_desc *in)
{
    size_t u = 0, n = sizeof A->record;
    A->record[0] = 0;
    for (int i = 0; i < A->n && u < n; i++)
        if (A->pipe[i][0])
            u += (size_t)snprintf(A->record + u, n - u, "%s%s=%s", u ? ";" : "", in[i].name,
                                  A->pipe[i]);
    if (!u)
        snprintf(A->record, n, "none");
}

enum cg_status cg_train_aug_resolve(struct cg_train_aug *A, const char *const *opts, int nopts,
                                    const char *saved, const struct cg_input_desc *in, int n,
                                    const struct cg_split *s,
                                    const struct cg_sampler_config *scfg, struct cg_error *e)
{
    memset(A, 0, sizeof *A);
    if (n > CG_TRAIN_MAX_INPUTS)
        return cg_error_set(e, CG_ERR_INPUT, "error: more than %d graph inputs",
                            CG_TRAIN_MAX_INPUTS);
    A->n = n;
    for (int i = 0; i < n; i++)
        A->src[i] = in[i];
    /* The settings: the options, or the saved record's items (complete: no defaults). */
    struct setting *set = cg_calloc(MAXSET, sizeof *set);
    char *items = NULL;
    if (!set)
        return cg_error_nomem(e);
    int nset = 0, complete = saved && nopts == 0, global = -1;
    enum cg_status st = CG_OK;
    char what[CG_TRAIN_MAX_PIPE + 128];
    if (complete && strcmp(saved, "none")) {
        size_t len = strlen(saved);
        items = cg_malloc(len + 1);
        if (!items)
            st = cg_error_nomem(e);
        else
            memcpy(items, saved, len + 1);
        for (char *it = items ? strtok(items, ";") : NULL; it && st == CG_OK;
             it = strtok(NULL, ";")) {
            if (nset == MAXSET) {
                st = cg_error_set(e, CG_ERR_INPUT, "error: the run's augmentation record has "
                                  "too many items");
                break;
            }
            set[nset].opt = it;
            set[nset].saved = 1;
            st = parse_setting("the run's augmentation record", it, &set[nset], e);
            if (st == CG_OK && !set[nset].name[0])
                st = cg_error_set(e, CG_ERR_INPUT, "error: the run's augmentation record '%s' "
                                  "is not NAME=PIPELINE;...", saved);
            nset++;
        }
    }
    if (st == CG_OK)
        st = collect(opts, nopts, set, MAXSET, &nset, &global, e);
    /* Every named setting names an input, once. */
    for (int k = 0; k < nset && st == CG_OK; k++) {
        if (!set[k].name[0])
            continue;
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (!strcmp(in[i].name, set[k].name))
                found = i;
        if (found < 0) {
            struct cg_buf names = {0};
            for (int i = 0; i < n; i++)
                cg_buf_printf(&names, "%s%s", i ? ", " : "", in[i].name);
            st = cg_error_set(e, CG_ERR_INPUT, "error: %s %s: the graph has no input '%s' "
                              "(its inputs: %s)", set[k].saved ? "the run's augmentation" :
                              "--augment", set[k].opt, set[k].name, cg_buf_str(&names));
            cg_buf_free(&names);
        }
    }
    /* Each input's pipeline. */
    int images = 0;
    for (int i = 0; i < n && st == CG_OK; i++) {
        const struct cg_field *f = cg_sampler_field_of(s, scfg, in[i].name);
        int image = is_image(&in[i], f);
        images += image;
        const struct setting *own = NULL;
        for (int k = 0; k < nset && !own; k++)
            if (!strcmp(set[k].name, in[i].name))
                own = &set[k];
        if (!own && global >= 0 && image)
            own = &set[global];
        const char *text = NULL;
        if (own) {
            snprintf(what, sizeof what, "%s %s", own->saved ? "the run's augmentation" :
                     "--augment", own->opt);
            if (!own->none)
                text = own->pipe;
        } else if (!complete && global < 0 && scfg->kind == CG_SAMPLER_MULTIVIEW && image &&
                   cg_input_view_index(in[i].name) >= 1 && cg_input_view_index(in[i].name) <= scfg->views) {
            int64_t c = in[i].dims[0], h = f ? f->shape[1] : in[i].dims[1],
                    w = f ? f->shape[2] : in[i].dims[2];
            cg_train_aug_default(c, h, w, in[i].dims[1], in[i].dims[2], A->pipe[i],
                                 sizeof A->pipe[i]);
            snprintf(what, sizeof what, "the default augmentation %s of view '%s'", A->pipe[i],
                     in[i].name);
            text = A->pipe[i];
        }
        if (!text)
            continue;
        if (text != A->pipe[i])
            snprintf(A->pipe[i], sizeof A->pipe[i], "%s", text);
        if (f || image) /* an input without a field: the sampler refuses it */
            st = check_pipe(A, i, what, &in[i], f, A->pipe[i], e);
        A->any = 1;
    }
    if (st == CG_OK && global >= 0 && !set[global].none && images == 0)
        st = cg_error_set(e, CG_ERR_INPUT, "error: --augment %s: the graph has no image input "
                          "(f32 [C, H, W] per example, C = 1 or 3) to augment",
                          set[global].opt);
    if (st == CG_OK) {
        make_record(A, in);
        if (saved && !complete && strcmp(A->record, saved))
            st = cg_error_set(e, CG_ERR_INPUT, "error: --resume: --augment gives the "
                              "augmentation '%s', which differs from the run's '%s' (leave "
                              "--augment out to continue the run as it was)", A->record, saved);
    }
    cg_free(items);
    cg_free(set);
    return st;
}

int cg_train_aug_pipes(const struct cg_train_aug *A, int eval, const char **out)
{
    int any = 0;
    for (int i = 0; i < A->n; i++) {
        const char *p = eval ? A->eval[i] : A->pipe[i];
        out[i] = p[0] ? p : NULL;
        any |= out[i] != NULL;
    }
    return any;
}
