/* hub_pull.c — `semsearch pull`: list a hub repo's files through the API,
 * download what a sentence-transformers model needs into the cache folder,
 * resuming FILE.incomplete downloads, verifying size and sha256, renaming each
 * file into place only when verified, and writing the manifest last. */
#include "hub/hub_internal.h"
#include "core/error.h"
#include "core/fileio.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define API_MAX_BYTES (64u << 20)

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------ HTTP errors */

static const char *offline_hint(void) {
    return "check the network and HF_ENDPOINT, or use --offline / HF_HUB_OFFLINE=1 with a "
           "cached model";
}

/* Explain a failed request: network error, 401/403, 404, other statuses. */
static ss_status http_failure(ss_error *err, const hub_config *cfg, const hub_response *r,
                              const char *repo, const char *file, const char *url) {
    if (r->curl_code)
        return ss_fail(err, SS_ERR_IO, "network error fetching %s: %s (%s)", url, r->curl_error,
                       offline_hint());
    const char *code = r->error_code;
    const char *detail = r->error_message[0] ? r->error_message : "";
    if (!strcmp(code, "RepoNotFound") || (r->status == 404 && !file && !code[0]))
        return ss_fail(err, SS_ERR_NOT_FOUND,
                       "repository '%s' not found on %s (HTTP %ld, %s): check the name (ORG/NAME)"
                       "%s",
                       repo, cfg->endpoint, r->status, url,
                       cfg->token[0] ? "; the token in HF_TOKEN may also lack access to it"
                                     : "; a private repository needs HF_TOKEN");
    if (!strcmp(code, "RevisionNotFound"))
        return ss_fail(err, SS_ERR_NOT_FOUND, "revision '%s' not found in repository '%s' (HTTP %ld, %s)",
                       cfg->revision, repo, r->status, url);
    if (r->status == 401 || r->status == 403 || !strcmp(code, "GatedRepo")) {
        if (cfg->token[0])
            return ss_fail(err, SS_ERR_IO,
                           "access to '%s' denied (HTTP %ld%s%s, %s): the token in HF_TOKEN was "
                           "refused or has no access — the repository is gated or private; "
                           "accept its terms on its hub page with the token's account",
                           repo, r->status, detail[0] ? ": " : "", detail, url);
        return ss_fail(err, SS_ERR_IO,
                       "access to '%s' denied (HTTP %ld%s%s, %s): the repository is gated or "
                       "private — set HF_TOKEN to a Hugging Face access token that has access",
                       repo, r->status, detail[0] ? ": " : "", detail, url);
    }
    if (r->status == 404 || !strcmp(code, "EntryNotFound"))
        return ss_fail(err, SS_ERR_NOT_FOUND, "file '%s' not found in '%s' at revision '%s' (HTTP %ld, %s)",
                       file ? file : "?", repo, cfg->revision, r->status, url);
    char body[200];
    snprintf(body, sizeof body, "%.199s", detail[0] ? detail : r->body_error);
    for (char *p = body; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return ss_fail(err, SS_ERR_IO, "HTTP %ld from %s%s%s", r->status, url, body[0] ? ": " : "", body);
}

static int retryable(const hub_response *r) {
    switch (r->curl_code) {
    case CURLE_OK: return r->status >= 500 && r->status <= 599;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_COULDNT_CONNECT: return 1;
    default: return 0;
    }
}

/* ------------------------------------------------------------ the listing */

typedef struct listing {
    hub_file *files;
    int n;
    char *commit;
} listing;

static void listing_free(listing *l) {
    for (int i = 0; i < l->n; i++) free(l->files[i].name);
    free(l->files);
    free(l->commit);
    memset(l, 0, sizeof *l);
}

static ss_status fetch_listing(hub_http *h, const hub_config *cfg, const char *repo, listing *out,
                               ss_error *err) {
    memset(out, 0, sizeof *out);
    char *rev = hub_url_escape(cfg->revision, 0);
    if (!rev) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    size_t ulen = strlen(cfg->endpoint) + strlen(repo) + strlen(rev) + 64;
    char *url = malloc(ulen);
    if (!url) {
        free(rev);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    }
    snprintf(url, ulen, "%s/api/models/%s/revision/%s?blobs=true", cfg->endpoint, repo, rev);
    free(rev);

    hub_response r;
    char *body = NULL;
    size_t len = 0;
    ss_status st = hub_http_get_mem(h, url, API_MAX_BYTES, &body, &len, &r, err);
    if (st) goto done;
    if (r.curl_code || r.status != 200) {
        st = http_failure(err, cfg, &r, repo, NULL, url);
        goto done;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *sib = j ? cJSON_GetObjectItemCaseSensitive(j, "siblings") : NULL;
    if (!cJSON_IsArray(sib)) {
        cJSON_Delete(j);
        st = ss_fail(err, SS_ERR_FORMAT, "%s: the hub's answer is not a model listing (no siblings[])",
                     url);
        goto done;
    }
    int n = cJSON_GetArraySize(sib);
    out->files = calloc((size_t)(n > 0 ? n : 1), sizeof *out->files);
    out->commit = dup_str(ss_json_str(j, "sha", ""));
    if (!out->files || !out->commit) {
        cJSON_Delete(j);
        st = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        goto done;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, sib) {
        const char *name = ss_json_str(s, "rfilename", NULL);
        if (!name || !hub_safe_relpath(name)) continue;
        hub_file *f = &out->files[out->n];
        f->name = dup_str(name);
        if (!f->name) {
            cJSON_Delete(j);
            st = ss_fail(err, SS_ERR_NOMEM, "out of memory");
            goto done;
        }
        out->n++;
        f->size = (int64_t)ss_json_num(s, "size", -1);
        const char *blob = ss_json_str(s, "blobId", "");
        if (strlen(blob) < sizeof f->blob_id) strcpy(f->blob_id, blob);
        const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(s, "lfs");
        if (cJSON_IsObject(lfs)) {
            const char *sha = ss_json_str(lfs, "sha256", "");
            if (hub_is_sha256(sha))
                for (int i = 0; i < 65; i++) f->sha256[i] = (char)(sha[i] >= 'A' && sha[i] <= 'F' ? sha[i] + 32 : sha[i]);
            if (f->size < 0) f->size = (int64_t)ss_json_num(lfs, "size", -1);
        }
    }
    cJSON_Delete(j);
done:
    if (st) listing_free(out);
    free(body);
    free(url);
    return st;
}

/* Keep the files the model needs; check it looks like a model. */
static ss_status select_files(listing *l, const char *repo, const hub_config *cfg, ss_error *err) {
    const char **names = malloc(sizeof *names * (size_t)(l->n > 0 ? l->n : 1));
    if (!names) return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < l->n; i++) names[i] = l->files[i].name;
    char *keep = malloc((size_t)(l->n > 0 ? l->n : 1));
    if (!keep) {
        free(names);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < l->n; i++) keep[i] = (char)hub_want_file(l->files[i].name, names, l->n);
    int k = 0, has_config = 0, has_weights = 0;
    for (int i = 0; i < l->n; i++) {
        if (keep[i]) {
            const char *nm = l->files[i].name;
            if (!strcmp(nm, "config.json")) has_config = 1;
            if (!strchr(nm, '/') && (strstr(nm, ".safetensors") || !strncmp(nm, "pytorch_model", 13)))
                has_weights = 1;
            l->files[k++] = l->files[i];
        } else {
            free(l->files[i].name);
        }
    }
    free(names);
    free(keep);
    l->n = k;
    if (!has_config)
        return ss_fail(err, SS_ERR_NOT_FOUND,
                       "repository '%s' (revision '%s') has no config.json: not a transformers / "
                       "sentence-transformers model",
                       repo, cfg->revision);
    if (!has_weights)
        return ss_fail(err, SS_ERR_NOT_FOUND,
                       "repository '%s' (revision '%s') has no model.safetensors (nor "
                       "pytorch_model.bin): no weights semsearch can use",
                       repo, cfg->revision);
    return SS_OK;
}

/* ------------------------------------------------------------ downloading */

/* Is the final file already there and the same as the hub's? */
static int up_to_date(const char *path, hub_file *f, const hub_manifest *old) {
    int64_t sz = hub_file_size(path);
    if (sz < 0) return 0;
    if (f->size >= 0 && sz != f->size) return 0;
    const hub_file *o = hub_manifest_find(old, f->name);
    if (o && o->size == sz && (!f->sha256[0] || !strcmp(o->sha256, f->sha256)) &&
        (!f->blob_id[0] || !o->blob_id[0] || !strcmp(o->blob_id, f->blob_id)) &&
        (f->sha256[0] || f->blob_id[0] || f->size >= 0)) {
        if (!f->sha256[0]) memcpy(f->sha256, o->sha256, sizeof f->sha256);
        if (f->size < 0) f->size = sz;
        return 1;
    }
    if (f->sha256[0]) {
        char hex[65];
        if (hub_sha256_file(path, hex, NULL) == SS_OK && !strcmp(hex, f->sha256)) return 1;
    }
    return 0;
}

static ss_status fsync_path(const char *path, ss_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ss_fail(err, SS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return ss_fail(err, SS_ERR_IO, "cannot sync %s: %s", path, strerror(e));
    return SS_OK;
}

static ss_status download_file(hub_http *h, const hub_config *cfg, const char *repo,
                               const char *dir, hub_file *f, ss_error *err) {
    char final[HUB_PATH_MAX], part[HUB_PATH_MAX + 16];
    ss_path_join(final, sizeof final, dir, f->name);
    snprintf(part, sizeof part, "%s%s", final, HUB_PART_SUFFIX);
    ss_status st = hub_mkdirs_parent(final, err);
    if (st) return st;

    char *rev = hub_url_escape(cfg->revision, 0), *name = hub_url_escape(f->name, 1);
    size_t ulen = strlen(cfg->endpoint) + strlen(repo) + (rev ? strlen(rev) : 0) +
                  (name ? strlen(name) : 0) + 32;
    char *url = malloc(ulen);
    if (!rev || !name || !url) {
        free(rev), free(name), free(url);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    }
    snprintf(url, ulen, "%s/%s/resolve/%s/%s", cfg->endpoint, repo, rev, name);
    free(rev);
    free(name);

    int attempt = 0, restarted = 0;
    for (;;) {
        FILE *fp = fopen(part, "ab");
        if (!fp) {
            st = ss_fail(err, SS_ERR_IO, "cannot write %s: %s", part, strerror(errno));
            break;
        }
        int64_t offset = hub_file_size(part);
        if (offset < 0) offset = 0;
        if (f->size >= 0 && offset > f->size) {
            /* longer than the file can be: start over */
            if (ftruncate(fileno(fp), 0) != 0) {
                fclose(fp);
                st = ss_fail(err, SS_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                break;
            }
            offset = 0;
        }
        int resumed = offset > 0;
        hub_response r;
        memset(&r, 0, sizeof r);
        r.linked_size = r.content_length = r.range_start = r.range_total = -1;
        if (!(f->size >= 0 && offset == f->size && offset > 0)) {
            st = hub_http_get_file(h, url, fp, &offset, f->name, f->size, &r, err);
        } else {
            r.status = 206; /* every byte is already there: just verify */
        }
        if (fclose(fp) != 0 && !st)
            st = ss_fail(err, SS_ERR_IO, "cannot write %s: %s", part, strerror(errno));
        if (st) break;

        if (r.curl_code || (r.status >= 500 && r.status <= 599)) {
            if (attempt < cfg->retries && retryable(&r)) {
                attempt++;
                long ms = 500L << (attempt - 1);
                sleep_ms(ms > 8000 ? 8000 : ms);
                continue; /* resumes from what arrived */
            }
            st = http_failure(err, cfg, &r, repo, f->name, url);
            if (hub_file_size(part) > 0)
                ss_error_prefix(err, "%s (partial download kept in %s; pull again to resume)",
                                f->name, part);
            break;
        }
        if (r.status == 416 && resumed && !restarted) {
            /* the partial file does not fit the server's: start over */
            restarted = 1;
            if (truncate(part, 0) != 0) {
                st = ss_fail(err, SS_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                break;
            }
            continue;
        }
        if (r.status < 200 || r.status > 299) {
            st = http_failure(err, cfg, &r, repo, f->name, url);
            break;
        }

        /* size */
        int64_t expected = f->size;
        if (expected < 0) expected = r.linked_size;
        if (expected < 0) expected = r.range_total;
        if (expected < 0 && r.status == 200) expected = r.content_length;
        int64_t got = hub_file_size(part);
        if (expected >= 0 && got != expected) {
            if (got < expected && attempt < cfg->retries) {
                attempt++;
                continue;
            }
            unlink(part);
            st = ss_fail(err, SS_ERR_FORMAT,
                         "size mismatch for %s from %s: expected %" PRId64 " bytes, got %" PRId64
                         "; the download was discarded",
                         f->name, url, expected, got);
            break;
        }

        /* sha256: the API's lfs.sha256, else X-Linked-Etag, else a sha256-shaped ETag */
        char want[65] = "";
        if (f->sha256[0])
            memcpy(want, f->sha256, sizeof want);
        else if (hub_is_sha256(r.linked_etag))
            memcpy(want, r.linked_etag, sizeof want);
        else if (hub_is_sha256(r.etag))
            memcpy(want, r.etag, sizeof want);
        for (char *p = want; *p; p++)
            if (*p >= 'A' && *p <= 'F') *p = (char)(*p + 32);
        char have[65];
        st = hub_sha256_file(part, have, err);
        if (st) break;
        if (want[0] && strcmp(want, have)) {
            if (resumed && !restarted) {
                /* the old partial data may be what is wrong: once more from zero */
                restarted = 1;
                if (truncate(part, 0) != 0) {
                    st = ss_fail(err, SS_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                    break;
                }
                continue;
            }
            unlink(part);
            st = ss_fail(err, SS_ERR_FORMAT,
                         "checksum mismatch for %s from %s: expected sha256 %s, got %s; the "
                         "download was discarded",
                         f->name, url, want, have);
            break;
        }
        memcpy(f->sha256, have, sizeof f->sha256);
        f->size = got;
        st = fsync_path(part, err);
        if (st) break;
        if (rename(part, final) != 0) {
            st = ss_fail(err, SS_ERR_IO, "cannot rename %s to %s: %s", part, final, strerror(errno));
            break;
        }
        if (cfg->progress) cfg->progress(cfg->progress_user, f->name, (uint64_t)got, (uint64_t)got);
        break;
    }
    free(url);
    return st;
}

/* ------------------------------------------------------------ offline */

static ss_status pull_offline(const hub_config *cfg, const char *repo, const char *dir,
                              ss_error *err) {
    hub_manifest m;
    ss_error e2;
    ss_status st = hub_manifest_read(dir, &m, &e2);
    if (st == SS_ERR_NOT_FOUND) {
        if (ss_path_exists(dir))
            return ss_fail(err, SS_ERR_NOT_FOUND,
                           "offline mode (--offline / HF_HUB_OFFLINE): '%s' (revision '%s') is only "
                           "partly downloaded in %s — pull it again while online",
                           repo, cfg->revision, dir);
        return ss_fail(err, SS_ERR_NOT_FOUND,
                       "offline mode (--offline / HF_HUB_OFFLINE): '%s' (revision '%s') is not in "
                       "the cache (%s) — pull it once while online",
                       repo, cfg->revision, dir);
    }
    if (st) return ss_fail(err, st, "offline mode: cached '%s' is unusable: %s", repo, e2.msg);
    char missing[1024];
    int ok = hub_manifest_complete(dir, &m, missing, sizeof missing);
    hub_manifest_free(&m);
    if (!ok)
        return ss_fail(err, SS_ERR_NOT_FOUND,
                       "offline mode (--offline / HF_HUB_OFFLINE): cached '%s' in %s is incomplete "
                       "(%s is missing or has the wrong size) — pull it again while online",
                       repo, dir, missing);
    return SS_OK;
}

/* ------------------------------------------------------------ ss_hub_pull */

ss_status ss_hub_pull(const char *repo_id, const ss_hub_options *opts, char *dir_out, size_t cap,
                      ss_error *err) {
    hub_config *cfg = malloc(sizeof *cfg);
    char *dir = malloc(HUB_PATH_MAX);
    if (!cfg || !dir) {
        free(cfg);
        free(dir);
        return ss_fail(err, SS_ERR_NOMEM, "out of memory");
    }
    ss_status st = hub_config_resolve(opts, cfg, err);
    if (!st) st = hub_repo_dir(cfg, repo_id, dir, HUB_PATH_MAX, err);
    if (!st && dir_out && strlen(dir) >= cap)
        st = ss_fail(err, SS_ERR_INVALID, "hub: the output buffer is too small for %s", dir);
    if (st) goto out;

    if (cfg->offline) {
        st = pull_offline(cfg, repo_id, dir, err);
        goto out;
    }

    st = hub_mkdirs(dir, err);
    if (st) goto out;
    char lockpath[HUB_PATH_MAX];
    ss_path_join(lockpath, sizeof lockpath, dir, ".lock");
    int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0) {
        st = ss_fail(err, SS_ERR_IO, "cannot create %s: %s", lockpath, strerror(errno));
        goto out;
    }
    if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        close(lockfd);
        st = ss_fail(err, SS_ERR_IO, "another pull of '%s' is running (lock %s is held)", repo_id,
                     lockpath);
        goto out;
    }

    hub_http *h = hub_http_new(cfg, err);
    listing l = {0};
    hub_manifest old = {0};
    if (!h) {
        st = err ? err->code : SS_ERR_IO;
        goto unlock;
    }
    st = fetch_listing(h, cfg, repo_id, &l, err);
    if (!st) st = select_files(&l, repo_id, cfg, err);
    if (st) goto unlock;

    hub_manifest_read(dir, &old, NULL); /* absent or broken: everything is checked */
    int *todo = calloc((size_t)(l.n > 0 ? l.n : 1), sizeof *todo);
    if (!todo) {
        st = ss_fail(err, SS_ERR_NOMEM, "out of memory");
        goto unlock;
    }
    int n_todo = 0;
    for (int i = 0; i < l.n; i++) {
        char path[HUB_PATH_MAX];
        ss_path_join(path, sizeof path, dir, l.files[i].name);
        todo[i] = !up_to_date(path, &l.files[i], &old);
        n_todo += todo[i];
    }
    int same_commit = old.commit && l.commit && !strcmp(old.commit, l.commit) &&
                      old.n_files == l.n;
    if (n_todo > 0 || !same_commit) {
        /* the folder is no longer a complete pull until the new manifest lands */
        char mpath[HUB_PATH_MAX];
        ss_path_join(mpath, sizeof mpath, dir, HUB_MANIFEST);
        if (unlink(mpath) != 0 && errno != ENOENT) {
            st = ss_fail(err, SS_ERR_IO, "cannot remove %s: %s", mpath, strerror(errno));
            free(todo);
            goto unlock;
        }
    }
    for (int i = 0; i < l.n && !st; i++)
        if (todo[i]) {
            st = download_file(h, cfg, repo_id, dir, &l.files[i], err);
            if (st) ss_error_prefix(err, "pulling %s", repo_id);
        }
    free(todo);
    if (!st && (n_todo > 0 || !same_commit)) {
        hub_manifest m = {0};
        m.repo = (char *)repo_id;
        m.revision = cfg->revision;
        m.commit = l.commit;
        m.files = l.files;
        m.n_files = l.n;
        st = hub_manifest_write(dir, &m, cfg->endpoint, err);
    }

unlock:
    hub_manifest_free(&old);
    listing_free(&l);
    hub_http_free(h);
    flock(lockfd, LOCK_UN);
    close(lockfd);
out:
    if (!st && dir_out) memcpy(dir_out, dir, strlen(dir) + 1);
    free(cfg);
    free(dir);
    return st;
}
