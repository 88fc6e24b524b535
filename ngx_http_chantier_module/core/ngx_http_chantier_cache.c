/*
 * Fiche documents and PDFs cached per worker, LRU within
 * chantier_fiche_cache_size.
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
    ngx_http_chantier_cache_key_t  key;
    ngx_uint_t                     refs;
    unsigned                       evicted:1;
    unsigned                       owned:1;     /* data is malloc()'s */
    size_t                         len;
    u_char                        *data;        /* follows the struct, or
                                                   owned */
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
static ngx_int_t ngx_http_chantier_cache_make_room(ngx_http_request_t *r,
    ngx_http_chantier_cache_key_t *key, size_t len,
    ngx_http_chantier_cache_doc_t **found);
static ngx_int_t ngx_http_chantier_cache_newer(
    ngx_http_chantier_cache_key_t *a, ngx_http_chantier_cache_key_t *b);
static void ngx_http_chantier_cache_free(ngx_http_chantier_cache_doc_t *doc);


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


void
ngx_http_chantier_cache_key(ngx_http_chantier_cache_key_t *key,
    ngx_http_chantier_cache_kind_e kind, int64_t id, int64_t version,
    int64_t day)
{
    key->kind = kind;
    key->id = id;
    key->version = version;
    key->day = day;
}


ngx_uint_t
ngx_http_chantier_cache_key_equal(ngx_http_chantier_cache_key_t *a,
    ngx_http_chantier_cache_key_t *b)
{
    return a->kind == b->kind && a->id == b->id && a->version == b->version
           && a->day == b->day;
}


ngx_http_chantier_cache_doc_t *
ngx_http_chantier_cache_get(ngx_http_request_t *r,
    ngx_http_chantier_cache_key_t *key)
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

        if (!ngx_http_chantier_cache_key_equal(&doc->key, key)) {
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
ngx_http_chantier_cache_put(ngx_http_request_t *r,
    ngx_http_chantier_cache_key_t *key, u_char *body, size_t len)
{
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_main_conf_t  *mcf;
    ngx_http_chantier_cache_doc_t  *doc;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    cache = mcf->cache;

    if (ngx_http_chantier_cache_make_room(r, key, len, &doc) != NGX_OK) {
        return doc;
    }

    doc = ngx_alloc(sizeof(ngx_http_chantier_cache_doc_t) + len, cache->log);
    if (doc == NULL) {
        return NULL;
    }

    ngx_memzero(doc, sizeof(ngx_http_chantier_cache_doc_t));
    doc->key = *key;
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


/*
 * The same for a body malloc()ed by a pool thread (a PDF of megabytes):
 * the cache takes it over, with no copy on the event loop.  On success
 * *body belongs to the cache; otherwise it stays the caller's.
 */

ngx_http_chantier_cache_doc_t *
ngx_http_chantier_cache_adopt(ngx_http_request_t *r,
    ngx_http_chantier_cache_key_t *key, u_char *body, size_t len)
{
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_main_conf_t  *mcf;
    ngx_http_chantier_cache_doc_t  *doc, *found;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    cache = mcf->cache;

    if (ngx_http_chantier_cache_make_room(r, key, len, &found) != NGX_OK) {
        /* the caller sends its own body, and keeps it */
        return NULL;
    }

    doc = ngx_alloc(sizeof(ngx_http_chantier_cache_doc_t), cache->log);
    if (doc == NULL) {
        return NULL;
    }

    ngx_memzero(doc, sizeof(ngx_http_chantier_cache_doc_t));
    doc->key = *key;
    doc->len = len;
    doc->data = body;

    /* held first: should that fail, the body is still the caller's */
    if (ngx_http_chantier_cache_hold(r, doc) != NGX_OK) {
        ngx_free(doc);
        return NULL;
    }

    doc->owned = 1;

    ngx_queue_insert_head(&cache->lru, &doc->queue);
    cache->size += len;

    return doc;
}


/*
 * Before a put: NGX_OK when the document should be added, room made for
 * it; NGX_DECLINED with *found the same document already here (held for
 * r, or NULL) when it should not: too large, already cached, or older
 * than what is cached.  Older documents of the same object are evicted:
 * they will never be asked for again.
 */

static ngx_int_t
ngx_http_chantier_cache_make_room(ngx_http_request_t *r,
    ngx_http_chantier_cache_key_t *key, size_t len,
    ngx_http_chantier_cache_doc_t **found)
{
    ngx_queue_t                    *q, *next;
    ngx_http_chantier_cache_t      *cache;
    ngx_http_chantier_main_conf_t  *mcf;
    ngx_http_chantier_cache_doc_t  *old;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    cache = mcf->cache;

    *found = NULL;

    if (len > cache->max_size) {
        return NGX_DECLINED;
    }

    for (q = ngx_queue_head(&cache->lru);
         q != ngx_queue_sentinel(&cache->lru);
         q = next)
    {
        next = ngx_queue_next(q);
        old = ngx_queue_data(q, ngx_http_chantier_cache_doc_t, queue);

        if (old->key.kind != key->kind || old->key.id != key->id) {
            continue;
        }

        if (old->key.version == key->version && old->key.day == key->day) {
            /* another request of this worker rendered it meanwhile */
            *found = ngx_http_chantier_cache_get(r, key);
            return NGX_DECLINED;
        }

        if (ngx_http_chantier_cache_newer(&old->key, key)) {
            /* a newer one is already here: no need for this one */
            return NGX_DECLINED;
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

    return NGX_OK;
}


/* versions, then days, only move forward */

static ngx_int_t
ngx_http_chantier_cache_newer(ngx_http_chantier_cache_key_t *a,
    ngx_http_chantier_cache_key_t *b)
{
    return a->version > b->version
           || (a->version == b->version && a->day > b->day);
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
        ngx_http_chantier_cache_free(doc);
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
        ngx_http_chantier_cache_free(doc);
    }
}


static void
ngx_http_chantier_cache_free(ngx_http_chantier_cache_doc_t *doc)
{
    if (doc->owned) {
        free(doc->data);
    }

    ngx_free(doc);
}
