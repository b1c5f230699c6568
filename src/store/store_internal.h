/* store_internal.h — the collection handle and what the src/store/ files share.
 *
 * Files: collection.c (open / create / meta / model check / lock / connection
 * pool), vindex.c (the derived vector index: load, catch up, rebuild, save),
 * docs.c (the write path: add / delete), reader.c (JSONL / CSV / text records
 * and the embedded text), ingest.c (add_file), analyzer.c (standard / english
 * tokens), fts.c (the FTS5 tokenizer, Lucene BM25 rank function, ss_num),
 * filter.c (--where -> SQL), search.c (vector / BM25 / hybrid / similar);
 * a fields collection (fields_only): fields.c (named vector / text fields and
 * their derived indexes) and records.c (JSON records, write batches), fields.h. */
#ifndef SS_STORE_INTERNAL_H
#define SS_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "semsearch.h"

#define SS_STORE_SCHEMA_VERSION 1
#define SS_STORE_POOL_MAX 32

struct ss_collection {
    char dir[4096];
    char db_path[4200];
    char index_path[4200];
    int read_only;
    int lock_fd;               /* writer: the flock'ed lock file; -1 otherwise */

    /* Recorded settings (meta table). */
    char model_path[4096];
    char model_fp[80];         /* weights fingerprint, hex */
    char *fields;              /* "title,text" or NULL when a template is used */
    char *template_text;
    char analyzer[32];
    ss_metric metric;
    ss_index_type index_type;
    int hnsw_m, ef_construction, ef_search;
    int dim;
    int n_threads;

    /* The writer connection (NULL when read-only) and its lock. */
    sqlite3 *wdb;
    pthread_mutex_t wmu;
    int64_t seq;               /* writer: the last committed sequence number */
    int sync_off;

    /* Reader connections, borrowed one per call. */
    pthread_mutex_t pmu;
    sqlite3 *pool[SS_STORE_POOL_MAX];
    int npool;

    /* The model, loaded on first use (search of text, add). */
    pthread_mutex_t mmu;
    ss_model *model;
    /* ss_encode on one model is not safe from two threads on this tree (the
     * model's scratch buffers); until ss_context lands, the collection takes
     * turns itself. */
    pthread_mutex_t emu;

    /* The vector index: rwlock held shared by searches, exclusively by
     * writes / catch-up / rebuild. idx_seq = the sequence it reflects. */
    pthread_rwlock_t ilock;
    ss_index *idx;
    int64_t idx_seq;
    int idx_dirty;
    int idx_rebuilds; /* full rebuilds from SQLite since open (tests: replay / catch-up should suffice) */

    char describe[2048];

    /* A fields collection (fields.c): no main index / model; its fields. */
    int fields_only;
    struct ss_fieldset *fs;
    /* Chunking (chunk.c; meta chunk_tokens / chunk_overlap): > 0 = the vector
     * index holds passages (table passages), not documents. */
    int chunk_tokens, chunk_overlap;
};

/* collection.c */
sqlite3 *ss__conn_borrow(ss_collection *c, ss_error *err);
void ss__conn_return(ss_collection *c, sqlite3 *db);
ss_model *ss__model(ss_collection *c, ss_error *err);
/* ss_encode with the collection's model, one caller at a time. */
ss_status ss__encode(ss_collection *c, const char *const *texts, size_t n, const ss_encode_options *o, float *out,
                     ss_error *err);
ss_status ss__sql_fail(ss_error *err, sqlite3 *db, const char *what);
int ss__collection_search_beam(int collection_ef, int ef, size_t want); /* HNSW beam for `want` hits (search.c) */
ss_status ss__exec(sqlite3 *db, const char *sql, ss_error *err);
int64_t ss__meta_seq(sqlite3 *db);
ss_status ss__meta_set(sqlite3 *db, const char *key, const char *value, ss_error *err);

/* vindex.c */
ss_status ss__vindex_open(ss_collection *c, ss_error *err);
/* Bring the in-memory index up to the database's sequence (readers). */
ss_status ss__vindex_refresh(ss_collection *c, sqlite3 *db, ss_error *err);
/* Writer: apply one committed batch. */
ss_status ss__vindex_apply(ss_collection *c, const int64_t *up_ids, const float *up_vecs, size_t nup,
                           const int64_t *del_ids, size_t ndel, int64_t seq, ss_error *err);
ss_status ss__vindex_save(ss_collection *c, ss_error *err);
ss_index_options ss__vindex_options(const ss_collection *c);

/* fields.c: a fields collection's field definitions and their indexes. */
ss_status ss__fields_open(ss_collection *c, ss_error *err);
ss_status ss__fields_save(ss_collection *c, ss_error *err); /* close: snapshot the changed field indexes */
void ss__fields_free(ss_collection *c);

/* fts.c: register the analyzer tokenizer, lucene_bm25() and ss_num() on a connection. */
ss_status ss__fts_register(sqlite3 *db, ss_error *err);

/* analyzer.c */
typedef struct ss_analyzer ss_analyzer;
int ss__analyzer_valid(const char *name);
ss_analyzer *ss__analyzer_new(const char *name, ss_error *err);
void ss__analyzer_free(ss_analyzer *a);
/* emit(user, token, len, start_byte, end_byte); a nonzero return stops. */
typedef int (*ss_token_fn)(void *user, const char *tok, int len, int start, int end);
int ss__analyze(ss_analyzer *a, const char *text, int len, ss_token_fn emit, void *user);

/* reader.c: the embedded text of one JSON record (fields joined with a
 * space, or the template filled in). Returns a malloc'd string, or NULL with
 * *why set ("no field 'text'", ...). */
char *ss__compose(const ss_collection *c, const void *cjson_obj, char *why, size_t whycap);
/* 0 when the fields list / template can compose a text (checked at creation):
 * valid UTF-8, at least one field name (fields), every '{' closed and no
 * empty '{}' (template), names of at most SS_FIELD_NAME_MAX bytes; else -1
 * with why. Both NULL is the default "text". */
#define SS_FIELD_NAME_MAX 255
int ss__compose_check(const char *fields, const char *template_text, char *why, size_t whycap);

/* filter.c: compile a --where expression into SQL over docs.fields; the
 * bound values are applied by ss__filter_bind. */
typedef struct ss_filter_sql {
    char *sql;        /* a boolean SQL expression */
    int nparams;
    struct ss_filter_param {
        int kind;     /* 0 text, 1 number, 2 null */
        char *text;
        double num;
    } *params;
} ss_filter_sql;
ss_status ss__filter_compile(const char *where, ss_filter_sql *out, ss_error *err);
void ss__filter_bind(sqlite3_stmt *st, int first_index, const ss_filter_sql *f);
void ss__filter_free(ss_filter_sql *f);

/* Lucene's SmallFloat.intToByte4 / byte4ToInt (document length norms). */
int ss__lucene_int_to_byte4(int i);
int ss__lucene_byte4_to_int(int b);

/* chunk.c / passages.c: chunked collections. The vector index ids are then
 * passages.rowid (vectors and tombstones are keyed by them); documents keep
 * their rowids for BM25 and filters. */
/* creating: validate and take o's settings; opening: refuse other settings. */
ss_status ss__chunk_configure(ss_collection *c, const ss_collection_options *o, int creating, ss_error *err);
/* In the creating transaction: meta keys + the passages table. */
ss_status ss__chunk_create(ss_collection *c, sqlite3 *db, ss_error *err);
/* From meta (0 when the keys are absent: collections made before chunking). */
void ss__chunk_load(ss_collection *c, sqlite3 *db);
/* The catch-up query for the vector index (vindex.c): (index id, vector) of rows changed after seq ?. */
const char *ss__chunk_catchup_sql(const ss_collection *c);
/* The chunked write path (docs.c delegates to it when chunk_tokens > 0). */
struct ss_pending;
ss_status ss__write_batch_chunked(ss_collection *c, struct ss_pending *docs, size_t n, ss_add_stats *st, size_t *bad,
                                  ss_error *err);
ss_status ss__delete_chunked(ss_collection *c, const char *const *ids, size_t n, size_t *deleted, ss_error *err);

#endif
