/* data.c: `clgraph data list | build | show`: the data set builders of datasets.def from the
 * command line.
 *
 *   list                                      every builder: parameters, fields, description
 *   build NAME [k=v ...] [--seed S] --out DIR [--jpeg]
 *                                             DIR/{train,test}/FIELD.npy + DIR/info.json (and
 *                                             the JPEG folder + metadata.csv for waterbirds_like
 *                                             or with --jpeg); built in DIR.tmp-XXXXXX and
 *                                             renamed, so a failure leaves nothing in DIR
 *   show NAME|DIR [k=v ...] [--seed S] --grid FILE.jpg [--split S] [--n N] [--field F]
 *                                             a grid of the first N examples as a JPEG */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/builders.h"
#include "data/dataset.h"
#include "data/fileio.h"
#include "data/jpeg.h"
#include "eval/raster.h"

#define MAX_PARAMS 16

/* Common arguments of build and show: NAME (or DIR), key=value params, --seed. */
struct data_args {
    const char *target, *out, *grid, *split, *field;
    long long seed, n;
    int jpeg;
    int nparams;
    struct cg_data_param params[MAX_PARAMS];
    char keys[MAX_PARAMS][64];
};

static int parse_args(const char *cmd, int argc, char **argv, struct data_args *a)
{
    memset(a, 0, sizeof *a);
    a->split = "train";
    a->field = "x";
    a->n = 64;
    const char *v;
    for (int i = 1; i < argc; i++) {
        int r;
        char *end;
        if ((r = cg_cli_opt(argc, argv, &i, "--seed", &v)) != 0) {
            if (r < 0)
                return 1;
            errno = 0;
            a->seed = strtoll(v, &end, 10);
            if (!*v || *end || a->seed < 0 || errno)
                return cg_cli_usage_error("data", "--seed expects a non-negative integer, got '%s'",
                                          v);
        } else if (!strcmp(cmd, "data build") &&
                   (r = cg_cli_opt(argc, argv, &i, "--out", &a->out)) != 0) {
            if (r < 0)
                return 1;
        } else if (!strcmp(cmd, "data build") && !strcmp(argv[i], "--jpeg")) {
            a->jpeg = 1;
        } else if (!strcmp(cmd, "data show") &&
                   (r = cg_cli_opt(argc, argv, &i, "--grid", &a->grid)) != 0) {
            if (r < 0)
                return 1;
        } else if (!strcmp(cmd, "data show") &&
                   (r = cg_cli_opt(argc, argv, &i, "--split", &a->split)) != 0) {
            if (r < 0)
                return 1;
        } else if (!strcmp(cmd, "data show") &&
                   (r = cg_cli_opt(argc, argv, &i, "--field", &a->field)) != 0) {
            if (r < 0)
                return 1;
        } else if (!strcmp(cmd, "data show") &&
                   (r = cg_cli_opt(argc, argv, &i, "--n", &v)) != 0) {
            if (r < 0)
                return 1;
            errno = 0;
            a->n = strtoll(v, &end, 10);
            if (!*v || *end || a->n < 1 || a->n > 10000 || errno)
                return cg_cli_usage_error("data", "--n expects an integer in [1, 10000], got '%s'",
                                          v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cg_cli_usage_error("data", "unknown option '%s'", argv[i]);
        } else if (!a->target) {
            a->target = argv[i];
        } else {
            const char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i])
                return cg_cli_usage_error("data", "expected key=value, got '%s'", argv[i]);
            if (a->nparams >= MAX_PARAMS || (size_t)(eq - argv[i]) >= sizeof a->keys[0])
                return cg_cli_usage_error("data", "too many parameters or key too long: '%s'",
                                          argv[i]);
            memcpy(a->keys[a->nparams], argv[i], (size_t)(eq - argv[i]));
            a->keys[a->nparams][eq - argv[i]] = 0;
            a->params[a->nparams].key = a->keys[a->nparams];
            a->params[a->nparams].value = eq + 1;
            a->nparams++;
        }
    }
    if (!a->target)
        return cg_cli_usage_error("data", "missing the data set name");
    return 0;
}

static int cmd_list(void)
{
    size_t n;
    const struct cg_builder_def *b = cg_dataset_builders(&n);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", b[i].name);
        printf("  %s\n", b[i].description);
        printf("  params: %s\n", b[i].params[0] ? b[i].params : "none");
        printf("  fields: %s\n", b[i].fields);
    }
    return 0;
}

static int cmd_build(int argc, char **argv)
{
    struct data_args a;
    int rc = parse_args("data build", argc, argv, &a);
    if (rc)
        return rc;
    if (!a.out)
        return cg_cli_usage_error("data", "missing --out DIR");
    size_t olen = strlen(a.out);
    while (olen > 1 && a.out[olen - 1] == '/')
        olen--;
    if (olen == 0 || olen > 3000)
        return cg_cli_usage_error("data", "bad --out '%s'", a.out);
    char out[3100], tmp[3200], old[3200];
    memcpy(out, a.out, olen);
    out[olen] = 0;
    struct stat st;
    if (stat(out, &st) == 0) {
        char info[3200];
        snprintf(info, sizeof info, "%s/info.json", out);
        DIR *d = S_ISDIR(st.st_mode) ? opendir(out) : NULL;
        int entries = 0;
        if (d) {
            struct dirent *ent;
            while ((ent = readdir(d)) != NULL)
                entries += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
            closedir(d);
        }
        if (!S_ISDIR(st.st_mode) || (entries && access(info, F_OK) != 0)) {
            fprintf(stderr, "clgraph: %s: error: exists and is not a data set directory (no "
                    "info.json); not replacing it\n", out);
            return 1;
        }
    }

    struct cg_error e = {0};
    struct cg_dataset *ds = NULL;
    enum cg_status s = cg_dataset_build(a.target, a.params, a.nparams, (uint64_t)a.seed, &ds, &e);
    if (s != CG_OK)
        return cg_cli_fail(&e);
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "clgraph: %s: error: cannot create the output directory: %s\n", out,
                strerror(errno));
        cg_dataset_free(ds);
        return 1;
    }
    mode_t mask = umask(0); /* mkdtemp made it 0700: give it a plain directory's mode */
    umask(mask);
    if (chmod(tmp, 0777 & ~mask) != 0)
        s = cg_error_set(&e, CG_ERR_INPUT, "%s: error: cannot set the mode of %s: %s", out, tmp,
                         strerror(errno));
    if (s == CG_OK)
        s = cg_dataset_save(ds, tmp, &e);
    if (s == CG_OK && (a.jpeg || !strcmp(ds->name, "waterbirds_like")))
        s = cg_dataset_write_jpegs(ds, tmp, &e);
    if (s == CG_OK) {
        snprintf(old, sizeof old, "%s.old-XXXXXX", out);
        int had = stat(out, &st) == 0;
        if (had && (!mkdtemp(old) || rename(out, old) != 0)) {
            s = cg_error_set(&e, CG_ERR_INPUT, "%s: error: cannot move the old data set aside: "
                             "%s", out, strerror(errno));
        } else if (rename(tmp, out) != 0) {
            s = cg_error_set(&e, CG_ERR_INPUT, "%s: error: cannot rename %s to it: %s", out,
                             tmp, strerror(errno));
            if (had)
                rename(old, out);
        } else if (had) {
            cg_remove_tree(old);
        }
    }
    if (s != CG_OK) {
        cg_remove_tree(tmp);
        cg_dataset_free(ds);
        return cg_cli_fail(&e);
    }
    printf("wrote %s: %s, seed %llu, train %zu, test %zu examples\n", out, ds->name,
           (unsigned long long)ds->seed, ds->train.count, ds->test.count);
    cg_dataset_free(ds);
    return 0;
}

/* Writes the grid of the first n examples of image field x (cg_grid_chw) as a JPEG. */
static enum cg_status write_grid(const struct cg_field *x, size_t n, const char *path,
                                 struct cg_error *e)
{
    struct cg_image img;
    enum cg_status s = cg_grid_chw(x->data, n, (int)x->shape[0], (int)x->shape[1],
                                   (int)x->shape[2], &img, e);
    if (s == CG_ERR_INPUT)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: the grid of %zu examples would be too "
                            "large", path, n);
    if (s == CG_OK)
        s = cg_jpeg_write(path, img.w, img.h, img.channels, img.pixels, 95, e);
    cg_image_free(&img);
    return s;
}

static int cmd_show(int argc, char **argv)
{
    struct data_args a;
    int rc = parse_args("data show", argc, argv, &a);
    if (rc)
        return rc;
    if (!a.grid)
        return cg_cli_usage_error("data", "missing --grid FILE.jpg");
    if (strcmp(a.split, "train") && strcmp(a.split, "test"))
        return cg_cli_usage_error("data", "--split is train or test, not '%s'", a.split);
    struct cg_error e = {0};
    struct cg_dataset *ds = NULL;
    struct stat st;
    enum cg_status s;
    if (stat(a.target, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (a.nparams)
            return cg_cli_usage_error("data", "parameters apply to a builder, not to the "
                                      "directory %s", a.target);
        s = cg_dataset_load(a.target, &ds, &e);
    } else {
        s = cg_dataset_build(a.target, a.params, a.nparams, (uint64_t)a.seed, &ds, &e);
    }
    if (s != CG_OK)
        return cg_cli_fail(&e);
    const struct cg_split *sp = strcmp(a.split, "test") ? &ds->train : &ds->test;
    const struct cg_field *x = cg_split_field(sp, a.field);
    if (!x || x->dtype != CG_NPY_F32 || x->rank != 3 || (x->shape[0] != 1 && x->shape[0] != 3)) {
        fprintf(stderr, "clgraph: %s: the %s split has no image field '%s' (f32 [1 or 3, H, W])"
                "\n", ds->name, a.split, a.field);
        cg_dataset_free(ds);
        return 1;
    }
    size_t n = (size_t)a.n < sp->count ? (size_t)a.n : sp->count;
    if (n == 0) {
        fprintf(stderr, "clgraph: %s: the %s split is empty\n", ds->name, a.split);
        cg_dataset_free(ds);
        return 1;
    }
    s = write_grid(x, n, a.grid, &e);
    if (s != CG_OK) {
        cg_dataset_free(ds);
        return cg_cli_fail(&e);
    }
    printf("wrote %s: %zu examples of %s %s/%s\n", a.grid, n, ds->name, a.split, a.field);
    cg_dataset_free(ds);
    return 0;
}

int cg_cmd_data(int argc, char **argv)
{
    if (argc < 2)
        return cg_cli_usage_error("data", "expected list, build or show");
    if (!strcmp(argv[1], "list")) {
        if (argc > 2)
            return cg_cli_usage_error("data", "list takes no arguments");
        return cmd_list();
    }
    if (!strcmp(argv[1], "build"))
        return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return cmd_show(argc - 1, argv + 1);
    return cg_cli_usage_error("data", "unknown subcommand '%s' (list, build or show)", argv[1]);
}
