/* config.c — read config.json and the sentence-transformers module files.
 *
 * Every value is validated before anything is sized from it: a number must be
 * a whole number in the range the forward pass can use, and — when the weights
 * are there — agree with the tensors it describes. An error names the file,
 * the key and the value, so a bad folder never loads into garbage vectors. */
#include "model/config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/safetensors.h"

/* Read KEY as a whole number in [lo, hi]; *out = dflt when absent (or null) and
 * dflt_ok. The error says which file, key, value and range. */
static ss_status get_int(const cJSON *j, const char *key, const char *path, int lo, int hi, int dflt, int dflt_ok,
                         int *out, ss_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (!dflt_ok) return ss_fail(err, SS_ERR_FORMAT, "%s: missing \"%s\"", path, key);
        *out = dflt;
        return SS_OK;
    }
    if (!cJSON_IsNumber(v)) return ss_fail(err, SS_ERR_FORMAT, "%s: \"%s\" is not a number", path, key);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return ss_fail(err, SS_ERR_FORMAT, "%s: \"%s\" = %g is out of range (a whole number in [%d, %d])", path, key,
                       d, lo, hi);
    *out = (int)d;
    return SS_OK;
}

/* Largest plausible sizes: far above any real model, low enough that products
 * of two of them fit comfortably in 64 bits and activations in size_t. */
#define MAX_VOCAB (1 << 24)
#define MAX_HIDDEN (1 << 16)
#define MAX_LAYERS 1024
#define MAX_POSITIONS (1 << 20)

static ss_status check_weights(const ss_tf_config *cfg, const char *dir, const char *cfg_path, ss_error *err);
static ss_status tf_config_read(ss_tf_config *cfg, const char *dir, int with_weights, ss_error *err);

ss_status ss_tf_config_load(ss_tf_config *cfg, const char *dir, ss_error *err) {
    return tf_config_read(cfg, dir, 1, err);
}

ss_status ss_tf_config_parse(ss_tf_config *cfg, const char *dir, ss_error *err) {
    return tf_config_read(cfg, dir, 0, err);
}

static ss_status tf_config_read(ss_tf_config *cfg, const char *dir, int with_weights, ss_error *err) {
    memset(cfg, 0, sizeof *cfg);
    char path[4096];
    ss_path_join(path, sizeof path, dir, "config.json");
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_IO;
    ss_status s = SS_OK;
    const char *mt = ss_json_str(j, "model_type", NULL);
    if (!mt) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: missing \"model_type\"", path);
        goto done;
    }
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt);
    if (!strcmp(mt, "bert")) {
        cfg->arch = SS_ARCH_BERT;
    } else if (!strcmp(mt, "mpnet")) {
        cfg->arch = SS_ARCH_MPNET;
    } else {
        s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (semsearch runs \"bert\" and \"mpnet\")",
                    path, mt);
        goto done;
    }
    const int mpnet = cfg->arch == SS_ARCH_MPNET;
    if ((s = get_int(j, "vocab_size", path, 1, MAX_VOCAB, 0, 0, &cfg->vocab_size, err)) ||
        (s = get_int(j, "hidden_size", path, 1, MAX_HIDDEN, 0, 0, &cfg->hidden, err)) ||
        (s = get_int(j, "num_hidden_layers", path, 1, MAX_LAYERS, 0, 0, &cfg->layers, err)) ||
        (s = get_int(j, "num_attention_heads", path, 1, cfg->hidden, 0, 0, &cfg->heads, err)) ||
        (s = get_int(j, "intermediate_size", path, 1, 16 * MAX_HIDDEN, 0, 0, &cfg->intermediate, err)) ||
        (s = get_int(j, "max_position_embeddings", path, 1, MAX_POSITIONS, 0, 0, &cfg->max_position, err)))
        goto done;
    /* BERT adds token_type_embeddings[0] to every token: the table needs a row. */
    if (!mpnet && (s = get_int(j, "type_vocab_size", path, 1, 1 << 16, 2, 1, &cfg->type_vocab, err))) goto done;
    if ((s = get_int(j, "pad_token_id", path, 0, cfg->vocab_size - 1, mpnet ? 1 : 0, 1, &cfg->pad_token_id, err)))
        goto done;
    /* MPNet's bucket formula halves the count twice (direction, then exact vs
     * log-spaced) and divides by the quarter, and the log-spaced part needs
     * the quarter below max_distance 128: so 4 <= buckets < 512. */
    if (mpnet && (s = get_int(j, "relative_attention_num_buckets", path, 4, 511, 32, 1, &cfg->rel_buckets, err)))
        goto done;
    if (cfg->hidden % cfg->heads != 0) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: \"hidden_size\" %d is not divisible by \"num_attention_heads\" %d", path,
                    cfg->hidden, cfg->heads);
        goto done;
    }
    /* RoBERTa-style positions start at pad_token_id + 1. */
    if (mpnet && cfg->max_position <= cfg->pad_token_id + 1) {
        s = ss_fail(err, SS_ERR_FORMAT,
                    "%s: \"max_position_embeddings\" = %d leaves no positions: MPNet positions start at "
                    "\"pad_token_id\" (%d) + 1",
                    path, cfg->max_position, cfg->pad_token_id);
        goto done;
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    if (eps && !cJSON_IsNull(eps)) {
        /* The eps is added to a variance before rsqrt: it must be positive and finite. */
        if (!cJSON_IsNumber(eps) || !isfinite(eps->valuedouble) || !(eps->valuedouble > 0) ||
            !((float)eps->valuedouble > 0) || eps->valuedouble > 1) {
            s = ss_fail(err, SS_ERR_FORMAT, "%s: \"layer_norm_eps\" = %g is out of range (a positive number <= 1)",
                        path, cJSON_IsNumber(eps) ? eps->valuedouble : NAN);
            goto done;
        }
        cfg->ln_eps = (float)eps->valuedouble;
    } else {
        cfg->ln_eps = mpnet ? 1e-5f : 1e-12f;
    }
    static const char *const drop_keys[2] = {"hidden_dropout_prob", "attention_probs_dropout_prob"};
    float *drop_dst[2] = {&cfg->hidden_dropout, &cfg->attn_dropout};
    for (int k = 0; k < 2; k++) {
        const cJSON *dp = cJSON_GetObjectItemCaseSensitive(j, drop_keys[k]);
        *drop_dst[k] = 0.1f;
        if (dp && !cJSON_IsNull(dp)) {
            /* a probability of dropping: p = 1 would zero everything and divide by 0 */
            if (!cJSON_IsNumber(dp) || !(dp->valuedouble >= 0) || !(dp->valuedouble < 1)) {
                s = ss_fail(err, SS_ERR_FORMAT, "%s: \"%s\" = %g is out of range (a probability in [0, 1))", path,
                            drop_keys[k], cJSON_IsNumber(dp) ? dp->valuedouble : NAN);
                goto done;
            }
            *drop_dst[k] = (float)dp->valuedouble;
        }
    }
    const char *act = ss_json_str(j, "hidden_act", "gelu");
    if (!strcmp(act, "gelu")) {
        cfg->act = SS_ACT_GELU;
    } else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast")) {
        cfg->act = SS_ACT_GELU_TANH;
    } else if (!strcmp(act, "relu")) {
        cfg->act = SS_ACT_RELU;
    } else {
        s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (gelu, gelu_new, relu)", path, act);
        goto done;
    }
    const char *pet = ss_json_str(j, "position_embedding_type", "absolute");
    if (strcmp(pet, "absolute") != 0) {
        s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: position_embedding_type \"%s\" is not supported (absolute only)", path, pet);
        goto done;
    }
    if (with_weights) s = check_weights(cfg, dir, path, err);
done:
    cJSON_Delete(j);
    return s;
}

/* ---- config values against the tensors they describe ---------------------- */

static void shape_str(char *buf, size_t cap, const ss_st_tensor *t) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

typedef struct wcheck {
    const ss_safetensors *st;
    const char *prefix, *cfg_path;
    ss_error *err;
} wcheck;

/* Tensor NAME (under the prefix) must exist with shape [d0] or [d0, d1]; the
 * error names the config key that sized the mismatching dimension. */
static ss_status want(wcheck *w, const char *name, int ndim, int64_t d0, const char *k0, int64_t d1, const char *k1) {
    char full[300];
    snprintf(full, sizeof full, "%s%s", w->prefix, name);
    const ss_st_tensor *t = ss_st_find(w->st, full);
    if (!t) return ss_fail(w->err, SS_ERR_NOT_FOUND, "%s: missing tensor '%s'", w->st->path, full);
    int64_t e[2] = {d0, d1};
    const char *keys[2] = {k0, k1};
    int bad = t->ndim != ndim ? 0 : -1;
    for (int d = 0; bad < 0 && d < ndim; d++)
        if (t->shape[d] != e[d]) bad = d;
    if (bad < 0) return SS_OK;
    char got[128], exp[128];
    shape_str(got, sizeof got, t);
    if (ndim == 1)
        snprintf(exp, sizeof exp, "[%lld]", (long long)d0);
    else
        snprintf(exp, sizeof exp, "[%lld, %lld]", (long long)d0, (long long)d1);
    return ss_fail(w->err, SS_ERR_FORMAT, "%s: \"%s\" = %lld disagrees with %s: tensor '%s' has shape %s, expected %s",
                   w->cfg_path, keys[bad], (long long)e[bad], w->st->path, full, got, exp);
}

/* Layers in the file: the largest N with some tensor "encoder.layer.N." + 1. */
static int layers_present(const ss_safetensors *st, const char *prefix) {
    char head[64];
    int n = snprintf(head, sizeof head, "%sencoder.layer.", prefix), most = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *nm = st->tensors[i].name;
        if (strncmp(nm, head, (size_t)n) != 0) continue;
        char *end;
        long l = strtol(nm + n, &end, 10);
        if (end != nm + n && *end == '.' && l >= 0 && l < INT_MAX && l + 1 > most) most = (int)l + 1;
    }
    return most;
}

static ss_status check_weights(const ss_tf_config *cfg, const char *dir, const char *cfg_path, ss_error *err) {
    char path[4096];
    ss_path_join(path, sizeof path, dir, "model.safetensors");
    if (!ss_path_exists(path)) return SS_OK; /* the weights loader says what is missing */
    ss_safetensors st;
    ss_status s = ss_st_open(&st, path, err);
    if (s != SS_OK) return s;
    static const char *const prefixes[] = {"", "bert.", "mpnet.", "model."};
    const char *prefix = "";
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char n[128];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", prefixes[i]);
        if (ss_st_find(&st, n)) {
            prefix = prefixes[i];
            break;
        }
    }
    wcheck w = {&st, prefix, cfg_path, err};
    const int mpnet = cfg->arch == SS_ARCH_MPNET;
    if ((s = want(&w, "embeddings.word_embeddings.weight", 2, cfg->vocab_size, "vocab_size", cfg->hidden,
                  "hidden_size")) ||
        (s = want(&w, "embeddings.position_embeddings.weight", 2, cfg->max_position, "max_position_embeddings",
                  cfg->hidden, "hidden_size")) ||
        (!mpnet && (s = want(&w, "embeddings.token_type_embeddings.weight", 2, cfg->type_vocab, "type_vocab_size",
                             cfg->hidden, "hidden_size"))) ||
        (mpnet && (s = want(&w, "encoder.relative_attention_bias.weight", 2, cfg->rel_buckets,
                            "relative_attention_num_buckets", cfg->heads, "num_attention_heads"))) ||
        (s = want(&w, "encoder.layer.0.intermediate.dense.weight", 2, cfg->intermediate, "intermediate_size",
                  cfg->hidden, "hidden_size")))
        goto done;
    int have = layers_present(&st, prefix);
    if (have != cfg->layers) {
        if (have < cfg->layers)
            s = ss_fail(err, SS_ERR_FORMAT,
                        "%s: \"num_hidden_layers\" = %d but %s has %d layers (missing tensor %sencoder.layer.%d.*)",
                        cfg_path, cfg->layers, path, have, prefix, have);
        else
            s = ss_fail(err, SS_ERR_FORMAT,
                        "%s: \"num_hidden_layers\" = %d but %s has %d layers (unused tensors %sencoder.layer.%d.*)",
                        cfg_path, cfg->layers, path, have, prefix, cfg->layers);
    }
done:
    ss_st_close(&st);
    return s;
}

/* ---- the sentence-transformers modules ----------------------------------- */

int ss_pooling_count(const ss_pooling_config *p) {
    return p->cls + p->max + p->mean + p->mean_sqrt_len + p->weightedmean + p->lasttoken;
}

void ss_pooling_name(const ss_pooling_config *p, char *buf, size_t cap) {
    const char *names[] = {"cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"};
    const int on[] = {p->cls, p->max, p->mean, p->mean_sqrt_len, p->weightedmean, p->lasttoken};
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 6 && o < cap; i++)
        if (on[i]) o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? "+" : "", names[i]);
}

int ss_st_output_dim(const ss_st_config *st, const ss_tf_config *cfg) {
    if (st->n_dense > 0) return st->dense[st->n_dense - 1].out_features;
    return cfg->hidden * ss_pooling_count(&st->pooling);
}

ss_status ss_module_dir(char *out, size_t cap, const char *dir, const char *sub, const char *modules_json,
                        ss_error *err) {
    /* Lexically first: no absolute path, no ".." component (sentence-transformers
     * joins the path to the folder, so either would leave it). */
    int up = 0;
    for (const char *p = sub; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') up = 1;
        p += n + (e ? 1 : 0);
    }
    if (sub[0] == '/' || up || strchr(sub, '\\'))
        return ss_fail(err, SS_ERR_FORMAT, "%s: module path \"%s\" leaves the model folder (must be a sub-folder of %s)",
                       modules_json, sub, dir);
    if (!sub[0]) {
        snprintf(out, cap, "%s", dir);
        return SS_OK;
    }
    ss_path_join(out, cap, dir, sub);
    /* Then physically: a symlink inside the folder may point anywhere. */
    char *rd = realpath(dir, NULL), *rs = realpath(out, NULL);
    ss_status s = SS_OK;
    if (rd && rs) {
        size_t n = strlen(rd);
        if (strncmp(rs, rd, n) != 0 || (rs[n] != '/' && rs[n] != '\0'))
            s = ss_fail(err, SS_ERR_FORMAT, "%s: module path \"%s\" resolves to %s, outside the model folder %s",
                        modules_json, sub, rs, rd);
    } else if (!rs) {
        s = ss_fail(err, SS_ERR_NOT_FOUND, "%s: module folder \"%s\" does not exist (%s)", modules_json, sub, out);
    }
    free(rd);
    free(rs);
    return s;
}

static ss_status read_pooling(ss_pooling_config *p, const char *mdir, int hidden, ss_error *err) {
    char path[4096];
    ss_path_join(path, sizeof path, mdir, "config.json");
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_IO;
    const char *mode = ss_json_str(j, "pooling_mode", NULL);
    if (mode) {
        p->cls = !strcmp(mode, "cls");
        p->max = !strcmp(mode, "max");
        p->mean = !strcmp(mode, "mean");
        p->mean_sqrt_len = !strcmp(mode, "mean_sqrt_len_tokens");
        p->weightedmean = !strcmp(mode, "weightedmean");
        p->lasttoken = !strcmp(mode, "lasttoken");
    } else {
        p->cls = ss_json_bool(j, "pooling_mode_cls_token", 0);
        p->max = ss_json_bool(j, "pooling_mode_max_tokens", 0);
        p->mean = ss_json_bool(j, "pooling_mode_mean_tokens", 0);
        p->mean_sqrt_len = ss_json_bool(j, "pooling_mode_mean_sqrt_len_tokens", 0);
        p->weightedmean = ss_json_bool(j, "pooling_mode_weightedmean_tokens", 0);
        p->lasttoken = ss_json_bool(j, "pooling_mode_lasttoken", 0);
    }
    p->include_prompt = ss_json_bool(j, "include_prompt", 1);
    int wed = 0;
    ss_status s = get_int(j, "word_embedding_dimension", path, 1, MAX_HIDDEN, hidden, 1, &wed, err);
    if (s == SS_OK && wed != hidden)
        s = ss_fail(err, SS_ERR_FORMAT, "%s: \"word_embedding_dimension\" = %d but the transformer's hidden_size is %d",
                    path, wed, hidden);
    cJSON_Delete(j);
    if (s == SS_OK && ss_pooling_count(p) == 0) s = ss_fail(err, SS_ERR_FORMAT, "%s: no pooling mode is enabled", path);
    return s;
}

static ss_status read_dense(ss_dense_config *d, const char *mdir, const char *sub, int in_dim, ss_error *err) {
    char path[4096];
    ss_path_join(path, sizeof path, mdir, "config.json");
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_IO;
    snprintf(d->path, sizeof d->path, "%s", sub);
    ss_status s;
    if ((s = get_int(j, "in_features", path, 1, 16 * MAX_HIDDEN, 0, 0, &d->in_features, err)) ||
        (s = get_int(j, "out_features", path, 1, 16 * MAX_HIDDEN, 0, 0, &d->out_features, err)))
        goto done;
    if (d->in_features != in_dim) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: \"in_features\" = %d but the module before it outputs %d values", path,
                    d->in_features, in_dim);
        goto done;
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bias");
    d->bias = b ? cJSON_IsTrue(b) : 1;
    if (b && !cJSON_IsBool(b)) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: \"bias\" must be true or false", path);
        goto done;
    }
    /* sentence-transformers stores the activation's import path. */
    const char *act = ss_json_str(j, "activation_function", "torch.nn.modules.activation.Tanh");
    const char *tail = strrchr(act, '.');
    tail = tail ? tail + 1 : act;
    static const struct {
        const char *name;
        ss_dense_act act;
    } acts[] = {{"Identity", SS_DENSE_IDENTITY}, {"Tanh", SS_DENSE_TANH},   {"ReLU", SS_DENSE_RELU},
                {"Sigmoid", SS_DENSE_SIGMOID},   {"GELU", SS_DENSE_GELU}};
    size_t i;
    for (i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (!strcmp(tail, acts[i].name)) break;
    if (i == sizeof acts / sizeof acts[0]) {
        s = ss_fail(err, SS_ERR_UNSUPPORTED,
                    "%s: \"activation_function\" \"%s\" is not supported (Identity, Tanh, ReLU, Sigmoid, GELU)", path,
                    act);
        goto done;
    }
    d->act = acts[i].act;
done:
    cJSON_Delete(j);
    return s;
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

/* sentence_bert_config.json: max_seq_length must hold the two special tokens
 * ([CLS] ... [SEP] / <s> ... </s>; Hugging Face's truncation fails below that)
 * and fit the model's positions. */
static ss_status read_sbert(ss_st_config *st, const char *path, int pos_limit, int *from_file, ss_error *err) {
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_IO;
    int msl = 0;
    ss_status s = get_int(j, "max_seq_length", path, INT_MIN, INT_MAX, 0, 1, &msl, err);
    if (s == SS_OK && cJSON_GetObjectItemCaseSensitive(j, "max_seq_length") &&
        !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "max_seq_length"))) {
        if (msl < 2 || msl > pos_limit)
            s = ss_fail(err, SS_ERR_FORMAT,
                        "%s: \"max_seq_length\" = %d is out of range (at least 2, for the two special tokens; at "
                        "most the model's %d positions)",
                        path, msl, pos_limit);
        else {
            st->max_seq_length = msl;
            *from_file = 1;
        }
    }
    st->do_lower_case = ss_json_bool(j, "do_lower_case", 0);
    cJSON_Delete(j);
    return s;
}

static int valid_utf8(const char *s, size_t *bad) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (p[i]) {
        unsigned c = p[i];
        int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4)) break;
        uint32_t cp = n == 0 ? c : c & (0x3F >> n);
        int k;
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) break;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (k <= n) break;
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            break;
        i += (size_t)n + 1;
    }
    *bad = i;
    return p[i] == 0;
}

static ss_status read_prompts(ss_st_config *st, const char *path, ss_error *err) {
    cJSON *j = ss_read_json(path, err);
    if (!j) return err ? err->code : SS_ERR_IO;
    ss_status s = SS_OK;
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(j, "prompts"), *p;
    if (prompts && !cJSON_IsNull(prompts) && !cJSON_IsObject(prompts)) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: \"prompts\" must be an object of name: text", path);
        goto done;
    }
    int n = cJSON_GetArraySize(prompts);
    if (n > 0) {
        st->prompt_names = calloc((size_t)n, sizeof *st->prompt_names);
        st->prompt_texts = calloc((size_t)n, sizeof *st->prompt_texts);
        if (!st->prompt_names || !st->prompt_texts) {
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
            goto done;
        }
    }
    cJSON_ArrayForEach(p, prompts) {
        size_t bad;
        if (!cJSON_IsString(p)) {
            s = ss_fail(err, SS_ERR_FORMAT, "%s: prompt \"%s\" is not a string", path, p->string);
            goto done;
        }
        if (!valid_utf8(p->string, &bad) || !valid_utf8(p->valuestring, &bad)) {
            s = ss_fail(err, SS_ERR_FORMAT, "%s: key \"prompts\": prompt \"%.64s\" is not valid UTF-8 (byte offset %zu)",
                        path, p->string, bad);
            goto done;
        }
        for (int i = 0; i < st->n_prompts; i++)
            if (!strcmp(st->prompt_names[i], p->string)) { /* Python's json keeps the last value */
                free(st->prompt_texts[i]);
                st->prompt_texts[i] = NULL;
                if (!(st->prompt_texts[i] = dupstr(p->valuestring))) s = SS_ERR_NOMEM;
                goto next;
            }
        st->prompt_names[st->n_prompts] = dupstr(p->string);
        st->prompt_texts[st->n_prompts] = dupstr(p->valuestring);
        st->n_prompts++;
        if (!st->prompt_names[st->n_prompts - 1] || !st->prompt_texts[st->n_prompts - 1]) s = SS_ERR_NOMEM;
    next:
        if (s != SS_OK) {
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
            goto done;
        }
    }
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(j, "default_prompt_name");
    if (dp && !cJSON_IsNull(dp)) {
        if (!cJSON_IsString(dp) || !ss_st_prompt(st, dp->valuestring)) {
            s = ss_fail(err, SS_ERR_FORMAT, "%s: \"default_prompt_name\" %s%s%s is not one of the prompts", path,
                        cJSON_IsString(dp) ? "\"" : "", cJSON_IsString(dp) ? dp->valuestring : "(not a string)",
                        cJSON_IsString(dp) ? "\"" : "");
            goto done;
        }
        if (!(st->default_prompt_name = dupstr(dp->valuestring)))
            s = ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
    }
done:
    cJSON_Delete(j);
    return s;
}

static ss_status read_modules(ss_st_config *st, const char *dir, const char *path, const ss_tf_config *cfg,
                              ss_error *err) {
    cJSON *mods = ss_read_json(path, err);
    if (!mods) return err ? err->code : SS_ERR_IO;
    ss_status s = SS_OK;
    if (!cJSON_IsArray(mods)) {
        cJSON_Delete(mods);
        return ss_fail(err, SS_ERR_FORMAT, "%s: expected a JSON array of modules", path);
    }
    int have_tf = 0, have_pool = 0, dim = cfg->hidden;
    const cJSON *m;
    char mdir[4096];
    cJSON_ArrayForEach(m, mods) {
        const char *type = ss_json_str(m, "type", "");
        const char *sub = ss_json_str(m, "path", "");
        const char *tail = strrchr(type, '.');
        tail = tail ? tail + 1 : type;
        /* Order matters: Pooling after the Transformer, Dense after Pooling,
         * Normalize last — the pipeline the encoder runs. */
        if (!strcmp(tail, "Transformer")) {
            if (have_tf) {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: more than one Transformer module", path);
                break;
            }
            have_tf = 1;
            if (sub[0]) {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Transformer module in sub-folder \"%s\" is not supported (expected the folder root)", path, sub);
                break;
            }
            continue;
        }
        if (!have_tf || st->normalize || (have_pool && !strcmp(tail, "Pooling"))) {
            s = ss_fail(err, SS_ERR_UNSUPPORTED,
                        "%s: module \"%s\" is out of order (supported: Transformer, Pooling, Dense..., Normalize)", path,
                        type);
            break;
        }
        if (strcmp(tail, "Normalize") && (s = ss_module_dir(mdir, sizeof mdir, dir, sub, path, err))) break;
        if (!strcmp(tail, "Pooling")) {
            if (st->n_dense) {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Pooling after a Dense module is not supported", path);
                break;
            }
            have_pool = 1;
            if ((s = read_pooling(&st->pooling, mdir, cfg->hidden, err)) != SS_OK) break;
            dim = cfg->hidden * ss_pooling_count(&st->pooling);
        } else if (!strcmp(tail, "Dense")) {
            if (!have_pool) {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Dense module without a Pooling module before it", path);
                break;
            }
            if (st->n_dense == SS_MAX_DENSE) {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: more than %d Dense modules", path, SS_MAX_DENSE);
                break;
            }
            if ((s = read_dense(&st->dense[st->n_dense], mdir, sub, dim, err)) != SS_OK) break;
            dim = st->dense[st->n_dense++].out_features;
        } else if (!strcmp(tail, "Normalize")) {
            st->normalize = 1;
        } else {
            s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: module type \"%s\" is not supported (Transformer, Pooling, Dense, Normalize)", path, type);
            break;
        }
    }
    cJSON_Delete(mods);
    if (s != SS_OK) return s;
    if (!have_tf) return ss_fail(err, SS_ERR_FORMAT, "%s: no Transformer module", path);
    if (!have_pool) st->pooling.mean = 1;
    return SS_OK;
}

ss_status ss_st_config_load(ss_st_config *st, const char *dir, const ss_tf_config *cfg, ss_error *err) {
    memset(st, 0, sizeof *st);
    char path[4096];
    ss_status s = SS_OK;
    const int pos_limit = cfg->max_position - (cfg->arch == SS_ARCH_MPNET ? cfg->pad_token_id + 1 : 0);
    st->max_seq_length = pos_limit;
    st->pooling.include_prompt = 1;

    ss_path_join(path, sizeof path, dir, "modules.json");
    if (ss_path_exists(path)) {
        if ((s = read_modules(st, dir, path, cfg, err)) != SS_OK) goto fail;
    } else {
        /* A plain Hugging Face folder: sentence-transformers builds Transformer + mean pooling. */
        st->pooling.mean = 1;
    }

    static const char *const sbert_files[] = {"sentence_bert_config.json", "sentence_roberta_config.json",
                                              "sentence_distilbert_config.json", "sentence_camembert_config.json",
                                              "sentence_albert_config.json", "sentence_xlm-roberta_config.json",
                                              "sentence_xlnet_config.json"};
    int msl_from_file = 0;
    for (size_t i = 0; i < sizeof sbert_files / sizeof sbert_files[0]; i++) {
        ss_path_join(path, sizeof path, dir, sbert_files[i]);
        if (!ss_path_exists(path)) continue;
        if ((s = read_sbert(st, path, pos_limit, &msl_from_file, err)) != SS_OK) goto fail;
        break;
    }
    if (!msl_from_file) {
        /* sentence-transformers' default: min(max_position_embeddings, tokenizer model_max_length) */
        ss_path_join(path, sizeof path, dir, "tokenizer_config.json");
        cJSON *j = ss_path_exists(path) ? ss_read_json(path, NULL) : NULL;
        double tml = ss_json_num(j, "model_max_length", 0);
        cJSON_Delete(j);
        if (tml > 0 && tml < st->max_seq_length) st->max_seq_length = (int)tml;
    }
    if (st->max_seq_length < 2) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: max_seq_length %d leaves no room for text (model positions %d)", dir,
                    st->max_seq_length, pos_limit);
        goto fail;
    }

    ss_path_join(path, sizeof path, dir, "config_sentence_transformers.json");
    if (ss_path_exists(path) && (s = read_prompts(st, path, err)) != SS_OK) goto fail;
    return SS_OK;
fail:
    ss_st_config_free(st);
    return s;
}

void ss_st_config_free(ss_st_config *st) {
    for (int i = 0; i < st->n_prompts; i++) {
        free(st->prompt_names[i]);
        free(st->prompt_texts[i]);
    }
    free(st->prompt_names);
    free(st->prompt_texts);
    free(st->default_prompt_name);
    memset(st, 0, sizeof *st);
}

const char *ss_st_prompt(const ss_st_config *st, const char *name) {
    for (int i = 0; i < st->n_prompts; i++)
        if (!strcmp(st->prompt_names[i], name)) return st->prompt_texts[i];
    return NULL;
}
