
/*
 * Unit test of core/ngx_http_chantier_json.c, printing TAP for prove.
 *
 * Only nginx's headers are needed (a configured tree for ngx_auto_config.h):
 * the few nginx functions json.c calls are given test-only definitions
 * below, so the test builds without nginx's sources.  The pool is a plain
 * malloc() list that can be told to fail after N allocations.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ngx_http_chantier_json.h"


/* test-only stand-ins for nginx */

#include "ngx_stub_pool.h"


/* only the conversions json.c uses: %s, %*s, %uz */

u_char * ngx_cdecl
ngx_sprintf(u_char *buf, const char *fmt, ...)
{
    size_t    len;
    u_char   *s;
    va_list   args;

    va_start(args, fmt);

    while (*fmt) {
        if (*fmt != '%') {
            *buf++ = *fmt++;
            continue;
        }

        fmt++;

        if (fmt[0] == 's') {
            s = va_arg(args, u_char *);
            len = strlen((char *) s);
            buf = ngx_cpymem(buf, s, len);
            fmt++;

        } else if (fmt[0] == '*' && fmt[1] == 's') {
            len = va_arg(args, size_t);
            s = va_arg(args, u_char *);
            buf = ngx_cpymem(buf, s, len);
            fmt += 2;

        } else if (fmt[0] == 'u' && fmt[1] == 'z') {
            buf += sprintf((char *) buf, "%zu", va_arg(args, size_t));
            fmt += 2;

        } else {
            fprintf(stderr, "# unexpected format %s\n", fmt);
            abort();
        }
    }

    va_end(args);

    return buf;
}


#include "tap.h"


static ngx_pool_t  fake_pool;
static ngx_str_t   err;
static ngx_int_t   parse_rc;           /* of the last parse */


static ngx_http_chantier_json_t *
parse_len(const char *text, size_t len)
{
    ngx_str_t                  in;
    ngx_http_chantier_json_t  *j;

    in.data = (u_char *) text;
    in.len = len;

    parse_rc = ngx_http_chantier_json_parse(&fake_pool, &in, &j, &err);

    return j;
}


static ngx_http_chantier_json_t *
parse(const char *text)
{
    return parse_len(text, strlen(text));
}


static int
str_is(ngx_str_t *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->data, want, s->len) == 0;
}


static int
err_is(const char *want)
{
    if (str_is(&err, want)) {
        return 1;
    }

    printf("# error was \"%.*s\", expected \"%s\"\n",
           (int) err.len, err.data, want);

    return 0;
}


static int
err_has(const char *want)
{
    size_t  n;

    n = strlen(want);

    if (err.len >= n && memmem(err.data, err.len, want, n) != NULL) {
        return 1;
    }

    printf("# error was \"%.*s\", expected to contain \"%s\"\n",
           (int) err.len, err.data, want);

    return 0;
}


/* refused, with a message that has the wanted words */

static void
refused(const char *text, size_t len, const char *want, const char *name)
{
    ngx_http_chantier_json_t  *j;

    j = parse_len(text, len);
    ok(j == NULL && err_has(want), name);
}


static void
test_valid(void)
{
    ngx_http_chantier_json_t  *j, *a, *b, *c;

    j = parse("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\"},\"e\":[]}");
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_OBJECT && j->count == 4,
       "object with 4 members");

    a = ngx_http_chantier_json_get(j, "a");
    ok(a && a->type == NGX_HTTP_CHANTIER_JSON_NUMBER && str_is(&a->value, "1")
       && str_is(&a->key, "a"), "member a is the number 1");

    b = ngx_http_chantier_json_get(j, "b");
    ok(b && b->type == NGX_HTTP_CHANTIER_JSON_ARRAY && b->count == 3
       && b->child->type == NGX_HTTP_CHANTIER_JSON_TRUE
       && b->child->next->type == NGX_HTTP_CHANTIER_JSON_FALSE
       && b->child->next->next->type == NGX_HTTP_CHANTIER_JSON_NULL
       && b->child->next->next->next == NULL
       && b->child->key.len == 0, "array of true, false, null in order");

    c = ngx_http_chantier_json_get(ngx_http_chantier_json_get(j, "c"), "d");
    ok(c && c->type == NGX_HTTP_CHANTIER_JSON_STRING
       && str_is(&c->value, "x"), "nested object member");

    c = ngx_http_chantier_json_get(j, "e");
    ok(c && c->type == NGX_HTTP_CHANTIER_JSON_ARRAY && c->count == 0
       && c->child == NULL, "empty array");

    ok(ngx_http_chantier_json_get(j, "z") == NULL, "get of a missing key");
    ok(ngx_http_chantier_json_get(b, "a") == NULL, "get on an array");
    ok(ngx_http_chantier_json_get(NULL, "a") == NULL, "get on NULL");

    j = parse("{}");
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_OBJECT && j->count == 0,
       "empty object");

    j = parse(" \t\r\n[1] \n");
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_ARRAY && j->count == 1,
       "whitespace around the value");

    j = parse("\"top\"");
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_STRING
       && str_is(&j->value, "top"), "top-level string");

    j = parse("42");
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_NUMBER
       && str_is(&j->value, "42"), "top-level number");

    j = parse("{\"k\":\"\"}");
    a = ngx_http_chantier_json_get(j, "k");
    ok(a && a->type == NGX_HTTP_CHANTIER_JSON_STRING && a->value.len == 0,
       "empty string");

    j = parse("{\"\":1}");
    ok(j && j->count == 1 && j->child->key.len == 0, "empty key");

    j = parse("{\"a\":{\"x\":1},\"b\":{\"x\":2}}");
    ok(j != NULL, "same key in two different objects");
}


static void
test_numbers(void)
{
    ngx_http_chantier_json_t  *j, *n;

    j = parse("[-0.5e+10, 12345678901234567890123456789, 0, -0, 1E400, 3.25]");
    ok(j && j->count == 6, "array of numbers");

    if (j == NULL || j->count != 6) {
        return;
    }

    n = j->child;
    ok(str_is(&n->value, "-0.5e+10"), "number kept as written: -0.5e+10");
    n = n->next;
    ok(str_is(&n->value, "12345678901234567890123456789"),
       "huge integer kept as text");
    n = n->next->next;
    ok(str_is(&n->value, "-0"), "-0 kept");
    n = n->next;
    ok(str_is(&n->value, "1E400"), "out-of-range double kept as text");
    n = n->next;
    ok(n->type == NGX_HTTP_CHANTIER_JSON_NUMBER && str_is(&n->value, "3.25"),
       "3.25");

    ok(parse("[01]") == NULL, "leading zero refused");
    ok(parse("[.5]") == NULL, "number without integer part refused");
    ok(parse("[NaN]") == NULL, "NaN refused");
}


static void
test_escapes(void)
{
    ngx_http_chantier_json_t  *j;

    j = parse("\"caf\\u00e9\"");
    ok(j && str_is(&j->value, "caf\xc3\xa9"), "\\u00e9 decoded to UTF-8");

    j = parse("\"\\ud83d\\ude00\"");
    ok(j && str_is(&j->value, "\xf0\x9f\x98\x80"),
       "surrogate pair decoded to one 4-byte character");

    j = parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
    ok(j && str_is(&j->value, "\"\\/\b\f\n\r\t"), "short escapes");

    j = parse("\"\\u20AC \\u2028\"");
    ok(j && str_is(&j->value, "\xe2\x82\xac \xe2\x80\xa8"),
       "\\u20AC (upper-case hex) and \\u2028");

    j = parse("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    ok(j && str_is(&j->value, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
       "raw UTF-8 of 2, 3 and 4 bytes");

    j = parse("\"\\\\ud800\"");
    ok(j && str_is(&j->value, "\\ud800"),
       "escaped backslash before ud800 is plain text");

    j = parse("{\"caf\\u00e9\":1}");
    ok(j && str_is(&j->child->key, "caf\xc3\xa9"), "escape in a key");
}


static void
test_utf8(void)
{
    refused("\"\xff\"", 3, "UTF-8", "byte 0xff refused");
    refused("\"\xc0\xaf\"", 4, "UTF-8", "overlong 0xc0 0xaf refused");
    refused("\"\xe0\x80\xaf\"", 5, "UTF-8", "overlong 3-byte refused");
    refused("\"\xed\xa0\x80\"", 5, "UTF-8", "encoded surrogate refused");
    refused("\"\xf4\x90\x80\x80\"", 6, "UTF-8", "above U+10FFFF refused");
    refused("\"\xe2\x82\"", 4, "UTF-8", "truncated sequence refused");
    refused("\"\x80\"", 3, "UTF-8", "lone continuation byte refused");
    refused("{\"\xc0\xaf\":1}", 8, "UTF-8", "invalid UTF-8 in a key refused");

    /*
     * yajl turns a lone high surrogate into "?", and pairs a high one with
     * any following \u: we refuse every unpaired surrogate escape.
     */
    refused("\"\\ud800\"", 8, "\\ud800 invalide", "lone high surrogate");
    refused("\"a\\udc00\"", 9, "\\udc00 invalide (octet 3)",
            "lone low surrogate, with its byte");
    refused("[\"\\ud800\", \"\\udc00\"]", 20, "\\ud800 invalide (octet 3)",
            "halves of a pair in two strings");
    refused("\"\\ud800\\u0041\"", 14, "\\ud800", "high then not low");
    refused("\"\\ud800x\"", 9, "\\ud800", "high then text");
    refused("\"\\udc00\\ud800\"", 14, "\\udc00", "low then high");
    refused("{\"\\ud800\":1}", 12, "\\ud800", "lone surrogate in a key");
}


static void
test_syntax(void)
{
    refused("", 0, "vide", "empty body refused");
    refused("  \n", 3, "incomplet", "whitespace only refused");
    refused("{\"a\":", 5, "incomplet", "truncated object refused");
    refused("[1,2", 4, "incomplet", "truncated array refused");
    refused("\"abc", 4, "incomplet", "unterminated string refused");

    refused("{\"a\":1 /* x */}", 15, "commentaires", "block comment refused");
    refused("// x\n[1]", 8, "commentaires", "line comment refused");

    refused("{} x", 4, "en trop", "trailing garbage refused");
    refused("{}{}", 4, "en trop", "two objects refused");
    refused("1 2", 3, "en trop", "two numbers refused");

    refused("[1,]", 4, "JSON valide (octet", "trailing comma refused");
    refused("{'a':1}", 7, "JSON valide (octet", "single quotes refused");
    refused("{\"a\" 1}", 7, "JSON valide", "missing colon refused");
    refused("[tru]", 5, "JSON valide", "bad literal refused");
    refused("\"a\tb\"", 5, "JSON valide", "raw tab in a string refused");
    refused("\"a\nb\"", 5, "JSON valide", "raw newline in a string refused");
    refused("[\"\\x\"]", 6, "JSON valide", "unknown escape refused");
    refused("\"\\u12\"", 6, "JSON valide", "short \\u escape refused");
    refused("[1]\0", 4, "en trop", "raw NUL after the value refused");

    ok(parse("{\"password\":\"hunter2\", x}") == NULL
       && memmem(err.data, err.len, "hunter2", 7) == NULL
       && memmem(err.data, err.len, "password", 8) == NULL,
       "message does not quote the input");

    ok(parse("{\"a\":1,}") == NULL && err_is(
       "Le corps de la requête n'est pas un JSON valide (octet 8)."),
       "message with a byte position");

}


static void
test_depth(void)
{
    int                        i, n;
    char                       buf[200];
    ngx_http_chantier_json_t  *j;

    for (n = 31; n <= 34; n++) {
        for (i = 0; i < n; i++) {
            buf[i] = '[';
            buf[2 * n - 1 - i] = ']';
        }

        j = parse_len(buf, 2 * n);

        if (n <= NGX_HTTP_CHANTIER_JSON_MAX_DEPTH) {
            ok(j != NULL, n == 31 ? "depth 31 accepted" : "depth 32 accepted");

        } else {
            ok(j == NULL && err_is("Imbrication trop profonde."),
               n == 33 ? "depth 33 refused" : "depth 34 refused");
        }
    }

    /* objects and arrays count alike: 16 {"a":[ pairs is 32, one more 33 */

    for (n = 16; n <= 17; n++) {
        char  *p = buf;

        for (i = 0; i < n; i++) {
            p = (char *) ngx_cpymem(p, "{\"a\":[", 6);
        }

        if (n == 17) {
            *p++ = '1';
        }

        for (i = 0; i < n; i++) {
            p = (char *) ngx_cpymem(p, "]}", 2);
        }

        j = parse_len(buf, p - buf);
        ok(n == 16 ? j != NULL : j == NULL,
           n == 16 ? "mixed depth 32 accepted" : "mixed depth 34 refused");
    }
}


static void
test_duplicates(void)
{
    int                        i;
    char                      *buf, *p;
    ngx_http_chantier_json_t  *j;

    ok(parse("{\"email\":\"a\",\"email\":\"b\"}") == NULL
       && err_is("Clé en double : « email »."), "duplicate key refused");

    ok(parse("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}") == NULL
       && err_is("Clé en double : « a »."), "duplicate in a nested object");

    ok(parse("{\"caf\\u00e9\":1,\"caf\xc3\xa9\":2}") == NULL
       && err_is("Clé en double : « caf\xc3\xa9 »."),
       "duplicate once escapes are decoded");

    ok(parse("{\"a\":1,\"A\":2,\"a \":3}") != NULL,
       "keys differing by case or space are distinct");

    buf = malloc(2000000);

    /* large object: the sorted path */

    p = buf;
    *p++ = '{';
    for (i = 0; i < 100000; i++) {
        p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    *p++ = '}';

    j = parse_len(buf, p - buf);
    ok(j && j->count == 100000, "100000 distinct keys accepted");
    ok(j && str_is(&ngx_http_chantier_json_get(j, "k99999")->value, "99999"),
       "last of 100000 keys found");

    p--;
    p += sprintf(p, ",\"k4242\":0}");

    ok(parse_len(buf, p - buf) == NULL && err_is("Clé en double : « k4242 »."),
       "duplicate among 100001 keys refused");

    /* a long duplicate key is cut in the message, at a character boundary */

    p = buf;
    p += sprintf(p, "{\"");
    for (i = 0; i < 40; i++) {
        p += sprintf(p, "\xc3\xa9");
    }
    p += sprintf(p, "\":1,\"");
    for (i = 0; i < 40; i++) {
        p += sprintf(p, "\xc3\xa9");
    }
    p += sprintf(p, "\":2}");

    ok(parse_len(buf, p - buf) == NULL
       && err_has("« \xc3\xa9\xc3\xa9") && err_has("\xc3\xa9… »")
       && err.len < 120, "long duplicate key shortened");

    free(buf);
}


static void
test_nul(void)
{
    refused("\"a\\u0000b\"", 10, "U+0000", "\\u0000 in a string refused");
    refused("{\"a\\u0000\":1}", 13, "U+0000", "\\u0000 in a key refused");
    refused("\"a\0b\"", 5, "JSON valide", "raw NUL in a string refused");
}


static void
test_big(void)
{
    size_t                     n;
    char                      *buf;
    ngx_http_chantier_json_t  *j;

    n = 1024 * 1024;
    buf = malloc(n + 16);
    memcpy(buf, "{\"s\":\"", 6);
    memset(buf + 6, 'a', n);
    memcpy(buf + 6 + n, "\"}", 2);

    j = parse_len(buf, n + 8);
    ok(j && ngx_http_chantier_json_get(j, "s")->value.len == n,
       "1 MiB string accepted");

    /* 1 MiB of small array elements */

    buf[0] = '[';

    for (n = 0; n < 512 * 1024 - 1; n++) {
        buf[2 * n + 1] = '0';
        buf[2 * n + 2] = ',';
    }

    buf[2 * n] = ']';

    /* 1 MiB of them would be 34 MB of nodes: over the bound, refused */
    j = parse_len(buf, 2 * n + 1);
    ok(j == NULL && parse_rc == NGX_ABORT && err_has("trop de valeurs"),
       "array of 524287 elements (1 MiB): NGX_ABORT, too many values");

    /* up to the bound: the array and its elements */
    n = NGX_HTTP_CHANTIER_JSON_MAX_VALUES - 1;
    buf[2 * n] = ']';

    j = parse_len(buf, 2 * n + 1);
    ok(j && parse_rc == NGX_OK && j->type == NGX_HTTP_CHANTIER_JSON_ARRAY
       && j->count == n,
       "array of NGX_HTTP_CHANTIER_JSON_MAX_VALUES - 1 elements accepted");

    buf[2 * n] = ',';
    buf[2 * n + 1] = '0';
    buf[2 * n + 2] = ']';

    j = parse_len(buf, 2 * n + 3);
    ok(j == NULL && parse_rc == NGX_ABORT,
       "one value more: NGX_ABORT");

    free(buf);
}


static void
test_cstring(void)
{
    char                      *s;
    ngx_http_chantier_json_t  *j;

    j = parse("{\"s\":\"caf\\u00e9\",\"n\":12}");

    s = ngx_http_chantier_json_cstring(&fake_pool,
                                       ngx_http_chantier_json_get(j, "s"));
    ok(s && strcmp(s, "caf\xc3\xa9") == 0, "cstring of a string");

    ok(ngx_http_chantier_json_cstring(&fake_pool,
                                      ngx_http_chantier_json_get(j, "n"))
       == NULL, "cstring of a number is NULL");

    ok(ngx_http_chantier_json_cstring(&fake_pool, NULL) == NULL,
       "cstring of NULL is NULL");
}


static int
escape_is(const char *in, size_t len, const char *want)
{
    int        rc;
    u_char    *buf, *end;
    size_t     n;
    ngx_str_t  s;

    s.data = (u_char *) in;
    s.len = len;

    n = ngx_http_chantier_json_escaped_len(&s);
    buf = malloc(n + 1);
    end = ngx_http_chantier_json_escape(buf, &s);

    rc = ((size_t) (end - buf) == n && n == strlen(want)
          && memcmp(buf, want, n) == 0);

    if (!rc) {
        printf("# escaped to %.*s (%zu, len said %zu), expected %s\n",
               (int) (end - buf), buf, (size_t) (end - buf), n, want);
    }

    free(buf);

    return rc;
}


static void
test_escape(void)
{
    int                        i, all;
    char                       in[300];
    u_char                    *buf, *end;
    size_t                     n;
    ngx_str_t                  s;
    ngx_http_chantier_json_t  *j;

    ok(escape_is("", 0, "\"\""), "escape of an empty string");
    ok(escape_is("abc", 3, "\"abc\""), "plain text");
    ok(escape_is("a\"b\\c/", 6, "\"a\\\"b\\\\c/\""), "quote and backslash");
    ok(escape_is("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\""), "short escapes");
    ok(escape_is("\x01\x1f\0", 3, "\"\\u0001\\u001f\\u0000\""),
       "other control characters as \\u00XX");
    ok(escape_is("caf\xc3\xa9 \xf0\x9f\x98\x80", 10,
                 "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), "UTF-8 left as is");
    ok(escape_is("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, "\"a\\u2028b\\u2029\""),
       "U+2028 and U+2029 escaped");
    ok(escape_is("\xe2\x80", 2, "\"\xe2\x80\""), "truncated E2 80 copied");
    ok(escape_is("\x7f", 1, "\"\x7f\""), "DEL left as is");

    /* round trip: every ASCII character and a few multi-byte ones */

    n = 0;
    for (i = 1; i < 128; i++) {
        in[n++] = (char) i;
    }
    memcpy(in + n, "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80", 12);
    n += 12;

    s.data = (u_char *) in;
    s.len = n;

    buf = malloc(ngx_http_chantier_json_escaped_len(&s));
    end = ngx_http_chantier_json_escape(buf, &s);

    j = parse_len((char *) buf, end - buf);
    if (j == NULL) {
        printf("# %.*s\n", (int) err.len, err.data);
    }
    ok(j && j->type == NGX_HTTP_CHANTIER_JSON_STRING && j->value.len == n
       && memcmp(j->value.data, in, n) == 0, "escape then parse round trip");

    all = 1;
    for (i = 0; i < end - buf; i++) {
        if (buf[i] < 0x20) {
            all = 0;
        }
    }
    ok(all, "no raw control character in the escaped text");

    free(buf);
}


static void
test_nomem(void)
{
    int                        k, good, bad;
    const char                *text;
    ngx_http_chantier_json_t  *j;

    text = "{\"a\":[1,\"x\",{\"b\":null}],\"c\":\"\\ud800\",\"a\":2}";
    good = 1;

    /* a document refused late: every failure point leaves no message */

    for (k = 0; k < 40; k++) {
        fail_after = k;
        j = parse(text);
        fail_after = -1;

        if (j != NULL || (err.len == 0) != (err.data == NULL)) {
            good = 0;
        }
    }

    ok(good, "allocation failures: NULL, message set or empty, no crash");

    bad = 0;
    for (k = 0; k < 40; k++) {
        fail_after = k;
        j = parse("{\"a\":[1,\"x\",{\"b\":null}]}");
        fail_after = -1;

        if (j == NULL && err.len != 0) {
            bad = 1;
        }
    }

    ok(!bad, "a valid body failing for memory never blames the client");
}


/* the text of a parsed value, as SQL gets it once a member is taken out */
static void
test_print(void)
{
    ngx_str_t                  out;
    ngx_http_chantier_json_t  *j;

    j = parse("{\"a\": 1.50e3, \"b\" : [true, false, null, \"x\\\"y\\n\"],"
              " \"c\": {}, \"d\": []}");
    ok(j != NULL && ngx_http_chantier_json_print(&fake_pool, j, &out) == NGX_OK
       && str_is(&out, "{\"a\":1.50e3,\"b\":[true,false,null,\"x\\\"y\\n\"],"
                       "\"c\":{},\"d\":[]}")
       && out.data[out.len] == '\0',
       "print: every type, numbers as written, strings escaped again");

    j = parse("{\"login\":\"l\",\"password\":\"secret\",\"x\":\"\u00e9\"}");
    ok(j != NULL && ngx_http_chantier_json_remove(j, "password") == NGX_OK
       && j->count == 2
       && ngx_http_chantier_json_get(j, "password") == NULL
       && ngx_http_chantier_json_print(&fake_pool, j, &out) == NGX_OK
       && str_is(&out, "{\"login\":\"l\",\"x\":\"\xc3\xa9\"}"),
       "remove: the member is gone from the text, the others kept");

    ok(ngx_http_chantier_json_remove(j, "password") == NGX_DECLINED,
       "remove: an absent member is NGX_DECLINED");

    j = parse("{\"password\":\"a\"}");
    ok(j != NULL && ngx_http_chantier_json_remove(j, "password") == NGX_OK
       && ngx_http_chantier_json_print(&fake_pool, j, &out) == NGX_OK
       && str_is(&out, "{}"),
       "remove: the only member, then {}");

    j = parse("{\"a\":1,\"password\":\"a\"}");
    ok(j != NULL && ngx_http_chantier_json_remove(j, "password") == NGX_OK
       && ngx_http_chantier_json_print(&fake_pool, j, &out) == NGX_OK
       && str_is(&out, "{\"a\":1}"),
       "remove: the last member, no trailing comma");
}


int
main(void)
{
    test_valid();
    test_numbers();
    test_escapes();
    test_utf8();
    test_syntax();
    test_depth();
    test_duplicates();
    test_nul();
    test_big();
    test_cstring();
    test_escape();
    test_print();
    test_nomem();

    test_pool_reset();

    return tap_done();
}
