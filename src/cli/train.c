/* train.c: `clgraph train GRAPH --data NAME[:k=v,...]|DIR [options] --out RUNDIR` and
 * `clgraph train --resume RUNDIR [--epochs E | --steps S]`: option parsing and the display of
 * the trainer's progress (src/train/trainer.h does the work; docs/TRAINING.md).
 *
 * On a terminal: one bar per epoch redrawn in place (steps, ETA, the last logged loss and
 * metrics, examples/s); otherwise (a pipe, CI) one plain line per logged step. Every line also
 * goes to RUNDIR/log.txt. --quiet prints only errors and the final line; --json-log prints the
 * metrics.jsonl records' content as JSON lines instead of text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "train/trainer.h"

struct display {
    int tty, quiet, json, bar_open;
    FILE *log;
    double last_draw;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void values_text(const struct cg_train_event *ev, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = 0;
    for (int i = 0; i < ev->nvalues && u < n; i++)
        u += (size_t)snprintf(buf + u, n - u, " %s %.4g", ev->names[i], ev->values[i]);
}

static void emit(struct display *d, const char *line)
{
    if (d->log) {
        fprintf(d->log, "%s\n", line);
        fflush(d->log);
    }
    if (d->quiet || d->json)
        return;
    if (d->bar_open) {
        fputs("\r\033[K", stdout);
        d->bar_open = 0;
    }
    printf("%s\n", line);
    fflush(stdout);
}

static void json_line(const struct cg_train_event *ev, const char *split)
{
    struct cg_buf b = {0};
    cg_buf_printf(&b, "{\"step\":%llu,\"epoch\":%llu,\"split\":\"%s\"",
                  (unsigned long long)ev->step, (unsigned long long)ev->epoch + 1, split);
    cg_train_json_values(&b, ev->nvalues, ev->names, ev->values);
    printf("%s}\n", cg_buf_str(&b));
    fflush(stdout);
    cg_buf_free(&b);
}

static void on_event(void *ctx, const struct cg_train_event *ev)
{
    struct display *d = ctx;
    char line[9000], vals[1024];
    uint64_t spe = ev->steps_per_epoch, epochs = (ev->total + spe - 1) / spe;
    switch (ev->kind) {
    case CG_TRAIN_START:
    case CG_TRAIN_NOTE:
        emit(d, ev->text);
        break;
    case CG_TRAIN_STEP: {
        if (!d->tty || d->quiet || d->json)
            break;
        double t = mono();
        if (t - d->last_draw < 0.1 && ev->step % spe && ev->step != ev->total)
            break;
        d->last_draw = t;
        uint64_t in_epoch = (ev->step - 1) % spe + 1;
        int width = 24, fill = (int)((double)width * (double)in_epoch / (double)spe);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        static double rate_t0;
        static uint64_t rate_s0;
        if (rate_t0 == 0 || ev->step < rate_s0) {
            rate_t0 = ev->elapsed_s;
            rate_s0 = ev->step;
        }
        double per = ev->step > rate_s0 ? (ev->elapsed_s - rate_t0) / (double)(ev->step - rate_s0)
                                        : 0;
        double eta = per * (double)(ev->total - ev->step);
        values_text(ev, vals, sizeof vals);
        printf("\r\033[Kepoch %llu/%llu [%s] %llu/%llu ETA %02d:%02d%s %.0f ex/s",
               (unsigned long long)ev->epoch + 1, (unsigned long long)epochs, bar,
               (unsigned long long)in_epoch, (unsigned long long)spe, (int)(eta / 60),
               (int)eta % 60, ev->nvalues && ev->values[0] == ev->values[0] ? vals : "",
               ev->examples_per_s);
        fflush(stdout);
        d->bar_open = 1;
        break;
    }
    case CG_TRAIN_LOG:
        values_text(ev, vals, sizeof vals);
        snprintf(line, sizeof line, "step %llu/%llu epoch %llu/%llu%s %.0f ex/s %.1fs",
                 (unsigned long long)ev->step, (unsigned long long)ev->total,
                 (unsigned long long)ev->epoch + 1, (unsigned long long)epochs, vals,
                 ev->examples_per_s, ev->elapsed_s);
        if (d->json)
            json_line(ev, "train");
        if (d->tty && !d->quiet && !d->json) { /* the bar shows it; the log keeps it */
            if (d->log) {
                fprintf(d->log, "%s\n", line);
                fflush(d->log);
            }
            break;
        }
        emit(d, line);
        break;
    case CG_TRAIN_EVAL:
        values_text(ev, vals, sizeof vals);
        snprintf(line, sizeof line, "eval step %llu epoch %llu (test split):%s",
                 (unsigned long long)ev->step, (unsigned long long)ev->epoch + 1, vals);
        if (d->json)
            json_line(ev, "test");
        emit(d, line);
        break;
    case CG_TRAIN_CHECKPOINT:
        snprintf(line, sizeof line, "checkpoint %s", ev->text);
        emit(d, line);
        break;
    }
}

int cg_cmd_train(int argc, char **argv)
{
    struct cg_train_config c = {0};
    struct display d = {0};
    c.seed = -1;
    const char *v, *resume = NULL, *out = NULL;
    const char *augment[64];
    c.augment = augment;
    for (int i = 1; i < argc; i++) {
        int r;
#define OPT(name) ((r = cg_cli_opt(argc, argv, &i, name, &v)) != 0)
#define INT(name, min, field)                                                                    \
    if (OPT(name)) {                                                                             \
        if (r < 0 || cg_cli_int("train", name, v, min, INT64_MAX, &c.field))                     \
            return 1;                                                                            \
        continue;                                                                                \
    }
        INT("--epochs", 1, epochs)
        INT("--steps", 1, steps)
        INT("--batch", 1, batch)
        INT("--seed", 0, seed)
        INT("--checkpoint-every", 1, checkpoint_every)
        INT("--keep", 1, keep)
        INT("--eval-every", 1, eval_every)
        INT("--log-every", 1, log_every)
        if (OPT("--data")) {
            if (r < 0)
                return 1;
            c.data = v;
        } else if (OPT("--augment")) {
            if (r < 0)
                return 1;
            if (c.naugment == (int)(sizeof augment / sizeof augment[0]))
                return cg_cli_usage_error("train", "more than %d --augment values",
                                          c.naugment);
            augment[c.naugment++] = v;
        } else if (OPT("--optimizer")) {
            if (r < 0)
                return 1;
            c.optimizer = v;
        } else if (OPT("--device")) {
            if (r < 0)
                return 1;
            c.device = v;
        } else if (OPT("--out")) {
            if (r < 0)
                return 1;
            out = v;
        } else if (OPT("--resume")) {
            if (r < 0)
                return 1;
            resume = v;
        } else if (OPT("--lr-schedule")) {
            if (r < 0)
                return 1;
            c.lr_schedule = v;
        } else if (OPT("--clip-grad")) {
            if (r < 0)
                return 1;
            c.clip_grad = v;
        } else if (!strcmp(argv[i], "--no-eval")) {
            c.eval_every = -1;
        } else if (!strcmp(argv[i], "--quiet")) {
            d.quiet = 1;
        } else if (!strcmp(argv[i], "--json-log")) {
            d.json = 1;
        } else if (!strcmp(argv[i], "--debug-nan")) {
            c.debug_nan = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("train", "unknown option '%s'", argv[i]);
        } else if (c.graph) {
            return cg_cli_usage_error("train", "one graph file at a time");
        } else {
            c.graph = argv[i];
        }
#undef INT
#undef OPT
    }
    if (c.epochs && c.steps)
        return cg_cli_usage_error("train", "give --epochs or --steps, not both");
    if (resume && out && strcmp(resume, out))
        return cg_cli_usage_error("train", "--resume continues RUNDIR in place; --out %s "
                                  "differs", out);
    if (!resume && !c.graph)
        return cg_cli_usage_error("train", "missing the GRAPH file");
    if (!resume && !c.data)
        return cg_cli_usage_error("train", "missing --data NAME[:key=value,...]|DIR");
    if (!resume && !out)
        return cg_cli_usage_error("train", "missing --out RUNDIR");
    c.rundir = resume ? resume : out;
    c.resume = resume != NULL;
    struct cg_error e = {0};
    struct cg_trainer *t;
    if (cg_train_prepare(&c, &t, &e) != CG_OK)
        return cg_cli_fail(&e);
    char path[4200];
    snprintf(path, sizeof path, "%s/log.txt", c.rundir);
    d.log = fopen(path, "a");
    d.tty = isatty(STDOUT_FILENO);
    double t0 = mono();
    enum cg_status st = cg_train_run(t, on_event, &d, &e);
    if (d.bar_open) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
    }
    int rc = 0;
    if (st != CG_OK) {
        if (d.log)
            fprintf(d.log, "%s\n", e.msg);
        rc = cg_cli_fail(&e);
    } else {
        snprintf(path, sizeof path, "done in %.1f s: %s", mono() - t0, c.rundir);
        int q = d.quiet;
        d.quiet = 0;
        emit(&d, path);
        d.quiet = q;
    }
    if (d.log)
        fclose(d.log);
    cg_train_destroy(t);
    return rc;
}
