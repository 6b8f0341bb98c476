/* bench.c: `clgraph bench GRAPH [--spec FILE] [--warmup W] [--steps K] [--device D] [--json]
 * [--dump DIR] [--profile]`:
 * times the training step of a graph on the deterministic data of /work/shared/BENCH.md.
 *
 * The graph is compiled for training through the public API (cg_model_compile with train = 1:
 * forward, gradients, the optimizer updates of its `minimize ... with` clause). Its inputs and
 * initial parameters are generated from splitmix64 streams (util/splitmix.h, BENCH.md section 1)
 * as a spec file next to the graph says (GRAPH with .graph replaced by .spec, or --spec):
 *
 *     # comment                       blank lines and #-comments are ignored
 *     input NAME uniform S LO HI      f32 input: Uniform(S, ., LO, HI)
 *     input NAME labels S K           i32 input: floor(K * u(S, i))
 *     input NAME index D              i32 input: floor(i / D), i the flat index (D >= 1)
 *     params fanin                    parameter k (declaration order, from 0) is
 *                                     Uniform(k + 1, ., -b, b), b = 1/sqrt(fan_in): a rank-4
 *                                     weight [O, C, kh, kw] has fan_in C*kh*kw, a rank-2 weight
 *                                     [out, in] has fan_in in, a rank-1 bias takes the fan_in of
 *                                     the parameter declared before it (its layer's weight)
 *     ref STEP NAME=VALUE ...         expected values of named scalars after step STEP (1-based;
 *                                     the first NAME of each line is the loss; the values of
 *                                     BENCH.md section 4)
 *     spread STEP NAME=VALUE ...      PyTorch's own float32 spread of those reference values
 *                                     (bench/torch_spread.py: the largest |value - reference|
 *                                     over PyTorch run other ways); NAMEs of the ref line of STEP
 *     tolerance T                     |value - reference| <= T passes (default 1e-5)
 *     gflop G                         FLOP of one step in GFLOP (BENCH.md), for GFLOP/s
 *
 * Every input of the graph must be described. The run: the checked steps (as many as the
 * highest `ref` step; each reads the loss and its components, named in the ref lines), then
 * --warmup untimed steps, then --steps timed steps. A step is what BENCH.md section 0 defines:
 * cg_model_step enqueues the forward pass, the backward pass and the Adam update (gradients are
 * values written by the backward pass, so there is nothing to clear), then the loss scalar is
 * read to the host with a blocking read, which on the in-order queue also waits for the update:
 * that read is the only host synchronisation of a step. Prints the checked values next to the
 * references with PASS/FAIL (and the spread where the spec gives it), the median and minimum
 * step time and GFLOP/s (--json: one JSON object). A value outside the tolerance whose spread
 * also exceeds the tolerance, and that lies within twice the spread (the spread is the largest
 * deviation seen over a few runs, so one more run may land a little beyond it), is not a FAIL
 * but "rounding-sensitive": PyTorch itself, run another way, does not reproduce it to the
 * tolerance either; farther off is a FAIL. Exit 0 when no check fails,
 * 1 when one fails or on input errors, 2 on device failures. --dump DIR writes the initial parameters (DIR/param.NAME.npy) and the gradients of
 * step 1 (DIR/grad1.NAME.npy), as bench/torch_ref.py --dump does, for tensor comparisons.
 *
 * When bench/clshim.so is preloaded (LD_PRELOAD; see bench/README.md) it defines
 * cg_clshim_mark(label), which this command calls around the timed steps so that the shim
 * reports the OpenCL allocations, program builds, kernel creations and host waits in them. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "clgraph/clgraph.h"
#include "data/npy.h"
#include "exec/exec.h"
#include "runtime/runtime.h"
#include "util/splitmix.h"

#define MAX_INPUTS 32
#define MAX_REFS 8   /* checked steps */
#define MAX_NAMES 8  /* values per ref line */

enum src_kind { SRC_UNIFORM, SRC_LABELS, SRC_INDEX };

struct input_src {
    char name[64];
    enum src_kind kind;
    long long stream, k;
    double lo, hi;
};

struct ref_line {
    int nnames;
    char names[MAX_NAMES][64];
    double values[MAX_NAMES];
    double spread[MAX_NAMES]; /* -1: not given */
};

/* Which verdict a checked value gets (see the header). */
enum verdict { V_PASS, V_FAIL, V_SENSITIVE };

static enum verdict judge(const struct ref_line *r, int k, double value, double tol)
{
    double d = fabs(value - r->values[k]);
    if (d <= tol)
        return V_PASS;
    return r->spread[k] > tol && d <= 2 * r->spread[k] ? V_SENSITIVE : V_FAIL;
}

struct spec {
    struct input_src inputs[MAX_INPUTS];
    int ninputs, params_fanin, nrefs;
    struct ref_line refs[MAX_REFS]; /* refs[t] is step t + 1 (nnames 0 when not given) */
    double tolerance, gflop;
};

/* Parses spec file `path` into *s. Errors name the file and line (CG_ERR_INPUT). */
static enum cg_status spec_read(const char *path, struct spec *s, struct cg_error *e)
{
    char *text;
    size_t len;
    CG_TRY(cg_read_file(path, 1 << 20, &text, &len, e));
    memset(s, 0, sizeof *s);
    s->tolerance = 1e-5;
    for (int t = 0; t < MAX_REFS; t++)
        for (int k = 0; k < MAX_NAMES; k++)
            s->refs[t].spread[k] = -1;
    struct {
        char names[MAX_NAMES][64];
        double values[MAX_NAMES];
        int n, line;
    } spread[MAX_REFS] = {0};
    enum cg_status st = CG_OK;
    int line = 0;
    for (char *p = text, *next; p && *p && st == CG_OK; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next)
            *next++ = 0;
        char *hash = strchr(p, '#');
        if (hash)
            *hash = 0;
        char *w[2 + MAX_NAMES] = {0};
        int nw = 0;
        for (char *tok = strtok(p, " \t\r"); tok; tok = strtok(NULL, " \t\r"))
            if (nw < (int)CG_ARRAY_LEN(w))
                w[nw++] = tok;
            else
                nw++;
        if (nw == 0)
            continue;
        char *end = NULL;
        int ok = 1;
        if (!strcmp(w[0], "input") && nw >= 3) {
            if (s->ninputs == MAX_INPUTS || strlen(w[1]) >= sizeof s->inputs[0].name) {
                ok = 0;
            } else {
                struct input_src *in = &s->inputs[s->ninputs++];
                snprintf(in->name, sizeof in->name, "%s", w[1]);
                if (!strcmp(w[2], "uniform") && nw == 6) {
                    in->kind = SRC_UNIFORM;
                    in->stream = strtoll(w[3], &end, 10);
                    ok = !*end && in->stream >= 0;
                    in->lo = strtod(w[4], &end);
                    ok &= !*end;
                    in->hi = strtod(w[5], &end);
                    ok &= !*end && in->lo <= in->hi;
                } else if (!strcmp(w[2], "labels") && nw == 5) {
                    in->kind = SRC_LABELS;
                    in->stream = strtoll(w[3], &end, 10);
                    ok = !*end && in->stream >= 0;
                    in->k = strtoll(w[4], &end, 10);
                    ok &= !*end && in->k >= 1 && in->k <= INT32_MAX;
                } else if (!strcmp(w[2], "index") && nw == 4) {
                    in->kind = SRC_INDEX;
                    in->k = strtoll(w[3], &end, 10);
                    ok = !*end && in->k >= 1;
                } else {
                    ok = 0;
                }
            }
        } else if (!strcmp(w[0], "params") && nw == 2 && !strcmp(w[1], "fanin")) {
            s->params_fanin = 1;
        } else if (!strcmp(w[0], "ref") && nw >= 3 && nw <= 2 + MAX_NAMES) {
            long long t = strtoll(w[1], &end, 10);
            ok = !*end && t >= 1 && t <= MAX_REFS;
            struct ref_line *r = ok ? &s->refs[t - 1] : NULL;
            for (int i = 2; ok && i < nw; i++) {
                char *eq = strchr(w[i], '=');
                ok = eq && eq != w[i] && (size_t)(eq - w[i]) < sizeof r->names[0];
                if (ok) {
                    *eq = 0;
                    snprintf(r->names[i - 2], sizeof r->names[0], "%s", w[i]);
                    r->values[i - 2] = strtod(eq + 1, &end);
                    ok = eq[1] && !*end;
                }
            }
            if (ok) {
                r->nnames = nw - 2;
                if (t > s->nrefs)
                    s->nrefs = (int)t;
            }
        } else if (!strcmp(w[0], "spread") && nw >= 3 && nw <= 2 + MAX_NAMES) {
            long long t = strtoll(w[1], &end, 10);
            ok = !*end && t >= 1 && t <= MAX_REFS;
            for (int i = 2; ok && i < nw; i++) {
                char *eq = strchr(w[i], '=');
                ok = eq && eq != w[i] && (size_t)(eq - w[i]) < sizeof spread[0].names[0];
                if (ok) {
                    *eq = 0;
                    snprintf(spread[t - 1].names[i - 2], sizeof spread[0].names[0], "%s", w[i]);
                    spread[t - 1].values[i - 2] = strtod(eq + 1, &end);
                    ok = eq[1] && !*end && spread[t - 1].values[i - 2] >= 0;
                }
            }
            if (ok) {
                spread[t - 1].n = nw - 2;
                spread[t - 1].line = line;
            }
        } else if (!strcmp(w[0], "tolerance") && nw == 2) {
            s->tolerance = strtod(w[1], &end);
            ok = !*end && s->tolerance >= 0;
        } else if (!strcmp(w[0], "gflop") && nw == 2) {
            s->gflop = strtod(w[1], &end);
            ok = !*end && s->gflop >= 0;
        } else {
            ok = 0;
        }
        if (!ok)
            st = cg_error_set(e, CG_ERR_INPUT, "%s:%d: error: cannot read this line (the format "
                              "is in 'clgraph bench --help')", path, line);
    }
    for (int t = 0; t < s->nrefs && st == CG_OK; t++)
        if (s->refs[t].nnames == 0)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: no 'ref %d' line, but a later step "
                              "has one (checked steps are 1, 2, ... without gaps)", path, t + 1);
    for (int t = 0; t < MAX_REFS && st == CG_OK; t++)
        for (int i = 0; i < spread[t].n && st == CG_OK; i++) {
            struct ref_line *r = &s->refs[t];
            int k = 0;
            while (k < r->nnames && strcmp(r->names[k], spread[t].names[i]))
                k++;
            if (k == r->nnames)
                st = cg_error_set(e, CG_ERR_INPUT, "%s:%d: error: spread of '%s' at step %d, "
                                  "but no 'ref %d' line names it", path, spread[t].line,
                                  spread[t].names[i], t + 1, t + 1);
            else
                r->spread[k] = spread[t].values[i];
        }
    cg_free(text);
    return st;
}

/* A parameter as declared: its name (copied) and shape. */
struct param_desc {
    char name[128];
    int rank;
    int64_t dims[8], numel;
};

/* Checks that the spec describes every input of the graph with the right dtype, and no other
 * input (before the slow compilation). */
static enum cg_status spec_match(const struct spec *s, const struct cg_tensor_desc *inputs,
                                 size_t ninputs, const char *spec_path, struct cg_error *e)
{
    for (size_t i = 0; i < ninputs; i++) {
        const struct input_src *src = NULL;
        for (int k = 0; k < s->ninputs; k++)
            if (!strcmp(s->inputs[k].name, inputs[i].name))
                src = &s->inputs[k];
        if (!src)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: the graph's input '%s' (%s) has no "
                                "'input %s ...' line", spec_path, inputs[i].name,
                                inputs[i].shape_text, inputs[i].name);
        if ((src->kind != SRC_UNIFORM) != inputs[i].is_int)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: input '%s' is %s, but its line "
                                "gives %s", spec_path, inputs[i].name, inputs[i].shape_text,
                                src->kind == SRC_UNIFORM ? "floats (uniform)" : "integers");
    }
    for (int k = 0; k < s->ninputs; k++) {
        int found = 0;
        for (size_t i = 0; i < ninputs; i++)
            found |= !strcmp(s->inputs[k].name, inputs[i].name);
        if (!found)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: the graph has no input '%s'",
                                spec_path, s->inputs[k].name);
    }
    return CG_OK;
}

/* Generates the data of every input of g from the spec and every parameter's initial values,
 * and copies them into m. inputs/params describe g before compilation (declaration order);
 * spec_match has accepted the inputs. */
static enum cg_status feed(struct cg_model *m, const struct spec *s,
                           const struct cg_tensor_desc *inputs, size_t ninputs,
                           const struct param_desc *params, size_t nparams, const char *spec_path,
                           struct cg_error *e)
{
    enum cg_status st = CG_OK;
    for (size_t i = 0; i < ninputs && st == CG_OK; i++) {
        const struct input_src *src = NULL;
        for (int k = 0; k < s->ninputs; k++)
            if (!strcmp(s->inputs[k].name, inputs[i].name))
                src = &s->inputs[k];
        if (!src)
            return cg_error_set(e, CG_ERR_INPUT, "error: no data for input '%s'", inputs[i].name);
        size_t n = (size_t)inputs[i].numel;
        void *data = cg_malloc(n ? n * 4 : 4);
        if (!data)
            return cg_error_nomem(e);
        if (src->kind == SRC_UNIFORM)
            cg_bench_uniform((uint64_t)src->stream, n, src->lo, src->hi, data);
        else if (src->kind == SRC_LABELS)
            cg_bench_labels((uint64_t)src->stream, n, (int32_t)src->k, data);
        else
            for (size_t j = 0; j < n; j++)
                ((int32_t *)data)[j] = (int32_t)((long long)j / src->k);
        st = cg_model_set(m, inputs[i].name, data, n * 4, e);
        cg_free(data);
    }
    if (!s->params_fanin || st != CG_OK)
        return st; /* without `params fanin`: the graph's own initialisers (seed 0) */
    int64_t fan_in = 0;
    for (size_t p = 0; p < nparams && st == CG_OK; p++) {
        const struct param_desc *d = &params[p];
        if (d->rank == 4)
            fan_in = d->dims[1] * d->dims[2] * d->dims[3];
        else if (d->rank == 2)
            fan_in = d->dims[1];
        else if (d->rank != 1 || fan_in == 0)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: 'params fanin' cannot give parameter "
                                "'%s' a fan_in: it is neither a conv weight (rank 4), a dense "
                                "weight (rank 2) nor a bias after one", spec_path, d->name);
        float *data = cg_malloc((size_t)d->numel * 4);
        if (!data)
            return cg_error_nomem(e);
        double b = cg_bench_init_bound(fan_in);
        cg_bench_uniform(p + 1, (size_t)d->numel, -b, b, data);
        st = cg_model_set(m, d->name, data, (size_t)d->numel * 4, e);
        cg_free(data);
    }
    return st;
}

/* Writes DIR/PREFIX.NAME.npy for every parameter: its current value, or (grad) its gradient
 * from the last step. */
static enum cg_status dump_params(struct cg_model *m, const struct param_desc *params,
                                  size_t nparams, const char *dir, const char *prefix, int grad,
                                  struct cg_error *e)
{
    enum cg_status st = CG_OK;
    for (size_t p = 0; p < nparams && st == CG_OK; p++) {
        size_t bytes = (size_t)params[p].numel * 4;
        float *data = cg_malloc(bytes);
        if (!data)
            return cg_error_nomem(e);
        st = grad ? cg_model_get_grad(m, params[p].name, data, bytes, e)
                  : cg_model_get(m, params[p].name, data, bytes, e);
        char file[4096];
        snprintf(file, sizeof file, "%s/%s.%s.npy", dir, prefix, params[p].name);
        if (st == CG_OK)
            st = cg_npy_write(file, CG_NPY_F32, params[p].dims, params[p].rank, data, e);
        cg_free(data);
    }
    return st;
}

/* --profile: device time per (op, kernel) and per node, summed over the profiled steps. */
#define PROF_MAX 512
struct prof_row {
    char key[192];
    long long launches;
    double ms;
};
struct prof_table {
    struct prof_row rows[PROF_MAX];
    int n;
};
static struct prof_table prof_kernels, prof_nodes;

static void prof_add(struct prof_table *t, const char *key, double ms)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].key, key)) {
            t->rows[i].launches++;
            t->rows[i].ms += ms;
            return;
        }
    if (t->n == PROF_MAX)
        return;
    struct prof_row *r = &t->rows[t->n++];
    snprintf(r->key, sizeof r->key, "%s", key);
    r->launches = 1;
    r->ms = ms;
}

static void prof_cb(void *ctx, const struct cg_exec_prof *p)
{
    (void)ctx;
    char key[192];
    snprintf(key, sizeof key, "%s / %s", p->op, p->detail);
    prof_add(&prof_kernels, key, p->ms);
    snprintf(key, sizeof key, "%s %s@%d:%d", p->op, p->value, p->line, p->col);
    prof_add(&prof_nodes, key, p->ms);
}

static int cmp_prof(const void *a, const void *b)
{
    double x = ((const struct prof_row *)a)->ms, y = ((const struct prof_row *)b)->ms;
    return (x < y) - (x > y);
}

static void prof_print(struct prof_table *t, const char *what, long long steps, int top)
{
    double total = 0;
    for (int i = 0; i < t->n; i++)
        total += t->rows[i].ms;
    qsort(t->rows, (size_t)t->n, sizeof t->rows[0], cmp_prof);
    printf("\nprofile by %s (device time per step, %lld profiled steps; %.1f ms in all)\n", what,
           steps, total / (double)steps);
    printf("%9s %6s %7s %8s  %s\n", "ms/step", "%", "cum%", "launches", what);
    double cum = 0;
    for (int i = 0; i < t->n && i < top; i++) {
        const struct prof_row *r = &t->rows[i];
        cum += r->ms;
        printf("%9.2f %6.1f %7.1f %8.1f  %s\n", r->ms / (double)steps,
               total > 0 ? 100 * r->ms / total : 0, total > 0 ? 100 * cum / total : 0,
               (double)r->launches / (double)steps, r->key);
    }
    if (t->n > top)
        printf("  (%d more rows)\n", t->n - top);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The spec file next to a graph: "dir/x.graph" -> "dir/x.spec" (else PATH.spec). */
static void default_spec(const char *graph, char *out, size_t n)
{
    size_t len = strlen(graph);
    if (len > 6 && !strcmp(graph + len - 6, ".graph"))
        snprintf(out, n, "%.*s.spec", (int)(len - 6), graph);
    else
        snprintf(out, n, "%s.spec", graph);
}

static int parse_count(const char *opt, const char *v, long long lo, long long *out)
{
    char *end;
    *out = strtoll(v, &end, 10);
    if (*end || !*v || *out < lo)
        return cg_cli_usage_error("bench", "%s expects an integer >= %lld", opt, lo);
    return 0;
}

int cg_cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *spec_path = NULL, *device = NULL, *dump = NULL, *v;
    long long warmup = 5, steps = 20;
    int json = 0, profile = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = cg_cli_opt(argc, argv, &i, "--spec", &spec_path)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--device", &device)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--dump", &dump)) != 0) {
            if (r < 0)
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--warmup", &v)) != 0) {
            if (r < 0 || parse_count("--warmup", v, 0, &warmup))
                return 1;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--steps", &v)) != 0) {
            if (r < 0 || parse_count("--steps", v, 1, &steps))
                return 1;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--profile")) {
            profile = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("bench", "unknown option '%s'", argv[i]);
        } else if (path) {
            return cg_cli_usage_error("bench", "one graph file at a time");
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return cg_cli_usage_error("bench", "missing the GRAPH file");
    char spec_buf[4096];
    if (!spec_path) {
        default_spec(path, spec_buf, sizeof spec_buf);
        spec_path = spec_buf;
    }

    struct cg_error e = {0};
    static struct spec s;
    struct cg_graph *g = NULL;
    struct cg_device *dev = NULL;
    struct cg_model *m = NULL;
    struct cg_tensor_desc *inputs = NULL;
    struct param_desc *params = NULL;
    double *times = NULL, *sorted = NULL;
    double checked[MAX_REFS][MAX_NAMES] = {{0}};
    size_t ninputs = 0, nparams = 0;
    int64_t nvalues = 0;
    int all_pass = 1, nsensitive = 0;
    double t_compile = 0;
    void (*mark)(const char *) = NULL;
    enum cg_status st = spec_read(spec_path, &s, &e);
    if (st == CG_OK)
        st = cg_graph_load(path, &g, &e);
    if (st == CG_OK && cg_graph_count(g, CG_OBJECTIVES) == 0)
        st = cg_error_set(&e, CG_ERR_INPUT, "%s: error: the graph has no minimize statement: "
                          "nothing to train", path);
    if (st == CG_OK) { /* copy the declarations: the model changes g */
        ninputs = cg_graph_count(g, CG_INPUTS);
        nparams = cg_graph_count(g, CG_PARAMS);
        inputs = cg_calloc(ninputs + 1, sizeof *inputs);
        params = cg_calloc(nparams + 1, sizeof *params);
        times = cg_calloc((size_t)steps, sizeof *times);
        sorted = cg_calloc((size_t)steps, sizeof *sorted);
        if (!inputs || !params || !times || !sorted)
            st = cg_error_nomem(&e);
    }
    for (size_t i = 0; i < ninputs && st == CG_OK; i++) {
        cg_graph_describe(g, CG_INPUTS, i, &inputs[i]);
        if (inputs[i].numel < 0)
            st = cg_error_set(&e, CG_ERR_INPUT, "%s: error: input '%s' is %s: a benchmark graph "
                              "declares concrete sizes", path, inputs[i].name,
                              inputs[i].shape_text);
    }
    for (size_t p = 0; p < nparams && st == CG_OK; p++) {
        struct cg_tensor_desc d;
        cg_graph_describe(g, CG_PARAMS, p, &d);
        snprintf(params[p].name, sizeof params[p].name, "%s", d.name);
        params[p].rank = d.rank;
        memcpy(params[p].dims, d.dims, sizeof d.dims);
        params[p].numel = d.numel;
        nvalues += d.numel;
    }
    /* the input names must outlive g's changes: point them at copies */
    static char input_names[MAX_INPUTS][64];
    for (size_t i = 0; i < ninputs && st == CG_OK; i++) {
        if (i >= MAX_INPUTS) {
            st = cg_error_set(&e, CG_ERR_INPUT, "%s: error: more than %d inputs", path,
                              MAX_INPUTS);
            break;
        }
        snprintf(input_names[i], sizeof input_names[i], "%s", inputs[i].name);
        inputs[i].name = input_names[i];
    }
    if (st == CG_OK)
        st = spec_match(&s, inputs, ninputs, spec_path, &e);
    if (st == CG_OK)
        st = cg_device_open(device, profile ? CG_DEVICE_PROFILING : 0, &dev, &e);
    if (st == CG_OK) {
        struct cg_model_options o = {NULL, 0, 1, NULL, 0, 0};
        double t0 = now_ms();
        st = cg_model_compile(g, dev, &o, &m, &e);
        t_compile = now_ms() - t0;
        if (st == CG_OK)
            g = NULL; /* the model owns it */
    }
    if (st == CG_OK)
        st = feed(m, &s, inputs, ninputs, params, nparams, spec_path, &e);
    if (st == CG_OK && dump)
        st = dump_params(m, params, nparams, dump, "param", 0, &e);
    if (st != CG_OK)
        goto done;

    const struct cg_device_info *info = cg_device_info(dev);
    if (!json)
        printf("bench %s on %s (%s): %zu parameter tensors, %lld values; compiled in %.1f s\n",
               path, info->name, info->platform_name, nparams, (long long)nvalues,
               t_compile / 1e3);
    /* checked steps: the loss and its components after each */
    for (int t = 0; t < s.nrefs && st == CG_OK; t++) {
        const struct ref_line *r = &s.refs[t];
        st = cg_model_step(m, &e);
        if (st == CG_OK && dump && t == 0)
            st = dump_params(m, params, nparams, dump, "grad1", 1, &e);
        for (int k = 0; k < r->nnames && st == CG_OK; k++) {
            float val;
            st = cg_model_get(m, r->names[k], &val, sizeof val, &e);
            checked[t][k] = val;
        }
        if (st != CG_OK)
            break;
        if (!json) {
            printf("step %d:", t + 1);
            for (int k = 0; k < r->nnames; k++)
                printf("  %s=%.7f", r->names[k], checked[t][k]);
            printf("\n");
        }
        for (int k = 0; k < r->nnames; k++) {
            double d = checked[t][k] - r->values[k];
            enum verdict v = judge(r, k, checked[t][k], s.tolerance);
            all_pass &= v != V_FAIL;
            nsensitive += v == V_SENSITIVE;
            if (json)
                continue;
            printf("  %s step %d %s: %.7f (reference %.6f, diff %+.1e", v == V_FAIL ? "FAIL"
                   : v == V_PASS ? "PASS" : "rounding-sensitive", t + 1, r->names[k],
                   checked[t][k], r->values[k], d);
            if (r->spread[k] >= 0)
                printf(", spread %.1e", r->spread[k]);
            printf(")\n");
        }
    }
    const char *loss_name = s.nrefs ? s.refs[0].names[0] : "loss";
    float loss = 0;
    for (long long k = 0; k < warmup && st == CG_OK; k++) {
        st = cg_model_step(m, &e);
        if (st == CG_OK)
            st = cg_model_get(m, loss_name, &loss, sizeof loss, &e);
    }
    *(void **)&mark = dlsym(RTLD_DEFAULT, "cg_clshim_mark");
    if (mark)
        mark("before the timed steps");
    for (long long k = 0; k < steps && st == CG_OK; k++) {
        if (profile)
            cg_exec_profile_start();
        double t0 = now_ms();
        st = cg_model_step(m, &e);
        if (st == CG_OK)
            st = cg_model_get(m, loss_name, &loss, sizeof loss, &e);
        times[k] = now_ms() - t0;
        if (profile && st == CG_OK)
            st = cg_exec_profile_collect(prof_cb, NULL, &e);
    }
    if (mark)
        mark("timed steps");
    if (st != CG_OK)
        goto done;

    memcpy(sorted, times, (size_t)steps * sizeof *sorted);
    qsort(sorted, (size_t)steps, sizeof *sorted, cmp_double);
    double median = steps % 2 ? sorted[steps / 2]
                              : 0.5 * (sorted[steps / 2 - 1] + sorted[steps / 2]);
    double gflops = s.gflop > 0 ? s.gflop / (median / 1e3) : 0;
    if (json) {
        struct cg_buf b = {0};
        cg_buf_printf(&b, "{\"graph\": ");
        cg_buf_json_str(&b, path);
        cg_buf_printf(&b, ", \"device\": ");
        cg_buf_json_str(&b, info->name);
        cg_buf_printf(&b, ", \"platform\": ");
        cg_buf_json_str(&b, info->platform_name);
        cg_buf_printf(&b, ", \"params\": %lld, \"compile_s\": %.3f, \"checks\": [",
                      (long long)nvalues, t_compile / 1e3);
        for (int t = 0; t < s.nrefs; t++) {
            const struct ref_line *r = &s.refs[t];
            for (int k = 0; k < r->nnames; k++) {
                cg_buf_printf(&b, "%s{\"step\": %d, \"name\": ", t || k ? ", " : "", t + 1);
                cg_buf_json_str(&b, r->names[k]);
                enum verdict v = judge(r, k, checked[t][k], s.tolerance);
                cg_buf_printf(&b, ", \"value\": %.9g, \"reference\": %.9g, \"pass\": %s, "
                              "\"verdict\": \"%s\"", checked[t][k], r->values[k],
                              v == V_PASS ? "true" : "false", v == V_PASS ? "pass"
                              : v == V_FAIL ? "fail" : "rounding-sensitive");
                if (r->spread[k] >= 0)
                    cg_buf_printf(&b, ", \"spread\": %.3g", r->spread[k]);
                cg_buf_printf(&b, "}");
            }
        }
        cg_buf_printf(&b, "], \"pass\": %s, \"warmup\": %lld, \"timed_steps\": %lld, "
                      "\"median_ms\": %.3f, \"min_ms\": %.3f, \"gflop\": %.4g, \"gflops\": %.3f, "
                      "\"times_ms\": [", all_pass ? "true" : "false", warmup, steps, median,
                      sorted[0], s.gflop, gflops);
        for (long long k = 0; k < steps; k++)
            cg_buf_printf(&b, "%s%.3f", k ? ", " : "", times[k]);
        cg_buf_printf(&b, "]}");
        puts(cg_buf_str(&b));
        cg_buf_free(&b);
    } else {
        printf("timed: %lld steps after %d checked + %lld warm-up: median %.1f ms, min %.1f ms",
               steps, s.nrefs, warmup, median, sorted[0]);
        if (s.gflop > 0)
            printf(", %.2f GFLOP/s (%.3g GFLOP per step, BENCH.md)", gflops, s.gflop);
        printf("\n%s", !s.nrefs  ? "(no reference values in the spec: nothing checked)"
                       : all_pass ? "PASS: reference losses reproduced"
                                  : "FAIL: reference losses differ");
        if (nsensitive)
            printf(" (%d value%s outside the tolerance marked rounding-sensitive: within twice "
                   "the reference's own float32 spread, which exceeds the tolerance too)",
                   nsensitive, nsensitive > 1 ? "s" : "");
        printf("\n");
    }
    if (profile && !json) {
        printf("(--profile: every launch of the timed steps records an OpenCL event; step times "
               "above include that overhead)\n");
        prof_print(&prof_kernels, "op / kernel", steps, 40);
        prof_print(&prof_nodes, "node (op value@line:col)", steps, 25);
    }
done:
    cg_model_destroy(m);
    cg_graph_destroy(g);
    cg_device_close(dev);
    cg_free(inputs);
    cg_free(params);
    cg_free(times);
    cg_free(sorted);
    if (st != CG_OK)
        return cg_cli_fail(&e);
    return all_pass ? 0 : 1;
}
