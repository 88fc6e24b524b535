/*
 * What a worker knows without asking: sessions it has looked up in Redis,
 * and the version and client of fiches it has served, kept true by the
 * messages its subscriber hears (live/ngx_http_chantier_live.c).  The fast
 * path of GET /fiches/{id}: a read whose answer the worker knows costs no
 * round trip at all.  See the block comment of ngx_http_chantier_known.c
 * for why this never grants an access that PostgreSQL would refuse.
 */

#ifndef _NGX_HTTP_CHANTIER_KNOWN_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_KNOWN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "../ngx_http_chantier_module.h"


/* what is known is asked again after this long (ms), PostgreSQL willing */
#define NGX_HTTP_CHANTIER_KNOWN_MAX_AGE   5000

/* entries of each kind, per worker */
#define NGX_HTTP_CHANTIER_KNOWN_MAX       4096


/* the mark (ngx_http_chantier_module.h) of a question of that kind */typedef enum {
    NGX_HTTP_CHANTIER_KNOWN_SESSIONS = 0,
    NGX_HTTP_CHANTIER_KNOWN_FICHES
} ngx_http_chantier_known_kind_e;

void ngx_http_chantier_known_mark(ngx_http_chantier_known_mark_t *mark,
    ngx_http_chantier_known_kind_e kind);


/*
 * The session of a cookie's key, filled into *session (in pool) when
 * known and not older than the maximum age: NGX_OK, else NGX_DECLINED.
 */
ngx_int_t ngx_http_chantier_known_session(ngx_str_t *key,
    ngx_http_chantier_session_t *session, ngx_pool_t *pool);
void ngx_http_chantier_known_session_put(ngx_http_chantier_known_mark_t *mark,
    ngx_http_chantier_session_t *session);

/*
 * A fiche: NGX_OK with its version and client when known, *fresh telling
 * whether it is younger than the maximum age (an older one serves only
 * while PostgreSQL does not answer); NGX_DECLINED when unknown.
 */
ngx_int_t ngx_http_chantier_known_fiche(int64_t id, int64_t *version,
    int64_t *client_id, ngx_uint_t *fresh);
void ngx_http_chantier_known_fiche_put(ngx_http_chantier_known_mark_t *mark,
    int64_t id, int64_t version, int64_t client_id);


/* the messages, from live/ngx_http_chantier_live.c */
void ngx_http_chantier_known_fiche_changed(int64_t id, int64_t version);
void ngx_http_chantier_known_fiche_access(int64_t id);
void ngx_http_chantier_known_client_changed(int64_t client_id);
void ngx_http_chantier_known_session_ended(ngx_str_t *key);
void ngx_http_chantier_known_user_sessions_ended(int64_t user_id,
    ngx_str_t *keep);

/* the subscriber is up with all its subscriptions, or not any more */
void ngx_http_chantier_known_subscribed(ngx_uint_t up);

ngx_int_t ngx_http_chantier_known_init_process(ngx_cycle_t *cycle);
void ngx_http_chantier_known_exit_process(void);


#endif /* _NGX_HTTP_CHANTIER_KNOWN_H_INCLUDED_ */
