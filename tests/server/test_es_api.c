/* test_es_api.c — the Elasticsearch index / document / search APIs over raw
 * HTTP: response shapes and status codes, the four dense_vector score
 * formulas on hand-computed vectors, mapping validation, _bulk error rules,
 * BM25 settings, and persistence across a server restart. */
#include <math.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

static int port;

/* method path body -> status; *out the parsed JSON body (caller frees). */
static int req(const char *method, const char *path, const char *body, cJSON **out) {
    http_resp r = {0};
    const char *ct = strstr(path, "_bulk") ? "Content-Type: application/x-ndjson\r\n" : "Content-Type: application/json\r\n";
    if (http_do(port, method, path, body ? ct : NULL, body, &r) != 0) return -1;
    if (out) *out = r.body ? cJSON_Parse(r.body) : NULL;
    int st = r.status;
    http_resp_free(&r);
    return st;
}

static const char *str_at(const cJSON *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t && v; t = strtok_r(NULL, "/", &save))
        v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(t)) : cJSON_GetObjectItemCaseSensitive(v, t);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_at(const cJSON *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t && v; t = strtok_r(NULL, "/", &save))
        v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(t)) : cJSON_GetObjectItemCaseSensitive(v, t);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void score_of(const char *sim, const char *docv, const char *qv, double want) {
    char body[512], path[64];
    cJSON *o = NULL;
    snprintf(body, sizeof body, "{\"mappings\":{\"properties\":{\"v\":{\"type\":\"dense_vector\",\"dims\":2,\"similarity\":\"%s\"}}}}", sim);
    req("DELETE", "/sim", NULL, NULL);
    CHECKF(req("PUT", "/sim", body, NULL) == 200, "create index with similarity %s", sim);
    snprintf(body, sizeof body, "{\"v\":%s}", docv);
    CHECKF(req("PUT", "/sim/_doc/1", body, NULL) == 201, "index %s under %s", docv, sim);
    snprintf(body, sizeof body, "{\"knn\":{\"field\":\"v\",\"query_vector\":%s,\"k\":1,\"num_candidates\":1}}", qv);
    snprintf(path, sizeof path, "/sim/_search");
    CHECK(req("POST", path, body, &o) == 200);
    double got = num_at(o, "hits/hits/0/_score");
    CHECKF(fabs(got - want) < 1e-6, "%s score of %s for %s: %.9f, want %.9f", sim, docv, qv, got, want);
    cJSON_Delete(o);
}

int main(void) {
    char tmpdir[] = "/tmp/ss-test-es-api-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    port = s.port;
    cJSON *o = NULL;

    /* indices */
    const char *mapping = "{\"settings\":{\"index\":{\"similarity\":{\"default\":{\"type\":\"BM25\",\"k1\":0.9,\"b\":0.4}}}},"
                          "\"mappings\":{\"properties\":{\"title\":{\"type\":\"text\",\"analyzer\":\"english\"},"
                          "\"tag\":{\"type\":\"keyword\"},\"n\":{\"type\":\"long\"},\"ok\":{\"type\":\"boolean\"},"
                          "\"d\":{\"type\":\"date\"},\"v\":{\"type\":\"dense_vector\",\"dims\":3,\"similarity\":\"l2_norm\","
                          "\"index_options\":{\"type\":\"int8_hnsw\",\"m\":8,\"ef_construction\":64}}}}}";
    CHECK(req("PUT", "/books", mapping, &o) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "acknowledged")) && str_at(o, "index") && !strcmp(str_at(o, "index"), "books"));
    cJSON_Delete(o);
    CHECK(req("PUT", "/books", "{}", &o) == 400);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "resource_already_exists_exception"));
    CHECK(num_at(o, "status") == 400);
    cJSON_Delete(o);
    CHECK(req("HEAD", "/books", NULL, NULL) == 200);
    CHECK(req("HEAD", "/nope", NULL, NULL) == 404);
    CHECK(req("GET", "/nope", NULL, &o) == 404);
    CHECK(str_at(o, "error/root_cause/0/type") && !strcmp(str_at(o, "error/root_cause/0/type"), "index_not_found_exception"));
    CHECK(str_at(o, "error/resource.id") && !strcmp(str_at(o, "error/resource.id"), "nope"));
    CHECK(str_at(o, "error/resource.type") && !strcmp(str_at(o, "error/resource.type"), "index_or_alias"));
    cJSON_Delete(o);
    CHECK(req("PUT", "/Bad", "{}", &o) == 400);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "invalid_index_name_exception"));
    cJSON_Delete(o);
    CHECK(req("PUT", "/m1", "{\"mappings\":{\"properties\":{\"x\":{\"type\":\"blob\"}}}}", &o) == 400);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "mapper_parsing_exception"));
    CHECK_CONTAINS(str_at(o, "error/reason"), "No handler for type [blob] declared on field [x]");
    cJSON_Delete(o);
    CHECK(req("PUT", "/m2", "{\"mappings\":{\"properties\":{\"v\":{\"type\":\"dense_vector\",\"dims\":3,\"similarity\":\"hamming2\"}}}}", &o) == 400);
    CHECK_CONTAINS(str_at(o, "error/reason"), "hamming2");
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_mapping", NULL, &o) == 200);
    CHECK(str_at(o, "books/mappings/properties/v/index_options/type") &&
          !strcmp(str_at(o, "books/mappings/properties/v/index_options/type"), "int8_hnsw"));
    cJSON_Delete(o);

    /* documents */
    CHECK(req("PUT", "/books/_doc/1", "{\"title\":\"Running dogs\",\"tag\":\"a\",\"n\":5,\"ok\":true,\"d\":\"2024-01-02\",\"v\":[0,0,0]}", &o) == 201);
    CHECK(str_at(o, "result") && !strcmp(str_at(o, "result"), "created") && num_at(o, "_version") == 1 &&
          num_at(o, "_seq_no") == 0 && num_at(o, "_primary_term") == 1 && num_at(o, "_shards/total") == 2);
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/1", "{\"title\":\"The running dog runs\",\"tag\":\"b\",\"n\":7,\"v\":[1,2,2]}", &o) == 200);
    CHECK(str_at(o, "result") && !strcmp(str_at(o, "result"), "updated") && num_at(o, "_version") == 2);
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/1?if_seq_no=0&if_primary_term=1", "{\"title\":\"x\"}", &o) == 409); /* seq_no is 1 now */
    CHECK_CONTAINS(str_at(o, "error/reason"), "required seqNo [0], primary term [1]. current document has seqNo [1]");
    cJSON_Delete(o);
    CHECK(req("POST", "/_bulk", "{\"delete\":{\"_index\":\"books\",\"_id\":\"1\",\"if_seq_no\":0,\"if_primary_term\":1}}\n", &o) == 200);
    CHECK(num_at(o, "items/0/delete/status") == 409);
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_create/1", "{\"title\":\"x\"}", &o) == 409);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "version_conflict_engine_exception"));
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/2", "{\"title\":\"Cats sleeping\",\"tag\":\"a\",\"n\":\"abc\"}", &o) == 400);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "document_parsing_exception"));
    CHECK_CONTAINS(str_at(o, "error/reason"), "failed to parse field [n] of type [long]");
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/2", "{\"title\":\"x\",\"v\":[1,2]}", &o) == 400);
    CHECK_CONTAINS(str_at(o, "error/reason"), "different number of dimensions [2] than defined in the mapping [3]");
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/2?refresh=true", "{\"title\":\"Cats sleeping\",\"tag\":\"a\",\"n\":3,\"extra\":\"dyn\"}", NULL) == 201);
    CHECK(req("PUT", "/books/_doc/3?refresh=maybe", "{}", &o) == 400);
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_mapping", NULL, &o) == 200); /* dynamic: text + keyword multi-field */
    CHECK(str_at(o, "books/mappings/properties/extra/type") && !strcmp(str_at(o, "books/mappings/properties/extra/type"), "text"));
    CHECK(str_at(o, "books/mappings/properties/extra/fields/keyword/type") != NULL);
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/2", NULL, &o) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "found")) && str_at(o, "_source/extra"));
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/9", NULL, &o) == 404);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "found")));
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_update/2", "{\"doc\":{\"n\":4}}", &o) == 200);
    CHECK(str_at(o, "result") && !strcmp(str_at(o, "result"), "updated") && num_at(o, "_version") == 2);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_update/9", "{\"doc\":{\"n\":4}}", &o) == 404);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "document_missing_exception"));
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_update/9", "{\"doc\":{\"n\":4},\"upsert\":{\"n\":1,\"title\":\"upserted\"}}", &o) == 201);
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/9", NULL, &o) == 200);
    CHECK(num_at(o, "_source/n") == 1);
    cJSON_Delete(o);
    CHECK(req("DELETE", "/books/_doc/9", NULL, &o) == 200);
    CHECK(str_at(o, "result") && !strcmp(str_at(o, "result"), "deleted") && num_at(o, "_version") == 2);
    cJSON_Delete(o);
    CHECK(req("DELETE", "/books/_doc/9", NULL, &o) == 404);
    CHECK(str_at(o, "result") && !strcmp(str_at(o, "result"), "not_found"));
    cJSON_Delete(o);

    /* BM25 with k1 0.9 b 0.4 and the english analyzer: "runs" -> "run" matches doc 1 only.
     * N = 2 docs with title; doc 1 tokens [run, dog, run] (the stop word dropped), doc 2 [cat, sleep];
     * avgdl = 2.5; idf(run) = ln(1 + (2 - 1 + 0.5)/(1 + 0.5)) = ln 2; f = 2, dl = 3. */
    CHECK(req("POST", "/books/_search", "{\"query\":{\"match\":{\"title\":\"runs\"}}}", &o) == 200);
    double want = log(2.0) * 2 / (2 + 0.9 * (1 - 0.4 + 0.4 * 3 / 2.5));
    CHECKF(fabs(num_at(o, "hits/hits/0/_score") - want) < 1e-9, "BM25 k1 0.9 b 0.4: %.9f want %.9f",
           num_at(o, "hits/hits/0/_score"), want);
    CHECK(num_at(o, "hits/total/value") == 1 && str_at(o, "hits/total/relation") && num_at(o, "_shards/total") == 1);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"query\":{\"bogus\":{}}}", &o) == 400);
    CHECK(str_at(o, "error/type") && !strcmp(str_at(o, "error/type"), "parsing_exception"));
    CHECK_CONTAINS(str_at(o, "error/reason"), "unknown query [bogus]");
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"aggs\":{}}", &o) == 400);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"query\":{\"range\":{\"d\":{\"gte\":\"2024-01-01\"}}}}", &o) == 200);
    CHECK(num_at(o, "hits/total/value") == 0); /* doc 1 was replaced without d */
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"sort\":[{\"n\":\"desc\"}],\"_source\":[\"n\"]}", &o) == 200);
    CHECK(num_at(o, "hits/hits/0/sort/0") == 7 && num_at(o, "hits/hits/1/sort/0") == 4 && !str_at(o, "hits/hits/0/_source/title"));
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"sort\":[\"title\"]}", &o) == 400); /* text: no fielddata */
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"knn\":{\"field\":\"v\",\"query_vector\":[1,2],\"k\":1,\"num_candidates\":5}}", &o) == 400);
    CHECK_CONTAINS(str_at(o, "error/reason"), "different number of dimensions");
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"knn\":{\"field\":\"v\",\"query_vector\":[1,2,2],\"k\":5,\"num_candidates\":2}}", &o) == 400);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_count", "{\"query\":{\"term\":{\"tag\":\"a\"}}}", &o) == 200);
    CHECK(num_at(o, "count") == 1);
    cJSON_Delete(o);

    /* the four similarities, by hand */
    score_of("cosine", "[1,1]", "[1,0]", (1 + 1 / sqrt(2.0)) / 2);
    score_of("dot_product", "[0.6,0.8]", "[1,0]", (1 + 0.6) / 2);
    score_of("l2_norm", "[1,2]", "[0,0]", 1.0 / (1 + 5));
    score_of("max_inner_product", "[2,3]", "[1,1]", 5 + 1);
    score_of("max_inner_product", "[-1,-1]", "[1,1]", 1.0 / (1 + 2));
    CHECK(req("PUT", "/sim/_doc/2", "{\"v\":[3,4]}", &o) == 201); /* max_inner_product takes any length */
    cJSON_Delete(o);
    req("DELETE", "/sim", NULL, NULL);
    req("PUT", "/sim", "{\"mappings\":{\"properties\":{\"v\":{\"type\":\"dense_vector\",\"dims\":2,\"similarity\":\"dot_product\"}}}}", NULL);
    CHECK(req("PUT", "/sim/_doc/2", "{\"v\":[3,4]}", &o) == 400); /* dot_product needs unit length */
    CHECK_CONTAINS(str_at(o, "error/reason"), "unit-length");
    cJSON_Delete(o);

    /* _bulk */
    CHECK(req("POST", "/_bulk", "{\"index\":{\"_index\":\"books\",\"_id\":\"b1\"}}\n{\"title\":\"bulk one\"}\n"
                                "{\"create\":{\"_index\":\"books\",\"_id\":\"1\"}}\n{\"title\":\"dup\"}\n"
                                "{\"update\":{\"_index\":\"books\",\"_id\":\"zz\"}}\n{\"doc\":{\"a\":1}}\n"
                                "{\"delete\":{\"_index\":\"books\",\"_id\":\"b1\"}}\n", &o) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "errors")));
    CHECK(num_at(o, "items/0/index/status") == 201 && num_at(o, "items/1/create/status") == 409 &&
          num_at(o, "items/2/update/status") == 404 && num_at(o, "items/3/delete/status") == 200);
    CHECK(str_at(o, "items/1/create/error/type") && !strcmp(str_at(o, "items/1/create/error/type"), "version_conflict_engine_exception"));
    cJSON_Delete(o);
    CHECK(req("POST", "/_bulk", "{\"index\":{\"_index\":\"books\"}}\n{\"title\":\"no newline\"}", &o) == 400);
    cJSON_Delete(o);
    CHECK(req("POST", "/_bulk", "{\"frob\":{\"_index\":\"books\"}}\n{}\n", &o) == 400);
    CHECK_CONTAINS(str_at(o, "error/reason"), "[frob]");
    cJSON_Delete(o);
    CHECK(req("POST", "/_bulk", "{\"index\":{}}\n{}\n", &o) == 400); /* no index */
    cJSON_Delete(o);

    /* many deletes: every other of 400 documents, then each one checked */
    {
        size_t cap = 400 * 160, len = 0;
        char *nd = malloc(cap);
        for (int i = 0; i < 400; i++)
            len += (size_t)snprintf(nd + len, cap - len, "{\"index\":{\"_index\":\"many\",\"_id\":\"k%d\"}}\n{\"n\":%d}\n", i, i);
        CHECK(req("POST", "/_bulk", nd, &o) == 200 && cJSON_IsFalse(cJSON_GetObjectItem(o, "errors")));
        cJSON_Delete(o);
        len = 0;
        for (int i = 0; i < 400; i += 2) len += (size_t)snprintf(nd + len, cap - len, "{\"delete\":{\"_index\":\"many\",\"_id\":\"k%d\"}}\n", i);
        CHECK(req("POST", "/_bulk", nd, &o) == 200 && cJSON_IsFalse(cJSON_GetObjectItem(o, "errors")));
        cJSON_Delete(o);
        free(nd);
        int right = 0;
        for (int i = 0; i < 400; i++) {
            char p[64];
            snprintf(p, sizeof p, "/many/_doc/k%d", i);
            right += req("GET", p, NULL, NULL) == (i % 2 ? 200 : 404);
        }
        CHECKF(right == 400, "after deleting every other of 400: %d of 400 lookups right", right);
        CHECK(req("POST", "/many/_count", NULL, &o) == 200 && num_at(o, "count") == 200);
        cJSON_Delete(o);
        CHECK(req("DELETE", "/many", NULL, NULL) == 200);
    }

    /* _cat, _mget, persistence across a restart */
    http_resp hr = {0};
    CHECK(http_do(port, "GET", "/_cat/indices", NULL, NULL, &hr) == 0 && hr.status == 200 && hr.body &&
          strstr(hr.body, "yellow open books "));
    http_resp_free(&hr);
    CHECK(req("POST", "/_mget", "{\"docs\":[{\"_index\":\"books\",\"_id\":\"1\"},{\"_index\":\"nope\",\"_id\":\"1\"}]}", &o) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "docs"), 0), "found")) &&
          str_at(o, "docs/1/error/type"));
    cJSON_Delete(o);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    REQUIRE(server_start(&s, args) == 0);
    port = s.port;
    CHECK(req("GET", "/books/_doc/1", NULL, &o) == 200);
    CHECK(num_at(o, "_version") == 2 && num_at(o, "_source/n") == 7);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_count", NULL, &o) == 200);
    CHECK(num_at(o, "count") == 2);
    cJSON_Delete(o);
    CHECK(req("POST", "/books/_search", "{\"query\":{\"match\":{\"title\":\"runs\"}}}", &o) == 200);
    CHECKF(fabs(num_at(o, "hits/hits/0/_score") - want) < 1e-9, "BM25 settings survive a restart");
    cJSON_Delete(o);
    CHECK(req("PUT", "/books/_doc/4", "{\"title\":\"t\",\"v\":[1,1]}", &o) == 400); /* dims survive too */
    cJSON_Delete(o);
    CHECK(req("DELETE", "/books", NULL, &o) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "acknowledged")));
    cJSON_Delete(o);
    CHECK(req("DELETE", "/books", NULL, NULL) == 404);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
