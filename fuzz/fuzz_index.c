/* fuzz_index.c — the index loader: ss_index_load on the input bytes, then
 * stats, searches, an add and a remove on what it accepted.
 *
 * The file format checksums every section (CRC32C) and the header, so random
 * mutations stop at the first checksum. To reach the structure checks behind
 * them (the HNSW graph, levels, entry point, quantiser ranges) the first
 * input byte is a mode: odd = the harness recomputes file_size, every
 * section's CRC and the header CRC before loading, as a hostile writer
 * would; even = the bytes are loaded as they are. The layout below mirrors
 * the header of src/index/persist.c (format version 1); keep them in step. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "semsearch.h"

#define HDR 512
#define NSEC 9
#define OFF_FILE_SIZE 104
#define OFF_SECS 112 /* NSEC x {u32 kind, u32 crc, u64 off, u64 size} */
#define SEC_SIZE 24

static void fix_checksums(uint8_t *b, size_t n) {
    if (n < HDR) return;
    uint64_t fs = n;
    memcpy(b + OFF_FILE_SIZE, &fs, 8);
    for (int k = 0; k < NSEC; k++) {
        uint8_t *s = b + OFF_SECS + (size_t)k * SEC_SIZE;
        uint64_t off, sz;
        memcpy(&off, s + 8, 8);
        memcpy(&sz, s + 16, 8);
        if (off > n || sz > n - off) continue;
        uint32_t c = fz_crc32c(b + off, (size_t)sz);
        memcpy(s + 4, &c, 4);
    }
    uint32_t c = fz_crc32c(b, HDR - 4);
    memcpy(b + HDR - 4, &c, 4);
}

static int allow_even(void *user, int64_t id) {
    (void)user;
    return (id & 1) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int fix = data[0] & 1;
    data++, size--;
    if (fix) {
        uint8_t *b = malloc(size ? size : 1);
        if (!b) abort();
        memcpy(b, data, size);
        fix_checksums(b, size);
        fz_write("x.idx", b, size);
        free(b);
    } else {
        fz_write("x.idx", data, size);
    }
    ss_error err;
    ss_index *x = ss_index_load(fz_path("x.idx"), &err);
    if (!x) return 0;
    ss_index_stats st;
    ss_index_get_stats(x, &st);
    if (st.dim <= 0 || st.dim > 65536 || st.count < 0 || st.slots < st.count) {
        fprintf(stderr, "fuzz_index: accepted an index with dim %d, count %lld, slots %lld\n", st.dim,
                (long long)st.count, (long long)st.slots);
        abort();
    }
    float *q = malloc((size_t)st.dim * sizeof *q);
    if (!q) abort();
    for (int i = 0; i < st.dim; i++) q[i] = (float)((i * 7 + 3) % 11) - 5.0f;
    enum { K = 5 };
    int64_t ids[K];
    float scores[K];
    ss_search_params sp = {.n_threads = 1};
    if (ss_index_search(x, q, 1, K, &sp, ids, scores, &err) == SS_OK) {
        for (int i = 0; i < K; i++)
            if (ids[i] >= 0 && !ss_index_contains(x, ids[i])) {
                fprintf(stderr, "fuzz_index: search returned id %lld, which the index does not hold\n",
                        (long long)ids[i]);
                abort();
            }
    }
    ss_filter f = {.allow = allow_even};
    sp.filter = &f;
    sp.ef_search = 3;
    (void)ss_index_search(x, q, 1, 2, &sp, ids, scores, &err);
    /* a writer on the mapped (copy-on-write) arrays */
    int64_t id = 7;
    if (ss_index_add(x, &id, q, 1, &err) == SS_OK) {
        sp.filter = NULL;
        (void)ss_index_search(x, q, 1, K, &sp, ids, scores, &err);
    }
    int64_t rm[2] = {0, 7};
    (void)ss_index_remove(x, rm, 2, NULL, &err);
    free(q);
    ss_index_free(x);
    return 0;
}
