/*
 * GET /health: 200 when PostgreSQL and Redis both answer, otherwise 503
 * naming what is down.  Asked one after the other: the answer waits at
 * most for the two timeouts.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"


static void ngx_http_chantier_health_pg(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_health_redis(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static void ngx_http_chantier_health_answer(ngx_http_request_t *r,
    ngx_uint_t pg_up, ngx_uint_t redis_up);


void
ngx_http_chantier_api_health(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_pg_query(r, "select api.health()", 0, NULL,
                                    ngx_http_chantier_health_pg);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_health_pg(r, NULL, NGX_DECLINED);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_chantier_health_pg(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    size_t                    len[1];
    const char               *argv[1];
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    ctx->step = (rc == NGX_OK);

    argv[0] = "PING";
    len[0] = 4;

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_health_redis,
                                        1, argv, len)
        != NGX_OK)
    {
        ngx_http_chantier_health_answer(r, ctx->step, 0);
    }
}


static void
ngx_http_chantier_health_redis(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    ngx_http_chantier_health_answer(r, ctx->step,
                                    rc == NGX_OK
                                    && reply->type == REDIS_REPLY_STATUS);
}


static void
ngx_http_chantier_health_answer(ngx_http_request_t *r, ngx_uint_t pg_up,
    ngx_uint_t redis_up)
{
    ngx_str_t  body;

    if (pg_up && redis_up) {
        ngx_str_set(&body,
                    "{\"status\":\"ok\",\"postgres\":\"ok\",\"redis\":\"ok\"}");
        ngx_http_chantier_send(r, NGX_HTTP_OK, &body);
        return;
    }

    if (!pg_up && !redis_up) {
        ngx_http_chantier_send_unavailable(r,
                                      NGX_HTTP_CHANTIER_POSTGRES_AND_REDIS);
        return;
    }

    ngx_http_chantier_send_unavailable(r, pg_up ? NGX_HTTP_CHANTIER_REDIS
                                                : NGX_HTTP_CHANTIER_POSTGRES);
}
