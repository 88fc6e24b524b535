/*
 * Event streams of fiches (text/event-stream), fed by Redis pub/sub.
 *
 * The story of a stream:
 *
 *   GET /fiches/{id}/events -> access checked (api/..._events.c) -> headers
 *   sent, the stream registered under its fiche in this worker's tree ->
 *   an event for every version published on chantier:fiche:<id>, a comment
 *   line every 25 s -> closed when the client leaves, when its session
 *   ends (chantier:session-end), at the session's expiry, when the client
 *   reads too slowly, or when the worker exits.
 *
 * What a stream costs: its request (pool, connection) and two queue links;
 * no Redis or PostgreSQL connection and no timer of its own.  One worker
 * timer sends the comment lines and ends expired streams; another, only
 * while streams are open, notices a graceful shutdown or reload so that
 * streams end cleanly (last chunk sent) and pages reconnect to the new
 * workers.
 *
 * Back pressure: an event is a few dozen bytes in a buffer of the stream's
 * own small free list.  A client that lets NGX_HTTP_CHANTIER_LIVE_BACKLOG
 * events pile up unsent is dropped; its browser reconnects and catches up
 * with Last-Event-ID.  So memory never grows with a slow reader.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_chantier_live.h"
#include "ngx_http_chantier_presence.h"
#include "ngx_http_chantier_known.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"


#define NGX_HTTP_CHANTIER_LIVE_HEARTBEAT    25000
#define NGX_HTTP_CHANTIER_LIVE_EXIT_WATCH   1000
#define NGX_HTTP_CHANTIER_LIVE_EVENT_SIZE   128
#define NGX_HTTP_CHANTIER_LIVE_BACKLOG      16
#define NGX_HTTP_CHANTIER_LIVE_UNACKED      10000

#define NGX_HTTP_CHANTIER_SESSION_CHANNEL   "chantier:session-end"
#define NGX_HTTP_CHANTIER_USER_CHANNEL      "chantier:user-changed"


typedef struct {
    ngx_rbtree_t                      fiches;
    ngx_rbtree_node_t                 sentinel;
    ngx_queue_t                       streams;
    ngx_uint_t                        count;
    ngx_uint_t                        subscribed;   /* unsigned:1 */
    ngx_event_t                       heartbeat;
    ngx_event_t                       exit_watch;
    ngx_event_t                       presence_refresh;
    ngx_log_t                        *log;
} ngx_http_chantier_live_t;


typedef struct {
    ngx_rbtree_node_t                 node;         /* key: the fiche id */
    ngx_queue_t                       streams;
    ngx_http_chantier_presence_t      presence;
} ngx_http_chantier_live_fiche_t;


typedef struct {
    ngx_queue_t                       in_fiche;
    ngx_queue_t                       in_worker;
    ngx_http_request_t               *request;
    ngx_http_chantier_live_t         *live;
    ngx_http_chantier_live_fiche_t   *fiche;
    int64_t                           user_id;
    ngx_str_t                         session;      /* its Redis key */
    int64_t                           version;      /* last announced */
    time_t                            expires;
    ngx_chain_t                      *free;
    ngx_chain_t                      *busy;
    ngx_buf_t                        *presence;     /* its event, any size */
    unsigned                          closed:1;
    unsigned                          pending:1;    /* reserved, not started */
    unsigned                          ended:1;      /* ... and already over */
    unsigned                          joined:1;     /* counted as a viewer */
    unsigned                          presence_sent:1;
    unsigned                          presence_due:1; /* changed meanwhile */
} ngx_http_chantier_live_stream_t;


static void ngx_http_chantier_live_message(ngx_str_t *channel,
    ngx_str_t *payload, void *data);
static void ngx_http_chantier_live_subscribed(void *data, ngx_uint_t up);
static void ngx_http_chantier_live_fiche_changed(
    ngx_http_chantier_live_t *live, int64_t id, int64_t version);
static void ngx_http_chantier_live_presence_changed(
    ngx_http_chantier_live_t *live, int64_t id, ngx_str_t *set);
static void ngx_http_chantier_live_session_ended(
    ngx_http_chantier_live_t *live, ngx_str_t *payload);
static ngx_int_t ngx_http_chantier_live_register(
    ngx_http_chantier_live_t *live, ngx_http_chantier_live_stream_t *stream,
    int64_t fiche_id);
static void ngx_http_chantier_live_unregister(
    ngx_http_chantier_live_stream_t *stream);
static void ngx_http_chantier_live_send_version(
    ngx_http_chantier_live_stream_t *stream);
static void ngx_http_chantier_live_send_presence(
    ngx_http_chantier_live_stream_t *stream);
static void ngx_http_chantier_live_send(
    ngx_http_chantier_live_stream_t *stream, u_char *data, size_t len);
static void ngx_http_chantier_live_output(
    ngx_http_chantier_live_stream_t *stream, ngx_chain_t *cl);
static void ngx_http_chantier_live_writer(ngx_http_request_t *r);
static void ngx_http_chantier_live_flushed(
    ngx_http_chantier_live_stream_t *stream, ngx_int_t rc);
static void ngx_http_chantier_live_close(
    ngx_http_chantier_live_stream_t *stream, ngx_int_t rc);
static void ngx_http_chantier_live_cleanup(void *data);
static void ngx_http_chantier_live_heartbeat(ngx_event_t *ev);
static void ngx_http_chantier_live_exit_watch(ngx_event_t *ev);
static void ngx_http_chantier_live_presence_refresh(ngx_event_t *ev);
static ngx_http_chantier_live_fiche_t *ngx_http_chantier_live_fiche(
    ngx_http_chantier_live_t *live, int64_t id);
static ngx_uint_t ngx_http_chantier_live_count(ngx_queue_t *streams);


static u_char  ngx_http_chantier_live_comment[] = ": \n\n";
static u_char  ngx_http_chantier_live_hello[] = "retry: 2000\n: ok\n\n";

/* the tag of presence buffers, which are the streams' own (not recycled) */
static ngx_uint_t  ngx_http_chantier_live_presence_tag;


/*
 * A new version of a fiche, or with version NGX_HTTP_CHANTIER_LIVE_ACCESS
 * ("access" on the channel, which nodes of an older version ignore) a
 * change of who may read it: then its streams all end, and each page
 * reconnects through the access check (the former client of a reassigned
 * chantier gets 404), catching up by Last-Event-ID.
 */

void
ngx_http_chantier_live_publish(int64_t fiche_id, int64_t version)
{
    (void) ngx_http_chantier_live_announce(NULL, fiche_id, version, NULL);
}


/*
 * The same, for the request that made the change: this worker knows the
 * new version at once, and handler (if any) runs once Redis has sent the
 * message on to every subscriber (or could not be reached), so that the
 * change is answered only then (live/ngx_http_chantier_known.c, point 1).
 * NGX_DECLINED: Redis is not connected, no handler call follows.
 */

ngx_int_t
ngx_http_chantier_live_announce(ngx_http_request_t *r, int64_t fiche_id,
    int64_t version, ngx_http_chantier_redis_handler_pt handler)
{
    u_char       channel[sizeof(NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL)
                         + NGX_INT64_LEN];
    u_char       payload[NGX_INT64_LEN];
    size_t       len[3];
    const char  *argv[3];

    argv[0] = "PUBLISH";
    len[0] = sizeof("PUBLISH") - 1;

    argv[1] = (char *) channel;
    len[1] = ngx_sprintf(channel, NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL "%L",
                         fiche_id)
             - channel;

    argv[2] = (char *) payload;
    len[2] = (version == NGX_HTTP_CHANTIER_LIVE_ACCESS)
             ? (size_t) (ngx_cpymem(payload, "access", 6) - payload)
             : (size_t) (ngx_sprintf(payload, "%L", version) - payload);

    if (version == NGX_HTTP_CHANTIER_LIVE_ACCESS) {
        ngx_http_chantier_known_fiche_access(fiche_id);

    } else {
        ngx_http_chantier_known_fiche_changed(fiche_id, version);
    }

    /*
     * The change is committed and answered either way.  If Redis is down,
     * open pages miss it until Redis is back; their streams then end and
     * reconnect, and catch up (ngx_http_chantier_live_subscribed); no
     * worker trusts what it knows meanwhile.
     */
    return ngx_http_chantier_redis_command(r, handler, 3, argv, len);
}


ngx_int_t
ngx_http_chantier_live_reserve(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t fiche_id)
{
    ngx_uint_t                        n;
    ngx_queue_t                      *q;
    ngx_pool_cleanup_t               *cln;
    ngx_http_chantier_live_t         *live;
    ngx_http_chantier_main_conf_t    *mcf;
    ngx_http_chantier_live_stream_t  *stream;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);
    live = mcf->live;

    if (live == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (q = ngx_queue_head(&live->streams);
         q != ngx_queue_sentinel(&live->streams);
         q = ngx_queue_next(q))
    {
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t,
                                in_worker);

        if (stream->user_id == ctx->session.user_id) {
            n++;
        }
    }

    if (n >= mcf->events_per_user) {
        return NGX_DECLINED;
    }

    stream = ngx_pcalloc(r->pool, sizeof(ngx_http_chantier_live_stream_t));
    if (stream == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    stream->request = r;
    stream->live = live;
    stream->user_id = ctx->session.user_id;
    stream->session = ctx->session.token_hash;
    stream->expires = ctx->session.expires;
    stream->closed = 1;

    cln->handler = ngx_http_chantier_live_cleanup;
    cln->data = stream;

    if (ngx_http_chantier_live_register(live, stream, fiche_id) != NGX_OK) {
        return NGX_ERROR;
    }

    stream->pending = 1;
    ctx->data = stream;

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_live_start(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, int64_t version, int64_t last_event_id,
    ngx_str_t *viewer)
{
    ngx_int_t                         rc;
    ngx_str_t                         value;
    ngx_http_chantier_live_stream_t  *stream;

    static ngx_str_t  type = ngx_string("text/event-stream; charset=utf-8");

    stream = ctx->data;

    if (stream->ended || ngx_exiting || ngx_terminate) {
        ngx_http_chantier_live_unregister(stream);
        return NGX_DECLINED;
    }

    /* a version published during the access check is newer */
    stream->version = ngx_max(stream->version, version);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = type;
    r->headers_out.content_type_len = type.len;
    r->headers_out.content_length_n = -1;
    r->disable_not_modified = 1;

    ngx_str_set(&value, "no-store");
    if (ngx_http_chantier_add_header(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a proxy in front must pass events on at once */
    ngx_str_set(&value, "no");
    if (ngx_http_chantier_add_header(r, "X-Accel-Buffering", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    stream->pending = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return NGX_OK;
    }

    /*
     * HEAD: the headers a GET would get, and nothing after them; an event
     * written now would reach a keep-alive proxy as the next response.
     */
    if (r->header_only) {
        ngx_http_chantier_live_unregister(stream);
        ngx_http_finalize_request(r, rc);
        return NGX_OK;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_chantier_live_writer;

    ngx_http_chantier_live_send(stream, ngx_http_chantier_live_hello,
                                sizeof(ngx_http_chantier_live_hello) - 1);

    /* a page that reconnects catches up at once */
    if (!stream->closed && last_event_id >= 0
        && last_event_id < stream->version)
    {
        ngx_http_chantier_live_send_version(stream);
    }

    if (stream->closed) {
        return NGX_OK;
    }

    /*
     * The set of viewers comes at once when this worker knows it already;
     * else with the message that the join publishes.
     */
    if (ngx_http_chantier_presence_join(&stream->fiche->presence,
                                        (int64_t) stream->fiche->node.key,
                                        stream->user_id, viewer,
                                        r->connection->log)
        == NGX_OK)
    {
        stream->joined = 1;
    }

    if (stream->fiche->presence.known) {
        ngx_http_chantier_live_send_presence(stream);
    }

#ifdef TCP_USER_TIMEOUT
    {
        int  timeout = NGX_HTTP_CHANTIER_LIVE_UNACKED;

        /*
         * A page whose network went away never says so: the heartbeat
         * that nobody acknowledges then ends the stream (and the viewer's
         * presence) within this time, rather than after the kernel's
         * retransmissions (about 15 minutes).
         */
        if (setsockopt(r->connection->fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
                       &timeout, sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, ngx_socket_errno,
                          "chantier: setsockopt(TCP_USER_TIMEOUT) failed");
        }
    }
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_live_register(ngx_http_chantier_live_t *live,
    ngx_http_chantier_live_stream_t *stream, int64_t fiche_id)
{
    ngx_http_chantier_live_fiche_t  *fiche;

    fiche = ngx_http_chantier_live_fiche(live, fiche_id);

    if (fiche == NULL) {
        fiche = ngx_alloc(sizeof(ngx_http_chantier_live_fiche_t), live->log);
        if (fiche == NULL) {
            return NGX_ERROR;
        }

        fiche->node.key = (ngx_rbtree_key_t) fiche_id;
        ngx_queue_init(&fiche->streams);
        ngx_http_chantier_presence_init(&fiche->presence);
        ngx_rbtree_insert(&live->fiches, &fiche->node);
    }

    stream->fiche = fiche;
    stream->closed = 0;

    ngx_queue_insert_tail(&fiche->streams, &stream->in_fiche);
    ngx_queue_insert_tail(&live->streams, &stream->in_worker);
    live->count++;

    if (!live->heartbeat.timer_set) {
        ngx_add_timer(&live->heartbeat, NGX_HTTP_CHANTIER_LIVE_HEARTBEAT);
    }

    if (!live->exit_watch.timer_set) {
        ngx_add_timer(&live->exit_watch, NGX_HTTP_CHANTIER_LIVE_EXIT_WATCH);
    }

    if (!live->presence_refresh.timer_set) {
        ngx_add_timer(&live->presence_refresh,
                      NGX_HTTP_CHANTIER_PRESENCE_REFRESH);
    }

    return NGX_OK;
}


static void
ngx_http_chantier_live_unregister(ngx_http_chantier_live_stream_t *stream)
{
    ngx_http_chantier_live_t        *live;
    ngx_http_chantier_live_fiche_t  *fiche;

    live = stream->live;
    fiche = stream->fiche;

    stream->closed = 1;

    ngx_queue_remove(&stream->in_fiche);
    ngx_queue_remove(&stream->in_worker);
    live->count--;

    if (stream->joined) {
        stream->joined = 0;
        ngx_http_chantier_presence_leave(&fiche->presence,
                                         (int64_t) fiche->node.key,
                                         stream->user_id);
    }

    if (ngx_queue_empty(&fiche->streams)) {
        ngx_http_chantier_presence_free(&fiche->presence);
        ngx_rbtree_delete(&live->fiches, &fiche->node);
        ngx_free(fiche);
    }
}


/* Redis told us something: a new version of a fiche, or a session ended */

static void
ngx_http_chantier_live_message(ngx_str_t *channel, ngx_str_t *payload,
    void *data)
{
    ngx_http_chantier_live_t *live = data;

    off_t      id, version;
    size_t     prefix;
    ngx_str_t  set;

    prefix = sizeof(NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL) - 1;

    if (channel->len > prefix
        && ngx_strncmp(channel->data, NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL, prefix)
           == 0)
    {
        id = ngx_atoof(channel->data + prefix, channel->len - prefix);

        if (payload->len >= sizeof(NGX_HTTP_CHANTIER_PRESENCE_MESSAGE) - 1
            && ngx_strncmp(payload->data, NGX_HTTP_CHANTIER_PRESENCE_MESSAGE,
                           sizeof(NGX_HTTP_CHANTIER_PRESENCE_MESSAGE) - 1)
               == 0)
        {
            set.data = payload->data
                       + sizeof(NGX_HTTP_CHANTIER_PRESENCE_MESSAGE) - 1;
            set.len = payload->len
                      - (sizeof(NGX_HTTP_CHANTIER_PRESENCE_MESSAGE) - 1);

            if (id > 0) {
                ngx_http_chantier_live_presence_changed(live, id, &set);
            }

            return;
        }

        if (payload->len == sizeof("access") - 1
            && ngx_strncmp(payload->data, "access", payload->len) == 0)
        {
            version = NGX_HTTP_CHANTIER_LIVE_ACCESS;

        } else {
            version = ngx_atoof(payload->data, payload->len);
        }

        if (id > 0 && version == NGX_HTTP_CHANTIER_LIVE_ACCESS) {
            ngx_http_chantier_known_fiche_access(id);

        } else if (id > 0 && version > 0) {
            ngx_http_chantier_known_fiche_changed(id, version);
        }

        if (id > 0 && version >= 0) {
            ngx_http_chantier_live_fiche_changed(live, id, version);
        }

        return;
    }

    if (channel->len == sizeof(NGX_HTTP_CHANTIER_SESSION_CHANNEL) - 1
        && ngx_strncmp(channel->data, NGX_HTTP_CHANTIER_SESSION_CHANNEL,
                       channel->len) == 0)
    {
        ngx_http_chantier_live_session_ended(live, payload);
        return;
    }

    if (channel->len == sizeof(NGX_HTTP_CHANTIER_USER_CHANNEL) - 1
        && ngx_strncmp(channel->data, NGX_HTTP_CHANTIER_USER_CHANNEL,
                       channel->len) == 0)
    {
        id = ngx_atoof(payload->data, payload->len);

        if (id > 0) {
            ngx_http_chantier_known_client_changed(id);
        }
    }
}


static void
ngx_http_chantier_live_fiche_changed(ngx_http_chantier_live_t *live,
    int64_t id, int64_t version)
{
    ngx_uint_t                        n;
    ngx_queue_t                      *q, *next;
    ngx_http_chantier_live_fiche_t   *fiche;
    ngx_http_chantier_live_stream_t  *stream;

    fiche = ngx_http_chantier_live_fiche(live, id);

    if (fiche == NULL) {
        return;
    }

    /*
     * A send may close its own stream (a slow reader), and closing the
     * last stream frees the fiche with its queue: count first, and never
     * look at the queue again after the last one.
     */
    n = ngx_http_chantier_live_count(&fiche->streams);

    for (q = ngx_queue_head(&fiche->streams); n; n--, q = next) {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t, in_fiche);

        /* who may read the fiche changed: every reader is checked again */
        if (version == NGX_HTTP_CHANTIER_LIVE_ACCESS) {
            if (!stream->pending) {
                ngx_http_chantier_live_close(stream, NGX_OK);
            }

            continue;
        }

        if (version > stream->version) {
            stream->version = version;

            if (!stream->pending) {
                ngx_http_chantier_live_send_version(stream);
            }
        }
    }
}


/* the streams in a queue */

static ngx_uint_t
ngx_http_chantier_live_count(ngx_queue_t *streams)
{
    ngx_uint_t    n;
    ngx_queue_t  *q;

    n = 0;

    for (q = ngx_queue_head(streams);
         q != ngx_queue_sentinel(streams);
         q = ngx_queue_next(q))
    {
        n++;
    }

    return n;
}


/* the fiche's entry in this worker's tree, or NULL */

static ngx_http_chantier_live_fiche_t *
ngx_http_chantier_live_fiche(ngx_http_chantier_live_t *live, int64_t id)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = live->fiches.root;
    sentinel = live->fiches.sentinel;

    while (node != sentinel && node->key != (ngx_rbtree_key_t) id) {
        node = ((ngx_rbtree_key_t) id < node->key) ? node->left : node->right;
    }

    return (node != sentinel) ? (ngx_http_chantier_live_fiche_t *) node
                              : NULL;
}


/*
 * The set of a fiche's viewers was published: after a change, or after a
 * join, which the new stream waits for when this worker did not know the
 * set.  Only the streams that need it get an event.
 */

static void
ngx_http_chantier_live_presence_changed(ngx_http_chantier_live_t *live,
    int64_t id, ngx_str_t *set)
{
    ngx_uint_t                        n, changed;
    ngx_queue_t                      *q, *next;
    ngx_http_chantier_live_fiche_t   *fiche;
    ngx_http_chantier_live_stream_t  *stream;

    fiche = ngx_http_chantier_live_fiche(live, id);

    if (fiche == NULL) {
        return;
    }

    changed = ngx_http_chantier_presence_heard(&fiche->presence, set,
                                               live->log);

    /* as in ngx_http_chantier_live_fiche_changed(): a send may close */
    n = ngx_http_chantier_live_count(&fiche->streams);

    for (q = ngx_queue_head(&fiche->streams); n; n--, q = next) {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t, in_fiche);

        if (!stream->pending && (changed || !stream->presence_sent)) {
            ngx_http_chantier_live_send_presence(stream);
        }
    }
}


/*
 * "s:<session key>": that session ended (logout); "u:<user id>:<key>":
 * all the user's sessions but <key> ended (password change, deactivation).
 */

static void
ngx_http_chantier_live_session_ended(ngx_http_chantier_live_t *live,
    ngx_str_t *payload)
{
    u_char                           *p, *end, *colon;
    off_t                             user_id;
    ngx_str_t                         keep;
    ngx_queue_t                      *q, *next;
    ngx_http_chantier_live_stream_t  *stream;

    p = payload->data;
    end = p + payload->len;

    if (payload->len < 3 || p[1] != ':') {
        return;
    }

    user_id = -1;
    keep.data = p + 2;
    keep.len = end - keep.data;

    if (p[0] == 'u') {
        colon = ngx_strlchr(p + 2, end, ':');
        if (colon == NULL) {
            return;
        }

        user_id = ngx_atoof(p + 2, colon - (p + 2));
        keep.data = colon + 1;
        keep.len = end - keep.data;

        ngx_http_chantier_known_user_sessions_ended(user_id, &keep);

    } else {
        ngx_http_chantier_known_session_ended(&keep);
    }

    for (q = ngx_queue_head(&live->streams);
         q != ngx_queue_sentinel(&live->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t,
                                in_worker);

        if (p[0] == 's') {
            if (stream->session.len == keep.len
                && ngx_strncmp(stream->session.data, keep.data, keep.len)
                   == 0)
            {
                ngx_http_chantier_live_close(stream, NGX_OK);
            }

            continue;
        }

        if (stream->user_id == user_id
            && (stream->session.len != keep.len
                || ngx_strncmp(stream->session.data, keep.data, keep.len)
                   != 0))
        {
            ngx_http_chantier_live_close(stream, NGX_OK);
        }
    }
}


/*
 * The subscriptions are (again) in place.  While the subscriber was away,
 * any message may have been missed: a new version, but also the end of a
 * session (a logout, a deactivation) whose streams must not stay open.
 * So every open stream ends properly (last chunk): its page reconnects at
 * once (EventSource), goes through the session and access checks again,
 * and catches up with Last-Event-ID (an event if it missed a version).
 * Streams still in their access check were checked after the outage began
 * and start as usual.
 */

static void
ngx_http_chantier_live_subscribed(void *data, ngx_uint_t up)
{
    ngx_http_chantier_live_t *live = data;

    ngx_queue_t                      *q, *next;
    ngx_rbtree_node_t                *node;
    ngx_http_chantier_live_stream_t  *stream;

    /* messages may have been missed, or be missed from now on */
    ngx_http_chantier_known_subscribed(up);

    if (!up) {
        return;
    }

    if (!live->subscribed) {
        live->subscribed = 1;
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, live->log, 0,
                  "chantier: resubscribed, %ui event streams told to "
                  "reconnect", live->count);

    /* the sets heard before may have changed unheard */
    for (node = live->fiches.root != live->fiches.sentinel
                ? ngx_rbtree_min(live->fiches.root, live->fiches.sentinel)
                : NULL;
         node != NULL;
         node = ngx_rbtree_next(&live->fiches, node))
    {
        ((ngx_http_chantier_live_fiche_t *) node)->presence.known = 0;
    }

    for (q = ngx_queue_head(&live->streams);
         q != ngx_queue_sentinel(&live->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t,
                                in_worker);

        if (!stream->pending) {
            ngx_http_chantier_live_close(stream, NGX_OK);
        }
    }
}


static void
ngx_http_chantier_live_send_version(ngx_http_chantier_live_stream_t *stream)
{
    u_char   event[NGX_HTTP_CHANTIER_LIVE_EVENT_SIZE];
    u_char  *p;

    p = ngx_sprintf(event, "id: %L\nevent: fiche\ndata: {\"version\":%L}\n\n",
                    stream->version, stream->version);

    ngx_http_chantier_live_send(stream, event, p - event);
}


/*
 * Writes data to the stream, flushed.  The buffers come from the stream's
 * free list, so a long stream does not grow its pool; too many unsent
 * buffers mean a reader too slow to keep: it is dropped.
 */

static void
ngx_http_chantier_live_send(ngx_http_chantier_live_stream_t *stream,
    u_char *data, size_t len)
{
    ngx_uint_t           unsent;
    ngx_buf_t           *b;
    ngx_chain_t         *cl, *busy;
    ngx_http_request_t  *r;

    r = stream->request;

    unsent = 0;
    for (busy = stream->busy; busy; busy = busy->next) {
        unsent++;
    }

    if (unsent >= NGX_HTTP_CHANTIER_LIVE_BACKLOG) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "chantier: event stream reader too slow, dropped");
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    cl = ngx_chain_get_free_buf(r->pool, &stream->free);
    if (cl == NULL) {
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    b = cl->buf;

    if (b->start == NULL) {
        b->start = ngx_palloc(r->pool, NGX_HTTP_CHANTIER_LIVE_EVENT_SIZE);
        if (b->start == NULL) {
            ngx_http_chantier_live_close(stream, NGX_ERROR);
            return;
        }

        b->end = b->start + NGX_HTTP_CHANTIER_LIVE_EVENT_SIZE;
        b->tag = (ngx_buf_tag_t) &ngx_http_chantier_module;
    }

    len = ngx_min(len, (size_t) (b->end - b->start));

    b->pos = b->start;
    b->last = ngx_cpymem(b->start, data, len);
    b->temporary = 1;
    b->flush = 1;

    ngx_http_chantier_live_output(stream, cl);
}


/*
 * The set of viewers, less the stream's own user.  Its size has no fixed
 * bound below the set's (8 KB), so it has a buffer of its own, grown when
 * needed; while that buffer is still being sent, the newer set waits for
 * it (presence_due) rather than queueing: a stream never holds more than
 * one presence event, and gets the latest.
 */

static void
ngx_http_chantier_live_send_presence(ngx_http_chantier_live_stream_t *stream)
{
    size_t               size;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = stream->request;
    b = stream->presence;

    if (b != NULL && b->pos != b->last) {
        stream->presence_due = 1;
        return;
    }

    stream->presence_due = 0;
    stream->presence_sent = 1;

    size = ngx_http_chantier_presence_event_size(&stream->fiche->presence);

    if (b == NULL) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            ngx_http_chantier_live_close(stream, NGX_ERROR);
            return;
        }

        b->tag = (ngx_buf_tag_t) &ngx_http_chantier_live_presence_tag;
        b->temporary = 1;
        b->flush = 1;
        stream->presence = b;
    }

    /* freed by the request's cleanup: a buffer sent may be reused, not freed */
    if ((size_t) (b->end - b->start) < size) {
        if (b->start != NULL) {
            ngx_free(b->start);
        }

        size = ngx_max(size, NGX_HTTP_CHANTIER_LIVE_EVENT_SIZE);

        b->start = ngx_alloc(size, r->connection->log);
        if (b->start == NULL) {
            b->end = NULL;
            b->pos = NULL;
            b->last = NULL;
            ngx_http_chantier_live_close(stream, NGX_ERROR);
            return;
        }

        b->end = b->start + size;
    }

    b->pos = b->start;
    b->last = ngx_http_chantier_presence_event(&stream->fiche->presence,
                                               stream->user_id, b->start);

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    cl->buf = b;
    cl->next = NULL;

    ngx_http_chantier_live_output(stream, cl);
}


static void
ngx_http_chantier_live_output(ngx_http_chantier_live_stream_t *stream,
    ngx_chain_t *cl)
{
    ngx_int_t  rc;

    rc = ngx_http_output_filter(stream->request, cl);

    ngx_chain_update_chains(stream->request->pool, &stream->free,
                            &stream->busy, &cl,
                            (ngx_buf_tag_t) &ngx_http_chantier_module);

    ngx_http_chantier_live_flushed(stream, rc);
}


static void
ngx_http_chantier_live_writer(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_event_t                      *wev;
    ngx_chain_t                      *out;
    ngx_http_chantier_ctx_t          *ctx;
    ngx_http_chantier_live_stream_t  *stream;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);
    stream = ctx->data;
    wev = r->connection->write;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "chantier: event stream client timed out");
        r->connection->timedout = 1;
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    out = NULL;
    rc = ngx_http_output_filter(r, NULL);

    ngx_chain_update_chains(r->pool, &stream->free, &stream->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_chantier_module);

    ngx_http_chantier_live_flushed(stream, rc);
}


/* after a write: close on error, else wait for the socket if needed */

static void
ngx_http_chantier_live_flushed(ngx_http_chantier_live_stream_t *stream,
    ngx_int_t rc)
{
    ngx_event_t               *wev;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = stream->request;
    c = r->connection;
    wev = c->write;

    if (rc == NGX_ERROR || c->error) {
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->buffered || c->buffered) {
        if (!wev->delayed) {
            ngx_add_timer(wev, clcf->send_timeout);
        }

    } else if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
        ngx_http_chantier_live_close(stream, NGX_ERROR);
        return;
    }

    if (stream->presence_due && stream->presence->pos == stream->presence->last)
    {
        ngx_http_chantier_live_send_presence(stream);
    }
}


/*
 * Ends a stream: NGX_OK ends the response properly (last chunk), so that
 * the browser reconnects; NGX_ERROR closes the connection.  The stream
 * lives in the request's pool: it must not be touched afterwards.
 */

static void
ngx_http_chantier_live_close(ngx_http_chantier_live_stream_t *stream,
    ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (stream->closed) {
        return;
    }

    if (stream->pending) {
        /* its request belongs to the access check: start() will refuse */
        stream->ended = 1;
        return;
    }

    r = stream->request;
    c = r->connection;

    ngx_http_chantier_live_unregister(stream);

    if (rc == NGX_OK) {
        rc = ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    ngx_http_finalize_request(r, rc);

    /*
     * Called from a timer or a pub/sub message as well as from the
     * request's own events: run what finalizing posted, or the request of
     * a reset connection stays allocated (see ngx_http_chantier_redis.c).
     */
    ngx_http_run_posted_requests(c);
}


/* the request is freed: the client left, or the stream was closed */

static void
ngx_http_chantier_live_cleanup(void *data)
{
    ngx_http_chantier_live_stream_t  *stream = data;

    if (!stream->closed) {
        ngx_http_chantier_live_unregister(stream);
    }

    if (stream->presence != NULL && stream->presence->start != NULL) {
        ngx_free(stream->presence->start);
    }
}


/*
 * Every 25 s: a comment line on every stream (proxies and browsers keep an
 * active connection), and the end of the streams whose session expired.
 * The browser of an expired session reconnects and gets 401.
 */

static void
ngx_http_chantier_live_heartbeat(ngx_event_t *ev)
{
    ngx_http_chantier_live_t *live = ev->data;

    time_t                            now;
    ngx_queue_t                      *q, *next;
    ngx_http_chantier_live_stream_t  *stream;

    now = ngx_time();

    for (q = ngx_queue_head(&live->streams);
         q != ngx_queue_sentinel(&live->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t,
                                in_worker);

        if (stream->pending) {
            continue;
        }

        if (stream->expires <= now) {
            ngx_http_chantier_live_close(stream, NGX_OK);
            continue;
        }

        ngx_http_chantier_live_send(stream, ngx_http_chantier_live_comment,
                                    sizeof(ngx_http_chantier_live_comment)
                                    - 1);
    }

    if (live->count) {
        ngx_add_timer(&live->heartbeat, NGX_HTTP_CHANTIER_LIVE_HEARTBEAT);
    }
}


/*
 * Armed (not cancelable) while streams are open, so that a worker told to
 * exit gracefully does not leave before ending them: nginx waits for such
 * timers.  The streams then end with a last chunk and the pages reconnect
 * to the new workers.
 */

static void
ngx_http_chantier_live_exit_watch(ngx_event_t *ev)
{
    ngx_http_chantier_live_t *live = ev->data;

    ngx_queue_t                      *q, *next;
    ngx_http_chantier_live_stream_t  *stream;

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        if (live->count) {
            ngx_add_timer(&live->exit_watch,
                          NGX_HTTP_CHANTIER_LIVE_EXIT_WATCH);
        }

        return;
    }

    for (q = ngx_queue_head(&live->streams);
         q != ngx_queue_sentinel(&live->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        stream = ngx_queue_data(q, ngx_http_chantier_live_stream_t,
                                in_worker);

        ngx_http_chantier_live_close(stream, NGX_OK);
    }
}


/*
 * Every 5 s while streams are open: this worker's viewers of each fiche
 * are still there, before their entries expire (15 s).
 */

static void
ngx_http_chantier_live_presence_refresh(ngx_event_t *ev)
{
    ngx_http_chantier_live_t *live = ev->data;

    ngx_rbtree_node_t  *node;

    if (live->fiches.root == live->fiches.sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(live->fiches.root, live->fiches.sentinel);
         node != NULL;
         node = ngx_rbtree_next(&live->fiches, node))
    {
        ngx_http_chantier_presence_refresh(
            &((ngx_http_chantier_live_fiche_t *) node)->presence,
            (int64_t) node->key);
    }

    ngx_add_timer(&live->presence_refresh, NGX_HTTP_CHANTIER_PRESENCE_REFRESH);
}


ngx_int_t
ngx_http_chantier_live_init_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_live_t  *live;

    live = ngx_pcalloc(cycle->pool, sizeof(ngx_http_chantier_live_t));
    if (live == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&live->fiches, &live->sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&live->streams);

    live->log = cycle->log;

    live->heartbeat.handler = ngx_http_chantier_live_heartbeat;
    live->heartbeat.data = live;
    live->heartbeat.log = cycle->log;
    live->heartbeat.cancelable = 1;

    live->exit_watch.handler = ngx_http_chantier_live_exit_watch;
    live->exit_watch.data = live;
    live->exit_watch.log = cycle->log;

    live->presence_refresh.handler = ngx_http_chantier_live_presence_refresh;
    live->presence_refresh.data = live;
    live->presence_refresh.log = cycle->log;
    live->presence_refresh.cancelable = 1;

    if (ngx_http_chantier_presence_init_process(cycle->log) != NGX_OK
        || ngx_http_chantier_known_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    mcf->live = live;

    if (ngx_http_chantier_redis_subscribe(mcf,
                                          NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL "*",
                                          ngx_http_chantier_live_message,
                                          ngx_http_chantier_live_subscribed,
                                          live)
        != NGX_OK
        || ngx_http_chantier_redis_subscribe(mcf,
                                          NGX_HTTP_CHANTIER_SESSION_CHANNEL,
                                          ngx_http_chantier_live_message,
                                          ngx_http_chantier_live_subscribed,
                                          live)
           != NGX_OK
        || ngx_http_chantier_redis_subscribe(mcf,
                                          NGX_HTTP_CHANTIER_USER_CHANNEL,
                                          ngx_http_chantier_live_message,
                                          ngx_http_chantier_live_subscribed,
                                          live)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_chantier_live_exit_process(ngx_cycle_t *cycle,
    ngx_http_chantier_main_conf_t *mcf)
{
    ngx_http_chantier_live_t  *live;

    live = mcf->live;

    if (live == NULL) {
        return;
    }

    if (live->heartbeat.timer_set) {
        ngx_del_timer(&live->heartbeat);
    }

    if (live->exit_watch.timer_set) {
        ngx_del_timer(&live->exit_watch);
    }

    if (live->presence_refresh.timer_set) {
        ngx_del_timer(&live->presence_refresh);
    }

    ngx_http_chantier_known_exit_process();

    mcf->live = NULL;
}
