/* es_docs.h — the document write path shared by _doc/_create/_update and
 * _bulk, and helpers the search APIs use. Internal to src/server/. */
#ifndef SS_SERVER_ES_DOCS_H
#define SS_SERVER_ES_DOCS_H

#include "server/es_store.h"

typedef enum { ES_OP_INDEX, ES_OP_CREATE, ES_OP_UPDATE, ES_OP_DELETE } es_op;

es_registry *es_reg(ss_http_req *r);
/* The index, with the registry held shared (es_release when done); create:
 * auto-create a missing index. NULL: resp filled (404), nothing held. */
es_index *es_open_index(es_registry *g, const char *name, int create, ss_http_resp *resp);
void es_gen_id(char *out); /* 20 chars + NUL */
/* One write (index write-locked by the caller). body: owned for index/create,
 * borrowed for update, NULL for delete. *out = the item (Elasticsearch's
 * shape, "error" inside on failure); returns its HTTP status. */
int es_apply(es_index *x, es_op op, const char *id, cJSON *body, cJSON **out);
/* The same with optimistic concurrency control: if_seq_no >= 0 requires the
 * document to exist with that _seq_no (primary term is always 1), else 409. */
int es_apply_if(es_index *x, es_op op, const char *id, cJSON *body, int64_t if_seq_no, int64_t if_term, cJSON **out);
/* GET _doc's body (found or not); filter as es_source_filter takes it. */
cJSON *es_get_json(es_index *x, const char *id, const cJSON *source_filter);
cJSON *es_source_param(ss_http_req *r);
/* _source filtering: filter NULL/true = all, false = NULL, string / array /
 * {includes, excludes} with * wildcards on dotted paths. Returns a new object. */
cJSON *es_source_filter(const cJSON *src, const cJSON *filter);

/* es_embed.c: replace every knn query_vector_builder in a search body by the
 * query_vector the server's model makes of its model_text. -1: resp filled. */
int es_build_query_vectors(ss_http_req *r, cJSON *body, ss_http_resp *resp);
/* user = the ss_server: its model embeds text (es_embedder.fn). */
cJSON *es_embed_text(void *user, const char *text, char *why, size_t cap);
/* In a query tree (index read-locked): semantic {field, query} and match on a
 * semantic_text field become knn queries on the embedded query (k = size,
 * num_candidates = 1.5 k, as Elasticsearch's knn query); a knn query's
 * query_vector_builder is embedded. -1: resp filled. */
int es_rewrite_semantic(ss_http_req *r, es_index *x, cJSON *query, int k, ss_http_resp *resp);

#endif
