/* es_mapping.c — mappings: field types, dense_vector options, multi-fields,
 * dynamic mapping of unseen fields, and checking a document's values
 * against its field types (es_store.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/es_store.h"

/* ---- paths and fields ----------------------------------------------------- */

const cJSON *es_path(const cJSON *src, const char *path) {
    if (!cJSON_IsObject(src)) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, path);
    if (v) return v;
    const char *dot = strchr(path, '.');
    while (dot) { /* "a.b.c": try "a" then "b.c" inside, "a.b" then "c" ... */
        char head[512];
        size_t n = (size_t)(dot - path);
        if (n < sizeof head) {
            memcpy(head, path, n);
            head[n] = '\0';
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(src, head);
            if (cJSON_IsObject(o) && (v = es_path(o, dot + 1))) return v;
        }
        dot = strchr(dot + 1, '.');
    }
    return NULL;
}

const es_field *es_field_get(const es_index *x, const char *name) {
    for (int i = 0; i < x->n_fields; i++)
        if (!strcmp(x->fields[i].name, name)) return &x->fields[i];
    return NULL;
}

static int type_of(const char *t, es_ftype *out) {
    static const struct { const char *n; es_ftype t; } tb[] = {
        {"text", ES_TEXT},      {"match_only_text", ES_TEXT}, {"keyword", ES_KEYWORD}, {"constant_keyword", ES_KEYWORD},
        {"wildcard", ES_KEYWORD}, {"long", ES_LONG},          {"integer", ES_LONG},     {"short", ES_LONG},
        {"byte", ES_LONG},      {"unsigned_long", ES_LONG},   {"double", ES_DOUBLE},    {"float", ES_DOUBLE},
        {"half_float", ES_DOUBLE}, {"scaled_float", ES_DOUBLE}, {"boolean", ES_BOOLEAN}, {"date", ES_DATE},
        {"date_nanos", ES_DATE}, {"dense_vector", ES_VECTOR}, {"object", ES_OBJECT},
        {"semantic_text", ES_SEMANTIC}};
    for (size_t i = 0; i < sizeof tb / sizeof tb[0]; i++)
        if (!strcmp(tb[i].n, t)) return *out = tb[i].t, 1;
    return 0;
}

int es__add_field(es_index *x, const char *name, const char *path, es_ftype t) {
    es_field *f = realloc(x->fields, (size_t)(x->n_fields + 1) * sizeof *f);
    if (!f) return -1;
    x->fields = f;
    f = &x->fields[x->n_fields++];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->path = strdup(path);
    f->type = t;
    snprintf(f->analyzer, sizeof f->analyzer, "%s", x->analyzer);
    /* Elasticsearch 8.14+'s default for dense_vector: int8_hnsw, m 16, ef_construction 100 */
    f->itype = SS_INDEX_HNSW;
    f->quant = SS_QUANT_INT8;
    f->m = 16;
    f->ef_construction = 100;
    return 0;
}

/* Register the fields of a "properties" object (recursively); 400 text in why. */
int es__parse_props(es_index *x, const cJSON *props, const char *prefix, char *why, size_t cap) {
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", p->string);
        if (!cJSON_IsObject(p)) return snprintf(why, cap, "Expected map for property [fields] on field [%s] but got a class java.lang.String", name), -1;
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(p, "properties");
        es_ftype t = ES_OBJECT;
        if (ty && (!cJSON_IsString(ty) || !type_of(ty->valuestring, &t)))
            return snprintf(why, cap, "No handler for type [%s] declared on field [%s]",
                            cJSON_IsString(ty) ? ty->valuestring : "?", name), -1;
        if (t == ES_OBJECT) {
            if (sub && es__parse_props(x, sub, name, why, cap) != 0) return -1;
            continue;
        }
        if (es_field_get(x, name)) continue; /* PUT _mapping re-stating a field */
        if (es__add_field(x, name, name, t) != 0) return snprintf(why, cap, "out of memory"), -1;
        es_field *f = &x->fields[x->n_fields - 1];
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(p, "analyzer");
        if (an) {
            if (!cJSON_IsString(an) || (strcmp(an->valuestring, "standard") && strcmp(an->valuestring, "english")))
                return snprintf(why, cap, "analyzer [%s] has not been configured in mappings",
                                cJSON_IsString(an) ? an->valuestring : "?"), -1;
            snprintf(f->analyzer, sizeof f->analyzer, "%s", an->valuestring);
        }
        if (t == ES_VECTOR) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "dims");
            if (d && (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 4096))
                return snprintf(why, cap, "The number of dimensions should be in the range [1, 4096] but was [%g]",
                                cJSON_IsNumber(d) ? d->valuedouble : 0), -1;
            f->dims = d ? (int)d->valuedouble : 0;
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "similarity");
            const char *sv = cJSON_IsString(s) ? s->valuestring : "cosine";
            if (!strcmp(sv, "cosine")) f->sim = ES_SIM_COSINE;
            else if (!strcmp(sv, "dot_product")) f->sim = ES_SIM_DOT;
            else if (!strcmp(sv, "l2_norm")) f->sim = ES_SIM_L2;
            else if (!strcmp(sv, "max_inner_product")) f->sim = ES_SIM_MIP;
            else return snprintf(why, cap, "Unknown vector similarity metric provided [%s]", sv), -1;
            const cJSON *io = cJSON_GetObjectItemCaseSensitive(p, "index_options");
            if (io) {
                const cJSON *it = cJSON_GetObjectItemCaseSensitive(io, "type");
                const char *tv = cJSON_IsString(it) ? it->valuestring : "";
                if (strcmp(tv, "hnsw") && strcmp(tv, "int8_hnsw") && strcmp(tv, "flat") && strcmp(tv, "int8_flat") &&
                    strcmp(tv, "int4_hnsw") && strcmp(tv, "int4_flat") && strcmp(tv, "bbq_hnsw") && strcmp(tv, "bbq_flat"))
                    return snprintf(why, cap, "Unknown vector index options type [%s] for field [%s]", tv, name), -1;
                const char *ints[] = {"m", "ef_construction"};
                int *dst[] = {&f->m, &f->ef_construction};
                for (int k = 0; k < 2; k++) {
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(io, ints[k]);
                    if (v && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (k ? 3200 : 512)))
                        return snprintf(why, cap, "[%s] must be a positive integer on field [%s]", ints[k], name), -1;
                    if (v) *dst[k] = (int)v->valuedouble;
                }
                /* the index the field gets: hnsw / flat; int8 and int4 -> int8 codes, bbq -> 1-bit codes,
                 * each rescored with the fp32 vectors (ss_index keep_fp32) */
                f->itype = strstr(tv, "hnsw") ? SS_INDEX_HNSW : SS_INDEX_FLAT;
                f->quant = !strncmp(tv, "int", 3) ? SS_QUANT_INT8 : !strncmp(tv, "bbq", 3) ? SS_QUANT_BINARY : SS_QUANT_NONE;
            }
        }
        if (t == ES_SEMANTIC) { /* dims once the model has embedded a first value */
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "model_settings"), "dimensions");
            if (cJSON_IsNumber(d)) f->dims = (int)d->valuedouble;
        }
        const cJSON *mf = cJSON_GetObjectItemCaseSensitive(p, "fields"), *q;
        cJSON_ArrayForEach(q, mf) { /* multi-fields: title.keyword reads title */
            const cJSON *qt = cJSON_GetObjectItemCaseSensitive(q, "type");
            es_ftype st;
            char sn[600];
            snprintf(sn, sizeof sn, "%s.%s", name, q->string);
            if (!cJSON_IsString(qt) || !type_of(qt->valuestring, &st))
                return snprintf(why, cap, "No handler for type [%s] declared on field [%s]",
                                cJSON_IsString(qt) ? qt->valuestring : "?", sn), -1;
            if (!es_field_get(x, sn) && es__add_field(x, sn, name, st) != 0) return snprintf(why, cap, "out of memory"), -1;
        }
    }
    return 0;
}

static const char *tname(es_ftype t) {
    static const char *n[] = {"text", "keyword", "long", "float", "boolean", "date", "dense_vector", "object", "semantic_text"};
    return n[t];
}

/* Check one mapped value; 0 ok, else why filled. */
int es__check_value(es_index *x, es_field *f, const cJSON *v, const char *id, char *why, size_t cap) {
    if (cJSON_IsNull(v)) return 0;
    if (f->type == ES_VECTOR) {
        if (!cJSON_IsArray(v))
            return snprintf(why, cap, "failed to parse: Failed to parse object: expecting token of type [START_ARRAY] for field [%s] in document with id '%s'", f->name, id), -1;
        int n = cJSON_GetArraySize(v), k = 0;
        double norm = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            if (!cJSON_IsNumber(e))
                return snprintf(why, cap, "failed to parse field [%s] of type [dense_vector] in document with id '%s'", f->name, id), -1;
            norm += e->valuedouble * e->valuedouble;
            k++;
        }
        if (f->dims == 0) { /* the first document fixes dims, as Elasticsearch does */
            f->dims = n;
            cJSON *m = cJSON_GetObjectItemCaseSensitive(x->mappings, "properties");
            cJSON *fm = m ? cJSON_GetObjectItemCaseSensitive(m, f->name) : NULL;
            if (fm && !cJSON_GetObjectItemCaseSensitive(fm, "dims")) cJSON_AddNumberToObject(fm, "dims", n);
            x->mapping_dirty = 1;
        }
        if (n != f->dims)
            return snprintf(why, cap, "failed to parse: The [dense_vector] field [%s] in doc [document with id '%s'] has a different number of dimensions [%d] than defined in the mapping [%d]", f->name, id, n, f->dims), -1;
        if (f->sim == ES_SIM_COSINE && norm == 0)
            return snprintf(why, cap, "failed to parse: The [cosine] similarity does not support vectors with zero magnitude. Preview of invalid vector: [%g, ...]", 0.0), -1;
        (void)k;
        if (f->sim == ES_SIM_DOT && fabs(sqrt(norm) - 1) > 1e-4)
            return snprintf(why, cap, "failed to parse: The [dot_product] similarity can only be used with unit-length vectors. Preview of invalid vector: field [%s] in document with id '%s' has magnitude %g", f->name, id, sqrt(norm)), -1;
        return 0;
    }
    if (cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) if (es__check_value(x, f, e, id, why, cap) != 0) return -1;
        return 0;
    }
    int ok = 1;
    char *end;
    switch (f->type) {
    case ES_LONG:
    case ES_DOUBLE:
        if (cJSON_IsString(v)) {
            double dv = strtod(v->valuestring, &end);
            ok = end != v->valuestring && !*end && (f->type == ES_DOUBLE || dv == (double)(long long)dv);
        } else
            ok = cJSON_IsNumber(v) || (f->type == ES_LONG && 0);
        break;
    case ES_BOOLEAN:
        ok = cJSON_IsBool(v) || (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") || !strcmp(v->valuestring, "false") || !*v->valuestring));
        break;
    case ES_DATE: ok = cJSON_IsString(v) || cJSON_IsNumber(v); break;
    case ES_TEXT:
    case ES_KEYWORD: ok = !cJSON_IsObject(v); break;
    case ES_SEMANTIC: ok = cJSON_IsString(v); break;
    default: break;
    }
    if (!ok) {
        char *pv = cJSON_PrintUnformatted(v);
        snprintf(why, cap, "failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%.80s'",
                 f->name, tname(f->type), id, pv ? pv : "");
        free(pv);
        return -1;
    }
    return 0;
}

/* Field names a document may use (checked before dynamic mapping, which
 * would otherwise define a field the store refuses and answer 500): not
 * empty, not only dots, and a full dotted path that fits the mapping's
 * 511-byte names. Elasticsearch answers these with a 400 too ("field name
 * cannot be an empty string"). 0 ok, -1 with why. */
int es__check_names(const cJSON *obj, size_t prefix_len, char *why, size_t cap) {
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        const char *k = v->string ? v->string : "";
        size_t n = strlen(k), dots = strspn(k, ".");
        if (n == 0 || dots == n)
            return snprintf(why, cap, "[1:2] failed to parse: field name cannot be an empty string"), -1;
        if (prefix_len + 1 + n > 511)
            return snprintf(why, cap, "[1:2] failed to parse: field name [%.60s...] is longer than 511 bytes", k), -1;
        const cJSON *s = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
        if (cJSON_IsObject(s) && es__check_names(s, prefix_len + 1 + n, why, cap) != 0) return -1;
    }
    return 0;
}

/* Dynamic mapping of fields never seen before (Elasticsearch's defaults:
 * string -> text + keyword multi-field, integer -> long, real -> float). */
void es__dynamic_map(es_index *x, cJSON *props, const cJSON *obj, const char *prefix) {
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", v->string);
        const cJSON *s = v;
        if (cJSON_IsArray(v)) s = cJSON_GetArrayItem(v, 0);
        if (!s || cJSON_IsNull(s)) continue;
        cJSON *have = cJSON_GetObjectItemCaseSensitive(props, v->string);
        if (cJSON_IsObject(s)) {
            if (!have) {
                have = cJSON_AddObjectToObject(props, v->string);
                cJSON_AddObjectToObject(have, "properties");
                x->mapping_dirty = 1;
            }
            cJSON *sub = cJSON_GetObjectItemCaseSensitive(have, "properties");
            if (sub) es__dynamic_map(x, sub, s, name);
            continue;
        }
        if (have || es_field_get(x, name)) continue;
        cJSON *fm = cJSON_AddObjectToObject(props, v->string);
        x->mapping_dirty = 1;
        if (cJSON_IsString(s)) {
            cJSON_AddStringToObject(fm, "type", "text");
            cJSON *kw = cJSON_AddObjectToObject(cJSON_AddObjectToObject(fm, "fields"), "keyword");
            cJSON_AddStringToObject(kw, "type", "keyword");
            cJSON_AddNumberToObject(kw, "ignore_above", 256);
            es__add_field(x, name, name, ES_TEXT);
            char kn[600];
            snprintf(kn, sizeof kn, "%s.keyword", name);
            es__add_field(x, kn, name, ES_KEYWORD);
        } else if (cJSON_IsBool(s)) {
            cJSON_AddStringToObject(fm, "type", "boolean");
            es__add_field(x, name, name, ES_BOOLEAN);
        } else if (cJSON_IsNumber(s)) {
            int integral = s->valuedouble == (double)(long long)s->valuedouble;
            cJSON_AddStringToObject(fm, "type", integral ? "long" : "float");
            es__add_field(x, name, name, integral ? ES_LONG : ES_DOUBLE);
        }
    }
}

