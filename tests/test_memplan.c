/* test_memplan.c: invariants of the liveness memory plan (passes/memplan.h) on real graphs:
 * the parameters first, in order (the region bindings share), every value fits inside the
 * planned buffer, values alive at the same time never share bytes
 * unless they share storage on purpose (views, in-place updates), kept values are persistent,
 * and reuse makes the plan smaller than one buffer per value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "passes/grad.h"
#include "passes/memplan.h"
#include "ops/registry.h"
#include "passes/optim.h"

/* Checks that the plan's storage groups (p->root) are legal: a value shares storage only as a
 * view or in-place update of its first input, or as the output of an elementwise node over an
 * input of its size whose storage nobody reads after that node (and no other input of the node
 * is stored there); in-place storage is never persistent. */
static void check_groups(const struct cg_graph *g, const struct cg_memplan *p, long *lastread)
{
    size_t nv = g->nvalues;
    for (size_t v = 0; v < nv; v++)
        lastread[v] = -1;
    for (size_t k = 0; k < g->nnodes; k++)
        for (int i = 0; i < g->nodes[k].ninputs; i++)
            if (g->nodes[k].inputs[i] >= 0)
                lastread[g->nodes[k].inputs[i]] = (long)k;
    size_t inplace = 0;
    for (size_t v = 0; v < nv; v++) {
        int r = p->root[v];
        assert_int_equal(p->root[r], r);
        assert_int_equal(p->offset[v], p->offset[r]);
        if (r == (int)v)
            continue;
        const struct cg_value *val = &g->values[v];
        assert_int_equal(val->kind, CG_V_NODE);
        const struct cg_node *n = &g->nodes[val->index];
        if (cg_node_is_view(n)) {
            assert_int_equal(p->root[n->inputs[0]], r);
            continue;
        }
        inplace++;
        assert_true(cg_node_is_elementwise(n));
        assert_true(p->offset[v] >= p->persistent);
        assert_int_equal(g->values[r].kind, CG_V_NODE);
        int over = -1, others = 0;
        for (int i = 0; i < n->ninputs; i++)
            if (n->inputs[i] >= 0 && p->root[n->inputs[i]] == r) {
                others += over >= 0 && n->inputs[i] != over;
                over = n->inputs[i];
            }
        assert_true(over >= 0);
        assert_int_equal(others, 0);
        assert_int_equal(cg_shape_numel(g, &g->values[over].shape),
                         cg_shape_numel(g, &val->shape));
        for (size_t w = 0; w < nv; w++) /* what the storage held before is dead */
            if (p->root[w] == r && (g->values[w].kind != CG_V_NODE ||
                                    g->values[w].index < val->index))
                if (lastread[w] > (long)val->index)
                    fail_msg("value %zu overwrites value %zu at node %d, which node %ld reads",
                             v, w, val->index, lastread[w]);
    }
    assert_int_equal(inplace, p->inplace);
}

/* Checks the plan of g: bounds, legal storage groups, no overlap of simultaneously live
 * storage, kept persistent. */
static void check_plan(const struct cg_graph *g, const struct cg_memplan *p)
{
    size_t nv = g->nvalues, total = p->persistent + p->arena;
    long *first = calloc(nv, sizeof *first), *last = calloc(nv, sizeof *last);
    assert_non_null(first);
    assert_non_null(last);
    check_groups(g, p, first); /* first[] as scratch */
    for (size_t v = 0; v < nv; v++)
        first[v] = last[v] = g->values[v].kind == CG_V_NODE ? g->values[v].index : -1;
    for (size_t k = 0; k < g->nnodes; k++) {
        const struct cg_node *n = &g->nodes[k];
        for (int i = 0; i < n->ninputs; i++)
            if (n->inputs[i] >= 0 && last[p->root[n->inputs[i]]] < (long)k)
                last[p->root[n->inputs[i]]] = (long)k;
        if (last[p->root[n->out]] < (long)k)
            last[p->root[n->out]] = (long)k;
    }
    /* the parameter region: every parameter in order from 0, nothing else below p->params */
    size_t at = 0;
    for (size_t i = 0; i < g->nparams; i++) {
        assert_int_equal(p->offset[g->params[i].value], at);
        at += cg_memplan_slot(cg_shape_numel(g, &g->params[i].shape));
    }
    assert_int_equal(p->params, at);
    for (size_t v = 0; v < nv; v++)
        assert_true((g->values[p->root[v]].kind == CG_V_PARAM) ==
                    (p->offset[v] < p->params));
    for (size_t v = 0; v < nv; v++) {
        size_t sz = cg_memplan_slot(cg_shape_numel(g, &g->values[v].shape));
        assert_true(p->offset[v] + sz <= total);
        if (g->values[v].kind != CG_V_NODE || g->values[v].keep)
            assert_true(p->offset[v] + sz <= p->persistent);
    }
    for (size_t a = 0; a < nv; a++) {
        if (p->root[a] != (int)a || p->offset[a] < p->persistent)
            continue;
        size_t sa = cg_memplan_slot(cg_shape_numel(g, &g->values[a].shape));
        for (size_t b = a + 1; b < nv; b++) {
            if (p->root[b] != (int)b)
                continue;
            size_t sb = cg_memplan_slot(cg_shape_numel(g, &g->values[b].shape));
            int live_together = first[a] <= last[b] && first[b] <= last[a];
            int bytes_overlap = p->offset[a] < p->offset[b] + sb && p->offset[b] < p->offset[a] + sa;
            if (live_together && bytes_overlap)
                fail_msg("values %zu [%ld,%ld] and %zu [%ld,%ld] share bytes", a, first[a],
                         last[a], b, first[b], last[b]);
        }
    }
    free(first);
    free(last);
}

static struct cg_graph *load_cim(int64_t n)
{
    char path[4096];
    const char *src = getenv("CLGRAPH_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/graphs/cim.graph", src ? src : ".");
    struct cg_binding b = {"N", n};
    struct cg_graph *g = NULL;
    struct cg_error e;
    if (cg_graph_load_bound(path, &b, 1, &g, &e) != CG_OK)
        fail_msg("%s", e.msg);
    return g;
}

static void test_cim_forward(void **state)
{
    (void)state;
    struct cg_graph *g = load_cim(8);
    struct cg_memplan p;
    struct cg_error e;
    assert_int_equal(cg_memplan_build(g, &p, &e), CG_OK);
    check_plan(g, &p);
    assert_true(p.persistent + p.arena < p.unplanned);
    assert_true(p.peak_live <= p.persistent + p.arena);
    cg_memplan_free(&p);
    cg_graph_destroy(g);
}

static void test_cim_training(void **state)
{
    (void)state;
    struct cg_graph *g = load_cim(64);
    struct cg_optim_plan op = {0};
    struct cg_memplan p;
    struct cg_error e;
    assert_int_equal(cg_optim_expand(g, NULL, 0, &op, &e), CG_OK);
    assert_int_equal(cg_memplan_build(g, &p, &e), CG_OK);
    check_plan(g, &p);
    /* reuse pays: the arena is well under what one buffer per value would take */
    assert_true(p.persistent + p.arena < p.unplanned * 3 / 4);
    /* in place: gradient chains and the forward activations (relu over its conv's output,
     * whose gradient reads only relu's output) */
    struct cg_memplan plain;
    assert_int_equal(cg_memplan_build_opts(g, 0, &plain, &e), CG_OK);
    check_plan(g, &plain);
    assert_true(p.inplace > 50);
    assert_true(p.arena <= plain.arena);
    int conv0 = g->nodes[0].out, relu0 = -1;
    for (size_t k = 0; k < g->nnodes && relu0 < 0; k++)
        if (g->nodes[k].op == CG_OP_relu && g->nodes[k].inputs[0] == conv0)
            relu0 = g->nodes[k].out;
    assert_true(relu0 >= 0);
    assert_int_equal(p.root[relu0], conv0);
    cg_memplan_free(&plain);
    cg_optim_plan_free(&op);
    cg_memplan_free(&p);
    cg_graph_destroy(g);
}

/* Which elementwise outputs take over a dying input's storage, on a small graph. */
static void test_inplace_choices(void **state)
{
    (void)state;
    /* inside a def, so that no value is a top-level name (those are kept, for fetching) */
    const char *t = "input x : f32[4, 8]\nparam w : f32[8] = ones()\n"
                    "def f(x, w) {\n"
                    "  a = x * w\n"      /* x is an input: a gets storage of its own */
                    "  b = relu(a)\n"    /* a is read later: not overwritten */
                    "  c = exp(b)\n"     /* b dies here: c takes it over */
                    "  d = c + a\n"      /* both die here: d takes c's (the first input) */
                    "  s = d * d\n"      /* the same input twice: still in place */
                    "  m = mean(s, 1)\n" /* not elementwise */
                    "  return sigmoid(m)\n"
                    "}\n"
                    "z = f(x, w)\n"      /* a top-level name: kept, its own persistent storage */
                    "output z\n";
    struct cg_graph *g = NULL;
    struct cg_memplan p, plain;
    struct cg_error e;
    assert_int_equal(cg_graph_load_text("m.graph", t, strlen(t), &g, &e), CG_OK);
    assert_int_equal(cg_memplan_build(g, &p, &e), CG_OK);
    check_plan(g, &p);
    /* the values by their ops, in node order */
    static const int ops[] = {CG_OP_mul, CG_OP_relu, CG_OP_exp, CG_OP_add, CG_OP_mul,
                              CG_OP_sigmoid};
    int at[6], k = 0;
    for (size_t i = 0; i < g->nnodes && k < 6; i++)
        if (g->nodes[i].op == ops[k])
            at[k++] = g->nodes[i].out;
    assert_int_equal(k, 6);
    int a = at[0], b = at[1], c = at[2], d = at[3], sv = at[4], z = at[5];
    int m = g->nodes[g->values[z].index].inputs[0];
    assert_int_equal(p.root[a], a);
    assert_int_equal(p.root[b], b);
    assert_int_equal(p.root[c], b);
    assert_int_equal(p.root[d], b);
    assert_int_equal(p.root[sv], b);
    assert_int_equal(p.root[m], m);
    assert_int_equal(p.root[z], z);
    assert_int_equal(p.inplace, 3);
    assert_int_equal(cg_memplan_build_opts(g, 0, &plain, &e), CG_OK);
    check_plan(g, &plain);
    assert_int_equal(plain.inplace, 0);
    for (size_t v = 0; v < g->nvalues; v++)
        assert_true(plain.root[v] == (int)v || cg_node_is_view(&g->nodes[g->values[v].index]));
    assert_int_equal(plain.unplanned, p.unplanned);
    cg_memplan_free(&p);
    cg_memplan_free(&plain);
    cg_graph_destroy(g);
}

static void test_symbolic_refused(void **state)
{
    (void)state;
    const char *t = "input x : f32[N, 4]\ny = relu(x)\n";
    struct cg_graph *g = NULL;
    struct cg_memplan p;
    struct cg_error e;
    assert_int_equal(cg_graph_load_text("m.graph", t, strlen(t), &g, &e), CG_OK);
    assert_int_equal(cg_memplan_build(g, &p, &e), CG_ERR_INPUT);
    assert_non_null(strstr(e.msg, "symbolic"));
    cg_graph_destroy(g);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct cg_graph *g = load_cim(2);
    struct cg_error e;
    for (long n = 0; n < 8; n++) {
        struct cg_memplan p;
        cg_alloc_fail_after(n);
        enum cg_status st = cg_memplan_build(g, &p, &e);
        cg_alloc_fail_after(-1);
        assert_true(st == CG_OK || st == CG_ERR_NOMEM);
        if (st == CG_OK)
            cg_memplan_free(&p);
    }
    cg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cim_forward),
        cmocka_unit_test(test_cim_training),
        cmocka_unit_test(test_inplace_choices),
        cmocka_unit_test(test_symbolic_refused),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
