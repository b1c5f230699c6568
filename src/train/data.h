/* data.h — training data: CSV / TSV / JSONL readers with column selection,
 * seeded shuffling and batching (plain, and sentence-transformers'
 * NoDuplicatesDataLoader for in-batch-negative losses).
 *
 * The seeds' shapes are column selections: (anchor, positive),
 * (anchor, positive, negative), (s1, s2, score), (query, description), or one
 * column of plain texts (SimCSE pairs each text with itself: dup_single).
 *
 * An ss_dataset is immutable after loading (safe to read from many threads);
 * an ss_train_batcher is used by one thread at a time. */
#ifndef SS_TRAIN_DATA_H
#define SS_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/rng.h"
#include "semsearch.h"

#define SS_DATA_MAX_COLS 8

typedef enum { SS_DATA_AUTO, SS_DATA_CSV, SS_DATA_TSV, SS_DATA_JSONL } ss_data_format;

typedef struct ss_data_options {
    ss_data_format format; /* AUTO: by extension (.csv, .tsv/.txt, .jsonl/.json); else CSV */
    /* CSV/TSV: 1 = the first row names the columns, 0 = no header,
     * -1 = auto: a header when any selected column is given by a name that is not a number, or
     * when no columns are given and the file is CSV (pandas-style exports) */
    int header;
    /* text columns: names (header / JSON keys) or 0-based indices written as
     * numbers; n_text_cols = 0 selects the first two columns (CSV/TSV) */
    int n_text_cols;
    const char *text_cols[SS_DATA_MAX_COLS];
    const char *label_col;  /* NULL: no labels */
    double label_scale;     /* labels multiplied by it (STSb: 1/5); 0 means 1 */
    int skip_bad;           /* 1: skip malformed rows and count them; 0: fail at the first */
    int tsv_quotes;         /* TSV: 0 = split on tabs only (STSb's files), 1 = CSV quoting rules */
} ss_data_options;

typedef struct ss_dataset {
    int n_cols;
    size_t n_rows;
    char **texts;       /* [n_rows * n_cols], row-major, owned */
    float *labels;      /* [n_rows] or NULL */
    size_t n_skipped;   /* bad rows skipped (skip_bad) */
    char first_bad[256]; /* "file:line: why" of the first skipped row, "" if none */
} ss_dataset;

ss_status ss_dataset_load(ss_dataset *d, const char *path, const ss_data_options *o, ss_error *err);
void ss_dataset_free(ss_dataset *d);
static inline const char *ss_dataset_text(const ss_dataset *d, size_t row, int col) {
    return d->texts[row * (size_t)d->n_cols + (size_t)col];
}

/* Batches of row indices. Plain: each epoch a seeded Fisher-Yates shuffle,
 * batches of batch_size in order, the last one partial (DataLoader
 * shuffle=True, drop_last=False). No-duplicates (NoDuplicatesDataLoader):
 * floor(n / batch_size) batches per epoch; a row is taken only if none of its
 * texts (stripped, lower-cased) is already in the batch, else passed over;
 * reaching the end reshuffles and wraps around. */
typedef struct ss_train_batcher {
    const ss_dataset *d;
    int batch_size, no_duplicates;
    ss_rng rng;
    size_t *order, pos;
    size_t batch_in_epoch;
    uint64_t *seen; /* no-duplicates: open-addressing set of text hashes */
    size_t seen_cap;
} ss_train_batcher;

ss_status ss_train_batcher_init(ss_train_batcher *b, const ss_dataset *d, int batch_size, int no_duplicates, uint64_t seed,
                          ss_error *err);
void ss_train_batcher_free(ss_train_batcher *b);
/* Batches per epoch. */
size_t ss_train_batcher_len(const ss_train_batcher *b);
/* The next batch's rows into rows[batch_size]; returns its size, 0 at the end
 * of an epoch (the next call starts the next epoch). */
int ss_train_batcher_next(ss_train_batcher *b, size_t *rows);

#endif
