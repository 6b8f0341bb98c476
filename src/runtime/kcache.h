/* kcache.h: the on-disk cache of compiled OpenCL program binaries, internal to the runtime
 * (device.c decides when it is used; docs/RUNTIME.md describes the format). */
#ifndef CG_KCACHE_H
#define CG_KCACHE_H

#include "runtime/runtime.h"

/* Bumped whenever the file layout or the key's inputs change. */
#define CG_KCACHE_FORMAT 1

/* Computes the 32-byte key of a program: SHA-256 over the format version, the full source text,
 * the full build options, the device name, the driver version, and the platform name and
 * version (each length-prefixed). */
void cg_kcache_key(const struct cg_device_info *info, const char *source, size_t source_len,
                   const char *options, unsigned char key[32]);

/* Reads the entry for key from dir. Returns 0 with *bin (cg_malloc'd) and *len on success; -1
 * when there is no usable entry (missing, unreadable, bad magic, version, key or length). */
int cg_kcache_load(const char *dir, const unsigned char key[32], unsigned char **bin, size_t *len);

/* Writes the entry for key into dir (created as needed) through a temporary file and rename().
 * Returns 0, or -1 on any failure (nothing half-written remains). */
int cg_kcache_store(const char *dir, const unsigned char key[32], const unsigned char *bin,
                    size_t len);

/* Writes the path of key's entry into buf (size n); returns 0, or -1 when it does not fit. */
int cg_kcache_path(const char *dir, const unsigned char key[32], char *buf, size_t n);

#endif
