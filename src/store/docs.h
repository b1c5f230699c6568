/* docs.h — the write path shared by ss_collection_add and add_file. */
#ifndef SS_STORE_DOCS_H
#define SS_STORE_DOCS_H

#include "store/store_internal.h"

typedef struct ss_pending {
    char *ext_id;
    char *fields; /* JSON object text */
    char *body;   /* embedded text */
    float *vec;   /* a precomputed vector (dim floats, owned), NULL: embed body */
} ss_pending;

/* Write n documents in one transaction (embedding new / changed texts first;
 * a document with a precomputed vector is never embedded and its vector is
 * always written, also when its text did not change).
 * On an embedding error *bad (may be NULL) is the failing document's index. */
ss_status ss__write_batch(ss_collection *c, ss_pending *docs, size_t n, ss_add_stats *st, size_t *bad,
                          ss_error *err);

/* The precomputed vector in field `name` of a record (cJSON object): a JSON
 * array of exactly dim numbers, or a string holding one (a CSV / TSV cell),
 * every element finite as a float. Returns a malloc'd copy, or NULL with why
 * (missing field, wrong length, element i not a number / out of range). */
float *ss__vector_field(const void *cjson_obj, const char *name, int dim, char *why, size_t whycap);

#endif
