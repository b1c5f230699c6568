/* cmd_serve.c — `semsearch serve`: the Elasticsearch-compatible and embedding
 * HTTP server (src/server/). Loads the model once, serves until SIGTERM or
 * SIGINT, then shuts down gracefully (in-flight requests finish). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "commands.h"
#include "server/server.h"

static void usage(void) {
    fprintf(stderr,
            "usage: semsearch serve [options]\n"
            "  --data DIR              collections folder (default ./semsearch-data; created if missing)\n"
            "  --host ADDR             bind address (default 127.0.0.1: loopback only)\n"
            "  --port N                port (default 9200; 0 = any free port, printed on stdout)\n"
            "  --model DIR|ORG/NAME    model folder or a model cached by `semsearch pull`\n"
            "  --model-id NAME         model name reported by /info and /v1/embeddings\n"
            "  --threads N             encoder threads (default: all cores)\n"
            "  --max-seq-length N      truncate inputs to N tokens (default: the model's)\n"
            "  --http-threads N        HTTP worker threads (default 4)\n"
            "  --max-body-bytes N      request body limit (default 104857600 = 100 MB; 413 beyond)\n"
            "  --idle-timeout S        close connections idle for S seconds (default 60)\n"
            "  --header-timeout S      refuse requests whose headers took longer than S seconds (default 30)\n"
            "  --max-connections N     open connections at most (default 10000)\n"
            "  --max-connections-per-ip N   (default unlimited)\n"
            "  --max-batch N           sequences per encoder batch (default 32)\n"
            "  --max-batch-tokens N    tokens per encoder batch (default 8192)\n"
            "  --batch-wait-us N       wait up to N us for more texts to share a batch (default 1000; 0 = none)\n"
            "  --max-queued N          texts waiting for the encoder before 429 (default 8192)\n"
            "  --max-client-batch N    inputs per embedding request (default 512)\n"
            "  --api-keys FILE         require 'Authorization: ApiKey K' or 'Bearer K', K one line of FILE\n"
            "  --tls-cert FILE --tls-key FILE   serve HTTPS (PEM files)\n"
            "  --grace S               on SIGTERM, wait up to S seconds for requests in flight (default 30)\n"
            "  --log-level L           error|warn|info|debug (default info: one access-log line per request)\n");
}

static int log_level(const char *v) {
    const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) return i;
    fprintf(stderr, "semsearch serve: --log-level must be error, warn, info or debug, not '%s'\n", v);
    exit(2);
}

int cmd_serve(int argc, char **argv) {
    ss_server_options so = {0};
    so.http.port = 9200;
    so.data_dir = "semsearch-data";
    const char *model = NULL;
    int threads = 0, msl = 0, grace = 30, wait_set = 0;
    so.http.log_level = SS_LOG_INFO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else if (!strcmp(a, "--data")) so.data_dir = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--host")) so.http.host = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--port")) so.http.port = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--model")) model = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--model-id")) so.model_id = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--threads")) threads = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-seq-length")) msl = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--http-threads")) so.http.threads = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-body-bytes")) so.http.max_body_bytes = (size_t)cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--idle-timeout")) so.http.idle_timeout_s = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--header-timeout")) so.http.header_timeout_s = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-connections")) so.http.max_connections = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-connections-per-ip"))
            so.http.max_connections_per_ip = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-batch")) so.batch.max_batch = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-batch-tokens")) so.batch.max_tokens = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--batch-wait-us")) {
            int us = cli_int(a, cli_value(argc, argv, &i));
            so.batch.max_wait_us = us == 0 ? -1 : us;
            wait_set = 1;
        } else if (!strcmp(a, "--max-queued")) so.batch.max_queued = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--max-client-batch")) so.max_client_batch = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--api-keys")) so.api_keys_file = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--tls-cert")) so.tls_cert_file = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--tls-key")) so.tls_key_file = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--grace")) grace = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--log-level")) so.http.log_level = (ss_log_level)log_level(cli_value(argc, argv, &i));
        else {
            fprintf(stderr, "semsearch serve: unknown option %s\n", a);
            usage();
            return 2;
        }
    }
    (void)wait_set;
    if (so.http.port > 65535) {
        fprintf(stderr, "semsearch serve: --port must be 0..65535\n");
        return 2;
    }
    /* Signals go to this thread only (sigwait below): block them before any
     * thread (model pool, batcher, HTTP pool) starts, so all inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up is an error return, not a kill */
    /* Many idle keep-alive connections: allow as many descriptors as the hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    so.model_dir = cli_model_dir(model);
    ss_model *m = cli_load_model(model, threads, msl);
    if (!m) return 1;
    ss_error err;
    ss_server *s = ss_server_start(m, &so, &err);
    if (!s) {
        fprintf(stderr, "semsearch serve: %s\n", err.msg);
        ss_model_free(m);
        return 1;
    }
    printf("semsearch serve: listening on %s://%s:%d (model %s, dim %d, data %s)\n",
           ss_server_tls(s) ? "https" : "http", so.http.host ? so.http.host : "127.0.0.1", ss_server_port(s),
           so.model_dir, ss_model_dim(m), so.data_dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "semsearch serve: %s: shutting down (finishing requests in flight, up to %d s)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", grace);
    ss_server_stop(s, grace);
    ss_model_free(m);
    fprintf(stderr, "semsearch serve: stopped\n");
    return 0;
}
