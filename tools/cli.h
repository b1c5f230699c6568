/* cli.h — helpers shared by the CLI verbs: inputs, model loading, output, progress
 * (option parsing: opts.h). */
#ifndef SS_TOOLS_CLI_H
#define SS_TOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "semsearch.h"

/* Input texts, one per line or a string field of JSONL objects (tools/texts.c). */
typedef struct cli_texts {
    char **texts;
    size_t n;
    const char **file; /* per text: the input it came from ("<stdin>" or the path given) */
    size_t *line;      /* per text: its 1-based line in that input */
    int n_inputs;
} cli_texts;

/* Read texts from path ("-" or NULL = stdin). field != NULL: each line is one
 * JSON object and field names the string to take (the last of duplicate keys,
 * as Python's json). Errors name the file and line; a directory is an error. */
int cli_read_texts(const char *path, const char *field, cli_texts *out);
/* The same for several inputs, read in order (n_paths == 0: stdin). */
int cli_read_texts_many(const char *const *paths, int n_paths, const char *field, cli_texts *out);
/* Where text i came from, for messages: "input line 3" (one input) or "input a.txt:3". */
const char *cli_where(const cli_texts *t, size_t i, char *buf, size_t cap);
void cli_texts_free(cli_texts *t);

/* An output file written atomically (tools/outfile.c): a temp file in the same
 * folder, renamed over path only by cli_out_commit (after every write, fflush,
 * fsync and fclose succeeded). path NULL or "-": stdout; a path that exists and
 * is not a regular file (/dev/null, a FIFO): written in place. */
typedef struct cli_out {
    FILE *f;
    const char *path; /* as given; NULL for stdout */
    char *tmp;        /* the temp file, or NULL when writing in place */
} cli_out;
int cli_out_open(cli_out *o, const char *path, const char *verb);
/* ok: finish and publish (returns 0, or 1 after a message naming the file and
 * the error); !ok: discard the temp file, leaving an earlier output intact. */
int cli_out_close(cli_out *o, int ok, const char *verb);
/* 1 if a write to o has failed so far (a verb may stop early). */
int cli_out_failed(const cli_out *o);

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
