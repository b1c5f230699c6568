/* test.h — a minimal assertion harness: each test_*.c is one ctest test.
 * CHECK records a failure and goes on; the program's exit code is the verdict.
 * Every check counts, so a test that asserts nothing reports "0 checks" and fails. */
#ifndef SS_TEST_H
#define SS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks_ = 0, test_failures_ = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        test_checks_++;                                                                  \
        if (!(cond)) {                                                                   \
            test_failures_++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECKF(cond, ...)                                                                \
    do {                                                                                 \
        test_checks_++;                                                                  \
        if (!(cond)) {                                                                   \
            test_failures_++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

/* Substring check for error messages (hay may be NULL or an array). */
static inline int test_contains_(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }
static inline const char *test_str_(const char *s) { return s ? s : "(null)"; }
#define CHECK_CONTAINS(hay, needle)                                                      \
    CHECKF(test_contains_((hay), (needle)), "\"%s\" does not contain \"%s\"",          \
           test_str_(hay), (needle))

/* Stop the test now (a precondition such as a missing model failed). */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        test_checks_++;                                                                  \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);   \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static inline int test_report_(const char *name) {
    if (test_checks_ == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, test_checks_, test_failures_);
    return test_failures_ ? 1 : 0;
}
#define TEST_REPORT() test_report_(__FILE__)

#endif
