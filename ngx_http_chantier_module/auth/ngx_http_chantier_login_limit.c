/*
 * Login limits.  Every attempt is counted before the password is checked,
 * in one atomic step with the check, so that simultaneous attempts cannot
 * all pass; a success then takes its attempt back.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_login_limit.h"
#include "ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"


#define NGX_HTTP_CHANTIER_FAILS_LOGIN      "5"
#define NGX_HTTP_CHANTIER_FAILS_ADDRESS    "100"
#define NGX_HTTP_CHANTIER_FAILS_WINDOW     "900"


static void ngx_http_chantier_login_limit_counted(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);


void
ngx_http_chantier_login_limit_count(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_login_limit_t *limit,
    const char *what, const char *account, ngx_http_chantier_handler_pt next)
{
    size_t       lens[5];
    ngx_str_t   *addr;
    const char  *args[5];

    addr = &r->connection->addr_text;

    limit->login_key.len = sizeof("chantier:fails::") - 1 + ngx_strlen(what)
                           + ngx_strlen(account);
    limit->login_key.data = ngx_pnalloc(r->pool, limit->login_key.len);

    limit->address_key.len = sizeof("chantier:fails:address:") - 1
                             + addr->len;
    limit->address_key.data = ngx_pnalloc(r->pool, limit->address_key.len);

    if (limit->login_key.data == NULL || limit->address_key.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_sprintf(limit->login_key.data, "chantier:fails:%s:%s", what, account);
    ngx_sprintf(limit->address_key.data, "chantier:fails:address:%V", addr);

    args[0] = (char *) limit->login_key.data;
    args[1] = (char *) limit->address_key.data;
    args[2] = NGX_HTTP_CHANTIER_FAILS_LOGIN;
    args[3] = NGX_HTTP_CHANTIER_FAILS_ADDRESS;
    args[4] = NGX_HTTP_CHANTIER_FAILS_WINDOW;

    lens[0] = limit->login_key.len;
    lens[1] = limit->address_key.len;
    lens[2] = sizeof(NGX_HTTP_CHANTIER_FAILS_LOGIN) - 1;
    lens[3] = sizeof(NGX_HTTP_CHANTIER_FAILS_ADDRESS) - 1;
    lens[4] = sizeof(NGX_HTTP_CHANTIER_FAILS_WINDOW) - 1;

    ctx->next = next;

    ngx_http_chantier_session_script(r, ngx_http_chantier_login_limit_counted,
                                     NGX_HTTP_CHANTIER_LUA_LOGIN_CHECK,
                                     2, 5, args, lens);
}


static void
ngx_http_chantier_login_limit_counted(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_REDIS);
        return;
    }

    if (reply->integer > 0) {
        ngx_http_chantier_send_too_many(r, (time_t) reply->integer);
        return;
    }

    ctx->next(r, ctx);
}


void
ngx_http_chantier_login_limit_success(ngx_http_chantier_login_limit_t *limit)
{
    size_t       lens[2];
    const char  *args[2];

    args[0] = (char *) limit->login_key.data;
    args[1] = (char *) limit->address_key.data;

    lens[0] = limit->login_key.len;
    lens[1] = limit->address_key.len;

    (void) ngx_http_chantier_redis_eval(NULL, NULL,
                                        NGX_HTTP_CHANTIER_LUA_LOGIN_SUCCESS,
                                        2, 2, args, lens);
}
