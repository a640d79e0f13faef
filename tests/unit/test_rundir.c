/**
 * @file test_rundir.c
 * Specification of core/rundir: run directories and named temporary files
 * in .gg/tmp are locked while they live, and the sweep removes exactly
 * those nobody holds (a process killed by SIGKILL mid-write), never a live
 * one, nor anything else in .gg/tmp.
 */
#include "core/rundir.h"
#include "core/store.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* In a child killed by SIGKILL while it holds them: a temp file half
 * written and a run directory. Their paths are written to *tmp, *run. */
static void killed_writer(struct store *s, char **tmp, char **run)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		char *t, *r;
		int lock;
		int fd = rundir_temp_file(s, &t);
		if (fd < 0 || write(fd, "half", 4) != 4 || rundir_create(s, &r, &lock) < 0)
			_exit(1);
		char line[2 * PATH_MAX + 2];
		int n = snprintf(line, sizeof line, "%s\n%s\n", t, r);
		if (write(p[1], line, (size_t)n) != n)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char buf[2 * PATH_MAX + 2];
	size_t got = 0;
	ssize_t k;
	int lines = 0;
	while (lines < 2 && got < sizeof buf - 1 &&
	       (k = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
		for (ssize_t i = 0; i < k; i++)
			lines += buf[got++] == '\n';
	buf[got] = 0;
	close(p[0]);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	char *nl = strchr(buf, '\n');
	CHECK(nl != NULL);
	if (!nl)
		abort();
	*nl = 0;
	*tmp = xstrdup(buf);
	char *nl2 = strchr(nl + 1, '\n');
	if (nl2)
		*nl2 = 0;
	*run = xstrdup(nl + 1);
}

static void test_sweep_takes_only_what_nobody_holds(void)
{
	char *dir = xstrdup("/tmp/ggtest-rundir-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	char *root;
	struct store *s;
	if (store_init(dir, &root) < 0 || store_open(root, &s) < 0)
		abort();

	/* live: a temp file and a run directory this process holds */
	char *live_tmp, *live_run;
	int live_fd = rundir_temp_file(s, &live_tmp), live_lock;
	CHECK(live_fd >= 0 && write(live_fd, "live", 4) == 4);
	CHECK(rundir_create(s, &live_run, &live_lock) == 0);
	CHECK(strstr(live_tmp, "/tmp/.tmp-") != NULL);

	/* stale: a writer killed by SIGKILL */
	char *dead_tmp, *dead_run;
	killed_writer(s, &dead_tmp, &dead_run);
	CHECK(exists(dead_tmp) && exists(dead_run));
	/* the empty file of each run's input mount points, beside it */
	char *dead_mnt = xasprintf("%s.mnt", dead_run), *live_mnt = xasprintf("%s.mnt", live_run);
	CHECK(write_file_atomic(dead_mnt, "", 0, 0444) == 0);
	CHECK(write_file_atomic(live_mnt, "", 0, 0444) == 0);

	/* not ours to judge: other names, and a ".tmp-" that is no file */
	char *other = xasprintf("%s/keep-me", s->tmp), *odd = xasprintf("%s/.tmp-dir", s->tmp);
	CHECK(write_file_atomic(other, "x", 1, 0644) == 0);
	CHECK(mkdir(odd, 0700) == 0);

	CHECK(rundir_sweep(s) == 2);
	CHECK(!exists(dead_tmp) && !exists(dead_run) && !exists(dead_mnt));
	CHECK(exists(live_tmp) && exists(live_run) && exists(live_mnt));
	CHECK(exists(other) && exists(odd));

	/* once let go, they go with the next sweep */
	close(live_fd);
	remove_tree(live_run);
	rundir_release(live_lock);
	CHECK(rundir_sweep(s) == 1);
	CHECK(!exists(live_tmp));

	unlink(live_mnt);
	free(dead_mnt);
	free(live_mnt);
	free(other);
	free(odd);
	free(dead_tmp);
	free(dead_run);
	free(live_tmp);
	free(live_run);
	store_close(s);
	remove_tree(dir);
	free(root);
	free(dir);
}

TEST_MAIN(test_sweep_takes_only_what_nobody_holds)
