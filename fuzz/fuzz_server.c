/* fuzz_server.c — the HTTP server's request handling, without a socket:
 * method / URL / query-string routing, headers (Authorization, Accept and
 * Content-Type incl. application/vnd.elasticsearch+json; compatible-with=N,
 * Content-Length), JSON bodies and the NDJSON _bulk parser, through the
 * app's whole dispatch (ss_server_request over a server started with
 * http.local = 1: the same early checks, router and handlers as a socket
 * request; it does not call the es_* internals, so it survives their rewrite).
 *
 * One input is up to 16 requests, separated by a 0x1e byte (ASCII RS):
 *     METHOD SP URL LF (Name: value LF)* LF body
 * An input that starts with "#auth\n" runs with API keys on (the key is
 * "fuzz-key", in a keys file the harness writes). Every input gets a fresh
 * server over an empty data folder (removed afterwards), so state never
 * carries from one input to the next and the data never grows; the tiny
 * test model tests/models/bert-mean-normalize (dim 32) is loaded once.
 *
 * Invariants (abort = finding): a status in 200..499 — a 5xx for a request a
 * client sent is a server bug, never "bad input"; a JSON content type comes
 * with a body that is one valid JSON value of valid UTF-8 (or no body, for
 * HEAD); an Elasticsearch error body's "status" equals the HTTP status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "server/server.h"
#include "store/reader.h" /* ss__utf8_check */
#include "util.h"

#define MAX_REQS 16
#define MAX_HDRS 16

static ss_model *g_model;
static char g_keys[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    ss_model_options mo = {.n_threads = 1};
    ss_error err;
    g_model = ss_model_load(SEMSEARCH_TESTS_DIR "/models/bert-mean-normalize", &mo, &err);
    if (!g_model) {
        fprintf(stderr, "fuzz_server: cannot load the test model: %s\n", err.msg);
        abort();
    }
    fz_write("keys", "fuzz-key\n", 9);
    snprintf(g_keys, sizeof g_keys, "%s", fz_path("keys"));
    return 0;
}

static void finding(const char *method, const char *url, const ss_http_resp *r, const char *what) {
    fprintf(stderr, "fuzz_server: %s %s -> %d (%s): %s\nbody: %.2000s\n", method, url, r->status,
            r->content_type ? r->content_type : "-", what, r->body ? r->body : "");
    abort();
}

static void check(const char *method, const char *url, const ss_http_resp *r) {
    if (r->status < 200 || r->status > 499) finding(method, url, r, "status outside 200..499");
    if (!r->content_type) finding(method, url, r, "no content type");
    if (!strstr(r->content_type, "json")) return;
    if (!r->len) {
        if (strcmp(method, "HEAD") != 0) finding(method, url, r, "empty JSON body");
        return;
    }
    if (!r->body || strlen(r->body) != r->len) finding(method, url, r, "JSON body with a NUL byte");
    if (ss__utf8_check(r->body, r->len)) finding(method, url, r, "JSON body is not valid UTF-8");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(r->body, r->len, &end, 0);
    if (!j) finding(method, url, r, "JSON body does not parse");
    while (end && end < r->body + r->len && (*end == '\n' || *end == ' ')) end++;
    if (end != r->body + r->len) finding(method, url, r, "data after the JSON value");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "error")) && cJSON_IsNumber(st) &&
        st->valuedouble != r->status)
        finding(method, url, r, "error body's status differs from the HTTP status");
    cJSON_Delete(j);
}

/* Parse one request out of p[0..n) (NUL-terminated copy) and run it. */
static void one_request(ss_server *s, char *p, size_t n) {
    char *nl = memchr(p, '\n', n);
    if (!nl) return;
    *nl = '\0';
    char *sp = strchr(p, ' ');
    if (!sp || sp == p) return;
    *sp = '\0';
    const char *method = p, *url = sp + 1;
    if (!*url) return;
    const char *hdrs[2 * MAX_HDRS];
    int nh = 0;
    char *q = nl + 1, *end = p + n;
    while (q < end) {
        char *e = memchr(q, '\n', (size_t)(end - q));
        if (!e) e = end;
        if (e == q) { /* blank line: the body follows */
            q++;
            break;
        }
        *e = '\0';
        char *colon = strchr(q, ':');
        if (colon && nh < MAX_HDRS) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            hdrs[2 * nh] = q;
            hdrs[2 * nh + 1] = v;
            nh++;
        }
        q = e + 1;
    }
    size_t blen = q < end ? (size_t)(end - q) : 0;
    ss_http_resp r;
    if (ss_server_request(s, method, url, hdrs, nh, q < end ? q : "", blen, &r) != 0) abort();
    if (getenv("FUZZ_SERVER_VERBOSE")) /* seeds: see what each request got */
        fprintf(stderr, "%s %s -> %d %.300s\n", method, url, r.status, r.body ? r.body : "");
    check(method, url, &r);
    ss_http_resp_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int auth = size >= 6 && !memcmp(data, "#auth\n", 6);
    if (auth) data += 6, size -= 6;
    const char *name = "data";
    fz_rmtree(name); /* what a crashed or interrupted earlier input left */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fz_path(name));
    ss_server_options so = {0};
    so.http.local = 1;
    so.http.log_level = SS_LOG_ERROR;
    so.batch.max_wait_us = -1;
    so.data_dir = dir;
    so.api_keys_file = auth ? g_keys : NULL;
    ss_error err;
    ss_server *s = ss_server_start(g_model, &so, &err);
    if (!s) {
        fprintf(stderr, "fuzz_server: cannot start the in-process server: %s\n", err.msg);
        abort();
    }
    char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf, *end = buf + size;
    for (int k = 0; k < MAX_REQS && p < end; k++) {
        char *rs = memchr(p, 0x1e, (size_t)(end - p));
        size_t n = rs ? (size_t)(rs - p) : (size_t)(end - p);
        p[n] = '\0';
        one_request(s, p, n);
        p += n + 1;
    }
    free(buf);
    ss_server_stop(s, 5);
    fz_rmtree(name);
    return 0;
}
