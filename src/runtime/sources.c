/* sources.c: access to the OpenCL C sources of cl/, embedded at build time
 * (cmake/embed_cl.cmake), with the CLGRAPH_CL_DIR override for kernel development. */
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest source file accepted from CLGRAPH_CL_DIR. */
#define CG_CL_MAX_BYTES (16u << 20)

enum cg_status cg_cl_source_get(const char *name, char **text, size_t *len, struct cg_error *e)
{
    *text = NULL;
    *len = 0;
    if (!name || !*name || strchr(name, '/'))
        return cg_error_set(e, CG_ERR_INPUT, "error: invalid OpenCL source name '%s'",
                            name ? name : "(null)");
    const char *dir = getenv("CLGRAPH_CL_DIR");
    if (dir && *dir) {
        struct cg_buf path = {0};
        cg_buf_printf(&path, "%s/%s", dir, name);
        if (path.oom) {
            cg_buf_free(&path);
            return cg_error_nomem(e);
        }
        enum cg_status st = CG_OK;
        if (access(cg_buf_str(&path), F_OK) == 0) {
            st = cg_read_file(cg_buf_str(&path), CG_CL_MAX_BYTES, text, len, e);
            cg_buf_free(&path);
            return st;
        }
        cg_buf_free(&path);
    }
    for (size_t i = 0; i < cg_cl_source_count; i++) {
        if (strcmp(cg_cl_sources[i].name, name) == 0) {
            *text = cg_strndup(cg_cl_sources[i].text, cg_cl_sources[i].len);
            if (!*text)
                return cg_error_nomem(e);
            *len = cg_cl_sources[i].len;
            return CG_OK;
        }
    }
    cg_error_set(e, CG_ERR_INPUT, "error: unknown OpenCL source cl/%s", name);
    struct cg_buf known = {0};
    for (size_t i = 0; i < cg_cl_source_count; i++)
        cg_buf_printf(&known, "%s%s", i ? ", " : "", cg_cl_sources[i].name);
    cg_error_note(e, "note: embedded sources: %s", known.oom ? "?" : cg_buf_str(&known));
    cg_buf_free(&known);
    return CG_ERR_INPUT;
}
