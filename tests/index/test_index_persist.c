/* Index files: validation of what a file claims (issue 13 item 2), and the
 * snapshot + delta log (ss_index_open / ss_index_commit): reopen after
 * appends, a torn tail, a corrupt record, a stale log, generations. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idx_util.h"
#include "index/fmt.h"
#include "test.h"

/* ---- snapshot layout, as persist.c writes it (version 1) */
#define HDR 512
#define SEC(k) (112 + ((k)-1) * 24) /* section table entry k: kind, crc, off, size */
enum { S_CODES = 1, S_RAW, S_AUX, S_IDS, S_STATE, S_LEVELS, S_LINKS0, S_UPPER, S_QUANT };

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}
static void spit(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}
static uint64_t u64at(const unsigned char *b, size_t off) {
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}
static uint32_t u32at(const unsigned char *b, size_t off) {
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}
/* recompute section k's checksum and the header's (what a careful vandal does) */
static void rechecksum(unsigned char *b, int k) {
    uint64_t off = u64at(b, SEC(k) + 8), size = u64at(b, SEC(k) + 16);
    uint32_t crc = ss__crc32c(0, b + off, size);
    memcpy(b + SEC(k) + 4, &crc, 4);
    crc = ss__crc32c(0, b, HDR - 4);
    memcpy(b + HDR - 4, &crc, 4);
}

static void test_graph_validation(const char *dir) {
    const size_t n = 800;
    const int d = 16;
    float *base = gen_clustered(n, d, 8, 0.4f, 21);
    ss_error err;
    ss_index_options o = {.type = SS_INDEX_HNSW, .m = 8, .n_threads = 1};
    ss_index *x = ss_index_new(d, &o, &err);
    REQUIRE(x);
    REQUIRE(ss_index_add(x, NULL, base, n, &err) == SS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/g.idx", dir);
    REQUIRE(ss_index_save(x, path, &err) == SS_OK);
    ss_index_free(x);
    size_t fsz;
    unsigned char *orig = slurp(path, &fsz);
    REQUIRE(orig && fsz > HDR);
    int m = (int)u32at(orig, 32);
    REQUIRE(m == 8);
    const unsigned char *levels = orig + u64at(orig, SEC(S_LEVELS) + 8);
    /* a node with an upper list and a node without one */
    size_t hi = n, lo = n, words_before = 0, w = 0;
    for (size_t s = 0; s < n; s++) {
        if (levels[s] >= 1 && hi == n) hi = s, words_before = w;
        if (levels[s] == 0 && lo == n) lo = s;
        w += (size_t)levels[s] * (1 + (size_t)m);
    }
    REQUIRE(hi < n && lo < n);
    unsigned char *b = malloc(fsz);
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.idx", dir);

    /* 1. hi's level-1 list links to lo, which has no level-1 list: before the
     * fix `index stats` accepted this and `index query` dereferenced NULL */
    memcpy(b, orig, fsz);
    size_t up = u64at(b, SEC(S_UPPER) + 8) + words_before * 4;
    uint32_t cnt = u32at(b, up) & 0xFFFF;
    if (cnt == 0) {
        uint32_t one = 1;
        memcpy(b + up, &one, 4);
    }
    uint32_t t = (uint32_t)lo;
    memcpy(b + up + 4, &t, 4);
    rechecksum(b, S_UPPER);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "no list at level 1");

    /* 2. a level-0 link out of range */
    memcpy(b, orig, fsz);
    size_t l0 = u64at(b, SEC(S_LINKS0) + 8);
    t = (uint32_t)n + 5;
    memcpy(b + l0 + 4, &t, 4);
    rechecksum(b, S_LINKS0);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "links to slot");

    /* 3. a count above the limit */
    memcpy(b, orig, fsz);
    t = 2 * (uint32_t)m + 1;
    memcpy(b + l0, &t, 4);
    rechecksum(b, S_LINKS0);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "limit");

    /* 4. the entry point moved to a node below the top level */
    memcpy(b, orig, fsz);
    uint64_t ep = u64at(b, 88); /* hdr.ep: 72 + 2 * 8 */
    int top = (int)(ep >> 32) - 1;
    REQUIRE(top >= 1);
    ep = (uint64_t)lo | ((uint64_t)(top + 1) << 32);
    memcpy(b + 88, &ep, 8);
    rechecksum(b, S_LEVELS);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "entry point");

    /* 5. a NaN norm (scores would be NaN) */
    memcpy(b, orig, fsz);
    float nan = NAN;
    memcpy(b + u64at(b, SEC(S_AUX) + 8) + 4 * 3, &nan, 4);
    rechecksum(b, S_AUX);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "slot 3 has a stored squared norm");

    /* 6. a NaN inside a vector */
    memcpy(b, orig, fsz);
    memcpy(b + u64at(b, SEC(S_CODES) + 8) + 4 * (5 * d + 2), &nan, 4);
    rechecksum(b, S_CODES);
    spit(bad, b, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "slot 5 has a non-finite value at dimension 2");

    /* the untouched file still loads and answers */
    x = ss_index_load(path, &err);
    CHECK(x != NULL);
    if (x) {
        int64_t ids[5];
        float sc[5];
        CHECK(ss_index_search(x, base, 1, 5, NULL, ids, sc, &err) == SS_OK && ids[0] == 0);
        ss_index_free(x);
    }
    free(orig);

    /* 7. an int8 quantiser with an infinite scale */
    ss_index_options oq = {.quantize = SS_QUANT_INT8};
    x = ss_index_new(d, &oq, &err);
    REQUIRE(x && ss_index_add(x, NULL, base, n, &err) == SS_OK && ss_index_save(x, path, &err) == SS_OK);
    ss_index_free(x);
    orig = slurp(path, &fsz);
    float inf = INFINITY;
    memcpy(orig + u64at(orig, SEC(S_QUANT) + 8) + 4 * (d + 1), &inf, 4); /* q_scale[1] */
    rechecksum(orig, S_QUANT);
    spit(bad, orig, fsz);
    CHECK(ss_index_load(bad, &err) == NULL);
    CHECK_CONTAINS(err.msg, "int8 quantiser dimension 1");
    free(orig);
    free(b);
    free(base);
}

/* ---- the delta log */

static off_t file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* the same changes, in memory: what a reopened index must answer */
static void check_same(ss_index *a, ss_index *b, const float *qs, size_t nq, const char *what) {
    int64_t ia[20 * 10], ib[20 * 10];
    float sa[20 * 10], sb[20 * 10];
    ss_error err;
    CHECK(ss_index_search(a, qs, nq, 10, NULL, ia, sa, &err) == SS_OK);
    CHECK(ss_index_search(b, qs, nq, 10, NULL, ib, sb, &err) == SS_OK);
    int same = memcmp(ia, ib, nq * 10 * sizeof *ia) == 0 && memcmp(sa, sb, nq * 10 * sizeof *sa) == 0;
    CHECKF(same, "%s: reopened index answers differently", what);
    ss_index_stats s1, s2;
    ss_index_get_stats(a, &s1);
    ss_index_get_stats(b, &s2);
    CHECKF(s1.count == s2.count, "%s: %lld vs %lld vectors", what, (long long)s1.count, (long long)s2.count);
}

static void test_log(const char *dir) {
    const size_t n = 400;
    const int d = 12;
    float *base = gen_clustered(n, d, 6, 0.5f, 33);
    ss_error err;
    char path[512], lpath[600];
    snprintf(path, sizeof path, "%s/c.idx", dir);
    snprintf(lpath, sizeof lpath, "%s.log", path);
    ss_index_options o = {.type = SS_INDEX_FLAT, .metric = SS_METRIC_COSINE};
    ss_index *ref = ss_index_new(d, &o, &err);
    ss_index *x = ss_index_open(path, d, &o, &err);
    REQUIRE(ref && x);
    CHECK(ss_index_generation(x) == 0);
    CHECK(file_size(lpath) == 32);
    int64_t ids[400];
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)(1000 + i);
    int64_t rm[10] = {1000, 1003, 1010, 1011, 1012, 1100, 1101, 1150, 1199, 99999};
    /* transaction 1: 200 adds; transaction 2: 100 adds (50 upserts) + 10 removes */
    CHECK(ss_index_add(x, ids, base, 200, &err) == SS_OK);
    CHECK(ss_index_add(ref, ids, base, 200, &err) == SS_OK);
    CHECK(ss_index_commit(x, 5, &err) == SS_OK);
    CHECK(ss_index_add(x, ids + 150, base + 200 * d, 100, &err) == SS_OK);
    CHECK(ss_index_add(ref, ids + 150, base + 200 * d, 100, &err) == SS_OK);
    size_t removed = 0;
    CHECK(ss_index_remove(x, rm, 10, &removed, &err) == SS_OK && removed == 9);
    CHECK(ss_index_remove(ref, rm, 10, NULL, &err) == SS_OK);
    CHECK(ss_index_commit(x, 7, &err) == SS_OK);
    CHECK(ss_index_generation(x) == 7);
    /* not committed: lost on reopen, like an unfinished database transaction */
    CHECK(ss_index_add(x, ids + 300, base + 300 * d, 20, &err) == SS_OK);
    ss_index_free(x);

    x = ss_index_open(path, d, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_generation(x) == 7);
    CHECK(!ss_index_contains(x, 1300) && ss_index_contains(x, 1249) && !ss_index_contains(x, 1010));
    check_same(ref, x, base + 10 * d, 20, "reopen after appends");
    off_t committed = file_size(lpath);

    /* compaction into a snapshot: the log starts over, the generation stays */
    CHECK(ss_index_save(x, path, &err) == SS_OK);
    CHECK(file_size(lpath) == 32);
    ss_index_free(x);
    x = ss_index_open(path, 0, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_generation(x) == 7);
    check_same(ref, x, base + 10 * d, 20, "reopen after save");

    /* a torn tail: the last commit cut short by a crash */
    CHECK(ss_index_add(x, ids + 300, base + 300 * d, 30, &err) == SS_OK);
    CHECK(ss_index_commit(x, 9, &err) == SS_OK);
    ss_index_free(x);
    off_t full = file_size(lpath);
    CHECK(truncate(lpath, full - 5) == 0);
    x = ss_index_open(path, d, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_generation(x) == 7);
    CHECK(!ss_index_contains(x, 1300));
    CHECK(file_size(lpath) == 32); /* the torn record was cut off */
    check_same(ref, x, base + 10 * d, 20, "torn tail");
    /* a zero-filled tail (a crash after the file grew, before its data landed) */
    CHECK(ss_index_add(x, ids + 300, base + 300 * d, 30, &err) == SS_OK);
    CHECK(ss_index_add(ref, ids + 300, base + 300 * d, 30, &err) == SS_OK);
    CHECK(ss_index_commit(x, 9, &err) == SS_OK);
    ss_index_free(x);
    full = file_size(lpath);
    {
        int fd = open(lpath, O_WRONLY | O_APPEND);
        static const char zeros[4096] = {0};
        CHECK(fd >= 0 && write(fd, zeros, sizeof zeros) == (ssize_t)sizeof zeros);
        close(fd);
    }
    x = ss_index_open(path, d, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_generation(x) == 9 && ss_index_contains(x, 1300));
    CHECK(file_size(lpath) == full);
    check_same(ref, x, base + 10 * d, 20, "zero tail");
    /* another commit so that the first record has one after it */
    CHECK(ss_index_remove(x, ids + 300, 1, NULL, &err) == SS_OK);
    CHECK(ss_index_commit(x, 10, &err) == SS_OK);
    ss_index_free(x);

    /* a corrupt record in the middle: refused, naming the byte offset */
    size_t lsz;
    unsigned char *lb = slurp(lpath, &lsz);
    REQUIRE(lb && lsz > 100);
    lb[32 + 16 + 40] ^= 0x10; /* inside the first record's payload */
    spit(lpath, lb, lsz);
    x = ss_index_open(path, d, NULL, &err);
    CHECK(x == NULL);
    CHECK_CONTAINS(err.msg, "byte offset 32");
    CHECK_CONTAINS(err.msg, "checksum mismatch");
    lb[32 + 16 + 40] ^= 0x10;
    spit(lpath, lb, lsz);
    free(lb);
    x = ss_index_open(path, d, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_generation(x) == 10 && !ss_index_contains(x, 1300));
    ss_index_free(x);

    /* a stale log: another snapshot saved to the path (e.g. a rebuild) makes
     * the old log, written for the previous snapshot, not apply */
    CHECK(ss_index_save(ref, path, &err) == SS_OK);
    x = ss_index_open(path, d, NULL, &err);
    REQUIRE(x);
    CHECK(ss_index_contains(x, 1300) && file_size(lpath) == 32);
    check_same(ref, x, base + 10 * d, 20, "stale log ignored");
    /* a dimension mismatch is an error */
    ss_index_free(x);
    CHECK(ss_index_open(path, d + 1, NULL, &err) == NULL);
    CHECK_CONTAINS(err.msg, "dims");
    /* commit without a log */
    CHECK(ss_index_commit(ref, 1, &err) == SS_ERR_INVALID);
    /* generations without a log: stamped into the snapshot */
    ss_index_set_generation(ref, 42);
    CHECK(ss_index_save(ref, path, &err) == SS_OK);
    ss_index *y = ss_index_load(path, &err);
    CHECK(y && ss_index_generation(y) == 42);
    ss_index_free(y);

    /* HNSW + int8 through the log: the replay trains the quantiser on the
     * same first batch, so answers match an index built directly */
    snprintf(path, sizeof path, "%s/h.idx", dir);
    ss_index_options oh = {.type = SS_INDEX_HNSW, .quantize = SS_QUANT_INT8, .n_threads = 1};
    ss_index *rh = ss_index_new(d, &oh, &err);
    x = ss_index_open(path, d, &oh, &err);
    REQUIRE(rh && x);
    CHECK(ss_index_add(x, NULL, base, n, &err) == SS_OK && ss_index_add(rh, NULL, base, n, &err) == SS_OK);
    CHECK(ss_index_commit(x, 1, &err) == SS_OK);
    ss_index_free(x);
    x = ss_index_open(path, d, &oh, &err);
    REQUIRE(x);
    check_same(rh, x, base, 20, "hnsw int8 replay");
    ss_index_free(x);
    ss_index_free(rh);
    (void)committed;
    ss_index_free(ref);
    free(base);
}

int main(void) {
    char dir[] = "/tmp/ss_index_persist_XXXXXX";
    REQUIRE(mkdtemp(dir));
    test_graph_validation(dir);
    test_log(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_REPORT();
}
