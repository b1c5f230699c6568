/* cmd_serve.c — `semsearch serve`: the Elasticsearch-compatible and embedding
 * HTTP server (src/server/). Loads the model once, serves until SIGTERM or
 * SIGINT, then shuts down gracefully (in-flight requests finish). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "server/server.h"

/* SIGTERM / SIGINT -> one byte on a pipe that main() waits on. A handler (not
 * sigwait) because threads started before main (OpenBLAS's) do not block the
 * signals, and a process-directed signal may land on any of them. The write
 * end is set once, before the handler is installed. */
static int signal_pipe_w = -1;

static void on_signal(int sig) {
    unsigned char b = (unsigned char)sig;
    int saved = errno;
    if (write(signal_pipe_w, &b, 1) < 0) { /* nothing safe to do */
    }
    errno = saved;
}

static int log_level(const char *v) {
    const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

int cmd_serve(int argc, char **argv, const cli_globals *g) {
    ss_server_options so = {0};
    const char *model = NULL, *level = "info", *host = "127.0.0.1";
    int threads = 0, msl = 0, grace = 30, port = 9200, http_threads = 0, max_body = 0, idle = 0, hdr = 0;
    int max_conn = 0, per_ip = 0, max_batch = 0, max_tokens = 0, wait_us = 1000, max_queued = 0, client_batch = 0;
    so.data_dir = g && g->data_dir ? g->data_dir : "semsearch-data";
    const cli_opt opts[] = {
        {"data", 0, CLI_STRING, &so.data_dir, "DIR", "collections folder (default: semsearch --data, $SEMSEARCH_DATA, ./semsearch-data)"},
        {"host", 0, CLI_STRING, &host, "ADDR", "bind address (default 127.0.0.1: loopback only; 0.0.0.0 or :: to listen beyond)"},
        {"port", 'p', CLI_INT, &port, "N", "port (default 9200; 0 = any free port, printed on stdout)", .lo = 0, .hi = 65535},
        {"model", 0, CLI_STRING, &model, "DIR", "model folder or cached ORG/NAME (default: bundled all-MiniLM-L6-v2)"},
        {"model-id", 0, CLI_STRING, &so.model_id, "NAME", "model name reported by /info and /v1/embeddings"},
        {"threads", 0, CLI_INT, &threads, "N", "encoder threads (default: all cores)", .hi = CLI_THREADS},
        {"max-seq-length", 0, CLI_INT, &msl, "N", "truncate inputs to N tokens (default: the model's)"},
        {"http-threads", 0, CLI_INT, &http_threads, "N", "HTTP worker threads (default 4)", .lo = 0, .hi = 256},
        {"max-body-bytes", 0, CLI_INT, &max_body, "N", "request body limit (default 104857600 = 100 MB, as Elasticsearch; 413 beyond)"},
        {"idle-timeout", 0, CLI_INT, &idle, "S", "close connections idle for S seconds (default 60)"},
        {"header-timeout", 0, CLI_INT, &hdr, "S", "refuse requests whose headers took longer than S seconds (default 30)"},
        {"max-connections", 0, CLI_INT, &max_conn, "N", "open connections at most (default 10000)"},
        {"max-connections-per-ip", 0, CLI_INT, &per_ip, "N", "open connections per client address (default unlimited)"},
        {"max-batch", 0, CLI_INT, &max_batch, "N", "sequences per encoder batch (default 32)", .lo = 0, .hi = 4096},
        {"max-batch-tokens", 0, CLI_INT, &max_tokens, "N", "tokens per encoder batch (default 8192)"},
        {"batch-wait-us", 0, CLI_INT, &wait_us, "N", "wait up to N us for more texts to share a batch (default 1000; 0 = never)"},
        {"max-queued", 0, CLI_INT, &max_queued, "N", "texts waiting for the encoder before 429 (default 8192)"},
        {"max-client-batch", 0, CLI_INT, &client_batch, "N", "inputs per embedding request (default 512)"},
        {"api-keys", 0, CLI_STRING, &so.api_keys_file, "FILE", "require 'Authorization: ApiKey K' or 'Bearer K', K a line of FILE"},
        {"tls-cert", 0, CLI_STRING, &so.tls_cert_file, "FILE", "serve HTTPS with this PEM certificate (with --tls-key)"},
        {"tls-key", 0, CLI_STRING, &so.tls_key_file, "FILE", "PEM private key for --tls-cert"},
        {"grace", 0, CLI_INT, &grace, "S", "on SIGTERM/SIGINT, wait up to S seconds for requests in flight (default 30)"},
        {"log-level", 0, CLI_STRING, &level, "L", "error|warn|info|debug (default info: one access-log line per request)"},
        {0}};
    const cli_spec spec = {"serve", "[options]",
                           "  serves the Elasticsearch-compatible API and the embedding endpoints (TEI /embed, OpenAI\n"
                           "  /v1/embeddings) over one model until SIGTERM or SIGINT; see docs/server.md",
                           opts, 0, 0, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    free(pos);
    int lv = log_level(level);
    if (lv < 0) return cli_usage_error(&spec, "--log-level must be error, warn, info or debug, not '%s'", level);
    so.http.log_level = (ss_log_level)lv;
    so.http.host = host;
    so.http.port = port;
    so.http.threads = http_threads;
    so.http.max_body_bytes = (size_t)max_body;
    so.http.idle_timeout_s = idle;
    so.http.header_timeout_s = hdr;
    so.http.max_connections = max_conn;
    so.http.max_connections_per_ip = per_ip;
    so.batch.max_batch = max_batch;
    so.batch.max_tokens = max_tokens;
    so.batch.max_wait_us = wait_us == 0 ? -1 : wait_us;
    so.batch.max_queued = max_queued;
    so.max_client_batch = client_batch;
    int sp[2];
    if (pipe(sp) != 0) {
        perror("semsearch serve: pipe");
        return 1;
    }
    signal_pipe_w = sp[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
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
    getrlimit(RLIMIT_NOFILE, &rl);
    /* before the "listening on" line, which tests and scripts wait for */
    printf("semsearch serve: accepting up to %d connections (open-file limit %llu)\n", ss_server_max_connections(s),
           (unsigned long long)rl.rlim_cur);
    int v6 = strchr(host, ':') != NULL; /* an IPv6 address goes in brackets in a URL */
    printf("semsearch serve: listening on %s://%s%s%s:%d (model %s, dim %d, data %s)\n",
           ss_server_tls(s) ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", ss_server_port(s),
           so.model_dir, ss_model_dim(m), so.data_dir);
    fflush(stdout);
    /* poll with a timeout, not a blocking read: ThreadSanitizer runs a signal
     * handler that arrives during a blocking call only at the thread's next
     * intercepted call, so a read() that never returns would never see it. */
    unsigned char sig = 0;
    for (;;) {
        struct pollfd pf = {sp[0], POLLIN, 0};
        if (poll(&pf, 1, 500) > 0 && read(sp[0], &sig, 1) == 1) break;
    }
    fprintf(stderr, "semsearch serve: %s: shutting down (finishing requests in flight, up to %d s)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", grace);
    ss_server_stop(s, grace);
    ss_model_free(m);
    fprintf(stderr, "semsearch serve: stopped\n");
    return 0;
}
