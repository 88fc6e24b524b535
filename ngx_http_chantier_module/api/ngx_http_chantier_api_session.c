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
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../core/ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_password_task.h"


#define NGX_HTTP_CHANTIER_LOGIN_MAX        64
#define NGX_HTTP_CHANTIER_FAILS_LOGIN      "5"
#define NGX_HTTP_CHANTIER_FAILS_ADDRESS    "100"
#define NGX_HTTP_CHANTIER_FAILS_WINDOW     "900"


typedef struct {
    char                              *login;
    ngx_str_t                          fails_login;   /* Redis keys */
    ngx_str_t                          fails_address;
    ngx_str_t                          user_id;
    ngx_str_t                          role;
    ngx_str_t                          user_json;
    ngx_uint_t                         active;
    ngx_thread_task_t                 *task;
    ngx_http_chantier_password_job_t  *job;
} ngx_http_chantier_login_t;


static ngx_int_t ngx_http_chantier_login_keys(ngx_http_request_t *r,
    ngx_http_chantier_login_t *login);
static void ngx_http_chantier_login_counted(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static void ngx_http_chantier_login_account(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static ngx_int_t ngx_http_chantier_login_copy(ngx_pool_t *pool,
    PGresult *res, int column, ngx_str_t *out);
static void ngx_http_chantier_login_verified(ngx_http_request_t *r,
    ngx_http_chantier_password_job_t *job);
static void ngx_http_chantier_login_opened(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_logout_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);


/*
 * KEYS attempts of this login, attempts from this address; ARGV their
 * limits and the window.  Every attempt is counted before the password is
 * checked, in one atomic step with the check, so that simultaneous
 * attempts cannot all pass; a success then takes its attempt back
 * (ngx_http_chantier_login_opened).  Returns 0, or the seconds until
 * attempts may resume.
 */
static char  ngx_http_chantier_login_check_lua[] =
    "for i = 1, 2 do\n"
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if n >= tonumber(ARGV[i]) then\n"
    "    local ttl = redis.call('TTL', KEYS[i])\n"
    "    if ttl < 1 then ttl = 1 end\n"
    "    return ttl\n"
    "  end\n"
    "end\n"
    "for i = 1, 2 do\n"
    "  if redis.call('INCR', KEYS[i]) == 1 then\n"
    "    redis.call('EXPIRE', KEYS[i], ARGV[3])\n"
    "  end\n"
    "end\n"
    "return 0\n";

/*
 * KEYS the two counters: a success clears the login's attempts and gives
 * back the address's one, so that an office behind one address is not
 * locked out by its own successful logins.
 */
static char  ngx_http_chantier_login_success_lua[] =
    "redis.call('DEL', KEYS[1])\n"
    "if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then\n"
    "  redis.call('DECR', KEYS[2])\n"
    "end\n"
    "return 1\n";


void
ngx_http_chantier_api_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                     *p;
    size_t                      len[8];
    const char                 *argv[8];
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
            "Indiquez votre identifiant (login) et votre mot de passe "
            "(password), et rien d'autre.");
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

    login->job = ngx_http_chantier_password_job(r, &login->task);
    if (login->job == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    login->job->verify = 1;
    login->job->password = ngx_http_chantier_json_cstring(r->pool, password);
    login->job->password_len = password->value.len;

    /* logins are stored lower-case: count failures per account, not spelling */
    login->login = ngx_http_chantier_json_cstring(r->pool, name);

    if (login->job->password == NULL || login->login == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (p = (u_char *) login->login; *p; p++) {
        *p = ngx_tolower(*p);
    }

    if (ngx_http_chantier_login_keys(r, login) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_login_check_lua;
    argv[2] = "2";
    argv[3] = (char *) login->fails_login.data;
    argv[4] = (char *) login->fails_address.data;
    argv[5] = NGX_HTTP_CHANTIER_FAILS_LOGIN;
    argv[6] = NGX_HTTP_CHANTIER_FAILS_ADDRESS;
    argv[7] = NGX_HTTP_CHANTIER_FAILS_WINDOW;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_login_check_lua) - 1;
    len[2] = 1;
    len[3] = login->fails_login.len;
    len[4] = login->fails_address.len;
    len[5] = sizeof(NGX_HTTP_CHANTIER_FAILS_LOGIN) - 1;
    len[6] = sizeof(NGX_HTTP_CHANTIER_FAILS_ADDRESS) - 1;
    len[7] = sizeof(NGX_HTTP_CHANTIER_FAILS_WINDOW) - 1;

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_login_counted,
                                        8, argv, len)
        != NGX_OK)
    {
        ngx_http_chantier_send_unavailable(r, "redis");
    }
}


static ngx_int_t
ngx_http_chantier_login_keys(ngx_http_request_t *r,
    ngx_http_chantier_login_t *login)
{
    ngx_str_t  *addr;

    addr = &r->connection->addr_text;

    login->fails_login.len = sizeof("chantier:fails:login:") - 1
                             + ngx_strlen(login->login);
    login->fails_login.data = ngx_pnalloc(r->pool,
                                          login->fails_login.len + 1);

    login->fails_address.len = sizeof("chantier:fails:address:") - 1
                               + addr->len;
    login->fails_address.data = ngx_pnalloc(r->pool,
                                            login->fails_address.len + 1);

    if (login->fails_login.data == NULL
        || login->fails_address.data == NULL)
    {
        return NGX_ERROR;
    }

    ngx_sprintf(login->fails_login.data, "chantier:fails:login:%s%Z",
                login->login);
    ngx_sprintf(login->fails_address.data, "chantier:fails:address:%V%Z",
                addr);

    return NGX_OK;
}


static void
ngx_http_chantier_login_counted(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    const char                 *params[1];
    ngx_http_chantier_ctx_t    *ctx;
    ngx_http_chantier_login_t  *login;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    login = ctx->data;

    if (rc != NGX_OK || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    if (reply->integer > 0) {
        ngx_http_chantier_send_too_many(r, (time_t) reply->integer);
        return;
    }

    params[0] = login->login;

    ngx_http_chantier_api_query(r,
        "select user_id, role, active, password_hash, user_json"
        "  from api.login_lookup($1)",
        1, params, ngx_http_chantier_login_account);
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
        ngx_http_chantier_send_pg_result(r, res, rc);
        return;
    }

    login->job->stored = NULL;

    if (PQntuples(res) == 1) {
        if (ngx_http_chantier_login_copy(r->pool, res, 0, &login->user_id)
            != NGX_OK
            || ngx_http_chantier_login_copy(r->pool, res, 1, &login->role)
               != NGX_OK
            || ngx_http_chantier_login_copy(r->pool, res, 4,
                                            &login->user_json)
               != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        login->active = (PQgetvalue(res, 0, 2)[0] == 't');

        if (!PQgetisnull(res, 0, 3)) {
            if (ngx_http_chantier_login_copy(r->pool, res, 3, &stored)
                != NGX_OK)
            {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            login->job->stored = (char *) stored.data;
        }
    }

    if (ngx_http_chantier_password_post(r, login->task,
                                        ngx_http_chantier_login_verified)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* a NUL-terminated copy of a column of the first row */

static ngx_int_t
ngx_http_chantier_login_copy(ngx_pool_t *pool, PGresult *res, int column,
    ngx_str_t *out)
{
    out->len = PQgetlength(res, 0, column);
    out->data = ngx_pnalloc(pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, PQgetvalue(res, 0, column), out->len);
    out->data[out->len] = '\0';

    return NGX_OK;
}


static void
ngx_http_chantier_login_verified(ngx_http_request_t *r,
    ngx_http_chantier_password_job_t *job)
{
    ngx_int_t                   rc;
    ngx_http_chantier_ctx_t    *ctx;
    ngx_http_chantier_login_t  *login;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    login = ctx->data;

    /* the attempt was counted before the check: nothing more to record */
    if (!job->verified) {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "bad_credentials",
                                     "Identifiant ou mot de passe incorrect.");
        return;
    }

    if (!login->active) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN,
            "account_disabled",
            "Ce compte est désactivé. Contactez CLO pour le réactiver.");
        return;
    }

    ctx->next = ngx_http_chantier_login_opened;

    rc = ngx_http_chantier_session_create(r, ctx, &login->user_id,
                                          &login->role);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_chantier_login_opened(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                     *p;
    size_t                      len[5];
    ngx_str_t                   body;
    const char                 *argv[5];
    ngx_http_chantier_login_t  *login;

    login = ctx->data;

    if (ctx->next_rc != NGX_OK) {
        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_login_success_lua;
    argv[2] = "2";
    argv[3] = (char *) login->fails_login.data;
    argv[4] = (char *) login->fails_address.data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_login_success_lua) - 1;
    len[2] = 1;
    len[3] = login->fails_login.len;
    len[4] = login->fails_address.len;

    (void) ngx_http_chantier_redis_command(NULL, NULL, 5, argv, len);

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
    ngx_int_t  rc;

    ctx->next = ngx_http_chantier_logout_done;

    rc = ngx_http_chantier_session_destroy(r, ctx);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_chantier_logout_done(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    if (ctx->next_rc != NGX_OK) {
        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    ngx_http_chantier_send(r, NGX_HTTP_NO_CONTENT, NULL);
}
