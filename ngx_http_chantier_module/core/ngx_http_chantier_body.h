/*
 * A request body as nginx keeps it: a chain of buffers, some in memory,
 * some in the temporary file it wrote (a body larger than
 * client_body_buffer_size).  Reading the file is a blocking read: it is
 * done only in a pool thread (core/ngx_http_chantier_thread.h).
 */

#ifndef _NGX_HTTP_CHANTIER_BODY_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* the bytes of the chain; *in_file is 1 when some are in the file */
size_t ngx_http_chantier_body_size(ngx_chain_t *bufs, ngx_uint_t *in_file);

/*
 * In a pool thread (or on the loop when nothing is in a file): copies the
 * chain, in order, to dst, which holds ngx_http_chantier_body_size()
 * bytes; the file parts with pread().  NGX_ERROR with *err set when the
 * file cannot be read.
 */
ngx_int_t ngx_http_chantier_body_copy(ngx_chain_t *bufs, u_char *dst,
    ngx_err_t *err);


/*
 * A raw body (a photo, a contract) handed whole to a pool thread:
 * raw_body_post() copies r's body into data, in the thread, then calls the
 * route's check() there too (what it makes of the bytes: libvips, the
 * magic bytes of a PDF), then done() on the event loop with check()'s
 * answer, or NGX_ERROR when the copy failed (err says why if the file
 * could not be read).  The copy is freed with the request's pool, or
 * earlier by raw_body_release() once the route needs it no more.
 */
typedef struct ngx_http_chantier_raw_body_s  ngx_http_chantier_raw_body_t;

typedef ngx_int_t (*ngx_http_chantier_raw_body_check_pt)(
    ngx_http_chantier_raw_body_t *body);
typedef void (*ngx_http_chantier_raw_body_done_pt)(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body, ngx_int_t rc);

struct ngx_http_chantier_raw_body_s {
    ngx_chain_t                          *bufs;    /* as nginx kept it */
    u_char                               *data;    /* the copy, malloc() */
    size_t                                len;
    ngx_err_t                             err;     /* reading the file */
    ngx_http_chantier_raw_body_check_pt   check;   /* in the thread */
    ngx_http_chantier_raw_body_done_pt    done;    /* on the loop */
    void                                 *route;   /* the route's own */
};

/* NGX_ERROR when memory is short (nothing was posted) */
ngx_int_t ngx_http_chantier_raw_body_post(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body);
void ngx_http_chantier_raw_body_release(ngx_http_chantier_raw_body_t *body);


#endif /* _NGX_HTTP_CHANTIER_BODY_H_INCLUDED_ */
