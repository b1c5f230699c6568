/* es_store.h — Elasticsearch indices as the server keeps them: a mapping
 * (typed fields), documents with arbitrary JSON _source, _version/_seq_no,
 * analyzed text for BM25 and parsed dense_vector values for kNN.
 *
 * Why not ss_collection: a collection is bound to one model and one embedded
 * text (one vector per document); an Elasticsearch index has any number of
 * dense_vector fields whose values the client sends, per-field analyzers and
 * per-field BM25. So an index here is its own small store: SQLite (one
 * es.db per index under DATA/es/NAME/, WAL) is the ground truth, loaded into
 * memory at start; searches are exact scans over the in-memory documents.
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
    ES_OBJECT
} es_ftype;

typedef enum { ES_SIM_COSINE, ES_SIM_DOT, ES_SIM_L2, ES_SIM_MIP } es_sim;

typedef struct es_field {
    char *name;     /* dotted path: "a.b" (a multi-field: "title.keyword") */
    char *path;     /* where its value is in _source ("title" for "title.keyword") */
    es_ftype type;
    char analyzer[16];
    int dims;       /* vectors: 0 until mapped or seen */
    es_sim sim;
    int vslot;      /* vectors: index into es_doc.vec */
    int tslot;      /* text: index into es_doc.toks */
} es_field;

typedef struct es_toks {
    char **t;
    int n;
} es_toks;

typedef struct es_doc {
    char *id;
    cJSON *src;
    int64_t version, seq_no;
    float **vec;   /* per vector field (n_vec), NULL when absent */
    es_toks *toks; /* per text field (n_text) */
    int n_vec, n_text; /* the slots this doc has (fields mapped later: absent) */
} es_doc;

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
    int n_fields, n_vec, n_text;
    es_doc **docs;
    size_t n_docs, cap_docs;
    size_t *hash; /* open addressing: doc index + 1, 0 empty */
    size_t hcap;
    int64_t seq;
    int mapping_dirty;
    void *db; /* sqlite3 *, NULL: in memory only */
} es_index;

typedef struct es_registry es_registry;

es_registry *es_registry_open(const char *data_dir, ss_error *err); /* data_dir "" = memory only */
void es_registry_free(es_registry *g);

/* Shared hold on the registry for a request; exclusive for create/delete. */
void es_acquire(es_registry *g, int exclusive);
void es_release(es_registry *g);
es_index *es_find(es_registry *g, const char *name);
size_t es_count_indices(es_registry *g);
es_index *es_index_at(es_registry *g, size_t i);

/* Create (body may be NULL); on error fills resp and returns NULL. Registry held exclusively. */
es_index *es_create(es_registry *g, const char *name, const cJSON *body, ss_http_resp *resp);
int es_delete_index(es_registry *g, const char *name);

/* Documents (index write-locked by the caller). */
es_doc *es_get(es_index *x, const char *id);
/* Validate src against the mapping (dynamic fields added) and store it.
 * op: 0 index, 1 create (fails if exists). Returns HTTP status (201 / 200) and
 * *out the doc; on error fills err_type/err_reason and returns 400/409. */
int es_put(es_index *x, const char *id, cJSON *src_owned, int op, es_doc **out, char *err_type, char *err_reason,
           size_t cap);
int es_remove(es_index *x, const char *id, int64_t *version, int64_t *seq_no);
/* SQLite transaction around a batch of writes (no-ops in memory). */
void es_begin(es_index *x);
void es_commit(es_index *x);

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
void es__dynamic_map(es_index *x, cJSON *props, const cJSON *obj, const char *prefix);

/* es_query.c */
typedef struct es_query es_query;
/* Parse a query object; NULL + resp filled (400 parsing_exception) on error. */
es_query *es_query_parse(es_index *x, const cJSON *q, ss_http_resp *resp);
void es_query_free(es_query *q);
/* 1 if doc matches, *score its score. Call es_query_prepare first (per-term stats). */
void es_query_prepare(es_query *q, es_index *x);
int es_query_eval(const es_query *q, const es_index *x, const es_doc *d, double *score);

/* es_search.c */
double es_vec_score(es_sim sim, const float *a, const float *b, int dims, double *raw);

/* route groups */
int ss_es_index_routes(ss_router *rt);
int ss_es_doc_routes(ss_router *rt);
int ss_es_bulk_routes(ss_router *rt);
int ss_es_search_routes(ss_router *rt);

#endif
