/* fileio.c: atomic file writes and in-memory gzip streams (see fileio.h). */
#include "data/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

enum cg_status cg_file_write_atomic(const char *path, const void *data, size_t n,
                                    struct cg_error *e)
{
    return cg_file_write_atomic_parts(path, &data, &n, 1, e);
}

enum cg_status cg_file_write_atomic_parts(const char *path, const void *const *parts,
                                          const size_t *lens, int nparts, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    size_t plen = strlen(path);
    char *tmp = cg_malloc(plen + 16);
    if (!tmp)
        return cg_error_nomem(e);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create a temporary file next to it: %s",
                          path, strerror(errno));
        cg_free(tmp);
        return st;
    }
    int bad = fchmod(fd, 0644) != 0;
    for (int i = 0; i < nparts && !bad; i++)
        bad = write_all(fd, parts[i], lens[i]) != 0;
    if (bad || fsync(fd) != 0) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot write %s: %s", path, tmp,
                          strerror(errno));
        close(fd);
        goto error;
    }
    if (close(fd) != 0) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot write %s: %s", path, tmp,
                          strerror(errno));
        goto error;
    }
    if (rename(tmp, path) != 0) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot rename %s to it: %s", path, tmp,
                          strerror(errno));
        goto error;
    }
    /* Make the rename durable: sync the directory (best effort). */
    char *slash = strrchr(tmp, '/');
    if (slash == tmp)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    int dfd = open(slash ? tmp : ".", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    cg_free(tmp);
    return CG_OK;

error:
    unlink(tmp);
    cg_free(tmp);
    return st;
}

enum cg_status cg_gzip_compress(const void *data, size_t n, uint8_t **out, size_t *out_len,
                                struct cg_error *e)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return cg_error_nomem(e);
    size_t cap = deflateBound(&z, n > 0xffffffffu ? 0xffffffffu : (uLong)n) + 64;
    if (n > 0xffffffffu)
        cap = n + n / 1000 + 1024;
    uint8_t *buf = cg_malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return cg_error_nomem(e);
    }
    const uint8_t *src = data;
    size_t left = n, done = 0;
    int ret;
    do {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        z.next_in = (Bytef *)(uintptr_t)(src + (n - left));
        z.avail_in = chunk;
        left -= chunk;
        z.next_out = buf + done;
        z.avail_out = (uInt)((cap - done) > (1u << 30) ? (1u << 30) : (cap - done));
        size_t before = z.avail_out;
        ret = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
        done += before - z.avail_out;
        left += z.avail_in;
        if (ret == Z_STREAM_ERROR || (ret == Z_BUF_ERROR && done == cap)) {
            deflateEnd(&z);
            cg_free(buf);
            return cg_error_set(e, CG_ERR_INPUT, "gzip compression failed (zlib %d)", ret);
        }
    } while (ret != Z_STREAM_END);
    deflateEnd(&z);
    *out = buf;
    *out_len = done;
    return CG_OK;
}

int cg_is_gzip(const void *bytes, size_t len)
{
    const uint8_t *b = bytes;
    return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

enum cg_status cg_gzin_open(struct cg_gzin *g, const char *name, const void *src, size_t len,
                            struct cg_error *e)
{
    memset(g, 0, sizeof *g);
    g->src = src;
    g->len = len;
    if (inflateInit2(&g->z, 15 + 16) != Z_OK)
        return cg_error_set(e, CG_ERR_NOMEM, "%s: error: cannot start inflating (out of memory)",
                            name);
    g->open = 1;
    g->z.next_in = (Bytef *)(uintptr_t)src;
    g->z.avail_in = len > (1u << 30) ? (1u << 30) : (uInt)len;
    return CG_OK;
}

static size_t gz_consumed(const struct cg_gzin *g) { return (size_t)(g->z.next_in - g->src); }

enum cg_status cg_gzin_read(struct cg_gzin *g, const char *name, void *dst, size_t n,
                            size_t *got, struct cg_error *e)
{
    uint8_t scratch[4096];
    size_t total = 0;
    while (total < n && !g->ended) {
        size_t want = n - total;
        uint8_t *out = dst ? (uint8_t *)dst + total : scratch;
        if (!dst && want > sizeof scratch)
            want = sizeof scratch;
        if (want > (1u << 30))
            want = 1u << 30;
        /* refill the input window (it is capped at 1 GiB per call) */
        size_t used = gz_consumed(g);
        if (g->z.avail_in == 0 && used < g->len)
            g->z.avail_in = (g->len - used) > (1u << 30) ? (1u << 30) : (uInt)(g->len - used);
        g->z.next_out = out;
        g->z.avail_out = (uInt)want;
        int ret = inflate(&g->z, Z_NO_FLUSH);
        total += want - g->z.avail_out;
        if (ret == Z_STREAM_END) {
            size_t at = gz_consumed(g);
            size_t rest = g->len - at;
            if (rest == 0) {
                g->ended = 1;
            } else if (cg_is_gzip(g->src + at, rest)) {
                inflateReset(&g->z);
            } else {
                *got = total;
                return cg_error_set(e, CG_ERR_INPUT,
                                    "%s: error: %zu trailing bytes after the gzip stream at "
                                    "compressed byte %zu",
                                    name, rest, at);
            }
        } else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
            *got = total;
            return cg_error_set(e, CG_ERR_INPUT,
                                "%s: error: corrupt gzip data at compressed byte %zu (zlib: %s)",
                                name, gz_consumed(g), g->z.msg ? g->z.msg : "data error");
        } else if (ret == Z_MEM_ERROR) {
            *got = total;
            return cg_error_nomem(e);
        } else if (ret == Z_BUF_ERROR || (ret == Z_OK && g->z.avail_out > 0 &&
                                          gz_consumed(g) == g->len)) {
            if (gz_consumed(g) == g->len) {
                *got = total;
                return cg_error_set(e, CG_ERR_INPUT,
                                    "%s: error: truncated gzip stream (it ends after %zu "
                                    "compressed bytes, inside the data)",
                                    name, g->len);
            }
        }
    }
    *got = total;
    return CG_OK;
}

void cg_gzin_close(struct cg_gzin *g)
{
    if (g->open)
        inflateEnd(&g->z);
    g->open = 0;
}

void cg_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *ent;
            while ((ent = readdir(d)) != NULL) {
                if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
                    continue;
                char sub[4200];
                snprintf(sub, sizeof sub, "%s/%s", path, ent->d_name);
                cg_remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}
