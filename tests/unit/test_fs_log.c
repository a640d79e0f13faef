/**
 * @file test_fs_log.c
 * Specification of fs/log (ggfs's log): after log_init, ggfs's messages and
 * libfuse's go to stderr, each line once prefixed "ggfs: " (libfuse's
 * messages written in pieces too), one line per ggfs_log; with a log file
 * (-o log=FILE) also appended there, each line timestamped with the pid,
 * one newline; a file that cannot be opened is -1 with errno, a file opened
 * for appending (what was there stays) and not inherited by children;
 * messages too long for the buffer are cut but still end their line (the
 * next one is not glued to them); lines of concurrent threads never mix;
 * log_close stops the file (twice is harmless); as a daemon (log_to_syslog)
 * nothing reaches stderr but the file still gets every message.
 */
#define FS_FAKES_REAL_LOG /* this tests fs/log.c itself */
#include "fs_fakes.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int saved_stderr = -1;
static char *err_path;

/* A file's text (malloc'd). */
static char *file_text(const char *path)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 1 << 24) < 0) {
		buf_free(&b);
		return xstrdup("(unreadable)");
	}
	char *t = buf_steal(&b);
	return t ? t : xstrdup("");
}

/* From now on stderr goes to a fresh file (read with stop_capture). */
static void capture(void)
{
	fflush(stderr);
	int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	saved_stderr = dup(2);
	CHECK(saved_stderr >= 0 && dup2(fd, 2) == 2);
	close(fd);
}

/* stderr back; what was written to it meanwhile (malloc'd). */
static char *stop_capture(void)
{
	fflush(stderr);
	CHECK(dup2(saved_stderr, 2) == 2);
	close(saved_stderr);
	saved_stderr = -1;
	return file_text(err_path);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Is line "YYYY-MM-DD HH:MM:SS ggfs[PID]: " + msg? */
static bool file_line_ok(const char *line, size_t len, const char *msg)
{
	char head[64];
	snprintf(head, sizeof head, " ggfs[%d]: ", (int)getpid());
	if (len < 19 + strlen(head))
		return false;
	for (int i = 0; i < 19; i++) {
		char c = line[i];
		bool digit = c >= '0' && c <= '9';
		bool want_sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
		char sep = i == 10 ? ' ' : (i == 13 || i == 16) ? ':' : '-';
		if (want_sep ? c != sep : !digit)
			return false;
	}
	if (strncmp(line + 19, head, strlen(head)))
		return false;
	const char *m = line + 19 + strlen(head);
	size_t mlen = len - (size_t)(m - line);
	return msg ? mlen == strlen(msg) && !memcmp(m, msg, mlen) : mlen > 0;
}

static void setup(void)
{
	make_test_dir("ggtest-log");
	err_path = at("stderr");
	log_init();
}

static void teardown(void)
{
	log_close();
	CHECK(remove_tree(dir) == 0);
	free(err_path);
	free(dir);
}

static void test_stderr(void)
{
	capture();
	ggfs_log(FUSE_LOG_ERR, "one %d", 1);
	ggfs_log(FUSE_LOG_DEBUG, "two");
	/* libfuse writes some messages in pieces: one prefix per line */
	fuse_log(FUSE_LOG_ERR, "fuse: piece ");
	fuse_log(FUSE_LOG_ERR, "and the rest\n");
	fuse_log(FUSE_LOG_ERR, "two lines\nat once\n");
	/* ggfs_log always ends the line */
	ggfs_log(FUSE_LOG_INFO, "%s", "");
	ggfs_log(FUSE_LOG_INFO, "last");
	char *out = stop_capture();
	CHECK_STR(out, "ggfs: one 1\n"
	               "ggfs: two\n"
	               "ggfs: fuse: piece and the rest\n"
	               "ggfs: two lines\n    at once\n"
	               "ggfs: \n"
	               "ggfs: last\n");
	free(out);
}

static void test_long_message(void)
{
	/* cut to the buffer, but the line still ends: the next message is
	 * a line of its own */
	size_t big = 10000;
	char *s = xcalloc(big + 1, 1);
	memset(s, 'x', big);
	char *path = at("long.log");
	CHECK(log_open_file(path, (uid_t)-1) == 0);
	capture();
	ggfs_log(FUSE_LOG_ERR, "%s", s);
	ggfs_log(FUSE_LOG_ERR, "after");
	fuse_log(FUSE_LOG_ERR, "%s", s); /* libfuse's too */
	ggfs_log(FUSE_LOG_ERR, "after2");
	char *out = stop_capture();
	log_close();
	CHECK(count_lines(out) == 4);
	char *nl = strchr(out, '\n');
	CHECK(nl && !strncmp(out, "ggfs: xxx", 9) && (size_t)(nl - out) > 4000 &&
	      (size_t)(nl - out) < 4200);
	CHECK(strstr(out, "\nggfs: after\nggfs: xxx") != NULL);
	size_t n = strlen(out);
	CHECK(n > 14 && !strcmp(out + n - 14, "\nggfs: after2\n"));
	free(out);
	char *text = file_text(path);
	CHECK(count_lines(text) == 4 && strstr(text, "]: after\n") && strstr(text, "]: after2\n"));
	free(text);
	free(path);
	free(s);
}

/* What a message carries cannot pass for an entry: a file named
 * "x\nggfs: forged" logs as one entry, and its control characters as '?';
 * the file is the owner's only, whatever the umask. */
static void test_forged_entries(void)
{
	char *path = at("forged.log");
	mode_t old = umask(0);
	CHECK(log_open_file(path, (uid_t)-1) == 0);
	umask(old);
	capture();
	ggfs_log(FUSE_LOG_ERR, "%s: cannot force", "x\nggfs: ROOT-ALERT\r\033[2K");
	char *out = stop_capture();
	log_close();
	CHECK_STR(out, "ggfs: x\n    ggfs: ROOT-ALERT??[2K: cannot force\n");
	char *text = file_text(path);
	CHECK(count_lines(text) == 2 &&
	      strstr(text, "]: x\n    ggfs: ROOT-ALERT??[2K: cannot force\n"));
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(text);
	free(out);
	free(path);
}

/* A root daemon opens the store's log where the store's owner (or a shared
 * store's group) may plant a link: never through a symbolic link, never a
 * second name of another file; the file is given to the store's owner. A
 * message with many lines, cut to fit, still ends its line. */
static void test_file_planted(void)
{
	char *target = at("target"), *sym = at("link.log"), *hard = at("hard.log");
	CHECK(write_file_atomic(target, "precious\n", 9, 0644) == 0);
	CHECK(symlink(target, sym) == 0 && link(target, hard) == 0);
	CHECK(log_open_file(sym, (uid_t)-1) == -1 && errno == ELOOP);
	CHECK(log_open_file(hard, (uid_t)-1) == -1 && errno == EPERM);
	char *text = file_text(target);
	CHECK_STR(text, "precious\n");
	free(text);
	char *given = at("given.log");
	CHECK(log_open_file(given, 65534) == 0);
	struct stat st;
	CHECK(stat(given, &st) == 0 && (geteuid() != 0 || st.st_uid == 65534));
	log_close();
	char *lines = xcalloc(4000, 1);
	memset(lines, '\n', 3000);
	memset(lines + 3000, 'y', 999);
	capture();
	ggfs_log(FUSE_LOG_ERR, "%s", lines);
	ggfs_log(FUSE_LOG_ERR, "next");
	char *out = stop_capture();
	size_t n = strlen(out);
	CHECK(n > 12 && !strcmp(out + n - 12, "\nggfs: next\n"));
	free(out);
	free(lines);
	free(given), free(target), free(sym), free(hard);
}

static void test_file(void)
{
	char *path = at("ggfs.log");
	CHECK(write_file_atomic(path, "earlier\n", 8, 0644) == 0);
	CHECK(log_open_file(path, (uid_t)-1) == 0);
	/* not inherited across exec */
	char *fdinfo = NULL;
	int fl = -1;
	for (int fd = 3; fd < 1024 && fl < 0; fd++) {
		char proc[64], target[4096];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(proc, target, sizeof target - 1);
		if (k > 0) {
			target[k] = 0;
			if (!strcmp(target, path))
				fl = fcntl(fd, F_GETFD);
		}
	}
	CHECK(fl >= 0 && (fl & FD_CLOEXEC));
	free(fdinfo);
	capture();
	ggfs_log(FUSE_LOG_WARNING, "to the file: %s", "yes");
	fuse_log(FUSE_LOG_ERR, "ends with its own newline\n");
	fuse_log(FUSE_LOG_ERR, "piece ");
	fuse_log(FUSE_LOG_ERR, "rest\n");
	char *out = stop_capture();
	/* stderr still gets them */
	CHECK_STR(out,
	          "ggfs: to the file: yes\nggfs: ends with its own newline\nggfs: piece rest\n");
	free(out);
	log_close();
	capture();
	ggfs_log(FUSE_LOG_ERR, "not in the file any more");
	log_close(); /* twice: harmless */
	free(stop_capture());
	char *text = file_text(path);
	CHECK(!strncmp(text, "earlier\n", 8)); /* appended */
	const char *want[] = {"to the file: yes", "ends with its own newline", "piece ", "rest"};
	const char *p = text + 8;
	for (size_t i = 0; i < 4; i++) {
		const char *nl = strchr(p, '\n');
		CHECK(nl && file_line_ok(p, (size_t)(nl - p), want[i]));
		if (!nl)
			break;
		p = nl + 1;
	}
	CHECK(*p == 0);
	free(text);
	/* cannot be opened: -1 and the cause */
	char *bad = at("no/such/dir/ggfs.log");
	errno = 0;
	CHECK(log_open_file(bad, (uid_t)-1) == -1 && errno == ENOENT);
	CHECK(log_open_file(dir, (uid_t)-1) == -1 && errno == EISDIR);
	free(bad);
	/* ... and then nothing is written anywhere but stderr */
	capture();
	ggfs_log(FUSE_LOG_ERR, "only stderr");
	out = stop_capture();
	CHECK_STR(out, "ggfs: only stderr\n");
	free(out);
	free(path);
}

#define THREADS    4
#define PER_THREAD 300

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++)
		ggfs_log(FUSE_LOG_INFO, "thread %d message %d %s", id, i,
		         "padding padding padding padding padding padding padding");
	return NULL;
}

static bool stderr_line_ok(const char *line, size_t len)
{
	int id, i;
	char tail[128];
	char buf[256];
	if (len >= sizeof buf)
		return false;
	memcpy(buf, line, len);
	buf[len] = 0;
	return sscanf(buf, "ggfs: thread %d message %d %127[^\n]", &id, &i, tail) == 3 &&
	       !strcmp(tail, "padding padding padding padding padding padding padding");
}

static void test_threads(void)
{
	char *path = at("threads.log");
	CHECK(log_open_file(path, (uid_t)-1) == 0);
	capture();
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	char *out = stop_capture();
	log_close();
	/* every line whole, in both */
	size_t good = 0, lines = 0;
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++)
		good += stderr_line_ok(p, (size_t)(nl - p));
	CHECK(lines == THREADS * PER_THREAD && good == lines);
	char *text = file_text(path);
	good = lines = 0;
	for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++)
		good += file_line_ok(p, (size_t)(nl - p), NULL) && strstr(p, "]: thread ") &&
		        !memcmp(nl - 7, "padding", 7);
	CHECK(lines == THREADS * PER_THREAD && good == lines);
	free(text);
	free(out);
	free(path);
}

/* As a daemon: stderr gets nothing, the file everything (in a child: the
 * switch to syslog is for good). */
static void daemon_child(void)
{
	char *path = at("daemon.log");
	CHECK(log_open_file(path, (uid_t)-1) == 0);
	log_to_syslog();
	capture();
	ggfs_log(FUSE_LOG_DEBUG, "ggfs unit test: to syslog");
	fuse_log(FUSE_LOG_DEBUG, "ggfs unit test: libfuse's to syslog\n");
	char *out = stop_capture();
	CHECK_STR(out, "");
	free(out);
	log_close();
	char *text = file_text(path);
	CHECK(count_lines(text) == 2 && strstr(text, "]: ggfs unit test: to syslog\n") &&
	      strstr(text, "]: ggfs unit test: libfuse's to syslog\n") && !strstr(text, "\n\n"));
	free(text);
	free(path);
}

static void test_daemon(void)
{
	CHECK(harness_in_child(daemon_child));
	/* this process still logs to stderr */
	capture();
	ggfs_log(FUSE_LOG_ERR, "still here");
	char *out = stop_capture();
	CHECK_STR(out, "ggfs: still here\n");
	free(out);
}

int main(void)
{
	setup();
	test_stderr();
	test_long_message();
	test_forged_entries();
	test_file_planted();
	test_file();
	test_threads();
	test_daemon();
	teardown();
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}
