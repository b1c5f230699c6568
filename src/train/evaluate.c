/* evaluate.c — see evaluate.h. Batches of 32 texts, packed. */
#include "train/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/pooling.h"
#include "train/eval.h"

/* out[i] = the pooled embedding of text i (Normalize left out: cosine does not see it) */
static ss_status embed(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool, ss_tf_work *w,
                       const char *const *texts, size_t n, float *out, ss_error *err) {
    const int H = tf->cfg.hidden, P = ss_pooling_count(&st->pooling) * H, L = ss_model_max_seq_length(m);
    enum { BS = 32 };
    int32_t *ids = malloc(sizeof(int32_t) * BS * L);
    int off[BS + 1];
    ss_status rc = ids ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "eval: out of memory");
    for (size_t b0 = 0; b0 < n && rc == SS_OK; b0 += BS) {
        int nb = (int)(n - b0 < BS ? n - b0 : BS);
        off[0] = 0;
        for (int i = 0; i < nb && rc == SS_OK; i++) {
            int k = ss_model_tokenize(m, texts[b0 + i], NULL, ids + off[i], L, err);
            if (k < 0) rc = err ? err->code : SS_ERR_INVALID;
            else off[i + 1] = off[i] + k;
        }
        if (rc == SS_OK) rc = ss_transformer_forward(tf, pool, w, ids, off, nb, err);
        for (int i = 0; i < nb && rc == SS_OK; i++) {
            float *e = out + (b0 + i) * (size_t)P;
            ss_pool_sequence(&st->pooling, w->x + (size_t)off[i] * H, off[i + 1] - off[i], H, 0, e);
        }
    }
    free(ids);
    return rc;
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / (sqrt(aa) * sqrt(bb) + 1e-30);
}

ss_status ss_eval_sts(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                      const ss_dataset *d, double *spearman, double *pearson, ss_error *err) {
    if (d->n_cols != 2 || !d->labels)
        return ss_fail(err, SS_ERR_INVALID, "eval: needs two text columns and a score per row");
    size_t n = d->n_rows;
    const int P = ss_pooling_count(&st->pooling) * tf->cfg.hidden;
    const char **a = malloc(sizeof(char *) * n), **b = malloc(sizeof(char *) * n);
    float *ea = malloc(sizeof(float) * n * P), *eb = malloc(sizeof(float) * n * P);
    double *cs = malloc(sizeof(double) * n), *gold = malloc(sizeof(double) * n);
    ss_tf_work w = {0};
    ss_status rc = a && b && ea && eb && cs && gold ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "eval: out of memory");
    for (size_t i = 0; i < n && rc == SS_OK; i++) a[i] = ss_dataset_text(d, i, 0), b[i] = ss_dataset_text(d, i, 1);
    if (rc == SS_OK) rc = embed(tf, st, m, pool, &w, a, n, ea, err);
    if (rc == SS_OK) rc = embed(tf, st, m, pool, &w, b, n, eb, err);
    if (rc == SS_OK) {
        for (size_t i = 0; i < n; i++) cs[i] = cosine(ea + i * P, eb + i * P, P), gold[i] = d->labels[i];
        *spearman = 100 * ss_spearman(cs, gold, n);
        *pearson = 100 * ss_pearson(cs, gold, n);
    }
    ss_tf_work_free(&w);
    free(a), free(b), free(ea), free(eb), free(cs), free(gold);
    return rc;
}

ss_status ss_eval_ir(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                     const ss_ir_data *d, ss_ir_result *r, ss_error *err) {
    const int P = ss_pooling_count(&st->pooling) * tf->cfg.hidden;
    float *qe = malloc(sizeof(float) * (d->n_queries * P + 1)), *ce = malloc(sizeof(float) * (d->n_corpus * P + 1));
    ss_tf_work w = {0};
    ss_status rc = qe && ce ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "eval: out of memory");
    if (rc == SS_OK) rc = embed(tf, st, m, pool, &w, (const char *const *)d->query_texts, d->n_queries, qe, err);
    if (rc == SS_OK) rc = embed(tf, st, m, pool, &w, (const char *const *)d->corpus_texts, d->n_corpus, ce, err);
    if (rc == SS_OK) rc = ss_ir_compute(d, qe, ce, P, r, err);
    ss_tf_work_free(&w);
    free(qe), free(ce);
    return rc;
}

ss_status ss_eval_triplet(const ss_transformer *tf, const ss_st_config *st, ss_model *m, ss_pool *pool,
                          const ss_dataset *d, ss_triplet_result *r, ss_error *err) {
    if (d->n_cols != 3) return ss_fail(err, SS_ERR_INVALID, "eval: triplets need three text columns");
    const size_t n = d->n_rows;
    const int P = ss_pooling_count(&st->pooling) * tf->cfg.hidden;
    const char **t = malloc(sizeof(char *) * (n + 1));
    float *e = malloc(sizeof(float) * (3 * n * P + 1));
    ss_tf_work w = {0};
    ss_status rc = t && e ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "eval: out of memory");
    for (int c = 0; c < 3 && rc == SS_OK; c++) {
        for (size_t i = 0; i < n; i++) t[i] = ss_dataset_text(d, i, c);
        rc = embed(tf, st, m, pool, &w, t, n, e + (size_t)c * n * P, err);
    }
    if (rc == SS_OK && st->normalize)
        for (size_t i = 0; i < 3 * n; i++) {
            float *x = e + i * P;
            double s = 0;
            for (int k = 0; k < P; k++) s += (double)x[k] * x[k];
            s = fmax(sqrt(s), 1e-12);
            for (int k = 0; k < P; k++) x[k] = (float)(x[k] / s);
        }
    if (rc == SS_OK) ss_triplet_compute(e, e + n * P, e + 2 * n * P, n, P, r);
    ss_tf_work_free(&w);
    free(t), free(e);
    return rc;
}
