/* config.h — what a model folder says about itself: the transformer's
 * config.json, and the sentence-transformers modules around it. */
#ifndef SS_MODEL_CONFIG_H
#define SS_MODEL_CONFIG_H

#include "semsearch.h"

typedef enum { SS_ARCH_BERT, SS_ARCH_MPNET } ss_arch;
typedef enum { SS_ACT_GELU, SS_ACT_GELU_TANH, SS_ACT_RELU } ss_act;

/* config.json of the Hugging Face transformer. */
typedef struct ss_tf_config {
    ss_arch arch;
    char model_type[32];
    int vocab_size, hidden, layers, heads, intermediate;
    int max_position, type_vocab, pad_token_id;
    int rel_buckets;   /* MPNet relative_attention_num_buckets (32) */
    float ln_eps;
    ss_act act;
} ss_tf_config;

/* Pooling flags of 1_Pooling/config.json; several may be set (outputs concatenated,
 * in sentence-transformers' order: cls, max, mean, mean_sqrt_len, weightedmean, lasttoken). */
typedef struct ss_pooling_config {
    int cls, max, mean, mean_sqrt_len, weightedmean, lasttoken;
    int include_prompt;
} ss_pooling_config;

#define SS_MAX_PROMPTS 16

/* The sentence-transformers pipeline around the transformer. */
typedef struct ss_st_config {
    ss_pooling_config pooling;
    int normalize;       /* a Normalize module is present */
    int max_seq_length;  /* sentence_bert_config.json, else min(max_position, tokenizer max) */
    int do_lower_case;   /* sentence_bert_config.json: Python .lower() before the tokenizer */
    int n_prompts;
    char *prompt_names[SS_MAX_PROMPTS];
    char *prompt_texts[SS_MAX_PROMPTS];
    char *default_prompt_name;
} ss_st_config;

ss_status ss_tf_config_load(ss_tf_config *cfg, const char *dir, ss_error *err);
/* Reads modules.json, sentence_bert_config.json, 1_Pooling/config.json,
 * config_sentence_transformers.json; defaults as sentence-transformers when absent. */
ss_status ss_st_config_load(ss_st_config *st, const char *dir, const ss_tf_config *cfg, ss_error *err);
void ss_st_config_free(ss_st_config *st);
/* The prompt text for a name, NULL when the model has none of that name. */
const char *ss_st_prompt(const ss_st_config *st, const char *name);
/* Number of pooling outputs concatenated (>= 1). */
int ss_pooling_count(const ss_pooling_config *p);

#endif
