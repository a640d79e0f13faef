/**
 * @file gg.c
 * The `gg` command: dispatches to subcommands. When invoked as `gg-run`
 * (a placeholder's "#!" line) it forces the placeholder and runs the result.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"
#include "tools/infer/infer.h"

#include "core/config.h"
#include "core/placeholder.h"
#include "core/rundir.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static const char usage[] =
    "usage: gg COMMAND [ARGS]\n"
    "\n"
    "  init [DIR]              create a store (.gg) in DIR or here\n"
    "  hash FILE...            print the object names of files\n"
    "  thunk [OPTIONS] -- PROGRAM [ARG...]\n"
    "                          describe one process run as a thunk; print its name\n"
    "  force [OPTIONS] TARGET...  compute placeholders or references\n"
    "  cat TARGET              print a value, forcing a thunk output if needed\n"
    "  describe [--json] TARGET  show what a thunk, value or placeholder is\n"
    "  gc --max-size SIZE      shrink the store to SIZE (e.g. 10G)\n"
    "  fsck [--quick] [DIR...]  check the store and DIR's placeholders; quarantine damage\n"
    "  run PLACEHOLDER [ARG...]  force a placeholder and execute the result\n"
    "  worker --listen ADDR:PORT | --once REQ RESP\n"
    "                          run thunks for remote engines (also a Lambda bootstrap)\n"
    "  push URI NAME|FILE...   upload objects to a remote store (s3://, redis://, file://)\n"
    "  pull URI NAME...        download objects from a remote store, verified\n"
    "  remote-has URI NAME...  ask a remote store which objects it has\n"
    "  remote-migrate URI NAME...  rewrite objects an older gg stored gzip-encoded\n"
    "  report [--svg FILE] TRACE  summarise a `gg force --trace` file; draw its timeline\n"
    "  model-generic SPEC -- COMMAND [ARG...]\n"
    "                          make a thunk of COMMAND from a description of its files\n"
    "  infer [-v] BUILD-COMMAND  run a build with models: outputs become placeholders\n"
    "  log TARGET              the last run of a target's thunk: stderr, or how it failed\n"
    "  doctor                  check what this machine needs (namespaces, FUSE, cgroups...)\n"
    "\n"
    "  help [COMMAND]          this list, or a command's options (as gg COMMAND --help)\n"
    "\n"
    "  gg COMMAND --help shows a command's options; man gg-COMMAND has more.\n"
    "  --version               print the version\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
    {"init", cmd_init},
    {"hash", cmd_hash},
    {"thunk", cmd_thunk},
    {"force", cmd_force},
    {"cat", cmd_cat},
    {"describe", cmd_describe},
    {"gc", cmd_gc},
    {"fsck", cmd_fsck}, /* gg-fsck(1) */
    {"run", cmd_run},
    {"push", cmd_push},
    {"pull", cmd_pull},
    {"remote-has", cmd_remote_has},
    {"remote-migrate", cmd_remote_migrate},
    {"report", cmd_report},
    {"worker", cmd_worker},
    {"model-generic", cmd_model_generic},
    {"infer", cmd_infer},
    {"log", cmd_log},
    {"doctor", cmd_doctor},
};

int main(int argc, char **argv)
{
	/* The configuration file gives defaults for the environment. */
	if (config_load() < 0) {
		fprintf(stderr, "gg: %s\n", gg_last_error());
		return 1;
	}
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "gg-run"))
		return cmd_run(argc, argv);
	/* An AWS Lambda custom runtime's entry point is a file named bootstrap. */
	if (!strcmp(base, "bootstrap"))
		return cmd_worker(argc, argv);
	/* Reached through a model's symlink (gcc, ar, ...) during `gg infer`. */
	const char *bound = infer_bound_model(argv[0]);
	if (bound)
		return infer_model_main(bound, argc, argv);
	if (infer_bound_orphan()) {
		const char *fn = (const char *)getauxval(AT_EXECFN);
		fprintf(stderr,
		        "gg: %s is gg bound over a tool by gg infer, started without gg infer's "
		        "environment (GG_INFER_TOOLS), and no parent process has it (a process "
		        "detached from the build that outlived it?): it can neither be modelled "
		        "nor run the real tool\n",
		        fn ? fn : argv[0]);
		return 127;
	}
	if (getenv("GG_INFER_REALPATH") && infer_is_model(base))
		return infer_model_main(base, argc, argv);
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("gg (ggfs) %s\n", GG_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") && argc == 3) {
		/* gg help COMMAND: the command's own --help, one text for both */
		for (size_t i = 0; i < GG_ARRAY_LEN(commands); i++)
			if (!strcmp(argv[2], commands[i].name))
				return commands[i].fn(2, (char *[]){argv[2], "--help", NULL});
		fprintf(stderr, "gg: unknown command '%s'\n\n%s", argv[2], usage);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < GG_ARRAY_LEN(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "gg: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
