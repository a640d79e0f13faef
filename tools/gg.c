/**
 * @file gg.c
 * The `gg` command: dispatches to subcommands. When invoked as `gg-run`
 * (a placeholder's "#!" line) it forces the placeholder and runs the result.
 */
#include "gg.h"

#include "config.h"
#include "placeholder.h"
#include "rundir.h"
#include "util.h"

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

static void vsay(const char *fmt, va_list ap)
{
	fputs("gg: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int die_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 1;
}

int die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 2;
}

int die_last(void)
{
	die_msg("%s", gg_last_error());
	return exit_status_of(gg_last_code());
}

int exit_status_of(enum gg_code code)
{
	switch (code) {
	case GG_OK: return 0;
	case GG_EUSAGE: return 2;
	case GG_ECANCELLED: return 130;
	case GG_ENOTFOUND:
	case GG_ECORRUPT:
	case GG_EDENIED:
	case GG_ESYSTEM:
	case GG_EREMOTE: return 3;
	case GG_EFAIL:
	case GG_EINVALID:
	case GG_EPROGRAM:
	case GG_ELIMIT: break;
	}
	return 1;
}

bool wants_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(text, stdout);
			return true;
		}
	}
	return false;
}

/* What a killed gg left in .gg/tmp goes with the next command (rundir.h). */
static int swept(struct store *s)
{
	if (rundir_sweep(s) < 0)
		fprintf(stderr, "gg: note: cannot clean %s: %s\n", s->tmp, gg_last_error());
	return 0;
}

int open_store(bool create, struct store **out)
{
	if (store_open(NULL, out) == 0)
		return swept(*out);
	/* Create one only where there is none: never over one that failed to
	 * open (a newer format, a damaged one) or was refused (another user's). */
	if (!create || gg_last_code() != GG_ENOTFOUND)
		return -1;
	const char *env = getenv("GG_DIR");
	if (env && *env) {
		/* An explicit store: create exactly that, never one elsewhere. */
		if (store_create(env) < 0)
			return gg_error("GG_DIR=%s: %s", env, gg_last_error());
		return store_open(env, out) < 0 ? -1 : swept(*out);
	}
	char *root;
	if (store_init(".", &root) < 0)
		return -1;
	int r = store_open(root, out);
	free(root);
	if (r == 0)
		fprintf(stderr, "gg: note: no store found here or above; created %s\n",
		        (*out)->root);
	return r;
}

int copy_object_to_fd(struct store *s, const struct gg_name *n, int fd)
{
	int in = store_open_object(s, n);
	if (in < 0)
		return -1;
	int r = copy_fd(in, fd, gg_name_size(n));
	if (r < 0)
		r = gg_error("cannot copy object %s: %s", n->s, gg_last_error());
	close(in);
	return r;
}

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
		        "detached from the build?): it can neither be modelled nor run the real "
		        "tool\n",
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
