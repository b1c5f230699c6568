/* Vector files (tools/vecio.c) from hostile input: .npy headers parsed as a
 * dict (structured dtypes, '<f4' elsewhere, 3-D and overflowing shapes
 * refused), .fvecs whose dimension's low byte is '[' or '{' (d = 91, 123, 347)
 * not mistaken for JSONL, JSONL lines with two values, duplicate keys (the
 * last wins, as in Python), non-finite values refused. */
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "vecio.h"

static char dir[] = "/tmp/ss_vecio_XXXXXX";
static char path_[512];

static const char *put(const char *name, const void *data, size_t len) {
    snprintf(path_, sizeof path_, "%s/%s", dir, name);
    FILE *f = fopen(path_, "wb");
    REQUIRE(f && fwrite(data, 1, len, f) == len && fclose(f) == 0);
    return path_;
}

/* A v1 .npy with the given header dict and data bytes. */
static const char *put_npy(const char *name, const char *dict, const void *data, size_t dlen) {
    unsigned char buf[4096];
    size_t len = strlen(dict), total = 10 + len + 1, pad = (64 - total % 64) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(len + pad + 1);
    memcpy(buf + 8, &hl, 2);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', pad);
    buf[10 + len + pad] = '\n';
    memcpy(buf + 10 + len + pad + 1, data, dlen);
    return put(name, buf, 10 + len + pad + 1 + dlen);
}

static float *rd(const char *p, size_t *n, int *d, ss_error *err) {
    memset(err, 0, sizeof *err);
    *n = 0, *d = 0;
    return ss_read_vectors(p, n, d, err);
}

int main(void) {
    REQUIRE(mkdtemp(dir));
    ss_error err;
    size_t n;
    int d;
    float six[6] = {1, 2, 3, 4, 5, 6}, *v;

    /* good .npy: 2-D, 1-D, f8 */
    v = rd(put_npy("a.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", six, 24), &n, &d, &err);
    CHECKF(v && n == 2 && d == 3 && v[5] == 6, "%s", err.msg);
    free(v);
    v = rd(put_npy("b.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", six, 24), &n, &d, &err);
    CHECKF(v && n == 6 && d == 1 && v[2] == 3, "%s", err.msg);
    free(v);
    double two[2] = {0.5, -2};
    v = rd(put_npy("c.npy", "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(1,2)}", two, 16), &n, &d, &err);
    CHECKF(v && n == 1 && d == 2 && v[0] == 0.5f && v[1] == -2, "%s", err.msg);
    free(v);

    /* shape (2^62, 1): the byte count overflows; refused, no crash */
    v = rd(put_npy("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 1), }", six, 24),
           &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "too large");
    v = rd(put_npy("huge2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }", six, 24),
           &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "overflows");
    v = rd(put_npy("trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "truncated");
    /* 3-D is not a set of vectors */
    v = rd(put_npy("3d.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "more than 2 dimensions");
    /* structured dtype: a list as descr, even if it holds '<f4' */
    v = rd(put_npy("st.npy", "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (6,), }", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "structured");
    /* '<f4' elsewhere in the header does not make an int32 array float32 */
    v = rd(put_npy("i4.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), 'x': '<f4'}", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    v = rd(put_npy("i4b.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "'<i4'");
    v = rd(put_npy("fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six, 24), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "Fortran");

    /* .fvecs with d = 91 ('['), 123 ('{'), 347 (low byte '[') : with and without the extension */
    const int dims[3] = {91, 123, 347};
    for (int t = 0; t < 3; t++) {
        int dd = dims[t];
        size_t rowb = 4 + (size_t)dd * 4, len = 2 * rowb;
        unsigned char *buf = calloc(1, len);
        for (int r = 0; r < 2; r++) {
            memcpy(buf + r * rowb, &dd, 4);
            float x = (float)(r + 1);
            memcpy(buf + r * rowb + 4 + 4 * (size_t)(dd - 1), &x, 4);
        }
        const char *names[2] = {"x.fvecs", "x.bin"};
        for (int e = 0; e < 2; e++) {
            v = rd(put(names[e], buf, len), &n, &d, &err);
            CHECKF(v && n == 2 && d == dd && v[2 * dd - 1] == 2, "d=%d %s: %s", dd, names[e], err.msg);
            free(v);
        }
        free(buf);
    }

    /* JSONL: two values on a line is an error naming the line; duplicate keys keep the last */
    const char *two_objs = "[1, 2]\n{\"embedding\": [3, 4]} {\"embedding\": [5, 6]}\n";
    v = rd(put("two.jsonl", two_objs, strlen(two_objs)), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "two.jsonl:2:");
    const char *dup = "{\"embedding\": [1, 2], \"embedding\": [3, 4]}\n";
    v = rd(put("dup.jsonl", dup, strlen(dup)), &n, &d, &err);
    CHECKF(v && n == 1 && d == 2 && v[0] == 3 && v[1] == 4, "%s", err.msg);
    free(v);
    const char *big = "[1, 1e39]\n";
    v = rd(put("big.jsonl", big, strlen(big)), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "finite");
    const char *nul = "[1, 2]\n[3, 4]\0[5, 6]\n";
    v = rd(put("nul.jsonl", nul, 21), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "NUL byte at offset 13");

    /* a directory is not a vector file */
    v = rd(dir, &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "is a directory");

    /* non-finite values in binary formats */
    float bad[4] = {1, NAN, 2, 3};
    v = rd(put_npy("nan.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", bad, 16), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "row 0, value 1 is NaN");
    unsigned char fv[12];
    int32_t two_d = 2;
    float inf = INFINITY, one = 1;
    memcpy(fv, &two_d, 4), memcpy(fv + 4, &one, 4), memcpy(fv + 8, &inf, 4);
    v = rd(put("inf.fvecs", fv, 12), &n, &d, &err);
    CHECK(v == NULL);
    CHECK_CONTAINS(err.msg, "infinite");

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TEST_REPORT();
}
