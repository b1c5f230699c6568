/* unicode_tables.h — exact character sets of the reference tokenizer (generated). */
#ifndef SS_TOKENIZER_UNICODE_TABLES_H
#define SS_TOKENIZER_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint32_t lo, hi; } ss_uc_range;         /* inclusive */
typedef struct { uint32_t cp; uint32_t to[2]; } ss_uc_lower_map; /* to[1] == 0: one char */

extern const ss_uc_range ss_uc_clean_deleted[];
extern const size_t ss_uc_clean_deleted_n;
extern const ss_uc_range ss_uc_bert_mn[];
extern const size_t ss_uc_bert_mn_n;
extern const ss_uc_range ss_uc_mark[];
extern const size_t ss_uc_mark_n;
extern const ss_uc_range ss_uc_punct[];
extern const size_t ss_uc_punct_n;
extern const ss_uc_range ss_uc_word[];
extern const size_t ss_uc_word_n;
extern const ss_uc_range ss_uc_nonstarter[];
extern const size_t ss_uc_nonstarter_n;
extern const ss_uc_lower_map ss_uc_lowers[];
extern const size_t ss_uc_lowers_n;

#endif
