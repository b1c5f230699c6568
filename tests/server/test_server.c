/* test_server.c — `semsearch serve` on the wire: every endpoint's status,
 * headers and body shape over raw HTTP/1.1; vectors equal to ss_encode's
 * (what `semsearch embed` prints); limits (413, slowloris, idle connections),
 * API keys (401), concurrent requests batched together, and SIGTERM
 * finishing a request in flight. */
#include <pthread.h>

#include <curl/curl.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "harness.h"
#include "test.h"

static ss_model *M;
static int PORT;

static const char *TEXTS[] = {
    "What is AI?",
    "Artificial Intelligence aims to build machines that think.",
    "The quick brown fox jumps over the lazy dog.",
    "Café crème brûlée 東京 🙂",
    "",
    "A longer sentence about semantic search engines written in C, with vector indexes and an HTTP server.",
};
#define N_TEXTS (int)(sizeof TEXTS / sizeof TEXTS[0])

static double max_diff_json(const cJSON *arr, const float *ref, int d) {
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != d) return 1e9;
    double m = 0;
    for (int i = 0; i < d; i++) {
        double v = cJSON_GetArrayItem(arr, i)->valuedouble, e = fabs(v - ref[i]);
        if (e > m) m = e;
    }
    return m;
}

static cJSON *json_of(const http_resp *r) { return cJSON_ParseWithLength(r->body, r->len); }

/* An Elasticsearch error body: error.root_cause[0].type == type, error.type, status. */
static void check_es_error(const http_resp *r, int status, const char *type) {
    CHECKF(r->status == status, "status %d, want %d: %s", r->status, status, r->body);
    cJSON *j = json_of(r);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    const cJSON *rc = cJSON_GetObjectItem(e, "root_cause");
    CHECKF(cJSON_IsArray(rc) && cJSON_GetArraySize(rc) == 1, "root_cause: %s", r->body);
    const cJSON *t0 = cJSON_GetObjectItem(cJSON_GetArrayItem(rc, 0), "type");
    CHECKF(cJSON_IsString(t0) && !strcmp(t0->valuestring, type), "root_cause type: %s", r->body);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(e, "reason")));
    CHECK(cJSON_GetObjectItem(j, "status") && cJSON_GetObjectItem(j, "status")->valueint == status);
    cJSON_Delete(j);
}

static void check_common_headers(const http_resp *r, const char *ctype) {
    char buf[256];
    CHECKF(resp_header(r, "X-Elastic-Product", buf, sizeof buf) && !strcmp(buf, "Elasticsearch"), "%s", r->head);
    if (ctype) CHECKF(resp_header(r, "Content-Type", buf, sizeof buf) && !strcmp(buf, ctype), "%s", r->head);
}

static void test_es_basics(void) {
    http_resp r;
    REQUIRE(http_do(PORT, "GET", "/", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    check_common_headers(&r, "application/json");
    cJSON *j = json_of(&r);
    const cJSON *v = cJSON_GetObjectItem(j, "version");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "name")) && cJSON_IsString(cJSON_GetObjectItem(j, "cluster_name")));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "cluster_uuid")));
    CHECK(!strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(v, "number")), "8.", 2));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(v, "build_flavor")), "default"));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(v, "lucene_version")));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(v, "minimum_wire_compatibility_version")));
    CHECK(cJSON_IsString(cJSON_GetObjectItem(v, "minimum_index_compatibility_version")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tagline")), "You Know, for Search"));
    cJSON_Delete(j);
    size_t get_len = r.len;
    http_resp_free(&r);

    REQUIRE(http_do(PORT, "HEAD", "/", NULL, NULL, &r) == 0);
    char buf[256];
    CHECK(r.status == 200 && r.len == 0);
    check_common_headers(&r, NULL);
    CHECK(resp_header(&r, "Content-Length", buf, sizeof buf) && (size_t)atol(buf) == get_len);
    http_resp_free(&r);

    /* compatibility media types, as elasticsearch-py 8 / 9 send them, echoed back */
    for (int ver = 8; ver <= 9; ver++) {
        char hdr[256], want[128];
        snprintf(hdr, sizeof hdr, "Accept: application/vnd.elasticsearch+json; compatible-with=%d\r\n", ver);
        snprintf(want, sizeof want, "application/vnd.elasticsearch+json;compatible-with=%d", ver);
        REQUIRE(http_do(PORT, "GET", "/_cluster/health", hdr, NULL, &r) == 0);
        CHECK(r.status == 200);
        check_common_headers(&r, want);
        j = json_of(&r);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "green"));
        CHECK(cJSON_GetObjectItem(j, "number_of_nodes")->valueint == 1);
        cJSON_Delete(j);
        http_resp_free(&r);
    }
    REQUIRE(http_do(PORT, "GET", "/", "Accept: application/vnd.elasticsearch+json; compatible-with=5\r\n", NULL, &r) == 0);
    check_es_error(&r, 400, "media_type_header_exception");
    check_common_headers(&r, NULL);
    http_resp_free(&r);
    REQUIRE(http_do(PORT, "GET", "/",
                    "Accept: application/vnd.elasticsearch+json; compatible-with=8\r\n"
                    "Content-Type: application/vnd.elasticsearch+json; compatible-with=9\r\n",
                    NULL, &r) == 0);
    check_es_error(&r, 400, "media_type_header_exception");
    http_resp_free(&r);

    /* ?pretty indents (same JSON, newline-terminated); X-Opaque-Id is echoed */
    REQUIRE(http_do(PORT, "GET", "/_cluster/health?pretty", "X-Opaque-Id: req-42\r\n", NULL, &r) == 0);
    CHECK(r.status == 200 && r.len > 2 && r.body[r.len - 1] == '\n' && strstr(r.body, "\n\t\"status\":\t\"green\""));
    CHECK(resp_header(&r, "X-Opaque-Id", buf, sizeof buf) && !strcmp(buf, "req-42"));
    j = json_of(&r);
    CHECK(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "green"));
    cJSON_Delete(j);
    http_resp_free(&r);

    /* unknown route: 400 as Elasticsearch; known path, wrong method: 405 + Allow */
    REQUIRE(http_do(PORT, "GET", "/_no_such_api/x", NULL, NULL, &r) == 0);
    check_es_error(&r, 400, "illegal_argument_exception");
    CHECK_CONTAINS(r.body, "no handler found for uri [/_no_such_api/x] and method [GET]");
    check_common_headers(&r, "application/json");
    http_resp_free(&r);
    REQUIRE(http_do(PORT, "DELETE", "/_cluster/health", NULL, NULL, &r) == 0);
    check_es_error(&r, 405, "illegal_argument_exception");
    CHECK(resp_header(&r, "Allow", buf, sizeof buf) && strstr(buf, "GET"));
    http_resp_free(&r);
}

/* POST body to path; returns the parsed JSON (caller frees) and the status. */
static cJSON *post_json(const char *path, const char *body, int *status) {
    http_resp r;
    if (http_do(PORT, "POST", path, "Content-Type: application/json\r\n", body, &r) != 0) {
        *status = -1;
        return NULL;
    }
    *status = r.status;
    char buf[128];
    CHECKF(resp_header(&r, "X-Elastic-Product", buf, sizeof buf) != NULL, "%s", r.head);
    cJSON *j = json_of(&r);
    if (!j) fprintf(stderr, "not JSON (%d): %.300s\n", r.status, r.body);
    http_resp_free(&r);
    return j;
}

static char *inputs_json(const char *key, int n, const char *extra) {
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(TEXTS[i]));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (extra) { /* splice ,"k":v before the closing brace */
        size_t l = strlen(s);
        char *t = malloc(l + strlen(extra) + 2);
        memcpy(t, s, l - 1);
        sprintf(t + l - 1, ",%s}", extra);
        free(s);
        s = t;
    }
    return s;
}

static void test_embed_endpoints(void) {
    const int D = ss_model_dim(M);
    float *ref = malloc((size_t)N_TEXTS * D * sizeof(float)), *raw = malloc((size_t)N_TEXTS * D * sizeof(float));
    float *t64 = malloc((size_t)N_TEXTS * 64 * sizeof(float));
    ss_error err;
    ss_encode_options raw_o = {.normalize = -1}, dim_o = {.normalize = 1, .truncate_dim = 64};
    REQUIRE(ss_encode(M, TEXTS, N_TEXTS, NULL, ref, &err) == SS_OK);
    REQUIRE(ss_encode(M, TEXTS, N_TEXTS, &raw_o, raw, &err) == SS_OK);
    REQUIRE(ss_encode(M, TEXTS, N_TEXTS, &dim_o, t64, &err) == SS_OK);
    int st;
    double worst = 0;

    /* TEI /embed: a string -> [[...]]; a list -> one vector each, in order */
    cJSON *j = post_json("/embed", "{\"inputs\":\"What is AI?\"}", &st);
    CHECK(st == 200 && cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1);
    double d0 = max_diff_json(cJSON_GetArrayItem(j, 0), ref, D);
    CHECKF(d0 <= 1e-6, "max diff %g", d0);
    cJSON_Delete(j);
    char *body = inputs_json("inputs", N_TEXTS, NULL);
    j = post_json("/embed", body, &st);
    free(body);
    CHECK(st == 200 && cJSON_GetArraySize(j) == N_TEXTS);
    for (int i = 0; i < N_TEXTS; i++) {
        double d = max_diff_json(cJSON_GetArrayItem(j, i), ref + (size_t)i * D, D);
        if (d > worst) worst = d;
    }
    cJSON_Delete(j);
    body = inputs_json("inputs", N_TEXTS, "\"normalize\":false");
    j = post_json("/", body, &st); /* POST / is TEI's embed route too (huggingface_hub posts there) */
    free(body);
    CHECK(st == 200 && cJSON_GetArraySize(j) == N_TEXTS);
    for (int i = 0; i < N_TEXTS; i++) {
        double d = max_diff_json(cJSON_GetArrayItem(j, i), raw + (size_t)i * D, D);
        if (d > worst) worst = d;
    }
    cJSON_Delete(j);

    /* OpenAI /v1/embeddings: float, base64, dimensions, usage */
    body = inputs_json("input", N_TEXTS, "\"model\":\"my-model\"");
    j = post_json("/v1/embeddings", body, &st);
    free(body);
    CHECK(st == 200);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "list"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")), "my-model"));
    const cJSON *data = cJSON_GetObjectItem(j, "data");
    CHECK(cJSON_GetArraySize(data) == N_TEXTS);
    long want_tokens = 0;
    for (int i = 0; i < N_TEXTS; i++) {
        int32_t ids[512];
        int n = ss_model_tokenize(M, TEXTS[i], NULL, ids, 512, &err);
        want_tokens += n;
        const cJSON *it = cJSON_GetArrayItem(data, i);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "object")), "embedding"));
        CHECK(cJSON_GetObjectItem(it, "index")->valueint == i);
        double d = max_diff_json(cJSON_GetObjectItem(it, "embedding"), ref + (size_t)i * D, D);
        if (d > worst) worst = d;
    }
    const cJSON *usage = cJSON_GetObjectItem(j, "usage");
    CHECKF(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint == want_tokens, "usage %d vs %ld",
           cJSON_GetObjectItem(usage, "prompt_tokens")->valueint, want_tokens);
    CHECK(cJSON_GetObjectItem(usage, "total_tokens")->valueint == want_tokens);
    cJSON_Delete(j);

    body = inputs_json("input", 2, "\"encoding_format\":\"base64\",\"dimensions\":64");
    j = post_json("/v1/embeddings", body, &st);
    free(body);
    CHECK(st == 200);
    data = cJSON_GetObjectItem(j, "data");
    for (int i = 0; i < 2; i++) {
        const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(data, i), "embedding"));
        REQUIRE(b64 && strlen(b64) == (64 * 4 + 2) / 3 * 4);
        /* decode: little-endian float32 */
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char bytes[256 + 3];
        size_t nb = 0;
        for (size_t k = 0; b64[k]; k += 4) {
            uint32_t x = 0;
            for (int q = 0; q < 4; q++) {
                const char *p = strchr(tbl, b64[k + q]);
                x = (x << 6) | (b64[k + q] == '=' || !p ? 0 : (uint32_t)(p - tbl));
            }
            bytes[nb++] = (unsigned char)(x >> 16);
            bytes[nb++] = (unsigned char)(x >> 8);
            bytes[nb++] = (unsigned char)x;
        }
        double d = 0, norm = 0;
        for (int k = 0; k < 64; k++) {
            uint32_t u = bytes[4 * k] | (uint32_t)bytes[4 * k + 1] << 8 | (uint32_t)bytes[4 * k + 2] << 16 |
                         (uint32_t)bytes[4 * k + 3] << 24;
            float f;
            memcpy(&f, &u, 4);
            d = fmax(d, fabs(f - t64[(size_t)i * 64 + k]));
            norm += (double)f * f;
        }
        CHECKF(d <= 1e-6, "base64 dims=64 diff %g", d);
        CHECKF(fabs(norm - 1) < 1e-5, "renormalised: |v|^2 = %g", norm);
    }
    cJSON_Delete(j);
    CHECKF(worst <= 1e-6, "max |diff| vs ss_encode %g", worst);
    printf("embed endpoints: max |diff| vs ss_encode = %.3g\n", worst);

    /* errors in each API's own shape */
    j = post_json("/v1/embeddings", "{\"input\":[[1,2,3]]}", &st);
    CHECK(st == 400 && cJSON_IsObject(cJSON_GetObjectItem(j, "error")));
    CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message")), "token-id"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")), "invalid_request_error"));
    cJSON_Delete(j);
    j = post_json("/v1/embeddings", "{\"input\":\"x\",\"dimensions\":1000}", &st);
    CHECK(st == 400);
    cJSON_Delete(j);
    j = post_json("/v1/embeddings", "{\"input\":\"x\",\"encoding_format\":\"int8\"}", &st);
    CHECK(st == 400);
    cJSON_Delete(j);
    j = post_json("/embed", "{\"inputs\":[]}", &st);
    CHECK(st == 400 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error_type")), "empty"));
    cJSON_Delete(j);
    j = post_json("/embed", "{\"inputs\": [\"a\", ", &st);
    CHECK(st == 400 && strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")), "byte offset"));
    cJSON_Delete(j);
    j = post_json("/embed", "{\"text\":\"a\"}", &st);
    CHECK(st == 422 && strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")), "inputs"));
    cJSON_Delete(j);
    j = post_json("/embed", "{\"inputs\":\"bad \xff utf8\"}", &st);
    CHECK(st == 422 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error_type")), "tokenizer"));
    cJSON_Delete(j);
    /* longer than max_seq_length: refused unless truncate (TEI), cut as sentence-transformers does with it */
    size_t L = 4000;
    char *longtext = malloc(L + 64);
    strcpy(longtext, "{\"inputs\":\"");
    for (size_t k = strlen(longtext); k < L; k += 5) memcpy(longtext + k, "word ", 5);
    strcpy(longtext + L, "\"}");
    j = post_json("/embed", longtext, &st);
    CHECK(st == 413 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error_type")), "validation"));
    cJSON_Delete(j);
    strcpy(longtext + L, "\",\"truncate\":true}");
    j = post_json("/embed", longtext, &st);
    CHECK(st == 200 && cJSON_GetArraySize(cJSON_GetArrayItem(j, 0)) == D);
    cJSON_Delete(j);
    free(longtext);
    j = post_json("/embed", "{\"inputs\":\"x\",\"prompt_name\":\"nope\"}", &st);
    CHECK(st == 413 && strstr(cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")), "nope"));
    cJSON_Delete(j);

    /* /tokenize: ids as ss_model_tokenize, special tokens flagged */
    j = post_json("/tokenize", "{\"inputs\":[\"hello world\",\"Café\"]}", &st);
    CHECK(st == 200 && cJSON_GetArraySize(j) == 2);
    int32_t ids[64];
    int n = ss_model_tokenize(M, "hello world", NULL, ids, 64, &err);
    const cJSON *seq = cJSON_GetArrayItem(j, 0);
    CHECK(cJSON_GetArraySize(seq) == n);
    for (int k = 0; k < n && k < cJSON_GetArraySize(seq); k++)
        CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(seq, k), "id")->valueint == ids[k]);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(seq, 0), "special")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(seq, 1), "special")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(seq, 1), "text")), "hello"));
    cJSON_Delete(j);
    j = post_json("/tokenize", "{\"inputs\":\"hello world\",\"add_special_tokens\":false}", &st);
    CHECK(st == 200 && cJSON_GetArraySize(cJSON_GetArrayItem(j, 0)) == n - 2);
    cJSON_Delete(j);

    /* /info, /health, /metrics */
    http_resp r;
    REQUIRE(http_do(PORT, "GET", "/info", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    j = json_of(&r);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "model_id")));
    CHECK(cJSON_GetObjectItem(j, "max_input_length")->valueint == ss_model_max_seq_length(M));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model_type"), "embedding"), "pooling")), "mean"));
    cJSON_Delete(j);
    http_resp_free(&r);
    REQUIRE(http_do(PORT, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && r.len == 0);
    http_resp_free(&r);
    free(ref);
    free(raw);
    free(t64);
}

/* ---- concurrency: many clients, one sentence each, batched together --------- */

typedef struct client_arg {
    int i;
    double diff;
    int status;
} client_arg;

static float *REF1;

static void *client(void *p) {
    client_arg *a = p;
    char body[512];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "inputs", TEXTS[a->i % N_TEXTS]);
    char *s = cJSON_PrintUnformatted(o);
    snprintf(body, sizeof body, "%s", s);
    free(s);
    cJSON_Delete(o);
    http_resp r;
    a->status = -1;
    a->diff = 1e9;
    if (http_do(PORT, "POST", "/embed", "Content-Type: application/json\r\n", body, &r) != 0) return NULL;
    a->status = r.status;
    cJSON *j = cJSON_ParseWithLength(r.body, r.len);
    int D = ss_model_dim(M);
    a->diff = max_diff_json(cJSON_GetArrayItem(j, 0), REF1 + (size_t)(a->i % N_TEXTS) * D, D);
    cJSON_Delete(j);
    http_resp_free(&r);
    return NULL;
}

static double metric(const char *text, const char *name) {
    const char *p = text;
    size_t nl = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == text || p[-1] == '\n') && p[nl] == ' ') return atof(p + nl + 1);
        p += nl;
    }
    return -1;
}

static void test_concurrent_batching(void) {
    enum { N = 24 };
    int D = ss_model_dim(M);
    REF1 = malloc((size_t)N_TEXTS * D * sizeof(float));
    ss_error err;
    /* each text alone: the unbatched reference */
    for (int i = 0; i < N_TEXTS; i++) REQUIRE(ss_encode(M, TEXTS + i, 1, NULL, REF1 + (size_t)i * D, &err) == SS_OK);
    http_resp r;
    REQUIRE(http_do(PORT, "GET", "/metrics", NULL, NULL, &r) == 0);
    double b0 = metric(r.body, "semsearch_batch_size_count"), s0 = metric(r.body, "semsearch_batch_size_sum");
    http_resp_free(&r);
    pthread_t th[N];
    client_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i].i = i;
        pthread_create(&th[i], NULL, client, &args[i]);
    }
    double worst = 0;
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].status == 200;
        if (args[i].diff > worst) worst = args[i].diff;
    }
    CHECKF(ok == N, "%d of %d concurrent requests answered 200", ok, N);
    CHECKF(worst <= 1e-6, "batched vs alone: max |diff| %g", worst);
    REQUIRE(http_do(PORT, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    char ct[128];
    CHECK(resp_header(&r, "Content-Type", ct, sizeof ct) && !strncmp(ct, "text/plain; version=0.0.4", 25));
    double b1 = metric(r.body, "semsearch_batch_size_count"), s1 = metric(r.body, "semsearch_batch_size_sum");
    double per_batch = (s1 - s0) / (b1 - b0);
    CHECKF(s1 - s0 == N, "sequences encoded %g, want %d", s1 - s0, N);
    CHECKF(per_batch > 1.5, "dynamic batching: %g sequences per batch over %g batches", per_batch, b1 - b0);
    printf("concurrent: %d clients, %g batches, %.1f sequences per batch, max |diff| vs alone %.3g\n", N, b1 - b0,
           per_batch, worst);
    CHECK(strstr(r.body, "semsearch_http_requests_total{route=\"/embed\",method=\"POST\",status=\"200\"}"));
    CHECK(strstr(r.body, "semsearch_http_request_duration_seconds_bucket{route=\"/embed\",le=\"+Inf\"}"));
    CHECK(metric(r.body, "semsearch_embedded_tokens_total") > 0);
    CHECK(metric(r.body, "semsearch_queue_depth") == 0);
    http_resp_free(&r);
    free(REF1);
}

/* ---- limits -------------------------------------------------------------------- */

static void test_limits(int idle_timeout_s) {
    http_resp r;
    /* 413 from Content-Length alone, before the body is sent */
    int fd = tcp_connect(PORT);
    REQUIRE(fd >= 0);
    const char *big = "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n";
    REQUIRE(send_all(fd, big, strlen(big)) == 0);
    REQUIRE(read_resp(fd, 0, &r, 10000) == 0);
    check_es_error(&r, 413, "content_too_long_exception");
    check_common_headers(&r, "application/json");
    http_resp_free(&r);
    close(fd);
    /* 413 for a chunked body that grows past the limit */
    fd = tcp_connect(PORT);
    const char *ch = "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    send_all(fd, ch, strlen(ch));
    char *chunk = malloc(300000);
    memset(chunk, 'a', 300000);
    int sent_ok = 1;
    for (int k = 0; k < 5 && sent_ok; k++) {
        char hdr[32];
        snprintf(hdr, sizeof hdr, "%x\r\n", 300000);
        sent_ok = send_all(fd, hdr, strlen(hdr)) == 0 && send_all(fd, chunk, 300000) == 0 && send_all(fd, "\r\n", 2) == 0;
    }
    if (sent_ok) send_all(fd, "0\r\n\r\n", 5);
    free(chunk);
    REQUIRE(read_resp(fd, 0, &r, 10000) == 0);
    check_es_error(&r, 413, "content_too_long_exception");
    http_resp_free(&r);
    close(fd);

    /* keep-alive: two requests on one connection */
    fd = tcp_connect(PORT);
    const char *ka = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(send_all(fd, ka, strlen(ka)) == 0 && read_resp(fd, 0, &r, 5000) == 0 && r.status == 200);
    http_resp_free(&r);
    CHECK(send_all(fd, ka, strlen(ka)) == 0 && read_resp(fd, 0, &r, 5000) == 0 && r.status == 200);
    http_resp_free(&r);
    close(fd);

    /* slowloris: half a request line and headers, then silence; others are served
     * meanwhile and the server closes it after the idle timeout */
    int slow = tcp_connect(PORT);
    REQUIRE(slow >= 0);
    send_all(slow, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 32);
    /* many idle connections at once */
    enum { IDLE = 400 };
    int idle[IDLE], n_idle = 0;
    for (int i = 0; i < IDLE; i++)
        if ((idle[n_idle] = tcp_connect(PORT)) >= 0) n_idle++;
    CHECKF(n_idle == IDLE, "opened %d of %d idle connections", n_idle, IDLE);
    double t0 = harness_now();
    REQUIRE(http_do(PORT, "GET", "/", NULL, NULL, &r) == 0);
    double served = harness_now() - t0;
    CHECKF(r.status == 200 && served < 1.0, "GET / with a slowloris and %d idle connections: %d in %.3f s", n_idle,
           r.status, served);
    http_resp_free(&r);
    char c;
    struct timeval tv = {idle_timeout_s + 5, 0};
    setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t k = recv(slow, &c, 1, 0);
    double closed_after = harness_now() - t0;
    CHECKF(k <= 0 && closed_after >= idle_timeout_s - 0.5 && closed_after < idle_timeout_s + 4,
           "slowloris closed after %.2f s (idle timeout %d s), recv %zd", closed_after, idle_timeout_s, k);
    close(slow);
    for (int i = 0; i < n_idle; i++) close(idle[i]);
}

/* ---- API keys -------------------------------------------------------------------- */

static void test_api_keys(const char *tmpdir) {
    char keys[512], data[512];
    snprintf(keys, sizeof keys, "%s/keys.txt", tmpdir);
    snprintf(data, sizeof data, "%s/data-auth", tmpdir);
    FILE *f = fopen(keys, "w");
    fprintf(f, "# one key per line\nsecret-key-1\n\nc2VjcmV0OmtleQ==\n");
    fclose(f);
    test_server s;
    const char *args[] = {"--data", data, "--api-keys", keys, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    http_resp r;
    REQUIRE(http_do(s.port, "GET", "/", NULL, NULL, &r) == 0);
    check_es_error(&r, 401, "security_exception");
    check_common_headers(&r, "application/json");
    char buf[256];
    CHECK(resp_header(&r, "WWW-Authenticate", buf, sizeof buf) != NULL);
    CHECK_CONTAINS(r.body, "missing authentication credentials");
    http_resp_free(&r);
    REQUIRE(http_do(s.port, "GET", "/", "Authorization: ApiKey wrong\r\n", NULL, &r) == 0);
    check_es_error(&r, 401, "security_exception");
    CHECK_CONTAINS(r.body, "unable to authenticate");
    http_resp_free(&r);
    REQUIRE(http_do(s.port, "GET", "/", "Authorization: ApiKey secret-key\r\n", NULL, &r) == 0); /* a prefix */
    CHECK(r.status == 401);
    http_resp_free(&r);
    REQUIRE(http_do(s.port, "GET", "/", "Authorization: ApiKey c2VjcmV0OmtleQ==\r\n", NULL, &r) == 0);
    CHECK(r.status == 200);
    http_resp_free(&r);
    REQUIRE(http_do(s.port, "POST", "/embed", "Authorization: Bearer secret-key-1\r\n", "{\"inputs\":\"hi\"}", &r) == 0);
    CHECK(r.status == 200);
    http_resp_free(&r);
    /* a 401 is sent before the body is read */
    REQUIRE(http_do(s.port, "POST", "/v1/embeddings", NULL, "{\"input\":\"hi\"}", &r) == 0);
    CHECK(r.status == 401);
    http_resp_free(&r);
    CHECK(server_stop(&s, 30) == 0);
}

/* ---- SIGTERM finishes a request in flight ------------------------------------------ */

typedef struct inflight_arg {
    int port;
    int n;
    http_resp r;
    int rc;
} inflight_arg;

static void *inflight(void *p) {
    inflight_arg *a = p;
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "inputs");
    for (int i = 0; i < a->n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString("A sentence long enough to keep the encoder busy for a while, "
                                                     "about semantic search, vector indexes and HTTP servers in C."));
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    a->rc = http_do(a->port, "POST", "/embed", "Content-Type: application/json\r\n", body, &a->r);
    free(body);
    return NULL;
}

/* Start a server, send one n-text /embed, SIGTERM it while the batch is being
 * encoded; returns the server's exit status, the response in a->r. */
static int sigterm_during(const char *data, const char *grace, int n, inflight_arg *a) {
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--grace", grace, "--max-client-batch",
                          "4096", NULL};
    REQUIRE(server_start(&s, args) == 0);
    a->port = s.port;
    a->n = n;
    pthread_t th;
    pthread_create(&th, NULL, inflight, a);
    /* wait until the request is being encoded (queue depth or a batch started) */
    double t0 = harness_now();
    int busy = 0;
    while (!busy && harness_now() - t0 < 60) {
        http_resp m;
        if (http_do(s.port, "GET", "/metrics", NULL, NULL, &m) == 0) {
            busy = metric(m.body, "semsearch_batch_size_count") >= 1 || metric(m.body, "semsearch_queue_depth") > 0;
            http_resp_free(&m);
        }
        if (!busy) usleep(5000);
    }
    CHECK(busy);
    kill(s.pid, SIGTERM);
    pthread_join(th, NULL);
    return server_stop(&s, 600); /* already signalled: just waits */
}

static void test_sigterm(const char *tmpdir) {
    char data[512];
    snprintf(data, sizeof data, "%s/data-term", tmpdir);
    /* grace far longer than the request needs, even on a loaded machine: it finishes */
    inflight_arg a = {0};
    int rc = sigterm_during(data, "300", 64, &a);
    CHECKF(a.rc == 0 && a.r.status == 200, "in-flight request across SIGTERM: rc %d status %d", a.rc, a.r.status);
    cJSON *j = cJSON_ParseWithLength(a.r.body, a.r.len);
    CHECKF(cJSON_GetArraySize(j) == 64, "all 64 vectors delivered (%d)", cJSON_GetArraySize(j));
    cJSON_Delete(j);
    http_resp_free(&a.r);
    CHECKF(rc == 0, "server exit status %d after SIGTERM", rc);
    /* grace 0: texts not yet encoded are cancelled -> 503 in TEI's shape; clean exit, no hang */
    inflight_arg b = {0};
    rc = sigterm_during(data, "0", 2048, &b);
    CHECKF(b.rc == 0 && (b.r.status == 503 || b.r.status == 200), "cancelled at shutdown: rc %d status %d", b.rc,
           b.r.status);
    printf("SIGTERM with --grace 0 during a 2048-text request: HTTP %d\n", b.r.status);
    if (b.r.status == 503) CHECK_CONTAINS(b.r.body, "\"error_type\":\"unhealthy\"");
    http_resp_free(&b.r);
    CHECKF(rc == 0, "server exit status %d after SIGTERM with --grace 0", rc);
}

/* ---- TLS (GnuTLS inside libmicrohttpd), with a throwaway self-signed cert ---------- */

static size_t collect(char *p, size_t sz, size_t n, void *user) {
    char *buf = user;
    size_t have = strlen(buf), add = sz * n;
    if (have + add < 4096) {
        memcpy(buf + have, p, add);
        buf[have + add] = '\0';
    }
    return sz * n;
}

static void test_tls(const char *tmpdir) {
    char cmd[2048], cert[512], key[512], data[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    snprintf(data, sizeof data, "%s/data-tls", tmpdir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
             ">/dev/null 2>&1", key, cert);
    REQUIRE(system(cmd) == 0); /* the openssl CLI makes the test's certificate */
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--tls-cert", cert, "--tls-key", key, NULL};
    REQUIRE(server_start(&s, args) == 0);
    CURL *c = curl_easy_init();
    char url[128], body[4096] = "", hdrs[4096] = "";
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L); /* CN, no subjectAltName */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    CHECKF(rc == CURLE_OK && code == 200, "HTTPS GET /: %s, HTTP %ld", curl_easy_strerror(rc), code);
    CHECK_CONTAINS(hdrs, "X-Elastic-Product: Elasticsearch");
    CHECK_CONTAINS(body, "You Know, for Search");
    curl_easy_cleanup(c);
    /* plain HTTP to the TLS port is not answered as HTTP */
    http_resp r;
    int plain = http_do(s.port, "GET", "/", NULL, NULL, &r);
    CHECK(plain != 0 || r.status != 200);
    if (plain == 0) http_resp_free(&r);
    CHECK(server_stop(&s, 30) == 0);
}

int main(void) {
    ss_error err;
    M = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    REQUIRE(M != NULL);
    char tmpdir[] = "/tmp/ss-test-server-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    const int idle_timeout = 2;
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--idle-timeout", "2",
                          "--max-body-bytes", "1000000", "--batch-wait-us", "5000", NULL};
    REQUIRE(server_start(&s, args) == 0);
    PORT = s.port;
    test_es_basics();
    test_embed_endpoints();
    test_concurrent_batching();
    test_limits(idle_timeout);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    test_api_keys(tmpdir);
    test_sigterm(tmpdir);
    test_tls(tmpdir);
    ss_model_free(M);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
