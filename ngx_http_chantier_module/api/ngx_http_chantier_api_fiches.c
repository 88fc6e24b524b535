/*
 * GET /fiches (a client's list, or an employee's look-up by chantier code)
 * and GET /fiches/{id}.  Who may see a fiche is decided by SQL, with the
 * rest of the read, so that no path can forget the check.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_http.h"


#define NGX_HTTP_CHANTIER_CODE_MAX  32


static ngx_uint_t
ngx_http_chantier_fiches_is_client(ngx_http_chantier_ctx_t *ctx)
{
    return ctx->session.role.len == sizeof("client") - 1
           && ngx_strncmp(ctx->session.role.data, "client",
                          ctx->session.role.len) == 0;
}


void
ngx_http_chantier_api_fiches_list(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_str_t    code;
    const char  *params[1];

    rc = ngx_http_chantier_api_arg(r, "chantier", &code);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_ABORT) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "L'identifiant du chantier (chantier) n'est pas un texte valide.");
        return;
    }

    if (ngx_http_chantier_fiches_is_client(ctx)) {

        if (rc == NGX_OK) {
            ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
                "La recherche par identifiant de chantier est réservée "
                "aux employés de CLO.");
            return;
        }

        params[0] = (char *) ctx->session.user_id_text.data;

        ngx_http_chantier_api_answer_sql(r,
            "select status, body from api.fiches_list($1)", 1, params);
        return;
    }

    if (rc == NGX_DECLINED || code.len == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "chantier_required",
            "Indiquez l'identifiant du chantier (paramètre chantier).");
        return;
    }

    if (code.len > NGX_HTTP_CHANTIER_CODE_MAX) {
        ngx_http_chantier_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
            "Aucun chantier ne porte cet identifiant.");
        return;
    }

    params[0] = (char *) code.data;

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.fiches_by_code($1)", 1, params);
}


void
ngx_http_chantier_api_fiche_get(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[3];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = (char *) ctx->session.role.data;
    params[2] = ngx_http_chantier_cstring(r->pool, &ctx->id[0]);

    if (params[2] == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.fiche_get($1, $2, $3)", 3, params);
}
