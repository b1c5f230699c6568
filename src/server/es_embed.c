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

cJSON *es_embed_text(void *user, const char *text, char *why, size_t cap) {
    ss_server *s = user;
    if (!s || !s->model) return snprintf(why, cap, "the server has no model"), NULL;
    return embed_one(s, text, why, cap);
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

/* The knn query that semantic / match-on-semantic_text become. */
static cJSON *semantic_knn(ss_server *s, const char *field, const char *text, int k, ss_http_resp *resp) {
    char why[600];
    cJSON *v = s->model ? embed_one(s, text, why, sizeof why) : NULL;
    if (!v) {
        if (!s->model) es_error(resp, 400, "illegal_argument_exception", NULL, "[semantic] query: the server has no model");
        else es_error(resp, 503, "status_exception", NULL, "%s", why);
        return NULL;
    }
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "field", field);
    cJSON_AddItemToObject(q, "query_vector", v);
    cJSON_AddNumberToObject(q, "k", k);
    cJSON_AddNumberToObject(q, "num_candidates", k * 3 / 2 > 10000 ? 10000 : k * 3 / 2 < k ? k : k * 3 / 2);
    return q;
}

static int rewrite(ss_server *s, es_index *x, cJSON *o, int k, ss_http_resp *resp) {
    if (!cJSON_IsObject(o) && !cJSON_IsArray(o)) return 0;
    if (cJSON_IsObject(o)) {
        cJSON *sem = cJSON_GetObjectItemCaseSensitive(o, "semantic");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "match");
        cJSON *knn = cJSON_GetObjectItemCaseSensitive(o, "knn");
        if (cJSON_IsObject(sem)) {
            const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sem, "field"));
            const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sem, "query"));
            const es_field *f = field ? es_field_get(x, field) : NULL;
            if (!field || !text) {
                es_error(resp, 400, "parsing_exception", NULL, "[semantic] query needs [field] and [query]");
                return -1;
            }
            if (!f || f->type != ES_SEMANTIC) {
                es_error(resp, 400, "query_shard_exception", x->name,
                         "failed to create query: Field [%s] of type [%s] is not supported for [semantic] queries", field,
                         f ? "non-semantic" : "unmapped");
                return -1;
            }
            cJSON *q = semantic_knn(s, field, text, k, resp);
            if (!q) return -1;
            double boost = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(sem, "boost"))
                               ? cJSON_GetObjectItemCaseSensitive(sem, "boost")->valuedouble : 1;
            if (boost != 1) cJSON_AddNumberToObject(q, "boost", boost);
            cJSON_DeleteItemFromObjectCaseSensitive(o, "semantic");
            cJSON_AddItemToObject(o, "knn", q);
            return 0;
        }
        if (cJSON_IsObject(m) && m->child) {
            const es_field *f = es_field_get(x, m->child->string);
            if (f && f->type == ES_SEMANTIC) {
                const cJSON *qv = m->child;
                if (cJSON_IsObject(qv)) qv = cJSON_GetObjectItemCaseSensitive(qv, "query");
                if (!cJSON_IsString(qv)) {
                    es_error(resp, 400, "parsing_exception", NULL, "[match] on semantic_text field [%s] needs a text", f->name);
                    return -1;
                }
                cJSON *q = semantic_knn(s, f->name, qv->valuestring, k, resp);
                if (!q) return -1;
                cJSON_DeleteItemFromObjectCaseSensitive(o, "match");
                cJSON_AddItemToObject(o, "knn", q);
                return 0;
            }
        }
        if (cJSON_IsObject(knn) && cJSON_GetObjectItemCaseSensitive(knn, "query_vector_builder")) {
            if (build_one(s, knn, resp) != 0) return -1;
            cJSON *filter = cJSON_GetObjectItemCaseSensitive(knn, "filter");
            return filter ? rewrite(s, x, filter, k, resp) : 0;
        }
    }
    cJSON *e;
    cJSON_ArrayForEach(e, o) if (rewrite(s, x, e, k, resp) != 0) return -1;
    return 0;
}

int es_rewrite_semantic(ss_http_req *r, es_index *x, cJSON *query, int k, ss_http_resp *resp) {
    return query ? rewrite(ss_http_app(r), x, query, k < 1 ? 1 : k, resp) : 0;
}
