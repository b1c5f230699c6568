/* chunk.c — splitting a long text into overlapping passages by model tokens.
 *
 * Units are whitespace-separated segments of the text ("word," with its
 * punctuation). The model's tokenizer (BertPreTokenizer / WordPiece) always
 * splits at whitespace and never joins across it, so the tokens of the whole
 * text are exactly the tokens of its segments one after another: each segment
 * is tokenized alone to learn how many model tokens it has, and its byte span
 * in the original text is known without mapping offsets back through the
 * tokenizer's normalizer (lowercasing, accent stripping, NFD change lengths).
 * A passage is a run of whole segments, text[start, end) from the first
 * segment's first byte to the last one's last byte, so embedding the passage
 * text gives exactly those tokens again.
 *
 * Windows: a passage holds as many whole segments as fit in chunk_tokens
 * tokens (a single segment longer than that is a passage of its own, which
 * the encoder truncates at max_seq_length). The next passage starts at the
 * latest segment such that the segments it shares with the previous passage
 * hold at least `overlap` tokens — whole segments, so the overlap is
 * >= overlap tokens and < overlap + the tokens of one segment — but always
 * at least one segment later than the previous start, and late enough that
 * the next segment still fits (else it would add nothing; then the overlap
 * is smaller). overlap 0: no sharing. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/store_internal.h"
#include "tokenizer/unicode.h"

typedef struct {
    size_t start, end; /* bytes */
    int ntok;
} seg;

void ss_chunks_free(ss_chunk *c) { free(c); }

ss_status ss_chunk_text(const ss_tokenizer *tok, const char *text, int chunk_tokens, int overlap, ss_chunk **out,
                        size_t *nout, ss_error *err) {
    *out = NULL;
    *nout = 0;
    if (!tok || !text) return ss_fail(err, SS_ERR_INVALID, "ss_chunk_text: NULL %s", tok ? "text" : "tokenizer");
    if (chunk_tokens < 1) return ss_fail(err, SS_ERR_INVALID, "chunk size %d tokens: must be at least 1", chunk_tokens);
    if (overlap < 0 || overlap >= chunk_tokens)
        return ss_fail(err, SS_ERR_INVALID, "chunk overlap %d tokens: must be 0 .. chunk size - 1 (%d)", overlap,
                       chunk_tokens - 1);
    size_t len = strlen(text);
    size_t bad = ss_utf8_invalid_at(text, len);
    if (bad < len)
        return ss_fail(err, SS_ERR_INVALID, "invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                       (unsigned)(unsigned char)text[bad]);
    /* Specials the tokenizer adds around one text ([CLS] ... [SEP]). */
    int nspecial = ss_tokenizer_encode(tok, "", 0, 0, NULL, 0, err);
    if (nspecial < 0) return err ? err->code : SS_ERR_INVALID;

    seg *segs = NULL;
    size_t nseg = 0, cap = 0;
    int32_t idbuf[64];
    ss_status s = SS_OK;
    for (size_t i = 0; i < len && s == SS_OK;) {
        size_t at = i;
        uint32_t ch = ss_utf8_next(text, &i);
        if (ss_uc_is_whitespace(ch)) continue;
        size_t b = at, e = i;
        while (e < len) { /* to the end of the segment */
            size_t j = e;
            uint32_t c2 = ss_utf8_next(text, &j);
            if (ss_uc_is_whitespace(c2)) break;
            e = j;
        }
        i = e;
        int n = ss_tokenizer_encode(tok, text + b, e - b, 0, idbuf, 64, err);
        if (n < 0) {
            s = err ? err->code : SS_ERR_INVALID;
            break;
        }
        n -= nspecial;
        if (n <= 0) continue; /* only characters the normalizer drops (controls) */
        if (nseg == cap) {
            cap = cap ? cap * 2 : 256;
            seg *g = realloc(segs, cap * sizeof *g);
            if (!g) {
                s = ss_fail(err, SS_ERR_NOMEM, "out of memory chunking a text of %zu bytes", len);
                break;
            }
            segs = g;
        }
        segs[nseg++] = (seg){b, e, n};
    }
    ss_chunk *ch = NULL;
    size_t nch = 0, chcap = 0;
    size_t a = 0; /* first segment of the current window */
    while (s == SS_OK && a < nseg) {
        size_t z = a;
        int t = segs[z++].ntok;
        while (z < nseg && t + segs[z].ntok <= chunk_tokens) t += segs[z++].ntok;
        if (nch == chcap) {
            chcap = chcap ? chcap * 2 : 16;
            ss_chunk *g = realloc(ch, chcap * sizeof *g);
            if (!g) {
                s = ss_fail(err, SS_ERR_NOMEM, "out of memory chunking a text of %zu bytes", len);
                break;
            }
            ch = g;
        }
        ch[nch++] = (ss_chunk){segs[a].start, segs[z - 1].end, t};
        if (z == nseg) break;
        /* Next start: the latest segment with >= overlap tokens from it to z ... */
        size_t nxt = z;
        int shared = 0;
        while (nxt > a + 1 && shared < overlap) shared += segs[--nxt].ntok;
        /* ... but the next window must take in segment z, or it adds nothing. */
        while (nxt < z && shared + segs[z].ntok > chunk_tokens) shared -= segs[nxt++].ntok;
        a = nxt;
    }
    free(segs);
    if (s != SS_OK) {
        free(ch);
        return s;
    }
    *out = ch;
    *nout = nch;
    return SS_OK;
}
