/* ir_eval.c — see ir_eval.h. The loaders parse BEIR's files with cJSON and a
 * TSV splitter; ids are matched through a sorted index (bsearch). */
#include "train/ir_eval.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

const int ss_ir_ks[SS_IR_NK] = {1, 3, 5, 10};

void ss_ir_data_free(ss_ir_data *d) {
    for (size_t i = 0; i < d->n_queries; i++) free(d->query_ids[i]), free(d->query_texts[i]);
    for (size_t i = 0; i < d->n_corpus; i++) free(d->corpus_ids[i]), free(d->corpus_texts[i]);
    free(d->query_ids), free(d->query_texts), free(d->corpus_ids), free(d->corpus_texts);
    free(d->rel_off), free(d->rel);
    memset(d, 0, sizeof *d);
}

typedef struct {
    char **ids, **texts;
    size_t n, cap;
} idtext;

static void idtext_free(idtext *t) {
    for (size_t i = 0; i < t->n; i++) free(t->ids[i]), free(t->texts[i]);
    free(t->ids), free(t->texts);
    memset(t, 0, sizeof *t);
}

static char *strip_dup(const char *a, const char *b) { /* (a + " " + b).strip(), a may be NULL */
    size_t la = a ? strlen(a) : 0, lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    size_t n = 0;
    if (la) memcpy(s, a, la), n = la, s[n++] = ' ';
    memcpy(s + n, b, lb), n += lb, s[n] = 0;
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') i++;
    while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    memmove(s, s + i, n - i);
    s[n - i] = 0;
    return s;
}

/* JSONL of {"_id", "text", ("title")}: with_title joins a title in front. */
static ss_status read_jsonl(const char *path, int with_title, idtext *out, ss_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ss_fail(err, SS_ERR_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    ss_status st = SS_OK;
    while (st == SS_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        if (!len) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "_id") : NULL;
        const cJSON *tx = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
        const cJSON *ti = j && with_title ? cJSON_GetObjectItemCaseSensitive(j, "title") : NULL;
        if (!j) st = ss_fail(err, SS_ERR_FORMAT, "%s:%zu: not valid JSON", path, lineno);
        else if (!cJSON_IsString(id) && !cJSON_IsNumber(id))
            st = ss_fail(err, SS_ERR_FORMAT, "%s:%zu: no \"_id\" string", path, lineno);
        else if (!cJSON_IsString(tx)) st = ss_fail(err, SS_ERR_FORMAT, "%s:%zu: no \"text\" string", path, lineno);
        if (st == SS_OK && out->n == out->cap) {
            size_t nc = out->cap ? 2 * out->cap : 256;
            char **a = realloc(out->ids, nc * sizeof *a), **b = a ? realloc(out->texts, nc * sizeof *b) : NULL;
            if (a) out->ids = a;
            if (b) out->texts = b, out->cap = nc;
            else st = ss_fail(err, SS_ERR_NOMEM, "%s: out of memory", path);
        }
        if (st == SS_OK) {
            char num[64];
            if (cJSON_IsNumber(id)) snprintf(num, sizeof num, "%.17g", id->valuedouble);
            char *sid = strdup(cJSON_IsString(id) ? id->valuestring : num);
            char *stx = strip_dup(cJSON_IsString(ti) ? ti->valuestring : NULL, tx->valuestring);
            if (!sid || !stx) {
                free(sid), free(stx);
                st = ss_fail(err, SS_ERR_NOMEM, "%s: out of memory", path);
            } else {
                out->ids[out->n] = sid, out->texts[out->n++] = stx;
            }
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return st;
}

typedef struct {
    const char *id;
    size_t idx;
} id_ix;

static int cmp_idix(const void *a, const void *b) { return strcmp(((const id_ix *)a)->id, ((const id_ix *)b)->id); }

static id_ix *make_index(char **ids, size_t n) {
    id_ix *ix = malloc((n + 1) * sizeof *ix);
    if (!ix) return NULL;
    for (size_t i = 0; i < n; i++) ix[i] = (id_ix){ids[i], i};
    qsort(ix, n, sizeof *ix, cmp_idix);
    return ix;
}

static long find_id(const id_ix *ix, size_t n, const char *id) {
    id_ix key = {id, 0};
    const id_ix *h = bsearch(&key, ix, n, sizeof *ix, cmp_idix);
    return h ? (long)h->idx : -1;
}

typedef struct {
    size_t q, c;
} qc_pair;

static int cmp_qc(const void *a, const void *b) {
    const qc_pair *x = a, *y = b;
    if (x->q != y->q) return x->q < y->q ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c;
}

ss_status ss_ir_data_load(ss_ir_data *d, const char *queries, const char *corpus, const char *qrels, ss_error *err) {
    memset(d, 0, sizeof *d);
    idtext Q = {0}, C = {0};
    id_ix *qix = NULL, *cix = NULL;
    qc_pair *pairs = NULL;
    size_t np = 0, pcap = 0;
    FILE *f = NULL;
    char *line = NULL;
    ss_status st = read_jsonl(queries, 0, &Q, err);
    if (st == SS_OK) st = read_jsonl(corpus, 1, &C, err);
    if (st != SS_OK) goto done;
    qix = make_index(Q.ids, Q.n), cix = make_index(C.ids, C.n);
    if (!qix || !cix) {
        st = ss_fail(err, SS_ERR_NOMEM, "ir eval: out of memory");
        goto done;
    }
    for (size_t i = 1; i < C.n; i++)
        if (!strcmp(cix[i - 1].id, cix[i].id)) {
            st = ss_fail(err, SS_ERR_FORMAT, "%s: document id \"%s\" appears twice", corpus, cix[i].id);
            goto done;
        }
    f = fopen(qrels, "rb");
    if (!f) {
        st = ss_fail(err, SS_ERR_IO, "%s: %s", qrels, strerror(errno));
        goto done;
    }
    size_t cap = 0, lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        char *tok[4], *save = NULL;
        int nt = 0;
        for (char *s = strtok_r(line, "\t", &save); s && nt < 4; s = strtok_r(NULL, "\t", &save)) tok[nt++] = s;
        if (lineno == 1 && nt >= 1 && (!strcmp(tok[0], "query-id") || !strcmp(tok[0], "qid"))) continue;
        char *end;
        double score = nt == 3 ? strtod(tok[2], &end) : 0;
        if (nt != 3 || end == tok[2] || *end) {
            st = ss_fail(err, SS_ERR_FORMAT, "%s:%zu: expected query-id<TAB>corpus-id<TAB>score", qrels, lineno);
            goto done;
        }
        if (score < 1) continue; /* not relevant */
        long qi = find_id(qix, Q.n, tok[0]), ci = find_id(cix, C.n, tok[1]);
        if (qi < 0) continue;    /* a query not in the queries file: the evaluator never asks it */
        if (ci < 0) {
            d->n_unknown_docs++; /* the evaluator cannot retrieve it, but it counts in |relevant| */
            ci = -1;
        }
        if (np == pcap) {
            size_t nc = pcap ? 2 * pcap : 256;
            qc_pair *p = realloc(pairs, nc * sizeof *p);
            if (!p) {
                st = ss_fail(err, SS_ERR_NOMEM, "ir eval: out of memory");
                goto done;
            }
            pairs = p, pcap = nc;
        }
        pairs[np++] = (qc_pair){(size_t)qi, ci < 0 ? (size_t)-1 : (size_t)ci};
    }
    if (np) qsort(pairs, np, sizeof *pairs, cmp_qc);
    { /* de-duplicate (relevant_docs is a set) */
        size_t k = 0;
        for (size_t i = 0; i < np; i++)
            if (!k || cmp_qc(&pairs[k - 1], &pairs[i])) pairs[k++] = pairs[i];
        np = k;
    }
    /* keep the queries that have a relevant document, in the queries file's order */
    size_t *count = calloc(Q.n + 1, sizeof *count);
    d->rel = malloc((np + 1) * sizeof *d->rel);
    d->rel_off = malloc((Q.n + 1) * sizeof *d->rel_off);
    d->query_ids = malloc((Q.n + 1) * sizeof(char *)), d->query_texts = malloc((Q.n + 1) * sizeof(char *));
    if (!count || !d->rel || !d->rel_off || !d->query_ids || !d->query_texts) {
        free(count);
        st = ss_fail(err, SS_ERR_NOMEM, "ir eval: out of memory");
        goto done;
    }
    for (size_t i = 0; i < np; i++) count[pairs[i].q]++;
    size_t *start = calloc(Q.n + 1, sizeof *start);
    if (!start) {
        free(count);
        st = ss_fail(err, SS_ERR_NOMEM, "ir eval: out of memory");
        goto done;
    }
    for (size_t i = 0, s = 0; i < Q.n; i++) start[i] = s, s += count[i];
    d->rel_off[0] = 0;
    for (size_t q = 0; q < Q.n; q++) {
        if (!count[q]) {
            d->n_dropped_queries++;
            free(Q.ids[q]), free(Q.texts[q]);
            continue;
        }
        size_t k = d->n_queries++;
        d->query_ids[k] = Q.ids[q], d->query_texts[k] = Q.texts[q];
        for (size_t i = 0; i < count[q]; i++) d->rel[d->rel_off[k] + i] = pairs[start[q] + i].c;
        d->rel_off[k + 1] = d->rel_off[k] + count[q];
    }
    free(count), free(start);
    free(Q.ids), free(Q.texts);
    memset(&Q, 0, sizeof Q);
    d->corpus_ids = C.ids, d->corpus_texts = C.texts, d->n_corpus = C.n;
    memset(&C, 0, sizeof C);
    if (!d->n_queries) st = ss_fail(err, SS_ERR_INVALID, "%s: no query has a relevant document in %s", qrels, corpus);
done:
    if (f) fclose(f);
    free(line), free(qix), free(cix), free(pairs);
    idtext_free(&Q), idtext_free(&C);
    if (st != SS_OK) ss_ir_data_free(d);
    return st;
}

ss_status ss_ir_data_load_spec(ss_ir_data *d, const char *spec, ss_error *err) {
    struct stat sb;
    char q[4096], c[4096], r[4096];
    if (stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(q, sizeof q, "%s/queries.jsonl", spec);
        snprintf(c, sizeof c, "%s/corpus.jsonl", spec);
        snprintf(r, sizeof r, "%s/qrels.tsv", spec);
        if (stat(r, &sb) != 0) snprintf(r, sizeof r, "%s/qrels/test.tsv", spec);
        return ss_ir_data_load(d, q, c, r, err);
    }
    const char *a = strchr(spec, ','), *b = a ? strchr(a + 1, ',') : NULL;
    if (!a || !b || strchr(b + 1, ',') || (size_t)(a - spec) >= sizeof q || (size_t)(b - a - 1) >= sizeof c ||
        strlen(b + 1) >= sizeof r) {
        memset(d, 0, sizeof *d);
        return ss_fail(err, SS_ERR_INVALID, "IR evaluation data \"%s\": expected QUERIES,CORPUS,QRELS or a BEIR folder",
                       spec);
    }
    snprintf(q, sizeof q, "%.*s", (int)(a - spec), spec);
    snprintf(c, sizeof c, "%.*s", (int)(b - a - 1), a + 1);
    snprintf(r, sizeof r, "%s", b + 1);
    return ss_ir_data_load(d, q, c, r, err);
}

typedef struct {
    double s;
    size_t c;
} hit;

static int cmp_hit(const void *a, const void *b) { /* score descending, then corpus index ascending */
    const hit *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c;
}

static int is_rel(const size_t *rel, size_t n, size_t c) {
    for (size_t i = 0; i < n; i++)
        if (rel[i] == c) return 1;
    return 0;
}

ss_status ss_ir_compute(const ss_ir_data *d, const float *q, const float *c, int dim, ss_ir_result *r, ss_error *err) {
    memset(r, 0, sizeof *r);
    const size_t N = d->n_corpus, K = 100; /* max_k: MAP@100 */
    hit *h = malloc((N + 1) * sizeof *h);
    double *cn = malloc((N + 1) * sizeof *cn);
    if (!h || !cn) {
        free(h), free(cn);
        return ss_fail(err, SS_ERR_NOMEM, "ir eval: out of memory for %zu documents", N);
    }
    for (size_t j = 0; j < N; j++) { /* cos_sim: F.normalize (norm clamped at 1e-12) */
        double s = 0;
        for (int k = 0; k < dim; k++) s += (double)c[j * dim + k] * c[j * dim + k];
        cn[j] = fmax(sqrt(s), 1e-12);
    }
    for (size_t i = 0; i < d->n_queries; i++) {
        const float *qi = q + i * (size_t)dim;
        double qn = 0;
        for (int k = 0; k < dim; k++) qn += (double)qi[k] * qi[k];
        qn = fmax(sqrt(qn), 1e-12);
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < dim; k++) s += (double)qi[k] * c[j * dim + k];
            h[j] = (hit){s / (qn * cn[j]), j};
        }
        qsort(h, N, sizeof *h, cmp_hit);
        size_t top = N < K ? N : K;
        const size_t *rel = d->rel + d->rel_off[i], nrel = d->rel_off[i + 1] - d->rel_off[i];
        for (int a = 0; a < SS_IR_NK; a++) {
            size_t k = (size_t)ss_ir_ks[a], hits = 0;
            for (size_t t = 0; t < k && t < top; t++) hits += is_rel(rel, nrel, h[t].c);
            r->accuracy[a] += hits > 0;
            r->precision[a] += (double)hits / (double)k;
            r->recall[a] += (double)hits / (double)nrel;
        }
        for (size_t t = 0; t < 10 && t < top; t++)
            if (is_rel(rel, nrel, h[t].c)) {
                r->mrr10 += 1.0 / (double)(t + 1);
                break;
            }
        double dcg = 0, idcg = 0;
        for (size_t t = 0; t < 10 && t < top; t++)
            if (is_rel(rel, nrel, h[t].c)) dcg += 1.0 / log2((double)t + 2);
        for (size_t t = 0; t < 10 && t < nrel; t++) idcg += 1.0 / log2((double)t + 2);
        r->ndcg10 += dcg / idcg;
        double sp = 0;
        size_t nc = 0;
        for (size_t t = 0; t < top; t++)
            if (is_rel(rel, nrel, h[t].c)) nc++, sp += (double)nc / (double)(t + 1);
        r->map100 += sp / (double)(nrel < K ? nrel : K);
    }
    const double nq = (double)d->n_queries;
    for (int a = 0; a < SS_IR_NK; a++) r->accuracy[a] /= nq, r->precision[a] /= nq, r->recall[a] /= nq;
    r->mrr10 /= nq, r->ndcg10 /= nq, r->map100 /= nq;
    free(h), free(cn);
    return SS_OK;
}

void ss_triplet_compute(const float *a, const float *p, const float *n, size_t rows, int dim, ss_triplet_result *r) {
    size_t cos_ok = 0, man_ok = 0, euc_ok = 0;
    for (size_t i = 0; i < rows; i++) {
        const float *x = a + i * dim, *y = p + i * dim, *z = n + i * dim;
        double xx = 0, yy = 0, zz = 0, xy = 0, xz = 0, mp = 0, mn = 0, ep = 0, en = 0;
        for (int k = 0; k < dim; k++) {
            xx += (double)x[k] * x[k], yy += (double)y[k] * y[k], zz += (double)z[k] * z[k];
            xy += (double)x[k] * y[k], xz += (double)x[k] * z[k];
            mp += fabs((double)x[k] - y[k]), mn += fabs((double)x[k] - z[k]);
            ep += ((double)x[k] - y[k]) * ((double)x[k] - y[k]), en += ((double)x[k] - z[k]) * ((double)x[k] - z[k]);
        }
        /* paired_cosine_distances: 1 - cos of the L2-normalised rows */
        double dp = 1 - xy / (sqrt(xx) * sqrt(yy) + 1e-300), dn = 1 - xz / (sqrt(xx) * sqrt(zz) + 1e-300);
        cos_ok += dp < dn, man_ok += mp < mn, euc_ok += ep < en;
    }
    r->cosine = rows ? (double)cos_ok / rows : 0;
    r->manhattan = rows ? (double)man_ok / rows : 0;
    r->euclidean = rows ? (double)euc_ok / rows : 0;
}
