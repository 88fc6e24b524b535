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


#endif /* _NGX_HTTP_CHANTIER_BODY_H_INCLUDED_ */
