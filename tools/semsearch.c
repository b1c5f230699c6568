/* semsearch.c — the CLI's main: dispatches `semsearch VERB ...` to tools/cmd_VERB.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "semsearch.h"

static const ss_command commands[] = {
    {"embed", cmd_embed, "embed texts (lines or JSONL) into JSONL / .npy / .fvecs vectors"},
    {"similarity", cmd_similarity, "print the cosine similarity matrix of the input texts"},
    {"tokenize", cmd_tokenize, "show token ids (and tokens) of each input line"},
    {"demo", cmd_demo, "embed a small corpus and answer a few queries (top-k search)"},
    {"pull", cmd_pull, "download a model from the Hugging Face hub into the cache (resumable)"},
    {"models", cmd_models, "list cached models: dims, pooling, max_seq_length, size on disk"},
    {"index", cmd_index, "build / query a vector index (flat or HNSW; fp32, int8, binary) from .fvecs/.npy"},
    {"train", cmd_train, "fine-tune a model on CSV/TSV/JSONL pairs or triplets (MNRL, cosine, contrastive, ...)"},
    {"eval", cmd_eval, "eval sts FILE: Spearman / Pearson x100 of cosine vs gold scores"},
};

static void usage(FILE *f) {
    fprintf(f, "semsearch %s — sentence embeddings and semantic search in C\n\n", SEMSEARCH_VERSION);
    fprintf(f, "usage: semsearch VERB [options]   (semsearch VERB --help for a verb's options)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("semsearch %s\n", SEMSEARCH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "semsearch: unknown verb '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
