
/*
 * chantier-pdf-preview: the PDF export of a fiche, from its JSON, without
 * nginx, for a person to look at the layout.
 *
 *   curl -b cookies http://127.0.0.1:8080/api/fiches/1 > f.json
 *   build/chantier-pdf-preview f.json f.pdf 12=photo12.jpg 13=photo13.png
 *
 * Each photo-id=file gives the bytes of a photo the posts embed (GET
 * photos/{id} gives them); the others show as "Photo indisponible".
 *
 *   --fonts DIR       the DejaVu fonts (/usr/share/fonts/truetype/dejavu)
 *   --logo FILE       a PNG logo instead of the drawn one
 *   --url URL         the live fiche (https://espace.clo.fr/fiche.html?id=N)
 *   --date YYYY-MM-DD the day of the export (today in Paris)
 *
 * It prints the pages, the size and the time of the rendering.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pdf/ngx_http_chantier_pdf.h"


#define PREVIEW_MAX_FILE  (64 * 1024 * 1024)


static u_char *read_file(const char *path, size_t *len);
static long fiche_id(const u_char *json, size_t len);
static void usage(void);


int
main(int argc, char **argv)
{
    int                             i, rc, status;
    char                           *eq, url[256], date[16];
    FILE                           *out;
    time_t                          now;
    double                          ms;
    struct tm                       tm;
    struct timespec                 t0, t1;
    ngx_http_chantier_pdf_t         pdf;
    ngx_http_chantier_pdf_photo_t  *photo;

    static const u_char  png[] = { 0x89, 'P', 'N', 'G' };

    memset(&pdf, 0, sizeof(ngx_http_chantier_pdf_t));
    pdf.font_dir = NGX_HTTP_CHANTIER_PDF_FONT_DIR;

    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--fonts") == 0) {
            pdf.font_dir = argv[i + 1];

        } else if (strcmp(argv[i], "--logo") == 0) {
            pdf.logo_path = argv[i + 1];

        } else if (strcmp(argv[i], "--url") == 0) {
            pdf.public_url = argv[i + 1];

        } else if (strcmp(argv[i], "--date") == 0) {
            pdf.export_date = argv[i + 1];

        } else {
            usage();
        }
    }

    if (argc - i < 2) {
        usage();
    }

    pdf.fiche_json = read_file(argv[i], &pdf.fiche_len);
    if (pdf.fiche_json == NULL) {
        return 1;
    }

    if (pdf.public_url == NULL) {
        (void) snprintf(url, sizeof(url),
                        "https://espace.clo.fr/fiche.html?id=%ld",
                        fiche_id(pdf.fiche_json, pdf.fiche_len));
        pdf.public_url = url;
    }

    if (pdf.export_date == NULL) {
        /* a program of its own: TZ may be set for it */
        (void) setenv("TZ", "Europe/Paris", 1);
        tzset();
        now = time(NULL);
        (void) localtime_r(&now, &tm);
        (void) strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        pdf.export_date = date;
    }

    pdf.photos = calloc(argc, sizeof(ngx_http_chantier_pdf_photo_t));
    if (pdf.photos == NULL) {
        return 1;
    }

    status = 1;

    for (rc = i + 2; rc < argc; rc++) {
        eq = strchr(argv[rc], '=');
        if (eq == NULL || eq == argv[rc]) {
            usage();
        }

        photo = &pdf.photos[pdf.nphotos];
        photo->id = (u_char *) argv[rc];
        photo->len = eq - argv[rc];
        photo->data = read_file(eq + 1, &photo->data_len);

        if (photo->data == NULL) {
            goto done;
        }

        pdf.nphotos++;
        photo->png = (photo->data_len >= 4
                      && memcmp(photo->data, png, 4) == 0);
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = ngx_http_chantier_pdf_render(&pdf);
    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;

    if (rc != NGX_OK) {
        fprintf(stderr, "chantier-pdf-preview: %s\n", pdf.error);
        goto done;
    }

    out = fopen(argv[i + 1], "wb");

    if (out == NULL
        || fwrite(pdf.pdf, 1, pdf.pdf_len, out) != pdf.pdf_len
        || fclose(out) != 0)
    {
        perror(argv[i + 1]);
        goto done;
    }

    printf("%s: %u pages, %zu bytes, rendered in %.1f ms\n", argv[i + 1],
           (unsigned) pdf.pages, pdf.pdf_len, ms);

    status = 0;

done:

    ngx_http_chantier_pdf_free(&pdf);

    for (rc = 0; rc < (int) pdf.nphotos; rc++) {
        free((u_char *) pdf.photos[rc].data);
    }

    free(pdf.photos);
    free((u_char *) pdf.fiche_json);

    return status;
}


static u_char *
read_file(const char *path, size_t *len)
{
    long     size;
    FILE    *f;
    u_char  *data;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }

    data = NULL;

    if (fseek(f, 0, SEEK_END) != 0
        || (size = ftell(f)) < 0 || size > PREVIEW_MAX_FILE
        || fseek(f, 0, SEEK_SET) != 0
        || (data = malloc(size ? size : 1)) == NULL
        || fread(data, 1, size, f) != (size_t) size)
    {
        fprintf(stderr, "chantier-pdf-preview: cannot read %s\n", path);
        free(data);
        data = NULL;

    } else {
        *len = size;
    }

    (void) fclose(f);

    return data;
}


/* the "id" of the fiche, for the default address: the first one */

static long
fiche_id(const u_char *json, size_t len)
{
    const char  *p;

    p = memmem(json, len, "\"id\"", 4);

    if (p == NULL) {
        return 0;
    }

    for (p += 4; *p == ' ' || *p == ':'; p++) { /* void */ }

    return strtol(p, NULL, 10);
}


static void
usage(void)
{
    fprintf(stderr, "usage: chantier-pdf-preview [--fonts DIR] [--logo PNG] "
            "[--url URL] [--date YYYY-MM-DD]\n"
            "                            FICHE.json OUT.pdf "
            "[photo-id=file.jpg ...]\n");
    exit(2);
}
