/**
 * @file fs_fakes.h
 * What the tests of ggfs's modules linked without a FUSE session share: a
 * fake of fs/log.c's ggfs_log that keeps the last message (`logged`) and
 * counts them (`nlogged`, set to 0 before what should or should not log);
 * a fresh directory `dir` (below $TMPDIR, else /tmp, its real path) with
 * at() naming files in it; in_child() for what must not touch this
 * process's identity or log. test_fs_log, which links the real fs/log.c,
 * defines FS_FAKES_REAL_LOG before including it and gets no fake.
 */
#ifndef GG_FS_FAKES_H
#define GG_FS_FAKES_H

#include "fs/ggfs.h"
#include "harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FS_FAKES_REAL_LOG
/* ---- a fake of fs/log.c ---- */

static pthread_mutex_t logged_mu = PTHREAD_MUTEX_INITIALIZER;
static char logged[4096]; /* the last message */
static int nlogged;       /* how many were logged */

void ggfs_log(enum fuse_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&logged_mu);
	vsnprintf(logged, sizeof logged, fmt, ap);
	nlogged++;
	pthread_mutex_unlock(&logged_mu);
	va_end(ap);
}
#endif

/* ---- a directory to work in ---- */

static char *dir;

/* Makes dir, a new directory named prefix-XXXXXX; aborts when it cannot. */
static inline void make_test_dir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char *d = xasprintf("%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(d))
		abort();
	dir = realpath(d, NULL);
	free(d);
	if (!dir)
		abort();
}

/* dir/rel (malloc'd). */
static inline char *at(const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

/* Runs fn in a child; true if it reported no failed check. */
static inline bool in_child(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		harness_failed = 0;
		fn();
		fflush(NULL);
		_exit(harness_failed ? 1 : 0);
	}
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

#endif
