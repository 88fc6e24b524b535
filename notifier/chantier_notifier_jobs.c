/*
 * One notification at a time, from Redis to its recorded outcome.
 *
 * Redis carries the work, PostgreSQL holds the truth:
 *
 *     chantier:notify:queue       list: ids to handle (the module RPUSHes
 *                                 after its commit; the sweep and the
 *                                 parking lot push here too)
 *     chantier:notify:processing  list: the id being handled, moved there
 *                                 from the queue by BLMOVE in one step
 *     chantier:notify:parked      sorted set: ids to come back to, scored
 *                                 by the time (Unix seconds) they are due
 *
 * An id leaves "processing" only once PostgreSQL has its outcome (sent,
 * dead, dropped) committed, or once it is parked for its due time: a crash
 * at any moment leaves it in one of the three keys, and a start moves
 * whatever "processing" holds back to the queue.  Should Redis lose them
 * all, the sweep finds every pending row that is due in PostgreSQL and
 * queues again those Redis does not hold.
 *
 * An id may thus be handled twice (in the queue twice, or after a crash):
 * harmless, since a row is sent only when api.notifier_take finds it
 * pending and due, and locks it until its outcome is committed.  A message
 * goes out twice only when the process dies (or PostgreSQL goes away)
 * between the server's acceptance and that commit.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/time.h>

#include <libpq-fe.h>
#include <hiredis/hiredis.h>

#include "chantier_notifier.h"


#define NOTIFIER_QUEUE       "chantier:notify:queue"
#define NOTIFIER_PROCESSING  "chantier:notify:processing"
#define NOTIFIER_PARKED      "chantier:notify:parked"

/* how long BLMOVE waits for an id: also how late a parked id may come */
#define NOTIFIER_TAKE_WAIT   "1"

/* rows the sweep looks at, at most, each time */
#define NOTIFIER_SWEEP_ROWS  1000

/* a row locked by someone else: looked at again that much later (s) */
#define NOTIFIER_BUSY_WAIT   1.0

/* reconnection: waits from 0.5 s doubling up to 10 s */
#define NOTIFIER_RECONNECT_MIN  0.5
#define NOTIFIER_RECONNECT_MAX  10.0


/* the parked ids that are due move to the queue, in one step */
static const char  notifier_lua_unpark[] =
    "local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1],"
    " 'limit', 0, 500)\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('zrem', KEYS[1], id)\n"
    "  redis.call('rpush', KEYS[2], id)\n"
    "end\n"
    "return #ids\n";

/* parked for its time, and out of processing, in one step */
static const char  notifier_lua_park[] =
    "redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])\n"
    "return redis.call('lrem', KEYS[2], 1, ARGV[2])\n";

/* at start: whatever a previous run left in processing, back to the head
 * of the queue */
static const char  notifier_lua_recover[] =
    "local n = 0\n"
    "while redis.call('lmove', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do\n"
    "  n = n + 1\n"
    "end\n"
    "return n\n";

/*
 * The sweep: of the ids given (pending and due in PostgreSQL), those that
 * neither list holds nor the parking lot holds for now or earlier go to
 * the queue.  One pass over each list, then a lookup per id: no duplicate
 * is added, and the cost stays linear in what Redis holds.
 */
static const char  notifier_lua_sweep[] =
    "local held = {}\n"
    "for _, key in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  for _, id in ipairs(redis.call('lrange', key, 0, -1)) do\n"
    "    held[id] = true\n"
    "  end\n"
    "end\n"
    "local now, n = tonumber(ARGV[1]), 0\n"
    "for i = 2, #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  local due = redis.call('zscore', KEYS[3], id)\n"
    "  if not held[id] and not (due and tonumber(due) <= now) then\n"
    "    if due then redis.call('zrem', KEYS[3], id) end\n"
    "    redis.call('rpush', KEYS[1], id)\n"
    "    held[id] = true\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";


struct notifier_jobs_s {
    notifier_conf_t  *conf;

    PGconn           *pg;
    redisContext     *redis;

    /* processing to be moved back to the queue once connected: at start,
     * and after a connection was lost in the middle of a job */
    int               recover;

    /* an outage is logged once, when it starts, and once when it ends */
    int               pg_down;
    int               redis_down;
    double            reconnect_at;
    double            reconnect_wait;

    double            next_sweep;

    notifier_buf_t    error;
    notifier_buf_t    mail;
    notifier_buf_t    text;
};


/* a row of api.notifier_take, ready to send */
typedef struct {
    const char          *id;
    const char          *channel;
    int                  attempts;
    const char          *email;
    const char          *phone;
    int                  active;
    notifier_message_t   message;
} notifier_job_t;


static const char *notifier_first_line(const char *message);
static void notifier_jobs_notice(void *data, const char *message);
static int notifier_jobs_connect(notifier_jobs_t *jobs);
static int notifier_jobs_pg_connect(notifier_jobs_t *jobs);
static int notifier_jobs_redis_connect(notifier_jobs_t *jobs);
static void notifier_jobs_pg_lost(notifier_jobs_t *jobs, const char *what);
static void notifier_jobs_redis_lost(notifier_jobs_t *jobs);
static PGresult *notifier_jobs_sql(notifier_jobs_t *jobs, const char *sql,
    int n, const char **params);
static int notifier_jobs_sql_done(notifier_jobs_t *jobs, const char *sql,
    int n, const char **params);
static redisReply *notifier_jobs_redis(notifier_jobs_t *jobs, int argc,
    const char **argv);
static int notifier_jobs_redis_done(notifier_jobs_t *jobs, int argc,
    const char **argv);
static int notifier_jobs_recover(notifier_jobs_t *jobs);
static int notifier_jobs_sweep(notifier_jobs_t *jobs);
static int notifier_jobs_unpark(notifier_jobs_t *jobs);
static int notifier_jobs_take(notifier_jobs_t *jobs);
static int notifier_jobs_handle(notifier_jobs_t *jobs, const char *id);
static int notifier_jobs_send(notifier_jobs_t *jobs, const char *id,
    PGresult *row);
static notifier_outcome_e notifier_jobs_deliver(notifier_jobs_t *jobs,
    notifier_job_t *job);
static int notifier_jobs_record(notifier_jobs_t *jobs, notifier_job_t *job,
    notifier_outcome_e outcome, double *due_in);
static int notifier_jobs_finish(notifier_jobs_t *jobs, const char *id);
static int notifier_jobs_park(notifier_jobs_t *jobs, const char *id,
    double due_in);


notifier_jobs_t *
notifier_jobs_create(notifier_conf_t *conf)
{
    notifier_jobs_t  *jobs;

    jobs = calloc(1, sizeof(notifier_jobs_t));
    if (jobs == NULL) {
        return NULL;
    }

    jobs->conf = conf;
    jobs->recover = 1;
    jobs->reconnect_wait = NOTIFIER_RECONNECT_MIN;

    return jobs;
}


void
notifier_jobs_destroy(notifier_jobs_t *jobs)
{
    if (jobs->pg) {
        PQfinish(jobs->pg);
    }

    if (jobs->redis) {
        redisFree(jobs->redis);
    }

    notifier_buf_free(&jobs->error);
    notifier_buf_free(&jobs->mail);
    notifier_buf_free(&jobs->text);

    free(jobs);
}


/*
 * One turn of the loop: connections, the recovery and the sweep when they
 * are due, the parked ids that are due, then one id from the queue (waiting
 * for one at most NOTIFIER_TAKE_WAIT).  Returns NOTIFIER_ERROR when a
 * server is unreachable; the caller's next call retries it when its backoff
 * allows.
 */
int
notifier_jobs_step(notifier_jobs_t *jobs)
{
    if (notifier_jobs_connect(jobs) != NOTIFIER_OK) {
        return NOTIFIER_ERROR;
    }

    if (jobs->recover && notifier_jobs_recover(jobs) != NOTIFIER_OK) {
        return NOTIFIER_ERROR;
    }

    if (notifier_now() >= jobs->next_sweep) {
        /* a failed sweep too waits for the next turn: not in a loop */
        jobs->next_sweep = notifier_now() + jobs->conf->sweep_interval;

        if (notifier_jobs_sweep(jobs) != NOTIFIER_OK) {
            return NOTIFIER_ERROR;
        }
    }

    if (notifier_jobs_unpark(jobs) != NOTIFIER_OK) {
        return NOTIFIER_ERROR;
    }

    return notifier_jobs_take(jobs);
}


/* ---- connections ---- */

/* the first line of a libpq message (they end with "\n", some have more) */
static const char *
notifier_first_line(const char *message)
{
    static char  line[512];
    size_t       n;

    n = strcspn(message, "\n");
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
    }

    memcpy(line, message, n);
    line[n] = '\0';

    return n ? line : "no message";
}


/* the server's notices (a rollback with no transaction): not for the log */
static void
notifier_jobs_notice(void *data, const char *message)
{
    (void) data;
    (void) message;
}

static int
notifier_jobs_connect(notifier_jobs_t *jobs)
{
    int  rc;

    if (jobs->pg && jobs->redis) {
        return NOTIFIER_OK;
    }

    if (notifier_now() < jobs->reconnect_at) {
        notifier_sleep(jobs->reconnect_at - notifier_now());
        return NOTIFIER_ERROR;
    }

    rc = NOTIFIER_OK;

    if (jobs->pg == NULL && notifier_jobs_pg_connect(jobs) != NOTIFIER_OK) {
        rc = NOTIFIER_ERROR;
    }

    if (jobs->redis == NULL
        && notifier_jobs_redis_connect(jobs) != NOTIFIER_OK)
    {
        rc = NOTIFIER_ERROR;
    }

    if (rc == NOTIFIER_OK) {
        jobs->reconnect_wait = NOTIFIER_RECONNECT_MIN;
        return NOTIFIER_OK;
    }

    jobs->reconnect_at = notifier_now() + jobs->reconnect_wait;
    jobs->reconnect_wait *= 2;
    if (jobs->reconnect_wait > NOTIFIER_RECONNECT_MAX) {
        jobs->reconnect_wait = NOTIFIER_RECONNECT_MAX;
    }

    return NOTIFIER_ERROR;
}


static int
notifier_jobs_pg_connect(notifier_jobs_t *jobs)
{
    PGconn  *pg;

    pg = PQconnectdb(jobs->conf->pg_conninfo);

    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        if (!jobs->pg_down) {
            notifier_log(NOTIFIER_LOG_ERR, "postgres: cannot connect (%s);"
                         " trying again, up to every %g s",
                         pg ? notifier_first_line(PQerrorMessage(pg)) : "no memory",
                         NOTIFIER_RECONNECT_MAX);
            jobs->pg_down = 1;
        }
        PQfinish(pg);
        return NOTIFIER_ERROR;
    }

    notifier_log(NOTIFIER_LOG_NOTICE, "postgres: %s",
                 jobs->pg_down ? "connected again" : "connected");

    PQsetNoticeProcessor(pg, notifier_jobs_notice, NULL);

    jobs->pg_down = 0;
    jobs->pg = pg;

    return NOTIFIER_OK;
}


static int
notifier_jobs_redis_connect(notifier_jobs_t *jobs)
{
    redisContext    *redis;
    struct timeval   timeout;
    double           t;

    t = jobs->conf->connect_timeout;
    timeout.tv_sec = (long) t;
    timeout.tv_usec = (long) ((t - (long) t) * 1e6);

    redis = redisConnectWithTimeout(jobs->conf->redis_host,
                                    jobs->conf->redis_port, timeout);

    if (redis == NULL || redis->err) {
        if (!jobs->redis_down) {
            notifier_log(NOTIFIER_LOG_ERR, "redis %s:%d: cannot connect (%s);"
                         " trying again, up to every %g s",
                         jobs->conf->redis_host, jobs->conf->redis_port,
                         redis ? redis->errstr : "no memory",
                         NOTIFIER_RECONNECT_MAX);
            jobs->redis_down = 1;
        }
        if (redis) {
            redisFree(redis);
        }
        return NOTIFIER_ERROR;
    }

    /* replies: BLMOVE's wait and then some */
    timeout.tv_sec += 5;
    redisSetTimeout(redis, timeout);

    notifier_log(NOTIFIER_LOG_NOTICE, "redis %s:%d: %s",
                 jobs->conf->redis_host, jobs->conf->redis_port,
                 jobs->redis_down ? "connected again" : "connected");

    jobs->redis_down = 0;
    jobs->redis = redis;

    return NOTIFIER_OK;
}


/*
 * A connection found broken: closed, and the job in hand (if any) stays in
 * processing, to be queued again by the recovery once both servers answer.
 */
static void
notifier_jobs_pg_lost(notifier_jobs_t *jobs, const char *what)
{
    notifier_log(NOTIFIER_LOG_ERR, "postgres: connection lost (%s);"
                 " reconnecting", what);

    PQfinish(jobs->pg);
    jobs->pg = NULL;
    jobs->pg_down = 1;
    jobs->recover = 1;
}


static void
notifier_jobs_redis_lost(notifier_jobs_t *jobs)
{
    notifier_log(NOTIFIER_LOG_ERR, "redis %s:%d: connection lost (%s);"
                 " reconnecting", jobs->conf->redis_host,
                 jobs->conf->redis_port, jobs->redis->errstr);

    redisFree(jobs->redis);
    jobs->redis = NULL;
    jobs->redis_down = 1;
    jobs->recover = 1;
}


/* ---- PostgreSQL ---- */

/*
 * A statement with text parameters; the result, or NULL after an error
 * (logged here; a broken connection is closed).  The caller PQclear()s.
 */
static PGresult *
notifier_jobs_sql(notifier_jobs_t *jobs, const char *sql, int n,
    const char **params)
{
    PGresult  *res;

    res = PQexecParams(jobs->pg, sql, n, NULL, params, NULL, NULL, 0);

    if (res && (PQresultStatus(res) == PGRES_TUPLES_OK
                || PQresultStatus(res) == PGRES_COMMAND_OK))
    {
        return res;
    }

    if (PQstatus(jobs->pg) != CONNECTION_OK) {
        PQclear(res);
        notifier_jobs_pg_lost(jobs, notifier_first_line(PQerrorMessage(jobs->pg)));
        return NULL;
    }

    notifier_log(NOTIFIER_LOG_ERR, "postgres: %s: %s", sql,
                 res ? notifier_first_line(PQresultErrorMessage(res)) : "no memory");
    PQclear(res);

    /* the transaction is aborted; if it is one */
    PQclear(PQexec(jobs->pg, "rollback"));

    return NULL;
}


static int
notifier_jobs_sql_done(notifier_jobs_t *jobs, const char *sql, int n,
    const char **params)
{
    PGresult  *res;

    res = notifier_jobs_sql(jobs, sql, n, params);
    if (res == NULL) {
        return NOTIFIER_ERROR;
    }

    PQclear(res);

    return NOTIFIER_OK;
}


/* ---- Redis ---- */

/* a command; its reply, or NULL after an error (logged here) */
static redisReply *
notifier_jobs_redis(notifier_jobs_t *jobs, int argc, const char **argv)
{
    redisReply  *reply;

    reply = redisCommandArgv(jobs->redis, argc, argv, NULL);

    if (reply == NULL) {
        notifier_jobs_redis_lost(jobs);
        return NULL;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        notifier_log(NOTIFIER_LOG_ERR, "redis: %s: %s", argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


static int
notifier_jobs_redis_done(notifier_jobs_t *jobs, int argc, const char **argv)
{
    redisReply  *reply;

    reply = notifier_jobs_redis(jobs, argc, argv);
    if (reply == NULL) {
        return NOTIFIER_ERROR;
    }

    freeReplyObject(reply);

    return NOTIFIER_OK;
}


/* ---- the keys ---- */

static int
notifier_jobs_recover(notifier_jobs_t *jobs)
{
    redisReply  *reply;
    const char  *argv[] = { "EVAL", notifier_lua_recover, "2",
                            NOTIFIER_PROCESSING, NOTIFIER_QUEUE };

    reply = notifier_jobs_redis(jobs, 5, argv);
    if (reply == NULL) {
        return NOTIFIER_ERROR;
    }

    if (reply->integer > 0) {
        notifier_log(NOTIFIER_LOG_NOTICE, "%lld notification(s) left in"
                     " processing by an interruption: queued again",
                     reply->integer);
    }

    freeReplyObject(reply);
    jobs->recover = 0;

    return NOTIFIER_OK;
}


static int
notifier_jobs_sweep(notifier_jobs_t *jobs)
{
    int           i, rows, rc;
    char          now[32], limit[16];
    const char  **argv, *params[1];
    PGresult     *res;
    redisReply   *reply;

    snprintf(limit, sizeof(limit), "%d", NOTIFIER_SWEEP_ROWS);
    params[0] = limit;

    res = notifier_jobs_sql(jobs, "select * from api.notifier_due($1)",
                            1, params);
    if (res == NULL) {
        return NOTIFIER_ERROR;
    }

    rows = PQntuples(res);
    rc = NOTIFIER_OK;

    if (rows == 0) {
        goto done;
    }

    argv = malloc((7 + rows) * sizeof(char *));
    if (argv == NULL) {
        goto done;
    }

    snprintf(now, sizeof(now), "%.3f", notifier_now());

    argv[0] = "EVAL";
    argv[1] = notifier_lua_sweep;
    argv[2] = "3";
    argv[3] = NOTIFIER_QUEUE;
    argv[4] = NOTIFIER_PROCESSING;
    argv[5] = NOTIFIER_PARKED;
    argv[6] = now;

    for (i = 0; i < rows; i++) {
        argv[7 + i] = PQgetvalue(res, i, 0);
    }

    reply = notifier_jobs_redis(jobs, 7 + rows, argv);
    free(argv);

    if (reply == NULL) {
        rc = NOTIFIER_ERROR;
        goto done;
    }

    if (reply->integer > 0) {
        notifier_log(NOTIFIER_LOG_NOTICE, "sweep: %lld pending"
                     " notification(s) that Redis did not hold queued again",
                     reply->integer);
    }

    freeReplyObject(reply);

done:

    PQclear(res);

    return rc;
}


static int
notifier_jobs_unpark(notifier_jobs_t *jobs)
{
    char         now[32];
    const char  *argv[] = { "EVAL", notifier_lua_unpark, "2", NOTIFIER_PARKED,
                            NOTIFIER_QUEUE, now };

    snprintf(now, sizeof(now), "%.3f", notifier_now());

    return notifier_jobs_redis_done(jobs, 6, argv);
}


/* the id leaves processing: its outcome is committed */
static int
notifier_jobs_finish(notifier_jobs_t *jobs, const char *id)
{
    const char  *argv[] = { "LREM", NOTIFIER_PROCESSING, "1", id };

    return notifier_jobs_redis_done(jobs, 4, argv);
}


static int
notifier_jobs_park(notifier_jobs_t *jobs, const char *id, double due_in)
{
    char         due[32];
    const char  *argv[] = { "EVAL", notifier_lua_park, "2", NOTIFIER_PARKED,
                            NOTIFIER_PROCESSING, due, id };

    snprintf(due, sizeof(due), "%.3f", notifier_now() + due_in);

    return notifier_jobs_redis_done(jobs, 7, argv);
}


/* ---- one notification ---- */

static int
notifier_jobs_take(notifier_jobs_t *jobs)
{
    int          rc;
    char         id[32];
    redisReply  *reply;
    const char  *argv[] = { "BLMOVE", NOTIFIER_QUEUE, NOTIFIER_PROCESSING,
                            "LEFT", "RIGHT", NOTIFIER_TAKE_WAIT };

    reply = notifier_jobs_redis(jobs, 6, argv);
    if (reply == NULL) {
        return NOTIFIER_ERROR;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        /* nothing came */
        freeReplyObject(reply);
        return NOTIFIER_OK;
    }

    if (reply->len == 0 || reply->len >= sizeof(id)
        || strspn(reply->str, "0123456789") != reply->len)
    {
        notifier_log(NOTIFIER_LOG_WARN, "queue: \"%.40s\" is not a"
                     " notification id: removed", reply->str);
        rc = notifier_jobs_finish(jobs, reply->str);
        freeReplyObject(reply);
        return rc;
    }

    memcpy(id, reply->str, reply->len + 1);
    freeReplyObject(reply);

    return notifier_jobs_handle(jobs, id);
}


/*
 * One id, in one transaction: api.notifier_take says what it is; only a
 * row pending and due is sent, while it is locked.  The Redis side follows
 * the commit: the id leaves processing, or is parked for its time.  On an
 * error the id stays in processing (queued again by the recovery after a
 * lost connection) or is parked a while (any other error: not retried in a
 * tight loop).
 */
static int
notifier_jobs_handle(notifier_jobs_t *jobs, const char *id)
{
    PGresult    *row;
    const char  *status, *params[1] = { id };
    double       due_in;
    int          rc;

    if (notifier_jobs_sql_done(jobs, "begin", 0, NULL) != NOTIFIER_OK) {
        goto failed;
    }

    row = notifier_jobs_sql(jobs, "select * from api.notifier_take($1)",
                            1, params);
    if (row == NULL) {
        goto failed;
    }

    status = PQgetvalue(row, 0, PQfnumber(row, "status"));

    if (strcmp(status, "send") == 0) {
        rc = notifier_jobs_send(jobs, id, row);
        PQclear(row);
        return rc;
    }

    due_in = atof(PQgetvalue(row, 0, PQfnumber(row, "due_in")));

    if (strcmp(status, "dropped") == 0) {
        if (notifier_jobs_sql_done(jobs, "commit", 0, NULL) != NOTIFIER_OK) {
            PQclear(row);
            goto failed;
        }
        notifier_log(NOTIFIER_LOG_NOTICE, "notification %s: dropped, its post"
                     " was deleted", id);
        status = "done";

    } else if (notifier_jobs_sql_done(jobs, "rollback", 0, NULL)
               != NOTIFIER_OK)
    {
        PQclear(row);
        goto failed;
    }

    if (strcmp(status, "later") == 0) {
        rc = notifier_jobs_park(jobs, id, due_in);

    } else if (strcmp(status, "busy") == 0) {
        rc = notifier_jobs_park(jobs, id, NOTIFIER_BUSY_WAIT);

    } else {
        /* done or gone: nothing more to do with it */
        rc = notifier_jobs_finish(jobs, id);
    }

    PQclear(row);

    return rc;

failed:

    if (jobs->pg && jobs->redis) {
        notifier_jobs_park(jobs, id, jobs->conf->retry_initial);
    }

    return NOTIFIER_ERROR;
}


/*
 * The row is locked: its items, the message, the server, then the outcome
 * committed at once.  An outcome that cannot be committed after the server
 * took the message is the one case of a message sent twice: said so.
 */
static int
notifier_jobs_send(notifier_jobs_t *jobs, const char *id, PGresult *row)
{
    int                  i, rc;
    double               due_in = 0;
    PGresult            *items;
    const char          *params[1] = { id }, *event;
    notifier_job_t       job;
    notifier_item_t     *item = NULL;
    notifier_outcome_e   outcome;

#define NOTIFIER_COL(name)  PQgetvalue(row, 0, PQfnumber(row, name))

    memset(&job, 0, sizeof(notifier_job_t));

    job.id = id;
    job.channel = NOTIFIER_COL("channel");
    job.attempts = atoi(NOTIFIER_COL("attempts"));
    job.email = NOTIFIER_COL("email");
    job.phone = NOTIFIER_COL("phone");
    job.active = (NOTIFIER_COL("active")[0] == 't');
    job.message.id = atoll(id);
    job.message.code = NOTIFIER_COL("code");
    job.message.title = NOTIFIER_COL("title");
    job.message.fiche_id = atoll(NOTIFIER_COL("fiche_id"));
    job.message.idempotency_key = NOTIFIER_COL("idempotency_key");
    job.message.first_name = NOTIFIER_COL("first_name");
    job.message.last_name = NOTIFIER_COL("last_name");
    event = NOTIFIER_COL("event");

#undef NOTIFIER_COL

    items = notifier_jobs_sql(jobs, "select author, staff, excerpt, said_at"
                              " from api.notifier_items($1)", 1, params);
    if (items == NULL) {
        goto failed;
    }

    job.message.nitems = PQntuples(items);

    if (job.message.nitems > 0) {
        item = calloc(job.message.nitems, sizeof(notifier_item_t));
        if (item == NULL) {
            PQclear(items);
            goto failed;
        }
    }

    for (i = 0; i < job.message.nitems; i++) {
        item[i].author = PQgetvalue(items, i, 0);
        item[i].staff = (PQgetvalue(items, i, 1)[0] == 't');
        item[i].excerpt = PQgetvalue(items, i, 2);
        item[i].said_at = PQgetvalue(items, i, 3);
    }

    job.message.items = item;

    notifier_buf_reset(&jobs->error);

    if (notifier_event_parse(event, &job.message.event) != NOTIFIER_OK) {
        notifier_buf_printf(&jobs->error, "événement inconnu « %s »", event);
        outcome = NOTIFIER_REFUSED;

    } else {
        outcome = notifier_jobs_deliver(jobs, &job);
    }

    /* the error may quote a server's reply: PostgreSQL takes only UTF-8 */
    if (jobs->error.data) {
        notifier_utf8_clean(jobs->error.data);
    }

    rc = notifier_jobs_record(jobs, &job, outcome, &due_in);

    free(item);
    PQclear(items);

    if (rc != NOTIFIER_OK) {
        if (outcome == NOTIFIER_SENT) {
            notifier_log(NOTIFIER_LOG_ERR, "notification %s: sent, but not"
                         " recorded as sent: it will be sent again", id);
        }
        goto failed;
    }

    if (outcome == NOTIFIER_RETRY && due_in >= 0) {
        return notifier_jobs_park(jobs, id, due_in);
    }

    return notifier_jobs_finish(jobs, id);

failed:

    if (jobs->pg) {
        PQclear(PQexec(jobs->pg, "rollback"));
    }

    if (jobs->pg && jobs->redis) {
        notifier_jobs_park(jobs, id, jobs->conf->retry_initial);
    }

    return NOTIFIER_ERROR;
}


/*
 * The recipient's address checked (what no retry can mend is refused at
 * once, in words an administrator reads in the list of dead letters), the
 * message written and handed to its server.
 */
static notifier_outcome_e
notifier_jobs_deliver(notifier_jobs_t *jobs, notifier_job_t *job)
{
    char              phone[32];
    notifier_conf_t  *conf = jobs->conf;

    notifier_buf_reset(&jobs->mail);
    notifier_buf_reset(&jobs->text);

    if (!job->active) {
        notifier_buf_str(&jobs->error, "destinataire désactivé : rien n'est"
                         " envoyé");
        return NOTIFIER_REFUSED;
    }

    if (job->message.nitems == 0) {
        notifier_buf_str(&jobs->error, "notification sans contenu (items"
                         " vide)");
        return NOTIFIER_REFUSED;
    }

    if (strcmp(job->channel, "email") == 0) {
        if (job->email[0] == '\0' || strchr(job->email, '@') == NULL
            || !notifier_ascii_safe(job->email, "@.+-_'"))
        {
            notifier_buf_printf(&jobs->error, "adresse e-mail du destinataire"
                                " absente ou inutilisable : « %s »",
                                job->email);
            return NOTIFIER_REFUSED;
        }

        notifier_message_mail(&jobs->mail, &job->message,
                              conf->mail_from_name, conf->mail_from,
                              job->email, conf->public_url, time(NULL));
        if (jobs->mail.failed) {
            notifier_buf_str(&jobs->error, "out of memory");
            return NOTIFIER_RETRY;
        }

        return notifier_send_mail(conf, job->email, &jobs->mail,
                                  &jobs->error);
    }

    if (notifier_e164(job->phone, phone, sizeof(phone)) != NOTIFIER_OK) {
        notifier_buf_printf(&jobs->error, "numéro de téléphone du destinataire"
                            " absent ou inutilisable pour un SMS : « %s »",
                            job->phone);
        return NOTIFIER_REFUSED;
    }

    notifier_message_sms(&jobs->text, &job->message, conf->public_url);
    if (jobs->text.failed) {
        notifier_buf_str(&jobs->error, "out of memory");
        return NOTIFIER_RETRY;
    }

    return notifier_send_sms(conf, phone, jobs->text.data, &jobs->error);
}


/*
 * The outcome in the row, committed.  For a retry, due_in is the wait
 * before the next try, or -1 when the row is dead (dead_after reached).
 */
static int
notifier_jobs_record(notifier_jobs_t *jobs, notifier_job_t *job,
    notifier_outcome_e outcome, double *due_in)
{
    int          attempt = job->attempts + 1;
    char         delay[32], dead_after[32];
    const char  *params[4] = { job->id, jobs->error.data, delay, dead_after };
    PGresult    *res;

    switch (outcome) {

    case NOTIFIER_SENT:
        if (notifier_jobs_sql_done(jobs, "select api.notifier_sent($1)",
                                   1, params) != NOTIFIER_OK)
        {
            return NOTIFIER_ERROR;
        }
        notifier_log(NOTIFIER_LOG_INFO, "notification %s (%s, attempt %d):"
                     " sent", job->id, job->channel, attempt);
        break;

    case NOTIFIER_REFUSED:
        if (notifier_jobs_sql_done(jobs, "select api.notifier_dead($1, $2)",
                                   2, params) != NOTIFIER_OK)
        {
            return NOTIFIER_ERROR;
        }
        notifier_log(NOTIFIER_LOG_ERR, "notification %s (%s, attempt %d):"
                     " %s; dead: no retry can mend that", job->id,
                     job->channel, attempt, jobs->error.data);
        break;

    case NOTIFIER_RETRY:
        snprintf(delay, sizeof(delay), "%.3f",
                 notifier_backoff(attempt, jobs->conf->retry_initial,
                                  jobs->conf->retry_max));
        snprintf(dead_after, sizeof(dead_after), "%.3f",
                 jobs->conf->dead_after);

        res = notifier_jobs_sql(jobs, "select state, due_in from"
                                " api.notifier_retry($1, $2, $3, $4)",
                                4, params);
        if (res == NULL) {
            return NOTIFIER_ERROR;
        }

        if (strcmp(PQgetvalue(res, 0, 0), "dead") == 0) {
            *due_in = -1;
            notifier_log(NOTIFIER_LOG_ERR, "notification %s (%s, attempt %d):"
                         " %s; dead: still failing %g s after the first"
                         " failure (dead_after)", job->id, job->channel,
                         attempt, jobs->error.data, jobs->conf->dead_after);
        } else {
            *due_in = atof(PQgetvalue(res, 0, 1));
            notifier_log(NOTIFIER_LOG_WARN, "notification %s (%s, attempt %d):"
                         " %s; next try in %.0f s", job->id, job->channel,
                         attempt, jobs->error.data, *due_in);
        }

        PQclear(res);
        break;
    }

    return notifier_jobs_sql_done(jobs, "commit", 0, NULL);
}
