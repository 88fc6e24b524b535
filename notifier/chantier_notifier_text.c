/*
 * Buffers and the encodings of the messages: UTF-8 lengths, JSON and HTML
 * escaping, RFC 2047 headers, quoted-printable bodies, E.164 phone
 * numbers, the backoff schedule.  libc only (the unit tests link this file
 * alone).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "chantier_notifier.h"


/* an RFC 2047 encoded word holds at most 75 characters, and its line 76:
 * 36 bytes of text make 48 of base64, a word of 60, which leaves room for
 * "Subject: " before the first */
#define NOTIFIER_WORD_BYTES  36

/* quoted-printable lines: at most 76 characters, the soft break "=" too */
#define NOTIFIER_QP_LINE     75


static int notifier_buf_grow(notifier_buf_t *b, size_t more);
static size_t notifier_utf8_char(const char *s);
static void notifier_base64(notifier_buf_t *b, const unsigned char *s,
    size_t n);
static void notifier_mime_words(notifier_buf_t *b, const char *s,
    const char *between);
static int notifier_e164_digits(const char *phone, char *digits, size_t size,
    int *plus);


/* ---- buffers ---- */

/*
 * A buffer whose allocation failed once stays failed and stops growing: the
 * caller checks "failed" once, when the whole text is written, rather than
 * after every append.
 */
static int
notifier_buf_grow(notifier_buf_t *b, size_t more)
{
    size_t   size;
    char    *data;

    if (b->failed) {
        return NOTIFIER_ERROR;
    }

    if (b->len + more + 1 <= b->size) {
        return NOTIFIER_OK;
    }

    size = b->size ? b->size : 256;
    while (size < b->len + more + 1) {
        size *= 2;
    }

    data = realloc(b->data, size);
    if (data == NULL) {
        b->failed = 1;
        return NOTIFIER_ERROR;
    }

    b->data = data;
    b->size = size;

    return NOTIFIER_OK;
}


void
notifier_buf_free(notifier_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->failed = 0;
}


void
notifier_buf_reset(notifier_buf_t *b)
{
    b->len = 0;
    b->failed = 0;

    if (b->data) {
        b->data[0] = '\0';
    }
}


void
notifier_buf_add(notifier_buf_t *b, const char *s, size_t n)
{
    if (notifier_buf_grow(b, n) != NOTIFIER_OK) {
        return;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}


void
notifier_buf_str(notifier_buf_t *b, const char *s)
{
    notifier_buf_add(b, s, strlen(s));
}


void
notifier_buf_printf(notifier_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0 || notifier_buf_grow(b, n) != NOTIFIER_OK) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(b->data + b->len, n + 1, fmt, args);
    va_end(args);

    b->len += n;
}


/* ---- UTF-8 ---- */

/* the bytes of the character at s (1 for a stray byte: never stuck) */
static size_t
notifier_utf8_char(const char *s)
{
    unsigned char  c = (unsigned char) s[0];
    size_t         n, i;

    if (c < 0x80) {
        return 1;
    }

    n = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 1;

    for (i = 1; i < n; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            return 1;
        }
    }

    return n;
}


/* characters (code points), as an SMS gateway counts them */
size_t
notifier_utf8_length(const char *s)
{
    size_t  n = 0;

    while (*s) {
        s += notifier_utf8_char(s);
        n++;
    }

    return n;
}


/* the bytes of the first "chars" characters of s */
size_t
notifier_utf8_prefix(const char *s, size_t chars)
{
    const char  *p = s;

    while (*p && chars--) {
        p += notifier_utf8_char(p);
    }

    return p - s;
}


int
notifier_utf8_valid(const char *s)
{
    size_t  n;

    while (*s) {
        n = notifier_utf8_char(s);
        if (n == 1 && (unsigned char) *s >= 0x80) {
            return 0;
        }
        s += n;
    }

    return 1;
}


/*
 * Each byte that is no part of a UTF-8 character becomes "?", in place: a
 * server's reply in another encoding can then go into a text column.
 */
void
notifier_utf8_clean(char *s)
{
    size_t  n;

    while (*s) {
        n = notifier_utf8_char(s);
        if (n == 1 && (unsigned char) *s >= 0x80) {
            *s = '?';
        }
        s += n;
    }
}


/* ---- escaping ---- */

/* a JSON string's content: quotes, backslashes, control characters */
void
notifier_json_escape(notifier_buf_t *b, const char *s)
{
    unsigned char  c;

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        switch (c) {
        case '"':
            notifier_buf_str(b, "\\\"");
            break;
        case '\\':
            notifier_buf_str(b, "\\\\");
            break;
        case '\n':
            notifier_buf_str(b, "\\n");
            break;
        case '\r':
            notifier_buf_str(b, "\\r");
            break;
        case '\t':
            notifier_buf_str(b, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                notifier_buf_printf(b, "\\u%04x", c);
            } else {
                notifier_buf_add(b, s, 1);
            }
        }
    }
}


/* text for HTML content or a quoted attribute; a line break becomes <br> */
void
notifier_html_escape(notifier_buf_t *b, const char *s)
{
    for ( /* void */ ; *s; s++) {
        switch (*s) {
        case '&':
            notifier_buf_str(b, "&amp;");
            break;
        case '<':
            notifier_buf_str(b, "&lt;");
            break;
        case '>':
            notifier_buf_str(b, "&gt;");
            break;
        case '"':
            notifier_buf_str(b, "&quot;");
            break;
        case '\'':
            notifier_buf_str(b, "&#39;");
            break;
        case '\n':
            notifier_buf_str(b, "<br>");
            break;
        default:
            notifier_buf_add(b, s, 1);
        }
    }
}


/* ---- MIME ---- */

static void
notifier_base64(notifier_buf_t *b, const unsigned char *s, size_t n)
{
    static const char  digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char               out[4];
    unsigned long      v;
    size_t             i;

    for (i = 0; i < n; i += 3) {
        v = (unsigned long) s[i] << 16;
        if (i + 1 < n) {
            v |= (unsigned long) s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= s[i + 2];
        }

        out[0] = digits[(v >> 18) & 63];
        out[1] = digits[(v >> 12) & 63];
        out[2] = (i + 1 < n) ? digits[(v >> 6) & 63] : '=';
        out[3] = (i + 2 < n) ? digits[v & 63] : '=';

        notifier_buf_add(b, out, 4);
    }
}


/* true when every byte of s is printable ASCII or in "allowed" */
int
notifier_ascii_safe(const char *s, const char *allowed)
{
    for ( /* void */ ; *s; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f
            || (allowed && strchr(allowed, *s) == NULL && !isalnum(*s)))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * "Name: value" and CRLF.  A value of plain printable ASCII goes as it is;
 * any other is written as RFC 2047 encoded words ("=?UTF-8?B?...?="), each
 * of whole characters (a word may not split one) and on a line of its own,
 * folded with CRLF and a space.
 */
void
notifier_mime_header(notifier_buf_t *b, const char *name, const char *value)
{
    notifier_buf_printf(b, "%s: ", name);

    if (notifier_ascii_safe(value, NULL) && strstr(value, "=?") == NULL) {
        notifier_buf_str(b, value);
    } else {
        notifier_mime_words(b, value, "\r\n ");
    }

    notifier_buf_str(b, "\r\n");
}


/* s as encoded words of whole characters, "between" between them */
static void
notifier_mime_words(notifier_buf_t *b, const char *s, const char *between)
{
    size_t       n, len;
    const char  *p;

    for (p = s; *p; p += len) {
        len = 0;
        while (p[len]) {
            n = notifier_utf8_char(p + len);
            if (len + n > NOTIFIER_WORD_BYTES) {
                break;
            }
            len += n;
        }

        if (p != s) {
            notifier_buf_str(b, between);
        }

        notifier_buf_str(b, "=?UTF-8?B?");
        notifier_base64(b, (const unsigned char *) p, len);
        notifier_buf_str(b, "?=");
    }
}


/*
 * A mailbox of an address header: "display" <address>.  A display name of
 * ASCII letters, digits and spaces is quoted; any other is an encoded word
 * (its characters then need no quoting).
 */
void
notifier_mime_address(notifier_buf_t *b, const char *display,
    const char *address)
{
    if (display == NULL || display[0] == '\0') {
        notifier_buf_printf(b, "<%s>", address);
        return;
    }

    if (notifier_ascii_safe(display, " .-'")) {
        notifier_buf_printf(b, "\"%s\" <%s>", display, address);
        return;
    }

    notifier_mime_words(b, display, "\r\n ");
    notifier_buf_printf(b, " <%s>", address);
}


/*
 * A body as quoted-printable (RFC 2045), lines ending with CRLF: readable
 * where it is ASCII, safe through any server (no 8-bit, no long line).
 * "\n" in s ends a line; "=", bytes outside printable ASCII and a space or
 * tab ending a line are encoded; longer lines get soft breaks.
 */
void
notifier_quoted_printable(notifier_buf_t *b, const char *s)
{
    size_t          col = 0, w;
    char            enc[4];
    unsigned char   c;
    int             plain;

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        if (c == '\n') {
            notifier_buf_str(b, "\r\n");
            col = 0;
            continue;
        }

        if (c == '\r') {
            continue;
        }

        plain = (c >= 0x20 && c < 0x7f && c != '=')
                && !((c == ' ' || c == '\t')
                     && (s[1] == '\n' || s[1] == '\0'));

        if (plain) {
            enc[0] = (char) c;
            w = 1;
        } else {
            snprintf(enc, sizeof(enc), "=%02X", c);
            w = 3;
        }

        if (col + w > NOTIFIER_QP_LINE) {
            notifier_buf_str(b, "=\r\n");
            col = 0;
        }

        notifier_buf_add(b, enc, w);
        col += w;
    }

    if (col) {
        notifier_buf_str(b, "\r\n");
    }
}


/* ---- phone numbers ---- */

/*
 * The digits of a phone number without its separators (spaces, dots,
 * dashes, slashes, parentheses), and whether it began with "+".  Anything
 * else in it (letters, a "+" elsewhere) makes it unusable.
 */
static int
notifier_e164_digits(const char *phone, char *digits, size_t size,
    int *plus)
{
    size_t  n = 0;

    while (*phone == ' ') {
        phone++;
    }

    *plus = (*phone == '+');
    if (*plus) {
        phone++;
    }

    for ( /* void */ ; *phone; phone++) {
        if (*phone >= '0' && *phone <= '9') {
            if (n + 1 >= size) {
                return NOTIFIER_ERROR;
            }
            digits[n++] = *phone;

        } else if (strchr(" .-/()", *phone) == NULL) {
            return NOTIFIER_ERROR;
        }
    }

    digits[n] = '\0';

    return NOTIFIER_OK;
}


/*
 * A phone number as E.164 ("+33612345678") in out, or NOTIFIER_ERROR when
 * it cannot be one.
 *   06 12 34 56 78, 06.12.34.56.78, 0612345678   French: +33612345678
 *   +33 6 12 34 56 78, +33 (0)6 12..., 0033 6... +336...
 *   +44 20 7946 0958, 0044 20...                 kept: +442079460958
 * An international number has 8 to 15 digits; a French one 9 after +33.
 */
int
notifier_e164(const char *phone, char *out, size_t size)
{
    char     digits[32];
    char    *national;
    int      plus;
    size_t   n;

    if (phone == NULL
        || notifier_e164_digits(phone, digits, sizeof(digits), &plus)
           != NOTIFIER_OK)
    {
        return NOTIFIER_ERROR;
    }

    n = strlen(digits);

    if (!plus && n > 2 && digits[0] == '0' && digits[1] == '0') {
        /* 00: the international prefix */
        memmove(digits, digits + 2, n - 1);
        n -= 2;
        plus = 1;

    } else if (!plus) {
        /* national French: 0 and nine digits, not 00 */
        if (n != 10 || digits[0] != '0' || digits[1] == '0') {
            return NOTIFIER_ERROR;
        }

        return (snprintf(out, size, "+33%s", digits + 1) < (int) size)
               ? NOTIFIER_OK : NOTIFIER_ERROR;
    }

    if (n > 2 && digits[0] == '3' && digits[1] == '3') {
        /* +33 (0)6 ...: the national 0 does not belong after +33 */
        national = digits + 2;
        if (national[0] == '0') {
            memmove(national, national + 1, strlen(national));
            n--;
        }

        if (n != 11 || national[0] == '0') {
            return NOTIFIER_ERROR;
        }
    }

    if (n < 8 || n > 15 || digits[0] == '0') {
        return NOTIFIER_ERROR;
    }

    return (snprintf(out, size, "+%s", digits) < (int) size)
           ? NOTIFIER_OK : NOTIFIER_ERROR;
}


/* ---- retries ---- */

/*
 * The wait before try "attempt" + 1 after "attempt" failures (1, 2, ...):
 * initial, then doubled each time, never more than max.
 */
double
notifier_backoff(int attempt, double initial, double max)
{
    double  delay = initial;

    while (--attempt > 0 && delay < max) {
        delay *= 2;
    }

    return delay < max ? delay : max;
}
