/* threadpool.h — the internal side of ss_pool (the type and its constructor
 * are public, in semsearch.h): parallel-for over a persistent set of workers.
 * The encoder and the index both run their parallel work through it; a caller
 * may hand one pool to many models, contexts and indexes (a server runs one). */
#ifndef SS_CORE_THREADPOOL_H
#define SS_CORE_THREADPOOL_H

#include <stddef.h>

#include "semsearch.h"

/* Online CPU count (at least 1). */
int ss_online_cpus(void);

/* Run fn(arg, i, thread) for every i in [0, n), spread over the pool's threads
 * (thread in [0, ss_pool_threads) identifies the executing thread, e.g. to
 * pick its scratch buffer). Returns when all n calls have finished. Safe to
 * call from several threads at once: jobs take turns, each with every worker.
 * Not re-entrant: fn must not call ss_pool_for on the same pool (deadlock).
 * pool NULL runs everything inline on the caller, as thread 0. */
typedef void (*ss_pool_fn)(void *arg, size_t i, int thread);
void ss_pool_for(ss_pool *pool, size_t n, ss_pool_fn fn, void *arg);

#endif
