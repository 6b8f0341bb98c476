/* report.c: the HTML report builder of report.h: the page skeleton with its stylesheet, the
 * sections with their table of contents, escaping, base64 and PNG images. */
#include "eval/report.h"

#include <stdio.h>
#include <string.h>

#include "data/fileio.h"
#include "eval/png.h"

static const char STYLE[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:#1d2430;background:#f4f5f7;margin:0}\n"
    "main{max-width:1180px;margin:0 auto;padding:18px 28px 60px}\n"
    "h1{font-size:26px;margin:18px 0 4px}\n"
    "h2{font-size:20px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid #e1e4ea}\n"
    "h3{font-size:15px;margin:16px 0 6px;color:#394152}\n"
    "section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:16px 20px;"
    "margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}\n"
    "nav{font-size:14px;color:#5b6474}nav a{margin-right:14px}\n"
    "a{color:#2f5fb3;text-decoration:none}a:hover{text-decoration:underline}\n"
    "p.note{color:#5b6474;font-size:13.5px;margin:4px 0 10px}\n"
    "table.kv{border-collapse:collapse;font-size:14px}\n"
    "table.kv td,table.kv th{padding:3px 14px 3px 0;text-align:left;vertical-align:top}\n"
    "table.kv th{color:#5b6474;font-weight:500;white-space:nowrap}\n"
    "table.num td{text-align:right;font-variant-numeric:tabular-nums}\n"
    "table.num td.s{text-align:left}\n"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f1f3f6;"
    "padding:1px 4px;border-radius:3px}\n"
    "img{image-rendering:pixelated;image-rendering:crisp-edges;display:block}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:14px}\n"
    ".grid{border-collapse:separate;border-spacing:6px 4px;font-size:12.5px}\n"
    ".grid th{font-weight:500;color:#5b6474;text-align:right;padding-right:6px}\n"
    ".grid td{text-align:center;color:#394152}\n"
    ".pair{display:inline-block;margin:0 14px 14px 0;text-align:center;font-size:12.5px;"
    "color:#394152;vertical-align:top}\n"
    ".pair .imgs{display:flex}.pair .imgs img{margin-right:6px}\n"
    "svg{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}\n"
    "footer{color:#8a92a0;font-size:12.5px;margin-top:24px}\n";

void cg_html_escape(struct cg_buf *b, const char *s)
{
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "&<>\"'");
        cg_buf_append(b, p, n);
        p += n;
        if (!*p)
            break;
        const char *ent = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                          : *p == '"' ? "&quot;" : "&#39;";
        cg_buf_append(b, ent, strlen(ent));
        p++;
    }
}

void cg_base64_append(struct cg_buf *b, const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *s = data;
    char chunk[4 * 256];
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        chunk[k++] = tab[(v >> 18) & 63];
        chunk[k++] = tab[(v >> 12) & 63];
        chunk[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        chunk[k++] = i + 2 < n ? tab[v & 63] : '=';
        if (k == sizeof chunk) {
            cg_buf_append(b, chunk, k);
            k = 0;
        }
    }
    cg_buf_append(b, chunk, k);
}

void cg_report_begin(struct cg_report *r, const char *title)
{
    memset(r, 0, sizeof *r);
    r->title = cg_strdup(title);
    if (!r->title)
        r->oom = 1;
}

static void close_section(struct cg_report *r)
{
    if (r->in_section)
        cg_buf_printf(&r->body, "</section>\n");
    r->in_section = 0;
}

void cg_report_section(struct cg_report *r, const char *id, const char *title)
{
    close_section(r);
    cg_buf_printf(&r->body, "<section id=\"%s\">\n<h2>", id);
    cg_html_escape(&r->body, title);
    cg_buf_printf(&r->body, "</h2>\n");
    cg_buf_printf(&r->toc, "<a href=\"#%s\">", id);
    cg_html_escape(&r->toc, title);
    cg_buf_printf(&r->toc, "</a>");
    r->in_section = 1;
}

void cg_report_html(struct cg_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_buf_vprintf(&r->body, fmt, ap);
    va_end(ap);
}

void cg_report_text(struct cg_report *r, const char *text)
{
    cg_html_escape(&r->body, text);
}

enum cg_status cg_report_image(struct cg_report *r, const struct cg_image *im, int scale,
                               const char *alt, struct cg_error *e)
{
    uint8_t *png;
    size_t len;
    CG_TRY(cg_png_encode(im, &png, &len, e));
    if (scale < 1)
        scale = 1;
    cg_buf_printf(&r->body, "<img width=\"%d\" height=\"%d\" alt=\"", im->w * scale,
                  im->h * scale);
    cg_html_escape(&r->body, alt);
    cg_buf_printf(&r->body, "\" src=\"data:image/png;base64,");
    cg_base64_append(&r->body, png, len);
    cg_buf_printf(&r->body, "\">");
    cg_free(png);
    return CG_OK;
}

enum cg_status cg_report_write(struct cg_report *r, const char *path, struct cg_error *e)
{
    close_section(r);
    struct cg_buf page = {0};
    cg_buf_printf(&page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
                  "<title>");
    cg_html_escape(&page, r->title ? r->title : "");
    cg_buf_printf(&page, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>", STYLE);
    cg_html_escape(&page, r->title ? r->title : "");
    cg_buf_printf(&page, "</h1>\n<nav>%s</nav>\n", cg_buf_str(&r->toc));
    cg_buf_append(&page, cg_buf_str(&r->body), r->body.len);
    cg_buf_printf(&page, "<footer>Written by clgraph viz. Self-contained: inline CSS, PNG "
                  "images as data: URIs, SVG charts; no script, no external reference."
                  "</footer>\n</main>\n</body>\n</html>\n");
    enum cg_status st;
    if (r->oom || r->body.oom || r->toc.oom || page.oom)
        st = cg_error_nomem(e);
    else
        st = cg_file_write_atomic(path, page.data, page.len, e);
    cg_buf_free(&page);
    return st;
}

void cg_report_free(struct cg_report *r)
{
    cg_buf_free(&r->body);
    cg_buf_free(&r->toc);
    cg_free(r->title);
    memset(r, 0, sizeof *r);
}
