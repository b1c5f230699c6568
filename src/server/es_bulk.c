/* es_bulk.c — POST /_bulk and /{index}/_bulk (NDJSON).
 *
 * As in Elasticsearch (BulkRequestParser): a malformed action line, an
 * unknown action, a missing index or a body not ending in a newline fails
 * the whole request with 400 before anything is written; a source line that
 * does not parse or a document that the mapping refuses fails only its item.
 * Consecutive items on one index share one write lock and one SQLite
 * transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server/app.h"
#include "server/es_docs.h"

typedef struct bulk_item {
    es_op op;
    char index[256];
    char id[512];
    int has_id;
    int64_t if_seq_no, if_term; /* -1: unconditional */
    cJSON *src;         /* parsed source line (NULL: delete, or it failed to parse) */
    char parse_err[256];
} bulk_item;

static double now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static const char *op_name(es_op op) {
    static const char *n[] = {"index", "create", "update", "delete"};
    return n[op];
}

/* Next line [*pos, end); returns NULL at the end. */
static const char *next_line(const char *b, size_t len, size_t *pos, size_t *llen) {
    while (*pos < len) {
        size_t s = *pos, e = s;
        while (e < len && b[e] != '\n') e++;
        *pos = e < len ? e + 1 : e;
        size_t n = e - s;
        if (n && b[s + n - 1] == '\r') n--;
        size_t k = 0;
        while (k < n && (b[s + k] == ' ' || b[s + k] == '\t')) k++;
        if (k == n) continue; /* blank lines are skipped */
        *llen = n;
        return b + s;
    }
    return NULL;
}

static void free_items(bulk_item *it, size_t n) {
    for (size_t i = 0; i < n; i++) cJSON_Delete(it[i].src);
    free(it);
}

static int bulk(ss_http_req *r, ss_http_resp *resp) {
    double t0 = now_ms();
    if (!es_refresh_param_ok(r, resp)) return SS_HTTP_DONE;
    const char *path_index = ss_http_param(r, "index");
    size_t len;
    const char *b = ss_http_body(r, &len);
    if (len == 0) {
        es_error(resp, 400, "action_request_validation_exception", NULL, "Validation Failed: 1: no requests added;");
        return SS_HTTP_DONE;
    }
    if (b[len - 1] != '\n') {
        es_error(resp, 400, "illegal_argument_exception", NULL, "The bulk request must be terminated by a newline [\\n]");
        return SS_HTTP_DONE;
    }
    size_t cap = 256, n = 0, pos = 0, ll, line = 0;
    bulk_item *it = calloc(cap, sizeof *it);
    if (!it) return ss_http_es_error(resp, 500, "exception", "out of memory"), SS_HTTP_DONE;
    const char *l;
    while ((l = next_line(b, len, &pos, &ll))) {
        line++;
        cJSON *a = cJSON_ParseWithLength(l, ll);
        const cJSON *op = a && cJSON_IsObject(a) ? a->child : NULL;
        if (!op || op->next || !cJSON_IsObject(op)) {
            es_error(resp, 400, a ? "illegal_argument_exception" : "x_content_parse_exception", NULL,
                     "Malformed action/metadata line [%zu], expected START_OBJECT or a single action", line);
            cJSON_Delete(a);
            free_items(it, n);
            return SS_HTTP_DONE;
        }
        if (n == cap) {
            bulk_item *m = realloc(it, (cap *= 2) * sizeof *m);
            if (!m) {
                cJSON_Delete(a);
                free_items(it, n);
                return ss_http_es_error(resp, 500, "exception", "out of memory"), SS_HTTP_DONE;
            }
            it = m;
        }
        bulk_item *e = &it[n];
        memset(e, 0, sizeof *e);
        if (!strcmp(op->string, "index")) e->op = ES_OP_INDEX;
        else if (!strcmp(op->string, "create")) e->op = ES_OP_CREATE;
        else if (!strcmp(op->string, "update")) e->op = ES_OP_UPDATE;
        else if (!strcmp(op->string, "delete")) e->op = ES_OP_DELETE;
        else {
            es_error(resp, 400, "illegal_argument_exception", NULL,
                     "Malformed action/metadata line [%zu], expected field [create], [delete], [index] or [update] but found [%s]",
                     line, op->string);
            cJSON_Delete(a);
            free_items(it, n);
            return SS_HTTP_DONE;
        }
        const char *ix = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "_index"));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(op, "_id");
        if (!ix) ix = path_index;
        if (!ix) {
            es_error(resp, 400, "action_request_validation_exception", NULL, "Validation Failed: 1: index is missing;");
            cJSON_Delete(a);
            free_items(it, n);
            return SS_HTTP_DONE;
        }
        snprintf(e->index, sizeof e->index, "%s", ix);
        if (cJSON_IsString(id)) snprintf(e->id, sizeof e->id, "%s", id->valuestring), e->has_id = 1;
        else if (cJSON_IsNumber(id)) snprintf(e->id, sizeof e->id, "%lld", (long long)id->valuedouble), e->has_id = 1;
        const cJSON *isq = cJSON_GetObjectItemCaseSensitive(op, "if_seq_no"), *ipt = cJSON_GetObjectItemCaseSensitive(op, "if_primary_term");
        e->if_seq_no = cJSON_IsNumber(isq) ? (int64_t)isq->valuedouble : -1;
        e->if_term = cJSON_IsNumber(ipt) ? (int64_t)ipt->valuedouble : -1;
        cJSON_Delete(a);
        if ((e->op == ES_OP_UPDATE || e->op == ES_OP_DELETE) && !e->has_id) {
            es_error(resp, 400, "action_request_validation_exception", NULL, "Validation Failed: 1: id is missing;");
            free_items(it, n);
            return SS_HTTP_DONE;
        }
        n++;
        if (e->op == ES_OP_DELETE) continue;
        size_t sl;
        const char *s = next_line(b, len, &pos, &sl);
        line++;
        if (!s) {
            es_error(resp, 400, "illegal_argument_exception", NULL, "Validation Failed: the %s action on line [%zu] has no source line",
                     op_name(e->op), line - 1);
            free_items(it, n);
            return SS_HTTP_DONE;
        }
        const char *end = NULL;
        e->src = cJSON_ParseWithLengthOpts(s, sl, &end, 0);
        if (!e->src || !cJSON_IsObject(e->src))
            snprintf(e->parse_err, sizeof e->parse_err, "[%zu:%zu] failed to parse: source line is not a JSON object", line,
                     end ? (size_t)(end - s) + 1 : 1);
        if (e->src && !cJSON_IsObject(e->src)) cJSON_Delete(e->src), e->src = NULL;
    }
    es_registry *g = es_reg(r);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "took", 0);
    cJSON *errors = cJSON_AddFalseToObject(out, "errors");
    cJSON *items = cJSON_AddArrayToObject(out, "items");
    int any_err = 0, commit_failed = 0;
    es_index *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        bulk_item *e = &it[i];
        cJSON *item = NULL;
        int st;
        if (!cur || strcmp(cur->name, e->index)) {
            if (cur) {
                commit_failed |= es_commit(cur) != 0;
                pthread_rwlock_unlock(&cur->lock);
                es_release(g);
            }
            ss_http_resp tmp = {0};
            cur = es_open_index(g, e->index, e->op != ES_OP_DELETE && e->op != ES_OP_UPDATE, &tmp);
            free(tmp.body);
            for (int h = 0; h < tmp.n_headers; h++) free(tmp.header_names[h]), free(tmp.header_values[h]);
            if (cur) {
                pthread_rwlock_wrlock(&cur->lock);
                es_begin(cur);
            }
        }
        if (!e->has_id) es_gen_id(e->id);
        if (!cur) {
            st = 404;
            item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "_index", e->index);
            cJSON_AddStringToObject(item, "_id", e->id);
            cJSON *er = cJSON_AddObjectToObject(item, "error");
            cJSON_AddStringToObject(er, "type", "index_not_found_exception");
            char reason[400];
            snprintf(reason, sizeof reason, "no such index [%s]", e->index);
            cJSON_AddStringToObject(er, "reason", reason);
            cJSON_AddStringToObject(er, "index", e->index);
        } else if (e->op != ES_OP_DELETE && !e->src) {
            st = 400;
            item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "_index", e->index);
            cJSON_AddStringToObject(item, "_id", e->id);
            cJSON *er = cJSON_AddObjectToObject(item, "error");
            cJSON_AddStringToObject(er, "type", "document_parsing_exception");
            cJSON_AddStringToObject(er, "reason", e->parse_err);
        } else {
            cJSON *body = e->src;
            if (e->op != ES_OP_UPDATE) e->src = NULL; /* es_apply takes it */
            st = es_apply_if(cur, e->op, e->id, body, e->if_seq_no, e->if_term, &item);
        }
        cJSON_AddNumberToObject(item, "status", st);
        if (cJSON_GetObjectItemCaseSensitive(item, "error")) any_err = 1;
        cJSON *w = cJSON_CreateObject();
        cJSON_AddItemToObject(w, op_name(e->op), item);
        cJSON_AddItemToArray(items, w);
    }
    if (cur) {
        commit_failed |= es_commit(cur) != 0;
        pthread_rwlock_unlock(&cur->lock);
        es_release(g);
    }
    free_items(it, n);
    if (commit_failed) { /* never acknowledge items that are not stored */
        cJSON_Delete(out);
        es_error(resp, 500, "exception", NULL, "the bulk request could not be committed (see the server log)");
        return SS_HTTP_DONE;
    }
    if (any_err) cJSON_ReplaceItemInObject(out, "errors", cJSON_CreateTrue());
    (void)errors;
    cJSON_ReplaceItemInObject(out, "took", cJSON_CreateNumber((double)(long long)(now_ms() - t0)));
    ss_http_json(resp, 200, out);
    return SS_HTTP_DONE;
}

int ss_es_bulk_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "POST", "/_bulk", bulk);
    rc |= ss_router_add(rt, "PUT", "/_bulk", bulk);
    rc |= ss_router_add(rt, "POST", "/{index}/_bulk", bulk);
    rc |= ss_router_add(rt, "PUT", "/{index}/_bulk", bulk);
    return rc;
}
