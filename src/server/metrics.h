/* metrics.h — Prometheus counters for the server (GET /metrics, text format 0.0.4).
 *
 * requests by route pattern and status, a request-latency histogram, an
 * encoder batch-size histogram, sequences/tokens encoded (rate() of the
 * counters gives tokens/s), encoder busy seconds, and the batcher's queue depth.
 * Thread safety: every function may be called from any thread (one mutex). */
#ifndef SS_SERVER_METRICS_H
#define SS_SERVER_METRICS_H

#include <stddef.h>

typedef struct ss_metrics ss_metrics;

ss_metrics *ss_metrics_new(void);
void ss_metrics_free(ss_metrics *m);

/* One finished request: its route pattern ("/_cluster/health"; "unmatched"
 * when no route matched), method, HTTP status and wall time. */
void ss_metrics_request(ss_metrics *m, const char *route, const char *method, int status, double seconds);
/* One encoder batch: sequences, tokens, seconds spent in the encoder. */
void ss_metrics_batch(ss_metrics *m, int sequences, long tokens, double seconds);
/* Texts waiting in the batcher's queue now. */
void ss_metrics_queue_depth(ss_metrics *m, long depth);

/* The exposition text (malloc'd; *len its size). NULL on OOM. */
char *ss_metrics_render(ss_metrics *m, size_t *len);

#endif
