/**
 * @file test_fs_unmount_guard.c
 * Specification of fs/unmount_guard: finding libfuse's socket to fusermount3
 * (the one new stream socket pair whose other end is open elsewhere; none or
 * several: an error, never a guess; made close-on-exec), and the guard
 * process, which keeps its copy of that socket open while ggfs lives and
 * closes it once ggfs is gone (the FUSE side is e2e/ggfs_killed_unmount's).
 */
#include "fs/ggfs.h"
#include "harness.h"

#include "core/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct peer {
	int fd;    /* ours */
	pid_t pid; /* the process holding the other end */
};

/* A socket pair whose other end a child holds (as fusermount3 does) until
 * ours closes. */
static struct peer peer_elsewhere(void)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		abort();
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		int keep[] = {0, 1, 2, sp[0]}; /* not the other pairs' ends */
		close_fds_except(keep, 4);
		char c;
		ssize_t r;
		while ((r = read(sp[0], &c, 1)) > 0 || (r < 0 && errno == EINTR))
			;
		_exit(0);
	}
	close(sp[0]);
	return (struct peer){sp[1], pid};
}

static void peer_end(struct peer *p)
{
	close(p->fd);
	int st;
	waitpid(p->pid, &st, 0);
}

/* Whether fd's other end hung up within ms. */
static bool hung_up(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return poll(&p, 1, ms) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

static void test_finds_the_one_live_pair(void)
{
	struct fd_list before;
	CHECK(fd_list_read(&before) == 0);
	/* what else a mount may open: none of them is a socket pair */
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	int file = open("/dev/null", O_RDONLY);
	int named = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ggtest-guard-%d", (int)getpid());
	CHECK(bind(named, (struct sockaddr *)&a, sizeof a) == 0);
	int dgram[2];
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram) == 0);
	struct peer dead = peer_elsewhere(); /* a fusermount3 that failed */
	CHECK(shutdown(dead.fd, SHUT_WR) == 0);
	CHECK(hung_up(dead.fd, 5000));
	struct peer live = peer_elsewhere();
	CHECK(!(fcntl(live.fd, F_GETFD) & FD_CLOEXEC));

	CHECK(unmount_guard_find(&before) == live.fd);
	CHECK(fcntl(live.fd, F_GETFD) & FD_CLOEXEC); /* no program inherits it */

	/* one that was there before the mount is not libfuse's */
	fd_list_free(&before);
	CHECK(fd_list_read(&before) == 0);
	CHECK_ERR(unmount_guard_find(&before), "cannot find libfuse's socket");
	fd_list_free(&before);
	peer_end(&live);
	peer_end(&dead);
	close(pfd[0]), close(pfd[1]), close(file), close(named), close(dgram[0]), close(dgram[1]);
}

static void test_none_or_several_is_an_error(void)
{
	struct fd_list before;
	CHECK(fd_list_read(&before) == 0);
	CHECK_ERR(unmount_guard_find(&before), "cannot find libfuse's socket");
	struct peer a = peer_elsewhere(), b = peer_elsewhere();
	CHECK_ERR(unmount_guard_find(&before), "cannot tell libfuse's socket");
	/* no guard then, but neither is left for a thunk to inherit */
	CHECK((fcntl(a.fd, F_GETFD) & FD_CLOEXEC) && (fcntl(b.fd, F_GETFD) & FD_CLOEXEC));
	fd_list_free(&before);
	peer_end(&a);
	peer_end(&b);
}

/* The guard keeps the socket open while its ggfs (here a child that
 * starts it, then closes its own copy) lives, and closes it once it is
 * gone (at once: the "mount point", a plain directory, answers statfs). */
static void test_guard_closes_last(void)
{
	struct peer p = peer_elsewhere(); /* p.pid plays fusermount3 */
	int ggfs_end = p.fd;
	int go[2];
	CHECK(pipe(go) == 0);
	pid_t ggfs = fork();
	CHECK(ggfs >= 0);
	if (ggfs == 0) {
		close(go[1]);
		if (unmount_guard_start(ggfs_end, "/tmp") < 0)
			_exit(3);
		close(ggfs_end);
		char c;
		_exit(read(go[0], &c, 1) == 1 ? 0 : 4);
	}
	close(go[0]);
	close(ggfs_end); /* "fusermount3" exits once the last copy is closed */
	CHECK(!harness_process_ended(p.pid, 1)); /* the guard holds it */
	CHECK(write(go[1], "x", 1) == 1);        /* ggfs ends */
	int st;
	CHECK(waitpid(ggfs, &st, 0) == ggfs && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(harness_process_ended(p.pid, 10)); /* the guard went, the socket closed */
	waitpid(p.pid, &st, 0);
	close(go[1]);
}

TEST_MAIN(test_finds_the_one_live_pair, test_none_or_several_is_an_error, test_guard_closes_last)
