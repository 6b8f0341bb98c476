/* run.c: `clgraph run GRAPH --feed NAME=FILE.npy ... --fetch NAME=FILE.npy ...
 * [--grad NAME=FILE.npy ...] [--grad-of NAME] [--steps K] [--optimizer OPT]
 * [--lr-schedule S] [--clip-grad X] [--seed S] [--device D]`.
 *
 * Feeds set inputs or parameters (by full name); the symbols of the inputs bind from the fed
 * shapes before the graph is built. Parameters not fed are initialised from their initialisers
 * and the seed. --steps K first runs K training steps on the fed batch (passes/optim.h,
 * exec/step.h: the gradients, then the updates, of the objectives active at each step, with the
 * lr schedule over the K steps and gradient clipping as in `clgraph train`); fetches and --grad then come from one
 * more forward (and backward) pass without update, i.e. the model after K steps. --grad writes
 * the gradient of the target (--grad-of NAME, else the single minimize expression) with respect
 * to an input or a parameter. Fetches and gradients are written as .npy files (atomically). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/npy.h"
#include "exec/exec.h"
#include "exec/step.h"
#include "lang/parse.h"
#include "passes/grad.h"
#include "passes/optim.h"
#include "runtime/runtime.h"
#include "train/schedule.h"

#define MAX_ITEMS 256

struct item {
    const char *name, *path;
    struct cg_npy npy; /* feeds */
    int value;
};

/* Splits "NAME=PATH" (pointing into arg). */
static int split(const char *opt, const char *arg, struct item *it)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "clgraph run: %s expects NAME=FILE.npy, got '%s'\n", opt, arg);
        return -1;
    }
    static char names[3 * MAX_ITEMS][256];
    static int used;
    if (used >= 3 * MAX_ITEMS || (size_t)(eq - arg) >= sizeof names[0]) {
        fprintf(stderr, "clgraph run: %s: name too long or too many items\n", opt);
        return -1;
    }
    memcpy(names[used], arg, (size_t)(eq - arg));
    names[used][eq - arg] = 0;
    it->name = names[used++];
    it->path = eq + 1;
    it->value = -1;
    return 0;
}

/* The declared type of an input as written: "f32[N, 3, 28, 28]". */
static const char *type_text(const struct cg_type_ast *t, char *buf, size_t n)
{
    size_t u = (size_t)snprintf(buf, n, "%s[", t->dtype == CG_I32 ? "i32" : "f32");
    for (int i = 0; i < t->ndims && u < n; i++) {
        const struct cg_expr *d = t->dims[i];
        if (d->kind == CG_EX_NUM)
            u += (size_t)snprintf(buf + u, n - u, "%s%lld", i ? ", " : "", (long long)d->ival);
        else
            u += (size_t)snprintf(buf + u, n - u, "%s%s", i ? ", " : "", d->str);
    }
    if (u < n)
        snprintf(buf + u, n - u, "]");
    return buf;
}

/* Symbol bindings from the fed inputs, read off the input declarations of the main file. */
static enum cg_status bindings_from_feeds(const char *path, struct item *feeds, int nfeeds,
                                          struct cg_binding *binds, int *nbinds,
                                          struct cg_error *e)
{
    struct cg_program prog = {0};
    enum cg_status st = cg_program_load(&prog, path, e);
    for (int f = 0; f < nfeeds && st == CG_OK; f++) {
        const struct cg_ast_file *file = prog.files[0];
        for (int i = 0; i < file->nstmts && st == CG_OK; i++) {
            const struct cg_stmt *s = file->stmts[i];
            if (s->kind != CG_ST_INPUT || strcmp(s->names[0], feeds[f].name))
                continue;
            const struct cg_npy *a = &feeds[f].npy;
            int want_int = s->type.dtype == CG_I32;
            char decl[256];
            type_text(&s->type, decl, sizeof decl);
            if ((a->dtype == CG_NPY_I32) != want_int || a->dtype == CG_NPY_U8) {
                st = cg_error_set(e, CG_ERR_INPUT, "%s: error: dtype %s, but input '%s' is "
                                  "declared %s (%s:%d)", feeds[f].path,
                                  cg_npy_dtype_descr(a->dtype), s->names[0],
                                  want_int ? "i32 (<i4)" : "f32 (<f4)", s->loc.file, s->loc.line);
                break;
            }
            if (a->rank != s->type.ndims) {
                st = cg_error_set(e, CG_ERR_INPUT, "%s: error: %d dims, but input '%s' is "
                                  "declared %s (%s:%d)", feeds[f].path, a->rank, s->names[0],
                                  decl, s->loc.file, s->loc.line);
                break;
            }
            for (int d = 0; d < a->rank && st == CG_OK; d++) {
                const struct cg_expr *x = s->type.dims[d];
                if (x->kind == CG_EX_NUM && x->ival != a->shape[d]) {
                    st = cg_error_set(e, CG_ERR_INPUT, "%s: error: dim %d is %lld, but input "
                                      "'%s' is declared %s (%s:%d)", feeds[f].path, d,
                                      (long long)a->shape[d], s->names[0], decl, s->loc.file,
                                      s->loc.line);
                } else if (x->kind == CG_EX_NAME) {
                    int k;
                    for (k = 0; k < *nbinds; k++)
                        if (!strcmp(binds[k].name, x->str))
                            break;
                    if (k < *nbinds && binds[k].value != a->shape[d]) {
                        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: dim %d is %lld, but "
                                          "symbol %s is already %lld from another feed",
                                          feeds[f].path, d, (long long)a->shape[d], x->str,
                                          (long long)binds[k].value);
                    } else if (k == *nbinds && *nbinds < 64) {
                        static char symnames[64][40];
                        snprintf(symnames[k], sizeof symnames[k], "%s", x->str);
                        binds[k].name = symnames[k];
                        binds[k].value = a->shape[d];
                        (*nbinds)++;
                    }
                }
            }
        }
    }
    cg_program_free(&prog);
    return st;
}

static int64_t numel_of(const struct cg_graph *g, int v)
{
    return cg_shape_numel(g, &g->values[v].shape);
}

static enum cg_status write_value(struct cg_exec *x, const struct cg_graph *g, int v,
                                  const char *path, struct cg_error *e)
{
    const struct cg_value *val = &g->values[v];
    int64_t n = numel_of(g, v), shape[CG_MAX_RANK];
    for (int i = 0; i < val->shape.rank; i++)
        cg_dim_is_const(val->shape.d[i], &shape[i]);
    void *h = cg_calloc((size_t)(n ? n : 1), 4);
    if (!h)
        return cg_error_nomem(e);
    enum cg_status st = x ? cg_exec_read(x, v, h, (size_t)n * 4, e) : CG_OK;
    if (st == CG_OK)
        st = cg_npy_write(path, val->dtype == CG_I32 ? CG_NPY_I32 : CG_NPY_F32, shape,
                          val->shape.rank, h, e);
    cg_free(h);
    return st;
}

/* Appends name to the comma-separated list b unless it is there already. */
static void add_name(struct cg_buf *b, const char *name)
{
    const char *s = cg_buf_str(b);
    size_t n = strlen(name);
    for (const char *p = s; (p = strstr(p, name)) != NULL; p += n)
        if ((p == s || p[-1] == ' ') && (p[n] == ',' || p[n] == 0))
            return;
    cg_buf_printf(b, "%s%s", b->len ? ", " : "", name);
}

static void list_names(const struct cg_graph *g, struct cg_error *e)
{
    struct cg_buf b = {0};
    for (size_t i = 0; i < g->ninputs; i++)
        add_name(&b, g->inputs[i].name);
    for (size_t i = 0; i < g->noutputs; i++)
        add_name(&b, g->outputs[i].name);
    for (size_t i = 0; i < g->nmetrics; i++)
        add_name(&b, g->metrics[i].name);
    for (size_t i = 0; i < g->nvars; i++)
        add_name(&b, g->vars[i].name);
    cg_error_note(e, "note: named values: %s; parameters by full name (clgraph check lists them)",
                  cg_buf_str(&b));
    cg_buf_free(&b);
}

int cg_cmd_run(int argc, char **argv)
{
    static struct item feeds[MAX_ITEMS], fetches[MAX_ITEMS], grads[MAX_ITEMS];
    int nfeeds = 0, nfetches = 0, ngrads = 0;
    const char *path = NULL, *grad_of = NULL, *device = NULL, *optimizer = NULL, *v;
    const char *schedule = NULL, *clip = NULL;
    long long seed = 0, steps = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = cg_cli_opt(argc, argv, &i, "--feed", &v)) != 0) {
            if (r < 0 || nfeeds == MAX_ITEMS || split("--feed", v, &feeds[nfeeds++]))
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--fetch", &v)) != 0) {
            if (r < 0 || nfetches == MAX_ITEMS || split("--fetch", v, &fetches[nfetches++]))
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--grad", &v)) != 0) {
            if (r < 0 || ngrads == MAX_ITEMS || split("--grad", v, &grads[ngrads++]))
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--grad-of", &grad_of)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--device", &device)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--optimizer", &optimizer)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--lr-schedule", &schedule)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--clip-grad", &clip)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--seed", &v)) != 0) {
            char *end;
            if (r < 0)
                return 1;
            seed = strtoll(v, &end, 10);
            if (*end || seed < 0)
                return cg_cli_usage_error("run", "--seed expects a non-negative integer");
        } else if ((r = cg_cli_opt(argc, argv, &i, "--steps", &v)) != 0) {
            char *end;
            if (r < 0)
                return 1;
            steps = strtoll(v, &end, 10);
            if (*end || steps < 0)
                return cg_cli_usage_error("run", "--steps expects a non-negative integer");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("run", "unknown option '%s'", argv[i]);
        } else if (path) {
            return cg_cli_usage_error("run", "one graph file at a time");
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cg_cli_usage_error("run", "missing the GRAPH file");
    if ((schedule || clip) && steps == 0)
        return cg_cli_usage_error("run", "%s shapes training steps: give --steps K too",
                                  schedule ? "--lr-schedule" : "--clip-grad");
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    struct cg_device *dev = NULL;
    struct cg_exec *x = NULL;
    struct cg_binding binds[64];
    int nbinds = 0;
    enum cg_status st = CG_OK;
    int *wrt = NULL, *gvals = NULL;
    struct cg_optim dflt, *dfltp = NULL;
    struct cg_optim_plan plan = {0};
    size_t fwd_end = 0, grad_end = 0;
    struct cg_lr_schedule sched;
    double clip_grad = 0;
    if (optimizer) {
        st = cg_optim_parse(optimizer, &dflt, &e);
        dfltp = &dflt;
    }
    if (st == CG_OK)
        st = cg_lr_schedule_parse(schedule ? schedule : "constant", &sched, &e);
    if (st == CG_OK) /* the run is the K steps, without epochs */
        st = cg_lr_schedule_resolve(&sched, (uint64_t)steps, 0, &e);
    if (st == CG_OK && clip)
        st = cg_clip_grad_parse(clip, &clip_grad, NULL, 0, &e);
    for (int f = 0; f < nfeeds && st == CG_OK; f++)
        for (int k = 0; k < f && st == CG_OK; k++)
            if (!strcmp(feeds[f].name, feeds[k].name))
                st = cg_error_set(&e, CG_ERR_INPUT, "error: '%s' is fed twice (%s and %s)",
                                  feeds[f].name, feeds[k].path, feeds[f].path);
    for (int f = 0; f < nfeeds && st == CG_OK; f++)
        st = cg_npy_read(feeds[f].path, &feeds[f].npy, &e);
    if (st == CG_OK)
        st = bindings_from_feeds(path, feeds, nfeeds, binds, &nbinds, &e);
    if (st != CG_OK)
        goto done;
    if (st == CG_OK)
        st = cg_graph_load_bound(path, binds, nbinds, &g, &e);
    if (st != CG_OK)
        goto done;
    for (size_t i = 0; i < g->ninputs && st == CG_OK; i++) {
        int fed = 0;
        for (int f = 0; f < nfeeds; f++)
            fed |= !strcmp(feeds[f].name, g->inputs[i].name);
        if (!fed)
            st = cg_error_set(&e, CG_ERR_INPUT, "error: input '%s' is not fed (--feed %s=FILE.npy)",
                              g->inputs[i].name, g->inputs[i].name);
    }
    for (int f = 0; f < nfeeds && st == CG_OK; f++) { /* feeds: inputs or parameters */
        int val = cg_graph_find_value(g, feeds[f].name);
        const struct cg_value *vv = val >= 0 ? &g->values[val] : NULL;
        if (!vv || (vv->kind != CG_V_INPUT && vv->kind != CG_V_PARAM)) {
            st = cg_error_set(&e, CG_ERR_INPUT, "error: --feed %s: the graph has no input or "
                              "parameter of that name", feeds[f].name);
            list_names(g, &e);
            break;
        }
        int64_t n = numel_of(g, val);
        int same = feeds[f].npy.rank == vv->shape.rank && (size_t)n == feeds[f].npy.count;
        for (int d = 0; same && d < vv->shape.rank; d++) {
            int64_t dv;
            same = cg_dim_is_const(vv->shape.d[d], &dv) && dv == feeds[f].npy.shape[d];
        }
        int want_int = vv->dtype == CG_I32;
        if (!same || (feeds[f].npy.dtype == CG_NPY_I32) != want_int ||
            feeds[f].npy.dtype == CG_NPY_U8) {
            char b[256];
            st = cg_error_set(&e, CG_ERR_INPUT, "%s: error: the array (%s, %d dims) does not "
                              "fit '%s', which is %s", feeds[f].path,
                              cg_npy_dtype_descr(feeds[f].npy.dtype), feeds[f].npy.rank,
                              feeds[f].name, cg_shape_str(g, &vv->shape, vv->dtype, 1, b,
                                                          sizeof b));
        }
        feeds[f].value = val;
    }
    if (st == CG_OK && steps > 0 && g->nobjectives == 0)
        st = cg_error_set(&e, CG_ERR_INPUT, "error: --steps needs a minimize statement in the "
                          "graph");
    fwd_end = g->nnodes;
    if (st == CG_OK && ngrads) {
        int target = -1;
        if (grad_of) {
            target = cg_graph_find_value(g, grad_of);
            if (target < 0) {
                st = cg_error_set(&e, CG_ERR_INPUT, "error: --grad-of %s: no value of that name",
                                  grad_of);
                list_names(g, &e);
            }
        } else if (g->nobjectives == 1) {
            target = g->objectives[0].value;
        } else {
            st = cg_error_set(&e, CG_ERR_INPUT, "error: --grad needs --grad-of NAME: the graph "
                              "has %zu minimize statements", g->nobjectives);
        }
        wrt = cg_calloc((size_t)ngrads, sizeof *wrt);
        gvals = cg_calloc((size_t)ngrads, sizeof *gvals);
        if (st == CG_OK && (!wrt || !gvals))
            st = cg_error_nomem(&e);
        for (int k = 0; k < ngrads && st == CG_OK; k++) {
            wrt[k] = cg_graph_find_value(g, grads[k].name);
            if (wrt[k] < 0 || g->values[wrt[k]].kind == CG_V_NODE) {
                st = cg_error_set(&e, CG_ERR_INPUT, "error: --grad %s: not an input or a "
                                  "parameter of the graph", grads[k].name);
                list_names(g, &e);
            } else if (g->values[wrt[k]].dtype != CG_F32) {
                st = cg_error_set(&e, CG_ERR_INPUT, "error: --grad %s: an i32 input has no "
                                  "gradient", grads[k].name);
            }
        }
        if (st == CG_OK && (g->values[target].shape.rank != 0 ||
                            g->values[target].dtype != CG_F32)) {
            char b[256];
            st = cg_error_set(&e, CG_ERR_INPUT, "error: the gradient target '%s' must be an f32 "
                              "scalar, it is %s", grad_of ? grad_of : "(minimize)",
                              cg_shape_str(g, &g->values[target].shape, g->values[target].dtype,
                                           1, b, sizeof b));
        }
        if (st == CG_OK)
            st = cg_autodiff(g, target, wrt, ngrads, gvals, &e);
    }
    grad_end = g->nnodes;
    if (st == CG_OK && steps > 0)
        st = cg_optim_expand(g, dfltp, clip_grad, &plan, &e);
    /* after the optimizer pass: its state ("w:exp_avg") can be fetched too */
    for (int f = 0; f < nfetches && st == CG_OK; f++) {
        fetches[f].value = cg_graph_find_value(g, fetches[f].name);
        if (fetches[f].value < 0) {
            st = cg_error_set(&e, CG_ERR_INPUT, "error: --fetch %s: no value of that name",
                              fetches[f].name);
            list_names(g, &e);
        }
    }
    if (st == CG_OK)
        st = cg_device_open(device, 0, &dev, &e);
    if (st == CG_OK)
        st = cg_exec_create(g, dev, &x, &e);
    if (st == CG_OK)
        st = cg_exec_init_params(x, (uint64_t)seed, &e);
    for (int f = 0; f < nfeeds && st == CG_OK; f++)
        st = cg_exec_write(x, feeds[f].value, feeds[f].npy.data, feeds[f].npy.nbytes, &e);
    /* a step: the forward nodes, then the optimizer's (the --grad nodes lie between) */
    for (long long k = 0; k < steps && st == CG_OK; k++) {
        cg_exec_set_lr_scale(x, cg_lr_schedule_factor(&sched, (uint64_t)k));
        st = cg_exec_run_nodes(x, (uint64_t)seed, (uint64_t)k, 0, fwd_end, &e);
        if (st == CG_OK)
            st = cg_exec_train_step(x, &plan, (uint64_t)seed, (uint64_t)k, &e);
    }
    if (st == CG_OK)
        st = cg_exec_run_nodes(x, (uint64_t)seed, (uint64_t)steps, 0, grad_end, &e);
    for (int f = 0; f < nfetches && st == CG_OK; f++)
        st = write_value(x, g, fetches[f].value, fetches[f].path, &e);
    for (int k = 0; k < ngrads && st == CG_OK; k++) {
        if (gvals[k] >= 0)
            st = write_value(x, g, gvals[k], grads[k].path, &e);
        else /* the target does not depend on it: zeros */
            st = write_value(NULL, g, wrt[k], grads[k].path, &e);
    }
done:
    cg_exec_destroy(x);
    cg_device_close(dev);
    cg_graph_destroy(g);
    cg_free(wrt);
    cg_free(gvals);
    cg_optim_plan_free(&plan);
    for (int f = 0; f < nfeeds; f++)
        cg_npy_free(&feeds[f].npy);
    return st == CG_OK ? 0 : cg_cli_fail(&e);
}
