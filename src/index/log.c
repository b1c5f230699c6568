/* log.c — the delta log's file format (see log.h). One writer at a time (the
 * index's writer lock); records go to an O_APPEND descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "index/fmt.h"
#include "index/log.h"

#define LOG_MAGIC "SSIDXLOG"
#define LOG_VERSION 1u
#define LOG_HDR 32
#define REC_HDR 16
#define REC_TAIL 8
/* an ADD record carries at most this many vectors (bigger adds are split) */
#define ADD_CHUNK_BYTES ((size_t)1 << 28)

struct ss_ilog {
    char *path;
    int fd;
    int dim;
    int broken; /* an append failed: the file may have a hole */
};

typedef struct loghdr {
    char magic[8];
    uint32_t version, dim;
    uint64_t snap_id;
    uint32_t reserved, crc;
} loghdr;
_Static_assert(sizeof(loghdr) == LOG_HDR, "log header is 32 bytes");

const char *ss__ilog_path(const ss_ilog *l) { return l->path; }

void ss__ilog_close(ss_ilog *l) {
    if (!l) return;
    if (l->fd >= 0) close(l->fd);
    free(l->path);
    free(l);
}

/* Write an empty log for snap_id at path: temp file, fsync, rename. */
static ss_status write_fresh(const char *path, int dim, uint64_t snap_id, ss_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ss_fail(err, SS_ERR_INVALID, "index log: path too long: %s", path);
    loghdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, LOG_MAGIC, 8);
    h.version = LOG_VERSION, h.dim = (uint32_t)dim, h.snap_id = snap_id;
    h.crc = ss__crc32c(0, &h, LOG_HDR - 4);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ss_fail(err, SS_ERR_IO, "index log: cannot create %s: %s", tmp, strerror(errno));
    ss_status st = ss__write_all(fd, &h, sizeof h, "index log", tmp, err);
    if (st == SS_OK && fsync(fd) != 0) st = ss_fail(err, SS_ERR_IO, "index log: fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == SS_OK) st = ss_fail(err, SS_ERR_IO, "index log: closing %s: %s", tmp, strerror(errno));
    if (st == SS_OK && rename(tmp, path) != 0)
        st = ss_fail(err, SS_ERR_IO, "index log: renaming %s to %s: %s", tmp, path, strerror(errno));
    if (st != SS_OK) unlink(tmp);
    else ss__fsync_dir(path);
    return st;
}

static ss_status open_append(ss_ilog *l, ss_error *err) {
    if (l->fd >= 0) close(l->fd);
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (l->fd < 0) return ss_fail(err, SS_ERR_IO, "index log: cannot open %s: %s", l->path, strerror(errno));
    return SS_OK;
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Walk the records of a mapped log. apply NULL: check only, and find the end
 * of the last COMMIT. Else replay the records before `end`. */
static ss_status walk(const ss_ilog *l, const unsigned char *base, size_t size, size_t end, ss_ilog_apply apply,
                      void *ctx, size_t *commit_end, uint64_t *last_gen, size_t *n_commits, ss_error *err) {
    size_t off = LOG_HDR, limit = apply ? end : size, dim = (size_t)l->dim;
    if (commit_end) *commit_end = LOG_HDR;
    while (off < limit) {
        size_t rem = size - off;
        if (rem < REC_HDR + REC_TAIL) break; /* torn tail */
        uint32_t type;
        uint64_t len;
        memcpy(&type, base + off, 4);
        memcpy(&len, base + off + 8, 8);
        if (len > rem - REC_HDR - REC_TAIL) break; /* torn tail: the record runs past the end */
        uint32_t crc;
        memcpy(&crc, base + off + REC_HDR + len, 4);
        if (crc != ss__crc32c(0, base + off, REC_HDR + (size_t)len)) {
            size_t next = off + REC_HDR + (size_t)len + REC_TAIL;
            if (next == size || all_zero(base + off, rem)) break; /* torn tail */
            return ss_fail(err, SS_ERR_FORMAT, "index log %s: record at byte offset %zu: checksum mismatch (corrupt)",
                           l->path, off);
        }
        const unsigned char *pl = base + off + REC_HDR;
        uint64_t n = 0;
        if (len >= 8) memcpy(&n, pl, 8);
        int ok = len >= 8;
        if (type == SS_LOG_ADD) /* (len - 8 - 8n) / (4 dim) == n, without overflow */
            ok = ok && n && n <= (len - 8) / 8 && (len - 8 - 8 * n) % (dim * 4) == 0 &&
                 (len - 8 - 8 * n) / (dim * 4) == n;
        else if (type == SS_LOG_REMOVE) ok = ok && len == 8 + 8 * n;
        else if (type == SS_LOG_COMMIT) ok = len == 8;
        else
            return ss_fail(err, SS_ERR_FORMAT, "index log %s: record at byte offset %zu has unknown type %u", l->path,
                           off, type);
        if (!ok)
            return ss_fail(err, SS_ERR_FORMAT,
                           "index log %s: record at byte offset %zu (type %u): %llu payload bytes do not match its count",
                           l->path, off, type, (unsigned long long)len);
        if (type == SS_LOG_COMMIT) {
            if (last_gen) *last_gen = n;
            if (n_commits) (*n_commits)++;
        }
        if (apply && type != SS_LOG_COMMIT) {
            /* aligned copies: records are only 4-byte aligned in the file */
            int64_t *ids = malloc((size_t)n * 8 + 1);
            float *vecs = type == SS_LOG_ADD ? malloc((size_t)n * dim * 4) : NULL;
            if (!ids || (type == SS_LOG_ADD && !vecs)) {
                free(ids), free(vecs);
                return ss_fail(err, SS_ERR_NOMEM, "index log %s: out of memory replaying %llu vectors", l->path,
                               (unsigned long long)n);
            }
            memcpy(ids, pl + 8, (size_t)n * 8);
            if (vecs) memcpy(vecs, pl + 8 + 8 * n, (size_t)n * dim * 4);
            ss_status st = apply(ctx, (int)type, ids, vecs, (size_t)n, 0, err);
            free(ids), free(vecs);
            if (st) {
                ss_error_prefix(err, "index log %s: replaying the record at byte offset %zu: ", l->path, off);
                return st;
            }
        }
        off += REC_HDR + (size_t)len + REC_TAIL;
        if (type == SS_LOG_COMMIT && commit_end) *commit_end = off;
    }
    return SS_OK;
}

ss_status ss__ilog_open(const char *path, int dim, uint64_t snap_id, ss_ilog_apply apply, void *ctx,
                        ss_ilog **out, uint64_t *last_gen, size_t *n_commits, ss_error *err) {
    *out = NULL;
    *n_commits = 0;
    ss_ilog *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        free(l);
        return ss_fail(err, SS_ERR_NOMEM, "index log: out of memory");
    }
    l->fd = -1;
    l->dim = dim;
    ss_status st = SS_OK;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        st = ss_fail(err, SS_ERR_IO, "index log: cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (fd < 0) {
        st = write_fresh(path, dim, snap_id, err);
        if (st == SS_OK) st = open_append(l, err);
        if (st) goto fail;
        *out = l;
        return SS_OK;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        st = ss_fail(err, SS_ERR_IO, "index log: stat %s: %s", path, strerror(errno));
        goto fail;
    }
    size_t size = (size_t)sb.st_size;
    if (size < LOG_HDR) {
        close(fd);
        st = ss_fail(err, SS_ERR_FORMAT, "index log %s: %zu bytes, shorter than its %d-byte header (corrupt)", path,
                     size, LOG_HDR);
        goto fail;
    }
    unsigned char *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
        close(fd);
        st = ss_fail(err, SS_ERR_IO, "index log: mmap %s: %s", path, strerror(errno));
        goto fail;
    }
    loghdr h;
    memcpy(&h, base, sizeof h);
    if (memcmp(h.magic, LOG_MAGIC, 8) != 0 || h.crc != ss__crc32c(0, base, LOG_HDR - 4) || h.version != LOG_VERSION) {
        st = ss_fail(err, SS_ERR_FORMAT, "index log %s: bad header (not an index log, corrupt, or version %u)", path,
                     h.version);
    } else if (h.snap_id != snap_id) {
        /* written for an earlier snapshot, which already holds its changes (a
         * crash came between the new snapshot's rename and the log's reset) */
        munmap(base, size);
        close(fd);
        st = write_fresh(path, dim, snap_id, err);
        if (st == SS_OK) st = open_append(l, err);
        if (st) goto fail;
        *out = l;
        return SS_OK;
    } else if (h.dim != (uint32_t)dim) {
        st = ss_fail(err, SS_ERR_FORMAT, "index log %s: vectors of %u dims, the index has %d", path, h.dim, dim);
    } else {
        size_t end = LOG_HDR;
        st = walk(l, base, size, 0, NULL, NULL, &end, last_gen, n_commits, err);
        if (st == SS_OK) st = walk(l, base, size, end, apply, ctx, NULL, NULL, NULL, err);
        /* cut what follows the last commit: a torn or uncommitted tail */
        if (st == SS_OK && end < size) {
            if (ftruncate(fd, (off_t)end) != 0 || fsync(fd) != 0)
                st = ss_fail(err, SS_ERR_IO, "index log %s: cutting the uncommitted tail at byte %zu: %s", path, end,
                             strerror(errno));
        }
    }
    munmap(base, size);
    close(fd);
    if (st == SS_OK) st = open_append(l, err);
    if (st) goto fail;
    *out = l;
    return SS_OK;
fail:
    ss__ilog_close(l);
    return st;
}

/* One record: header, payload pieces, checksum. A failed write marks the log broken. */
static ss_status append(ss_ilog *l, uint32_t type, const void *const *parts, const size_t *sizes, int nparts,
                        ss_error *err) {
    if (l->broken)
        return ss_fail(err, SS_ERR_IO, "index log %s: an earlier write failed; save a snapshot to recover", l->path);
    unsigned char hdr[REC_HDR] = {0};
    uint64_t len = 0;
    for (int i = 0; i < nparts; i++) len += sizes[i];
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &len, 8);
    uint32_t crc = ss__crc32c(0, hdr, REC_HDR);
    ss_status st = ss__write_all(l->fd, hdr, REC_HDR, "index log", l->path, err);
    for (int i = 0; st == SS_OK && i < nparts; i++) {
        crc = ss__crc32c(crc, parts[i], sizes[i]);
        st = ss__write_all(l->fd, parts[i], sizes[i], "index log", l->path, err);
    }
    unsigned char tail[REC_TAIL] = {0};
    memcpy(tail, &crc, 4);
    if (st == SS_OK) st = ss__write_all(l->fd, tail, REC_TAIL, "index log", l->path, err);
    if (st) l->broken = 1;
    return st;
}

ss_status ss__ilog_add(ss_ilog *l, const int64_t *ids, int64_t id0, const float *vecs, size_t n, ss_error *err) {
    size_t row = (size_t)l->dim * 4 + 8, chunk = ADD_CHUNK_BYTES / row;
    if (chunk < 1) chunk = 1;
    int64_t *gen = NULL;
    if (!ids) {
        gen = malloc((n < chunk ? n : chunk) * sizeof *gen);
        if (!gen) return ss_fail(err, SS_ERR_NOMEM, "index log: out of memory");
    }
    ss_status st = SS_OK;
    for (size_t i0 = 0; st == SS_OK && i0 < n; i0 += chunk) {
        uint64_t m = n - i0 < chunk ? n - i0 : chunk;
        const int64_t *mi = ids ? ids + i0 : gen;
        if (gen)
            for (uint64_t i = 0; i < m; i++) gen[i] = id0 + (int64_t)(i0 + i);
        const void *parts[3] = {&m, mi, vecs + i0 * (size_t)l->dim};
        size_t sizes[3] = {8, (size_t)m * 8, (size_t)m * (size_t)l->dim * 4};
        st = append(l, SS_LOG_ADD, parts, sizes, 3, err);
    }
    free(gen);
    return st;
}

ss_status ss__ilog_remove(ss_ilog *l, const int64_t *ids, size_t n, ss_error *err) {
    uint64_t m = n;
    const void *parts[2] = {&m, ids};
    size_t sizes[2] = {8, n * 8};
    return append(l, SS_LOG_REMOVE, parts, sizes, 2, err);
}

ss_status ss__ilog_commit(ss_ilog *l, uint64_t gen, ss_error *err) {
    const void *parts[1] = {&gen};
    size_t sizes[1] = {8};
    ss_status st = append(l, SS_LOG_COMMIT, parts, sizes, 1, err);
    if (st == SS_OK && fsync(l->fd) != 0) {
        l->broken = 1;
        st = ss_fail(err, SS_ERR_IO, "index log: fsync %s: %s", l->path, strerror(errno));
    }
    return st;
}

ss_status ss__ilog_reset(ss_ilog *l, uint64_t snap_id, ss_error *err) {
    ss_status st = write_fresh(l->path, l->dim, snap_id, err);
    if (st == SS_OK) st = open_append(l, err);
    /* on failure the old log (now stale) must take no more commits */
    l->broken = st != SS_OK;
    return st;
}
