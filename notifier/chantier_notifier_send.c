/*
 * The two ways out, with libcurl: an e-mail to the SMTP server (smtp:// with
 * STARTTLS as smtp_starttls says, or smtps://; AUTH when smtp_user is set),
 * an SMS as an HTTP(S) POST of {"to","text"} to the gateway.
 *
 * Each answers what to do with the notification: sent, retry later (the
 * server is down, slow, refuses our credentials or our TLS: a person can
 * mend that, and the next try will tell), or refused for good (the server
 * says the message itself will never be taken: dead).  "error" gets one
 * line naming the server and, for what the configuration can mend, the
 * option to check: it goes to the log and to the row's last_error.
 */

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "chantier_notifier.h"


/* what is kept of a gateway's answer, for the error line */
#define NOTIFIER_ANSWER_MAX  200


typedef struct {
    const char  *data;
    size_t       len;
    size_t       sent;
} notifier_upload_t;


static size_t notifier_send_read(char *buffer, size_t size, size_t n,
    void *data);
static size_t notifier_send_write(char *buffer, size_t size, size_t n,
    void *data);
static int notifier_send_tls_error(CURLcode rc);
static notifier_outcome_e notifier_smtp_outcome(notifier_conf_t *conf,
    CURL *curl, CURLcode rc, const char *detail, notifier_buf_t *error);
static notifier_outcome_e notifier_sms_outcome(notifier_conf_t *conf,
    CURL *curl, CURLcode rc, const char *detail, notifier_buf_t *answer,
    notifier_buf_t *error);


int
notifier_send_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? NOTIFIER_OK : NOTIFIER_ERROR;
}


void
notifier_send_cleanup(void)
{
    curl_global_cleanup();
}


/* libcurl reads the message from here, as much as it asks each time */
static size_t
notifier_send_read(char *buffer, size_t size, size_t n, void *data)
{
    notifier_upload_t  *up = data;
    size_t              len;

    len = up->len - up->sent;
    if (len > size * n) {
        len = size * n;
    }

    memcpy(buffer, up->data + up->sent, len);
    up->sent += len;

    return len;
}


/* the start of the gateway's answer, for the error line */
static size_t
notifier_send_write(char *buffer, size_t size, size_t n, void *data)
{
    notifier_buf_t  *answer = data;
    size_t           len = size * n;

    if (answer->len < NOTIFIER_ANSWER_MAX) {
        notifier_buf_add(answer, buffer,
                         len < NOTIFIER_ANSWER_MAX - answer->len
                         ? len : NOTIFIER_ANSWER_MAX - answer->len);
    }

    return len;
}


static int
notifier_send_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return 1;
    default:
        return 0;
    }
}


notifier_outcome_e
notifier_send_mail(notifier_conf_t *conf, const char *to,
    notifier_buf_t *mail, notifier_buf_t *error)
{
    CURL                *curl;
    CURLcode             rc;
    char                 from[512], rcpt[512], detail[CURL_ERROR_SIZE];
    struct curl_slist   *rcpts = NULL;
    notifier_upload_t    up = { mail->data, mail->len, 0 };
    notifier_outcome_e   outcome = NOTIFIER_RETRY;

    curl = curl_easy_init();
    if (curl == NULL) {
        notifier_buf_str(error, "libcurl: cannot create a handle");
        return NOTIFIER_RETRY;
    }

    snprintf(from, sizeof(from), "<%s>", conf->mail_from);
    snprintf(rcpt, sizeof(rcpt), "<%s>", to);

    rcpts = curl_slist_append(NULL, rcpt);
    if (rcpts == NULL) {
        notifier_buf_str(error, "out of memory");
        goto done;
    }

    detail[0] = '\0';

    curl_easy_setopt(curl, CURLOPT_URL, conf->smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     conf->smtp_starttls == NOTIFIER_TLS_REQUIRED
                     ? (long) CURLUSESSL_ALL
                     : conf->smtp_starttls == NOTIFIER_TLS_TRY
                     ? (long) CURLUSESSL_TRY : (long) CURLUSESSL_NONE);

    if (conf->smtp_user) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, conf->smtp_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD,
                         conf->smtp_password ? conf->smtp_password : "");
    }

    if (conf->smtp_ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, conf->smtp_ca_file);
    }

    curl_easy_setopt(curl, CURLOPT_READFUNCTION, notifier_send_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (conf->connect_timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long) (conf->smtp_timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);

    rc = curl_easy_perform(curl);

    outcome = notifier_smtp_outcome(conf, curl, rc, detail, error);

done:

    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);

    return outcome;
}


/*
 * What an SMTP failure means.  Credentials and TLS are the configuration's:
 * retried (the fix is the administrator's, the notification waits for it
 * until dead_after).  A 5xx the server gave the message or its recipient
 * ("550 no such user") will not change: refused.
 */
static notifier_outcome_e
notifier_smtp_outcome(notifier_conf_t *conf, CURL *curl, CURLcode rc,
    const char *detail, notifier_buf_t *error)
{
    long  code = 0;

    if (rc == CURLE_OK) {
        return NOTIFIER_SENT;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);

    notifier_buf_printf(error, "smtp %s: ", conf->smtp_server);

    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        notifier_buf_printf(error, "unreachable (%s)",
                            detail[0] ? detail : curl_easy_strerror(rc));
        return NOTIFIER_RETRY;
    }

    if (rc == CURLE_OPERATION_TIMEDOUT) {
        notifier_buf_printf(error, "no answer in time (%s) \xe2\x80\x94 see"
                            " smtp_timeout", detail);
        return NOTIFIER_RETRY;
    }

    if (rc == CURLE_LOGIN_DENIED || code == 535) {
        notifier_buf_printf(error, "authentication failed (%ld) \xe2\x80\x94"
                            " check smtp_user and smtp_password", code);
        return NOTIFIER_RETRY;
    }

    if (code == 530 || code == 538) {
        notifier_buf_printf(error, "the server requires authentication"
                            " (%ld) \xe2\x80\x94 check smtp_user and"
                            " smtp_starttls", code);
        return NOTIFIER_RETRY;
    }

    if (rc == CURLE_USE_SSL_FAILED) {
        notifier_buf_str(error, "the server offers no STARTTLS \xe2\x80\x94"
                         " see smtp_starttls");
        return NOTIFIER_RETRY;
    }

    if (notifier_send_tls_error(rc)) {
        notifier_buf_printf(error, "TLS failure (%s) \xe2\x80\x94 check"
                            " smtp_ca_file and smtp_url",
                            detail[0] ? detail : curl_easy_strerror(rc));
        return NOTIFIER_RETRY;
    }

    if (code >= 500 && code < 600) {
        notifier_buf_printf(error, "message refused (%ld): %s", code,
                            detail[0] ? detail : curl_easy_strerror(rc));
        return NOTIFIER_REFUSED;
    }

    notifier_buf_printf(error, "%s", detail[0] ? detail
                                               : curl_easy_strerror(rc));
    if (code) {
        notifier_buf_printf(error, " (%ld)", code);
    }

    return NOTIFIER_RETRY;
}


notifier_outcome_e
notifier_send_sms(notifier_conf_t *conf, const char *to, const char *text,
    notifier_buf_t *error)
{
    CURL                *curl;
    CURLcode             rc;
    char                 detail[CURL_ERROR_SIZE];
    struct curl_slist   *headers = NULL, *h;
    notifier_buf_t       body = { 0 }, answer = { 0 };
    notifier_outcome_e   outcome = NOTIFIER_RETRY;

    if (conf->sms_url == NULL) {
        notifier_buf_str(error, "sms: no sms_url in the configuration");
        return NOTIFIER_RETRY;
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        notifier_buf_str(error, "libcurl: cannot create a handle");
        return NOTIFIER_RETRY;
    }

    notifier_buf_str(&body, "{\"to\":\"");
    notifier_json_escape(&body, to);
    notifier_buf_str(&body, "\",\"text\":\"");
    notifier_json_escape(&body, text);
    notifier_buf_str(&body, "\"}");

    h = curl_slist_append(NULL, "Content-Type: application/json");
    headers = h;
    if (h && conf->sms_auth_header) {
        h = curl_slist_append(headers, conf->sms_auth_header);
    }

    if (body.failed || h == NULL) {
        notifier_buf_str(error, "out of memory");
        goto done;
    }

    detail[0] = '\0';

    curl_easy_setopt(curl, CURLOPT_URL, conf->sms_url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) body.len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, notifier_send_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);

    if (conf->sms_ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, conf->sms_ca_file);
    }

    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (conf->connect_timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long) (conf->sms_timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);

    rc = curl_easy_perform(curl);

    outcome = notifier_sms_outcome(conf, curl, rc, detail, &answer, error);

done:

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    notifier_buf_free(&body);
    notifier_buf_free(&answer);

    return outcome;
}


/*
 * 2xx: sent.  4xx: the gateway will never take this SMS (a number it
 * rejects, a text it refuses): refused, but for 401 and 403 (our
 * credentials: the configuration's, retried like SMTP's), 408 and 429 (come
 * back later).  5xx, no answer, TLS: retried.
 */
static notifier_outcome_e
notifier_sms_outcome(notifier_conf_t *conf, CURL *curl, CURLcode rc,
    const char *detail, notifier_buf_t *answer, notifier_buf_t *error)
{
    long         code = 0;
    const char  *said;

    notifier_buf_printf(error, "sms %s: ", conf->sms_server);

    if (rc != CURLE_OK) {
        if (notifier_send_tls_error(rc)) {
            notifier_buf_printf(error, "TLS failure (%s) \xe2\x80\x94 check"
                                " sms_ca_file and sms_url",
                                detail[0] ? detail : curl_easy_strerror(rc));
        } else if (rc == CURLE_COULDNT_CONNECT
                   || rc == CURLE_COULDNT_RESOLVE_HOST)
        {
            notifier_buf_printf(error, "unreachable (%s)",
                                detail[0] ? detail : curl_easy_strerror(rc));
        } else {
            notifier_buf_printf(error, "%s",
                                detail[0] ? detail : curl_easy_strerror(rc));
        }
        return NOTIFIER_RETRY;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);

    if (code >= 200 && code < 300) {
        notifier_buf_reset(error);
        return NOTIFIER_SENT;
    }

    said = (answer->data && notifier_utf8_valid(answer->data))
           ? answer->data : "";

    if (code == 401 || code == 403) {
        notifier_buf_printf(error, "authentication failed (%ld)"
                            " \xe2\x80\x94 check sms_auth_header", code);
        return NOTIFIER_RETRY;
    }

    notifier_buf_printf(error, "HTTP %ld %s", code, said);

    if (code >= 400 && code < 500 && code != 408 && code != 429) {
        return NOTIFIER_REFUSED;
    }

    return NOTIFIER_RETRY;
}
