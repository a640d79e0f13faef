/**
 * @file test_util.c
 * Specification of core/util: the error convention, growable buffers and
 * string vectors, crash-safe file writing, thunk path rules, number parsing
 * and quoting for shells and JSON.
 */
#include "core/util.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/ggtest-util-XXXXXX");
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		abort();
	}
	return d;
}

/* Number of directory entries whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && strcmp(e->d_name, ".") &&
		    strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- errors ---- */

static void test_error_convention(void)
{
	/* gg_error records the message and returns -1. */
	CHECK(gg_error("object %s is missing", "Vabc") == -1);
	CHECK_STR(gg_last_error(), "object Vabc is missing");

	/* gg_error_errno appends strerror(errno) and keeps errno. */
	errno = ENOENT;
	CHECK(gg_error_errno("cannot open %s", "x.c") == -1);
	CHECK_STR(gg_last_error(), "cannot open x.c: No such file or directory");
	CHECK(errno == ENOENT);

	/* A long message is truncated, not overflowed. */
	char big[4000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	gg_error("%s", big);
	CHECK(strlen(gg_last_error()) > 100 && strlen(gg_last_error()) < sizeof big);
}

/*
 * The whole code base wraps a cause with context by passing the previous
 * message as an argument: gg_error("cannot read %s: %s", path, gg_last_error()).
 * The cause must survive intact.
 */
static void test_error_can_wrap_previous_error(void)
{
	gg_error("bad object name 'Vzz': 3 characters, a name has 77");
	gg_error("malformed thunk, line 4: %s", gg_last_error());
	CHECK_STR(gg_last_error(),
	          "malformed thunk, line 4: bad object name 'Vzz': 3 characters, a name has 77");

	gg_error("inner cause");
	gg_error("%s: %s", "some/path", gg_last_error());
	CHECK_STR(gg_last_error(), "some/path: inner cause");
}

/* Codes: set by gg_fail and from errno, kept when a message wraps its cause. */
static void test_error_codes(void)
{
	CHECK(gg_fail(GG_ECORRUPT, "object %s does not match its name", "Vabc") == -1);
	CHECK(gg_last_code() == GG_ECORRUPT);
	gg_error("cannot serve x.o: %s", gg_last_error());
	CHECK_STR(gg_last_error(), "cannot serve x.o: object Vabc does not match its name");
	CHECK(gg_last_code() == GG_ECORRUPT); /* the wrapper keeps the cause's code */
	gg_error("something unrelated");
	CHECK(gg_last_code() == GG_EFAIL); /* a new message starts afresh */

	errno = ENOENT;
	gg_error_errno("cannot open %s", "x.c");
	CHECK(gg_last_code() == GG_ENOTFOUND);
	errno = EACCES;
	gg_error_errno("cannot open %s", "x.c");
	CHECK(gg_last_code() == GG_EDENIED);
	errno = EIO;
	gg_error_errno("cannot read %s", "x.c");
	CHECK(gg_last_code() == GG_ESYSTEM);
	gg_fail(GG_ECANCELLED, "cancelled");
	CHECK(gg_last_code() == GG_ECANCELLED);

	CHECK_STR(gg_code_str(GG_EPROGRAM), "program failed");
	CHECK_STR(gg_code_str(GG_ECANCELLED), "cancelled");
	CHECK_STR(gg_code_str((enum gg_code)999), "unknown");
}

/* ---- buffers ---- */

static void test_buf_basics(void)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "abc");
	buf_addc(&b, 0);
	buf_add(&b, "de", 2);
	CHECK(b.len == 6);
	CHECK(!memcmp(b.data, "abc\0de", 6));
	CHECK(b.data[b.len] == 0); /* always NUL-terminated */
	buf_reset(&b);
	CHECK(b.len == 0 && b.data[0] == 0);
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

	/* Stealing an empty buffer gives an empty string, not NULL. */
	char *s = buf_steal(&b);
	CHECK_STR(s, "");
	free(s);

	buf_adds(&b, "kept");
	s = buf_steal(&b);
	CHECK_STR(s, "kept");
	CHECK(b.data == NULL && b.len == 0);
	free(s);

	/* Adding nothing to an empty buffer still leaves a valid string. */
	buf_add(&b, NULL, 0);
	CHECK(b.data && b.data[0] == 0 && b.len == 0);
	buf_free(&b);
}

static void test_buf_printf_grows(void)
{
	struct buf b = BUF_INIT;
	/* Lengths around the initial capacity (64) and its doublings. */
	for (int n = 0; n < 300; n++) {
		buf_reset(&b);
		buf_printf(&b, "%*s|", n, "x");
		CHECK(b.len == (size_t)(n > 1 ? n : 1) + 1);
		CHECK(b.data[b.len - 1] == '|' && b.data[b.len] == 0);
	}
	/* Many appends keep everything. */
	buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%d,", i);
	struct buf want = BUF_INIT;
	for (int i = 0; i < 10000; i++) {
		char t[16];
		snprintf(t, sizeof t, "%d,", i);
		buf_adds(&want, t);
	}
	CHECK(b.len == want.len && !memcmp(b.data, want.data, b.len));
	/* One huge expansion. */
	char *big = xmalloc(100001);
	memset(big, 'q', 100000);
	big[100000] = 0;
	buf_reset(&b);
	buf_printf(&b, "<%s>", big);
	CHECK(b.len == 100002 && b.data[0] == '<' && b.data[100001] == '>' && b.data[100002] == 0);
	/* An empty format adds nothing. */
	size_t len = b.len;
	buf_printf(&b, "%s", "");
	CHECK(b.len == len);
	free(big);
	buf_free(&want);
	buf_free(&b);

	char *s = xasprintf("%s-%0300d", "long", 7);
	CHECK(strlen(s) == 305 && s[304] == '7');
	free(s);
	/* xasprintf (xvasprintf) around its first try's 256 bytes */
	for (int n = 250; n < 262; n++) {
		s = xasprintf("%*d|", n, 42);
		CHECK(strlen(s) == (size_t)n + 1 && s[n - 2] == '4' && s[n - 1] == '2' &&
		      s[n] == '|');
		free(s);
	}
	s = xasprintf("%s", "");
	CHECK(s && !*s);
	free(s);
}

/* ---- string vectors ---- */

static void test_strvec(void)
{
	struct strvec sv = STRVEC_INIT;
	const char *words[] = {"pear",   "apple", "fig",   "apple", "banana",
	                       "cherry", "date",  "elder", "grape", "kiwi"};
	for (size_t i = 0; i < GG_ARRAY_LEN(words); i++)
		strvec_push(&sv, words[i]);
	strvec_pushn(&sv, "lemonade", 5);
	strvec_push_take(&sv, xstrdup("mango"));
	CHECK(sv.n == 12);
	CHECK(sv.v[sv.n] == NULL); /* usable as argv */
	CHECK_STR(sv.v[10], "lemon");
	strvec_sort(&sv);
	for (size_t i = 1; i < sv.n; i++)
		CHECK(strcmp(sv.v[i - 1], sv.v[i]) <= 0);
	CHECK_STR(sv.v[0], "apple");
	CHECK(sv.v[sv.n] == NULL);
	strvec_clear(&sv);
	CHECK(sv.n == 0 && sv.v[0] == NULL);
	strvec_push(&sv, "again");
	CHECK(sv.n == 1);
	strvec_free(&sv);
	CHECK(sv.v == NULL && sv.n == 0);
}

/* ---- files ---- */

static void test_write_file_atomic(void)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/out.txt", dir);

	CHECK(write_file_atomic(path, "hello\n", 6, 0640) == 0);
	struct buf b = BUF_INIT;
	CHECK(read_file(path, &b, 100) == 0);
	CHECK(b.len == 6 && !memcmp(b.data, "hello\n", 6));
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);

	/* Replacing keeps no temporary file behind and switches the mode. */
	CHECK(write_file_atomic(path, "bye", 3, 0755) == 0);
	buf_reset(&b);
	CHECK(read_file(path, &b, 100) == 0);
	CHECK_STR(b.data, "bye");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755);
	CHECK(count_entries(dir, ".tmp") == 0);
	CHECK(count_entries(dir, "") == 1);

	/* An empty file is fine. */
	CHECK(write_file_atomic(path, "", 0, 0644) == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 0);

	/* Missing directory: an error naming it. */
	char *bad = xasprintf("%s/no/such/file", dir);
	CHECK_ERR(write_file_atomic(bad, "x", 1, 0644), "no/such");
	free(bad);

	/* Target is a directory: rename fails, nothing is left behind. */
	char *sub = xasprintf("%s/sub", dir);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK_ERR(write_file_atomic(sub, "x", 1, 0644), "cannot rename");
	CHECK(count_entries(dir, ".tmp") == 0);
	free(sub);

	/* A relative path without a slash goes to the current directory. */
	int here = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(chdir(dir) == 0);
	CHECK(write_file_atomic("rel", "r", 1, 0600) == 0);
	CHECK(fchdir(here) == 0);
	close(here);
	char *rel = xasprintf("%s/rel", dir);
	CHECK(stat(rel, &st) == 0 && st.st_size == 1);
	free(rel);

	buf_free(&b);
	free(path);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

static void test_read_file(void)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/f", dir);
	CHECK(write_file_atomic(path, "0123456789", 10, 0644) == 0);

	struct buf b = BUF_INIT;
	CHECK(read_file(path, &b, 10) == 0);
	CHECK(b.len == 10);
	buf_reset(&b);
	CHECK_ERR(read_file(path, &b, 9), "larger than 9 bytes");
	buf_reset(&b);
	CHECK_ERR(read_file("/nonexistent-gg/x", &b, 10),
	          "cannot open /nonexistent-gg/x: No such file");

	/* The cause of a read error is reported after the file name. */
	buf_reset(&b);
	CHECK_ERR(read_file(dir, &b, 10), "read failed: Is a directory");
	CHECK(strstr(gg_last_error(), dir) != NULL);

	/* read_fd_all reads what is left. */
	int fd = open(path, O_RDONLY);
	CHECK(lseek(fd, 4, SEEK_SET) == 4);
	buf_reset(&b);
	CHECK(read_fd_all(fd, &b, 100) == 0);
	CHECK_STR(b.data, "456789");
	close(fd);

	buf_free(&b);
	free(path);
	remove_tree(dir);
	free(dir);
}

/*
 * remove_tree never follows a symbolic link out of the tree (a sandbox can
 * leave its /dev or any output directory as a link to a host directory), and
 * removes a hostile tree deeper than any path or descriptor limit.
 */
static void test_remove_tree_stays_inside(void)
{
	char *dir = make_tmpdir();
	char *host = xasprintf("%s/host", dir), *run = xasprintf("%s/run", dir);
	char *hostsub = xasprintf("%s/sub", host);
	CHECK(mkdir_p(hostsub, 0755) == 0);
	char *canary = xasprintf("%s/null", host), *canary2 = xasprintf("%s/sub/x", host);
	CHECK(write_file_atomic(canary, "keep", 4, 0644) == 0);
	CHECK(write_file_atomic(canary2, "keep", 4, 0644) == 0);
	CHECK(mkdir(run, 0755) == 0);
	char *l1 = xasprintf("%s/dev", run), *l2 = xasprintf("%s/up", run);
	CHECK(symlink(host, l1) == 0);
	CHECK(symlink("../host/sub", l2) == 0);
	/* a tree 300 levels deep, by descriptors (no path could name it) */
	int fd = open(run, O_RDONLY | O_DIRECTORY);
	for (int i = 0; fd >= 0 && i < 300; i++) {
		int next =
		    mkdirat(fd, "d", 0755) == 0 ? openat(fd, "d", O_RDONLY | O_DIRECTORY) : -1;
		if (i % 50 == 0 && next >= 0) {
			int f = openat(next, "f", O_WRONLY | O_CREAT, 0644);
			close(f);
			(void)!symlinkat(host, next, "l");
		}
		close(fd);
		fd = next;
	}
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(remove_tree(run) == 0);
	struct stat st;
	CHECK(lstat(run, &st) < 0 && errno == ENOENT);
	CHECK(stat(canary, &st) == 0 && st.st_size == 4);
	CHECK(stat(canary2, &st) == 0 && st.st_size == 4);
	/* a link given as the tree itself is removed, not followed */
	CHECK(symlink(host, run) == 0);
	CHECK(remove_tree(run) == 0);
	CHECK(lstat(run, &st) < 0 && stat(canary, &st) == 0);
	CHECK(remove_tree(dir) == 0);
	free(l1), free(l2), free(canary), free(canary2), free(hostsub), free(host), free(run);
	free(dir);
}

static void test_mkdir_p_remove_tree_make_temp(void)
{
	char *dir = make_tmpdir();
	char *deep = xasprintf("%s/a/b/c", dir);
	CHECK(mkdir_p(deep, 0755) == 0);
	CHECK(mkdir_p(deep, 0755) == 0); /* existing is fine */
	struct stat st;
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));

	/* A file in the way is an error naming the path. */
	char *file = xasprintf("%s/a/file", dir);
	CHECK(write_file_atomic(file, "x", 1, 0644) == 0);
	char *under = xasprintf("%s/a/file/sub", dir);
	CHECK_ERR(mkdir_p(under, 0755), "cannot create directory");

	/* make_temp_in: a new private file in the directory. */
	char *tmp = NULL;
	int fd = make_temp_in(deep, &tmp);
	CHECK(fd >= 0);
	CHECK(tmp && !strncmp(tmp, deep, strlen(deep)) && strstr(tmp, "/.tmp-"));
	close(fd);
	char *missing = xasprintf("%s/missing", dir);
	char *tmp2 = NULL;
	CHECK_ERR(make_temp_in(missing, &tmp2), "cannot create a temporary file");
	CHECK(tmp2 == NULL);
	/* make_temp_at: the same, by a directory's fd; two names differ */
	int dfd = open(deep, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char n1[TEMP_NAME_MAX], n2[TEMP_NAME_MAX];
	int f1 = make_temp_at(dfd, n1), f2 = make_temp_at(dfd, n2);
	CHECK(f1 >= 0 && f2 >= 0 && !strncmp(n1, ".tmp-", 5) && strlen(n1) == 11 && strcmp(n1, n2));
	CHECK(fstatat(dfd, n1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	      (st.st_mode & 0777) == 0600);
	close(f1), close(f2), close(dfd);

	/* remove_tree copes with read-only directories (sandboxes leave them). */
	CHECK(chmod(deep, 0555) == 0);
	char *ab = xasprintf("%s/a/b", dir);
	CHECK(chmod(ab, 0500) == 0);
	/* ... and with unreadable ones (mode 0: opened again once made 0700) */
	char *locked = xasprintf("%s/locked", dir), *inner = xasprintf("%s/locked/f", dir);
	CHECK(mkdir(locked, 0755) == 0 && write_file_atomic(inner, "x", 1, 0644) == 0);
	CHECK(chmod(locked, 0) == 0);
	free(locked), free(inner);
	CHECK(remove_tree(dir) == 0);
	CHECK(stat(dir, &st) < 0 && errno == ENOENT);
	CHECK(remove_tree(dir) == 0); /* missing is fine */

	free(ab);
	free(missing);
	free(tmp);
	free(under);
	free(file);
	free(deep);
	free(dir);
}

/* ---- thunk paths ---- */

static void test_path_check_relative(void)
{
	const char *ok[] = {"a",   "a/b",  "a/b/c.o", ".hidden",    "..x",
	                    "x..", "a/.b", "a..b/c",  "with space", "a\nb"};
	for (size_t i = 0; i < GG_ARRAY_LEN(ok); i++)
		CHECK(path_check_relative(ok[i], "input") == 0);

	CHECK_ERR(path_check_relative("", "input"), "input: empty path");
	CHECK_ERR(path_check_relative("/etc/passwd", "input"),
	          "input '/etc/passwd': absolute paths are not allowed");
	CHECK_ERR(path_check_relative("/", "output"), "output '/': absolute");
	CHECK_ERR(path_check_relative("a//b", "input"), "input 'a//b': empty path component");
	CHECK_ERR(path_check_relative("a/", "input"), "empty path component");
	CHECK_ERR(path_check_relative(".", "input"), "'.' and '..' are not allowed");
	CHECK_ERR(path_check_relative("..", "input"), "'.' and '..' are not allowed");
	CHECK_ERR(path_check_relative("./a", "input"), "'.' and '..' are not allowed");
	CHECK_ERR(path_check_relative("a/.", "input"), "'.' and '..' are not allowed");
	CHECK_ERR(path_check_relative("a/../b", "executable"), "executable 'a/../b': '.' and '..'");
	CHECK_ERR(path_check_relative("a/b/..", "input"), "'.' and '..' are not allowed");
}

/* ---- numbers ---- */

static void test_parse_u64(void)
{
	uint64_t v = 1;
	CHECK(parse_u64("0", &v) == 0 && v == 0);
	CHECK(parse_u64("42", &v) == 0 && v == 42);
	CHECK(parse_u64("007", &v) == 0 && v == 7);
	CHECK(parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	v = 5;
	CHECK(parse_u64("18446744073709551616", &v) < 0);
	CHECK(parse_u64("18446744073709551620", &v) < 0);
	CHECK(parse_u64("99999999999999999999", &v) < 0);
	CHECK(parse_u64("184467440737095516150", &v) < 0);
	CHECK(parse_u64("", &v) < 0);
	CHECK(parse_u64("-1", &v) < 0);
	CHECK(parse_u64("+1", &v) < 0);
	CHECK(parse_u64(" 1", &v) < 0);
	CHECK(parse_u64("1 ", &v) < 0);
	CHECK(parse_u64("1a", &v) < 0);
	CHECK(parse_u64("0x10", &v) < 0);
	CHECK(v == 5); /* untouched on failure */
}

/* env_u64: unset or empty is the default; a whole number in range is taken,
 * its bounds included; anything else is refused, naming the variable, its
 * value and the range, and leaves the default. */
static void test_env_u64(void)
{
	uint64_t v = 1;
	unsetenv("GG_TEST_NUM");
	CHECK(env_u64("GG_TEST_NUM", 7, 2, 10, &v) == 0 && v == 7);
	setenv("GG_TEST_NUM", "", 1);
	CHECK(env_u64("GG_TEST_NUM", 7, 2, 10, &v) == 0 && v == 7);
	setenv("GG_TEST_NUM", "5", 1);
	CHECK(env_u64("GG_TEST_NUM", 7, 2, 10, &v) == 0 && v == 5);
	setenv("GG_TEST_NUM", "2", 1);
	CHECK(env_u64("GG_TEST_NUM", 7, 2, 10, &v) == 0 && v == 2);
	setenv("GG_TEST_NUM", "10", 1);
	CHECK(env_u64("GG_TEST_NUM", 7, 2, 10, &v) == 0 && v == 10);
	static const char *const bad[] = {"1",  "11", "abc", "5x",
	                                  "-1", " 5", "0x5", "99999999999999999999"};
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		setenv("GG_TEST_NUM", bad[i], 1);
		v = 1;
		char *want =
		    xasprintf("GG_TEST_NUM=%s: expected a whole number from 2 to 10", bad[i]);
		CHECK_ERR(env_u64("GG_TEST_NUM", 7, 2, 10, &v), want);
		CHECK(gg_last_code() == GG_EUSAGE);
		CHECK(v == 7);
		free(want);
	}
	unsetenv("GG_TEST_NUM");
}

/* env_size: the same for sizes, the bounds written as sizes. */
static void test_env_size(void)
{
	uint64_t v = 1;
	unsetenv("GG_TEST_SIZE");
	CHECK(env_size("GG_TEST_SIZE", 7, 5 << 20, UINT64_C(5) << 30, &v) == 0 && v == 7);
	setenv("GG_TEST_SIZE", "5M", 1);
	CHECK(env_size("GG_TEST_SIZE", 7, 5 << 20, UINT64_C(5) << 30, &v) == 0 && v == 5 << 20);
	setenv("GG_TEST_SIZE", "5G", 1);
	CHECK(env_size("GG_TEST_SIZE", 7, 5 << 20, UINT64_C(5) << 30, &v) == 0 && v == UINT64_C(5)
	                                                                                   << 30);
	setenv("GG_TEST_SIZE", "6291456", 1);
	CHECK(env_size("GG_TEST_SIZE", 7, 5 << 20, UINT64_C(5) << 30, &v) == 0 && v == 6 << 20);
	static const char *const bad[] = {"5242879", "5120K1", "lots", "5Q",       "-5M",
	                                  "5G1",     "5121M",  "",     "99999999T"};
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		if (!*bad[i])
			continue; /* empty is unset */
		setenv("GG_TEST_SIZE", bad[i], 1);
		v = 1;
		char *want = xasprintf("GG_TEST_SIZE=%s: expected a size from 5M to 5G (bytes, or "
		                       "with a K, M, G or T suffix)",
		                       bad[i]);
		CHECK_ERR(env_size("GG_TEST_SIZE", 7, 5 << 20, UINT64_C(5) << 30, &v), want);
		CHECK(gg_last_code() == GG_EUSAGE);
		CHECK(v == 7);
		free(want);
	}
	/* bounds that are not whole units, and none at all */
	setenv("GG_TEST_SIZE", "1", 1);
	CHECK_ERR(env_size("GG_TEST_SIZE", 7, 1536, (UINT64_C(1) << 40) * 3, &v),
	          "GG_TEST_SIZE=1: expected a size from 1536 to 3T");
	CHECK_ERR(env_size("GG_TEST_SIZE", 7, 2 << 10, 0, &v), "from 2K to 0 (bytes");
	CHECK_ERR(env_size("GG_TEST_SIZE", 7, 1 << 20 | 1 << 10, 0, &v), "from 1025K to");
	CHECK_ERR(env_size("GG_TEST_SIZE", 7, 1000, UINT64_C(1) << 40, &v), "from 1000 to 1T (");
	/* T is the largest suffix: 1024T stays so */
	CHECK_ERR(env_size("GG_TEST_SIZE", 7, 5 << 10, UINT64_C(1) << 50, &v),
	          "from 5K to 1024T (");
	unsetenv("GG_TEST_SIZE");
}

static void test_parse_size(void)
{
	uint64_t v = 0;
	CHECK(parse_size("0", &v) == 0 && v == 0);
	CHECK(parse_size("100", &v) == 0 && v == 100);
	CHECK(parse_size("10K", &v) == 0 && v == 10240);
	CHECK(parse_size("10k", &v) == 0 && v == 10240);
	CHECK(parse_size("5M", &v) == 0 && v == 5u << 20);
	CHECK(parse_size("5m", &v) == 0 && v == 5u << 20);
	CHECK(parse_size("2G", &v) == 0 && v == UINT64_C(2) << 30);
	CHECK(parse_size("3T", &v) == 0 && v == UINT64_C(3) << 40);
	CHECK(parse_size("16777215T", &v) == 0 && v == UINT64_C(16777215) << 40);
	v = 9;
	CHECK(parse_size("16777216T", &v) < 0); /* 2^64: overflow */
	CHECK(parse_size("17179869184G", &v) < 0);
	CHECK(parse_size("", &v) < 0);
	CHECK(parse_size("K", &v) < 0);
	CHECK(parse_size("-1", &v) < 0);
	CHECK(parse_size("1.5M", &v) < 0);
	CHECK(parse_size("10KB", &v) < 0);
	CHECK(parse_size("10X", &v) < 0);
	CHECK(parse_size(" 1", &v) < 0);
	CHECK(parse_size("99999999999999999999", &v) < 0);
	CHECK(v == 9);
}

/* ---- quoting ---- */

static void test_argv_to_shell(void)
{
	char *argv[] = {
	    "cc", "-c", "a b.c", "it's", "", "$HOME", "x=y", "-DX=\"1\"", "a/b_c.d+e%f@g:h,i",
	    "*",  NULL};
	char *s = argv_to_shell(argv);
	CHECK_STR(s, "cc -c 'a b.c' 'it'\\''s' '' '$HOME' x=y '-DX=\"1\"' a/b_c.d+e%f@g:h,i '*'");
	free(s);

	char *none[] = {NULL};
	s = argv_to_shell(none);
	CHECK_STR(s, "");
	free(s);
	s = argv_to_shell(NULL);
	CHECK_STR(s, "");
	free(s);

	char *nl[] = {"echo", "a\nb", NULL};
	s = argv_to_shell(nl);
	CHECK_STR(s, "echo 'a\nb'");
	free(s);
}

static void test_now_ns_is_monotonic(void)
{
	uint64_t a = now_ns(), b = now_ns();
	CHECK(a > 0 && b >= a);
}

static bool secret_name(const char *n)
{
	return env_name_is_secret(n, strlen(n));
}

static void test_env_name_is_secret(void)
{
	const char *yes[] = {"AWS_ACCESS_KEY_ID",
	                     "AWS_SECRET_ACCESS_KEY",
	                     "AWS_SESSION_TOKEN",
	                     "AWS_SECURITY_TOKEN",
	                     "AWS_LAMBDA_RUNTIME_API",
	                     "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	                     "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	                     "AWS_WEB_IDENTITY_TOKEN_FILE",
	                     "GG_STORAGE",
	                     "GG_REDIS_PASSWORD",
	                     "GG_WORKER_TOKENS",
	                     "DB_PASSWORD",
	                     "github_token",
	                     "MY_API_KEY",
	                     "Stripe_ApiKey",
	                     "SSH_PRIVATE_KEY",
	                     "GOOGLE_APPLICATION_CREDENTIALS",
	                     "HTTP_AUTH"};
	for (size_t i = 0; i < GG_ARRAY_LEN(yes); i++) {
		if (!secret_name(yes[i]))
			fprintf(stderr, "not taken for a secret: %s\n", yes[i]);
		CHECK(secret_name(yes[i]));
	}
	const char *no[] = {"PATH",
	                    "HOME",
	                    "LANG",
	                    "TZ",
	                    "AWS_REGION",
	                    "AWS_DEFAULT_REGION",
	                    "AWS_LAMBDA_FUNCTION_NAME",
	                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	                    "LAMBDA_TASK_ROOT",
	                    "_HANDLER",
	                    "GG_STORAGE_TIMEOUT",
	                    "GG_DIR",
	                    "CURL_CA_BUNDLE",
	                    "LD_LIBRARY_PATH"};
	for (size_t i = 0; i < GG_ARRAY_LEN(no); i++) {
		if (secret_name(no[i]))
			fprintf(stderr, "taken for a secret: %s\n", no[i]);
		CHECK(!secret_name(no[i]));
	}
	/* by length: a prefix of a secret name is not that name */
	CHECK(env_name_is_secret("GG_STORAGE_TIMEOUT", 10)); /* "GG_STORAGE" */
	CHECK(!env_name_is_secret("GG_STORAGE", 9));
}

static void test_env_scrub_secrets(void)
{
	/* putenv: the entry is this buffer, as the initial environment is the stack */
	static char secret[] = "GG_TEST_SECRET=hunter2";
	static char plain[] = "GG_TEST_PLAIN=stays";
	CHECK(putenv(secret) == 0);
	CHECK(putenv(plain) == 0);
	CHECK(setenv("GG_TEST_TOKEN", "t0k3n", 1) == 0);
	size_t n = env_scrub_secrets();
	CHECK(n >= 2);
	CHECK(getenv("GG_TEST_SECRET") == NULL);
	CHECK(getenv("GG_TEST_TOKEN") == NULL);
	CHECK_STR(getenv("GG_TEST_PLAIN"), "stays");
	bool zero = true;
	for (size_t i = 0; i < sizeof secret - 1; i++)
		zero &= secret[i] == 0;
	CHECK(zero); /* the bytes themselves are gone */
	CHECK(env_scrub_secrets() == 0);
	unsetenv("GG_TEST_PLAIN");
}

TEST_MAIN(test_error_convention, test_error_can_wrap_previous_error, test_error_codes,
          test_buf_basics, test_buf_printf_grows, test_strvec, test_write_file_atomic,
          test_read_file, test_mkdir_p_remove_tree_make_temp, test_remove_tree_stays_inside,
          test_path_check_relative, test_parse_u64, test_env_u64, test_env_size, test_parse_size,
          test_argv_to_shell, test_now_ns_is_monotonic, test_env_name_is_secret,
          test_env_scrub_secrets)
