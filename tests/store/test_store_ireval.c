/* test_store_ireval.c — eval-ir's metrics equal pytrec_eval's (ndcg_cut.10,
 * map_cut.100, recall.1/10/100) and BEIR's MRR@10 to 1e-6 on seeded random
 * runs with ties (tests/store/golden/ireval.json, make_store_ireval_golden.py). */
#include "store/ireval.h"
#include "store_test.h"

int main(void) {
    cJSON *g = st_read_json(SEMSEARCH_TESTS_DIR "/store/golden/ireval.json");
    const cJSON *q;
    int nq = 0;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(g, "queries")) {
        const cJSON *run = cJSON_GetObjectItem(q, "run"), *qr = cJSON_GetObjectItem(q, "qrels");
        size_t nr = (size_t)cJSON_GetArraySize(run), nl = (size_t)cJSON_GetArraySize(qr);
        ss_ir_doc *docs = calloc(nr, sizeof *docs);
        ss_ir_rel *rels = calloc(nl, sizeof *rels);
        for (size_t i = 0; i < nr; i++) {
            const cJSON *e = cJSON_GetArrayItem(run, (int)i);
            docs[i].id = cJSON_GetArrayItem(e, 0)->valuestring;
            docs[i].score = cJSON_GetArrayItem(e, 1)->valuedouble;
        }
        for (size_t i = 0; i < nl; i++) {
            const cJSON *e = cJSON_GetArrayItem(qr, (int)i);
            rels[i].id = cJSON_GetArrayItem(e, 0)->valuestring;
            rels[i].rel = cJSON_GetArrayItem(e, 1)->valueint;
        }
        ss_ir_metrics m;
        ss__ir_eval_query(docs, nr, rels, nl, &m);
        const char *qid = cJSON_GetObjectItem(q, "qid")->valuestring;
#define CMP(field) CHECKF(fabs(m.field - cJSON_GetObjectItem(q, #field)->valuedouble) <= 1e-6, "%s " #field ": %.9f vs %.9f", qid, m.field, cJSON_GetObjectItem(q, #field)->valuedouble)
        CMP(ndcg10);
        CMP(map100);
        CMP(recall1);
        CMP(recall10);
        CMP(recall100);
        CMP(mrr10);
#undef CMP
        free(docs);
        free(rels);
        nq++;
    }
    CHECK(nq == 40);
    cJSON_Delete(g);
    return TEST_REPORT();
}
