/* iter.c — ss_collection_iter: every document with its vector, by rowid.
 *
 * Pages of PAGE documents are read with one query each on a borrowed reader
 * connection, which is returned between pages: a push of a large collection
 * never holds a read transaction open for minutes (that would stop WAL
 * checkpoints of a writer running at the same time). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/store_internal.h"

#define PAGE 256

typedef struct iter_row {
    int64_t rowid;
    char *id, *fields, *text;
    float *vec; /* dim floats or NULL */
} iter_row;

struct ss_collection_iter {
    ss_collection *c;
    int64_t after;  /* the last rowid handed out */
    iter_row rows[PAGE];
    int n, next;
    int done;
};

static void page_clear(ss_collection_iter *it) {
    for (int i = 0; i < it->n; i++) {
        free(it->rows[i].id);
        free(it->rows[i].fields);
        free(it->rows[i].text);
        free(it->rows[i].vec);
    }
    it->n = it->next = 0;
}

void ss_collection_info_get(const ss_collection *c, ss_collection_info *out) {
    memset(out, 0, sizeof *out);
    out->dim = c->dim;
    out->metric = c->metric;
    out->index_type = c->index_type;
    out->hnsw_m = c->hnsw_m;
    out->ef_construction = c->ef_construction;
    out->fields = c->fields;
    out->template_text = c->template_text;
    out->analyzer = c->analyzer;
    out->model_path = c->model_path;
}

ss_collection_iter *ss_collection_iter_new(ss_collection *c, int64_t after_rowid, ss_error *err) {
    ss_error_clear(err);
    ss_collection_iter *it = calloc(1, sizeof *it);
    if (!it) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    it->c = c;
    it->after = after_rowid;
    return it;
}

static char *dup_col(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static int fill_page(ss_collection_iter *it, ss_error *err) {
    page_clear(it);
    ss_collection *c = it->c;
    sqlite3 *db = ss__conn_borrow(c, err);
    if (!db) return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT d.rowid, d.ext_id, d.fields, d.body, v.v FROM docs d LEFT JOIN vectors v"
                                " ON v.rowid = d.rowid WHERE d.rowid > ?1 ORDER BY d.rowid LIMIT ?2",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        ss__sql_fail(err, db, "reading documents");
        ss__conn_return(c, db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, it->after);
    sqlite3_bind_int(st, 2, PAGE);
    int bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        iter_row *r = &it->rows[it->n];
        memset(r, 0, sizeof *r);
        r->rowid = sqlite3_column_int64(st, 0);
        r->id = dup_col(st, 1);
        r->fields = dup_col(st, 2);
        r->text = dup_col(st, 3);
        int nb = sqlite3_column_bytes(st, 4);
        const void *blob = sqlite3_column_blob(st, 4);
        if (blob && nb > 0) {
            if (nb != c->dim * (int)sizeof(float)) {
                ss_fail(err, SS_ERR_FORMAT, "%s: document %s (rowid %lld) has a %d-byte vector, expected %d floats",
                        c->db_path, r->id ? r->id : "?", (long long)r->rowid, nb, c->dim);
                bad = 1;
            } else if ((r->vec = malloc((size_t)nb)) != NULL) {
                memcpy(r->vec, blob, (size_t)nb);
            }
        }
        it->n++;
        if (!r->id || !r->fields || !r->text || (blob && nb > 0 && !r->vec && !bad)) {
            if (!bad) ss_fail(err, SS_ERR_NOMEM, "out of memory");
            bad = 1;
        }
        if (bad) break;
    }
    if (!bad && rc != SQLITE_DONE) {
        ss__sql_fail(err, db, "reading documents");
        bad = 1;
    }
    sqlite3_finalize(st);
    ss__conn_return(c, db);
    if (bad) {
        page_clear(it);
        return -1;
    }
    if (it->n < PAGE) it->done = 1;
    return 0;
}

int ss_collection_iter_next(ss_collection_iter *it, ss_doc_vec *out, ss_error *err) {
    ss_error_clear(err);
    if (it->next == it->n) {
        if (it->done) {
            page_clear(it);
            return 0;
        }
        if (fill_page(it, err) != 0) return -1;
        if (it->n == 0) return 0;
    }
    iter_row *r = &it->rows[it->next++];
    it->after = r->rowid;
    out->rowid = r->rowid;
    out->id = r->id;
    out->fields_json = r->fields;
    out->text = r->text;
    out->vector = r->vec;
    return 1;
}

void ss_collection_iter_free(ss_collection_iter *it) {
    if (!it) return;
    page_clear(it);
    free(it);
}
