/* Every config value is range-checked against the forward pass and the tensors
 * it describes, and module paths stay inside the model folder (issue 13 items
 * 3, 4, 14): each mutated copy of a tiny seeded model must fail to load with an
 * error naming the file, the key and the value — never crash, never load into
 * garbage vectors. */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "test.h"

static char tmpdir[256];

static void sh(const char *fmt, const char *a, const char *b) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    REQUIRE(system(cmd) == 0);
}

/* A fresh copy of tests/models/NAME in tmpdir/case. */
static const char *copy_model(const char *name, const char *casename) {
    static char dir[512];
    char from[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, casename);
    snprintf(from, sizeof from, "%s/models/%s", SEMSEARCH_TESTS_DIR, name);
    sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
    sh("cp -r '%s'/. '%s'", from, dir);
    return dir;
}

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    REQUIRE(j != NULL);
    return j;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Set KEY to the raw JSON text RAW in DIR/FILE (written as text, so that
 * values cJSON would not print — 1e999, NaN — reach the loader as written). */
static void set_key(const char *dir, const char *file, const char *key, const char *raw) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cJSON *j = read_json(path);
    cJSON_DeleteItemFromObjectCaseSensitive(j, key);
    char *text = cJSON_PrintUnformatted(j);
    size_t n = strlen(text);
    REQUIRE(n >= 2 && text[n - 1] == '}');
    text[n - 1] = 0;
    char out[16384];
    snprintf(out, sizeof out, "%s%s\"%s\": %s}", text, n > 2 ? ", " : "", key, raw);
    write_text(path, out);
    free(text);
    cJSON_Delete(j);
}

static void expect_fail(const char *dir, const char *n1, const char *n2, const char *n3) {
    ss_error err = {0};
    ss_model *m = ss_model_load(dir, NULL, &err);
    CHECKF(m == NULL, "loading %s should fail (%s)", dir, n1);
    if (m) {
        ss_model_free(m);
        return;
    }
    printf("  %s\n", err.msg);
    CHECK(err.code != SS_OK);
    CHECK_CONTAINS(err.msg, n1);
    if (n2) CHECK_CONTAINS(err.msg, n2);
    if (n3) CHECK_CONTAINS(err.msg, n3);
}

/* tests/models/MODEL with config.json's KEY set to VALUE must fail naming both. */
static void bad_value(const char *model, const char *key, const char *value, const char *shown) {
    char name[128];
    snprintf(name, sizeof name, "%s-%s", model, key);
    const char *dir = copy_model(model, name);
    set_key(dir, "config.json", key, value);
    printf("%s %s = %s:\n", model, key, value);
    expect_fail(dir, "config.json", key, shown);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/semsearch-cfg-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    const char *B = "bert-mean-normalize", *M = "mpnet-mean-normalize";

    printf("the unmodified tiny models load:\n");
    {
        ss_error err = {0};
        ss_model *m = ss_model_load(copy_model(B, "ok-bert"), NULL, &err);
        CHECKF(m != NULL, "%s", err.msg);
        ss_model_free(m);
        m = ss_model_load(copy_model(M, "ok-mpnet"), NULL, &err);
        CHECKF(m != NULL, "%s", err.msg);
        ss_model_free(m);
    }

    /* values the forward pass cannot use */
    bad_value(M, "pad_token_id", "-5", "-5");
    bad_value(M, "pad_token_id", "30527", "30527");
    for (int b = 0; b <= 3; b++) {
        char v[8];
        snprintf(v, sizeof v, "%d", b);
        bad_value(M, "relative_attention_num_buckets", v, v);
    }
    bad_value(M, "relative_attention_num_buckets", "512", "512");
    bad_value(M, "relative_attention_num_buckets", "16", "16"); /* valid value, but the tensor has 32 rows */
    bad_value(B, "intermediate_size", "0", "0");
    bad_value(B, "intermediate_size", "65", "65");
    bad_value(B, "type_vocab_size", "-1", "-1");
    bad_value(B, "type_vocab_size", "0", "0");
    bad_value(B, "type_vocab_size", "3", "3");
    bad_value(B, "layer_norm_eps", "-1", "-1");
    bad_value(B, "layer_norm_eps", "0", "0");
    bad_value(B, "layer_norm_eps", "1e999", "inf");
    bad_value(B, "hidden_size", "33", "33");
    bad_value(B, "num_attention_heads", "5", "5");
    bad_value(B, "num_attention_heads", "0", "0");
    bad_value(B, "max_position_embeddings", "-87", "-87");
    bad_value(B, "max_position_embeddings", "100", "100");
    bad_value(M, "max_position_embeddings", "2", "2");
    bad_value(B, "vocab_size", "0", "0");
    bad_value(B, "vocab_size", "100", "100");
    bad_value(B, "vocab_size", "30522.5", "30522.5");
    bad_value(B, "vocab_size", "\"30522\"", NULL);
    bad_value(B, "num_hidden_layers", "1", "1"); /* the file has 2: unused tensors */
    bad_value(B, "num_hidden_layers", "3", "3"); /* missing layer */
    bad_value(B, "num_hidden_layers", "0", "0");

    printf("layer_norm_eps NaN (not JSON):\n");
    {
        const char *dir = copy_model(B, "eps-nan");
        set_key(dir, "config.json", "layer_norm_eps", "NaN");
        expect_fail(dir, "config.json", "NaN", "invalid JSON");
    }

    printf("config.json nested 1,001 deep:\n");
    {
        const char *dir = copy_model(B, "deep");
        char path[1024];
        snprintf(path, sizeof path, "%s/config.json", dir);
        FILE *f = fopen(path, "wb");
        REQUIRE(f != NULL);
        for (int i = 0; i < 1001; i++) fputc('[', f);
        for (int i = 0; i < 1001; i++) fputc(']', f);
        fclose(f);
        expect_fail(dir, "config.json", "nesting too deep", "1001");
    }

    printf("a folder where a file belongs:\n");
    {
        const char *dir = copy_model(B, "dir-as-file");
        sh("rm '%s'/model.safetensors && mkdir '%s'/model.safetensors", dir, dir);
        expect_fail(dir, "model.safetensors is a directory, expected a file", NULL, NULL);
    }

    printf("sentence_bert_config.json max_seq_length 1 / 0 / -3 / beyond the positions:\n");
    const char *bad_msl[] = {"1", "0", "-3", "513"};
    for (int i = 0; i < 4; i++) {
        const char *dir = copy_model(B, "msl");
        set_key(dir, "sentence_bert_config.json", "max_seq_length", bad_msl[i]);
        expect_fail(dir, "sentence_bert_config.json", "max_seq_length", bad_msl[i]);
    }

    printf("1_Pooling word_embedding_dimension disagrees with hidden_size:\n");
    {
        const char *dir = copy_model(B, "wed");
        set_key(dir, "1_Pooling/config.json", "word_embedding_dimension", "64");
        expect_fail(dir, "1_Pooling/config.json", "word_embedding_dimension", "64");
    }

    printf("prompts: invalid UTF-8, unknown default_prompt_name:\n");
    {
        const char *dir = copy_model("bert-prompts", "prompt-utf8");
        char path[1024];
        snprintf(path, sizeof path, "%s/config_sentence_transformers.json", dir);
        write_text(path, "{\"prompts\": {\"query\": \"bad \xff prompt\"}, \"default_prompt_name\": null}");
        expect_fail(dir, "config_sentence_transformers.json", "prompts", "UTF-8");
        write_text(path, "{\"prompts\": {\"query\": \"q: \"}, \"default_prompt_name\": \"nope\"}");
        expect_fail(dir, "config_sentence_transformers.json", "default_prompt_name", "nope");
        /* more than 16 prompts: all kept */
        char big[4096] = "{\"prompts\": {";
        for (int i = 0; i < 20; i++)
            snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"p%d\": \"prompt %d: \"", i ? ", " : "", i, i);
        strcat(big, "}, \"default_prompt_name\": \"p19\"}");
        write_text(path, big);
        ss_error err = {0};
        ss_model *m = ss_model_load(dir, NULL, &err);
        CHECKF(m != NULL, "%s", err.msg);
        if (m) CHECK(ss_model_prompt(m, "p19") && !strcmp(ss_model_prompt(m, "p19"), "prompt 19: "));
        ss_model_free(m);
    }

    printf("Dense modules: pickle only, in/out features, activation, weight shape:\n");
    {
        const char *dir = copy_model("bert-dense", "dense-bin");
        sh("rm '%s'/2_Dense/model.safetensors%s", dir, "");
        expect_fail(dir, "2_Dense", "pytorch_model.bin", "model.safetensors");
        dir = copy_model("bert-dense", "dense-in");
        set_key(dir, "2_Dense/config.json", "in_features", "31");
        expect_fail(dir, "2_Dense/config.json", "in_features", "31");
        dir = copy_model("bert-dense", "dense-out");
        set_key(dir, "2_Dense/config.json", "out_features", "0");
        expect_fail(dir, "2_Dense/config.json", "out_features", "0");
        dir = copy_model("bert-dense", "dense-chain");
        set_key(dir, "2_Dense/config.json", "out_features", "20"); /* 3_Dense expects 24 inputs */
        expect_fail(dir, "3_Dense/config.json", "in_features", "24");
        dir = copy_model("bert-dense", "dense-act");
        set_key(dir, "2_Dense/config.json", "activation_function", "\"torch.nn.modules.activation.Softsign\"");
        expect_fail(dir, "2_Dense/config.json", "activation_function", "Softsign");
        dir = copy_model("bert-dense", "dense-shape");
        set_key(dir, "3_Dense/config.json", "in_features", "24");
        set_key(dir, "2_Dense/config.json", "out_features", "24");
        sh("cp '%s'/2_Dense/model.safetensors '%s'/3_Dense/model.safetensors", dir, dir);
        expect_fail(dir, "3_Dense/model.safetensors", "linear.weight", "[24, 32]");
        dir = copy_model("bert-dense", "dense-bias");
        set_key(dir, "2_Dense/config.json", "bias", "false");
        expect_fail(dir, "2_Dense", "linear.bias", "false");
    }

    printf("modules.json paths that leave the folder:\n");
    {
        const char *dir = copy_model(B, "escape");
        char outside[600], path[1024];
        snprintf(outside, sizeof outside, "%s/outside", tmpdir);
        sh("mkdir -p '%s'%s", outside, "");
        sh("cp '%s'/1_Pooling/config.json '%s'/", dir, outside);
        const char *escapes[] = {"../outside", "../../outside", "1_Pooling/../../outside", "/tmp"};
        for (int i = 0; i < 4; i++) {
            char mods[1024];
            snprintf(mods, sizeof mods,
                     "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
                     "{\"idx\":1,\"name\":\"1\",\"path\":\"%s\",\"type\":\"sentence_transformers.models.Pooling\"}]",
                     escapes[i]);
            snprintf(path, sizeof path, "%s/modules.json", dir);
            write_text(path, mods);
            expect_fail(dir, "modules.json", escapes[i], "leaves the model folder");
        }
        /* a symlink inside the folder that points out of it */
        sh("ln -s '%s' '%s'/linked", outside, dir);
        write_text(path, "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
                         "{\"idx\":1,\"name\":\"1\",\"path\":\"linked\",\"type\":\"sentence_transformers.models.Pooling\"}]");
        expect_fail(dir, "modules.json", "linked", "outside the model folder");
    }

    sh("rm -rf '%s'%s", tmpdir, "");
    return TEST_REPORT();
}
