/* binding.h: how a graph meets a data set, shared by `clgraph train` (trainer.h) and
 * `clgraph eval` (src/eval/session.h): opening the data set a run names (built from
 * NAME[:k=v,...] or loaded from a directory), and describing the graph's inputs as the sampler
 * sees them, with the sampler kind that they call for (docs/TRAINING.md, "Data and inputs"). */
#ifndef CG_BINDING_H
#define CG_BINDING_H

#include <stdint.h>

#include "clgraph/clgraph.h"
#include "data/dataset.h"
#include "data/sampler.h"

#define CG_BIND_MAX_INPUTS 32

/* The absolute, symlink-free form of path when it exists, else path as given (at most n bytes,
 * NUL included, to out): what a run records of the files it was given. */
void cg_path_absolute(const char *path, char *out, size_t n);

/* The form of a --data value that a run records: a directory (as cg_data_open decides) becomes
 * its absolute path, so that resume, eval and viz find it from any working directory; a built
 * data set's NAME[:k=v,...] stays as given. Writes at most n bytes (NUL included) to out. */
void cg_data_spec_canonical(const char *spec, char *out, size_t n);

/* Opens the data set of spec: a directory written by `clgraph data build` (a spec with a '/'
 * or naming an existing directory), else "NAME[:key=value,...]" built as `clgraph data build
 * NAME key=value ...` would (the key seed=S sets the data set's seed, default 0). Errors
 * (CG_ERR_INPUT) name "--data SPEC" and what is wrong; an unknown name lists the data sets.
 * *out is owned by the caller (cg_dataset_free). */
enum cg_status cg_data_open(const char *spec, struct cg_dataset **out, struct cg_error *e);

/* Describes g's inputs (at most max) into inputs[0..*n) with their names copied into names:
 * per-example shapes (the first dimension is the batch) and dtypes; *kind is the sampler the
 * inputs call for: x, xp, xn, y -> triplet; x, x_pos -> pairs; x1, x2 (.. xK) -> multiview
 * with cg_inputs_views() views of field x; else plain. The batch dimension must be symbolic or
 * equal batch; every other dimension must be concrete. Errors (CG_ERR_INPUT) name graph_path
 * and the input; for views also: not consecutive from x1 (x1, x2, x4), or an input x beside
 * them (the multiview sampler would give it all K views at once). */
enum cg_status cg_inputs_describe(const struct cg_graph *g, const char *graph_path,
                                  int64_t batch, struct cg_input_desc *inputs, char (*names)[64],
                                  int max, int *n, enum cg_sampler_kind *kind,
                                  struct cg_error *e);

/* K >= 2 when x1, x2, ..., xK are among inputs[0..n) (the views of the multiview sampler:
 * its cg_sampler_config.views), else 0. */
int cg_inputs_views(const struct cg_input_desc *inputs, int n);

/* k >= 1 when name is "x<k>" (no leading zero), else 0. */
int cg_input_view_index(const char *name);

/* "triplet", "pairs", "multiview" or "plain". */
const char *cg_sampler_kind_name(enum cg_sampler_kind k);

#endif
