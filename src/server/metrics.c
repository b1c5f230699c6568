/* metrics.c — counters kept under one mutex; rendered on demand. The label
 * set is small and fixed by the route table, so a linear list suffices. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double LAT_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_LAT (int)(sizeof LAT_BUCKETS / sizeof LAT_BUCKETS[0])
static const int BATCH_BUCKETS[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_BATCH (int)(sizeof BATCH_BUCKETS / sizeof BATCH_BUCKETS[0])

typedef struct req_series {
    char *route;
    char method[8];
    int status;
    unsigned long count;
} req_series;

typedef struct route_latency {
    char *route;
    unsigned long buckets[N_LAT]; /* non-cumulative; cumulated when rendered */
    unsigned long count;
    double sum;
} route_latency;

struct ss_metrics {
    pthread_mutex_t mu;
    req_series *req;
    int n_req, cap_req;
    route_latency *lat;
    int n_lat, cap_lat;
    unsigned long batch_buckets[N_BATCH + 1], batches, sequences;
    double batch_sum, encode_seconds;
    unsigned long tokens;
    long queue_depth;
};

ss_metrics *ss_metrics_new(void) {
    ss_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void ss_metrics_free(ss_metrics *m) {
    if (!m) return;
    for (int i = 0; i < m->n_req; i++) free(m->req[i].route);
    for (int i = 0; i < m->n_lat; i++) free(m->lat[i].route);
    free(m->req);
    free(m->lat);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int grow(void **arr, int *cap, int n, size_t elem) {
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, (size_t)nc * elem);
    if (!na) return -1;
    *arr = na;
    *cap = nc;
    return 0;
}

void ss_metrics_request(ss_metrics *m, const char *route, const char *method, int status, double seconds) {
    if (!m) return;
    if (!route) route = "unmatched";
    pthread_mutex_lock(&m->mu);
    int i;
    for (i = 0; i < m->n_req; i++)
        if (m->req[i].status == status && !strcmp(m->req[i].method, method) && !strcmp(m->req[i].route, route)) break;
    if (i == m->n_req && grow((void **)&m->req, &m->cap_req, m->n_req, sizeof *m->req) == 0 &&
        (m->req[i].route = strdup(route))) {
        snprintf(m->req[i].method, sizeof m->req[i].method, "%s", method);
        m->req[i].status = status;
        m->req[i].count = 0;
        m->n_req++;
    }
    if (i < m->n_req) m->req[i].count++;
    for (i = 0; i < m->n_lat; i++)
        if (!strcmp(m->lat[i].route, route)) break;
    if (i == m->n_lat && grow((void **)&m->lat, &m->cap_lat, m->n_lat, sizeof *m->lat) == 0 &&
        (m->lat[i].route = strdup(route))) {
        memset(m->lat[i].buckets, 0, sizeof m->lat[i].buckets);
        m->lat[i].count = 0;
        m->lat[i].sum = 0;
        m->n_lat++;
    }
    if (i < m->n_lat) {
        route_latency *l = &m->lat[i];
        int b = 0;
        while (b < N_LAT && seconds > LAT_BUCKETS[b]) b++;
        if (b < N_LAT) l->buckets[b]++;
        l->count++;
        l->sum += seconds;
    }
    pthread_mutex_unlock(&m->mu);
}

void ss_metrics_batch(ss_metrics *m, int sequences, long tokens, double seconds) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    int b = 0;
    while (b < N_BATCH && sequences > BATCH_BUCKETS[b]) b++;
    m->batch_buckets[b]++;
    m->batches++;
    m->batch_sum += sequences;
    m->sequences += (unsigned long)sequences;
    m->tokens += (unsigned long)tokens;
    m->encode_seconds += seconds;
    pthread_mutex_unlock(&m->mu);
}

void ss_metrics_queue_depth(ss_metrics *m, long depth) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->queue_depth = depth;
    pthread_mutex_unlock(&m->mu);
}

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void out(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap * 2 + (size_t)n + 1;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

/* Route patterns hold only URL characters, but escape the two Prometheus
 * label metacharacters anyway. */
static const char *label(const char *s, char *buf, size_t cap) {
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') buf[o++] = '\\';
        buf[o++] = *s;
    }
    buf[o] = '\0';
    return buf;
}

char *ss_metrics_render(ss_metrics *m, size_t *len) {
    sbuf b = {.s = malloc(4096), .cap = 4096};
    if (!b.s) return NULL;
    char lb[512];
    pthread_mutex_lock(&m->mu);
    out(&b, "# HELP semsearch_http_requests_total HTTP requests by route pattern, method and status.\n"
            "# TYPE semsearch_http_requests_total counter\n");
    for (int i = 0; i < m->n_req; i++)
        out(&b, "semsearch_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %lu\n",
            label(m->req[i].route, lb, sizeof lb), m->req[i].method, m->req[i].status, m->req[i].count);
    out(&b, "# HELP semsearch_http_request_duration_seconds Request latency, first byte in to last byte queued.\n"
            "# TYPE semsearch_http_request_duration_seconds histogram\n");
    for (int i = 0; i < m->n_lat; i++) {
        route_latency *l = &m->lat[i];
        unsigned long cum = 0;
        label(l->route, lb, sizeof lb);
        for (int k = 0; k < N_LAT; k++) {
            cum += l->buckets[k];
            out(&b, "semsearch_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", lb, LAT_BUCKETS[k],
                cum);
        }
        out(&b, "semsearch_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", lb, l->count);
        out(&b, "semsearch_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", lb, l->sum);
        out(&b, "semsearch_http_request_duration_seconds_count{route=\"%s\"} %lu\n", lb, l->count);
    }
    out(&b, "# HELP semsearch_batch_size Sequences per encoder batch (dynamic batching across requests).\n"
            "# TYPE semsearch_batch_size histogram\n");
    unsigned long cum = 0;
    for (int k = 0; k < N_BATCH; k++) {
        cum += m->batch_buckets[k];
        out(&b, "semsearch_batch_size_bucket{le=\"%d\"} %lu\n", BATCH_BUCKETS[k], cum);
    }
    out(&b, "semsearch_batch_size_bucket{le=\"+Inf\"} %lu\n", m->batches);
    out(&b, "semsearch_batch_size_sum %.0f\nsemsearch_batch_size_count %lu\n", m->batch_sum, m->batches);
    out(&b, "# HELP semsearch_embedded_sequences_total Sequences encoded.\n"
            "# TYPE semsearch_embedded_sequences_total counter\nsemsearch_embedded_sequences_total %lu\n",
        m->sequences);
    out(&b, "# HELP semsearch_embedded_tokens_total Tokens encoded (rate() = tokens/s).\n"
            "# TYPE semsearch_embedded_tokens_total counter\nsemsearch_embedded_tokens_total %lu\n",
        m->tokens);
    out(&b, "# HELP semsearch_encode_seconds_total Seconds the encoder spent on batches.\n"
            "# TYPE semsearch_encode_seconds_total counter\nsemsearch_encode_seconds_total %.6f\n",
        m->encode_seconds);
    out(&b, "# HELP semsearch_queue_depth Texts waiting for the encoder.\n"
            "# TYPE semsearch_queue_depth gauge\nsemsearch_queue_depth %ld\n",
        m->queue_depth);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    *len = b.len;
    return b.s;
}
