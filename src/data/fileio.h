/* fileio.h: the file plumbing of the data readers: atomic writes and gzip streams in memory.
 *
 * cg_file_write_atomic writes to PATH.tmp.XXXXXX next to the target, syncs, renames and syncs
 * the directory, so no reader ever sees a partial file and a failure leaves nothing behind.
 * struct cg_gzin inflates a gzip buffer (one or several concatenated members) piecewise, so a
 * reader can look at a header before it decides how much to allocate. */
#ifndef CG_FILEIO_H
#define CG_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "util/util.h"

/* Writes the n bytes at data to path atomically. CG_ERR_INPUT ("PATH: error: cannot ...") on an
 * I/O failure (the temporary file removed), CG_ERR_NOMEM. */
enum cg_status cg_file_write_atomic(const char *path, const void *data, size_t n,
                                    struct cg_error *e);

/* The same for the concatenation of nparts buffers (parts[i], lens[i] bytes each). */
enum cg_status cg_file_write_atomic_parts(const char *path, const void *const *parts,
                                          const size_t *lens, int nparts, struct cg_error *e);

/* Compresses n bytes into a gzip stream (*out cg_malloc'd, *out_len bytes). */
enum cg_status cg_gzip_compress(const void *data, size_t n, uint8_t **out, size_t *out_len,
                                struct cg_error *e);

/* A gzip stream being inflated from memory. */
struct cg_gzin {
    z_stream z;
    const uint8_t *src;
    size_t len;
    int open, ended; /* ended: the last member's end was reached and no input is left */
};

/* Starts inflating the len bytes at src (which must stay valid). name is for messages. */
enum cg_status cg_gzin_open(struct cg_gzin *g, const char *name, const void *src, size_t len,
                            struct cg_error *e);

/* Inflates up to n bytes into dst (NULL: discard them); *got receives how many came (fewer
 * than n only at the end of the stream). A corrupt or truncated stream is CG_ERR_INPUT:
 * "NAME: error: corrupt gzip data at compressed byte OFFSET (zlib: ...)" or "NAME: error:
 * truncated gzip stream (...)". Bytes after the last member that are not another member are
 * "trailing bytes after the gzip stream". */
enum cg_status cg_gzin_read(struct cg_gzin *g, const char *name, void *dst, size_t n,
                            size_t *got, struct cg_error *e);

void cg_gzin_close(struct cg_gzin *g);

/* Whether the bytes start with the gzip magic 0x1f 0x8b. */
int cg_is_gzip(const void *bytes, size_t len);

/* Removes path and, for a directory, everything below it (best effort: errors are ignored;
 * symbolic links are removed, never followed). */
void cg_remove_tree(const char *path);

#endif
