/* test_schedule.c: the training options' host side (train/schedule.h): every --lr-schedule's
 * multipliers against the lr sequences of torch.optim.lr_scheduler committed in
 * tests/golden/schedules.txt (written by tests/golden/gen.py), canonical spellings, parse
 * errors naming the problem, --clip-grad values; and the alternation arithmetic of the
 * optimizer pass (passes/optim.h: which steps run an objective, its own update count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/optim.h"
#include "train/schedule.h"

static void test_against_torch(void **state)
{
    (void)state;
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    char path[4096], line[8192];
    snprintf(path, sizeof path, "%s/tests/golden/schedules.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set CLGRAPH_SOURCE_DIR)", path);
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *spec = strtok(line, "\t"), *total = strtok(NULL, "\t"), *spe = strtok(NULL, "\t"),
             *vals = strtok(NULL, "\n");
        assert_non_null(vals);
        struct cg_lr_schedule s;
        struct cg_error e = {0};
        if (cg_lr_schedule_parse(spec, &s, &e) != CG_OK ||
            cg_lr_schedule_resolve(&s, strtoull(total, NULL, 10), strtoull(spe, NULL, 10), &e))
            fail_msg("%s: %s", spec, e.msg);
        uint64_t t = 0;
        for (char *v = strtok(vals, " "); v; v = strtok(NULL, " "), t++) {
            double want = strtod(v, NULL), got = cg_lr_schedule_factor(&s, t);
            if (fabs(got - want) > 1e-12 + 1e-9 * fabs(want))
                fail_msg("%s: step %llu: %.17g, torch %.17g", spec, (unsigned long long)t, got,
                         want);
        }
        assert_int_equal(t, strtoull(total, NULL, 10));
        rows++;
    }
    fclose(f);
    assert_true(rows >= 10);
}

static void test_canonical(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"constant", "constant"},
        {"constant()", "constant"},
        {"cosine()", "cosine"},
        {"cosine(min=0)", "cosine"},
        {" cosine( min = 0.1 ) ", "cosine(min=0.1)"},
        {"step(every=2)", "step(every=2, gamma=0.1)"},
        {"step(gamma=0.5, epochs=3)", "step(epochs=3, gamma=0.5)"},
        {"warmup(steps=10)", "warmup(steps=10)"},
        {"warmup(steps=10, then=constant)", "warmup(steps=10)"},
        {"warmup(then=cosine(min=0.25), steps=4)", "warmup(steps=4, then=cosine(min=0.25))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cg_lr_schedule s;
        struct cg_error e = {0};
        if (cg_lr_schedule_parse(cases[i][0], &s, &e) != CG_OK)
            fail_msg("%s: %s", cases[i][0], e.msg);
        assert_string_equal(s.text, cases[i][1]);
        /* the canonical spelling reads back as itself */
        struct cg_lr_schedule s2;
        assert_int_equal(cg_lr_schedule_parse(s.text, &s2, &e), CG_OK);
        assert_string_equal(s2.text, s.text);
    }
    struct cg_lr_schedule s;
    struct cg_error e = {0};
    assert_int_equal(cg_lr_schedule_parse("warmup(steps=2, then=cosine)", &s, &e), CG_OK);
    assert_true(cg_lr_schedule_uses_total(&s));
    assert_int_equal(cg_lr_schedule_parse("warmup(steps=2)", &s, &e), CG_OK);
    assert_false(cg_lr_schedule_uses_total(&s));
    assert_int_equal(cg_lr_schedule_parse("step(epochs=2)", &s, &e), CG_OK);
    assert_int_equal(cg_lr_schedule_resolve(&s, 10, 0, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "step(epochs=2, gamma=0.1): epochs need a data set"));
}

static void test_errors(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"", "unknown schedule ''"},
        {"linear", "unknown schedule 'linear'"},
        {"Cosine", "unknown schedule 'Cosine'"},
        {"cosine(min=1.5)", "cosine: min is a fraction of lr in [0, 1]"},
        {"cosine(min=x)", "min expects a number"},
        {"cosine(gamma=1)", "unknown key 'gamma' for cosine (its keys: min)"},
        {"cosine(min=0.1, min=0.2)", "cosine: min given twice"},
        {"cosine(min=0.1", "cosine: expected ',' or ')' at ''"},
        {"cosine(0.1)", "cosine: expected key=value arguments, at '0.1)'"},
        {"constant(x=1)", "unknown key 'x' for constant (its keys: none)"},
        {"step", "step needs every=N (steps) or epochs=E, one of them"},
        {"step(every=2, epochs=1)", "step needs every=N (steps) or epochs=E, one of them"},
        {"step(every=2.5)", "every expects an integer >= 1"},
        {"step(every=0)", "every expects an integer >= 1"},
        {"step(every=2, gamma=-1)", "step: gamma must be > 0"},
        {"warmup", "warmup needs steps=W"},
        {"warmup(steps=3, then=warmup)", "then=warmup: warmup continues with constant or "
                                         "cosine[(min=F)]"},
        {"cosine extra", "unexpected 'extra' after the schedule"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cg_lr_schedule s;
        struct cg_error e = {0};
        assert_int_equal(cg_lr_schedule_parse(cases[i][0], &s, &e), CG_ERR_INPUT);
        char want[256];
        snprintf(want, sizeof want, "error: --lr-schedule %s: ", cases[i][0]);
        if (strncmp(e.msg, want, strlen(want)) || !strstr(e.msg, cases[i][1]) ||
            !strstr(e.msg, "(accepted: constant, cosine"))
            fail_msg("'%s': got '%s', want '%s'", cases[i][0], e.msg, cases[i][1]);
    }
}

static void test_clip_grad(void **state)
{
    (void)state;
    double v;
    char canon[64];
    struct cg_error e = {0};
    assert_int_equal(cg_clip_grad_parse("0.5", &v, canon, sizeof canon, &e), CG_OK);
    assert_true(v == 0.5);
    assert_string_equal(canon, "0.5");
    assert_int_equal(cg_clip_grad_parse("1e-1", &v, canon, sizeof canon, &e), CG_OK);
    assert_string_equal(canon, "0.1");
    const char *bad[] = {"0", "-1", "", "1x", "nan", "inf", "1e39"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cg_clip_grad_parse(bad[i], &v, NULL, 0, &e), CG_ERR_INPUT);
        assert_non_null(strstr(e.msg, "expected a positive finite maximum norm"));
    }
}

/* every K offset J: active at t mod K == J; the update count before t counts those steps. */
static void test_alternation(void **state)
{
    (void)state;
    for (uint64_t every = 1; every <= 4; every++)
        for (uint64_t offset = 0; offset < every; offset++) {
            struct cg_optim_range r = {0, 0, 0, 0, every, offset};
            uint64_t count = 0;
            for (uint64_t t = 0; t < 40; t++) {
                assert_int_equal(cg_optim_updates_before(&r, t), count);
                int active = cg_optim_active(&r, t);
                assert_int_equal(active, t % every == offset);
                count += (uint64_t)active;
            }
        }
    struct cg_optim_range r = {0, 0, 0, 0, 2, 1};
    assert_int_equal(cg_optim_updates_before(&r, 1000001), 500000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_torch),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_clip_grad),
        cmocka_unit_test(test_alternation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
