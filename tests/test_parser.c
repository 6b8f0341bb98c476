/* test_parser.c: unit tests of the recursive-descent parser (src/lang/parse.c): the syntax tree
 * of every statement (import, input, param with each initialiser, assignment, tuple assignment,
 * def with defaults, return of a tuple, minimize with over patterns and with, output, metric),
 * operator precedence, and every syntax error message with its line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/parse.h"

struct parsed {
    struct cg_arena arena;
    struct cg_ast_file *f;
    enum cg_status st;
    struct cg_error e;
};

static struct cg_ast_file *parse_ok(struct parsed *r, const char *text)
{
    memset(r, 0, sizeof *r);
    r->st = cg_parse("p.graph", text, strlen(text), &r->arena, &r->f, &r->e);
    if (r->st != CG_OK)
        fail_msg("unexpected parse error: %s", r->e.msg);
    return r->f;
}

static void done(struct parsed *r) { cg_arena_free(&r->arena); }

/* Checks that text fails to parse with exactly msg (after the "p.graph:" prefix). */
static void parse_err(const char *text, const char *msg)
{
    struct parsed r;
    memset(&r, 0, sizeof r);
    r.st = cg_parse("p.graph", text, strlen(text), &r.arena, &r.f, &r.e);
    char want[2048];
    snprintf(want, sizeof want, "p.graph:%s", msg);
    if (r.st != CG_ERR_INPUT)
        fail_msg("'%s' parsed, expected error %s", text, want);
    assert_string_equal(r.e.msg, want);
    done(&r);
}

/* Prints an expression in fully parenthesised form for precedence checks. */
static void show(const struct cg_expr *x, char *buf, size_t n)
{
    char a[256], b[256];
    switch (x->kind) {
    case CG_EX_NUM: snprintf(buf, n, "%g", x->num); break;
    case CG_EX_STR: snprintf(buf, n, "\"%s\"", x->str); break;
    case CG_EX_NAME: snprintf(buf, n, "%s", x->str); break;
    case CG_EX_NEG:
        show(x->lhs, a, sizeof a);
        snprintf(buf, n, "(-%s)", a);
        break;
    case CG_EX_BIN:
        show(x->lhs, a, sizeof a);
        show(x->rhs, b, sizeof b);
        snprintf(buf, n, "(%s %c %s)", a, x->op, b);
        break;
    case CG_EX_LIST: {
        size_t u = (size_t)snprintf(buf, n, "[");
        for (int i = 0; i < x->nitems && u < n; i++) {
            show(x->items[i], a, sizeof a);
            u += (size_t)snprintf(buf + u, n - u, "%s%s", i ? ", " : "", a);
        }
        if (u < n)
            snprintf(buf + u, n - u, "]");
        break;
    }
    case CG_EX_CALL: {
        size_t u = (size_t)snprintf(buf, n, "%s(", x->str);
        for (int i = 0; i < x->nargs && u < n; i++) {
            show(x->args[i].value, a, sizeof a);
            u += (size_t)snprintf(buf + u, n - u, "%s%s%s%s", i ? ", " : "",
                                  x->args[i].kw ? x->args[i].kw : "", x->args[i].kw ? "=" : "",
                                  a);
        }
        if (u < n)
            snprintf(buf + u, n - u, ")");
        break;
    }
    }
}

static void expect_expr(const struct cg_expr *x, const char *want)
{
    char buf[1024];
    show(x, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* ---- statements ------------------------------------------------------------------------- */

static void test_import_input(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "import \"lib/enc.graph\"\n"
                                         "input x : f32[N, 3, 28, 28]  # images\n"
                                         "input y : i32[N]\n"
                                         "input s : f32[]\n");
    assert_int_equal(f->nstmts, 4);
    assert_int_equal(f->stmts[0]->kind, CG_ST_IMPORT);
    assert_string_equal(f->stmts[0]->path, "lib/enc.graph");
    assert_int_equal(f->stmts[0]->loc.line, 1);
    const struct cg_stmt *s = f->stmts[1];
    assert_int_equal(s->kind, CG_ST_INPUT);
    assert_string_equal(s->names[0], "x");
    assert_int_equal(s->name_locs[0].line, 2);
    assert_int_equal(s->name_locs[0].col, 7);
    assert_int_equal(s->type.dtype, CG_F32);
    assert_int_equal(s->type.ndims, 4);
    assert_int_equal(s->type.dims[0]->kind, CG_EX_NAME);
    assert_string_equal(s->type.dims[0]->str, "N");
    assert_int_equal(s->type.dims[3]->kind, CG_EX_NUM);
    assert_int_equal(s->type.dims[3]->ival, 28);
    assert_int_equal(s->type.loc.col, 11);
    assert_null(s->expr);
    assert_int_equal(f->stmts[2]->type.dtype, CG_I32);
    assert_int_equal(f->stmts[3]->type.ndims, 0);
    done(&r);
}

static void test_param_initialisers(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "param a : f32[3]\n"
                                         "param b : f32[3] = zeros()\n"
                                         "param c : f32[3] = ones()\n"
                                         "param d : f32[3] = constant(0.5)\n"
                                         "param e : f32[3, 4] = normal(std=0.01, mean=-1)\n"
                                         "param g : f32[3] = uniform(-1, 1)\n"
                                         "param h : f32[4, 3] = kaiming_uniform(a=2.2)\n"
                                         "param i : f32[4, 3] = xavier_uniform()\n");
    assert_int_equal(f->nstmts, 8);
    assert_int_equal(f->stmts[0]->kind, CG_ST_PARAM);
    assert_null(f->stmts[0]->expr);
    const char *want[] = {"zeros()", "ones()", "constant(0.5)", "normal(std=0.01, mean=-1)",
                          "uniform(-1, 1)", "kaiming_uniform(a=2.2)", "xavier_uniform()"};
    for (int i = 1; i < 8; i++) {
        assert_int_equal(f->stmts[i]->kind, CG_ST_PARAM);
        expect_expr(f->stmts[i]->expr, want[i - 1]);
    }
    assert_int_equal(f->stmts[4]->type.ndims, 2);
    done(&r);
}

static void test_assignments_and_precedence(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "a = 1 + 2 * 3 - 4 / 5\n"
                                         "b = -x * (y + z)\n"
                                         "c, d = f(x, k=3, pad=[1, 2])\n"
                                         "e = --3\n"
                                         "g = 0.1 * mean(h) + -y\n"
                                         "k = [a, [b, 2], \"s\"]\n"
                                         "m = f(\n  x,\n  y,\n)\n"
                                         "n = -(x)\n"
                                         "q = 1; w = 2\n");
    assert_int_equal(f->nstmts, 10);
    expect_expr(f->stmts[0]->expr, "((1 + (2 * 3)) - (4 / 5))");
    expect_expr(f->stmts[1]->expr, "((-x) * (y + z))");
    assert_int_equal(f->stmts[2]->nnames, 2);
    assert_string_equal(f->stmts[2]->names[0], "c");
    assert_string_equal(f->stmts[2]->names[1], "d");
    assert_int_equal(f->stmts[2]->name_locs[1].col, 4);
    expect_expr(f->stmts[2]->expr, "f(x, k=3, pad=[1, 2])");
    assert_int_equal(f->stmts[2]->expr->args[1].kw_loc.col, 13);
    expect_expr(f->stmts[3]->expr, "3"); /* -literal is folded */
    assert_int_equal(f->stmts[3]->expr->ival, 3);
    expect_expr(f->stmts[4]->expr, "((0.1 * mean(h)) + (-y))");
    expect_expr(f->stmts[5]->expr, "[a, [b, 2], \"s\"]");
    expect_expr(f->stmts[6]->expr, "f(x, y)");
    assert_int_equal(f->stmts[7]->loc.line, 11);
    expect_expr(f->stmts[7]->expr, "(-x)");
    expect_expr(f->stmts[9]->expr, "2");
    /* the folded literal keeps the minus' location and its value */
    assert_int_equal(f->stmts[3]->expr->loc.col, 5);
    done(&r);
    f = parse_ok(&r, "x = -3\ny = -0.5\n");
    assert_int_equal(f->stmts[0]->expr->ival, -3);
    assert_true(f->stmts[0]->expr->is_int);
    assert_true(f->stmts[1]->expr->num == -0.5);
    done(&r);
}

static void test_def(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "def enc(x, k=3, name=\"a\") {\n"
                                         "  param w : f32[4] = ones()\n"
                                         "\n"
                                         "  h = conv(x, 8, k=k)\n"
                                         "  return h, w\n"
                                         "}\n"
                                         "def id(x) { return x }\n");
    assert_int_equal(f->nstmts, 2);
    const struct cg_stmt *d = f->stmts[0];
    assert_int_equal(d->kind, CG_ST_DEF);
    assert_string_equal(d->names[0], "enc");
    assert_int_equal(d->nparams, 3);
    assert_string_equal(d->params[0], "x");
    assert_null(d->param_defaults[0]);
    expect_expr(d->param_defaults[1], "3");
    expect_expr(d->param_defaults[2], "\"a\"");
    assert_int_equal(d->param_locs[2].col, 17);
    assert_int_equal(d->nbody, 3);
    assert_int_equal(d->body[0]->kind, CG_ST_PARAM);
    assert_int_equal(d->body[1]->kind, CG_ST_ASSIGN);
    assert_int_equal(d->body[2]->kind, CG_ST_RETURN);
    assert_int_equal(d->body[2]->nexprs, 2);
    expect_expr(d->body[2]->exprs[1], "w");
    const struct cg_stmt *d2 = f->stmts[1];
    assert_int_equal(d2->nbody, 1);
    assert_int_equal(d2->body[0]->nexprs, 1);
    done(&r);
}

static void test_minimize_output_metric(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "minimize loss\n"
                                         "minimize a + b over clf.*, enc, *, \"dec.*\", *.b, "
                                         "x.dense0.w with adam(lr=1e-3)\n"
                                         "minimize l over enc with sgd\n"
                                         "output mask = m\n"
                                         "output psi\n"
                                         "metric acc = accuracy(logits, y)\n");
    assert_int_equal(f->nstmts, 6);
    const struct cg_stmt *m = f->stmts[0];
    assert_int_equal(m->kind, CG_ST_MINIMIZE);
    assert_int_equal(m->npats, 0);
    assert_null(m->with);
    m = f->stmts[1];
    expect_expr(m->expr, "(a + b)");
    assert_int_equal(m->npats, 6);
    const char *pats[] = {"clf.*", "enc", "*", "dec.*", "*.b", "x.dense0.w"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(m->pats[i].text, pats[i]);
    assert_int_equal(m->pats[1].loc.col, 28);
    expect_expr(m->with, "adam(lr=0.001)");
    m = f->stmts[2];
    assert_int_equal(m->npats, 1);
    assert_int_equal(m->with->kind, CG_EX_CALL);
    assert_string_equal(m->with->str, "sgd");
    assert_int_equal(m->with->nargs, 0);
    assert_int_equal(f->stmts[3]->kind, CG_ST_OUTPUT);
    assert_string_equal(f->stmts[3]->names[0], "mask");
    expect_expr(f->stmts[3]->expr, "m");
    assert_null(f->stmts[4]->expr);
    assert_string_equal(f->stmts[4]->names[0], "psi");
    assert_int_equal(f->stmts[5]->kind, CG_ST_METRIC);
    expect_expr(f->stmts[5]->expr, "accuracy(logits, y)");
    done(&r);
}

/* `every K [offset J]` (an extension of v1): any clause order, defaults 1 and 0, names
 * `every` and `offset` stay usable elsewhere. */
static void test_minimize_every(void **state)
{
    (void)state;
    struct parsed r;
    struct cg_ast_file *f = parse_ok(&r, "minimize l\n"
                                         "minimize h over enc with adam(lr=1e-3) every 2\n"
                                         "minimize eta over eta every 2 offset 1\n"
                                         "minimize z every 3 offset 2 with sgd over enc\n"
                                         "every = offset + 1\n"
                                         "minimize every over every every 1\n");
    assert_int_equal(f->nstmts, 6);
    int want[][2] = {{1, 0}, {2, 0}, {2, 1}, {3, 2}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(f->stmts[i]->every, want[i][0]);
        assert_int_equal(f->stmts[i]->offset, want[i][1]);
    }
    assert_int_equal(f->stmts[1]->npats, 1);
    expect_expr(f->stmts[1]->with, "adam(lr=0.001)");
    assert_int_equal(f->stmts[3]->npats, 1);
    assert_string_equal(f->stmts[3]->with->str, "sgd");
    expect_expr(f->stmts[5]->expr, "every");
    assert_string_equal(f->stmts[5]->pats[0].text, "every");
    assert_int_equal(f->stmts[5]->every, 1);
    done(&r);
}

static void test_empty_and_comments(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse_ok(&r, "")->nstmts, 0);
    done(&r);
    assert_int_equal(parse_ok(&r, "# only\n\n   # comments\n")->nstmts, 0);
    done(&r);
    /* keywords are accepted as keyword-argument names (as in torch's input=) */
    expect_expr(parse_ok(&r, "y = f(input=x)")->stmts[0]->expr, "f(input=x)");
    done(&r);
}

/* ---- errors ----------------------------------------------------------------------------- */

struct err_case {
    const char *text, *msg;
};

static const struct err_case errors[] = {
    /* input and types */
    {"input x f32[N]", "1:9: error: expected ':' and a type, as in x : f32[N, 784], found "
                       "identifier 'f32'"},
    {"input x : f64[N]", "1:11: error: expected a type (f32[...] or i32[...]), found identifier "
                         "'f64'"},
    {"input x : f32 N", "1:15: error: expected '[' after the element type, found identifier "
                        "'N'"},
    {"input x : f32[n]", "1:15: error: invalid dimension 'n': a symbol is upper-case (letters, "
                         "digits, _), such as N or B"},
    {"input x : f32[Nb]", "1:15: error: invalid dimension 'Nb': a symbol is upper-case "
                          "(letters, digits, _), such as N or B"},
    {"input x : f32[-3]", "1:15: error: invalid dimension: dimensions must be positive"},
    {"input x : f32[0]", "1:15: error: invalid dimension 0: a dimension is a positive integer "
                         "or an upper-case symbol such as N"},
    {"input x : f32[2.5]", "1:15: error: invalid dimension 2.5: a dimension is a positive "
                           "integer or an upper-case symbol such as N"},
    {"input x : f32[2 3]", "1:17: error: expected ',' or ']' in the dimension list, found "
                           "number 3"},
    {"input x : f32[\"a\"]", "1:15: error: expected a dimension (an integer or a symbol such as "
                             "N), found string \"a\""},
    {"input x : f32[1,2,3,4,5,6,7,8,9]", "1:11: error: a tensor has at most 8 dimensions, this "
                                         "type has 9"},
    {"input x : f32[N] = zeros()", "1:18: error: an input has no initialiser (it is fed from "
                                   "data); did you mean param?"},
    {"input 3 : f32[N]", "1:7: error: expected the input's name, found number 3"},
    {"input x : f32[N] y", "1:18: error: expected end of line, found identifier 'y'"},
    /* statements */
    {"return x", "1:1: error: return outside a def"},
    {"x = 1\n  return x", "2:3: error: return outside a def"},
    {"def f(x) {\n  return x\n  y = x\n}", "3:3: error: statement after return in def 'f' "
                                           "(return must be the last statement)"},
    {"def f(x) {\n  y = x\n}", "3:1: error: def 'f' must end with a return statement"},
    {"def f(x) {\n}", "2:1: error: def 'f' must end with a return statement"},
    {"def f(x) {\n  return x\n", "1:1: error: def 'f' is missing its closing '}'"},
    {"x = 1\n}", "2:1: error: unmatched '}'"},
    {"x = 1 }", "1:7: error: unmatched '}'"},
    {"def f(x)\n{ return x }", "1:9: error: expected '{' on the same line as def f(...)"},
    {"def f(x) return x", "1:10: error: expected '{' to start the def's body, found keyword "
                          "'return'"},
    {"def f(x, x) { return x }", "1:10: error: duplicate parameter 'x' in def 'f'"},
    {"def f(a=1, b) { return b }", "1:12: error: parameter 'b' without a default follows one "
                                   "with a default"},
    {"def f(x) {\n  def g(y) { return y }\n  return x\n}", "2:3: error: 'def' is not allowed "
                                                           "inside a def (only assignments, "
                                                           "param and return)"},
    {"def f(x) {\n  input z : f32[N]\n  return x\n}", "2:3: error: 'input' is not allowed "
                                                      "inside a def (only assignments, param "
                                                      "and return)"},
    {"def f(x) {\n  minimize x\n  return x\n}", "2:3: error: 'minimize' is not allowed inside "
                                                "a def (only assignments, param and return)"},
    {"y = f(a=1, 2)", "1:12: error: positional argument after keyword argument 'a'"},
    {"y = f(a, , b)", "1:10: error: expected an argument, found ','"},
    {"y = f(a b)", "1:9: error: expected ',' or ')' in the argument list, found identifier 'b'"},
    {"y = f (x)", "1:7: error: unexpected '(' after 'f' (write calls as f(...), with no space "
                  "before the parenthesis)"},
    {"y = (a, b)", "1:7: error: tuples are not values; use a list [a, b]"},
    {"y = [1, 2", "1:10: error: expected ',' or ']' in the list, found end of file"},
    {"y = (1 + 2", "1:11: error: expected ')', found end of file"},
    {"y = +x", "1:5: error: unary '+' is not supported"},
    {"y = 1 +", "1:8: error: expected an expression, found end of file"},
    {"y = x y", "1:7: error: expected end of line, found identifier 'y'"},
    /* expression statements */
    {"f(x)", "1:1: error: an expression on its own does nothing; assign it (name = ...) or use "
             "it in minimize/output/metric"},
    {"x\n", "1:1: error: an expression on its own does nothing; assign it (name = ...) or use "
            "it in minimize/output/metric"},
    {"x + 1", "1:3: error: expected '=' after 'x', found '+'"},
    {"3 = x", "1:1: error: expected a statement, found number 3"},
    {"a, 3 = x", "1:4: error: expected a name to assign, found number 3"},
    {"a, b c", "1:6: error: expected '=' in the assignment, found identifier 'c'"},
    /* keywords as names */
    {"x = input", "1:5: error: keyword 'input' cannot be used as a value"},
    {"def return(x) { return x }", "1:5: error: 'return' is a keyword and cannot be used as the "
                                   "def's name"},
    {"def f(output) { return output }", "1:7: error: 'output' is a keyword and cannot be used "
                                        "as a parameter name"},
    {"input param : f32[N]", "1:7: error: 'param' is a keyword and cannot be used as the "
                             "input's name"},
    {"a, def = f(x)", "1:4: error: 'def' is a keyword and cannot be used as a name to assign"},
    {"metric over = x", "1:8: error: 'over' is a keyword and cannot be used as the metric's "
                        "name"},
    {"over = 1", "1:1: error: 'over' must follow a minimize statement on the same line"},
    {"with = 1", "1:1: error: 'with' must follow a minimize statement on the same line"},
    /* import, minimize, output, metric */
    {"import enc", "1:8: error: expected a path string after import, as in import "
                   "\"lib/enc.graph\", found identifier 'enc'"},
    {"import \"\"", "1:8: error: empty import path"},
    {"minimize loss over", "1:19: error: expected a parameter pattern (a name such as enc, "
                           "clf.*, or *), found end of file"},
    {"minimize loss over ,", "1:20: error: expected a parameter pattern (a name such as enc, "
                             "clf.*, or *), found ','"},
    {"minimize loss with 3", "1:20: error: expected an optimizer after with, as in with "
                             "adam(lr=1e-3), found number 3"},
    {"minimize loss with adam + 1", "1:20: error: expected an optimizer call after with, as in "
                                    "with adam(lr=1e-3)"},
    {"minimize loss over enc.", "1:20: error: invalid parameter pattern 'enc.' (names are "
                                "joined by single dots, as in clf.dense0 or clf.*)"},
    {"minimize loss over a..b", "1:20: error: invalid parameter pattern 'a..b' (names are "
                                "joined by single dots, as in clf.dense0 or clf.*)"},
    {"minimize loss over enc .x", "1:24: error: expected end of line, found '.'"},
    {"minimize loss every 0", "1:21: error: every 0: the period must be an integer from 1 to "
                              "2147483647 (the objective runs on steps t with t mod K == "
                              "offset)"},
    {"minimize loss every -2", "1:21: error: every -2: the period must be an integer from 1 "
                               "to 2147483647 (the objective runs on steps t with t mod K == "
                               "offset)"},
    {"minimize loss every 2 offset 2", "1:30: error: offset 2 is outside [0, 2): with every 2 "
                                       "the objective runs on steps t with t mod 2 == offset"},
    {"minimize loss every 3 offset -1", "1:30: error: offset -1 is outside [0, 3): with every "
                                        "3 the objective runs on steps t with t mod 3 == "
                                        "offset"},
    {"minimize loss every 1.5", "1:21: error: expected an integer after every, as in every 2 "
                                "offset 1, found number 1.5"},
    {"minimize loss every", "1:20: error: expected an integer after every, as in every 2 offset "
                            "1, found end of file"},
    {"minimize loss every 2 offset k", "1:30: error: expected an integer after offset, as in "
                                       "every 2 offset 1, found identifier 'k'"},
    {"minimize loss offset 1", "1:15: error: offset must follow every K, as in every 2 offset "
                               "1"},
    {"minimize loss every 2 every 3", "1:23: error: duplicate 'every' clause in minimize (the "
                                      "first is at 1:15)"},
    {"minimize loss with sgd over a with adam", "1:31: error: duplicate 'with' clause in "
                                                "minimize (the first is at 1:15)"},
    {"minimize loss over a every 2 over b", "1:30: error: duplicate 'over' clause in minimize "
                                            "(the first is at 1:15)"},
    {"metric acc", "1:11: error: expected '=' and an expression after the metric's name, found "
                   "end of file"},
    {"output = x", "1:8: error: expected the output's name, found '='"},
    /* lexer errors come through */
    {"x = 1\ny = @", "2:5: error: unexpected character '@'"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(errors); i++)
        parse_err(errors[i].text, errors[i].msg);
}

/* Builds "y = " + n openers + "x" + n closers. */
static char *nested(int n, const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(8 + (size_t)n * (lo + lc));
    size_t u = 0;
    memcpy(s, "y = ", 4);
    u = 4;
    for (int i = 0; i < n; i++, u += lo)
        memcpy(s + u, open, lo);
    s[u++] = 'x';
    for (int i = 0; i < n; i++, u += lc)
        memcpy(s + u, close, lc);
    s[u] = 0;
    return s;
}

static void test_nesting(void **state)
{
    (void)state;
    struct parsed r;
    /* 200 levels of each kind of bracket are fine ... */
    const char *opens[] = {"(", "[", "f(", "-"};
    const char *closes[] = {")", "]", ")", ""};
    for (int k = 0; k < 4; k++) {
        char *s = nested(CG_MAX_NESTING, opens[k], closes[k]);
        parse_ok(&r, s);
        done(&r);
        free(s);
        /* ... 201 are not, and the error points at the 201st opener */
        s = nested(CG_MAX_NESTING + 1, opens[k], closes[k]);
        char msg[128];
        snprintf(msg, sizeof msg, "1:%d: error: expression is nested too deeply (more than 200 "
                 "levels)", 5 + CG_MAX_NESTING * (int)strlen(opens[k]) +
                 (k == 2 ? 1 : 0));
        parse_err(s, msg);
        free(s);
    }
    /* hostile: 20,000 parentheses fail fast without exhausting the stack */
    char *s = nested(20000, "(", ")");
    parse_err(s, "1:205: error: expression is nested too deeply (more than 200 levels)");
    free(s);
    /* long operator chains are bounded too (the builder walks the tree recursively) */
    size_t n = 5 + 2 * 2000;
    s = malloc(n + 1);
    memcpy(s, "y = x", 5);
    for (size_t i = 5; i < n; i += 2)
        memcpy(s + i, "+x", 2);
    s[n] = 0;
    parse_err(s, "1:2004: error: expression is too long (more than 1000 operations in a chain); "
                 "split it with intermediate names");
    s[5 + 2 * 998] = 0; /* 999 operators: height 1000 */
    parse_ok(&r, s);
    done(&r);
    free(s);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    const char *text = "import \"a.graph\"\ninput x : f32[N, 4]\n"
                       "def f(x, k=2) {\n  param w : f32[4] = normal(std=0.1)\n"
                       "  return x * w, k\n}\n"
                       "a, b = f(x)\nminimize mean(a) over f.*, * with adam(lr=0.1)\n"
                       "output o = [a, b]\nmetric m = mean(a)\n";
    int ok = 0;
    for (long k = 0; k < 200 && !ok; k++) {
        struct parsed r;
        memset(&r, 0, sizeof r);
        cg_alloc_fail_after(k);
        r.st = cg_parse("p.graph", text, strlen(text), &r.arena, &r.f, &r.e);
        cg_alloc_fail_after(-1);
        assert_true(r.st == CG_OK || r.st == CG_ERR_NOMEM);
        if (r.st == CG_ERR_NOMEM)
            assert_string_equal(r.e.msg, "error: out of host memory");
        ok = r.st == CG_OK;
        done(&r);
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_input),
        cmocka_unit_test(test_param_initialisers),
        cmocka_unit_test(test_assignments_and_precedence),
        cmocka_unit_test(test_def),
        cmocka_unit_test(test_minimize_output_metric),
        cmocka_unit_test(test_minimize_every),
        cmocka_unit_test(test_empty_and_comments),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
