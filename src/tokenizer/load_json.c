/* load_json.c — reading a Hugging Face tokenizer.json (WordPiece family). */
#include "core/error.h"
#include "core/fileio.h"
#include "tokenizer/tokenizer_internal.h"

#include <math.h>
#include <string.h>

static const char *type_of(const cJSON *o) { return ss_json_str(o, "type", NULL); }

static ss_status parse_normalizer(ss_tokenizer *t, const cJSON *n, const char *path, ss_error *err) {
    if (!n || cJSON_IsNull(n)) return SS_OK;
    const char *ty = type_of(n);
    if (!ty) return ss_fail(err, SS_ERR_FORMAT, "normalizer without a type in %s", path);
    ss_normalizer *nz = &t->norm;
    int full = 0;
    if (!strcmp(ty, "BertNormalizer")) {
        int lower = ss_json_bool(n, "lowercase", 1);
        /* strip_accents: null (or absent) follows lowercase. */
        int strip = ss_json_bool(n, "strip_accents", lower);
        full = ss_tok_bert_normalizer(nz, ss_json_bool(n, "clean_text", 1),
                                      ss_json_bool(n, "handle_chinese_chars", 1), strip, lower);
    } else if (!strcmp(ty, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        if (!cJSON_IsArray(list))
            return ss_fail(err, SS_ERR_FORMAT, "Sequence normalizer without a list in %s", path);
        const cJSON *it;
        cJSON_ArrayForEach(it, list) {
            ss_status st = parse_normalizer(t, it, path, err);
            if (st) return st;
        }
    } else if (!strcmp(ty, "Lowercase")) {
        full = ss_normalizer_add(nz, SS_NORM_LOWER);
    } else if (!strcmp(ty, "NFD")) {
        full = ss_normalizer_add(nz, SS_NORM_NFD);
    } else if (!strcmp(ty, "NFKD")) {
        full = ss_normalizer_add(nz, SS_NORM_NFKD);
    } else if (!strcmp(ty, "NFC")) {
        full = ss_normalizer_add(nz, SS_NORM_NFC);
    } else if (!strcmp(ty, "NFKC")) {
        full = ss_normalizer_add(nz, SS_NORM_NFKC);
    } else if (!strcmp(ty, "StripAccents")) {
        full = ss_normalizer_add(nz, SS_NORM_STRIP_MARKS);
    } else {
        return ss_fail(err, SS_ERR_UNSUPPORTED, "unsupported normalizer type '%s' in %s", ty, path);
    }
    if (full) return ss_fail(err, SS_ERR_UNSUPPORTED, "too many normalizer steps in %s", path);
    return SS_OK;
}

static ss_status parse_pretokenizer(ss_tokenizer *t, const cJSON *p, const char *path, ss_error *err) {
    if (!p || cJSON_IsNull(p)) {
        t->pretok = SS_PRE_NONE;
        return SS_OK;
    }
    const char *ty = type_of(p);
    if (ty && !strcmp(ty, "Sequence")) { /* a one-element Sequence is that element */
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (cJSON_GetArraySize(list) == 1) return parse_pretokenizer(t, cJSON_GetArrayItem(list, 0), path, err);
    }
    if (ty && !strcmp(ty, "BertPreTokenizer")) t->pretok = SS_PRE_BERT;
    else if (ty && !strcmp(ty, "Whitespace")) t->pretok = SS_PRE_WHITESPACE;
    else if (ty && !strcmp(ty, "WhitespaceSplit")) t->pretok = SS_PRE_WHITESPACE_SPLIT;
    else
        return ss_fail(err, SS_ERR_UNSUPPORTED, "unsupported pre_tokenizer type '%s' in %s",
                       ty ? ty : "(none)", path);
    return SS_OK;
}

static ss_status push_special(int32_t *arr, int *n, double id, const char *path, ss_error *err) {
    if (!(id >= 0 && id < 2147483647.0) || id != (double)(int32_t)id)
        return ss_fail(err, SS_ERR_FORMAT, "%s: post_processor special token id %g is not a whole number >= 0", path,
                       id);
    if (*n >= SS_MAX_SPECIALS)
        return ss_fail(err, SS_ERR_UNSUPPORTED, "post_processor template too long in %s", path);
    arr[(*n)++] = id;
    return SS_OK;
}

/* TemplateProcessing "single": specials before $A go to pre, after it to post. */
static ss_status parse_template(ss_tokenizer *t, const cJSON *pp, const char *path, ss_error *err) {
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
    if (!cJSON_IsArray(single))
        return ss_fail(err, SS_ERR_FORMAT, "TemplateProcessing without a 'single' list in %s", path);
    int seen_a = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, single) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        if (sq) {
            const char *which = ss_json_str(sq, "id", "A");
            if (strcmp(which, "A") || seen_a)
                return ss_fail(err, SS_ERR_UNSUPPORTED, "single template uses sequence '%s' in %s",
                               which, path);
            seen_a = 1;
            continue;
        }
        const char *name = ss_json_str(sp, "id", NULL);
        const cJSON *def = name ? cJSON_GetObjectItemCaseSensitive(specials, name) : NULL;
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids");
        if (!cJSON_IsArray(ids))
            return ss_fail(err, SS_ERR_FORMAT, "template special token '%s' has no ids in %s",
                           name ? name : "?", path);
        const cJSON *idv;
        cJSON_ArrayForEach(idv, ids) {
            if (!cJSON_IsNumber(idv))
                return ss_fail(err, SS_ERR_FORMAT, "bad id of special token '%s' in %s", name, path);
            ss_status st = seen_a ? push_special(t->post, &t->n_post, idv->valuedouble, path, err)
                                  : push_special(t->pre, &t->n_pre, idv->valuedouble, path, err);
            if (st) return st;
        }
    }
    if (!seen_a) return ss_fail(err, SS_ERR_FORMAT, "single template without $A in %s", path);
    return SS_OK;
}

/* BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]. */
static ss_status parse_cls_sep(ss_tokenizer *t, const cJSON *pp, const char *path, ss_error *err) {
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(pp, "cls");
    const cJSON *sep = cJSON_GetObjectItemCaseSensitive(pp, "sep");
    const cJSON *ci = cJSON_GetArrayItem(cls, 1), *si = cJSON_GetArrayItem(sep, 1);
    if (!cJSON_IsNumber(ci) || !cJSON_IsNumber(si))
        return ss_fail(err, SS_ERR_FORMAT, "post_processor needs cls and sep [token, id] in %s", path);
    ss_status st = push_special(t->pre, &t->n_pre, ci->valuedouble, path, err);
    return st ? st : push_special(t->post, &t->n_post, si->valuedouble, path, err);
}

static ss_status parse_post(ss_tokenizer *t, const cJSON *pp, const char *path, ss_error *err) {
    if (!pp || cJSON_IsNull(pp)) return SS_OK; /* no special tokens at all */
    const char *ty = type_of(pp);
    if (ty && !strcmp(ty, "TemplateProcessing")) return parse_template(t, pp, path, err);
    if (ty && (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")))
        return parse_cls_sep(t, pp, path, err);
    return ss_fail(err, SS_ERR_UNSUPPORTED, "unsupported post_processor type '%s' in %s",
                   ty ? ty : "(none)", path);
}

static ss_status parse_model(ss_tokenizer *t, const cJSON *m, const char *path, ss_error *err) {
    if (!cJSON_IsObject(m)) return ss_fail(err, SS_ERR_FORMAT, "no \"model\" object in %s", path);
    const char *ty = type_of(m);
    if (!ty && cJSON_GetObjectItemCaseSensitive(m, "max_input_chars_per_word")) ty = "WordPiece";
    if (!ty || strcmp(ty, "WordPiece"))
        return ss_fail(err, SS_ERR_UNSUPPORTED, "unsupported tokenizer model type '%s' in %s",
                       ty ? ty : "(none)", path);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
    if (!cJSON_IsObject(vocab))
        return ss_fail(err, SS_ERR_FORMAT, "WordPiece model without a vocab object in %s", path);
    if (ss_vocab_init(&t->vocab, (size_t)cJSON_GetArraySize(vocab)))
        return ss_fail(err, SS_ERR_NOMEM, "out of memory loading %s", path);
    const cJSON *it;
    /* Ids index the id -> string array: one past the entry count would be a
     * gap nobody wrote, and a huge one (999,999,999 in a 5 KB file) would
     * size a multi-GB allocation. Checked before anything is allocated. */
    const int n_entries = cJSON_GetArraySize(vocab);
    cJSON_ArrayForEach(it, vocab) {
        double id = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(id >= 0 && id < 2147483647.0) || id != floor(id)) /* range before any cast */
            return ss_fail(err, SS_ERR_FORMAT, "%s: model.vocab entry '%.80s' has a bad id (not a whole number >= 0)",
                           path, it->string);
        if (id >= n_entries)
            return ss_fail(err, SS_ERR_FORMAT,
                           "%s: model.vocab entry '%.80s' has id %.0f, beyond the vocabulary's %d entries", path,
                           it->string, id, n_entries);
    }
    cJSON_ArrayForEach(it, vocab) {
        double id = it->valuedouble;
        if (ss_vocab_set(&t->vocab, it->string, strlen(it->string), (int32_t)id))
            return ss_fail(err, SS_ERR_NOMEM, "out of memory loading %s", path);
    }
    const char *prefix = ss_json_str(m, "continuing_subword_prefix", "##");
    t->prefix_len = strlen(prefix);
    if (t->prefix_len >= sizeof t->prefix)
        return ss_fail(err, SS_ERR_UNSUPPORTED, "continuing_subword_prefix too long in %s", path);
    memcpy(t->prefix, prefix, t->prefix_len + 1);
    double mc = ss_json_num(m, "max_input_chars_per_word", 100);
    t->max_chars = mc < 0 ? 0 : mc > 1e9 ? 1000000000 : (int)mc;
    const char *unk = ss_json_str(m, "unk_token", "[UNK]");
    t->unk_id = ss_vocab_find(&t->vocab, unk, strlen(unk));
    if (t->unk_id < 0)
        return ss_fail(err, SS_ERR_FORMAT, "unk_token '%s' is not in the vocab of %s", unk, path);
    return SS_OK;
}

static ss_status parse_added(ss_tokenizer *t, const cJSON *list, const char *path, ss_error *err) {
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        const char *content = ss_json_str(it, "content", NULL);
        if (!content)
            return ss_fail(err, SS_ERR_FORMAT, "added_tokens entry without content in %s", path);
        /* Its "id" is not read: HF re-derives ids while adding (see ss_tok_add_token). */
        ss_status st = ss_tok_add_token(t, content, ss_tok_flags_json(it), err);
        if (st) {
            ss_error_prefix(err, "%s", path);
            return st;
        }
    }
    return SS_OK;
}

ss_status ss_tok_load_json(ss_tokenizer *t, const char *path, ss_error *err) {
    cJSON *root = ss_read_json(path, err);
    if (!root) return err ? err->code : SS_ERR_FORMAT;
    ss_status st = SS_OK;
    if (!cJSON_IsObject(root)) st = ss_fail(err, SS_ERR_FORMAT, "%s is not a JSON object", path);
    /* Order matters: normalized added tokens are stored in normalized form.
     * "truncation" and "padding" are ignored on purpose: the caller's max_len
     * (sentence-transformers' max_seq_length) rules, and we never pad. */
    if (!st) st = parse_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"), path, err);
    if (!st) st = parse_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path, err);
    if (!st) {
        ss_normalizer_finish(&t->norm);
        st = parse_pretokenizer(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), path, err);
    }
    if (!st) st = parse_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), path, err);
    if (!st) st = parse_added(t, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), path, err);
    /* The post-processor's ids must name tokens the vocabulary has (added
     * tokens included), or every encoded text would carry an id the model's
     * embedding table lacks. */
    for (int i = 0; !st && i < t->n_pre + t->n_post; i++) {
        int32_t id = i < t->n_pre ? t->pre[i] : t->post[i - t->n_pre];
        if (id >= t->vocab.n_ids || !t->vocab.strs[id])
            st = ss_fail(err, SS_ERR_FORMAT, "%s: post_processor special token id %d is not in the vocabulary (%d ids)",
                         path, (int)id, (int)t->vocab.n_ids);
    }
    if (!st) { /* pad id: an informative value even though padding is ours to do */
        const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(pad, "pad_id");
        if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 && pid->valuedouble < (double)t->vocab.n_ids)
            t->pad_id = (int32_t)pid->valuedouble;
    }
    cJSON_Delete(root);
    return st;
}
