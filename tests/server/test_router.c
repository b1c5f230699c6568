/* test_router.c — the server's route table (most specific match, params,
 * 405 with the allowed methods, HEAD via GET), API-key parsing and
 * constant-time matching, and the Prometheus text the metrics render. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/auth.h"
#include "server/metrics.h"
#include "server/router.h"
#include "test.h"

static int h_a(ss_http_req *r, ss_http_resp *p) { (void)r, (void)p; return 1; }
static int h_b(ss_http_req *r, ss_http_resp *p) { (void)r, (void)p; return 2; }
static int h_c(ss_http_req *r, ss_http_resp *p) { (void)r, (void)p; return 3; }
static int h_d(ss_http_req *r, ss_http_resp *p) { (void)r, (void)p; return 4; }

static const char *param(const ss_route_match *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->names[i], name)) return m->values[i];
    return NULL;
}

static void test_router(void) {
    ss_router *rt = ss_router_new(NULL);
    REQUIRE(rt);
    /* registration order deliberately loosest first */
    CHECK(ss_router_add(rt, "GET", "/{index}/{x}", h_a) == 0);
    CHECK(ss_router_add(rt, "GET", "/_cluster/health", h_b) == 0);
    CHECK(ss_router_add(rt, "GET", "/{index}/_doc/{id}", h_c) == 0);
    CHECK(ss_router_add(rt, "PUT", "/{index}/_doc/{id}", h_c) == 0);
    CHECK(ss_router_add(rt, "GET", "/", h_d) == 0);
    CHECK(ss_router_add(rt, "POST", "/", h_a) == 0);
    CHECK(ss_router_add(rt, "GET", "no-slash", h_a) == -1);
    CHECK(ss_router_add(rt, "GET", "/{a}/{b}/{c}/{d}/{e}", h_a) == -1); /* > 4 params */
    ss_route_match m;
    char allowed[64];
    CHECK(ss_router_match(rt, "GET", "/_cluster/health", &m, allowed, sizeof allowed) == 1 && m.handler == h_b);
    ss_route_match_clear(&m);
    CHECK(ss_router_match(rt, "GET", "/books/_stats", &m, allowed, sizeof allowed) == 1 && m.handler == h_a);
    CHECK(!strcmp(param(&m, "index"), "books") && !strcmp(param(&m, "x"), "_stats"));
    CHECK(!strcmp(m.pattern, "/{index}/{x}"));
    ss_route_match_clear(&m);
    CHECK(ss_router_match(rt, "GET", "/books/_doc/42", &m, allowed, sizeof allowed) == 1 && m.handler == h_c);
    CHECK(!strcmp(param(&m, "id"), "42") && param(&m, "nope") == NULL);
    ss_route_match_clear(&m);
    /* trailing and doubled slashes are ignored, as Elasticsearch does */
    CHECK(ss_router_match(rt, "GET", "//books//_doc/42/", &m, allowed, sizeof allowed) == 1 && m.handler == h_c);
    ss_route_match_clear(&m);
    /* HEAD is served by GET; a known path with another method is 405 + Allow */
    CHECK(ss_router_match(rt, "HEAD", "/", &m, allowed, sizeof allowed) == 1 && m.handler == h_d);
    ss_route_match_clear(&m);
    CHECK(ss_router_match(rt, "DELETE", "/books/_doc/42", &m, allowed, sizeof allowed) == -1);
    CHECKF(!strcmp(allowed, "GET,HEAD,PUT"), "allowed %s", allowed);
    /* a more specific path with the wrong method does not fall back to a looser pattern */
    CHECK(ss_router_match(rt, "POST", "/_cluster/health", &m, allowed, sizeof allowed) == -1);
    CHECK(ss_router_match(rt, "GET", "/a/b/c/d/e/f/g/h/i", &m, allowed, sizeof allowed) == 0);
    CHECK(ss_router_match(rt, "GET", "/a/b/c", &m, allowed, sizeof allowed) == 0);
    ss_router_free(rt);
}

static void test_auth(void) {
    char path[] = "/tmp/ss-test-keys-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\n  key-one  \n\nVnVYQTA2SDZUNzdQZVJRT2RVNU06cXlkSDhBUkFSS3lKNTJRU2VNMklsZw==\r\n");
    fclose(f);
    ss_error err;
    ss_auth *a = ss_auth_load(path, &err);
    REQUIRE(a);
    CHECK(ss_auth_count(a) == 2);
    CHECK(ss_auth_check(a, "ApiKey key-one"));
    CHECK(ss_auth_check(a, "Bearer key-one"));
    CHECK(ss_auth_check(a, "apikey  key-one "));
    CHECK(ss_auth_check(a, "ApiKey VnVYQTA2SDZUNzdQZVJRT2RVNU06cXlkSDhBUkFSS3lKNTJRU2VNMklsZw=="));
    CHECK(!ss_auth_check(a, "ApiKey key-on"));
    CHECK(!ss_auth_check(a, "ApiKey key-one2"));
    CHECK(!ss_auth_check(a, "Basic key-one"));
    CHECK(!ss_auth_check(a, "key-one"));
    CHECK(!ss_auth_check(a, NULL));
    CHECK(!ss_auth_check(a, "ApiKey "));
    ss_auth_free(a);
    CHECK(ss_auth_check(NULL, NULL)); /* no keys configured: everything allowed */
    f = fopen(path, "w");
    fprintf(f, "# only comments\n\n");
    fclose(f);
    CHECK(ss_auth_load(path, &err) == NULL);
    CHECK_CONTAINS(err.msg, "holds no key");
    f = fopen(path, "w");
    fprintf(f, "two words\n");
    fclose(f);
    CHECK(ss_auth_load(path, &err) == NULL);
    CHECK_CONTAINS(err.msg, ":1: an API key cannot contain spaces");
    unlink(path);
    CHECK(ss_auth_load(path, &err) == NULL);
    CHECK_CONTAINS(err.msg, "cannot open");
}

static void test_metrics(void) {
    ss_metrics *m = ss_metrics_new();
    REQUIRE(m);
    ss_metrics_request(m, "/embed", "POST", 200, 0.004);
    ss_metrics_request(m, "/embed", "POST", 200, 0.2);
    ss_metrics_request(m, "/embed", "POST", 413, 0.0001);
    ss_metrics_request(m, NULL, "GET", 400, 0.0001);
    ss_metrics_batch(m, 1, 10, 0.01);
    ss_metrics_batch(m, 32, 400, 0.1);
    ss_metrics_queue_depth(m, 7);
    size_t len;
    char *t = ss_metrics_render(m, &len);
    REQUIRE(t && len == strlen(t));
    CHECK_CONTAINS(t, "semsearch_http_requests_total{route=\"/embed\",method=\"POST\",status=\"200\"} 2\n");
    CHECK_CONTAINS(t, "semsearch_http_requests_total{route=\"/embed\",method=\"POST\",status=\"413\"} 1\n");
    CHECK_CONTAINS(t, "semsearch_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"400\"} 1\n");
    /* cumulative buckets: 0.0001 and 0.004 are <= 0.005, 0.2 is in 0.25 */
    CHECK_CONTAINS(t, "semsearch_http_request_duration_seconds_bucket{route=\"/embed\",le=\"0.005\"} 2\n");
    CHECK_CONTAINS(t, "semsearch_http_request_duration_seconds_bucket{route=\"/embed\",le=\"0.25\"} 3\n");
    CHECK_CONTAINS(t, "semsearch_http_request_duration_seconds_bucket{route=\"/embed\",le=\"+Inf\"} 3\n");
    CHECK_CONTAINS(t, "semsearch_http_request_duration_seconds_count{route=\"/embed\"} 3\n");
    CHECK_CONTAINS(t, "semsearch_batch_size_bucket{le=\"1\"} 1\n");
    CHECK_CONTAINS(t, "semsearch_batch_size_bucket{le=\"16\"} 1\n");
    CHECK_CONTAINS(t, "semsearch_batch_size_bucket{le=\"32\"} 2\n");
    CHECK_CONTAINS(t, "semsearch_batch_size_sum 33\n");
    CHECK_CONTAINS(t, "semsearch_embedded_tokens_total 410\n");
    CHECK_CONTAINS(t, "semsearch_queue_depth 7\n");
    CHECK_CONTAINS(t, "# TYPE semsearch_batch_size histogram\n");
    free(t);
    ss_metrics_free(m);
}

int main(void) {
    test_router();
    test_auth();
    test_metrics();
    return TEST_REPORT();
}
