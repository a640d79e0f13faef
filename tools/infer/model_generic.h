/**
 * @file model_generic.h
 * The generic model: a one-line description of a command's files turns an
 * invocation of that command into a thunk, as gg's model-generic did for
 * ExCamera's tools. The description (a "spec") names the program and says
 * which arguments are input files, output files, or neither:
 *
 *     ffmpeg -y,-nostdin -i=@infile -*=@ @outfile
 *     xc-enc -o,--output=@outfile -I,--input-state=@infile -w=@ @infile
 *     sort -o,--output=@outfile -k,-t,-S,-T=@ @infile...
 *
 * Words after the program:
 *   NAME[,NAME...]          options without an argument (NAME starts with '-')
 *   NAME[,NAME...]=KIND     options taking one argument of KIND
 *   -*  or  -*=KIND         options the spec does not name: flags (the
 *                           default), or taking one argument of KIND
 *   KIND  or  KIND...       the positional arguments, in order; "..." on the
 *                           last one applies it to all that remain
 * KIND is @infile (a host file or directory, or a placeholder: a dependency),
 * @outfile (an output of the thunk; a placeholder is written there) or @
 * (not a file). Arguments are matched as getopt would: "NAME VALUE",
 * "--long=VALUE", "-xVALUE" for a one-letter name, "--" ends the options.
 *
 * File arguments keep their spelling when it is a clean relative path
 * ("out/a.mp4"); others are rewritten to their place in the thunk: inside
 * the current directory relative to it, elsewhere .gg-sys/root/ABSOLUTE-PATH
 * (the layout `gg infer` uses).
 */
#ifndef GG_MODEL_GENERIC_H
#define GG_MODEL_GENERIC_H

#include "core/store.h"

#include <stdbool.h>
#include <stdint.h>

struct model_generic_opts {
	char *const *extra_inputs; /* "PATH[=FILE]", as gg thunk -i */
	size_t nextra;
	char *const *env; /* "NAME=VALUE": the thunk's whole environment */
	size_t nenv;
	uint64_t timeout_ms;     /* 0 = none */
	const char *search_path; /* where argv[0] is looked up; NULL = $PATH */
	bool no_placeholders;    /* do not write placeholders at the outputs */
	/*
	 * Where a host file goes in the thunk (malloc'd relative path), or NULL
	 * with gg_error set. NULL = the mapping above. `gg infer` passes its
	 * model_map so paths agree with its other models.
	 */
	char *(*map)(void *ctx, const char *host_path);
	void *map_ctx;
};

/*
 * Builds the thunk for argv (argv[0] = the program, whose base name must be
 * the spec's program's), stores it, writes a placeholder at every output
 * (unless no_placeholders) and sets *name. Returns 0, or -1 with an error
 * saying why the command cannot be modelled (a caller such as gg infer then
 * runs the real tool).
 */
int model_generic(struct store *s, const char *spec, int argc, char **argv,
                  const struct model_generic_opts *o, struct gg_name *name);

/* Checks a spec without using it: 0, or -1 with the reason. */
int model_generic_check(const char *spec);

/*
 * Finds the spec for a program in a list of specs separated by ';' or
 * newlines (e.g. $GG_INFER_GENERIC): the first whose program has the same
 * base name as `tool`. Returns a malloc'd spec or NULL.
 */
char *model_generic_find(const char *specs, const char *tool);

#endif
