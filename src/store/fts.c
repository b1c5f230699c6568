/* fts.c — what SQLite needs from semsearch on every connection of a collection:
 *  - the FTS5 tokenizer "semsearch" (argument: the analyzer name), so that the
 *    postings FTS5 keeps are the analyzer's tokens;
 *  - lucene_bm25(fts, k1, b), Lucene's BM25Similarity as an FTS5 auxiliary
 *    function, the rank of --mode bm25;
 *  - ss_num(x), a number from a JSON number or a numeric string (filters).
 *
 * Queries are analyzed by semsearch before they reach FTS5 (search.c builds
 * "t1" OR "t2" ... from the analyzer's tokens), so in query mode the tokenizer
 * passes each quoted term through unchanged: stemming it again would not be
 * idempotent (Porter stems of stems can differ).
 *
 * Lucene's BM25 (Lucene >= 8, BM25Similarity), summed over query terms:
 *   idf(t)  = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))
 *   norm(d) = k1 * (1 - b + b * L(d) / avgdl)
 *   score   = sum_t idf(t) * f(t,d) / (f(t,d) + norm(d))
 * with N the documents, n(t) those containing t, avgdl = total tokens / N and
 * L(d) the document's token count *as Lucene stores it*: one byte per document
 * (SmallFloat.intToByte4), decoded with byte4ToInt — exact below 24 tokens,
 * then 4 significant bits. There is no (k1 + 1) factor since Lucene 8.
 * A term repeated in the query counts once per occurrence, as in Lucene's
 * BooleanQuery of SHOULD clauses that Elasticsearch's match query builds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/store_internal.h"

/* ---- SmallFloat (org.apache.lucene.util.SmallFloat) ---------------------- */

static int long_to_int4(long long i) {
    if (i < 8) return (int)i; /* fewer than 4 bits: subnormal (also avoids clz(0)) */
    int bits = 64 - __builtin_clzll((unsigned long long)i);
    int shift = bits - 4;
    int enc = (int)((unsigned long long)i >> shift) & 0x07; /* drop the implicit bit */
    return enc | ((shift + 1) << 3);
}

static long long int4_to_long(int i) {
    long long bits = i & 0x07;
    int shift = (i >> 3) - 1;
    return shift == -1 ? bits : (bits | 0x08) << shift;
}

/* MAX_INT4 = longToInt4(Integer.MAX_VALUE) = 231; NUM_FREE_VALUES = 255 - 231. */
#define LUCENE_NUM_FREE_VALUES 24

int ss__lucene_int_to_byte4(int i) {
    if (i < LUCENE_NUM_FREE_VALUES) return i;
    return LUCENE_NUM_FREE_VALUES + long_to_int4((long long)i - LUCENE_NUM_FREE_VALUES);
}

int ss__lucene_byte4_to_int(int b) {
    if (b < LUCENE_NUM_FREE_VALUES) return b;
    long long d = LUCENE_NUM_FREE_VALUES + int4_to_long(b - LUCENE_NUM_FREE_VALUES);
    return d > 2147483647LL ? 2147483647 : (int)d;
}

/* ---- the tokenizer ------------------------------------------------------- */

typedef struct {
    ss_analyzer *an;
} fts_tok;

static int tok_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out) {
    (void)ctx;
    const char *name = argc > 0 ? argv[0] : "standard";
    fts_tok *t = calloc(1, sizeof *t);
    if (!t) return SQLITE_NOMEM;
    t->an = ss__analyzer_new(name, NULL);
    if (!t->an) {
        free(t);
        return SQLITE_ERROR;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *p) {
    fts_tok *t = (fts_tok *)p;
    ss__analyzer_free(t->an);
    free(t);
}

typedef struct {
    void *ctx;
    int (*xToken)(void *, int, const char *, int, int, int);
} tok_sink;

static int tok_emit(void *user, const char *tok, int len, int start, int end) {
    tok_sink *s = user;
    return s->xToken(s->ctx, 0, tok, len, start, end);
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
                        int (*xToken)(void *, int, const char *, int, int, int)) {
    fts_tok *t = (fts_tok *)p;
    if (flags & FTS5_TOKENIZE_QUERY) { /* pre-analyzed terms: pass through */
        int i = 0;
        while (i < n) {
            while (i < n && text[i] == ' ') i++;
            int s = i;
            while (i < n && text[i] != ' ') i++;
            if (i > s) {
                int rc = xToken(ctx, 0, text + s, i - s, s, i);
                if (rc != SQLITE_OK) return rc;
            }
        }
        return SQLITE_OK;
    }
    tok_sink sink = {ctx, xToken};
    int rc = ss__analyze(t->an, text, n, tok_emit, &sink);
    return rc < 0 ? SQLITE_NOMEM : rc;
}

/* ---- lucene_bm25 ----------------------------------------------------------- */

typedef struct {
    int nphrase;
    double *idf;
    int *tf;
    double norm[256]; /* k1 * (1 - b + b * byte4ToInt(i) / avgdl) */
} bm25_cache;

static int count_rows(const Fts5ExtensionApi *api, Fts5Context *ctx, void *user) {
    (void)api, (void)ctx;
    (*(int64_t *)user)++;
    return SQLITE_OK;
}

static void bm25_cache_free(void *p) {
    bm25_cache *c = p;
    if (!c) return;
    free(c->idf);
    free(c->tf);
    free(c);
}

static bm25_cache *bm25_prepare(const Fts5ExtensionApi *api, Fts5Context *ctx, double k1, double b, int *rc) {
    bm25_cache *c = calloc(1, sizeof *c);
    if (!c) {
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    c->nphrase = api->xPhraseCount(ctx);
    c->idf = calloc((size_t)c->nphrase + 1, sizeof *c->idf);
    c->tf = calloc((size_t)c->nphrase + 1, sizeof *c->tf);
    sqlite3_int64 nrow = 0, total = 0;
    *rc = c->idf && c->tf ? SQLITE_OK : SQLITE_NOMEM;
    if (*rc == SQLITE_OK) *rc = api->xRowCount(ctx, &nrow);
    if (*rc == SQLITE_OK) *rc = api->xColumnTotalSize(ctx, 0, &total);
    for (int i = 0; *rc == SQLITE_OK && i < c->nphrase; i++) {
        int64_t df = 0;
        *rc = api->xQueryPhrase(ctx, i, &df, count_rows);
        c->idf[i] = log(1.0 + ((double)nrow - (double)df + 0.5) / ((double)df + 0.5));
    }
    double avgdl = nrow > 0 ? (double)total / (double)nrow : 1.0;
    if (avgdl <= 0) avgdl = 1.0;
    for (int i = 0; i < 256; i++) c->norm[i] = k1 * (1.0 - b + b * (double)ss__lucene_byte4_to_int(i) / avgdl);
    if (*rc != SQLITE_OK) {
        bm25_cache_free(c);
        return NULL;
    }
    return c;
}

static void lucene_bm25(const Fts5ExtensionApi *api, Fts5Context *ctx, sqlite3_context *res, int nval,
                        sqlite3_value **vals) {
    double k1 = nval > 0 ? sqlite3_value_double(vals[0]) : 1.2;
    double b = nval > 1 ? sqlite3_value_double(vals[1]) : 0.75;
    int rc = SQLITE_OK;
    bm25_cache *c = api->xGetAuxdata(ctx, 0);
    if (!c) {
        c = bm25_prepare(api, ctx, k1, b, &rc);
        if (!c) {
            sqlite3_result_error_code(res, rc);
            return;
        }
        rc = api->xSetAuxdata(ctx, c, bm25_cache_free);
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(res, rc);
            return;
        }
    }
    memset(c->tf, 0, (size_t)c->nphrase * sizeof *c->tf);
    int ninst = 0;
    rc = api->xInstCount(ctx, &ninst);
    for (int i = 0; rc == SQLITE_OK && i < ninst; i++) {
        int ip, ic, io;
        rc = api->xInst(ctx, i, &ip, &ic, &io);
        if (rc == SQLITE_OK && ip >= 0 && ip < c->nphrase) c->tf[ip]++;
    }
    int dl = 0;
    if (rc == SQLITE_OK) rc = api->xColumnSize(ctx, 0, &dl);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(res, rc);
        return;
    }
    double norm = c->norm[ss__lucene_int_to_byte4(dl) & 0xFF], score = 0;
    for (int i = 0; i < c->nphrase; i++)
        if (c->tf[i] > 0) score += c->idf[i] * (double)c->tf[i] / ((double)c->tf[i] + norm);
    sqlite3_result_double(res, score);
}

/* ---- ss_num ---------------------------------------------------------------- */

static void ss_num(sqlite3_context *res, int argc, sqlite3_value **argv) {
    (void)argc;
    switch (sqlite3_value_type(argv[0])) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        sqlite3_result_value(res, argv[0]);
        return;
    case SQLITE_TEXT: {
        const char *s = (const char *)sqlite3_value_text(argv[0]);
        char *end;
        while (*s == ' ') s++;
        double v = strtod(s, &end);
        while (*end == ' ') end++;
        if (end != s && *end == '\0' && isfinite(v)) sqlite3_result_double(res, v);
        else sqlite3_result_null(res);
        return;
    }
    default:
        sqlite3_result_null(res);
    }
}

/* ---- registration ---------------------------------------------------------- */

static fts5_api *get_fts5(sqlite3 *db) {
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return api;
}

ss_status ss__fts_register(sqlite3 *db, ss_error *err) {
    fts5_api *api = get_fts5(db);
    if (!api || api->iVersion < 2) return ss_fail(err, SS_ERR_UNSUPPORTED, "this SQLite has no FTS5 (v2)");
    fts5_tokenizer tk = {tok_create, tok_delete, tok_tokenize}; /* FTS5 copies it */
    if (api->xCreateTokenizer(api, "semsearch", NULL, &tk, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "lucene_bm25", NULL, lucene_bm25, NULL) != SQLITE_OK)
        return ss__sql_fail(err, db, "registering the FTS5 tokenizer / lucene_bm25");
    if (sqlite3_create_function(db, "ss_num", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, ss_num, NULL, NULL) !=
        SQLITE_OK)
        return ss__sql_fail(err, db, "registering ss_num");
    return SS_OK;
}
