/* cli.h — helpers shared by the CLI verbs: flags, inputs, model loading, output. */
#ifndef SS_TOOLS_CLI_H
#define SS_TOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "semsearch.h"

/* Input texts, one per line or a string field of JSONL objects. */
typedef struct cli_texts {
    char **texts;
    size_t n;
} cli_texts;

/* Read texts from path ("-" or NULL = stdin). field != NULL: each line is a
 * JSON object and field names the string to take. Errors name the line. */
int cli_read_texts(const char *path, const char *field, cli_texts *out);
void cli_texts_free(cli_texts *t);

/* The model folder: --model, else $SEMSEARCH_MODEL, else the bundled default. */
const char *cli_model_dir(const char *flag);
ss_model *cli_load_model(const char *flag, int threads, int max_seq_length);

/* A progress bar on stderr when it is a terminal (silent otherwise). */
typedef struct cli_progress {
    int enabled;
    const char *label;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, size_t total);
void cli_progress_cb(void *user, size_t done, size_t total);

#endif
