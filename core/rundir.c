/**
 * @file rundir.c
 * Locked run directories and the sweep of stale ones (see rundir.h). It
 * does not fill or empty a run directory (exec.c does).
 */
#include "core/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_PREFIX "run-"
#define TMP_PREFIX ".tmp-" /* make_temp_in's names */

/* .gg/locks/tmp, flock()ed in mode op; -1 with gg_last_error() set. */
static int lock_tmp(struct store *s, int op)
{
	char *p = xasprintf("%s/locks/tmp", s->root);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		gg_error_errno("cannot open %s", p);
	} else {
		while (flock(fd, op) < 0) {
			if (errno != EINTR) {
				gg_error_errno("cannot lock %s", p);
				close(fd);
				fd = -1;
				break;
			}
		}
	}
	free(p);
	return fd;
}

int rundir_create(struct store *s, char **path, int *lock_fd)
{
	int tl = lock_tmp(s, LOCK_SH);
	if (tl < 0)
		return -1;
	int r = store_make_tmpdir(s, "run", path);
	int fd = -1;
	if (r == 0) {
		fd = open(*path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			r = gg_error_errno("cannot lock %s", *path);
			if (fd >= 0)
				close(fd);
			fd = -1;
			remove_tree(*path);
			free(*path);
			*path = NULL;
		}
	}
	close(tl); /* drops the shared lock */
	*lock_fd = fd;
	return r;
}

int rundir_temp_file(struct store *s, char **path)
{
	int tl = lock_tmp(s, LOCK_SH);
	if (tl < 0)
		return -1;
	int fd = make_temp_in(s->tmp, path);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		gg_error_errno("cannot lock %s", *path);
		close(fd);
		unlink(*path);
		free(*path);
		*path = NULL;
		fd = -1;
	}
	close(tl); /* drops the shared lock */
	return fd;
}

void rundir_release(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}

/* Whether tmp/name is a run directory (dir) or a temporary file (!dir)
 * that nobody holds: its lock is free. */
static bool stale(int tmpfd, const char *name, bool dir)
{
	int fd = openat(tmpfd, name,
	                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
	                    (dir ? O_DIRECTORY : 0));
	if (fd < 0)
		return false;
	struct stat st;
	bool free_lock = fstat(fd, &st) == 0 && (dir || S_ISREG(st.st_mode)) &&
	                 flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_lock;
}

int rundir_sweep(struct store *s)
{
	int tl = lock_tmp(s, LOCK_EX);
	if (tl < 0)
		return -1;
	int n = 0, r = 0;
	DIR *d = opendir(s->tmp);
	if (!d) {
		r = errno == ENOENT ? 0 : gg_error_errno("cannot read %s", s->tmp);
		close(tl);
		return r;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		if (!strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			if (stale(dirfd(d), name, false)) {
				if (unlinkat(dirfd(d), name, 0) < 0 && errno != ENOENT)
					r = gg_error_errno("cannot remove %s/%s", s->tmp, name);
				else
					n++;
			}
			continue;
		}
		if (strncmp(name, RUN_PREFIX, strlen(RUN_PREFIX)) || strchr(name, '.') ||
		    !stale(dirfd(d), name, true))
			continue;
		char *p = xasprintf("%s/%s", s->tmp, name);
		char *out = xasprintf("%s.stdout", p), *err = xasprintf("%s.stderr", p);
		char *mnt = xasprintf("%s.mnt", p);
		unlink(out);
		unlink(err);
		unlink(mnt);
		free(mnt);
		if (remove_tree(p) < 0)
			r = -1;
		else
			n++;
		free(out);
		free(err);
		free(p);
	}
	closedir(d);
	close(tl);
	return r < 0 ? r : n;
}
