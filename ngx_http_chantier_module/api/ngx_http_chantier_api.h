/*
 * The API's resources, one file each.  Every handler runs with the body read,
 * the session checked and the JSON body parsed (see the route table in
 * ngx_http_chantier_router.c), and ends with an ngx_http_chantier_send*().
 */

#ifndef _NGX_HTTP_CHANTIER_API_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_redis.h"


/* the longest search text of GET fiches?chantier= and admin/users?q= */
#define NGX_HTTP_CHANTIER_SEARCH_MAX  100


/* api/ngx_http_chantier_api_session.c */
void ngx_http_chantier_api_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_session_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_me.c */
void ngx_http_chantier_api_me_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_me_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_me_password(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_fiches.c */
void ngx_http_chantier_api_fiches_list(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_fiche_seen(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_fiche_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_events.c */
void ngx_http_chantier_api_fiche_events(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_posts.c */
void ngx_http_chantier_api_post_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_post_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_post_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_comments.c */
void ngx_http_chantier_api_comment_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_comments_unanswered(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_comment_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_admin.c */
void ngx_http_chantier_api_admin_user_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_users_search(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_user_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_chantier_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_chantier_patch(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_audit(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_notifications(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_notification_retry(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_pdf.c */
void ngx_http_chantier_api_fiche_pdf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_photos.c */
void ngx_http_chantier_api_photo_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_photo_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/* api/ngx_http_chantier_api_health.c */
void ngx_http_chantier_api_admin_contract_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_contracts(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_admin_contract_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_contracts_list(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_contract_file(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_site(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_health(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);


/*
 * Sends a query whose handler continues the request; when it cannot be
 * sent, answers 503 (PostgreSQL down) or 500 itself.
 */
void ngx_http_chantier_api_query(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params,
    ngx_http_chantier_pg_handler_pt handler);

/* the same with binary values or results (ngx_http_chantier_pg_query_binary) */
void ngx_http_chantier_api_query_binary(ngx_http_request_t *r,
    const char *sql, int nparams, const char *const *params,
    const size_t *lengths, ngx_uint_t binary_result,
    ngx_http_chantier_pg_handler_pt handler);

/*
 * In the handler of a binary query: NGX_OK when res is a result to read;
 * otherwise the request is answered (503 when PostgreSQL is away, 500 for
 * an error, logged with what names the query) and NGX_DONE returned.
 */
ngx_int_t ngx_http_chantier_api_binary_result(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc, const char *what);

/*
 * The answer to a PostgreSQL result of the form "select status, body from
 * api.something(...)", or to a failure of that query.
 */
void ngx_http_chantier_api_send_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc);

/*
 * Shared by the handlers: run "select status, body from <sql>" and answer
 * with its row (ngx_http_chantier_api_send_result).
 */
void ngx_http_chantier_api_answer_sql(ngx_http_request_t *r,
    const char *sql, int nparams, const char *const *params);

/*
 * The same for a change of a fiche: "select status, body, fiche_id,
 * fiche_version[, notification_ids] from api.<mutation>(...)".  The new
 * version is what live updates announce; the notifications the change
 * wrote go to the notifier's queue (notify/).
 */
void ngx_http_chantier_api_answer_mutation(ngx_http_request_t *r,
    const char *sql, int nparams, const char *const *params);

/*
 * The HTTP status of a successful "select status, body from api.x(...)":
 * 0 when the query failed (rc) or the result has another shape.
 */
ngx_int_t ngx_http_chantier_api_keep_answer(ngx_http_request_t *r,
    PGresult *res, ngx_http_chantier_ctx_t *ctx);
void ngx_http_chantier_api_send_kept(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
ngx_uint_t ngx_http_chantier_api_status(PGresult *res, ngx_int_t rc);

/*
 * A NUL-terminated copy, in the request pool, of the value of the first
 * row's column: what a handler keeps of a result once it returns.
 * NGX_ERROR when memory runs out.
 */
ngx_int_t ngx_http_chantier_api_value(ngx_http_request_t *r, PGresult *res,
    int column, ngx_str_t *value);

/* employees and admins write fiches */
ngx_uint_t ngx_http_chantier_api_is_employee(ngx_http_chantier_ctx_t *ctx);

/*
 * The query argument "name", unescaped and NUL-terminated: NGX_OK, or
 * NGX_DECLINED when absent, NGX_ABORT when it is not valid UTF-8 text or
 * holds a NUL.
 */
ngx_int_t ngx_http_chantier_api_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);

/* NGX_OK when s is valid UTF-8 without NUL */
ngx_int_t ngx_http_chantier_api_is_text(ngx_str_t *s);

/*
 * A password from a JSON member: a string of CHANTIER_PASSWORD_MIN_LEN to
 * CHANTIER_PASSWORD_MAX_LEN bytes.  NGX_OK, or NGX_DECLINED when absent
 * (not an error: the caller decides), or NGX_ERROR after answering 400.
 */
ngx_int_t ngx_http_chantier_api_new_password(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, const char *key, char **password,
    size_t *len);


#endif /* _NGX_HTTP_CHANTIER_API_H_INCLUDED_ */
