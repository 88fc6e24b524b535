/*
 * Sending JSON answers and finalizing the request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_http.h"
#include "ngx_http_chantier_json.h"


static ngx_int_t ngx_http_chantier_http_output(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);
static void ngx_http_chantier_send_sql_error(ngx_http_request_t *r,
    PGresult *res);


static ngx_str_t  ngx_http_chantier_json_type =
    ngx_string("application/json; charset=utf-8");


void
ngx_http_chantier_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_http_output(r, status, body);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_chantier_http_output(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     value;
    ngx_chain_t   out;

    r->headers_out.status = status;

    /*
     * If-Match and If-None-Match mean versions of our objects, checked by
     * the handlers (and SQL); nginx's filter would apply them to the
     * answer instead, turning a successful PATCH into a 412.
     */
    r->disable_not_modified = 1;

    /* a document with an ETag may be kept, but only revalidated */
    if (r->headers_out.etag != NULL) {
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

    r->headers_out.content_type = ngx_http_chantier_json_type;
    r->headers_out.content_type_len = ngx_http_chantier_json_type.len;
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


void
ngx_http_chantier_send_unavailable(ngx_http_request_t *r, const char *service)
{
    u_char                         *p;
    ngx_str_t                       value;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%T", mcf->retry_after) - p;

    if (ngx_http_chantier_add_header(r, "Retry-After", &value) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "chantier: %s unavailable, answering 503", service);

    if (ngx_strcmp(service, "redis") == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service momentanément indisponible (Redis ne répond pas), "
            "réessayez dans un instant.");
        return;
    }

    if (ngx_strcmp(service, "postgres") == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service momentanément indisponible (PostgreSQL ne répond pas), "
            "réessayez dans un instant.");
        return;
    }

    ngx_http_chantier_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
        "service_unavailable",
        "Service momentanément indisponible (PostgreSQL et Redis ne "
        "répondent pas), réessayez dans un instant.");
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
        "Trop de tentatives de connexion. Réessayez plus tard.");
}


void
ngx_http_chantier_send_pg_result(ngx_http_request_t *r, PGresult *res,
    ngx_int_t rc)
{
    ngx_int_t  status;
    ngx_str_t  body;

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, "postgres");
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_chantier_send_sql_error(r, res);
        return;
    }

    if (PQntuples(res) != 1 || PQnfields(res) < 2) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: unexpected result shape (%d rows, %d cols)",
                      PQntuples(res), PQnfields(res));
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }

    status = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                      PQgetlength(res, 0, 0));

    if (status < 200 || status > 599) {
        ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal_error",
                                     "Erreur interne du serveur.");
        return;
    }

    body.len = 0;
    body.data = NULL;

    if (!PQgetisnull(res, 0, 1)) {
        body.len = PQgetlength(res, 0, 1);
        body.data = ngx_pnalloc(r->pool, body.len);
        if (body.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(body.data, PQgetvalue(res, 0, 1), body.len);
    }

    ngx_http_chantier_send(r, status, &body);
}


/*
 * The SQL functions answer bad input themselves; an error raised anyway is
 * either a data exception that slipped through (class 22: still the
 * client's input, so 400), a constraint (class 23: 409), or our bug (500,
 * logged with the server's message, which never reaches the client).
 */

static void
ngx_http_chantier_send_sql_error(ngx_http_request_t *r, PGresult *res)
{
    char  *state, *message;

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    message = res ? PQresultErrorMessage(res) : NULL;

    if (state != NULL && ngx_strncmp(state, "22", 2) == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_BAD_REQUEST, "invalid_input",
            "Une valeur envoyée n'est pas valide.");
        return;
    }

    if (state != NULL && ngx_strncmp(state, "23", 2) == 0) {
        ngx_http_chantier_send_error(r, NGX_HTTP_CONFLICT, "conflict",
            "Cette modification est en conflit avec les données existantes.");
        return;
    }

    /* 57014: statement_timeout, the server's side of our query timeout */
    if (state != NULL && (ngx_strncmp(state, "57", 2) == 0
                          || ngx_strncmp(state, "08", 2) == 0
                          || ngx_strncmp(state, "53", 2) == 0))
    {
        ngx_http_chantier_send_unavailable(r, "postgres");
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "chantier: SQL error %s: %s",
                  state ? state : "?", message ? message : "?");

    ngx_http_chantier_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "internal_error",
                                 "Erreur interne du serveur.");
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
    ngx_table_elt_t  *etag;

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    etag->value.data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 2);
    if (etag->value.data == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.len = ngx_sprintf(etag->value.data, "\"%L\"", version)
                      - etag->value.data;

    r->headers_out.etag = etag;

    return NGX_OK;
}


/*
 * Whether an If-None-Match or If-Match header lists the ETag of version:
 * "*", or one of the comma-separated tags, weak or strong.
 */

ngx_uint_t
ngx_http_chantier_etag_matches(ngx_table_elt_t *header, int64_t version)
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

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p > start && p - start <= 18
            && ngx_atoof(start, p - start) == version
            && (p == end || *p == '"' || *p == ',' || *p == ' '))
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
