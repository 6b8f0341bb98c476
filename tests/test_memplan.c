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
#include "passes/optim.h"

static int root_of(const struct cg_graph *g, int v)
{
    while (g->values[v].kind == CG_V_NODE && cg_node_is_view(&g->nodes[g->values[v].index]))
        v = g->nodes[g->values[v].index].inputs[0];
    return v;
}

/* Checks the plan of g: bounds, no overlap of simultaneously live storage, kept persistent. */
static void check_plan(const struct cg_graph *g, const struct cg_memplan *p)
{
    size_t nv = g->nvalues, total = p->persistent + p->arena;
    long *first = calloc(nv, sizeof *first), *last = calloc(nv, sizeof *last);
    assert_non_null(first);
    assert_non_null(last);
    for (size_t v = 0; v < nv; v++)
        first[v] = last[v] = g->values[v].kind == CG_V_NODE ? g->values[v].index : -1;
    for (size_t k = 0; k < g->nnodes; k++) {
        const struct cg_node *n = &g->nodes[k];
        for (int i = 0; i < n->ninputs; i++)
            if (n->inputs[i] >= 0 && last[root_of(g, n->inputs[i])] < (long)k)
                last[root_of(g, n->inputs[i])] = (long)k;
        if (last[root_of(g, n->out)] < (long)k)
            last[root_of(g, n->out)] = (long)k;
    }
    /* the parameter region: every parameter in order from 0, nothing else below p->params */
    size_t at = 0;
    for (size_t i = 0; i < g->nparams; i++) {
        assert_int_equal(p->offset[g->params[i].value], at);
        at += cg_memplan_slot(cg_shape_numel(g, &g->params[i].shape));
    }
    assert_int_equal(p->params, at);
    for (size_t v = 0; v < nv; v++)
        assert_true((g->values[root_of(g, (int)v)].kind == CG_V_PARAM) ==
                    (p->offset[v] < p->params));
    for (size_t v = 0; v < nv; v++) {
        size_t sz = cg_memplan_slot(cg_shape_numel(g, &g->values[v].shape));
        assert_true(p->offset[v] + sz <= total);
        if (g->values[v].kind != CG_V_NODE || g->values[v].keep)
            assert_true(p->offset[v] + sz <= p->persistent);
    }
    for (size_t a = 0; a < nv; a++) {
        if (root_of(g, (int)a) != (int)a || p->offset[a] < p->persistent)
            continue;
        size_t sa = cg_memplan_slot(cg_shape_numel(g, &g->values[a].shape));
        for (size_t b = a + 1; b < nv; b++) {
            if (root_of(g, (int)b) != (int)b)
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
    cg_optim_plan_free(&op);
    cg_memplan_free(&p);
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
        cmocka_unit_test(test_symbolic_refused),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
