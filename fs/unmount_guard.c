/**
 * @file unmount_guard.c
 * The unmount guard (ggfs.h): a small process that makes a killed ggfs
 * leave no dead mount behind, which auto_unmount alone does not promise.
 *
 * With auto_unmount, fusermount3 stays behind, holding one end of a socket
 * pair whose other end libfuse keeps open in ggfs; when that end closes it
 * unmounts, but only if opening the mount point then fails with ENOTCONN.
 * A process killed with SIGKILL releases its files in an order of its own:
 * when the socket closes before the last /dev/fuse descriptor (ggfs's own,
 * or a copy a child holds for a moment between fork and exec), fusermount3
 * asks a connection that is still alive, gets ECONNABORTED once it dies,
 * and leaves the mount for good ("Transport endpoint is not connected").
 *
 * So ggfs hands a copy of its end to a guard process, which waits for ggfs
 * to end (a pidfd), then for the connection to be gone (statfs on the mount
 * point returns only then, or at once when it is unmounted), and only then
 * exits: the socket closes last, and fusermount3 finds ENOTCONN. The guard
 * holds nothing else (no /dev/fuse, no thread) and outlives ggfs by at most
 * GUARD_WAIT_S. It does not unmount itself: fusermount3 keeps that job.
 */
#include "fs/ggfs.h"

#include "core/error.h"
#include "core/process.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* How long the guard waits, once ggfs is gone, for the connection to die. */
#define GUARD_WAIT_S 60

void fd_list_free(struct fd_list *l)
{
	free(l->fd);
	l->fd = NULL;
	l->n = 0;
}

int fd_list_read(struct fd_list *l)
{
	l->fd = NULL;
	l->n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return gg_error_errno("/proc/self/fd");
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || v < 0 || v == dirfd(d))
			continue;
		ALLOC_GROW(l->fd, l->n + 1, cap);
		l->fd[l->n++] = (int)v;
	}
	closedir(d);
	return 0;
}

static bool fd_listed(const struct fd_list *l, int fd)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->fd[i] == fd)
			return true;
	return false;
}

/* Whether fd is one end of a stream socket pair (both ends unnamed AF_UNIX)
 * whose other end is still open. */
static bool live_socketpair(int fd)
{
	int domain = 0, type = 0;
	socklen_t len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return false;
	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return false;
	struct sockaddr_un a;
	len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0 || len != sizeof(sa_family_t))
		return false;
	len = sizeof a;
	if (getpeername(fd, (struct sockaddr *)&a, &len) < 0 || len != sizeof(sa_family_t))
		return false;
	/* A closed peer (a fusermount3 that failed and exited) hangs up. */
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	int n = poll(&p, 1, 0);
	return n == 0 || (n == 1 && !(p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)));
}

int unmount_guard_find(const struct fd_list *before)
{
	struct fd_list now;
	if (fd_list_read(&now) < 0)
		return -1;
	int found = -1, n = 0;
	for (size_t i = 0; i < now.n; i++) {
		if (fd_listed(before, now.fd[i]) || !live_socketpair(now.fd[i]))
			continue;
		/* libfuse leaves its socket inheritable: a program ggfs starts
		 * would keep fusermount3 waiting, guard or not */
		(void)fcntl(now.fd[i], F_SETFD, FD_CLOEXEC);
		found = now.fd[i];
		n++;
	}
	fd_list_free(&now);
	if (n != 1)
		return gg_error("%s libfuse's socket to fusermount3: %d new socket pairs",
		                n ? "cannot tell" : "cannot find", n);
	return found;
}

static _Noreturn void guard_main(int pidfd, const char *mountpoint)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, -1)) < 0 && errno == EINTR)
		;
	/* Unless the pidfd cannot be polled (then the guard is as good as
	 * absent): ggfs is gone. statfs needs an answer from the file system,
	 * so it returns once the connection has died, or at once when ggfs
	 * unmounted; an open could fail earlier, on attributes the kernel
	 * cached (default_permissions). SIGALRM ends the wait, and the guard. */
	if (n == 1 && (p.revents & POLLIN)) {
		struct statfs st;
		alarm(GUARD_WAIT_S);
		(void)statfs(mountpoint, &st);
	}
	_exit(0);
}

int unmount_guard_start(int sock, const char *mountpoint)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0); /* O_CLOEXEC */
	if (pidfd < 0)
		return gg_error_errno("cannot start the unmount guard: pidfd_open");
	int keep[] = {sock, pidfd};
	pid_t pid = watcher_fork(keep, (int)GG_ARRAY_LEN(keep));
	if (pid == 0)
		guard_main(pidfd, mountpoint);
	close(pidfd);
	return pid < 0 ? -1 : 0;
}
