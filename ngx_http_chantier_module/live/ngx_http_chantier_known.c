/*
 * What a worker knows without asking (see ngx_http_chantier_known.h).
 *
 * Why a read served from here never grants an access PostgreSQL would
 * refuse, nor a session Redis would refuse:
 *
 * 1. Every change that can take an access away is published on Redis after
 *    it is committed, and the request that made it is answered only after
 *    Redis took the message: a chantier given to another client ("access"
 *    on chantier:fiche:<id>), a session ended (logout, a new login, the
 *    sessions of a user ended by a password change, a deactivation or a
 *    change of role: chantier:session-end).  A new version of a fiche is
 *    published the same way, and the worker that made it knows it at once;
 *    a change of a client's name or address, which moves the versions of
 *    all their fiches, is published as chantier:user-changed.
 *
 * 2. A worker keeps an entry only while its subscriber connection is up
 *    with all its subscriptions (an "epoch"): when that connection drops,
 *    messages may be missed, so everything known is forgotten at once, and
 *    nothing is learnt again until the subscriptions are back.  Reads then
 *    ask Redis and PostgreSQL, as they always did.
 *
 * 3. An answer (of Redis or PostgreSQL) is kept only if no message of its
 *    kind was heard between the question and the answer, in the same epoch
 *    (ngx_http_chantier_known_mark): it might predate that message.  A
 *    message heard after is applied to what was kept.
 *
 * 4. Before serving from here, the worker reads what its subscriber
 *    connection already holds (ngx_http_chantier_redis_sub_drain): a
 *    message Redis sent before the request came is applied first.  Since
 *    the change's own request was answered only after Redis sent its
 *    message to every subscriber, a client that saw the change answered
 *    and asks again, on any node, finds it applied.
 *
 * 5. What is known is asked again after NGX_HTTP_CHANTIER_KNOWN_MAX_AGE:
 *    this bounds what a message lost without the connection dropping
 *    (a node cut from Redis but not from PostgreSQL, so that its changes
 *    are committed but never announced) can leave wrong.  An older entry
 *    serves only while PostgreSQL does not answer: nobody can change a
 *    fiche then, and the answer says it may be stale.
 *
 * A session's expiry is its own: an entry is never used past the expiry
 * Redis gave it.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_chantier_known.h"


typedef struct {
    ngx_str_node_t                sn;           /* key: the session's key */
    ngx_queue_t                   queue;
    ngx_msec_t                    learnt;
    int64_t                       user_id;
    ngx_http_chantier_role_e      role;
    time_t                        expires;
    ngx_str_t                     user_id_text; /* these follow the struct */
    ngx_str_t                     csrf_token;
} ngx_http_chantier_known_session_t;


typedef struct {
    ngx_rbtree_node_t             node;         /* key: the fiche id */
    ngx_queue_t                   queue;
    ngx_msec_t                    learnt;
    int64_t                       version;
    int64_t                       client_id;
} ngx_http_chantier_known_fiche_t;


typedef struct {
    ngx_rbtree_t                  sessions;
    ngx_rbtree_node_t             sessions_sentinel;
    ngx_queue_t                   session_list;
    ngx_uint_t                    nsessions;

    ngx_rbtree_t                  fiches;
    ngx_rbtree_node_t             fiches_sentinel;
    ngx_queue_t                   fiche_list;
    ngx_uint_t                    nfiches;

    ngx_uint_t                    epoch;
    ngx_uint_t                    up;           /* unsigned:1 */
    ngx_uint_t                    heard[2];     /* per kind */
    ngx_log_t                    *log;
} ngx_http_chantier_known_t;


static ngx_http_chantier_known_session_t *
    ngx_http_chantier_known_session_find(ngx_str_t *key);
static ngx_http_chantier_known_fiche_t *ngx_http_chantier_known_fiche_find(
    int64_t id);
static void ngx_http_chantier_known_session_remove(
    ngx_http_chantier_known_session_t *s);
static void ngx_http_chantier_known_fiche_remove(
    ngx_http_chantier_known_fiche_t *f);
static void ngx_http_chantier_known_forget(void);


static ngx_http_chantier_known_t  *ngx_http_chantier_known;


void
ngx_http_chantier_known_mark(ngx_http_chantier_known_mark_t *mark,
    ngx_http_chantier_known_kind_e kind)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    mark->epoch = (k != NULL && k->up) ? k->epoch : 0;
    mark->heard = (k != NULL) ? k->heard[kind] : 0;
}


static ngx_uint_t
ngx_http_chantier_known_still(ngx_http_chantier_known_mark_t *mark,
    ngx_http_chantier_known_kind_e kind)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    return k != NULL && k->up && mark->epoch != 0 && mark->epoch == k->epoch
           && mark->heard == k->heard[kind];
}


/* sessions */

ngx_int_t
ngx_http_chantier_known_session(ngx_str_t *key,
    ngx_http_chantier_session_t *session, ngx_pool_t *pool)
{
    ngx_http_chantier_known_t          *k = ngx_http_chantier_known;
    ngx_http_chantier_known_session_t  *s;

    if (k == NULL || !k->up) {
        return NGX_DECLINED;
    }

    s = ngx_http_chantier_known_session_find(key);
    if (s == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_current_msec - s->learnt >= NGX_HTTP_CHANTIER_KNOWN_MAX_AGE
        || s->expires <= ngx_time())
    {
        ngx_http_chantier_known_session_remove(s);
        return NGX_DECLINED;
    }

    session->user_id = s->user_id;
    session->role = s->role;
    session->expires = s->expires;

    session->user_id_text.len = s->user_id_text.len;
    session->user_id_text.data = ngx_pnalloc(pool, s->user_id_text.len + 1);
    session->csrf_token.len = s->csrf_token.len;
    session->csrf_token.data = ngx_pnalloc(pool, s->csrf_token.len + 1);

    if (session->user_id_text.data == NULL
        || session->csrf_token.data == NULL)
    {
        return NGX_DECLINED;
    }

    *ngx_cpymem(session->user_id_text.data, s->user_id_text.data,
                s->user_id_text.len) = '\0';
    *ngx_cpymem(session->csrf_token.data, s->csrf_token.data,
                s->csrf_token.len) = '\0';

    return NGX_OK;
}


void
ngx_http_chantier_known_session_put(ngx_http_chantier_known_mark_t *mark,
    ngx_http_chantier_session_t *session)
{
    u_char                             *p;
    ngx_str_t                          *key;
    ngx_http_chantier_known_t          *k = ngx_http_chantier_known;
    ngx_http_chantier_known_session_t  *s;

    if (!ngx_http_chantier_known_still(mark,
                                       NGX_HTTP_CHANTIER_KNOWN_SESSIONS))
    {
        return;
    }

    key = &session->token_hash;

    s = ngx_http_chantier_known_session_find(key);
    if (s != NULL) {
        ngx_http_chantier_known_session_remove(s);
    }

    if (k->nsessions >= NGX_HTTP_CHANTIER_KNOWN_MAX) {
        /* the one learnt first goes */
        s = ngx_queue_data(ngx_queue_head(&k->session_list),
                           ngx_http_chantier_known_session_t, queue);
        ngx_http_chantier_known_session_remove(s);
    }

    s = ngx_alloc(sizeof(ngx_http_chantier_known_session_t) + key->len
                  + session->user_id_text.len + session->csrf_token.len,
                  k->log);
    if (s == NULL) {
        return;
    }

    p = (u_char *) (s + 1);

    s->sn.str.data = p;
    s->sn.str.len = key->len;
    p = ngx_cpymem(p, key->data, key->len);

    s->user_id_text.data = p;
    s->user_id_text.len = session->user_id_text.len;
    p = ngx_cpymem(p, session->user_id_text.data, session->user_id_text.len);

    s->csrf_token.data = p;
    s->csrf_token.len = session->csrf_token.len;
    ngx_memcpy(p, session->csrf_token.data, session->csrf_token.len);

    s->sn.node.key = ngx_crc32_short(key->data, key->len);
    s->learnt = ngx_current_msec;
    s->user_id = session->user_id;
    s->role = session->role;
    s->expires = session->expires;

    ngx_rbtree_insert(&k->sessions, &s->sn.node);
    ngx_queue_insert_tail(&k->session_list, &s->queue);
    k->nsessions++;
}


static ngx_http_chantier_known_session_t *
ngx_http_chantier_known_session_find(ngx_str_t *key)
{
    return (ngx_http_chantier_known_session_t *)
        ngx_str_rbtree_lookup(&ngx_http_chantier_known->sessions, key,
                              ngx_crc32_short(key->data, key->len));
}


static void
ngx_http_chantier_known_session_remove(ngx_http_chantier_known_session_t *s)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    ngx_rbtree_delete(&k->sessions, &s->sn.node);
    ngx_queue_remove(&s->queue);
    k->nsessions--;
    ngx_free(s);
}


void
ngx_http_chantier_known_session_ended(ngx_str_t *key)
{
    ngx_http_chantier_known_t          *k = ngx_http_chantier_known;
    ngx_http_chantier_known_session_t  *s;

    if (k == NULL) {
        return;
    }

    k->heard[NGX_HTTP_CHANTIER_KNOWN_SESSIONS]++;

    s = ngx_http_chantier_known_session_find(key);
    if (s != NULL) {
        ngx_http_chantier_known_session_remove(s);
    }
}


void
ngx_http_chantier_known_user_sessions_ended(int64_t user_id, ngx_str_t *keep)
{
    ngx_queue_t                        *q, *next;
    ngx_http_chantier_known_t          *k = ngx_http_chantier_known;
    ngx_http_chantier_known_session_t  *s;

    if (k == NULL) {
        return;
    }

    k->heard[NGX_HTTP_CHANTIER_KNOWN_SESSIONS]++;

    for (q = ngx_queue_head(&k->session_list);
         q != ngx_queue_sentinel(&k->session_list);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_http_chantier_known_session_t, queue);

        if (s->user_id == user_id
            && (s->sn.str.len != keep->len
                || ngx_strncmp(s->sn.str.data, keep->data, keep->len) != 0))
        {
            ngx_http_chantier_known_session_remove(s);
        }
    }
}


/* fiches */

ngx_int_t
ngx_http_chantier_known_fiche(int64_t id, int64_t *version,
    int64_t *client_id, ngx_uint_t *fresh)
{
    ngx_http_chantier_known_t        *k = ngx_http_chantier_known;
    ngx_http_chantier_known_fiche_t  *f;

    if (k == NULL || !k->up) {
        return NGX_DECLINED;
    }

    f = ngx_http_chantier_known_fiche_find(id);

    if (f == NULL) {
        return NGX_DECLINED;
    }

    *version = f->version;
    *client_id = f->client_id;
    *fresh = (ngx_current_msec - f->learnt < NGX_HTTP_CHANTIER_KNOWN_MAX_AGE);

    return NGX_OK;
}


void
ngx_http_chantier_known_fiche_put(ngx_http_chantier_known_mark_t *mark,
    int64_t id, int64_t version, int64_t client_id)
{
    ngx_http_chantier_known_t        *k = ngx_http_chantier_known;
    ngx_http_chantier_known_fiche_t  *f;

    if (!ngx_http_chantier_known_still(mark, NGX_HTTP_CHANTIER_KNOWN_FICHES)) {
        return;
    }

    f = ngx_http_chantier_known_fiche_find(id);

    if (f != NULL) {
        ngx_http_chantier_known_fiche_remove(f);
    }

    if (k->nfiches >= NGX_HTTP_CHANTIER_KNOWN_MAX) {
        f = ngx_queue_data(ngx_queue_head(&k->fiche_list),
                           ngx_http_chantier_known_fiche_t, queue);
        ngx_http_chantier_known_fiche_remove(f);
    }

    f = ngx_alloc(sizeof(ngx_http_chantier_known_fiche_t), k->log);
    if (f == NULL) {
        return;
    }

    f->node.key = (ngx_rbtree_key_t) id;
    f->learnt = ngx_current_msec;
    f->version = version;
    f->client_id = client_id;

    ngx_rbtree_insert(&k->fiches, &f->node);
    ngx_queue_insert_tail(&k->fiche_list, &f->queue);
    k->nfiches++;
}


/* a newer version: what was known of the fiche's access still holds */

void
ngx_http_chantier_known_fiche_changed(int64_t id, int64_t version)
{
    ngx_http_chantier_known_t        *k = ngx_http_chantier_known;
    ngx_http_chantier_known_fiche_t  *f;

    if (k == NULL) {
        return;
    }

    k->heard[NGX_HTTP_CHANTIER_KNOWN_FICHES]++;

    f = ngx_http_chantier_known_fiche_find(id);

    if (f != NULL && version > f->version) {
        f->version = version;
    }
}


void
ngx_http_chantier_known_fiche_access(int64_t id)
{
    ngx_http_chantier_known_t        *k = ngx_http_chantier_known;
    ngx_http_chantier_known_fiche_t  *f;

    if (k == NULL) {
        return;
    }

    k->heard[NGX_HTTP_CHANTIER_KNOWN_FICHES]++;

    f = ngx_http_chantier_known_fiche_find(id);

    if (f != NULL) {
        ngx_http_chantier_known_fiche_remove(f);
    }
}


/* a client's name or address, in their fiches' headers, changed */

void
ngx_http_chantier_known_client_changed(int64_t client_id)
{
    ngx_queue_t                      *q, *next;
    ngx_http_chantier_known_t        *k = ngx_http_chantier_known;
    ngx_http_chantier_known_fiche_t  *f;

    if (k == NULL) {
        return;
    }

    k->heard[NGX_HTTP_CHANTIER_KNOWN_FICHES]++;

    for (q = ngx_queue_head(&k->fiche_list);
         q != ngx_queue_sentinel(&k->fiche_list);
         q = next)
    {
        next = ngx_queue_next(q);
        f = ngx_queue_data(q, ngx_http_chantier_known_fiche_t, queue);

        if (f->client_id == client_id) {
            ngx_http_chantier_known_fiche_remove(f);
        }
    }
}


static ngx_http_chantier_known_fiche_t *
ngx_http_chantier_known_fiche_find(int64_t id)
{
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    node = k->fiches.root;
    sentinel = k->fiches.sentinel;

    while (node != sentinel && node->key != (ngx_rbtree_key_t) id) {
        node = ((ngx_rbtree_key_t) id < node->key) ? node->left : node->right;
    }

    return (node != sentinel) ? (ngx_http_chantier_known_fiche_t *) node
                              : NULL;
}


static void
ngx_http_chantier_known_fiche_remove(ngx_http_chantier_known_fiche_t *f)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    ngx_rbtree_delete(&k->fiches, &f->node);
    ngx_queue_remove(&f->queue);
    k->nfiches--;
    ngx_free(f);
}


/* the epochs */

void
ngx_http_chantier_known_subscribed(ngx_uint_t up)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    if (k == NULL) {
        return;
    }

    ngx_http_chantier_known_forget();

    k->epoch++;
    k->up = up;
}


static void
ngx_http_chantier_known_forget(void)
{
    ngx_http_chantier_known_t  *k = ngx_http_chantier_known;

    while (!ngx_queue_empty(&k->session_list)) {
        ngx_http_chantier_known_session_remove(
            ngx_queue_data(ngx_queue_head(&k->session_list),
                           ngx_http_chantier_known_session_t, queue));
    }

    while (!ngx_queue_empty(&k->fiche_list)) {
        ngx_http_chantier_known_fiche_remove(
            ngx_queue_data(ngx_queue_head(&k->fiche_list),
                           ngx_http_chantier_known_fiche_t, queue));
    }
}


ngx_int_t
ngx_http_chantier_known_init_process(ngx_cycle_t *cycle)
{
    ngx_http_chantier_known_t  *k;

    k = ngx_pcalloc(cycle->pool, sizeof(ngx_http_chantier_known_t));
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&k->sessions, &k->sessions_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&k->session_list);

    ngx_rbtree_init(&k->fiches, &k->fiches_sentinel, ngx_rbtree_insert_value);
    ngx_queue_init(&k->fiche_list);

    k->epoch = 1;
    k->log = cycle->log;

    ngx_http_chantier_known = k;

    return NGX_OK;
}


void
ngx_http_chantier_known_exit_process(void)
{
    if (ngx_http_chantier_known != NULL) {
        ngx_http_chantier_known_forget();
        ngx_http_chantier_known = NULL;
    }
}
