/*
 * GET /fiches/{id}/events: the live stream of a fiche (SSE).  The access
 * rules are those of the fiche itself, checked once, here; the stream then
 * belongs to live/ngx_http_chantier_live.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../live/ngx_http_chantier_live.h"


static void ngx_http_chantier_events_versioned(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);
static int64_t ngx_http_chantier_events_last_id(ngx_http_request_t *r);


void
ngx_http_chantier_api_fiche_events(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    retry;
    const char  *params[3];

    rc = ngx_http_chantier_live_reserve(r, ctx,
                                        ngx_atoof(ctx->id[0].data,
                                                  ctx->id[0].len));
    if (rc == NGX_DECLINED) {
        ngx_str_set(&retry, "30");

        if (ngx_http_chantier_add_header(r, "Retry-After", &retry)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_chantier_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
            "too_many_streams",
            "Trop de pages ouvertes en direct : fermez-en une.");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_query(r,
        "select version, viewer from api.fiche_stream($1, $2, $3)",
        3, params,
        ngx_http_chantier_events_versioned);
}


static void
ngx_http_chantier_events_versioned(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    off_t                     version;
    ngx_str_t                 viewer;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK) {
        ngx_http_chantier_api_send_result(r, res, rc);
        return;
    }

    if (PQntuples(res) != 1 || PQnfields(res) != 2
        || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1))
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "Cette fiche n'existe pas.");
        return;
    }

    version = ngx_atoof((u_char *) PQgetvalue(res, 0, 0),
                        PQgetlength(res, 0, 0));

    viewer.data = (u_char *) PQgetvalue(res, 0, 1);
    viewer.len = PQgetlength(res, 0, 1);

    rc = ngx_http_chantier_live_start(r, ctx, version,
                                      ngx_http_chantier_events_last_id(r),
                                      &viewer);

    if (rc == NGX_DECLINED && (ngx_exiting || ngx_terminate)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Le serveur redémarre : reconnexion dans un instant.");
        return;
    }

    if (rc == NGX_DECLINED) {
        /* the session ended during the check */
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes plus connecté.");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/*
 * The version the page already has: Last-Event-ID when the browser
 * reconnects, or ?since=N, which a page passes on its first connection
 * (EventSource cannot set headers).  -1 when neither is there.
 */

static int64_t
ngx_http_chantier_events_last_id(ngx_http_request_t *r)
{
    off_t             n;
    ngx_str_t         since;
    ngx_table_elt_t  *h;

    h = ngx_http_chantier_header_in(r, "Last-Event-ID");

    if (h != NULL) {
        n = ngx_atoof(h->value.data, h->value.len);
        return (n == NGX_ERROR) ? -1 : n;
    }

    if (ngx_http_arg(r, (u_char *) "since", 5, &since) == NGX_OK) {
        n = ngx_atoof(since.data, since.len);
        return (n == NGX_ERROR) ? -1 : n;
    }

    return -1;
}
