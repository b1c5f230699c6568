/* fuzz_tokenizer_json.c — the tokenizer.json loader: the input is written as
 * tokenizer.json next to a minimal tokenizer_config.json, loaded with
 * ss_tokenizer_load, and a few texts are encoded with whatever it accepted.
 * Expected: a clear error or a working tokenizer; never a crash, a leak, UB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "semsearch.h"

static const char *const texts[] = {
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "  \xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac [CLS] [MASK] <s> ##ing unaffable\t\n",
    "",
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char cfg[] = "{\"do_lower_case\": true, \"model_max_length\": 512}";
    fz_write("tokenizer_config.json", cfg, sizeof cfg - 1);
    return 0;
}

/* Exercise a loaded tokenizer the way the encoder and the CLI do. */
static void exercise(const ss_tokenizer *tok) {
    int nv = ss_tokenizer_vocab_size(tok);
    (void)ss_tokenizer_pad_id(tok);
    (void)ss_tokenizer_token_id(tok, "[UNK]");
    (void)ss_tokenizer_token(tok, -1);
    (void)ss_tokenizer_token(tok, nv);
    int32_t ids[64];
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        for (int max_len = 0; max_len <= 8; max_len += 8) {
            ss_error err;
            int n = ss_tokenizer_encode(tok, texts[t], strlen(texts[t]), max_len, ids, 64, &err);
            if (n < 0) continue;
            int32_t *all = ids;
            if (n > 64) { /* the documented "call again with a bigger buffer" path */
                all = malloc((size_t)n * sizeof *all);
                if (!all) abort();
                int n2 = ss_tokenizer_encode(tok, texts[t], strlen(texts[t]), max_len, all, n, &err);
                if (n2 != n) abort(); /* encode must be deterministic */
            }
            for (int i = 0; i < n; i++) {
                const char *s = ss_tokenizer_token(tok, all[i]);
                if (s) (void)strlen(s);
            }
            if (all != ids) free(all);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write("tokenizer.json", data, size);
    ss_error err;
    ss_tokenizer *tok = ss_tokenizer_load(fz_dir(), &err);
    if (tok) {
        exercise(tok);
        ss_tokenizer_free(tok);
    }
    return 0;
}
