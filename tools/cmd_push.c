/* cmd_push.c — `semsearch push COLLECTION --to URL`: copy a collection's
 * documents and their stored vectors into any Elasticsearch-compatible
 * cluster (Elasticsearch, OpenSearch, semsearch serve) through `_bulk`, so
 * that the vectors need not be recomputed there (docs/server.md, "Scale-out
 * path").
 *
 * Steps: derive a mapping from the collection (its stored fields, sampled;
 * a dense_vector with its dims / similarity / index options), PUT the index
 * (an existing one is reused), then stream batches in rowid order. Each
 * batch is retried on 429 / 502 / 503 / 504 and on connection errors, with
 * exponential backoff (or the server's Retry-After); items that come back
 * 429 on their own are resent; other per-item errors are reported (id,
 * type, reason) and counted. After each batch is answered, the rowid of its
 * last document is written to a state file (temp + fsync + rename), so a
 * rerun continues after the last acknowledged batch. Rowids are never
 * reused, so documents added to the collection after a push are sent by the
 * next one (documents replaced in place keep their rowid and deletions are
 * not propagated: --restart for those). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "commands.h"
#include "opts.h"
#include "semsearch.h"
#include "store_cli.h"

#define SAMPLE_DOCS 1000

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1 << 16;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) return -1;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}
static int buf_str(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

typedef struct pusher {
    CURL *curl;
    const char *url; /* without a trailing '/' */
    char auth[1024];
    double timeout_s;
    int retries;
    int quiet;
    double retry_after; /* from the last response, seconds; 0 none */
} pusher;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
    return buf_add(user, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *user) {
    pusher *ps = user;
    size_t len = size * n;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) ps->retry_after = atof(p + 12);
    return len;
}

/* One HTTP request. Returns the status (0 = no response: connection error,
 * message in errmsg); the body in *resp. */
static long http(pusher *ps, const char *method, const char *path, const char *ctype, const char *body, size_t len,
                 buf *resp, char *errmsg, size_t cap) {
    char url[8192];
    snprintf(url, sizeof url, "%s%s", ps->url, path);
    resp->n = 0;
    if (resp->p) resp->p[0] = '\0';
    ps->retry_after = 0;
    CURL *c = ps->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, ps);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(ps->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = NULL;
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    h = curl_slist_append(h, ct);
    if (*ps->auth) h = curl_slist_append(h, ps->auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else snprintf(errmsg, cap, "%s %.600s: %s", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    return status;
}

static int retryable(long status) { return status == 0 || status == 429 || status == 502 || status == 503 || status == 504; }

static void backoff(pusher *ps, int attempt) {
    double d = ps->retry_after > 0 ? ps->retry_after : 0.25 * (double)(1 << (attempt < 6 ? attempt : 6));
    if (d > 30) d = 30;
    struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- the state file --------------------------------------------------------- */

typedef struct push_state {
    int64_t last_rowid;
    long long acknowledged, failed;
} push_state;

static int state_load(const char *path, const char *url, const char *index, push_state *st) {
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        fprintf(stderr, "semsearch push: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *j = cJSON_Parse(text);
    const cJSON *u = cJSON_GetObjectItem(j, "url"), *i = cJSON_GetObjectItem(j, "index"),
                *r = cJSON_GetObjectItem(j, "last_rowid");
    if (!cJSON_IsString(u) || !cJSON_IsString(i) || !cJSON_IsNumber(r)) {
        fprintf(stderr, "semsearch push: %s is not a push state file (remove it or use --restart)\n", path);
        cJSON_Delete(j);
        return -1;
    }
    if (strcmp(u->valuestring, url) || strcmp(i->valuestring, index)) {
        fprintf(stderr, "semsearch push: %s records a push to %s index %s, not %s index %s (--restart to start over)\n",
                path, u->valuestring, i->valuestring, url, index);
        cJSON_Delete(j);
        return -1;
    }
    st->last_rowid = (int64_t)r->valuedouble;
    const cJSON *a = cJSON_GetObjectItem(j, "acknowledged"), *fl = cJSON_GetObjectItem(j, "failed");
    st->acknowledged = cJSON_IsNumber(a) ? (long long)a->valuedouble : 0;
    st->failed = cJSON_IsNumber(fl) ? (long long)fl->valuedouble : 0;
    cJSON_Delete(j);
    return 1;
}

/* temp + fsync + rename + fsync of the folder: a crash leaves the old or the new state, never a torn one. */
static int state_save(const char *path, const char *url, const char *index, const push_state *st) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "url", url);
    cJSON_AddStringToObject(j, "index", index);
    cJSON_AddNumberToObject(j, "last_rowid", (double)st->last_rowid);
    cJSON_AddNumberToObject(j, "acknowledged", (double)st->acknowledged);
    cJSON_AddNumberToObject(j, "failed", (double)st->failed);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    size_t len = s ? strlen(s) : 0;
    int ok = s && write(fd, s, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    cJSON_free(s);
    if (close(fd) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- the mapping ------------------------------------------------------------- */

static int is_embedded_field(const char *fields, const char *name) {
    if (!fields) return 0;
    size_t n = strlen(name);
    for (const char *p = fields; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Types as Elasticsearch's dynamic mapping would pick them from JSON values
 * (string -> text + .keyword, integer -> long, fraction -> float... here
 * double, bool -> boolean), except that the collection's embedded fields are
 * plain text (they are what BM25 runs over). Objects and arrays are left to
 * the target's dynamic mapping. A field seen with two types is left out. */
static cJSON *derive_mapping(ss_collection *c, const ss_collection_info *info, const char *vector_field,
                             const char *text_field, int *unit_vectors) {
    cJSON *props = cJSON_CreateObject();
    cJSON *conflict = cJSON_CreateObject();
    ss_error err;
    ss_collection_iter *it = ss_collection_iter_new(c, 0, &err);
    ss_doc_vec d;
    int n = 0;
    *unit_vectors = 1;
    while (it && n < SAMPLE_DOCS && ss_collection_iter_next(it, &d, &err) == 1) {
        n++;
        if (d.vector) {
            double s = 0;
            for (int i = 0; i < info->dim; i++) s += (double)d.vector[i] * d.vector[i];
            if (fabs(sqrt(s) - 1.0) > 1e-3) *unit_vectors = 0;
        }
        cJSON *f = cJSON_Parse(d.fields_json);
        for (cJSON *v = f ? f->child : NULL; v; v = v->next) {
            if (!v->string || !strcmp(v->string, vector_field) || cJSON_GetObjectItem(conflict, v->string)) continue;
            const char *type = NULL;
            if (cJSON_IsString(v)) type = "text";
            else if (cJSON_IsBool(v)) type = "boolean";
            else if (cJSON_IsNumber(v)) type = v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15 ? "long" : "double";
            if (!type) continue;
            cJSON *have = cJSON_GetObjectItem(props, v->string);
            if (have) {
                const char *ht = cJSON_GetObjectItem(have, "type")->valuestring;
                if (!strcmp(ht, type)) continue;
                if ((!strcmp(ht, "long") && !strcmp(type, "double"))) {
                    cJSON_ReplaceItemInObject(have, "type", cJSON_CreateString("double"));
                    continue;
                }
                if (!strcmp(ht, "double") && !strcmp(type, "long")) continue;
                cJSON_DeleteItemFromObject(props, v->string);
                cJSON_AddTrueToObject(conflict, v->string);
                continue;
            }
            cJSON *m = cJSON_AddObjectToObject(props, v->string);
            cJSON_AddStringToObject(m, "type", type);
            if (!strcmp(type, "text")) {
                if (info->analyzer && !strcmp(info->analyzer, "english")) cJSON_AddStringToObject(m, "analyzer", "english");
                if (!is_embedded_field(info->fields, v->string)) {
                    cJSON *kw = cJSON_AddObjectToObject(cJSON_AddObjectToObject(m, "fields"), "keyword");
                    cJSON_AddStringToObject(kw, "type", "keyword");
                    cJSON_AddNumberToObject(kw, "ignore_above", 256);
                }
            }
        }
        cJSON_Delete(f);
    }
    ss_collection_iter_free(it);
    cJSON_Delete(conflict);
    if (text_field) {
        cJSON *m = cJSON_AddObjectToObject(props, text_field);
        cJSON_AddStringToObject(m, "type", "text");
        if (info->analyzer && !strcmp(info->analyzer, "english")) cJSON_AddStringToObject(m, "analyzer", "english");
    }
    cJSON *v = cJSON_AddObjectToObject(props, vector_field);
    cJSON_AddStringToObject(v, "type", "dense_vector");
    cJSON_AddNumberToObject(v, "dims", info->dim);
    cJSON_AddTrueToObject(v, "index");
    /* Elasticsearch's dot_product requires unit-length vectors (it rejects
     * others): a dot collection of unnormalised vectors maps to max_inner_product. */
    cJSON_AddStringToObject(v, "similarity",
                            info->metric == SS_METRIC_L2    ? "l2_norm"
                            : info->metric == SS_METRIC_DOT ? (*unit_vectors ? "dot_product" : "max_inner_product")
                                                            : "cosine");
    cJSON *io = cJSON_AddObjectToObject(v, "index_options");
    cJSON_AddStringToObject(io, "type", info->index_type == SS_INDEX_HNSW ? "hnsw" : "flat");
    if (info->index_type == SS_INDEX_HNSW) {
        if (info->hnsw_m > 0) cJSON_AddNumberToObject(io, "m", info->hnsw_m);
        if (info->ef_construction > 0) cJSON_AddNumberToObject(io, "ef_construction", info->ef_construction);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(cJSON_AddObjectToObject(root, "mappings"), "properties", props);
    return root;
}

/* One document's action + source lines. The vector is written with %.9g,
 * which round-trips every float32 exactly. */
static int add_doc(buf *b, const char *index, const ss_doc_vec *d, int dim, const char *vector_field,
                   const char *text_field) {
    cJSON *a = cJSON_CreateObject(), *ix = cJSON_AddObjectToObject(a, "index");
    cJSON_AddStringToObject(ix, "_index", index);
    cJSON_AddStringToObject(ix, "_id", d->id);
    char *as = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    cJSON *f = cJSON_Parse(d->fields_json);
    if (!cJSON_IsObject(f)) {
        cJSON_Delete(f);
        f = cJSON_CreateObject();
    }
    cJSON_DeleteItemFromObject(f, vector_field);
    if (text_field) {
        cJSON_DeleteItemFromObject(f, text_field);
        cJSON_AddStringToObject(f, text_field, d->text);
    }
    char *fs = cJSON_PrintUnformatted(f);
    int empty = f->child == NULL;
    cJSON_Delete(f);
    int rc = -1;
    if (as && fs) {
        size_t fl = strlen(fs);
        fs[fl - 1] = '\0'; /* drop the closing brace; the vector goes last */
        rc = buf_str(b, as) | buf_str(b, "\n") | buf_str(b, fs);
        if (d->vector) {
            char num[32];
            rc |= buf_str(b, empty ? "\"" : ",\"") | buf_str(b, vector_field) | buf_str(b, "\":[");
            for (int i = 0; i < dim; i++) {
                snprintf(num, sizeof num, i ? ",%.9g" : "%.9g", (double)d->vector[i]);
                rc |= buf_str(b, num);
            }
            rc |= buf_str(b, "]");
        }
        rc |= buf_str(b, "}\n");
    }
    cJSON_free(as);
    cJSON_free(fs);
    return rc ? -1 : 0;
}

typedef struct pending {
    char *id;    /* the document's id */
    size_t off, len; /* its two lines in the batch body */
} pending;

/* Send one batch until every item has an answer other than 429. Returns 0
 * with *ok / *bad counted, or -1 (retries exhausted, or a request error
 * that retrying cannot fix: message printed). */
static int send_batch(pusher *ps, const char *bulk_path, const buf *body, pending *items, size_t n, long long *ok,
                      long long *bad) {
    buf resp = {0}, cur = {0};
    char errmsg[1024] = "";
    size_t live = n; /* items[0..live) still to send */
    int attempt = 0, rc = -1;
    if (buf_add(&cur, body->p, body->n) != 0) goto out;
    for (;;) {
        long st = http(ps, "POST", bulk_path, "application/x-ndjson", cur.p, cur.n, &resp, errmsg, sizeof errmsg);
        if (retryable(st)) {
            if (attempt >= ps->retries) {
                fprintf(stderr, "semsearch push: giving up after %d retries: %s\n", attempt,
                        st ? "the server kept answering" : errmsg);
                if (st) fprintf(stderr, "  last answer: HTTP %ld %.300s\n", st, resp.p ? resp.p : "");
                goto out;
            }
            if (!ps->quiet) {
                if (st) fprintf(stderr, "semsearch push: HTTP %ld; retry %d of %d\n", st, attempt + 1, ps->retries);
                else fprintf(stderr, "semsearch push: %s; retry %d of %d\n", errmsg, attempt + 1, ps->retries);
            }
            backoff(ps, attempt++);
            continue;
        }
        if (st < 200 || st >= 300) {
            fprintf(stderr, "semsearch push: POST %s answered HTTP %ld: %.500s\n", bulk_path, st, resp.p ? resp.p : "");
            goto out;
        }
        cJSON *j = cJSON_ParseWithLength(resp.p, resp.n);
        cJSON *arr = cJSON_GetObjectItem(j, "items");
        if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != live) {
            fprintf(stderr, "semsearch push: the _bulk response has %d items for %zu documents: %.300s\n",
                    cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1, live, resp.p ? resp.p : "");
            cJSON_Delete(j);
            goto out;
        }
        size_t again = 0;
        buf next = {0};
        int i = 0;
        for (cJSON *it = arr->child; it; it = it->next, i++) {
            cJSON *op = it->child; /* {"index": {...}} */
            const cJSON *s = cJSON_GetObjectItem(op, "status");
            int code = cJSON_IsNumber(s) ? s->valueint : 0;
            if (code >= 200 && code < 300) {
                (*ok)++;
            } else if (code == 429) {
                buf_add(&next, body->p + items[i].off, items[i].len);
                items[again++] = items[i];
            } else {
                cJSON *e = cJSON_GetObjectItem(op, "error");
                const cJSON *type = cJSON_GetObjectItem(e, "type"), *reason = cJSON_GetObjectItem(e, "reason");
                fprintf(stderr, "semsearch push: document %s: HTTP %d %s: %s\n", items[i].id, code,
                        cJSON_IsString(type) ? type->valuestring : "error",
                        cJSON_IsString(reason) ? reason->valuestring : "(no reason given)");
                (*bad)++;
            }
        }
        cJSON_Delete(j);
        /* Offsets of the retried items now point into `body` still (next is rebuilt from it each round). */
        free(cur.p);
        cur = next;
        live = again;
        if (!live) {
            rc = 0;
            goto out;
        }
        if (attempt >= ps->retries) {
            fprintf(stderr, "semsearch push: giving up: %zu document(s) still rejected with 429 after %d retries\n",
                    live, attempt);
            goto out;
        }
        if (!ps->quiet) fprintf(stderr, "semsearch push: %zu item(s) answered 429; resending them\n", live);
        backoff(ps, attempt++);
    }
out:
    free(resp.p);
    free(cur.p);
    return rc;
}

static uint64_t fnv1a(const char *s, uint64_t h) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int cmd_push(int argc, char **argv, const cli_globals *g) {
    const char *to = NULL, *index = NULL, *api_key = NULL, *state_path = NULL, *vector_field = "embedding",
               *text_field = NULL;
    int batch = 500, restart = 0, retries = 10, quiet = 0;
    double timeout = 120;
    const cli_opt opts[] = {
        {"to", 0, CLI_STRING, &to, "URL", "the cluster: http(s)://host:port (Elasticsearch, OpenSearch, semsearch serve)"},
        {"index", 0, CLI_STRING, &index, "NAME", "target index (default: the collection's name, lower-cased)"},
        {"batch", 0, CLI_INT, &batch, "N", "documents per _bulk request (default 500)", .lo = 1, .hi = 100000},
        {"api-key", 0, CLI_STRING, &api_key, "KEY", "send 'Authorization: ApiKey KEY' (the base64 form Elasticsearch shows)"},
        {"state", 0, CLI_STRING, &state_path, "FILE", "checkpoint file (default: COLLECTION/push-HASH.state)"},
        {"restart", 0, CLI_FLAG, &restart, NULL, "ignore the checkpoint: send every document again"},
        {"vector-field", 0, CLI_STRING, &vector_field, "NAME", "dense_vector field name (default embedding)"},
        {"text-field", 0, CLI_STRING, &text_field, "NAME", "also send the embedded text in this field (default: none; a template collection: embedded_text)"},
        {"retries", 0, CLI_INT, &retries, "N", "retries of a batch on 429 / 502-504 / connection errors (default 10)", .lo = 0, .hi = 1000},
        {"timeout", 0, CLI_FLOAT, &timeout, "S", "per-request timeout in seconds (default 120)", .flo = 0.1, .fhi = 86400},
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "no progress lines"},
        {0}};
    const cli_spec spec = {"push", "[options] COLLECTION --to URL",
                           "Create an index with a mapping derived from the collection and send its documents and\n"
                           "stored vectors to an Elasticsearch-compatible _bulk endpoint. Resumable: a rerun continues\n"
                           "after the last acknowledged batch.",
                           opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *name = pos[0];
    int rc = 1;
    if (!to || (strncmp(to, "http://", 7) && strncmp(to, "https://", 8))) {
        fprintf(stderr, "semsearch push: --to URL (http:// or https://) is required (see semsearch push --help)\n");
        free(pos);
        return 2;
    }
    char url[4096], idx[256], coll_dir[4096], state_buf[4200];
    snprintf(url, sizeof url, "%s", to);
    for (size_t l = strlen(url); l && url[l - 1] == '/';) url[--l] = '\0';
    if (!index) {
        size_t i;
        for (i = 0; name[i] && i + 1 < sizeof idx; i++) idx[i] = (char)tolower((unsigned char)name[i]);
        idx[i] = '\0';
        index = idx;
    }
    if (!*index || strpbrk(index, "/\\*?\"<>| ,#:") || index[0] == '_' || index[0] == '-' || index[0] == '+') {
        fprintf(stderr, "semsearch push: '%s' is not a valid Elasticsearch index name (--index NAME)\n", index);
        free(pos);
        return 2;
    }
    if (!store_cli_path(g, "push", name, coll_dir, sizeof coll_dir)) {
        free(pos);
        return 2;
    }
    ss_collection *c = store_cli_open(g, "push", name, 0, NULL);
    if (!c) {
        free(pos);
        return 1;
    }
    ss_collection_info info;
    ss_collection_info_get(c, &info);
    if (!text_field && info.template_text) text_field = "embedded_text";
    if (!state_path) {
        uint64_t h = fnv1a(index, fnv1a(" ", fnv1a(url, 1469598103934665603ULL)));
        snprintf(state_buf, sizeof state_buf, "%s/push-%016llx.state", coll_dir, (unsigned long long)h);
        state_path = state_buf;
    }
    push_state st = {0};
    int resumed = 0;
    if (!restart) {
        resumed = state_load(state_path, url, index, &st);
        if (resumed < 0) goto done;
    }
    pusher ps = {.url = url, .timeout_s = timeout, .retries = retries, .quiet = quiet};
    if (api_key) snprintf(ps.auth, sizeof ps.auth, "Authorization: ApiKey %s", api_key);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!(ps.curl = curl_easy_init())) {
        fprintf(stderr, "semsearch push: cannot initialise libcurl\n");
        goto done_curl;
    }
    buf resp = {0}, body = {0};
    pending *items = calloc((size_t)batch, sizeof *items);
    char errmsg[1024] = "", path[512];
    int unit = 1;
    /* Create the index (or find it there). */
    cJSON *mapping = derive_mapping(c, &info, vector_field, text_field, &unit);
    char *ms = cJSON_PrintUnformatted(mapping);
    cJSON_Delete(mapping);
    snprintf(path, sizeof path, "/%s", index);
    long code = 0;
    for (int attempt = 0;; attempt++) {
        code = http(&ps, "PUT", path, NULL, ms, ms ? strlen(ms) : 0, &resp, errmsg, sizeof errmsg);
        if (!retryable(code) || attempt >= retries) break;
        if (!quiet) {
            if (code) fprintf(stderr, "semsearch push: PUT %s: HTTP %ld; retry %d of %d\n", path, code, attempt + 1, retries);
            else fprintf(stderr, "semsearch push: %s; retry %d of %d\n", errmsg, attempt + 1, retries);
        }
        backoff(&ps, attempt);
    }
    cJSON_free(ms);
    if (code == 0) {
        fprintf(stderr, "semsearch push: %s\n", errmsg);
        goto done_bufs;
    }
    if (code >= 200 && code < 300) {
        if (!quiet) fprintf(stderr, "semsearch push: created index %s at %s\n", index, url);
    } else if (code == 400 && resp.p && strstr(resp.p, "resource_already_exists_exception")) {
        if (!quiet) fprintf(stderr, "semsearch push: index %s exists at %s; adding to it\n", index, url);
    } else {
        fprintf(stderr, "semsearch push: creating index %s answered HTTP %ld: %.500s\n", index, code, resp.p ? resp.p : "");
        goto done_bufs;
    }
    if (resumed && !quiet)
        fprintf(stderr, "semsearch push: resuming after rowid %lld (%lld documents acknowledged before)\n",
                (long long)st.last_rowid, st.acknowledged);
    ss_error err;
    ss_collection_iter *it = items ? ss_collection_iter_new(c, st.last_rowid, &err) : NULL;
    if (!it) {
        fprintf(stderr, "semsearch push: %s\n", items ? err.msg : "out of memory");
        goto done_bufs;
    }
    snprintf(path, sizeof path, "/%s/_bulk", index);
    double t0 = now_s(), last_report = t0;
    long long sent_now = 0, bad_now = 0;
    ss_doc_vec d;
    int more = 1, failed = 0;
    while (more) {
        size_t n = 0;
        int64_t last = st.last_rowid;
        body.n = 0;
        int r = 0;
        while (n < (size_t)batch && (r = ss_collection_iter_next(it, &d, &err)) == 1) {
            size_t off = body.n;
            if (add_doc(&body, index, &d, info.dim, vector_field, text_field) != 0 || !(items[n].id = strdup(d.id))) {
                fprintf(stderr, "semsearch push: out of memory\n");
                r = -1;
                break;
            }
            items[n].off = off;
            items[n].len = body.n - off;
            last = d.rowid;
            n++;
        }
        if (r < 0) {
            if (r < 0 && err.msg[0]) fprintf(stderr, "semsearch push: %s\n", err.msg);
            failed = 1;
        }
        if (r == 0) more = 0;
        if (n && !failed) {
            long long ok = 0, bad = 0;
            if (send_batch(&ps, path, &body, items, n, &ok, &bad) != 0) {
                failed = 1;
            } else {
                st.acknowledged += ok;
                st.failed += bad;
                bad_now += bad;
                st.last_rowid = last;
                sent_now += (long long)n;
                if (state_save(state_path, url, index, &st) != 0) {
                    fprintf(stderr, "semsearch push: cannot write the checkpoint %s: %s\n", state_path, strerror(errno));
                    failed = 1;
                }
            }
        }
        for (size_t i = 0; i < n; i++) free(items[i].id);
        if (failed) break;
        double t = now_s();
        if (!quiet && t - last_report > 2) {
            fprintf(stderr, "semsearch push: %lld documents sent (%.0f/s)\n", sent_now, sent_now / (t - t0));
            last_report = t;
        }
    }
    ss_collection_iter_free(it);
    if (failed) {
        fprintf(stderr,
                "semsearch push: stopped; %lld documents acknowledged so far (checkpoint %s, after rowid %lld): "
                "rerun the same command to continue\n",
                st.acknowledged, state_path, (long long)st.last_rowid);
        goto done_bufs;
    }
    snprintf(path, sizeof path, "/%s/_refresh", index);
    code = http(&ps, "POST", path, NULL, "", 0, &resp, errmsg, sizeof errmsg);
    if (code < 200 || code >= 300)
        fprintf(stderr, "semsearch push: warning: POST %s answered %ld %s\n", path, code, code ? "" : errmsg);
    double dt = now_s() - t0;
    printf("pushed %lld documents to %s/%s in %.1f s (%lld rejected; %lld acknowledged, %lld rejected in all runs)\n",
           sent_now, url, index, dt, bad_now, st.acknowledged, st.failed);
    rc = bad_now ? 1 : 0;
    if (bad_now) fprintf(stderr, "semsearch push: %lld document(s) were rejected (see above)\n", bad_now);
done_bufs:
    free(items);
    free(resp.p);
    free(body.p);
    curl_easy_cleanup(ps.curl);
done_curl:
    curl_global_cleanup();
done:
    ss_collection_close(c, NULL);
    free(pos);
    return rc;
}
