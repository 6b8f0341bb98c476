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

/* The same in two parts, for a reader that compiles several models from one checkpoint
 * (`clgraph eval`): cg_ckpt_read reads and validates path (format, data hash) into *f (the
 * caller owns it: cg_st_free; on failure it is empty); cg_ckpt_apply checks that f fits m and
 * only then writes the tensors into m. With params_only, f's optimizer-state entries (names
 * with a ':', "w:exp_avg") are ignored, so a model compiled without training (no state) takes
 * a training checkpoint's parameters; every parameter of m must still be in f with its dtype
 * and shape, and f may hold no other parameter. Errors (CG_ERR_INPUT) name path. */
enum cg_status cg_ckpt_read(const char *path, struct cg_st_file *f, struct cg_error *e);
enum cg_status cg_ckpt_apply(struct cg_model *m, const char *path, const struct cg_st_file *f,
                             int params_only, struct cg_error *e);

/* The highest step N of RUNDIR/checkpoints/step-N.safetensors (temporary files ignored), or -1
 * when there is none; fills path (n bytes) with its path. */
int64_t cg_ckpt_newest(const char *rundir, char *path, size_t n);

#endif
