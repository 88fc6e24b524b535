/*
 * Test-only stand-ins for nginx's pool and log, shared by the C unit tests
 * (included once by each test program, which is a program of its own).
 * The pool is a plain malloc() list that can be told to fail after N
 * allocations (fail_after), emptied by test_pool_reset().
 */

#ifndef _NGX_STUB_POOL_H_INCLUDED_
#define _NGX_STUB_POOL_H_INCLUDED_

static ngx_int_t   fail_after = -1;     /* allocations left, -1: never fail */
static void      **blocks;
static size_t      nblocks, nalloc;


static void *
test_alloc(size_t size, int zero)
{
    void  *p;

    if (fail_after == 0) {
        return NULL;
    }

    if (fail_after > 0) {
        fail_after--;
    }

    if (nblocks == nalloc) {
        nalloc = nalloc ? nalloc * 2 : 1024;
        blocks = realloc(blocks, nalloc * sizeof(void *));
        if (blocks == NULL) {
            abort();
        }
    }

    p = zero ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
    if (p == NULL) {
        abort();
    }

    blocks[nblocks++] = p;

    return p;
}


static void
test_pool_reset(void)
{
    while (nblocks) {
        free(blocks[--nblocks]);
    }
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    return test_alloc(size, 0);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return test_alloc(size, 0);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    return test_alloc(size, 1);
}


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    fprintf(stderr, "# log: %s\n", fmt);
}


#endif /* _NGX_STUB_POOL_H_INCLUDED_ */
