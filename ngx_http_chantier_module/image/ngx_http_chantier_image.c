/*
 * Processing of an uploaded photo with libvips, in a pool thread.
 *
 * The steps, each refusing what it can as early and as cheaply as it can:
 *
 *   1. the magic bytes: JPEG or PNG, whatever the Content-Type said;
 *   2. the header only (libvips loads lazily): the pixel count, and for the
 *      interlaced formats the memory their decoder needs, before a single
 *      pixel is decoded;
 *   3. the display version: one decode of the upload by vips_thumbnail,
 *      which shrinks JPEGs while decoding them, turns an embedded ICC
 *      profile into sRGB and applies the EXIF orientation; a truncated or
 *      corrupt file fails here (fail_on "truncated");
 *   4. the thumbnail from the display version's pixels, so that the upload
 *      is decoded once;
 *   5. both saved without any metadata ("strip": no EXIF, GPS, XMP, IPTC,
 *      ICC, comments), hashed with SHA-256.
 *
 * Nothing here uses nginx beyond its types, and the only state is libvips'
 * own (started once per process, below): any number of pool threads may
 * process at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <vips/vips.h>

#include "ngx_http_chantier_image.h"


#define NGX_HTTP_CHANTIER_IMAGE_QUALITY          82
#define NGX_HTTP_CHANTIER_IMAGE_PNG_COMPRESSION  6

/*
 * Decompression bombs.  A few KB can announce millions of pixels, and the
 * pixel limit alone is not always enough: libvips streams most images in
 * strips, but an interlaced image is decoded whole first (libjpeg keeps
 * every DCT coefficient of a progressive JPEG, 2 bytes a sample; libvips
 * reads an Adam7 PNG into memory), and each scan of a progressive JPEG is
 * one more pass over all those coefficients, so a file of many tiny scans
 * costs minutes of CPU.  Phones write baseline JPEGs; an interlaced image
 * of a normal size stays well below these bounds (a 12 MP progressive JPEG
 * needs 72 MB, encoders write about 10 scans).
 */
#define NGX_HTTP_CHANTIER_IMAGE_FRAME_MAX        (128 * 1024 * 1024)
#define NGX_HTTP_CHANTIER_IMAGE_JPEG_SCANS_MAX   100


typedef enum {
    NGX_HTTP_CHANTIER_IMAGE_JPEG = 0,
    NGX_HTTP_CHANTIER_IMAGE_PNG,
    NGX_HTTP_CHANTIER_IMAGE_UNKNOWN
} ngx_http_chantier_image_format_e;


/* what the header says, for the decoding and saving steps */
typedef struct {
    ngx_http_chantier_image_format_e    format;
    ngx_uint_t                          alpha;
    ngx_uint_t                          icc;
} ngx_http_chantier_image_header_t;


static void ngx_http_chantier_image_init_once(void);
static void ngx_http_chantier_image_log(const gchar *domain,
    GLogLevelFlags level, const gchar *message, gpointer data);
static ngx_http_chantier_image_format_e ngx_http_chantier_image_sniff(
    const u_char *in, size_t len);
static void ngx_http_chantier_image_run(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h);
static ngx_int_t ngx_http_chantier_image_header(
    ngx_http_chantier_image_t *image, ngx_http_chantier_image_header_t *h);
static ngx_int_t ngx_http_chantier_image_limits(
    ngx_http_chantier_image_t *image, ngx_http_chantier_image_header_t *h,
    VipsImage *header);
static ngx_uint_t ngx_http_chantier_image_jpeg_scans(const u_char *p,
    size_t len);
static VipsImage *ngx_http_chantier_image_decode(
    ngx_http_chantier_image_t *image, ngx_http_chantier_image_header_t *h);
static ngx_int_t ngx_http_chantier_image_render(
    ngx_http_chantier_image_t *image, ngx_http_chantier_image_header_t *h,
    VipsImage *in, ngx_http_chantier_image_rendering_t *rendering);
static ngx_int_t ngx_http_chantier_image_hash(
    ngx_http_chantier_image_rendering_t *rendering);
static void ngx_http_chantier_image_vips_failed(
    ngx_http_chantier_image_t *image, ngx_http_chantier_image_status_e status,
    const char *step);
static void ngx_http_chantier_image_failed(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_status_e status, const char *fmt, ...);
static void ngx_http_chantier_image_rendering_free(
    ngx_http_chantier_image_rendering_t *rendering);


static pthread_once_t  ngx_http_chantier_image_once = PTHREAD_ONCE_INIT;
static ngx_uint_t      ngx_http_chantier_image_started;


ngx_int_t
ngx_http_chantier_image_process(ngx_http_chantier_image_t *image)
{
    ngx_http_chantier_image_header_t  h;

    image->status = NGX_HTTP_CHANTIER_IMAGE_OK;
    image->error[0] = '\0';

    h.format = ngx_http_chantier_image_sniff(image->in, image->in_len);

    if (h.format == NGX_HTTP_CHANTIER_IMAGE_UNKNOWN) {
        ngx_http_chantier_image_failed(image,
                                       NGX_HTTP_CHANTIER_IMAGE_NOT_IMAGE,
                                       "neither JPEG nor PNG");
        return NGX_DECLINED;
    }

    /*
     * libvips starts here, in the first pool thread that needs it, never
     * on the event loop (it takes tens of milliseconds, loads its modules
     * and makes threads) nor in the master (its threads would not survive
     * the fork of the workers).
     */
    (void) pthread_once(&ngx_http_chantier_image_once,
                        ngx_http_chantier_image_init_once);

    if (!ngx_http_chantier_image_started) {
        ngx_http_chantier_image_failed(image, NGX_HTTP_CHANTIER_IMAGE_ERROR,
                                       "libvips did not start");
        return NGX_ERROR;
    }

    ngx_http_chantier_image_run(image, &h);

    /*
     * libvips keeps buffers in each thread that used it until the thread
     * exits; a pool thread never exits, and the next task of this thread
     * may be a password to hash.
     */
    vips_thread_shutdown();

    switch (image->status) {

    case NGX_HTTP_CHANTIER_IMAGE_OK:
        return NGX_OK;

    case NGX_HTTP_CHANTIER_IMAGE_ERROR:
        return NGX_ERROR;

    default:
        return NGX_DECLINED;
    }
}


/*
 * A worker's exit: nginx's exit_process hooks run its thread pools' first
 * (a core module), so no pool thread uses libvips any more; its own
 * threads and caches go now rather than be torn down by exit().
 */

void
ngx_http_chantier_image_exit_process(void)
{
    if (ngx_http_chantier_image_started) {
        vips_shutdown();
    }
}


void
ngx_http_chantier_image_free(ngx_http_chantier_image_t *image)
{
    ngx_http_chantier_image_rendering_free(&image->display);
    ngx_http_chantier_image_rendering_free(&image->thumb);
}


/*
 * Once per process.  The settings are libvips' global ones: this module is
 * the only user of libvips in nginx.
 *
 * - One thread per image: an upload already occupies one pool thread, a
 *   pool shared with password hashing; libvips' own workers (one per core
 *   by default) would take the other cores from the event loops.
 * - No operation cache: every upload is different, so the cache would
 *   never be hit, only keep the last decoded images (up to 100 operations
 *   and 100 MB) alive in each worker; and its entries would point into
 *   request memory that nginx frees after the answer.
 * - Only the JPEG and PNG loaders may run, whatever a file looks like to
 *   the others (ImageMagick, SVG, PDF... are installed with libvips).
 * - libvips' warnings (a corrupt file gives one for each defect) go
 *   nowhere: the thread would write them to the error log outside nginx's
 *   logging; a refusal's reason comes back in image->error instead.
 */

static void
ngx_http_chantier_image_init_once(void)
{
    if (VIPS_INIT("chantier") != 0) {
        return;
    }

    vips_concurrency_set(1);
    vips_cache_set_max(0);

    vips_operation_block_set("VipsForeignLoad", TRUE);
    vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
    vips_operation_block_set("VipsForeignLoadPng", FALSE);

    (void) g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE
                                     | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                             ngx_http_chantier_image_log, NULL);

    ngx_http_chantier_image_started = 1;
}


static void
ngx_http_chantier_image_log(const gchar *domain, GLogLevelFlags level,
    const gchar *message, gpointer data)
{
    /* nothing: see ngx_http_chantier_image_init_once() */
}


static ngx_http_chantier_image_format_e
ngx_http_chantier_image_sniff(const u_char *in, size_t len)
{
    static const u_char  jpeg[] = { 0xff, 0xd8, 0xff };
    static const u_char  png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                   '\n' };

    if (len >= sizeof(jpeg) && memcmp(in, jpeg, sizeof(jpeg)) == 0) {
        return NGX_HTTP_CHANTIER_IMAGE_JPEG;
    }

    if (len >= sizeof(png) && memcmp(in, png, sizeof(png)) == 0) {
        return NGX_HTTP_CHANTIER_IMAGE_PNG;
    }

    return NGX_HTTP_CHANTIER_IMAGE_UNKNOWN;
}


/*
 * The steps after the magic bytes; each sets image->status when it stops.
 * The display version is made whole in memory (decoded, shrunk, rotated,
 * converted): it is saved, then shrunk again for the thumbnail.
 */

static void
ngx_http_chantier_image_run(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h)
{
    VipsImage  *display, *thumb;

    thumb = NULL;

    if (ngx_http_chantier_image_header(image, h) != NGX_OK) {
        return;
    }

    display = ngx_http_chantier_image_decode(image, h);
    if (display == NULL) {
        return;
    }

    if (ngx_http_chantier_image_render(image, h, display, &image->display)
        != NGX_OK)
    {
        goto done;
    }

    if (vips_thumbnail_image(display, &thumb, NGX_HTTP_CHANTIER_IMAGE_THUMB,
                             "height", NGX_HTTP_CHANTIER_IMAGE_THUMB,
                             "size", VIPS_SIZE_DOWN,
                             "no_rotate", TRUE,
                             NULL)
        != 0)
    {
        ngx_http_chantier_image_vips_failed(image,
                                            NGX_HTTP_CHANTIER_IMAGE_ERROR,
                                            "thumbnail");
        goto done;
    }

    (void) ngx_http_chantier_image_render(image, h, thumb, &image->thumb);

done:

    if (image->status != NGX_HTTP_CHANTIER_IMAGE_OK) {
        ngx_http_chantier_image_free(image);
    }

    if (thumb) {
        g_object_unref(thumb);
    }

    g_object_unref(display);
}


/* the header only: nothing is decoded yet */

static ngx_int_t
ngx_http_chantier_image_header(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h)
{
    int         rc;
    ngx_int_t   limits;
    VipsImage  *header;

    header = NULL;

    if (h->format == NGX_HTTP_CHANTIER_IMAGE_JPEG) {
        rc = vips_jpegload_buffer((void *) image->in, image->in_len, &header,
                                  "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);

    } else {
        rc = vips_pngload_buffer((void *) image->in, image->in_len, &header,
                                 "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    }

    if (rc != 0) {
        ngx_http_chantier_image_vips_failed(image,
                                            NGX_HTTP_CHANTIER_IMAGE_INVALID,
                                            "header");
        return NGX_DECLINED;
    }

    limits = ngx_http_chantier_image_limits(image, h, header);

    /* a JPEG has no alpha (4 bands are CMYK): only a PNG stays a PNG */
    h->alpha = h->format == NGX_HTTP_CHANTIER_IMAGE_PNG
               && vips_image_hasalpha(header);
    h->icc = vips_image_get_typeof(header, VIPS_META_ICC_NAME) != 0;

    g_object_unref(header);

    return limits;
}


static ngx_int_t
ngx_http_chantier_image_limits(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h, VipsImage *header)
{
    int         interlaced;
    uint64_t    width, height, frame;
    ngx_uint_t  scans;

    width = vips_image_get_width(header);
    height = vips_image_get_height(header);

    if (width * height > NGX_HTTP_CHANTIER_IMAGE_MAX_PIXELS) {
        ngx_http_chantier_image_failed(image,
                                       NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,
                                       "%llu x %llu pixels",
                                       (unsigned long long) width,
                                       (unsigned long long) height);
        return NGX_DECLINED;
    }

    interlaced = 0;

    if (vips_image_get_typeof(header, "interlaced") != 0) {
        (void) vips_image_get_int(header, "interlaced", &interlaced);
    }

    if (!interlaced) {
        return NGX_OK;
    }

    /* see NGX_HTTP_CHANTIER_IMAGE_FRAME_MAX above */

    frame = width * height * vips_image_get_bands(header)
            * (h->format == NGX_HTTP_CHANTIER_IMAGE_JPEG
               ? 2 : vips_format_sizeof(vips_image_get_format(header)));

    if (frame > NGX_HTTP_CHANTIER_IMAGE_FRAME_MAX) {
        ngx_http_chantier_image_failed(image,
                                       NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,
                                       "interlaced %llu x %llu pixels "
                                       "need %llu MB to decode",
                                       (unsigned long long) width,
                                       (unsigned long long) height,
                                       (unsigned long long) (frame >> 20));
        return NGX_DECLINED;
    }

    if (h->format == NGX_HTTP_CHANTIER_IMAGE_JPEG) {
        scans = ngx_http_chantier_image_jpeg_scans(image->in, image->in_len);

        if (scans > NGX_HTTP_CHANTIER_IMAGE_JPEG_SCANS_MAX) {
            ngx_http_chantier_image_failed(image,
                                           NGX_HTTP_CHANTIER_IMAGE_INVALID,
                                           "progressive JPEG of %lu scans",
                                           (unsigned long) scans);
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * Counts the scans (SOS markers) of a JPEG by walking its segments as
 * libjpeg does: a marker and its length, and after each SOS the
 * entropy-coded data, up to the next marker that is neither a restart
 * (RSTn) nor a stuffed 0xFF00.  It stops at EOI or at the end of the data
 * (what is malformed beyond the count is libjpeg's to refuse).
 */

static ngx_uint_t
ngx_http_chantier_image_jpeg_scans(const u_char *p, size_t len)
{
    size_t         n;
    u_char         marker;
    ngx_uint_t     scans;
    const u_char  *last;

    last = p + len;
    p += 2;                                                  /* SOI */
    scans = 0;

    for ( ;; ) {

        /* bytes before a marker: libjpeg skips them, with a warning */
        p = memchr(p, 0xff, last - p);

        if (p == NULL || last - p < 2) {
            return scans;
        }

        marker = p[1];

        if (marker == 0xff) {                                 /* fill */
            p++;
            continue;
        }

        if (marker == 0xd9) {                                 /* EOI */
            return scans;
        }

        if (marker == 0x00 || marker == 0x01
            || (marker >= 0xd0 && marker <= 0xd7))
        {
            p += 2;                          /* no length: TEM, RSTn */
            continue;
        }

        if (last - p < 4) {
            return scans;
        }

        n = (size_t) p[2] << 8 | p[3];

        if (n < 2 || (size_t) (last - p) - 2 < n) {
            return scans;
        }

        p += 2 + n;

        if (marker != 0xda) {                                 /* SOS */
            continue;
        }

        scans++;

        /* the entropy-coded data */

        for ( ;; ) {
            p = memchr(p, 0xff, last - p);

            if (p == NULL || last - p < 2) {
                return scans;
            }

            if (p[1] == 0x00 || (p[1] >= 0xd0 && p[1] <= 0xd7)) {
                p += 2;
                continue;
            }

            if (p[1] == 0xff) {
                p++;
                continue;
            }

            break;
        }
    }
}


/*
 * The display version, computed whole into memory.  vips_thumbnail fits
 * the image in a square of 2048 px, never enlarging it; a JPEG is shrunk
 * by libjpeg while it is decoded ("shrink-on-load", by 2, 4 or 8 when the
 * image is large enough), the rest by a Lanczos filter.  With an embedded
 * ICC profile, the pixels are transformed from it to sRGB (sRGB is also
 * the fallback when the profile is broken or does not fit the image);
 * without one they are taken as sRGB already, which they are for phones,
 * and no transform is paid for.
 *
 * Decoding happens here, so the upload's defects show here: they are the
 * upload's fault (INVALID), unless libvips ran out of memory.  A truncated
 * file must fail rather than come out completed with grey: the loader is
 * told so in its option string, since vips_thumbnail_buffer() of libvips
 * 8.14 does not pass its own "fail_on" on to the loader (only the file
 * variant does).  "truncated" and not "warning": libjpeg and libpng warn
 * about defects that valid photos have (extraneous bytes before a marker,
 * a known incorrect sRGB profile), and those images decode well.
 */

static VipsImage *
ngx_http_chantier_image_decode(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h)
{
    int         rc;
    VipsImage  *lazy, *display;

    lazy = NULL;

    if (h->icc) {
        rc = vips_thumbnail_buffer((void *) image->in, image->in_len, &lazy,
                                   NGX_HTTP_CHANTIER_IMAGE_DISPLAY,
                                   "height", NGX_HTTP_CHANTIER_IMAGE_DISPLAY,
                                   "size", VIPS_SIZE_DOWN,
                                   "option_string", "fail_on=truncated",
                                   "import_profile", "srgb",
                                   "export_profile", "srgb",
                                   NULL);

    } else {
        rc = vips_thumbnail_buffer((void *) image->in, image->in_len, &lazy,
                                   NGX_HTTP_CHANTIER_IMAGE_DISPLAY,
                                   "height", NGX_HTTP_CHANTIER_IMAGE_DISPLAY,
                                   "size", VIPS_SIZE_DOWN,
                                   "option_string", "fail_on=truncated",
                                   NULL);
    }

    if (rc != 0) {
        ngx_http_chantier_image_vips_failed(image,
                                            NGX_HTTP_CHANTIER_IMAGE_INVALID,
                                            "decoding");
        return NULL;
    }

    display = vips_image_copy_memory(lazy);

    g_object_unref(lazy);

    if (display == NULL) {
        ngx_http_chantier_image_vips_failed(image,
                                            NGX_HTTP_CHANTIER_IMAGE_INVALID,
                                            "decoding");
        return NULL;
    }

    return display;
}


/*
 * One rendering: JPEG (quality 82, Huffman tables optimised, progressive,
 * so that a page on a weak network shows the whole photo early), or PNG
 * for an upload with transparency.  "strip" writes no metadata at all:
 * neither the EXIF (with its GPS position) nor XMP, IPTC, ICC profile or
 * comments.
 */

static ngx_int_t
ngx_http_chantier_image_render(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_header_t *h, VipsImage *in,
    ngx_http_chantier_image_rendering_t *rendering)
{
    int      rc;
    size_t   len;
    void    *data;

    data = NULL;
    len = 0;

    if (h->alpha) {
        rc = vips_pngsave_buffer(in, &data, &len,
                                 "compression",
                                 NGX_HTTP_CHANTIER_IMAGE_PNG_COMPRESSION,
                                 "strip", TRUE,
                                 NULL);
        rendering->type = "image/png";

    } else {
        rc = vips_jpegsave_buffer(in, &data, &len,
                                  "Q", NGX_HTTP_CHANTIER_IMAGE_QUALITY,
                                  "optimize_coding", TRUE,
                                  "interlace", TRUE,
                                  "strip", TRUE,
                                  NULL);
        rendering->type = "image/jpeg";
    }

    if (rc != 0) {
        ngx_http_chantier_image_vips_failed(image,
                                            NGX_HTTP_CHANTIER_IMAGE_ERROR,
                                            "encoding");
        return NGX_ERROR;
    }

    rendering->data = data;
    rendering->len = len;
    rendering->width = vips_image_get_width(in);
    rendering->height = vips_image_get_height(in);

    if (ngx_http_chantier_image_hash(rendering) != NGX_OK) {
        ngx_http_chantier_image_failed(image, NGX_HTTP_CHANTIER_IMAGE_ERROR,
                                       "SHA-256 failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* OpenSSL 3's EVP_Digest() needs no set-up and is safe in any thread */

static ngx_int_t
ngx_http_chantier_image_hash(ngx_http_chantier_image_rendering_t *rendering)
{
    u_char        md[EVP_MAX_MD_SIZE];
    ngx_uint_t    i;
    unsigned int  n;

    static const u_char  hex[] = "0123456789abcdef";

    if (EVP_Digest(rendering->data, rendering->len, md, &n, EVP_sha256(),
                   NULL)
        != 1)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n && 2 * i + 2 < sizeof(rendering->hash); i++) {
        rendering->hash[2 * i] = hex[md[i] >> 4];
        rendering->hash[2 * i + 1] = hex[md[i] & 0xf];
    }

    rendering->hash[2 * i] = '\0';

    return NGX_OK;
}


/*
 * A failure that libvips explains: its message goes to image->error.  Its
 * error buffer is one for the whole process, and it also collects the
 * warnings of loads that succeeded (libjpeg's, for one): the last line is
 * the latest message, this failure's unless another thread failed at the
 * same time, which only the log line would show.  libvips says "out of
 * memory" when an allocation failed: that is ours (ERROR), not the
 * upload's.  Some failures come with a warning only, which goes nowhere
 * (see init_once): the message is then empty.
 */

static void
ngx_http_chantier_image_vips_failed(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_status_e status, const char *step)
{
    char  *message, *line, *last, *nl;

    message = vips_error_buffer_copy();
    last = "libvips gave no reason";

    for (line = message; line != NULL && *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');

        if (nl == NULL) {
            last = line;
            break;
        }

        *nl = '\0';

        if (nl != line) {
            last = line;
        }
    }

    if (strstr(last, "out of memory") != NULL) {
        status = NGX_HTTP_CHANTIER_IMAGE_ERROR;
    }

    ngx_http_chantier_image_failed(image, status, "%s: %s", step, last);

    g_free(message);
}


static void
ngx_http_chantier_image_failed(ngx_http_chantier_image_t *image,
    ngx_http_chantier_image_status_e status, const char *fmt, ...)
{
    va_list  args;

    image->status = status;

    va_start(args, fmt);
    (void) vsnprintf(image->error, sizeof(image->error), fmt, args);
    va_end(args);
}


static void
ngx_http_chantier_image_rendering_free(
    ngx_http_chantier_image_rendering_t *rendering)
{
    g_free(rendering->data);

    rendering->data = NULL;
    rendering->len = 0;
}
