/* hub_fake.h — for the hub tests: run tests/hub/fake_hub.py (a stand-in for
 * the Hugging Face hub on 127.0.0.1, a free port) and scratch folders.
 * The server dies with the test (PR_SET_PDEATHSIG), after its --lifetime at
 * the latest, and fake_hub_stop kills it explicitly. */
#ifndef SS_TESTS_HUB_FAKE_H
#define SS_TESTS_HUB_FAKE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fake_hub {
    pid_t pid;
    int port;
    char url[64];
    char log[2048];
} fake_hub;

/* Start the server; extra: NULL-terminated extra arguments (--cut, --token).
 * Returns 0 on success. */
static inline int fake_hub_start(fake_hub *h, const char *log_path, const char *const *extra) {
    memset(h, 0, sizeof *h);
    snprintf(h->log, sizeof h->log, "%s", log_path);
    int fds[2];
    if (pipe(fds) != 0) return -1;
    const char *argv[32];
    int k = 0;
    argv[k++] = "python3";
    argv[k++] = SEMSEARCH_TESTS_DIR "/hub/fake_hub.py";
    argv[k++] = "--root";
    argv[k++] = SEMSEARCH_TESTS_DIR "/hub/fixture";
    argv[k++] = "--log";
    argv[k++] = log_path;
    argv[k++] = "--lifetime";
    argv[k++] = "240";
    for (int i = 0; extra && extra[i] && k < 30; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    h->pid = pid;
    char buf[32];
    size_t n = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    while (n < sizeof buf - 1) {
        int r = poll(&p, 1, 15000);
        if (r <= 0) break;
        ssize_t got = read(fds[0], buf + n, 1);
        if (got <= 0) break;
        if (buf[n] == '\n') break;
        n++;
    }
    buf[n] = '\0';
    close(fds[0]);
    h->port = atoi(buf);
    if (h->port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        h->pid = 0;
        fprintf(stderr, "fake_hub: the server did not start (is python3 on PATH?)\n");
        return -1;
    }
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d", h->port);
    return 0;
}

static inline void fake_hub_stop(fake_hub *h) {
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(h->pid, NULL, WNOHANG) == h->pid) {
                h->pid = 0;
                return;
            }
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = 0;
    }
}

/* The log's contents (malloc'd, "" when absent). */
static char *fake_hub_log(const fake_hub *h) {
    FILE *f = fopen(h->log, "rb");
    if (!f) {
        char *e = malloc(1);
        if (e) e[0] = '\0';
        return e;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b) {
        size_t got = fread(b, 1, (size_t)n, f);
        b[got] = '\0';
    }
    fclose(f);
    return b;
}

static inline void fake_hub_clear_log(const fake_hub *h) {
    FILE *f = fopen(h->log, "w");
    if (f) fclose(f);
}

/* Number of occurrences of needle in the log. */
static inline int fake_hub_count(const fake_hub *h, const char *needle) {
    char *log = fake_hub_log(h);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    free(log);
    return n;
}

/* ---- scratch folders */
static inline int rm_entry_(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}
static inline void rm_rf(const char *path) { nftw(path, rm_entry_, 16, FTW_DEPTH | FTW_PHYS); }

static inline int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static inline long file_size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* 1 if the two files have the same bytes. */
static inline int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* Copy the first n bytes of src to dst (n < 0: all), or fill with byte c when c >= 0. */
static inline int write_prefix(const char *src, const char *dst, long n, int c) {
    FILE *in = c < 0 ? fopen(src, "rb") : NULL, *out = fopen(dst, "wb");
    if ((c < 0 && !in) || !out) {
        if (in) fclose(in);
        if (out) fclose(out);
        return -1;
    }
    for (long i = 0; n < 0 || i < n; i++) {
        int ch = c >= 0 ? c : fgetc(in);
        if (ch == EOF) break;
        fputc(ch, out);
    }
    if (in) fclose(in);
    fclose(out);
    return 0;
}

/* Make a scratch folder under $TMPDIR (or /tmp) into buf. */
static inline int make_scratch(char *buf, size_t cap, const char *tag) {
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s/semsearch-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    return mkdtemp(buf) ? 0 : -1;
}

/* Loopback traffic must not go through a proxy from the environment. */
static inline void no_proxy_for_loopback(void) {
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    setenv("no_proxy", "127.0.0.1,localhost", 1);
}

#endif
