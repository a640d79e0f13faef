/**
 * @file cmd_thunk.c
 * `gg thunk`: builds one thunk from a command line, stores it and prints its
 * name. Inputs are host files (stored as values) or placeholders (which make
 * a dependency on their thunk). The program and everything it needs to run
 * (loader, shared libraries, script interpreter) become inputs too.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "core/placeholder.h"
#include "core/thunk.h"
#include "core/thunk_build.h"
#include "core/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: gg thunk [-i PATH[=FILE]]... [-o PATH]... [-e NAME=VALUE]... [--timeout SEC]\n"
    "                [--placeholder FILE] -- PROGRAM [ARG...]\n"
    "\n"
    "  -i, --input PATH[=FILE]  place FILE (default: PATH) at relative PATH in the sandbox;\n"
    "                           a placeholder makes a dependency on its thunk; a directory\n"
    "                           adds every file below it\n"
    "  -o, --output PATH        an output file (the first is the primary output)\n"
    "  -e, --env NAME=VALUE     an environment variable (the environment is empty otherwise)\n"
    "  --timeout SEC            kill the program after SEC seconds\n"
    "  --tool NAME              put NAME (looked up on PATH, or a path) and what it needs\n"
    "                           to run on the thunk's PATH, for scripts that run it\n"
    "  --placeholder FILE       write a placeholder for the primary output at FILE\n"
    "\n"
    "PROGRAM is an input path, or is looked up on PATH; it, its loader, shared\n"
    "libraries and script interpreter become inputs under .gg-sys/.\n";

static int add_file_input(struct store *s, struct thunk *t, const char *path, const char *file)
{
	if (path_check_relative(path, "-i") < 0)
		return gg_error("%s (use -i RELATIVE-PATH=%s to place it)", gg_last_error(), file);
	if (!strncmp(path, ".gg-sys/", 8) || !strcmp(path, ".gg-sys"))
		return gg_error("-i %s: .gg-sys/ is reserved for the program's own files", path);
	return tbuild_add_file(s, t, path, file);
}

static bool env_has(const struct thunk *t, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < t->env.n; i++)
		if (!strncmp(t->env.v[i], name, n) && t->env.v[i][n] == '=')
			return true;
	return false;
}

static int add_closure(struct store *s, struct thunk *t, const char *program, struct strvec *args)
{
	/* A program that is one of the inputs runs directly. */
	const char *rel = !strncmp(program, "./", 2) ? program + 2 : program;
	const struct thunk_input *in = thunk_find_input(t, rel);
	if (in) {
		struct gg_ref ref;
		gg_ref_copy(&ref, &in->ref);
		thunk_add_input(t, rel, &ref, true);
		gg_ref_free(&ref);
		t->exe = xstrdup(rel);
		strvec_push(&t->argv, program);
		for (size_t i = 0; i < args->n; i++)
			strvec_push(&t->argv, args->v[i]);
		return 0;
	}
	const char *base = strrchr(program, '/');
	return tbuild_set_program(s, t, program, base ? base + 1 : program, NULL, args->v, args->n);
}

int cmd_thunk(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"input", required_argument, 0, 'i'},
	    {"output", required_argument, 0, 'o'},
	    {"env", required_argument, 0, 'e'},
	    {"timeout", required_argument, 0, 't'},
	    {"placeholder", required_argument, 0, 'p'},
	    {"tool", required_argument, 0, 'T'},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	struct store *s = NULL;
	struct thunk t;
	thunk_init(&t);
	struct strvec inputs = STRVEC_INIT, tools = STRVEC_INIT;
	const char *placeholder = NULL;
	int rc = 1, c;
	/* Its own getopt loop, not read_options: "+" ends the options at
	 * PROGRAM, whose options are its own. optind 0, not 1: getopt starts
	 * afresh (see read_options), "+" included. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+i:o:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': strvec_push(&inputs, optarg); break;
		case 'o': strvec_push(&t.outputs, optarg); break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				rc = report_usage("-e %s: expected NAME=VALUE", optarg);
				goto out;
			}
			strvec_push(&t.env, optarg);
			break;
		case 't':
			if (tbuild_timeout_parse(optarg, &t.timeout_ms) < 0)
				goto failed;
			break;
		case 'p': placeholder = optarg; break;
		case 'T': strvec_push(&tools, optarg); break;
		case 'h':
			fputs(help, stdout);
			rc = 0;
			goto out;
		default:
			fputs(help, stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind >= argc) {
		rc = report_usage(
		    "thunk: no PROGRAM given (gg thunk [OPTIONS] -- PROGRAM [ARG...])");
		goto out;
	}
	if (t.outputs.n == 0) {
		rc = report_usage("thunk: at least one output (-o PATH) is required");
		goto out;
	}
	if (open_store(true, &s) < 0)
		goto failed;
	for (size_t i = 0; i < inputs.n; i++) {
		char *eq = strchr(inputs.v[i], '=');
		char *path =
		    eq ? xstrndup(inputs.v[i], (size_t)(eq - inputs.v[i])) : xstrdup(inputs.v[i]);
		int r = add_file_input(s, &t, path, eq ? eq + 1 : inputs.v[i]);
		free(path);
		if (r < 0)
			goto failed;
	}
	for (size_t i = 0; i < tools.n; i++) {
		if (tbuild_add_tool(s, &t, tools.v[i]) < 0)
			goto failed;
	}
	/* Tools are found by name: PATH and the libraries' directory, unless
	 * the caller chose them with -e. */
	if (tools.n && !env_has(&t, "PATH"))
		strvec_push(&t.env, "PATH=" TBUILD_TOOL_PATH);
	if (tools.n && !env_has(&t, "LD_LIBRARY_PATH"))
		strvec_push(&t.env, "LD_LIBRARY_PATH=" TBUILD_TOOL_LIBS);
	struct strvec args = STRVEC_INIT;
	for (int i = optind + 1; i < argc; i++)
		strvec_push(&args, argv[i]);
	int r = add_closure(s, &t, argv[optind], &args);
	strvec_free(&args);
	if (r < 0)
		goto failed;
	struct gg_name name;
	if (tbuild_store(s, &t, &name) < 0)
		goto failed;
	if (placeholder) {
		struct gg_ref ref = {name, t.outputs.v[0]};
		if (placeholder_write(placeholder, &ref) < 0)
			goto failed;
	}
	printf("%s\n", name.s);
	rc = 0;
	goto out;
failed:
	/* the status says what kind of failure it was (gg(1)) */
	rc = report_last();
out:
	strvec_free(&inputs);
	strvec_free(&tools);
	thunk_free(&t);
	store_close(s);
	return rc;
}
