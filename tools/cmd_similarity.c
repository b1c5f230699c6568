/* cmd_similarity.c — `semsearch similarity`: cosine matrix of the input texts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static size_t first_nonfinite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return n;
}

int cmd_similarity(int argc, char **argv, const cli_globals *g) {
    (void)g;
    const char *model = NULL, *field = NULL;
    int json = 0;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder or cached ORG/NAME (default: bundled all-MiniLM-L6-v2)"},
        {"field", 0, CLI_STRING, &field, "NAME", "input is JSONL; use the string field NAME"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the matrix as one JSON array of rows"},
        {0}};
    const cli_spec spec = {"similarity", "[options] [INPUT]",
                           "  embeds each input line and prints the cosine similarity matrix", opts, 0, 1, NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *input = np ? pos[0] : NULL;
    free(pos);
    cli_texts in;
    if (cli_read_texts(input, field, &in) != 0) return 1;
    if (in.n == 0) {
        fprintf(stderr, "semsearch similarity: no input texts\n");
        cli_texts_free(&in);
        return 1;
    }
    ss_model *m = cli_load_model(model, 0, 0);
    if (!m) {
        cli_texts_free(&in);
        return 1;
    }
    int d = ss_model_dim(m), rc = 1;
    size_t bad;
    float *emb = malloc(in.n * (size_t)d * sizeof(float));
    ss_error err;
    if (!emb) {
        fprintf(stderr, "semsearch similarity: out of memory\n");
    } else if (ss_encode(m, (const char *const *)in.texts, in.n, NULL, emb, &err) != SS_OK) {
        fprintf(stderr, "semsearch similarity: %s\n", err.msg);
    } else if ((bad = first_nonfinite(emb, in.n * (size_t)d)) < in.n * (size_t)d) {
        /* NaN would print as a similarity; refuse it, naming the text. */
        char where[512];
        fprintf(stderr, "semsearch similarity: %s: the model produced a non-finite value (NaN or Inf); check the model's weights\n",
                cli_where(&in, bad / (size_t)d, where, sizeof where));
    } else {
        if (json) putchar('[');
        for (size_t i = 0; i < in.n; i++) {
            if (json) fputs(i ? ", [" : "[", stdout);
            for (size_t j = 0; j < in.n; j++) {
                float c = ss_cosine(emb + i * (size_t)d, emb + j * (size_t)d, d);
                if (json) printf(j ? ", %.6f" : "%.6f", c);
                else printf(j ? " %7.4f" : "%7.4f", c);
            }
            if (json) putchar(']');
            else putchar('\n');
        }
        if (json) puts("]");
        rc = 0;
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "semsearch similarity: error writing standard output\n");
            rc = 1;
        }
    }
    free(emb);
    ss_model_free(m);
    cli_texts_free(&in);
    return rc;
}
