/* load.c — ss_tokenizer_load: pick tokenizer.json or vocab.txt, then the
 * pieces both loaders share. */
#include "core/error.h"
#include "core/fileio.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int ss_tok_bert_normalizer(ss_normalizer *nz, int clean, int cjk, int strip, int lower) {
    /* Rust order: clean_text, handle_chinese_chars, strip_accents, lowercase. */
    int bad = 0;
    if (clean) bad |= ss_normalizer_add(nz, SS_NORM_CLEAN);
    if (cjk) bad |= ss_normalizer_add(nz, SS_NORM_CJK);
    if (strip) bad |= ss_normalizer_add(nz, SS_NORM_NFD) | ss_normalizer_add(nz, SS_NORM_STRIP_MN);
    if (lower) bad |= ss_normalizer_add(nz, SS_NORM_LOWER);
    return bad;
}

static void set_ascii_classes(ss_tokenizer *t) {
    for (int c = 0; c < 128; c++) {
        int ws = ss_uc_is_whitespace((uint32_t)c);
        uint8_t k = SS_CC_WORD;
        switch (t->pretok) {
        case SS_PRE_NONE: k = SS_CC_WORD; break;
        case SS_PRE_BERT: k = ws ? SS_CC_SPACE : ss_uc_is_punct((uint32_t)c) ? SS_CC_ISOLATED : SS_CC_WORD; break;
        case SS_PRE_WHITESPACE: k = ws ? SS_CC_SPACE : ss_uc_is_word((uint32_t)c) ? SS_CC_WORD : SS_CC_OTHER; break;
        case SS_PRE_WHITESPACE_SPLIT: k = ws ? SS_CC_SPACE : SS_CC_WORD; break;
        }
        t->ascii_class[c] = k;
    }
}

/* transformers pads with the id of its pad_token (tokenizer_config.json, else
 * special_tokens_map.json); then tokenizer.json's padding pad_id; then the
 * usual names. */
static ss_status find_pad_id(ss_tokenizer *t, const char *dir, ss_error *err) {
    static const char *const files[] = {"tokenizer_config.json", "special_tokens_map.json"};
    char path[4096];
    for (int f = 0; f < 2; f++) {
        if (!ss_path_exists(ss_path_join(path, sizeof path, dir, files[f]))) continue;
        cJSON *j = ss_read_json(path, err);
        if (!j) return err ? err->code : SS_ERR_FORMAT;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "pad_token");
        const char *name = cJSON_IsString(v) ? v->valuestring : ss_json_str(v, "content", NULL);
        int32_t id = name ? ss_tokenizer_token_id(t, name) : -1;
        cJSON_Delete(j);
        if (id >= 0) {
            t->pad_id = id;
            return SS_OK;
        }
    }
    if (t->pad_id < 0) t->pad_id = ss_tokenizer_token_id(t, "[PAD]");
    if (t->pad_id < 0) t->pad_id = ss_tokenizer_token_id(t, "<pad>");
    return SS_OK;
}

ss_tokenizer *ss_tokenizer_load(const char *dir, ss_error *err) {
    if (!dir) {
        ss_fail(err, SS_ERR_INVALID, "ss_tokenizer_load: NULL model folder");
        return NULL;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        ss_fail(err, errno == ENOENT ? SS_ERR_NOT_FOUND : SS_ERR_IO,
                "cannot load tokenizer: model folder %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {
        ss_fail(err, SS_ERR_INVALID, "cannot load tokenizer: %s is not a folder", dir);
        return NULL;
    }
    ss_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory loading tokenizer from %s", dir);
        return NULL;
    }
    t->unk_id = t->pad_id = t->max_added_id = -1;
    char path[4096];
    ss_status s;
    if (ss_path_exists(ss_path_join(path, sizeof path, dir, "tokenizer.json"))) {
        s = ss_tok_load_json(t, path, err);
        if (!s) s = ss_tok_merge_config_tokens(t, dir, err);
    } else if (ss_path_exists(ss_path_join(path, sizeof path, dir, "vocab.txt"))) {
        s = ss_tok_load_legacy(t, dir, err);
    } else {
        s = ss_fail(err, SS_ERR_NOT_FOUND, "no tokenizer.json or vocab.txt in %s", dir);
    }
    if (s) {
        ss_tokenizer_free(t);
        return NULL;
    }
    set_ascii_classes(t);
    s = find_pad_id(t, dir, err);
    if (s) {
        ss_tokenizer_free(t);
        return NULL;
    }
    return t;
}
