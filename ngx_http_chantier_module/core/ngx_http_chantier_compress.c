#include <zlib.h>
#include <brotli/encode.h>

#include "ngx_http_chantier_compress.h"
#include "ngx_http_chantier_http.h"


/*
 * gzip level 6, zlib's default: 320 KB of fiche JSON becomes about a
 * twentieth of it in 1.5 ms; level 9 saves 5 % more for 60 % more time.
 * windowBits 15 + 16 asks for the gzip wrapper rather than zlib's.
 *
 * brotli quality 5: 29 % smaller than gzip 6 in 5 ms; quality 9 saves 3 %
 * more for 9 ms, and 11 (25 % more) takes 360 ms, too long for a reader
 * who waits for it.  Measured on the big fiche (make bench's).
 */
#define NGX_HTTP_CHANTIER_GZIP_LEVEL     6
#define NGX_HTTP_CHANTIER_GZIP_BITS      (15 + 16)
#define NGX_HTTP_CHANTIER_BROTLI_QUALITY 5


static ngx_int_t ngx_http_chantier_compress_gzip(
    ngx_http_chantier_compress_t *job);
static ngx_int_t ngx_http_chantier_compress_brotli(
    ngx_http_chantier_compress_t *job);
static ngx_uint_t ngx_http_chantier_compress_names_br(ngx_str_t *accept);


ngx_int_t
ngx_http_chantier_compress_run(void *data)
{
    ngx_http_chantier_compress_t *job = data;

    ngx_int_t  rc;

    job->out = NULL;
    job->out_len = 0;

    rc = (job->encoding == NGX_HTTP_CHANTIER_BROTLI)
         ? ngx_http_chantier_compress_brotli(job)
         : ngx_http_chantier_compress_gzip(job);

    if (rc != NGX_OK) {
        free(job->out);
        job->out = NULL;
        job->out_len = 0;
    }

    return rc;
}


static ngx_int_t
ngx_http_chantier_compress_gzip(ngx_http_chantier_compress_t *job)
{
    int       rc;
    uLong     bound;
    z_stream  zs;

    ngx_memzero(&zs, sizeof(z_stream));

    if (deflateInit2(&zs, NGX_HTTP_CHANTIER_GZIP_LEVEL, Z_DEFLATED,
                     NGX_HTTP_CHANTIER_GZIP_BITS, MAX_MEM_LEVEL - 1,
                     Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        return NGX_ERROR;
    }

    /* the bound of the whole output: one deflate() call finishes it */
    bound = deflateBound(&zs, job->in_len);

    job->out = malloc(bound);
    if (job->out == NULL) {
        (void) deflateEnd(&zs);
        return NGX_ERROR;
    }

    zs.next_in = job->in;
    zs.avail_in = job->in_len;
    zs.next_out = job->out;
    zs.avail_out = bound;

    rc = deflate(&zs, Z_FINISH);

    job->out_len = zs.total_out;

    (void) deflateEnd(&zs);

    return (rc == Z_STREAM_END) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_chantier_compress_brotli(ngx_http_chantier_compress_t *job)
{
    size_t  bound;

    bound = BrotliEncoderMaxCompressedSize(job->in_len);
    if (bound == 0) {
        return NGX_ERROR;
    }

    job->out = malloc(bound);
    if (job->out == NULL) {
        return NGX_ERROR;
    }

    job->out_len = bound;

    if (!BrotliEncoderCompress(NGX_HTTP_CHANTIER_BROTLI_QUALITY,
                               BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT,
                               job->in_len, job->in, &job->out_len,
                               job->out))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_chantier_encoding_e
ngx_http_chantier_compress_accepted(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_http_chantier_header_in(r, "Accept-Encoding");

    if (h != NULL && ngx_http_chantier_compress_names_br(&h->value)) {
        return NGX_HTTP_CHANTIER_BROTLI;
    }

#if (NGX_HTTP_GZIP)
    if (ngx_http_gzip_ok(r) == NGX_OK) {
        return NGX_HTTP_CHANTIER_GZIP;
    }
#endif

    return NGX_HTTP_CHANTIER_IDENTITY;
}


/*
 * Accept-Encoding names "br": an element "br", case aside, whose
 * parameters, if any, do not say q=0 (q=0, q=0.0, q=0.000).
 */

static ngx_uint_t
ngx_http_chantier_compress_names_br(ngx_str_t *accept)
{
    u_char  *p, *end, *element, *name_end, *q;

    p = accept->data;
    end = p + accept->len;

    while (p < end) {
        element = p;

        while (p < end && *p != ',') {
            p++;
        }

        /* the element is [element, p) */
        while (element < p && (*element == ' ' || *element == '\t')) {
            element++;
        }

        name_end = element;

        while (name_end < p && *name_end != ';' && *name_end != ' '
               && *name_end != '\t')
        {
            name_end++;
        }

        if (name_end - element == 2
            && ngx_strncasecmp(element, (u_char *) "br", 2) == 0)
        {
            q = ngx_strlcasestrn(name_end, p, (u_char *) "q=", 2 - 1);

            if (q == NULL) {
                return 1;
            }

            /* q=0 with only zeros after its point refuses */
            for (q += 2; q < p && (*q == '0' || *q == '.'); q++) {
                /* void */
            }

            return q < p && *q >= '1' && *q <= '9';
        }

        p++;
    }

    return 0;
}


ngx_int_t
ngx_http_chantier_compress_set_encoding(ngx_http_request_t *r,
    ngx_http_chantier_encoding_e encoding)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Encoding");

    if (encoding == NGX_HTTP_CHANTIER_BROTLI) {
        ngx_str_set(&h->value, "br");

    } else {
        ngx_str_set(&h->value, "gzip");
    }

    r->headers_out.content_encoding = h;

    return NGX_OK;
}
