#ifndef _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#include "../ngx_http_chantier_module.h"


/* configuration time: chantier_thread_cpu_affinity */
char *ngx_http_chantier_cpu_affinity(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* configuration time: the shared zone of mcf->cpu_slots CPU slots */
ngx_http_chantier_cpu_t *ngx_http_chantier_cpu_add(ngx_conf_t *cf,
    ngx_http_chantier_main_conf_t *mcf);

/* in a pool thread, before its task: its priority and its CPUs */
void ngx_http_chantier_cpu_place(ngx_http_chantier_cpu_t *cpu,
    ngx_log_t *log);

/* in a pool thread: wait for a slot (NGX_OK), or NGX_ERROR to run without */
ngx_int_t ngx_http_chantier_cpu_take(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t *slot);
void ngx_http_chantier_cpu_give(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t slot);


#endif /* _NGX_HTTP_CHANTIER_CPU_H_INCLUDED_ */
