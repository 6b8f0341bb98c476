/* cli.h: the command-line interface of clgraph: the subcommand functions (one per line of
 * commands.def) and the helpers they share (implemented in main.c). Unlike the library, the CLI
 * prints and chooses exit codes: 0 success, 1 usage or input error, 2 device/runtime failure. */
#ifndef CG_CLI_H
#define CG_CLI_H

#include "util/util.h"

/* Every subcommand: argv[0] is the command name ("devices"), argv[1..argc) its arguments; the
 * return value is the process exit code. */
#define CG_CMD(name, fn, summary, usage) int fn(int argc, char **argv);
#include "cli/commands.def"
#undef CG_CMD

/* Matches argv[*i] against the option `name` ("--device") taking a value, in either form
 * "--device VALUE" or "--device=VALUE". Returns 1 and sets *value (advancing *i past a separate
 * value) when it matches, 0 when argv[*i] is another argument, and -1 (after printing
 * "clgraph: option --device needs a value" to stderr) when the value is missing. */
int cg_cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses v, the value of option opt of command cmd, as a decimal integer in [min, max]: 0 and
 * *out set, or -1 after printing "clgraph CMD: OPT expects an integer >= MIN[ and <= MAX],
 * got 'V'" (a usage error, exit code 1). */
int cg_cli_int(const char *cmd, const char *opt, const char *v, int64_t min, int64_t max,
               int64_t *out);

/* Prints e->msg to stderr (prefixed with "clgraph: " unless it already starts with "error:" or
 * a "file:line..." location) and returns the exit code of e->status. */
int cg_cli_fail(const struct cg_error *e);

/* Prints "clgraph COMMAND: MESSAGE" and a pointer to the command's --help to stderr; returns
 * 1, the exit code of a usage error. */
int cg_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
