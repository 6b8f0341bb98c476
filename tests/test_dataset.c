/* test_dataset.c: the data set core (src/data/dataset.c): splits and fields, save/load round
 * trips (every field's bytes, names, dtypes, shapes, seed and params), every load error (missing
 * info.json, missing or misshapen field files, count mismatches, malformed JSON), the builder
 * table and parameter validation (unknown data set and key, bad values, duplicates), the
 * cg_data_param_* helpers, and allocation failures. The builders that need no image source
 * (latent_pairs) stand in for built data sets here; test_builders.c covers the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cg_test_dataset_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", tmpdir, rel);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A small hand-made data set: train 3 examples (x f32[2,2], y i32), test 2 (x, y, z u8[3]). */
static struct cg_dataset *small(void)
{
    struct cg_error e = {0};
    struct cg_dataset *ds = NULL;
    const struct cg_data_param p[] = {{"n_train", "3"}, {"n_test", "2"}};
    assert_int_equal(cg_dataset_build("latent_pairs", p, 2, 5, &ds, &e), CG_OK);
    /* Replace the fields by hand-made ones. */
    for (int s = 0; s < 2; s++) {
        struct cg_split *sp = s ? &ds->test : &ds->train;
        for (int i = 0; i < sp->nfields; i++)
            cg_free(sp->fields[i].data);
        memset(sp, 0, sizeof *sp);
    }
    struct cg_field *f;
    const int64_t s22[2] = {2, 2}, s3[1] = {3};
    assert_int_equal(cg_split_add(&ds->train, "x", CG_NPY_F32, 2, s22, 3, &f, &e), CG_OK);
    for (int i = 0; i < 12; i++)
        ((float *)f->data)[i] = (float)i * 0.25f;
    assert_int_equal(cg_split_add(&ds->train, "y", CG_NPY_I32, 0, NULL, 3, &f, &e), CG_OK);
    for (int i = 0; i < 3; i++)
        ((int32_t *)f->data)[i] = i - 1;
    assert_int_equal(cg_split_add(&ds->test, "x", CG_NPY_F32, 2, s22, 2, &f, &e), CG_OK);
    assert_int_equal(cg_split_add(&ds->test, "y", CG_NPY_I32, 0, NULL, 2, &f, &e), CG_OK);
    assert_int_equal(cg_split_add(&ds->test, "z", CG_NPY_U8, 1, s3, 2, &f, &e), CG_OK);
    for (int i = 0; i < 6; i++)
        ((uint8_t *)f->data)[i] = (uint8_t)(250 + i);
    return ds;
}

static void assert_same(const struct cg_dataset *a, const struct cg_dataset *b)
{
    assert_string_equal(a->name, b->name);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->nparams, b->nparams);
    for (int i = 0; i < a->nparams; i++) {
        assert_string_equal(a->param_keys[i], b->param_keys[i]);
        assert_string_equal(a->param_values[i], b->param_values[i]);
    }
    for (int s = 0; s < 2; s++) {
        const struct cg_split *x = s ? &a->test : &a->train, *y = s ? &b->test : &b->train;
        assert_int_equal(x->count, y->count);
        assert_int_equal(x->nfields, y->nfields);
        for (int i = 0; i < x->nfields; i++) {
            const struct cg_field *f = &x->fields[i], *g = &y->fields[i];
            assert_string_equal(f->name, g->name);
            assert_int_equal(f->dtype, g->dtype);
            assert_int_equal(f->rank, g->rank);
            for (int k = 0; k < f->rank; k++)
                assert_int_equal(f->shape[k], g->shape[k]);
            assert_int_equal(f->count, g->count);
            assert_memory_equal(f->data, g->data,
                                f->count * cg_field_example_size(f) * cg_npy_dtype_size(f->dtype));
        }
    }
}

static void test_split_add(void **state)
{
    (void)state;
    struct cg_split s;
    memset(&s, 0, sizeof s);
    struct cg_error e = {0};
    struct cg_field *f;
    const int64_t sh[3] = {1, 4, 4};
    assert_int_equal(cg_split_add(&s, "x", CG_NPY_F32, 3, sh, 5, &f, &e), CG_OK);
    assert_int_equal(cg_field_example_size(f), 16);
    assert_int_equal(s.count, 5);
    for (int i = 0; i < 80; i++)
        assert_true(((float *)f->data)[i] == 0.0f);
    assert_int_equal(cg_split_add(&s, "y", CG_NPY_I32, 0, NULL, 4, &f, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "4 examples, but the split has 5"));
    assert_int_equal(cg_split_add(&s, "x", CG_NPY_I32, 0, NULL, 5, &f, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "already has"));
    const int64_t bad[1] = {0};
    assert_int_equal(cg_split_add(&s, "z", CG_NPY_I32, 1, bad, 5, &f, &e), CG_ERR_INPUT);
    assert_int_equal(cg_split_add(&s, "y", CG_NPY_I32, 0, NULL, 5, &f, &e), CG_OK);
    assert_ptr_equal(cg_split_field(&s, "y"), f);
    assert_null(cg_split_field(&s, "nope"));
    char name[16];
    for (int i = 2; i < CG_MAX_FIELDS; i++) {
        snprintf(name, sizeof name, "f%d", i);
        assert_int_equal(cg_split_add(&s, name, CG_NPY_U8, 0, NULL, 5, NULL, &e), CG_OK);
    }
    assert_int_equal(cg_split_add(&s, "full", CG_NPY_U8, 0, NULL, 5, NULL, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "at most"));
    for (int i = 0; i < s.nfields; i++)
        cg_free(s.fields[i].data);
    cg_dataset_free(NULL);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_dataset *d = small(), *r = NULL;
    char dir[512];
    path_of(dir, sizeof dir, "rt");
    assert_int_equal(cg_dataset_save(d, dir, &e), CG_OK);
    assert_int_equal(cg_dataset_load(dir, &r, &e), CG_OK);
    assert_same(d, r);
    cg_dataset_free(r);
    /* Saving over an existing data set replaces it. */
    assert_int_equal(cg_dataset_save(d, dir, &e), CG_OK);
    /* A built data set too, with params and a 64-bit seed. */
    struct cg_dataset *b = NULL;
    const struct cg_data_param p[] = {{"n_train", "20"}, {"n_test", "7"}, {"p_change", "0.5"}};
    assert_int_equal(cg_dataset_build("latent_pairs", p, 3, 18446744073709551615ull, &b, &e),
                     CG_OK);
    path_of(dir, sizeof dir, "rt2");
    assert_int_equal(cg_dataset_save(b, dir, &e), CG_OK);
    assert_int_equal(cg_dataset_load(dir, &r, &e), CG_OK);
    assert_same(b, r);
    assert_true(r->seed == 18446744073709551615ull);
    cg_dataset_free(r);
    cg_dataset_free(b);
    cg_dataset_free(d);
}

/* Saves the small data set into a fresh DIR/name and returns its path in dir. */
static void fresh(const char *name, char *dir, size_t n)
{
    struct cg_error e = {0};
    struct cg_dataset *d = small();
    path_of(dir, n, name);
    assert_int_equal(cg_dataset_save(d, dir, &e), CG_OK);
    cg_dataset_free(d);
}

static void expect_load_error(const char *dir, const char *what1, const char *what2)
{
    struct cg_error e = {0};
    struct cg_dataset *r = (struct cg_dataset *)1;
    assert_int_equal(cg_dataset_load(dir, &r, &e), CG_ERR_INPUT);
    assert_null(r);
    if (!strstr(e.msg, what1) || (what2 && !strstr(e.msg, what2)))
        fail_msg("message '%s' lacks '%s' / '%s'", e.msg, what1, what2 ? what2 : "");
}

static void replace_in_info(const char *dir, const char *from, const char *to)
{
    char path[600], *text = NULL;
    size_t len;
    struct cg_error e = {0};
    snprintf(path, sizeof path, "%s/info.json", dir);
    assert_int_equal(cg_read_file(path, 1 << 20, &text, &len, &e), CG_OK);
    char *at = strstr(text, from);
    assert_non_null(at);
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    write_text(path, out);
    cg_free(text);
}

static void test_load_errors(void **state)
{
    (void)state;
    char dir[512], path[600];
    struct cg_error e = {0};

    /* No directory, no info.json. */
    path_of(dir, sizeof dir, "nothing");
    expect_load_error(dir, "nothing/info.json", NULL);
    fresh("noinfo", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/info.json", dir);
    unlink(path);
    expect_load_error(dir, "noinfo/info.json", NULL);

    /* A missing field file. */
    fresh("nofield", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/test/z.npy", dir);
    unlink(path);
    expect_load_error(dir, "nofield/test/z.npy", NULL);

    /* Count mismatch: y of train has 4 examples, info.json (and x) say 3. */
    fresh("count", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/train/y.npy", dir);
    const int32_t y4[4] = {0, 1, 2, 3};
    const int64_t s4[1] = {4};
    assert_int_equal(cg_npy_write(path, CG_NPY_I32, s4, 1, y4, &e), CG_OK);
    expect_load_error(dir, "count/train/y.npy", "4 examples, info.json says 3");

    /* info.json's count disagrees with every file. */
    fresh("count2", dir, sizeof dir);
    replace_in_info(dir, "\"count\": 2", "\"count\": 5");
    expect_load_error(dir, "count2/test/x.npy", "2 examples, info.json says 5");

    /* Wrong per-example shape, wrong dtype. */
    fresh("shape", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/train/x.npy", dir);
    const float x[3 * 4] = {0};
    const int64_t s34[3] = {3, 4, 1};
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, s34, 3, x, &e), CG_OK);
    expect_load_error(dir, "shape/train/x.npy", "<f4[4, 1], info.json says f32[2, 2]");
    fresh("dtype", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/train/y.npy", dir);
    const float y3[3] = {0};
    const int64_t s3[1] = {3};
    assert_int_equal(cg_npy_write(path, CG_NPY_F32, s3, 1, y3, &e), CG_OK);
    expect_load_error(dir, "dtype/train/y.npy", "info.json says i32[]");

    /* A broken field file. */
    fresh("broken", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/train/x.npy", dir);
    write_text(path, "not an npy file");
    expect_load_error(dir, "broken/train/x.npy", NULL);

    /* Malformed or incomplete info.json. */
    fresh("json", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/info.json", dir);
    write_text(path, "{\"name\": \"x\", ");
    expect_load_error(dir, "json/info.json", "malformed JSON");
    write_text(path, "{\"name\": \"x\"} trailing");
    expect_load_error(dir, "json/info.json", "text after");
    write_text(path, "{\"name\": \"x\", \"seed\": 1.5}");
    expect_load_error(dir, "json/info.json", "integer");
    write_text(path, "{\"name\": \"x\", \"seed\": 1, \"params\": {}}");
    expect_load_error(dir, "json/info.json", "\"splits\"");
    write_text(path, "{\"name\": \"x\", \"seed\": 1, \"params\": {}, \"splits\": {\"train\": "
                     "{\"count\": 0, \"fields\": []}}}");
    expect_load_error(dir, "json/info.json", "no split \"test\"");
    write_text(path, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    expect_load_error(dir, "json/info.json", "nested too deeply");
    fresh("dt", dir, sizeof dir);
    replace_in_info(dir, "\"dtype\": \"i32\"", "\"dtype\": \"i64\"");
    expect_load_error(dir, "dt/info.json", "unknown dtype 'i64'");
    fresh("neg", dir, sizeof dir);
    replace_in_info(dir, "\"shape\": [2, 2]", "\"shape\": [2, -2]");
    expect_load_error(dir, "neg/info.json", "positive integers");
    fresh("slash", dir, sizeof dir);
    replace_in_info(dir, "\"name\": \"z\"", "\"name\": \"../z\"");
    expect_load_error(dir, "slash/info.json", "bad name");
    fresh("dup", dir, sizeof dir);
    replace_in_info(dir, "\"name\": \"z\"", "\"name\": \"y\"");
    expect_load_error(dir, "dup/info.json", "already has");
}

static void test_save_errors(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_dataset *d = small();
    char dir[512];
    path_of(dir, sizeof dir, "file");
    write_text(dir, "x");
    assert_int_equal(cg_dataset_save(d, dir, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "file: error: not a directory"));
    path_of(dir, sizeof dir, "no/such/parent");
    assert_int_equal(cg_dataset_save(d, dir, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no/such/parent"));
    cg_dataset_free(d);
}

static void test_builders_table(void **state)
{
    (void)state;
    size_t n;
    const struct cg_builder_def *b = cg_dataset_builders(&n);
    const char *want[] = {"mnist", "fashion_mnist", "colored_mnist", "mnist_grid", "shift_mnist",
                          "digits_on_objects", "waterbirds_like", "latent_pairs"};
    assert_int_equal(n, CG_ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(b[i].name, want[i]);
        assert_non_null(b[i].build);
        assert_true(strlen(b[i].description) > 10);
        assert_true(strlen(b[i].fields) > 3);
        /* Every signature parses: an unknown key lists the builder's params. */
        struct cg_error e = {0};
        struct cg_dataset *d = NULL;
        const struct cg_data_param p[] = {{"bogus_key", "1"}};
        assert_int_equal(cg_dataset_build(b[i].name, p, 1, 0, &d, &e), CG_ERR_INPUT);
        assert_null(d);
        assert_non_null(strstr(e.msg, "unknown parameter 'bogus_key'"));
        assert_non_null(strstr(e.msg, b[i].params));
    }
}

static void test_build_params(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_dataset *d = NULL;
    assert_int_equal(cg_dataset_build("no_such_set", NULL, 0, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "unknown data set 'no_such_set'"));
    assert_non_null(strstr(e.msg, "colored_mnist"));

    const struct cg_data_param bad_int[] = {{"n_train", "12x"}};
    assert_int_equal(cg_dataset_build("latent_pairs", bad_int, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter n_train: '12x' is not an integer"));
    const struct cg_data_param bad_f[] = {{"p_change", "lots"}};
    assert_int_equal(cg_dataset_build("latent_pairs", bad_f, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter p_change: 'lots' is not a number"));
    const struct cg_data_param range[] = {{"p_change", "1.5"}};
    assert_int_equal(cg_dataset_build("latent_pairs", range, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "latent_pairs: parameter p_change"));
    const struct cg_data_param zero[] = {{"n_train", "0"}};
    assert_int_equal(cg_dataset_build("latent_pairs", zero, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "n_train"));
    const struct cg_data_param twice[] = {{"n_test", "3"}, {"n_test", "4"}};
    assert_int_equal(cg_dataset_build("latent_pairs", twice, 2, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter n_test given twice"));
    const struct cg_data_param alpha[] = {{"alpha", "high"}};
    assert_int_equal(cg_dataset_build("colored_mnist", alpha, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter alpha: 'high' is not a number"));
    assert_null(d);

    /* The image builders name a missing source directory. */
    const struct cg_data_param src[] = {{"mnist", "/nonexistent/mnist_dir"}};
    assert_int_equal(cg_dataset_build("mnist_grid", src, 1, 0, &d, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "/nonexistent/mnist_dir"));
    assert_null(d);
}

static void test_param_helpers(void **state)
{
    (void)state;
    struct cg_error e = {0};
    const struct cg_data_param p[] = {{"a", "2.5"}, {"b", "-7"}, {"c", "x"}, {"d", ""}};
    double f;
    int64_t i;
    assert_string_equal(cg_data_param_str(p, 4, "c", "z"), "x");
    assert_string_equal(cg_data_param_str(p, 4, "q", "z"), "z");
    assert_null(cg_data_param_str(p, 4, "q", NULL));
    assert_int_equal(cg_data_param_f64(p, 4, "a", 0, &f, &e), CG_OK);
    assert_true(f == 2.5);
    assert_int_equal(cg_data_param_f64(p, 4, "q", 9, &f, &e), CG_OK);
    assert_true(f == 9);
    assert_int_equal(cg_data_param_i64(p, 4, "b", 0, &i, &e), CG_OK);
    assert_int_equal(i, -7);
    assert_int_equal(cg_data_param_i64(p, 4, "a", 0, &i, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter a: '2.5' is not an integer"));
    assert_int_equal(cg_data_param_f64(p, 4, "c", 0, &f, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "parameter c"));
    assert_int_equal(cg_data_param_f64(p, 4, "d", 0, &f, &e), CG_ERR_INPUT);
    assert_int_equal(cg_data_param_i64(p, 4, "d", 0, &i, &e), CG_ERR_INPUT);
}

/* Every allocation of save and load fails in turn: an error, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
    (void)state;
    char dir[512];
    fresh("alloc", dir, sizeof dir);
    int failed = 0;
    for (long k = 0; k < 400; k++) {
        struct cg_error e = {0};
        struct cg_dataset *r = NULL;
        cg_alloc_fail_after(k);
        enum cg_status st = cg_dataset_load(dir, &r, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            cg_dataset_free(r);
            break;
        }
        failed++;
        assert_int_equal(st, CG_ERR_NOMEM);
        assert_null(r);
    }
    assert_true(failed > 5);
    for (long k = 0; k < 400; k++) {
        struct cg_error e = {0};
        struct cg_dataset *r = NULL;
        const struct cg_data_param p[] = {{"n_train", "4"}, {"n_test", "3"}};
        cg_alloc_fail_after(k);
        enum cg_status st = cg_dataset_build("latent_pairs", p, 2, 1, &r, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            cg_dataset_free(r);
            break;
        }
        assert_int_equal(st, CG_ERR_NOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_add),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_save_errors),
        cmocka_unit_test(test_builders_table),
        cmocka_unit_test(test_build_params),
        cmocka_unit_test(test_param_helpers),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
