/*
 * Sessions: cookie token -> SHA-256 -> Redis hash.  Each operation is one
 * Lua script, so a session never exists half-written in Redis.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#include "ngx_http_chantier_session.h"
#include "ngx_http_chantier_redis.h"
#include "ngx_http_chantier_http.h"


#define NGX_HTTP_CHANTIER_TOKEN_BYTES  32
#define NGX_HTTP_CHANTIER_SESSION_KEY  "chantier:session:"


static ngx_int_t ngx_http_chantier_session_key(ngx_http_request_t *r,
    ngx_str_t *token, ngx_str_t *key);
static ngx_int_t ngx_http_chantier_session_cookie(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_chantier_session_random(ngx_pool_t *pool,
    ngx_str_t *out);
static ngx_int_t ngx_http_chantier_session_set_cookie(ngx_http_request_t *r,
    ngx_str_t *token);
static void ngx_http_chantier_session_found(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static void ngx_http_chantier_session_done(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static ngx_int_t ngx_http_chantier_session_copy(ngx_pool_t *pool,
    redisReply *reply, ngx_str_t *out);
static ngx_int_t ngx_http_chantier_session_user_keys(ngx_http_request_t *r,
    ngx_str_t *user_id, ngx_str_t *gen, ngx_str_t *doc);


/*
 * KEYS[1] session; ARGV now, idle, lifetime, "1" for the user's document,
 * a fresh generation.  Returns {user_id, role, csrf, seconds left} or nil,
 * plus with ARGV[4] the user's cached document (or false) and its
 * generation.  The
 * expiry is pushed back by "idle" but never past created + lifetime, so an
 * active session still ends at its absolute lifetime.
 *
 * The document cache of a user is chantier:user:<id>:json, valid while
 * chantier:user:<id>:gen is unchanged: every change of the user increments
 * it (ngx_http_chantier_session_user_changed).  A generation found missing
 * (Redis lost it) is created fresh and the document dropped, so a document
 * can never outlive a change it did not see.
 */
static char  ngx_http_chantier_session_find_lua[] =
    "local s = redis.call('HMGET', KEYS[1], 'user_id', 'role', 'csrf',"
    " 'created')\n"
    "if not s[1] or not s[4] then return nil end\n"
    "local left = tonumber(s[4]) + tonumber(ARGV[3]) - tonumber(ARGV[1])\n"
    "if left <= 0 then redis.call('DEL', KEYS[1]) return nil end\n"
    "local ttl = math.min(tonumber(ARGV[2]), left)\n"
    "redis.call('EXPIRE', KEYS[1], ttl)\n"
    "if ARGV[4] ~= '1' then return {s[1], s[2], s[3], ttl} end\n"
    "local u = 'chantier:user:' .. s[1]\n"
    "local gen = redis.call('GET', u .. ':gen')\n"
    "if not gen then\n"
    "  redis.call('SET', u .. ':gen', ARGV[5])\n"
    "  redis.call('DEL', u .. ':json')\n"
    "  return {s[1], s[2], s[3], ttl, false, ARGV[5]}\n"
    "end\n"
    "return {s[1], s[2], s[3], ttl, redis.call('GET', u .. ':json'), gen}\n";

/* KEYS[1] generation, KEYS[2] document; ARGV generation read, document, ttl */
static char  ngx_http_chantier_session_store_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])\n"
    "end\n"
    "return 1\n";

/* KEYS[1] generation, KEYS[2] document */
static char  ngx_http_chantier_session_changed_lua[] =
    "redis.call('INCR', KEYS[1])\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n";

/*
 * KEYS[1] new session, KEYS[2] the user's session set, KEYS[3] the old
 * session of this browser (may be the same name as nothing);
 * ARGV user_id, role, csrf, now, idle, lifetime.
 * Also drops set members whose session has expired, so the set stays small.
 */
static char  ngx_http_chantier_session_create_lua[] =
    "redis.call('DEL', KEYS[3])\n"
    "redis.call('SREM', KEYS[2], KEYS[3])\n"
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('EXISTS', k) == 0 then redis.call('SREM', KEYS[2], k)"
    " end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'role', ARGV[2],"
    " 'csrf', ARGV[3], 'created', ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "redis.call('SADD', KEYS[2], KEYS[1])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
    "return 1\n";

/*
 * KEYS[1] the user's session set; ARGV[1] the session to keep, or "",
 * ARGV[2] the user id.  Every worker's event streams hear of it on
 * chantier:session-end ("u:<user id>:<session kept>") and close theirs.
 */
static char  ngx_http_chantier_session_end_lua[] =
    "local n = 0\n"
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  if k ~= ARGV[1] then\n"
    "    redis.call('DEL', k) redis.call('SREM', KEYS[1], k) n = n + 1\n"
    "  end\n"
    "end\n"
    "redis.call('PUBLISH', 'chantier:session-end',"
    " 'u:' .. ARGV[2] .. ':' .. ARGV[1])\n"
    "return n\n";

/*
 * KEYS[1] session, KEYS[2] the user's session set; its event streams hear
 * "s:<session>" on chantier:session-end
 */
static char  ngx_http_chantier_session_destroy_lua[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('SREM', KEYS[2], KEYS[1])\n"
    "redis.call('PUBLISH', 'chantier:session-end', 's:' .. KEYS[1])\n"
    "return 1\n";


void
ngx_http_chantier_session_authenticate(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    u_char                         *p;
    size_t                          len[9];
    ngx_str_t                       token;
    const char                     *argv[9];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    if (ngx_http_chantier_session_cookie(r, &token) != NGX_OK
        || ngx_http_chantier_session_key(r, &token, &ctx->session.token_hash)
           != NGX_OK)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes pas connecté.");
        return;
    }

    p = ngx_pnalloc(r->pool, 4 * NGX_TIME_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_find_lua;
    argv[2] = "1";
    argv[3] = (char *) ctx->session.token_hash.data;
    len[3] = ctx->session.token_hash.len;

    argv[4] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_time());
    len[4] = (u_char *) p - (u_char *) argv[4];

    argv[5] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_idle);
    len[5] = (u_char *) p - (u_char *) argv[5];

    argv[6] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_lifetime);
    len[6] = (u_char *) p - (u_char *) argv[6];

    argv[7] = ctx->route->user_document ? "1" : "0";
    len[7] = 1;

    /* a generation that no earlier one can equal: now, in milliseconds */
    argv[8] = (char *) p;
    p = ngx_sprintf(p, "%T%03M", ngx_time(), ngx_timeofday()->msec);
    len[8] = (u_char *) p - (u_char *) argv[8];

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_find_lua) - 1;
    len[2] = 1;

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_session_found,
                                        9, argv, len)
        != NGX_OK)
    {
        ngx_http_chantier_send_unavailable(r, "redis");
    }
}


static void
ngx_http_chantier_session_found(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    ngx_int_t                 id;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        if (rc == NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "chantier: session lookup: %s", reply->str);
        }

        ngx_http_chantier_send_unavailable(r, "redis");
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != 4 && reply->elements != 6)
        || reply->element[3]->type != REDIS_REPLY_INTEGER)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Votre session a expiré, "
                                     "reconnectez-vous.");
        return;
    }

    if (ngx_http_chantier_session_copy(r->pool, reply->element[0],
                                       &ctx->session.user_id_text)
        != NGX_OK
        || ngx_http_chantier_session_copy(r->pool, reply->element[1],
                                          &ctx->session.role)
           != NGX_OK
        || ngx_http_chantier_session_copy(r->pool, reply->element[2],
                                          &ctx->session.csrf_token)
           != NGX_OK)
    {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes pas connecté.");
        return;
    }

    ctx->session.expires = ngx_time() + (time_t) reply->element[3]->integer;

    if (reply->elements == 6) {
        /* a missing document (nil) leaves user_json empty */
        (void) ngx_http_chantier_session_copy(r->pool, reply->element[4],
                                              &ctx->session.user_json);

        if (ngx_http_chantier_session_copy(r->pool, reply->element[5],
                                           &ctx->session.user_generation)
            == NGX_ERROR)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    id = ngx_atoi(ctx->session.user_id_text.data,
                  ctx->session.user_id_text.len);
    if (id == NGX_ERROR) {
        ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                     "not_logged_in",
                                     "Vous n'êtes pas connecté.");
        return;
    }

    ctx->session.user_id = id;
    ctx->authenticated = 1;

    ctx->next(r, ctx);
}


ngx_int_t
ngx_http_chantier_session_check_csrf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("X-CSRF-Token") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "X-CSRF-Token",
                               h[i].key.len)
               != 0)
        {
            continue;
        }

        if (h[i].value.len == ctx->session.csrf_token.len
            && ctx->session.csrf_token.len > 0
            && CRYPTO_memcmp(h[i].value.data, ctx->session.csrf_token.data,
                             h[i].value.len)
               == 0)
        {
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_chantier_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *role)
{
    u_char                         *p;
    size_t                          len[12];
    ngx_str_t                       token, old, set;
    const char                     *argv[12];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    ngx_str_set(&old, NGX_HTTP_CHANTIER_SESSION_KEY "none");

    if (ngx_http_chantier_session_cookie(r, &token) == NGX_OK
        && ngx_http_chantier_session_key(r, &token, &old) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_session_random(r->pool, &token) != NGX_OK
        || ngx_http_chantier_session_random(r->pool,
                                            &ctx->session.csrf_token)
           != NGX_OK
        || ngx_http_chantier_session_key(r, &token,
                                         &ctx->session.token_hash)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    set.len = sizeof("chantier:user::sessions") - 1 + user_id->len;
    set.data = ngx_pnalloc(r->pool, set.len + 3 * NGX_TIME_T_LEN);
    if (set.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(set.data, "chantier:user:%V:sessions", user_id);

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_create_lua;
    argv[2] = "3";
    argv[3] = (char *) ctx->session.token_hash.data;
    argv[4] = (char *) set.data;
    argv[5] = (char *) old.data;
    argv[6] = (char *) user_id->data;
    argv[7] = (char *) role->data;
    argv[8] = (char *) ctx->session.csrf_token.data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_create_lua) - 1;
    len[2] = 1;
    len[3] = ctx->session.token_hash.len;
    len[4] = set.len;
    len[5] = old.len;
    len[6] = user_id->len;
    len[7] = role->len;
    len[8] = ctx->session.csrf_token.len;

    argv[9] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_time());
    len[9] = (u_char *) p - (u_char *) argv[9];

    argv[10] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_min(mcf->session_idle,
                                     mcf->session_lifetime));
    len[10] = (u_char *) p - (u_char *) argv[10];

    argv[11] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_lifetime);
    len[11] = (u_char *) p - (u_char *) argv[11];

    /*
     * The cookie goes on the response before Redis is asked: once the
     * command is out, its callback will run, and nothing here may fail and
     * finalize the request under it.  If Redis then fails, the 503 carries
     * a cookie that names no session, which is harmless.
     */
    if (ngx_http_chantier_session_set_cookie(r, &token) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->session.user_id_text = *user_id;
    ctx->session.role = *role;
    ctx->session.user_id = ngx_atoi(user_id->data, user_id->len);

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_session_done,
                                        12, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_session_destroy(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    size_t       len[5];
    ngx_str_t    set, empty;
    const char  *argv[5];

    set.len = sizeof("chantier:user::sessions") - 1
              + ctx->session.user_id_text.len;
    set.data = ngx_pnalloc(r->pool, set.len);
    if (set.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(set.data, "chantier:user:%V:sessions",
                &ctx->session.user_id_text);

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_destroy_lua;
    argv[2] = "2";
    argv[3] = (char *) ctx->session.token_hash.data;
    argv[4] = (char *) set.data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_destroy_lua) - 1;
    len[2] = 1;
    len[3] = ctx->session.token_hash.len;
    len[4] = set.len;

    ngx_str_null(&empty);

    if (ngx_http_chantier_session_set_cookie(r, &empty) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_session_done,
                                        5, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_session_end_others(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *keep)
{
    size_t       len[6];
    ngx_str_t    set;
    const char  *argv[6];

    set.len = sizeof("chantier:user::sessions") - 1 + user_id->len;
    set.data = ngx_pnalloc(r->pool, set.len);
    if (set.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(set.data, "chantier:user:%V:sessions", user_id);

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_end_lua;
    argv[2] = "1";
    argv[3] = (char *) set.data;
    argv[4] = (char *) keep->data;
    argv[5] = (char *) user_id->data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_end_lua) - 1;
    len[2] = 1;
    len[3] = set.len;
    len[4] = keep->len;
    len[5] = user_id->len;

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_session_done,
                                        6, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_session_user_store(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *json)
{
    u_char                         *p;
    size_t                          len[8];
    ngx_str_t                       gen, doc;
    const char                     *argv[8];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    if (ctx->session.user_generation.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_chantier_session_user_keys(r, &ctx->session.user_id_text,
                                            &gen, &doc)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_store_lua;
    argv[2] = "2";
    argv[3] = (char *) gen.data;
    argv[4] = (char *) doc.data;
    argv[5] = (char *) ctx->session.user_generation.data;
    argv[6] = (char *) json->data;
    argv[7] = (char *) p;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_store_lua) - 1;
    len[2] = 1;
    len[3] = gen.len;
    len[4] = doc.len;
    len[5] = ctx->session.user_generation.len;
    len[6] = json->len;
    len[7] = ngx_sprintf(p, "%T", mcf->session_lifetime) - p;

    /* nobody waits: a document stored or not is right either way */
    (void) ngx_http_chantier_redis_command(NULL, NULL, 8, argv, len);

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_session_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id)
{
    size_t       len[5];
    ngx_str_t    gen, doc;
    const char  *argv[5];

    if (ngx_http_chantier_session_user_keys(r, user_id, &gen, &doc)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_chantier_session_changed_lua;
    argv[2] = "2";
    argv[3] = (char *) gen.data;
    argv[4] = (char *) doc.data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_chantier_session_changed_lua) - 1;
    len[2] = 1;
    len[3] = gen.len;
    len[4] = doc.len;

    if (ngx_http_chantier_redis_command(r, ngx_http_chantier_session_done,
                                        5, argv, len)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_session_user_keys(ngx_http_request_t *r,
    ngx_str_t *user_id, ngx_str_t *gen, ngx_str_t *doc)
{
    gen->len = sizeof("chantier:user::gen") - 1 + user_id->len;
    doc->len = sizeof("chantier:user::json") - 1 + user_id->len;

    gen->data = ngx_pnalloc(r->pool, gen->len);
    doc->data = ngx_pnalloc(r->pool, doc->len);

    if (gen->data == NULL || doc->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(gen->data, "chantier:user:%V:gen", user_id);
    ngx_sprintf(doc->data, "chantier:user:%V:json", user_id);

    return NGX_OK;
}


static void
ngx_http_chantier_session_done(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc == NGX_OK && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chantier: session script: %s", reply->str);
        rc = NGX_DECLINED;
    }

    ctx->next_rc = rc;
    ctx->next(r, ctx);
}


/*
 * The key of a token: only the hash reaches Redis, so a copy of Redis does
 * not give anybody a usable cookie.  The result is NUL-terminated.
 */

static ngx_int_t
ngx_http_chantier_session_key(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *key)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  md_len;

    if (token->len == 0 || token->len > 64) {
        return NGX_DECLINED;
    }

    if (EVP_Digest(token->data, token->len, md, &md_len, EVP_sha256(), NULL)
        != 1)
    {
        return NGX_ERROR;
    }

    key->len = sizeof(NGX_HTTP_CHANTIER_SESSION_KEY) - 1 + 2 * md_len;
    key->data = ngx_pnalloc(r->pool, key->len + 1);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_hex_dump(ngx_cpymem(key->data, NGX_HTTP_CHANTIER_SESSION_KEY,
                            sizeof(NGX_HTTP_CHANTIER_SESSION_KEY) - 1),
                 md, md_len);
    key->data[key->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_session_cookie(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_str_t  name = ngx_string("chantier_session");

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          token)
        == NGX_DECLINED)
    {
        return NGX_DECLINED;
    }

    return token->len ? NGX_OK : NGX_DECLINED;
}


/* 256 random bits, base64url without padding, NUL-terminated */

static ngx_int_t
ngx_http_chantier_session_random(ngx_pool_t *pool, ngx_str_t *out)
{
    u_char     bytes[NGX_HTTP_CHANTIER_TOKEN_BYTES];
    ngx_str_t  src;

    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(pool, ngx_base64_encoded_length(sizeof(bytes))
                                  + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    src.data = bytes;
    src.len = sizeof(bytes);

    ngx_encode_base64url(out, &src);
    out->data[out->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_session_set_cookie(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char                        *p;
    ngx_str_t                      value;
    ngx_http_chantier_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chantier_module);

    value.len = sizeof("chantier_session=; Path=; HttpOnly; SameSite=Lax"
                       "; Max-Age=0; Secure") - 1
                + token->len + lcf->cookie_path.len;

    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(value.data, "chantier_session=%V; Path=%V; HttpOnly; "
                    "SameSite=Lax", token, &lcf->cookie_path);

    if (token->len == 0) {
        p = ngx_cpymem(p, "; Max-Age=0", sizeof("; Max-Age=0") - 1);
    }

    if (lcf->cookie_secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    value.len = p - value.data;

    return ngx_http_chantier_add_header(r, "Set-Cookie", &value);
}


static ngx_int_t
ngx_http_chantier_session_copy(ngx_pool_t *pool, redisReply *reply,
    ngx_str_t *out)
{
    if (reply->type != REDIS_REPLY_STRING || reply->len == 0) {
        return NGX_DECLINED;
    }

    out->len = reply->len;
    out->data = ngx_pnalloc(pool, reply->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, reply->str, reply->len);
    out->data[out->len] = '\0';

    return NGX_OK;
}
