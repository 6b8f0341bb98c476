/* kcache.c: the on-disk kernel binary cache: keys, the entry file format, atomic writes.
 *
 * An entry is DIR/<64 hex digits of the key>.clbin:
 *     bytes 0..3    magic "CGKB"
 *     bytes 4..7    format version, little-endian uint32 (CG_KCACHE_FORMAT)
 *     bytes 8..39   the key
 *     bytes 40..47  binary length, little-endian uint64
 *     bytes 48..    the program binary of one device
 * Readers treat any mismatch as a miss; writers go through a temporary file and rename(). */
#include "runtime/kcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/sha256.h"

#define CG_KCACHE_HEADER 48
#define CG_KCACHE_MAX_BINARY (512ull << 20)

static void hash_field(struct cg_sha256 *s, const void *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    cg_sha256_update(s, len, 8);
    cg_sha256_update(s, p, n);
}

static void hash_str(struct cg_sha256 *s, const char *str) { hash_field(s, str, strlen(str)); }

void cg_kcache_key(const struct cg_device_info *info, const char *source, size_t source_len,
                   const char *options, unsigned char key[32])
{
    struct cg_sha256 s;
    cg_sha256_init(&s);
    char fmt[32];
    snprintf(fmt, sizeof fmt, "clgraph-kcache-%d", CG_KCACHE_FORMAT);
    hash_str(&s, fmt);
    hash_field(&s, source, source_len);
    hash_str(&s, options);
    hash_str(&s, info->name);
    hash_str(&s, info->driver_version);
    hash_str(&s, info->platform_name);
    hash_str(&s, info->platform_version);
    cg_sha256_final(&s, key);
}

int cg_kcache_path(const char *dir, const unsigned char key[32], char *buf, size_t n)
{
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    int w = snprintf(buf, n, "%s/%s.clbin", dir, hex);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int cg_kcache_load(const char *dir, const unsigned char key[32], unsigned char **bin, size_t *len)
{
    char path[4096];
    unsigned char hdr[CG_KCACHE_HEADER];
    unsigned char *data = NULL;
    FILE *f = NULL;

    *bin = NULL;
    *len = 0;
    if (cg_kcache_path(dir, key, path, sizeof path))
        return -1;
    f = fopen(path, "rb");
    if (!f)
        return -1;
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, "CGKB", 4) != 0 ||
        get_le(hdr + 4, 4) != CG_KCACHE_FORMAT || memcmp(hdr + 8, key, 32) != 0)
        goto error;
    uint64_t n = get_le(hdr + 40, 8);
    if (n == 0 || n > CG_KCACHE_MAX_BINARY)
        goto error;
    data = cg_malloc((size_t)n);
    if (!data)
        goto error;
    unsigned char extra;
    if (fread(data, 1, (size_t)n, f) != n || fread(&extra, 1, 1, f) != 0)
        goto error;
    fclose(f);
    *bin = data;
    *len = (size_t)n;
    return 0;
error:
    cg_free(data);
    fclose(f);
    return -1;
}

/* mkdir -p. Returns 0 when path exists as a directory afterwards. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

int cg_kcache_store(const char *dir, const unsigned char key[32], const unsigned char *bin,
                    size_t len)
{
    char path[4096], tmp[4200];
    unsigned char hdr[CG_KCACHE_HEADER];
    if (make_dirs(dir) || cg_kcache_path(dir, key, path, sizeof path))
        return -1;
    int w = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (w < 0 || (size_t)w >= sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    memcpy(hdr, "CGKB", 4);
    put_le(hdr + 4, CG_KCACHE_FORMAT, 4);
    memcpy(hdr + 8, key, 32);
    put_le(hdr + 40, len, 8);
    int bad = fwrite(hdr, 1, sizeof hdr, f) != sizeof hdr || fwrite(bin, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
