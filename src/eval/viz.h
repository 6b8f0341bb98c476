/* viz.h: the run report of `clgraph viz RUNDIR` (docs/VIZ.md): one self-contained HTML page
 * (report.h) with the pictures a trained run can give, chosen from what its graph has.
 *
 * Sections, each present when the run has what it needs:
 *   summary      the run (graph, data, steps, batch, optimizer, device), the last train and
 *                test records of metrics.jsonl, and every number of RUNDIR/eval.json;
 *   curves       one SVG chart per quantity of metrics.jsonl (loss, each metric, examples/s)
 *                against the step: train records as a line, test evaluations as markers;
 *   images       for the image input (x) and every image output [N, C, H, W]: a grid of the
 *                first K test examples (one row per tensor, one column per example, labelled
 *                with the label field y), upscaled by nearest neighbour;
 *   crops        P(T|X) heatmaps: an output [N, G*G] (G >= 2) that is a softmax or whose name
 *                contains "crop", shown as a G x G map next to the input image and overlaid on
 *                it as crop coverage (crops of H - s(G-1) pixels at stride s = 4);
 *   embeddings   every other f32 output [N, D], D >= 2: a scatter of up to 2,000 test examples
 *                (the full batches), PCA to 2-D when D > 2, coloured by y with a legend;
 *   filters      the weights [K, C, h, w] of the first conv2d layer and of the next ones whose
 *                filters are images (C 1 or 3), up to 4 layers, as tiles; when the graph has
 *                a parameter [K, 2] (an embedding of the K filters, as the MI manifold layer's
 *                E), the filters also laid out at their embedding coordinates.
 * Outputs that fit none of these are listed with the reason. The forward passes use the newest
 * checkpoint through the evaluation session (session.h). */
#ifndef CG_VIZ_H
#define CG_VIZ_H

#include <stddef.h>

#include "util/util.h"

struct cg_viz_options {
    const char *rundir; /* required */
    const char *data;   /* NULL: the run's data spec; else NAME[:k=v,...] or DIR */
    const char *device; /* NULL: CLGRAPH_DEVICE, else the default */
    const char *out;    /* NULL: RUNDIR/report.html */
    int examples;       /* K, examples per image grid and heatmap list (1..256; 0: 16) */
};

/* What was written. */
struct cg_viz_result {
    char path[4200];
    size_t bytes;
    double seconds; /* wall time of cg_viz_report */
    int nsections;
    char sections[128]; /* their ids, space-separated */
};

/* Builds the report of o->rundir and writes it atomically. Errors: CG_ERR_INPUT naming the
 * file or option (not a run directory, no or a corrupt checkpoint, a data set that does not fit,
 * an unwritable output), CG_ERR_DEVICE, CG_ERR_NOMEM. */
enum cg_status cg_viz_report(const struct cg_viz_options *o, struct cg_viz_result *r,
                             struct cg_error *e);

#endif
