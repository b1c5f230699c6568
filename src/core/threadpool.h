/* threadpool.h — a small persistent pool of worker threads for parallel-for.
 * Each model owns one pool; nothing is global. */
#ifndef SS_CORE_THREADPOOL_H
#define SS_CORE_THREADPOOL_H

#include <stddef.h>

typedef struct ss_pool ss_pool;

/* A pool running work on n_threads threads in total (the caller counts as one;
 * n_threads <= 1 means everything runs inline on the caller). NULL on failure. */
ss_pool *ss_pool_new(int n_threads);
void ss_pool_free(ss_pool *pool);
int ss_pool_threads(const ss_pool *pool);

/* Run fn(arg, i, thread) for every i in [0, n), spread over the pool's threads
 * (thread in [0, n_threads) identifies the executing thread, e.g. to pick its
 * scratch buffer). Returns when all n calls have finished. Not re-entrant:
 * one ss_pool_for at a time per pool. */
typedef void (*ss_pool_fn)(void *arg, size_t i, int thread);
void ss_pool_for(ss_pool *pool, size_t n, ss_pool_fn fn, void *arg);

#endif
