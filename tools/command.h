/**
 * @file command.h
 * What every gg command shares: error and usage messages, exit statuses,
 * --help, opening the store. The commands themselves: tools/cli/commands.h
 * and (gg infer's) tools/infer/infer.h.
 */
#ifndef GG_TOOLS_COMMAND_H
#define GG_TOOLS_COMMAND_H

#include "core/hash.h"
#include "core/store.h"

#include <getopt.h>

#define GG_VERSION "0.1.0"

/* Prints "gg: MSG" on stderr; returns 1 (the exit status for errors), for the
 * command to return: none of the report_ functions exits. */
int report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a usage error (a bad option or argument); returns 2. */
int report_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "gg: " + gg_last_error(); returns exit_status_of(gg_last_code()). */
int report_last(void);
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

/*
 * Reads the options of a command whose options are flags (each of flags,
 * which may be NULL, sets its int *flag; at most 6) and -h/--help, with
 * getopt_long: they may come after operands, and "--" ends them (for an
 * operand that starts with '-'). Returns -1 with optind at the first
 * operand; else the exit status: 0 after printing help on stdout, 2 after
 * an unknown option (named by getopt) and "gg: " + usage on stderr.
 */
int read_flags(int argc, char **argv, const struct option *flags, const char *help,
               const char *usage);

/*
 * read_flags for a command whose options are not all flags: each option of
 * opts whose flag is NULL goes to take(ctx, its val, its argument or NULL),
 * which returns -1 to go on or the exit status to stop with (report_usage's 2
 * for a bad value). An option whose val is a letter is also -LETTER (short);
 * one that should be long only has a val above 255. At most 6 options.
 */
typedef int (*option_fn)(void *ctx, int opt, const char *arg);
int read_options(int argc, char **argv, const struct option *opts, const char *help,
                 const char *usage, option_fn take, void *ctx);

#endif
