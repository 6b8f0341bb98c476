/* check.c: `clgraph check GRAPH`: parse, expand and shape-check a graph file (being written). */
#include "cli.h"

#include <stdio.h>

int cg_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clgraph: check is not implemented yet\n");
    return 1;
}
