/* check.c: `clgraph check GRAPH [--bind SYM=N ...] [--json] [--memory]`: parses, expands and
 * shape-checks a graph file and prints what it declares (inputs, parameters with their full
 * names, shapes, initialisers and counts, outputs, metrics, objectives with their parameter sets),
 * as text or JSON. Exit 0 when the graph is valid, 1 with a file:line:col error otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ir/graph.h"
#include "ops/registry.h"
#include "passes/memplan.h"
#include "passes/optim.h"

/* The device memory of one step of the graph: a training step (forward, gradients, updates with
 * the default optimizer where the graph names none) when it has objectives, else a forward
 * pass. Built on a second copy of the graph, since the passes add nodes and state. */
struct mem_report {
    int training;
    struct cg_memplan plan;
    size_t plain; /* floats the plan takes without in-place writes */
};

static double mib(size_t floats) { return (double)floats * 4.0 / (1024.0 * 1024.0); }

/* Formats n with thousands separators ("3,075,971"). */
static const char *grouped(int64_t n, char *buf, size_t len)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)n);
    size_t l = strlen(raw), o = 0;
    for (size_t i = 0; i < l && o + 2 < len; i++) {
        buf[o++] = raw[i];
        size_t left = l - i - 1;
        if (left && left % 3 == 0 && raw[i] != '-')
            buf[o++] = ',';
    }
    buf[o] = 0;
    return buf;
}

static void json_shape(struct cg_buf *o, const struct cg_graph *g, const struct cg_shape *s)
{
    cg_buf_printf(o, "[");
    for (int i = 0; i < s->rank; i++) {
        int64_t v;
        struct cg_dim d = cg_dim_resolve(&g->syms, s->d[i]);
        if (cg_dim_is_const(d, &v)) {
            cg_buf_printf(o, "%s%lld", i ? ", " : "", (long long)v);
        } else {
            char b[128];
            cg_buf_printf(o, "%s", i ? ", " : "");
            cg_buf_json_str(o, cg_dim_str(&g->syms, d, b, sizeof b));
        }
    }
    cg_buf_printf(o, "]");
}

static int64_t total_params(const struct cg_graph *g, const int *sel, size_t n)
{
    int64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += cg_shape_numel(g, &g->params[sel ? (size_t)sel[i] : i].shape);
    return t;
}

static void print_json(const struct cg_graph *g, struct mem_report *mem)
{
    struct cg_buf o = {0};
    char b[256];
    cg_buf_printf(&o, "{\n  \"graph\": ");
    cg_buf_json_str(&o, g->path);
    cg_buf_printf(&o, ",\n  \"symbols\": {");
    for (int i = 0; i < g->syms.n; i++) {
        int64_t v;
        struct cg_dim d = cg_dim_resolve(&g->syms, cg_dim_sym(i + 1));
        cg_buf_printf(&o, "%s", i ? ", " : "");
        cg_buf_json_str(&o, g->syms.names[i]);
        if (cg_dim_is_const(d, &v))
            cg_buf_printf(&o, ": %lld", (long long)v);
        else if (cg_dim_eq(d, cg_dim_sym(i + 1)))
            cg_buf_printf(&o, ": null");
        else {
            cg_buf_printf(&o, ": ");
            cg_buf_json_str(&o, cg_dim_str(&g->syms, d, b, sizeof b));
        }
    }
    cg_buf_printf(&o, "},\n  \"inputs\": [");
    for (size_t i = 0; i < g->ninputs; i++) {
        const struct cg_value *v = &g->values[g->inputs[i].value];
        cg_buf_printf(&o, "%s\n    {\"name\": ", i ? "," : "");
        cg_buf_json_str(&o, g->inputs[i].name);
        cg_buf_printf(&o, ", \"dtype\": \"%s\", \"shape\": ", v->dtype == CG_I32 ? "i32" : "f32");
        json_shape(&o, g, &v->shape);
        cg_buf_printf(&o, "}");
    }
    cg_buf_printf(&o, "\n  ],\n  \"params\": [");
    for (size_t i = 0; i < g->nparams; i++) {
        const struct cg_param *p = &g->params[i];
        cg_buf_printf(&o, "%s\n    {\"name\": ", i ? "," : "");
        cg_buf_json_str(&o, p->name);
        cg_buf_printf(&o, ", \"dtype\": \"f32\", \"shape\": ");
        json_shape(&o, g, &p->shape);
        cg_buf_printf(&o, ", \"init\": ");
        cg_buf_json_str(&o, cg_init_str(&p->init, b, sizeof b));
        cg_buf_printf(&o, ", \"count\": %lld}", (long long)cg_shape_numel(g, &p->shape));
    }
    const struct cg_named *lists[2] = {g->outputs, g->metrics};
    size_t counts[2] = {g->noutputs, g->nmetrics};
    const char *keys[2] = {"outputs", "metrics"};
    for (int k = 0; k < 2; k++) {
        cg_buf_printf(&o, "\n  ],\n  \"%s\": [", keys[k]);
        for (size_t i = 0; i < counts[k]; i++) {
            const struct cg_value *v = &g->values[lists[k][i].value];
            cg_buf_printf(&o, "%s\n    {\"name\": ", i ? "," : "");
            cg_buf_json_str(&o, lists[k][i].name);
            cg_buf_printf(&o, ", \"dtype\": \"%s\", \"shape\": ",
                          v->dtype == CG_I32 ? "i32" : "f32");
            json_shape(&o, g, &v->shape);
            cg_buf_printf(&o, "}");
        }
    }
    cg_buf_printf(&o, "\n  ],\n  \"objectives\": [");
    for (size_t i = 0; i < g->nobjectives; i++) {
        const struct cg_objective *ob = &g->objectives[i];
        cg_buf_printf(&o, "%s\n    {\"expr\": ", i ? "," : "");
        cg_buf_json_str(&o, ob->text);
        cg_buf_printf(&o, ", \"line\": %d, \"over\": [", ob->loc.line);
        for (int k = 0; k < ob->npatterns; k++) {
            cg_buf_printf(&o, "%s", k ? ", " : "");
            cg_buf_json_str(&o, ob->patterns[k]);
        }
        cg_buf_printf(&o, "], \"params\": [");
        for (int k = 0; k < ob->nparams; k++) {
            cg_buf_printf(&o, "%s", k ? ", " : "");
            cg_buf_json_str(&o, g->params[ob->params[k]].name);
        }
        cg_buf_printf(&o, "], \"count\": %lld, \"optimizer\": ",
                      (long long)total_params(g, ob->params, (size_t)ob->nparams));
        if (!ob->optim.name) {
            cg_buf_printf(&o, "null");
        } else {
            cg_buf_printf(&o, "{\"name\": ");
            cg_buf_json_str(&o, ob->optim.name);
            for (int k = 0; k < ob->optim.nargs; k++) {
                cg_buf_printf(&o, ", ");
                cg_buf_json_str(&o, ob->optim.arg_names[k]);
                cg_buf_printf(&o, ": %.9g", ob->optim.arg_values[k]);
            }
            cg_buf_printf(&o, "}");
        }
        cg_buf_printf(&o, ", \"every\": %d, \"offset\": %d}", ob->every, ob->offset);
    }
    cg_buf_printf(&o, "\n  ],\n  \"total_params\": %lld,\n  \"nodes\": %zu",
                  (long long)total_params(g, NULL, g->nparams), g->nnodes);
    if (mem)
        cg_buf_printf(&o, ",\n  \"memory\": {\"step\": \"%s\", \"persistent_bytes\": %zu, "
                      "\"arena_bytes\": %zu, \"peak_live_bytes\": %zu, "
                      "\"unplanned_bytes\": %zu, \"inplace_values\": %zu, "
                      "\"without_inplace_bytes\": %zu}", mem->training ? "training" : "forward",
                      mem->plan.persistent * 4, mem->plan.arena * 4, mem->plan.peak_live * 4,
                      mem->plan.unplanned * 4, mem->plan.inplace, mem->plain * 4);
    cg_buf_printf(&o, "\n}\n");
    if (mem)
        cg_memplan_free(&mem->plan);
    fputs(cg_buf_str(&o), stdout);
    cg_buf_free(&o);
}

static void print_named(const struct cg_graph *g, const char *title, const struct cg_named *l,
                        size_t n)
{
    printf("%s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++) {
        const struct cg_value *v = &g->values[l[i].value];
        char b[256];
        printf("  %-24s %s\n", l[i].name, cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b));
    }
}

static void print_text(const struct cg_graph *g, struct mem_report *mem)
{
    char b[256], c[64], d[64];
    printf("graph %s: ok\n", g->path);
    if (g->syms.n) {
        printf("symbols:");
        for (int i = 0; i < g->syms.n; i++) {
            struct cg_dim r = cg_dim_resolve(&g->syms, cg_dim_sym(i + 1));
            if (cg_dim_eq(r, cg_dim_sym(i + 1)))
                printf(" %s", g->syms.names[i]);
            else
                printf(" %s=%s", g->syms.names[i], cg_dim_str(&g->syms, r, b, sizeof b));
        }
        printf("\n");
    }
    printf("inputs (%zu):\n", g->ninputs);
    for (size_t i = 0; i < g->ninputs; i++) {
        const struct cg_value *v = &g->values[g->inputs[i].value];
        printf("  %-24s %s\n", g->inputs[i].name,
               cg_shape_str(g, &v->shape, v->dtype, 1, b, sizeof b));
    }
    printf("params (%zu tensors, %s values):\n", g->nparams,
           grouped(total_params(g, NULL, g->nparams), c, sizeof c));
    for (size_t i = 0; i < g->nparams; i++) {
        const struct cg_param *p = &g->params[i];
        char init[96];
        printf("  %-24s %-22s %12s  %s\n", p->name,
               cg_shape_str(g, &p->shape, p->dtype, 1, b, sizeof b),
               grouped(cg_shape_numel(g, &p->shape), d, sizeof d),
               cg_init_str(&p->init, init, sizeof init));
    }
    print_named(g, "outputs", g->outputs, g->noutputs);
    print_named(g, "metrics", g->metrics, g->nmetrics);
    printf("objectives (%zu):\n", g->nobjectives);
    for (size_t i = 0; i < g->nobjectives; i++) {
        const struct cg_objective *ob = &g->objectives[i];
        printf("  %zu. minimize %s  (line %d)\n", i + 1, ob->text, ob->loc.line);
        printf("     over %d of %zu params (%s values):", ob->nparams, g->nparams,
               grouped(total_params(g, ob->params, (size_t)ob->nparams), c, sizeof c));
        if (ob->nparams == (int)g->nparams)
            printf(" all");
        else
            for (int k = 0; k < ob->nparams; k++)
                printf("%s %s", k ? "," : "", g->params[ob->params[k]].name);
        printf("\n     optimizer: ");
        if (!ob->optim.name) {
            printf("the run's (--optimizer)\n");
        } else {
            printf("%s(", ob->optim.name);
            for (int k = 0; k < ob->optim.nargs; k++)
                printf("%s%s=%g", k ? ", " : "", ob->optim.arg_names[k], ob->optim.arg_values[k]);
            printf(")\n");
        }
        if (ob->every == 1)
            printf("     runs: every step\n");
        else
            printf("     runs: every %d steps, on the steps t (from 0) with t mod %d == %d\n",
                   ob->every, ob->every, ob->offset);
    }
    printf("total parameters: %s\n", grouped(total_params(g, NULL, g->nparams), c, sizeof c));
    if (mem) {
        printf("memory (one %s step, device buffers before kernel scratch):\n",
               mem->training ? "training" : "forward");
        printf("  persistent  %10.2f MiB  (inputs, parameters, optimizer state, kept values)\n",
               mib(mem->plan.persistent));
        printf("  arena       %10.2f MiB  (activations and gradients, reused by liveness)\n",
               mib(mem->plan.arena));
        printf("  peak live   %10.2f MiB\n", mib(mem->plan.peak_live));
        printf("  in place    %10zu values  (elementwise outputs written over a dying input; "
               "%.2f MiB planned without)\n", mem->plan.inplace,
               mib(mem->plain));
        printf("  no reuse    %10.2f MiB  (every value its own buffer)\n",
               mib(mem->plan.unplanned));
        cg_memplan_free(&mem->plan);
    }
}

static enum cg_status plan_memory(const char *path, const struct cg_binding *binds, int nbinds,
                                  struct mem_report *m, struct cg_error *e)
{
    struct cg_graph *g = NULL;
    struct cg_optim_plan op = {0};
    CG_TRY(cg_graph_load_bound(path, binds, nbinds, &g, e));
    enum cg_status st = CG_OK;
    for (size_t v = 0; v < g->nvalues && st == CG_OK; v++)
        if (cg_shape_numel(g, &g->values[v].shape) < 0) {
            struct cg_buf names = {0};
            for (int i = 0; i < g->syms.n; i++)
                if (cg_shape_numel(g, &(struct cg_shape){1, {cg_dim_sym(i + 1)}}) < 0)
                    cg_buf_printf(&names, "%s%s", names.len ? ", " : "", g->syms.names[i]);
            st = cg_error_set(e, CG_ERR_INPUT, "error: check --memory needs concrete sizes: "
                              "bind %s (e.g. --bind %s=64)", cg_buf_str(&names),
                              names.len ? g->syms.names[0] : "N");
            cg_buf_free(&names);
        }
    m->training = g->nobjectives > 0;
    if (st == CG_OK && m->training)
        st = cg_optim_expand(g, NULL, 0, &op, e);
    struct cg_memplan plain;
    if (st == CG_OK)
        st = cg_memplan_build_opts(g, 0, &plain, e);
    if (st == CG_OK) {
        m->plain = plain.persistent + plain.arena;
        cg_memplan_free(&plain);
        st = cg_memplan_build(g, &m->plan, e);
    }
    cg_optim_plan_free(&op);
    cg_graph_destroy(g);
    return st;
}

/* Parses "--bind N=64" (also "N=64,B=32") into binds[*n] (names point into `spec`, which is
 * modified). */
static enum cg_status parse_bind(char *spec, struct cg_binding *binds, int *n, int max,
                                 struct cg_error *e)
{
    char *save = NULL;
    for (char *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (!eq || eq == tok || !eq[1] || *end)
            return cg_error_set(e, CG_ERR_INPUT, "error: --bind expects SYMBOL=SIZE (e.g. "
                                "--bind N=64), got '%s'", tok);
        if (*n == max)
            return cg_error_set(e, CG_ERR_INPUT, "error: too many --bind values");
        *eq = 0;
        binds[*n].name = tok;
        binds[(*n)++].value = v;
    }
    return CG_OK;
}

int cg_cmd_check(int argc, char **argv)
{
    const char *path = NULL, *binds[64];
    int nbinds = 0, json = 0, memory = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = cg_cli_opt(argc, argv, &i, "--bind", &v);
        if (r < 0)
            return 1;
        if (r > 0) {
            if (nbinds == 64)
                return cg_cli_usage_error("check", "too many --bind options");
            binds[nbinds++] = v;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--memory")) {
            memory = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("check", "unknown option '%s'", argv[i]);
        } else if (path) {
            return cg_cli_usage_error("check", "one graph file at a time ('%s' and '%s')", path,
                                      argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cg_cli_usage_error("check", "missing the GRAPH file");
    struct cg_error e = {0};
    struct cg_graph *g = NULL;
    char specs[64][256];
    struct cg_binding bound[64];
    int nbound = 0;
    for (int i = 0; i < nbinds; i++) {
        snprintf(specs[i], sizeof specs[i], "%s", binds[i]);
        if (parse_bind(specs[i], bound, &nbound, 64, &e) != CG_OK)
            return cg_cli_fail(&e);
    }
    if (cg_graph_load_bound(path, bound, nbound, &g, &e) != CG_OK)
        return cg_cli_fail(&e);
    struct mem_report mem = {0};
    enum cg_status st = memory ? plan_memory(path, bound, nbound, &mem, &e) : CG_OK;
    if (st != CG_OK) {
        cg_graph_destroy(g);
        return cg_cli_fail(&e);
    }
    if (json)
        print_json(g, memory ? &mem : NULL);
    else
        print_text(g, memory ? &mem : NULL);
    cg_graph_destroy(g);
    return 0;
}
