/*
 * The PDF export of a fiche d'avancement (SPEC §3 "PDF", §5 GET
 * fiches/{id}/pdf): A4 portrait, the header of the chantier with a link
 * and a QR code back to the live fiche on page 1, the posts oldest first
 * with their Delta formatting and photos, the comments nested under their
 * post, cancelled posts in grey, "<code> — page N / M" at the foot of every
 * page.
 *
 * It is rendered from the very text of GET fiches/{id} (the JSON document
 * the module caches per version) with libharu, in a pool thread: this file
 * uses no nginx API besides its types (no log, no pool, no request), only
 * malloc, yajl, libharu, libpng and libqrencode, so that it may run off the
 * event loop, and in the unit test and chantier-pdf-preview without nginx.
 */

#ifndef _NGX_HTTP_CHANTIER_PDF_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_PDF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* where Debian's fonts-dejavu-core puts the fonts: the default font_dir */
#define NGX_HTTP_CHANTIER_PDF_FONT_DIR  "/usr/share/fonts/truetype/dejavu"


/* the bytes of one photo a post embeds ({"image": "photo:<id>"}) */
typedef struct {
    const u_char                   *id;        /* decimal text, "42" */
    size_t                          len;
    const u_char                   *data;      /* the display rendering */
    size_t                          data_len;
    unsigned                        png:1;     /* else JPEG; the magic
                                                  bytes decide in the end */
    ngx_uint_t                      width;     /* in pixels, 0: unknown */
    ngx_uint_t                      height;
} ngx_http_chantier_pdf_photo_t;


typedef struct {
    /* in, all valid until the call returns */
    const u_char                   *fiche_json;  /* GET fiches/{id} */
    size_t                          fiche_len;
    ngx_http_chantier_pdf_photo_t  *photos;      /* those the posts embed; */
    ngx_uint_t                      nphotos;     /* one missing: a frame */
    const char                     *public_url;  /* of the live fiche: the
                                                    link and the QR code */
    const char                     *export_date; /* "2026-12-01", the day of
                                                    the export in Paris */
    const char                     *font_dir;    /* DejaVuSans.ttf,
                                                    DejaVuSans-Bold.ttf and
                                                    the Oblique ones, which
                                                    may be missing */
    const char                     *logo_path;   /* a PNG, or NULL: the
                                                    logo is drawn */

    /* out */
    u_char                         *pdf;         /* malloc'd: see _free() */
    size_t                          pdf_len;
    ngx_uint_t                      pages;
    char                            error[128];  /* for the log, or "" */
} ngx_http_chantier_pdf_t;


/*
 * In a pool thread, with the "out" fields zeroed: renders the PDF into
 * pdf->pdf.  NGX_OK, or NGX_ERROR with error saying why in a few English
 * words (a JSON that is no fiche, a font that cannot be loaded, out of
 * memory).  A photo that is missing or cannot be read is no error: its
 * place shows "Photo indisponible".  Any number of threads may render at
 * once.
 */
ngx_int_t ngx_http_chantier_pdf_render(ngx_http_chantier_pdf_t *pdf);

/*
 * The day of "now" in Paris: "2026-12-01" and its NUL in date (11 bytes),
 * and its number, days since 1970-01-01.
 */
int64_t ngx_http_chantier_pdf_today(time_t now, u_char *date);

/*
 * Anywhere (on the event loop from a pool cleanup, typically): frees
 * pdf->pdf.  Safe on a zeroed struct and when called twice.
 */
void ngx_http_chantier_pdf_free(ngx_http_chantier_pdf_t *pdf);


#endif /* _NGX_HTTP_CHANTIER_PDF_H_INCLUDED_ */
