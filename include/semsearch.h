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
 *    never share anything but read-only tables. The encoder never changes a
 *    process-wide setting behind the caller's back (see ss_blas_set_single_threaded).
 *  - Thread safety is stated for every object below. In short: ss_tokenizer
 *    and ss_model are read-only after loading and may be shared by any number
 *    of threads; an ss_context is used by one thread at a time; an ss_pool may
 *    be shared by everything; ss_index allows concurrent searches beside one
 *    writer.
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
/* Thread pool: persistent workers for parallel work (encoder GEMMs,        */
/* attention, index builds and batched searches). A model, context or index */
/* either creates its own or uses one the caller passes in its options, so  */
/* that a server can run one pool for everything.                           */
/* ------------------------------------------------------------------------ */

typedef struct ss_pool ss_pool;

/* A pool running work on n_threads threads in total, the calling thread
 * included (n_threads <= 0: one per online CPU; 1: everything inline).
 * NULL when no thread could be started.
 * Thread safety: one pool may be shared by any number of threads and
 * objects; concurrent jobs take turns. Free it after everything using it. */
ss_pool *ss_pool_new(int n_threads);
void ss_pool_free(ss_pool *pool);
int ss_pool_threads(const ss_pool *pool);

/* ------------------------------------------------------------------------ */
/* Tokenizer (HF BertWordPiece semantics: BertNormalizer, BertPreTokenizer,  */
/* WordPiece, template post-processing)                                     */
/* ------------------------------------------------------------------------ */

typedef struct ss_tokenizer ss_tokenizer;

/* Thread safety: read-only after ss_tokenizer_load; any number of threads may
 * call ss_tokenizer_encode and the accessors on one tokenizer at once.
 *
 * Load from a model folder: tokenizer.json when present, else vocab.txt +
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

/* Thread safety: a model (config, tokenizer, weights) is read-only once
 * ss_model_load returns and may be shared by any number of threads, each
 * encoding through its own ss_context (below) — concurrently, with no lock.
 * ss_encode / ss_encode_tokens on the model itself use one context the model
 * owns, behind a mutex: safe from any thread, but concurrent calls take turns
 * (and a progress callback must not call them on the same model).
 * Every other ss_model_* call only reads and is safe from any thread.
 * ss_model_free must come after every context of the model is freed. */
typedef struct ss_model ss_model;

/* Arithmetic of the encoder's Linear layers (ss_model_options.compute). */
typedef enum {
    SS_COMPUTE_FP32 = 0, /* fp32 everywhere (the default; matches the reference) */
    SS_COMPUTE_INT8,     /* int8 linears: weights quantised per output channel */
                         /* at load, activations per token at run time, exact */
                         /* int32 sums; LayerNorm, softmax, GELU stay fp32.   */
                         /* all-MiniLM-L6-v2: STSb Spearman within 0.2 of fp32 */
    SS_COMPUTE_BF16      /* bf16 linears: weights rounded to bf16 at load,     */
                         /* activations at each linear's input, fp32 sums     */
                         /* (AVX512_BF16 vdpbf16ps); the rest fp32. Loading   */
                         /* fails (SS_ERR_UNSUPPORTED) on CPUs without it.    */
                         /* all-MiniLM-L6-v2: STSb Spearman within 0.02      */
} ss_compute;

/* Parse "fp32" / "int8" / "bf16"; -1 if unknown. */
int ss_compute_parse(const char *name);

typedef struct ss_model_options {
    int n_threads;       /* threads of the model's own context (ss_encode);  */
                         /* 0 = all cores                                   */
    int max_seq_length;  /* 0 = from sentence_bert_config.json             */
    ss_compute compute;  /* SS_COMPUTE_FP32 (0), SS_COMPUTE_INT8 or _BF16     */
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
/* The model's prompt text of that name (config_sentence_transformers.json
 * "prompts"), NULL when it has none. */
const char *ss_model_prompt(const ss_model *m, const char *name);
/* One line describing the model: architecture, layers, dims, pooling. */
const char *ss_model_describe(const ss_model *m);

typedef struct ss_encode_options {
    int batch_size;      /* sentences per forward pass; 0 = 32              */
    int normalize;       /* 0 = as the model's modules say; 1 = also L2-    */
                         /* normalise the output (normalize_embeddings);   */
                         /* -1 = raw pooled output, Normalize module off   */
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

/* Token ids of one text exactly as the model's Transformer module sees it
 * (reads only: safe from any thread, needs no context)
 * — SentenceTransformer.tokenize: prompt prepended, lowercased when
 * sentence_bert_config.json says so, truncated at max_seq_length. Same
 * return convention as ss_tokenizer_encode. */
int ss_model_tokenize(ss_model *m, const char *text, const char *prompt, int32_t *ids, int cap, ss_error *err);

/* Embedding quantisation, as sentence_transformers.quantize_embeddings:
 * int8 / uint8 scale each dimension from ranges[0..d) (min) to ranges[d..2d)
 * (max) into 256 steps (ranges NULL: min/max of these embeddings, the
 * reference's behaviour without calibration); binary / ubinary keep the sign
 * bit, 8 dimensions per byte, MSB first (np.packbits), binary offset by -128. */
typedef enum {
    SS_PRECISION_FLOAT32 = 0,
    SS_PRECISION_INT8,
    SS_PRECISION_UINT8,
    SS_PRECISION_BINARY,
    SS_PRECISION_UBINARY
} ss_precision;

/* Parse "float32" / "int8" / "uint8" / "binary" / "ubinary"; -1 if unknown. */
int ss_precision_parse(const char *name);
/* Bytes one quantised vector of d dimensions takes. */
size_t ss_quantized_size(ss_precision p, int d);
/* Quantise n vectors of d dims into out[n * ss_quantized_size(p, d)]. */
ss_status ss_quantize(const float *emb, size_t n, int d, ss_precision p, const float *ranges, void *out,
                      ss_error *err);

/* Per-token output (output_value="token_embeddings"): the last hidden state
 * of every token of one text, special tokens included. *out_tokens receives
 * the count; returns a malloc'd [tokens * hidden] array the caller frees. */
float *ss_encode_tokens(ss_model *m, const char *text, const ss_encode_options *opts,
                        int *out_tokens, ss_error *err);

/* ------------------------------------------------------------------------ */
/* Encode contexts: what one encoding thread owns (llama.cpp's              */
/* llama_model / llama_context split)                                        */
/* ------------------------------------------------------------------------ */

/* A context holds the activations and scratch of forward passes (they grow
 * to the largest batch seen) and runs them on a thread pool. Results are
 * those of ss_encode, bit for bit, for the same pool size and BLAS setting
 * (ss_blas_set_single_threaded): they do not depend on which context, which
 * thread, or what else runs concurrently.
 * Thread safety: one thread at a time per context; any number of contexts on
 * one model encode concurrently. Contexts sharing one pool take turns on it
 * per parallel step (give each its own pool, or n_threads 1, to run them
 * side by side). */
typedef struct ss_context ss_context;

typedef struct ss_context_options {
    int n_threads;       /* threads of the context's own pool; 0 = all cores; */
                         /* 1 = run on the calling thread only               */
    ss_pool *pool;       /* run on this pool instead (shared, not owned: free */
                         /* it after the context); n_threads is then ignored */
} ss_context_options;

/* opts may be NULL. The model must outlive the context. */
ss_context *ss_context_new(const ss_model *m, const ss_context_options *opts, ss_error *err);
void ss_context_free(ss_context *ctx);
const ss_model *ss_context_model(const ss_context *ctx);

/* ss_encode and ss_encode_tokens through this context. */
ss_status ss_context_encode(ss_context *ctx, const char *const *texts, size_t n,
                            const ss_encode_options *opts, float *out, ss_error *err);
float *ss_context_encode_tokens(ss_context *ctx, const char *text, const ss_encode_options *opts,
                                int *out_tokens, ss_error *err);

/* ------------------------------------------------------------------------ */
/* BLAS threading                                                           */
/* ------------------------------------------------------------------------ */

/* Sets OpenBLAS's thread count to 1. This is a PROCESS-WIDE setting (it
 * applies to every BLAS user in the process), so the encoder never calls it
 * itself: the caller decides. (Transitional: the index's batched flat search
 * still calls it; its owner is removing that.) Recommended for programs in which semsearch is
 * the main BLAS user (the semsearch CLI calls it): each Linear layer's GEMM is
 * then split over the context's pool (and the index's threads), which is the
 * fastest arrangement, since OpenBLAS's own threads spin after every call and
 * take the cores from the attention / GELU / LayerNorm work between GEMMs.
 * Without it, the encoder runs the same GEMM slices one after another on the
 * calling thread and lets OpenBLAS spread each over its threads. The two
 * settings can differ in the last bit of some embedding values (OpenBLAS's
 * threaded GEMM blocks differently); within one setting results are
 * reproducible. Call it before starting threads that use BLAS. */
void ss_blas_set_single_threaded(void);

/* ------------------------------------------------------------------------ */
/* Model hub: download sentence-transformers folders from the Hugging Face  */
/* hub (or a mirror) into a local cache, and list the cache (src/hub/)      */
/* ------------------------------------------------------------------------ */

/* Progress of one file's download: bytes done of total (0 = unknown). */
typedef void (*ss_hub_progress_fn)(void *user, const char *file, uint64_t done, uint64_t total);

typedef struct ss_hub_options {
    const char *endpoint;   /* NULL: $HF_ENDPOINT, else https://huggingface.co           */
    const char *cache_dir;  /* NULL: $HF_HOME/semsearch/models; HF_HOME defaults to
                               $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface   */
    const char *revision;   /* NULL: "main" (a branch, tag or commit)                    */
    const char *token;      /* NULL: $HF_TOKEN; sent as "Authorization: Bearer TOKEN"    */
    int offline;            /* 1: no network, the cache only (also $HF_HUB_OFFLINE=1)    */
    int connect_timeout_s;  /* 0: 30 s                                                   */
    int stall_timeout_s;    /* abort a transfer that receives nothing this long; 0: 60 s */
    int retries;            /* retries after a network failure (resuming); 0: 3, <0: none */
    ss_hub_progress_fn progress; /* NULL: silent */
    void *progress_user;
} ss_hub_options;

/* The cache's root folder (opts->cache_dir or the HF_HOME default). */
ss_status ss_hub_cache_dir(const ss_hub_options *opts, char *dir, size_t cap, ss_error *err);

/* The cache folder of repo_id ("ORG/NAME") at opts->revision, whether or not
 * it exists: CACHE/ORG--NAME, or CACHE/ORG--NAME@REV for a revision other than
 * main ('/' in REV written as "--"). opts may be NULL. */
ss_status ss_hub_model_dir(const char *repo_id, const ss_hub_options *opts, char *dir,
                           size_t cap, ss_error *err);

/* Download repo_id's files that a sentence-transformers model needs into its
 * cache folder and write that folder's path to dir (cap bytes). Files already
 * there and matching the hub's size/sha256 are kept; a partial download
 * (FILE.incomplete) is resumed; each file gets its final name only once its
 * size and sha256 are verified; the folder counts as complete once its
 * manifest (.semsearch-pull.json) is written, last. Offline: succeeds only if
 * the folder is complete. Errors say what (404 repo / revision / file, 401/403
 * gated or private: set HF_TOKEN, network, checksum) and where (URL, path). */
ss_status ss_hub_pull(const char *repo_id, const ss_hub_options *opts, char *dir, size_t cap,
                      ss_error *err);

/* One cached model folder, as ss_hub_list reports it. */
typedef struct ss_hub_model {
    char *name;         /* "ORG/NAME"                                           */
    char *revision;     /* "main", ...                                          */
    char *commit;       /* the hub's commit sha at pull time; "" when unknown   */
    char *path;         /* the folder                                           */
    char *pooling;      /* "mean", "cls", "max", "mean+max", ...; "" unknown    */
    int dim;            /* embedding size (after Pooling and Dense); 0 unknown  */
    int max_seq_length; /* sentence_bert_config.json; 0 unknown                 */
    int normalize;      /* has a Normalize module                               */
    int complete;       /* the pull finished and every file is present          */
    uint64_t size_bytes;/* bytes of all files in the folder                     */
} ss_hub_model;

/* List the cache's model folders (sorted by name, then revision). Returns the
 * count (*out receives an array to free with ss_hub_list_free; NULL when 0),
 * or -1 on error. A missing cache folder is an empty list. */
int ss_hub_list(const ss_hub_options *opts, ss_hub_model **out, ss_error *err);
void ss_hub_list_free(ss_hub_model *models, int n);

/* Read one model folder's facts (name from its pull manifest, else from the
 * folder name) into *m; ss_hub_model_clear frees m's strings. */
ss_status ss_hub_model_info(const char *dir, ss_hub_model *m, ss_error *err);
void ss_hub_model_clear(ss_hub_model *m);

/* ------------------------------------------------------------------------ */
/* Vector math helpers                                                      */
/* ------------------------------------------------------------------------ */

/* Cosine similarity of two vectors of length d (like ss_quantize and the
 * precision helpers: a pure function, safe from any thread). */
float ss_cosine(const float *a, const float *b, int d);

/* ------------------------------------------------------------------------ */
/* Vector index — see the section below (owned by src/index/)               */
/* ------------------------------------------------------------------------ */
/* @@INDEX-API-BEGIN@@ */
/*
 * Vector indexes: exact (flat) and HNSW, over fp32 / fp16 / int8 / binary
 * codes, with filters, deletes, upserts and mmap-loaded persistence.
 *
 * Ids are caller-chosen int64 values (>= 0). Scores come in the metric's
 * natural order: cosine and dot are similarities (descending), l2 is the
 * squared Euclidean distance (ascending). Ties are broken by the smaller id.
 * Missing results (fewer than k live / allowed vectors) are padded with id -1
 * and score -INFINITY (cosine, dot) or +INFINITY (l2).
 *
 * Thread safety: any number of concurrent ss_index_search, ss_index_contains
 * and ss_index_get_stats calls, beside writers (add / remove / compact /
 * save / commit), which are serialised internally. Readers never observe a
 * half-inserted vector or a half-rewritten HNSW link list. contains and
 * get_stats never wait for a bulk add: contains takes the id map's lock,
 * which a writer holds only while it changes the map; get_stats takes no lock
 * (counters as of the last completed change). Parallel work (HNSW build,
 * batched search) runs on an ss_pool: the one in ss_index_options.pool (not
 * owned; it must outlive the index), else one the index creates on first use.
 * Index calls must not be made from inside a job running on that same pool
 * (ss_pool_for is not re-entrant).
 *
 * Persistence: ss_index_save writes a snapshot (temp file, fsync, rename).
 * ss_index_open adds a delta log, PATH.log, for a caller that keeps the index
 * in step with a database: every add / remove is appended to the log and
 * ss_index_commit(gen) makes them durable (one fsync) and records the
 * caller's generation number; ss_index_save(idx, PATH) writes a new snapshot
 * and empties the log. On open the snapshot is loaded and the log's committed
 * records replayed; changes after the last commit (a torn tail) are dropped.
 * ss_index_generation says which generation the index holds, so the caller
 * can tell whether it is behind its database.
 */
typedef struct ss_index ss_index;

typedef enum { SS_METRIC_COSINE = 0, SS_METRIC_DOT = 1, SS_METRIC_L2 = 2 } ss_metric;
typedef enum { SS_INDEX_FLAT = 0, SS_INDEX_HNSW = 1 } ss_index_type;
typedef enum {
    SS_QUANT_NONE = 0,   /* fp32                                             */
    SS_QUANT_FP16 = 1,   /* IEEE half                                        */
    SS_QUANT_INT8 = 2,   /* per-dimension min/max scale, 1 byte per dim      */
    SS_QUANT_BINARY = 3  /* 1 bit per dim (sign around per-dimension mean)   */
} ss_quant;

typedef struct ss_index_options {
    ss_index_type type;     /* default SS_INDEX_FLAT                          */
    ss_metric metric;       /* default SS_METRIC_COSINE                       */
    ss_quant quantize;      /* default SS_QUANT_NONE                          */
    int m;                  /* HNSW links per node (level 0: 2m); 0 = 16      */
    int ef_construction;    /* 0 = 100                                        */
    int ef_search;          /* default search beam; 0 = 64                    */
    int keep_fp32;          /* quantised: also keep fp32 vectors for rescoring;
                               -1 = no, 0 = default (yes for int8/binary),
                               1 = yes (fp16: the walk reads fp16 codes, the
                               best k*oversample are rescored in fp32)        */
    float oversample;       /* quantised+fp32: rescore k*oversample; 0 = 3 (binary 8) */
    int n_threads;          /* threads for add (build) and batched search; 0 = all cores */
    uint64_t seed;          /* HNSW level generator; 0 = 42                   */
    ss_pool *pool;          /* threads for parallel work, shared with other
                               users (not owned; outlives the index); NULL = the
                               index creates its own of n_threads on first use.
                               n_threads above 4 x the online cores is clamped
                               to that (a negative value is an error).        */
} ss_index_options;

/* Allow-list applied during search: a bitset over ids (bit i of bits[i/64]
 * allows id i; ids >= nbits are disallowed) and/or a callback returning
 * nonzero for allowed ids. When both are given both must allow. */
typedef struct ss_filter {
    const uint64_t *bits;
    int64_t nbits;
    int (*allow)(void *user, int64_t id);
    void *user;
} ss_filter;

typedef struct ss_search_params {
    int ef_search;          /* 0 = the index's default                        */
    float oversample;       /* 0 = the index's default                        */
    const ss_filter *filter;/* NULL = everything                              */
    int n_threads;          /* 0 = the index's default                        */
} ss_search_params;

typedef struct ss_index_stats {
    int dim;
    ss_metric metric;
    ss_index_type type;
    ss_quant quantize;
    int64_t count;          /* live vectors                                   */
    int64_t deleted;        /* tombstoned slots (not yet reused)              */
    int64_t slots;          /* slots in use (live + deleted)                  */
    int max_level;          /* HNSW top level (-1 when empty / flat)          */
    size_t memory_bytes;    /* heap + mapped bytes held                       */
    double bytes_per_vector;/* memory_bytes / slots                           */
    const char *isa;        /* kernels in use: "avx512-vnni", "avx2", "scalar" */
} ss_index_stats;

/* opts may be NULL (flat, cosine, fp32). */
ss_index *ss_index_new(int dim, const ss_index_options *opts, ss_error *err);
void ss_index_free(ss_index *idx);

/* Add (or replace: upsert) n vectors with the given ids. ids may be NULL:
 * ids are then count-so-far .. +n-1. Quantisers are trained on the first
 * batch added. A repeated id within one call: the last one wins. */
ss_status ss_index_add(ss_index *idx, const int64_t *ids, const float *vectors, size_t n,
                       ss_error *err);
/* Tombstone ids (unknown ids are ignored); *removed (may be NULL) counts hits. */
ss_status ss_index_remove(ss_index *idx, const int64_t *ids, size_t n, size_t *removed,
                          ss_error *err);
/* Rebuild without tombstones (HNSW graph rebuilt from the live vectors). */
ss_status ss_index_compact(ss_index *idx, ss_error *err);
/* 1 if id is live. */
int ss_index_contains(const ss_index *idx, int64_t id);

/* k nearest neighbours of nq queries: out_ids / out_scores are nq*k arrays
 * (row per query, best first). params may be NULL. */
ss_status ss_index_search(const ss_index *idx, const float *queries, size_t nq, int k,
                          const ss_search_params *params, int64_t *out_ids, float *out_scores,
                          ss_error *err);

/* Persist to one file (temp file + fsync + rename); load maps it and
 * validates it (graph invariants, finite numbers) before use. Saving to the
 * path an index was opened from (ss_index_open) also empties its log. */
ss_status ss_index_save(ss_index *idx, const char *path, ss_error *err);
ss_index *ss_index_load(const char *path, ss_error *err);

/* Open PATH (snapshot, may be missing) + PATH.log (delta log, created when
 * missing) and keep logging to it. A new index (no snapshot, no log) gets
 * dim and opts; an existing one takes its layout from the file, and from opts
 * only pool and n_threads (dim > 0 must then match; 0 = any). */
ss_index *ss_index_open(const char *path, int dim, const ss_index_options *opts, ss_error *err);
/* Make the changes logged since the last commit durable (fsync) and record
 * generation. After a failed log write every commit fails until
 * ss_index_save(idx, PATH) writes a new snapshot. SS_ERR_INVALID without a log. */
ss_status ss_index_commit(ss_index *idx, uint64_t generation, ss_error *err);
/* The generation the index holds: of the last commit replayed or made, else
 * the one its snapshot was saved with (0 for a new index). */
uint64_t ss_index_generation(const ss_index *idx);
/* Stamp a generation that the next ss_index_save stores (no log needed). */
void ss_index_set_generation(ss_index *idx, uint64_t generation);

void ss_index_get_stats(const ss_index *idx, ss_index_stats *out);
const char *ss_metric_name(ss_metric m);
const char *ss_quant_name(ss_quant q);
/* @@INDEX-API-END@@ */


/* ------------------------------------------------------------------------ */
/* Collections — documents in, ranked answers out (owned by src/store/)     */
/* ------------------------------------------------------------------------ */
/* @@STORE-API-BEGIN@@ */
/*
 * A collection is a folder holding collection.db (SQLite, WAL): the ground
 * truth — documents (external string id, JSON fields, the embedded text),
 * their vectors (float32 BLOBs), a BM25 full-text index (FTS5 with
 * semsearch's analyzer) and a meta table (model path + weights fingerprint,
 * embedded fields or template, metric, index options, analyzer, schema
 * version, write sequence number). The vector index file next to it
 * (index.ssi + index.seq) is derived data: rebuilt or caught up from SQLite
 * whenever it is missing, corrupt or older than the database (docs/collections.md).
 *
 * Thread safety: one ss_collection may be used by many threads at once for
 * search / similar / get / count (each call borrows its own SQLite connection
 * from the handle's pool); add / add_file / delete are serialised on the
 * handle. Across processes: any number of read-only handles, one writer
 * (a lock file held with flock: a second writer gets "locked by pid N" or
 * waits lock_wait_ms). Read-only handles see a writer's committed batches at
 * their next search (the index catches up by sequence number).
 */
typedef struct ss_collection ss_collection;

typedef struct ss_collection_options {
    const char *model_dir;    /* create: model folder (NULL: error); open: NULL = the recorded one,
                                 else it must have the recorded weights fingerprint               */
    int create;               /* 1: create the collection when the folder has none               */
    int read_only;            /* 1: no writer lock; add / delete are refused                     */
    /* Recorded at creation (ignored when opening an existing collection, except
     * that a non-NULL fields / template_text that differs is an error). */
    const char *fields;       /* embedded fields, comma-separated, joined with a space; NULL "text" */
    const char *template_text;/* "{title}. {text}" instead of fields; NULL none                  */
    const char *analyzer;     /* BM25 analyzer: "standard" (default) or "english"                */
    ss_metric metric;         /* default cosine                                                  */
    ss_index_type index_type; /* default flat                                                    */
    int hnsw_m, ef_construction, ef_search; /* 0 = the index defaults                            */
    /* Per handle. */
    int sync_off;             /* 1: synchronous=NORMAL (a crash may lose the last commits)       */
    int lock_wait_ms;         /* writer: wait up to this long for another writer; 0 = fail now  */
    int n_threads;            /* model threads; 0 = all cores                                    */
    /* Recorded at creation: 1 = a fields collection (the "Collection fields"
     * API below): no collection-wide model or embedded text; documents are
     * arbitrary JSON whose vectors and texts are named fields. model_dir is
     * then not needed (the caller embeds, e.g. for semantic_text). */
    int fields_only;
    /* Chunking, recorded at creation (opening with other non-zero values is an
     * error): chunk_tokens > 0 embeds passages of that many model tokens,
     * consecutive passages sharing >= chunk_overlap tokens (see ss_chunk_text). */
    int chunk_tokens, chunk_overlap;
} ss_collection_options;

/* Open (or, with opts->create, create) the collection in folder dir.
 * Errors: not a collection, a different model (both named), locked by pid N. */
ss_collection *ss_collection_open(const char *dir, const ss_collection_options *opts, ss_error *err);
/* Saves the vector index when it changed, releases the lock. NULL is a no-op. */
ss_status ss_collection_close(ss_collection *c, ss_error *err);

int64_t ss_collection_count(ss_collection *c); /* documents (-1 on error) */
int ss_collection_dim(const ss_collection *c);
/* One line: model, fields/template, metric, index, analyzer, chunking, count, seq. */
const char *ss_collection_describe(ss_collection *c);

/* One document to add: id NULL = generated ("auto-N"); fields_json = one JSON object. */
typedef struct ss_doc {
    const char *id;
    const char *fields_json;
    /* dim floats computed elsewhere (e.g. another process's encoder), NULL:
     * embedded by the collection's model. Refused by a chunked collection. */
    const float *vector;
} ss_doc;

typedef struct ss_add_stats {
    size_t added;     /* new ids                                          */
    size_t replaced;  /* existing ids whose document was replaced         */
    size_t embedded;  /* documents embedded (new or changed text)         */
    size_t unchanged; /* replaced with the same embedded text: not re-embedded */
    size_t skipped;   /* bad records skipped (skip_bad)                   */
    size_t batches;   /* transactions committed                           */
    size_t given;     /* stored with a precomputed vector (not embedded)  */
} ss_add_stats;

/* Add or replace n documents in ONE transaction (all or nothing). A document
 * is re-embedded only when its embedded text changed; one given with a
 * vector is stored with it, never embedded. stats accumulate. */
ss_status ss_collection_add(ss_collection *c, const ss_doc *docs, size_t n, ss_add_stats *stats,
                            ss_error *err);

typedef struct ss_ingest_options {
    const char *format;   /* "jsonl", "csv", "tsv", "text"; NULL = from the extension (.jsonl .json
                             .csv .tsv, else text: one document per line)                        */
    const char *id_field; /* NULL: "id", else "_id" when the record has it; absent -> FILE:LINE   */
    int batch_size;       /* documents per transaction; 0 = 256                                 */
    int skip_bad;         /* 1: skip bad records (counted in stats->skipped) instead of failing  */
    /* Precomputed vectors: each record's vector is this field, a JSON array of
     * dim numbers (in CSV / TSV a cell holding one); it is not embedded, and the
     * field is kept as the document's vector, not among its stored fields.
     * NULL: every document is embedded by the collection's model. */
    const char *vector_field;
    /* After each committed batch (acknowledged: durable unless sync_off). */
    void (*committed)(void *user, size_t docs_committed_total);
    /* Progress: documents read so far, bytes read of the file's size. */
    void (*progress)(void *user, size_t docs, uint64_t bytes, uint64_t bytes_total);
    void *user;
} ss_ingest_options;

/* Read a JSONL / CSV / TSV (header row, RFC 4180 quoting) / text file and add
 * it in batches. Errors name FILE:LINE (malformed record, missing field, empty
 * text, duplicate id within the file, invalid UTF-8 with its byte offset); the
 * failing batch is rolled back, earlier batches stay committed. */
ss_status ss_collection_add_file(ss_collection *c, const char *path, const ss_ingest_options *opts,
                                 ss_add_stats *stats, ss_error *err);

/* Delete by id (unknown ids are counted, not errors), one transaction. */
ss_status ss_collection_delete(ss_collection *c, const char *const *ids, size_t n, size_t *deleted,
                               ss_error *err);

typedef enum {
    SS_SEARCH_VECTOR = 0, /* embedding + vector index                                  */
    SS_SEARCH_BM25 = 1,   /* Lucene BM25 over the analyzed embedded text                */
    SS_SEARCH_HYBRID = 2, /* reciprocal rank fusion of both (Elasticsearch's rrf)       */
    SS_SEARCH_LINEAR = 3  /* weighted sum of min-max normalised vector and BM25 scores  */
} ss_search_mode;

typedef struct ss_query {
    const char *text;       /* the query (NULL with vector mode: use `vector`)           */
    const float *vector;    /* a precomputed query vector (dim floats), vector mode      */
    int k;                  /* hits wanted; 0 = 10                                       */
    ss_search_mode mode;
    const char *where;      /* filter on fields: country = "USA" AND year >= 2020; NULL all */
    const char *exclude_id; /* drop this document (BEIR's own-id rule; similar)          */
    double k1, b;           /* BM25; 0 = 1.2 / 0.75 (b < 0: b = 0)                        */
    int rank_window;        /* hybrid: candidates from each side; 0 = max(k, 100)        */
    int rank_constant;      /* RRF; 0 = 60                                               */
    double vector_weight;   /* linear: weight of the vector side, 0 = 0.5                */
    int ef_search;          /* HNSW beam; 0 = the collection's                           */
} ss_query;

typedef struct ss_hit {
    const char *id;          /* external id                                          */
    double score;            /* cosine/dot similarity, -l2, BM25, RRF or linear score */
    const char *text;        /* the embedded text                                    */
    const char *fields_json; /* the stored fields, one JSON object                   */
    int64_t rowid;           /* internal id (= the vector index id)                  */
} ss_hit;

typedef struct ss_results ss_results; /* owns its hits' strings */
size_t ss_results_count(const ss_results *r);
const ss_hit *ss_results_hit(const ss_results *r, size_t i); /* best first */
void ss_results_free(ss_results *r);

/* Search; results hold min(k, matching documents) hits. */
ss_results *ss_collection_search(ss_collection *c, const ss_query *q, ss_error *err);
/* n queries at once (texts embedded in one batch); out[i] receives query i's
 * results (free each). On error nothing is left allocated. */
ss_status ss_collection_search_many(ss_collection *c, const ss_query *qs, size_t n, ss_results **out,
                                    ss_error *err);
/* The k documents nearest to document id (itself excluded); q may be NULL
 * (k 10) and its where applies. */
ss_results *ss_collection_similar(ss_collection *c, const char *id, const ss_query *q, ss_error *err);
/* One document by id: a one-hit result (score 0), or NULL + SS_ERR_NOT_FOUND. */
ss_results *ss_collection_get(ss_collection *c, const char *id, ss_error *err);

/* Analyze text with a named analyzer ("standard", "english"): calls emit for
 * every token (NUL-terminated) in order. For checks and tools. */
ss_status ss_analyze(const char *analyzer, const char *text,
                     void (*emit)(void *user, const char *token), void *user, ss_error *err);

/* ---- Chunking long documents into passages (src/store/chunk.c) --------- */
/* One passage of a text: bytes [start, end) of it, n_tokens model tokens
 * (without [CLS] / [SEP]). */
typedef struct ss_chunk {
    size_t start, end;
    int n_tokens;
} ss_chunk;
/* Split text (NUL-terminated UTF-8) into passages of at most chunk_tokens
 * model tokens made of whole whitespace-separated segments, consecutive
 * passages sharing the trailing segments that hold >= overlap tokens (fewer
 * only when the next segment would not fit otherwise). A segment longer than
 * chunk_tokens is a passage alone. *out (free with ss_chunks_free) holds
 * *n passages; a text with no tokens gives none. Thread safety: as
 * ss_tokenizer_encode. */
ss_status ss_chunk_text(const ss_tokenizer *tok, const char *text, int chunk_tokens, int overlap,
                        ss_chunk **out, size_t *n, ss_error *err);
void ss_chunks_free(ss_chunk *chunks);

/* The passage behind hit i of a chunked collection's vector / hybrid /
 * similar results: offsets into the hit's text (its embedded text), in
 * characters (Unicode code points, as Python's str[start:end]) and in bytes,
 * and the passage's own vector score. Returns 0 (out zeroed) when the hit has
 * no passage (not chunked, or a BM25-only hit). */
typedef struct ss_passage {
    int64_t start, end;           /* code points */
    int64_t byte_start, byte_end; /* bytes       */
    double score;                 /* the passage's vector score (= the hit's in vector mode) */
    int64_t passage_rowid;        /* the vector index id of the passage */
} ss_passage;
int ss_results_passage(const ss_results *r, size_t i, ss_passage *out);
/* The collection's chunking (0, 0 when it embeds whole documents). */
void ss_collection_chunking(const ss_collection *c, int *chunk_tokens, int *chunk_overlap);
/* @@STORE-API-END@@ */

/* @@COLLECTION-ITER-BEGIN@@ (srvops: `semsearch push`) */
/* The settings a collection was created with, for tools that describe it to
 * another system (push writes an Elasticsearch mapping from them). Strings
 * point into the handle: valid until ss_collection_close. */
typedef struct ss_collection_info {
    int dim;
    ss_metric metric;
    ss_index_type index_type;
    int hnsw_m, ef_construction;  /* 0 = the index defaults */
    const char *fields;           /* embedded fields "a,b", or NULL with a template */
    const char *template_text;    /* or NULL */
    const char *analyzer;
    const char *model_path;
} ss_collection_info;
void ss_collection_info_get(const ss_collection *c, ss_collection_info *out);

/* Every document with its stored vector, in rowid order (rowids are never
 * reused, so "rowid > last one sent" is a resumable position). Reads pages
 * of documents, each in its own short read transaction, so a long iteration
 * never pins the WAL; documents written meanwhile with a higher rowid are
 * seen. The document and its strings are valid until the next call. */
typedef struct ss_collection_iter ss_collection_iter;
typedef struct ss_doc_vec {
    int64_t rowid;
    const char *id;          /* external id */
    const char *fields_json; /* the stored fields, one JSON object */
    const char *text;        /* the embedded text */
    const float *vector;     /* dim floats, NULL when the document has none */
} ss_doc_vec;
ss_collection_iter *ss_collection_iter_new(ss_collection *c, int64_t after_rowid, ss_error *err);
/* 1: *out is the next document; 0: no more; -1: error (err says why). */
int ss_collection_iter_next(ss_collection_iter *it, ss_doc_vec *out, ss_error *err);
void ss_collection_iter_free(ss_collection_iter *it);
/* @@COLLECTION-ITER-END@@ */

/* @@FIELDS-API-BEGIN@@ */
/*
 * Collection fields (a collection created with fields_only = 1): documents
 * with arbitrary JSON, a version and a caller's sequence number, and any
 * number of named fields:
 *   - vector fields (dim, metric, index type / quantisation / m /
 *     ef_construction), each with its own derived index file
 *     (DIR/field-N.ssi + .log) kept in step with SQLite by the write
 *     sequence (index generation) exactly as the collection's main index,
 *     caught up or rebuilt from SQLite when missing or stale;
 *   - text fields (one FTS5 table each, the field's analyzer), scored with
 *     Lucene's BM25 and per-field length norms (N, avgdl and norms of the
 *     documents that have the field).
 * Writes are batches: ss_collection_begin .. put / remove .. commit (one
 * SQLite transaction; the field indexes are updated after it commits).
 * Inside a batch, ss_collection_lookup on the batch's thread sees the
 * batch's own writes. Reads (lookup, record_at, scan, knn, match, vector)
 * may run from any thread beside a writer and see committed batches.
 */
typedef enum { SS_FIELD_VECTOR = 0, SS_FIELD_TEXT = 1 } ss_field_kind;

typedef struct ss_field_def {
    const char *name;
    ss_field_kind kind;
    int dim;                /* vector: 1..65536                                          */
    ss_index_options index; /* vector: type, metric, quantize, m, ef_construction (int8 /
                               binary: kept fp32 below 1024 vectors, then rebuilt
                               quantised, so the quantiser is trained on real data)      */
    const char *analyzer;   /* text: "standard" (NULL) or "english"                      */
} ss_field_def;

/* Define a field (idempotent when the definition is the same; another
 * definition of the name is an error). Inside a batch it commits with it. */
ss_status ss_collection_define_field(ss_collection *c, const ss_field_def *f, ss_error *err);
int ss_collection_has_field(ss_collection *c, const char *name);

/* A field value of one document: vector (the field's dim floats) or text. */
typedef struct ss_field_value {
    const char *field;
    const float *vector;
    const char *text;
} ss_field_value;

/* One stored document. Strings are owned: ss_record_clear frees them. */
typedef struct ss_record {
    int64_t rowid;   /* internal id (the field indexes' id) */
    char *id;
    char *json;      /* the document as given */
    char *view;      /* the caller's smaller projection (e.g. without vectors), for scans */
    int64_t version, seq_no;
} ss_record;
void ss_record_clear(ss_record *r);

ss_status ss_collection_begin(ss_collection *c, ss_error *err);
ss_status ss_collection_commit(ss_collection *c, ss_error *err);
void ss_collection_rollback(ss_collection *c);
/* Insert or replace document id (in a batch): json and view are stored as
 * given; the document's field values become exactly `values` (fields not
 * listed lose their value). *rowid (may be NULL) receives its rowid. */
ss_status ss_collection_put(ss_collection *c, const char *id, const char *json, const char *view, int64_t version,
                            int64_t seq_no, const ss_field_value *values, size_t n_values, int64_t *rowid,
                            ss_error *err);
/* Remove (in a batch): 1 removed, 0 no such id, -1 error. */
int ss_collection_remove(ss_collection *c, const char *id, ss_error *err);
/* By id / by rowid; SS_ERR_NOT_FOUND when absent. */
ss_status ss_collection_lookup(ss_collection *c, const char *id, ss_record *out, ss_error *err);
ss_status ss_collection_record_at(ss_collection *c, int64_t rowid, ss_record *out, ss_error *err);
/* Every document in rowid order (json left NULL: scans read the view);
 * fn returns nonzero to stop. */
ss_status ss_collection_scan(ss_collection *c, int (*fn)(void *user, const ss_record *r), void *user,
                             ss_error *err);
int64_t ss_collection_max_rowid(ss_collection *c); /* 0 when empty, -1 on error */
/* k nearest rowids of a vector field (the field index's metric order,
 * padded with -1), beam ef (0 = default), filter an allow-list over rowids. */
ss_status ss_collection_knn(ss_collection *c, const char *field, const float *query, int k, int ef,
                            const ss_filter *filter, int64_t *ids, float *scores, ss_error *err);
/* The stored fp32 vector of a document's field; SS_ERR_NOT_FOUND when it has none. */
ss_status ss_collection_vector(ss_collection *c, const char *field, int64_t rowid, float *out, ss_error *err);
/* BM25 over a text field: pre-analyzed terms, any (all = 0) or every (all = 1)
 * of them; fn gets each matching rowid and its score. */
ss_status ss_collection_match(ss_collection *c, const char *field, const char *const *terms, size_t n_terms,
                              int all, double k1, double b, void (*fn)(void *user, int64_t rowid, double score),
                              void *user, ss_error *err);
/* Small caller metadata kept in the collection (key <= 64 bytes). get: malloc'd or NULL. */
ss_status ss_collection_meta_set(ss_collection *c, const char *key, const char *value, ss_error *err);
char *ss_collection_meta_get(ss_collection *c, const char *key);
/* @@FIELDS-API-END@@ */

#ifdef __cplusplus
}
#endif
#endif /* SEMSEARCH_H */
