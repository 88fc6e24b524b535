/*
 * Unit test of pdf/ngx_http_chantier_pdf.c, printing TAP for prove.
 *
 * A fiche is written here as the JSON of GET fiches/{id} (as
 * db/api/fiches.sql builds it: times in UTC, "...Z"), with everything the
 * PDF must show: accents, €, œ, « », both apostrophes, a heading, lists,
 * a link, a cancelled post, nested replies, a post long enough to span
 * pages, photos (JPEG, PNG with transparency, a large PNG, one missing,
 * two unreadable).  Its photos are made with libvips.  It is rendered in a
 * thread other than main, as in nginx's pool, to var/test/pdf_test.pdf
 * (see out_dir below for a run outside make test), and what a reader gets
 * is checked with poppler-utils: pdfinfo (A4, the pages), pdftotext (the
 * texts, their order, the footers; no warning about the fonts), pdfimages
 * -list (the photos at their resolution), pdftoppm (the grey of the
 * cancelled post, its veiled photo), and the raw file (/URI annotations).
 *
 * Then the big fiche (db/fixtures/big_fiche.sql: 200 posts, 1,000
 * comments) with 50 photos of 2,048 x 1,536: its time and memory are
 * printed as TAP comments, the time checked against the 1 s target.
 *
 * The pages are kept as pdf_test-N.png next to the PDF, and the JSON of
 * both fiches as pdf_test.json and pdf_test-big.json, for a person to
 * look at (build/chantier-pdf-preview renders them again).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#include "pdf/ngx_http_chantier_pdf.h"


#include "tap.h"


#define FONT_DIR       NGX_HTTP_CHANTIER_PDF_FONT_DIR
#define PUBLIC_URL     "https://espace.clo.fr/fiche.html?id=42"

/* as libharu writes them: "/" as \057 in its strings */
#define URI_LIVE       "/URI (https:\\057\\057espace.clo.fr\\057fiche.html" \
                       "?id=42)"
#define URI_POST       "/URI (https:\\057\\057www.clo-renovation.fr\\057" \
                       "notices\\05712)"
#define THREADS        4
#define BIG_PHOTOS     50
#define BIG_TIMED      3


typedef struct {
    char    *p;
    size_t   len;
    size_t   cap;
} str_t;


typedef struct {
    void    *data;
    size_t   len;
} buf_t;


typedef struct {
    ngx_http_chantier_pdf_t  *pdf;
    ngx_int_t                 rc;
    double                    ms;
} job_t;


/* a word's box, from pdftotext -bbox, in points from the top left */
typedef struct {
    int      page;
    double   x0, y0, x1, y1;
} box_t;


/*
 * Where the files go: VAR, the stack's directory, under make test
 * (var/test); var/test when a stack left it; else var/unit, since
 * scripts/stack refuses to remove a var/test it did not make.
 */
static char  out_dir[256];
static char  out_pdf[300];
static char  out_done[300];
static char  out_big[300];
static char  out_logo[300];
static char  fonts_two[300];


/* strings */

static void
sadd(str_t *s, const char *fmt, ...)
{
    int      n;
    va_list  args;

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, args);
        va_end(args);

        if (n >= 0 && s->len + n < s->cap) {
            s->len += n;
            return;
        }

        s->cap = 2 * (s->cap + n + 64);
        s->p = realloc(s->p, s->cap);

        if (s->p == NULL) {
            abort();
        }
    }
}


/* one Delta op: text, with attributes (JSON without braces) or NULL */

static void
op(str_t *s, const char *text, const char *attrs)
{
    sadd(s, "%s{\"insert\": \"%s\"", s->p[s->len - 1] == '[' ? "" : ", ",
         text);

    if (attrs) {
        sadd(s, ", \"attributes\": {%s}", attrs);
    }

    sadd(s, "}");
}


static void
op_photo(str_t *s, int id)
{
    sadd(s, "%s{\"insert\": {\"image\": \"photo:%d\"}}",
         s->p[s->len - 1] == '[' ? "" : ", ", id);
}


/* a comment without its replies' closing: "]}" closes it */

static void
comment_open(str_t *s, int first, int id, int staff, const char *at,
    const char *body)
{
    sadd(s, "%s{\"id\": %d, \"body\": \"%s\", \"author\": {\"id\": %d, "
         "\"name\": \"%s\", \"role\": \"%s\"}, \"created_at\": \"%s\", "
         "\"replies\": [", first ? "" : ", ", id, body, staff ? 3 : 7,
         staff ? "Mme Marie Rousseau" : "M. Jean Dupont",
         staff ? "employee" : "client", at);
}


static void
post_open(str_t *s, int first, int id, const char *at, const char *edited,
    int cancelled, int finishing)
{
    sadd(s, "%s{\"id\": %d, \"version\": 1, \"author\": {\"id\": 3, "
         "\"name\": \"Mme Marie Rousseau\"}, \"created_at\": \"%s\", "
         "\"edited_at\": %s%s%s, \"cancelled\": %s, \"finishing\": %s, "
         "\"notify_client\": false, \"body\": {\"ops\": [",
         first ? "" : ", ", id, at, edited ? "\"" : "",
         edited ? edited : "null", edited ? "\"" : "",
         cancelled ? "true" : "false", finishing ? "true" : "false");
}


/* the test fiche */

static char *
fiche_json(void)
{
    int    i;
    char   text[512];
    str_t  s = { NULL, 0, 0 };

    sadd(&s, "{\"id\": 42, \"version\": 17, \"header\": {\"chantier_id\": "
         "\"CH-2026-0042\", \"title\": \"Rénovation d’une maison de ville "
         "— cuisine & salle d’eau\", \"start_date\": \"2026-03-01\", "
         "\"planned_end_date\": \"2026-06-30\", \"revised_end_date\": "
         "\"2026-11-15\", \"client\": {\"name\": "
         "\"M. Jean Dupont\", \"address\": {\"line1\": \"12 rue des "
         "Lilas\", \"line2\": \"Bâtiment B\", \"postal_code\": \"69003\", "
         "\"city\": \"Lyon\"}}}, \"status\": \"in_progress\", "
         "\"finished_at\": null, \"posts\": [");

    /* 1: formats, lists, a link, two photos in a grid, a deep thread */
    post_open(&s, 1, 1, "2026-03-02T07:15:00Z", NULL, 0, 0);
    op(&s, "Démarrage du chantier", NULL);
    op(&s, "\\n", "\"header\": 1");
    op(&s, "Budget : 12 500 € — l’œuvre « démarre » ; l'entrée est ", NULL);
    op(&s, "protégée", "\"bold\": true");
    op(&s, ", ", NULL);
    op(&s, "italique", "\"italic\": true");
    op(&s, ", ", NULL);
    op(&s, "souligné", "\"underline\": true");
    op(&s, ", ", NULL);
    op(&s, "barré", "\"strike\": true");
    op(&s, ", ", NULL);
    op(&s, "petit", "\"size\": \"small\"");
    op(&s, ", ", NULL);
    op(&s, "grand", "\"size\": \"large\"");
    op(&s, " et ", NULL);
    op(&s, "énorme", "\"size\": \"huge\"");
    op(&s, ".\\nTravaux prévus", NULL);
    op(&s, "\\n", "\"header\": 2");
    op(&s, "dépose de la cuisine", NULL);
    op(&s, "\\n", "\"list\": \"bullet\"");
    op(&s, "évacuation des gravats", NULL);
    op(&s, "\\n", "\"list\": \"bullet\"");
    op(&s, "Premier point", NULL);
    op(&s, "\\n", "\"list\": \"ordered\"");
    op(&s, "Deuxième point", NULL);
    op(&s, "\\n", "\"list\": \"ordered\"");
    op(&s, "Voir la ", NULL);
    op(&s, "notice du fabricant",
       "\"link\": \"https://www.clo-renovation.fr/notices/12\"");
    op(&s, " avant jeudi.\\n", NULL);
    op_photo(&s, 201);
    op_photo(&s, 202);
    op(&s, "\\n", NULL);
    sadd(&s, "]}, \"photos\": [{\"id\": 201, \"width\": 1200, \"height\": "
         "900}, {\"id\": 202, \"width\": 900, \"height\": 1200}], "
         "\"comments\": [");
    comment_open(&s, 1, 11, 0, "2026-03-02T09:00:00Z",
                 "Merci ! C’est très clair.\\nÀ jeudi.");
    comment_open(&s, 1, 12, 1, "2026-03-02T09:30:00Z",
                 "Avec plaisir, réponse au premier.");
    comment_open(&s, 1, 13, 0, "2026-03-02T10:00:00Z",
                 "Troisième niveau de la discussion.");
    comment_open(&s, 1, 14, 1, "2026-03-02T10:10:00Z", "Quatrième niveau.");
    comment_open(&s, 1, 15, 0, "2026-03-02T10:20:00Z", "Cinquième niveau.");
    comment_open(&s, 1, 16, 1, "2026-03-02T10:30:00Z",
                 "Sixième niveau, plus indenté.");
    sadd(&s, "]}]}]}]}]}]}");
    comment_open(&s, 0, 17, 0, "2026-03-03T08:00:00Z",
                 "Second fil de commentaires.");
    sadd(&s, "]}]}");

    /* 2: cancelled, with a photo and a comment; edited at an offset */
    post_open(&s, 0, 2, "2026-03-10T09:00:00Z", "2026-03-29T03:30:00+02:00",
              1, 0);
    op(&s, "Pose des cloisons : ", NULL);
    op(&s, "Cloisonnement", "\"bold\": true");
    op(&s, " reporté, le plâtre n’était pas sec.\\n", NULL);
    op_photo(&s, 203);
    op(&s, "\\n", NULL);
    sadd(&s, "]}, \"photos\": [{\"id\": 203, \"width\": 800, \"height\": "
         "600}], \"comments\": [");
    comment_open(&s, 1, 21, 0, "2026-03-10T10:00:00Z",
                 "Dommage, on attend la suite.");
    sadd(&s, "]}]}");

    /* 3: long, with headings between its paragraphs */
    post_open(&s, 0, 3, "2026-04-10T12:00:00Z", NULL, 0, 0);
    op(&s, "Compte rendu détaillé", NULL);
    op(&s, "\\n", "\"header\": 1");

    for (i = 1; i <= 60; i++) {
        if (i % 10 == 0) {
            (void) snprintf(text, sizeof(text), "Étape %d", i / 10);
            op(&s, text, NULL);
            op(&s, "\\n", "\"header\": 3");
        }

        (void) snprintf(text, sizeof(text), "Paragraphe %d : l’équipe a "
                        "déposé l’ancien carrelage, contrôlé les niveaux et "
                        "préparé la chape ; coût estimé 1 250 € HT, « sans "
                        "surprise ». Les joints seront gris clair, comme "
                        "prévu au devis signé.\\n", i);
        op(&s, text, NULL);
    }

    sadd(&s, "]}, \"photos\": [], \"comments\": []}");

    /* 4: the end; a PNG with transparency, a large PNG, photos missing or
     * unreadable */
    post_open(&s, 0, 4, "2026-06-27T14:30:00Z", NULL, 0, 1);
    op(&s, "Chantier terminé, merci à tous !\\n", NULL);
    op_photo(&s, 204);
    op_photo(&s, 205);
    op_photo(&s, 206);
    op_photo(&s, 207);
    op_photo(&s, 208);
    op(&s, "\\nFin du compte rendu.\\n", NULL);
    sadd(&s, "]}, \"photos\": [{\"id\": 204, \"width\": 600, \"height\": 400}, "
         "{\"id\": 205, \"width\": 2400, \"height\": 1600}, {\"id\": 206, "
         "\"width\": 800, \"height\": 600}], \"comments\": []}");

    sadd(&s, "]}");

    return s.p;
}


/* a finished fiche without posts nor address, with a PNG logo */

static char *
fiche_done_json(void)
{
    str_t  s = { NULL, 0, 0 };

    sadd(&s, "{\"id\": 43, \"version\": 2, \"header\": {\"chantier_id\": "
         "\"CH-2026-0043\", \"title\": \"Ravalement\", \"start_date\": "
         "\"2026-01-05\", \"planned_end_date\": \"2026-02-27\", \"client\": "
         "{\"name\": \"Mme Claire Martin\", \"address\": null}}, \"status\": "
         "\"finished\", \"finished_at\": \"2026-06-27T22:30:00Z\", "
         "\"posts\": []}");

    return s.p;
}


/*
 * The big fiche of db/fixtures/big_fiche.sql: 200 posts, one every 9 hours
 * from the start, a title and a line with bold and italic, every fifth a
 * list and a link; every fourth post one thread of five comments each
 * answering the one before, the others 1 > 2 > 3 and 4 > 5; posts 50,
 * 100, 150 cancelled, 200 finishing.  And 50 photos, on every fourth
 * post (two on every eighth), which the fixture has not.
 */

static char *
big_json(void)
{
    int          i, k, n, photo, last;
    char         at[32];
    time_t       t, start;
    struct tm    tm;
    str_t        s = { NULL, 0, 0 };

    static const char  *rooms[] = { "cuisine", "salle de bains", "séjour",
        "chambre 1", "chambre 2", "entrée", "cellier", "combles" };
    static const char  *trades[] = { "plomberie", "électricité",
        "plâtrerie", "carrelage", "menuiserie", "peinture", "maçonnerie",
        "ventilation" };
    static const char  *texts[] = {
        "Merci pour ces nouvelles, c’est très clair.",
        "Parfait, nous serons là jeudi matin pour voir ça.",
        "Est-ce que la couleur du joint sera bien gris clair comme prévu ?",
        "Oui, gris clair (référence Cerajoint 111), comme sur le devis.",
        "Pouvez-vous décaler l’intervention de l’électricien à 9 h ?\\n"
            "Nous ne serons pas là avant.",
        "C’est noté, il passera à 9 h 30.",
        "Très bien, merci !",
        "Les prises de la crédence sont-elles à la bonne hauteur ?",
        "Elles sont à 1,10 m du sol, soit 20 cm au-dessus du plan de "
            "travail.",
        "Attention à la porte du placard, elle frotte un peu en bas.",
        "Nous la reprenons demain, c’est un réglage de charnière.",
        "Super travail, l’équipe a été très soigneuse." };

    sadd(&s, "{\"id\": 12, \"version\": 3, \"header\": {\"chantier_id\": "
         "\"CH-2026-0012\", \"title\": \"Maison Martin\", \"start_date\": "
         "\"2026-03-01\", \"planned_end_date\": \"2026-09-30\", \"client\": "
         "{\"name\": \"Mme Claire Martin\", \"address\": {\"line1\": "
         "\"3 impasse des Tilleuls\", \"line2\": null, \"postal_code\": "
         "\"33000\", \"city\": \"Bordeaux\"}}}, \"status\": \"finished\", "
         "\"finished_at\": \"2026-05-14T11:00:00Z\", \"posts\": [");

    start = 1772348400;              /* 2026-03-01T07:00:00Z */
    n = 0;
    photo = 1000;

    for (i = 1; i <= 200; i++) {
        t = start + (time_t) (i - 1) * 9 * 3600;
        (void) gmtime_r(&t, &tm);
        (void) strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);

        post_open(&s, i == 1, i, at, NULL, i % 50 == 0 && i < 200, i == 200);

        sadd(&s, "{\"insert\": \"Jour %d : %s, %s\"}", i, trades[i % 8],
             rooms[i % 8]);
        op(&s, "\\n", "\"header\": 2");
        op(&s, "L’équipe a avancé sur la ", NULL);
        op(&s, trades[i % 8], "\"bold\": true");
        op(&s, " ; nous restons ", NULL);
        op(&s, "dans les temps", "\"italic\": true");
        op(&s, ".\\n", NULL);

        if (i % 5 == 0) {
            op(&s, "dépose et évacuation des anciens éléments", NULL);
            op(&s, "\\n", "\"list\": \"bullet\"");
            op(&s, "contrôle des niveaux", NULL);
            op(&s, "\\n", "\"list\": \"bullet\"");
            op(&s, "Fiche technique : ", NULL);
            sadd(&s, ", {\"insert\": \"voir la notice\", \"attributes\": "
                 "{\"link\": \"https://www.clo-renovation.fr/notices/%d\"}}",
                 i);
            op(&s, "\\n", NULL);
        }

        /* the photos of this post: ids from "photo" to "last" */
        last = photo;

        if (i % 4 == 0) {
            for (k = 0; k < (i % 8 ? 1 : 2) && last < 1000 + BIG_PHOTOS;
                 k++)
            {
                op_photo(&s, last++);
            }

            if (last > photo) {
                op(&s, "\\n", NULL);
            }
        }

        sadd(&s, "]}, \"photos\": [");

        for ( /* void */ ; photo < last; photo++) {
            sadd(&s, "%s{\"id\": %d, \"width\": 2048, \"height\": 1536}",
                 s.p[s.len - 1] == '[' ? "" : ", ", photo);
        }

        sadd(&s, "], \"comments\": [");

        for (k = 1; k <= 5; k++) {
            t = start + (time_t) (i - 1) * 9 * 3600 + k * 37 * 60;
            (void) gmtime_r(&t, &tm);
            (void) strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
            n++;

            if (i % 4 == 0) {
                /* one thread, each answering the one before */
                comment_open(&s, 1, n, k % 2 == 0, at, texts[n % 12]);

                if (k == 5) {
                    sadd(&s, "]}]}]}]}]}");
                }

                continue;
            }

            /* 1 > 2 > 3, then 4 > 5 */
            comment_open(&s, k == 1 || k == 2 || k == 3 || k == 5, n,
                         k % 2 == 0, at, texts[n % 12]);

            if (k == 3) {
                sadd(&s, "]}]}]}");

            } else if (k == 5) {
                sadd(&s, "]}]}");
            }
        }

        sadd(&s, "]}");
    }

    sadd(&s, "]}");

    return s.p;
}


/* images, made with libvips */

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


/* smooth gradients under noise, which compresses like a photo */

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
save(VipsImage *im, int as_png)
{
    buf_t  b;
    int    rc;

    memset(&b, 0, sizeof(b));

    if (im == NULL) {
        printf("# no image: %s\n", vips_error_buffer());
        return b;
    }

    rc = as_png ? vips_pngsave_buffer(im, &b.data, &b.len, NULL)
                : vips_jpegsave_buffer(im, &b.data, &b.len, "Q", 82, NULL);

    if (rc != 0) {
        printf("# save: %s\n", vips_error_buffer());
        vips_error_clear();
    }

    g_object_unref(im);

    return b;
}


static void
set_photo(ngx_http_chantier_pdf_photo_t *p, const char *id, buf_t *b)
{
    p->id = (const u_char *) id;
    p->len = strlen(id);
    p->data = b->data;
    p->data_len = b->len;
    p->png = (b->len > 4 && memcmp(b->data, "\x89PNG", 4) == 0);
}


/* running the renderer in threads */

static double
now_ms(void)
{
    struct timespec  t;

    (void) clock_gettime(CLOCK_MONOTONIC, &t);

    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}


static void *
render_job(void *data)
{
    job_t   *job = data;
    double   t0;

    t0 = now_ms();
    job->rc = ngx_http_chantier_pdf_render(job->pdf);
    job->ms = now_ms() - t0;

    return NULL;
}


static ngx_int_t
render(ngx_http_chantier_pdf_t *pdf, double *ms)
{
    job_t      job;
    pthread_t  t;

    job.pdf = pdf;
    job.rc = NGX_ERROR;
    job.ms = 0;

    if (pthread_create(&t, NULL, render_job, &job) != 0) {
        return NGX_ERROR;
    }

    (void) pthread_join(t, NULL);

    if (ms) {
        *ms = job.ms;
    }

    if (job.rc != NGX_OK) {
        printf("# render: %s\n", pdf->error);
    }

    return job.rc;
}


/* files and commands */

static int
write_file(const char *path, const void *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }

    if (fwrite(data, 1, len, f) != len) {
        (void) fclose(f);
        return -1;
    }

    return fclose(f);
}


/* the standard output of a command, NUL-terminated (stderr: see cmd) */

static char *
run(const char *fmt, ...)
{
    char     cmd[1024];
    FILE    *p;
    size_t   n;
    va_list  args;
    str_t    s = { NULL, 0, 0 };
    char     chunk[65536];

    va_start(args, fmt);
    (void) vsnprintf(cmd, sizeof(cmd), fmt, args);
    va_end(args);

    sadd(&s, "%s", "");

    p = popen(cmd, "r");
    if (p == NULL) {
        return s.p;
    }

    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
        if (s.len + n + 1 > s.cap) {
            s.cap = 2 * (s.len + n + 1);
            s.p = realloc(s.p, s.cap);
        }

        memcpy(s.p + s.len, chunk, n);
        s.len += n;
        s.p[s.len] = '\0';
    }

    (void) pclose(p);

    return s.p;
}


/* each of the texts appears in s, in this order */

static int
in_order(const char *s, const char **texts)
{
    const char  *p;

    for (p = s; *texts; texts++) {
        p = strstr(p, *texts);

        if (p == NULL) {
            printf("# missing, or out of order: \"%s\"\n", *texts);
            return 0;
        }

        p += strlen(*texts);
    }

    return 1;
}


static int
count(const char *s, const char *text)
{
    int  n;

    for (n = 0; (s = strstr(s, text)) != NULL; s += strlen(text)) {
        n++;
    }

    return n;
}


/*
 * The box of the first word "word" in pdftotext -bbox's output (XHTML:
 * <page ...> elements holding <word xMin= yMin= xMax= yMax=>word</word>).
 */

static int
find_word(const char *bbox, const char *word, box_t *box)
{
    char         tag[128];
    const char  *p, *w;

    (void) snprintf(tag, sizeof(tag), ">%s</word>", word);

    w = strstr(bbox, tag);
    if (w == NULL) {
        return -1;
    }

    box->page = 0;

    for (p = strstr(bbox, "<page "); p && p < w; p = strstr(p + 1, "<page "))
    {
        box->page++;
    }

    for (p = w; p > bbox && strncmp(p, "<word ", 6) != 0; p--) {
        /* void */
    }

    if (sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"",
               &box->x0, &box->y0, &box->x1, &box->y1) != 4)
    {
        return -1;
    }

    return 0;
}


/* a page rendered at 72 dpi (1 pixel = 1 point), PPM read back */

typedef struct {
    int      width;
    int      height;
    u_char  *rgb;
} ppm_t;


static int
ppm(const char *pdf, int page, ppm_t *im)
{
    int     maxval, n;
    char    path[400];
    FILE   *f;

    (void) snprintf(path, sizeof(path), "%s/pdf_test-p%d", out_dir, page);

    free(run("pdftoppm -r 72 -f %d -l %d -singlefile %s %s", page, page, pdf,
             path));

    (void) snprintf(path + strlen(path), 8, ".ppm");

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }

    n = fscanf(f, "P6 %d %d %d", &im->width, &im->height, &maxval);

    if (n != 3 || maxval != 255 || fgetc(f) == EOF) {
        (void) fclose(f);
        return -1;
    }

    im->rgb = malloc((size_t) im->width * im->height * 3);

    if (im->rgb == NULL
        || fread(im->rgb, 3, (size_t) im->width * im->height, f)
           != (size_t) im->width * im->height)
    {
        (void) fclose(f);
        return -1;
    }

    (void) fclose(f);
    (void) unlink(path);

    return 0;
}


/* the darkest pixel of a box, and its colour */

static int
darkest(ppm_t *im, box_t *b, u_char *rgb)
{
    int      x, y, best, v;
    u_char  *p;

    best = 256;

    for (y = (int) b->y0; y <= (int) b->y1 && y < im->height; y++) {
        for (x = (int) b->x0; x <= (int) b->x1 && x < im->width; x++) {
            p = im->rgb + ((size_t) y * im->width + x) * 3;
            v = (p[0] + p[1] + p[2]) / 3;

            if (v < best) {
                best = v;
                memcpy(rgb, p, 3);
            }
        }
    }

    return best;
}


/* pixels of a page close to a colour */

static int
pixels_like(ppm_t *im, int r, int g, int b, int tolerance)
{
    int      n;
    size_t   i;
    u_char  *p;

    n = 0;

    for (i = 0; i < (size_t) im->width * im->height; i++) {
        p = im->rgb + i * 3;

        if (abs(p[0] - r) <= tolerance && abs(p[1] - g) <= tolerance
            && abs(p[2] - b) <= tolerance)
        {
            n++;
        }
    }

    return n;
}


/* the tests */

static void
test_fiche(buf_t *photos_in)
{
    int                            pages, lines, n, veiled, red;
    char                          *json, *out, *text, *p, path[300];
    char                           word[64];
    u_char                         rgb[3];
    box_t                          grey, dark;
    ppm_t                          im;
    double                         ms;
    ngx_http_chantier_pdf_t        pdf;
    ngx_http_chantier_pdf_photo_t  photos[7];

    const char  *order[] = {
        "Fiche d’avancement", "Exportée le 1er décembre 2026",
        "Rénovation d’une maison de ville", "Chantier", "CH-2026-0042",
        "Client", "M. Jean Dupont", "Adresse", "12 rue des Lilas",
        "Bâtiment B", "69003 Lyon", "Début", "1er mars 2026", "Fin prévue",
        "15 novembre 2026 (initialement 30 juin 2026)", "Statut",
        "En retard",
        "Fiche en ligne : " PUBLIC_URL, "Publications (4)",
        "2 mars 2026 à 08:15", "Par Mme Marie Rousseau",
        "Démarrage du chantier",
        "Budget : 12 500 € — l’œuvre « démarre » ; l'entrée est protégée,",
        "italique,", "souligné,", "barré,", "petit,", "grand", "énorme.",
        "Travaux prévus", "• dépose de la cuisine",
        "• évacuation des gravats", "1. Premier point", "2. Deuxième point",
        "Voir la notice du fabricant avant jeudi.", "Commentaires (7)",
        "M. Jean Dupont", "2 mars 2026 à 10:00", "Merci ! C’est très clair.",
        "À jeudi.", "Mme Marie Rousseau", "CLO", "· 2 mars 2026 à 10:30",
        "Avec plaisir, réponse au premier.",
        "Troisième niveau de la discussion.", "Quatrième niveau.",
        "Cinquième niveau.", "En réponse à M. Jean Dupont",
        "Sixième niveau, plus indenté.", "Second fil de commentaires.",
        "10 mars 2026 à 10:00", "Annulée",
        "modifiée le 29 mars 2026 à 03:30",
        "Pose des cloisons : Cloisonnement reporté, le plâtre n’était pas "
        "sec.", "Commentaires (1)", "Dommage, on attend la suite.",
        "10 avril 2026 à 14:00", "Compte rendu détaillé", "Paragraphe 1 :",
        "Étape 1", "Paragraphe 10 :", "Étape 6", "Paragraphe 60 :",
        "27 juin 2026 à 16:30", "Fin de chantier",
        "Chantier terminé, merci à tous !", "Photo indisponible",
        "Photo indisponible", "Photo indisponible", "Fin du compte rendu.",
        NULL };

    json = fiche_json();
    (void) snprintf(path, sizeof(path), "%s/pdf_test.json", out_dir);
    (void) write_file(path, json, strlen(json));

    memset(photos, 0, sizeof(photos));
    set_photo(&photos[0], "201", &photos_in[0]);
    set_photo(&photos[1], "202", &photos_in[1]);
    set_photo(&photos[2], "203", &photos_in[2]);
    set_photo(&photos[3], "204", &photos_in[3]);
    set_photo(&photos[4], "205", &photos_in[4]);
    set_photo(&photos[5], "207", &photos_in[5]);     /* garbage, "JPEG" */
    set_photo(&photos[6], "208", &photos_in[6]);     /* truncated PNG */

    memset(&pdf, 0, sizeof(pdf));
    pdf.fiche_json = (u_char *) json;
    pdf.fiche_len = strlen(json);
    pdf.photos = photos;
    pdf.nphotos = 7;
    pdf.public_url = PUBLIC_URL;
    pdf.export_date = "2026-12-01";
    pdf.font_dir = FONT_DIR;

    ok(render(&pdf, &ms) == NGX_OK, "the fiche renders");
    printf("# %u pages, %zu bytes in %.1f ms\n", (unsigned) pdf.pages,
           pdf.pdf_len, ms);

    ok(pdf.pdf_len > 1000 && memcmp(pdf.pdf, "%PDF-1.", 7) == 0
       && strncmp((char *) pdf.pdf + pdf.pdf_len - 6, "%%EOF", 5) == 0,
       "a whole PDF file");
    ok(write_file(out_pdf, pdf.pdf, pdf.pdf_len) == 0,
       "written to pdf_test.pdf");

    /* pdfinfo: A4, the pages */
    out = run("pdfinfo %s 2>&1", out_pdf);
    pages = 0;
    p = strstr(out, "Pages:");
    if (p) {
        pages = atoi(p + 6);
    }

    ok(strstr(out, "Page size:       595.276 x 841.89 pts (A4)") != NULL,
       "pdfinfo: A4 portrait, 595 x 842 pt");
    ok(pages == (int) pdf.pages && pages >= 3,
       "pdfinfo: the pages the renderer counted, 3 or more");
    ok(strstr(out, "Title:           Fiche d'avancement CH-2026-0042")
       != NULL, "pdfinfo: the title");
    free(out);

    /* pdftotext: everything, in order (-layout: in the order of the
     * lines); nothing on stderr */
    text = run("pdftotext -layout -enc UTF-8 %s - 2>&1", out_pdf);

    ok(strstr(text, "Syntax") == NULL && strstr(text, "Error") == NULL,
       "pdftotext: no warning (the fonts' ToUnicode maps are right)");
    ok(in_order(text, order), "pdftotext: the header, every post, every "
       "comment, in order, with their formats' texts");
    ok(strstr(text, "€") && strstr(text, "œ") && strstr(text, "« ")
       && strstr(text, " »") && strstr(text, "’") && strstr(text, "l'entrée")
       && strstr(text, "à") && strstr(text, "é") && strstr(text, "É")
       && strstr(text, "À"),
       "pdftotext: accents, €, œ, « », both apostrophes");

    (void) snprintf(word, sizeof(word), "CH-2026-0042 — page 1 / %d", pages);
    n = count(text, "CH-2026-0042 — page ");
    ok(strstr(text, word) != NULL && n == pages,
       "a footer on every page, page 1 says 1 / M");
    (void) snprintf(word, sizeof(word), "CH-2026-0042 — page %d / %d", pages,
                    pages);
    ok(strstr(text, word) != NULL, "the last page says M / M");

    /* a heading is never the last line of its page */
    n = 0;

    for (p = text; (p = strstr(p, "Étape ")) != NULL; p++) {
        char  *ff = strchr(p, '\f');
        char  *para = strstr(p, "Paragraphe");

        if (para == NULL || (ff && ff < para)) {
            n++;
        }
    }

    ok(n == 0, "no heading at the foot of a page");
    free(text);

    /* pdfimages: the photos that could be read, at their pixels */
    out = run("pdfimages -list %s", out_pdf);
    lines = count(out, "\n") - 2;

    ok(lines == 5, "pdfimages: 5 photos (3 of 8 are missing or unreadable)");
    ok(strstr(out, " 1200   900  rgb") != NULL
       && strstr(out, "  900  1200  rgb") != NULL
       && strstr(out, "  800   600  rgb") != NULL,
       "pdfimages: the JPEGs as they are");
    ok(strstr(out, "  600   400  rgb") != NULL,
       "pdfimages: the PNG with transparency, composited (no mask)");
    ok(strstr(out, " 1200   800  rgb") != NULL,
       "pdfimages: the 2400 x 1600 PNG at 300 dpi in a column: 1200 x 800");
    ok(strstr(out, "smask") == NULL, "pdfimages: no soft mask");

    if (lines != 5) {
        printf("%s", out);
    }

    free(out);

    /* the raw file: link annotations, borderless */
    ok(pdf.pdf_len > 0
       && memmem(pdf.pdf, pdf.pdf_len, URI_LIVE, sizeof(URI_LIVE) - 1)
          != NULL,
       "a URI annotation to the live fiche");
    ok(memmem(pdf.pdf, pdf.pdf_len, URI_POST, sizeof(URI_POST) - 1) != NULL,
       "a URI annotation for the link of the post");
    ok(memmem(pdf.pdf, pdf.pdf_len, "/Border [ 0 0 0 ]", 17) != NULL,
       "links without a border");

    /* the cancelled post is grey, its photo veiled, the others are not */
    text = run("pdftotext -bbox %s -", out_pdf);

    if (find_word(text, "Cloisonnement", &grey) == 0
        && find_word(text, "protégée,", &dark) == 0
        && ppm(out_pdf, grey.page, &im) == 0)
    {
        n = darkest(&im, &grey, rgb);
        printf("# cancelled text, page %d: darkest (%d, %d, %d)\n",
               grey.page, rgb[0], rgb[1], rgb[2]);
        ok(n > 120 && abs(rgb[0] - rgb[2]) < 30,
           "the text of the cancelled post is grey");

        /* the red photo (255, 0, 0) under a white veil of 55 %, on this
         * page or the next */
        veiled = pixels_like(&im, 255, 140, 140, 25);
        red = pixels_like(&im, 255, 0, 0, 40);
        free(im.rgb);

        if (ppm(out_pdf, grey.page + 1, &im) == 0) {
            veiled += pixels_like(&im, 255, 140, 140, 25);
            red += pixels_like(&im, 255, 0, 0, 40);
            free(im.rgb);
        }

        printf("# cancelled photo: %d veiled red pixels, %d red ones\n",
               veiled, red);
        ok(veiled > 5000 && red == 0, "its photo is veiled");

        if (ppm(out_pdf, dark.page, &im) == 0) {
            n = darkest(&im, &dark, rgb);
            printf("# other text, page %d: darkest (%d, %d, %d)\n",
                   dark.page, rgb[0], rgb[1], rgb[2]);
            ok(n < 80, "the text of another post is dark");
            ok(pixels_like(&im, 255, 140, 140, 25) < 100,
               "and its photos are not veiled");
            free(im.rgb);

        } else {
            ok(0, "the text of another post is dark");
            ok(0, "and its photos are not veiled");
        }

    } else {
        ok(0, "the text of the cancelled post is grey");
        ok(0, "its photo is veiled");
        ok(0, "the text of another post is dark");
        ok(0, "and its photos are not veiled");
    }

    /* no word reaches into the margins */
    n = 0;

    for (p = text; (p = strstr(p, "<word xMin=\"")) != NULL; p++) {
        double  x0, y0, x1, y1;

        if (sscanf(p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" "
                   "yMax=\"%lf\"", &x0, &y0, &x1, &y1) == 4
            && (x0 < 56 || x1 > 539.5 || y0 < 40 || y1 > 812))
        {
            n++;
        }
    }

    ok(n == 0, "no text outside the print margins (20 mm on the sides)");
    free(text);

    free(run("pdftoppm -png -r 60 %s %s/pdf_test", out_pdf, out_dir));

    ngx_http_chantier_pdf_free(&pdf);
    ngx_http_chantier_pdf_free(&pdf);
    ok(pdf.pdf == NULL && pdf.pdf_len == 0, "free, twice");

    free(json);
}


static void
test_done(const char *logo)
{
    char                     *json, *text, *out;
    ngx_http_chantier_pdf_t   pdf;

    json = fiche_done_json();

    memset(&pdf, 0, sizeof(pdf));
    pdf.fiche_json = (u_char *) json;
    pdf.fiche_len = strlen(json);
    pdf.public_url = "https://espace.clo.fr/fiche.html?id=43";
    pdf.export_date = "2026-07-01";
    pdf.font_dir = fonts_two;
    pdf.logo_path = logo;

    ok(render(&pdf, NULL) == NGX_OK && pdf.pages == 1,
       "a finished fiche without posts, with only the two upright fonts "
       "and a PNG logo: one page");
    ok(write_file(out_done, pdf.pdf, pdf.pdf_len) == 0,
       "written to pdf_test-done.pdf");

    text = run("pdftotext -enc UTF-8 %s - 2>&1", out_done);
    ok(strstr(text, "Chantier terminé le 28 juin 2026") != NULL,
       "\"terminé le\" the day in Paris (22:30 UTC is the next day)");
    ok(strstr(text, "Aucune publication") != NULL
       && strstr(text, "Adresse") == NULL
       && strstr(text, "CH-2026-0043 — page 1 / 1") != NULL,
       "no posts, no address, its footer");
    free(text);

    out = run("pdfimages -list %s", out_done);
    ok(count(out, "\n") - 2 == 1 && strstr(out, "  300   200  rgb"),
       "the logo is the one image");
    free(out);

    ngx_http_chantier_pdf_free(&pdf);
    free(json);
}


static void
test_errors(void)
{
    ngx_http_chantier_pdf_t  pdf;

    memset(&pdf, 0, sizeof(pdf));
    pdf.fiche_json = (u_char *) "{\"id\": 1, \"header\": [";
    pdf.fiche_len = strlen((char *) pdf.fiche_json);
    pdf.export_date = "2026-12-01";
    pdf.font_dir = FONT_DIR;

    ok(render(&pdf, NULL) == NGX_ERROR && pdf.pdf == NULL
       && strstr(pdf.error, "no JSON") != NULL,
       "a text that is no JSON: NGX_ERROR, said why");

    pdf.fiche_json = (u_char *) "[1, 2]";
    pdf.fiche_len = 6;
    ok(render(&pdf, NULL) == NGX_ERROR && strstr(pdf.error, "no fiche"),
       "a JSON that is no fiche: NGX_ERROR");

    pdf.fiche_json = (u_char *) "{\"header\": {}}";
    pdf.fiche_len = strlen((char *) pdf.fiche_json);
    pdf.font_dir = "/nonexistent";
    ok(render(&pdf, NULL) == NGX_ERROR
       && strstr(pdf.error, "cannot load the font /nonexistent/DejaVuSans.ttf"),
       "fonts missing: NGX_ERROR naming the file");

    pdf.font_dir = FONT_DIR;
    ok(render(&pdf, NULL) == NGX_OK && pdf.pages == 1,
       "an empty header is a PDF all the same");
    ngx_http_chantier_pdf_free(&pdf);
}


/* the same fiche in 4 threads at once: the same bytes each */

static void
test_threads(buf_t *photos_in)
{
    int                            i, same;
    char                          *json;
    job_t                          jobs[THREADS];
    pthread_t                      t[THREADS];
    ngx_http_chantier_pdf_t        pdf[THREADS];
    ngx_http_chantier_pdf_photo_t  photos[2];

    json = fiche_json();

    memset(photos, 0, sizeof(photos));
    set_photo(&photos[0], "201", &photos_in[0]);
    set_photo(&photos[1], "204", &photos_in[3]);

    for (i = 0; i < THREADS; i++) {
        memset(&pdf[i], 0, sizeof(ngx_http_chantier_pdf_t));
        pdf[i].fiche_json = (u_char *) json;
        pdf[i].fiche_len = strlen(json);
        pdf[i].photos = photos;
        pdf[i].nphotos = 2;
        pdf[i].public_url = PUBLIC_URL;
        pdf[i].export_date = "2026-12-01";
        pdf[i].font_dir = FONT_DIR;

        jobs[i].pdf = &pdf[i];
        (void) pthread_create(&t[i], NULL, render_job, &jobs[i]);
    }

    same = 1;

    for (i = 0; i < THREADS; i++) {
        (void) pthread_join(t[i], NULL);

        same = same && jobs[i].rc == NGX_OK
               && pdf[i].pdf_len == pdf[0].pdf_len
               && memcmp(pdf[i].pdf, pdf[0].pdf, pdf[0].pdf_len) == 0;
    }

    ok(same, "4 threads at once: the same bytes each (no shared state, a "
       "deterministic file)");

    for (i = 0; i < THREADS; i++) {
        ngx_http_chantier_pdf_free(&pdf[i]);
    }

    free(json);
}


/*
 * The big fiche.  Its memory is measured in a child process, whose
 * maximum resident size grows only by what the rendering takes.
 */

static void
test_big(void)
{
    int                            i, pages, status;
    long                           before, after;
    char                          *json, *text, *p, word[64], path[300];
    char                           ids[BIG_PHOTOS][16];
    buf_t                          jpeg;
    pid_t                          pid;
    double                         ms, best, first;
    struct rusage                  ru;
    ngx_http_chantier_pdf_t        pdf;
    ngx_http_chantier_pdf_photo_t  photos[BIG_PHOTOS];

    const char  *order[] = { "Publications (200)", "Jour 1 : électricité",
        "Commentaires (5)", "Jour 49 :", "Annulée", "Jour 50 :", "Jour 99 :",
        "Annulée", "Jour 100 :", "Jour 199 :", "Fin de chantier",
        "Jour 200 :", NULL };

    json = big_json();
    (void) snprintf(path, sizeof(path), "%s/pdf_test-big.json", out_dir);
    (void) write_file(path, json, strlen(json));
    jpeg = save(photo(2048, 1536), 0);

    printf("# big fiche: %zu bytes of JSON, photos of %zu bytes\n",
           strlen(json), jpeg.len);

    for (i = 0; i < BIG_PHOTOS; i++) {
        (void) snprintf(ids[i], sizeof(ids[i]), "%d", 1000 + i);
        set_photo(&photos[i], ids[i], &jpeg);
    }

    memset(&pdf, 0, sizeof(pdf));
    pdf.fiche_json = (u_char *) json;
    pdf.fiche_len = strlen(json);
    pdf.photos = photos;
    pdf.nphotos = BIG_PHOTOS;
    pdf.public_url = "https://espace.clo.fr/fiche.html?id=12";
    pdf.export_date = "2026-12-01";
    pdf.font_dir = FONT_DIR;

    /* memory, in a child: the growth of its peak */
    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        (void) getrusage(RUSAGE_SELF, &ru);
        before = ru.ru_maxrss;

        if (render(&pdf, NULL) != NGX_OK) {
            _exit(1);
        }

        (void) getrusage(RUSAGE_SELF, &ru);
        after = ru.ru_maxrss;

        printf("# big fiche: peak memory + %.1f MB for a PDF of %.1f MB "
               "(photos %.1f MB)\n", (after - before) / 1024.0,
               pdf.pdf_len / 1048576.0, BIG_PHOTOS * jpeg.len / 1048576.0);
        fflush(stdout);

        /* the bound: twice the photos, the output, 64 MB of the rest */
        _exit((after - before) * 1024.0
              < 3.0 * BIG_PHOTOS * jpeg.len + 64 * 1048576.0 ? 0 : 2);
    }

    status = -1;
    (void) waitpid(pid, &status, 0);

#if defined(__SANITIZE_ADDRESS__)
    /* the quarantine and red zones of ASan are what RSS measures then */
    ok(WIFEXITED(status), "big fiche: its peak memory # skip under ASan");
#else
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "big fiche: its peak memory stays under 3 times the photos + 64 MB");
#endif

    best = 0;
    first = 0;

    for (i = 0; i < BIG_TIMED; i++) {
        if (i) {
            ngx_http_chantier_pdf_free(&pdf);
        }

        if (render(&pdf, &ms) != NGX_OK) {
            break;
        }

        if (i == 0) {
            first = ms;
        }

        if (best == 0 || ms < best) {
            best = ms;
        }
    }

    ok(i == BIG_TIMED, "big fiche: 200 posts, 1,000 comments, 50 photos "
       "render without error");
    printf("# big fiche: %u pages, %.1f MB, rendered in %.1f ms (first), "
           "%.1f ms (best of %d)\n", (unsigned) pdf.pages,
           pdf.pdf_len / 1048576.0, first, best, BIG_TIMED);
    ok(i == BIG_TIMED && first < 1000, "big fiche: under 1 s");

    (void) write_file(out_big, pdf.pdf, pdf.pdf_len);

    text = run("pdfinfo %s", out_big);
    p = strstr(text, "Pages:");
    pages = p ? atoi(p + 6) : 0;
    ok(pages == (int) pdf.pages && strstr(text, "(A4)"),
       "big fiche: pdfinfo, A4, the pages counted");
    free(text);

    text = run("pdftotext -enc UTF-8 %s - 2>&1", out_big);
    (void) snprintf(word, sizeof(word), "CH-2026-0012 — page %d / %d", pages,
                    pages);
    ok(in_order(text, order) && strstr(text, word) != NULL
       && count(text, "Commentaires (5)") == 200,
       "big fiche: every post in order, its comments, the last footer");
    free(text);

    text = run("pdfimages -list %s", out_big);
    ok(count(text, "\n") - 2 == BIG_PHOTOS
       && count(text, " 2048  1536  rgb") == BIG_PHOTOS,
       "big fiche: pdfimages, the 50 photos at 2048 x 1536");
    free(text);

    ngx_http_chantier_pdf_free(&pdf);
    g_free(jpeg.data);
    free(json);
}


int
main(int argc, char **argv)
{
    int         i;
    char        path[400], *out;
    buf_t       photos[7], logo;
    VipsImage  *im;

    static const double  blue[] = { 40, 80, 200 };
    static const double  green[] = { 30, 160, 60 };
    static const double  red[] = { 255, 0, 0 };
    static const double  clear[] = { 0, 0, 0, 0 };
    static const double  orange[] = { 240, 120, 30, 255 };
    static const double  sky[] = { 120, 170, 220 };

    if (VIPS_INIT(argv[0]) != 0) {
        printf("1..0 # skip libvips does not start\n");
        return 0;
    }

    if (system("pdftotext -v >/dev/null 2>&1") != 0) {
        printf("1..0 # skip poppler-utils missing: run scripts/install-deps\n");
        return 0;
    }

    out = getenv("VAR");

    if (out && out[0]) {
        (void) snprintf(out_dir, sizeof(out_dir), "%s", out);

    } else {
        (void) snprintf(out_dir, sizeof(out_dir), "%s",
                        access("var/test/stack.env", F_OK) == 0 ? "var/test"
                                                                : "var/unit");
        (void) mkdir("var", 0755);
    }

    (void) mkdir(out_dir, 0755);

    (void) snprintf(out_pdf, sizeof(out_pdf), "%s/pdf_test.pdf", out_dir);
    (void) snprintf(out_done, sizeof(out_done), "%s/pdf_test-done.pdf",
                    out_dir);
    (void) snprintf(out_big, sizeof(out_big), "%s/pdf_test-big.pdf", out_dir);
    (void) snprintf(out_logo, sizeof(out_logo), "%s/pdf_test-logo.png",
                    out_dir);
    (void) snprintf(fonts_two, sizeof(fonts_two), "%s/pdf_test-fonts",
                    out_dir);

    printf("# the files in %s/pdf_test*\n", out_dir);

    /* a font directory with the upright fonts only */
    (void) mkdir(fonts_two, 0755);

    for (i = 0; i < 2; i++) {
        (void) snprintf(path, sizeof(path), "%s/%s", fonts_two,
                        i ? "DejaVuSans-Bold.ttf" : "DejaVuSans.ttf");
        (void) unlink(path);
        (void) symlink(i ? FONT_DIR "/DejaVuSans-Bold.ttf"
                         : FONT_DIR "/DejaVuSans.ttf", path);
    }

    photos[0] = save(canvas(1200, 900, 3, blue), 0);
    photos[1] = save(canvas(900, 1200, 3, green), 0);
    photos[2] = save(canvas(800, 600, 3, red), 0);

    im = canvas(600, 400, 4, clear);
    if (im) {
        (void) vips_draw_rect(im, (double *) orange, 4, 300, 0, 300, 400,
                              "fill", TRUE, NULL);
    }

    photos[3] = save(im, 1);
    photos[4] = save(canvas(2400, 1600, 3, sky), 1);

    /* a "JPEG" of garbage, and a PNG cut in half */
    photos[5].len = 4096;
    photos[5].data = g_malloc(photos[5].len);
    memset(photos[5].data, 0x5a, photos[5].len);
    memcpy(photos[5].data, "\xff\xd8\xff\xe0", 4);

    photos[6] = save(canvas(640, 480, 3, sky), 1);
    photos[6].len /= 2;

    for (i = 0; i < 7; i++) {
        if (photos[i].data == NULL) {
            printf("1..0 # skip cannot make the photos\n");
            return 0;
        }
    }

    /* the logo of the second fiche: the PNG with transparency, 300 x 200 */
    im = canvas(300, 200, 4, clear);
    if (im) {
        (void) vips_draw_rect(im, (double *) orange, 4, 0, 0, 150, 200,
                              "fill", TRUE, NULL);
    }

    logo = save(im, 1);
    (void) write_file(out_logo, logo.data, logo.len);
    g_free(logo.data);

    test_fiche(photos);
    test_done(out_logo);
    test_errors();
    test_threads(photos);
    test_big();

    for (i = 0; i < 7; i++) {
        g_free(photos[i].data);
    }

    vips_shutdown();

    return tap_done();
}
