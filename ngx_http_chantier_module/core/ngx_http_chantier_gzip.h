/*
 * gzip renderings of the documents the worker caches.  Deflating the big
 * fiche (320 KB) takes milliseconds of CPU: a pool-thread task (core/
 * ngx_http_chantier_thread.h), done once per document version, whose
 * output the cache then keeps beside the plain rendering.
 */

#ifndef _NGX_HTTP_CHANTIER_GZIP_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_GZIP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    u_char  *in;            /* held by the caller until the task is done */
    size_t   in_len;
    u_char  *out;           /* malloc(): for ngx_http_chantier_cache_adopt */
    size_t   out_len;
} ngx_http_chantier_gzip_t;


/* the thread task's run: NGX_OK with out set, or NGX_ERROR and out NULL */
ngx_int_t ngx_http_chantier_gzip_run(void *data);

/* 1 when the client takes gzip (nginx's own rules: gzip_http_version,
 * gzip_proxied, gzip_disable), 0 otherwise */
ngx_uint_t ngx_http_chantier_gzip_accepted(ngx_http_request_t *r);

/* Content-Encoding: gzip on the answer */
ngx_int_t ngx_http_chantier_gzip_set_encoding(ngx_http_request_t *r);


#endif /* _NGX_HTTP_CHANTIER_GZIP_H_INCLUDED_ */
