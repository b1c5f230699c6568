/* ir_eval.h — sentence-transformers 2.7's InformationRetrievalEvaluator and
 * TripletEvaluator figures, over embeddings (the caller embeds).
 *
 * IR: queries, a corpus and binary relevance (a qrels score >= 1 is
 * relevant; queries without a relevant document are left out, as the
 * evaluator does). Per query the corpus is ranked by cosine similarity (ties:
 * lower corpus index first); then, averaged over queries, exactly as
 * compute_metrics: accuracy@k (a relevant doc in the top k), precision@k
 * (hits / k), recall@k (hits / |relevant|), MRR@10, NDCG@10 (binary gains,
 * ideal DCG over min(k, |relevant|) ones), MAP@100 (Σ precision at each hit
 * / min(100, |relevant|)). accuracy / precision / recall at k = 1, 3, 5, 10.
 *
 * Triplet: the share of (anchor, positive, negative) rows whose positive is
 * closer than the negative (strictly), by cosine, Manhattan and Euclidean
 * distance as TripletEvaluator computes them. */
#ifndef SS_TRAIN_IR_EVAL_H
#define SS_TRAIN_IR_EVAL_H

#include <stddef.h>

#include "semsearch.h"

#define SS_IR_NK 4 /* k = 1, 3, 5, 10 */
extern const int ss_ir_ks[SS_IR_NK];

typedef struct ss_ir_data {
    size_t n_queries, n_corpus;     /* queries: only those with a relevant document */
    char **query_ids, **query_texts; /* owned */
    char **corpus_ids, **corpus_texts;
    size_t *rel_off;                /* [n_queries + 1] into rel */
    size_t *rel;                    /* corpus indices of each query's relevant documents */
    size_t n_dropped_queries;       /* queries with no relevant document */
    size_t n_unknown_docs;          /* qrels lines naming a document not in the corpus (ignored) */
} ss_ir_data;

typedef struct ss_ir_result {
    double accuracy[SS_IR_NK], precision[SS_IR_NK], recall[SS_IR_NK];
    double mrr10, ndcg10, map100;
} ss_ir_result;

/* BEIR layout: queries JSONL {"_id", "text"}, corpus JSONL {"_id", "title"?,
 * "text"} (text = title + " " + text, stripped, when a title is there, as BEIR
 * feeds sentence-transformers), qrels TSV query-id, corpus-id, score (header
 * optional). Bad input: an error naming the file and line. */
ss_status ss_ir_data_load(ss_ir_data *d, const char *queries, const char *corpus, const char *qrels, ss_error *err);
/* spec: "QUERIES,CORPUS,QRELS" (three paths), or a BEIR folder holding
 * queries.jsonl, corpus.jsonl and qrels.tsv (or qrels/test.tsv). */
ss_status ss_ir_data_load_spec(ss_ir_data *d, const char *spec, ss_error *err);
void ss_ir_data_free(ss_ir_data *d);

/* q [n_queries, dim], c [n_corpus, dim] embeddings (any norm). */
ss_status ss_ir_compute(const ss_ir_data *d, const float *q, const float *c, int dim, ss_ir_result *r, ss_error *err);

typedef struct ss_triplet_result {
    double cosine, manhattan, euclidean; /* accuracies in [0, 1] */
} ss_triplet_result;

void ss_triplet_compute(const float *a, const float *p, const float *n, size_t rows, int dim, ss_triplet_result *r);

#endif
