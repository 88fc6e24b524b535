/*
 * Comments: POST /posts/{id}/comments and DELETE /comments/{id}.  Anyone
 * who may see the fiche comments; only the author deletes.  Plain text:
 * checked here for length and characters, stored as written.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_api.h"
#include "../auth/ngx_http_chantier_session.h"
#include "../core/ngx_http_chantier_http.h"
#include "../core/ngx_http_chantier_json.h"


#define NGX_HTTP_CHANTIER_COMMENT_MAX  5000


static ngx_int_t ngx_http_chantier_comments_check_text(
    ngx_http_request_t *r, ngx_http_chantier_json_t *text);


void
ngx_http_chantier_api_comment_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[4];

    if (ngx_http_chantier_comments_check_text(r,
            ngx_http_chantier_json_get(ctx->json, "body"))
        != NGX_OK)
    {
        return;
    }

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = (char *) ctx->id[0].data;
    params[3] = ngx_http_chantier_cstring(r->pool, &ctx->body);

    if (params[3] == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version,"
        "       notification_ids"
        "  from api.comment_create($1, $2, $3, $4::jsonb)", 4, params);
}


void
ngx_http_chantier_api_comment_delete(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    const char  *params[3];

    params[0] = (char *) ctx->session.user_id_text.data;
    params[1] = ngx_http_chantier_session_role_name(ctx->session.role);
    params[2] = (char *) ctx->id[0].data;

    ngx_http_chantier_api_answer_mutation(r,
        "select status, body, fiche_id, fiche_version"
        "  from api.comment_delete($1, $2, $3)", 3, params);
}



/* the employees' home page: clients' comments waiting for an answer */

void
ngx_http_chantier_api_comments_unanswered(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    if (!ngx_http_chantier_api_is_employee(ctx)) {
        ngx_http_chantier_send_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
            "Cette liste est réservée aux employés de CLO.");
        return;
    }

    ngx_http_chantier_api_answer_sql(r,
        "select status, body from api.comments_unanswered()", 0, NULL);
}

/*
 * 1 to 5,000 characters, no control characters but line breaks and tabs.
 * The JSON parser already refused invalid UTF-8 and NUL.
 */

static ngx_int_t
ngx_http_chantier_comments_check_text(ngx_http_request_t *r,
    ngx_http_chantier_json_t *text)
{
    u_char    *p, *end;
    size_t     n;
    uint32_t   c;

    if (text == NULL || text->type != NGX_HTTP_CHANTIER_JSON_STRING) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "Le texte du commentaire est obligatoire.");
        return NGX_DECLINED;
    }

    p = text->value.data;
    end = p + text->value.len;
    n = 0;

    while (p < end) {

        /* ngx_utf8_decode() is for multi-byte sequences only */
        c = (*p < 0x80) ? *p++ : ngx_utf8_decode(&p, end - p);

        if (c > 0x10ffff) {
            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                "invalid_field", "Le commentaire n'est pas en UTF-8 valide.");
            return NGX_DECLINED;
        }

        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r')
            || (c >= 0x7f && c < 0xa0))
        {
            ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST,
                "invalid_field",
                "Le commentaire contient un caractère de contrôle.");
            return NGX_DECLINED;
        }

        n++;
    }

    if (n == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_field",
            "Le commentaire est vide.");
        return NGX_DECLINED;
    }

    if (n > NGX_HTTP_CHANTIER_COMMENT_MAX) {
        ngx_http_chantier_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
            "too_large",
            "Un commentaire compte 5 000 caractères au plus.");
        return NGX_DECLINED;
    }

    return NGX_OK;
}
