/* load_legacy.c — a model folder without tokenizer.json: vocab.txt plus
 * tokenizer_config.json, read the way transformers converts a slow BERT /
 * MPNet tokenizer into a fast one (BertConverter / MPNetConverter). */
#include "core/error.h"
#include "core/fileio.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#include <string.h>

/* A special token in tokenizer_config.json: "[CLS]" or {"content": "[CLS]", ...}. */
const char *ss_tok_config_token(const cJSON *cfg, const char *key, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) return ss_json_str(v, "content", dflt);
    return dflt;
}

/* vocab.txt: one token per line, id = line number. Python's text mode turns
 * \r\n and \r into \n, and load_vocab strips the \n; a later duplicate wins. */
static ss_status read_vocab(ss_tokenizer *t, const char *path, ss_error *err) {
    size_t len;
    char *text = ss_read_file(path, &len, err);
    if (!text) return err ? err->code : SS_ERR_IO;
    ss_status st = SS_OK;
    size_t bad = ss_utf8_invalid_at(text, len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n' || text[i] == '\r';
    if (bad < len) {
        st = ss_fail(err, SS_ERR_FORMAT, "%s: invalid UTF-8 at byte offset %zu", path, bad);
    } else if (ss_vocab_init(&t->vocab, lines + 1)) {
        st = ss_fail(err, SS_ERR_NOMEM, "out of memory loading %s", path);
    } else {
        int32_t id = 0;
        for (size_t i = 0; i < len && !st; id++) {
            size_t e = i;
            while (e < len && text[e] != '\n' && text[e] != '\r') e++;
            if (ss_vocab_set(&t->vocab, text + i, e - i, id))
                st = ss_fail(err, SS_ERR_NOMEM, "out of memory loading %s", path);
            if (e < len && text[e] == '\r' && e + 1 < len && text[e + 1] == '\n') e++;
            i = e + 1;
        }
        if (!st && id == 0) st = ss_fail(err, SS_ERR_FORMAT, "%s is empty", path);
    }
    free(text);
    return st;
}

static int is_known_class(const char *c) {
    static const char *const known[] = {"BertTokenizer", "DistilBertTokenizer", "MPNetTokenizer",
                                        "ElectraTokenizer"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        size_t n = strlen(known[i]);
        if (!strncmp(c, known[i], n) && (!c[n] || !strcmp(c + n, "Fast"))) return 1;
    }
    return 0;
}

/* Id of a token by name (added tokens first), -1 when absent. */
static int32_t id_of(const ss_tokenizer *t, const char *tok) {
    for (int k = 0; k < t->added_all.n; k++)
        if (!strcmp(t->added_all.v[k].content, tok)) return t->added_all.v[k].id;
    return ss_vocab_find(&t->vocab, tok, strlen(tok));
}

int ss_tok_by_id(const void *a, const void *b) {
    long x = strtol((*(const cJSON *const *)a)->string, NULL, 10);
    long y = strtol((*(const cJSON *const *)b)->string, NULL, 10);
    return (x > y) - (x < y);
}

/* The added tokens transformers gives the converted fast tokenizer. */
static ss_status add_specials(ss_tokenizer *t, const cJSON *cfg, int mpnet, const char *cfg_path,
                              ss_error *err) {
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(cfg, "added_tokens_decoder");
    if (cJSON_IsObject(dec)) { /* transformers >= 4.34 spells them out, added in id order */
        int n = cJSON_GetArraySize(dec), k = 0;
        const cJSON **v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v), *it;
        if (!v) return ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", cfg_path);
        cJSON_ArrayForEach(it, dec) v[k++] = it;
        qsort(v, (size_t)n, sizeof *v, ss_tok_by_id);
        ss_status st = SS_OK;
        for (k = 0; k < n && !st; k++) {
            const char *content = ss_json_str(v[k], "content", NULL);
            if (!content)
                st = ss_fail(err, SS_ERR_FORMAT, "added_tokens_decoder entry '%s' without content in %s",
                             v[k]->string, cfg_path);
            else
                st = ss_tok_add_token(t, content, ss_tok_flags_json(v[k]), err);
        }
        free(v);
        return st;
    }
    /* Older configs: the special tokens in transformers' attribute order, not
     * normalized; MPNet's <mask> takes the space on its left. */
    const char *keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    const char *dflt[7] = {NULL, NULL, "[UNK]", mpnet ? "</s>" : "[SEP]", mpnet ? "<pad>" : "[PAD]",
                           mpnet ? "<s>" : "[CLS]", mpnet ? "<mask>" : "[MASK]"};
    if (mpnet) {
        dflt[0] = "<s>";
        dflt[1] = "</s>";
    }
    for (int k = 0; k < 7; k++) {
        const char *name = ss_tok_config_token(cfg, keys[k], dflt[k]);
        if (!name) continue;
        ss_added_flags f = {.lstrip = mpnet && k == 6, .special = 1};
        ss_status st = ss_tok_add_token(t, name, f, err);
        if (st) return st;
    }
    return SS_OK;
}

ss_status ss_tok_load_legacy(ss_tokenizer *t, const char *dir, ss_error *err) {
    char path[4096], cfg_path[4096];
    ss_path_join(cfg_path, sizeof cfg_path, dir, "tokenizer_config.json");
    cJSON *cfg = NULL;
    if (ss_path_exists(cfg_path) && !(cfg = ss_read_json(cfg_path, err)))
        return err ? err->code : SS_ERR_FORMAT;
    ss_status st = SS_OK;
    const char *cls_name = ss_json_str(cfg, "tokenizer_class", "BertTokenizer");
    int mpnet = !strncmp(cls_name, "MPNet", 5);
    if (!is_known_class(cls_name))
        st = ss_fail(err, SS_ERR_UNSUPPORTED,
                     "unsupported tokenizer_class '%s' in %s (without tokenizer.json only BERT-style "
                     "WordPiece tokenizers are read)", cls_name, cfg_path);
    if (!st) st = read_vocab(t, ss_path_join(path, sizeof path, dir, "vocab.txt"), err);
    if (!st) {
        int lower = ss_json_bool(cfg, "do_lower_case", 1);
        ss_tok_bert_normalizer(&t->norm, 1, ss_json_bool(cfg, "tokenize_chinese_chars", 1),
                               ss_json_bool(cfg, "strip_accents", lower), lower);
        ss_normalizer_finish(&t->norm);
        t->pretok = SS_PRE_BERT;
        memcpy(t->prefix, "##", 3);
        t->prefix_len = 2;
        t->max_chars = 100;
        const char *unk = ss_tok_config_token(cfg, "unk_token", "[UNK]");
        t->unk_id = ss_vocab_find(&t->vocab, unk, strlen(unk));
        if (t->unk_id < 0)
            st = ss_fail(err, SS_ERR_FORMAT, "unk_token '%s' is not in %s", unk, path);
    }
    if (!st) st = add_specials(t, cfg, mpnet, cfg_path, err);
    if (!st) { /* template: cls $A sep (<s> $A </s> for MPNet) */
        const char *cls = ss_tok_config_token(cfg, "cls_token", mpnet ? "<s>" : "[CLS]");
        const char *sep = ss_tok_config_token(cfg, "sep_token", mpnet ? "</s>" : "[SEP]");
        t->pre[0] = id_of(t, cls);
        t->post[0] = id_of(t, sep);
        if (t->pre[0] < 0 || t->post[0] < 0)
            st = ss_fail(err, SS_ERR_FORMAT, "special token '%s' is not in %s",
                         t->pre[0] < 0 ? cls : sep, path);
        t->n_pre = t->n_post = 1;
    }
    cJSON_Delete(cfg);
    return st;
}
