/* fields.c — the named fields of a fields collection (semsearch.h, "Collection
 * fields"): their definitions, each vector field's derived index file, and
 * the read side (knn, BM25 match, stored vectors).
 *
 * Tables (created on the first open of a fields collection):
 *   field_defs(id, name, kind, dim, metric, itype, quant, m, efc, analyzer)
 *   fvectors(field, rowid, v, seq)      the ground truth of vector fields
 *   ftombstones(field, rowid, seq)      removals the index may not have seen
 *   ftext_<id>                          FTS5 (one column) per text field
 * A vector field's index (DIR/field-<id>.ssi + .log) is derived data with the
 * same staleness rule as the main index (vindex.c): its generation is the
 * collection's write sequence it reflects; on open it is caught up from the
 * rows / tombstones with a newer seq, or rebuilt from fvectors when missing,
 * corrupt, of another layout, or when its live count disagrees with SQLite.
 *
 * Quantised fields (int8 / binary) are kept fp32 while they hold fewer than
 * SS_FIELD_QUANT_MIN vectors and rebuilt quantised once they reach it: the
 * index trains its quantiser on the first batch added, and a first batch of
 * one document (a PUT) would train it on a single point. */
#include "store/fields.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

static const char *FIELD_SCHEMA =
    "CREATE TABLE IF NOT EXISTS field_defs(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
    " kind INTEGER NOT NULL, dim INTEGER, metric INTEGER, itype INTEGER, quant INTEGER, m INTEGER, efc INTEGER,"
    " analyzer TEXT);"
    "CREATE TABLE IF NOT EXISTS docinfo(rowid INTEGER PRIMARY KEY, version INTEGER NOT NULL,"
    " seq_no INTEGER NOT NULL, view TEXT);"
    "CREATE TABLE IF NOT EXISTS fvectors(field INTEGER NOT NULL, rowid INTEGER NOT NULL, v BLOB NOT NULL,"
    " seq INTEGER NOT NULL, PRIMARY KEY(field, rowid));"
    "CREATE INDEX IF NOT EXISTS fvectors_seq ON fvectors(field, seq);"
    "CREATE TABLE IF NOT EXISTS ftombstones(field INTEGER NOT NULL, rowid INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(field, rowid));";

ss_field *ss__field_find(ss_fieldset *fs, const char *name) {
    for (int i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i]->name, name)) return fs->f[i];
    return NULL;
}

ss_field *ss__field_get(ss_collection *c, const char *name) {
    if (!c->fs) return NULL;
    pthread_rwlock_rdlock(&c->fs->lock);
    ss_field *f = ss__field_find(c->fs, name);
    pthread_rwlock_unlock(&c->fs->lock);
    return f;
}

int ss_collection_has_field(ss_collection *c, const char *name) { return ss__field_get(c, name) != NULL; }

static void field_free(ss_field *f) {
    if (!f) return;
    if (f->idx) ss_index_free(f->idx);
    sqlite3_finalize(f->t_ins);
    sqlite3_finalize(f->t_del);
    free(f->name);
    pthread_rwlock_destroy(&f->ilock);
    free(f);
}

static void field_path(const ss_collection *c, int64_t id, char *out, size_t cap) {
    snprintf(out, cap, "%s/field-%lld.ssi", c->dir, (long long)id);
}

/* The index options a field's index is built with at `rows` vectors. */
static ss_index_options field_opts(const ss_collection *c, const ss_field *f, int64_t rows) {
    ss_index_options o = f->o;
    o.n_threads = c->n_threads;
    o.pool = NULL;
    if (o.quantize != SS_QUANT_NONE && rows < SS_FIELD_QUANT_MIN) o.quantize = SS_QUANT_NONE;
    return o;
}

static int64_t count_rows(sqlite3 *db, const char *sql, int64_t id) {
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static ss_status add_rows(ss_field *f, ss_index *idx, sqlite3 *db, sqlite3_stmt *st, ss_error *err) {
    enum { CHUNK = 2048 };
    int64_t *ids = malloc(CHUNK * sizeof *ids);
    float *vecs = malloc((size_t)CHUNK * (size_t)f->dim * sizeof *vecs);
    ss_status s = ids && vecs ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "out of memory building field %s", f->name);
    size_t n = 0;
    int rc = SQLITE_DONE;
    while (s == SS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int bytes = sqlite3_column_bytes(st, 1);
        if (bytes != f->dim * (int)sizeof(float)) {
            s = ss_fail(err, SS_ERR_FORMAT, "field %s: vector of row %lld has %d bytes, expected %d", f->name,
                        (long long)sqlite3_column_int64(st, 0), bytes, f->dim * (int)sizeof(float));
            break;
        }
        ids[n] = sqlite3_column_int64(st, 0);
        memcpy(vecs + n * (size_t)f->dim, sqlite3_column_blob(st, 1), (size_t)bytes);
        if (++n == CHUNK) {
            s = ss_index_add(idx, ids, vecs, n, err);
            n = 0;
        }
    }
    if (s == SS_OK && rc != SQLITE_DONE) s = ss__sql_fail(err, db, "reading field vectors");
    if (s == SS_OK && n) s = ss_index_add(idx, ids, vecs, n, err);
    free(ids);
    free(vecs);
    return s;
}

/* Rebuild a field's index from fvectors as of seq (caller: f->ilock exclusive,
 * db inside a read or the batch's transaction). */
ss_status ss__field_rebuild(ss_collection *c, ss_field *f, sqlite3 *db, int64_t seq, ss_error *err) {
    int64_t rows = count_rows(db, "SELECT count(*) FROM fvectors WHERE field = ?", f->id);
    ss_index_options o = field_opts(c, f, rows);
    ss_index *idx = ss_index_new(f->dim, &o, err);
    if (!idx) return err ? err->code : SS_ERR_NOMEM;
    sqlite3_stmt *st;
    ss_status s;
    if (sqlite3_prepare_v2(db, "SELECT rowid, v FROM fvectors WHERE field = ? ORDER BY rowid", -1, &st, NULL) !=
        SQLITE_OK)
        s = ss__sql_fail(err, db, "rebuilding a field index");
    else {
        sqlite3_bind_int64(st, 1, f->id);
        s = add_rows(f, idx, db, st, err);
        sqlite3_finalize(st);
    }
    if (s != SS_OK) {
        ss_index_free(idx);
        return s;
    }
    ss_index_set_generation(idx, (uint64_t)seq);
    if (!c->read_only) { /* snapshot + a fresh log, as vindex.c's rebuild */
        char path[4300];
        field_path(c, f->id, path, sizeof path);
        if (f->idx) ss_index_free(f->idx);
        f->idx = NULL;
        s = ss_index_save(idx, path, err);
        ss_index_free(idx);
        idx = NULL;
        if (s == SS_OK && !(idx = ss_index_open(path, f->dim, &o, err))) s = err ? err->code : SS_ERR_IO;
        if (s != SS_OK) return s;
    }
    if (f->idx) ss_index_free(f->idx);
    f->idx = idx;
    f->idx_seq = seq;
    f->dirty = 0;
    f->rebuilds++;
    return SS_OK;
}

/* Open a field's index file and catch it up to seq, else rebuild. */
static ss_status field_load(ss_collection *c, ss_field *f, sqlite3 *db, int64_t seq, ss_error *err) {
    char path[4300];
    field_path(c, f->id, path, sizeof path);
    int64_t rows = count_rows(db, "SELECT count(*) FROM fvectors WHERE field = ?", f->id);
    ss_index_options o = field_opts(c, f, rows);
    ss_index *idx = NULL;
    char log[4400];
    snprintf(log, sizeof log, "%s.log", path);
    /* a field never saved has only its log (snapshot missing): the writer replays it */
    if (c->read_only ? access(path, F_OK) == 0 : access(path, F_OK) == 0 || access(log, F_OK) == 0)
        idx = c->read_only ? ss_index_load(path, NULL) : ss_index_open(path, f->dim, &o, NULL);
    int ok = idx != NULL;
    if (ok) {
        ss_index_stats st;
        ss_index_get_stats(idx, &st);
        ok = st.dim == f->dim && st.metric == o.metric && st.type == o.type && st.quantize == o.quantize;
    }
    char key[64];
    snprintf(key, sizeof key, "field_pruned_%lld", (long long)f->id);
    int64_t pruned = 0;
    sqlite3_stmt *mq;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &mq, NULL) == SQLITE_OK) {
        sqlite3_bind_text(mq, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(mq) == SQLITE_ROW) pruned = sqlite3_column_int64(mq, 0);
        sqlite3_finalize(mq);
    }
    int64_t gen = ok ? (int64_t)ss_index_generation(idx) : 0;
    if (ok && (gen > seq || pruned > gen)) ok = 0;
    ss_status s = SS_OK;
    if (ok && gen < seq) { /* catch up: newer tombstones out, newer rows in (upserts) */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT rowid FROM ftombstones WHERE field = ? AND seq > ?", -1, &st, NULL) !=
            SQLITE_OK)
            s = ss__sql_fail(err, db, "reading field tombstones");
        else {
            sqlite3_bind_int64(st, 1, f->id);
            sqlite3_bind_int64(st, 2, gen);
            while (s == SS_OK && sqlite3_step(st) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);
                s = ss_index_remove(idx, &id, 1, NULL, err);
            }
            sqlite3_finalize(st);
        }
        if (s == SS_OK) {
            if (sqlite3_prepare_v2(db, "SELECT rowid, v FROM fvectors WHERE field = ? AND seq > ? ORDER BY rowid", -1,
                                   &st, NULL) != SQLITE_OK)
                s = ss__sql_fail(err, db, "catching up a field index");
            else {
                sqlite3_bind_int64(st, 1, f->id);
                sqlite3_bind_int64(st, 2, gen);
                s = add_rows(f, idx, db, st, err);
                sqlite3_finalize(st);
            }
        }
        if (s == SS_OK && !c->read_only) s = ss_index_commit(idx, (uint64_t)seq, err);
        if (s != SS_OK) ok = 0, s = SS_OK; /* a broken file is only a cache: rebuild */
        f->catchups++;
    }
    if (ok) {
        ss_index_stats st;
        ss_index_get_stats(idx, &st);
        ok = st.count == rows;
    }
    if (ok) {
        f->idx = idx;
        f->idx_seq = seq;
        return SS_OK;
    }
    if (idx) ss_index_free(idx);
    s = ss__field_rebuild(c, f, db, seq, err);
    if (s != SS_OK) ss_error_prefix(err, "collection %s: rebuilding the index of field %s: ", c->dir, f->name);
    return s;
}

static ss_status field_prepare_text(ss_collection *c, ss_field *f, ss_error *err) {
    if (f->kind != SS_FIELD_TEXT || !c->wdb || f->t_ins) return SS_OK;
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO ftext_%lld(rowid, body) VALUES(?, ?)", (long long)f->id);
    if (sqlite3_prepare_v3(c->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &f->t_ins, NULL) != SQLITE_OK)
        return ss__sql_fail(err, c->wdb, sql);
    snprintf(sql, sizeof sql, "DELETE FROM ftext_%lld WHERE rowid = ?", (long long)f->id);
    if (sqlite3_prepare_v3(c->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &f->t_del, NULL) != SQLITE_OK)
        return ss__sql_fail(err, c->wdb, sql);
    return SS_OK;
}

static ss_field *field_from_row(sqlite3_stmt *st) {
    ss_field *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    pthread_rwlock_init(&f->ilock, NULL);
    f->id = sqlite3_column_int64(st, 0);
    f->name = strdup((const char *)sqlite3_column_text(st, 1));
    f->kind = (ss_field_kind)sqlite3_column_int(st, 2);
    f->dim = sqlite3_column_int(st, 3);
    f->o.metric = (ss_metric)sqlite3_column_int(st, 4);
    f->o.type = (ss_index_type)sqlite3_column_int(st, 5);
    f->o.quantize = (ss_quant)sqlite3_column_int(st, 6);
    f->o.m = sqlite3_column_int(st, 7);
    f->o.ef_construction = sqlite3_column_int(st, 8);
    snprintf(f->analyzer, sizeof f->analyzer, "%s",
             sqlite3_column_text(st, 9) ? (const char *)sqlite3_column_text(st, 9) : "standard");
    if (!f->name) {
        field_free(f);
        return NULL;
    }
    return f;
}

static int fs_append(ss_fieldset *fs, ss_field *f) {
    if (fs->n == fs->cap) {
        int cap = fs->cap ? fs->cap * 2 : 8;
        ss_field **n = realloc(fs->f, (size_t)cap * sizeof *n);
        if (!n) return -1;
        fs->f = n;
        fs->cap = cap;
    }
    fs->f[fs->n++] = f;
    return 0;
}

ss_status ss__fields_open(ss_collection *c, ss_error *err) {
    ss_fieldset *fs = calloc(1, sizeof *fs);
    if (!fs) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    pthread_rwlock_init(&fs->lock, NULL);
    c->fs = fs;
    sqlite3 *db = c->wdb ? c->wdb : ss__conn_borrow(c, err);
    if (!db) return err ? err->code : SS_ERR_IO;
    ss_status s = SS_OK;
    if (c->wdb) s = ss__exec(db, FIELD_SCHEMA, err);
    if (s == SS_OK) s = ss__exec(db, c->wdb ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (s != SS_OK) goto out;
    int64_t seq = ss__meta_seq(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, name, kind, dim, metric, itype, quant, m, efc, analyzer FROM field_defs"
                               " ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "reading field definitions");
    else {
        while (s == SS_OK && sqlite3_step(st) == SQLITE_ROW) {
            ss_field *f = field_from_row(st);
            if (!f || fs_append(fs, f) != 0) {
                field_free(f);
                s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            }
        }
        sqlite3_finalize(st);
    }
    for (int i = 0; s == SS_OK && i < fs->n; i++) {
        if (fs->f[i]->kind == SS_FIELD_VECTOR) s = field_load(c, fs->f[i], db, seq, err);
        if (s == SS_OK) s = field_prepare_text(c, fs->f[i], err);
    }
    ss__exec(db, s == SS_OK ? "COMMIT" : "ROLLBACK", NULL);
out:
    if (db != c->wdb) ss__conn_return(c, db);
    return s;
}

ss_status ss__fields_save(ss_collection *c, ss_error *err) {
    if (!c->fs || c->read_only) return SS_OK;
    ss_status s = SS_OK;
    for (int i = 0; i < c->fs->n; i++) {
        ss_field *f = c->fs->f[i];
        if (f->kind != SS_FIELD_VECTOR || !f->idx || (!f->dirty && f->idx_seq == c->seq)) continue;
        char path[4300];
        field_path(c, f->id, path, sizeof path);
        pthread_rwlock_wrlock(&f->ilock);
        ss_index_set_generation(f->idx, (uint64_t)c->seq);
        ss_status t = ss_index_save(f->idx, path, err);
        pthread_rwlock_unlock(&f->ilock);
        if (t != SS_OK) {
            s = t;
            continue;
        }
        f->dirty = 0;
        f->idx_seq = c->seq;
        if (c->wdb) { /* the snapshot reflects these removals: prune them */
            char sql[320];
            snprintf(sql, sizeof sql,
                     "BEGIN IMMEDIATE; DELETE FROM ftombstones WHERE field = %lld AND seq <= %lld;"
                     " INSERT OR REPLACE INTO meta(key, value) VALUES('field_pruned_%lld', %lld); COMMIT;",
                     (long long)f->id, (long long)c->seq, (long long)f->id, (long long)c->seq);
            if (ss__exec(c->wdb, sql, NULL) != SS_OK) ss__exec(c->wdb, "ROLLBACK", NULL);
        }
    }
    return s;
}

void ss__fields_free(ss_collection *c) {
    ss_fieldset *fs = c->fs;
    if (!fs) return;
    ss__batch_clear(fs);
    for (int i = 0; i < fs->n; i++) field_free(fs->f[i]);
    free(fs->f);
    for (size_t i = 0; i < sizeof fs->st / sizeof fs->st[0]; i++) sqlite3_finalize(fs->st[i]);
    pthread_rwlock_destroy(&fs->lock);
    free(fs);
    c->fs = NULL;
}

void ss__fields_drop_after(ss_collection *c, int n) {
    ss_fieldset *fs = c->fs;
    pthread_rwlock_wrlock(&fs->lock);
    while (fs->n > n) {
        ss_field *f = fs->f[--fs->n];
        char path[4300], log[4400];
        field_path(c, f->id, path, sizeof path);
        snprintf(log, sizeof log, "%s.log", path);
        field_free(f);
        unlink(path);
        unlink(log);
    }
    pthread_rwlock_unlock(&fs->lock);
}

static int same_def(const ss_field *f, const ss_field_def *d) {
    if (f->kind != d->kind) return 0;
    if (f->kind == SS_FIELD_TEXT) return !strcmp(f->analyzer, d->analyzer ? d->analyzer : "standard");
    return f->dim == d->dim && f->o.metric == d->index.metric && f->o.type == d->index.type &&
           f->o.quantize == d->index.quantize;
}

ss_status ss_collection_define_field(ss_collection *c, const ss_field_def *d, ss_error *err) {
    if (!c->fields_only || !c->fs)
        return ss_fail(err, SS_ERR_INVALID, "collection %s is not a fields collection", c->dir);
    if (c->read_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    if (!d || !d->name || !*d->name || strlen(d->name) > 512)
        return ss_fail(err, SS_ERR_INVALID, "define field: a name of 1..512 bytes is required");
    if (d->kind == SS_FIELD_VECTOR && (d->dim < 1 || d->dim > 65536))
        return ss_fail(err, SS_ERR_INVALID, "vector field %s: dim %d out of range 1..65536", d->name, d->dim);
    if (d->kind == SS_FIELD_TEXT && d->analyzer && !ss__analyzer_valid(d->analyzer))
        return ss_fail(err, SS_ERR_INVALID, "text field %s: unknown analyzer '%s' (standard, english)", d->name,
                       d->analyzer);
    ss_field *have = ss__field_get(c, d->name);
    if (have)
        return same_def(have, d) ? SS_OK
                                 : ss_fail(err, SS_ERR_INVALID, "field %s is already defined differently", d->name);
    int own = !c->fs->in_batch;
    if (own && ss_collection_begin(c, err) != SS_OK) return err ? err->code : SS_ERR_IO;
    sqlite3 *db = c->wdb;
    sqlite3_stmt *st;
    ss_status s = SS_OK;
    if (sqlite3_prepare_v2(db, "INSERT INTO field_defs(name, kind, dim, metric, itype, quant, m, efc, analyzer)"
                               " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "defining a field");
    else {
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, d->kind);
        sqlite3_bind_int(st, 3, d->kind == SS_FIELD_VECTOR ? d->dim : 0);
        sqlite3_bind_int(st, 4, d->index.metric);
        sqlite3_bind_int(st, 5, d->index.type);
        sqlite3_bind_int(st, 6, d->index.quantize);
        sqlite3_bind_int(st, 7, d->index.m);
        sqlite3_bind_int(st, 8, d->index.ef_construction);
        sqlite3_bind_text(st, 9, d->analyzer ? d->analyzer : "standard", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) s = ss__sql_fail(err, db, "defining a field");
        sqlite3_finalize(st);
    }
    ss_field *f = NULL;
    if (s == SS_OK) {
        f = calloc(1, sizeof *f);
        if (!f || !(f->name = strdup(d->name))) {
            free(f);
            f = NULL;
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        }
    }
    if (s == SS_OK) {
        pthread_rwlock_init(&f->ilock, NULL);
        f->id = sqlite3_last_insert_rowid(db);
        f->kind = d->kind;
        f->dim = d->kind == SS_FIELD_VECTOR ? d->dim : 0;
        f->o.metric = d->index.metric;
        f->o.type = d->index.type;
        f->o.quantize = d->index.quantize;
        f->o.m = d->index.m;
        f->o.ef_construction = d->index.ef_construction;
        snprintf(f->analyzer, sizeof f->analyzer, "%s", d->analyzer ? d->analyzer : "standard");
        if (f->kind == SS_FIELD_TEXT) {
            char sql[256];
            snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE ftext_%lld USING fts5(body, tokenize='semsearch %s')",
                     (long long)f->id, f->analyzer);
            s = ss__exec(db, sql, err);
            if (s == SS_OK) s = field_prepare_text(c, f, err);
        } else {
            /* An empty index with a log: its first commit is this batch's. */
            char path[4300], log[4400];
            field_path(c, f->id, path, sizeof path);
            snprintf(log, sizeof log, "%s.log", path);
            unlink(path), unlink(log); /* a leftover of a rolled-back definition */
            ss_index_options o = field_opts(c, f, 0);
            if (!(f->idx = ss_index_open(path, f->dim, &o, err))) s = err ? err->code : SS_ERR_IO;
            f->idx_seq = c->seq;
        }
    }
    if (s == SS_OK) {
        pthread_rwlock_wrlock(&c->fs->lock);
        if (fs_append(c->fs, f) != 0) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        pthread_rwlock_unlock(&c->fs->lock);
    }
    if (s != SS_OK) field_free(f);
    if (own) {
        if (s == SS_OK) s = ss_collection_commit(c, err);
        else ss_collection_rollback(c);
    }
    return s;
}

/* ---- reads ------------------------------------------------------------------- */

ss_status ss_collection_knn(ss_collection *c, const char *field, const float *q, int k, int ef,
                            const ss_filter *filter, int64_t *ids, float *scores, ss_error *err) {
    ss_field *f = ss__field_get(c, field);
    if (!f || f->kind != SS_FIELD_VECTOR)
        return ss_fail(err, SS_ERR_NOT_FOUND, "collection %s has no vector field %s", c->dir, field);
    ss_search_params p = {.ef_search = ef, .filter = filter};
    pthread_rwlock_rdlock(&f->ilock);
    ss_status s = ss_index_search(f->idx, q, 1, k, &p, ids, scores, err);
    pthread_rwlock_unlock(&f->ilock);
    return s;
}

ss_status ss_collection_vector(ss_collection *c, const char *field, int64_t rowid, float *out, ss_error *err) {
    ss_field *f = ss__field_get(c, field);
    if (!f || f->kind != SS_FIELD_VECTOR)
        return ss_fail(err, SS_ERR_NOT_FOUND, "collection %s has no vector field %s", c->dir, field);
    sqlite3 *db = ss__batch_db(c, err);
    if (!db) return err ? err->code : SS_ERR_IO;
    sqlite3_stmt *st;
    ss_status s = SS_ERR_NOT_FOUND;
    if (sqlite3_prepare_v2(db, "SELECT v FROM fvectors WHERE field = ? AND rowid = ?", -1, &st, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "reading a vector");
    else {
        sqlite3_bind_int64(st, 1, f->id);
        sqlite3_bind_int64(st, 2, rowid);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == f->dim * (int)sizeof(float)) {
            memcpy(out, sqlite3_column_blob(st, 0), (size_t)f->dim * sizeof(float));
            s = SS_OK;
        }
        sqlite3_finalize(st);
        if (s == SS_ERR_NOT_FOUND) ss_fail(err, s, "document %lld has no %s", (long long)rowid, field);
    }
    ss__batch_db_done(c, db);
    return s;
}

ss_status ss_collection_match(ss_collection *c, const char *field, const char *const *terms, size_t n, int all,
                              double k1, double b, void (*fn)(void *, int64_t, double), void *user, ss_error *err) {
    ss_field *f = ss__field_get(c, field);
    if (!f || f->kind != SS_FIELD_TEXT)
        return ss_fail(err, SS_ERR_NOT_FOUND, "collection %s has no text field %s", c->dir, field);
    if (n == 0) return SS_OK;
    /* "t1" OR "t2" ...: terms are analyzed already (fts.c passes quoted terms through) */
    size_t cap = 16;
    for (size_t i = 0; i < n; i++) cap += 2 * strlen(terms[i]) + 8;
    char *m = malloc(cap), *p = m;
    if (!m) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (i) p += sprintf(p, all ? " AND " : " OR ");
        *p++ = '"';
        for (const char *t = terms[i]; *t; t++) {
            if (*t == '"') *p++ = '"';
            *p++ = *t;
        }
        *p++ = '"';
    }
    *p = '\0';
    sqlite3 *db = ss__batch_db(c, err);
    ss_status s = db ? SS_OK : err ? err->code : SS_ERR_IO;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT rowid, lucene_bm25(ftext_%lld, ?, ?) FROM ftext_%lld WHERE ftext_%lld MATCH ?",
             (long long)f->id, (long long)f->id, (long long)f->id);
    sqlite3_stmt *st;
    if (s == SS_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) s = ss__sql_fail(err, db, "match");
    else if (s == SS_OK) {
        sqlite3_bind_double(st, 1, k1);
        sqlite3_bind_double(st, 2, b);
        sqlite3_bind_text(st, 3, m, -1, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(user, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
        if (rc != SQLITE_DONE) s = ss__sql_fail(err, db, "match");
        sqlite3_finalize(st);
    }
    if (db) ss__batch_db_done(c, db);
    free(m);
    return s;
}
