/* test_server_concurrent.c — many clients at once on every kind of route
 * (embedding requests that share encoder batches, /metrics, GET /, errors),
 * then SIGTERM; under `make test` this also runs with the server built with
 * ThreadSanitizer (a race report makes the server exit non-zero and fails
 * the test). Every answer must be right: 200s with vectors identical to the
 * same text's answer alone. */
#include <pthread.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

static int PORT;
static const char *TEXTS[] = {"What is AI?", "A man is playing a guitar.", "Der Hund spielt im Garten.",
                              "Semantic search finds meaning, not just words."};
#define N_TEXTS 4
static cJSON *ALONE[N_TEXTS]; /* each text's vector, asked for alone */

typedef struct worker {
    int id, ok, wrong;
} worker;

static cJSON *embed(const char *text, int openai, int *status) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, openai ? "input" : "inputs", text);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    http_resp r;
    int rc = http_do(PORT, "POST", openai ? "/v1/embeddings" : "/embed", "Content-Type: application/json\r\n", body, &r);
    free(body);
    *status = rc == 0 ? r.status : -1;
    if (rc != 0) return NULL;
    cJSON *j = cJSON_ParseWithLength(r.body, r.len);
    http_resp_free(&r);
    if (!j) return NULL;
    cJSON *v = openai ? cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "embedding")
                      : cJSON_GetArrayItem(j, 0);
    cJSON *copy = cJSON_Duplicate(v, 1);
    cJSON_Delete(j);
    return copy;
}

/* Batched answers may differ from the one alone by float rounding (~1e-7). */
static int same_vector(const cJSON *a, const cJSON *b) {
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n != cJSON_GetArraySize(b) || n == 0) return 0;
    for (int i = 0; i < n; i++)
        if (fabs(cJSON_GetArrayItem(a, i)->valuedouble - cJSON_GetArrayItem(b, i)->valuedouble) > 1e-6) return 0;
    return 1;
}

static void *work(void *p) {
    worker *w = p;
    for (int k = 0; k < 6; k++) {
        int kind = (w->id + k) % 5, st = 0;
        if (kind <= 2) { /* embedding, TEI or OpenAI */
            int t = (w->id * 7 + k) % N_TEXTS;
            cJSON *v = embed(TEXTS[t], kind == 2, &st);
            if (st == 200 && v && same_vector(v, ALONE[t])) w->ok++;
            else w->wrong++;
            cJSON_Delete(v);
        } else {
            http_resp r;
            const char *path = kind == 3 ? "/metrics" : "/_cluster/health";
            if (http_do(PORT, "GET", path, NULL, NULL, &r) == 0 && r.status == 200) w->ok++;
            else w->wrong++;
            if (r.body) http_resp_free(&r);
        }
    }
    return NULL;
}

int main(void) {
    char tmpdir[] = "/tmp/ss-test-concurrent-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--batch-wait-us", "3000", "--grace", "300",
                          NULL};
    REQUIRE(server_start(&s, args) == 0);
    PORT = s.port;
    for (int t = 0; t < N_TEXTS; t++) {
        int st;
        ALONE[t] = embed(TEXTS[t], 0, &st);
        REQUIRE(st == 200 && ALONE[t]);
    }
    enum { W = 16 };
    pthread_t th[W];
    worker w[W];
    for (int i = 0; i < W; i++) {
        w[i] = (worker){.id = i};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    int ok = 0, wrong = 0;
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        wrong += w[i].wrong;
    }
    CHECKF(wrong == 0, "%d of %d concurrent requests wrong or failed", wrong, ok + wrong);
    printf("concurrent: %d requests from %d clients, %d right\n", ok + wrong, W, ok);
    CHECKF(server_stop(&s, 300) == 0, "the server exits 0 after SIGTERM (a sanitizer report would make it fail)");
    for (int t = 0; t < N_TEXTS; t++) cJSON_Delete(ALONE[t]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
