/* sentence_bert_config.json "do_lower_case": true makes sentence-transformers
 * call Python's str.lower() on each text before the tokenizer. Check that
 * semsearch lowercases as Python does (final sigma, dotted capital I) by
 * tokenizing with a cased model twice: once through a copy of the folder with
 * do_lower_case on, once on the string Python's lower() produced. The texts,
 * their lower() and the reference's ids come from tests/golden/lowercase.json
 * (tools/reference/make_cli_goldens.py). */
#include <stdint.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "semsearch.h"
#include "test.h"
#include "test_util.h"

int main(void) {
    char dir[256] = "/tmp/semsearch-lower-XXXXXX", cmd[1024];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "cp -r '%s/models/bert-cased/.' '%s/'", SEMSEARCH_TESTS_DIR, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/sentence_bert_config.json", dir);
    FILE *f = fopen(cmd, "wb");
    REQUIRE(f != NULL);
    fputs("{\"max_seq_length\": 256, \"do_lower_case\": true}", f);
    fclose(f);

    ss_error err;
    snprintf(cmd, sizeof cmd, "%s/models/bert-cased", SEMSEARCH_TESTS_DIR);
    ss_model *cased = ss_model_load(cmd, NULL, &err);
    ss_model *lower = ss_model_load(dir, NULL, &err);
    REQUIRE(cased && lower);
    /* inputs, Python's str.lower() of them, and sentence-transformers' ids */
    size_t len;
    FILE *g = fopen(SEMSEARCH_TESTS_DIR "/golden/lowercase.json", "rb");
    REQUIRE(g != NULL);
    static char text[1 << 16];
    len = fread(text, 1, sizeof text - 1, g);
    fclose(g);
    text[len] = 0;
    cJSON *gold = cJSON_Parse(text);
    REQUIRE(cJSON_IsArray(gold) && cJSON_GetArraySize(gold) >= 4);
    int i = 0;
    for (const cJSON *row = gold->child; row; row = row->next, i++) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(row, "text");
        const cJSON *py = cJSON_GetObjectItemCaseSensitive(row, "lower");
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(row, "input_ids");
        if (!cJSON_IsString(in) || !cJSON_IsString(py) || !cJSON_IsArray(want))
            tu_golden_fail_("lowercase.json", (size_t)i + 2, "row without text / lower / input_ids");
        int32_t a[64], b[64], w[64];
        int nw = cJSON_GetArraySize(want);
        REQUIRE(nw > 0 && nw <= 64);
        for (int t = 0; t < nw; t++) w[t] = cJSON_GetArrayItem(want, t)->valueint;
        int na = ss_model_tokenize(lower, in->valuestring, NULL, a, 64, &err);
        CHECKF(na == nw && !memcmp(a, w, (size_t)nw * sizeof *a), "text %d: do_lower_case ids differ from the reference", i);
        int nb = ss_model_tokenize(cased, py->valuestring, NULL, b, 64, &err);
        CHECKF(na > 0 && na == nb && !memcmp(a, b, (size_t)na * sizeof *a), "text %d lowercases differently", i);
        int nc = ss_model_tokenize(cased, in->valuestring, NULL, b, 64, &err);
        CHECKF(nc != na || memcmp(a, b, (size_t)na * sizeof *a), "text %d: do_lower_case had no effect", i);
    }
    cJSON_Delete(gold);
    ss_model_free(cased);
    ss_model_free(lower);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
