/* fuzz_vocab.c — the legacy loader (no tokenizer.json): vocab.txt plus
 * tokenizer_config.json. The input is vocab.txt; if it contains two NUL
 * bytes in a row, what follows them is tokenizer_config.json instead of the
 * fixed minimal one. Loaded with ss_tokenizer_load, then a few texts encoded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "semsearch.h"

static const char *const texts[] = {
    "Hello, world! The quick brown fox jumps over the lazy dog.",
    "  \xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac [CLS] [MASK] ##ing unaffable\t\n",
    "",
};

static const char default_cfg[] = "{\"do_lower_case\": true, \"model_max_length\": 512}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t vlen = size;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == 0 && data[i + 1] == 0) {
            vlen = i;
            break;
        }
    fz_write("vocab.txt", data, vlen);
    if (vlen < size) fz_write("tokenizer_config.json", data + vlen + 2, size - vlen - 2);
    else fz_write("tokenizer_config.json", default_cfg, sizeof default_cfg - 1);
    ss_error err;
    ss_tokenizer *tok = ss_tokenizer_load(fz_dir(), &err);
    if (!tok) return 0;
    int nv = ss_tokenizer_vocab_size(tok);
    (void)ss_tokenizer_pad_id(tok);
    (void)ss_tokenizer_token(tok, nv);
    int32_t ids[64];
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        int n = ss_tokenizer_encode(tok, texts[t], strlen(texts[t]), 0, ids, 64, &err);
        for (int i = 0; i < n && i < 64; i++) {
            const char *s = ss_tokenizer_token(tok, ids[i]);
            if (s) (void)strlen(s);
        }
        (void)ss_tokenizer_encode(tok, texts[t], strlen(texts[t]), 5, ids, 3, &err);
    }
    ss_tokenizer_free(tok);
    return 0;
}
