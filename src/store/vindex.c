/* vindex.c — the vector index as derived data.
 *
 * SQLite is the ground truth; the index (index.ssi snapshot + index.ssi.log
 * delta log, through ss_index_open / ss_index_commit) is a cache of it.
 * Staleness is detected by sequence numbers: meta.seq is bumped by every
 * write transaction, each document row carries the seq that last changed its
 * vector, and each deletion leaves a tombstone with its seq. The index's own
 * generation (ss_index_generation) is the seq it reflects: the writer applies
 * each batch after its SQLite COMMIT and then ss_index_commit(seq) appends a
 * COMMIT record to the log (one fsync, no snapshot rewrite). A crash between
 * the two leaves the index one generation behind, never ahead. On open:
 *   - snapshot or log unreadable / corrupt (CRC), of another dim / metric /
 *     type -> full rebuild from the vectors table (writer: saved as a new
 *     snapshot with an empty log);
 *   - generation < meta.seq -> catch up: re-add the vectors of rows with
 *     seq > generation (upserts are idempotent) and remove tombstones with
 *     seq > generation; if tombstones that old were already pruned -> rebuild;
 *   - afterwards the index's live count must equal the rows in SQLite, else
 *     rebuild (the last line of defence).
 * A read-only handle loads the snapshot only (the log belongs to the writer)
 * and catches up from the snapshot's generation; it repeats the catch-up at
 * each search when meta.seq moved (another process wrote). The writer saves
 * a snapshot on close (which empties the log) and then prunes the tombstones
 * that snapshot reflects. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "store/store_internal.h"

ss_index_options ss__vindex_options(const ss_collection *c) {
    ss_index_options o = {.type = c->index_type,
                          .metric = c->metric,
                          .m = c->hnsw_m,
                          .ef_construction = c->ef_construction,
                          .ef_search = c->ef_search,
                          .n_threads = c->n_threads};
    return o;
}

static int64_t meta_int(sqlite3 *db, const char *key, int64_t dflt) {
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) return dflt;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Add the (rowid, vector) rows a statement yields, in chunks. */
static ss_status add_rows(ss_collection *c, ss_index *idx, sqlite3 *db, sqlite3_stmt *st, ss_error *err) {
    enum { CHUNK = 2048 };
    int64_t *ids = malloc(CHUNK * sizeof *ids);
    float *vecs = malloc((size_t)CHUNK * (size_t)c->dim * sizeof *vecs);
    ss_status s = ids && vecs ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "out of memory rebuilding the index");
    size_t n = 0;
    int rc;
    while (s == SS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int bytes = sqlite3_column_bytes(st, 1);
        if (bytes != c->dim * (int)sizeof(float)) {
            s = ss_fail(err, SS_ERR_FORMAT, "%s: vector of row %lld has %d bytes, expected %d", c->db_path,
                        (long long)sqlite3_column_int64(st, 0), bytes, c->dim * (int)sizeof(float));
            break;
        }
        ids[n] = sqlite3_column_int64(st, 0);
        memcpy(vecs + n * (size_t)c->dim, sqlite3_column_blob(st, 1), (size_t)bytes);
        if (++n == CHUNK) {
            s = ss_index_add(idx, ids, vecs, n, err);
            n = 0;
        }
    }
    if (s == SS_OK && rc != SQLITE_DONE) s = ss__sql_fail(err, db, "reading vectors");
    if (s == SS_OK && n) s = ss_index_add(idx, ids, vecs, n, err);
    free(ids);
    free(vecs);
    return s;
}

static int64_t row_count(sqlite3 *db) {
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM vectors", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Full rebuild inside one read transaction (a consistent snapshot). Caller holds ilock exclusively. */
static ss_status rebuild(ss_collection *c, sqlite3 *db, ss_error *err) {
    ss_index_options o = ss__vindex_options(c);
    ss_index *idx = ss_index_new(c->dim, &o, err);
    if (!idx) return err ? err->code : SS_ERR_NOMEM;
    ss_status s = ss__exec(db, "BEGIN", err);
    int64_t seq = 0;
    if (s == SS_OK) {
        seq = ss__meta_seq(db);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT rowid, v FROM vectors ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
            s = ss__sql_fail(err, db, "rebuilding the index");
        else {
            s = add_rows(c, idx, db, st, err);
            sqlite3_finalize(st);
        }
        ss__exec(db, "COMMIT", NULL);
    }
    if (s != SS_OK) {
        ss_index_free(idx);
        return s;
    }
    ss_index_set_generation(idx, (uint64_t)seq);
    if (!c->read_only) {
        /* The writer keeps a log: write the rebuilt index as the snapshot
         * (its fresh snapshot id makes any old log stale), then reopen it
         * with a log attached. */
        if (c->idx) ss_index_free(c->idx); /* closes the old log first */
        c->idx = NULL;
        s = ss_index_save(idx, c->index_path, err);
        ss_index_free(idx);
        idx = NULL;
        if (s == SS_OK) {
            idx = ss_index_open(c->index_path, c->dim, &o, err);
            if (!idx) s = err ? err->code : SS_ERR_IO;
        }
        if (s != SS_OK) return s;
    }
    if (c->idx) ss_index_free(c->idx);
    c->idx = idx;
    c->idx_seq = seq;
    c->idx_dirty = 0;
    c->idx_rebuilds++;
    return SS_OK;
}

/* Catch up from c->idx_seq to the database's seq. Caller holds ilock exclusively.
 * *need_rebuild is set when the tombstones needed were pruned. */
static ss_status catch_up(ss_collection *c, sqlite3 *db, int *need_rebuild, ss_error *err) {
    ss_status s = ss__exec(db, "BEGIN", err);
    if (s != SS_OK) return s;
    int64_t seq = ss__meta_seq(db);
    if (seq == c->idx_seq) {
        ss__exec(db, "COMMIT", NULL);
        return SS_OK;
    }
    if (seq < c->idx_seq || meta_int(db, "tombstones_pruned_through", 0) > c->idx_seq) {
        *need_rebuild = 1;
        ss__exec(db, "COMMIT", NULL);
        return SS_OK;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM tombstones WHERE seq > ?", -1, &st, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "reading tombstones");
    else {
        sqlite3_bind_int64(st, 1, c->idx_seq);
        while (s == SS_OK && sqlite3_step(st) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            s = ss_index_remove(c->idx, &id, 1, NULL, err);
        }
        sqlite3_finalize(st);
    }
    if (s == SS_OK) {
        if (sqlite3_prepare_v2(db, ss__chunk_catchup_sql(c), -1, &st, NULL) != SQLITE_OK)
            s = ss__sql_fail(err, db, "catching up the index");
        else {
            sqlite3_bind_int64(st, 1, c->idx_seq);
            s = add_rows(c, c->idx, db, st, err);
            sqlite3_finalize(st);
        }
    }
    int64_t rows = row_count(db);
    ss__exec(db, "COMMIT", NULL);
    if (s == SS_OK && !c->read_only) s = ss_index_commit(c->idx, (uint64_t)seq, err);
    if (s != SS_OK) return s;
    c->idx_seq = seq;
    c->idx_dirty = 1;
    ss_index_stats stt;
    ss_index_get_stats(c->idx, &stt);
    if (stt.count != rows) *need_rebuild = 1;
    return SS_OK;
}

/* The index as persisted: the writer opens snapshot + log, a reader the
 * snapshot only. NULL when missing, corrupt or of another layout. */
static ss_index *load_existing(ss_collection *c) {
    ss_index *idx = NULL;
    if (c->read_only) {
        if (access(c->index_path, F_OK) == 0) idx = ss_index_load(c->index_path, NULL);
    } else {
        ss_index_options o = ss__vindex_options(c);
        if (access(c->index_path, F_OK) == 0) idx = ss_index_open(c->index_path, c->dim, &o, NULL);
    }
    if (!idx) return NULL;
    ss_index_stats st;
    ss_index_get_stats(idx, &st);
    if (st.dim != c->dim || st.metric != c->metric || st.type != c->index_type) {
        ss_index_free(idx);
        return NULL;
    }
    return idx;
}

ss_status ss__vindex_open(ss_collection *c, ss_error *err) {
    sqlite3 *db = ss__conn_borrow(c, err);
    if (!db) return err ? err->code : SS_ERR_IO;
    pthread_rwlock_wrlock(&c->ilock);
    ss_status s = SS_OK;
    int need_rebuild = 1;
    ss_index *idx = load_existing(c);
    if (idx) {
        c->idx = idx;
        c->idx_seq = (int64_t)ss_index_generation(idx);
        need_rebuild = 0;
        s = catch_up(c, db, &need_rebuild, err);
    }
    if (s == SS_OK && need_rebuild) {
        s = rebuild(c, db, err);
        if (s != SS_OK) ss_error_prefix(err, "collection %s: rebuilding the vector index: ", c->dir);
    }
    pthread_rwlock_unlock(&c->ilock);
    ss__conn_return(c, db);
    return s;
}

ss_status ss__vindex_refresh(ss_collection *c, sqlite3 *db, ss_error *err) {
    if (!c->read_only) return SS_OK; /* the one writer: its index is current */
    int64_t seq = ss__meta_seq(db);
    pthread_rwlock_rdlock(&c->ilock);
    int current = seq == c->idx_seq;
    pthread_rwlock_unlock(&c->ilock);
    if (current) return SS_OK;
    pthread_rwlock_wrlock(&c->ilock);
    int need_rebuild = 0;
    ss_status s = catch_up(c, db, &need_rebuild, err);
    if (s == SS_OK && need_rebuild) s = rebuild(c, db, err);
    pthread_rwlock_unlock(&c->ilock);
    return s;
}

ss_status ss__vindex_apply(ss_collection *c, const int64_t *up_ids, const float *up_vecs, size_t nup,
                           const int64_t *del_ids, size_t ndel, int64_t seq, ss_error *err) {
    pthread_rwlock_wrlock(&c->ilock);
    ss_status s = SS_OK;
    if (ndel) s = ss_index_remove(c->idx, del_ids, ndel, NULL, err);
    if (s == SS_OK && nup) s = ss_index_add(c->idx, up_ids, up_vecs, nup, err);
    /* SQLite has committed seq: make the index's log say so too (a crash
     * before this fsync leaves the index behind, caught up at open). */
    if (s == SS_OK && !c->read_only) s = ss_index_commit(c->idx, (uint64_t)seq, err);
    if (s == SS_OK) c->idx_seq = seq;
    c->idx_dirty = 1;
    pthread_rwlock_unlock(&c->ilock);
    return s;
}

ss_status ss__vindex_save(ss_collection *c, ss_error *err) {
    pthread_rwlock_wrlock(&c->ilock);
    int64_t seq = c->idx_seq;
    ss_index_set_generation(c->idx, (uint64_t)seq);
    ss_status s = ss_index_save(c->idx, c->index_path, err); /* new snapshot, empty log */
    if (s == SS_OK) c->idx_dirty = 0;
    pthread_rwlock_unlock(&c->ilock);
    if (s == SS_OK && c->wdb) { /* the saved file reflects these deletions: prune them */
        char sql[160];
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE; DELETE FROM tombstones WHERE seq <= %lld;"
                 " INSERT OR REPLACE INTO meta(key, value) VALUES('tombstones_pruned_through', %lld); COMMIT;",
                 (long long)seq, (long long)seq);
        if (ss__exec(c->wdb, sql, NULL) != SS_OK) ss__exec(c->wdb, "ROLLBACK", NULL);
    }
    return s;
}
