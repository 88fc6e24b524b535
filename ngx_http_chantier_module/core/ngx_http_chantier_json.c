
/*
 * JSON in and out.
 *
 * Parsing: yajl 2 drives callbacks that build a tree of
 * ngx_http_chantier_json_t nodes in the caller's pool.  yajl keeps its own
 * buffers with the C allocator and frees them in yajl_free(); only our nodes
 * and their texts live in the pool, so they survive the parser.
 *
 * yajl's own checks are not enough for us, so the callbacks add:
 *
 *   - a depth limit, refused as soon as a container opens one level too
 *     deep, before yajl grows its state stack any further;
 *   - strict UTF-8 on every decoded key and string: yajl only looks at the
 *     lengths announced by lead bytes, so it lets overlong forms ("\xc0\xaf"),
 *     encoded surrogates and code points above U+10FFFF through;
 *   - no U+0000, which could not cross into PostgreSQL text or C strings;
 *   - no duplicate key in one object, checked when the object closes (sorted
 *     when large, so a hostile body cannot make the check quadratic);
 *   - after a successful parse, a scan of the \u escapes for unpaired
 *     surrogates: yajl silently turns a lone high surrogate into "?" and a
 *     high surrogate followed by a non-surrogate into an unrelated character.
 *
 * Numbers are kept as the text the client wrote (yajl_number callback), so
 * that PostgreSQL, not a C double, decides what they mean.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <yajl/yajl_parse.h>

#include "ngx_http_chantier_json.h"


/* duplicate keys are found by pairwise comparison up to this many members */
#define NGX_HTTP_CHANTIER_JSON_SMALL_OBJECT  8

/* how much of a duplicate key the error message repeats */
#define NGX_HTTP_CHANTIER_JSON_KEY_SHOWN     60


typedef struct {
    ngx_pool_t                   *pool;
    ngx_http_chantier_json_t     *root;

    /* the open containers and their last child, root first */
    ngx_http_chantier_json_t     *stack[NGX_HTTP_CHANTIER_JSON_MAX_DEPTH];
    ngx_http_chantier_json_t     *last[NGX_HTTP_CHANTIER_JSON_MAX_DEPTH];
    ngx_uint_t                    depth;

    ngx_str_t                     key;         /* name of the next member */
    ngx_uint_t                    values;      /* nodes made so far */

    ngx_str_t                    *error;
    unsigned                      failed:1;    /* *error is set */
    unsigned                      nomem:1;
    unsigned                      utf8:1;      /* a text was refused */
    unsigned                      too_many:1;  /* MAX_VALUES passed */
} ngx_http_chantier_json_parser_t;


static ngx_http_chantier_json_t *ngx_http_chantier_json_tree(
    ngx_http_chantier_json_parser_t *p, ngx_str_t *in);
static size_t ngx_http_chantier_json_printed_len(
    ngx_http_chantier_json_t *value);
static u_char *ngx_http_chantier_json_print_value(u_char *p,
    ngx_http_chantier_json_t *value);
static ngx_http_chantier_json_t *ngx_http_chantier_json_add(
    ngx_http_chantier_json_parser_t *p, ngx_http_chantier_json_type_e type);
static ngx_int_t ngx_http_chantier_json_copy_text(
    ngx_http_chantier_json_parser_t *p, ngx_str_t *dst,
    const unsigned char *src, size_t len);
static ngx_int_t ngx_http_chantier_json_check_keys(
    ngx_http_chantier_json_parser_t *p, ngx_http_chantier_json_t *object);
static int ngx_libc_cdecl ngx_http_chantier_json_cmp_keys(const void *one,
    const void *two);
static ngx_int_t ngx_http_chantier_json_check_surrogates(
    ngx_http_chantier_json_parser_t *p, ngx_str_t *in, size_t len);
static ngx_int_t ngx_http_chantier_json_hex4(const u_char *p);
static void ngx_http_chantier_json_yajl_error(
    ngx_http_chantier_json_parser_t *p, yajl_handle yh, ngx_str_t *in,
    size_t offset);
static void ngx_http_chantier_json_set_error(
    ngx_http_chantier_json_parser_t *p, const char *text, size_t offset);

static int ngx_http_chantier_json_on_null(void *ctx);
static int ngx_http_chantier_json_on_boolean(void *ctx, int value);
static int ngx_http_chantier_json_on_number(void *ctx, const char *text,
    size_t len);
static int ngx_http_chantier_json_on_string(void *ctx,
    const unsigned char *text, size_t len);
static int ngx_http_chantier_json_on_start_map(void *ctx);
static int ngx_http_chantier_json_on_map_key(void *ctx,
    const unsigned char *text, size_t len);
static int ngx_http_chantier_json_on_end_map(void *ctx);
static int ngx_http_chantier_json_on_start_array(void *ctx);
static int ngx_http_chantier_json_on_end_array(void *ctx);


static yajl_callbacks  ngx_http_chantier_json_callbacks = {
    ngx_http_chantier_json_on_null,
    ngx_http_chantier_json_on_boolean,
    NULL,                                   /* integer: see number */
    NULL,                                   /* double: see number */
    ngx_http_chantier_json_on_number,
    ngx_http_chantier_json_on_string,
    ngx_http_chantier_json_on_start_map,
    ngx_http_chantier_json_on_map_key,
    ngx_http_chantier_json_on_end_map,
    ngx_http_chantier_json_on_start_array,
    ngx_http_chantier_json_on_end_array
};


/*
 * On NULL, *error holds the French message for a 400.  One exception: when
 * the pool runs out of memory, *error is left empty (len 0), which the
 * caller answers with a 500 rather than blaming the client.
 */

ngx_int_t
ngx_http_chantier_json_parse(ngx_pool_t *pool, ngx_str_t *in,
    ngx_http_chantier_json_t **root, ngx_str_t *error)
{
    ngx_http_chantier_json_parser_t  p;

    ngx_str_null(error);

    ngx_memzero(&p, sizeof(ngx_http_chantier_json_parser_t));
    p.pool = pool;
    p.error = error;

    *root = ngx_http_chantier_json_tree(&p, in);

    if (*root != NULL) {
        return NGX_OK;
    }

    if (p.nomem) {
        ngx_str_null(error);
        return NGX_ERROR;
    }

    return p.too_many ? NGX_ABORT : NGX_DECLINED;
}


static ngx_http_chantier_json_t *
ngx_http_chantier_json_tree(ngx_http_chantier_json_parser_t *p,
    ngx_str_t *in)
{
    size_t        offset;
    yajl_handle   yh;
    yajl_status   rc;

    if (in->len == 0) {
        ngx_http_chantier_json_set_error(p,
                                     "Le corps de la requête est vide.", 0);
        return NULL;
    }

    yh = yajl_alloc(&ngx_http_chantier_json_callbacks, NULL, p);
    if (yh == NULL) {
        ngx_log_error(NGX_LOG_ALERT, p->pool->log, 0,
                      "chantier: yajl_alloc() failed");
        p->nomem = 1;
        return NULL;
    }

    /* all of these are yajl's defaults: said again so that none drifts */
    yajl_config(yh, yajl_allow_comments, 0);
    yajl_config(yh, yajl_dont_validate_strings, 0);
    yajl_config(yh, yajl_allow_trailing_garbage, 0);
    yajl_config(yh, yajl_allow_multiple_values, 0);
    yajl_config(yh, yajl_allow_partial_values, 0);

    rc = yajl_parse(yh, in->data, in->len);
    offset = yajl_get_bytes_consumed(yh);

    if (rc == yajl_status_ok) {
        rc = yajl_complete_parse(yh);

        /* whatever fails now, fails at the end of the input */
        offset = in->len;
    }

    if (rc != yajl_status_ok) {

        if (rc == yajl_status_error) {
            ngx_http_chantier_json_yajl_error(p, yh, in, offset);

        } else if (p->utf8) {

            /*
             * A decoded text was not UTF-8: when it came from a lone
             * surrogate escape (yajl encodes \udc00 as ED B0 80), name
             * the escape rather than the encoding.  The lexer has accepted
             * every escape up to "offset", so the scan can trust them.
             */

            p->failed = 0;

            if (offset > in->len) {
                offset = in->len;
            }

            if (ngx_http_chantier_json_check_surrogates(p, in, offset)
                == NGX_OK)
            {
                ngx_http_chantier_json_set_error(p, "Texte UTF-8 invalide",
                                                 offset ? offset : 1);
            }
        }

        /* otherwise a callback refused and has set *error (or ran out) */

        yajl_free(yh);

        return NULL;
    }

    yajl_free(yh);

    if (ngx_http_chantier_json_check_surrogates(p, in, in->len) != NGX_OK) {
        return NULL;
    }

    return p->root;
}


ngx_http_chantier_json_t *
ngx_http_chantier_json_get(ngx_http_chantier_json_t *object, const char *key)
{
    size_t                     len;
    ngx_http_chantier_json_t  *member;

    if (object == NULL || object->type != NGX_HTTP_CHANTIER_JSON_OBJECT) {
        return NULL;
    }

    len = ngx_strlen(key);

    for (member = object->child; member; member = member->next) {
        if (member->key.len == len
            && ngx_memcmp(member->key.data, key, len) == 0)
        {
            return member;
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_chantier_json_remove(ngx_http_chantier_json_t *object,
    const char *key)
{
    ngx_http_chantier_json_t  *member, **prev;

    member = ngx_http_chantier_json_get(object, key);
    if (member == NULL) {
        return NGX_DECLINED;
    }

    for (prev = &object->child; *prev != member; prev = &(*prev)->next) {
        /* void */
    }

    *prev = member->next;
    object->count--;

    return NGX_OK;
}


ngx_int_t
ngx_http_chantier_json_print(ngx_pool_t *pool,
    ngx_http_chantier_json_t *value, ngx_str_t *out)
{
    u_char  *end;

    out->data = ngx_pnalloc(pool,
                            ngx_http_chantier_json_printed_len(value) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    end = ngx_http_chantier_json_print_value(out->data, value);
    *end = '\0';
    out->len = end - out->data;

    return NGX_OK;
}


/* the two passes of json_print: the size, then the text; depth is bounded */

static size_t
ngx_http_chantier_json_printed_len(ngx_http_chantier_json_t *value)
{
    size_t                     len;
    ngx_http_chantier_json_t  *item;

    switch (value->type) {

    case NGX_HTTP_CHANTIER_JSON_NULL:
    case NGX_HTTP_CHANTIER_JSON_FALSE:
    case NGX_HTTP_CHANTIER_JSON_TRUE:
        return sizeof("false") - 1;

    case NGX_HTTP_CHANTIER_JSON_NUMBER:
        return value->value.len;

    case NGX_HTTP_CHANTIER_JSON_STRING:
        return ngx_http_chantier_json_escaped_len(&value->value);

    default:
        len = 2;

        for (item = value->child; item; item = item->next) {
            len += ngx_http_chantier_json_printed_len(item) + 1;

            if (value->type == NGX_HTTP_CHANTIER_JSON_OBJECT) {
                len += ngx_http_chantier_json_escaped_len(&item->key) + 1;
            }
        }

        return len;
    }
}


static u_char *
ngx_http_chantier_json_print_value(u_char *p, ngx_http_chantier_json_t *value)
{
    ngx_http_chantier_json_t  *item;

    switch (value->type) {

    case NGX_HTTP_CHANTIER_JSON_NULL:
        return ngx_cpymem(p, "null", sizeof("null") - 1);

    case NGX_HTTP_CHANTIER_JSON_FALSE:
        return ngx_cpymem(p, "false", sizeof("false") - 1);

    case NGX_HTTP_CHANTIER_JSON_TRUE:
        return ngx_cpymem(p, "true", sizeof("true") - 1);

    case NGX_HTTP_CHANTIER_JSON_NUMBER:
        return ngx_cpymem(p, value->value.data, value->value.len);

    case NGX_HTTP_CHANTIER_JSON_STRING:
        return ngx_http_chantier_json_escape(p, &value->value);

    default:
        *p++ = (value->type == NGX_HTTP_CHANTIER_JSON_OBJECT) ? '{' : '[';

        for (item = value->child; item; item = item->next) {

            if (value->type == NGX_HTTP_CHANTIER_JSON_OBJECT) {
                p = ngx_http_chantier_json_escape(p, &item->key);
                *p++ = ':';
            }

            p = ngx_http_chantier_json_print_value(p, item);

            if (item->next) {
                *p++ = ',';
            }
        }

        *p++ = (value->type == NGX_HTTP_CHANTIER_JSON_OBJECT) ? '}' : ']';

        return p;
    }
}


char *
ngx_http_chantier_json_cstring(ngx_pool_t *pool,
    ngx_http_chantier_json_t *value)
{
    u_char  *s;

    if (value == NULL || value->type != NGX_HTTP_CHANTIER_JSON_STRING) {
        return NULL;
    }

    s = ngx_pnalloc(pool, value->value.len + 1);
    if (s == NULL) {
        return NULL;
    }

    *ngx_cpymem(s, value->value.data, value->value.len) = '\0';

    return (char *) s;
}


/*
 * Escaping is byte-wise: valid UTF-8 passes as it is, except U+2028 and
 * U+2029, which are legal in JSON but end a line in older JavaScript and
 * in some log viewers.  Bytes that are not UTF-8 are copied as they are;
 * texts we send come from PostgreSQL or from the parser and are valid.
 */

size_t
ngx_http_chantier_json_escaped_len(ngx_str_t *in)
{
    size_t   len;
    u_char  *p, *last;

    len = 2;

    if (in->len == 0) {
        /* in->data may be NULL (ngx_str_null): no arithmetic on it */
        return len;
    }

    p = in->data;
    last = p + in->len;

    while (p < last) {

        if (*p == '"' || *p == '\\') {
            len += 2;

        } else if (*p < 0x20) {
            switch (*p) {
            case '\n': case '\t': case '\r': case '\b': case '\f':
                len += 2;
                break;
            default:
                len += sizeof("\\u00XX") - 1;
            }

        } else if (*p == 0xe2 && last - p >= 3 && p[1] == 0x80
                   && (p[2] == 0xa8 || p[2] == 0xa9))
        {
            len += sizeof("\\u2028") - 1;
            p += 3;
            continue;

        } else {
            len++;
        }

        p++;
    }

    return len;
}


u_char *
ngx_http_chantier_json_escape(u_char *dst, ngx_str_t *in)
{
    u_char         *p, *last;
    static u_char   hex[] = "0123456789abcdef";

    *dst++ = '"';

    if (in->len == 0) {
        *dst++ = '"';
        return dst;
    }

    p = in->data;
    last = p + in->len;

    while (p < last) {

        if (*p == '"' || *p == '\\') {
            *dst++ = '\\';
            *dst++ = *p;

        } else if (*p < 0x20) {
            *dst++ = '\\';

            switch (*p) {
            case '\n':
                *dst++ = 'n';
                break;
            case '\t':
                *dst++ = 't';
                break;
            case '\r':
                *dst++ = 'r';
                break;
            case '\b':
                *dst++ = 'b';
                break;
            case '\f':
                *dst++ = 'f';
                break;
            default:
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = hex[*p >> 4];
                *dst++ = hex[*p & 0xf];
            }

        } else if (*p == 0xe2 && last - p >= 3 && p[1] == 0x80
                   && (p[2] == 0xa8 || p[2] == 0xa9))
        {
            dst = ngx_cpymem(dst, "\\u202", sizeof("\\u202") - 1);
            *dst++ = (p[2] == 0xa8) ? '8' : '9';
            p += 3;
            continue;

        } else {
            *dst++ = *p;
        }

        p++;
    }

    *dst++ = '"';

    return dst;
}


/* yajl callbacks: each returns 1 to go on, 0 to stop the parse */

static int
ngx_http_chantier_json_on_null(void *ctx)
{
    return ngx_http_chantier_json_add(ctx, NGX_HTTP_CHANTIER_JSON_NULL)
           != NULL;
}


static int
ngx_http_chantier_json_on_boolean(void *ctx, int value)
{
    return ngx_http_chantier_json_add(ctx, value
                                           ? NGX_HTTP_CHANTIER_JSON_TRUE
                                           : NGX_HTTP_CHANTIER_JSON_FALSE)
           != NULL;
}


static int
ngx_http_chantier_json_on_number(void *ctx, const char *text, size_t len)
{
    ngx_http_chantier_json_t         *node;
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    node = ngx_http_chantier_json_add(p, NGX_HTTP_CHANTIER_JSON_NUMBER);
    if (node == NULL) {
        return 0;
    }

    node->value.data = ngx_pnalloc(p->pool, len);
    if (node->value.data == NULL) {
        p->nomem = 1;
        return 0;
    }

    ngx_memcpy(node->value.data, text, len);
    node->value.len = len;

    return 1;
}


static int
ngx_http_chantier_json_on_string(void *ctx, const unsigned char *text,
    size_t len)
{
    ngx_http_chantier_json_t         *node;
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    node = ngx_http_chantier_json_add(p, NGX_HTTP_CHANTIER_JSON_STRING);
    if (node == NULL) {
        return 0;
    }

    return ngx_http_chantier_json_copy_text(p, &node->value, text, len)
           == NGX_OK;
}


static int
ngx_http_chantier_json_on_start_map(void *ctx)
{
    ngx_http_chantier_json_t         *node;
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    if (p->depth == NGX_HTTP_CHANTIER_JSON_MAX_DEPTH) {
        ngx_http_chantier_json_set_error(p, "Imbrication trop profonde.", 0);
        return 0;
    }

    node = ngx_http_chantier_json_add(p, NGX_HTTP_CHANTIER_JSON_OBJECT);
    if (node == NULL) {
        return 0;
    }

    p->stack[p->depth] = node;
    p->last[p->depth] = NULL;
    p->depth++;

    return 1;
}


static int
ngx_http_chantier_json_on_map_key(void *ctx, const unsigned char *text,
    size_t len)
{
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    return ngx_http_chantier_json_copy_text(p, &p->key, text, len) == NGX_OK;
}


static int
ngx_http_chantier_json_on_end_map(void *ctx)
{
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    p->depth--;

    return ngx_http_chantier_json_check_keys(p, p->stack[p->depth]) == NGX_OK;
}


static int
ngx_http_chantier_json_on_start_array(void *ctx)
{
    ngx_http_chantier_json_t         *node;
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    if (p->depth == NGX_HTTP_CHANTIER_JSON_MAX_DEPTH) {
        ngx_http_chantier_json_set_error(p, "Imbrication trop profonde.", 0);
        return 0;
    }

    node = ngx_http_chantier_json_add(p, NGX_HTTP_CHANTIER_JSON_ARRAY);
    if (node == NULL) {
        return 0;
    }

    p->stack[p->depth] = node;
    p->last[p->depth] = NULL;
    p->depth++;

    return 1;
}


static int
ngx_http_chantier_json_on_end_array(void *ctx)
{
    ngx_http_chantier_json_parser_t  *p;

    p = ctx;

    p->depth--;

    return 1;
}


/* a new node, appended to the open container (named by the pending key) */

static ngx_http_chantier_json_t *
ngx_http_chantier_json_add(ngx_http_chantier_json_parser_t *p,
    ngx_http_chantier_json_type_e type)
{
    ngx_http_chantier_json_t  *node, *parent;

    /*
     * A node costs its 64 bytes however small the value: 1 MiB of
     * "[0,0,..." would make 34 MB of them.  The bound keeps a body's tree
     * within a few megabytes.
     */
    if (++p->values > NGX_HTTP_CHANTIER_JSON_MAX_VALUES) {
        p->too_many = 1;
        ngx_http_chantier_json_set_error(p,
            "Le corps de la requête contient trop de valeurs JSON.", 0);
        return NULL;
    }

    node = ngx_pcalloc(p->pool, sizeof(ngx_http_chantier_json_t));
    if (node == NULL) {
        p->nomem = 1;
        return NULL;
    }

    node->type = type;

    if (p->depth == 0) {
        p->root = node;
        return node;
    }

    parent = p->stack[p->depth - 1];

    if (parent->type == NGX_HTTP_CHANTIER_JSON_OBJECT) {
        node->key = p->key;
        ngx_str_null(&p->key);
    }

    if (p->last[p->depth - 1] == NULL) {
        parent->child = node;

    } else {
        p->last[p->depth - 1]->next = node;
    }

    p->last[p->depth - 1] = node;
    parent->count++;

    return node;
}


static ngx_int_t
ngx_http_chantier_json_copy_text(ngx_http_chantier_json_parser_t *p,
    ngx_str_t *dst, const unsigned char *src, size_t len)
{
    switch (ngx_http_chantier_json_check_text(src, len)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_http_chantier_json_set_error(p,
                       "Le caractère U+0000 n'est pas accepté dans un texte.",
                       0);
        return NGX_ERROR;

    default:
        /* the message is written by the caller, who knows the position */
        p->utf8 = 1;
        return NGX_ERROR;
    }

    /* the text is yajl's (input or decode buffer) only during the call */

    dst->data = ngx_pnalloc(p->pool, len ? len : 1);
    if (dst->data == NULL) {
        p->nomem = 1;
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->len = len;

    return NGX_OK;
}


/*
 * Strict UTF-8 (RFC 3629): shortest form only, no surrogates, nothing above
 * U+10FFFF.  NGX_DECLINED for a NUL, NGX_ERROR for anything else refused.
 */

ngx_int_t
ngx_http_chantier_json_check_text(const u_char *p, size_t len)
{
    u_char         c, lo, hi;
    ngx_uint_t     n;
    const u_char  *last;

    last = p + len;

    while (p < last) {
        c = *p++;

        if (c < 0x80) {
            if (c == 0) {
                return NGX_DECLINED;
            }

            continue;
        }

        /* the range of the second byte depends on the first */

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c == 0xe0) {
            n = 2;
            lo = 0xa0;

        } else if (c == 0xed) {
            n = 2;
            hi = 0x9f;

        } else if (c >= 0xe1 && c <= 0xef) {
            n = 2;

        } else if (c == 0xf0) {
            n = 3;
            lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            n = 3;

        } else if (c == 0xf4) {
            n = 3;
            hi = 0x8f;

        } else {
            return NGX_ERROR;
        }

        if ((size_t) (last - p) < n || *p < lo || *p > hi) {
            return NGX_ERROR;
        }

        p++;

        while (--n) {
            if (*p < 0x80 || *p > 0xbf) {
                return NGX_ERROR;
            }

            p++;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_json_check_keys(ngx_http_chantier_json_parser_t *p,
    ngx_http_chantier_json_t *object)
{
    u_char                     *msg, *last;
    size_t                      len;
    ngx_uint_t                  i, j, n;
    ngx_http_chantier_json_t   *a, *b, **sorted;

    a = NULL;
    b = NULL;
    n = object->count;

    if (n < 2) {
        return NGX_OK;
    }

    if (n <= NGX_HTTP_CHANTIER_JSON_SMALL_OBJECT) {

        for (a = object->child; a; a = a->next) {
            for (b = a->next; b; b = b->next) {
                if (a->key.len == b->key.len
                    && ngx_memcmp(a->key.data, b->key.data, a->key.len) == 0)
                {
                    goto duplicate;
                }
            }
        }

        return NGX_OK;
    }

    /*
     * A pointer array in the pool: at most 8 bytes per member, and every
     * member already costs a node, so this does not change the order of
     * memory a body can make us use.
     */

    sorted = ngx_palloc(p->pool, n * sizeof(ngx_http_chantier_json_t *));
    if (sorted == NULL) {
        p->nomem = 1;
        return NGX_ERROR;
    }

    for (a = object->child, i = 0; a; a = a->next, i++) {
        sorted[i] = a;
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_chantier_json_t *),
              ngx_http_chantier_json_cmp_keys);

    for (j = 1; j < n; j++) {
        if (ngx_http_chantier_json_cmp_keys(&sorted[j - 1], &sorted[j]) == 0) {
            a = sorted[j];
            goto duplicate;
        }
    }

    return NGX_OK;

duplicate:

    /* repeat the key, cut at a character boundary if it is long */

    len = a->key.len;

    if (len > NGX_HTTP_CHANTIER_JSON_KEY_SHOWN) {
        len = NGX_HTTP_CHANTIER_JSON_KEY_SHOWN;

        while (len && (a->key.data[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    msg = ngx_pnalloc(p->pool, sizeof("Clé en double : « » .") - 1 + len
                               + sizeof("…") - 1);
    if (msg == NULL) {
        p->nomem = 1;
        return NGX_ERROR;
    }

    last = ngx_sprintf(msg, "Clé en double : « %*s%s ».", len, a->key.data,
                       len < a->key.len ? "…" : "");

    p->error->data = msg;
    p->error->len = last - msg;
    p->failed = 1;

    return NGX_ERROR;
}


static int ngx_libc_cdecl
ngx_http_chantier_json_cmp_keys(const void *one, const void *two)
{
    ngx_int_t                  rc;
    ngx_http_chantier_json_t  *a, *b;

    a = *(ngx_http_chantier_json_t **) one;
    b = *(ngx_http_chantier_json_t **) two;

    rc = ngx_memcmp(a->key.data, b->key.data, ngx_min(a->key.len, b->key.len));

    if (rc != 0) {
        return rc;
    }

    return (a->key.len > b->key.len) - (a->key.len < b->key.len);
}


/*
 * Runs on the first "len" bytes of text yajl has accepted, so every
 * backslash is inside a string and starts a well-formed escape.  A high
 * surrogate must be followed at once by an escaped low one; a low one must
 * follow a high one.  Sets *error and returns NGX_ERROR otherwise.
 */

static ngx_int_t
ngx_http_chantier_json_check_surrogates(ngx_http_chantier_json_parser_t *p,
    ngx_str_t *in, size_t len)
{
    u_char     *s, *last, *msg, *end;
    ngx_int_t   c, low;

    s = in->data;
    last = s + len;

    for ( ;; ) {
        s = ngx_strlchr(s, last, '\\');

        if (s == NULL) {
            return NGX_OK;
        }

        if (last - s < 6 || s[1] != 'u') {
            s += 2;
            continue;
        }

        c = ngx_http_chantier_json_hex4(s + 2);

        if (c >= 0xd800 && c <= 0xdbff) {

            if (last - s >= 12 && s[6] == '\\' && s[7] == 'u') {
                low = ngx_http_chantier_json_hex4(s + 8);

                if (low >= 0xdc00 && low <= 0xdfff) {
                    s += 12;
                    continue;
                }
            }

            break;
        }

        if (c >= 0xdc00 && c <= 0xdfff) {
            break;
        }

        s += 6;
    }

    msg = ngx_pnalloc(p->pool,
                      sizeof("Séquence \\uXXXX invalide (octet ).") - 1
                      + NGX_SIZE_T_LEN);
    if (msg == NULL) {
        p->nomem = 1;
        ngx_str_null(p->error);
        return NGX_ERROR;
    }

    p->failed = 1;

    end = ngx_sprintf(msg, "Séquence \\u%*s invalide (octet %uz).",
                      (size_t) 4, s + 2, (size_t) (s - in->data) + 1);

    p->error->data = msg;
    p->error->len = end - msg;

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_chantier_json_hex4(const u_char *p)
{
    u_char      c;
    ngx_int_t   n;
    ngx_uint_t  i;

    n = 0;

    for (i = 0; i < 4; i++) {
        c = p[i] | 0x20;

        if (c >= '0' && c <= '9') {
            n = n * 16 + c - '0';

        } else if (c >= 'a' && c <= 'f') {
            n = n * 16 + c - 'a' + 10;

        } else {
            return -1;
        }
    }

    return n;
}


/*
 * yajl's message may quote the input; we only look at it to choose our own
 * words, and give the position as a 1-based byte number.
 */

static void
ngx_http_chantier_json_yajl_error(ngx_http_chantier_json_parser_t *p,
    yajl_handle yh, ngx_str_t *in, size_t offset)
{
    char           *text;
    unsigned char  *yerr;

    yerr = yajl_get_error(yh, 0, NULL, 0);

    if (yerr == NULL) {
        text = "Le corps de la requête n'est pas un JSON valide";

    } else if (ngx_strstr(yerr, "UTF8")) {
        text = "Texte UTF-8 invalide";

    } else if (ngx_strstr(yerr, "comment")) {
        text = "Les commentaires ne sont pas acceptés en JSON";

    } else if (ngx_strstr(yerr, "trailing garbage")) {
        text = "Contenu en trop après la valeur JSON";

    } else if (ngx_strstr(yerr, "premature EOF")) {
        /* a full sentence: no position, it is the end of the input */
        text = "Le JSON est incomplet.";
        offset = 0;

    } else {
        text = "Le corps de la requête n'est pas un JSON valide";
    }

    if (yerr) {
        yajl_free_error(yh, yerr);
    }

    if (text[ngx_strlen(text) - 1] == '.') {
        ngx_http_chantier_json_set_error(p, text, 0);
        return;
    }

    if (offset > in->len) {
        offset = in->len;
    }

    ngx_http_chantier_json_set_error(p, text, offset ? offset : 1);
}


/* a fixed French text, with " (octet N)." when offset is not 0 */

static void
ngx_http_chantier_json_set_error(ngx_http_chantier_json_parser_t *p,
    const char *text, size_t offset)
{
    u_char  *msg, *last;
    size_t   len;

    if (p->failed) {
        return;
    }

    p->failed = 1;

    len = ngx_strlen(text);

    if (offset == 0) {
        p->error->data = (u_char *) text;
        p->error->len = len;
        return;
    }

    msg = ngx_pnalloc(p->pool, len + sizeof(" (octet ).") - 1
                               + NGX_SIZE_T_LEN);
    if (msg == NULL) {
        p->nomem = 1;
        return;
    }

    last = ngx_sprintf(msg, "%s (octet %uz).", text, offset);

    p->error->data = msg;
    p->error->len = last - msg;
}
