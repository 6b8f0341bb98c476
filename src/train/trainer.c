/* trainer.c: the training loop of `clgraph train`: preparation and validation, the run
 * directory (config.json, metrics.jsonl, checkpoints/), evaluation and resume (trainer.h). */
#include "train/trainer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clgraph/clgraph.h"
#include "data/dataset.h"
#include "data/fileio.h"
#include "data/loader.h"
#include "data/loader_augment.h"
#include "data/sampler.h"
#include "exec/model.h"
#include "ir/graph.h"
#include "ops/registry.h"
#include "passes/optim.h"
#include "runtime/runtime.h"
#include "train/binding.h"
#include "train/checkpoint.h"
#include "train/views.h"
#include "train/schedule.h"

#define MAX_INPUTS 32
#define MAX_VALUES 34

struct cg_trainer {
    struct cg_train_config cfg;
    char graph_path[4096], data[1024], optimizer[256], rundir[4096], device[256];
    char lr_schedule[160], clip_grad[64]; /* canonical spellings ("" for none) */
    struct cg_lr_schedule sched;
    char ckpt_path[4200]; /* resume: the newest checkpoint */
    char graph_hash[32];
    char *graph_text;
    size_t graph_len;
    struct cg_graph *g; /* until compiled (then the model owns it) */
    struct cg_dataset *ds;
    int ninputs;
    struct cg_input_desc inputs[MAX_INPUTS];
    char input_names[MAX_INPUTS][64];
    struct cg_sampler_config scfg;
    struct cg_sampler *train_s, *test_s;
    struct cg_train_aug aug; /* each input's augmentation (views.h) */
    char saved_aug[sizeof(((struct cg_train_aug *)0)->record)]; /* resume: the run's record */
    int created_rundir;
    /* run state */
    struct cg_device *dev;
    struct cg_model *m;
    struct cg_loader_augmenter *train_aug, *eval_aug;
    FILE *metrics;
    int nvalues, nlosses;
    const char *names[MAX_VALUES];
    int value_ids[MAX_VALUES];
    double values[MAX_VALUES];
    struct timespec t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- run directory ---- */

static enum cg_status mkdir_p(const char *path, int *created, struct cg_error *e)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create the run directory: "
                                "%s: %s", path, buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) == 0) {
        if (created)
            *created = 1;
    } else if (errno != EEXIST) {
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot create the run directory: %s",
                            path, strerror(errno));
    }
    return CG_OK;
}

/* ---- preparation ---- */

static enum cg_status setting(const char *what, const char *given, char *have, size_t n,
                              const char *saved, int resume, struct cg_error *e)
{
    if (resume && saved && given && strcmp(given, saved))
        return cg_error_set(e, CG_ERR_INPUT, "error: --resume: %s '%s' differs from the run's "
                            "'%s' (leave it out to continue the run as it was)", what, given,
                            saved);
    snprintf(have, n, "%s", given ? given : saved ? saved : "");
    return CG_OK;
}

static enum cg_status int_setting(const char *what, int64_t *given, int64_t unset,
                                  const char *saved, int resume, struct cg_error *e)
{
    if (!resume || !saved)
        return CG_OK;
    long long s = strtoll(saved, NULL, 10);
    if (*given != unset && *given != s)
        return cg_error_set(e, CG_ERR_INPUT, "error: --resume: %s %lld differs from the run's "
                            "%lld", what, (long long)*given, s);
    *given = s;
    return CG_OK;
}

/* The steps of the whole run: --steps, else --epochs (default 1) epochs. */
static uint64_t run_total(const struct cg_train_config *c, uint64_t spe)
{
    return c->steps > 0 ? (uint64_t)c->steps : (uint64_t)(c->epochs > 0 ? c->epochs : 1) * spe;
}

/* --lr-schedule and --clip-grad as given, in their canonical spellings (compared on resume);
 * "" when not given. */
static enum cg_status canonical_options(const struct cg_train_config *c, char *sched, size_t ns,
                                        char *clip, size_t nc, struct cg_error *e)
{
    sched[0] = clip[0] = 0;
    if (c->lr_schedule) {
        struct cg_lr_schedule s;
        CG_TRY(cg_lr_schedule_parse(c->lr_schedule, &s, e));
        snprintf(sched, ns, "%s", s.text);
    }
    if (c->clip_grad) {
        double v;
        CG_TRY(cg_clip_grad_parse(c->clip_grad, &v, clip, nc, e));
    }
    return CG_OK;
}

static enum cg_status prepare(struct cg_trainer *t, const struct cg_train_config *in,
                              struct cg_error *e)
{
    struct cg_train_config *c = &t->cfg;
    *c = *in;
    if (!c->rundir)
        return cg_error_set(e, CG_ERR_INPUT, "error: missing --out RUNDIR (or --resume "
                            "RUNDIR)");
    snprintf(t->rundir, sizeof t->rundir, "%s", c->rundir);
    c->rundir = t->rundir;
    char data_spec[sizeof t->data], graph_path[sizeof t->graph_path];
    if (c->data)
        cg_data_spec_canonical(c->data, data_spec, sizeof data_spec);
    if (c->graph)
        cg_path_absolute(c->graph, graph_path, sizeof graph_path);
    struct cg_st_file saved = {0};
    if (c->resume) {
        if (cg_ckpt_newest(t->rundir, t->ckpt_path, sizeof t->ckpt_path) < 0)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: --resume: no checkpoint in "
                                "%s/checkpoints (nothing to resume)", t->rundir, t->rundir);
        CG_TRY(cg_st_read(t->ckpt_path, &saved, e));
    }
    const struct cg_st_file *sv = &saved;
    char sched[160], clip[64], saved_sched_steps[32] = "";
    enum cg_status st = canonical_options(c, sched, sizeof sched, clip, sizeof clip, e);
#define META(k) (c->resume ? cg_st_meta_get(sv, k) : NULL)
    /* checkpoints from before these options had a constant schedule and no clipping */
#define META_OR(k, d) (c->resume ? (META(k) ? META(k) : d) : NULL)
    if (st == CG_OK)
        st = setting("--lr-schedule", sched[0] ? sched : NULL, t->lr_schedule,
                     sizeof t->lr_schedule, META_OR("lr_schedule", "constant"), c->resume, e);
    if (st == CG_OK)
        st = setting("--clip-grad", clip[0] ? clip : NULL, t->clip_grad, sizeof t->clip_grad,
                     META_OR("clip_grad", "none"), c->resume, e);
    if (META("lr_schedule_steps"))
        snprintf(saved_sched_steps, sizeof saved_sched_steps, "%s", META("lr_schedule_steps"));
#undef META_OR
    if (st == CG_OK)
        st = setting("GRAPH", c->graph ? graph_path : NULL, t->graph_path, sizeof t->graph_path, META("graph"),
                     c->resume, e);
    if (st == CG_OK)
        st = setting("--data", c->data ? data_spec : NULL, t->data, sizeof t->data,
                     META("data"), c->resume, e);
    if (st == CG_OK)
        st = setting("--optimizer", c->optimizer, t->optimizer, sizeof t->optimizer,
                     META("optimizer"), c->resume, e);
    if (st == CG_OK)
        st = int_setting("--batch", &c->batch, 0, META("batch"), c->resume, e);
    if (st == CG_OK)
        st = int_setting("--seed", &c->seed, -1, META("seed"), c->resume, e);
    if (c->resume)
        snprintf(t->saved_aug, sizeof t->saved_aug, "%s",
                 META("augment") ? META("augment") : "none");
    const char *saved_hash = META("graph_fnv1a64");
    char saved_hash_copy[32] = "";
    if (saved_hash)
        snprintf(saved_hash_copy, sizeof saved_hash_copy, "%s", saved_hash);
    if (c->resume && st == CG_OK && (!META("graph") || !META("data") || !saved_hash))
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: not a clgraph training checkpoint (no "
                          "graph, data or graph_fnv1a64 in its metadata)", t->ckpt_path);
#undef META
    cg_st_free(&saved);
    CG_TRY(st);
    c->graph = t->graph_path;
    c->data = t->data;
    c->optimizer = t->optimizer[0] ? t->optimizer : NULL;
    if (!t->lr_schedule[0])
        snprintf(t->lr_schedule, sizeof t->lr_schedule, "constant");
    if (!strcmp(t->clip_grad, "none"))
        t->clip_grad[0] = 0;
    c->lr_schedule = t->lr_schedule;
    c->clip_grad = t->clip_grad[0] ? t->clip_grad : NULL;
    CG_TRY(cg_lr_schedule_parse(c->lr_schedule, &t->sched, e));
    snprintf(t->device, sizeof t->device, "%s", c->device ? c->device : "");
    c->device = t->device[0] ? t->device : NULL;
    if (!c->graph[0])
        return cg_error_set(e, CG_ERR_INPUT, "error: missing the GRAPH file");
    if (!c->data[0])
        return cg_error_set(e, CG_ERR_INPUT, "error: missing --data NAME[:key=value,...]|DIR");
    if (c->batch == 0)
        c->batch = 64;
    if (c->seed < 0)
        c->seed = 0;
    if (c->log_every == 0)
        c->log_every = 10;
    if (c->batch < 0 || c->epochs < 0 || c->steps < 0 || c->checkpoint_every < 0 ||
        c->keep < 0 || c->log_every < 0 || c->eval_every < -1)
        return cg_error_set(e, CG_ERR_INPUT, "error: negative option value");
    if (c->optimizer) {
        struct cg_optim o;
        CG_TRY(cg_optim_parse(c->optimizer, &o, e));
    }
    CG_TRY(cg_train_aug_check(c->augment, c->naugment, e));
    /* The run directory: created and writable before any work; not a run unless resuming. */
    char probe[4200], path[4200];
    if (!c->resume && cg_ckpt_newest(t->rundir, path, sizeof path) >= 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: already holds a run (%s); continue it "
                            "with --resume %s, or choose another --out", t->rundir, path,
                            t->rundir);
    CG_TRY(mkdir_p(t->rundir, &t->created_rundir, e));
    snprintf(probe, sizeof probe, "%s/checkpoints", t->rundir);
    CG_TRY(mkdir_p(probe, NULL, e));
    snprintf(probe, sizeof probe, "%s/.write-test", t->rundir);
    CG_TRY(cg_file_write_atomic(probe, "", 0, e));
    unlink(probe);
    /* The graph, its hash, and on resume its identity with the run's. */
    CG_TRY(cg_read_file(c->graph, (size_t)64 << 20, &t->graph_text, &t->graph_len, e));
    snprintf(t->graph_hash, sizeof t->graph_hash, "%016llx",
             (unsigned long long)cg_fnv1a(CG_FNV_INIT, t->graph_text, t->graph_len));
    if (c->resume && strcmp(t->graph_hash, saved_hash_copy))
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: --resume: the graph file changed since "
                            "the checkpoint %s was written (hash %s, the checkpoint's %s); the "
                            "run's copy is %s/graph.graph", c->graph, t->ckpt_path, t->graph_hash,
                            saved_hash_copy, t->rundir);
    CG_TRY(cg_graph_load(c->graph, &t->g, e));
    CG_TRY(cg_inputs_describe(t->g, c->graph, c->batch, t->inputs, t->input_names, MAX_INPUTS,
                              &t->ninputs, &t->scfg.kind, e));
    t->scfg.views = cg_inputs_views(t->inputs, t->ninputs);
    CG_TRY(cg_data_open(c->data, &t->ds, e));
    t->scfg.batch = (size_t)c->batch;
    t->scfg.seed = (uint64_t)c->seed;
    CG_TRY(cg_train_aug_resolve(&t->aug, c->augment, c->naugment,
                                c->resume ? t->saved_aug : NULL, t->inputs, t->ninputs,
                                &t->ds->train, &t->scfg, e));
    c->augment = NULL; /* the option values are the caller's; the record holds them */
    c->naugment = 0;
    /* The sampler delivers the fields' images; size-changing pipelines bring them to the graph's
     * shapes (t->aug.src). */
    CG_TRY(cg_sampler_create(&t->ds->train, t->aug.src, t->ninputs, &t->scfg, &t->train_s, e));
    if (t->ds->test.count >= (size_t)c->batch && c->eval_every >= 0) {
        struct cg_sampler_config tc = t->scfg;
        tc.no_shuffle = 1;
        CG_TRY(cg_sampler_create(&t->ds->test, t->aug.src, t->ninputs, &tc, &t->test_s, e));
    }
    /* The schedule's horizon; a schedule over the run's length cannot change it on resume. */
    uint64_t spe = cg_sampler_steps_per_epoch(t->train_s), total = run_total(c, spe);
    CG_TRY(cg_lr_schedule_resolve(&t->sched, total, spe, e));
    if (c->resume && cg_lr_schedule_uses_total(&t->sched) && saved_sched_steps[0] &&
        strtoull(saved_sched_steps, NULL, 10) != total)
        return cg_error_set(e, CG_ERR_INPUT, "error: --resume: --lr-schedule %s spans the whole "
                            "run, which had %s steps; this invocation asks for %llu (give the "
                            "run's --epochs/--steps, or start a new run)", t->lr_schedule,
                            saved_sched_steps, (unsigned long long)total);
    return CG_OK;
}

enum cg_status cg_train_prepare(const struct cg_train_config *cfg, struct cg_trainer **out,
                                struct cg_error *e)
{
    *out = NULL;
    struct cg_trainer *t = cg_calloc(1, sizeof *t);
    if (!t)
        return cg_error_nomem(e);
    enum cg_status st = prepare(t, cfg, e);
    if (st != CG_OK) {
        if (t->created_rundir) { /* leave nothing behind */
            char p[4200];
            snprintf(p, sizeof p, "%s/checkpoints", t->rundir);
            rmdir(p);
            rmdir(t->rundir);
        }
        cg_train_destroy(t);
        return st;
    }
    *out = t;
    return CG_OK;
}

const struct cg_train_config *cg_train_config(const struct cg_trainer *t) { return &t->cfg; }

void cg_train_destroy(struct cg_trainer *t)
{
    if (!t)
        return;
    cg_model_destroy(t->m);
    cg_graph_destroy(t->g);
    cg_loader_augmenter_destroy(t->train_aug);
    cg_loader_augmenter_destroy(t->eval_aug);
    cg_device_close(t->dev);
    cg_sampler_destroy(t->train_s);
    cg_sampler_destroy(t->test_s);
    cg_dataset_free(t->ds);
    cg_free(t->graph_text);
    if (t->metrics)
        fclose(t->metrics);
    cg_free(t);
}

/* ---- run directory files ---- */

static enum cg_status write_config(struct cg_trainer *t, uint64_t spe, struct cg_error *e)
{
    const struct cg_train_config *c = &t->cfg;
    struct cg_buf b = {0};
    cg_buf_printf(&b, "{\n  \"clgraph_version\": ");
    cg_buf_json_str(&b, cg_version());
    cg_buf_printf(&b, ",\n  \"graph\": ");
    cg_buf_json_str(&b, c->graph);
    cg_buf_printf(&b, ",\n  \"graph_copy\": \"graph.graph\",\n  \"graph_fnv1a64\": \"%s\",\n"
                  "  \"data\": ", t->graph_hash);
    cg_buf_json_str(&b, c->data);
    cg_buf_printf(&b, ",\n  \"data_name\": ");
    cg_buf_json_str(&b, t->ds->name);
    cg_buf_printf(&b, ",\n  \"data_params\": {");
    for (int i = 0; i < t->ds->nparams; i++) {
        cg_buf_printf(&b, "%s", i ? ", " : "");
        cg_buf_json_str(&b, t->ds->param_keys[i]);
        cg_buf_printf(&b, ": ");
        cg_buf_json_str(&b, t->ds->param_values[i]);
    }
    cg_buf_printf(&b, "},\n  \"data_seed\": %llu,\n  \"train_examples\": %zu,\n"
                  "  \"test_examples\": %zu,\n  \"sampler\": \"%s\",\n  \"inputs\": [",
                  (unsigned long long)t->ds->seed, t->ds->train.count, t->ds->test.count,
                  cg_sampler_kind_name(t->scfg.kind));
    for (int i = 0; i < t->ninputs; i++)
        cg_buf_printf(&b, "%s\"%s\"", i ? ", " : "", t->inputs[i].name);
    cg_buf_printf(&b, "],\n  \"views\": %d,\n  \"augment\": {", t->scfg.views);
    for (int i = 0, k = 0; i < t->ninputs; i++) {
        if (!t->aug.pipe[i][0])
            continue;
        cg_buf_printf(&b, "%s", k++ ? ", " : "");
        cg_buf_json_str(&b, t->inputs[i].name);
        cg_buf_printf(&b, ": ");
        cg_buf_json_str(&b, t->aug.pipe[i]);
    }
    cg_buf_printf(&b, "},\n  \"augment_record\": ");
    cg_buf_json_str(&b, t->aug.record);
    cg_buf_printf(&b, ",\n  \"epochs\": %lld,\n  \"steps\": %lld,\n  \"steps_per_epoch\": %llu,"
                  "\n  \"batch\": %lld,\n  \"optimizer\": ", (long long)c->epochs,
                  (long long)c->steps, (unsigned long long)spe, (long long)c->batch);
    cg_buf_json_str(&b, c->optimizer ? c->optimizer : "adam(lr=1e-3)");
    cg_buf_printf(&b, ",\n  \"lr_schedule\": ");
    cg_buf_json_str(&b, t->lr_schedule);
    cg_buf_printf(&b, ",\n  \"clip_grad\": %s,\n  \"seed\": %lld,\n  \"device\": ",
                  c->clip_grad ? c->clip_grad : "null", (long long)c->seed);
    cg_buf_json_str(&b, cg_device_info(t->dev)->name);
    cg_buf_printf(&b, ",\n  \"device_selector\": ");
    cg_buf_json_str(&b, c->device ? c->device : "");
    cg_buf_printf(&b, ",\n  \"checkpoint_every\": %lld,\n  \"keep\": %lld,\n"
                  "  \"eval_every\": %lld,\n  \"log_every\": %lld\n}\n",
                  (long long)c->checkpoint_every, (long long)c->keep,
                  (long long)c->eval_every, (long long)c->log_every);
    char path[4200];
    snprintf(path, sizeof path, "%s/graph.graph", t->rundir);
    enum cg_status st = b.oom ? cg_error_nomem(e) : CG_OK;
    if (st == CG_OK)
        st = cg_file_write_atomic(path, t->graph_text, t->graph_len, e);
    snprintf(path, sizeof path, "%s/config.json", t->rundir);
    if (st == CG_OK)
        st = cg_file_write_atomic(path, b.data, b.len, e);
    cg_buf_free(&b);
    return st;
}

/* On resume: metrics.jsonl keeps the records up to the checkpoint's step (the lost part of the
 * interrupted run is computed again). */
static enum cg_status trim_metrics(const char *path, uint64_t step, struct cg_error *e)
{
    char *text;
    size_t len;
    if (access(path, F_OK) != 0)
        return CG_OK;
    CG_TRY(cg_read_file(path, (size_t)1 << 32, &text, &len, e));
    struct cg_buf b = {0};
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        const char *s = strstr(line, "\"step\":");
        if (nl && s && s < nl && strtoull(s + 7, NULL, 10) <= step)
            cg_buf_append(&b, line, n);
        line += n;
    }
    enum cg_status st = b.oom ? cg_error_nomem(e)
                              : cg_file_write_atomic(path, b.data ? b.data : "", b.len, e);
    cg_buf_free(&b);
    cg_free(text);
    return st;
}

static void metrics_record(struct cg_trainer *t, const char *split, uint64_t step,
                           uint64_t epoch, double elapsed, double rate)
{
    if (!t->metrics)
        return;
    struct cg_buf b = {0};
    cg_buf_printf(&b, "{\"step\":%llu,\"epoch\":%llu,\"split\":\"%s\",\"time_s\":%.3f",
                  (unsigned long long)step, (unsigned long long)epoch, split, elapsed);
    if (rate > 0)
        cg_buf_printf(&b, ",\"examples_per_s\":%.1f", rate);
    cg_train_json_values(&b, t->nvalues, t->names, t->values);
    fprintf(t->metrics, "%s}\n", cg_buf_str(&b));
    fflush(t->metrics);
    cg_buf_free(&b);
}

void cg_train_json_values(struct cg_buf *b, int n, const char *const *names,
                          const double *values)
{
    for (int i = 0; i < n; i++) {
        cg_buf_printf(b, ",");
        cg_buf_json_str(b, names[i]);
        if (isfinite(values[i]))
            cg_buf_printf(b, ":%.9g", values[i]);
        else
            cg_buf_printf(b, ":null");
    }
}

/* Keeps the newest `keep` checkpoints. */
static void prune(struct cg_trainer *t)
{
    if (t->cfg.keep <= 0)
        return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", t->rundir);
    for (;;) {
        DIR *d = opendir(dir);
        if (!d)
            return;
        struct dirent *de;
        int64_t count = 0, oldest = -1;
        while ((de = readdir(d)) != NULL) {
            unsigned long long s;
            char tail[32];
            if (sscanf(de->d_name, "step-%llu.safetensor%31s", &s, tail) == 2 &&
                !strcmp(tail, "s")) {
                count++;
                if (oldest < 0 || (int64_t)s < oldest)
                    oldest = (int64_t)s;
            }
        }
        closedir(d);
        if (count <= t->cfg.keep)
            return;
        char p[4300];
        snprintf(p, sizeof p, "%s/step-%012lld.safetensors", dir, (long long)oldest);
        if (unlink(p) != 0)
            return;
    }
}

/* ---- the loop ---- */

static enum cg_status read_values(struct cg_trainer *t, struct cg_error *e)
{
    struct cg_exec *x = cg_model_exec(t->m);
    for (int i = 0; i < t->nvalues; i++) {
        float f;
        CG_TRY(cg_exec_read(x, t->value_ids[i], &f, sizeof f, e));
        t->values[i] = f;
    }
    return CG_OK;
}

static enum cg_status save_checkpoint(struct cg_trainer *t, struct cg_loader *L, uint64_t step,
                                      uint64_t spe, char *path, size_t n, struct cg_error *e)
{
    struct cg_sampler_state ss;
    cg_loader_state(L, &ss);
    char v[9][64];
    snprintf(v[8], 64, "%llu", (unsigned long long)t->sched.total);
    snprintf(v[0], 64, "%llu", (unsigned long long)step);
    snprintf(v[1], 64, "%llu", (unsigned long long)(step / spe));
    snprintf(v[2], 64, "%lld", (long long)t->cfg.seed);
    snprintf(v[3], 64, "%llu", (unsigned long long)ss.seed);
    snprintf(v[4], 64, "%llu", (unsigned long long)ss.epoch);
    snprintf(v[5], 64, "%llu", (unsigned long long)ss.step);
    snprintf(v[6], 64, "%lld", (long long)t->cfg.batch);
    snprintf(v[7], 64, "%llu", (unsigned long long)spe);
    struct cg_st_meta meta[] = {
        {"format", "clgraph-checkpoint-1"},
        {"clgraph_version", (char *)cg_version()},
        {"step", v[0]},
        {"epoch", v[1]},
        {"seed", v[2]},
        {"sampler_seed", v[3]},
        {"sampler_epoch", v[4]},
        {"sampler_step", v[5]},
        {"sampler", (char *)cg_sampler_kind_name(t->scfg.kind)},
        {"batch", v[6]},
        {"steps_per_epoch", v[7]},
        {"graph", t->graph_path},
        {"graph_fnv1a64", t->graph_hash},
        {"data", t->data},
        {"augment", t->aug.record},
        {"lr_schedule", t->lr_schedule},
        {"lr_schedule_steps", cg_lr_schedule_uses_total(&t->sched) ? v[8] : NULL},
        {"clip_grad", t->clip_grad[0] ? t->clip_grad : (char *)"none"},
        {"optimizer", t->optimizer},
    };
    int nmeta = 0; /* without the entries that do not apply (NULL or empty values) */
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        if (meta[i].value && meta[i].value[0])
            meta[nmeta++] = meta[i];
    snprintf(path, n, "%s/checkpoints/step-%012llu.safetensors", t->rundir,
             (unsigned long long)step);
    CG_TRY(cg_ckpt_save(t->m, path, meta, nmeta, e));
    prune(t);
    return CG_OK;
}

static enum cg_status evaluate(struct cg_trainer *t, double *avg, struct cg_error *e)
{
    struct cg_sampler_state s0 = {(uint64_t)t->cfg.seed, 0, 0};
    cg_sampler_set_state(t->test_s, &s0);
    struct cg_loader_target targets[MAX_INPUTS];
    struct cg_graph *g = cg_model_graph(t->m);
    for (int i = 0; i < t->ninputs; i++) {
        void *buf;
        cg_exec_place(cg_model_exec(t->m), cg_graph_find_value(g, t->inputs[i].name), &buf,
                      &targets[i].offset);
        targets[i].buf = (cl_mem)buf;
    }
    struct cg_loader_config lc = {0};
    lc.queue = cg_device_queue(t->dev);
    lc.targets = targets;
    if (t->eval_aug) { /* unaugmented, but resized to the graph's size */
        lc.targets = cg_loader_augmenter_targets(t->eval_aug);
        lc.augment = cg_loader_augment;
        lc.augment_ctx = t->eval_aug;
    }
    struct cg_loader *L;
    CG_TRY(cg_loader_create(t->test_s, &lc, &L, e));
    size_t n = cg_sampler_steps_per_epoch(t->test_s);
    enum cg_status st = CG_OK;
    for (int i = 0; i < t->nvalues; i++)
        avg[i] = 0;
    for (size_t k = 0; k < n && st == CG_OK; k++) {
        struct cg_loader_batch b;
        st = cg_loader_next(L, &b, e);
        if (st == CG_OK)
            st = cg_model_forward(t->m, e);
        if (st == CG_OK)
            st = read_values(t, e);
        for (int i = 0; i < t->nvalues && st == CG_OK; i++)
            avg[i] += t->values[i] / (double)n;
    }
    cg_loader_destroy(L);
    return st;
}

/* --debug-nan: replays the forward pass of the failing batch node by node and names the first
 * node whose output is not finite (the parameters are those before the failing update). */
static void find_nan_op(struct cg_trainer *t, uint64_t step, struct cg_error *e)
{
    struct cg_graph *g = cg_model_graph(t->m);
    struct cg_exec *x = cg_model_exec(t->m);
    size_t end = cg_model_forward_nodes(t->m);
    struct cg_error e2;
    for (size_t p = 0; p < g->nparams; p++) {
        int64_t n = cg_shape_numel(g, &g->params[p].shape);
        float *h = cg_malloc((size_t)(n ? n : 1) * 4);
        int bad = h && cg_exec_read(x, g->params[p].value, h, (size_t)n * 4, &e2) == CG_OK &&
                  g->params[p].dtype != CG_I32;
        int64_t i = 0;
        for (; bad && i < n && isfinite(h[i]); i++)
            ;
        cg_free(h);
        if (bad && i < n) {
            cg_error_note(e, "note: parameter '%s' is already non-finite (an update before step "
                          "%llu produced it)", g->params[p].name, (unsigned long long)step);
            return;
        }
    }
    for (size_t k = 0; k < end; k++) {
        const struct cg_node *nd = &g->nodes[k];
        if (cg_exec_run_nodes(x, (uint64_t)t->cfg.seed, step, k, k + 1, &e2) != CG_OK)
            return;
        int v = nd->out;
        if (g->values[v].dtype == CG_I32)
            continue;
        int64_t n = cg_shape_numel(g, &g->values[v].shape);
        float *h = cg_malloc((size_t)(n ? n : 1) * 4);
        int64_t i = 0;
        if (h && cg_exec_read(x, v, h, (size_t)n * 4, &e2) == CG_OK)
            for (; i < n && isfinite(h[i]); i++)
                ;
        cg_free(h);
        if (h && i < n) {
            cg_error_note(e, "note: the first op producing a NaN/Inf: node %zu, %s at %s:%d:%d "
                          "(element %lld)", k, cg_ops()[nd->op].name,
                          nd->loc.file ? nd->loc.file : "?", nd->loc.line, nd->loc.col,
                          (long long)i);
            return;
        }
    }
}

enum cg_status cg_train_run(struct cg_trainer *t, cg_train_cb cb, void *ctx,
                            struct cg_error *e)
{
    const struct cg_train_config *c = &t->cfg;
    struct cg_train_event ev = {0};
    char text[8400];
    CG_TRY(cg_device_open(c->device, 0, &t->dev, e));
    struct cg_input_shape shapes[MAX_INPUTS];
    for (int i = 0; i < t->ninputs; i++) {
        shapes[i].name = t->inputs[i].name;
        shapes[i].rank = t->inputs[i].rank + 1;
        shapes[i].dims[0] = c->batch;
        for (int k = 0; k < t->inputs[i].rank; k++)
            shapes[i].dims[k + 1] = t->inputs[i].dims[k];
    }
    struct cg_model_options mo = {shapes, t->ninputs, 1, c->optimizer, (uint64_t)c->seed,
                                  c->clip_grad ? strtod(c->clip_grad, NULL) : 0};
    CG_TRY(cg_model_compile(t->g, t->dev, &mo, &t->m, e));
    t->g = NULL; /* the model owns it */
    struct cg_graph *g = cg_model_graph(t->m);
    /* What is read at logged steps: each objective, then the scalar metrics. */
    for (size_t i = 0; i < g->nobjectives && t->nvalues < MAX_VALUES; i++) {
        t->value_ids[t->nvalues] = g->objectives[i].value;
        t->names[t->nvalues++] = g->nobjectives == 1 ? "loss" : g->objectives[i].text;
    }
    t->nlosses = t->nvalues;
    for (size_t i = 0; i < g->nmetrics && t->nvalues < MAX_VALUES; i++) {
        int v = g->metrics[i].value;
        if (cg_shape_numel(g, &g->values[v].shape) != 1)
            continue;
        int seen = 0; /* a metric that is also an objective's name (minimize l_h) is read once */
        for (int k = 0; k < t->nvalues && !seen; k++)
            seen = !strcmp(t->names[k], g->metrics[i].name);
        if (seen)
            continue;
        t->value_ids[t->nvalues] = v;
        t->names[t->nvalues++] = g->metrics[i].name;
    }
    if (t->nlosses == 0)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: the graph has no minimize statement: "
                            "nothing to train", c->graph);
    uint64_t spe = cg_sampler_steps_per_epoch(t->train_s);
    uint64_t total = run_total(c, spe);
    uint64_t step = 0;
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", t->rundir);
    if (c->resume) {
        struct cg_st_file f;
        CG_TRY(cg_ckpt_load(t->m, t->ckpt_path, &f, e));
        const char *s[4] = {cg_st_meta_get(&f, "step"), cg_st_meta_get(&f, "sampler_seed"),
                            cg_st_meta_get(&f, "sampler_epoch"),
                            cg_st_meta_get(&f, "sampler_step")};
        enum cg_status st = CG_OK;
        if (!s[0] || !s[1] || !s[2] || !s[3])
            st = cg_error_set(e, CG_ERR_INPUT, "%s: error: the checkpoint's metadata lacks the "
                              "step or the sampler position", t->ckpt_path);
        struct cg_sampler_state ss = {0};
        if (st == CG_OK) {
            step = strtoull(s[0], NULL, 10);
            ss.seed = strtoull(s[1], NULL, 10);
            ss.epoch = strtoull(s[2], NULL, 10);
            ss.step = strtoull(s[3], NULL, 10);
            cg_model_set_steps(t->m, step);
            cg_sampler_set_state(t->train_s, &ss);
        }
        cg_st_free(&f);
        CG_TRY(st);
        CG_TRY(trim_metrics(mpath, step, e));
    } else {
        CG_TRY(write_config(t, spe, e));
    }
    t->metrics = fopen(mpath, "a");
    if (!t->metrics)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot open: %s", mpath,
                            strerror(errno));
    /* The loader uploads into the inputs' places on the executor's queue. */
    struct cg_loader_target targets[MAX_INPUTS];
    for (int i = 0; i < t->ninputs; i++) {
        void *buf;
        cg_exec_place(cg_model_exec(t->m), cg_graph_find_value(g, t->inputs[i].name), &buf,
                      &targets[i].offset);
        targets[i].buf = (cl_mem)buf;
    }
    struct cg_loader_config lc = {0};
    lc.queue = cg_device_queue(t->dev);
    lc.targets = targets;
    const char *pipes[MAX_INPUTS];
    if (cg_train_aug_pipes(&t->aug, 0, pipes)) { /* compiled once, run inside the loader */
        CG_TRY(cg_loader_augmenter_create(t->dev, t->train_s, t->aug.src, pipes, targets,
                                          (uint64_t)c->seed, &t->train_aug, e));
        lc.targets = cg_loader_augmenter_targets(t->train_aug);
        lc.augment = cg_loader_augment;
        lc.augment_ctx = t->train_aug;
    }
    if (t->test_s && cg_train_aug_pipes(&t->aug, 1, pipes))
        CG_TRY(cg_loader_augmenter_create(t->dev, t->test_s, t->aug.src, pipes, targets, 0,
                                          &t->eval_aug, e));
    struct cg_loader *L = NULL;
    CG_TRY(cg_loader_create(t->train_s, &lc, &L, e));
    ev.total = total;
    ev.steps_per_epoch = spe;
    ev.batch = (uint64_t)c->batch;
    ev.names = t->names;
    ev.values = t->values;
    ev.nvalues = t->nvalues;
    ev.kind = CG_TRAIN_START;
    snprintf(text, sizeof text, "%s %s: %s on %s (%zu train / %zu test examples, %s sampler, "
             "batch %lld, %llu steps per epoch), device %s, step %llu of %llu", c->resume ?
             "resuming" : "training", t->rundir, c->graph, c->data, t->ds->train.count,
             t->ds->test.count, cg_sampler_kind_name(t->scfg.kind), (long long)c->batch,
             (unsigned long long)spe, cg_device_info(t->dev)->name,
             (unsigned long long)step, (unsigned long long)total);
    ev.text = text;
    ev.step = step;
    cb(ctx, &ev);
    if (t->scfg.kind == CG_SAMPLER_MULTIVIEW || t->aug.any) {
        ev.kind = CG_TRAIN_NOTE;
        snprintf(text, sizeof text, "augmentation: %.8000s%s", t->aug.record,
                 t->scfg.kind == CG_SAMPLER_MULTIVIEW && !t->aug.any
                     ? " (the views are identical copies)" : "");
        cb(ctx, &ev);
    }
    double t_start = now_s(), t_log = t_start;
    uint64_t step_log = step;
    enum cg_status st = CG_OK;
    for (int i = 0; i < t->nvalues; i++)
        t->values[i] = NAN;
    if (step >= total) {
        ev.kind = CG_TRAIN_NOTE;
        snprintf(text, sizeof text, "the run is already at step %llu of %llu: nothing to do",
                 (unsigned long long)step, (unsigned long long)total);
        cb(ctx, &ev);
    }
    while (step < total && st == CG_OK) {
        struct cg_loader_batch b;
        st = cg_loader_next(L, &b, e);
        if (st == CG_OK && c->debug_nan) {
            st = cg_model_forward(t->m, e);
            if (st == CG_OK)
                st = read_values(t, e);
            for (int i = 0; i < t->nlosses && st == CG_OK; i++)
                if (!isfinite(t->values[i])) {
                    st = cg_error_set(e, CG_ERR_INPUT, "error: the loss '%s' is %s at step %llu "
                                      "(epoch %llu): training stopped", t->names[i],
                                      isnan(t->values[i]) ? "NaN" : "Inf", (unsigned long long)step + 1,
                                      (unsigned long long)(step / spe) + 1);
                    find_nan_op(t, step, e);
                }
        }
        if (st == CG_OK)
            st = cg_model_set_lr_scale(t->m, cg_lr_schedule_factor(&t->sched, step), e);
        if (st == CG_OK)
            st = cg_model_step(t->m, e);
        if (st != CG_OK)
            break;
        step++;
        ev.step = step;
        ev.epoch = (step - 1) / spe;
        int epoch_end = step % spe == 0, last = step == total;
        ev.kind = CG_TRAIN_STEP;
        ev.elapsed_s = now_s() - t_start;
        cb(ctx, &ev);
        if (step % (uint64_t)c->log_every == 0 || epoch_end || last) {
            st = read_values(t, e); /* waits for the step */
            if (st != CG_OK)
                break;
            double tn = now_s();
            ev.examples_per_s = (double)(step - step_log) * (double)c->batch / (tn - t_log);
            ev.elapsed_s = tn - t_start;
            t_log = tn;
            step_log = step;
            for (int i = 0; i < t->nlosses; i++)
                if (!isfinite(t->values[i])) {
                    st = cg_error_set(e, CG_ERR_INPUT, "error: the loss '%s' is %s at step %llu "
                                      "(epoch %llu; read every %lld steps, --debug-nan checks "
                                      "every step and names the op): training stopped",
                                      t->names[i], isnan(t->values[i]) ? "NaN" : "Inf",
                                      (unsigned long long)step,
                                      (unsigned long long)ev.epoch + 1, (long long)c->log_every);
                    break;
                }
            if (st != CG_OK)
                break;
            ev.kind = CG_TRAIN_LOG;
            metrics_record(t, "train", step, ev.epoch + 1, ev.elapsed_s, ev.examples_per_s);
            cb(ctx, &ev);
        }
        int eval_due = t->test_s && (c->eval_every == 0 ? epoch_end || (last && !epoch_end)
                                     : step % (uint64_t)c->eval_every == 0 || last);
        if (eval_due) {
            double avg[MAX_VALUES], keep[MAX_VALUES];
            memcpy(keep, t->values, sizeof keep);
            st = evaluate(t, avg, e);
            if (st != CG_OK)
                break;
            memcpy(t->values, avg, sizeof avg);
            ev.kind = CG_TRAIN_EVAL;
            ev.elapsed_s = now_s() - t_start;
            metrics_record(t, "test", step, ev.epoch + 1, ev.elapsed_s, 0);
            cb(ctx, &ev);
            memcpy(t->values, keep, sizeof keep);
            t_log = now_s(); /* the rate counts training only */
        }
        int ckpt_due = last || (c->checkpoint_every == 0 ? epoch_end
                                                         : step % (uint64_t)c->checkpoint_every
                                                               == 0);
        if (ckpt_due) {
            char path[4300];
            st = save_checkpoint(t, L, step, spe, path, sizeof path, e);
            if (st != CG_OK)
                break;
            ev.kind = CG_TRAIN_CHECKPOINT;
            ev.text = path;
            cb(ctx, &ev);
            ev.text = text;
            t_log = now_s();
        }
    }
    cg_loader_destroy(L);
    return st;
}
