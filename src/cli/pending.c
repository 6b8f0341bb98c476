/* pending.c: the subcommands that are not written yet. Each says so on stderr, with what it will
 * do, and exits 1; each moves to its own file when it is implemented. */
#include "cli/cli.h"

#include <stdio.h>

static int pending(const char *name, const char *what)
{
    fprintf(stderr, "clgraph: '%s' is not implemented yet (it will %s)\n", name, what);
    return 1;
}

int cg_cmd_eval(int argc, char **argv)
{
    (void)argc, (void)argv;
    return pending("eval", "evaluate a trained run with metrics and probes");
}
