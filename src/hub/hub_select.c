/* hub_select.c — which of a hub repo's files a sentence-transformers model
 * needs. Kept: at the top level and in module folders ("N_Name/", e.g.
 * 1_Pooling/, 2_Dense/): *.json (configs, tokenizer, shard indexes), *.txt
 * (vocab.txt, merges.txt), *.safetensors, *.model (sentencepiece), and
 * pytorch_model*.bin only where that folder has no *.safetensors. Skipped:
 * everything else — onnx/, openvino/, TF / Flax / Rust weights, README,
 * hidden files. */
#include "hub/hub_internal.h"

#include <ctype.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int hub_safe_relpath(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 1000 || name[0] == '/') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '\\') return 0;
    }
    const char *p = name;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!e) break;
        p = e + 1;
    }
    if (ends_with(name, "/")) return 0;
    if (ends_with(name, HUB_PART_SUFFIX) || ends_with(name, ".tmp")) return 0;
    if (!strncmp(name, ".semsearch", 10)) return 0;
    return 1;
}

/* "N_Name": digits, '_', then a name. */
static int is_module_dir(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && isdigit((unsigned char)s[i])) i++;
    if (i == 0 || i >= n - 1 || s[i] != '_') return 0;
    for (i++; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return 0;
    return 1;
}

/* Length of the folder part of name ("2_Dense/x.json" -> 7, "x.json" -> 0). */
static size_t dir_len(const char *name) {
    const char *slash = strrchr(name, '/');
    return slash ? (size_t)(slash - name) : 0;
}

static int folder_has_safetensors(const char *name, const char *const *names, int n) {
    size_t dl = dir_len(name);
    for (int i = 0; i < n; i++) {
        if (dir_len(names[i]) != dl || strncmp(names[i], name, dl)) continue;
        if (ends_with(names[i], ".safetensors")) return 1;
    }
    return 0;
}

int hub_want_file(const char *name, const char *const *names, int n) {
    if (!hub_safe_relpath(name)) return 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (base[0] == '.') return 0;
    const char *slash = strchr(name, '/');
    if (slash) {
        /* only one level of module folder: N_Name/file */
        if (strchr(slash + 1, '/')) return 0;
        if (!is_module_dir(name, (size_t)(slash - name))) return 0;
    }
    if (ends_with(base, ".json") || ends_with(base, ".txt") || ends_with(base, ".safetensors") ||
        ends_with(base, ".model"))
        return 1;
    if (!strncmp(base, "pytorch_model", 13) && ends_with(base, ".bin"))
        return !folder_has_safetensors(name, names, n);
    return 0;
}
