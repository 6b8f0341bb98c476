/* lower_gemm.c: lowering of linear and matmul to GEMMs (row-major), and the GEMM helpers of
 * lower_gemm.h (our kernels of cl/gemm.cl for every GEMM but A^T B^T, which goes to CLBlast
 * after its per-device self-check and zero-stride fallback; the bias kernel).
 *
 * linear(x [..., in], w [out, in], b?) is one GEMM over the flattened leading dims with w
 * transposed, then a bias kernel. matmul follows torch.matmul: 1-D operands become a row
 * ([1, k]) or a column ([k, 1]); batch dims broadcast. A batch whose operand offsets grow
 * linearly with the batch index is one strided-batched GEMM (a shared right operand folds the
 * batch into m instead); any other broadcast pattern is one GEMM per batch entry. */
#include "exec/lower_gemm.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

/* ---- the self-check ---- */

#define MAX_DEVICES 16

static struct {
    cl_device_id id;
    enum cg_status st;
    int stride0_ok;
    char msg[320];
} checked[MAX_DEVICES];
static int nchecked;

struct check_case {
    size_t m, n, k;
    int ta, tb;
    size_t batch;
    int zero_a, zero_b; /* a zero stride for A or B (the probe) */
};

static const struct check_case check_cases[] = {
    {37, 29, 23, 0, 0, 1, 0, 0},    {29, 37, 23, 1, 1, 1, 0, 0},  {31, 19, 45, 0, 1, 1, 0, 0},
    {17, 33, 21, 1, 0, 1, 0, 0},    {433, 421, 389, 0, 1, 1, 0, 0}, {13, 17, 11, 0, 0, 3, 0, 0},
    {13, 17, 11, 0, 1, 3, 1, 0},    {13, 17, 11, 1, 0, 3, 0, 1},
};

static float check_value(size_t i, unsigned salt)
{
    return (float)((double)((i * 37 + salt * 11) % 101) / 50.0 - 1.0);
}

/* Runs one case on dev with buffers a, b, c (large enough); *bad = 1 on a wrong result or a
 * CLBlast failure (status in *cls). */
static enum cg_status check_one(struct cg_device *dev, const struct check_case *t, cl_mem a,
                                cl_mem b, cl_mem c, float *ha, float *hb, float *hc, int *bad,
                                int *cls, struct cg_error *e)
{
    size_t sa = t->zero_a ? 0 : t->m * t->k, sb = t->zero_b ? 0 : t->k * t->n, sc = t->m * t->n;
    size_t na = sa ? sa * t->batch : t->m * t->k, nb = sb ? sb * t->batch : t->k * t->n;
    size_t nc = sc * t->batch;
    size_t lda = t->ta ? t->m : t->k, ldb = t->tb ? t->k : t->n;
    for (size_t i = 0; i < na; i++)
        ha[i] = check_value(i, 1);
    for (size_t i = 0; i < nb; i++)
        hb[i] = check_value(i, 2);
    cl_command_queue q = cg_device_queue(dev);
    cl_int err = clEnqueueWriteBuffer(q, a, CL_TRUE, 0, na * 4, ha, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(q, b, CL_TRUE, 0, nb * 4, hb, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cg_cl_fail(e, err, "clEnqueueWriteBuffer(GEMM self-check)");
    CLBlastTranspose ta = t->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = t->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode s;
    if (t->batch == 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, t->m, t->n, t->k, 1.0f, a, 0, lda, b, 0,
                         ldb, 0.0f, c, 0, t->n, &q, NULL);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, t->m, t->n, t->k, 1.0f, a,
                                       0, lda, sa, b, 0, ldb, sb, 0.0f, c, 0, t->n, sc, t->batch,
                                       &q, NULL);
    *cls = (int)s;
    if (s != CLBlastSuccess) {
        *bad = 1;
        return CG_OK;
    }
    err = clEnqueueReadBuffer(q, c, CL_TRUE, 0, nc * 4, hc, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cg_cl_fail(e, err, "clEnqueueReadBuffer(GEMM self-check)");
    double tol = 2e-6 * (double)t->k + 1e-5;
    for (size_t bi = 0; bi < t->batch && !*bad; bi++)
        for (size_t i = 0; i < t->m && !*bad; i++)
            for (size_t j = 0; j < t->n; j++) {
                double s2 = 0;
                for (size_t p = 0; p < t->k; p++) {
                    double av = ha[bi * sa + (t->ta ? p * lda + i : i * lda + p)];
                    double bv = hb[bi * sb + (t->tb ? j * ldb + p : p * ldb + j)];
                    s2 += av * bv;
                }
                double got = hc[bi * sc + i * t->n + j];
                if (!(fabs(got - s2) <= tol)) {
                    *bad = 1;
                    break;
                }
            }
    return CG_OK;
}

static enum cg_status run_checks(struct cg_device *dev, int *stride0_ok, char *msg, size_t nmsg,
                                 struct cg_error *e)
{
    size_t most = 0;
    for (size_t i = 0; i < CG_ARRAY_LEN(check_cases); i++) {
        const struct check_case *t = &check_cases[i];
        size_t big = t->batch * (t->m * t->k + t->k * t->n + t->m * t->n);
        if (big > most)
            most = big;
    }
    cl_int err;
    cl_context ctx = cg_device_context(dev);
    cl_mem a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, most * 4, NULL, &err), b = NULL, c = NULL;
    if (err == CL_SUCCESS)
        b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, most * 4, NULL, &err);
    if (err == CL_SUCCESS)
        c = clCreateBuffer(ctx, CL_MEM_READ_WRITE, most * 4, NULL, &err);
    float *ha = cg_malloc(most * 4), *hb = cg_malloc(most * 4), *hc = cg_malloc(most * 4);
    enum cg_status st = CG_OK;
    msg[0] = 0;
    *stride0_ok = 1;
    if (err != CL_SUCCESS)
        st = cg_cl_fail(e, err, "clCreateBuffer(GEMM self-check)");
    else if (!ha || !hb || !hc)
        st = cg_error_nomem(e);
    for (size_t i = 0; i < CG_ARRAY_LEN(check_cases) && st == CG_OK; i++) {
        const struct check_case *t = &check_cases[i];
        int bad = 0, cls = 0;
        st = check_one(dev, t, a, b, c, ha, hb, hc, &bad, &cls, e);
        if (st != CG_OK || !bad)
            continue;
        if (t->zero_a || t->zero_b) {
            *stride0_ok = 0;
            continue;
        }
        snprintf(msg, nmsg, "error: CLBlast's SGEMM gives %s on this device (self-check: "
                 "m=%zu n=%zu k=%zu%s%s batch=%zu); its parameters for this device may be wrong "
                 "(see CLBlastOverrideParameters), or choose another device with --device",
                 cls ? "an error" : "wrong results", t->m, t->n, t->k,
                 t->ta ? " A^T" : "", t->tb ? " B^T" : "", t->batch);
        if (cls)
            snprintf(msg + strlen(msg), nmsg - strlen(msg), " (CLBlast status %d)", cls);
        st = cg_error_set(e, CG_ERR_DEVICE, "%s", msg);
    }
    cg_free(ha);
    cg_free(hb);
    cg_free(hc);
    if (a)
        clReleaseMemObject(a);
    if (b)
        clReleaseMemObject(b);
    if (c)
        clReleaseMemObject(c);
    return st;
}

enum cg_status cg_gemm_self_check(struct cg_device *dev, int *stride0_ok, struct cg_error *e)
{
    cl_device_id id = cg_device_id(dev);
    for (int i = 0; i < nchecked; i++)
        if (checked[i].id == id) {
            if (stride0_ok)
                *stride0_ok = checked[i].stride0_ok;
            if (checked[i].st != CG_OK)
                return cg_error_set(e, checked[i].st, "%s", checked[i].msg);
            return CG_OK;
        }
    int ok0 = 0;
    char msg[320];
    enum cg_status st = run_checks(dev, &ok0, msg, sizeof msg, e);
    if (st == CG_OK || st == CG_ERR_DEVICE) { /* a verdict: remember it (not a transient error) */
        if (st != CG_OK && !msg[0])
            return st; /* an OpenCL failure while checking: try again next time */
        if (nchecked < MAX_DEVICES) {
            checked[nchecked].id = id;
            checked[nchecked].st = st;
            checked[nchecked].stride0_ok = ok0;
            snprintf(checked[nchecked].msg, sizeof checked[nchecked].msg, "%s", msg);
            nchecked++;
        }
    }
    if (stride0_ok)
        *stride0_ok = ok0;
    return st;
}

/* ---- our own GEMM kernels (cl/gemm.cl) ---- */

/* Whether d runs on cl/gemm.cl rather than CLBlast: env CLGRAPH_GEMM=clblast or =own forces
 * one; otherwise every case the kernels cover (all but A^T B^T), as measured on PoCL
 * (bench/README.md: faster for every GEMM shape of the CIM and CRL-TAC steps, and no kernel
 * object created per call). */
static int use_own_gemm(const struct cg_gemm_desc *d)
{
    if (d->trans_a && d->trans_b)
        return 0;
    const char *v = getenv("CLGRAPH_GEMM");
    if (v && !strcmp(v, "clblast"))
        return 0;
    return 1;
}

static struct cg_karg gemm_arg(int value, size_t off)
{
    return value >= 0 ? CG_KVO(value, (int64_t)off) : CG_KS((int64_t)off);
}

static enum cg_status emit_own_gemm(struct cg_lower *l, const struct cg_gemm_desc *d)
{
    char defs[512] = "";
    size_t batch = d->batch ? d->batch : 1;
    cg_defines_add(defs, sizeof defs, "M", (long long)d->m);
    cg_defines_add(defs, sizeof defs, "N", (long long)d->n);
    cg_defines_add(defs, sizeof defs, "K", (long long)d->k);
    cg_defines_add(defs, sizeof defs, "LDA", (long long)d->lda);
    cg_defines_add(defs, sizeof defs, "LDB", (long long)d->ldb);
    cg_defines_add(defs, sizeof defs, "LDC", (long long)d->ldc);
    cg_defines_add(defs, sizeof defs, "SA", (long long)d->a_stride);
    cg_defines_add(defs, sizeof defs, "SB", (long long)d->b_stride);
    cg_defines_add(defs, sizeof defs, "SC", (long long)d->c_stride);
    cg_defines_add(defs, sizeof defs, "BATCH", (long long)batch);
    cg_defines_add(defs, sizeof defs, "TA", d->trans_a);
    cg_defines_addf(defs, sizeof defs, "ALPHA", d->alpha);
    cg_defines_addf(defs, sizeof defs, "BETA", d->beta);
    const int rb = 4; /* rows per work-item of gemm_nn; 2: 28% slower on CIM, 8: no faster */
    cg_defines_add(defs, sizeof defs, "RB", rb);
    struct cg_launch_desc ld;
    memset(&ld, 0, sizeof ld);
    ld.source = "gemm.cl";
    ld.kernel = d->trans_b ? "gemm_nt" : "gemm_nn";
    ld.defines = defs;
    ld.dims = 3;
    const size_t nv = 16; /* columns per gemm_nn work-item (float16); 8: 30% slower on CIM */
    cg_defines_add(defs, sizeof defs, "NV", (long long)nv);
    ld.gws[0] = d->trans_b ? (d->n + 3) / 4 : (d->n + nv - 1) / nv;
    ld.gws[1] = d->trans_b ? (d->m + 3) / 4 : (d->m + (size_t)rb - 1) / (size_t)rb;
    ld.gws[2] = batch;
    ld.lws[0] = ld.lws[1] = ld.lws[2] = 1;
    ld.has_lws = 1;
    struct cg_karg args[3] = {gemm_arg(d->a, d->a_off), gemm_arg(d->b, d->b_off),
                              gemm_arg(d->c, d->c_off)};
    return cg_lower_kernel(l, &ld, args, 3);
}

enum cg_status cg_gemm_emit(struct cg_lower *l, const struct cg_gemm_desc *d)
{
    if (d->m == 0 || d->n == 0)
        return CG_OK;
    if (d->k > 0 && use_own_gemm(d))
        return emit_own_gemm(l, d);
    int stride0_ok = 0;
    enum cg_status st = cg_gemm_self_check(cg_lower_device(l), &stride0_ok, l->e);
    if (st != CG_OK) /* the message already says which device check failed */
        return st;
    if (d->batch <= 1 || stride0_ok || (d->a_stride && d->b_stride && d->c_stride))
        return cg_lower_emit_gemm(l, d);
    for (size_t i = 0; i < d->batch; i++) {
        struct cg_gemm_desc one = *d;
        one.batch = 1;
        one.a_off += i * d->a_stride;
        one.b_off += i * d->b_stride;
        one.c_off += i * d->c_stride;
        CG_TRY(cg_lower_emit_gemm(l, &one));
    }
    return CG_OK;
}

enum cg_status cg_lower_bias_add(struct cg_lower *l, int y, int b, int64_t n, int64_t c,
                                 int64_t inner)
{
    char defs[128] = "";
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_add(defs, sizeof defs, "C", c);
    cg_defines_add(defs, sizeof defs, "INNER", inner);
    struct cg_launch_desc ld;
    memset(&ld, 0, sizeof ld);
    ld.source = "conv.cl";
    ld.kernel = "bias_add";
    ld.defines = defs;
    ld.dims = 1;
    ld.lws[0] = 64;
    ld.has_lws = 1;
    ld.gws[0] = (size_t)((n + 63) / 64 * 64);
    if (ld.gws[0] == 0)
        ld.gws[0] = 64;
    struct cg_karg args[2] = {CG_KV(b), CG_KV(y)};
    return cg_lower_kernel(l, &ld, args, 2);
}

/* ---- linear and matmul ---- */

static enum cg_status lower_linear(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int x = nd->inputs[0], w = nd->inputs[1], b = nd->inputs[2];
    int64_t in = cg_lower_dim(l, w, 1), out = cg_lower_dim(l, w, 0);
    int64_t rows = in ? cg_lower_numel(l, x) / in : 0;
    if (rows == 0 || out == 0)
        return CG_OK;
    struct cg_gemm_desc d = {0};
    d.trans_b = 1;
    d.m = (size_t)rows;
    d.n = (size_t)out;
    d.k = (size_t)in;
    d.lda = (size_t)in;
    d.ldb = (size_t)in;
    d.ldc = (size_t)out;
    d.a = x;
    d.b = w;
    d.c = nd->out;
    d.batch = 1;
    d.alpha = 1;
    d.beta = 0;
    CG_TRY(cg_gemm_emit(l, &d));
    if (b >= 0)
        CG_TRY(cg_lower_bias_add(l, nd->out, b, rows * out, out, 1));
    return CG_OK;
}

/* Element offset of batch entry i (over the output's batch dims ob[0..nb)) in an operand with
 * batch dims db[0..nd) (right-aligned, broadcast where 1) and matrices of mat elements. */
static size_t batch_offset(size_t i, const int64_t *ob, int nob, const int64_t *db, int ndb,
                           size_t mat)
{
    size_t off = 0, stride = mat;
    for (int j = nob - 1; j >= 0; j--) {
        size_t idx = i % (size_t)ob[j];
        i /= (size_t)ob[j];
        int jd = j - (nob - ndb);
        if (jd < 0)
            continue;
        if (db[jd] != 1)
            off += idx * stride;
        stride *= (size_t)db[jd];
    }
    return off;
}

static enum cg_status lower_matmul(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int a = nd->inputs[0], b = nd->inputs[1];
    const struct cg_shape *sa = cg_lower_shape_of(l, a), *sb = cg_lower_shape_of(l, b),
                          *so = cg_lower_shape_of(l, nd->out);
    int ra = sa->rank, rb = sb->rank;
    int64_t m = ra == 1 ? 1 : cg_lower_dim(l, a, ra - 2), k = cg_lower_dim(l, a, ra - 1);
    int64_t n = rb == 1 ? 1 : cg_lower_dim(l, b, rb - 1);
    int64_t ab[CG_MAX_RANK], bb[CG_MAX_RANK], ob[CG_MAX_RANK];
    int nab = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    int nob = so->rank - (ra > 1) - (rb > 1);
    size_t batch = 1;
    for (int i = 0; i < nab; i++)
        ab[i] = cg_lower_dim(l, a, i);
    for (int i = 0; i < nbb; i++)
        bb[i] = cg_lower_dim(l, b, i);
    for (int i = 0; i < nob; i++) {
        ob[i] = cg_lower_dim(l, nd->out, i);
        batch *= (size_t)ob[i];
    }
    if (batch == 0 || m == 0 || n == 0)
        return CG_OK;
    if (k == 0)
        return cg_lower_fail(l, "an inner dim of 0 is not supported on the device");
    struct cg_gemm_desc d = {0};
    d.m = (size_t)m;
    d.n = (size_t)n;
    d.k = (size_t)k;
    d.lda = (size_t)k;
    d.ldb = (size_t)n;
    d.ldc = (size_t)n;
    d.a = a;
    d.b = b;
    d.c = nd->out;
    d.alpha = 1;
    d.batch = 1;
    size_t ma = (size_t)(m * k), mb = (size_t)(k * n), mc = (size_t)(m * n);
    if (batch == 1)
        return cg_gemm_emit(l, &d);
    /* strides if the offsets are linear in the batch index */
    size_t a1 = batch_offset(1, ob, nob, ab, nab, ma), b1 = batch_offset(1, ob, nob, bb, nbb, mb);
    int linear = 1;
    for (size_t i = 2; i < batch && linear; i++)
        linear = batch_offset(i, ob, nob, ab, nab, ma) == i * a1 &&
                 batch_offset(i, ob, nob, bb, nbb, mb) == i * b1;
    if (linear && b1 == 0 && a1 == ma) { /* b shared, a contiguous: fold the batch into m */
        d.m = batch * (size_t)m;
        return cg_gemm_emit(l, &d);
    }
    if (linear) {
        d.a_stride = a1;
        d.b_stride = b1;
        d.c_stride = mc;
        d.batch = batch;
        return cg_gemm_emit(l, &d);
    }
    for (size_t i = 0; i < batch; i++) {
        struct cg_gemm_desc one = d;
        one.a_off = batch_offset(i, ob, nob, ab, nab, ma);
        one.b_off = batch_offset(i, ob, nob, bb, nbb, mb);
        one.c_off = i * mc;
        CG_TRY(cg_gemm_emit(l, &one));
    }
    return CG_OK;
}

enum cg_status cg_lower_gemm(struct cg_lower *l)
{
    if (l->node->op == CG_OP_linear)
        return lower_linear(l);
    if (l->node->op == CG_OP_matmul)
        return lower_matmul(l);
    return cg_lower_fail(l, "internal error: not a GEMM op");
}
