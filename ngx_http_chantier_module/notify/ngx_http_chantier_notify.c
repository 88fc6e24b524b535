#include "ngx_http_chantier_notify.h"
#include "../core/ngx_http_chantier_redis.h"


/* one change notifies one or two people: more is a bug, not a reason to
 * allocate */
#define NGX_HTTP_CHANTIER_NOTIFY_MAX  16


void
ngx_http_chantier_notify_push(ngx_log_t *log, u_char *ids, size_t len)
{
    int          argc;
    u_char      *p, *last, *start;
    size_t       lens[2 + NGX_HTTP_CHANTIER_NOTIFY_MAX];
    const char  *argv[2 + NGX_HTTP_CHANTIER_NOTIFY_MAX];

    argv[0] = "RPUSH";
    lens[0] = sizeof("RPUSH") - 1;
    argv[1] = NGX_HTTP_CHANTIER_NOTIFY_QUEUE;
    lens[1] = sizeof(NGX_HTTP_CHANTIER_NOTIFY_QUEUE) - 1;
    argc = 2;

    last = ids + len;

    for (p = ids; p < last; /* void */) {

        while (p < last && (*p < '0' || *p > '9')) {
            p++;
        }

        start = p;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == start) {
            break;
        }

        if (argc == 2 + NGX_HTTP_CHANTIER_NOTIFY_MAX) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "chantier: more than %d notifications in one "
                          "change, the rest left to the notifier's sweep",
                          NGX_HTTP_CHANTIER_NOTIFY_MAX);
            break;
        }

        argv[argc] = (char *) start;
        lens[argc] = p - start;
        argc++;
    }

    if (argc == 2) {
        return;
    }

    (void) ngx_http_chantier_redis_command(NULL, NULL, argc, argv, lens);
}
