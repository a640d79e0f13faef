/**
 * @file command.c
 * What every gg command shares (command.h): its error and usage messages,
 * exit statuses, --help, and opening the store.
 */
#include "tools/command.h"

#include "core/rundir.h"
#include "core/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void vsay(const char *fmt, va_list ap)
{
	fputs("gg: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int report_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 1;
}

int report_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return 2;
}

int report_last(void)
{
	report_error("%s", gg_last_error());
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

int read_options(int argc, char **argv, const struct option *opts, const char *help,
                 const char *usage, option_fn take, void *ctx)
{
	struct option all[8];
	char shorts[2 * GG_ARRAY_LEN(all) + 1];
	size_t n = 0, k = 0;
	for (; opts && opts[n].name && n < GG_ARRAY_LEN(all) - 2; n++) {
		all[n] = opts[n];
		if (!opts[n].flag && isalpha(opts[n].val)) {
			shorts[k++] = (char)opts[n].val;
			if (opts[n].has_arg == required_argument)
				shorts[k++] = ':';
		}
	}
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	all[n] = (struct option){0};
	shorts[k++] = 'h';
	shorts[k] = 0;
	int c;
	/* 0, not 1: only then does getopt start afresh, forgetting where it
	 * stood in the arguments of an earlier command run in this process
	 * (the tests run several): else what is left of an option cluster
	 * (-S) points into freed memory and is read as options. */
	optind = 0;
	while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return 0;
		}
		if (c == 0) /* a flag, set by getopt */
			continue;
		if (c == '?' || !take) /* getopt named the option */
			return report_usage("%s", usage);
		int r = take(ctx, c, optarg);
		if (r >= 0)
			return r;
	}
	return -1;
}

int read_flags(int argc, char **argv, const struct option *flags, const char *help,
               const char *usage)
{
	return read_options(argc, argv, flags, help, usage, NULL, NULL);
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
