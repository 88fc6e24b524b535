/*
 * Sessions: cookie token -> SHA-256 -> Redis hash.  Each operation is one
 * Lua script (core/lua/session_*.lua, user_*.lua), so a session never
 * exists half-written in Redis.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#include "ngx_http_chantier_session.h"
#include "../live/ngx_http_chantier_known.h"
#include "../core/ngx_http_chantier_redis.h"
#include "../core/ngx_http_chantier_http.h"


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
static void ngx_http_chantier_session_eval(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args,
    const size_t *lens, ngx_http_chantier_handler_pt next);
static void ngx_http_chantier_session_done(ngx_http_request_t *r,
    redisReply *reply, ngx_int_t rc);
static ngx_int_t ngx_http_chantier_session_role(ngx_str_t *name,
    ngx_http_chantier_role_e *role);
static ngx_int_t ngx_http_chantier_session_set_key(ngx_pool_t *pool,
    ngx_str_t *user_id, ngx_str_t *set);
static ngx_int_t ngx_http_chantier_session_copy(ngx_pool_t *pool,
    redisReply *reply, ngx_str_t *out);
static ngx_int_t ngx_http_chantier_session_user_keys(ngx_http_request_t *r,
    ngx_str_t *user_id, ngx_str_t *gen, ngx_str_t *doc);
static void ngx_http_chantier_session_not_logged_in(ngx_http_request_t *r,
    const char *message);
static void ngx_http_chantier_session_unusable_cookie(ngx_http_request_t *r);


/* by ngx_http_chantier_role_e */
static ngx_str_t  ngx_http_chantier_session_roles[] = {
    ngx_null_string,
    ngx_string("client"),
    ngx_string("employee"),
    ngx_string("admin")
};


void
ngx_http_chantier_session_authenticate(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next)
{
    u_char                         *p;
    size_t                          lens[6];
    ngx_int_t                       rc;
    ngx_str_t                       token;
    const char                     *args[6];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    if (ngx_http_chantier_session_cookie(r, &token) != NGX_OK) {
        ngx_http_chantier_session_not_logged_in(r,
                                                "Vous n'êtes pas connecté.");
        return;
    }

    rc = ngx_http_chantier_session_key(r, &token, &ctx->session.token_hash);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_session_unusable_cookie(r);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->route->flags & NGX_HTTP_CHANTIER_ROUTE_KNOWN) {

        /* a session ended by a message already sent is not used */
        ngx_http_chantier_redis_sub_drain(mcf);

        if (ngx_http_chantier_known_session(&ctx->session.token_hash,
                                            &ctx->session, r->pool)
            == NGX_OK)
        {
            ctx->authenticated = 1;
            next(r, ctx);
            return;
        }

        ngx_http_chantier_known_mark(&ctx->known_mark,
                                     NGX_HTTP_CHANTIER_KNOWN_SESSIONS);
    }

    p = ngx_pnalloc(r->pool, 4 * NGX_TIME_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    args[0] = (char *) ctx->session.token_hash.data;
    lens[0] = ctx->session.token_hash.len;

    args[1] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_time());
    lens[1] = (u_char *) p - (u_char *) args[1];

    args[2] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_idle);
    lens[2] = (u_char *) p - (u_char *) args[2];

    args[3] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_lifetime);
    lens[3] = (u_char *) p - (u_char *) args[3];

    args[4] = (ctx->route->flags & NGX_HTTP_CHANTIER_ROUTE_USER_DOCUMENT)
              ? "1" : "0";
    lens[4] = 1;

    /* a generation that no earlier one can equal: now, in milliseconds */
    args[5] = (char *) p;
    p = ngx_sprintf(p, "%T%03M", ngx_time(), ngx_timeofday()->msec);
    lens[5] = (u_char *) p - (u_char *) args[5];

    ctx->next = next;

    ngx_http_chantier_session_script(r, ngx_http_chantier_session_found,
                                     NGX_HTTP_CHANTIER_LUA_SESSION_FIND,
                                     1, 6, args, lens);
}


static void
ngx_http_chantier_session_found(ngx_http_request_t *r, redisReply *reply,
    ngx_int_t rc)
{
    ngx_int_t                 id;
    ngx_str_t                 role;
    ngx_http_chantier_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chantier_module);

    if (rc != NGX_OK || reply->type == REDIS_REPLY_ERROR) {
        if (rc == NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "chantier: session lookup: %s", reply->str);
        }

        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_REDIS);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || (reply->elements != 4 && reply->elements != 6)
        || reply->element[3]->type != REDIS_REPLY_INTEGER)
    {
        ngx_http_chantier_session_not_logged_in(r,
            "Votre session a expiré, reconnectez-vous.");
        return;
    }

    if (ngx_http_chantier_session_copy(r->pool, reply->element[0],
                                       &ctx->session.user_id_text)
        != NGX_OK
        || ngx_http_chantier_session_copy(r->pool, reply->element[1], &role)
           != NGX_OK
        || ngx_http_chantier_session_role(&role, &ctx->session.role)
           != NGX_OK
        || ngx_http_chantier_session_copy(r->pool, reply->element[2],
                                          &ctx->session.csrf_token)
           != NGX_OK)
    {
        ngx_http_chantier_session_not_logged_in(r,
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
        ngx_http_chantier_session_not_logged_in(r,
                                                "Vous n'êtes pas connecté.");
        return;
    }

    ctx->session.user_id = id;
    ctx->authenticated = 1;

    if (ctx->route->flags & NGX_HTTP_CHANTIER_ROUTE_KNOWN) {
        ngx_http_chantier_known_session_put(&ctx->known_mark,
                                            &ctx->session);
    }

    ctx->next(r, ctx);
}


ngx_int_t
ngx_http_chantier_session_check_csrf(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx)
{
    ngx_table_elt_t  *h;

    h = ngx_http_chantier_header_in(r, "X-CSRF-Token");

    if (h != NULL
        && h->value.len == ctx->session.csrf_token.len
        && ctx->session.csrf_token.len > 0
        && CRYPTO_memcmp(h->value.data, ctx->session.csrf_token.data,
                         h->value.len)
           == 0)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


void
ngx_http_chantier_session_create(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *role,
    ngx_http_chantier_handler_pt next)
{
    u_char                         *p;
    size_t                          lens[11];
    ngx_str_t                       token, old, set;
    const char                     *args[11];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    /*
     * The browser's old session ends with the login; a cookie that cannot
     * name one (too long, say) is only ignored.
     */
    ngx_str_set(&old, NGX_HTTP_CHANTIER_SESSION_KEY "none");

    if ((ngx_http_chantier_session_cookie(r, &token) == NGX_OK
         && ngx_http_chantier_session_key(r, &token, &old) == NGX_ERROR)
        || ngx_http_chantier_session_role(role, &ctx->session.role) != NGX_OK
        || ngx_http_chantier_session_random(r->pool, &token) != NGX_OK
        || ngx_http_chantier_session_random(r->pool,
                                            &ctx->session.csrf_token)
           != NGX_OK
        || ngx_http_chantier_session_key(r, &token, &ctx->session.token_hash)
           != NGX_OK
        || ngx_http_chantier_session_set_key(r->pool, user_id, &set)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_pnalloc(r->pool, 4 * NGX_TIME_T_LEN + NGX_INT_T_LEN);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    args[0] = (char *) ctx->session.token_hash.data;
    args[1] = (char *) set.data;
    args[2] = (char *) old.data;
    args[3] = (char *) user_id->data;
    args[4] = (char *) role->data;
    args[5] = (char *) ctx->session.csrf_token.data;

    lens[0] = ctx->session.token_hash.len;
    lens[1] = set.len;
    lens[2] = old.len;
    lens[3] = user_id->len;
    lens[4] = role->len;
    lens[5] = ctx->session.csrf_token.len;

    args[6] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_time());
    lens[6] = (u_char *) p - (u_char *) args[6];

    args[7] = (char *) p;
    p = ngx_sprintf(p, "%T", ngx_min(mcf->session_idle,
                                     mcf->session_lifetime));
    lens[7] = (u_char *) p - (u_char *) args[7];

    args[8] = (char *) p;
    p = ngx_sprintf(p, "%T", mcf->session_lifetime);
    lens[8] = (u_char *) p - (u_char *) args[8];

    args[9] = (char *) p;
    p = ngx_sprintf(p, "%ui", mcf->sessions_per_user);
    lens[9] = (u_char *) p - (u_char *) args[9];

    args[10] = (char *) p;
    p = ngx_sprintf(p, "%T%03M", ngx_time(), ngx_timeofday()->msec);
    lens[10] = (u_char *) p - (u_char *) args[10];

    /*
     * The cookie goes on the response before Redis is asked: once the
     * command is out, its callback will run, and nothing here may fail and
     * finalize the request under it.  If Redis then fails, the 503 carries
     * a cookie that names no session, which is harmless.
     */
    if (ngx_http_chantier_session_set_cookie(r, &token) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->session.user_id_text = *user_id;
    ctx->session.user_id = ngx_atoi(user_id->data, user_id->len);

    ngx_http_chantier_session_eval(r, ctx,
                                   NGX_HTTP_CHANTIER_LUA_SESSION_CREATE,
                                   3, 11, args, lens, next);
}


void
ngx_http_chantier_session_destroy(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next)
{
    size_t       lens[2];
    ngx_str_t    set, empty;
    const char  *args[2];

    ngx_str_null(&empty);

    if (ngx_http_chantier_session_set_key(r->pool,
                                          &ctx->session.user_id_text, &set)
        != NGX_OK
        || ngx_http_chantier_session_set_cookie(r, &empty) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    args[0] = (char *) ctx->session.token_hash.data;
    args[1] = (char *) set.data;

    lens[0] = ctx->session.token_hash.len;
    lens[1] = set.len;

    ngx_http_chantier_session_eval(r, ctx,
                                   NGX_HTTP_CHANTIER_LUA_SESSION_DESTROY,
                                   2, 2, args, lens, next);
}


void
ngx_http_chantier_session_end_others(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id, ngx_str_t *keep,
    ngx_http_chantier_handler_pt next)
{
    size_t       lens[3];
    ngx_str_t    set;
    const char  *args[3];

    if (ngx_http_chantier_session_set_key(r->pool, user_id, &set) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    args[0] = (char *) set.data;
    args[1] = (char *) keep->data;
    args[2] = (char *) user_id->data;

    lens[0] = set.len;
    lens[1] = keep->len;
    lens[2] = user_id->len;

    ngx_http_chantier_session_eval(r, ctx,
                                   NGX_HTTP_CHANTIER_LUA_SESSION_END_OTHERS,
                                   1, 3, args, lens, next);
}


void
ngx_http_chantier_session_user_store(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *json)
{
    u_char                         *p;
    size_t                          lens[5];
    ngx_str_t                       gen, doc;
    const char                     *args[5];
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_chantier_module);

    if (ctx->session.user_generation.len == 0) {
        return;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);

    if (p == NULL
        || ngx_http_chantier_session_user_keys(r, &ctx->session.user_id_text,
                                               &gen, &doc)
           != NGX_OK)
    {
        return;
    }

    args[0] = (char *) gen.data;
    args[1] = (char *) doc.data;
    args[2] = (char *) ctx->session.user_generation.data;
    args[3] = (char *) json->data;
    args[4] = (char *) p;

    lens[0] = gen.len;
    lens[1] = doc.len;
    lens[2] = ctx->session.user_generation.len;
    lens[3] = json->len;
    lens[4] = ngx_sprintf(p, "%T", mcf->session_lifetime) - p;

    /* nobody waits: a document stored or not is right either way */
    (void) ngx_http_chantier_redis_eval(NULL, NULL,
                                        NGX_HTTP_CHANTIER_LUA_USER_STORE,
                                        2, 5, args, lens);
}


void
ngx_http_chantier_session_user_changed(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_str_t *user_id,
    ngx_http_chantier_handler_pt next)
{
    size_t       lens[2];
    ngx_str_t    gen, doc;
    const char  *args[2];

    if (ngx_http_chantier_session_user_keys(r, user_id, &gen, &doc)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    args[0] = (char *) gen.data;
    args[1] = (char *) doc.data;

    lens[0] = gen.len;
    lens[1] = doc.len;

    ngx_http_chantier_session_eval(r, ctx, NGX_HTTP_CHANTIER_LUA_USER_CHANGED,
                                   2, 2, args, lens, next);
}


const char *
ngx_http_chantier_session_role_name(ngx_http_chantier_role_e role)
{
    return (char *) ngx_http_chantier_session_roles[role].data;
}


void
ngx_http_chantier_session_script(ngx_http_request_t *r,
    ngx_http_chantier_redis_handler_pt handler, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args, const size_t *lens)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_redis_eval(r, handler, script, nkeys, nargs, args,
                                      lens);

    if (rc == NGX_DECLINED) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_REDIS);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* one script of an operation whose caller waits: its reply goes to next */

static void
ngx_http_chantier_session_eval(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_lua_e script,
    ngx_uint_t nkeys, ngx_uint_t nargs, const char **args,
    const size_t *lens, ngx_http_chantier_handler_pt next)
{
    ctx->next = next;

    ngx_http_chantier_session_script(r, ngx_http_chantier_session_done,
                                     script, nkeys, nargs, args, lens);
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

    if (rc != NGX_OK) {
        ngx_http_chantier_send_unavailable(r, NGX_HTTP_CHANTIER_REDIS);
        return;
    }

    ctx->next(r, ctx);
}


static void
ngx_http_chantier_session_not_logged_in(ngx_http_request_t *r,
    const char *message)
{
    ngx_http_chantier_send_error(r, NGX_HTTP_UNAUTHORIZED, "not_logged_in",
                                 message);
}


/*
 * A cookie that cannot name any session (too long: a token is 43
 * characters) is cleared with the 401, so that the browser stops sending
 * it.  Only that one: clearing the cookie of a merely expired session
 * could, arriving late, clear the new cookie of a login in another tab.
 */

static void
ngx_http_chantier_session_unusable_cookie(ngx_http_request_t *r)
{
    ngx_str_t  empty;

    ngx_str_null(&empty);

    if (ngx_http_chantier_session_set_cookie(r, &empty) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_chantier_session_not_logged_in(r, "Vous n'êtes pas connecté.");
}


static ngx_int_t
ngx_http_chantier_session_role(ngx_str_t *name,
    ngx_http_chantier_role_e *role)
{
    ngx_uint_t  i;

    for (i = NGX_HTTP_CHANTIER_ROLE_CLIENT;
         i <= NGX_HTTP_CHANTIER_ROLE_ADMIN;
         i++)
    {
        if (name->len == ngx_http_chantier_session_roles[i].len
            && ngx_strncmp(name->data, ngx_http_chantier_session_roles[i].data,
                           name->len)
               == 0)
        {
            *role = i;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* chantier:user:<id>:sessions, NUL-terminated */

static ngx_int_t
ngx_http_chantier_session_set_key(ngx_pool_t *pool, ngx_str_t *user_id,
    ngx_str_t *set)
{
    set->len = sizeof("chantier:user::sessions") - 1 + user_id->len;
    set->data = ngx_pnalloc(pool, set->len + 1);
    if (set->data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(set->data, "chantier:user:%V:sessions%Z", user_id);

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

    out->data = ngx_pnalloc(pool, reply->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, reply->str, reply->len);
    out->data[reply->len] = '\0';
    out->len = reply->len;

    return NGX_OK;
}
