/* exec.c: compiling a bound graph into launches and running them (see exec.h and lower.h). */
#include "exec/exec.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec/lower.h"
#include "passes/memplan.h"
#include "runtime/runtime.h"
#include "util/splitmix.h"


struct launch {
    int is_gemm;
    size_t node; /* the node it belongs to (profiling labels) */
    cl_kernel kernel;
    const char *name;
    int dims;
    size_t gws[3], lws[3];
    int has_lws;
    int rng_arg; /* index of the seed_lo argument, or -1 */
    uint32_t rng_id;
    int rt_arg;  /* index of the first run-time argument (desc.runtime), or -1 */
    int (*runtime)(const double *rt_consts, uint64_t step, double lr_scale,
                   struct cg_karg *out);
    double rt_consts[4];
    struct cg_gemm_desc gemm;
};

/* Scratch arguments are set once the scratch buffer exists (after all nodes are lowered). */
struct pending_scratch {
    size_t launch;
    cl_uint arg;
    int64_t off;
};

struct cg_exec {
    struct cg_graph *g;
    struct cg_device *dev;
    cl_mem pbuf;     /* the parameter region (parameters, optimizer state); may be shared */
    cl_mem buf;      /* every other value */
    cl_mem scratch;  /* shared scratch, NULL when no node needs it */
    size_t *offset;  /* per value, in floats from the plan's start (memplan.h) */
    size_t params;   /* floats in pbuf: values at offsets below it live there */
    size_t total;    /* floats of the plan, parameter region included */
    size_t scratch_floats;
    struct launch *launches;
    size_t nlaunches, cap_launches;
    const struct cg_node *cur; /* node being lowered */
    struct pending_scratch *pend;
    size_t npend, cap_pend;
    size_t *node_launch; /* per node, its first launch; [nnodes] = nlaunches */
    double lr_scale;     /* multiplies the optimizers' lr (cg_exec_set_lr_scale), 1 at first */
};

size_t cg_exec_device_bytes(const struct cg_exec *x)
{
    return (x->total + x->scratch_floats) * sizeof(float);
}

/* The buffer holding value v and v's offset in it, in floats. */
static cl_mem value_mem(const struct cg_exec *x, int v, size_t *off)
{
    if (x->offset[v] < x->params) {
        *off = x->offset[v];
        return x->pbuf;
    }
    *off = x->offset[v] - x->params;
    return x->buf;
}

/* ---- lowering API ---- */

void cg_defines_add(char *buf, size_t n, const char *name, long long value)
{
    size_t used = strlen(buf);
    if (used < n)
        snprintf(buf + used, n - used, " -D%s=%lld", name, value);
}

void cg_defines_addf(char *buf, size_t n, const char *name, double value)
{
    size_t used = strlen(buf);
    if (used >= n)
        return;
    if (isnan(value))
        snprintf(buf + used, n - used, " -D%s=NAN", name);
    else if (isinf(value))
        snprintf(buf + used, n - used, " -D%s=%sINFINITY", name, value < 0 ? "-" : "");
    else
        snprintf(buf + used, n - used, " -D%s=%.9ef", name, value);
}

struct cg_device *cg_lower_device(const struct cg_lower *l) { return l->x->dev; }

int64_t cg_lower_dim(const struct cg_lower *l, int value, int axis)
{
    const struct cg_shape *s = &l->g->values[value].shape;
    int64_t v = 0;
    if (axis < 0)
        axis += s->rank;
    if (axis >= 0 && axis < s->rank)
        cg_dim_is_const(cg_dim_resolve(&l->g->syms, s->d[axis]), &v);
    return v;
}

int64_t cg_lower_numel(const struct cg_lower *l, int value)
{
    return cg_shape_numel(l->g, &l->g->values[value].shape);
}

const struct cg_shape *cg_lower_shape_of(const struct cg_lower *l, int value)
{
    return &l->g->values[value].shape;
}

const struct cg_attr *cg_lower_attr(const struct cg_lower *l, const char *name)
{
    const struct cg_schema *s = &cg_ops()[l->node->op].schema;
    for (int i = 0; i < s->nargs; i++)
        if (!s->args[i].is_tensor && !strcmp(s->args[i].name, name))
            return &l->node->attrs[s->args[i].slot];
    static const struct cg_attr none = {.kind = CG_AT_NONE, .auto_index = -1};
    return &none;
}

enum cg_status cg_lower_fail(struct cg_lower *l, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cg_error_set(l->e, CG_ERR_INPUT, "%s:%d:%d: error: %s: %s", l->node->loc.file,
                        l->node->loc.line, l->node->loc.col, cg_ops()[l->node->op].name, msg);
}

void cg_launch_1d(struct cg_launch_desc *d, const char *source, const char *kernel,
                  const char *defines, int64_t n)
{
    memset(d, 0, sizeof *d);
    d->source = source;
    d->kernel = kernel;
    d->defines = defines;
    d->dims = 1;
    d->lws[0] = CG_LWS;
    d->has_lws = 1;
    d->gws[0] = (size_t)((n + CG_LWS - 1) / CG_LWS * CG_LWS);
    if (d->gws[0] == 0)
        d->gws[0] = CG_LWS;
}

enum cg_status cg_lower_kernel_1d(struct cg_lower *l, const char *source, const char *kernel,
                                  const char *defines, int64_t n, const struct cg_karg *args,
                                  int nargs)
{
    struct cg_launch_desc d;
    cg_launch_1d(&d, source, kernel, defines, n);
    return cg_lower_kernel(l, &d, args, nargs);
}

void cg_lower_attr_pair(const struct cg_lower *l, const char *name, int64_t v[2])
{
    const struct cg_attr *a = cg_lower_attr(l, name);
    if (a->kind == CG_AT_INT) {
        v[0] = v[1] = a->i;
    } else if (a->kind == CG_AT_INTS && a->n >= 1) {
        v[0] = a->ints[0];
        v[1] = a->ints[a->n - 1];
    }
}

enum cg_status cg_lower_scratch(struct cg_lower *l, size_t floats)
{
    if (floats > l->x->scratch_floats)
        l->x->scratch_floats = floats;
    return CG_OK;
}

static enum cg_status push_launch(struct cg_exec *x, struct launch *L, struct cg_error *e)
{
    if (CG_PUSH(x->launches, x->nlaunches, x->cap_launches, *L))
        return cg_error_nomem(e);
    return CG_OK;
}

enum cg_status cg_lower_kernel(struct cg_lower *l, const struct cg_launch_desc *d,
                               const struct cg_karg *args, int nargs)
{
    struct cg_exec *x = l->x;
    cl_program prog;
    CG_TRY(cg_device_program(x->dev, d->source, d->defines, &prog, l->e));
    struct launch L = {0};
    L.node = (size_t)(l->node - l->g->nodes);
    L.rng_arg = -1;
    L.name = d->kernel;
    L.dims = d->dims;
    L.has_lws = d->has_lws;
    for (int i = 0; i < d->dims; i++) {
        L.gws[i] = d->gws[i];
        L.lws[i] = d->lws[i];
    }
    CG_TRY(cg_device_kernel(x->dev, prog, d->kernel, &L.kernel, l->e));
    cl_uint a = 0;
    cl_int err = CL_SUCCESS;
    char call[128];
    snprintf(call, sizeof call, "clSetKernelArg(%s)", d->kernel);
    for (int i = 0; i < nargs && err == CL_SUCCESS; i++) {
        const struct cg_karg *k = &args[i];
        switch (k->kind) {
        case CG_KA_VALUE: {
            size_t at;
            cl_mem mem = value_mem(x, k->value, &at);
            cl_uint off = (cl_uint)(at + (size_t)k->i);
            err = clSetKernelArg(L.kernel, a++, sizeof(cl_mem), &mem);
            if (err == CL_SUCCESS)
                err = clSetKernelArg(L.kernel, a++, sizeof off, &off);
            break;
        }
        case CG_KA_SCRATCH: {
            struct pending_scratch p = {x->nlaunches, a, k->i};
            if (CG_PUSH(x->pend, x->npend, x->cap_pend, p)) {
                clReleaseKernel(L.kernel);
                return cg_error_nomem(l->e);
            }
            a += 2;
            break;
        }
        case CG_KA_INT: {
            cl_int v = (cl_int)k->i;
            err = clSetKernelArg(L.kernel, a++, sizeof v, &v);
            break;
        }
        case CG_KA_FLOAT:
            err = clSetKernelArg(L.kernel, a++, sizeof k->f, &k->f);
            break;
        }
    }
    if (err != CL_SUCCESS) {
        clReleaseKernel(L.kernel);
        return cg_cl_fail(l->e, err, call);
    }
    if (d->random) {
        L.rng_arg = (int)a;
        L.rng_id = l->node->rng_id;
        a += 3;
    }
    L.rt_arg = -1;
    if (d->runtime) {
        L.rt_arg = (int)a;
        L.runtime = d->runtime;
        memcpy(L.rt_consts, d->rt_consts, sizeof L.rt_consts);
    }
    enum cg_status st = push_launch(x, &L, l->e);
    if (st != CG_OK)
        clReleaseKernel(L.kernel);
    return st;
}

enum cg_status cg_lower_emit_gemm(struct cg_lower *l, const struct cg_gemm_desc *d)
{
    struct launch L = {0};
    L.node = (size_t)(l->node - l->g->nodes);
    L.is_gemm = 1;
    L.rng_arg = -1;
    L.rt_arg = -1;
    L.name = "CLBlastSgemm";
    L.gemm = *d;
    size_t at[3] = {0, 0, 0}; /* value offsets; the buffers are chosen in run_gemm */
    if (d->a >= 0)
        value_mem(l->x, d->a, &at[0]);
    if (d->b >= 0)
        value_mem(l->x, d->b, &at[1]);
    if (d->c >= 0)
        value_mem(l->x, d->c, &at[2]);
    L.gemm.a_off += at[0];
    L.gemm.b_off += at[1];
    L.gemm.c_off += at[2];
    if (L.gemm.batch == 0)
        L.gemm.batch = 1;
    return push_launch(l->x, &L, l->e);
}

enum cg_status cg_lower_none(struct cg_lower *l)
{
    return cg_lower_fail(l, "internal error: this op is expanded before execution");
}

enum cg_status cg_lower_alias(struct cg_lower *l)
{
    (void)l; /* the output shares its input's storage: nothing to do */
    return CG_OK;
}

/* ---- compile ---- */

/* Marks in live[k] the nodes whose work is observable: in-place nodes (optimizer updates), nodes
 * whose output is an output, metric, var, objective or kept value, and every node such a node
 * reads from. Gradient rules emit the gradients of every input of a node (a conv's weight
 * gradient also when the weight is a constant, as SSIM's window); the nodes nobody reads are
 * not lowered. */
static enum cg_status live_nodes(const struct cg_graph *g, char **out, struct cg_error *e)
{
    char *used = cg_calloc(g->nvalues ? g->nvalues : 1, 1);
    char *live = cg_calloc(g->nnodes ? g->nnodes : 1, 1);
    if (!used || !live) {
        cg_free(used);
        cg_free(live);
        return cg_error_nomem(e);
    }
    for (size_t v = 0; v < g->nvalues; v++)
        used[v] = g->values[v].kind != CG_V_NODE || g->values[v].keep;
    for (size_t i = 0; i < g->noutputs; i++)
        used[g->outputs[i].value] = 1;
    for (size_t i = 0; i < g->nmetrics; i++)
        used[g->metrics[i].value] = 1;
    for (size_t i = 0; i < g->nvars; i++)
        used[g->vars[i].value] = 1;
    for (size_t i = 0; i < g->nobjectives; i++)
        used[g->objectives[i].value] = 1;
    for (size_t k = g->nnodes; k-- > 0;) {
        const struct cg_node *nd = &g->nodes[k];
        live[k] = used[nd->out] || (cg_ops()[nd->op].flags & CG_OPF_INPLACE);
        if (!live[k])
            continue;
        for (int i = 0; i < nd->ninputs; i++)
            if (nd->inputs[i] >= 0)
                used[nd->inputs[i]] = 1;
    }
    cg_free(used);
    *out = live;
    return CG_OK;
}

enum cg_status cg_exec_create(struct cg_graph *g, struct cg_device *dev, struct cg_exec **out,
                              struct cg_error *e)
{
    return cg_exec_create_shared(g, dev, NULL, out, e);
}

/* Does g's parameter region have the layout of share's (same parameters, same sizes)? */
static int same_params(const struct cg_graph *g, const struct cg_exec *x,
                       const struct cg_exec *share)
{
    if (g->nparams != share->g->nparams || x->params != share->params)
        return 0;
    for (size_t p = 0; p < g->nparams; p++)
        if (x->offset[g->params[p].value] != share->offset[share->g->params[p].value] ||
            cg_shape_numel(g, &g->params[p].shape) !=
                cg_shape_numel(share->g, &share->g->params[p].shape))
            return 0;
    return 1;
}

enum cg_status cg_exec_create_shared(struct cg_graph *g, struct cg_device *dev,
                                     const struct cg_exec *share, struct cg_exec **out,
                                     struct cg_error *e)
{
    *out = NULL;
    struct cg_exec *x = cg_calloc(1, sizeof *x);
    if (!x)
        return cg_error_nomem(e);
    x->g = g;
    x->dev = dev;
    x->lr_scale = 1;
    enum cg_status st = CG_OK;
    x->offset = cg_calloc(g->nvalues ? g->nvalues : 1, sizeof *x->offset);
    x->node_launch = cg_calloc(g->nnodes + 1, sizeof *x->node_launch);
    if (!x->offset || !x->node_launch) {
        st = cg_error_nomem(e);
        goto error;
    }
    /* storage: the liveness plan (passes/memplan.h); first a clear error for symbolic shapes */
    for (size_t v = 0; v < g->nvalues; v++) {
        const struct cg_value *val = &g->values[v];
        int64_t n = cg_shape_numel(g, &val->shape);
        if (n < 0) {
            char b[256];
            st = cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: value %s has a symbolic shape "
                              "%s; bind every symbol before compiling", val->loc.file,
                              val->loc.line, val->loc.col, val->name ? val->name : "",
                              cg_shape_str(g, &val->shape, val->dtype, 1, b, sizeof b));
            goto error;
        }
    }
    struct cg_memplan plan;
    st = cg_memplan_build(g, &plan, e);
    if (st != CG_OK)
        goto error;
    memcpy(x->offset, plan.offset, g->nvalues * sizeof *x->offset);
    x->total = plan.persistent + plan.arena;
    x->params = plan.params;
    cg_memplan_free(&plan);
    cl_int err;
    if (share) {
        if (!same_params(g, x, share)) {
            st = cg_error_set(e, CG_ERR_INPUT, "error: internal error: the graph's parameters "
                              "differ from those of the executor it shares them with");
            goto error;
        }
        x->pbuf = share->pbuf;
        clRetainMemObject(x->pbuf);
    } else {
        x->pbuf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE,
                                 (x->params ? x->params : 1) * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS) {
            st = cg_cl_fail(e, err, "clCreateBuffer(parameters)");
            goto error;
        }
    }
    x->buf = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE,
                            (x->total > x->params ? x->total - x->params : 1) * sizeof(float),
                            NULL, &err);
    if (err != CL_SUCCESS) {
        st = cg_cl_fail(e, err, "clCreateBuffer(values)");
        goto error;
    }
    char *live = NULL;
    st = live_nodes(g, &live, e);
    for (size_t i = 0; i < g->nnodes && st == CG_OK; i++) {
        struct cg_lower l = {x, g, &g->nodes[i], e};
        x->cur = &g->nodes[i];
        x->node_launch[i] = x->nlaunches;
        if (live[i])
            st = cg_ops()[g->nodes[i].op].lower(&l);
    }
    cg_free(live);
    x->node_launch[g->nnodes] = x->nlaunches;
    if (st != CG_OK)
        goto error;
    if (x->scratch_floats) {
        x->scratch = clCreateBuffer(cg_device_context(dev), CL_MEM_READ_WRITE,
                                    x->scratch_floats * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS) {
            st = cg_cl_fail(e, err, "clCreateBuffer(scratch)");
            goto error;
        }
    }
    for (size_t i = 0; i < x->npend && st == CG_OK; i++) {
        cl_kernel k = x->launches[x->pend[i].launch].kernel;
        cl_uint off = (cl_uint)x->pend[i].off;
        err = clSetKernelArg(k, x->pend[i].arg, sizeof(cl_mem), &x->scratch);
        if (err == CL_SUCCESS)
            err = clSetKernelArg(k, x->pend[i].arg + 1, sizeof off, &off);
        if (err != CL_SUCCESS)
            st = cg_cl_fail(e, err, "clSetKernelArg(scratch)");
    }
    if (st != CG_OK)
        goto error;
    *out = x;
    return CG_OK;
error:
    cg_exec_destroy(x);
    return st;
}

void cg_exec_destroy(struct cg_exec *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nlaunches; i++)
        if (x->launches[i].kernel)
            clReleaseKernel(x->launches[i].kernel);
    if (x->buf)
        clReleaseMemObject(x->buf);
    if (x->pbuf)
        clReleaseMemObject(x->pbuf);
    if (x->scratch)
        clReleaseMemObject(x->scratch);
    cg_free(x->launches);
    cg_free(x->offset);
    cg_free(x->node_launch);
    cg_free(x->pend);
    cg_free(x);
}

/* ---- data ---- */

static enum cg_status check_size(struct cg_exec *x, int v, size_t bytes, struct cg_error *e)
{
    int64_t n = cg_shape_numel(x->g, &x->g->values[v].shape);
    if (n < 0 || (size_t)n * 4 != bytes)
        return cg_error_set(e, CG_ERR_INPUT, "error: value '%s' holds %lld elements, got %zu "
                            "bytes", x->g->values[v].name ? x->g->values[v].name : "?",
                            (long long)n, bytes);
    return CG_OK;
}

enum cg_status cg_exec_write(struct cg_exec *x, int v, const void *data, size_t bytes,
                             struct cg_error *e)
{
    CG_TRY(check_size(x, v, bytes, e));
    if (!bytes)
        return CG_OK;
    size_t at;
    cl_mem mem = value_mem(x, v, &at);
    cl_int err = clEnqueueWriteBuffer(cg_device_queue(x->dev), mem, CL_TRUE, at * sizeof(float),
                                      bytes, data, 0, NULL, NULL);
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clEnqueueWriteBuffer");
}

enum cg_status cg_exec_read(struct cg_exec *x, int v, void *data, size_t bytes,
                            struct cg_error *e)
{
    CG_TRY(check_size(x, v, bytes, e));
    if (!bytes)
        return CG_OK;
    size_t at;
    cl_mem mem = value_mem(x, v, &at);
    cl_int err = clEnqueueReadBuffer(cg_device_queue(x->dev), mem, CL_TRUE, at * sizeof(float),
                                     bytes, data, 0, NULL, NULL);
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clEnqueueReadBuffer");
}

/* ---- parameter initialisation ---- */

void cg_param_init_values(const struct cg_graph *g, size_t p, uint64_t seed, float *out)
{
    const struct cg_param *par = &g->params[p];
    int64_t n = cg_shape_numel(g, &par->shape);
    int64_t d[CG_MAX_RANK] = {0};
    for (int i = 0; i < par->shape.rank; i++)
        cg_dim_is_const(par->shape.d[i], &d[i]);
    int64_t recept = 1;
    for (int i = 2; i < par->shape.rank; i++)
        recept *= d[i];
    double fan_in = par->shape.rank >= 2 ? (double)(d[1] * recept) : (double)n;
    double fan_out = par->shape.rank >= 2 ? (double)(d[0] * recept) : (double)n;
    uint64_t stream = cg_splitmix_r(seed, p); /* one stream per parameter */
    double lo = 0, hi = 0;
    switch (par->init.kind) {
    case CG_INIT_ZEROS: lo = hi = 0; break;
    case CG_INIT_ONES: lo = hi = 1; break;
    case CG_INIT_CONSTANT: lo = hi = par->init.a; break;
    case CG_INIT_UNIFORM: lo = par->init.a; hi = par->init.b; break;
    case CG_INIT_KAIMING_UNIFORM: {
        double gain = sqrt(2.0 / (1.0 + par->init.a * par->init.a));
        hi = gain * sqrt(3.0 / fan_in);
        lo = -hi;
        break;
    }
    case CG_INIT_XAVIER_UNIFORM:
        hi = sqrt(6.0 / (fan_in + fan_out));
        lo = -hi;
        break;
    case CG_INIT_NORMAL:
        for (int64_t i = 0; i < n; i++) { /* Box-Muller on two uniforms per element */
            double u1 = cg_splitmix_u(stream, (uint64_t)(2 * i)), u2 =
                cg_splitmix_u(stream, (uint64_t)(2 * i + 1));
            double r = sqrt(-2.0 * log(1.0 - u1));
            out[i] = (float)(par->init.b + par->init.a * r * cos(6.283185307179586 * u2));
        }
        return;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(lo + (hi - lo) * cg_splitmix_u(stream, (uint64_t)i));
}

enum cg_status cg_exec_init_params(struct cg_exec *x, uint64_t seed, struct cg_error *e)
{
    for (size_t p = 0; p < x->g->nparams; p++) {
        int64_t n = cg_shape_numel(x->g, &x->g->params[p].shape);
        float *h = cg_malloc((size_t)n * sizeof *h);
        if (!h)
            return cg_error_nomem(e);
        cg_param_init_values(x->g, p, seed, h);
        enum cg_status st = cg_exec_write(x, x->g->params[p].value, h, (size_t)n * 4, e);
        cg_free(h);
        CG_TRY(st);
    }
    return CG_OK;
}

/* ---- run ---- */

/* ---- profiling (clgraph bench --profile) ---- */

struct prof_rec {
    cl_event ev;
    const struct cg_exec *x;
    size_t launch;
};

static struct {
    int on;
    struct prof_rec *recs;
    size_t n, cap;
} prof;

void cg_exec_profile_start(void) { prof.on = 1; }

/* Keeps the event of launch i of x (when profiling and ev was set). */
static void prof_keep(const struct cg_exec *x, size_t i, cl_event ev)
{
    if (!ev)
        return;
    struct prof_rec r = {ev, x, i};
    if (CG_PUSH(prof.recs, prof.n, prof.cap, r))
        clReleaseEvent(ev);
}

enum cg_status cg_exec_profile_collect(void (*cb)(void *ctx, const struct cg_exec_prof *p),
                                       void *ctx, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    prof.on = 0;
    for (size_t i = 0; i < prof.n; i++) {
        const struct prof_rec *r = &prof.recs[i];
        const struct launch *L = &r->x->launches[r->launch];
        cl_ulong t0 = 0, t1 = 0;
        cl_int err = clWaitForEvents(1, &r->ev);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(r->ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(r->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(r->ev);
        if (err != CL_SUCCESS) {
            if (st == CG_OK)
                st = cg_cl_fail(e, err, "clGetEventProfilingInfo (is the queue profiling?)");
            continue;
        }
        if (st != CG_OK)
            continue;
        const struct cg_graph *g = r->x->g;
        const struct cg_node *nd = &g->nodes[L->node];
        char kname[160];
        if (L->is_gemm)
            snprintf(kname, sizeof kname, "%s %s%s m%zu n%zu k%zu b%zu", L->name,
                     L->gemm.trans_a ? "T" : "N", L->gemm.trans_b ? "T" : "N", L->gemm.m,
                     L->gemm.n, L->gemm.k, L->gemm.batch);
        else
            snprintf(kname, sizeof kname, "%s", L->name);
        struct cg_exec_prof p = {cg_ops()[nd->op].name, L->is_gemm ? "gemm" : L->name, kname,
                                 g->values[nd->out].name ? g->values[nd->out].name : "",
                                 L->node, nd->loc.line, nd->loc.col, (double)(t1 - t0) * 1e-6};
        cb(ctx, &p);
    }
    prof.n = 0;
    return st;
}

static enum cg_status run_gemm(struct cg_exec *x, const struct launch *L, cl_event *ev,
                               struct cg_error *e)
{
    const struct cg_gemm_desc *d = &L->gemm;
    cl_command_queue q = cg_device_queue(x->dev);
    size_t at;
    cl_mem a = d->a >= 0 ? value_mem(x, d->a, &at) : x->scratch,
           b = d->b >= 0 ? value_mem(x, d->b, &at) : x->scratch,
           c = d->c >= 0 ? value_mem(x, d->c, &at) : x->scratch;
    CLBlastTranspose ta = d->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = d->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode s;
    if (d->batch <= 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, d->m, d->n, d->k, d->alpha, a, d->a_off,
                         d->lda, b, d->b_off, d->ldb, d->beta, c, d->c_off, d->ldc, &q, ev);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, d->m, d->n, d->k, d->alpha,
                                       a, d->a_off, d->lda, d->a_stride, b, d->b_off, d->ldb,
                                       d->b_stride, d->beta, c, d->c_off, d->ldc, d->c_stride,
                                       d->batch, &q, ev);
    if (s != CLBlastSuccess) {
        if (s < 0 && s > -100)
            return cg_cl_fail(e, (cl_int)s, "CLBlastSgemm");
        return cg_error_set(e, CG_ERR_DEVICE, "error: CLBlastSgemm failed: CLBlast status %d "
                            "(m=%zu n=%zu k=%zu batch=%zu)", (int)s, d->m, d->n, d->k, d->batch);
    }
    return CG_OK;
}

enum cg_status cg_exec_run(struct cg_exec *x, uint64_t seed, uint64_t step, struct cg_error *e)
{
    return cg_exec_run_nodes(x, seed, step, 0, x->g->nnodes, e);
}

void cg_exec_set_lr_scale(struct cg_exec *x, double scale) { x->lr_scale = scale; }

/* Sets the run-time arguments of L for this step (desc.runtime). */
static cl_int set_runtime_args(struct launch *L, uint64_t step, double lr_scale)
{
    struct cg_karg v[4];
    int n = L->runtime(L->rt_consts, step, lr_scale, v);
    cl_int err = CL_SUCCESS;
    for (int k = 0; k < n && k < 4 && err == CL_SUCCESS; k++) {
        cl_uint a = (cl_uint)(L->rt_arg + k);
        if (v[k].kind == CG_KA_FLOAT) {
            err = clSetKernelArg(L->kernel, a, sizeof v[k].f, &v[k].f);
        } else {
            cl_int iv = (cl_int)v[k].i;
            err = clSetKernelArg(L->kernel, a, sizeof iv, &iv);
        }
    }
    return err;
}

enum cg_status cg_exec_run_nodes(struct cg_exec *x, uint64_t seed, uint64_t step, size_t begin,
                                 size_t end, struct cg_error *e)
{
    cl_command_queue q = cg_device_queue(x->dev);
    if (end > x->g->nnodes)
        end = x->g->nnodes;
    if (begin >= end)
        return CG_OK;
    for (size_t i = x->node_launch[begin]; i < x->node_launch[end]; i++) {
        struct launch *L = &x->launches[i];
        cl_event ev = NULL, *evp = prof.on ? &ev : NULL;
        if (L->is_gemm) {
            CG_TRY(run_gemm(x, L, evp, e));
            prof_keep(x, i, ev);
            continue;
        }
        cl_int err = CL_SUCCESS;
        if (L->rng_arg >= 0) {
            uint64_t key = cg_splitmix_r(seed, L->rng_id);
            cl_uint lo = (cl_uint)key, hi = (cl_uint)(key >> 32), st = (cl_uint)step;
            err = clSetKernelArg(L->kernel, (cl_uint)L->rng_arg, sizeof lo, &lo);
            if (err == CL_SUCCESS)
                err = clSetKernelArg(L->kernel, (cl_uint)L->rng_arg + 1, sizeof hi, &hi);
            if (err == CL_SUCCESS)
                err = clSetKernelArg(L->kernel, (cl_uint)L->rng_arg + 2, sizeof st, &st);
        }
        if (err == CL_SUCCESS && L->rt_arg >= 0)
            err = set_runtime_args(L, step, x->lr_scale);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, L->kernel, (cl_uint)L->dims, NULL, L->gws,
                                         L->has_lws ? L->lws : NULL, 0, NULL, evp);
        if (err == CL_SUCCESS)
            prof_keep(x, i, ev);
        if (err != CL_SUCCESS) {
            char call[128];
            snprintf(call, sizeof call, "clEnqueueNDRangeKernel(%s)", L->name);
            return cg_cl_fail(e, err, call);
        }
    }
    return CG_OK;
}

enum cg_status cg_exec_finish(struct cg_exec *x, struct cg_error *e)
{
    cl_int err = clFinish(cg_device_queue(x->dev));
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clFinish");
}

void cg_exec_place(const struct cg_exec *x, int v, void **buf, size_t *offset)
{
    size_t at;
    *buf = value_mem(x, v, &at);
    *offset = at * sizeof(float);
}
