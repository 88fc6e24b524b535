/*
 * chantier-notifier [-c FILE] [-t]
 *
 *   -c FILE   the configuration (default /etc/chantier/notifier.conf)
 *   -t        check the configuration and exit (0 when it is good)
 *
 * Runs in the foreground (systemd, or the test stack, keeps it); logs to
 * stderr, one line each, with a level prefix.  SIGTERM and SIGINT: the
 * notification in hand is finished and recorded, then exit 0.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>
#include <errno.h>

#include "chantier_notifier.h"


static void notifier_signal(int signo);
static int notifier_usage(const char *me);


static volatile sig_atomic_t  notifier_stop;

/* under systemd (JOURNAL_STREAM): "<3>" prefixes give the journal levels */
static int  notifier_journal;


void
notifier_log(int level, const char *fmt, ...)
{
    va_list      args;
    const char  *name;

    switch (level) {
    case NOTIFIER_LOG_ERR:
        name = "error";
        break;
    case NOTIFIER_LOG_WARN:
        name = "warning";
        break;
    case NOTIFIER_LOG_NOTICE:
        name = "notice";
        break;
    default:
        name = "info";
    }

    if (notifier_journal) {
        fprintf(stderr, "<%d>", level);
    }

    fprintf(stderr, "%s: ", name);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


int
notifier_stopping(void)
{
    return notifier_stop;
}


double
notifier_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* sleeps, waking up for a stop signal within 0.1 s */
void
notifier_sleep(double seconds)
{
    double           until = notifier_now() + seconds, left;
    struct timespec  ts;

    while (!notifier_stop && (left = until - notifier_now()) > 0) {
        if (left > 0.1) {
            left = 0.1;
        }
        ts.tv_sec = 0;
        ts.tv_nsec = (long) (left * 1e9);
        nanosleep(&ts, NULL);
    }
}


static void
notifier_signal(int signo)
{
    (void) signo;

    notifier_stop = 1;
}


static int
notifier_usage(const char *me)
{
    fprintf(stderr, "usage: %s [-c FILE] [-t]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -t       check the configuration and exit\n",
            me, NOTIFIER_DEFAULT_CONF);

    return 2;
}


int
main(int argc, char **argv)
{
    int                opt, test = 0, rc = 1;
    const char        *path = NOTIFIER_DEFAULT_CONF;
    notifier_buf_t     error = { 0 };
    notifier_conf_t    conf;
    notifier_jobs_t   *jobs = NULL;
    struct sigaction   sa;

    while ((opt = getopt(argc, argv, "c:th")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test = 1;
            break;
        default:
            return notifier_usage(argv[0]);
        }
    }

    if (optind != argc) {
        return notifier_usage(argv[0]);
    }

    notifier_journal = (getenv("JOURNAL_STREAM") != NULL);

    /* one line at a time, whoever reads the log */
    setvbuf(stderr, NULL, _IOLBF, 0);

    if (notifier_conf_read(&conf, path, &error) != NOTIFIER_OK) {
        notifier_log(NOTIFIER_LOG_ERR, "%s", error.data ? error.data
                                                        : "out of memory");
        notifier_conf_free(&conf);
        notifier_buf_free(&error);
        return 1;
    }

    if (test) {
        fprintf(stderr, "chantier-notifier: the configuration file %s"
                " is good\n", path);
        rc = 0;
        goto done;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = notifier_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    if (notifier_send_init() != NOTIFIER_OK) {
        notifier_log(NOTIFIER_LOG_ERR, "libcurl: cannot initialise");
        goto done;
    }

    jobs = notifier_jobs_create(&conf);
    if (jobs == NULL) {
        notifier_log(NOTIFIER_LOG_ERR, "out of memory");
        goto cleanup;
    }

    notifier_log(NOTIFIER_LOG_NOTICE, "started (pid %ld, %s): mail through"
                 " %s, sms through %s", (long) getpid(), path,
                 conf.smtp_server, conf.sms_server);

    while (!notifier_stop) {
        if (notifier_jobs_step(jobs) != NOTIFIER_OK) {
            /* logged; not again at once (connections wait their own) */
            notifier_sleep(0.2);
        }
    }

    notifier_log(NOTIFIER_LOG_NOTICE, "stopped");
    rc = 0;

    notifier_jobs_destroy(jobs);

cleanup:

    notifier_send_cleanup();

done:

    notifier_conf_free(&conf);
    notifier_buf_free(&error);

    return rc;
}
