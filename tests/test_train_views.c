/* test_train_views.c: the views and augmentation settings of `clgraph train`
 * (src/train/views.c, the view detection of src/train/binding.c), host only: which inputs are
 * views (x1..xK) and the errors of graphs whose views have a gap or an x beside them; the default
 * pipelines per image size (each parses and keeps the graph's size); the resolution of --augment
 * values (plain, per input, none, the defaults for views only, spaces removed, size-changing
 * pipelines with the sampler's field shape and the evaluation's resize), the record and a resume
 * from it (taken as it is, or compared with the values given again); every error message. The
 * device side (the pipelines inside the loader, views that differ, bit-identical resume) is
 * tests/cli/test_train_views.sh and tests/test_loader_augment.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/augment.h"
#include "ir/graph.h"
#include "train/binding.h"
#include "train/views.h"

static struct cg_input_desc img(const char *name, int64_t c, int64_t h, int64_t w)
{
    struct cg_input_desc d = {name, 0, 3, {c, h, w}};
    return d;
}

static struct cg_input_desc label(const char *name)
{
    struct cg_input_desc d = {name, 1, 0, {0}};
    return d;
}

/* A split with fields x f32[1,8,8] and y i32 (no data: resolution reads shapes only). */
static void make_split(struct cg_split *s)
{
    memset(s, 0, sizeof *s);
    s->count = 16;
    s->nfields = 2;
    snprintf(s->fields[0].name, sizeof s->fields[0].name, "x");
    s->fields[0].dtype = CG_NPY_F32;
    s->fields[0].rank = 3;
    s->fields[0].shape[0] = 1, s->fields[0].shape[1] = 8, s->fields[0].shape[2] = 8;
    snprintf(s->fields[1].name, sizeof s->fields[1].name, "y");
    s->fields[1].dtype = CG_NPY_I32;
}

static void test_view_detection(void **st)
{
    (void)st;
    assert_int_equal(cg_input_view_index("x1"), 1);
    assert_int_equal(cg_input_view_index("x12"), 12);
    assert_int_equal(cg_input_view_index("x01"), 0);
    assert_int_equal(cg_input_view_index("x"), 0);
    assert_int_equal(cg_input_view_index("xp"), 0);
    assert_int_equal(cg_input_view_index("x1a"), 0);
    assert_int_equal(cg_input_view_index("y1"), 0);
    struct cg_input_desc in[4] = {img("x2", 1, 8, 8), label("y"), img("x1", 1, 8, 8),
                                  img("x3", 1, 8, 8)};
    assert_int_equal(cg_inputs_views(in, 2), 0);   /* x2 alone */
    assert_int_equal(cg_inputs_views(in, 3), 2);   /* x1, x2 */
    assert_int_equal(cg_inputs_views(in, 4), 3);   /* x1..x3 */
    assert_int_equal(cg_inputs_views(in + 2, 1), 0); /* x1 alone: not views */

    struct {
        const char *text, *err; /* err NULL: multiview with `views` views */
        int views;
    } cases[] = {
        {"input x1 : f32[N, 1, 8, 8]\ninput x2 : f32[N, 1, 8, 8]\ninput y : i32[N]\n", NULL, 2},
        {"input x1 : f32[N, 4]\ninput x2 : f32[N, 4]\ninput x3 : f32[N, 4]\n", NULL, 3},
        {"input x1 : f32[N, 4]\ninput x2 : f32[N, 4]\ninput x4 : f32[N, 4]\n",
         "g.graph: error: the views of the multiview sampler are the inputs x1..xK, consecutive "
         "from x1: x3 is missing before x4", 0},
        {"input x1 : f32[N, 4]\ninput x2 : f32[N, 4]\ninput x : f32[N, 4]\n",
         "g.graph: error: input 'x' beside the views x1..x2: the multiview sampler would fill "
         "it with all 2 views at once", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct cg_graph *g;
        struct cg_error e;
        assert_int_equal(cg_graph_load_text("g.graph", cases[k].text, strlen(cases[k].text), &g,
                                            &e), CG_OK);
        struct cg_input_desc d[8];
        char names[8][64];
        int n;
        enum cg_sampler_kind kind;
        enum cg_status s = cg_inputs_describe(g, "g.graph", 4, d, names, 8, &n, &kind, &e);
        if (cases[k].err) {
            assert_int_equal(s, CG_ERR_INPUT);
            if (!strstr(e.msg, cases[k].err))
                fail_msg("case %zu: got '%s'", k, e.msg);
        } else {
            assert_int_equal(s, CG_OK);
            assert_int_equal(kind, CG_SAMPLER_MULTIVIEW);
            assert_int_equal(cg_inputs_views(d, n), cases[k].views);
            assert_string_equal(cg_sampler_kind_name(kind), "multiview");
        }
        cg_graph_destroy(g);
    }
}

static void test_defaults(void **st)
{
    (void)st;
    struct {
        int64_t c, h, w, oh, ow;
        const char *want;
    } cases[] = {
        {1, 28, 28, 28, 28, "rrc(scale=0.2:1),flip"},
        {3, 32, 32, 32, 32, "rrc(scale=0.2:1),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),gray(p=0.2)"},
        {1, 28, 28, 24, 24, "rrc(size=24x24,scale=0.2:1),flip"},
        {1, 84, 84, 84, 84, "rrc(scale=0.08:1),flip,blur(k=9,sigma=0.1:2,p=0.5)"},
        {3, 96, 128, 96, 96,
         "rrc(size=96x96,scale=0.08:1),flip,jitter(0.8,0.8,0.8,0.2,p=0.8),gray(p=0.2),"
         "blur(k=9,sigma=0.1:2,p=0.5)"},
        {1, 224, 224, 224, 224, "rrc(scale=0.08:1),flip,blur(k=23,sigma=0.1:2,p=0.5)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char buf[CG_TRAIN_MAX_PIPE];
        cg_train_aug_default(cases[k].c, cases[k].h, cases[k].w, cases[k].oh, cases[k].ow, buf,
                             sizeof buf);
        assert_string_equal(buf, cases[k].want);
        struct cg_augment *a;
        struct cg_error e;
        int64_t oh, ow;
        assert_int_equal(cg_augment_parse(buf, &a, &e), CG_OK);
        assert_int_equal(cg_augment_out_shape(a, cases[k].c, cases[k].h, cases[k].w, &oh, &ow,
                                              &e), CG_OK);
        assert_int_equal(oh, cases[k].oh);
        assert_int_equal(ow, cases[k].ow);
        cg_augment_destroy(a);
    }
}

static struct cg_train_aug A; /* large: not on the stack */

static void test_resolve(void **st)
{
    (void)st;
    struct cg_split s;
    make_split(&s);
    struct cg_sampler_config mv = {.kind = CG_SAMPLER_MULTIVIEW, .batch = 4, .views = 2};
    struct cg_input_desc in[3] = {img("x1", 1, 8, 8), img("x2", 1, 8, 8), label("y")};
    struct cg_error e;
    const char *pipes[3];
    const char *dflt = "x1=rrc(scale=0.2:1),flip;x2=rrc(scale=0.2:1),flip";

    /* the default: the views only */
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, NULL, in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, dflt);
    assert_true(A.any);
    assert_false(A.resized);
    assert_true(cg_train_aug_pipes(&A, 0, pipes));
    assert_string_equal(pipes[0], "rrc(scale=0.2:1),flip");
    assert_null(pipes[2]);
    assert_false(cg_train_aug_pipes(&A, 1, pipes)); /* evaluation: nothing to do */
    /* resuming: the record as it is; the same values again; other values refused */
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, dflt, in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, dflt);
    const char *same[1] = {"rrc( scale = 0.2:1 ), flip"};
    assert_int_equal(cg_train_aug_resolve(&A, same, 1, dflt, in, 3, &s, &mv, &e), CG_OK);
    const char *other[1] = {"flip"};
    assert_int_equal(cg_train_aug_resolve(&A, other, 1, dflt, in, 3, &s, &mv, &e),
                     CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "error: --resume: --augment gives the augmentation "
                                  "'x1=flip;x2=flip', which differs from the run's 'x1=rrc"));
    /* a record is complete: x2 absent from it stays unaugmented (no default) */
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, "x1=flip", in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, "x1=flip");
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, "none", in, 3, &s, &mv, &e), CG_OK);
    assert_false(A.any);

    /* none; plain + per input (which wins) */
    const char *none[1] = {"none"};
    assert_int_equal(cg_train_aug_resolve(&A, none, 1, NULL, in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, "none");
    assert_false(A.any);
    const char *mix[2] = {"x2=none", "flip(p=0.7)"};
    assert_int_equal(cg_train_aug_resolve(&A, mix, 2, NULL, in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, "x1=flip(p=0.7)");
    const char *one[1] = {"x2=flip"}; /* x1 keeps the default */
    assert_int_equal(cg_train_aug_resolve(&A, one, 1, NULL, in, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, "x1=rrc(scale=0.2:1),flip;x2=flip");

    /* a size-changing pipeline: the sampler delivers the field's 8x8, evaluation resizes */
    struct cg_input_desc small[3] = {img("x1", 1, 8, 8), img("x2", 1, 6, 6), label("y")};
    const char *crop[1] = {" x2 = rrc( size = 6 ) , flip "};
    assert_int_equal(cg_train_aug_resolve(&A, crop, 1, NULL, small, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.record, "x1=rrc(scale=0.2:1),flip;x2=rrc(size=6),flip");
    assert_true(A.resized);
    assert_int_equal(A.src[1].dims[1], 8);
    assert_int_equal(A.src[1].dims[2], 8);
    assert_int_equal(A.src[0].dims[1], 8);
    assert_true(cg_train_aug_pipes(&A, 1, pipes));
    assert_null(pipes[0]);
    assert_string_equal(pipes[1], "rrc(size=6x6,scale=1:1,ratio=1:1)");
    /* ... and without --augment, the default crops to the graph's size */
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, NULL, small, 3, &s, &mv, &e), CG_OK);
    assert_string_equal(A.pipe[1], "rrc(size=6x6,scale=0.2:1),flip");

    /* other samplers: no default; a plain --augment on every image input */
    struct cg_sampler_config plain = {.kind = CG_SAMPLER_PLAIN, .batch = 4};
    struct cg_input_desc xy[2] = {img("x", 1, 8, 8), label("y")};
    assert_int_equal(cg_train_aug_resolve(&A, NULL, 0, NULL, xy, 2, &s, &plain, &e), CG_OK);
    assert_string_equal(A.record, "none");
    assert_int_equal(cg_train_aug_resolve(&A, other, 1, NULL, xy, 2, &s, &plain, &e), CG_OK);
    assert_string_equal(A.record, "x=flip");
}

static void test_errors(void **st)
{
    (void)st;
    struct cg_split s;
    make_split(&s);
    struct cg_sampler_config mv = {.kind = CG_SAMPLER_MULTIVIEW, .batch = 4, .views = 2};
    struct cg_input_desc in[3] = {img("x1", 1, 8, 8), img("x2", 1, 8, 8), label("y")};
    char longpipe[CG_TRAIN_MAX_PIPE + 8];
    memset(longpipe, 'f', sizeof longpipe - 1);
    longpipe[sizeof longpipe - 1] = 0;
    struct {
        const char *opts[2];
        int nopts;
        const char *saved, *want;
    } cases[] = {
        {{"flip(p=2)"}, 1, NULL,
         "error: --augment flip(p=2): augmentation 'flip(p=2)': at character 6: 'p=2': p must "
         "be a number in [0, 1]"},
        {{"x2=rrc(size=a)"}, 1, NULL, "error: --augment x2=rrc(size=a): augmentation"},
        {{" "}, 1, NULL, "error: --augment  : empty pipeline (give stages such as 'rrc,flip', "
                         "or 'none' to disable augmentation)"},
        {{"x1="}, 1, NULL, "error: --augment x1=: empty pipeline"},
        {{"x3=flip"}, 1, NULL, "error: --augment x3=flip: the graph has no input 'x3' (its "
                               "inputs: x1, x2, y)"},
        {{"y=flip"}, 1, NULL, "error: --augment y=flip: graph input 'y' is i32[] per example; "
                              "augmentations need f32 images [C, H, W] with C = 1 or 3"},
        {{"rrc(size=6)"}, 1, NULL, "error: --augment rrc(size=6): the pipeline makes 6x6 images "
                                   "of x's 8x8 ones, but graph input 'x1' is f32[1,8,8] per "
                                   "example"},
        {{"blur(k=17)"}, 1, NULL, "error: --augment blur(k=17): "},
        {{"x1=flip", "x1=none"}, 2, NULL, "error: --augment: input 'x1' given twice ('x1=flip' "
                                          "and 'x1=none')"},
        {{"flip", "none"}, 2, NULL, "error: --augment given twice for all image inputs ('flip' "
                                    "and 'none'); use --augment NAME=PIPELINE for one input"},
        {{longpipe}, 1, NULL, "the pipeline is longer than 511 characters"},
        {{NULL}, 0, "flip", "error: the run's augmentation record 'flip' is not "
                            "NAME=PIPELINE;..."},
        {{NULL}, 0, "x9=flip", "error: the run's augmentation x9=flip: the graph has no input "
                               "'x9'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct cg_error e;
        enum cg_status r = cg_train_aug_resolve(&A, cases[k].opts, cases[k].nopts,
                                                cases[k].saved, in, 3, &s, &mv, &e);
        assert_int_equal(r, CG_ERR_INPUT);
        if (!strstr(e.msg, cases[k].want))
            fail_msg("case %zu: got '%s', want '%s'", k, e.msg, cases[k].want);
    }
    /* the option-only check, before the graph and the data: form, syntax, twice */
    struct cg_error e;
    const char *bad[1] = {"jitter(b=-1)"};
    assert_int_equal(cg_train_aug_check(bad, 1, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "error: --augment jitter(b=-1): augmentation"));
    const char *twice[2] = {"x1=flip", "x1 = rrc"};
    assert_int_equal(cg_train_aug_check(twice, 2, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "input 'x1' given twice"));
    const char *fine[3] = {"flip", "x1=none", "y=rrc"}; /* names are checked later */
    assert_int_equal(cg_train_aug_check(fine, 3, &e), CG_OK);
    /* a plain --augment with no image input */
    struct cg_input_desc vec[2] = {{"x1", 0, 1, {4}}, {"x2", 0, 1, {4}}};
    assert_int_equal(cg_train_aug_resolve(&A, fine, 1, NULL, vec, 2, &s, &mv, &e),
                     CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "error: --augment flip: the graph has no image input (f32 "
                                  "[C, H, W] per example, C = 1 or 3) to augment"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_detection),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
