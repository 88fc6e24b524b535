/*
 * Request bodies, in one piece.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_chantier_body.h"


size_t
ngx_http_chantier_body_size(ngx_chain_t *bufs, ngx_uint_t *in_file)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;
    *in_file = 0;

    for (cl = bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            len += (size_t) (b->file_last - b->file_pos);
            *in_file = 1;

        } else {
            len += (size_t) (b->last - b->pos);
        }
    }

    return len;
}


ngx_int_t
ngx_http_chantier_body_copy(ngx_chain_t *bufs, u_char *dst, ngx_err_t *err)
{
    u_char       *p;
    ssize_t       n;
    size_t        want;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    p = dst;

    for (cl = bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            /* a chunked body ends with an empty buffer, pos and last NULL */
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        want = (size_t) (b->file_last - b->file_pos);

        while (want > 0) {
            n = pread(b->file->fd, p, want, b->file_last - (off_t) want);

            if (n <= 0) {
                *err = (n == 0) ? NGX_EINVAL : ngx_errno;
                return NGX_ERROR;
            }

            p += n;
            want -= n;
        }
    }

    return NGX_OK;
}
