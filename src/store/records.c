/* records.c — documents of a fields collection: the write batch (put /
 * remove / commit), and reads by id, by rowid and in scans.
 *
 * A document is a docs row (ext_id, fields = its JSON, body '', seq) plus a
 * docinfo row (version, seq_no, view: the caller's smaller projection that
 * scans read, e.g. the JSON without its vectors, so a filter scan does not
 * parse thousands of floats per document). Its vector values are fvectors
 * rows, its text values rows of the fields' FTS5 tables. A batch is one
 * SQLite transaction; its vector changes are buffered and applied to the
 * field indexes after COMMIT, then each changed index commits the batch's
 * sequence number to its log (fields.c says how a crash in between heals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/fields.h"

enum { ST_FIND, ST_INS_DOC, ST_UPD_DOC, ST_INFO, ST_VEC_INS, ST_VEC_DEL, ST_TOMB_INS, ST_TOMB_DEL, ST_DEL_DOC,
       ST_DEL_INFO, ST_SEQ, ST_N };

static const char *const SQL[ST_N] = {
    "SELECT rowid FROM docs WHERE ext_id = ?",
    "INSERT INTO docs(ext_id, fields, body, seq) VALUES(?, ?, '', ?)",
    "UPDATE docs SET fields = ?, seq = ? WHERE rowid = ?",
    "INSERT OR REPLACE INTO docinfo(rowid, version, seq_no, view) VALUES(?, ?, ?, ?)",
    "INSERT OR REPLACE INTO fvectors(field, rowid, v, seq) VALUES(?, ?, ?, ?)",
    "DELETE FROM fvectors WHERE field = ? AND rowid = ?",
    "INSERT OR REPLACE INTO ftombstones(field, rowid, seq) VALUES(?, ?, ?)",
    "DELETE FROM ftombstones WHERE field = ? AND rowid = ?",
    "DELETE FROM docs WHERE rowid = ?",
    "DELETE FROM docinfo WHERE rowid = ?",
    "UPDATE meta SET value = ? WHERE key = 'seq'",
};

static sqlite3_stmt *stmt(ss_collection *c, int i, ss_error *err) {
    ss_fieldset *fs = c->fs;
    if (!fs->st[i] && sqlite3_prepare_v3(c->wdb, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &fs->st[i], NULL) != SQLITE_OK) {
        ss__sql_fail(err, c->wdb, SQL[i]);
        return NULL;
    }
    sqlite3_reset(fs->st[i]);
    sqlite3_clear_bindings(fs->st[i]);
    return fs->st[i];
}

static int step_done(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

void ss__batch_clear(ss_fieldset *fs) {
    for (size_t i = 0; i < fs->npend; i++) free(fs->pend[i].v);
    free(fs->pend);
    fs->pend = NULL;
    fs->npend = fs->cappend = 0;
}

static int in_my_batch(const ss_collection *c) {
    return c->fs && c->fs->in_batch && pthread_equal(c->fs->batch_thread, pthread_self());
}

sqlite3 *ss__batch_db(ss_collection *c, ss_error *err) { return in_my_batch(c) ? c->wdb : ss__conn_borrow(c, err); }

void ss__batch_db_done(ss_collection *c, sqlite3 *db) {
    if (db && db != c->wdb) ss__conn_return(c, db);
}

static ss_status need_writer(ss_collection *c, ss_error *err) {
    if (!c->fields_only || !c->fs) return ss_fail(err, SS_ERR_INVALID, "collection %s is not a fields collection", c->dir);
    if (c->read_only || !c->wdb) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    return SS_OK;
}

ss_status ss_collection_begin(ss_collection *c, ss_error *err) {
    if (need_writer(c, err) != SS_OK) return err ? err->code : SS_ERR_INVALID;
    if (in_my_batch(c)) return ss_fail(err, SS_ERR_INVALID, "collection %s: a batch is already open", c->dir);
    pthread_mutex_lock(&c->wmu);
    ss_status s = ss__exec(c->wdb, "BEGIN IMMEDIATE", err);
    if (s != SS_OK) {
        pthread_mutex_unlock(&c->wmu);
        return s;
    }
    ss_fieldset *fs = c->fs;
    fs->in_batch = 1;
    fs->batch_thread = pthread_self();
    fs->batch_seq = c->seq + 1;
    pthread_rwlock_rdlock(&fs->lock);
    fs->batch_nfields = fs->n;
    pthread_rwlock_unlock(&fs->lock);
    return SS_OK;
}

static void batch_end(ss_collection *c) {
    ss__batch_clear(c->fs);
    c->fs->in_batch = 0;
    pthread_mutex_unlock(&c->wmu);
}

void ss_collection_rollback(ss_collection *c) {
    if (!in_my_batch(c)) return;
    ss__exec(c->wdb, "ROLLBACK", NULL);
    ss__fields_drop_after(c, c->fs->batch_nfields);
    batch_end(c);
}

static int by_field_row(const void *a, const void *b) {
    const ss_pending_vec *x = a, *y = b;
    if (x->f != y->f) return x->f->id < y->f->id ? -1 : 1;
    if (x->rowid != y->rowid) return x->rowid < y->rowid ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Apply the batch's vector changes (the last per field and row) to the field indexes. */
static ss_status apply_pending(ss_collection *c, int64_t seq, ss_error *err) {
    ss_fieldset *fs = c->fs;
    if (fs->npend) qsort(fs->pend, fs->npend, sizeof *fs->pend, by_field_row);
    ss_status s = SS_OK;
    size_t i = 0;
    while (i < fs->npend && s == SS_OK) {
        ss_field *f = fs->pend[i].f;
        size_t j = i;
        while (j < fs->npend && fs->pend[j].f == f) j++;
        int64_t *add_ids = malloc((j - i) * sizeof *add_ids), *del_ids = malloc((j - i) * sizeof *del_ids);
        float *vecs = malloc((j - i) * (size_t)f->dim * sizeof *vecs);
        size_t na = 0, nd = 0;
        if (!add_ids || !del_ids || !vecs) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        for (size_t k = i; s == SS_OK && k < j; k++) {
            if (k + 1 < j && fs->pend[k + 1].rowid == fs->pend[k].rowid) continue; /* a later change wins */
            if (fs->pend[k].v) {
                add_ids[na] = fs->pend[k].rowid;
                memcpy(vecs + na++ * (size_t)f->dim, fs->pend[k].v, (size_t)f->dim * sizeof *vecs);
            } else
                del_ids[nd++] = fs->pend[k].rowid;
        }
        pthread_rwlock_wrlock(&f->ilock);
        if (s == SS_OK && nd) s = ss_index_remove(f->idx, del_ids, nd, NULL, err);
        if (s == SS_OK && na) s = ss_index_add(f->idx, add_ids, vecs, na, err);
        if (s == SS_OK) s = ss_index_commit(f->idx, (uint64_t)seq, err);
        if (s == SS_OK) f->idx_seq = seq;
        f->dirty = 1;
        ss_index_stats stt;
        ss_index_get_stats(f->idx, &stt);
        int requant = s == SS_OK && f->o.quantize != SS_QUANT_NONE && stt.quantize == SS_QUANT_NONE &&
                      stt.count >= SS_FIELD_QUANT_MIN;
        pthread_rwlock_unlock(&f->ilock);
        free(add_ids);
        free(del_ids);
        free(vecs);
        if (requant) { /* enough vectors to train the quantiser on: rebuild quantised */
            sqlite3 *db = ss__conn_borrow(c, err);
            if (!db) return err ? err->code : SS_ERR_IO;
            pthread_rwlock_wrlock(&f->ilock);
            s = ss__exec(db, "BEGIN", err);
            if (s == SS_OK) {
                s = ss__field_rebuild(c, f, db, seq, err);
                ss__exec(db, "COMMIT", NULL);
            }
            pthread_rwlock_unlock(&f->ilock);
            ss__conn_return(c, db);
        }
        i = j;
    }
    return s;
}

ss_status ss_collection_commit(ss_collection *c, ss_error *err) {
    if (!in_my_batch(c)) return ss_fail(err, SS_ERR_INVALID, "collection %s: no batch open", c->dir);
    int64_t seq = c->fs->batch_seq;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)seq);
    sqlite3_stmt *st = stmt(c, ST_SEQ, err);
    ss_status s = st ? SS_OK : SS_ERR_IO;
    if (s == SS_OK) {
        sqlite3_bind_text(st, 1, num, -1, SQLITE_TRANSIENT);
        if (step_done(st) != 0) s = ss__sql_fail(err, c->wdb, "bumping seq");
    }
    if (s == SS_OK) s = ss__exec(c->wdb, "COMMIT", err);
    if (s != SS_OK) {
        ss_collection_rollback(c);
        return s;
    }
    c->seq = seq;
    s = apply_pending(c, seq, err);
    if (s != SS_OK) ss_error_prefix(err, "collection %s: committed, but updating a field index failed: ", c->dir);
    batch_end(c);
    return s;
}

static ss_status pend(ss_fieldset *fs, ss_field *f, int64_t rowid, const float *v, ss_error *err) {
    if (fs->npend == fs->cappend) {
        size_t cap = fs->cappend ? fs->cappend * 2 : 64;
        ss_pending_vec *n = realloc(fs->pend, cap * sizeof *n);
        if (!n) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
        fs->pend = n;
        fs->cappend = cap;
    }
    ss_pending_vec *p = &fs->pend[fs->npend];
    p->f = f;
    p->rowid = rowid;
    p->order = fs->npend;
    p->v = NULL;
    if (v) {
        if (!(p->v = malloc((size_t)f->dim * sizeof *p->v))) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
        memcpy(p->v, v, (size_t)f->dim * sizeof *p->v);
    }
    fs->npend++;
    return SS_OK;
}

static int64_t find_rowid(ss_collection *c, const char *id, ss_error *err) {
    sqlite3_stmt *st = stmt(c, ST_FIND, err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int64_t r = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return r;
}

/* Set (v != NULL / text != NULL) or clear one field of a row. */
static ss_status set_field(ss_collection *c, ss_field *f, int64_t rowid, const ss_field_value *v, int existed,
                           ss_error *err) {
    int64_t seq = c->fs->batch_seq;
    if (f->kind == SS_FIELD_TEXT) {
        if (existed) {
            sqlite3_reset(f->t_del);
            sqlite3_bind_int64(f->t_del, 1, rowid);
            if (step_done(f->t_del) != 0) return ss__sql_fail(err, c->wdb, "clearing a text field");
        }
        if (v && v->text) {
            sqlite3_reset(f->t_ins);
            sqlite3_bind_int64(f->t_ins, 1, rowid);
            sqlite3_bind_text(f->t_ins, 2, v->text, -1, SQLITE_TRANSIENT);
            if (step_done(f->t_ins) != 0) return ss__sql_fail(err, c->wdb, "writing a text field");
        }
        return SS_OK;
    }
    sqlite3_stmt *st;
    if (v && v->vector) {
        if (!(st = stmt(c, ST_VEC_INS, err))) return SS_ERR_IO;
        sqlite3_bind_int64(st, 1, f->id);
        sqlite3_bind_int64(st, 2, rowid);
        sqlite3_bind_blob(st, 3, v->vector, f->dim * (int)sizeof(float), SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, seq);
        if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "writing a vector");
        if (existed) {
            if (!(st = stmt(c, ST_TOMB_DEL, err))) return SS_ERR_IO;
            sqlite3_bind_int64(st, 1, f->id);
            sqlite3_bind_int64(st, 2, rowid);
            if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "writing a vector");
        }
        return pend(c->fs, f, rowid, v->vector, err);
    }
    if (!existed) return SS_OK;
    if (!(st = stmt(c, ST_VEC_DEL, err))) return SS_ERR_IO;
    sqlite3_bind_int64(st, 1, f->id);
    sqlite3_bind_int64(st, 2, rowid);
    if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "clearing a vector");
    if (sqlite3_changes(c->wdb) == 0) return SS_OK;
    if (!(st = stmt(c, ST_TOMB_INS, err))) return SS_ERR_IO;
    sqlite3_bind_int64(st, 1, f->id);
    sqlite3_bind_int64(st, 2, rowid);
    sqlite3_bind_int64(st, 3, seq);
    if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "writing a tombstone");
    return pend(c->fs, f, rowid, NULL, err);
}

ss_status ss_collection_put(ss_collection *c, const char *id, const char *json, const char *view, int64_t version,
                            int64_t seq_no, const ss_field_value *vals, size_t nv, int64_t *out_rowid,
                            ss_error *err) {
    if (!in_my_batch(c)) return ss_fail(err, SS_ERR_INVALID, "collection %s: put outside a batch", c->dir);
    if (!id || !json) return ss_fail(err, SS_ERR_INVALID, "put: id and json are required");
    ss_fieldset *fs = c->fs;
    int64_t seq = fs->batch_seq;
    int64_t rowid = find_rowid(c, id, err);
    if (rowid < 0) return SS_ERR_IO;
    int existed = rowid > 0;
    sqlite3_stmt *st = stmt(c, existed ? ST_UPD_DOC : ST_INS_DOC, err);
    if (!st) return SS_ERR_IO;
    if (existed) {
        sqlite3_bind_text(st, 1, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, seq);
        sqlite3_bind_int64(st, 3, rowid);
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, seq);
    }
    if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "writing a document");
    if (!existed) rowid = sqlite3_last_insert_rowid(c->wdb);
    if (!(st = stmt(c, ST_INFO, err))) return SS_ERR_IO;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_int64(st, 3, seq_no);
    if (view) sqlite3_bind_text(st, 4, view, -1, SQLITE_TRANSIENT);
    if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "writing a document");
    for (size_t i = 0; i < nv; i++)
        if (!vals[i].field || !ss__field_get(c, vals[i].field))
            return ss_fail(err, SS_ERR_INVALID, "document %s: no field %s defined", id,
                           vals[i].field ? vals[i].field : "(null)");
    pthread_rwlock_rdlock(&fs->lock);
    int n = fs->n;
    pthread_rwlock_unlock(&fs->lock);
    ss_status s = SS_OK;
    for (int i = 0; s == SS_OK && i < n; i++) {
        ss_field *f = fs->f[i];
        const ss_field_value *v = NULL;
        for (size_t k = 0; k < nv; k++)
            if (!strcmp(vals[k].field, f->name)) v = &vals[k];
        if (v && f->kind == SS_FIELD_VECTOR && !v->vector) v = NULL;
        if (v && f->kind == SS_FIELD_TEXT && !v->text) v = NULL;
        s = set_field(c, f, rowid, v, existed, err);
    }
    if (s == SS_OK && out_rowid) *out_rowid = rowid;
    return s;
}

int ss_collection_remove(ss_collection *c, const char *id, ss_error *err) {
    if (!in_my_batch(c)) return ss_fail(err, SS_ERR_INVALID, "collection %s: remove outside a batch", c->dir), -1;
    int64_t rowid = find_rowid(c, id, err);
    if (rowid <= 0) return rowid < 0 ? -1 : 0;
    ss_fieldset *fs = c->fs;
    pthread_rwlock_rdlock(&fs->lock);
    int n = fs->n;
    pthread_rwlock_unlock(&fs->lock);
    for (int i = 0; i < n; i++)
        if (set_field(c, fs->f[i], rowid, NULL, 1, err) != SS_OK) return -1;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st = stmt(c, k ? ST_DEL_INFO : ST_DEL_DOC, err);
        if (!st) return -1;
        sqlite3_bind_int64(st, 1, rowid);
        if (step_done(st) != 0) return ss__sql_fail(err, c->wdb, "removing a document"), -1;
    }
    return 1;
}

/* ---- reads --------------------------------------------------------------------- */

void ss_record_clear(ss_record *r) {
    if (!r) return;
    free(r->id);
    free(r->json);
    free(r->view);
    memset(r, 0, sizeof *r);
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static ss_status read_one(ss_collection *c, const char *sql, const char *id, int64_t rowid, ss_record *out,
                          ss_error *err) {
    memset(out, 0, sizeof *out);
    if (!c->fields_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is not a fields collection", c->dir);
    sqlite3 *db = ss__batch_db(c, err);
    if (!db) return err ? err->code : SS_ERR_IO;
    sqlite3_stmt *st;
    ss_status s = SS_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) s = ss__sql_fail(err, db, "reading a document");
    else {
        if (id) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        else sqlite3_bind_int64(st, 1, rowid);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->rowid = sqlite3_column_int64(st, 0);
            out->id = col_dup(st, 1);
            out->json = col_dup(st, 2);
            out->version = sqlite3_column_int64(st, 3);
            out->seq_no = sqlite3_column_int64(st, 4);
            out->view = col_dup(st, 5);
            if (!out->id || !out->json) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        } else if (rc == SQLITE_DONE)
            s = ss_fail(err, SS_ERR_NOT_FOUND, "no document %s", id ? id : "at that rowid");
        else
            s = ss__sql_fail(err, db, "reading a document");
        sqlite3_finalize(st);
    }
    ss__batch_db_done(c, db);
    if (s != SS_OK) ss_record_clear(out);
    return s;
}

#define RECORD_COLS "d.rowid, d.ext_id, d.fields, i.version, i.seq_no, i.view FROM docs d JOIN docinfo i ON i.rowid = d.rowid"

ss_status ss_collection_lookup(ss_collection *c, const char *id, ss_record *out, ss_error *err) {
    return read_one(c, "SELECT " RECORD_COLS " WHERE d.ext_id = ?", id, 0, out, err);
}

ss_status ss_collection_record_at(ss_collection *c, int64_t rowid, ss_record *out, ss_error *err) {
    return read_one(c, "SELECT " RECORD_COLS " WHERE d.rowid = ?", NULL, rowid, out, err);
}

ss_status ss_collection_scan(ss_collection *c, int (*fn)(void *, const ss_record *), void *user, ss_error *err) {
    if (!c->fields_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is not a fields collection", c->dir);
    sqlite3 *db = ss__batch_db(c, err);
    if (!db) return err ? err->code : SS_ERR_IO;
    sqlite3_stmt *st;
    ss_status s = SS_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.rowid, d.ext_id, i.version, i.seq_no, coalesce(i.view, d.fields) FROM docs d"
                           " JOIN docinfo i ON i.rowid = d.rowid ORDER BY d.rowid",
                           -1, &st, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "scanning documents");
    else {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            ss_record r = {.rowid = sqlite3_column_int64(st, 0),
                           .id = (char *)sqlite3_column_text(st, 1),
                           .version = sqlite3_column_int64(st, 2),
                           .seq_no = sqlite3_column_int64(st, 3),
                           .view = (char *)sqlite3_column_text(st, 4)};
            if (fn(user, &r)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE) s = ss__sql_fail(err, db, "scanning documents");
        sqlite3_finalize(st);
    }
    ss__batch_db_done(c, db);
    return s;
}

int64_t ss_collection_max_rowid(ss_collection *c) {
    sqlite3 *db = ss__batch_db(c, NULL);
    if (!db) return -1;
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(rowid), 0) FROM docs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    ss__batch_db_done(c, db);
    return n;
}

ss_status ss_collection_meta_set(ss_collection *c, const char *key, const char *value, ss_error *err) {
    if (!key || strlen(key) > 64) return ss_fail(err, SS_ERR_INVALID, "meta key of 1..64 bytes required");
    if (!c->wdb) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    char k[80];
    snprintf(k, sizeof k, "user.%s", key);
    if (in_my_batch(c)) return ss__meta_set(c->wdb, k, value, err);
    pthread_mutex_lock(&c->wmu);
    ss_status s = ss__meta_set(c->wdb, k, value, err);
    pthread_mutex_unlock(&c->wmu);
    return s;
}

char *ss_collection_meta_get(ss_collection *c, const char *key) {
    sqlite3 *db = ss__batch_db(c, NULL);
    if (!db) return NULL;
    char k[80];
    snprintf(k, sizeof k, "user.%.64s", key);
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) v = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    ss__batch_db_done(c, db);
    return v;
}
