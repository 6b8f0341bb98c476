/* version.c: the library's version string (cg_version in clgraph.h), from the build's
 * generated cg_version.h (version and git revision). */
#include "util/util.h"

#include "cg_version.h"

const char *cg_version(void) { return CG_VERSION_STRING " (git " CG_GIT_REV ")"; }
