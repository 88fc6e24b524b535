/*
 * Posts of a fiche ("publications d'avancement"): POST /fiches/{id}/posts,
 * PATCH /posts/{id} (with If-Match), DELETE /posts/{id}.  Employees only.
 * The Delta of a body is checked here against the allow-list before
 * PostgreSQL stores it; SQL checks rights and versions in the same
 * statement as the change.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../render/ngx_http_chantier_delta.h"


static ngx_int_t ngx_http_chantier_posts_check_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_uint_t required);
static ngx_int_t ngx_http_chantier_posts_if_match(ngx_http_request_t *r,
    char **version);
static ngx_int_t ngx_http_chantier_posts_photo_named(void *data, int64_t id);
static ngx_int_t ngx_http_chantier_posts_check_key(ngx_str_t *key);


void
ngx_http_chantier_api_post_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char       *params[4];
    ngx_table_elt_t  *key;

    if (!ngx_http_chantier_api_is_employee(ctx)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Seuls les employés de CLO publient sur une fiche.");
        return;
    }

    if (ngx_http_chantier_posts_check_body(r, ctx, 1) != NGX_OK) {
        return;
    }

    key = ngx_http_chantier_header_in(r, "Idempotency-Key");

    if (key != NULL && ngx_http_chantier_posts_check_key(&key->value)
                       != NGX_OK)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field",
            "Idempotency-Key : de 1 à 100 caractères visibles, sans espace.");
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;
    params[2] = ngx_http_chantier_cstring(r->pool, &ctx->body);
    params[3] = key ? ngx_http_chantier_cstring(r->pool, &key->value) : NULL;

    if (params[2] == NULL || (key != NULL && params[3] == NULL)) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version,"
        "       notification_ids"
        "  from api.post_create($1, $2, $3::jsonb, $4)", 4, params);
}


void
ngx_http_chantier_api_post_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    const char  *params[4];
    char        *version;

    if (!ngx_http_chantier_api_is_employee(ctx)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Seuls les employés de CLO modifient une publication.");
        return;
    }

    rc = ngx_http_chantier_posts_if_match(r, &version);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        /* nginx knows no reason phrase for 428 */
        ngx_str_set(&r->headers_out.status_line, "428 Precondition Required");

        ngx_http_chantier_send_error(r, 428,
            "if_match_required",
            "Indiquez la version modifiée dans l'en-tête If-Match "
            "(par exemple If-Match: \"3\").");
        return;
    }

    if (ngx_http_chantier_posts_check_body(r, ctx, 0) != NGX_OK) {
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;
    params[2] = version;
    params[3] = ngx_http_chantier_cstring(r->pool, &ctx->body);

    if (params[3] == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version,"
        "       notification_ids"
        "  from api.post_patch($1, $2, $3, $4::jsonb)", 4, params);
}


void
ngx_http_chantier_api_post_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[2];

    if (!ngx_http_chantier_api_is_employee(ctx)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Seuls les employés de CLO suppriment une publication.");
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version"
        "  from api.post_delete($1, $2)", 2, params);
}


/*
 * The "body" member, when present (or required), must be a Delta within
 * the allow-list.  Answers 400 itself and returns NGX_DECLINED otherwise.
 */

static ngx_int_t
ngx_http_chantier_posts_check_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_uint_t required)
{
    char                      *message;
    ngx_int_t                  rc;
    ngx_str_t                  error;
    ngx_http_chantier_json_t  *delta;

    delta = ngx_http_chantier_json_get(ctx->json, "body");

    if (delta == NULL) {
        if (!required) {
            return NGX_OK;
        }

        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "Le texte de la publication est obligatoire.");
        return NGX_DECLINED;
    }

    rc = ngx_http_chantier_delta_validate(r->pool, delta,
                                          ngx_http_chantier_posts_photo_named,
                                          NULL, &error);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_DECLINED || rc == NGX_ABORT) {
        message = ngx_http_chantier_cstring(r->pool, &error);
        if (message == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return NGX_ERROR;
        }

        if (rc == NGX_ABORT) {
            ngx_http_chantier_send_error(r,
                NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large", message);
            return NGX_DECLINED;
        }

        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid_delta", message);
        return NGX_DECLINED;
    }

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    return NGX_ERROR;
}


/*
 * The version named by If-Match ("3", W/"3" or 3), as text for SQL.
 * NGX_DECLINED when absent or not a single version: a PATCH without a
 * known base version could overwrite somebody else's edit.
 */

static ngx_int_t
ngx_http_chantier_posts_if_match(ngx_http_request_t *r, char **version)
{
    u_char     *p, *end, *start;
    ngx_str_t   digits;

    if (r->headers_in.if_match == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.if_match->value.data;
    end = p + r->headers_in.if_match->value.len;

    if (end - p > 2 && p[0] == 'W' && p[1] == '/') {
        p += 2;
    }

    if (p < end && *p == '"') {
        p++;
        end--;

        if (end < p || *end != '"') {
            return NGX_DECLINED;
        }
    }

    start = p;

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }

    if (p != end || p == start || p - start > 18) {
        return NGX_DECLINED;
    }

    digits.data = start;
    digits.len = p - start;

    *version = ngx_http_chantier_cstring(r->pool, &digits);

    return (*version == NULL) ? NGX_ERROR : NGX_OK;
}


/*
 * The validator checks how a photo is named; which photos the post may
 * show (of its fiche, in no other post) is checked by the SQL that stores
 * it (api.post_photos_set), in the same transaction.
 */

static ngx_int_t
ngx_http_chantier_posts_photo_named(void *data, int64_t id)
{
    return NGX_OK;
}


/* the client's key of one post: 1 to 100 visible ASCII characters */

static ngx_int_t
ngx_http_chantier_posts_check_key(ngx_str_t *key)
{
    u_char  *p;

    if (key->len == 0 || key->len > 100) {
        return NGX_DECLINED;
    }

    for (p = key->data; p < key->data + key->len; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}
