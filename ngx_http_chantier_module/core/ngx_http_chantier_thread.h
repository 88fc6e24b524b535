/*
 * Work off the event loop: one generic task in the configured nginx thread
 * pool (chantier_thread_pool), for everything that costs CPU time: password
 * hashing today, images and PDF next.
 *
 * The request posts "run" with a context it allocated beforehand; "run"
 * executes in a pool thread and touches that context only (no nginx API,
 * no pool allocation, no log, no request).  "done" then runs on the event
 * loop with the request still alive, and ends it (an answer or the next
 * step), exactly once.
 */

#ifndef _NGX_HTTP_CHANTIER_THREAD_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_THREAD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* in a pool thread: NGX_OK, or NGX_ERROR for a failure to log */
typedef ngx_int_t (*ngx_http_chantier_thread_run_pt)(void *data);

/* on the event loop: rc is what run returned */
typedef void (*ngx_http_chantier_thread_done_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t rc);


/*
 * Posts the task: run will execute and done will follow, the request kept
 * alive until then even if the client goes away.  When it cannot be
 * posted, the request is answered here instead: 503 with Retry-After when
 * the worker already has chantier_thread_queue tasks waiting or running
 * (a login storm waits no longer than that queue takes), 500 otherwise;
 * the request may then be gone, and nothing of it may be touched.  A
 * caller with something to undo first asks ngx_http_chantier_thread_busy().
 */
void ngx_http_chantier_thread_post(ngx_http_request_t *r, void *data,
    ngx_http_chantier_thread_run_pt run,
    ngx_http_chantier_thread_done_pt done);


/* 1 when a task posted now would be refused for the queue's bound */
ngx_uint_t ngx_http_chantier_thread_busy(ngx_http_request_t *r);

/* per worker, before any task: see the .c file on memory */
ngx_int_t ngx_http_chantier_thread_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_CHANTIER_THREAD_H_INCLUDED_ */
