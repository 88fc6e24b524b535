
/*
 * libFuzzer target: request bodies go through the JSON parser, then, when
 * they parse, through the Delta validator, as a post body does in the
 * module.  Built by "make fuzz" with clang -fsanitize=fuzzer,address,undefined.
 *
 * Besides the sanitizers, each input checks what callers rely on:
 *
 *   - the parser answers a tree, or NULL with a message (or none: memory);
 *   - the validator answers NGX_OK without a message, or NGX_DECLINED
 *     (NGX_ABORT past a size limit) with a non-empty message in valid
 *     UTF-8 naming the op ("Opération N")
 *     when an op is at fault; never NGX_ERROR unless memory or photo_ok
 *     failed;
 *   - it answers the same twice, and a valid document allocates nothing;
 *   - with every allocation failing, NGX_OK stays NGX_OK and a refusal
 *     becomes NGX_ERROR without a message;
 *   - the JSON writer's escaping of every text met parses back to it.
 *
 * As in the unit tests, the few nginx functions both files call are given
 * stand-ins here: every allocation is its own malloc() block, so that
 * AddressSanitizer sees overflows a real pool would hide, and all are freed
 * after each input.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ngx_http_chantier_json.h"
#include "render/ngx_http_chantier_delta.h"


static ngx_int_t   fail_after = -1;     /* allocations left, -1: never fail */
static size_t      allocations;
static void      **blocks;
static size_t      nblocks, nalloc;


static void *
fuzz_alloc(size_t size, int zero)
{
    void  *p;

    allocations++;

    if (fail_after == 0) {
        return NULL;
    }

    if (fail_after > 0) {
        fail_after--;
    }

    if (nblocks == nalloc) {
        nalloc = nalloc ? nalloc * 2 : 1024;
        blocks = realloc(blocks, nalloc * sizeof(void *));
        if (blocks == NULL) {
            abort();
        }
    }

    p = zero ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
    if (p == NULL) {
        abort();
    }

    blocks[nblocks++] = p;

    return p;
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    return fuzz_alloc(size, 0);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return fuzz_alloc(size, 0);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    return fuzz_alloc(size, 1);
}


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
}


ngx_int_t
ngx_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    return strncasecmp((char *) s1, (char *) s2, n);
}


/* the conversions json.c and delta.c use: %s, %*s, %uz, %ui */

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
            abort();
        }
    }

    va_end(args);

    return buf;
}


static void
fuzz_reset(void)
{
    while (nblocks) {
        free(blocks[--nblocks]);
    }
}


/* photos with an even id belong to the fiche, so both answers are met */

static ngx_int_t
fuzz_photo_ok(void *data, int64_t id)
{
    if (id <= 0) {
        abort();
    }

    return (id % 2 == 0) ? NGX_OK : NGX_DECLINED;
}


/* strict UTF-8, no NUL: what a message must be to go into a JSON answer */

static int
fuzz_utf8(const u_char *p, size_t len)
{
    u_char         c;
    size_t         n;
    const u_char  *last;

    last = p + len;

    while (p < last) {
        c = *p++;

        if (c == 0) {
            return 0;
        }

        if (c < 0x80) {
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;

        } else {
            return 0;
        }

        if ((size_t) (last - p) < n) {
            return 0;
        }

        while (n--) {
            if ((*p++ & 0xc0) != 0x80) {
                return 0;
            }
        }
    }

    return 1;
}


/*
 * What the module sends back must parse back to itself: every key and
 * string of the tree, and the validator's message, are escaped by the
 * writer, parsed again, and compared.
 */

static void
fuzz_roundtrip(ngx_pool_t *pool, ngx_str_t *text)
{
    u_char                    *buf, *end;
    size_t                     len;
    ngx_str_t                  out, error;
    ngx_http_chantier_json_t  *back;

    len = ngx_http_chantier_json_escaped_len(text);

    buf = malloc(len);
    if (buf == NULL) {
        abort();
    }

    end = ngx_http_chantier_json_escape(buf, text);

    if ((size_t) (end - buf) != len) {
        abort();
    }

    out.data = buf;
    out.len = len;

    if (ngx_http_chantier_json_parse(pool, &out, &back, &error) != NGX_OK
        || back->type != NGX_HTTP_CHANTIER_JSON_STRING
        || back->value.len != text->len
        || (text->len
            && memcmp(back->value.data, text->data, text->len) != 0))
    {
        abort();
    }

    free(buf);
}


static void
fuzz_walk(ngx_pool_t *pool, ngx_http_chantier_json_t *node)
{
    for ( /* void */ ; node; node = node->next) {

        /*
         * The root and array elements have no key: { 0, NULL }, which the
         * writer would meet as "p = NULL; last = p + 0", undefined for
         * UBSan; the module never escapes a missing key.
         */

        if (node->key.data) {
            fuzz_roundtrip(pool, &node->key);
        }

        if (node->type == NGX_HTTP_CHANTIER_JSON_STRING) {
            fuzz_roundtrip(pool, &node->value);
        }

        fuzz_walk(pool, node->child);
    }
}


/*
 * A second, simpler opinion on a document the validator accepted: the
 * properties the renderers rely on, written differently.
 */

static void
fuzz_oracle(ngx_http_chantier_json_t *json)
{
    u_char                    *p;
    size_t                     i;
    ngx_http_chantier_json_t  *ops, *op, *insert, *a;

    static const char  *names = " bold italic underline strike size header"
                                " list link ";

    ops = ngx_http_chantier_json_get(json, "ops");

    if (json->count != 1 || ops == NULL || ops->count == 0
        || ops->count > NGX_HTTP_CHANTIER_DELTA_MAX_OPS)
    {
        abort();
    }

    for (op = ops->child; op; op = op->next) {
        insert = ngx_http_chantier_json_get(op, "insert");

        if (insert == NULL) {
            abort();
        }

        if (insert->type == NGX_HTTP_CHANTIER_JSON_STRING) {
            for (i = 0, p = insert->value.data; i < insert->value.len; i++) {
                if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t')
                    || p[i] == 0x7f
                    || (p[i] == 0xc2 && i + 1 < insert->value.len
                        && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
                {
                    abort();
                }
            }

        } else if (insert->type != NGX_HTTP_CHANTIER_JSON_OBJECT
                   || insert->count != 1
                   || insert->child->value.len < 7
                   || memcmp(insert->child->value.data, "photo:", 6) != 0)
        {
            abort();
        }

        a = ngx_http_chantier_json_get(op, "attributes");

        for (a = a ? a->child : NULL; a; a = a->next) {
            char  name[32];

            if (a->key.len == 0 || a->key.len > 20) {
                abort();
            }

            snprintf(name, sizeof(name), " %.*s ", (int) a->key.len,
                     a->key.data);

            if (strstr(names, name) == NULL) {
                abort();
            }

            if (strcmp(name, " link ") == 0
                && !(a->value.len > 7
                     && strncasecmp((char *) a->value.data, "mailto:", 7)
                        == 0)
                && !(a->value.len > 7
                     && strncasecmp((char *) a->value.data, "http://", 7)
                        == 0)
                && !(a->value.len > 8
                     && strncasecmp((char *) a->value.data, "https://", 8)
                        == 0))
            {
                abort();
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                     before;
    ngx_int_t                  rc, rc2;
    ngx_str_t                  in, error, error2;
    ngx_pool_t                 pool;
    ngx_http_chantier_json_t  *json;

    ngx_memzero(&pool, sizeof(ngx_pool_t));

    /* a copy of exactly "size" bytes, so that reading past it is caught */

    in.len = size;
    in.data = malloc(size ? size : 1);
    if (in.data == NULL) {
        abort();
    }

    ngx_memcpy(in.data, data, size);

    if (ngx_http_chantier_json_parse(&pool, &in, &json, &error) != NGX_OK) {
        if (error.len == 0 || !fuzz_utf8(error.data, error.len)) {
            abort();
        }

        goto done;
    }

    fuzz_walk(&pool, json);

    rc = ngx_http_chantier_delta_validate(&pool, json, fuzz_photo_ok, NULL,
                                          &error);

    if (rc == NGX_OK) {
        if (error.len != 0) {
            abort();
        }

    } else if (rc == NGX_DECLINED || rc == NGX_ABORT) {
        if (error.len == 0 || error.len > 400
            || !fuzz_utf8(error.data, error.len))
        {
            abort();
        }

        fuzz_roundtrip(&pool, &error);

    } else {
        abort();
    }

    /* the same answer again; a valid document allocates nothing */

    before = allocations;

    rc2 = ngx_http_chantier_delta_validate(&pool, json, fuzz_photo_ok, NULL,
                                           &error2);

    if (rc2 != rc || error2.len != error.len
        || (error.len && ngx_memcmp(error2.data, error.data, error.len) != 0)
        || (rc == NGX_OK && allocations != before))
    {
        abort();
    }

    /* without memory: NGX_OK stays, a refusal becomes NGX_ERROR */

    fail_after = 0;
    rc2 = ngx_http_chantier_delta_validate(&pool, json, fuzz_photo_ok, NULL,
                                           &error2);
    fail_after = -1;

    if ((rc == NGX_OK && rc2 != NGX_OK)
        || (rc != NGX_OK && (rc2 != NGX_ERROR || error2.len != 0)))
    {
        abort();
    }

    /* with no photo at all, only a photo can change the answer */

    rc2 = ngx_http_chantier_delta_validate(&pool, json, NULL, NULL, &error2);

    if (rc == NGX_OK && rc2 != NGX_OK
        && (rc2 != NGX_DECLINED
            || memmem(error2.data, error2.len, "photo", 5) == NULL))
    {
        abort();
    }

    if (rc == NGX_OK) {
        fuzz_oracle(json);
        (void) ngx_http_chantier_delta_is_blank(json);
    }

done:

    free(in.data);
    fuzz_reset();

    return 0;
}
