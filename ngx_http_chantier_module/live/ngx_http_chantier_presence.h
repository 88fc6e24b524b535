/*
 * Presence: who else is looking at a fiche, i.e. has an event stream of it
 * open on any worker of any node.
 *
 * The set lives in Redis (core/lua/presence.lua).  A worker counts its own
 * streams of each fiche by user, joins the set when a user's first stream
 * opens, leaves it when the last one ends, and refreshes its entries while
 * they last; entries of a worker that died expire.  Every change of the set
 * is published once on the fiche's channel, which every worker already
 * hears for the fiche's versions: a worker keeps the latest set heard and
 * writes it to each of its streams, less the stream's own user.  So an
 * event costs no Redis round trip, and a change of the set one script call
 * and one message per worker, however many streams watch.
 */

#ifndef _NGX_HTTP_CHANTIER_PRESENCE_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_PRESENCE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* how often a worker refreshes its entries, and how long they last */
#define NGX_HTTP_CHANTIER_PRESENCE_REFRESH   5000
#define NGX_HTTP_CHANTIER_PRESENCE_LIFETIME  15000

/* the message of a change of the set, on the fiche's channel */
#define NGX_HTTP_CHANTIER_PRESENCE_MESSAGE   "presence\n"


/* one fiche's presence, as one worker knows it */
typedef struct {
    ngx_queue_t                   users;        /* of this worker's streams */
    ngx_str_t                     heard;        /* the latest set, or empty */
    ngx_uint_t                    known;        /* unsigned:1 */
} ngx_http_chantier_presence_t;


void ngx_http_chantier_presence_init(ngx_http_chantier_presence_t *p);

/*
 * A stream of user_id, who appears to the others as viewer (the JSON
 * object {"id","name","role"}), opened or ended on this worker.
 */
ngx_int_t ngx_http_chantier_presence_join(ngx_http_chantier_presence_t *p,
    int64_t fiche_id, int64_t user_id, ngx_str_t *viewer, ngx_log_t *log);
void ngx_http_chantier_presence_leave(ngx_http_chantier_presence_t *p,
    int64_t fiche_id, int64_t user_id);

/* keeps this worker's entries of the fiche alive */
void ngx_http_chantier_presence_refresh(ngx_http_chantier_presence_t *p,
    int64_t fiche_id);

/*
 * A set published on the fiche's channel (the message without its first
 * line): answers 1 when it differs from the set known before.
 */
ngx_uint_t ngx_http_chantier_presence_heard(ngx_http_chantier_presence_t *p,
    ngx_str_t *set, ngx_log_t *log);

/*
 * The event of the set known for a stream of user_id: size() is enough
 * room for it, write() fills it and returns its end.
 */
size_t ngx_http_chantier_presence_event_size(ngx_http_chantier_presence_t *p);
u_char *ngx_http_chantier_presence_event(ngx_http_chantier_presence_t *p,
    int64_t user_id, u_char *buf);

/* the fiche has no stream left on this worker */
void ngx_http_chantier_presence_free(ngx_http_chantier_presence_t *p);

ngx_int_t ngx_http_chantier_presence_init_process(ngx_log_t *log);


#endif /* _NGX_HTTP_CHANTIER_PRESENCE_H_INCLUDED_ */
