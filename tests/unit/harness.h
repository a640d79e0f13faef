/**
 * @file harness.h
 * A tiny test harness: CHECK macros count failures and print the failing
 * expression with its file and line; TEST_MAIN runs the listed test functions
 * and prints "N passed, N failed" (checks) for the runner to add up. And
 * two helpers for tests that make sure nothing is left running.
 */
#ifndef GG_HARNESS_H
#define GG_HARNESS_H

#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int harness_passed, harness_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ && b_ && !strcmp(a_, b_)) {                                                 \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n",  \
			        __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                    \
			        b_ ? b_ : "(null)");                                               \
		}                                                                                  \
	} while (0)

/* A failing call whose last error must mention `needle`. */
#define CHECK_ERR(call, needle)                                                                    \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		const char *e_ = gg_last_error();                                                  \
		if (r_ < 0 && strstr(e_, (needle))) {                                              \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr,                                                            \
			        "%s:%d: CHECK_ERR failed: %s returned %d, error \"%s\", "          \
			        "wanted \"%s\"\n",                                                 \
			        __FILE__, __LINE__, #call, r_, e_, (needle));                      \
		}                                                                                  \
	} while (0)

/* Runs fn in a child process, whose failed checks make it exit 1: true if
 * it reported none (for what must not touch this process's state). */
static inline bool harness_in_child(void (*fn)(void))
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

/* The pid a (fake) program wrote into the file PATH, which is then removed;
 * -1 when there is none yet (the file is left alone: `echo $$ >PATH` may
 * have made it and not written it yet). */
static inline pid_t harness_pid_in(const char *path)
{
	struct buf b = BUF_INIT;
	long v = -1;
	if (read_file(path, &b, 64) == 0 && b.len && memchr(b.data, '\n', b.len))
		v = strtol(b.data, NULL, 10);
	buf_free(&b);
	if (v > 0)
		unlink(path);
	return v > 0 ? (pid_t)v : -1;
}

/* Whether the process has ended within `seconds` (a zombie that waits for
 * init to reap it has ended). */
static inline bool harness_process_ended(pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 100; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		char *p = xasprintf("/proc/%d/stat", (int)pid);
		struct buf b = BUF_INIT;
		bool zombie = read_file(p, &b, 4096) == 0 && b.data && strstr(b.data, ") Z ");
		buf_free(&b);
		free(p);
		if (zombie)
			return true;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

#define TEST_MAIN(...)                                                                             \
	int main(void)                                                                             \
	{                                                                                          \
		void (*tests_[])(void) = {__VA_ARGS__};                                            \
		for (size_t i_ = 0; i_ < sizeof tests_ / sizeof tests_[0]; i_++)                   \
			tests_[i_]();                                                              \
		printf("%d passed, %d failed\n", harness_passed, harness_failed);                  \
		return harness_failed ? 1 : 0;                                                     \
	}

#endif
