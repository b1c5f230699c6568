/* cmd_eval_ir.c — `semsearch eval-ir COLLECTION --queries Q --qrels QRELS`:
 * BEIR-format evaluation (queries JSONL {_id, text}; qrels TSV
 * query-id<TAB>corpus-id<TAB>score with or without a header, or TREC
 * "qid 0 docid rel"): every judged query is run (batched), then nDCG@10,
 * MRR@10, MAP@100, recall@1/10/100 with pytrec_eval's definitions
 * (src/store/ireval.c), averaged over the judged queries. --drop-own-id is
 * BEIR's ignore_identical_ids (a hit whose id is the query's is dropped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"
#include "store/ireval.h"
#include "store_cli.h"

int store_cli_read_queries(const char *path, char ***ids, char ***texts, size_t *n);

typedef struct {
    char *qid;
    ss_ir_rel *rels;
    size_t n, cap;
} qrel_q;

static int read_qrels(const char *path, qrel_q **out, size_t *nq) {
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *nq = 0;
    if (!f) {
        fprintf(stderr, "semsearch eval-ir: cannot open qrels %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0, qcap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len) continue;
        char *tok[4];
        int nt = 0;
        for (char *s = strtok(line, "\t "); s && nt < 4; s = strtok(NULL, "\t ")) tok[nt++] = s;
        if (lineno == 1 && nt >= 1 && (!strcmp(tok[0], "query-id") || !strcmp(tok[0], "qid"))) continue;
        const char *qid, *did, *rs;
        if (nt == 3) qid = tok[0], did = tok[1], rs = tok[2];
        else if (nt == 4) qid = tok[0], did = tok[2], rs = tok[3];
        else {
            fprintf(stderr, "semsearch eval-ir: %s:%zu: expected query-id, corpus-id, score\n", path, lineno);
            free(line);
            fclose(f);
            return -1;
        }
        char *end;
        long rel = strtol(rs, &end, 10);
        if (*end) {
            fprintf(stderr, "semsearch eval-ir: %s:%zu: score '%s' is not an integer\n", path, lineno, rs);
            free(line);
            fclose(f);
            return -1;
        }
        size_t qi = *nq;
        if (*nq && !strcmp((*out)[*nq - 1].qid, qid)) qi = *nq - 1;
        else
            for (size_t i = 0; i < *nq; i++)
                if (!strcmp((*out)[i].qid, qid)) {
                    qi = i;
                    break;
                }
        if (qi == *nq) {
            if (*nq == qcap) {
                qcap = qcap ? qcap * 2 : 256;
                *out = realloc(*out, qcap * sizeof **out);
            }
            (*out)[(*nq)++] = (qrel_q){strdup(qid), NULL, 0, 0};
        }
        qrel_q *q = &(*out)[qi];
        if (q->n == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 4;
            q->rels = realloc(q->rels, q->cap * sizeof *q->rels);
        }
        q->rels[q->n++] = (ss_ir_rel){strdup(did), (int)rel};
    }
    free(line);
    fclose(f);
    return 0;
}

int cmd_eval_ir(int argc, char **argv, const cli_globals *g) {
    const char *queries = NULL, *qrels = NULL, *mode = NULL, *run_out = NULL, *model = NULL;
    int k = 100, drop_own = 0, json = 0, window = 0, ef = 0;
    double k1 = 1.2, b = 0.75;
    const cli_opt opts[] = {
        {"queries", 0, CLI_STRING, &queries, "FILE", "queries JSONL {_id, text} (BEIR queries.jsonl)"},
        {"qrels", 0, CLI_STRING, &qrels, "FILE", "qrels TSV query-id, corpus-id, score (BEIR qrels/test.tsv)"},
        {"mode", 0, CLI_STRING, &mode, "MODE", "vector (default), bm25, hybrid, linear"},
        {"k", 'k', CLI_INT, &k, "K", "hits retrieved per query (default 100)", .lo = 10, .hi = 10000},
        {"k1", 0, CLI_FLOAT, &k1, "X", "BM25 k1 (default 1.2)", .flo = 0, .fhi = 100},
        {"b", 0, CLI_FLOAT, &b, "X", "BM25 b (default 0.75)", .flo = 0, .fhi = 1},
        {"rank-window", 0, CLI_INT, &window, "N", "hybrid: candidates per side", .lo = 1, .hi = 100000},
        {"ef", 0, CLI_INT, &ef, "N", "HNSW search beam", .lo = 1, .hi = 100000},
        {"drop-own-id", 0, CLI_FLAG, &drop_own, NULL, "drop hits whose id is the query's id (BEIR ignore_identical_ids)"},
        {"run", 0, CLI_STRING, &run_out, "FILE", "also write the run in TREC format (qid Q0 doc rank score tag)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the metrics as one JSON object"},
        {"model", 0, CLI_STRING, &model, "DIR", "model folder (must be the collection's)"},
        {0}};
    const cli_spec spec = {"eval-ir", "[options] COLLECTION --queries Q --qrels QRELS",
                           "  BEIR evaluation: nDCG@10, MRR@10, MAP@100, recall@1/10/100 (pytrec_eval definitions)",
                           opts, 1, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    int m = store_cli_mode(mode);
    if (!queries || !qrels || m < 0) {
        free(pos);
        return cli_usage_error(&spec, m < 0 ? "unknown --mode '%s'" : "--queries and --qrels are required%s",
                               m < 0 ? mode : "");
    }
    char **ids = NULL, **texts = NULL;
    size_t nqs = 0, nj = 0;
    qrel_q *qj = NULL;
    if (store_cli_read_queries(queries, &ids, &texts, &nqs) || read_qrels(qrels, &qj, &nj)) {
        free(pos);
        return 1;
    }
    ss_collection *c = store_cli_open(g, "eval-ir", pos[0], 0, model);
    int rc = c ? 0 : 1;
    FILE *runf = run_out && c ? fopen(run_out, "w") : NULL;
    if (run_out && c && !runf) {
        fprintf(stderr, "semsearch eval-ir: cannot write %s\n", run_out);
        rc = 1;
    }
    size_t missing = 0;
    for (size_t j = 0; j < nj; j++) {
        size_t i = 0;
        while (i < nqs && strcmp(ids[i], qj[j].qid)) i++;
        missing += i == nqs;
    }
    ss_ir_metrics sum = {0};
    size_t done = 0;
    const size_t chunk = 128;
    ss_query *qs = calloc(chunk, sizeof *qs);
    ss_results **res = calloc(chunk, sizeof *res);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t j0 = 0; rc == 0 && j0 < nj; j0 += chunk) {
        size_t mjs[128], mq = 0;
        for (size_t j = j0; j < nj && j < j0 + chunk; j++) {
            size_t i = 0;
            while (i < nqs && strcmp(ids[i], qj[j].qid)) i++;
            if (i == nqs) continue;
            qs[mq] = (ss_query){.text = texts[i], .k = k, .mode = (ss_search_mode)m, .k1 = k1, .b = b > 0 ? b : -1,
                                .rank_window = window, .ef_search = ef, .exclude_id = drop_own ? ids[i] : NULL};
            mjs[mq++] = j;
        }
        if (!mq) continue;
        ss_error err;
        if (ss_collection_search_many(c, qs, mq, res, &err) != SS_OK) {
            fprintf(stderr, "semsearch eval-ir: %s\n", err.msg);
            rc = 1;
            break;
        }
        for (size_t x = 0; x < mq; x++) {
            qrel_q *q = &qj[mjs[x]];
            size_t nh = ss_results_count(res[x]);
            ss_ir_doc *docs = calloc(nh ? nh : 1, sizeof *docs);
            for (size_t h = 0; h < nh; h++) {
                const ss_hit *hit = ss_results_hit(res[x], h);
                docs[h] = (ss_ir_doc){hit->id, hit->score};
                if (runf) fprintf(runf, "%s Q0 %s %zu %.9g semsearch\n", q->qid, hit->id, h + 1, hit->score);
            }
            ss_ir_metrics mm;
            ss__ir_eval_query(docs, nh, q->rels, q->n, &mm);
            sum.ndcg10 += mm.ndcg10;
            sum.mrr10 += mm.mrr10;
            sum.map100 += mm.map100;
            sum.recall1 += mm.recall1;
            sum.recall10 += mm.recall10;
            sum.recall100 += mm.recall100;
            done++;
            free(docs);
            ss_results_free(res[x]);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (rc == 0 && done) {
        double d = (double)done;
        if (json)
            printf("{\"queries\": %zu, \"ndcg@10\": %.6f, \"mrr@10\": %.6f, \"map@100\": %.6f, \"recall@1\": %.6f, "
                   "\"recall@10\": %.6f, \"recall@100\": %.6f, \"seconds\": %.3f}\n",
                   done, sum.ndcg10 / d, sum.mrr10 / d, sum.map100 / d, sum.recall1 / d, sum.recall10 / d,
                   sum.recall100 / d, secs);
        else
            printf("queries %zu (judged without a text: %zu)\nNDCG@10   %.4f\nMRR@10    %.4f\nMAP@100   %.4f\n"
                   "recall@1  %.4f\nrecall@10 %.4f\nrecall@100 %.4f\n(%.1f s, %.1f queries/s)\n",
                   done, missing, sum.ndcg10 / d, sum.mrr10 / d, sum.map100 / d, sum.recall1 / d, sum.recall10 / d,
                   sum.recall100 / d, secs, d / (secs > 0 ? secs : 1));
    } else if (rc == 0) {
        fprintf(stderr, "semsearch eval-ir: no judged query has a text in %s\n", queries);
        rc = 1;
    }
    if (runf) fclose(runf);
    ss_collection_close(c, NULL);
    for (size_t i = 0; i < nqs; i++) free(ids[i]), free(texts[i]);
    free(ids);
    free(texts);
    for (size_t j = 0; j < nj; j++) {
        for (size_t i = 0; i < qj[j].n; i++) free((char *)qj[j].rels[i].id);
        free(qj[j].rels);
        free(qj[j].qid);
    }
    free(qj);
    free(qs);
    free(res);
    free(pos);
    return rc;
}
