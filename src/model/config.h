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
    /* hidden_dropout_prob / attention_probs_dropout_prob (0.1 when absent, as
     * BertConfig / MPNetConfig): used by training only (ss_tf_work.dropout) */
    float hidden_dropout, attn_dropout;
} ss_tf_config;

/* Pooling flags of 1_Pooling/config.json; several may be set (outputs concatenated,
 * in sentence-transformers' order: cls, max, mean, mean_sqrt_len, weightedmean, lasttoken). */
typedef struct ss_pooling_config {
    int cls, max, mean, mean_sqrt_len, weightedmean, lasttoken;
    int include_prompt;
} ss_pooling_config;

/* A sentence-transformers models.Dense module (DIR/path/config.json):
 * y = activation(W x + b), W [out_features, in_features]. */
typedef enum { SS_DENSE_IDENTITY, SS_DENSE_TANH, SS_DENSE_RELU, SS_DENSE_SIGMOID, SS_DENSE_GELU } ss_dense_act;
typedef struct ss_dense_config {
    char path[256];  /* sub-folder, relative to the model folder */
    int in_features, out_features, bias;
    ss_dense_act act;
} ss_dense_config;

#define SS_MAX_DENSE 8

/* The sentence-transformers pipeline around the transformer. */
typedef struct ss_st_config {
    ss_pooling_config pooling;
    int n_dense;         /* Dense modules after Pooling, in modules.json order */
    ss_dense_config dense[SS_MAX_DENSE];
    int normalize;       /* a Normalize module is present */
    int max_seq_length;  /* sentence_bert_config.json, else min(max_position, tokenizer max) */
    int do_lower_case;   /* sentence_bert_config.json: Python .lower() before the tokenizer */
    int n_prompts;
    char **prompt_names; /* n_prompts each, from config_sentence_transformers.json */
    char **prompt_texts;
    char *default_prompt_name;
} ss_st_config;

/* Reads DIR/config.json and range-checks every value; when DIR/model.safetensors
 * exists, also checks each value against the tensors it sizes (vocab_size vs the
 * word embeddings, num_hidden_layers vs the layers present, ...). Errors name the
 * file, the key and the value. */
ss_status ss_tf_config_load(ss_tf_config *cfg, const char *dir, ss_error *err);
/* The same checks without opening the weights (for listing a folder's facts). */
ss_status ss_tf_config_parse(ss_tf_config *cfg, const char *dir, ss_error *err);
/* Reads modules.json, sentence_bert_config.json, 1_Pooling/config.json,
 * config_sentence_transformers.json; defaults as sentence-transformers when absent. */
ss_status ss_st_config_load(ss_st_config *st, const char *dir, const ss_tf_config *cfg, ss_error *err);
void ss_st_config_free(ss_st_config *st);
/* The prompt text for a name, NULL when the model has none of that name. */
const char *ss_st_prompt(const ss_st_config *st, const char *name);
/* Number of pooling outputs concatenated (>= 1). */
int ss_pooling_count(const ss_pooling_config *p);
/* The embedding size the pipeline produces: hidden x pooling count, or the
 * last Dense module's out_features. */
/* "mean", "cls", "mean+max", ... (sentence-transformers' order). */
void ss_pooling_name(const ss_pooling_config *p, char *buf, size_t cap);
int ss_st_output_dim(const ss_st_config *st, const ss_tf_config *cfg);
/* Resolve SUB (a module path from modules.json) inside DIR into out; refuses
 * absolute paths, ".." and symlinks that lead out of DIR. */
ss_status ss_module_dir(char *out, size_t cap, const char *dir, const char *sub, const char *modules_json,
                        ss_error *err);

#endif
