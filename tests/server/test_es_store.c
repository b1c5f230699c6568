/* test_es_store.c — Elasticsearch indices as collections: a dense_vector
 * field with index_options hnsw is served by its ANN index (hits agree with
 * exact kNN computed here, scores are Elasticsearch's formula on the
 * document's vector), a filtered knn on a flat field equals the exact
 * filtered top k (the filter is an allow-list in the walk, so k hits come
 * back even when few documents pass), the index folder holds collection.db
 * and one index file per vector field, a restart opens them and answers the
 * same; an index of the old layout (DATA/es/NAME/es.db) is migrated once
 * with its _version / _seq_no, and the old file is kept. */
#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

static int port;

static int req(const char *method, const char *path, const char *body, cJSON **out) {
    http_resp r = {0};
    const char *ct = strstr(path, "_bulk") ? "Content-Type: application/x-ndjson\r\n" : "Content-Type: application/json\r\n";
    if (http_do(port, method, path, body ? ct : NULL, body, &r) != 0) return -1;
    if (out) *out = r.body ? cJSON_Parse(r.body) : NULL;
    int st = r.status;
    http_resp_free(&r);
    return st;
}

#define N 300
#define DIM 8
static float vecs[N][DIM];

static void make_vec(int i, float *v) {
    uint64_t s = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 7);
    for (int k = 0; k < DIM; k++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        v[k] = (float)((double)((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 - 0.5);
    }
}

static double es_cos(const float *a, const float *b) {
    double d = 0, na = 0, nb = 0;
    for (int k = 0; k < DIM; k++) d += (double)a[k] * b[k], na += (double)a[k] * a[k], nb += (double)b[k] * b[k];
    return (1 + d / sqrt(na * nb)) / 2;
}

static void vec_json(const float *v, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "[");
    for (int k = 0; k < DIM; k++) n += (size_t)snprintf(out + n, cap - n, "%s%.9g", k ? "," : "", (double)v[k]);
    snprintf(out + n, cap - n, "]");
}

/* exact top 10 ids (doc i) by cosine, only i % 10 == 0 when filtered */
static void exact10(const float *q, int filtered, int *out) {
    double best[10];
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (filtered && i % 10) continue;
        double s = es_cos(q, vecs[i]);
        int p = n < 10 ? n++ : 10;
        if (p == 10 && s <= best[9]) continue;
        if (p == 10) p = 9;
        while (p > 0 && best[p - 1] < s) best[p] = best[p - 1], out[p] = out[p - 1], p--;
        best[p] = s, out[p] = i;
    }
}

/* Run 10 knn queries; returns the overlap with exact (of 100) and checks every score. Prints the answers into sig. */
static int knn_round(const char *field, int filtered, char *sig, size_t cap) {
    int overlap = 0;
    size_t sl = 0;
    for (int t = 0; t < 10; t++) {
        float q[DIM];
        make_vec(5000 + t, q);
        char qv[400], body[1200];
        vec_json(q, qv, sizeof qv);
        snprintf(body, sizeof body,
                 "{\"knn\":{\"field\":\"%s\",\"query_vector\":%s,\"k\":10,\"num_candidates\":100%s},\"_source\":false,\"size\":10}",
                 field, qv, filtered ? ",\"filter\":{\"term\":{\"tag\":\"a\"}}" : "");
        cJSON *o = NULL;
        CHECK(req("POST", "/vec/_search", body, &o) == 200);
        const cJSON *hits = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), *h;
        CHECKF(cJSON_GetArraySize(hits) == 10, "%s%s: %d hits", field, filtered ? " filtered" : "", cJSON_GetArraySize(hits));
        int want[10];
        exact10(q, filtered, want);
        cJSON_ArrayForEach(h, hits) {
            int id = atoi(cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")));
            double sc = cJSON_GetObjectItem(h, "_score")->valuedouble;
            if (id < 0 || id >= N || fabs(sc - es_cos(q, vecs[id])) > 1e-6)
                CHECKF(0, "score of doc %d: %.9f want %.9f", id, sc, id >= 0 && id < N ? es_cos(q, vecs[id]) : 0);
            if (filtered) CHECKF(id % 10 == 0, "filtered knn returned doc %d (tag b)", id);
            for (int j = 0; j < 10; j++) overlap += want[j] == id;
            sl += (size_t)snprintf(sig + sl, cap - sl, "%d:%.6f,", id, sc);
        }
        cJSON_Delete(o);
    }
    return overlap;
}

/* script_score: each hit's score is the script's formula on the document's vector */
static void script_checks(void) {
    float q[DIM];
    make_vec(777, q);
    char qv[400], body[1500];
    vec_json(q, qv, sizeof qv);
    const char *scripts[] = {"cosineSimilarity(params.query_vector, 'w') + 1.0", "dotProduct(params.query_vector, 'w') + 2",
                             "1 / (1 + l2norm(params.query_vector, 'w'))", "return 10 - l1norm(params.query_vector, \\\"w\\\");",
                             "(_score * 2 + params.bias) * (cosineSimilarity(params.query_vector, 'v') + 1.0f)"};
    for (int t = 0; t < 5; t++) {
        snprintf(body, sizeof body,
                 "{\"size\":%d,\"_source\":false,\"query\":{\"script_score\":{\"query\":{\"constant_score\":{\"filter\":{\"match_all\":{}},\"boost\":1.5}},"
                 "\"script\":{\"source\":\"%s\",\"params\":{\"query_vector\":%s,\"bias\":0.5}}}}}",
                 N, scripts[t], qv);
        cJSON *o = NULL;
        CHECKF(req("POST", "/vec/_search", body, &o) == 200, "script_score [%s]", scripts[t]);
        const cJSON *hits = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), *h;
        int n = 0, bad = 0;
        double prev = INFINITY;
        cJSON_ArrayForEach(h, hits) {
            int id = atoi(cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")));
            double sc = cJSON_GetObjectItem(h, "_score")->valuedouble, dot = 0, nq = 0, nv = 0, l1 = 0, l2 = 0, want;
            for (int k = 0; k < DIM; k++) {
                double a = q[k], b = vecs[id][k];
                dot += a * b, nq += a * a, nv += b * b, l1 += fabs(a - b), l2 += (a - b) * (a - b);
            }
            double cos = dot / sqrt(nq * nv), cosv = es_cos(q, vecs[id]) * 2 - 1; /* v holds the same vectors */
            want = t == 0 ? cos + 1 : t == 1 ? dot + 2 : t == 2 ? 1 / (1 + sqrt(l2)) : t == 3 ? 10 - l1 : (1.5 * 2 + 0.5) * (cosv + 1);
            bad += fabs(sc - want) > 1e-5 || sc > prev + 1e-12;
            prev = sc;
            n++;
        }
        CHECKF(n == N && bad == 0, "script [%s]: %d hits, %d scores off the formula or out of order", scripts[t], n, bad);
        cJSON_Delete(o);
    }
    const char *bad_scripts[] = {"Math.log(2)", "cosineSimilarity(params.query_vector, 'tag')", "dotProduct(params.nope, 'w')",
                                 "cosineSimilarity(params.query_vector, 'w') +", "dotProduct(params.query_vector, 'w')"};
    const char *why[] = {"unsupported", "not a dense_vector", "must be an array", "unsupported token", "non-negative"};
    for (int t = 0; t < 5; t++) {
        snprintf(body, sizeof body,
                 "{\"query\":{\"script_score\":{\"query\":{\"match_all\":{}},\"script\":{\"source\":\"%s\",\"params\":{\"query_vector\":%s}}}}}",
                 bad_scripts[t], qv);
        http_resp r = {0};
        CHECK(http_do(port, "POST", "/vec/_search", "Content-Type: application/json\r\n", body, &r) == 0);
        CHECKF(r.status == 400 && r.body && strstr(r.body, why[t]), "script [%s]: 400 naming '%s' (got %d %.200s)",
               bad_scripts[t], why[t], r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
}

static void old_layout(const char *es_dir) {
    char dir[800], path[900];
    snprintf(dir, sizeof dir, "%s/old", es_dir);
    REQUIRE(mkdir(es_dir, 0755) == 0 && mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/es.db", dir);
    sqlite3 *db;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    /* the schema and meta of the old es_store.c */
    REQUIRE(sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL;"
                         "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT);"
                         "CREATE TABLE docs(id TEXT PRIMARY KEY, src TEXT, version INTEGER, seq_no INTEGER);"
                         "INSERT INTO meta VALUES('uuid','OldUuid1234567890abcde'),('created','1700000000000'),"
                         "('body_settings','null'),('mappings','{\"properties\":{\"title\":{\"type\":\"text\"},"
                         "\"v\":{\"type\":\"dense_vector\",\"dims\":2,\"similarity\":\"cosine\"}}}');"
                         "INSERT INTO docs VALUES('a','{\"title\":\"hello world\",\"v\":[1,0]}',3,5),"
                         "('b','{\"title\":\"goodbye\",\"v\":[0,1]}',1,6);",
                         NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* The server's own embedding of a text (TEI /embed), for expected scores. */
static int embed(const char *text, double *v, int cap) {
    char body[600];
    snprintf(body, sizeof body, "{\"inputs\":\"%s\"}", text);
    cJSON *o = NULL;
    int n = 0;
    if (req("POST", "/embed", body, &o) == 200) {
        const cJSON *e, *a = cJSON_GetArrayItem(o, 0);
        cJSON_ArrayForEach(e, a) if (n < cap) v[n++] = e->valuedouble;
    }
    cJSON_Delete(o);
    return n;
}

static double top_score(const char *body, const char *want_id) {
    cJSON *o = NULL;
    double sc = NAN;
    int st = req("POST", "/sem/_search", body, &o);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), 0);
    const char *id = h ? cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")) : NULL;
    CHECKF(st == 200 && id && !strcmp(id, want_id), "%.80s...: status %d, top hit %s, want %s", body, st, id ? id : "-", want_id);
    if (h) sc = cJSON_GetObjectItem(h, "_score")->valuedouble;
    cJSON_Delete(o);
    return sc;
}

/* semantic_text: embedded at index time by the server's model; semantic /
 * match / knn-with-builder queries embed the query; scores (1 + cos) / 2. */
static void semantic_checks(void) {
    cJSON *o = NULL;
    CHECK(req("PUT", "/sem", "{\"mappings\":{\"properties\":{\"content\":{\"type\":\"semantic_text\",\"inference_id\":\"semsearch\"},"
              "\"tag\":{\"type\":\"keyword\"}}}}", NULL) == 200);
    const char *docs[] = {"A cat sleeps on the warm windowsill.", "The stock market fell sharply today.",
                          "Heavy rain is expected over the weekend."};
    for (int i = 0; i < 3; i++) {
        char body[300], path[64];
        snprintf(body, sizeof body, "{\"content\":\"%s\",\"tag\":\"%s\"}", docs[i], i == 2 ? "x" : "y");
        snprintf(path, sizeof path, "/sem/_doc/%d?refresh=true", i);
        CHECK(req("PUT", path, body, NULL) == 201);
    }
    CHECK(req("GET", "/sem/_doc/0", NULL, &o) == 200 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "_source"), "content")), docs[0]));
    cJSON_Delete(o);
    CHECK(req("GET", "/sem/_mapping", NULL, &o) == 200);
    const cJSON *ms = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sem"), "mappings"), "properties"), "content"), "model_settings");
    CHECKF(cJSON_GetObjectItem(ms, "dimensions") && cJSON_GetObjectItem(ms, "dimensions")->valuedouble == 384,
           "semantic_text mapping records model_settings.dimensions 384");
    cJSON_Delete(o);
    const char *q = "which animal is napping in the sun";
    double qv[400], dv[400];
    int nq = embed(q, qv, 400), nd = embed(docs[0], dv, 400);
    CHECKF(nq == 384 && nd == 384, "embed: %d / %d dims", nq, nd);
    double cos = 0;
    for (int k = 0; k < nq && k < nd; k++) cos += qv[k] * dv[k]; /* normalised vectors */
    double want = (1 + cos) / 2;
    double got = top_score("{\"query\":{\"semantic\":{\"field\":\"content\",\"query\":\"which animal is napping in the sun\"}}}", "0");
    CHECKF(fabs(got - want) < 1e-5, "semantic query score %.7f, want (1 + cos) / 2 = %.7f", got, want);
    got = top_score("{\"query\":{\"match\":{\"content\":\"which animal is napping in the sun\"}}}", "0");
    CHECKF(fabs(got - want) < 1e-5, "match on semantic_text: %.7f want %.7f", got, want);
    got = top_score("{\"query\":{\"bool\":{\"must\":[{\"knn\":{\"field\":\"content\",\"k\":3,\"num_candidates\":10,"
                    "\"query_vector_builder\":{\"text_embedding\":{\"model_id\":\"semsearch\",\"model_text\":\"which animal is napping in the sun\"}}}}]}}}", "0");
    CHECKF(fabs(got - want) < 1e-5, "knn query with query_vector_builder: %.7f want %.7f", got, want);
    top_score("{\"query\":{\"bool\":{\"must\":{\"semantic\":{\"field\":\"content\",\"query\":\"weather forecast\"}},"
              "\"filter\":{\"term\":{\"tag\":\"x\"}}}}}", "2");
    CHECK(req("POST", "/sem/_search", "{\"query\":{\"semantic\":{\"field\":\"tag\",\"query\":\"x\"}}}", NULL) == 400);
    CHECK(req("POST", "/sem/_search", "{\"query\":{\"semantic\":{\"field\":\"content\",\"query\":\"cats\"}},\"size\":2}", &o) == 200);
    CHECKF(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "total"), "value")->valuedouble == 2,
           "semantic query keeps k = size hits, as Elasticsearch's knn query");
    cJSON_Delete(o);
}

int main(void) {
    char tmpdir[] = "/tmp/ss-test-es-store-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    port = s.port;
    cJSON *o = NULL;

    CHECK(req("PUT", "/vec",
              "{\"mappings\":{\"properties\":{"
              "\"v\":{\"type\":\"dense_vector\",\"dims\":8,\"similarity\":\"cosine\",\"index_options\":{\"type\":\"hnsw\",\"m\":8,\"ef_construction\":50}},"
              "\"w\":{\"type\":\"dense_vector\",\"dims\":8,\"similarity\":\"cosine\",\"index_options\":{\"type\":\"flat\"}},"
              "\"tag\":{\"type\":\"keyword\"}}}}",
              NULL) == 200);
    size_t cap = (size_t)N * 400, len = 0;
    char *bulk = malloc(cap);
    REQUIRE(bulk != NULL);
    for (int i = 0; i < N; i++) {
        make_vec(i, vecs[i]);
        char v[400];
        vec_json(vecs[i], v, sizeof v);
        len += (size_t)snprintf(bulk + len, cap - len, "{\"index\":{\"_id\":\"%d\"}}\n{\"v\":%s,\"w\":%s,\"tag\":\"%s\"}\n", i,
                                v, v, i % 10 ? "b" : "a");
    }
    CHECK(req("POST", "/vec/_bulk?refresh=true", bulk, &o) == 200 && cJSON_IsFalse(cJSON_GetObjectItem(o, "errors")));
    cJSON_Delete(o);
    free(bulk);

    static char sig1[20000], sig2[20000], sig3[20000], sig4[20000];
    int ov = knn_round("v", 0, sig1, sizeof sig1);
    CHECKF(ov >= 95, "hnsw field: %d of 100 nearest agree with exact kNN", ov);
    ov = knn_round("w", 1, sig2, sizeof sig2);
    CHECKF(ov == 100, "flat field, filter tag=a (30 of 300 docs): %d of 100 equal the exact filtered top 10", ov);

    char p[800];
    struct stat sb;
    snprintf(p, sizeof p, "%s/es/vec/collection.db", data);
    CHECKF(stat(p, &sb) == 0, "the index is a collection: %s", p);
    int files = 0;
    for (int f = 1; f <= 8; f++) {
        snprintf(p, sizeof p, "%s/es/vec/field-%d.ssi.log", data, f);
        files += stat(p, &sb) == 0;
    }
    CHECKF(files == 2, "one index file per dense_vector field: %d", files);

    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    /* what an index creation killed before its first commit leaves: removed at start */
    snprintf(p, sizeof p, "%s/es/ghost", data);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/es/ghost/writer.lock", data);
    FILE *gf = fopen(p, "w");
    if (gf) fclose(gf);
    REQUIRE(server_start(&s, args) == 0);
    port = s.port;
    snprintf(p, sizeof p, "%s/es/ghost", data);
    CHECKF(stat(p, &sb) != 0 && req("GET", "/ghost", NULL, NULL) == 404, "an unfinished index creation is removed");
    knn_round("v", 0, sig3, sizeof sig3);
    knn_round("w", 1, sig4, sizeof sig4);
    CHECKF(!strcmp(sig1, sig3) && !strcmp(sig2, sig4), "after a restart the same hits and scores");
    CHECK(req("POST", "/vec/_count", NULL, &o) == 200 && cJSON_GetObjectItem(o, "count")->valuedouble == N);
    cJSON_Delete(o);
    script_checks();
    semantic_checks();
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");

    /* the old layout: migrated once, old file kept */
    char data2[600], es2[700];
    snprintf(data2, sizeof data2, "%s/data2", tmpdir);
    snprintf(es2, sizeof es2, "%s/es", data2);
    REQUIRE(mkdir(data2, 0755) == 0);
    old_layout(es2);
    const char *args2[] = {"--data", data2, "--model", SEMSEARCH_MODEL_DIR, NULL};
    for (int round = 0; round < 2; round++) {
        REQUIRE(server_start(&s, args2) == 0);
        port = s.port;
        CHECK(req("GET", "/old/_doc/a", NULL, &o) == 200);
        CHECKF(cJSON_GetObjectItem(o, "_version")->valuedouble == 3 && cJSON_GetObjectItem(o, "_seq_no")->valuedouble == 5,
               "round %d: migrated doc keeps _version 3 / _seq_no 5", round);
        cJSON_Delete(o);
        CHECK(req("GET", "/old", NULL, &o) == 200);
        const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "old"), "settings"), "index"), "uuid");
        CHECKF(u && !strcmp(cJSON_GetStringValue(u), "OldUuid1234567890abcde"), "uuid kept");
        cJSON_Delete(o);
        CHECK(req("POST", "/old/_search", "{\"query\":{\"match\":{\"title\":\"hello\"}}}", &o) == 200);
        const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), 0);
        CHECK(h && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")), "a"));
        cJSON_Delete(o);
        CHECK(req("POST", "/old/_search", "{\"knn\":{\"field\":\"v\",\"query_vector\":[0.1,1],\"k\":1,\"num_candidates\":2}}", &o) == 200);
        h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), 0);
        CHECK(h && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")), "b"));
        cJSON_Delete(o);
        CHECKF(req("PUT", "/old/_doc/c", "{\"title\":\"new\"}", &o) == (round ? 200 : 201) &&
                   cJSON_GetObjectItem(o, "_seq_no")->valuedouble == 7 + round,
               "round %d: _seq_no continues after the migrated ones", round);
        cJSON_Delete(o);
        if (round == 1) CHECK(req("DELETE", "/old/_doc/c", NULL, NULL) == 200);
        CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    }
    snprintf(p, sizeof p, "%s/old/es.db.migrated", es2);
    CHECKF(stat(p, &sb) == 0, "the old file is kept as %s", p);
    snprintf(p, sizeof p, "%s/old/es.db", es2);
    CHECK(stat(p, &sb) != 0);

    /* a folder under DATA/es that is no index: the server refuses to start, naming it */
    snprintf(p, sizeof p, "%s/es/junk", data2);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/es/junk/notes.txt", data2);
    FILE *jf = fopen(p, "w");
    if (jf) fputs("not an index", jf), fclose(jf);
    fprintf(stderr, "(a start that must fail follows)\n");
    CHECKF(server_start(&s, args2) != 0, "a foreign folder under DATA/es stops the start (never a silently missing index)");

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
