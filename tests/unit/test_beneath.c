/**
 * @file test_beneath.c
 * Specification of core/beneath: a path under a directory fd opens only if
 * every component is a real directory (or the file itself) inside it; a
 * symbolic link anywhere, "..", an absolute path or a mount point on the way
 * is refused with the same errno by openat2 and by the fallback walk.
 */
#include "core/beneath.h"
#include "core/util.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*open_fn)(int, const char *, int, mode_t);

static char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/ggtest-beneath-XXXXXX");
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		abort();
	}
	return d;
}

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", dir, rel);
	if (write_file_atomic(p, text, strlen(text), 0644) < 0) {
		fprintf(stderr, "%s\n", gg_last_error());
		abort();
	}
	free(p);
}

/* The layout both resolvers are checked against:
 *   ROOT/in/a/b/f          "inside"
 *   ROOT/in/a/up -> ROOT/out   (a directory outside)
 *   ROOT/in/a/flink -> b/f      (a file inside, through a link)
 *   ROOT/in/a/abs -> /          (the root)
 *   ROOT/out/f             "outside" */
struct tree {
	char *root;
	char *in_path;
	int in; /* O_PATH fd of ROOT/in */
};

static void tree_make(struct tree *t)
{
	t->root = make_tmpdir();
	char *p = xasprintf("%s/in/a/b", t->root);
	CHECK(mkdir_p(p, 0755) == 0);
	free(p);
	p = xasprintf("%s/out", t->root);
	CHECK(mkdir(p, 0755) == 0);
	put(t->root, "in/a/b/f", "inside");
	put(t->root, "out/f", "outside");
	char *l = xasprintf("%s/in/a/up", t->root);
	CHECK(symlink(p, l) == 0);
	free(l);
	free(p);
	l = xasprintf("%s/in/a/flink", t->root);
	CHECK(symlink("b/f", l) == 0);
	free(l);
	l = xasprintf("%s/in/a/abs", t->root);
	CHECK(symlink("/", l) == 0);
	free(l);
	t->in_path = xasprintf("%s/in", t->root);
	t->in = open(t->in_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(t->in >= 0);
}

static void tree_free(struct tree *t)
{
	close(t->in);
	free(t->in_path);
	CHECK(remove_tree(t->root) == 0);
	free(t->root);
}

/* errno of a refused open, or 0 if it opened. */
static int refused(open_fn fn, int dir, const char *rel, int flags)
{
	int fd = fn(dir, rel, flags, 0644);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

static bool reads(open_fn fn, int dir, const char *rel, const char *want)
{
	int fd = fn(dir, rel, O_RDONLY, 0);
	if (fd < 0)
		return false;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, want);
}

static void check_resolver(open_fn fn)
{
	struct tree t;
	tree_make(&t);
	CHECK(reads(fn, t.in, "a/b/f", "inside"));
	/* a directory link in the middle, to outside and to / */
	CHECK(refused(fn, t.in, "a/up/f", O_RDONLY) == ELOOP);
	CHECK(refused(fn, t.in, "a/abs/etc/passwd", O_RDONLY) == ELOOP);
	/* a link as the last component, even to a file inside */
	CHECK(refused(fn, t.in, "a/flink", O_RDONLY) == ELOOP);
	int e = refused(fn, t.in, "a/up", O_RDONLY | O_DIRECTORY);
	CHECK(e == ELOOP);
	if (e != ELOOP)
		fprintf(stderr, "a/up: %s\n", strerror(e));
	/* ... which O_PATH opens as itself, never as its target */
	int fd = fn(t.in, "a/flink", O_PATH, 0);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
	if (fd >= 0)
		close(fd);
	/* paths a thunk cannot name */
	CHECK(refused(fn, t.in, "../out/f", O_RDONLY) == EINVAL);
	CHECK(refused(fn, t.in, "a/../../out/f", O_RDONLY) == EINVAL);
	CHECK(refused(fn, t.in, "/etc/passwd", O_RDONLY) == EINVAL);
	CHECK(refused(fn, t.in, "a/./b/f", O_RDONLY) == EINVAL);
	CHECK(refused(fn, t.in, "a//b/f", O_RDONLY) == EINVAL);
	CHECK(refused(fn, t.in, "", O_RDONLY) == EINVAL);
	/* ordinary failures keep their errno */
	CHECK(refused(fn, t.in, "a/b/missing", O_RDONLY) == ENOENT);
	CHECK(refused(fn, t.in, "a/b/f/x", O_RDONLY) == ENOTDIR);
	/* creating beneath works, and not through a link */
	fd = fn(t.in, "a/b/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "n", 1) == 1);
	if (fd >= 0)
		close(fd);
	CHECK(reads(fn, t.in, "a/b/new", "n"));
	CHECK(refused(fn, t.in, "a/up/new", O_WRONLY | O_CREAT) == ELOOP);
	char *outside = xasprintf("%s/out/new", t.root);
	CHECK(access(outside, F_OK) < 0 && errno == ENOENT);
	free(outside);
	/* directories: O_PATH fds that work as *at() bases */
	fd = fn(t.in, "a/b", O_PATH | O_DIRECTORY, 0);
	CHECK(fd >= 0 && fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	if (fd >= 0)
		close(fd);
	tree_free(&t);
}

static void test_openat2(void)
{
	check_resolver(beneath_open);
}

/* What runs where openat2 says ENOSYS (kernels before 5.6, some seccomp
 * profiles). */
static void test_walk_fallback(void)
{
	check_resolver(beneath_open_walk);
}

static void test_open_parent(void)
{
	struct tree t;
	tree_make(&t);
	const char *last = NULL;
	int p = beneath_open_parent(t.in, "a/b/f", &last);
	CHECK(p >= 0 && last && !strcmp(last, "f"));
	/* unlink by (parent fd, last component) */
	CHECK(p >= 0 && unlinkat(p, last, 0) == 0);
	if (p >= 0)
		close(p);
	CHECK(refused(beneath_open, t.in, "a/b/f", O_RDONLY) == ENOENT);
	/* a swapped parent is refused, so nothing outside can be unlinked */
	last = NULL;
	errno = 0;
	CHECK(beneath_open_parent(t.in, "a/up/f", &last) < 0 && errno == ELOOP);
	CHECK(beneath_open_parent(t.in, "../out/f", &last) < 0 && errno == EINVAL);
	char *outside = xasprintf("%s/out/f", t.root);
	CHECK(access(outside, F_OK) == 0);
	free(outside);
	/* one component: a duplicate of the directory itself */
	p = beneath_open_parent(t.in, "a", &last);
	CHECK(p >= 0 && p != t.in && !strcmp(last, "a"));
	struct stat st;
	CHECK(p >= 0 && fstatat(p, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
	if (p >= 0)
		close(p);
	tree_free(&t);
}

static int write_proc(const char *file, const char *text)
{
	char *p = xasprintf("/proc/self/%s", file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	free(p);
	int r = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

/* In a private mount namespace (a child process), a tmpfs mounted on a
 * directory inside the tree is a mount point on the way: EXDEV from both. */
static void test_mount_point(void)
{
	struct tree t;
	tree_make(&t);
	char *m = xasprintf("%s/in/a/m", t.root);
	CHECK(mkdir(m, 0755) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWNS | (uid == 0 ? 0 : CLONE_NEWUSER)) < 0)
			_exit(3);
		/* not root: map ourselves, or new files would have no owner */
		char umap[64], gmap[64];
		snprintf(umap, sizeof umap, "0 %u 1\n", (unsigned)uid);
		snprintf(gmap, sizeof gmap, "0 %u 1\n", (unsigned)gid);
		if (uid != 0 &&
		    (write_proc("uid_map", umap) < 0 || write_proc("setgroups", "deny") < 0 ||
		     write_proc("gid_map", gmap) < 0))
			_exit(3);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", m, "tmpfs", 0, "size=16k") < 0)
			_exit(3);
		char *f = xasprintf("%s/x", m);
		if (write_file_atomic(f, "m", 1, 0644) < 0)
			_exit(3);
		/* under the tmpfs, a bind of a directory of the tree's own file
		 * system: only the mount on the way tells */
		char *y = xasprintf("%s/y", m), *out = xasprintf("%s/out", t.root);
		if (mkdir(y, 0755) < 0 || mount(out, y, NULL, MS_BIND, NULL) < 0)
			_exit(3);
		int in = open(t.in_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		int bad = in < 0, e;
		if ((e = refused(beneath_open, in, "a/m/x", O_RDONLY)) != EXDEV)
			bad = 1, fprintf(stderr, "openat2 a/m/x: %s\n", strerror(e));
		if ((e = refused(beneath_open_walk, in, "a/m/x", O_RDONLY)) != EXDEV)
			bad = 1, fprintf(stderr, "walk a/m/x: %s\n", strerror(e));
		if ((e = refused(beneath_open, in, "a/m", O_PATH)) != EXDEV)
			bad = 1, fprintf(stderr, "openat2 a/m: %s\n", strerror(e));
		if ((e = refused(beneath_open_walk, in, "a/m", O_PATH)) != EXDEV)
			bad = 1, fprintf(stderr, "walk a/m: %s\n", strerror(e));
		if ((e = refused(beneath_open, in, "a/m/y/f", O_RDONLY)) != EXDEV)
			bad = 1, fprintf(stderr, "openat2 a/m/y/f: %s\n", strerror(e));
		if ((e = refused(beneath_open_walk, in, "a/m/y/f", O_RDONLY)) != EXDEV)
			bad = 1, fprintf(stderr, "walk a/m/y/f: %s\n", strerror(e));
		_exit(bad ? 1 : 0);
	}
	int st = -1;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		fprintf(stderr, "test_mount_point: cannot make a mount namespace here\n");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(m);
	tree_free(&t);
}

TEST_MAIN(test_openat2, test_walk_fallback, test_open_parent, test_mount_point)
