/* batcher.h — dynamic batching across requests (as text-embeddings-inference
 * does): request handlers submit jobs (their texts); one batcher thread packs
 * queued texts from many jobs into one encoder batch — up to max_batch
 * sequences and max_tokens tokens, waiting at most max_wait_us for company
 * when the queue is short — runs ss_encode once, and completes each job when
 * its last text is done.
 *
 * The batcher computes raw pooled embeddings (the model's Normalize module
 * off); the caller applies Normalize / truncate_dim / normalize_embeddings
 * afterwards exactly as ss_encode would (ss_batcher_finish_vector), so one
 * batch can serve requests with different options. Texts with different
 * prompts never share a batch (the prompt changes pooling's prompt skip).
 *
 * Thread safety: submit from any thread; the done callback runs on the
 * batcher thread (keep it short: hand off, e.g. resume a connection).
 */
#ifndef SS_SERVER_BATCHER_H
#define SS_SERVER_BATCHER_H

#include <stddef.h>

#include "semsearch.h"

typedef struct ss_batcher ss_batcher;
typedef struct ss_metrics ss_metrics;
typedef struct ss_embed_job ss_embed_job;

typedef struct ss_batcher_options {
    int max_batch;       /* sequences per encoder batch; 0 = 32              */
    int max_tokens;      /* tokens per batch (packed, no padding); 0 = 8192  */
    int max_wait_us;     /* wait for more texts when fewer than max_batch are */
                         /* queued; 0 = 1000 us, < 0 = never wait             */
    long max_queued;     /* texts queued before submit refuses; 0 = 8192      */
} ss_batcher_options;

struct ss_embed_job {
    /* filled by the submitter */
    const char *const *texts;
    size_t n;
    const int *tokens;   /* tokens per text (after truncation), for the budget */
    const char *prompt;  /* NULL = the model's default prompt, if any         */
    float *out;          /* n * ss_model_dim() raw pooled vectors             */
    void (*done)(ss_embed_job *job, void *user);
    void *user;
    /* filled by the batcher */
    ss_status status;
    char error[512];
    /* private to the batcher */
    size_t next_, finished_;
    ss_embed_job *qnext_;
};

ss_batcher *ss_batcher_new(ss_model *m, const ss_batcher_options *o, ss_metrics *metrics, ss_error *err);
/* Finishes every job already queued, then stops the thread and frees. */
void ss_batcher_free(ss_batcher *b);

/* Refuse new jobs from now on and fail every text not yet in a batch
 * (status SS_ERR_IO, "shutting down"); jobs complete as their last batch
 * finishes. For shutdown after the grace period. */
void ss_batcher_cancel(ss_batcher *b);

/* Queue a job (n >= 1). 0 on success; -1 when the queue is full or the
 * batcher is stopping (the job is untouched; answer 429 / 503). */
int ss_batcher_submit(ss_batcher *b, ss_embed_job *job);
long ss_batcher_queued(ss_batcher *b);
const ss_batcher_options *ss_batcher_opts(const ss_batcher *b);

/* From a raw pooled vector, the final embedding as ss_encode(m, ..., eo)
 * returns it: Normalize module (unless eo->normalize < 0), truncate_dim,
 * then L2 (eo->normalize > 0). dst holds ss_encode_dim(m, eo) floats; raw is
 * modified. */
void ss_batcher_finish_vector(const ss_model *m, const ss_encode_options *eo, float *raw, float *dst);

#endif
