/* test_tokenizer_unicode.c — every code point, every normalizer step and
 * pre-tokenizer class, against fingerprints of the reference (HF tokenizers)
 * computed by make_cases.py: one FNV-1a hash per step over
 * (code point, result) for all 1,112,064 scalar values. A mismatch means the
 * tables or the utf8proc-based decomposition drifted from the reference. */
#include "test.h"
#include "tokenizer/normalize.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#include <stddef.h>
#include <stdint.h>

#include "cases_expected.h"

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

typedef struct {
    const char *name;
    ss_norm_op ops[2];
    int n_ops;
    uint64_t expected, h;
    ss_normalizer nz;
} step;

int main(void) {
    step steps[] = {
        {.name = "clean", .ops = {SS_NORM_CLEAN}, .n_ops = 1, .expected = FP_CLEAN},
        {.name = "cjk", .ops = {SS_NORM_CJK}, .n_ops = 1, .expected = FP_CJK},
        {.name = "strip", .ops = {SS_NORM_NFD, SS_NORM_STRIP_MN}, .n_ops = 2, .expected = FP_STRIP},
        {.name = "lower", .ops = {SS_NORM_LOWER}, .n_ops = 1, .expected = FP_LOWER},
        {.name = "nfd", .ops = {SS_NORM_NFD}, .n_ops = 1, .expected = FP_NFD},
        {.name = "nfkd", .ops = {SS_NORM_NFKD}, .n_ops = 1, .expected = FP_NFKD},
        {.name = "nfc", .ops = {SS_NORM_NFC}, .n_ops = 1, .expected = FP_NFC},
        {.name = "nfkc", .ops = {SS_NORM_NFKC}, .n_ops = 1, .expected = FP_NFKC},
        {.name = "stripacc", .ops = {SS_NORM_STRIP_MARKS}, .n_ops = 1, .expected = FP_STRIPACC},
    };
    const int n_steps = (int)(sizeof steps / sizeof *steps);
    for (int s = 0; s < n_steps; s++) {
        steps[s].h = 0xcbf29ce484222325ULL;
        for (int k = 0; k < steps[s].n_ops; k++) ss_normalizer_add(&steps[s].nz, steps[s].ops[k]);
        ss_normalizer_finish(&steps[s].nz);
    }
    ss_normalizer nfd;
    memset(&nfd, 0, sizeof nfd);
    ss_normalizer_add(&nfd, SS_NORM_NFD);
    ss_normalizer_finish(&nfd);

    uint64_t h_ctx = 0xcbf29ce484222325ULL, h_bert = h_ctx, h_ws = h_ctx;
    ss_bytes out = {0};
    ss_norm_scratch sc = {0};
    const unsigned char sep = 0xFF;
    int oom = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp < 0xE000) continue;
        unsigned char key[4] = {cp & 0xFF, (cp >> 8) & 0xFF, (cp >> 16) & 0xFF, cp >> 24};
        char u[12];
        int n = ss_utf8_put(cp, u);
        for (int s = 0; s < n_steps; s++) {
            if (ss_normalize(&steps[s].nz, u, (size_t)n, &out, &sc)) oom = 1;
            steps[s].h = fnv(fnv(fnv(steps[s].h, key, 4), out.v, out.n), &sep, 1);
        }
        /* U+0301 (class 230) + cp + U+0316 (class 220): canonical ordering */
        char ctx[12] = "\xCC\x81";
        memcpy(ctx + 2, u, (size_t)n);
        memcpy(ctx + 2 + n, "\xCC\x96", 2);
        if (ss_normalize(&nfd, ctx, (size_t)n + 4, &out, &sc)) oom = 1;
        h_ctx = fnv(fnv(fnv(h_ctx, key, 4), out.v, out.n), &sep, 1);

        unsigned char kb = ss_uc_is_whitespace(cp) ? SS_CC_SPACE : ss_uc_is_punct(cp) ? SS_CC_ISOLATED : SS_CC_WORD;
        h_bert = fnv(fnv(h_bert, key, 4), &kb, 1);
        unsigned char kw = ss_uc_is_whitespace(cp) ? SS_CC_SPACE : ss_uc_is_word(cp) ? SS_CC_WORD : SS_CC_OTHER;
        h_ws = fnv(fnv(h_ws, key, 4), &kw, 1);
    }
    CHECK(!oom);
    for (int s = 0; s < n_steps; s++)
        CHECKF(steps[s].h == steps[s].expected, "normalizer step %s differs from the reference", steps[s].name);
    CHECKF(h_ctx == FP_NFD_CTX, "NFD canonical ordering differs from the reference");
    CHECKF(h_bert == FP_BERT_CLASS, "BertPreTokenizer classes differ from the reference");
    CHECKF(h_ws == FP_WS_CLASS, "Whitespace pre-tokenizer classes differ from the reference");
    free(out.v);
    ss_norm_scratch_free(&sc);
    (void)tok_cases;
    return TEST_REPORT();
}
