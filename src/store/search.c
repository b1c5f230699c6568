/* search.c — vector, BM25 and hybrid search, similar documents, get.
 *
 * Vector: the query text is embedded with the collection's model and looked
 * up in the vector index. With a filter, the matching rowids (SQL over
 * json_extract) become the index's allow-list bitset, applied during the
 * HNSW walk. The exact-scan switch: when at most SS_EXACT_FILTER_MAX (2048)
 * documents pass, their vectors are read from SQLite and scored exactly
 * instead — at that size the scan costs about what a filtered walk does (a
 * walk at selectivity s visits ~ef/s nodes) and it is exact, whereas a very
 * selective allow-list can cut the HNSW graph into pieces the walk cannot
 * reach. A walk that still returns fewer than min(k, allowed) hits falls back
 * to the exact scan, so -k is honoured whenever enough documents match. A
 * flat index with an allow-list is already exact.
 *
 * BM25: the query is analyzed with the collection's analyzer, the terms are
 * OR-ed into an FTS5 MATCH and ranked by lucene_bm25 (fts.c).
 *
 * Hybrid (Elasticsearch's rrf retriever): each side's top rank_window hits,
 * score = sum over sides of 1 / (rank_constant + rank), rank from 1.
 * Linear: w * minmax(vector) + (1 - w) * minmax(bm25) over each side's window,
 * a side that misses a document contributes 0. Ties: smaller rowid first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/store_internal.h"

#define SS_EXACT_FILTER_MAX 2048

struct ss_results {
    size_t n;
    ss_hit *hits;
    ss_passage *passages; /* chunked collections: per hit (zeroed when none), else NULL */
};

size_t ss_results_count(const ss_results *r) { return r ? r->n : 0; }
const ss_hit *ss_results_hit(const ss_results *r, size_t i) { return r && i < r->n ? &r->hits[i] : NULL; }

void ss_results_free(ss_results *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->hits[i].id);
        free((char *)r->hits[i].text);
        free((char *)r->hits[i].fields_json);
    }
    free(r->hits);
    free(r->passages);
    free(r);
}

int ss_results_passage(const ss_results *r, size_t i, ss_passage *out) {
    memset(out, 0, sizeof *out);
    if (!r || i >= r->n || !r->passages || !r->passages[i].passage_rowid) return 0;
    *out = r->passages[i];
    return 1;
}

typedef struct {
    int64_t id;
    double score;
    int64_t pid;   /* chunked: the best passage (0 none) */
    double pscore; /* and its vector score */
} scored;

typedef struct {
    scored *v;
    size_t n, cap;
} slist;

static int sl_push(slist *l, int64_t id, double s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        scored *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].id = id;
    l->v[l->n].pid = 0;
    l->v[l->n].pscore = 0;
    l->v[l->n++].score = s;
    return 0;
}

static int by_score(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- documents for hits ------------------------------------------------------ */

static void fetch_passage(sqlite3_stmt *pst, const scored *sc, const char *body, ss_passage *out) {
    sqlite3_bind_int64(pst, 1, sc->pid);
    if (sqlite3_step(pst) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(pst, 0), e = sqlite3_column_int64(pst, 1), len = (int64_t)strlen(body);
        if (b >= 0 && b <= e && e <= len) {
            int64_t cs = 0, ce = 0; /* code points: count UTF-8 lead bytes */
            for (int64_t i = 0; i < e; i++)
                if (((unsigned char)body[i] & 0xC0) != 0x80) {
                    if (i < b) cs++;
                    ce++;
                }
            *out = (ss_passage){cs, ce, b, e, sc->pscore, sc->pid};
        }
    }
    sqlite3_reset(pst);
}

static ss_results *fetch(sqlite3 *db, const slist *l, size_t k, ss_error *err) {
    ss_results *r = calloc(1, sizeof *r);
    size_t n = l->n < k ? l->n : k;
    int chunked = 0;
    for (size_t i = 0; i < n; i++) chunked |= l->v[i].pid != 0;
    if (!r || !(r->hits = calloc(n ? n : 1, sizeof *r->hits)) ||
        (chunked && !(r->passages = calloc(n, sizeof *r->passages)))) {
        if (r) free(r->hits);
        free(r);
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sqlite3_stmt *pst = NULL;
    if (chunked && sqlite3_prepare_v2(db, "SELECT bstart, bend FROM passages WHERE rowid = ?", -1, &pst, NULL) !=
                       SQLITE_OK) {
        ss__sql_fail(err, db, "reading passages");
        ss_results_free(r);
        return NULL;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT ext_id, body, fields FROM docs WHERE rowid = ?", -1, &st, NULL) != SQLITE_OK) {
        ss__sql_fail(err, db, "reading hits");
        ss_results_free(r);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, l->v[i].id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            ss_hit *h = &r->hits[r->n++];
            h->id = strdup((const char *)sqlite3_column_text(st, 0));
            h->text = strdup((const char *)sqlite3_column_text(st, 1));
            h->fields_json = strdup((const char *)sqlite3_column_text(st, 2));
            h->score = l->v[i].score;
            h->rowid = l->v[i].id;
            if (pst && l->v[i].pid) fetch_passage(pst, &l->v[i], h->text, &r->passages[r->n - 1]);
        } /* a row deleted meanwhile (another process) is skipped */
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(pst);
    return r;
}

static int64_t rowid_of(sqlite3 *db, const char *ext_id) {
    sqlite3_stmt *st;
    int64_t id = -1;
    if (!ext_id || sqlite3_prepare_v2(db, "SELECT rowid FROM docs WHERE ext_id = ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, ext_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

/* ---- filters --------------------------------------------------------------------- */

typedef struct {
    ss_filter_sql sql;
    uint64_t *bits;
    int64_t nbits, allowed;
} allow_t;

static void allow_free(allow_t *a) {
    ss__filter_free(&a->sql);
    free(a->bits);
}

static ss_status allow_build(sqlite3 *db, const char *where, int64_t exclude, allow_t *a, ss_error *err) {
    memset(a, 0, sizeof *a);
    if (ss__filter_compile(where, &a->sql, err) != SS_OK) return err ? err->code : SS_ERR_INVALID;
    sqlite3_stmt *st;
    int64_t maxid = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(rowid) FROM docs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) maxid = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    a->nbits = maxid + 1;
    a->bits = calloc((size_t)(a->nbits + 63) / 64, sizeof *a->bits);
    if (!a->bits) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    char *sql = sqlite3_mprintf("SELECT rowid FROM docs WHERE %s", a->sql.sql);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) return ss__sql_fail(err, db, "--where");
    ss__filter_bind(st, 1, &a->sql);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0 || id >= a->nbits || id == exclude) continue;
        a->bits[id >> 6] |= 1ull << (id & 63);
        a->allowed++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return ss__sql_fail(err, db, "--where");
    return SS_OK;
}

/* ---- vector search ---------------------------------------------------------------- */

static double vscore(ss_metric m, const float *q, const float *v, int d) {
    double dot = 0, qq = 0, vv = 0, l2 = 0;
    for (int i = 0; i < d; i++) {
        dot += (double)q[i] * v[i];
        qq += (double)q[i] * q[i];
        vv += (double)v[i] * v[i];
        double t = (double)q[i] - v[i];
        l2 += t * t;
    }
    if (m == SS_METRIC_DOT) return dot;
    if (m == SS_METRIC_L2) return -l2;
    return qq > 0 && vv > 0 ? dot / (sqrt(qq) * sqrt(vv)) : 0;
}

/* Exact scan of the allowed documents' vectors from SQLite. */
static ss_status exact_scan(ss_collection *c, sqlite3 *db, const float *q, const allow_t *a, size_t k, slist *out,
                            ss_error *err) {
    (void)k;
    char *sql = sqlite3_mprintf("SELECT v.rowid, v.v FROM vectors v JOIN docs d ON d.rowid = v.rowid WHERE %s",
                                a->sql.sql);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) return ss__sql_fail(err, db, "exact filtered scan");
    ss__filter_bind(st, 1, &a->sql);
    out->n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id >= a->nbits || !(a->bits[id >> 6] >> (id & 63) & 1)) continue; /* excluded */
        if (sqlite3_column_bytes(st, 1) != c->dim * (int)sizeof(float)) continue;
        float *v = (float *)sqlite3_column_blob(st, 1);
        float tmp[4096];
        const float *vv = v;
        if (((uintptr_t)v & 3) && c->dim <= 4096) { /* SQLite blobs need not be aligned */
            memcpy(tmp, v, (size_t)c->dim * sizeof(float));
            vv = tmp;
        }
        if (sl_push(out, id, vscore(c->metric, q, vv, c->dim))) {
            sqlite3_finalize(st);
            return ss_fail(err, SS_ERR_NOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return ss__sql_fail(err, db, "exact filtered scan");
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, by_score);
    return SS_OK;
}

/* The HNSW beam for a search asking the index for `want` hits. An explicit
 * beam (--ef, or the collection's ef_search) is raised to `want` at least, as
 * hnswlib / FAISS do. The default is max(64, 2 * want): a beam of only `want`
 * returns the top of a deep list (k 100, as eval-ir's MAP@100 / R@100 ask)
 * approximately — SciFact nDCG@10 0.6417 at ef = k = 100 against 0.6451 exact,
 * 0.6451 at ef = 200 — while k 10 keeps the index's default 64 (a wider beam
 * only costs latency there). Elasticsearch's num_candidates defaults to 1.5 k
 * for the same reason. Not static: tests check the rule. */
int ss__collection_search_beam(int collection_ef, int ef, size_t want) {
    if (ef <= 0) ef = collection_ef;
    if (ef > 0) return ef > (int)want ? ef : (int)want;
    size_t beam = 2 * want;
    return beam > 64 ? (int)(beam > 100000 ? 100000 : beam) : 0; /* 0: the index's default (64) */
}

static ss_status chunk_vector_hits(ss_collection *c, sqlite3 *db, const float *q, size_t k, const char *where,
                                   int64_t exclude, int ef, slist *out, ss_error *err);

static ss_status vector_hits(ss_collection *c, sqlite3 *db, const float *q, size_t k, const char *where,
                             int64_t exclude, int ef, slist *out, ss_error *err) {
    if (c->chunk_tokens > 0) return chunk_vector_hits(c, db, q, k, where, exclude, ef, out, err);
    ss_status s = ss__vindex_refresh(c, db, err);
    if (s != SS_OK) return s;
    allow_t a = {0};
    int filtered = where && *where;
    if (filtered && (s = allow_build(db, where, exclude, &a, err)) != SS_OK) {
        allow_free(&a);
        return s;
    }
    if (filtered && c->index_type == SS_INDEX_HNSW && a.allowed <= SS_EXACT_FILTER_MAX) {
        s = exact_scan(c, db, q, &a, k, out, err);
        allow_free(&a);
        return s;
    }
    size_t want = k + (exclude >= 0 && !filtered);
    int64_t *ids = malloc(want * sizeof *ids);
    float *sc = malloc(want * sizeof *sc);
    if (!ids || !sc) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
    ss_filter f = {.bits = a.bits, .nbits = a.nbits};
    ss_search_params p = {.ef_search = ss__collection_search_beam(c->ef_search, ef, want),
                          .filter = filtered ? &f : NULL};
    if (s == SS_OK) {
        pthread_rwlock_rdlock(&c->ilock);
        s = ss_index_search(c->idx, q, 1, (int)want, &p, ids, sc, err);
        pthread_rwlock_unlock(&c->ilock);
    }
    out->n = 0;
    for (size_t i = 0; s == SS_OK && i < want; i++) {
        if (ids[i] < 0 || ids[i] == exclude) continue;
        double score = c->metric == SS_METRIC_L2 ? -(double)sc[i] : (double)sc[i];
        if (sl_push(out, ids[i], score)) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
    }
    if (s == SS_OK && filtered && out->n < k && (int64_t)out->n < a.allowed) /* the walk fell short */
        s = exact_scan(c, db, q, &a, k, out, err);
    if (out->n > k) out->n = k;
    free(ids);
    free(sc);
    allow_free(&a);
    return s;
}

/* ---- chunked collections: passages roll up to documents --------------------------- */
/* The index holds passages (passages.rowid); a document's score is its best
 * passage's. Walking the passage ranking from the top, the documents in order
 * of first appearance ARE the document ranking by best passage, so it is
 * exact as soon as the first P passages cover k distinct documents: the walk
 * asks for 4k + 16 passages and doubles until it does (or the passages run
 * out). */

/* l: (doc, score, pid) sorted by score, best first -> out: one entry per doc, first = best. */
static ss_status rollup(const slist *l, int64_t exclude, size_t k, slist *out, ss_error *err) {
    out->n = 0;
    for (size_t i = 0; i < l->n && out->n < k; i++) {
        if (l->v[i].id == exclude) continue;
        size_t j = 0;
        while (j < out->n && out->v[j].id != l->v[i].id) j++;
        if (j < out->n) continue;
        if (sl_push(out, l->v[i].id, l->v[i].score)) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
        out->v[out->n - 1].pid = l->v[i].pid;
        out->v[out->n - 1].pscore = l->v[i].score;
    }
    return SS_OK;
}

/* Allow-list over passage ids: the passages of documents that pass the filter (exclude's dropped). */
static ss_status chunk_allow_build(sqlite3 *db, const char *where, int64_t exclude, allow_t *a, ss_error *err) {
    memset(a, 0, sizeof *a);
    if (ss__filter_compile(where, &a->sql, err) != SS_OK) return err ? err->code : SS_ERR_INVALID;
    sqlite3_stmt *st;
    int64_t maxid = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(rowid) FROM passages", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) maxid = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    a->nbits = maxid + 1;
    a->bits = calloc((size_t)(a->nbits + 63) / 64, sizeof *a->bits);
    if (!a->bits) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    char *sql = sqlite3_mprintf("SELECT p.rowid, p.doc FROM passages p JOIN docs d ON d.rowid = p.doc WHERE %s",
                                a->sql.sql);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) return ss__sql_fail(err, db, "--where");
    ss__filter_bind(st, 1, &a->sql);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 0 || id >= a->nbits || sqlite3_column_int64(st, 1) == exclude) continue;
        a->bits[id >> 6] |= 1ull << (id & 63);
        a->allowed++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return ss__sql_fail(err, db, "--where");
    return SS_OK;
}

static ss_status chunk_exact_scan(ss_collection *c, sqlite3 *db, const float *q, const allow_t *a, int64_t exclude,
                                  size_t k, slist *out, ss_error *err) {
    char *sql = sqlite3_mprintf("SELECT p.rowid, p.doc, v.v FROM passages p JOIN docs d ON d.rowid = p.doc"
                                " JOIN vectors v ON v.rowid = p.rowid WHERE %s",
                                a->sql.sql);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) return ss__sql_fail(err, db, "exact filtered scan");
    ss__filter_bind(st, 1, &a->sql);
    slist l = {0};
    ss_status s = SS_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(st, 0);
        if (pid >= a->nbits || !(a->bits[pid >> 6] >> (pid & 63) & 1)) continue;
        if (sqlite3_column_bytes(st, 2) != c->dim * (int)sizeof(float)) continue;
        float tmp[4096];
        const float *v = sqlite3_column_blob(st, 2);
        if (((uintptr_t)v & 3) && c->dim <= 4096) {
            memcpy(tmp, v, (size_t)c->dim * sizeof(float));
            v = tmp;
        }
        if (sl_push(&l, sqlite3_column_int64(st, 1), vscore(c->metric, q, v, c->dim))) {
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            break;
        }
        l.v[l.n - 1].pid = pid;
    }
    sqlite3_finalize(st);
    if (s == SS_OK && rc != SQLITE_DONE) s = ss__sql_fail(err, db, "exact filtered scan");
    if (s == SS_OK && l.n > 1) qsort(l.v, l.n, sizeof *l.v, by_score);
    if (s == SS_OK) s = rollup(&l, exclude, k, out, err);
    free(l.v);
    return s;
}

static ss_status chunk_vector_hits(ss_collection *c, sqlite3 *db, const float *q, size_t k, const char *where,
                                   int64_t exclude, int ef, slist *out, ss_error *err) {
    ss_status s = ss__vindex_refresh(c, db, err);
    if (s != SS_OK) return s;
    out->n = 0;
    allow_t a = {0};
    int filtered = where && *where;
    if (filtered && (s = chunk_allow_build(db, where, exclude, &a, err)) != SS_OK) {
        allow_free(&a);
        return s;
    }
    if (filtered && c->index_type == SS_INDEX_HNSW && a.allowed <= SS_EXACT_FILTER_MAX) {
        s = chunk_exact_scan(c, db, q, &a, exclude, k, out, err);
        allow_free(&a);
        return s;
    }
    pthread_rwlock_rdlock(&c->ilock);
    ss_index_stats stt;
    ss_index_get_stats(c->idx, &stt);
    pthread_rwlock_unlock(&c->ilock);
    size_t total = stt.count > 0 ? (size_t)stt.count : 0;
    if (filtered && (size_t)a.allowed < total) total = (size_t)a.allowed;
    sqlite3_stmt *dst = NULL;
    if (sqlite3_prepare_v2(db, "SELECT doc FROM passages WHERE rowid = ?", -1, &dst, NULL) != SQLITE_OK)
        s = ss__sql_fail(err, db, "reading passages");
    size_t want = 4 * k + 16;
    if (want > total) want = total;
    ss_filter f = {.bits = a.bits, .nbits = a.nbits};
    slist l = {0};
    int64_t *ids = NULL;
    float *sc = NULL;
    while (s == SS_OK && want > 0) {
        int64_t *ni = realloc(ids, want * sizeof *ids);
        if (ni) ids = ni;
        float *ns = ni ? realloc(sc, want * sizeof *sc) : NULL;
        if (ns) sc = ns;
        if (!ni || !ns) {
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            break;
        }
        ss_search_params p = {.ef_search = ss__collection_search_beam(c->ef_search, ef, want),
                          .filter = filtered ? &f : NULL};
        pthread_rwlock_rdlock(&c->ilock);
        s = ss_index_search(c->idx, q, 1, (int)want, &p, ids, sc, err);
        pthread_rwlock_unlock(&c->ilock);
        l.n = 0;
        size_t got = 0;
        for (size_t i = 0; s == SS_OK && i < want; i++) {
            if (ids[i] < 0) continue;
            got++;
            sqlite3_bind_int64(dst, 1, ids[i]);
            int64_t doc = sqlite3_step(dst) == SQLITE_ROW ? sqlite3_column_int64(dst, 0) : -1;
            sqlite3_reset(dst);
            if (doc < 0) continue; /* deleted meanwhile (another process) */
            double score = c->metric == SS_METRIC_L2 ? -(double)sc[i] : (double)sc[i];
            if (sl_push(&l, doc, score)) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            else l.v[l.n - 1].pid = ids[i];
        }
        if (s == SS_OK) s = rollup(&l, exclude, k, out, err);
        if (s != SS_OK || out->n >= k || got < want || want >= total) break;
        want = want * 2 > total ? total : want * 2;
    }
    if (s == SS_OK && filtered && out->n < k) /* the walk fell short: the exact answer */
        s = chunk_exact_scan(c, db, q, &a, exclude, k, out, err);
    sqlite3_finalize(dst);
    free(l.v);
    free(ids);
    free(sc);
    allow_free(&a);
    return s;
}

/* similar ID in a chunked collection: the query is the centroid of the
 * document's passage vectors (their mean, L2-normalised for cosine / dot),
 * which stands for the whole document the way one embedding does for an
 * unchunked one; hits roll up by best passage, the document itself excluded. */
static int64_t chunk_doc_vector(ss_collection *c, sqlite3 *db, const char *id, float *v) {
    int64_t rid = rowid_of(db, id);
    if (rid < 0) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT v.v FROM passages p JOIN vectors v ON v.rowid = p.rowid WHERE p.doc = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, rid);
    double *acc = calloc((size_t)c->dim, sizeof *acc);
    size_t n = 0;
    while (acc && sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_column_bytes(st, 0) == c->dim * (int)sizeof(float)) {
            float tmp[4096];
            if (c->dim > 4096) break;
            memcpy(tmp, sqlite3_column_blob(st, 0), (size_t)c->dim * sizeof(float));
            for (int i = 0; i < c->dim; i++) acc[i] += tmp[i];
            n++;
        }
    sqlite3_finalize(st);
    if (!acc || !n) {
        free(acc);
        return -1;
    }
    double nn = 0;
    for (int i = 0; i < c->dim; i++) nn += acc[i] * acc[i];
    double scale = c->metric == SS_METRIC_L2 || nn <= 0 ? 1.0 / (double)n : 1.0 / sqrt(nn);
    for (int i = 0; i < c->dim; i++) v[i] = (float)(acc[i] * scale);
    free(acc);
    return rid;
}

/* ---- BM25 ---------------------------------------------------------------------------- */

typedef struct {
    char *q;
    size_t n, cap;
    int terms;
} qbuf;

static int q_term(void *user, const char *tok, int len, int start, int end) {
    (void)start, (void)end;
    qbuf *b = user;
    size_t need = b->n + (size_t)len * 2 + 8;
    if (need > b->cap) {
        size_t cap = need * 2;
        char *q = realloc(b->q, cap);
        if (!q) return -1;
        b->q = q;
        b->cap = cap;
    }
    if (b->terms++) b->n += (size_t)sprintf(b->q + b->n, " OR ");
    b->q[b->n++] = '"';
    for (int i = 0; i < len; i++) {
        if (tok[i] == '"') b->q[b->n++] = '"';
        b->q[b->n++] = tok[i];
    }
    b->q[b->n++] = '"';
    b->q[b->n] = '\0';
    return 0;
}

static ss_status bm25_hits(ss_collection *c, sqlite3 *db, const char *text, size_t k, const char *where,
                           int64_t exclude, double k1, double b, slist *out, ss_error *err) {
    out->n = 0;
    ss_analyzer *an = ss__analyzer_new(c->analyzer, err);
    if (!an) return err ? err->code : SS_ERR_INVALID;
    qbuf qb = {0};
    int rc = ss__analyze(an, text, (int)strlen(text), q_term, &qb);
    ss__analyzer_free(an);
    if (rc) {
        free(qb.q);
        return ss_fail(err, SS_ERR_NOMEM, "analyzing the query failed");
    }
    if (!qb.terms) return SS_OK; /* nothing to match (only stop words / punctuation) */
    ss_filter_sql f = {0};
    if (where && *where && ss__filter_compile(where, &f, err) != SS_OK) {
        free(qb.q);
        return err ? err->code : SS_ERR_INVALID;
    }
    int np = f.nparams;
    char *sql = sqlite3_mprintf("SELECT rowid, lucene_bm25(fts, ?%d, ?%d) AS s FROM fts WHERE fts MATCH ?%d%s%s%s"
                                " ORDER BY s DESC, rowid LIMIT ?%d",
                                np + 1, np + 2, np + 3, f.sql ? " AND rowid IN (SELECT rowid FROM docs WHERE " : "",
                                f.sql ? f.sql : "", f.sql ? ")" : "", np + 4);
    sqlite3_stmt *st;
    ss_status s = SS_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) s = ss__sql_fail(err, db, "BM25 query");
    sqlite3_free(sql);
    if (s == SS_OK) {
        ss__filter_bind(st, 1, &f);
        sqlite3_bind_double(st, np + 1, k1);
        sqlite3_bind_double(st, np + 2, b);
        sqlite3_bind_text(st, np + 3, qb.q, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, np + 4, (sqlite3_int64)k + (exclude >= 0));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            if (id == exclude) continue;
            if (sl_push(out, id, sqlite3_column_double(st, 1))) {
                s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
                break;
            }
        }
        if (s == SS_OK && rc != SQLITE_DONE) s = ss__sql_fail(err, db, "BM25 query");
        sqlite3_finalize(st);
    }
    if (out->n > k) out->n = k;
    ss__filter_free(&f);
    free(qb.q);
    return s;
}

/* ---- fusion ---------------------------------------------------------------------------- */

static ss_status fuse(const slist *v, const slist *t, int linear, double w, int rank_constant, slist *out,
                      ss_error *err) {
    out->n = 0;
    double vmin = 0, vmax = 0, tmin = 0, tmax = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (!i || v->v[i].score < vmin) vmin = v->v[i].score;
        if (!i || v->v[i].score > vmax) vmax = v->v[i].score;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (!i || t->v[i].score < tmin) tmin = t->v[i].score;
        if (!i || t->v[i].score > tmax) tmax = t->v[i].score;
    }
    for (int side = 0; side < 2; side++) {
        const slist *l = side ? t : v;
        for (size_t i = 0; i < l->n; i++) {
            double s;
            if (linear) {
                double lo = side ? tmin : vmin, hi = side ? tmax : vmax;
                double nv = hi > lo ? (l->v[i].score - lo) / (hi - lo) : 1.0;
                s = (side ? 1.0 - w : w) * nv;
            } else {
                s = 1.0 / (double)(rank_constant + (int)i + 1);
            }
            size_t j = 0;
            while (j < out->n && out->v[j].id != l->v[i].id) j++;
            if (j < out->n) out->v[j].score += s;
            else if (sl_push(out, l->v[i].id, s)) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
            else if (!side) { /* the vector side's best passage stays with the document */
                out->v[out->n - 1].pid = l->v[i].pid;
                out->v[out->n - 1].pscore = l->v[i].pscore;
            }
        }
    }
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, by_score);
    return SS_OK;
}

/* ---- entry points ------------------------------------------------------------------------ */

static ss_status run_query(ss_collection *c, sqlite3 *db, const ss_query *q, const float *qvec, int64_t exclude,
                           slist *out, ss_error *err) {
    size_t k = q->k > 0 ? (size_t)q->k : 10;
    double k1 = q->k1 > 0 ? q->k1 : 1.2, b = q->b > 0 ? q->b : q->b < 0 ? 0 : 0.75;
    if (exclude < 0 && q->exclude_id) exclude = rowid_of(db, q->exclude_id);
    if (q->mode == SS_SEARCH_VECTOR) return vector_hits(c, db, qvec, k, q->where, exclude, q->ef_search, out, err);
    if (!q->text) return ss_fail(err, SS_ERR_INVALID, "BM25 / hybrid search needs a query text");
    if (q->mode == SS_SEARCH_BM25) return bm25_hits(c, db, q->text, k, q->where, exclude, k1, b, out, err);
    size_t w = q->rank_window > 0 ? (size_t)q->rank_window : (k > 100 ? k : 100);
    if (w < k) w = k;
    slist v = {0}, t = {0};
    ss_status s = vector_hits(c, db, qvec, w, q->where, exclude, q->ef_search, &v, err);
    if (s == SS_OK) s = bm25_hits(c, db, q->text, w, q->where, exclude, k1, b, &t, err);
    if (s == SS_OK)
        s = fuse(&v, &t, q->mode == SS_SEARCH_LINEAR, q->vector_weight > 0 ? q->vector_weight : 0.5,
                 q->rank_constant > 0 ? q->rank_constant : 60, out, err);
    free(v.v);
    free(t.v);
    return s;
}

ss_status ss_collection_search_many(ss_collection *c, const ss_query *qs, size_t n, ss_results **res,
                                    ss_error *err) {
    for (size_t i = 0; i < n; i++) res[i] = NULL;
    float *vecs = NULL;
    size_t nemb = 0;
    const char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t *slot = calloc(n ? n : 1, sizeof *slot);
    ss_status s = texts && slot ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; s == SS_OK && i < n; i++) {
        if (qs[i].mode > SS_SEARCH_LINEAR) s = ss_fail(err, SS_ERR_INVALID, "query %zu: unknown mode", i);
        else if (qs[i].mode != SS_SEARCH_BM25 && !qs[i].vector) {
            if (!qs[i].text) s = ss_fail(err, SS_ERR_INVALID, "query %zu: no text and no vector", i);
            slot[i] = nemb;
            texts[nemb++] = qs[i].text;
        }
    }
    if (s == SS_OK && nemb) {
        ss_model *m = ss__model(c, err);
        vecs = malloc(nemb * (size_t)c->dim * sizeof *vecs);
        if (!m) s = err ? err->code : SS_ERR_IO;
        else if (!vecs) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        else s = ss__encode(c, texts, nemb, NULL, vecs, err);
    }
    sqlite3 *db = s == SS_OK ? ss__conn_borrow(c, err) : NULL;
    if (s == SS_OK && !db) s = err ? err->code : SS_ERR_IO;
    slist l = {0};
    for (size_t i = 0; s == SS_OK && i < n; i++) {
        const float *qv = qs[i].vector ? qs[i].vector : vecs ? vecs + slot[i] * (size_t)c->dim : NULL;
        s = run_query(c, db, &qs[i], qv, -1, &l, err);
        if (s == SS_OK) {
            res[i] = fetch(db, &l, qs[i].k > 0 ? (size_t)qs[i].k : 10, err);
            if (!res[i]) s = err ? err->code : SS_ERR_NOMEM;
        }
        if (s != SS_OK && n > 1) ss_error_prefix(err, "query %zu: ", i);
    }
    ss__conn_return(c, db);
    if (s != SS_OK)
        for (size_t i = 0; i < n; i++) {
            ss_results_free(res[i]);
            res[i] = NULL;
        }
    free(l.v);
    free(vecs);
    free(texts);
    free(slot);
    return s;
}

ss_results *ss_collection_search(ss_collection *c, const ss_query *q, ss_error *err) {
    ss_results *r = NULL;
    if (ss_collection_search_many(c, q, 1, &r, err) != SS_OK) return NULL;
    return r;
}

ss_results *ss_collection_similar(ss_collection *c, const char *id, const ss_query *q0, ss_error *err) {
    ss_query q = q0 ? *q0 : (ss_query){0};
    q.mode = SS_SEARCH_VECTOR;
    sqlite3 *db = ss__conn_borrow(c, err);
    if (!db) return NULL;
    ss_results *r = NULL;
    sqlite3_stmt *st;
    float *v = malloc((size_t)c->dim * sizeof *v);
    int64_t rid = -1;
    if (v && c->chunk_tokens > 0) rid = chunk_doc_vector(c, db, id, v);
    else if (v && sqlite3_prepare_v2(db, "SELECT d.rowid, v.v FROM docs d JOIN vectors v ON v.rowid = d.rowid WHERE d.ext_id = ?",
                                -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == c->dim * (int)sizeof(float)) {
            rid = sqlite3_column_int64(st, 0);
            memcpy(v, sqlite3_column_blob(st, 1), (size_t)c->dim * sizeof *v);
        }
        sqlite3_finalize(st);
    }
    if (rid < 0) ss_fail(err, SS_ERR_NOT_FOUND, "collection %s has no document with id '%s'", c->dir, id);
    else {
        slist l = {0};
        if (run_query(c, db, &q, v, rid, &l, err) == SS_OK) r = fetch(db, &l, q.k > 0 ? (size_t)q.k : 10, err);
        free(l.v);
    }
    free(v);
    ss__conn_return(c, db);
    return r;
}

ss_results *ss_collection_get(ss_collection *c, const char *id, ss_error *err) {
    sqlite3 *db = ss__conn_borrow(c, err);
    if (!db) return NULL;
    int64_t rid = rowid_of(db, id);
    ss_results *r = NULL;
    if (rid < 0) ss_fail(err, SS_ERR_NOT_FOUND, "collection %s has no document with id '%s'", c->dir, id);
    else {
        scored one = {rid, 0, 0, 0};
        slist l = {&one, 1, 1};
        r = fetch(db, &l, 1, err);
    }
    ss__conn_return(c, db);
    return r;
}
