/*
 * Request bodies, in one piece.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_chantier_body.h"
#include "ngx_http_chantier_thread.h"


static ngx_int_t ngx_http_chantier_raw_body_run(void *data);
static void ngx_http_chantier_raw_body_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_chantier_raw_body_free(void *data);


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


ngx_int_t
ngx_http_chantier_raw_body_post(ngx_http_request_t *r,
    ngx_http_chantier_raw_body_t *body)
{
    ngx_uint_t           in_file;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* registered before the task: the copy goes with the request */
    cln->handler = ngx_http_chantier_raw_body_free;
    cln->data = body;

    body->bufs = r->request_body->bufs;
    body->len = ngx_http_chantier_body_size(body->bufs, &in_file);
    body->data = NULL;
    body->err = 0;

    ngx_http_chantier_thread_post(r, body, ngx_http_chantier_raw_body_run,
                                  ngx_http_chantier_raw_body_done);

    return NGX_OK;
}


/* in a pool thread: the body in one piece, then the route's check */

static ngx_int_t
ngx_http_chantier_raw_body_run(void *data)
{
    ngx_http_chantier_raw_body_t *body = data;

    body->data = malloc(body->len ? body->len : 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_body_copy(body->bufs, body->data, &body->err)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return body->check ? body->check(body) : NGX_OK;
}


static void
ngx_http_chantier_raw_body_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_chantier_raw_body_t *body = data;

    body->done(r, body, rc);
}


void
ngx_http_chantier_raw_body_release(ngx_http_chantier_raw_body_t *body)
{
    free(body->data);
    body->data = NULL;
}


static void
ngx_http_chantier_raw_body_free(void *data)
{
    ngx_http_chantier_raw_body_release(data);
}
