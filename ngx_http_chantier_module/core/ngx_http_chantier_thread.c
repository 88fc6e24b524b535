/*
 * The generic thread-pool task.  As in nginx's own thread handlers
 * (ngx_http_copy_filter_module.c, ngx_thread_pool.c), the task is a
 * ngx_thread_task_t allocated in the request pool with our record as its
 * context; its completion event comes back to the worker's event loop
 * through the pool's notification, and the request is held by
 * r->main->blocked meanwhile, so that nginx neither finalizes nor frees it
 * while a thread may still write into its memory.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include "../ngx_http_chantier_module.h"
#include "ngx_http_chantier_thread.h"


/*
 * Pool threads yield to the event loops: on a busy machine a worker's loop
 * must get the CPU first, or every cheap request waits behind scrypt or an
 * image.  Linux applies a nice value to one thread when given its thread
 * id; it stays with the thread, so setting it again is free.
 */
#define NGX_HTTP_CHANTIER_THREAD_NICE  10


typedef struct {
    ngx_http_request_t                *request;
    void                              *data;
    ngx_http_chantier_thread_run_pt    run;
    ngx_http_chantier_thread_done_pt   done;
    ngx_int_t                          rc;        /* run's, for done */
} ngx_http_chantier_thread_t;


static void ngx_http_chantier_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_chantier_thread_event(ngx_event_t *ev);


ngx_int_t
ngx_http_chantier_thread_post(ngx_http_request_t *r, void *data,
    ngx_http_chantier_thread_run_pt run, ngx_http_chantier_thread_done_pt done)
{
    ngx_thread_task_t              *task;
    ngx_http_chantier_thread_t     *t;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_chantier_thread_t));
    if (task == NULL) {
        return NGX_ERROR;
    }

    t = task->ctx;
    t->request = r;
    t->data = data;
    t->run = run;
    t->done = done;
    t->rc = NGX_ERROR;

    task->handler = ngx_http_chantier_thread_handler;
    task->event.handler = ngx_http_chantier_thread_event;
    task->event.data = task;

    if (ngx_thread_task_post(mcf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "chantier: task not posted to thread pool \"%V\"",
                      &mcf->thread_pool_name);
        return NGX_ERROR;
    }

    r->main->blocked++;

    return NGX_OK;
}


/* in a pool thread: the record and the caller's context only */

static void
ngx_http_chantier_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_chantier_thread_t  *t = data;

#if (NGX_LINUX)
    (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                       NGX_HTTP_CHANTIER_THREAD_NICE);
#endif

    t->rc = t->run(t->data);
}


static void
ngx_http_chantier_thread_event(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_thread_task_t           *task;
    ngx_http_request_t          *r;
    ngx_http_chantier_thread_t  *t;

    task = ev->data;
    t = task->ctx;
    r = t->request;
    c = r->connection;

    r->main->blocked--;

    if (t->rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "chantier: thread-pool task failed");
    }

    t->done(r, t->data, t->rc);

    ngx_http_run_posted_requests(c);
}
