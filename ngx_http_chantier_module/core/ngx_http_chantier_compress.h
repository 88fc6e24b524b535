/*
 * Compressed renderings of the documents the worker caches, gzip or
 * brotli, whichever the client takes (brotli first: the big fiche is
 * 29 % smaller than with gzip).  Compressing the big fiche (320 KB) takes
 * milliseconds of CPU: a pool-thread task (core/ngx_http_chantier_thread.h),
 * done once per document version and encoding, whose output the cache
 * then keeps beside the plain rendering.
 */

#ifndef _NGX_HTTP_CHANTIER_COMPRESS_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_COMPRESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_CHANTIER_IDENTITY = 0,
    NGX_HTTP_CHANTIER_GZIP,
    NGX_HTTP_CHANTIER_BROTLI
} ngx_http_chantier_encoding_e;


typedef struct {
    ngx_http_chantier_encoding_e  encoding;
    u_char                       *in;       /* held by the caller until the
                                               task is done */
    size_t                        in_len;
    u_char                       *out;      /* malloc(): for
                                               ngx_http_chantier_cache_adopt */
    size_t                        out_len;
} ngx_http_chantier_compress_t;


/* the thread task's run: NGX_OK with out set, or NGX_ERROR and out NULL */
ngx_int_t ngx_http_chantier_compress_run(void *data);

/*
 * The encoding the client takes: brotli when Accept-Encoding names "br"
 * (and not with q=0), else gzip by nginx's own rules (gzip_http_version,
 * gzip_proxied, gzip_disable), else none.
 */
ngx_http_chantier_encoding_e ngx_http_chantier_compress_accepted(
    ngx_http_request_t *r);

/* Content-Encoding of the answer */
ngx_int_t ngx_http_chantier_compress_set_encoding(ngx_http_request_t *r,
    ngx_http_chantier_encoding_e encoding);


#endif /* _NGX_HTTP_CHANTIER_COMPRESS_H_INCLUDED_ */
