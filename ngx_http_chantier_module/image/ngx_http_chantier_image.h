/*
 * Photos of posts (SPEC §3 "Photos"): an upload, JPEG or PNG, becomes two
 * renderings, a display version (long edge <= 2,048 px) and a thumbnail
 * (long edge <= 480 px), upright (EXIF orientation applied), in sRGB and
 * without any metadata (EXIF, GPS, XMP, IPTC, ICC, comments).  The
 * original is never kept.
 *
 * The work is done by libvips and runs in a pool thread: this file uses no
 * nginx API besides its types (no log, no pool, no request), so that it may
 * run off the event loop, and in the unit test without nginx.
 */

#ifndef _NGX_HTTP_CHANTIER_IMAGE_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_IMAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_CHANTIER_IMAGE_MAX_PIXELS   50000000    /* SPEC §3 */
#define NGX_HTTP_CHANTIER_IMAGE_DISPLAY      2048        /* long edge, px */
#define NGX_HTTP_CHANTIER_IMAGE_THUMB        480         /* long edge, px */


typedef enum {
    NGX_HTTP_CHANTIER_IMAGE_OK = 0,
    NGX_HTTP_CHANTIER_IMAGE_NOT_IMAGE,  /* neither JPEG nor PNG: 415 */
    NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,  /* over the limits: 413 */
    NGX_HTTP_CHANTIER_IMAGE_INVALID,    /* corrupt, truncated: 400 */
    NGX_HTTP_CHANTIER_IMAGE_ERROR       /* out of memory, libvips: 500 */
} ngx_http_chantier_image_status_e;


typedef struct {
    u_char                             *data;    /* glib's: see _free() */
    size_t                              len;
    const char                         *type;    /* image/jpeg, image/png */
    ngx_uint_t                          width;
    ngx_uint_t                          height;
    u_char                              hash[65]; /* SHA-256 of data, hex */
} ngx_http_chantier_image_rendering_t;


typedef struct {
    const u_char                       *in;       /* the upload, contiguous */
    size_t                              in_len;

    ngx_http_chantier_image_status_e    status;
    ngx_http_chantier_image_rendering_t display;
    ngx_http_chantier_image_rendering_t thumb;

    char                                error[128]; /* for the log, or "" */
} ngx_http_chantier_image_t;


/*
 * In a pool thread, with the struct zeroed but for "in" and "in_len" (which
 * must stay valid until the call returns): decodes the upload, fills status
 * and, when it is OK, both renderings.  Returns NGX_OK for OK, NGX_DECLINED
 * for the refusals (NOT_IMAGE, TOO_LARGE, INVALID), NGX_ERROR for ERROR;
 * error then says why in a few English words.  Any number of threads may
 * call it at once.
 */
ngx_int_t ngx_http_chantier_image_process(ngx_http_chantier_image_t *image);

/*
 * Anywhere (on the event loop from a pool cleanup, typically): frees the
 * renderings.  Safe on a zeroed struct and when called twice.
 */
void ngx_http_chantier_image_free(ngx_http_chantier_image_t *image);


/* on the event loop, at a worker's exit, after its thread pools ended */
void ngx_http_chantier_image_exit_process(void);


#endif /* _NGX_HTTP_CHANTIER_IMAGE_H_INCLUDED_ */
