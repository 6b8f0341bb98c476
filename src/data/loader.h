/* loader.h: a background thread that prepares the next batches on the host while the device
 * computes, and their non-blocking upload into the caller's device buffers.
 *
 * Design. A worker thread runs the sampler (sampler.h) into a ring of `depth` host slots (one
 * buffer per graph input, plain memory or pinned memory mapped from a CL_MEM_ALLOC_HOST_PTR
 * buffer), so batch k+1, k+2 ... are sampled and copied while step k runs. cg_loader_next, on
 * the caller's (trainer's) thread, takes the oldest ready slot and, when the loader has a
 * queue, enqueues one non-blocking clEnqueueWriteBuffer per input into the caller's
 * (cl_mem, offset) places. The upload is enqueued on the caller's thread on purpose: on the
 * executor's in-order queue it then lands after the kernels of step k that read the same input
 * places (a write enqueued from the worker could overtake them), and before those of step k+1.
 * The slot goes back to the worker at the next cg_loader_next; the worker waits for the slot's
 * upload events before it overwrites the host memory. Host preparation, the expensive part
 * (row gathers of shuffled examples), thus overlaps device compute; the copy itself is queued
 * work of the device.
 *
 * Augmentation: every input is handed, after its upload, to an optional callback that may
 * enqueue augmentation kernels on the device buffer (inputs holding K views of the multiview
 * sampler are [K*N, ...] view-major); without one the K views are identical copies.
 * loader_augment.h provides the callback over compiled augmentation pipelines.
 *
 * Errors of the worker are kept and returned by the next cg_loader_next (never printed); the
 * worker stops producing after one. cg_loader_destroy stops the worker wherever it is (mid
 * epoch included), joins it and releases every event and buffer. */
#ifndef CG_LOADER_H
#define CG_LOADER_H

#include <CL/cl.h>

#include "data/sampler.h"

/* Where input i goes on the device: byte offset into buf. */
struct cg_loader_target {
    cl_mem buf;
    size_t offset;
};

/* Enqueues the augmentation of input `input` (rows images, K*N view-major for K views, at
 * (buf, offset) on queue q, after event `after`) for the batch at (epoch, step), setting *done
 * to the event of its last command (or leaving it NULL when it enqueued nothing). Called for
 * every input after its upload; it enqueues nothing for inputs it leaves alone. Returns a
 * status and fills e on failure. */
typedef enum cg_status (*cg_loader_augment_fn)(void *ctx, int input, cl_command_queue q,
                                               cl_mem buf, size_t offset, size_t rows,
                                               int views, uint64_t epoch, uint64_t step,
                                               cl_event after, cl_event *done,
                                               struct cg_error *e);

struct cg_loader_config {
    int depth;              /* host slots in the ring (0: 3); batches prepared ahead = depth-1 */
    cl_context context;     /* for pinned slots (with pinned = 1) */
    cl_command_queue queue; /* NULL: host only (no upload) */
    const struct cg_loader_target *targets; /* one per sampler input, when queue is set */
    int pinned;             /* 1: slots are mapped CL_MEM_ALLOC_HOST_PTR buffers (needs queue) */
    cg_loader_augment_fn augment; /* NULL: views stay identical copies */
    void *augment_ctx;
};

/* One delivered batch. host[i] is input i's host buffer (cg_sampler_input_bytes bytes), index
 * the rows anchors' example indices; both stay valid until the next cg_loader_next or
 * cg_loader_destroy. uploaded is the event of the last command enqueued for this batch (NULL in
 * host-only mode), owned by the loader: wait on it or rely on queue order. */
struct cg_loader_batch {
    struct cg_batch_info info;
    void *const *host;
    const size_t *index;
    cl_event uploaded;
};

struct cg_loader;

/* Starts a loader over sampler sm, which it borrows (sm must outlive the loader; do not use it
 * while the loader runs) from sm's current position. Errors: CG_ERR_INPUT for a bad config
 * (missing targets, pinned without a queue), CG_ERR_DEVICE for OpenCL failures and thread
 * creation, CG_ERR_NOMEM. *out is owned by the caller (cg_loader_destroy). */
enum cg_status cg_loader_create(struct cg_sampler *sm, const struct cg_loader_config *cfg,
                                struct cg_loader **out, struct cg_error *e);

/* Waits for the next prepared batch, uploads it (queue mode) and describes it in *b. Returns
 * the worker's error, if it had one, instead of a batch; the loader then stays failed. */
enum cg_status cg_loader_next(struct cg_loader *L, struct cg_loader_batch *b,
                              struct cg_error *e);

/* The sampler position of the next batch cg_loader_next will deliver (not the worker's, which
 * runs ahead): what a checkpoint stores so that a resumed run continues identically
 * (cg_sampler_set_state on a fresh sampler, then a new loader). */
void cg_loader_state(const struct cg_loader *L, struct cg_sampler_state *st);

/* Stops and joins the worker, waits for pending uploads, frees everything. NULL is a no-op. */
void cg_loader_destroy(struct cg_loader *L);

#endif
