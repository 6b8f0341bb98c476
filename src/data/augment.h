/* augment.h: image augmentations on the device (cl/augment.cl), seeded like the random ops, with
 * a host reference of each.
 *
 * A pipeline is parsed once from a string (grammar below), compiled for a device and a batch
 * shape [N, C, H, W] (C = 1 or 3, values in [0, 1]; every kernel is built here, none while a step
 * runs), then run on device buffers at each step with (seed, step). The output is
 * [N, C, H', W'] (H' x W' = the last random resized crop's size, else H x W).
 *
 *     struct cg_augment *a; struct cg_augment_plan *p; struct cg_error e;
 *     cg_augment_parse("rrc(size=32),flip,jitter(0.4,0.4,0.4,0.1,p=0.8),gray(p=0.2)", &a, &e);
 *     cg_augment_compile(a, dev, 256, 3, 32, 32, &p, &e);
 *     cg_augment_run(p, NULL, in, 0, out, 0, seed, step, 0, NULL, NULL, &e);  (each step)
 *     cg_augment_plan_destroy(p); cg_augment_destroy(a);
 *
 * Grammar (spaces allowed between tokens):
 *     pipeline := stage { "," stage }
 *     stage    := NAME [ "(" [ arg { "," arg } ] ")" ]
 *     arg      := [ KEY "=" ] value                 (positional args fill the keys in order)
 *     value    := NUMBER [ ":" NUMBER ]             (a range lo:hi)
 *               | INTEGER "x" INTEGER               (a size HxW)
 * Stages (keys in positional order; defaults in brackets):
 *     rrc(size, scale, ratio)   random resized crop: size = S (SxS) or HxW [input size],
 *                               scale [0.08:1], ratio [0.75:1.3333333]
 *     flip(p)                   horizontal flip with probability p [0.5]
 *     jitter(b, c, s, h, p)     colour jitter, applied with probability p [1]: brightness,
 *                               contrast and saturation factors U(max(0, 1-v), 1+v) for a single
 *                               value v >= 0, or U(lo, hi) for lo:hi; hue shift U(-v, v) for
 *                               0 <= v <= 0.5, or U(lo, hi) in [-0.5, 0.5]; each [0 = off]
 *     gray(p)                   grayscale with probability p [0.1]
 *     blur(k, sigma, p)         Gaussian blur, odd kernel size k (required), sigma
 *                               U(lo, hi) [0.1:2], probability p [1]
 * Errors name the bad token and its position.
 *
 * Semantics follow torchvision (RandomResizedCrop, RandomHorizontalFlip, ColorJitter with its
 * random order of the four operations per image, RandomGrayscale, GaussianBlur); deviations are
 * listed in docs/AUGMENT.md (bilinear resize without antialias, float32 crop arithmetic,
 * separable blur, the random numbers themselves).
 *
 * Randomness: stage s (0-based position in the pipeline) of image i (0-based index in the batch)
 * at step t draws from Philox4x32-10 blocks with key splitmix(seed, s) and counter
 * (i, t, j, 0x41554721), j = 0, 1, ...: an image's parameters depend only on (seed, s, i, t).
 * For K views of a batch, run K*N images at once (distinct i), or vary the seed. */
#ifndef CG_AUGMENT_H
#define CG_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"

struct cg_augment;      /* a parsed pipeline (host only) */
struct cg_augment_plan; /* a pipeline compiled for one device and one input shape */

/* Parses text into *out (owned by the caller: cg_augment_destroy). Syntax or range errors:
 * CG_ERR_INPUT, "error: augmentation 'TEXT': ..." naming the bad token and its character
 * position; CG_ERR_NOMEM. */
enum cg_status cg_augment_parse(const char *text, struct cg_augment **out, struct cg_error *e);

/* Frees a. NULL is a no-op. */
void cg_augment_destroy(struct cg_augment *a);

/* The number of stages of a. */
size_t cg_augment_stages(const struct cg_augment *a);

/* The output shape (C, *oh, *ow) of a on images [C, H, W]. C other than 1 or 3, a crop or blur
 * that does not fit the image (blur needs k / 2 < both sides), sizes over 2^31: CG_ERR_INPUT. */
enum cg_status cg_augment_out_shape(const struct cg_augment *a, int64_t c, int64_t h, int64_t w,
                                    int64_t *oh, int64_t *ow, struct cg_error *e);

/* Compiles a for dev and batches [n, c, h, w]: builds the kernels, sets their constant
 * arguments, allocates the device temporaries. *out is owned by the caller
 * (cg_augment_plan_destroy, before dev is closed); it keeps no reference to a. Errors: as
 * cg_augment_out_shape, n < 1 or more than 2^32 elements (CG_ERR_INPUT); OpenCL failures
 * (CG_ERR_DEVICE); CG_ERR_NOMEM. */
enum cg_status cg_augment_compile(const struct cg_augment *a, struct cg_device *dev, int64_t n,
                                  int64_t c, int64_t h, int64_t w, struct cg_augment_plan **out,
                                  struct cg_error *e);

/* Releases the plan's kernels and temporaries. NULL is a no-op. */
void cg_augment_plan_destroy(struct cg_augment_plan *p);

/* The output shape of the plan: [n, c, *oh, *ow]. */
void cg_augment_plan_out_shape(const struct cg_augment_plan *p, int64_t *oh, int64_t *ow);

/* Enqueues the pipeline on queue q (NULL: the device's queue; it must be an in-order queue of
 * the plan's device): reads n images from `in` at element offset in_off (floats), writes the
 * output to `out` at element offset out_off. in and out may be the same buffer, even the same
 * place (in-place augmentation). The first command waits for wait[0..nwait); when done is not
 * NULL it receives the event of the last command (the caller releases it). Returns after
 * enqueueing, without waiting. OpenCL failures: CG_ERR_DEVICE naming the call. */
enum cg_status cg_augment_run(struct cg_augment_plan *p, cl_command_queue q, cl_mem in,
                              size_t in_off, cl_mem out, size_t out_off, uint64_t seed,
                              uint64_t step, cl_uint nwait, const cl_event *wait, cl_event *done,
                              struct cg_error *e);

/* The host reference: the same pipeline on n images in[n, c, h, w] into out[n, c, oh, ow]
 * (oh, ow from cg_augment_out_shape; in and out must not overlap), drawing the same parameters
 * as the device with the same float arithmetic. Errors: as cg_augment_out_shape; CG_ERR_NOMEM. */
enum cg_status cg_augment_ref(const struct cg_augment *a, const float *in, float *out, int64_t n,
                              int64_t c, int64_t h, int64_t w, uint64_t seed, uint64_t step,
                              struct cg_error *e);

/* Philox4x32-10 on the host (the generator of cl/common.cl): out = philox(ctr, (k0, k1)). */
void cg_philox4x32_10(const uint32_t ctr[4], uint32_t k0, uint32_t k1, uint32_t out[4]);

#endif
