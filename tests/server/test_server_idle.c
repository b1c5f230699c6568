/* test_server_idle.c — 10,000 concurrent idle TCP connections to `semsearch
 * serve` (issue 10): the server raises its soft open-file limit to the hard
 * one by itself (started here with a soft limit of 1,024), accepts all of
 * them, still answers a new client's request and a request on one of the
 * idle connections promptly, and closes every idle one after --idle-timeout;
 * afterwards its descriptors are back to a handful and it stops cleanly.
 * The test process raises its own RLIMIT_NOFILE for its side of the 10,000. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "harness.h"
#include "test.h"

enum { N_IDLE = 10000, IDLE_TIMEOUT_S = 4 };

static int count_fds(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n - 2;
}

static long soft_nofile_of(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    long soft = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Max open files", 14)) soft = strtol(line + 14, NULL, 10);
    if (f) fclose(f);
    return soft;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECKF(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= N_IDLE + 512,
           "the hard open-file limit %llu cannot hold %d connections on each side (raise it: ulimit -Hn)",
           (unsigned long long)rl.rlim_max, N_IDLE);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < N_IDLE + 512) return TEST_REPORT();
    /* the server inherits a small soft limit and must raise it itself */
    struct rlimit small = {1024, rl.rlim_max};
    REQUIRE(setrlimit(RLIMIT_NOFILE, &small) == 0);
    char tmpdir[] = "/tmp/ss-test-idle-XXXXXX";
    REQUIRE(mkdtemp(tmpdir) != NULL);
    char data[512], idle[16];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(idle, sizeof idle, "%d", IDLE_TIMEOUT_S);
    test_server s;
    const char *args[] = {"--data", data, "--model", SEMSEARCH_MODEL_DIR, "--idle-timeout", idle,
                          "--max-connections", "12000", NULL};
    REQUIRE(server_start(&s, args) == 0);
    long srv_soft = soft_nofile_of(s.pid);
    CHECKF(srv_soft == (long)rl.rlim_max || (rl.rlim_max == RLIM_INFINITY && srv_soft < 0),
           "the server's soft open-file limit is %ld, not the hard limit %llu", srv_soft,
           (unsigned long long)rl.rlim_max);
    struct rlimit big = {rl.rlim_max == RLIM_INFINITY ? N_IDLE + 1024 : rl.rlim_max, rl.rlim_max};
    REQUIRE(setrlimit(RLIMIT_NOFILE, &big) == 0);
    int base_fds = count_fds(s.pid);

    static int fds[N_IDLE];
    int opened = 0;
    double t0 = harness_now();
    for (int i = 0; i < N_IDLE; i++) {
        fds[i] = tcp_connect(s.port);
        if (fds[i] < 0) {
            fprintf(stderr, "connect %d failed: %s\n", i, strerror(errno));
            break;
        }
        opened++;
    }
    double t_open = harness_now() - t0;
    CHECKF(opened == N_IDLE, "opened %d of %d connections", opened, N_IDLE);
    /* wait until the server has accepted them all */
    int srv_fds = 0;
    while (harness_now() - t0 < 30 && (srv_fds = count_fds(s.pid)) < base_fds + opened) usleep(50000);
    double t_accepted = harness_now() - t0;
    CHECKF(srv_fds >= base_fds + opened, "the server holds %d descriptors, want >= %d", srv_fds, base_fds + opened);
    printf("opened %d connections in %.2f s; the server had accepted them all after %.2f s (%d descriptors)\n",
           opened, t_open, t_accepted, srv_fds);

    /* a new client is served promptly */
    http_resp r;
    double t1 = harness_now();
    int rc = http_do(s.port, "GET", "/", NULL, NULL, &r);
    double served = harness_now() - t1;
    CHECKF(rc == 0 && r.status == 200 && served < 2.0, "GET / with %d idle connections: rc %d status %d in %.3f s",
           opened, rc, r.status, served);
    if (rc == 0) http_resp_free(&r);
    /* and so is a request on one of the idle connections (keep-alive) */
    const char *req = "GET /_cluster/health HTTP/1.1\r\nHost: x\r\n\r\n";
    int mid = opened / 2;
    double t2 = harness_now();
    rc = opened > mid ? send_all(fds[mid], req, strlen(req)) : -1;
    if (rc == 0) rc = read_resp(fds[mid], 0, &r, 5000);
    double served2 = harness_now() - t2;
    CHECKF(rc == 0 && r.status == 200 && served2 < 2.0, "a request on idle connection %d: rc %d in %.3f s", mid, rc,
           served2);
    if (rc == 0) http_resp_free(&r);
    printf("GET / on a new connection: %.1f ms; GET /_cluster/health on an idle one: %.1f ms\n", served * 1000,
           served2 * 1000);

    /* every idle connection is closed by the server after the idle timeout */
    double t_idle0 = harness_now();
    int closed = 0, early = 0;
    static char done[N_IDLE];
    memset(done, 0, sizeof done);
    while (closed < opened && harness_now() - t_idle0 < IDLE_TIMEOUT_S + 20) {
        for (int i = 0; i < opened; i++) {
            if (done[i]) continue;
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 0) > 0) {
                char b[256];
                ssize_t k = recv(fds[i], b, sizeof b, MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN)) {
                    done[i] = 1;
                    closed++;
                    /* closed well before its idle timeout could have passed? */
                    if (harness_now() - t0 < IDLE_TIMEOUT_S - 1.0) early++;
                }
            }
        }
        usleep(100000);
    }
    double t_closed = harness_now() - t0;
    CHECKF(closed == opened, "%d of %d idle connections closed by the server within %d s after the timeout", closed,
           opened, 20);
    CHECKF(early == 0, "%d connections were closed before the %d s idle timeout", early, IDLE_TIMEOUT_S);
    printf("all %d idle connections closed by the server %.1f s after the first was opened (idle timeout %d s)\n",
           closed, t_closed, IDLE_TIMEOUT_S);
    for (int i = 0; i < opened; i++) close(fds[i]);
    int after = -1;
    for (int k = 0; k < 50 && (after = count_fds(s.pid)) > base_fds + 10; k++) usleep(100000);
    CHECKF(after <= base_fds + 10, "the server still holds %d descriptors (had %d before)", after, base_fds);
    rc = http_do(s.port, "GET", "/", NULL, NULL, &r);
    CHECK(rc == 0 && r.status == 200);
    if (rc == 0) http_resp_free(&r);
    CHECKF(server_stop(&s, 30) == 0, "clean exit on SIGTERM");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_REPORT();
}
