/* es_store.c — the registry of Elasticsearch indices, their mappings, and
 * documents in memory with SQLite underneath (es_store.h says why). */
#include "server/es_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/error.h"

struct es_registry {
    pthread_rwlock_t lock;
    char dir[4096]; /* DATA/es, "" = memory only */
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

static int doc_derive(es_index *x, es_doc *d);

int es_map_props(es_index *x, const cJSON *props, char *why, size_t cap) {
    if (es__parse_props(x, props, "", why, cap) != 0) return -1;
    for (size_t i = 0; i < x->n_docs; i++) doc_derive(x, x->docs[i]);
    return 0;
}

/* ---- SQLite ---------------------------------------------------------------- */

static void db_exec(es_index *x, const char *sql) {
    if (x->db) sqlite3_exec(x->db, sql, NULL, NULL, NULL);
}

static void db_meta(es_index *x, const char *k, const char *v) {
    if (!x->db) return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(x->db, "INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)", -1, &st, NULL) != SQLITE_OK) return;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static void db_meta_json(es_index *x, const char *k, const cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (s) db_meta(x, k, s);
    free(s);
}

void es_begin(es_index *x) { db_exec(x, "BEGIN IMMEDIATE"); }

void es_commit(es_index *x) {
    if (x->mapping_dirty) {
        db_meta_json(x, "mappings", x->mappings);
        x->mapping_dirty = 0;
    }
    db_exec(x, "COMMIT");
}

static int db_open(es_index *x, const char *dir, int create) {
    char path[4500];
    if ((size_t)snprintf(path, sizeof path, "%s/es.db", dir) >= sizeof path) return -1;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);"
                     "CREATE TABLE IF NOT EXISTS docs(id TEXT PRIMARY KEY, src TEXT, version INTEGER, seq_no INTEGER);",
                 NULL, NULL, NULL);
    x->db = db;
    return 0;
}

/* ---- documents ---------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t *slot_of(es_index *x, const char *id) {
    size_t m = x->hcap - 1, i = (size_t)hash_str(id) & m;
    for (;; i = (i + 1) & m)
        if (!x->hash[i] || !strcmp(x->docs[x->hash[i] - 1]->id, id)) return &x->hash[i];
}

static int rehash(es_index *x, size_t cap) {
    size_t *h = calloc(cap, sizeof *h);
    if (!h) return -1;
    free(x->hash);
    x->hash = h;
    x->hcap = cap;
    for (size_t i = 0; i < x->n_docs; i++) *slot_of(x, x->docs[i]->id) = i + 1;
    return 0;
}

es_doc *es_get(es_index *x, const char *id) {
    if (!x->hcap) return NULL;
    size_t *s = slot_of(x, id);
    return *s ? x->docs[*s - 1] : NULL;
}

static void doc_free_derived(const es_index *x, es_doc *d) {
    (void)x;
    for (int i = 0; d->vec && i < d->n_vec; i++) free(d->vec[i]);
    for (int i = 0; d->toks && i < d->n_text; i++) {
        for (int k = 0; k < d->toks[i].n; k++) free(d->toks[i].t[k]);
        free(d->toks[i].t);
    }
    free(d->vec);
    free(d->toks);
    d->vec = NULL;
    d->toks = NULL;
}

static void doc_free(const es_index *x, es_doc *d) {
    if (!d) return;
    doc_free_derived(x, d);
    cJSON_Delete(d->src);
    free(d->id);
    free(d);
}

static void tok_emit(void *user, const char *tok) {
    es_toks *t = user;
    char **n = realloc(t->t, (size_t)(t->n + 1) * sizeof *n);
    if (!n) return;
    t->t = n;
    if ((t->t[t->n] = strdup(tok))) t->n++;
}

static void analyze_value(const char *analyzer, const cJSON *v, es_toks *t) {
    if (cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) analyze_value(analyzer, e, t);
    } else if (cJSON_IsString(v)) {
        ss_analyze(analyzer, v->valuestring, tok_emit, t, NULL);
    }
}

/* Vectors and tokens for the current mapping. */
static int doc_derive(es_index *x, es_doc *d) {
    doc_free_derived(x, d);
    d->vec = calloc((size_t)x->n_vec + 1, sizeof *d->vec);
    d->toks = calloc((size_t)x->n_text + 1, sizeof *d->toks);
    if (!d->vec || !d->toks) return -1;
    d->n_vec = x->n_vec;
    d->n_text = x->n_text;
    for (int i = 0; i < x->n_fields; i++) {
        const es_field *f = &x->fields[i];
        const cJSON *v = es_path(d->src, f->path);
        if (!v) continue;
        if (f->type == ES_TEXT) analyze_value(f->analyzer, v, &d->toks[f->tslot]);
        if (f->type == ES_VECTOR && cJSON_IsArray(v) && f->dims > 0) {
            float *a = malloc((size_t)f->dims * sizeof *a);
            if (!a) return -1;
            int k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, v) if (k < f->dims) a[k++] = (float)e->valuedouble;
            d->vec[f->vslot] = a;
        }
    }
    return 0;
}

static void persist_doc(es_index *x, const es_doc *d) {
    if (!x->db) return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(x->db, "INSERT OR REPLACE INTO docs(id,src,version,seq_no) VALUES(?,?,?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    char *s = cJSON_PrintUnformatted(d->src);
    sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s ? s : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, d->version);
    sqlite3_bind_int64(st, 4, d->seq_no);
    sqlite3_step(st);
    sqlite3_finalize(st);
    free(s);
}

static int insert_doc(es_index *x, es_doc *d) {
    if (x->n_docs == x->cap_docs) {
        size_t cap = x->cap_docs ? x->cap_docs * 2 : 64;
        es_doc **n = realloc(x->docs, cap * sizeof *n);
        if (!n) return -1;
        x->docs = n;
        x->cap_docs = cap;
    }
    x->docs[x->n_docs++] = d;
    if (x->n_docs * 2 > x->hcap) return rehash(x, x->hcap ? x->hcap * 2 : 128);
    *slot_of(x, d->id) = x->n_docs;
    return 0;
}

int es_put(es_index *x, const char *id, cJSON *src, int op, es_doc **out, char *etype, char *why, size_t cap) {
    es_doc *old = es_get(x, id);
    if (op == 1 && old) {
        snprintf(etype, 64, "version_conflict_engine_exception");
        snprintf(why, cap, "[%s]: version conflict, document already exists (current version [%lld])", id,
                 (long long)old->version);
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
    es__dynamic_map(x, props, src, "");
    for (int i = 0; i < x->n_fields; i++) {
        const cJSON *v = es_path(src, x->fields[i].path);
        if (v && es__check_value(x, &x->fields[i], v, id, why, cap) != 0) {
            snprintf(etype, 64, "document_parsing_exception");
            cJSON_Delete(src);
            return 400;
        }
    }
    es_doc *d = old;
    if (!d) {
        if (!(d = calloc(1, sizeof *d)) || !(d->id = strdup(id)) || insert_doc(x, d) != 0) {
            if (d) free(d->id);
            free(d);
            cJSON_Delete(src);
            snprintf(etype, 64, "exception");
            snprintf(why, cap, "out of memory");
            return 500;
        }
    } else
        cJSON_Delete(d->src);
    d->src = src;
    d->version = old ? d->version + 1 : 1;
    d->seq_no = x->seq++;
    doc_derive(x, d);
    persist_doc(x, d);
    if (out) *out = d;
    return old ? 200 : 201;
}

int es_remove(es_index *x, const char *id, int64_t *version, int64_t *seq_no) {
    es_doc *d = es_get(x, id);
    if (!d) return 0;
    size_t *slot = slot_of(x, id), i = *slot - 1, m = x->hcap - 1;
    *version = d->version + 1;
    *seq_no = x->seq++;
    /* Linear-probing delete by backward shift: later entries of the probe
     * run move up into the hole unless their home slot lies after it. */
    size_t hole = (size_t)(slot - x->hash);
    x->hash[hole] = 0;
    for (size_t j = (hole + 1) & m; x->hash[j]; j = (j + 1) & m) {
        size_t home = (size_t)hash_str(x->docs[x->hash[j] - 1]->id) & m;
        if (((j - home) & m) >= ((j - hole) & m)) {
            x->hash[hole] = x->hash[j];
            x->hash[j] = 0;
            hole = j;
        }
    }
    /* the last document moves into position i: repoint its slot */
    size_t last = --x->n_docs;
    if (i != last) {
        x->docs[i] = x->docs[last];
        *slot_of(x, x->docs[i]->id) = i + 1;
    }
    doc_free(x, d);
    if (x->db) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(x->db, "DELETE FROM docs WHERE id=?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
    }
    return 1;
}

/* ---- indices ------------------------------------------------------------------ */

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void index_free(es_index *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n_docs; i++) doc_free(x, x->docs[i]);
    for (int i = 0; i < x->n_fields; i++) free(x->fields[i].name), free(x->fields[i].path);
    free(x->fields);
    free(x->docs);
    free(x->hash);
    cJSON_Delete(x->mappings);
    cJSON_Delete(x->settings);
    if (x->db) sqlite3_close(x->db);
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
    index_free(x);
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
    es_index *x = index_new(name, body, why, sizeof why);
    if (!x) {
        es_error(resp, 400, "mapper_parsing_exception", NULL, "Failed to parse mapping: %s", why);
        return NULL;
    }
    random_uuid(x->uuid);
    if (*g->dir) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", g->dir, name);
        if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || db_open(x, dir, 1) != 0) {
            es_error(resp, 500, "exception", name, "cannot create %s: %s", dir, strerror(errno));
            index_free(x);
            return NULL;
        }
        char num[32];
        db_exec(x, "BEGIN");
        db_meta(x, "uuid", x->uuid);
        snprintf(num, sizeof num, "%lld", (long long)x->created_ms);
        db_meta(x, "created", num);
        db_meta_json(x, "mappings", x->mappings);
        db_meta_json(x, "body_settings", cJSON_GetObjectItemCaseSensitive(body, "settings"));
        db_exec(x, "COMMIT");
    }
    if (reg_add(g, x) != 0) {
        index_free(x);
        es_error(resp, 500, "exception", name, "out of memory");
        return NULL;
    }
    return x;
}

static char *db_get_meta(sqlite3 *db, const char *k) {
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* Load DATA/es/NAME/es.db back into memory. */
static es_index *index_load(const char *root, const char *name) {
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    es_index tmp = {0};
    if (db_open(&tmp, dir, 0) != 0) return NULL;
    sqlite3 *db = tmp.db;
    char *m = db_get_meta(db, "mappings"), *s = db_get_meta(db, "body_settings"), *u = db_get_meta(db, "uuid"),
         *c = db_get_meta(db, "created");
    cJSON *body = cJSON_CreateObject();
    if (m) cJSON_AddItemToObject(body, "mappings", cJSON_Parse(m));
    if (s) cJSON_AddItemToObject(body, "settings", cJSON_Parse(s));
    char why[600];
    es_index *x = index_new(name, body, why, sizeof why);
    cJSON_Delete(body);
    if (x) {
        snprintf(x->uuid, sizeof x->uuid, "%s", u ? u : "_na_");
        if (c) x->created_ms = atoll(c);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT id,src,version,seq_no FROM docs ORDER BY seq_no", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                es_doc *d = calloc(1, sizeof *d);
                if (!d) break;
                d->id = strdup((const char *)sqlite3_column_text(st, 0));
                d->src = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
                d->version = sqlite3_column_int64(st, 2);
                d->seq_no = sqlite3_column_int64(st, 3);
                if (d->seq_no >= x->seq) x->seq = d->seq_no + 1;
                if (!d->src || insert_doc(x, d) != 0) {
                    doc_free(x, d);
                    continue;
                }
                doc_derive(x, d);
            }
            sqlite3_finalize(st);
        }
        x->db = db;
    } else
        sqlite3_close(db);
    free(m), free(s), free(u), free(c);
    return x;
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
        DIR *dp = opendir(g->dir);
        struct dirent *e;
        while (dp && (e = readdir(dp))) {
            if (e->d_name[0] == '.') continue;
            es_index *x = index_load(g->dir, e->d_name);
            if (x && reg_add(g, x) != 0) index_free(x);
        }
        if (dp) closedir(dp);
    }
    return g;
}

void es_registry_free(es_registry *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) index_free(g->ix[i]);
    free(g->ix);
    pthread_rwlock_destroy(&g->lock);
    free(g);
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
        if (*g->dir) {
            char p[4500];
            snprintf(p, sizeof p, "%s/%s/es.db", g->dir, name);
            index_free(x);
            const char *suf[] = {"", "-wal", "-shm"};
            for (int k = 0; k < 3; k++) {
                char q[4600];
                snprintf(q, sizeof q, "%s%s", p, suf[k]);
                unlink(q);
            }
            snprintf(p, sizeof p, "%s/%s", g->dir, name);
            rmdir(p);
        } else
            index_free(x);
        return 1;
    }
    return 0;
}
