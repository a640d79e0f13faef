/**
 * @file cmdline.c
 * ggfs's command line: the -o options it takes (fuse_opt, so that -o may
 * also follow the positional arguments, as mount.fuse3 passes them), SOURCE
 * and MOUNTPOINT and what makes them unusable, --help and --version, and the
 * mount options ggfs always adds. Nothing is mounted or opened here.
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGFS_VERSION "0.1.0"

#define GG_OPT(t, field, v)                                                                        \
	{                                                                                          \
		t, offsetof(struct ggfs, field), v                                                 \
	}

static const struct fuse_opt ggfs_opts[] = {
    GG_OPT("jobs=%d", jobs, 0),
    GG_OPT("store=%s", store_opt, 0),
    GG_OPT("log=%s", log_opt, 0),
    GG_OPT("trace=%s", trace_opt, 0),
    GG_OPT("materialize", materialize, 1),
    GG_OPT("--materialize", materialize, 1),
    GG_OPT("no_sandbox", no_sandbox, 1),
    /* Refused (see main); writeback_cache is libfuse's name for it. */
    GG_OPT("writeback", writeback, 1),
    GG_OPT("writeback_cache", writeback, 1),
    GG_OPT("no_writeback", writeback, 0),
    GG_OPT("passthrough", backing, 1),
    GG_OPT("no_passthrough", backing, 0),
    GG_OPT("others_force", others_force, 1),
    GG_OPT("no_others_force", others_force, 0),
    GG_OPT("splice", splice, 1),
    GG_OPT("no_splice", splice, 0),
    GG_OPT("timeout=%lf", timeout, 0),
    GG_OPT("max_threads=%u", max_threads, 0),
    /* max_read is a mount option too: read it and pass it on. */
    GG_OPT("max_read=%u", max_read, 0),
    FUSE_OPT_KEY("max_read=", FUSE_OPT_KEY_KEEP),
    FUSE_OPT_END,
};

static void usage(FILE *f)
{
	fputs("usage: ggfs [OPTIONS] SOURCE MOUNTPOINT\n"
	      "\n"
	      "Shows SOURCE at MOUNTPOINT, read-write; every thunk placeholder in it reads as\n"
	      "its thunk's output, forced when the file is opened. MOUNTPOINT/.gg/by-hash/NAME\n"
	      "shows any object in the store, and NAME#OUTPUT a thunk's output.\n"
	      "\n"
	      "ggfs options:\n"
	      "    -o jobs=N              thunks to run at once (default: number of CPUs)\n"
	      "    -o store=DIR           the store (default: $GG_DIR, else the nearest .gg\n"
	      "                           at or above SOURCE)\n"
	      "    -o materialize, --materialize\n"
	      "                           also replace each forced placeholder in SOURCE\n"
	      "                           by its output\n"
	      "    -o no_sandbox          run thunks in a plain directory, without namespaces\n"
	      "    -o timeout=SEC         kernel cache time of SOURCE's files (default: 1;\n"
	      "                           60 for forced placeholders with one name in a\n"
	      "                           directory watched for changes; 0: nothing)\n"
	      "    -o log=FILE            also log to FILE (default as a daemon: ggfs.log in\n"
	      "                           the store; in the foreground: stderr only)\n"
	      "    -o trace=FILE          write a trace of every thunk run (as gg force\n"
	      "                           --trace) to FILE when unmounted\n"
	      "    -o max_threads=N       FUSE worker threads (default: 64)\n"
	      "    -o max_read=N          largest read request (default: 1048576)\n"
	      "    -o splice, -o no_splice\n"
	      "                           move data with splice(2), or not (default: no_splice)\n"
	      "    -o others_force, -o no_others_force\n"
	      "                           with allow_other: another user's open may force a\n"
	      "                           placeholder, with this store and its engines, or not\n"
	      "                           (default: no_others_force: they read only what is\n"
	      "                           forced already)\n"
	      "    -o no_passthrough, -o passthrough\n"
	      "                           never let the kernel read forced outputs from the\n"
	      "                           store, or write ordinary files, directly; or do\n"
	      "                           (default: passthrough where it can: Linux 6.9+,\n"
	      "                           CAP_SYS_ADMIN)\n"
	      "    -o writeback, -o writeback_cache, -o no_writeback\n"
	      "                           refused: a placeholder not forced yet would read\n"
	      "                           short; no_writeback, the default, is accepted\n"
	      "\n",
	      f);
}

/* Takes SOURCE and MOUNTPOINT out of the arguments; keeps everything else. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct ggfs *fs = data;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (!fs->source) {
		fs->source = xstrdup(arg);
		return 0;
	}
	if (!fs->mountpoint) {
		fs->mountpoint = xstrdup(arg);
		return 0;
	}
	fprintf(stderr,
	        "ggfs: unexpected argument '%s' (usage: ggfs [OPTIONS] SOURCE MOUNTPOINT)\n", arg);
	return -1;
}

/* Mount options ggfs always wants; given first so the user's own win. */
static void add_mount_options(struct ggfs *fs, struct fuse_args *args)
{
	char *o = NULL;
	/* The kernel checks permissions against the modes ggfs reports
	 * (the daemon itself may run as root, and with allow_other). */
	fuse_opt_add_opt(&o, "default_permissions");
	fuse_opt_add_opt(&o, "subtype=ggfs");
	/* A killed daemon leaves no dead mount: fusermount3 stays behind,
	 * holding the other end of its socket, and unmounts when it closes. */
	fuse_opt_add_opt(&o, "auto_unmount");
	char *fsname = xasprintf("fsname=%s", fs->source);
	fuse_opt_add_opt_escaped(&o, fsname);
	free(fsname);
	if (!fs->max_read) {
		fs->max_read = 1u << 20;
		fuse_opt_add_opt(&o, "max_read=1048576");
	}
	fuse_opt_insert_arg(args, 1, "-o");
	fuse_opt_insert_arg(args, 2, o);
	free(o);
}

/* Resolves SOURCE and MOUNTPOINT; 0 or -1 after printing why. */
static int check_paths(struct ggfs *fs)
{
	char *src = realpath(fs->source, NULL);
	if (!src) {
		fprintf(stderr, "ggfs: %s: %s\n", fs->source, strerror(errno));
		return -1;
	}
	char *mnt = realpath(fs->mountpoint, NULL);
	if (!mnt) {
		fprintf(stderr, "ggfs: %s: %s\n", fs->mountpoint, strerror(errno));
		free(src);
		return -1;
	}
	free(fs->source);
	free(fs->mountpoint);
	fs->source = src;
	fs->mountpoint = mnt;
	struct stat st;
	const char *which[] = {"SOURCE", "MOUNTPOINT"}, *path[] = {src, mnt};
	for (int i = 0; i < 2; i++)
		if (stat(path[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			/* The kernel would mount over a file; nobody wants that. */
			fprintf(stderr, "ggfs: %s %s is not a directory\n", which[i], path[i]);
			return -1;
		}
	size_t n = strlen(src);
	if (!strncmp(mnt, src, n) && (mnt[n] == '/' || mnt[n] == 0 || n == 1)) {
		/* Lookups would walk into the mount itself and wait on themselves. */
		fprintf(stderr, "ggfs: MOUNTPOINT %s must not be SOURCE %s or inside it\n", mnt,
		        src);
		return -1;
	}
	size_t m = strlen(mnt);
	if (!strncmp(src, mnt, m) && (src[m] == '/' || m == 1)) {
		/* The mount would cover SOURCE: every look into it would wait on the mount. */
		fprintf(stderr, "ggfs: SOURCE %s must not be inside MOUNTPOINT %s\n", src, mnt);
		return -1;
	}
	return 0;
}

int ggfs_cmdline(struct ggfs *fs, struct fuse_args *args, struct fuse_cmdline_opts *opts)
{
	if (fuse_opt_parse(args, fs, ggfs_opts, opt_proc) < 0 ||
	    !(fs->conn_opts = fuse_parse_conn_info_opts(args)) ||
	    fuse_parse_cmdline(args, opts) != 0)
		return 2;
	if (opts->show_help) {
		usage(stdout);
		/* libfuse's text names its own defaults (max_threads 10) */
		fputs(
		    "FUSE options (libfuse's text; ggfs's defaults above win: max_threads is 64,\n"
		    "and clone_fd and auto_unmount are always on):\n",
		    stdout);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		return 0;
	}
	if (opts->show_version) {
		printf("ggfs %s\n", GGFS_VERSION);
		fuse_lowlevel_version();
		return 0;
	}
	if (!fs->source || !fs->mountpoint || opts->mountpoint) {
		usage(stderr);
		return 2;
	}
	if (fs->writeback) {
		/* The kernel's writeback cache keeps the size it saw first: a
		 * placeholder not forced yet would be read short (tar would
		 * archive empty files without an error). */
		fprintf(stderr,
		        "ggfs: -o writeback (writeback_cache) is not supported: with it the "
		        "kernel keeps the size it first saw, so a placeholder not forced yet "
		        "would read as its old size\n");
		return 2;
	}
	if (fs->jobs < 0 || fs->jobs > 100000 || fs->timeout < 0) {
		fprintf(stderr, "ggfs: jobs must be 0 to 100000 and timeout not negative\n");
		return 2;
	}
	if (fs->trace_opt && fs->trace_opt[0] != '/') {
		/* the daemon leaves the current directory */
		char cwd[PATH_MAX];
		char *rel = fs->trace_opt;
		fs->trace_opt = xasprintf("%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", rel);
		free(rel);
	}
	fs->debug = opts->debug;
	fs->singlethread = opts->singlethread != 0;
	if (check_paths(fs) < 0)
		return 1;
	add_mount_options(fs, args);
	return -1;
}
