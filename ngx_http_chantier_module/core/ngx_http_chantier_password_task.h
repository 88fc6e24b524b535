/*
 * Password hashing off the event loop: scrypt costs tens of milliseconds of
 * CPU, so it runs in the configured nginx thread pool.
 */

#ifndef _NGX_HTTP_CHANTIER_PASSWORD_TASK_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_PASSWORD_TASK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../ngx_http_chantier_module.h"
#include "../crypto/chantier_password.h"


typedef struct ngx_http_chantier_password_job_s
    ngx_http_chantier_password_job_t;

typedef void (*ngx_http_chantier_password_done_pt)(ngx_http_request_t *r,
    ngx_http_chantier_password_job_t *job);


/*
 * What the thread reads and writes: only these fields, all allocated before
 * the task is posted, none touched by the event loop until "done" runs.
 */
struct ngx_http_chantier_password_job_s {
    /* verify "password" against "stored" (NULL: unknown user) when set */
    char                                *password;
    size_t                               password_len;
    char                                *stored;
    ngx_uint_t                           verify;       /* unsigned:1 */

    /* hash "new_password" when set (after a successful verify if both) */
    char                                *new_password;
    size_t                               new_password_len;

    /* results */
    ngx_uint_t                           verified;
    ngx_uint_t                           failed;       /* KDF/RNG failure */
    char                                 new_hash[CHANTIER_PASSWORD_HASH_MAX];

    ngx_http_request_t                  *request;
    ngx_http_chantier_password_done_pt   done;
};


/*
 * Allocates a job in the request pool; fill it, then post it.
 */
ngx_http_chantier_password_job_t *ngx_http_chantier_password_job(
    ngx_http_request_t *r, ngx_thread_task_t **task);

/*
 * Posts the job.  NGX_OK: "done" will run on the event loop later; the
 * request is kept alive until then.
 */
ngx_int_t ngx_http_chantier_password_post(ngx_http_request_t *r,
    ngx_thread_task_t *task, ngx_http_chantier_password_done_pt done);


#endif /* _NGX_HTTP_CHANTIER_PASSWORD_TASK_H_INCLUDED_ */
