/*
 * Contracts: the administrators upload a client's signed contracts as PDF
 * files (POST /admin/users/{id}/contracts?title=&signed_on=, GET
 * /admin/users/{id}/contracts, DELETE /admin/contracts/{id}); the client
 * lists and downloads them (GET /contracts, GET /contracts/{id}/file).
 *
 * An upload goes, as a photo does (api_photos.c),
 *
 *     is the user a client (PostgreSQL)
 *       -> the body, as it arrives (20 MiB at most, 413 as soon as passed)
 *       -> a pool thread: the body in one piece, its first bytes "%PDF-"
 *          (415 otherwise, whatever the Content-Type says)
 *       -> stored (PostgreSQL, a binary parameter) -> 201
 *
 * A download sends the bytes of libpq's binary result as they are: the
 * result is kept with the request rather than copied.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_body.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_pg.h"


typedef struct {
    ngx_http_chantier_raw_body_t   body;
    ngx_uint_t                     is_pdf;
    char                          *title;
    char                          *signed_on;
} ngx_http_chantier_contract_upload_t;


static void ngx_http_chantier_contract_allowed(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_contract_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_contract_check(
    ngx_http_chantier_raw_body_t *body);
static void ngx_http_chantier_contract_copied(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body, ngx_int_t rc);
static void ngx_http_chantier_contract_found(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_chantier_contract_text_arg(ngx_http_request_t *r,
    const char *name, char **value);


static ngx_str_t  ngx_http_chantier_contract_type =
    ngx_string("application/pdf");
static ngx_str_t  ngx_http_chantier_contract_cache =
    ngx_string("private, no-store");


void
ngx_http_chantier_api_admin_contract_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char                           *params[1];
    ngx_http_chantier_contract_upload_t  *upload;

    upload = ngx_pcalloc(r->pool,
                         sizeof(ngx_http_chantier_contract_upload_t));
    if (upload == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = upload;

    /* the title and the day travel in the query: the body is the file */
    if (ngx_http_chantier_contract_text_arg(r, "title", &upload->title)
        != NGX_OK
        || ngx_http_chantier_contract_text_arg(r, "signed_on",
                                               &upload->signed_on)
           != NGX_OK)
    {
        return;
    }

    params[0] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_query(r,
        "select status, body from api.admin_contract_allowed($1)",
        1, params, ngx_http_chantier_contract_allowed);
}


/* NGX_OK, or the request answered (400, 500) and NGX_ERROR */

static ngx_int_t
ngx_http_chantier_contract_text_arg(ngx_http_request_t *r, const char *name,
    char **value)
{
    ngx_int_t  rc;
    ngx_str_t  arg;

    rc = ngx_http_chantier_api_arg(r, name, &arg);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    if (rc == NGX_ABORT) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "L'intitulé et la date de signature doivent être du texte.");
        return NGX_ERROR;
    }

    /* absent: NULL, which the SQL names as missing */
    *value = (rc == NGX_DECLINED) ? NULL : (char *) arg.data;

    return NGX_OK;
}


static void
ngx_http_chantier_contract_allowed(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    if (ngx_http_chantier_api_status(res, rc) != NGX_HTTP_NO_CONTENT) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    ngx_http_chantier_read_body(r, ctx, ngx_http_chantier_contract_body);
}


static void
ngx_http_chantier_contract_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_contract_upload_t  *upload;

    upload = ctx->data;

    upload->body.check = ngx_http_chantier_contract_check;
    upload->body.done = ngx_http_chantier_contract_copied;
    upload->body.route = upload;

    if (ngx_http_chantier_raw_body_post(r, &upload->body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* in a pool thread, the file in one piece: what its first bytes say */

static ngx_int_t
ngx_http_chantier_contract_check(ngx_http_chantier_raw_body_t *body)
{
    ngx_http_chantier_contract_upload_t *upload = body->route;

    upload->is_pdf = body->len >= 5
                     && ngx_memcmp(body->data, "%PDF-", 5) == 0;

    return NGX_OK;
}


static void
ngx_http_chantier_contract_copied(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body, ngx_int_t rc)
{
    ngx_http_chantier_contract_upload_t *upload = body->route;

    size_t                    lengths[5];
    const char               *params[5];
    ngx_http_chantier_ctx_t  *ctx;

    if (rc != NGX_OK) {
        if (body->err) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, body->err,
                          "chantier: reading the contract's temporary file "
                          "failed");
        }

        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!upload->is_pdf) {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type", "Ce fichier n'est pas un PDF.");
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    ngx_memzero(lengths, sizeof(lengths));

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;
    params[2] = upload->title;
    params[3] = upload->signed_on;
    params[4] = (char *) body->data;
    lengths[4] = body->len;

    ngx_http_chantier_api_query_binary(r,
        "select status, body"
        "  from api.admin_contract_create($1, $2, $3, $4, $5::bytea)",
        5, params, lengths, 0, ngx_http_chantier_api_send_result);
}


void
ngx_http_chantier_api_admin_contracts(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.admin_contracts($1)", 1, params);
}


void
ngx_http_chantier_api_admin_contract_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[2];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.admin_contract_delete($1, $2)",
        2, params);
}


/* "Mes contrats": a client's own */

void
ngx_http_chantier_api_contracts_list(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[1];

    if (ctx->session.role != NGX_HTTP_CHANTIER_ROLE_CLIENT) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Les contrats se lisent dans l'espace de leur client.");
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.contracts_list($1)", 1, params);
}


void
ngx_http_chantier_api_contract_file(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[2];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_query_binary(r,
        "select file_name, sha256, bytes from api.contract_file($1, $2)",
        2, params, NULL, 1, ngx_http_chantier_contract_found);
}


static void
ngx_http_chantier_contract_found(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    u_char     *p;
    ngx_str_t   name, disposition, body;

    if (ngx_http_chantier_api_binary_result(r, res, rc, "contract")
        != NGX_OK)
    {
        return;
    }

    if (PQntuples(res) != 1) {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Ce contrat n'existe pas.");
        return;
    }

    /* binary format: the text column is its bytes, bytea its bytes */
    if (ngx_http_chantier_api_value(r, res, 0, &name) != NGX_OK
        || ngx_http_chantier_pg_keep_result(r, res) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    disposition.data = ngx_pnalloc(r->pool, sizeof("attachment; filename=\"\"")
                                            + name.len);
    if (disposition.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the name is ours, "contrat-<id>-<YYYY-MM-DD>.pdf": nothing to quote */
    p = ngx_sprintf(disposition.data, "attachment; filename=\"%V\"", &name);
    disposition.len = p - disposition.data;

    if (ngx_http_chantier_add_header(r, "Content-Disposition", &disposition)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    body.data = (u_char *) PQgetvalue(res, 0, 2);
    body.len = PQgetlength(res, 0, 2);

    ngx_http_chantier_send_bytes(r, NGX_HTTP_OK,
                                 &ngx_http_chantier_contract_type,
                                 &ngx_http_chantier_contract_cache, &body);
}
