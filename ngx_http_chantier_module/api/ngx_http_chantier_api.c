/*
 * Helpers shared by the API handlers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../live/ngx_http_chantier_live.h"
#include "../notify/ngx_http_chantier_notify.h"
#include "../crypto/chantier_password.h"


static void ngx_http_chantier_api_mutated(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_api_send_sql_error(ngx_http_request_t *r,
    PGresult *res);


void
ngx_http_chantier_api_query(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params,
    ngx_http_chantier_pg_handler_pt handler)
{
    ngx_http_chantier_api_query_binary(r, sql, nparams, params, NULL, 0,
                                       handler);
}


void
ngx_http_chantier_api_query_binary(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params, const size_t *lengths,
    ngx_uint_t binary_result, ngx_http_chantier_pg_handler_pt handler)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_pg_query_binary(r, sql, nparams, params, lengths,
                                           binary_result, handler);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


ngx_int_t
ngx_http_chantier_api_binary_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc, const char *what)
{
    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: %s query failed: %s", what,
                      res ? PQresultErrorMessage(res) : "no result");
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return NGX_DONE;
    }

    return NGX_OK;
}


void
ngx_http_chantier_api_answer_sql(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params)
{
    ngx_http_chantier_api_query(r, sql, nparams, params,
                                ngx_http_chantier_api_send_result);
}


void
ngx_http_chantier_api_answer_mutation(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params)
{
    ngx_http_chantier_api_query(r, sql, nparams, params,
                                ngx_http_chantier_api_mutated);
}


void
ngx_http_chantier_api_send_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_sql_error(r, res);
        return;
    }

    if (PQntuples(res) != 1 || PQnfields(res) < 2) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: unexpected result shape (%d rows, %d cols)",
                      PQntuples(res), PQnfields(res));
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    rc = ngx_http_chantier_api_keep_answer(r, res, ctx);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
}


/*
 * The SQL functions answer bad input themselves; an error raised anyway is
 * either a data exception that slipped through (class 22: still the
 * client's input, so 400), a constraint (class 23: 409), or our bug (500,
 * logged with the server's message, which never reaches the client).
 */

static void
ngx_http_chantier_api_send_sql_error(ngx_http_request_t *r, PGresult *res)
{
    char  *state, *message;

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    message = res ? PQresultErrorMessage(res) : NULL;

    if (state != NULL && ngx_strncmp(state, "22", 2) == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_input",
            "Une valeur envoyée n'est pas valide.");
        return;
    }

    if (state != NULL && ngx_strncmp(state, "23", 2) == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_CONFLICT, "conflict",
            "Cette modification est en conflit avec les données existantes.");
        return;
    }

    /* 57014: statement_timeout, the server's side of our query timeout */
    if (state != NULL && (ngx_strncmp(state, "57", 2) == 0
                          || ngx_strncmp(state, "08", 2) == 0
                          || ngx_strncmp(state, "53", 2) == 0))
    {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "chantier: SQL error %s: %s",
                  state ? state : "?", message ? message : "?");

    ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal_error",
                                 "Erreur interne du serveur.");
}


/*
 * The change is committed: hand its notifications to the notifier,
 * announce its version, then answer, once Redis has the announcement.
 */

static void
ngx_http_chantier_api_mutated(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    off_t                     fiche_id, version;
    ngx_http_chantier_ctx_t  *ctx;

    if (rc != NGX_OK || PQntuples(res) != 1 || PQnfields(res) < 4) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQnfields(res) == 5 && !PQgetisnull(res, 0, 4)) {
        ngx_http_chantier_notify_push(r->connection->log,
                                      (u_char *) PQgetvalue(res, 0, 4),
                                      PQgetlength(res, 0, 4));
    }

    if (!PQgetisnull(res, 0, 2) && !PQgetisnull(res, 0, 3)) {
        fiche_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                             PQgetlength(res, 0, 2));
        version = ngx_atoof((u_char *) PQgetvalue(res, 0, 3),
                            PQgetlength(res, 0, 3));

        if (fiche_id > 0 && version > 0) {
            ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

            if (ngx_http_chantier_api_keep_answer(r, res, ctx) != NGX_OK) {
                ngx_http_chantier_api_send_result(r, res, rc);
                return;
            }

            if (ngx_http_chantier_live_announce(r, fiche_id, version,
                                                ngx_http_chantier_api_send_kept)
                != NGX_OK)
            {
                ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
            }

            return;
        }
    }

    ngx_http_chantier_api_send_result(r, res, rc);
}


/*
 * The answer of a function's result (status and body) kept in ctx, for
 * when res is gone (a change answered once its announcement went
 * through): NGX_DECLINED when the result is not one, NGX_ERROR when
 * memory is short.
 */

ngx_int_t
ngx_http_chantier_api_keep_answer(ngx_http_request_t *r, PGresult *res,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_uint_t  status;

    status = ngx_http_chantier_api_status(res, NGX_OK);

    if (status < 200 || status > 599) {
        return NGX_DECLINED;
    }

    ngx_str_null(&ctx->answer);
    ctx->answer_status = status;

    if (!PQgetisnull(res, 0, 1)
        && ngx_http_chantier_api_value(r, res, 1, &ctx->answer) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Redis took the announcement, or could not: the change is answered */

void
ngx_http_chantier_api_send_kept(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
}


ngx_uint_t
ngx_http_chantier_api_status(PGresult *res, ngx_int_t rc)
{
    ngx_int_t  status;

    if (rc != NGX_OK || PQntuples(res) != 1 || PQnfields(res) < 2) {
        return 0;
    }

    status = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                      PQgetlength(res, 0, 0));

    return (status == NGX_ERROR) ? 0 : (ngx_uint_t) status;
}


ngx_int_t
ngx_http_chantier_api_value(ngx_http_request_t *r, PGresult *res, int column,
    ngx_str_t *value)
{
    value->len = PQgetlength(res, 0, column);
    value->data = ngx_pnalloc(r->pool, value->len + 1);
    if (value->data == NULL) {
        value->len = 0;
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, PQgetvalue(res, 0, column), value->len);
    value->data[value->len] = '\0';

    return NGX_OK;
}


ngx_uint_t
ngx_http_chantier_api_is_employee(ngx_http_chantier_ctx_t *ctx)
{
    return ctx->session.role == NGX_HTTP_CHANTIER_ROLE_EMPLOYEE
           || ctx->session.role == NGX_HTTP_CHANTIER_ROLE_ADMIN;
}


ngx_int_t
ngx_http_chantier_api_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    /* "+" means a space in a query string; ngx_unescape_uri keeps it */
    for (src = raw.data; src < raw.data + raw.len; src++) {
        if (*src == '+') {
            *src = ' ';
        }
    }

    src = raw.data;
    dst = value->data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;
    value->data[value->len] = '\0';

    /* SQL gets it as a C string: it must be text, and all of it */
    if (ngx_http_chantier_api_is_text(value) != NGX_OK) {
        return NGX_ABORT;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_api_is_text(ngx_str_t *s)
{
    if (s->len == 0) {
        return NGX_OK;
    }

    return (ngx_http_chantier_json_check_text(s->data, s->len) == NGX_OK)
           ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_chantier_api_new_password(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, const char *key, char **password,
    size_t *len)
{
    ngx_http_chantier_json_t  *value;

    value = ngx_http_chantier_json_get(ctx->json, key);

    if (value == NULL) {
        return NGX_DECLINED;
    }

    if (value->type != NGX_HTTP_CHANTIER_JSON_STRING) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field", "Le mot de passe doit être une chaîne.");
        return NGX_ERROR;
    }

    /* the minimum counts characters, the maximum bytes (scrypt's input) */
    if (ngx_utf8_length(value->value.data, value->value.len)
        < CHANTIER_PASSWORD_MIN_LEN)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "password_too_short",
            "Le mot de passe doit contenir au moins 10 caractères.");
        return NGX_ERROR;
    }

    if (value->value.len > CHANTIER_PASSWORD_MAX_LEN) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "password_too_long",
            "Le mot de passe ne doit pas dépasser 256 octets.");
        return NGX_ERROR;
    }

    *password = ngx_http_chantier_json_cstring(r->pool, value);
    if (*password == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    *len = value->value.len;

    return NGX_OK;
}
