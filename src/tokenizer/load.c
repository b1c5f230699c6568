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

/* As HF's AddedVocabulary::add_tokens, which tokenizer.json loading calls
 * once per entry: the "id" written in the file is not used. A content already
 * added keeps its id (flags updated); else the model vocab's id; else the
 * next free id after the vocabulary. */
ss_status ss_tok_add_token(ss_tokenizer *t, const char *content, int single_word, int lstrip,
                           int rstrip, int normalized, ss_error *err) {
    size_t len = strlen(content);
    if (len == 0) return SS_OK; /* HF skips empty added tokens */
    if (ss_utf8_invalid_at(content, len) < len)
        return ss_fail(err, SS_ERR_FORMAT, "added token with invalid UTF-8");
    /* Normalized tokens are matched in normalized text, so stored normalized
     * (HF does the same). */
    ss_bytes nb = {0};
    ss_norm_scratch sc = {0};
    int bad = ss_normalize(&t->norm, content, len, &nb, &sc);
    ss_norm_scratch_free(&sc);
    if (bad) return ss_fail(err, SS_ERR_NOMEM, "out of memory");

    int32_t id;
    int k = ss_added_find(&t->added_all, content, len);
    if (k >= 0) { /* re-added: same id, the new flags replace the old */
        id = t->added_all.v[k].id;
        ss_added_remove(&t->added_all, content, len);
        ss_added_remove(&t->added_raw, content, len);
        ss_added_remove(&t->added_norm, nb.v, nb.n);
    } else if ((id = ss_vocab_find(&t->vocab, content, len)) < 0) {
        int32_t size = (int32_t)t->vocab.n_entries;
        id = t->max_added_id < 0 ? size
             : (t->max_added_id >= size || size == 0) ? t->max_added_id + 1 : size;
    }
    if (id > t->max_added_id) t->max_added_id = id;
    bad = ss_added_add(&t->added_all, content, len, id, single_word, lstrip, rstrip);
    if (!bad)
        bad = normalized ? ss_added_add(&t->added_norm, nb.v, nb.n, id, single_word, lstrip, rstrip)
                         : ss_added_add(&t->added_raw, content, len, id, single_word, lstrip, rstrip);
    free(nb.v);
    return bad ? ss_fail(err, SS_ERR_NOMEM, "out of memory") : SS_OK;
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
