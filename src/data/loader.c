/* loader.c: the prefetching worker thread, its ring of host slots and the uploads (contracts
 * and the reasons of the design in loader.h).
 *
 * Slots go FREE -> (worker fills) READY -> (cg_loader_next) HELD -> (next cg_loader_next)
 * FREE, in ring order; one mutex and one condition variable guard the states, the worker's
 * error and the stop flag. A FREE slot may still carry upload events of its last batch: the
 * worker waits for them before writing into its host memory. */
#include "data/loader.h"

#include <pthread.h>
#include <string.h>

#include "runtime/runtime.h"

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_HELD };

struct slot {
    void **host;  /* per input */
    cl_mem *pin;  /* per input, pinned mode */
    size_t *index;
    struct cg_batch_info info;
    struct cg_sampler_state after; /* sampler position after this batch */
    cl_event *ev; /* pending commands reading host or writing the targets: 2 per input */
    int nev;
    enum slot_state state;
};

struct cg_loader {
    struct cg_sampler *sm;
    struct cg_loader_config cfg;
    struct cg_loader_target *targets;
    int n, depth;
    struct slot *slots;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, failed;
    struct cg_error err;
    size_t head, tail; /* next slot to deliver / to fill (ring positions, mod depth) */
    int held;          /* slot held by the caller, or -1 */
    struct cg_sampler_state state;
};

static enum cg_status wait_events(struct slot *s, struct cg_error *e)
{
    enum cg_status st = CG_OK;
    if (s->nev) {
        cl_int err = clWaitForEvents((cl_uint)s->nev, s->ev);
        if (err != CL_SUCCESS)
            st = cg_cl_fail(e, err, "clWaitForEvents");
        for (int i = 0; i < s->nev; i++)
            clReleaseEvent(s->ev[i]);
        s->nev = 0;
    }
    return st;
}

static void *worker(void *arg)
{
    struct cg_loader *L = arg;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        struct slot *s = &L->slots[L->tail % (size_t)L->depth];
        while (!L->stop && s->state != SLOT_FREE)
            pthread_cond_wait(&L->cv, &L->mu);
        if (L->stop)
            break;
        pthread_mutex_unlock(&L->mu);
        struct cg_error e;
        enum cg_status st = wait_events(s, &e);
        if (st == CG_OK) {
            cg_sampler_next(L->sm, s->host, s->index, &s->info);
            cg_sampler_get_state(L->sm, &s->after);
        }
        pthread_mutex_lock(&L->mu);
        if (st != CG_OK) {
            L->failed = 1;
            L->err = e;
            pthread_cond_broadcast(&L->cv);
            break;
        }
        s->state = SLOT_READY;
        L->tail++;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

static enum cg_status alloc_slot(struct cg_loader *L, struct slot *s, struct cg_error *e)
{
    s->host = cg_calloc((size_t)L->n + 1, sizeof *s->host);
    s->pin = cg_calloc((size_t)L->n + 1, sizeof *s->pin);
    s->ev = cg_calloc(2 * (size_t)L->n + 1, sizeof *s->ev);
    s->index = cg_calloc(cg_sampler_batch(L->sm), sizeof *s->index);
    if (!s->host || !s->pin || !s->ev || !s->index)
        return cg_error_nomem(e);
    for (int i = 0; i < L->n; i++) {
        size_t bytes = cg_sampler_input_bytes(L->sm, i);
        if (!L->cfg.pinned) {
            if (!(s->host[i] = cg_calloc(bytes ? bytes : 1, 1)))
                return cg_error_nomem(e);
            continue;
        }
        cl_int err;
        s->pin[i] = clCreateBuffer(L->cfg.context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                                   bytes ? bytes : 4, NULL, &err);
        if (err != CL_SUCCESS) {
            s->pin[i] = NULL;
            return cg_cl_fail(e, err, "clCreateBuffer");
        }
        s->host[i] = clEnqueueMapBuffer(L->cfg.queue, s->pin[i], CL_TRUE, CL_MAP_WRITE, 0,
                                        bytes ? bytes : 4, 0, NULL, NULL, &err);
        if (err != CL_SUCCESS) {
            s->host[i] = NULL;
            return cg_cl_fail(e, err, "clEnqueueMapBuffer");
        }
    }
    return CG_OK;
}

static void free_slot(struct cg_loader *L, struct slot *s)
{
    struct cg_error e;
    wait_events(s, &e);
    for (int i = 0; s->host && i < L->n; i++) {
        if (s->pin && s->pin[i]) {
            if (s->host[i])
                clEnqueueUnmapMemObject(L->cfg.queue, s->pin[i], s->host[i], 0, NULL, NULL);
            clReleaseMemObject(s->pin[i]);
        } else {
            cg_free(s->host[i]);
        }
    }
    if (L->cfg.pinned && L->cfg.queue)
        clFinish(L->cfg.queue);
    cg_free(s->host);
    cg_free(s->pin);
    cg_free(s->ev);
    cg_free(s->index);
}

enum cg_status cg_loader_create(struct cg_sampler *sm, const struct cg_loader_config *cfg,
                                struct cg_loader **out, struct cg_error *e)
{
    *out = NULL;
    int n = cg_sampler_ninputs(sm);
    if (cfg->queue && n && !cfg->targets)
        return cg_error_set(e, CG_ERR_INPUT, "error: loader: a queue needs one device target "
                            "per input (%d)", n);
    if (cfg->pinned && (!cfg->queue || !cfg->context))
        return cg_error_set(e, CG_ERR_INPUT, "error: loader: pinned host slots need a context "
                            "and a queue");
    if (cfg->depth < 0)
        return cg_error_set(e, CG_ERR_INPUT, "error: loader: depth must be >= 0 (0: 3), not %d",
                            cfg->depth);
    struct cg_loader *L = cg_calloc(1, sizeof *L);
    if (!L)
        return cg_error_nomem(e);
    L->sm = sm;
    L->cfg = *cfg;
    L->n = n;
    L->depth = cfg->depth ? cfg->depth : 3;
    L->held = -1;
    cg_sampler_get_state(sm, &L->state);
    enum cg_status st = CG_OK;
    L->slots = cg_calloc((size_t)L->depth, sizeof *L->slots);
    if (!L->slots) {
        cg_free(L);
        return cg_error_nomem(e);
    }
    if (cfg->queue && n) {
        L->targets = cg_malloc((size_t)n * sizeof *L->targets);
        if (!L->targets) {
            st = cg_error_nomem(e);
            goto error;
        }
        memcpy(L->targets, cfg->targets, (size_t)n * sizeof *L->targets);
    }
    for (int i = 0; i < L->depth && st == CG_OK; i++)
        st = alloc_slot(L, &L->slots[i], e);
    if (st != CG_OK)
        goto error;
    if (pthread_mutex_init(&L->mu, NULL)) {
        st = cg_error_set(e, CG_ERR_DEVICE, "error: loader: pthread_mutex_init failed");
        goto error;
    }
    if (pthread_cond_init(&L->cv, NULL)) {
        pthread_mutex_destroy(&L->mu);
        st = cg_error_set(e, CG_ERR_DEVICE, "error: loader: pthread_cond_init failed");
        goto error;
    }
    if (pthread_create(&L->thread, NULL, worker, L)) {
        pthread_cond_destroy(&L->cv);
        pthread_mutex_destroy(&L->mu);
        st = cg_error_set(e, CG_ERR_DEVICE, "error: loader: cannot start the loader thread");
        goto error;
    }
    L->started = 1;
    *out = L;
    return CG_OK;
error:
    for (int i = 0; i < L->depth; i++)
        free_slot(L, &L->slots[i]);
    cg_free(L->slots);
    cg_free(L->targets);
    cg_free(L);
    return st;
}

/* Enqueues the uploads (and augmentations) of slot s; events go into s->ev. */
static enum cg_status upload(struct cg_loader *L, struct slot *s, cl_event *last,
                             struct cg_error *e)
{
    cl_command_queue q = L->cfg.queue;
    *last = NULL;
    for (int i = 0; i < L->n; i++) {
        size_t bytes = cg_sampler_input_bytes(L->sm, i);
        if (!bytes)
            continue;
        const struct cg_loader_target *t = &L->targets[i];
        cl_event ev;
        cl_int err = clEnqueueWriteBuffer(q, t->buf, CL_FALSE, t->offset, bytes, s->host[i], 0,
                                          NULL, &ev);
        if (err != CL_SUCCESS)
            return cg_cl_fail(e, err, "clEnqueueWriteBuffer");
        s->ev[s->nev++] = *last = ev;
        if (L->cfg.augment) {
            cl_event done = NULL;
            CG_TRY(L->cfg.augment(L->cfg.augment_ctx, i, q, t->buf, t->offset,
                                  cg_sampler_input_rows(L->sm, i),
                                  cg_sampler_input_views(L->sm, i), s->info.epoch,
                                  s->info.step, ev, &done, e));
            if (done)
                s->ev[s->nev++] = *last = done;
        }
    }
    cl_int err = clFlush(q);
    return err == CL_SUCCESS ? CG_OK : cg_cl_fail(e, err, "clFlush");
}

enum cg_status cg_loader_next(struct cg_loader *L, struct cg_loader_batch *b,
                              struct cg_error *e)
{
    pthread_mutex_lock(&L->mu);
    if (L->held >= 0) {
        L->slots[L->held].state = SLOT_FREE;
        L->held = -1;
        pthread_cond_broadcast(&L->cv);
    }
    size_t k = L->head % (size_t)L->depth;
    struct slot *s = &L->slots[k];
    while (!L->failed && s->state != SLOT_READY)
        pthread_cond_wait(&L->cv, &L->mu);
    if (s->state != SLOT_READY) {
        if (e)
            *e = L->err;
        pthread_mutex_unlock(&L->mu);
        return L->err.status;
    }
    s->state = SLOT_HELD;
    L->held = (int)k;
    L->head++;
    L->state = s->after;
    pthread_mutex_unlock(&L->mu);
    b->info = s->info;
    b->host = s->host;
    b->index = s->index;
    b->uploaded = NULL;
    if (L->cfg.queue)
        CG_TRY(upload(L, s, &b->uploaded, e));
    return CG_OK;
}

void cg_loader_state(const struct cg_loader *L, struct cg_sampler_state *st)
{
    *st = L->state;
}

void cg_loader_destroy(struct cg_loader *L)
{
    if (!L)
        return;
    if (L->started) {
        pthread_mutex_lock(&L->mu);
        L->stop = 1;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        pthread_join(L->thread, NULL);
        pthread_cond_destroy(&L->cv);
        pthread_mutex_destroy(&L->mu);
    }
    for (int i = 0; i < L->depth; i++)
        free_slot(L, &L->slots[i]);
    cg_free(L->slots);
    cg_free(L->targets);
    cg_free(L);
}
