/* parse.h: the recursive-descent parser of the graph language (GRAPH_LANGUAGE.md, version 1) and
 * the loader that follows `import` statements.
 *
 * cg_parse turns one file's text into a struct cg_ast_file. cg_program_load reads a main file and,
 * transitively, every file it imports (paths relative to the importing file), rejecting cycles and
 * missing files with the location of the offending import. */
#ifndef CG_PARSE_H
#define CG_PARSE_H

#include "lang/ast.h"

/* Deepest nesting of brackets, calls and unary minus accepted in one expression. */
#define CG_MAX_NESTING 200
/* Largest height of an expression tree (a chain of n binary operators has height n + 1). */
#define CG_MAX_EXPR_HEIGHT 1000
/* Largest graph file accepted. */
#define CG_MAX_FILE_BYTES (16u << 20)

/* Parses text[0..len) of the file `path` into *out (allocated in arena). Returns CG_OK or
 * CG_ERR_INPUT with "path:line:col: error: ..." in e. */
enum cg_status cg_parse(const char *path, const char *text, size_t len, struct cg_arena *arena,
                        struct cg_ast_file **out, struct cg_error *e);

/* A main file and everything it imports, in load order (main file first). */
struct cg_program {
    struct cg_arena arena;
    struct cg_ast_file **files;
    int nfiles;
};

/* Loads `path` and its imports into *prog (which the caller zero-initialises and later frees with
 * cg_program_free, also after an error). */
enum cg_status cg_program_load(struct cg_program *prog, const char *path, struct cg_error *e);

/* Loads a program whose main file is given as text (for tests and embedding); imports are
 * resolved relative to the directory of `path`. */
enum cg_status cg_program_load_text(struct cg_program *prog, const char *path, const char *text,
                                    size_t len, struct cg_error *e);

void cg_program_free(struct cg_program *prog);

#endif
