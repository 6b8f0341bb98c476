/* npy.h: reading and writing NumPy .npy files, the exchange format of `clgraph run` feeds and
 * fetches, golden fixtures and saved arrays.
 *
 * Supported: format versions 1.0, 2.0 and 3.0 on read (1.0 on write), dtypes '<f4' (float32),
 * '<i4' (int32) and '|u1' (uint8), C order, rank 0 to CG_NPY_MAX_RANK. Anything else (other
 * dtypes, big-endian, Fortran order, structured or object arrays, malformed or truncated files)
 * is refused with CG_ERR_INPUT and a message that names the file and what is wrong. Written files
 * are byte-identical to what np.save writes for the same array (NumPy 1.24 padding) and appear
 * atomically (temp file, fsync, rename). */
#ifndef CG_NPY_H
#define CG_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define CG_NPY_MAX_RANK 8

enum cg_npy_dtype {
    CG_NPY_F32, /* '<f4' */
    CG_NPY_I32, /* '<i4' */
    CG_NPY_U8,  /* '|u1' */
};

/* An array read from a .npy file. data holds count elements (nbytes bytes) in C order, host
 * byte order; it is cg_malloc'd (never NULL after a successful read, even when count is 0) and
 * owned by the struct: release it with cg_npy_free. */
struct cg_npy {
    enum cg_npy_dtype dtype;
    int rank;
    int64_t shape[CG_NPY_MAX_RANK];
    size_t count;
    size_t nbytes;
    void *data;
};

/* Returns the NumPy descr of dtype ("<f4", "<i4", "|u1"). */
const char *cg_npy_dtype_descr(enum cg_npy_dtype dtype);

/* Returns the size in bytes of one element of dtype (4, 4, 1). */
size_t cg_npy_dtype_size(enum cg_npy_dtype dtype);

/* Reads the .npy file at path into *out (zeroed first, also on failure). Returns CG_OK;
 * CG_ERR_INPUT with "PATH: error: ..." when the file cannot be read or is not a supported .npy
 * file; CG_ERR_NOMEM when an allocation fails. On failure nothing needs freeing. */
enum cg_status cg_npy_read(const char *path, struct cg_npy *out, struct cg_error *e);

/* Like cg_npy_read, from the len bytes at bytes (not retained; the data are copied). name stands
 * for the file in messages. */
enum cg_status cg_npy_read_mem(const char *name, const void *bytes, size_t len, struct cg_npy *out,
                               struct cg_error *e);

/* Writes a v1.0 .npy file at path holding the C-order array of rank 0..CG_NPY_MAX_RANK with the
 * given shape and dtype, whose elements (product of shape, host byte order) are at data (may be
 * NULL when there are none). The file is written to a temp file in the same directory, synced
 * and renamed over path, so readers never see a partial file. Returns CG_OK, CG_ERR_INPUT for a
 * bad rank, dtype or shape or an I/O failure ("PATH: error: ..."), or CG_ERR_NOMEM. */
enum cg_status cg_npy_write(const char *path, enum cg_npy_dtype dtype, const int64_t *shape,
                            int rank, const void *data, struct cg_error *e);

/* Frees a's data and zeroes it. a may be NULL; freeing twice is harmless. */
void cg_npy_free(struct cg_npy *a);

#endif
