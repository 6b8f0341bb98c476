/* diag.c: diagnostics with a source location, the one format of every graph-file error:
 * "file:line:col: error: message". */
#include <stdio.h>

#include "lang/ast.h"

enum cg_status cg_error_vat(struct cg_error *e, struct cg_loc loc, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return cg_error_set(e, CG_ERR_INPUT, "%s:%d:%d: error: %s", loc.file, loc.line, loc.col, msg);
}

enum cg_status cg_error_at(struct cg_error *e, struct cg_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum cg_status st = cg_error_vat(e, loc, fmt, ap);
    va_end(ap);
    return st;
}
