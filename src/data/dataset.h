/* dataset.h: data sets in memory, on disk, and the registry of data set builders.
 *
 * A data set has two splits (train, test); a split is a set of named fields with the same
 * number of examples: x (f32 images [N, C, H, W] in [0, 1]), y (i32 labels), and whatever the
 * data set adds (group, digit, object, z, ...). On disk a data set is a directory
 * DIR/train/FIELD.npy, DIR/test/FIELD.npy and DIR/info.json (name, parameters, seed, fields with
 * dtype and per-example shape, counts), written atomically; `clgraph data build NAME --out DIR`
 * writes one, training reads one.
 *
 * Builders are registered in src/data/datasets.def (one line each: name, parameter signature,
 * description, build function), like the op table. A builder is deterministic given its
 * parameters and seed: the same call gives byte-identical fields. */
#ifndef CG_DATASET_H
#define CG_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "data/npy.h"
#include "util/util.h"

#define CG_FIELD_MAX_RANK 7 /* per-example dims */
#define CG_MAX_FIELDS 16

/* One field of one split: count examples of the per-example shape, C order, dtype f32/i32/u8. */
struct cg_field {
    char name[32];
    enum cg_npy_dtype dtype;
    int rank;                          /* per-example rank (0 for a scalar label) */
    int64_t shape[CG_FIELD_MAX_RANK];  /* per-example shape */
    size_t count;                      /* examples */
    void *data;                        /* cg_malloc'd, count * prod(shape) elements */
};

struct cg_split {
    size_t count; /* examples (every field has this many) */
    int nfields;
    struct cg_field fields[CG_MAX_FIELDS];
};

/* A parameter of a builder call: "alpha=1", "mnist=/path". */
struct cg_data_param {
    const char *key, *value;
};

struct cg_dataset {
    char name[64];
    uint64_t seed;
    int nparams;
    char param_keys[16][32], param_values[16][256]; /* as given, for info.json */
    struct cg_split train, test;
};

/* Elements of one example of f (product of its shape). */
size_t cg_field_example_size(const struct cg_field *f);

/* Adds a field to a split, allocating count examples of the given shape (zeroed). Fails when
 * the split is full, the name is taken, or count differs from the split's (except for the first
 * field, which sets it). *out points into the split. */
enum cg_status cg_split_add(struct cg_split *s, const char *name, enum cg_npy_dtype dtype,
                            int rank, const int64_t *shape, size_t count, struct cg_field **out,
                            struct cg_error *e);

/* The field named `name`, or NULL. */
const struct cg_field *cg_split_field(const struct cg_split *s, const char *name);

/* Frees every field's data of both splits and the data set itself; NULL is a no-op. */
void cg_dataset_free(struct cg_dataset *d);

/* Writes DIR/{train,test}/FIELD.npy and DIR/info.json (each file atomically; DIR created). */
enum cg_status cg_dataset_save(const struct cg_dataset *d, const char *dir, struct cg_error *e);

/* Reads a directory written by cg_dataset_save (validating info.json against the files: field
 * names, dtypes, shapes, counts). Errors name the path and what is wrong. */
enum cg_status cg_dataset_load(const char *dir, struct cg_dataset **out, struct cg_error *e);

/* ---- builders ---- */

struct cg_builder_def {
    const char *name;
    const char *params;      /* "alpha:float=1, mnist:str=none" (the op signature syntax) */
    const char *fields;      /* "x f32[3,28,28], y i32, digit i32" (documentation) */
    const char *description; /* one line */
    enum cg_status (*build)(struct cg_dataset *d, const struct cg_data_param *params, int n,
                            struct cg_error *e);
};

/* The registered builders (datasets.def) and their count. */
const struct cg_builder_def *cg_dataset_builders(size_t *count);

/* Builds data set `name` with params (validated against the builder's signature: unknown keys,
 * bad values and missing required ones are CG_ERR_INPUT naming the builder) and seed. */
enum cg_status cg_dataset_build(const char *name, const struct cg_data_param *params, int n,
                                uint64_t seed, struct cg_dataset **out, struct cg_error *e);

/* Reads parameter `key` of a build call as a string / double / int64, with a default when it
 * is absent. A value that does not parse is CG_ERR_INPUT naming the key. */
const char *cg_data_param_str(const struct cg_data_param *p, int n, const char *key,
                              const char *dflt);
enum cg_status cg_data_param_f64(const struct cg_data_param *p, int n, const char *key,
                                 double dflt, double *v, struct cg_error *e);
enum cg_status cg_data_param_i64(const struct cg_data_param *p, int n, const char *key,
                                 int64_t dflt, int64_t *v, struct cg_error *e);

#endif
