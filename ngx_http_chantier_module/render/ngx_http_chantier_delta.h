/*
 * Rich text of posts: Quill Delta documents ({"ops":[...]}), checked against
 * the allow-list of SPEC §4 before PostgreSQL stores them as they are.
 */

#ifndef _NGX_HTTP_CHANTIER_DELTA_H_INCLUDED_
#define _NGX_HTTP_CHANTIER_DELTA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "../core/ngx_http_chantier_json.h"


#define NGX_HTTP_CHANTIER_DELTA_MAX_OPS       10000
#define NGX_HTTP_CHANTIER_DELTA_MAX_TEXT      20000    /* code points */
#define NGX_HTTP_CHANTIER_DELTA_MAX_LINK      2000     /* bytes */
#define NGX_HTTP_CHANTIER_DELTA_MAX_ALT       200      /* characters */


/* says whether "photo:<id>" names a photo of the fiche being written */
typedef ngx_int_t (*ngx_http_chantier_delta_photo_pt)(void *data, int64_t id);


/*
 * Checks a Delta already parsed by ngx_http_chantier_json_parse() (so its
 * texts are valid UTF-8 without NUL).  With photo_ok NULL every image is
 * refused.
 *
 * Returns NGX_OK; NGX_DECLINED with *error set to a French sentence for a
 * 400 answer, naming the offending op by its position counted from 1
 * ("Opération 3 : attribut « font » non autorisé."); NGX_ABORT, with
 * *error set likewise, when a limit of size is passed (a 413 answer); or
 * NGX_ERROR when the pool ran out of memory or photo_ok() failed.
 */
ngx_int_t ngx_http_chantier_delta_validate(ngx_pool_t *pool,
    ngx_http_chantier_json_t *delta, ngx_http_chantier_delta_photo_pt photo_ok,
    void *data, ngx_str_t *error);

/*
 * For a validated Delta: 1 when it shows nothing, i.e. has no image and its
 * text is only spaces, tabs and newlines (an editor left empty sends
 * {"ops":[{"insert":"\n"}]}).
 */
ngx_uint_t ngx_http_chantier_delta_is_blank(ngx_http_chantier_json_t *delta);


#endif /* _NGX_HTTP_CHANTIER_DELTA_H_INCLUDED_ */
