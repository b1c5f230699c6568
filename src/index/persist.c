/* persist.c — one file per index: a 512-byte versioned header with a section
 * table, each section 64-byte aligned and CRC32C-checked. Loading maps the
 * file (MAP_PRIVATE: later writes are copy-on-write and never reach the file);
 * saving writes a temp file, fsyncs it, renames it over the target and fsyncs
 * the folder, so a crash leaves either the old or the new file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "index/index_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8, n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n) {
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return crc;
}

uint32_t ss__crc32c(uint32_t crc, const void *buf, size_t len) {
    crc = ~crc;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(crc, buf, len);
#endif
    return ~crc_sw(crc, buf, len);
}

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
} hdr;

_Static_assert(sizeof(hdr) <= HDR - 4, "header too large");

static ss_status write_all(int fd, const void *p, size_t n, const char *path, ss_error *err) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return ss_fail(err, SS_ERR_IO, "ss_index_save: writing %s: %s", path, strerror(errno));
        }
        c += w, n -= (size_t)w;
    }
    return SS_OK;
}

ss_status ss_index_save(ss_index *x, const char *path, ss_error *err) {
    if (!x || !path) return ss_fail(err, SS_ERR_INVALID, "ss_index_save: NULL index or path");
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ss_fail(err, SS_ERR_INVALID, "ss_index_save: path too long: %s", path);
    pthread_mutex_lock(&x->wmu);
    idx_data *d = &x->d;
    size_t n = d->n, dim = (size_t)x->dim;
    int hnsw = x->type == SS_INDEX_HNSW;
    /* upper lists concatenated in slot order */
    size_t up_words = 0;
    if (hnsw)
        for (size_t s = 0; s < n; s++) up_words += (size_t)d->levels[s] * (1 + (size_t)x->m);
    const void *ptr[NSEC + 1] = {0};
    size_t sz[NSEC + 1] = {0};
    ptr[S_CODES] = d->codes, sz[S_CODES] = n * x->code_size;
    ptr[S_RAW] = d->raw, sz[S_RAW] = x->keep_raw ? n * dim * 4 : 0;
    ptr[S_AUX] = d->aux, sz[S_AUX] = n * 4;
    ptr[S_IDS] = d->ids, sz[S_IDS] = n * 8;
    ptr[S_STATE] = d->state, sz[S_STATE] = n;
    ptr[S_LEVELS] = d->levels, sz[S_LEVELS] = hnsw ? n : 0;
    ptr[S_LINKS0] = d->links0, sz[S_LINKS0] = hnsw ? n * (1 + (size_t)x->m0) * 4 : 0;
    sz[S_UPPER] = up_words * 4;
    float *qp = NULL;
    size_t qn = x->quant == SS_QUANT_INT8 ? 2 * dim : x->quant == SS_QUANT_BINARY ? dim : 0;
    if (qn) {
        qp = malloc(qn * 4);
        if (!qp) {
            pthread_mutex_unlock(&x->wmu);
            return ss_fail(err, SS_ERR_NOMEM, "ss_index_save: out of memory");
        }
        if (x->quant == SS_QUANT_INT8) {
            memcpy(qp, x->q_lo, dim * 4);
            memcpy(qp + dim, x->q_scale, dim * 4);
        } else {
            memcpy(qp, x->q_mean, dim * 4);
        }
    }
    ptr[S_QUANT] = qp, sz[S_QUANT] = qn * 4;

    hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.version = VERSION, h.header_size = HDR;
    h.dim = (uint32_t)x->dim, h.metric = x->metric, h.type = x->type, h.quant = x->quant;
    h.m = (uint32_t)x->m, h.m0 = (uint32_t)x->m0, h.ef_c = (uint32_t)x->ef_c, h.ef_s = (uint32_t)x->ef_s;
    h.keep_raw = (uint32_t)x->keep_raw, h.trained = (uint32_t)x->trained, h.oversample = x->oversample;
    h.seed = x->seed, h.n = n, h.next_id = (uint64_t)d->next_id, h.ep = d->ep, h.code_size = x->code_size;
    h.nsec = NSEC;
    ss_status st = SS_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = ss_fail(err, SS_ERR_IO, "ss_index_save: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    static const char zeros[HDR] = {0};
    st = write_all(fd, zeros, HDR, tmp, err);
    uint64_t off = HDR;
    for (int k = 1; k <= NSEC && st == SS_OK; k++) {
        uint64_t pad = (64 - off % 64) % 64;
        if (pad) st = write_all(fd, zeros, pad, tmp, err);
        off += pad;
        h.secs[k - 1] = (sec){(uint32_t)k, 0, off, sz[k]};
        if (k == S_UPPER) {
            uint32_t crc = 0;
            for (size_t s = 0; hnsw && s < n && st == SS_OK; s++) {
                size_t w = (size_t)d->levels[s] * (1 + (size_t)x->m) * 4;
                if (!w) continue;
                crc = ss__crc32c(crc, d->upper[s], w);
                st = write_all(fd, d->upper[s], w, tmp, err);
            }
            h.secs[k - 1].crc = crc;
        } else if (sz[k]) {
            h.secs[k - 1].crc = ss__crc32c(0, ptr[k], sz[k]);
            st = write_all(fd, ptr[k], sz[k], tmp, err);
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
    if (st != SS_OK) {
        unlink(tmp);
    } else {
        /* make the rename durable */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *sl = strrchr(dir, '/');
        if (sl) *(sl == dir ? sl + 1 : sl) = '\0';
        else snprintf(dir, sizeof dir, ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
out:
    free(qp);
    pthread_mutex_unlock(&x->wmu);
    return st;
}

#define BAD(...)                                                                                             \
    do {                                                                                                     \
        ss_fail(err, SS_ERR_FORMAT, __VA_ARGS__);                                                            \
        goto fail;                                                                                           \
    } while (0)

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
    if (fstat(fd, &sb) != 0) {
        ss_fail(err, SS_ERR_IO, "ss_index_load: stat %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t fsize = (size_t)sb.st_size;
    ss_index *x = NULL;
    void *map = NULL;
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
        h.quant > SS_QUANT_BINARY || h.m < 2 || h.m > 512 || h.m0 != 2 * h.m || h.nsec != NSEC ||
        h.n > UINT32_MAX - 1)
        BAD("ss_index_load: %s: header fields out of range (dim %u, m %u, n %llu)", path, h.dim, h.m,
            (unsigned long long)h.n);
    ss_index_options o = {(ss_index_type)h.type, (ss_metric)h.metric, (ss_quant)h.quant, (int)h.m,
                          (int)(h.ef_c > 2000 ? 2000 : h.ef_c), (int)h.ef_s, h.keep_raw ? 1 : -1, h.oversample,
                          0, h.seed};
    x = ss__index_alloc((int)h.dim, &o, err);
    if (!x) goto fail;
    if (x->code_size != h.code_size) BAD("ss_index_load: %s: code size mismatch", path);
    size_t n = (size_t)h.n, dim = h.dim;
    int hnsw = h.type == SS_INDEX_HNSW;
    size_t expect[NSEC + 1] = {0, n * x->code_size, x->keep_raw ? n * dim * 4 : 0, n * 4, n * 8, n,
                               hnsw ? n : 0, hnsw ? n * (1 + (size_t)x->m0) * 4 : 0, 0,
                               x->quant == SS_QUANT_INT8 ? 2 * dim * 4 : x->quant == SS_QUANT_BINARY ? dim * 4 : 0};
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
    idx_data *d = &x->d;
    d->n = d->cap = n;
    d->arrays_mapped = 1;
    d->codes = (uint8_t *)sp[S_CODES];
    d->raw = x->keep_raw ? (float *)sp[S_RAW] : NULL;
    d->aux = (float *)sp[S_AUX];
    d->ids = (int64_t *)sp[S_IDS];
    d->state = (uint8_t *)sp[S_STATE];
    x->map = map, x->map_size = fsize;
    if (x->quant == SS_QUANT_INT8) {
        free(x->q_lo), free(x->q_scale);
        x->q_lo = (float *)sp[S_QUANT];
        x->q_scale = (float *)sp[S_QUANT] + dim;
    } else if (x->quant == SS_QUANT_BINARY) {
        free(x->q_mean);
        x->q_mean = (float *)sp[S_QUANT];
    }
    x->trained = (int)h.trained;
    if (hnsw) {
        d->levels = (uint8_t *)sp[S_LEVELS];
        d->links0 = (uint32_t *)sp[S_LINKS0];
        d->upper = calloc(n ? n : 1, sizeof(uint32_t *));
        if (!d->upper) {
            ss_fail(err, SS_ERR_NOMEM, "ss_index_load: out of memory");
            goto fail;
        }
        uint32_t *up = (uint32_t *)sp[S_UPPER];
        size_t avail = h.secs[S_UPPER - 1].size / 4, used = 0;
        for (size_t s = 0; s < n; s++) {
            int lv = d->levels[s];
            if (lv > SS_MAX_LEVEL) BAD("ss_index_load: %s: slot %zu has level %d > %d", path, s, lv, SS_MAX_LEVEL);
            size_t w = (size_t)lv * (1 + (size_t)x->m);
            if (used + w > avail) BAD("ss_index_load: %s: upper-level links are truncated", path);
            d->upper[s] = lv ? up + used : NULL;
            used += w;
            for (int l = 0; l <= lv; l++) {
                uint32_t *L = ss__links(x, (uint32_t)s, l);
                uint32_t mx = l ? (uint32_t)x->m : (uint32_t)x->m0;
                if (L[0] > mx) BAD("ss_index_load: %s: slot %zu level %d has %u links > %u", path, s, l, L[0], mx);
                for (uint32_t i = 0; i < L[0]; i++)
                    if (L[1 + i] >= n) BAD("ss_index_load: %s: slot %zu links to slot %u >= %zu", path, s, L[1 + i], n);
            }
        }
        if (used != avail) BAD("ss_index_load: %s: upper-level link section has trailing data", path);
        if (h.ep && ((uint32_t)h.ep >= n || (int)(h.ep >> 32) - 1 != d->levels[(uint32_t)h.ep]))
            BAD("ss_index_load: %s: bad entry point", path);
        d->ep = h.ep;
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
            if (d->nfree == d->freecap) {
                size_t nc = d->freecap ? d->freecap * 2 : 256;
                uint32_t *f = realloc(d->freel, nc * sizeof *f);
                if (!f) {
                    ss_fail(err, SS_ERR_NOMEM, "ss_index_load: out of memory");
                    goto fail;
                }
                d->freel = f, d->freecap = nc;
            }
            d->freel[d->nfree++] = (uint32_t)s;
            d->n_deleted++;
        }
    }
    if (d->hcount + d->n_deleted != n) BAD("ss_index_load: %s: duplicate ids", path);
    d->n_live = d->hcount;
    return x;
fail:
    if (x) {
        if (!x->map) munmap(map, fsize);
        ss_index_free(x);
    } else {
        munmap(map, fsize);
    }
    return NULL;
}
