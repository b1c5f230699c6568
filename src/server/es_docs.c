/* es_docs.c — single-document APIs: _doc (index / get / delete), _create,
 * _update (partial merge, upsert, doc_as_upsert, noop detection), _source;
 * es_apply is the one write path that _bulk shares. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/app.h"
#include "server/es_docs.h"

es_registry *es_reg(ss_http_req *r) {
    ss_server *s = ss_http_app(r);
    es_embedder e = {es_embed_text, s};
    if (s->model) es_set_embedder(s->es, &e); /* semantic_text embeds with the server's model */
    return s->es;
}

es_index *es_open_index(es_registry *g, const char *name, int create, ss_http_resp *resp) {
    es_acquire(g, 0);
    es_index *x = es_find(g, name);
    if (x || !create) {
        if (!x) {
            es_release(g);
            es_not_found(resp, name);
        }
        return x;
    }
    /* auto-create on first write (action.auto_create_index defaults to true) */
    es_release(g);
    es_acquire(g, 1);
    x = es_find(g, name);
    if (!x) x = es_create(g, name, NULL, resp);
    es_release(g);
    if (!x) return NULL;
    es_acquire(g, 0);
    if (!(x = es_find(g, name))) {
        es_release(g);
        es_not_found(resp, name);
    }
    return x;
}

void es_gen_id(char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[20] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, b, sizeof b) != (ssize_t)sizeof b) b[0] ^= 1;
        close(fd);
    }
    for (int i = 0; i < 20; i++) out[i] = tbl[b[i] & 63];
    out[20] = '\0';
}

static cJSON *item_base(const es_index *x, const char *id) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "_index", x->name);
    cJSON_AddStringToObject(o, "_id", id);
    return o;
}

static cJSON *item_error(const es_index *x, const char *id, const char *type, const char *reason) {
    cJSON *o = item_base(x, id), *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "index_uuid", x->uuid);
    cJSON_AddStringToObject(e, "shard", "0");
    cJSON_AddStringToObject(e, "index", x->name);
    cJSON_AddItemToObject(o, "error", e);
    return o;
}

static cJSON *item_ok(const es_index *x, const char *id, int64_t version, const char *result, int64_t seq, int noop) {
    cJSON *o = item_base(x, id);
    cJSON_AddNumberToObject(o, "_version", (double)version);
    cJSON_AddStringToObject(o, "result", result);
    cJSON *s = es_shards_write();
    if (noop) {
        cJSON_ReplaceItemInObject(s, "total", cJSON_CreateNumber(0));
        cJSON_ReplaceItemInObject(s, "successful", cJSON_CreateNumber(0));
    }
    cJSON_AddItemToObject(o, "_shards", s);
    cJSON_AddNumberToObject(o, "_seq_no", (double)seq);
    cJSON_AddNumberToObject(o, "_primary_term", 1);
    return o;
}

/* Merge src into dst recursively (objects merge, everything else replaces). */
static void merge(cJSON *dst, const cJSON *src) {
    const cJSON *v;
    cJSON_ArrayForEach(v, src) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, v->string);
        if (d && cJSON_IsObject(d) && cJSON_IsObject(v)) merge(d, v);
        else if (d) cJSON_ReplaceItemInObjectCaseSensitive(dst, v->string, cJSON_Duplicate(v, 1));
        else cJSON_AddItemToObject(dst, v->string, cJSON_Duplicate(v, 1));
    }
}

int es_apply_if(es_index *x, es_op op, const char *id, cJSON *body, int64_t if_seq_no, int64_t if_term, cJSON **out) {
    if (if_seq_no >= 0 || if_term >= 0) {
        es_doc *cur = es_get(x, id);
        if (!cur || cur->seq_no != if_seq_no || if_term != 1) {
            int64_t cur_seq = cur ? cur->seq_no : -1;
            int had = cur != NULL;
            es_doc_free(cur);
            char why[600];
            if (had)
                snprintf(why, sizeof why, "[%s]: version conflict, required seqNo [%lld], primary term [%lld]. current document has seqNo [%lld] and primary term [1]",
                         id, (long long)if_seq_no, (long long)if_term, (long long)cur_seq);
            else
                snprintf(why, sizeof why, "[%s]: version conflict, required seqNo [%lld], primary term [%lld]. but no document was found",
                         id, (long long)if_seq_no, (long long)if_term);
            if (op != ES_OP_UPDATE) cJSON_Delete(body);
            *out = item_error(x, id, "version_conflict_engine_exception", why);
            return 409;
        }
        es_doc_free(cur);
    }
    return es_apply(x, op, id, body, out);
}

int es_apply(es_index *x, es_op op, const char *id, cJSON *body, cJSON **out) {
    char et[64], why[1024];
    int64_t dv = 0, ds = 0;
    if (op == ES_OP_DELETE) {
        int64_t ver = 1, seq = 0;
        if (es_remove(x, id, &ver, &seq)) {
            *out = item_ok(x, id, ver, "deleted", seq, 0);
            return 200;
        }
        *out = item_ok(x, id, 1, "not_found", x->seq++, 0);
        return 404;
    }
    if (op == ES_OP_UPDATE) {
        const cJSON *doc = cJSON_GetObjectItemCaseSensitive(body, "doc");
        const cJSON *ups = cJSON_GetObjectItemCaseSensitive(body, "upsert");
        int as_upsert = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "doc_as_upsert"));
        const cJSON *dn = cJSON_GetObjectItemCaseSensitive(body, "detect_noop");
        int detect = !dn || cJSON_IsTrue(dn);
        if (cJSON_GetObjectItemCaseSensitive(body, "script")) {
            *out = item_error(x, id, "illegal_argument_exception", "scripted updates are not supported by semsearch");
            return 400;
        }
        if (!doc && !ups) {
            *out = item_error(x, id, "action_request_validation_exception",
                              "Validation Failed: 1: script or doc is missing;");
            return 400;
        }
        es_doc *cur = es_get(x, id);
        if (!cur) {
            const cJSON *init = ups ? ups : as_upsert ? doc : NULL;
            if (!init) {
                snprintf(why, sizeof why, "[%s]: document missing", id);
                *out = item_error(x, id, "document_missing_exception", why);
                return 404;
            }
            int st = es_put(x, id, cJSON_Duplicate(init, 1), 0, &dv, &ds, et, why, sizeof why);
            if (st >= 300) return *out = item_error(x, id, et, why), st;
            *out = item_ok(x, id, dv, "created", ds, 0);
            return 201;
        }
        cJSON *merged = cJSON_Duplicate(cur->src, 1);
        if (doc) merge(merged, doc);
        if (detect && cJSON_Compare(merged, cur->src, 1)) {
            cJSON_Delete(merged);
            *out = item_ok(x, id, cur->version, "noop", cur->seq_no, 1);
            es_doc_free(cur);
            return 200;
        }
        es_doc_free(cur);
        int st = es_put(x, id, merged, 0, &dv, &ds, et, why, sizeof why);
        if (st >= 300) return *out = item_error(x, id, et, why), st;
        *out = item_ok(x, id, dv, "updated", ds, 0);
        return 200;
    }
    int st = es_put(x, id, body, op == ES_OP_CREATE, &dv, &ds, et, why, sizeof why);
    if (st >= 300) return *out = item_error(x, id, et, why), st;
    *out = item_ok(x, id, dv, st == 201 ? "created" : "updated", ds, 0);
    return st;
}

/* A failed item as a whole-request error. */
static void item_to_error(ss_http_resp *resp, int status, cJSON *item, const char *index) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(item, "error");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "reason"));
    es_error(resp, status, type ? type : "exception", index, "%s", reason ? reason : "");
}

static int write_doc(ss_http_req *r, ss_http_resp *resp, es_op op, const char *id) {
    if (!es_refresh_param_ok(r, resp)) return SS_HTTP_DONE;
    const char *name = ss_http_param(r, "index");
    const char *opt = ss_http_query(r, "op_type");
    if (opt && !strcmp(opt, "create") && op == ES_OP_INDEX) op = ES_OP_CREATE;
    cJSON *body = ss_http_json_body(r, resp);
    if (!body) return SS_HTTP_DONE;
    if (op != ES_OP_UPDATE && !cJSON_IsObject(body)) {
        cJSON_Delete(body);
        es_error(resp, 400, "document_parsing_exception", NULL, "[1:1] failed to parse: the document is not a JSON object");
        return SS_HTTP_DONE;
    }
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 1, resp);
    if (!x) {
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    char gen[32];
    if (!id) {
        es_gen_id(gen);
        id = gen;
    }
    pthread_rwlock_wrlock(&x->lock);
    es_begin(x);
    cJSON *item = NULL;
    const char *isq = ss_http_query(r, "if_seq_no"), *ipt = ss_http_query(r, "if_primary_term");
    int st = es_apply_if(x, op, id, body, isq ? atoll(isq) : -1, ipt ? atoll(ipt) : -1, &item);
    int committed = es_commit(x) == 0;
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    if (op == ES_OP_UPDATE) cJSON_Delete(body); /* index/create: es_put took it */
    if (!committed) { /* never acknowledge a write that is not stored */
        cJSON_Delete(item);
        es_error(resp, 500, "exception", name, "the write to [%s] could not be committed (see the server log)", name);
        return SS_HTTP_DONE;
    }
    if (cJSON_GetObjectItemCaseSensitive(item, "error")) {
        item_to_error(resp, st, item, name);
        cJSON_Delete(item);
    } else
        ss_http_json(resp, st, item);
    return SS_HTTP_DONE;
}

static int put_doc(ss_http_req *r, ss_http_resp *resp) { return write_doc(r, resp, ES_OP_INDEX, ss_http_param(r, "id")); }
static int post_doc(ss_http_req *r, ss_http_resp *resp) { return write_doc(r, resp, ES_OP_INDEX, NULL); }
static int create_doc(ss_http_req *r, ss_http_resp *resp) { return write_doc(r, resp, ES_OP_CREATE, ss_http_param(r, "id")); }
static int update_doc(ss_http_req *r, ss_http_resp *resp) { return write_doc(r, resp, ES_OP_UPDATE, ss_http_param(r, "id")); }

static int delete_doc(ss_http_req *r, ss_http_resp *resp) {
    if (!es_refresh_param_ok(r, resp)) return SS_HTTP_DONE;
    const char *name = ss_http_param(r, "index"), *id = ss_http_param(r, "id");
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 0, resp);
    if (!x) return SS_HTTP_DONE;
    pthread_rwlock_wrlock(&x->lock);
    es_begin(x);
    cJSON *item = NULL;
    const char *isq = ss_http_query(r, "if_seq_no"), *ipt = ss_http_query(r, "if_primary_term");
    int st = es_apply_if(x, ES_OP_DELETE, id, NULL, isq ? atoll(isq) : -1, ipt ? atoll(ipt) : -1, &item);
    int committed = es_commit(x) == 0;
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    if (!committed) {
        cJSON_Delete(item);
        es_error(resp, 500, "exception", name, "the delete in [%s] could not be committed (see the server log)", name);
        return SS_HTTP_DONE;
    }
    ss_http_json(resp, st, item);
    return SS_HTTP_DONE;
}

cJSON *es_get_json(es_index *x, const char *id, const cJSON *source_filter) {
    es_doc *d = es_get(x, id);
    cJSON *o = item_base(x, id);
    if (!d) {
        cJSON_AddBoolToObject(o, "found", 0);
        return o;
    }
    cJSON_AddNumberToObject(o, "_version", (double)d->version);
    cJSON_AddNumberToObject(o, "_seq_no", (double)d->seq_no);
    cJSON_AddNumberToObject(o, "_primary_term", 1);
    cJSON_AddBoolToObject(o, "found", 1);
    cJSON *src = es_source_filter(d->src, source_filter);
    if (src) cJSON_AddItemToObject(o, "_source", src);
    es_doc_free(d);
    return o;
}

/* ?_source=false | a,b and ?_source_includes= / _source_excludes= as a filter object. */
cJSON *es_source_param(ss_http_req *r) {
    const char *s = ss_http_query(r, "_source"), *inc = ss_http_query(r, "_source_includes"),
               *exc = ss_http_query(r, "_source_excludes");
    if (!s && !inc && !exc) return NULL;
    if (s && !strcmp(s, "false")) return cJSON_CreateFalse();
    if (s && (!strcmp(s, "true") || !*s) && !inc && !exc) return NULL;
    cJSON *f = cJSON_CreateObject();
    const char *ks[2] = {"includes", "excludes"}, *vs[2] = {inc ? inc : (s && strcmp(s, "true") ? s : NULL), exc};
    for (int k = 0; k < 2; k++) {
        if (!vs[k]) continue;
        cJSON *a = cJSON_AddArrayToObject(f, ks[k]);
        char *list = strdup(vs[k]), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) cJSON_AddItemToArray(a, cJSON_CreateString(t));
        free(list);
    }
    return f;
}

static int get_doc(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index"), *id = ss_http_param(r, "id");
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 0, resp);
    if (!x) return SS_HTTP_DONE;
    cJSON *filter = es_source_param(r);
    pthread_rwlock_rdlock(&x->lock);
    cJSON *o = es_get_json(x, id, filter);
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    cJSON_Delete(filter);
    ss_http_json(resp, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "found")) ? 200 : 404, o);
    return SS_HTTP_DONE;
}

static int get_source(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index"), *id = ss_http_param(r, "id");
    es_registry *g = es_reg(r);
    es_index *x = es_open_index(g, name, 0, resp);
    if (!x) return SS_HTTP_DONE;
    pthread_rwlock_rdlock(&x->lock);
    es_doc *d = es_get(x, id);
    cJSON *src = d ? cJSON_Duplicate(d->src, 1) : NULL;
    es_doc_free(d);
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    if (!src) es_error(resp, 404, "resource_not_found_exception", NULL, "Document not found [%s]/[%s]", name, id);
    else ss_http_json(resp, 200, src);
    return SS_HTTP_DONE;
}

int ss_es_doc_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "PUT", "/{index}/_doc/{id}", put_doc);
    rc |= ss_router_add(rt, "POST", "/{index}/_doc/{id}", put_doc);
    rc |= ss_router_add(rt, "POST", "/{index}/_doc", post_doc);
    rc |= ss_router_add(rt, "PUT", "/{index}/_create/{id}", create_doc);
    rc |= ss_router_add(rt, "POST", "/{index}/_create/{id}", create_doc);
    rc |= ss_router_add(rt, "POST", "/{index}/_update/{id}", update_doc);
    rc |= ss_router_add(rt, "GET", "/{index}/_doc/{id}", get_doc);
    rc |= ss_router_add(rt, "DELETE", "/{index}/_doc/{id}", delete_doc);
    rc |= ss_router_add(rt, "GET", "/{index}/_source/{id}", get_source);
    return rc;
}
