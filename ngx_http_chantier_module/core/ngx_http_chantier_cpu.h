#ifndef _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#include "../ngx_http_chantier_module.h"


/* configuration time: the shared zone of "slots" CPU slots */
ngx_http_chantier_cpu_t *ngx_http_chantier_cpu_add(ngx_conf_t *cf,
    ngx_uint_t slots);

/* in a pool thread: wait for a slot (NGX_OK), or NGX_ERROR to run without */
ngx_int_t ngx_http_chantier_cpu_take(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t *slot);
void ngx_http_chantier_cpu_give(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t slot);


#endif /* _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_ */
