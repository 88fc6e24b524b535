/*
 * From an HTTP request to an API handler: find the route, check the session
 * and the CSRF token, read the body, parse the JSON, then call the route's
 * handler.  Each step answers the error it finds itself.
 *
 * The session comes before the body: a request that will get 401 or 403
 * costs no temporary file and no memory of its body, which nginx discards
 * as it arrives.  Only the anonymous routes (login, health) read their
 * small body first.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_module.h"
#include "core/ngx_http_chantier_http.h"
#include "core/ngx_http_chantier_json.h"
#include "auth/ngx_http_chantier_session.h"
#include "api/ngx_http_chantier_api.h"
#include "core/ngx_http_chantier_thread.h"
#include "core/ngx_http_chantier_body.h"


#define NGX_HTTP_CHANTIER_JSON_LIMIT   (1024 * 1024)
#define NGX_HTTP_CHANTIER_PHOTO_LIMIT  (25 * 1024 * 1024)
#define NGX_HTTP_CHANTIER_CONTRACT_LIMIT  (20 * 1024 * 1024)


ngx_int_t ngx_http_chantier_router_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chantier_router_init(ngx_conf_t *cf);

static ngx_int_t ngx_http_chantier_router_find(ngx_http_request_t *r,
    ngx_str_t *path, ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_router_ids(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_router_match(ngx_str_t *path,
    char *pattern, ngx_str_t *id);
static ngx_int_t ngx_http_chantier_router_answer_now(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
static void ngx_http_chantier_router_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_chantier_router_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_chantier_router_copy_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_router_read_file(void *data);
static void ngx_http_chantier_router_file_read(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_router_authenticated(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static void ngx_http_chantier_router_parse(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);
static ngx_int_t ngx_http_chantier_router_is_json(ngx_http_request_t *r);
static void ngx_http_chantier_router_raw_body(ngx_http_request_t *r);


/* the body of a file-backed request body, read in a pool thread */
typedef struct {
    ngx_chain_t                  *bufs;
    u_char                       *dst;
    ngx_err_t                     err;
} ngx_http_chantier_router_file_t;


static ngx_http_request_body_filter_pt  ngx_http_chantier_next_body_filter;


static ngx_http_chantier_route_t  ngx_http_chantier_routes[] = {

    { NGX_HTTP_POST, "session", NGX_HTTP_CHANTIER_AUTH_NONE,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_session_create },

    { NGX_HTTP_DELETE, "session", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_session_delete },

    { NGX_HTTP_GET, "me", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_USER_DOCUMENT, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_me_get },

    { NGX_HTTP_PATCH, "me", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_me_patch },

    { NGX_HTTP_POST, "me/password", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_me_password },

    { NGX_HTTP_GET, "fiches", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_fiches_list },

    { NGX_HTTP_GET, "fiches/#", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_KNOWN, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_fiche_get },

    { NGX_HTTP_GET, "fiches/#/events", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_fiche_events },

    { NGX_HTTP_PUT, "fiches/#/seen", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_fiche_seen },

    { NGX_HTTP_GET, "fiches/#/pdf", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_fiche_pdf },

    { NGX_HTTP_POST, "fiches/#/posts", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_post_create },

    { NGX_HTTP_PATCH, "posts/#", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_post_patch },

    { NGX_HTTP_DELETE, "posts/#", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_post_delete },

    { NGX_HTTP_POST, "posts/#/comments", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_comment_create },

    { NGX_HTTP_GET, "comments/unanswered", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_comments_unanswered },

    { NGX_HTTP_DELETE, "comments/#", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_comment_delete },

    { NGX_HTTP_POST, "admin/users", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_user_create },

    { NGX_HTTP_GET, "admin/users", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_users_search },

    { NGX_HTTP_PATCH, "admin/users/#", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_user_patch },

    { NGX_HTTP_POST, "admin/chantiers", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_chantier_create },

    { NGX_HTTP_PATCH, "admin/chantiers/#", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      NGX_HTTP_CHANTIER_ROUTE_JSON_BODY, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_chantier_patch },

    { NGX_HTTP_POST, "admin/users/#/contracts", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      NGX_HTTP_CHANTIER_ROUTE_RAW_BODY, NGX_HTTP_CHANTIER_CONTRACT_LIMIT,
      ngx_http_chantier_api_admin_contract_create },

    { NGX_HTTP_GET, "admin/users/#/contracts", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_contracts },

    { NGX_HTTP_DELETE, "admin/contracts/#", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_contract_delete },

    { NGX_HTTP_GET, "contracts", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_contracts_list },

    { NGX_HTTP_GET, "contracts/#/file", NGX_HTTP_CHANTIER_AUTH_USER,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_contract_file },

    { NGX_HTTP_GET, "admin/audit", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_audit },

    { NGX_HTTP_GET, "admin/notifications", NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_notifications },

    { NGX_HTTP_POST, "admin/notifications/#/retry",
      NGX_HTTP_CHANTIER_AUTH_ADMIN,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_admin_notification_retry },

    { NGX_HTTP_POST, "fiches/#/photos", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_RAW_BODY, NGX_HTTP_CHANTIER_PHOTO_LIMIT,
      ngx_http_chantier_api_photo_create },

    { NGX_HTTP_GET, "photos/#", NGX_HTTP_CHANTIER_AUTH_USER,
      NGX_HTTP_CHANTIER_ROUTE_KNOWN, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_photo_get },

    { NGX_HTTP_GET, "site", NGX_HTTP_CHANTIER_AUTH_NONE,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_site },

    { NGX_HTTP_GET, "health", NGX_HTTP_CHANTIER_AUTH_NONE,
      0, NGX_HTTP_CHANTIER_JSON_LIMIT,
      ngx_http_chantier_api_health },

    { 0, NULL, NGX_HTTP_CHANTIER_AUTH_NONE, 0, 0, NULL }
};


ngx_int_t
ngx_http_chantier_router_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  path;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_chantier_ctx_t   *ctx;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->uri.len < clcf->name.len) {
        return ngx_http_chantier_router_answer_now(r, NGX_HTTP_NOT_FOUND,
                   "not_found", "Cette adresse n'existe pas.");
    }

    path.data = r->uri.data + clcf->name.len;
    path.len = r->uri.len - clcf->name.len;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_chantier_module);

    rc = ngx_http_chantier_router_find(r, &path, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_chantier_router_answer_now(r, NGX_HTTP_NOT_FOUND,
                   "not_found", "Cette adresse n'existe pas.");
    }

    if (rc == NGX_HTTP_NOT_ALLOWED) {
        return ngx_http_chantier_router_answer_now(r, NGX_HTTP_NOT_ALLOWED,
                   "method_not_allowed",
                   "Cette méthode n'est pas permise à cette adresse.");
    }

    if (r->headers_in.content_length_n > (off_t) ctx->route->max_body) {
        return ngx_http_chantier_router_answer_now(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                   "Le corps de la requête dépasse la taille permise.");
    }

    if (ctx->route->auth == NGX_HTTP_CHANTIER_AUTH_NONE) {
        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_chantier_router_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (!(ctx->route->flags & (NGX_HTTP_CHANTIER_ROUTE_JSON_BODY
                                | NGX_HTTP_CHANTIER_ROUTE_RAW_BODY)))
    {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* the reference that the answer releases */
    r->main->count++;

    ngx_http_chantier_session_authenticate(r, ctx,
        ngx_http_chantier_router_authenticated);

    return NGX_DONE;
}


/*
 * The session is valid: the checks that need no body, then the body, read
 * by nginx with its own reference (the one its answer releases), ours
 * given back at once.
 */

static void
ngx_http_chantier_router_authenticated(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD
        && ngx_http_chantier_session_check_csrf(r, ctx) != NGX_OK)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "csrf_invalid",
            "Jeton anti-falsification (X-CSRF-Token) absent ou invalide ; "
            "rechargez la page.");
        return;
    }

    if (ctx->route->auth == NGX_HTTP_CHANTIER_AUTH_ADMIN
        && ctx->session.role != NGX_HTTP_CHANTIER_ROLE_ADMIN)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Cette action est réservée aux administrateurs.");
        return;
    }

    /* a raw body is read when the handler asks (ngx_http_chantier_read_body) */
    if (!(ctx->route->flags & NGX_HTTP_CHANTIER_ROUTE_JSON_BODY)) {
        ctx->route->handler(r, ctx);
        return;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_chantier_router_body);

    ngx_http_finalize_request(r, (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? rc
                                                                   : NGX_DONE);
}


/*
 * Returns NGX_OK with ctx->route and ctx->id set, NGX_HTTP_NOT_ALLOWED when
 * the path exists with other methods, NGX_DECLINED, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_chantier_router_find(ngx_http_request_t *r, ngx_str_t *path,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_uint_t                  path_found, method;
    ngx_http_chantier_route_t  *route;

    path_found = 0;
    method = (r->method == NGX_HTTP_HEAD) ? NGX_HTTP_GET : r->method;

    for (route = ngx_http_chantier_routes; route->pattern; route++) {

        if (ngx_http_chantier_router_match(path, route->pattern, ctx->id)
            != NGX_OK)
        {
            continue;
        }

        path_found = 1;

        if (route->method == method) {
            ctx->route = route;
            return ngx_http_chantier_router_ids(r, ctx);
        }
    }

    return path_found ? NGX_HTTP_NOT_ALLOWED : NGX_DECLINED;
}


/*
 * The ids of the path become C strings once, here: SQL takes its
 * parameters as such, and every handler passes them on.
 */

static ngx_int_t
ngx_http_chantier_router_ids(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char      *p;
    ngx_uint_t   i;

    for (i = 0; i < 2 && ctx->id[i].len; i++) {
        p = ngx_pnalloc(r->pool, ctx->id[i].len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ctx->id[i].data, ctx->id[i].len);
        p[ctx->id[i].len] = '\0';

        ctx->id[i].data = p;
    }

    return NGX_OK;
}


/*
 * Matches path against pattern segment by segment; "#" takes a decimal id
 * of 1 to 18 digits (it fits a bigint), anything else makes it no match,
 * so absurd ids end as 404 like unknown ones.
 */

static ngx_int_t
ngx_http_chantier_router_match(ngx_str_t *path, char *pattern, ngx_str_t *id)
{
    u_char      *p, *end, *start;
    ngx_uint_t   n;

    p = path->data;
    end = path->data + path->len;
    n = 0;

    while (*pattern) {

        if (*pattern == '#') {
            start = p;

            while (p < end && *p >= '0' && *p <= '9') {
                p++;
            }

            if (p == start || p - start > 18 || n == 2) {
                return NGX_DECLINED;
            }

            id[n].data = start;
            id[n].len = p - start;
            n++;

            pattern++;
            continue;
        }

        if (p == end || *p != (u_char) *pattern) {
            return NGX_DECLINED;
        }

        p++;
        pattern++;
    }

    return (p == end) ? NGX_OK : NGX_DECLINED;
}


/*
 * An answer given from the content handler itself: the reference taken
 * here is the one ngx_http_chantier_send() releases, and NGX_DONE releases
 * the handler's own.
 */

static ngx_int_t
ngx_http_chantier_router_answer_now(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    ngx_http_chantier_send_error(r, status, code, message);

    return NGX_DONE;
}


/*
 * The route's byte limit as the body arrives, chunked or not: an answer of
 * 413 (made JSON by the location's error_page) as soon as it is passed,
 * rather than after megabytes written to a temporary file.  nginx's
 * chunked parser calls this with the decoded data.
 */

ngx_int_t
ngx_http_chantier_router_init(ngx_conf_t *cf)
{
    ngx_http_chantier_next_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_chantier_router_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_router_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t              *cl;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (ctx == NULL || ctx->route == NULL || r != r->main) {
        return ngx_http_chantier_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        ctx->body_received += ngx_buf_size(cl->buf);
    }

    if (ctx->body_received > (off_t) ctx->route->max_body) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "chantier: request body over the %uz bytes of its "
                      "route, refused as it arrives", ctx->route->max_body);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    return ngx_http_chantier_next_body_filter(r, in);
}


static void
ngx_http_chantier_router_body(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_chantier_ctx_t          *ctx;
    ngx_http_chantier_router_file_t  *file;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    rc = ngx_http_chantier_router_copy_body(r, ctx);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
            "too_large", "Le corps de la requête dépasse la taille permise.");
        return;
    }

    if (rc == NGX_AGAIN) {
        /* a part of it is in a temporary file: read off the loop */

        file = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_router_file_t));
        if (file == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        file->bufs = r->request_body->bufs;
        file->dst = ctx->body.data;

        ngx_http_chantier_thread_post(r, file,
                                      ngx_http_chantier_router_read_file,
                                      ngx_http_chantier_router_file_read);

        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_router_parse(r, ctx);
}


/*
 * The body in one piece: JSON parsing wants it contiguous.  NGX_OK when it
 * is in ctx->body; NGX_AGAIN when a part of it waits in the temporary file
 * nginx wrote (a body larger than client_body_buffer_size): ctx->body is
 * then allocated and the file is read in a pool thread, never with a
 * blocking read on the event loop.
 */

static ngx_int_t
ngx_http_chantier_router_copy_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    size_t      len;
    ngx_err_t   err;
    ngx_uint_t  in_file;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = ngx_http_chantier_body_size(r->request_body->bufs, &in_file);

    if (len > ctx->route->max_body) {
        return NGX_DECLINED;
    }

    if (len == 0) {
        return NGX_OK;
    }

    ctx->body.data = ngx_pnalloc(r->pool, len);
    if (ctx->body.data == NULL) {
        return NGX_ERROR;
    }

    ctx->body.len = len;

    if (in_file) {
        return NGX_AGAIN;
    }

    return ngx_http_chantier_body_copy(r->request_body->bufs, ctx->body.data,
                                       &err);
}


/* in a pool thread */

static ngx_int_t
ngx_http_chantier_router_read_file(void *data)
{
    ngx_http_chantier_router_file_t *file = data;

    return ngx_http_chantier_body_copy(file->bufs, file->dst, &file->err);
}


static void
ngx_http_chantier_router_file_read(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t          *ctx;
    ngx_http_chantier_router_file_t  *file = data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, file->err,
                      "chantier: reading the request body's temporary "
                      "file failed");
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_router_parse(r, ctx);
}


static void
ngx_http_chantier_router_parse(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    char       *message;
    ngx_int_t   rc;
    ngx_str_t   error;

    if (ctx->route->flags & NGX_HTTP_CHANTIER_ROUTE_JSON_BODY) {

        if (ngx_http_chantier_router_is_json(r) != NGX_OK) {
            ngx_http_chantier_send_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Le corps de la requête doit être du JSON "
                "(Content-Type: application/json).");
            return;
        }

        if (ctx->body.len == 0) {
            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                "invalid_json", "Le corps de la requête est vide.");
            return;
        }

        rc = ngx_http_chantier_json_parse(r->pool, &ctx->body, &ctx->json,
                                          &error);

        if (rc != NGX_OK) {
            message = (rc == NGX_ERROR)
                      ? NULL : ngx_http_chantier_cstring(r->pool, &error);

            if (message == NULL) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            if (rc == NGX_ABORT) {
                ngx_http_chantier_send_error(r,
                    NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large", message);
                return;
            }

            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json", message);
            return;
        }

        if (ctx->json->type != NGX_HTTP_CHANTIER_JSON_OBJECT) {
            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                "invalid_json",
                "Le corps de la requête doit être un objet JSON.");
            return;
        }
    }

    ctx->route->handler(r, ctx);
}


static ngx_int_t
ngx_http_chantier_router_is_json(ngx_http_request_t *r)
{
    u_char     *p, *end;
    ngx_str_t  *type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;

    if (type->len < sizeof("application/json") - 1
        || ngx_strncasecmp(type->data, (u_char *) "application/json",
                           sizeof("application/json") - 1)
           != 0)
    {
        return NGX_DECLINED;
    }

    p = type->data + sizeof("application/json") - 1;
    end = type->data + type->len;

    while (p < end && *p == ' ') {
        p++;
    }

    return (p == end || *p == ';') ? NGX_OK : NGX_DECLINED;
}


/*
 * A raw body (a photo, a contract), read when its handler has checked what
 * it could without it: nginx reads it with a reference of its own, the one
 * the answer releases; the caller's is given back here.  "next" finds the
 * body in r->request_body->bufs, in memory or in a temporary file, as
 * nginx left it, for a pool thread to read (core/ngx_http_chantier_body.h).
 */

void
ngx_http_chantier_read_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next)
{
    ngx_int_t  rc;

    ctx->next = next;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_chantier_router_raw_body);

    ngx_http_finalize_request(r, (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? rc
                                                                   : NGX_DONE);
}


static void
ngx_http_chantier_router_raw_body(ngx_http_request_t *r)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (r->request_body == NULL || r->request_body->bufs == NULL
        || ctx->body_received == 0)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "empty_body",
                                     "Le corps de la requête est vide.");
        return;
    }

    ctx->next(r, ctx);
}
