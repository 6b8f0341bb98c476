/* checkpoint.c: saving and restoring a model's parameters and optimizer state as safetensors,
 * atomically (checkpoint.h). */
#include "train/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/fileio.h"
#include "exec/model.h"

/* The test hook: writes the first `upto` bytes of the parts to PATH.tmp.XXXXXX, fsyncs and
 * _exits(137) without renaming. */
static void crash_in_write(const char *path, const void *const *parts, const size_t *lens,
                           int nparts, size_t upto)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    for (int i = 0; fd >= 0 && i < nparts && upto; i++) {
        size_t n = lens[i] < upto ? lens[i] : upto;
        if (write(fd, parts[i], n) != (ssize_t)n)
            break;
        upto -= n;
    }
    if (fd >= 0)
        fsync(fd);
    _exit(137);
}

enum cg_status cg_ckpt_save(struct cg_model *m, const char *path, const struct cg_st_meta *meta,
                            int nmeta, struct cg_error *e)
{
    const struct cg_graph *g = cg_model_graph(m);
    struct cg_exec *x = cg_model_exec(m);
    size_t n = g->nparams, total = 0;
    struct cg_st_tensor *ts = cg_calloc(n ? n : 1, sizeof *ts);
    struct cg_st_meta *md = cg_calloc((size_t)nmeta + 1, sizeof *md);
    const void **parts = cg_calloc(n + 1, sizeof *parts);
    size_t *lens = cg_calloc(n + 1, sizeof *lens);
    for (size_t p = 0; p < n; p++)
        total += (size_t)cg_shape_numel(g, &g->params[p].shape) * 4;
    char *data = cg_malloc(total ? total : 1), *hdr = NULL;
    enum cg_status st = ts && md && parts && lens && data ? CG_OK : cg_error_nomem(e);
    size_t off = 0, hdr_len = 0;
    for (size_t p = 0; p < n && st == CG_OK; p++) {
        const struct cg_param *par = &g->params[p];
        struct cg_st_tensor *t = &ts[p];
        t->name = (char *)par->name;
        t->is_int = par->dtype == CG_I32;
        t->rank = par->shape.rank;
        for (int d = 0; d < t->rank; d++)
            cg_dim_is_const(par->shape.d[d], &t->shape[d]);
        t->nbytes = (size_t)cg_shape_numel(g, &par->shape) * 4;
        t->data = data + off;
        st = cg_exec_read(x, par->value, data + off, t->nbytes, e);
        parts[p + 1] = t->data;
        lens[p + 1] = t->nbytes;
        off += t->nbytes;
    }
    char hash[32];
    if (st == CG_OK) {
        memcpy(md, meta, (size_t)nmeta * sizeof *md);
        snprintf(hash, sizeof hash, "%016llx",
                 (unsigned long long)cg_fnv1a(CG_FNV_INIT, data, total));
        md[nmeta].key = "data_fnv1a64";
        md[nmeta].value = hash;
        struct cg_st_file f = {ts, (int)n, md, nmeta + 1, NULL};
        st = cg_st_header(&f, &hdr, &hdr_len, e);
    }
    if (st == CG_OK) {
        parts[0] = hdr;
        lens[0] = hdr_len;
        const char *crash = getenv("CLGRAPH_TEST_CRASH_IN_CHECKPOINT");
        if (crash && !strcmp(crash, "after_tmp_write"))
            crash_in_write(path, parts, lens, (int)n + 1, (size_t)-1);
        if (crash && !strcmp(crash, "mid_write"))
            crash_in_write(path, parts, lens, (int)n + 1, (hdr_len + total) / 2);
        st = cg_file_write_atomic_parts(path, parts, lens, (int)n + 1, e);
    }
    cg_free(hdr);
    cg_free(data);
    cg_free(lens);
    cg_free(parts);
    cg_free(md);
    cg_free(ts);
    return st;
}

enum cg_status cg_ckpt_read(const char *path, struct cg_st_file *f, struct cg_error *e)
{
    CG_TRY(cg_st_read(path, f, e));
    const char *want = cg_st_meta_get(f, "data_fnv1a64");
    if (f->ntensors) {
        const char *d0 = f->tensors[0].data;
        const struct cg_st_tensor *last = &f->tensors[f->ntensors - 1];
        size_t len = (size_t)((const char *)last->data + last->nbytes - d0);
        char have[32];
        snprintf(have, sizeof have, "%016llx",
                 (unsigned long long)cg_fnv1a(CG_FNV_INIT, d0, len));
        if (!want || strcmp(want, have)) {
            enum cg_status st = cg_error_set(e, CG_ERR_INPUT, "%s: error: corrupt checkpoint: "
                                             "the data hash is %s, the header says %s", path,
                                             have, want ? want : "nothing");
            cg_st_free(f);
            return st;
        }
    }
    return CG_OK;
}

enum cg_status cg_ckpt_apply(struct cg_model *m, const char *path, const struct cg_st_file *f,
                             int params_only, struct cg_error *e)
{
    const struct cg_graph *g = cg_model_graph(m);
    struct cg_exec *x = cg_model_exec(m);
    enum cg_status st = CG_OK;
    char b1[256];
    for (size_t p = 0; p < g->nparams && st == CG_OK; p++) {
        const struct cg_param *par = &g->params[p];
        const struct cg_st_tensor *t = cg_st_tensor(f, par->name);
        int same = t && t->is_int == (par->dtype == CG_I32) && t->rank == par->shape.rank;
        for (int d = 0; same && d < t->rank; d++) {
            int64_t v;
            same = cg_dim_is_const(par->shape.d[d], &v) && v == t->shape[d];
        }
        if (!t)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: the checkpoint does not fit this "
                              "graph: it has no tensor '%s' (%s)", path, par->name,
                              cg_shape_str(g, &par->shape, par->dtype, 1, b1, sizeof b1));
        else if (!same) {
            struct cg_buf b = {0};
            for (int d = 0; d < t->rank; d++)
                cg_buf_printf(&b, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: the checkpoint does not fit this "
                              "graph: tensor '%s' is %s[%s], the graph's parameter is %s", path,
                              par->name, t->is_int ? "i32" : "f32", cg_buf_str(&b),
                              cg_shape_str(g, &par->shape, par->dtype, 1, b1, sizeof b1));
            cg_buf_free(&b);
        }
    }
    for (int i = 0; i < f->ntensors && st == CG_OK; i++) {
        if (params_only && strchr(f->tensors[i].name, ':'))
            continue;
        size_t p;
        for (p = 0; p < g->nparams; p++)
            if (!strcmp(g->params[p].name, f->tensors[i].name))
                break;
        if (p == g->nparams)
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: the checkpoint does not fit this "
                              "graph: its tensor '%s' is no parameter of the graph", path,
                              f->tensors[i].name);
    }
    for (size_t p = 0; p < g->nparams && st == CG_OK; p++) {
        const struct cg_st_tensor *t = cg_st_tensor(f, g->params[p].name);
        st = cg_exec_write(x, g->params[p].value, t->data, t->nbytes, e);
    }
    return st;
}

enum cg_status cg_ckpt_load(struct cg_model *m, const char *path, struct cg_st_file *f,
                            struct cg_error *e)
{
    CG_TRY(cg_ckpt_read(path, f, e));
    enum cg_status st = cg_ckpt_apply(m, path, f, 0, e);
    if (st != CG_OK)
        cg_st_free(f);
    return st;
}

int64_t cg_ckpt_newest(const char *rundir, char *path, size_t n)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", rundir);
    DIR *d = opendir(dir);
    int64_t best = -1;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long s;
        char tail[32];
        if (sscanf(de->d_name, "step-%llu.safetensor%31s", &s, tail) == 2 && !strcmp(tail, "s")
            && (int64_t)s > best && (size_t)snprintf(path, n, "%s/%s", dir, de->d_name) < n)
            best = (int64_t)s;
    }
    closedir(d);
    return best;
}
