/*
 * Shared types of ngx_http_chantier_module: the main configuration, the
 * per-worker state hanging off it, and the per-request context.
 */

#ifndef _NGX_HTTP_CHANTIER_MODULE_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_chantier_pg_pool_s     ngx_http_chantier_pg_pool_t;
typedef struct ngx_http_chantier_redis_s       ngx_http_chantier_redis_t;
typedef struct ngx_http_chantier_json_s        ngx_http_chantier_json_t;
typedef struct ngx_http_chantier_route_s       ngx_http_chantier_route_t;
typedef struct ngx_http_chantier_cpu_s         ngx_http_chantier_cpu_t;
typedef struct ngx_http_chantier_ctx_s         ngx_http_chantier_ctx_t;


typedef struct {
    /* PostgreSQL: conninfo is NUL-terminated (libpq wants a C string) */
    ngx_str_t                     pg_conninfo;
    ngx_uint_t                    pg_pool_size;       /* per worker */
    ngx_msec_t                    pg_query_timeout;
    ngx_msec_t                    pg_connect_timeout;

    /* Redis: an IP:port or unix: socket, resolved at configuration time */
    ngx_str_t                     redis_address;      /* as written */
    ngx_addr_t                    redis_addr;
    ngx_msec_t                    redis_timeout;

    ngx_str_t                     thread_pool_name;
    ngx_thread_pool_t            *thread_pool;
    ngx_uint_t                    thread_queue;       /* tasks, per worker */
    ngx_uint_t                    thread_tasks;       /* in this worker */
    ngx_uint_t                    cpu_slots;          /* all workers */
#if (NGX_HAVE_SCHED_SETAFFINITY)
    ngx_cpuset_t                 *thread_cpus;        /* NULL: the worker's */
#endif
    ngx_http_chantier_cpu_t      *cpu;

    time_t                        session_idle;
    time_t                        session_lifetime;
    time_t                        retry_after;        /* seconds, for 503 */
    size_t                        fiche_cache_size;   /* per worker */
    ngx_uint_t                    events_per_user;    /* streams, per worker */
    ngx_uint_t                    sessions_per_user;  /* the oldest ends */
    ngx_str_t                     public_url;         /* of the pages */
    ngx_str_t                     contact_phone;      /* CLO's, GET site */
    ngx_str_t                     contact_email;

    ngx_uint_t                    used;               /* a chantier_api */

    /* per-worker state, created in init_process */
    ngx_http_chantier_pg_pool_t  *pg;
    ngx_http_chantier_redis_t    *redis;
    void                         *cache;              /* fiche documents */
    void                         *live;               /* event streams */
} ngx_http_chantier_main_conf_t;


typedef enum {
    NGX_HTTP_CHANTIER_AUTH_NONE = 0,       /* anyone */
    NGX_HTTP_CHANTIER_AUTH_USER,           /* any logged-in user */
    NGX_HTTP_CHANTIER_AUTH_ADMIN           /* admins only (403 otherwise) */
} ngx_http_chantier_auth_e;


/* the role of a session's user, parsed once when the session is read */
typedef enum {
    NGX_HTTP_CHANTIER_ROLE_NONE = 0,       /* not logged in */
    NGX_HTTP_CHANTIER_ROLE_CLIENT,
    NGX_HTTP_CHANTIER_ROLE_EMPLOYEE,
    NGX_HTTP_CHANTIER_ROLE_ADMIN           /* an employee who also manages */
} ngx_http_chantier_role_e;


typedef void (*ngx_http_chantier_handler_pt)(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx);


/* route flags */
#define NGX_HTTP_CHANTIER_ROUTE_JSON_BODY      0x01  /* body must be JSON */
#define NGX_HTTP_CHANTIER_ROUTE_USER_DOCUMENT  0x02  /* the session lookup
                                                        brings the user's
                                                        cached document */
#define NGX_HTTP_CHANTIER_ROUTE_RAW_BODY       0x04  /* read when the
                                                        handler asks
                                                        (ngx_http_chantier_
                                                        read_body) */
#define NGX_HTTP_CHANTIER_ROUTE_KNOWN          0x08  /* may be answered
                                                        from what the worker
                                                        knows (live/..._
                                                        known.h) */


/*
 * One line of the API: "pattern" is the path after the location prefix, its
 * segments literal or "#" for a numeric id.  The handler runs once the body
 * is read, the session checked and the JSON body parsed; it ends, now or
 * later, with one of the ngx_http_chantier_send*() calls.
 */
struct ngx_http_chantier_route_s {
    ngx_uint_t                    method;             /* NGX_HTTP_GET ... */
    char                         *pattern;
    ngx_http_chantier_auth_e      auth;
    ngx_uint_t                    flags;              /* ROUTE_* */
    size_t                        max_body;
    ngx_http_chantier_handler_pt  handler;
};


typedef struct {
    ngx_flag_t                    enable;             /* chantier_api */
    ngx_flag_t                    cookie_secure;
    ngx_str_t                     cookie_path;
} ngx_http_chantier_loc_conf_t;


/*
 * Taken before asking Redis or PostgreSQL something that a worker may keep
 * (live/ngx_http_chantier_known.h): the answer is kept only if no message
 * that could contradict it was heard meanwhile.
 */
typedef struct {
    ngx_uint_t                    epoch;
    ngx_uint_t                    heard;
} ngx_http_chantier_known_mark_t;


/* the authenticated user of a request, filled from the Redis session */
typedef struct {
    int64_t                       user_id;
    ngx_str_t                     user_id_text;       /* decimal, for SQL */
    ngx_http_chantier_role_e      role;
    ngx_str_t                     csrf_token;
    ngx_str_t                     token_hash;         /* its Redis key */
    time_t                        expires;            /* unless used again */

    /* the user's cached document (GET me only), and its generation */
    ngx_str_t                     user_json;
    ngx_str_t                     user_generation;
} ngx_http_chantier_session_t;


struct ngx_http_chantier_ctx_s {
    ngx_http_chantier_route_t    *route;
    ngx_str_t                     id[2];              /* numeric path ids,
                                                         NUL-terminated */
    ngx_str_t                     body;               /* contiguous copy */
    off_t                         body_received;      /* bytes, so far */
    ngx_http_chantier_json_t     *json;               /* parsed body or NULL */
    ngx_http_chantier_session_t   session;
    ngx_uint_t                    authenticated;      /* unsigned:1 */
    ngx_http_chantier_known_mark_t  known_mark;       /* of what is asked */

    /* state of multi-step handlers (login, password change, admin) */
    ngx_uint_t                    step;               /* handler's own */
    ngx_http_chantier_handler_pt  next;               /* after a session op */
    void                         *limit;              /* login limit */
    void                         *data;

    /* a change's answer, kept while its announcement goes through Redis */
    ngx_uint_t                    answer_status;
    ngx_str_t                     answer;
};


extern ngx_module_t  ngx_http_chantier_module;


/*
 * For a RAW_BODY route: reads the body, then calls next, which finds it in
 * r->request_body->bufs (ngx_http_chantier_router.c).
 */
void ngx_http_chantier_read_body(ngx_http_request_t *r,
    ngx_http_chantier_ctx_t *ctx, ngx_http_chantier_handler_pt next);


#endif /* _NGX_HTTP_CHANTIER_MODULE_H_INCLUDED_ */
