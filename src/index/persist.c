/* persist.c — the index on disk.
 *
 * Snapshot: one file, a 512-byte versioned header with a section table, each
 * section 64-byte aligned and CRC32C-checked. Loading maps the file
 * (MAP_PRIVATE: later writes are copy-on-write and never reach the file) and
 * validates every structure read from it before it sizes an allocation or
 * indexes an array: section bounds, graph invariants (hnsw.c), finite norms,
 * vectors and quantiser parameters. Saving writes a temp file, fsyncs it,
 * renames it over the target and fsyncs the folder, so a crash leaves either
 * the old or the new file.
 *
 * Delta log (ss_index_open / ss_index_commit): the snapshot plus PATH.log, the
 * adds and removes since it (log.c). The snapshot header holds a random
 * snapshot id that the log's header must repeat, and the caller's generation
 * number. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "index/fmt.h"
#include "index/index_internal.h"

#define MAGIC "SSINDEX\x1a"
#define VERSION 1u
#define HDR 512
#define NSEC 9

enum { S_CODES = 1, S_RAW, S_AUX, S_IDS, S_STATE, S_LEVELS, S_LINKS0, S_UPPER, S_QUANT };

typedef struct sec {
    uint32_t kind, crc;
    uint64_t off, size;
} sec;

typedef struct hdr {
    char magic[8];
    uint32_t version, header_size;
    uint32_t dim, metric, type, quant, m, m0, ef_c, ef_s, keep_raw, trained;
    float oversample;
    uint32_t nsec;
    uint64_t seed, n, next_id, ep, code_size, file_size;
    sec secs[NSEC];
    /* added after version 1 shipped: files written before hold zeros here */
    uint64_t generation, snap_id;
} hdr;

_Static_assert(sizeof(hdr) <= HDR - 4, "header too large");

/* a fresh, nonzero snapshot id (so a log of an older snapshot never matches) */
static uint64_t new_snap_id(uint64_t old) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    z ^= ((uint64_t)getpid() << 40) ^ (old * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 1;
}

static ss_status save_snapshot(ss_index *x, const char *path, uint64_t snap_id, ss_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ss_fail(err, SS_ERR_INVALID, "ss_index_save: path too long: %s", path);
    const ss_store *d = &x->s;
    const ss_hnsw *g = &x->g;
    size_t n = d->n, dim = (size_t)d->dim;
    int hnsw = x->type == SS_INDEX_HNSW;
    /* upper lists concatenated in slot order */
    size_t up_words = 0;
    if (hnsw)
        for (size_t s = 0; s < n; s++) up_words += (size_t)g->levels[s] * (1 + (size_t)g->m);
    const void *ptr[NSEC + 1] = {0};
    size_t sz[NSEC + 1] = {0};
    ptr[S_CODES] = d->codes, sz[S_CODES] = n * d->code_size;
    ptr[S_RAW] = d->raw, sz[S_RAW] = d->keep_raw ? n * dim * 4 : 0;
    ptr[S_AUX] = d->aux, sz[S_AUX] = n * 4;
    ptr[S_IDS] = d->ids, sz[S_IDS] = n * 8;
    ptr[S_STATE] = d->state, sz[S_STATE] = n;
    ptr[S_LEVELS] = g->levels, sz[S_LEVELS] = hnsw ? n : 0;
    ptr[S_LINKS0] = g->links0, sz[S_LINKS0] = hnsw ? n * (1 + (size_t)g->m0) * 4 : 0;
    sz[S_UPPER] = up_words * 4;
    float *qp = NULL;
    size_t qn = d->quant == SS_QUANT_INT8 ? 2 * dim : d->quant == SS_QUANT_BINARY ? dim : 0;
    if (qn) {
        qp = malloc(qn * 4);
        if (!qp) return ss_fail(err, SS_ERR_NOMEM, "ss_index_save: out of memory");
        if (d->quant == SS_QUANT_INT8) {
            memcpy(qp, d->q_lo, dim * 4);
            memcpy(qp + dim, d->q_scale, dim * 4);
        } else {
            memcpy(qp, d->q_mean, dim * 4);
        }
    }
    ptr[S_QUANT] = qp, sz[S_QUANT] = qn * 4;

    hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.version = VERSION, h.header_size = HDR;
    h.dim = (uint32_t)d->dim, h.metric = d->metric, h.type = x->type, h.quant = d->quant;
    h.m = (uint32_t)g->m, h.m0 = (uint32_t)g->m0, h.ef_c = (uint32_t)g->ef_c, h.ef_s = (uint32_t)x->ef_s;
    h.keep_raw = (uint32_t)d->keep_raw, h.trained = (uint32_t)d->trained, h.oversample = x->oversample;
    h.seed = g->seed, h.n = n, h.next_id = (uint64_t)d->next_id, h.ep = g->ep, h.code_size = d->code_size;
    h.nsec = NSEC;
    h.generation = __atomic_load_n(&x->generation, __ATOMIC_RELAXED), h.snap_id = snap_id;
    ss_status st = SS_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(qp);
        return ss_fail(err, SS_ERR_IO, "ss_index_save: cannot create %s: %s", tmp, strerror(errno));
    }
    static const char zeros[HDR] = {0};
    st = ss__write_all(fd, zeros, HDR, "ss_index_save", tmp, err);
    uint64_t off = HDR;
    for (int k = 1; k <= NSEC && st == SS_OK; k++) {
        uint64_t pad = (64 - off % 64) % 64;
        if (pad) st = ss__write_all(fd, zeros, pad, "ss_index_save", tmp, err);
        off += pad;
        h.secs[k - 1] = (sec){(uint32_t)k, 0, off, sz[k]};
        if (k == S_UPPER) {
            uint32_t crc = 0;
            for (size_t s = 0; hnsw && s < n && st == SS_OK; s++) {
                size_t w = (size_t)g->levels[s] * (1 + (size_t)g->m) * 4;
                if (!w) continue;
                crc = ss__crc32c(crc, g->upper[s], w);
                st = ss__write_all(fd, g->upper[s], w, "ss_index_save", tmp, err);
            }
            h.secs[k - 1].crc = crc;
        } else if (sz[k]) {
            h.secs[k - 1].crc = ss__crc32c(0, ptr[k], sz[k]);
            st = ss__write_all(fd, ptr[k], sz[k], "ss_index_save", tmp, err);
        }
        off += sz[k];
    }
    h.file_size = off;
    if (st == SS_OK) {
        unsigned char hb[HDR] = {0};
        memcpy(hb, &h, sizeof h);
        uint32_t crc = ss__crc32c(0, hb, HDR - 4);
        memcpy(hb + HDR - 4, &crc, 4);
        if (pwrite(fd, hb, HDR, 0) != HDR)
            st = ss_fail(err, SS_ERR_IO, "ss_index_save: writing the header of %s: %s", tmp, strerror(errno));
    }
    if (st == SS_OK && fsync(fd) != 0)
        st = ss_fail(err, SS_ERR_IO, "ss_index_save: fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == SS_OK)
        st = ss_fail(err, SS_ERR_IO, "ss_index_save: closing %s: %s", tmp, strerror(errno));
    if (st == SS_OK && rename(tmp, path) != 0)
        st = ss_fail(err, SS_ERR_IO, "ss_index_save: renaming %s to %s: %s", tmp, path, strerror(errno));
    if (st != SS_OK) unlink(tmp);
    else ss__fsync_dir(path); /* make the rename durable */
    free(qp);
    return st;
}

/* 1 if the attached log is PATH.log */
static int log_is_for(const ss_index *x, const char *path) {
    if (!x->log) return 0;
    const char *lp = ss__ilog_path(x->log);
    size_t n = strlen(path);
    return strncmp(lp, path, n) == 0 && strcmp(lp + n, ".log") == 0;
}

ss_status ss_index_save(ss_index *x, const char *path, ss_error *err) {
    if (!x || !path) return ss_fail(err, SS_ERR_INVALID, "ss_index_save: NULL index or path");
    pthread_mutex_lock(&x->sync->wmu);
    uint64_t snap_id = new_snap_id(x->snap_id);
    ss_status st = save_snapshot(x, path, snap_id, err);
    if (st == SS_OK && log_is_for(x, path)) {
        /* the snapshot holds everything: start an empty log for it. A crash
         * before this leaves the old log, whose snapshot id no longer matches:
         * ss_index_open then ignores it. */
        x->snap_id = snap_id;
        st = ss__ilog_reset(x->log, snap_id, err);
    } else if (st == SS_OK && !x->log) {
        x->snap_id = snap_id;
    }
    pthread_mutex_unlock(&x->sync->wmu);
    return st;
}

#define BAD(...)                                                                                             \
    do {                                                                                                     \
        ss_fail(err, SS_ERR_FORMAT, __VA_ARGS__);                                                            \
        goto fail;                                                                                           \
    } while (0)

/* index of the first non-finite float in p[0..n), or n */
static size_t first_nonfinite(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return i;
    return n;
}

/* Stored numbers that a search multiplies: norms, fp32 / fp16 vectors, the
 * quantiser. With checksums recomputed by whoever edited the file, this is
 * what keeps NaN scores out. */
static int check_numbers(const ss_store *d, size_t n, char *why, size_t wl) {
    size_t dim = (size_t)d->dim, i;
    for (size_t s = 0; s < n; s++)
        if (!isfinite(d->aux[s]) || d->aux[s] < 0) {
            snprintf(why, wl, "slot %zu has a stored squared norm of %g", s, (double)d->aux[s]);
            return -1;
        }
    if (d->quant == SS_QUANT_NONE && (i = first_nonfinite((const float *)d->codes, n * dim)) < n * dim) {
        snprintf(why, wl, "slot %zu has a non-finite value at dimension %zu", i / dim, i % dim);
        return -1;
    }
    if (d->quant == SS_QUANT_FP16)
        for (i = 0; i < n * dim; i++)
            if ((((const uint16_t *)d->codes)[i] & 0x7C00) == 0x7C00) {
                snprintf(why, wl, "slot %zu has a non-finite half at dimension %zu", i / dim, i % dim);
                return -1;
            }
    if (d->keep_raw && (i = first_nonfinite(d->raw, n * dim)) < n * dim) {
        snprintf(why, wl, "slot %zu has a non-finite fp32 copy at dimension %zu", i / dim, i % dim);
        return -1;
    }
    if (d->quant == SS_QUANT_INT8)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(d->q_lo[j]) || !isfinite(d->q_scale[j]) || d->q_scale[j] < 0 ||
                !isfinite(d->q_lo[j] + 255 * d->q_scale[j])) {
                snprintf(why, wl, "int8 quantiser dimension %zu: low %g, scale %g", j, (double)d->q_lo[j],
                         (double)d->q_scale[j]);
                return -1;
            }
    if (d->quant == SS_QUANT_BINARY && (i = first_nonfinite(d->q_mean, dim)) < dim) {
        snprintf(why, wl, "binary quantiser mean of dimension %zu is %g", i, (double)d->q_mean[i]);
        return -1;
    }
    return 0;
}

ss_index *ss_index_load(const char *path, ss_error *err) {
    if (!path) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_load: NULL path");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ss_fail(err, errno == ENOENT ? SS_ERR_NOT_FOUND : SS_ERR_IO, "ss_index_load: cannot open %s: %s", path,
                strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ss_fail(err, SS_ERR_IO, "ss_index_load: %s: not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t fsize = (size_t)sb.st_size;
    ss_index *x = NULL;
    void *map = NULL;
    char why[256];
    if (fsize < HDR) {
        close(fd);
        ss_fail(err, SS_ERR_FORMAT, "ss_index_load: %s is %zu bytes, smaller than the %d-byte header (truncated?)",
                path, fsize, HDR);
        return NULL;
    }
    map = mmap(NULL, fsize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        ss_fail(err, SS_ERR_IO, "ss_index_load: mmap %s: %s", path, strerror(errno));
        return NULL;
    }
    const unsigned char *base = map;
    hdr h;
    memcpy(&h, base, sizeof h);
    if (memcmp(h.magic, MAGIC, 8) != 0) BAD("ss_index_load: %s is not a semsearch index (bad magic)", path);
    if (h.version != VERSION)
        BAD("ss_index_load: %s has format version %u; this build reads version %u", path, h.version, VERSION);
    uint32_t crc;
    memcpy(&crc, base + HDR - 4, 4);
    if (crc != ss__crc32c(0, base, HDR - 4)) BAD("ss_index_load: %s: header checksum mismatch (corrupt)", path);
    if (h.file_size != fsize)
        BAD("ss_index_load: %s is %zu bytes but its header says %llu (truncated or appended to)", path, fsize,
            (unsigned long long)h.file_size);
    if (h.dim == 0 || h.dim > 65536 || h.metric > SS_METRIC_L2 || h.type > SS_INDEX_HNSW ||
        h.quant > SS_QUANT_BINARY || h.m < 2 || h.m > SS_HNSW_MAX_M || h.m0 != 2 * h.m || h.nsec != NSEC ||
        h.n > UINT32_MAX - 1 || !isfinite(h.oversample) || h.oversample < 0 || h.oversample > 1000)
        BAD("ss_index_load: %s: header fields out of range (dim %u, m %u, n %llu, oversample %g)", path, h.dim, h.m,
            (unsigned long long)h.n, (double)h.oversample);
    ss_index_options o = {.type = (ss_index_type)h.type, .metric = (ss_metric)h.metric, .quantize = (ss_quant)h.quant,
                          .m = (int)h.m, .ef_construction = (int)(h.ef_c > SS_HNSW_MAX_EFC ? SS_HNSW_MAX_EFC : h.ef_c),
                          .ef_search = (int)(h.ef_s > 100000 ? 100000 : h.ef_s), .keep_fp32 = h.keep_raw ? 1 : -1,
                          .oversample = h.oversample, .seed = h.seed};
    x = ss__index_alloc((int)h.dim, &o, err);
    if (!x) goto fail;
    ss_store *d = &x->s;
    ss_hnsw *g = &x->g;
    if (d->code_size != h.code_size) BAD("ss_index_load: %s: code size mismatch", path);
    size_t n = (size_t)h.n, dim = h.dim;
    int hnsw = h.type == SS_INDEX_HNSW;
    size_t expect[NSEC + 1] = {0, n * d->code_size, d->keep_raw ? n * dim * 4 : 0, n * 4, n * 8, n,
                               hnsw ? n : 0, hnsw ? n * (1 + (size_t)g->m0) * 4 : 0, 0,
                               d->quant == SS_QUANT_INT8 ? 2 * dim * 4 : d->quant == SS_QUANT_BINARY ? dim * 4 : 0};
    const void *sp[NSEC + 1] = {0};
    for (int k = 1; k <= NSEC; k++) {
        sec s = h.secs[k - 1];
        if (s.kind != (uint32_t)k || s.off % 64 || s.off > fsize || s.size > fsize - s.off)
            BAD("ss_index_load: %s: section %d lies outside the file (truncated or corrupt)", path, k);
        if (k != S_UPPER && s.size != expect[k])
            BAD("ss_index_load: %s: section %d has %llu bytes, expected %zu", path, k, (unsigned long long)s.size,
                expect[k]);
        if (ss__crc32c(0, base + s.off, s.size) != s.crc)
            BAD("ss_index_load: %s: checksum mismatch in section %d (corrupt file)", path, k);
        sp[k] = base + s.off;
    }
    d->n = d->cap = n;
    d->arrays_mapped = 1;
    d->codes = (uint8_t *)sp[S_CODES];
    d->raw = d->keep_raw ? (float *)sp[S_RAW] : NULL;
    d->aux = (float *)sp[S_AUX];
    d->ids = (int64_t *)sp[S_IDS];
    d->state = (uint8_t *)sp[S_STATE];
    d->map = map, d->map_size = fsize;
    if (d->quant == SS_QUANT_INT8) {
        free(d->q_lo), free(d->q_scale);
        d->q_lo = (float *)sp[S_QUANT];
        d->q_scale = (float *)sp[S_QUANT] + dim;
    } else if (d->quant == SS_QUANT_BINARY) {
        free(d->q_mean);
        d->q_mean = (float *)sp[S_QUANT];
    }
    d->trained = (int)h.trained;
    if (check_numbers(d, n, why, sizeof why)) BAD("ss_index_load: %s: %s", path, why);
    if (hnsw) {
        g->levels = (uint8_t *)sp[S_LEVELS];
        g->links0 = (uint32_t *)sp[S_LINKS0];
        g->arrays_mapped = 1;
        g->upper = calloc(n ? n : 1, sizeof(uint32_t *));
        if (!g->upper) {
            ss_fail(err, SS_ERR_NOMEM, "ss_index_load: out of memory");
            goto fail;
        }
        g->cap = n;
        uint32_t *up = (uint32_t *)sp[S_UPPER];
        size_t avail = h.secs[S_UPPER - 1].size / 4, used = 0;
        for (size_t s = 0; s < n; s++) {
            int lv = g->levels[s];
            if (lv > SS_MAX_LEVEL) BAD("ss_index_load: %s: slot %zu has level %d > %d", path, s, lv, SS_MAX_LEVEL);
            size_t w = (size_t)lv * (1 + (size_t)g->m);
            if (w > avail - used) BAD("ss_index_load: %s: upper-level links are truncated", path);
            g->upper[s] = lv ? up + used : NULL;
            used += w;
        }
        if (used != avail) BAD("ss_index_load: %s: upper-level link section has trailing data", path);
        g->upper_words = used;
        g->ep = h.ep;
        if (ss__hnsw_validate(g, n, why, sizeof why)) BAD("ss_index_load: %s: HNSW graph: %s", path, why);
    } else if (h.ep) {
        BAD("ss_index_load: %s: a flat index with an HNSW entry point (corrupt)", path);
    }
    d->next_id = (int64_t)h.next_id;
    for (size_t s = 0; s < n; s++) {
        if (d->state[s] == ST_LIVE) {
            if (d->ids[s] < 0) BAD("ss_index_load: %s: slot %zu has negative id", path, s);
            if (ss__idmap_put(d, d->ids[s], (uint32_t)s)) {
                ss_fail(err, SS_ERR_NOMEM, "ss_index_load: out of memory");
                goto fail;
            }
        } else {
            if (d->state[s] != ST_DELETED) d->state[s] = ST_DELETED; /* copy-on-write page */
            if (ss__freel_push(d, (uint32_t)s)) {
                ss_fail(err, SS_ERR_NOMEM, "ss_index_load: out of memory");
                goto fail;
            }
            d->n_deleted++;
        }
    }
    if (d->hcount + d->n_deleted != n) BAD("ss_index_load: %s: duplicate ids", path);
    d->n_live = d->hcount;
    x->generation = h.generation;
    x->snap_id = h.snap_id;
    ss__publish_stats(x);
    return x;
fail:
    if (x) {
        if (!x->s.map) munmap(map, fsize);
        ss_index_free(x);
    } else {
        munmap(map, fsize);
    }
    return NULL;
}

/* ------------------------------------------------------------ the delta log */

static ss_status replay(void *ctx, int type, const int64_t *ids, const float *vecs, size_t n, uint64_t gen,
                        ss_error *err) {
    (void)gen;
    ss_index *x = ctx;
    if (type == SS_LOG_REMOVE) return ss__remove_locked(x, ids, n, NULL, err);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0) return ss_fail(err, SS_ERR_FORMAT, "id %lld of vector %zu is negative", (long long)ids[i], i);
    ss_status st = ss__check_vectors("ss_index_open", vecs, n, x->s.dim, err);
    return st ? st : ss__add_locked(x, ids, vecs, n, err);
}

ss_index *ss_index_open(const char *path, int dim, const ss_index_options *opts, ss_error *err) {
    if (!path) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_open: NULL path");
        return NULL;
    }
    char lpath[4096];
    if (snprintf(lpath, sizeof lpath, "%s.log", path) >= (int)sizeof lpath) {
        ss_fail(err, SS_ERR_INVALID, "ss_index_open: path too long: %s", path);
        return NULL;
    }
    ss_index *x = NULL;
    if (access(path, F_OK) == 0) {
        x = ss_index_load(path, err);
        if (!x) return NULL;
        if (dim > 0 && dim != x->s.dim) {
            ss_fail(err, SS_ERR_INVALID, "ss_index_open: %s holds vectors of %d dims, not %d", path, x->s.dim, dim);
            ss_index_free(x);
            return NULL;
        }
        if (opts) ss__index_threads(x, opts); /* the layout comes from the file; threads from the caller */
    } else if (errno != ENOENT) {
        ss_fail(err, SS_ERR_IO, "ss_index_open: %s: %s", path, strerror(errno));
        return NULL;
    } else {
        x = ss__index_alloc(dim, opts, err); /* snap_id 0: a log without a snapshot yet */
        if (!x) return NULL;
    }
    uint64_t gen = 0;
    size_t commits = 0;
    ss_status st = ss__ilog_open(lpath, x->s.dim, x->snap_id, replay, x, &x->log, &gen, &commits, err);
    if (st) {
        ss_error_prefix(err, "ss_index_open: ");
        ss_index_free(x);
        return NULL;
    }
    if (commits) x->generation = gen;
    ss__publish_stats(x);
    return x;
}

ss_status ss_index_commit(ss_index *x, uint64_t generation, ss_error *err) {
    if (!x) return ss_fail(err, SS_ERR_INVALID, "ss_index_commit: NULL index");
    if (!x->log) return ss_fail(err, SS_ERR_INVALID, "ss_index_commit: the index has no log (open it with ss_index_open)");
    pthread_mutex_lock(&x->sync->wmu);
    ss_status st = ss__ilog_commit(x->log, generation, err);
    if (st == SS_OK) __atomic_store_n(&x->generation, generation, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&x->sync->wmu);
    return st;
}

uint64_t ss_index_generation(const ss_index *x) { return x ? __atomic_load_n(&x->generation, __ATOMIC_RELAXED) : 0; }

void ss_index_set_generation(ss_index *x, uint64_t generation) {
    if (x) __atomic_store_n(&x->generation, generation, __ATOMIC_RELAXED);
}
