/**
 * @file beneath.c
 * Path resolution beneath a directory descriptor (see beneath.h): openat2()
 * with every RESOLVE_ restriction where the kernel has it (Linux 5.6+), a
 * component-by-component O_NOFOLLOW walk where it does not. Both refuse the
 * same things with the same errno, so callers need not know which ran.
 */
#include "core/beneath.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif
#ifndef RESOLVE_BENEATH
struct open_how {
	unsigned long long flags, mode, resolve;
};
#define RESOLVE_NO_XDEV       0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS   0x04
#define RESOLVE_BENEATH       0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437 /* the same on every architecture */
#endif

#define RESOLVE_SANDBOX                                                                            \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* Set once openat2 said ENOSYS: every later call walks. */
static int openat2_missing;

static int check_path(const char *rel)
{
	/* The thunk's own rules (thunk.c checks them when parsing); the
	 * message recorded there is replaced by the caller's. */
	if (!rel || path_check_relative(rel, "path") < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* A component that could not be opened as a directory: say ELOOP for a
 * symbolic link, as openat2 does, instead of ENOTDIR. */
static int walk_errno(int dir, const char *name, int e)
{
	struct stat st;
	if (e == ENOTDIR && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return ELOOP;
	return e;
}

static int close_errno(int fd, int e)
{
	close(fd);
	errno = e;
	return -1;
}

int beneath_open_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
	if (check_path(rel) < 0)
		return -1;
	struct stat top, st;
	if (fstat(dirfd, &top) < 0)
		return -1;
	if (!S_ISDIR(top.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	char name[NAME_MAX + 1];
	int cur = dirfd;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		size_t n = (size_t)(slash - p);
		if (n > NAME_MAX) {
			if (cur != dirfd)
				close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = 0;
		int next = openat(cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		int e = errno;
		if (next < 0)
			e = walk_errno(cur, name, e);
		if (cur != dirfd)
			close(cur);
		if (next < 0) {
			errno = e;
			return -1;
		}
		/* A mount point on the way (RESOLVE_NO_XDEV's job). */
		if (fstat(next, &st) < 0)
			return close_errno(next, errno);
		if (st.st_dev != top.st_dev)
			return close_errno(next, EXDEV);
		cur = next;
		p = slash + 1;
	}
	int fd = openat(cur, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	int e = errno;
	if (fd < 0 && e == ENOTDIR)
		e = walk_errno(cur, p, e);
	if (cur != dirfd)
		close(cur);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		return close_errno(fd, errno);
	if (st.st_dev != top.st_dev)
		return close_errno(fd, EXDEV);
	return fd;
}

int beneath_open(int dirfd, const char *rel, int flags, mode_t mode)
{
	if (check_path(rel) < 0)
		return -1;
	if (!__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
		struct open_how how;
		memset(&how, 0, sizeof how);
		how.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC);
		/* openat2 refuses a mode without O_CREAT or O_TMPFILE (which
		 * includes O_DIRECTORY's bit: test for all of it) */
		bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
		how.mode = creates ? mode : 0;
		how.resolve = RESOLVE_SANDBOX;
		long fd;
		/* EAGAIN: a rename raced with the resolution (bounded: a hostile
		 * loop of renames must not make us spin). */
		int tries = 0;
		do
			fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 100);
		if (fd >= 0)
			return (int)fd;
		/* ENOTDIR may be a symbolic link met with O_DIRECTORY: the walk
		 * (on this error path only) says ELOOP for that, as otherwise.
		 * It only names the error: it never opens what openat2 refused. */
		if (errno == ENOTDIR) {
			int w = beneath_open_walk(dirfd, rel, flags, mode);
			if (w < 0)
				return -1;
			close(w); /* changed meanwhile: still refused */
			errno = ENOTDIR;
			return -1;
		}
		if (errno != ENOSYS)
			return -1;
		__atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
	}
	return beneath_open_walk(dirfd, rel, flags, mode);
}

int beneath_open_parent(int dirfd, const char *rel, const char **last)
{
	if (check_path(rel) < 0)
		return -1;
	const char *slash = strrchr(rel, '/');
	if (!slash) {
		*last = rel;
		return fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	}
	size_t n = (size_t)(slash - rel);
	char *dir = xstrndup(rel, n);
	int fd = beneath_open(dirfd, dir, O_PATH | O_DIRECTORY, 0);
	int e = errno;
	free(dir);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	*last = slash + 1;
	return fd;
}
