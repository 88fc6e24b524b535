
/*
 * Validation of Quill Deltas (SPEC §4).
 *
 * A post body is stored as the client sent it and later rendered by the
 * browser (DOM calls) and by the PDF export, so everything those renderers
 * will meet is decided here, by an allow-list:
 *
 *   {"ops": [op, ...]}, nothing else, 1 to 10,000 ops;
 *   op: {"insert": text | {"image": "photo:<id>"}, "attributes": {...}?};
 *       no "retain" or "delete": a stored document is made of inserts only;
 *   text: not empty, no control character but newline and tab (C0, DEL and
 *       the C1 range U+0080-U+009F are refused), 20,000 characters in all,
 *       an image counting as one;
 *   attributes: bold, italic, underline, strike (true), size (small, large,
 *       huge), link (http, https, mailto), alt on an image only (its
 *       description, one line of at most 200 characters), and the line
 *       formats header
 *       (1, 2, 3) and list (bullet, ordered), which Quill puts on the
 *       newline ending the line: they are accepted only on a text made of
 *       newlines, and not both on one op.
 *
 * Decisions beyond SPEC §4:
 *
 *   - ops are named by their position counted from 1 in the messages;
 *   - a document need not end with a newline: Quill ends every document it
 *     writes with one and adds it when it loads one without (setContents),
 *     so the renderers must do the same, and an API client that forgets it
 *     is not refused for it;
 *   - attribute values are exactly those Quill writes: true, never false or
 *     null (which only mean something in a change, not in a document);
 *     header as the JSON number 1, 2 or 3, not "1" or 1.0;
 *   - links: printable (no space, control character or backslash, which
 *     browsers would strip or turn into "/"), a scheme written in full
 *     (no relative link), http and https with a host and no user name
 *     ("https://bank.example@evil.example" is refused), mailto with an
 *     address;
 *   - an image id is written in decimal without leading zero, from 1 to
 *     what a bigint holds.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_chantier_delta.h"


/* how much of a client's text a message repeats */
#define NGX_HTTP_CHANTIER_DELTA_SHOWN  40


typedef struct {
    ngx_pool_t                        *pool;
    ngx_str_t                         *error;
    ngx_http_chantier_delta_photo_pt   photo_ok;
    void                              *data;
    ngx_uint_t                         op;         /* from 1; 0: document */
    ngx_uint_t                         length;     /* characters so far */
} ngx_http_chantier_delta_ctx_t;


typedef struct {
    ngx_str_t                          name;
    ngx_http_chantier_json_type_e      type;
    char                             **values;     /* NULL: any */
    unsigned                           block:1;    /* on newlines only */
    unsigned                           link:1;
    char                              *hint;       /* for a bad value */
    unsigned                           image:1;    /* on images only */
} ngx_http_chantier_delta_attr_t;


static ngx_int_t ngx_http_chantier_delta_too_large(
    ngx_http_chantier_delta_ctx_t *ctx, char *text);
static ngx_int_t ngx_http_chantier_delta_op(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_http_chantier_json_t *op);
static ngx_int_t ngx_http_chantier_delta_text(
    ngx_http_chantier_delta_ctx_t *ctx, ngx_str_t *text,
    ngx_uint_t *newlines);
static ngx_int_t ngx_http_chantier_delta_embed(
    ngx_http_chantier_delta_ctx_t *ctx, ngx_http_chantier_json_t *embed);
static ngx_int_t ngx_http_chantier_delta_alt(
    ngx_http_chantier_delta_ctx_t *ctx, ngx_str_t *alt);
static ngx_int_t ngx_http_chantier_delta_attributes(
    ngx_http_chantier_delta_ctx_t *ctx, ngx_http_chantier_json_t *attrs,
    ngx_uint_t newlines, ngx_uint_t image);
static ngx_int_t ngx_http_chantier_delta_link(
    ngx_http_chantier_delta_ctx_t *ctx, ngx_str_t *link);
static ngx_int_t ngx_http_chantier_delta_is(ngx_str_t *s, const char *text);
static ngx_int_t ngx_http_chantier_delta_fail(
    ngx_http_chantier_delta_ctx_t *ctx, const char *text, u_char *arg,
    size_t len);


static char  *ngx_http_chantier_delta_sizes[] = {
    "small", "large", "huge", NULL
};

static char  *ngx_http_chantier_delta_headers[] = {
    "1", "2", "3", NULL
};

static char  *ngx_http_chantier_delta_lists[] = {
    "bullet", "ordered", NULL
};


static ngx_http_chantier_delta_attr_t  ngx_http_chantier_delta_attrs[] = {

    { ngx_string("bold"), NGX_HTTP_CHANTIER_JSON_TRUE, NULL, 0, 0,
      "« bold » doit valoir true.", 0 },

    { ngx_string("italic"), NGX_HTTP_CHANTIER_JSON_TRUE, NULL, 0, 0,
      "« italic » doit valoir true.", 0 },

    { ngx_string("underline"), NGX_HTTP_CHANTIER_JSON_TRUE, NULL, 0, 0,
      "« underline » doit valoir true.", 0 },

    { ngx_string("strike"), NGX_HTTP_CHANTIER_JSON_TRUE, NULL, 0, 0,
      "« strike » doit valoir true.", 0 },

    { ngx_string("size"), NGX_HTTP_CHANTIER_JSON_STRING,
      ngx_http_chantier_delta_sizes, 0, 0,
      "« size » doit valoir \"small\", \"large\" ou \"huge\".", 0 },

    { ngx_string("link"), NGX_HTTP_CHANTIER_JSON_STRING, NULL, 0, 1,
      "« link » doit être un texte.", 0 },

    { ngx_string("header"), NGX_HTTP_CHANTIER_JSON_NUMBER,
      ngx_http_chantier_delta_headers, 1, 0,
      "« header » doit valoir 1, 2 ou 3.", 0 },

    { ngx_string("list"), NGX_HTTP_CHANTIER_JSON_STRING,
      ngx_http_chantier_delta_lists, 1, 0,
      "« list » doit valoir \"bullet\" ou \"ordered\".", 0 },

    { ngx_string("alt"), NGX_HTTP_CHANTIER_JSON_STRING, NULL, 0, 0,
      "« alt » doit être un texte.", 1 },

    { ngx_null_string, 0, NULL, 0, 0, NULL, 0 }
};


ngx_int_t
ngx_http_chantier_delta_validate(ngx_pool_t *pool,
    ngx_http_chantier_json_t *delta, ngx_http_chantier_delta_photo_pt photo_ok,
    void *data, ngx_str_t *error)
{
    ngx_int_t                       rc;
    ngx_http_chantier_json_t       *ops, *op;
    ngx_http_chantier_delta_ctx_t   ctx;

    ngx_str_null(error);

    ngx_memzero(&ctx, sizeof(ngx_http_chantier_delta_ctx_t));
    ctx.pool = pool;
    ctx.error = error;
    ctx.photo_ok = photo_ok;
    ctx.data = data;

    if (delta == NULL || delta->type != NGX_HTTP_CHANTIER_JSON_OBJECT) {
        return ngx_http_chantier_delta_fail(&ctx,
                     "Le texte doit être un document Quill : "
                     "un objet {\"ops\": [...]}.", NULL, 0);
    }

    for (ops = delta->child; ops; ops = ops->next) {
        if (!ngx_http_chantier_delta_is(&ops->key, "ops")) {
            return ngx_http_chantier_delta_fail(&ctx,
                     "Clé « %s » non autorisée dans le document : "
                     "seule « ops » est acceptée.",
                     ops->key.data, ops->key.len);
        }
    }

    ops = delta->child;

    if (ops == NULL) {
        return ngx_http_chantier_delta_fail(&ctx,
                     "Le document n'a pas de clé « ops ».", NULL, 0);
    }

    if (ops->type != NGX_HTTP_CHANTIER_JSON_ARRAY) {
        return ngx_http_chantier_delta_fail(&ctx,
                     "« ops » doit être un tableau d'opérations.", NULL, 0);
    }

    if (ops->count == 0) {
        return ngx_http_chantier_delta_fail(&ctx,
                     "Le document est vide : « ops » doit contenir "
                     "au moins une opération.", NULL, 0);
    }

    if (ops->count > NGX_HTTP_CHANTIER_DELTA_MAX_OPS) {
        return ngx_http_chantier_delta_too_large(&ctx,
                     "Le document a trop d'opérations (10 000 au plus).");
    }

    for (op = ops->child; op; op = op->next) {
        ctx.op++;

        rc = ngx_http_chantier_delta_op(&ctx, op);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_delta_op(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_http_chantier_json_t *op)
{
    ngx_int_t                  rc;
    ngx_uint_t                 newlines;
    ngx_http_chantier_json_t  *member, *insert, *attrs;

    if (op->type != NGX_HTTP_CHANTIER_JSON_OBJECT) {
        return ngx_http_chantier_delta_fail(ctx,
                     "une opération doit être un objet.", NULL, 0);
    }

    insert = NULL;
    attrs = NULL;

    for (member = op->child; member; member = member->next) {

        if (ngx_http_chantier_delta_is(&member->key, "insert")) {
            insert = member;

        } else if (ngx_http_chantier_delta_is(&member->key, "attributes")) {
            attrs = member;

        } else if (ngx_http_chantier_delta_is(&member->key, "delete")
                   || ngx_http_chantier_delta_is(&member->key, "retain"))
        {
            return ngx_http_chantier_delta_fail(ctx,
                     "« %s » non autorisé : un document ne contient que "
                     "des insertions (« insert »).",
                     member->key.data, member->key.len);

        } else {
            return ngx_http_chantier_delta_fail(ctx,
                     "clé « %s » non autorisée.",
                     member->key.data, member->key.len);
        }
    }

    if (insert == NULL) {
        return ngx_http_chantier_delta_fail(ctx, "« insert » manquant.",
                                            NULL, 0);
    }

    switch (insert->type) {

    case NGX_HTTP_CHANTIER_JSON_STRING:
        rc = ngx_http_chantier_delta_text(ctx, &insert->value, &newlines);
        break;

    case NGX_HTTP_CHANTIER_JSON_OBJECT:
        rc = ngx_http_chantier_delta_embed(ctx, insert);
        newlines = 0;
        break;

    default:
        return ngx_http_chantier_delta_fail(ctx,
                     "« insert » doit être un texte ou une image.", NULL, 0);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (attrs == NULL) {
        return NGX_OK;
    }

    if (attrs->type != NGX_HTTP_CHANTIER_JSON_OBJECT) {
        return ngx_http_chantier_delta_fail(ctx,
                     "« attributes » doit être un objet.", NULL, 0);
    }

    return ngx_http_chantier_delta_attributes(ctx, attrs, newlines,
                                  insert->type == NGX_HTTP_CHANTIER_JSON_OBJECT);
}


/*
 * Counts the characters of a text (the parser has checked its UTF-8, so
 * every byte that is not a continuation byte starts one) and refuses
 * control characters.  *newlines is 1 when the text is only "\n"s.
 */

static ngx_int_t
ngx_http_chantier_delta_text(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_str_t *text, ngx_uint_t *newlines)
{
    u_char      c, *p, *last, hex[sizeof("U+XXXX")];
    ngx_uint_t  n, cp;

    static u_char  digits[] = "0123456789ABCDEF";

    *newlines = 0;

    if (text->len == 0) {
        return ngx_http_chantier_delta_fail(ctx, "texte vide.", NULL, 0);
    }

    *newlines = 1;
    n = 0;

    p = text->data;
    last = p + text->len;

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (c != '\n') {
            *newlines = 0;
        }

        if ((c & 0xc0) != 0x80) {
            n++;
        }

        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            cp = c;
            goto control;
        }

        /* U+0080-U+009F: C2 80-C2 9F */

        if (c == 0xc2 && p + 1 < last && p[1] < 0xa0) {
            cp = p[1];
            goto control;
        }
    }

    ctx->length += n;

    if (ctx->length > NGX_HTTP_CHANTIER_DELTA_MAX_TEXT) {
        return ngx_http_chantier_delta_too_large(ctx,
                     "le texte dépasse 20 000 caractères.");
    }

    return NGX_OK;

control:

    ngx_memcpy(hex, "U+00", 4);
    hex[4] = digits[cp >> 4];
    hex[5] = digits[cp & 0xf];

    return ngx_http_chantier_delta_fail(ctx,
                     "caractère de contrôle %s non autorisé (seuls le saut "
                     "de ligne et la tabulation sont acceptés).", hex, 6);
}


/* {"image": "photo:<id>"}, the id naming a photo of the fiche */

static ngx_int_t
ngx_http_chantier_delta_embed(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_http_chantier_json_t *embed)
{
    u_char                    *p, *last;
    int64_t                    id;
    ngx_int_t                  rc;
    ngx_http_chantier_json_t  *image;

    image = embed->child;

    if (embed->count != 1) {
        return ngx_http_chantier_delta_fail(ctx,
                     "une image s'écrit {\"image\": \"photo:<numéro>\"}.",
                     NULL, 0);
    }

    if (!ngx_http_chantier_delta_is(&image->key, "image")) {
        return ngx_http_chantier_delta_fail(ctx,
                     "contenu intégré « %s » non autorisé : seules les "
                     "images sont acceptées.",
                     image->key.data, image->key.len);
    }

    if (image->type != NGX_HTTP_CHANTIER_JSON_STRING
        || image->value.len <= sizeof("photo:") - 1
        || ngx_strncmp(image->value.data, "photo:", sizeof("photo:") - 1)
           != 0)
    {
        goto invalid;
    }

    p = image->value.data + sizeof("photo:") - 1;
    last = image->value.data + image->value.len;

    if (*p == '0') {
        goto invalid;
    }

    for (id = 0; p < last; p++) {
        if (*p < '0' || *p > '9' || id > (INT64_MAX - 9) / 10) {
            goto invalid;
        }

        id = id * 10 + (*p - '0');
    }

    rc = ctx->photo_ok ? ctx->photo_ok(ctx->data, id) : NGX_DECLINED;

    if (rc == NGX_DECLINED) {
        return ngx_http_chantier_delta_fail(ctx,
                     "la photo %s n'appartient pas à cette fiche.",
                     image->value.data + sizeof("photo:") - 1,
                     image->value.len - (sizeof("photo:") - 1));
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->length++;

    if (ctx->length > NGX_HTTP_CHANTIER_DELTA_MAX_TEXT) {
        return ngx_http_chantier_delta_too_large(ctx,
                     "le texte dépasse 20 000 caractères.");
    }

    return NGX_OK;

invalid:

    return ngx_http_chantier_delta_fail(ctx,
                     "image non autorisée : seules les photos de la fiche "
                     "sont acceptées, sous la forme \"photo:<numéro>\".",
                     NULL, 0);
}


static ngx_int_t
ngx_http_chantier_delta_attributes(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_http_chantier_json_t *attrs, ngx_uint_t newlines, ngx_uint_t image)
{
    char                           **v;
    ngx_int_t                        rc;
    ngx_uint_t                       blocks;
    ngx_http_chantier_json_t        *a;
    ngx_http_chantier_delta_attr_t  *d;

    blocks = 0;

    for (a = attrs->child; a; a = a->next) {

        for (d = ngx_http_chantier_delta_attrs; d->name.len; d++) {
            if (a->key.len == d->name.len
                && ngx_strncmp(a->key.data, d->name.data, d->name.len) == 0)
            {
                break;
            }
        }

        if (d->name.len == 0) {
            return ngx_http_chantier_delta_fail(ctx,
                     "attribut « %s » non autorisé.",
                     a->key.data, a->key.len);
        }

        if (a->type != d->type) {
            return ngx_http_chantier_delta_fail(ctx, d->hint, NULL, 0);
        }

        if (d->values) {
            for (v = d->values; *v; v++) {
                if (ngx_http_chantier_delta_is(&a->value, *v)) {
                    break;
                }
            }

            if (*v == NULL) {
                return ngx_http_chantier_delta_fail(ctx, d->hint, NULL, 0);
            }
        }

        if (d->block) {
            if (!newlines) {
                return ngx_http_chantier_delta_fail(ctx,
                     "« %s » ne s'applique qu'à une fin de ligne "
                     "(une insertion faite de \"\\n\").",
                     d->name.data, d->name.len);
            }

            if (blocks++) {
                return ngx_http_chantier_delta_fail(ctx,
                     "« header » et « list » ne vont pas ensemble.",
                     NULL, 0);
            }
        }

        if (d->image) {
            if (!image) {
                return ngx_http_chantier_delta_fail(ctx,
                     "« %s » ne s'applique qu'à une image.",
                     d->name.data, d->name.len);
            }

            rc = ngx_http_chantier_delta_alt(ctx, &a->value);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (d->link) {
            rc = ngx_http_chantier_delta_link(ctx, &a->value);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


/*
 * The description of a photo, read aloud and shown under it: at most
 * NGX_HTTP_CHANTIER_DELTA_MAX_ALT characters, no control character (not
 * even a newline: it is one line).
 */

static ngx_int_t
ngx_http_chantier_delta_alt(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_str_t *alt)
{
    u_char      *p, *last;
    ngx_uint_t   n;

    n = 0;
    last = alt->data + alt->len;

    for (p = alt->data; p < last; p++) {

        if (*p < 0x20 || *p == 0x7f
            || (*p == 0xc2 && p + 1 < last && p[1] >= 0x80 && p[1] < 0xa0))
        {
            return ngx_http_chantier_delta_fail(ctx,
                     "« alt » ne peut contenir ni retour à la ligne ni "
                     "caractère de contrôle.", NULL, 0);
        }

        if ((*p & 0xc0) != 0x80) {
            n++;
        }
    }

    if (n > NGX_HTTP_CHANTIER_DELTA_MAX_ALT) {
        return ngx_http_chantier_delta_fail(ctx,
                     "« alt » dépasse 200 caractères.", NULL, 0);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_chantier_delta_link(ngx_http_chantier_delta_ctx_t *ctx,
    ngx_str_t *link)
{
    u_char     c, *p, *last, *host;
    ngx_str_t  scheme;

    if (link->len == 0) {
        return ngx_http_chantier_delta_fail(ctx, "lien vide.", NULL, 0);
    }

    if (link->len > NGX_HTTP_CHANTIER_DELTA_MAX_LINK) {
        return ngx_http_chantier_delta_fail(ctx,
                     "lien trop long (2 000 octets au plus).", NULL, 0);
    }

    p = link->data;
    last = p + link->len;

    /*
     * Browsers drop leading spaces and control characters and any tab or
     * newline inside a URL (" java\tscript:" is a javascript: link), and
     * read "\" as "/": such links are refused rather than interpreted.
     */

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (c <= 0x20 || c == 0x7f || c == '\\'
            || (c == 0xc2 && p + 1 < last && p[1] < 0xa0))
        {
            return ngx_http_chantier_delta_fail(ctx,
                     "lien invalide : il contient un espace, une barre "
                     "oblique inversée ou un caractère de contrôle.",
                     NULL, 0);
        }
    }

    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986) */

    for (p = link->data; p < last; p++) {
        c = ngx_tolower(*p);

        if ((c >= 'a' && c <= 'z')
            || (p > link->data
                && ((c >= '0' && c <= '9') || c == '+' || c == '-'
                    || c == '.')))
        {
            continue;
        }

        break;
    }

    if (p == link->data || p == last || *p != ':') {
        return ngx_http_chantier_delta_fail(ctx,
                     "lien sans protocole : écrivez-le en entier, "
                     "par exemple https://www.exemple.fr.", NULL, 0);
    }

    scheme.data = link->data;
    scheme.len = p - link->data;
    p++;

    if (scheme.len == 6
        && ngx_strncasecmp(scheme.data, (u_char *) "mailto", 6) == 0)
    {
        if (p == last) {
            return ngx_http_chantier_delta_fail(ctx,
                     "lien mailto sans adresse.", NULL, 0);
        }

        return NGX_OK;
    }

    if (!(scheme.len == 4
          && ngx_strncasecmp(scheme.data, (u_char *) "http", 4) == 0)
        && !(scheme.len == 5
             && ngx_strncasecmp(scheme.data, (u_char *) "https", 5) == 0))
    {
        return ngx_http_chantier_delta_fail(ctx,
                     "protocole « %s » non autorisé dans un lien : seuls "
                     "http, https et mailto sont acceptés.",
                     scheme.data, scheme.len);
    }

    /* "//" authority, the authority ending at "/", "?", "#" or the end */

    if (last - p < 2 || p[0] != '/' || p[1] != '/') {
        goto no_host;
    }

    p += 2;
    host = p;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        if (*p == '@') {
            return ngx_http_chantier_delta_fail(ctx,
                     "lien invalide : un nom d'utilisateur (avant « @ ») "
                     "n'est pas accepté dans un lien http.", NULL, 0);
        }

        p++;
    }

    if (p == host || *host == ':') {
        goto no_host;
    }

    return NGX_OK;

no_host:

    return ngx_http_chantier_delta_fail(ctx,
                     "lien http sans nom de site (https://nom.du.site/...).",
                     NULL, 0);
}


static ngx_int_t
ngx_http_chantier_delta_is(ngx_str_t *s, const char *text)
{
    size_t  len;

    len = ngx_strlen(text);

    return s->len == len && ngx_strncmp(s->data, text, len) == 0;
}


/*
 * Sets *error to "Opération <n> : <text>." (just "<text>" for the document
 * itself), the "%s" of text, if any, replaced by the arg given, shortened
 * at a character boundary if long.  Returns NGX_DECLINED, or NGX_ERROR when
 * there is no memory left for the message.
 */

/* a limit of size: the same message, but NGX_ABORT, for a 413 answer */

static ngx_int_t
ngx_http_chantier_delta_too_large(ngx_http_chantier_delta_ctx_t *ctx,
    char *text)
{
    ngx_int_t  rc;

    rc = ngx_http_chantier_delta_fail(ctx, text, NULL, 0);

    return (rc == NGX_DECLINED) ? NGX_ABORT : rc;
}


static ngx_int_t
ngx_http_chantier_delta_fail(ngx_http_chantier_delta_ctx_t *ctx,
    const char *text, u_char *arg, size_t len)
{
    u_char  *msg, *p, *mark;
    size_t   size, shown;

    mark = (u_char *) ngx_strstr(text, "%s");

    shown = 0;

    if (mark) {
        shown = ngx_min(len, NGX_HTTP_CHANTIER_DELTA_SHOWN);

        while (shown < len && shown && (arg[shown] & 0xc0) == 0x80) {
            shown--;
        }
    }

    size = sizeof("Opération  : ") - 1 + NGX_INT_T_LEN + ngx_strlen(text)
           + shown + sizeof("…") - 1;

    msg = ngx_pnalloc(ctx->pool, size);
    if (msg == NULL) {
        ngx_str_null(ctx->error);
        return NGX_ERROR;
    }

    p = msg;

    if (ctx->op) {
        p = ngx_sprintf(p, "Opération %ui : ", ctx->op);
    }

    if (mark == NULL) {
        p = ngx_cpymem(p, text, ngx_strlen(text));

    } else {
        p = ngx_cpymem(p, text, mark - (u_char *) text);
        p = ngx_cpymem(p, arg, shown);

        if (shown < len) {
            p = ngx_cpymem(p, "…", sizeof("…") - 1);
        }

        p = ngx_cpymem(p, mark + 2, ngx_strlen(mark + 2));
    }

    ctx->error->data = msg;
    ctx->error->len = p - msg;

    return NGX_DECLINED;
}


ngx_uint_t
ngx_http_chantier_delta_is_blank(ngx_http_chantier_json_t *delta)
{
    u_char                    *p, *last;
    ngx_http_chantier_json_t  *ops, *op, *insert;

    ops = ngx_http_chantier_json_get(delta, "ops");

    if (ops == NULL || ops->type != NGX_HTTP_CHANTIER_JSON_ARRAY) {
        return 1;
    }

    for (op = ops->child; op; op = op->next) {
        insert = ngx_http_chantier_json_get(op, "insert");

        if (insert == NULL) {
            continue;
        }

        if (insert->type != NGX_HTTP_CHANTIER_JSON_STRING) {
            return 0;
        }

        p = insert->value.data;
        last = p + insert->value.len;

        for ( /* void */ ; p < last; p++) {
            if (*p != ' ' && *p != '\t' && *p != '\n') {
                return 0;
            }
        }
    }

    return 1;
}
