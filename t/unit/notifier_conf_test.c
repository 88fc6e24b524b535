/*
 * The notifier's configuration file (notifier/chantier_notifier_conf.c):
 * defaults, every kind of value, and the errors, each naming file:line.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chantier_notifier.h"
#include "tap.h"


#define MINIMAL  "public_url = https://clo.example/\n" \
                 "mail_from = notifications@clo.example\n"


/* parses text; when "error" is given, the parse must fail with a message
 * containing it, else succeed */
static void
conf_is(const char *text, const char *error, const char *name)
{
    notifier_conf_t  conf;
    notifier_buf_t   why = { 0 };
    int              rc;

    rc = notifier_conf_parse(&conf, "test.conf", text, &why);

    if (error == NULL) {
        ok(rc == NOTIFIER_OK, name);
        if (rc != NOTIFIER_OK) {
            printf("# %s\n", why.data);
        }

    } else {
        ok(rc == NOTIFIER_ERROR && why.data && strstr(why.data, error), name);
        if (rc != NOTIFIER_ERROR || why.data == NULL
            || strstr(why.data, error) == NULL)
        {
            printf("# got: %s\n", why.data ? why.data : "(success)");
        }
    }

    notifier_conf_free(&conf);
    notifier_buf_free(&why);
}


static void
test_defaults(void)
{
    notifier_conf_t  conf;
    notifier_buf_t   why = { 0 };

    ok(notifier_conf_parse(&conf, "test.conf", MINIMAL, &why) == NOTIFIER_OK,
       "the minimal file: public_url and mail_from");

    ok(strcmp(conf.pg_conninfo, "dbname=chantier") == 0
       && strcmp(conf.redis_host, "127.0.0.1") == 0
       && conf.redis_port == 6379, "defaults: PostgreSQL and Redis");
    ok(strcmp(conf.smtp_url, "smtp://127.0.0.1:25") == 0
       && conf.smtp_starttls == NOTIFIER_TLS_REQUIRED
       && conf.smtp_user == NULL, "defaults: SMTP, STARTTLS required");
    ok(conf.retry_initial == 30 && conf.retry_max == 3600
       && conf.dead_after == 86400 && conf.sweep_interval == 60,
       "defaults: retries, dead letters, sweep");
    ok(strcmp(conf.smtp_server, "127.0.0.1:25") == 0,
       "the server as the log names it");

    notifier_conf_free(&conf);
    notifier_buf_free(&why);
}


static void
test_values(void)
{
    notifier_conf_t  conf;
    notifier_buf_t   why = { 0 };
    char             path[] = "/tmp/notifier-conf-test-XXXXXX", *text;
    int              fd;

    ok(notifier_conf_parse(&conf, "test.conf", MINIMAL
           "# a comment\n"
           "\n"
           "   smtp_url   =   smtps://mail.clo.example:465   \r\n"
           "smtp_starttls = off\n"
           "smtp_user = notifier\n"
           "smtp_password = s3cret = with # signs\n"
           "redis_port = 6380\n"
           "retry_initial = 1.5\n"
           "sms_url = https://sms.example/v1/send\n"
           "sms_auth_header = Authorization: Bearer abc\n", &why)
       == NOTIFIER_OK, "a full file: comments, spaces, CRLF");

    ok(strcmp(conf.smtp_url, "smtps://mail.clo.example:465") == 0,
       "values trimmed");
    ok(strcmp(conf.smtp_password, "s3cret = with # signs") == 0,
       "a value keeps its own = and #");
    ok(conf.smtp_starttls == NOTIFIER_TLS_OFF && conf.redis_port == 6380
       && conf.retry_initial == 1.5, "tls, port, seconds");
    ok(strcmp(conf.smtp_server, "mail.clo.example:465") == 0
       && strcmp(conf.sms_server, "sms.example") == 0,
       "the servers as the log names them");

    notifier_conf_free(&conf);

    fd = mkstemp(path);
    if (write(fd, "from-the-file\n", 14) != 14) {
        perror("write");
    }
    close(fd);

    text = malloc(strlen(path) + 200);
    sprintf(text, MINIMAL "smtp_user = n\nsmtp_password_file = %s\n", path);

    ok(notifier_conf_parse(&conf, "test.conf", text, &why) == NOTIFIER_OK
       && strcmp(conf.smtp_password, "from-the-file") == 0,
       "smtp_password_file: its first line");
    notifier_conf_free(&conf);

    unlink(path);
    conf_is(text, "smtp_password_file", "smtp_password_file missing: named");

    free(text);
    notifier_buf_free(&why);
}


static void
test_errors(void)
{
    conf_is(MINIMAL "smtp_pasword = x\n",
            "test.conf:3: unknown option \"smtp_pasword\"",
            "unknown key: file:line and the key");
    conf_is(MINIMAL "redis_port = 70000\n", "test.conf:3: redis_port:",
            "port out of range");
    conf_is(MINIMAL "redis_port = 63a\n", "not a port", "port not a number");
    conf_is("\n\n" MINIMAL "retry_max = soon\n",
            "test.conf:5: retry_max: \"soon\" is not a number of seconds",
            "seconds not a number, the line counted with the blank ones");
    conf_is(MINIMAL "dead_after = 0\n", "dead_after", "seconds must be > 0");
    conf_is(MINIMAL "dead_after = -5\n", "dead_after", "negative seconds");
    conf_is(MINIMAL "smtp_starttls = yes\n",
            "test.conf:3: smtp_starttls: \"yes\": off, try or required",
            "starttls: off, try or required");
    conf_is(MINIMAL "smtp_url\n", "test.conf:3: \"smtp_url\": expected",
            "a line without =");
    conf_is(MINIMAL "mail_from =\n", "test.conf:3: mail_from: no value",
            "an empty value");
    conf_is(MINIMAL "smtp_url = 127.0.0.1:25\n", "is not a URL",
            "a URL without a scheme");
    conf_is(MINIMAL "smtp_url = http://mail:25\n", "smtp:// or smtps://",
            "smtp_url: smtp or smtps");
    conf_is(MINIMAL "sms_url = ftp://sms/\n", "https:// or http://",
            "sms_url: http(s)");
    conf_is(MINIMAL "sms_auth_header = Bearer abc\n", "a whole header",
            "sms_auth_header: Name: value");
    conf_is("mail_from = a@b\n", "public_url is required",
            "public_url required");
    conf_is("public_url = https://clo.example/\n", "mail_from is required",
            "mail_from required");
    conf_is("public_url = https://clo.example\nmail_from = a@b\n",
            "must end with \"/\"", "public_url ends with /");
    conf_is(MINIMAL "smtp_user = u\nsmtp_password = p\n"
            "smtp_password_file = /x\n", "together",
            "password and password file: one only");
    conf_is(MINIMAL "smtp_password = p\n", "without smtp_user",
            "a password without a user");
    conf_is(MINIMAL "retry_initial = 60\nretry_max = 10\n",
            "retry_max (10) is less than retry_initial (60)",
            "retry_max below retry_initial");
}


static void
test_read(void)
{
    notifier_conf_t  conf;
    notifier_buf_t   why = { 0 };

    ok(notifier_conf_read(&conf, "/nonexistent/notifier.conf", &why)
       == NOTIFIER_ERROR
       && strstr(why.data, "/nonexistent/notifier.conf: No such file"),
       "a missing file: named, with the reason");

    notifier_conf_free(&conf);
    notifier_buf_free(&why);
}


int
main(void)
{
    test_defaults();
    test_values();
    test_errors();
    test_read();

    return tap_done();
}
