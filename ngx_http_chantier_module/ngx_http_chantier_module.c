/*
 * ngx_http_chantier_module: the customer area of CLO served from nginx
 * workers.  This file holds the directives, their configuration and the
 * per-worker start and stop; ngx_http_chantier_router.c takes requests from
 * there.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>

#include "ngx_http_chantier_module.h"
#include "core/ngx_http_chantier_pg.h"
#include "core/ngx_http_chantier_redis.h"
#include "core/ngx_http_chantier_cache.h"
#include "core/ngx_http_chantier_thread.h"
#include "core/ngx_http_chantier_cpu.h"
#include "image/ngx_http_chantier_image.h"
#include "live/ngx_http_chantier_live.h"


ngx_int_t ngx_http_chantier_router_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_chantier_router_init(ngx_conf_t *cf);

static void *ngx_http_chantier_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_chantier_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_chantier_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_chantier_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_chantier_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_chantier_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_chantier_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_chantier_chomp(char *s);
static ngx_int_t ngx_http_chantier_statement_timeout(ngx_conf_t *cf,
    ngx_http_chantier_main_conf_t *mcf);
static char *ngx_http_chantier_cookie_path(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_chantier_init_process(ngx_cycle_t *cycle);
static void ngx_http_chantier_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_chantier_commands[] = {

    { ngx_string("chantier_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_chantier_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chantier_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chantier_loc_conf_t, cookie_secure),
      NULL },

    { ngx_string("chantier_cookie_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_chantier_cookie_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_chantier_loc_conf_t, cookie_path),
      NULL },

    { ngx_string("chantier_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_chantier_postgres,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chantier_postgres_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, pg_pool_size),
      NULL },

    { ngx_string("chantier_postgres_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, pg_query_timeout),
      NULL },

    { ngx_string("chantier_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_chantier_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chantier_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, redis_timeout),
      NULL },

    { ngx_string("chantier_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("chantier_session_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, session_idle),
      NULL },

    { ngx_string("chantier_session_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, session_lifetime),
      NULL },

    { ngx_string("chantier_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, retry_after),
      NULL },

    { ngx_string("chantier_fiche_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, fiche_cache_size),
      NULL },

    { ngx_string("chantier_thread_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, thread_queue),
      NULL },

    { ngx_string("chantier_public_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, public_url),
      NULL },

    { ngx_string("chantier_contact_phone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, contact_phone),
      NULL },

    { ngx_string("chantier_contact_email"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, contact_email),
      NULL },

    { ngx_string("chantier_cpu_slots"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, cpu_slots),
      NULL },

    { ngx_string("chantier_thread_cpu_affinity"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_chantier_cpu_affinity,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chantier_sessions_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, sessions_per_user),
      NULL },

    { ngx_string("chantier_events_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_chantier_main_conf_t, events_per_user),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_chantier_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_chantier_router_init,         /* postconfiguration */

    ngx_http_chantier_create_main_conf,    /* create main configuration */
    ngx_http_chantier_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_chantier_create_loc_conf,     /* create location configuration */
    ngx_http_chantier_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_chantier_module = {
    NGX_MODULE_V1,
    &ngx_http_chantier_module_ctx,         /* module context */
    ngx_http_chantier_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_chantier_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_chantier_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_chantier_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_chantier_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->pg_conninfo = { 0, NULL };
     *     mcf->redis_address = { 0, NULL };
     *     mcf->thread_pool_name = { 0, NULL };
     *     mcf->pg = NULL;
     *     mcf->redis = NULL;
     *     mcf->used = 0;
     */

    mcf->pg_pool_size = NGX_CONF_UNSET_UINT;
    mcf->pg_query_timeout = NGX_CONF_UNSET_MSEC;
    mcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    mcf->session_idle = NGX_CONF_UNSET;
    mcf->session_lifetime = NGX_CONF_UNSET;
    mcf->retry_after = NGX_CONF_UNSET;
    mcf->fiche_cache_size = NGX_CONF_UNSET_SIZE;
    mcf->events_per_user = NGX_CONF_UNSET_UINT;
    mcf->sessions_per_user = NGX_CONF_UNSET_UINT;
    mcf->thread_queue = NGX_CONF_UNSET_UINT;
    mcf->cpu_slots = NGX_CONF_UNSET_UINT;
#if (NGX_HAVE_SCHED_SETAFFINITY)
    mcf->thread_cpus = NGX_CONF_UNSET_PTR;
#endif

    return mcf;
}


static char *
ngx_http_chantier_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_chantier_main_conf_t *mcf = conf;

    ngx_conf_init_uint_value(mcf->pg_pool_size, 4);
    ngx_conf_init_msec_value(mcf->pg_query_timeout, 5000);
    ngx_conf_init_msec_value(mcf->redis_timeout, 2000);
    ngx_conf_init_value(mcf->session_idle, 2 * 3600);
    ngx_conf_init_value(mcf->session_lifetime, 12 * 3600);
    ngx_conf_init_value(mcf->retry_after, 5);
    ngx_conf_init_size_value(mcf->fiche_cache_size, 64 * 1024 * 1024);
    ngx_conf_init_uint_value(mcf->events_per_user, 10);
    ngx_conf_init_uint_value(mcf->sessions_per_user, 20);
    ngx_conf_init_uint_value(mcf->thread_queue, 32);

    /* one core stays with the event loops (core/ngx_http_chantier_cpu.c) */
    ngx_conf_init_uint_value(mcf->cpu_slots,
                             (ngx_ncpu > 1) ? (ngx_uint_t) ngx_ncpu - 1 : 1);
#if (NGX_HAVE_SCHED_SETAFFINITY)
    ngx_conf_init_ptr_value(mcf->thread_cpus, NULL);
#endif

    mcf->pg_connect_timeout = mcf->pg_query_timeout;

    if (mcf->pg_conninfo.data != NULL
        && ngx_http_chantier_statement_timeout(cf, mcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (mcf->pg_query_timeout == 0 || mcf->redis_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_postgres_timeout\" and "
                           "\"chantier_redis_timeout\" must not be 0");
        return NGX_CONF_ERROR;
    }

    if (mcf->thread_queue == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_thread_queue\" must not be 0");
        return NGX_CONF_ERROR;
    }

    if (mcf->cpu_slots == 0 || mcf->cpu_slots > 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_cpu_slots\" must be between 1 and "
                           "1024");
        return NGX_CONF_ERROR;
    }

    if (mcf->sessions_per_user == 0 || mcf->sessions_per_user > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_sessions_per_user\" must be "
                           "between 1 and 1000");
        return NGX_CONF_ERROR;
    }

    if (mcf->pg_pool_size == 0 || mcf->pg_pool_size > 256) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_postgres_pool_size\" must be "
                           "between 1 and 256");
        return NGX_CONF_ERROR;
    }

    if (mcf->session_idle <= 0 || mcf->session_lifetime <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "session timeouts must be positive");
        return NGX_CONF_ERROR;
    }

    if (!mcf->used) {
        return NGX_CONF_OK;
    }

    if (mcf->pg_conninfo.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_api\" needs \"chantier_postgres\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (mcf->redis_address.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_api\" needs \"chantier_redis\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (mcf->thread_pool_name.data == NULL) {
        ngx_str_set(&mcf->thread_pool_name, "default");
    }

    /*
     * Registering the name is enough now; nginx checks at the end of the
     * configuration that a "thread_pool" directive defines it ("default"
     * exists even without one).
     */
    mcf->thread_pool = ngx_thread_pool_add(cf, &mcf->thread_pool_name);
    if (mcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->cpu = ngx_http_chantier_cpu_add(cf, mcf);
    if (mcf->cpu == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_chantier_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_chantier_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_chantier_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->cookie_path = { 0, NULL };
     */

    lcf->enable = NGX_CONF_UNSET;
    lcf->cookie_secure = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_chantier_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_chantier_loc_conf_t *prev = parent;
    ngx_http_chantier_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->cookie_secure, prev->cookie_secure, 1);
    ngx_conf_merge_str_value(conf->cookie_path, prev->cookie_path, "/");

    return NGX_CONF_OK;
}


/* checked here, so that "nginx -t" names the line of the mistake */

static char *
ngx_http_chantier_cookie_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char       *rv;
    ngx_str_t  *path;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    path = &((ngx_http_chantier_loc_conf_t *) conf)->cookie_path;

    if (path->len == 0 || path->data[0] != '/'
        || ngx_strlchr(path->data, path->data + path->len, ';')
        || ngx_strlchr(path->data, path->data + path->len, ' '))
    {
        return "must start with \"/\" and contain no \";\" or space";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_chantier_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chantier_loc_conf_t *lcf = conf;

    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_chantier_main_conf_t  *mcf;

    if (lcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    lcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_chantier_router_handler;

    if (clcf->regex || clcf->exact_match || clcf->name.len == 0
        || clcf->name.data[clcf->name.len - 1] != '/')
    {
        return "must be in a prefix location ending with \"/\", "
               "such as \"location /api/ { chantier_api; }\"";
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chantier_module);
    mcf->used = 1;

    return NGX_CONF_OK;
}


/*
 * The conninfo is checked now, so that "nginx -t" reports a mistake: it
 * must parse, and its hosts must be IP addresses or socket directories,
 * because a host name would make libpq resolve it, blocking the worker.
 */

static char *
ngx_http_chantier_postgres(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chantier_main_conf_t *mcf = conf;

    char               *conninfo, *error;
    u_char             *host, *end, *comma;
    ngx_str_t          *value;
    ngx_addr_t          addr;
    PQconninfoOption   *options, *option;

    if (mcf->pg_conninfo.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    conninfo = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (conninfo == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(conninfo, value[1].data, value[1].len);
    conninfo[value[1].len] = '\0';

    error = NULL;
    options = PQconninfoParse(conninfo, &error);

    if (options == NULL) {
        if (error != NULL) {
            /* libpq ends its messages with a newline */
            ngx_http_chantier_chomp(error);
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid PostgreSQL conninfo \"%V\": %s",
                           &value[1], error ? error : "out of memory");
        PQfreemem(error);
        return NGX_CONF_ERROR;
    }

    for (option = options; option->keyword != NULL; option++) {

        if (ngx_strcmp(option->keyword, "host") != 0
            || option->val == NULL)
        {
            continue;
        }

        host = (u_char *) option->val;

        while (*host) {
            comma = (u_char *) ngx_strchr(host, ',');
            end = comma ? comma : host + ngx_strlen(host);

            if (*host != '/'
                && ngx_parse_addr(cf->pool, &addr, host, end - host)
                   != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "PostgreSQL host \"%*s\" must be an IP "
                                   "address or a unix socket directory "
                                   "(a host name would need a blocking "
                                   "DNS lookup)", end - host, host);
                PQconninfoFree(options);
                return NGX_CONF_ERROR;
            }

            host = comma ? comma + 1 : end;
        }
    }

    PQconninfoFree(options);

    mcf->pg_conninfo.data = (u_char *) conninfo;
    mcf->pg_conninfo.len = value[1].len;

    return NGX_CONF_OK;
}


static void
ngx_http_chantier_chomp(char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) {
        s[--len] = '\0';
    }
}


/*
 * A query that timed out on our side keeps running on the server (PQcancel
 * would block the worker, so it is not used): unless the conninfo sets its
 * own "options", the server is told to give up after the same time.
 */

static ngx_int_t
ngx_http_chantier_statement_timeout(ngx_conf_t *cf,
    ngx_http_chantier_main_conf_t *mcf)
{
    u_char              *p;
    size_t               len;
    ngx_uint_t           has_options;
    PQconninfoOption    *options, *option;

    if (ngx_strncmp(mcf->pg_conninfo.data, "postgres", 8) == 0) {
        /* a URI: left as written (README) */
        return NGX_OK;
    }

    options = PQconninfoParse((char *) mcf->pg_conninfo.data, NULL);
    if (options == NULL) {
        return NGX_ERROR;
    }

    has_options = 0;

    for (option = options; option->keyword != NULL; option++) {
        if (ngx_strcmp(option->keyword, "options") == 0
            && option->val != NULL)
        {
            has_options = 1;
        }
    }

    PQconninfoFree(options);

    if (has_options) {
        return NGX_OK;
    }

    len = mcf->pg_conninfo.len
          + sizeof(" options='-c statement_timeout='") - 1 + NGX_INT_T_LEN;

    p = ngx_pnalloc(cf->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* a second later than ours, so that our timer (a 503) fires first */
    mcf->pg_conninfo.len = ngx_sprintf(p, "%V options='-c statement_timeout=%M'"
                                       "%Z", &mcf->pg_conninfo,
                                       mcf->pg_query_timeout + 1000)
                           - p - 1;
    mcf->pg_conninfo.data = p;

    return NGX_OK;
}


static char *
ngx_http_chantier_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chantier_main_conf_t *mcf = conf;

    ngx_str_t  *value;
    ngx_url_t   u;

    if (mcf->redis_address.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = 6379;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Redis address \"%V\": %s",
                           &value[1], u.err ? u.err : "unknown error");
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis address \"%V\" must be an IP address and "
                           "port or \"unix:/path\" (a host name would need "
                           "a blocking DNS lookup)", &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->redis_address = value[1];
    mcf->redis_addr = u.addrs[0];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_chantier_init_process(ngx_cycle_t *cycle)
{
    ngx_http_chantier_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_chantier_module);

    if (mcf == NULL || !mcf->used) {
        return NGX_OK;
    }

    if (ngx_http_chantier_thread_init_process(cycle) != NGX_OK
        || ngx_http_chantier_pg_init_process(cycle, mcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_redis_init_process(cycle, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_cache_init_process(cycle, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_chantier_live_init_process(cycle, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_chantier_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_chantier_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_chantier_module);

    if (mcf == NULL || !mcf->used) {
        return;
    }

    ngx_http_chantier_live_exit_process(cycle, mcf);
    ngx_http_chantier_redis_exit_process(cycle, mcf);
    ngx_http_chantier_pg_exit_process(cycle, mcf);
    ngx_http_chantier_cache_exit_process(cycle, mcf);
    ngx_http_chantier_image_exit_process();
}
