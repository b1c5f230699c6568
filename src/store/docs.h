/* docs.h — the write path shared by ss_collection_add and add_file. */
#ifndef SS_STORE_DOCS_H
#define SS_STORE_DOCS_H

#include "store/store_internal.h"

typedef struct ss_pending {
    char *ext_id;
    char *fields; /* JSON object text */
    char *body;   /* embedded text */
} ss_pending;

/* Write n documents in one transaction (embedding new / changed texts first).
 * On an embedding error *bad (may be NULL) is the failing document's index. */
ss_status ss__write_batch(ss_collection *c, ss_pending *docs, size_t n, ss_add_stats *st, size_t *bad,
                          ss_error *err);

#endif
