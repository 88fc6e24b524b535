/*
 * POST /session (login) and DELETE /session (logout).
 *
 * A login is a chain of asynchronous steps, each a callback of the one
 * before:
 *
 *     count the attempt (Redis) -> account (PostgreSQL) -> scrypt
 *     (thread pool) -> new session (Redis) -> 200
 *
 * An unknown login goes through the same steps, scrypt included (against
 * no hash), and gets the same answer as a wrong password, so neither the
 * answer nor its timing tells which logins exist.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../core/ngx_http_chantier_thread.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../auth/ngx_http_chantier_password.h"
#include "../auth/ngx_http_chantier_login_limit.h"


#define NGX_HTTP_CHANTIER_LOGIN_MAX        64


typedef struct {
    char                              *login;
    ngx_http_chantier_login_limit_t    limit;
    ngx_str_t                          user_id;
    ngx_str_t                          role;
    ngx_str_t                          user_json;
    ngx_uint_t                         active;
    ngx_http_chantier_password_job_t   job;
} ngx_http_chantier_login_t;


static void ngx_http_chantier_login_counted(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_login_account(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_login_verified(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_login_opened(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_logout_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);


void
ngx_http_chantier_api_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                     *p;
    ngx_http_chantier_json_t   *name, *password;
    ngx_http_chantier_login_t  *login;

    name = ngx_http_chantier_json_get(ctx->json, "login");
    password = ngx_http_chantier_json_get(ctx->json, "password");

    if (name == NULL || password == NULL
        || name->type != NGX_HTTP_CHANTIER_JSON_STRING
        || password->type != NGX_HTTP_CHANTIER_JSON_STRING
        || ctx->json->count != 2)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "Indiquez votre identifiant et votre mot de passe, "
            "et rien d'autre.");
        return;
    }

    if (name->value.len == 0 || name->value.len > NGX_HTTP_CHANTIER_LOGIN_MAX
        || password->value.len == 0
        || password->value.len > CHANTIER_PASSWORD_MAX_LEN)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "L'identifiant (1 à 64 caractères) ou le mot de passe "
            "(1 à 256 octets) n'a pas une longueur valide.");
        return;
    }

    login = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_login_t));
    if (login == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = login;

    login->job.verify = 1;
    login->job.password = ngx_http_chantier_json_cstring(r->pool, password);
    login->job.password_len = password->value.len;

    /* logins are stored lower-case: count failures per account, not spelling */
    login->login = ngx_http_chantier_json_cstring(r->pool, name);

    if (login->job.password == NULL || login->login == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (p = (u_char *) login->login; *p; p++) {
        *p = ngx_tolower(*p);
    }

    ngx_http_chantier_login_limit_count(r, ctx, &login->limit, "login",
                                        login->login,
                                        ngx_http_chantier_login_counted);
}


static void
ngx_http_chantier_login_counted(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char                 *params[1];
    ngx_http_chantier_login_t  *login;

    login = ctx->data;

    params[0] = login->login;

    ngx_http_chantier_login_limit_query(r, &login->limit,
        "select user_id, role, active, password_hash, user_json"
        "  from api.login_lookup($1)",
        params, ngx_http_chantier_login_account);
}


static void
ngx_http_chantier_login_account(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                   stored;
    ngx_http_chantier_ctx_t    *ctx;
    ngx_http_chantier_login_t  *login;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    login = ctx->data;

    if (rc != NGX_OK) {
        ngx_http_chantier_login_limit_cancel(&login->limit);
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    login->job.stored = NULL;

    if (PQntuples(res) == 1) {
        if (ngx_http_chantier_api_value(r, res, 0, &login->user_id)
            != NGX_OK
            || ngx_http_chantier_api_value(r, res, 1, &login->role)
               != NGX_OK
            || ngx_http_chantier_api_value(r, res, 4,
                                            &login->user_json)
               != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        login->active = (PQgetvalue(res, 0, 2)[0] == 't');

        if (!PQgetisnull(res, 0, 3)) {
            if (ngx_http_chantier_api_value(r, res, 3, &stored)
                != NGX_OK)
            {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            login->job.stored = (char *) stored.data;
        }
    }

    /* refused for the queue, the attempt is not checked: given back */
    if (ngx_http_chantier_thread_busy(r)) {
        ngx_http_chantier_login_limit_cancel(&login->limit);
    }

    ngx_http_chantier_thread_post(r, &login->job,
                                  ngx_http_chantier_password_run,
                                  ngx_http_chantier_login_verified);
}


static void
ngx_http_chantier_login_verified(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t           *ctx;
    ngx_http_chantier_login_t         *login;
    ngx_http_chantier_password_job_t  *job = data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    login = ctx->data;

    /* the attempt was counted before the check: it only stops pending */
    if (!job->verified) {
        ngx_http_chantier_login_limit_failure(&login->limit);

        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "bad_credentials",
                                     "Identifiant ou mot de passe incorrect.");
        return;
    }

    if (!login->active) {
        ngx_http_chantier_login_limit_failure(&login->limit);

        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN,
            "account_disabled",
            "Ce compte est désactivé. Contactez CLO pour le réactiver.");
        return;
    }

    ngx_http_chantier_session_create(r, ctx, &login->user_id, &login->role,
                                     ngx_http_chantier_login_opened);
}


static void
ngx_http_chantier_login_opened(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                     *p;
    ngx_str_t                   body;
    ngx_http_chantier_login_t  *login;

    login = ctx->data;

    ngx_http_chantier_login_limit_success(&login->limit);

    body.len = sizeof("{\"user\":,\"csrf_token\":\"\"}") - 1
               + login->user_json.len + ctx->session.csrf_token.len;
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(body.data, "{\"user\":%V,\"csrf_token\":\"%V\"}",
                    &login->user_json, &ctx->session.csrf_token);
    body.len = p - body.data;

    ngx_http_chantier_send(r, NGX_HTTP_OK, &body);
}


void
ngx_http_chantier_api_session_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_session_destroy(r, ctx, ngx_http_chantier_logout_done);
}


static void
ngx_http_chantier_logout_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_send(r, NGX_HTTP_NO_CONTENT, NULL);
}
