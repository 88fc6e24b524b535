/*
 * Fiche documents cached per worker, LRU within chantier_fiche_cache_size.
 *
 * A document may be evicted while a slow client still receives it: each
 * request that sends a document holds a reference (released by a cleanup
 * of the request pool), and an evicted document is freed by whoever drops
 * the last reference.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_cache.h"


struct ngx_http_chantier_cache_doc_s {
    ngx_queue_t                    queue;       /* LRU, most recent first */
    int64_t                        id;
    int64_t                        version;
    ngx_uint_t                     refs;
    ngx_uint_t                     evicted;     /* unsigned:1 */
    size_t                         len;
    u_char                        *data;        /* follows the struct */
};


typedef struct {
    ngx_queue_t                    lru;
    size_t                         size;
    size_t                         max_size;
    ngx_log_t                     *log;
} ngx_http_chantier_cache_t;


static ngx_int_t ngx_http_chantier_cache_hold(ngx_http_request_t *r,
    ngx_http_chantier_cache_doc_t *doc);
static void ngx_http_chantier_cache_release(void *data);
static void ngx_http_chantier_cache_evict(ngx_http_chantier_cache_t *cache,
    ngx_http_chantier_cache_doc_t *doc);


ngx_int_t
ngx_http_chantier_cache_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_cache_t  *cache;

    cache = ngx_pcalloc(cycle->pool, sizeof(ngx_http_chantier_cache_t));
    if (cache == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&cache->lru);
    cache->max_size = mcf->fiche_cache_size;
    cache->log = cycle->log;

    mcf->cache = cache;

    return NGX_OK;
}


void
ngx_http_chantier_cache_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_queue_t                    *q;
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_cache_doc_t  *doc;

    cache = mcf->cache;

    if (cache == NULL) {
        return;
    }

    while (!ngx_queue_empty(&cache->lru)) {
        q = ngx_queue_head(&cache->lru);
        doc = ngx_queue_data(q, ngx_http_chantier_cache_doc_t, queue);
        ngx_http_chantier_cache_evict(cache, doc);
    }
}


ngx_http_chantier_cache_doc_t *
ngx_http_chantier_cache_get(ngx_http_request_t *r, int64_t id,
    int64_t version)
{
    ngx_queue_t                    *q;
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_main_conf_t  *mcf;
    ngx_http_chantier_cache_doc_t  *doc;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    cache = mcf->cache;

    for (q = ngx_queue_head(&cache->lru);
         q != ngx_queue_sentinel(&cache->lru);
         q = ngx_queue_next(q))
    {
        doc = ngx_queue_data(q, ngx_http_chantier_cache_doc_t, queue);

        if (doc->id != id || doc->version != version) {
            continue;
        }

        if (ngx_http_chantier_cache_hold(r, doc) != NGX_OK) {
            return NULL;
        }

        ngx_queue_remove(&doc->queue);
        ngx_queue_insert_head(&cache->lru, &doc->queue);

        return doc;
    }

    return NULL;
}


ngx_http_chantier_cache_doc_t *
ngx_http_chantier_cache_put(ngx_http_request_t *r, int64_t id,
    int64_t version, u_char *body, size_t len)
{
    ngx_queue_t                    *q, *next;
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_main_conf_t  *mcf;
    ngx_http_chantier_cache_doc_t  *doc, *old;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    cache = mcf->cache;

    if (len > cache->max_size) {
        return NULL;
    }

    /* older versions of this fiche will never be asked for again */
    for (q = ngx_queue_head(&cache->lru);
         q != ngx_queue_sentinel(&cache->lru);
         q = next)
    {
        next = ngx_queue_next(q);
        old = ngx_queue_data(q, ngx_http_chantier_cache_doc_t, queue);

        if (old->id != id) {
            continue;
        }

        if (old->version == version) {
            /* another request of this worker rendered it meanwhile */
            return ngx_http_chantier_cache_get(r, id, version);
        }

        if (old->version > version) {
            /* a newer version is already here: no need for this one */
            return NULL;
        }

        ngx_http_chantier_cache_evict(cache, old);
    }

    while (cache->size + len > cache->max_size
           && !ngx_queue_empty(&cache->lru))
    {
        q = ngx_queue_last(&cache->lru);
        old = ngx_queue_data(q, ngx_http_chantier_cache_doc_t, queue);
        ngx_http_chantier_cache_evict(cache, old);
    }

    doc = ngx_alloc(sizeof(ngx_http_chantier_cache_doc_t) + len, cache->log);
    if (doc == NULL) {
        return NULL;
    }

    doc->id = id;
    doc->version = version;
    doc->refs = 0;
    doc->evicted = 0;
    doc->len = len;
    doc->data = (u_char *) doc + sizeof(ngx_http_chantier_cache_doc_t);

    ngx_memcpy(doc->data, body, len);

    ngx_queue_insert_head(&cache->lru, &doc->queue);
    cache->size += len;

    if (ngx_http_chantier_cache_hold(r, doc) != NGX_OK) {
        return NULL;
    }

    return doc;
}


void
ngx_http_chantier_cache_body(ngx_http_chantier_cache_doc_t *doc,
    ngx_str_t *body)
{
    body->data = doc->data;
    body->len = doc->len;
}


static ngx_int_t
ngx_http_chantier_cache_hold(ngx_http_request_t *r,
    ngx_http_chantier_cache_doc_t *doc)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_chantier_cache_release;
    cln->data = doc;

    doc->refs++;

    return NGX_OK;
}


static void
ngx_http_chantier_cache_release(void *data)
{
    ngx_http_chantier_cache_doc_t  *doc = data;

    doc->refs--;

    if (doc->refs == 0 && doc->evicted) {
        ngx_free(doc);
    }
}


static void
ngx_http_chantier_cache_evict(ngx_http_chantier_cache_t *cache,
    ngx_http_chantier_cache_doc_t *doc)
{
    ngx_queue_remove(&doc->queue);
    cache->size -= doc->len;

    doc->evicted = 1;

    if (doc->refs == 0) {
        ngx_free(doc);
    }
}
