/* passages.c — chunked collections: the write path and the settings.
 *
 * A collection created with chunk_tokens > 0 (meta chunk_tokens /
 * chunk_overlap) embeds passages instead of whole documents:
 *   passages(rowid AUTOINCREMENT = the vector index id, doc = docs.rowid,
 *            bstart, bend = byte offsets into docs.body, ntok)
 *   vectors(rowid = passages.rowid), tombstones(rowid = passages.rowid).
 * Documents keep their rowids, fields, body and FTS postings (BM25 stays per
 * document; filters stay on docs.fields). A document whose embedded text
 * changed is re-chunked: its old passages are deleted (tombstoned) and new
 * ones get new rowids, so the index's catch-up by seq works unchanged: the
 * rows to re-add are the passages of documents with seq > G. Each batch is
 * one transaction, as in docs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/docs.h"

/* ---- settings --------------------------------------------------------------------- */

ss_status ss__chunk_configure(ss_collection *c, const ss_collection_options *o, int creating, ss_error *err) {
    int want = o ? o->chunk_tokens : 0, ov = o ? o->chunk_overlap : 0;
    if (creating) {
        if (want < 0 || ov < 0 || (want == 0 && ov > 0))
            return ss_fail(err, SS_ERR_INVALID, "chunking: --chunk-tokens %d --chunk-overlap %d: both must be >= 0, "
                                                "and an overlap needs a chunk size", want, ov);
        if (want > 0) {
            ss_model *m = c->model;
            int maxlen = m ? ss_model_max_seq_length(m) - 2 : 0; /* [CLS] and [SEP] */
            if (m && want > maxlen)
                return ss_fail(err, SS_ERR_INVALID,
                               "chunking: --chunk-tokens %d is more than the model takes (max_seq_length %d minus "
                               "[CLS] and [SEP] = %d): longer passages would be truncated",
                               want, ss_model_max_seq_length(m), maxlen);
            if (ov >= want)
                return ss_fail(err, SS_ERR_INVALID, "chunking: --chunk-overlap %d must be less than --chunk-tokens %d",
                               ov, want);
        }
        c->chunk_tokens = want;
        c->chunk_overlap = ov;
        return SS_OK;
    }
    if ((want > 0 || ov > 0) && (want != c->chunk_tokens || ov != c->chunk_overlap)) {
        if (c->chunk_tokens)
            return ss_fail(err, SS_ERR_INVALID,
                           "collection %s is chunked with --chunk-tokens %d --chunk-overlap %d; the settings %d / %d "
                           "differ (re-chunking a collection means adding it again into a new one)",
                           c->dir, c->chunk_tokens, c->chunk_overlap, want, ov);
        return ss_fail(err, SS_ERR_INVALID,
                       "collection %s embeds whole documents (no chunking); --chunk-tokens %d needs a new collection",
                       c->dir, want);
    }
    return SS_OK;
}

ss_status ss__chunk_create(ss_collection *c, sqlite3 *db, ss_error *err) {
    if (c->chunk_tokens <= 0) return SS_OK; /* unchunked: the schema of before */
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE passages(rowid INTEGER PRIMARY KEY AUTOINCREMENT, doc INTEGER NOT NULL,"
             " bstart INTEGER NOT NULL, bend INTEGER NOT NULL, ntok INTEGER NOT NULL);"
             "CREATE INDEX passages_doc ON passages(doc);"
             "INSERT INTO meta(key, value) VALUES('chunk_tokens', '%d'), ('chunk_overlap', '%d'),"
             " ('chunk_method', 'whole whitespace segments, model tokens, overlap >= chunk_overlap');",
             c->chunk_tokens, c->chunk_overlap);
    return ss__exec(db, sql, err);
}

void ss__chunk_load(ss_collection *c, sqlite3 *db) {
    sqlite3_stmt *st;
    c->chunk_tokens = c->chunk_overlap = 0;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta WHERE key IN ('chunk_tokens', 'chunk_overlap')", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        int v = sqlite3_column_int(st, 1);
        if (!strcmp(k, "chunk_tokens")) c->chunk_tokens = v;
        else c->chunk_overlap = v;
    }
    sqlite3_finalize(st);
}

const char *ss__chunk_catchup_sql(const ss_collection *c) {
    if (c->chunk_tokens > 0)
        return "SELECT p.rowid, v.v FROM passages p JOIN docs d ON d.rowid = p.doc JOIN vectors v ON v.rowid = p.rowid"
               " WHERE d.seq > ? ORDER BY p.rowid";
    return "SELECT d.rowid, v.v FROM docs d JOIN vectors v ON v.rowid = d.rowid WHERE d.seq > ? ORDER BY d.rowid";
}

void ss_collection_chunking(const ss_collection *c, int *chunk_tokens, int *chunk_overlap) {
    if (chunk_tokens) *chunk_tokens = c ? c->chunk_tokens : 0;
    if (chunk_overlap) *chunk_overlap = c ? c->chunk_overlap : 0;
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct {
    sqlite3_stmt *find, *ins_doc, *upd_doc, *upd_fields, *ins_pas, *ins_vec, *old_pas, *del_pas, *del_vec, *fts_ins,
        *fts_del, *del_doc, *ins_tomb, *set_seq;
} pstmts;

static void pstmts_free(pstmts *s) {
    sqlite3_stmt **p = (sqlite3_stmt **)s;
    for (size_t i = 0; i < sizeof *s / sizeof *p; i++) sqlite3_finalize(p[i]);
    memset(s, 0, sizeof *s);
}

static ss_status pstmts_prepare(sqlite3 *db, pstmts *s, ss_error *err) {
    memset(s, 0, sizeof *s);
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } all[] = {
        {&s->find, "SELECT rowid, body FROM docs WHERE ext_id = ?"},
        {&s->ins_doc, "INSERT INTO docs(ext_id, fields, body, seq) VALUES(?, ?, ?, ?)"},
        {&s->upd_doc, "UPDATE docs SET fields = ?, body = ?, seq = ? WHERE rowid = ?"},
        {&s->upd_fields, "UPDATE docs SET fields = ? WHERE rowid = ?"},
        {&s->ins_pas, "INSERT INTO passages(doc, bstart, bend, ntok) VALUES(?, ?, ?, ?)"},
        {&s->ins_vec, "INSERT INTO vectors(rowid, v) VALUES(?, ?)"},
        {&s->old_pas, "SELECT rowid FROM passages WHERE doc = ?"},
        {&s->del_pas, "DELETE FROM passages WHERE rowid = ?"},
        {&s->del_vec, "DELETE FROM vectors WHERE rowid = ?"},
        {&s->fts_ins, "INSERT INTO fts(rowid, body) VALUES(?, ?)"},
        {&s->fts_del, "INSERT INTO fts(fts, rowid, body) VALUES('delete', ?, ?)"},
        {&s->del_doc, "DELETE FROM docs WHERE rowid = ?"},
        {&s->ins_tomb, "INSERT OR REPLACE INTO tombstones(rowid, seq) VALUES(?, ?)"},
        {&s->set_seq, "UPDATE meta SET value = ? WHERE key = 'seq'"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (sqlite3_prepare_v2(db, all[i].sql, -1, all[i].st, NULL) != SQLITE_OK) {
            ss__sql_fail(err, db, all[i].sql);
            pstmts_free(s);
            return SS_ERR_IO;
        }
    return SS_OK;
}

static int run(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

typedef struct {
    int64_t *v;
    size_t n, cap;
} ids_t;

static int ids_push(ids_t *l, int64_t id) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = id;
    return 0;
}

/* Delete the passages (and their vectors) of document rid, tombstoned at seq; their ids go to del. */
static int drop_passages(pstmts *s, int64_t rid, int64_t seq, ids_t *del) {
    size_t from = del->n;
    sqlite3_bind_int64(s->old_pas, 1, rid);
    while (sqlite3_step(s->old_pas) == SQLITE_ROW)
        if (ids_push(del, sqlite3_column_int64(s->old_pas, 0))) {
            sqlite3_reset(s->old_pas);
            return -1;
        }
    sqlite3_reset(s->old_pas);
    int fail = 0;
    for (size_t i = from; i < del->n; i++) {
        sqlite3_bind_int64(s->del_pas, 1, del->v[i]);
        fail |= run(s->del_pas);
        sqlite3_bind_int64(s->del_vec, 1, del->v[i]);
        fail |= run(s->del_vec);
        sqlite3_bind_int64(s->ins_tomb, 1, del->v[i]);
        sqlite3_bind_int64(s->ins_tomb, 2, seq);
        fail |= run(s->ins_tomb);
    }
    return fail;
}

ss_status ss__write_batch_chunked(ss_collection *c, ss_pending *docs, size_t n, ss_add_stats *st, size_t *bad,
                                  ss_error *err) {
    ss_model *model = ss__model(c, err);
    if (!model) return err ? err->code : SS_ERR_IO;
    const ss_tokenizer *tok = ss_model_tokenizer(model);
    pthread_mutex_lock(&c->wmu);
    sqlite3 *db = c->wdb;
    pstmts s;
    ss_status rs = pstmts_prepare(db, &s, err);
    int64_t *rowid = calloc(n, sizeof *rowid);
    int *need = calloc(n, sizeof *need);
    char **old = calloc(n, sizeof *old);
    ss_chunk **chunks = calloc(n, sizeof *chunks);
    size_t *nchunks = calloc(n, sizeof *nchunks);
    char **texts = NULL;
    size_t ntexts = 0, tcap = 0;
    float *vecs = NULL;
    ids_t up = {0}, del = {0};
    if (rs == SS_OK && (!rowid || !need || !old || !chunks || !nchunks))
        rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rs == SS_OK && i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(docs[i].ext_id, docs[j].ext_id)) {
                if (bad) *bad = i;
                rs = ss_fail(err, SS_ERR_INVALID, "duplicate id '%s' in one batch (documents %zu and %zu)",
                             docs[i].ext_id, j, i);
                break;
            }
        if (rs != SS_OK) break;
        sqlite3_bind_text(s.find, 1, docs[i].ext_id, -1, SQLITE_STATIC);
        if (sqlite3_step(s.find) == SQLITE_ROW) {
            rowid[i] = sqlite3_column_int64(s.find, 0);
            old[i] = strdup((const char *)sqlite3_column_text(s.find, 1));
        }
        sqlite3_reset(s.find);
        need[i] = !rowid[i] || strcmp(old[i] ? old[i] : "", docs[i].body) != 0;
        if (!need[i]) continue;
        rs = ss_chunk_text(tok, docs[i].body, c->chunk_tokens, c->chunk_overlap, &chunks[i], &nchunks[i], err);
        if (rs != SS_OK) {
            if (bad) *bad = i;
            break;
        }
        if (nchunks[i] == 0) { /* no model tokens at all: the whole text is the one passage */
            free(chunks[i]);
            chunks[i] = malloc(sizeof **chunks);
            if (!chunks[i]) {
                rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
                break;
            }
            chunks[i][0] = (ss_chunk){0, strlen(docs[i].body), 0};
            nchunks[i] = 1;
        }
        for (size_t p = 0; rs == SS_OK && p < nchunks[i]; p++) {
            if (ntexts == tcap) {
                tcap = tcap ? tcap * 2 : 256;
                char **t = realloc(texts, tcap * sizeof *t);
                if (!t) {
                    rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
                    break;
                }
                texts = t;
            }
            texts[ntexts] = strndup(docs[i].body + chunks[i][p].start, chunks[i][p].end - chunks[i][p].start);
            if (!texts[ntexts++]) rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        }
    }
    if (rs == SS_OK && ntexts) {
        vecs = malloc(ntexts * (size_t)c->dim * sizeof *vecs);
        if (!vecs) rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        else {
            ss_encode_options eo = {.batch_size = 32};
            rs = ss__encode(c, (const char *const *)texts, ntexts, &eo, vecs, err);
            if (rs != SS_OK && bad) *bad = 0;
        }
    }
    int64_t seq = c->seq + 1;
    int in_txn = 0;
    if (rs == SS_OK) {
        rs = ss__exec(db, "BEGIN IMMEDIATE", err);
        in_txn = rs == SS_OK;
    }
    size_t e = 0; /* next passage vector */
    for (size_t i = 0; rs == SS_OK && i < n; i++) {
        ss_pending *d = &docs[i];
        int fail = 0;
        int64_t rid = rowid[i];
        if (rid && !need[i]) {
            sqlite3_bind_text(s.upd_fields, 1, d->fields, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s.upd_fields, 2, rid);
            fail = run(s.upd_fields);
            st->unchanged++;
            st->replaced++;
        } else {
            if (rid) {
                sqlite3_bind_int64(s.fts_del, 1, rid);
                sqlite3_bind_text(s.fts_del, 2, old[i], -1, SQLITE_STATIC);
                fail |= run(s.fts_del);
                fail |= drop_passages(&s, rid, seq, &del);
                sqlite3_bind_text(s.upd_doc, 1, d->fields, -1, SQLITE_STATIC);
                sqlite3_bind_text(s.upd_doc, 2, d->body, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s.upd_doc, 3, seq);
                sqlite3_bind_int64(s.upd_doc, 4, rid);
                fail |= run(s.upd_doc);
                st->replaced++;
            } else {
                sqlite3_bind_text(s.ins_doc, 1, d->ext_id, -1, SQLITE_STATIC);
                sqlite3_bind_text(s.ins_doc, 2, d->fields, -1, SQLITE_STATIC);
                sqlite3_bind_text(s.ins_doc, 3, d->body, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s.ins_doc, 4, seq);
                fail |= run(s.ins_doc);
                rid = sqlite3_last_insert_rowid(db);
                st->added++;
            }
            sqlite3_bind_int64(s.fts_ins, 1, rid);
            sqlite3_bind_text(s.fts_ins, 2, d->body, -1, SQLITE_STATIC);
            fail |= run(s.fts_ins);
            for (size_t p = 0; !fail && p < nchunks[i]; p++, e++) {
                sqlite3_bind_int64(s.ins_pas, 1, rid);
                sqlite3_bind_int64(s.ins_pas, 2, (sqlite3_int64)chunks[i][p].start);
                sqlite3_bind_int64(s.ins_pas, 3, (sqlite3_int64)chunks[i][p].end);
                sqlite3_bind_int(s.ins_pas, 4, chunks[i][p].n_tokens);
                fail |= run(s.ins_pas);
                int64_t pid = sqlite3_last_insert_rowid(db);
                sqlite3_bind_int64(s.ins_vec, 1, pid);
                sqlite3_bind_blob(s.ins_vec, 2, vecs + e * (size_t)c->dim, c->dim * (int)sizeof(float),
                                  SQLITE_STATIC);
                fail |= run(s.ins_vec);
                if (ids_push(&up, pid)) fail = 1;
            }
            st->embedded++;
        }
        if (fail) {
            if (bad) *bad = i;
            rs = ss__sql_fail(err, db, "writing a document's passages");
        }
    }
    if (rs == SS_OK) {
        sqlite3_bind_int64(s.set_seq, 1, seq);
        if (run(s.set_seq)) rs = ss__sql_fail(err, db, "updating meta.seq");
    }
    if (rs == SS_OK) rs = ss__exec(db, "COMMIT", err);
    if (rs != SS_OK && in_txn) ss__exec(db, "ROLLBACK", NULL);
    if (rs == SS_OK) {
        c->seq = seq;
        st->batches++;
        rs = ss__vindex_apply(c, up.v, vecs, up.n, del.v, del.n, seq, err);
    }
    pstmts_free(&s);
    pthread_mutex_unlock(&c->wmu);
    for (size_t i = 0; i < n; i++) {
        if (old) free(old[i]);
        if (chunks) free(chunks[i]);
    }
    for (size_t i = 0; i < ntexts; i++) free(texts[i]);
    free(texts);
    free(old);
    free(chunks);
    free(nchunks);
    free(rowid);
    free(need);
    free(vecs);
    free(up.v);
    free(del.v);
    return rs;
}

ss_status ss__delete_chunked(ss_collection *c, const char *const *ids, size_t n, size_t *deleted, ss_error *err) {
    size_t nd = 0;
    pthread_mutex_lock(&c->wmu);
    sqlite3 *db = c->wdb;
    pstmts s;
    ss_status rs = pstmts_prepare(db, &s, err);
    ids_t del = {0};
    int64_t seq = c->seq + 1;
    int in_txn = 0;
    if (rs == SS_OK) {
        rs = ss__exec(db, "BEGIN IMMEDIATE", err);
        in_txn = rs == SS_OK;
    }
    for (size_t i = 0; rs == SS_OK && i < n; i++) {
        sqlite3_bind_text(s.find, 1, ids[i], -1, SQLITE_STATIC);
        if (sqlite3_step(s.find) != SQLITE_ROW) {
            sqlite3_reset(s.find);
            continue;
        }
        int64_t rid = sqlite3_column_int64(s.find, 0);
        char *body = strdup((const char *)sqlite3_column_text(s.find, 1));
        sqlite3_reset(s.find);
        int fail = !body;
        if (body) {
            sqlite3_bind_int64(s.fts_del, 1, rid);
            sqlite3_bind_text(s.fts_del, 2, body, -1, SQLITE_STATIC);
            fail |= run(s.fts_del);
        }
        free(body);
        fail |= drop_passages(&s, rid, seq, &del);
        sqlite3_bind_int64(s.del_doc, 1, rid);
        fail |= run(s.del_doc);
        if (fail) rs = ss__sql_fail(err, db, "deleting a document");
        nd++;
    }
    if (rs == SS_OK) {
        sqlite3_bind_int64(s.set_seq, 1, seq);
        if (run(s.set_seq)) rs = ss__sql_fail(err, db, "updating meta.seq");
    }
    if (rs == SS_OK) rs = ss__exec(db, "COMMIT", err);
    if (rs != SS_OK && in_txn) ss__exec(db, "ROLLBACK", NULL);
    if (rs == SS_OK) {
        c->seq = seq;
        rs = ss__vindex_apply(c, NULL, NULL, 0, del.v, del.n, seq, err);
    }
    pstmts_free(&s);
    pthread_mutex_unlock(&c->wmu);
    free(del.v);
    if (deleted) *deleted = rs == SS_OK ? nd : 0;
    return rs;
}
