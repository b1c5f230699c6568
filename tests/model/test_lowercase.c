/* sentence_bert_config.json "do_lower_case": true makes sentence-transformers
 * call Python's str.lower() on each text before the tokenizer. Check that
 * semsearch lowercases as Python does (final sigma, dotted capital I) by
 * tokenizing with a cased model twice: once through a copy of the folder with
 * do_lower_case on, once on the string Python's lower() produced. */
#include <stdint.h>
#include <sys/stat.h>

#include "semsearch.h"
#include "test.h"

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
    /* inputs and Python's str.lower() of them */
    const char *in[] = {"ΟΔΟΣ Σ ΣΑ", "İstanbul HELLO", "ΑΣ.", "Plain ASCII Text"};
    const char *py[] = {"οδος σ σα", "i\xcc\x87stanbul hello", "ας.", "plain ascii text"};
    for (int i = 0; i < 4; i++) {
        int32_t a[64], b[64];
        int na = ss_model_tokenize(lower, in[i], NULL, a, 64, &err);
        int nb = ss_model_tokenize(cased, py[i], NULL, b, 64, &err);
        CHECKF(na > 0 && na == nb && !memcmp(a, b, (size_t)na * sizeof *a), "text %d lowercases differently", i);
        int nc = ss_model_tokenize(cased, in[i], NULL, b, 64, &err);
        CHECKF(nc != na || memcmp(a, b, (size_t)na * sizeof *a), "text %d: do_lower_case had no effect", i);
    }
    ss_model_free(cased);
    ss_model_free(lower);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
