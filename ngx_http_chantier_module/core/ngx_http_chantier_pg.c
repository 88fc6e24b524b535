
/*
 * Per-worker pool of asynchronous libpq connections driven by nginx events.
 *
 * Each worker opens pg_pool_size connections in init_process and keeps them
 * for its whole life.  A connection goes through this state machine:
 *
 *              PQconnectStart()              PQconnectPoll() = OK
 *    CLOSED ---------------------> CONNECTING --------------------> IDLE
 *     ^  ^   (its timer fires)         |                           |  ^
 *     |  |                             | failed or timed out       |  |
 *     |  +---- backoff 100 ms..5 s <---+       PQsendQueryParams() |  |
 *     |                                                            v  |
 *     |                                                     SENDING   |
 *     |                                                        |      |
 *     |                                          PQflush() = 0 |      |
 *     |                                                        v      |
 *     +------ lost, or query timed out: reconnect now ---- READING    |
 *                                                              |      |
 *                                                              +------+
 *                                                  PQgetResult() = NULL
 *
 * CONNECTING  libpq's PQconnectPoll() says what it waits for (readable or
 *             writable) and we register exactly that with nginx, as libpq
 *             was designed for select().  libpq may close its socket and
 *             open another one (next address of a multi-host conninfo, SSL
 *             fallback...): the nginx wrapper is then rebuilt around the new
 *             descriptor.  pg_connect_timeout bounds the whole dance.
 * SENDING     PQsendQueryParams() queued the query in libpq's output buffer;
 *             PQflush() is called on each write event until it returns 0.
 * READING     PQconsumeInput() on each read event, then PQgetResult() while
 *             PQisBusy() is 0, keeping the last result, until NULL: the
 *             query is over, the handler runs, the connection is IDLE again
 *             and takes the oldest waiting query, if any.
 * IDLE        read interest stays on, so that a server going away (restart,
 *             pg_terminate_backend) is noticed at once and not by the next
 *             query.
 *
 * Events are registered level-triggered (NGX_LEVEL_EVENT, also under epoll,
 * as nginx does for listening sockets).  libpq reads at most one buffer per
 * PQconsumeInput() call and gives no way to tell "the socket is drained", so
 * with edge-triggered events a result split over several reads could stall.
 * Level-triggered, the event simply fires again while bytes are left.  The
 * one place the kernel cannot see is OpenSSL's own buffer of decrypted
 * bytes: ngx_http_chantier_pg_ssl_pending() checks it.
 *
 * Queries that find no IDLE connection wait in a FIFO bounded to
 * NGX_HTTP_CHANTIER_PG_QUEUE_MAX.  Invariant: when the queue is not empty,
 * no connection is IDLE (every transition to IDLE dispatches the queue).
 * Each query carries its own timer (pg_query_timeout) from the moment it is
 * accepted, waiting or in flight.
 *
 * The pool is "failed" when no connection is up and the last connect
 * attempt failed: queries are then refused at once (NGX_DECLINED, the
 * client gets a quick 503) and the waiting ones are failed.  The first
 * connection that comes up clears it.
 *
 * Handlers are only called from event handlers (socket events, timers),
 * never from inside ngx_http_chantier_pg_query(), and always after the
 * pool's own state is consistent again: a handler may send its next query
 * right away.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/ssl.h>

#include "ngx_http_chantier_pg.h"


#define NGX_HTTP_CHANTIER_PG_QUEUE_MAX     1024
#define NGX_HTTP_CHANTIER_PG_BACKOFF_MIN   100
#define NGX_HTTP_CHANTIER_PG_BACKOFF_MAX   5000
#define NGX_HTTP_CHANTIER_PG_MAX_PARAMS    65535
#define NGX_HTTP_CHANTIER_PG_MSG_LEN       512


typedef enum {
    NGX_HTTP_CHANTIER_PG_CLOSED = 0,
    NGX_HTTP_CHANTIER_PG_CONNECTING,
    NGX_HTTP_CHANTIER_PG_IDLE,
    NGX_HTTP_CHANTIER_PG_SENDING,
    NGX_HTTP_CHANTIER_PG_READING
} ngx_http_chantier_pg_state_e;


typedef struct ngx_http_chantier_pg_conn_s  ngx_http_chantier_pg_conn_t;


/*
 * One query, from ngx_http_chantier_pg_query() to its handler.  It is
 * allocated with ngx_alloc() in one block together with copies of the SQL
 * and of the parameters: it belongs to the worker, not to the request, and
 * is freed right before the handler is called.
 */
typedef struct {
    ngx_queue_t                        queue;       /* in pool->waiting */
    ngx_http_chantier_pg_pool_t       *pool;
    ngx_http_chantier_pg_conn_t       *conn;        /* NULL while waiting */
    ngx_http_request_t                *request;
    ngx_http_chantier_pg_handler_pt    handler;
    ngx_event_t                        timeout;
    const char                        *sql;
    const char                       **params;
    int                                nparams;
    int                               *lengths;     /* NULL: all text */
    int                               *formats;
    int                                result_format;  /* 1: binary */
} ngx_http_chantier_pg_query_t;


struct ngx_http_chantier_pg_conn_s {
    ngx_http_chantier_pg_pool_t       *pool;
    PGconn                            *pgconn;
    ngx_connection_t                  *connection;  /* wraps PQsocket() */
    ngx_file_uniq_t                    socket_id;   /* its inode */
    ngx_http_chantier_pg_state_e       state;
    PostgresPollingStatusType          poll;        /* while CONNECTING */
    ngx_event_t                        timer;       /* connect or backoff */
    ngx_msec_t                         backoff;
    ngx_http_chantier_pg_query_t      *query;       /* in flight */
    PGresult                          *result;      /* last one so far */
};


struct ngx_http_chantier_pg_pool_s {
    ngx_http_chantier_main_conf_t     *conf;
    ngx_log_t                         *log;
    ngx_http_chantier_pg_conn_t       *conns;
    ngx_uint_t                         nconns;
    ngx_uint_t                         up;          /* IDLE, SENDING, READING */
    ngx_queue_t                        waiting;
    ngx_uint_t                         nwaiting;
    unsigned                           failed:1;
    unsigned                           logged:1;    /* an outage was logged */
    unsigned                           full_logged:1;
    unsigned                           result_kept:1;  /* by the handler
                                                          being called */
};


static size_t ngx_http_chantier_pg_param_size(const char *const *params,
    const size_t *lengths, int i);
static void ngx_http_chantier_pg_connect(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_connect_poll(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_connected(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_connect_failed(
    ngx_http_chantier_pg_conn_t *pc, const char *reason);
static void ngx_http_chantier_pg_timer_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_chantier_pg_wrap(ngx_http_chantier_pg_conn_t *pc);
static ngx_uint_t ngx_http_chantier_pg_socket_changed(
    ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_unwrap(ngx_http_chantier_pg_conn_t *pc);
static ngx_int_t ngx_http_chantier_pg_interest(ngx_http_chantier_pg_conn_t *pc,
    ngx_uint_t read, ngx_uint_t write);
static ngx_int_t ngx_http_chantier_pg_set_event(ngx_event_t *ev,
    ngx_int_t event, ngx_uint_t on);
static ngx_http_chantier_pg_conn_t *ngx_http_chantier_pg_idle(
    ngx_http_chantier_pg_pool_t *pool);
static ngx_int_t ngx_http_chantier_pg_send(ngx_http_chantier_pg_conn_t *pc,
    ngx_http_chantier_pg_query_t *q);
static ngx_int_t ngx_http_chantier_pg_flush(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_dispatch(ngx_http_chantier_pg_pool_t *pool);
static void ngx_http_chantier_pg_write_handler(ngx_event_t *wev);
static void ngx_http_chantier_pg_read_handler(ngx_event_t *rev);
static void ngx_http_chantier_pg_receive(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_done(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_query_timeout(ngx_event_t *ev);
static void ngx_http_chantier_pg_lost(ngx_http_chantier_pg_conn_t *pc,
    const char *reason);
static void ngx_http_chantier_pg_close(ngx_http_chantier_pg_conn_t *pc);
static void ngx_http_chantier_pg_fail_waiting(
    ngx_http_chantier_pg_pool_t *pool);
static void ngx_http_chantier_pg_finish(ngx_http_chantier_pg_query_t *q,
    PGresult *res, ngx_int_t rc);
static void ngx_http_chantier_pg_clear_result(void *data);
static ngx_uint_t ngx_http_chantier_pg_ssl_pending(PGconn *pgconn);
static void ngx_http_chantier_pg_notice(void *arg, const char *message);
static ngx_uint_t ngx_http_chantier_pg_outage_level(
    ngx_http_chantier_pg_pool_t *pool);
static size_t ngx_http_chantier_pg_trim(const char *msg, u_char *buf,
    size_t size);


ngx_int_t
ngx_http_chantier_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_uint_t                    i;
    ngx_http_chantier_pg_conn_t  *pc;
    ngx_http_chantier_pg_pool_t  *pool;

    mcf->pg = NULL;

    if (mcf->pg_conninfo.data == NULL || mcf->pg_pool_size == 0) {
        return NGX_OK;
    }

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_chantier_pg_pool_t));
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->conns = ngx_pcalloc(cycle->pool,
                      mcf->pg_pool_size * sizeof(ngx_http_chantier_pg_conn_t));
    if (pool->conns == NULL) {
        return NGX_ERROR;
    }

    pool->conf = mcf;
    pool->log = cycle->log;
    pool->nconns = mcf->pg_pool_size;
    ngx_queue_init(&pool->waiting);

    mcf->pg = pool;

    for (i = 0; i < pool->nconns; i++) {
        pc = &pool->conns[i];

        pc->pool = pool;
        pc->state = NGX_HTTP_CHANTIER_PG_CLOSED;

        pc->timer.handler = ngx_http_chantier_pg_timer_handler;
        pc->timer.data = pc;
        pc->timer.log = pool->log;

        /* reconnection must not hold a gracefully exiting worker */
        pc->timer.cancelable = 1;

        ngx_http_chantier_pg_connect(pc);
    }

    return NGX_OK;
}


/*
 * nginx is exiting: close every connection and free every query without
 * calling handlers (the requests die with the process).
 */

void
ngx_http_chantier_pg_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *qn;
    ngx_http_chantier_pg_conn_t   *pc;
    ngx_http_chantier_pg_pool_t   *pool;
    ngx_http_chantier_pg_query_t  *q;

    pool = mcf->pg;

    if (pool == NULL) {
        return;
    }

    for (i = 0; i < pool->nconns; i++) {
        pc = &pool->conns[i];

        q = pc->query;

        if (q) {
            if (q->timeout.timer_set) {
                ngx_del_timer(&q->timeout);
            }

            ngx_free(q);
            pc->query = NULL;
        }

        ngx_http_chantier_pg_close(pc);
    }

    while (!ngx_queue_empty(&pool->waiting)) {
        qn = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qn, ngx_http_chantier_pg_query_t, queue);

        ngx_queue_remove(qn);

        if (q->timeout.timer_set) {
            ngx_del_timer(&q->timeout);
        }

        ngx_free(q);
    }

    pool->nwaiting = 0;
    mcf->pg = NULL;
}


ngx_uint_t
ngx_http_chantier_pg_is_up(ngx_http_chantier_main_conf_t *mcf)
{
    return mcf->pg != NULL && mcf->pg->up > 0;
}


/*
 * Accepts a query: copies it into a worker-owned record, arms its timer,
 * and sends it on an IDLE connection, or queues it.  It never calls the
 * handler: when the pool cannot take the query, it says so with
 * NGX_DECLINED and the caller answers itself.
 */

ngx_int_t
ngx_http_chantier_pg_query(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params,
    ngx_http_chantier_pg_handler_pt handler)
{
    return ngx_http_chantier_pg_query_binary(r, sql, nparams, params, NULL,
                                             0, handler);
}


ngx_int_t
ngx_http_chantier_pg_query_binary(ngx_http_request_t *r, const char *sql,
    int nparams, const char *const *params, const size_t *lengths,
    ngx_uint_t binary_result, ngx_http_chantier_pg_handler_pt handler)
{
    int                             i;
    u_char                         *p;
    size_t                          size, len;
    ngx_http_chantier_pg_conn_t    *pc;
    ngx_http_chantier_pg_pool_t    *pool;
    ngx_http_chantier_pg_query_t   *q;
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    pool = mcf->pg;

    if (pool == NULL || pool->failed) {
        return NGX_DECLINED;
    }

    if (pool->nwaiting >= NGX_HTTP_CHANTIER_PG_QUEUE_MAX) {

        if (!pool->full_logged) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "chantier: PostgreSQL queue full (%ui queries)",
                          pool->nwaiting);
            pool->full_logged = 1;
        }

        return NGX_DECLINED;
    }

    if (nparams < 0 || nparams > NGX_HTTP_CHANTIER_PG_MAX_PARAMS) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "chantier: invalid number of SQL parameters: %d",
                      nparams);
        return NGX_ERROR;
    }

    /*
     * One block: the record, the parameter pointers, their lengths and
     * formats when some are binary, the values, the SQL.
     */

    size = sizeof(ngx_http_chantier_pg_query_t)
           + nparams * sizeof(char *)
           + ngx_strlen(sql) + 1;

    if (lengths != NULL) {
        size += 2 * nparams * sizeof(int);
    }

    for (i = 0; i < nparams; i++) {
        if (params[i] != NULL) {
            size += ngx_http_chantier_pg_param_size(params, lengths, i);
        }

        if (lengths != NULL && lengths[i] > NGX_MAX_INT32_VALUE) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "chantier: SQL parameter of %uz bytes",
                          lengths[i]);
            return NGX_ERROR;
        }
    }

    q = ngx_alloc(size, r->connection->log);
    if (q == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(q, sizeof(ngx_http_chantier_pg_query_t));

    q->pool = pool;
    q->request = r;
    q->handler = handler;
    q->nparams = nparams;
    q->params = (const char **) (q + 1);
    q->result_format = binary_result ? 1 : 0;

    p = (u_char *) (q->params + nparams);

    if (lengths != NULL) {
        q->lengths = (int *) p;
        q->formats = q->lengths + nparams;
        p = (u_char *) (q->formats + nparams);

        for (i = 0; i < nparams; i++) {
            q->lengths[i] = (int) lengths[i];
            q->formats[i] = (lengths[i] > 0) ? 1 : 0;
        }
    }

    for (i = 0; i < nparams; i++) {
        if (params[i] == NULL) {
            q->params[i] = NULL;
            continue;
        }

        len = ngx_http_chantier_pg_param_size(params, lengths, i);
        q->params[i] = (const char *) p;
        p = ngx_cpymem(p, params[i], len);
    }

    q->sql = (const char *) p;
    ngx_memcpy(p, sql, ngx_strlen(sql) + 1);

    q->timeout.handler = ngx_http_chantier_pg_query_timeout;
    q->timeout.data = q;
    q->timeout.log = pool->log;

    if (mcf->pg_query_timeout) {
        ngx_add_timer(&q->timeout, mcf->pg_query_timeout);
    }

    /*
     * Waiting queries go first; otherwise try the IDLE connections.  A
     * connection that fails to take the query is closed (no handler is
     * involved: it had no query) and will reconnect from its timer.
     */

    if (ngx_queue_empty(&pool->waiting)) {

        for ( ;; ) {
            pc = ngx_http_chantier_pg_idle(pool);
            if (pc == NULL) {
                break;
            }

            if (ngx_http_chantier_pg_send(pc, q) == NGX_OK) {
                return NGX_OK;
            }

            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
        }
    }

    ngx_queue_insert_tail(&pool->waiting, &q->queue);
    pool->nwaiting++;
    pool->full_logged = 0;

    return NGX_OK;
}


/* bytes of parameter i as copied: a binary one its length, text its NUL */

static size_t
ngx_http_chantier_pg_param_size(const char *const *params,
    const size_t *lengths, int i)
{
    if (lengths != NULL && lengths[i] > 0) {
        return lengths[i];
    }

    return ngx_strlen(params[i]) + 1;
}


/*
 * CLOSED -> CONNECTING.  PQconnectStart() creates the socket and starts a
 * non-blocking connect(); libpq then expects the caller to behave as if
 * PQconnectPoll() had returned PGRES_POLLING_WRITING.
 */

static void
ngx_http_chantier_pg_connect(ngx_http_chantier_pg_conn_t *pc)
{
    PGconn                       *pgconn;
    ngx_http_chantier_pg_pool_t  *pool;

    pool = pc->pool;

    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, pool->log, 0,
                   "chantier pg connect");

    pgconn = PQconnectStart((const char *) pool->conf->pg_conninfo.data);
    if (pgconn == NULL) {
        ngx_http_chantier_pg_connect_failed(pc, "out of memory");
        return;
    }

    pc->pgconn = pgconn;
    pc->state = NGX_HTTP_CHANTIER_PG_CONNECTING;
    pc->poll = PGRES_POLLING_WRITING;

    PQsetNoticeProcessor(pgconn, ngx_http_chantier_pg_notice, pool);

    if (PQstatus(pgconn) == CONNECTION_BAD) {
        ngx_http_chantier_pg_connect_failed(pc, PQerrorMessage(pgconn));
        return;
    }

    if (PQsetnonblocking(pgconn, 1) == -1) {
        ngx_http_chantier_pg_connect_failed(pc, PQerrorMessage(pgconn));
        return;
    }

    if (ngx_http_chantier_pg_wrap(pc) != NGX_OK
        || ngx_http_chantier_pg_interest(pc, 0, 1) != NGX_OK)
    {
        ngx_http_chantier_pg_connect_failed(pc,
                                     "could not register the socket in nginx");
        return;
    }

    if (pool->conf->pg_connect_timeout) {
        ngx_add_timer(&pc->timer, pool->conf->pg_connect_timeout);
    }
}


/*
 * CONNECTING: one step of PQconnectPoll(), called only when the socket is
 * ready the way the previous step asked.  Each step may have replaced the
 * socket: when an attempt fails, libpq closes it and connects to the next
 * address or host (or again without SSL), possibly under the same
 * descriptor number, which the event method no longer watches (closing a
 * descriptor removes it from epoll).  The wrapper is rebuilt then.
 */

static void
ngx_http_chantier_pg_connect_poll(ngx_http_chantier_pg_conn_t *pc)
{
    PGconn  *pgconn;

    pgconn = pc->pgconn;

    for ( ;; ) {
        pc->poll = PQconnectPoll(pgconn);

        switch (pc->poll) {

        case PGRES_POLLING_OK:
            ngx_http_chantier_pg_connected(pc);
            return;

        case PGRES_POLLING_READING:
        case PGRES_POLLING_WRITING:
            break;

        default: /* PGRES_POLLING_FAILED */
            ngx_http_chantier_pg_connect_failed(pc, PQerrorMessage(pgconn));
            return;
        }

        if (ngx_http_chantier_pg_socket_changed(pc)) {
            ngx_log_debug2(NGX_LOG_DEBUG_EVENT, pc->pool->log, 0,
                           "chantier pg new socket %d (was %d)",
                           PQsocket(pgconn), pc->connection->fd);

            ngx_http_chantier_pg_unwrap(pc);

            if (ngx_http_chantier_pg_wrap(pc) != NGX_OK) {
                ngx_http_chantier_pg_connect_failed(pc,
                                     "could not register the socket in nginx");
                return;
            }
        }

        if (ngx_http_chantier_pg_interest(pc,
                                    pc->poll == PGRES_POLLING_READING,
                                    pc->poll == PGRES_POLLING_WRITING)
            != NGX_OK)
        {
            ngx_http_chantier_pg_connect_failed(pc,
                                     "could not register the socket in nginx");
            return;
        }

        /* bytes already decrypted by OpenSSL will never wake the socket */

        if (pc->poll == PGRES_POLLING_READING
            && ngx_http_chantier_pg_ssl_pending(pgconn))
        {
            continue;
        }

        return;
    }
}


/* CONNECTING -> IDLE: the connection joins the pool and serves the queue */

static void
ngx_http_chantier_pg_connected(ngx_http_chantier_pg_conn_t *pc)
{
    ngx_http_chantier_pg_pool_t  *pool;

    pool = pc->pool;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (ngx_http_chantier_pg_interest(pc, 1, 0) != NGX_OK) {
        ngx_http_chantier_pg_connect_failed(pc,
                                     "could not register the socket in nginx");
        return;
    }

    pc->state = NGX_HTTP_CHANTIER_PG_IDLE;
    pc->backoff = 0;

    pool->up++;
    pool->failed = 0;

    if (pool->logged) {
        ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                      "chantier: connected to PostgreSQL again");
        pool->logged = 0;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, pool->log, 0,
                   "chantier pg connected, fd:%d, up:%ui",
                   pc->connection->fd, pool->up);

    ngx_http_chantier_pg_dispatch(pool);
}


/*
 * CONNECTING -> CLOSED: log (an error once per outage, then info), free
 * the connection and retry after an exponential backoff.  If nothing is up
 * any more, PostgreSQL is unavailable: the pool fails and so do the waiting
 * queries, rather than letting them run to their timeouts.
 */

static void
ngx_http_chantier_pg_connect_failed(ngx_http_chantier_pg_conn_t *pc,
    const char *reason)
{
    size_t                        len;
    u_char                        msg[NGX_HTTP_CHANTIER_PG_MSG_LEN];
    ngx_uint_t                    level;
    ngx_http_chantier_pg_pool_t  *pool;

    pool = pc->pool;

    /* reason may live in the PGconn: copy it before closing */

    len = ngx_http_chantier_pg_trim(reason, msg, sizeof(msg));

    if (pc->backoff == 0) {
        pc->backoff = NGX_HTTP_CHANTIER_PG_BACKOFF_MIN;

    } else {
        pc->backoff = ngx_min(pc->backoff * 2,
                              NGX_HTTP_CHANTIER_PG_BACKOFF_MAX);
    }

    level = ngx_http_chantier_pg_outage_level(pool);

    ngx_log_error(level, pool->log, 0,
                  "chantier: could not connect to PostgreSQL: %*s, "
                  "retrying in %M ms", len, msg, pc->backoff);

    ngx_http_chantier_pg_close(pc);

    ngx_add_timer(&pc->timer, pc->backoff);

    if (pool->up == 0) {
        pool->failed = 1;
        ngx_http_chantier_pg_fail_waiting(pool);
    }
}


/* the connection timer: connect timeout while CONNECTING, else backoff */

static void
ngx_http_chantier_pg_timer_handler(ngx_event_t *ev)
{
    ngx_http_chantier_pg_conn_t  *pc;

    pc = ev->data;

    if (pc->state == NGX_HTTP_CHANTIER_PG_CONNECTING) {
        ngx_http_chantier_pg_connect_failed(pc, "connection timed out");
        return;
    }

    if (pc->state == NGX_HTTP_CHANTIER_PG_CLOSED) {
        ngx_http_chantier_pg_connect(pc);
    }
}


/*
 * Wraps libpq's current socket in an nginx connection, so that the event
 * method can watch it.  The socket remains libpq's: see unwrap().  Its inode
 * identifies it even if a later one reuses the descriptor number.
 */

static ngx_int_t
ngx_http_chantier_pg_wrap(ngx_http_chantier_pg_conn_t *pc)
{
    ngx_socket_t       fd;
    ngx_file_info_t    fi;
    ngx_connection_t  *c;

    fd = PQsocket(pc->pgconn);

    if (fd == (ngx_socket_t) -1) {
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, pc->pool->log, ngx_errno,
                      ngx_fd_info_n " PostgreSQL socket %d failed", fd);
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, pc->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = pc;

    c->read->handler = ngx_http_chantier_pg_read_handler;
    c->write->handler = ngx_http_chantier_pg_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    pc->connection = c;
    pc->socket_id = ngx_file_uniq(&fi);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_chantier_pg_socket_changed(ngx_http_chantier_pg_conn_t *pc)
{
    ngx_socket_t     fd;
    ngx_file_info_t  fi;

    fd = PQsocket(pc->pgconn);

    if (fd != pc->connection->fd || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return 1;
    }

    return ngx_file_uniq(&fi) != pc->socket_id;
}


/*
 * Gives the nginx connection back without closing the descriptor, which
 * libpq owns (PQfinish() closes it, or libpq already did while connecting).
 * NGX_CLOSE_EVENT makes the event method forget the descriptor without a
 * system call: a descriptor closed and already reused by libpq must not be
 * touched.  c->fd is reset so that nginx's exit check sees no open socket.
 */

static void
ngx_http_chantier_pg_unwrap(ngx_http_chantier_pg_conn_t *pc)
{
    ngx_connection_t  *c;

    c = pc->connection;

    if (c == NULL) {
        return;
    }

    if (ngx_del_conn) {
        ngx_del_conn(c, NGX_CLOSE_EVENT);

    } else {
        if (c->read->active || c->read->disabled) {
            ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active || c->write->disabled) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
    pc->connection = NULL;
}


/* registers exactly the readiness libpq waits for, level-triggered */

static ngx_int_t
ngx_http_chantier_pg_interest(ngx_http_chantier_pg_conn_t *pc,
    ngx_uint_t read, ngx_uint_t write)
{
    ngx_connection_t  *c;

    c = pc->connection;

    if (!read && ngx_http_chantier_pg_set_event(c->read, NGX_READ_EVENT, 0)
                 != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!write && ngx_http_chantier_pg_set_event(c->write, NGX_WRITE_EVENT, 0)
                  != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (read && ngx_http_chantier_pg_set_event(c->read, NGX_READ_EVENT, 1)
                != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (write && ngx_http_chantier_pg_set_event(c->write, NGX_WRITE_EVENT, 1)
                 != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_pg_set_event(ngx_event_t *ev, ngx_int_t event,
    ngx_uint_t on)
{
    if (on && !ev->active) {
        return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
    }

    if (!on && ev->active) {
        return ngx_del_event(ev, event, NGX_LEVEL_EVENT);
    }

    return NGX_OK;
}


static ngx_http_chantier_pg_conn_t *
ngx_http_chantier_pg_idle(ngx_http_chantier_pg_pool_t *pool)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->nconns; i++) {
        if (pool->conns[i].state == NGX_HTTP_CHANTIER_PG_IDLE) {
            return &pool->conns[i];
        }
    }

    return NULL;
}


/*
 * IDLE -> SENDING or READING.  On NGX_ERROR the connection is broken and
 * the query is left as it was (not attached): the caller closes the
 * connection and keeps the query.
 */

static ngx_int_t
ngx_http_chantier_pg_send(ngx_http_chantier_pg_conn_t *pc,
    ngx_http_chantier_pg_query_t *q)
{
    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, pc->pool->log, 0,
                   "chantier pg send on fd:%d: \"%s\"",
                   pc->connection->fd, q->sql);

    if (!PQsendQueryParams(pc->pgconn, q->sql, q->nparams, NULL, q->params,
                           q->lengths, q->formats, q->result_format))
    {
        return NGX_ERROR;
    }

    pc->state = NGX_HTTP_CHANTIER_PG_SENDING;

    if (ngx_http_chantier_pg_flush(pc) == NGX_ERROR) {
        return NGX_ERROR;
    }

    pc->query = q;
    q->conn = pc;

    return NGX_OK;
}


/*
 * SENDING: pushes libpq's output buffer.  While PQflush() returns 1 the
 * socket is full: keep write interest (and read interest: libpq may need
 * to read to be able to write).  Once it returns 0 the query is on the wire
 * and only reading remains.
 */

static ngx_int_t
ngx_http_chantier_pg_flush(ngx_http_chantier_pg_conn_t *pc)
{
    int  rc;

    rc = PQflush(pc->pgconn);

    if (rc == -1) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_pg_interest(pc, 1, rc == 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (rc == 1) {
        return NGX_AGAIN;
    }

    pc->state = NGX_HTTP_CHANTIER_PG_READING;

    return NGX_OK;
}


/* hands waiting queries, oldest first, to IDLE connections */

static void
ngx_http_chantier_pg_dispatch(ngx_http_chantier_pg_pool_t *pool)
{
    ngx_queue_t                   *qn;
    ngx_http_chantier_pg_conn_t   *pc;
    ngx_http_chantier_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {

        pc = ngx_http_chantier_pg_idle(pool);
        if (pc == NULL) {
            return;
        }

        qn = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qn, ngx_http_chantier_pg_query_t, queue);

        if (ngx_http_chantier_pg_send(pc, q) != NGX_OK) {
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
            continue;
        }

        ngx_queue_remove(qn);
        pool->nwaiting--;
    }
}


static void
ngx_http_chantier_pg_write_handler(ngx_event_t *wev)
{
    ngx_connection_t             *c;
    ngx_http_chantier_pg_conn_t  *pc;

    c = wev->data;
    pc = c->data;

    switch (pc->state) {

    case NGX_HTTP_CHANTIER_PG_CONNECTING:
        if (pc->poll == PGRES_POLLING_WRITING) {
            ngx_http_chantier_pg_connect_poll(pc);
        }

        return;

    case NGX_HTTP_CHANTIER_PG_SENDING:
        if (ngx_http_chantier_pg_flush(pc) == NGX_ERROR) {
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
        }

        return;

    default:
        /* nothing to write: a stale event */
        if (ngx_http_chantier_pg_set_event(wev, NGX_WRITE_EVENT, 0)
            != NGX_OK)
        {
            ngx_http_chantier_pg_lost(pc,
                                     "could not register the socket in nginx");
        }

        return;
    }
}


static void
ngx_http_chantier_pg_read_handler(ngx_event_t *rev)
{
    PGnotify                     *notify;
    ngx_connection_t             *c;
    ngx_http_chantier_pg_conn_t  *pc;

    c = rev->data;
    pc = c->data;

    switch (pc->state) {

    case NGX_HTTP_CHANTIER_PG_CONNECTING:
        if (pc->poll == PGRES_POLLING_READING) {
            ngx_http_chantier_pg_connect_poll(pc);
        }

        return;

    case NGX_HTTP_CHANTIER_PG_SENDING:

        /* libpq wants the input consumed before it can write more */

        if (!PQconsumeInput(pc->pgconn)) {
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
            return;
        }

        switch (ngx_http_chantier_pg_flush(pc)) {

        case NGX_ERROR:
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
            return;

        case NGX_AGAIN:
            return;

        default:
            break;
        }

        ngx_http_chantier_pg_receive(pc);
        return;

    case NGX_HTTP_CHANTIER_PG_READING:
        ngx_http_chantier_pg_receive(pc);
        return;

    case NGX_HTTP_CHANTIER_PG_IDLE:

        /*
         * Nothing is expected: this is a notice, a parameter change, or the
         * server going away (then PQconsumeInput() fails on end of file).
         */

        if (!PQconsumeInput(pc->pgconn)
            || PQstatus(pc->pgconn) == CONNECTION_BAD)
        {
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
            return;
        }

        while ((notify = PQnotifies(pc->pgconn)) != NULL) {
            PQfreemem(notify);
        }

        return;

    default:
        return;
    }
}


/*
 * READING: consumes what arrived and collects results while libpq can
 * produce them without waiting.  PQgetResult() returning NULL means the
 * statement is over (ReadyForQuery received).  Otherwise we return to the
 * event loop; the level-triggered read event fires again while the socket
 * holds data, and OpenSSL's buffer is drained here.
 */

static void
ngx_http_chantier_pg_receive(ngx_http_chantier_pg_conn_t *pc)
{
    PGconn    *pgconn;
    PGresult  *res;

    pgconn = pc->pgconn;

    for ( ;; ) {

        if (!PQconsumeInput(pgconn)) {
            ngx_http_chantier_pg_lost(pc, PQerrorMessage(pgconn));
            return;
        }

        while (!PQisBusy(pgconn)) {

            res = PQgetResult(pgconn);

            if (res == NULL) {
                ngx_http_chantier_pg_done(pc);
                return;
            }

            switch (PQresultStatus(res)) {

            case PGRES_COPY_IN:
            case PGRES_COPY_OUT:
            case PGRES_COPY_BOTH:

                /* PQgetResult() would return it forever */

                PQclear(res);
                ngx_http_chantier_pg_lost(pc, "unexpected COPY statement");
                return;

            default:
                break;
            }

            if (pc->result) {
                PQclear(pc->result);
            }

            pc->result = res;
        }

        if (!ngx_http_chantier_pg_ssl_pending(pgconn)) {
            return;
        }
    }
}


/*
 * READING -> IDLE: the statement is over.  The connection is made IDLE and
 * the queue dispatched first, then the handler runs: whatever it does next
 * (another query, finalizing the request) meets a consistent pool.
 */

static void
ngx_http_chantier_pg_done(ngx_http_chantier_pg_conn_t *pc)
{
    ngx_int_t                      rc;
    PGresult                      *res;
    ngx_http_chantier_pg_query_t  *q;

    if (PQstatus(pc->pgconn) == CONNECTION_BAD) {
        ngx_http_chantier_pg_lost(pc, PQerrorMessage(pc->pgconn));
        return;
    }

    q = pc->query;
    res = pc->result;

    pc->query = NULL;
    pc->result = NULL;
    pc->state = NGX_HTTP_CHANTIER_PG_IDLE;

    if (res == NULL) {
        rc = NGX_DECLINED;
        ngx_log_error(NGX_LOG_ALERT, pc->pool->log, 0,
                      "chantier: PostgreSQL statement without a result");

    } else {
        switch (PQresultStatus(res)) {

        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            rc = NGX_OK;
            break;

        default:
            rc = NGX_ERROR;
            break;
        }
    }

    q->conn = NULL;

    ngx_http_chantier_pg_dispatch(pc->pool);

    if (rc == NGX_DECLINED && res) {
        PQclear(res);
        res = NULL;
    }

    ngx_http_chantier_pg_finish(q, res, rc);
}


/*
 * The query's timer.  A waiting query just leaves the queue.  A query on
 * the wire cannot be taken back without PQcancel(), which blocks: its
 * connection is closed instead and reopened at once, so no late result can
 * ever reach the freed record.
 */

static void
ngx_http_chantier_pg_query_timeout(ngx_event_t *ev)
{
    ngx_http_chantier_pg_conn_t   *pc;
    ngx_http_chantier_pg_pool_t   *pool;
    ngx_http_chantier_pg_query_t  *q;

    q = ev->data;
    pool = q->pool;
    pc = q->conn;

    ngx_log_error(NGX_LOG_WARN, q->request->connection->log, 0,
                  "chantier: PostgreSQL query timed out after %M ms (%s)",
                  pool->conf->pg_query_timeout,
                  pc ? "running" : "waiting for a connection");

    if (pc == NULL) {
        ngx_queue_remove(&q->queue);
        pool->nwaiting--;

    } else {
        pc->query = NULL;
        q->conn = NULL;

        ngx_http_chantier_pg_close(pc);
        ngx_add_timer(&pc->timer, pc->backoff);
    }

    ngx_http_chantier_pg_finish(q, NULL, NGX_DECLINED);
}


/*
 * IDLE, SENDING or READING -> CLOSED: the server went away (or libpq says
 * the connection is unusable).  The query in flight fails with
 * NGX_DECLINED; the connection reconnects at once (its backoff is 0 since
 * it last connected), then backs off if the server is really gone.
 */

static void
ngx_http_chantier_pg_lost(ngx_http_chantier_pg_conn_t *pc,
    const char *reason)
{
    size_t                         len;
    u_char                         msg[NGX_HTTP_CHANTIER_PG_MSG_LEN];
    ngx_uint_t                     level;
    ngx_http_chantier_pg_pool_t   *pool;
    ngx_http_chantier_pg_query_t  *q;

    pool = pc->pool;

    len = ngx_http_chantier_pg_trim(reason, msg, sizeof(msg));

    level = ngx_http_chantier_pg_outage_level(pool);

    ngx_log_error(level, pool->log, 0,
                  "chantier: lost connection to PostgreSQL: %*s", len, msg);

    q = pc->query;
    pc->query = NULL;

    ngx_http_chantier_pg_close(pc);
    ngx_add_timer(&pc->timer, pc->backoff);

    if (q) {
        q->conn = NULL;
        ngx_http_chantier_pg_finish(q, NULL, NGX_DECLINED);
    }
}


/*
 * any state -> CLOSED.  The caller has detached the query in flight, if
 * any; a partial result is dropped.
 */

static void
ngx_http_chantier_pg_close(ngx_http_chantier_pg_conn_t *pc)
{
    if (pc->state >= NGX_HTTP_CHANTIER_PG_IDLE) {
        pc->pool->up--;
    }

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    ngx_http_chantier_pg_unwrap(pc);

    if (pc->pgconn) {
        PQfinish(pc->pgconn);
        pc->pgconn = NULL;
    }

    pc->state = NGX_HTTP_CHANTIER_PG_CLOSED;
}


static void
ngx_http_chantier_pg_fail_waiting(ngx_http_chantier_pg_pool_t *pool)
{
    ngx_queue_t                   *qn;
    ngx_http_chantier_pg_query_t  *q;

    while (!ngx_queue_empty(&pool->waiting)) {
        qn = ngx_queue_head(&pool->waiting);
        q = ngx_queue_data(qn, ngx_http_chantier_pg_query_t, queue);

        ngx_queue_remove(qn);
        pool->nwaiting--;

        ngx_http_chantier_pg_finish(q, NULL, NGX_DECLINED);
    }
}


/*
 * The one exit of a query: the record is freed, the handler called, the
 * result freed.  As for any request resumed from a foreign event, the
 * connection's posted requests are run afterwards.
 */

static void
ngx_http_chantier_pg_finish(ngx_http_chantier_pg_query_t *q, PGresult *res,
    ngx_int_t rc)
{
    ngx_connection_t                 *c;
    ngx_http_request_t               *r;
    ngx_http_chantier_pg_pool_t      *pool;
    ngx_http_chantier_pg_handler_pt   handler;

    if (q->timeout.timer_set) {
        ngx_del_timer(&q->timeout);
    }

    pool = q->pool;
    r = q->request;
    c = r->connection;
    handler = q->handler;

    ngx_free(q);

    pool->result_kept = 0;

    handler(r, res, rc);

    if (res && !pool->result_kept) {
        PQclear(res);
    }

    pool->result_kept = 0;

    ngx_http_run_posted_requests(c);
}


/*
 * A handler that keeps its result (photos read by a pool thread, straight
 * from libpq's memory): it is freed with the request instead.
 */

ngx_int_t
ngx_http_chantier_pg_keep_result(ngx_http_request_t *r, PGresult *res)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_chantier_main_conf_t  *mcf;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_chantier_pg_clear_result;
    cln->data = res;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    mcf->pg->result_kept = 1;

    return NGX_OK;
}


static void
ngx_http_chantier_pg_clear_result(void *data)
{
    PQclear(data);
}


/*
 * OpenSSL reads whole records: part of one may already be decrypted in its
 * buffer while the socket is empty.
 */

static ngx_uint_t
ngx_http_chantier_pg_ssl_pending(PGconn *pgconn)
{
    SSL  *ssl;

    if (!PQsslInUse(pgconn)) {
        return 0;
    }

    ssl = PQsslStruct(pgconn, "OpenSSL");

    return ssl != NULL && SSL_pending(ssl) > 0;
}


static void
ngx_http_chantier_pg_notice(void *arg, const char *message)
{
    size_t                        len;
    u_char                        msg[NGX_HTTP_CHANTIER_PG_MSG_LEN];
    ngx_http_chantier_pg_pool_t  *pool;

    pool = arg;
    len = ngx_http_chantier_pg_trim(message, msg, sizeof(msg));

    ngx_log_error(NGX_LOG_INFO, pool->log, 0,
                  "chantier: PostgreSQL: %*s", len, msg);
}


/*
 * An outage is logged as an error once, then at info until it ends.  The
 * caller keeps the level in a variable: ngx_log_error() is a macro that
 * evaluates its level twice.
 */

static ngx_uint_t
ngx_http_chantier_pg_outage_level(ngx_http_chantier_pg_pool_t *pool)
{
    if (pool->logged) {
        return NGX_LOG_INFO;
    }

    pool->logged = 1;

    return NGX_LOG_ERR;
}


/*
 * libpq messages end with a newline and may span lines ("connection to
 * server ... failed: ...\n\tIs the server running ...?\n"): fold them into
 * one line for the error log.
 */

static size_t
ngx_http_chantier_pg_trim(const char *msg, u_char *buf, size_t size)
{
    u_char      ch, *p, *last;
    ngx_uint_t  space;

    if (msg == NULL) {
        return 0;
    }

    p = buf;
    last = buf + size;
    space = 0;

    for ( /* void */ ; *msg != '\0' && p < last; msg++) {
        ch = (u_char) *msg;

        if (ch == ' ' || ch == '\t' || ch == CR || ch == LF) {
            space = (p != buf);
            continue;
        }

        if (space) {
            *p++ = ' ';
            space = 0;

            if (p == last) {
                break;
            }
        }

        *p++ = ch;
    }

    return p - buf;
}
