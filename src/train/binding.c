/* binding.c: the data set of a run and the graph's inputs as the sampler sees them (binding.h);
 * shared by the trainer and the evaluation session. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "train/binding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int names_directory(const char *spec)
{
    struct stat sb;
    return strchr(spec, '/') || (stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode));
}

void cg_path_absolute(const char *path, char *out, size_t n)
{
    char *abs = realpath(path, NULL);
    snprintf(out, n, "%s", abs ? abs : path);
    free(abs);
}

void cg_data_spec_canonical(const char *spec, char *out, size_t n)
{
    if (names_directory(spec))
        cg_path_absolute(spec, out, n);
    else
        snprintf(out, n, "%s", spec);
}

enum cg_status cg_data_open(const char *spec, struct cg_dataset **out, struct cg_error *e)
{
    *out = NULL;
    if (names_directory(spec))
        return cg_dataset_load(spec, out, e);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    struct cg_data_param params[16];
    int n = 0;
    uint64_t seed = 0;
    char *colon = strchr(buf, ':');
    if (colon) {
        *colon = 0;
        for (char *kv = strtok(colon + 1, ","); kv; kv = strtok(NULL, ",")) {
            char *eq = strchr(kv, '=');
            if (!eq || eq == kv)
                return cg_error_set(e, CG_ERR_INPUT, "error: --data %s: expected key=value "
                                    "after the data set name, got '%s'", spec, kv);
            *eq = 0;
            if (!strcmp(kv, "seed")) {
                char *end;
                seed = strtoull(eq + 1, &end, 10);
                if (*end || !eq[1])
                    return cg_error_set(e, CG_ERR_INPUT, "error: --data %s: seed expects a "
                                        "non-negative integer", spec);
                continue;
            }
            if (n == 16)
                return cg_error_set(e, CG_ERR_INPUT, "error: --data %s: too many parameters",
                                    spec);
            params[n].key = kv;
            params[n++].value = eq + 1;
        }
    }
    size_t nb;
    const struct cg_builder_def *defs = cg_dataset_builders(&nb);
    size_t i;
    for (i = 0; i < nb && strcmp(defs[i].name, buf); i++)
        ;
    if (i == nb) {
        struct cg_buf names = {0};
        for (size_t k = 0; k < nb; k++)
            cg_buf_printf(&names, "%s%s", k ? ", " : "", defs[k].name);
        enum cg_status st = cg_error_set(e, CG_ERR_INPUT, "error: --data %s: no data set named "
                                         "'%s' and no such directory", spec, buf);
        cg_error_note(e, "note: data sets: %s (clgraph data list)", cg_buf_str(&names));
        cg_buf_free(&names);
        return st;
    }
    return cg_dataset_build(buf, params, n, seed, out, e);
}

enum cg_status cg_inputs_describe(const struct cg_graph *g, const char *graph_path,
                                  int64_t batch, struct cg_input_desc *inputs, char (*names)[64],
                                  int max, int *count, enum cg_sampler_kind *kind,
                                  struct cg_error *e)
{
    size_t n = cg_graph_count(g, CG_INPUTS);
    if (n == 0 || n > (size_t)max)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: the graph has %zu inputs; train needs "
                            "1 to %d", graph_path, n, max);
    int has[5] = {0}; /* x xp xn y x_pos */
    for (size_t i = 0; i < n; i++) {
        struct cg_tensor_desc d;
        cg_graph_describe(g, CG_INPUTS, i, &d);
        if (d.rank < 1 || d.rank - 1 > CG_FIELD_MAX_RANK)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: input '%s' is %s; train needs a "
                                "batch dimension first", graph_path, d.name, d.shape_text);
        if (d.dims[0] >= 0 && d.dims[0] != batch)
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: input '%s' is %s, but --batch is "
                                "%lld", graph_path, d.name, d.shape_text, (long long)batch);
        struct cg_input_desc *in = &inputs[i];
        snprintf(names[i], 64, "%s", d.name);
        in->name = names[i];
        in->is_int = d.is_int;
        in->rank = d.rank - 1;
        for (int k = 1; k < d.rank; k++) {
            if (d.dims[k] < 0)
                return cg_error_set(e, CG_ERR_INPUT, "%s: error: input '%s' is %s; only the "
                                    "first (batch) dimension may be symbolic", graph_path,
                                    d.name, d.shape_text);
            in->dims[k - 1] = d.dims[k];
        }
        const char *known[5] = {"x", "xp", "xn", "y", "x_pos"};
        for (int k = 0; k < 5; k++)
            has[k] |= !strcmp(d.name, known[k]);
    }
    *count = (int)n;
    int triplet = has[0] && has[1] && has[2] && has[3], pairs = has[0] && has[4];
    int views = triplet || pairs ? 0 : cg_inputs_views(inputs, *count);
    if (views) {
        for (int i = 0; i < *count; i++) /* x1..xK are consecutive: nothing after a gap */
            if (cg_input_view_index(inputs[i].name) > views)
                return cg_error_set(e, CG_ERR_INPUT, "%s: error: the views of the multiview "
                                    "sampler are the inputs x1..xK, consecutive from x1: x%d is "
                                    "missing before %s", graph_path, views + 1, inputs[i].name);
        if (has[0])
            return cg_error_set(e, CG_ERR_INPUT, "%s: error: input 'x' beside the views x1..x%d: "
                                "the multiview sampler would fill it with all %d views at once "
                                "([%d*N, ...]); take the views as x1..x%d only", graph_path,
                                views, views, views, views);
    }
    *kind = triplet ? CG_SAMPLER_TRIPLET
          : pairs   ? CG_SAMPLER_PAIRS
          : views   ? CG_SAMPLER_MULTIVIEW
                    : CG_SAMPLER_PLAIN;
    return CG_OK;
}

int cg_input_view_index(const char *name)
{
    if (name[0] != 'x' || name[1] < '1' || name[1] > '9')
        return 0;
    char *end;
    long k = strtol(name + 1, &end, 10);
    return *end || k > 1000 ? 0 : (int)k;
}

int cg_inputs_views(const struct cg_input_desc *inputs, int n)
{
    int k = 0;
    for (int found = 1; found;) {
        found = 0;
        for (int i = 0; i < n && !found; i++)
            found = cg_input_view_index(inputs[i].name) == k + 1;
        k += found;
    }
    return k >= 2 ? k : 0;
}

const char *cg_sampler_kind_name(enum cg_sampler_kind k)
{
    return k == CG_SAMPLER_TRIPLET ? "triplet" : k == CG_SAMPLER_PAIRS ? "pairs"
                                             : k == CG_SAMPLER_MULTIVIEW ? "multiview" : "plain";
}
