/* idx.h: reading and writing IDX files, the format of MNIST and Fashion-MNIST.
 *
 * An IDX file is the magic 0x00 0x00 TYPE NDIMS, NDIMS big-endian u32 dimensions, then the
 * elements in C order, big-endian. Supported types: 0x08 (u8), 0x0C (i32) and 0x0D (f32); 1 to
 * CG_IDX_MAX_DIMS dimensions. Files may be gzip-compressed (recognised by the gzip magic, not the
 * name); they are inflated through zlib. The reader checks the magic, the type, the rank, that
 * the element count does not overflow, and that the data are exactly as long as the dimensions
 * say (truncated files and trailing bytes are errors), before it allocates the elements. The
 * writer writes to a temporary file next to the target and renames it. */
#ifndef CG_IDX_H
#define CG_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define CG_IDX_MAX_DIMS 8

enum cg_idx_dtype {
    CG_IDX_U8 = 0x08,
    CG_IDX_I32 = 0x0C,
    CG_IDX_F32 = 0x0D,
};

/* An array read from an IDX file: count elements (nbytes bytes) in C order, host byte order.
 * data is cg_malloc'd (never NULL after a successful read) and owned: release with
 * cg_idx_free. */
struct cg_idx {
    enum cg_idx_dtype dtype;
    int ndims;
    int64_t shape[CG_IDX_MAX_DIMS];
    size_t count;
    size_t nbytes;
    void *data;
};

/* Returns the size in bytes of one element of dtype (1, 4, 4), or 0 for an unknown type. */
size_t cg_idx_dtype_size(enum cg_idx_dtype dtype);

/* Reads the IDX file at path (raw or gzip) into *out (zeroed first, also on failure). Returns
 * CG_OK; CG_ERR_INPUT with "PATH: error: ..." (the byte offset where it helps) when the file
 * cannot be read or is not a valid IDX file; CG_ERR_NOMEM. On failure nothing needs freeing. */
enum cg_status cg_idx_read(const char *path, struct cg_idx *out, struct cg_error *e);

/* Like cg_idx_read from the len bytes at bytes (raw or gzip; copied, not retained). name stands
 * for the file in messages. */
enum cg_status cg_idx_read_mem(const char *name, const void *bytes, size_t len,
                               struct cg_idx *out, struct cg_error *e);

/* Writes an IDX file at path: ndims (1..CG_IDX_MAX_DIMS) dimensions shape (each in
 * [0, 2^32)), elements at data in host byte order (may be NULL when there are none). When path
 * ends in ".gz" the file is gzip-compressed. Atomic (temp file, fsync, rename). Returns CG_OK,
 * CG_ERR_INPUT for a bad type, rank or shape or an I/O failure ("PATH: error: ..."), or
 * CG_ERR_NOMEM. */
enum cg_status cg_idx_write(const char *path, enum cg_idx_dtype dtype, const int64_t *shape,
                            int ndims, const void *data, struct cg_error *e);

/* Frees a's data and zeroes it; NULL and double frees are harmless. */
void cg_idx_free(struct cg_idx *a);

#endif
