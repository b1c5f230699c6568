/* harness.h — start `semsearch serve --port 0` as a child, read the port it
 * prints, talk raw HTTP/1.1 to it over loopback sockets, and ALWAYS stop it:
 * the child gets PR_SET_PDEATHSIG(SIGKILL), and atexit + fatal-signal
 * handlers kill every child still running. */
#ifndef SS_TEST_SERVER_HARNESS_H
#define SS_TEST_SERVER_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_MAX_SERVERS 4

typedef struct test_server {
    pid_t pid;
    int port;
    int out_fd; /* the child's stdout */
} test_server;

static pid_t harness_pids_[HARNESS_MAX_SERVERS];

static inline void harness_kill_all_(void) {
    for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
        if (harness_pids_[i] > 0) {
            kill(harness_pids_[i], SIGKILL);
            waitpid(harness_pids_[i], NULL, 0);
            harness_pids_[i] = 0;
        }
}

static inline void harness_fatal_(int sig) {
    for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
        if (harness_pids_[i] > 0) kill(harness_pids_[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void harness_forget_(pid_t pid) {
    for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
        if (harness_pids_[i] == pid) harness_pids_[i] = 0;
}

static inline double harness_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Start `SEMSEARCH_CLI serve --port 0 --log-level warn ARGS...` (args NULL-terminated).
 * Returns 0 with s->port set, -1 (with a message) if it did not come up in 60 s. */
static inline int server_start(test_server *s, const char *const *args) {
    static int installed;
    if (!installed) {
        installed = 1;
        atexit(harness_kill_all_);
        signal(SIGSEGV, harness_fatal_);
        signal(SIGABRT, harness_fatal_);
        signal(SIGTERM, harness_fatal_);
        signal(SIGINT, harness_fatal_);
        signal(SIGBUS, harness_fatal_);
        signal(SIGPIPE, SIG_IGN);
    }
    int fds[2];
    if (pipe(fds) != 0) return -1;
    const char *argv[64] = {SEMSEARCH_CLI, "serve", "--port", "0", "--log-level", "warn"};
    int n = 6;
    for (int i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        perror("execv semsearch");
        _exit(127);
    }
    close(fds[1]);
    for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
        if (harness_pids_[i] == 0) {
            harness_pids_[i] = pid;
            break;
        }
    s->pid = pid;
    s->out_fd = fds[0];
    s->port = 0;
    char line[1024];
    size_t len = 0;
    double t0 = harness_now();
    while (harness_now() - t0 < 60) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 500) <= 0) continue;
        ssize_t k = read(fds[0], line + len, sizeof line - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
        line[len] = '\0';
        const char *at = strstr(line, "listening on http");
        /* "listening on http://HOST:PORT (model ..." — HOST may be [v6] */
        const char *sp = at ? strstr(at, " (") : NULL, *colon = NULL;
        for (const char *q = at; sp && q < sp; q++)
            if (*q == ':') colon = q;
        if (colon && sp) {
            s->port = atoi(colon + 1);
            return s->port > 0 ? 0 : -1;
        }
    }
    fprintf(stderr, "harness: the server did not print its port (output so far: %.*s)\n", (int)len, line);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    harness_forget_(pid);
    return -1;
}

/* SIGTERM, then wait up to timeout_s; returns the exit status (or -1 if it had to be killed). */
static inline int server_stop(test_server *s, double timeout_s) {
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    double t0 = harness_now();
    int st = 0, rc = -1;
    while (harness_now() - t0 < timeout_s) {
        pid_t w = waitpid(s->pid, &st, WNOHANG);
        if (w == s->pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        usleep(20000);
    }
    if (rc < 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    harness_forget_(s->pid);
    close(s->out_fd);
    s->pid = 0;
    return rc;
}

/* ---- raw HTTP/1.1 ------------------------------------------------------------ */

static inline int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

typedef struct http_resp {
    int status;
    char head[16384]; /* status line + headers, NUL-terminated */
    char *body;       /* malloc'd, NUL-terminated */
    size_t len;
} http_resp;

static inline void http_resp_free(http_resp *r) {
    free(r->body);
    r->body = NULL;
}

/* Value of a response header (case-insensitive name), copied into buf; NULL if absent. */
static const char *resp_header(const http_resp *r, const char *name, char *buf, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (!strncasecmp(l, name, nl) && l[nl] == ':') {
            l += nl + 1;
            while (*l == ' ') l++;
            const char *e = strstr(l, "\r\n");
            size_t n = e ? (size_t)(e - l) : strlen(l);
            if (n >= cap) n = cap - 1;
            memcpy(buf, l, n);
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

/* Read one response from fd (Content-Length bodies; none for HEAD). 0 ok, -1 error/timeout. */
static inline int read_resp(int fd, int is_head, http_resp *r, int timeout_ms) {
    memset(r, 0, sizeof *r);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t hl = 0;
    char *end = NULL;
    while (!end) {
        if (hl + 1 >= sizeof r->head) return -1;
        ssize_t k = recv(fd, r->head + hl, 1, 0); /* byte by byte: never read past the headers */
        if (k <= 0) return -1;
        hl += (size_t)k;
        r->head[hl] = '\0';
        if (hl >= 4 && !memcmp(r->head + hl - 4, "\r\n\r\n", 4)) end = r->head + hl;
    }
    r->status = atoi(r->head + 9);
    char cl[32];
    size_t want = resp_header(r, "Content-Length", cl, sizeof cl) ? strtoull(cl, NULL, 10) : 0;
    if (is_head) want = 0;
    r->body = malloc(want + 1);
    if (!r->body) return -1;
    while (r->len < want) {
        ssize_t k = recv(fd, r->body + r->len, want - r->len, 0);
        if (k <= 0) return -1;
        r->len += (size_t)k;
    }
    r->body[r->len] = '\0';
    return 0;
}

/* One request on a fresh connection. extra_headers: "Name: v\r\n..." or NULL. */
static inline int http_do(int port, const char *method, const char *path, const char *extra_headers, const char *body,
                   http_resp *r) {
    int fd = tcp_connect(port);
    if (fd < 0) return -1;
    size_t bl = body ? strlen(body) : 0;
    size_t cap = 1024 + strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + bl;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     method, path, extra_headers ? extra_headers : "", bl);
    if (body) memcpy(req + n, body, bl);
    int rc = send_all(fd, req, (size_t)n + bl);
    free(req);
    if (rc == 0) rc = read_resp(fd, !strcmp(method, "HEAD"), r, 120000);
    close(fd);
    return rc;
}

#endif
