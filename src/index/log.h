/* log.h — the index's delta log: an append-only file of the adds and removes
 * made since the snapshot it belongs to, so a collection can keep its index
 * in step with its database without rewriting the snapshot on every commit.
 *
 * File: a 32-byte header (magic "SSIDXLOG", version, dim, the snapshot id it
 * applies to, CRC32C), then records: u32 type, u32 0, u64 payload length, the
 * payload, u32 CRC32C of header + payload, u32 0.
 *   ADD     u64 n, n x i64 ids, n x dim x f32 vectors (as the caller gave them)
 *   REMOVE  u64 n, n x i64 ids
 *   COMMIT  u64 generation (the caller's sequence number)
 * Only records up to the last COMMIT are replayed; what follows it (a write
 * cut short by a crash, or changes never committed) is cut off when the log
 * is opened. A record whose checksum fails in the middle of the file (more
 * records follow it) is corruption: opening fails with its byte offset.
 *
 * This file knows the format only: replay hands each record to a callback. */
#ifndef SS_INDEX_LOG_H
#define SS_INDEX_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "semsearch.h"

enum { SS_LOG_ADD = 1, SS_LOG_REMOVE = 2, SS_LOG_COMMIT = 3 };

typedef struct ss_ilog ss_ilog;

/* Called for each committed record in order (ADD: ids, vecs, n; REMOVE: ids,
 * n; COMMIT: gen). ids / vecs are aligned copies valid during the call. */
typedef ss_status (*ss_ilog_apply)(void *ctx, int type, const int64_t *ids, const float *vecs, size_t n,
                                   uint64_t gen, ss_error *err);

/* Open the log at path (created empty when missing, reset when it belongs to
 * another snapshot than snap_id), replay its committed records through apply,
 * cut the uncommitted tail. *last_gen receives the last COMMIT's generation
 * and *n_commits their count. */
ss_status ss__ilog_open(const char *path, int dim, uint64_t snap_id, ss_ilog_apply apply, void *ctx,
                        ss_ilog **out, uint64_t *last_gen, size_t *n_commits, ss_error *err);
/* Append records (buffered by the OS; durable at the next commit). ids NULL:
 * ids id0, id0 + 1, ... */
ss_status ss__ilog_add(ss_ilog *l, const int64_t *ids, int64_t id0, const float *vecs, size_t n, ss_error *err);
ss_status ss__ilog_remove(ss_ilog *l, const int64_t *ids, size_t n, ss_error *err);
/* Append a COMMIT and fsync. Refused after any failed append (the log would
 * have a hole): write a new snapshot (ss_index_save) to recover. */
ss_status ss__ilog_commit(ss_ilog *l, uint64_t gen, ss_error *err);
/* Replace the log with an empty one for snapshot snap_id (temp + fsync + rename). */
ss_status ss__ilog_reset(ss_ilog *l, uint64_t snap_id, ss_error *err);
const char *ss__ilog_path(const ss_ilog *l);
void ss__ilog_close(ss_ilog *l);

#endif
