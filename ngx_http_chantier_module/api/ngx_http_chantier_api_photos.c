/*
 * Photos: POST /fiches/{id}/photos and GET /photos/{id}.
 *
 * An upload goes
 *
 *     role (a client: 403) -> may this user upload here (PostgreSQL)
 *       -> the body, as it arrives (25 MiB at most, 413 as soon as passed)
 *       -> a pool thread: the body in one piece, then libvips
 *          (image/ngx_http_chantier_image.c: 415, 413, 400)
 *       -> the two renderings stored (PostgreSQL, binary parameters) -> 201
 *
 * so that nothing is read, decoded or written for a request that will be
 * refused, and nothing heavy runs on the event loop.  The renderings are
 * freed by a cleanup of the request pool, whatever ends the request.
 *
 * A photo is read with its bytes in PostgreSQL's binary format: no hex to
 * decode.  Its ETag is the rendering's SHA-256; a rendering never changes,
 * so the browser keeps it for a year without asking again.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_body.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../image/ngx_http_chantier_image.h"
#include "../core/ngx_http_chantier_cache.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../live/ngx_http_chantier_known.h"


/* what the upload carries from step to step */
typedef struct {
    ngx_http_chantier_raw_body_t   body;
    ngx_http_chantier_image_t      image;
} ngx_http_chantier_photo_upload_t;


static void ngx_http_chantier_photo_allowed(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_photo_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_photo_process(
    ngx_http_chantier_raw_body_t *body);
static void ngx_http_chantier_photo_processed(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body, ngx_int_t rc);
static void ngx_http_chantier_photo_store(ngx_http_request_t *r,
    ngx_http_chantier_photo_upload_t *upload);
static void ngx_http_chantier_photo_free(void *data);
static ngx_int_t ngx_http_chantier_photo_known(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t photo_id);
static void ngx_http_chantier_photo_keep(ngx_http_request_t *r,
    PGresult *res, ngx_str_t *type, ngx_str_t *hash);
static void ngx_http_chantier_photo_send(ngx_http_request_t *r,
    ngx_str_t *type, ngx_str_t *hash, ngx_str_t *body);
static void ngx_http_chantier_photo_found(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);


static ngx_str_t  ngx_http_chantier_photo_cache =
    ngx_string("private, max-age=31536000, immutable");


void
ngx_http_chantier_api_photo_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[2];

    if (!ngx_http_chantier_api_is_employee(ctx)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Seuls les employés de CLO ajoutent des photos.");
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_query(r,
        "select status, body from api.photo_upload_allowed($1, $2)",
        2, params, ngx_http_chantier_photo_allowed);
}


static void
ngx_http_chantier_photo_allowed(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    if (ngx_http_chantier_api_status(res, rc) != NGX_HTTP_NO_CONTENT) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    ngx_http_chantier_read_body(r, ctx, ngx_http_chantier_photo_body);
}


static void
ngx_http_chantier_photo_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_chantier_photo_upload_t  *upload;

    upload = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_photo_upload_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (upload == NULL || cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* registered before the task: the renderings go with the request */
    cln->handler = ngx_http_chantier_photo_free;
    cln->data = upload;

    /* what the answer says unless libvips says otherwise */
    upload->image.status = NGX_HTTP_CHANTIER_IMAGE_ERROR;
    ngx_cpystrn((u_char *) upload->image.error,
                (u_char *) "the body could not be read",
                sizeof(upload->image.error));

    upload->body.check = ngx_http_chantier_photo_process;
    upload->body.done = ngx_http_chantier_photo_processed;
    upload->body.route = upload;

    if (ngx_http_chantier_raw_body_post(r, &upload->body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* in a pool thread, the body in one piece: the image work */

static ngx_int_t
ngx_http_chantier_photo_process(ngx_http_chantier_raw_body_t *body)
{
    ngx_http_chantier_photo_upload_t *upload = body->route;

    ngx_int_t  rc;

    upload->image.in = body->data;
    upload->image.in_len = body->len;

    rc = ngx_http_chantier_image_process(&upload->image);

    /* the upload itself is never kept: only its renderings */
    ngx_http_chantier_raw_body_release(body);
    upload->image.in = NULL;

    return (rc == NGX_DECLINED) ? NGX_OK : rc;
}


static void
ngx_http_chantier_photo_processed(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body, ngx_int_t rc)
{
    ngx_http_chantier_photo_upload_t *upload = body->route;

    if (body->err) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, body->err,
                      "chantier: reading the photo's temporary file failed");
    }

    switch (upload->image.status) {

    case NGX_HTTP_CHANTIER_IMAGE_OK:
        ngx_http_chantier_photo_store(r, upload);
        return;

    case NGX_HTTP_CHANTIER_IMAGE_NOT_IMAGE:
        ngx_http_chantier_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Ce fichier n'est pas une photo JPEG ou PNG.");
        return;

    case NGX_HTTP_CHANTIER_IMAGE_TOO_LARGE:
        ngx_http_chantier_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
            "image_too_large",
            "Cette photo dépasse 50 millions de pixels : réduisez-la avant "
            "de l'envoyer.");
        return;

    case NGX_HTTP_CHANTIER_IMAGE_INVALID:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "chantier: photo refused: %s", upload->image.error);
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_image",
            "Cette photo est abîmée ou incomplète : envoyez-la de nouveau.");
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: photo processing failed: %s",
                      upload->image.error);
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }
}


static void
ngx_http_chantier_photo_store(ngx_http_request_t *r,
    ngx_http_chantier_photo_upload_t *upload)
{
    u_char                               *p;
    size_t                                lengths[12];
    const char                           *params[12];
    ngx_http_chantier_ctx_t              *ctx;
    ngx_http_chantier_image_rendering_t  *d, *t;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    d = &upload->image.display;
    t = &upload->image.thumb;

    p = ngx_pnalloc(r->pool, 4 * NGX_INT_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(lengths, sizeof(lengths));

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;

    params[2] = d->type;
    params[3] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", d->width);
    params[4] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", d->height);
    params[5] = (char *) d->hash;
    params[6] = (char *) d->data;
    lengths[6] = d->len;

    params[7] = t->type;
    params[8] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", t->width);
    params[9] = (char *) p;
    p = ngx_sprintf(p, "%ui%Z", t->height);
    params[10] = (char *) t->hash;
    params[11] = (char *) t->data;
    lengths[11] = t->len;

    ngx_http_chantier_api_query_binary(r,
        "select status, body from api.photo_create($1, $2,"
        " $3, $4, $5, $6, $7::bytea, $8, $9, $10, $11, $12::bytea)",
        12, params, lengths, 0, ngx_http_chantier_api_send_result);
}


static void
ngx_http_chantier_photo_free(void *data)
{
    ngx_http_chantier_photo_upload_t *upload = data;

    ngx_http_chantier_image_free(&upload->image);
}


/* GET /photos/{id}?size=thumb|display */

void
ngx_http_chantier_api_photo_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    size;
    const char  *params[3];

    rc = ngx_http_chantier_api_arg(r, "size", &size);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&size, "display");

    } else if (!(size.len == 5 && ngx_strncmp(size.data, "thumb", 5) == 0)
               && !(size.len == 7
                    && ngx_strncmp(size.data, "display", 7) == 0))
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field",
            "La taille demandée vaut « thumb » (vignette) ou « display » (grande photo).");
        return;
    }

    /* a thumbnail (size checked above): kept for the next reads */
    ctx->step = (size.len == 5);

    if (ctx->step) {
        if (ngx_http_chantier_photo_known(r, ctx,
                ngx_atoof(ctx->id[0].data, ctx->id[0].len))
            == NGX_OK)
        {
            return;
        }

        ngx_http_chantier_known_mark(&ctx->known_mark,
                                     NGX_HTTP_CHANTIER_KNOWN_FICHES);
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;
    params[2] = (char *) size.data;

    ngx_http_chantier_api_query_binary(r,
        "select content_type, hash, bytes,"
        "       fiche_id, fiche_version, client_id, published"
        "  from api.photo_read($1, $2, $3)",
        3, params, NULL, 1, ngx_http_chantier_photo_found);
}


/*
 * A thumbnail the worker keeps: its rendering, and where it belongs (the
 * fiche, its version then, whether the photo was in a post then).  It
 * serves while the worker knows that fiche at that same version (a newer
 * one may have taken the photo out of its post or deleted it), and its
 * access for the user, as GET fiches/{id} does (live/..._known.c).
 */

typedef struct {
    int64_t                       fiche_id;
    int64_t                       fiche_version;
    ngx_uint_t                    published;
    size_t                        type_len;
    size_t                        hash_len;
    /* then the type, the hash and the bytes */
} ngx_http_chantier_photo_kept_t;


static ngx_int_t
ngx_http_chantier_photo_known(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t photo_id)
{
    int64_t                          version, client_id;
    ngx_str_t                        entry, type, hash, body;
    ngx_uint_t                       fresh;
    ngx_http_chantier_cache_key_t    key;
    ngx_http_chantier_cache_doc_t   *doc;
    ngx_http_chantier_main_conf_t   *mcf;
    ngx_http_chantier_photo_kept_t   kept;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    ngx_http_chantier_redis_sub_drain(mcf);

    ngx_http_chantier_cache_key(&key, NGX_HTTP_CHANTIER_CACHE_THUMB,
                                photo_id, 0, 0);

    doc = ngx_http_chantier_cache_get(r, &key);
    if (doc == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_chantier_cache_body(doc, &entry);

    if (entry.len < sizeof(ngx_http_chantier_photo_kept_t)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(&kept, entry.data, sizeof(ngx_http_chantier_photo_kept_t));

    if (ngx_http_chantier_known_fiche(kept.fiche_id, &version, &client_id,
                                      &fresh)
        != NGX_OK
        || !fresh || version != kept.fiche_version
        || (ctx->session.role == NGX_HTTP_CHANTIER_ROLE_CLIENT
            && (client_id != ctx->session.user_id || !kept.published)))
    {
        return NGX_DECLINED;
    }

    type.data = entry.data + sizeof(ngx_http_chantier_photo_kept_t);
    type.len = kept.type_len;
    hash.data = type.data + type.len;
    hash.len = kept.hash_len;
    body.data = hash.data + hash.len;
    body.len = entry.len - sizeof(ngx_http_chantier_photo_kept_t)
               - type.len - hash.len;

    ngx_http_chantier_photo_send(r, &type, &hash, &body);

    return NGX_OK;
}


/* what photo_read answered, kept for the next reads of a thumbnail */

static void
ngx_http_chantier_photo_keep(ngx_http_request_t *r, PGresult *res,
    ngx_str_t *type, ngx_str_t *hash)
{
    u_char                          *entry, *p;
    size_t                           len;
    ngx_http_chantier_ctx_t         *ctx;
    ngx_http_chantier_cache_key_t    key;
    ngx_http_chantier_photo_kept_t   kept;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    kept.fiche_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 3),
                              PQgetlength(res, 0, 3));
    kept.fiche_version = ngx_atoof((u_char *) PQgetvalue(res, 0, 4),
                                   PQgetlength(res, 0, 4));
    kept.published = (PQgetlength(res, 0, 6) == 4);     /* "true" */
    kept.type_len = type->len;
    kept.hash_len = hash->len;

    if (kept.fiche_id <= 0 || kept.fiche_version <= 0) {
        return;
    }

    /* the fiche's access too, if nothing was heard meanwhile */
    ngx_http_chantier_known_fiche_put(&ctx->known_mark, kept.fiche_id,
        kept.fiche_version,
        ngx_atoof((u_char *) PQgetvalue(res, 0, 5), PQgetlength(res, 0, 5)));

    len = sizeof(ngx_http_chantier_photo_kept_t) + type->len + hash->len
          + PQgetlength(res, 0, 2);

    entry = ngx_alloc(len, r->connection->log);
    if (entry == NULL) {
        return;
    }

    p = ngx_cpymem(entry, &kept, sizeof(ngx_http_chantier_photo_kept_t));
    p = ngx_cpymem(p, type->data, type->len);
    p = ngx_cpymem(p, hash->data, hash->len);
    ngx_memcpy(p, PQgetvalue(res, 0, 2), PQgetlength(res, 0, 2));

    ngx_http_chantier_cache_key(&key, NGX_HTTP_CHANTIER_CACHE_THUMB,
                                ngx_atoof(ctx->id[0].data, ctx->id[0].len),
                                0, 0);

    if (ngx_http_chantier_cache_adopt(r, &key, entry, len) == NULL) {
        ngx_free(entry);
    }
}


static void
ngx_http_chantier_photo_found(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                 type, hash, body;
    ngx_http_chantier_ctx_t  *ctx;

    if (ngx_http_chantier_api_binary_result(r, res, rc, "photo") != NGX_OK) {
        return;
    }

    if (PQntuples(res) != 1 || PQnfields(res) != 7) {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Cette photo n'existe pas.");
        return;
    }

    /* binary format: text columns are their bytes, bytea its bytes */
    if (ngx_http_chantier_api_value(r, res, 0, &type) != NGX_OK
        || ngx_http_chantier_api_value(r, res, 1, &hash) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (ctx->step) {
        ngx_http_chantier_photo_keep(r, res, &type, &hash);
    }

    body.len = PQgetlength(res, 0, 2);
    body.data = ngx_pnalloc(r->pool, body.len);

    if (body.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(body.data, PQgetvalue(res, 0, 2), body.len);

    ngx_http_chantier_photo_send(r, &type, &hash, &body);
}


/* a rendering, or 304 when If-None-Match names its hash */

static void
ngx_http_chantier_photo_send(ngx_http_request_t *r, ngx_str_t *type,
    ngx_str_t *hash, ngx_str_t *body)
{
    if (ngx_http_chantier_set_etag_text(r, hash) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_chantier_etag_matches_text(
            ngx_http_chantier_header_in(r, "If-None-Match"), hash))
    {
        ngx_http_chantier_send_bytes(r, NGX_HTTP_NOT_MODIFIED, type,
                                     &ngx_http_chantier_photo_cache, NULL);
        return;
    }

    ngx_http_chantier_send_bytes(r, NGX_HTTP_OK, type,
                                 &ngx_http_chantier_photo_cache, body);
}
