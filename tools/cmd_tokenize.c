/* cmd_tokenize.c — `semsearch tokenize`: the token ids (and pieces) of each line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"

static void usage(void) {
    fprintf(stderr,
            "usage: semsearch tokenize [options] [INPUT]\n"
            "  prints one JSON array of token ids per input line (as SentenceTransformer.tokenize)\n"
            "  --model DIR        model folder or cached ORG/NAME (default: bundled all-MiniLM-L6-v2)\n"
            "  --field NAME       input is JSONL; tokenize the string field NAME\n"
            "  --tokens           print {\"ids\": [...], \"tokens\": [...]} objects instead\n"
            "  --show             a walk-through: one 'id<TAB>token' line per token, blank line between inputs\n"
            "  --max-seq-length N truncate to N tokens (default: the model's)\n"
            "  --prompt TEXT      prepend TEXT to every input\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *field = NULL, *input = NULL, *prompt = NULL;
    int mode = 0, msl = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else if (!strcmp(a, "--model")) model = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--field")) field = cli_value(argc, argv, &i);
        else if (!strcmp(a, "--tokens")) mode = 1;
        else if (!strcmp(a, "--show")) mode = 2;
        else if (!strcmp(a, "--max-seq-length")) msl = cli_int(a, cli_value(argc, argv, &i));
        else if (!strcmp(a, "--prompt")) prompt = cli_value(argc, argv, &i);
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "semsearch tokenize: unknown option %s\n", a);
            usage();
            return 2;
        } else input = a;
    }
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
            for (int t = 0; t < n; t++) printf("%d\t%s\n", ids[t], ss_tokenizer_token(tok, ids[t]));
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
                cJSON *s = cJSON_CreateString(ss_tokenizer_token(tok, ids[t]));
                char *js = cJSON_PrintUnformatted(s);
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
    free(ids);
    ss_model_free(m);
    cli_texts_free(&in);
    return rc;
}
