/* test_hub_pull.c — ss_hub_pull / ss_hub_list against tests/hub/fake_hub.py:
 * full download, file selection, resume (truncated .incomplete, dropped
 * connection), checksum mismatch, 404 / 401 messages, network failure,
 * offline mode, HF_ENDPOINT / HF_HOME / HF_TOKEN / HF_HUB_OFFLINE, listing. */
#include "test.h"
#include "hub/hub_fake.h"
#include "hub/hub_internal.h"

#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>

#define FIX SEMSEARCH_TESTS_DIR "/hub/fixture/test-org/"

static char scratch[1024];

typedef struct progress_log {
    int calls;
    uint64_t model_done, model_total;
} progress_log;

static void on_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    progress_log *p = user;
    p->calls++;
    if (!strcmp(file, "model.safetensors")) {
        p->model_done = done;
        p->model_total = total;
    }
}

static ss_hub_options opts_for(const fake_hub *h, const char *cache) {
    ss_hub_options o;
    memset(&o, 0, sizeof o);
    o.endpoint = h ? h->url : NULL;
    o.cache_dir = cache;
    o.connect_timeout_s = 5;
    o.stall_timeout_s = 10;
    return o;
}

static void path2(char *buf, size_t cap, const char *a, const char *b) { snprintf(buf, cap, "%s/%s", a, b); }

static const char *needed[] = {"config.json", "model.safetensors", "tokenizer.json",
                               "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                               "modules.json", "sentence_bert_config.json",
                               "config_sentence_transformers.json", "1_Pooling/config.json"};
static const char *skipped[] = {"pytorch_model.bin", "onnx/model.onnx", "onnx",
                                "openvino/openvino_model.xml", "tf_model.h5", "README.md"};

static void test_selection(void) {
    const char *names[] = {"config.json", "model.safetensors", "pytorch_model.bin", "onnx/model.onnx",
                           "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
                           "2_Dense/pytorch_model.bin", "3_Other/pytorch_model.bin", ".gitattributes",
                           "README.md", "tf_model.h5", "openvino/openvino_model.xml", "vocab.txt",
                           "sentencepiece.bpe.model", "1_Pooling/sub/config.json", "x/config.json"};
    int n = (int)(sizeof names / sizeof names[0]);
    CHECK(hub_want_file("config.json", names, n));
    CHECK(hub_want_file("model.safetensors", names, n));
    CHECK(!hub_want_file("pytorch_model.bin", names, n));
    CHECK(!hub_want_file("onnx/model.onnx", names, n));
    CHECK(hub_want_file("1_Pooling/config.json", names, n));
    CHECK(hub_want_file("2_Dense/config.json", names, n));
    CHECK(hub_want_file("2_Dense/model.safetensors", names, n));
    CHECK(!hub_want_file("2_Dense/pytorch_model.bin", names, n));
    CHECK(hub_want_file("3_Other/pytorch_model.bin", names, n));
    CHECK(!hub_want_file(".gitattributes", names, n));
    CHECK(!hub_want_file("README.md", names, n));
    CHECK(!hub_want_file("tf_model.h5", names, n));
    CHECK(!hub_want_file("openvino/openvino_model.xml", names, n));
    CHECK(hub_want_file("vocab.txt", names, n));
    CHECK(hub_want_file("sentencepiece.bpe.model", names, n));
    CHECK(!hub_want_file("1_Pooling/sub/config.json", names, n));
    CHECK(!hub_want_file("x/config.json", names, n));
    const char *only_bin[] = {"config.json", "pytorch_model.bin"};
    CHECK(hub_want_file("pytorch_model.bin", only_bin, 2));
    CHECK(!hub_safe_relpath("../config.json"));
    CHECK(!hub_safe_relpath("a/../../x.json"));
    CHECK(!hub_safe_relpath("/etc/passwd"));
    CHECK(!hub_safe_relpath("a//b.json"));
    CHECK(!hub_safe_relpath("model.safetensors.incomplete"));
    CHECK(hub_safe_relpath("1_Pooling/config.json"));

    ss_error err;
    char dir[4096];
    ss_hub_options o = opts_for(NULL, "/tmp/cache");
    CHECK(ss_hub_model_dir("../etc", &o, dir, sizeof dir, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "not a repository id");
    CHECK(ss_hub_model_dir("a/b/c", &o, dir, sizeof dir, &err) == SS_ERR_INVALID);
    CHECK(ss_hub_model_dir("org/na--me", &o, dir, sizeof dir, &err) == SS_ERR_INVALID);
    CHECK(ss_hub_model_dir("test-org/tiny-model", &o, dir, sizeof dir, &err) == SS_OK);
    CHECK(!strcmp(dir, "/tmp/cache/test-org--tiny-model"));
    o.revision = "refs/pr/1";
    CHECK(ss_hub_model_dir("test-org/tiny-model", &o, dir, sizeof dir, &err) == SS_OK);
    CHECK(!strcmp(dir, "/tmp/cache/test-org--tiny-model@refs--pr--1"));
    o.revision = "../../x";
    CHECK(ss_hub_model_dir("test-org/tiny-model", &o, dir, sizeof dir, &err) == SS_ERR_INVALID);
    o.revision = NULL;
    o.endpoint = "ftp://example.com";
    CHECK(ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "not an http");
}

static void check_model_folder(const char *dir, const char *fixture) {
    char a[4096], b[4096];
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        path2(a, sizeof a, dir, needed[i]);
        path2(b, sizeof b, fixture, needed[i]);
        CHECKF(same_file(a, b), "%s differs from the fixture or is missing", a);
    }
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++) {
        path2(a, sizeof a, dir, skipped[i]);
        CHECKF(!file_exists(a), "%s should not be downloaded", a);
    }
    path2(a, sizeof a, dir, ".semsearch-pull.json");
    CHECK(file_exists(a));
    path2(a, sizeof a, dir, "model.safetensors.incomplete");
    CHECK(!file_exists(a));
}

static void test_full_download_and_resume(fake_hub *h) {
    char cache[1100], dir[4096], part[4300], final[4200];
    snprintf(cache, sizeof cache, "%s/cache", scratch);
    ss_hub_options o = opts_for(h, cache);
    progress_log pl = {0};
    o.progress = on_progress;
    o.progress_user = &pl;
    ss_error err;

    fake_hub_clear_log(h);
    ss_status st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    char want[1200];
    snprintf(want, sizeof want, "%s/test-org--tiny-model", cache);
    CHECK(!strcmp(dir, want));
    check_model_folder(dir, FIX "tiny-model");
    long msize = file_size_of(FIX "tiny-model/model.safetensors");
    CHECK(pl.calls > 0);
    CHECK(pl.model_done == (uint64_t)msize && pl.model_total == (uint64_t)msize);
    CHECK(fake_hub_count(h, "/api/models/test-org/tiny-model/revision/main?blobs=true 200") == 1);
    CHECK(fake_hub_count(h, "/cdn/test-org/tiny-model/model.safetensors 200") == 1);
    CHECK(fake_hub_count(h, "onnx") == 0);
    CHECK(fake_hub_count(h, "pytorch_model.bin") == 0);
    CHECK(fake_hub_count(h, "auth=yes") == 0);

    /* again: everything is up to date, only the listing is fetched */
    fake_hub_clear_log(h);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(fake_hub_count(h, "GET") == 1);

    /* resume: a truncated .incomplete is continued with a Range request */
    path2(final, sizeof final, dir, "model.safetensors");
    snprintf(part, sizeof part, "%s.incomplete", final);
    remove(final);
    write_prefix(FIX "tiny-model/model.safetensors", part, 30000, -1);
    fake_hub_clear_log(h);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(fake_hub_count(h, "range=bytes=30000-") == 2); /* the hub's 302, the CDN's 206 */
    CHECK(fake_hub_count(h, "/cdn/test-org/tiny-model/model.safetensors 206 range=bytes=30000-") == 1);
    CHECK(fake_hub_count(h, "range=-") == 1); /* the listing only */
    CHECK(same_file(final, FIX "tiny-model/model.safetensors"));
    CHECK(!file_exists(part));

    /* resume from a corrupt partial file: the sha256 check fails, it starts over */
    remove(final);
    write_prefix(NULL, part, 30000, 'x');
    fake_hub_clear_log(h);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(fake_hub_count(h, "/cdn/test-org/tiny-model/model.safetensors 206 range=bytes=30000-") == 1);
    CHECK(fake_hub_count(h, "/cdn/test-org/tiny-model/model.safetensors 200 range=-") == 1);
    CHECK(same_file(final, FIX "tiny-model/model.safetensors"));

    /* a partial file longer than the real one is discarded */
    remove(final);
    write_prefix(NULL, part, msize + 100, 'y');
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(same_file(final, FIX "tiny-model/model.safetensors"));

    /* a small file edited locally (its manifest entry no longer fits) is fetched again */
    char vocab[4200];
    path2(vocab, sizeof vocab, dir, "vocab.txt");
    write_prefix(NULL, vocab, 3, 'z');
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(same_file(vocab, FIX "tiny-model/vocab.txt"));

    /* a second pull of the same folder while one runs is refused */
    char lockpath[4200];
    path2(lockpath, sizeof lockpath, dir, ".lock");
    int lfd = open(lockpath, O_RDWR | O_CREAT, 0644);
    CHECK(lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "another pull of 'test-org/tiny-model' is running");
    if (lfd >= 0) close(lfd);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);

    /* another revision lands in its own folder */
    o.revision = "v1.0";
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(strstr(dir, "test-org--tiny-model@v1.0") != NULL);
    o.revision = "v9";
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "revision 'v9' not found");
}

static void test_dropped_connection(void) {
    /* The server drops the connection after 20000 bytes, twice. */
    char log[1100], cache[1100], dir[4096], part[4200];
    snprintf(log, sizeof log, "%s/cut.log", scratch);
    snprintf(cache, sizeof cache, "%s/cut-cache", scratch);
    const char *extra[] = {"--cut", "model.safetensors:20000", "--cut", "model.safetensors:20000", NULL};
    fake_hub h;
    REQUIRE(fake_hub_start(&h, log, extra) == 0);
    ss_hub_options o = opts_for(&h, cache);
    ss_error err;

    /* no retries: fails, keeps the partial file, says so */
    o.retries = -1;
    ss_status st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "network error");
    CHECK_CONTAINS(err.msg, "partial download kept");
    snprintf(part, sizeof part, "%s/test-org--tiny-model/model.safetensors.incomplete", cache);
    CHECK(file_size_of(part) == 20000);
    char final[4200];
    snprintf(final, sizeof final, "%s/test-org--tiny-model/model.safetensors", cache);
    CHECK(!file_exists(final));
    snprintf(final, sizeof final, "%s/test-org--tiny-model/.semsearch-pull.json", cache);
    CHECK(!file_exists(final));

    /* with retries: the second cut happens at 20000 + 20000, the retry finishes */
    o.retries = 0;
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(fake_hub_count(&h, "range=bytes=20000-") == 2);
    CHECK(fake_hub_count(&h, "range=bytes=40000-") == 2);
    snprintf(final, sizeof final, "%s/model.safetensors", dir);
    CHECK(same_file(final, FIX "tiny-model/model.safetensors"));
    CHECK(!file_exists(part));
    fake_hub_stop(&h);
}

static void test_errors(fake_hub *h) {
    char cache[1100], dir[4096], p[4300];
    snprintf(cache, sizeof cache, "%s/err-cache", scratch);
    ss_hub_options o = opts_for(h, cache);
    ss_error err;

    /* checksum mismatch: refused, no final file, no partial, no manifest */
    ss_status st = ss_hub_pull("test-org/corrupt-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "checksum mismatch");
    CHECK_CONTAINS(err.msg, "model.safetensors");
    CHECK_CONTAINS(err.msg, "0000000000000000000000000000000000000000000000000000000000000000");
    snprintf(p, sizeof p, "%s/test-org--corrupt-model/model.safetensors", cache);
    CHECK(!file_exists(p));
    snprintf(p, sizeof p, "%s/test-org--corrupt-model/model.safetensors.incomplete", cache);
    CHECK(!file_exists(p));
    snprintf(p, sizeof p, "%s/test-org--corrupt-model/.semsearch-pull.json", cache);
    CHECK(!file_exists(p));

    /* a body longer than the listing declared (80 KB listed, 64 MB sent):
     * stopped at the declared size, not written to the end and then refused */
    fake_hub_clear_log(h);
    st = ss_hub_pull("test-org/oversized-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_FORMAT);
    printf("  oversized body: %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "model.safetensors");
    CHECK_CONTAINS(err.msg, "more than the");
    snprintf(p, sizeof p, "%s/test-org--oversized-model/model.safetensors", cache);
    CHECK(!file_exists(p));
    snprintf(p, sizeof p, "%s/test-org--oversized-model/model.safetensors.incomplete", cache);
    CHECK(!file_exists(p) || file_size_of(p) <= file_size_of(FIX "oversized-model/model.safetensors"));
    { /* the server sees the hang-up once its socket buffers drain: wait for it */
        int aborted = 0;
        for (int i = 0; i < 100 && !aborted; i++) {
            char *log = fake_hub_log(h);
            aborted = log && strstr(log, "ABORTED /cdn/test-org/oversized-model/model.safetensors") != NULL;
            free(log);
            if (!aborted) usleep(100 * 1000);
        }
        CHECKF(aborted, "the client read the whole 64 MB body");
    }

    /* 404: repository, file */
    st = ss_hub_pull("test-org/no-such-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "repository 'test-org/no-such-model' not found");
    CHECK_CONTAINS(err.msg, "HTTP 404");
    st = ss_hub_pull("test-org/missing-file", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "file 'vocab.txt' not found");

    /* not a usable model */
    st = ss_hub_pull("test-org/no-weights", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "no model.safetensors");

    /* gated: 401 without a token, refused with a wrong one, fine with the right one */
    st = ss_hub_pull("test-org/gated-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "HTTP 401");
    CHECK_CONTAINS(err.msg, "set HF_TOKEN");
    o.token = "wrong";
    st = ss_hub_pull("test-org/gated-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "HF_TOKEN was refused");
    o.token = "sesame";
    st = ss_hub_pull("test-org/gated-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    o.token = NULL;
    setenv("HF_TOKEN", "sesame", 1);
    st = ss_hub_pull("test-org/gated-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    unsetenv("HF_TOKEN");

    /* network failure: a port nobody listens on */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0) close(s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    o.endpoint = url;
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_IO);
    CHECK_CONTAINS(err.msg, "network error");
    CHECK_CONTAINS(err.msg, url);
}

static void test_offline_and_env(fake_hub *h) {
    char home[1100], dir[4096], want[1300], p[4300];
    snprintf(home, sizeof home, "%s/hfhome", scratch);
    setenv("HF_HOME", home, 1);
    setenv("HF_ENDPOINT", h->url, 1);
    ss_error err;

    /* offline, nothing cached: a clear error, no request */
    fake_hub_clear_log(h);
    setenv("HF_HUB_OFFLINE", "1", 1);
    ss_status st = ss_hub_pull("test-org/tiny-model", NULL, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "offline");
    CHECK_CONTAINS(err.msg, "not in the cache");
    CHECK(fake_hub_count(h, "GET") == 0);
    unsetenv("HF_HUB_OFFLINE");

    /* online with HF_ENDPOINT + HF_HOME only */
    st = ss_hub_pull("test-org/tiny-model", NULL, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    snprintf(want, sizeof want, "%s/semsearch/models/test-org--tiny-model", home);
    CHECK(!strcmp(dir, want));
    check_model_folder(dir, FIX "tiny-model");
    CHECK(fake_hub_count(h, "GET /api/models/test-org/tiny-model") == 1);
    char cache[4096];
    CHECK(ss_hub_cache_dir(NULL, cache, sizeof cache, &err) == SS_OK);
    snprintf(want, sizeof want, "%s/semsearch/models", home);
    CHECK(!strcmp(cache, want));

    /* offline with the cache: fine, without the network */
    fake_hub_clear_log(h);
    setenv("HF_HUB_OFFLINE", "true", 1);
    st = ss_hub_pull("test-org/tiny-model", NULL, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    unsetenv("HF_HUB_OFFLINE");
    ss_hub_options o = opts_for(NULL, NULL);
    o.offline = 1;
    o.endpoint = "http://127.0.0.1:1"; /* never contacted */
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    CHECK(fake_hub_count(h, "GET") == 0);

    /* offline with a file gone: incomplete */
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    remove(p);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "incomplete");
    CHECK_CONTAINS(err.msg, "tokenizer.json");
    /* offline with no manifest: partly downloaded */
    snprintf(p, sizeof p, "%s/.semsearch-pull.json", dir);
    remove(p);
    st = ss_hub_pull("test-org/tiny-model", &o, dir, sizeof dir, &err);
    CHECK(st == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "partly downloaded");
    /* online again repairs it */
    st = ss_hub_pull("test-org/tiny-model", NULL, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    check_model_folder(dir, FIX "tiny-model");

    /* list the HF_HOME cache */
    st = ss_hub_pull("test-org/dense-model", NULL, dir, sizeof dir, &err);
    CHECKF(st == SS_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/2_Dense/model.safetensors", dir);
    CHECK(same_file(p, FIX "dense-model/2_Dense/model.safetensors"));
    snprintf(p, sizeof p, "%s/2_Dense/pytorch_model.bin", dir);
    CHECK(!file_exists(p));
    ss_hub_model *m = NULL;
    int n = ss_hub_list(NULL, &m, &err);
    CHECKF(n == 2, "n = %d (%s)", n, err.msg);
    if (n == 2) {
        CHECK(!strcmp(m[0].name, "test-org/dense-model"));
        CHECK(m[0].dim == 16);
        CHECK(!strcmp(m[0].pooling, "cls"));
        CHECK(m[0].max_seq_length == 64); /* min(max_position_embeddings, model_max_length) */
        CHECK(m[0].normalize == 1);
        CHECK(m[0].complete == 1);
        CHECK(!strcmp(m[1].name, "test-org/tiny-model"));
        CHECK(!strcmp(m[1].revision, "main"));
        CHECK(!strcmp(m[1].commit, "0123456789abcdef0123456789abcdef01234567"));
        CHECK(m[1].dim == 32);
        CHECK(!strcmp(m[1].pooling, "mean"));
        CHECK(m[1].max_seq_length == 128);
        CHECK(m[1].complete == 1);
        CHECK(m[1].size_bytes > (uint64_t)file_size_of(FIX "tiny-model/model.safetensors"));
        CHECK_CONTAINS(m[1].path, "/semsearch/models/test-org--tiny-model");
    }
    ss_hub_list_free(m, n);

    /* an interrupted pull shows up as incomplete */
    snprintf(p, sizeof p, "%s/semsearch/models/test-org--tiny-model/.semsearch-pull.json", home);
    remove(p);
    n = ss_hub_list(NULL, &m, &err);
    CHECK(n == 2 && !m[1].complete && !strcmp(m[1].name, "test-org/tiny-model"));
    ss_hub_list_free(m, n);

    /* an empty / missing cache is an empty list */
    o = opts_for(NULL, "/nonexistent/semsearch-cache");
    n = ss_hub_list(&o, &m, &err);
    CHECK(n == 0 && m == NULL);
    unsetenv("HF_HOME");
    unsetenv("HF_ENDPOINT");
}

int main(void) {
    no_proxy_for_loopback();
    unsetenv("HF_TOKEN");
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_ENDPOINT");
    REQUIRE(make_scratch(scratch, sizeof scratch, "hub") == 0);
    char log[1100];
    snprintf(log, sizeof log, "%s/hub.log", scratch);
    const char *extra[] = {"--token", "sesame", NULL};
    fake_hub h;
    REQUIRE(fake_hub_start(&h, log, extra) == 0);

    test_selection();
    test_full_download_and_resume(&h);
    test_errors(&h);
    test_offline_and_env(&h);
    test_dropped_connection();

    fake_hub_stop(&h);
    if (!getenv("SEMSEARCH_KEEP_SCRATCH")) rm_rf(scratch);
    return TEST_REPORT();
}
