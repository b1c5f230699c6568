/*
 * semsearch.h — the one public header of libsemsearch.
 *
 * Text -> tokens -> transformer -> pooled sentence embeddings identical to
 * sentence-transformers, and vector indexes to search them.
 *
 * Conventions
 *  - Every object is an opaque handle created by *_load / *_new and released by
 *    the matching *_free; the caller owns what it created.
 *  - Every fallible call takes an `ss_error *err` (may be NULL) and returns an
 *    ss_status (or NULL / -1 for constructors and counts). On failure `err->msg`
 *    says what failed, where (file, line, tensor, input index) and why.
 *  - The library keeps no global mutable state: two models loaded side by side
 *    never share anything but read-only tables.
 */
#ifndef SEMSEARCH_H
#define SEMSEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEMSEARCH_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
    SS_OK = 0,
    SS_ERR_IO,          /* a file could not be opened / read / written      */
    SS_ERR_FORMAT,      /* a file's content is malformed or corrupt         */
    SS_ERR_INVALID,     /* bad argument or bad input text                   */
    SS_ERR_NOMEM,       /* allocation failed                                */
    SS_ERR_UNSUPPORTED, /* valid, but not something semsearch implements    */
    SS_ERR_NOT_FOUND    /* a required file, tensor or key is absent         */
} ss_status;

typedef struct ss_error {
    ss_status code;
    char msg[1024];
} ss_error;

/* Human-readable name of a status code ("io error", ...). */
const char *ss_status_str(ss_status s);

/* ------------------------------------------------------------------------ */
/* Tokenizer (HF BertWordPiece semantics: BertNormalizer, BertPreTokenizer,  */
/* WordPiece, template post-processing)                                     */
/* ------------------------------------------------------------------------ */

typedef struct ss_tokenizer ss_tokenizer;

/* Load from a model folder: tokenizer.json when present, else vocab.txt +
 * tokenizer_config.json. Truncation/padding settings in tokenizer.json are
 * ignored on purpose: the caller passes max_len (sentence-transformers'
 * max_seq_length) to ss_tokenizer_encode. */
ss_tokenizer *ss_tokenizer_load(const char *model_dir, ss_error *err);
void ss_tokenizer_free(ss_tokenizer *tok);

/* Tokenize one text (UTF-8, `len` bytes) into ids with the special tokens
 * added ([CLS] ... [SEP] or <s> ... </s>), truncated to at most max_len ids
 * (max_len <= 0: no truncation). Writes at most `cap` ids to `ids`.
 * Returns the number of ids the full (truncated) encoding has — which may be
 * more than cap, in which case call again with a bigger buffer — or -1 on
 * error (invalid UTF-8 names the byte offset). */
int ss_tokenizer_encode(const ss_tokenizer *tok, const char *text, size_t len,
                        int max_len, int32_t *ids, int cap, ss_error *err);

int ss_tokenizer_vocab_size(const ss_tokenizer *tok);
/* Token string of an id ("[CLS]", "##ing"), NULL when out of range. */
const char *ss_tokenizer_token(const ss_tokenizer *tok, int32_t id);
/* Id of a token string, -1 when not in the vocabulary. */
int32_t ss_tokenizer_token_id(const ss_tokenizer *tok, const char *token);
/* Special-token ids (-1 when the tokenizer has none). */
int32_t ss_tokenizer_pad_id(const ss_tokenizer *tok);

/* ------------------------------------------------------------------------ */
/* Model: a sentence-transformers folder (Transformer + Pooling [+ Normalize])*/
/* ------------------------------------------------------------------------ */

typedef struct ss_model ss_model;

typedef struct ss_model_options {
    int n_threads;       /* worker threads for encoding; 0 = all cores     */
    int max_seq_length;  /* 0 = from sentence_bert_config.json             */
} ss_model_options;

/* Load a sentence-transformers or plain Hugging Face model folder
 * (config.json + model.safetensors + tokenizer files; modules.json,
 * sentence_bert_config.json and 1_Pooling/config.json when present; without
 * modules.json: Transformer + mean pooling, no Normalize). opts may be NULL. */
ss_model *ss_model_load(const char *dir, const ss_model_options *opts, ss_error *err);
void ss_model_free(ss_model *m);

int ss_model_dim(const ss_model *m);            /* pooled embedding size    */
int ss_model_hidden_size(const ss_model *m);    /* per-token vector size    */
int ss_model_max_seq_length(const ss_model *m);
int ss_model_normalizes(const ss_model *m);     /* has a Normalize module   */
const ss_tokenizer *ss_model_tokenizer(const ss_model *m);
/* One line describing the model: architecture, layers, dims, pooling. */
const char *ss_model_describe(const ss_model *m);

typedef struct ss_encode_options {
    int batch_size;      /* sentences per forward pass; 0 = 32              */
    int normalize;       /* 1 = L2-normalise output (normalize_embeddings)  */
    int truncate_dim;    /* 0 = full dimension (Matryoshka truncation)     */
    const char *prompt;  /* prepended to every text; NULL = none           */
    /* Progress callback, called after each batch with (done, total). */
    void (*progress)(void *user, size_t done, size_t total);
    void *progress_user;
} ss_encode_options;

/* Output dimension for these options (truncate_dim applied). */
int ss_encode_dim(const ss_model *m, const ss_encode_options *opts);

/* Embed n texts (NUL-terminated UTF-8) into out[n * ss_encode_dim()] in input
 * order, exactly as SentenceTransformer.encode(texts) would: strip, tokenize,
 * truncate at max_seq_length, forward, pool, Normalize module, truncate_dim,
 * then normalize_embeddings. Inputs are sorted by length internally; results
 * do not depend on batch composition. opts may be NULL (defaults). On an
 * input error the message names the text's index. */
ss_status ss_encode(ss_model *m, const char *const *texts, size_t n,
                    const ss_encode_options *opts, float *out, ss_error *err);

/* Per-token output (output_value="token_embeddings"): the last hidden state
 * of every token of one text, special tokens included. *out_tokens receives
 * the count; returns a malloc'd [tokens * hidden] array the caller frees. */
float *ss_encode_tokens(ss_model *m, const char *text, const ss_encode_options *opts,
                        int *out_tokens, ss_error *err);

/* ------------------------------------------------------------------------ */
/* Vector math helpers                                                      */
/* ------------------------------------------------------------------------ */

/* Cosine similarity of two vectors of length d. */
float ss_cosine(const float *a, const float *b, int d);

/* ------------------------------------------------------------------------ */
/* Vector index — see the section below (owned by src/index/)               */
/* ------------------------------------------------------------------------ */
/* @@INDEX-API-BEGIN@@ */
/* @@INDEX-API-END@@ */

#ifdef __cplusplus
}
#endif
#endif /* SEMSEARCH_H */
