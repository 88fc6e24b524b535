/*
 * Unit test of crypto/chantier_password.c, printing TAP for prove:
 *
 *   gcc -Wall -Wextra -Werror -O2 -Ingx_http_chantier_module/crypto \
 *       t/unit/password_test.c \
 *       ngx_http_chantier_module/crypto/chantier_password.c \
 *       -lcrypto -o build/password_test
 *   prove -e '' build/password_test
 */


#include <stdio.h>
#include <string.h>

#include "chantier_password.h"


#include "tap.h"


static int
verify(const char *password, const char *stored)
{
    return chantier_password_verify(password, strlen(password), stored);
}


int
main(void)
{
    int          rc;
    char         hash[CHANTIER_PASSWORD_HASH_MAX];
    char         other[CHANTIER_PASSWORD_HASH_MAX];
    const char  *pw = "chantier-demo";

    /* RFC 7914 test vector 3, first 32 bytes of the key (PBKDF2 blocks) */
    static const char  rfc[] = "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
                               "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=";

    static const char  *malformed[] = {
        "",
        "$scrypt$",
        "$bcrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=9,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=21,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=20,r=32,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=14,r=0,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=14,r=8,p=17$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=014,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$r=8,ln=14,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU"
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=$",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofJ=",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdof==",
        "$scrypt$ln=14,r=8,p=1$U29k"
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "$scrypt$ln=14,r=8,p=1$U29kaXVt Q2hsb3JpZGU="
            "$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        NULL
    };

    rc = chantier_password_hash(pw, strlen(pw), hash);
    ok(rc == 0, "hash succeeds");
    ok(strncmp(hash, "$scrypt$ln=14,r=8,p=1$", 22) == 0
       && strlen(hash) == 22 + 24 + 1 + 44, "hash has the documented format");
    ok(verify(pw, hash) == 1, "hash then verify");
    ok(verify("chantier-demO", hash) == 0, "wrong password refused");
    ok(verify("", hash) == 0, "empty password refused");
    ok(chantier_password_verify(pw, strlen(pw) - 1, hash) == 0,
       "length is honoured");

    rc = chantier_password_hash(pw, strlen(pw), other);
    ok(rc == 0 && strcmp(hash, other) != 0, "salts differ between hashes");
    ok(verify(pw, other) == 1, "second hash verifies");

    ok(verify("pleaseletmein", rfc) == 1, "RFC 7914 vector verifies");
    ok(verify("pleaseletmeim", rfc) == 0, "RFC 7914 vector, wrong password");

    ok(verify(pw, NULL) == 0, "NULL stored returns 0");
    ok(verify("", NULL) == 0, "NULL stored, empty password returns 0");

    for (rc = 0; malformed[rc] != NULL; rc++) {
        char  name[64];

        snprintf(name, sizeof(name), "malformed stored #%d refused", rc);
        ok(verify("pleaseletmein", malformed[rc]) == 0, name);
    }

    return tap_done();
}
