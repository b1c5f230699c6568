/* cmd_eval_st.c — `semsearch eval ir` and `semsearch eval triplet`:
 * sentence-transformers 2.7's InformationRetrievalEvaluator (cos_sim) and
 * TripletEvaluator over the embeddings of `semsearch embed` (src/train/ir_eval.h
 * has the definitions). Reached through cmd_eval (cmd_train.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "train/data.h"
#include "train/ir_eval.h"

int split_columns(char *list, ss_data_options *d);
int parse_format(const char *v, ss_data_format *f);
int cmd_eval_retrieval(int argc, char **argv, const cli_globals *g);

static float *encode_all(ss_model *m, char *const *texts, size_t n, int dim, ss_error *err) {
    float *e = malloc(sizeof(float) * (n * (size_t)dim + 1));
    if (!e) {
        fprintf(stderr, "semsearch eval: out of memory for %zu embeddings\n", n);
        return NULL;
    }
    if (ss_encode(m, (const char *const *)texts, n, NULL, e, err) != SS_OK) {
        fprintf(stderr, "semsearch eval: %s\n", err->msg);
        free(e);
        return NULL;
    }
    return e;
}

static int eval_ir(int argc, char **argv) {
    const char *model = NULL, *queries = NULL, *corpus = NULL, *qrels = NULL;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder (default: bundled all-MiniLM-L6-v2)"},
        {"queries", 0, CLI_STRING, &queries, "FILE", "queries JSONL {\"_id\", \"text\"}"},
        {"corpus", 0, CLI_STRING, &corpus, "FILE", "corpus JSONL {\"_id\", \"title\", \"text\"}"},
        {"qrels", 0, CLI_STRING, &qrels, "FILE", "qrels TSV query-id, corpus-id, score (>= 1 relevant)"},
        {0}};
    const cli_spec spec = {"eval ir", "[BEIR_DIR] [--queries Q --corpus C --qrels R] [options]",
                           "  InformationRetrievalEvaluator (sentence-transformers 2.7, cos_sim): accuracy@k,\n"
                           "  precision@k, recall@k (k = 1, 3, 5, 10), MRR@10, NDCG@10, MAP@100 over the queries\n"
                           "  with a relevant document. BEIR_DIR holds queries.jsonl, corpus.jsonl, qrels.tsv\n"
                           "  (or qrels/test.tsv).",
                           opts, 0, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *dir = np ? pos[0] : NULL;
    free(pos);
    if (!dir && !(queries && corpus && qrels))
        return cli_usage_error(&spec, "give a BEIR folder or all of --queries, --corpus and --qrels");
    if (dir && (queries || corpus || qrels))
        return cli_usage_error(&spec, "a BEIR folder or --queries/--corpus/--qrels, not both");
    ss_ir_data d;
    ss_error err = {0};
    ss_status st = dir ? ss_ir_data_load_spec(&d, dir, &err) : ss_ir_data_load(&d, queries, corpus, qrels, &err);
    if (st != SS_OK) {
        fprintf(stderr, "semsearch eval: %s\n", err.msg);
        return 1;
    }
    int rc = 1;
    ss_model *m = cli_load_model(model, 0, 0);
    float *qe = NULL, *ce = NULL;
    if (m) {
        int dim = ss_model_dim(m);
        qe = encode_all(m, d.query_texts, d.n_queries, dim, &err);
        ce = qe ? encode_all(m, d.corpus_texts, d.n_corpus, dim, &err) : NULL;
        ss_ir_result r;
        if (ce && ss_ir_compute(&d, qe, ce, dim, &r, &err) == SS_OK) {
            printf("queries: %zu\ncorpus: %zu\n", d.n_queries, d.n_corpus);
            if (d.n_dropped_queries) printf("queries without a relevant document (left out): %zu\n", d.n_dropped_queries);
            if (d.n_unknown_docs) printf("relevant documents not in the corpus: %zu\n", d.n_unknown_docs);
            for (int k = 0; k < SS_IR_NK; k++) printf("accuracy@%d: %.6f\n", ss_ir_ks[k], r.accuracy[k]);
            for (int k = 0; k < SS_IR_NK; k++) printf("precision@%d: %.6f\n", ss_ir_ks[k], r.precision[k]);
            for (int k = 0; k < SS_IR_NK; k++) printf("recall@%d: %.6f\n", ss_ir_ks[k], r.recall[k]);
            printf("mrr@10: %.6f\nndcg@10: %.6f\nmap@100: %.6f\n", r.mrr10, r.ndcg10, r.map100);
            rc = 0;
        } else if (ce) {
            fprintf(stderr, "semsearch eval: %s\n", err.msg);
        }
    }
    free(qe), free(ce);
    ss_model_free(m);
    ss_ir_data_free(&d);
    return rc;
}

static int eval_triplet(int argc, char **argv) {
    const char *model = NULL, *cols = NULL, *format = NULL;
    ss_data_options o = {.header = -1};
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder (default: bundled all-MiniLM-L6-v2)"},
        {"columns", 0, CLI_STRING, &cols, "A,P,N", "anchor, positive, negative columns (default: anchor,positive,negative)"},
        {"format", 0, CLI_STRING, &format, "csv|tsv|jsonl", "input format (default: by extension)"},
        {"skip-bad", 0, CLI_FLAG, &o.skip_bad, NULL, "skip and count bad rows instead of failing"},
        {0}};
    const cli_spec spec = {"eval triplet", "FILE [options]",
                           "  TripletEvaluator (sentence-transformers 2.7): the share of rows whose positive is\n"
                           "  closer to the anchor than the negative, by cosine, Manhattan and Euclidean distance",
                           opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *path = pos[0];
    free(pos);
    if (format && parse_format(format, &o.format)) return cli_usage_error(&spec, "--format csv|tsv|jsonl");
    static char ca[] = "anchor", cp[] = "positive", cn[] = "negative";
    char *columns = cols ? strdup(cols) : NULL;
    if (columns) {
        if (split_columns(columns, &o) || o.n_text_cols != 3) {
            free(columns);
            return cli_usage_error(&spec, "--columns takes three columns");
        }
    } else {
        o.n_text_cols = 3, o.text_cols[0] = ca, o.text_cols[1] = cp, o.text_cols[2] = cn;
    }
    ss_dataset ds;
    ss_error err = {0};
    if (ss_dataset_load(&ds, path, &o, &err) != SS_OK) {
        fprintf(stderr, "semsearch eval: %s\n", err.msg);
        free(columns);
        return 1;
    }
    int rc = 1;
    ss_model *m = cli_load_model(model, 0, 0);
    size_t n = ds.n_rows;
    char **t = malloc(sizeof(char *) * (n + 1));
    float *e[3] = {0};
    if (m && t) {
        int dim = ss_model_dim(m), ok = 1;
        for (int c = 0; c < 3 && ok; c++) {
            for (size_t i = 0; i < n; i++) t[i] = (char *)ss_dataset_text(&ds, i, c);
            ok = (e[c] = encode_all(m, t, n, dim, &err)) != NULL;
        }
        if (ok) {
            ss_triplet_result r;
            ss_triplet_compute(e[0], e[1], e[2], n, dim, &r);
            printf("triplets: %zu\n", n);
            if (ds.n_skipped) printf("skipped: %zu\n", ds.n_skipped);
            printf("cosine_accuracy: %.6f\nmanhattan_accuracy: %.6f\neuclidean_accuracy: %.6f\n", r.cosine,
                   r.manhattan, r.euclidean);
            rc = 0;
        }
    } else if (m) {
        fprintf(stderr, "semsearch eval: out of memory\n");
    }
    free(t), free(e[0]), free(e[1]), free(e[2]), free(columns);
    ss_model_free(m);
    ss_dataset_free(&ds);
    return rc;
}

int cmd_eval_retrieval(int argc, char **argv, const cli_globals *g) {
    (void)g;
    /* argv[0] "eval", argv[1] "ir" | "triplet": parse from argv[1] (the sub-verb) on */
    if (!strcmp(argv[1], "ir")) return eval_ir(argc - 1, argv + 1);
    return eval_triplet(argc - 1, argv + 1);
}
