/*
 * The worker's cache of rendered fiche documents (plain, gzip, brotli) and
 * PDFs, keyed by (kind, fiche id, version, and for a PDF the day of the
 * export, which its first page prints).  A fiche is read far more often than it
 * changes, and its version changes with every change, so a rendering
 * made once serves every reader until the next change, with no
 * invalidation to get wrong.  Access is still checked on every request,
 * before the cache.
 */

#ifndef _NGX_HTTP_CHANTIER_CACHE_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"


typedef struct ngx_http_chantier_cache_doc_s  ngx_http_chantier_cache_doc_t;


typedef enum {
    NGX_HTTP_CHANTIER_CACHE_FICHE = 0,    /* GET fiches/{id} */
    NGX_HTTP_CHANTIER_CACHE_FICHE_GZIP,   /* the same, gzip */
    NGX_HTTP_CHANTIER_CACHE_FICHE_BROTLI, /* the same, brotli */
    NGX_HTTP_CHANTIER_CACHE_PDF,          /* GET fiches/{id}/pdf */
    NGX_HTTP_CHANTIER_CACHE_THUMB         /* GET photos/{id}?size=thumb:
                                             id the photo's, version 0 */
} ngx_http_chantier_cache_kind_e;


typedef struct {
    ngx_http_chantier_cache_kind_e  kind;
    int64_t                         id;         /* the fiche */
    int64_t                         version;    /* of the fiche */
    int64_t                         day;        /* of a PDF's export */
} ngx_http_chantier_cache_key_t;


/* key = (kind, id, version, day); day 0 but for a PDF */
void ngx_http_chantier_cache_key(ngx_http_chantier_cache_key_t *key,
    ngx_http_chantier_cache_kind_e kind, int64_t id, int64_t version,
    int64_t day);
ngx_uint_t ngx_http_chantier_cache_key_equal(
    ngx_http_chantier_cache_key_t *a, ngx_http_chantier_cache_key_t *b);

/*
 * Returns the document of (id, version) or NULL.  A returned document is
 * held until r's pool is destroyed, so it may back the response buffers.
 */
ngx_http_chantier_cache_doc_t *ngx_http_chantier_cache_get(
    ngx_http_request_t *r, ngx_http_chantier_cache_key_t *key);

/*
 * Copies body into the cache under key, dropping older versions of the
 * same fiche's rendering and, past the size limit, the least recently
 * used documents.  Returns the document, held for r like cache_get's, or
 * NULL when memory is short (the caller then answers from its own copy).
 */
ngx_http_chantier_cache_doc_t *ngx_http_chantier_cache_put(
    ngx_http_request_t *r, ngx_http_chantier_cache_key_t *key, u_char *body,
    size_t len);

/*
 * The same without a copy, for a body from malloc(): the cache owns it
 * and frees it when the document goes, unless NULL is returned, when it
 * stays the caller's.
 */
ngx_http_chantier_cache_doc_t *ngx_http_chantier_cache_adopt(
    ngx_http_request_t *r, ngx_http_chantier_cache_key_t *key, u_char *body,
    size_t len);

void ngx_http_chantier_cache_body(ngx_http_chantier_cache_doc_t *doc,
    ngx_str_t *body);

ngx_int_t ngx_http_chantier_cache_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);
void ngx_http_chantier_cache_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);


#endif /* _NGX_HTTP_CHANTIER_CACHE_H_INCLUDED_ */
