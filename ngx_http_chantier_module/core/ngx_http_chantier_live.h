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


/* announces a new version of a fiche: after its transaction committed */
void ngx_http_chantier_live_publish(int64_t fiche_id, int64_t version);

/*
 * NGX_OK when the request's user may open one more stream (the
 * chantier_events_per_user cap, counted per worker).
 */
ngx_int_t ngx_http_chantier_live_may_open(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);

/*
 * Turns the request into the event stream of fiche_id, whose version is
 * now "version"; last_event_id is the Last-Event-ID the browser sent, or
 * -1.  Sends the headers; the request then lives until the client leaves,
 * its session ends or the worker exits.  On NGX_ERROR nothing was sent and
 * the caller answers 500.
 */
ngx_int_t ngx_http_chantier_live_stream(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t fiche_id, int64_t version,
    int64_t last_event_id);

ngx_int_t ngx_http_chantier_live_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);
void ngx_http_chantier_live_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);


#endif /* _NGX_HTTP_CHANTIER_LIVE_H_INCLUDED_ */
