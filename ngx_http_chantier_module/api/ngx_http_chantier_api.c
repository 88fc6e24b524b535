/*
 * Helpers shared by the API handlers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../core/ngx_http_chantier_pg.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"
#include "../core/ngx_http_chantier_live.h"
#include "../crypto/chantier_password.h"


static void ngx_http_chantier_api_mutated(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);


void
ngx_http_chantier_api_query(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params,
    ngx_http_chantier_pg_handler_pt handler)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_pg_query(r, sql, nparams, params, handler);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, "postgres");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


void
ngx_http_chantier_api_answer_sql(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params)
{
    ngx_http_chantier_api_query(r, sql, nparams, params,
                                ngx_http_chantier_send_pg_result);
}


void
ngx_http_chantier_api_answer_mutation(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params)
{
    ngx_http_chantier_api_query(r, sql, nparams, params,
                                ngx_http_chantier_api_mutated);
}


/* the change is committed: announce its version, then answer */

static void
ngx_http_chantier_api_mutated(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    off_t  fiche_id, version;

    if (rc == NGX_OK && PQntuples(res) == 1 && PQnfields(res) == 4
        && !PQgetisnull(res, 0, 2) && !PQgetisnull(res, 0, 3))
    {
        fiche_id = ngx_atoof((u_char *) PQgetvalue(res, 0, 2),
                             PQgetlength(res, 0, 2));
        version = ngx_atoof((u_char *) PQgetvalue(res, 0, 3),
                            PQgetlength(res, 0, 3));

        if (fiche_id > 0 && version > 0) {
            ngx_http_chantier_live_publish(fiche_id, version);
        }
    }

    ngx_http_chantier_send_pg_result(r, res, rc);
}


ngx_uint_t
ngx_http_chantier_api_is_employee(ngx_http_chantier_ctx_t *ctx)
{
    ngx_str_t  *role;

    role = &ctx->session.role;

    return (role->len == sizeof("employee") - 1
            && ngx_strncmp(role->data, "employee", role->len) == 0)
           || (role->len == sizeof("admin") - 1
               && ngx_strncmp(role->data, "admin", role->len) == 0);
}


ngx_int_t
ngx_http_chantier_api_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    /* "+" means a space in a query string; ngx_unescape_uri keeps it */
    for (src = raw.data; src < raw.data + raw.len; src++) {
        if (*src == '+') {
            *src = ' ';
        }
    }

    src = raw.data;
    dst = value->data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;
    value->data[value->len] = '\0';

    /* SQL gets it as a C string: it must be text, and all of it */
    if (ngx_http_chantier_api_is_text(value) != NGX_OK) {
        return NGX_ABORT;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_api_is_text(ngx_str_t *s)
{
    u_char    *p, *end;
    uint32_t   c;

    p = s->data;
    end = s->data + s->len;

    while (p < end) {

        /* ngx_utf8_decode() is for multi-byte sequences only */
        if (*p < 0x80) {
            if (*p++ == '\0') {
                return NGX_DECLINED;
            }

            continue;
        }

        c = ngx_utf8_decode(&p, end - p);

        if (c > 0x10ffff) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_api_new_password(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, const char *key, char **password,
    size_t *len)
{
    ngx_http_chantier_json_t  *value;

    value = ngx_http_chantier_json_get(ctx->json, key);

    if (value == NULL) {
        return NGX_DECLINED;
    }

    if (value->type != NGX_HTTP_CHANTIER_JSON_STRING) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "invalid_field", "Le mot de passe doit être une chaîne.");
        return NGX_ERROR;
    }

    /* the minimum counts characters, the maximum bytes (scrypt's input) */
    if (ngx_utf8_length(value->value.data, value->value.len)
        < CHANTIER_PASSWORD_MIN_LEN)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "password_too_short",
            "Le mot de passe doit contenir au moins 10 caractères.");
        return NGX_ERROR;
    }

    if (value->value.len > CHANTIER_PASSWORD_MAX_LEN) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
            "password_too_long",
            "Le mot de passe ne doit pas dépasser 256 octets.");
        return NGX_ERROR;
    }

    *password = ngx_http_chantier_json_cstring(r->pool, value);
    if (*password == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    *len = value->value.len;

    return NGX_OK;
}
