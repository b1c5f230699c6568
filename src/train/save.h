/* save.h — write a trained encoder as a standard sentence-transformers
 * folder that SentenceTransformer(path) and `semsearch embed --model path`
 * load: every non-weight file of the base model folder (config.json,
 * tokenizer files, modules.json, sentence_bert_config.json, 1_Pooling/,
 * 2_Normalize/, config_sentence_transformers.json, ...) copied, and
 * model.safetensors written from the flat parameters under Hugging Face's
 * tensor names (F32; the base's pooler tensors carried over when present).
 *
 * Atomic: everything is written into OUT.tmp-PID, fsynced, and renamed to OUT
 * (an existing OUT is replaced only once the new folder is complete). */
#ifndef SS_TRAIN_SAVE_H
#define SS_TRAIN_SAVE_H

#include "model/transformer.h"
#include "semsearch.h"

ss_status ss_train_save(const ss_transformer *tf, const char *base_dir, const char *out_dir, ss_error *err);

/* Write model.safetensors only (path is written directly; callers wanting
 * atomicity write to a temporary name). base_weights (optional): the base
 * model's safetensors path, whose pooler tensors are carried over. */
ss_status ss_train_write_safetensors(const ss_transformer *tf, const char *path, const char *base_weights,
                                     ss_error *err);

#endif
