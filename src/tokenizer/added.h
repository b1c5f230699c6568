/* added.h — added/special tokens ("[MASK]", "<s>") found in text before the
 * model sees it, as HF's AddedVocabulary does: leftmost-longest matching,
 * then the single_word / lstrip / rstrip rules. */
#ifndef SS_TOKENIZER_ADDED_H
#define SS_TOKENIZER_ADDED_H

#include <stddef.h>
#include <stdint.h>

/* An AddedToken's options (tokenizer.json "added_tokens" entries). */
typedef struct {
    int single_word, lstrip, rstrip, normalized, special;
} ss_added_flags;

typedef struct {
    char *content; /* owned; for normalized tokens, the normalized form */
    size_t len;
    int32_t id;
    ss_added_flags f;
    int in_special_list; /* added_all only: matched through HF's special_tokens list */
} ss_added_token;

typedef struct {
    ss_added_token *v;
    int n, cap;
    uint8_t first[32]; /* bitmap of first bytes: most positions are rejected here */
} ss_added_set;

/* Append a token (content copied; empty content ignored). -1 out of memory. */
int ss_added_add(ss_added_set *set, const char *content, size_t len, int32_t id, ss_added_flags f);
void ss_added_free(ss_added_set *set);
/* Index of the token with this content, -1 when absent. */
int ss_added_find(const ss_added_set *set, const char *content, size_t len);

/* Split s[0..n) into pieces: text between matches (id -1) and matched tokens.
 * Calls piece(ctx, id, start, end) in order, skipping empty text pieces; stops
 * early and returns the callback's value when it is nonzero. */
typedef int (*ss_added_piece_fn)(void *ctx, int32_t id, size_t start, size_t end);
int ss_added_split(const ss_added_set *set, const char *s, size_t n, ss_added_piece_fn piece,
                   void *ctx);

#endif
