/*
 * The notifier's texts (notifier/chantier_notifier_text.c and _message.c):
 * E.164 numbers, SMS length with accents and the excerpt cut to fit,
 * RFC 2047 subjects, JSON and HTML escaping, quoted-printable, the backoff
 * schedule, the French of the messages.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chantier_notifier.h"
#include "tap.h"


static void test_e164(void);
static void test_utf8(void);
static void test_escaping(void);
static void test_mime(void);
static void test_backoff(void);
static void test_subject(void);
static void test_sms(void);
static void test_mail(void);
static char *decode_words(const char *header);


static void
e164_is(const char *phone, const char *expected)
{
    char  out[32], name[160];
    int   rc;

    rc = notifier_e164(phone, out, sizeof(out));

    if (expected == NULL) {
        snprintf(name, sizeof(name), "e164: \"%s\" unusable", phone);
        ok(rc == NOTIFIER_ERROR, name);
        return;
    }

    snprintf(name, sizeof(name), "e164: \"%s\" -> %s", phone, expected);
    ok(rc == NOTIFIER_OK && strcmp(out, expected) == 0, name);

    if (rc == NOTIFIER_OK && strcmp(out, expected) != 0) {
        printf("# got %s\n", out);
    }
}


static void
test_e164(void)
{
    e164_is("06 12 34 56 78", "+33612345678");
    e164_is("06.12.34.56.78", "+33612345678");
    e164_is("0612345678", "+33612345678");
    e164_is("06-12-34-56-78", "+33612345678");
    e164_is(" 07 12 34 56 78", "+33712345678");
    e164_is("+33 6 12 34 56 78", "+33612345678");
    e164_is("+33612345678", "+33612345678");
    e164_is("+33 (0)6 12 34 56 78", "+33612345678");
    e164_is("0033 6 12 34 56 78", "+33612345678");
    e164_is("+44 20 7946 0958", "+442079460958");
    e164_is("+1 (415) 555-0100", "+14155550100");
    e164_is("0044 20 7946 0958", "+442079460958");

    e164_is("", NULL);
    e164_is("12 34", NULL);
    e164_is("612345678", NULL);             /* no 0, no + */
    e164_is("06 12 34 56 7", NULL);         /* nine digits */
    e164_is("06 12 34 56 789", NULL);       /* eleven */
    e164_is("00 00 00 00 00", NULL);
    e164_is("+33 6 12 34 56", NULL);        /* too short after +33 */
    e164_is("+33 6 12 34 56 78 9", NULL);
    e164_is("06 12 AB 56 78", NULL);
    e164_is("+33 6+12345678", NULL);
    e164_is("+1234567", NULL);              /* seven digits */
    e164_is("+1234567890123456", NULL);     /* sixteen */
    e164_is("+0612345678", NULL);

    ok(notifier_e164(NULL, (char[32]) { 0 }, 32) == NOTIFIER_ERROR,
       "e164: no phone (NULL) unusable");
}


static void
test_utf8(void)
{
    ok(notifier_utf8_length("abc") == 3, "utf8: ASCII length");
    ok(notifier_utf8_length("Rénovation") == 10,
       "utf8: é counts as one character");
    ok(notifier_utf8_length("« € » …") == 7,
       "utf8: «, €, » and … count one each");
    ok(notifier_utf8_length("😀") == 1, "utf8: a 4-byte character is one");
    ok(notifier_utf8_prefix("été", 2) == 3, "utf8: prefix of 2 = 3 bytes");
    ok(notifier_utf8_prefix("ab", 5) == 2, "utf8: prefix past the end");
    ok(notifier_utf8_valid("é€") && !notifier_utf8_valid("\xe9t\xe9"),
       "utf8: valid, and Latin-1 bytes are not");

    {
        char  latin1[] = "r\xe9ponse 550 \xab non \xbb, é gardé";

        notifier_utf8_clean(latin1);
        ok(strcmp(latin1, "r?ponse 550 ? non ?, é gardé") == 0,
           "utf8: clean: stray bytes made ?, UTF-8 kept");
    }
}


static void
escaped_is(void (*escape)(notifier_buf_t *, const char *), const char *in,
    const char *expected, const char *name)
{
    notifier_buf_t  b = { 0 };

    escape(&b, in);
    ok(b.data && strcmp(b.data, expected) == 0, name);
    if (b.data && strcmp(b.data, expected) != 0) {
        printf("# got [%s]\n", b.data);
    }

    notifier_buf_free(&b);
}


static void
test_escaping(void)
{
    escaped_is(notifier_json_escape, "Il a dit \"oui\" \\ non",
               "Il a dit \\\"oui\\\" \\\\ non", "json: quotes, backslash");
    escaped_is(notifier_json_escape, "a\nb\tc\x01" "d",
               "a\\nb\\tc\\u0001d", "json: line break, tab, control");
    escaped_is(notifier_json_escape, "Rénové « ici »", "Rénové « ici »",
               "json: UTF-8 kept as it is");

    escaped_is(notifier_html_escape, "<script>alert('x')</script> & \"co\"",
               "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;"
               " &quot;co&quot;", "html: < > & ' \"");
    escaped_is(notifier_html_escape, "ligne 1\nligne 2",
               "ligne 1<br>ligne 2", "html: a line break is <br>");
}


/* the text of RFC 2047 B words of a header value, decoded (test helper) */
static char *
decode_words(const char *header)
{
    static const char  digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char               *out, *o;
    const char         *p, *end, *d;
    unsigned long       v;
    int                 bits;

    out = calloc(1, strlen(header) + 1);
    o = out;

    for (p = header; (p = strstr(p, "=?UTF-8?B?")) != NULL; p = end + 2) {
        p += 10;
        end = strstr(p, "?=");
        v = 0;
        bits = 0;

        for ( /* void */ ; p < end && *p != '='; p++) {
            d = strchr(digits, *p);
            v = (v << 6) | (unsigned long) (d - digits);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                *o++ = (char) ((v >> bits) & 0xff);
            }
        }
    }

    return out;
}


static void
test_mime(void)
{
    notifier_buf_t   b = { 0 };
    char            *text, *line, *save;
    int              short_lines = 1, whole = 1;
    const char      *subject = "[CH-2026-0042] 3 nouveaux commentaires"
                               " — Rénovation complète de la cuisine et"
                               " de la salle d'eau, été 2026";

    notifier_mime_header(&b, "Subject", "[CH-1] Plain ASCII");
    ok(strcmp(b.data, "Subject: [CH-1] Plain ASCII\r\n") == 0,
       "mime: an ASCII subject as it is");

    notifier_buf_reset(&b);
    notifier_mime_header(&b, "Subject", subject);
    ok(strncmp(b.data, "Subject: =?UTF-8?B?", 19) == 0,
       "mime: an accented subject is encoded");

    text = decode_words(b.data);
    ok(strcmp(text, subject) == 0, "mime: its words decode to the subject");
    free(text);

    for (line = strtok_r(b.data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
    {
        if (strlen(line) > 78) {
            short_lines = 0;
        }
        /* each word decodes to valid UTF-8 on its own: no split character */
        text = decode_words(line);
        if (!notifier_utf8_valid(text)) {
            whole = 0;
        }
        free(text);
    }

    ok(short_lines, "mime: folded, no line over 78 characters");
    ok(whole, "mime: no word splits a character");

    notifier_buf_reset(&b);
    notifier_mime_address(&b, "Jeanne Dupont", "j@example.test");
    ok(strcmp(b.data, "\"Jeanne Dupont\" <j@example.test>") == 0,
       "mime: an ASCII name quoted");

    notifier_buf_reset(&b);
    notifier_mime_address(&b, "Hélène \"Lulu\" Müller", "h@example.test");
    text = decode_words(b.data);
    ok(strcmp(text, "Hélène \"Lulu\" Müller") == 0
       && strstr(b.data, " <h@example.test>") != NULL,
       "mime: another name encoded, then the address");
    free(text);

    notifier_buf_reset(&b);
    notifier_quoted_printable(&b, "Rénové = fait \nfin");
    ok(strcmp(b.data, "R=C3=A9nov=C3=A9 =3D fait=20\r\nfin\r\n") == 0,
       "qp: accents, =, a space ending a line, CRLF");

    notifier_buf_reset(&b);
    notifier_quoted_printable(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ok(strstr(b.data, "=\r\n") != NULL && strcspn(b.data, "\r") <= 76,
       "qp: a long line gets a soft break");

    notifier_buf_free(&b);
}


static void
test_backoff(void)
{
    ok(notifier_backoff(1, 30, 3600) == 30, "backoff: first retry after 30");
    ok(notifier_backoff(2, 30, 3600) == 60, "backoff: then 60");
    ok(notifier_backoff(3, 30, 3600) == 120, "backoff: then 120");
    ok(notifier_backoff(7, 30, 3600) == 1920, "backoff: 30 x 2^6");
    ok(notifier_backoff(8, 30, 3600) == 3600, "backoff: capped at max");
    ok(notifier_backoff(1000, 30, 3600) == 3600,
       "backoff: capped, even far on");
    ok(notifier_backoff(1, 1, 4) == 1 && notifier_backoff(3, 1, 4) == 4
       && notifier_backoff(4, 1, 4) == 4, "backoff: 1, 2, 4, 4 (tests)");
}


static notifier_item_t  items[5] = {
    { "Marie Rousseau", 1, "Les meubles hauts sont posés.",
      "le 1er décembre à 14 h 05" },
    { "Jean Dupont", 0, "Merci ! <b>Parfait</b> & à demain.",
      "le 1er décembre à 14 h 06" },
    { "Marie Rousseau", 1, "Le plan de travail arrive jeudi.",
      "le 1er décembre à 14 h 07" },
};

static notifier_message_t  message = {
    42, NOTIFIER_POST_CREATED, "CH-2026-0042", "Rénovation cuisine", 3,
    "post_created:7:1:12", "Jean", "Dupont", items, 1
};


static void
subject_is(notifier_event_e event, int nitems, const char *expected)
{
    notifier_buf_t  b = { 0 };

    message.event = event;
    message.nitems = nitems;
    notifier_message_subject(&b, &message);
    ok(strcmp(b.data, expected) == 0, expected);
    notifier_buf_free(&b);
}


static void
test_subject(void)
{
    subject_is(NOTIFIER_POST_CREATED, 1,
               "[CH-2026-0042] Nouvelle publication — Rénovation cuisine");
    subject_is(NOTIFIER_POST_REANNOUNCED, 1,
               "[CH-2026-0042] Publication modifiée — Rénovation cuisine");
    subject_is(NOTIFIER_COMMENTS, 1,
               "[CH-2026-0042] 1 nouveau commentaire — Rénovation cuisine");
    subject_is(NOTIFIER_COMMENTS, 3,
               "[CH-2026-0042] 3 nouveaux commentaires — Rénovation cuisine");
}


static void
test_sms(void)
{
    notifier_buf_t   b = { 0 };
    char             long_excerpt[401];
    const char      *url = "https://clo.example/espace-client/";
    size_t           n;

    message.event = NOTIFIER_POST_CREATED;
    message.nitems = 1;
    notifier_message_sms(&b, &message, url);
    ok(strcmp(b.data, "CLO CH-2026-0042 : Marie Rousseau a publié « Les"
              " meubles hauts sont posés. »"
              " https://clo.example/espace-client/fiche.html?id=3") == 0,
       "sms: a short post as it is");

    /* 200 "é": 400 bytes, 200 characters */
    for (n = 0; n < 200; n++) {
        memcpy(long_excerpt + 2 * n, "é", 2);
    }
    long_excerpt[400] = '\0';
    items[0].excerpt = long_excerpt;

    notifier_buf_reset(&b);
    notifier_message_sms(&b, &message, url);
    ok(notifier_utf8_length(b.data) == NOTIFIER_SMS_MAX,
       "sms: a long accented excerpt: exactly 160 characters");
    ok(b.len > NOTIFIER_SMS_MAX, "sms: (more than 160 bytes)");
    ok(strstr(b.data, "éé… » https://clo.example/espace-client/fiche.html"
                      "?id=3") != NULL,
       "sms: the excerpt cut with …, the link whole at the end");
    ok(notifier_utf8_valid(b.data), "sms: no character cut in half");

    items[0].excerpt = "Ligne un\n\n   ligne   deux";
    notifier_buf_reset(&b);
    notifier_message_sms(&b, &message, url);
    ok(strstr(b.data, "« Ligne un ligne deux »") != NULL,
       "sms: line breaks and runs of spaces made one space");

    message.event = NOTIFIER_COMMENTS;
    message.nitems = 3;
    notifier_buf_reset(&b);
    notifier_message_sms(&b, &message, url);
    ok(strncmp(b.data, "CLO CH-2026-0042 : 3 nouveaux commentaires, le"
               " dernier de Marie Rousseau « Le plan", 80) == 0,
       "sms: a batch names the count and the last author");

    message.nitems = 1;
    notifier_buf_reset(&b);
    notifier_message_sms(&b, &message, url);
    ok(strstr(b.data, "Marie Rousseau a commenté «") != NULL,
       "sms: one comment");

    /* a link so long that no excerpt fits: the SMS still ≤ 160 */
    notifier_buf_reset(&b);
    notifier_message_sms(&b, &message, "https://clo.example/un/chemin/tres"
                         "/long/pour/voir/ce/qui/se/passe/quand/il/ne/reste"
                         "/plus/de/place/du/tout/pour/un/extrait/");
    ok(notifier_utf8_length(b.data) <= NOTIFIER_SMS_MAX
       && strstr(b.data, "«") == NULL,
       "sms: no room for an excerpt: left out, still <= 160");

    items[0].excerpt = "Les meubles hauts sont posés.";
    notifier_buf_free(&b);
}


static void
test_mail(void)
{
    notifier_buf_t   b = { 0 };
    const char      *url = "https://clo.example/";

    message.event = NOTIFIER_COMMENTS;
    message.nitems = 2;

    notifier_message_text(&b, &message, url);
    ok(strstr(b.data, "Bonjour Jean Dupont,\n") != NULL,
       "text: greets the recipient");
    ok(strstr(b.data, "2 nouveaux commentaires sur la fiche d'avancement du"
                      " chantier CH-2026-0042 — Rénovation cuisine :") != NULL,
       "text: says how many, on which chantier");
    ok(strstr(b.data, "Marie Rousseau (CLO), le 1er décembre à 14 h 05 :\n"
                      "    Les meubles") != NULL,
       "text: each author (of CLO), time, excerpt");
    ok(strstr(b.data, "Voir la fiche : https://clo.example/fiche.html?id=3")
       != NULL, "text: the link to the fiche");
    ok(strstr(b.data, "Mon compte") != NULL, "text: where to change it");

    notifier_buf_reset(&b);
    notifier_message_html(&b, &message, url);
    ok(strstr(b.data, "Merci ! &lt;b&gt;Parfait&lt;/b&gt; &amp; à demain.")
       != NULL && strstr(b.data, "<b>Parfait") == NULL,
       "html: the excerpt escaped");
    ok(strstr(b.data, "<a href=\"https://clo.example/fiche.html?id=3\">")
       != NULL, "html: the link");

    notifier_buf_reset(&b);
    notifier_message_mail(&b, &message, "CLO Espace client",
                          "notifications@clo.example", "jean@example.test",
                          url, 1764598000);
    ok(strstr(b.data, "Date: Mon, 01 Dec 2025 ") != NULL, "mail: Date");
    ok(strstr(b.data, "\r\nTo: \"Jean Dupont\" <jean@example.test>\r\n")
       != NULL, "mail: To with the name");
    ok(strstr(b.data, "\r\nFrom: \"CLO Espace client\""
                      " <notifications@clo.example>\r\n") != NULL,
       "mail: From");
    ok(strstr(b.data, "\r\nMessage-ID: <post_created.7.1.12@clo.example>\r\n")
       != NULL, "mail: Message-ID from the idempotency key");
    ok(strstr(b.data, "multipart/alternative") != NULL
       && strstr(b.data, "text/plain; charset=UTF-8") != NULL
       && strstr(b.data, "text/html; charset=UTF-8") != NULL,
       "mail: multipart/alternative, text and HTML, UTF-8");
    ok(strstr(b.data, "\r\n\r\n") != NULL
       && strchr(b.data, '\n') && !strstr(b.data, "é"),
       "mail: 7-bit only (quoted-printable and encoded words)");

    notifier_buf_free(&b);
}


int
main(void)
{
    test_e164();
    test_utf8();
    test_escaping();
    test_mime();
    test_backoff();
    test_subject();
    test_sms();
    test_mail();

    return tap_done();
}
