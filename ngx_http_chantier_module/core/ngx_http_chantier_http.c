/*
 * Sending answers (JSON, and the bytes of a photo) and finalizing the
 * request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_http.h"
#include "ngx_http_chantier_json.h"


static ngx_int_t ngx_http_chantier_http_output(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *cache_control,
    ngx_str_t *body);


static ngx_str_t  ngx_http_chantier_json_type =
    ngx_string("application/json; charset=utf-8");


void
ngx_http_chantier_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_http_output(r, status, &ngx_http_chantier_json_type,
                                       NULL, body);

    ngx_http_finalize_request(r, rc);
}


void
ngx_http_chantier_send_bytes(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *cache_control, ngx_str_t *body)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_http_output(r, status, type, cache_control, body);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_chantier_http_output(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *cache_control, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     value;
    ngx_chain_t   out;

    /*
     * An answer given before the body was read (401, 403, 503 of the
     * session check): nginx reads it to nowhere, keeping the connection.
     */
    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = status;

    /*
     * If-Match and If-None-Match mean versions of our objects, checked by
     * the handlers (and SQL); nginx's filter would apply them to the
     * answer instead, turning a successful PATCH into a 412.
     */
    r->disable_not_modified = 1;

    /* a document with an ETag may be kept, but only revalidated */
    if (cache_control != NULL) {
        value = *cache_control;

    } else if (r->headers_out.etag != NULL) {
        ngx_str_set(&value, "private, no-cache");

    } else {
        ngx_str_set(&value, "no-store");
    }

    if (ngx_http_chantier_add_header(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "nosniff");
    if (ngx_http_chantier_add_header(r, "X-Content-Type-Options", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* HEAD gets the headers of GET: nginx's header filter drops the body */
    if (body == NULL || body->len == 0) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;

        if (status == NGX_HTTP_NO_CONTENT
            || status == NGX_HTTP_NOT_MODIFIED)
        {
            ngx_http_clear_content_length(r);
        }

        rc = ngx_http_send_header(r);
        return (rc == NGX_ERROR || rc > NGX_OK) ? rc : NGX_OK;
    }

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


void
ngx_http_chantier_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    u_char     *p;
    ngx_str_t   body, text;

    text.data = (u_char *) message;
    text.len = ngx_strlen(message);

    body.len = sizeof("{\"error\":{\"code\":\"\",\"message\":}}") - 1
               + ngx_strlen(code) + ngx_http_chantier_json_escaped_len(&text);

    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(body.data, "{\"error\":{\"code\":\"%s\",\"message\":",
                    code);
    p = ngx_http_chantier_json_escape(p, &text);
    *p++ = '}';
    *p++ = '}';

    body.len = p - body.data;

    ngx_http_chantier_send(r, status, &body);
}


/* by ngx_http_chantier_service_e */
static char  *ngx_http_chantier_http_services[] = {
    "PostgreSQL ne répond pas",
    "Redis ne répond pas",
    "PostgreSQL et Redis ne répondent pas",
    "le serveur est très chargé"
};


void
ngx_http_chantier_send_unavailable(ngx_http_request_t *r,
    ngx_http_chantier_service_e service)
{
    u_char                         *p, *message;
    size_t                          len;
    ngx_str_t                       value;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    len = sizeof("Service momentanément indisponible (), réessayez dans un "
                 "instant.")
          + ngx_strlen(ngx_http_chantier_http_services[service]);

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + len);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%T", mcf->retry_after) - p;

    message = p + value.len;
    ngx_sprintf(message, "Service momentanément indisponible (%s), "
                "réessayez dans un instant.%Z",
                ngx_http_chantier_http_services[service]);

    if (ngx_http_chantier_add_header(r, "Retry-After", &value) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "chantier: answering 503: %s",
                  ngx_http_chantier_http_services[service]);

    ngx_http_chantier_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "service_unavailable", (char *) message);
}


void
ngx_http_chantier_send_too_many(ngx_http_request_t *r, time_t seconds)
{
    u_char     *p;
    ngx_str_t   value;

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%T", seconds) - p;

    if (ngx_http_chantier_add_header(r, "Retry-After", &value) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Trop de tentatives. Réessayez plus tard.");
}


ngx_int_t
ngx_http_chantier_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);

    h->value.data = ngx_pnalloc(r->pool, value->len);
    if (h->value.data == NULL) {
        h->hash = 0;
        return NGX_ERROR;
    }

    ngx_memcpy(h->value.data, value->data, value->len);
    h->value.len = value->len;

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_set_etag(ngx_http_request_t *r, int64_t version)
{
    u_char     buf[NGX_INT64_LEN];
    ngx_str_t  tag;

    tag.data = buf;
    tag.len = ngx_sprintf(buf, "%L", version) - buf;

    return ngx_http_chantier_set_etag_text(r, &tag);
}


ngx_int_t
ngx_http_chantier_set_etag_text(ngx_http_request_t *r, ngx_str_t *tag)
{
    ngx_table_elt_t  *etag;

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    etag->value.data = ngx_pnalloc(r->pool, tag->len + 2);
    if (etag->value.data == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.len = ngx_sprintf(etag->value.data, "\"%V\"", tag)
                      - etag->value.data;

    r->headers_out.etag = etag;

    return NGX_OK;
}


ngx_uint_t
ngx_http_chantier_etag_matches(ngx_table_elt_t *header, int64_t version)
{
    u_char     buf[NGX_INT64_LEN];
    ngx_str_t  tag;

    tag.data = buf;
    tag.len = ngx_sprintf(buf, "%L", version) - buf;

    return ngx_http_chantier_etag_matches_text(header, &tag);
}


/*
 * Whether an If-None-Match or If-Match header lists the ETag "tag": "*",
 * or one of the comma-separated tags, weak or strong.
 */

ngx_uint_t
ngx_http_chantier_etag_matches_text(ngx_table_elt_t *header, ngx_str_t *tag)
{
    u_char  *p, *end, *start;

    if (header == NULL) {
        return 0;
    }

    p = header->value.data;
    end = p + header->value.len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        if (p < end && *p == '*') {
            return 1;
        }

        if (end - p > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }

        if (p < end && *p == '"') {
            p++;
        }

        start = p;

        while (p < end && *p != '"' && *p != ',' && *p != ' ') {
            p++;
        }

        if ((size_t) (p - start) == tag->len
            && ngx_memcmp(start, tag->data, tag->len) == 0)
        {
            return 1;
        }

        while (p < end && *p != ',') {
            p++;
        }
    }

    return 0;
}


char *
ngx_http_chantier_cstring(ngx_pool_t *pool, ngx_str_t *s)
{
    char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return p;
}


ngx_table_elt_t *
ngx_http_chantier_header_in(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}
