/* devices.c: `clgraph devices [--json] [--device SEL]`: lists every OpenCL device with its
 * capabilities and marks the one the selection picks (see docs/RUNTIME.md). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "runtime/runtime.h"

/* Formats a byte count in binary units ("15.6 GiB", "64 KiB"). */
static const char *human_bytes(unsigned long long n, char *buf, size_t size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < CG_ARRAY_LEN(units)) {
        v /= 1024;
        u++;
    }
    if (u == 0 || v == (double)(unsigned long long)v)
        snprintf(buf, size, "%.0f %s", v, units[u]);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

static const char *yes_no(int v) { return v ? "yes" : "no"; }

static void print_text(const struct cg_device_info *list, size_t count, size_t selected)
{
    char a[32], b[32], c[32];
    for (size_t i = 0; i < count; i++) {
        const struct cg_device_info *d = &list[i];
        printf("%s[%zu] %s / %s\n", i == selected ? "* " : "  ", i, d->platform_name, d->name);
        printf("      platform:       %s (%s), %s\n", d->platform_name, d->platform_vendor,
               d->platform_version);
        printf("      vendor:         %s\n", d->vendor);
        printf("      type:           %s\n", cg_device_type_name(d->type));
        printf("      version:        %s; driver %s; %s\n", d->version, d->driver_version,
               d->c_version);
        printf("      compute units:  %u at %u MHz\n", d->compute_units, d->clock_mhz);
        printf("      memory:         global %s, local %s (%s), max allocation %s\n",
               human_bytes(d->global_mem, a, sizeof a), human_bytes(d->local_mem, b, sizeof b),
               d->local_mem_is_local ? "local" : "global",
               human_bytes(d->max_alloc, c, sizeof c));
        printf("      work-group:     max %zu; preferred float vector width %u\n",
               d->max_work_group, d->float_vector_width);
        printf("      features:       fp16 %s, fp64 %s, subgroups %s, 32-bit atomics "
               "global %s / local %s, 64-bit atomics %s\n",
               yes_no(d->fp16), yes_no(d->fp64), yes_no(d->subgroups),
               yes_no(d->atomics32_global), yes_no(d->atomics32_local), yes_no(d->atomics64));
    }
    printf("(* = selected: --device, else CLGRAPH_DEVICE, else the first GPU, else PoCL)\n");
}

static void json_kv_str(struct cg_buf *b, const char *key, const char *v, int last)
{
    cg_buf_printf(b, "    \"%s\": ", key);
    cg_buf_json_str(b, v);
    cg_buf_printf(b, "%s\n", last ? "" : ",");
}

static void json_kv_num(struct cg_buf *b, const char *key, unsigned long long v)
{
    cg_buf_printf(b, "    \"%s\": %llu,\n", key, v);
}

static void json_kv_bool(struct cg_buf *b, const char *key, int v)
{
    cg_buf_printf(b, "    \"%s\": %s,\n", key, v ? "true" : "false");
}

static int print_json(const struct cg_device_info *list, size_t count, size_t selected)
{
    struct cg_buf b = {0};
    cg_buf_printf(&b, "[\n");
    for (size_t i = 0; i < count; i++) {
        const struct cg_device_info *d = &list[i];
        cg_buf_printf(&b, "  {\n");
        json_kv_num(&b, "index", i);
        json_kv_bool(&b, "selected", i == selected);
        json_kv_str(&b, "platform", d->platform_name, 0);
        json_kv_str(&b, "platform_vendor", d->platform_vendor, 0);
        json_kv_str(&b, "platform_version", d->platform_version, 0);
        json_kv_str(&b, "name", d->name, 0);
        json_kv_str(&b, "vendor", d->vendor, 0);
        json_kv_str(&b, "type", cg_device_type_name(d->type), 0);
        json_kv_str(&b, "version", d->version, 0);
        json_kv_str(&b, "driver_version", d->driver_version, 0);
        json_kv_str(&b, "opencl_c_version", d->c_version, 0);
        json_kv_num(&b, "compute_units", d->compute_units);
        json_kv_num(&b, "max_clock_mhz", d->clock_mhz);
        json_kv_num(&b, "global_mem_bytes", d->global_mem);
        json_kv_num(&b, "local_mem_bytes", d->local_mem);
        json_kv_str(&b, "local_mem_type", d->local_mem_is_local ? "local" : "global", 0);
        json_kv_num(&b, "max_alloc_bytes", d->max_alloc);
        json_kv_num(&b, "max_work_group_size", d->max_work_group);
        json_kv_num(&b, "preferred_float_vector_width", d->float_vector_width);
        json_kv_bool(&b, "fp16", d->fp16);
        json_kv_bool(&b, "fp64", d->fp64);
        json_kv_bool(&b, "subgroups", d->subgroups);
        json_kv_bool(&b, "atomics32_global", d->atomics32_global);
        json_kv_bool(&b, "atomics32_local", d->atomics32_local);
        cg_buf_printf(&b, "    \"atomics64\": %s\n", d->atomics64 ? "true" : "false");
        cg_buf_printf(&b, "  }%s\n", i + 1 < count ? "," : "");
    }
    cg_buf_printf(&b, "]\n");
    if (b.oom) {
        cg_buf_free(&b);
        fprintf(stderr, "clgraph: error: out of host memory\n");
        return 2;
    }
    fputs(cg_buf_str(&b), stdout);
    cg_buf_free(&b);
    return 0;
}

int cg_cmd_devices(int argc, char **argv)
{
    const char *selector = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int r = cg_cli_opt(argc, argv, &i, "--device", &selector);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cg_cli_usage_error("devices", "unknown option '%s'", argv[i]);
        else
            return cg_cli_usage_error("devices", "unexpected argument '%s'", argv[i]);
    }

    struct cg_error e = {0};
    struct cg_device_info *list = NULL;
    size_t count = 0, selected = 0;
    if (cg_device_list(&list, &count, &e))
        return cg_cli_fail(&e);
    int rc;
    if (cg_device_select(list, count, cg_device_selector(selector), &selected, &e))
        rc = cg_cli_fail(&e);
    else
        rc = json ? print_json(list, count, selected) : (print_text(list, count, selected), 0);
    cg_free(list);
    return rc;
}
