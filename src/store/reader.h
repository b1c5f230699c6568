/* reader.h — records out of JSONL, CSV / TSV (header row, RFC 4180 quoting)
 * and plain text (one document per line) files, each as a cJSON object with
 * the line it starts on. Used by ingest.c. */
#ifndef SS_STORE_READER_H
#define SS_STORE_READER_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum { SS_FMT_JSONL = 1, SS_FMT_CSV, SS_FMT_TSV, SS_FMT_TEXT };

typedef struct ss_rec_reader {
    FILE *f;
    const char *path;
    int format;
    size_t lineno;      /* lines consumed so far */
    char *line;         /* getline buffer */
    size_t lcap;
    char **header;      /* CSV / TSV column names */
    int nheader;
    uint64_t bytes, total;
} ss_rec_reader;

/* format 0: from the extension. Reads the CSV header. Errors name the file. */
int ss__rec_open(ss_rec_reader *r, const char *path, int format, char *why, size_t whycap);
void ss__rec_close(ss_rec_reader *r);

/* Next record: 1 = *obj set (caller frees) and *line = its first line;
 * 0 = end of file; -1 = bad record (why says what; reading can go on);
 * -2 = the file cannot be read further. */
int ss__rec_next(ss_rec_reader *r, cJSON **obj, size_t *line, char *why, size_t whycap);

/* 0 when s[0..n) is valid UTF-8, else the byte offset of the first bad byte + 1. */
size_t ss__utf8_check(const char *s, size_t n);

#endif
