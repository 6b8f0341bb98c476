/* test_json.c: unit tests of the JSON reader (src/util/json.c): every value kind, numbers kept
 * exactly as text, string escapes with \u and surrogate pairs, lookups by key and kind, every
 * kind of malformed text with its message and offset, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/json.h"

static void test_values(void **state)
{
    (void)state;
    struct cg_error e = {0};
    struct cg_json v;
    const char *text = " {\"a\": 1, \"b\": -2.5e-3, \"s\": \"x\\ty\\u00e9\\ud83d\\ude00\\/\",\n"
                       "  \"t\": true, \"f\": false, \"z\": null, \"arr\": [1, [2, {}], []],\n"
                       "  \"seed\": 18446744073709551615, \"e\": 1E2} ";
    assert_int_equal(cg_json_parse(text, "t.json", &v, &e), CG_OK);
    assert_int_equal(v.kind, CG_JSON_OBJ);
    assert_int_equal(v.n, 9);
    assert_string_equal(v.keys[0], "a");
    const struct cg_json *a = cg_json_get(&v, "a", CG_JSON_INT);
    assert_non_null(a);
    assert_int_equal(a->i, 1);
    assert_true(cg_json_get(&v, "a", CG_JSON_REAL) == a); /* REAL accepts an integer */
    assert_null(cg_json_get(&v, "b", CG_JSON_INT));
    double d = 0;
    assert_true(cg_json_number(&v, "b", &d));
    assert_true(d == -2.5e-3);
    assert_false(cg_json_number(&v, "s", &d));
    assert_false(cg_json_number(&v, "nope", &d));
    assert_string_equal(cg_json_get(&v, "s", CG_JSON_STR)->str,
                        "x\ty\xc3\xa9\xf0\x9f\x98\x80/");
    assert_int_equal(cg_json_get(&v, "t", CG_JSON_BOOL)->boolean, 1);
    assert_int_equal(cg_json_get(&v, "f", CG_JSON_BOOL)->boolean, 0);
    assert_non_null(cg_json_get(&v, "z", CG_JSON_NULL));
    const struct cg_json *arr = cg_json_get(&v, "arr", CG_JSON_ARR);
    assert_int_equal(arr->n, 3);
    assert_int_equal(arr->items[1].items[0].i, 2);
    assert_int_equal(arr->items[1].items[1].kind, CG_JSON_OBJ);
    assert_int_equal(arr->items[2].n, 0);
    assert_string_equal(cg_json_get(&v, "seed", CG_JSON_INT)->numtext, "18446744073709551615");
    assert_int_equal(cg_json_get(&v, "e", CG_JSON_REAL)->kind, CG_JSON_REAL);
    assert_true(cg_json_get(&v, "e", CG_JSON_REAL)->num == 100.0);
    assert_null(cg_json_get(&arr->items[0], "a", CG_JSON_INT)); /* not an object */
    cg_json_free(&v);
    cg_json_free(&v); /* a zeroed value */
    assert_int_equal(cg_json_parse("-0", "n", &v, &e), CG_OK);
    assert_int_equal(v.kind, CG_JSON_INT);
    cg_json_free(&v);
}

static void expect_bad(const char *text, const char *msg)
{
    struct cg_error e = {0};
    struct cg_json v;
    assert_int_equal(cg_json_parse(text, "bad.json", &v, &e), CG_ERR_INPUT);
    if (!strstr(e.msg, msg) || strncmp(e.msg, "bad.json: error: malformed JSON at offset", 41))
        fail_msg("%s: got '%s', expected '%s'", text, e.msg, msg);
    assert_int_equal(v.kind, CG_JSON_NULL);
    assert_null(v.items);
}

static void test_errors(void **state)
{
    (void)state;
    expect_bad("", "offset 0: expected a value");
    expect_bad("{\"a\": 1,", "offset 8: expected a string");
    expect_bad("{\"a\" 1}", "expected ':'");
    expect_bad("[1 2]", "offset 3: expected ',' or ']'");
    expect_bad("{\"a\": 1 \"b\"}", "expected ',' or '}'");
    expect_bad("{} x", "offset 3: text after the value");
    expect_bad("\"abc", "unterminated string");
    expect_bad("\"a\\qb\"", "bad escape");
    expect_bad("\"\\u12g4\"", "bad \\u escape");
    expect_bad("\"\\ud800x\"", "unpaired surrogate");
    expect_bad("\"\\udc00\"", "unpaired surrogate");
    expect_bad("\"\\u0000\"", "\\u0000");
    expect_bad("\"a\nb\"", "control character");
    expect_bad("-", "expected a digit");
    expect_bad("1.", "after '.'");
    expect_bad("1e+", "exponent");
    expect_bad("tru", "expected a value");
    expect_bad("123456789012345678901234567890123456789012345", "number too long");
    char deep[80];
    memset(deep, '[', 40);
    memset(deep + 40, ']', 39);
    deep[79] = 0;
    expect_bad(deep, "nested too deeply");
}

static void test_alloc_failures(void **state)
{
    (void)state;
    const char *text = "{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": \"e\"}";
    int failures = 0;
    for (long k = 0; k < 64; k++) {
        struct cg_error e = {0};
        struct cg_json v;
        cg_alloc_fail_after(k);
        enum cg_status st = cg_json_parse(text, "t", &v, &e);
        cg_alloc_fail_after(-1);
        if (st == CG_OK) {
            cg_json_free(&v);
            break;
        }
        assert_int_equal(st, CG_ERR_NOMEM);
        failures++;
    }
    assert_true(failures > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
