/* Bad inputs get clear errors that say what, where and why — and never crash:
 * a missing model folder, corrupt / truncated / empty safetensors, weights
 * that disagree with config.json, a missing tensor, an unknown model_type,
 * malformed JSON, and invalid UTF-8 text. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "semsearch.h"
#include "test.h"

static char tmpdir[256];

static void copy_file(const char *from, const char *to, long limit) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    REQUIRE(a && b);
    char buf[1 << 16];
    long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) {
        if (limit >= 0 && total + (long)n > limit) n = (size_t)(limit - total);
        fwrite(buf, 1, n, b);
        total += (long)n;
        if (limit >= 0 && total >= limit) break;
    }
    fclose(a);
    fclose(b);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* A fresh copy of the real model folder in tmpdir/name; weights truncated to
 * `limit` bytes when limit >= 0. Returns the folder. */
static const char *make_model(const char *name, long limit) {
    static char dir[512];
    char from[1024], to[1024];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    const char *files[] = {"config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "modules.json",
                           "sentence_bert_config.json", "special_tokens_map.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", SEMSEARCH_MODEL_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        copy_file(from, to, -1);
    }
    snprintf(to, sizeof to, "%s/1_Pooling", dir);
    mkdir(to, 0755);
    snprintf(from, sizeof from, "%s/1_Pooling/config.json", SEMSEARCH_MODEL_DIR);
    snprintf(to, sizeof to, "%s/1_Pooling/config.json", dir);
    copy_file(from, to, -1);
    snprintf(from, sizeof from, "%s/model.safetensors", SEMSEARCH_MODEL_DIR);
    snprintf(to, sizeof to, "%s/model.safetensors", dir);
    copy_file(from, to, limit);
    return dir;
}

static void expect_load_error(const char *dir, const char *needle1, const char *needle2) {
    ss_error err = {0};
    ss_model *m = ss_model_load(dir, NULL, &err);
    CHECKF(m == NULL, "loading %s should fail", dir);
    ss_model_free(m);
    CHECK(err.code != SS_OK);
    printf("  %s\n", err.msg);
    CHECK_CONTAINS(err.msg, needle1);
    if (needle2) CHECK_CONTAINS(err.msg, needle2);
    CHECK_CONTAINS(err.msg, dir); /* where */
}

static void replace_in_file(const char *path, const char *from, const char *to) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    char *p = strstr(buf, from);
    REQUIRE(p != NULL);
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
    write_file(path, out);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/semsearch-test-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char path[1024];

    printf("missing folder:\n");
    expect_load_error("/nonexistent/model-folder", "does not exist", NULL);

    printf("truncated weights (header cut):\n");
    expect_load_error(make_model("cut-header", 1000), "model.safetensors", "exceeds");

    printf("truncated weights (data cut):\n");
    expect_load_error(make_model("cut-data", 50 * 1000 * 1000), "model.safetensors", "truncated");

    printf("empty weights file:\n");
    expect_load_error(make_model("empty", 0), "model.safetensors", "empty");

    printf("corrupt header:\n");
    const char *dir = make_model("garbage", 8);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    { /* a plausible length followed by non-JSON bytes */
        FILE *f = fopen(path, "wb");
        uint64_t len = 16;
        fwrite(&len, 8, 1, f);
        fputs("this is not json", f);
        fclose(f);
    }
    expect_load_error(dir, "model.safetensors", "not a valid JSON");

    printf("wrong dimensions in config.json:\n");
    dir = make_model("wrong-dims", -1);
    snprintf(path, sizeof path, "%s/config.json", dir);
    replace_in_file(path, "\"hidden_size\": 384", "\"hidden_size\": 768");
    expect_load_error(dir, "embeddings.word_embeddings.weight", "has shape [30522, 384], expected [30522, 768]");

    printf("missing tensor:\n");
    dir = make_model("missing-layer", -1);
    snprintf(path, sizeof path, "%s/config.json", dir);
    replace_in_file(path, "\"num_hidden_layers\": 6", "\"num_hidden_layers\": 7");
    expect_load_error(dir, "missing tensor", "encoder.layer.6.");

    printf("unknown model_type:\n");
    dir = make_model("gpt2", -1);
    snprintf(path, sizeof path, "%s/config.json", dir);
    replace_in_file(path, "\"model_type\": \"bert\"", "\"model_type\": \"gpt2\"");
    expect_load_error(dir, "model_type \"gpt2\" is not supported", "config.json");

    printf("empty config.json:\n");
    dir = make_model("empty-config", -1);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, "");
    expect_load_error(dir, "config.json", "invalid JSON");

    printf("malformed pooling config:\n");
    dir = make_model("bad-pooling", -1);
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    write_file(path, "{\"word_embedding_dimension\": 384,");
    expect_load_error(dir, "1_Pooling/config.json", "invalid JSON");

    printf("invalid UTF-8 text:\n");
    ss_error err = {0};
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, NULL, &err);
    REQUIRE(m != NULL);
    const char *texts[] = {"fine", "also fine", "bad \xff byte", "fine again"};
    float out[4 * 384];
    ss_status s = ss_encode(m, texts, 4, NULL, out, &err);
    printf("  %s\n", err.msg);
    CHECK(s == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "text 2");
    CHECK_CONTAINS(err.msg, "invalid UTF-8");
    CHECK_CONTAINS(err.msg, "byte offset 4");
    const char *trunc[] = {"cut \xe2\x82"}; /* a 3-byte sequence missing its last byte */
    CHECK(ss_encode(m, trunc, 1, NULL, out, &err) == SS_ERR_INVALID);
    CHECK_CONTAINS(err.msg, "invalid UTF-8");
    /* an input error loses nothing: the model still works afterwards */
    CHECK(ss_encode(m, texts, 2, NULL, out, &err) == SS_OK);
    ss_model_free(m);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
