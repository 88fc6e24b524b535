/*
 * Live updates: server-sent event streams of fiches, fed by Redis pub/sub.
 *
 * A committed change of a fiche is published on chantier:fiche:<id> with
 * its new version; every worker of every nginx node subscribes once and
 * writes the event to its own open streams of that fiche.
 */

#ifndef _NGX_HTTP_CHANTIER_LIVE_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_LIVE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"


/* a fiche's changes are published here: versions, access, presence */
#define NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL  "chantier:fiche:"

/* the version that means "who may read the fiche changed" */
#define NGX_HTTP_CHANTIER_LIVE_ACCESS  0

/* announces a new version of a fiche: after its transaction committed */
void ngx_http_chantier_live_publish(int64_t fiche_id, int64_t version);

/*
 * Opening a stream takes two steps around the access check (a PostgreSQL
 * query).  reserve() registers the stream at once, so that it counts
 * against the user's cap (chantier_events_per_user, per worker) and hears
 * of the fiche's versions while the check runs: none is lost in between.
 * It answers NGX_DECLINED over the cap.
 *
 * start() then sends the headers, and catches the page up: with an event
 * at once when last_event_id (Last-Event-ID, ?since=N, or -1) is older
 * than the newest version known.  From then on the stream's user counts as
 * looking at the fiche (live/ngx_http_chantier_presence.h), and appears
 * to the others as viewer, a JSON object {"id","name","role"}.  The request lives on until the client
 * leaves, its session ends or the worker exits.  NGX_DECLINED: the
 * session ended or the worker is exiting meanwhile; nothing was sent.
 *
 * A reserved stream that is not started is dropped with its request.
 */
ngx_int_t ngx_http_chantier_live_reserve(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t fiche_id);
ngx_int_t ngx_http_chantier_live_start(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t version, int64_t last_event_id,
    ngx_str_t *viewer);

ngx_int_t ngx_http_chantier_live_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);
void ngx_http_chantier_live_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);


#endif /* _NGX_HTTP_CHANTIER_LIVE_H_INCLUDED_ */
