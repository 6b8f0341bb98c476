/* builders.h: the data set builders of datasets.def (implemented in builders.c, registered
 * through cg_dataset_builders of dataset.h) and the export of a data set as a JPEG folder with a
 * metadata CSV (the form waterbirds_like is published in). */
#ifndef CG_BUILDERS_H
#define CG_BUILDERS_H

#include "data/dataset.h"

/* The build functions: fill d->train and d->test from the validated params and d->seed. */
#define CG_DATASET(name, params, fields, description, fn)                                         \
    enum cg_status fn(struct cg_dataset *d, const struct cg_data_param *p, int n,                \
                      struct cg_error *e);
#include "data/datasets.def"
#undef CG_DATASET

/* Writes the x field of both splits (f32 [1 or 3, H, W] in [0, 1], clamped, *255 rounded) as
 * DIR/images/{train,test}/NNNNNN.jpg (quality 95) and DIR/metadata.csv with the header
 * "path,y,group,split" (paths relative to DIR; group empty when the split has no group field).
 * DIR must exist. CG_ERR_INPUT when a split lacks x or y or a file cannot be written. */
enum cg_status cg_dataset_write_jpegs(const struct cg_dataset *d, const char *dir,
                                      struct cg_error *e);

#endif
