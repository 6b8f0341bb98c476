/* test_benchdata.c: the deterministic benchmark numbers (src/util/splitmix.c) against the check
 * values of BENCH.md section 1 and against values that bench/torch_ref.py (numpy) produces for
 * the same streams, bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "util/splitmix.h"

static void test_check_values(void **state)
{
    (void)state;
    assert_true(cg_splitmix_r(0, 0) == 0xE220A8397B1DCDAFULL);
    assert_true(fabs(cg_splitmix_u(0, 0) - 0.883310795) < 5e-10);
    assert_true(fabs(cg_splitmix_u(7, 0) - 0.389829695) < 5e-10);
    /* u has 24 random bits: exactly representable, in [0, 1). */
    assert_true(cg_splitmix_u(0, 0) == (double)0xE220A8 / 16777216.0);
    for (uint64_t i = 0; i < 10000; i++) {
        double u = cg_splitmix_u(3, i);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(u * 16777216.0 == floor(u * 16777216.0));
    }
}

/* Element i is independent of the others (counter-based), and streams differ. */
static void test_counter_based(void **state)
{
    (void)state;
    float a[64], b[8];
    cg_bench_uniform(5, 64, 0.0, 1.0, a);
    for (int i = 0; i < 8; i++) {
        b[i] = (float)(0.0 + 1.0 * cg_splitmix_u(5, (uint64_t)(56 + i)));
        assert_true(a[56 + i] == b[i]);
    }
    assert_true(cg_splitmix_r(1, 0) != cg_splitmix_r(0, 0));
    assert_true(cg_splitmix_r(0, 1) != cg_splitmix_r(0, 0));
}

/* tn.conv1.weight of the CIM step (stream 1, fan_in 27), as numpy computes it. */
static void test_param_init(void **state)
{
    (void)state;
    static const float want[5] = {0x1.a3c024p-6f, 0x1.837ccap-4f, 0x1.7347a8p-3f, -0x1.5ee1e4p-6f,
                                  -0x1.5f7a80p-6f};
    float w[5];
    double b = cg_bench_init_bound(27);
    assert_true(b == 1.0 / sqrt(27.0));
    cg_bench_uniform(1, 5, -b, b, w);
    for (int i = 0; i < 5; i++)
        assert_true(w[i] == want[i]);
    for (int i = 0; i < 5; i++)
        assert_true(fabsf(w[i]) <= (float)b);

    /* p.fc1.weight of CRL-TAC (stream 17, fan_in 56448). */
    static const float want17[3] = {1.70137791428715e-05f, -0.0009139047469943762f,
                                    -0.001445109024643898f};
    float p[3];
    cg_bench_uniform(17, 3, -cg_bench_init_bound(56448), cg_bench_init_bound(56448), p);
    for (int i = 0; i < 3; i++)
        assert_true(p[i] == want17[i]);
}

/* CIM anchors x = Uniform(1001, ., 0, 1): computed in double, rounded to float once. */
static void test_data(void **state)
{
    (void)state;
    static const float want[4] = {0x1.4cf8p-2f, 0x1.d62ad0p-3f, 0x1.d3a550p-3f, 0x1.ef9a18p-2f};
    float x[4];
    cg_bench_uniform(1001, 4, 0.0, 1.0, x);
    for (int i = 0; i < 4; i++)
        assert_true(x[i] == want[i]);
}

static void test_labels(void **state)
{
    (void)state;
    static const int32_t y[10] = {1, 0, 1, 0, 1, 1, 1, 0, 1, 0}; /* CIM y, stream 1004 */
    static const int32_t t[10] = {147, 11, 178, 169, 137, 256, 114, 108, 192, 49}; /* CRL T */
    int32_t got[10];
    cg_bench_labels(1004, 10, 2, got);
    for (int i = 0; i < 10; i++)
        assert_int_equal(got[i], y[i]);
    cg_bench_labels(2002, 10, 289, got);
    for (int i = 0; i < 10; i++)
        assert_int_equal(got[i], t[i]);
    int32_t many[4096];
    cg_bench_labels(2002, 4096, 289, many);
    for (int i = 0; i < 4096; i++)
        assert_true(many[i] >= 0 && many[i] < 289);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values), cmocka_unit_test(test_counter_based),
        cmocka_unit_test(test_param_init),   cmocka_unit_test(test_data),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
