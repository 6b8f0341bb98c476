/* dataset.c: data sets in memory (splits of named fields), on disk (DIR/{train,test}/FIELD.npy
 * plus DIR/info.json) and the builder registry of datasets.def with parameter validation.
 *
 * info.json is written by cg_dataset_save in one fixed layout:
 *     {"name": "...", "seed": S, "params": {"key": "value", ...},
 *      "splits": {"train": {"count": N, "fields": [{"name": "x", "dtype": "f32",
 *                                                   "shape": [1, 28, 28]}, ...]},
 *                 "test": {...}}}
 * and read back with util/json.h (any whitespace and key order). */
#include "data/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/builders.h"
#include "data/fileio.h"
#include "ops/registry.h"
#include "util/json.h"

/* ---- splits -------------------------------------------------------------------------------- */

size_t cg_field_example_size(const struct cg_field *f)
{
    size_t n = 1;
    for (int i = 0; i < f->rank; i++)
        n *= (size_t)f->shape[i];
    return n;
}

enum cg_status cg_split_add(struct cg_split *s, const char *name, enum cg_npy_dtype dtype,
                            int rank, const int64_t *shape, size_t count, struct cg_field **out,
                            struct cg_error *e)
{
    if (s->nfields >= CG_MAX_FIELDS)
        return cg_error_set(e, CG_ERR_INPUT, "field %s: a split holds at most %d fields", name,
                            CG_MAX_FIELDS);
    if (strlen(name) >= sizeof s->fields[0].name || !name[0])
        return cg_error_set(e, CG_ERR_INPUT, "field name '%s' is empty or too long", name);
    if (rank < 0 || rank > CG_FIELD_MAX_RANK)
        return cg_error_set(e, CG_ERR_INPUT, "field %s: rank %d out of range 0..%d", name, rank,
                            CG_FIELD_MAX_RANK);
    if (cg_split_field(s, name))
        return cg_error_set(e, CG_ERR_INPUT, "field %s: the split already has a field of that "
                            "name", name);
    if (s->nfields > 0 && count != s->count)
        return cg_error_set(e, CG_ERR_INPUT, "field %s: %zu examples, but the split has %zu",
                            name, count, s->count);
    struct cg_field *f = &s->fields[s->nfields];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->dtype = dtype;
    f->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (shape[i] <= 0)
            return cg_error_set(e, CG_ERR_INPUT, "field %s: dimension %d is %lld", name, i,
                                (long long)shape[i]);
        f->shape[i] = shape[i];
    }
    f->count = count;
    size_t bytes = count * cg_field_example_size(f) * cg_npy_dtype_size(dtype);
    f->data = cg_calloc(bytes ? bytes : 1, 1);
    if (!f->data)
        return cg_error_nomem(e);
    s->count = count;
    s->nfields++;
    if (out)
        *out = f;
    return CG_OK;
}

const struct cg_field *cg_split_field(const struct cg_split *s, const char *name)
{
    for (int i = 0; i < s->nfields; i++)
        if (!strcmp(s->fields[i].name, name))
            return &s->fields[i];
    return NULL;
}

static void split_free(struct cg_split *s)
{
    for (int i = 0; i < s->nfields; i++)
        cg_free(s->fields[i].data);
    s->nfields = 0;
}

void cg_dataset_free(struct cg_dataset *d)
{
    if (!d)
        return;
    split_free(&d->train);
    split_free(&d->test);
    cg_free(d);
}

/* ---- saving -------------------------------------------------------------------------------- */

static const char *dtype_name(enum cg_npy_dtype t)
{
    return t == CG_NPY_F32 ? "f32" : t == CG_NPY_I32 ? "i32" : "u8";
}

static int dtype_parse(const char *s, enum cg_npy_dtype *t)
{
    if (!strcmp(s, "f32"))
        *t = CG_NPY_F32;
    else if (!strcmp(s, "i32"))
        *t = CG_NPY_I32;
    else if (!strcmp(s, "u8"))
        *t = CG_NPY_U8;
    else
        return -1;
    return 0;
}

static enum cg_status make_dir(const char *path, struct cg_error *e)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create directory: %s", path,
                            strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: not a directory", path);
    return CG_OK;
}

static void json_split(struct cg_buf *b, const struct cg_split *s)
{
    cg_buf_printf(b, "{\"count\": %zu, \"fields\": [", s->count);
    for (int i = 0; i < s->nfields; i++) {
        const struct cg_field *f = &s->fields[i];
        cg_buf_printf(b, "%s\n      {\"name\": ", i ? "," : "");
        cg_buf_json_str(b, f->name);
        cg_buf_printf(b, ", \"dtype\": \"%s\", \"shape\": [", dtype_name(f->dtype));
        for (int k = 0; k < f->rank; k++)
            cg_buf_printf(b, "%s%lld", k ? ", " : "", (long long)f->shape[k]);
        cg_buf_printf(b, "]}");
    }
    cg_buf_printf(b, "]}");
}

static enum cg_status save_split(const struct cg_split *s, const char *dir, const char *split,
                                 struct cg_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, split);
    CG_TRY(make_dir(path, e));
    for (int i = 0; i < s->nfields; i++) {
        const struct cg_field *f = &s->fields[i];
        int64_t shape[CG_NPY_MAX_RANK];
        shape[0] = (int64_t)f->count;
        for (int k = 0; k < f->rank; k++)
            shape[k + 1] = f->shape[k];
        snprintf(path, sizeof path, "%s/%s/%s.npy", dir, split, f->name);
        CG_TRY(cg_npy_write(path, f->dtype, shape, f->rank + 1, f->data, e));
    }
    return CG_OK;
}

enum cg_status cg_dataset_save(const struct cg_dataset *d, const char *dir, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    struct cg_buf b = {0};
    if (strlen(dir) > 4000)
        return cg_error_set(e, CG_ERR_INPUT, "%.100s...: error: path too long", dir);
    for (int i = 0; i < 2; i++) {
        const struct cg_split *s = i ? &d->test : &d->train;
        if (s->nfields > CG_MAX_FIELDS || s->nfields + 1 > CG_NPY_MAX_RANK + CG_MAX_FIELDS)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: too many fields", dir);
        for (int k = 0; k < s->nfields; k++)
            if (s->fields[k].count != s->count || s->fields[k].rank >= CG_NPY_MAX_RANK)
                return cg_error_set(e, CG_ERR_INPUT, "%s: error: field %s of %s has %zu "
                                    "examples (split: %zu) or rank %d", dir, s->fields[k].name,
                                    i ? "test" : "train", s->fields[k].count, s->count,
                                    s->fields[k].rank);
    }
    CG_TRY(make_dir(dir, e));
    CG_TRY(save_split(&d->train, dir, "train", e));
    CG_TRY(save_split(&d->test, dir, "test", e));

    cg_buf_printf(&b, "{\n  \"name\": ");
    cg_buf_json_str(&b, d->name);
    cg_buf_printf(&b, ",\n  \"seed\": %llu,\n  \"params\": {", (unsigned long long)d->seed);
    for (int i = 0; i < d->nparams; i++) {
        cg_buf_printf(&b, "%s", i ? ", " : "");
        cg_buf_json_str(&b, d->param_keys[i]);
        cg_buf_printf(&b, ": ");
        cg_buf_json_str(&b, d->param_values[i]);
    }
    cg_buf_printf(&b, "},\n  \"splits\": {\n    \"train\": ");
    json_split(&b, &d->train);
    cg_buf_printf(&b, ",\n    \"test\": ");
    json_split(&b, &d->test);
    cg_buf_printf(&b, "\n  }\n}\n");
    if (b.oom) {
        st = cg_error_nomem(e);
        goto error;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/info.json", dir);
    st = cg_file_write_atomic(path, cg_buf_str(&b), strlen(cg_buf_str(&b)), e);
error:
    cg_buf_free(&b);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------- */

static enum cg_status load_split(const char *dir, const char *info, const char *split,
                                 const struct cg_json *js, struct cg_split *s, struct cg_error *e)
{
    const struct cg_json *count = cg_json_get(js, "count", CG_JSON_INT);
    const struct cg_json *fields = cg_json_get(js, "fields", CG_JSON_ARR);
    if (!count || !fields || count->i < 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: split %s needs \"count\" (an integer "
                            ">= 0) and \"fields\" (an array)", info, split);
    if (fields->n > CG_MAX_FIELDS)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: split %s has %d fields (at most %d)",
                            info, split, fields->n, CG_MAX_FIELDS);
    s->count = (size_t)count->i;
    for (int i = 0; i < fields->n; i++) {
        const struct cg_json *f = &fields->items[i];
        const struct cg_json *name = cg_json_get(f, "name", CG_JSON_STR);
        const struct cg_json *dt = cg_json_get(f, "dtype", CG_JSON_STR);
        const struct cg_json *shape = cg_json_get(f, "shape", CG_JSON_ARR);
        enum cg_npy_dtype dtype;
        if (!name || !dt || !shape)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: field %d of split %s needs "
                                "\"name\", \"dtype\" and \"shape\"", info, i, split);
        if (dtype_parse(dt->str, &dtype))
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: field %s of split %s: unknown "
                                "dtype '%s' (f32, i32 or u8)", info, name->str, split, dt->str);
        if (shape->n > CG_FIELD_MAX_RANK || !name->str[0] ||
            strlen(name->str) >= sizeof s->fields[0].name || strchr(name->str, '/'))
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: field '%s' of split %s: bad name "
                                "or rank", info, name->str, split);
        for (int k = 0; k < i; k++)
            if (!strcmp(s->fields[k].name, name->str))
                return cg_error_set(e, CG_ERR_INPUT, "%s: error: split %s already has a field "
                                    "'%s'", info, split, name->str);
        int64_t want[CG_FIELD_MAX_RANK];
        for (int k = 0; k < shape->n; k++) {
            if (shape->items[k].kind != CG_JSON_INT || shape->items[k].i <= 0)
                return cg_error_set(e, CG_ERR_INPUT, "%s: error: field %s of split %s: shape "
                                    "entries must be positive integers", info, name->str, split);
            want[k] = shape->items[k].i;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/%s/%s.npy", dir, split, name->str);
        struct cg_npy a;
        CG_TRY(cg_npy_read(path, &a, e));
        enum cg_status st = CG_OK;
        int same = a.dtype == dtype && a.rank == shape->n + 1;
        for (int k = 0; same && k < shape->n; k++)
            same = a.shape[k + 1] == want[k];
        if (!same) {
            char got[160] = "", exp[160] = "";
            size_t o = 0;
            for (int k = 1; k < a.rank; k++)
                o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", k > 1 ? ", " : "",
                                      (long long)a.shape[k]);
            o = 0;
            for (int k = 0; k < shape->n; k++)
                o += (size_t)snprintf(exp + o, sizeof exp - o, "%s%lld", k ? ", " : "",
                                      (long long)want[k]);
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: examples are %s[%s], info.json says "
                              "%s[%s]", path, cg_npy_dtype_descr(a.dtype), got,
                              dtype_name(dtype), exp);
        } else if ((size_t)a.shape[0] != s->count) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: %lld examples, info.json says %zu "
                              "for split %s", path, (long long)a.shape[0], s->count, split);
        } else {
            struct cg_field *fd;
            st = cg_split_add(s, name->str, dtype, shape->n, want, s->count, &fd, e);
            if (st == CG_OK) {
                cg_free(fd->data);
                fd->data = a.data;
                a.data = NULL;
            } else {
                char msg[sizeof e->msg];
                snprintf(msg, sizeof msg, "%s", e->msg);
                st = cg_error_set(e, st, "%s: error: %s", info, msg);
            }
        }
        cg_npy_free(&a);
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

enum cg_status cg_dataset_load(const char *dir, struct cg_dataset **out, struct cg_error *e)
{
    *out = NULL;
    if (strlen(dir) > 4000)
        return cg_error_set(e, CG_ERR_INPUT, "%.100s...: error: path too long", dir);
    char info[4200];
    snprintf(info, sizeof info, "%s/info.json", dir);
    char *text = NULL;
    size_t len;
    struct cg_json root = {0};
    struct cg_dataset *d = NULL;
    enum cg_status st = cg_read_file(info, 1 << 20, &text, &len, e);
    if (st != CG_OK)
        goto error;
    st = cg_json_parse(text, info, &root, e);
    if (st != CG_OK)
        goto error;
    const struct cg_json *name = cg_json_get(&root, "name", CG_JSON_STR);
    const struct cg_json *seed = cg_json_get(&root, "seed", CG_JSON_INT);
    const struct cg_json *params = cg_json_get(&root, "params", CG_JSON_OBJ);
    const struct cg_json *splits = cg_json_get(&root, "splits", CG_JSON_OBJ);
    if (!name || !seed || !params || !splits) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: needs \"name\" (a string), \"seed\" (an "
                          "integer), \"params\" and \"splits\" (objects)", info);
        goto error;
    }
    d = cg_calloc(1, sizeof *d);
    if (!d) {
        st = cg_error_nomem(e);
        goto error;
    }
    snprintf(d->name, sizeof d->name, "%s", name->str);
    d->seed = strtoull(seed->numtext, NULL, 10);
    if (params->n > (int)CG_ARRAY_LEN(d->param_keys)) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: too many params", info);
        goto error;
    }
    for (int i = 0; i < params->n; i++) {
        if (params->items[i].kind != CG_JSON_STR) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: param %s is not a string", info,
                              params->keys[i]);
            goto error;
        }
        snprintf(d->param_keys[i], sizeof d->param_keys[i], "%s", params->keys[i]);
        snprintf(d->param_values[i], sizeof d->param_values[i], "%s", params->items[i].str);
    }
    d->nparams = params->n;
    for (int i = 0; i < 2; i++) {
        const char *sn = i ? "test" : "train";
        const struct cg_json *js = cg_json_get(splits, sn, CG_JSON_OBJ);
        if (!js) {
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: no split \"%s\" in \"splits\"", info,
                              sn);
            goto error;
        }
        st = load_split(dir, info, sn, js, i ? &d->test : &d->train, e);
        if (st != CG_OK)
            goto error;
    }
    *out = d;
    d = NULL;
error:
    cg_dataset_free(d);
    cg_json_free(&root);
    cg_free(text);
    return st;
}

/* ---- builders ------------------------------------------------------------------------------ */

static const struct cg_builder_def builders[] = {
#define CG_DATASET(name, params, fields, description, fn) {#name, params, fields, description, fn},
#include "data/datasets.def"
#undef CG_DATASET
};

const struct cg_builder_def *cg_dataset_builders(size_t *count)
{
    *count = CG_ARRAY_LEN(builders);
    return builders;
}

const char *cg_data_param_str(const struct cg_data_param *p, int n, const char *key,
                              const char *dflt)
{
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(p[i].key, key))
            return p[i].value;
    return dflt;
}

static int parse_f64(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && errno == 0 && *v == *v ? 0 : -1;
}

static int parse_i64(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    *v = x;
    return *s && !*end && errno == 0 ? 0 : -1;
}

enum cg_status cg_data_param_f64(const struct cg_data_param *p, int n, const char *key,
                                 double dflt, double *v, struct cg_error *e)
{
    const char *s = cg_data_param_str(p, n, key, NULL);
    *v = dflt;
    if (s && parse_f64(s, v))
        return cg_error_set(e, CG_ERR_INPUT, "parameter %s: '%s' is not a number", key, s);
    return CG_OK;
}

enum cg_status cg_data_param_i64(const struct cg_data_param *p, int n, const char *key,
                                 int64_t dflt, int64_t *v, struct cg_error *e)
{
    const char *s = cg_data_param_str(p, n, key, NULL);
    *v = dflt;
    if (s && parse_i64(s, v))
        return cg_error_set(e, CG_ERR_INPUT, "parameter %s: '%s' is not an integer", key, s);
    return CG_OK;
}

/* "alpha:float=1, mnist:str=none" as a schema (the op signature parser wants "name(...)"). */
static enum cg_status builder_schema(const struct cg_builder_def *b, struct cg_schema *s,
                                     struct cg_error *e)
{
    char sig[1024], err[256];
    snprintf(sig, sizeof sig, "%s(%s)", b->name, b->params);
    if (cg_schema_parse(sig, s, err, sizeof err))
        return cg_error_set(e, CG_ERR_INPUT, "internal error: parameters of data set %s: %s",
                            b->name, err);
    return CG_OK;
}

enum cg_status cg_dataset_build(const char *name, const struct cg_data_param *params, int n,
                                uint64_t seed, struct cg_dataset **out, struct cg_error *e)
{
    *out = NULL;
    size_t nb;
    const struct cg_builder_def *bs = cg_dataset_builders(&nb), *b = NULL;
    for (size_t i = 0; i < nb; i++)
        if (!strcmp(bs[i].name, name))
            b = &bs[i];
    if (!b) {
        struct cg_buf l = {0};
        for (size_t i = 0; i < nb; i++)
            cg_buf_printf(&l, "%s%s", i ? ", " : "", bs[i].name);
        cg_error_set(e, CG_ERR_INPUT, "unknown data set '%s' (data sets: %s)", name,
                     cg_buf_str(&l));
        cg_buf_free(&l);
        return CG_ERR_INPUT;
    }
    struct cg_schema s;
    CG_TRY(builder_schema(b, &s, e));
    if (n > 16)
        return cg_error_set(e, CG_ERR_INPUT, "%s: at most 16 parameters", name);
    for (int i = 0; i < n; i++) {
        const struct cg_arg_schema *a = NULL;
        for (int k = 0; k < s.nargs; k++)
            if (!strcmp(s.args[k].name, params[i].key))
                a = &s.args[k];
        if (!a)
            return cg_error_set(e, CG_ERR_INPUT, "%s: unknown parameter '%s' (parameters: %s)",
                                name, params[i].key, b->params[0] ? b->params : "none");
        for (int k = 0; k < i; k++)
            if (!strcmp(params[k].key, params[i].key))
                return cg_error_set(e, CG_ERR_INPUT, "%s: parameter %s given twice", name,
                                    params[i].key);
        double f;
        int64_t v;
        if (a->type == CG_ARG_INT && parse_i64(params[i].value, &v))
            return cg_error_set(e, CG_ERR_INPUT, "%s: parameter %s: '%s' is not an integer",
                                name, params[i].key, params[i].value);
        if (a->type == CG_ARG_FLOAT && parse_f64(params[i].value, &f))
            return cg_error_set(e, CG_ERR_INPUT, "%s: parameter %s: '%s' is not a number", name,
                                params[i].key, params[i].value);
        if (strlen(params[i].key) >= sizeof((struct cg_dataset *)0)->param_keys[0] ||
            strlen(params[i].value) >= sizeof((struct cg_dataset *)0)->param_values[0])
            return cg_error_set(e, CG_ERR_INPUT, "%s: parameter %s: too long", name,
                                params[i].key);
    }
    for (int k = 0; k < s.nargs; k++) {
        if (!s.args[k].required)
            continue;
        int given = 0;
        for (int i = 0; i < n; i++)
            given |= !strcmp(s.args[k].name, params[i].key);
        if (!given)
            return cg_error_set(e, CG_ERR_INPUT, "%s: parameter %s is required (parameters: "
                                "%s)", name, s.args[k].name, b->params);
    }
    struct cg_dataset *d = cg_calloc(1, sizeof *d);
    if (!d)
        return cg_error_nomem(e);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->seed = seed;
    d->nparams = n;
    for (int i = 0; i < n; i++) {
        snprintf(d->param_keys[i], sizeof d->param_keys[i], "%s", params[i].key);
        snprintf(d->param_values[i], sizeof d->param_values[i], "%s", params[i].value);
    }
    enum cg_status st = b->build(d, params, n, e);
    if (st != CG_OK) {
        if (strncmp(e->msg, name, strlen(name)) != 0) {
            char msg[sizeof e->msg];
            snprintf(msg, sizeof msg, "%s", e->msg);
            cg_error_set(e, st, "%s: %s", name, msg);
        }
        cg_dataset_free(d);
        return st;
    }
    *out = d;
    return CG_OK;
}
