/* es_store.h — Elasticsearch indices as the server keeps them: each index is
 * a fields collection (semsearch.h, "Collection fields") in DATA/es/NAME/:
 * SQLite (WAL) holds the documents (arbitrary JSON _source, _version,
 * _seq_no), every dense_vector field is a vector field with its own derived
 * index (hnsw / flat, int8 or fp32, m, ef_construction from index_options),
 * every text field a BM25 text field (FTS5, the field's analyzer, Lucene's
 * per-field norms). Nothing is loaded into memory: searches read SQLite and
 * the field indexes, a restart opens them (caught up from SQLite if stale).
 * The mapping, settings, uuid and creation date are collection metadata.
 *
 * Thread safety: the registry is behind a rwlock (create/delete index take it
 * exclusively, everything else shares it for the whole request: es_acquire /
 * es_release); each index has a rwlock (writes exclusive, reads shared).
 */
#ifndef SS_SERVER_ES_STORE_H
#define SS_SERVER_ES_STORE_H

#include <pthread.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "server/http.h"

typedef enum {
    ES_TEXT,
    ES_KEYWORD,
    ES_LONG,
    ES_DOUBLE,
    ES_BOOLEAN,
    ES_DATE,
    ES_VECTOR,
    ES_OBJECT,
    ES_SEMANTIC /* semantic_text: a text the server's model embeds into a vector (cosine) */
} es_ftype;

typedef enum { ES_SIM_COSINE, ES_SIM_DOT, ES_SIM_L2, ES_SIM_MIP } es_sim;

typedef struct es_field {
    char *name;     /* dotted path: "a.b" (a multi-field: "title.keyword") */
    char *path;     /* where its value is in _source ("title" for "title.keyword") */
    es_ftype type;
    char analyzer[16];
    int dims;       /* vectors: 0 until mapped or seen */
    es_sim sim;
    /* vectors: index_options (default int8_hnsw, m 16, ef_construction 100, as Elasticsearch 8.14+) */
    ss_index_type itype;
    ss_quant quant;
    int m, ef_construction;
    int stored;     /* text / vector / semantic: defined in the collection */
} es_field;

/* How semantic_text values and queries are embedded: the server's model
 * (es_embed.c installs it). Returns a cJSON array of floats, or NULL + why. */
typedef struct es_embedder {
    cJSON *(*fn)(void *user, const char *text, char *why, size_t cap);
    void *user;
} es_embedder;

/* One document as read from the collection (es_doc_free). src: the full
 * _source (es_get) or its view without vector values (scans). */
typedef struct es_doc {
    char *id;
    cJSON *src;
    int64_t version, seq_no, rowid;
} es_doc;
void es_doc_free(es_doc *d);

/* A scored document of a text match or kNN (by rowid). */
typedef struct es_hit {
    int64_t rowid;
    double score;
} es_hit;

typedef struct es_index {
    char name[256];
    char uuid[32];
    int64_t created_ms;
    pthread_rwlock_t lock;
    cJSON *mappings; /* {"properties":{...}} as Elasticsearch returns it */
    cJSON *settings; /* {"index":{...}} */
    double k1, b;
    char analyzer[16];
    es_field *fields;
    int n_fields;
    int64_t seq;     /* the next _seq_no */
    int mapping_dirty;
    ss_collection *coll;
    const es_embedder *emb; /* the registry's (NULL: none) */
    char dir[4400];
} es_index;

typedef struct es_registry es_registry;
typedef struct es_query es_query;

/* data_dir "" = a temporary folder, removed by es_registry_free. Indices of
 * the old layout (DATA/es/NAME/es.db) are migrated once (es_migrate.c). */
es_registry *es_registry_open(const char *data_dir, ss_error *err);
void es_registry_free(es_registry *g);
void es_set_embedder(es_registry *g, const es_embedder *e); /* the first call wins (es_reg makes it) */

/* Shared hold on the registry for a request; exclusive for create/delete. */
void es_acquire(es_registry *g, int exclusive);
void es_release(es_registry *g);
es_index *es_find(es_registry *g, const char *name);
size_t es_count_indices(es_registry *g);
es_index *es_index_at(es_registry *g, size_t i);

/* Create (body may be NULL); on error fills resp and returns NULL. Registry held exclusively. */
es_index *es_create(es_registry *g, const char *name, const cJSON *body, ss_http_resp *resp);
int es_delete_index(es_registry *g, const char *name);

/* Documents (index write-locked by the caller for writes). es_get: a new
 * es_doc (full _source), NULL when absent; inside es_begin..es_commit it
 * sees the batch's writes. */
es_doc *es_get(es_index *x, const char *id);
es_doc *es_get_at(es_index *x, int64_t rowid);
size_t es_doc_count(es_index *x);
/* Validate src against the mapping (dynamic fields added) and store it.
 * op: 0 index, 1 create (fails if exists). Returns HTTP status (201 / 200),
 * *version / *seq_no the document's (in: *version > 0 = keep these, the
 * migration's); on error fills err_type/err_reason and returns 400/409. */
int es_put(es_index *x, const char *id, cJSON *src_owned, int op, int64_t *version, int64_t *seq_no, char *err_type,
           char *err_reason, size_t cap);
int es_remove(es_index *x, const char *id, int64_t *version, int64_t *seq_no);
/* A collection batch (one SQLite transaction) around writes. */
void es_begin(es_index *x);
int es_commit(es_index *x); /* 0, or -1 (logged) when the batch did not commit */

/* Add the fields of a "properties" object (PUT _mapping); -1 + why on error. */
int es_map_props(es_index *x, const cJSON *props, char *why, size_t cap);
const es_field *es_field_get(const es_index *x, const char *name);
/* The value at a dotted path of a source object (NULL if absent). */
const cJSON *es_path(const cJSON *src, const char *path);

/* Errors in Elasticsearch's shape, with the index fields of index-level errors. */
void es_error(ss_http_resp *resp, int status, const char *type, const char *index, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void es_not_found(ss_http_resp *resp, const char *index);
/* {"total":2,"successful":1,"failed":0} */
cJSON *es_shards_write(void);
cJSON *es_shards_read(void);
int es_valid_name(const char *name, char *why, size_t cap);
int es_refresh_param_ok(ss_http_req *r, ss_http_resp *resp);

/* es_mapping.c, for es_store.c: register fields; check values; map unseen fields. */
int es__add_field(es_index *x, const char *name, const char *path, es_ftype t);
int es__parse_props(es_index *x, const cJSON *props, const char *prefix, char *why, size_t cap);
int es__check_value(es_index *x, es_field *f, const cJSON *v, const char *id, char *why, size_t cap);
int es__check_names(const cJSON *obj, size_t prefix_len, char *why, size_t cap);
void es__dynamic_map(es_index *x, cJSON *props, const cJSON *obj, const char *prefix);

/* es_migrate.c: the old layout (DATA/es/NAME/es.db, everything in memory)
 * -> a fields collection in the same folder, once; es.db is kept, renamed
 * es.db.migrated. es__create_at (es_store.c) makes the new index. */
int es__old_layout(const char *dir);
int es__migrate(const char *dir, const char *name, char *why, size_t cap);
es_index *es__create_at(const char *dir, const char *name, const cJSON *body, ss_http_resp *resp);
void es__index_close(es_index *x);
/* DATA/es/.NAME.migrating with es.db.migrated in it: a migration that
 * stopped after moving es.db; put it in place. 0 ok / not one, -1 + why. */
int es__migrate_finish(const char *es_dir, const char *entry, char *why, size_t cap);

/* es_query.c */
/* Parse a query object; NULL + resp filled (400 parsing_exception) on error. */
es_query *es_query_parse(es_index *x, const cJSON *q, ss_http_resp *resp);
void es_query_free(es_query *q);
/* 1 if doc matches, *score its score. Call es_query_prepare first (per-term stats). */
void es_query_prepare(es_query *q, es_index *x);
void es_query_prepare_filter(es_query *q, es_index *x); /* scores unused (filters) */
/* 1 if evaluating q reads documents' fields (else scans skip parsing them). */
int es_query_needs_src(const es_query *q);
int es_query_eval(const es_query *q, const es_index *x, const es_doc *d, double *score);
/* A prepared query that is one text match or knn clause: its hits (scored,
 * by rowid) without a scan; -1 when q is anything else. */
long es_query_direct(const es_query *q, es_hit **out);
/* The first runtime error of a script_score in q (after evaluating), or NULL. */
const char *es_query_error(const es_query *q);

/* es_search.c */
double es_vec_score(es_sim sim, const float *a, const float *b, int dims, double *raw);

/* es_knn.c: the k best of a vector field through its index: filters (all
 * must match) become an allow-list, num_candidates the beam; scores are
 * Elasticsearch's (es_vec_score on the stored vectors); min_sim (NULL: none)
 * the raw similarity threshold. *out sorted best first; returns the count or -1 (resp). */
long es_knn(es_index *x, const es_field *f, const float *q, int k, int num_candidates, es_query *const *filters,
            int n_filters, const double *min_sim, es_hit **out, ss_http_resp *resp);
/* Scan every document (view parsed when need_src), fn returns nonzero to stop. */
int es_scan(es_index *x, int need_src, int (*fn)(void *user, const es_doc *d), void *user);

/* route groups */
int ss_es_index_routes(ss_router *rt);
int ss_es_doc_routes(ss_router *rt);
int ss_es_bulk_routes(ss_router *rt);
int ss_es_search_routes(ss_router *rt);

#endif
