/*
 * Limits on guessing a password: 5 failed attempts per account, or 100 per
 * client address, within 15 minutes, then 429 until the oldest attempts
 * are forgotten.  They count logins (chantier:fails:login:<login>) and the
 * current password a password change must give
 * (chantier:fails:password:<user id>), with chantier:fails:address:<ip>
 * shared by both (core/lua/login_check.lua, login_success.lua).
 */

#ifndef _NGX_HTTP_CHANTIER_LOGIN_LIMIT_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_LOGIN_LIMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"
#include "../core/ngx_http_chantier_pg.h"


typedef struct {
    ngx_str_t                     login_key;      /* the account's */
    ngx_str_t                     address_key;
    ngx_str_t                     pending_key;    /* attempts in flight */
    ngx_http_request_t           *request;
    ngx_event_t                   again;          /* waits for pending */
    ngx_uint_t                    waits;
    ngx_uint_t                    counted;        /* unsigned:1 */
} ngx_http_chantier_login_limit_t;


/*
 * Counts an attempt on "account" (a lower-case login for "login", a user
 * id for "password"; NUL-terminated) from the request's address, then
 * next; or answers 429 with Retry-After when the attempts are used up, 503
 * when Redis does not answer.
 */
void ngx_http_chantier_login_limit_count(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_login_limit_t *limit,
    const char *what, const char *account, ngx_http_chantier_handler_pt next);

/*
 * The check of a counted attempt is done: a success takes back what it was
 * counted, a failure stays counted; neither is awaited.
 */
void ngx_http_chantier_login_limit_success(
    ngx_http_chantier_login_limit_t *limit);
void ngx_http_chantier_login_limit_failure(
    ngx_http_chantier_login_limit_t *limit);

/* an attempt that could not be checked (503) is given back */
void ngx_http_chantier_login_limit_cancel(
    ngx_http_chantier_login_limit_t *limit);

/*
 * Sends the query of the stored hash, which the check of a counted attempt
 * needs (one parameter); when it cannot be sent, the attempt is given back
 * and the request answered (503, 500).
 */
void ngx_http_chantier_login_limit_query(ngx_http_request_t *r,
    ngx_http_chantier_login_limit_t *limit, const char *sql,
    const char *const *params, ngx_http_chantier_pg_handler_pt handler);


#endif /* _NGX_HTTP_CHANTIER_LOGIN_LIMIT_H_INCLUDED_ */
