/* fileio.c — whole-file reads, read-only mmaps, and JSON files. */
#include "core/fileio.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

char *ss_read_file(const char *path, size_t *len, ss_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ss_fail(err, errno == ENOENT ? SS_ERR_NOT_FOUND : SS_ERR_IO, "cannot open %s: %s", path,
                strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        ss_fail(err, SS_ERR_INVALID, "%s is a directory, expected a file", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
        return NULL;
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            fclose(f);
            ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
            return NULL;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        ss_fail(err, SS_ERR_IO, "read error on %s", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Deepest bracket nesting of JSON text, outside strings: cJSON refuses more
 * than CJSON_NESTING_LIMIT levels and reports only "parse error", so callers
 * say why. */
static size_t json_depth(const char *text, size_t len) {
    size_t depth = 0, most = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > most) most = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return most;
}

size_t ss_json_depth(const char *text, size_t len) {
    return json_depth(text, len);
}

cJSON *ss_read_json(const char *path, ss_error *err) {
    size_t len;
    char *text = ss_read_file(path, &len, err);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        size_t off = end ? (size_t)(end - text) : 0;
        const char *at = text + (off < len ? off : len);
        size_t depth = json_depth(text, len);
        if (depth > CJSON_NESTING_LIMIT)
            ss_fail(err, SS_ERR_FORMAT, "%s: JSON nesting too deep (%zu levels; the limit is %d)", path, depth,
                    CJSON_NESTING_LIMIT);
        else if (!strncmp(at, "NaN", 3) || !strncmp(at, "Infinity", 8) || !strncmp(at, "-Infinity", 9))
            ss_fail(err, SS_ERR_FORMAT, "%s: invalid JSON near byte %zu (%s: NaN and Infinity are not JSON numbers)",
                    path, off, at[0] == 'N' ? "NaN" : at[0] == 'I' ? "Infinity" : "-Infinity");
        else
            ss_fail(err, SS_ERR_FORMAT, "%s: invalid JSON near byte %zu", path, off);
    }
    free(text);
    return j;
}

int ss_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *ss_path_join(char *buf, size_t cap, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    if (dl > 0 && dir[dl - 1] == '/')
        snprintf(buf, cap, "%s%s", dir, name);
    else
        snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

ss_status ss_mmap_open(ss_mmap *map, const char *path, ss_error *err) {
    map->data = NULL;
    map->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ss_fail(err, errno == ENOENT ? SS_ERR_NOT_FOUND : SS_ERR_IO, "cannot open %s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ss_fail(err, SS_ERR_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ss_fail(err, SS_ERR_INVALID, "%s is a directory, expected a file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return ss_fail(err, SS_ERR_FORMAT, "%s is empty", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return ss_fail(err, SS_ERR_IO, "cannot mmap %s: %s", path, strerror(e));
    map->data = p;
    map->size = (size_t)st.st_size;
    return SS_OK;
}

void ss_mmap_close(ss_mmap *map) {
    if (map->data) munmap(map->data, map->size);
    map->data = NULL;
    map->size = 0;
}

int ss_json_bool(const cJSON *obj, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

double ss_json_num(const cJSON *obj, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    return dflt;
}

const char *ss_json_str(const cJSON *obj, const char *key, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(v)) return v->valuestring;
    return dflt;
}
