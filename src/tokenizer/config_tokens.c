/* config_tokens.c — the added tokens transformers puts on top of tokenizer.json.
 *
 * PreTrainedTokenizerFast.__init__ (transformers 4.40) re-adds (1) every
 * tokenizer_config.json added_tokens_decoder entry that differs from the
 * tokenizer.json one, and (2) its special tokens (bos ... mask, additional):
 * plain strings only when the content is not an added token yet, AddedToken
 * objects (dicts, decoder entries, MPNet's <mask>) whenever they differ. For
 * the files of real models all of this is a no-op, but an older config whose
 * flags disagree with tokenizer.json changes how the text is split. */
#include "core/error.h"
#include "core/fileio.h"
#include "tokenizer/tokenizer_internal.h"

#include <string.h>

static const char *const special_keys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                           "pad_token", "cls_token", "mask_token"};

/* Is content one of the config's special tokens (transformers' all_special_tokens)? */
static int is_special_content(const cJSON *cfg, const char *content) {
    for (size_t k = 0; k < sizeof special_keys / sizeof *special_keys; k++) {
        const char *c = ss_tok_config_token(cfg, special_keys[k], NULL);
        if (c && !strcmp(c, content)) return 1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(cfg, "additional_special_tokens")) {
        const char *c = cJSON_IsString(it) ? it->valuestring : ss_json_str(it, "content", NULL);
        if (c && !strcmp(c, content)) return 1;
    }
    return 0;
}

static const cJSON *decoder_entry(const cJSON *dec, const char *content) {
    const cJSON *it;
    cJSON_ArrayForEach(it, dec) {
        const char *c = ss_json_str(it, "content", NULL);
        if (c && !strcmp(c, content)) return it;
    }
    return NULL;
}

/* One special-token attribute value: "[CLS]" or an AddedToken dict. */
static ss_status add_special(ss_tokenizer *t, const cJSON *v, const cJSON *dec, int mpnet_mask,
                             ss_error *err) {
    const char *content = cJSON_IsString(v) ? v->valuestring : ss_json_str(v, "content", NULL);
    if (!content || !*content) return SS_OK;
    const cJSON *d = decoder_entry(dec, content);
    const cJSON *src = d ? d : cJSON_IsObject(v) ? v : NULL;
    ss_added_flags f;
    if (src) {
        f = ss_tok_flags_json(src);
        /* PyAddedToken: an unset normalized defaults to !special once special */
        if (!cJSON_HasObjectItem(src, "normalized")) f.normalized = 0;
    } else if (mpnet_mask) { /* MPNetTokenizerFast: AddedToken(mask, lstrip=True); as a
                                special token its normalized defaults to false */
        f = (ss_added_flags){.lstrip = 1};
    } else { /* a string: added only when unknown, as a special, not normalized */
        if (ss_added_find(&t->added_all, content, strlen(content)) >= 0) return SS_OK;
        f = (ss_added_flags){0};
    }
    f.special = 1; /* add_special_tokens marks them special */
    return ss_tok_add_token(t, content, f, err);
}

ss_status ss_tok_merge_config_tokens(ss_tokenizer *t, const char *dir, ss_error *err) {
    char path[4096];
    if (!ss_path_exists(ss_path_join(path, sizeof path, dir, "tokenizer_config.json"))) return SS_OK;
    cJSON *cfg = ss_read_json(path, err);
    if (!cfg) return err ? err->code : SS_ERR_FORMAT;
    ss_status st = SS_OK;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(cfg, "added_tokens_decoder");
    if (cJSON_IsObject(dec)) {
        int n = cJSON_GetArraySize(dec), k = 0;
        const cJSON **v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v), *it;
        if (!v) st = ss_fail(err, SS_ERR_NOMEM, "out of memory reading %s", path);
        if (v) {
            cJSON_ArrayForEach(it, dec) v[k++] = it;
            qsort(v, (size_t)n, sizeof *v, ss_tok_by_id);
            for (k = 0; k < n && !st; k++) {
                const char *content = ss_json_str(v[k], "content", NULL);
                if (!content) continue;
                ss_added_flags f = ss_tok_flags_json(v[k]);
                if (!f.special && is_special_content(cfg, content)) { /* add_special_tokens */
                    f.special = 1;
                    if (!cJSON_HasObjectItem(v[k], "normalized")) f.normalized = 0;
                }
                st = ss_tok_add_token(t, content, f, err);
            }
            free(v);
        }
    }
    int mpnet = !strncmp(ss_json_str(cfg, "tokenizer_class", ""), "MPNet", 5);
    for (size_t k = 0; k < sizeof special_keys / sizeof *special_keys && !st; k++)
        st = add_special(t, cJSON_GetObjectItemCaseSensitive(cfg, special_keys[k]), dec,
                         mpnet && !strcmp(special_keys[k], "mask_token"), err);
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(cfg, "additional_special_tokens"), *it;
    cJSON_ArrayForEach(it, extra) {
        if (st) break;
        st = add_special(t, it, dec, 0, err);
    }
    if (st) ss_error_prefix(err, "%s", path);
    cJSON_Delete(cfg);
    return st;
}
