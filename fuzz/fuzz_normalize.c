/* fuzz_normalize.c — the text path on arbitrary bytes: ss_tokenizer_encode
 * with the real all-MiniLM-L6-v2 tokenizer (invalid UTF-8 must be an error
 * naming the offset; anything valid must tokenize), plus ss_normalize itself
 * with a step list chosen by the first input byte (NFC/NFKC/NFKD, strip
 * marks, ... that the model's BertNormalizer does not use). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "semsearch.h"
#include "tokenizer/normalize.h"
#include "tokenizer/unicode.h"

/* Loaded once: LLVMFuzzerTestOneInput has no user pointer. Read-only after. */
static ss_tokenizer *g_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    ss_error err;
    g_tok = ss_tokenizer_load(SEMSEARCH_MODEL_DIR, &err);
    if (!g_tok) {
        fprintf(stderr, "fuzz_normalize: cannot load %s: %s (missing prerequisite)\n", SEMSEARCH_MODEL_DIR,
                err.msg);
        abort();
    }
    return 0;
}

static void normalize_with(const char *s, size_t n, unsigned sel) {
    static const ss_norm_op pool[8] = {SS_NORM_CLEAN, SS_NORM_CJK,       SS_NORM_NFD,         SS_NORM_NFKD,
                                       SS_NORM_NFC,   SS_NORM_NFKC,      SS_NORM_STRIP_MARKS, SS_NORM_LOWER};
    ss_normalizer nz;
    memset(&nz, 0, sizeof nz);
    /* sel: bits 0-2 first step, 3-5 second, 6-7 how many extra (strip Mn after NFD) */
    ss_normalizer_add(&nz, pool[sel & 7]);
    ss_normalizer_add(&nz, pool[(sel >> 3) & 7]);
    if (sel & 0x40) {
        ss_normalizer_add(&nz, SS_NORM_NFD);
        ss_normalizer_add(&nz, SS_NORM_STRIP_MN);
    }
    if (sel & 0x80) ss_normalizer_add(&nz, SS_NORM_LOWER);
    ss_normalizer_finish(&nz);
    ss_bytes out = {0};
    ss_norm_scratch sc = {0};
    if (ss_normalize(&nz, s, n, &out, &sc) == 0) {
        /* the output must itself be valid UTF-8 */
        if (ss_utf8_invalid_at(out.v, out.n) != out.n) abort();
    }
    free(out.v);
    ss_norm_scratch_free(&sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    int32_t ids[128];
    ss_error err;
    size_t bad = ss_utf8_invalid_at(s, size);
    int n = ss_tokenizer_encode(g_tok, s, size, 0, ids, 128, &err);
    if (n < 0 && bad == size) {
        fprintf(stderr, "valid UTF-8 refused: %s\n", err.msg);
        abort();
    }
    if (n >= 0 && bad != size) {
        fprintf(stderr, "invalid UTF-8 at byte %zu accepted\n", bad);
        abort();
    }
    if (n > 128) {
        int32_t *all = malloc((size_t)n * sizeof *all);
        if (!all) abort();
        if (ss_tokenizer_encode(g_tok, s, size, 0, all, n, &err) != n) abort();
        for (int i = 0; i < n; i++)
            if (!ss_tokenizer_token(g_tok, all[i])) abort();
        free(all);
    }
    int nt = ss_tokenizer_encode(g_tok, s, size, 16, ids, 128, &err);
    if (n >= 0 && (nt < 0 || nt > 16 || nt > n)) abort();
    /* ss_normalize takes valid UTF-8 only (ss_tokenizer_encode checks first) */
    if (size >= 1 && ss_utf8_invalid_at(s + 1, size - 1) == size - 1) normalize_with(s + 1, size - 1, data[0]);
    return 0;
}
