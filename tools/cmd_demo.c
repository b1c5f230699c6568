/* cmd_demo.c — `semsearch demo`: the main job on the bundled model. Embeds a
 * small corpus, prints the similarity matrix of a few sentences, and answers
 * queries with a top-k cosine search, as the sentence-transformers quickstart does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *const corpus[] = {
    "Artificial Intelligence aims to build machines that can reason, learn and act intelligently.",
    "Machine learning is a field of study that gives computers the ability to learn without being explicitly programmed.",
    "Deep learning uses neural networks with many layers to learn representations of data.",
    "Python is a popular programming language for data science.",
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Mount Everest is Earth's highest mountain above sea level.",
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Two men pushed carts through the woods.",
    "The new movie is awesome.",
    "Photosynthesis converts light energy into chemical energy in plants.",
};
static const char *const queries[] = {
    "What is AI?",
    "A man is eating pasta.",
    "Where is the tallest mountain?",
    "How do plants make energy from sunlight?",
};

int cmd_demo(int argc, char **argv, const cli_globals *g) {
    (void)g;
    const char *model = NULL;
    int k = 3;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder or cached ORG/NAME (default: bundled all-MiniLM-L6-v2)"},
        {"k", 'k', CLI_INT, &k, "K", "results per query (default 3)", .lo = 1, .hi = 1000},
        {0}};
    const cli_spec spec = {"demo", "[--model DIR] [-k K]",
                           "  embeds a small corpus, prints a similarity matrix and answers a few queries", opts, 0, 0, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    free(pos);
    ss_model *m = cli_load_model(model, 0, 0);
    if (!m) return 1;
    printf("model: %s\n      %s\n\n", cli_model_dir(model), ss_model_describe(m));
    size_t nc = sizeof corpus / sizeof corpus[0], nq = sizeof queries / sizeof queries[0];
    int d = ss_model_dim(m), rc = 1;
    float *ce = malloc(nc * (size_t)d * sizeof(float)), *qe = malloc(nq * (size_t)d * sizeof(float));
    ss_error err;
    if (!ce || !qe || ss_encode(m, corpus, nc, NULL, ce, &err) != SS_OK ||
        ss_encode(m, queries, nq, NULL, qe, &err) != SS_OK) {
        fprintf(stderr, "semsearch demo: %s\n", ce && qe ? err.msg : "out of memory");
        goto done;
    }
    printf("cosine similarity of the first 4 corpus sentences:\n");
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) printf(" %7.4f", ss_cosine(ce + i * d, ce + j * d, d));
        printf("   %.50s%s\n", corpus[i], strlen(corpus[i]) > 50 ? "…" : "");
    }
    if (k > (int)nc) k = (int)nc;
    for (size_t q = 0; q < nq; q++) {
        printf("\nquery: %s\n", queries[q]);
        int used[sizeof corpus / sizeof corpus[0]] = {0};
        for (int r = 0; r < k; r++) { /* top-k by selection: the corpus is tiny */
            int best = -1;
            float bs = -2;
            for (size_t c = 0; c < nc; c++) {
                float s = ss_cosine(qe + q * d, ce + c * d, d);
                if (!used[c] && s > bs) {
                    bs = s;
                    best = (int)c;
                }
            }
            used[best] = 1;
            printf("  %d. %.4f  %s\n", r + 1, bs, corpus[best]);
        }
    }
    rc = 0;
done:
    free(ce);
    free(qe);
    ss_model_free(m);
    return rc;
}
