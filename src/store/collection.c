/* collection.c — opening and creating a collection: the folder, the SQLite
 * schema and meta table, the model check, the writer lock, and the pool of
 * reader connections.
 *
 * Model check: the collection records the model folder and a fingerprint of
 * its weights = sha256(8-byte little-endian file size || first MiB || last
 * MiB of model.safetensors). Reading 2 MiB keeps every open fast (hashing all
 * of a 90 MB file would cost ~0.3 s per CLI call); any re-export, dtype
 * change or fine-tune changes size, header or tail. A model with another
 * fingerprint is refused, naming both.
 *
 * Writer lock: DIR/writer.lock, flock(LOCK_EX) held for the handle's life and
 * holding the pid; the kernel drops it when the process dies (no stale
 * locks after SIGKILL). SQLite's own lock (BEGIN IMMEDIATE) is the second line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/error.h"
#include "core/fileio.h"
#include "store/store_internal.h"

ss_status ss__sql_fail(ss_error *err, sqlite3 *db, const char *what) {
    return ss_fail(err, SS_ERR_IO, "%s: %s", what, db ? sqlite3_errmsg(db) : "sqlite error");
}

ss_status ss__exec(sqlite3 *db, const char *sql, ss_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ss_status s = ss_fail(err, SS_ERR_IO, "sqlite: %s (in: %.80s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return s;
    }
    return SS_OK;
}

static char *meta_get(sqlite3 *db, const char *key) {
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

ss_status ss__meta_set(sqlite3 *db, const char *key, const char *value, ss_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK)
        return ss__sql_fail(err, db, "meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (value) sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 2);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SS_OK : ss__sql_fail(err, db, "writing meta");
}

int64_t ss__meta_seq(sqlite3 *db) {
    char *v = meta_get(db, "seq");
    int64_t s = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return s;
}

/* ---- model fingerprint ------------------------------------------------------ */

static ss_status model_fingerprint(const char *dir, char *hex, size_t cap, ss_error *err) {
    char path[4200];
    ss_path_join(path, sizeof path, dir, "model.safetensors");
    FILE *f = fopen(path, "rb");
    if (!f) return ss_fail(err, SS_ERR_NOT_FOUND, "model weights %s: %s", path, strerror(errno));
    struct stat sb;
    fstat(fileno(f), &sb);
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(size >> (8 * i));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, le, 8);
    size_t mib = 1u << 20;
    char *buf = malloc(mib);
    ss_status s = SS_OK;
    for (int part = 0; part < 2 && buf; part++) {
        uint64_t off = part == 0 ? 0 : (size > mib ? size - mib : 0);
        size_t want = size < mib ? (size_t)size : mib;
        if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, want, f) != want) {
            s = ss_fail(err, SS_ERR_IO, "reading %s: %s", path, strerror(errno));
            break;
        }
        EVP_DigestUpdate(md, buf, want);
    }
    if (!buf) s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
    unsigned char dig[32];
    unsigned int dn = 0;
    EVP_DigestFinal_ex(md, dig, &dn);
    EVP_MD_CTX_free(md);
    free(buf);
    fclose(f);
    if (s == SS_OK && cap >= 65)
        for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return s;
}

/* ---- writer lock -------------------------------------------------------------- */

static ss_status take_lock(ss_collection *c, int wait_ms, ss_error *err) {
    char path[4200];
    ss_path_join(path, sizeof path, c->dir, "writer.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ss_fail(err, SS_ERR_IO, "cannot open lock file %s: %s", path, strerror(errno));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            close(fd);
            return ss_fail(err, SS_ERR_IO, "locking %s: %s", path, strerror(errno));
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (long)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= wait_ms) {
            char pid[32] = "?";
            ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            if (n > 0) {
                pid[n] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
            }
            close(fd);
            return ss_fail(err, SS_ERR_IO,
                           "collection %s is locked by pid %s (another writer; waited %d ms)", c->dir, pid, wait_ms);
        }
        struct timespec nap = {0, 20 * 1000000};
        nanosleep(&nap, NULL);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        close(fd);
        return ss_fail(err, SS_ERR_IO, "writing lock file %s: %s", path, strerror(errno));
    }
    c->lock_fd = fd;
    return SS_OK;
}

/* ---- connections --------------------------------------------------------------- */

static sqlite3 *conn_open(ss_collection *c, int writer, ss_error *err) {
    sqlite3 *db = NULL;
    int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : (c->read_only ? SQLITE_OPEN_READONLY
                                                                                     : SQLITE_OPEN_READWRITE)) |
                SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(c->db_path, &db, flags, NULL) != SQLITE_OK) {
        ss_fail(err, SS_ERR_IO, "cannot open %s: %s", c->db_path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (ss__fts_register(db, err) != SS_OK) {
        sqlite3_close(db);
        return NULL;
    }
    if (writer) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", c->sync_off ? "NORMAL" : "FULL");
        if (ss__exec(db, sql, err) != SS_OK) {
            ss_error_prefix(err, "%s: ", c->db_path);
            sqlite3_close(db);
            return NULL;
        }
    }
    return db;
}

sqlite3 *ss__conn_borrow(ss_collection *c, ss_error *err) {
    pthread_mutex_lock(&c->pmu);
    sqlite3 *db = c->npool > 0 ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->pmu);
    return db ? db : conn_open(c, 0, err);
}

void ss__conn_return(ss_collection *c, sqlite3 *db) {
    if (!db) return;
    pthread_mutex_lock(&c->pmu);
    if (c->npool < SS_STORE_POOL_MAX) {
        c->pool[c->npool++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&c->pmu);
    if (db) sqlite3_close(db);
}

ss_model *ss__model(ss_collection *c, ss_error *err) {
    pthread_mutex_lock(&c->mmu);
    if (!c->model) {
        ss_model_options mo = {.n_threads = c->n_threads};
        c->model = ss_model_load(c->model_path, &mo, err);
        if (!c->model) ss_error_prefix(err, "collection %s: ", c->dir);
        else if (c->dim > 0 && ss_model_dim(c->model) != c->dim) {
            ss_fail(err, SS_ERR_FORMAT, "collection %s has %d-d vectors but model %s gives %d-d", c->dir, c->dim,
                    c->model_path, ss_model_dim(c->model));
            ss_model_free(c->model);
            c->model = NULL;
        }
    }
    ss_model *m = c->model;
    pthread_mutex_unlock(&c->mmu);
    return m;
}

ss_status ss__encode(ss_collection *c, const char *const *texts, size_t n, const ss_encode_options *o, float *out,
                     ss_error *err) {
    ss_model *m = ss__model(c, err);
    if (!m) return err ? err->code : SS_ERR_IO;
    pthread_mutex_lock(&c->emu);
    ss_status s = ss_encode(m, texts, n, o, out, err);
    pthread_mutex_unlock(&c->emu);
    return s;
}

/* ---- schema ---------------------------------------------------------------------- */

static const char *SCHEMA =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    /* rowid = the vector index id; AUTOINCREMENT so a deleted rowid is never reused. */
    "CREATE TABLE docs(rowid INTEGER PRIMARY KEY AUTOINCREMENT, ext_id TEXT NOT NULL UNIQUE,"
    " fields TEXT NOT NULL, body TEXT NOT NULL, seq INTEGER NOT NULL);"
    "CREATE INDEX docs_seq ON docs(seq);"
    "CREATE TABLE vectors(rowid INTEGER PRIMARY KEY, v BLOB NOT NULL);"
    /* deletions the vector index may not have seen yet (pruned when it is saved) */
    "CREATE TABLE tombstones(rowid INTEGER PRIMARY KEY, seq INTEGER NOT NULL);";

static const char *metric_str(ss_metric m) { return m == SS_METRIC_DOT ? "dot" : m == SS_METRIC_L2 ? "l2" : "cosine"; }

static ss_status create_schema(ss_collection *c, const ss_collection_options *o, ss_error *err) {
    sqlite3 *db = c->wdb;
    char sql[256];
    if (ss__exec(db, "BEGIN IMMEDIATE", err) != SS_OK) return err->code;
    ss_status s = ss__exec(db, SCHEMA, err);
    snprintf(sql, sizeof sql,
             "CREATE VIRTUAL TABLE fts USING fts5(body, content='docs', content_rowid='rowid',"
             " tokenize='semsearch %s')",
             c->analyzer);
    if (s == SS_OK) s = ss__exec(db, sql, err);
    char num[32];
#define SETI(k, v) (snprintf(num, sizeof num, "%lld", (long long)(v)), ss__meta_set(db, k, num, err))
    if (s == SS_OK) s = SETI("schema_version", SS_STORE_SCHEMA_VERSION);
    if (s == SS_OK) s = ss__meta_set(db, "model_path", c->model_path, err);
    if (s == SS_OK) s = ss__meta_set(db, "model_fingerprint", c->model_fp, err);
    if (s == SS_OK) s = ss__meta_set(db, "model_fingerprint_method", "sha256(size_le64 || first MiB || last MiB)", err);
    if (s == SS_OK) s = SETI("dim", c->dim);
    if (s == SS_OK) s = ss__meta_set(db, "fields", c->fields, err);
    if (s == SS_OK) s = ss__meta_set(db, "template", c->template_text, err);
    if (s == SS_OK) s = ss__meta_set(db, "analyzer", c->analyzer, err);
    if (s == SS_OK) s = ss__meta_set(db, "metric", metric_str(c->metric), err);
    if (s == SS_OK) s = ss__meta_set(db, "index_type", c->index_type == SS_INDEX_HNSW ? "hnsw" : "flat", err);
    if (s == SS_OK) s = SETI("hnsw_m", c->hnsw_m);
    if (s == SS_OK) s = SETI("ef_construction", c->ef_construction);
    if (s == SS_OK) s = SETI("ef_search", c->ef_search);
    if (s == SS_OK) s = SETI("seq", 0);
    if (s == SS_OK && c->fields_only) s = ss__meta_set(db, "kind", "fields", err);
    if (s == SS_OK) s = ss__chunk_create(c, db, err);
#undef SETI
    (void)o;
    if (s == SS_OK) s = ss__exec(db, "COMMIT", err);
    else ss__exec(db, "ROLLBACK", NULL);
    return s;
}

static ss_status load_meta(ss_collection *c, sqlite3 *db, ss_error *err) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'", -1, &st, NULL) !=
        SQLITE_OK)
        return ss_fail(err, SS_ERR_FORMAT, "%s is not a semsearch collection: %s", c->db_path, sqlite3_errmsg(db));
    int has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    char *ver = has ? meta_get(db, "schema_version") : NULL;
    if (!ver) return ss_fail(err, SS_ERR_FORMAT, "%s is not a semsearch collection (no meta table)", c->db_path);
    int v = atoi(ver);
    free(ver);
    if (v != SS_STORE_SCHEMA_VERSION)
        return ss_fail(err, SS_ERR_UNSUPPORTED, "%s: schema version %d, this semsearch reads %d", c->db_path, v,
                       SS_STORE_SCHEMA_VERSION);
    char *p;
#define GETS(k, dst)                                                                                               \
    if ((p = meta_get(db, k))) {                                                                                   \
        snprintf(dst, sizeof dst, "%s", p);                                                                        \
        free(p);                                                                                                   \
    }
#define GETI(k, dst)                                                                                               \
    if ((p = meta_get(db, k))) {                                                                                   \
        dst = atoi(p);                                                                                             \
        free(p);                                                                                                   \
    }
    GETS("model_path", c->model_path);
    GETS("model_fingerprint", c->model_fp);
    GETS("analyzer", c->analyzer);
    GETI("dim", c->dim);
    GETI("hnsw_m", c->hnsw_m);
    GETI("ef_construction", c->ef_construction);
    GETI("ef_search", c->ef_search);
#undef GETS
#undef GETI
    c->fields = meta_get(db, "fields");
    c->template_text = meta_get(db, "template");
    p = meta_get(db, "metric");
    c->metric = p && !strcmp(p, "dot") ? SS_METRIC_DOT : p && !strcmp(p, "l2") ? SS_METRIC_L2 : SS_METRIC_COSINE;
    free(p);
    p = meta_get(db, "index_type");
    c->index_type = p && !strcmp(p, "hnsw") ? SS_INDEX_HNSW : SS_INDEX_FLAT;
    free(p);
    c->seq = ss__meta_seq(db);
    p = meta_get(db, "kind");
    c->fields_only = p && !strcmp(p, "fields");
    free(p);
    ss__chunk_load(c, db);
    return SS_OK;
}

static int mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Entries other than ".", ".." and a lock file. */
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "writer.lock")) n++;
    closedir(d);
    return n == 0;
}

static void collection_free(ss_collection *c) {
    if (!c) return;
    ss__fields_free(c); /* first: it finalizes statements on the writer connection */
    for (int i = 0; i < c->npool; i++) sqlite3_close(c->pool[i]);
    if (c->wdb) sqlite3_close(c->wdb);
    if (c->idx) ss_index_free(c->idx);
    if (c->model) ss_model_free(c->model);
    if (c->lock_fd >= 0) close(c->lock_fd); /* releases the flock */
    free(c->fields);
    free(c->template_text);
    pthread_mutex_destroy(&c->wmu);
    pthread_mutex_destroy(&c->pmu);
    pthread_mutex_destroy(&c->mmu);
    pthread_mutex_destroy(&c->emu);
    pthread_rwlock_destroy(&c->ilock);
    free(c);
}

static ss_status check_model(ss_collection *c, const ss_collection_options *o, ss_error *err) {
    const char *given = o && o->model_dir ? o->model_dir : NULL;
    char fp[80] = "";
    const char *dir = given ? given : c->model_path;
    if (model_fingerprint(dir, fp, sizeof fp, err) != SS_OK) {
        ss_error_prefix(err, "collection %s (model %s): ", c->dir, c->model_path);
        return err ? err->code : SS_ERR_IO;
    }
    if (strcmp(fp, c->model_fp) != 0)
        return ss_fail(err, SS_ERR_INVALID,
                       "collection %s was built with model %s (weights fingerprint %.16s); refusing to use model %s "
                       "(fingerprint %.16s): vectors of different models must not be mixed",
                       c->dir, c->model_path, c->model_fp, dir, fp);
    if (given) {
        char real[PATH_MAX];
        snprintf(c->model_path, sizeof c->model_path, "%s", realpath(given, real) ? real : given);
    }
    return SS_OK;
}

ss_collection *ss_collection_open(const char *dir, const ss_collection_options *o, ss_error *err) {
    ss_collection_options def = {0};
    if (!o) o = &def;
    if (!dir || !*dir) {
        ss_fail(err, SS_ERR_INVALID, "ss_collection_open: no folder given");
        return NULL;
    }
    ss_collection *c = calloc(1, sizeof *c);
    if (!c) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->lock_fd = -1;
    pthread_mutex_init(&c->wmu, NULL);
    pthread_mutex_init(&c->pmu, NULL);
    pthread_mutex_init(&c->mmu, NULL);
    pthread_mutex_init(&c->emu, NULL);
    pthread_rwlock_init(&c->ilock, NULL);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    ss_path_join(c->db_path, sizeof c->db_path, dir, "collection.db");
    ss_path_join(c->index_path, sizeof c->index_path, dir, "index.ssi");
    c->read_only = o->read_only;
    c->sync_off = o->sync_off;
    c->n_threads = o->n_threads;

    struct stat sb;
    int exists = stat(dir, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        ss_fail(err, SS_ERR_INVALID, "%s is not a semsearch collection (not a folder)", dir);
        goto fail;
    }
    int has_db = exists && ss_path_exists(c->db_path);
    if (!has_db) {
        if (!o->create || o->read_only) {
            ss_fail(err, SS_ERR_NOT_FOUND, exists ? "%s is not a semsearch collection (no collection.db)"
                                                  : "no collection at %s (add documents to create one)",
                    dir);
            goto fail;
        }
        if (exists && !dir_is_empty(dir)) {
            ss_fail(err, SS_ERR_INVALID,
                    "%s is not a semsearch collection (no collection.db) and not empty: refusing to create one there",
                    dir);
            goto fail;
        }
        if (mkdirs(dir) != 0) {
            ss_fail(err, SS_ERR_IO, "cannot create folder %s: %s", dir, strerror(errno));
            goto fail;
        }
    }
    if (!o->read_only && take_lock(c, o->lock_wait_ms, err) != SS_OK) goto fail;
    has_db = ss_path_exists(c->db_path); /* re-check under the lock */
    if (!o->read_only) {
        c->wdb = conn_open(c, 1, err);
        if (!c->wdb) goto fail;
        /* A creator killed before its schema transaction committed leaves an
         * empty database: under the writer lock, that is a collection to create. */
        sqlite3_stmt *st;
        if (has_db && o->create &&
            sqlite3_prepare_v2(c->wdb, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) has_db = 0;
            sqlite3_finalize(st);
        }
    }
    if (!has_db && o->fields_only) {
        c->fields_only = 1;
        snprintf(c->analyzer, sizeof c->analyzer, "%s", o->analyzer ? o->analyzer : "standard");
        c->fields = strdup("");
        if (create_schema(c, o, err) != SS_OK) {
            ss_error_prefix(err, "creating %s: ", c->db_path);
            goto fail;
        }
    } else if (!has_db) {
        if (!o->model_dir) {
            ss_fail(err, SS_ERR_INVALID, "creating collection %s: no model folder given", dir);
            goto fail;
        }
        if (o->analyzer && !ss__analyzer_valid(o->analyzer)) {
            ss_fail(err, SS_ERR_INVALID, "unknown analyzer '%s' (standard, english)", o->analyzer);
            goto fail;
        }
        char why[512];
        if (ss__compose_check(o->template_text ? NULL : o->fields, o->template_text, why, sizeof why) != 0) {
            ss_fail(err, SS_ERR_INVALID, "creating %s: %s", dir, why);
            goto fail;
        }
        char real[PATH_MAX];
        snprintf(c->model_path, sizeof c->model_path, "%s", realpath(o->model_dir, real) ? real : o->model_dir);
        if (model_fingerprint(c->model_path, c->model_fp, sizeof c->model_fp, err) != SS_OK) goto fail;
        if (!ss__model(c, err)) goto fail;
        c->dim = ss_model_dim(c->model);
        c->fields = o->template_text ? NULL : strdup(o->fields ? o->fields : "text");
        c->template_text = o->template_text ? strdup(o->template_text) : NULL;
        snprintf(c->analyzer, sizeof c->analyzer, "%s", o->analyzer ? o->analyzer : "standard");
        c->metric = o->metric;
        c->index_type = o->index_type;
        c->hnsw_m = o->hnsw_m;
        c->ef_construction = o->ef_construction;
        c->ef_search = o->ef_search;
        if (ss__chunk_configure(c, o, 1, err) != SS_OK) goto fail;
        if (create_schema(c, o, err) != SS_OK) {
            ss_error_prefix(err, "creating %s: ", c->db_path);
            goto fail;
        }
    } else {
        sqlite3 *db = c->wdb ? c->wdb : ss__conn_borrow(c, err);
        if (!db) goto fail;
        ss_status s = load_meta(c, db, err);
        if (db != c->wdb) ss__conn_return(c, db);
        if (s != SS_OK) goto fail;
        if (!c->fields_only && check_model(c, o, err) != SS_OK) goto fail;
        const char *want_fields = o->fields, *want_tpl = o->template_text;
        if (want_tpl && (!c->template_text || strcmp(want_tpl, c->template_text))) {
            ss_fail(err, SS_ERR_INVALID, "collection %s embeds %s%s; the template '%s' differs", dir,
                    c->template_text ? "the template " : "the fields ", c->template_text ? c->template_text : c->fields,
                    want_tpl);
            goto fail;
        }
        if (want_fields && (!c->fields || strcmp(want_fields, c->fields))) {
            ss_fail(err, SS_ERR_INVALID, "collection %s embeds %s%s; the fields '%s' differ", dir,
                    c->template_text ? "the template " : "the fields ", c->template_text ? c->template_text : c->fields,
                    want_fields);
            goto fail;
        }
        if (ss__chunk_configure(c, o, 0, err) != SS_OK) goto fail;
    }
    if (c->fields_only ? ss__fields_open(c, err) != SS_OK : ss__vindex_open(c, err) != SS_OK) goto fail;
    return c;
fail:
    collection_free(c);
    return NULL;
}

ss_status ss_collection_close(ss_collection *c, ss_error *err) {
    if (!c) return SS_OK;
    ss_status s = SS_OK;
    if (!c->read_only && c->fields_only) s = ss__fields_save(c, err);
    else if (!c->read_only && c->idx_dirty) s = ss__vindex_save(c, err);
    collection_free(c);
    return s;
}

int64_t ss_collection_count(ss_collection *c) {
    sqlite3 *db = ss__conn_borrow(c, NULL);
    if (!db) return -1;
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM docs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    ss__conn_return(c, db);
    return n;
}

int ss_collection_dim(const ss_collection *c) { return c->dim; }

const char *ss_collection_describe(ss_collection *c) {
    int64_t n = ss_collection_count(c);
    char chunking[64] = "off";
    if (c->chunk_tokens > 0)
        snprintf(chunking, sizeof chunking, "%d tokens, overlap %d", c->chunk_tokens, c->chunk_overlap);
    snprintf(c->describe, sizeof c->describe,
             "model %.400s (%d-d, weights %.12s), %s %s, metric %s, index %s, analyzer %s, chunking %s, %lld docs, "
             "seq %lld",
             c->model_path, c->dim, c->model_fp, c->template_text ? "template" : "fields",
             c->template_text ? c->template_text : c->fields ? c->fields : "", metric_str(c->metric),
             c->index_type == SS_INDEX_HNSW ? "hnsw" : "flat", c->analyzer, chunking, (long long)n,
             (long long)c->idx_seq);
    return c->describe;
}
