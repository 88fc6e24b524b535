/*
 * Password hashing with scrypt through OpenSSL 3's EVP_KDF "SCRYPT".
 *
 * The code keeps no mutable static state: every call works on its own stack
 * buffers and its own KDF context, so it is safe in any number of threads at
 * once (OpenSSL 3 itself is thread-safe without set-up).
 */


#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "chantier_password.h"


/* parameters of new hashes: N = 2^14, 16 MiB of memory, about 50 ms */
#define CHANTIER_PASSWORD_LN         14
#define CHANTIER_PASSWORD_R          8
#define CHANTIER_PASSWORD_P          1

#define CHANTIER_PASSWORD_SALT_LEN   16
#define CHANTIER_PASSWORD_KEY_LEN    32

/*
 * Bounds accepted in a stored hash.  Anything outside is refused rather than
 * computed: a corrupted or hostile row must not make a worker thread spend
 * seconds or gigabytes.  The memory bound (128 * r * N bytes) is checked on
 * its own because ln and r at their maxima together would need 4 GiB.
 */
#define CHANTIER_PASSWORD_LN_MIN     10
#define CHANTIER_PASSWORD_LN_MAX     20
#define CHANTIER_PASSWORD_R_MAX      32
#define CHANTIER_PASSWORD_P_MAX      16
#define CHANTIER_PASSWORD_MEM_MAX    (64 * 1024 * 1024)
#define CHANTIER_PASSWORD_SALT_MIN   8
#define CHANTIER_PASSWORD_SALT_MAX   64

#define CHANTIER_PASSWORD_PREFIX     "$scrypt$"


typedef struct {
    unsigned       ln;
    unsigned       r;
    unsigned       p;
    unsigned char  salt[CHANTIER_PASSWORD_SALT_MAX];
    size_t         salt_len;
    unsigned char  key[CHANTIER_PASSWORD_KEY_LEN];
} chantier_password_params_t;


static int chantier_password_derive(const char *password, size_t len,
    const chantier_password_params_t *params,
    unsigned char key[CHANTIER_PASSWORD_KEY_LEN]);
static int chantier_password_parse(const char *stored,
    chantier_password_params_t *params);
static const char *chantier_password_parse_uint(const char *s,
    const char *name, unsigned *value);
static const char *chantier_password_parse_base64(const char *s,
    unsigned char *out, size_t min, size_t max, size_t *len);
static int chantier_password_base64_value(int c);


/*
 * A fixed hash spent against when there is no stored hash (unknown login) or
 * when the stored one is malformed, so that these cases take the time of a
 * real verification.  Its parameters are those of new hashes.
 */
static const chantier_password_params_t  chantier_password_dummy = {
    CHANTIER_PASSWORD_LN, CHANTIER_PASSWORD_R, CHANTIER_PASSWORD_P,
    "chantier-dummy-salt", 16,
    { 0 }
};


int
chantier_password_hash(const char *password, size_t len,
    char out[CHANTIER_PASSWORD_HASH_MAX])
{
    int                          n;
    char                        *p;
    chantier_password_params_t   params;

    params.ln = CHANTIER_PASSWORD_LN;
    params.r = CHANTIER_PASSWORD_R;
    params.p = CHANTIER_PASSWORD_P;
    params.salt_len = CHANTIER_PASSWORD_SALT_LEN;

    if (RAND_bytes(params.salt, CHANTIER_PASSWORD_SALT_LEN) != 1) {
        return -1;
    }

    if (chantier_password_derive(password, len, &params, params.key) != 0) {
        return -1;
    }

    /*
     * "$scrypt$ln=14,r=8,p=1$" is 22 characters, the salt 24 and the key 44
     * in base64, 92 in all with the separator and the NUL: well under
     * CHANTIER_PASSWORD_HASH_MAX.
     */

    p = out;
    n = snprintf(p, CHANTIER_PASSWORD_HASH_MAX, CHANTIER_PASSWORD_PREFIX
                 "ln=%u,r=%u,p=%u$", params.ln, params.r, params.p);
    p += n;
    p += EVP_EncodeBlock((unsigned char *) p, params.salt,
                         (int) params.salt_len);
    *p++ = '$';
    p += EVP_EncodeBlock((unsigned char *) p, params.key,
                         CHANTIER_PASSWORD_KEY_LEN);
    *p = '\0';

    OPENSSL_cleanse(params.key, sizeof(params.key));

    return 0;
}


int
chantier_password_verify(const char *password, size_t len,
    const char *stored)
{
    int                          ok;
    unsigned char                key[CHANTIER_PASSWORD_KEY_LEN];
    chantier_password_params_t   params;

    if (stored == NULL || chantier_password_parse(stored, &params) != 0) {
        /* spend the time of a verification, then refuse */
        (void) chantier_password_derive(password, len,
                                        &chantier_password_dummy, key);
        OPENSSL_cleanse(key, sizeof(key));
        return 0;
    }

    if (chantier_password_derive(password, len, &params, key) != 0) {
        return 0;
    }

    ok = CRYPTO_memcmp(key, params.key, CHANTIER_PASSWORD_KEY_LEN) == 0;

    OPENSSL_cleanse(key, sizeof(key));

    return ok;
}


static int
chantier_password_derive(const char *password, size_t len,
    const chantier_password_params_t *params,
    unsigned char key[CHANTIER_PASSWORD_KEY_LEN])
{
    int            rc;
    uint64_t       n, maxmem;
    uint32_t       r, p;
    EVP_KDF       *kdf;
    OSSL_PARAM     list[7], *lp;
    EVP_KDF_CTX   *ctx;

    n = (uint64_t) 1 << params->ln;
    r = params->r;
    p = params->p;

    /* the KDF wants room for V (128 * r * N) and B (128 * r * p) */
    maxmem = 128 * (uint64_t) r * (n + p) + 1024 * 1024;

    kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
    if (kdf == NULL) {
        return -1;
    }

    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);

    if (ctx == NULL) {
        return -1;
    }

    lp = list;
    *lp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                              (void *) password, len);
    *lp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                              (void *) params->salt,
                                              params->salt_len);
    *lp++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    *lp++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    *lp++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    *lp++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
                                        &maxmem);
    *lp = OSSL_PARAM_construct_end();

    rc = EVP_KDF_derive(ctx, key, CHANTIER_PASSWORD_KEY_LEN, list);

    EVP_KDF_CTX_free(ctx);

    return rc == 1 ? 0 : -1;
}


/*
 * Parses "$scrypt$ln=14,r=8,p=1$<salt>$<key>" strictly: the parameters in
 * that order, decimal without sign or leading zeros, within the bounds above;
 * canonical base64 with padding; nothing after the key.
 */

static int
chantier_password_parse(const char *stored,
    chantier_password_params_t *params)
{
    size_t       key_len;
    const char  *s;

    if (strncmp(stored, CHANTIER_PASSWORD_PREFIX,
                sizeof(CHANTIER_PASSWORD_PREFIX) - 1)
        != 0)
    {
        return -1;
    }

    s = stored + sizeof(CHANTIER_PASSWORD_PREFIX) - 1;

    s = chantier_password_parse_uint(s, "ln=", &params->ln);
    if (s == NULL || *s++ != ',') {
        return -1;
    }

    s = chantier_password_parse_uint(s, "r=", &params->r);
    if (s == NULL || *s++ != ',') {
        return -1;
    }

    s = chantier_password_parse_uint(s, "p=", &params->p);
    if (s == NULL || *s++ != '$') {
        return -1;
    }

    if (params->ln < CHANTIER_PASSWORD_LN_MIN
        || params->ln > CHANTIER_PASSWORD_LN_MAX
        || params->r < 1 || params->r > CHANTIER_PASSWORD_R_MAX
        || params->p < 1 || params->p > CHANTIER_PASSWORD_P_MAX
        || ((uint64_t) 128 * params->r << params->ln)
           > CHANTIER_PASSWORD_MEM_MAX)
    {
        return -1;
    }

    s = chantier_password_parse_base64(s, params->salt,
                                       CHANTIER_PASSWORD_SALT_MIN,
                                       CHANTIER_PASSWORD_SALT_MAX,
                                       &params->salt_len);
    if (s == NULL || *s++ != '$') {
        return -1;
    }

    s = chantier_password_parse_base64(s, params->key,
                                       CHANTIER_PASSWORD_KEY_LEN,
                                       CHANTIER_PASSWORD_KEY_LEN, &key_len);
    if (s == NULL || *s != '\0') {
        return -1;
    }

    return 0;
}


static const char *
chantier_password_parse_uint(const char *s, const char *name, unsigned *value)
{
    size_t  len;

    len = strlen(name);

    if (strncmp(s, name, len) != 0) {
        return NULL;
    }

    s += len;

    /* one or two digits, no leading zero: the bounds need no more */

    if (*s < '1' || *s > '9') {
        return NULL;
    }

    *value = (unsigned) (*s++ - '0');

    if (*s >= '0' && *s <= '9') {
        *value = *value * 10 + (unsigned) (*s++ - '0');
    }

    if (*s >= '0' && *s <= '9') {
        return NULL;
    }

    return s;
}


/*
 * Decodes standard base64 with padding up to the next '$' or the end of the
 * string, into at most max bytes; fewer than min is an error.  Unused bits of
 * the last group must be zero, so that every value has one spelling only.
 * Returns the position after the encoded text, or NULL.
 */

static const char *
chantier_password_parse_base64(const char *s, unsigned char *out, size_t min,
    size_t max, size_t *len)
{
    int       v[4];
    size_t    n, i, pad;
    uint32_t  group;

    n = strcspn(s, "$");

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2) {
        return NULL;
    }

    pad = 0;

    if (s[n - 1] == '=') {
        pad = (s[n - 2] == '=') ? 2 : 1;
    }

    *len = 0;

    for (i = 0; i < n; i += 4) {

        v[0] = chantier_password_base64_value(s[i]);
        v[1] = chantier_password_base64_value(s[i + 1]);
        v[2] = (i + 4 == n && pad == 2)
               ? 0 : chantier_password_base64_value(s[i + 2]);
        v[3] = (i + 4 == n && pad >= 1)
               ? 0 : chantier_password_base64_value(s[i + 3]);

        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
            return NULL;
        }

        group = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12
                | (uint32_t) v[2] << 6 | (uint32_t) v[3];

        if (i + 4 == n && pad > 0) {
            /* bits below the last encoded byte must be zero */
            if ((pad == 2 && (group & 0xffff) != 0)
                || (pad == 1 && (group & 0xff) != 0))
            {
                return NULL;
            }
        }

        if (*len + 3 - (i + 4 == n ? pad : 0) > max) {
            return NULL;
        }

        out[(*len)++] = (unsigned char) (group >> 16);

        if (i + 4 < n || pad < 2) {
            out[(*len)++] = (unsigned char) (group >> 8);
        }

        if (i + 4 < n || pad < 1) {
            out[(*len)++] = (unsigned char) group;
        }
    }

    if (*len < min) {
        return NULL;
    }

    return s + n;
}


static int
chantier_password_base64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;  /* including '=' anywhere but the padding handled above */
}
