
/*
 * The PDF of a fiche, rendered with libharu in a pool thread.
 *
 * The document is drawn in one pass, top to bottom:
 *
 *   1. the JSON text of GET fiches/{id} is parsed once (yajl_tree); every
 *      text the PDF shows is read in that tree, never copied;
 *   2. page 1 gets the header of the chantier, the link and the QR code;
 *   3. each post, then its comments, is cut into "units": a line of text,
 *      a row of photos, a rule.  A unit is never cut across pages.  Units
 *      that must stay with the next one (a heading, the head of a post or
 *      of a comment) wait in a short queue until that next unit arrives,
 *      and go to the next page together when they do not fit together;
 *   4. once every page exists, the footers are drawn on each of them
 *      ("<code> — page N / M": M is known only then; libharu lets a page
 *      be drawn on after others were added);
 *   5. libharu writes the file straight into the output buffer.
 *
 * Text: DejaVu Sans in four faces, embedded (libharu keeps only the glyphs
 * used), through libharu's UTF-8 encoder.  Lines are broken at spaces, on
 * widths measured with the fonts' own advance widths (cached per face), a
 * word longer than a line being cut where it overflows; no line can reach
 * past the margin.  Times are shown in Paris time, whatever offset the
 * JSON writes them with (the API writes UTC, "...Z").
 *
 * Photos: JPEG bytes are embedded as they are (libharu copies them, no
 * decoding); a PNG is decoded with libpng's simplified API (its errors
 * come back as a return value: libharu's own PNG loader aborts the process
 * on a corrupt file), composited on white and box-filtered down to 300 dpi
 * at its printed size.  A display rendering (long edge <= 2,048 px) is at
 * least 300 dpi in a column of the grid.
 *
 * Memory, at its peak (during the save):
 *
 *   - libharu's document: one copy of each embedded JPEG (a PNG: its RGB
 *     pixels at print resolution, until the save compresses them), the
 *     page contents (uncompressed until the save: 5 to 10 KB a page) and
 *     the fonts' tables (a few hundred KB; the TrueType files stay open
 *     and are read again for the glyphs at the save);
 *   - the output, growing to the size of the PDF: about the photos plus
 *     50 KB for each font used and 3 to 5 KB a page of compressed text.
 *
 * So about twice the photos' bytes, plus the caller's own copy of them:
 * the big fiche of the unit test (200 posts, 1,000 comments, 50 photos of
 * 2,048 x 1,536, 20 MB) peaks at about 48 MB more than before, for a PDF
 * of 21 MB.  The JSON text is copied once to be NUL-terminated for yajl
 * and freed as soon as it is parsed; the tree (6 times the JSON: 2 MB for
 * that fiche) is freed before the save.  The layout keeps only the units
 * waiting in the queue (a few lines), so that a fiche of any length costs
 * no more than its output.
 *
 * Stack: libharu puts a glyph map of 128 KB on the stack when it loads a
 * font; nginx's pool threads have the default stack (8 MB).
 *
 * Nothing here uses nginx beyond its types, and there is no state outside
 * the context of one call: any number of threads may render at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <hpdf.h>
#include <png.h>
#include <qrencode.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_chantier_pdf.h"


/*
 * A4 portrait, in points (HPDF_PAGE_SIZE_A4); print margins of 20 mm on
 * the sides, 17 mm at the top, 22.5 mm at the foot, where the footer sits
 * (most printers cannot print the outer 5 mm).
 */
#define NGX_HTTP_CHANTIER_PDF_PAGE_W      595.276f
#define NGX_HTTP_CHANTIER_PDF_PAGE_H      841.89f
#define NGX_HTTP_CHANTIER_PDF_LEFT        56.69f
#define NGX_HTTP_CHANTIER_PDF_WIDTH                                          \
    (NGX_HTTP_CHANTIER_PDF_PAGE_W - 2 * NGX_HTTP_CHANTIER_PDF_LEFT)
#define NGX_HTTP_CHANTIER_PDF_TOP         (NGX_HTTP_CHANTIER_PDF_PAGE_H - 48.9f)
#define NGX_HTTP_CHANTIER_PDF_BOTTOM      64.0f
#define NGX_HTTP_CHANTIER_PDF_FOOTER      34.0f       /* its baseline */
#define NGX_HTTP_CHANTIER_PDF_HEIGHT                                         \
    (NGX_HTTP_CHANTIER_PDF_TOP - NGX_HTTP_CHANTIER_PDF_BOTTOM)

/* type sizes, points */
#define NGX_HTTP_CHANTIER_PDF_BODY        10.5f
#define NGX_HTTP_CHANTIER_PDF_SMALL       8.5f
#define NGX_HTTP_CHANTIER_PDF_LARGE       13.0f
#define NGX_HTTP_CHANTIER_PDF_HUGE        17.0f
#define NGX_HTTP_CHANTIER_PDF_COMMENT     9.5f
#define NGX_HTTP_CHANTIER_PDF_META        8.5f
#define NGX_HTTP_CHANTIER_PDF_TAG         7.5f

/* DejaVu Sans: ascent and descent of its glyphs, in ems */
#define NGX_HTTP_CHANTIER_PDF_ASCENT      0.928f
#define NGX_HTTP_CHANTIER_PDF_DESCENT     0.236f
#define NGX_HTTP_CHANTIER_PDF_LEADING     1.32f

/* the photo grid */
#define NGX_HTTP_CHANTIER_PDF_GAP         12.0f
#define NGX_HTTP_CHANTIER_PDF_PHOTO_H     340.0f      /* a photo alone */
#define NGX_HTTP_CHANTIER_PDF_DPI         300
#define NGX_HTTP_CHANTIER_PDF_PNG_PIXELS  (4096 * 4096)
#define NGX_HTTP_CHANTIER_PDF_LOGO_MAX    (4 * 1024 * 1024)

/* comments: one step of indentation per level, up to 5 */
#define NGX_HTTP_CHANTIER_PDF_INDENT      16.0f
#define NGX_HTTP_CHANTIER_PDF_LEVELS      5

#define NGX_HTTP_CHANTIER_PDF_QR          92.0f       /* with its margin */


typedef enum {
    NGX_HTTP_CHANTIER_PDF_REGULAR = 0,
    NGX_HTTP_CHANTIER_PDF_BOLD = 1,
    NGX_HTTP_CHANTIER_PDF_ITALIC = 2,
    NGX_HTTP_CHANTIER_PDF_BOLD_ITALIC = 3,
    NGX_HTTP_CHANTIER_PDF_FACES = 4
} ngx_http_chantier_pdf_face_e;


typedef enum {
    NGX_HTTP_CHANTIER_PDF_TEXT = 0,
    NGX_HTTP_CHANTIER_PDF_MUTED,
    NGX_HTTP_CHANTIER_PDF_BRAND,
    NGX_HTTP_CHANTIER_PDF_ORANGE,
    NGX_HTTP_CHANTIER_PDF_LINK,
    NGX_HTTP_CHANTIER_PDF_GREY,         /* a cancelled post */
    NGX_HTTP_CHANTIER_PDF_RULE,
    NGX_HTTP_CHANTIER_PDF_ALERT,
    NGX_HTTP_CHANTIER_PDF_SUCCESS,
    NGX_HTTP_CHANTIER_PDF_PAPER,
    NGX_HTTP_CHANTIER_PDF_WHITE,
    NGX_HTTP_CHANTIER_PDF_INK
} ngx_http_chantier_pdf_colour_e;


typedef enum {
    NGX_HTTP_CHANTIER_PDF_LINE = 0,
    NGX_HTTP_CHANTIER_PDF_PHOTOS,
    NGX_HTTP_CHANTIER_PDF_SEPARATOR
} ngx_http_chantier_pdf_unit_e;


typedef enum {
    NGX_HTTP_CHANTIER_PDF_NO_LIST = 0,
    NGX_HTTP_CHANTIER_PDF_BULLET,
    NGX_HTTP_CHANTIER_PDF_ORDERED
} ngx_http_chantier_pdf_list_e;


/* how a piece of text looks */
typedef struct {
    float                           size;
    const char                     *link;      /* NUL-terminated, or NULL */
    u_char                          face;
    u_char                          colour;
    unsigned                        underline:1;
    unsigned                        strike:1;
    unsigned                        tag:1;     /* framed: "Annulée" */
    unsigned                        sized:1;   /* a Delta "size" */
} ngx_http_chantier_pdf_style_t;


/* a piece of a paragraph: text in one style, or a photo (text: its id) */
typedef struct {
    const u_char                   *text;
    size_t                          len;
    ngx_http_chantier_pdf_style_t   style;
    unsigned                        photo:1;
} ngx_http_chantier_pdf_run_t;


/* a position in the runs of a paragraph */
typedef struct {
    ngx_uint_t                      run;
    size_t                          off;
} ngx_http_chantier_pdf_pos_t;


/* the piece of a run on one line, placed */
typedef struct {
    const u_char                   *text;
    size_t                          len;
    float                           x;         /* from the left margin */
    float                           width;
    ngx_http_chantier_pdf_style_t   style;
} ngx_http_chantier_pdf_seg_t;


typedef struct {
    ngx_int_t                       photo;     /* in pdf->photos, or -1 */
    HPDF_Image                      image;     /* NULL: "indisponible" */
    const char                     *link;
    float                           x;
    float                           width;
    float                           height;
} ngx_http_chantier_pdf_cell_t;


/* what goes on a page in one piece */
typedef struct {
    ngx_http_chantier_pdf_unit_e    type;
    float                           space;     /* above; not at a top */
    float                           height;
    float                           ascent;    /* LINE: top to baseline */
    ngx_uint_t                      first;     /* LINE: segs[first..last) */
    ngx_uint_t                      last;
    float                           bar;       /* > 0: a thread's rule */
    ngx_uint_t                      ncells;
    ngx_http_chantier_pdf_cell_t    cells[2];
    unsigned                        keep:1;    /* with the next unit */
    unsigned                        veil:1;    /* photos of a cancelled
                                                  post */
} ngx_http_chantier_pdf_unit_t;


/* how a paragraph is laid out */
typedef struct {
    float                           left;      /* from the left margin */
    float                           width;
    float                           size;      /* of an empty line */
    float                           leading;
    float                           space_before;
    float                           space_after;
    float                           bar;
    const u_char                   *marker;    /* a bullet, "3.", a label */
    size_t                          marker_len;
    float                           marker_x;
    ngx_http_chantier_pdf_style_t   marker_style;
    unsigned                        marker_right:1;  /* ends at left */
    unsigned                        keep:1;
} ngx_http_chantier_pdf_para_t;


typedef struct {
    void                           *elts;
    ngx_uint_t                      nelts;
    ngx_uint_t                      nalloc;
    size_t                          size;
} ngx_http_chantier_pdf_array_t;


/* a comment thread being walked: no recursion, threads have any depth */
typedef struct {
    yajl_val                        list;
    size_t                          next;
    yajl_val                        parent;
} ngx_http_chantier_pdf_frame_t;


typedef struct {
    HPDF_Font                       font;
    short                          *widths[256];   /* per 256 code points,
                                                      1/1000 em, -1: not
                                                      asked yet */
} ngx_http_chantier_pdf_font_t;


typedef struct {
    ngx_http_chantier_pdf_t        *pdf;
    yajl_val                        fiche;
    HPDF_Doc                        doc;
    HPDF_Page                       page;
    ngx_http_chantier_pdf_font_t    fonts[NGX_HTTP_CHANTIER_PDF_FACES];
    HPDF_ExtGState                  veil;

    ngx_http_chantier_pdf_array_t   pages;     /* HPDF_Page */
    ngx_http_chantier_pdf_array_t   runs;      /* of the current line */
    ngx_http_chantier_pdf_array_t   segs;      /* of the queued units */
    ngx_http_chantier_pdf_array_t   units;     /* the queue */
    ngx_http_chantier_pdf_array_t   group;     /* photo runs to lay out */
    ngx_http_chantier_pdf_array_t   stack;     /* frames */

    HPDF_Image                     *images;    /* per input photo, loaded */
    u_char                         *broken;    /* per input photo */

    float                           y;         /* where the next unit goes */
    float                           next_space;
    unsigned                        at_top:1;
    unsigned                        cancelled:1;  /* the post being laid */
    unsigned                        failed:1;

    yajl_val                        post_photos;
    ngx_http_chantier_pdf_list_e    list;      /* of the previous line */
    ngx_uint_t                      item;      /* its number */

    /* the text state of the current page */
    HPDF_Font                       cur_font;
    float                           cur_size;
    ngx_int_t                       cur_colour;

    char                           *scratch;   /* NUL-terminated text */
    size_t                          scratch_size;

    u_char                         *out;
    size_t                          out_len;
    size_t                          out_size;

    HPDF_STATUS                     hpdf_error;
    HPDF_STATUS                     hpdf_detail;

    /*
     * The texts formatted here, which queued units point to: each has a
     * buffer of its own, written again only once its units are drawn.
     */
    const char                     *code;
    char                            export_day[48];
    char                            heading[48];
    char                            post_when[48];
    char                            post_edited[80];
    char                            comment_when[64];
    char                            count[48];
    char                            marker[24];
    char                            line[160];
} ngx_http_chantier_pdf_ctx_t;


static ngx_int_t ngx_http_chantier_pdf_parse(ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_open(ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_load_fonts(
    ngx_http_chantier_pdf_ctx_t *ctx);
static HPDF_Font ngx_http_chantier_pdf_font(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_uint_t face);
static ngx_int_t ngx_http_chantier_pdf_to_unicode(
    ngx_http_chantier_pdf_ctx_t *ctx, HPDF_Font font);
static void ngx_http_chantier_pdf_info(ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_header(
    ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_details(
    ngx_http_chantier_pdf_ctx_t *ctx, yajl_val fiche, yajl_val header);
static ngx_int_t ngx_http_chantier_pdf_row(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *label, const char *value, ngx_uint_t bold,
    ngx_http_chantier_pdf_colour_e colour);
static void ngx_http_chantier_pdf_logo(ngx_http_chantier_pdf_ctx_t *ctx,
    float x, float top, float height);
static void ngx_http_chantier_pdf_logo_drawn(ngx_http_chantier_pdf_ctx_t *ctx,
    float x, float top, float height);
static HPDF_Image ngx_http_chantier_pdf_logo_file(
    ngx_http_chantier_pdf_ctx_t *ctx, float height);
static void ngx_http_chantier_pdf_qr(ngx_http_chantier_pdf_ctx_t *ctx,
    float x, float top, float size);
static ngx_int_t ngx_http_chantier_pdf_posts(ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_post(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val post, ngx_uint_t first);
static ngx_int_t ngx_http_chantier_pdf_post_head(
    ngx_http_chantier_pdf_ctx_t *ctx, yajl_val post);
static ngx_int_t ngx_http_chantier_pdf_delta(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val body);
static ngx_int_t ngx_http_chantier_pdf_delta_line(
    ngx_http_chantier_pdf_ctx_t *ctx, yajl_val attrs);
static void ngx_http_chantier_pdf_delta_block(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val attrs, ngx_http_chantier_pdf_para_t *para);
static void ngx_http_chantier_pdf_delta_style(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val attrs, ngx_http_chantier_pdf_style_t *style);
static ngx_int_t ngx_http_chantier_pdf_comments(
    ngx_http_chantier_pdf_ctx_t *ctx, yajl_val post);
static ngx_uint_t ngx_http_chantier_pdf_count(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val list);
static ngx_int_t ngx_http_chantier_pdf_comment(
    ngx_http_chantier_pdf_ctx_t *ctx, yajl_val comment, ngx_uint_t depth,
    yajl_val parent);
static ngx_int_t ngx_http_chantier_pdf_photos(
    ngx_http_chantier_pdf_ctx_t *ctx);
static void ngx_http_chantier_pdf_cell(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_run_t *run, float box_w, float box_h,
    ngx_http_chantier_pdf_cell_t *cell);
static ngx_int_t ngx_http_chantier_pdf_find_photo(
    ngx_http_chantier_pdf_ctx_t *ctx, const u_char *id, size_t len);
static void ngx_http_chantier_pdf_json_size(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *id, size_t len, float *w, float *h);
static HPDF_Image ngx_http_chantier_pdf_image(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_uint_t i, float box_w, float box_h);
static HPDF_Image ngx_http_chantier_pdf_png(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *data, size_t len, float box_w, float box_h);
static void ngx_http_chantier_pdf_shrink(u_char *pixels, ngx_uint_t width,
    ngx_uint_t k, ngx_uint_t ow, ngx_uint_t oh);
static ngx_int_t ngx_http_chantier_pdf_para(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_para_t *para, ngx_uint_t from, ngx_uint_t to);
static void ngx_http_chantier_pdf_break(ngx_http_chantier_pdf_ctx_t *ctx,
    float avail, ngx_http_chantier_pdf_pos_t start, ngx_uint_t to,
    ngx_http_chantier_pdf_pos_t *end, ngx_http_chantier_pdf_pos_t *next);
static ngx_uint_t ngx_http_chantier_pdf_breaks(
    ngx_http_chantier_pdf_ctx_t *ctx, uint32_t prev, ngx_uint_t r, size_t off,
    ngx_uint_t to);
static ngx_int_t ngx_http_chantier_pdf_line(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_para_t *para, ngx_http_chantier_pdf_pos_t start,
    ngx_http_chantier_pdf_pos_t end, ngx_uint_t to, ngx_uint_t first);
static ngx_int_t ngx_http_chantier_pdf_separator(
    ngx_http_chantier_pdf_ctx_t *ctx, float space);
static ngx_int_t ngx_http_chantier_pdf_push_unit(
    ngx_http_chantier_pdf_ctx_t *ctx, ngx_http_chantier_pdf_unit_t *unit);
static ngx_int_t ngx_http_chantier_pdf_flush(ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_new_page(
    ngx_http_chantier_pdf_ctx_t *ctx);
static void ngx_http_chantier_pdf_draw(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit);
static void ngx_http_chantier_pdf_draw_line(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit);
static void ngx_http_chantier_pdf_draw_marks(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_seg_t *seg, float baseline);
static void ngx_http_chantier_pdf_draw_links(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit, float baseline);
static void ngx_http_chantier_pdf_draw_photos(
    ngx_http_chantier_pdf_ctx_t *ctx, ngx_http_chantier_pdf_unit_t *unit);
static ngx_int_t ngx_http_chantier_pdf_footers(
    ngx_http_chantier_pdf_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_pdf_save(ngx_http_chantier_pdf_ctx_t *ctx);
static HPDF_STATUS ngx_http_chantier_pdf_write(HPDF_Stream stream,
    const HPDF_BYTE *ptr, HPDF_UINT size);
static void ngx_http_chantier_pdf_cleanup(ngx_http_chantier_pdf_ctx_t *ctx);

static ngx_int_t ngx_http_chantier_pdf_run(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *text, size_t len, ngx_http_chantier_pdf_style_t *style);
static ngx_int_t ngx_http_chantier_pdf_text(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *text, ngx_http_chantier_pdf_style_t *style);
static void ngx_http_chantier_pdf_style(ngx_http_chantier_pdf_style_t *style,
    ngx_uint_t face, float size, ngx_http_chantier_pdf_colour_e colour);
static void ngx_http_chantier_pdf_para_init(ngx_http_chantier_pdf_para_t *para,
    float left, float size);
static ngx_uint_t ngx_http_chantier_pdf_visible(
    ngx_http_chantier_pdf_ctx_t *ctx, ngx_uint_t from, ngx_uint_t to);
static float ngx_http_chantier_pdf_width(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_style_t *style, const u_char *p, size_t len);
static ngx_int_t ngx_http_chantier_pdf_advance(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_uint_t face, uint32_t c);
static uint32_t ngx_http_chantier_pdf_utf8(const u_char **pp,
    const u_char *end);
static void ngx_http_chantier_pdf_use(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_style_t *style);
static void ngx_http_chantier_pdf_fill(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_colour_e colour);
static void ngx_http_chantier_pdf_stroke(ngx_http_chantier_pdf_ctx_t *ctx,
    float x1, float y1, float x2, float y2, float width,
    ngx_http_chantier_pdf_colour_e colour);
static void ngx_http_chantier_pdf_text_at(ngx_http_chantier_pdf_ctx_t *ctx,
    float x, float y, ngx_http_chantier_pdf_style_t *style, const char *text,
    ngx_uint_t align);
static void ngx_http_chantier_pdf_link(ngx_http_chantier_pdf_ctx_t *ctx,
    float left, float bottom, float right, float top, const char *uri);
static const char *ngx_http_chantier_pdf_cstr(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *p, size_t len);
static void *ngx_http_chantier_pdf_push(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_array_t *a);

static yajl_val ngx_http_chantier_pdf_get(yajl_val object, const char *key);
static const char *ngx_http_chantier_pdf_string(yajl_val object,
    const char *key);
static ngx_uint_t ngx_http_chantier_pdf_true(yajl_val object, const char *key);
static ngx_uint_t ngx_http_chantier_pdf_length(yajl_val array);
static const char *ngx_http_chantier_pdf_safe_link(const char *link);

static ngx_int_t ngx_http_chantier_pdf_day(const char *iso, char *buf,
    size_t size);
static ngx_int_t ngx_http_chantier_pdf_time(const char *iso,
    const char *prefix, char *buf, size_t size, ngx_uint_t with_time);
static void ngx_http_chantier_pdf_format_day(char *buf, size_t size,
    int64_t year, unsigned month, unsigned day);
static int64_t ngx_http_chantier_pdf_paris(int64_t utc);
static int64_t ngx_http_chantier_pdf_days(int64_t y, unsigned m, unsigned d);
static void ngx_http_chantier_pdf_civil(int64_t days, int64_t *y, unsigned *m,
    unsigned *d);
static ngx_int_t ngx_http_chantier_pdf_digits(const char **pp, ngx_uint_t n,
    ngx_uint_t *value);

static void ngx_http_chantier_pdf_hpdf_error(HPDF_STATUS error_no,
    HPDF_STATUS detail_no, void *data);
static ngx_int_t ngx_http_chantier_pdf_check(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *step);
static ngx_int_t ngx_http_chantier_pdf_fail(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *fmt, ...);


static const float  ngx_http_chantier_pdf_colours[][3] = {
    { 0.122f, 0.161f, 0.200f },     /* text #1f2933, as the pages */
    { 0.294f, 0.333f, 0.388f },     /* muted #4b5563 */
    { 0.114f, 0.310f, 0.569f },     /* brand blue #1d4f91 */
    { 0.761f, 0.255f, 0.047f },     /* brand orange #c2410c */
    { 0.114f, 0.310f, 0.569f },     /* links */
    { 0.600f, 0.624f, 0.659f },     /* cancelled #999fa8 */
    { 0.820f, 0.835f, 0.859f },     /* rules #d1d5db */
    { 0.706f, 0.137f, 0.094f },     /* alert #b42318 */
    { 0.086f, 0.396f, 0.204f },     /* success #166534 */
    { 0.953f, 0.961f, 0.973f },     /* soft background #f3f5f8 */
    { 1.0f, 1.0f, 1.0f },
    { 0.0f, 0.0f, 0.0f }            /* the QR code */
};

static const char  *ngx_http_chantier_pdf_font_files[] = {
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf"
};

static const char  *ngx_http_chantier_pdf_months[] = {
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet",
    "août", "septembre", "octobre", "novembre", "décembre"
};

/* Delta headers 1-3, as the pages size them (1.5, 1.3125, 1.125 em) */
static const float  ngx_http_chantier_pdf_headings[] = {
    15.5f, 13.5f, 12.0f
};


int64_t
ngx_http_chantier_pdf_today(time_t now, u_char *date)
{
    int64_t   year, paris;
    unsigned  month, day;

    paris = ngx_http_chantier_pdf_paris((int64_t) now);

    ngx_http_chantier_pdf_civil(paris / 86400, &year, &month, &day);

    (void) snprintf((char *) date, 11, "%04d-%02u-%02u", (int) year, month,
                    day);

    return paris / 86400;
}


ngx_int_t
ngx_http_chantier_pdf_render(ngx_http_chantier_pdf_t *pdf)
{
    ngx_int_t                    rc;
    ngx_http_chantier_pdf_ctx_t  ctx;

    memset(&ctx, 0, sizeof(ngx_http_chantier_pdf_ctx_t));

    ctx.pdf = pdf;
    ctx.cur_colour = -1;
    ctx.pages.size = sizeof(HPDF_Page);
    ctx.runs.size = sizeof(ngx_http_chantier_pdf_run_t);
    ctx.segs.size = sizeof(ngx_http_chantier_pdf_seg_t);
    ctx.units.size = sizeof(ngx_http_chantier_pdf_unit_t);
    ctx.group.size = sizeof(ngx_http_chantier_pdf_run_t);
    ctx.stack.size = sizeof(ngx_http_chantier_pdf_frame_t);

    pdf->pdf = NULL;
    pdf->pdf_len = 0;
    pdf->pages = 0;
    pdf->error[0] = '\0';

    rc = NGX_ERROR;

    if (ngx_http_chantier_pdf_parse(&ctx) != NGX_OK
        || ngx_http_chantier_pdf_open(&ctx) != NGX_OK
        || ngx_http_chantier_pdf_header(&ctx) != NGX_OK
        || ngx_http_chantier_pdf_posts(&ctx) != NGX_OK
        || ngx_http_chantier_pdf_footers(&ctx) != NGX_OK)
    {
        goto done;
    }

    /* every text is in the pages now: the tree is no longer needed */
    yajl_tree_free(ctx.fiche);
    ctx.fiche = NULL;

    if (ngx_http_chantier_pdf_save(&ctx) != NGX_OK) {
        goto done;
    }

    pdf->pdf = ctx.out;
    pdf->pdf_len = ctx.out_len;
    pdf->pages = ctx.pages.nelts;
    ctx.out = NULL;

    rc = NGX_OK;

done:

    ngx_http_chantier_pdf_cleanup(&ctx);

    return rc;
}


void
ngx_http_chantier_pdf_free(ngx_http_chantier_pdf_t *pdf)
{
    free(pdf->pdf);

    pdf->pdf = NULL;
    pdf->pdf_len = 0;
}


/*
 * yajl_tree_parse() wants a NUL-terminated text, which a cached document
 * is not: the copy lives only for the parse.
 */

static ngx_int_t
ngx_http_chantier_pdf_parse(ngx_http_chantier_pdf_ctx_t *ctx)
{
    char    *text, *nl;
    char     message[96];
    size_t   n;

    text = malloc(ctx->pdf->fiche_len + 1);
    if (text == NULL) {
        return ngx_http_chantier_pdf_fail(ctx, "out of memory");
    }

    memcpy(text, ctx->pdf->fiche_json, ctx->pdf->fiche_len);
    text[ctx->pdf->fiche_len] = '\0';

    message[0] = '\0';
    ctx->fiche = yajl_tree_parse(text, message, sizeof(message));

    free(text);

    if (ctx->fiche == NULL) {
        nl = strchr(message, '\n');
        if (nl) {
            *nl = '\0';
        }

        return ngx_http_chantier_pdf_fail(ctx, "the fiche is no JSON: %s",
                                          message);
    }

    if (!YAJL_IS_OBJECT(ctx->fiche)
        || !YAJL_IS_OBJECT(ngx_http_chantier_pdf_get(ctx->fiche, "header")))
    {
        return ngx_http_chantier_pdf_fail(ctx, "the JSON is no fiche");
    }

    ctx->code = ngx_http_chantier_pdf_string(
                    ngx_http_chantier_pdf_get(ctx->fiche, "header"),
                    "chantier_id");
    if (ctx->code == NULL) {
        ctx->code = "";
    }

    if (ctx->pdf->nphotos) {
        n = ctx->pdf->nphotos;

        ctx->images = calloc(n, sizeof(HPDF_Image));
        ctx->broken = calloc(n, 1);

        if (ctx->images == NULL || ctx->broken == NULL) {
            return ngx_http_chantier_pdf_fail(ctx, "out of memory");
        }
    }

    if (ctx->pdf->export_date == NULL
        || ngx_http_chantier_pdf_day(ctx->pdf->export_date, ctx->export_day,
                                     sizeof(ctx->export_day))
           != NGX_OK)
    {
        return ngx_http_chantier_pdf_fail(ctx, "no export date");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_pdf_open(ngx_http_chantier_pdf_ctx_t *ctx)
{
    ctx->doc = HPDF_New(ngx_http_chantier_pdf_hpdf_error, ctx);
    if (ctx->doc == NULL) {
        return ngx_http_chantier_pdf_fail(ctx, "out of memory");
    }

    (void) HPDF_SetCompressionMode(ctx->doc, HPDF_COMP_ALL);
    (void) HPDF_UseUTFEncodings(ctx->doc);

    if (ngx_http_chantier_pdf_load_fonts(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_chantier_pdf_info(ctx);

    if (ngx_http_chantier_pdf_new_page(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chantier_pdf_check(ctx, "opening");
}


/*
 * The upright faces are loaded at once, so that a wrong font_dir fails
 * here, clearly; the oblique ones when a text needs them (a font loaded
 * is embedded, even if no text uses it: 50 KB).
 */

static ngx_int_t
ngx_http_chantier_pdf_load_fonts(ngx_http_chantier_pdf_ctx_t *ctx)
{
    if (ngx_http_chantier_pdf_font(ctx, NGX_HTTP_CHANTIER_PDF_REGULAR) == NULL
        || ngx_http_chantier_pdf_font(ctx, NGX_HTTP_CHANTIER_PDF_BOLD) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The font of a face, loaded the first time.  An oblique face that is
 * missing (a font_dir with only the two upright files) is its upright
 * face.
 */

static HPDF_Font
ngx_http_chantier_pdf_font(ngx_http_chantier_pdf_ctx_t *ctx, ngx_uint_t face)
{
    int          n;
    char         path[1024];
    HPDF_Font    font;
    const char  *dir, *name;

    if (ctx->fonts[face].font) {
        return ctx->fonts[face].font;
    }

    if (ctx->failed) {
        return NULL;
    }

    dir = ctx->pdf->font_dir ? ctx->pdf->font_dir
                             : NGX_HTTP_CHANTIER_PDF_FONT_DIR;

    n = snprintf(path, sizeof(path), "%s/%s", dir,
                 ngx_http_chantier_pdf_font_files[face]);

    if (n < 0 || (size_t) n >= sizeof(path)) {
        (void) ngx_http_chantier_pdf_fail(ctx, "font_dir too long");
        return NULL;
    }

    if (face >= NGX_HTTP_CHANTIER_PDF_ITALIC && access(path, R_OK) != 0) {
        font = ngx_http_chantier_pdf_font(ctx,
                                          face - NGX_HTTP_CHANTIER_PDF_ITALIC);
        ctx->fonts[face].font = font;
        return font;
    }

    name = HPDF_LoadTTFontFromFile(ctx->doc, path, HPDF_TRUE);
    font = name ? HPDF_GetFont(ctx->doc, name, "UTF-8") : NULL;

    if (font == NULL) {
        (void) ngx_http_chantier_pdf_fail(ctx, "cannot load the font %s "
                                          "(libharu error 0x%04X)", path,
                                          (unsigned) ctx->hpdf_error);
        return NULL;
    }

    if (ngx_http_chantier_pdf_to_unicode(ctx, font) != NGX_OK) {
        return NULL;
    }

    ctx->fonts[face].font = font;

    return font;
}


/*
 * libharu 2.3 gives its UTF-8 fonts a ToUnicode CMap that maps every code
 * to CID 0 with "begincidrange", which is no ToUnicode operator: poppler
 * warns and guesses, other readers copy and search garbage.  The codes it
 * writes (Identity-H) are the UCS-2 values of the characters, so the right
 * map is the identity, written here over libharu's text.  Surrogates are
 * left out: libharu turns characters beyond U+FFFF into spaces.
 */

static ngx_int_t
ngx_http_chantier_pdf_to_unicode(ngx_http_chantier_pdf_ctx_t *ctx,
    HPDF_Font font)
{
    char         buf[64];
    HPDF_Dict    cmap;
    ngx_uint_t   hi, n, i;
    HPDF_STATUS  rc;

    static const char  head[] =
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) "
        "/Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n";

    static const char  tail[] =
        "endcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\n"
        "end\n";

    cmap = HPDF_Dict_GetItem(font, "ToUnicode", HPDF_OCLASS_DICT);

    if (cmap == NULL || cmap->stream == NULL) {
        ctx->hpdf_error = 0;
        HPDF_ResetError(ctx->doc);
        return NGX_OK;
    }

    HPDF_MemStream_FreeData(cmap->stream);

    rc = HPDF_Stream_WriteStr(cmap->stream, head);

    /* 248 ranges <XX00> <XXFF>, at most 100 in a block */
    for (hi = 0, n = 0; hi < 256; hi++) {
        if (hi >= 0xd8 && hi <= 0xdf) {
            continue;
        }

        if (n % 100 == 0) {
            i = (248 - n < 100) ? 248 - n : 100;
            (void) snprintf(buf, sizeof(buf), "%s%u beginbfrange\n",
                            n ? "endbfrange\n" : "", (unsigned) i);
            rc += HPDF_Stream_WriteStr(cmap->stream, buf);
        }

        (void) snprintf(buf, sizeof(buf), "<%02X00> <%02XFF> <%02X00>\n",
                        (unsigned) hi, (unsigned) hi, (unsigned) hi);
        rc += HPDF_Stream_WriteStr(cmap->stream, buf);
        n++;
    }

    rc += HPDF_Stream_WriteStr(cmap->stream, "endbfrange\n");
    rc += HPDF_Stream_WriteStr(cmap->stream, tail);

    if (rc != HPDF_OK) {
        return ngx_http_chantier_pdf_check(ctx, "ToUnicode");
    }

    return NGX_OK;
}


/*
 * libharu writes the document information as PDFDocEncoding bytes: only
 * ASCII goes there.  The creation date is the day of the export, not the
 * time of the rendering: one version exported on one day gives the same
 * bytes.
 */

static void
ngx_http_chantier_pdf_info(ngx_http_chantier_pdf_ctx_t *ctx)
{
    const char  *p;
    HPDF_Date    date;
    ngx_uint_t   y, m, d;

    (void) HPDF_SetInfoAttr(ctx->doc, HPDF_INFO_CREATOR,
                            "CLO - espace client");

    for (p = ctx->code; *p && (u_char) *p >= 0x20 && (u_char) *p < 0x7f; p++)
    {
        /* void */
    }

    if (*p == '\0' && p - ctx->code <= 64) {
        (void) snprintf(ctx->line, sizeof(ctx->line), "Fiche d'avancement %s",
                        ctx->code);
        (void) HPDF_SetInfoAttr(ctx->doc, HPDF_INFO_TITLE, ctx->line);
    }

    p = ctx->pdf->export_date;

    if (ngx_http_chantier_pdf_digits(&p, 4, &y) == NGX_OK && *p++ == '-'
        && ngx_http_chantier_pdf_digits(&p, 2, &m) == NGX_OK && *p++ == '-'
        && ngx_http_chantier_pdf_digits(&p, 2, &d) == NGX_OK)
    {
        memset(&date, 0, sizeof(HPDF_Date));
        date.year = (HPDF_INT) y;
        date.month = (HPDF_INT) m;
        date.day = (HPDF_INT) d;
        date.ind = ' ';

        (void) HPDF_SetInfoDateAttr(ctx->doc, HPDF_INFO_CREATION_DATE, date);
    }

    ctx->hpdf_error = 0;
    HPDF_ResetError(ctx->doc);
}


/* page 1: the logo, the chantier, the link and the QR code */

static ngx_int_t
ngx_http_chantier_pdf_header(ngx_http_chantier_pdf_ctx_t *ctx)
{
    float                          right, top, qr_top;
    yajl_val                       header, posts;
    const char                    *title;
    ngx_uint_t                     n;
    ngx_http_chantier_pdf_para_t   para;
    ngx_http_chantier_pdf_style_t  style;

    header = ngx_http_chantier_pdf_get(ctx->fiche, "header");
    right = NGX_HTTP_CHANTIER_PDF_LEFT + NGX_HTTP_CHANTIER_PDF_WIDTH;
    top = NGX_HTTP_CHANTIER_PDF_TOP;

    ngx_http_chantier_pdf_logo(ctx, NGX_HTTP_CHANTIER_PDF_LEFT, top, 42);

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 15,
                                NGX_HTTP_CHANTIER_PDF_BRAND);
    ngx_http_chantier_pdf_text_at(ctx, right, top - 17, &style,
                                  "Fiche d’avancement", 2);

    (void) snprintf(ctx->line, sizeof(ctx->line), "Exportée le %s",
                    ctx->export_day);
    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR, 9,
                                NGX_HTTP_CHANTIER_PDF_MUTED);
    ngx_http_chantier_pdf_text_at(ctx, right, top - 32, &style, ctx->line, 2);

    ngx_http_chantier_pdf_stroke(ctx, NGX_HTTP_CHANTIER_PDF_LEFT, top - 54,
                                 right, top - 54, 1.2f,
                                 NGX_HTTP_CHANTIER_PDF_BRAND);

    ctx->y = top - 62;
    ctx->at_top = 0;

    /* the title, the whole width */
    title = ngx_http_chantier_pdf_string(header, "title");

    ngx_http_chantier_pdf_para_init(&para, 0, 17);
    para.leading = 1.25f;
    para.space_after = 10;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 17,
                                NGX_HTTP_CHANTIER_PDF_TEXT);
    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, title ? title : "", &style)
        != NGX_OK
        || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the details on the left, the QR code on the right */
    qr_top = ctx->y - ctx->next_space;

    if (ngx_http_chantier_pdf_details(ctx, ctx->fiche, header) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->pdf->public_url && ctx->pdf->public_url[0]) {
        ngx_http_chantier_pdf_qr(ctx, right - NGX_HTTP_CHANTIER_PDF_QR,
                                 qr_top, NGX_HTTP_CHANTIER_PDF_QR);

        if (ctx->y > qr_top - NGX_HTTP_CHANTIER_PDF_QR - 14) {
            ctx->y = qr_top - NGX_HTTP_CHANTIER_PDF_QR - 14;
        }

        /* the address of the live fiche, a link, under everything */
        ngx_http_chantier_pdf_para_init(&para, 0, 9);
        para.space_before = 8;
        para.space_after = 6;

        ctx->runs.nelts = 0;
        ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR, 9,
                                    NGX_HTTP_CHANTIER_PDF_MUTED);

        if (ngx_http_chantier_pdf_text(ctx, "Fiche en ligne : ", &style)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        style.colour = NGX_HTTP_CHANTIER_PDF_LINK;
        style.underline = 1;
        style.link = ctx->pdf->public_url;

        if (ngx_http_chantier_pdf_text(ctx, ctx->pdf->public_url, &style)
            != NGX_OK
            || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the heading of the posts, kept with the first of them */
    posts = ngx_http_chantier_pdf_get(ctx->fiche, "posts");
    n = ngx_http_chantier_pdf_length(posts);

    if (ngx_http_chantier_pdf_separator(ctx, 10) != NGX_OK) {
        return NGX_ERROR;
    }

    if (n) {
        (void) snprintf(ctx->heading, sizeof(ctx->heading),
                        "Publications (%u)", (unsigned) n);
    } else {
        (void) snprintf(ctx->heading, sizeof(ctx->heading), "Publications");
    }

    ngx_http_chantier_pdf_para_init(&para, 0, 13);
    para.keep = n ? 1 : 0;
    para.space_after = 8;

    ctx->runs.nelts = 0;
    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 13,
                                NGX_HTTP_CHANTIER_PDF_BRAND);

    if (ngx_http_chantier_pdf_text(ctx, ctx->heading, &style) != NGX_OK
        || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (n == 0) {
        ngx_http_chantier_pdf_para_init(&para, 0, NGX_HTTP_CHANTIER_PDF_BODY);
        ctx->runs.nelts = 0;
        ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR,
                                    NGX_HTTP_CHANTIER_PDF_BODY,
                                    NGX_HTTP_CHANTIER_PDF_MUTED);

        if (ngx_http_chantier_pdf_text(ctx, "Aucune publication pour le "
                                      "moment.", &style)
            != NGX_OK
            || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_chantier_pdf_check(ctx, "header");
}


/* label and value rows, narrower than the page to leave room for the QR */

static ngx_int_t
ngx_http_chantier_pdf_details(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val fiche, yajl_val header)
{
    char                           start[48], end[112], day[48], status[96];
    char                           city[220], line[48];
    yajl_val                       client, address;
    const char                    *finished, *postal, *town, *label;
    const char                    *planned, *revised;
    const char                    *lines[3];
    ngx_uint_t                     done, i;
    ngx_http_chantier_pdf_colour_e colour;

    client = ngx_http_chantier_pdf_get(header, "client");
    address = ngx_http_chantier_pdf_get(client, "address");

    if (ngx_http_chantier_pdf_day(ngx_http_chantier_pdf_string(header,
                                                               "start_date"),
                                  start, sizeof(start))
        != NGX_OK)
    {
        (void) snprintf(start, sizeof(start), "–");
    }

    planned = ngx_http_chantier_pdf_string(header, "planned_end_date");
    revised = ngx_http_chantier_pdf_string(header, "revised_end_date");

    if (ngx_http_chantier_pdf_day(planned, line, sizeof(line)) != NGX_OK) {
        (void) snprintf(line, sizeof(line), "–");
    }

    (void) snprintf(end, sizeof(end), "%s", line);

    /* a revised end comes first, the planned one after it, for the record */
    if (revised != NULL
        && ngx_http_chantier_pdf_day(revised, day, sizeof(day)) == NGX_OK)
    {
        (void) snprintf(end, sizeof(end), "%s (initialement %s)", day, line);
        planned = revised;
    }

    done = 0;
    finished = ngx_http_chantier_pdf_string(fiche, "status");

    if (finished && strcmp(finished, "finished") == 0) {
        done = 1;
        (void) snprintf(status, sizeof(status), "Chantier terminé");

        if (ngx_http_chantier_pdf_time(ngx_http_chantier_pdf_string(fiche,
                                                                "finished_at"),
                                       "", day, sizeof(day), 0)
            == NGX_OK)
        {
            (void) snprintf(status, sizeof(status), "Chantier terminé le %s",
                            day);
        }

    } else if (planned != NULL && ctx->pdf->export_date != NULL
               && strcmp(ctx->pdf->export_date, planned) > 0)
    {
        /* "YYYY-MM-DD" strings: their order is the dates' */
        (void) snprintf(status, sizeof(status), "En retard");

    } else {
        (void) snprintf(status, sizeof(status), "Chantier en cours");
    }

    colour = done ? NGX_HTTP_CHANTIER_PDF_SUCCESS : NGX_HTTP_CHANTIER_PDF_BRAND;

    if (ngx_http_chantier_pdf_row(ctx, "Chantier",
                                  ctx->code, 1, NGX_HTTP_CHANTIER_PDF_TEXT)
        != NGX_OK
        || ngx_http_chantier_pdf_row(ctx, "Client",
                                  ngx_http_chantier_pdf_string(client, "name"),
                                  0, NGX_HTTP_CHANTIER_PDF_TEXT)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (YAJL_IS_OBJECT(address)) {
        postal = ngx_http_chantier_pdf_string(address, "postal_code");
        town = ngx_http_chantier_pdf_string(address, "city");

        (void) snprintf(city, sizeof(city), "%s%s%s",
                        postal ? postal : "", postal && town ? " " : "",
                        town ? town : "");

        lines[0] = ngx_http_chantier_pdf_string(address, "line1");
        lines[1] = ngx_http_chantier_pdf_string(address, "line2");
        lines[2] = city;
        label = "Adresse";

        /* the label on the first line there is */
        for (i = 0; i < 3; i++) {
            if (lines[i] == NULL || lines[i][0] == '\0') {
                continue;
            }

            if (ngx_http_chantier_pdf_row(ctx, label, lines[i], 0,
                                          NGX_HTTP_CHANTIER_PDF_TEXT)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            label = NULL;
        }
    }

    if (ngx_http_chantier_pdf_row(ctx, "Début", start, 0,
                                  NGX_HTTP_CHANTIER_PDF_TEXT)
        != NGX_OK
        || ngx_http_chantier_pdf_row(ctx, "Fin prévue", end, 0,
                                     NGX_HTTP_CHANTIER_PDF_TEXT)
           != NGX_OK
        || ngx_http_chantier_pdf_row(ctx, "Statut", status, 1, colour)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * One row of the details: the label is the paragraph's marker, so that a
 * long value wraps under itself.  A value that is missing or empty makes
 * no row.  Called with a label for the first line of a value and NULL for
 * the next ones (an address).  Its lines are not kept with the next unit:
 * they are drawn before this returns, while the caller's texts exist.
 */

static ngx_int_t
ngx_http_chantier_pdf_row(ngx_http_chantier_pdf_ctx_t *ctx, const char *label,
    const char *value, ngx_uint_t bold, ngx_http_chantier_pdf_colour_e colour)
{
    ngx_http_chantier_pdf_para_t   para;
    ngx_http_chantier_pdf_style_t  style;

    if (value == NULL || value[0] == '\0') {
        return NGX_OK;
    }

    ngx_http_chantier_pdf_para_init(&para, 80, NGX_HTTP_CHANTIER_PDF_BODY);
    para.width = NGX_HTTP_CHANTIER_PDF_WIDTH - 80 - NGX_HTTP_CHANTIER_PDF_QR
                 - 16;
    para.space_after = 3;

    if (label) {
        para.marker = (const u_char *) label;
        para.marker_len = strlen(label);
        para.marker_x = 0;
        ngx_http_chantier_pdf_style(&para.marker_style,
                                    NGX_HTTP_CHANTIER_PDF_REGULAR, 9,
                                    NGX_HTTP_CHANTIER_PDF_MUTED);
    }

    ngx_http_chantier_pdf_style(&style, bold ? NGX_HTTP_CHANTIER_PDF_BOLD
                                             : NGX_HTTP_CHANTIER_PDF_REGULAR,
                                NGX_HTTP_CHANTIER_PDF_BODY, colour);

    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, value, &style) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts);
}


static void
ngx_http_chantier_pdf_logo(ngx_http_chantier_pdf_ctx_t *ctx, float x,
    float top, float height)
{
    float       width;
    HPDF_Image  image;

    image = ngx_http_chantier_pdf_logo_file(ctx, height);

    if (image == NULL) {
        ngx_http_chantier_pdf_logo_drawn(ctx, x, top, height);
        return;
    }

    width = height * HPDF_Image_GetWidth(image) / HPDF_Image_GetHeight(image);

    if (width > 220) {
        height = height * 220 / width;
        width = 220;
    }

    (void) HPDF_Page_DrawImage(ctx->page, image, x, top - height, width,
                               height);
}


/*
 * The logo of the pages (html/img/logo-clo.svg, 168 x 56): a crane over a
 * house, and the name.
 */

static void
ngx_http_chantier_pdf_logo_drawn(ngx_http_chantier_pdf_ctx_t *ctx, float x,
    float top, float height)
{
    float                          s;
    HPDF_Page                      page;
    ngx_http_chantier_pdf_style_t  style;
    const float                   *c;

#define X(v)  (x + (v) * s)
#define Y(v)  (top - (v) * s)

    page = ctx->page;
    s = height / 56;

    /* the crane: mast, jib, counter-jib, tie, cable */
    c = ngx_http_chantier_pdf_colours[NGX_HTTP_CHANTIER_PDF_ORANGE];

    (void) HPDF_Page_SetRGBStroke(page, c[0], c[1], c[2]);
    (void) HPDF_Page_SetLineWidth(page, 2.5f * s);
    (void) HPDF_Page_SetLineCap(page, HPDF_ROUND_END);
    (void) HPDF_Page_SetLineJoin(page, HPDF_ROUND_JOIN);

    (void) HPDF_Page_MoveTo(page, X(40), Y(52));
    (void) HPDF_Page_LineTo(page, X(40), Y(8));
    (void) HPDF_Page_MoveTo(page, X(6), Y(8));
    (void) HPDF_Page_LineTo(page, X(50), Y(8));
    (void) HPDF_Page_MoveTo(page, X(40), Y(16));
    (void) HPDF_Page_LineTo(page, X(24), Y(8));
    (void) HPDF_Page_MoveTo(page, X(14), Y(8));
    (void) HPDF_Page_LineTo(page, X(14), Y(22));
    (void) HPDF_Page_MoveTo(page, X(11), Y(22));
    (void) HPDF_Page_LineTo(page, X(17), Y(22));
    (void) HPDF_Page_LineTo(page, X(17), Y(24));
    (void) HPDF_Page_CurveTo(page, X(17), Y(28), X(11), Y(28), X(11), Y(24));
    (void) HPDF_Page_Stroke(page);

    (void) HPDF_Page_SetLineCap(page, HPDF_BUTT_END);
    (void) HPDF_Page_SetLineJoin(page, HPDF_MITER_JOIN);

    /* the counterweight */
    ngx_http_chantier_pdf_fill(ctx, NGX_HTTP_CHANTIER_PDF_ORANGE);
    (void) HPDF_Page_Rectangle(page, X(46), Y(12), 6 * s, 6 * s);
    (void) HPDF_Page_Fill(page);

    /* the house and its door */
    ngx_http_chantier_pdf_fill(ctx, NGX_HTTP_CHANTIER_PDF_BRAND);
    (void) HPDF_Page_MoveTo(page, X(4), Y(52));
    (void) HPDF_Page_LineTo(page, X(4), Y(37));
    (void) HPDF_Page_LineTo(page, X(18), Y(26));
    (void) HPDF_Page_LineTo(page, X(32), Y(37));
    (void) HPDF_Page_LineTo(page, X(32), Y(52));
    (void) HPDF_Page_ClosePath(page);
    (void) HPDF_Page_Fill(page);

    ngx_http_chantier_pdf_fill(ctx, NGX_HTTP_CHANTIER_PDF_WHITE);
    (void) HPDF_Page_Rectangle(page, X(14), Y(52), 8 * s, 10 * s);
    (void) HPDF_Page_Fill(page);

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 38 * s,
                                NGX_HTTP_CHANTIER_PDF_BRAND);
    ngx_http_chantier_pdf_text_at(ctx, X(60), Y(46), &style, "CLO", 0);

#undef X
#undef Y
}


/* the PNG at logo_path; NULL (the drawn logo) when it cannot be read */

static HPDF_Image
ngx_http_chantier_pdf_logo_file(ngx_http_chantier_pdf_ctx_t *ctx,
    float height)
{
    long        size;
    FILE       *f;
    u_char     *data;
    HPDF_Image  image;

    if (ctx->pdf->logo_path == NULL || ctx->pdf->logo_path[0] == '\0') {
        return NULL;
    }

    f = fopen(ctx->pdf->logo_path, "rb");
    if (f == NULL) {
        return NULL;
    }

    image = NULL;
    data = NULL;

    if (fseek(f, 0, SEEK_END) != 0
        || (size = ftell(f)) <= 0 || size > NGX_HTTP_CHANTIER_PDF_LOGO_MAX
        || fseek(f, 0, SEEK_SET) != 0
        || (data = malloc((size_t) size)) == NULL
        || fread(data, 1, (size_t) size, f) != (size_t) size)
    {
        goto done;
    }

    image = ngx_http_chantier_pdf_png(ctx, data, (size_t) size, 220, height);

    if (image == NULL) {
        /* the drawn logo then, and the document goes on */
        ctx->hpdf_error = 0;
        HPDF_ResetError(ctx->doc);
    }

done:

    free(data);
    (void) fclose(f);

    return image;
}


/*
 * The QR code of the live fiche's address, as filled squares (sharper
 * than an image at any zoom, and smaller): one rectangle per run of dark
 * modules in a row, in one path.  A quiet zone of 4 modules around it.
 * A link over it, for readers on a screen.
 */

static void
ngx_http_chantier_pdf_qr(ngx_http_chantier_pdf_ctx_t *ctx, float x,
    float top, float size)
{
    int                            n, row, col, start;
    float                          m;
    QRcode                        *qr;
    ngx_http_chantier_pdf_style_t  style;

    qr = QRcode_encodeString(ctx->pdf->public_url, 0, QR_ECLEVEL_M,
                             QR_MODE_8, 1);
    if (qr == NULL) {
        /* an address too long for a QR code: the link stays */
        return;
    }

    n = qr->width;
    m = size / (n + 8);

    ngx_http_chantier_pdf_fill(ctx, NGX_HTTP_CHANTIER_PDF_INK);

    for (row = 0; row < n; row++) {
        for (col = 0; col < n; /* void */) {
            if (!(qr->data[row * n + col] & 1)) {
                col++;
                continue;
            }

            start = col;

            while (col < n && (qr->data[row * n + col] & 1)) {
                col++;
            }

            /* a hair taller, so that rows leave no seam on screen */
            (void) HPDF_Page_Rectangle(ctx->page, x + (4 + start) * m,
                                       top - (4 + row + 1) * m - 0.02f,
                                       (col - start) * m, m + 0.04f);
        }
    }

    (void) HPDF_Page_Fill(ctx->page);

    QRcode_free(qr);

    ngx_http_chantier_pdf_link(ctx, x, top - size, x + size, top,
                               ctx->pdf->public_url);

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR, 7.5f,
                                NGX_HTTP_CHANTIER_PDF_MUTED);
    ngx_http_chantier_pdf_text_at(ctx, x + size / 2, top - size - 6, &style,
                                  "La fiche en ligne", 1);
}


static ngx_int_t
ngx_http_chantier_pdf_posts(ngx_http_chantier_pdf_ctx_t *ctx)
{
    size_t    i;
    yajl_val  posts;

    posts = ngx_http_chantier_pdf_get(ctx->fiche, "posts");

    if (posts == NULL || !YAJL_IS_ARRAY(posts)) {
        return ngx_http_chantier_pdf_flush(ctx);
    }

    for (i = 0; i < posts->u.array.len; i++) {
        if (ngx_http_chantier_pdf_post(ctx, posts->u.array.values[i], i == 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_chantier_pdf_flush(ctx);
}


/*
 * A post: a rule, its head, its text and photos, its comments.  The queue
 * is emptied at its end, so that the texts the head formats (ctx->post_*)
 * are drawn before the next post writes over them.
 */

static ngx_int_t
ngx_http_chantier_pdf_post(ngx_http_chantier_pdf_ctx_t *ctx, yajl_val post,
    ngx_uint_t first)
{
    if (!YAJL_IS_OBJECT(post)) {
        return NGX_OK;
    }

    ctx->cancelled = ngx_http_chantier_pdf_true(post, "cancelled");
    ctx->post_photos = ngx_http_chantier_pdf_get(post, "photos");

    /* generous space between posts, and a rule; the first one has the
     * heading of the posts above it */
    if ((!first && ngx_http_chantier_pdf_separator(ctx, 22) != NGX_OK)
        || ngx_http_chantier_pdf_post_head(ctx, post) != NGX_OK
        || ngx_http_chantier_pdf_delta(ctx,
                                    ngx_http_chantier_pdf_get(post, "body"))
           != NGX_OK
        || ngx_http_chantier_pdf_comments(ctx, post) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_chantier_pdf_flush(ctx);
}


/* "12 mars 2026 à 14:05 [Annulée] [Fin de chantier]", "Par ..." */

static ngx_int_t
ngx_http_chantier_pdf_post_head(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val post)
{
    const char                    *name;
    ngx_uint_t                     cancelled;
    ngx_http_chantier_pdf_para_t   para;
    ngx_http_chantier_pdf_style_t  style, tag;

    cancelled = ctx->cancelled;

    if (ngx_http_chantier_pdf_time(ngx_http_chantier_pdf_string(post,
                                                                "created_at"),
                                   "", ctx->post_when, sizeof(ctx->post_when),
                                   1)
        != NGX_OK)
    {
        (void) snprintf(ctx->post_when, sizeof(ctx->post_when),
                        "Publication");
    }

    ngx_http_chantier_pdf_para_init(&para, 0, 11.5f);
    para.keep = 1;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 11.5f,
                                cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                          : NGX_HTTP_CHANTIER_PDF_BRAND);
    ngx_http_chantier_pdf_style(&tag, NGX_HTTP_CHANTIER_PDF_BOLD,
                                NGX_HTTP_CHANTIER_PDF_TAG,
                                NGX_HTTP_CHANTIER_PDF_ALERT);
    tag.tag = 1;

    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, ctx->post_when, &style) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cancelled) {
        if (ngx_http_chantier_pdf_text(ctx, "   ", &style) != NGX_OK
            || ngx_http_chantier_pdf_text(ctx, "Annulée", &tag) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_chantier_pdf_true(post, "finishing")) {
        tag.colour = cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                               : NGX_HTTP_CHANTIER_PDF_SUCCESS;

        if (ngx_http_chantier_pdf_text(ctx, "   ", &style) != NGX_OK
            || ngx_http_chantier_pdf_text(ctx, "Fin de chantier", &tag)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the author, and the last edit */
    name = ngx_http_chantier_pdf_string(ngx_http_chantier_pdf_get(post,
                                                                  "author"),
                                        "name");

    ngx_http_chantier_pdf_para_init(&para, 0, 9);
    para.keep = 1;
    para.space_after = 6;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR, 9,
                                cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                          : NGX_HTTP_CHANTIER_PDF_MUTED);
    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, "Par ", &style) != NGX_OK
        || ngx_http_chantier_pdf_text(ctx, name ? name : "CLO", &style)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_pdf_time(ngx_http_chantier_pdf_string(post,
                                                                "edited_at"),
                                   " · modifiée le ", ctx->post_edited,
                                   sizeof(ctx->post_edited), 1)
        == NGX_OK)
    {
        if (ngx_http_chantier_pdf_text(ctx, ctx->post_edited, &style)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts);
}


/*
 * A Delta: inserts whose text runs until a newline make one line, the
 * newline's attributes saying what line it is (header, list), the other
 * inserts' what their text looks like.  Text after the last newline is a
 * line too (see render/ngx_http_chantier_delta.c).  Photos go in a grid
 * between the lines: consecutive ones together.
 */

static ngx_int_t
ngx_http_chantier_pdf_delta(ngx_http_chantier_pdf_ctx_t *ctx, yajl_val body)
{
    size_t                         i;
    yajl_val                       ops, op, insert, attrs;
    const char                    *s, *nl, *image;
    ngx_http_chantier_pdf_run_t   *run;
    ngx_http_chantier_pdf_style_t  style;

    ctx->runs.nelts = 0;
    ctx->group.nelts = 0;
    ctx->list = NGX_HTTP_CHANTIER_PDF_NO_LIST;

    ops = ngx_http_chantier_pdf_get(body, "ops");

    if (ops == NULL || !YAJL_IS_ARRAY(ops)) {
        return NGX_OK;
    }

    for (i = 0; i < ops->u.array.len; i++) {
        op = ops->u.array.values[i];
        insert = ngx_http_chantier_pdf_get(op, "insert");
        attrs = ngx_http_chantier_pdf_get(op, "attributes");

        if (YAJL_IS_STRING(insert)) {
            ngx_http_chantier_pdf_delta_style(ctx, attrs, &style);

            for (s = insert->u.string; /* void */; s = nl + 1) {
                nl = strchr(s, '\n');

                if (nl == NULL) {
                    if (*s && ngx_http_chantier_pdf_text(ctx, s, &style)
                              != NGX_OK)
                    {
                        return NGX_ERROR;
                    }

                    break;
                }

                if ((nl > s
                     && ngx_http_chantier_pdf_run(ctx, s, nl - s, &style)
                        != NGX_OK)
                    || ngx_http_chantier_pdf_delta_line(ctx, attrs) != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }

            continue;
        }

        image = ngx_http_chantier_pdf_string(insert, "image");

        if (image == NULL || strncmp(image, "photo:", 6) != 0) {
            continue;
        }

        run = ngx_http_chantier_pdf_push(ctx, &ctx->runs);
        if (run == NULL) {
            return NGX_ERROR;
        }

        memset(run, 0, sizeof(ngx_http_chantier_pdf_run_t));
        run->text = (const u_char *) image + 6;
        run->len = strlen(image + 6);
        run->photo = 1;
        run->style.link = ngx_http_chantier_pdf_safe_link(
                              ngx_http_chantier_pdf_string(attrs, "link"));
    }

    if (ctx->runs.nelts
        && ngx_http_chantier_pdf_delta_line(ctx, NULL) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_chantier_pdf_photos(ctx);
}


/*
 * The line in ctx->runs.  Its text and its photos keep their order: the
 * text before a photo is a paragraph, the photos wait in the group (the
 * next photos may join them), and text after them lays the group out
 * first.  The marker of a list item goes with the first paragraph.
 */

static ngx_int_t
ngx_http_chantier_pdf_delta_line(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val attrs)
{
    ngx_uint_t                     i, n, from, photos;
    ngx_http_chantier_pdf_run_t   *runs, *photo;
    ngx_http_chantier_pdf_para_t   para;

    ngx_http_chantier_pdf_delta_block(ctx, attrs, &para);

    runs = ctx->runs.elts;
    n = ctx->runs.nelts;
    from = 0;
    photos = 0;

    for (i = 0; i < n; i++) {
        if (!runs[i].photo) {
            continue;
        }

        photos++;

        if (ngx_http_chantier_pdf_visible(ctx, from, i)) {
            if (ngx_http_chantier_pdf_photos(ctx) != NGX_OK
                || ngx_http_chantier_pdf_para(ctx, &para, from, i) != NGX_OK)
            {
                return NGX_ERROR;
            }

            para.marker_len = 0;
        }

        photo = ngx_http_chantier_pdf_push(ctx, &ctx->group);
        if (photo == NULL) {
            return NGX_ERROR;
        }

        *photo = runs[i];
        from = i + 1;
    }

    if (ngx_http_chantier_pdf_visible(ctx, from, n)) {
        if (ngx_http_chantier_pdf_photos(ctx) != NGX_OK
            || ngx_http_chantier_pdf_para(ctx, &para, from, n) != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (photos == 0 && ctx->group.nelts == 0) {
        /* an empty line keeps its height, as in the editor */
        if (ngx_http_chantier_pdf_para(ctx, &para, n, n) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ctx->runs.nelts = 0;

    return NGX_OK;
}


/*
 * The line's block format, applied to its runs: a heading is bold and
 * sized, unless a run has its own size; a list item has a marker, and an
 * ordered one the number after the previous item's, if the previous line
 * was an item of an ordered list.
 */

static void
ngx_http_chantier_pdf_delta_block(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val attrs, ngx_http_chantier_pdf_para_t *para)
{
    float                          size;
    yajl_val                       header;
    ngx_uint_t                     i, level;
    const char                    *list;
    ngx_http_chantier_pdf_run_t   *runs;
    ngx_http_chantier_pdf_list_e   kind;

    ngx_http_chantier_pdf_para_init(para, 0, NGX_HTTP_CHANTIER_PDF_BODY);
    para->space_after = 4;

    header = ngx_http_chantier_pdf_get(attrs, "header");
    level = (header && YAJL_IS_INTEGER(header)
             && YAJL_GET_INTEGER(header) >= 1
             && YAJL_GET_INTEGER(header) <= 3)
            ? (ngx_uint_t) YAJL_GET_INTEGER(header) : 0;

    list = ngx_http_chantier_pdf_string(attrs, "list");
    kind = NGX_HTTP_CHANTIER_PDF_NO_LIST;

    if (level == 0 && list) {
        if (strcmp(list, "bullet") == 0) {
            kind = NGX_HTTP_CHANTIER_PDF_BULLET;

        } else if (strcmp(list, "ordered") == 0) {
            kind = NGX_HTTP_CHANTIER_PDF_ORDERED;
        }
    }

    if (level) {
        size = ngx_http_chantier_pdf_headings[level - 1];
        runs = ctx->runs.elts;

        for (i = 0; i < ctx->runs.nelts; i++) {
            runs[i].style.face |= NGX_HTTP_CHANTIER_PDF_BOLD;

            if (!runs[i].style.sized) {
                runs[i].style.size = size;
            }
        }

        para->size = size;
        para->space_before = 9;
        para->space_after = 3;
        para->keep = 1;
    }

    if (kind == NGX_HTTP_CHANTIER_PDF_ORDERED) {
        ctx->item = (ctx->list == NGX_HTTP_CHANTIER_PDF_ORDERED)
                    ? ctx->item + 1 : 1;
        (void) snprintf(ctx->marker, sizeof(ctx->marker), "%u.",
                        (unsigned) ctx->item);

    } else if (kind == NGX_HTTP_CHANTIER_PDF_BULLET) {
        (void) snprintf(ctx->marker, sizeof(ctx->marker), "•");
    }

    ctx->list = kind;

    if (kind != NGX_HTTP_CHANTIER_PDF_NO_LIST) {
        para->left = 20;
        para->width = NGX_HTTP_CHANTIER_PDF_WIDTH - 20;
        para->space_after = 2;
        para->marker = (const u_char *) ctx->marker;
        para->marker_len = strlen(ctx->marker);
        para->marker_right = 1;
        ngx_http_chantier_pdf_style(&para->marker_style,
                                    NGX_HTTP_CHANTIER_PDF_REGULAR,
                                    NGX_HTTP_CHANTIER_PDF_BODY,
                                    ctx->cancelled
                                    ? NGX_HTTP_CHANTIER_PDF_GREY
                                    : NGX_HTTP_CHANTIER_PDF_TEXT);
    }
}


/* the inline formats of an insert; links only to http, https, mailto */

static void
ngx_http_chantier_pdf_delta_style(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val attrs, ngx_http_chantier_pdf_style_t *style)
{
    const char  *size, *link;

    ngx_http_chantier_pdf_style(style, NGX_HTTP_CHANTIER_PDF_REGULAR,
                                NGX_HTTP_CHANTIER_PDF_BODY,
                                ctx->cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                               : NGX_HTTP_CHANTIER_PDF_TEXT);

    if (!YAJL_IS_OBJECT(attrs)) {
        return;
    }

    if (ngx_http_chantier_pdf_true(attrs, "bold")) {
        style->face |= NGX_HTTP_CHANTIER_PDF_BOLD;
    }

    if (ngx_http_chantier_pdf_true(attrs, "italic")) {
        style->face |= NGX_HTTP_CHANTIER_PDF_ITALIC;
    }

    style->underline = ngx_http_chantier_pdf_true(attrs, "underline");
    style->strike = ngx_http_chantier_pdf_true(attrs, "strike");

    size = ngx_http_chantier_pdf_string(attrs, "size");

    if (size) {
        style->sized = 1;

        if (strcmp(size, "small") == 0) {
            style->size = NGX_HTTP_CHANTIER_PDF_SMALL;

        } else if (strcmp(size, "large") == 0) {
            style->size = NGX_HTTP_CHANTIER_PDF_LARGE;

        } else if (strcmp(size, "huge") == 0) {
            style->size = NGX_HTTP_CHANTIER_PDF_HUGE;

        } else {
            style->sized = 0;
        }
    }

    link = ngx_http_chantier_pdf_safe_link(
               ngx_http_chantier_pdf_string(attrs, "link"));

    if (link) {
        style->link = link;
        style->underline = 1;

        if (!ctx->cancelled) {
            style->colour = NGX_HTTP_CHANTIER_PDF_LINK;
        }
    }
}


/*
 * The comments of a post, each under its parent, indented up to 5 levels;
 * deeper replies stay at that indentation and say whom they answer, as
 * the page does.  The threads are walked with a stack of our own: they
 * may be deeper than a thread's C stack.
 */

static ngx_int_t
ngx_http_chantier_pdf_comments(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val post)
{
    yajl_val                        list, comment, replies;
    ngx_uint_t                      n, depth;
    ngx_http_chantier_pdf_para_t    para;
    ngx_http_chantier_pdf_frame_t  *frame;
    ngx_http_chantier_pdf_style_t   style;

    list = ngx_http_chantier_pdf_get(post, "comments");
    n = ngx_http_chantier_pdf_count(ctx, list);

    if (n == 0) {
        return ctx->failed ? NGX_ERROR : NGX_OK;
    }

    (void) snprintf(ctx->count, sizeof(ctx->count), "Commentaires (%u)",
                    (unsigned) n);

    ngx_http_chantier_pdf_para_init(&para, 0, 9);
    para.space_before = 10;
    para.keep = 1;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 9,
                                ctx->cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                               : NGX_HTTP_CHANTIER_PDF_MUTED);
    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, ctx->count, &style) != NGX_OK
        || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->stack.nelts = 0;

    frame = ngx_http_chantier_pdf_push(ctx, &ctx->stack);
    if (frame == NULL) {
        return NGX_ERROR;
    }

    frame->list = list;
    frame->next = 0;
    frame->parent = NULL;

    while (ctx->stack.nelts) {
        frame = (ngx_http_chantier_pdf_frame_t *) ctx->stack.elts
                + ctx->stack.nelts - 1;

        if (frame->next >= frame->list->u.array.len) {
            ctx->stack.nelts--;
            continue;
        }

        comment = frame->list->u.array.values[frame->next++];
        depth = ctx->stack.nelts - 1;

        if (!YAJL_IS_OBJECT(comment)) {
            continue;
        }

        if (ngx_http_chantier_pdf_comment(ctx, comment, depth, frame->parent)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        replies = ngx_http_chantier_pdf_get(comment, "replies");

        if (ngx_http_chantier_pdf_length(replies)) {
            frame = ngx_http_chantier_pdf_push(ctx, &ctx->stack);
            if (frame == NULL) {
                return NGX_ERROR;
            }

            frame->list = replies;
            frame->next = 0;
            frame->parent = comment;
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_chantier_pdf_count(ngx_http_chantier_pdf_ctx_t *ctx, yajl_val list)
{
    yajl_val                        comment, replies;
    ngx_uint_t                      n;
    ngx_http_chantier_pdf_frame_t  *frame;

    if (ngx_http_chantier_pdf_length(list) == 0) {
        return 0;
    }

    ctx->stack.nelts = 0;

    frame = ngx_http_chantier_pdf_push(ctx, &ctx->stack);
    if (frame == NULL) {
        return 0;
    }

    frame->list = list;
    frame->next = 0;
    n = 0;

    while (ctx->stack.nelts) {
        frame = (ngx_http_chantier_pdf_frame_t *) ctx->stack.elts
                + ctx->stack.nelts - 1;

        if (frame->next >= frame->list->u.array.len) {
            ctx->stack.nelts--;
            continue;
        }

        comment = frame->list->u.array.values[frame->next++];
        n++;

        replies = ngx_http_chantier_pdf_get(comment, "replies");

        if (ngx_http_chantier_pdf_length(replies)) {
            frame = ngx_http_chantier_pdf_push(ctx, &ctx->stack);
            if (frame == NULL) {
                return 0;
            }

            frame->list = replies;
            frame->next = 0;
        }
    }

    return n;
}


/*
 * One comment: its author (with "CLO" for an employee) and time, then its
 * text, a paragraph per line, a rule on its left tying its lines.
 */

static ngx_int_t
ngx_http_chantier_pdf_comment(ngx_http_chantier_pdf_ctx_t *ctx,
    yajl_val comment, ngx_uint_t depth, yajl_val parent)
{
    float                          left;
    yajl_val                       author;
    const char                    *name, *role, *body, *s, *nl;
    ngx_http_chantier_pdf_para_t   para;
    ngx_http_chantier_pdf_style_t  style, meta, tag;
    ngx_http_chantier_pdf_colour_e text;

    text = ctx->cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                          : NGX_HTTP_CHANTIER_PDF_TEXT;
    left = 12 + NGX_HTTP_CHANTIER_PDF_INDENT
                * (depth < NGX_HTTP_CHANTIER_PDF_LEVELS
                   ? depth : NGX_HTTP_CHANTIER_PDF_LEVELS);

    author = ngx_http_chantier_pdf_get(comment, "author");
    name = ngx_http_chantier_pdf_string(author, "name");
    role = ngx_http_chantier_pdf_string(author, "role");

    /* the head */
    ngx_http_chantier_pdf_para_init(&para, left, 9);
    para.bar = left - 7;
    para.space_before = depth ? 5 : 8;
    para.keep = 1;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_BOLD, 9, text);
    ngx_http_chantier_pdf_style(&meta, NGX_HTTP_CHANTIER_PDF_REGULAR,
                                NGX_HTTP_CHANTIER_PDF_META,
                                ctx->cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                               : NGX_HTTP_CHANTIER_PDF_MUTED);
    ngx_http_chantier_pdf_style(&tag, NGX_HTTP_CHANTIER_PDF_BOLD, 7,
                                ctx->cancelled ? NGX_HTTP_CHANTIER_PDF_GREY
                                               : NGX_HTTP_CHANTIER_PDF_BRAND);
    tag.tag = 1;

    ctx->runs.nelts = 0;

    if (ngx_http_chantier_pdf_text(ctx, name ? name : "", &style)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (role && (strcmp(role, "employee") == 0 || strcmp(role, "admin") == 0)
        && (ngx_http_chantier_pdf_text(ctx, "   ", &meta) != NGX_OK
            || ngx_http_chantier_pdf_text(ctx, "CLO", &tag) != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_pdf_time(ngx_http_chantier_pdf_string(comment,
                                                                "created_at"),
                                   "    ·  ", ctx->comment_when,
                                   sizeof(ctx->comment_when), 1)
        == NGX_OK)
    {
        if (ngx_http_chantier_pdf_text(ctx, ctx->comment_when, &meta)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts) != NGX_OK) {
        return NGX_ERROR;
    }

    /* deeper than the indentation shows: whom it answers */
    if (depth >= NGX_HTTP_CHANTIER_PDF_LEVELS && parent) {
        name = ngx_http_chantier_pdf_string(
                   ngx_http_chantier_pdf_get(parent, "author"), "name");

        para.space_before = 0;
        meta.face = NGX_HTTP_CHANTIER_PDF_ITALIC;
        ctx->runs.nelts = 0;

        if (ngx_http_chantier_pdf_text(ctx, "En réponse à ", &meta)
            != NGX_OK
            || ngx_http_chantier_pdf_text(ctx, name ? name : "", &meta)
               != NGX_OK
            || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the text: plain, with its line breaks */
    body = ngx_http_chantier_pdf_string(comment, "body");

    ngx_http_chantier_pdf_para_init(&para, left, NGX_HTTP_CHANTIER_PDF_COMMENT);
    para.bar = left - 7;
    para.leading = 1.3f;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR,
                                NGX_HTTP_CHANTIER_PDF_COMMENT, text);

    for (s = body ? body : ""; /* void */; s = nl + 1) {
        nl = strchr(s, '\n');

        ctx->runs.nelts = 0;

        if (ngx_http_chantier_pdf_run(ctx, s, nl ? (size_t) (nl - s)
                                                 : strlen(s), &style)
            != NGX_OK
            || ngx_http_chantier_pdf_para(ctx, &para, 0, ctx->runs.nelts)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (nl == NULL) {
            break;
        }
    }

    /* the next comment formats its head over ctx->comment_when */
    return ngx_http_chantier_pdf_flush(ctx);
}


/*
 * The photos waiting in the group: alone, the whole width (up to 340 pt
 * high); several, two to a row, each fitted in its half.  Aspect kept; a
 * row is one unit, never cut.
 */

static ngx_int_t
ngx_http_chantier_pdf_photos(ngx_http_chantier_pdf_ctx_t *ctx)
{
    float                          box_w, box_h;
    ngx_uint_t                     i, c, n, cols;
    ngx_http_chantier_pdf_run_t   *group;
    ngx_http_chantier_pdf_unit_t   unit;
    ngx_http_chantier_pdf_cell_t  *cell;

    n = ctx->group.nelts;

    if (n == 0) {
        return NGX_OK;
    }

    group = ctx->group.elts;
    cols = (n == 1) ? 1 : 2;
    box_w = (NGX_HTTP_CHANTIER_PDF_WIDTH
             - (cols - 1) * NGX_HTTP_CHANTIER_PDF_GAP) / cols;
    box_h = (n == 1) ? NGX_HTTP_CHANTIER_PDF_PHOTO_H : box_w;

    for (i = 0; i < n; i += cols) {
        memset(&unit, 0, sizeof(ngx_http_chantier_pdf_unit_t));
        unit.type = NGX_HTTP_CHANTIER_PDF_PHOTOS;
        unit.space = 8;
        unit.veil = ctx->cancelled;

        for (c = 0; c < cols && i + c < n; c++) {
            cell = &unit.cells[c];

            ngx_http_chantier_pdf_cell(ctx, &group[i + c], box_w, box_h, cell);

            if (ctx->failed) {
                return NGX_ERROR;
            }

            cell->x = (cols == 1) ? 0 : c * (box_w + NGX_HTTP_CHANTIER_PDF_GAP)
                                        + (box_w - cell->width) / 2;

            if (unit.height < cell->height) {
                unit.height = cell->height;
            }
        }

        unit.ncells = c;

        if (ngx_http_chantier_pdf_push_unit(ctx, &unit) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ctx->group.nelts = 0;

    if (ctx->next_space < 8) {
        ctx->next_space = 8;
    }

    return NGX_OK;
}


/*
 * A photo's size in its box: its pixels' aspect, from the image itself,
 * else from the caller, else from the fiche's "photos" (then it is
 * missing: a frame of its size says so), else 4:3.
 */

static void
ngx_http_chantier_pdf_cell(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_run_t *run, float box_w, float box_h,
    ngx_http_chantier_pdf_cell_t *cell)
{
    float                           w, h, scale;
    ngx_int_t                       i;
    ngx_http_chantier_pdf_photo_t  *photo;

    memset(cell, 0, sizeof(ngx_http_chantier_pdf_cell_t));

    cell->link = run->style.link;
    w = 0;
    h = 0;

    i = ngx_http_chantier_pdf_find_photo(ctx, run->text, run->len);
    cell->photo = i;

    if (i >= 0) {
        photo = &ctx->pdf->photos[i];
        w = (float) photo->width;
        h = (float) photo->height;

        if (w <= 0 || h <= 0) {
            ngx_http_chantier_pdf_json_size(ctx, run->text, run->len, &w, &h);
        }

        if (w > 0 && h > 0) {
            /* the size it will have, for a PNG's resolution */
            scale = (box_w / w < box_h / h) ? box_w / w : box_h / h;
            cell->image = ngx_http_chantier_pdf_image(ctx, i, w * scale,
                                                      h * scale);
        } else {
            cell->image = ngx_http_chantier_pdf_image(ctx, i, box_w, box_h);
        }

        if (cell->image) {
            w = (float) HPDF_Image_GetWidth(cell->image);
            h = (float) HPDF_Image_GetHeight(cell->image);
        }

    } else {
        ngx_http_chantier_pdf_json_size(ctx, run->text, run->len, &w, &h);
    }

    if (w <= 0 || h <= 0) {
        w = 4;
        h = 3;
    }

    scale = (box_w / w < box_h / h) ? box_w / w : box_h / h;

    cell->width = w * scale;
    cell->height = h * scale;
}


static ngx_int_t
ngx_http_chantier_pdf_find_photo(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *id, size_t len)
{
    ngx_uint_t                      i;
    ngx_http_chantier_pdf_photo_t  *photo;

    for (i = 0; i < ctx->pdf->nphotos; i++) {
        photo = &ctx->pdf->photos[i];

        if (photo->len == len && memcmp(photo->id, id, len) == 0
            && photo->data && photo->data_len)
        {
            return (ngx_int_t) i;
        }
    }

    return -1;
}


/* the post's "photos": [{id, width, height}], ids as JSON numbers */

static void
ngx_http_chantier_pdf_json_size(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *id, size_t len, float *w, float *h)
{
    size_t    i;
    yajl_val  photo, v, width, height;

    if (ctx->post_photos == NULL || !YAJL_IS_ARRAY(ctx->post_photos)) {
        return;
    }

    for (i = 0; i < ctx->post_photos->u.array.len; i++) {
        photo = ctx->post_photos->u.array.values[i];
        v = ngx_http_chantier_pdf_get(photo, "id");

        if (v == NULL || !YAJL_IS_NUMBER(v) || v->u.number.r == NULL
            || strlen(v->u.number.r) != len
            || memcmp(v->u.number.r, id, len) != 0)
        {
            continue;
        }

        width = ngx_http_chantier_pdf_get(photo, "width");
        height = ngx_http_chantier_pdf_get(photo, "height");

        if (YAJL_IS_INTEGER(width) && YAJL_IS_INTEGER(height)) {
            *w = (float) YAJL_GET_INTEGER(width);
            *h = (float) YAJL_GET_INTEGER(height);
        }

        return;
    }
}


/*
 * Input photo i as a libharu image, loaded once.  What cannot be read
 * (neither JPEG nor PNG by its magic bytes, a header libharu refuses, a
 * corrupt PNG) is remembered as broken and shows as a frame; libharu's
 * error is cleared so that the document goes on.
 */

static HPDF_Image
ngx_http_chantier_pdf_image(ngx_http_chantier_pdf_ctx_t *ctx, ngx_uint_t i,
    float box_w, float box_h)
{
    HPDF_Image                      image;
    ngx_http_chantier_pdf_photo_t  *photo;

    static const u_char  png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                   '\n' };

    if (ctx->images[i] || ctx->broken[i]) {
        return ctx->images[i];
    }

    if (ngx_http_chantier_pdf_check(ctx, "before a photo") != NGX_OK) {
        return NULL;
    }

    photo = &ctx->pdf->photos[i];
    image = NULL;

    if (photo->data_len >= sizeof(png)
        && memcmp(photo->data, png, sizeof(png)) == 0)
    {
        image = ngx_http_chantier_pdf_png(ctx, photo->data, photo->data_len,
                                          box_w, box_h);

    } else if (photo->data_len >= 3 && photo->data[0] == 0xff
               && photo->data[1] == 0xd8 && photo->data[2] == 0xff
               && photo->data_len <= 0xffffffff)
    {
        image = HPDF_LoadJpegImageFromMem(ctx->doc, photo->data,
                                          (HPDF_UINT) photo->data_len);
    }

    if (ctx->hpdf_error || image == NULL) {
        ctx->hpdf_error = 0;
        HPDF_ResetError(ctx->doc);
        ctx->broken[i] = 1;
        return NULL;
    }

    ctx->images[i] = image;

    return image;
}


/*
 * A PNG, decoded by libpng's simplified API, composited on white (the
 * paper: a transparent PNG over a white page looks the same) and shrunk
 * by a whole factor to no less than 300 dpi at box_w x box_h points.  Its
 * pixels, a third of the RGBA ones, go to libharu, which keeps them until
 * the save deflates them; ours are freed at once.
 */

static HPDF_Image
ngx_http_chantier_pdf_png(ngx_http_chantier_pdf_ctx_t *ctx,
    const u_char *data, size_t len, float box_w, float box_h)
{
    u_char      *pixels;
    png_image    png;
    png_color    white;
    HPDF_Image   image;
    ngx_uint_t   k, kw, kh, w, h;

    memset(&png, 0, sizeof(png_image));
    png.version = PNG_IMAGE_VERSION;

    if (!png_image_begin_read_from_memory(&png, data, len)) {
        return NULL;
    }

    if (png.width == 0 || png.height == 0
        || (uint64_t) png.width * png.height
           > NGX_HTTP_CHANTIER_PDF_PNG_PIXELS)
    {
        png_image_free(&png);
        return NULL;
    }

    png.format = PNG_FORMAT_RGB;

    pixels = malloc(PNG_IMAGE_SIZE(png));
    if (pixels == NULL) {
        png_image_free(&png);
        (void) ngx_http_chantier_pdf_fail(ctx, "out of memory");
        return NULL;
    }

    white.red = 255;
    white.green = 255;
    white.blue = 255;

    if (!png_image_finish_read(&png, &white, pixels, 0, NULL)) {
        free(pixels);
        return NULL;
    }

    /* pixels per point at 300 dpi: 300 / 72 */
    kw = (box_w > 0) ? (ngx_uint_t) (png.width * 72
                                     / (box_w * NGX_HTTP_CHANTIER_PDF_DPI))
                     : 1;
    kh = (box_h > 0) ? (ngx_uint_t) (png.height * 72
                                     / (box_h * NGX_HTTP_CHANTIER_PDF_DPI))
                     : 1;
    k = (kw < kh) ? kw : kh;

    w = png.width;
    h = png.height;

    if (k >= 2) {
        w /= k;
        h /= k;
        ngx_http_chantier_pdf_shrink(pixels, png.width, k, w, h);
    }

    image = HPDF_LoadRawImageFromMem(ctx->doc, pixels, (HPDF_UINT) w,
                                     (HPDF_UINT) h, HPDF_CS_DEVICE_RGB, 8);
    free(pixels);

    return image;
}


/*
 * A box filter of k x k pixels, in place: the pixel written at (oy, ox)
 * is never before one still to be read, since k * width >= ow.
 */

static void
ngx_http_chantier_pdf_shrink(u_char *pixels, ngx_uint_t width, ngx_uint_t k,
    ngx_uint_t ow, ngx_uint_t oh)
{
    u_char      *src, *dst;
    ngx_uint_t   ox, oy, dx, dy, c, sum;

    dst = pixels;

    for (oy = 0; oy < oh; oy++) {
        for (ox = 0; ox < ow; ox++) {
            for (c = 0; c < 3; c++) {
                sum = 0;

                for (dy = 0; dy < k; dy++) {
                    src = pixels + ((oy * k + dy) * width + ox * k) * 3 + c;

                    for (dx = 0; dx < k; dx++) {
                        sum += src[dx * 3];
                    }
                }

                *dst++ = (u_char) (sum / (k * k));
            }
        }
    }
}


/*
 * The runs [from, to) of ctx->runs as the lines of a paragraph, each
 * pushed as a unit.  No visible text: one empty line, of the paragraph's
 * size.
 */

static ngx_int_t
ngx_http_chantier_pdf_para(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_para_t *para, ngx_uint_t from, ngx_uint_t to)
{
    ngx_uint_t                    first;
    ngx_http_chantier_pdf_run_t  *runs;
    ngx_http_chantier_pdf_pos_t   pos, end, next;

    runs = ctx->runs.elts;
    pos.run = from;
    pos.off = 0;

    if (!ngx_http_chantier_pdf_visible(ctx, from, to)) {
        if (ngx_http_chantier_pdf_line(ctx, para, pos, pos, to, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        goto done;
    }

    for (first = 1; /* void */; first = 0) {

        /* a line that is not the first begins after the spaces */
        while (!first && pos.run < to) {
            if (pos.off >= runs[pos.run].len) {
                pos.run++;
                pos.off = 0;

            } else if (runs[pos.run].text[pos.off] == ' '
                       || runs[pos.run].text[pos.off] == '\t')
            {
                pos.off++;

            } else {
                break;
            }
        }

        if (pos.run >= to) {
            break;
        }

        ngx_http_chantier_pdf_break(ctx, para->width, pos, to, &end, &next);

        if (ngx_http_chantier_pdf_line(ctx, para, pos, end, to, first)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        pos = next;
    }

done:

    if (ctx->next_space < para->space_after) {
        ctx->next_space = para->space_after;
    }

    return NGX_OK;
}


/*
 * Where the line that starts at "start" ends: at the last space where a
 * line may break before the text passes "avail" points, or, for a word
 * longer than the line, where it passes (the word goes on on the next
 * line).  "next" is where the next line starts.  Nothing passes: the end
 * of the runs.
 *
 * French typography puts a space inside « » and before : ; ! ? and
 * between the groups of a number (1 250 €), where a line must not break;
 * people type an ordinary space there: such a space does not break.
 */

static void
ngx_http_chantier_pdf_break(ngx_http_chantier_pdf_ctx_t *ctx, float avail,
    ngx_http_chantier_pdf_pos_t start, ngx_uint_t to,
    ngx_http_chantier_pdf_pos_t *end, ngx_http_chantier_pdf_pos_t *next)
{
    float                         w, cw;
    uint32_t                      c, prev;
    ngx_uint_t                    chars, space;
    const u_char                 *p, *q;
    ngx_http_chantier_pdf_run_t  *run;
    ngx_http_chantier_pdf_pos_t   at, brk, after;

    at = start;
    brk = start;
    after = start;
    w = 0;
    chars = 0;
    space = 0;
    prev = 0;

    while (at.run < to) {
        run = (ngx_http_chantier_pdf_run_t *) ctx->runs.elts + at.run;

        if (at.off >= run->len) {
            at.run++;
            at.off = 0;
            continue;
        }

        p = run->text + at.off;
        q = p;
        c = ngx_http_chantier_pdf_utf8(&q, run->text + run->len);

        cw = ngx_http_chantier_pdf_advance(ctx, run->style.face, c)
             * run->style.size / 1000;

        if ((c == ' ' || c == '\t')
            && ngx_http_chantier_pdf_breaks(ctx, prev, at.run,
                                            at.off + (q - p), to))
        {
            space = 1;
            brk = at;
            after.run = at.run;
            after.off = at.off + (q - p);

            if (w + cw > avail) {
                *end = brk;
                *next = after;
                return;
            }

        } else if (w + cw > avail && chars) {
            if (space) {
                *end = brk;
                *next = after;

            } else {
                *end = at;
                *next = at;
            }

            return;
        }

        w += cw;
        chars++;
        at.off += q - p;
        prev = c;
    }

    *end = at;
    *next = at;
}


/* a line may break at a space between prev and the character at (r, off) */

static ngx_uint_t
ngx_http_chantier_pdf_breaks(ngx_http_chantier_pdf_ctx_t *ctx, uint32_t prev,
    ngx_uint_t r, size_t off, ngx_uint_t to)
{
    uint32_t                      c;
    const u_char                 *p;
    ngx_http_chantier_pdf_run_t  *runs;

    runs = ctx->runs.elts;

    while (r < to && off >= runs[r].len) {
        r++;
        off = 0;
    }

    if (r >= to || runs[r].photo) {
        return 1;
    }

    p = runs[r].text + off;
    c = ngx_http_chantier_pdf_utf8(&p, runs[r].text + runs[r].len);

    if (prev == 0xab                                          /* « */
        || c == 0xbb || c == ':' || c == ';' || c == '!' || c == '?'
        || c == 0x20ac || c == '%'                            /* » € */
        || (prev >= '0' && prev <= '9' && c >= '0' && c <= '9'))
    {
        return 0;
    }

    return 1;
}


/*
 * One line: the pieces of the runs between start and end, placed left to
 * right, the spaces that end it dropped, the paragraph's marker before
 * the first.  Its height is that of its largest text, all on one
 * baseline.
 */

static ngx_int_t
ngx_http_chantier_pdf_line(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_para_t *para, ngx_http_chantier_pdf_pos_t start,
    ngx_http_chantier_pdf_pos_t end, ngx_uint_t to, ngx_uint_t first)
{
    float                          x, size;
    size_t                         a, b;
    ngx_uint_t                     r;
    ngx_http_chantier_pdf_run_t   *runs;
    ngx_http_chantier_pdf_seg_t   *seg;
    ngx_http_chantier_pdf_unit_t   unit;

    memset(&unit, 0, sizeof(ngx_http_chantier_pdf_unit_t));
    unit.type = NGX_HTTP_CHANTIER_PDF_LINE;
    unit.first = ctx->segs.nelts;

    runs = ctx->runs.elts;
    x = para->left;
    size = 0;

    for (r = start.run; r <= end.run && r < to; r++) {
        a = (r == start.run) ? start.off : 0;
        b = (r == end.run) ? end.off : runs[r].len;

        if (b <= a) {
            continue;
        }

        seg = ngx_http_chantier_pdf_push(ctx, &ctx->segs);
        if (seg == NULL) {
            return NGX_ERROR;
        }

        seg->text = runs[r].text + a;
        seg->len = b - a;
        seg->style = runs[r].style;
        seg->x = x;
        seg->width = ngx_http_chantier_pdf_width(ctx, &seg->style, seg->text,
                                                 seg->len);
        x += seg->width;

        if (size < seg->style.size) {
            size = seg->style.size;
        }
    }

    /* the spaces at the end of the line */
    while (ctx->segs.nelts > unit.first) {
        seg = (ngx_http_chantier_pdf_seg_t *) ctx->segs.elts
              + ctx->segs.nelts - 1;

        while (seg->len
               && (seg->text[seg->len - 1] == ' '
                   || seg->text[seg->len - 1] == '\t'))
        {
            seg->len--;
        }

        if (seg->len) {
            seg->width = ngx_http_chantier_pdf_width(ctx, &seg->style,
                                                     seg->text, seg->len);
            break;
        }

        ctx->segs.nelts--;
    }

    if (first && para->marker_len) {
        seg = ngx_http_chantier_pdf_push(ctx, &ctx->segs);
        if (seg == NULL) {
            return NGX_ERROR;
        }

        seg->text = para->marker;
        seg->len = para->marker_len;
        seg->style = para->marker_style;
        seg->width = ngx_http_chantier_pdf_width(ctx, &seg->style, seg->text,
                                                 seg->len);
        seg->x = para->marker_right ? para->left - 6 - seg->width
                                    : para->marker_x;

        if (size < seg->style.size) {
            size = seg->style.size;
        }
    }

    if (size == 0) {
        size = para->size;
    }

    unit.last = ctx->segs.nelts;
    unit.height = size * para->leading;
    unit.ascent = size * (para->leading - NGX_HTTP_CHANTIER_PDF_ASCENT
                          - NGX_HTTP_CHANTIER_PDF_DESCENT) / 2
                  + size * NGX_HTTP_CHANTIER_PDF_ASCENT;
    unit.space = first ? para->space_before : 0;
    unit.bar = para->bar;
    unit.keep = para->keep;

    return ngx_http_chantier_pdf_push_unit(ctx, &unit);
}


/* a rule across the page, kept with what follows: a post begins */

static ngx_int_t
ngx_http_chantier_pdf_separator(ngx_http_chantier_pdf_ctx_t *ctx,
    float space)
{
    ngx_http_chantier_pdf_unit_t  unit;

    memset(&unit, 0, sizeof(ngx_http_chantier_pdf_unit_t));
    unit.type = NGX_HTTP_CHANTIER_PDF_SEPARATOR;
    unit.space = space;
    unit.height = 10;
    unit.keep = 1;

    return ngx_http_chantier_pdf_push_unit(ctx, &unit);
}


/*
 * The queue of units.  A unit that must stay with the next one waits; the
 * next one that need not places them all: on this page when they fit
 * below, else on the next page (if they fit in a page at all: a chain
 * taller than a page is placed unit by unit).  The space above a unit is
 * dropped at the top of a page.
 */

static ngx_int_t
ngx_http_chantier_pdf_push_unit(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit)
{
    ngx_http_chantier_pdf_unit_t  *slot;

    if (unit->space < ctx->next_space) {
        unit->space = ctx->next_space;
    }

    ctx->next_space = 0;

    slot = ngx_http_chantier_pdf_push(ctx, &ctx->units);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    *slot = *unit;

    if (unit->keep) {
        return NGX_OK;
    }

    return ngx_http_chantier_pdf_flush(ctx);
}


static ngx_int_t
ngx_http_chantier_pdf_flush(ngx_http_chantier_pdf_ctx_t *ctx)
{
    float                          total, space;
    ngx_uint_t                     i, n;
    ngx_http_chantier_pdf_unit_t  *units;

    units = ctx->units.elts;
    n = ctx->units.nelts;

    if (n == 0) {
        return ngx_http_chantier_pdf_check(ctx, "drawing");
    }

    total = 0;

    for (i = 0; i < n; i++) {
        total += units[i].space + units[i].height;
    }

    if (!ctx->at_top
        && ctx->y - total < NGX_HTTP_CHANTIER_PDF_BOTTOM
        && total - units[0].space <= NGX_HTTP_CHANTIER_PDF_HEIGHT
        && ngx_http_chantier_pdf_new_page(ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        space = ctx->at_top ? 0 : units[i].space;

        if (!ctx->at_top
            && ctx->y - space - units[i].height < NGX_HTTP_CHANTIER_PDF_BOTTOM)
        {
            if (ngx_http_chantier_pdf_new_page(ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            space = 0;
        }

        ctx->y -= space;
        ngx_http_chantier_pdf_draw(ctx, &units[i]);
        ctx->y -= units[i].height;
        ctx->at_top = 0;
    }

    ctx->units.nelts = 0;
    ctx->segs.nelts = 0;

    return ngx_http_chantier_pdf_check(ctx, "drawing");
}


static ngx_int_t
ngx_http_chantier_pdf_new_page(ngx_http_chantier_pdf_ctx_t *ctx)
{
    HPDF_Page   page, *slot;

    page = HPDF_AddPage(ctx->doc);
    if (page == NULL) {
        return ngx_http_chantier_pdf_check(ctx, "adding a page");
    }

    (void) HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);

    slot = ngx_http_chantier_pdf_push(ctx, &ctx->pages);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    *slot = page;

    ctx->page = page;
    ctx->y = NGX_HTTP_CHANTIER_PDF_TOP;
    ctx->at_top = 1;
    ctx->cur_font = NULL;
    ctx->cur_colour = -1;

    return NGX_OK;
}


/* the unit at ctx->y, its top */

static void
ngx_http_chantier_pdf_draw(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit)
{
    float  y;

    switch (unit->type) {

    case NGX_HTTP_CHANTIER_PDF_LINE:
        ngx_http_chantier_pdf_draw_line(ctx, unit);
        break;

    case NGX_HTTP_CHANTIER_PDF_PHOTOS:
        ngx_http_chantier_pdf_draw_photos(ctx, unit);
        break;

    default: /* NGX_HTTP_CHANTIER_PDF_SEPARATOR */
        y = ctx->y - unit->height / 2;
        ngx_http_chantier_pdf_stroke(ctx, NGX_HTTP_CHANTIER_PDF_LEFT, y,
                                     NGX_HTTP_CHANTIER_PDF_LEFT
                                     + NGX_HTTP_CHANTIER_PDF_WIDTH, y, 0.7f,
                                     NGX_HTTP_CHANTIER_PDF_RULE);
        break;
    }
}


static void
ngx_http_chantier_pdf_draw_line(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit)
{
    float                         baseline, x;
    ngx_uint_t                    i;
    ngx_http_chantier_pdf_seg_t  *segs;

    segs = ctx->segs.elts;
    baseline = ctx->y - unit->ascent;

    if (unit->bar > 0) {
        x = NGX_HTTP_CHANTIER_PDF_LEFT + unit->bar;
        ngx_http_chantier_pdf_stroke(ctx, x, ctx->y, x, ctx->y - unit->height,
                                     1.5f, NGX_HTTP_CHANTIER_PDF_RULE);
    }

    if (unit->first == unit->last) {
        return;
    }

    (void) HPDF_Page_BeginText(ctx->page);

    for (i = unit->first; i < unit->last; i++) {
        ngx_http_chantier_pdf_use(ctx, &segs[i].style);
        (void) HPDF_Page_TextOut(ctx->page,
                                 NGX_HTTP_CHANTIER_PDF_LEFT + segs[i].x,
                                 baseline,
                                 ngx_http_chantier_pdf_cstr(ctx, segs[i].text,
                                                            segs[i].len));
    }

    (void) HPDF_Page_EndText(ctx->page);

    for (i = unit->first; i < unit->last; i++) {
        ngx_http_chantier_pdf_draw_marks(ctx, &segs[i], baseline);
    }

    ngx_http_chantier_pdf_draw_links(ctx, unit, baseline);
}


/* underline, strike, the frame of a tag: in the colour of the text */

static void
ngx_http_chantier_pdf_draw_marks(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_seg_t *seg, float baseline)
{
    float      x, y, s;
    HPDF_Page  page;
    const float  *c;

    page = ctx->page;
    x = NGX_HTTP_CHANTIER_PDF_LEFT + seg->x;
    s = seg->style.size;

    if (seg->style.underline) {
        y = baseline - 0.12f * s;
        ngx_http_chantier_pdf_stroke(ctx, x, y, x + seg->width, y, 0.06f * s,
                                     seg->style.colour);
    }

    if (seg->style.strike) {
        y = baseline + 0.3f * s;
        ngx_http_chantier_pdf_stroke(ctx, x, y, x + seg->width, y, 0.06f * s,
                                     seg->style.colour);
    }

    if (seg->style.tag) {
        c = ngx_http_chantier_pdf_colours[seg->style.colour];

        (void) HPDF_Page_SetRGBStroke(page, c[0], c[1], c[2]);
        (void) HPDF_Page_SetLineWidth(page, 0.7f);
        (void) HPDF_Page_Rectangle(page, x - 3, baseline - 0.32f * s,
                                   seg->width + 6, 1.36f * s);
        (void) HPDF_Page_Stroke(page);
    }
}


/* one annotation per link on a line, over its pieces in a row */

static void
ngx_http_chantier_pdf_draw_links(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit, float baseline)
{
    float                         left, right, size;
    ngx_uint_t                    i, j;
    ngx_http_chantier_pdf_seg_t  *segs;

    segs = ctx->segs.elts;

    for (i = unit->first; i < unit->last; i = j) {
        j = i + 1;

        if (segs[i].style.link == NULL) {
            continue;
        }

        left = segs[i].x;
        right = segs[i].x + segs[i].width;
        size = segs[i].style.size;

        while (j < unit->last && segs[j].style.link == segs[i].style.link) {
            right = segs[j].x + segs[j].width;

            if (size < segs[j].style.size) {
                size = segs[j].style.size;
            }

            j++;
        }

        ngx_http_chantier_pdf_link(ctx, NGX_HTTP_CHANTIER_PDF_LEFT + left,
                                   baseline - 0.3f * size,
                                   NGX_HTTP_CHANTIER_PDF_LEFT + right,
                                   baseline + 0.95f * size,
                                   segs[i].style.link);
    }
}


/*
 * A row of photos.  A photo that is missing is a frame that says so.  In
 * a cancelled post, a white veil at 55 % greys them as the page does.
 */

static void
ngx_http_chantier_pdf_draw_photos(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_unit_t *unit)
{
    float                          x, y;
    ngx_uint_t                     i;
    ngx_http_chantier_pdf_cell_t  *cell;
    ngx_http_chantier_pdf_style_t  style;

    for (i = 0; i < unit->ncells; i++) {
        cell = &unit->cells[i];
        x = NGX_HTTP_CHANTIER_PDF_LEFT + cell->x;
        y = ctx->y - cell->height;

        if (cell->image) {
            (void) HPDF_Page_DrawImage(ctx->page, cell->image, x, y,
                                       cell->width, cell->height);

        } else {
            ngx_http_chantier_pdf_fill(ctx, NGX_HTTP_CHANTIER_PDF_PAPER);
            (void) HPDF_Page_Rectangle(ctx->page, x, y, cell->width,
                                       cell->height);
            (void) HPDF_Page_Fill(ctx->page);

            (void) HPDF_Page_SetRGBStroke(ctx->page, 0.82f, 0.835f, 0.859f);
            (void) HPDF_Page_SetLineWidth(ctx->page, 0.7f);
            (void) HPDF_Page_Rectangle(ctx->page, x, y, cell->width,
                                       cell->height);
            (void) HPDF_Page_Stroke(ctx->page);

            ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_ITALIC,
                                        NGX_HTTP_CHANTIER_PDF_META,
                                        NGX_HTTP_CHANTIER_PDF_MUTED);
            ngx_http_chantier_pdf_text_at(ctx, x + cell->width / 2,
                                          y + cell->height / 2 - 3, &style,
                                          "Photo indisponible", 1);
        }

        if (unit->veil) {
            if (ctx->veil == NULL) {
                ctx->veil = HPDF_CreateExtGState(ctx->doc);
                (void) HPDF_ExtGState_SetAlphaFill(ctx->veil, 0.55f);
            }

            (void) HPDF_Page_GSave(ctx->page);
            (void) HPDF_Page_SetExtGState(ctx->page, ctx->veil);
            (void) HPDF_Page_SetRGBFill(ctx->page, 1, 1, 1);

            /* a little wider: no line of the photo left at its edges */
            (void) HPDF_Page_Rectangle(ctx->page, x - 0.5f, y - 0.5f,
                                       cell->width + 1, cell->height + 1);
            (void) HPDF_Page_Fill(ctx->page);
            (void) HPDF_Page_GRestore(ctx->page);

            ctx->cur_font = NULL;
            ctx->cur_colour = -1;
        }

        if (cell->link) {
            ngx_http_chantier_pdf_link(ctx, x, y, x + cell->width,
                                       y + cell->height, cell->link);
        }
    }
}


/* "<code> — page N / M" on every page, now that M is known */

static ngx_int_t
ngx_http_chantier_pdf_footers(ngx_http_chantier_pdf_ctx_t *ctx)
{
    float                          left, right;
    char                           text[160];
    HPDF_Page                     *pages;
    ngx_uint_t                     i, n;
    ngx_http_chantier_pdf_style_t  style;

    if (ngx_http_chantier_pdf_flush(ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    pages = ctx->pages.elts;
    n = ctx->pages.nelts;
    left = NGX_HTTP_CHANTIER_PDF_LEFT;
    right = NGX_HTTP_CHANTIER_PDF_LEFT + NGX_HTTP_CHANTIER_PDF_WIDTH;

    ngx_http_chantier_pdf_style(&style, NGX_HTTP_CHANTIER_PDF_REGULAR, 8,
                                NGX_HTTP_CHANTIER_PDF_MUTED);

    for (i = 0; i < n; i++) {
        ctx->page = pages[i];
        ctx->cur_font = NULL;
        ctx->cur_colour = -1;

        ngx_http_chantier_pdf_stroke(ctx, left, NGX_HTTP_CHANTIER_PDF_FOOTER
                                                + 12,
                                     right, NGX_HTTP_CHANTIER_PDF_FOOTER + 12,
                                     0.5f, NGX_HTTP_CHANTIER_PDF_RULE);

        (void) snprintf(text, sizeof(text), "Fiche d’avancement · exportée "
                        "le %s", ctx->export_day);
        ngx_http_chantier_pdf_text_at(ctx, left, NGX_HTTP_CHANTIER_PDF_FOOTER,
                                      &style, text, 0);

        (void) snprintf(text, sizeof(text), "%.64s — page %u / %u", ctx->code,
                        (unsigned) (i + 1), (unsigned) n);
        ngx_http_chantier_pdf_text_at(ctx, right, NGX_HTTP_CHANTIER_PDF_FOOTER,
                                      &style, text, 2);
    }

    return ngx_http_chantier_pdf_check(ctx, "footers");
}


/*
 * libharu writes the file into its document's stream: HPDF_SaveToStream()
 * makes a memory stream of 4 KB blocks there unless one exists, and then
 * HPDF_GetContents() would copy it out, two copies of the whole PDF.  A
 * callback stream put there first (the same in libharu 2.3 and 2.4)
 * receives the bytes as they are written, into the one buffer that is
 * returned.  It starts at the size of the photos, which the file holds.
 */

static ngx_int_t
ngx_http_chantier_pdf_save(ngx_http_chantier_pdf_ctx_t *ctx)
{
    u_char       *out;
    size_t        size;
    ngx_uint_t    i;
    HPDF_Stream   stream;

    size = 512 * 1024;

    for (i = 0; i < ctx->pdf->nphotos; i++) {
        if (ctx->images && ctx->images[i]) {
            size += ctx->pdf->photos[i].data_len;
        }
    }

    ctx->out = malloc(size);
    if (ctx->out == NULL) {
        return ngx_http_chantier_pdf_fail(ctx, "out of memory");
    }

    ctx->out_size = size;

    stream = HPDF_CallbackWriter_New(ctx->doc->mmgr,
                                     ngx_http_chantier_pdf_write, ctx);
    if (stream == NULL) {
        return ngx_http_chantier_pdf_check(ctx, "saving");
    }

    ctx->doc->stream = stream;

    if (HPDF_SaveToStream(ctx->doc) != HPDF_OK || ctx->failed) {
        if (ctx->failed) {
            return NGX_ERROR;
        }

        return ngx_http_chantier_pdf_check(ctx, "saving");
    }

    /* the document goes first: its memory, then the slack of ours */
    HPDF_Free(ctx->doc);
    ctx->doc = NULL;

    if (ctx->out_size > ctx->out_len) {
        out = realloc(ctx->out, ctx->out_len);

        if (out) {
            ctx->out = out;
            ctx->out_size = ctx->out_len;
        }
    }

    return NGX_OK;
}


static HPDF_STATUS
ngx_http_chantier_pdf_write(HPDF_Stream stream, const HPDF_BYTE *ptr,
    HPDF_UINT size)
{
    u_char                       *out;
    size_t                        n;
    ngx_http_chantier_pdf_ctx_t  *ctx;

    ctx = stream->attr;

    if (ctx->out_len + size > ctx->out_size) {
        n = 2 * ctx->out_size;

        if (n < ctx->out_len + size) {
            n = ctx->out_len + size;
        }

        out = realloc(ctx->out, n);
        if (out == NULL) {
            (void) ngx_http_chantier_pdf_fail(ctx, "out of memory");
            return HPDF_FAILD_TO_ALLOC_MEM;
        }

        ctx->out = out;
        ctx->out_size = n;
    }

    memcpy(ctx->out + ctx->out_len, ptr, size);
    ctx->out_len += size;

    return HPDF_OK;
}


static void
ngx_http_chantier_pdf_cleanup(ngx_http_chantier_pdf_ctx_t *ctx)
{
    ngx_uint_t  i, j;

    if (ctx->doc) {
        HPDF_Free(ctx->doc);
    }

    if (ctx->fiche) {
        yajl_tree_free(ctx->fiche);
    }

    for (i = 0; i < NGX_HTTP_CHANTIER_PDF_FACES; i++) {
        for (j = 0; j < 256; j++) {
            free(ctx->fonts[i].widths[j]);
        }
    }

    free(ctx->pages.elts);
    free(ctx->runs.elts);
    free(ctx->segs.elts);
    free(ctx->units.elts);
    free(ctx->group.elts);
    free(ctx->stack.elts);
    free(ctx->images);
    free(ctx->broken);
    free(ctx->scratch);
    free(ctx->out);
}


/* building blocks */

/* a run of text, len bytes of it */

static ngx_int_t
ngx_http_chantier_pdf_run(ngx_http_chantier_pdf_ctx_t *ctx, const char *text,
    size_t len, ngx_http_chantier_pdf_style_t *style)
{
    ngx_http_chantier_pdf_run_t  *run;

    run = ngx_http_chantier_pdf_push(ctx, &ctx->runs);
    if (run == NULL) {
        return NGX_ERROR;
    }

    run->text = (const u_char *) text;
    run->len = len;
    run->style = *style;
    run->photo = 0;

    return NGX_OK;
}


/* a run of a NUL-terminated text */

static ngx_int_t
ngx_http_chantier_pdf_text(ngx_http_chantier_pdf_ctx_t *ctx, const char *text,
    ngx_http_chantier_pdf_style_t *style)
{
    return ngx_http_chantier_pdf_run(ctx, text, strlen(text), style);
}


static void
ngx_http_chantier_pdf_style(ngx_http_chantier_pdf_style_t *style,
    ngx_uint_t face, float size, ngx_http_chantier_pdf_colour_e colour)
{
    memset(style, 0, sizeof(ngx_http_chantier_pdf_style_t));

    style->face = (u_char) face;
    style->size = size;
    style->colour = (u_char) colour;
}


static void
ngx_http_chantier_pdf_para_init(ngx_http_chantier_pdf_para_t *para,
    float left, float size)
{
    memset(para, 0, sizeof(ngx_http_chantier_pdf_para_t));

    para->left = left;
    para->width = NGX_HTTP_CHANTIER_PDF_WIDTH - left;
    para->size = size;
    para->leading = NGX_HTTP_CHANTIER_PDF_LEADING;
}


/* runs [from, to) have something else than spaces */

static ngx_uint_t
ngx_http_chantier_pdf_visible(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_uint_t from, ngx_uint_t to)
{
    size_t                        i;
    ngx_uint_t                    r;
    ngx_http_chantier_pdf_run_t  *runs;

    runs = ctx->runs.elts;

    for (r = from; r < to; r++) {
        if (runs[r].photo) {
            continue;
        }

        for (i = 0; i < runs[r].len; i++) {
            if (runs[r].text[i] != ' ' && runs[r].text[i] != '\t') {
                return 1;
            }
        }
    }

    return 0;
}


static float
ngx_http_chantier_pdf_width(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_style_t *style, const u_char *p, size_t len)
{
    ngx_int_t      units;
    const u_char  *end;

    end = p + len;
    units = 0;

    while (p < end) {
        units += ngx_http_chantier_pdf_advance(ctx, style->face,
                                               ngx_http_chantier_pdf_utf8(&p,
                                                                          end));
    }

    return units * style->size / 1000;
}


/*
 * The advance width of a character, in 1/1000 em, as libharu counts it
 * when it draws: a character beyond U+FFFF is a space to its UTF-8
 * encoder, and a tab is drawn as a space (ngx_http_chantier_pdf_cstr()).
 * libharu looks each character up in the font's cmap, segment by segment:
 * the answers are kept, 256 characters a page.
 */

static ngx_int_t
ngx_http_chantier_pdf_advance(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_uint_t face, uint32_t c)
{
    short                         *page;
    ngx_uint_t                     i;
    ngx_http_chantier_pdf_font_t  *font;

    if (c == '\t' || c > 0xffff) {
        c = ' ';
    }

    font = &ctx->fonts[face];

    if (font->font == NULL && ngx_http_chantier_pdf_font(ctx, face) == NULL) {
        return 600;
    }

    page = font->widths[c >> 8];

    if (page == NULL) {
        page = malloc(256 * sizeof(short));
        if (page == NULL) {
            (void) ngx_http_chantier_pdf_fail(ctx, "out of memory");
            return 600;
        }

        for (i = 0; i < 256; i++) {
            page[i] = -1;
        }

        font->widths[c >> 8] = page;
    }

    if (page[c & 0xff] < 0) {
        i = (ngx_uint_t) HPDF_Font_GetUnicodeWidth(font->font,
                                                   (HPDF_UNICODE) c);
        page[c & 0xff] = (short) (i < 0x7fff ? i : 0);
    }

    return page[c & 0xff];
}


/* the character at *pp, which yajl checked to be UTF-8 */

static uint32_t
ngx_http_chantier_pdf_utf8(const u_char **pp, const u_char *end)
{
    uint32_t       c;
    ngx_uint_t     n, i;
    const u_char  *p;

    p = *pp;
    c = *p++;

    if (c < 0x80) {
        n = 0;

    } else if ((c & 0xe0) == 0xc0) {
        c &= 0x1f;
        n = 1;

    } else if ((c & 0xf0) == 0xe0) {
        c &= 0x0f;
        n = 2;

    } else if ((c & 0xf8) == 0xf0) {
        c &= 0x07;
        n = 3;

    } else {
        *pp = p;
        return 0xfffd;
    }

    for (i = 0; i < n && p < end && (*p & 0xc0) == 0x80; i++) {
        c = (c << 6) | (*p++ & 0x3f);
    }

    *pp = p;

    return (i == n) ? c : 0xfffd;
}


/* the font, size and colour of a text object, set only when they change */

static void
ngx_http_chantier_pdf_use(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_style_t *style)
{
    HPDF_Font  font;

    font = ngx_http_chantier_pdf_font(ctx, style->face);

    if (font == NULL) {
        return;
    }

    if (font != ctx->cur_font || style->size != ctx->cur_size) {
        (void) HPDF_Page_SetFontAndSize(ctx->page, font, style->size);
        ctx->cur_font = font;
        ctx->cur_size = style->size;
    }

    ngx_http_chantier_pdf_fill(ctx, style->colour);
}


static void
ngx_http_chantier_pdf_fill(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_colour_e colour)
{
    const float  *c;

    if ((ngx_int_t) colour == ctx->cur_colour) {
        return;
    }

    c = ngx_http_chantier_pdf_colours[colour];
    (void) HPDF_Page_SetRGBFill(ctx->page, c[0], c[1], c[2]);
    ctx->cur_colour = colour;
}


static void
ngx_http_chantier_pdf_stroke(ngx_http_chantier_pdf_ctx_t *ctx, float x1,
    float y1, float x2, float y2, float width,
    ngx_http_chantier_pdf_colour_e colour)
{
    const float  *c;

    c = ngx_http_chantier_pdf_colours[colour];
    (void) HPDF_Page_SetRGBStroke(ctx->page, c[0], c[1], c[2]);
    (void) HPDF_Page_SetLineWidth(ctx->page, width);
    (void) HPDF_Page_MoveTo(ctx->page, x1, y1);
    (void) HPDF_Page_LineTo(ctx->page, x2, y2);
    (void) HPDF_Page_Stroke(ctx->page);
}


/* a text of ours on one line; align: 0 left, 1 centred, 2 right at x */

static void
ngx_http_chantier_pdf_text_at(ngx_http_chantier_pdf_ctx_t *ctx, float x,
    float y, ngx_http_chantier_pdf_style_t *style, const char *text,
    ngx_uint_t align)
{
    float   w;
    size_t  len;

    len = strlen(text);

    if (align) {
        w = ngx_http_chantier_pdf_width(ctx, style, (const u_char *) text,
                                        len);
        x -= (align == 1) ? w / 2 : w;
    }

    (void) HPDF_Page_BeginText(ctx->page);
    ngx_http_chantier_pdf_use(ctx, style);
    (void) HPDF_Page_TextOut(ctx->page, x, y,
                             ngx_http_chantier_pdf_cstr(ctx,
                                                        (const u_char *) text,
                                                        len));
    (void) HPDF_Page_EndText(ctx->page);
}


/* a clickable area to an address; no border */

static void
ngx_http_chantier_pdf_link(ngx_http_chantier_pdf_ctx_t *ctx, float left,
    float bottom, float right, float top, const char *uri)
{
    HPDF_Rect        rect;
    HPDF_Annotation  annot;

    rect.left = left;
    rect.bottom = bottom;
    rect.right = right;
    rect.top = top;

    annot = HPDF_Page_CreateURILinkAnnot(ctx->page, rect, uri);

    if (annot) {
        (void) HPDF_LinkAnnot_SetBorderStyle(annot, 0, 0, 0);
    }
}


/* libharu draws NUL-terminated texts: the piece, copied, tabs as spaces */

static const char *
ngx_http_chantier_pdf_cstr(ngx_http_chantier_pdf_ctx_t *ctx, const u_char *p,
    size_t len)
{
    char    *s;
    size_t   i, size;

    if (len + 1 > ctx->scratch_size) {
        size = (len + 1 > 1024) ? len + 1 : 1024;

        s = realloc(ctx->scratch, size);
        if (s == NULL) {
            (void) ngx_http_chantier_pdf_fail(ctx, "out of memory");
            return "";
        }

        ctx->scratch = s;
        ctx->scratch_size = size;
    }

    for (i = 0; i < len; i++) {
        ctx->scratch[i] = (p[i] == '\t') ? ' ' : (char) p[i];
    }

    ctx->scratch[len] = '\0';

    return ctx->scratch;
}


static void *
ngx_http_chantier_pdf_push(ngx_http_chantier_pdf_ctx_t *ctx,
    ngx_http_chantier_pdf_array_t *a)
{
    void        *elts;
    ngx_uint_t   n;

    if (a->nelts == a->nalloc) {
        n = a->nalloc ? 2 * a->nalloc : 16;

        elts = realloc(a->elts, n * a->size);
        if (elts == NULL) {
            (void) ngx_http_chantier_pdf_fail(ctx, "out of memory");
            return NULL;
        }

        a->elts = elts;
        a->nalloc = n;
    }

    return (u_char *) a->elts + a->size * a->nelts++;
}


/* the JSON tree */

static yajl_val
ngx_http_chantier_pdf_get(yajl_val object, const char *key)
{
    size_t  i;

    if (object == NULL || !YAJL_IS_OBJECT(object)) {
        return NULL;
    }

    for (i = 0; i < object->u.object.len; i++) {
        if (strcmp(object->u.object.keys[i], key) == 0) {
            return object->u.object.values[i];
        }
    }

    return NULL;
}


static const char *
ngx_http_chantier_pdf_string(yajl_val object, const char *key)
{
    yajl_val  v;

    v = ngx_http_chantier_pdf_get(object, key);

    return YAJL_IS_STRING(v) ? v->u.string : NULL;
}


static ngx_uint_t
ngx_http_chantier_pdf_true(yajl_val object, const char *key)
{
    return YAJL_IS_TRUE(ngx_http_chantier_pdf_get(object, key));
}


static ngx_uint_t
ngx_http_chantier_pdf_length(yajl_val array)
{
    return YAJL_IS_ARRAY(array) ? array->u.array.len : 0;
}


/* what the Delta validator lets through, checked again: no javascript: */

static const char *
ngx_http_chantier_pdf_safe_link(const char *link)
{
    if (link
        && (strncasecmp(link, "https://", 8) == 0
            || strncasecmp(link, "http://", 7) == 0
            || strncasecmp(link, "mailto:", 7) == 0))
    {
        return link;
    }

    return NULL;
}


/*
 * Dates in French: "1er mars 2026", "12 mars 2026".  A date of the
 * calendar (start_date) is shown as it is; a time is shown in Paris, with
 * "à 14:05" when with_time, after a prefix.
 */

static ngx_int_t
ngx_http_chantier_pdf_day(const char *iso, char *buf, size_t size)
{
    const char  *p;
    ngx_uint_t   y, m, d;

    p = iso;

    if (p == NULL
        || ngx_http_chantier_pdf_digits(&p, 4, &y) != NGX_OK || *p++ != '-'
        || ngx_http_chantier_pdf_digits(&p, 2, &m) != NGX_OK || *p++ != '-'
        || ngx_http_chantier_pdf_digits(&p, 2, &d) != NGX_OK
        || m < 1 || m > 12 || d < 1 || d > 31)
    {
        return NGX_ERROR;
    }

    ngx_http_chantier_pdf_format_day(buf, size, y, m, d);

    return NGX_OK;
}


/*
 * ISO 8601 as the API writes it, "2026-03-12T13:05:00Z", or with an
 * offset ("+01:00", "+0100", "+01") and fractions of a second; no offset
 * counts as UTC.
 */

static ngx_int_t
ngx_http_chantier_pdf_time(const char *iso, const char *prefix, char *buf,
    size_t size, ngx_uint_t with_time)
{
    size_t       n;
    int64_t      t, days, secs, year;
    unsigned     month, day;
    const char  *p;
    ngx_uint_t   y, m, d, hh, mm, ss, oh, om;
    ngx_int_t    sign;

    p = iso;
    ss = 0;

    if (p == NULL
        || ngx_http_chantier_pdf_digits(&p, 4, &y) != NGX_OK || *p++ != '-'
        || ngx_http_chantier_pdf_digits(&p, 2, &m) != NGX_OK || *p++ != '-'
        || ngx_http_chantier_pdf_digits(&p, 2, &d) != NGX_OK
        || (*p != 'T' && *p != 't' && *p != ' '))
    {
        return NGX_ERROR;
    }

    p++;

    if (ngx_http_chantier_pdf_digits(&p, 2, &hh) != NGX_OK || *p++ != ':'
        || ngx_http_chantier_pdf_digits(&p, 2, &mm) != NGX_OK
        || m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59)
    {
        return NGX_ERROR;
    }

    if (*p == ':') {
        p++;

        if (ngx_http_chantier_pdf_digits(&p, 2, &ss) != NGX_OK || ss > 60) {
            return NGX_ERROR;
        }

        if (*p == '.' || *p == ',') {
            for (p++; *p >= '0' && *p <= '9'; p++) { /* void */ }
        }
    }

    t = ngx_http_chantier_pdf_days(y, m, d) * 86400
        + (int64_t) (hh * 3600 + mm * 60 + ss);

    if (*p == '+' || *p == '-') {
        sign = (*p++ == '+') ? 1 : -1;
        om = 0;

        if (ngx_http_chantier_pdf_digits(&p, 2, &oh) != NGX_OK) {
            return NGX_ERROR;
        }

        if (*p == ':') {
            p++;
        }

        if (*p >= '0' && *p <= '9'
            && ngx_http_chantier_pdf_digits(&p, 2, &om) != NGX_OK)
        {
            return NGX_ERROR;
        }

        t -= sign * (int64_t) (oh * 3600 + om * 60);
    }

    t = ngx_http_chantier_pdf_paris(t);

    days = t / 86400;
    secs = t % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    ngx_http_chantier_pdf_civil(days, &year, &month, &day);

    n = strlen(prefix);

    if (n >= size) {
        return NGX_ERROR;
    }

    memcpy(buf, prefix, n);
    ngx_http_chantier_pdf_format_day(buf + n, size - n, year, month, day);

    if (with_time) {
        n = strlen(buf);

        if (n < size) {
            (void) snprintf(buf + n, size - n, " à %02u:%02u",
                            (unsigned) (secs / 3600),
                            (unsigned) (secs % 3600 / 60));
        }
    }

    return NGX_OK;
}


static void
ngx_http_chantier_pdf_format_day(char *buf, size_t size, int64_t year,
    unsigned month, unsigned day)
{
    if (day == 1) {
        (void) snprintf(buf, size, "1er %s %lld",
                        ngx_http_chantier_pdf_months[month - 1],
                        (long long) year);

    } else {
        (void) snprintf(buf, size, "%u %s %lld", day,
                        ngx_http_chantier_pdf_months[month - 1],
                        (long long) year);
    }
}


/*
 * Paris time of a UTC time, by the rule of the European Union since 1996:
 * summer time (UTC+2) from the last Sunday of March to the last Sunday of
 * October, at 01:00 UTC both; UTC+1 otherwise.  Computed rather than asked
 * of the C library: localtime_r() would need TZ set for the process, and
 * setenv() is not safe in a thread.
 */

static int64_t
ngx_http_chantier_pdf_paris(int64_t utc)
{
    int64_t   year, start, end, last;
    unsigned  month, day;

    ngx_http_chantier_pdf_civil(utc >= 0 ? utc / 86400
                                         : (utc - 86399) / 86400,
                                &year, &month, &day);

    /* the last Sundays: day 0 of the epoch was a Thursday */
    last = ngx_http_chantier_pdf_days(year, 3, 31);
    start = last - ((last % 7 + 7 + 4) % 7);
    last = ngx_http_chantier_pdf_days(year, 10, 31);
    end = last - ((last % 7 + 7 + 4) % 7);

    start = start * 86400 + 3600;
    end = end * 86400 + 3600;

    return utc + ((utc >= start && utc < end) ? 7200 : 3600);
}


/* days since 1970-01-01 of a date, and back (Howard Hinnant's algorithms) */

static int64_t
ngx_http_chantier_pdf_days(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static void
ngx_http_chantier_pdf_civil(int64_t days, int64_t *y, unsigned *m,
    unsigned *d)
{
    int64_t   era;
    unsigned  doe, yoe, doy, mp;

    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = (unsigned) (days - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}


static ngx_int_t
ngx_http_chantier_pdf_digits(const char **pp, ngx_uint_t n, ngx_uint_t *value)
{
    const char  *p;
    ngx_uint_t   i;

    p = *pp;
    *value = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_ERROR;
        }

        *value = *value * 10 + (p[i] - '0');
    }

    *pp = p + n;

    return NGX_OK;
}


/* errors */

/* libharu calls it for each error; the first one is kept */

static void
ngx_http_chantier_pdf_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no,
    void *data)
{
    ngx_http_chantier_pdf_ctx_t  *ctx = data;

    if (ctx->hpdf_error == 0) {
        ctx->hpdf_error = error_no;
        ctx->hpdf_detail = detail_no;
    }
}


static ngx_int_t
ngx_http_chantier_pdf_check(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *step)
{
    if (ctx->failed) {
        return NGX_ERROR;
    }

    if (ctx->hpdf_error) {
        return ngx_http_chantier_pdf_fail(ctx, "libharu error 0x%04X (detail "
                                          "%u) %s",
                                          (unsigned) ctx->hpdf_error,
                                          (unsigned) ctx->hpdf_detail, step);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_pdf_fail(ngx_http_chantier_pdf_ctx_t *ctx,
    const char *fmt, ...)
{
    va_list  args;

    if (!ctx->failed) {
        va_start(args, fmt);
        (void) vsnprintf(ctx->pdf->error, sizeof(ctx->pdf->error), fmt, args);
        va_end(args);
    }

    ctx->failed = 1;

    return NGX_ERROR;
}
