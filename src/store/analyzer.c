/* analyzer.c — Elasticsearch's "standard" and "english" analyzers.
 *
 * standard: UAX #29 word boundaries (ICU's word break iterator, the rules
 *   Lucene's StandardTokenizer implements), keeping the segments ICU marks as
 *   words (letters, numbers, kana, ideographs), then lowercase per code point
 *   (Lucene's LowerCaseFilter maps code points with Character.toLowerCase;
 *   u_tolower is the same simple case mapping).
 * english: Lucene's EnglishAnalyzer chain, in its order: StandardTokenizer ->
 *   EnglishPossessiveFilter (trailing 's / ’s / ＇s, either case of s) ->
 *   LowerCaseFilter -> StopFilter(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) ->
 *   PorterStemFilter. Elasticsearch's "english" analyzer is this chain and its
 *   "english" stemmer is Lucene's PorterStemFilter, so Snowball's "porter"
 *   algorithm (libstemmer) is the match, not Snowball "english" (Porter2).
 *
 * Known differences from Lucene (docs/collections.md): ICU splits Han text
 * into dictionary words where Lucene emits one token per ideograph; emoji are
 * not tokens here; Lucene's 255-char token limit is not applied.
 *
 * Thread safety: an ss_analyzer (its break iterator and stemmer) is used by
 * one thread at a time; FTS5 creates one per connection. */
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "core/error.h"
#include "store/store_internal.h"

struct ss_analyzer {
    int english;
    struct sb_stemmer *stemmer;
    UBreakIterator *brk;
    /* scratch */
    UChar *u16;
    int32_t *u16_to_u8; /* byte offset of each UTF-16 unit */
    int cap16;
    char *tok;
    int tokcap;
};

/* Lucene EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (= Elasticsearch's _english_). */
static const char *const stop_words[] = {
    "a",    "an",   "and",   "are",  "as",    "at",   "be",   "but",  "by",   "for",  "if",
    "in",   "into", "is",    "it",   "no",    "not",  "of",   "on",   "or",   "such", "that",
    "the",  "their", "then", "there", "these", "they", "this", "to",   "was",  "will", "with"};

static int is_stop(const char *t, int n) {
    for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++)
        if ((int)strlen(stop_words[i]) == n && !memcmp(stop_words[i], t, (size_t)n)) return 1;
    return 0;
}

int ss__analyzer_valid(const char *name) { return !strcmp(name, "standard") || !strcmp(name, "english"); }

ss_analyzer *ss__analyzer_new(const char *name, ss_error *err) {
    if (!name || !ss__analyzer_valid(name)) {
        ss_fail(err, SS_ERR_INVALID, "unknown analyzer '%s' (standard, english)", name ? name : "(null)");
        return NULL;
    }
    ss_analyzer *a = calloc(1, sizeof *a);
    if (!a) {
        ss_fail(err, SS_ERR_NOMEM, "out of memory creating analyzer");
        return NULL;
    }
    a->english = !strcmp(name, "english");
    if (a->english) {
        a->stemmer = sb_stemmer_new("porter", "UTF_8");
        if (!a->stemmer) {
            free(a);
            ss_fail(err, SS_ERR_UNSUPPORTED, "libstemmer has no 'porter' algorithm");
            return NULL;
        }
    }
    UErrorCode ue = U_ZERO_ERROR;
    a->brk = ubrk_open(UBRK_WORD, "en", NULL, 0, &ue);
    if (U_FAILURE(ue)) {
        ss__analyzer_free(a);
        ss_fail(err, SS_ERR_UNSUPPORTED, "ICU word break iterator: %s", u_errorName(ue));
        return NULL;
    }
    return a;
}

void ss__analyzer_free(ss_analyzer *a) {
    if (!a) return;
    if (a->stemmer) sb_stemmer_delete(a->stemmer);
    if (a->brk) ubrk_close(a->brk);
    free(a->u16);
    free(a->u16_to_u8);
    free(a->tok);
    free(a);
}

static int grow_tok(ss_analyzer *a, int need) {
    if (need <= a->tokcap) return 0;
    int cap = need * 2 + 64;
    char *t = realloc(a->tok, (size_t)cap);
    if (!t) return -1;
    a->tok = t;
    a->tokcap = cap;
    return 0;
}

int ss__analyze(ss_analyzer *a, const char *text, int len, ss_token_fn emit, void *user) {
    if (len <= 0) return 0;
    if (len + 1 > a->cap16) {
        int cap = len + 1;
        UChar *u = realloc(a->u16, (size_t)cap * sizeof *u);
        if (!u) return -1;
        a->u16 = u;
        int32_t *m = realloc(a->u16_to_u8, (size_t)(cap + 1) * sizeof *m);
        if (!m) return -1;
        a->u16_to_u8 = m;
        a->cap16 = cap;
    }
    /* UTF-8 -> UTF-16 keeping each unit's byte offset (invalid bytes: U+FFFD). */
    int32_t i = 0, n16 = 0;
    while (i < len) {
        int32_t start = i;
        UChar32 cp;
        U8_NEXT((const uint8_t *)text, i, len, cp);
        if (cp < 0) cp = 0xFFFD;
        if (U16_LENGTH(cp) == 2) {
            a->u16_to_u8[n16] = start;
            a->u16[n16++] = U16_LEAD(cp);
            a->u16_to_u8[n16] = start;
            a->u16[n16++] = U16_TRAIL(cp);
        } else {
            a->u16_to_u8[n16] = start;
            a->u16[n16++] = (UChar)cp;
        }
    }
    a->u16_to_u8[n16] = len;
    UErrorCode ue = U_ZERO_ERROR;
    ubrk_setText(a->brk, a->u16, n16, &ue);
    if (U_FAILURE(ue)) return -1;
    int32_t s = ubrk_first(a->brk);
    for (int32_t e = ubrk_next(a->brk); e != UBRK_DONE; s = e, e = ubrk_next(a->brk)) {
        if (ubrk_getRuleStatus(a->brk) == UBRK_WORD_NONE) continue; /* spaces, punctuation */
        int32_t end = e;
        if (a->english && end - s >= 2) { /* EnglishPossessiveFilter, before lowercasing */
            UChar q = a->u16[end - 2], sch = a->u16[end - 1];
            if ((q == '\'' || q == 0x2019 || q == 0xFF07) && (sch == 's' || sch == 'S')) end -= 2;
        }
        if (end <= s) continue;
        /* Lowercase per code point into UTF-8. */
        if (grow_tok(a, (end - s) * 4 + 4) != 0) return -1;
        int32_t k = s, n8 = 0;
        while (k < end) {
            UChar32 cp;
            U16_NEXT(a->u16, k, end, cp);
            cp = u_tolower(cp);
            UBool bad = 0;
            U8_APPEND((uint8_t *)a->tok, n8, a->tokcap, cp, bad);
            if (bad) return -1;
        }
        a->tok[n8] = '\0';
        const char *out = a->tok;
        int nout = n8;
        if (a->english) {
            if (is_stop(out, nout)) continue;
            const sb_symbol *st = sb_stemmer_stem(a->stemmer, (const sb_symbol *)out, nout);
            if (!st) return -1;
            out = (const char *)st;
            nout = sb_stemmer_length(a->stemmer);
        }
        if (nout == 0) continue;
        int rc = emit(user, out, nout, a->u16_to_u8[s], a->u16_to_u8[e]);
        if (rc) return rc;
    }
    return 0;
}

typedef struct {
    void (*emit)(void *, const char *);
    void *user;
    char *buf;
    int cap;
} pub_emit;

static int pub_cb(void *user, const char *tok, int len, int start, int end) {
    (void)start, (void)end;
    pub_emit *p = user;
    if (len + 1 > p->cap) {
        char *b = realloc(p->buf, (size_t)len + 64);
        if (!b) return -1;
        p->buf = b;
        p->cap = len + 64;
    }
    memcpy(p->buf, tok, (size_t)len);
    p->buf[len] = '\0';
    p->emit(p->user, p->buf);
    return 0;
}

ss_status ss_analyze(const char *analyzer, const char *text, void (*emit)(void *user, const char *token), void *user,
                     ss_error *err) {
    ss_analyzer *a = ss__analyzer_new(analyzer, err);
    if (!a) return err ? err->code : SS_ERR_INVALID;
    pub_emit p = {emit, user, NULL, 0};
    int rc = ss__analyze(a, text, (int)strlen(text), pub_cb, &p);
    free(p.buf);
    ss__analyzer_free(a);
    if (rc) return ss_fail(err, SS_ERR_NOMEM, "analyzing text failed (out of memory)");
    return SS_OK;
}
