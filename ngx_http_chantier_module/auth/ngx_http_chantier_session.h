/*
 * Sessions live in Redis.  The browser holds a 256-bit random token in the
 * chantier_session cookie; Redis holds only its SHA-256 under
 * "chantier:session:<hex>", a hash of user_id, role, csrf and created, with
 * an idle expiry that never outlasts the absolute lifetime.  The set
 * "chantier:user:<id>:sessions" lists a user's sessions so they can all be
 * ended (password change, deactivation).
 */

#ifndef _NGX_HTTP_CHANTIER_SESSION_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"
#include "../core/ngx_http_chantier_redis.h"


/*
 * Every operation below ends one of two ways: it calls "next" (success), or
 * it answers the request itself: 503 with Retry-After when Redis does not
 * answer, 401 for an unusable session, 500 when memory runs out.  The
 * handler that called it only continues.
 */

/* the session of the request's cookie: fills ctx->session, then next */
void ngx_http_chantier_session_authenticate(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next);

/* NGX_OK when the X-CSRF-Token header equals the session's token */
ngx_int_t ngx_http_chantier_session_check_csrf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/*
 * Opens a session for user_id with role (as PostgreSQL names it), ending
 * the one the request came with if any (a login renews the session id);
 * sets the cookie and fills ctx->session, then next.
 */
void ngx_http_chantier_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *role,
    ngx_http_chantier_handler_pt next);

/* ends the request's session and clears the cookie, then next */
void ngx_http_chantier_session_destroy(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next);

/*
 * Ends every session of user_id except "keep" (a session key, or an empty
 * string to end them all), then next.
 */
void ngx_http_chantier_session_end_others(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *keep,
    ngx_http_chantier_handler_pt next);


/*
 * The user's document (GET me) is cached in Redis beside the sessions.
 * user_store() keeps json for the request's user unless the user changed
 * since the session was read; nothing is awaited, and a document not
 * stored is only read again next time.  user_changed() marks a change of
 * user_id, then next: it is awaited before answering, so that the next
 * GET me, on any worker, sees the change.
 */
void ngx_http_chantier_session_user_store(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *json);
void ngx_http_chantier_session_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id,
    ngx_http_chantier_handler_pt next);


/*
 * Runs a Redis script for the request, as the operations above do: the
 * handler follows, or the 503 or 500 is answered here.
 */
void ngx_http_chantier_session_script(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args, const size_t *lens);


/* the role as SQL takes it: "client", "employee" or "admin" */
const char *ngx_http_chantier_session_role_name(
    ngx_http_chantier_role_e role);


#endif /* _NGX_HTTP_CHANTIER_SESSION_H_INCLUDED_ */
