/* folder.h: image data sets stored as files: a folder of class subdirectories, or a CSV
 * manifest.
 *
 * (a) ROOT/<class>/<image>.jpg (.jpeg, any case): the class directories sorted by name (strcmp)
 *     get labels 0..K-1; files are listed sorted by name within each class; hidden entries
 *     (starting with '.') are skipped.
 * (b) A CSV manifest: a header naming the columns, which must include path and y and may include
 *     group and split (other columns are ignored), then one row per image. Paths are relative to
 *     the CSV's directory (absolute paths are kept). Fields may be double-quoted ("" inside for a
 *     quote); blank lines are skipped; CRLF is accepted. Every row is validated: its column count,
 *     the label (an integer in [0, nclasses) when nclasses > 0, else >= 0), the group (an integer
 *     >= 0), the split (at most 15 characters), and that the file exists; errors give
 *     "CSV:LINE: error: ...".
 * The loader decodes every image of a list (JPEG, see jpeg.h), converts it to the requested
 * channels (grey <-> RGB by ITU-R 601 luma / replication), fits it to H x W (cg_image_fit) and
 * stores it as f32 [N, C, H, W] with values byte / 255. */
#ifndef CG_FOLDER_H
#define CG_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct cg_folder_entry {
    char *path;     /* cg_malloc'd, as it can be opened (joined with the root / CSV dir) */
    int32_t y;      /* label */
    int32_t group;  /* -1 when the manifest has no group column */
    char split[16]; /* "" when the manifest has no split column */
};

struct cg_folder_list {
    size_t count;
    struct cg_folder_entry *entries; /* cg_malloc'd */
    int nclasses;                    /* class folders: K; manifests: 1 + the largest label */
    char **classes;                  /* class folders: the K names; manifests: NULL */
};

/* Lists the images ROOT/<class>/<name>.jpg into *out (zeroed first). CG_ERR_INPUT ("ROOT: error: ...") when root
 * cannot be read, has no class directory, or a class has no image; CG_ERR_NOMEM. */
enum cg_status cg_folder_scan(const char *root, struct cg_folder_list *out, struct cg_error *e);

/* Reads the manifest at csv into *out (zeroed first), validating every row (see above);
 * nclasses > 0 bounds the labels. CG_ERR_INPUT with "CSV:LINE: error: ..." or CG_ERR_NOMEM. */
enum cg_status cg_manifest_read(const char *csv, int nclasses, struct cg_folder_list *out,
                                struct cg_error *e);

/* Copies into *out (zeroed first) the entries of in whose split equals split. */
enum cg_status cg_folder_select(const struct cg_folder_list *in, const char *split,
                                struct cg_folder_list *out, struct cg_error *e);

/* Decodes every image of l into *x (cg_malloc'd f32 [l->count, channels, h, w], values in
 * [0, 1]); channels is 1 or 3. Errors name the image's path. */
enum cg_status cg_folder_load(const struct cg_folder_list *l, int channels, int h, int w,
                              float **x, struct cg_error *e);

void cg_folder_list_free(struct cg_folder_list *l);

#endif
