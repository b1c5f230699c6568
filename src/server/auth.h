/* auth.h — optional API keys: a file with one key per line ('#' comments and
 * blank lines skipped). A request is allowed when its Authorization header is
 * "ApiKey K" (what Elasticsearch clients send for api_key=) or "Bearer K"
 * (OpenAI / Hugging Face clients) and K equals one of the keys. Every key is
 * compared in constant time, all of them, so timing says nothing about which
 * prefix matched. Thread safety: immutable after ss_auth_load. */
#ifndef SS_SERVER_AUTH_H
#define SS_SERVER_AUTH_H

#include "semsearch.h"

typedef struct ss_auth ss_auth;

/* NULL + err when the file is unreadable or holds no key. */
ss_auth *ss_auth_load(const char *path, ss_error *err);
void ss_auth_free(ss_auth *a);
int ss_auth_count(const ss_auth *a);
/* 1 when the Authorization header value (may be NULL) carries a valid key. */
int ss_auth_check(const ss_auth *a, const char *authorization);

#endif
