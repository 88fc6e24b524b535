/*
 * Per-worker pool of asynchronous libpq connections driven by nginx events.
 *
 * A request asks for one query; the pool sends it on an idle connection or
 * queues it until one is free.  Exactly one call of the handler follows every
 * NGX_OK return of ngx_http_chantier_pg_query(), whatever happens: a result,
 * an SQL error, a timeout, a lost connection.  The caller therefore keeps the
 * request alive (r->main->count) until the handler ran and it finalized.
 */

#ifndef _NGX_HTTP_CHANTIER_PG_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "../ngx_http_chantier_module.h"


/*
 * rc is
 *   NGX_OK        res is PGRES_TUPLES_OK or PGRES_COMMAND_OK;
 *   NGX_ERROR     res holds the SQL error (PQresultErrorField works), the
 *                 connection stays usable;
 *   NGX_DECLINED  PostgreSQL unavailable (no connection could be made, the
 *                 connection broke, or the query timed out); res is NULL;
 *                 the caller answers 503 with Retry-After.
 * res is freed by the pool right after the handler returns: copy what you
 * keep into r->pool.
 */
typedef void (*ngx_http_chantier_pg_handler_pt)(ngx_http_request_t *r,
    PGresult *res, ngx_int_t rc);


/*
 * Sends "sql" with nparams text parameters (NUL-terminated strings, NULL for
 * SQL NULL; the pool copies them).  Returns NGX_OK when the query is sent or
 * queued (the handler will run later, never from inside this call), or
 * NGX_DECLINED when PostgreSQL is known to be down right now (no handler
 * call follows), or NGX_ERROR on allocation failure.
 */
ngx_int_t ngx_http_chantier_pg_query(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params,
    ngx_http_chantier_pg_handler_pt handler);

/*
 * The same with binary values: a parameter i with lengths[i] > 0 is that
 * many bytes in PostgreSQL's binary format (bytea: the bytes themselves),
 * the others text as above; lengths may be NULL.  With binary_result, the
 * result columns come in binary format too (a bytea as its bytes, with
 * PQgetlength), which saves decoding hex on the event loop.
 */
ngx_int_t ngx_http_chantier_pg_query_binary(ngx_http_request_t *r,
    const char *sql, int nparams, const char *const *params,
    const size_t *lengths, ngx_uint_t binary_result,
    ngx_http_chantier_pg_handler_pt handler);

/*
 * Called by a handler: its res is not freed when it returns, but with r's
 * pool (a pool thread may then read it, the request being held).
 */
ngx_int_t ngx_http_chantier_pg_keep_result(ngx_http_request_t *r,
    PGresult *res);

/* called from the module's init_process / exit_process */
ngx_int_t ngx_http_chantier_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);
void ngx_http_chantier_pg_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf);

/* 1 when at least one connection is established and usable */
ngx_uint_t ngx_http_chantier_pg_is_up(ngx_http_chantier_main_conf_t *mcf);


#endif /* _NGX_HTTP_CHANTIER_PG_H_INCLUDED_ */
