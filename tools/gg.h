/**
 * @file gg.h
 * The `gg` command's subcommands and the helpers they share.
 */
#ifndef GG_TOOLS_H
#define GG_TOOLS_H

#include "hash.h"
#include "store.h"

#define GG_VERSION "0.1.0"

int cmd_init(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_thunk(int argc, char **argv);
int cmd_force(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_remote_migrate(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_remote_has(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_model_generic(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
/* `gg infer`'s models: is this program name one, and run it (the exit status). */
bool infer_is_model(const char *name);
int infer_model_main(const char *tool, int argc, char **argv);
/* The model of the program this process was exec'd as during `gg infer`, or NULL. */
const char *infer_bound_model(const char *argv0);
/* After infer_bound_model gave NULL: was this process a tool gg infer bound
 * over, started without gg infer's variables that no parent still has? */
bool infer_bound_orphan(void);

/* Prints "gg: MSG" on stderr; returns 1 (the exit status for errors). */
int die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a usage error (a bad option or argument); returns 2. */
int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "gg: " + gg_last_error(); returns exit_status_of(gg_last_code()). */
int die_last(void);
/* The exit status for a kind of failure (gg(1), EXIT STATUS): 0 ok, 1 a
 * thunk or the work failed, 2 usage, 3 this machine, storage or a remote
 * engine, 130 cancelled. */
int exit_status_of(enum gg_code code);

/*
 * Opens the store; when none is found and `create` is set, creates .gg in the
 * current directory (saying so once on stderr).
 */
int open_store(bool create, struct store **out);

/* Writes an object's bytes to an fd. */
int copy_object_to_fd(struct store *s, const struct gg_name *n, int fd);

/* Handles -h/--help: prints the usage text and returns true. */
bool wants_help(int argc, char **argv, const char *usage);

#endif
