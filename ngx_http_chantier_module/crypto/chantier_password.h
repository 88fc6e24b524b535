/*
 * Password hashing with scrypt (OpenSSL 3 EVP_KDF "SCRYPT").  Plain C with no
 * nginx dependency: it runs in an nginx thread pool task and in chantierctl.
 *
 * Stored format (parameters travel with the hash, so they can change later):
 *     $scrypt$ln=14,r=8,p=1$<salt, base64>$<32-byte key, base64>
 * base64 is standard with padding; the salt has 16 random bytes.
 */

#ifndef _CHANTIER_PASSWORD_H_INCLUDED_
#define _CHANTIER_PASSWORD_H_INCLUDED_


#include <stddef.h>


#define CHANTIER_PASSWORD_HASH_MAX  160      /* including the final NUL */
#define CHANTIER_PASSWORD_MIN_LEN   10
#define CHANTIER_PASSWORD_MAX_LEN   256


/*
 * Hashes password[0..len) into out (NUL-terminated).  Returns 0 or -1 (the
 * random generator or the KDF failed).
 */
int chantier_password_hash(const char *password, size_t len,
    char out[CHANTIER_PASSWORD_HASH_MAX]);

/*
 * Returns 1 when password matches "stored", 0 when it does not or when
 * "stored" is malformed.  Compares in constant time.  With stored == NULL it
 * still spends the time of one verification and returns 0, so that an unknown
 * login costs what a wrong password costs.
 */
int chantier_password_verify(const char *password, size_t len,
    const char *stored);


#endif /* _CHANTIER_PASSWORD_H_INCLUDED_ */
