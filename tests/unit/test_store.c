/**
 * @file test_store.c
 * Specification of the on-disk store (core/store): layout, content
 * addressing, damage detection, executable twins, the hash cache, the memo,
 * per-thunk locks, gc, and crash safety of writers.
 */
#include "core/stamp.h"
#include "core/store.h"
#include "core/thunk.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	char *dir;  /* a fresh temp directory */
	char *root; /* dir/.gg */
	struct store *s;
};

/* A fixture under base (default /tmp). */
static void setup_in(struct fixture *f, const char *base)
{
	f->dir = xasprintf("%s/ggtest-store-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(f->dir)) {
		perror("mkdtemp");
		abort();
	}
	char *real = realpath(f->dir, NULL); /* in case /tmp is a symlink */
	if (real) {
		free(f->dir);
		f->dir = real;
	}
	f->root = NULL;
	f->s = NULL;
	if (store_init(f->dir, &f->root) < 0 || store_open(f->root, &f->s) < 0) {
		fprintf(stderr, "cannot set up a store in %s: %s\n", f->dir, gg_last_error());
		abort();
	}
}

static void setup(struct fixture *f)
{
	setup_in(f, NULL);
}

/*
 * A ramfs mounted in this process's own mount namespace (gone with it): a
 * file system with coarse time stamps on every kernel (no multigrain
 * ctime), where two changes within one clock tick get one ctime. NULL (a
 * failed check naming the cause) if this process may not mount one.
 */
static char coarse_dir[] = "/tmp/ggtest-ramfs-XXXXXX";

static void coarse_fs_remove(void)
{
	umount2(coarse_dir, MNT_DETACH);
	rmdir(coarse_dir);
}

static const char *coarse_fs(void)
{
	char *dir = coarse_dir;
	static int state; /* 0 not yet, 1 mounted, -1 failed */
	if (state == 0) {
		state = -1;
		if (!mkdtemp(dir))
			perror("mkdtemp");
		else if (unshare(CLONE_NEWNS) < 0 ||
		         mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			fprintf(stderr, "prerequisite: a private mount namespace (root): %s\n",
			        strerror(errno));
		else if (mount("ggtest", dir, "ramfs", 0, "mode=0700") < 0)
			fprintf(stderr, "prerequisite: mounting a ramfs on %s: %s\n", dir,
			        strerror(errno));
		else
			state = 1;
		if (state < 0)
			rmdir(dir);
		else
			atexit(coarse_fs_remove);
	}
	CHECK(state == 1);
	return state == 1 ? dir : NULL;
}

static void teardown(struct fixture *f)
{
	store_close(f->s);
	remove_tree(f->dir);
	free(f->root);
	free(f->dir);
}

static char *path_in(const struct fixture *f, const char *rel)
{
	return xasprintf("%s/%s", f->dir, rel);
}

static void write_text(const char *path, const char *text)
{
	if (write_file_atomic(path, text, strlen(text), 0644) < 0) {
		fprintf(stderr, "%s\n", gg_last_error());
		abort();
	}
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill_random(char *p, size_t len, uint64_t *x)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v = rng_next(x);
		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (char)rng_next(x);
}

/* A valid thunk encoding (the store itself does not care, but gc keeps 'T'). */
static void thunk_bytes(struct buf *out, const char *arg)
{
	struct thunk t;
	thunk_init(&t);
	t.exe = xstrdup("sh");
	strvec_push(&t.argv, "sh");
	strvec_push(&t.argv, arg);
	struct gg_ref r = {{{0}}, NULL};
	gg_name_of_buf("#!/bin/sh\n", 10, GG_VALUE, &r.name);
	thunk_add_input(&t, "sh", &r, true);
	strvec_push(&t.outputs, "out");
	if (thunk_encode(&t, out) < 0)
		abort();
	thunk_free(&t);
}

/* ---- init and open ---- */

static void test_init_creates_layout(void)
{
	struct fixture f;
	setup(&f);
	char *want = xasprintf("%s/.gg", f.dir);
	CHECK_STR(f.root, want);
	const char *subs[] = {"objects",  "xobjects",   "memo",  "hashcache",
	                      "verdicts", "quarantine", "locks", "tmp"};
	for (size_t i = 0; i < GG_ARRAY_LEN(subs); i++) {
		char *p = xasprintf("%s/%s", f.root, subs[i]);
		struct stat st;
		CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
		free(p);
	}
	CHECK_STR(f.s->root, want); /* absolute */
	char *tmp = xasprintf("%s/tmp", want);
	CHECK_STR(f.s->tmp, tmp);
	free(tmp);

	/* Again: fine, nothing changes. */
	char *root2 = NULL;
	CHECK(store_init(f.dir, &root2) == 0);
	CHECK_STR(root2, want);
	free(root2);

	/* A directory ending in ".gg" is the store itself. */
	char *named = path_in(&f, "cache.gg");
	CHECK(store_init(named, &root2) == 0);
	CHECK_STR(root2, named);
	char *objs = xasprintf("%s/objects", named);
	CHECK(exists(objs));
	free(objs);
	free(root2);
	free(named);

	/* Cannot create: an error naming the directory. */
	char *file = path_in(&f, "file");
	write_text(file, "x");
	char *under = xasprintf("%s/sub", file);
	CHECK_ERR(store_init(under, NULL), "cannot create directory");
	free(under);
	free(file);
	free(want);
	teardown(&f);
}

static void test_open_explicit_env_and_walk_up(void)
{
	struct fixture f;
	setup(&f);
	char *saved_env = getenv("GG_DIR") ? xstrdup(getenv("GG_DIR")) : NULL;
	int here = open(".", O_RDONLY | O_DIRECTORY);
	struct store *s = NULL;

	/* Missing directory. */
	char *missing = path_in(&f, "nope/.gg");
	CHECK_ERR(store_open(missing, &s), "is not a directory");
	free(missing);

	/* $GG_DIR. */
	setenv("GG_DIR", f.root, 1);
	CHECK(store_open(NULL, &s) == 0);
	CHECK_STR(s->root, f.root);
	store_close(s);

	/* Walking up from a subdirectory finds the nearest .gg. */
	unsetenv("GG_DIR");
	char *deep = path_in(&f, "a/b/c");
	CHECK(mkdir_p(deep, 0755) == 0);
	CHECK(chdir(deep) == 0);
	CHECK(store_open(NULL, &s) == 0);
	CHECK(s && !strcmp(s->root, f.root));
	store_close(s);

	/* ...the nearest one: a closer .gg wins. */
	char *mid = path_in(&f, "a");
	char *mid_root = NULL;
	CHECK(store_init(mid, &mid_root) == 0);
	CHECK(store_open(NULL, &s) == 0);
	CHECK(s && mid_root && !strcmp(s->root, mid_root));
	store_close(s);
	free(mid_root);
	free(mid);

	/* An empty GG_DIR is ignored. */
	setenv("GG_DIR", "", 1);
	CHECK(store_open(NULL, &s) == 0);
	store_close(s);
	unsetenv("GG_DIR");

	/* No .gg anywhere above. */
	struct stat st;
	char bare[] = "/tmp/ggtest-bare-XXXXXX";
	CHECK(mkdtemp(bare) != NULL);
	CHECK(chdir(bare) == 0);
	if (stat("/tmp/.gg", &st) < 0 && stat("/.gg", &st) < 0)
		CHECK_ERR(store_open(NULL, &s), "no .gg directory here or in any parent");
	CHECK(fchdir(here) == 0);
	rmdir(bare);

	CHECK(fchdir(here) == 0);
	close(here);
	if (saved_env)
		setenv("GG_DIR", saved_env, 1);
	free(saved_env);
	free(deep);
	teardown(&f);
}

/*
 * A store directory need not be called ".gg" (GG_DIR=/var/cache/gg): opening
 * an empty or hand-made one creates its subdirectories in it, so it works.
 */
static void test_open_store_not_named_dot_gg(void)
{
	struct fixture f;
	setup(&f);
	char *dir = path_in(&f, "cache");
	CHECK(mkdir(dir, 0755) == 0);
	struct store *s = NULL;
	CHECK(store_open(dir, &s) == 0);
	if (s) {
		struct gg_name n;
		CHECK(store_put_buf(s, "abc", 3, 0, &n) == 0);
		CHECK(store_has(s, &n) == 1);
		char *stray = xasprintf("%s/.gg", dir);
		CHECK(!exists(stray));
		free(stray);
		store_close(s);
	}
	free(dir);
	teardown(&f);
}

/* ---- putting and reading objects ---- */

static void test_put_buf_file_fd_agree(void)
{
	struct fixture f;
	setup(&f);
	const char *text = "int main(void) { return 0; }\n";
	struct gg_name want, a, b, c;
	gg_name_of_buf(text, strlen(text), GG_VALUE, &want);

	CHECK(store_put_buf(f.s, text, strlen(text), 0, &a) == 0);
	CHECK(gg_name_eq(&a, &want));

	char *src = path_in(&f, "main.c");
	write_text(src, text);
	CHECK(store_put_file(f.s, src, &b) == 0);
	CHECK(gg_name_eq(&b, &want));

	int fd = open(src, O_RDONLY);
	CHECK(store_put_fd(f.s, fd, &c) == 0);
	close(fd);
	CHECK(gg_name_eq(&c, &want));

	/* Layout: objects/ab/NAME, read-only, with exactly the bytes. */
	char *p = store_object_path(f.s, &want);
	char *expect = xasprintf("%s/objects/%.2s/%s", f.root, want.s + 1, want.s);
	CHECK_STR(p, expect);
	CHECK(mode_of(p) == 0444);
	struct buf got = BUF_INIT;
	CHECK(read_file(p, &got, 1000) == 0);
	CHECK_STR(got.data, text);
	buf_reset(&got);
	CHECK(store_read(f.s, &want, &got, 1000) == 0);
	CHECK_STR(got.data, text);
	free(expect);
	free(p);

	/* A thunk's bytes are named 'T' when the kind is detected. */
	buf_reset(&got);
	thunk_bytes(&got, "x");
	struct gg_name tn;
	CHECK(store_put_buf(f.s, got.data, got.len, 0, &tn) == 0);
	CHECK(gg_name_kind(&tn) == GG_THUNK);
	CHECK(store_has(f.s, &tn) == 1);
	/* put_fd detects too. */
	char *tsrc = path_in(&f, "thunk");
	CHECK(write_file_atomic(tsrc, got.data, got.len, 0644) == 0);
	fd = open(tsrc, O_RDONLY);
	CHECK(store_put_fd(f.s, fd, &c) == 0 && gg_name_eq(&c, &tn));
	close(fd);
	free(tsrc);

	/* The empty object. */
	struct gg_name e;
	CHECK(store_put_buf(f.s, "", 0, 0, &e) == 0);
	CHECK(store_has(f.s, &e) == 1);
	buf_reset(&got);
	CHECK(store_read(f.s, &e, &got, 10) == 0 && got.len == 0);

	/* Nothing is left in tmp. */
	DIR *d = opendir(f.s->tmp);
	int left = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			left++;
	if (d)
		closedir(d);
	CHECK(left == 0);

	CHECK_ERR(store_put_file(f.s, "/nonexistent-gg/file", &a), "/nonexistent-gg/file");
	/* Only a regular file, as store_hash_file: a directory is refused as
	 * not one (GG_EFAIL: gg push exits 1, as gg hash), not by a read's
	 * system error; a FIFO with no writer is not waited on. */
	CHECK_ERR(store_put_file(f.s, f.dir, &a), "is not a regular file");
	CHECK(gg_last_code() == GG_EFAIL);
	char *fifo = xasprintf("%s/fifo", f.dir);
	CHECK(mkfifo(fifo, 0644) == 0);
	CHECK_ERR(store_put_file(f.s, fifo, &a), "fifo is not a regular file");
	free(fifo);
	buf_free(&got);
	free(src);
	teardown(&f);
}

static void test_has_and_read_errors(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n, absent;
	CHECK(store_put_buf(f.s, "0123456789", 10, 0, &n) == 0);
	gg_name_of_buf("never stored", 12, GG_VALUE, &absent);
	CHECK(store_has(f.s, &n) == 1);
	CHECK(store_has(f.s, &absent) == 0);

	struct buf b = BUF_INIT;
	CHECK_ERR(store_read(f.s, &absent, &b, 100), "is not in the store");
	CHECK_ERR(store_read(f.s, &n, &b, 9), "larger than 9 bytes");
	CHECK(b.len == 0);
	CHECK_ERR(store_open_object(f.s, &absent), "is not in the store");
	int fd = store_open_object(f.s, &n);
	CHECK(fd >= 0);
	close(fd);

	/* store_read appends to what the buffer already holds. */
	buf_adds(&b, "head:");
	CHECK(store_read(f.s, &n, &b, 100) == 0);
	CHECK_STR(b.data, "head:0123456789");
	buf_free(&b);
	teardown(&f);
}

static void test_short_object_is_removed_and_missing(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n;
	CHECK(store_put_buf(f.s, "0123456789", 10, 0, &n) == 0);
	char *p = store_object_path(f.s, &n);

	/* Truncated (as after a power loss): store_has removes it. */
	CHECK(chmod(p, 0644) == 0 && truncate(p, 4) == 0);
	CHECK(store_has(f.s, &n) == 0);
	CHECK(!exists(p));

	/* Putting it again repairs it. */
	CHECK(store_put_buf(f.s, "0123456789", 10, 0, &n) == 0);
	CHECK(store_has(f.s, &n) == 1);

	/* Opening a short object reports it and removes it too. */
	CHECK(chmod(p, 0644) == 0 && truncate(p, 9) == 0);
	CHECK_ERR(store_open_object(f.s, &n), "is damaged (wrong size); moved to");
	CHECK(gg_last_code() == GG_ECORRUPT);
	CHECK(!exists(p));
	CHECK(store_put_buf(f.s, "0123456789", 10, 0, &n) == 0);

	/* Too long is damaged as well. */
	CHECK(chmod(p, 0644) == 0);
	int fd = open(p, O_WRONLY | O_APPEND);
	CHECK(write(fd, "!", 1) == 1);
	close(fd);
	struct buf b = BUF_INIT;
	CHECK_ERR(store_read(f.s, &n, &b, 100), "damaged");
	CHECK(store_has(f.s, &n) == 0);

	/* A directory where an object should be is not an object. */
	CHECK(mkdir(p, 0755) == 0);
	CHECK(store_has(f.s, &n) == 0);
	rmdir(p);

	buf_free(&b);
	free(p);
	teardown(&f);
}

static void test_corrupt_object_of_right_size(void)
{
	struct fixture f;
	setup(&f);
	const char *text = "the quick brown fox";
	struct gg_name n;
	CHECK(store_put_buf(f.s, text, strlen(text), 0, &n) == 0);
	char *p = store_object_path(f.s, &n);
	CHECK(chmod(p, 0644) == 0);
	int fd = open(p, O_WRONLY);
	CHECK(pwrite(fd, "F", 1, 4) == 1); /* same size, one byte flipped */
	close(fd);

	CHECK(store_has(f.s, &n) == 1); /* size-only check: cheap */
	struct buf b = BUF_INIT;
	buf_adds(&b, "keep");
	CHECK_ERR(store_read(f.s, &n, &b, 100), "is damaged (its bytes hash to V");
	CHECK(strstr(gg_last_error(), n.s) != NULL);
	CHECK(gg_last_code() == GG_ECORRUPT);
	CHECK_STR(b.data, "keep"); /* nothing appended */
	CHECK(b.len == 4);
	CHECK(store_has(f.s, &n) == 0); /* and it is gone */

	/* A thunk whose bytes were damaged is detected with its own kind. */
	buf_reset(&b);
	thunk_bytes(&b, "y");
	struct gg_name tn;
	CHECK(store_put_buf(f.s, b.data, b.len, 0, &tn) == 0);
	buf_reset(&b);
	CHECK(store_read(f.s, &tn, &b, 1 << 20) == 0);
	buf_free(&b);
	free(p);
	teardown(&f);
}

/* Flips one byte of the file at path in place (same size). */
static void flip_byte(const char *path, off_t at)
{
	CHECK(chmod(path, 0644) == 0);
	int fd = open(path, O_RDWR);
	char c = 0;
	CHECK(fd >= 0 && pread(fd, &c, 1, at) == 1);
	c ^= 0x20;
	CHECK(pwrite(fd, &c, 1, at) == 1);
	close(fd);
	CHECK(chmod(path, 0444) == 0);
}

static void wait_settled(void)
{
	struct timespec d = {2, 200 * 1000 * 1000}; /* STAMP_MARGIN_NS and a bit */
	nanosleep(&d, NULL);
}

/*
 * What the first uses of a stored object hash, under the store's rule: where
 * the file system keeps exact change times, the first open records a verdict
 * at once; where it keeps coarse ones, an object is hashed at each use until
 * it has settled (stamp.h), then once more, and no more.
 */
static void verify_on_read_in(const char *base)
{
	struct fixture f;
	setup_in(&f, base);
	const char *text = "every byte is checked against its name";
	struct gg_name n;
	CHECK(store_put_buf(f.s, text, strlen(text), 0, &n) == 0);
	char *p = store_object_path(f.s, &n);
	char *q = store_quarantine_path(f.s, &n, false);
	char *vp = xasprintf("%s/verdicts/%.2s/%s", f.root, n.s + 1, n.s);
	bool exact = store_exact_times(f.s);
	printf("%s: %s change times\n", base ? base : "/tmp", exact ? "exact" : "coarse");

	/* A small object is not vouched for when stored: its first open hashes. */
	uint64_t h0 = store_verify_hashes();
	int fd = store_open_object(f.s, &n);
	CHECK(fd >= 0);
	close(fd);
	CHECK(store_verify_hashes() == h0 + 1);
	CHECK(store_verify(f.s, &n) == 0);
	if (exact) {
		/* the verdict recorded by the first open holds at once */
		CHECK(store_verify_hashes() == h0 + 1);
		CHECK(exists(vp));
	} else {
		/* just written: not settled, so each open hashes (no verdict yet) */
		CHECK(store_verify_hashes() == h0 + 2);
		CHECK(!exists(vp));
		/* settled: hashed once more, and the verdict makes later opens free */
		wait_settled();
		CHECK(store_verify(f.s, &n) == 0);
		CHECK(store_verify_hashes() == h0 + 3);
		CHECK(exists(vp));
	}
	uint64_t hv = store_verify_hashes();
	for (int i = 0; i < 3; i++)
		CHECK(store_verify(f.s, &n) == 0);
	CHECK(store_verify_hashes() == hv);

	/* A damaged verdict is not trusted: hashed again. */
	struct buf vb = BUF_INIT;
	CHECK(read_file(vp, &vb, 4096) == 0 && vb.len > 20);
	vb.data[12] ^= 1;
	CHECK(write_cache_file(vp, vb.data, vb.len, 0644) == 0);
	CHECK(store_verify(f.s, &n) == 0);
	CHECK(store_verify_hashes() == hv + 1);

	/* One byte flipped: the stamp changed, the verdict is void, the bytes
	 * are hashed and the object is quarantined, named in the error. */
	flip_byte(p, 3);
	CHECK_ERR(store_open_object(f.s, &n), "is damaged (its bytes hash to");
	CHECK(gg_last_code() == GG_ECORRUPT);
	CHECK(strstr(gg_last_error(), n.s) != NULL);
	CHECK(strstr(gg_last_error(), q) != NULL);
	CHECK(!exists(p) && exists(q));
	CHECK(store_has(f.s, &n) == 0); /* missing now: a memo entry naming it is a miss */
	CHECK_ERR(store_open_object(f.s, &n), "is not in the store");
	char *pm = NULL;
	CHECK_ERR(store_object_path_mode(f.s, &n, false, &pm), "is not in the store");

	/* Damaged after a verdict was recorded while settled: still found. */
	CHECK(store_put_buf(f.s, text, strlen(text), 0, &n) == 0);
	wait_settled();
	CHECK(store_verify(f.s, &n) == 0);
	uint64_t h1 = store_verify_hashes();
	CHECK(store_verify(f.s, &n) == 0 && store_verify_hashes() == h1);
	flip_byte(p, 0);
	CHECK_ERR(store_object_path_mode(f.s, &n, false, &pm), "is damaged");
	CHECK(!exists(p));

	/* A damaged executable copy is quarantined and made again from the object. */
	CHECK(store_put_buf(f.s, text, strlen(text), 0, &n) == 0);
	char *x = NULL, *qx = store_quarantine_path(f.s, &n, true);
	CHECK(store_object_path_mode(f.s, &n, true, &x) == 0);
	flip_byte(x, 1);
	CHECK(chmod(x, 0555) == 0);
	char *x2 = NULL;
	CHECK(store_object_path_mode(f.s, &n, true, &x2) == 0);
	CHECK_STR(x2, x);
	CHECK(exists(qx));
	struct buf b = BUF_INIT;
	CHECK(read_file(x2, &b, 4096) == 0);
	CHECK_STR(b.data, text);
	CHECK((mode_of(x2) & 07777) == 0555);

	buf_free(&b);
	buf_free(&vb);
	free(x);
	free(x2);
	free(qx);
	free(vp);
	free(q);
	free(p);
	teardown(&f);
}

static void test_verify_on_read(void)
{
	verify_on_read_in(NULL);
	const char *coarse = coarse_fs();
	if (coarse)
		verify_on_read_in(coarse);
}

/* The coarse clock that file times come from on file systems without exact
 * change times: two readings equal means one tick. */
static int64_t coarse_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Writes byte `at` of a stored object in place, size and mtime kept, as
 * fast as possible: its owner's chmod, write, times back, chmod. */
static void tamper(const char *path, off_t at, struct stamp *before, struct stamp *after)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	stamp_of(&st, before);
	CHECK(chmod(path, 0644) == 0);
	int fd = open(path, O_RDWR);
	char c = 0;
	CHECK(fd >= 0 && pread(fd, &c, 1, at) == 1);
	c ^= 0x20;
	CHECK(pwrite(fd, &c, 1, at) == 1);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	CHECK(futimens(fd, ts) == 0);
	close(fd);
	CHECK(chmod(path, 0444) == 0);
	CHECK(stat(path, &st) == 0);
	stamp_of(&st, after);
}

/*
 * A change within the same clock tick (so the same second) right after a
 * verdict was recorded, keeping size and mtime, is still caught: where the
 * file system keeps exact change times the stamp shows it; where it keeps
 * coarse ones (ramfs) it does not, and so no verdict was trusted there: the
 * object is hashed. Both for a verdict gg records when it stores an object
 * (store_vouch) and for one recorded by the first open.
 */
static void same_tick_tamper_in(const char *base)
{
	struct fixture f;
	setup_in(&f, base);
	bool exact = store_exact_times(f.s);
	size_t len = STORE_VOUCH_MIN;
	char *data = xmalloc(len);
	uint64_t x = 0x5eed ^ (uint64_t)len;
	int same_tick = 0, tries = 0;
	for (; tries < 200 && same_tick < 3; tries++) {
		fill_random(data, len, &x);
		char *src = path_in(&f, "src");
		CHECK(write_file_atomic(src, data, len, 0644) == 0);
		int in = open(src, O_RDONLY);
		struct gg_name n;
		struct stamp before, after;
		bool by_open = tries % 2 == 1;
		int64_t t0 = coarse_now();
		CHECK(in >= 0 && store_put_fd(f.s, in, &n) == 0);
		close(in);
		char *p = store_object_path(f.s, &n);
		uint64_t h0 = store_verify_hashes();
		if (by_open) { /* the verdict of the first open */
			CHECK(store_verify(f.s, &n) == 0);
			h0 = store_verify_hashes();
		}
		tamper(p, 100, &before, &after);
		int64_t t1 = coarse_now();
		CHECK_ERR(store_verify(f.s, &n), "is damaged (its bytes hash to");
		CHECK(store_verify_hashes() == h0 + 1);
		/*
		 * Exact times: a tamper within the tick shows in the stamp.
		 * Coarse times: what matters is a tamper the stamp did not
		 * show (caught above all the same). Within one tick of
		 * CLOCK_REALTIME_COARSE that is likely but not certain: since
		 * Linux 6.13 a coarse file system's change time may move within
		 * the tick when another, multigrain one (ext4, tmpfs, xfs,
		 * btrfs) hands out a fine-grained time meanwhile, as a test
		 * beside this one may (seen once in CI).
		 */
		bool unseen = stamp_eq(&before, &after);
		if (exact ? t0 == t1 : unseen) {
			same_tick++;
			CHECK(!exact || !unseen);
		}
		free(p);
		free(src);
	}
	printf("%s: %s change times, %d tampers %s in %d tries\n", base ? base : "/tmp",
	       exact ? "exact" : "coarse", same_tick,
	       exact ? "within the tick of the verdict" : "the stamp did not show", tries);
	CHECK(same_tick > 0);

	/* Untouched, a vouched object is not hashed at its first use (exact
	 * times), or hashed as before (coarse). */
	fill_random(data, len, &x);
	char *src = path_in(&f, "src");
	CHECK(write_file_atomic(src, data, len, 0644) == 0);
	int in = open(src, O_RDONLY);
	struct gg_name n;
	CHECK(in >= 0 && store_put_fd(f.s, in, &n) == 0);
	close(in);
	uint64_t h0 = store_verify_hashes();
	CHECK(store_verify(f.s, &n) == 0);
	CHECK(store_verify_hashes() == h0 + (exact ? 0 : 1));
	free(src);
	free(data);
	teardown(&f);
}

/*
 * A store whose writers include the programs gg runs (an unisolated worker):
 * a program can rewrite an object and then record a verdict for its new
 * stamp (here with store_vouch, as gg itself would); trusted, that verdict
 * serves the rewritten bytes. store_distrust hashes every read instead.
 */
static void test_distrusted_store_ignores_forged_verdicts(void)
{
	struct fixture f;
	setup(&f);
	size_t len = STORE_VOUCH_MIN;
	char *data = xmalloc(len);
	uint64_t x = 0xbad5eed;
	fill_random(data, len, &x);
	struct gg_name n;
	CHECK(store_put_buf(f.s, data, len, 0, &n) == 0);
	char *p = store_object_path(f.s, &n);
	struct stamp before, after;
	tamper(p, 7, &before, &after);
	int fd = open(p, O_RDONLY);
	CHECK(fd >= 0);
	store_vouch(f.s, &n, fd); /* the forged verdict */
	close(fd);
	if (store_exact_times(f.s))                /* (else no verdict is trusted so soon) */
		CHECK(store_verify(f.s, &n) == 0); /* trusted: the forgery works */
	store_distrust(f.s);
	CHECK_ERR(store_verify(f.s, &n), "is damaged (its bytes hash to");
	free(p);
	free(data);
	teardown(&f);
}

static void test_same_tick_tamper(void)
{
	same_tick_tamper_in(NULL);
	const char *coarse = coarse_fs();
	if (coarse) {
		struct fixture f;
		setup_in(&f, coarse);
		CHECK(!store_exact_times(f.s)); /* the probe sees coarse times */
		teardown(&f);
		same_tick_tamper_in(coarse);
	}
}

static void test_executable_twin(void)
{
	struct fixture f;
	setup(&f);
	const char *script = "#!/bin/sh\necho hi\n";
	struct gg_name n;
	CHECK(store_put_buf(f.s, script, strlen(script), 0, &n) == 0);

	char *plain = NULL, *x = NULL, *x2 = NULL;
	CHECK(store_object_path_mode(f.s, &n, false, &plain) == 0);
	char *obj = store_object_path(f.s, &n);
	CHECK_STR(plain, obj);
	CHECK(mode_of(plain) == 0444);

	CHECK(store_object_path_mode(f.s, &n, true, &x) == 0);
	char *want = xasprintf("%s/xobjects/%.2s/%s", f.root, n.s + 1, n.s);
	CHECK_STR(x, want);
	CHECK(mode_of(x) == 0555);
	CHECK(mode_of(plain) == 0444); /* the original keeps its mode */
	struct buf b = BUF_INIT;
	CHECK(read_file(x, &b, 100) == 0);
	CHECK_STR(b.data, script);

	/* Asking again reuses the twin. */
	CHECK(store_object_path_mode(f.s, &n, true, &x2) == 0);
	CHECK_STR(x2, x);

	/* No twin of a missing object. */
	struct gg_name absent;
	char *none = NULL;
	gg_name_of_buf("absent", 6, GG_VALUE, &absent);
	CHECK_ERR(store_object_path_mode(f.s, &absent, true, &none), "is not in the store");
	CHECK(none == NULL);

	/* A twin of a large object (several copy chunks) and of an empty one. */
	size_t big = 3 << 20;
	char *data = xmalloc(big);
	uint64_t seed = 99;
	fill_random(data, big, &seed);
	struct gg_name bn;
	CHECK(store_put_buf(f.s, data, big, 0, &bn) == 0);
	char *bx = NULL;
	CHECK(store_object_path_mode(f.s, &bn, true, &bx) == 0);
	int fd = bx ? open(bx, O_RDONLY) : -1;
	struct gg_name check;
	CHECK(fd >= 0 && gg_name_of_fd(fd, 0, &check) == 0 && gg_name_eq(&check, &bn));
	if (fd >= 0)
		close(fd);
	struct gg_name en;
	char *ex = NULL;
	CHECK(store_put_buf(f.s, "", 0, 0, &en) == 0);
	CHECK(store_object_path_mode(f.s, &en, true, &ex) == 0);
	CHECK(ex && mode_of(ex) == 0555);

	free(ex);
	free(bx);
	free(data);
	buf_free(&b);
	free(want);
	free(obj);
	free(x2);
	free(x);
	free(plain);
	teardown(&f);
}

/*
 * Threads that make the same object (or its executable twin) at once while
 * each hard-links it right away, as the sandbox places inputs: no link may
 * fail. Replacing an existing object by rename made a concurrent link(2) of
 * it fail with ENOENT (the replaced inode has no links left), seen as
 * "cannot place input" retries when two thunks first used the same tool.
 */
enum { RACE_THREADS = 4, RACE_ROUNDS = 150 };
struct race {
	struct fixture *f;
	pthread_barrier_t barrier;
	int round;
	atomic_int failures;
};
struct racer {
	struct race *r;
	int id;
};

static void *racer_main(void *p)
{
	struct racer *me = p;
	struct race *r = me->r;
	for (int i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(&r->barrier);
		/* every thread stores the same bytes, new in each round */
		char data[1024];
		memset(data, 'a' + i % 26, sizeof data);
		snprintf(data, 32, "round %d", i);
		char *own = xasprintf("%s/own-%d-%d", r->f->dir, me->id, i);
		struct gg_name n;
		int fd = -1;
		int ok = write_file_atomic(own, data, sizeof data, 0644) == 0 &&
		         (fd = open(own, O_RDONLY | O_CLOEXEC)) >= 0 &&
		         store_adopt_fd(r->f->s, fd, AT_FDCWD, own, &n) == 0;
		if (fd >= 0)
			close(fd);
		unlink(own); /* what exec's cleanup does (where it was copied) */
		char *obj = ok ? store_object_path(r->f->s, &n) : NULL;
		char *x = NULL, *l1 = xasprintf("%s/l-%d-%d", r->f->dir, me->id, i),
		     *l2 = xasprintf("%s/x-%d-%d", r->f->dir, me->id, i);
		if (!ok || link(obj, l1) < 0 || store_object_path_mode(r->f->s, &n, true, &x) < 0 ||
		    link(x, l2) < 0)
			atomic_fetch_add(&r->failures, 1);
		free(own), free(obj), free(x), free(l1), free(l2);
	}
	return NULL;
}

static void test_concurrent_makers_never_break_links(void)
{
	struct fixture f;
	setup(&f);
	struct race r = {.f = &f};
	atomic_init(&r.failures, 0);
	pthread_barrier_init(&r.barrier, NULL, RACE_THREADS);
	pthread_t t[RACE_THREADS];
	struct racer who[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++) {
		who[i] = (struct racer){&r, i};
		CHECK(pthread_create(&t[i], NULL, racer_main, &who[i]) == 0);
	}
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r.barrier);
	CHECK(atomic_load(&r.failures) == 0);
	if (atomic_load(&r.failures))
		fprintf(stderr, "    %d of %d adopt/twin + link rounds failed\n",
		        atomic_load(&r.failures), RACE_THREADS * RACE_ROUNDS);
	teardown(&f);
}

static int adopt_path(struct store *s, const char *path, bool may_link, struct gg_name *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	int r = store_adopt_fd(s, fd, AT_FDCWD, may_link ? path : NULL, n);
	close(fd);
	return r;
}

static void test_adopt_fd(void)
{
	struct fixture f;
	setup(&f);
	char *sandbox = NULL;
	CHECK(store_make_tmpdir(f.s, "sandbox", &sandbox) == 0);
	CHECK(sandbox && !strncmp(sandbox, f.s->tmp, strlen(f.s->tmp)) &&
	      strstr(sandbox, "/sandbox-"));
	char *out = xasprintf("%s/out.o", sandbox);
	write_text(out, "object code");
	CHECK(chmod(out, 06755) == 0);
	struct stat before, st;
	CHECK(stat(out, &before) == 0);
	struct gg_name n, want;
	gg_name_of_buf("object code", 11, GG_VALUE, &want);
	/* may_link, one link: the file becomes the object (no copy), 0444 */
	CHECK(adopt_path(f.s, out, true, &n) == 0);
	CHECK(gg_name_eq(&n, &want));
	char *p = store_object_path(f.s, &n);
	CHECK(stat(p, &st) == 0 && st.st_ino == before.st_ino && (st.st_mode & 07777) == 0444);
	CHECK(store_has(f.s, &n) == 1);
	CHECK(stat(out, &st) < 0 && errno == ENOENT); /* its name went with it */

	/* Vouched for after its name was removed (the last change gg made to
	 * it): a large one's first use hashes nothing (exact change times). */
	size_t big = STORE_VOUCH_MIN;
	char *data = xmalloc(big);
	uint64_t x = 0xad097;
	fill_random(data, big, &x);
	CHECK(write_file_atomic(out, data, big, 0644) == 0);
	CHECK(adopt_path(f.s, out, true, &n) == 0);
	CHECK(unlink(out) < 0 && errno == ENOENT); /* the run directory's cleanup: none left */
	uint64_t h0 = store_verify_hashes();
	CHECK(store_verify(f.s, &n) == 0);
	CHECK(store_verify_hashes() == h0 + (store_exact_times(f.s) ? 0 : 1));

	/* A name that is not the file's is left alone. */
	fill_random(data, big, &x);
	CHECK(write_file_atomic(out, data, big, 0644) == 0);
	char *stranger = xasprintf("%s/stranger", sandbox);
	write_text(stranger, "not the output");
	int fd = open(out, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && store_adopt_fd(f.s, fd, AT_FDCWD, stranger, &n) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(stat(stranger, &st) == 0 && stat(out, &st) == 0 && st.st_nlink == 2);
	CHECK(unlink(out) == 0 && unlink(stranger) == 0);
	free(stranger);
	free(data);

	/* Adopting an object already present changes nothing. */
	write_text(out, "object code");
	CHECK(adopt_path(f.s, out, true, &n) == 0);
	CHECK(store_has(f.s, &n) == 1);
	CHECK(unlink(out) == 0);

	/* Not may_link: a copy; the file itself keeps its mode (setuid too),
	 * the object has none of it. */
	write_text(out, "copied code");
	CHECK(chmod(out, 04755) == 0);
	CHECK(stat(out, &before) == 0);
	CHECK(adopt_path(f.s, out, false, &n) == 0);
	char *q = store_object_path(f.s, &n);
	CHECK(stat(q, &st) == 0 && st.st_ino != before.st_ino && (st.st_mode & 07777) == 0444);
	CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 04755);
	free(q);

	/* A file with another link is copied even with may_link: the other
	 * name keeps its mode and owner. */
	char *other = xasprintf("%s/other", sandbox);
	write_text(other, "shared bytes");
	CHECK(chmod(other, 0640) == 0);
	char *second = xasprintf("%s/second", sandbox);
	CHECK(link(other, second) == 0);
	CHECK(adopt_path(f.s, second, true, &n) == 0);
	CHECK(stat(other, &st) == 0 && (st.st_mode & 07777) == 0640);
	q = store_object_path(f.s, &n);
	CHECK(stat(q, &st) == 0 && st.st_nlink == 1 && (st.st_mode & 07777) == 0444);
	free(q);

	/* Extended attributes (file capabilities, ACLs...) are not carried:
	 * such a file is copied. */
	char *xa = xasprintf("%s/xattr", sandbox);
	write_text(xa, "with attributes");
	if (setxattr(xa, "user.gg-test", "1", 1, 0) == 0) {
		CHECK(adopt_path(f.s, xa, true, &n) == 0);
		q = store_object_path(f.s, &n);
		char v[8];
		CHECK(getxattr(q, "user.gg-test", v, sizeof v) < 0 && errno == ENODATA);
		CHECK(getxattr(xa, "user.gg-test", v, sizeof v) == 1);
		free(q);
	} else {
		fprintf(stderr, "test_adopt_fd: no user xattrs on %s (%s): not checked\n", sandbox,
		        strerror(errno));
	}

	/* Not a regular file. */
	CHECK_ERR(adopt_path(f.s, sandbox, true, &n), "not a regular file");
	char *fifo = xasprintf("%s/fifo", sandbox);
	CHECK(mkfifo(fifo, 0644) == 0);
	CHECK_ERR(adopt_path(f.s, fifo, true, &n), "not a regular file");
	free(xa), free(fifo), free(other), free(second);
	free(p);
	free(out);
	free(sandbox);
	teardown(&f);
}

/* ---- the hash cache ---- */

static void set_mtime_past(const char *path)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {time(NULL) - 1000, 0}};
	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		abort();
}

static int count_files_under(const char *top)
{
	int n = 0;
	DIR *d = opendir(top);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", top, e->d_name);
		DIR *d2 = opendir(sub);
		struct dirent *e2;
		while (d2 && (e2 = readdir(d2)))
			n += e2->d_name[0] != '.';
		if (d2)
			closedir(d2);
		free(sub);
	}
	if (d)
		closedir(d);
	return n;
}

static void overwrite_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* The hash cache's entry for a file (its path is named by device and inode). */
static char *cache_entry_of(const struct fixture *f, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		abort();
	return xasprintf("%s/hashcache/%02x/%llx-%llx", f->root, (unsigned)(st.st_ino & 0xff),
	                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

/* Writes a well-formed, sealed entry claiming `name` for the file as it is now. */
static void forge_entry(const struct fixture *f, const char *path, int64_t written,
                        const struct gg_name *name)
{
	struct stamp st;
	char text[STAMP_TEXT_MAX], when[STAMP_TIME_MAX];
	if (stamp_get(path, &st) < 0)
		abort();
	stamp_format(&st, text);
	stamp_time_format(written, when);
	struct buf b = BUF_INIT;
	buf_printf(&b, "gghashcache 2 %s %s %s\n", text, when, name->s);
	stamp_seal(&b);
	char *cp = cache_entry_of(f, path);
	char *dir = xstrndup(cp, (size_t)(strrchr(cp, '/') - cp));
	if (mkdir_p(dir, 0755) < 0)
		abort();
	write_text(cp, b.data);
	free(dir);
	free(cp);
	buf_free(&b);
}

static void sleep_until_settled(void)
{
	struct timespec d = {STAMP_MARGIN_NS / 1000000000, 200 * 1000 * 1000};
	nanosleep(&d, NULL);
}

static void test_hash_cache(void)
{
	struct fixture f;
	setup(&f);
	char *src = path_in(&f, "src.c"), *old = path_in(&f, "old.c");
	char *cache = xasprintf("%s/hashcache", f.root);
	write_text(src, "version 1\n");
	write_text(old, "old bytes\n");

	/* A file changed within the racy margin is hashed but not cached: it
	 * may change again within the same tick of its times. */
	struct gg_name a, b, want, wrong;
	gg_name_of_buf("version 1\n", 10, GG_VALUE, &want);
	gg_name_of_buf("something else\n", 15, GG_VALUE, &wrong);
	CHECK(store_hash_file(f.s, src, &a) == 0);
	CHECK(gg_name_eq(&a, &want));
	CHECK(count_files_under(cache) == 0);

	/* Nor is a file whose mtime is old but whose ctime is not. */
	set_mtime_past(src);
	CHECK(store_hash_file(f.s, src, &a) == 0);
	CHECK(count_files_under(cache) == 0);

	/* A sound-looking entry written just after the change is not trusted
	 * either: only content can tell what the file holds. */
	forge_entry(&f, src, stamp_clock(), &wrong);
	CHECK(store_hash_file(f.s, src, &b) == 0);
	CHECK(gg_name_eq(&b, &want));

	sleep_until_settled();
	CHECK(store_hash_file(f.s, src, &a) == 0);
	CHECK(gg_name_eq(&a, &want));
	CHECK(count_files_under(cache) == 1); /* remembered now */
	CHECK(store_hash_file(f.s, src, &b) == 0);
	CHECK(gg_name_eq(&a, &b));      /* hashed twice: same name */
	CHECK(store_has(f.s, &a) == 0); /* hashing does not store */

	/* A settled entry is trusted by stat: proven by one claiming another name. */
	forge_entry(&f, old, stamp_clock(), &wrong);
	CHECK(store_hash_file(f.s, old, &b) == 0);
	CHECK(gg_name_eq(&b, &wrong));

	/* A damaged entry is dropped, never trusted: one hex digit of the
	 * name changed, the seal left as it was. */
	CHECK(store_hash_file(f.s, src, &b) == 0);
	char *cp = cache_entry_of(&f, src);
	struct buf e = BUF_INIT;
	CHECK(read_file(cp, &e, 4096) == 0);
	char *nm = strstr(e.data, want.s);
	CHECK(nm != NULL);
	if (nm) {
		nm[5] = nm[5] == '0' ? '1' : '0';
		write_text(cp, e.data);
		CHECK(store_hash_file(f.s, src, &b) == 0);
		CHECK(gg_name_eq(&b, &want));
	}
	/* So is a truncated one, and the next hash writes a good one again. */
	write_text(cp, "gghashcache 2 ");
	CHECK(store_hash_file(f.s, src, &b) == 0);
	CHECK(gg_name_eq(&b, &want));
	buf_reset(&e);
	CHECK(read_file(cp, &e, 4096) == 0 && strstr(e.data, want.s) && strstr(e.data, "\nsum "));
	buf_free(&e);
	free(cp);

	/* Modified with a different size: a new name. */
	overwrite_in_place(src, "version two\n");
	CHECK(store_hash_file(f.s, src, &b) == 0);
	gg_name_of_buf("version two\n", 12, GG_VALUE, &want);
	CHECK(gg_name_eq(&b, &want));

	/* Same size, old mtime put back: the ctime still tells. */
	struct timespec pause = {0, 30 * 1000 * 1000};
	nanosleep(&pause, NULL);
	int fd = open(src, O_WRONLY);
	CHECK(pwrite(fd, "V", 1, 0) == 1);
	close(fd);
	set_mtime_past(src);
	CHECK(store_hash_file(f.s, src, &b) == 0);
	gg_name_of_buf("Version two\n", 12, GG_VALUE, &want);
	CHECK(gg_name_eq(&b, &want));

	/* put_file stores what it hashed. */
	CHECK(store_put_file(f.s, src, &b) == 0);
	CHECK(gg_name_eq(&b, &want) && store_has(f.s, &b) == 1);

	/* A cache entry that cannot be written (hashcache/ is a file now) is no
	 * failure, and leaves no message: what a caller set before stays. */
	CHECK(remove_tree(cache) == 0);
	write_text(cache, "not a directory\n");
	gg_name_of_buf("old bytes\n", 10, GG_VALUE, &want);
	gg_fail(GG_ENOTFOUND, "the caller's own message");
	CHECK(store_hash_file(f.s, old, &b) == 0);
	CHECK(gg_name_eq(&b, &want));
	CHECK_STR(gg_last_error(), "the caller's own message");
	CHECK(gg_last_code() == GG_ENOTFOUND);

	CHECK_ERR(store_hash_file(f.s, f.dir, &b), "is not a regular file");
	CHECK_ERR(store_hash_file(f.s, "/nonexistent-gg", &b), "cannot open /nonexistent-gg");
	free(cache);
	free(old);
	free(src);
	teardown(&f);
}

/* ---- the memo ---- */

static void test_memo_round_trip(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name v1, v2, tn;
	CHECK(store_put_buf(f.s, "object", 6, 0, &v1) == 0);
	CHECK(store_put_buf(f.s, "#!/bin/sh\n", 10, 0, &v2) == 0);
	struct buf tb = BUF_INIT;
	thunk_bytes(&tb, "memo");
	CHECK(store_put_buf(f.s, tb.data, tb.len, 0, &tn) == 0);

	struct memo m = {0}, got;
	memo_add(&m, "x.o", &v1, false);
	memo_add(&m, "bin/tool with space", &v2, true);
	CHECK(memo_get(f.s, &tn, &got) == 0); /* nothing yet */
	CHECK(got.n == 0);
	CHECK(memo_put(f.s, &tn, &m) == 0);
	char *mp = xasprintf("%s/memo/%.2s/%s", f.root, tn.s + 1, tn.s);
	CHECK(exists(mp));

	CHECK(memo_get(f.s, &tn, &got) == 1);
	CHECK(got.n == 2);
	const struct memo_output *o = memo_find(&got, "x.o");
	CHECK(o && gg_name_eq(&o->value, &v1) && !o->exec);
	o = memo_find(&got, "bin/tool with space");
	CHECK(o && gg_name_eq(&o->value, &v2) && o->exec);
	CHECK(memo_find(&got, "nope") == NULL);
	CHECK(!strcmp(got.v[0].path, "x.o")); /* order kept */
	memo_free(&got);

	/* Replacing the memo. */
	struct memo m2 = {0};
	memo_add(&m2, "x.o", &v2, false);
	CHECK(memo_put(f.s, &tn, &m2) == 0);
	CHECK(memo_get(f.s, &tn, &got) == 1);
	CHECK(got.n == 1 && gg_name_eq(&got.v[0].value, &v2));
	memo_free(&got);
	CHECK(memo_put(f.s, &tn, &m) == 0);

	/* An output removed from the store (say by gc) makes it a miss. */
	char *p = store_object_path(f.s, &v2);
	CHECK(unlink(p) == 0);
	CHECK(memo_get(f.s, &tn, &got) == 0);
	CHECK(got.n == 0 && got.v == NULL);
	free(p);

	/* A damaged memo file is a miss and is forgotten. */
	CHECK(chmod(mp, 0644) == 0);
	write_text(mp, "garbage");
	CHECK(memo_get(f.s, &tn, &got) == 0);
	CHECK(!exists(mp));

	free(mp);
	memo_free(&m);
	memo_free(&m2);
	buf_free(&tb);
	teardown(&f);
}

/* Parses an entry's text with its seal added, as memo_encode writes it. */
static int parse_memo_text(const char *s)
{
	struct memo m;
	struct buf b = BUF_INIT;
	buf_adds(&b, s);
	stamp_seal(&b);
	int r = memo_parse(b.data, b.len, &m);
	buf_free(&b);
	if (r == 0)
		memo_free(&m);
	else
		CHECK(m.n == 0 && m.v == NULL);
	return r;
}

#define MNAME "V2222222222222222222222222222222222222222222222222222222222222222000000000006"

/* A reference without an output means the primary one, the thunk's first. */
static void test_memo_output_of_a_reference(void)
{
	struct memo m = {0};
	struct gg_name a, b;
	gg_name_of_buf("a", 1, GG_VALUE, &a);
	gg_name_of_buf("b", 1, GG_VALUE, &b);
	CHECK(memo_output_of(&m, NULL) == NULL); /* no outputs: none */
	memo_add(&m, "first.o", &a, false);
	memo_add(&m, "second.o", &b, true);
	CHECK(memo_output_of(&m, NULL) == &m.v[0]);
	CHECK(memo_output_of(&m, "second.o") == &m.v[1]);
	CHECK(memo_output_of(&m, "third.o") == NULL);
	memo_free(&m);
}

static void test_memo_index_finds_every_output(void)
{
	struct memo m = {0};
	struct gg_name v;
	gg_name_of_buf("x", 1, GG_VALUE, &v);
	char p[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof p, "d%d/f%d.o", i % 37, i);
		memo_add(&m, p, &v, i % 2);
	}
	memo_index(&m);
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof p, "d%d/f%d.o", i % 37, i);
		const struct memo_output *o = memo_find(&m, p);
		CHECK(o && !strcmp(o->path, p) && o->exec == (i % 2));
	}
	CHECK(memo_find(&m, "d0/f1.o") == NULL);
	CHECK(memo_find(&m, "") == NULL);
	/* Added after the index: still found (the index is not used). */
	memo_add(&m, "late", &v, false);
	CHECK(memo_find(&m, "late") != NULL && memo_find(&m, "d3/f3.o") != NULL);
	memo_free(&m);
}

static void test_memo_encoding(void)
{
	struct memo m = {0}, p;
	struct gg_name v;
	CHECK(gg_name_parse(MNAME, GG_NAME_LEN, &v) == 0);
	memo_add(&m, "a.o", &v, false);
	memo_add(&m, "bin/x", &v, true);
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	CHECK(memo_encode(&m, &b) == 0);
	struct buf want = BUF_INIT;
	buf_adds(&want, "ggmemo 2\nout - " MNAME " 3 a.o\nout x " MNAME " 5 bin/x\n");
	stamp_seal(&want);
	CHECK_STR(b.data, want.data);
	buf_free(&want);
	CHECK(memo_parse(b.data, b.len, &p) == 0);
	CHECK(memo_encode(&p, &b2) == 0);
	CHECK(b.len == b2.len && !memcmp(b.data, b2.data, b.len));
	memo_free(&p);
	buf_free(&b);
	buf_free(&b2);
	memo_free(&m);
	CHECK(m.n == 0 && m.v == NULL);

	/* Any byte but NUL may be in a path: the length says where it ends. */
	CHECK(parse_memo_text("ggmemo 2\nout - " MNAME " 5 a\nb c\n") == 0);
}

/* A symbolic link output keeps its kind: "out l", read back as a link. */
static void test_memo_link_kind(void)
{
	struct memo m = {0}, p;
	struct gg_name v;
	CHECK(gg_name_parse(MNAME, GG_NAME_LEN, &v) == 0);
	memo_add_link(&m, "libfoo.so", &v);
	memo_add(&m, "libfoo.so.1", &v, false);
	struct buf b = BUF_INIT, want = BUF_INIT;
	CHECK(memo_encode(&m, &b) == 0);
	buf_adds(&want, "ggmemo 2\nout l " MNAME " 9 libfoo.so\nout - " MNAME " 11 libfoo.so.1\n");
	stamp_seal(&want);
	CHECK_STR(b.data, want.data);
	CHECK(memo_parse(b.data, b.len, &p) == 0);
	CHECK(p.n == 2 && p.v[0].link && !p.v[0].exec && !p.v[1].link);
	memo_free(&p);
	/* a link names a value, never a thunk */
	CHECK_ERR(
	    parse_memo_text("ggmemo 2\nout l "
	                    "T2222222222222222222222222222222222222222222222222222222222222222"
	                    "000000000006 1 a\n"),
	    "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout L " MNAME " 1 a\n"), "malformed memo entry");
	buf_free(&b);
	buf_free(&want);
	memo_free(&m);
}

/* Targets: relative, beneath their own directory; made without following. */
static void test_link_values(void)
{
	CHECK(link_target_check("o", "libfoo.so.1", 11) == 0);
	CHECK(link_target_check("o", "sub/x..y/..z", 12) == 0);
	CHECK_ERR(link_target_check("output 'o'", "/etc/passwd", 11),
	          "output 'o': a symbolic link to the absolute path '/etc/passwd'");
	CHECK_ERR(link_target_check("o", "../x", 4), "climbs out with '..'");
	CHECK_ERR(link_target_check("o", "a/../../x", 9), "climbs out with '..'");
	CHECK_ERR(link_target_check("o", "a/..", 4), "climbs out with '..'");
	CHECK_ERR(link_target_check("o", "", 0), "empty target");
	CHECK_ERR(link_target_check("o", "a\0b", 3), "NUL");

	struct fixture f;
	setup(&f);
	struct gg_name v, bad;
	CHECK(store_put_buf(f.s, "libfoo.so.1", 11, GG_VALUE, &v) == 0);
	CHECK(store_put_buf(f.s, "/etc/passwd", 11, GG_VALUE, &bad) == 0);
	char *t;
	CHECK(store_read_link(f.s, &v, &t) == 0);
	CHECK_STR(t, "libfoo.so.1");
	free(t);
	CHECK_ERR(store_read_link(f.s, &bad, &t), "absolute path");
	/* placed over an existing link to a victim: replaced, not followed */
	char *victim = xasprintf("%s/victim", f.dir), *at = xasprintf("%s/lib", f.dir);
	write_text(victim, "victim");
	CHECK(symlink(victim, at) == 0);
	int dfd = open(f.dir, O_PATH | O_DIRECTORY);
	CHECK(store_place_link(f.s, &v, dfd, "lib", "lib") == 0);
	char got[64] = {0};
	CHECK(readlink(at, got, sizeof got - 1) == 11 && !strcmp(got, "libfoo.so.1"));
	struct buf vb = BUF_INIT;
	CHECK(read_file(victim, &vb, 100) == 0 && vb.len == 6 && !memcmp(vb.data, "victim", 6));
	CHECK_ERR(store_place_link(f.s, &bad, dfd, "lib", "lib"),
	          "cannot make the symbolic link lib");
	CHECK(readlink(at, got, sizeof got - 1) == 11);
	buf_free(&vb);
	close(dfd);
	free(victim);
	free(at);
	teardown(&f);
}

static void test_memo_parse_rejects_garbage(void)
{
	CHECK_ERR(parse_memo_text(""), "malformed memo entry: bad header");
	CHECK_ERR(parse_memo_text("ggmemo 1\n"), "bad header"); /* format 1: no longer read */
	CHECK_ERR(parse_memo_text("garbage"), "bad header");
	CHECK_ERR(parse_memo_text("ggmemo 2\n"), "malformed memo entry"); /* no outputs */
	CHECK_ERR(
	    parse_memo_text("ggmemo 2\nout - " MNAME
	                    " 3 a.o\ngarbage that is long enough to look like an "
	                    "entry..........................................................\n"),
	    "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout ? " MNAME " 3 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nput - " MNAME " 3 a.o\n"), "malformed memo entry");
	CHECK_ERR(
	    parse_memo_text(
	        "ggmemo 2\nout - X2222222222222222222222222222222222222222222222222222222222222222"
	        "000000000006 3 a.o\n"),
	    "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " x a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 3 a.o"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 2 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 4 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 99 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 18446744073709551616 a.o\n"),
	          "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " -1 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME "\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 0 \n"),
	          "malformed memo entry"); /* empty path */
	struct memo m;
	struct buf nul = BUF_INIT;
	buf_add(&nul, "ggmemo 2\nout - " MNAME " 3 a\0o\n", 15 + GG_NAME_LEN + 7);
	stamp_seal(&nul);
	CHECK_ERR(memo_parse(nul.data, nul.len, &m), "malformed memo entry");
	buf_free(&nul);

	/* The seal: any flipped byte or a cut makes the entry damaged. */
	struct memo ok = {0};
	struct gg_name v;
	CHECK(gg_name_parse(MNAME, GG_NAME_LEN, &v) == 0);
	memo_add(&ok, "a.o", &v, false);
	ok.has_stderr = true;
	ok.stderr_value = v;
	struct buf e = BUF_INIT;
	memo_encode(&ok, &e);
	struct memo back;
	CHECK(memo_parse(e.data, e.len, &back) == 0 && back.has_stderr &&
	      gg_name_eq(&back.stderr_value, &v));
	memo_free(&back);
	int caught = 0;
	for (size_t i = 0; i < e.len; i++) {
		e.data[i] ^= 0x01;
		caught += memo_parse(e.data, e.len, &back) < 0;
		e.data[i] ^= 0x01;
	}
	CHECK(caught == (int)e.len);
	CHECK_ERR(memo_parse(e.data, e.len - 1, &back), "malformed memo entry");
	memo_free(&ok);
	buf_free(&e);
}

/*
 * One memo has one encoding: numbers are plain decimal, so "+3", "03" or
 * " 3" (which strtoul would accept) are rejected like in a thunk.
 */
static void test_memo_parse_is_canonical(void)
{
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " 03 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " +3 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME " \t3 a.o\n"), "malformed memo entry");
	CHECK_ERR(parse_memo_text("ggmemo 2\nout - " MNAME "  3 a.o\n"), "malformed memo entry");
}

/*
 * memo_parse(data, len) must read only data[0..len): the bytes come from a
 * file or a network peer and need not be NUL-terminated. The entry is put
 * at the very end of a page followed by an inaccessible page; the parse runs
 * in a child so that a stray read shows up as a signal rather than a crash.
 */
static void exit_on_segv(int sig)
{
	_exit(100 + sig);
}

static int parse_at_page_end(const char *body, bool seal)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, body);
	if (seal)
		stamp_seal(&b);
	const char *text = b.data;
	size_t len = b.len, page = (size_t)sysconf(_SC_PAGESIZE);
	pid_t pid = fork();
	if (pid == 0) {
		/* Our handler, not the sanitizer's: a stray read must not look like a rejection. */
		signal(SIGSEGV, exit_on_segv);
		signal(SIGBUS, exit_on_segv);
		char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE) < 0)
			_exit(3);
		char *data = map + page - len;
		memcpy(data, text, len);
		struct memo m;
		int r = memo_parse(data, len, &m);
		_exit(r == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		buf_free(&b);
		return -WTERMSIG(status);
	}
	if (WEXITSTATUS(status) >= 100)
		fprintf(stderr, "memo_parse read past the end of \"%s\" (signal %d)\n", text,
		        WEXITSTATUS(status) - 100);
	buf_free(&b);
	return WEXITSTATUS(status);
}

static void test_memo_parse_stays_within_len(void)
{
	/* A length that reaches exactly the end of the data (no newline). */
	CHECK(parse_at_page_end("ggmemo 2\nout - " MNAME " 3 a.o", true) == 1);
	/* Digits running to the end of the data. */
	CHECK(parse_at_page_end("ggmemo 2\nout - " MNAME " 3", true) == 1);
	CHECK(parse_at_page_end("ggmemo 2\nout - " MNAME " 3 a.o\n", true) == 0);
	/* No seal: the seal check itself stays within the data. */
	CHECK(parse_at_page_end("ggmemo 2\nout - " MNAME " 3 a.o\n", false) == 1);
	CHECK(parse_at_page_end("ggmemo 2\nout - " MNAME " 3 a.o\nsum 0", false) == 1);
}

/* ---- locks ---- */

/*
 * Runs store_lock_thunk(thunk) in a child that gives up after 200 ms: 0 if
 * the child got the lock, 1 if it was still waiting.
 */
static int try_lock_in_child(struct store *s, const struct gg_name *thunk, int inherited_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (inherited_fd >= 0)
			close(inherited_fd); /* our copy of the parent's lock: the parent still
			                        holds it */
		signal(SIGALRM, SIG_DFL);
		ualarm(200000, 0);
		_exit(store_lock_thunk(s, thunk) >= 0 ? 0 : 2);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_lock_thunk_excludes_other_processes(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name tn, other;
	gg_name_of_buf("some thunk", 10, GG_THUNK, &tn);
	gg_name_of_buf("another thunk", 13, GG_THUNK, &other);
	int fd = store_lock_thunk(f.s, &tn);
	CHECK(fd >= 0);

	/* Another process cannot take it while it is held... */
	CHECK(try_lock_in_child(f.s, &tn, fd) == 1);
	/* ...but can lock another thunk. */
	CHECK(try_lock_in_child(f.s, &other, fd) == 0);

	/* Trying without waiting: -2 while held, by another process or by
	 * another lock of this one (threads of a scheduler share a process). */
	pid_t tp = fork();
	if (tp == 0) {
		close(fd);
		_exit(store_trylock_thunk(f.s, &tn) == -2 ? 0 : 1);
	}
	int tstatus = -1;
	waitpid(tp, &tstatus, 0);
	CHECK(WIFEXITED(tstatus) && WEXITSTATUS(tstatus) == 0);
	CHECK(store_trylock_thunk(f.s, &tn) == -2);
	int ofd = store_trylock_thunk(f.s, &other);
	CHECK(ofd >= 0);
	CHECK(try_lock_in_child(f.s, &other, fd) == 1);
	close(ofd);

	/* A waiting locker gets it as soon as it is released. */
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(fd);
		int l = store_lock_thunk(f.s, &tn);
		_exit(l >= 0 && write(p[1], "L", 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	struct pollfd pfd = {p[0], POLLIN, 0};
	CHECK(poll(&pfd, 1, 150) == 0); /* still waiting */
	close(fd);
	char c = 0;
	CHECK(poll(&pfd, 1, 5000) == 1 && read(p[0], &c, 1) == 1 && c == 'L');
	close(p[0]);
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A holder that dies releases it. */
	pid = fork();
	if (pid == 0) {
		int l = store_lock_thunk(f.s, &tn);
		(void)l;
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	waitpid(pid, &status, 0);
	CHECK(try_lock_in_child(f.s, &tn, -1) == 0);

	/* Released: this process can take it again. */
	fd = store_trylock_thunk(f.s, &tn);
	CHECK(fd >= 0);
	close(fd);
	fd = store_lock_thunk(f.s, &tn);
	CHECK(fd >= 0);
	close(fd);
	teardown(&f);
}

/* ---- gc ---- */

static void set_atime(struct store *s, const struct gg_name *n, time_t when, bool twin)
{
	char *p = twin ? xasprintf("%s/xobjects/%.2s/%s", s->root, n->s + 1, n->s)
	               : store_object_path(s, n);
	struct timespec ts[2] = {{when, 0}, {0, UTIME_OMIT}};
	if (utimensat(AT_FDCWD, p, ts, 0) < 0) {
		perror(p);
		abort();
	}
	free(p);
}

struct walked {
	struct strvec names;
	size_t stop_after; /* 0: never */
};

static int note_walked(void *arg, const char *path, const char *name)
{
	struct walked *w = arg;
	const char *slash = strrchr(path, '/');
	CHECK(slash && !strcmp(slash + 1, name)); /* the path ends with the name */
	strvec_push(&w->names, name);
	return w->stop_after && w->names.n == w->stop_after ? 7 : 0;
}

static void test_store_walk_visits_every_entry(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name a, b;
	CHECK(store_put_buf(f.s, "walk a", 6, GG_VALUE, &a) == 0);
	CHECK(store_put_buf(f.s, "walk bb", 7, GG_VALUE, &b) == 0);
	/* a temporary file in a fan-out directory is not an entry */
	char *tmp = xasprintf("%s/objects/%.2s/.tmp-walk", f.root, a.s + 1);
	write_text(tmp, "half written");
	struct walked w = {STRVEC_INIT, 0};
	CHECK(store_walk(f.s, "objects", note_walked, &w) == 0);
	strvec_sort(&w.names);
	CHECK(w.names.n == 2);
	bool both = w.names.n == 2 && (!strcmp(w.names.v[0], a.s) || !strcmp(w.names.v[1], a.s)) &&
	            (!strcmp(w.names.v[0], b.s) || !strcmp(w.names.v[1], b.s));
	CHECK(both);
	strvec_free(&w.names);
	/* fn's nonzero stops the walk and is returned */
	w = (struct walked){STRVEC_INIT, 1};
	CHECK(store_walk(f.s, "objects", note_walked, &w) == 7 && w.names.n == 1);
	strvec_free(&w.names);
	/* a directory that is not there holds nothing */
	w = (struct walked){STRVEC_INIT, 0};
	CHECK(store_walk(f.s, "no-such-part", note_walked, &w) == 0 && w.names.n == 0);
	strvec_free(&w.names);
	free(tmp);
	teardown(&f);
}

/* Values a memo entry names go before the rest (the inputs and tools only
 * the build that stored them can store again), however recently used. */
static void test_gc_removes_outputs_before_inputs(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name in[2], out, tn;
	char data[1000];
	for (int i = 0; i < 2; i++) {
		memset(data, 'p' + i, sizeof data);
		CHECK(store_put_buf(f.s, data, sizeof data, 0, &in[i]) == 0);
	}
	memset(data, 'z', sizeof data);
	CHECK(store_put_buf(f.s, data, sizeof data, 0, &out) == 0);
	struct buf tb = BUF_INIT;
	thunk_bytes(&tb, "gc-order");
	CHECK(store_put_buf(f.s, tb.data, tb.len, 0, &tn) == 0);
	struct memo m = {0};
	memo_add(&m, "o", &out, false);
	CHECK(memo_put(f.s, &tn, &m) == 0);
	memo_free(&m);
	uint64_t ts = tb.len;
	set_atime(f.s, &in[0], 1000000, false); /* the inputs are the oldest */
	set_atime(f.s, &in[1], 2000000, false);
	set_atime(f.s, &out, 9000000, false);

	struct gc_stats st;
	CHECK(store_gc(f.s, 2500 + ts, &st) == 0);
	CHECK(st.removed_objects == 1 && st.after == 2000 + ts);
	CHECK(store_has(f.s, &out) == 0); /* recomputable: it went first */
	CHECK(store_has(f.s, &in[0]) == 1 && store_has(f.s, &in[1]) == 1);
	/* then the inputs, least recently used first */
	CHECK(store_gc(f.s, 1500 + ts, &st) == 0);
	CHECK(store_has(f.s, &in[0]) == 0 && store_has(f.s, &in[1]) == 1);
	buf_free(&tb);
	teardown(&f);
}

static void test_gc_removes_least_recently_used_values(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name v[4], tn;
	char data[1000];
	for (int i = 0; i < 4; i++) {
		memset(data, 'a' + i, sizeof data);
		CHECK(store_put_buf(f.s, data, sizeof data, 0, &v[i]) == 0);
	}
	struct buf tb = BUF_INIT;
	thunk_bytes(&tb, "gc");
	CHECK(store_put_buf(f.s, tb.data, tb.len, 0, &tn) == 0);
	uint64_t ts = tb.len;

	/* The thunk is the oldest of all; then v0, v1, v2, v3. */
	set_atime(f.s, &tn, 1000000, false);
	set_atime(f.s, &v[1], 3000000, false); /* set out of order on purpose */
	set_atime(f.s, &v[0], 2000000, false);
	set_atime(f.s, &v[3], 5000000, false);
	set_atime(f.s, &v[2], 4000000, false);

	struct gc_stats st;
	CHECK(store_gc(f.s, 4000 + ts, &st) == 0); /* already under the cap */
	CHECK(st.before == 4000 + ts && st.after == 4000 + ts && st.removed_objects == 0);

	CHECK(store_gc(f.s, 2500 + ts, &st) == 0);
	CHECK(st.before == 4000 + ts);
	CHECK(st.after == 2000 + ts);
	CHECK(st.removed_objects == 2);
	CHECK(store_has(f.s, &v[0]) == 0);
	CHECK(store_has(f.s, &v[1]) == 0);
	CHECK(store_has(f.s, &v[2]) == 1);
	CHECK(store_has(f.s, &v[3]) == 1);
	CHECK(store_has(f.s, &tn) == 1); /* thunks are kept */

	/* Executable twins count and go too; thunks stay even at a cap of 0. */
	char *x = NULL;
	CHECK(store_object_path_mode(f.s, &v[2], true, &x) == 0);
	set_atime(f.s, &v[2], 4000000, true);
	CHECK(store_gc(f.s, 0, &st) == 0);
	CHECK(st.before == 3000 + ts);
	CHECK(st.after == ts);
	CHECK(st.removed_objects == 3);
	CHECK(x && !exists(x));
	CHECK(store_has(f.s, &v[3]) == 0);
	CHECK(store_has(f.s, &tn) == 1);

	free(x);
	buf_free(&tb);
	teardown(&f);
}

/* ---- crash safety ---- */

/* Stores random objects of up to 4 MiB forever, alternating put_buf and put_fd. */
static _Noreturn void writer(struct store *s, uint64_t seed)
{
	size_t max = 4 << 20;
	char *data = xmalloc(max);
	int mfd = memfd_create("gg-writer", 0);
	if (mfd < 0)
		_exit(2);
	for (unsigned i = 0;; i++) {
		size_t len = (size_t)(rng_next(&seed) % max) + 1;
		if (i % 3 == 0)
			len %= 4096; /* some small ones finish between kills */
		fill_random(data, len, &seed);
		struct gg_name n;
		if (i % 2 == 0) {
			if (store_put_buf(s, data, len, 0, &n) < 0)
				_exit(3);
		} else {
			if (ftruncate(mfd, 0) < 0 || pwrite(mfd, data, len, 0) != (ssize_t)len ||
			    lseek(mfd, 0, SEEK_SET) != 0 || store_put_fd(s, mfd, &n) < 0)
				_exit(4);
		}
	}
}

/* Checks every object file; returns how many there are, -1 on a bad one. */
static int verify_objects(const char *root)
{
	char *top = xasprintf("%s/objects", root);
	DIR *d = opendir(top);
	int count = 0, bad = 0;
	struct dirent *fan;
	while (d && (fan = readdir(d))) {
		if (!strcmp(fan->d_name, ".") || !strcmp(fan->d_name, ".."))
			continue;
		char *sub = xasprintf("%s/%s", top, fan->d_name);
		DIR *e = opendir(sub);
		struct dirent *obj;
		while (e && (obj = readdir(e))) {
			if (!strcmp(obj->d_name, ".") || !strcmp(obj->d_name, ".."))
				continue;
			char *p = xasprintf("%s/%s", sub, obj->d_name);
			struct gg_name n, h;
			struct stat st;
			int fd = -1;
			if (gg_name_parse(obj->d_name, strlen(obj->d_name), &n) < 0) {
				fprintf(stderr, "not an object name in the store: %s\n", p);
				bad++;
			} else if (strncmp(fan->d_name, n.s + 1, 2) || strlen(fan->d_name) != 2) {
				fprintf(stderr, "object in the wrong directory: %s\n", p);
				bad++;
			} else if (stat(p, &st) < 0 || (uint64_t)st.st_size != gg_name_size(&n)) {
				fprintf(stderr, "partial object: %s is %lld bytes\n", p,
				        (long long)st.st_size);
				bad++;
			} else if ((fd = open(p, O_RDONLY)) < 0 ||
			           gg_name_of_fd(fd, gg_name_kind(&n), &h) < 0 ||
			           !gg_name_eq(&n, &h)) {
				fprintf(stderr, "object %s does not hash to its name\n", p);
				bad++;
			} else {
				count++;
			}
			if (fd >= 0)
				close(fd);
			free(p);
		}
		if (e)
			closedir(e);
		free(sub);
	}
	if (d)
		closedir(d);
	free(top);
	return bad ? -1 : count;
}

static void test_killed_writer_never_leaves_partial_object(void)
{
	struct fixture f;
	setup(&f);
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	seed = seed ? seed : 1;
	fprintf(stderr, "crash test seed %llu\n", (unsigned long long)seed);
	int killed = 0;
	for (int round = 0; round < 20; round++) {
		uint64_t child_seed = rng_next(&seed) | 1;
		long delay_us = 2000 + (long)(rng_next(&seed) % 60000);
		pid_t pid = fork();
		if (pid == 0)
			writer(f.s, child_seed);
		struct timespec d = {0, delay_us * 1000};
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else
			fprintf(stderr, "writer exited by itself (status %d)\n", status);
	}
	CHECK(killed == 20);
	int n = verify_objects(f.root);
	CHECK(n > 0); /* some writes completed */
	fprintf(stderr, "crash test: %d complete objects survived 20 kills\n", n);

	/* And the store keeps working: leftovers in tmp do not get in the way. */
	struct gg_name x;
	CHECK(store_put_buf(f.s, "after", 5, 0, &x) == 0 && store_has(f.s, &x) == 1);
	teardown(&f);
}

TEST_MAIN(test_init_creates_layout, test_open_explicit_env_and_walk_up,
          test_open_store_not_named_dot_gg, test_put_buf_file_fd_agree, test_has_and_read_errors,
          test_short_object_is_removed_and_missing, test_corrupt_object_of_right_size,
          test_verify_on_read, test_same_tick_tamper, test_distrusted_store_ignores_forged_verdicts,
          test_executable_twin, test_concurrent_makers_never_break_links, test_adopt_fd,
          test_hash_cache, test_memo_round_trip, test_memo_output_of_a_reference,
          test_memo_index_finds_every_output, test_memo_encoding, test_memo_link_kind,
          test_link_values, test_memo_parse_rejects_garbage, test_memo_parse_is_canonical,
          test_memo_parse_stays_within_len, test_lock_thunk_excludes_other_processes,
          test_gc_removes_least_recently_used_values, test_gc_removes_outputs_before_inputs,
          test_store_walk_visits_every_entry, test_killed_writer_never_leaves_partial_object)
