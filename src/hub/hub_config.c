/* hub_config.c — the hub client's settings: options, then HF_* environment
 * variables (the ones huggingface_hub reads), then defaults. */
#include "hub/hub_internal.h"
#include "core/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int hub_env_truthy(const char *v) {
    if (!v) return 0;
    return !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static ss_status copy_setting(char *dst, size_t cap, const char *src, const char *what,
                              ss_error *err) {
    size_t n = strlen(src);
    if (n >= cap) return ss_fail(err, SS_ERR_INVALID, "hub: %s is too long (%zu bytes)", what, n);
    memcpy(dst, src, n + 1);
    return SS_OK;
}

ss_status hub_config_resolve(const ss_hub_options *opts, hub_config *cfg, ss_error *err) {
    static const ss_hub_options none = {0};
    if (!opts) opts = &none;
    memset(cfg, 0, sizeof *cfg);

    const char *ep = opts->endpoint ? opts->endpoint : env_nonempty("HF_ENDPOINT");
    if (!ep) ep = HUB_DEFAULT_ENDPOINT;
    if (copy_setting(cfg->endpoint, sizeof cfg->endpoint, ep, "endpoint", err)) return SS_ERR_INVALID;
    size_t el = strlen(cfg->endpoint);
    while (el > 0 && cfg->endpoint[el - 1] == '/') cfg->endpoint[--el] = '\0';
    if (strncmp(cfg->endpoint, "http://", 7) && strncmp(cfg->endpoint, "https://", 8))
        return ss_fail(err, SS_ERR_INVALID,
                       "hub: endpoint '%s'%s is not an http:// or https:// URL", cfg->endpoint,
                       opts->endpoint ? "" : " (from HF_ENDPOINT)");

    if (opts->cache_dir) {
        if (copy_setting(cfg->cache, sizeof cfg->cache, opts->cache_dir, "cache folder", err))
            return SS_ERR_INVALID;
    } else {
        const char *home = env_nonempty("HF_HOME");
        int n;
        if (home) {
            n = snprintf(cfg->cache, sizeof cfg->cache, "%s/semsearch/models", home);
        } else {
            const char *xdg = env_nonempty("XDG_CACHE_HOME");
            const char *uhome = env_nonempty("HOME");
            if (xdg)
                n = snprintf(cfg->cache, sizeof cfg->cache, "%s/huggingface/semsearch/models", xdg);
            else if (uhome)
                n = snprintf(cfg->cache, sizeof cfg->cache,
                             "%s/.cache/huggingface/semsearch/models", uhome);
            else
                return ss_fail(err, SS_ERR_INVALID,
                               "hub: no cache folder: set HF_HOME (or HOME) or pass a cache folder");
        }
        if (n < 0 || (size_t)n >= sizeof cfg->cache)
            return ss_fail(err, SS_ERR_INVALID, "hub: cache folder path is too long");
    }

    const char *rev = opts->revision && *opts->revision ? opts->revision : "main";
    if (hub_check_revision(rev, err)) return SS_ERR_INVALID;
    if (copy_setting(cfg->revision, sizeof cfg->revision, rev, "revision", err)) return SS_ERR_INVALID;

    const char *tok = opts->token ? opts->token : env_nonempty("HF_TOKEN");
    if (tok) {
        for (const char *p = tok; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                return ss_fail(err, SS_ERR_INVALID,
                               "hub: the token%s contains a space or control character",
                               opts->token ? "" : " in HF_TOKEN");
        if (copy_setting(cfg->token, sizeof cfg->token, tok, "token", err)) return SS_ERR_INVALID;
    }

    cfg->offline = opts->offline || hub_env_truthy(getenv("HF_HUB_OFFLINE"));
    cfg->connect_timeout_s = opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 30;
    cfg->stall_timeout_s = opts->stall_timeout_s > 0 ? opts->stall_timeout_s : 60;
    cfg->retries = opts->retries > 0 ? opts->retries : opts->retries < 0 ? 0 : 3;
    cfg->progress = opts->progress;
    cfg->progress_user = opts->progress_user;
    return SS_OK;
}

/* The hub's rules for names: letters, digits, '-', '_', '.'; no "--" or ".."
 * and not starting or ending with '-' or '.'; at most 96 characters. */
static int valid_name_part(const char *s, size_t n) {
    if (n == 0 || n > 96) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.') return 0;
        if (i > 0 && (c == '-' || c == '.') && s[i - 1] == c) return 0;
    }
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.') return 0;
    return 1;
}

ss_status hub_check_repo_id(const char *repo_id, ss_error *err) {
    if (!repo_id || !*repo_id) return ss_fail(err, SS_ERR_INVALID, "hub: empty repository id");
    const char *slash = strchr(repo_id, '/');
    int ok;
    if (!slash)
        ok = valid_name_part(repo_id, strlen(repo_id));
    else
        ok = !strchr(slash + 1, '/') && valid_name_part(repo_id, (size_t)(slash - repo_id)) &&
             valid_name_part(slash + 1, strlen(slash + 1));
    if (!ok)
        return ss_fail(err, SS_ERR_INVALID,
                       "hub: '%s' is not a repository id: expected ORG/NAME made of letters, "
                       "digits, '-', '_' and '.' (e.g. sentence-transformers/all-MiniLM-L6-v2)",
                       repo_id);
    return SS_OK;
}

ss_status hub_check_revision(const char *rev, ss_error *err) {
    size_t n = strlen(rev);
    int ok = n > 0 && n < 200 && rev[0] != '/' && rev[n - 1] != '/' && !strstr(rev, "..") &&
             !strstr(rev, "//") && !strstr(rev, "--");
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)rev[i];
        if (c < 0x21 || c > 0x7e || c == '\\' || c == '@' || c == '%' || c == '?' || c == '#')
            ok = 0;
    }
    if (!ok)
        return ss_fail(err, SS_ERR_INVALID,
                       "hub: '%s' is not a usable revision (a branch, tag or commit id such as "
                       "main, v1.0 or refs/pr/1)",
                       rev);
    return SS_OK;
}

ss_status hub_repo_dir(const hub_config *cfg, const char *repo_id, char *dir, size_t cap,
                       ss_error *err) {
    if (hub_check_repo_id(repo_id, err)) return SS_ERR_INVALID;
    char name[512];
    size_t k = 0;
    for (const char *p = repo_id; *p && k + 3 < sizeof name; p++) {
        if (*p == '/') {
            name[k++] = '-';
            name[k++] = '-';
        } else {
            name[k++] = *p;
        }
    }
    name[k] = '\0';
    char rev[512] = "";
    if (strcmp(cfg->revision, "main")) {
        size_t r = 0;
        rev[r++] = '@';
        for (const char *p = cfg->revision; *p && r + 3 < sizeof rev; p++) {
            if (*p == '/') {
                rev[r++] = '-';
                rev[r++] = '-';
            } else {
                rev[r++] = *p;
            }
        }
        rev[r] = '\0';
    }
    int n = snprintf(dir, cap, "%s/%s%s", cfg->cache, name, rev);
    if (n < 0 || (size_t)n >= cap)
        return ss_fail(err, SS_ERR_INVALID, "hub: model folder path for %s is too long", repo_id);
    return SS_OK;
}

ss_status ss_hub_model_dir(const char *repo_id, const ss_hub_options *opts, char *dir,
                           size_t cap, ss_error *err) {
    hub_config cfg;
    ss_status st = hub_config_resolve(opts, &cfg, err);
    if (st) return st;
    return hub_repo_dir(&cfg, repo_id, dir, cap, err);
}

ss_status ss_hub_cache_dir(const ss_hub_options *opts, char *dir, size_t cap, ss_error *err) {
    hub_config cfg;
    ss_status st = hub_config_resolve(opts, &cfg, err);
    if (st) return st;
    if (strlen(cfg.cache) >= cap)
        return ss_fail(err, SS_ERR_INVALID, "hub: buffer too small for the cache path %s", cfg.cache);
    memcpy(dir, cfg.cache, strlen(cfg.cache) + 1);
    return SS_OK;
}
