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
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <pthread.h>

#include "../ngx_http_chantier_module.h"
#include "ngx_http_chantier_cpu.h"


typedef struct {
    ngx_atomic_t              next;       /* where a waiting task queues */
    pthread_mutex_t           slot[1];    /* n of them */
} ngx_http_chantier_cpu_shared_t;


struct ngx_http_chantier_cpu_s {
    ngx_uint_t                        n;
    ngx_http_chantier_cpu_shared_t   *shared;
};


static ngx_int_t ngx_http_chantier_cpu_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_int_t ngx_http_chantier_cpu_locked(ngx_http_chantier_cpu_t *cpu,
    ngx_uint_t slot, int err);


ngx_http_chantier_cpu_t *
ngx_http_chantier_cpu_add(ngx_conf_t *cf, ngx_uint_t slots)
{
    size_t                    size;
    ngx_str_t                 name = ngx_string("chantier_cpu_slots");
    ngx_shm_zone_t           *zone;
    ngx_http_chantier_cpu_t  *cpu;

    cpu = ngx_pcalloc(cf->pool, sizeof(ngx_http_chantier_cpu_t));
    if (cpu == NULL) {
        return NULL;
    }

    cpu->n = slots;

    /*
     * The size depends on the count: a reload with another count gets a
     * new zone, while the old workers finish with the old one.
     */
    size = 8 * ngx_pagesize + slots * sizeof(pthread_mutex_t);

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
