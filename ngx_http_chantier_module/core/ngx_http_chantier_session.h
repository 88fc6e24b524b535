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


/*
 * Finds the session of the request's cookie.  On success fills ctx->session,
 * sets ctx->authenticated and calls ctx->next; otherwise answers 401 or 503
 * itself.
 */
void ngx_http_chantier_session_authenticate(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* NGX_OK when the X-CSRF-Token header equals the session's token */
ngx_int_t ngx_http_chantier_session_check_csrf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/*
 * Opens a session for user_id/role, ending the one the request came with
 * if any (a login renews the session id).  Sets the cookie, fills
 * ctx->session, then calls ctx->next with ctx->next_rc NGX_OK, or
 * NGX_DECLINED when Redis failed.
 */
ngx_int_t ngx_http_chantier_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *role);

/* ends the request's session and clears the cookie; then ctx->next */
ngx_int_t ngx_http_chantier_session_destroy(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/*
 * Ends every session of user_id except "keep" (a session key, or an empty
 * string to end them all); then ctx->next.
 */
ngx_int_t ngx_http_chantier_session_end_others(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *keep);


/*
 * The user's document (GET me) is cached in Redis beside the sessions.
 * user_store() keeps json for the request's user unless the user changed
 * since the session was read (no answer awaited); user_changed() marks a
 * change of user_id, then ctx->next: await it before answering, so that
 * the next GET me, on any worker, sees the change.
 */
ngx_int_t ngx_http_chantier_session_user_store(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *json);
ngx_int_t ngx_http_chantier_session_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id);


#endif /* _NGX_HTTP_CHANTIER_SESSION_H_INCLUDED_ */
