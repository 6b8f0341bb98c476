/* report.h: a small builder of one self-contained HTML page (the run report of `clgraph viz`).
 *
 * The page has inline CSS, images as data: URIs (PNG, base64), charts as inline SVG (chart.h),
 * and no script and no external reference, so it opens offline from anywhere. It is built in
 * memory, section by section (a table of contents of the sections heads the page), and written
 * atomically (data/fileio.h), so a reader never sees half a report. Text given as text is
 * HTML-escaped; the *_html functions take markup as is. Appends never fail: an allocation
 * failure is remembered and reported by cg_report_write. */
#ifndef CG_REPORT_H
#define CG_REPORT_H

#include <stddef.h>

#include "data/jpeg.h"
#include "util/util.h"

struct cg_report {
    struct cg_buf body;
    struct cg_buf toc;
    char *title;
    int in_section, oom;
};

/* Starts a report titled title (the page's <title> and <h1>). */
void cg_report_begin(struct cg_report *r, const char *title);

/* Opens a new section (closing the previous one) with heading title, anchor id (letters,
 * digits, '-' and '_') and an entry in the table of contents. */
void cg_report_section(struct cg_report *r, const char *id, const char *title);

/* Appends printf-formatted markup as is. */
void cg_report_html(struct cg_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends text, HTML-escaped (& < > " '). */
void cg_report_text(struct cg_report *r, const char *text);

/* Appends an <img> of im as a PNG data: URI, shown at scale times its size with nearest
 * neighbour resampling (CSS image-rendering: pixelated), with alt text alt (escaped). Returns
 * CG_OK, or the encoder's error (CG_ERR_INPUT for a bad image, CG_ERR_NOMEM). */
enum cg_status cg_report_image(struct cg_report *r, const struct cg_image *im, int scale,
                               const char *alt, struct cg_error *e);

/* Closes the page and writes it to path atomically. CG_ERR_NOMEM when an append failed,
 * CG_ERR_INPUT ("PATH: error: ...") when the file cannot be written. */
enum cg_status cg_report_write(struct cg_report *r, const char *path, struct cg_error *e);

void cg_report_free(struct cg_report *r);

/* Appends s to b with & < > " ' escaped as HTML entities. */
void cg_html_escape(struct cg_buf *b, const char *s);

/* Appends the base64 encoding (RFC 4648, with '=' padding, no line breaks) of n bytes. */
void cg_base64_append(struct cg_buf *b, const void *data, size_t n);

#endif
