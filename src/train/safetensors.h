/* safetensors.h: a small writer and reader of the safetensors format
 * (https://huggingface.co/docs/safetensors), the container of clgraph's checkpoints.
 *
 * Layout: an 8-byte little-endian unsigned header length H; H bytes of a JSON object
 * {"__metadata__": {"key": "value", ...}, "NAME": {"dtype": "F32", "shape": [d0, ...],
 * "data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8; then the raw
 * little-endian tensor data, offsets relative to the start of the data section, tensors packed
 * in header order without gaps. Metadata values are strings (the format's rule). Only F32 and
 * I32 tensors are written and read here.
 *
 * The reader validates everything it relies on (header length within the file, JSON syntax,
 * known dtypes, offsets in order, inside the data and matching dtype x shape) and reports the
 * first problem as CG_ERR_INPUT "PATH: error: corrupt checkpoint: ...". */
#ifndef CG_SAFETENSORS_H
#define CG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define CG_ST_MAX_RANK 8

struct cg_st_tensor {
    char *name;   /* owned by the file object (reader) or borrowed (writer) */
    int is_int;   /* I32, else F32 */
    int rank;
    int64_t shape[CG_ST_MAX_RANK];
    const void *data; /* nbytes bytes: into the file buffer (reader) or the caller's (writer) */
    size_t nbytes;
};

struct cg_st_meta {
    char *key, *value;
};

/* A safetensors file: the writer's description, or what the reader found. */
struct cg_st_file {
    struct cg_st_tensor *tensors;
    int ntensors;
    struct cg_st_meta *meta;
    int nmeta;
    char *buf; /* reader: the whole file */
};

/* Serialises f (tensors and metadata as given; nbytes must equal 4 x numel) into the header
 * bytes: *hdr (cg_malloc'd, 8-byte length prefix included, padded) of *hdr_len bytes; the data
 * section is the tensors' bytes in order. The caller writes hdr then each tensor's data. */
enum cg_status cg_st_header(const struct cg_st_file *f, char **hdr, size_t *hdr_len,
                            struct cg_error *e);

/* Reads and validates path into *f (free with cg_st_free). */
enum cg_status cg_st_read(const char *path, struct cg_st_file *f, struct cg_error *e);

void cg_st_free(struct cg_st_file *f);

/* The tensor / metadata value called name, or NULL. */
const struct cg_st_tensor *cg_st_tensor(const struct cg_st_file *f, const char *name);
const char *cg_st_meta_get(const struct cg_st_file *f, const char *key);

/* FNV-1a 64 of n bytes, continuing from h (start with CG_FNV_INIT). */
#define CG_FNV_INIT 0xcbf29ce484222325ull
uint64_t cg_fnv1a(uint64_t h, const void *data, size_t n);

#endif
