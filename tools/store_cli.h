/* store_cli.h — what the collection verbs (cmd_collections.c, cmd_shell.c,
 * cmd_eval_ir.c) share: opening DATA/NAME, the --mode names, printing hits. */
#ifndef SS_TOOLS_STORE_CLI_H
#define SS_TOOLS_STORE_CLI_H

#include <stdio.h>

#include "commands.h"
#include "semsearch.h"

/* DATA/NAME into buf; NULL (message printed) when NAME is not a plain name. */
const char *store_cli_path(const cli_globals *g, const char *verb, const char *name, char *buf, size_t cap);
/* Open read-only (searches) or as the writer; prints the error. */
ss_collection *store_cli_open(const cli_globals *g, const char *verb, const char *name, int writer,
                              const char *model);
/* "vector" | "bm25" | "hybrid" | "linear" -> mode; -1 unknown. */
int store_cli_mode(const char *name);
/* One hit: JSON object per line ({"id","score","text","fields"}) or a text line. */
/* Hit i of r (rank i + 1); chunked collections add the passage. */
void store_cli_print_hit(FILE *f, const ss_results *r, size_t i, int json);

#endif
