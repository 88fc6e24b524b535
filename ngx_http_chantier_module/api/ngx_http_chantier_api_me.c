/*
 * GET /me, PATCH /me and POST /me/password: the logged-in user's account.
 *
 * A password change is:
 *     count the attempt (Redis) -> stored hash (PostgreSQL) -> verify
 *     current + hash new (thread pool) -> store (PostgreSQL) -> end the
 *     user's other sessions (Redis) -> 204
 *
 * The attempt is counted as a login's is (auth/ngx_http_chantier_login_
 * limit.h): a session holder cannot guess the current password faster.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../auth/ngx_http_chantier_password.h"
#include "../core/ngx_http_chantier_thread.h"
#include "../auth/ngx_http_chantier_login_limit.h"


typedef struct {
    ngx_http_chantier_password_job_t  job;
    ngx_http_chantier_login_limit_t   limit;
} ngx_http_chantier_password_change_t;


static void ngx_http_chantier_me_read(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc);
static void ngx_http_chantier_me_send(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *json);
static void ngx_http_chantier_me_patched(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_me_patch_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_me_password_counted(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_me_password_stored(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_me_password_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_me_password_saved(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_me_password_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);


/*
 * GET /me: the session lookup brought the user's cached document when
 * there is one (a Redis round trip and no PostgreSQL); otherwise it is
 * read from PostgreSQL and cached for the next time.
 */

void
ngx_http_chantier_api_me_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[1];

    if (ctx->session.user_json.len) {
        ngx_http_chantier_me_send(r, ctx, &ctx->session.user_json);
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;

    ngx_http_chantier_api_query(r, "select api.me_document($1)",
        1, params, ngx_http_chantier_me_read);
}


static void
ngx_http_chantier_me_read(ngx_http_request_t *r, PGresult *res, ngx_int_t rc)
{
    ngx_str_t                 json;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes plus connecté.");
        return;
    }

    if (ngx_http_chantier_api_value(r, res, 0, &json) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_session_user_store(r, ctx, &json);

    ngx_http_chantier_me_send(r, ctx, &json);
}


/* the user's document with the session's csrf_token added as last member */

static void
ngx_http_chantier_me_send(ngx_http_request_t *r, ngx_http_chantier_ctx_t *ctx,
    ngx_str_t *json)
{
    u_char     *p, *end;
    ngx_str_t   body;

    end = json->data + json->len;

    while (end > json->data && end[-1] != '}') {
        end--;
    }

    if (end == json->data) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    end--;

    body.data = ngx_pnalloc(r->pool, json->len
                                     + sizeof(", \"csrf_token\": \"\"}") - 1
                                     + ctx->session.csrf_token.len);
    if (body.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(body.data, json->data, end - json->data);
    p = ngx_sprintf(p, ", \"csrf_token\": \"%V\"}", &ctx->session.csrf_token);

    body.len = p - body.data;

    ngx_http_chantier_send(r, NGX_HTTP_OK, &body);
}


/*
 * PATCH /me: the change, then the user's cached document is dropped
 * before answering, so that whatever worker serves the next GET me reads
 * the new one.
 */

void
ngx_http_chantier_api_me_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[3];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->session.csrf_token.data;
    params[2] = ngx_http_chantier_cstring(r->pool, &ctx->body);

    if (params[2] == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_api_query(r,
        "select status, body from api.me_patch($1, $2, $3::jsonb)",
        3, params, ngx_http_chantier_me_patched);
}


static void
ngx_http_chantier_me_patched(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                *answer;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (ngx_http_chantier_api_status(res, rc) != NGX_HTTP_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    answer = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (answer == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_chantier_api_value(r, res, 1, answer) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = answer;

    ngx_http_chantier_session_user_changed(r, ctx, &ctx->session.user_id_text,
                                           ngx_http_chantier_me_patch_done);
}


static void
ngx_http_chantier_me_patch_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_send(r, NGX_HTTP_OK, ctx->data);
}


void
ngx_http_chantier_api_me_password(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t                             rc;
    ngx_http_chantier_json_t             *current, *member;
    ngx_http_chantier_password_job_t     *job;
    ngx_http_chantier_password_change_t  *change;

    for (member = ctx->json->child; member; member = member->next) {
        if ((member->key.len != sizeof("current_password") - 1
             || ngx_strncmp(member->key.data, "current_password",
                            member->key.len) != 0)
            && (member->key.len != sizeof("new_password") - 1
                || ngx_strncmp(member->key.data, "new_password",
                               member->key.len) != 0))
        {
            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                "unknown_field",
                "Seuls current_password et new_password sont attendus.");
            return;
        }
    }

    current = ngx_http_chantier_json_get(ctx->json, "current_password");

    if (current == NULL || current->type != NGX_HTTP_CHANTIER_JSON_STRING
        || current->value.len > CHANTIER_PASSWORD_MAX_LEN)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field", "Indiquez votre mot de passe actuel.");
        return;
    }

    change = ngx_pcalloc(r->pool,
                         sizeof(ngx_http_chantier_password_change_t));
    if (change == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->data = change;
    job = &change->job;

    rc = ngx_http_chantier_api_new_password(r, ctx, "new_password",
                                            &job->new_password,
                                            &job->new_password_len);
    if (rc == NGX_ERROR) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field", "Indiquez le nouveau mot de passe.");
        return;
    }

    job->verify = 1;
    job->password = ngx_http_chantier_json_cstring(r->pool, current);
    job->password_len = current->value.len;

    if (job->password == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_login_limit_count(r, ctx, &change->limit, "password",
                                        (char *) ctx->session.user_id_text.data,
                                        ngx_http_chantier_me_password_counted);
}


static void
ngx_http_chantier_me_password_counted(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char                           *params[1];
    ngx_http_chantier_password_change_t  *change;

    change = ctx->data;

    params[0] = (char *) ctx->session.user_id_text.data;

    ngx_http_chantier_login_limit_query(r, &change->limit,
        "select password_hash from api.user_password_hash($1)",
        params, ngx_http_chantier_me_password_stored);
}


static void
ngx_http_chantier_me_password_stored(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                             stored;
    ngx_http_chantier_ctx_t              *ctx;
    ngx_http_chantier_password_change_t  *change;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    change = ctx->data;

    if (rc != NGX_OK) {
        ngx_http_chantier_login_limit_cancel(&change->limit);
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes pas connecté.");
        return;
    }

    if (ngx_http_chantier_api_value(r, res, 0, &stored) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    change->job.stored = (char *) stored.data;

    /* refused for the queue, the attempt is not checked: given back */
    if (ngx_http_chantier_thread_busy(r)) {
        ngx_http_chantier_login_limit_cancel(&change->limit);
    }

    ngx_http_chantier_thread_post(r, &change->job,
                                  ngx_http_chantier_password_run,
                                  ngx_http_chantier_me_password_checked);
}


static void
ngx_http_chantier_me_password_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    const char                           *params[2];
    ngx_http_chantier_ctx_t              *ctx;
    ngx_http_chantier_password_job_t     *job = data;
    ngx_http_chantier_password_change_t  *change;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    change = ctx->data;

    /* a wrong guess stays counted */
    if (!job->verified) {
        ngx_http_chantier_login_limit_failure(&change->limit);

        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "wrong_password",
            "Le mot de passe actuel est incorrect.");
        return;
    }

    ngx_http_chantier_login_limit_success(&change->limit);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = job->new_hash;

    ngx_http_chantier_api_query(r,
        "select status, body from api.user_password_set($1, $2)",
        2, params, ngx_http_chantier_me_password_saved);
}


/*
 * The password is changed; then the other sessions end.  Should Redis fail
 * now, the answer is a 503 rather than a pretence that all went well.
 */

static void
ngx_http_chantier_me_password_saved(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    /* the account gone meanwhile (404), say: its answer, no session ends */
    if (ngx_http_chantier_api_status(res, rc) != NGX_HTTP_NO_CONTENT) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    ngx_http_chantier_session_end_others(r, ctx, &ctx->session.user_id_text,
                                         &ctx->session.token_hash,
                                         ngx_http_chantier_me_password_done);
}


static void
ngx_http_chantier_me_password_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_send(r, NGX_HTTP_NO_CONTENT, NULL);
}
