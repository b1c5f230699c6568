/* es_query.c — the query DSL subset: match_all, match, multi_match, term,
 * terms, range, exists, ids, bool; parsed once into a tree, evaluated per
 * document.
 *
 * Scoring follows Lucene's (as Elasticsearch 8/9 uses it): match on a text
 * field is BM25 (Lucene >= 8: idf = ln(1 + (N - n + 0.5)/(n + 0.5)), tf part
 * f / (f + k1 (1 - b + b dl/avgdl)), no (k1 + 1) factor) summed over the
 * analyzed query terms; N and avgdl over the documents that have the field.
 * Document length is exact here (Lucene stores it in one lossy byte, so
 * long fields can differ slightly). term/match on a keyword field: BM25 with
 * norms off (dl/avgdl = 1). terms / range / exists / ids / match_all and
 * term on numbers: constant score (boost). bool: sum of the scoring clauses. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/es_script.h"
#include "server/es_store.h"

typedef enum { Q_ALL, Q_NONE, Q_MATCH, Q_TERM, Q_TERMS, Q_RANGE, Q_EXISTS, Q_IDS, Q_BOOL, Q_DISMAX, Q_KNN, Q_SCRIPT } q_kind;

struct es_query {
    q_kind kind;
    double boost;
    int field;     /* index into x->fields, -1 unmapped (matches nothing) */
    char *path;    /* source path (exists on unmapped fields still reads it) */
    cJSON *value;  /* term / terms values, ids values, range bounds */
    char **terms;  /* match on text: analyzed query terms */
    int n_terms;
    int op_and;
    double *idf;   /* per term (prepare) */
    double avgdl;
    double tie;    /* dis_max (multi_match) tie_breaker */
    es_query **kids[4]; /* bool: must, should, filter, must_not; dismax: kids[0] */
    int n_kids[4];
    int msm;
    /* knn query: the vector, how many to keep (k), the beam (num_candidates).
     * knn and match on a text field: (rowid, score) of the matches, by rowid (prepare). */
    float *qvec;
    int dims, keep, nc;
    double min_sim;
    int has_min_sim;
    es_hit *hits;
    size_t n_hits, cap_hits;
    int on_text; /* match / term on a text field: scored from hits, no source needed */
    es_script *script; /* script_score: kids[0][0] is its query */
    int has_min_score;
    double min_score;
};

static void fail(ss_http_resp *resp, const char *fmt, const char *a, const char *b) {
    es_error(resp, 400, "parsing_exception", NULL, fmt, a, b ? b : "");
}

void es_query_free(es_query *q) {
    if (!q) return;
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < q->n_kids[k]; i++) es_query_free(q->kids[k][i]);
        free(q->kids[k]);
    }
    for (int i = 0; i < q->n_terms; i++) free(q->terms[i]);
    free(q->terms);
    free(q->idf);
    free(q->path);
    free(q->qvec);
    free(q->hits);
    es_script_free(q->script);
    cJSON_Delete(q->value);
    free(q);
}

static es_query *qnew(q_kind k) {
    es_query *q = calloc(1, sizeof *q);
    if (q) q->kind = k, q->boost = 1, q->field = -1;
    return q;
}

static void set_field(es_query *q, const es_index *x, const char *name) {
    q->path = strdup(name);
    const es_field *f = es_field_get(x, name);
    if (f) {
        q->field = (int)(f - x->fields);
        free(q->path);
        q->path = strdup(f->path);
    }
}

static void tok_emit(void *user, const char *tok) {
    es_query *q = user;
    char **n = realloc(q->terms, (size_t)(q->n_terms + 1) * sizeof *n);
    if (!n) return;
    q->terms = n;
    if ((q->terms[q->n_terms] = strdup(tok))) q->n_terms++;
}

static int add_kid(es_query *q, int slot, es_query *k) {
    es_query **n = realloc(q->kids[slot], (size_t)(q->n_kids[slot] + 1) * sizeof *n);
    if (!n) return -1;
    q->kids[slot] = n;
    n[q->n_kids[slot]++] = k;
    return 0;
}

/* {"field": value} or {"field": {"query"|"value": v, "boost": b, ...}}: the field's name and its options. */
static const cJSON *one_field(const cJSON *body, const char *qname, ss_http_resp *resp) {
    if (!cJSON_IsObject(body) || !body->child) {
        fail(resp, "[%s] query malformed, no start_object after query name%s", qname, NULL);
        return NULL;
    }
    const cJSON *f = body->child;
    while (f && !strcmp(f->string, "boost")) f = f->next;
    const cJSON *g = f ? f->next : NULL;
    while (g && !strcmp(g->string, "boost")) g = g->next;
    if (!f) return fail(resp, "[%s] query requires a field%s", qname, NULL), NULL;
    if (g) {
        char m[600];
        snprintf(m, sizeof m, "[%s] query doesn't support multiple fields, found [%s] and [%s]", qname, f->string, g->string);
        es_error(resp, 400, "parsing_exception", NULL, "%s", m);
        return NULL;
    }
    return f;
}

static double num_of(const cJSON *v, double dflt) {
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v)) return atof(v->valuestring);
    return dflt;
}

static es_query *parse_match(es_index *x, const char *field, const cJSON *spec, ss_http_resp *resp, double boost) {
    es_query *q = qnew(Q_MATCH);
    if (!q) return NULL;
    set_field(q, x, field);
    q->boost = boost;
    const cJSON *qv = spec;
    if (cJSON_IsObject(spec)) {
        qv = cJSON_GetObjectItemCaseSensitive(spec, "query");
        q->boost *= num_of(cJSON_GetObjectItemCaseSensitive(spec, "boost"), 1);
        const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "operator"));
        q->op_and = op && (!strcmp(op, "and") || !strcmp(op, "AND"));
        if (!qv) {
            es_query_free(q);
            return fail(resp, "[match] requires query value%s", "", NULL), NULL;
        }
    }
    if (!cJSON_IsString(qv) && !cJSON_IsNumber(qv) && !cJSON_IsBool(qv)) {
        es_query_free(q);
        return fail(resp, "[match] unknown token [START_OBJECT] after [%s]%s", field, NULL), NULL;
    }
    q->value = cJSON_Duplicate(qv, 1);
    const es_field *f = q->field >= 0 ? &x->fields[q->field] : NULL;
    if (f && f->type == ES_TEXT && cJSON_IsString(qv)) ss_analyze(f->analyzer, qv->valuestring, tok_emit, q, NULL);
    return q;
}

static es_query *parse_clauses(es_index *x, es_query *q, int slot, const cJSON *v, ss_http_resp *resp) {
    if (cJSON_IsObject(v)) {
        es_query *k = es_query_parse(x, v, resp);
        if (!k || add_kid(q, slot, k) != 0) return es_query_free(k), NULL;
        return q;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        es_query *k = es_query_parse(x, e, resp);
        if (!k || add_kid(q, slot, k) != 0) return es_query_free(k), NULL;
    }
    return q;
}

es_query *es_query_parse(es_index *x, const cJSON *j, ss_http_resp *resp) {
    if (!cJSON_IsObject(j) || !j->child) {
        es_error(resp, 400, "parsing_exception", NULL, "query malformed, must start with start_object");
        return NULL;
    }
    if (j->child->next) {
        es_error(resp, 400, "parsing_exception", NULL, "[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
                 j->child->string);
        return NULL;
    }
    const char *name = j->child->string;
    const cJSON *body = j->child;
    double boost = num_of(cJSON_GetObjectItemCaseSensitive(body, "boost"), 1);
    es_query *q = NULL;
    if (!strcmp(name, "match_all") || !strcmp(name, "match_none")) {
        q = qnew(name[6] == 'a' ? Q_ALL : Q_NONE);
        if (q) q->boost = boost;
        return q;
    }
    if (!strcmp(name, "match") || !strcmp(name, "match_phrase")) {
        const cJSON *f = one_field(body, name, resp);
        return f ? parse_match(x, f->string, f, resp, 1) : NULL;
    }
    if (!strcmp(name, "multi_match")) {
        const cJSON *qv = cJSON_GetObjectItemCaseSensitive(body, "query");
        const cJSON *fs = cJSON_GetObjectItemCaseSensitive(body, "fields"), *e;
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "type"));
        if (!qv) return fail(resp, "No text specified for multi_match query%s", "", NULL), NULL;
        if (type && strcmp(type, "best_fields") && strcmp(type, "most_fields"))
            return fail(resp, "[multi_match] query type [%s] is not supported by semsearch%s", type, NULL), NULL;
        q = qnew(Q_DISMAX);
        if (!q) return NULL;
        q->boost = boost;
        q->tie = type && !strcmp(type, "most_fields") ? 1.0 : num_of(cJSON_GetObjectItemCaseSensitive(body, "tie_breaker"), 0);
        cJSON *spec = cJSON_CreateObject();
        cJSON_AddItemToObject(spec, "query", cJSON_Duplicate(qv, 1));
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(body, "operator");
        if (op) cJSON_AddItemToObject(spec, "operator", cJSON_Duplicate(op, 1));
        cJSON_ArrayForEach(e, fs) {
            if (!cJSON_IsString(e)) continue;
            char fname[512];
            snprintf(fname, sizeof fname, "%s", e->valuestring);
            double fb = 1;
            char *caret = strchr(fname, '^'); /* "title^2" */
            if (caret) *caret = '\0', fb = atof(caret + 1);
            es_query *k = parse_match(x, fname, spec, resp, fb);
            if (!k || add_kid(q, 0, k) != 0) {
                es_query_free(k);
                es_query_free(q);
                cJSON_Delete(spec);
                return NULL;
            }
        }
        cJSON_Delete(spec);
        return q;
    }
    if (!strcmp(name, "term") || !strcmp(name, "terms") || !strcmp(name, "range")) {
        const cJSON *f = one_field(body, name, resp);
        if (!f) return NULL;
        q = qnew(name[1] == 'a' ? Q_RANGE : name[4] == 's' ? Q_TERMS : Q_TERM);
        if (!q) return NULL;
        set_field(q, x, f->string);
        q->boost = boost;
        const cJSON *v = f;
        if (q->kind == Q_TERM && cJSON_IsObject(f)) {
            v = cJSON_GetObjectItemCaseSensitive(f, "value");
            q->boost *= num_of(cJSON_GetObjectItemCaseSensitive(f, "boost"), 1);
        }
        if (q->kind == Q_RANGE) q->boost *= num_of(cJSON_GetObjectItemCaseSensitive(f, "boost"), 1);
        if ((q->kind == Q_TERM && (!v || cJSON_IsObject(v) || cJSON_IsArray(v))) ||
            (q->kind == Q_TERMS && !cJSON_IsArray(v)) || (q->kind == Q_RANGE && !cJSON_IsObject(v))) {
            es_query_free(q);
            return fail(resp, q->kind == Q_TERMS ? "[terms] query does not support [%s]%s" : "[%s] query malformed%s",
                        q->kind == Q_TERMS ? f->string : name, NULL), NULL;
        }
        q->value = cJSON_Duplicate(v, 1);
        return q;
    }
    if (!strcmp(name, "exists")) {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "field"));
        if (!f) return fail(resp, "[exists] must be provided with a [field]%s", "", NULL), NULL;
        if ((q = qnew(Q_EXISTS))) set_field(q, x, f), q->boost = boost;
        return q;
    }
    if (!strcmp(name, "ids")) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "values");
        if (!cJSON_IsArray(v)) return fail(resp, "[ids] query malformed, values must be an array%s", "", NULL), NULL;
        if ((q = qnew(Q_IDS))) q->value = cJSON_Duplicate(v, 1), q->boost = boost;
        return q;
    }
    if (!strcmp(name, "bool")) {
        static const char *slots[] = {"must", "should", "filter", "must_not"};
        if (!(q = qnew(Q_BOOL))) return NULL;
        q->boost = boost;
        const cJSON *e;
        cJSON_ArrayForEach(e, body) {
            int s = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(e->string, slots[k])) s = k;
            if (s >= 0) {
                if (!parse_clauses(x, q, s, e, resp)) return es_query_free(q), NULL;
            } else if (strcmp(e->string, "boost") && strcmp(e->string, "minimum_should_match") && strcmp(e->string, "_name")) {
                es_query_free(q);
                return fail(resp, "[bool] query does not support [%s]%s", e->string, NULL), NULL;
            }
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "minimum_should_match");
        q->msm = m ? (int)num_of(m, 0) : (q->n_kids[0] || q->n_kids[2]) ? 0 : q->n_kids[1] ? 1 : 0;
        if (m && cJSON_IsString(m) && strchr(m->valuestring, '%'))
            q->msm = (int)(atof(m->valuestring) / 100.0 * q->n_kids[1]);
        return q;
    }
    if (!strcmp(name, "constant_score")) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "filter");
        if (!(q = qnew(Q_BOOL))) return NULL;
        q->boost = boost;
        q->msm = -1; /* constant: the boost, whatever the filter scores */
        if (!f || !parse_clauses(x, q, 2, f, resp)) {
            if (!f) fail(resp, "[constant_score] requires a 'filter' element%s", "", NULL);
            return es_query_free(q), NULL;
        }
        return q;
    }
    if (!strcmp(name, "knn")) { /* the knn query: its k (or num_candidates) nearest, filter inside */
        const char *fname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "field"));
        const cJSON *qv = cJSON_GetObjectItemCaseSensitive(body, "query_vector");
        const es_field *f = fname ? es_field_get(x, fname) : NULL;
        if (!fname || !cJSON_IsArray(qv))
            return fail(resp, "[knn] query needs [field] and [query_vector]%s%s", "", NULL), NULL;
        if (!f || (f->type != ES_VECTOR && f->type != ES_SEMANTIC)) {
            es_error(resp, 400, "illegal_argument_exception", NULL, "[knn] queries are only supported on [dense_vector] fields; [%s] is not one", fname);
            return NULL;
        }
        int n = cJSON_GetArraySize(qv);
        if (f->dims && n != f->dims) {
            es_error(resp, 400, "illegal_argument_exception", NULL,
                     "The query vector has a different number of dimensions [%d] than the document vectors [%d].", n, f->dims);
            return NULL;
        }
        if (!(q = qnew(Q_KNN))) return NULL;
        set_field(q, x, fname);
        q->boost = boost;
        q->dims = n;
        q->qvec = malloc((size_t)n * sizeof *q->qvec + 1);
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, qv) q->qvec[i++] = (float)e->valuedouble;
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(body, "k"), *nc = cJSON_GetObjectItemCaseSensitive(body, "num_candidates");
        q->keep = k ? (int)k->valuedouble : nc ? (int)nc->valuedouble : 10;
        q->nc = nc ? (int)nc->valuedouble : q->keep;
        if (q->nc < q->keep) q->nc = q->keep;
        const cJSON *sim = cJSON_GetObjectItemCaseSensitive(body, "similarity");
        if (sim) q->has_min_sim = 1, q->min_sim = sim->valuedouble;
        const cJSON *flt = cJSON_GetObjectItemCaseSensitive(body, "filter");
        if (flt && !parse_clauses(x, q, 2, flt, resp)) return es_query_free(q), NULL;
        return q;
    }
    if (!strcmp(name, "script_score")) {
        const cJSON *iq = cJSON_GetObjectItemCaseSensitive(body, "query"), *sc = cJSON_GetObjectItemCaseSensitive(body, "script");
        if (!iq) return fail(resp, "[script_score] requires 'query' field%s", "", NULL), NULL;
        if (!sc) return fail(resp, "[script_score] requires 'script' field%s", "", NULL), NULL;
        if (!(q = qnew(Q_SCRIPT))) return NULL;
        q->boost = boost;
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(body, "min_score");
        if (cJSON_IsNumber(ms)) q->has_min_score = 1, q->min_score = ms->valuedouble;
        char why[1200];
        if (!(q->script = es_script_parse(x, sc, why, sizeof why))) {
            es_query_free(q);
            es_error(resp, 400, "illegal_argument_exception", NULL, "%s", why);
            return NULL;
        }
        es_query *k = es_query_parse(x, iq, resp);
        if (!k || add_kid(q, 0, k) != 0) return es_query_free(k), es_query_free(q), NULL;
        return q;
    }
    es_error(resp, 400, "parsing_exception", NULL, "unknown query [%s]", name);
    return NULL;
}

long es_query_direct(const es_query *q, es_hit **out) {
    *out = NULL;
    int text = q && (q->kind == Q_MATCH || q->kind == Q_TERM) && q->on_text;
    if (!q || (!text && q->kind != Q_KNN)) return -1;
    if (!q->n_hits) return 0;
    es_hit *h = malloc(q->n_hits * sizeof *h);
    if (!h) return -1;
    for (size_t i = 0; i < q->n_hits; i++) h[i] = (es_hit){q->hits[i].rowid, q->boost * q->hits[i].score};
    *out = h;
    return (long)q->n_hits;
}

const char *es_query_error(const es_query *q) {
    if (!q) return NULL;
    if (q->script && es_script_error(q->script)) return es_script_error(q->script);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < q->n_kids[k]; i++) {
            const char *e = es_query_error(q->kids[k][i]);
            if (e) return e;
        }
    return NULL;
}

/* ---- evaluation ---------------------------------------------------------------- */

/* keyword "doc frequency" of a value: the docs whose field equals it. */
static int value_eq(const cJSON *dv, const cJSON *qv, es_ftype t);

static double idf_of(double N, double n) { return log(1 + (N - n + 0.5) / (n + 0.5)); }

static int by_rowid(const void *a, const void *b) {
    const es_hit *x = a, *y = b;
    return x->rowid < y->rowid ? -1 : x->rowid > y->rowid;
}

static void add_hit(void *user, int64_t rowid, double score) {
    es_query *q = user;
    if (q->n_hits == q->cap_hits) {
        size_t cap = q->cap_hits ? q->cap_hits * 2 : 64;
        es_hit *n = realloc(q->hits, cap * sizeof *n);
        if (!n) return;
        q->hits = n;
        q->cap_hits = cap;
    }
    q->hits[q->n_hits].rowid = rowid;
    q->hits[q->n_hits++].score = score;
}

/* The knn query's nearest documents through the field's index, once per search. */
static void knn_prepare(es_query *q, es_index *x) {
    free(q->hits);
    q->hits = NULL;
    q->n_hits = q->cap_hits = 0;
    const es_field *f = &x->fields[q->field];
    if (f->dims != q->dims) return;
    ss_http_resp tmp = {0};
    long n = es_knn(x, f, q->qvec, q->keep, q->nc, q->kids[2], q->n_kids[2], q->has_min_sim ? &q->min_sim : NULL,
                    &q->hits, &tmp);
    free(tmp.body);
    for (int h = 0; h < tmp.n_headers; h++) free(tmp.header_names[h]), free(tmp.header_values[h]);
    q->n_hits = n > 0 ? (size_t)n : 0;
    if (q->n_hits) qsort(q->hits, q->n_hits, sizeof *q->hits, by_rowid);
}

typedef struct kw_stats {
    const es_field *f;
    const cJSON *value;
    double N, n;
} kw_stats;

static int kw_count(void *user, const es_doc *d) {
    kw_stats *k = user;
    const cJSON *v = es_path(d->src, k->f->path);
    if (!v || cJSON_IsNull(v)) return 0;
    k->N++;
    k->n += value_eq(v, k->value, k->f->type);
    return 0;
}

/* scoring 0: a filter context (bool filter / must_not, constant_score, knn
 * filters) where scores are not used, so keyword terms skip their idf scan. */
static void prepare(es_query *q, es_index *x, int scoring) {
    if (!q) return;
    int constant = q->kind == Q_BOOL && q->msm < 0;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < q->n_kids[k]; i++)
            prepare(q->kids[k][i], x, scoring && !constant && k != 2 && k != 3);
    if (q->kind == Q_KNN) {
        knn_prepare(q, x);
        return;
    }
    if (q->field < 0 || (q->kind != Q_MATCH && q->kind != Q_TERM)) return;
    const es_field *f = &x->fields[q->field];
    if (f->type == ES_TEXT) { /* BM25 over the field's FTS5 table (Lucene's formula and norms) */
        if (q->kind == Q_TERM && !q->n_terms && cJSON_IsString(q->value)) tok_emit(q, q->value->valuestring);
        q->on_text = 1;
        free(q->hits);
        q->hits = NULL;
        q->n_hits = q->cap_hits = 0;
        if (!f->stored || !q->n_terms) return;
        ss_error e = {0};
        if (ss_collection_match(x->coll, f->name, (const char *const *)q->terms, (size_t)q->n_terms, q->op_and, x->k1,
                                x->b, add_hit, q, &e) != SS_OK)
            fprintf(stderr, "semsearch: index [%s]: match on %s: %s\n", x->name, f->name, e.msg);
        if (q->n_hits) qsort(q->hits, q->n_hits, sizeof *q->hits, by_rowid);
    } else if (f->type == ES_KEYWORD && scoring) {
        kw_stats k = {f, q->value, 0, 0};
        es_scan(x, 1, kw_count, &k);
        free(q->idf);
        if ((q->idf = calloc(1, sizeof *q->idf))) q->idf[0] = idf_of(k.N, k.n);
    }
}

void es_query_prepare(es_query *q, es_index *x) { prepare(q, x, 1); }
void es_query_prepare_filter(es_query *q, es_index *x) { prepare(q, x, 0); }

int es_query_needs_src(const es_query *q) {
    if (!q) return 0;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < q->n_kids[k]; i++)
            if (es_query_needs_src(q->kids[k][i])) return 1;
    switch (q->kind) {
    case Q_ALL: case Q_NONE: case Q_IDS: case Q_KNN: case Q_BOOL: case Q_DISMAX: return 0;
    case Q_SCRIPT: return 1; /* doc['f'].value */
    case Q_MATCH: case Q_TERM: return q->field >= 0 && !q->on_text;
    default: return 1;
    }
}

static const es_hit *hit_of(const es_query *q, int64_t rowid) {
    es_hit key = {rowid, 0};
    return q->n_hits ? bsearch(&key, q->hits, q->n_hits, sizeof *q->hits, by_rowid) : NULL;
}

static void str_of(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
        snprintf(buf, cap, "%lld", (long long)v->valuedouble);
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.17g", v->valuedouble);
    else buf[0] = '\0';
}

static int value_eq(const cJSON *dv, const cJSON *qv, es_ftype t) {
    if (cJSON_IsArray(dv)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, dv) if (value_eq(e, qv, t)) return 1;
        return 0;
    }
    if (!dv || cJSON_IsNull(dv) || !qv) return 0;
    if (t == ES_LONG || t == ES_DOUBLE) return num_of(dv, NAN) == num_of(qv, NAN);
    char a[512], b[512];
    str_of(dv, a, sizeof a);
    str_of(qv, b, sizeof b);
    return !strcmp(a, b);
}

static int in_range(const cJSON *dv, const cJSON *r, es_ftype t) {
    if (cJSON_IsArray(dv)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, dv) if (in_range(e, r, t)) return 1;
        return 0;
    }
    if (!dv || cJSON_IsNull(dv)) return 0;
    static const char *ops[] = {"gt", "gte", "lt", "lte"};
    for (int k = 0; k < 4; k++) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, ops[k]);
        if (!b || cJSON_IsNull(b)) continue;
        double c;
        char *e1, *e2;
        char sa[512], sb[512];
        str_of(dv, sa, sizeof sa);
        str_of(b, sb, sizeof sb);
        double na = strtod(sa, &e1), nb = strtod(sb, &e2);
        if (t == ES_LONG || t == ES_DOUBLE || (!*e1 && !*e2 && *sa && *sb)) c = na < nb ? -1 : na > nb ? 1 : 0;
        else c = strcmp(sa, sb); /* keyword, ISO-8601 dates */
        if ((k == 0 && !(c > 0)) || (k == 1 && !(c >= 0)) || (k == 2 && !(c < 0)) || (k == 3 && !(c <= 0))) return 0;
    }
    return 1;
}

int es_query_eval(const es_query *q, const es_index *x, const es_doc *d, double *score) {
    *score = 0;
    const es_field *f = q->field >= 0 ? &x->fields[q->field] : NULL;
    switch (q->kind) {
    case Q_ALL: *score = q->boost; return 1;
    case Q_NONE: return 0;
    case Q_IDS: {
        const cJSON *e;
        cJSON_ArrayForEach(e, q->value) if (cJSON_IsString(e) && !strcmp(e->valuestring, d->id)) return *score = q->boost, 1;
        return 0;
    }
    case Q_EXISTS: {
        const cJSON *v = es_path(d->src, q->path);
        if (!v || cJSON_IsNull(v) || (cJSON_IsArray(v) && !cJSON_GetArraySize(v))) return 0;
        return *score = q->boost, 1;
    }
    case Q_TERMS: {
        if (!f) return 0;
        const cJSON *v = es_path(d->src, f->path), *e;
        cJSON_ArrayForEach(e, q->value) if (value_eq(v, e, f->type)) return *score = q->boost, 1;
        return 0;
    }
    case Q_RANGE:
        if (!f || !in_range(es_path(d->src, f->path), q->value, f->type)) return 0;
        return *score = q->boost, 1;
    case Q_MATCH:
    case Q_TERM: {
        if (!f) return 0;
        if (f->type == ES_TEXT) {
            const es_hit *h = hit_of(q, d->rowid);
            if (!h) return 0;
            *score = q->boost * h->score;
            return 1;
        }
        if (!value_eq(es_path(d->src, f->path), q->value, f->type)) return 0;
        *score = q->boost * (f->type == ES_KEYWORD && q->idf ? q->idf[0] / (1 + x->k1) : 1);
        return 1;
    }
    case Q_KNN: {
        const es_hit *h = hit_of(q, d->rowid);
        if (!h) return 0;
        *score = q->boost * h->score;
        return 1;
    }
    case Q_SCRIPT: {
        double s;
        if (!es_query_eval(q->kids[0][0], x, d, &s)) return 0;
        double v = es_script_run(q->script, x, d, s);
        if (!(v >= 0)) return 0; /* the error is reported by es_query_error */
        if (q->has_min_score && v < q->min_score) return 0;
        *score = q->boost * v;
        return 1;
    }
    case Q_DISMAX: {
        double best = 0, sum = 0;
        int any = 0;
        for (int i = 0; i < q->n_kids[0]; i++) {
            double s;
            if (!es_query_eval(q->kids[0][i], x, d, &s)) continue;
            any = 1;
            sum += s;
            if (s > best) best = s;
        }
        if (!any) return 0;
        *score = q->boost * (best + q->tie * (sum - best));
        return 1;
    }
    case Q_BOOL: {
        double s = 0, t;
        for (int i = 0; i < q->n_kids[0]; i++) {
            if (!es_query_eval(q->kids[0][i], x, d, &t)) return 0;
            s += t;
        }
        for (int i = 0; i < q->n_kids[2]; i++)
            if (!es_query_eval(q->kids[2][i], x, d, &t)) return 0;
        for (int i = 0; i < q->n_kids[3]; i++)
            if (es_query_eval(q->kids[3][i], x, d, &t)) return 0;
        int sh = 0;
        for (int i = 0; i < q->n_kids[1]; i++)
            if (es_query_eval(q->kids[1][i], x, d, &t)) sh++, s += t;
        if (q->msm > 0 && sh < q->msm) return 0;
        if (q->msm < 0) s = 1; /* constant_score */
        else if (!q->n_kids[0] && !sh) s = 0; /* filter / must_not only: score 0, as Elasticsearch */
        *score = q->boost * s;
        return 1;
    }
    }
    return 0;
}
