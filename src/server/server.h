/* server.h — `semsearch serve`: one model, one batcher, one HTTP server.
 *
 * ss_server_start loads nothing itself: the caller passes a loaded model
 * (shared, immutable for the server's lifetime) and the server registers the
 * Elasticsearch basics, the embedding endpoints and /metrics on its router.
 * Thread safety: start and stop from one thread; everything in between runs
 * on the HTTP pool and the batcher thread.
 */
#ifndef SS_SERVER_SERVER_H
#define SS_SERVER_SERVER_H

#include "server/batcher.h"
#include "server/http.h"

typedef struct ss_server ss_server;

typedef struct ss_server_options {
    ss_http_options http;        /* router / metrics / auth are set by the server */
    ss_batcher_options batch;
    const char *data_dir;        /* collections live here (created if missing)    */
    const char *model_dir;       /* the model's folder: name and pooling for /info */
    const char *model_id;        /* name reported by /info, /v1/embeddings; NULL: */
                                 /* from the folder's pull manifest or its name   */
    const char *api_keys_file;   /* NULL: no authentication                       */
    const char *tls_cert_file;   /* both: HTTPS                                   */
    const char *tls_key_file;
    int max_client_batch;        /* inputs per embedding request; 0 = 512         */
    const char *node_name;       /* GET / "name"; NULL = "semsearch"              */
    const char *cluster_name;    /* NULL = "semsearch"                            */
} ss_server_options;

/* The model stays owned by the caller and must outlive the server. */
ss_server *ss_server_start(ss_model *model, const ss_server_options *opts, ss_error *err);
int ss_server_port(const ss_server *s);
int ss_server_tls(const ss_server *s);
int ss_server_max_connections(const ss_server *s); /* after the open-file limit */
/* Graceful: stop accepting, finish requests in flight (up to grace_s), stop
 * the batcher after its queue drains, free everything. */
void ss_server_stop(ss_server *s, int grace_s);

/* A server started with opts->http.local = 1 listens nowhere: requests go
 * through ss_server_request (the app's whole dispatch — checks, auth, routes,
 * handlers — without a socket; see ss_http_local_request). For the fuzzer
 * and in-process tests; ss_server_stop frees it as usual. */
int ss_server_request(ss_server *s, const char *method, const char *url, const char *const *headers,
                      int n_headers, const char *body, size_t len, ss_http_resp *out);

#endif
