/**
 * @file test_fs_cmdline.c
 * Specification of fs/cmdline (ggfs's command line): -o options before or
 * after SOURCE and MOUNTPOINT, both made absolute; the mount options ggfs
 * always adds, before the user's own; usage errors (exit 2) for a missing or
 * third argument, a refused writeback cache, a job count or timeout out of
 * range; exit 1 for a MOUNTPOINT that is a file, or that is SOURCE, inside
 * it or holds it; --help and --version exit 0; a relative -o trace=FILE is
 * made absolute (the daemon leaves the current directory).
 */
#include "fs/ggfs.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-cmdline-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char *real = realpath(dir, NULL);
	free(dir);
	dir = real;
	char *p = xasprintf("%s/src/sub", dir);
	char *m = xasprintf("%s/mnt", dir);
	char *f = xasprintf("%s/file", dir);
	if (mkdir_p(p, 0755) < 0 || mkdir_p(m, 0755) < 0 || write_file_atomic(f, "x", 1, 0644) < 0)
		abort();
	free(p), free(m), free(f);
	if (chdir(dir) < 0)
		abort();
}

static void teardown(void)
{
	if (chdir("/") < 0)
		abort();
	remove_tree(dir);
	free(dir);
}

/* One parse, as main does it: what it returned, printed and left. */
struct parsed {
	int rc;
	struct ggfs fs;
	struct fuse_args args;
	struct fuse_cmdline_opts opts;
	struct buf out, err; /* stdout, stderr */
	char *mount_opts;    /* the -o that ggfs added (args[2]), or NULL */
};

static int capture(int fd, const char *name)
{
	fflush(NULL);
	int saved = dup(fd);
	int to = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (saved < 0 || to < 0 || dup2(to, fd) < 0)
		abort();
	close(to);
	return saved;
}

static void restore(int fd, int saved, const char *name, struct buf *into)
{
	fflush(NULL);
	if (dup2(saved, fd) < 0)
		abort();
	close(saved);
	if (read_file(name, into, 1 << 20) < 0)
		abort();
	unlink(name);
}

/* NULL-terminated arguments after "ggfs". */
static void parse(struct parsed *p, ...)
{
	char *argv[32] = {"ggfs"};
	int argc = 1;
	va_list ap;
	va_start(ap, p);
	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	memset(p, 0, sizeof *p);
	ggfs_init(&p->fs);
	p->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	int out = capture(1, "stdout.txt"), err = capture(2, "stderr.txt");
	p->rc = ggfs_cmdline(&p->fs, &p->args, &p->opts);
	restore(1, out, "stdout.txt", &p->out);
	restore(2, err, "stderr.txt", &p->err);
	if (p->rc < 0 && p->args.argc > 2 && !strcmp(p->args.argv[1], "-o"))
		p->mount_opts = p->args.argv[2];
}

static bool has_arg(const struct parsed *p, const char *a)
{
	for (int i = 0; i < p->args.argc; i++)
		if (!strcmp(p->args.argv[i], a))
			return true;
	return false;
}

static bool said(const struct buf *b, const char *needle)
{
	return b->data && strstr(b->data, needle);
}

static void done(struct parsed *p)
{
	fuse_opt_free_args(&p->args);
	free(p->opts.mountpoint);
	free(p->fs.source);
	free(p->fs.mountpoint);
	free(p->fs.store_opt);
	free(p->fs.log_opt);
	free(p->fs.trace_opt);
	free(p->fs.conn_opts);
	buf_free(&p->out);
	buf_free(&p->err);
}

static void test_paths_and_options(void)
{
	struct parsed p;
	parse(&p, "src/sub/..", "./mnt", "-o", "jobs=3,timeout=2.5,store=/st,others_force", "-f",
	      NULL);
	CHECK(p.rc == -1);
	char *src = xasprintf("%s/src", dir), *mnt = xasprintf("%s/mnt", dir);
	CHECK_STR(p.fs.source, src);
	CHECK_STR(p.fs.mountpoint, mnt);
	CHECK(p.fs.jobs == 3 && p.fs.timeout == 2.5 && p.fs.others_force == 1);
	CHECK_STR(p.fs.store_opt, "/st");
	CHECK(p.opts.foreground == 1 && !p.fs.singlethread);
	/* ggfs's own mount options, first so that the user's win */
	char *fsname = xasprintf("fsname=%s", src);
	CHECK(p.mount_opts && strstr(p.mount_opts, "default_permissions") &&
	      strstr(p.mount_opts, "subtype=ggfs") && strstr(p.mount_opts, "auto_unmount") &&
	      strstr(p.mount_opts, fsname) && strstr(p.mount_opts, "max_read=1048576"));
	CHECK(p.fs.max_read == 1u << 20);
	/* neither path is left for libfuse, nor ggfs's own -o options */
	CHECK(!has_arg(&p, "src/sub/..") && !has_arg(&p, "./mnt"));
	CHECK(!p.mount_opts || !strstr(p.mount_opts, "jobs="));
	free(fsname), free(src), free(mnt);
	done(&p);

	/* options first, as on most command lines; -s; a max_read of one's own */
	parse(&p, "-s", "-o", "max_read=4096,no_sandbox", "src", "mnt", NULL);
	CHECK(p.rc == -1 && p.fs.singlethread && p.fs.no_sandbox == 1);
	CHECK(p.fs.max_read == 4096);
	CHECK(p.mount_opts && !strstr(p.mount_opts, "max_read=1048576"));
	bool kept = false; /* the user's max_read reaches the mount */
	for (int i = 0; i < p.args.argc; i++)
		kept |= strstr(p.args.argv[i], "max_read=4096") != NULL;
	CHECK(kept);
	done(&p);

	/* a comma in SOURCE does not split the fsname option */
	char *comma = xasprintf("%s/a,b", dir);
	CHECK(mkdir_p(comma, 0755) == 0);
	parse(&p, "a,b", "mnt", NULL);
	CHECK(p.rc == -1 && p.mount_opts && strstr(p.mount_opts, "fsname=") &&
	      strstr(p.mount_opts, "a\\,b"));
	done(&p);
	free(comma);
}

static void test_usage_errors(void)
{
	struct parsed p;
	parse(&p, "src", NULL);
	CHECK(p.rc == 2 && said(&p.err, "usage: ggfs [OPTIONS] SOURCE MOUNTPOINT"));
	done(&p);
	parse(&p, "src", "mnt", "extra", NULL);
	CHECK(p.rc == 2 && said(&p.err, "unexpected argument 'extra'"));
	done(&p);
	/* an option ggfs does not know is libfuse's to take or refuse */
	parse(&p, "-o", "no_such_option", "src", "mnt", NULL);
	CHECK(p.rc == -1 && has_arg(&p, "no_such_option"));
	done(&p);
	const char *writeback[] = {"writeback", "writeback_cache"};
	for (size_t i = 0; i < GG_ARRAY_LEN(writeback); i++) {
		parse(&p, "-o", writeback[i], "src", "mnt", NULL);
		CHECK(p.rc == 2 && said(&p.err, "is not supported"));
		done(&p);
	}
	parse(&p, "-o", "writeback,no_writeback", "src", "mnt", NULL);
	CHECK(p.rc == -1); /* the default, said explicitly, is accepted */
	done(&p);
	const char *range[] = {"jobs=-1", "jobs=100001", "timeout=-0.5"};
	for (size_t i = 0; i < GG_ARRAY_LEN(range); i++) {
		parse(&p, "-o", range[i], "src", "mnt", NULL);
		CHECK(p.rc == 2 && said(&p.err, "jobs must be 0 to 100000"));
		done(&p);
	}
	parse(&p, "-o", "jobs=100000,timeout=0", "src", "mnt", NULL);
	CHECK(p.rc == -1);
	done(&p);
}

static void test_unusable_paths(void)
{
	struct parsed p;
	struct {
		const char *src, *mnt, *said;
	} bad[] = {
	    {"src", "file", "MOUNTPOINT"},            /* a regular file */
	    {"file", "mnt", "SOURCE"},                /* the same */
	    {"src", "src", "must not be SOURCE"},     /* itself */
	    {"src", "src/sub", "or inside it"},       /* inside SOURCE */
	    {"src/sub", "src", "must not be inside"}, /* SOURCE inside it */
	    {"/", "mnt", "or inside it"},             /* everything is inside / */
	    {"no-such-dir", "mnt", "No such file"},   /* nothing there */
	    {"src", "no-such-mnt", "No such file"},
	};
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		parse(&p, bad[i].src, bad[i].mnt, NULL);
		CHECK(p.rc == 1 && said(&p.err, bad[i].said));
		if (p.rc != 1 || !said(&p.err, bad[i].said))
			fprintf(stderr, "  case %zu: rc %d, said %s\n", i, p.rc,
			        p.err.data ? p.err.data : "");
		done(&p);
	}
	/* a name that only starts like SOURCE is beside it, not inside */
	char *beside = xasprintf("%s/src2", dir);
	CHECK(mkdir_p(beside, 0755) == 0);
	parse(&p, "src", "src2", NULL);
	CHECK(p.rc == -1);
	done(&p);
	free(beside);
}

static void test_help_version_trace(void)
{
	struct parsed p;
	parse(&p, "--help", NULL);
	CHECK(p.rc == 0 && said(&p.out, "usage: ggfs [OPTIONS] SOURCE MOUNTPOINT") &&
	      said(&p.out, "-o store=DIR") && said(&p.out, "FUSE options"));
	done(&p);
	parse(&p, "-V", NULL);
	CHECK(p.rc == 0 && said(&p.out, "ggfs 0."));
	done(&p);
	parse(&p, "-o", "trace=t.json,log=/l", "src", "mnt", NULL);
	char *abs = xasprintf("%s/t.json", dir);
	CHECK(p.rc == -1);
	CHECK_STR(p.fs.trace_opt, abs);
	CHECK_STR(p.fs.log_opt, "/l");
	free(abs);
	done(&p);
}

TEST_MAIN(setup, test_paths_and_options, test_usage_errors, test_unusable_paths,
          test_help_version_trace, teardown)
