/*
 * Password hashing, as a thread-pool task.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_password.h"


ngx_int_t
ngx_http_chantier_password_run(void *data)
{
    ngx_http_chantier_password_job_t  *job = data;

    if (job->verify) {
        job->verified = chantier_password_verify(job->password,
                                                 job->password_len,
                                                 job->stored);
        if (!job->verified) {
            return NGX_OK;
        }
    }

    if (job->new_password != NULL
        && chantier_password_hash(job->new_password, job->new_password_len,
                                  job->new_hash)
           != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
