/*
 * chantier-notifier: sends the e-mails and SMS of the notification outbox
 * (chantier.notifications), taking the ids that the nginx module pushes
 * onto Redis and finding again in PostgreSQL whatever Redis lost.
 *
 * The parts, one file each:
 *     chantier_notifier.c          main, signals, the loop
 *     chantier_notifier_conf.c     the configuration file
 *     chantier_notifier_jobs.c     one notification, from Redis and
 *                                  PostgreSQL to its recorded outcome
 *     chantier_notifier_send.c     SMTP and the SMS gateway (libcurl)
 *     chantier_notifier_message.c  what the messages say (French)
 *     chantier_notifier_text.c     buffers, escaping, encodings, numbers
 *
 * The last two use no library but libc: the unit tests link them alone.
 */

#ifndef _CHANTIER_NOTIFIER_H_INCLUDED_
#define _CHANTIER_NOTIFIER_H_INCLUDED_


#include <stddef.h>
#include <stdarg.h>
#include <time.h>


#define NOTIFIER_OK         0
#define NOTIFIER_ERROR     -1

#define NOTIFIER_DEFAULT_CONF  "/etc/chantier/notifier.conf"

/* an SMS is at most this many characters (code points) */
#define NOTIFIER_SMS_MAX    160


/* ---- text.c: a growable string, NUL-terminated ---- */

typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
    int      failed;        /* an allocation failed: data is incomplete */
} notifier_buf_t;

void notifier_buf_free(notifier_buf_t *b);
void notifier_buf_reset(notifier_buf_t *b);
void notifier_buf_add(notifier_buf_t *b, const char *s, size_t n);
void notifier_buf_str(notifier_buf_t *b, const char *s);
void notifier_buf_printf(notifier_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

size_t notifier_utf8_length(const char *s);
size_t notifier_utf8_prefix(const char *s, size_t chars);
int notifier_utf8_valid(const char *s);
void notifier_utf8_clean(char *s);

void notifier_json_escape(notifier_buf_t *b, const char *s);
void notifier_html_escape(notifier_buf_t *b, const char *s);
void notifier_mime_header(notifier_buf_t *b, const char *name,
    const char *value);
void notifier_mime_address(notifier_buf_t *b, const char *display,
    const char *address);
void notifier_quoted_printable(notifier_buf_t *b, const char *s);

int notifier_e164(const char *phone, char *out, size_t size);
double notifier_backoff(int attempt, double initial, double max);
int notifier_ascii_safe(const char *s, const char *allowed);


/* ---- conf.c ---- */

typedef enum {
    NOTIFIER_TLS_OFF = 0,
    NOTIFIER_TLS_TRY,
    NOTIFIER_TLS_REQUIRED
} notifier_tls_e;

typedef struct {
    char            *pg_conninfo;
    char            *redis_host;
    int              redis_port;
    char            *public_url;

    char            *mail_from;
    char            *mail_from_name;
    char            *smtp_url;
    notifier_tls_e   smtp_starttls;
    char            *smtp_user;
    char            *smtp_password;
    char            *smtp_password_file;
    char            *smtp_ca_file;
    double           smtp_timeout;

    char            *sms_url;
    char            *sms_auth_header;
    char            *sms_ca_file;
    double           sms_timeout;

    double           connect_timeout;
    double           retry_initial;
    double           retry_max;
    double           dead_after;
    double           sweep_interval;

    /* derived: "host:port" of smtp_url and sms_url, for the log */
    char            *smtp_server;
    char            *sms_server;
} notifier_conf_t;

int notifier_conf_read(notifier_conf_t *conf, const char *path,
    notifier_buf_t *error);
int notifier_conf_parse(notifier_conf_t *conf, const char *path,
    const char *text, notifier_buf_t *error);
void notifier_conf_free(notifier_conf_t *conf);


/* ---- message.c ---- */

typedef enum {
    NOTIFIER_POST_CREATED = 0,
    NOTIFIER_POST_REANNOUNCED,
    NOTIFIER_COMMENTS
} notifier_event_e;

/* one thing a message tells: who (staff: of CLO), what, when */
typedef struct {
    const char  *author;
    int          staff;
    const char  *excerpt;
    const char  *said_at;       /* "le 1er décembre à 14 h 05" */
} notifier_item_t;

/* a notification ready to be written: strings owned by the caller */
typedef struct {
    long long         id;
    notifier_event_e  event;
    const char       *code;
    const char       *title;
    long long         fiche_id;
    const char       *idempotency_key;
    const char       *first_name;
    const char       *last_name;
    notifier_item_t  *items;
    int               nitems;
} notifier_message_t;

int notifier_event_parse(const char *name, notifier_event_e *event);
void notifier_message_subject(notifier_buf_t *b, notifier_message_t *m);
void notifier_message_text(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url);
void notifier_message_html(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url);
void notifier_message_sms(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url);
void notifier_message_mail(notifier_buf_t *b, notifier_message_t *m,
    const char *from_name, const char *from, const char *to,
    const char *public_url, time_t now);


/* ---- send.c ---- */

typedef enum {
    NOTIFIER_SENT = 0,
    NOTIFIER_RETRY,         /* the server may take it later */
    NOTIFIER_REFUSED        /* it never will: dead */
} notifier_outcome_e;

int notifier_send_init(void);
void notifier_send_cleanup(void);
notifier_outcome_e notifier_send_mail(notifier_conf_t *conf,
    const char *to, notifier_buf_t *mail, notifier_buf_t *error);
notifier_outcome_e notifier_send_sms(notifier_conf_t *conf,
    const char *to, const char *text, notifier_buf_t *error);


/* ---- jobs.c ---- */

typedef struct notifier_jobs_s  notifier_jobs_t;

notifier_jobs_t *notifier_jobs_create(notifier_conf_t *conf);
void notifier_jobs_destroy(notifier_jobs_t *jobs);
int notifier_jobs_step(notifier_jobs_t *jobs);


/* ---- chantier_notifier.c ---- */

#define NOTIFIER_LOG_ERR     3
#define NOTIFIER_LOG_WARN    4
#define NOTIFIER_LOG_NOTICE  5
#define NOTIFIER_LOG_INFO    6

void notifier_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int notifier_stopping(void);
void notifier_sleep(double seconds);
double notifier_now(void);


#endif /* _CHANTIER_NOTIFIER_H_INCLUDED_ */
