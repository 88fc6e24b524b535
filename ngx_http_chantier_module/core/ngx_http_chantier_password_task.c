/*
 * Password hashing in the thread pool.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include "ngx_http_chantier_password_task.h"


/*
 * Hashing threads yield to the event loops: on a busy machine a worker's
 * loop must get the CPU first, or every cheap request waits behind scrypt.
 * Linux applies a nice value to one thread when given its thread id.
 */
#define NGX_HTTP_CHANTIER_HASH_NICE  10


static void ngx_http_chantier_password_thread(void *data, ngx_log_t *log);
static void ngx_http_chantier_password_event(ngx_event_t *ev);


ngx_http_chantier_password_job_t *
ngx_http_chantier_password_job(ngx_http_request_t *r,
    ngx_thread_task_t **task)
{
    ngx_thread_task_t  *t;

    t = ngx_thread_task_alloc(r->pool,
                              sizeof(ngx_http_chantier_password_job_t));
    if (t == NULL) {
        return NULL;
    }

    *task = t;

    return t->ctx;
}


ngx_int_t
ngx_http_chantier_password_post(ngx_http_request_t *r,
    ngx_thread_task_t *task, ngx_http_chantier_password_done_pt done)
{
    ngx_http_chantier_main_conf_t     *mcf;
    ngx_http_chantier_password_job_t  *job;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    job = task->ctx;
    job->request = r;
    job->done = done;

    task->handler = ngx_http_chantier_password_thread;
    task->event.handler = ngx_http_chantier_password_event;
    task->event.data = task;

    if (ngx_thread_task_post(mcf->thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the request must outlive the task even if the client goes away */
    r->main->blocked++;

    return NGX_OK;
}


/*
 * Runs in a pool thread: reads and writes the job only.
 */

static void
ngx_http_chantier_password_thread(void *data, ngx_log_t *log)
{
    ngx_http_chantier_password_job_t  *job = data;

#if (NGX_LINUX)
    (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                       NGX_HTTP_CHANTIER_HASH_NICE);
#endif

    if (job->verify) {
        job->verified = chantier_password_verify(job->password,
                                                 job->password_len,
                                                 job->stored);
        if (!job->verified) {
            return;
        }
    }

    if (job->new_password != NULL) {
        if (chantier_password_hash(job->new_password, job->new_password_len,
                                   job->new_hash)
            != 0)
        {
            job->failed = 1;
        }
    }
}


static void
ngx_http_chantier_password_event(ngx_event_t *ev)
{
    ngx_thread_task_t                 *task;
    ngx_http_request_t                *r;
    ngx_connection_t                  *c;
    ngx_http_chantier_password_job_t  *job;

    task = ev->data;
    job = task->ctx;
    r = job->request;
    c = r->connection;

    r->main->blocked--;

    if (job->failed) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "chantier: password hashing failed");
    }

    job->done(r, job);

    ngx_http_run_posted_requests(c);
}
