/* http.h — the HTTP/1.1 layer of `semsearch serve`, over libmicrohttpd.
 *
 * One ss_http object owns an MHD daemon in thread-pool mode (epoll, N
 * threads), a router, request-body accumulation with a size limit, API-key
 * checks, the Elasticsearch headers every response carries, an access log
 * and graceful shutdown. Handlers see an ss_http_req and fill an
 * ss_http_resp; a handler that must wait for other threads (the embedding
 * batcher) defers: the connection is suspended (its MHD thread serves other
 * connections meanwhile) and resumed when the work is done.
 *
 * Thread safety: handlers run concurrently on the MHD pool threads; one
 * request is only ever touched by one thread at a time (its MHD thread, or
 * the thread that completes a deferred request before resuming it).
 */
#ifndef SS_SERVER_HTTP_H
#define SS_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "semsearch.h"

typedef struct ss_http ss_http;
typedef struct ss_http_req ss_http_req;
typedef struct ss_router ss_router;
typedef struct ss_metrics ss_metrics;
typedef struct ss_auth ss_auth;

typedef enum { SS_LOG_ERROR = 0, SS_LOG_WARN = 1, SS_LOG_INFO = 2, SS_LOG_DEBUG = 3 } ss_log_level;

#define SS_HTTP_MAX_HEADERS 8

/* A response being built. body is malloc'd and owned by the response. */
typedef struct ss_http_resp {
    int status;
    const char *content_type; /* NULL: the request's JSON media type */
    char *body;
    size_t len;
    int n_headers;
    char *header_names[SS_HTTP_MAX_HEADERS];
    char *header_values[SS_HTTP_MAX_HEADERS];
} ss_http_resp;

typedef struct ss_http_options {
    const char *host;           /* bind address; NULL = 127.0.0.1          */
    int port;                   /* 0 = any free port (ss_http_port says)  */
    int threads;                /* MHD pool threads; 0 = 4                */
    size_t max_body_bytes;      /* 0 = 100 MB (Elasticsearch's default)   */
    int idle_timeout_s;         /* idle connection timeout; 0 = 60        */
    int header_timeout_s;       /* request line to end of headers; 0 = 30 */
    int max_connections;        /* 0 = 10000                              */
    int max_connections_per_ip; /* 0 = unlimited                          */
    const char *tls_cert_pem;   /* both set: HTTPS (PEM text, not paths)  */
    const char *tls_key_pem;
    ss_log_level log_level;
    ss_router *router;          /* required; routes -> handlers           */
    ss_metrics *metrics;        /* may be NULL                            */
    const ss_auth *auth;        /* NULL: no authentication                */
    int local;                  /* 1: no socket; ss_http_local_request    */
} ss_http_options;

/* Start listening; NULL (err says why: address in use, bad TLS key...) on failure. */
ss_http *ss_http_start(const ss_http_options *opts, ss_error *err);
int ss_http_port(const ss_http *h);
int ss_http_tls(const ss_http *h);
/* Connections accepted at most: --max-connections, lowered to fit the open-file limit. */
int ss_http_max_connections(const ss_http *h);
/* Graceful stop in three steps: quiesce (stop accepting; responses from now
 * on say Connection: close), wait (up to grace_s seconds for the requests in
 * flight; returns how many are left), close (waits for every deferred request
 * to be resumed and answered — whoever holds them must finish or cancel them
 * — then closes all connections and frees everything). */
void ss_http_quiesce(ss_http *h);
int ss_http_wait(ss_http *h, int grace_s);
void ss_http_close(ss_http *h);

/* Log a line at a level (stderr, timestamped) if the server's level allows it. */
void ss_http_log(const ss_http *h, ss_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- inside a handler ---------------------------------------------------- */

const char *ss_http_method(const ss_http_req *r);
const char *ss_http_path(const ss_http_req *r);
const char *ss_http_header(const ss_http_req *r, const char *name); /* case-insensitive */
const char *ss_http_query(const ss_http_req *r, const char *name);  /* NULL if absent, "" for ?flag */
const char *ss_http_param(const ss_http_req *r, const char *name);  /* {name} in route  */
const char *ss_http_body(const ss_http_req *r, size_t *len);        /* NUL-terminated   */
void *ss_http_app(const ss_http_req *r);                            /* router's app ptr */
ss_http *ss_http_server(const ss_http_req *r);

/* Parse the body as JSON. NULL after filling resp with a 400 parsing_exception
 * in Elasticsearch's shape that names the byte offset (or "request body is
 * required" when empty). */
cJSON *ss_http_json_body(ss_http_req *r, ss_http_resp *resp);
/* The same parse, with the message in why (for APIs with other error shapes). */
cJSON *ss_http_parse_json(const ss_http_req *r, char *why, size_t cap);

/* Fill a response. ss_http_json prints and deletes obj. */
void ss_http_json(ss_http_resp *resp, int status, cJSON *obj);
void ss_http_text(ss_http_resp *resp, int status, const char *content_type, const char *text);
void ss_http_take(ss_http_resp *resp, int status, const char *content_type, char *body, size_t len);
void ss_http_add_header(ss_http_resp *resp, const char *name, const char *value);

/* An Elasticsearch error: {"error":{"root_cause":[{type,reason}],type,reason},"status":N}. */
void ss_http_es_error(ss_http_resp *resp, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Defer the response: the connection is suspended once the handler returns
 * SS_HTTP_DEFERRED. Another thread later calls ss_http_resume(r); then
 * finish(r, resp, user) runs on an MHD thread to fill the response. */
typedef void (*ss_http_finish_fn)(ss_http_req *r, ss_http_resp *resp, void *user);
#define SS_HTTP_DONE 0
#define SS_HTTP_DEFERRED 1
int ss_http_defer(ss_http_req *r, ss_http_finish_fn finish, void *user);
void ss_http_resume(ss_http_req *r);

/* ---- in-process requests (fuzzing, tests) ---------------------------------
 * On a server started with o.local = 1 (no socket, no daemon): run one
 * request — url with its query string, n_headers (name, value) pairs in
 * headers[2 * n], body of len bytes — through the same checks, routing and
 * handlers as a socket request and return its response in *out
 * (content_type always set; free with ss_http_resp_free). Deferred handlers
 * are waited for. Safe from several threads at once. -1 (out untouched
 * beyond zeroing) when h is not local or on out of memory. */
int ss_http_local_request(ss_http *h, const char *method, const char *url, const char *const *headers,
                          int n_headers, const char *body, size_t len, ss_http_resp *out);
void ss_http_resp_free(ss_http_resp *resp);

#endif
