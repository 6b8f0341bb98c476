/* test_lexer.c: unit tests of the tokenizer (src/lang/lexer.c): every token kind, numbers,
 * strings and their escapes, comments, newlines and line continuation inside ( and [ (not {),
 * keywords, token locations, and every lexer error message with its exact line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lexer.h"

#define MAX_TOKS 64

struct lexed {
    struct cg_arena arena;
    struct cg_token t[MAX_TOKS];
    int n;
    enum cg_status st;
    struct cg_error e;
};

/* Lexes text[0..len) up to and including EOF or the first error. */
static void lex_n(struct lexed *r, const char *text, size_t len)
{
    memset(r, 0, sizeof *r);
    struct cg_lexer lx;
    cg_lex_init(&lx, "t.graph", text, len, &r->arena);
    while (r->n < MAX_TOKS) {
        r->st = cg_lex_next(&lx, &r->t[r->n], &r->e);
        if (r->st != CG_OK)
            return;
        if (r->t[r->n++].kind == CG_TK_EOF)
            return;
    }
    fail_msg("too many tokens");
}

static void lex(struct lexed *r, const char *text) { lex_n(r, text, strlen(text)); }

static void done(struct lexed *r) { cg_arena_free(&r->arena); }

/* Checks that text fails with exactly msg. */
static void lex_error_n(const char *text, size_t len, const char *msg)
{
    struct lexed r;
    lex_n(&r, text, len);
    assert_int_equal(r.st, CG_ERR_INPUT);
    assert_string_equal(r.e.msg, msg);
    done(&r);
}

static void lex_error(const char *text, const char *msg) { lex_error_n(text, strlen(text), msg); }

static void expect_tok(const struct cg_token *t, enum cg_tok_kind k, const char *text, int line,
                       int col)
{
    assert_int_equal(t->kind, k);
    if (text)
        assert_string_equal(t->text, text);
    assert_int_equal(t->loc.line, line);
    assert_int_equal(t->loc.col, col);
}

/* ---- token kinds ------------------------------------------------------------------------ */

static void test_punctuation(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "()[]{},:=+-*/.;");
    static const char *const want[] = {"(", ")", "[", "]", "{", "}", ",", ":",
                                       "=", "+", "-", "*", "/", ".", ";"};
    assert_int_equal(r.n, 16);
    for (int i = 0; i < 15; i++)
        expect_tok(&r.t[i], CG_TK_PUNCT, want[i], 1, i + 1);
    expect_tok(&r.t[15], CG_TK_EOF, "", 1, 16);
    done(&r);
}

static void test_identifiers_and_keywords(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "input param def return minimize over with output metric import x _a9 Inputs f32");
    assert_int_equal(r.n, 15);
    for (int i = 0; i < 10; i++)
        assert_int_equal(r.t[i].kind, CG_TK_KEYWORD);
    assert_string_equal(r.t[0].text, "input");
    assert_string_equal(r.t[9].text, "import");
    expect_tok(&r.t[10], CG_TK_IDENT, "x", 1, 64);
    expect_tok(&r.t[11], CG_TK_IDENT, "_a9", 1, 66);
    expect_tok(&r.t[12], CG_TK_IDENT, "Inputs", 1, 70);
    expect_tok(&r.t[13], CG_TK_IDENT, "f32", 1, 77);
    assert_true(cg_is_keyword("minimize"));
    assert_false(cg_is_keyword("minimise"));
    assert_false(cg_is_keyword("Input"));
    done(&r);
}

static void test_numbers(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "12 -3 0.5 1e-3 1. 2E+2 7.25e1 0");
    /* 12, '-', 3, 0.5, 1e-3, 1., 2E+2, 7.25e1, 0, EOF */
    assert_int_equal(r.n, 10);
    expect_tok(&r.t[0], CG_TK_NUMBER, "12", 1, 1);
    assert_true(r.t[0].is_int);
    assert_int_equal(r.t[0].ival, 12);
    expect_tok(&r.t[1], CG_TK_PUNCT, "-", 1, 4); /* unary minus is the parser's */
    expect_tok(&r.t[2], CG_TK_NUMBER, "3", 1, 5);
    assert_int_equal(r.t[2].ival, 3);
    expect_tok(&r.t[3], CG_TK_NUMBER, "0.5", 1, 7);
    assert_false(r.t[3].is_int);
    assert_true(r.t[3].num == 0.5);
    expect_tok(&r.t[4], CG_TK_NUMBER, "1e-3", 1, 11);
    assert_false(r.t[4].is_int);
    assert_true(r.t[4].num == 1e-3);
    expect_tok(&r.t[5], CG_TK_NUMBER, "1.", 1, 16);
    assert_false(r.t[5].is_int);
    assert_true(r.t[5].num == 1.0);
    expect_tok(&r.t[6], CG_TK_NUMBER, "2E+2", 1, 19);
    assert_true(r.t[6].num == 200.0);
    assert_false(r.t[6].is_int);
    expect_tok(&r.t[7], CG_TK_NUMBER, "7.25e1", 1, 24);
    assert_true(r.t[7].num == 72.5);
    expect_tok(&r.t[8], CG_TK_NUMBER, "0", 1, 31);
    assert_true(r.t[8].is_int);
    done(&r);

    /* "1." at the end of the input and before ')' */
    lex(&r, "f(1.)");
    assert_int_equal(r.n, 5);
    expect_tok(&r.t[2], CG_TK_NUMBER, "1.", 1, 3);
    expect_tok(&r.t[3], CG_TK_PUNCT, ")", 1, 5);
    done(&r);
    lex(&r, "1.");
    assert_int_equal(r.n, 2);
    expect_tok(&r.t[0], CG_TK_NUMBER, "1.", 1, 1);
    done(&r);
    /* "1.x" is a number, a dot and a name (the dot is not part of the number) */
    lex(&r, "1.x");
    assert_int_equal(r.n, 4);
    expect_tok(&r.t[0], CG_TK_NUMBER, "1", 1, 1);
    expect_tok(&r.t[1], CG_TK_PUNCT, ".", 1, 2);
    expect_tok(&r.t[2], CG_TK_IDENT, "x", 1, 3);
    done(&r);
    /* the largest accepted integer */
    lex(&r, "999999999999999999");
    assert_int_equal(r.t[0].ival, 999999999999999999LL);
    done(&r);
}

static void test_strings(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "\"abc\" \"a\\\"b\" \"c\\\\d\" \"\" \"h\xC3\xA9\"");
    assert_int_equal(r.n, 6);
    expect_tok(&r.t[0], CG_TK_STRING, "abc", 1, 1);
    assert_int_equal(r.t[0].len, 5);
    expect_tok(&r.t[1], CG_TK_STRING, "a\"b", 1, 7);
    assert_int_equal(r.t[1].len, 6);
    expect_tok(&r.t[2], CG_TK_STRING, "c\\d", 1, 14);
    expect_tok(&r.t[3], CG_TK_STRING, "", 1, 21);
    expect_tok(&r.t[4], CG_TK_STRING, "h\xC3\xA9", 1, 24);
    done(&r);
    /* a string of exactly the maximum length */
    char *big = malloc(CG_MAX_STRING + 3);
    big[0] = '"';
    memset(big + 1, 'a', CG_MAX_STRING);
    big[CG_MAX_STRING + 1] = '"';
    big[CG_MAX_STRING + 2] = 0;
    lex(&r, big);
    assert_int_equal(r.st, CG_OK);
    assert_int_equal(strlen(r.t[0].text), CG_MAX_STRING);
    done(&r);
    free(big);
}

static void test_comments(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "# header \xE2\x9C\x93 comment\nx = 1 # trailing ( [\ny");
    assert_int_equal(r.n, 7);
    expect_tok(&r.t[0], CG_TK_NEWLINE, "\n", 1, 21);
    expect_tok(&r.t[1], CG_TK_IDENT, "x", 2, 1);
    expect_tok(&r.t[2], CG_TK_PUNCT, "=", 2, 3);
    expect_tok(&r.t[3], CG_TK_NUMBER, "1", 2, 5);
    expect_tok(&r.t[4], CG_TK_NEWLINE, NULL, 2, 21); /* the '(' in the comment opened nothing */
    expect_tok(&r.t[5], CG_TK_IDENT, "y", 3, 1);
    expect_tok(&r.t[6], CG_TK_EOF, NULL, 3, 2);
    done(&r);
    /* a comment at the very end, without a newline */
    lex(&r, "a # end");
    assert_int_equal(r.n, 2);
    expect_tok(&r.t[1], CG_TK_EOF, NULL, 1, 8);
    done(&r);
}

static void test_newlines_and_continuation(void **state)
{
    (void)state;
    struct lexed r;
    /* inside ( and [ newlines are skipped; CRLF is a newline; inside { they are tokens */
    lex(&r, "f(a,\n  b)\r\n[1,\n2]\n{\n}");
    enum cg_tok_kind k[] = {CG_TK_IDENT,   CG_TK_PUNCT,  CG_TK_IDENT,   CG_TK_PUNCT,
                            CG_TK_IDENT,   CG_TK_PUNCT,  CG_TK_NEWLINE, CG_TK_PUNCT,
                            CG_TK_NUMBER,  CG_TK_PUNCT,  CG_TK_NUMBER,  CG_TK_PUNCT,
                            CG_TK_NEWLINE, CG_TK_PUNCT,  CG_TK_NEWLINE, CG_TK_PUNCT,
                            CG_TK_EOF};
    assert_int_equal(r.n, (int)CG_ARRAY_LEN(k));
    for (size_t i = 0; i < CG_ARRAY_LEN(k); i++)
        assert_int_equal(r.t[i].kind, k[i]);
    expect_tok(&r.t[4], CG_TK_IDENT, "b", 2, 3);
    assert_true(r.t[4].space_before);
    expect_tok(&r.t[6], CG_TK_NEWLINE, NULL, 2, 6);
    expect_tok(&r.t[10], CG_TK_NUMBER, "2", 4, 1);
    expect_tok(&r.t[14], CG_TK_NEWLINE, NULL, 5, 2);
    expect_tok(&r.t[15], CG_TK_PUNCT, "}", 6, 1);
    done(&r);
    /* a stray ')' does not make the depth negative: the next newline is still a token */
    lex(&r, ")\nx");
    assert_int_equal(r.t[1].kind, CG_TK_NEWLINE);
    done(&r);
    /* space_before */
    lex(&r, "f (g(");
    assert_false(r.t[0].space_before);
    assert_true(r.t[1].space_before);
    assert_false(r.t[3].space_before);
    done(&r);
}

static void test_bom_and_tabs(void **state)
{
    (void)state;
    struct lexed r;
    lex(&r, "\xEF\xBB\xBFx\ty");
    assert_int_equal(r.n, 3);
    expect_tok(&r.t[0], CG_TK_IDENT, "x", 1, 1);
    expect_tok(&r.t[1], CG_TK_IDENT, "y", 1, 3);
    done(&r);
}

static void test_describe(void **state)
{
    (void)state;
    struct lexed r;
    char buf[128];
    lex(&r, "abc input 1.5 \"s\" (\n");
    assert_string_equal(cg_tok_describe(&r.t[0], buf, sizeof buf), "identifier 'abc'");
    assert_string_equal(cg_tok_describe(&r.t[1], buf, sizeof buf), "keyword 'input'");
    assert_string_equal(cg_tok_describe(&r.t[2], buf, sizeof buf), "number 1.5");
    assert_string_equal(cg_tok_describe(&r.t[3], buf, sizeof buf), "string \"s\"");
    assert_string_equal(cg_tok_describe(&r.t[4], buf, sizeof buf), "'('");
    assert_string_equal(cg_tok_describe(&r.t[5], buf, sizeof buf), "end of file");
    done(&r);
    lex(&r, "\n");
    assert_string_equal(cg_tok_describe(&r.t[0], buf, sizeof buf), "end of line");
    done(&r);
}

static void test_identifier_limit(void **state)
{
    (void)state;
    char text[CG_MAX_IDENT + 8];
    memset(text, 'a', CG_MAX_IDENT);
    text[CG_MAX_IDENT] = 0;
    struct lexed r;
    lex(&r, text);
    assert_int_equal(r.st, CG_OK);
    assert_int_equal(r.t[0].len, CG_MAX_IDENT);
    done(&r);
    memcpy(text, "x = ", 4);
    memset(text + 4, 'b', CG_MAX_IDENT + 1);
    text[CG_MAX_IDENT + 5] = 0;
    lex_error(text, "t.graph:1:5: error: identifier is too long (257 characters; the limit is "
                    "256)");
}

/* ---- errors ----------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    lex_error("x = 1\ny = $", "t.graph:2:5: error: unexpected character '$'");
    lex_error("a ! b", "t.graph:1:3: error: unexpected character '!'");
    lex_error("x = 'a'", "t.graph:1:5: error: unexpected character '''");
    lex_error("x\n  \xC3\xA9", "t.graph:2:3: error: unexpected character '\xC3\xA9'");
    lex_error("x = \xFF\xFE", "t.graph:1:5: error: unexpected byte 0xFF (is this a text file?)");
    lex_error("\x80", "t.graph:1:1: error: unexpected byte 0x80 (is this a text file?)");
    lex_error("a\x01", "t.graph:1:2: error: unexpected byte 0x01 (is this a text file?)");
    lex_error("a\x7F", "t.graph:1:2: error: unexpected byte 0x7F (is this a text file?)");
    /* truncated UTF-8 sequence at the end */
    lex_error("ab \xE2\x9C", "t.graph:1:4: error: unexpected byte 0xE2 (is this a text file?)");
    lex_error_n("x = 1\n\0", 7, "t.graph:2:1: error: unexpected byte 0x00 (is this a text "
                                "file?)");
    lex_error_n("x # a\0b\n", 8, "t.graph:1:6: error: invalid UTF-8 in comment");
    lex_error("# ok\n# bad \xC0\xAF\n", "t.graph:2:7: error: invalid UTF-8 in comment");
    lex_error("s = \"abc", "t.graph:1:5: error: unterminated string");
    lex_error("\n  \"abc\ndef\"", "t.graph:2:3: error: unterminated string");
    lex_error("s = \"ab\\n\"", "t.graph:1:8: error: unknown escape in string (only \\\" and \\\\ "
                               "are allowed)");
    lex_error("s = \"ab\\", "t.graph:1:8: error: unknown escape in string (only \\\" and \\\\ are "
                            "allowed)");
    lex_error("s = \"a\xFF\"", "t.graph:1:7: error: invalid byte 0xFF in string");
    lex_error_n("s = \"a\0\"", 8, "t.graph:1:7: error: invalid byte 0x00 in string");
    lex_error("x = 1e", "t.graph:1:6: error: malformed number: exponent has no digits");
    lex_error("x = 2e+", "t.graph:1:6: error: malformed number: exponent has no digits");
    lex_error("x = 12abc", "t.graph:1:5: error: malformed number '12a'");
    lex_error("x = 1234567890123456789", "t.graph:1:5: error: integer 1234567890123456789 is "
                                         "out of range");
    char num[100];
    memset(num, '1', 70);
    num[70] = 0;
    lex_error(num, "t.graph:1:1: error: number is too long (70 characters)");
}

static void test_string_limit(void **state)
{
    (void)state;
    size_t n = CG_MAX_STRING + 10;
    char *big = malloc(n + 8);
    memcpy(big, "\n s = \"", 7);
    memset(big + 7, 'z', n);
    big[n + 7] = 0;
    lex_error(big, "t.graph:2:6: error: string is too long (the limit is 4096 bytes)");
    free(big);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    /* the lexer reports running out of memory instead of crashing */
    for (long k = 0; k < 8; k++) {
        struct lexed r;
        cg_alloc_fail_after(k);
        lex(&r, "abc \"string\" 12 def");
        cg_alloc_fail_after(-1);
        assert_true(r.st == CG_OK || r.st == CG_ERR_NOMEM);
        done(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punctuation),
        cmocka_unit_test(test_identifiers_and_keywords),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_newlines_and_continuation),
        cmocka_unit_test(test_bom_and_tabs),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_identifier_limit),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_string_limit),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
