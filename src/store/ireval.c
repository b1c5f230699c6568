/* ireval.c — see ireval.h. Definitions (trec_eval 9 as in pytrec_eval):
 *   ranking: score descending, equal scores by docno descending (comp_sim_docno);
 *   ndcg_cut_k: sum_{r<=k} gain(r) / log2(r + 1) over the ideal ranking's
 *     same sum (gains = qrels grades, ideal = grades sorted descending);
 *   map_cut_k: sum over relevant docs at rank r <= k of (relevant in 1..r) / r,
 *     divided by the number of relevant docs in the qrels;
 *   recall_k: relevant in the top k / relevant in the qrels;
 *   BEIR mrr@k: 1 / rank of the first relevant doc in the top k, the run
 *     sorted by score only (a stable sort). */
#include "store/ireval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ss_ir_doc *d;
    size_t pos;
} ranked;

static int trec_order(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->d->score != y->d->score) return x->d->score > y->d->score ? -1 : 1;
    return strcmp(y->d->id, x->d->id);
}

static int beir_order(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->d->score != y->d->score) return x->d->score > y->d->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int grade(const ss_ir_rel *q, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(q[i].id, id)) return q[i].rel;
    return 0;
}

static int desc_int(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

void ss__ir_eval_query(const ss_ir_doc *run, size_t nrun, const ss_ir_rel *qrels, size_t nrel, ss_ir_metrics *out) {
    memset(out, 0, sizeof *out);
    ranked *r = malloc((nrun ? nrun : 1) * sizeof *r);
    int *ideal = malloc((nrel ? nrel : 1) * sizeof *ideal);
    if (!r || !ideal) {
        free(r);
        free(ideal);
        return;
    }
    size_t nrelevant = 0, ni = 0;
    for (size_t i = 0; i < nrel; i++) {
        if (qrels[i].rel >= 1) nrelevant++;
        if (qrels[i].rel > 0) ideal[ni++] = qrels[i].rel;
    }
    qsort(ideal, ni, sizeof *ideal, desc_int);
    for (size_t i = 0; i < nrun; i++) r[i] = (ranked){&run[i], i};
    qsort(r, nrun, sizeof *r, trec_order);
    double dcg = 0, idcg = 0, ap = 0;
    size_t hits = 0;
    for (size_t i = 0; i < nrun; i++) {
        int g = grade(qrels, nrel, r[i].d->id);
        if (i < 10 && g > 0) dcg += g / log2((double)i + 2);
        if (g >= 1) {
            hits++;
            if (i < 100) ap += (double)hits / (double)(i + 1);
            if (i < 1) out->recall1 += 1;
            if (i < 10) out->recall10 += 1;
            if (i < 100) out->recall100 += 1;
        }
    }
    for (size_t i = 0; i < ni && i < 10; i++) idcg += ideal[i] / log2((double)i + 2);
    out->ndcg10 = idcg > 0 ? dcg / idcg : 0;
    if (nrelevant) {
        out->map100 = ap / (double)nrelevant;
        out->recall1 /= (double)nrelevant;
        out->recall10 /= (double)nrelevant;
        out->recall100 /= (double)nrelevant;
    }
    qsort(r, nrun, sizeof *r, beir_order);
    for (size_t i = 0; i < nrun && i < 10; i++)
        if (grade(qrels, nrel, r[i].d->id) > 0) {
            out->mrr10 = 1.0 / (double)(i + 1);
            break;
        }
    free(r);
    free(ideal);
}
