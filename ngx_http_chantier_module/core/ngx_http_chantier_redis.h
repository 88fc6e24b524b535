/*
 * The worker's Redis connection: hiredis's asynchronous API on an nginx event
 * adapter, with nginx timers for timeouts (hiredis 0.14 has none) and
 * reconnection with backoff.
 *
 * Exactly one call of the handler follows every NGX_OK return of
 * ngx_http_chantier_redis_command() when r is not NULL: a reply, an error
 * reply, a timeout or a lost connection.
 */

#ifndef _NGX_HTTP_CHANTIER_REDIS_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "../ngx_http_chantier_module.h"
#include "ngx_http_chantier_lua.h"        /* generated: core/lua/embed */


/*
 * rc is
 *   NGX_OK        reply is the server's reply (it may be REDIS_REPLY_ERROR);
 *   NGX_DECLINED  Redis unavailable (not connected, connection lost, or no
 *                 reply within redis_timeout); reply is NULL; the caller
 *                 answers 503 with Retry-After.
 * reply is freed by hiredis after the handler returns: copy what you keep.
 */
typedef void (*ngx_http_chantier_redis_handler_pt)(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);


/*
 * Sends one command (binary-safe argv).  r and handler may be NULL for a
 * command whose reply nobody waits for.  Returns NGX_OK when sent (the
 * handler will run later, never from inside this call), NGX_DECLINED when
 * Redis is not connected right now (no handler call follows), NGX_ERROR on
 * allocation failure.
 */
ngx_int_t ngx_http_chantier_redis_command(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, int argc, const char **argv,
    const size_t *argvlen);

/*
 * Runs the Redis script core/lua/<name>.lua ("script" is its
 * NGX_HTTP_CHANTIER_LUA_<NAME>) with nkeys keys then the script's
 * arguments in args/lens; the rest is ngx_http_chantier_redis_command().
 * The script goes by its SHA-1 (EVALSHA), its source only when Redis does
 * not know it (a restart or SCRIPT FLUSH): that call is then sent once
 * more as EVAL, which caches it again, and the handler sees only that
 * second reply.
 */
ngx_int_t ngx_http_chantier_redis_eval(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args,
    const size_t *lens);

/*
 * Pub/sub: every worker holds one subscriber connection.  on_message gets
 * each message of the subscribed channels; on_subscribed runs with up = 1
 * whenever the subscriptions are (again) in place, so that what was missed
 * while Redis was away can be caught up, and with up = 0 as soon as the
 * connection is lost: from then on messages may be missed.  Publishing is an ordinary command
 * ("PUBLISH", channel, payload) on the command connection.
 */
typedef void (*ngx_http_chantier_redis_message_pt)(ngx_str_t *channel,
    ngx_str_t *payload, void *data);
typedef void (*ngx_http_chantier_redis_subscribed_pt)(void *data,
    ngx_uint_t up);

ngx_int_t ngx_http_chantier_redis_subscribe(ngx_http_chantier_main_conf_t *mcf,
    const char *channel, ngx_http_chantier_redis_message_pt on_message,
    ngx_http_chantier_redis_subscribed_pt on_subscribed, void *data);

/*
 * Reads at once what the subscriber connection holds, and handles its
 * messages, before a decision that a message already sent could change.
 */
void ngx_http_chantier_redis_sub_drain(ngx_http_chantier_main_conf_t *mcf);

ngx_int_t ngx_http_chantier_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);
void ngx_http_chantier_redis_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);

ngx_uint_t ngx_http_chantier_redis_is_up(ngx_http_chantier_main_conf_t *mcf);


#endif /* _NGX_HTTP_CHANTIER_REDIS_H_INCLUDED_ */
