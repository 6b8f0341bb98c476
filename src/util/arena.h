/* arena.h: a bump allocator for data that dies together (a file's syntax tree, a graph's names).
 * Memory comes from cg_malloc in chunks; cg_arena_free releases everything at once. */
#ifndef CG_ARENA_H
#define CG_ARENA_H

#include <stddef.h>

struct cg_arena_chunk;

struct cg_arena {
    struct cg_arena_chunk *head;
};

/* Returns n zeroed bytes aligned for any type, or NULL when out of memory. */
void *cg_arena_alloc(struct cg_arena *a, size_t n);
/* Copies n bytes of s into the arena and NUL-terminates; NULL when out of memory. */
char *cg_arena_strndup(struct cg_arena *a, const char *s, size_t n);
char *cg_arena_strdup(struct cg_arena *a, const char *s);
/* Frees every allocation of the arena; the arena stays usable (empty). */
void cg_arena_free(struct cg_arena *a);

#endif
