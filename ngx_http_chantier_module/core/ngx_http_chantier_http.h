/*
 * Answers of the API.  Every request ends with exactly one of these calls:
 * they send the response and finalize the request, releasing the reference
 * the body reader took.
 */

#ifndef _NGX_HTTP_CHANTIER_HTTP_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_HTTP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"


/* body may be NULL or empty for 204/304 */
void ngx_http_chantier_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body);

/* {"error":{"code":code,"message":message}} */
/*
 * An answer of bytes that are not JSON (a photo, or its 304 with body
 * NULL): its type, Cache-Control, and the ETag set beforehand if any.
 */
void ngx_http_chantier_send_bytes(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *cache_control, ngx_str_t *body);

void ngx_http_chantier_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message);

/* the backing services a 503 can name */
typedef enum {
    NGX_HTTP_CHANTIER_POSTGRES = 0,
    NGX_HTTP_CHANTIER_REDIS,
    NGX_HTTP_CHANTIER_POSTGRES_AND_REDIS,
    NGX_HTTP_CHANTIER_THREADS              /* the thread pool is full */
} ngx_http_chantier_service_e;

/* 503 with Retry-After, saying which service does not answer */
void ngx_http_chantier_send_unavailable(ngx_http_request_t *r,
    ngx_http_chantier_service_e service);

/* 429 with Retry-After: seconds */
void ngx_http_chantier_send_too_many(ngx_http_request_t *r, time_t seconds);

/* adds a response header; value is copied into the request pool */
ngx_int_t ngx_http_chantier_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);

/* ETag "<version>": the answer may then be cached and revalidated */
ngx_int_t ngx_http_chantier_set_etag(ngx_http_request_t *r, int64_t version);
ngx_int_t ngx_http_chantier_set_etag_text(ngx_http_request_t *r,
    ngx_str_t *tag);

/* 1 when an If-None-Match / If-Match header names version (or is "*") */
ngx_uint_t ngx_http_chantier_etag_matches(ngx_table_elt_t *header,
    int64_t version);
ngx_uint_t ngx_http_chantier_etag_matches_text(ngx_table_elt_t *header,
    ngx_str_t *tag);

/* the first request header called name (any case), or NULL */
ngx_table_elt_t *ngx_http_chantier_header_in(ngx_http_request_t *r,
    const char *name);

/* a NUL-terminated copy of s in the request pool */
char *ngx_http_chantier_cstring(ngx_pool_t *pool, ngx_str_t *s);


#endif /* _NGX_HTTP_CHANTIER_HTTP_H_INCLUDED_ */
