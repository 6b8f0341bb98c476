/* test_sampler.c: the samplers of src/data/sampler.c on small in-memory splits built here:
 * every example once per epoch (drop_last and keep_last), orders per epoch and seed, triplet
 * positives and negatives, multi-view and content/style pairs layouts, u8 labels, the
 * binding errors (both sides listed) and state save/restore. The x rows encode the example
 * index, so every filled row can be traced back to its example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/sampler.h"

#define XE 4 /* elements of one x example: shape [1,2,2] */

static struct cg_field *add_field(struct cg_split *s, const char *name, enum cg_npy_dtype dt,
                                  int rank, const int64_t *shape)
{
    struct cg_field *f = &s->fields[s->nfields++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->dtype = dt;
    f->rank = rank;
    size_t el = 1;
    for (int i = 0; i < rank; i++)
        el *= (size_t)(f->shape[i] = shape[i]);
    f->count = s->count;
    f->data = calloc(s->count * el + 1, dt == CG_NPY_U8 ? 1 : 4);
    return f;
}

/* x f32[1,2,2] with x[i] = (i, i + 0.25, i + 0.5, i + 0.75), y i32 = class(i) */
static struct cg_split *make_split(size_t count, int classes)
{
    struct cg_split *s = calloc(1, sizeof *s);
    s->count = count;
    const int64_t xs[3] = {1, 2, 2};
    struct cg_field *x = add_field(s, "x", CG_NPY_F32, 3, xs);
    struct cg_field *y = add_field(s, "y", CG_NPY_I32, 0, NULL);
    for (size_t i = 0; i < count; i++) {
        for (int k = 0; k < XE; k++)
            ((float *)x->data)[i * XE + k] = (float)i + 0.25f * (float)k;
        /* uneven classes: class c has roughly (c+1) shares */
        int c = 0;
        size_t r = i % (size_t)(classes * (classes + 1) / 2);
        while (r >= (size_t)(c + 1)) {
            r -= (size_t)(c + 1);
            c++;
        }
        ((int32_t *)y->data)[i] = c * 7 - 3; /* arbitrary label values */
    }
    return s;
}

static void free_split(struct cg_split *s)
{
    for (int i = 0; i < s->nfields; i++)
        free(s->fields[i].data);
    free(s);
}

static struct cg_input_desc in_x(const char *name)
{
    struct cg_input_desc d = {name, 0, 3, {1, 2, 2}};
    return d;
}

static struct cg_input_desc in_y(const char *name)
{
    struct cg_input_desc d = {name, 1, 0, {0}};
    return d;
}

/* The example index a filled x row encodes (and checks the row is whole). */
static size_t row_index(const float *buf, size_t row)
{
    const float *r = buf + row * XE;
    for (int k = 0; k < XE; k++)
        assert_true(r[k] == r[0] + 0.25f * (float)k);
    return (size_t)r[0];
}

struct bufs {
    void *p[8];
};

static void alloc_bufs(struct cg_sampler *sm, struct bufs *b)
{
    for (int i = 0; i < cg_sampler_ninputs(sm); i++)
        b->p[i] = calloc(cg_sampler_input_bytes(sm, i) + 4, 1);
}

static void free_bufs(struct cg_sampler *sm, struct bufs *b)
{
    for (int i = 0; i < cg_sampler_ninputs(sm); i++)
        free(b->p[i]);
}

static void epoch_once(int keep_last)
{
    const size_t count = 103, batch = 10;
    struct cg_split *s = make_split(count, 3);
    struct cg_input_desc in[2] = {in_x("x"), in_y("y")};
    struct cg_sampler_config cfg = {.batch = batch, .seed = 42, .keep_last = keep_last};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_OK);
    size_t steps = cg_sampler_steps_per_epoch(sm);
    assert_int_equal(steps, keep_last ? 11 : 10);
    struct bufs b;
    alloc_bufs(sm, &b);
    for (uint64_t ep = 0; ep < 3; ep++) {
        int seen[103] = {0};
        size_t total = 0;
        for (size_t t = 0; t < steps; t++) {
            size_t idx[10];
            struct cg_batch_info info;
            cg_sampler_next(sm, b.p, idx, &info);
            assert_int_equal(info.epoch, ep);
            assert_int_equal(info.step, t);
            size_t want = keep_last && t == steps - 1 ? count % batch : batch;
            assert_int_equal(info.rows, want);
            for (size_t r = 0; r < info.rows; r++) {
                size_t i = row_index(b.p[0], r);
                assert_int_equal(i, idx[r]);
                assert_int_equal(((int32_t *)b.p[1])[r], ((int32_t *)s->fields[1].data)[i]);
                seen[i]++;
                total++;
            }
            for (size_t r = info.rows; r < batch; r++) /* padding is zero */
                assert_true(((float *)b.p[0])[r * XE + 3] == 0.0f);
        }
        assert_int_equal(total, keep_last ? count : 100);
        for (size_t i = 0; i < count; i++)
            assert_true(seen[i] <= 1);
    }
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    free_split(s);
}

static void test_epoch_drop_last(void **st)
{
    (void)st;
    epoch_once(0);
}

static void test_epoch_keep_last(void **st)
{
    (void)st;
    epoch_once(1);
}

/* The anchors' order of n_epochs epochs of a sampler with this seed. */
static void orders(uint64_t seed, int no_shuffle, size_t *out, int n_epochs)
{
    struct cg_split *s = make_split(50, 2);
    struct cg_input_desc in[1] = {in_x("x")};
    struct cg_sampler_config cfg = {.batch = 5, .seed = seed, .no_shuffle = no_shuffle};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 1, &cfg, &sm, &e), CG_OK);
    struct bufs b;
    alloc_bufs(sm, &b);
    for (int t = 0; t < 10 * n_epochs; t++)
        cg_sampler_next(sm, b.p, out + 5 * t, NULL);
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    free_split(s);
}

static void test_orders(void **st)
{
    (void)st;
    size_t a[150], b[150], c[150], d[150];
    orders(7, 0, a, 3);
    orders(7, 0, b, 3);
    orders(8, 0, c, 3);
    orders(7, 1, d, 3);
    assert_memory_equal(a, b, sizeof a);                     /* same seed, same order */
    assert_memory_not_equal(a, c, 50 * sizeof(size_t));      /* another seed */
    assert_memory_not_equal(a, a + 50, 50 * sizeof(size_t)); /* epochs differ */
    assert_memory_not_equal(a + 50, a + 100, 50 * sizeof(size_t));
    for (size_t i = 0; i < 150; i++)
        assert_int_equal(d[i], i % 50); /* no_shuffle: index order */
}

static int32_t label_of(const struct cg_split *s, size_t i)
{
    return ((const int32_t *)s->fields[1].data)[i];
}

static void test_triplet(void **st)
{
    (void)st;
    const size_t count = 300, batch = 16;
    struct cg_split *s = make_split(count, 4);
    struct cg_input_desc in[4] = {in_x("x"), in_x("xp"), in_x("xn"), in_y("y")};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_TRIPLET, .batch = batch, .seed = 3};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 4, &cfg, &sm, &e), CG_OK);
    struct bufs b;
    alloc_bufs(sm, &b);
    static unsigned pos_hits[300], neg_class[4][4];
    size_t class_n[4] = {0};
    for (size_t i = 0; i < count; i++)
        class_n[(label_of(s, i) + 3) / 7]++;
    const int steps = 2000;
    for (int t = 0; t < steps; t++) {
        cg_sampler_next(sm, b.p, NULL, NULL);
        for (size_t r = 0; r < batch; r++) {
            size_t a = row_index(b.p[0], r), p = row_index(b.p[1], r), n = row_index(b.p[2], r);
            int32_t y = ((int32_t *)b.p[3])[r];
            assert_int_equal(y, label_of(s, a));
            assert_int_equal(label_of(s, p), y); /* positive: same class */
            assert_int_not_equal(p, a);          /* and not the anchor */
            assert_int_not_equal(label_of(s, n), y); /* negative: another class */
            pos_hits[p]++;
            neg_class[(y + 3) / 7][(label_of(s, n) + 3) / 7]++;
        }
    }
    /* positives uniform within a class: every example drawn about as often as its class mates
     * (anchors are uniform, so example i is a positive with rate 1/(n_c - 1) per class anchor) */
    for (size_t i = 0; i < count; i++) {
        size_t c = (size_t)(label_of(s, i) + 3) / 7;
        double expect = (double)steps * batch * (double)class_n[c] / count / (double)class_n[c];
        assert_true(pos_hits[i] > 0.7 * expect && pos_hits[i] < 1.3 * expect);
    }
    /* negatives of class c spread over the other classes in proportion to their sizes */
    for (int c = 0; c < 4; c++) {
        double tot = 0, others = (double)(count - class_n[c]);
        for (int d = 0; d < 4; d++)
            tot += neg_class[c][d];
        assert_int_equal(neg_class[c][c], 0);
        for (int d = 0; d < 4; d++)
            if (d != c) {
                double f = neg_class[c][d] / tot, want = (double)class_n[d] / others;
                assert_true(f > want - 0.03 && f < want + 0.03);
            }
    }
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    free_split(s);
}

static void test_triplet_errors(void **st)
{
    (void)st;
    struct cg_split *s = make_split(20, 1); /* one class */
    struct cg_input_desc in[2] = {in_x("x"), in_x("xp")};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_TRIPLET, .batch = 4};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "single class"));
    assert_null(sm);
    cfg.class_field = "label";
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "no class field 'label'"));
    cfg.class_field = "x";
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "scalar integer"));
    free_split(s);
    s = make_split(2, 2); /* two classes of one example each */
    cfg.class_field = NULL;
    cfg.batch = 1;
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "single example"));
    free_split(s);
}

static void test_binding_errors(void **st)
{
    (void)st;
    struct cg_split *s = make_split(20, 2);
    struct cg_sampler_config cfg = {.batch = 4};
    struct cg_sampler *sm;
    struct cg_error e;
    struct cg_input_desc in[3] = {in_x("x"), in_y("y"), in_y("group")};
    assert_int_equal(cg_sampler_create(s, in, 3, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_null(sm);
    assert_non_null(strstr(e.msg, "graph input 'group' i32[] has no field"));
    assert_non_null(strstr(e.msg, "graph inputs (per example): x f32[1,2,2], y i32[], group "));
    assert_non_null(strstr(e.msg, "data set fields (per example, 20 examples): x f32[1,2,2], "
                                  "y i32[]"));
    in[0].dims[0] = 3; /* misshapen */
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "graph input 'x' f32[3,2,2] has another per-example shape "
                                  "than field 'x' f32[1,2,2]"));
    assert_non_null(strstr(e.msg, "data set fields"));
    in[0].dims[0] = 1;
    in[1].is_int = 0; /* y as f32 */
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "graph input 'y' f32[] has another dtype than field 'y' "
                                  "i32[]"));
    in[1] = in_x("xp"); /* plain: no positives */
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "'xp'"));
    cfg.batch = 21;
    assert_int_equal(cg_sampler_create(s, in, 1, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "larger than the data set's 20 examples"));
    cfg.batch = 0;
    assert_int_equal(cg_sampler_create(s, in, 1, &cfg, &sm, &e), CG_ERR_INPUT);
    cfg.batch = 4;
    cfg.kind = CG_SAMPLER_MULTIVIEW;
    assert_int_equal(cg_sampler_create(s, in, 1, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "views must be >= 1"));
    free_split(s);
}

static void test_multiview(void **st)
{
    (void)st;
    const size_t N = 6;
    struct cg_split *s = make_split(40, 2);
    struct cg_input_desc in[4] = {in_x("x"), in_y("y"), in_x("x1"), in_x("x3")};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_MULTIVIEW, .batch = N, .views = 3};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 4, &cfg, &sm, &e), CG_OK);
    assert_int_equal(cg_sampler_input_rows(sm, 0), 3 * N);
    assert_int_equal(cg_sampler_input_views(sm, 0), 3);
    assert_int_equal(cg_sampler_input_rows(sm, 1), N);
    assert_int_equal(cg_sampler_input_views(sm, 1), 1);
    assert_int_equal(cg_sampler_input_rows(sm, 2), N);
    struct bufs b;
    alloc_bufs(sm, &b);
    size_t idx[6];
    cg_sampler_next(sm, b.p, idx, NULL);
    for (size_t v = 0; v < 3; v++)
        for (size_t r = 0; r < N; r++)
            assert_int_equal(row_index(b.p[0], v * N + r), idx[r]); /* view-major */
    for (size_t r = 0; r < N; r++) {
        assert_int_equal(row_index(b.p[2], r), idx[r]);
        assert_int_equal(row_index(b.p[3], r), idx[r]);
    }
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    in[2] = in_x("x4"); /* beyond K */
    assert_int_equal(cg_sampler_create(s, in, 3, &cfg, &sm, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "'x4'"));
    free_split(s);
}

static void test_pairs(void **st)
{
    (void)st;
    const size_t count = 64, N = 8;
    struct cg_split *s = make_split(count, 2);
    const int64_t xs[3] = {1, 2, 2};
    struct cg_field *xp = add_field(s, "x_pos", CG_NPY_F32, 3, xs);
    for (size_t i = 0; i < count * XE; i++)
        ((float *)xp->data)[i] = ((float *)s->fields[0].data)[i] + 1000.0f;
    struct cg_input_desc in[3] = {in_x("x"), in_x("x_pos"), in_x("x_neg")};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_PAIRS, .batch = N, .seed = 5};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 3, &cfg, &sm, &e), CG_OK);
    struct bufs b;
    alloc_bufs(sm, &b);
    int differs = 0;
    for (int t = 0; t < 16; t++) {
        cg_sampler_next(sm, b.p, NULL, NULL);
        for (size_t r = 0; r < N; r++) {
            size_t a = row_index(b.p[0], r);
            assert_int_equal(row_index(b.p[1], r), a + 1000); /* the anchor's own positive */
            size_t n = row_index(b.p[2], r);                  /* a random example of x */
            assert_true(n < count);
            differs += n != a;
        }
    }
    assert_true(differs > 100);
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    /* with an x_neg field, the anchor's own row */
    struct cg_field *xn = add_field(s, "x_neg", CG_NPY_F32, 3, xs);
    for (size_t i = 0; i < count * XE; i++)
        ((float *)xn->data)[i] = ((float *)s->fields[0].data)[i] + 2000.0f;
    assert_int_equal(cg_sampler_create(s, in, 3, &cfg, &sm, &e), CG_OK);
    alloc_bufs(sm, &b);
    cg_sampler_next(sm, b.p, NULL, NULL);
    for (size_t r = 0; r < N; r++)
        assert_int_equal(row_index(b.p[2], r), row_index(b.p[0], r) + 2000);
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    free_split(s);
}

static void test_u8_labels(void **st)
{
    (void)st;
    struct cg_split *s = make_split(30, 2);
    struct cg_field *g = add_field(s, "group", CG_NPY_U8, 0, NULL);
    for (size_t i = 0; i < 30; i++)
        ((uint8_t *)g->data)[i] = (uint8_t)(200 + i);
    struct cg_input_desc in[2] = {in_x("x"), in_y("group")};
    struct cg_sampler_config cfg = {.batch = 10, .seed = 1};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 2, &cfg, &sm, &e), CG_OK);
    struct bufs b;
    alloc_bufs(sm, &b);
    cg_sampler_next(sm, b.p, NULL, NULL);
    for (size_t r = 0; r < 10; r++)
        assert_int_equal(((int32_t *)b.p[1])[r], 200 + (int)row_index(b.p[0], r));
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    free_split(s);
}

/* Runs `steps` triplet batches from state st (or from the start), appending x/xp/xn indices. */
static void run_from(const struct cg_split *s, const struct cg_sampler_state *st, int steps,
                     size_t *out, struct cg_sampler_state *after)
{
    struct cg_input_desc in[3] = {in_x("x"), in_x("xp"), in_x("xn")};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_TRIPLET, .batch = 7, .seed = 99};
    struct cg_sampler *sm;
    struct cg_error e;
    assert_int_equal(cg_sampler_create(s, in, 3, &cfg, &sm, &e), CG_OK);
    if (st)
        cg_sampler_set_state(sm, st);
    struct bufs b;
    alloc_bufs(sm, &b);
    for (int t = 0; t < steps; t++) {
        cg_sampler_next(sm, b.p, NULL, NULL);
        for (int i = 0; i < 3; i++)
            for (size_t r = 0; r < 7; r++)
                *out++ = row_index(b.p[i], r);
    }
    if (after)
        cg_sampler_get_state(sm, after);
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
}

static void test_state_restore(void **st)
{
    (void)st;
    struct cg_split *s = make_split(45, 3); /* 6 steps per epoch */
    static size_t full[40 * 21], resumed[33 * 21];
    run_from(s, NULL, 40, full, NULL);
    struct cg_sampler_state mid;
    size_t scratch[7 * 21];
    run_from(s, NULL, 7, scratch, &mid);
    assert_int_equal(mid.epoch, 1);
    assert_int_equal(mid.step, 1);
    assert_int_equal(mid.seed, 99);
    run_from(s, &mid, 33, resumed, NULL);
    assert_memory_equal(full + 7 * 21, resumed, sizeof resumed);
    free_split(s);
}

/* The pairs sampler on the latent_pairs builder's own fields (x, x_pos, x_neg f32[10]). */
static void test_latent_pairs(void **st)
{
    (void)st;
    struct cg_data_param p[2] = {{"n_train", "200"}, {"n_test", "20"}};
    struct cg_dataset *d;
    struct cg_error e;
    assert_int_equal(cg_dataset_build("latent_pairs", p, 2, 1, &d, &e), CG_OK);
    struct cg_input_desc in[3] = {{"x", 0, 1, {10}}, {"x_pos", 0, 1, {10}}, {"x_neg", 0, 1, {10}}};
    struct cg_sampler_config cfg = {.kind = CG_SAMPLER_PAIRS, .batch = 32, .seed = 2};
    struct cg_sampler *sm;
    assert_int_equal(cg_sampler_create(&d->train, in, 3, &cfg, &sm, &e), CG_OK);
    struct bufs b;
    alloc_bufs(sm, &b);
    size_t idx[32];
    cg_sampler_next(sm, b.p, idx, NULL);
    const struct cg_split *s = &d->train;
    for (int f = 0; f < 3; f++)
        for (size_t r = 0; r < 32; r++)
            assert_memory_equal((float *)b.p[f] + r * 10,
                                (float *)cg_split_field(s, in[f].name)->data + idx[r] * 10, 40);
    free_bufs(sm, &b);
    cg_sampler_destroy(sm);
    cg_dataset_free(d);
}

static void test_below(void **st)
{
    (void)st;
    assert_int_equal(cg_sampler_below(0, 10), 0);
    assert_int_equal(cg_sampler_below(UINT64_MAX, 10), 9);
    assert_int_equal(cg_sampler_below(UINT64_MAX / 2 + 1, 10), 5);
    assert_int_equal(cg_sampler_below(UINT64_MAX, UINT64_MAX), UINT64_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_drop_last), cmocka_unit_test(test_epoch_keep_last),
        cmocka_unit_test(test_orders),          cmocka_unit_test(test_triplet),
        cmocka_unit_test(test_triplet_errors),  cmocka_unit_test(test_binding_errors),
        cmocka_unit_test(test_multiview),       cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_u8_labels),       cmocka_unit_test(test_state_restore),
        cmocka_unit_test(test_latent_pairs),    cmocka_unit_test(test_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
