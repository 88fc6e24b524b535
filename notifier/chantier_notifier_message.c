/*
 * What the messages say, in French: the subject, the plain-text and HTML
 * bodies of an e-mail, the whole e-mail (headers and MIME parts), and the
 * SMS.  Every text comes from a notifier_message_t; nothing here does I/O.
 */

#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <time.h>

#include "chantier_notifier.h"


#define NOTIFIER_BOUNDARY  "=_chantier-notifier_"

/* below this many characters an excerpt says nothing: left out */
#define NOTIFIER_SMS_MIN_EXCERPT  12


static void notifier_message_link(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url);
static const char *notifier_message_staff(notifier_item_t *item);
static void notifier_message_intro(notifier_buf_t *b, notifier_message_t *m);
static void notifier_sms_excerpt(notifier_buf_t *b, const char *excerpt,
    size_t chars);
static void notifier_sms_action(notifier_buf_t *b, notifier_message_t *m);


int
notifier_event_parse(const char *name, notifier_event_e *event)
{
    if (strcmp(name, "post_created") == 0) {
        *event = NOTIFIER_POST_CREATED;
    } else if (strcmp(name, "post_reannounced") == 0) {
        *event = NOTIFIER_POST_REANNOUNCED;
    } else if (strcmp(name, "comments") == 0) {
        *event = NOTIFIER_COMMENTS;
    } else {
        return NOTIFIER_ERROR;
    }

    return NOTIFIER_OK;
}


/* https://clo.example/espace-client/fiche.html?id=3 */
static void
notifier_message_link(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url)
{
    notifier_buf_printf(b, "%sfiche.html?id=%lld", public_url, m->fiche_id);
}


static const char *
notifier_message_staff(notifier_item_t *item)
{
    return item->staff ? " (CLO)" : "";
}


/* [CH-2026-0042] 3 nouveaux commentaires — Rénovation cuisine */
void
notifier_message_subject(notifier_buf_t *b, notifier_message_t *m)
{
    notifier_buf_printf(b, "[%s] ", m->code);

    switch (m->event) {
    case NOTIFIER_POST_CREATED:
        notifier_buf_str(b, "Nouvelle publication");
        break;
    case NOTIFIER_POST_REANNOUNCED:
        notifier_buf_str(b, "Publication modifiée");
        break;
    case NOTIFIER_COMMENTS:
        if (m->nitems == 1) {
            notifier_buf_str(b, "1 nouveau commentaire");
        } else {
            notifier_buf_printf(b, "%d nouveaux commentaires", m->nitems);
        }
        break;
    }

    notifier_buf_printf(b, " \xe2\x80\x94 %s", m->title);
}


/* the sentence before the items, without its final colon */
static void
notifier_message_intro(notifier_buf_t *b, notifier_message_t *m)
{
    notifier_item_t  *first = &m->items[0];

    switch (m->event) {
    case NOTIFIER_POST_CREATED:
        notifier_buf_printf(b, "%s%s a publié sur la fiche d'avancement du"
                            " chantier %s \xe2\x80\x94 %s, %s",
                            first->author, notifier_message_staff(first),
                            m->code, m->title, first->said_at);
        break;

    case NOTIFIER_POST_REANNOUNCED:
        notifier_buf_printf(b, "%s%s a modifié une publication de la fiche"
                            " d'avancement du chantier %s \xe2\x80\x94 %s, %s",
                            first->author, notifier_message_staff(first),
                            m->code, m->title, first->said_at);
        break;

    case NOTIFIER_COMMENTS:
        if (m->nitems == 1) {
            notifier_buf_str(b, "Un nouveau commentaire");
        } else {
            notifier_buf_printf(b, "%d nouveaux commentaires", m->nitems);
        }
        notifier_buf_printf(b, " sur la fiche d'avancement du chantier %s"
                            " \xe2\x80\x94 %s", m->code, m->title);
        break;
    }
}


void
notifier_message_text(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url)
{
    int               i;
    size_t            len;
    const char       *p;
    notifier_item_t  *item;

    notifier_buf_printf(b, "Bonjour %s %s,\n\n", m->first_name, m->last_name);

    notifier_message_intro(b, m);
    notifier_buf_str(b, " :\n");

    for (i = 0; i < m->nitems; i++) {
        item = &m->items[i];

        notifier_buf_str(b, "\n");

        if (m->event == NOTIFIER_COMMENTS) {
            notifier_buf_printf(b, "%s%s, %s :\n", item->author,
                                notifier_message_staff(item), item->said_at);
        }

        /* each line of the excerpt indented, as a quotation */
        for (p = item->excerpt; *p; p += (*p == '\n')) {
            len = strcspn(p, "\n");
            notifier_buf_str(b, "    ");
            notifier_buf_add(b, p, len);
            notifier_buf_str(b, "\n");
            p += len;
        }
    }

    notifier_buf_str(b, "\nVoir la fiche : ");
    notifier_message_link(b, m, public_url);

    notifier_buf_printf(b, "\n\n-- \nVous recevez ce message selon vos"
                        " préférences de notification.\nPour les changer :"
                        " Mon compte, %scompte.html\n", public_url);
}


void
notifier_message_html(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url)
{
    int               i;
    notifier_buf_t    text = { 0 };
    notifier_item_t  *item;

    notifier_buf_str(b, "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n"
                     "<meta charset=\"utf-8\">\n<title>");
    notifier_message_subject(&text, m);
    notifier_html_escape(b, text.data ? text.data : "");
    notifier_buf_str(b, "</title>\n</head>\n<body style=\"font-family:"
                     " sans-serif; line-height: 1.5\">\n<p>Bonjour ");
    notifier_html_escape(b, m->first_name);
    notifier_buf_str(b, " ");
    notifier_html_escape(b, m->last_name);
    notifier_buf_str(b, ",</p>\n<p>");

    notifier_buf_reset(&text);
    notifier_message_intro(&text, m);
    notifier_html_escape(b, text.data ? text.data : "");
    notifier_buf_str(b, " :</p>\n");

    for (i = 0; i < m->nitems; i++) {
        item = &m->items[i];

        if (m->event == NOTIFIER_COMMENTS) {
            notifier_buf_str(b, "<p><strong>");
            notifier_html_escape(b, item->author);
            notifier_html_escape(b, notifier_message_staff(item));
            notifier_buf_str(b, "</strong>, ");
            notifier_html_escape(b, item->said_at);
            notifier_buf_str(b, " :</p>\n");
        }

        notifier_buf_str(b, "<blockquote style=\"border-left: 3px solid"
                         " #ccc; margin-left: 0; padding-left: 1em\">");
        notifier_html_escape(b, item->excerpt);
        notifier_buf_str(b, "</blockquote>\n");
    }

    notifier_buf_reset(&text);
    notifier_message_link(&text, m, public_url);
    notifier_buf_str(b, "<p><a href=\"");
    notifier_html_escape(b, text.data ? text.data : "");
    notifier_buf_str(b, "\">Voir la fiche d'avancement</a></p>\n");

    notifier_buf_str(b, "<p style=\"color: #555; font-size: small\">Vous"
                     " recevez ce message selon vos préférences de"
                     " notification. Pour les changer : <a href=\"");
    notifier_html_escape(b, public_url);
    notifier_buf_str(b, "compte.html\">Mon compte</a>.</p>\n</body>\n"
                     "</html>\n");

    if (text.failed) {
        b->failed = 1;
    }

    notifier_buf_free(&text);
}


/*
 * The whole e-mail, as the SMTP server receives it: headers (the subject and
 * names RFC 2047 encoded), then multipart/alternative with the plain text
 * first and the HTML last (the one a reader shows when it can), both UTF-8
 * quoted-printable.  The idempotency key, unique per notification, makes
 * the Message-ID: a message sent twice after a crash is the same message to
 * the servers and readers that notice.
 */
void
notifier_message_mail(notifier_buf_t *b, notifier_message_t *m,
    const char *from_name, const char *from, const char *to,
    const char *public_url, time_t now)
{
    char             date[64], boundary[64];
    struct tm        tm;
    notifier_buf_t   part = { 0 };
    const char      *p;

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof(boundary), NOTIFIER_BOUNDARY "%lld", m->id);

    notifier_buf_printf(b, "Date: %s\r\n", date);

    notifier_buf_str(b, "From: ");
    notifier_mime_address(b, from_name, from);
    notifier_buf_str(b, "\r\n");

    notifier_buf_printf(&part, "%s %s", m->first_name, m->last_name);
    notifier_buf_str(b, "To: ");
    notifier_mime_address(b, part.data ? part.data : "", to);
    notifier_buf_str(b, "\r\n");

    notifier_buf_reset(&part);
    notifier_message_subject(&part, m);
    notifier_mime_header(b, "Subject", part.data ? part.data : "");

    /* the key ("comments:12:3:456") with "." for what a Message-ID's
     * left part may not hold */
    notifier_buf_str(b, "Message-ID: <");
    for (p = m->idempotency_key; *p; p++) {
        notifier_buf_add(b, (isalnum((unsigned char) *p) || *p == '-'
                             || *p == '_') ? p : ".", 1);
    }
    p = strchr(from, '@');
    notifier_buf_printf(b, "@%s>\r\n", p ? p + 1 : "chantier-notifier");

    notifier_buf_str(b, "Auto-Submitted: auto-generated\r\n"
                     "MIME-Version: 1.0\r\n");
    notifier_buf_printf(b, "Content-Type: multipart/alternative;"
                        " boundary=\"%s\"\r\n\r\n", boundary);

    notifier_buf_printf(b, "--%s\r\nContent-Type: text/plain; charset=UTF-8"
                        "\r\nContent-Transfer-Encoding: quoted-printable"
                        "\r\n\r\n", boundary);
    notifier_buf_reset(&part);
    notifier_message_text(&part, m, public_url);
    notifier_quoted_printable(b, part.data ? part.data : "");

    notifier_buf_printf(b, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8"
                        "\r\nContent-Transfer-Encoding: quoted-printable"
                        "\r\n\r\n", boundary);
    notifier_buf_reset(&part);
    notifier_message_html(&part, m, public_url);
    notifier_quoted_printable(b, part.data ? part.data : "");

    notifier_buf_printf(b, "\r\n--%s--\r\n", boundary);

    if (part.failed) {
        b->failed = 1;
    }

    notifier_buf_free(&part);
}


/* ---- SMS ---- */

/* "Marie Rousseau a publié", the words before the excerpt */
static void
notifier_sms_action(notifier_buf_t *b, notifier_message_t *m)
{
    notifier_item_t  *last = &m->items[m->nitems - 1];

    switch (m->event) {
    case NOTIFIER_POST_CREATED:
        notifier_buf_printf(b, "%s a publié", m->items[0].author);
        break;
    case NOTIFIER_POST_REANNOUNCED:
        notifier_buf_printf(b, "%s a modifié une publication",
                            m->items[0].author);
        break;
    case NOTIFIER_COMMENTS:
        if (m->nitems == 1) {
            notifier_buf_printf(b, "%s a commenté", last->author);
        } else {
            notifier_buf_printf(b, "%d nouveaux commentaires, le dernier de"
                                " %s", m->nitems, last->author);
        }
        break;
    }
}


/*
 * The excerpt on one line (line breaks and runs of spaces made one space),
 * at most "chars" characters: cut, it ends with "…".
 */
static void
notifier_sms_excerpt(notifier_buf_t *b, const char *excerpt, size_t chars)
{
    notifier_buf_t   flat = { 0 };
    const char      *p;
    size_t           len;
    int              space = 0;

    for (p = excerpt; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            space = (flat.len > 0);
            continue;
        }
        if (space) {
            notifier_buf_str(&flat, " ");
            space = 0;
        }
        notifier_buf_add(&flat, p, 1);
    }

    if (flat.data == NULL || flat.failed) {
        b->failed |= flat.failed;
        notifier_buf_free(&flat);
        return;
    }

    if (notifier_utf8_length(flat.data) <= chars) {
        notifier_buf_str(b, flat.data);

    } else {
        len = notifier_utf8_prefix(flat.data, chars - 1);
        while (len > 0 && flat.data[len - 1] == ' ') {
            len--;
        }
        notifier_buf_add(b, flat.data, len);
        notifier_buf_str(b, "\xe2\x80\xa6");
    }

    notifier_buf_free(&flat);
}


/*
 * CLO CH-2026-0042 : Marie Rousseau a publié « Les meubles sont… »
 * https://clo.example/fiche.html?id=3
 *
 * At most NOTIFIER_SMS_MAX characters: the excerpt takes what the rest
 * leaves, and is left out when that is too little to say anything; if even
 * then the text is too long (a very long name or link), it is cut.
 */
void
notifier_message_sms(notifier_buf_t *b, notifier_message_t *m,
    const char *public_url)
{
    notifier_buf_t   head = { 0 }, link = { 0 };
    size_t           fixed, room, start;
    const char      *quote_open = " \xc2\xab ", *quote_close = " \xc2\xbb";

    start = b->len;

    notifier_buf_printf(&head, "CLO %s : ", m->code);
    notifier_sms_action(&head, m);

    notifier_buf_str(&link, " ");
    notifier_message_link(&link, m, public_url);

    if (head.failed || link.failed) {
        b->failed = 1;
        goto done;
    }

    /* " « " and " »": 5 characters */
    fixed = notifier_utf8_length(head.data) + notifier_utf8_length(link.data)
            + 5;
    room = fixed < NOTIFIER_SMS_MAX ? NOTIFIER_SMS_MAX - fixed : 0;

    notifier_buf_str(b, head.data);

    if (room >= NOTIFIER_SMS_MIN_EXCERPT
        && m->items[m->nitems - 1].excerpt[0] != '\0')
    {
        notifier_buf_str(b, quote_open);
        notifier_sms_excerpt(b, m->items[m->nitems - 1].excerpt, room);
        notifier_buf_str(b, quote_close);
    }

    notifier_buf_str(b, link.data);

    if (!b->failed
        && notifier_utf8_length(b->data + start) > NOTIFIER_SMS_MAX)
    {
        b->len = start + notifier_utf8_prefix(b->data + start,
                                              NOTIFIER_SMS_MAX - 1);
        b->data[b->len] = '\0';
        notifier_buf_str(b, "\xe2\x80\xa6");
    }

done:

    notifier_buf_free(&head);
    notifier_buf_free(&link);
}
