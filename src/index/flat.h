/* flat.h — exact search: a scan of every slot of a store, in cache-sized
 * blocks, threads splitting the slot range, and one sgemm per block for
 * batches of fp32 queries. Reads the store only. */
#ifndef SS_INDEX_FLAT_H
#define SS_INDEX_FLAT_H

#include "index/store.h"
#include "index/topk.h"

/* Exact top-kk of nq prepared queries over all slots; results[q * kk ..]
 * sorted, counts[q] entries each. qmat: the prepared queries of ctx as one
 * row-major nq x dim matrix. The slot range is split into up to nth parts run
 * on pool (NULL: on the caller). */
ss_status ss__flat_search(const ss_store *s, const qctx *ctx, const float *qmat, size_t nq, int kk,
                          const ss_filter *f, int nth, ss_pool *pool, cand *results, int *counts, ss_error *err);

/* One query over every slot into h (the HNSW fallback when a filter is too
 * selective for the graph walk). live: room for 4096 slots. */
void ss__flat_scan_one(const ss_store *s, const qctx *c, topk *h, const ss_filter *f, uint32_t *live);

#endif
