/* test_push.c — `semsearch push` against two targets:
 *  1. semsearch's own server: the mapping it creates (dense_vector with the
 *     collection's dims / similarity / index_options, stored fields), every
 *     document there with its vector bit-for-bit (compared with the
 *     collection's through ss_collection_iter), a kNN query with a stored
 *     vector finds that document with score 1, and a rerun sends nothing.
 *  2. tests/server/fake_bulk.py, which answers 429 (whole requests and
 *     single items), rejects one document, and then dies mid-stream: push
 *     must retry, report the rejected id, stop with the checkpoint at the
 *     last acknowledged batch, and a rerun against a restarted target must
 *     send exactly the rest (every id once, none twice). */
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

#include "semsearch.h"

static char tmpdir[] = "/tmp/ss-test-push-XXXXXX";

static int run(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (s) s[got] = '\0';
    return s;
}

/* Start fake_bulk.py with args; returns its pid and port. */
static pid_t fake_start(const char *args, int *port) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "exec python3 '%s/server/fake_bulk.py' %s", SEMSEARCH_TESTS_DIR, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
        if (harness_pids_[i] == 0) {
            harness_pids_[i] = pid;
            break;
        }
    char line[128] = "";
    size_t len = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    while (len < sizeof line - 1 && poll(&p, 1, 20000) > 0) {
        ssize_t k = read(fds[0], line + len, sizeof line - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
        line[len] = '\0';
        if (strchr(line, '\n')) break;
    }
    close(fds[0]);
    *port = strncmp(line, "port ", 5) ? 0 : atoi(line + 5);
    return pid;
}

static void fake_stop(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    harness_forget_(pid);
}

static int count_lines_with(const char *text, const char *id) {
    int n = 0;
    size_t il = strlen(id);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == il && !strncmp(p, id, il)) n++;
        p = e ? e + 1 : p + l;
    }
    return n;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char cmd[8192], data[600], srvdata[600], out[700], errf[700];
    snprintf(data, sizeof data, "%s/d", tmpdir);
    snprintf(srvdata, sizeof srvdata, "%s/srv", tmpdir);
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    snprintf(errf, sizeof errf, "%s/err.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' add seed '%s/store/data/seed_docs.jsonl' --model '%s' 2>'%s'", SEMSEARCH_CLI,
             data, SEMSEARCH_TESTS_DIR, SEMSEARCH_MODEL_DIR, errf);
    REQUIRE(run(cmd) == 0);

    /* The collection's own documents and vectors, through the public iterator. */
    char cdir[700];
    snprintf(cdir, sizeof cdir, "%s/seed", data);
    ss_collection_options co = {.read_only = 1};
    ss_error err;
    ss_collection *c = ss_collection_open(cdir, &co, &err);
    REQUIRE(c != NULL);
    enum { N = 10, DIM = 384 };
    char ids[N][64];
    float vecs[N][DIM];
    int n = 0;
    ss_collection_iter *it = ss_collection_iter_new(c, 0, &err);
    ss_doc_vec d;
    int64_t prev = 0;
    while (it && ss_collection_iter_next(it, &d, &err) == 1 && n < N) {
        CHECK(d.rowid > prev);
        prev = d.rowid;
        CHECK(d.vector != NULL);
        snprintf(ids[n], sizeof ids[n], "%s", d.id);
        if (d.vector) memcpy(vecs[n], d.vector, sizeof vecs[n]);
        n++;
    }
    ss_collection_iter_free(it);
    CHECK(n == N);
    /* resuming after a rowid skips what came before */
    it = ss_collection_iter_new(c, prev - 3, &err);
    int rest = 0;
    while (it && ss_collection_iter_next(it, &d, &err) == 1) rest++;
    ss_collection_iter_free(it);
    CHECK(rest == 3);
    ss_collection_close(c, NULL);

    /* ---- 1. semsearch serve as the target ---- */
    test_server s;
    const char *args[] = {"--data", srvdata, "--model", SEMSEARCH_MODEL_DIR, NULL};
    REQUIRE(server_start(&s, args) == 0);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' push seed --to http://127.0.0.1:%d --index seedcopy --batch 3 >'%s' 2>'%s'",
             SEMSEARCH_CLI, data, s.port, out, errf);
    CHECKF(run(cmd) == 0, "push to semsearch serve: %s", slurp(errf));
    http_resp r;
    int rc;
    REQUIRE(http_do(s.port, "GET", "/seedcopy/_mapping", NULL, NULL, &r) == 0);
    cJSON *m = cJSON_Parse(r.body);
    cJSON *props = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "seedcopy"), "mappings"), "properties");
    cJSON *emb = cJSON_GetObjectItem(props, "embedding");
    CHECKF(emb && !strcmp(cJSON_GetObjectItem(emb, "type")->valuestring, "dense_vector"), "%s", r.body);
    CHECK(cJSON_GetObjectItem(emb, "dims") && cJSON_GetObjectItem(emb, "dims")->valueint == DIM);
    CHECK(cJSON_GetObjectItem(emb, "similarity") && !strcmp(cJSON_GetObjectItem(emb, "similarity")->valuestring, "cosine"));
    cJSON *year = cJSON_GetObjectItem(props, "year"), *text = cJSON_GetObjectItem(props, "text");
    CHECKF(year && !strcmp(cJSON_GetObjectItem(year, "type")->valuestring, "long"), "%s", r.body);
    CHECKF(text && !strcmp(cJSON_GetObjectItem(text, "type")->valuestring, "text"), "%s", r.body);
    cJSON_Delete(m);
    http_resp_free(&r);
    REQUIRE(http_do(s.port, "GET", "/seedcopy/_count", NULL, NULL, &r) == 0);
    CHECK_CONTAINS(r.body, "\"count\":10");
    http_resp_free(&r);
    for (int i = 0; i < N; i++) {
        char path[1024];
        snprintf(path, sizeof path, "/seedcopy/_doc/%s", ids[i]);
        REQUIRE(http_do(s.port, "GET", path, NULL, NULL, &r) == 0);
        CHECKF(r.status == 200, "GET %s: %d", path, r.status);
        cJSON *j = cJSON_Parse(r.body);
        cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "_source"), "embedding");
        int same = cJSON_GetArraySize(v) == DIM;
        int k = 0;
        for (cJSON *x = v ? v->child : NULL; x && same; x = x->next, k++) same = (float)x->valuedouble == vecs[i][k];
        CHECKF(same, "document %s: the pushed vector differs from the stored one", ids[i]);
        cJSON_Delete(j);
        http_resp_free(&r);
    }
    {   /* kNN with document 3's own vector: that document, score (1 + cos) / 2 = 1 */
        char *q = malloc(16384);
        int o = snprintf(q, 16384, "{\"knn\":{\"field\":\"embedding\",\"k\":1,\"num_candidates\":10,\"query_vector\":[");
        for (int k = 0; k < DIM; k++) o += snprintf(q + o, 16384 - (size_t)o, k ? ",%.9g" : "%.9g", (double)vecs[3][k]);
        snprintf(q + o, 16384 - (size_t)o, "]}}");
        REQUIRE(http_do(s.port, "POST", "/seedcopy/_search", "Content-Type: application/json\r\n", q, &r) == 0);
        cJSON *j = cJSON_Parse(r.body);
        cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hits"), "hits"), 0);
        CHECKF(h0 && !strcmp(cJSON_GetObjectItem(h0, "_id")->valuestring, ids[3]), "%s", r.body);
        CHECK(h0 && fabs(cJSON_GetObjectItem(h0, "_score")->valuedouble - 1.0) < 1e-5);
        cJSON_Delete(j);
        http_resp_free(&r);
        free(q);
    }
    /* a rerun continues after the checkpoint: nothing left to send */
    CHECK(run(cmd) == 0);
    char *o1 = slurp(out);
    CHECK_CONTAINS(o1, "pushed 0 documents");
    free(o1);
    /* --restart sends everything again (same ids: still 10 documents) */
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' push seed --to http://127.0.0.1:%d --index seedcopy --restart -q >'%s' 2>'%s'",
             SEMSEARCH_CLI, data, s.port, out, errf);
    CHECK(run(cmd) == 0);
    o1 = slurp(out);
    CHECK_CONTAINS(o1, "pushed 10 documents");
    free(o1);
    REQUIRE(http_do(s.port, "GET", "/seedcopy/_count", NULL, NULL, &r) == 0);
    CHECK_CONTAINS(r.body, "\"count\":10");
    http_resp_free(&r);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");

    /* --api-key: a server that wants one refuses a push without it (401, exit 1) and takes it with it */
    char keys[700];
    snprintf(keys, sizeof keys, "%s/keys.txt", tmpdir);
    FILE *kf = fopen(keys, "w");
    REQUIRE(kf != NULL);
    fputs("c2VtOnNlYXJjaA==\n", kf);
    fclose(kf);
    const char *kargs[] = {"--data", srvdata, "--model", SEMSEARCH_MODEL_DIR, "--api-keys", keys, NULL};
    REQUIRE(server_start(&s, kargs) == 0);
    snprintf(cmd, sizeof cmd, "'%s' --data '%s' push seed --to http://127.0.0.1:%d --index keyed -q >'%s' 2>'%s'",
             SEMSEARCH_CLI, data, s.port, out, errf);
    rc = run(cmd);
    char *ek = slurp(errf);
    CHECKF(rc == 1 && test_contains_(ek, "HTTP 401"), "push without the key: rc %d, %s", rc, ek);
    free(ek);
    snprintf(cmd, sizeof cmd,
             "'%s' --data '%s' push seed --to http://127.0.0.1:%d --index keyed -q --api-key c2VtOnNlYXJjaA== >'%s' 2>'%s'",
             SEMSEARCH_CLI, data, s.port, out, errf);
    rc = run(cmd);
    ek = slurp(errf);
    CHECKF(rc == 0, "push with the key: rc %d, %s", rc, ek);
    free(ek);
    REQUIRE(http_do(s.port, "GET", "/keyed/_count", "Authorization: ApiKey c2VtOnNlYXJjaA==\r\n", NULL, &r) == 0);
    CHECK_CONTAINS(r.body, "\"count\":10");
    http_resp_free(&r);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");

    /* ---- 2. the fake: 429s, a rejected document, death mid-stream, resume ---- */
    char rec[700], state[700], fargs[2048];
    snprintf(rec, sizeof rec, "%s/received.txt", tmpdir);
    snprintf(state, sizeof state, "%s/push.state", tmpdir);
    /* batch 2: requests 1-2 = batch 1, whole-request 429; 3 = batch 1: item 0 429, item 1
     * (ids[1]) rejected 400; 4 = item 0 resent, 201; 5 = batch 2, 201 x 2; 6 = the fake dies
     * unanswered, push retries 3 times (connection refused) and stops: 3 acknowledged. */
    snprintf(fargs, sizeof fargs, "--record '%s' --reply-429 2 --item-429 1 --item-error '%s' --die-after 5", rec, ids[1]);
    int fport = 0;
    pid_t fp = fake_start(fargs, &fport);
    REQUIRE(fp > 0 && fport > 0);
    snprintf(cmd, sizeof cmd,
             "'%s' --data '%s' push seed --to http://127.0.0.1:%d --batch 2 --retries 3 --state '%s' >'%s' 2>'%s'",
             SEMSEARCH_CLI, data, fport, state, out, errf);
    rc = run(cmd);
    char *e1 = slurp(errf);
    CHECKF(rc == 1, "push against a target that dies must fail (rc %d): %s", rc, e1);
    CHECK_CONTAINS(e1, "HTTP 429; retry 1 of 3");
    CHECK_CONTAINS(e1, "1 item(s) answered 429; resending them");
    char want[1024];
    snprintf(want, sizeof want, "document %s: HTTP 400 mapper_parsing_exception", ids[1]);
    CHECK_CONTAINS(e1, want);
    CHECK_CONTAINS(e1, "rerun the same command to continue");
    free(e1);
    fake_stop(fp);
    char *st1 = slurp(state);
    CHECKF(st1 && strstr(st1, "\"acknowledged\":3"), "state after the first run: %s", st1 ? st1 : "(none)");
    free(st1);
    char *got1 = slurp(rec);
    int before = 0;
    for (int i = 0; i < N; i++) before += count_lines_with(got1, ids[i]);
    CHECKF(before == 3, "the fake acknowledged %d documents before dying (want 3)", before);
    free(got1);
    /* restart the target on the same port without faults; the rerun sends exactly the rest */
    snprintf(fargs, sizeof fargs, "--record '%s' --port %d", rec, fport);
    int fport2 = 0;
    fp = fake_start(fargs, &fport2);
    REQUIRE(fp > 0 && fport2 == fport);
    rc = run(cmd);
    char *o2 = slurp(out), *e3 = slurp(errf);
    CHECKF(rc == 0, "the resumed push: rc %d, %s", rc, e3);
    CHECK_CONTAINS(e3, "resuming after rowid");
    CHECK_CONTAINS(o2, "pushed 6 documents");
    free(o2);
    free(e3);
    fake_stop(fp);
    char *got = slurp(rec);
    for (int i = 0; i < N; i++) {
        int k = count_lines_with(got, ids[i]);
        CHECKF(k == (i == 1 ? 0 : 1), "document %s received %d times over both runs", ids[i], k);
    }
    free(got);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
