/* loader_augment.h: the ready-made augmentation callback of the loader (loader.h): a compiled
 * augmentation pipeline (augment.h) per input, run on the input's device buffer right after its
 * upload, in the loader's event chain.
 *
 *     const char *pipes[2] = {"rrc(size=24),flip,jitter(0.4,0.4,0.4,0.1,p=0.8)", NULL};
 *     struct cg_loader_target graph[2] = {{arena, x_off}, {arena, y_off}};
 *     cg_loader_augmenter_create(dev, sm, inputs, pipes, graph, seed, &A, &e);
 *     struct cg_loader_config cfg = {.queue = cg_device_queue(dev),
 *                                    .targets = cg_loader_augmenter_targets(A),
 *                                    .augment = cg_loader_augment, .augment_ctx = A};
 *     cg_loader_create(sm, &cfg, &L, &e); ... cg_loader_destroy(L); cg_loader_augmenter_destroy(A);
 *
 * Places. Each input i has a graph place (the caller's targets[i]: where the graph reads it).
 * An input without a pipeline, or whose pipeline keeps the image size, is uploaded straight to
 * its graph place and augmented there in place. An input whose pipeline changes the size (a
 * random resized crop to another size) is uploaded into a staging buffer of the field's shape
 * [rows, C, H, W] owned by the augmenter; the pipeline reads the staging buffer and writes
 * [rows, C, H', W'] at the graph place. cg_loader_augmenter_targets gives the loader those
 * upload places.
 *
 * Randomness. Input i's pipeline runs with seed cg_loader_augmenter_seed(A, i) = splitmix r(seed,
 * i) (so x, xp and xn of a triplet draw independently) and step t = epoch * steps_per_epoch +
 * step (the batch's global step), over all rows of the input at once: K views of a multi-view
 * input ([K*N, ...], view-major) are distinct images of the pipeline and draw independent
 * parameters. So every step draws fresh parameters, and a run resumed from a sampler state draws
 * the same ones as an uninterrupted run. The batch on the device equals cg_augment_ref of the
 * host batch (cg_loader_batch.host[i]) with that seed and step. */
#ifndef CG_LOADER_AUGMENT_H
#define CG_LOADER_AUGMENT_H

#include "data/augment.h"
#include "data/loader.h"

struct cg_loader_augmenter;

/* Parses and compiles pipelines[i] (NULL or "": input i not augmented) for input i of sampler
 * sm, whose per-example shapes inputs[i] (as given to cg_sampler_create: the field's, [C, H, W])
 * give the pipeline's input shape, for batches of cg_sampler_input_rows(sm, i) images, and
 * allocates staging buffers for size-changing pipelines. targets[i] is input i's graph place
 * (byte offset, a multiple of 4 for augmented inputs). The augmenter borrows sm (for
 * steps_per_epoch) and the buffers of targets; dev must outlive it. Errors: CG_ERR_INPUT naming
 * the input (a pipeline on an i32 input or on a shape other than [C, H, W], pipeline syntax and
 * shape errors, an unaligned offset), CG_ERR_DEVICE, CG_ERR_NOMEM. *out is owned by the caller
 * (cg_loader_augmenter_destroy, after the loader using it). */
enum cg_status cg_loader_augmenter_create(struct cg_device *dev, const struct cg_sampler *sm,
                                          const struct cg_input_desc *inputs,
                                          const char *const *pipelines,
                                          const struct cg_loader_target *targets, uint64_t seed,
                                          struct cg_loader_augmenter **out, struct cg_error *e);

/* The loader's upload places, one per input (cg_loader_config.targets): the graph place, or the
 * staging buffer of a size-changing pipeline. Valid while A lives. */
const struct cg_loader_target *cg_loader_augmenter_targets(const struct cg_loader_augmenter *A);

/* Input i's per-example shape at its graph place after augmentation: (C, *h, *w) with the
 * pipeline's output size, or the input's own shape when not augmented (or not [C, H, W]). */
void cg_loader_augmenter_out_shape(const struct cg_loader_augmenter *A, int i, int64_t *h,
                                   int64_t *w);

/* The seed of input i's pipeline: cg_splitmix_r(seed, i). */
uint64_t cg_loader_augmenter_seed(const struct cg_loader_augmenter *A, int i);

/* The cg_loader_augment_fn to put in cg_loader_config.augment, with augment_ctx = A: enqueues
 * input `input`'s pipeline after `after` (nothing for an input without one: *done stays NULL).
 * rows other than the compiled batch: CG_ERR_INPUT; OpenCL failures: CG_ERR_DEVICE. */
enum cg_status cg_loader_augment(void *A, int input, cl_command_queue q, cl_mem buf,
                                 size_t offset, size_t rows, int views, uint64_t epoch,
                                 uint64_t step, cl_event after, cl_event *done,
                                 struct cg_error *e);

/* Releases the plans and staging buffers. NULL is a no-op. */
void cg_loader_augmenter_destroy(struct cg_loader_augmenter *A);

#endif
