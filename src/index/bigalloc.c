/* bigalloc.c — see bigalloc.h. */
#include "index/bigalloc.h"

#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_2M ((size_t)2 << 20)

void *ss__alloc_big(size_t bytes) {
    if (bytes < 2 * HUGE_2M) return malloc(bytes ? bytes : 1);
    /* whole 2 MiB pages, so the advice covers the array's tail too */
    size_t rounded = (bytes + HUGE_2M - 1) & ~(HUGE_2M - 1);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_2M, rounded)) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}
