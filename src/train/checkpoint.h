/* checkpoint.h: a model's training state in one safetensors file (safetensors.h).
 *
 * A checkpoint holds every parameter of the compiled model under its full name: the trainable
 * ones ("clf.dense0.w") and the optimizer state of the optimizer pass ("clf.dense0.w:exp_avg",
 * ":exp_avg_sq", ":momentum_buffer"), F32 or I32 with their shapes, plus string metadata given
 * by the caller (step, epoch, seed, sampler position, graph hash, settings: see trainer.h) and
 * "data_fnv1a64", the FNV-1a 64 hash of the data section, so that a flipped or lost byte is
 * detected on load.
 *
 * Writing never loses the previous checkpoint: the bytes go to PATH.tmp.XXXXXX, are fsynced,
 * renamed to PATH and the directory fsynced (cg_file_write_atomic_parts). Test hook: with the
 * environment variable CLGRAPH_TEST_CRASH_IN_CHECKPOINT=after_tmp_write (the whole temporary
 * file written and fsynced, not renamed) or =mid_write (half of it written), the process
 * _exits with status 137 at that point, as a kill -9 would leave it. */
#ifndef CG_CHECKPOINT_H
#define CG_CHECKPOINT_H

#include "clgraph/clgraph.h"
#include "train/safetensors.h"

/* Writes m's parameters and optimizer state and the nmeta metadata pairs to path atomically.
 * Reads the parameters from the device (blocking). */
enum cg_status cg_ckpt_save(struct cg_model *m, const char *path, const struct cg_st_meta *meta,
                            int nmeta, struct cg_error *e);

/* Reads path (validated: format, data hash) into *f, checks that it holds exactly m's
 * parameters (every name present, same dtype and shape, nothing else) and only then writes
 * them into m. Errors (CG_ERR_INPUT) name the path and the first mismatch. On success the
 * caller owns *f (cg_st_free) for its metadata; on failure *f is empty. */
enum cg_status cg_ckpt_load(struct cg_model *m, const char *path, struct cg_st_file *f,
                            struct cg_error *e);

#endif
