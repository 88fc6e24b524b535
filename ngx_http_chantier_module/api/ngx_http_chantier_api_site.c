/*
 * GET /site (no session): what every page shows around its content, the
 * login page included: how to reach CLO (chantier_contact_phone,
 * chantier_contact_email), so that no page hard-codes it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"


static size_t ngx_http_chantier_site_value_len(ngx_str_t *value);
static u_char *ngx_http_chantier_site_value(u_char *p, ngx_str_t *value);


void
ngx_http_chantier_api_site(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                         *p;
    size_t                          len;
    ngx_str_t                       body;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    len = sizeof("{\"contact\":{\"phone\":,\"email\":}}") - 1
          + ngx_http_chantier_site_value_len(&mcf->contact_phone)
          + ngx_http_chantier_site_value_len(&mcf->contact_email);

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(body.data, "{\"contact\":{\"phone\":",
                   sizeof("{\"contact\":{\"phone\":") - 1);
    p = ngx_http_chantier_site_value(p, &mcf->contact_phone);
    p = ngx_cpymem(p, ",\"email\":", sizeof(",\"email\":") - 1);
    p = ngx_http_chantier_site_value(p, &mcf->contact_email);
    p = ngx_cpymem(p, "}}", 2);

    body.len = p - body.data;

    ngx_http_chantier_send(r, NGX_HTTP_OK, &body);
}


/* a string, or null when the directive is not set */

static size_t
ngx_http_chantier_site_value_len(ngx_str_t *value)
{
    return value->len ? ngx_http_chantier_json_escaped_len(value)
                      : sizeof("null") - 1;
}


static u_char *
ngx_http_chantier_site_value(u_char *p, ngx_str_t *value)
{
    if (value->len == 0) {
        return ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    return ngx_http_chantier_json_escape(p, value);
}
