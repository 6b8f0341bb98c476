/* arena.c: the bump allocator of arena.h. */
#include "arena.h"

#include <string.h>

#include "util.h"

struct cg_arena_chunk {
    struct cg_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *cg_arena_alloc(struct cg_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct cg_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = cg_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *cg_arena_strndup(struct cg_arena *a, const char *s, size_t n)
{
    char *d = cg_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *cg_arena_strdup(struct cg_arena *a, const char *s) { return cg_arena_strndup(a, s, strlen(s)); }

void cg_arena_free(struct cg_arena *a)
{
    struct cg_arena_chunk *c = a->head;
    while (c) {
        struct cg_arena_chunk *n = c->next;
        cg_free(c);
        c = n;
    }
    a->head = NULL;
}
