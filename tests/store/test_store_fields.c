/* test_store_fields.c — fields collections (semsearch.h "Collection fields"):
 * named vector fields get the index their options ask for (HNSW / flat,
 * int8 once trained on enough vectors) and their kNN agrees with exact
 * brute force; allow-list filters restrict the walk; per-field BM25 equals
 * Lucene's formula computed here; records keep json / view / version /
 * seq_no; a clean reopen neither rebuilds nor catches up, a lost index file
 * is rebuilt from SQLite with the same answers; removals and rollbacks. */
#include <math.h>

#include "store/fields.h"
#include "store_test.h"

#define N 400
#define DIM 16

static float vecs[N][DIM];

static void make_vec(int i, float *v) {
    uint64_t s = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
    for (int k = 0; k < DIM; k++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        v[k] = (float)((double)((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 - 0.5);
    }
}

static double cosine(const float *a, const float *b) {
    double d = 0, na = 0, nb = 0;
    for (int k = 0; k < DIM; k++) d += (double)a[k] * b[k], na += (double)a[k] * a[k], nb += (double)b[k] * b[k];
    return d / sqrt(na * nb);
}

/* exact top k rowids by cosine among allowed (rowid = i + 1) */
static int exact_topk(const float *q, int k, int even_only, int64_t *out) {
    double best[64];
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (even_only && (i + 1) % 2) continue;
        double s = cosine(q, vecs[i]);
        int p = n < k ? n++ : k;
        if (p == k && s <= best[k - 1]) continue;
        if (p == k) p = k - 1;
        while (p > 0 && best[p - 1] < s) best[p] = best[p - 1], out[p] = out[p - 1], p--;
        best[p] = s, out[p] = i + 1;
    }
    return n;
}

static ss_field *field(ss_collection *c, const char *name) { return ss__field_get(c, name); }

static int recall_at10(ss_collection *c, const char *fname, int even_only) {
    int hits = 0;
    uint64_t bits[(N + 64) / 64 + 1];
    memset(bits, 0, sizeof bits);
    for (int r = 2; r <= N; r += 2) bits[r / 64] |= 1ULL << (r % 64);
    ss_filter flt = {.bits = bits, .nbits = N + 1};
    for (int t = 0; t < 20; t++) {
        float q[DIM];
        make_vec(10000 + t, q);
        int64_t want[10], got[10];
        float sc[10];
        exact_topk(q, 10, even_only, want);
        ss_error e = {0};
        CHECKF(ss_collection_knn(c, fname, q, 10, 200, even_only ? &flt : NULL, got, sc, &e) == SS_OK, "knn: %s", e.msg);
        for (int i = 0; i < 10; i++) {
            if (even_only && got[i] >= 0) CHECKF(got[i] % 2 == 0, "filtered knn returned rowid %lld", (long long)got[i]);
            for (int j = 0; j < 10; j++) hits += got[i] == want[j];
        }
    }
    return hits; /* of 200 */
}

static ss_collection *open_fields(const char *dir, int create) {
    ss_collection_options o = {.create = create, .fields_only = 1};
    ss_error e = {0};
    ss_collection *c = ss_collection_open(dir, &o, &e);
    CHECKF(c != NULL, "open fields collection %s: %s", dir, e.msg);
    return c;
}

typedef struct sink {
    double s[N + 1];
    int n;
} sink;

static void on_match(void *u, int64_t rowid, double score) {
    sink *sk = u;
    if (rowid >= 0 && rowid <= N) sk->s[rowid] = score;
    sk->n++;
}

static const char *texts[] = {"the quick brown fox", "a lazy dog sleeps", "the fox and the dog", "quick quick quick"};

int main(void) {
    char *root = st_tmpdir("fields"), dir[300], copy[300], cmd[800];
    snprintf(dir, sizeof dir, "%s/c", root);
    snprintf(copy, sizeof copy, "%s/copy", root);
    ss_error e = {0};
    ss_collection *c = open_fields(dir, 1);
    REQUIRE(c != NULL);

    ss_field_def hn = {.name = "v", .kind = SS_FIELD_VECTOR, .dim = DIM,
                       .index = {.type = SS_INDEX_HNSW, .metric = SS_METRIC_COSINE, .m = 8, .ef_construction = 64}};
    ss_field_def fl = {.name = "w", .kind = SS_FIELD_VECTOR, .dim = DIM,
                       .index = {.type = SS_INDEX_FLAT, .metric = SS_METRIC_COSINE, .quantize = SS_QUANT_INT8}};
    ss_field_def tx = {.name = "t", .kind = SS_FIELD_TEXT, .analyzer = "standard"};
    CHECKF(ss_collection_define_field(c, &hn, &e) == SS_OK, "define v: %s", e.msg);
    CHECKF(ss_collection_define_field(c, &fl, &e) == SS_OK, "define w: %s", e.msg);
    CHECKF(ss_collection_define_field(c, &tx, &e) == SS_OK, "define t: %s", e.msg);
    CHECK(ss_collection_define_field(c, &hn, &e) == SS_OK); /* same definition: idempotent */
    ss_field_def bad = hn;
    bad.dim = 3;
    CHECK(ss_collection_define_field(c, &bad, &e) != SS_OK && strstr(e.msg, "already defined"));

    CHECK(ss_collection_begin(c, &e) == SS_OK);
    for (int i = 0; i < N; i++) {
        make_vec(i, vecs[i]);
        char id[32], json[128];
        snprintf(id, sizeof id, "d%d", i);
        snprintf(json, sizeof json, "{\"i\":%d,\"v\":[0]}", i);
        ss_field_value vals[3] = {{"v", vecs[i], NULL}, {"w", vecs[i], NULL}, {"t", NULL, texts[i % 4]}};
        int64_t rowid = 0;
        if (ss_collection_put(c, id, json, "{\"i\":0}", 1, i, vals, i < 4 ? 3 : 2, &rowid, &e) != SS_OK || rowid != i + 1)
            CHECKF(0, "put %s: rowid %lld (%s)", id, (long long)rowid, e.msg);
    }
    CHECKF(ss_collection_commit(c, &e) == SS_OK, "commit: %s", e.msg);

    ss_index_stats st;
    ss_index_get_stats(field(c, "v")->idx, &st);
    CHECKF(st.type == SS_INDEX_HNSW && st.count == N && st.quantize == SS_QUANT_NONE, "v: HNSW, %lld vectors",
           (long long)st.count);
    ss_index_get_stats(field(c, "w")->idx, &st);
    CHECKF(st.type == SS_INDEX_FLAT && st.quantize == SS_QUANT_NONE, "w: flat, fp32 below %d vectors", SS_FIELD_QUANT_MIN);
    int r = recall_at10(c, "v", 0);
    CHECKF(r >= 196, "hnsw recall@10 vs exact: %d / 200", r);
    CHECKF(recall_at10(c, "w", 0) == 200, "flat knn equals exact");
    r = recall_at10(c, "v", 1);
    CHECKF(r >= 196, "hnsw with an allow-list (even rowids): recall@10 %d / 200, only allowed ids", r);

    /* records */
    ss_record rec;
    CHECK(ss_collection_lookup(c, "d7", &rec, &e) == SS_OK && rec.rowid == 8 && rec.version == 1 && rec.seq_no == 7 &&
          !strcmp(rec.json, "{\"i\":7,\"v\":[0]}") && !strcmp(rec.view, "{\"i\":0}"));
    ss_record_clear(&rec);
    CHECK(ss_collection_lookup(c, "nope", &rec, &e) == SS_ERR_NOT_FOUND);
    float v[DIM];
    CHECK(ss_collection_vector(c, "v", 8, v, &e) == SS_OK && !memcmp(v, vecs[7], sizeof v));

    /* BM25 on t: Lucene's formula over the 4 documents that have the field (all < 24 tokens: exact norms) */
    sink got = {{0}, 0};
    const char *qt[] = {"quick", "fox"};
    double k1 = 1.2, b = 0.75, dl[4] = {4, 4, 5, 3}, avgdl = 16.0 / 4;
    double tf[4][2] = {{1, 1}, {0, 0}, {0, 1}, {3, 0}}, df[2] = {2, 2};
    CHECK(ss_collection_match(c, "t", qt, 2, 0, k1, b, on_match, &got, &e) == SS_OK);
    CHECKF(got.n == 3, "match quick OR fox: %d docs", got.n);
    for (int d = 0; d < 4; d++) {
        double want = 0;
        for (int t = 0; t < 2; t++)
            if (tf[d][t] > 0)
                want += log(1 + (4 - df[t] + 0.5) / (df[t] + 0.5)) * tf[d][t] /
                        (tf[d][t] + k1 * (1 - b + b * dl[d] / avgdl));
        CHECKF(fabs(got.s[d + 1] - want) < 1e-9, "BM25 of doc %d: %.9f want %.9f", d, got.s[d + 1], want);
    }
    got.n = 0;
    CHECK(ss_collection_match(c, "t", qt, 2, 1, k1, b, on_match, &got, &e) == SS_OK && got.n == 1); /* AND: doc 0 only */

    /* removal and replacement */
    CHECK(ss_collection_begin(c, &e) == SS_OK);
    CHECK(ss_collection_remove(c, "d1", &e) == 1 && ss_collection_remove(c, "d1", &e) == 0);
    ss_field_value only_t = {"t", NULL, "replaced text"};
    CHECK(ss_collection_put(c, "d3", "{}", NULL, 2, 500, &only_t, 1, NULL, &e) == SS_OK); /* loses v and w */
    CHECK(ss_collection_lookup(c, "d3", &rec, &e) == SS_OK && rec.version == 2 && !rec.view); /* the batch sees itself */
    ss_record_clear(&rec);
    CHECK(ss_collection_commit(c, &e) == SS_OK);
    CHECK(ss_collection_vector(c, "v", 4, v, &e) == SS_ERR_NOT_FOUND);
    CHECK(!ss_index_contains(field(c, "v")->idx, 2) && !ss_index_contains(field(c, "v")->idx, 4) &&
          ss_index_contains(field(c, "v")->idx, 5));
    CHECK(ss_collection_count(c) == N - 1);

    /* rollback drops the batch's writes and fields */
    CHECK(ss_collection_begin(c, &e) == SS_OK);
    ss_field_def tmpf = {.name = "tmp", .kind = SS_FIELD_TEXT};
    CHECK(ss_collection_define_field(c, &tmpf, &e) == SS_OK && ss_collection_has_field(c, "tmp"));
    CHECK(ss_collection_remove(c, "d5", &e) == 1);
    ss_collection_rollback(c);
    CHECK(!ss_collection_has_field(c, "tmp") && ss_collection_lookup(c, "d5", &rec, &e) == SS_OK);
    ss_record_clear(&rec);

    /* a copy taken while open (index logs committed, no snapshot of the last batch) replays its log */
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", dir, copy);
    CHECK(system(cmd) == 0);
    CHECK(ss_collection_close(c, &e) == SS_OK);

    c = open_fields(dir, 0);
    REQUIRE(c != NULL);
    CHECKF(field(c, "v")->rebuilds == 0 && field(c, "v")->catchups == 0, "clean reopen: no rebuild, no catch-up");
    ss_index_get_stats(field(c, "v")->idx, &st);
    CHECK(st.type == SS_INDEX_HNSW && st.count == N - 2);
    CHECK(recall_at10(c, "w", 0) >= 180); /* d1, d3 gone: the exact list still has them */
    CHECK(ss_collection_close(c, &e) == SS_OK);

    c = open_fields(copy, 0);
    REQUIRE(c != NULL);
    CHECKF(field(c, "v")->rebuilds == 0, "copy: the log brings the index up to date without a rebuild");
    ss_index_get_stats(field(c, "v")->idx, &st);
    CHECK(st.count == N - 2);
    CHECK(ss_collection_close(c, &e) == SS_OK);

    /* the derived file lost: rebuilt from SQLite */
    snprintf(cmd, sizeof cmd, "rm -f '%s'/field-*.ssi*", copy);
    CHECK(system(cmd) == 0);
    c = open_fields(copy, 0);
    REQUIRE(c != NULL);
    CHECKF(field(c, "v")->rebuilds == 1 && field(c, "w")->rebuilds == 1, "missing index files rebuilt");
    ss_index_get_stats(field(c, "v")->idx, &st);
    CHECK(st.type == SS_INDEX_HNSW && st.count == N - 2);

    /* int8: quantised once the field holds SS_FIELD_QUANT_MIN vectors, rescored exactly */
    CHECK(ss_collection_begin(c, &e) == SS_OK);
    for (int i = N; i < SS_FIELD_QUANT_MIN + 10; i++) {
        float x[DIM];
        make_vec(i, x);
        char id[32];
        snprintf(id, sizeof id, "e%d", i);
        ss_field_value val = {"w", x, NULL};
        if (ss_collection_put(c, id, "{}", NULL, 1, i, &val, 1, NULL, &e) != SS_OK) CHECKF(0, "put %s: %s", id, e.msg);
    }
    CHECK(ss_collection_commit(c, &e) == SS_OK);
    ss_index_get_stats(field(c, "w")->idx, &st);
    CHECKF(st.quantize == SS_QUANT_INT8 && st.count == SS_FIELD_QUANT_MIN + 10 - 2, "w: int8 at %lld vectors",
           (long long)st.count);
    CHECK(ss_collection_close(c, &e) == SS_OK);
    c = open_fields(copy, 0);
    REQUIRE(c != NULL);
    ss_index_get_stats(field(c, "w")->idx, &st);
    CHECKF(st.quantize == SS_QUANT_INT8 && field(c, "w")->rebuilds == 0, "int8 index reopened as it was");
    CHECK(ss_collection_close(c, &e) == SS_OK);

    st_rm_rf(root);
    return TEST_REPORT();
}

