/*
 * The configuration file: "key = value" lines, "#" starts a comment line,
 * blank lines ignored.  Every key is in notifier_options below with its
 * kind and default; README.md ("The notifier") documents them.  An unknown
 * key, a bad value or a missing required one is an error naming the file
 * and line: the daemon does not start with a configuration it does not
 * understand.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <errno.h>

#include "chantier_notifier.h"


typedef enum {
    NOTIFIER_OPT_STRING = 0,
    NOTIFIER_OPT_URL,           /* a string starting with http(s):// etc. */
    NOTIFIER_OPT_PORT,
    NOTIFIER_OPT_SECONDS,
    NOTIFIER_OPT_TLS
} notifier_opt_kind_e;

typedef struct {
    const char           *name;
    notifier_opt_kind_e   kind;
    size_t                offset;
    const char           *def;      /* NULL: none (unset or required) */
    int                   required;
} notifier_option_t;


static int notifier_conf_line(notifier_conf_t *conf, const char *path,
    int line, char *text, notifier_buf_t *error);
static int notifier_conf_set(notifier_conf_t *conf,
    const notifier_option_t *opt, const char *value, notifier_buf_t *why);
static int notifier_conf_check(notifier_conf_t *conf, const char *path,
    notifier_buf_t *error);
static int notifier_conf_password_file(notifier_conf_t *conf,
    const char *path, notifier_buf_t *error);
static char *notifier_conf_server(const char *url);
static char *notifier_trim(char *s);


#define NOTIFIER_OPT(name, kind, def, required)                              \
    { #name, kind, offsetof(notifier_conf_t, name), def, required }

static const notifier_option_t  notifier_options[] = {
    NOTIFIER_OPT(pg_conninfo, NOTIFIER_OPT_STRING, "dbname=chantier", 0),
    NOTIFIER_OPT(redis_host, NOTIFIER_OPT_STRING, "127.0.0.1", 0),
    NOTIFIER_OPT(redis_port, NOTIFIER_OPT_PORT, "6379", 0),
    NOTIFIER_OPT(public_url, NOTIFIER_OPT_URL, NULL, 1),

    NOTIFIER_OPT(mail_from, NOTIFIER_OPT_STRING, NULL, 1),
    NOTIFIER_OPT(mail_from_name, NOTIFIER_OPT_STRING, "CLO", 0),
    NOTIFIER_OPT(smtp_url, NOTIFIER_OPT_URL, "smtp://127.0.0.1:25", 0),
    NOTIFIER_OPT(smtp_starttls, NOTIFIER_OPT_TLS, "required", 0),
    NOTIFIER_OPT(smtp_user, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(smtp_password, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(smtp_password_file, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(smtp_ca_file, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(smtp_timeout, NOTIFIER_OPT_SECONDS, "60", 0),

    NOTIFIER_OPT(sms_url, NOTIFIER_OPT_URL, NULL, 0),
    NOTIFIER_OPT(sms_auth_header, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(sms_ca_file, NOTIFIER_OPT_STRING, NULL, 0),
    NOTIFIER_OPT(sms_timeout, NOTIFIER_OPT_SECONDS, "30", 0),

    NOTIFIER_OPT(connect_timeout, NOTIFIER_OPT_SECONDS, "10", 0),
    NOTIFIER_OPT(retry_initial, NOTIFIER_OPT_SECONDS, "30", 0),
    NOTIFIER_OPT(retry_max, NOTIFIER_OPT_SECONDS, "3600", 0),
    NOTIFIER_OPT(dead_after, NOTIFIER_OPT_SECONDS, "86400", 0),
    NOTIFIER_OPT(sweep_interval, NOTIFIER_OPT_SECONDS, "60", 0),

    { NULL, 0, 0, NULL, 0 }
};


int
notifier_conf_read(notifier_conf_t *conf, const char *path,
    notifier_buf_t *error)
{
    FILE            *f;
    char             chunk[4096];
    size_t           n;
    int              rc;
    notifier_buf_t   text = { 0 };

    /* conf is freed even when it could not be read */
    memset(conf, 0, sizeof(notifier_conf_t));

    f = fopen(path, "r");
    if (f == NULL) {
        notifier_buf_printf(error, "%s: %s", path, strerror(errno));
        return NOTIFIER_ERROR;
    }

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        notifier_buf_add(&text, chunk, n);
    }

    rc = NOTIFIER_ERROR;

    if (ferror(f) || text.failed) {
        notifier_buf_printf(error, "%s: cannot read it", path);
        goto done;
    }

    rc = notifier_conf_parse(conf, path, text.data ? text.data : "", error);

done:

    fclose(f);
    notifier_buf_free(&text);

    return rc;
}


/*
 * Fills conf from the text of file "path" (named in errors only): the
 * defaults first, then each line.  On error conf may hold some values:
 * notifier_conf_free() releases them either way.
 */
int
notifier_conf_parse(notifier_conf_t *conf, const char *path,
    const char *text, notifier_buf_t *error)
{
    const notifier_option_t  *opt;
    char                     *copy, *line, *next;
    int                       n, rc;

    memset(conf, 0, sizeof(notifier_conf_t));

    for (opt = notifier_options; opt->name; opt++) {
        if (opt->def && notifier_conf_set(conf, opt, opt->def, error)
                        != NOTIFIER_OK)
        {
            return NOTIFIER_ERROR;
        }
    }

    copy = strdup(text);
    if (copy == NULL) {
        notifier_buf_str(error, "out of memory");
        return NOTIFIER_ERROR;
    }

    rc = NOTIFIER_OK;

    for (line = copy, n = 1; line; line = next, n++) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }

        if (notifier_conf_line(conf, path, n, line, error) != NOTIFIER_OK) {
            rc = NOTIFIER_ERROR;
            break;
        }
    }

    free(copy);

    if (rc == NOTIFIER_OK) {
        rc = notifier_conf_check(conf, path, error);
    }

    return rc;
}


static int
notifier_conf_line(notifier_conf_t *conf, const char *path, int line,
    char *text, notifier_buf_t *error)
{
    char                     *key, *value, *eq;
    const notifier_option_t  *opt;
    notifier_buf_t            why = { 0 };
    int                       rc;

    key = notifier_trim(text);
    if (key[0] == '\0' || key[0] == '#') {
        return NOTIFIER_OK;
    }

    eq = strchr(key, '=');
    if (eq == NULL) {
        notifier_buf_printf(error, "%s:%d: \"%s\": expected \"key = value\"",
                            path, line, key);
        return NOTIFIER_ERROR;
    }

    *eq = '\0';
    key = notifier_trim(key);
    value = notifier_trim(eq + 1);

    for (opt = notifier_options; opt->name; opt++) {
        if (strcmp(opt->name, key) == 0) {
            break;
        }
    }

    if (opt->name == NULL) {
        notifier_buf_printf(error, "%s:%d: unknown option \"%s\"",
                            path, line, key);
        return NOTIFIER_ERROR;
    }

    rc = notifier_conf_set(conf, opt, value, &why);

    if (rc != NOTIFIER_OK) {
        notifier_buf_printf(error, "%s:%d: %s: %s", path, line, key,
                            why.data ? why.data : "invalid value");
    }

    notifier_buf_free(&why);

    return rc;
}


/* one option's value, checked for its kind; "why" says what is wrong */
static int
notifier_conf_set(notifier_conf_t *conf, const notifier_option_t *opt,
    const char *value, notifier_buf_t *why)
{
    char    *end, *copy;
    char   **str;
    long     port;
    double   seconds;
    void    *field = (char *) conf + opt->offset;

    switch (opt->kind) {

    case NOTIFIER_OPT_PORT:
        errno = 0;
        port = strtol(value, &end, 10);
        if (errno || end == value || *end || port < 1 || port > 65535) {
            notifier_buf_printf(why, "\"%s\" is not a port (1-65535)", value);
            return NOTIFIER_ERROR;
        }
        *(int *) field = (int) port;
        return NOTIFIER_OK;

    case NOTIFIER_OPT_SECONDS:
        errno = 0;
        seconds = strtod(value, &end);
        if (errno || end == value || *end || !(seconds > 0)
            || seconds > 365 * 86400.0)
        {
            notifier_buf_printf(why, "\"%s\" is not a number of seconds"
                                " (more than 0)", value);
            return NOTIFIER_ERROR;
        }
        *(double *) field = seconds;
        return NOTIFIER_OK;

    case NOTIFIER_OPT_TLS:
        if (strcmp(value, "off") == 0) {
            *(notifier_tls_e *) field = NOTIFIER_TLS_OFF;
        } else if (strcmp(value, "try") == 0) {
            *(notifier_tls_e *) field = NOTIFIER_TLS_TRY;
        } else if (strcmp(value, "required") == 0) {
            *(notifier_tls_e *) field = NOTIFIER_TLS_REQUIRED;
        } else {
            notifier_buf_printf(why, "\"%s\": off, try or required", value);
            return NOTIFIER_ERROR;
        }
        return NOTIFIER_OK;

    case NOTIFIER_OPT_URL:
        if (strstr(value, "://") == NULL || strchr(value, ' ')) {
            notifier_buf_printf(why, "\"%s\" is not a URL", value);
            return NOTIFIER_ERROR;
        }
        /* fall through */

    case NOTIFIER_OPT_STRING:
        if (value[0] == '\0') {
            notifier_buf_str(why, "no value (leave the line out for the"
                             " default)");
            return NOTIFIER_ERROR;
        }

        copy = strdup(value);
        if (copy == NULL) {
            notifier_buf_str(why, "out of memory");
            return NOTIFIER_ERROR;
        }

        str = field;
        free(*str);
        *str = copy;
        return NOTIFIER_OK;
    }

    return NOTIFIER_ERROR;
}


/* what no single line shows: required options, options that go together */
static int
notifier_conf_check(notifier_conf_t *conf, const char *path,
    notifier_buf_t *error)
{
    const notifier_option_t  *opt;
    size_t                    n;

    for (opt = notifier_options; opt->name; opt++) {
        if (opt->required
            && *(char **) ((char *) conf + opt->offset) == NULL)
        {
            notifier_buf_printf(error, "%s: %s is required", path,
                                opt->name);
            return NOTIFIER_ERROR;
        }
    }

    n = strlen(conf->public_url);
    if (conf->public_url[n - 1] != '/') {
        notifier_buf_printf(error, "%s: public_url \"%s\" must end with \"/\"",
                            path, conf->public_url);
        return NOTIFIER_ERROR;
    }

    if (strncmp(conf->smtp_url, "smtp://", 7) != 0
        && strncmp(conf->smtp_url, "smtps://", 8) != 0)
    {
        notifier_buf_printf(error, "%s: smtp_url \"%s\": smtp:// or smtps://",
                            path, conf->smtp_url);
        return NOTIFIER_ERROR;
    }

    if (conf->sms_url && strncmp(conf->sms_url, "https://", 8) != 0
        && strncmp(conf->sms_url, "http://", 7) != 0)
    {
        notifier_buf_printf(error, "%s: sms_url \"%s\": https:// or http://",
                            path, conf->sms_url);
        return NOTIFIER_ERROR;
    }

    if (conf->sms_auth_header && strchr(conf->sms_auth_header, ':') == NULL) {
        notifier_buf_printf(error, "%s: sms_auth_header \"%s\": a whole header,"
                            " \"Name: value\"", path, conf->sms_auth_header);
        return NOTIFIER_ERROR;
    }

    if (conf->smtp_password && conf->smtp_password_file) {
        notifier_buf_printf(error, "%s: smtp_password and smtp_password_file"
                            " together: keep one", path);
        return NOTIFIER_ERROR;
    }

    if ((conf->smtp_password || conf->smtp_password_file)
        && conf->smtp_user == NULL)
    {
        notifier_buf_printf(error, "%s: a password without smtp_user", path);
        return NOTIFIER_ERROR;
    }

    if (conf->retry_max < conf->retry_initial) {
        notifier_buf_printf(error, "%s: retry_max (%g) is less than"
                            " retry_initial (%g)", path, conf->retry_max,
                            conf->retry_initial);
        return NOTIFIER_ERROR;
    }

    if (conf->smtp_password_file
        && notifier_conf_password_file(conf, path, error) != NOTIFIER_OK)
    {
        return NOTIFIER_ERROR;
    }

    conf->smtp_server = notifier_conf_server(conf->smtp_url);
    conf->sms_server = notifier_conf_server(conf->sms_url ? conf->sms_url
                                            : "(no sms_url)");

    if (conf->smtp_server == NULL || conf->sms_server == NULL) {
        notifier_buf_str(error, "out of memory");
        return NOTIFIER_ERROR;
    }

    return NOTIFIER_OK;
}


/* the password is the file's first line (a secret kept out of the config) */
static int
notifier_conf_password_file(notifier_conf_t *conf, const char *path,
    notifier_buf_t *error)
{
    FILE  *f;
    char   line[1024];

    f = fopen(conf->smtp_password_file, "r");
    if (f == NULL) {
        notifier_buf_printf(error, "%s: smtp_password_file %s: %s", path,
                            conf->smtp_password_file, strerror(errno));
        return NOTIFIER_ERROR;
    }

    if (fgets(line, sizeof(line), f) == NULL) {
        line[0] = '\0';
    }

    fclose(f);

    line[strcspn(line, "\r\n")] = '\0';

    if (line[0] == '\0') {
        notifier_buf_printf(error, "%s: smtp_password_file %s is empty", path,
                            conf->smtp_password_file);
        return NOTIFIER_ERROR;
    }

    conf->smtp_password = strdup(line);
    if (conf->smtp_password == NULL) {
        notifier_buf_str(error, "out of memory");
        return NOTIFIER_ERROR;
    }

    return NOTIFIER_OK;
}


/* "smtp://user@host:2525/x" -> "host:2525", for the log lines */
static char *
notifier_conf_server(const char *url)
{
    const char  *p, *end, *at;

    p = strstr(url, "://");
    p = p ? p + 3 : url;

    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', end - p);
    if (at) {
        p = at + 1;
    }

    return strndup(p, end - p);
}


void
notifier_conf_free(notifier_conf_t *conf)
{
    const notifier_option_t  *opt;

    for (opt = notifier_options; opt->name; opt++) {
        if (opt->kind == NOTIFIER_OPT_STRING || opt->kind == NOTIFIER_OPT_URL)
        {
            free(*(char **) ((char *) conf + opt->offset));
        }
    }

    /* smtp_password, read from smtp_password_file or not, is freed there */

    free(conf->smtp_server);
    free(conf->sms_server);

    memset(conf, 0, sizeof(notifier_conf_t));
}


static char *
notifier_trim(char *s)
{
    char  *end;

    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }

    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        *--end = '\0';
    }

    return s;
}
