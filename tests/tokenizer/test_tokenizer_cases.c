/* test_tokenizer_cases.c — hand-picked texts (accents, CJK, emoji, controls,
 * long words, truncation, literal special tokens, MPNet's normalized special
 * tokens) against ids from the reference (cases_expected.h, written by
 * make_cases.py), plus the API contract and the error messages. */
#include "semsearch.h"
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cases_expected.h"

#define MPNET_DIR SEMSEARCH_TESTS_DIR "/models/mpnet-mean-normalize"

static void check_cases(const ss_tokenizer *minilm, const ss_tokenizer *mpnet) {
    int32_t ids[1024];
    for (size_t i = 0; i < sizeof tok_cases / sizeof *tok_cases; i++) {
        const tok_case *c = &tok_cases[i];
        const ss_tokenizer *t = strcmp(c->model, "mpnet") ? minilm : mpnet;
        ss_error err = {0};
        int n = ss_tokenizer_encode(t, c->text, c->len, c->max_len, ids, 1024, &err);
        int same = n == c->n;
        for (int k = 0; same && k < n; k++) same = ids[k] == c->ids[k];
        CHECKF(same, "case %zu (%s, max_len %d): got %d ids, expected %d; first diff near %d", i,
               c->model, c->max_len, n, c->n, n);
    }
    printf("%zu hand cases checked\n", sizeof tok_cases / sizeof *tok_cases);
}

static void check_api(const ss_tokenizer *t, const ss_tokenizer *mp) {
    ss_error err = {0};
    /* size query and a buffer too small: the full count, nothing written past cap */
    const char *txt = "semantic search engines embed sentences quickly";
    int need = ss_tokenizer_encode(t, txt, strlen(txt), 0, NULL, 0, &err);
    CHECK(need == 9); /* semantic search engines em ##bed sentences quickly */
    int32_t small[5] = {-7, -7, -7, -7, -7};
    CHECK(ss_tokenizer_encode(t, txt, strlen(txt), 0, small, 4, &err) == need);
    CHECK(small[0] == 101 && small[1] == 21641 && small[4] == -7);
    /* max_len counts the special tokens; it cannot be smaller than them */
    int32_t ids[16];
    CHECK(ss_tokenizer_encode(t, txt, strlen(txt), 4, ids, 16, &err) == 4);
    CHECK(ids[0] == 101 && ids[1] == 21641 && ids[2] == 3945 && ids[3] == 102);
    CHECK(ss_tokenizer_encode(t, txt, strlen(txt), 2, ids, 16, &err) == 2);
    CHECK(ss_tokenizer_encode(t, txt, strlen(txt), 1, ids, 16, &err) == -1);
    CHECK_CONTAINS(err.msg, "special tokens");
    /* NULL text of length 0 is the empty text */
    CHECK(ss_tokenizer_encode(t, NULL, 0, 256, ids, 16, &err) == 2);
    CHECK(ss_tokenizer_encode(t, NULL, 3, 256, ids, 16, &err) == -1);

    /* invalid UTF-8: -1, and the message names the byte offset */
    static const struct { const char *s; size_t len; const char *where; } bad[] = {
        {"ab\xff", 3, "byte offset 2"},          {"\xc3", 1, "byte offset 0"},
        {"ok \xc0\xaf", 5, "byte offset 3"},     {"\xed\xa0\x80 surrogate", 13, "byte offset 0"},
        {"x\xf4\x90\x80\x80", 5, "byte offset 1"}, {"abc\xe4\xbd", 5, "byte offset 3"},
        {"\x80", 1, "byte offset 0"},            {"caf\xc3\xa9 \xe9t\xe9", 9, "byte offset 6"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ss_error e = {0};
        CHECK(ss_tokenizer_encode(t, bad[i].s, bad[i].len, 256, ids, 16, &e) == -1);
        CHECK(e.code == SS_ERR_INVALID);
        CHECK_CONTAINS(e.msg, bad[i].where);
        CHECK_CONTAINS(e.msg, "UTF-8");
    }

    CHECK(ss_tokenizer_vocab_size(t) == 30522);
    CHECK(ss_tokenizer_pad_id(t) == 0);
    CHECK(ss_tokenizer_token(t, 101) && !strcmp(ss_tokenizer_token(t, 101), "[CLS]"));
    CHECK(ss_tokenizer_token(t, 2075) && !strcmp(ss_tokenizer_token(t, 2075), "##ing"));
    CHECK(ss_tokenizer_token(t, -1) == NULL && ss_tokenizer_token(t, 30522) == NULL);
    CHECK(ss_tokenizer_token_id(t, "[MASK]") == 103);
    CHECK(ss_tokenizer_token_id(t, "##ing") == 2075);
    CHECK(ss_tokenizer_token_id(t, "notawordinthevocab") == -1);

    CHECK(ss_tokenizer_vocab_size(mp) == 30527);
    CHECK(ss_tokenizer_pad_id(mp) == 1);
    CHECK(ss_tokenizer_token(mp, 30526) && !strcmp(ss_tokenizer_token(mp, 30526), "<mask>"));
    CHECK(ss_tokenizer_encode(mp, "", 0, 384, ids, 16, &err) == 2 && ids[0] == 0 && ids[1] == 2);
}

/* A scratch model folder with the given files. */
static void write_file(const char *dir, const char *name, const char *content) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static void remove_dir(const char *dir) {
    const char *names[] = {"tokenizer.json", "vocab.txt", "tokenizer_config.json"};
    char p[512];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Load a folder holding one tokenizer.json; expect failure with `needle` in the message. */
static void expect_json_error(const char *json, ss_status code, const char *needle) {
    char dir[] = "/tmp/ss_tok_err_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    write_file(dir, "tokenizer.json", json);
    ss_error err = {0};
    ss_tokenizer *t = ss_tokenizer_load(dir, &err);
    CHECK(t == NULL);
    CHECKF(err.code == code, "code %d for %s", err.code, needle);
    CHECK_CONTAINS(err.msg, needle);
    CHECK_CONTAINS(err.msg, dir); /* says which file */
    ss_tokenizer_free(t);
    remove_dir(dir);
}

#define WP_MODEL "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0, \"a\": 1}}"

static void check_errors(void) {
    ss_error err = {0};
    CHECK(ss_tokenizer_load("/nonexistent/semsearch-model", &err) == NULL);
    CHECK(err.code == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "/nonexistent/semsearch-model");
    CHECK(ss_tokenizer_load(SEMSEARCH_TESTS_DIR "/test.h", &err) == NULL);
    CHECK_CONTAINS(err.msg, "not a folder");
    CHECK(ss_tokenizer_load(NULL, &err) == NULL);

    char dir[] = "/tmp/ss_tok_empty_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    CHECK(ss_tokenizer_load(dir, &err) == NULL);
    CHECK(err.code == SS_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "no tokenizer.json or vocab.txt in");
    CHECK_CONTAINS(err.msg, dir);
    /* fallback folder: unknown tokenizer class, then a vocab without [UNK] */
    write_file(dir, "vocab.txt", "[PAD]\nhello\n");
    write_file(dir, "tokenizer_config.json", "{\"tokenizer_class\": \"XLMRobertaTokenizer\"}");
    CHECK(ss_tokenizer_load(dir, &err) == NULL);
    CHECK(err.code == SS_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "XLMRobertaTokenizer");
    write_file(dir, "tokenizer_config.json", "{\"do_lower_case\": true");
    CHECK(ss_tokenizer_load(dir, &err) == NULL);
    CHECK_CONTAINS(err.msg, "tokenizer_config.json");
    write_file(dir, "tokenizer_config.json", "{\"do_lower_case\": true}");
    CHECK(ss_tokenizer_load(dir, &err) == NULL);
    CHECK_CONTAINS(err.msg, "[UNK]");
    CHECK_CONTAINS(err.msg, "vocab.txt");
    remove_dir(dir);

    expect_json_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {", SS_ERR_FORMAT, "invalid JSON");
    expect_json_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", SS_ERR_UNSUPPORTED,
                      "unsupported tokenizer model type 'BPE'");
    expect_json_error("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", SS_ERR_UNSUPPORTED,
                      "unsupported tokenizer model type 'Unigram'");
    expect_json_error("{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": \"b\"}, " WP_MODEL "}",
                      SS_ERR_UNSUPPORTED, "unsupported normalizer type 'Replace'");
    expect_json_error("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, " WP_MODEL "}", SS_ERR_UNSUPPORTED,
                      "unsupported pre_tokenizer type 'ByteLevel'");
    expect_json_error("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"a\": 0}}}",
                      SS_ERR_FORMAT, "unk_token '[UNK]'");
    expect_json_error("[1, 2]", SS_ERR_FORMAT, "not a JSON object");
}

/* A minimal tokenizer.json: no normalizer / pre-tokenizer / post-processor. */
static void check_minimal(void) {
    char dir[] = "/tmp/ss_tok_min_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    write_file(dir, "tokenizer.json",
               "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": null, "
               "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"max_input_chars_per_word\": 5, "
               "\"vocab\": {\"[UNK]\": 0, \"ab\": 1, \"##c\": 2, \"a\": 3, \"##b\": 4}}}");
    ss_error err = {0};
    ss_tokenizer *t = ss_tokenizer_load(dir, &err);
    CHECKF(t != NULL, "%s", err.msg);
    if (t) {
        int32_t ids[8];
        CHECK(ss_tokenizer_encode(t, " abc  ab ", 9, 0, ids, 8, &err) == 3);
        CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 1);
        CHECK(ss_tokenizer_encode(t, "abbbbb abd", 10, 0, ids, 8, &err) == 2); /* too long; no match */
        CHECK(ids[0] == 0 && ids[1] == 0);
        CHECK(ss_tokenizer_pad_id(t) == -1);
    }
    ss_tokenizer_free(t);
    remove_dir(dir);
}

/* tokenizer.json plus a tokenizer_config.json whose added tokens disagree with
 * it: transformers re-adds them (config_tokens.c). Expected ids from
 * transformers 4.40.2 / tokenizers 0.19.1 (build/refvenv):
 *   AutoTokenizer.from_pretrained(dir)(text.strip())["input_ids"]
 * for a copy of all-MiniLM-L6-v2's tokenizer.json with these configs. */
static void check_config_merge(void) {
    static const char *const cfg_a =
        "{\"do_lower_case\": true, \"unk_token\": \"[UNK]\", \"sep_token\": \"[SEP]\", \"pad_token\": \"[PAD]\", "
        "\"cls_token\": \"[CLS]\", \"mask_token\": \"[MASK]\", \"tokenizer_class\": \"BertTokenizer\", "
        "\"added_tokens_decoder\": {\"103\": {\"content\": \"[MASK]\", \"lstrip\": true, \"rstrip\": true, "
        "\"normalized\": false, \"single_word\": false, \"special\": true}, \"30522\": {\"content\": \"<extra>\", "
        "\"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"single_word\": true, \"special\": false}}, "
        "\"additional_special_tokens\": [\"<new1>\", {\"content\": \"Hello\", \"lstrip\": false, \"rstrip\": true, "
        "\"normalized\": true, \"single_word\": false, \"__type\": \"AddedToken\"}]}";
    static const char *const cfg_b =
        "{\"do_lower_case\": true, \"unk_token\": \"[UNK]\", \"sep_token\": \"[SEP]\", \"pad_token\": \"[PAD]\", "
        "\"cls_token\": \"[CLS]\", \"tokenizer_class\": \"BertTokenizer\", \"mask_token\": {\"content\": \"[MASK]\", "
        "\"lstrip\": true, \"rstrip\": false, \"normalized\": true, \"single_word\": false, \"__type\": \"AddedToken\"}}";
    static const struct { const char *cfg, *text; int n; int32_t ids[16]; } cases[] = {
        {cfg_a, "x [MASK]  y", 5, {101, 1060, 103, 1061, 102}},
        {cfg_a, "a<extra>b <extra> hello Hello  there", 11,
         {101, 1037, 1026, 4469, 1028, 1038, 30522, 30524, 30524, 2045, 102}},
        {cfg_a, "<new1>z  Hello  [mask] <mask>  q", 12,
         {101, 30523, 1062, 30524, 1031, 7308, 1033, 1026, 7308, 1028, 1053, 102}},
        {cfg_b, "<new1>z  Hello  [mask] <mask>  q", 15,
         {101, 1026, 2047, 2487, 1028, 1062, 7592, 1031, 7308, 1033, 1026, 7308, 1028, 1053, 102}},
        {cfg_b, "hello [MASK] world", 5, {101, 7592, 103, 2088, 102}},
    };
    FILE *src = fopen(SEMSEARCH_MODEL_DIR "/tokenizer.json", "rb");
    REQUIRE(src != NULL);
    fseek(src, 0, SEEK_END);
    long sz = ftell(src);
    fseek(src, 0, SEEK_SET);
    char *json = malloc((size_t)sz + 1);
    REQUIRE(json && fread(json, 1, (size_t)sz, src) == (size_t)sz);
    json[sz] = '\0';
    fclose(src);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[] = "/tmp/ss_tok_cfg_XXXXXX";
        REQUIRE(mkdtemp(dir) != NULL);
        write_file(dir, "tokenizer.json", json);
        write_file(dir, "tokenizer_config.json", cases[i].cfg);
        ss_error err = {0};
        ss_tokenizer *t = ss_tokenizer_load(dir, &err);
        CHECKF(t != NULL, "%s", err.msg);
        int32_t ids[32];
        int n = t ? ss_tokenizer_encode(t, cases[i].text, strlen(cases[i].text), 256, ids, 32, &err) : -1;
        CHECKF(n == cases[i].n && !memcmp(ids, cases[i].ids, (size_t)n * sizeof *ids),
               "config merge case %zu (%s): %d ids", i, cases[i].text, n);
        ss_tokenizer_free(t);
        remove_dir(dir);
    }
    free(json);
}

int main(void) {
    ss_error err = {0};
    ss_tokenizer *minilm = ss_tokenizer_load(SEMSEARCH_MODEL_DIR, &err);
    REQUIRE(minilm != NULL);
    ss_tokenizer *mpnet = ss_tokenizer_load(MPNET_DIR, &err);
    REQUIRE(mpnet != NULL);
    check_cases(minilm, mpnet);
    check_api(minilm, mpnet);
    ss_tokenizer_free(minilm);
    ss_tokenizer_free(mpnet);
    check_errors();
    check_minimal();
    check_config_merge();
    return TEST_REPORT();
}
