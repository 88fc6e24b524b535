/*
 * Presence of a fiche's viewers: this worker's share of the set kept in
 * Redis, and the set as last heard (see ngx_http_chantier_presence.h).
 *
 * An entry of the set is "<worker>\t<user id>\t<viewer JSON>": <worker>
 * tells this worker's entries from those of the other workers and nodes,
 * so that a user whose tabs went to two workers stays in the set until
 * both have ended.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/rand.h>

#include "ngx_http_chantier_presence.h"
#include "ngx_http_chantier_live.h"
#include "../core/ngx_http_chantier_redis.h"


#define NGX_HTTP_CHANTIER_PRESENCE_KEY     "chantier:presence:"
#define NGX_HTTP_CHANTIER_PRESENCE_WORKER  16       /* hex digits */


/* a user with streams of the fiche on this worker */
typedef struct {
    ngx_queue_t                   queue;
    int64_t                       user_id;
    ngx_uint_t                    streams;
    ngx_str_t                     entry;        /* follows the struct */
} ngx_http_chantier_presence_user_t;


static ngx_http_chantier_presence_user_t *ngx_http_chantier_presence_user(
    ngx_http_chantier_presence_t *p, int64_t user_id);
static void ngx_http_chantier_presence_send(int64_t fiche_id,
    const char *op, ngx_uint_t n, ngx_str_t *entries);


static u_char  ngx_http_chantier_presence_worker[NGX_HTTP_CHANTIER_PRESENCE_WORKER];

static u_char  ngx_http_chantier_presence_head[] =
    "event: presence\ndata: {\"viewers\":[";


void
ngx_http_chantier_presence_init(ngx_http_chantier_presence_t *p)
{
    ngx_queue_init(&p->users);
    ngx_str_null(&p->heard);
    p->known = 0;
}


ngx_int_t
ngx_http_chantier_presence_join(ngx_http_chantier_presence_t *p,
    int64_t fiche_id, int64_t user_id, ngx_str_t *viewer, ngx_log_t *log)
{
    size_t                              size;
    u_char                             *last;
    ngx_http_chantier_presence_user_t  *user;

    user = ngx_http_chantier_presence_user(p, user_id);

    if (user != NULL) {
        user->streams++;
        return NGX_OK;
    }

    size = NGX_HTTP_CHANTIER_PRESENCE_WORKER + 2 + NGX_INT64_LEN + viewer->len;

    user = ngx_alloc(sizeof(ngx_http_chantier_presence_user_t) + size, log);
    if (user == NULL) {
        return NGX_ERROR;
    }

    user->user_id = user_id;
    user->streams = 1;
    user->entry.data = (u_char *) (user + 1);

    last = ngx_sprintf(user->entry.data, "%*s\t%L\t%V",
                       (size_t) NGX_HTTP_CHANTIER_PRESENCE_WORKER,
                       ngx_http_chantier_presence_worker, user_id, viewer);
    user->entry.len = last - user->entry.data;

    ngx_queue_insert_tail(&p->users, &user->queue);

    ngx_http_chantier_presence_send(fiche_id, "join", 1, &user->entry);

    return NGX_OK;
}


void
ngx_http_chantier_presence_leave(ngx_http_chantier_presence_t *p,
    int64_t fiche_id, int64_t user_id)
{
    ngx_http_chantier_presence_user_t  *user;

    user = ngx_http_chantier_presence_user(p, user_id);

    if (user != NULL && --user->streams == 0) {
        ngx_http_chantier_presence_send(fiche_id, "leave", 1, &user->entry);
        ngx_queue_remove(&user->queue);
        ngx_free(user);
    }
}


static ngx_http_chantier_presence_user_t *
ngx_http_chantier_presence_user(ngx_http_chantier_presence_t *p,
    int64_t user_id)
{
    ngx_queue_t                        *q;
    ngx_http_chantier_presence_user_t  *user;

    for (q = ngx_queue_head(&p->users);
         q != ngx_queue_sentinel(&p->users);
         q = ngx_queue_next(q))
    {
        user = ngx_queue_data(q, ngx_http_chantier_presence_user_t, queue);

        if (user->user_id == user_id) {
            return user;
        }
    }

    return NULL;
}


void
ngx_http_chantier_presence_refresh(ngx_http_chantier_presence_t *p,
    int64_t fiche_id)
{
    ngx_uint_t                          n;
    ngx_str_t                          *entries;
    ngx_queue_t                        *q;
    ngx_http_chantier_presence_user_t  *user;

    n = 0;

    for (q = ngx_queue_head(&p->users);
         q != ngx_queue_sentinel(&p->users);
         q = ngx_queue_next(q))
    {
        n++;
    }

    if (n == 0) {
        return;
    }

    entries = ngx_alloc(n * sizeof(ngx_str_t), ngx_cycle->log);
    if (entries == NULL) {
        return;
    }

    n = 0;

    for (q = ngx_queue_head(&p->users);
         q != ngx_queue_sentinel(&p->users);
         q = ngx_queue_next(q))
    {
        user = ngx_queue_data(q, ngx_http_chantier_presence_user_t, queue);
        entries[n++] = user->entry;
    }

    ngx_http_chantier_presence_send(fiche_id, "refresh", n, entries);

    ngx_free(entries);
}


/*
 * One call of core/lua/presence.lua.  Nobody waits for its answer: the
 * set comes back as a message to every worker.  When Redis is away the
 * call is lost, and so may be the messages; the streams all end and
 * reconnect when the subscriber is back (ngx_http_chantier_live.c), and
 * join again then.
 */

static void
ngx_http_chantier_presence_send(int64_t fiche_id, const char *op,
    ngx_uint_t n, ngx_str_t *entries)
{
    u_char       key[sizeof(NGX_HTTP_CHANTIER_PRESENCE_KEY) + NGX_INT64_LEN];
    u_char       channel[sizeof(NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL)
                         + NGX_INT64_LEN];
    u_char       lifetime[NGX_INT_T_LEN];
    size_t      *lens;
    ngx_uint_t   i;
    const char **args;

    args = ngx_alloc((4 + n) * (sizeof(char *) + sizeof(size_t)),
                     ngx_cycle->log);
    if (args == NULL) {
        return;
    }

    lens = (size_t *) (args + 4 + n);

    args[0] = (char *) key;
    lens[0] = ngx_sprintf(key, NGX_HTTP_CHANTIER_PRESENCE_KEY "%L", fiche_id)
              - key;

    args[1] = op;
    lens[1] = ngx_strlen(op);

    args[2] = (char *) channel;
    lens[2] = ngx_sprintf(channel, NGX_HTTP_CHANTIER_LIVE_FICHE_CHANNEL "%L",
                          fiche_id)
              - channel;

    args[3] = (char *) lifetime;
    lens[3] = ngx_sprintf(lifetime, "%d", NGX_HTTP_CHANTIER_PRESENCE_LIFETIME)
              - lifetime;

    for (i = 0; i < n; i++) {
        args[4 + i] = (char *) entries[i].data;
        lens[4 + i] = entries[i].len;
    }

    /* the call keeps its own copy of the arguments */
    (void) ngx_http_chantier_redis_eval(NULL, NULL,
                                        NGX_HTTP_CHANTIER_LUA_PRESENCE, 1,
                                        4 + n, args, lens);

    ngx_free(args);
}


ngx_uint_t
ngx_http_chantier_presence_heard(ngx_http_chantier_presence_t *p,
    ngx_str_t *set, ngx_log_t *log)
{
    u_char  *copy;

    if (p->known && p->heard.len == set->len
        && ngx_memcmp(p->heard.data, set->data, set->len) == 0)
    {
        return 0;
    }

    copy = ngx_alloc(set->len ? set->len : 1, log);
    if (copy == NULL) {
        return 0;
    }

    ngx_memcpy(copy, set->data, set->len);

    if (p->heard.data != NULL) {
        ngx_free(p->heard.data);
    }

    p->heard.data = copy;
    p->heard.len = set->len;
    p->known = 1;

    return 1;
}


size_t
ngx_http_chantier_presence_event_size(ngx_http_chantier_presence_t *p)
{
    return sizeof(ngx_http_chantier_presence_head) - 1 + p->heard.len
           + sizeof("],\"more\":}\n\n") - 1 + NGX_INT_T_LEN;
}


/*
 * The set heard is "<count>\n" then "<user id>\t<viewer JSON>" lines; the
 * event lists the viewers but the stream's own user, and "more" the
 * others that the set does not list.
 */

u_char *
ngx_http_chantier_presence_event(ngx_http_chantier_presence_t *p,
    int64_t user_id, u_char *buf)
{
    u_char      *pos, *end, *eol, *tab, *last;
    off_t        count, id;
    ngx_uint_t   listed, shown, self;

    last = ngx_cpymem(buf, ngx_http_chantier_presence_head,
                      sizeof(ngx_http_chantier_presence_head) - 1);

    pos = p->heard.data;
    end = pos + p->heard.len;

    eol = (pos != NULL) ? ngx_strlchr(pos, end, '\n') : NULL;
    count = (eol != NULL) ? ngx_atoof(pos, eol - pos) : 0;
    pos = (eol != NULL) ? eol + 1 : end;

    listed = 0;
    shown = 0;
    self = 0;

    while (pos < end) {
        eol = ngx_strlchr(pos, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        tab = ngx_strlchr(pos, eol, '\t');

        if (tab != NULL) {
            listed++;
            id = ngx_atoof(pos, tab - pos);

            if (id == user_id) {
                self = 1;

            } else {
                if (shown++) {
                    *last++ = ',';
                }

                last = ngx_cpymem(last, tab + 1, eol - (tab + 1));
            }
        }

        pos = eol + 1;
    }

    /* a stream's own user is in the set, listed or not, once it joined */
    if (count > (off_t) listed) {
        self = 1;
    }

    count -= self + shown;

    last = ngx_cpymem(last, "]", 1);

    if (count > 0) {
        last = ngx_sprintf(last, ",\"more\":%O", count);
    }

    return ngx_cpymem(last, "}\n\n", 3);
}


void
ngx_http_chantier_presence_free(ngx_http_chantier_presence_t *p)
{
    ngx_queue_t                        *q;
    ngx_http_chantier_presence_user_t  *user;

    while (!ngx_queue_empty(&p->users)) {
        q = ngx_queue_head(&p->users);
        user = ngx_queue_data(q, ngx_http_chantier_presence_user_t, queue);
        ngx_queue_remove(q);
        ngx_free(user);
    }

    if (p->heard.data != NULL) {
        ngx_free(p->heard.data);
        ngx_str_null(&p->heard);
    }

    p->known = 0;
}


ngx_int_t
ngx_http_chantier_presence_init_process(ngx_log_t *log)
{
    u_char  bytes[NGX_HTTP_CHANTIER_PRESENCE_WORKER / 2];

    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "chantier: no random bytes for the worker's name");
        return NGX_ERROR;
    }

    ngx_hex_dump(ngx_http_chantier_presence_worker, bytes, sizeof(bytes));

    return NGX_OK;
}
