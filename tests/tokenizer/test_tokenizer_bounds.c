/* Bounded resources in the tokenizer (issue 13 items 10, 11):
 * - canonical ordering is linear: a 10 MB line of alternating combining marks
 *   (U+0301 class 230 / U+0316 class 220, which the old insertion sort made
 *   quadratic: 640 KB took 110 s) tokenizes in seconds (1 s release, 10 s
 *   ASan; the 60 s bound is far below the hours a quadratic sort would take
 *   and far above a loaded CI machine's jitter), and the linear sort
 *   gives exactly the stable by-class order of the old one on random runs;
 * - a tokenizer.json id far beyond its vocabulary (999,999,999 in a tiny file)
 *   is refused before anything is sized from it, naming the file;
 * - an out-of-range post-processor id is refused at load, naming the file. */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "semsearch.h"
#include "test.h"
#include "tokenizer/unicode.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The old algorithm: insertion sort inside runs of non-starters. */
static void naive_order(uint32_t *v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        int ci = utf8proc_get_property((utf8proc_int32_t)v[i])->combining_class;
        if (ci == 0) continue;
        uint32_t x = v[i];
        size_t j = i;
        while (j > 0 && (int)utf8proc_get_property((utf8proc_int32_t)v[j - 1])->combining_class > ci) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void expect_tok_fail(const char *dir, const char *json, const char *n1, const char *n2) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_text(path, json);
    ss_error err = {0};
    double t0 = now();
    ss_tokenizer *t = ss_tokenizer_load(dir, &err);
    double dt = now() - t0;
    CHECKF(t == NULL, "accepted %s", json);
    ss_tokenizer_free(t);
    printf("  %s (%.3f s)\n", err.msg, dt);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, n1);
    if (n2) CHECK_CONTAINS(err.msg, n2);
    CHECK(dt < 5);
}

int main(void) {
    printf("linear canonical ordering == the stable insertion sort:\n");
    {
        /* starters and marks of several classes (all in the reference's tables) */
        const uint32_t alphabet[] = {'a', 0x301, 0x316, 0x334, 0x5B0, 0x327, 0x345, 0x300, 0x323, 0x35C};
        uint64_t r = 88172645463325252ULL;
        int mismatches = 0;
        for (int trial = 0; trial < 200; trial++) {
            size_t n = 1 + (size_t)(trial * 37 % 400);
            uint32_t a[400], b[400];
            for (size_t i = 0; i < n; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                /* mostly marks, so long runs (> 32) are common */
                a[i] = b[i] = alphabet[(r % 50) == 0 ? 0 : 1 + r % 9];
            }
            naive_order(a, n);
            CHECK(ss_uc_canonical_order(b, n) == 0);
            if (memcmp(a, b, n * sizeof *a)) mismatches++;
        }
        CHECKF(mismatches == 0, "%d of 200 random runs ordered differently", mismatches);
    }

    printf("a 10 MB line of alternating U+0301 / U+0316:\n");
    {
        ss_error err = {0};
        ss_tokenizer *tok = ss_tokenizer_load(SEMSEARCH_MODEL_DIR, &err);
        REQUIRE(tok != NULL);
        size_t n = 10u * 1000 * 1000, o = 0;
        char *s = malloc(n + 8);
        REQUIRE(s != NULL);
        s[o++] = 'a';
        while (o + 4 <= n) {
            memcpy(s + o, "\xcc\x81\xcc\x96", 4); /* U+0301 U+0316 */
            o += 4;
        }
        s[o] = 0;
        int32_t ids[16];
        double t0 = now();
        int k = ss_tokenizer_encode(tok, s, o, 16, ids, 16, &err);
        double dt = now() - t0;
        printf("  %zu bytes -> %d ids in %.2f s\n", o, k, dt);
        /* uncased BERT: NFD, then the marks are stripped: [CLS] a [SEP] */
        CHECKF(k == 3 && ids[0] == 101 && ids[1] == 1037 && ids[2] == 102, "k = %d (%s)", k, err.msg);
        CHECKF(dt < 60, "%.1f s: quadratic?", dt);
        /* letters among the marks: after stripping, one 50,000-letter word,
         * longer than max_input_chars_per_word (100): [CLS] [UNK] [SEP] */
        for (size_t i = 1; i + 5 < o; i += 400) s[i] = 'b', s[i + 1] = 'c'; /* "bc" for U+0301 */
        t0 = now();
        k = ss_tokenizer_encode(tok, s, o, 16, ids, 16, &err);
        dt = now() - t0;
        printf("  letters every 400 bytes: %d ids in %.2f s\n", k, dt);
        CHECKF(k == 3 && ids[1] == 100, "k = %d, ids[1] = %d", k, k > 1 ? ids[1] : -1);
        CHECKF(dt < 60, "%.1f s: quadratic?", dt);
        free(s);
        ss_tokenizer_free(tok);
    }

    printf("tokenizer.json ids beyond the vocabulary:\n");
    char dir[] = "/tmp/semsearch-tokb-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    expect_tok_fail(dir,
                    "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                    "\"vocab\": {\"[UNK]\": 0, \"a\": 999999999}}}",
                    "999999999", "'a'");
    expect_tok_fail(dir,
                    "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                    "\"vocab\": {\"[UNK]\": 0, \"a\": 1.5}}}",
                    "'a'", "bad id");
    /* fuzz finding tokenizer_json-2: an id beyond int32 range was cast to
     * int32_t (undefined) by the very check meant to refuse it */
    expect_tok_fail(dir, "{\"model\": {\"type\": \"WordPiece\", \"vocab\":{\"\":5555555555}}}", "bad id", "''");
    expect_tok_fail(dir,
                    "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, "
                    "\"[CLS]\": 1, \"[SEP]\": 2}}, \"post_processor\": {\"type\": \"BertProcessing\", "
                    "\"cls\": [\"[CLS]\", 1], \"sep\": [\"[SEP]\", 77]}}",
                    "post_processor", "77");
    expect_tok_fail(dir,
                    "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, "
                    "\"[CLS]\": 1, \"[SEP]\": 2}}, \"post_processor\": {\"type\": \"BertProcessing\", "
                    "\"cls\": [\"[CLS]\", -1], \"sep\": [\"[SEP]\", 2]}}",
                    "post_processor", "-1");
    {
        /* a well-formed small one still loads */
        char path[512];
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        write_text(path, "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, "
                         "\"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3}}, \"post_processor\": {\"type\": \"BertProcessing\", "
                         "\"cls\": [\"[CLS]\", 1], \"sep\": [\"[SEP]\", 2]}}");
        ss_error err = {0};
        ss_tokenizer *t = ss_tokenizer_load(dir, &err);
        CHECKF(t != NULL, "%s", err.msg);
        ss_tokenizer_free(t);
        unlink(path);
    }
    rmdir(dir);
    return TEST_REPORT();
}
