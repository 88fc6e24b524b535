/*
 * GET /fiches (a client's list, or an employee's look-up by chantier code)
 * and GET /fiches/{id}.  Who may see a fiche is decided by SQL, with the
 * rest of the read, so that no path can forget the check.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_cache.h"
#include "../core/ngx_http_chantier_compress.h"
#include "../core/ngx_http_chantier_thread.h"
#include "../live/ngx_http_chantier_known.h"


typedef struct {
    int64_t                        id;
    char                          *id_text;
    int64_t                        version;
    ngx_str_t                      plain;      /* the document */
    ngx_http_chantier_compress_t   compressed;
    ngx_http_chantier_known_mark_t mark;
    unsigned                       known:1;    /* version and access known,
                                                  if old */
} ngx_http_chantier_fiche_t;


static void ngx_http_chantier_fiche_versioned(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_fiche_answer(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche);
static void ngx_http_chantier_fiche_stale(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche);
static void ngx_http_chantier_fiche_rendered(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_fiche_send(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche);
static void ngx_http_chantier_fiche_compressed(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_fiche_send_compressed(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche, ngx_str_t *body);
static ngx_http_chantier_cache_kind_e ngx_http_chantier_fiche_kind(
    ngx_http_chantier_encoding_e encoding);


void
ngx_http_chantier_api_fiches_list(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    code;
    const char  *params[2];

    rc = ngx_http_chantier_api_arg(r, "chantier", &code);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_ABORT) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "La référence du chantier n'est pas un texte valide.");
        return;
    }

    if (ctx->session.role == NGX_HTTP_CHANTIER_ROLE_CLIENT) {

        if (rc == NGX_OK) {
            ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
                "La recherche de chantiers est réservée aux employés "
                "de CLO.");
            return;
        }

        params[0] = (char *) ctx->session.user_id_text.data;

        ngx_http_chantier_api_answer_sql(r,
            "select status, body from api.fiches_list($1)", 1, params);
        return;
    }

    if (rc == NGX_DECLINED || code.len == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "chantier_required",
            "Indiquez la référence du chantier ou le nom du client.");
        return;
    }

    if (code.len > NGX_HTTP_CHANTIER_SEARCH_MAX) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field",
            "La recherche doit être un texte de 100 octets au plus.");
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) code.data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.fiches_search($1, $2)", 2, params);
}


/*
 * GET /fiches/{id}:
 *
 *     version, if the user may see it (PostgreSQL, one indexed look-up)
 *       -> 304 when If-None-Match names it
 *       -> the worker's cached document of that version
 *       -> or render it (PostgreSQL) and cache it
 *       -> for a client that takes gzip, the cached gzip rendering of that
 *          document, or deflate it (a pool thread) and cache that too
 *
 * Access is checked on every request, from what the worker knows of the
 * fiche (its version and client, live/ngx_http_chantier_known.c) or by
 * PostgreSQL; only the renderings are shared.  So a read of a fiche the
 * worker knows, of a version it has rendered, costs no round trip.
 */

void
ngx_http_chantier_api_fiche_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    int64_t                         version, client_id;
    ngx_int_t                       rc;
    ngx_uint_t                      fresh;
    const char                     *params[3];
    ngx_http_chantier_fiche_t      *fiche;
    ngx_http_chantier_main_conf_t  *mcf;

    fiche = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_fiche_t));
    if (fiche == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = fiche;

    fiche->id = ngx_atoof(ctx->id[0].data, ctx->id[0].len);
    fiche->id_text = (char *) ctx->id[0].data;

    /* a change already announced is applied first (known.c, point 4) */
    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    ngx_http_chantier_redis_sub_drain(mcf);

    if (ngx_http_chantier_known_fiche(fiche->id, &version, &client_id, &fresh)
        == NGX_OK
        && (ctx->session.role != NGX_HTTP_CHANTIER_ROLE_CLIENT
            || client_id == ctx->session.user_id))
    {
        fiche->version = version;

        if (fresh) {
            ngx_http_chantier_fiche_answer(r, fiche);
            return;
        }

        fiche->known = 1;
    }

    ngx_http_chantier_known_mark(&fiche->mark, NGX_HTTP_CHANTIER_KNOWN_FICHES);

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = fiche->id_text;

    rc = ngx_http_chantier_pg_query(r,
             "select version, client_id from api.fiche_access($1, $2, $3)",
             3, params, ngx_http_chantier_fiche_versioned);

    if (rc == NGX_DECLINED && fiche->known) {
        ngx_http_chantier_fiche_stale(r, fiche);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/*
 * PostgreSQL does not answer, and the worker knows the fiche's version and
 * access, from before: nobody can change the fiche meanwhile, but the
 * answer says that it may be stale (the page reads "lecture seule").
 */

static void
ngx_http_chantier_fiche_stale(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche)
{
    ngx_str_t  warning = ngx_string("110 - \"Response is Stale\"");

    if (ngx_http_chantier_add_header(r, "Warning", &warning) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_fiche_answer(r, fiche);
}


static void
ngx_http_chantier_fiche_versioned(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t    *ctx;
    ngx_http_chantier_fiche_t  *fiche;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    fiche = ctx->data;

    if (rc == NGX_DECLINED && fiche->known) {
        ngx_http_chantier_fiche_stale(r, fiche);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQntuples(res) != 1 || PQnfields(res) != 2
        || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1))
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Cette fiche n'existe pas.");
        return;
    }

    fiche->version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                               PQgetlength(res, 0, 0));

    ngx_http_chantier_known_fiche_put(&fiche->mark, fiche->id, fiche->version,
        ngx_atoof((u_char *) PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1)));

    ngx_http_chantier_fiche_answer(r, fiche);
}


/* the fiche's version is known and the user may see it */

static void
ngx_http_chantier_fiche_answer(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche)
{
    ngx_str_t                       vary = ngx_string("Accept-Encoding");
    const char                     *params[1];
    ngx_http_chantier_cache_key_t   key;
    ngx_http_chantier_cache_doc_t  *doc;

    /* the answer depends on Accept-Encoding, a 304 included */
    if (ngx_http_chantier_set_etag(r, fiche->version) != NGX_OK
        || ngx_http_chantier_add_header(r, "Vary", &vary) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_chantier_etag_matches(r->headers_in.if_none_match,
                                       fiche->version))
    {
        ngx_http_chantier_send(r, NGX_HTTP_NOT_MODIFIED, NULL);
        return;
    }

    ngx_http_chantier_cache_key(&key, NGX_HTTP_CHANTIER_CACHE_FICHE,
                                fiche->id, fiche->version, 0);

    doc = ngx_http_chantier_cache_get(r, &key);

    if (doc != NULL) {
        ngx_http_chantier_cache_body(doc, &fiche->plain);
        ngx_http_chantier_fiche_send(r, fiche);
        return;
    }

    params[0] = fiche->id_text;

    ngx_http_chantier_api_query(r,
        "select version, body from api.fiche_document($1)", 1, params,
        ngx_http_chantier_fiche_rendered);
}


static void
ngx_http_chantier_fiche_rendered(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    int64_t                         version;
    ngx_http_chantier_ctx_t        *ctx;
    ngx_http_chantier_fiche_t      *fiche;
    ngx_http_chantier_cache_key_t   key;
    ngx_http_chantier_cache_doc_t  *doc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    fiche = ctx->data;

    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQntuples(res) != 1) {
        /* deleted between the two queries */
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Cette fiche n'existe pas.");
        return;
    }

    version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                        PQgetlength(res, 0, 0));

    if (version != fiche->version) {
        /* changed between the two queries: send what was rendered */
        fiche->version = version;
        r->headers_out.etag->hash = 0;

        if (ngx_http_chantier_set_etag(r, version) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ngx_http_chantier_cache_key(&key, NGX_HTTP_CHANTIER_CACHE_FICHE,
                                fiche->id, version, 0);

    doc = ngx_http_chantier_cache_put(r, &key,
                                      (u_char *) PQgetvalue(res, 0, 1),
                                      PQgetlength(res, 0, 1));

    if (doc != NULL) {
        ngx_http_chantier_cache_body(doc, &fiche->plain);

    } else if (ngx_http_chantier_api_value(r, res, 1, &fiche->plain)
               != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_fiche_send(r, fiche);
}


/*
 * The document as the client takes it.  Its compressed rendering (brotli
 * or gzip) is made by the first request of a version that asks for it,
 * which waits for it (a few milliseconds in a pool thread); requests of
 * that version arriving meanwhile make their own, and the cache keeps one.
 * The plain document stays held for the thread by the request (cache_get,
 * or the pool).
 */

static void
ngx_http_chantier_fiche_send(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche)
{
    ngx_str_t                       body;
    ngx_http_chantier_encoding_e    encoding;
    ngx_http_chantier_cache_key_t   key;
    ngx_http_chantier_cache_doc_t  *doc;

    encoding = ngx_http_chantier_compress_accepted(r);

    if (encoding == NGX_HTTP_CHANTIER_IDENTITY || fiche->plain.len == 0) {
        ngx_http_chantier_send(r, NGX_HTTP_OK, &fiche->plain);
        return;
    }

    fiche->compressed.encoding = encoding;

    ngx_http_chantier_cache_key(&key, ngx_http_chantier_fiche_kind(encoding),
                                fiche->id, fiche->version, 0);

    doc = ngx_http_chantier_cache_get(r, &key);

    if (doc != NULL) {
        ngx_http_chantier_cache_body(doc, &body);
        ngx_http_chantier_fiche_send_compressed(r, fiche, &body);
        return;
    }

    fiche->compressed.in = fiche->plain.data;
    fiche->compressed.in_len = fiche->plain.len;

    ngx_http_chantier_thread_post(r, &fiche->compressed,
                                  ngx_http_chantier_compress_run,
                                  ngx_http_chantier_fiche_compressed);
}


static void
ngx_http_chantier_fiche_compressed(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_str_t                       body;
    ngx_http_chantier_ctx_t        *ctx;
    ngx_http_chantier_fiche_t      *fiche;
    ngx_http_chantier_cache_key_t   key;
    ngx_http_chantier_cache_doc_t  *doc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    fiche = ctx->data;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: compression of fiche %L version %L "
                      "failed, sent plain", fiche->id, fiche->version);
        ngx_http_chantier_send(r, NGX_HTTP_OK, &fiche->plain);
        return;
    }

    ngx_http_chantier_cache_key(&key,
        ngx_http_chantier_fiche_kind(fiche->compressed.encoding),
        fiche->id, fiche->version, 0);

    doc = ngx_http_chantier_cache_adopt(r, &key, fiche->compressed.out,
                                        fiche->compressed.out_len);

    if (doc == NULL) {
        /* memory is short: the plain document needs nothing more */
        free(fiche->compressed.out);
        ngx_http_chantier_send(r, NGX_HTTP_OK, &fiche->plain);
        return;
    }

    ngx_http_chantier_cache_body(doc, &body);
    ngx_http_chantier_fiche_send_compressed(r, fiche, &body);
}


static void
ngx_http_chantier_fiche_send_compressed(ngx_http_request_t *r,
    ngx_http_chantier_fiche_t *fiche, ngx_str_t *body)
{
    if (ngx_http_chantier_compress_set_encoding(r,
                                                fiche->compressed.encoding)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_send(r, NGX_HTTP_OK, body);
}


static ngx_http_chantier_cache_kind_e
ngx_http_chantier_fiche_kind(ngx_http_chantier_encoding_e encoding)
{
    return (encoding == NGX_HTTP_CHANTIER_BROTLI)
           ? NGX_HTTP_CHANTIER_CACHE_FICHE_BROTLI
           : NGX_HTTP_CHANTIER_CACHE_FICHE_GZIP;
}


/*
 * PUT /fiches/{id}/seen: the page has shown the fiche.  The visit is the
 * user's own, kept apart from the fiche's document and its version: the
 * document stays one rendering for everybody.
 */

void
ngx_http_chantier_api_fiche_seen(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[3];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.fiche_seen($1, $2, $3)", 3, params);
}
