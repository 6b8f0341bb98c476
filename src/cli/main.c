/* main.c: the clgraph executable: dispatch to the subcommands of commands.def, help, version,
 * and the helpers shared by the subcommands (cli.h). */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cg_version.h"

struct cg_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    const char *usage;
};

static const struct cg_command commands[] = {
#define CG_CMD(name, fn, summary, usage) {#name, fn, summary, usage},
#include "cli/commands.def"
#undef CG_CMD
};

static const struct cg_command *find_command(const char *name)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: clgraph COMMAND [ARGS...]\n\n"
               "Trains neural networks described in .graph files on any OpenCL device.\n\n"
               "commands:\n");
    for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'clgraph help COMMAND' or 'clgraph COMMAND --help' shows a command's usage.\n"
               "'clgraph --version' shows the version.\n"
               "Exit status: 0 success, 1 usage or input error, 2 device/runtime failure.\n");
}

static int unknown_command(const char *name)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++) {
        int d = cg_edit_distance(name, commands[i].name, 2);
        if (d < best_d) {
            best_d = d;
            best = commands[i].name;
        }
    }
    if (best)
        fprintf(stderr, "clgraph: unknown command '%s' (did you mean '%s'?)\n", name, best);
    else
        fprintf(stderr, "clgraph: unknown command '%s' (see 'clgraph --help')\n", name);
    return 1;
}

static int help_command(int argc, char **argv)
{
    if (argc < 3) {
        print_help(stdout);
        return 0;
    }
    const struct cg_command *c = find_command(argv[2]);
    if (!c)
        return unknown_command(argv[2]);
    fputs(c->usage, stdout);
    return 0;
}

int cg_cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "clgraph: option %s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* Whether msg starts with "error:" or a location "path:LINE" ending in a colon. */
static int has_prefix(const char *msg)
{
    if (strncmp(msg, "error:", 6) == 0)
        return 1;
    const char *colon = strchr(msg, ':');
    const char *nl = strchr(msg, '\n');
    if (!colon || colon == msg || (nl && nl < colon) || strchr(" \t", msg[0]))
        return 0;
    /* "file:12:3: error: ..." or "file: error: ..." */
    return isdigit((unsigned char)colon[1]) || strncmp(colon, ": error:", 8) == 0;
}

int cg_cli_int(const char *cmd, const char *opt, const char *v, int64_t min, int64_t max,
               int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max) {
        if (max == INT64_MAX)
            cg_cli_usage_error(cmd, "%s expects an integer >= %lld, got '%s'", opt,
                               (long long)min, v);
        else
            cg_cli_usage_error(cmd, "%s expects an integer >= %lld and <= %lld, got '%s'", opt,
                               (long long)min, (long long)max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cg_cli_fail(const struct cg_error *e)
{
    fprintf(stderr, "%s%s\n", has_prefix(e->msg) ? "" : "clgraph: ", e->msg);
    return cg_status_exit_code(e->status);
}

int cg_cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clgraph %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'clgraph %s --help')\n", command);
    va_end(ap);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: clgraph COMMAND [ARGS...]   (clgraph --help lists the commands)\n");
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return help_command(argc, argv);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("clgraph %s (git %s)\n", CG_VERSION_STRING, CG_GIT_REV);
        return 0;
    }
    if (cmd[0] == '-') {
        fprintf(stderr, "clgraph: unknown option '%s' (see 'clgraph --help')\n", cmd);
        return 1;
    }
    const struct cg_command *c = find_command(cmd);
    if (!c)
        return unknown_command(cmd);
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->usage, stdout);
            return 0;
        }
    }
    return c->fn(argc - 1, argv + 1);
}
