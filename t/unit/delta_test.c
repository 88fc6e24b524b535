
/*
 * Unit test of render/ngx_http_chantier_delta.c, printing TAP for prove.
 *
 * Deltas are written as JSON and parsed by the real parser: the unit rule of
 * the Makefile links a test with the one module file it names, so the
 * parser's source is included here.  As in json_test.c, the few nginx
 * functions both files call are given test-only definitions below.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ngx_http_chantier_json.c"
#include "render/ngx_http_chantier_delta.h"


/* test-only stand-ins for nginx */

#include "ngx_stub_pool.h"


ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    return strncasecmp((char *) s1, (char *) s2, n);
}


/* only the conversions json.c and delta.c use: %s, %*s, %uz, %ui */

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

        } else if (fmt[0] == 'u' && fmt[1] == 'i') {
            buf += sprintf((char *) buf, "%lu",
                           (unsigned long) va_arg(args, ngx_uint_t));
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


/* photo_ok callbacks */

static ngx_int_t
photo_12(void *data, int64_t id)
{
    return id == 12 ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
photo_fails(void *data, int64_t id)
{
    return NGX_ERROR;
}


static ngx_http_chantier_json_t *
parse_len(const char *text, size_t len)
{
    ngx_str_t                  in, perr;
    ngx_http_chantier_json_t  *j;

    in.data = (u_char *) text;
    in.len = len;

    if (ngx_http_chantier_json_parse(&fake_pool, &in, &j, &perr) != NGX_OK) {
        printf("# JSON refused: %.*s\n", (int) perr.len, perr.data);
    }

    return j;
}


static ngx_http_chantier_json_t *
parse(const char *text)
{
    return parse_len(text, strlen(text));
}


static ngx_int_t
check_len(const char *text, size_t len, ngx_http_chantier_delta_photo_pt photo)
{
    ngx_http_chantier_json_t  *j;

    ngx_str_null(&err);

    j = parse_len(text, len);
    if (j == NULL) {
        return -100;
    }

    return ngx_http_chantier_delta_validate(&fake_pool, j, photo, NULL, &err);
}


static ngx_int_t
check(const char *text)
{
    return check_len(text, strlen(text), NULL);
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


static int
err_is(const char *want)
{
    if (err.len == strlen(want) && memcmp(err.data, want, err.len) == 0) {
        return 1;
    }

    printf("# error was \"%.*s\", expected \"%s\"\n",
           (int) err.len, err.data, want);

    return 0;
}


static void
valid(const char *text, const char *name)
{
    ngx_int_t  rc;

    rc = check(text);

    if (rc != NGX_OK) {
        printf("# rc %d: %.*s\n", (int) rc, (int) err.len, err.data);
    }

    ok(rc == NGX_OK && err.len == 0, name);
}


/* refused, with a message that has the wanted words */

static void
refused(const char *text, const char *want, const char *name)
{
    ngx_int_t  rc;

    rc = check(text);
    ok(rc == NGX_DECLINED && err_has(want), name);
}


static void
test_valid(void)
{
    valid("{\"ops\":[{\"insert\":\"Bonjour\\n\"}]}", "plain text");

    valid("{\"ops\":[{\"insert\":\"Le \"},"
          "{\"insert\":\"gras\",\"attributes\":{\"bold\":true}},"
          "{\"insert\":\" et \"},"
          "{\"insert\":\"tout\",\"attributes\":{\"italic\":true,"
          "\"underline\":true,\"strike\":true,\"size\":\"huge\"}},"
          "{\"insert\":\"\\n\"}]}", "bold, italic, underline, strike, size");

    valid("{\"ops\":[{\"insert\":\"Titre\"},"
          "{\"insert\":\"\\n\",\"attributes\":{\"header\":2}},"
          "{\"insert\":\"texte\\n\"}]}", "header on the newline");

    valid("{\"ops\":[{\"insert\":\"un\"},"
          "{\"insert\":\"\\n\",\"attributes\":{\"list\":\"bullet\"}},"
          "{\"insert\":\"deux\"},"
          "{\"insert\":\"\\n\\n\",\"attributes\":{\"list\":\"ordered\"}}]}",
          "lists, on one and on two newlines");

    valid("{\"ops\":[{\"insert\":\"site\",\"attributes\":"
          "{\"link\":\"https://www.clo.fr/chantiers?id=4#haut\"}},"
          "{\"insert\":\" \"},"
          "{\"insert\":\"écrire\",\"attributes\":"
          "{\"link\":\"mailto:contact@clo.fr\"}},"
          "{\"insert\":\" \"},"
          "{\"insert\":\"vieux\",\"attributes\":"
          "{\"link\":\"HTTP://exemple.fr:8080\"}},"
          "{\"insert\":\"\\n\"}]}", "links https, mailto, HTTP with a port");

    valid("{\"ops\":[{\"insert\":\"x\",\"attributes\":"
          "{\"link\":\"https://fr.wikipedia.org/wiki/Béton\"}},"
          "{\"insert\":\"\\n\"}]}", "link with a non-ASCII path");

    valid("{\"ops\":[{\"insert\":\"a\\tb \\u00a0 € 😀\\n\"}]}",
          "tab, no-break space, euro sign, emoji");

    valid("{\"ops\":[{\"insert\":\"sans fin de ligne\"}]}",
          "a document without a final newline is accepted");

    valid("{\"ops\":[{\"insert\":\"x\",\"attributes\":{}},"
          "{\"insert\":\"\\n\"}]}", "empty attributes");

    valid("{\"ops\":[{\"attributes\":{\"bold\":true},\"insert\":\"x\"},"
          "{\"insert\":\"\\n\"}]}", "attributes before insert");

    valid("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"bold\":true}}]}",
          "inline attribute on a newline");
}


static void
test_photos(void)
{
    ngx_int_t    rc;
    const char  *img;

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"}},"
          "{\"insert\":\"\\n\"}]}";

    rc = check_len(img, strlen(img), NULL);
    ok(rc == NGX_DECLINED
       && err_is("Opération 1 : la photo 12 n'appartient pas à cette fiche."),
       "photo:12 without photo_ok refused");

    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_OK, "photo:12 accepted when photo_ok accepts 12");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:13\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_DECLINED && err_has("photo 13"),
       "photo:13 refused when photo_ok knows 12 only");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"}}]}";
    rc = check_len(img, strlen(img), photo_fails);
    ok(rc == NGX_ERROR, "photo_ok failing gives NGX_ERROR");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"},"
          "\"attributes\":{\"link\":\"https://clo.fr\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_OK, "photo with a link");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"},"
          "\"attributes\":{\"header\":1}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_DECLINED && err_has("« header » ne s'applique"),
       "header on a photo refused");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"},"
          "\"attributes\":{\"alt\":\"La dalle coulée, côté jardin\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_OK, "photo with an alt text");

    img = "{\"ops\":[{\"insert\":\"Texte\","
          "\"attributes\":{\"alt\":\"x\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_DECLINED && err_has("qu'à une image"),
       "alt on a text refused");

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"},"
          "\"attributes\":{\"alt\":\"ligne\\nautre\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_DECLINED && err_has("retour à la ligne"),
       "alt with a newline refused");

    {
        static const char  head[] = "{\"ops\":[{\"insert\":{\"image\":"
                                    "\"photo:12\"},\"attributes\":"
                                    "{\"alt\":\"";
        static const char  tail[] = "\"}}]}";
        char               buf[1024];
        size_t             n;
        int                i;

        /* 200 "é" (400 bytes) pass, 201 do not: characters, not bytes */
        memcpy(buf, head, sizeof(head) - 1);
        n = sizeof(head) - 1;

        for (i = 0; i < 200; i++) {
            buf[n++] = (char) 0xc3;
            buf[n++] = (char) 0xa9;
        }

        memcpy(buf + n, tail, sizeof(tail));
        ok(check_len(buf, strlen(buf), photo_12) == NGX_OK,
           "alt of 200 characters accepted");

        buf[n] = 'e';
        memcpy(buf + n + 1, tail, sizeof(tail));
        rc = check_len(buf, strlen(buf), photo_12);
        ok(rc == NGX_DECLINED && err_has("200 caractères"),
           "alt of 201 characters refused");
    }

    img = "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"},"
          "\"attributes\":{\"width\":\"100\"}}]}";
    rc = check_len(img, strlen(img), photo_12);
    ok(rc == NGX_DECLINED && err_has("attribut « width »"),
       "width on a photo refused");

    refused("{\"ops\":[{\"insert\":{\"image\":"
            "\"https://evil.example/x.png\"}}]}",
            "Opération 1 : image non autorisée", "remote image refused");
    refused("{\"ops\":[{\"insert\":{\"image\":"
            "\"data:image/png;base64,AAAA\"}}]}",
            "image non autorisée", "data: image refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:\"}}]}",
            "image non autorisée", "photo: without id refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:012\"}}]}",
            "image non autorisée", "photo id with a leading zero refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:0\"}}]}",
            "image non autorisée", "photo:0 refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:-1\"}}]}",
            "image non autorisée", "photo:-1 refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:12 \"}}]}",
            "image non autorisée", "photo id with a trailing space refused");
    refused("{\"ops\":[{\"insert\":{\"image\":"
            "\"photo:99999999999999999999\"}}]}",
            "image non autorisée", "photo id beyond int64 refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"PHOTO:12\"}}]}",
            "image non autorisée", "PHOTO:12 refused");
    refused("{\"ops\":[{\"insert\":{\"image\":12}}]}",
            "image non autorisée", "image as a number refused");
    refused("{\"ops\":[{\"insert\":{\"video\":"
            "\"https://www.youtube.com/embed/x\"}}]}",
            "Opération 1 : contenu intégré « video » non autorisé",
            "video embed refused");
    refused("{\"ops\":[{\"insert\":{\"formula\":\"e=mc^2\"}}]}",
            "« formula »", "formula embed refused");
    refused("{\"ops\":[{\"insert\":{}}]}",
            "une image s'écrit", "empty embed refused");
    refused("{\"ops\":[{\"insert\":{\"image\":\"photo:12\",\"alt\":\"x\"}}]}",
            "une image s'écrit", "embed with two keys refused");
}


static void
test_links(void)
{
    char         buf[3000];
    const char  *links[][2] = {
        { "javascript:alert(1)", "protocole « javascript »" },
        { "JavaScript:alert(1)", "protocole « JavaScript »" },
        { "data:text/html,<script>alert(1)</script>", "protocole « data »" },
        { "vbscript:x", "protocole « vbscript »" },
        { "file:///etc/passwd", "protocole « file »" },
        { "tel:+33123456789", "protocole « tel »" },
        { " javascript:alert(1)", "un espace" },
        { "java\\tscript:alert(1)", "caractère de contrôle" },
        { "java\\nscript:alert(1)", "caractère de contrôle" },
        { "\\u0001javascript:alert(1)", "caractère de contrôle" },
        { "\\u0085javascript:x", "caractère de contrôle" },
        { "https://exemple.fr/a b", "un espace" },
        { "https:\\\\\\\\evil.example", "barre oblique inversée" },
        { "www.exemple.fr", "sans protocole" },
        { "/relative/path", "sans protocole" },
        { "//evil.example/x", "sans protocole" },
        { ":x", "sans protocole" },
        { "1http://x", "sans protocole" },
        { "https", "sans protocole" },
        { "https:", "sans nom de site" },
        { "https:/x", "sans nom de site" },
        { "https://", "sans nom de site" },
        { "https:///x", "sans nom de site" },
        { "https://:80/x", "sans nom de site" },
        { "http://?x", "sans nom de site" },
        { "https://banque.example@evil.example/", "nom d'utilisateur" },
        { "https://user:pw@evil.example/", "nom d'utilisateur" },
        { "mailto:", "mailto sans adresse" },
        { "", "lien vide" },
        { NULL, NULL }
    };

    int  i;

    for (i = 0; links[i][0]; i++) {
        snprintf(buf, sizeof(buf), "{\"ops\":[{\"insert\":\"a\\n\"},"
                 "{\"insert\":\"x\",\"attributes\":{\"link\":\"%s\"}}]}",
                 links[i][0]);

        if (check(buf) == NGX_DECLINED
            && err_has("Opération 2 : ") && err_has(links[i][1]))
        {
            ok(1, links[i][0]);

        } else {
            ok(0, links[i][0]);
        }
    }

    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"link\":true}}]}",
            "« link » doit être un texte", "link true refused");

    /* 2,000 bytes accepted, 2,001 refused */

    for (i = 0; i < 2; i++) {
        int  n;

        n = snprintf(buf, sizeof(buf),
                     "{\"ops\":[{\"insert\":\"x\",\"attributes\":"
                     "{\"link\":\"https://x.fr/");
        memset(buf + n, 'a', 2000 - 13 + i);
        n += 2000 - 13 + i;
        n += snprintf(buf + n, sizeof(buf) - n, "\"}}]}");

        ok(check_len(buf, n, NULL) == (i ? NGX_DECLINED : NGX_OK)
           && (i == 0 || err_has("lien trop long")),
           i ? "link of 2001 bytes refused" : "link of 2000 bytes accepted");
    }
}


static void
test_attributes(void)
{
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"font\":\"serif\"}},"
            "{\"insert\":\"y\"},"
            "{\"insert\":\"z\",\"attributes\":{\"font\":\"serif\"}}]}",
            "Opération 1 : attribut « font » non autorisé.",
            "font refused, first op named");

    ok(check("{\"ops\":[{\"insert\":\"x\"},{\"insert\":\"y\"},"
             "{\"insert\":\"z\",\"attributes\":{\"font\":\"serif\"}}]}")
       == NGX_DECLINED
       && err_is("Opération 3 : attribut « font » non autorisé."),
       "whole message for the third op");

    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"color\":\"red\"}}]}",
            "attribut « color » non autorisé", "color refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":"
            "{\"background\":\"#fff\"}}]}",
            "attribut « background » non autorisé", "background refused");
    refused("{\"ops\":[{\"insert\":\"x\""
            ",\"attributes\":{\"script\":\"sub\"}}]}",
            "attribut « script » non autorisé", "script refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":"
            "{\"list\":\"bullet\",\"indent\":1}}]}",
            "attribut « indent » non autorisé", "indent refused");
    refused("{\"ops\":[{\"insert\":\"\\n\""
            ",\"attributes\":{\"align\":\"center\"}}]}",
            "attribut « align »", "align refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":"
            "{\"code-block\":true}}]}", "« code-block »", "code-block refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"Bold\":true}}]}",
            "attribut « Bold »", "Bold (upper case) refused");

    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"size\":\"12px\"}}]}",
            "« size » doit valoir", "size 12px refused");
    refused("{\"ops\":[{\"insert\":\"x\""
            ",\"attributes\":{\"size\":\"normal\"}}]}",
            "« size » doit valoir", "size normal refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"size\":2}}]}",
            "« size » doit valoir", "size as a number refused");

    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"header\":4}}]}",
            "« header » doit valoir 1, 2 ou 3", "header 4 refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"header\":0}}]}",
            "« header » doit valoir", "header 0 refused");
    refused("{\"ops\":[{\"insert\":\"\\n\""
            ",\"attributes\":{\"header\":\"1\"}}]}",
            "« header » doit valoir", "header \"1\" (string) refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"header\":1.0}}]}",
            "« header » doit valoir", "header 1.0 refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"header\":1e0}}]}",
            "« header » doit valoir", "header 1e0 refused");

    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":"
            "{\"list\":\"checked\"}}]}",
            "« list » doit valoir", "list checked refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":"
            "{\"list\":\"unchecked\"}}]}",
            "« list » doit valoir", "list unchecked refused");

    refused("{\"ops\":[{\"insert\":\"Titre\\n\""
            ",\"attributes\":{\"header\":1}}]}",
            "« header » ne s'applique qu'à une fin de ligne",
            "header on text refused");
    refused("{\"ops\":[{\"insert\":\"\\n \""
            ",\"attributes\":{\"list\":\"bullet\"}}]}",
            "« list » ne s'applique", "list on newline and space refused");
    refused("{\"ops\":[{\"insert\":\"\\n\",\"attributes\":"
            "{\"header\":1,\"list\":\"bullet\"}}]}",
            "ne vont pas ensemble", "header and list together refused");

    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"bold\":false}}]}",
            "« bold » doit valoir true", "bold false refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"italic\":null}}]}",
            "« italic » doit valoir true", "italic null refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"underline\":1}}]}",
            "« underline » doit valoir true", "underline 1 refused");
    refused("{\"ops\":[{\"insert\":\"x\""
            ",\"attributes\":{\"strike\":\"true\"}}]}",
            "« strike » doit valoir true", "strike \"true\" refused");
}


static void
test_structure(void)
{
    refused("[]", "un objet {\"ops\"", "array document refused");
    refused("\"text\"", "un objet {\"ops\"", "string document refused");
    refused("{}", "pas de clé « ops »", "document without ops refused");
    refused("{\"ops\":[{\"insert\":\"x\\n\"}],\"version\":1}",
            "Clé « version » non autorisée dans le document",
            "extra top-level key refused");
    refused("{\"ops\":{\"insert\":\"x\\n\"}}", "« ops » doit être un tableau",
            "ops as an object refused");
    refused("{\"ops\":null}", "« ops » doit être un tableau",
            "ops null refused");
    refused("{\"ops\":[]}", "Le document est vide", "empty ops refused");

    refused("{\"ops\":[{\"insert\":\"x\\n\"},\"y\"]}",
            "Opération 2 : une opération doit être un objet",
            "op as a string refused");
    refused("{\"ops\":[{\"insert\":42}]}",
            "Opération 1 : « insert » doit être un texte ou une image",
            "insert number refused");
    refused("{\"ops\":[{\"insert\":null}]}",
            "« insert » doit être", "insert null refused");
    refused("{\"ops\":[{\"insert\":[\"x\"]}]}",
            "« insert » doit être", "insert array refused");
    refused("{\"ops\":[{\"insert\":\"\"}]}", "texte vide",
            "empty insert refused");
    refused("{\"ops\":[{\"attributes\":{\"bold\":true}}]}",
            "« insert » manquant", "op without insert refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":[\"bold\"]}]}",
            "« attributes » doit être un objet", "attributes array refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":null}]}",
            "« attributes » doit être un objet", "attributes null refused");

    refused("{\"ops\":[{\"insert\":\"x\\n\"},{\"delete\":3}]}",
            "Opération 2 : « delete » non autorisé", "delete op refused");
    refused("{\"ops\":[{\"retain\":3}]}",
            "« retain » non autorisé", "retain op refused");
    refused("{\"ops\":[{\"retain\":3,\"attributes\":{\"bold\":true}}]}",
            "« retain » non autorisé", "retain with attributes refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"retain\":1}]}",
            "« retain » non autorisé", "insert with retain refused");
    refused("{\"ops\":[{\"insert\":\"x\",\"foo\":1}]}",
            "clé « foo » non autorisée", "unknown op key refused");
}


static void
test_text(void)
{
    refused("{\"ops\":[{\"insert\":\"a\\u0001b\\n\"}]}",
            "Opération 1 : caractère de contrôle U+0001 non autorisé",
            "\\u0001 refused");
    refused("{\"ops\":[{\"insert\":\"a\\n\"},{\"insert\":\"a\\u0085b\\n\"}]}",
            "Opération 2 : caractère de contrôle U+0085",
            "\\u0085 (NEL) refused");
    refused("{\"ops\":[{\"insert\":\"\\u0080\"}]}", "U+0080", "U+0080 refused");
    refused("{\"ops\":[{\"insert\":\"\\u009f\"}]}", "U+009F", "U+009F refused");
    refused("{\"ops\":[{\"insert\":\"a\\rb\\n\"}]}", "U+000D",
            "carriage return refused");
    refused("{\"ops\":[{\"insert\":\"\\u001b[31m\\n\"}]}", "U+001B",
            "escape refused");
    refused("{\"ops\":[{\"insert\":\"\\u007f\"}]}", "U+007F", "DEL refused");
    refused("{\"ops\":[{\"insert\":\"\\u000b\"}]}", "U+000B",
            "vertical tab refused");
    valid("{\"ops\":[{\"insert\":\"\\u00a0\\u00ff\\u0100\\n\"}]}",
          "U+00A0, U+00FF, U+0100 accepted");
}


/* a document of n characters (text then, if image, one photo) */

static ngx_int_t
check_size(size_t n, const char *fill, int image)
{
    size_t      i, k, len;
    char       *buf, *p;
    ngx_int_t   rc;

    k = strlen(fill);
    buf = malloc(n * k + 200);
    p = buf;

    p += sprintf(p, "{\"ops\":[{\"insert\":\"");
    for (i = 0; i < n; i++) {
        p = (char *) ngx_cpymem(p, fill, k);
    }
    p += sprintf(p, "\"}%s]}",
                 image ? ",{\"insert\":{\"image\":\"photo:12\"}}" : "");

    len = p - buf;
    rc = check_len(buf, len, photo_12);

    free(buf);

    return rc;
}


static void
test_sizes(void)
{
    int        i;
    char      *buf, *p;
    ngx_int_t  rc;

    ok(check_size(20000, "a", 0) == NGX_OK, "20000 characters accepted");
    ok(check_size(20001, "a", 0) == NGX_ABORT
       && err_has("Opération 1 : le texte dépasse 20 000 caractères"),
       "20001 characters refused");
    ok(check_size(20000, "\xc3\xa9", 0) == NGX_OK,
       "20000 two-byte characters accepted");
    ok(check_size(20000, "\xf0\x9f\x98\x80", 0) == NGX_OK,
       "20000 emoji accepted");
    ok(check_size(19999, "a", 1) == NGX_OK,
       "19999 characters and a photo accepted");
    ok(check_size(20000, "a", 1) == NGX_ABORT
       && err_has("Opération 2 : le texte dépasse"),
       "20000 characters and a photo refused at the photo");

    /* the limit counts all ops */

    buf = malloc(200000);

    for (i = 0; i < 2; i++) {
        int  n, j;

        n = i ? 10001 : 10000;

        p = buf;
        p += sprintf(p, "{\"ops\":[");
        for (j = 0; j < n; j++) {
            p += sprintf(p, "%s{\"insert\":\"a\"}", j ? "," : "");
        }
        p += sprintf(p, "]}");

        rc = check_len(buf, p - buf, NULL);
        ok(i ? rc == NGX_ABORT && err_has("trop d'opérations")
             : rc == NGX_OK,
           i ? "10001 ops refused" : "10000 ops accepted");
    }

    p = buf;
    p += sprintf(p, "{\"ops\":[");
    for (i = 0; i < 6; i++) {
        p += sprintf(p, "%s{\"insert\":\"%04d", i ? "," : "", i);
        memset(p, 'a', 3996);
        p += 3996;
        p += sprintf(p, "\"}");
    }
    p += sprintf(p, "]}");

    ok(check_len(buf, p - buf, NULL) == NGX_ABORT
       && err_has("Opération 6 : le texte dépasse"),
       "6 ops of 4000 characters: the sixth is named");

    free(buf);
}


static void
test_messages(void)
{
    int   i;
    char  buf[1000], *p;

    /* a long key is repeated cut at a character boundary */

    p = buf;
    p += sprintf(p, "{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"");
    for (i = 0; i < 30; i++) {
        p += sprintf(p, "\xc3\xa9");
    }
    p += sprintf(p, "\":true}}]}");

    ok(check_len(buf, p - buf, NULL) == NGX_DECLINED
       && err_has("« \xc3\xa9\xc3\xa9") && err_has("\xc3\xa9… »")
       && err.len < 120, "long attribute name shortened in the message");

    ok(check_len(buf, p - buf, NULL) == NGX_DECLINED
       && ngx_http_chantier_json_check_text(err.data, err.len) == NGX_OK,
       "shortened message is valid UTF-8");

    refused("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"\":true}}]}",
            "attribut «  » non autorisé", "empty attribute name");
}


static void
test_blank(void)
{
    const char  *docs[][2] = {
        { "{\"ops\":[{\"insert\":\"\\n\"}]}", "1" },
        { "{\"ops\":[{\"insert\":\" \\t\\n\\n\"}"
          ",{\"insert\":\" \\n\"}]}", "1" },
        { "{\"ops\":[{\"insert\":\"\\n\",\"attributes\":{\"header\":1}}]}",
          "1" },
        { "{\"ops\":[{\"insert\":\"x\\n\"}]}", "0" },
        { "{\"ops\":[{\"insert\":\"\\n\"},{\"insert\":\"\\u00a0\"}]}", "0" },
        { "{\"ops\":[{\"insert\":{\"image\":\"photo:12\"}}]}", "0" },
        { NULL, NULL }
    };

    int                        i;
    ngx_http_chantier_json_t  *j;

    for (i = 0; docs[i][0]; i++) {
        j = parse_len(docs[i][0], strlen(docs[i][0]));

        ok(j && ngx_http_chantier_delta_validate(&fake_pool, j, photo_12, NULL,
                                                 &err) == NGX_OK
           && ngx_http_chantier_delta_is_blank(j) == (ngx_uint_t)
                                                    (docs[i][1][0] - '0'),
           docs[i][0]);
    }
}


static void
test_nomem(void)
{
    int                        k, good, reached;
    ngx_int_t                  rc;
    ngx_http_chantier_json_t  *j;

    /* the message is the only allocation: failing it gives NGX_ERROR */

    j = parse("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"font\":1}}]}");

    good = 0;
    reached = 0;

    if (j) {
        for (k = 0; k < 3; k++) {
            fail_after = k;
            rc = ngx_http_chantier_delta_validate(&fake_pool, j, NULL, NULL,
                                                  &err);
            fail_after = -1;

            if (k == 0 && rc == NGX_ERROR && err.len == 0) {
                good = 1;
            }

            if (k > 0 && rc == NGX_DECLINED) {
                reached = 1;
            }
        }
    }

    ok(good && reached, "allocation failure: NGX_ERROR, no message");

    /* a valid document allocates nothing */

    j = parse("{\"ops\":[{\"insert\":\"x\",\"attributes\":{\"bold\":true}},"
              "{\"insert\":\"\\n\"}]}");

    fail_after = 0;
    rc = j ? ngx_http_chantier_delta_validate(&fake_pool, j, NULL, NULL, &err)
           : NGX_ERROR;
    fail_after = -1;

    ok(rc == NGX_OK, "a valid document needs no memory");
}


int
main(void)
{
    ok(ngx_http_chantier_delta_validate(&fake_pool, NULL, NULL, NULL, &err)
       == NGX_DECLINED, "NULL document refused");

    test_valid();
    test_photos();
    test_links();
    test_attributes();
    test_structure();
    test_text();
    test_sizes();
    test_messages();
    test_blank();
    test_nomem();

    test_pool_reset();

    return tap_done();
}
