/* ireval.h — IR metrics with pytrec_eval's (trec_eval's) definitions, as BEIR
 * reports them: nDCG@k (ndcg_cut), MAP@k (map_cut), recall@k, and BEIR's own
 * MRR@k. Used by `semsearch eval-ir`; tested against pytrec_eval. */
#ifndef SS_STORE_IREVAL_H
#define SS_STORE_IREVAL_H

#include <stddef.h>

typedef struct ss_ir_doc {
    const char *id;
    double score;
} ss_ir_doc;

typedef struct ss_ir_rel {
    const char *id;
    int rel; /* relevance grade; >= 1 counts as relevant */
} ss_ir_rel;

typedef struct ss_ir_metrics {
    double ndcg10, mrr10, map100, recall1, recall10, recall100;
} ss_ir_metrics;

/* One query: run = its retrieved docs (any order; trec_eval's order is used:
 * score descending, ties by doc id descending; BEIR's MRR keeps the given
 * order among equal scores), qrels = its judged docs. */
void ss__ir_eval_query(const ss_ir_doc *run, size_t nrun, const ss_ir_rel *qrels, size_t nrel, ss_ir_metrics *out);

#endif
