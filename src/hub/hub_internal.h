/* hub_internal.h — shared pieces of the model hub client (src/hub/). */
#ifndef SS_HUB_INTERNAL_H
#define SS_HUB_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "semsearch.h"

#define HUB_PATH_MAX 4096
#define HUB_MANIFEST ".semsearch-pull.json"
#define HUB_PART_SUFFIX ".incomplete"
#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"

/* ---- options with the environment's defaults applied (hub_config.c) */
typedef struct hub_config {
    char endpoint[1024];    /* no trailing '/' */
    char cache[HUB_PATH_MAX];
    char revision[256];
    char token[1024];       /* "" = none */
    int offline;
    int connect_timeout_s, stall_timeout_s, retries;
    ss_hub_progress_fn progress;
    void *progress_user;
} hub_config;

ss_status hub_config_resolve(const ss_hub_options *opts, hub_config *cfg, ss_error *err);
/* 1 when an environment flag value means "on" (1, true, yes, on). */
int hub_env_truthy(const char *v);
ss_status hub_check_repo_id(const char *repo_id, ss_error *err);
ss_status hub_check_revision(const char *rev, ss_error *err);
/* The cache folder of repo at cfg's revision. */
ss_status hub_repo_dir(const hub_config *cfg, const char *repo_id, char *dir, size_t cap,
                       ss_error *err);

/* ---- files and folders (hub_files.c) */
ss_status hub_mkdirs(const char *path, ss_error *err);             /* mkdir -p         */
ss_status hub_mkdirs_parent(const char *file, ss_error *err);      /* of a file's path */
/* sha256 of a file as 64 lowercase hex digits. */
ss_status hub_sha256_file(const char *path, char hex[65], ss_error *err);
/* 1 if s is 64 hex digits; hex64_lower copies it lowercased. */
int hub_is_sha256(const char *s);
/* Size of a regular file, -1 when absent. */
int64_t hub_file_size(const char *path);
/* Write text to path atomically (path.tmp, fsync, rename). */
ss_status hub_write_atomic(const char *path, const char *text, ss_error *err);
/* Human size "12.3 MiB". */
const char *hub_human_size(uint64_t n, char *buf, size_t cap);

/* ---- which of a repo's files a sentence-transformers model needs (hub_select.c) */
/* names: all the repo's file names; returns 1 if name should be downloaded. */
int hub_want_file(const char *name, const char *const *names, int n);
/* 1 if a repo file name is safe to write under the model folder. */
int hub_safe_relpath(const char *name);

/* ---- the pull manifest (hub_cache.c) */
typedef struct hub_file {
    char *name;
    int64_t size;          /* -1 unknown */
    char sha256[65];       /* "" unknown */
    char blob_id[65];      /* git blob id from the API; "" unknown */
} hub_file;

typedef struct hub_manifest {
    char *repo, *revision, *commit;
    hub_file *files;
    int n_files;
} hub_manifest;

/* Read DIR/.semsearch-pull.json; SS_ERR_NOT_FOUND when absent. */
ss_status hub_manifest_read(const char *dir, hub_manifest *m, ss_error *err);
ss_status hub_manifest_write(const char *dir, const hub_manifest *m, const char *endpoint,
                             ss_error *err);
void hub_manifest_free(hub_manifest *m);
const hub_file *hub_manifest_find(const hub_manifest *m, const char *name);
/* 1 if every file in the manifest is present with its recorded size; on 0,
 * missing (if non-NULL) names the first one absent or of the wrong size. */
int hub_manifest_complete(const char *dir, const hub_manifest *m, char *missing, size_t cap);

/* ---- HTTP over libcurl (hub_http.c) */
typedef struct hub_http hub_http;

typedef struct hub_response {
    long status;             /* the final response's status (0: none)           */
    int blocks;              /* how many responses (redirects included)          */
    char etag[130];          /* ETag of the first response (the hub's own)       */
    char linked_etag[130];   /* X-Linked-Etag from any response                  */
    int64_t linked_size;     /* X-Linked-Size, -1                                */
    int64_t content_length;  /* of the final response, -1                        */
    int64_t range_start;     /* Content-Range "bytes A-B/T" of the final: A, -1  */
    int64_t range_total;     /* ... T, -1                                        */
    char error_code[64];     /* X-Error-Code (RepoNotFound, GatedRepo, ...)      */
    char error_message[256]; /* X-Error-Message                                  */
    char body_error[512];    /* the start of a non-2xx response's body           */
    int curl_code;           /* CURLcode; 0 = transfer completed                 */
    char curl_error[256];    /* curl's explanation when curl_code != 0           */
} hub_response;

hub_http *hub_http_new(const hub_config *cfg, ss_error *err);
void hub_http_free(hub_http *h);
/* GET url into a malloc'd NUL-terminated buffer (*body, at most max bytes). */
ss_status hub_http_get_mem(hub_http *h, const char *url, size_t max, char **body, size_t *len,
                           hub_response *rsp, ss_error *err);
/* GET url appending to the open file f, which holds `offset` bytes already
 * (Range: bytes=offset- when > 0; a 200 reply restarts the file from 0, and
 * *offset is updated to where the body started). progress_name names the
 * file for the progress callback; expected_total (or -1) is the full size. */
ss_status hub_http_get_file(hub_http *h, const char *url, FILE *f, int64_t *offset,
                            const char *progress_name, int64_t expected_total,
                            hub_response *rsp, ss_error *err);
/* Percent-encode s for a URL path (keep_slash: '/' left as is). */
char *hub_url_escape(const char *s, int keep_slash);

#endif
