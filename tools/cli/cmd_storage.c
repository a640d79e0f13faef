/**
 * @file cmd_storage.c
 * `gg push`, `gg pull`, `gg remote-has` and `gg gc --remote`: move objects between the local
 * store and a remote one (s3://, redis://, file://; see gg-storage(7)).
 * Thin front ends over backend/storage/storage.h: they parse arguments, print one
 * summary line and turn the library's error into the exit status. They keep
 * no record of what a remote store holds; it is asked every time.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "backend/storage/remote_gc.h"
#include "backend/storage/storage.h"
#include "core/force.h"
#include "core/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUSH_USAGE "usage: gg push [--force] URI NAME|FILE... (or - to read them from stdin)"
static const char push_help[] =
    PUSH_USAGE "\n"
               "Uploads objects of the local store to URI, skipping those it already has.\n"
               "A FILE is first added to the local store; its name is printed.\n"
               "  -f, --force  upload even what URI already has (repairs a damaged copy)\n"
               "Options may follow the operands; -- ends them.\n"
               "URIs: s3://BUCKET[/PREFIX], redis://[:PASSWORD@]HOST[:PORT][/DB], file:///DIR\n"
               "See man gg-storage for the environment (GG_S3_ENDPOINT, AWS_*, ...).\n";
#define PULL_USAGE "usage: gg pull [--outputs] URI NAME... (or - to read names from stdin)"
static const char pull_help[] =
    PULL_USAGE "\n"
               "Downloads objects from URI into the local store, verifying each against\n"
               "its name. Exits 2 for a malformed URI or NAME, 3 if any object is\n"
               "missing remotely, damaged or not transferred, or the storage or the\n"
               "local store fails (see man gg-storage).\n"
               "  --outputs  each NAME is a forced target (a placeholder, THUNK or\n"
               "             THUNK#OUTPUT): download the values the local memo records for it\n"
               "             (those a shared-cache hit left remote), not the thunk itself\n";
#define HAS_USAGE "usage: gg remote-has URI NAME... (or - to read names from stdin)"
static const char has_help[] =
    HAS_USAGE "\n"
              "Prints \"present NAME\" or \"absent NAME\" for each name, asking URI.\n"
              "Exit status: 0 all present, 1 some absent, 2 a malformed URI or NAME,\n"
              "3 the storage could not be asked.\n";

#define MIGRATE_USAGE "usage: gg remote-migrate URI NAME... (or - to read names from stdin)"
static const char migrate_help[] =
    MIGRATE_USAGE "\n"
                  "Rewrites those of the named objects that an older gg stored gzip-encoded\n"
                  "(Content-Encoding: gzip) as plain objects, so that any S3 client reads\n"
                  "them as they are. Each is downloaded and verified first. For a whole bucket:\n"
                  "  aws s3 ls s3://BUCKET/PREFIX/ | awk '{print $4}' | grep -E '^[VT]' |\n"
                  "    gg remote-migrate s3://BUCKET/PREFIX -\n";

/* Arguments after the URI, with "-" replaced by the lines of stdin. */
static void collect_args(int argc, char **argv, struct strvec *out)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-")) {
			strvec_push(out, argv[i]);
			continue;
		}
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) > 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = 0;
			if (n > 0)
				strvec_pushn(out, line, (size_t)n);
		}
		free(line);
	}
}

static bool looks_like_name(const char *s)
{
	return strlen(s) == GG_NAME_LEN && (s[0] == 'V' || s[0] == 'T');
}

/* A malformed NAME is a usage error (2), whatever the parser called it. */
static int bad_name(void)
{
	return gg_fail(GG_EUSAGE, "%s", gg_last_error());
}

/* Parses names; 0, or -1 with the bad one's error (GG_EUSAGE). */
static int parse_names(const struct strvec *args, struct gg_name *names)
{
	for (size_t i = 0; i < args->n; i++)
		if (gg_name_parse(args->v[i], strlen(args->v[i]), &names[i]) < 0)
			return bad_name();
	return 0;
}

static double seconds_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

/* --force (-f), the one option of gg push */
static int push_option(void *force, int opt, const char *arg)
{
	*(bool *)force = true;
	return -1;
}

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0}};
	bool force = false;
	int done = read_options(argc, argv, opts, push_help, PUSH_USAGE, push_option, &force);
	if (done >= 0)
		return done;
	if (argc - optind < 2) {
		fputs(push_help, stderr);
		return 2;
	}
	/* The remote store first: a bad URI or GG_STORAGE_* setting is the first
	 * thing said, before a FILE is added and its name printed. */
	struct storage *st;
	if (storage_open(argv[optind], &st) < 0)
		return report_last();
	struct strvec args = STRVEC_INIT;
	collect_args(argc - optind - 1, argv + optind + 1, &args);
	struct store *local;
	if (open_store(true, &local) < 0) {
		int status = report_last();
		storage_close(st);
		strvec_free(&args);
		return status;
	}
	struct gg_name *names = xcalloc(args.n ? args.n : 1, sizeof *names);
	int rc = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < args.n && rc == 0; i++) {
		const char *a = args.v[i];
		if (looks_like_name(a) && access(a, F_OK) < 0) {
			/* no such file: a NAME, which must be well formed (else 2)
			 * and in the local store (else 3, an object missing) */
			if (gg_name_parse(a, strlen(a), &names[i]) < 0)
				rc = bad_name();
			else if (store_has(local, &names[i]) != 1)
				rc = gg_fail(GG_ENOTFOUND, "%s is not in the local store %s", a,
				             local->root);
			if (rc < 0)
				rc = report_last();
		} else if (store_put_file(local, a, &names[i]) < 0) {
			rc = report_last();
		} else {
			printf("%s  %s\n", names[i].s, a);
		}
		if (rc == 0)
			bytes += gg_name_size(&names[i]);
	}
	if (rc == 0) {
		uint64_t t0 = now_ns();
		bool *present = xcalloc(args.n ? args.n : 1, sizeof *present);
		size_t missing = args.n;
		if (!force) {
			if (st->ops->has(st, names, args.n, present) < 0)
				rc = report_last();
			missing = 0;
			for (size_t i = 0; i < args.n; i++)
				if (!present[i])
					names[missing++] = names[i];
		}
		if (rc == 0 && missing > 0 && st->ops->put(st, local, names, missing) < 0)
			rc = report_last();
		if (rc == 0)
			fprintf(stderr,
			        "gg: pushed %zu of %zu objects to %s (%zu already there; %.1f MB "
			        "listed) in %.2f s\n",
			        missing, args.n, st->uri, args.n - missing, (double)bytes / 1e6,
			        seconds_since(t0));
		free(present);
	}
	storage_close(st);
	store_close(local);
	free(names);
	strvec_free(&args);
	return rc;
}

/*
 * Shared start of pull, remote-has and remote-migrate, after their options
 * (read_options): argv[0] is the URI, the rest the names (parsed unless
 * !parse: gg pull --outputs takes targets). -1 to go on, else the exit status.
 */
static int open_args(int argc, char **argv, const char *help, bool parse, struct strvec *args,
                     struct gg_name **names, struct storage **st)
{
	if (argc < 2) {
		fputs(help, stderr);
		return 2;
	}
	collect_args(argc - 1, argv + 1, args);
	*names = xcalloc(args->n ? args->n : 1, sizeof **names);
	if ((parse && parse_names(args, *names) < 0) || storage_open(argv[0], st) < 0)
		return report_last(); /* 2 for what is malformed, 3 for a store not opened */
	return -1;                    /* go on */
}

struct pull {
	struct store *local;
	struct storage *st;
};

/* The store's fetcher while gg pull --outputs reads the memo (core/store.h):
 * values recorded as remote are known, and come from the URI pulled from. */
static int pull_fetch(void *arg, const struct gg_name *n)
{
	struct pull *p = arg;
	bool ok = false;
	if (p->st->ops->get(p->st, p->local, n, 1, &ok) < 0)
		return -1;
	return ok ? 0 : gg_fail(GG_ENOTFOUND, "%s is not in %s", n->s, p->st->uri);
}

/*
 * gg pull --outputs: replaces each target in args by the values the local
 * memo records for it (all of a bare thunk's outputs; the one named by
 * THUNK#OUTPUT or a placeholder). 0, or -1 with the error set.
 */
static int outputs_of(struct store *local, struct storage *st, struct strvec *args,
                      struct gg_name **names)
{
	struct pull p = {local, st};
	store_set_fetch(local, pull_fetch, &p, st->uri);
	size_t n = 0, cap = args->n + 1;
	struct gg_name *out = xcalloc(cap, sizeof *out);
	int r = 0;
	for (size_t i = 0; r == 0 && i < args->n; i++) {
		const char *a = args->v[i];
		struct force_target t;
		struct memo m;
		if (force_target_peek(NULL, a, &t) < 0) {
			r = -1; /* a malformed NAME is GG_EUSAGE, as without --outputs */
			break;
		}
		if (t.plain || gg_name_kind(&t.ref.name) != GG_THUNK) {
			r = gg_fail(GG_EUSAGE, "%s: not a thunk or a placeholder of one", a);
		} else if (memo_get(local, &t.ref.name, &m) != 1) {
			r = gg_fail(GG_ENOTFOUND,
			            "%s: %s is not forced here (no memo entry); gg force it first",
			            a, t.ref.name.s);
		} else {
			/* a placeholder without an output means the primary one */
			const struct memo_output *one =
			    t.ref.output || t.is_file ? memo_output_of(&m, t.ref.output) : NULL;
			if (t.ref.output && !one)
				r = gg_fail(GG_ENOTFOUND, "%s: its thunk has no output %s", a,
				            t.ref.output);
			for (size_t k = 0; r == 0 && k < m.n; k++) {
				if (one && &m.v[k] != one)
					continue;
				ALLOC_GROW(out, n + 1, cap);
				out[n++] = m.v[k].value;
			}
			memo_free(&m);
		}
		force_target_free(&t);
	}
	store_set_fetch(local, NULL, NULL, NULL);
	if (r < 0) {
		free(out);
		return -1;
	}
	strvec_free(args);
	for (size_t i = 0; i < n; i++)
		strvec_push(args, out[i].s);
	free(*names);
	*names = out;
	return 0;
}

enum { PULL_OUTPUTS = 256 }; /* long only */

/* --outputs, the one option of gg pull */
static int pull_option(void *outputs, int opt, const char *arg)
{
	*(bool *)outputs = true;
	return -1;
}

int cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {{"outputs", no_argument, 0, PULL_OUTPUTS}, {0}};
	bool outputs = false;
	int done = read_options(argc, argv, opts, pull_help, PULL_USAGE, pull_option, &outputs);
	if (done >= 0)
		return done;
	struct strvec args = STRVEC_INIT;
	struct gg_name *names = NULL;
	struct storage *st = NULL;
	int rc = open_args(argc - optind, argv + optind, pull_help, !outputs, &args, &names, &st);
	struct store *local = NULL;
	if (rc < 0 && open_store(true, &local) < 0)
		rc = report_last();
	if (rc < 0 && outputs && outputs_of(local, st, &args, &names) < 0)
		rc = report_last();
	if (rc < 0) {
		uint64_t t0 = now_ns();
		size_t had = 0;
		for (size_t i = 0; i < args.n; i++)
			had += store_has(local, &names[i]) == 1;
		bool *ok = xcalloc(args.n ? args.n : 1, sizeof *ok);
		rc = 0;
		if (st->ops->get(st, local, names, args.n, ok) < 0)
			rc = report_last();
		size_t got = 0, absent = 0;
		for (size_t i = 0; i < args.n; i++)
			if (ok[i]) {
				got++;
			} else if (rc == 0) {
				/* no error was reported for it: the remote store lacks it */
				absent++;
				report_error("%s: not in %s", names[i].s, st->uri);
			}
		if (absent) /* an object missing (gg(1)), as for push's local one */
			rc = exit_status_of(GG_ENOTFOUND);
		fprintf(stderr,
		        "gg: pulled %zu of %zu objects from %s (%zu already here) in %.2f s\n",
		        got > had ? got - had : 0, args.n, st->uri, had, seconds_since(t0));
		free(ok);
	}
	storage_close(st);
	store_close(local);
	free(names);
	strvec_free(&args);
	return rc;
}

int cmd_remote_has(int argc, char **argv)
{
	struct strvec args = STRVEC_INIT;
	struct gg_name *names = NULL;
	struct storage *st = NULL;
	int done = read_flags(argc, argv, NULL, has_help, HAS_USAGE);
	if (done >= 0)
		return done;
	int rc = open_args(argc - optind, argv + optind, has_help, true, &args, &names, &st);
	if (rc < 0) {
		bool *present = xcalloc(args.n ? args.n : 1, sizeof *present);
		if (st->ops->has(st, names, args.n, present) < 0) {
			rc = report_last(); /* 3: the store was not asked; never 1, "absent" */
		} else {
			rc = 0;
			for (size_t i = 0; i < args.n; i++) {
				printf("%s %s\n", present[i] ? "present" : "absent", names[i].s);
				if (!present[i])
					rc = 1;
			}
		}
		free(present);
	}
	storage_close(st);
	free(names);
	strvec_free(&args);
	return rc;
}

int cmd_remote_migrate(int argc, char **argv)
{
	struct strvec args = STRVEC_INIT;
	struct gg_name *names = NULL;
	struct storage *st = NULL;
	int done = read_flags(argc, argv, NULL, migrate_help, MIGRATE_USAGE);
	if (done >= 0)
		return done;
	int rc = open_args(argc - optind, argv + optind, migrate_help, true, &args, &names, &st);
	struct store *local = NULL;
	if (rc < 0 && open_store(true, &local) < 0)
		rc = report_last();
	if (rc < 0) {
		size_t rewritten = 0;
		rc = 0;
		if (!st->ops->migrate)
			fprintf(stderr,
			        "gg: %s: nothing to migrate (only s3:// stored objects "
			        "encoded)\n",
			        st->uri);
		else if (st->ops->migrate(st, local, names, args.n, &rewritten) < 0)
			rc = report_last();
		else
			fprintf(stderr, "gg: rewrote %zu of %zu objects at %s as plain objects\n",
			        rewritten, args.n, st->uri);
	}
	storage_close(st);
	store_close(local);
	free(names);
	strvec_free(&args);
	return rc;
}

/* "7d", "12h", "30m", "90s" or a number of seconds; -1 when malformed. */
static int64_t parse_grace(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0 || *s == '-' || *s == '+')
		return -1;
	long long unit = 1;
	if (*end) {
		const char *u = strchr("smhd", *end);
		if (!u || end[1])
			return -1;
		static const long long units[] = {1, 60, 3600, 86400};
		unit = units[u - "smhd"];
	}
	if (v > INT64_MAX / unit)
		return -1;
	return (int64_t)(v * unit);
}

static void print_deleted(void *arg, const struct storage_item *it)
{
	const bool *dry = arg;
	printf("%s %s %llu bytes, unnamed for %lld s\n", *dry ? "would delete" : "deleted",
	       it->name.s, (unsigned long long)it->size, (long long)it->age);
}

int cmd_gc_remote(const char *uri, const char *grace, bool dry_run)
{
	if (!uri || !*uri)
		uri = getenv("GG_STORAGE");
	if (!uri || !*uri)
		return report_usage("gc --remote: which storage? --storage URI or GG_STORAGE");
	struct remote_gc_opts o = {.grace = REMOTE_GC_GRACE_DEFAULT, .dry_run = dry_run};
	if (grace && (o.grace = parse_grace(grace)) < 0)
		return report_usage("gc: bad grace period '%s' (e.g. 7d, 12h, 30m, 0)", grace);
	o.on_delete = print_deleted;
	o.arg = &dry_run;
	struct storage *st;
	if (storage_open(uri, &st) < 0)
		return report_last();
	struct remote_gc_stats s;
	int r = remote_gc(st, &o, &s);
	char *shown = storage_uri_public(uri);
	if (r == 0)
		printf("%s %zu of %zu objects (%llu bytes) from %s; kept %zu named by %zu cache "
		       "entries, %zu within the grace period (%lld s)\n",
		       dry_run ? "would delete" : "deleted", s.removed, s.objects,
		       (unsigned long long)s.removed_bytes, shown, s.named, s.entries, s.young,
		       (long long)o.grace);
	free(shown);
	storage_close(st);
	return r < 0 ? report_last() : 0;
}
