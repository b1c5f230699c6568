/* es_store.c — the registry of Elasticsearch indices (one fields collection
 * each, es_store.h), their settings and mappings, and the document write
 * path onto the collection. */
#include "server/es_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/error.h"

struct es_registry {
    pthread_rwlock_t lock;
    es_embedder emb;
    char dir[4096]; /* DATA/es (or a temporary folder) */
    int temp;       /* dir is ours to remove */
    es_index **ix;
    size_t n, cap;
};

/* ---- errors ------------------------------------------------------------- */

void es_error(ss_http_resp *resp, int status, const char *type, const char *index, const char *fmt, ...) {
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON *rc = cJSON_AddArrayToObject(err, "root_cause");
    for (int k = 0; k < 2; k++) {
        cJSON *o = k == 0 ? cJSON_CreateObject() : err;
        cJSON_AddStringToObject(o, "type", type);
        cJSON_AddStringToObject(o, "reason", reason);
        if (index) {
            if (!strcmp(type, "index_not_found_exception")) {
                cJSON_AddStringToObject(o, "resource.type", "index_or_alias");
                cJSON_AddStringToObject(o, "resource.id", index);
            }
            cJSON_AddStringToObject(o, "index_uuid", "_na_");
            cJSON_AddStringToObject(o, "index", index);
        }
        if (k == 0) cJSON_AddItemToArray(rc, o);
    }
    cJSON_AddNumberToObject(root, "status", status);
    ss_http_json(resp, status, root);
}

void es_not_found(ss_http_resp *resp, const char *index) {
    es_error(resp, 404, "index_not_found_exception", index, "no such index [%s]", index);
}

cJSON *es_shards_write(void) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "total", 2); /* one primary + the default replica (unassigned: yellow) */
    cJSON_AddNumberToObject(s, "successful", 1);
    cJSON_AddNumberToObject(s, "failed", 0);
    return s;
}

cJSON *es_shards_read(void) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "total", 1);
    cJSON_AddNumberToObject(s, "successful", 1);
    cJSON_AddNumberToObject(s, "skipped", 0);
    cJSON_AddNumberToObject(s, "failed", 0);
    return s;
}

/* Elasticsearch's index name rules (MetadataCreateIndexService.validateIndexOrAliasName). */
int es_valid_name(const char *name, char *why, size_t cap) {
    size_t n = strlen(name);
    if (n == 0 || n > 255) return snprintf(why, cap, "index name is too long, (%zu > 255)", n), 0;
    if (!strcmp(name, ".") || !strcmp(name, "..")) return snprintf(why, cap, "must not be '.' or '..'"), 0;
    if (name[0] == '-' || name[0] == '_' || name[0] == '+') return snprintf(why, cap, "must not start with '_', '-', or '+'"), 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') return snprintf(why, cap, "must be lowercase"), 0;
        if (strchr("\\/*?\"<>| ,#:", c))
            return snprintf(why, cap, "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]"), 0;
    }
    return 1;
}

int es_refresh_param_ok(ss_http_req *r, ss_http_resp *resp) {
    const char *v = ss_http_query(r, "refresh");
    if (!v || !*v || !strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "wait_for")) return 1;
    es_error(resp, 400, "illegal_argument_exception", NULL, "Unknown value for refresh: [%s].", v);
    return 0;
}


int es_map_props(es_index *x, const cJSON *props, char *why, size_t cap) {
    /* As Elasticsearch: documents indexed before a field was mapped are not
     * re-indexed into it (that takes _update_by_query). */
    return es__parse_props(x, props, "", why, cap);
}

/* ---- the collection underneath ------------------------------------------------ */

static void log_fail(const es_index *x, const char *what, const ss_error *e) {
    fprintf(stderr, "semsearch: index [%s]: %s: %s\n", x->name, what, e->msg);
}

void es_begin(es_index *x) {
    ss_error e = {0};
    if (ss_collection_begin(x->coll, &e) != SS_OK) log_fail(x, "begin", &e);
}

int es_commit(es_index *x) {
    ss_error e = {0};
    ss_status s = SS_OK;
    if (x->mapping_dirty) {
        char *m = cJSON_PrintUnformatted(x->mappings);
        s = m ? ss_collection_meta_set(x->coll, "mappings", m, &e) : SS_ERR_NOMEM;
        free(m);
        x->mapping_dirty = 0;
    }
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)x->seq);
    if (s == SS_OK) s = ss_collection_meta_set(x->coll, "seq_no", num, &e);
    if (s == SS_OK) s = ss_collection_commit(x->coll, &e);
    else ss_collection_rollback(x->coll);
    if (s != SS_OK) log_fail(x, "commit", &e);
    return s == SS_OK ? 0 : -1;
}

void es_doc_free(es_doc *d) {
    if (!d) return;
    free(d->id);
    cJSON_Delete(d->src);
    free(d);
}

static es_doc *doc_of(ss_record *r) {
    es_doc *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->id = r->id;
    r->id = NULL;
    d->src = cJSON_Parse(r->json);
    d->version = r->version;
    d->seq_no = r->seq_no;
    d->rowid = r->rowid;
    ss_record_clear(r);
    if (!d->src) {
        es_doc_free(d);
        return NULL;
    }
    return d;
}

es_doc *es_get(es_index *x, const char *id) {
    ss_record r;
    if (ss_collection_lookup(x->coll, id, &r, NULL) != SS_OK) return NULL;
    return doc_of(&r);
}

es_doc *es_get_at(es_index *x, int64_t rowid) {
    ss_record r;
    if (ss_collection_record_at(x->coll, rowid, &r, NULL) != SS_OK) return NULL;
    return doc_of(&r);
}

size_t es_doc_count(es_index *x) {
    int64_t n = ss_collection_count(x->coll);
    return n > 0 ? (size_t)n : 0;
}

typedef struct scan_ctx {
    int need_src;
    int (*fn)(void *, const es_doc *);
    void *user;
} scan_ctx;

static int scan_one(void *user, const ss_record *r) {
    scan_ctx *s = user;
    es_doc d = {.id = r->id, .version = r->version, .seq_no = r->seq_no, .rowid = r->rowid};
    if (s->need_src && r->view) d.src = cJSON_Parse(r->view);
    int stop = s->fn(s->user, &d);
    cJSON_Delete(d.src);
    return stop;
}

int es_scan(es_index *x, int need_src, int (*fn)(void *, const es_doc *), void *user) {
    scan_ctx s = {need_src, fn, user};
    ss_error e = {0};
    if (ss_collection_scan(x->coll, scan_one, &s, &e) != SS_OK) {
        log_fail(x, "scan", &e);
        return -1;
    }
    return 0;
}

static ss_metric metric_of(es_sim s) {
    return s == ES_SIM_L2 ? SS_METRIC_L2 : s == ES_SIM_COSINE ? SS_METRIC_COSINE : SS_METRIC_DOT;
}

/* Define the field in the collection once its shape is known (vectors: dims). */
static int ensure_stored(es_index *x, es_field *f, char *why, size_t cap) {
    int vec = f->type == ES_VECTOR || f->type == ES_SEMANTIC;
    if (f->stored || (f->type != ES_TEXT && !vec) || (vec && f->dims <= 0)) return 0;
    ss_field_def d = {.name = f->name, .kind = f->type == ES_TEXT ? SS_FIELD_TEXT : SS_FIELD_VECTOR};
    if (f->type == ES_TEXT) d.analyzer = f->analyzer;
    else {
        d.dim = f->dims;
        d.index.type = f->itype;
        d.index.metric = metric_of(f->sim);
        d.index.quantize = f->quant;
        d.index.m = f->m;
        d.index.ef_construction = f->ef_construction;
    }
    ss_error e = {0};
    if (ss_collection_define_field(x->coll, &d, &e) != SS_OK) return snprintf(why, cap, "%.500s", e.msg), -1;
    f->stored = 1;
    return 0;
}

typedef struct text_buf {
    char *s;
    size_t n, cap;
    int toks;
} text_buf;

static void count_tok(void *user, const char *tok) {
    (void)tok;
    ((text_buf *)user)->toks++;
}

/* Strings of a text field's value, one per line (array values as Lucene's
 * multi-valued field: one length, the sum). */
static void text_of(const cJSON *v, text_buf *b) {
    if (cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) text_of(e, b);
        return;
    }
    if (!cJSON_IsString(v)) return;
    size_t n = strlen(v->valuestring);
    if (b->n + n + 2 > b->cap) {
        size_t cap = (b->n + n + 2) * 2;
        char *p = realloc(b->s, cap);
        if (!p) return;
        b->s = p;
        b->cap = cap;
    }
    if (b->n) b->s[b->n++] = '\n';
    memcpy(b->s + b->n, v->valuestring, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* The document as scans see it: vector values replaced by true (exists still sees them). */
static int strip_vectors(const es_index *x, cJSON *o, const char *prefix) {
    int any = 0;
    cJSON *v;
    cJSON_ArrayForEach(v, o) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", v->string);
        const es_field *f = es_field_get(x, path);
        if (f && f->type == ES_VECTOR && cJSON_IsArray(v)) {
            cJSON_ReplaceItemViaPointer(o, v, cJSON_CreateTrue());
            return 1 + strip_vectors(x, o, prefix); /* the list changed under us: start over */
        }
        if (cJSON_IsObject(v)) any += strip_vectors(x, v, path);
    }
    return any;
}

int es_put(es_index *x, const char *id, cJSON *src, int op, int64_t *version, int64_t *seq_no, char *etype, char *why,
           size_t cap) {
    ss_record old;
    int have = ss_collection_lookup(x->coll, id, &old, NULL) == SS_OK;
    int64_t old_version = have ? old.version : 0;
    if (have) ss_record_clear(&old);
    if (op == 1 && have) {
        snprintf(etype, 64, "version_conflict_engine_exception");
        snprintf(why, cap, "[%s]: version conflict, document already exists (current version [%lld])", id,
                 (long long)old_version);
        cJSON_Delete(src);
        return 409;
    }
    if (!cJSON_IsObject(src)) {
        snprintf(etype, 64, "document_parsing_exception");
        snprintf(why, cap, "[1:1] failed to parse: the document with id '%s' is not a JSON object", id);
        cJSON_Delete(src);
        return 400;
    }
    cJSON *props = cJSON_GetObjectItemCaseSensitive(x->mappings, "properties");
    if (!props) props = cJSON_AddObjectToObject(x->mappings, "properties");
    if (es__check_names(src, 0, why, cap) != 0) {
        snprintf(etype, 64, "document_parsing_exception");
        cJSON_Delete(src);
        return 400;
    }
    es__dynamic_map(x, props, src, "");
    for (int i = 0; i < x->n_fields; i++) {
        const cJSON *v = es_path(src, x->fields[i].path);
        if (v && es__check_value(x, &x->fields[i], v, id, why, cap) != 0) {
            snprintf(etype, 64, "document_parsing_exception");
            cJSON_Delete(src);
            return 400;
        }
    }
    ss_field_value *vals = calloc((size_t)x->n_fields + 1, sizeof *vals);
    text_buf *texts = calloc((size_t)x->n_fields + 1, sizeof *texts);
    float **vecs = calloc((size_t)x->n_fields + 1, sizeof *vecs);
    size_t nv = 0;
    int st = vals && texts && vecs ? 0 : 500;
    if (st) snprintf(why, cap, "out of memory");
    for (int i = 0; !st && i < x->n_fields; i++) {
        es_field *f = &x->fields[i];
        const cJSON *v = es_path(src, f->path);
        if (!v || cJSON_IsNull(v) || (f->type != ES_TEXT && f->type != ES_VECTOR && f->type != ES_SEMANTIC)) continue;
        if (f->type == ES_SEMANTIC) { /* embed the text now (one vector per field: values joined) */
            text_of(v, &texts[i]);
            if (!texts[i].s) continue;
            if (!x->emb || !x->emb->fn) {
                snprintf(why, cap, "failed to parse field [%s] of type [semantic_text]: the server has no model", f->name);
                st = 400;
                break;
            }
            cJSON *ev = x->emb->fn(x->emb->user, texts[i].s, why, cap);
            int n = ev ? cJSON_GetArraySize(ev) : 0;
            if (ev && f->dims == 0) { /* as Elasticsearch, the mapping records the model's output */
                f->dims = n;
                cJSON *fm = cJSON_GetObjectItemCaseSensitive(props, f->name);
                if (fm && !cJSON_GetObjectItemCaseSensitive(fm, "model_settings")) {
                    cJSON *ms = cJSON_AddObjectToObject(fm, "model_settings");
                    cJSON_AddStringToObject(ms, "task_type", "text_embedding");
                    cJSON_AddNumberToObject(ms, "dimensions", n);
                    cJSON_AddStringToObject(ms, "similarity", "cosine");
                    cJSON_AddStringToObject(ms, "element_type", "float");
                }
                x->mapping_dirty = 1;
            }
            if (!ev || n != f->dims || !(vecs[i] = malloc((size_t)n * sizeof *vecs[i]))) {
                if (ev) snprintf(why, cap, "field [%s]: the model gives %d-d vectors, the field has %d", f->name, n, f->dims);
                cJSON_Delete(ev);
                st = ev ? 400 : 503;
                break;
            }
            int k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, ev) vecs[i][k++] = (float)e->valuedouble;
            cJSON_Delete(ev);
            if (ensure_stored(x, f, why, cap) != 0) {
                st = 500;
                break;
            }
            vals[nv].field = f->name;
            vals[nv++].vector = vecs[i];
            continue;
        }
        if (ensure_stored(x, f, why, cap) != 0) {
            st = 500;
            break;
        }
        if (!f->stored) continue;
        if (f->type == ES_TEXT) {
            text_of(v, &texts[i]);
            if (!texts[i].s) continue;
            ss_analyze(f->analyzer, texts[i].s, count_tok, &texts[i], NULL);
            if (!texts[i].toks) continue; /* no tokens: Lucene does not count the field either */
            vals[nv].field = f->name;
            vals[nv++].text = texts[i].s;
        } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == f->dims) {
            int at = 0, bad = -1;
            const cJSON *e;
            cJSON_ArrayForEach(e, v) { /* beyond FLT_MAX the float would be inf (and the cast undefined) */
                if (bad < 0 && cJSON_IsNumber(e) && !(fabs(e->valuedouble) <= FLT_MAX)) bad = at;
                at++;
            }
            if (bad >= 0) {
                snprintf(why, cap, "field [%s]: element %d of the vector is out of float range", f->name, bad);
                st = 400;
                break;
            }
            if (!(vecs[i] = malloc((size_t)f->dims * sizeof *vecs[i]))) {
                st = 500;
                break;
            }
            int k = 0;
            cJSON_ArrayForEach(e, v) vecs[i][k++] = (float)e->valuedouble;
            vals[nv].field = f->name;
            vals[nv++].vector = vecs[i];
        }
    }
    if (!st) {
        char *json = cJSON_PrintUnformatted(src), *view = NULL;
        cJSON *vw = cJSON_Duplicate(src, 1);
        if (vw && strip_vectors(x, vw, "")) view = cJSON_PrintUnformatted(vw);
        cJSON_Delete(vw);
        ss_error e = {0};
        int64_t ver = have ? old_version + 1 : 1, seq = x->seq;
        if (version && *version > 0) ver = *version, seq = *seq_no;
        if (!json || ss_collection_put(x->coll, id, json, view, ver, seq, vals, nv, NULL, &e) != SS_OK) {
            st = 500;
            snprintf(why, cap, "storing document [%s]: %s", id, json ? e.msg : "out of memory");
        } else {
            x->seq++;
            if (version) *version = ver;
            if (seq_no) *seq_no = seq;
        }
        free(json);
        free(view);
    }
    for (int i = 0; i < x->n_fields && texts && vecs; i++) free(texts[i].s), free(vecs[i]);
    free(vals);
    free(texts);
    free(vecs);
    cJSON_Delete(src);
    if (st) {
        snprintf(etype, 64, st == 400 ? "document_parsing_exception" : st == 503 ? "status_exception" : "exception");
        return st;
    }
    return have ? 200 : 201;
}

int es_remove(es_index *x, const char *id, int64_t *version, int64_t *seq_no) {
    ss_record r;
    if (ss_collection_lookup(x->coll, id, &r, NULL) != SS_OK) return 0;
    *version = r.version + 1;
    ss_record_clear(&r);
    ss_error e = {0};
    if (ss_collection_remove(x->coll, id, &e) != 1) {
        log_fail(x, "delete", &e);
        return 0;
    }
    *seq_no = x->seq++;
    return 1;
}

/* ---- indices ------------------------------------------------------------------ */

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void es__index_close(es_index *x) {
    if (!x) return;
    for (int i = 0; i < x->n_fields; i++) free(x->fields[i].name), free(x->fields[i].path);
    free(x->fields);
    cJSON_Delete(x->mappings);
    cJSON_Delete(x->settings);
    if (x->coll) {
        ss_error e = {0};
        if (ss_collection_close(x->coll, &e) != SS_OK) log_fail(x, "close", &e);
    }
    pthread_rwlock_destroy(&x->lock);
    free(x);
}
/* settings: {"number_of_shards":1,"index":{...}} or dotted keys -> a flat {"index":{...}}. */
static int apply_settings(es_index *x, const cJSON *settings, char *why, size_t cap) {
    cJSON *idx = cJSON_AddObjectToObject(x->settings, "index");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(settings, "index");
    const cJSON *srcs[2] = {settings, in};
    for (int s = 0; s < 2; s++) {
        const cJSON *v;
        cJSON_ArrayForEach(v, srcs[s]) {
            if (s == 0 && !strcmp(v->string, "index")) continue;
            const char *k = !strncmp(v->string, "index.", 6) ? v->string + 6 : v->string;
            cJSON_AddItemToObject(idx, k, cJSON_Duplicate(v, 1));
        }
    }
    const cJSON *sim = es_path(idx, "similarity.default");
    if (sim) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(sim, "type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "BM25"))
            return snprintf(why, cap, "Unknown Similarity type [%s] for [default]", cJSON_IsString(t) ? t->valuestring : "?"), -1;
        const cJSON *k1 = cJSON_GetObjectItemCaseSensitive(sim, "k1"), *b = cJSON_GetObjectItemCaseSensitive(sim, "b");
        if (k1) x->k1 = cJSON_IsNumber(k1) ? k1->valuedouble : atof(cJSON_IsString(k1) ? k1->valuestring : "1.2");
        if (b) x->b = cJSON_IsNumber(b) ? b->valuedouble : atof(cJSON_IsString(b) ? b->valuestring : "0.75");
    }
    const cJSON *an = es_path(idx, "analysis.analyzer.default.type");
    if (an) {
        if (!cJSON_IsString(an) || (strcmp(an->valuestring, "standard") && strcmp(an->valuestring, "english")))
            return snprintf(why, cap, "Unknown analyzer type [%s] for [default]", cJSON_IsString(an) ? an->valuestring : "?"), -1;
        snprintf(x->analyzer, sizeof x->analyzer, "%s", an->valuestring);
    }
    return 0;
}

static es_index *index_new(const char *name, const cJSON *body, char *why, size_t cap) {
    es_index *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    pthread_rwlock_init(&x->lock, NULL);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->k1 = 1.2;
    x->b = 0.75;
    snprintf(x->analyzer, sizeof x->analyzer, "standard");
    x->created_ms = now_ms();
    x->mappings = cJSON_CreateObject();
    x->settings = cJSON_CreateObject();
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "mappings");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "settings");
    if (apply_settings(x, s, why, cap) != 0) goto fail;
    if (m) {
        cJSON_Delete(x->mappings);
        x->mappings = cJSON_Duplicate(m, 1);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "properties");
        if (p && es__parse_props(x, p, "", why, cap) != 0) goto fail;
    }
    if (!cJSON_GetObjectItemCaseSensitive(x->mappings, "properties")) cJSON_AddObjectToObject(x->mappings, "properties");
    return x;
fail:
    es__index_close(x);
    return NULL;
}

static void random_uuid(char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[22] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, b, sizeof b) != (ssize_t)sizeof b) b[0] ^= 1;
        close(fd);
    }
    for (int i = 0; i < 22; i++) out[i] = tbl[b[i] & 63];
    out[22] = '\0';
}


static int reg_add(es_registry *g, es_index *x) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        es_index **n = realloc(g->ix, cap * sizeof *n);
        if (!n) return -1;
        g->ix = n;
        g->cap = cap;
    }
    g->ix[g->n++] = x;
    return 0;
}

static ss_collection *coll_open(const char *dir, int create, ss_error *e) {
    ss_collection_options o = {.create = create, .fields_only = 1, .sync_off = 1};
    /* sync_off: synchronous=NORMAL in WAL mode, what the old es.db used; a
     * power loss may drop the last batches, a killed process loses nothing. */
    return ss_collection_open(dir, &o, e);
}

/* Mark the fields the collection already has. */
static void mark_stored(es_index *x) {
    for (int i = 0; i < x->n_fields; i++)
        x->fields[i].stored = (x->fields[i].type == ES_TEXT || x->fields[i].type == ES_VECTOR) &&
                              ss_collection_has_field(x->coll, x->fields[i].name);
}

es_index *es__create_at(const char *dir, const char *name, const cJSON *body, ss_http_resp *resp) {
    char why[600];
    es_index *x = index_new(name, body, why, sizeof why);
    if (!x) {
        es_error(resp, 400, "mapper_parsing_exception", NULL, "Failed to parse mapping: %s", why);
        return NULL;
    }
    random_uuid(x->uuid);
    snprintf(x->dir, sizeof x->dir, "%s", dir);
    ss_error e = {0};
    if (!(x->coll = coll_open(dir, 1, &e))) {
        es_error(resp, 500, "exception", name, "cannot create index folder %s: %s", dir, e.msg);
        es__index_close(x);
        return NULL;
    }
    char num[32], *bs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "settings"));
    snprintf(num, sizeof num, "%lld", (long long)x->created_ms);
    es_begin(x);
    ss_collection_meta_set(x->coll, "uuid", x->uuid, NULL);
    ss_collection_meta_set(x->coll, "created", num, NULL);
    ss_collection_meta_set(x->coll, "body_settings", bs ? bs : "null", NULL);
    free(bs);
    x->mapping_dirty = 1;
    for (int i = 0; i < x->n_fields; i++) ensure_stored(x, &x->fields[i], why, sizeof why);
    if (es_commit(x) != 0) {
        es_error(resp, 500, "exception", name, "cannot create index [%s] in %s", name, dir);
        es__index_close(x);
        return NULL;
    }
    return x;
}

es_index *es_create(es_registry *g, const char *name, const cJSON *body, ss_http_resp *resp) {
    char why[600];
    if (!es_valid_name(name, why, sizeof why)) {
        es_error(resp, 400, "invalid_index_name_exception", name, "Invalid index name [%s], %s", name, why);
        return NULL;
    }
    if (es_find(g, name)) {
        es_index *o = es_find(g, name);
        es_error(resp, 400, "resource_already_exists_exception", name, "index [%s/%s] already exists", name, o->uuid);
        return NULL;
    }
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", g->dir, name);
    es_index *x = es__create_at(dir, name, body, resp);
    if (!x) return NULL;
    x->emb = &g->emb;
    if (reg_add(g, x) != 0) {
        es__index_close(x);
        es_error(resp, 500, "exception", name, "out of memory");
        return NULL;
    }
    return x;
}

/* Open DATA/es/NAME (a fields collection). NULL + why when it is none. */
/* A folder an index creation left before its first commit (nothing was
 * acknowledged): no collection.db (or an empty one) and nothing else but the
 * lock file. */
static int creation_leftover(const char *dir) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    int other = 0;
    while (dp && (e = readdir(dp))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "writer.lock")) continue;
        if (!strcmp(n, "collection.db")) {
            char p[4900];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s", dir, n);
            if (stat(p, &sb) == 0 && sb.st_size == 0) continue;
        }
        other = 1;
    }
    if (dp) closedir(dp);
    return dp && !other;
}

/* Open DATA/es/NAME (a fields collection). NULL + why when it is none;
 * *leftover = 1 when it is what an interrupted index creation left. */
static es_index *index_load(const char *dir, const char *name, char *why, size_t cap, int *leftover) {
    ss_error e = {0};
    *leftover = 0;
    if (creation_leftover(dir)) return *leftover = 1, NULL;
    ss_collection *c = coll_open(dir, 0, &e);
    if (!c) return snprintf(why, cap, "%s", e.msg), NULL;
    char *m = ss_collection_meta_get(c, "mappings"), *s = ss_collection_meta_get(c, "body_settings"),
         *u = ss_collection_meta_get(c, "uuid"), *cr = ss_collection_meta_get(c, "created"),
         *sq = ss_collection_meta_get(c, "seq_no");
    cJSON *body = cJSON_CreateObject();
    if (m) cJSON_AddItemToObject(body, "mappings", cJSON_Parse(m));
    if (s) cJSON_AddItemToObject(body, "settings", cJSON_Parse(s));
    es_index *x = m ? index_new(name, body, why, cap) : NULL;
    if (!m) snprintf(why, cap, "%.900s has no Elasticsearch mapping (not an index folder)", dir);
    if (!m && ss_collection_count(c) == 0 && !ss_collection_max_rowid(c)) *leftover = 1; /* created, never committed */
    cJSON_Delete(body);
    if (x) {
        x->coll = c;
        snprintf(x->dir, sizeof x->dir, "%s", dir);
        snprintf(x->uuid, sizeof x->uuid, "%s", u ? u : "_na_");
        if (cr) x->created_ms = atoll(cr);
        if (sq) x->seq = atoll(sq);
        mark_stored(x);
    } else
        ss_collection_close(c, NULL);
    free(m), free(s), free(u), free(cr), free(sq);
    return x;
}

static void rm_tree(const char *dir) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_tree(p);
        else unlink(p);
    }
    if (dp) closedir(dp);
    rmdir(dir);
}

es_registry *es_registry_open(const char *data_dir, ss_error *err) {
    es_registry *g = calloc(1, sizeof *g);
    if (!g) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&g->lock, NULL);
    if (data_dir && *data_dir) {
        snprintf(g->dir, sizeof g->dir, "%s/es", data_dir);
        if (mkdir(g->dir, 0755) != 0 && errno != EEXIST) {
            ss_fail(err, SS_ERR_IO, "cannot create %s: %s", g->dir, strerror(errno));
            es_registry_free(g);
            return NULL;
        }
    } else { /* no --data: indices live until the server stops */
        const char *t = getenv("TMPDIR");
        snprintf(g->dir, sizeof g->dir, "%s/semsearch-es-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g->dir)) {
            ss_fail(err, SS_ERR_IO, "cannot create a temporary folder for indices: %s", strerror(errno));
            es_registry_free(g);
            return NULL;
        }
        g->temp = 1;
        return g;
    }
    DIR *dp = opendir(g->dir);
    struct dirent *e;
    ss_status s = SS_OK;
    while (s == SS_OK && dp && (e = readdir(dp))) { /* migrations that stopped half-way */
        char why[1200];
        if (es__migrate_finish(g->dir, e->d_name, why, sizeof why) != 0)
            s = ss_fail(err, SS_ERR_IO, "finishing the migration of %s/%s: %s", g->dir, e->d_name, why);
    }
    if (dp) rewinddir(dp);
    while (s == SS_OK && dp && (e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char dir[4400], why[1200];
        snprintf(dir, sizeof dir, "%s/%s", g->dir, e->d_name);
        if (es__old_layout(dir)) { /* DATA/es/NAME/es.db: migrate once, keeping the old file */
            if (es__migrate(dir, e->d_name, why, sizeof why) != 0) {
                s = ss_fail(err, SS_ERR_FORMAT, "index [%s]: %s", e->d_name, why);
                break;
            }
        }
        int leftover;
        es_index *x = index_load(dir, e->d_name, why, sizeof why, &leftover);
        if (!x && leftover) {
            fprintf(stderr, "semsearch: removing %s: an index creation that never completed (no mapping, no documents)\n", dir);
            rm_tree(dir);
            continue;
        }
        if (!x) { /* never skip data silently: the server refuses to start */
            s = ss_fail(err, SS_ERR_FORMAT, "cannot open index [%s] in %s: %s", e->d_name, dir, why);
            break;
        }
        x->emb = &g->emb;
        if (reg_add(g, x) != 0) {
            es__index_close(x);
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        }
    }
    if (dp) closedir(dp);
    if (s != SS_OK) {
        es_registry_free(g);
        return NULL;
    }
    return g;
}

void es_registry_free(es_registry *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) es__index_close(g->ix[i]);
    free(g->ix);
    if (g->temp) rm_tree(g->dir);
    pthread_rwlock_destroy(&g->lock);
    free(g);
}

void es_set_embedder(es_registry *g, const es_embedder *e) {
    pthread_rwlock_rdlock(&g->lock);
    int have = g->emb.fn != NULL;
    pthread_rwlock_unlock(&g->lock);
    if (have) return;
    pthread_rwlock_wrlock(&g->lock);
    if (!g->emb.fn) g->emb = *e;
    pthread_rwlock_unlock(&g->lock);
}

void es_acquire(es_registry *g, int exclusive) {
    if (exclusive) pthread_rwlock_wrlock(&g->lock);
    else pthread_rwlock_rdlock(&g->lock);
}
void es_release(es_registry *g) { pthread_rwlock_unlock(&g->lock); }

es_index *es_find(es_registry *g, const char *name) {
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->ix[i]->name, name)) return g->ix[i];
    return NULL;
}
size_t es_count_indices(es_registry *g) { return g->n; }
es_index *es_index_at(es_registry *g, size_t i) { return i < g->n ? g->ix[i] : NULL; }

int es_delete_index(es_registry *g, const char *name) {
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->ix[i]->name, name)) continue;
        es_index *x = g->ix[i];
        g->ix[i] = g->ix[--g->n];
        char dir[4400];
        snprintf(dir, sizeof dir, "%s", x->dir);
        es__index_close(x);
        rm_tree(dir);
        return 1;
    }
    return 0;
}
