/* batcher.c — one thread, one queue of jobs (FIFO), a mutex and two
 * condition variables. The head job is always in the next batch, so no job
 * starves; later jobs with the same prompt fill the rest of the batch. */
#include "server/batcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "kernels/ops.h"
#include "server/metrics.h"

typedef struct slice {
    ss_embed_job *job;
    size_t start, count;
} slice;

struct ss_batcher {
    ss_model *m;
    ss_batcher_options o;
    ss_metrics *metrics;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    ss_embed_job *head, *tail;
    long queued; /* texts not yet taken into a batch */
    int stop;
    /* batch scratch, owned by the thread */
    const char **texts;
    slice *slices;
    float *out;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int same_prompt(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Take up to max_batch texts / max_tokens tokens into the scratch arrays.
 * Called with the lock held. Returns the number of slices. */
static int take_batch(ss_batcher *b, int *n_texts, long *n_tokens) {
    int ns = 0, nt = 0;
    long tok = 0;
    const char *prompt = b->head->prompt;
    ss_embed_job **link = &b->head, *prev = NULL;
    for (ss_embed_job *j = b->head; j && nt < b->o.max_batch;) {
        ss_embed_job *next = j->qnext_;
        if (!same_prompt(j->prompt, prompt)) {
            prev = j;
            link = &j->qnext_;
            j = next;
            continue;
        }
        size_t start = j->next_;
        while (j->next_ < j->n && nt < b->o.max_batch) {
            int t = j->tokens ? j->tokens[j->next_] : 1;
            if (nt > 0 && tok + t > b->o.max_tokens) break;
            b->texts[nt++] = j->texts[j->next_++];
            tok += t;
        }
        if (j->next_ > start) {
            b->slices[ns++] = (slice){j, start, j->next_ - start};
            b->queued -= (long)(j->next_ - start);
        }
        if (j->next_ == j->n) { /* fully taken: unlink from the queue */
            *link = next;
            if (b->tail == j) b->tail = prev;
            j = next;
            continue;
        }
        break; /* budget reached inside this job */
    }
    *n_texts = nt;
    *n_tokens = tok;
    return ns;
}

static void *run(void *arg) {
    ss_batcher *b = arg;
    const int D = ss_model_dim(b->m);
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stop) pthread_cond_wait(&b->wake, &b->mu);
        if (!b->head) break; /* stopping and drained */
        if (b->queued < b->o.max_batch && b->o.max_wait_us > 0 && !b->stop) {
            /* A short wait for more requests to share this batch. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long ns = until.tv_nsec + (long)b->o.max_wait_us * 1000L;
            until.tv_sec += ns / 1000000000L;
            until.tv_nsec = ns % 1000000000L;
            while (b->queued < b->o.max_batch && !b->stop)
                if (pthread_cond_timedwait(&b->wake, &b->mu, &until) == ETIMEDOUT) break;
        }
        int nt;
        long tokens;
        int ns = take_batch(b, &nt, &tokens);
        ss_metrics_queue_depth(b->metrics, b->queued);
        pthread_mutex_unlock(&b->mu);

        ss_encode_options eo = {.batch_size = nt, .normalize = -1, .prompt = b->slices[0].job->prompt};
        ss_error err;
        double t0 = now_s();
        ss_status s = ss_encode(b->m, b->texts, (size_t)nt, &eo, b->out, &err);
        ss_metrics_batch(b->metrics, nt, tokens, now_s() - t0);
        size_t o = 0;
        for (int i = 0; i < ns; i++) {
            slice *sl = &b->slices[i];
            if (s == SS_OK)
                memcpy(sl->job->out + sl->start * (size_t)D, b->out + o * (size_t)D, sl->count * (size_t)D * sizeof(float));
            else if (sl->job->status == SS_OK) {
                sl->job->status = s;
                snprintf(sl->job->error, sizeof sl->job->error, "%.500s", err.msg);
            }
            o += sl->count;
        }
        pthread_mutex_lock(&b->mu);
        /* Completion after the lock is dropped: done() may free the job. */
        int n_done = 0;
        for (int i = 0; i < ns; i++) {
            ss_embed_job *j = b->slices[i].job;
            j->finished_ += b->slices[i].count;
            if (j->finished_ == j->n) b->slices[n_done++].job = j;
        }
        pthread_mutex_unlock(&b->mu);
        for (int i = 0; i < n_done; i++) b->slices[i].job->done(b->slices[i].job, b->slices[i].job->user);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

ss_batcher *ss_batcher_new(ss_model *m, const ss_batcher_options *o, ss_metrics *metrics, ss_error *err) {
    ss_batcher *b = calloc(1, sizeof *b);
    if (!b) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (o) b->o = *o;
    if (b->o.max_batch <= 0) b->o.max_batch = 32;
    if (b->o.max_tokens <= 0) b->o.max_tokens = 8192;
    if (b->o.max_wait_us == 0) b->o.max_wait_us = 1000;
    if (b->o.max_queued <= 0) b->o.max_queued = 8192;
    if (b->o.max_tokens < ss_model_max_seq_length(m)) b->o.max_tokens = ss_model_max_seq_length(m);
    b->m = m;
    b->metrics = metrics;
    b->texts = malloc((size_t)b->o.max_batch * sizeof *b->texts);
    b->slices = malloc((size_t)b->o.max_batch * sizeof *b->slices);
    b->out = malloc((size_t)b->o.max_batch * (size_t)ss_model_dim(m) * sizeof(float));
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->wake, NULL);
    if (!b->texts || !b->slices || !b->out || pthread_create(&b->thread, NULL, run, b) != 0) {
        ss_fail(err, SS_ERR_NOMEM, "cannot start the batcher thread");
        pthread_cond_destroy(&b->wake);
        pthread_mutex_destroy(&b->mu);
        free(b->texts);
        free(b->slices);
        free(b->out);
        free(b);
        return NULL;
    }
    return b;
}

void ss_batcher_free(ss_batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b->texts);
    free(b->slices);
    free(b->out);
    free(b);
}

void ss_batcher_cancel(ss_batcher *b) {
    ss_embed_job *done[64];
    for (;;) {
        int n_done = 0;
        pthread_mutex_lock(&b->mu);
        b->stop = 1;
        while (b->head && n_done < 64) {
            ss_embed_job *j = b->head;
            b->head = j->qnext_;
            if (!b->head) b->tail = NULL;
            j->status = SS_ERR_IO;
            snprintf(j->error, sizeof j->error, "the server is shutting down");
            b->queued -= (long)(j->n - j->next_);
            j->finished_ += j->n - j->next_;
            j->next_ = j->n;
            if (j->finished_ == j->n) done[n_done++] = j; /* else its last batch completes it */
        }
        int more = b->head != NULL;
        pthread_mutex_unlock(&b->mu);
        for (int i = 0; i < n_done; i++) done[i]->done(done[i], done[i]->user);
        if (!more) break;
    }
}

int ss_batcher_submit(ss_batcher *b, ss_embed_job *job) {
    if (job->n == 0) return -1;
    pthread_mutex_lock(&b->mu);
    if (b->stop || b->queued + (long)job->n > b->o.max_queued) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    job->status = SS_OK;
    job->error[0] = '\0';
    job->next_ = job->finished_ = 0;
    job->qnext_ = NULL;
    if (b->tail) b->tail->qnext_ = job;
    else b->head = job;
    b->tail = job;
    b->queued += (long)job->n;
    ss_metrics_queue_depth(b->metrics, b->queued);
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

long ss_batcher_queued(ss_batcher *b) {
    pthread_mutex_lock(&b->mu);
    long q = b->queued;
    pthread_mutex_unlock(&b->mu);
    return q;
}

const ss_batcher_options *ss_batcher_opts(const ss_batcher *b) { return &b->o; }

void ss_batcher_finish_vector(const ss_model *m, const ss_encode_options *eo, float *raw, float *dst) {
    int D = ss_model_dim(m), outD = ss_encode_dim(m, eo);
    /* the same calls, in the same order, as ss_encode's output loop */
    if (ss_model_normalizes(m) && !(eo && eo->normalize < 0)) ss_l2_normalize(raw, D);
    memcpy(dst, raw, (size_t)outD * sizeof(float));
    if (eo && eo->normalize > 0) ss_l2_normalize(dst, outD);
}
