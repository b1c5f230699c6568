/* es_search.c — POST|GET /{index}/_search, _count and _mget.
 *
 * The query tree is evaluated over one scan of the collection's document
 * views (text matches and knn clauses come from the FTS5 tables and the
 * vector indexes, looked up by rowid); each top-level knn clause runs on its
 * field's index (es_knn.c) and keeps its k best; a document's score is the
 * sum of its query score and its knn scores, as Elasticsearch combines query
 * and knn (a disjunction). Only the page of hits returned is read in full. kNN scores follow
 * Elasticsearch's dense_vector formulas: cosine (1 + cos)/2, dot_product
 * (1 + dot)/2, l2_norm 1/(1 + l2^2), max_inner_product dot < 0 ? 1/(1 - dot)
 * : dot + 1. retriever.rrf fuses standard and knn retrievers with
 * score = sum 1/(rank_constant + rank). */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server/app.h"
#include "server/es_docs.h"

double es_vec_score(es_sim sim, const float *a, const float *b, int dims, double *raw) {
    double dot = 0, na = 0, nb = 0, l2 = 0;
    for (int i = 0; i < dims; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
        double d = (double)a[i] - b[i];
        l2 += d * d;
    }
    switch (sim) {
    case ES_SIM_COSINE: {
        double c = na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0;
        *raw = c;
        return (1 + c) / 2;
    }
    case ES_SIM_DOT: *raw = dot; return (1 + dot) / 2;
    case ES_SIM_L2: *raw = sqrt(l2); return 1 / (1 + l2);
    case ES_SIM_MIP: *raw = dot; return dot < 0 ? 1 / (1 - dot) : dot + 1;
    }
    return 0;
}

/* ---- _source filtering ------------------------------------------------------------ */

static int pat_match(const cJSON *pats, const char *path, int prefix_ok) {
    const cJSON *p;
    cJSON_ArrayForEach(p, pats) {
        if (!cJSON_IsString(p)) continue;
        if (!fnmatch(p->valuestring, path, 0)) return 1;
        size_t n = strlen(path);
        /* "a.b" includes descend into object "a" */
        if (prefix_ok && !strncmp(p->valuestring, path, n) && p->valuestring[n] == '.') return 2;
    }
    return 0;
}

static cJSON *filter_obj(const cJSON *o, const char *prefix, const cJSON *inc, const cJSON *exc) {
    cJSON *out = cJSON_CreateObject();
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", v->string);
        if (exc && pat_match(exc, path, 0) == 1) continue;
        int m = inc ? pat_match(inc, path, 1) : 1;
        if (!m && !cJSON_IsObject(v)) continue;
        if (cJSON_IsObject(v) && m != 1) {
            cJSON *sub = filter_obj(v, path, inc, exc);
            if (sub->child || m) cJSON_AddItemToObject(out, v->string, sub);
            else cJSON_Delete(sub);
            continue;
        }
        if (cJSON_IsObject(v) && exc) cJSON_AddItemToObject(out, v->string, filter_obj(v, path, NULL, exc));
        else cJSON_AddItemToObject(out, v->string, cJSON_Duplicate(v, 1));
    }
    return out;
}

cJSON *es_source_filter(const cJSON *src, const cJSON *f) {
    if (!f || cJSON_IsTrue(f)) return cJSON_Duplicate(src, 1);
    if (cJSON_IsFalse(f)) return NULL;
    cJSON *inc = NULL, *exc = NULL, *tmp = NULL;
    if (cJSON_IsString(f) || cJSON_IsArray(f)) {
        tmp = cJSON_CreateArray();
        if (cJSON_IsString(f)) cJSON_AddItemToArray(tmp, cJSON_CreateString(f->valuestring));
        else {
            const cJSON *e;
            cJSON_ArrayForEach(e, f) cJSON_AddItemToArray(tmp, cJSON_Duplicate(e, 1));
        }
        inc = tmp;
    } else {
        inc = cJSON_GetObjectItemCaseSensitive(f, "includes");
        if (!inc) inc = cJSON_GetObjectItemCaseSensitive(f, "include");
        exc = cJSON_GetObjectItemCaseSensitive(f, "excludes");
        if (!exc) exc = cJSON_GetObjectItemCaseSensitive(f, "exclude");
        if (inc && !cJSON_GetArraySize(inc)) inc = NULL;
    }
    cJSON *out = filter_obj(src, "", inc, exc);
    cJSON_Delete(tmp);
    return out;
}

/* ---- one scored candidate list ----------------------------------------------------- */

typedef struct cand {
    int64_t doc; /* rowid */
    double score;
    cJSON *keys; /* sort values (by_field) */
} cand;

static int by_score(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Parse a knn clause's filter: one query or an array of them (all must match). */
static int knn_filters(es_index *x, const cJSON *f, es_query ***out, int *n, ss_http_resp *resp) {
    *out = NULL;
    *n = 0;
    if (!f) return 0;
    int cnt = cJSON_IsArray(f) ? cJSON_GetArraySize(f) : 1;
    *out = calloc((size_t)cnt + 1, sizeof **out);
    for (int i = 0; i < cnt; i++) {
        const cJSON *q = cJSON_IsArray(f) ? cJSON_GetArrayItem(f, i) : f;
        if (!((*out)[i] = es_query_parse(x, q, resp))) return -1;
        es_query_prepare_filter((*out)[i], x);
        (*n)++;
    }
    return 0;
}

/* Run one knn clause into cands (k best, best first). Returns count, or -1 with resp filled. */
static long run_knn(es_index *x, const cJSON *k, int size_default, cand **out, ss_http_resp *resp) {
    const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "field"));
    const cJSON *qv = cJSON_GetObjectItemCaseSensitive(k, "query_vector");
    const cJSON *kk = cJSON_GetObjectItemCaseSensitive(k, "k"), *nc = cJSON_GetObjectItemCaseSensitive(k, "num_candidates");
    const cJSON *sim = cJSON_GetObjectItemCaseSensitive(k, "similarity"), *bo = cJSON_GetObjectItemCaseSensitive(k, "boost");
    if (!field) return es_error(resp, 400, "x_content_parse_exception", NULL, "[knn] failed to parse field [field]: [field] is required"), -1;
    if (!cJSON_IsArray(qv)) return es_error(resp, 400, "illegal_argument_exception", NULL, "[knn] requires a query vector; [query_vector] is missing"), -1;
    int kv = kk ? (int)kk->valuedouble : size_default;
    int ncv = nc ? (int)nc->valuedouble : (int)fmin(fmax(1.5 * kv, 1), 10000);
    if (kv < 1) return es_error(resp, 400, "illegal_argument_exception", NULL, "[k] must be greater than 0"), -1;
    if (ncv < kv) return es_error(resp, 400, "illegal_argument_exception", NULL, "[num_candidates] cannot be less than [k]"), -1;
    if (ncv > 10000) return es_error(resp, 400, "illegal_argument_exception", NULL, "[num_candidates] cannot exceed [10000]"), -1;
    const es_field *f = es_field_get(x, field);
    if (!f || (f->type != ES_VECTOR && f->type != ES_SEMANTIC))
        return es_error(resp, 400, "illegal_argument_exception", NULL,
                        f ? "[knn] queries are only supported on [dense_vector] fields; [%s] is not" : "field [%s] does not exist in the mapping", field), -1;
    int n = cJSON_GetArraySize(qv);
    if (f->dims && n != f->dims)
        return es_error(resp, 400, "illegal_argument_exception", NULL,
                        "The query vector has a different number of dimensions [%d] than the document vectors [%d].", n, f->dims), -1;
    float *q = malloc((size_t)n * sizeof *q + 1);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, qv) q[i++] = (float)e->valuedouble;
    es_query **flt;
    int nf;
    if (knn_filters(x, cJSON_GetObjectItemCaseSensitive(k, "filter"), &flt, &nf, resp) != 0) {
        for (int j = 0; j < nf; j++) es_query_free(flt[j]);
        free(flt);
        free(q);
        return -1;
    }
    double boost = bo ? bo->valuedouble : 1, ms = sim ? sim->valuedouble : 0;
    es_hit *hits = NULL;
    long m = es_knn(x, f, q, kv, ncv, flt, nf, sim ? &ms : NULL, &hits, resp);
    for (int j = 0; j < nf; j++) es_query_free(flt[j]);
    free(flt);
    free(q);
    if (m < 0) return -1;
    cand *c = malloc(((size_t)m + 1) * sizeof *c);
    if (!c) return free(hits), es_error(resp, 500, "exception", x->name, "out of memory"), -1;
    for (long i = 0; i < m; i++) c[i] = (cand){hits[i].rowid, hits[i].score * boost, NULL};
    free(hits);
    *out = c;
    return m;
}

typedef struct query_ctx {
    es_index *x;
    es_query *q;
    cand *c;
    size_t n, cap;
    int failed;
} query_ctx;

static int query_one(void *user, const es_doc *d) {
    query_ctx *k = user;
    double s = 1;
    if (k->q && !es_query_eval(k->q, k->x, d, &s)) return 0;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        cand *n = realloc(k->c, cap * sizeof *n);
        if (!n) return k->failed = 1;
        k->c = n;
        k->cap = cap;
    }
    k->c[k->n++] = (cand){d->rowid, s, NULL};
    return 0;
}

static long run_query(es_index *x, const cJSON *qj, cand **out, ss_http_resp *resp) {
    es_query *q = NULL;
    if (qj && !(q = es_query_parse(x, qj, resp))) return -1;
    es_query_prepare(q, x);
    es_hit *direct;
    long nd = es_query_direct(q, &direct);
    if (nd >= 0) { /* a single match / knn: its hits are the answer, no scan */
        cand *c = malloc(((size_t)nd + 1) * sizeof *c);
        for (long i = 0; c && i < nd; i++) c[i] = (cand){direct[i].rowid, direct[i].score, NULL};
        free(direct);
        es_query_free(q);
        if (!c) return es_error(resp, 500, "exception", x->name, "out of memory"), -1;
        *out = c;
        return nd;
    }
    query_ctx k = {x, q, NULL, 0, 0, 0};
    int rc = es_scan(x, es_query_needs_src(q), query_one, &k);
    const char *serr = es_query_error(q);
    if (serr) {
        es_error(resp, 400, "illegal_argument_exception", NULL, "%s", serr);
        es_query_free(q);
        free(k.c);
        return -1;
    }
    es_query_free(q);
    if (rc != 0 || k.failed) {
        free(k.c);
        return es_error(resp, 500, "exception", x->name, "searching [%s] failed", x->name), -1;
    }
    *out = k.c;
    return (long)k.n;
}

/* ---- sort -------------------------------------------------------------------------- */

typedef struct sort_key {
    const es_field *f;
    char name[256];
    int desc, score;
} sort_key;

typedef struct sort_ctx {
    const es_index *x;
    const sort_key *keys;
    int n;
} sort_ctx;

static int cmp_val(const cJSON *a, const cJSON *b) {
    if (!a || cJSON_IsNull(a)) return b && !cJSON_IsNull(b) ? 1 : 0; /* missing last */
    if (!b || cJSON_IsNull(b)) return -1;
    if (cJSON_IsArray(a)) a = cJSON_GetArrayItem(a, 0);
    if (cJSON_IsArray(b)) b = cJSON_GetArrayItem(b, 0);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
    if (cJSON_IsString(a) && cJSON_IsString(b)) return strcmp(a->valuestring, b->valuestring);
    return 0;
}

static int by_sort(const void *pa, const void *pb, void *user) {
    const cand *a = pa, *b = pb;
    const sort_ctx *g_sort = user;
    for (int i = 0; i < g_sort->n; i++) {
        const sort_key *k = &g_sort->keys[i];
        int c;
        if (k->score) c = a->score < b->score ? -1 : a->score > b->score;
        else {
            const cJSON *va = cJSON_GetArrayItem(a->keys, i), *vb = cJSON_GetArrayItem(b->keys, i);
            if (cJSON_IsNull(va)) va = NULL;
            if (cJSON_IsNull(vb)) vb = NULL;
            c = cmp_val(va, vb);
            if ((!va || cJSON_IsNull(va)) != (!vb || cJSON_IsNull(vb))) return c; /* missing last either way */
        }
        if (c) return k->desc ? -c : c;
    }
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

static int parse_sort(es_index *x, const cJSON *s, sort_key *keys, int cap, ss_http_resp *resp) {
    int n = 0;
    const cJSON *one = s;
    int cnt = cJSON_IsArray(s) ? cJSON_GetArraySize(s) : 1;
    for (int i = 0; i < cnt && n < cap; i++) {
        one = cJSON_IsArray(s) ? cJSON_GetArrayItem(s, i) : s;
        sort_key *k = &keys[n];
        memset(k, 0, sizeof *k);
        const char *order = NULL;
        if (cJSON_IsString(one)) snprintf(k->name, sizeof k->name, "%s", one->valuestring);
        else if (cJSON_IsObject(one) && one->child) {
            snprintf(k->name, sizeof k->name, "%s", one->child->string);
            order = cJSON_IsString(one->child) ? one->child->valuestring
                                               : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(one->child, "order"));
        } else
            return es_error(resp, 400, "parsing_exception", NULL, "[sort] malformed sort element"), -1;
        k->score = !strcmp(k->name, "_score");
        k->desc = order ? !strcmp(order, "desc") : k->score;
        if (!k->score) {
            k->f = es_field_get(x, k->name);
            if (!k->f)
                return es_error(resp, 400, "query_shard_exception", x->name, "No mapping found for [%s] in order to sort on", k->name), -1;
            if (k->f->type == ES_TEXT || k->f->type == ES_VECTOR)
                return es_error(resp, 400, "illegal_argument_exception", x->name,
                                "Fielddata is disabled on [%s] in [%s]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead.",
                                k->name, x->name), -1;
        }
        n++;
    }
    return n;
}

/* ---- the search API ---------------------------------------------------------------- */

static double now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static int by_doc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Sum the scores of lists into one candidate set (disjunction). */
static cand *combine(cand **lists, const long *lens, int n, int rrf, int rank_constant, long *out_n) {
    long total = 0;
    for (int l = 0; l < n; l++) total += lens[l];
    cand *c = malloc(((size_t)total + 1) * sizeof *c);
    long m = 0;
    for (int l = 0; c && l < n; l++)
        for (long i = 0; i < lens[l]; i++)
            c[m++] = (cand){lists[l][i].doc, rrf ? 1.0 / (rank_constant + i + 1) : lists[l][i].score, NULL};
    if (c) qsort(c, (size_t)m, sizeof *c, by_doc);
    long k = 0;
    for (long i = 0; i < m; i++) {
        if (k && c[k - 1].doc == c[i].doc) c[k - 1].score += c[i].score;
        else c[k++] = c[i];
    }
    *out_n = c ? k : 0;
    return c;
}

/* The sort values of a candidate, from its view. */
static void fill_keys(es_index *x, cand *c, const sort_key *keys, int nk) {
    ss_record r;
    if (ss_collection_record_at(x->coll, c->doc, &r, NULL) != SS_OK) return;
    cJSON *src = cJSON_Parse(r.view ? r.view : r.json);
    ss_record_clear(&r);
    c->keys = cJSON_CreateArray();
    for (int k = 0; k < nk; k++) {
        const cJSON *v = keys[k].score ? NULL : es_path(src, keys[k].f->path);
        if (cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, 0);
        cJSON_AddItemToArray(c->keys, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    cJSON_Delete(src);
}

static const char *const known_keys[] = {"query", "knn", "size", "from", "_source", "sort", "track_total_hits",
                                         "min_score", "retriever", "timeout", "track_scores", "version",
                                         "seq_no_primary_term", "explain", "stored_fields", NULL};

static int search(ss_http_req *r, ss_http_resp *resp) {
    double t0 = now_ms();
    const char *name = ss_http_param(r, "index");
    size_t blen;
    ss_http_body(r, &blen);
    cJSON *body = blen ? ss_http_json_body(r, resp) : cJSON_CreateObject();
    if (!body) return SS_HTTP_DONE;
    const cJSON *e;
    cJSON_ArrayForEach(e, body) {
        int ok = 0;
        for (int i = 0; known_keys[i]; i++) ok |= !strcmp(known_keys[i], e->string);
        if (!ok) {
            es_error(resp, 400, "parsing_exception", NULL, "Unknown key for a START_OBJECT in [%s].", e->string);
            cJSON_Delete(body);
            return SS_HTTP_DONE;
        }
    }
    const cJSON *jsize = cJSON_GetObjectItemCaseSensitive(body, "size"), *jfrom = cJSON_GetObjectItemCaseSensitive(body, "from");
    const char *qs = ss_http_query(r, "size"), *qf = ss_http_query(r, "from");
    long size = jsize ? (long)jsize->valuedouble : qs ? atol(qs) : 10, from = jfrom ? (long)jfrom->valuedouble : qf ? atol(qf) : 0;
    if (size < 0 || from < 0 || from + size > 10000) {
        es_error(resp, 400, "illegal_argument_exception", NULL,
                 size < 0 ? "[size] parameter cannot be negative, found [%ld]" : "Result window is too large, from + size must be less than or equal to: [10000] but was [%ld].",
                 size < 0 ? size : from + size);
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    if (es_build_query_vectors(r, body, resp) != 0) {
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 0, resp);
    if (!x) {
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    pthread_rwlock_rdlock(&x->lock);
    { /* semantic queries and knn query builders: embed before parsing */
        cJSON *rt = cJSON_GetObjectItemCaseSensitive(body, "retriever");
        cJSON *rrfj = cJSON_GetObjectItemCaseSensitive(rt, "rrf"), *sub;
        const cJSON *rw = cJSON_GetObjectItemCaseSensitive(rrfj, "rank_window_size");
        int window = cJSON_IsNumber(rw) ? (int)rw->valuedouble : (size > 10 ? (int)size : 10);
        int bad = es_rewrite_semantic(r, x, cJSON_GetObjectItemCaseSensitive(body, "query"), (int)(from + size), resp) ||
                  es_rewrite_semantic(r, x, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rt, "standard"), "query"),
                                      (int)(from + size), resp);
        cJSON_ArrayForEach(sub, cJSON_GetObjectItemCaseSensitive(rrfj, "retrievers")) if (!bad) bad =
            es_rewrite_semantic(r, x, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sub, "standard"), "query"),
                                window, resp);
        if (bad) {
            pthread_rwlock_unlock(&x->lock);
            es_release(g);
            cJSON_Delete(body);
            return SS_HTTP_DONE;
        }
    }
    cand *lists[16] = {0};
    long lens[16] = {0};
    int nl = 0, rrf = 0, rank_constant = 60, failed = 0;
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(body, "query");
    const cJSON *knn = cJSON_GetObjectItemCaseSensitive(body, "knn");
    const cJSON *ret = cJSON_GetObjectItemCaseSensitive(body, "retriever");
    if (ret) {
        const cJSON *rr = cJSON_GetObjectItemCaseSensitive(ret, "rrf"), *std = cJSON_GetObjectItemCaseSensitive(ret, "standard"),
                    *rk = cJSON_GetObjectItemCaseSensitive(ret, "knn");
        if (rr) {
            rrf = 1;
            const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rr, "rank_constant"), *rw = cJSON_GetObjectItemCaseSensitive(rr, "rank_window_size");
            rank_constant = rc ? (int)rc->valuedouble : 60;
            long window = rw ? (long)rw->valuedouble : (size > 10 ? size : 10);
            if (rank_constant < 1 || window < size) {
                es_error(resp, 400, "illegal_argument_exception", NULL, rank_constant < 1 ? "[rank_constant] must be greater or equal to [1] for [rrf]" : "[rank_window_size] must be greater than or equal to [size]");
                failed = 1;
            }
            const cJSON *subs = cJSON_GetObjectItemCaseSensitive(rr, "retrievers"), *s;
            cJSON_ArrayForEach(s, subs) {
                if (failed || nl >= 16) break;
                const cJSON *sq = cJSON_GetObjectItemCaseSensitive(s, "standard"), *sk = cJSON_GetObjectItemCaseSensitive(s, "knn");
                long m;
                if (sq) m = run_query(x, cJSON_GetObjectItemCaseSensitive(sq, "query"), &lists[nl], resp);
                else if (sk) m = run_knn(x, sk, (int)window, &lists[nl], resp);
                else {
                    es_error(resp, 400, "parsing_exception", NULL, "unknown retriever [%s]", s->child ? s->child->string : "?");
                    failed = 1;
                    break;
                }
                if (m < 0) {
                    failed = 1;
                    break;
                }
                if (sq && m > 0) qsort(lists[nl], (size_t)m, sizeof(cand), by_score);
                lens[nl++] = m < window ? m : window;
            }
        } else if (std) query = cJSON_GetObjectItemCaseSensitive(std, "query"), knn = NULL;
        else if (rk) knn = rk, query = NULL;
        else {
            es_error(resp, 400, "parsing_exception", NULL, "unknown retriever [%s]", ret->child ? ret->child->string : "?");
            failed = 1;
        }
    }
    if (!rrf && !failed) {
        int cnt = cJSON_IsArray(knn) ? cJSON_GetArraySize(knn) : knn ? 1 : 0;
        for (int i = 0; i < cnt && nl < 15 && !failed; i++) {
            long m = run_knn(x, cJSON_IsArray(knn) ? cJSON_GetArrayItem(knn, i) : knn, (int)size, &lists[nl], resp);
            if (m < 0) failed = 1;
            else lens[nl++] = m;
        }
        if (!failed && (query || !cnt)) {
            long m = run_query(x, query, &lists[nl], resp);
            if (m < 0) failed = 1;
            else lens[nl++] = m;
        }
    }
    sort_key keys[8];
    int nk = 0;
    const cJSON *sort = cJSON_GetObjectItemCaseSensitive(body, "sort");
    if (!failed && sort && (nk = parse_sort(x, sort, keys, 8, resp)) < 0) failed = 1;
    if (failed) {
        for (int i = 0; i < nl; i++) free(lists[i]);
        pthread_rwlock_unlock(&x->lock);
        es_release(g);
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    long m;
    cand *all = combine(lists, lens, nl, rrf, rank_constant, &m);
    for (int i = 0; i < nl; i++) free(lists[i]);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(body, "min_score");
    if (ms) {
        long k = 0;
        for (long i = 0; i < m; i++)
            if (all[i].score >= ms->valuedouble) all[k++] = all[i];
        m = k;
    }
    int by_field = nk > 0 && !(nk == 1 && keys[0].score && keys[0].desc);
    if (by_field) {
        for (long i = 0; i < m; i++) fill_keys(x, &all[i], keys, nk);
        sort_ctx sc = {x, keys, nk};
        qsort_r(all, (size_t)m, sizeof *all, by_sort, &sc);
    } else
        qsort(all, (size_t)m, sizeof *all, by_score);
    int track_scores = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "track_scores"));
    int version = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "version"));
    int seqpt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "seq_no_primary_term"));
    cJSON *src_filter = cJSON_GetObjectItemCaseSensitive(body, "_source");
    cJSON *qsrc = src_filter ? NULL : es_source_param(r);
    if (qsrc) src_filter = qsrc;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "took", 0);
    cJSON_AddFalseToObject(out, "timed_out");
    cJSON_AddItemToObject(out, "_shards", es_shards_read());
    cJSON *hits = cJSON_AddObjectToObject(out, "hits");
    const cJSON *tth = cJSON_GetObjectItemCaseSensitive(body, "track_total_hits");
    if (!cJSON_IsFalse(tth)) {
        long lim = cJSON_IsTrue(tth) ? -1 : cJSON_IsNumber(tth) ? (long)tth->valuedouble : 10000;
        cJSON *t = cJSON_AddObjectToObject(hits, "total");
        cJSON_AddNumberToObject(t, "value", (double)(lim >= 0 && m > lim ? lim : m));
        cJSON_AddStringToObject(t, "relation", lim >= 0 && m > lim ? "gte" : "eq");
    }
    double maxs = 0;
    for (long i = 0; i < m; i++) maxs = i == 0 || all[i].score > maxs ? all[i].score : maxs;
    if (m && (!by_field || track_scores)) cJSON_AddNumberToObject(hits, "max_score", maxs);
    else cJSON_AddNullToObject(hits, "max_score");
    cJSON *arr = cJSON_AddArrayToObject(hits, "hits");
    for (long i = from; i < m && i < from + size; i++) {
        es_doc *d = es_get_at(x, all[i].doc);
        if (!d) continue;
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "_index", x->name);
        cJSON_AddStringToObject(h, "_id", d->id);
        if (version) cJSON_AddNumberToObject(h, "_version", (double)d->version);
        if (seqpt) cJSON_AddNumberToObject(h, "_seq_no", (double)d->seq_no), cJSON_AddNumberToObject(h, "_primary_term", 1);
        if (!by_field || track_scores) cJSON_AddNumberToObject(h, "_score", all[i].score);
        else cJSON_AddNullToObject(h, "_score");
        if (rrf) cJSON_AddNumberToObject(h, "_rank", (double)(i + 1));
        cJSON *src = es_source_filter(d->src, src_filter);
        if (src) cJSON_AddItemToObject(h, "_source", src);
        if (by_field) {
            cJSON *sv = cJSON_AddArrayToObject(h, "sort");
            for (int k = 0; k < nk; k++) {
                if (keys[k].score) {
                    cJSON_AddItemToArray(sv, cJSON_CreateNumber(all[i].score));
                    continue;
                }
                const cJSON *v = cJSON_GetArrayItem(all[i].keys, k);
                cJSON_AddItemToArray(sv, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
            }
        }
        cJSON_AddItemToArray(arr, h);
        es_doc_free(d);
    }
    for (long i = 0; i < m; i++) cJSON_Delete(all[i].keys);
    free(all);
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    cJSON_Delete(qsrc);
    cJSON_Delete(body);
    cJSON_ReplaceItemInObject(out, "took", cJSON_CreateNumber((double)(long long)(now_ms() - t0)));
    ss_http_json(resp, 200, out);
    return SS_HTTP_DONE;
}

static int count(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    size_t blen;
    ss_http_body(r, &blen);
    cJSON *body = blen ? ss_http_json_body(r, resp) : cJSON_CreateObject();
    if (!body) return SS_HTTP_DONE;
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 0, resp);
    if (!x) {
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    pthread_rwlock_rdlock(&x->lock);
    cand *c = NULL;
    long m = es_rewrite_semantic(r, x, cJSON_GetObjectItemCaseSensitive(body, "query"), 10, resp) ? -1
             : run_query(x, cJSON_GetObjectItemCaseSensitive(body, "query"), &c, resp);
    free(c);
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    cJSON_Delete(body);
    if (m < 0) return SS_HTTP_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)m);
    cJSON_AddItemToObject(o, "_shards", es_shards_read());
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

static int mget(ss_http_req *r, ss_http_resp *resp) {
    const char *path_index = ss_http_param(r, "index");
    cJSON *body = ss_http_json_body(r, resp);
    if (!body) return SS_HTTP_DONE;
    const cJSON *docs = cJSON_GetObjectItemCaseSensitive(body, "docs"), *ids = cJSON_GetObjectItemCaseSensitive(body, "ids");
    if (!docs && !(ids && path_index)) {
        cJSON_Delete(body);
        es_error(resp, 400, "action_request_validation_exception", NULL, "Validation Failed: 1: no documents to get;");
        return SS_HTTP_DONE;
    }
    es_registry *g = es_reg(r);
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "docs");
    const cJSON *e;
    cJSON *dflt = es_source_param(r);
    const cJSON *list = docs ? docs : ids;
    cJSON_ArrayForEach(e, list) {
        const char *ix = docs ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "_index")) : NULL;
        const cJSON *idj = docs ? cJSON_GetObjectItemCaseSensitive(e, "_id") : e;
        if (!ix) ix = path_index;
        char id[512];
        if (cJSON_IsNumber(idj)) snprintf(id, sizeof id, "%lld", (long long)idj->valuedouble);
        else snprintf(id, sizeof id, "%s", cJSON_IsString(idj) ? idj->valuestring : "");
        ss_http_resp tmp = {0};
        es_index *x = ix ? es_open_index(g, ix, 0, &tmp) : NULL;
        free(tmp.body);
        if (!x) {
            cJSON *o = cJSON_CreateObject(), *er;
            cJSON_AddStringToObject(o, "_index", ix ? ix : "");
            cJSON_AddStringToObject(o, "_id", id);
            er = cJSON_AddObjectToObject(o, "error");
            cJSON_AddStringToObject(er, "type", "index_not_found_exception");
            cJSON_AddStringToObject(er, "reason", "no such index");
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        pthread_rwlock_rdlock(&x->lock);
        const cJSON *sf = docs ? cJSON_GetObjectItemCaseSensitive(e, "_source") : NULL;
        cJSON_AddItemToArray(arr, es_get_json(x, id, sf ? sf : dflt));
        pthread_rwlock_unlock(&x->lock);
        es_release(g);
    }
    cJSON_Delete(dflt);
    cJSON_Delete(body);
    ss_http_json(resp, 200, out);
    return SS_HTTP_DONE;
}

int ss_es_search_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "POST", "/{index}/_search", search);
    rc |= ss_router_add(rt, "GET", "/{index}/_search", search);
    rc |= ss_router_add(rt, "POST", "/{index}/_count", count);
    rc |= ss_router_add(rt, "GET", "/{index}/_count", count);
    rc |= ss_router_add(rt, "POST", "/_mget", mget);
    rc |= ss_router_add(rt, "GET", "/_mget", mget);
    rc |= ss_router_add(rt, "POST", "/{index}/_mget", mget);
    rc |= ss_router_add(rt, "GET", "/{index}/_mget", mget);
    return rc;
}
