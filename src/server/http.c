/* http.c — libmicrohttpd glue: request lifecycle, limits, auth, media types,
 * Elasticsearch headers, deferred (suspended) responses, access log, and
 * graceful shutdown.
 *
 * A request's life: MHD reads the request line -> uri_log() allocates its
 * ss_http_req -> access() is called once the headers are in (limits, auth,
 * media-type checks), again for each body chunk (accumulated up to the
 * limit), and once more at the end (routing + handler). A deferred handler
 * suspends the connection; after ss_http_resume() MHD calls access() again
 * and the handler's finish function fills the response. completed() logs
 * the request, updates the metrics and frees it.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/error.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/router.h"
#include "store/reader.h" /* ss__utf8_check */

struct ss_http {
    struct MHD_Daemon *d;
    ss_http_options o;
    int port, tls;
    int max_connections; /* what MHD was told: --max-connections, clamped to the open-file limit */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int in_flight; /* requests whose headers are in and whose response is not done */
    int suspended; /* deferred requests not yet completed (MHD must not stop while one is suspended) */
    int stopping;
};

struct ss_http_req {
    ss_http *h;
    struct MHD_Connection *conn;
    double t_line;      /* request line received */
    int headers_done;   /* access() has seen this request */
    int counted;        /* counted in h->in_flight */
    char method[16];
    char *path;         /* %-decoded (as MHD hands it over): messages, logs, ss_http_path */
    char *raw_path;     /* as sent, up to '?': routed on, so that %2F inside an id is not a separator */
    char *body;
    size_t len, cap;
    int too_big;
    int compat;         /* compatible-with=N from Accept / Content-Type, 0 = plain JSON */
    ss_route_match match;
    int matched;
    int deferred;
    ss_http_finish_fn finish;
    void *finish_user;
    int status;
    size_t resp_bytes;
    struct local_req *local; /* in-process request (ss_http_local_request): conn is NULL */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void vlog(const ss_http *h, ss_log_level level, const char *fmt, va_list ap) {
    if (h && level > h->o.log_level) return;
    static const char *names[] = {"error", "warn", "info", "debug"};
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* one fprintf per line: stdio locks the stream, lines never interleave */
    fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1000000, names[level], msg);
}

void ss_http_log(const ss_http *h, ss_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(h, level, fmt, ap);
    va_end(ap);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') line[--n] = '\0';
    ss_http_log(cls, SS_LOG_DEBUG, "libmicrohttpd: %s", line);
}

/* ---- accessors ------------------------------------------------------------ */

const char *ss_http_method(const ss_http_req *r) { return r->method; }
const char *ss_http_path(const ss_http_req *r) { return r->path; }
static const char *local_header(const ss_http_req *r, const char *name);
static const char *local_query(const ss_http_req *r, const char *name);
const char *ss_http_header(const ss_http_req *r, const char *name) {
    if (r->local) return local_header(r, name);
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
const char *ss_http_query(const ss_http_req *r, const char *name) {
    if (r->local) return local_query(r, name);
    const char *v = NULL;
    size_t vl = 0;
    /* "?pretty" (no '=') is present with a NULL value in MHD: report it as "" */
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, &vl) != MHD_YES)
        return NULL;
    return v ? v : "";
}
const char *ss_http_param(const ss_http_req *r, const char *name) {
    for (int i = 0; i < r->match.n_params; i++)
        if (!strcmp(r->match.names[i], name)) return r->match.values[i];
    return NULL;
}
const char *ss_http_body(const ss_http_req *r, size_t *len) {
    if (len) *len = r->len;
    return r->body ? r->body : "";
}
void *ss_http_app(const ss_http_req *r) { return ss_router_app(r->h->o.router); }
ss_http *ss_http_server(const ss_http_req *r) { return r->h; }
int ss_http_port(const ss_http *h) { return h->port; }
int ss_http_tls(const ss_http *h) { return h->tls; }
int ss_http_max_connections(const ss_http *h) { return h->max_connections; }

/* ---- responses ------------------------------------------------------------ */

void ss_http_take(ss_http_resp *resp, int status, const char *content_type, char *body, size_t len) {
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->len = body ? len : 0;
}

void ss_http_text(ss_http_resp *resp, int status, const char *content_type, const char *text) {
    char *b = strdup(text ? text : "");
    ss_http_take(resp, b ? status : 500, content_type, b, b ? strlen(b) : 0);
}

void ss_http_json(ss_http_resp *resp, int status, cJSON *obj) {
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!s) {
        ss_http_text(resp, 500, "text/plain", "out of memory building the response\n");
        return;
    }
    ss_http_take(resp, status, NULL, s, strlen(s));
}

void ss_http_add_header(ss_http_resp *resp, const char *name, const char *value) {
    if (resp->n_headers == SS_HTTP_MAX_HEADERS) return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    resp->header_names[resp->n_headers] = n;
    resp->header_values[resp->n_headers++] = v;
}

static void resp_clear(ss_http_resp *resp) {
    free(resp->body);
    for (int i = 0; i < resp->n_headers; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    memset(resp, 0, sizeof *resp);
}

static cJSON *es_error_obj(int status, const char *type, const char *reason) {
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    cJSON *rc = cJSON_AddArrayToObject(err, "root_cause"), *cause = cJSON_CreateObject();
    cJSON_AddStringToObject(cause, "type", type);
    cJSON_AddStringToObject(cause, "reason", reason);
    cJSON_AddItemToArray(rc, cause);
    cJSON_AddStringToObject(err, "type", type);
    cJSON_AddStringToObject(err, "reason", reason);
    cJSON_AddNumberToObject(root, "status", status);
    return root;
}

/* s (NUL-terminated) into dst with every byte that is not part of a valid
 * UTF-8 sequence replaced by U+FFFD, as Java's decoders do: text from the
 * request (a path, a %.Ns-truncated value) can be echoed in a JSON message,
 * and JSON on the wire must be UTF-8. Stops at a whole character when dst
 * is full. */
static void utf8_sanitize(char *dst, size_t cap, const char *s) {
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n && cap;) {
        size_t bad = ss__utf8_check(s + i, n - i);
        size_t good = bad ? bad - 1 : n - i;
        /* the valid run, cut back to a character boundary if it does not fit */
        size_t take = good;
        if (o + take >= cap) {
            take = cap - 1 - o;
            while (take && ((unsigned char)s[i + take] & 0xC0) == 0x80) take--;
            memcpy(dst + o, s + i, take);
            o += take;
            break;
        }
        memcpy(dst + o, s + i, take);
        o += take, i += take;
        if (!bad) break;
        if (o + 3 >= cap) break;
        memcpy(dst + o, "\xEF\xBF\xBD", 3);
        o += 3, i++;
    }
    if (cap) dst[o < cap ? o : cap - 1] = '\0';
}

void ss_http_es_error(ss_http_resp *resp, int status, const char *type, const char *fmt, ...) {
    char raw[1024], reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    utf8_sanitize(reason, sizeof reason, raw); /* a cut multi-byte character, an echoed bad byte */
    ss_http_json(resp, status, es_error_obj(status, type, reason));
}

cJSON *ss_http_parse_json(const ss_http_req *r, char *why, size_t cap) {
    size_t i = 0;
    while (i < r->len && (r->body[i] == ' ' || r->body[i] == '\n' || r->body[i] == '\r' || r->body[i] == '\t')) i++;
    if (i == r->len) {
        snprintf(why, cap, "request body is required");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(r->body, r->len, &end, 0);
    size_t off = end ? (size_t)(end - r->body) : 0;
    if (j) {
        while (off < r->len && (r->body[off] == ' ' || r->body[off] == '\n' || r->body[off] == '\r' ||
                                r->body[off] == '\t'))
            off++;
        if (off == r->len) return j;
        cJSON_Delete(j);
    }
    int line = 1, col = 1;
    for (size_t k = 0; k < off && k < r->len; k++) {
        if (r->body[k] == '\n') line++, col = 1;
        else col++;
    }
    snprintf(why, cap, "[%d:%d] malformed JSON request body at byte offset %zu: %s", line, col, off,
             j ? "unexpected data after the JSON value" : "not valid JSON");
    return NULL;
}

/* 1 (resp filled: 400, Elasticsearch's shape, line:column and offset) when
 * the body is not valid UTF-8: JSON is UTF-8, and what is stored or echoed
 * into a response must be too. */
static int body_not_utf8(const ss_http_req *r, ss_http_resp *resp) {
    size_t bad = r->len ? ss__utf8_check(r->body, r->len) : 0;
    if (!bad) return 0;
    int line = 1, col = 1;
    for (size_t k = 0; k + 1 < bad; k++) {
        if (r->body[k] == '\n') line++, col = 1;
        else col++;
    }
    ss_http_es_error(resp, 400, "parsing_exception",
                     "[%d:%d] the request body is not valid UTF-8 (byte 0x%02x at byte offset %zu)", line, col,
                     (unsigned char)r->body[bad - 1], bad - 1);
    return 1;
}

cJSON *ss_http_json_body(ss_http_req *r, ss_http_resp *resp) {
    if (body_not_utf8(r, resp)) return NULL;
    char why[256];
    cJSON *j = ss_http_parse_json(r, why, sizeof why);
    if (!j) ss_http_es_error(resp, 400, strncmp(why, "request body", 12) ? "parsing_exception" : "parse_exception", "%s", why);
    return j;
}

/* ---- deferred responses ----------------------------------------------------- */

int ss_http_defer(ss_http_req *r, ss_http_finish_fn finish, void *user) {
    r->deferred = 1;
    r->finish = finish;
    r->finish_user = user;
    pthread_mutex_lock(&r->h->mu);
    r->h->suspended++;
    pthread_mutex_unlock(&r->h->mu);
    /* Suspend before the handler hands the work to another thread, so that
     * resume can never come first. */
    if (!r->local) MHD_suspend_connection(r->conn);
    return SS_HTTP_DEFERRED;
}

static void local_resume(ss_http_req *r);
/* Counted down in completed_cb, not here: MHD moves a resumed connection off
 * its suspended list later, on its own thread. */
void ss_http_resume(ss_http_req *r) {
    if (r->local) local_resume(r);
    else MHD_resume_connection(r->conn);
}

/* ---- the MHD callbacks --------------------------------------------------------- */

static const char *json_type(int compat) {
    switch (compat) {
    case 7: return "application/vnd.elasticsearch+json;compatible-with=7";
    case 8: return "application/vnd.elasticsearch+json;compatible-with=8";
    case 9: return "application/vnd.elasticsearch+json;compatible-with=9";
    default: return "application/json";
    }
}

/* ?pretty (and ?pretty=true), as Elasticsearch: the same JSON, indented. */
static void maybe_pretty(ss_http_req *r, ss_http_resp *resp) {
    const char *p = ss_http_query(r, "pretty");
    if (!p || !strcmp(p, "false") || !resp->len) return;
    const char *ct = resp->content_type ? resp->content_type : "application/json";
    if (!strstr(ct, "json")) return;
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->len);
    char *pretty = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!pretty) return;
    size_t n = strlen(pretty);
    char *nl = realloc(pretty, n + 2); /* Elasticsearch ends pretty output with a newline */
    if (!nl) {
        free(pretty);
        return;
    }
    nl[n] = '\n';
    nl[n + 1] = '\0';
    free(resp->body);
    resp->body = nl;
    resp->len = n + 1;
}

/* The last line of defence for "JSON on the wire is UTF-8": a handler that
 * echoes a request string it did not validate (OpenAI's "model", a prompt
 * name in a TEI error) would send its bytes as they came. Invalid bytes can
 * only stand inside JSON strings (cJSON and the hand-built bodies copy them
 * verbatim), so each becomes U+FFFD and the text stays valid JSON. */
static void resp_utf8_fix(ss_http_resp *resp, const char *ctype) {
    if (!resp->len || !strstr(ctype, "json") || !ss__utf8_check(resp->body, resp->len)) return;
    if (strlen(resp->body) != resp->len) return; /* a NUL inside: not text this can repair */
    size_t cap = 3 * resp->len + 1;
    char *fixed = malloc(cap);
    if (!fixed) return;
    utf8_sanitize(fixed, cap, resp->body);
    free(resp->body);
    resp->body = fixed;
    resp->len = strlen(fixed);
}

static enum MHD_Result send_resp(ss_http_req *r, ss_http_resp *resp) {
    if (resp->status == 0) ss_http_es_error(resp, 500, "exception", "handler produced no response");
    maybe_pretty(r, resp);
    resp_utf8_fix(resp, resp->content_type ? resp->content_type : json_type(r->compat));
    struct MHD_Response *m = resp->len
                                 ? MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE)
                                 : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!m) {
        resp_clear(resp);
        return MHD_NO;
    }
    if (resp->len) resp->body = NULL; /* MHD owns it now */
    MHD_add_response_header(m, "X-Elastic-Product", "Elasticsearch");
    const char *opaque = ss_http_header(r, "X-Opaque-Id"); /* echoed, as Elasticsearch does */
    if (opaque) MHD_add_response_header(m, "X-Opaque-Id", opaque);
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : json_type(r->compat));
    for (int i = 0; i < resp->n_headers; i++) MHD_add_response_header(m, resp->header_names[i], resp->header_values[i]);
    pthread_mutex_lock(&r->h->mu);
    int stopping = r->h->stopping;
    pthread_mutex_unlock(&r->h->mu);
    if (stopping) MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
    r->status = resp->status;
    r->resp_bytes = resp->len;
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)resp->status, m);
    MHD_destroy_response(m);
    resp_clear(resp);
    return ok;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn) {
    ss_http_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    /* MHD calls this with the request target before it %-decodes it */
    if (uri && !(r->raw_path = strndup(uri, strcspn(uri, "?")))) {
        free(r);
        return NULL;
    }
    r->h = cls;
    r->conn = conn;
    r->t_line = now_s();
    return r;
}

/* compatible-with=N of an Elasticsearch vendor media type; 0 when the header
 * is a plain type, -1 when it names an unsupported version. */
static int compat_of(const char *v) {
    if (!v || !strstr(v, "application/vnd.elasticsearch+")) return 0;
    const char *c = strstr(v, "compatible-with=");
    if (!c) return -1;
    int n = atoi(c + 16);
    return n >= 7 && n <= 9 ? n : -1;
}

static void add_www_authenticate(ss_http_resp *resp) {
    ss_http_add_header(resp, "WWW-Authenticate", "ApiKey");
    ss_http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"semsearch\"");
}

/* Checks made once the headers are in. Returns 1 and fills resp when the
 * request is refused before its body is read. */
static int early_checks(ss_http_req *r, ss_http_resp *resp) {
    ss_http *h = r->h;
    const char *accept = ss_http_header(r, MHD_HTTP_HEADER_ACCEPT), *ctype = ss_http_header(r, "Content-Type");
    int ca = compat_of(accept), cc = compat_of(ctype);
    if (ca < 0 || cc < 0) {
        ss_http_es_error(resp, 400, "media_type_header_exception",
                         "Invalid media-type value on headers [%s]: compatible-with must be 7, 8 or 9",
                         ca < 0 ? "Accept" : "Content-Type");
        return 1;
    }
    if (ca && cc && ca != cc) {
        ss_http_es_error(resp, 400, "media_type_header_exception",
                         "A compatible version is required on both Content-Type and Accept headers if either one "
                         "has requested a compatible version, and they must match: Accept=%d, Content-Type=%d",
                         ca, cc);
        return 1;
    }
    r->compat = ca ? ca : cc;
    double waited = now_s() - r->t_line;
    if (waited > h->o.header_timeout_s) {
        ss_http_es_error(resp, 408, "timeout_exception", "request headers took %.1f s (limit %d s)", waited,
                         h->o.header_timeout_s);
        ss_http_add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return 1;
    }
    if (h->o.auth && !ss_auth_check(h->o.auth, ss_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION))) {
        int given = ss_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
        char raw[512], reason[512];
        snprintf(raw, sizeof raw, "%s for REST request [%s]",
                 given ? "unable to authenticate with provided credentials" : "missing authentication credentials",
                 r->path);
        utf8_sanitize(reason, sizeof reason, raw);
        cJSON *e = es_error_obj(401, "security_exception", reason);
        cJSON *hdr = cJSON_CreateObject(), *vals = cJSON_AddArrayToObject(hdr, "WWW-Authenticate");
        cJSON_AddItemToArray(vals, cJSON_CreateString("ApiKey"));
        cJSON_AddItemToArray(vals, cJSON_CreateString("Bearer realm=\"semsearch\""));
        cJSON_AddItemToObject(cJSON_GetObjectItem(e, "error"), "header", hdr);
        ss_http_json(resp, 401, e);
        add_www_authenticate(resp);
        return 1;
    }
    const char *cl = ss_http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->o.max_body_bytes) {
        ss_http_es_error(resp, 413, "content_too_long_exception",
                         "request body of %s bytes exceeds the limit of %zu bytes (--max-body-bytes)", cl,
                         h->o.max_body_bytes);
        ss_http_add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return 1;
    }
    return 0;
}

static const char *local_bad_arg(const ss_http_req *r);
static void unescape(char *s, int plus);

static enum MHD_Result arg_utf8(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    const char **bad = cls;
    if ((key && ss__utf8_check(key, strlen(key))) || (value && ss__utf8_check(value, strlen(value)))) {
        *bad = key ? key : "";
        return MHD_NO;
    }
    return MHD_YES;
}

/* The name of the first query argument whose name or value is not valid UTF-8, or NULL. */
static const char *args_utf8_bad(const ss_http_req *r) {
    if (r->local) return local_bad_arg(r);
    const char *bad = NULL;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, arg_utf8, &bad);
    return bad;
}

static void dispatch(ss_http_req *r, ss_http_resp *resp, int *deferred) {
    *deferred = 0;
    if (r->too_big) {
        ss_http_es_error(resp, 413, "content_too_long_exception",
                         "request body exceeds the limit of %zu bytes (--max-body-bytes)", r->h->o.max_body_bytes);
        ss_http_add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return;
    }
    /* Elasticsearch reads the URL and the body as UTF-8: refuse what is not
     * (the handlers would store it or echo it into JSON, which must be UTF-8). */
    size_t bad = ss__utf8_check(r->path, strlen(r->path));
    if (bad) {
        ss_http_es_error(resp, 400, "illegal_argument_exception",
                         "the request path [%s] is not valid UTF-8 (byte %zu after %%-decoding)", r->path, bad - 1);
        return;
    }
    if (r->raw_path && strstr(r->raw_path, "%00")) { /* would cut a name or id short, silently */
        ss_http_es_error(resp, 400, "illegal_argument_exception", "the request path [%s] contains a NUL byte (%%00)",
                         r->raw_path);
        return;
    }
    const char *arg = args_utf8_bad(r);
    if (arg) {
        ss_http_es_error(resp, 400, "illegal_argument_exception",
                         "the query parameter [%s] is not valid UTF-8 (after %%-decoding)", arg);
        return;
    }
    char allowed[128];
    /* Route on the path as sent and decode each {param} afterwards, as
     * Elasticsearch does: a client sends an id "a/b" as "a%2Fb". */
    int m = ss_router_match(r->h->o.router, r->method, r->raw_path ? r->raw_path : r->path, &r->match, allowed,
                            sizeof allowed);
    for (int i = 0; m == 1 && r->raw_path && i < r->match.n_params; i++) unescape(r->match.values[i], 0);
    if (m == 0) {
        ss_http_es_error(resp, 400, "illegal_argument_exception", "no handler found for uri [%s] and method [%s]",
                         r->path, r->method);
        return;
    }
    if (m < 0) {
        ss_http_es_error(resp, 405, "illegal_argument_exception",
                         "Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]", r->path, r->method,
                         allowed);
        ss_http_add_header(resp, "Allow", allowed);
        return;
    }
    r->matched = 1;
    /* _bulk's NDJSON is parsed line by line (es_bulk.c), not through
     * ss_http_json_body, which makes the same check for the other ES APIs;
     * the embedding APIs refuse such text in their own shape (422 tokenizer). */
    size_t pl = strlen(r->match.pattern);
    if (pl >= 6 && !strcmp(r->match.pattern + pl - 6, "/_bulk") && body_not_utf8(r, resp)) return;
    *deferred = r->match.handler(r, resp) == SS_HTTP_DEFERRED;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    (void)conn;
    ss_http *h = cls;
    ss_http_req *r = *con_cls;
    if (!r) return MHD_NO; /* uri_log could not allocate: drop the connection */
    ss_http_resp resp = {0};
    if (!r->headers_done) {
        r->headers_done = 1;
        snprintf(r->method, sizeof r->method, "%s", method);
        if (!(r->path = strdup(url ? url : "/"))) return MHD_NO;
        pthread_mutex_lock(&h->mu);
        h->in_flight++;
        r->counted = 1;
        pthread_mutex_unlock(&h->mu);
        if (early_checks(r, &resp)) return send_resp(r, &resp);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_big) return MHD_YES; /* drain; answered 413 at the end */
        if (r->len + n > h->o.max_body_bytes) {
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t nc = r->cap ? r->cap : 4096;
            while (nc < r->len + n + 1) nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->cap = nc;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (r->deferred) { /* resumed: the work is done */
        r->finish(r, &resp, r->finish_user);
        return send_resp(r, &resp);
    }
    int deferred;
    dispatch(r, &resp, &deferred);
    if (deferred) {
        resp_clear(&resp);
        return MHD_YES;
    }
    return send_resp(r, &resp);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    ss_http *h = cls;
    ss_http_req *r = *con_cls;
    *con_cls = NULL;
    if (!r) return;
    if (r->headers_done) {
        double ms = (now_s() - r->t_line) * 1000.0;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[64] = "-";
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
        }
        ss_http_log(h, SS_LOG_INFO, "%s \"%s %s\" %d %zu %.1fms%s", addr, r->method, r->path ? r->path : "-",
                    r->status, r->resp_bytes, ms, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
        ss_metrics_request(h->o.metrics, r->matched ? r->match.pattern : NULL, r->method, r->status, ms / 1000.0);
    }
    if (r->counted) {
        pthread_mutex_lock(&h->mu);
        if (r->deferred) h->suspended--;
        if (--h->in_flight == 0 || h->suspended == 0) pthread_cond_broadcast(&h->idle);
        pthread_mutex_unlock(&h->mu);
    }
    ss_route_match_clear(&r->match);
    free(r->path);
    free(r->raw_path);
    free(r->body);
    free(r);
}

/* ---- start / stop ----------------------------------------------------------- */

ss_http *ss_http_start(const ss_http_options *opts, ss_error *err) {
    ss_error_clear(err);
    if (!opts || !opts->router) {
        ss_fail(err, SS_ERR_INVALID, "ss_http_start: no router");
        return NULL;
    }
    ss_http *h = calloc(1, sizeof *h);
    if (!h) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->o = *opts;
    if (!h->o.host) h->o.host = "127.0.0.1";
    if (h->o.threads <= 0) h->o.threads = 4;
    if (!h->o.max_body_bytes) h->o.max_body_bytes = (size_t)100 * 1024 * 1024;
    if (h->o.idle_timeout_s <= 0) h->o.idle_timeout_s = 60;
    if (h->o.header_timeout_s <= 0) h->o.header_timeout_s = 30;
    if (h->o.max_connections <= 0) h->o.max_connections = 10000;
    /* Every connection is a descriptor; SQLite (a database, WAL and shm per
     * index), the model file, the listening socket, MHD's epoll and ITC
     * descriptors and the batcher need some more. When the open-file limit
     * (cmd_serve raises the soft limit to the hard one) cannot hold
     * --max-connections, accept fewer rather than fail accept() later with
     * EMFILE in a loop; the number accepted is printed at start. */
    {
        struct rlimit rl;
        const long reserve = 256;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            (long)rl.rlim_cur - reserve < h->o.max_connections) {
            long fit = (long)rl.rlim_cur - reserve;
            if (fit < 16) fit = 16;
            ss_http_log(h, SS_LOG_WARN,
                        "the open-file limit is %ld: accepting %ld connections, not %d (raise ulimit -n / the hard limit)",
                        (long)rl.rlim_cur, fit, h->o.max_connections);
            h->o.max_connections = (int)fit;
        }
        h->max_connections = h->o.max_connections;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->idle, NULL);
    if (h->o.local) return h; /* no daemon: requests come through ss_http_local_request */

    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa;
    /* Why this MHD mode: thousands of mostly idle keep-alive connections (an
     * Elasticsearch client pool, a load balancer's) must cost a descriptor and
     * a small memory pool each, not a thread. Thread-per-connection would need
     * 10,000 threads; select() stops at FD_SETSIZE (1,024 descriptors); poll()
     * rescans every descriptor at each wake-up. epoll wakes a thread for the
     * ready connections only, so idle ones cost nothing per event. A pool of
     * internal polling threads (--http-threads, each with its own epoll set
     * on the shared listening socket) lets a handler that runs a search or a
     * bulk write block one thread while the others keep serving; handlers
     * that wait for the encoder suspend their connection instead of blocking.
     * MHD enforces the connection limit (split over the pool's threads) and
     * the per-connection idle timeout (MHD_OPTION_CONNECTION_TIMEOUT: a
     * connection with no traffic for that long is closed, whatever its state
     * — idle keep-alive or a stalled request). test_server_idle opens 10,000
     * idle connections and checks both. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, h->o.host, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)h->o.port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, h->o.host, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)h->o.port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        ss_fail(err, SS_ERR_INVALID, "--host %s is not an IPv4 or IPv6 address", h->o.host);
        goto fail;
    }
    h->tls = h->o.tls_cert_pem && h->o.tls_key_pem;
    if (h->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            ss_fail(err, SS_ERR_UNSUPPORTED, "this libmicrohttpd was built without TLS (GnuTLS)");
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)h->o.tls_key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)h->o.tls_cert_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(
        flags, (uint16_t)h->o.port, NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)h->o.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)h->o.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->o.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->o.max_connections_per_ip, MHD_OPTION_URI_LOG_CALLBACK,
        uri_log, h, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        /* a burst of connects (a client pool opening at once) waits in the
         * kernel queue instead of being refused; capped by net.core.somaxconn */
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)(h->o.max_connections < 4096 ? h->o.max_connections : 4096),
        MHD_OPTION_ARRAY, h->tls ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    if (!h->d) {
        ss_fail(err, SS_ERR_IO, "cannot listen on %s:%d%s (address in use, no permission, or a bad TLS key/cert)",
                h->o.host, h->o.port, h->tls ? " with TLS" : "");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : h->o.port;
    return h;
fail:
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
}

void ss_http_quiesce(ss_http *h) {
    pthread_mutex_lock(&h->mu);
    int was = h->stopping;
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    if (was || !h->d) return;
    MHD_socket ls = MHD_quiesce_daemon(h->d); /* no new connections from here on */
    if (ls != MHD_INVALID_SOCKET) close(ls);
}

int ss_http_wait(ss_http *h, int grace_s) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_s > 0 ? grace_s : 0;
    pthread_mutex_lock(&h->mu);
    while (h->in_flight > 0)
        if (pthread_cond_timedwait(&h->idle, &h->mu, &until) == ETIMEDOUT) break;
    int left = h->in_flight;
    pthread_mutex_unlock(&h->mu);
    return left;
}

void ss_http_close(ss_http *h) {
    if (!h) return;
    ss_http_quiesce(h);
    pthread_mutex_lock(&h->mu);
    while (h->suspended > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        if (pthread_cond_timedwait(&h->idle, &h->mu, &until) == ETIMEDOUT)
            ss_http_log(h, SS_LOG_WARN, "shutdown: waiting for %d deferred request(s)", h->suspended);
    }
    pthread_mutex_unlock(&h->mu);
    if (h->d) MHD_stop_daemon(h->d); /* joins the pool; closes idle keep-alive connections */
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* ---- in-process requests (no socket) ----------------------------------------
 * ss_http_local_request runs one request through the same steps as a socket
 * request — early checks (media types, auth, Content-Length), routing, the
 * handler (deferred ones waited for), ?pretty — on a server started with
 * o.local = 1. MHD's part is mirrored: the path and query arguments are
 * %XX-decoded (arguments also '+' -> ' '), the first of repeated headers or
 * arguments wins, header names match case-insensitively. For the fuzzer
 * (fuzz/fuzz_server.c) and tests; ss_http_defer / resume work as usual. */

struct local_req {
    const char *const *hdrs; /* name, value, name, value ... */
    int n_hdrs;
    char *args;              /* the query string, split in place */
    int n_args;
    char *keys[64], *vals[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int resumed;
};

static const char *local_header(const ss_http_req *r, const char *name) {
    for (int i = 0; i < r->local->n_hdrs; i++)
        if (!strcasecmp(r->local->hdrs[2 * i], name)) return r->local->hdrs[2 * i + 1];
    return NULL;
}

static const char *local_query(const ss_http_req *r, const char *name) {
    for (int i = 0; i < r->local->n_args; i++)
        if (!strcmp(r->local->keys[i], name)) return r->local->vals[i] ? r->local->vals[i] : "";
    return NULL;
}

static const char *local_bad_arg(const ss_http_req *r) {
    for (int i = 0; i < r->local->n_args; i++) {
        const char *k = r->local->keys[i], *v = r->local->vals[i];
        if (ss__utf8_check(k, strlen(k)) || (v && ss__utf8_check(v, strlen(v)))) return k;
    }
    return NULL;
}

static void local_resume(ss_http_req *r) {
    pthread_mutex_lock(&r->local->mu);
    r->local->resumed = 1;
    pthread_cond_signal(&r->local->cv);
    pthread_mutex_unlock(&r->local->mu);
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In place, as MHD_http_unescape: %XX decoded, anything else kept. */
static void unescape(char *s, int plus) {
    char *w = s;
    for (char *p = s; *p;) {
        if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            *w++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 3;
        } else {
            *w++ = plus && *p == '+' ? ' ' : *p;
            p++;
        }
    }
    *w = '\0';
}

static void local_split_args(struct local_req *l) {
    for (char *p = l->args; p && *p && l->n_args < 64;) {
        char *amp = strchr(p, '&');
        if (amp) *amp = '\0';
        if (*p) {
            char *eq = strchr(p, '=');
            if (eq) *eq = '\0';
            unescape(p, 1);
            if (eq) unescape(eq + 1, 1);
            l->keys[l->n_args] = p;
            l->vals[l->n_args++] = eq ? eq + 1 : NULL;
        }
        p = amp ? amp + 1 : NULL;
    }
}

int ss_http_local_request(ss_http *h, const char *method, const char *url, const char *const *headers,
                          int n_headers, const char *body, size_t len, ss_http_resp *out) {
    memset(out, 0, sizeof *out);
    if (!h || !h->o.local) return -1;
    struct local_req l = {.hdrs = headers, .n_hdrs = n_headers > 0 ? n_headers : 0};
    ss_http_req r = {.h = h, .t_line = now_s(), .headers_done = 1, .local = &l};
    snprintf(r.method, sizeof r.method, "%s", method);
    const char *q = strchr(url, '?');
    size_t plen = q ? (size_t)(q - url) : strlen(url);
    if (!(r.path = strndup(url, plen)) || !(r.raw_path = strndup(url, plen)) || (q && !(l.args = strdup(q + 1)))) {
        free(r.path);
        free(r.raw_path);
        return -1;
    }
    unescape(r.path, 0);
    local_split_args(&l);
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    pthread_mutex_lock(&h->mu);
    h->in_flight++;
    pthread_mutex_unlock(&h->mu);
    ss_http_resp resp = {0};
    int rc = 0;
    if (!early_checks(&r, &resp)) {
        if (len > h->o.max_body_bytes) r.too_big = 1;
        else if (len && !(r.body = malloc(len + 1))) rc = -1;
        else if (len) {
            memcpy(r.body, body, len);
            r.body[len] = '\0';
            r.len = r.cap = len;
        }
        int deferred = 0;
        if (rc == 0) dispatch(&r, &resp, &deferred);
        if (deferred) {
            resp_clear(&resp);
            pthread_mutex_lock(&l.mu);
            while (!l.resumed) pthread_cond_wait(&l.cv, &l.mu);
            pthread_mutex_unlock(&l.mu);
            r.finish(&r, &resp, r.finish_user);
        }
    }
    if (rc == 0) {
        if (resp.status == 0) ss_http_es_error(&resp, 500, "exception", "handler produced no response");
        maybe_pretty(&r, &resp);
        if (!resp.content_type) resp.content_type = json_type(r.compat);
        resp_utf8_fix(&resp, resp.content_type);
        *out = resp;
    } else {
        resp_clear(&resp);
    }
    pthread_mutex_lock(&h->mu);
    if (r.deferred) h->suspended--;
    if (--h->in_flight == 0 || h->suspended == 0) pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->mu);
    pthread_cond_destroy(&l.cv);
    pthread_mutex_destroy(&l.mu);
    ss_route_match_clear(&r.match);
    free(r.path);
    free(r.raw_path);
    free(r.body);
    free(l.args);
    return rc;
}

void ss_http_resp_free(ss_http_resp *resp) { resp_clear(resp); }
