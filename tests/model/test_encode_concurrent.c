/* test_encode_concurrent.c — many threads encoding on one shared ss_model give
 * the vectors one thread gives, bit for bit (run under ThreadSanitizer too:
 * the name has "concurrent" in it).
 *
 * N_THREADS threads each encode their own slice of the texts (different
 * texts per thread, long and short ones) ROUNDS times, in four arrangements:
 *   shared   a context each, all on one shared 2-thread pool
 *   private  a context each with its own 2-thread pool
 *   inline   a context each with n_threads 1 (no pool threads)
 *   model    ss_encode / ss_encode_tokens on the model (its own context,
 *            behind the model's mutex)
 * The reference is the same slices encoded one after another on one thread
 * with the same pool size (GEMM column slices follow the pool size). Then
 * the BLAS setting is switched to single-threaded (ss_blas_set_single_threaded)
 * and the shared arrangement is checked again against a reference taken in
 * that setting. */
#include <pthread.h>
#include <stdint.h>

#include "semsearch.h"
#include "test.h"
#include "test_util.h"

#define N_THREADS 4
#define ROUNDS 2

typedef enum { SHARED, PRIVATE, INLINE, MODEL } mode;

typedef struct slice {
    const char *const *texts;
    size_t n;
} slice;

typedef struct job {
    ss_model *m;
    mode md;
    ss_pool *pool; /* SHARED */
    slice sl;
    const float *ref;   /* [n, dim] */
    const float *ref_tok; /* token embeddings of the slice's first text */
    int ref_ntok;
    int dim, hidden;
    int mismatches, errors;
} job;

static float *encode_slice(ss_model *m, ss_context *c, slice sl, int dim, ss_error *err) {
    float *out = malloc(sl.n * (size_t)dim * sizeof(float));
    ss_encode_options o = {.batch_size = 8};
    ss_status s = c ? ss_context_encode(c, sl.texts, sl.n, &o, out, err) : ss_encode(m, sl.texts, sl.n, &o, out, err);
    if (s != SS_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static float *encode_tok(ss_model *m, ss_context *c, const char *text, int *nt, ss_error *err) {
    return c ? ss_context_encode_tokens(c, text, NULL, nt, err) : ss_encode_tokens(m, text, NULL, nt, err);
}

static ss_context *make_ctx(ss_model *m, mode md, ss_pool *shared, ss_error *err) {
    ss_context_options co = {0};
    switch (md) {
    case SHARED: co.pool = shared; break;
    case PRIVATE: co.n_threads = 2; break;
    case INLINE: co.n_threads = 1; break;
    case MODEL: return NULL;
    }
    return ss_context_new(m, &co, err);
}

static void *worker(void *arg) {
    job *j = arg;
    ss_error err;
    ss_context *c = NULL;
    if (j->md != MODEL && !(c = make_ctx(j->m, j->md, j->pool, &err))) {
        j->errors++;
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        float *v = encode_slice(j->m, c, j->sl, j->dim, &err);
        if (!v) {
            j->errors++;
            break;
        }
        if (memcmp(v, j->ref, j->sl.n * (size_t)j->dim * sizeof(float)) != 0) j->mismatches++;
        free(v);
        int nt = 0;
        float *t = encode_tok(j->m, c, j->sl.texts[0], &nt, &err);
        if (!t) {
            j->errors++;
            break;
        }
        if (nt != j->ref_ntok || memcmp(t, j->ref_tok, (size_t)nt * j->hidden * sizeof(float)) != 0) j->mismatches++;
        free(t);
    }
    ss_context_free(c);
    return NULL;
}

static const char *mode_name(mode md) {
    static const char *const names[] = {"shared pool", "private pools", "n_threads 1", "model (mutex)"};
    return names[md];
}

/* Reference vectors of every slice, encoded one after another on this thread. */
static void run_mode(ss_model *m, mode md, ss_pool *shared, slice *sl, int dim, int hidden) {
    ss_error err;
    ss_context *c = make_ctx(m, md, shared, &err);
    REQUIRE(md == MODEL || c != NULL);
    float *ref[N_THREADS], *ref_tok[N_THREADS];
    int ref_ntok[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        ref[t] = encode_slice(m, c, sl[t], dim, &err);
        REQUIRE(ref[t] != NULL);
        ref_tok[t] = encode_tok(m, c, sl[t].texts[0], &ref_ntok[t], &err);
        REQUIRE(ref_tok[t] != NULL);
    }
    ss_context_free(c);
    job jobs[N_THREADS];
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (job){.m = m, .md = md, .pool = shared, .sl = sl[t], .ref = ref[t], .ref_tok = ref_tok[t],
                        .ref_ntok = ref_ntok[t], .dim = dim, .hidden = hidden};
        REQUIRE(pthread_create(&th[t], NULL, worker, &jobs[t]) == 0);
    }
    int mism = 0, errs = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        mism += jobs[t].mismatches;
        errs += jobs[t].errors;
    }
    printf("%-14s %d threads x %d rounds: %d mismatches, %d errors\n", mode_name(md), N_THREADS, ROUNDS, mism, errs);
    CHECKF(errs == 0, "%s: %d encode errors", mode_name(md), errs);
    CHECKF(mism == 0, "%s: %d results differ from one thread's", mode_name(md), mism);
    for (int t = 0; t < N_THREADS; t++) {
        free(ref[t]);
        free(ref_tok[t]);
    }
}

int main(void) {
    ss_error err;
    size_t n_all = 0;
    char **all = tu_read_jsonl_strings(SEMSEARCH_TESTS_DIR "/golden/minilm_texts.jsonl", NULL, &n_all);
    REQUIRE(all && n_all > 2758 + 16);
    /* 16 short STSb sentences and 8 of the hard cases after them (long, odd
     * scripts), dealt round-robin so every thread gets both kinds. */
    const char *pick[64];
    size_t np = 0;
    for (size_t i = 0; i < 16; i++) pick[np++] = all[i];
    for (size_t i = 2758; i < n_all && np < 24; i++) pick[np++] = all[i];
    const char *dealt[N_THREADS][16];
    slice sl[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) sl[t].n = 0;
    for (size_t i = 0; i < np; i++) dealt[i % N_THREADS][sl[i % N_THREADS].n++] = pick[i];
    for (int t = 0; t < N_THREADS; t++) sl[t].texts = dealt[t];

    ss_model_options mo = {.n_threads = 2};
    ss_model *m = ss_model_load(SEMSEARCH_MODEL_DIR, &mo, &err);
    if (!m) fprintf(stderr, "%s\n", err.msg);
    REQUIRE(m != NULL);
    const int dim = ss_encode_dim(m, NULL), hidden = ss_model_hidden_size(m);
    ss_pool *pool = ss_pool_new(2);
    REQUIRE(pool != NULL);

    printf("OpenBLAS threads at start: %s\n", getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "default");
    run_mode(m, SHARED, pool, sl, dim, hidden);
    run_mode(m, PRIVATE, pool, sl, dim, hidden);
    run_mode(m, INLINE, pool, sl, dim, hidden);
    run_mode(m, MODEL, pool, sl, dim, hidden);
    ss_blas_set_single_threaded();
    printf("after ss_blas_set_single_threaded:\n");
    run_mode(m, SHARED, pool, sl, dim, hidden);
    run_mode(m, MODEL, pool, sl, dim, hidden);

    ss_pool_free(pool);
    ss_model_free(m);
    tu_free_strings(all, n_all);
    return TEST_REPORT();
}
