/* folder.c: image folders with class subdirectories and CSV manifests (see folder.h).
 *
 * The manifest parser reads the whole CSV, splits it into records (a quoted field may hold
 * commas; a record ends at an unquoted newline), maps the header's column names to their
 * positions, and validates each row in order, so the first bad row is reported with its line
 * number. Lists are built completely before they are returned; on failure everything is freed. */
#include "data/folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/jpeg.h"

#define CSV_MAX_FILE ((size_t)1 << 30)
#define CSV_MAX_COLS 64

void cg_folder_list_free(struct cg_folder_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        cg_free(l->entries[i].path);
    cg_free(l->entries);
    if (l->classes)
        for (int k = 0; k < l->nclasses; k++)
            cg_free(l->classes[k]);
    cg_free(l->classes);
    memset(l, 0, sizeof *l);
}

static char *join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir[0])
        return cg_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *p = cg_malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_jpeg_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Sorted names of the entries of dir that are directories (want_dir) or JPEG files. */
static enum cg_status list_dir(const char *dir, int want_dir, char ***names, size_t *n,
                               struct cg_error *e)
{
    *names = NULL;
    *n = 0;
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return cg_error_set(e, CG_ERR_INPUT, "%s: error: cannot open the directory: %s", dir,
                            strerror(errno));
    struct dirent *de;
    enum cg_status st = CG_OK;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *full = join(dir, de->d_name);
        if (!full) {
            st = cg_error_nomem(e);
            goto error;
        }
        struct stat sb;
        int ok = stat(full, &sb) == 0 &&
                 (want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode) && is_jpeg_name(de->d_name));
        cg_free(full);
        if (!ok)
            continue;
        char *name = cg_strdup(de->d_name);
        if (!name || CG_PUSH(*names, *n, cap, name)) {
            cg_free(name);
            st = cg_error_nomem(e);
            goto error;
        }
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_str);
    return CG_OK;

error:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        cg_free((*names)[i]);
    cg_free(*names);
    *names = NULL;
    *n = 0;
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        cg_free(names[i]);
    cg_free(names);
}

enum cg_status cg_folder_scan(const char *root, struct cg_folder_list *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    char **classes = NULL, **files = NULL;
    size_t nclasses = 0, nfiles = 0, cap = 0;
    char *cdir = NULL;
    enum cg_status st = list_dir(root, 1, &classes, &nclasses, e);
    if (st != CG_OK)
        return st;
    if (nclasses == 0) {
        st = cg_error_set(e, CG_ERR_INPUT,
                          "%s: error: no class directory (expected ROOT/<class>/*.jpg)", root);
        goto error;
    }
    if (nclasses > INT32_MAX) {
        st = cg_error_set(e, CG_ERR_INPUT, "%s: error: too many class directories", root);
        goto error;
    }
    out->classes = classes;
    out->nclasses = (int)nclasses;
    classes = NULL;
    nclasses = 0;
    for (int k = 0; k < out->nclasses; k++) {
        cdir = join(root, out->classes[k]);
        if (!cdir) {
            st = cg_error_nomem(e);
            goto error;
        }
        if ((st = list_dir(cdir, 0, &files, &nfiles, e)) != CG_OK)
            goto error;
        if (nfiles == 0) {
            st = cg_error_set(e, CG_ERR_INPUT,
                              "%s: error: class directory '%s' has no .jpg/.jpeg image", root,
                              out->classes[k]);
            goto error;
        }
        for (size_t i = 0; i < nfiles; i++) {
            struct cg_folder_entry en = {.y = k, .group = -1};
            en.path = join(cdir, files[i]);
            if (!en.path || CG_PUSH(out->entries, out->count, cap, en)) {
                cg_free(en.path);
                st = cg_error_nomem(e);
                goto error;
            }
        }
        free_names(files, nfiles);
        files = NULL;
        nfiles = 0;
        cg_free(cdir);
        cdir = NULL;
    }
    return CG_OK;

error:
    free_names(classes, nclasses);
    free_names(files, nfiles);
    cg_free(cdir);
    cg_folder_list_free(out);
    return st;
}

/* ---- CSV manifests ----------------------------------------------------------------------- */

struct csv {
    const char *path;
    char *text;
    size_t len, pos;
    int line; /* line of the record being read (1-based) */
};

__attribute__((format(printf, 3, 4))) static enum cg_status csv_bad(struct cg_error *e,
                                                                   const struct csv *c,
                                                                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cg_error_set(e, CG_ERR_INPUT, "%s:%d: error: %s", c->path, c->line, msg);
}

/* record := field (',' field)* ('\n' | '\r\n' | EOF); field := '"' ([^"] | '""')* '"' | [^,\n]*
 * Fields are unquoted in place (NUL-terminated inside text). Returns the number of fields (0 at
 * the end of the text); blank lines are skipped. *next_line is the line after the record. */
static enum cg_status csv_record(struct csv *c, char **fields, int *nfields, int *next_line,
                                 struct cg_error *e)
{
    *nfields = 0;
    /* skip blank lines */
    while (c->pos < c->len && (c->text[c->pos] == '\n' || c->text[c->pos] == '\r')) {
        if (c->text[c->pos] == '\n')
            c->line++;
        c->pos++;
    }
    *next_line = c->line;
    if (c->pos >= c->len)
        return CG_OK;
    int line = c->line;
    for (;;) {
        if (*nfields == CSV_MAX_COLS)
            return csv_bad(e, c, "more than %d columns", CSV_MAX_COLS);
        char *start = c->text + c->pos, *w = start;
        if (c->pos < c->len && c->text[c->pos] == '"') {
            c->pos++;
            for (;;) {
                if (c->pos >= c->len)
                    return csv_bad(e, c, "unterminated quoted field");
                char ch = c->text[c->pos++];
                if (ch == '"') {
                    if (c->pos < c->len && c->text[c->pos] == '"') {
                        *w++ = '"';
                        c->pos++;
                        continue;
                    }
                    break;
                }
                if (ch == '\n')
                    line++;
                *w++ = ch;
            }
            if (c->pos < c->len && c->text[c->pos] != ',' && c->text[c->pos] != '\n' &&
                c->text[c->pos] != '\r')
                return csv_bad(e, c, "unexpected text after a quoted field (column %d)",
                               *nfields + 1);
        } else {
            while (c->pos < c->len && c->text[c->pos] != ',' && c->text[c->pos] != '\n')
                *w++ = c->text[c->pos++];
            if (w > start && w[-1] == '\r' && (c->pos >= c->len || c->text[c->pos] == '\n'))
                w--;
        }
        char sep = c->pos < c->len ? c->text[c->pos] : '\n';
        if (sep == '\r') { /* after a quoted field */
            c->pos++;
            sep = c->pos < c->len ? c->text[c->pos] : '\n';
        }
        c->pos++;
        *w = '\0';
        fields[(*nfields)++] = start;
        if (sep == '\n')
            break;
    }
    *next_line = line + 1;
    return CG_OK;
}

static void trim(char **s)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
    size_t n = strlen(*s);
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        (*s)[--n] = '\0';
}

/* An integer in [0, max] (max < 0: no bound); 0 on success. */
static int parse_int(const char *s, long max, int32_t *v)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*end || errno || x < 0 || x > INT32_MAX || (max >= 0 && x > max))
        return -1;
    *v = (int32_t)x;
    return 0;
}

enum cg_status cg_manifest_read(const char *csv, int nclasses, struct cg_folder_list *out,
                                struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    struct csv c = {.path = csv, .line = 1};
    char *dir = NULL;
    size_t cap = 0;
    CG_TRY(cg_read_file(csv, CSV_MAX_FILE, &c.text, &c.len, e));
    enum cg_status st = CG_OK;
    const char *slash = strrchr(csv, '/');
    dir = slash ? cg_strndup(csv, (size_t)(slash - csv) + (slash == csv)) : cg_strdup("");
    if (!dir) {
        st = cg_error_nomem(e);
        goto error;
    }
    if (c.len >= 3 && memcmp(c.text, "\xEF\xBB\xBF", 3) == 0)
        c.pos = 3; /* UTF-8 byte order mark */
    char *f[CSV_MAX_COLS];
    int nf, next, ncols;
    if ((st = csv_record(&c, f, &ncols, &next, e)) != CG_OK)
        goto error;
    if (ncols == 0) {
        st = csv_bad(e, &c, "empty manifest (expected a header with the columns path and y)");
        goto error;
    }
    int col_path = -1, col_y = -1, col_group = -1, col_split = -1;
    for (int i = 0; i < ncols; i++) {
        trim(&f[i]);
        int *slot = strcmp(f[i], "path") == 0    ? &col_path
                    : strcmp(f[i], "y") == 0     ? &col_y
                    : strcmp(f[i], "group") == 0 ? &col_group
                    : strcmp(f[i], "split") == 0 ? &col_split
                                                 : NULL;
        if (slot && *slot >= 0) {
            st = csv_bad(e, &c, "column '%s' appears twice in the header", f[i]);
            goto error;
        }
        if (slot)
            *slot = i;
    }
    if (col_path < 0 || col_y < 0) {
        st = csv_bad(e, &c, "the header has no '%s' column (expected path, y and optionally "
                     "group, split)", col_path < 0 ? "path" : "y");
        goto error;
    }
    c.line = next;
    int maxy = -1;
    for (;;) {
        if ((st = csv_record(&c, f, &nf, &next, e)) != CG_OK)
            goto error;
        if (nf == 0)
            break;
        if (nf != ncols) {
            st = csv_bad(e, &c, "%d columns, the header has %d", nf, ncols);
            goto error;
        }
        for (int i = 0; i < nf; i++)
            trim(&f[i]);
        struct cg_folder_entry en = {.group = -1};
        if (parse_int(f[col_y], nclasses > 0 ? nclasses - 1 : -1, &en.y)) {
            if (nclasses > 0)
                st = csv_bad(e, &c, "bad label y '%s' (expected an integer in [0, %d))",
                             f[col_y], nclasses);
            else
                st = csv_bad(e, &c, "bad label y '%s' (expected an integer >= 0)", f[col_y]);
            goto error;
        }
        if (col_group >= 0 && parse_int(f[col_group], -1, &en.group)) {
            st = csv_bad(e, &c, "bad group '%s' (expected an integer >= 0)", f[col_group]);
            goto error;
        }
        if (col_split >= 0) {
            if (strlen(f[col_split]) >= sizeof en.split || !f[col_split][0]) {
                st = csv_bad(e, &c, "bad split '%s' (1 to %zu characters)", f[col_split],
                             sizeof en.split - 1);
                goto error;
            }
            strcpy(en.split, f[col_split]);
        }
        if (!f[col_path][0]) {
            st = csv_bad(e, &c, "empty path");
            goto error;
        }
        en.path = join(dir, f[col_path]);
        if (!en.path) {
            st = cg_error_nomem(e);
            goto error;
        }
        struct stat sb;
        if (stat(en.path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            st = csv_bad(e, &c, "image '%s' not found (%s: %s)", f[col_path], en.path,
                         stat(en.path, &sb) != 0 ? strerror(errno) : "not a regular file");
            cg_free(en.path);
            goto error;
        }
        if (CG_PUSH(out->entries, out->count, cap, en)) {
            cg_free(en.path);
            st = cg_error_nomem(e);
            goto error;
        }
        if (en.y > maxy)
            maxy = en.y;
        c.line = next;
    }
    if (out->count == 0) {
        st = csv_bad(e, &c, "the manifest has a header but no rows");
        goto error;
    }
    out->nclasses = maxy + 1;
    cg_free(c.text);
    cg_free(dir);
    return CG_OK;

error:
    cg_free(c.text);
    cg_free(dir);
    cg_folder_list_free(out);
    return st;
}

enum cg_status cg_folder_select(const struct cg_folder_list *in, const char *split,
                                struct cg_folder_list *out, struct cg_error *e)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    for (size_t i = 0; i < in->count; i++) {
        if (strcmp(in->entries[i].split, split) != 0)
            continue;
        struct cg_folder_entry en = in->entries[i];
        en.path = cg_strdup(en.path);
        if (!en.path || CG_PUSH(out->entries, out->count, cap, en)) {
            cg_free(en.path);
            cg_folder_list_free(out);
            return cg_error_nomem(e);
        }
    }
    out->nclasses = in->nclasses;
    if (in->classes) {
        out->classes = cg_calloc((size_t)in->nclasses, sizeof(char *));
        if (!out->classes) {
            cg_folder_list_free(out);
            return cg_error_nomem(e);
        }
        for (int k = 0; k < in->nclasses; k++)
            if (!(out->classes[k] = cg_strdup(in->classes[k]))) {
                cg_folder_list_free(out);
                return cg_error_nomem(e);
            }
    }
    return CG_OK;
}

enum cg_status cg_folder_load(const struct cg_folder_list *l, int channels, int h, int w,
                              float **x, struct cg_error *e)
{
    *x = NULL;
    if ((channels != 1 && channels != 3) || h < 1 || w < 1)
        return cg_error_set(e, CG_ERR_INPUT,
                            "cannot load images as %d channels of %dx%d (channels 1 or 3)",
                            channels, h, w);
    size_t plane = (size_t)h * (size_t)w, per = plane * (size_t)channels;
    if (l->count && per > SIZE_MAX / sizeof(float) / l->count)
        return cg_error_set(e, CG_ERR_INPUT, "cannot load %zu images of %dx%dx%d: too large",
                            l->count, channels, h, w);
    float *out = cg_malloc(sizeof(float) * (l->count ? l->count * per : 1));
    if (!out)
        return cg_error_nomem(e);
    for (size_t i = 0; i < l->count; i++) {
        struct cg_image im, fit;
        enum cg_status st = cg_jpeg_read(l->entries[i].path, &im, e);
        if (st == CG_OK) {
            st = cg_image_fit(&im, w, h, &fit, e);
            cg_image_free(&im);
        }
        if (st != CG_OK) {
            cg_free(out);
            return st;
        }
        float *dst = out + i * per;
        for (size_t p = 0; p < plane; p++) {
            const uint8_t *px = fit.pixels + p * (size_t)fit.channels;
            if (channels == fit.channels) {
                for (int k = 0; k < channels; k++)
                    dst[(size_t)k * plane + p] = px[k] / 255.0f;
            } else if (channels == 3) { /* grey -> RGB */
                for (int k = 0; k < 3; k++)
                    dst[(size_t)k * plane + p] = px[0] / 255.0f;
            } else { /* RGB -> grey (ITU-R 601 luma) */
                float v = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
                dst[p] = v / 255.0f;
            }
        }
        cg_image_free(&fit);
    }
    *x = out;
    return CG_OK;
}
