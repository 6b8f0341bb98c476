/* viz.c: `clgraph viz RUNDIR [--data SPEC|DIR] [--examples K] [--device D] [--out FILE]`:
 * option parsing and the final line; src/eval/viz.h builds the report (docs/VIZ.md). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "eval/viz.h"

int cg_cmd_viz(int argc, char **argv)
{
    struct cg_viz_options o = {0};
    const char *v;
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = cg_cli_opt(argc, argv, &i, "--data", &v)) != 0) {
            if (r < 0)
                return 1;
            o.data = v;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--device", &v)) != 0) {
            if (r < 0)
                return 1;
            o.device = v;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--out", &v)) != 0) {
            if (r < 0)
                return 1;
            o.out = v;
        } else if ((r = cg_cli_opt(argc, argv, &i, "--examples", &v)) != 0) {
            int64_t k;
            if (r < 0 || cg_cli_int("viz", "--examples", v, 1, 256, &k))
                return 1;
            o.examples = (int)k;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("viz", "unknown option '%s'", argv[i]);
        } else if (o.rundir) {
            return cg_cli_usage_error("viz", "one run directory at a time");
        } else {
            o.rundir = argv[i];
        }
    }
    if (!o.rundir)
        return cg_cli_usage_error("viz", "missing the RUNDIR");
    struct stat st;
    if (stat(o.rundir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "clgraph: %s: error: no such run directory\n", o.rundir);
        return 1;
    }
    struct cg_viz_result res;
    struct cg_error e = {0};
    if (cg_viz_report(&o, &res, &e) != CG_OK)
        return cg_cli_fail(&e);
    printf("wrote %s (%.0f KiB; %s) in %.1f s\n", res.path, (double)res.bytes / 1024,
           res.sections, res.seconds);
    return 0;
}
