/* hub_cache.c — the model cache: pull manifests (.semsearch-pull.json), and
 * what `semsearch models` shows about each cached folder (dims, pooling,
 * max_seq_length, size), read from the sentence-transformers JSON files. */
#include "hub/hub_internal.h"
#include "core/error.h"
#include "core/fileio.h"
#include "model/config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char *dup_str(const char *s) {
    size_t n = strlen(s ? s : "");
    char *d = malloc(n + 1);
    if (d) memcpy(d, s ? s : "", n + 1);
    return d;
}

/* ---------------------------------------------------------------- manifest */

void hub_manifest_free(hub_manifest *m) {
    if (!m) return;
    free(m->repo);
    free(m->revision);
    free(m->commit);
    for (int i = 0; i < m->n_files; i++) free(m->files[i].name);
    free(m->files);
    memset(m, 0, sizeof *m);
}

ss_status hub_manifest_read(const char *dir, hub_manifest *m, ss_error *err) {
    memset(m, 0, sizeof *m);
    char path[HUB_PATH_MAX];
    ss_path_join(path, sizeof path, dir, HUB_MANIFEST);
    if (!ss_path_exists(path)) return ss_fail(err, SS_ERR_NOT_FOUND, "%s does not exist", path);
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_FORMAT;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(files) || !ss_json_str(j, "repo", NULL)) {
        cJSON_Delete(j);
        return ss_fail(err, SS_ERR_FORMAT, "%s: not a semsearch pull manifest", path);
    }
    m->repo = dup_str(ss_json_str(j, "repo", ""));
    m->revision = dup_str(ss_json_str(j, "revision", "main"));
    m->commit = dup_str(ss_json_str(j, "commit", ""));
    int n = cJSON_GetArraySize(files);
    m->files = calloc((size_t)(n > 0 ? n : 1), sizeof *m->files);
    if (!m->repo || !m->revision || !m->commit || !m->files) {
        cJSON_Delete(j);
        hub_manifest_free(m);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const char *name = ss_json_str(f, "name", NULL);
        if (!name || !hub_safe_relpath(name)) {
            cJSON_Delete(j);
            hub_manifest_free(m);
            return ss_fail(err, SS_ERR_FORMAT, "%s: a file entry has no valid name", path);
        }
        hub_file *hf = &m->files[m->n_files++];
        hf->name = dup_str(name);
        if (!hf->name) {
            cJSON_Delete(j);
            hub_manifest_free(m);
            return ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
        }
        hf->size = (int64_t)ss_json_num(f, "size", -1);
        const char *sha = ss_json_str(f, "sha256", "");
        if (hub_is_sha256(sha)) memcpy(hf->sha256, sha, 65);
        const char *blob = ss_json_str(f, "blob_id", "");
        if (strlen(blob) < sizeof hf->blob_id) strcpy(hf->blob_id, blob);
    }
    cJSON_Delete(j);
    return SS_OK;
}

ss_status hub_manifest_write(const char *dir, const hub_manifest *m, const char *endpoint,
                             ss_error *err) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddNumberToObject(j, "format", 1);
    cJSON_AddStringToObject(j, "repo", m->repo);
    cJSON_AddStringToObject(j, "revision", m->revision);
    cJSON_AddStringToObject(j, "commit", m->commit ? m->commit : "");
    cJSON_AddStringToObject(j, "endpoint", endpoint);
    cJSON_AddStringToObject(j, "pulled_at", when);
    cJSON *files = cJSON_AddArrayToObject(j, "files");
    for (int i = 0; files && i < m->n_files; i++) {
        const hub_file *f = &m->files[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddStringToObject(o, "name", f->name);
        cJSON_AddNumberToObject(o, "size", (double)f->size);
        if (f->sha256[0]) cJSON_AddStringToObject(o, "sha256", f->sha256);
        if (f->blob_id[0]) cJSON_AddStringToObject(o, "blob_id", f->blob_id);
        cJSON_AddItemToArray(files, o);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return ss_fail(err, SS_ERR_NOMEM, "out of memory writing the manifest");
    char path[HUB_PATH_MAX];
    ss_path_join(path, sizeof path, dir, HUB_MANIFEST);
    ss_status st = hub_write_atomic(path, text, err);
    free(text);
    return st;
}

const hub_file *hub_manifest_find(const hub_manifest *m, const char *name) {
    for (int i = 0; m && i < m->n_files; i++)
        if (!strcmp(m->files[i].name, name)) return &m->files[i];
    return NULL;
}

int hub_manifest_complete(const char *dir, const hub_manifest *m, char *missing, size_t cap) {
    for (int i = 0; i < m->n_files; i++) {
        char path[HUB_PATH_MAX];
        ss_path_join(path, sizeof path, dir, m->files[i].name);
        int64_t sz = hub_file_size(path);
        if (sz < 0 || (m->files[i].size >= 0 && sz != m->files[i].size)) {
            if (missing) snprintf(missing, cap, "%s", m->files[i].name);
            return 0;
        }
    }
    if (m->n_files == 0) {
        if (missing) snprintf(missing, cap, "(the manifest lists no files)");
        return 0;
    }
    return 1;
}

/* -------------------------------------------------------------- model info */

void ss_hub_model_clear(ss_hub_model *m) {
    if (!m) return;
    free(m->name);
    free(m->revision);
    free(m->commit);
    free(m->path);
    free(m->pooling);
    memset(m, 0, sizeof *m);
}

void ss_hub_list_free(ss_hub_model *models, int n) {
    if (!models) return;
    for (int i = 0; i < n; i++) ss_hub_model_clear(&models[i]);
    free(models);
}

static uint64_t folder_bytes(const char *dir, int depth) {
    if (depth > 8) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[HUB_PATH_MAX];
        ss_path_join(path, sizeof path, dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            total += folder_bytes(path, depth + 1);
        else if (S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
        else if (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size; /* huggingface_hub-style snapshot links */
    }
    closedir(d);
    return total;
}

/* "ORG--NAME@REV" -> name "ORG/NAME", revision REV ('--' back to '/'). */
static void names_from_folder(const char *dir, char **name, char **revision) {
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", base);
    char *at = strchr(buf, '@');
    const char *rev = "main";
    if (at) {
        *at = '\0';
        rev = at + 1;
    }
    char out[1024], rout[1024];
    size_t k = 0;
    int replaced = 0;
    for (const char *p = buf; *p && k + 1 < sizeof out; p++) {
        if (!replaced && p[0] == '-' && p[1] == '-') {
            out[k++] = '/';
            p++;
            replaced = 1;
        } else {
            out[k++] = *p;
        }
    }
    out[k] = '\0';
    k = 0;
    for (const char *p = rev; *p && k + 1 < sizeof rout; p++) {
        if (p[0] == '-' && p[1] == '-') {
            rout[k++] = '/';
            p++;
        } else {
            rout[k++] = *p;
        }
    }
    rout[k] = '\0';
    *name = dup_str(out);
    *revision = dup_str(rout);
}

ss_status ss_hub_model_info(const char *dir, ss_hub_model *m, ss_error *err) {
    memset(m, 0, sizeof *m);
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ss_fail(err, SS_ERR_NOT_FOUND, "model folder %s does not exist", dir ? dir : "(null)");

    hub_manifest man;
    if (hub_manifest_read(dir, &man, NULL) == SS_OK) {
        m->name = dup_str(man.repo);
        m->revision = dup_str(man.revision);
        m->commit = dup_str(man.commit);
        m->complete = hub_manifest_complete(dir, &man, NULL, 0);
        hub_manifest_free(&man);
    } else {
        names_from_folder(dir, &m->name, &m->revision);
        m->commit = dup_str("");
    }
    m->path = dup_str(dir);

    /* The model loader's own parser (src/model/config.c), so that what
     * `models` reports is what `embed` will load: a folder it cannot parse
     * shows as unknown (dim 0, pooling ""). */
    ss_tf_config tf;
    ss_st_config stc;
    char pooling[128] = "";
    if (ss_tf_config_parse(&tf, dir, NULL) == SS_OK && ss_st_config_load(&stc, dir, &tf, NULL) == SS_OK) {
        ss_pooling_name(&stc.pooling, pooling, sizeof pooling);
        m->dim = ss_st_output_dim(&stc, &tf);
        m->normalize = stc.normalize;
        m->max_seq_length = stc.max_seq_length;
        ss_st_config_free(&stc);
    }
    m->pooling = dup_str(pooling);
    m->size_bytes = folder_bytes(dir, 0);
    if (!m->name || !m->revision || !m->commit || !m->path || !m->pooling) {
        ss_hub_model_clear(m);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", dir);
    }
    return SS_OK;
}

static int cmp_models(const void *a, const void *b) {
    const ss_hub_model *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    /* main first, then the others by name */
    int xm = !strcmp(x->revision, "main"), ym = !strcmp(y->revision, "main");
    if (xm != ym) return ym - xm;
    return strcmp(x->revision, y->revision);
}

int ss_hub_list(const ss_hub_options *opts, ss_hub_model **out, ss_error *err) {
    *out = NULL;
    hub_config cfg;
    if (hub_config_resolve(opts, &cfg, err)) return -1;
    DIR *d = opendir(cfg.cache);
    if (!d) {
        if (errno == ENOENT) return 0;
        ss_fail(err, SS_ERR_IO, "cannot read the model cache %s: %s", cfg.cache, strerror(errno));
        return -1;
    }
    ss_hub_model *list = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[HUB_PATH_MAX];
        ss_path_join(path, sizeof path, cfg.cache, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (n == cap) {
            int nc = cap ? cap * 2 : 8;
            ss_hub_model *nl = realloc(list, (size_t)nc * sizeof *nl);
            if (!nl) {
                closedir(d);
                ss_hub_list_free(list, n);
                ss_fail(err, SS_ERR_NOMEM, "out of memory listing %s", cfg.cache);
                return -1;
            }
            list = nl;
            cap = nc;
        }
        if (ss_hub_model_info(path, &list[n], err) != SS_OK) {
            if (err && err->code == SS_ERR_NOMEM) {
                closedir(d);
                ss_hub_list_free(list, n);
                return -1;
            }
            continue; /* vanished meanwhile */
        }
        n++;
    }
    closedir(d);
    if (err) ss_error_clear(err);
    if (n == 0) {
        free(list);
        return 0;
    }
    qsort(list, (size_t)n, sizeof *list, cmp_models);
    *out = list;
    return n;
}
