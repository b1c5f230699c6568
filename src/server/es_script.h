/* es_script.h — script_score's Painless expressions (es_script.c). Internal. */
#ifndef SS_SERVER_ES_SCRIPT_H
#define SS_SERVER_ES_SCRIPT_H

#include "server/es_store.h"

typedef struct es_script es_script;
/* script: "source" string or {"source", "lang", "params"}; NULL + why (a 400). */
es_script *es_script_parse(es_index *x, const cJSON *script, char *why, size_t cap);
void es_script_free(es_script *s);
/* The script's value for a document whose query score is score. One search
 * at a time per es_script (it keeps a vector buffer and the first error). */
double es_script_run(const es_script *s, const es_index *x, const es_doc *d, double score);
/* The first error an evaluation met (missing vector, negative score), or NULL. */
const char *es_script_error(const es_script *s);

#endif
