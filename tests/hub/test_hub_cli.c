/* test_hub_cli.c — `semsearch pull` and `semsearch models` (the built CLI,
 * SEMSEARCH_CLI) against tests/hub/fake_hub.py, configured through HF_ENDPOINT
 * and HF_HOME like a user would. */
#include "test.h"
#include "hub/hub_fake.h"

#include <cjson/cJSON.h>

static char scratch[1024];

typedef struct run_result {
    int code;
    char *out, *err;
} run_result;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) b[0] = '\0';
    fclose(f);
    return b;
}

/* Run `CLI args` (args are shell words we wrote ourselves), stdin from /dev/null. */
static run_result run_cli(const char *args) {
    char out[1200], err[1200], cmd[4096];
    snprintf(out, sizeof out, "%s/out.txt", scratch);
    snprintf(err, sizeof err, "%s/err.txt", scratch);
    snprintf(cmd, sizeof cmd, "timeout 120 '%s' %s </dev/null >'%s' 2>'%s'", SEMSEARCH_CLI, args, out, err);
    int st = system(cmd);
    run_result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

static void run_free(run_result *r) {
    free(r->out);
    free(r->err);
}

int main(void) {
    no_proxy_for_loopback();
    unsetenv("HF_TOKEN");
    unsetenv("HF_HUB_OFFLINE");
    REQUIRE(file_exists(SEMSEARCH_CLI));
    REQUIRE(make_scratch(scratch, sizeof scratch, "hubcli") == 0);
    char log[1100], home[1100], want[1300];
    snprintf(log, sizeof log, "%s/hub.log", scratch);
    snprintf(home, sizeof home, "%s/hf home", scratch); /* a space, on purpose */
    fake_hub h;
    REQUIRE(fake_hub_start(&h, log, NULL) == 0);
    setenv("HF_ENDPOINT", h.url, 1);
    setenv("HF_HOME", home, 1);

    /* nothing cached yet */
    run_result r = run_cli("models");
    CHECK(r.code == 0);
    CHECK_CONTAINS(r.err, "no models in");
    run_free(&r);

    /* pull: the folder's path on stdout, nothing on stderr (not a terminal) */
    r = run_cli("pull test-org/tiny-model");
    CHECKF(r.code == 0, "exit %d: %s", r.code, r.err);
    snprintf(want, sizeof want, "%s/semsearch/models/test-org--tiny-model\n", home);
    CHECKF(!strcmp(r.out, want), "stdout: %s", r.out);
    CHECKF(r.err[0] == '\0', "stderr: %s", r.err);
    run_free(&r);
    char p[1400];
    snprintf(p, sizeof p, "%s/semsearch/models/test-org--tiny-model/model.safetensors", home);
    CHECK(same_file(p, SEMSEARCH_TESTS_DIR "/hub/fixture/test-org/tiny-model/model.safetensors"));

    r = run_cli("pull test-org/tiny-model --revision v1.0 --quiet");
    CHECKF(r.code == 0, "exit %d: %s", r.code, r.err);
    CHECK_CONTAINS(r.out, "test-org--tiny-model@v1.0\n");
    run_free(&r);
    r = run_cli("pull test-org/dense-model");
    CHECKF(r.code == 0, "exit %d: %s", r.code, r.err);
    run_free(&r);

    /* models: a table */
    r = run_cli("models");
    CHECK(r.code == 0);
    CHECK_CONTAINS(r.out, "NAME");
    CHECK_CONTAINS(r.out, "POOLING");
    CHECK_CONTAINS(r.out, "test-org/dense-model");
    CHECK_CONTAINS(r.out, "test-org/tiny-model@v1.0");
    CHECK_CONTAINS(r.out, "mean+norm");
    CHECK_CONTAINS(r.out, "cls+norm");
    CHECK_CONTAINS(r.out, "128");
    CHECK_CONTAINS(r.out, "semsearch/models/test-org--tiny-model");
    CHECK(strstr(r.out, "incomplete") == NULL);
    printf("%s", r.out);
    run_free(&r);

    /* models --json */
    r = run_cli("models --json");
    CHECK(r.code == 0);
    cJSON *j = cJSON_Parse(r.out);
    CHECKF(j != NULL, "not JSON: %s", r.out);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(j, "models");
    CHECK(cJSON_GetArraySize(models) == 3);
    const cJSON *cache = cJSON_GetObjectItemCaseSensitive(j, "cache_dir");
    CHECK(cJSON_IsString(cache) && strstr(cache->valuestring, "/semsearch/models"));
    int seen = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, models) {
        const char *name = cJSON_GetObjectItemCaseSensitive(m, "name")->valuestring;
        const char *rev = cJSON_GetObjectItemCaseSensitive(m, "revision")->valuestring;
        if (!strcmp(name, "test-org/tiny-model") && !strcmp(rev, "main")) {
            seen++;
            CHECK(cJSON_GetObjectItemCaseSensitive(m, "dim")->valuedouble == 32);
            CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(m, "pooling")->valuestring, "mean"));
            CHECK(cJSON_GetObjectItemCaseSensitive(m, "max_seq_length")->valuedouble == 128);
            CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "normalize")));
            CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "complete")));
            CHECK(cJSON_GetObjectItemCaseSensitive(m, "size_bytes")->valuedouble > 80000);
            CHECK_CONTAINS(cJSON_GetObjectItemCaseSensitive(m, "path")->valuestring,
                           "test-org--tiny-model");
        }
        if (!strcmp(name, "test-org/dense-model")) {
            seen++;
            CHECK(cJSON_GetObjectItemCaseSensitive(m, "dim")->valuedouble == 16);
            CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(m, "pooling")->valuestring, "cls"));
        }
    }
    CHECK(seen == 2);
    cJSON_Delete(j);
    run_free(&r);

    /* offline: fine when cached (no request), a clear error when not */
    fake_hub_clear_log(&h);
    r = run_cli("pull test-org/tiny-model --offline");
    CHECKF(r.code == 0, "exit %d: %s", r.code, r.err);
    run_free(&r);
    setenv("HF_HUB_OFFLINE", "1", 1);
    r = run_cli("pull test-org/tiny-model");
    CHECKF(r.code == 0, "exit %d: %s", r.code, r.err);
    run_free(&r);
    r = run_cli("pull test-org/gated-model");
    CHECK(r.code == 1);
    CHECK_CONTAINS(r.err, "semsearch pull: offline mode");
    CHECK_CONTAINS(r.err, "not in the cache");
    run_free(&r);
    unsetenv("HF_HUB_OFFLINE");
    CHECK(fake_hub_count(&h, "GET") == 0);

    /* errors */
    r = run_cli("pull test-org/no-such-model");
    CHECK(r.code == 1);
    CHECK_CONTAINS(r.err, "repository 'test-org/no-such-model' not found");
    run_free(&r);
    r = run_cli("pull test-org/gated-model");
    CHECK(r.code == 1);
    CHECK_CONTAINS(r.err, "HF_TOKEN");
    CHECK_CONTAINS(r.err, "gated or private");
    run_free(&r);
    r = run_cli("pull test-org/corrupt-model");
    CHECK(r.code == 1);
    CHECK_CONTAINS(r.err, "checksum mismatch");
    run_free(&r);
    r = run_cli("pull not/a/repo");
    CHECK(r.code == 1);
    CHECK_CONTAINS(r.err, "not a repository id");
    run_free(&r);
    r = run_cli("pull");
    CHECK(r.code == 2);
    run_free(&r);
    r = run_cli("pull test-org/tiny-model --bogus");
    CHECK(r.code == 2);
    CHECK_CONTAINS(r.err, "unknown option --bogus");
    run_free(&r);
    r = run_cli("pull --help");
    CHECK(r.code == 0);
    CHECK_CONTAINS(r.out, "HF_TOKEN");
    run_free(&r);
    r = run_cli("models --help");
    CHECK(r.code == 0);
    CHECK_CONTAINS(r.out, "--json");
    run_free(&r);

    /* the corrupt pull left an incomplete folder: models says so */
    r = run_cli("models");
    CHECK_CONTAINS(r.out, "test-org/corrupt-model *");
    CHECK_CONTAINS(r.out, "incomplete download");
    run_free(&r);

    fake_hub_stop(&h);
    if (!getenv("SEMSEARCH_KEEP_SCRATCH")) rm_rf(scratch);
    return TEST_REPORT();
}
