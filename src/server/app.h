/* app.h — the server's state as the handlers see it (ss_http_app(r)), and
 * the route groups each handler file registers. Internal to src/server/. */
#ifndef SS_SERVER_APP_H
#define SS_SERVER_APP_H

#include "server/batcher.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server.h"

struct ss_server {
    ss_model *model;
    ss_batcher *batcher;
    ss_metrics *metrics;
    ss_router *router;
    ss_auth *auth;
    ss_http *http;
    char *tls_cert, *tls_key;
    char model_id[512];
    char pooling[64];
    char node_name[128], cluster_name[128];
    char cluster_uuid[32], node_id[32];
    char data_dir[4096];
    struct es_registry *es; /* the Elasticsearch indices (es_store.c) */
    int max_client_batch;
    double started;
};

/* es_basic.c: GET|HEAD /, GET /_cluster/health */
int ss_es_basic_routes(ss_router *rt);
/* embed_api.c: TEI's /embed /tokenize /info /health (and POST /), OpenAI's /v1/embeddings, /metrics */
int ss_embed_routes(ss_router *rt);

/* es_indices.c, es_docs.c, es_bulk.c, es_search.c: indices, documents, _bulk, _search over es_store.c */
int ss_es_routes(ss_router *rt);

#endif
