/*
 * Login limits.  Every attempt is counted before the password is checked,
 * in one atomic step with the check, so that simultaneous attempts cannot
 * all pass; a success then takes its attempt back.
 *
 * Attempts in flight count as failures until their check is done.  So
 * that several correct logins of one account sent at once (a team on one
 * account, a page opened in many tabs) do not get 429 for the attempts of
 * each other, an attempt that finds the limit reached only by pending
 * attempts waits and asks again (NGX_HTTP_CHANTIER_LOGIN_WAIT ms, a few
 * times): once they are checked, either they succeeded and gave their
 * attempts back, or they failed and the limit stands.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_login_limit.h"
#include "ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_pg.h"


#define NGX_HTTP_CHANTIER_FAILS_LOGIN      "5"
#define NGX_HTTP_CHANTIER_FAILS_ADDRESS    "100"
#define NGX_HTTP_CHANTIER_FAILS_WINDOW     "900"

/* how long and how often an attempt waits for the pending ones */
#define NGX_HTTP_CHANTIER_LOGIN_WAIT       100
#define NGX_HTTP_CHANTIER_LOGIN_WAITS      50


static ngx_int_t ngx_http_chantier_login_limit_key(ngx_pool_t *pool,
    ngx_str_t *key, const char *kind, const char *what,
    const char *account);
static void ngx_http_chantier_login_limit_ask(ngx_http_request_t *r,
    ngx_http_chantier_login_limit_t *limit);
static void ngx_http_chantier_login_limit_counted(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static void ngx_http_chantier_login_limit_again(ngx_event_t *ev);
static void ngx_http_chantier_login_limit_cleanup(void *data);
static void ngx_http_chantier_login_limit_done(
    ngx_http_chantier_login_limit_t *limit, ngx_http_chantier_lua_e script);


void
ngx_http_chantier_login_limit_count(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_login_limit_t *limit,
    const char *what, const char *account, ngx_http_chantier_handler_pt next)
{
    ngx_str_t           *addr;
    ngx_pool_cleanup_t  *cln;

    addr = &r->connection->addr_text;

    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (cln == NULL
        || ngx_http_chantier_login_limit_key(r->pool, &limit->login_key,
                                             "fails", what, account)
           != NGX_OK
        || ngx_http_chantier_login_limit_key(r->pool, &limit->pending_key,
                                             "pending", what, account)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    limit->address_key.len = sizeof("chantier:fails:address:") - 1
                             + addr->len;
    limit->address_key.data = ngx_pnalloc(r->pool, limit->address_key.len);
    if (limit->address_key.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_sprintf(limit->address_key.data, "chantier:fails:address:%V", addr);

    limit->request = r;
    limit->again.handler = ngx_http_chantier_login_limit_again;
    limit->again.data = limit;
    limit->again.log = r->connection->log;

    cln->handler = ngx_http_chantier_login_limit_cleanup;
    cln->data = limit;

    ctx->next = next;
    ctx->limit = limit;

    ngx_http_chantier_login_limit_ask(r, limit);
}


/* chantier:<kind>:<what>:<account> */

static ngx_int_t
ngx_http_chantier_login_limit_key(ngx_pool_t *pool, ngx_str_t *key,
    const char *kind, const char *what, const char *account)
{
    key->len = sizeof("chantier:::") - 1 + ngx_strlen(kind)
               + ngx_strlen(what) + ngx_strlen(account);
    key->data = ngx_pnalloc(pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(key->data, "chantier:%s:%s:%s", kind, what, account);

    return NGX_OK;
}


static void
ngx_http_chantier_login_limit_ask(ngx_http_request_t *r,
    ngx_http_chantier_login_limit_t *limit)
{
    size_t       lens[6];
    const char  *args[6];

    args[0] = (char *) limit->login_key.data;
    args[1] = (char *) limit->address_key.data;
    args[2] = (char *) limit->pending_key.data;
    args[3] = NGX_HTTP_CHANTIER_FAILS_LOGIN;
    args[4] = NGX_HTTP_CHANTIER_FAILS_ADDRESS;
    args[5] = NGX_HTTP_CHANTIER_FAILS_WINDOW;

    lens[0] = limit->login_key.len;
    lens[1] = limit->address_key.len;
    lens[2] = limit->pending_key.len;
    lens[3] = sizeof(NGX_HTTP_CHANTIER_FAILS_LOGIN) - 1;
    lens[4] = sizeof(NGX_HTTP_CHANTIER_FAILS_ADDRESS) - 1;
    lens[5] = sizeof(NGX_HTTP_CHANTIER_FAILS_WINDOW) - 1;

    ngx_http_chantier_session_script(r, ngx_http_chantier_login_limit_counted,
                                     NGX_HTTP_CHANTIER_LUA_LOGIN_CHECK,
                                     3, 6, args, lens);
}


static void
ngx_http_chantier_login_limit_counted(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc)
{
    ngx_http_chantier_ctx_t          *ctx;
    ngx_http_chantier_login_limit_t  *limit;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    limit = ctx->limit;

    if (rc != NGX_OK || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_REDIS);
        return;
    }

    if (reply->integer < 0) {

        if (limit->waits++ < NGX_HTTP_CHANTIER_LOGIN_WAITS) {
            /* not cancelable: a graceful exit waits for the answer */
            ngx_add_timer(&limit->again, NGX_HTTP_CHANTIER_LOGIN_WAIT);
            return;
        }

        ngx_http_chantier_send_too_many(r, 1);
        return;
    }

    if (reply->integer > 0) {
        ngx_http_chantier_send_too_many(r, (time_t) reply->integer);
        return;
    }

    limit->counted = 1;

    ctx->next(r, ctx);
}


static void
ngx_http_chantier_login_limit_again(ngx_event_t *ev)
{
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_chantier_login_limit_t  *limit = ev->data;

    r = limit->request;
    c = r->connection;

    ngx_http_chantier_login_limit_ask(r, limit);

    ngx_http_run_posted_requests(c);
}


/* a request freed while it waits takes its timer with it */

static void
ngx_http_chantier_login_limit_cleanup(void *data)
{
    ngx_http_chantier_login_limit_t *limit = data;

    if (limit->again.timer_set) {
        ngx_del_timer(&limit->again);
    }
}


void
ngx_http_chantier_login_limit_success(ngx_http_chantier_login_limit_t *limit)
{
    ngx_http_chantier_login_limit_done(limit,
                                       NGX_HTTP_CHANTIER_LUA_LOGIN_SUCCESS);
}


void
ngx_http_chantier_login_limit_cancel(ngx_http_chantier_login_limit_t *limit)
{
    ngx_http_chantier_login_limit_done(limit,
                                       NGX_HTTP_CHANTIER_LUA_LOGIN_CANCEL);
}


void
ngx_http_chantier_login_limit_failure(ngx_http_chantier_login_limit_t *limit)
{
    size_t       lens[1];
    const char  *args[1];

    if (!limit->counted) {
        return;
    }

    args[0] = (char *) limit->pending_key.data;
    lens[0] = limit->pending_key.len;

    (void) ngx_http_chantier_redis_eval(NULL, NULL,
                                        NGX_HTTP_CHANTIER_LUA_LOGIN_FAILURE,
                                        1, 1, args, lens);
}


/* login_success.lua or login_cancel.lua: the three keys, not awaited */

static void
ngx_http_chantier_login_limit_done(ngx_http_chantier_login_limit_t *limit,
    ngx_http_chantier_lua_e script)
{
    size_t       lens[3];
    const char  *args[3];

    if (!limit->counted) {
        return;
    }

    args[0] = (char *) limit->login_key.data;
    args[1] = (char *) limit->address_key.data;
    args[2] = (char *) limit->pending_key.data;

    lens[0] = limit->login_key.len;
    lens[1] = limit->address_key.len;
    lens[2] = limit->pending_key.len;

    (void) ngx_http_chantier_redis_eval(NULL, NULL, script, 3, 3, args, lens);
}


void
ngx_http_chantier_login_limit_query(ngx_http_request_t *r,
    ngx_http_chantier_login_limit_t *limit, const char *sql,
    const char *const *params, ngx_http_chantier_pg_handler_pt handler)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_pg_query(r, sql, 1, params, handler);

    if (rc == NGX_OK) {
        return;
    }

    /* not sent: the attempt is given back, it will not be checked */
    ngx_http_chantier_login_limit_cancel(limit);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_POSTGRES);
        return;
    }

    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}
