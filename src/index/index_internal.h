/* index_internal.h — the ss_index object: a store (store.h), an HNSW graph
 * (hnsw.h) for SS_INDEX_HNSW, the locks, the scratch pool and thread pool,
 * and the persistence state (persist.c, log.c).
 *
 * Files and what they own (dependencies point down, never in a loop):
 *   persist.c  snapshot save / load, ss_index_open / commit (the delta log)
 *   search.c   ss_index_search: query preparation, flat or HNSW, rescoring
 *   index.c    lifecycle, add / remove / compact, contains, stats
 *   flat.c     the exact scan            hnsw.c  the graph
 *   log.c      the delta-log file format distance.h  the distance computer
 *   store.c    slots, quantiser, id map  topk.h  heaps
 *
 * Concurrency model
 *  - sync->wmu serialises writers (add / remove / compact / save / commit).
 *  - sync->rw protects the slot arrays: searches hold it shared; a writer
 *    takes it exclusively only to grow arrays and to write vector payloads /
 *    ids of the slots it is about to insert; linking new HNSW nodes then runs
 *    under the shared lock (link lists are seqlocked, see hnsw.h), so a
 *    search running at the same time sees either the old or the new list.
 *  - sync->idmap protects the id map: ss_index_contains holds it shared;
 *    writers hold it exclusively only while they change the map (not while
 *    they link), so contains never waits for a bulk add's graph work.
 *  - ss_index_get_stats takes no lock: it reads a copy of the counters that
 *    the writer publishes (seqlocked) at the end of every change, so it gets
 *    one consistent set, as of the last completed change.
 *  - state[slot] is LIVE only once a node is fully linked: a search never
 *    returns a PENDING (half-inserted) or DELETED slot.
 * The locks live behind a pointer (sync) so functions that take a const
 * ss_index lock them without casting const away. */
#ifndef SS_INDEX_INTERNAL_H
#define SS_INDEX_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "index/hnsw.h"
#include "index/log.h"
#include "index/store.h"
#include "semsearch.h"

/* n_threads above this multiple of the online cores is clamped to it */
#define SS_INDEX_THREADS_PER_CORE 4

typedef struct idx_sync {
    pthread_rwlock_t rw;    /* slot arrays                                   */
    pthread_rwlock_t idmap; /* the id map                                    */
    pthread_mutex_t wmu;    /* one writer at a time                          */
    pthread_mutex_t scratch_mu;
    scratch *free_scratch;  /* pooled search / linking scratch               */
    pthread_mutex_t pool_mu;
    ss_pool *pool;          /* injected (opts.pool) or created on first use  */
    int own_pool;
} idx_sync;

struct ss_index {
    ss_index_type type;
    int ef_s, n_threads;
    float oversample;
    struct { /* fixed at creation (stats reads them with no lock) */
        int dim;
        ss_metric metric;
        ss_quant quant;
        const char *isa;
    } info;
    struct { /* counters published by writers (seqlocked; ss__publish_stats) */
        uint32_t seq;
        int64_t count, deleted, slots;
        size_t memory;
    } pub;
    ss_store s;
    ss_hnsw g;   /* SS_INDEX_HNSW only (initialised for both)               */
    idx_sync *sync;
    int dbg_fail_grow; /* test hook (tests include this header): HNSW walks run
                          with a beam heap that cannot grow, as if realloc failed */
    /* persistence */
    uint64_t generation; /* caller's sequence number (ss_index_commit)      */
    uint64_t snap_id;    /* identifies the snapshot a delta log applies to  */
    ss_ilog *log;        /* the attached delta log (ss_index_open), or NULL */
};

/* index.c */
ss_index *ss__index_alloc(int dim, const ss_index_options *o, ss_error *err);
/* Threads and pool from o (o->pool injected, else n_threads clamped). */
void ss__index_threads(ss_index *x, const ss_index_options *o);
/* The thread pool for parallel work: the injected one, else the index's own
 * (created on first use with n_threads threads; NULL: run on the caller). */
ss_pool *ss__index_pool(const ss_index *x);
scratch *ss__scratch_get(const ss_index *x);
void ss__scratch_put(const ss_index *x, scratch *sc);
/* add / remove with the writer lock held, not logged (replay uses them) */
ss_status ss__add_locked(ss_index *x, const int64_t *ids, const float *vecs, size_t n, ss_error *err);
ss_status ss__remove_locked(ss_index *x, const int64_t *ids, size_t n, size_t *removed, ss_error *err);
void ss__publish_stats(ss_index *x);
/* Non-finite values, or a squared norm a float cannot hold, refused with the row. */
ss_status ss__check_vectors(const char *fn, const float *v, size_t n, int dim, ss_error *err);

#endif
