/*
 * CPU slots: at most chantier_cpu_slots thread-pool tasks compute at once,
 * in all the workers of this nginx together.
 *
 * Each worker has its own thread pool, so its size alone cannot keep a
 * core free: two workers of 4 threads hash 8 passwords at once on a
 * 2-core machine, and every event loop then waits for a time slice behind
 * scrypt.  With one slot fewer than there are cores (the default), one
 * core always stays with the event loops, PostgreSQL and Redis; the other
 * tasks wait in their pool thread, which costs nothing but that thread.
 *
 * A slot is a process-shared mutex in shared memory, robust: a worker
 * killed while it holds one (kill -9, a crash) does not take the slot
 * with it, the next task that locks it gets EOWNERDEAD and carries on.
 * The task locks and unlocks in the same pool thread, as a mutex wants.
 *
 * Where a task computes.  Its pool thread yields to the event loops (nice
 * 10): on a busy machine a worker's loop must get the CPU first, or every
 * cheap request waits behind scrypt or an image.  Linux applies a nice
 * value to one thread when given its thread id, and it stays with the
 * thread, so setting it again before each task is free.
 *
 * Yielding is not enough on a machine of few cores.  The scheduler only
 * looks again at a CPU's queue when a task wakes up on it or at the next
 * tick (4 ms at HZ=250): an event loop preempted there, by a kernel thread
 * say, may wait a whole tick behind a pool thread, even one of
 * SCHED_IDLE.  `perf sched` showed exactly these waits of 3 to 5 ms under
 * 20 logins per second, the tail of every request's latency.  So
 * chantier_thread_cpu_affinity can give the pool threads CPUs of their
 * own, and nginx's worker_cpu_affinity the event loops the others: then
 * no loop ever queues behind a task.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "../ngx_http_chantier_module.h"
#include "ngx_http_chantier_cpu.h"


typedef struct {
    ngx_atomic_t              next;       /* where a waiting task queues */
    pthread_mutex_t           slot[1];    /* n of them */
} ngx_http_chantier_cpu_shared_t;


struct ngx_http_chantier_cpu_s {
    ngx_uint_t                        n;
    ngx_http_chantier_cpu_shared_t   *shared;
#if (NGX_HAVE_SCHED_SETAFFINITY)
    ngx_cpuset_t                     *affinity;   /* NULL: the worker's */
#endif
};


#define NGX_HTTP_CHANTIER_THREAD_NICE  10


static ngx_int_t ngx_http_chantier_cpu_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_chantier_cpu_locked(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t slot, int err);


/*
 * chantier_thread_cpu_affinity MASK | off: MASK as in worker_cpu_affinity,
 * 0 and 1 with the rightmost for CPU 0 ("10": CPU 1 only).
 */

char *
ngx_http_chantier_cpu_affinity(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
#if (NGX_HAVE_SCHED_SETAFFINITY)
    ngx_http_chantier_main_conf_t *mcf = conf;

    u_char        ch;
    ngx_str_t    *value;
    ngx_uint_t    i, here;
    ngx_cpuset_t *set;

    if (mcf->thread_cpus != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        mcf->thread_cpus = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].len > CPU_SETSIZE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_thread_cpu_affinity\": a mask of "
                           "%uz digits, longer than the %d CPUs a mask can "
                           "name", value[1].len, CPU_SETSIZE);
        return NGX_CONF_ERROR;
    }

    set = ngx_palloc(cf->pool, sizeof(ngx_cpuset_t));
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    CPU_ZERO(set);
    here = 0;

    for (i = 0; i < value[1].len; i++) {
        ch = value[1].data[value[1].len - 1 - i];

        if (ch == '0') {
            continue;
        }

        if (ch != '1') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"chantier_thread_cpu_affinity\": \"%V\" "
                               "is not a mask of 0 and 1, the rightmost for "
                               "CPU 0, as in worker_cpu_affinity", &value[1]);
            return NGX_CONF_ERROR;
        }

        CPU_SET(i, set);

        if (i < (ngx_uint_t) ngx_ncpu) {
            here++;
        }
    }

    if (here == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"chantier_thread_cpu_affinity\": \"%V\" "
                           "names none of the %i CPUs of this machine",
                           &value[1], ngx_ncpu);
        return NGX_CONF_ERROR;
    }

    mcf->thread_cpus = set;

    return NGX_CONF_OK;

#else

    return "is not supported on this system";

#endif
}


ngx_http_chantier_cpu_t *
ngx_http_chantier_cpu_add(ngx_conf_t *cf, ngx_http_chantier_main_conf_t *mcf)
{
    size_t                    size;
    ngx_str_t                 name = ngx_string("chantier_cpu_slots");
    ngx_shm_zone_t           *zone;
    ngx_http_chantier_cpu_t  *cpu;

    cpu = ngx_pcalloc(cf->pool, sizeof(ngx_http_chantier_cpu_t));
    if (cpu == NULL) {
        return NULL;
    }

    cpu->n = mcf->cpu_slots;
#if (NGX_HAVE_SCHED_SETAFFINITY)
    cpu->affinity = mcf->thread_cpus;
#endif

    /*
     * The size depends on the count: a reload with another count gets a
     * new zone, while the old workers finish with the old one.
     */
    size = 8 * ngx_pagesize + cpu->n * sizeof(pthread_mutex_t);

    zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_chantier_module);
    if (zone == NULL) {
        return NULL;
    }

    zone->init = ngx_http_chantier_cpu_init_zone;
    zone->data = cpu;

    return cpu;
}


static ngx_int_t
ngx_http_chantier_cpu_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_chantier_cpu_t *old = data;

    ngx_uint_t                       i;
    ngx_slab_pool_t                 *shpool;
    pthread_mutexattr_t              attr;
    ngx_http_chantier_cpu_t         *cpu;
    ngx_http_chantier_cpu_shared_t  *shared;

    cpu = zone->data;

    if (old != NULL) {
        /* a reload: the same slots, still held by the old workers' tasks */
        cpu->shared = old->shared;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    shared = ngx_slab_alloc(shpool, sizeof(ngx_http_chantier_cpu_shared_t)
                                    + (cpu->n - 1) * sizeof(pthread_mutex_t));
    if (shared == NULL) {
        return NGX_ERROR;
    }

    if (pthread_mutexattr_init(&attr) != 0) {
        return NGX_ERROR;
    }

    if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0
        || pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0)
    {
        (void) pthread_mutexattr_destroy(&attr);
        return NGX_ERROR;
    }

    for (i = 0; i < cpu->n; i++) {
        if (pthread_mutex_init(&shared->slot[i], &attr) != 0) {
            (void) pthread_mutexattr_destroy(&attr);
            return NGX_ERROR;
        }
    }

    (void) pthread_mutexattr_destroy(&attr);

    shared->next = 0;
    cpu->shared = shared;

    return NGX_OK;
}


/*
 * A free slot if there is one; otherwise wait on one, in turn, so that the
 * waiting tasks spread over the slots.
 */

ngx_int_t
ngx_http_chantier_cpu_take(ngx_http_chantier_cpu_t *cpu, ngx_uint_t *slot)
{
    int         err;
    ngx_uint_t  i;

    if (cpu == NULL || cpu->shared == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < cpu->n; i++) {
        err = pthread_mutex_trylock(&cpu->shared->slot[i]);

        if (err != EBUSY) {
            *slot = i;
            return ngx_http_chantier_cpu_locked(cpu, i, err);
        }
    }

    i = ngx_atomic_fetch_add(&cpu->shared->next, 1) % cpu->n;

    err = pthread_mutex_lock(&cpu->shared->slot[i]);

    *slot = i;
    return ngx_http_chantier_cpu_locked(cpu, i, err);
}


static ngx_int_t
ngx_http_chantier_cpu_locked(ngx_http_chantier_cpu_t *cpu, ngx_uint_t slot,
    int err)
{
    if (err == EOWNERDEAD) {
        /* its holder died with it: the slot is ours, and usable again */
        err = pthread_mutex_consistent(&cpu->shared->slot[slot]);
    }

    return (err == 0) ? NGX_OK : NGX_ERROR;
}


void
ngx_http_chantier_cpu_give(ngx_http_chantier_cpu_t *cpu, ngx_uint_t slot)
{
    (void) pthread_mutex_unlock(&cpu->shared->slot[slot]);
}


void
ngx_http_chantier_cpu_place(ngx_http_chantier_cpu_t *cpu, ngx_log_t *log)
{
#if (NGX_LINUX)
    (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                       NGX_HTTP_CHANTIER_THREAD_NICE);
#endif

#if (NGX_HAVE_SCHED_SETAFFINITY)
    /* pid 0: the calling thread only, not the worker's other threads */
    if (cpu != NULL && cpu->affinity != NULL
        && sched_setaffinity(0, sizeof(ngx_cpuset_t), cpu->affinity) == -1)
    {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "chantier: sched_setaffinity() of a pool thread "
                      "failed (chantier_thread_cpu_affinity), the task "
                      "runs on the worker's CPUs");
    }
#endif
}
