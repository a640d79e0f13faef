/**
 * @file cmd_store.c
 * `gg init`, `gg hash` and `gg gc`: the commands that only touch the store.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "core/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_init(int argc, char **argv)
{
	int shared = 0;
	const struct option flags[] = {{"shared", no_argument, &shared, 1}, {0}};
	int done = read_flags(argc, argv, flags,
	                      "usage: gg init [--shared] [DIR]\nCreates DIR/.gg (default: the "
	                      "current directory), private to you (mode 0700);\n--shared: for "
	                      "your group (mode 02770; see gg-store(5)).\n",
	                      "usage: gg init [--shared] [DIR]");
	if (done >= 0)
		return done;
	if (argc - optind > 1)
		return report_usage("usage: gg init [--shared] [DIR]");
	char *root;
	if (store_init_mode(optind < argc ? argv[optind] : ".", shared, &root) < 0)
		return report_last();
	printf("initialised store %s\n", root);
	free(root);
	return 0;
}

int cmd_hash(int argc, char **argv)
{
	int done = read_flags(argc, argv, NULL,
	                      "usage: gg hash FILE...\nPrints each file's object name.\n",
	                      "usage: gg hash FILE...");
	if (done >= 0)
		return done;
	if (optind == argc)
		return report_usage("usage: gg hash FILE...");
	struct store *s = NULL;
	store_open(NULL, &s); /* optional: only speeds up rehashing */
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct gg_name n;
		int r;
		if (s) {
			r = store_hash_file(s, argv[i], &n);
		} else {
			int fd = open_regular(argv[i]);
			r = fd < 0 ? -1 : gg_name_of_fd(fd, 0, &n);
			if (fd >= 0)
				close(fd);
		}
		if (r < 0) {
			rc = report_last();
			continue;
		}
		printf(argc - optind > 1 ? "%s  %s\n" : "%s\n", n.s, argv[i]);
	}
	store_close(s);
	return rc;
}

/* gg gc's options that take a value (--storage and --grace are long only) */
enum { GC_STORAGE = 256, GC_GRACE };
struct gc_args {
	uint64_t max;
	bool have;
	const char *uri, *grace;
};

static int gc_option(void *ctx, int opt, const char *arg)
{
	struct gc_args *a = ctx;
	if (opt == GC_STORAGE)
		a->uri = arg;
	else if (opt == GC_GRACE)
		a->grace = arg;
	else if (parse_size(arg, &a->max) < 0)
		return report_usage("gc: bad size '%s' (e.g. 500M, 10G)", arg);
	else
		a->have = true;
	return -1;
}

int cmd_gc(int argc, char **argv)
{
	static const char help[] =
	    "usage: gg gc --max-size SIZE\n"
	    "       gg gc --remote [--storage URI] [--grace DURATION] [--dry-run]\n"
	    "Removes least recently used values until the store holds at most SIZE\n"
	    "bytes. Thunks are kept. With --remote, deletes instead the objects of the\n"
	    "remote store that no shared cache entry names and that are older than\n"
	    "DURATION.\n"
	    "\n"
	    "  -s, --max-size SIZE  the size to shrink to (suffixes K, M, G, T)\n"
	    "  --remote             collect the remote store, not the local one\n"
	    "  --storage URI        the remote store (default $GG_STORAGE)\n"
	    "  --grace DURATION     keep objects younger than DURATION (default 7d;\n"
	    "                       suffixes s, m, h, d)\n"
	    "  --dry-run            with --remote: print what would be deleted, delete nothing\n";
	int remote = 0, dry = 0;
	const struct option opts[] = {{"max-size", required_argument, 0, 's'},
	                              {"remote", no_argument, &remote, 1},
	                              {"storage", required_argument, 0, GC_STORAGE},
	                              {"grace", required_argument, 0, GC_GRACE},
	                              {"dry-run", no_argument, &dry, 1},
	                              {0}};
	struct gc_args a = {0};
	int done =
	    read_options(argc, argv, opts, help, "usage: gg gc --max-size SIZE", gc_option, &a);
	if (done >= 0)
		return done;
	if (remote && !a.have && optind == argc)
		return cmd_gc_remote(a.uri, a.grace, dry);
	if (remote || a.uri || a.grace || dry)
		return report_usage("usage: gg gc --remote [--storage URI] [--grace DURATION] "
		                    "[--dry-run] (without --max-size)");
	if (!a.have || optind != argc)
		return report_usage("usage: gg gc --max-size SIZE");
	struct store *s;
	if (open_store(false, &s) < 0)
		return report_last();
	struct gc_stats st;
	int r = store_gc(s, a.max, &st);
	store_close(s);
	if (r < 0)
		return report_last();
	printf("removed %llu objects; store %llu -> %llu bytes",
	       (unsigned long long)st.removed_objects, (unsigned long long)st.before,
	       (unsigned long long)st.after);
	if (st.removed_records)
		printf("; forgot %llu remote records", (unsigned long long)st.removed_records);
	printf("\n");
	return 0;
}
