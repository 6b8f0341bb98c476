/* util.h: the small shared base of every clgraph module.
 *
 * Status codes and the error value that fallible functions fill, the one allocator every host
 * allocation goes through (so tests can make the n-th allocation fail), a growable string buffer
 * and a growable-array helper. Library code never prints and never exits: it returns a status and
 * leaves the message in a struct cg_error for the caller (the CLI) to show. */
#ifndef CG_UTIL_H
#define CG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* enum cg_status and struct cg_error are public (include/clgraph/clgraph.h). */
#include <clgraph/clgraph.h>

/* Sets *e to status st with a printf-formatted message (replacing any previous one) and returns
 * st, so that `return cg_error_set(e, CG_ERR_INPUT, "...")` reads naturally. e may be NULL. */
enum cg_status cg_error_set(struct cg_error *e, enum cg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum cg_status cg_error_vset(struct cg_error *e, enum cg_status st, const char *fmt, va_list ap);

/* Appends a printf-formatted line ("\n" + text) to e's message, for notes. */
void cg_error_note(struct cg_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets e to CG_ERR_NOMEM ("out of host memory") and returns CG_ERR_NOMEM. */
enum cg_status cg_error_nomem(struct cg_error *e);

/* Maps a status to the CLI exit code: 0 ok, 1 input error, 2 device/runtime/memory failure. */
int cg_status_exit_code(enum cg_status st);

/* The allocator. All host memory of the library comes from these; they return NULL on failure
 * (never abort). cg_free(NULL) is a no-op. */
void *cg_malloc(size_t n);
void *cg_calloc(size_t count, size_t n);
void *cg_realloc(void *p, size_t n);
void cg_free(void *p);
char *cg_strdup(const char *s);
char *cg_strndup(const char *s, size_t n);

/* Test hook: after `n` further successful allocations, every allocation fails until reset with
 * n < 0 (the default). Counts calls of cg_malloc/cg_calloc/cg_realloc/cg_strdup. */
void cg_alloc_fail_after(long n);

/* Ensures *arr (elements of size elem) has room for `need` elements, growing *cap geometrically.
 * Returns 0 on success, -1 on allocation failure (then *arr and *cap are unchanged). */
int cg_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Convenience: push one element into a (ptr, len, cap) triple; evaluates to 0 or -1. */
#define CG_PUSH(ptr, len, cap, value)                                                            \
    (cg_grow((void **)&(ptr), &(cap), (len) + 1, sizeof(*(ptr))) ? -1                             \
                                                                  : ((ptr)[(len)++] = (value), 0))

/* A growable NUL-terminated string. Zero-initialise before use; free with cg_buf_free. Once an
 * allocation fails the buffer is marked failed (oom = 1) and further appends do nothing. */
struct cg_buf {
    char *data;
    size_t len, cap;
    int oom;
};
void cg_buf_printf(struct cg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap);
void cg_buf_append(struct cg_buf *b, const char *s, size_t n);
/* Appends s as a JSON string literal (with quotes and escapes). */
void cg_buf_json_str(struct cg_buf *b, const char *s);
/* Returns the text ("" when empty; never NULL). */
const char *cg_buf_str(const struct cg_buf *b);
void cg_buf_free(struct cg_buf *b);

/* Reads a whole file into a NUL-terminated heap buffer (*out, length *len). On failure returns
 * CG_ERR_INPUT with "PATH: <reason>" in e. Files larger than max_bytes are refused. */
enum cg_status cg_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                            struct cg_error *e);

/* Levenshtein distance between a and b, capped: returns a value > cap as cap + 1. */
int cg_edit_distance(const char *a, const char *b, int cap);

/* Returns the status of a fallible call from the enclosing function when it is not CG_OK. */
#define CG_TRY(x)                                                                                  \
    do {                                                                                           \
        enum cg_status cg_try_st_ = (x);                                                           \
        if (cg_try_st_ != CG_OK)                                                                   \
            return cg_try_st_;                                                                     \
    } while (0)

#define CG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
