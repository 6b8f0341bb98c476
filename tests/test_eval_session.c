/* test_eval_session.c: src/eval/session.c on a run trained in-process (a linear layer on the
 * latent_pairs builder, 100 train / 37 test examples, batch 16: two full test batches and a
 * remainder of 5): every test example is evaluated once, in order, and the collected output
 * equals x W^T + b computed on the host from the checkpoint's tensors (the remainder model
 * included); a second pass gives the same bits; the per-batch loss averages to the host's
 * mean squared error; the training split collects too; and opening refuses a directory without
 * a run, without a checkpoint, with a corrupt checkpoint or a changed graph copy, naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#define TMPDIR_PREFIX "/tmp/cg_eval_session"
#include "tmpdir_test.h"

#include "eval/session.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

static const char graph_text[] = "input x : f32[N, 10]\n"
                                 "input c : f32[N, 5]\n"
                                 "pred = dense(x, 5, name=\"lin\")\n"
                                 "d = pred - c\n"
                                 "loss = mean(d * d)\n"
                                 "minimize loss\n"
                                 "output pred\n";

static void noop(void *ctx, const struct cg_train_event *ev) { (void)ctx, (void)ev; }

/* Trains the linear graph for 6 steps into tmpdir/run (once per group). */
static int train_setup(void **state)
{
    if (setup(state))
        return -1;
    put_file(tpath("lin.graph"), graph_text, strlen(graph_text));
    struct cg_train_config c = {0};
    c.graph = tpath("lin.graph");
    c.data = "latent_pairs:n_train=100,n_test=37";
    c.steps = 6;
    c.batch = 16;
    c.seed = 3;
    c.optimizer = "adam(lr=0.05)";
    c.eval_every = -1;
    c.rundir = tpath("run");
    struct cg_error e;
    struct cg_trainer *t;
    if (cg_train_prepare(&c, &t, &e) != CG_OK || cg_train_run(t, noop, NULL, &e) != CG_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    cg_train_destroy(t);
    return 0;
}

static void test_collect_matches_host(void **state)
{
    (void)state;
    struct cg_eval_options o = {0};
    o.rundir = tpath("run");
    struct cg_eval_session *s;
    struct cg_error e;
    if (cg_eval_open(&o, &s, &e) != CG_OK)
        fail_msg("%s", e.msg);
    const struct cg_eval_info *info = cg_eval_info(s);
    assert_int_equal(info->step, 6);
    assert_int_equal(info->batch, 16);
    assert_int_equal(info->seed, 3);
    const struct cg_split *test = cg_eval_split(s, CG_EVAL_TEST);
    assert_int_equal(test->count, 37);
    struct cg_eval_array a, a2;
    if (cg_eval_collect(s, CG_EVAL_TEST, "pred", &a, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(a.count, 37);
    assert_int_equal(a.example_size, 5);
    assert_int_equal(a.rank, 1);
    assert_int_equal(a.dims[0], 5);
    assert_false(a.is_int);
    /* the host's x W^T + b from the checkpoint */
    struct cg_st_file f;
    if (cg_ckpt_read(info->checkpoint, &f, &e) != CG_OK)
        fail_msg("%s", e.msg);
    const struct cg_st_tensor *w = cg_st_tensor(&f, "lin.w"), *b = cg_st_tensor(&f, "lin.b");
    assert_non_null(w);
    assert_non_null(b);
    const float *W = w->data, *B = b->data;
    const float *x = cg_split_field(test, "x")->data, *cf = cg_split_field(test, "c")->data;
    const float *pred = a.data;
    double mse = 0;
    for (size_t i = 0; i < 37; i++)
        for (int o2 = 0; o2 < 5; o2++) {
            double v = B[o2];
            for (int k = 0; k < 10; k++)
                v += (double)W[o2 * 10 + k] * x[i * 10 + k];
            if (fabs(v - pred[i * 5 + o2]) > 1e-4)
                fail_msg("example %zu output %d: device %g, host %g", i, o2,
                         (double)pred[i * 5 + o2], v);
            mse += (v - cf[i * 5 + o2]) * (v - cf[i * 5 + o2]);
        }
    mse /= 37 * 5;
    /* a second pass: the same bits */
    if (cg_eval_collect(s, CG_EVAL_TEST, "pred", &a2, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_memory_equal(a.data, a2.data, 37 * 5 * 4);
    cg_eval_array_free(&a2);
    /* batches: 16, 16, 5, indices in order; the example-weighted loss is the host's mse */
    assert_int_equal(cg_eval_begin(s, CG_EVAL_TEST, &e), CG_OK);
    struct cg_eval_batch bt;
    int more;
    size_t seen = 0, nb = 0;
    double loss = 0;
    while (cg_eval_next(s, &bt, &more, &e) == CG_OK && more) {
        assert_int_equal(bt.rows, nb < 2 ? 16 : 5);
        assert_int_equal(bt.nbatches, 3);
        for (size_t r = 0; r < bt.rows; r++)
            assert_int_equal(bt.index[r], seen + r);
        float l;
        assert_int_equal(cg_model_get(bt.model, "loss", &l, sizeof l, &e), CG_OK);
        loss += (double)l * (double)bt.rows;
        seen += bt.rows;
        nb++;
    }
    assert_int_equal(seen, 37);
    assert_true(fabs(loss / 37 - mse) < 1e-4 * (1 + mse));
    /* the train split, and a value that is not per-example */
    if (cg_eval_collect(s, CG_EVAL_TRAIN, "pred", &a2, &e) != CG_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(a2.count, 100);
    cg_eval_array_free(&a2);
    assert_int_equal(cg_eval_collect(s, CG_EVAL_TEST, "loss", &a2, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "not one row per example"));
    assert_int_equal(cg_eval_collect(s, CG_EVAL_TEST, "nothing", &a2, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no value named 'nothing'"));
    cg_st_free(&f);
    cg_eval_array_free(&a);
    cg_eval_close(s);
}

/* Copies tmpdir/run to tmpdir/NAME. */
static void copy_run(const char *name)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", tpath(name), tpath("run"),
             tpath(name));
    assert_int_equal(system(cmd), 0);
}

static void refuse(const char *rundir, const char *want)
{
    struct cg_eval_options o = {0};
    o.rundir = rundir;
    struct cg_eval_session *s;
    struct cg_error e;
    assert_int_equal(cg_eval_open(&o, &s, &e), CG_ERR_INPUT);
    assert_null(s);
    if (!strstr(e.msg, want))
        fail_msg("want '%s' in: %s", want, e.msg);
}

static void test_refusals(void **state)
{
    (void)state;
    refuse(tpath("missing"), "no such run directory");
    mkdir(tpath("empty"), 0777);
    refuse(tpath("empty"), "no config.json");
    copy_run("nock");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/checkpoints/*", tpath("nock"));
    assert_int_equal(system(cmd), 0);
    refuse(tpath("nock"), "no checkpoint");
    /* a flipped byte in the data section, then a truncated file */
    copy_run("bad");
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/checkpoints/*); printf '\\x55' | dd of=\"$f\" "
             "bs=1 seek=$(( $(stat -c %%s \"$f\") - 3 )) conv=notrunc status=none",
             tpath("bad"));
    assert_int_equal(system(cmd), 0);
    refuse(tpath("bad"), "corrupt checkpoint");
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/checkpoints/*); truncate -s 100 \"$f\"",
             tpath("bad"));
    assert_int_equal(system(cmd), 0);
    refuse(tpath("bad"), "corrupt checkpoint");
    copy_run("changed");
    snprintf(cmd, sizeof cmd, "echo 'metric m = mean(d)' >> '%s'/graph.graph", tpath("changed"));
    assert_int_equal(system(cmd), 0);
    refuse(tpath("changed"), "does not match the checkpoint");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_matches_host),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, train_setup, teardown);
}
