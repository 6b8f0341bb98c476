/* optim.c: the optimizer pass (see optim.h): autodiff per objective, gradient clipping nodes,
 * optimizer state as zero-initialised `state` parameters, and one in-place update node per
 * parameter, with each objective's node ranges and schedule in the plan. */
#include "passes/optim.h"

#include <stdio.h>
#include <string.h>

#include "passes/grad.h"

/* The names optimizers and their arguments can have (cg_optim_parse returns these). */
static const char *const known_names[] = {"sgd",          "adam",     "adamw", "lr",
                                          "momentum",     "dampening", "weight_decay",
                                          "nesterov",     "beta1",    "beta2", "eps"};

static double arg(const struct cg_optim *o, const char *name, double dflt)
{
    for (int i = 0; i < o->nargs; i++)
        if (!strcmp(o->arg_names[i], name))
            return o->arg_values[i];
    return dflt;
}

enum cg_status cg_optim_parse(const char *text, struct cg_optim *o, struct cg_error *e)
{
    memset(o, 0, sizeof *o);
    if (strpbrk(text, "\n\r#;"))
        return cg_error_set(e, CG_ERR_INPUT, "error: --optimizer: expected one call such as "
                            "adam(lr=1e-3), got '%s'", text);
    /* reuse the graph builder's parsing, defaults and range checks on a one-line program */
    struct cg_buf src = {0};
    cg_buf_printf(&src, "param p : f32[]\nminimize p with %s\n", text);
    struct cg_graph *g = NULL;
    struct cg_error le = {0};
    enum cg_status st = src.len ? cg_graph_load_text("--optimizer", cg_buf_str(&src), src.len,
                                                     &g, &le)
                                : cg_error_nomem(&le);
    cg_buf_free(&src);
    if (st != CG_OK) {
        const char *m = strstr(le.msg, "error: ");
        return cg_error_set(e, st, "error: --optimizer %s: %s", text, m ? m + 7 : le.msg);
    }
    const struct cg_optim *p = &g->objectives[0].optim;
    if (g->objectives[0].every != 1) {
        cg_graph_destroy(g);
        return cg_error_set(e, CG_ERR_INPUT, "error: --optimizer: expected one call such as "
                            "adam(lr=1e-3), got '%s'", text);
    }
    for (int i = 0; i <= p->nargs && i < 8; i++) {
        const char *want = i == 0 ? p->name : p->arg_names[i - 1];
        const char *found = NULL;
        for (size_t k = 0; k < CG_ARRAY_LEN(known_names); k++)
            if (!strcmp(known_names[k], want))
                found = known_names[k];
        if (!found) {
            st = cg_error_set(e, CG_ERR_INPUT, "error: --optimizer %s: internal error: unknown "
                              "name '%s'", text, want);
            break;
        }
        if (i == 0) {
            o->name = found;
        } else {
            o->arg_names[i - 1] = found;
            o->arg_values[i - 1] = p->arg_values[i - 1];
        }
    }
    o->nargs = p->nargs;
    cg_graph_destroy(g);
    return st;
}

/* Adds a zero-initialised state parameter shaped like parameter p, named "<p>:<what>[:<k>]". */
static enum cg_status add_state(struct cg_graph *g, int p, const char *what, size_t k,
                                int *value, struct cg_error *e)
{
    const struct cg_param *par = &g->params[p];
    char name[512];
    if (k)
        snprintf(name, sizeof name, "%s:%s:%zu", par->name, what, k);
    else
        snprintf(name, sizeof name, "%s:%s", par->name, what);
    struct cg_param s = *par;
    s.name = cg_arena_strdup(&g->arena, name);
    s.init = (struct cg_init){.kind = CG_INIT_ZEROS};
    s.state = 1;
    s.value = (int)g->nvalues;
    struct cg_value v = g->values[par->value];
    v.index = (int)g->nparams;
    v.name = s.name;
    if (!s.name || CG_PUSH(g->values, g->nvalues, g->cap_values, v))
        return cg_error_nomem(e);
    if (CG_PUSH(g->params, g->nparams, g->cap_params, s))
        return cg_error_nomem(e);
    *value = s.value;
    return CG_OK;
}

static struct cg_attr fattr(double f) { return (struct cg_attr){.kind = CG_AT_FLOAT, .f = f}; }
static struct cg_attr iattr(int64_t i) { return (struct cg_attr){.kind = CG_AT_INT, .i = i}; }

/* The update node of parameter p (value pv) with gradient gv under optimizer o. */
static enum cg_status add_update(struct cg_builder *b, struct cg_graph *g, const struct cg_optim *o,
                                 int p, int gv, size_t k, struct cg_loc loc, struct cg_error *e)
{
    int pv = g->params[p].value, out;
    if (!strcmp(o->name, "sgd")) {
        double mom = arg(o, "momentum", 0);
        int buf = -1;
        if (mom != 0)
            CG_TRY(add_state(g, p, "momentum_buffer", k, &buf, e));
        const char *names[] = {"lr", "momentum", "dampening", "weight_decay", "nesterov"};
        struct cg_attr vals[] = {fattr(arg(o, "lr", 0.01)), fattr(mom),
                                 fattr(arg(o, "dampening", 0)), fattr(arg(o, "weight_decay", 0)),
                                 iattr(arg(o, "nesterov", 0) != 0)};
        int in[3] = {pv, gv, buf};
        return cg_build_node(b, CG_OP_sgd_update, in, 3, names, vals, 5, loc, &out);
    }
    int decoupled = !strcmp(o->name, "adamw");
    if (!decoupled && strcmp(o->name, "adam"))
        return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: unknown optimizer '%s' (known: "
                            "sgd, adam, adamw)", loc.file, loc.line, loc.col, o->name);
    int m, v;
    CG_TRY(add_state(g, p, "exp_avg", k, &m, e));
    CG_TRY(add_state(g, p, "exp_avg_sq", k, &v, e));
    const char *names[] = {"lr", "beta1", "beta2", "eps", "weight_decay", "decoupled"};
    struct cg_attr vals[] = {fattr(arg(o, "lr", 0.001)), fattr(arg(o, "beta1", 0.9)),
                             fattr(arg(o, "beta2", 0.999)), fattr(arg(o, "eps", 1e-8)),
                             fattr(arg(o, "weight_decay", decoupled ? 0.01 : 0)),
                             iattr(decoupled)};
    int in[4] = {pv, gv, m, v};
    return cg_build_node(b, CG_OP_adam_update, in, 4, names, vals, 6, loc, &out);
}

int cg_optim_active(const struct cg_optim_range *r, uint64_t step)
{
    return step % r->every == r->offset;
}

uint64_t cg_optim_updates_before(const struct cg_optim_range *r, uint64_t step)
{
    return step > r->offset ? (step - r->offset - 1) / r->every + 1 : 0;
}

/* clip_grad_norm_ over the n gradients grads[] (entries < 0 skipped): replaces each by
 * g * min(1, maxnorm / (sqrt(sum of sum(g^2)) + 1e-6)). */
static enum cg_status add_clip(struct cg_builder *b, int *grads, int n, double maxnorm,
                               struct cg_loc loc)
{
    int total = -1, v;
    for (int i = 0; i < n; i++) {
        if (grads[i] < 0)
            continue;
        CG_TRY(cg_build_node(b, CG_OP_square, &grads[i], 1, NULL, NULL, 0, loc, &v));
        CG_TRY(cg_build_node(b, CG_OP_sum, &v, 1, NULL, NULL, 0, loc, &v));
        if (total >= 0) {
            int in[2] = {total, v};
            CG_TRY(cg_build_node(b, CG_OP_add, in, 2, NULL, NULL, 0, loc, &v));
        }
        total = v;
    }
    if (total < 0)
        return CG_OK; /* the objective reaches no parameter */
    int eps, mx, one, f;
    CG_TRY(cg_build_node(b, CG_OP_sqrt, &total, 1, NULL, NULL, 0, loc, &total));
    CG_TRY(cg_build_const(b, 1e-6, loc, &eps));
    CG_TRY(cg_build_const(b, maxnorm, loc, &mx));
    CG_TRY(cg_build_const(b, 1.0, loc, &one));
    int in[2] = {total, eps};
    CG_TRY(cg_build_node(b, CG_OP_add, in, 2, NULL, NULL, 0, loc, &total));
    in[0] = mx;
    in[1] = total;
    CG_TRY(cg_build_node(b, CG_OP_div, in, 2, NULL, NULL, 0, loc, &f));
    in[0] = f;
    in[1] = one;
    CG_TRY(cg_build_node(b, CG_OP_minimum, in, 2, NULL, NULL, 0, loc, &f));
    for (int i = 0; i < n; i++) {
        if (grads[i] < 0)
            continue;
        in[0] = grads[i];
        in[1] = f;
        CG_TRY(cg_build_node(b, CG_OP_mul, in, 2, NULL, NULL, 0, loc, &grads[i]));
    }
    return CG_OK;
}

enum cg_status cg_optim_expand(struct cg_graph *g, const struct cg_optim *dflt, double clip_grad,
                               struct cg_optim_plan *plan, struct cg_error *e)
{
    static const struct cg_optim adam_default = {"adam", 1, {"lr"}, {0.001}};
    memset(plan, 0, sizeof *plan);
    plan->forward_end = g->nnodes;
    plan->nparams = g->nparams;
    size_t nobj = g->nobjectives;
    int **grads = cg_calloc(nobj ? nobj : 1, sizeof *grads);
    int **wrt = cg_calloc(nobj ? nobj : 1, sizeof *wrt);
    plan->param_grad = cg_malloc((g->nparams ? g->nparams : 1) * sizeof *plan->param_grad);
    plan->obj = cg_calloc(nobj ? nobj : 1, sizeof *plan->obj);
    plan->nobjectives = nobj;
    struct cg_builder *b = NULL;
    enum cg_status st = CG_OK;
    if (!grads || !wrt || !plan->param_grad || !plan->obj) {
        st = cg_error_nomem(e);
        goto done;
    }
    if (!(clip_grad >= 0) || clip_grad > 3e38) {
        st = cg_error_set(e, CG_ERR_INPUT, "error: --clip-grad %g: expected a positive finite "
                          "maximum norm", clip_grad);
        goto done;
    }
    for (size_t p = 0; p < g->nparams; p++)
        plan->param_grad[p] = -1;
    for (size_t k = 0; k < nobj && st == CG_OK; k++) { /* every gradient first */
        const struct cg_objective *o = &g->objectives[k];
        size_t n = (size_t)o->nparams;
        plan->obj[k].every = o->every > 0 ? (uint64_t)o->every : 1;
        plan->obj[k].offset = (uint64_t)o->offset % plan->obj[k].every;
        plan->obj[k].grad_begin = g->nnodes;
        grads[k] = cg_malloc((n ? n : 1) * sizeof **grads);
        wrt[k] = cg_malloc((n ? n : 1) * sizeof **wrt);
        if (!grads[k] || !wrt[k]) {
            st = cg_error_nomem(e);
            break;
        }
        for (size_t i = 0; i < n; i++)
            wrt[k][i] = g->params[o->params[i]].value;
        if (n)
            st = cg_autodiff(g, o->value, wrt[k], (int)n, grads[k], e);
        for (size_t i = 0; i < n && st == CG_OK; i++)
            if (plan->param_grad[o->params[i]] < 0)
                plan->param_grad[o->params[i]] = grads[k][i];
        if (st == CG_OK && n && clip_grad > 0) {
            if (!(b = cg_builder_open(g, e)))
                st = cg_error_nomem(e);
            if (st == CG_OK)
                st = add_clip(b, grads[k], (int)n, clip_grad, o->loc);
            cg_builder_close(b);
            b = NULL;
        }
        plan->obj[k].grad_end = g->nnodes;
    }
    plan->grad_end = g->nnodes;
    if (st == CG_OK && !(b = cg_builder_open(g, e)))
        st = cg_error_nomem(e);
    for (size_t k = 0; k < nobj && st == CG_OK; k++) { /* then the updates, in file order */
        const struct cg_objective *o = &g->objectives[k];
        const struct cg_optim *opt = o->optim.name ? &o->optim : dflt ? dflt : &adam_default;
        plan->obj[k].update_begin = g->nnodes;
        for (int i = 0; i < o->nparams && st == CG_OK; i++)
            if (grads[k][i] >= 0)
                st = add_update(b, g, opt, o->params[i], grads[k][i], k, o->loc, e);
        plan->obj[k].update_end = g->nnodes;
    }
    plan->update_end = g->nnodes;
done:
    cg_builder_close(b);
    for (size_t k = 0; k < nobj && grads && wrt; k++) {
        cg_free(grads[k]);
        cg_free(wrt[k]);
    }
    cg_free(grads);
    cg_free(wrt);
    if (st != CG_OK)
        cg_optim_plan_free(plan);
    return st;
}

void cg_optim_plan_free(struct cg_optim_plan *plan)
{
    cg_free(plan->param_grad);
    cg_free(plan->obj);
    plan->param_grad = NULL;
    plan->obj = NULL;
    plan->nobjectives = 0;
}
