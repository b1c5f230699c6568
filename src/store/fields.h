/* fields.h — a fields collection's fields and its write batch (fields.c,
 * records.c). Internal to src/store/. */
#ifndef SS_STORE_FIELDS_H
#define SS_STORE_FIELDS_H

#include "store/store_internal.h"

/* Quantised field indexes stay fp32 below this many vectors (fields.c). */
#define SS_FIELD_QUANT_MIN 1024

typedef struct ss_field {
    int64_t id;          /* field_defs.id: the index file / FTS table number */
    char *name;
    ss_field_kind kind;
    int dim;
    ss_index_options o;  /* as defined (field_opts: as built) */
    char analyzer[32];
    /* vector: the derived index; ilock shared by searches, exclusive while
     * the index object is replaced (rebuild). */
    pthread_rwlock_t ilock;
    ss_index *idx;
    int64_t idx_seq;
    int dirty;
    int rebuilds, catchups; /* since open (tests) */
    /* text: writer statements */
    sqlite3_stmt *t_ins, *t_del;
} ss_field;

typedef struct ss_pending_vec {
    ss_field *f;
    int64_t rowid;
    float *v;            /* NULL: removal */
    size_t order;
} ss_pending_vec;

typedef struct ss_fieldset {
    pthread_rwlock_t lock; /* the array (fields are appended, never moved) */
    ss_field **f;
    int n, cap;
    /* the open batch (writer; wmu held from begin to commit / rollback) */
    int in_batch;
    pthread_t batch_thread;
    int64_t batch_seq;
    int batch_nfields;   /* fields defined before the batch (rollback drops the rest) */
    ss_pending_vec *pend;
    size_t npend, cappend;
    sqlite3_stmt *st[12]; /* records.c's cached writer statements */
} ss_fieldset;

ss_field *ss__field_find(ss_fieldset *fs, const char *name); /* fs->lock held */
ss_field *ss__field_get(ss_collection *c, const char *name);
void ss__fields_drop_after(ss_collection *c, int n);
void ss__batch_clear(ss_fieldset *fs);
/* Rebuild a field index from fvectors as of seq (f->ilock exclusive, db in a transaction). */
ss_status ss__field_rebuild(ss_collection *c, ss_field *f, sqlite3 *db, int64_t seq, ss_error *err);
/* The connection for a read: the writer's inside the caller's own batch
 * (sees its writes), else a pooled reader. Give it back with _done. */
sqlite3 *ss__batch_db(ss_collection *c, ss_error *err);
void ss__batch_db_done(ss_collection *c, sqlite3 *db);

#endif
