/* test_server_local.c — the in-process request path (ss_server_request over
 * a server started with http.local = 1: no socket) that fuzz/fuzz_server.c
 * drives, and regression tests for what that fuzzer found (docs/robustness.md):
 * the same checks, routes and handlers answer as over HTTP, and text that is
 * not UTF-8 in the path, a query argument or a body is refused with a 400 in
 * valid-UTF-8 JSON instead of being stored or echoed raw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "server/server.h"
#include "store/reader.h"
#include "test.h"

#define TINY_MODEL SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize"

static ss_server *srv;

/* Run one request; returns the status, *out the parsed body (caller frees; NULL if not JSON). */
static int req(const char *method, const char *url, const char *const *hdrs, int nh, const char *body, size_t len,
               cJSON **out, char *ctype, size_t ccap) {
    ss_http_resp r;
    if (ss_server_request(srv, method, url, hdrs, nh, body ? body : "", body ? len : 0, &r) != 0) return -1;
    CHECKF(r.content_type != NULL, "%s %s: no content type", method, url);
    if (ctype) snprintf(ctype, ccap, "%s", r.content_type ? r.content_type : "");
    /* what goes on the wire must be valid UTF-8, whatever the request held */
    CHECKF(!r.len || ss__utf8_check(r.body, r.len) == 0, "%s %s: response is not valid UTF-8: %s", method, url, r.body);
    if (out) *out = r.len ? cJSON_ParseWithLength(r.body, r.len) : NULL;
    int st = r.status;
    ss_http_resp_free(&r);
    return st;
}

static const char *str_at(const cJSON *o, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *const JSON[] = {"Content-Type", "application/json"};
static const char *const NDJSON[] = {"Content-Type", "application/x-ndjson"};

static void test_dispatch(void) {
    cJSON *o = NULL;
    char ct[128];
    CHECK(req("GET", "/", NULL, 0, NULL, 0, &o, ct, sizeof ct) == 200);
    CHECK(str_at(o, "version", "number") != NULL);
    CHECK(!strcmp(ct, "application/json"));
    cJSON_Delete(o);
    /* vendor media type in, the same one out */
    const char *const v8[] = {"Accept", "application/vnd.elasticsearch+json; compatible-with=8"};
    CHECK(req("GET", "/_cluster/health", v8, 1, NULL, 0, NULL, ct, sizeof ct) == 200);
    CHECK(!strcmp(ct, "application/vnd.elasticsearch+json;compatible-with=8"));
    const char *const v6[] = {"accept", "application/vnd.elasticsearch+json;compatible-with=6"};
    CHECK(req("GET", "/", v6, 1, NULL, 0, &o, NULL, 0) == 400);
    CHECK(str_at(o, "error", "type") && !strcmp(str_at(o, "error", "type"), "media_type_header_exception"));
    cJSON_Delete(o);
    CHECK(req("PATCH", "/", NULL, 0, NULL, 0, NULL, NULL, 0) == 405);
    /* path %-decoding and query arguments, as MHD hands them to the handlers */
    CHECK(req("PUT", "/b%6Foks", JSON, 1, "{}", 2, NULL, NULL, 0) == 200);
    const char *doc = "{\"title\":\"running dogs\"}";
    CHECK(req("PUT", "/books/_doc/1?refresh=true", JSON, 1, doc, strlen(doc), NULL, NULL, 0) == 201);
    CHECK(req("GET", "/books/_doc/1?_source_includes=title&pretty", NULL, 0, NULL, 0, &o, NULL, 0) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "found")));
    cJSON_Delete(o);
    const char *bulk = "{\"index\":{\"_index\":\"books\",\"_id\":\"2\"}}\n{\"title\":\"cats\"}\n";
    CHECK(req("POST", "/_bulk", NDJSON, 1, bulk, strlen(bulk), &o, NULL, 0) == 200);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "errors")));
    cJSON_Delete(o);
    /* a deferred handler (the embedding batcher) is waited for */
    const char *emb = "{\"inputs\":[\"a dog\"]}";
    CHECK(req("POST", "/embed", JSON, 1, emb, strlen(emb), &o, NULL, 0) == 200);
    CHECK(cJSON_GetArraySize(cJSON_GetArrayItem(o, 0)) == 32);
    cJSON_Delete(o);
}

/* Ids with a '/' (a client sends "k%2F1"): routed on the path as sent, the
 * {id} decoded afterwards; %00 would cut a name short and is refused. */
static void test_escaped_ids(void) {
    cJSON *o = NULL;
    const char *doc = "{\"title\":\"slash\"}";
    CHECK(req("PUT", "/books/_doc/k%2F1?refresh=true", JSON, 1, doc, strlen(doc), &o, NULL, 0) == 201);
    CHECK(str_at(o, "_id", NULL) && !strcmp(str_at(o, "_id", NULL), "k/1"));
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/k%2f1", NULL, 0, NULL, 0, &o, NULL, 0) == 200);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "found")));
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/k/1", NULL, 0, NULL, 0, NULL, NULL, 0) == 400); /* no such route */
    CHECK(req("GET", "/books/_doc/a%20b", NULL, 0, NULL, 0, &o, NULL, 0) == 404);
    CHECK(str_at(o, "_id", NULL) && !strcmp(str_at(o, "_id", NULL), "a b"));
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/k%00x", NULL, 0, NULL, 0, &o, NULL, 0) == 400);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "contains a NUL byte");
    cJSON_Delete(o);
    CHECK(req("DELETE", "/books/_doc/k%2F1", NULL, 0, NULL, 0, NULL, NULL, 0) == 200);
}

/* fuzz_server finding server-1: bytes that are not UTF-8 (raw, or %-encoded)
 * in the path were echoed into the JSON error (401, "no handler found"), or
 * reached the handlers (an index named "\xff", a document holding it). */
static void test_not_utf8(void) {
    cJSON *o = NULL;
    CHECK(req("PUT", "/a\xf1x", JSON, 1, "{}", 2, &o, NULL, 0) == 400);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "is not valid UTF-8");
    cJSON_Delete(o);
    CHECK(req("GET", "/%FF/_doc/1", NULL, 0, NULL, 0, &o, NULL, 0) == 400);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "\xEF\xBF\xBD"); /* echoed as U+FFFD */
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_search?q=%C3", NULL, 0, NULL, 0, &o, NULL, 0) == 400);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "query parameter [q]");
    cJSON_Delete(o);
    const char *bad = "{\"title\":\"caf\xe9\"}";
    CHECK(req("PUT", "/books/_doc/3", JSON, 1, bad, strlen(bad), &o, NULL, 0) == 400);
    CHECK(str_at(o, "error", "type") && !strcmp(str_at(o, "error", "type"), "parsing_exception"));
    CHECK_CONTAINS(str_at(o, "error", "reason"), "byte offset 13");
    cJSON_Delete(o);
    const char *bulk = "{\"index\":{\"_index\":\"books\",\"_id\":\"4\"}}\n{\"title\":\"\xc0\xaf\"}\n";
    CHECK(req("POST", "/_bulk", NDJSON, 1, bulk, strlen(bulk), &o, NULL, 0) == 400);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "[2:");
    cJSON_Delete(o);
    CHECK(req("GET", "/books/_doc/3", NULL, 0, NULL, 0, &o, NULL, 0) == 404); /* nothing was stored */
    cJSON_Delete(o);
}

/* fuzz_server finding server-4 (after the move onto collections): a
 * document field named "" (or only dots, or a path past 511 bytes) reached
 * dynamic mapping, whose store refused the name: a 500. Now a 400, and
 * nothing is stored or mapped. */
static void test_bad_field_names(void) {
    cJSON *o = NULL;
    const char *docs[] = {"{\"\":1}", "{\"...\":\"x\"}", "{\"a\":{\"\":\"x\"}}"};
    for (int i = 0; i < 3; i++) {
        CHECK(req("PUT", "/names/_doc/1", JSON, 1, docs[i], strlen(docs[i]), &o, NULL, 0) == 400);
        const char *type = o ? str_at(o, "error", "type") : NULL;
        CHECK(type && !strcmp(type, "document_parsing_exception"));
        cJSON_Delete(o), o = NULL;
    }
    char big[700];
    snprintf(big, sizeof big, "{\"%0600d\":1}", 0);
    CHECK(req("PUT", "/names/_doc/1", JSON, 1, big, strlen(big), &o, NULL, 0) == 400);
    cJSON_Delete(o), o = NULL;
    CHECK(req("GET", "/names/_doc/1", NULL, 0, NULL, 0, NULL, NULL, 0) == 404);
    const char *ok = "{\"a\":{\"b\":\"x\"}}";
    CHECK(req("PUT", "/names/_doc/1", JSON, 1, ok, strlen(ok), NULL, NULL, 0) == 201);
}

/* fuzz_server finding server-3: the embedding APIs read their bodies
 * without the UTF-8 check (their texts get a 422 tokenizer error) and echo
 * some strings — OpenAI's "model", a TEI prompt name — as they came. */
static void test_echo_not_utf8(void) {
    cJSON *o = NULL;
    const char *oa = "{\"input\":\"x\",\"model\":\"m\xff\"}";
    CHECK(req("POST", "/v1/embeddings", JSON, 1, oa, strlen(oa), &o, NULL, 0) == 200);
    CHECK(str_at(o, "model", NULL) && !strcmp(str_at(o, "model", NULL), "m\xEF\xBF\xBD"));
    cJSON_Delete(o);
    const char *tei = "{\"inputs\":\"x\",\"prompt_name\":\"q\xc3\"}";
    int st = req("POST", "/embed", JSON, 1, tei, strlen(tei), &o, NULL, 0);
    CHECKF(st >= 400 && st < 500, "status %d", st);
    CHECK_CONTAINS(str_at(o, "error", NULL), "q\xEF\xBF\xBD");
    cJSON_Delete(o);
    const char *bad_text = "{\"inputs\":\"bad \xff utf8\"}";
    CHECK(req("POST", "/embed", JSON, 1, bad_text, strlen(bad_text), &o, NULL, 0) == 422);
    CHECK(str_at(o, "error_type", NULL) && !strcmp(str_at(o, "error_type", NULL), "tokenizer"));
    cJSON_Delete(o);
}

/* The same with API keys on: the 401 echoes the path. */
static void test_auth_path(const char *keys, const char *data) {
    ss_server_options so = {0};
    so.http.local = 1;
    so.http.log_level = SS_LOG_ERROR;
    so.data_dir = data;
    so.api_keys_file = keys;
    ss_error err;
    ss_model_options mo = {.n_threads = 1};
    ss_model *m = ss_model_load(TINY_MODEL, &mo, &err);
    REQUIRE(m);
    ss_server *keep = srv;
    srv = ss_server_start(m, &so, &err);
    REQUIRE(srv);
    cJSON *o = NULL;
    CHECK(req("GET", "/", NULL, 0, NULL, 0, NULL, NULL, 0) == 401);
    const char *const good[] = {"authorization", "ApiKey k1"};
    CHECK(req("GET", "/", good, 1, NULL, 0, NULL, NULL, 0) == 200);
    CHECK(req("PUT", "/a/Authorization: ApiKey fuzz\xf1key", NULL, 0, NULL, 0, &o, NULL, 0) == 401);
    CHECK_CONTAINS(str_at(o, "error", "reason"), "fuzz\xEF\xBF\xBDkey");
    cJSON_Delete(o);
    ss_server_stop(srv, 5);
    ss_model_free(m);
    srv = keep;
}

int main(void) {
    char tmp[] = "/tmp/ss-test-server-local-XXXXXX";
    REQUIRE(mkdtemp(tmp) != NULL);
    char data[512], data2[512], keys[512];
    snprintf(data, sizeof data, "%s/data", tmp);
    snprintf(data2, sizeof data2, "%s/data2", tmp);
    snprintf(keys, sizeof keys, "%s/keys", tmp);
    FILE *f = fopen(keys, "w");
    REQUIRE(f);
    fputs("k1\n", f);
    fclose(f);
    ss_model_options mo = {.n_threads = 1};
    ss_error err;
    ss_model *m = ss_model_load(TINY_MODEL, &mo, &err);
    REQUIRE(m);
    ss_server_options so = {0};
    so.http.local = 1;
    so.http.log_level = SS_LOG_ERROR;
    so.batch.max_wait_us = -1;
    so.data_dir = data;
    srv = ss_server_start(m, &so, &err);
    REQUIRE(srv);
    test_dispatch();
    test_not_utf8();
    test_escaped_ids();
    test_echo_not_utf8();
    test_bad_field_names();
    test_auth_path(keys, data2);
    ss_server_stop(srv, 5);
    ss_model_free(m);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
