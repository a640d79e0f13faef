/**
 * @file infer.h
 * `gg infer` and `gg model-generic` (the commands), and how gg's main hands a
 * process over to a model during `gg infer`.
 */
#ifndef GG_TOOLS_INFER_H
#define GG_TOOLS_INFER_H

#include <stdbool.h>

int cmd_infer(int argc, char **argv);
int cmd_model_generic(int argc, char **argv);
/* `gg infer`'s models: is this program name one, and run it (the exit status). */
bool infer_is_model(const char *name);
int infer_model_main(const char *tool, int argc, char **argv);
/* The model of the program this process was exec'd as during `gg infer`, or NULL. */
const char *infer_bound_model(const char *argv0);
/* After infer_bound_model gave NULL: was this process a tool gg infer bound
 * over, started without gg infer's variables that no parent still has? */
bool infer_bound_orphan(void);

#endif
