/*
 * Handing notifications to chantier-notifier.  The rows are committed in
 * PostgreSQL with the change that made them (db/migrations/
 * 0010_notifications.sql); their ids then go onto the Redis list the
 * notifier takes its work from.
 */

#ifndef _NGX_HTTP_CHANTIER_NOTIFY_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_NOTIFY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_CHANTIER_NOTIFY_QUEUE  "chantier:notify:queue"


/*
 * ids is PostgreSQL's text of a bigint[]: "{12,13}".  Nothing waits for
 * Redis: if the push is lost (Redis down, a restart before its AOF was
 * written), the notifier's sweep finds the pending rows in PostgreSQL.
 */
void ngx_http_chantier_notify_push(ngx_log_t *log, u_char *ids, size_t len);


#endif /* _NGX_HTTP_CHANTIER_NOTIFY_H_INCLUDED_ */
