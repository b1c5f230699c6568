/* config.c — read config.json and the sentence-transformers module files. */
#include "model/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"

static ss_status need_int(const cJSON *j, const char *key, const char *path, int *out, ss_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) return ss_fail(err, SS_ERR_FORMAT, "%s: missing or non-numeric \"%s\"", path, key);
    if (v->valuedouble < 0 || v->valuedouble > 1e9)
        return ss_fail(err, SS_ERR_FORMAT, "%s: \"%s\" = %g is out of range", path, key, v->valuedouble);
    *out = (int)v->valuedouble;
    return SS_OK;
}

ss_status ss_tf_config_load(ss_tf_config *cfg, const char *dir, ss_error *err) {
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
    if ((s = need_int(j, "vocab_size", path, &cfg->vocab_size, err)) ||
        (s = need_int(j, "hidden_size", path, &cfg->hidden, err)) ||
        (s = need_int(j, "num_hidden_layers", path, &cfg->layers, err)) ||
        (s = need_int(j, "num_attention_heads", path, &cfg->heads, err)) ||
        (s = need_int(j, "intermediate_size", path, &cfg->intermediate, err)) ||
        (s = need_int(j, "max_position_embeddings", path, &cfg->max_position, err)))
        goto done;
    cfg->type_vocab = cfg->arch == SS_ARCH_BERT ? (int)ss_json_num(j, "type_vocab_size", 2) : 0;
    cfg->pad_token_id = (int)ss_json_num(j, "pad_token_id", cfg->arch == SS_ARCH_MPNET ? 1 : 0);
    cfg->rel_buckets = (int)ss_json_num(j, "relative_attention_num_buckets", 32);
    cfg->ln_eps = (float)ss_json_num(j, "layer_norm_eps", cfg->arch == SS_ARCH_MPNET ? 1e-5 : 1e-12);
    if (cfg->heads == 0 || cfg->hidden % cfg->heads != 0) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: hidden_size %d is not divisible by num_attention_heads %d", path,
                    cfg->hidden, cfg->heads);
        goto done;
    }
    if (cfg->vocab_size == 0 || cfg->hidden == 0 || cfg->layers == 0 || cfg->max_position == 0) {
        s = ss_fail(err, SS_ERR_FORMAT, "%s: vocab_size, hidden_size, num_hidden_layers and max_position_embeddings must be positive", path);
        goto done;
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
done:
    cJSON_Delete(j);
    return s;
}

int ss_pooling_count(const ss_pooling_config *p) {
    return p->cls + p->max + p->mean + p->mean_sqrt_len + p->weightedmean + p->lasttoken;
}

static ss_status read_pooling(ss_pooling_config *p, const char *dir, const char *sub, ss_error *err) {
    char d[4096], path[4096];
    ss_path_join(d, sizeof d, dir, sub);
    ss_path_join(path, sizeof path, d, "config.json");
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
    cJSON_Delete(j);
    if (ss_pooling_count(p) == 0)
        return ss_fail(err, SS_ERR_FORMAT, "%s: no pooling mode is enabled", path);
    return SS_OK;
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

ss_status ss_st_config_load(ss_st_config *st, const char *dir, const ss_tf_config *cfg, ss_error *err) {
    memset(st, 0, sizeof *st);
    char path[4096];
    ss_status s = SS_OK;
    st->max_seq_length = cfg->max_position - (cfg->arch == SS_ARCH_MPNET ? cfg->pad_token_id + 1 : 0);
    st->pooling.include_prompt = 1;

    ss_path_join(path, sizeof path, dir, "modules.json");
    if (ss_path_exists(path)) {
        cJSON *mods = ss_read_json(path, err);
        if (!mods) return err ? err->code : SS_ERR_IO;
        if (!cJSON_IsArray(mods)) {
            cJSON_Delete(mods);
            return ss_fail(err, SS_ERR_FORMAT, "%s: expected a JSON array of modules", path);
        }
        int have_tf = 0, have_pool = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, mods) {
            const char *type = ss_json_str(m, "type", "");
            const char *sub = ss_json_str(m, "path", "");
            const char *tail = strrchr(type, '.');
            tail = tail ? tail + 1 : type;
            if (!strcmp(tail, "Transformer")) {
                have_tf = 1;
                if (sub[0]) {
                    s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: Transformer module in sub-folder \"%s\" is not supported (expected the folder root)", path, sub);
                    break;
                }
            } else if (!strcmp(tail, "Pooling")) {
                have_pool = 1;
                if ((s = read_pooling(&st->pooling, dir, sub, err)) != SS_OK) break;
            } else if (!strcmp(tail, "Normalize")) {
                st->normalize = 1;
            } else {
                s = ss_fail(err, SS_ERR_UNSUPPORTED, "%s: module type \"%s\" is not supported (Transformer, Pooling, Normalize)", path, type);
                break;
            }
        }
        cJSON_Delete(mods);
        if (s != SS_OK) return s;
        if (!have_tf) return ss_fail(err, SS_ERR_FORMAT, "%s: no Transformer module", path);
        if (!have_pool) st->pooling.mean = 1;
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
        cJSON *j = ss_read_json(path, err);
        if (!j) return err ? err->code : SS_ERR_IO;
        int msl = (int)ss_json_num(j, "max_seq_length", 0);
        if (msl > 0) {
            st->max_seq_length = msl;
            msl_from_file = 1;
        }
        st->do_lower_case = ss_json_bool(j, "do_lower_case", 0);
        cJSON_Delete(j);
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
    if (st->max_seq_length <= 0)
        return ss_fail(err, SS_ERR_FORMAT, "%s: max_seq_length must be positive", dir);

    ss_path_join(path, sizeof path, dir, "config_sentence_transformers.json");
    if (ss_path_exists(path)) {
        cJSON *j = ss_read_json(path, err);
        if (!j) return err ? err->code : SS_ERR_IO;
        const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(j, "prompts"), *p;
        cJSON_ArrayForEach(p, prompts) {
            if (!cJSON_IsString(p) || st->n_prompts == SS_MAX_PROMPTS) continue;
            st->prompt_names[st->n_prompts] = dupstr(p->string);
            st->prompt_texts[st->n_prompts] = dupstr(p->valuestring);
            st->n_prompts++;
        }
        st->default_prompt_name = dupstr(ss_json_str(j, "default_prompt_name", NULL));
        cJSON_Delete(j);
    }
    return SS_OK;
}

void ss_st_config_free(ss_st_config *st) {
    for (int i = 0; i < st->n_prompts; i++) {
        free(st->prompt_names[i]);
        free(st->prompt_texts[i]);
    }
    free(st->default_prompt_name);
    memset(st, 0, sizeof *st);
}

const char *ss_st_prompt(const ss_st_config *st, const char *name) {
    for (int i = 0; i < st->n_prompts; i++)
        if (!strcmp(st->prompt_names[i], name)) return st->prompt_texts[i];
    return NULL;
}
