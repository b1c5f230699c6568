/* cmd_tokenize.c — `semsearch tokenize`: the token ids (and pieces) of each line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

int cmd_tokenize(int argc, char **argv, const cli_globals *g) {
    (void)g;
    const char *model = NULL, *field = NULL, *prompt = NULL;
    int mode = 0, msl = 0;
    const cli_opt opts[] = {
        {"model", 0, CLI_STRING, &model, "DIR", "model folder or cached ORG/NAME (default: bundled all-MiniLM-L6-v2)"},
        {"field", 0, CLI_STRING, &field, "NAME", "input is JSONL; tokenize the string field NAME"},
        {"tokens", 0, CLI_SET, &mode, NULL, "print {\"ids\": [...], \"tokens\": [...]} objects instead", .set = 1},
        {"show", 0, CLI_SET, &mode, NULL, "a walk-through: one 'id<TAB>token' line per token, blank line between inputs", .set = 2},
        {"max-seq-length", 0, CLI_INT, &msl, "N", "truncate to N tokens (default: the model's)"},
        {"prompt", 0, CLI_STRING, &prompt, "TEXT", "prepend TEXT to every input"},
        {0}};
    const cli_spec spec = {"tokenize", "[options] [INPUT]",
                           "  prints one JSON array of token ids per input line (as SentenceTransformer.tokenize)", opts, 0, 1,
                           NULL};
    char **pos;
    int np = cli_parse(&spec, argc, argv, &pos);
    if (np < 0) return cli_exit_code(np);
    const char *input = np ? pos[0] : NULL;
    free(pos);
    cli_texts in;
    if (cli_read_texts(input, field, &in) != 0) return 1;
    ss_model *m = cli_load_model(model, 1, msl);
    if (!m) {
        cli_texts_free(&in);
        return 1;
    }
    const ss_tokenizer *tok = ss_model_tokenizer(m);
    int cap = ss_model_max_seq_length(m), rc = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    for (size_t i = 0; ids && i < in.n; i++) {
        ss_error err;
        int n = ss_model_tokenize(m, in.texts[i], prompt, ids, cap, &err);
        if (n < 0) {
            fprintf(stderr, "semsearch tokenize: input line %zu: %s\n", i + 1, err.msg);
            rc = 1;
            break;
        }
        if (n > cap) n = cap;
        if (mode == 2) {
            for (int t = 0; t < n; t++) {
                const char *piece = ss_tokenizer_token(tok, ids[t]);
                printf("%d\t%s\n", ids[t], piece ? piece : "(no token string)");
            }
            putchar('\n');
            continue;
        }
        if (mode == 1) fputs("{\"ids\": ", stdout);
        putchar('[');
        for (int t = 0; t < n; t++) printf(t ? ", %d" : "%d", ids[t]);
        putchar(']');
        if (mode == 1) {
            fputs(", \"tokens\": [", stdout);
            for (int t = 0; t < n; t++) {
                /* An id the vocabulary has no string for is JSON null (never "(null)"). */
                const char *piece = ss_tokenizer_token(tok, ids[t]);
                cJSON *s = piece ? cJSON_CreateString(piece) : cJSON_CreateNull();
                char *js = cJSON_PrintUnformatted(s);
                if (!js) {
                    cJSON_Delete(s);
                    fprintf(stderr, "semsearch tokenize: out of memory\n");
                    rc = 1;
                    break;
                }
                printf(t ? ", %s" : "%s", js);
                free(js);
                cJSON_Delete(s);
            }
            fputs("]}", stdout);
        }
        putchar('\n');
    }
    if (!ids) {
        fprintf(stderr, "semsearch tokenize: out of memory\n");
        rc = 1;
    }
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "semsearch tokenize: error writing standard output\n");
        rc = 1;
    }
    free(ids);
    ss_model_free(m);
    cli_texts_free(&in);
    return rc;
}
