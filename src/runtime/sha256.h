/* sha256.h: SHA-256, internal to the runtime (keys of the on-disk kernel binary cache). */
#ifndef CG_SHA256_H
#define CG_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct cg_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
};

/* Starts a hash; feed bytes with cg_sha256_update; cg_sha256_final writes the 32-byte digest
 * (the state is consumed). */
void cg_sha256_init(struct cg_sha256 *s);
void cg_sha256_update(struct cg_sha256 *s, const void *data, size_t n);
void cg_sha256_final(struct cg_sha256 *s, unsigned char out[32]);

#endif
