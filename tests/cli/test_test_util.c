/* The test harness itself: a malformed or missing golden file stops the test
 * (exit 1) instead of being read as fewer values. */
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "test_util.h"

static char dir[] = "/tmp/ss_test_util_XXXXXX";

static void put(const char *name, const char *text, size_t len) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    REQUIRE(f && fwrite(text, 1, len, f) == len && fclose(f) == 0);
}

/* Exit status of a child that reads dir/name as strings (kind 0) or floats (1). */
static int child_reads(const char *name, int kind) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        size_t n = 0;
        if (kind == 0) {
            char **s = tu_read_jsonl_strings(p, NULL, &n);
            tu_free_strings(s, n);
        } else {
            free(tu_read_f32(p, &n));
        }
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void) {
    REQUIRE(mkdtemp(dir));
    put("good.jsonl", "\"a\"\n\"b\"\n", 8);
    put("bad.jsonl", "\"a\"\n{\"x\": 1}\n\"c\"\n", 17);
    put("empty.jsonl", "", 0);
    put("good.f32", "\0\0\x80\x3f\0\0\0\0", 8);
    put("odd.f32", "\0\0\x80\x3f\0\0", 6);
    size_t n;
    char p[256];
    snprintf(p, sizeof p, "%s/good.jsonl", dir);
    char **s = tu_read_jsonl_strings(p, NULL, &n);
    CHECK(n == 2 && !strcmp(s[0], "a") && !strcmp(s[1], "b"));
    tu_free_strings(s, n);
    snprintf(p, sizeof p, "%s/good.f32", dir);
    float *v = tu_read_f32(p, &n);
    CHECK(n == 2 && v[0] == 1.0f && v[1] == 0.0f);
    free(v);
    CHECK(child_reads("bad.jsonl", 0) == 1);  /* line 2 is not a string */
    CHECK(child_reads("empty.jsonl", 0) == 1);
    CHECK(child_reads("missing.jsonl", 0) == 1);
    CHECK(child_reads("odd.f32", 1) == 1);    /* 6 bytes: not whole floats */
    CHECK(child_reads("missing.f32", 1) == 1);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    CHECK(system(p) == 0);
    return TEST_REPORT();
}
