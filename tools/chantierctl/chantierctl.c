/*
 * chantierctl: administration of the customer area from the command line,
 * mainly to create the first administrator of a new installation.
 *
 *     chantierctl user add --role admin --login claire < password.txt
 *
 * The password is read from standard input (the first line), or asked twice
 * without echo when standard input is a terminal; it never appears in the
 * command line, where other users of the machine could see it.  The account
 * is created through api.admin_user_create(), the function the web module
 * uses, so that the same checks apply.  A blocking libpq connection is fine
 * here: this is a command, not an nginx worker.
 */


#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "chantier_password.h"


#define CHANTIERCTL_DEFAULT_FIRST_NAME  "Administrateur"

/* room for the longest password, its end of line and the NUL */
#define CHANTIERCTL_LINE_MAX  (CHANTIER_PASSWORD_MAX_LEN + 3)


typedef struct {
    const char  *role;
    const char  *login;
    const char  *first_name;
    const char  *last_name;
    const char  *email;
    const char  *conninfo;
} chantierctl_user_t;


typedef struct {
    char    *data;
    size_t   len;
    size_t   size;
} chantierctl_buf_t;


static int chantierctl_user_add(int argc, char **argv);
static int chantierctl_read_password(char *password, size_t size);
static int chantierctl_read_line(const char *prompt, int echo_off,
    char *line, size_t size);
static void chantierctl_restore_tty(int signo);
static int chantierctl_json_add(chantierctl_buf_t *buf, const char *key,
    const char *value);
static int chantierctl_buf_append(chantierctl_buf_t *buf, const char *s,
    size_t len);
static int chantierctl_create(const chantierctl_user_t *user,
    const char *hash);
static void chantierctl_usage(FILE *out);


/*
 * The terminal settings to restore if the user interrupts the prompt while
 * echo is off.  A command runs one prompt at a time, so one copy is enough.
 */
static struct termios  chantierctl_saved_tty;
static volatile sig_atomic_t  chantierctl_tty_changed;


int
main(int argc, char **argv)
{
    if (argc >= 2
        && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    {
        chantierctl_usage(stdout);
        return 0;
    }

    if (argc >= 3 && strcmp(argv[1], "user") == 0
        && strcmp(argv[2], "add") == 0)
    {
        /* argv[2] stands for the program name, as getopt expects */
        return chantierctl_user_add(argc - 2, argv + 2);
    }

    chantierctl_usage(stderr);
    return 2;
}


static int
chantierctl_user_add(int argc, char **argv)
{
    int                  c, rc;
    char                 password[CHANTIERCTL_LINE_MAX];
    char                 hash[CHANTIER_PASSWORD_HASH_MAX];
    chantierctl_user_t   user;

    static const struct option  options[] = {
        { "role",       required_argument, NULL, 'r' },
        { "login",      required_argument, NULL, 'l' },
        { "first-name", required_argument, NULL, 'f' },
        { "last-name",  required_argument, NULL, 'n' },
        { "email",      required_argument, NULL, 'e' },
        { "db",         required_argument, NULL, 'd' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    memset(&user, 0, sizeof(user));

    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {

        switch (c) {

        case 'r':
            user.role = optarg;
            break;

        case 'l':
            user.login = optarg;
            break;

        case 'f':
            user.first_name = optarg;
            break;

        case 'n':
            user.last_name = optarg;
            break;

        case 'e':
            user.email = optarg;
            break;

        case 'd':
            user.conninfo = optarg;
            break;

        case 'h':
            chantierctl_usage(stdout);
            return 0;

        default:
            chantierctl_usage(stderr);
            return 2;
        }
    }

    if (optind < argc) {
        fprintf(stderr, "chantierctl: argument inattendu : %s\n",
                argv[optind]);
        return 2;
    }

    if (user.role == NULL || user.login == NULL) {
        fprintf(stderr, "chantierctl: --role et --login sont obligatoires\n");
        return 2;
    }

    if (user.first_name == NULL) {
        user.first_name = CHANTIERCTL_DEFAULT_FIRST_NAME;
    }

    if (user.last_name == NULL) {
        user.last_name = user.login;
    }

    if (chantierctl_read_password(password, sizeof(password)) != 0) {
        OPENSSL_cleanse(password, sizeof(password));
        return 1;
    }

    rc = chantier_password_hash(password, strlen(password), hash);

    OPENSSL_cleanse(password, sizeof(password));

    if (rc != 0) {
        fprintf(stderr, "chantierctl: le calcul de l'empreinte du mot de"
                " passe a échoué\n");
        return 1;
    }

    return chantierctl_create(&user, hash);
}


/*
 * Reads the password: from a terminal, asked twice without echo; otherwise
 * the first line of standard input.  Checks its length.
 */

static int
chantierctl_read_password(char *password, size_t size)
{
    int    rc;
    char   again[CHANTIERCTL_LINE_MAX];

    if (!isatty(STDIN_FILENO)) {
        if (chantierctl_read_line(NULL, 0, password, size) != 0) {
            return -1;
        }

    } else {
        if (chantierctl_read_line("Mot de passe : ", 1, password, size) != 0)
        {
            return -1;
        }

        if (strlen(password) >= CHANTIER_PASSWORD_MIN_LEN) {

            rc = chantierctl_read_line("Mot de passe (encore) : ", 1, again,
                                       sizeof(again));

            if (rc == 0 && strcmp(password, again) != 0) {
                fprintf(stderr, "chantierctl: les deux saisies diffèrent\n");
                rc = -1;
            }

            OPENSSL_cleanse(again, sizeof(again));

            if (rc != 0) {
                return -1;
            }
        }
    }

    if (strlen(password) < CHANTIER_PASSWORD_MIN_LEN) {
        fprintf(stderr, "chantierctl: le mot de passe doit compter au moins"
                " %d caractères\n", CHANTIER_PASSWORD_MIN_LEN);
        return -1;
    }

    if (strlen(password) > CHANTIER_PASSWORD_MAX_LEN) {
        fprintf(stderr, "chantierctl: le mot de passe doit compter au plus"
                " %d caractères\n", CHANTIER_PASSWORD_MAX_LEN);
        return -1;
    }

    return 0;
}


static int
chantierctl_read_line(const char *prompt, int echo_off, char *line,
    size_t size)
{
    int             rc, c;
    size_t          len;
    struct termios  quiet;

    if (prompt != NULL) {
        fputs(prompt, stderr);
        fflush(stderr);
    }

    if (echo_off && tcgetattr(STDIN_FILENO, &chantierctl_saved_tty) == 0) {
        quiet = chantierctl_saved_tty;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;

        signal(SIGINT, chantierctl_restore_tty);
        signal(SIGTERM, chantierctl_restore_tty);

        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
            chantierctl_tty_changed = 1;
        }
    }

    rc = 0;

    if (fgets(line, size, stdin) == NULL) {
        fprintf(stderr, "%schantierctl: aucun mot de passe lu sur l'entrée"
                " standard\n", prompt != NULL ? "\n" : "");
        line[0] = '\0';
        rc = -1;

    } else {
        len = strlen(line);

        if (len > 0 && line[len - 1] != '\n' && !feof(stdin)) {
            /*
             * Longer than any acceptable password: drop the rest of the
             * line and leave what was read for the length check to refuse.
             */
            while ((c = getchar()) != EOF && c != '\n') { /* void */ }
        }

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
    }

    if (chantierctl_tty_changed) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &chantierctl_saved_tty);
        chantierctl_tty_changed = 0;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }

    return rc;
}


/* Gives the terminal its echo back when interrupted at the prompt. */

static void
chantierctl_restore_tty(int signo)
{
    if (chantierctl_tty_changed) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &chantierctl_saved_tty);
    }

    signal(signo, SIG_DFL);
    raise(signo);
}


/*
 * Appends "key":"value" to a JSON object being built, escaping the value.
 * Bytes above 0x7f pass as they are: PostgreSQL refuses invalid UTF-8.
 */

static int
chantierctl_json_add(chantierctl_buf_t *buf, const char *key,
    const char *value)
{
    char                  esc[8];
    const unsigned char  *p;

    if (chantierctl_buf_append(buf, buf->len > 1 ? ",\"" : "\"",
                               buf->len > 1 ? 2 : 1) != 0
        || chantierctl_buf_append(buf, key, strlen(key)) != 0
        || chantierctl_buf_append(buf, "\":\"", 3) != 0)
    {
        return -1;
    }

    for (p = (const unsigned char *) value; *p; p++) {

        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char) *p;
            esc[2] = '\0';

        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);

        } else {
            esc[0] = (char) *p;
            esc[1] = '\0';
        }

        if (chantierctl_buf_append(buf, esc, strlen(esc)) != 0) {
            return -1;
        }
    }

    return chantierctl_buf_append(buf, "\"", 1);
}


static int
chantierctl_buf_append(chantierctl_buf_t *buf, const char *s, size_t len)
{
    char    *data;
    size_t   size;

    if (buf->len + len + 1 > buf->size) {
        size = (buf->len + len + 1) * 2;

        data = realloc(buf->data, size);
        if (data == NULL) {
            return -1;
        }

        buf->data = data;
        buf->size = size;
    }

    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    buf->data[buf->len] = '\0';

    return 0;
}


/*
 * Sends the account to api.admin_user_create() and reports its answer: the
 * user's JSON on standard output, or the error message on standard error.
 */

static int
chantierctl_create(const chantierctl_user_t *user, const char *hash)
{
    int                 rc, status;
    PGconn             *conn;
    PGresult           *res;
    const char         *params[2];
    chantierctl_buf_t   body;

    memset(&body, 0, sizeof(body));

    if (chantierctl_buf_append(&body, "{", 1) != 0
        || chantierctl_json_add(&body, "role", user->role) != 0
        || chantierctl_json_add(&body, "login", user->login) != 0
        || chantierctl_json_add(&body, "first_name", user->first_name) != 0
        || chantierctl_json_add(&body, "last_name", user->last_name) != 0
        || (user->email != NULL
            && chantierctl_json_add(&body, "email", user->email) != 0)
        || chantierctl_buf_append(&body, "}", 1) != 0)
    {
        fprintf(stderr, "chantierctl: %s\n", strerror(ENOMEM));
        free(body.data);
        return 1;
    }

    /* an empty conninfo lets libpq read PGHOST, PGPORT, PGUSER, ... */
    conn = PQconnectdb(user->conninfo != NULL ? user->conninfo : "");

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "chantierctl: connexion à PostgreSQL impossible : %s",
                PQerrorMessage(conn));
        PQfinish(conn);
        free(body.data);
        return 1;
    }

    params[0] = body.data;
    params[1] = hash;

    res = PQexecParams(conn,
                       "select status, body,"
                       "       body::jsonb #>> '{error,message}'"
                       "  from api.admin_user_create(null, $1::jsonb, $2)",
                       2, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "chantierctl: échec de la requête : %s",
                PQresultErrorMessage(res));
        rc = 1;

    } else {
        status = atoi(PQgetvalue(res, 0, 0));

        if (status == 201) {
            printf("%s\n", PQgetvalue(res, 0, 1));
            rc = 0;

        } else {
            fprintf(stderr, "chantierctl: %s\n", PQgetvalue(res, 0, 2));
            rc = 1;
        }
    }

    PQclear(res);
    PQfinish(conn);
    free(body.data);

    return rc;
}


static void
chantierctl_usage(FILE *out)
{
    fprintf(out,
"Usage : chantierctl user add --role admin|employee|client --login LOGIN\n"
"                             [--first-name PRENOM] [--last-name NOM]\n"
"                             [--email E-MAIL] [--db CONNINFO]\n"
"        chantierctl --help\n"
"\n"
"Crée un compte de l'espace client.  Le mot de passe (au moins %d\n"
"caractères) est lu sur l'entrée standard : sa première ligne, ou deux\n"
"saisies sans écho si l'entrée standard est un terminal.\n"
"\n"
"  --role        admin, employee ou client\n"
"  --login       identifiant de connexion (3 à 64 caractères a-z 0-9 . _ -)\n"
"  --first-name  prénom (par défaut « %s »)\n"
"  --last-name   nom (par défaut l'identifiant)\n"
"  --email       adresse e-mail (facultative)\n"
"  --db          chaîne de connexion libpq, par exemple\n"
"                \"host=127.0.0.1 dbname=chantier user=chantier\" ;\n"
"                sans elle, les variables PGHOST, PGPORT, PGUSER,\n"
"                PGDATABASE...\n"
"\n"
"Un client demande aussi un numéro client et une adresse : créez-le depuis\n"
"les pages d'administration.\n"
"\n"
"Affiche le compte créé (JSON) ; code de sortie 0 si le compte est créé,\n"
"1 en cas d'échec, 2 si la commande est mal formée.\n"
"\n"
"Exemple : echo 'un-mot-de-passe-solide' | chantierctl user add \\\n"
"              --role admin --login claire --first-name Claire \\\n"
"              --last-name Lefèvre\n",
            CHANTIER_PASSWORD_MIN_LEN, CHANTIERCTL_DEFAULT_FIRST_NAME);
}
