/**
 * @file thunk.h
 * The thunk: a content-addressed description of one process run, and its
 * canonical encoding (documented in man/gg-thunk.5). One description has
 * exactly one encoding, so equal thunks have equal names.
 *
 *     ggthunk 1
 *     exe LEN PATH                 the input to execute
 *     arg LEN BYTES                argv, argv[0] first        (one or more)
 *     env LEN NAME=VALUE           the complete environment, sorted
 *     in x|-|l REF LEN PATH        inputs, sorted by path      (x = executable,
 *                                  l = a symbolic link whose target is the value)
 *     out LEN PATH                 outputs, the first is the primary one
 *     timeout MS                   0 = no limit
 *
 * Strings are length-prefixed (decimal, no leading zeros) so any byte but NUL
 * may appear; every line ends in "\n".
 */
#ifndef GG_THUNK_H
#define GG_THUNK_H

#include "core/hash.h"
#include "core/util.h"

#define THUNK_MAGIC    "ggthunk 1\n"
#define THUNK_MAX_SIZE (64u << 20)
/* The largest time limit, in seconds, that gg thunk --timeout, gg force
 * --default-timeout and the like take: its deadline in nanoseconds must not
 * overflow (about 584 years). */
#define THUNK_MAX_TIMEOUT_S (UINT64_MAX / 1000000000u)

struct thunk_input {
	char *path;
	struct gg_ref ref;
	bool exec;
	bool link; /* a symbolic link: the value is its target (store_read_link); never exec */
};

struct thunk {
	char *exe;
	struct strvec argv;
	struct strvec env;
	struct thunk_input *inputs;
	size_t ninputs, inputs_cap;
	struct strvec outputs;
	uint64_t timeout_ms;
};

void thunk_init(struct thunk *t);
void thunk_free(struct thunk *t);
/* Adds an input (copies path and ref). A later input at the same path replaces it. */
void thunk_add_input(struct thunk *t, const char *path, const struct gg_ref *ref, bool exec);
/* The same for a symbolic link whose target is the value ref names. */
void thunk_add_link_input(struct thunk *t, const char *path, const struct gg_ref *ref);
const struct thunk_input *thunk_find_input(const struct thunk *t, const char *path);
/* Sorts env and inputs, then checks every rule; 0 or -1 with an error. */
int thunk_canonicalize(struct thunk *t);
/* Canonicalizes and encodes. */
int thunk_encode(struct thunk *t, struct buf *out);
/* Strict parse: anything not in canonical form is rejected with a clear error. */
int thunk_parse(const void *data, size_t len, struct thunk *out);
/* Canonicalizes, encodes and names. */
int thunk_name(struct thunk *t, struct gg_name *out, struct buf *encoded);
/* True when no input refers to a thunk output (the thunk can be executed). */
bool thunk_is_reduced(const struct thunk *t);
/* Is the output declared? */
bool thunk_has_output(const struct thunk *t, const char *path);

/*
 * The command line as a person would type it (shell-quoted, malloc'd): the
 * explicit-loader prefix added by closure.c ("LOADER --library-path DIR
 * --argv0 NAME PROG") is shown as just NAME.
 */
char *thunk_command_line(const struct thunk *t);
#endif
