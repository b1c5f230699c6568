/* commands.h — the CLI's verbs. Each lives in tools/cmd_<verb>.c, parses its
 * own flags, and calls into libsemsearch; main() in semsearch.c dispatches. */
#ifndef SS_TOOLS_COMMANDS_H
#define SS_TOOLS_COMMANDS_H

typedef struct ss_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
    const char *summary;
} ss_command;

int cmd_embed(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_pull(int argc, char **argv);   /* tools/cmd_pull.c (model hub) */
int cmd_models(int argc, char **argv); /* tools/cmd_models.c (model hub) */
int cmd_index(int argc, char **argv);
int cmd_train(int argc, char **argv); /* tools/cmd_train.c (fine-tuning) */
int cmd_eval(int argc, char **argv);  /* tools/cmd_train.c */

#endif
