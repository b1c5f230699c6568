/* tokenizer_internal.h — the ss_tokenizer object, shared by load and encode. */
#ifndef SS_TOKENIZER_INTERNAL_H
#define SS_TOKENIZER_INTERNAL_H

#include "semsearch.h"
#include "tokenizer/added.h"
#include "tokenizer/normalize.h"
#include "tokenizer/vocab.h"

#include <cjson/cJSON.h>

typedef enum {
    SS_PRE_NONE,            /* the whole (normalized) piece is one word */
    SS_PRE_BERT,            /* BertPreTokenizer: split on whitespace, isolate punctuation */
    SS_PRE_WHITESPACE,      /* Whitespace: regex \w+|[^\w\s]+ */
    SS_PRE_WHITESPACE_SPLIT /* WhitespaceSplit: split on whitespace */
} ss_pretok_kind;

/* Character classes the pre-tokenizer works with. */
enum { SS_CC_SPACE = 0, SS_CC_WORD = 1, SS_CC_OTHER = 2, SS_CC_ISOLATED = 3 };

#define SS_MAX_SPECIALS 8

struct ss_tokenizer {
    ss_vocab vocab;           /* WordPiece vocabulary plus added tokens */
    ss_normalizer norm;
    ss_pretok_kind pretok;
    uint8_t ascii_class[128]; /* SS_CC_* of each ASCII char for this pre-tokenizer */

    /* WordPiece */
    int32_t unk_id;
    char prefix[32];          /* continuing_subword_prefix, "##" */
    size_t prefix_len;
    int max_chars;            /* max_input_chars_per_word */

    /* added tokens: matched in raw text / in normalized text */
    ss_added_set added_raw, added_norm;
    ss_added_set added_all; /* every added token with its original content (id <-> string) */
    int32_t max_added_id;

    /* post-processor template: pre A post */
    int32_t pre[SS_MAX_SPECIALS], post[SS_MAX_SPECIALS];
    int n_pre, n_post;

    int32_t pad_id;
};

/* Loading steps (load.c, load_json.c, load_legacy.c). */
ss_status ss_tok_load_json(ss_tokenizer *t, const char *path, ss_error *err);
ss_status ss_tok_load_legacy(ss_tokenizer *t, const char *dir, ss_error *err);
/* Register an added token; normalized ones are matched in normalized text,
 * so t->norm must be complete first. */
ss_status ss_tok_add_token(ss_tokenizer *t, const char *content, ss_added_flags f, ss_error *err);
/* The options of an added-token JSON object (missing ones as AddedToken's defaults). */
ss_added_flags ss_tok_flags_json(const cJSON *o);
/* transformers' extra added tokens from tokenizer_config.json (after tokenizer.json). */
const char *ss_tok_config_token(const cJSON *cfg, const char *key, const char *dflt);
/* qsort order of cJSON object members by their numeric keys */
int ss_tok_by_id(const void *a, const void *b);
ss_status ss_tok_merge_config_tokens(ss_tokenizer *t, const char *dir, ss_error *err);
/* Add the BertNormalizer steps; nonzero when there are too many steps. */
int ss_tok_bert_normalizer(ss_normalizer *nz, int clean, int cjk, int strip, int lower);

#endif
