/* ingest.c — ss_collection_add_file: records from a file, in batches.
 *
 * Every record is checked before its batch is written (valid JSON / CSV,
 * valid UTF-8, the embedded fields present and not empty, an id not seen
 * earlier in the file), so a bad record fails before anything of its batch
 * reaches SQLite; batches already committed stay. With skip_bad the bad
 * record is dropped and counted instead. Ids: the id field's value (string
 * or integer); a record without one gets "FILE:LINE" (basename of the file),
 * so re-adding the same file replaces rather than duplicates. With a vector
 * field, each record's precomputed vector is taken from it (and the field is
 * not stored among the document's fields: it is the document's vector). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "store/docs.h"
#include "store/reader.h"

/* Ids seen in this file (open addressing), with the line each first appeared on. */
typedef struct {
    char **keys;
    size_t *lines;
    size_t cap, n;
} idset;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* 0 when inserted; else the line of the earlier occurrence. -1 on OOM. */
static long long idset_put(idset *s, const char *key, size_t line) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char **k = calloc(cap, sizeof *k);
        size_t *l = calloc(cap, sizeof *l);
        if (!k || !l) {
            free(k);
            free(l);
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[i]) {
                size_t j = hash_str(s->keys[i]) & (cap - 1);
                while (k[j]) j = (j + 1) & (cap - 1);
                k[j] = s->keys[i];
                l[j] = s->lines[i];
            }
        free(s->keys);
        free(s->lines);
        s->keys = k;
        s->lines = l;
        s->cap = cap;
    }
    size_t j = hash_str(key) & (s->cap - 1);
    while (s->keys[j]) {
        if (!strcmp(s->keys[j], key)) return (long long)s->lines[j];
        j = (j + 1) & (s->cap - 1);
    }
    s->keys[j] = strdup(key);
    if (!s->keys[j]) return -1;
    s->lines[j] = line;
    s->n++;
    return 0;
}

static void idset_free(idset *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->keys[i]);
    free(s->keys);
    free(s->lines);
}

/* The record's id into buf; 0 ok, -1 bad (why set). */
static int record_id(const cJSON *o, const char *id_field, const char *base, size_t line, char *buf, size_t cap,
                     char *why, size_t whycap) {
    const char *name = id_field;
    if (!name) name = cJSON_GetObjectItemCaseSensitive(o, "id") ? "id" : "_id";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) {
        if (id_field) {
            snprintf(why, whycap, "no id field '%s'", id_field);
            return -1;
        }
        snprintf(buf, cap, "%s:%zu", base, line);
        return 0;
    }
    if (cJSON_IsString(v)) {
        if (!*v->valuestring) {
            snprintf(why, whycap, "the id field '%s' is empty", name);
            return -1;
        }
        snprintf(buf, cap, "%s", v->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(buf, cap, "%lld", (long long)v->valuedouble);
        return 0;
    }
    snprintf(why, whycap, "the id field '%s' is not a string or an integer", name);
    return -1;
}

static void pending_clear(ss_pending *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].ext_id);
        free(p[i].body);
        free(p[i].vec);
        cJSON_free(p[i].fields);
    }
    memset(p, 0, n * sizeof *p);
}

ss_status ss_collection_add_file(ss_collection *c, const char *path, const ss_ingest_options *o, ss_add_stats *st,
                                 ss_error *err) {
    ss_ingest_options def = {0};
    ss_add_stats dummy = {0};
    if (!o) o = &def;
    if (!st) st = &dummy;
    if (c->read_only) return ss_fail(err, SS_ERR_INVALID, "collection %s is open read-only", c->dir);
    if (o->vector_field && !*o->vector_field) return ss_fail(err, SS_ERR_INVALID, "empty vector field name");
    if (o->vector_field && c->chunk_tokens > 0)
        return ss_fail(err, SS_ERR_INVALID,
                       "collection %s embeds passages (chunk tokens %d): precomputed vectors (vector field '%s') "
                       "cannot stand for them",
                       c->dir, c->chunk_tokens, o->vector_field);
    int fmt = 0;
    if (o->format) {
        if (!strcmp(o->format, "jsonl") || !strcmp(o->format, "json")) fmt = SS_FMT_JSONL;
        else if (!strcmp(o->format, "csv")) fmt = SS_FMT_CSV;
        else if (!strcmp(o->format, "tsv")) fmt = SS_FMT_TSV;
        else if (!strcmp(o->format, "text") || !strcmp(o->format, "txt")) fmt = SS_FMT_TEXT;
        else return ss_fail(err, SS_ERR_INVALID, "unknown format '%s' (jsonl, csv, tsv, text)", o->format);
    }
    char why[1024];
    ss_rec_reader r;
    if (ss__rec_open(&r, path, fmt, why, sizeof why)) return ss_fail(err, SS_ERR_IO, "%s", why);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t bs = o->batch_size > 0 ? (size_t)o->batch_size : 256;
    ss_pending *batch = calloc(bs, sizeof *batch);
    size_t *lines = calloc(bs, sizeof *lines);
    idset seen = {0};
    size_t nb = 0, ndocs = 0, committed = 0;
    ss_status s = batch && lines ? SS_OK : ss_fail(err, SS_ERR_NOMEM, "out of memory");
    while (s == SS_OK) {
        cJSON *obj = NULL;
        size_t line = 0;
        int rc = ss__rec_next(&r, &obj, &line, why, sizeof why);
        if (rc == -2) {
            s = ss_fail(err, SS_ERR_IO, "%s", why);
            break;
        }
        if (rc == 1) {
            char idbuf[1024], w2[512];
            int bad = 0;
            if (record_id(obj, o->id_field, base, line, idbuf, sizeof idbuf, w2, sizeof w2)) bad = 1;
            char *body = bad ? NULL : ss__compose(c, obj, w2, sizeof w2);
            if (!bad && !body) bad = 1;
            float *vec = NULL;
            if (!bad && o->vector_field) { /* stored as the document's vector, not among its fields */
                vec = ss__vector_field(obj, o->vector_field, c->dim, w2, sizeof w2);
                if (!vec) {
                    bad = 1;
                    free(body);
                } else cJSON_DeleteItemFromObjectCaseSensitive(obj, o->vector_field);
            }
            if (bad) {
                snprintf(why, sizeof why, "%.400s:%zu: %.500s", path, line, w2);
                rc = -1;
            } else {
                long long first = idset_put(&seen, idbuf, line);
                if (first != 0) {
                    free(body);
                    free(vec);
                    if (first < 0) {
                        cJSON_Delete(obj);
                        s = ss_fail(err, SS_ERR_NOMEM, "out of memory");
                        break;
                    }
                    snprintf(why, sizeof why, "%.300s:%zu: duplicate id '%.300s' (first on line %lld)", path, line, idbuf,
                             first);
                    rc = -1;
                } else {
                    batch[nb].ext_id = strdup(idbuf);
                    batch[nb].body = body;
                    batch[nb].vec = vec;
                    batch[nb].fields = cJSON_PrintUnformatted(obj);
                    lines[nb++] = line;
                    ndocs++;
                }
            }
            cJSON_Delete(obj);
        }
        if (rc == -1) {
            if (o->skip_bad) {
                st->skipped++;
                continue;
            }
            s = ss_fail(err, SS_ERR_FORMAT, "%s", why);
            break;
        }
        if (nb == bs || (rc == 0 && nb > 0)) {
            size_t badi = (size_t)-1;
            s = ss__write_batch(c, batch, nb, st, &badi, err);
            if (s != SS_OK && badi < nb) ss_error_prefix(err, "%s:%zu: ", path, lines[badi]);
            else if (s != SS_OK) ss_error_prefix(err, "%s: batch of lines %zu-%zu: ", path, lines[0], lines[nb - 1]);
            pending_clear(batch, nb);
            if (s == SS_OK) {
                committed += nb;
                if (o->committed) o->committed(o->user, committed);
            }
            nb = 0;
        }
        if (o->progress && (rc == 0 || ndocs % 64 == 0)) o->progress(o->user, ndocs, r.bytes, r.total);
        if (rc == 0) break;
    }
    pending_clear(batch, nb);
    free(batch);
    free(lines);
    idset_free(&seen);
    ss__rec_close(&r);
    return s;
}
