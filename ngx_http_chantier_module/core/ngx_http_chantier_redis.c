/*
 * The worker's Redis connection: hiredis's asynchronous API driven by nginx
 * events, with nginx timers for what hiredis 0.14 lacks (connect and command
 * timeouts, reconnection).
 *
 * Two layers:
 *
 *   ngx_http_chantier_redis_conn_t  one hiredis context on an nginx event
 *       adapter, with its connect -> up -> down -> retry state machine.  It
 *       knows nothing about commands, so that a second connection (a pub/sub
 *       subscriber) can reuse it by filling in its on_up/on_down hooks.
 *
 *   ngx_http_chantier_redis_t  the per-worker state: the command connection
 *       and the per-command records that tie a hiredis reply to a request,
 *       with a timeout each.
 *
 * The story of a connection:
 *
 *   DOWN --retry timer--> CONNECTING --onConnect(OK)--> UP
 *     ^                      |                          |
 *     |   onConnect(ERR), connect timer                 | onDisconnect
 *     +----------------------+--------------------------+
 *
 * Every way down goes through ngx_http_chantier_redis_conn_down(), which
 * logs the first failure at "error" (later retries only at debug level) and
 * arms the retry timer with an exponential backoff from 100 ms to 5 s.  A
 * reconnection is never started from inside a hiredis callback: only the
 * retry timer creates a context.  So while hiredis runs our callbacks,
 * rc->ac can only go from the current context to NULL, never to another one.
 *
 * hiredis owns the socket: it closes the fd in redisAsyncFree() and on any
 * error.  The nginx connection wrapping the fd is therefore released with
 * ngx_free_connection() in the cleanup hook, never ngx_close_connection().
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>
#include <openssl/evp.h>

#include "ngx_http_chantier_redis.h"


#define NGX_HTTP_CHANTIER_REDIS_BACKOFF_MIN  100
#define NGX_HTTP_CHANTIER_REDIS_BACKOFF_MAX  5000

/* up for this long: the next failure starts the backoff over */
#define NGX_HTTP_CHANTIER_REDIS_STABLE       1000

/* a SHA-1 in hex, as EVALSHA takes it */
#define NGX_HTTP_CHANTIER_REDIS_SHA_LEN      40


typedef struct ngx_http_chantier_redis_conn_s  ngx_http_chantier_redis_conn_t;

typedef void (*ngx_http_chantier_redis_conn_pt)(
    ngx_http_chantier_redis_conn_t *rc);


typedef enum {
    ngx_http_chantier_redis_down = 0,
    ngx_http_chantier_redis_connecting,
    ngx_http_chantier_redis_up
} ngx_http_chantier_redis_state_e;


struct ngx_http_chantier_redis_conn_s {
    redisAsyncContext                 *ac;
    ngx_connection_t                  *connection;  /* wraps ac->c.fd */

    /* where to connect: an IP and a port, or a unix socket path */
    char                              *host;
    int                                port;
    ngx_str_t                         *address;     /* as written, for logs */
    const char                        *name;        /* role, for logs */

    ngx_msec_t                         connect_timeout;
    ngx_msec_t                         backoff;      /* next retry delay */
    ngx_msec_t                         up_since;

    ngx_event_t                        connect_timer;
    ngx_event_t                        retry_timer;
    ngx_event_t                        broken;       /* posted on event
                                                        registration errors */
    ngx_log_t                         *log;

    /* owner's hooks, called after the state changed; may be NULL */
    ngx_http_chantier_redis_conn_pt    on_up;
    ngx_http_chantier_redis_conn_pt    on_down;
    void                              *data;

    ngx_http_chantier_redis_state_e    state;
    unsigned                           unix_socket:1;
    unsigned                           logged_down:1;
    unsigned                           ever_failed:1;
    unsigned                           exiting:1;
};


struct ngx_http_chantier_redis_s {
    ngx_http_chantier_redis_conn_t     cmd;
    ngx_msec_t                         timeout;
    ngx_uint_t                         exiting;      /* unsigned:1 */

    /*
     * The subscriber: a second connection in subscribe mode, opened on
     * the first ngx_http_chantier_redis_subscribe(), which subscribes
     * again after every reconnection.
     */
    ngx_http_chantier_redis_conn_t     sub;
    ngx_uint_t                         sub_started;  /* unsigned:1 */
    ngx_uint_t                         sub_confirmed;
    ngx_array_t                       *channels;     /* of char *, "*" ends
                                                        a pattern */
    ngx_http_chantier_redis_message_pt     on_message;
    ngx_http_chantier_redis_subscribed_pt  on_subscribed;
    void                              *sub_data;

    /* the SHA-1 of each embedded script (core/lua/), for EVALSHA */
    u_char                             lua_sha[NGX_HTTP_CHANTIER_LUA_SCRIPTS]
                                              [NGX_HTTP_CHANTIER_REDIS_SHA_LEN];
};


/*
 * A command whose reply a request waits for.  It lives on the heap, not in
 * the request pool: after a timeout the request may be gone when hiredis
 * finally calls back with the late reply (or with NULL), and hiredis still
 * holds a pointer to the record until then.
 */
typedef struct {
    ngx_http_request_t                    *request;
    ngx_http_chantier_redis_handler_pt     handler;
    ngx_http_chantier_redis_t             *redis;
    ngx_event_t                            timeout;
    ngx_pool_cleanup_t                    *cleanup;   /* in request->pool */

    /*
     * The command, for sending; a script call keeps its arguments (in the
     * same allocation, after the record) to be sent again as EVAL when
     * Redis answers NOSCRIPT.
     */
    ngx_http_chantier_lua_e                script;
    int                                    argc;
    const char                           **argv;
    size_t                                *argvlen;

    unsigned                               done:1;    /* handler called or
                                                         request gone, or
                                                         nobody waits */
    unsigned                               eval:1;    /* a script call */
    unsigned                               retried:1; /* sent as EVAL */
} ngx_http_chantier_redis_cmd_t;


static ngx_int_t ngx_http_chantier_redis_lua_init(
    ngx_http_chantier_redis_t *redis, ngx_log_t *log);
static ngx_int_t ngx_http_chantier_redis_conn_init(
    ngx_http_chantier_redis_conn_t *rc, ngx_cycle_t *cycle, ngx_addr_t *addr,
    ngx_str_t *address, ngx_msec_t timeout);
static void ngx_http_chantier_redis_conn_connect(
    ngx_http_chantier_redis_conn_t *rc);
static void ngx_http_chantier_redis_conn_down(
    ngx_http_chantier_redis_conn_t *rc, const char *reason);
static void ngx_http_chantier_redis_conn_close(
    ngx_http_chantier_redis_conn_t *rc);
static ngx_uint_t ngx_http_chantier_redis_conn_usable(
    ngx_http_chantier_redis_conn_t *rc);

static void ngx_http_chantier_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_chantier_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_http_chantier_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_chantier_redis_retry(ngx_event_t *ev);
static void ngx_http_chantier_redis_broken(ngx_event_t *ev);

static void ngx_http_chantier_redis_add_read(void *data);
static void ngx_http_chantier_redis_del_read(void *data);
static void ngx_http_chantier_redis_add_write(void *data);
static void ngx_http_chantier_redis_del_write(void *data);
static void ngx_http_chantier_redis_cleanup(void *data);
static void ngx_http_chantier_redis_read_handler(ngx_event_t *rev);
static void ngx_http_chantier_redis_write_handler(ngx_event_t *wev);

static ngx_http_chantier_redis_t *ngx_http_chantier_redis_usable(
    ngx_http_request_t *r, ngx_log_t **log);
static ngx_int_t ngx_http_chantier_redis_cmd_send(
    ngx_http_chantier_redis_t *redis, ngx_http_chantier_redis_cmd_t *cmd,
    ngx_log_t *log);
static ngx_int_t ngx_http_chantier_redis_eval_source(redisAsyncContext *ac,
    ngx_http_chantier_redis_cmd_t *cmd, redisReply *reply);
static void ngx_http_chantier_redis_reply(redisAsyncContext *ac, void *reply,
    void *data);
static void ngx_http_chantier_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_chantier_redis_cmd_finish(
    ngx_http_chantier_redis_cmd_t *cmd, redisReply *reply, ngx_int_t rc);
static void ngx_http_chantier_redis_cmd_request_gone(void *data);

static void ngx_http_chantier_redis_sub_up(
    ngx_http_chantier_redis_conn_t *rc);
static void ngx_http_chantier_redis_sub_down(
    ngx_http_chantier_redis_conn_t *rc);
static void ngx_http_chantier_redis_sub_reply(redisAsyncContext *ac,
    void *reply, void *data);


/* commands */

/*
 * Queues one command on the command connection.  hiredis only appends it to
 * its output buffer and asks for write interest: nothing is sent and no
 * callback runs before we return to the event loop, so the handler is never
 * called from inside this function.
 *
 * The caller keeps the request alive (r->main->count++) until its handler
 * ran.  Should the request pool be destroyed anyway, a pool cleanup detaches
 * the record and the handler is not called.
 */

ngx_int_t
ngx_http_chantier_redis_command(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, int argc, const char **argv,
    const size_t *argvlen)
{
    ngx_log_t                      *log;
    ngx_http_chantier_redis_t      *redis;
    ngx_http_chantier_redis_cmd_t  *cmd;

    redis = ngx_http_chantier_redis_usable(r, &log);
    if (redis == NULL) {
        return NGX_DECLINED;
    }

    if (r == NULL || handler == NULL) {

        /* nobody waits: no record, hiredis frees the reply itself */

        if (redisAsyncCommandArgv(redis->cmd.ac, NULL, NULL, argc, argv,
                                  argvlen)
            != REDIS_OK)
        {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "chantier: redis command not queued: %s",
                          redis->cmd.ac->c.errstr[0] ? redis->cmd.ac->c.errstr
                                                     : "out of memory");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    cmd = ngx_calloc(sizeof(ngx_http_chantier_redis_cmd_t), log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->request = r;
    cmd->handler = handler;
    cmd->argc = argc;
    cmd->argv = argv;
    cmd->argvlen = (size_t *) argvlen;

    return ngx_http_chantier_redis_cmd_send(redis, cmd, log);
}


/*
 * The record of a script call holds a copy of its arguments, so that the
 * call can be sent again after NOSCRIPT even when nobody waits for it (the
 * caller's memory may be gone by then):
 *
 *     record | argv[argc] | argvlen[argc] | nkeys as text | arguments
 */

ngx_int_t
ngx_http_chantier_redis_eval(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args, const size_t *lens)
{
    u_char                         *p;
    size_t                          size;
    ngx_uint_t                      i, argc;
    ngx_log_t                      *log;
    ngx_http_chantier_redis_t      *redis;
    ngx_http_chantier_redis_cmd_t  *cmd;

    redis = ngx_http_chantier_redis_usable(r, &log);
    if (redis == NULL) {
        return NGX_DECLINED;
    }

    argc = 3 + nargs;

    size = sizeof(ngx_http_chantier_redis_cmd_t)
           + argc * (sizeof(char *) + sizeof(size_t)) + NGX_INT_T_LEN;

    for (i = 0; i < nargs; i++) {
        size += lens[i];
    }

    cmd = ngx_calloc(size, log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->eval = 1;
    cmd->script = script;
    cmd->argc = (int) argc;
    cmd->argv = (const char **) (cmd + 1);
    cmd->argvlen = (size_t *) (cmd->argv + argc);
    p = (u_char *) (cmd->argvlen + argc);

    cmd->argv[0] = "EVALSHA";
    cmd->argvlen[0] = sizeof("EVALSHA") - 1;

    cmd->argv[1] = (char *) redis->lua_sha[script];
    cmd->argvlen[1] = NGX_HTTP_CHANTIER_REDIS_SHA_LEN;

    cmd->argv[2] = (char *) p;
    cmd->argvlen[2] = ngx_sprintf(p, "%ui", nkeys) - p;
    p += cmd->argvlen[2];

    for (i = 0; i < nargs; i++) {
        cmd->argv[3 + i] = (char *) p;
        cmd->argvlen[3 + i] = lens[i];
        p = ngx_cpymem(p, args[i], lens[i]);
    }

    if (r != NULL && handler != NULL) {
        cmd->request = r;
        cmd->handler = handler;

    } else {
        cmd->done = 1;
    }

    return ngx_http_chantier_redis_cmd_send(redis, cmd, log);
}


/* the worker's Redis layer when commands can be sent now, or NULL */

static ngx_http_chantier_redis_t *
ngx_http_chantier_redis_usable(ngx_http_request_t *r, ngx_log_t **log)
{
    ngx_http_chantier_redis_t      *redis;
    ngx_http_chantier_main_conf_t  *mcf;

    if (r != NULL) {
        mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
        *log = r->connection->log;

    } else {
        mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                  ngx_http_chantier_module);
        *log = ngx_cycle->log;
    }

    redis = (mcf != NULL) ? mcf->redis : NULL;

    if (redis == NULL || redis->exiting
        || !ngx_http_chantier_redis_conn_usable(&redis->cmd))
    {
        return NULL;
    }

    return redis;
}


/*
 * Queues the record's command.  A request that waits gets a timeout and a
 * pool cleanup; the record is freed here only when nothing was queued.
 */

static ngx_int_t
ngx_http_chantier_redis_cmd_send(ngx_http_chantier_redis_t *redis,
    ngx_http_chantier_redis_cmd_t *cmd, ngx_log_t *log)
{
    ngx_pool_cleanup_t  *cln;

    cln = NULL;
    cmd->redis = redis;

    if (cmd->request != NULL) {
        cln = ngx_pool_cleanup_add(cmd->request->pool, 0);
        if (cln == NULL) {
            ngx_free(cmd);
            return NGX_ERROR;
        }

        cmd->cleanup = cln;
        cmd->timeout.handler = ngx_http_chantier_redis_cmd_timeout;
        cmd->timeout.data = cmd;
        cmd->timeout.log = redis->cmd.log;
    }

    if (redisAsyncCommandArgv(redis->cmd.ac, ngx_http_chantier_redis_reply,
                              cmd, cmd->argc, cmd->argv, cmd->argvlen)
        != REDIS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "chantier: redis command not queued: %s",
                      redis->cmd.ac->c.errstr[0] ? redis->cmd.ac->c.errstr
                                                 : "out of memory");
        ngx_free(cmd);
        return NGX_ERROR;
    }

    if (cln == NULL) {
        return NGX_OK;
    }

    cln->handler = ngx_http_chantier_redis_cmd_request_gone;
    cln->data = cmd;

    /*
     * Not cancelable: a graceful shutdown waits for the replies (at most
     * redis_timeout) so that the requests waiting for them can finish.
     */
    ngx_add_timer(&cmd->timeout, redis->timeout);

    return NGX_OK;
}


/*
 * hiredis's reply callback.  reply is NULL when the context is being freed
 * (connection lost, connect failure with queued commands, worker exit): the
 * request gets NGX_DECLINED.  A record whose request already got its answer
 * (timeout) or went away is only freed.
 */

static void
ngx_http_chantier_redis_reply(redisAsyncContext *ac, void *reply, void *data)
{
    ngx_http_chantier_redis_cmd_t  *cmd = data;

    if (ngx_http_chantier_redis_eval_source(ac, cmd, reply) == NGX_OK) {
        /* the same record waits for the EVAL's reply */
        return;
    }

    if (!cmd->done) {
        if (cmd->redis->exiting) {
            /*
             * redisAsyncFree() from exit_process: the process ends, the
             * requests with it; running request code now would only
             * write to connections nobody will serve.
             */
            cmd->done = 1;

        } else {
            ngx_http_chantier_redis_cmd_finish(cmd, reply,
                                               reply ? NGX_OK : NGX_DECLINED);
        }
    }

    if (cmd->timeout.timer_set) {
        ngx_del_timer(&cmd->timeout);
    }

    if (cmd->cleanup) {
        cmd->cleanup->handler = NULL;
    }

    ngx_free(cmd);
}


/*
 * NOSCRIPT: Redis lost its script cache (a restart, SCRIPT FLUSH) since it
 * last ran this script.  The call goes again, once, as EVAL with the
 * source, unless nobody can use its reply any more.  NGX_OK when sent.
 */

static ngx_int_t
ngx_http_chantier_redis_eval_source(redisAsyncContext *ac,
    ngx_http_chantier_redis_cmd_t *cmd, redisReply *reply)
{
    ngx_str_t  *source;

    if (reply == NULL || !cmd->eval || cmd->retried || cmd->redis->exiting
        || (cmd->done && cmd->handler != NULL)
        || reply->type != REDIS_REPLY_ERROR
        || reply->len < sizeof("NOSCRIPT") - 1
        || ngx_strncmp(reply->str, "NOSCRIPT", sizeof("NOSCRIPT") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    source = &ngx_http_chantier_lua_sources[cmd->script];

    ngx_log_error(NGX_LOG_NOTICE, cmd->redis->cmd.log, 0,
                  "chantier: redis did not know script \"%V\", sending it",
                  &ngx_http_chantier_lua_names[cmd->script]);

    cmd->argv[0] = "EVAL";
    cmd->argvlen[0] = sizeof("EVAL") - 1;
    cmd->argv[1] = (char *) source->data;
    cmd->argvlen[1] = source->len;
    cmd->retried = 1;

    if (redisAsyncCommandArgv(ac, ngx_http_chantier_redis_reply, cmd,
                              cmd->argc, cmd->argv, cmd->argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_chantier_redis_cmd_timeout(ngx_event_t *ev)
{
    ngx_http_chantier_redis_cmd_t  *cmd = ev->data;

    ngx_log_error(NGX_LOG_ERR, cmd->request->connection->log, 0,
                  "chantier: redis %V did not reply within %M ms",
                  cmd->redis->cmd.address, cmd->redis->timeout);

    /* the record stays with hiredis until the late reply or the NULL one */

    ngx_http_chantier_redis_cmd_finish(cmd, NULL, NGX_DECLINED);
}


/*
 * Calls the handler exactly once, then the connection's posted requests.
 * The record is detached from the request first: the handler may finalize
 * the request and destroy its pool.
 */

static void
ngx_http_chantier_redis_cmd_finish(ngx_http_chantier_redis_cmd_t *cmd,
    redisReply *reply, ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = cmd->request;
    c = r->connection;

    cmd->done = 1;
    cmd->request = NULL;

    if (cmd->timeout.timer_set) {
        ngx_del_timer(&cmd->timeout);
    }

    if (cmd->cleanup) {
        cmd->cleanup->handler = NULL;
        cmd->cleanup = NULL;
    }

    cmd->handler(r, reply, rc);

    /*
     * As after any event that is not the request's own: a request the
     * handler finalized on a connection the client already reset is only
     * posted, and would stay allocated, fd included, until something ran
     * the posted requests of that connection.
     */
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_chantier_redis_cmd_request_gone(void *data)
{
    ngx_http_chantier_redis_cmd_t  *cmd = data;

    ngx_log_error(NGX_LOG_ALERT, cmd->request->connection->log, 0,
                  "chantier: request freed while waiting for redis");

    cmd->done = 1;
    cmd->request = NULL;
    cmd->cleanup = NULL;

    if (cmd->timeout.timer_set) {
        ngx_del_timer(&cmd->timeout);
    }
}


/* the subscriber */

/*
 * Subscribes this worker to "channel" (a pattern when it ends with "*"):
 * on_message(channel, payload, data) for every message, and
 * on_subscribed(data) each time all subscriptions are in place again, after
 * the first connection and after every reconnection, for whatever was
 * missed meanwhile.  Call it from init_process, after the Redis layer's.
 */

ngx_int_t
ngx_http_chantier_redis_subscribe(ngx_http_chantier_main_conf_t *mcf,
    const char *channel, ngx_http_chantier_redis_message_pt on_message,
    ngx_http_chantier_redis_subscribed_pt on_subscribed, void *data)
{
    const char                 **name;
    ngx_http_chantier_redis_t   *redis;

    redis = mcf->redis;

    if (redis == NULL) {
        return NGX_ERROR;
    }

    name = ngx_array_push(redis->channels);
    if (name == NULL) {
        return NGX_ERROR;
    }

    *name = channel;

    redis->on_message = on_message;
    redis->on_subscribed = on_subscribed;
    redis->sub_data = data;

    if (!redis->sub_started) {
        redis->sub_started = 1;
        ngx_http_chantier_redis_conn_connect(&redis->sub);
    }

    return NGX_OK;
}


static void
ngx_http_chantier_redis_sub_up(ngx_http_chantier_redis_conn_t *rc)
{
    size_t                      len[2];
    ngx_uint_t                  i;
    const char                **channel, *argv[2];
    ngx_http_chantier_redis_t  *redis;

    redis = rc->data;
    redis->sub_confirmed = 0;

    channel = redis->channels->elts;

    for (i = 0; i < redis->channels->nelts; i++) {
        len[1] = ngx_strlen(channel[i]);

        argv[0] = (channel[i][len[1] - 1] == '*') ? "PSUBSCRIBE"
                                                  : "SUBSCRIBE";
        len[0] = ngx_strlen(argv[0]);
        argv[1] = channel[i];

        if (redisAsyncCommandArgv(rc->ac, ngx_http_chantier_redis_sub_reply,
                                  redis, 2, argv, len)
            != REDIS_OK)
        {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "chantier: redis %s of \"%s\" not queued",
                          argv[0], channel[i]);
        }
    }
}


static void
ngx_http_chantier_redis_sub_down(ngx_http_chantier_redis_conn_t *rc)
{
    ngx_http_chantier_redis_t  *redis;

    redis = rc->data;

    if (redis->sub_confirmed == redis->channels->nelts
        && redis->on_subscribed)
    {
        redis->on_subscribed(redis->sub_data, 0);
    }

    redis->sub_confirmed = 0;
}


void
ngx_http_chantier_redis_sub_drain(ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_redis_t  *redis;

    redis = mcf->redis;

    if (redis == NULL || redis->exiting || redis->sub.ac == NULL
        || redis->sub_confirmed != redis->channels->nelts)
    {
        return;
    }

    /* one recv(): EAGAIN, most of the time */
    redisAsyncHandleRead(redis->sub.ac);
}


/*
 * hiredis keeps a subscription's callback and calls it for the
 * confirmation, then for every message: ["subscribe", channel, n],
 * ["message", channel, payload], ["psubscribe", pattern, n] or
 * ["pmessage", pattern, channel, payload].  NULL when the connection is
 * lost: the reconnection subscribes again.
 */

static void
ngx_http_chantier_redis_sub_reply(redisAsyncContext *ac, void *reply,
    void *data)
{
    ngx_http_chantier_redis_t *redis = data;

    ngx_str_t    channel, payload;
    redisReply  *r, *kind;

    r = reply;

    if (r == NULL || redis->exiting || r->type != REDIS_REPLY_ARRAY
        || r->elements < 3)
    {
        return;
    }

    kind = r->element[0];

    if (kind->type != REDIS_REPLY_STRING) {
        return;
    }

    if (ngx_strcmp(kind->str, "subscribe") == 0
        || ngx_strcmp(kind->str, "psubscribe") == 0)
    {
        if (++redis->sub_confirmed == redis->channels->nelts
            && redis->on_subscribed)
        {
            redis->on_subscribed(redis->sub_data, 1);
        }

        return;
    }

    if (ngx_strcmp(kind->str, "message") == 0) {
        channel.data = (u_char *) r->element[1]->str;
        channel.len = r->element[1]->len;
        payload.data = (u_char *) r->element[2]->str;
        payload.len = r->element[2]->len;

    } else if (ngx_strcmp(kind->str, "pmessage") == 0 && r->elements == 4) {
        channel.data = (u_char *) r->element[2]->str;
        channel.len = r->element[2]->len;
        payload.data = (u_char *) r->element[3]->str;
        payload.len = r->element[3]->len;

    } else {
        return;
    }

    if (redis->on_message) {
        redis->on_message(&channel, &payload, redis->sub_data);
    }
}


/* per-worker state */

ngx_int_t
ngx_http_chantier_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_redis_t  *redis;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    redis = ngx_pcalloc(cycle->pool, sizeof(ngx_http_chantier_redis_t));
    if (redis == NULL) {
        return NGX_ERROR;
    }

    redis->timeout = mcf->redis_timeout;

    if (ngx_http_chantier_redis_lua_init(redis, cycle->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_redis_conn_init(&redis->cmd, cycle,
                                          &mcf->redis_addr,
                                          &mcf->redis_address,
                                          mcf->redis_timeout)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    redis->cmd.name = "commands";
    redis->cmd.data = redis;

    if (ngx_http_chantier_redis_conn_init(&redis->sub, cycle,
                                          &mcf->redis_addr,
                                          &mcf->redis_address,
                                          mcf->redis_timeout)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    redis->sub.name = "subscriber";
    redis->sub.data = redis;
    redis->sub.on_up = ngx_http_chantier_redis_sub_up;
    redis->sub.on_down = ngx_http_chantier_redis_sub_down;

    redis->channels = ngx_array_create(cycle->pool, 2, sizeof(char *));
    if (redis->channels == NULL) {
        return NGX_ERROR;
    }

    mcf->redis = redis;

    ngx_http_chantier_redis_conn_connect(&redis->cmd);

    return NGX_OK;
}


/* the SHA-1 by which EVALSHA names each embedded script */

static ngx_int_t
ngx_http_chantier_redis_lua_init(ngx_http_chantier_redis_t *redis,
    ngx_log_t *log)
{
    u_char        md[EVP_MAX_MD_SIZE];
    ngx_uint_t    i;
    ngx_str_t    *source;
    unsigned int  md_len;

    for (i = 0; i < NGX_HTTP_CHANTIER_LUA_SCRIPTS; i++) {
        source = &ngx_http_chantier_lua_sources[i];

        if (EVP_Digest(source->data, source->len, md, &md_len, EVP_sha1(),
                       NULL)
            != 1
            || md_len * 2 != NGX_HTTP_CHANTIER_REDIS_SHA_LEN)
        {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "chantier: SHA-1 of redis script \"%V\" failed",
                          &ngx_http_chantier_lua_names[i]);
            return NGX_ERROR;
        }

        ngx_hex_dump(redis->lua_sha[i], md, md_len);
    }

    return NGX_OK;
}


void
ngx_http_chantier_redis_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_redis_t  *redis;

    redis = mcf->redis;

    if (redis == NULL) {
        return;
    }

    redis->exiting = 1;

    ngx_http_chantier_redis_conn_close(&redis->cmd);

    if (redis->sub_started) {
        ngx_http_chantier_redis_conn_close(&redis->sub);
    }

    mcf->redis = NULL;
}


ngx_uint_t
ngx_http_chantier_redis_is_up(ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_redis_conn_t  *rc;

    if (mcf->redis == NULL) {
        return 0;
    }

    rc = &mcf->redis->cmd;

    return rc->state == ngx_http_chantier_redis_up
           && ngx_http_chantier_redis_conn_usable(rc);
}


/* one connection: connect, backoff, close */

static ngx_int_t
ngx_http_chantier_redis_conn_init(ngx_http_chantier_redis_conn_t *rc,
    ngx_cycle_t *cycle, ngx_addr_t *addr, ngx_str_t *address,
    ngx_msec_t timeout)
{
    size_t      len;
    u_char     *p;
#if (NGX_HAVE_UNIX_DOMAIN)
    struct sockaddr_un  *saun;
#endif

    rc->address = address;
    rc->name = "connection";
    rc->connect_timeout = timeout;
    rc->backoff = NGX_HTTP_CHANTIER_REDIS_BACKOFF_MIN;
    rc->log = cycle->log;

    /*
     * hiredis wants text: the address was resolved at configuration time,
     * so this is a numeric IP (getaddrinfo() does no DNS lookup for it) or
     * a socket path.
     */

    switch (addr->sockaddr->sa_family) {

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        saun = (struct sockaddr_un *) addr->sockaddr;
        len = ngx_strnlen((u_char *) saun->sun_path,
                          sizeof(saun->sun_path));

        p = ngx_pnalloc(cycle->pool, len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(p, (u_char *) saun->sun_path, len + 1);

        rc->unix_socket = 1;
        break;
#endif

    default: /* AF_INET, AF_INET6 */
        p = ngx_pnalloc(cycle->pool, NGX_SOCKADDR_STRLEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = ngx_sock_ntop(addr->sockaddr, addr->socklen, p,
                            NGX_SOCKADDR_STRLEN, 0);
        p[len] = '\0';

        rc->port = ngx_inet_get_port(addr->sockaddr);
        break;
    }

    rc->host = (char *) p;

    /* the connection's own timers must not delay a graceful shutdown */

    rc->connect_timer.handler = ngx_http_chantier_redis_connect_timeout;
    rc->connect_timer.data = rc;
    rc->connect_timer.log = rc->log;
    rc->connect_timer.cancelable = 1;

    rc->retry_timer.handler = ngx_http_chantier_redis_retry;
    rc->retry_timer.data = rc;
    rc->retry_timer.log = rc->log;
    rc->retry_timer.cancelable = 1;

    rc->broken.handler = ngx_http_chantier_redis_broken;
    rc->broken.data = rc;
    rc->broken.log = rc->log;

    return NGX_OK;
}


/*
 * Starts a non-blocking connect.  The connect callback runs from the first
 * write event (hiredis asks for it in redisAsyncSetConnectCallback(), so the
 * event hooks are installed before).
 */

static void
ngx_http_chantier_redis_conn_connect(ngx_http_chantier_redis_conn_t *rc)
{
    u_char              errstr[128];
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "chantier redis %s: connecting to %V",
                   rc->name, rc->address);

    if (rc->unix_socket) {
        ac = redisAsyncConnectUnix(rc->host);

    } else {
        ac = redisAsyncConnect(rc->host, rc->port);
    }

    if (ac == NULL) {
        ngx_http_chantier_redis_conn_down(rc, "out of memory");
        return;
    }

    if (ac->err) {
        /* e.g. a unix socket that does not exist: connect() failed at once */
        ngx_cpystrn(errstr, (u_char *) ac->errstr, sizeof(errstr));
        redisAsyncFree(ac);
        ngx_http_chantier_redis_conn_down(rc, (char *) errstr);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_chantier_redis_conn_down(rc, "no free nginx connection");
        return;
    }

    c->data = rc;
    c->read->handler = ngx_http_chantier_redis_read_handler;
    c->write->handler = ngx_http_chantier_redis_write_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    rc->ac = ac;
    rc->connection = c;
    rc->state = ngx_http_chantier_redis_connecting;

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_chantier_redis_add_read;
    ac->ev.delRead = ngx_http_chantier_redis_del_read;
    ac->ev.addWrite = ngx_http_chantier_redis_add_write;
    ac->ev.delWrite = ngx_http_chantier_redis_del_write;
    ac->ev.cleanup = ngx_http_chantier_redis_cleanup;

    ngx_add_timer(&rc->connect_timer, rc->connect_timeout);

    redisAsyncSetDisconnectCallback(ac, ngx_http_chantier_redis_disconnected);
    redisAsyncSetConnectCallback(ac, ngx_http_chantier_redis_connected);
}


/*
 * Whether a command can be queued now.  Besides an established connection,
 * the very first connect attempt of the worker accepts commands (hiredis
 * sends them once connected): requests arriving right after a start or a
 * reload are not refused for the sub-millisecond a connect takes.  Once a
 * failure was seen, commands are refused until the connection is up again,
 * so that requests fail fast while Redis is down.
 */

static ngx_uint_t
ngx_http_chantier_redis_conn_usable(ngx_http_chantier_redis_conn_t *rc)
{
    if (rc->ac == NULL || rc->exiting) {
        return 0;
    }

    /* being freed: pending callbacks are running with NULL replies */

    if (rc->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)) {
        return 0;
    }

    switch (rc->state) {

    case ngx_http_chantier_redis_up:
        return 1;

    case ngx_http_chantier_redis_connecting:
        return !rc->ever_failed;

    default:
        return 0;
    }
}


static void
ngx_http_chantier_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_chantier_redis_conn_t  *rc = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context right after we return */
        ngx_http_chantier_redis_conn_down(rc, ac->c.errstr);
        return;
    }

    if (rc->connect_timer.timer_set) {
        ngx_del_timer(&rc->connect_timer);
    }

    rc->state = ngx_http_chantier_redis_up;
    rc->up_since = ngx_current_msec;

    if (rc->logged_down) {
        ngx_log_error(NGX_LOG_NOTICE, rc->log, 0,
                      "chantier: redis %V is up again (%s)",
                      rc->address, rc->name);
        rc->logged_down = 0;

    } else {
        ngx_log_error(NGX_LOG_INFO, rc->log, 0,
                      "chantier: redis %V connected (%s)",
                      rc->address, rc->name);
    }

    if (rc->on_up) {
        rc->on_up(rc);
    }
}


/*
 * Called by hiredis when an established connection ends, after the pending
 * callbacks got their NULL replies and after the cleanup hook: ac is still
 * readable, but it is freed as soon as we return.
 */

static void
ngx_http_chantier_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_http_chantier_redis_conn_t  *rc = ac->data;

    ngx_http_chantier_redis_conn_down(rc,
                                      (status == REDIS_OK || !ac->c.errstr[0])
                                      ? "connection closed" : ac->c.errstr);
}


static void
ngx_http_chantier_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_chantier_redis_conn_t  *rc = ev->data;

    redisAsyncContext  *ac;

    ac = rc->ac;

    if (ac == NULL || rc->state != ngx_http_chantier_redis_connecting) {
        return;
    }

    ngx_http_chantier_redis_conn_down(rc, "connect timed out");

    /*
     * Not connected yet, so hiredis calls no onDisconnect; commands queued
     * during a first attempt get NULL replies, from this timer, which is
     * fine.  The cleanup hook releases the nginx connection.
     */
    redisAsyncFree(ac);
}


/*
 * Every way down ends here: marks the connection down and arms the retry
 * timer.  The first failure after being up (or at start) is logged as an
 * error; retries are logged at debug level only.
 *
 * The backoff doubles from 100 ms to 5 s and starts over only when the
 * connection had been up for a second at least, so that a server that
 * accepts and drops at once (maxclients) is not hammered.
 */

static void
ngx_http_chantier_redis_conn_down(ngx_http_chantier_redis_conn_t *rc,
    const char *reason)
{
    ngx_msec_t  delay;

    if (rc->connect_timer.timer_set) {
        ngx_del_timer(&rc->connect_timer);
    }

    if (rc->state == ngx_http_chantier_redis_up
        && ngx_current_msec - rc->up_since >= NGX_HTTP_CHANTIER_REDIS_STABLE)
    {
        rc->backoff = NGX_HTTP_CHANTIER_REDIS_BACKOFF_MIN;
    }

    rc->state = ngx_http_chantier_redis_down;
    rc->ever_failed = 1;

    if (rc->exiting) {
        return;
    }

    delay = rc->backoff;
    rc->backoff = ngx_min(rc->backoff * 2, NGX_HTTP_CHANTIER_REDIS_BACKOFF_MAX);

    if (!rc->logged_down) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "chantier: redis %V is down (%s): %s, "
                      "retrying with backoff", rc->address, rc->name, reason);
        rc->logged_down = 1;

    } else {
        ngx_log_debug4(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                       "chantier redis %s: %V still down: %s, "
                       "next attempt in %M ms",
                       rc->name, rc->address, reason, delay);
    }

    if (rc->on_down) {
        rc->on_down(rc);
    }

    ngx_add_timer(&rc->retry_timer, delay);
}


static void
ngx_http_chantier_redis_retry(ngx_event_t *ev)
{
    ngx_http_chantier_redis_conn_t  *rc = ev->data;

    if (rc->ac != NULL || rc->exiting) {
        return;
    }

    ngx_http_chantier_redis_conn_connect(rc);
}


/*
 * Posted when nginx could not (un)register the socket's events from inside
 * a hiredis hook; the context cannot be freed there, so it is done from the
 * event loop.
 */

static void
ngx_http_chantier_redis_broken(ngx_event_t *ev)
{
    ngx_http_chantier_redis_conn_t  *rc = ev->data;

    redisAsyncContext  *ac;

    ac = rc->ac;

    if (ac == NULL) {
        return;
    }

    if (rc->state == ngx_http_chantier_redis_connecting) {
        ngx_http_chantier_redis_conn_down(rc, "event registration failed");
    }

    /* when connected, onDisconnect marks it down */

    redisAsyncFree(ac);
}


/*
 * Closes for good (worker exit).  Commands still pending get NULL replies
 * from redisAsyncFree(); the owner decides what its callbacks do then.
 */

static void
ngx_http_chantier_redis_conn_close(ngx_http_chantier_redis_conn_t *rc)
{
    rc->exiting = 1;

    if (rc->connect_timer.timer_set) {
        ngx_del_timer(&rc->connect_timer);
    }

    if (rc->retry_timer.timer_set) {
        ngx_del_timer(&rc->retry_timer);
    }

    if (rc->broken.posted) {
        ngx_delete_posted_event(&rc->broken);
    }

    if (rc->ac) {
        redisAsyncFree(rc->ac);
    }
}


/* the event adapter: hiredis hooks */

/*
 * The flags go to ngx_del_event() as well: when the other event of the
 * socket stays registered, epoll re-registers it (EPOLL_CTL_MOD) with the
 * flags given here, and without NGX_CLEAR_EVENT it would silently turn
 * level-triggered.
 */

static ngx_uint_t
ngx_http_chantier_redis_event_flags(void)
{
    return (ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT
                                                   : NGX_LEVEL_EVENT;
}


static void
ngx_http_chantier_redis_add_read(void *data)
{
    ngx_http_chantier_redis_conn_t  *rc = data;

    ngx_event_t  *rev;

    if (rc->connection == NULL) {
        return;
    }

    rev = rc->connection->read;

    if (rev->active) {
        return;
    }

    if (ngx_add_event(rev, NGX_READ_EVENT,
                      ngx_http_chantier_redis_event_flags())
        != NGX_OK)
    {
        ngx_post_event(&rc->broken, &ngx_posted_events);
    }
}


static void
ngx_http_chantier_redis_del_read(void *data)
{
    ngx_http_chantier_redis_conn_t  *rc = data;

    ngx_event_t  *rev;

    if (rc->connection == NULL) {
        return;
    }

    rev = rc->connection->read;

    if (!rev->active) {
        return;
    }

    if (ngx_del_event(rev, NGX_READ_EVENT,
                      ngx_http_chantier_redis_event_flags())
        != NGX_OK)
    {
        ngx_post_event(&rc->broken, &ngx_posted_events);
    }
}


/*
 * hiredis asks for write interest after each queued command and drops it
 * once its output buffer is flushed.  With edge-triggered epoll, adding the
 * event (EPOLL_CTL_MOD) reports the socket writable at the next epoll_wait,
 * and all commands queued until then leave in one write(2).  While write
 * interest is kept (a short write), the kernel reports the socket again
 * when it drains, as nginx itself assumes after a short send.
 */

static void
ngx_http_chantier_redis_add_write(void *data)
{
    ngx_http_chantier_redis_conn_t  *rc = data;

    ngx_event_t  *wev;

    if (rc->connection == NULL) {
        return;
    }

    wev = rc->connection->write;

    if (wev->active) {
        return;
    }

    if (ngx_add_event(wev, NGX_WRITE_EVENT,
                      ngx_http_chantier_redis_event_flags())
        != NGX_OK)
    {
        ngx_post_event(&rc->broken, &ngx_posted_events);
    }
}


static void
ngx_http_chantier_redis_del_write(void *data)
{
    ngx_http_chantier_redis_conn_t  *rc = data;

    ngx_event_t  *wev;

    if (rc->connection == NULL) {
        return;
    }

    wev = rc->connection->write;

    if (!wev->active) {
        return;
    }

    if (ngx_del_event(wev, NGX_WRITE_EVENT,
                      ngx_http_chantier_redis_event_flags())
        != NGX_OK)
    {
        ngx_post_event(&rc->broken, &ngx_posted_events);
    }
}


/*
 * Called by hiredis when it frees the context, before it closes the fd: the
 * events are unregistered while the fd is still valid and the wrapper goes
 * back to the free list.  c->fd is reset as ngx_close_connection() does, so
 * that a stale event of the same epoll_wait() batch is recognized and the
 * wrapper is not reported as an "open socket left" at exit.
 *
 * This may run from inside our read or write handler (connection lost);
 * they check rc->ac afterwards and leave without touching anything.
 */

static void
ngx_http_chantier_redis_cleanup(void *data)
{
    ngx_http_chantier_redis_conn_t  *rc = data;

    ngx_uint_t         flags;
    ngx_connection_t  *c;

    c = rc->connection;

    rc->ac = NULL;
    rc->connection = NULL;

    if (rc->broken.posted) {
        ngx_delete_posted_event(&rc->broken);
    }

    if (c == NULL) {
        return;
    }

    flags = ngx_http_chantier_redis_event_flags();

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


/*
 * The read handler.  hiredis reads at most 16 KiB per redisAsyncHandleRead()
 * and gives no sign of whether read(2) hit EAGAIN, and with edge-triggered
 * epoll a socket left with unread data is not reported again.  So after each
 * call we peek at the socket (recv with MSG_PEEK, one byte): data or EOF
 * means call hiredis again (it reads the data, or sees the EOF and
 * disconnects); EAGAIN means the socket is drained.  errno cannot be used
 * instead: the reply callbacks run in between and may change it.
 *
 * Any call may free the context (connection lost, which runs the cleanup
 * hook): rc->ac is then NULL and the wrapper c may already belong to
 * someone else, so nothing is touched after that.
 */

static void
ngx_http_chantier_redis_read_handler(ngx_event_t *rev)
{
    u_char                           buf;
    ssize_t                          n;
    ngx_err_t                        err;
    ngx_uint_t                       last;
    ngx_socket_t                     fd;
    ngx_connection_t                *c;
    redisAsyncContext               *ac;
    ngx_http_chantier_redis_conn_t  *rc;

    c = rev->data;
    rc = c->data;
    ac = rc->ac;
    fd = c->fd;

    if (ac == NULL) {
        return;
    }

    last = 0;

    for ( ;; ) {
        redisAsyncHandleRead(ac);

        if (rc->ac != ac || !(ac->c.flags & REDIS_CONNECTED) || last) {
            return;
        }

        n = recv(fd, &buf, 1, MSG_PEEK);

        if (n >= 0) {
            continue;
        }

        err = ngx_socket_errno;

        if (err == NGX_EAGAIN) {
            rev->ready = 0;
            return;
        }

        if (err == NGX_EINTR) {
            continue;
        }

        /*
         * A socket error, which recv() has just consumed: the connection
         * is closed by the kernel, hiredis's next read(2) returns 0 and it
         * disconnects.  One more call, then leave in any case.
         */

        last = 1;
    }
}


static void
ngx_http_chantier_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t                *c;
    ngx_http_chantier_redis_conn_t  *rc;

    c = wev->data;
    rc = c->data;

    if (rc->ac == NULL) {
        return;
    }

    /* connect completion, then the output buffer; may free the context */

    redisAsyncHandleWrite(rc->ac);
}
