/*
 * JSON in and out.  Request bodies are parsed with yajl into a small tree in
 * the request pool; the parser refuses what we never want to handle: invalid
 * UTF-8, comments, nesting deeper than NGX_HTTP_CHANTIER_JSON_MAX_DEPTH,
 * duplicate keys, NUL characters in strings.
 */

#ifndef _NGX_HTTP_CHANTIER_JSON_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "../ngx_http_chantier_module.h"


#define NGX_HTTP_CHANTIER_JSON_MAX_DEPTH   32

/*
 * Values (64-byte nodes) in one body: a Delta at its 20,000 characters,
 * one op per character with two attributes, makes 100,002; twice that is
 * 12.8 MB of tree at the most, where 1 MiB of "[0,0,..." made 34 MB.  The
 * routes with small bodies have smaller byte limits besides.
 */
#define NGX_HTTP_CHANTIER_JSON_MAX_VALUES  200000


typedef enum {
    NGX_HTTP_CHANTIER_JSON_NULL = 0,
    NGX_HTTP_CHANTIER_JSON_FALSE,
    NGX_HTTP_CHANTIER_JSON_TRUE,
    NGX_HTTP_CHANTIER_JSON_NUMBER,     /* text kept as written */
    NGX_HTTP_CHANTIER_JSON_STRING,     /* unescaped UTF-8, not NUL-terminated */
    NGX_HTTP_CHANTIER_JSON_ARRAY,
    NGX_HTTP_CHANTIER_JSON_OBJECT
} ngx_http_chantier_json_type_e;


struct ngx_http_chantier_json_s {
    ngx_http_chantier_json_type_e   type;
    ngx_str_t                       key;       /* when a member of an object */
    ngx_str_t                       value;     /* NUMBER and STRING */
    ngx_http_chantier_json_t       *child;     /* first member / element */
    ngx_http_chantier_json_t       *next;      /* next sibling */
    ngx_uint_t                      count;     /* members / elements */
};


/*
 * Parses "in" into *root.  NGX_OK; NGX_DECLINED for a body that is not
 * JSON we accept, NGX_ABORT for one of more than
 * NGX_HTTP_CHANTIER_JSON_MAX_VALUES values (413), *error then being a
 * short French sentence saying what is wrong, for the "message" of the
 * answer; NGX_ERROR when the pool ran out of memory (500).
 */
ngx_int_t ngx_http_chantier_json_parse(ngx_pool_t *pool, ngx_str_t *in,
    ngx_http_chantier_json_t **root, ngx_str_t *error);

/* the member "key" of an object, or NULL */
ngx_http_chantier_json_t *ngx_http_chantier_json_get(
    ngx_http_chantier_json_t *object, const char *key);

/*
 * Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
 * NGX_OK, NGX_DECLINED for a NUL character, NGX_ERROR for invalid bytes.
 */
ngx_int_t ngx_http_chantier_json_check_text(const u_char *p, size_t len);

/* takes the member "key" out of an object; NGX_DECLINED when absent */
ngx_int_t ngx_http_chantier_json_remove(ngx_http_chantier_json_t *object,
    const char *key);

/*
 * The JSON text of a parsed value, NUL-terminated, in the pool: numbers as
 * they were written, strings escaped again, members in their order.
 * NGX_ERROR when memory runs out.
 */
ngx_int_t ngx_http_chantier_json_print(ngx_pool_t *pool,
    ngx_http_chantier_json_t *value, ngx_str_t *out);

/* a NUL-terminated copy of a STRING value, or NULL for other types */
char *ngx_http_chantier_json_cstring(ngx_pool_t *pool,
    ngx_http_chantier_json_t *value);

/*
 * Writes "in" as a JSON string literal, quotes included, escaping ", \ and
 * control characters.  Returns the end of what was written; the caller gives
 * room for ngx_http_chantier_json_escaped_len(in) bytes.
 */
size_t ngx_http_chantier_json_escaped_len(ngx_str_t *in);
u_char *ngx_http_chantier_json_escape(u_char *dst, ngx_str_t *in);


#endif /* _NGX_HTTP_CHANTIER_JSON_H_INCLUDED_ */
