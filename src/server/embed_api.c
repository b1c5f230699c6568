/* embed_api.c — embedding endpoints over the shared model and batcher:
 * text-embeddings-inference's POST /embed (and POST /, where TEI also answers,
 * and where huggingface_hub's InferenceClient(base_url).feature_extraction
 * posts), POST /tokenize, GET /info, GET /health; OpenAI's POST
 * /v1/embeddings; Prometheus GET /metrics.
 *
 * An embedding request is validated and tokenized (for the token budget and
 * usage) on the HTTP thread, queued on the batcher with its connection
 * suspended, and answered on an HTTP thread once its vectors are done. The
 * vectors equal ss_encode's (and so `semsearch embed`'s) for the same
 * options: the batcher returns raw pooled vectors and ss_batcher_finish_vector
 * repeats ss_encode's Normalize / truncate / normalize steps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"

typedef enum { API_TEI, API_OPENAI } api_kind;

typedef struct embed_call {
    ss_server *s;
    ss_http_req *r;
    api_kind kind;
    cJSON *root;
    const char **texts;
    int *tokens;
    size_t n;
    long total_tokens;
    float *raw;
    ss_encode_options eo;
    int base64;
    int rejected; /* the batcher refused the job: answer 429 */
    int done;     /* release/acquire: the batcher's writes (vectors, status) happen before finish() reads them */
    char *model;
    ss_embed_job job;
} embed_call;

static void call_free(embed_call *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    free(c->texts);
    free(c->tokens);
    free(c->raw);
    free(c->model);
    free(c);
}

/* ---- error shapes ------------------------------------------------------------ */

/* TEI: {"error": "...", "error_type": "validation"} with TEI's status mapping
 * (validation 413, tokenizer 422, overloaded 429, backend 424, empty 400). */
static void tei_error(ss_http_resp *resp, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void tei_error(ss_http_resp *resp, int status, const char *type, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddStringToObject(o, "error_type", type);
    ss_http_json(resp, status, o);
    resp->content_type = "application/json";
}

/* OpenAI: {"error": {"message", "type", "param", "code"}}. */
static void openai_error(ss_http_resp *resp, int status, const char *type, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void openai_error(ss_http_resp *resp, int status, const char *type, const char *param, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    if (param) cJSON_AddStringToObject(e, "param", param);
    else cJSON_AddNullToObject(e, "param");
    cJSON_AddNullToObject(e, "code");
    ss_http_json(resp, status, o);
    resp->content_type = "application/json";
}

/* One error call for both APIs: TEI's type and status, or OpenAI's 400 family. */
static int bad(embed_call *c, ss_http_resp *resp, int tei_status, const char *tei_type, const char *param,
               const char *msg) {
    if (c->kind == API_TEI) tei_error(resp, tei_status, tei_type, "%s", msg);
    else
        openai_error(resp, tei_status == 429 || tei_status == 503 ? tei_status : tei_status == 424 ? 500 : 400,
                     tei_status == 429 ? "rate_limit_exceeded" : "invalid_request_error", param, "%s", msg);
    call_free(c);
    return SS_HTTP_DONE;
}

/* ---- a growing text buffer for the (large) vector responses ---------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t more) {
    if (b->oom || b->len + more + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + more + 1) nc *= 2;
    char *ns = realloc(b->s, nc);
    if (!ns) {
        b->oom = 1;
        return;
    }
    b->s = ns;
    b->cap = nc;
}

static void sb_put(sbuf *b, const char *s) {
    size_t n = strlen(s);
    sb_reserve(b, n);
    if (b->oom) return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* %.9g: the shortest form that round-trips every float32 (as `semsearch embed` prints). */
static void sb_floats(sbuf *b, const float *v, int d) {
    sb_reserve(b, (size_t)d * 17 + 2);
    if (b->oom) return;
    b->s[b->len++] = '[';
    for (int i = 0; i < d; i++) {
        if (i) b->s[b->len++] = ',';
        b->len += (size_t)snprintf(b->s + b->len, 17, "%.9g", v[i]);
    }
    b->s[b->len++] = ']';
    b->s[b->len] = '\0';
}

/* Little-endian float32 bytes, base64 (OpenAI's encoding_format "base64"). */
static void sb_base64_floats(sbuf *b, const float *v, int d) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t nbytes = (size_t)d * 4;
    sb_reserve(b, (nbytes + 2) / 3 * 4 + 2);
    if (b->oom) return;
    unsigned char *bytes = malloc(nbytes ? nbytes : 1);
    if (!bytes) {
        b->oom = 1;
        return;
    }
    for (int i = 0; i < d; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        bytes[4 * i] = (unsigned char)u;
        bytes[4 * i + 1] = (unsigned char)(u >> 8);
        bytes[4 * i + 2] = (unsigned char)(u >> 16);
        bytes[4 * i + 3] = (unsigned char)(u >> 24);
    }
    char *o = b->s + b->len;
    *o++ = '"';
    for (size_t i = 0; i < nbytes; i += 3) {
        uint32_t x = (uint32_t)bytes[i] << 16;
        if (i + 1 < nbytes) x |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < nbytes) x |= bytes[i + 2];
        *o++ = tbl[(x >> 18) & 63];
        *o++ = tbl[(x >> 12) & 63];
        *o++ = i + 1 < nbytes ? tbl[(x >> 6) & 63] : '=';
        *o++ = i + 2 < nbytes ? tbl[x & 63] : '=';
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->s);
    free(bytes);
}

static char *json_string(const char *s) {
    cJSON *j = cJSON_CreateString(s ? s : "");
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return out;
}

/* ---- the embedding flow --------------------------------------------------------- */

static void job_done(ss_embed_job *job, void *user) {
    (void)job;
    embed_call *c = user;
    /* MHD's own (uninstrumented) locking orders resume before the callback;
     * this makes the edge explicit, for the reader and for ThreadSanitizer. */
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    ss_http_resume(c->r); /* finish() runs on an HTTP thread */
}

static void finish(ss_http_req *r, ss_http_resp *resp, void *user) {
    (void)r;
    embed_call *c = user;
    if (!c->rejected && !__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
        bad(c, resp, 424, "backend", NULL, "internal error: resumed before the encoder finished");
        return;
    }
    if (c->rejected) {
        bad(c, resp, 429, "overloaded", NULL, "Model is overloaded: too many texts queued, retry later");
        return;
    }
    if (c->job.status == SS_ERR_IO) { /* cancelled at shutdown */
        bad(c, resp, 503, "unhealthy", NULL, "the server is shutting down; retry on another instance");
        return;
    }
    if (c->job.status != SS_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "encoder failed: %.500s", c->job.error);
        bad(c, resp, 424, "backend", NULL, msg);
        return;
    }
    const ss_model *m = c->s->model;
    int D = ss_model_dim(m), outD = ss_encode_dim(m, &c->eo);
    float *vec = malloc((size_t)outD * sizeof(float));
    sbuf b = {0};
    sb_reserve(&b, c->n * (size_t)outD * 12 + 256);
    if (!vec) b.oom = 1;
    char *model_js = c->kind == API_OPENAI ? json_string(c->model) : NULL;
    if (c->kind == API_OPENAI) sb_put(&b, "{\"object\":\"list\",\"data\":[");
    else sb_put(&b, "[");
    for (size_t i = 0; i < c->n && !b.oom; i++) {
        ss_batcher_finish_vector(m, &c->eo, c->raw + i * (size_t)D, vec);
        if (i) sb_put(&b, ",");
        if (c->kind == API_OPENAI) {
            char head[96];
            snprintf(head, sizeof head, "{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i);
            sb_put(&b, head);
            if (c->base64) sb_base64_floats(&b, vec, outD);
            else sb_floats(&b, vec, outD);
            sb_put(&b, "}");
        } else {
            sb_floats(&b, vec, outD);
        }
    }
    if (c->kind == API_OPENAI) {
        char tail[160];
        sb_put(&b, "],\"model\":");
        sb_put(&b, model_js ? model_js : "\"\"");
        snprintf(tail, sizeof tail, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", c->total_tokens,
                 c->total_tokens);
        sb_put(&b, tail);
    } else {
        sb_put(&b, "]");
    }
    free(model_js);
    free(vec);
    if (b.oom) {
        free(b.s);
        bad(c, resp, 424, "backend", NULL, "out of memory building the response");
        return;
    }
    ss_http_take(resp, 200, "application/json", b.s, b.len);
    call_free(c);
}

/* Validate, tokenize and queue. */
static int start_embed(ss_http_req *r, ss_http_resp *resp, api_kind kind) {
    ss_server *s = ss_http_app(r);
    const ss_model *m = s->model;
    embed_call *c = calloc(1, sizeof *c);
    if (!c) {
        ss_http_text(resp, 500, "text/plain", "out of memory\n");
        return SS_HTTP_DONE;
    }
    c->s = s;
    c->r = r;
    c->kind = kind;
    char why[512], msg[1024];
    if (!(c->root = ss_http_parse_json(r, why, sizeof why))) return bad(c, resp, 400, "validation", NULL, why);
    if (!cJSON_IsObject(c->root)) return bad(c, resp, 422, "validation", NULL, "the request body must be a JSON object");
    const char *in_key = kind == API_TEI ? "inputs" : "input";
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(c->root, in_key);
    if (!in) {
        snprintf(msg, sizeof msg, "missing field `%s`", in_key);
        return bad(c, resp, 422, "validation", in_key, msg);
    }
    c->n = cJSON_IsString(in) ? 1 : cJSON_IsArray(in) ? (size_t)cJSON_GetArraySize(in) : 0;
    if (!cJSON_IsString(in) && !cJSON_IsArray(in)) {
        snprintf(msg, sizeof msg, "`%s` must be a string or a list of strings", in_key);
        return bad(c, resp, 422, "validation", in_key, msg);
    }
    if (c->n == 0) {
        snprintf(msg, sizeof msg, "Input validation error: `%s` cannot be empty", in_key);
        return bad(c, resp, 400, "empty", in_key, msg);
    }
    if (c->n > (size_t)s->max_client_batch) {
        snprintf(msg, sizeof msg, "Input validation error: batch size %zu > maximum allowed batch size %d", c->n,
                 s->max_client_batch);
        return bad(c, resp, 413, "validation", in_key, msg);
    }
    int truncate = kind == API_OPENAI; /* OpenAI: truncate like sentence-transformers; TEI: as asked */
    const char *prompt = NULL;
    c->eo.normalize = ss_model_normalizes(m) ? 0 : 1;
    if (kind == API_TEI) {
        const cJSON *nz = cJSON_GetObjectItemCaseSensitive(c->root, "normalize");
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(c->root, "truncate");
        const cJSON *pn = cJSON_GetObjectItemCaseSensitive(c->root, "prompt_name");
        const cJSON *td = cJSON_GetObjectItemCaseSensitive(c->root, "truncation_direction");
        if (nz && !cJSON_IsNull(nz)) {
            if (!cJSON_IsBool(nz)) return bad(c, resp, 422, "validation", NULL, "`normalize` must be true or false");
            if (cJSON_IsFalse(nz)) c->eo.normalize = -1;
        }
        if (tr && !cJSON_IsNull(tr)) {
            if (!cJSON_IsBool(tr)) return bad(c, resp, 422, "validation", NULL, "`truncate` must be true or false");
            truncate = cJSON_IsTrue(tr);
        }
        if (td && !cJSON_IsNull(td) &&
            !(cJSON_IsString(td) && (!strcmp(td->valuestring, "right") || !strcmp(td->valuestring, "Right"))))
            return bad(c, resp, 422, "validation", NULL,
                       "`truncation_direction`: only \"right\" is supported (sentence-transformers truncates the end)");
        if (pn && !cJSON_IsNull(pn)) {
            if (!cJSON_IsString(pn)) return bad(c, resp, 422, "validation", NULL, "`prompt_name` must be a string");
            if (!(prompt = ss_model_prompt(m, pn->valuestring))) {
                snprintf(msg, sizeof msg, "Input validation error: prompt_name `%s` is not in the model's prompts",
                         pn->valuestring);
                return bad(c, resp, 413, "validation", NULL, msg);
            }
        }
    } else {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(c->root, "model");
        const cJSON *ef = cJSON_GetObjectItemCaseSensitive(c->root, "encoding_format");
        const cJSON *dm = cJSON_GetObjectItemCaseSensitive(c->root, "dimensions");
        if (md && !cJSON_IsNull(md) && !cJSON_IsString(md))
            return bad(c, resp, 400, "validation", "model", "`model` must be a string");
        c->model = strdup(md && cJSON_IsString(md) ? md->valuestring : s->model_id);
        if (ef && !cJSON_IsNull(ef)) {
            if (!cJSON_IsString(ef) || (strcmp(ef->valuestring, "float") && strcmp(ef->valuestring, "base64")))
                return bad(c, resp, 400, "validation", "encoding_format",
                           "`encoding_format` must be \"float\" or \"base64\"");
            c->base64 = !strcmp(ef->valuestring, "base64");
        }
        if (dm && !cJSON_IsNull(dm)) {
            int D = ss_model_dim(m);
            if (!cJSON_IsNumber(dm) || dm->valuedouble != (double)(int)dm->valuedouble || dm->valueint < 1 ||
                dm->valueint > D) {
                snprintf(msg, sizeof msg, "`dimensions` must be an integer from 1 to %d (the model's dimension)", D);
                return bad(c, resp, 400, "validation", "dimensions", msg);
            }
            /* Matryoshka: keep the first N dimensions, then renormalise (as OpenAI's shortened embeddings are) */
            c->eo.truncate_dim = dm->valueint;
            c->eo.normalize = 1;
        }
    }
    c->texts = calloc(c->n, sizeof *c->texts);
    c->tokens = calloc(c->n, sizeof *c->tokens);
    c->raw = malloc(c->n * (size_t)ss_model_dim(m) * sizeof(float));
    if (!c->texts || !c->tokens || !c->raw || (kind == API_OPENAI && !c->model))
        return bad(c, resp, 424, "backend", NULL, "out of memory");
    const ss_tokenizer *tok = ss_model_tokenizer(m);
    int max_len = ss_model_max_seq_length(m);
    size_t plen = prompt ? strlen(prompt) : 0;
    for (size_t i = 0; i < c->n; i++) {
        const cJSON *t = cJSON_IsString(in) ? in : cJSON_GetArrayItem(in, (int)i);
        if (!cJSON_IsString(t)) {
            snprintf(msg, sizeof msg, "`%s`[%zu] is not a string%s", in_key, i,
                     cJSON_IsArray(t) || cJSON_IsNumber(t) ? " (token-id inputs are not supported; send text)" : "");
            return bad(c, resp, 422, "validation", in_key, msg);
        }
        c->texts[i] = t->valuestring;
        /* Untruncated length of prompt + text, to refuse over-long inputs as TEI does. */
        size_t tl = strlen(t->valuestring);
        char *joined = NULL;
        const char *src = t->valuestring;
        if (plen) {
            if (!(joined = malloc(plen + tl + 1))) return bad(c, resp, 424, "backend", NULL, "out of memory");
            memcpy(joined, prompt, plen);
            memcpy(joined + plen, t->valuestring, tl + 1);
            src = joined;
        }
        ss_error err;
        int nt = ss_tokenizer_encode(tok, src, plen + tl, 0, NULL, 0, &err);
        free(joined);
        if (nt < 0) {
            snprintf(msg, sizeof msg, "Tokenization error: `%s`[%zu]: %.900s", in_key, i, err.msg);
            return bad(c, resp, 422, "tokenizer", in_key, msg);
        }
        if (nt > max_len) {
            if (!truncate) {
                snprintf(msg, sizeof msg,
                         "Input validation error: `inputs` must have less than %d tokens. Given: %d (text %zu; "
                         "send \"truncate\": true to cut it as sentence-transformers does)",
                         max_len, nt, i);
                return bad(c, resp, 413, "validation", in_key, msg);
            }
            nt = max_len;
        }
        c->tokens[i] = nt;
        c->total_tokens += nt;
    }
    c->job = (ss_embed_job){.texts = c->texts, .n = c->n, .tokens = c->tokens, .prompt = prompt, .out = c->raw,
                            .done = job_done, .user = c};
    int rc = ss_http_defer(r, finish, c); /* suspends before the batcher can resume */
    if (ss_batcher_submit(s->batcher, &c->job) != 0) {
        c->rejected = 1;
        ss_http_resume(r);
    }
    return rc;
}

static int h_embed(ss_http_req *r, ss_http_resp *resp) { return start_embed(r, resp, API_TEI); }
static int h_openai(ss_http_req *r, ss_http_resp *resp) { return start_embed(r, resp, API_OPENAI); }

/* ---- /tokenize /info /health /metrics -------------------------------------------- */

static int is_special(const ss_tokenizer *tok, int32_t id) {
    static const char *names[] = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "<s>", "</s>", "<pad>", "<mask>", "<unk>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ss_tokenizer_token_id(tok, names[i]) == id) return 1;
    return 0;
}

static int h_tokenize(ss_http_req *r, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    char why[512];
    cJSON *root = ss_http_parse_json(r, why, sizeof why);
    if (!root) {
        tei_error(resp, 400, "validation", "%s", why);
        return SS_HTTP_DONE;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    const cJSON *add = cJSON_GetObjectItemCaseSensitive(root, "add_special_tokens");
    const cJSON *pn = cJSON_GetObjectItemCaseSensitive(root, "prompt_name");
    int n = cJSON_IsString(in) ? 1 : cJSON_IsArray(in) ? cJSON_GetArraySize(in) : -1;
    const char *prompt = NULL;
    if (n < 0) tei_error(resp, 422, "validation", "missing field `inputs` (a string or a list of strings)");
    else if (n == 0) tei_error(resp, 400, "empty", "Input validation error: `inputs` cannot be empty");
    else if (pn && cJSON_IsString(pn) && !(prompt = ss_model_prompt(s->model, pn->valuestring)))
        tei_error(resp, 413, "validation", "Input validation error: prompt_name `%s` is not in the model's prompts",
                  pn->valuestring);
    if (resp->status) {
        cJSON_Delete(root);
        return SS_HTTP_DONE;
    }
    int keep_special = !add || !cJSON_IsFalse(add);
    const ss_tokenizer *tok = ss_model_tokenizer(s->model);
    int cap = ss_model_max_seq_length(s->model);
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; ids && i < n; i++) {
        const cJSON *t = cJSON_IsString(in) ? in : cJSON_GetArrayItem(in, i);
        if (!cJSON_IsString(t)) {
            tei_error(resp, 422, "validation", "`inputs`[%d] is not a string", i);
            break;
        }
        ss_error err;
        int nt = ss_model_tokenize(s->model, t->valuestring, prompt, ids, cap, &err);
        if (nt < 0) {
            tei_error(resp, 422, "tokenizer", "Tokenization error: `inputs`[%d]: %.900s", i, err.msg);
            break;
        }
        if (nt > cap) nt = cap;
        cJSON *seq = cJSON_CreateArray();
        for (int k = 0; k < nt; k++) {
            int special = is_special(tok, ids[k]) && (k == 0 || k == nt - 1);
            if (special && !keep_special) continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", ids[k]);
            cJSON_AddStringToObject(o, "text", ss_tokenizer_token(tok, ids[k]));
            cJSON_AddBoolToObject(o, "special", special);
            cJSON_AddNullToObject(o, "start"); /* character offsets are not tracked by the tokenizer */
            cJSON_AddNullToObject(o, "stop");
            cJSON_AddItemToArray(seq, o);
        }
        cJSON_AddItemToArray(out, seq);
    }
    if (!ids) tei_error(resp, 424, "backend", "out of memory");
    free(ids);
    cJSON_Delete(root);
    if (resp->status) {
        cJSON_Delete(out);
        return SS_HTTP_DONE;
    }
    ss_http_json(resp, 200, out);
    resp->content_type = "application/json";
    return SS_HTTP_DONE;
}

static int h_info(ss_http_req *r, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    const ss_batcher_options *bo = ss_batcher_opts(s->batcher);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model_id", s->model_id);
    cJSON_AddNullToObject(o, "model_sha");
    cJSON_AddStringToObject(o, "model_dtype", "float32");
    cJSON *mt = cJSON_AddObjectToObject(o, "model_type"), *emb = cJSON_AddObjectToObject(mt, "embedding");
    cJSON_AddStringToObject(emb, "pooling", s->pooling);
    cJSON_AddNumberToObject(o, "max_concurrent_requests", (double)bo->max_queued);
    cJSON_AddNumberToObject(o, "max_input_length", ss_model_max_seq_length(s->model));
    cJSON_AddNumberToObject(o, "max_batch_tokens", bo->max_tokens);
    cJSON_AddNumberToObject(o, "max_batch_requests", bo->max_batch);
    cJSON_AddNumberToObject(o, "max_client_batch_size", s->max_client_batch);
    cJSON_AddBoolToObject(o, "auto_truncate", 0);
    cJSON_AddNumberToObject(o, "tokenization_workers", 0); /* tokenized on the HTTP threads */
    cJSON_AddNumberToObject(o, "dimension", ss_model_dim(s->model));
    cJSON_AddStringToObject(o, "version", "semsearch " SEMSEARCH_VERSION);
    cJSON_AddNullToObject(o, "sha");
    cJSON_AddNullToObject(o, "docker_label");
    ss_http_json(resp, 200, o);
    resp->content_type = "application/json";
    return SS_HTTP_DONE;
}

static int h_health(ss_http_req *r, ss_http_resp *resp) {
    (void)r;
    ss_http_take(resp, 200, "text/plain", NULL, 0);
    return SS_HTTP_DONE;
}

static int h_metrics(ss_http_req *r, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    ss_metrics_queue_depth(s->metrics, ss_batcher_queued(s->batcher));
    size_t len = 0;
    char *text = ss_metrics_render(s->metrics, &len);
    if (!text) ss_http_text(resp, 500, "text/plain", "out of memory\n");
    else ss_http_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    return SS_HTTP_DONE;
}

int ss_embed_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "POST", "/embed", h_embed);
    rc |= ss_router_add(rt, "POST", "/", h_embed);
    rc |= ss_router_add(rt, "POST", "/tokenize", h_tokenize);
    rc |= ss_router_add(rt, "GET", "/info", h_info);
    rc |= ss_router_add(rt, "GET", "/health", h_health);
    rc |= ss_router_add(rt, "POST", "/v1/embeddings", h_openai);
    rc |= ss_router_add(rt, "GET", "/metrics", h_metrics);
    return rc;
}
