/*
 * Admin endpoints: accounts and chantiers.  The SQL functions validate the
 * fields; here we only hash passwords (thread pool), drop the cached
 * document of a changed account, and end the sessions of an account whose
 * password was reset, whose role changed or that was deactivated.
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
#include "../live/ngx_http_chantier_live.h"




typedef struct {
    char                              *body;        /* the JSON, for SQL */
    char                              *user_id;     /* PATCH only */
    ngx_uint_t                         ends_sessions;
    ngx_http_chantier_password_job_t   job;
} ngx_http_chantier_admin_user_t;


static ngx_http_chantier_admin_user_t *ngx_http_chantier_admin_user(
    ngx_http_request_t *r, ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_admin_user_hashed(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_admin_user_save(ngx_http_request_t *r,
    ngx_http_chantier_admin_user_t *user);
static void ngx_http_chantier_admin_user_saved(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_admin_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_admin_user_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_admin_chantier(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, const char *sql, ngx_uint_t with_id);
static void ngx_http_chantier_admin_chantier_patched(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);


void
ngx_http_chantier_api_admin_user_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_http_chantier_admin_user_t  *user;

    user = ngx_http_chantier_admin_user(r, ctx);
    if (user == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_chantier_api_new_password(r, ctx, "password",
                                            &user->job.new_password,
                                            &user->job.new_password_len);
    if (rc == NGX_ERROR) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field", "Le mot de passe est obligatoire.");
        return;
    }

    ngx_http_chantier_thread_post(r, &user->job,
                                  ngx_http_chantier_password_run,
                                  ngx_http_chantier_admin_user_hashed);
}


void
ngx_http_chantier_api_admin_user_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_http_chantier_json_t        *active;
    ngx_http_chantier_admin_user_t  *user;

    user = ngx_http_chantier_admin_user(r, ctx);
    if (user == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    user->user_id = (char *) ctx->id[0].data;

    /*
     * A session carries the role it was opened with: a new role, like a
     * deactivation, ends the user's sessions so that the next login sees
     * it.
     */
    active = ngx_http_chantier_json_get(ctx->json, "active");
    if ((active != NULL && active->type == NGX_HTTP_CHANTIER_JSON_FALSE)
        || ngx_http_chantier_json_get(ctx->json, "role") != NULL)
    {
        user->ends_sessions = 1;
    }

    rc = ngx_http_chantier_api_new_password(r, ctx, "password",
                                            &user->job.new_password,
                                            &user->job.new_password_len);
    if (rc == NGX_ERROR) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_admin_user_save(r, user);
        return;
    }

    user->ends_sessions = 1;

    ngx_http_chantier_thread_post(r, &user->job,
                                  ngx_http_chantier_password_run,
                                  ngx_http_chantier_admin_user_hashed);
}


static ngx_http_chantier_admin_user_t *
ngx_http_chantier_admin_user(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_admin_user_t  *user;

    user = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_admin_user_t));
    if (user == NULL) {
        return NULL;
    }

    ctx->data = user;

    return user;
}


/* data is the user's job; the user is the request's */

static void
ngx_http_chantier_admin_user_hashed(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_admin_user_save(r, ctx->data);
}


/*
 * The fields go to SQL as the JSON they came in, but for the password:
 * only its hash leaves the worker, so that no statement log or monitoring
 * of PostgreSQL ever shows a password in clear.
 */

static void
ngx_http_chantier_admin_user_save(ngx_http_request_t *r,
    ngx_http_chantier_admin_user_t *user)
{
    ngx_str_t                 fields;
    const char               *params[4], *hash;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    (void) ngx_http_chantier_json_remove(ctx->json, "password");

    if (ngx_http_chantier_json_print(r->pool, ctx->json, &fields) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    user->body = (char *) fields.data;
    hash = user->job.new_password ? user->job.new_hash : NULL;

    /* the administrator acting, for the audit log */
    params[0] = (char *) ctx->session.user_id_text.data;

    if (user->user_id == NULL) {
        params[1] = user->body;
        params[2] = hash;

        ngx_http_chantier_api_query(r,
            "select status, body"
            "  from api.admin_user_create($1, $2::jsonb, $3)",
            3, params, ngx_http_chantier_admin_user_saved);
        return;
    }

    params[1] = user->user_id;
    params[2] = user->body;
    params[3] = hash;

    ngx_http_chantier_api_query(r,
        "select status, body"
        "  from api.admin_user_patch($1, $2, $3::jsonb, $4)",
        4, params, ngx_http_chantier_admin_user_saved);
}


static void
ngx_http_chantier_admin_user_saved(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_str_t                        id;
    ngx_http_chantier_ctx_t         *ctx;
    ngx_http_chantier_admin_user_t  *user;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    user = ctx->data;

    if (user->user_id == NULL
        || ngx_http_chantier_api_status(res, rc) != NGX_HTTP_OK)
    {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    /* keep the answer: res is gone once this handler returns */
    if (ngx_http_chantier_api_keep_answer(r, res, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    id.data = (u_char *) user->user_id;
    id.len = ngx_strlen(user->user_id);

    ngx_http_chantier_session_user_changed(r, ctx, &id,
        ngx_http_chantier_admin_user_changed);
}


/* the user's cached document is gone; now their sessions, when needed */

static void
ngx_http_chantier_admin_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_str_t                        keep, id;
    ngx_http_chantier_admin_user_t  *user;

    user = ctx->data;

    if (!user->ends_sessions) {
        ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
        return;
    }

    ngx_str_set(&keep, "");

    id.data = (u_char *) user->user_id;
    id.len = ngx_strlen(user->user_id);

    ngx_http_chantier_session_end_others(r, ctx, &id, &keep,
                                         ngx_http_chantier_admin_user_done);
}


static void
ngx_http_chantier_admin_user_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
}


void
ngx_http_chantier_api_admin_users_search(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    q;
    const char  *params[1];

    rc = ngx_http_chantier_api_arg(r, "q", &q);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&q, "");
    }

    if (rc == NGX_ABORT || q.len > NGX_HTTP_CHANTIER_SEARCH_MAX) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "La recherche doit être un texte de 100 octets au plus.");
        return;
    }

    params[0] = (char *) q.data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.admin_users_search($1)", 1, params);
}


void
ngx_http_chantier_api_admin_chantier_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_admin_chantier(r, ctx,
        "select status, body from api.admin_chantier_create($2, $1::jsonb)",
        0);
}


void
ngx_http_chantier_api_admin_chantier_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_http_chantier_admin_chantier(r, ctx,
        "select status, body"
        "  from api.admin_chantier_patch($2, $3, $1::jsonb)", 1);
}


/*
 * A chantier changed (its client among what may): the streams of its
 * fiche, on every node, end and reconnect through the access check, and
 * catch up with the header's new version.
 */

static void
ngx_http_chantier_admin_chantier_patched(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    /* answered once the other nodes heard it (live/..._known.c) */
    if (ngx_http_chantier_api_status(res, rc) == NGX_HTTP_OK
        && ngx_http_chantier_api_keep_answer(r, res, ctx) == NGX_OK)
    {
        if (ngx_http_chantier_live_announce(r,
                ngx_atoof(ctx->id[0].data, ctx->id[0].len),
                NGX_HTTP_CHANTIER_LIVE_ACCESS,
                ngx_http_chantier_api_send_kept)
            != NGX_OK)
        {
            ngx_http_chantier_send(r, ctx->answer_status, &ctx->answer);
        }

        return;
    }

    ngx_http_chantier_api_send_result(r, res, rc);
}


static void
ngx_http_chantier_admin_chantier(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, const char *sql, ngx_uint_t with_id)
{
    const char  *params[3];

    /* $1 the body, $2 the administrator acting, $3 the chantier edited */
    params[0] = ngx_http_chantier_cstring(r->pool, &ctx->body);
    params[1] = (char *) ctx->session.user_id_text.data;
    params[2] = with_id ? (char *) ctx->id[0].data : NULL;

    if (params[0] == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (with_id) {
        ngx_http_chantier_api_query(r, sql, 3, params,
                                    ngx_http_chantier_admin_chantier_patched);
        return;
    }

    ngx_http_chantier_api_answer_sql(r, sql, 2, params);
}


/* the notifications in one state: dead letters by default */

void
ngx_http_chantier_api_admin_notifications(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    state;
    const char  *params[1];

    rc = ngx_http_chantier_api_arg(r, "state", &state);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&state, "dead");
    }

    params[0] = (rc == NGX_ABORT) ? NULL : (char *) state.data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.admin_notifications($1)", 1, params);
}


/* "Renvoyer": the notifier gets the id again once the change is committed */

void
ngx_http_chantier_api_admin_notification_retry(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[1];

    params[0] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version, notification_ids"
        "  from api.admin_notification_retry($1)", 1, params);
}


/* the audit log: GET /admin/audit?limit=N, the latest N actions (50) */

void
ngx_http_chantier_api_admin_audit(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc, limit;
    ngx_str_t    arg;
    const char  *params[1];

    rc = ngx_http_chantier_api_arg(r, "limit", &arg);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    limit = (rc == NGX_OK) ? ngx_atoi(arg.data, arg.len) : 50;

    if (rc == NGX_ABORT || limit < 1 || limit > 500) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "Le nombre d'entrées demandé va de 1 à 500.");
        return;
    }

    params[0] = (rc == NGX_OK) ? (char *) arg.data : "50";

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.admin_audit($1)", 1, params);
}
