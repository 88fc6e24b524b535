/*
 * GET /fiches/{id}/pdf: the fiche as a printable PDF.
 *
 *     version and chantier code, if the user may see it (PostgreSQL)
 *       -> the worker's PDF of that version, made today (its first page
 *          prints the day of the export), if it has one
 *       -> or the fiche document (the worker's, as GET fiches/{id} cached
 *          it, or PostgreSQL's), its photos, a pool thread (libharu), and
 *          the PDF kept by the worker's cache (core/ngx_http_chantier_cache.c)
 *       -> application/pdf, as an attachment
 *
 * What the thread reads is held until the request ends: the cached
 * document (the cache's reference) or the PostgreSQL results
 * (ngx_http_chantier_pg_keep_result), so that the document and the photos
 * are read straight from where they are, with no copy on the event loop.
 *
 * One rendering per version, also for exports asked at once: the first
 * request of a version that is not cached renders it; those that come
 * while it does wait for it (its "waiters"), and are woken when it is
 * cached or when that request ends without it.  A waiter woken to no PDF
 * (a failure, or a newer version rendered instead) renders its own,
 * without waiting again.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_thread.h"
#include "../core/ngx_http_chantier_cache.h"
#include "../pdf/ngx_http_chantier_pdf.h"


typedef struct {
    ngx_http_request_t             *request;
    char                           *id_text;
    ngx_str_t                       code;
    u_char                          date[11];     /* of the export, Paris */
    ngx_http_chantier_cache_key_t   key;
    ngx_http_chantier_pdf_t         pdf;

    ngx_queue_t                     link;         /* in renders or waiters */
    ngx_queue_t                     waiters;      /* of a rendering */
    ngx_event_t                     wake;         /* of a waiter */
    unsigned                        rendering:1;
    unsigned                        waiting:1;
    unsigned                        waited:1;
} ngx_http_chantier_export_t;


/* this worker's renderings under way */
static ngx_queue_t  ngx_http_chantier_renders;


static void ngx_http_chantier_export_allowed(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_export_start(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export);
static ngx_http_chantier_export_t *ngx_http_chantier_export_rendering(
    ngx_http_chantier_cache_key_t *key);
static void ngx_http_chantier_export_wake(ngx_event_t *ev);
static void ngx_http_chantier_export_release(
    ngx_http_chantier_export_t *export);
static void ngx_http_chantier_export_document(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_export_query_photos(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export);
static void ngx_http_chantier_export_photos(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_chantier_export_public_url(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export);
static ngx_int_t ngx_http_chantier_export_render(void *data);
static void ngx_http_chantier_export_rendered(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_export_send(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export, ngx_str_t *body);
static void ngx_http_chantier_export_free(void *data);
static ngx_int_t ngx_http_chantier_export_one_row(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);


static ngx_str_t  ngx_http_chantier_pdf_type = ngx_string("application/pdf");
static ngx_str_t  ngx_http_chantier_pdf_cache = ngx_string("private, no-store");


void
ngx_http_chantier_api_fiche_pdf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char                  *params[3];
    ngx_pool_cleanup_t          *cln;
    ngx_http_chantier_export_t  *export;

    export = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_export_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (export == NULL || cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_chantier_export_free;
    cln->data = export;

    ctx->data = export;
    export->request = r;
    export->id_text = (char *) ctx->id[0].data;

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = export->id_text;

    ngx_http_chantier_api_query(r,
        "select version, code from api.fiche_export($1, $2, $3)", 3, params,
        ngx_http_chantier_export_allowed);
}


static void
ngx_http_chantier_export_allowed(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t     *ctx;
    ngx_http_chantier_export_t  *export;

    if (ngx_http_chantier_export_one_row(r, res, rc) != NGX_OK) {
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    export = ctx->data;

    if (ngx_http_chantier_api_value(r, res, 1, &export->code) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    export->key.kind = NGX_HTTP_CHANTIER_CACHE_PDF;
    export->key.id = ngx_atoof(ctx->id[0].data, ctx->id[0].len);
    export->key.version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                                    PQgetlength(res, 0, 0));
    export->key.day = ngx_http_chantier_pdf_today(ngx_time(), export->date);

    ngx_http_chantier_export_start(r, export);
}


/*
 * The PDF of the key: the cached one, or the one being rendered (waited
 * for), or a rendering of this request's.
 */

static void
ngx_http_chantier_export_start(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export)
{
    ngx_str_t                       body;
    const char                     *params[1];
    ngx_http_chantier_export_t     *rendering;
    ngx_http_chantier_cache_key_t   fiche_key;
    ngx_http_chantier_cache_doc_t  *doc;

    doc = ngx_http_chantier_cache_get(r, &export->key);

    if (doc != NULL) {
        ngx_http_chantier_cache_body(doc, &body);
        ngx_http_chantier_export_send(r, export, &body);
        return;
    }

    if (ngx_http_chantier_renders.next == NULL) {
        ngx_queue_init(&ngx_http_chantier_renders);
    }

    rendering = export->waited
                ? NULL : ngx_http_chantier_export_rendering(&export->key);

    if (rendering != NULL) {
        /* the request's reference stays taken until the answer */
        export->wake.handler = ngx_http_chantier_export_wake;
        export->wake.data = export;
        export->wake.log = r->connection->log;
        export->waiting = 1;
        ngx_queue_insert_tail(&rendering->waiters, &export->link);
        return;
    }

    export->rendering = 1;
    ngx_queue_init(&export->waiters);
    ngx_queue_insert_tail(&ngx_http_chantier_renders, &export->link);

    /* the document GET fiches/{id} already rendered, if this worker has it */
    fiche_key = export->key;
    fiche_key.kind = NGX_HTTP_CHANTIER_CACHE_FICHE;
    fiche_key.day = 0;

    doc = ngx_http_chantier_cache_get(r, &fiche_key);

    if (doc != NULL) {
        ngx_http_chantier_cache_body(doc, &body);
        export->pdf.fiche_json = body.data;
        export->pdf.fiche_len = body.len;

        ngx_http_chantier_export_query_photos(r, export);
        return;
    }

    params[0] = export->id_text;

    ngx_http_chantier_api_query(r,
        "select version, body from api.fiche_document($1)", 1, params,
        ngx_http_chantier_export_document);
}


static ngx_http_chantier_export_t *
ngx_http_chantier_export_rendering(ngx_http_chantier_cache_key_t *key)
{
    ngx_queue_t                 *q;
    ngx_http_chantier_export_t  *export;

    for (q = ngx_queue_head(&ngx_http_chantier_renders);
         q != ngx_queue_sentinel(&ngx_http_chantier_renders);
         q = ngx_queue_next(q))
    {
        export = ngx_queue_data(q, ngx_http_chantier_export_t, link);

        if (ngx_http_chantier_cache_key_equal(&export->key, key)) {
            return export;
        }
    }

    return NULL;
}


/* a waiter, its rendering over: the cached PDF, or its own rendering */

static void
ngx_http_chantier_export_wake(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_chantier_export_t  *export;

    export = ev->data;
    r = export->request;
    c = r->connection;

    export->waited = 1;

    ngx_http_chantier_export_start(r, export);

    ngx_http_run_posted_requests(c);
}


/*
 * The rendering's end, whichever it is (cached, failed, the request gone):
 * its waiters woken, each from the event loop in turn.  A waiter's end
 * unlinks it.
 */

static void
ngx_http_chantier_export_release(ngx_http_chantier_export_t *export)
{
    ngx_queue_t                 *q;
    ngx_http_chantier_export_t  *waiter;

    if (export->rendering) {
        export->rendering = 0;
        ngx_queue_remove(&export->link);

        while (!ngx_queue_empty(&export->waiters)) {
            q = ngx_queue_head(&export->waiters);
            ngx_queue_remove(q);

            waiter = ngx_queue_data(q, ngx_http_chantier_export_t, link);
            waiter->waiting = 0;
            ngx_post_event(&waiter->wake, &ngx_posted_events);
        }
    }

    if (export->waiting) {
        export->waiting = 0;
        ngx_queue_remove(&export->link);
    }

    if (export->wake.posted) {
        ngx_delete_posted_event(&export->wake);
    }
}


static void
ngx_http_chantier_export_document(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t     *ctx;
    ngx_http_chantier_export_t  *export;

    if (ngx_http_chantier_export_one_row(r, res, rc) != NGX_OK) {
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    export = ctx->data;

    if (ngx_http_chantier_pg_keep_result(r, res) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the version rendered, should it have moved since the first query */
    export->key.version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                                    PQgetlength(res, 0, 0));
    export->pdf.fiche_json = (u_char *) PQgetvalue(res, 0, 1);
    export->pdf.fiche_len = PQgetlength(res, 0, 1);

    ngx_http_chantier_export_query_photos(r, export);
}


static void
ngx_http_chantier_export_query_photos(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export)
{
    const char  *params[1];

    params[0] = export->id_text;

    ngx_http_chantier_api_query_binary(r,
        "select id, content_type, width, height, bytes"
        "  from api.fiche_photos($1)",
        1, params, NULL, 1, ngx_http_chantier_export_photos);
}


static void
ngx_http_chantier_export_photos(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    int                             i, n;
    ngx_http_chantier_ctx_t        *ctx;
    ngx_http_chantier_export_t     *export;
    ngx_http_chantier_pdf_photo_t  *photo;

    if (ngx_http_chantier_api_binary_result(r, res, rc, "PDF photos")
        != NGX_OK)
    {
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    export = ctx->data;

    n = PQntuples(res);

    if (n > 0) {
        if (ngx_http_chantier_pg_keep_result(r, res) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        export->pdf.photos = ngx_pcalloc(r->pool,
                                 n * sizeof(ngx_http_chantier_pdf_photo_t));
        if (export->pdf.photos == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    /* binary format: the text columns are their bytes, not NUL-ended */
    for (i = 0; i < n; i++) {
        photo = &export->pdf.photos[i];

        photo->id = (u_char *) PQgetvalue(res, i, 0);
        photo->len = PQgetlength(res, i, 0);
        photo->png = (PQgetlength(res, i, 1) == sizeof("image/png") - 1
                      && ngx_strncmp(PQgetvalue(res, i, 1), "image/png",
                                     sizeof("image/png") - 1) == 0);
        photo->width = ngx_atoi((u_char *) PQgetvalue(res, i, 2),
                                PQgetlength(res, i, 2));
        photo->height = ngx_atoi((u_char *) PQgetvalue(res, i, 3),
                                 PQgetlength(res, i, 3));
        photo->data = (u_char *) PQgetvalue(res, i, 4);
        photo->data_len = PQgetlength(res, i, 4);
    }

    export->pdf.nphotos = n;
    export->pdf.export_date = (char *) export->date;
    export->pdf.font_dir = NGX_HTTP_CHANTIER_PDF_FONT_DIR;

    if (ngx_http_chantier_export_public_url(r, export) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_thread_post(r, export, ngx_http_chantier_export_render,
                                  ngx_http_chantier_export_rendered);
}


/*
 * The live fiche's address: chantier_public_url when set, otherwise this
 * request's scheme and host with the area's prefix (chantier_cookie_path),
 * then "fiche.html?id=<id>".
 */

static ngx_int_t
ngx_http_chantier_export_public_url(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export)
{
    u_char                         *p;
    size_t                          len;
    ngx_str_t                       host, base;
    ngx_http_chantier_loc_conf_t   *lcf;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chantier_module);

    if (mcf->public_url.len) {
        base = mcf->public_url;
        ngx_str_null(&host);

    } else {
        /* the Host header, with its port; HTTP/1.0 may have none */
        base = lcf->cookie_path;
        host = r->headers_in.host ? r->headers_in.host->value
                                  : r->headers_in.server;
    }

    len = sizeof("https://") - 1 + host.len + base.len
          + sizeof("/fiche.html?id=") - 1 + ngx_strlen(export->id_text) + 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    export->pdf.public_url = (char *) p;

    if (host.len) {
        p = ngx_sprintf(p, "%s://%V",
#if (NGX_HTTP_SSL)
                        r->connection->ssl ? "https" :
#endif
                        "http", &host);
    }

    p = ngx_cpymem(p, base.data, base.len);

    if (base.len == 0 || base.data[base.len - 1] != '/') {
        *p++ = '/';
    }

    ngx_sprintf(p, "fiche.html?id=%s%Z", export->id_text);

    return NGX_OK;
}


/* in a pool thread */

static ngx_int_t
ngx_http_chantier_export_render(void *data)
{
    ngx_http_chantier_export_t *export = data;

    return ngx_http_chantier_pdf_render(&export->pdf);
}


static void
ngx_http_chantier_export_rendered(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_chantier_export_t *export = data;

    ngx_str_t                       body;
    ngx_http_chantier_cache_doc_t  *doc;

    if (rc != NGX_OK) {
        ngx_http_chantier_export_release(export);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: PDF export of fiche %s failed: %s",
                      export->id_text, export->pdf.error);
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "chantier: PDF of fiche %s, version %L, rendered: "
                  "%uz bytes, %ui pages", export->id_text, export->key.version,
                  export->pdf.pdf_len, export->pdf.pages);

    doc = ngx_http_chantier_cache_adopt(r, &export->key, export->pdf.pdf,
                                        export->pdf.pdf_len);

    if (doc != NULL) {
        /* the cache's now */
        export->pdf.pdf = NULL;
        ngx_http_chantier_cache_body(doc, &body);

    } else {
        body.data = export->pdf.pdf;
        body.len = export->pdf.pdf_len;
    }

    /* cached, or not cacheable: then each waiter renders its own */
    ngx_http_chantier_export_release(export);

    ngx_http_chantier_export_send(r, export, &body);
}


static void
ngx_http_chantier_export_send(ngx_http_request_t *r,
    ngx_http_chantier_export_t *export, ngx_str_t *body)
{
    u_char     *p;
    ngx_str_t   value;

    /* the code is letters, digits and dashes (api.chantier_check) */
    value.len = sizeof("attachment; filename=\"fiche--.pdf\"") - 1
                + export->code.len + sizeof("2026-12-01") - 1;
    value.data = ngx_pnalloc(r->pool, value.len);

    if (value.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(value.data, "attachment; filename=\"fiche-%V-%s.pdf\"",
                    &export->code, export->date);
    value.len = p - value.data;

    if (ngx_http_chantier_add_header(r, "Content-Disposition", &value)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_send_bytes(r, NGX_HTTP_OK, &ngx_http_chantier_pdf_type,
                                 &ngx_http_chantier_pdf_cache, body);
}


static void
ngx_http_chantier_export_free(void *data)
{
    ngx_http_chantier_export_t *export = data;

    ngx_http_chantier_export_release(export);
    ngx_http_chantier_pdf_free(&export->pdf);
}


/* NGX_OK for a result of one row; otherwise answered here (404, 503...) */

static ngx_int_t
ngx_http_chantier_export_one_row(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return NGX_DECLINED;
    }

    if (PQntuples(res) != 1) {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Cette fiche n'existe pas.");
        return NGX_DECLINED;
    }

    return NGX_OK;
}
