/* server.c — wires model, batcher, metrics, auth, router and HTTP together,
 * and takes them apart again in the order that lets in-flight work finish:
 * HTTP (drains requests, deferred ones included) -> batcher -> the rest. */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/es_store.h"

static char *read_file(const char *path, ss_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ss_fail(err, SS_ERR_IO, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        fclose(f);
        ss_fail(err, SS_ERR_IO, "cannot read %s", path);
        return NULL;
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

/* 20 random bytes as URL-safe base64 (22 chars), the look of Elasticsearch's UUIDs. */
static void random_id(char *out, size_t cap) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[22];
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0) close(fd);
    if (got != (ssize_t)sizeof b) { /* no urandom: time-seeded, still unique enough per start */
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)((x = x * 6364136223846793005UL + 1) >> 33);
    }
    size_t i;
    for (i = 0; i < sizeof b && i + 1 < cap; i++) out[i] = tbl[b[i] & 63];
    out[i] = '\0';
}

ss_server *ss_server_start(ss_model *model, const ss_server_options *opts, ss_error *err) {
    ss_error_clear(err);
    ss_server *s = calloc(1, sizeof *s);
    if (!s) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->model = model;
    s->max_client_batch = opts->max_client_batch > 0 ? opts->max_client_batch : 512;
    snprintf(s->model_id, sizeof s->model_id, "%s", opts->model_id ? opts->model_id : "semsearch");
    snprintf(s->node_name, sizeof s->node_name, "%s", opts->node_name ? opts->node_name : "semsearch");
    snprintf(s->cluster_name, sizeof s->cluster_name, "%s", opts->cluster_name ? opts->cluster_name : "semsearch");
    random_id(s->cluster_uuid, sizeof s->cluster_uuid);
    random_id(s->node_id, sizeof s->node_id);
    snprintf(s->pooling, sizeof s->pooling, "mean");
    ss_hub_model info;
    if (opts->model_dir && ss_hub_model_info(opts->model_dir, &info, NULL) == SS_OK) {
        if (info.pooling && *info.pooling) snprintf(s->pooling, sizeof s->pooling, "%s", info.pooling);
        if (!opts->model_id && info.name && *info.name) snprintf(s->model_id, sizeof s->model_id, "%s", info.name);
        ss_hub_model_clear(&info);
    }
    if (opts->data_dir) {
        snprintf(s->data_dir, sizeof s->data_dir, "%s", opts->data_dir);
        if (mkdir(opts->data_dir, 0755) != 0 && errno != EEXIST) {
            ss_fail(err, SS_ERR_IO, "cannot create the data folder %s: %s", opts->data_dir, strerror(errno));
            goto fail;
        }
    }
    if (opts->api_keys_file && !(s->auth = ss_auth_load(opts->api_keys_file, err))) goto fail;
    if (!!opts->tls_cert_file != !!opts->tls_key_file) {
        ss_fail(err, SS_ERR_INVALID, "TLS needs both --tls-cert and --tls-key");
        goto fail;
    }
    if (opts->tls_cert_file && (!(s->tls_cert = read_file(opts->tls_cert_file, err)) ||
                                !(s->tls_key = read_file(opts->tls_key_file, err))))
        goto fail;
    if (!(s->metrics = ss_metrics_new()) || !(s->router = ss_router_new(s))) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(s->es = es_registry_open(s->data_dir, err))) goto fail;
    if (ss_es_basic_routes(s->router) != 0 || ss_embed_routes(s->router) != 0 || ss_es_routes(s->router) != 0) {
        ss_fail(err, SS_ERR_NOMEM, "cannot register routes");
        goto fail;
    }
    if (!(s->batcher = ss_batcher_new(model, &opts->batch, s->metrics, err))) goto fail;
    ss_http_options ho = opts->http;
    ho.router = s->router;
    ho.metrics = s->metrics;
    ho.auth = s->auth;
    ho.tls_cert_pem = s->tls_cert;
    ho.tls_key_pem = s->tls_key;
    if (!(s->http = ss_http_start(&ho, err))) goto fail;
    return s;
fail:
    es_registry_free(s->es);
    ss_batcher_free(s->batcher);
    ss_router_free(s->router);
    ss_metrics_free(s->metrics);
    ss_auth_free(s->auth);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
    return NULL;
}

int ss_server_port(const ss_server *s) { return ss_http_port(s->http); }

int ss_server_request(ss_server *s, const char *method, const char *url, const char *const *headers,
                      int n_headers, const char *body, size_t len, ss_http_resp *out) {
    return ss_http_local_request(s->http, method, url, headers, n_headers, body, len, out);
}
int ss_server_tls(const ss_server *s) { return ss_http_tls(s->http); }
int ss_server_max_connections(const ss_server *s) { return ss_http_max_connections(s->http); }

void ss_server_stop(ss_server *s, int grace_s) {
    if (!s) return;
    ss_http_quiesce(s->http);
    int left = ss_http_wait(s->http, grace_s);
    if (left) {
        /* Out of grace: texts not yet encoded are failed (503), the batch
         * being encoded finishes; then every deferred request can answer. */
        ss_http_log(s->http, SS_LOG_WARN, "shutdown: %d request(s) still running after %d s; cancelling queued texts",
                    left, grace_s);
        ss_batcher_cancel(s->batcher);
        ss_http_wait(s->http, 10);
    }
    ss_http_close(s->http);
    ss_batcher_free(s->batcher);
    es_registry_free(s->es);
    ss_router_free(s->router);
    ss_metrics_free(s->metrics);
    ss_auth_free(s->auth);
    if (s->tls_key) memset(s->tls_key, 0, strlen(s->tls_key));
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}
