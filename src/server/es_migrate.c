/* es_migrate.c — one-time migration of an index of the old layout
 * (DATA/es/NAME/es.db: a meta table and docs(id, src, version, seq_no), all
 * loaded into memory at start) into a fields collection.
 *
 * Never loses data: the new index is built completely in DATA/es/.NAME.migrating
 * (one batch: every document with its _version and _seq_no, the mapping,
 * settings, uuid and creation date), closed, and only then es.db moves into
 * it as es.db.migrated and the folder takes NAME's place. A crash before the
 * move leaves es.db where it was (the next start migrates again from
 * scratch); a crash after it is finished by es__migrate_finish. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "server/es_store.h"

int es__old_layout(const char *dir) {
    char p[4600], q[4600];
    snprintf(p, sizeof p, "%s/es.db", dir);
    snprintf(q, sizeof q, "%s/collection.db", dir);
    return access(p, F_OK) == 0 && access(q, F_OK) != 0;
}

static char *meta(sqlite3 *db, const char *k) {
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void rm_flat(const char *dir) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        char p[4600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (dp) closedir(dp);
    rmdir(dir);
}

/* tmp holds the finished index and es.db.migrated: put it in dir's place. */
static int finish(const char *tmp, const char *dir, char *why, size_t cap) {
    char p[4600];
    snprintf(p, sizeof p, "%s/es.db", dir);
    if (access(p, F_OK) == 0) return snprintf(why, cap, "%s still exists", p), -1;
    if (rmdir(dir) != 0 && errno != ENOENT)
        return snprintf(why, cap, "cannot remove %s (%s): files other than es.db in it", dir, strerror(errno)), -1;
    if (rename(tmp, dir) != 0) return snprintf(why, cap, "cannot rename %s to %s: %s", tmp, dir, strerror(errno)), -1;
    return 0;
}

int es__migrate(const char *dir, const char *name, char *why, size_t cap) {
    char old[4600], tmp[4600];
    snprintf(old, sizeof old, "%s/es.db", dir);
    const char *slash = strrchr(dir, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.%s.migrating", slash ? (int)(slash - dir) : 1, slash ? dir : ".", name);
    rm_flat(tmp); /* an interrupted earlier attempt: es.db is still the truth */
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(old, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(why, cap, "cannot open %s: %s", old, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    char *m = meta(db, "mappings"), *s = meta(db, "body_settings"), *u = meta(db, "uuid"), *c = meta(db, "created");
    cJSON *body = cJSON_CreateObject();
    if (m) cJSON_AddItemToObject(body, "mappings", cJSON_Parse(m));
    if (s) cJSON_AddItemToObject(body, "settings", cJSON_Parse(s));
    ss_http_resp resp = {0};
    es_index *x = es__create_at(tmp, name, body, &resp);
    cJSON_Delete(body);
    int rc = 0;
    long n = 0;
    if (!x) {
        snprintf(why, cap, "creating the new index: %.*s", (int)resp.len, resp.body ? resp.body : "");
        rc = -1;
    } else {
        es_begin(x);
        if (u) ss_collection_meta_set(x->coll, "uuid", u, NULL);
        if (c) ss_collection_meta_set(x->coll, "created", c, NULL);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT id, src, version, seq_no FROM docs ORDER BY seq_no", -1, &st, NULL) !=
            SQLITE_OK) {
            snprintf(why, cap, "reading %s: %s", old, sqlite3_errmsg(db));
            rc = -1;
        }
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0), *src = (const char *)sqlite3_column_text(st, 1);
            cJSON *j = src ? cJSON_Parse(src) : NULL;
            int64_t ver = sqlite3_column_int64(st, 2), seq = sqlite3_column_int64(st, 3);
            char et[64], w[1024];
            if (!id || !j) {
                cJSON_Delete(j);
                snprintf(why, cap, "%s: document %s has an unreadable _source", old, id ? id : "?");
                rc = -1;
                break;
            }
            if (seq >= x->seq) x->seq = seq + 1;
            int64_t keep_seq = x->seq;
            x->seq = seq; /* es_put stamps x->seq: keep the document's own */
            int code = es_put(x, id, j, 0, &ver, &seq, et, w, sizeof w);
            x->seq = keep_seq;
            if (code >= 300) {
                snprintf(why, cap, "document %s: %s", id, w);
                rc = -1;
            }
            n++;
        }
        if (st) sqlite3_finalize(st);
        if (rc == 0 && es_commit(x) != 0) rc = (snprintf(why, cap, "committing the new index failed"), -1);
        else if (rc != 0) ss_collection_rollback(x->coll);
        es__index_close(x);
    }
    free(m), free(s), free(u), free(c);
    free(resp.body);
    for (int h = 0; h < resp.n_headers; h++) free(resp.header_names[h]), free(resp.header_values[h]);
    sqlite3_close(db); /* the last connection: WAL checkpointed into es.db */
    if (rc != 0) {
        rm_flat(tmp);
        return -1;
    }
    char dst[4700];
    snprintf(dst, sizeof dst, "%s/es.db.migrated", tmp);
    if (rename(old, dst) != 0) {
        snprintf(why, cap, "cannot move %s to %s: %s", old, dst, strerror(errno));
        rm_flat(tmp);
        return -1;
    }
    const char *suf[] = {"-wal", "-shm"};
    for (int k = 0; k < 2; k++) {
        char p[4700];
        snprintf(p, sizeof p, "%s%s", old, suf[k]);
        unlink(p); /* empty after the checkpoint */
    }
    if (finish(tmp, dir, why, cap) != 0) return -1;
    fprintf(stderr, "semsearch: index [%s]: migrated %ld documents to the collection layout (old file kept as %s/es.db.migrated)\n",
            name, n, dir);
    return 0;
}

int es__migrate_finish(const char *es_dir, const char *entry, char *why, size_t cap) {
    size_t n = strlen(entry);
    if (entry[0] != '.' || n < 12 || strcmp(entry + n - 10, ".migrating")) return 0;
    char tmp[4600], dir[4600], done[4700];
    snprintf(tmp, sizeof tmp, "%s/%s", es_dir, entry);
    snprintf(dir, sizeof dir, "%s/%.*s", es_dir, (int)(n - 11), entry + 1);
    snprintf(done, sizeof done, "%s/es.db.migrated", tmp);
    if (access(done, F_OK) != 0) return 0; /* not finished: es.db is still in place, migrated again */
    return finish(tmp, dir, why, cap);
}
