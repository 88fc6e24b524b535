/*
 * The generic thread-pool task.  As in nginx's own thread handlers
 * (ngx_http_copy_filter_module.c, ngx_thread_pool.c), the task is a
 * ngx_thread_task_t allocated in the request pool with our record as its
 * context; its completion event comes back to the worker's event loop
 * through the pool's notification, and the request is held by
 * r->main->blocked meanwhile, so that nginx neither finalizes nor frees it
 * while a thread may still write into its memory.
 *
 * A graceful exit (reload, quit) waits for the worker's timers that are
 * not cancelable, not for thread tasks: without one of its own, a worker
 * told to quit during a login would exit under it, dropping the answer.
 * So each task holds such a timer ("alive") from its post to its
 * completion.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#if (NGX_LINUX)
#include <malloc.h>
#endif

#include "../ngx_http_chantier_module.h"
#include "ngx_http_chantier_thread.h"
#include "ngx_http_chantier_http.h"
#include "ngx_http_chantier_cpu.h"


typedef struct {
    ngx_http_request_t                *request;
    void                              *data;
    ngx_http_chantier_thread_run_pt    run;
    ngx_http_chantier_thread_done_pt   done;
    ngx_int_t                          rc;        /* run's, for done */
    ngx_http_chantier_cpu_t           *cpu;       /* its slots */
    ngx_event_t                        alive;     /* keeps the worker */
} ngx_http_chantier_thread_t;


static void ngx_http_chantier_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_chantier_thread_event(ngx_event_t *ev);
static void ngx_http_chantier_thread_alive(ngx_event_t *ev);


/* how often a task still running says so, at "info" */
#define NGX_HTTP_CHANTIER_THREAD_ALIVE  60000


void
ngx_http_chantier_thread_post(ngx_http_request_t *r, void *data,
    ngx_http_chantier_thread_run_pt run, ngx_http_chantier_thread_done_pt done)
{
    ngx_thread_task_t              *task;
    ngx_http_chantier_thread_t     *t;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    if (mcf->thread_tasks >= mcf->thread_queue) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "chantier: %ui thread-pool tasks already waiting or "
                      "running in this worker (chantier_thread_queue)",
                      mcf->thread_tasks);
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_THREADS);
        return;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_chantier_thread_t));
    if (task == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    t = task->ctx;
    t->request = r;
    t->data = data;
    t->run = run;
    t->done = done;
    t->rc = NGX_ERROR;
    t->cpu = mcf->cpu;

    task->handler = ngx_http_chantier_thread_handler;
    task->event.handler = ngx_http_chantier_thread_event;
    task->event.data = task;

    if (ngx_thread_task_post(mcf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "chantier: task not posted to thread pool \"%V\"",
                      &mcf->thread_pool_name);
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_THREADS);
        return;
    }

    r->main->blocked++;
    mcf->thread_tasks++;

    t->alive.handler = ngx_http_chantier_thread_alive;
    t->alive.data = r;
    t->alive.log = r->connection->log;
    ngx_add_timer(&t->alive, NGX_HTTP_CHANTIER_THREAD_ALIVE);
}


/*
 * Memory of the tasks.  scrypt takes 16 MiB for each hash, in the thread
 * that hashes; glibc gives each thread an arena, and once a block that
 * large is freed it raises its mmap threshold, so the next 16 MiB come
 * from the arena and stay there: each hashing thread kept 16 MiB for good
 * (64 MiB a worker with 4 threads, measured by t/91-memory.t).  A fixed
 * threshold keeps every block of 1 MiB or more mmap()ed, handed back to
 * the system as soon as it is freed.  Nothing of ours allocates that much
 * often: a fiche document of 320 KB stays below it.
 */

#define NGX_HTTP_CHANTIER_THREAD_MMAP_THRESHOLD  (1024 * 1024)


ngx_int_t
ngx_http_chantier_thread_init_process(ngx_cycle_t *cycle)
{
#if (NGX_LINUX) && defined(M_MMAP_THRESHOLD)

    if (mallopt(M_MMAP_THRESHOLD, NGX_HTTP_CHANTIER_THREAD_MMAP_THRESHOLD)
        != 1)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "chantier: mallopt(M_MMAP_THRESHOLD) failed: hashing "
                      "threads will keep their memory");
    }

#endif

    return NGX_OK;
}


ngx_uint_t
ngx_http_chantier_thread_busy(ngx_http_request_t *r)
{
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    return mcf->thread_tasks >= mcf->thread_queue;
}


/* in a pool thread: the record and the caller's context only */

static void
ngx_http_chantier_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_chantier_thread_t  *t = data;

    ngx_int_t   taken;
    ngx_uint_t  slot;

    ngx_http_chantier_cpu_place(t->cpu, log);

    /* without a slot (a mutex error) the task still runs: it is awaited */
    taken = ngx_http_chantier_cpu_take(t->cpu, &slot);

    t->rc = t->run(t->data);

    if (taken == NGX_OK) {
        ngx_http_chantier_cpu_give(t->cpu, slot);
    }
}


static void
ngx_http_chantier_thread_event(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_thread_task_t              *task;
    ngx_http_request_t             *r;
    ngx_http_chantier_thread_t     *t;
    ngx_http_chantier_main_conf_t  *mcf;

    task = ev->data;
    t = task->ctx;
    r = t->request;
    c = r->connection;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    r->main->blocked--;
    mcf->thread_tasks--;

    if (t->alive.timer_set) {
        ngx_del_timer(&t->alive);
    }

    if (t->rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "chantier: thread-pool task failed");
    }

    t->done(r, t->data, t->rc);

    ngx_http_run_posted_requests(c);
}


/* a task that runs for a minute is worth a line; the worker keeps waiting */

static void
ngx_http_chantier_thread_alive(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "chantier: a thread-pool task is still running");

    ngx_add_timer(ev, NGX_HTTP_CHANTIER_THREAD_ALIVE);
}
