/* es_indices.c — index-level Elasticsearch APIs: PUT|GET|HEAD|DELETE
 * /{index}, GET|PUT /{index}/_mapping, GET /_cat/indices, _refresh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/es_store.h"

static es_registry *reg(ss_http_req *r) { return ((ss_server *)ss_http_app(r))->es; }

static int create_index(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    size_t len;
    const char *b = ss_http_body(r, &len);
    cJSON *body = NULL;
    int blank = 1;
    for (size_t i = 0; i < len; i++)
        if (b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t') blank = 0;
    if (!blank && !(body = ss_http_json_body(r, resp))) return SS_HTTP_DONE;
    const cJSON *k;
    cJSON_ArrayForEach(k, body) if (strcmp(k->string, "settings") && strcmp(k->string, "mappings") &&
                                    strcmp(k->string, "aliases")) {
        es_error(resp, 400, "parse_exception", NULL, "unknown key [%s] for create index", k->string);
        cJSON_Delete(body);
        return SS_HTTP_DONE;
    }
    es_registry *g = reg(r);
    es_acquire(g, 1);
    es_index *x = es_create(g, name, body, resp);
    es_release(g);
    cJSON_Delete(body);
    if (!x) return SS_HTTP_DONE;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "acknowledged", 1);
    cJSON_AddBoolToObject(o, "shards_acknowledged", 1);
    cJSON_AddStringToObject(o, "index", name);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

static cJSON *settings_of(const es_index *x) {
    cJSON *s = cJSON_Duplicate(x->settings, 1);
    cJSON *i = cJSON_GetObjectItemCaseSensitive(s, "index");
    if (!i) i = cJSON_AddObjectToObject(s, "index");
    char num[32];
    const char *defs[][2] = {{"number_of_shards", "1"}, {"number_of_replicas", "1"}};
    for (int k = 0; k < 2; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(i, defs[k][0]);
        if (!v) cJSON_AddStringToObject(i, defs[k][0], defs[k][1]);
        else if (cJSON_IsNumber(v)) { /* Elasticsearch returns settings as strings */
            snprintf(num, sizeof num, "%d", v->valueint);
            cJSON_ReplaceItemInObject(i, defs[k][0], cJSON_CreateString(num));
        }
    }
    snprintf(num, sizeof num, "%lld", (long long)x->created_ms);
    cJSON_AddStringToObject(i, "creation_date", num);
    cJSON_AddStringToObject(i, "uuid", x->uuid);
    cJSON_AddStringToObject(i, "provided_name", x->name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(i, "version"), "created", "8521000");
    return s;
}

static int get_index(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    es_registry *g = reg(r);
    es_acquire(g, 0);
    cJSON *o = cJSON_CreateObject();
    int found = 0;
    /* "a,b" and "*" as Elasticsearch's multi-target syntax */
    char *list = strdup(name), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        for (size_t i = 0; i < es_count_indices(g); i++) {
            es_index *x = es_index_at(g, i);
            if (strcmp(t, "*") && strcmp(t, "_all") && strcmp(t, x->name)) continue;
            found = 1;
            pthread_rwlock_rdlock(&x->lock);
            cJSON *e = cJSON_AddObjectToObject(o, x->name);
            cJSON_AddObjectToObject(e, "aliases");
            cJSON_AddItemToObject(e, "mappings", cJSON_Duplicate(x->mappings, 1));
            cJSON_AddItemToObject(e, "settings", settings_of(x));
            pthread_rwlock_unlock(&x->lock);
        }
        if (!found && !strchr(t, '*')) {
            es_release(g);
            es_not_found(resp, t);
            free(list);
            cJSON_Delete(o);
            return SS_HTTP_DONE;
        }
    }
    es_release(g);
    free(list);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

static int delete_index(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    es_registry *g = reg(r);
    es_acquire(g, 1);
    int ok = es_delete_index(g, name);
    es_release(g);
    if (!ok) {
        es_not_found(resp, name);
        return SS_HTTP_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "acknowledged", 1);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

static int get_mapping(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    es_registry *g = reg(r);
    es_acquire(g, 0);
    es_index *x = es_find(g, name);
    if (!x) {
        es_release(g);
        es_not_found(resp, name);
        return SS_HTTP_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    pthread_rwlock_rdlock(&x->lock);
    cJSON_AddItemToObject(cJSON_AddObjectToObject(o, x->name), "mappings", cJSON_Duplicate(x->mappings, 1));
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

/* PUT /{index}/_mapping: new fields only (changing a type is refused, as in Elasticsearch). */
static int put_mapping(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    cJSON *body = ss_http_json_body(r, resp);
    if (!body) return SS_HTTP_DONE;
    es_registry *g = reg(r);
    es_acquire(g, 0);
    es_index *x = es_find(g, name);
    if (!x) {
        es_release(g);
        cJSON_Delete(body);
        es_not_found(resp, name);
        return SS_HTTP_DONE;
    }
    pthread_rwlock_wrlock(&x->lock);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(x->mappings, "properties");
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(body, "properties"), *p;
    int bad = 0;
    cJSON_ArrayForEach(p, np) {
        const es_field *f = es_field_get(x, p->string);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(props, p->string);
        const cJSON *ot = old ? cJSON_GetObjectItemCaseSensitive(old, "type") : NULL;
        if (f && cJSON_IsString(t) && cJSON_IsString(ot) && strcmp(t->valuestring, ot->valuestring)) {
            es_error(resp, 400, "illegal_argument_exception", NULL,
                     "mapper [%s] cannot be changed from type [%s] to [%s]", p->string, ot->valuestring, t->valuestring);
            bad = 1;
            break;
        }
    }
    if (!bad) {
        /* Re-create the index's field table from the merged mapping through a scratch index. */
        cJSON *merged = cJSON_Duplicate(x->mappings, 1);
        cJSON *mp = cJSON_GetObjectItemCaseSensitive(merged, "properties");
        cJSON_ArrayForEach(p, np) if (!cJSON_GetObjectItemCaseSensitive(mp, p->string))
            cJSON_AddItemToObject(mp, p->string, cJSON_Duplicate(p, 1));
        char why[600];
        if (es_map_props(x, np, why, sizeof why) != 0) {
            cJSON_Delete(merged);
            es_error(resp, 400, "mapper_parsing_exception", NULL, "Failed to parse mapping: %s", why);
            pthread_rwlock_unlock(&x->lock);
            es_release(g);
            cJSON_Delete(body);
            return SS_HTTP_DONE;
        }
        cJSON_Delete(x->mappings);
        x->mappings = merged;
        x->mapping_dirty = 1;
        es_begin(x);
        es_commit(x);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "acknowledged", 1);
        ss_http_json(resp, 200, o);
    }
    pthread_rwlock_unlock(&x->lock);
    es_release(g);
    cJSON_Delete(body);
    return SS_HTTP_DONE;
}

static int cat_indices(ss_http_req *r, ss_http_resp *resp) {
    es_registry *g = reg(r);
    const char *fmt = ss_http_query(r, "format");
    int json = fmt && !strcmp(fmt, "json");
    int v = ss_http_query(r, "v") != NULL;
    cJSON *arr = cJSON_CreateArray();
    size_t cap = 4096, len = 0;
    char *txt = malloc(cap);
    if (!txt) return ss_http_es_error(resp, 500, "exception", "out of memory"), SS_HTTP_DONE;
    txt[0] = '\0';
    if (v) len += (size_t)snprintf(txt, cap, "health status index uuid pri rep docs.count docs.deleted store.size pri.store.size\n");
    es_acquire(g, 0);
    for (size_t i = 0; i < es_count_indices(g); i++) {
        es_index *x = es_index_at(g, i);
        pthread_rwlock_rdlock(&x->lock);
        char cnt[32];
        snprintf(cnt, sizeof cnt, "%zu", es_doc_count(x));
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "health", "yellow");
            cJSON_AddStringToObject(o, "status", "open");
            cJSON_AddStringToObject(o, "index", x->name);
            cJSON_AddStringToObject(o, "uuid", x->uuid);
            cJSON_AddStringToObject(o, "pri", "1");
            cJSON_AddStringToObject(o, "rep", "1");
            cJSON_AddStringToObject(o, "docs.count", cnt);
            cJSON_AddStringToObject(o, "docs.deleted", "0");
            cJSON_AddStringToObject(o, "store.size", "0b");
            cJSON_AddStringToObject(o, "pri.store.size", "0b");
            cJSON_AddItemToArray(arr, o);
        } else {
            if (len + 600 > cap) {
                char *n = realloc(txt, cap *= 2);
                if (n) txt = n;
            }
            len += (size_t)snprintf(txt + len, cap - len, "yellow open %s %s 1 1 %s 0 0b 0b\n", x->name, x->uuid, cnt);
        }
        pthread_rwlock_unlock(&x->lock);
    }
    es_release(g);
    if (json) {
        free(txt);
        ss_http_json(resp, 200, arr);
    } else {
        cJSON_Delete(arr);
        ss_http_take(resp, 200, "text/plain; charset=UTF-8", txt, len);
    }
    return SS_HTTP_DONE;
}

static int refresh(ss_http_req *r, ss_http_resp *resp) {
    const char *name = ss_http_param(r, "index");
    if (name) {
        es_registry *g = reg(r);
        es_acquire(g, 0);
        es_index *x = es_find(g, name);
        es_release(g);
        if (!x) return es_not_found(resp, name), SS_HTTP_DONE;
    }
    /* every write is visible at once: nothing to refresh */
    cJSON *o = cJSON_CreateObject();
    cJSON *s = cJSON_AddObjectToObject(o, "_shards");
    cJSON_AddNumberToObject(s, "total", 2);
    cJSON_AddNumberToObject(s, "successful", 1);
    cJSON_AddNumberToObject(s, "failed", 0);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

int ss_es_index_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "PUT", "/{index}", create_index);
    rc |= ss_router_add(rt, "GET", "/{index}", get_index);
    rc |= ss_router_add(rt, "DELETE", "/{index}", delete_index);
    rc |= ss_router_add(rt, "GET", "/{index}/_mapping", get_mapping);
    rc |= ss_router_add(rt, "PUT", "/{index}/_mapping", put_mapping);
    rc |= ss_router_add(rt, "GET", "/_cat/indices", cat_indices);
    rc |= ss_router_add(rt, "POST", "/{index}/_refresh", refresh);
    rc |= ss_router_add(rt, "GET", "/{index}/_refresh", refresh);
    rc |= ss_router_add(rt, "POST", "/_refresh", refresh);
    return rc;
}

int ss_es_routes(ss_router *rt) {
    return ss_es_index_routes(rt) | ss_es_doc_routes(rt) | ss_es_bulk_routes(rt) | ss_es_search_routes(rt);
}
