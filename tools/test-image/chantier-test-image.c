/*
 * chantier-test-image: the images the stack tests and the demo data need,
 * made procedurally with libvips, so that no binary file is committed, and
 * two commands to look at what the server made of them.
 *
 *     chantier-test-image orientation6-gps var/t/rotated.jpg
 *     chantier-test-image info var/t/display.jpg
 *
 * See chantier_test_image_usage() (--help) for each command and for what
 * the images look like, which is what the tests check.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vips/vips.h>


#define CTI_DEMO_WIDTH     1600
#define CTI_DEMO_HEIGHT    1200
#define CTI_DEMO_HORIZON   780          /* the ground line of the scenes */


typedef int (*chantier_test_image_pt)(char **argv);

typedef struct {
    const char              *name;
    int                      nargs;
    chantier_test_image_pt   handler;
} chantier_test_image_command_t;


static int cti_orientation6_gps(char **argv);
static int cti_alpha(char **argv);
static int cti_bomb(char **argv);
static int cti_truncated(char **argv);
static int cti_camera(char **argv);
static int cti_demo(char **argv);
static int cti_probe(char **argv);
static int cti_info(char **argv);

static VipsImage *cti_canvas(int width, int height, int bands,
    const double *ink);
static void cti_rect(VipsImage *im, const double *ink, int left, int top,
    int width, int height);
static void cti_line(VipsImage *im, const double *ink, int x1, int y1,
    int x2, int y2, int thickness);
static void cti_triangle(VipsImage *im, const double *ink, int left,
    int right, int base, int apex_x, int apex_y);
static void cti_set_gps(VipsImage *im);
static VipsImage *cti_photo(int width, int height, int seed);
static VipsImage *cti_demo_scene(int stage, const char *title);
static void cti_demo_building(VipsImage *im, int stage);
static void cti_demo_crane(VipsImage *im);
static int cti_demo_label(VipsImage *im, const char *text);
static int cti_write(const char *path, const void *data, size_t len);
static int cti_vips_failed(const char *what);
static void chantier_test_image_usage(FILE *out);


static const chantier_test_image_command_t  chantier_test_image_commands[] = {
    { "orientation6-gps", 1, cti_orientation6_gps },
    { "alpha",            1, cti_alpha },
    { "bomb",             1, cti_bomb },
    { "truncated",        1, cti_truncated },
    { "camera",           1, cti_camera },
    { "demo",             1, cti_demo },
    { "probe",            3, cti_probe },
    { "info",             1, cti_info },
    { NULL, 0, NULL }
};


/* the colours of the test images, which the tests look for */
static const double  cti_red[] = { 255, 0, 0 };
static const double  cti_blue[] = { 0, 0, 255 };
static const double  cti_green[] = { 0, 255, 0 };
static const double  cti_clear[] = { 0, 0, 0, 0 };
static const double  cti_orange[] = { 240, 120, 30, 255 };


int
main(int argc, char **argv)
{
    int                                   rc;
    const chantier_test_image_command_t  *cmd;

    if (argc >= 2
        && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    {
        chantier_test_image_usage(stdout);
        return 0;
    }

    for (cmd = chantier_test_image_commands; cmd->name; cmd++) {
        if (argc >= 2 && strcmp(argv[1], cmd->name) == 0) {
            break;
        }
    }

    if (cmd->name == NULL || argc != 2 + cmd->nargs) {
        chantier_test_image_usage(stderr);
        return 2;
    }

    if (VIPS_INIT(argv[0]) != 0) {
        return cti_vips_failed("libvips did not start");
    }

    rc = cmd->handler(argv + 2);

    vips_shutdown();

    return rc;
}


/*
 * 600 x 400 as stored: top half red, bottom half blue, a green 100 x 100
 * square in the top-left corner; EXIF Orientation 6 ("rotate 90 degrees
 * clockwise to display") and a GPS position.  The square tells 6 from the
 * other orientations that swap the axes (5, 7, 8).
 */

static int
cti_orientation6_gps(char **argv)
{
    int         rc;
    VipsImage  *im;

    im = cti_canvas(600, 400, 3, cti_red);
    if (im == NULL) {
        return cti_vips_failed("canvas");
    }

    cti_rect(im, cti_blue, 0, 200, 600, 200);
    cti_rect(im, cti_green, 0, 0, 100, 100);

    vips_image_set_int(im, VIPS_META_ORIENTATION, 6);
    vips_image_set_string(im, "exif-ifd0-Make", "CLO test camera");
    cti_set_gps(im);

    rc = vips_jpegsave(im, argv[0], "Q", 95, NULL);

    g_object_unref(im);

    return rc == 0 ? 0 : cti_vips_failed(argv[0]);
}


/* 300 x 200 RGBA: the left half transparent, the right half opaque orange */

static int
cti_alpha(char **argv)
{
    int         rc;
    VipsImage  *im;

    im = cti_canvas(300, 200, 4, cti_clear);
    if (im == NULL) {
        return cti_vips_failed("canvas");
    }

    cti_rect(im, cti_orange, 150, 0, 150, 200);

    rc = vips_pngsave(im, argv[0], NULL);

    g_object_unref(im);

    return rc == 0 ? 0 : cti_vips_failed(argv[0]);
}


/*
 * 10,000 x 6,000 black pixels, 1 bit each: about 8 KB of PNG for 60 million
 * pixels.  libvips streams it to the file, nothing of it stays in memory.
 */

static int
cti_bomb(char **argv)
{
    int         rc;
    VipsImage  *im;

    if (vips_black(&im, 10000, 6000, NULL) != 0) {
        return cti_vips_failed("black");
    }

    rc = vips_pngsave(im, argv[0], "compression", 9, "bitdepth", 1, NULL);

    g_object_unref(im);

    return rc == 0 ? 0 : cti_vips_failed(argv[0]);
}


/* the first half of a valid 1200 x 900 JPEG of a photo-like texture */

static int
cti_truncated(char **argv)
{
    int         rc;
    void       *data;
    size_t      len;
    VipsImage  *im;

    im = cti_photo(1200, 900, 1);
    if (im == NULL) {
        return cti_vips_failed("texture");
    }

    rc = vips_jpegsave_buffer(im, &data, &len, "Q", 90, NULL);

    g_object_unref(im);

    if (rc != 0) {
        return cti_vips_failed("jpegsave");
    }

    rc = cti_write(argv[0], data, len / 2);

    g_free(data);

    return rc;
}


/*
 * What a phone sends: 4000 x 3000 (12 MP), a noisy texture that compresses
 * like a photo (about 4 MB at quality 92), EXIF with a camera, a date and a
 * GPS position, orientation 1.
 */

static int
cti_camera(char **argv)
{
    int         rc;
    VipsImage  *im, *tagged;

    im = cti_photo(4000, 3000, 2);
    if (im == NULL) {
        return cti_vips_failed("texture");
    }

    rc = vips_copy(im, &tagged, NULL);

    g_object_unref(im);

    if (rc != 0) {
        return cti_vips_failed("copy");
    }

    vips_image_set_string(tagged, "exif-ifd0-Make", "CLO");
    vips_image_set_string(tagged, "exif-ifd0-Model", "Test camera 12MP");
    vips_image_set_string(tagged, "exif-ifd2-DateTimeOriginal",
                          "2026:03:02 10:15:00");
    vips_image_set_int(tagged, VIPS_META_ORIENTATION, 1);
    cti_set_gps(tagged);

    rc = vips_jpegsave(tagged, argv[0], "Q", 92, NULL);

    g_object_unref(tagged);

    return rc == 0 ? 0 : cti_vips_failed(argv[0]);
}


/*
 * Six pictures of one house being built, 1600 x 1200 JPEG without
 * metadata, under 400 KB each, named demo-N-stage.jpg so that a script
 * takes them in order with a glob; their paths are printed.
 */

static int
cti_demo(char **argv)
{
    int          rc;
    char         path[4096];
    size_t       i;
    VipsImage   *im;

    static const struct {
        const char  *file;
        const char  *title;
    }  stages[] = {
        { "demo-1-terrassement.jpg", "CH-2026-0064 \xc2\xb7 Terrassement" },
        { "demo-2-fondations.jpg",   "CH-2026-0064 \xc2\xb7 Fondations" },
        { "demo-3-murs.jpg",         "CH-2026-0064 \xc2\xb7 \xc3\x89l\xc3\xa9"
                                     "vation des murs" },
        { "demo-4-charpente.jpg",    "CH-2026-0064 \xc2\xb7 Charpente" },
        { "demo-5-toiture.jpg",      "CH-2026-0064 \xc2\xb7 Toiture" },
        { "demo-6-finitions.jpg",    "CH-2026-0064 \xc2\xb7 Finitions" }
    };

    if (mkdir(argv[0], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "chantier-test-image: %s: %s\n", argv[0],
                strerror(errno));
        return 1;
    }

    for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        (void) snprintf(path, sizeof(path), "%s/%s", argv[0],
                        stages[i].file);

        im = cti_demo_scene((int) i + 1, stages[i].title);
        if (im == NULL) {
            return cti_vips_failed(stages[i].file);
        }

        rc = vips_jpegsave(im, path, "Q", 85, "strip", TRUE,
                           "optimize_coding", TRUE, NULL);

        g_object_unref(im);

        if (rc != 0) {
            return cti_vips_failed(path);
        }

        printf("%s\n", path);
    }

    return 0;
}


/* "R G B [A]" (one number a band) of the pixel at (X, Y) */

static int
cti_probe(char **argv)
{
    int         x, y, n, i, rc;
    double     *v;
    VipsImage  *im;

    x = atoi(argv[1]);
    y = atoi(argv[2]);

    im = vips_image_new_from_file(argv[0], NULL);
    if (im == NULL) {
        return cti_vips_failed(argv[0]);
    }

    if (x < 0 || y < 0 || x >= im->Xsize || y >= im->Ysize) {
        fprintf(stderr, "chantier-test-image: (%d, %d) is outside the "
                "%d x %d image\n", x, y, im->Xsize, im->Ysize);
        g_object_unref(im);
        return 1;
    }

    rc = vips_getpoint(im, &v, &n, x, y, NULL);

    g_object_unref(im);

    if (rc != 0) {
        return cti_vips_failed("getpoint");
    }

    for (i = 0; i < n; i++) {
        printf("%s%.0f", i ? " " : "", v[i]);
    }

    printf("\n");

    g_free(v);

    return 0;
}


/* libvips names EXIF fields "exif-ifdN-Tag"; the GPS ones are GPS... */

static void *
cti_info_gps(VipsImage *im, const char *field, GValue *value, void *data)
{
    if (strncmp(field, "exif-ifd", 8) == 0 && strstr(field, "-GPS") != NULL) {
        *(int *) data = 1;
    }

    return NULL;
}


/* "format width height bands has_alpha exif=0|1 xmp=0|1 icc=0|1 gps=0|1" */

static int
cti_info(char **argv)
{
    int          gps;
    const char  *loader, *format;
    VipsImage   *im;

    im = vips_image_new_from_file(argv[0], NULL);
    if (im == NULL) {
        return cti_vips_failed(argv[0]);
    }

    if (vips_image_get_string(im, "vips-loader", &loader) != 0) {
        loader = "unknown";
    }

    if (strncmp(loader, "jpegload", 8) == 0) {
        format = "jpeg";

    } else if (strncmp(loader, "pngload", 7) == 0) {
        format = "png";

    } else {
        format = loader;
    }

    gps = 0;
    (void) vips_image_map(im, cti_info_gps, &gps);

    printf("%s %d %d %d %d exif=%d xmp=%d icc=%d gps=%d\n",
           format, im->Xsize, im->Ysize, im->Bands,
           vips_image_hasalpha(im) ? 1 : 0,
           vips_image_get_typeof(im, VIPS_META_EXIF_NAME) != 0,
           vips_image_get_typeof(im, VIPS_META_XMP_NAME) != 0,
           vips_image_get_typeof(im, VIPS_META_ICC_NAME) != 0,
           gps);

    g_object_unref(im);

    return 0;
}


/* an image in memory, filled with ink, that the vips_draw_*() may change */

static VipsImage *
cti_canvas(int width, int height, int bands, const double *ink)
{
    VipsImage  *black, *typed, *im;

    if (vips_black(&black, width, height, "bands", bands, NULL) != 0) {
        return NULL;
    }

    if (vips_copy(black, &typed, "interpretation",
                  bands >= 3 ? VIPS_INTERPRETATION_sRGB
                             : VIPS_INTERPRETATION_B_W,
                  NULL)
        != 0)
    {
        g_object_unref(black);
        return NULL;
    }

    g_object_unref(black);

    im = vips_image_copy_memory(typed);

    g_object_unref(typed);

    if (im != NULL) {
        cti_rect(im, ink, 0, 0, width, height);
    }

    return im;
}


/* drawing on a memory image cannot fail but for arguments we control */

static void
cti_rect(VipsImage *im, const double *ink, int left, int top, int width,
    int height)
{
    (void) vips_draw_rect(im, (double *) ink, im->Bands, left, top, width,
                          height, "fill", TRUE, NULL);
}


static void
cti_line(VipsImage *im, const double *ink, int x1, int y1, int x2, int y2,
    int thickness)
{
    int  d;

    for (d = -thickness / 2; d <= thickness / 2; d++) {
        (void) vips_draw_line(im, (double *) ink, im->Bands, x1 + d, y1,
                              x2 + d, y2, NULL);
        (void) vips_draw_line(im, (double *) ink, im->Bands, x1, y1 + d,
                              x2, y2 + d, NULL);
    }
}


/* a triangle standing on the row "base", from left to right */

static void
cti_triangle(VipsImage *im, const double *ink, int left, int right, int base,
    int apex_x, int apex_y)
{
    int     y;
    double  t;

    for (y = apex_y; y <= base; y++) {
        t = (double) (y - apex_y) / (base - apex_y);

        cti_rect(im, ink, apex_x + (int) ((left - apex_x) * t), y,
                 (int) ((right - left) * t) + 1, 1);
    }
}


/*
 * A GPS position (the CLO yard, near Lyon), in the form libvips writes
 * EXIF fields back from: rationals "num/den", three for D M S.
 */

static void
cti_set_gps(VipsImage *im)
{
    vips_image_set_string(im, "exif-ifd3-GPSLatitudeRef", "N");
    vips_image_set_string(im, "exif-ifd3-GPSLatitude", "45/1 45/1 3120/100");
    vips_image_set_string(im, "exif-ifd3-GPSLongitudeRef", "E");
    vips_image_set_string(im, "exif-ifd3-GPSLongitude", "4/1 50/1 4200/100");
}


/*
 * A photo-like texture: smooth colour gradients under Gaussian noise
 * (sigma 5, a different noise in each band), which a JPEG encoder cannot
 * flatten, as with a real sensor.  Lazy: it is computed while it is saved.
 */

static VipsImage *
cti_photo(int width, int height, int seed)
{
    int         i;
    VipsImage  *t[10], *im;

    static const double  ones[] = { 1, 1, 1 };
    static const double  base[] = { 70, 100, 140 };

    memset(t, 0, sizeof(t));
    im = NULL;

    /*
     * From (x, y), t[0]: red grows along x, blue along y, green along both
     * (t[1] is the 2 x 3 matrix of vips_recomb(), one row an output band).
     */

    t[1] = vips_image_new_matrixv(2, 3, 120.0 / width, 0.0,
                                  60.0 / width, 50.0 / height,
                                  0.0, 80.0 / height);
    if (t[1] == NULL) {
        goto done;
    }

    if (vips_xyz(&t[0], width, height, NULL) != 0
        || vips_recomb(t[0], &t[2], t[1], NULL) != 0
        || vips_linear(t[2], &t[3], (double *) ones, (double *) base, 3,
                       NULL) != 0)
    {
        goto done;
    }

    for (i = 0; i < 3; i++) {
        if (vips_gaussnoise(&t[4 + i], width, height, "sigma", 5.0,
                            "mean", 0.0, "seed", seed * 3 + i, NULL) != 0)
        {
            goto done;
        }
    }

    if (vips_bandjoin(&t[4], &t[7], 3, NULL) != 0
        || vips_add(t[3], t[7], &t[8], NULL) != 0
        || vips_cast(t[8], &t[9], VIPS_FORMAT_UCHAR, NULL) != 0
        || vips_copy(t[9], &im, "interpretation", VIPS_INTERPRETATION_sRGB,
                     NULL) != 0)
    {
        im = NULL;
    }

done:

    for (i = 0; i < 10; i++) {
        if (t[i]) {
            g_object_unref(t[i]);
        }
    }

    return im;
}


/*
 * One demo picture: the sky and the ground, the house at its stage (1 the
 * earthworks ... 6 finished), the crane while it is needed, and the
 * chantier's code and the stage's name on a band at the bottom.
 */

static VipsImage *
cti_demo_scene(int stage, const char *title)
{
    int         i, y;
    double      t, ink[3];
    VipsImage  *im;

    static const double  sky_top[] = { 96, 150, 210 };
    static const double  sky_low[] = { 205, 225, 240 };
    static const double  earth[] = { 150, 118, 84 };
    static const double  lawn[] = { 104, 156, 78 };
    static const double  sun[] = { 255, 244, 205 };
    static const double  cloud[] = { 244, 248, 252 };
    static const int     clouds[][3] = {
        { 1000, 120, 38 }, { 1045, 100, 48 }, { 1095, 118, 36 },
        { 1040, 130, 30 }, { 420, 250, 30 }, { 455, 232, 40 },
        { 498, 250, 28 }, { 460, 258, 24 }
    };

    im = cti_canvas(CTI_DEMO_WIDTH, CTI_DEMO_HEIGHT, 3, sky_low);
    if (im == NULL) {
        return NULL;
    }

    for (y = 0; y < CTI_DEMO_HORIZON; y++) {
        t = (double) y / CTI_DEMO_HORIZON;
        ink[0] = sky_top[0] + (sky_low[0] - sky_top[0]) * t;
        ink[1] = sky_top[1] + (sky_low[1] - sky_top[1]) * t;
        ink[2] = sky_top[2] + (sky_low[2] - sky_top[2]) * t;
        cti_rect(im, ink, 0, y, CTI_DEMO_WIDTH, 1);
    }

    (void) vips_draw_circle(im, (double *) sun, 3, 1340, 170, 64,
                            "fill", TRUE, NULL);

    for (i = 0; i < 8; i++) {
        (void) vips_draw_circle(im, (double *) cloud, 3, clouds[i][0],
                                clouds[i][1], clouds[i][2], "fill", TRUE,
                                NULL);
    }

    cti_rect(im, stage == 6 ? lawn : earth, 0, CTI_DEMO_HORIZON,
             CTI_DEMO_WIDTH, CTI_DEMO_HEIGHT - CTI_DEMO_HORIZON);

    cti_demo_building(im, stage);

    if (stage >= 2 && stage <= 5) {
        cti_demo_crane(im);
    }

    if (cti_demo_label(im, title) != 0) {
        g_object_unref(im);
        return NULL;
    }

    return im;
}


static void
cti_demo_building(VipsImage *im, int stage)
{
    int  i, x, y, top;

    static const int  windows[] = { 530, 660, 890, 1010 };

    static const double  pit[] = { 96, 74, 52 };
    static const double  heap[] = { 128, 98, 66 };
    static const double  yellow[] = { 236, 184, 36 };
    static const double  dark[] = { 52, 52, 56 };
    static const double  concrete[] = { 178, 178, 172 };
    static const double  steel[] = { 92, 70, 60 };
    static const double  brick[] = { 186, 108, 78 };
    static const double  render[] = { 236, 226, 202 };
    static const double  hole[] = { 66, 58, 54 };
    static const double  glass[] = { 140, 172, 194 };
    static const double  frame[] = { 250, 250, 246 };
    static const double  wood[] = { 160, 110, 62 };
    static const double  tiles[] = { 152, 62, 46 };
    static const double  tile_line[] = { 118, 44, 34 };
    static const double  scaffold[] = { 150, 156, 160 };
    static const double  door[] = { 118, 78, 48 };
    static const double  leaves[] = { 70, 128, 60 };

    if (stage == 1) {

        /* the excavation, its heap of earth, an excavator */

        cti_rect(im, pit, 420, CTI_DEMO_HORIZON, 760, 130);
        cti_triangle(im, heap, 80, 380, CTI_DEMO_HORIZON, 230, 660);
        cti_rect(im, dark, 1200, 770, 200, 34);
        cti_rect(im, yellow, 1210, 690, 170, 80);
        cti_rect(im, yellow, 1290, 620, 80, 70);
        cti_rect(im, glass, 1302, 632, 56, 40);
        cti_line(im, yellow, 1220, 700, 1090, 610, 14);
        cti_line(im, yellow, 1090, 610, 1030, 800, 12);
        cti_rect(im, dark, 1005, 790, 60, 30);
        return;
    }

    /* from stage 2: the slab and its rebars waiting for the walls */

    cti_rect(im, concrete, 440, CTI_DEMO_HORIZON - 24, 720, 40);

    if (stage == 2) {
        for (x = 470; x < 1150; x += 56) {
            cti_line(im, steel, x, CTI_DEMO_HORIZON - 24, x, 690, 4);
        }

        return;
    }

    /* from stage 3: the walls, half high at 3 */

    top = stage == 3 ? 600 : 480;

    cti_rect(im, stage == 6 ? render : brick, 460, top, 680,
             CTI_DEMO_HORIZON - 24 - top);

    /* windows and the door: holes, then glass and frames when finished */

    for (i = 0; i < 4; i++) {
        x = windows[i];

        if (stage == 6) {
            cti_rect(im, frame, x - 8, 532, 106, 126);
            cti_rect(im, glass, x, 540, 90, 110);

        } else if (top < 540) {
            cti_rect(im, hole, x, 540, 90, 110);
        }
    }

    cti_rect(im, stage == 6 ? door : hole, 780, 620, 90,
             CTI_DEMO_HORIZON - 24 - 620);

    if (stage <= 5) {

        /* scaffolding along the front */

        for (x = 440; x <= 1160; x += 120) {
            cti_line(im, scaffold, x, top - 40, x, CTI_DEMO_HORIZON, 6);
        }

        cti_line(im, scaffold, 440, top - 20, 1160, top - 20, 6);
        cti_line(im, scaffold, 440, 660, 1160, 660, 6);
    }

    if (stage == 4) {

        /* the roof trusses */

        cti_line(im, wood, 430, 480, 800, 290, 10);
        cti_line(im, wood, 800, 290, 1170, 480, 10);
        cti_line(im, wood, 430, 480, 1170, 480, 10);
        cti_line(im, wood, 800, 290, 800, 480, 8);
        cti_line(im, wood, 615, 385, 700, 480, 6);
        cti_line(im, wood, 985, 385, 900, 480, 6);
    }

    if (stage >= 5) {

        /* the tiled roof */

        cti_triangle(im, tiles, 420, 1180, 480, 800, 285);

        for (y = 320; y < 480; y += 28) {
            cti_line(im, tile_line, 800 - (y - 285) * 380 / 195, y,
                     800 + (y - 285) * 380 / 195, y, 2);
        }
    }

    if (stage == 6) {

        /* a tree in the garden */

        cti_rect(im, door, 1300, 600, 26, 190);
        (void) vips_draw_circle(im, (double *) leaves, 3, 1313, 560, 90,
                                "fill", TRUE, NULL);
    }
}


static void
cti_demo_crane(VipsImage *im)
{
    int  y;

    static const double  yellow[] = { 242, 192, 40 };
    static const double  cable[] = { 60, 60, 60 };
    static const double  weight[] = { 120, 120, 120 };

    /* the mast, as a lattice */

    cti_rect(im, yellow, 232, 170, 8, CTI_DEMO_HORIZON - 170);
    cti_rect(im, yellow, 272, 170, 8, CTI_DEMO_HORIZON - 170);

    for (y = 170; y < CTI_DEMO_HORIZON - 40; y += 40) {
        cti_line(im, yellow, 236, y, 276, y + 40, 3);
    }

    /* the jib, the counter-jib and its weight, the hook above the house */

    cti_rect(im, yellow, 110, 160, 760, 16);
    cti_rect(im, weight, 120, 176, 70, 44);
    cti_line(im, yellow, 256, 110, 860, 168, 3);
    cti_line(im, yellow, 256, 110, 120, 168, 3);
    cti_line(im, cable, 720, 176, 720, 400, 2);
    cti_rect(im, cable, 708, 400, 26, 14);
}


/* white text on a dark band at the bottom (DejaVu, fonts-dejavu-core) */

static int
cti_demo_label(VipsImage *im, const char *text)
{
    int         rc;
    VipsImage  *mask;

    static const double  band[] = { 34, 42, 52 };
    static const double  white[] = { 255, 255, 255 };

    cti_rect(im, band, 0, CTI_DEMO_HEIGHT - 96, CTI_DEMO_WIDTH, 96);

    if (vips_text(&mask, text, "font", "DejaVu Sans Bold 34", NULL) != 0) {
        return -1;
    }

    rc = vips_draw_mask(im, (double *) white, 3, mask, 48,
                        CTI_DEMO_HEIGHT - 48 - mask->Ysize / 2, NULL);

    g_object_unref(mask);

    return rc;
}


static int
cti_write(const char *path, const void *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "chantier-test-image: %s: %s\n", path,
                strerror(errno));
        return 1;
    }

    if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "chantier-test-image: %s: %s\n", path,
                strerror(errno));
        return 1;
    }

    return 0;
}


static int
cti_vips_failed(const char *what)
{
    fprintf(stderr, "chantier-test-image: %s: %s", what, vips_error_buffer());
    fprintf(stderr, "\n");

    return 1;
}


static void
chantier_test_image_usage(FILE *out)
{
    fprintf(out,
"Usage: chantier-test-image COMMAND ARGS...\n"
"\n"
"Test images for the photo tests and the demo data, made with libvips.\n"
"\n"
"  orientation6-gps OUT.jpg\n"
"      600 x 400 as stored: top half red (255 0 0), bottom half blue\n"
"      (0 0 255), a green (0 255 0) 100 x 100 square in the top-left\n"
"      corner; EXIF Orientation 6 and a GPS position.  Upright (rotated\n"
"      90 degrees clockwise) it is 400 x 600: the LEFT half blue, the\n"
"      RIGHT half red, the green square in the TOP-RIGHT corner.  At the\n"
"      server's display size (unchanged, 400 x 600): (100,300) blue,\n"
"      (300,300) red, (350,50) green.\n"
"  alpha OUT.png\n"
"      300 x 200 RGBA: left half transparent (0 0 0 0), right half opaque\n"
"      orange (240 120 30 255).\n"
"  bomb OUT.png\n"
"      10,000 x 6,000 black pixels in about 8 KB (1-bit grey): 60 MP,\n"
"      over the server's 50 MP limit.\n"
"  truncated OUT.jpg\n"
"      the first half of a valid 1200 x 900 JPEG.\n"
"  camera OUT.jpg\n"
"      4000 x 3000 (12 MP) photo-like noisy gradient, about 4 MB, with\n"
"      EXIF (Make, Model, DateTimeOriginal, GPS); the server makes it\n"
"      2048 x 1536 and 480 x 360.\n"
"  demo OUT_DIR\n"
"      six 1600 x 1200 JPEGs of a house being built, without metadata,\n"
"      each under 400 KB: demo-1-terrassement.jpg, demo-2-fondations.jpg,\n"
"      demo-3-murs.jpg, demo-4-charpente.jpg, demo-5-toiture.jpg,\n"
"      demo-6-finitions.jpg (the directory is made if missing; the paths\n"
"      are printed).\n"
"  probe FILE X Y\n"
"      prints the pixel at (X, Y), one number a band: \"R G B\" or\n"
"      \"R G B A\" (\"G\" or \"G A\" for grey).\n"
"  info FILE\n"
"      prints \"format width height bands has_alpha exif=0|1 xmp=0|1\n"
"      icc=0|1 gps=0|1\", format jpeg or png; gps=1 when an EXIF field\n"
"      of the GPS directory is there.\n"
"\n"
"Exit status 0 on success, 1 on failure, 2 for a malformed command.\n");
}
