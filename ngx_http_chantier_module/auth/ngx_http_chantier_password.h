/*
 * Password hashing off the event loop: scrypt costs tens of milliseconds of
 * CPU, so it runs as a thread-pool task (core/ngx_http_chantier_thread.h):
 *
 *     job = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_password_job_t));
 *     ... fill it ...
 *     ngx_http_chantier_thread_post(r, job, ngx_http_chantier_password_run,
 *                                   done);
 */

#ifndef _NGX_HTTP_CHANTIER_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_PASSWORD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../crypto/chantier_password.h"


/*
 * What the thread reads and writes: only these fields, all allocated before
 * the task is posted, none touched by the event loop until "done" runs.
 */
typedef struct {
    /* verify "password" against "stored" (NULL: unknown user) when set */
    char                                *password;
    size_t                               password_len;
    char                                *stored;
    ngx_uint_t                           verify;       /* unsigned:1 */

    /* hash "new_password" when set (after a successful verify if both) */
    char                                *new_password;
    size_t                               new_password_len;

    /* results; a KDF or RNG failure makes run return NGX_ERROR */
    ngx_uint_t                           verified;
    char                                 new_hash[CHANTIER_PASSWORD_HASH_MAX];
} ngx_http_chantier_password_job_t;


/* the task's "run": in a pool thread */
ngx_int_t ngx_http_chantier_password_run(void *data);


#endif /* _NGX_HTTP_CHANTIER_PASSWORD_H_INCLUDED_ */
