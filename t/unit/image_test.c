/*
 * Unit test of image/ngx_http_chantier_image.c, printing TAP for prove.
 *
 * Its inputs are made here with libvips (no image is committed), and the
 * renderings are decoded again with libvips to look at their pixels and
 * metadata.  As in nginx, the processing runs in threads other than main,
 * and libvips is first started by ngx_http_chantier_image_process() itself:
 * the first input comes from a child process, so that this process has not
 * called libvips before.  The file under test calls no nginx function.
 *
 * Times and memory are printed as TAP comments, not checked but for the
 * bounds that only a bug would pass.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <vips/vips.h>

#include "image/ngx_http_chantier_image.h"


#include "tap.h"


#define CAMERA_LOOPS   50        /* the memory loop */
#define CAMERA_TIMED   5         /* best of, for the time */
#define THREADS        3         /* processing at once */


typedef struct {
    void    *data;
    size_t   len;
} buf_t;


typedef struct {
    const buf_t  *in;
    u_char        display[65];
    u_char        thumb[65];
    ngx_int_t     rc;
} job_t;


static const double  red[] = { 255, 0, 0 };
static const double  blue[] = { 0, 0, 255 };
static const double  green[] = { 0, 255, 0 };
static const double  clear[] = { 0, 0, 0, 0 };
static const double  orange[] = { 240, 120, 30, 255 };

/* an XMP packet and an IPTC block (Photoshop 3.0 resource 0x0404) */
static const char    xmp[] =
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www."
    "w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:exif=\"http"
    "://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"45,45.52N\"/></rdf:RDF>"
    "</x:xmpmeta>";
static const u_char  iptc[] =
    "Photoshop 3.0\0" "8BIM\x04\x04\0\0\0\0\0\x10"
    "\x1c\x02\x78\0\x0b" "Secret site" "\0";


/* building inputs */

static VipsImage *
canvas(int width, int height, int bands, const double *ink)
{
    VipsImage  *black, *typed, *im;

    im = NULL;

    if (vips_black(&black, width, height, "bands", bands, NULL) != 0) {
        return NULL;
    }

    if (vips_copy(black, &typed, "interpretation",
                  bands >= 3 ? VIPS_INTERPRETATION_sRGB
                             : VIPS_INTERPRETATION_B_W, NULL) == 0)
    {
        im = vips_image_copy_memory(typed);
        g_object_unref(typed);
    }

    g_object_unref(black);

    if (im != NULL) {
        (void) vips_draw_rect(im, (double *) ink, bands, 0, 0, width, height,
                              "fill", TRUE, NULL);
    }

    return im;
}


static void
rect(VipsImage *im, const double *ink, int left, int top, int width,
    int height)
{
    (void) vips_draw_rect(im, (double *) ink, im->Bands, left, top, width,
                          height, "fill", TRUE, NULL);
}


/* what a camera writes, and what must not come out */

static void
set_metadata(VipsImage *im)
{
    vips_image_set_string(im, "exif-ifd0-Make", "CLO test camera");
    vips_image_set_string(im, "exif-ifd3-GPSLatitudeRef", "N");
    vips_image_set_string(im, "exif-ifd3-GPSLatitude", "45/1 45/1 3120/100");
    vips_image_set_string(im, "exif-ifd3-GPSLongitudeRef", "E");
    vips_image_set_string(im, "exif-ifd3-GPSLongitude", "4/1 50/1 4200/100");
    vips_image_set_blob_copy(im, VIPS_META_XMP_NAME, xmp, sizeof(xmp) - 1);
    vips_image_set_blob_copy(im, VIPS_META_IPTC_NAME, iptc, sizeof(iptc) - 1);
}


/* smooth gradients under noise, which compresses like a photo (lazy) */

static VipsImage *
photo(int width, int height)
{
    int         i;
    VipsImage  *t[8], *im;

    static const double  ones[] = { 1, 1, 1 };
    static const double  base[] = { 70, 100, 140 };

    memset(t, 0, sizeof(t));
    im = NULL;

    t[0] = vips_image_new_matrixv(2, 3, 120.0 / width, 0.0,
                                  60.0 / width, 50.0 / height,
                                  0.0, 80.0 / height);

    if (t[0] == NULL
        || vips_xyz(&t[1], width, height, NULL) != 0
        || vips_recomb(t[1], &t[2], t[0], NULL) != 0
        || vips_linear(t[2], &t[3], (double *) ones, (double *) base, 3,
                       NULL) != 0
        || vips_gaussnoise(&t[4], width, height, "sigma", 5.0, "mean", 0.0,
                           NULL) != 0
        || vips_add(t[3], t[4], &t[5], NULL) != 0
        || vips_cast(t[5], &t[6], VIPS_FORMAT_UCHAR, NULL) != 0
        || vips_copy(t[6], &im, "interpretation", VIPS_INTERPRETATION_sRGB,
                     NULL) != 0)
    {
        im = NULL;
    }

    for (i = 0; i < 8; i++) {
        if (t[i]) {
            g_object_unref(t[i]);
        }
    }

    return im;
}


static buf_t
jpeg(VipsImage *im, int q, int progressive)
{
    buf_t  b;

    memset(&b, 0, sizeof(b));

    if (im == NULL
        || vips_jpegsave_buffer(im, &b.data, &b.len, "Q", q,
                                "interlace", progressive, NULL) != 0)
    {
        printf("# jpegsave: %s\n", vips_error_buffer());
        vips_error_clear();
    }

    if (im) {
        g_object_unref(im);
    }

    return b;
}


static buf_t
png(VipsImage *im, int interlace)
{
    buf_t  b;

    memset(&b, 0, sizeof(b));

    if (im == NULL
        || vips_pngsave_buffer(im, &b.data, &b.len, "interlace", interlace,
                               NULL) != 0)
    {
        printf("# pngsave: %s\n", vips_error_buffer());
        vips_error_clear();
    }

    if (im) {
        g_object_unref(im);
    }

    return b;
}


/* the orientation test image: see chantier-test-image --help */

static VipsImage *
rotated(void)
{
    VipsImage  *im;

    im = canvas(600, 400, 3, red);
    if (im == NULL) {
        return NULL;
    }

    rect(im, blue, 0, 200, 600, 200);
    rect(im, green, 0, 0, 100, 100);

    vips_image_set_int(im, VIPS_META_ORIENTATION, 6);
    set_metadata(im);

    return im;
}


/* the bytes of a JPEG's frame header (SOFn): height and width follow */

static u_char *
jpeg_sof(const buf_t *b)
{
    u_char  *p, *last;

    p = (u_char *) b->data + 2;
    last = (u_char *) b->data + b->len;

    while (p + 9 < last && p[0] == 0xff) {
        if (p[1] >= 0xc0 && p[1] <= 0xc2) {
            return p;
        }

        p += 2 + (p[2] << 8 | p[3]);
    }

    return NULL;
}


/* a small JPEG whose header announces width x height */

static buf_t
jpeg_announcing(int width, int height, int progressive)
{
    buf_t    b;
    u_char  *sof;

    b = jpeg(photo(64, 64), 80, progressive);

    sof = b.data ? jpeg_sof(&b) : NULL;

    if (sof) {
        sof[5] = height >> 8;
        sof[6] = height & 0xff;
        sof[7] = width >> 8;
        sof[8] = width & 0xff;
    }

    return b;
}


static uint32_t
png_crc32(const u_char *p, size_t len)
{
    int       k;
    uint32_t  crc;

    crc = 0xffffffff;

    while (len--) {
        crc ^= *p++;

        for (k = 0; k < 8; k++) {
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
        }
    }

    return ~crc;
}


static void
put32(u_char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}


/* a small interlaced PNG whose IHDR announces width x height */

static buf_t
png_announcing(int width, int height, VipsImage *im)
{
    buf_t    b;
    u_char  *ihdr;

    b = png(im, 1);

    if (b.data) {
        ihdr = (u_char *) b.data + 8;            /* length, "IHDR", data */
        put32(ihdr + 8, width);
        put32(ihdr + 12, height);
        put32(ihdr + 8 + 13, png_crc32(ihdr + 4, 4 + 13));
    }

    return b;
}


/*
 * A progressive JPEG with its first scan repeated n times before EOI: the
 * count of scans is checked before libjpeg sees them.
 */

static buf_t
jpeg_scans(int n)
{
    buf_t    b, out;
    u_char  *p, *sos, *next, *last, *q;
    size_t   scan;

    memset(&out, 0, sizeof(out));

    b = jpeg(photo(64, 64), 80, 1);
    if (b.data == NULL) {
        return out;
    }

    last = (u_char *) b.data + b.len;
    sos = memmem(b.data, b.len, "\xff\xda", 2);
    next = sos ? memmem(sos + 2, last - sos - 2, "\xff\xda", 2) : NULL;

    if (next == NULL) {
        g_free(b.data);
        return out;
    }

    scan = next - sos;
    out.len = b.len + scan * n;
    out.data = g_malloc(out.len);

    q = out.data;
    p = b.data;
    memcpy(q, p, b.len - 2);
    q += b.len - 2;

    while (n--) {
        memcpy(q, sos, scan);
        q += scan;
    }

    memcpy(q, last - 2, 2);                                   /* EOI */

    g_free(b.data);

    return out;
}


/* running */

static ngx_int_t
process(ngx_http_chantier_image_t *image, const buf_t *in)
{
    ngx_int_t  rc;

    memset(image, 0, sizeof(*image));
    image->in = in->data;
    image->in_len = in->len;

    rc = ngx_http_chantier_image_process(image);

    if (image->error[0]) {
        printf("# status %d: %s\n", (int) image->status, image->error);
    }

    return rc;
}


static double
ms_since(const struct timespec *start, clockid_t clock)
{
    struct timespec  now;

    clock_gettime(clock, &now);

    return (now.tv_sec - start->tv_sec) * 1e3
           + (now.tv_nsec - start->tv_nsec) / 1e6;
}


static long
rss_kb(void)
{
    long   size, resident;
    FILE  *f;

    f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }

    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }

    fclose(f);

    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}


static long
peak_kb(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    return ru.ru_maxrss;
}


/* looking at a rendering */

static VipsImage *
decode(const ngx_http_chantier_image_rendering_t *r)
{
    VipsImage  *im;

    if (r->data == NULL) {
        return NULL;
    }

    im = vips_image_new_from_buffer(r->data, r->len, "", NULL);
    if (im == NULL) {
        printf("# decode: %s\n", vips_error_buffer());
        vips_error_clear();
    }

    return im;
}


static int
pixel_is(VipsImage *im, int x, int y, const double *want, int bands,
    const char *what)
{
    int      n, i, ok;
    double  *v;

    if (im == NULL || vips_getpoint(im, &v, &n, x, y, NULL) != 0) {
        return 0;
    }

    ok = n == bands;

    for (i = 0; ok && i < n; i++) {
        if (v[i] < want[i] - 40 || v[i] > want[i] + 40) {
            ok = 0;
        }
    }

    if (!ok) {
        printf("# %s at (%d,%d): %d bands", what, x, y, n);
        for (i = 0; i < n; i++) {
            printf(" %.0f", v[i]);
        }
        printf("\n");
    }

    g_free(v);

    return ok;
}


static void *
field_is_metadata(VipsImage *im, const char *field, GValue *value, void *data)
{
    static const char  *names[] = {
        "exif-", "xmp-data", "iptc-data", "icc-profile-data", "png-comment-",
        "orientation", NULL
    };

    const char  **name;

    for (name = names; *name; name++) {
        if (strncmp(field, *name, strlen(*name)) == 0) {
            printf("# metadata left: %s\n", field);
            *(int *) data = 1;
        }
    }

    return NULL;
}


/* neither a metadata field as libvips reads them, nor their markers */

static int
no_metadata(const ngx_http_chantier_image_rendering_t *r, VipsImage *im)
{
    int           found;
    size_t        head;
    void         *pixels;
    const char  **s;

    static const char  *markers[] = {
        "Exif", "GPS", "http://ns.adobe.com/xap/1.0/", "Photoshop 3.0",
        "ICC_PROFILE", "eXIf", "iCCP", "tEXt", "zTXt", "iTXt", "JFIF", NULL
    };

    found = 0;

    if (im == NULL) {
        return 0;
    }

    (void) vips_image_map(im, field_is_metadata, &found);

    /*
     * Metadata sits before the pixels: a JPEG's segments before its first
     * scan (FF DA), a PNG's chunks before IDAT.  The compressed pixels
     * after them may hold "GPS" or "JFIF" by chance (a run in a hundred
     * would fail if they were searched too).
     */
    head = r->len;
    pixels = memmem(r->data, r->len,
                    (r->len > 2 && r->data[0] == 0xff) ? "\xff\xda" : "IDAT",
                    (r->len > 2 && r->data[0] == 0xff) ? 2 : 4);
    if (pixels != NULL) {
        head = (u_char *) pixels - r->data;
    }

    for (s = markers; *s; s++) {
        if (memmem(r->data, head, *s, strlen(*s)) != NULL) {
            printf("# \"%s\" in the bytes\n", *s);
            found = 1;
        }
    }

    return !found;
}


static int
hash_is_right(const ngx_http_chantier_image_rendering_t *r)
{
    u_char        md[EVP_MAX_MD_SIZE];
    char          hex[65];
    unsigned int  n, i;

    if (r->data == NULL
        || EVP_Digest(r->data, r->len, md, &n, EVP_sha256(), NULL) != 1)
    {
        return 0;
    }

    for (i = 0; i < n; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }

    return strcmp(hex, (char *) r->hash) == 0;
}


static int
type_is(const ngx_http_chantier_image_rendering_t *r, const char *type)
{
    if (r->type != NULL && strcmp(r->type, type) == 0) {
        return 1;
    }

    printf("# type %s, expected %s\n", r->type ? r->type : "(none)", type);

    return 0;
}


static int
size_is(const ngx_http_chantier_image_rendering_t *r, VipsImage *im,
    ngx_uint_t width, ngx_uint_t height)
{
    if (r->width == width && r->height == height && im != NULL
        && (ngx_uint_t) im->Xsize == width && (ngx_uint_t) im->Ysize == height)
    {
        return 1;
    }

    printf("# rendering %lu x %lu (decoded %d x %d), expected %lu x %lu\n",
           (unsigned long) r->width, (unsigned long) r->height,
           im ? im->Xsize : -1, im ? im->Ysize : -1,
           (unsigned long) width, (unsigned long) height);

    return 0;
}


static void
unref(VipsImage *im)
{
    if (im) {
        g_object_unref(im);
    }
}


/* the tests */

static void
test_first(const buf_t *in)
{
    ngx_int_t                  rc;
    ngx_http_chantier_image_t  image;

    rc = process(&image, in);

    ok(rc == NGX_OK && image.status == NGX_HTTP_CHANTIER_IMAGE_OK
       && image.display.data != NULL,
       "first call, libvips never started in this process: it starts");

    ngx_http_chantier_image_free(&image);
}


static void
test_not_image(void)
{
    buf_t                      b;
    ngx_int_t                  rc;
    ngx_http_chantier_image_t  image;

    static const struct {
        const char  *data;
        size_t       len;
        const char  *name;
    }  inputs[] = {
        { "Bonjour, ceci n'est pas une photo.\n", 35, "text" },
        { "", 0, "nothing" },
        { "GIF89a\x01\0\x01\0\0\0\0;", 14, "a GIF" },
        { "\xff\xd8", 2, "2 bytes of a JPEG" },
        { "\x89PNG\r\n\x1a", 7, "7 bytes of a PNG" },
        { "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 41, "SVG" }
    };

    size_t  i;
    char    name[128];

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        b.data = (void *) inputs[i].data;
        b.len = inputs[i].len;

        rc = process(&image, &b);

        snprintf(name, sizeof(name), "%s: NOT_IMAGE, declined, nothing made",
                 inputs[i].name);
        ok(rc == NGX_DECLINED
           && image.status == NGX_HTTP_CHANTIER_IMAGE_NOT_IMAGE
           && image.display.data == NULL && image.thumb.data == NULL, name);

        ngx_http_chantier_image_free(&image);
    }
}


static void
test_bomb(void)
{
    buf_t                      b;
    long                       peak;
    double                     ms;
    ngx_int_t                  rc;
    VipsImage                 *im;
    struct timespec            start;
    ngx_http_chantier_image_t  image;

    memset(&b, 0, sizeof(b));

    if (vips_black(&im, 10000, 6000, NULL) == 0) {
        (void) vips_pngsave_buffer(im, &b.data, &b.len, "compression", 9,
                                   "bitdepth", 1, NULL);
        g_object_unref(im);
    }

    printf("# PNG of 10,000 x 6,000 pixels: %zu bytes\n", b.len);

    peak = peak_kb();
    clock_gettime(CLOCK_MONOTONIC, &start);

    rc = process(&image, &b);

    ms = ms_since(&start, CLOCK_MONOTONIC);
    peak = peak_kb() - peak;

    printf("# refused in %.2f ms, peak RSS +%ld KB\n", ms, peak);

    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE
       && image.display.data == NULL,
       "10,000 x 6,000 PNG of a few KB: TOO_LARGE");
    ok(ms < 200 && peak < 20 * 1024,
       "... at once, without allocating its pixels");

    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    b = jpeg_announcing(10000, 6000, 0);
    rc = process(&image, &b);
    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,
       "JPEG announcing 10,000 x 6,000 in its header: TOO_LARGE");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    b = jpeg_announcing(7000, 7000, 1);
    rc = process(&image, &b);
    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,
       "progressive JPEG of 49 MP (294 MB of coefficients): TOO_LARGE");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);
}


static void
test_interlaced(void)
{
    buf_t                      b;
    ngx_int_t                  rc;
    VipsImage                 *im, *t, *wide;
    ngx_http_chantier_image_t  image;

    /* an Adam7 RGBA 16-bit PNG announcing 49 MP: 392 MB read whole */

    im = canvas(16, 16, 4, orange);
    wide = NULL;

    if (im != NULL
        && vips_cast(im, &t, VIPS_FORMAT_USHORT, "shift", TRUE, NULL) == 0)
    {
        if (vips_copy(t, &wide, "interpretation", VIPS_INTERPRETATION_RGB16,
                      NULL) != 0)
        {
            wide = NULL;
        }

        g_object_unref(t);
    }

    unref(im);

    b = png_announcing(7000, 7000, wide);
    rc = process(&image, &b);
    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE,
       "interlaced 16-bit RGBA PNG of 49 MP: TOO_LARGE");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    b = jpeg_scans(200);
    rc = process(&image, &b);
    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_INVALID,
       "progressive JPEG of 200 scans: INVALID, before decoding");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    /* interlaced of a normal size are fine */

    b = jpeg(photo(2400, 1600), 85, 1);
    rc = process(&image, &b);
    ok(rc == NGX_OK && image.display.width == 2048
       && image.display.height == 1365,
       "progressive JPEG of 2400 x 1600: OK, 2048 x 1365");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    b = png(photo(800, 600), 1);
    rc = process(&image, &b);
    ok(rc == NGX_OK && image.display.width == 800
       && type_is(&image.display, "image/jpeg"),
       "interlaced PNG without alpha of 800 x 600: OK, a JPEG");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);
}


static void
test_orientation(void)
{
    buf_t                      b;
    ngx_int_t                  rc;
    VipsImage                 *in, *display, *thumb;
    ngx_http_chantier_image_t  image;

    b = jpeg(rotated(), 95, 0);

    /* the input has what must go */

    in = vips_image_new_from_buffer(b.data, b.len, "", NULL);
    ok(in != NULL && vips_image_get_orientation(in) == 6
       && vips_image_get_typeof(in, "exif-ifd3-GPSLatitude")
       && vips_image_get_typeof(in, VIPS_META_XMP_NAME)
       && vips_image_get_typeof(in, VIPS_META_IPTC_NAME),
       "input: 600 x 400 JPEG, orientation 6, GPS, XMP, IPTC");
    unref(in);

    rc = process(&image, &b);

    display = decode(&image.display);
    thumb = decode(&image.thumb);

    ok(rc == NGX_OK && image.status == NGX_HTTP_CHANTIER_IMAGE_OK
       && image.error[0] == '\0', "orientation 6: OK");
    ok(type_is(&image.display, "image/jpeg")
       && type_is(&image.thumb, "image/jpeg"), "... JPEGs");
    ok(size_is(&image.display, display, 400, 600),
       "display upright, not enlarged: 400 x 600");
    ok(size_is(&image.thumb, thumb, 320, 480), "thumbnail 320 x 480");

    ok(pixel_is(display, 100, 300, blue, 3, "blue")
       && pixel_is(display, 300, 300, red, 3, "red")
       && pixel_is(display, 350, 50, green, 3, "green")
       && pixel_is(display, 50, 50, blue, 3, "blue"),
       "display rotated clockwise: blue left, red right, green top right");
    ok(pixel_is(thumb, 80, 240, blue, 3, "blue")
       && pixel_is(thumb, 240, 240, red, 3, "red")
       && pixel_is(thumb, 280, 40, green, 3, "green"),
       "thumbnail likewise");

    ok(no_metadata(&image.display, display),
       "display: no EXIF, GPS, XMP, IPTC, ICC, orientation");
    ok(no_metadata(&image.thumb, thumb), "thumbnail: none either");
    ok(hash_is_right(&image.display) && hash_is_right(&image.thumb),
       "hashes: SHA-256 of the bytes");

    unref(display);
    unref(thumb);

    ngx_http_chantier_image_free(&image);
    ngx_http_chantier_image_free(&image);
    ok(image.display.data == NULL && image.thumb.data == NULL,
       "freed twice");

    g_free(b.data);
}


static void
test_alpha(void)
{
    buf_t                      b;
    ngx_int_t                  rc;
    VipsImage                 *im, *display, *thumb;
    ngx_http_chantier_image_t  image;

    static const double  none[] = { 0, 0, 0, 0 };

    /* 3000 x 2000, left half transparent, right half orange */

    im = canvas(3000, 2000, 4, clear);
    if (im) {
        rect(im, orange, 1500, 0, 1500, 2000);
        set_metadata(im);
        vips_image_set_string(im, "png-comment-0-Comment", "Chantier secret");
    }

    b = png(im, 0);

    rc = process(&image, &b);

    display = decode(&image.display);
    thumb = decode(&image.thumb);

    ok(rc == NGX_OK && type_is(&image.display, "image/png")
       && type_is(&image.thumb, "image/png"),
       "PNG with alpha: OK, PNGs");
    ok(size_is(&image.display, display, 2048, 1365)
       && size_is(&image.thumb, thumb, 480, 320),
       "... 2048 x 1365 and 480 x 320");
    ok(display && vips_image_hasalpha(display) && display->Bands == 4
       && thumb && vips_image_hasalpha(thumb) && thumb->Bands == 4,
       "... with their alpha");
    ok(pixel_is(display, 200, 600, none, 4, "transparent")
       && pixel_is(display, 1800, 600, orange, 4, "orange")
       && pixel_is(thumb, 50, 160, none, 4, "transparent")
       && pixel_is(thumb, 430, 160, orange, 4, "orange"),
       "... transparent left, orange right");
    ok(no_metadata(&image.display, display)
       && no_metadata(&image.thumb, thumb),
       "... no EXIF, XMP, comment");

    unref(display);
    unref(thumb);
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    /* without alpha, a PNG becomes a JPEG */

    b = png(photo(640, 480), 0);
    rc = process(&image, &b);
    ok(rc == NGX_OK && type_is(&image.display, "image/jpeg")
       && image.display.width == 640 && image.display.height == 480
       && type_is(&image.thumb, "image/jpeg")
       && image.thumb.width == 480 && image.thumb.height == 360,
       "PNG without alpha 640 x 480: JPEGs 640 x 480 and 480 x 360");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);
}


/*
 * An embedded profile is applied, then dropped: pure sRGB red, stored in
 * Display P3 (as an iPhone does: about 234 51 35 in P3 numbers), must come
 * out as sRGB red again, without a profile.  A CMYK JPEG with its profile
 * comes out as RGB.
 */

static void
test_icc(void)
{
    buf_t                      b;
    ngx_int_t                  rc;
    VipsImage                 *im, *p3, *cmyk, *display;
    ngx_http_chantier_image_t  image;

    static const double  almost_red[] = { 255, 0, 0 };

    im = canvas(800, 600, 3, red);
    p3 = NULL;

    if (im == NULL
        || vips_icc_transform(im, &p3, "p3", "input_profile", "srgb",
                              NULL) != 0)
    {
        p3 = NULL;
    }

    b = jpeg(p3, 95, 0);

    display = b.data ? vips_image_new_from_buffer(b.data, b.len, "", NULL)
                     : NULL;
    ok(display && vips_image_get_typeof(display, VIPS_META_ICC_NAME)
       && !pixel_is(display, 400, 300, almost_red, 3, "P3 numbers"),
       "input: P3 JPEG with its profile, not sRGB numbers");
    unref(display);

    rc = process(&image, &b);
    display = decode(&image.display);

    ok(rc == NGX_OK && pixel_is(display, 400, 300, almost_red, 3, "red"),
       "P3 profile applied: sRGB red");
    ok(no_metadata(&image.display, display), "... and not embedded");

    unref(display);
    ngx_http_chantier_image_free(&image);
    g_free(b.data);

    cmyk = NULL;

    if (im == NULL
        || vips_icc_transform(im, &cmyk, "cmyk", "input_profile", "srgb",
                              NULL) != 0)
    {
        cmyk = NULL;
    }

    b = jpeg(cmyk, 95, 0);
    rc = process(&image, &b);
    display = decode(&image.display);

    ok(rc == NGX_OK && display && display->Bands == 3
       && no_metadata(&image.display, display),
       "CMYK JPEG with its profile: RGB JPEG without profile");

    unref(display);
    unref(im);
    ngx_http_chantier_image_free(&image);
    g_free(b.data);
}


static void
test_truncated(void)
{
    buf_t                      b, half;
    ngx_int_t                  rc;
    ngx_http_chantier_image_t  image;

    static const char  *names[] = {
        "truncated JPEG: INVALID", "truncated progressive JPEG: INVALID",
        "truncated PNG: INVALID", "truncated interlaced PNG: INVALID"
    };

    int  i;

    for (i = 0; i < 4; i++) {
        b = i < 2 ? jpeg(photo(1200, 900), 90, i) : png(photo(1200, 900),
                                                         i - 2);
        half.data = b.data;
        half.len = b.len / 2;

        rc = process(&image, &half);
        ok(rc == NGX_DECLINED
           && image.status == NGX_HTTP_CHANTIER_IMAGE_INVALID
           && image.display.data == NULL && image.thumb.data == NULL
           && image.error[0] != '\0', names[i]);

        ngx_http_chantier_image_free(&image);
        g_free(b.data);
    }

    /* the header only */

    b = jpeg(photo(1200, 900), 90, 0);
    half.data = b.data;
    half.len = 100;
    rc = process(&image, &half);
    ok(rc == NGX_DECLINED && image.status == NGX_HTTP_CHANTIER_IMAGE_INVALID,
       "JPEG cut in its header: INVALID");
    ngx_http_chantier_image_free(&image);
    g_free(b.data);
}


static void *
job_run(void *data)
{
    job_t                      *job = data;
    ngx_http_chantier_image_t   image;

    job->rc = process(&image, job->in);

    memcpy(job->display, image.display.hash, 65);
    memcpy(job->thumb, image.thumb.hash, 65);

    ngx_http_chantier_image_free(&image);

    return NULL;
}


static void
test_camera(void)
{
    int                        i, same;
    long                       rss_start, rss_10, rss_end;
    buf_t                      b;
    job_t                      jobs[THREADS];
    double                     ms, cpu, best, best_cpu;
    ngx_int_t                  rc;
    pthread_t                  threads[THREADS];
    VipsImage                 *im, *display, *thumb;
    struct timespec            start, start_cpu;
    ngx_http_chantier_image_t  image;

    im = photo(4000, 3000);
    if (im) {
        set_metadata(im);
    }

    b = jpeg(im, 92, 0);

    printf("# 12 MP camera JPEG: %zu bytes\n", b.len);

    rc = process(&image, &b);

    display = decode(&image.display);
    thumb = decode(&image.thumb);

    ok(rc == NGX_OK && size_is(&image.display, display, 2048, 1536)
       && size_is(&image.thumb, thumb, 480, 360),
       "12 MP JPEG: display 2048 x 1536, thumbnail 480 x 360");
    ok(hash_is_right(&image.display) && hash_is_right(&image.thumb)
       && strcmp((char *) image.display.hash, (char *) image.thumb.hash)
          != 0, "... hashes right");
    ok(no_metadata(&image.display, display)
       && no_metadata(&image.thumb, thumb), "... no metadata");

    printf("# display %zu bytes, thumbnail %zu bytes\n",
           image.display.len, image.thumb.len);

    unref(display);
    unref(thumb);

    /* the time, best of a few */

    best = best_cpu = 1e9;

    for (i = 0; i < CAMERA_TIMED; i++) {
        ngx_http_chantier_image_free(&image);

        clock_gettime(CLOCK_MONOTONIC, &start);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start_cpu);

        rc = process(&image, &b);

        ms = ms_since(&start, CLOCK_MONOTONIC);
        cpu = ms_since(&start_cpu, CLOCK_PROCESS_CPUTIME_ID);

        if (ms < best) {
            best = ms;
            best_cpu = cpu;
        }
    }

    printf("# 12 MP JPEG processed in %.0f ms (CPU %.0f ms), best of %d\n",
           best, best_cpu, CAMERA_TIMED);

    ngx_http_chantier_image_free(&image);

    /* threads at once: the same bytes come out */

    for (i = 0; i < THREADS; i++) {
        jobs[i].in = &b;
        pthread_create(&threads[i], NULL, job_run, &jobs[i]);
    }

    rc = process(&image, &b);

    same = rc == NGX_OK;

    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);

        same = same && jobs[i].rc == NGX_OK
               && strcmp((char *) jobs[i].display,
                         (char *) image.display.hash) == 0
               && strcmp((char *) jobs[i].thumb,
                         (char *) image.thumb.hash) == 0;
    }

    ok(same, "4 threads at once: the same renderings");

    ngx_http_chantier_image_free(&image);

    /* memory: processed again and again, it does not grow */

    rss_start = rss_kb();
    rss_10 = 0;

    for (i = 0; i < CAMERA_LOOPS; i++) {
        rc = process(&image, &b);
        ngx_http_chantier_image_free(&image);

        if (rc != NGX_OK) {
            break;
        }

        if (i == 9) {
            rss_10 = rss_kb();
        }
    }

    rss_end = rss_kb();

    printf("# RSS %ld KB before the loop, %ld KB after 10, %ld KB after %d;"
           " peak %ld KB\n", rss_start, rss_10, rss_end, CAMERA_LOOPS,
           peak_kb());

#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine is what RSS would measure (as in t/91-memory.t) */
    ok(i == CAMERA_LOOPS, "50 times # SKIP RSS not measured under ASan");
#else
    ok(i == CAMERA_LOOPS && rss_end - rss_10 < 16 * 1024,
       "50 times: RSS grows by less than 16 MB after the first 10");
#endif

    g_free(b.data);
}


/* the tests, in a thread of their own like nginx's pool threads */

static void *
run_tests(void *data)
{
    test_first(data);
    test_not_image();
    test_bomb();
    test_interlaced();
    test_orientation();
    test_alpha();
    test_icc();
    test_truncated();
    test_camera();

    return NULL;
}


/*
 * The first input, made by a child process so that this one starts
 * libvips only through the code under test.
 */

static buf_t
first_input(void)
{
    int      fd[2], status;
    buf_t    b, made;
    pid_t    pid;
    ssize_t  n;
    size_t   size;

    memset(&b, 0, sizeof(b));

    if (pipe(fd) != 0) {
        return b;
    }

    pid = fork();

    if (pid == 0) {
        close(fd[0]);

        if (VIPS_INIT("image_test") != 0) {
            _exit(1);
        }

        made = jpeg(rotated(), 90, 0);

        if (made.data == NULL
            || write(fd[1], made.data, made.len) != (ssize_t) made.len)
        {
            _exit(1);
        }

        _exit(0);
    }

    close(fd[1]);

    size = 0;

    for ( ;; ) {
        if (b.len == size) {
            size = size ? 2 * size : 65536;
            b.data = realloc(b.data, size);
        }

        n = read(fd[0], (u_char *) b.data + b.len, size - b.len);
        if (n <= 0) {
            break;
        }

        b.len += n;
    }

    close(fd[0]);

    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
        b.len = 0;
    }

    return b;
}


int
main(void)
{
    buf_t      first;
    pthread_t  t;

    /* as in nginx's workers: see core/ngx_http_chantier_thread.c */
    (void) mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

    first = first_input();

    pthread_create(&t, NULL, run_tests, &first);
    pthread_join(t, NULL);

    free(first.data);

    vips_shutdown();

    return tap_done();
}
