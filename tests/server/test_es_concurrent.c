/* test_es_concurrent.c — writers and searchers on one Elasticsearch index at
 * once: 2 threads index 150 documents each (single PUTs and _bulk), 2
 * threads run knn / match / _count searches meanwhile, 1 thread creates and
 * deletes other indices; afterwards every document is there with the right
 * vector, and the server exits cleanly. Under `make test` the server also
 * runs built with ThreadSanitizer (a race report fails the exit check). */
#include <pthread.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

static int PORT;
#define PER_WRITER 150

typedef struct worker {
    int id, ok, bad;
} worker;

static int call(const char *method, const char *path, const char *body, cJSON **out) {
    http_resp r = {0};
    const char *ct = strstr(path, "_bulk") ? "Content-Type: application/x-ndjson\r\n" : "Content-Type: application/json\r\n";
    if (http_do(PORT, method, path, body ? ct : NULL, body, &r) != 0) return -1;
    if (out) *out = r.body ? cJSON_Parse(r.body) : NULL;
    int st = r.status;
    http_resp_free(&r);
    return st;
}

static void *writer(void *p) {
    worker *w = p;
    char path[128], body[512];
    for (int i = 0; i < PER_WRITER; i++) {
        int n = w->id * 1000 + i;
        if (i % 2 == 0) {
            snprintf(path, sizeof path, "/cc/_doc/d%d", n);
            snprintf(body, sizeof body, "{\"t\":\"word%d common\",\"n\":%d,\"v\":[%d,1,0]}", i % 7, n, n);
        } else {
            snprintf(path, sizeof path, "/_bulk");
            snprintf(body, sizeof body, "{\"index\":{\"_index\":\"cc\",\"_id\":\"d%d\"}}\n{\"t\":\"word%d common\",\"n\":%d,\"v\":[%d,1,0]}\n",
                     n, i % 7, n, n);
        }
        int st = call(i % 2 == 0 ? "PUT" : "POST", path, body, NULL);
        if (st == 200 || st == 201) w->ok++;
        else w->bad++;
    }
    return NULL;
}

static void *searcher(void *p) {
    worker *w = p;
    const char *bodies[] = {"{\"knn\":{\"field\":\"v\",\"query_vector\":[5,1,0],\"k\":3,\"num_candidates\":10}}",
                            "{\"query\":{\"match\":{\"t\":\"common word3\"}}}",
                            "{\"query\":{\"bool\":{\"filter\":{\"range\":{\"n\":{\"gte\":1000}}}}}}"};
    for (int i = 0; i < 120; i++) {
        cJSON *o = NULL;
        int st = call("POST", i % 4 == 3 ? "/cc/_count" : "/cc/_search", i % 4 == 3 ? NULL : bodies[i % 3], &o);
        if (st == 200 && o) w->ok++;
        else w->bad++;
        cJSON_Delete(o);
    }
    return NULL;
}

static void *admin(void *p) {
    worker *w = p;
    for (int i = 0; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof path, "/other%d", i % 3);
        int a = call("PUT", path, "{\"mappings\":{\"properties\":{\"x\":{\"type\":\"keyword\"}}}}", NULL);
        int b = call("DELETE", path, NULL, NULL);
        if (a == 200 && b == 200) w->ok++;
        else w->bad++;
        http_resp r = {0};
        if (http_do(PORT, "GET", "/_cat/indices", NULL, NULL, &r) == 0 && r.status == 200) w->ok++;
        else w->bad++;
        http_resp_free(&r);
    }
    return NULL;
}

int main(void) {
    char tmpdir[] = "/tmp/ss-test-es-cc-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--http-threads", "6", NULL};
    REQUIRE(server_start(&s, args) == 0);
    PORT = s.port;
    REQUIRE(call("PUT", "/cc", "{\"mappings\":{\"properties\":{\"t\":{\"type\":\"text\"},\"n\":{\"type\":\"long\"},"
                                "\"v\":{\"type\":\"dense_vector\",\"dims\":3,\"similarity\":\"l2_norm\"}}}}", NULL) == 200);
    pthread_t th[5];
    worker w[5] = {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}, {5, 0, 0}};
    pthread_create(&th[0], NULL, writer, &w[0]);
    pthread_create(&th[1], NULL, writer, &w[1]);
    pthread_create(&th[2], NULL, searcher, &w[2]);
    pthread_create(&th[3], NULL, searcher, &w[3]);
    pthread_create(&th[4], NULL, admin, &w[4]);
    for (int i = 0; i < 5; i++) pthread_join(th[i], NULL);
    CHECKF(w[0].ok == PER_WRITER && w[1].ok == PER_WRITER, "writes: %d + %d ok of %d each", w[0].ok, w[1].ok, PER_WRITER);
    CHECKF(w[2].bad == 0 && w[3].bad == 0, "searches during writes: %d + %d failed", w[2].bad, w[3].bad);
    CHECKF(w[4].bad == 0, "create / delete / cat of other indices during writes: %d failed", w[4].bad);
    cJSON *o = NULL;
    CHECK(call("POST", "/cc/_count", NULL, &o) == 200);
    CHECKF(cJSON_GetObjectItem(o, "count") && cJSON_GetObjectItem(o, "count")->valueint == 2 * PER_WRITER, "count %d",
           cJSON_GetObjectItem(o, "count") ? cJSON_GetObjectItem(o, "count")->valueint : -1);
    cJSON_Delete(o);
    int right = 0;
    for (int id = 1; id <= 2; id++)
        for (int i = 0; i < PER_WRITER; i++) {
            char path[64];
            int n = id * 1000 + i;
            snprintf(path, sizeof path, "/cc/_doc/d%d", n);
            o = NULL;
            if (call("GET", path, NULL, &o) == 200) {
                cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "_source"), "v");
                right += cJSON_GetArrayItem(v, 0) && cJSON_GetArrayItem(v, 0)->valueint == n;
            }
            cJSON_Delete(o);
        }
    CHECKF(right == 2 * PER_WRITER, "%d of %d documents read back with their vector", right, 2 * PER_WRITER);
    /* exact knn after the writes: nearest to [1005,1,0] under l2 is d1005 */
    CHECK(call("POST", "/cc/_search", "{\"knn\":{\"field\":\"v\",\"query_vector\":[1005,1,0],\"k\":1,\"num_candidates\":5}}", &o) == 200);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hits"), "hits"), 0);
    const char *hid = h ? cJSON_GetStringValue(cJSON_GetObjectItem(h, "_id")) : NULL;
    CHECK(hid && !strcmp(hid, "d1005") && cJSON_IsNumber(cJSON_GetObjectItem(h, "_score")) &&
          cJSON_GetObjectItem(h, "_score")->valuedouble == 1.0);
    cJSON_Delete(o);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
