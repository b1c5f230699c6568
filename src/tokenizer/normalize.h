/* normalize.h — the tokenizer.json normalizer as a list of per-string steps
 * (BertNormalizer = clean_text, CJK spacing, NFD + drop Mn, lowercase). */
#ifndef SS_TOKENIZER_NORMALIZE_H
#define SS_TOKENIZER_NORMALIZE_H

#include "tokenizer/buf.h"

typedef enum {
    SS_NORM_CLEAN,       /* BertNormalizer clean_text */
    SS_NORM_CJK,         /* BertNormalizer handle_chinese_chars */
    SS_NORM_NFD,
    SS_NORM_NFKD,
    SS_NORM_NFC,
    SS_NORM_NFKC,
    SS_NORM_STRIP_MN,    /* BertNormalizer strip_accents (after NFD) */
    SS_NORM_STRIP_MARKS, /* the StripAccents normalizer */
    SS_NORM_LOWER        /* BertNormalizer lowercase / Lowercase */
} ss_norm_op;

#define SS_NORM_MAX_OPS 32

typedef struct {
    ss_norm_op ops[SS_NORM_MAX_OPS];
    int n_ops;
    /* What the steps do to each ASCII char: its image, or -1 when deleted.
     * Every step maps ASCII to at most one ASCII char, so pure-ASCII text
     * takes a table lookup per byte instead of the general path. */
    int8_t ascii[128];
    int ascii_ok; /* 0 if some step breaks that rule: always take the general path */
} ss_normalizer;

/* Append op; -1 when there are too many steps. */
int ss_normalizer_add(ss_normalizer *nz, ss_norm_op op);
/* Fill the ASCII table (after the last add). */
void ss_normalizer_finish(ss_normalizer *nz);

/* Per-call scratch space, owned by the caller, reusable across calls. */
typedef struct { ss_cps a, b; } ss_norm_scratch;
void ss_norm_scratch_free(ss_norm_scratch *s);

/* Normalize valid UTF-8 s[0..n) and write the result (UTF-8) to out, replacing
 * its content. 0 on success, -1 out of memory. */
int ss_normalize(const ss_normalizer *nz, const char *s, size_t n, ss_bytes *out,
                 ss_norm_scratch *scratch);

#endif
