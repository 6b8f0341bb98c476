/* eval.c: `clgraph eval RUNDIR [options]`: opens a trained run (src/eval/session.h), computes
 * its measures (src/eval/evaluate.h), prints a table and writes RUNDIR/eval.json (the test
 * split) or RUNDIR/eval_train.json (--split train) atomically. docs/EVAL.md lists every
 * measure and its eval.json name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "data/fileio.h"
#include "eval/evaluate.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_table(const struct cg_eval_session *s, const struct cg_eval_result *r)
{
    const struct cg_eval_info *info = cg_eval_info(s);
    printf("eval %s: checkpoint step %llu, %s split (%zu examples) of %s, batch %lld\n",
           info->rundir, (unsigned long long)info->step,
           r->split == CG_EVAL_TEST ? "test" : "train", r->examples, info->data,
           (long long)info->batch);
    for (int i = 0; i < r->nlosses; i++)
        printf("  %-36s %.6g\n", r->losses[i].name, r->losses[i].value);
    for (int i = 0; i < r->nmetrics; i++)
        printf("  %-36s %.6g\n", r->metrics[i].name, r->metrics[i].value);
    if (r->has_accuracy) {
        printf("  %-36s %.4f\n", "accuracy (argmax logits vs y)", r->accuracy);
        printf("  %-36s %.4f\n", "balanced_accuracy", r->balanced_accuracy);
    }
    if (r->ngroups) {
        printf("  groups (field %s):\n    %-8s %8s %8s %9s\n", r->group_field, "group", "count",
               "correct", "accuracy");
        for (int i = 0; i < r->ngroups; i++)
            if (r->groups[i].count)
                printf("    %-8d %8zu %8zu %9.4f\n", i, r->groups[i].count,
                       r->groups[i].correct, r->groups[i].accuracy);
        printf("  %-36s %.4f\n", "worst_group_accuracy", r->worst_group_accuracy);
    }
    for (int i = 0; i < r->nprobes; i++) {
        char key[200];
        snprintf(key, sizeof key, "probe %s->%s", r->probes[i].output, r->probes[i].field);
        printf("  %-36s accuracy %.4f balanced %.4f (train %.4f; %d features, %d classes)\n",
               key, r->probes[i].r.accuracy, r->probes[i].r.balanced_accuracy,
               r->probes[i].r.train_accuracy, r->probes[i].dim, r->probes[i].n_classes);
    }
    for (int i = 0; i < r->nr2; i++) {
        char key[200];
        snprintf(key, sizeof key, "r2 %s->%s", r->r2[i].output, r->r2[i].field);
        printf("  %-36s linear %.4f kernel_ridge %.4f\n", key, r->r2[i].linear,
               r->r2[i].kernel_ridge);
    }
    if (r->has_embedding) {
        printf("  %-36s %.6g\n", "alignment (z, z_pos)", r->alignment);
        printf("  %-36s %.6g (log %.6g)\n", "uniformity (z)", r->uniformity, r->uniformity_log);
    }
    if (r->has_crop_mass)
        printf("  %-36s %.4f\n", "crop_mass (p_crops, cell)", r->crop_mass);
}

int cg_cmd_eval(int argc, char **argv)
{
    struct cg_eval_options o = {0};
    struct cg_evaluate_config c;
    memset(&c, 0, sizeof c);
    int quiet = 0, json = 0;
    const char *v;
    for (int i = 1; i < argc; i++) {
        int r;
#define OPT(name) ((r = cg_cli_opt(argc, argv, &i, name, &v)) != 0)
        if (OPT("--data")) {
            if (r < 0)
                return 1;
            o.data = v;
        } else if (OPT("--device")) {
            if (r < 0)
                return 1;
            o.device = v;
        } else if (OPT("--batch")) {
            if (r < 0)
                return 1;
            char *end;
            errno = 0;
            long long b = strtoll(v, &end, 10);
            if (!*v || *end || errno || b < 1)
                return cg_cli_usage_error("eval", "--batch expects an integer >= 1, got '%s'",
                                          v);
            o.batch = b;
        } else if (OPT("--split")) {
            if (r < 0)
                return 1;
            if (!strcmp(v, "test"))
                c.split = CG_EVAL_TEST;
            else if (!strcmp(v, "train"))
                c.split = CG_EVAL_TRAIN;
            else
                return cg_cli_usage_error("eval", "--split expects test or train, got '%s'", v);
        } else if (OPT("--probe")) {
            if (r < 0)
                return 1;
            if (c.nprobes == CG_EVAL_MAX_PROBES)
                return cg_cli_usage_error("eval", "at most %d --probe pairs",
                                          CG_EVAL_MAX_PROBES);
            if (!strchr(v, ':'))
                return cg_cli_usage_error("eval", "--probe %s: expected OUTPUT:FIELD (e.g. "
                                          "--probe salient:digit)", v);
            c.probes[c.nprobes++] = v;
        } else if (OPT("--probe-steps")) {
            if (r < 0)
                return 1;
            char *end;
            errno = 0;
            long long k = strtoll(v, &end, 10);
            if (!*v || *end || errno || k < 1 || k > 1000000)
                return cg_cli_usage_error("eval", "--probe-steps expects an integer in [1, "
                                          "1000000], got '%s'", v);
            c.probe.steps = (int)k;
        } else if (OPT("--groups")) {
            if (r < 0)
                return 1;
            c.groups = v;
        } else if (!strcmp(argv[i], "--no-probe")) {
            c.no_probe = 1;
        } else if (!strcmp(argv[i], "--no-r2")) {
            c.no_r2 = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("eval", "unknown option '%s'", argv[i]);
        } else if (o.rundir) {
            return cg_cli_usage_error("eval", "one RUNDIR at a time");
        } else {
            o.rundir = argv[i];
        }
#undef OPT
    }
    if (!o.rundir)
        return cg_cli_usage_error("eval", "missing RUNDIR");
    if (c.no_probe && c.nprobes)
        return cg_cli_usage_error("eval", "give --probe or --no-probe, not both");
    double t0 = mono();
    struct cg_error e = {0};
    struct cg_eval_session *s;
    if (cg_eval_open(&o, &s, &e) != CG_OK)
        return cg_cli_fail(&e);
    struct cg_eval_result *res = cg_calloc(1, sizeof *res);
    if (!res) {
        cg_eval_close(s);
        cg_error_nomem(&e);
        return cg_cli_fail(&e);
    }
    enum cg_status st = cg_evaluate(s, &c, res, &e);
    struct cg_buf b = {0};
    char path[4200];
    if (st == CG_OK) {
        cg_evaluate_json(s, res, &b);
        snprintf(path, sizeof path, "%s/%s", o.rundir,
                 c.split == CG_EVAL_TEST ? "eval.json" : "eval_train.json");
        st = b.oom ? cg_error_nomem(&e) : cg_file_write_atomic(path, b.data, b.len, &e);
    }
    int rc = 0;
    if (st != CG_OK) {
        rc = cg_cli_fail(&e);
    } else {
        if (json)
            fputs(cg_buf_str(&b), stdout);
        else if (!quiet)
            print_table(s, res);
        if (!json)
            printf("wrote %s (%.1f s)\n", path, mono() - t0);
    }
    cg_buf_free(&b);
    cg_free(res);
    cg_eval_close(s);
    return rc;
}
