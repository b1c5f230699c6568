/* fuzz_index_log.c — the index's delta log (src/index/log.c, PATH.log):
 * ss_index_open on a folder with no snapshot and the input as PATH.log, then
 * a search, an add + commit (which appends to the log) and a second open
 * that replays what the first one left.
 *
 * Like fuzz_index.c, the first input byte is a mode: bit 0 = recompute the
 * header CRC and every record's CRC before opening (to get past the
 * checksums to the replay), bit 1 = HNSW instead of flat, bit 2 = int8.
 * Layout mirrored from src/index/log.c (32-byte header, CRC at 28; records:
 * u32 type, u32 0, u64 payload length, payload, u32 CRC of the 16-byte record
 * header + payload, u32 0). The log's vectors have 4 dimensions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semsearch.h"
#include "util.h"

#define DIM 4
#define LOG_HDR 32
#define REC_HDR 16
#define REC_TAIL 8

static void fix_checksums(uint8_t *b, size_t n) {
    if (n < LOG_HDR) return;
    uint32_t c = fz_crc32c(b, LOG_HDR - 4);
    memcpy(b + LOG_HDR - 4, &c, 4);
    size_t off = LOG_HDR;
    while (off + REC_HDR + REC_TAIL <= n) {
        uint64_t len;
        memcpy(&len, b + off + 8, 8);
        if (len > n - off - REC_HDR - REC_TAIL) break;
        c = fz_crc32c(b + off, REC_HDR + (size_t)len);
        memcpy(b + off + REC_HDR + len, &c, 4);
        off += REC_HDR + (size_t)len + REC_TAIL;
    }
}

static void exercise(ss_index *x) {
    float q[DIM] = {0.5f, -0.25f, 1.0f, 0.125f};
    int64_t ids[4];
    float scores[4];
    ss_search_params sp = {.n_threads = 1};
    ss_error err;
    (void)ss_index_search(x, q, 1, 4, &sp, ids, scores, &err);
    ss_index_stats st;
    ss_index_get_stats(x, &st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    data++, size--;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) abort();
    memcpy(b, data, size);
    if (mode & 1) fix_checksums(b, size);
    fz_unlink("x.idx");
    fz_write("x.idx.log", b, size);
    free(b);
    char path[4096];
    snprintf(path, sizeof path, "%s", fz_path("x.idx"));
    ss_index_options o = {.type = (mode & 2) ? SS_INDEX_HNSW : SS_INDEX_FLAT,
                          .quantize = (mode & 4) ? SS_QUANT_INT8 : SS_QUANT_NONE,
                          .m = 4,
                          .ef_construction = 16,
                          .n_threads = 1};
    ss_error err;
    ss_index *x = ss_index_open(path, DIM, &o, &err);
    if (!x) return 0;
    exercise(x);
    float v[DIM] = {1, 2, 3, 4};
    int64_t id = 3;
    if (ss_index_add(x, &id, v, 1, &err) == SS_OK) (void)ss_index_commit(x, ss_index_generation(x) + 1, &err);
    ss_index_free(x);
    /* what the first open kept (the tail it cut, the commit appended) must reopen */
    x = ss_index_open(path, DIM, &o, &err);
    if (!x) {
        fprintf(stderr, "fuzz_index_log: a log this build opened and appended to does not reopen: %s\n", err.msg);
        abort();
    }
    exercise(x);
    ss_index_free(x);
    return 0;
}
