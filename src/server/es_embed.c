/* es_embed.c — knn's query_vector_builder: {"text_embedding": {"model_id",
 * "model_text"}} is embedded with the server's model (through the shared
 * batcher, so it packs with concurrent /embed requests) and replaced by a
 * query_vector before the search takes any lock. The handler thread waits
 * for its job; the batcher runs on its own thread, so this cannot deadlock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/es_docs.h"

typedef struct wait_job {
    ss_embed_job job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} wait_job;

static void job_done(ss_embed_job *job, void *user) {
    (void)job;
    wait_job *w = user;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Embed one text; a cJSON array of the vector, or NULL with why filled. */
static cJSON *embed_one(ss_server *s, const char *text, char *why, size_t cap) {
    ss_model *m = s->model;
    int D = ss_model_dim(m), max_len = ss_model_max_seq_length(m);
    ss_error err;
    int nt = ss_tokenizer_encode(ss_model_tokenizer(m), text, strlen(text), 0, NULL, 0, &err);
    if (nt < 0) return snprintf(why, cap, "cannot tokenize model_text: %.400s", err.msg), NULL;
    if (nt > max_len) nt = max_len; /* truncated, as Elasticsearch's inference truncates */
    if (nt < 1) nt = 1;
    float *raw = malloc((size_t)D * sizeof *raw), *vec = malloc((size_t)D * sizeof *vec);
    wait_job *w = calloc(1, sizeof *w);
    if (!raw || !vec || !w) {
        free(raw), free(vec), free(w);
        return snprintf(why, cap, "out of memory"), NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    const char *texts[1] = {text};
    int toks[1] = {nt};
    w->job = (ss_embed_job){.texts = texts, .n = 1, .tokens = toks, .out = raw, .done = job_done, .user = w};
    cJSON *out = NULL;
    if (ss_batcher_submit(s->batcher, &w->job) != 0) {
        snprintf(why, cap, "the embedding queue is full or the server is stopping");
    } else {
        pthread_mutex_lock(&w->mu);
        while (!w->done) pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
        if (w->job.status != SS_OK) snprintf(why, cap, "embedding failed: %.400s", w->job.error);
        else {
            ss_encode_options eo = {0};
            ss_batcher_finish_vector(m, &eo, raw, vec);
            out = cJSON_CreateFloatArray(vec, ss_encode_dim(m, &eo));
        }
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w), free(raw), free(vec);
    return out;
}

static int build_one(ss_server *s, cJSON *knn, ss_http_resp *resp) {
    cJSON *b = cJSON_GetObjectItemCaseSensitive(knn, "query_vector_builder");
    if (!b) return 0;
    if (cJSON_GetObjectItemCaseSensitive(knn, "query_vector")) {
        es_error(resp, 400, "illegal_argument_exception", NULL,
                 "Exactly one of [query_vector] or [query_vector_builder] must be provided");
        return -1;
    }
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(b, "text_embedding");
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(te, "model_text"));
    if (!text) {
        es_error(resp, 400, "illegal_argument_exception", NULL,
                 "[query_vector_builder] needs {\"text_embedding\": {\"model_id\": ..., \"model_text\": \"...\"}}");
        return -1;
    }
    if (!s->model) {
        es_error(resp, 400, "illegal_argument_exception", NULL, "[query_vector_builder]: the server has no model");
        return -1;
    }
    char why[600];
    cJSON *v = embed_one(s, text, why, sizeof why);
    if (!v) {
        es_error(resp, 503, "status_exception", NULL, "%s", why);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(knn, "query_vector_builder");
    cJSON_AddItemToObject(knn, "query_vector", v);
    return 0;
}

static int build_list(ss_server *s, cJSON *knn, ss_http_resp *resp) {
    if (cJSON_IsArray(knn)) {
        cJSON *e;
        cJSON_ArrayForEach(e, knn) if (build_one(s, e, resp) != 0) return -1;
        return 0;
    }
    return knn ? build_one(s, knn, resp) : 0;
}

int es_build_query_vectors(ss_http_req *r, cJSON *body, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    if (build_list(s, cJSON_GetObjectItemCaseSensitive(body, "knn"), resp) != 0) return -1;
    cJSON *ret = cJSON_GetObjectItemCaseSensitive(body, "retriever");
    if (build_list(s, cJSON_GetObjectItemCaseSensitive(ret, "knn"), resp) != 0) return -1;
    cJSON *subs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ret, "rrf"), "retrievers"), *e;
    cJSON_ArrayForEach(e, subs) if (build_list(s, cJSON_GetObjectItemCaseSensitive(e, "knn"), resp) != 0) return -1;
    return 0;
}
