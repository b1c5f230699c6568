/* docs.c — adding, replacing and deleting documents.
 *
 * A batch is one SQLite transaction (BEGIN IMMEDIATE ... COMMIT, with
 * synchronous=FULL the commit is durable when it returns): documents, vectors,
 * FTS postings and meta.seq change together or not at all. Embedding runs
 * before the transaction opens (it is the slow part, and the handle is the
 * only writer). A replaced document is re-embedded only when its embedded
 * text differs from the stored one — compared byte for byte with the stored
 * text (kept anyway for BM25 and results), which no hash can beat. The vector
 * index is updated after the commit; if the process dies in between, the
 * next open catches the index up from the rows' seq (vindex.c). */
#include "store/docs.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"

typedef struct {
    sqlite3_stmt *find, *ins_doc, *upd_doc, *upd_fields, *ins_vec, *upd_vec, *fts_ins, *fts_del, *del_doc,
        *del_vec, *ins_tomb, *set_seq;
} stmts;

static void stmts_free(stmts *s) {
    sqlite3_stmt **p = (sqlite3_stmt **)s;
    for (size_t i = 0; i < sizeof *s / sizeof *p; i++) sqlite3_finalize(p[i]);
    memset(s, 0, sizeof *s);
}

static ss_status stmts_prepare(sqlite3 *db, stmts *s, ss_error *err) {
    memset(s, 0, sizeof *s);
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } all[] = {
        {&s->find, "SELECT rowid, body FROM docs WHERE ext_id = ?"},
        {&s->ins_doc, "INSERT INTO docs(ext_id, fields, body, seq) VALUES(?, ?, ?, ?)"},
        {&s->upd_doc, "UPDATE docs SET fields = ?, body = ?, seq = ? WHERE rowid = ?"},
        {&s->upd_fields, "UPDATE docs SET fields = ? WHERE rowid = ?"},
        {&s->ins_vec, "INSERT INTO vectors(rowid, v) VALUES(?, ?)"},
        {&s->upd_vec, "UPDATE vectors SET v = ? WHERE rowid = ?"},
        {&s->fts_ins, "INSERT INTO fts(rowid, body) VALUES(?, ?)"},
        {&s->fts_del, "INSERT INTO fts(fts, rowid, body) VALUES('delete', ?, ?)"},
        {&s->del_doc, "DELETE FROM docs WHERE rowid = ?"},
        {&s->del_vec, "DELETE FROM vectors WHERE rowid = ?"},
        {&s->ins_tomb, "INSERT OR REPLACE INTO tombstones(rowid, seq) VALUES(?, ?)"},
        {&s->set_seq, "UPDATE meta SET value = ? WHERE key = 'seq'"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (sqlite3_prepare_v2(db, all[i].sql, -1, all[i].st, NULL) != SQLITE_OK) {
            ss__sql_fail(err, db, all[i].sql);
            stmts_free(s);
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

ss_status ss__write_batch(ss_collection *c, ss_pending *docs, size_t n, ss_add_stats *st, size_t *bad,
                          ss_error *err) {
    if (c->read_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    if (n == 0) return SS_OK;
    for (size_t i = 0; c->chunk_tokens > 0 && i < n; i++)
        if (docs[i].vec) {
            if (bad) *bad = i;
            return ss_fail(err, SS_ERR_INVALID,
                           "collection %s embeds passages (chunk tokens %d): a precomputed document vector "
                           "cannot stand for its passages; add the documents without vectors",
                           c->dir, c->chunk_tokens);
        }
    if (c->chunk_tokens > 0) return ss__write_batch_chunked(c, docs, n, st, bad, err);
    pthread_mutex_lock(&c->wmu);
    sqlite3 *db = c->wdb;
    stmts s;
    ss_status rs = stmts_prepare(db, &s, err);
    int64_t *rowid = calloc(n, sizeof *rowid);      /* existing rowid or 0 */
    int *need = calloc(n, sizeof *need);             /* 1 = embed */
    char **old = calloc(n, sizeof *old);             /* existing body */
    const char **texts = calloc(n, sizeof *texts);
    size_t *which = calloc(n, sizeof *which);
    float *vecs = NULL;
    int64_t *up_ids = NULL;
    size_t nemb = 0;
    if (rs == SS_OK && (!rowid || !need || !old || !texts || !which))
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
        /* a given vector is always written; a text is embedded only when new or changed */
        need[i] = docs[i].vec || !rowid[i] || strcmp(old[i] ? old[i] : "", docs[i].body) != 0;
        if (need[i]) which[nemb++] = i;
    }
    if (rs == SS_OK && nemb) {
        /* vecs row e belongs to document which[e]: copied when given, else embedded below */
        vecs = malloc(nemb * (size_t)c->dim * sizeof *vecs);
        up_ids = malloc(nemb * sizeof *up_ids);
        size_t *slot = malloc(nemb * sizeof *slot);
        size_t nenc = 0;
        if (!vecs || !up_ids || !slot) rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        for (size_t e = 0; rs == SS_OK && e < nemb; e++) {
            const ss_pending *d = &docs[which[e]];
            if (d->vec) memcpy(vecs + e * (size_t)c->dim, d->vec, (size_t)c->dim * sizeof *vecs);
            else {
                slot[nenc] = e;
                texts[nenc++] = d->body;
            }
        }
        if (rs == SS_OK && nenc) {
            float *enc = nenc == nemb ? vecs : malloc(nenc * (size_t)c->dim * sizeof *enc);
            ss_encode_options eo = {.batch_size = 32};
            if (!enc) rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            else rs = ss__encode(c, texts, nenc, &eo, enc, err);
            if (rs != SS_OK && bad) *bad = which[slot[0]];
            for (size_t j = 0; rs == SS_OK && enc != vecs && j < nenc; j++)
                memcpy(vecs + slot[j] * (size_t)c->dim, enc + j * (size_t)c->dim, (size_t)c->dim * sizeof *vecs);
            if (enc != vecs) free(enc);
        }
        free(slot);
    }
    int64_t seq = c->seq + 1;
    int in_txn = 0;
    if (rs == SS_OK) {
        rs = ss__exec(db, "BEGIN IMMEDIATE", err);
        in_txn = rs == SS_OK;
    }
    size_t e = 0;
    for (size_t i = 0; rs == SS_OK && i < n; i++) {
        ss_pending *d = &docs[i];
        const float *v = need[i] ? vecs + e * (size_t)c->dim : NULL;
        int fail = 0;
        if (rowid[i] && !need[i]) { /* same text: fields only */
            sqlite3_bind_text(s.upd_fields, 1, d->fields, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s.upd_fields, 2, rowid[i]);
            fail = run(s.upd_fields);
            st->unchanged++;
            st->replaced++;
        } else if (rowid[i]) {
            sqlite3_bind_int64(s.fts_del, 1, rowid[i]);
            sqlite3_bind_text(s.fts_del, 2, old[i], -1, SQLITE_STATIC);
            fail |= run(s.fts_del);
            sqlite3_bind_text(s.upd_doc, 1, d->fields, -1, SQLITE_STATIC);
            sqlite3_bind_text(s.upd_doc, 2, d->body, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s.upd_doc, 3, seq);
            sqlite3_bind_int64(s.upd_doc, 4, rowid[i]);
            fail |= run(s.upd_doc);
            sqlite3_bind_blob(s.upd_vec, 1, v, c->dim * (int)sizeof(float), SQLITE_STATIC);
            sqlite3_bind_int64(s.upd_vec, 2, rowid[i]);
            fail |= run(s.upd_vec);
            sqlite3_bind_int64(s.fts_ins, 1, rowid[i]);
            sqlite3_bind_text(s.fts_ins, 2, d->body, -1, SQLITE_STATIC);
            fail |= run(s.fts_ins);
            up_ids[e++] = rowid[i];
            st->replaced++;
            if (d->vec) st->given++;
            else st->embedded++;
        } else {
            sqlite3_bind_text(s.ins_doc, 1, d->ext_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s.ins_doc, 2, d->fields, -1, SQLITE_STATIC);
            sqlite3_bind_text(s.ins_doc, 3, d->body, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s.ins_doc, 4, seq);
            fail |= run(s.ins_doc);
            int64_t rid = sqlite3_last_insert_rowid(db);
            sqlite3_bind_int64(s.ins_vec, 1, rid);
            sqlite3_bind_blob(s.ins_vec, 2, v, c->dim * (int)sizeof(float), SQLITE_STATIC);
            fail |= run(s.ins_vec);
            sqlite3_bind_int64(s.fts_ins, 1, rid);
            sqlite3_bind_text(s.fts_ins, 2, d->body, -1, SQLITE_STATIC);
            fail |= run(s.fts_ins);
            up_ids[e++] = rid;
            st->added++;
            if (d->vec) st->given++;
            else st->embedded++;
        }
        if (fail) {
            if (bad) *bad = i;
            rs = ss__sql_fail(err, db, "writing a document");
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
        rs = ss__vindex_apply(c, up_ids, vecs, e, NULL, 0, seq, err);
    }
    stmts_free(&s);
    pthread_mutex_unlock(&c->wmu);
    for (size_t i = 0; old && i < n; i++) free(old[i]);
    free(old);
    free(rowid);
    free(need);
    free(texts);
    free(which);
    free(vecs);
    free(up_ids);
    return rs;
}

/* Every element finite (a caller's array may hold NaN or inf, which would poison distances);
 * -1 with the first bad element's index in *at. */
static int check_finite(const float *v, int dim, int *at) {
    for (int i = 0; i < dim; i++)
        if (!isfinite(v[i])) return *at = i, -1;
    return 0;
}

float *ss__vector_field(const void *obj, const char *name, int dim, char *why, size_t whycap) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive((const cJSON *)obj, name);
    cJSON *parsed = NULL;
    if (!f || cJSON_IsNull(f)) {
        snprintf(why, whycap, "no vector field '%s'", name);
        return NULL;
    }
    if (cJSON_IsString(f)) { /* a CSV / TSV cell: "[0.1, 0.2, ...]" */
        parsed = cJSON_Parse(f->valuestring);
        if (!cJSON_IsArray(parsed)) {
            snprintf(why, whycap, "vector field '%s' is a string that is not a JSON array of numbers", name);
            cJSON_Delete(parsed);
            return NULL;
        }
        f = parsed;
    }
    float *v = NULL;
    int n = cJSON_IsArray(f) ? cJSON_GetArraySize(f) : -1, at = 0;
    if (n < 0) snprintf(why, whycap, "vector field '%s' is not an array of numbers", name);
    else if (n != dim)
        snprintf(why, whycap, "vector field '%s' has %d numbers, the collection's vectors have %d", name, n, dim);
    else if (!(v = malloc((size_t)dim * sizeof *v))) snprintf(why, whycap, "out of memory");
    else {
        const cJSON *e;
        cJSON_ArrayForEach(e, f) {
            if (!cJSON_IsNumber(e)) {
                snprintf(why, whycap, "element %d of vector field '%s' is not a number", at, name);
                break;
            }
            if (!(fabs(e->valuedouble) <= FLT_MAX)) { /* before the cast: out of range it is undefined */
                snprintf(why, whycap, "element %d of vector field '%s' is out of float range", at, name);
                break;
            }
            v[at++] = (float)e->valuedouble;
        }
        if (at == dim) at = -1;
        if (at >= 0) {
            free(v);
            v = NULL;
        }
    }
    cJSON_Delete(parsed);
    return v;
}

ss_status ss_collection_add(ss_collection *c, const ss_doc *in, size_t n, ss_add_stats *st, ss_error *err) {
    ss_add_stats dummy = {0};
    if (!st) st = &dummy;
    ss_pending *docs = calloc(n ? n : 1, sizeof *docs);
    if (!docs) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    ss_status s = SS_OK;
    int64_t next_auto = 0;
    for (size_t i = 0; s == SS_OK && i < n; i++) {
        cJSON *o = in[i].fields_json ? cJSON_Parse(in[i].fields_json) : NULL;
        if (!cJSON_IsObject(o)) {
            s = ss_fail(err, SS_ERR_INVALID, "document %zu (id '%s'): fields_json is not a JSON object", i,
                        in[i].id ? in[i].id : "(generated)");
            cJSON_Delete(o);
            break;
        }
        char why[512];
        docs[i].body = ss__compose(c, o, why, sizeof why);
        docs[i].fields = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!docs[i].body) {
            s = ss_fail(err, SS_ERR_INVALID, "document %zu (id '%s'): %s", i, in[i].id ? in[i].id : "(generated)", why);
            break;
        }
        if (in[i].id && !*in[i].id) {
            s = ss_fail(err, SS_ERR_INVALID, "document %zu: empty id", i);
            break;
        }
        if (!in[i].id && !next_auto) { /* generated ids continue the rowid sequence */
            sqlite3_stmt *q;
            next_auto = 1;
            if (c->wdb && sqlite3_prepare_v2(c->wdb, "SELECT seq FROM sqlite_sequence WHERE name = 'docs'", -1, &q,
                                             NULL) == SQLITE_OK) {
                if (sqlite3_step(q) == SQLITE_ROW) next_auto = sqlite3_column_int64(q, 0) + 1;
                sqlite3_finalize(q);
            }
        }
        char gen[40];
        if (!in[i].id) snprintf(gen, sizeof gen, "auto-%lld", (long long)next_auto++);
        docs[i].ext_id = strdup(in[i].id ? in[i].id : gen);
        if (!docs[i].ext_id || !docs[i].fields) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        int at;
        if (s == SS_OK && in[i].vector && check_finite(in[i].vector, c->dim, &at))
            s = ss_fail(err, SS_ERR_INVALID, "document %zu (id '%s'): element %d of its vector is not finite", i,
                        docs[i].ext_id, at);
        else if (s == SS_OK && in[i].vector) {
            docs[i].vec = malloc((size_t)c->dim * sizeof *docs[i].vec);
            if (!docs[i].vec) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            else memcpy(docs[i].vec, in[i].vector, (size_t)c->dim * sizeof *docs[i].vec);
        }
    }
    if (s == SS_OK) s = ss__write_batch(c, docs, n, st, NULL, err);
    for (size_t i = 0; i < n; i++) {
        free(docs[i].ext_id);
        free(docs[i].body);
        free(docs[i].vec);
        cJSON_free(docs[i].fields);
    }
    free(docs);
    return s;
}

ss_status ss_collection_delete(ss_collection *c, const char *const *ids, size_t n, size_t *deleted, ss_error *err) {
    if (c->read_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    if (c->chunk_tokens > 0) return ss__delete_chunked(c, ids, n, deleted, err);
    size_t nd = 0;
    pthread_mutex_lock(&c->wmu);
    sqlite3 *db = c->wdb;
    stmts s;
    ss_status rs = stmts_prepare(db, &s, err);
    int64_t *del = calloc(n ? n : 1, sizeof *del);
    int64_t seq = c->seq + 1;
    int in_txn = 0;
    if (rs == SS_OK && !del) rs = ss_fail(err, SS_ERR_NOMEM, "out of memory");
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
        sqlite3_bind_int64(s.del_doc, 1, rid);
        fail |= run(s.del_doc);
        sqlite3_bind_int64(s.del_vec, 1, rid);
        fail |= run(s.del_vec);
        sqlite3_bind_int64(s.ins_tomb, 1, rid);
        sqlite3_bind_int64(s.ins_tomb, 2, seq);
        fail |= run(s.ins_tomb);
        if (fail) rs = ss__sql_fail(err, db, "deleting a document");
        del[nd++] = rid;
    }
    if (rs == SS_OK) {
        sqlite3_bind_int64(s.set_seq, 1, seq);
        if (run(s.set_seq)) rs = ss__sql_fail(err, db, "updating meta.seq");
    }
    if (rs == SS_OK) rs = ss__exec(db, "COMMIT", err);
    if (rs != SS_OK && in_txn) ss__exec(db, "ROLLBACK", NULL);
    if (rs == SS_OK) {
        c->seq = seq;
        rs = ss__vindex_apply(c, NULL, NULL, 0, del, nd, seq, err);
    }
    stmts_free(&s);
    pthread_mutex_unlock(&c->wmu);
    free(del);
    if (deleted) *deleted = rs == SS_OK ? nd : 0;
    return rs;
}
