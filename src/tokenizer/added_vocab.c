/* added_vocab.c — registering added tokens exactly as HF's
 * AddedVocabulary::add_tokens does, quirks included, because the order and
 * flags of additions decide how text is split:
 *  - a token identical (content and every flag) to one already added is ignored;
 *  - ids: the content's existing added id, else its vocabulary id, else the
 *    next id after the vocabulary (the "id" written in tokenizer.json is not read);
 *  - the split patterns come from the special_tokens list (a content enters it
 *    once, with the flags of its first special addition) and the plain
 *    added_tokens list (every non-special addition of a content not special),
 *    each matched raw or normalized by its own `normalized` flag;
 *  - single_word / lstrip / rstrip are looked up by id at match time, so the
 *    latest addition's flags apply to every pattern of that id. */
#include "core/error.h"
#include "core/fileio.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

#include <string.h>

ss_added_flags ss_tok_flags_json(const cJSON *o) {
    ss_added_flags f;
    f.special = ss_json_bool(o, "special", 0);
    f.single_word = ss_json_bool(o, "single_word", 0);
    f.lstrip = ss_json_bool(o, "lstrip", 0);
    f.rstrip = ss_json_bool(o, "rstrip", 0);
    f.normalized = ss_json_bool(o, "normalized", !f.special); /* AddedToken::from */
    return f;
}

static int same_flags(ss_added_flags a, ss_added_flags b) {
    return a.single_word == b.single_word && a.lstrip == b.lstrip && a.rstrip == b.rstrip &&
           a.normalized == b.normalized && a.special == b.special;
}

static void set_id_flags(ss_added_set *set, int32_t id, ss_added_flags f) {
    for (int k = 0; k < set->n; k++)
        if (set->v[k].id == id) set->v[k].f = f;
}

/* Add a split pattern: raw, or normalized with the tokenizer's normalizer. */
static int add_pattern(ss_tokenizer *t, const char *content, size_t len, int32_t id, ss_added_flags f) {
    if (!f.normalized) return ss_added_add(&t->added_raw, content, len, id, f);
    ss_bytes nb = {0};
    ss_norm_scratch sc = {0};
    int bad = ss_normalize(&t->norm, content, len, &nb, &sc);
    if (!bad && nb.n > 0) bad = ss_added_add(&t->added_norm, nb.v, nb.n, id, f);
    free(nb.v);
    ss_norm_scratch_free(&sc);
    return bad;
}

ss_status ss_tok_add_token(ss_tokenizer *t, const char *content, ss_added_flags f, ss_error *err) {
    size_t len = strlen(content);
    if (len == 0) return SS_OK;
    if (ss_utf8_invalid_at(content, len) < len)
        return ss_fail(err, SS_ERR_FORMAT, "added token with invalid UTF-8");
    int k = ss_added_find(&t->added_all, content, len);
    if (k >= 0 && same_flags(t->added_all.v[k].f, f)) return SS_OK;

    int32_t id;
    if (k >= 0) {
        id = t->added_all.v[k].id;
    } else if ((id = ss_vocab_find(&t->vocab, content, len)) < 0) {
        int32_t size = (int32_t)t->vocab.n_entries;
        id = t->max_added_id < 0 ? size
             : (t->max_added_id >= size || size == 0) ? t->max_added_id + 1 : size;
    }
    if (k < 0) {
        if (ss_added_add(&t->added_all, content, len, id, f)) goto oom;
        k = t->added_all.n - 1;
    }
    if (id > t->max_added_id) t->max_added_id = id;
    t->added_all.v[k].f = f;
    set_id_flags(&t->added_raw, id, f);
    set_id_flags(&t->added_norm, id, f);

    if (!t->added_all.v[k].in_special_list) {
        if (f.special) t->added_all.v[k].in_special_list = 1;
        if (add_pattern(t, content, len, id, f)) goto oom;
    }
    return SS_OK;
oom:
    return ss_fail(err, SS_ERR_NOMEM, "out of memory adding token '%s'", content);
}
