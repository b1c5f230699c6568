/* fileio.h — whole-file reads, read-only mmaps, and JSON files. */
#ifndef SS_CORE_FILEIO_H
#define SS_CORE_FILEIO_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "semsearch.h"

/* Read a whole file into a malloc'd, NUL-terminated buffer. */
char *ss_read_file(const char *path, size_t *len, ss_error *err);

/* Parse a JSON file; the error names the file and the offset of a syntax error. */
cJSON *ss_read_json(const char *path, ss_error *err);

/* Deepest [ / { nesting of JSON text (outside strings), to tell "nested too
 * deep" (cJSON's limit is CJSON_NESTING_LIMIT) from a syntax error. */
size_t ss_json_depth(const char *text, size_t len);

/* 1 if path exists (file or folder). */
int ss_path_exists(const char *path);

/* Join dir + "/" + name into buf; returns buf. */
char *ss_path_join(char *buf, size_t cap, const char *dir, const char *name);

/* A read-only mapping of a whole file. */
typedef struct ss_mmap {
    void *data;
    size_t size;
} ss_mmap;
ss_status ss_mmap_open(ss_mmap *map, const char *path, ss_error *err);
void ss_mmap_close(ss_mmap *map);

/* JSON accessors with defaults: the value when present and of the right type. */
int ss_json_bool(const cJSON *obj, const char *key, int dflt);
double ss_json_num(const cJSON *obj, const char *key, double dflt);
const char *ss_json_str(const cJSON *obj, const char *key, const char *dflt);

#endif
