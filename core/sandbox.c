/**
 * @file sandbox.c
 * Runs one program hermetically in a prepared directory (see sandbox.h).
 *
 * The child is created with a fork-like clone() into new user, mount, pid,
 * net, ipc and uts namespaces. The parent writes its uid/gid maps and then
 * releases it through a pipe. The child makes all mounts private, bind-mounts
 * ROOT onto itself, binds the read-only inputs (spec->bind_src) over their
 * mount points, adds /tmp (tmpfs) and /dev/{null,zero,urandom} (binds of
 * the host's, on a tiny tmpfs when ROOT has no dev/) where the inputs leave
 * those names free, pivots into ROOT and detaches the old root. As pid 1 of
 * the new pid namespace it then vforks the program and stays as a tiny init
 * that reaps everything and reports the program's wait status through a pipe
 * (a pid-1 program would ignore its own default-action signals). That pipe
 * also carries setup and exec failures (kind, step, errno). On a timeout the
 * parent asks init to kill the namespace (so all CPU time is counted), and
 * kills init itself if that does not happen quickly.
 *
 * Nothing a force starts outlives it, even under kill -9 of gg or ggfs: the
 * init of every run (pid 1 of the namespace, or a small supervisor in plain
 * mode) watches a lifeline, the read end of a pipe whose write end only this
 * process holds (O_CLOEXEC, closed in every child). When the process dies,
 * however, the kernel closes that end; init sees EOF and kills everything of
 * its run (the namespace, or the program's process group), then exits.
 * PR_SET_PDEATHSIG was not chosen: it fires when the *thread* that forked
 * exits, and engine and FUSE threads come and go; a pipe fires only when
 * the whole process is gone.
 *
 * Empty mount points the parent creates in ROOT (tmp, dev, dev/NAME) are
 * removed after the run (by descriptors: the program may have replaced dev
 * with a link to a host directory), so ROOT then holds only inputs and what
 * the program wrote. When we are root, ROOT itself is chowned to the
 * sandbox's user.
 *
 * Without namespaces (or with spec->no_isolation) the program runs with ROOT
 * as its cwd, in its own session, under a supervisor that plays init's part
 * (reports the status, kills the program's group on a timeout, and at its
 * end and on EOF of the lifeline everything the program left, detached or
 * not: the supervisor is the run's child subreaper). Whether namespaces work is probed
 * once by running the real isolated setup in an empty temporary directory.
 *
 * Everything the child needs is prepared before the clone: between clone and
 * exec the child only makes raw system calls (no malloc, no stdio, no locks),
 * so sandbox_run() is safe to call from several threads at once. It does not
 * prepare ROOT's inputs or collect outputs; exec.c does.
 */
#include "core/sandbox.h"

#include "core/beneath.h"
#include "core/process.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_FLAGS                                                                                   \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
#define OUTSIDE_ID       65534 /* "nobody": what the sandbox's root is when we are root */
#define DEFAULT_FSIZE    (16ull << 30)
#define DEFAULT_NPROC    4096
#define TMPFS_OPTS       "size=128m,nr_inodes=16384,mode=1777"
#define DEVFS_OPTS       "size=16k,nr_inodes=16,mode=755"
#define SANDBOX_HOSTNAME "gg"
#define TIMEOUT_SIGNAL   SIGUSR1    /* parent -> init: time is up */
#define KILL_GRACE_NS    200000000u /* then init itself is killed */
#define LEFTOVER_KILL_MS 5000       /* what a run left must be gone by then */

/* Messages from the child processes on the report pipe. */
enum { MSG_SETUP = 1, MSG_EXEC, MSG_STATUS };
struct msg {
	int kind, step, err, status;
};

/* Setup steps, for error messages (indexes into step_names). */
enum {
	STEP_SYNC,
	STEP_SETGROUPS,
	STEP_PRIVATE,
	STEP_BIND_ROOT,
	STEP_ENTER_ROOT,
	STEP_IDENTITY,
	STEP_HOSTNAME,
	STEP_TMP,
	STEP_DEV,
	STEP_PIVOT,
	STEP_DETACH,
	STEP_STDIO,
	STEP_FORK,
	STEP_CHDIR,
	STEP_RLIMIT,
	STEP_SUBREAPER,
	STEP_BIND_INPUT,
	STEP_CAPS,
	STEP_DUMPABLE,
};
static const char *const step_names[] = {
    [STEP_SYNC] = "waiting for the uid map",
    [STEP_SETGROUPS] = "dropping supplementary groups",
    [STEP_PRIVATE] = "making mounts private",
    [STEP_BIND_ROOT] = "bind-mounting the root",
    [STEP_ENTER_ROOT] = "entering the root",
    [STEP_IDENTITY] = "switching to the sandbox user",
    [STEP_HOSTNAME] = "setting the host name",
    [STEP_TMP] = "mounting /tmp",
    [STEP_DEV] = "binding /dev",
    [STEP_PIVOT] = "pivot_root",
    [STEP_DETACH] = "detaching the old root",
    [STEP_STDIO] = "redirecting stdio",
    [STEP_FORK] = "forking the program",
    [STEP_CHDIR] = "changing to the root directory",
    [STEP_RLIMIT] = "setting resource limits",
    [STEP_SUBREAPER] = "becoming the child subreaper of the run",
    [STEP_BIND_INPUT] = "binding an input read-only",
    [STEP_CAPS] = "dropping CAP_SYS_ADMIN",
    [STEP_DUMPABLE] = "making pid 1 not dumpable",
};

static const char *step_name(int step)
{
	return step >= 0 && (size_t)step < GG_ARRAY_LEN(step_names) ? step_names[step] : "setup";
}

static const char *const dev_names[] = {"null", "zero", "urandom"};
static const char *const dev_paths[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
static const char *const dev_points[] = {"dev/null", "dev/zero", "dev/urandom"};
#define NDEV GG_ARRAY_LEN(dev_names)

/* Everything the child needs, prepared before the clone. */
struct child_ctx {
	const char *root, *exe;
	char *const *argv, *const *env;
	int sync_fd, report_fd, in_fd, out_fd, err_fd, life_fd;
	bool is_root, mount_tmp, mount_dev, bind_dev[NDEV], drop_admin;
	struct rlimit fsize, as, nproc, core;
	bool set_as;
	const char *const *bind_src, *const *bind_dst;
	size_t nbinds;
	const struct sandbox_file_id *bind_id;
	unsigned long bind_flags; /* the store mount's flags a read-only remount must keep */
};

/* ---- helpers usable in the child (raw system calls only) ---- */

static pid_t raw_fork(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

static void report(int fd, int kind, int step, int err, int status)
{
	struct msg m = {kind, step, err, status};
	ssize_t r;
	do
		r = write(fd, &m, sizeof m);
	while (r < 0 && errno == EINTR);
}

static _Noreturn void child_fail(const struct child_ctx *c, int kind, int step)
{
	report(c->report_fd, kind, step, errno, 0);
	_exit(127);
}

/* The steps of binding input i: bind, stat it, find the inode expected
 * (BIND_MISMATCH: another), remount read-only. */
enum { BIND_MOUNT, BIND_CHECK, BIND_MISMATCH, BIND_REMOUNT, BIND_STEPS };

/* child_fail for step STEP_BIND_INPUT of input i, which is one of the above;
 * carried in the message's status as i * BIND_STEPS + which. */
static _Noreturn void bind_fail(const struct child_ctx *c, size_t i, int which)
{
	report(c->report_fd, MSG_SETUP, STEP_BIND_INPUT, errno,
	       (int)(i * BIND_STEPS + (size_t)which));
	_exit(127);
}

/* Default dispositions and an empty signal mask, as a fresh process has. */
static void reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void setup_stdio(const struct child_ctx *c)
{
	/* All three are >= 3 (see fd_above_stdio), so no dup2 clobbers another. */
	if (dup2(c->in_fd, 0) < 0 || dup2(c->out_fd, 1) < 0 || dup2(c->err_fd, 2) < 0)
		child_fail(c, MSG_SETUP, STEP_STDIO);
	close(c->in_fd);
	close(c->out_fd);
	if (c->err_fd != c->out_fd)
		close(c->err_fd);
}

static _Noreturn void exec_program(const struct child_ctx *c)
{
	setsid(); /* no controlling terminal; its own group for timeouts */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* init blocks SIGCHLD */
	if (setrlimit(RLIMIT_FSIZE, &c->fsize) < 0 || setrlimit(RLIMIT_NPROC, &c->nproc) < 0 ||
	    setrlimit(RLIMIT_CORE, &c->core) < 0 || (c->set_as && setrlimit(RLIMIT_AS, &c->as) < 0))
		child_fail(c, MSG_SETUP, STEP_RLIMIT);
	/* Isolated, the program is root of its namespaces: without CAP_SYS_ADMIN
	 * (gone from the bounding set, so from what root gets at exec) it cannot
	 * remount its read-only inputs writable or unmount them. A namespace it
	 * makes itself gets every capability back, and our mounts locked. */
	if (c->drop_admin && prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0)
		child_fail(c, MSG_SETUP, STEP_CAPS);
	/*
	 * A program someone holds open for writing cannot be run (ETXTBSY).
	 * Nothing of ours writes a program once it is in place, but a child
	 * another thread forks meanwhile inherits, for an instant (until its
	 * own exec closes it), every write descriptor open in the process:
	 * one of a program being copied or stored. So ETXTBSY is tried again,
	 * for about a second, before it counts.
	 */
	struct timespec pause = {0, 1000000};
	for (int tries = 0; tries < 12; tries++) {
		execve(c->exe, c->argv, c->env);
		if (errno != ETXTBSY)
			break;
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 256000000)
			pause.tv_nsec *= 2;
	}
	child_fail(c, MSG_EXEC, 0);
}

/* What init kills: -1 (all of its namespace but itself) or the program's
 * process group in plain mode; 0 until the program is started (a request
 * before that is remembered in kill_pending). */
static volatile pid_t kill_target;
static volatile sig_atomic_t kill_pending;

/* In init, on the parent's request (time is up, or cancelled). */
static void init_on_timeout(int sig)
{
	(void)sig;
	int e = errno;
	if (kill_target)
		kill(kill_target, SIGKILL);
	else
		kill_pending = 1;
	errno = e;
}

/* ---- ending what a program leaves (raw system calls only) ---- */

/* The record getdents64 returns (glibc declares none for the raw call). */
struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* A decimal pid, or 0 when s is not one. */
static pid_t parse_pid(const char *s)
{
	long v = 0;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (1l << 30))
			return 0;
		v = v * 10 + (*s - '0');
	}
	return (pid_t)v;
}

/* Whether /proc/NAME/stat says the process is alive and a child of self.
 * "pid (comm) state ppid ...": comm may hold anything but ends at the last ')'. */
static bool is_live_child(const char *name, pid_t self)
{
	char path[64] = "/proc/", st[512];
	size_t n = strlen(path), l = strlen(name);
	if (n + l + sizeof "/stat" > sizeof path)
		return false;
	memcpy(path + n, name, l);
	memcpy(path + n + l, "/stat", sizeof "/stat");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t r = read(fd, st, sizeof st - 1);
	close(fd);
	if (r <= 0)
		return false;
	st[r] = 0;
	char *p = strrchr(st, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return false;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return false;
	long ppid = 0;
	for (p += 4; *p >= '0' && *p <= '9' && ppid < (1l << 30); p++)
		ppid = ppid * 10 + (*p - '0');
	return *p == ' ' && ppid == (long)self;
}

/* Sends SIGKILL to every living child of this process, found in /proc
 * (what a run leaves is in no list of ours). */
static void kill_children(void)
{
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	pid_t self = getpid();
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64_raw *e = (struct dirent64_raw *)(void *)(buf + off);
			off += e->d_reclen;
			pid_t pid = parse_pid(e->d_name);
			if (pid > 0 && pid != self && is_live_child(e->d_name, self))
				kill(pid, SIGKILL);
		}
	}
	close(dfd);
}

/*
 * Kills every child of this process, and in turn what each leaves (the
 * caller is a child subreaper: a process whose parent dies becomes ours),
 * reaping them, until none is left, not even a zombie. How many were
 * reaped, or -1 when some are still there after timeout_ms. Raw system
 * calls only: a run's supervisor, forked from a threaded process, calls it.
 */
static int end_children(uint64_t timeout_ms)
{
	uint64_t end = now_ns() + timeout_ms * 1000000u;
	int reaped = 0;
	for (;;) {
		pid_t w;
		while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
			reaped++;
		if (w < 0 && errno == ECHILD)
			return reaped;
		kill_children();
		if (now_ns() >= end)
			return -1;
		struct timespec ts = {0, 1000000}; /* 1 ms: let them die and be reaped */
		nanosleep(&ts, NULL);
	}
}

/*
 * The rest of init's life, once the program pid is started: reap every
 * child as it ends; when the program ends, end the rest and report its
 * status (with how many processes it left running) once all are reaped.
 * In a namespace kill(-1) reaches all of them. In plain mode the supervisor
 * is the run's child subreaper, so whatever the program detached (setsid,
 * a double fork) is its descendant: it kills the program's group and then
 * its children, and theirs, until none is left (end_children). On EOF of
 * the lifeline (gg died) it ends everything the same way and exits. SIGCHLD
 * is blocked and read from sfd, so no wake-up is lost between a reap and
 * the poll.
 */
static _Noreturn void supervise(const struct child_ctx *c, pid_t pid, int sfd, bool isolated)
{
	int status = 0, left = 0;
	bool ended = false;
	for (;;) {
		int st;
		pid_t w;
		/* Plain mode: its group is killed while the program is a zombie,
		 * before the reap frees its pid (and so the group's id) for reuse. */
		siginfo_t zi = {0};
		if (!ended && !isolated &&
		    waitid(P_PID, (id_t)pid, &zi, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    zi.si_pid == pid)
			kill(kill_target, SIGKILL);
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w == pid) {
				status = st;
				ended = true;
				if (isolated)
					kill(-1, SIGKILL);
			} else if (ended) {
				left++;
			}
		}
		if ((w < 0 && errno == ECHILD) || (ended && !isolated))
			break;
		struct pollfd p[2] = {{c->life_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
		/* Without a signalfd, look again every 10 ms. */
		int n = poll(p, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 10);
		if (n > 0 && p[0].revents) {
			kill(kill_target, SIGKILL); /* gg is gone */
			if (!isolated)
				(void)end_children(LEFTOVER_KILL_MS); /* and what it detached */
			_exit(127);
		}
		if (n > 0 && p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) > 0)
				;
		}
	}
	int err = 0;
	if (!isolated) {
		/* its group was killed before the reap; what is left is ours */
		int n = end_children(LEFTOVER_KILL_MS);
		if (n < 0)
			err = ETIMEDOUT;
		else
			left += n;
	}
	if (!ended)
		_exit(127);
	report(c->report_fd, MSG_STATUS, left, err, status);
	_exit(0);
}

/* Starts the program (vfork: no second copy of the possibly large caller's
 * page tables; the program side only makes system calls until execve or
 * _exit) and supervises it. */
static _Noreturn void start_and_supervise(const struct child_ctx *c, bool isolated)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = init_on_timeout;
	sa.sa_flags = SA_RESTART;
	sigaction(TIMEOUT_SIGNAL, &sa, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	/* Isolated, the program is root of the namespaces init keeps every
	 * capability of: not dumpable, init cannot be ptraced (nor its memory
	 * written) to act with them. An exec gives the program a dumpable mm of
	 * its own. */
	if (isolated && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(c, MSG_SETUP, STEP_DUMPABLE);
	pid_t pid = vfork();
	if (pid < 0)
		child_fail(c, MSG_SETUP, STEP_FORK);
	if (pid == 0)
		exec_program(c);
	/* Nor does it need them any more: kill, wait and pipes only. */
	if (isolated) {
		struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct none[2];
		memset(none, 0, sizeof none);
		(void)syscall(SYS_capset, &hdr, none);
	}
	/* The program called setsid() before its exec: its group is its pid. */
	kill_target = isolated ? -1 : -pid;
	if (kill_pending)
		kill(kill_target, SIGKILL);
	/* Hold no files but the report pipe, the lifeline and the signalfd. */
	int keep[] = {c->report_fd, c->life_fd, sfd};
	close_fds_except(keep, sfd >= 0 ? 3 : 2);
	supervise(c, pid, sfd, isolated);
}

/* pid 1 of the sandbox: set up the mounts, fork the program, reap, report. */
static _Noreturn void isolated_child(const struct child_ctx *c)
{
	int keep[] = {c->sync_fd, c->report_fd, c->in_fd, c->out_fd, c->err_fd, c->life_fd};
	close_fds_except(keep, (int)GG_ARRAY_LEN(keep));

	char go;
	ssize_t r;
	do
		r = read(c->sync_fd, &go, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(127); /* the parent gave up */
	close(c->sync_fd);

	/* As real root our supplementary groups (e.g. 0) would stay effective. */
	if (c->is_root && syscall(SYS_setgroups, 0, NULL) < 0)
		child_fail(c, MSG_SETUP, STEP_SETGROUPS);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(c, MSG_SETUP, STEP_PRIVATE);
	/* Still the caller's identity outside: ROOT's ancestors may be private. */
	if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(c, MSG_SETUP, STEP_BIND_ROOT);
	if (chdir(c->root) < 0)
		child_fail(c, MSG_SETUP, STEP_ENTER_ROOT);
	/* Still as the caller: the store may be private to it. */
	for (size_t i = 0; i < c->nbinds; i++) {
		if (mount(c->bind_src[i], c->bind_dst[i], NULL, MS_BIND, NULL) < 0)
			bind_fail(c, i, BIND_MOUNT);
		/* the inode the parent checked, not one given its path since */
		struct stat st;
		if (c->bind_id && stat(c->bind_dst[i], &st) < 0)
			bind_fail(c, i, BIND_CHECK);
		if (c->bind_id &&
		    (st.st_dev != c->bind_id[i].dev || st.st_ino != c->bind_id[i].ino)) {
			errno = 0;
			bind_fail(c, i, BIND_MISMATCH);
		}
		if (mount(NULL, c->bind_dst[i], NULL,
		          MS_REMOUNT | MS_BIND | MS_RDONLY | c->bind_flags, NULL) < 0)
			bind_fail(c, i, BIND_REMOUNT);
	}
	/* Become the namespace's root (= the mapped id outside), keeping caps.
	 * Raw system calls: glibc's wrappers would try to synchronise with the
	 * other threads of the parent, which do not exist here (and hang). */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		child_fail(c, MSG_SETUP, STEP_IDENTITY);
	if (sethostname(SANDBOX_HOSTNAME, strlen(SANDBOX_HOSTNAME)) < 0)
		child_fail(c, MSG_SETUP, STEP_HOSTNAME);
	if (c->mount_tmp && mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTS) < 0)
		child_fail(c, MSG_SETUP, STEP_TMP);
	/* A /dev we add is a tiny tmpfs: its mount points cost no inodes in ROOT. */
	if (c->mount_dev) {
		if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, DEVFS_OPTS) < 0)
			child_fail(c, MSG_SETUP, STEP_DEV);
		for (size_t i = 0; i < NDEV; i++) {
			int fd = open(dev_points[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
			if (fd < 0)
				child_fail(c, MSG_SETUP, STEP_DEV);
			close(fd);
		}
	}
	for (size_t i = 0; i < NDEV; i++)
		if (c->bind_dev[i] && mount(dev_paths[i], dev_points[i], NULL, MS_BIND, NULL) < 0)
			child_fail(c, MSG_SETUP, STEP_DEV);
	/* pivot_root(".", ".") stacks the old root on top of the new one; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			child_fail(c, MSG_SETUP, STEP_DETACH);
	} else if (errno == EINVAL) {
		/* The host root is the initramfs: move ROOT over it instead. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			child_fail(c, MSG_SETUP, STEP_PIVOT);
	} else {
		child_fail(c, MSG_SETUP, STEP_PIVOT);
	}
	if (chdir("/") < 0)
		child_fail(c, MSG_SETUP, STEP_ENTER_ROOT);
	setup_stdio(c);
	reset_signals();
	/* Reaping all (rather than letting the kernel kill them when pid 1
	 * exits) counts their CPU time in our rusage. */
	start_and_supervise(c, true);
}

/* Plain mode: the supervisor, in its own session, runs the program in another. */
static _Noreturn void plain_child(const struct child_ctx *c)
{
	int keep[] = {c->sync_fd, c->report_fd, c->in_fd, c->out_fd, c->err_fd, c->life_fd};
	close_fds_except(keep, (int)GG_ARRAY_LEN(keep));
	char go;
	ssize_t r;
	do
		r = read(c->sync_fd, &go, 1); /* in its control group */
	while (r < 0 && errno == EINTR);
	if (r != 1)
		_exit(127); /* the parent gave up */
	close(c->sync_fd);
	setsid(); /* not in gg's group: a terminal's Ctrl-C goes to gg alone */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) /* what it detaches stays ours */
		child_fail(c, MSG_SETUP, STEP_SUBREAPER);
	if (chdir(c->root) < 0)
		child_fail(c, MSG_SETUP, STEP_CHDIR);
	setup_stdio(c);
	reset_signals();
	start_and_supervise(c, false);
}

/* ---- parent side ---- */

static int write_proc(pid_t pid, const char *file, const char *data)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	int r = 0;
	if (write_all(fd, data, strlen(data)) < 0)
		r = gg_error_errno("cannot write %s", path);
	close(fd);
	return r;
}

/* Maps the child's root user and group to us, or to nobody when we are root. */
static int write_id_maps(pid_t pid, bool is_root)
{
	char map[64];
	unsigned uid = is_root ? OUTSIDE_ID : (unsigned)geteuid();
	unsigned gid = is_root ? OUTSIDE_ID : (unsigned)getegid();
	snprintf(map, sizeof map, "0 %u 1\n", uid);
	if (write_proc(pid, "uid_map", map) < 0)
		return -1;
	/* Unprivileged: setgroups must be denied before writing gid_map. As
	 * root we keep it allowed so the child can drop its groups instead. */
	if (!is_root && write_proc(pid, "setgroups", "deny") < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", gid);
	return write_proc(pid, "gid_map", map);
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* ---- the one-time probe ---- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_ok, binds_ok;
static char probe_reason[256], binds_reason[512];

static int run(const struct sandbox_spec *spec, bool isolated, struct sandbox_result *result,
               struct msg *fail);

#define PROBE_PREFIX "gg-sandbox-probe-"
/* A probe takes at most its 10 s timeout: an older probe root is a killed
 * process's (SIGKILL left no chance to remove it). */
#define PROBE_STALE_S 600

/* Removes the probe roots killed processes of this user left in tmp. */
static void sweep_probe_roots(const char *tmp)
{
	DIR *d = opendir(tmp);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (strncmp(e->d_name, PROBE_PREFIX, strlen(PROBE_PREFIX)) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    now - st.st_mtime < PROBE_STALE_S)
			continue;
		char *p = xasprintf("%s/%s", tmp, e->d_name);
		struct gg_error_saved sv;
		gg_error_save(&sv);
		(void)remove_tree(p); /* best effort: a failure is no one's business */
		gg_error_restore(&sv);
		free(p);
	}
	closedir(d);
}

/*
 * Runs the real isolated setup once in an empty temporary root, with a
 * program that does not exist: "cannot execute" means everything before the
 * exec works here (clone, id maps, mounts, a read-only input, pivot_root).
 */
static void probe(void)
{
	const char *tmp = getenv("TMPDIR");
	tmp = tmp && *tmp ? tmp : "/tmp";
	sweep_probe_roots(tmp);
	char *dir = xasprintf("%s/" PROBE_PREFIX "XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		snprintf(probe_reason, sizeof probe_reason, "cannot create %s: %s", dir,
		         strerror(errno));
		free(dir);
		return;
	}
	char *const argv[] = {"gg-probe", NULL};
	/* and one read-only input, as runs have them: "in" shows "in.src" */
	char *in = xasprintf("%s/in", dir), *src = xasprintf("%s/in.src", dir);
	const char *bind_dst[] = {"in"}, *bind_src[] = {src};
	int fi = open(in, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	int fs = open(src, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	int create_err = fi < 0 || fs < 0 ? errno : 0;
	if (fi >= 0)
		close(fi);
	if (fs >= 0)
		close(fs);
	struct sandbox_spec spec = {.root = dir,
	                            .exe = "gg-probe",
	                            .argv = argv,
	                            .timeout_ms = 10000,
	                            .bind_src = bind_src,
	                            .bind_dst = bind_dst,
	                            .nbinds = fi >= 0 && fs >= 0 ? 1 : 0};
	struct sandbox_result res;
	struct msg fail;
	int r = run(&spec, true, &res, &fail);
	if (r < 0 && fail.kind == MSG_SETUP && fail.step == STEP_BIND_INPUT) {
		/* isolation may still work: runs then get hard links */
		snprintf(binds_reason, sizeof binds_reason, "%s", gg_last_error());
		spec.nbinds = 0;
		r = run(&spec, true, &res, &fail);
	} else if (!spec.nbinds) {
		snprintf(binds_reason, sizeof binds_reason, "cannot create files in %s: %s", dir,
		         strerror(create_err));
	} else {
		binds_ok = true;
	}
	if (r == 0)
		snprintf(probe_reason, sizeof probe_reason, "the probe ran unexpectedly");
	else if (fail.kind == MSG_EXEC)
		probe_ok = true;
	else if (fail.kind == MSG_SETUP)
		snprintf(probe_reason, sizeof probe_reason, "%s: %s", step_name(fail.step),
		         strerror(fail.err));
	else
		snprintf(probe_reason, sizeof probe_reason, "%s", gg_last_error());
	binds_ok = binds_ok && probe_ok;
	remove_tree(dir);
	free(in);
	free(src);
	free(dir);
}

bool sandbox_available(void)
{
	pthread_once(&probe_once, probe);
	return probe_ok;
}

bool sandbox_binds_available(void)
{
	pthread_once(&probe_once, probe);
	return binds_ok;
}

const char *sandbox_binds_unavailable_reason(void)
{
	pthread_once(&probe_once, probe);
	return binds_ok ? "" : binds_reason;
}

const char *sandbox_unavailable_reason(void)
{
	pthread_once(&probe_once, probe);
	return probe_ok ? "" : probe_reason;
}

static pthread_once_t notice_once = PTHREAD_ONCE_INIT;

static void print_notice(void)
{
	fprintf(stderr,
	        "gg: note: cannot create namespaces here (%s); thunks run with their "
	        "directory as cwd, not isolated\n",
	        probe_reason);
}

/* ---- sandbox_run ---- */

/*
 * The flags of the mount holding dir that a read-only remount of a bind
 * from it must restate: in a user namespace the kernel refuses to clear
 * nosuid, nodev, noexec or change the atime rule of a mount it inherited.
 */
static int bind_flags(const char *dir, unsigned long *out)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return gg_error_errno("cannot read the mount flags of %s", dir);
	unsigned long f = 0;
	f |= sv.f_flag & ST_NOSUID ? MS_NOSUID : 0;
	f |= sv.f_flag & ST_NODEV ? MS_NODEV : 0;
	f |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
	f |= sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	else if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	else
		f |= MS_STRICTATIME;
	*out = f;
	return 0;
}

/* Keeps fd out of 0..2 so that the child's dup2()s cannot clobber it. */
static int fd_above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static int open_out(const char *path)
{
	int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return gg_error_errno("cannot create %s", path ? path : "/dev/null");
	return fd_above_stdio(fd);
}

static struct rlimit capped(int resource, uint64_t want)
{
	struct rlimit cur, rl = {(rlim_t)want, (rlim_t)want};
	if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
	    cur.rlim_max < rl.rlim_max)
		rl.rlim_cur = rl.rlim_max = cur.rlim_max;
	return rl;
}

/* Mount points we created in ROOT, removed after the run. */
struct mount_points {
	char *tmp, *dev, *dev_file[NDEV];
	bool made_tmp, made_dev, made_dev_file[NDEV];
};

static bool absent(const char *path)
{
	struct stat st;
	return lstat(path, &st) < 0 && errno == ENOENT;
}

static int make_mount_points(const char *root, struct child_ctx *c, struct mount_points *mp)
{
	mp->tmp = xasprintf("%s/tmp", root);
	mp->dev = xasprintf("%s/dev", root);
	if (absent(mp->tmp)) {
		if (mkdir(mp->tmp, 0755) < 0)
			return gg_error_errno("cannot create %s", mp->tmp);
		mp->made_tmp = c->mount_tmp = true;
	}
	struct stat st;
	if (absent(mp->dev)) {
		if (mkdir(mp->dev, 0755) < 0)
			return gg_error_errno("cannot create %s", mp->dev);
		mp->made_dev = c->mount_dev = true;
		for (size_t i = 0; i < NDEV; i++)
			c->bind_dev[i] = true;
		return 0;
	} else if (lstat(mp->dev, &st) < 0 || !S_ISDIR(st.st_mode)) {
		return 0; /* an input claims /dev: leave it alone */
	}
	/* Inputs in dev/: add the missing names next to them. */
	for (size_t i = 0; i < NDEV; i++) {
		mp->dev_file[i] = xasprintf("%s/%s", mp->dev, dev_names[i]);
		if (!absent(mp->dev_file[i]))
			continue;
		int fd = open(mp->dev_file[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return gg_error_errno("cannot create %s", mp->dev_file[i]);
		close(fd);
		mp->made_dev_file[i] = c->bind_dev[i] = true;
	}
	return 0;
}

/*
 * Best effort: what the program itself put there stays (it is its output).
 * By descriptors, relative to ROOT: the program may have replaced dev with a
 * link to a host directory, whose null, zero and urandom must stay.
 */
static void remove_mount_points(const char *root, struct mount_points *mp)
{
	bool any_file = false;
	for (size_t i = 0; i < NDEV; i++)
		any_file |= mp->made_dev_file[i];
	int rfd = -1;
	if (mp->made_tmp || mp->made_dev || any_file)
		rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0 && any_file) {
		int dev = beneath_open(rfd, "dev", O_PATH | O_DIRECTORY, 0);
		for (size_t i = 0; dev >= 0 && i < NDEV; i++)
			if (mp->made_dev_file[i])
				unlinkat(dev, dev_names[i], 0);
		if (dev >= 0)
			close(dev);
	}
	if (rfd >= 0 && mp->made_dev)
		unlinkat(rfd, "dev", AT_REMOVEDIR);
	if (rfd >= 0 && mp->made_tmp)
		unlinkat(rfd, "tmp", AT_REMOVEDIR);
	if (rfd >= 0)
		close(rfd);
	for (size_t i = 0; i < NDEV; i++)
		free(mp->dev_file[i]);
	free(mp->tmp);
	free(mp->dev);
}

enum wait_end { W_EXITED, W_DEADLINE, W_CANCELLED, W_PROCS };

#define PIDS_CHECK_MS 100 /* how often a control group's process limit is checked */

/* Waits until pid has exited (not reaping it), the deadline passes, the
 * cancel fd (-1: none) becomes readable or a fork fails at cg's process
 * limit (cg NULL: not checked). */
static enum wait_end wait_until(pid_t pid, int pidfd, uint64_t deadline, int cancel_fd,
                                const struct cgroup_run *cg)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return W_DEADLINE;
		if (cg && cgroup_run_pids_hit(cg))
			return W_PROCS;
		uint64_t left_ms = (deadline - now + 999999) / 1000000;
		if (cg && left_ms > PIDS_CHECK_MS)
			left_ms = PIDS_CHECK_MS;
		struct pollfd p[2] = {{cancel_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
		if (pidfd >= 0) {
			if (poll(p, 2, left_ms > 60000 ? 60000 : (int)left_ms) > 0) {
				if (p[1].revents)
					return W_EXITED;
				if (p[0].revents)
					return W_CANCELLED;
			}
		} else {
			siginfo_t si;
			si.si_pid = 0;
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid)
				return W_EXITED;
			if (poll(p, 1, 1) > 0 && p[0].revents) /* 1 ms, or cancelled */
				return W_CANCELLED;
		}
	}
}

/*
 * Waits for init (pid) and returns its wait status, enforcing the timeout
 * and the cancel fd: init is asked to kill its namespace or the program's
 * group (so that the CPU time of everything is counted) and killed itself
 * if that takes too long.
 */
static int wait_child(pid_t pid, uint64_t t0, uint64_t timeout_ms, int cancel_fd,
                      const struct cgroup_run *cg, struct sandbox_result *res, struct rusage *ru)
{
	if (timeout_ms || cancel_fd >= 0 || cg) {
		int pidfd = -1;
#ifdef SYS_pidfd_open
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
		/* Saturating: a thunk may ask for any timeout. */
		uint64_t deadline = !timeout_ms || timeout_ms > (UINT64_MAX - t0) / 1000000u
		                        ? UINT64_MAX
		                        : t0 + timeout_ms * 1000000u;
		enum wait_end end = wait_until(pid, pidfd, deadline, cancel_fd, cg);
		if (end != W_EXITED) {
			res->timed_out = end == W_DEADLINE;
			res->cancelled = end == W_CANCELLED;
			res->procs_limit = end == W_PROCS;
			if (kill(pid, TIMEOUT_SIGNAL) < 0 ||
			    wait_until(pid, pidfd, now_ns() + KILL_GRACE_NS, -1, NULL) !=
			        W_EXITED) {
				kill(pid, SIGKILL);
			}
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	int st = 0;
	while (wait4(pid, &st, 0, ru) < 0) {
		if (errno != EINTR) {
			memset(ru, 0, sizeof *ru);
			return gg_error_errno("waiting for the sandboxed program");
		}
	}
	return st;
}

/* The lifeline (see the file comment): created once, both ends held by this
 * process for its whole life, never inherited by an exec'd program. */
static pthread_once_t lifeline_once = PTHREAD_ONCE_INIT;
static int lifeline[2] = {-1, -1};

static void make_lifeline(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	lifeline[0] = fd_above_stdio(p[0]);
	lifeline[1] = fd_above_stdio(p[1]);
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* sandbox_run in the given mode; *fail gets what the child reported, if anything. */
static int run(const struct sandbox_spec *spec, bool isolated, struct sandbox_result *result,
               struct msg *fail)
{
	memset(fail, 0, sizeof *fail);
	pthread_once(&lifeline_once, make_lifeline);
	if (lifeline[0] < 0 || lifeline[1] < 0)
		return gg_error_errno("sandbox: cannot create the lifeline pipe");
	struct stat st;
	if (stat(spec->root, &st) < 0)
		return gg_error_errno("sandbox root %s", spec->root);
	if (!S_ISDIR(st.st_mode))
		return gg_error("sandbox root %s: not a directory", spec->root);

	static char *const empty_env[] = {NULL};
	const struct cgroup_run *cg = spec->cgroup && spec->cgroup->version ? spec->cgroup : NULL;
	struct child_ctx c = {
	    .root = spec->root,
	    .exe = spec->exe,
	    .argv = spec->argv,
	    .env = spec->env ? spec->env : empty_env,
	    .sync_fd = -1,
	    .report_fd = -1,
	    .life_fd = lifeline[0],
	    .is_root = geteuid() == 0,
	    .drop_admin = isolated,
	    .fsize = capped(RLIMIT_FSIZE, spec->max_output ? spec->max_output : DEFAULT_FSIZE),
	    .nproc = capped(RLIMIT_NPROC, spec->max_procs ? spec->max_procs : DEFAULT_NPROC),
	    .core = {0, 0},
	    .set_as = spec->max_memory != 0,
	};
	if (c.set_as)
		c.as = capped(RLIMIT_AS, spec->max_memory);
	if (spec->nbinds) {
		if (!isolated)
			return gg_error("sandbox: read-only inputs need an isolated run");
		if (bind_flags(spec->bind_src[0], &c.bind_flags) < 0)
			return -1;
		c.bind_src = spec->bind_src, c.bind_dst = spec->bind_dst, c.nbinds = spec->nbinds;
		c.bind_id = spec->bind_id;
	}
	/* exe is relative to ROOT in both modes; tolerate a leading "/" */
	while (*c.exe == '/')
		c.exe++;
	if (!*c.exe)
		return gg_error("sandbox: empty program path");

	struct mount_points mp;
	memset(&mp, 0, sizeof mp);
	int ret = -1, sync[2] = {-1, -1}, rep[2] = {-1, -1};
	c.in_fd = c.out_fd = c.err_fd = -1;
	if (isolated) {
		if (c.is_root && st.st_uid != OUTSIDE_ID &&
		    chown(spec->root, OUTSIDE_ID, OUTSIDE_ID) < 0) {
			gg_error_errno("cannot hand %s to the sandbox user", spec->root);
			goto out;
		}
		if (make_mount_points(spec->root, &c, &mp) < 0)
			goto out;
	}
	c.in_fd = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (c.in_fd < 0) {
		gg_error_errno("cannot open /dev/null");
		goto out;
	}
	if ((c.out_fd = open_out(spec->stdout_path)) < 0)
		goto out;
	if (spec->stderr_path && spec->stdout_path && !strcmp(spec->stderr_path, spec->stdout_path))
		c.err_fd = fcntl(c.out_fd, F_DUPFD_CLOEXEC, 3);
	else
		c.err_fd = open_out(spec->stderr_path);
	if (c.err_fd < 0)
		goto out;
	if (pipe2(rep, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(sync, O_CLOEXEC) < 0) {
		gg_error_errno("sandbox: cannot create a pipe");
		goto out;
	}
	if ((rep[0] = fd_above_stdio(rep[0])) < 0 || (rep[1] = fd_above_stdio(rep[1])) < 0 ||
	    (sync[0] = fd_above_stdio(sync[0])) < 0) {
		gg_error_errno("sandbox: cannot move a pipe");
		goto out;
	}
	c.report_fd = rep[1];
	c.sync_fd = sync[0];

	uint64_t t0 = now_ns();
	pid_t pid = raw_fork(isolated ? NS_FLAGS : 0);
	if (pid == 0) {
		if (isolated)
			isolated_child(&c);
		plain_child(&c);
	}
	if (pid < 0) {
		gg_error_errno("cannot start %s%s", spec->exe,
		               isolated ? " in new namespaces" : "");
		goto out;
	}
	close(rep[1]);
	rep[1] = -1;
	close(sync[0]);
	sync[0] = -1;
	if ((cg && cgroup_run_attach(cg, pid) < 0) ||
	    (isolated && write_id_maps(pid, c.is_root) < 0)) {
		kill_and_reap(pid);
		goto out;
	}
	if (write_all(sync[1], "x", 1) < 0) {
		gg_error_errno("sandbox: cannot release the child");
		kill_and_reap(pid);
		goto out;
	}
	close(sync[1]);
	sync[1] = -1;

	struct rusage ru;
	int status =
	    wait_child(pid, t0, spec->timeout_ms, gg_cancel_fd(spec->cancel), cg, result, &ru);
	result->wall_ns = now_ns() - t0;
	result->cpu_ns = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	result->isolated = isolated;
	if (status < 0)
		goto out;

	/* Everything the children wrote is in the pipe once pid has exited. */
	struct msg m;
	bool have_status = false, leftovers_alive = false;
	for (;;) {
		ssize_t n = read(rep[0], &m, sizeof m);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof m)
			break;
		if (m.kind == MSG_STATUS) {
			have_status = true;
			status = m.status;
			result->leftovers = m.step;
			leftovers_alive = m.err != 0;
		} else if (!fail->kind) {
			*fail = m;
		}
	}
	if (fail->kind == MSG_EXEC) {
		result->exec_errno = fail->err;
		gg_error("cannot execute %s: %s", spec->exe, strerror(fail->err));
		goto out;
	}
	if (fail->kind == MSG_SETUP && fail->step == STEP_BIND_INPUT && fail->status >= 0 &&
	    (size_t)fail->status / BIND_STEPS < spec->nbinds) {
		size_t i = (size_t)fail->status / BIND_STEPS;
		int which = fail->status % BIND_STEPS;
		if (which == BIND_MISMATCH)
			gg_error("sandbox for %s in %s: input '%s': %s is no longer the object "
			         "that was checked (replaced in the store since); not shown",
			         spec->exe, spec->root, spec->bind_dst[i], spec->bind_src[i]);
		else
			gg_error("sandbox for %s in %s: %s input '%s' (%s) failed: %s", spec->exe,
			         spec->root,
			         which == BIND_MOUNT   ? "bind-mounting"
			         : which == BIND_CHECK ? "checking the bound"
			                               : "remounting read-only",
			         spec->bind_dst[i], spec->bind_src[i], strerror(fail->err));
		goto out;
	}
	if (fail->kind == MSG_SETUP) {
		gg_error("sandbox for %s in %s: %s failed: %s", spec->exe, spec->root,
		         step_name(fail->step), strerror(fail->err));
		goto out;
	}
	if (leftovers_alive) {
		gg_error("%s: processes it left running are still alive after %d ms of SIGKILL",
		         spec->exe, LEFTOVER_KILL_MS);
		goto out;
	}
	/* Unisolated, the program runs as we do and can kill its supervisor:
	 * then nothing ended what it left, and its own status is unknown. */
	if (!isolated && !have_status && !result->timed_out && !result->cancelled &&
	    !result->procs_limit)
		result->supervisor_lost = true;
	/* It may have finished on its own just before the kill. */
	if (have_status && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		result->timed_out = result->cancelled = result->procs_limit = false;
	result->wait_status = status;
	ret = 0;
out:
	if (isolated)
		remove_mount_points(spec->root, &mp);
	int fds[] = {c.in_fd, c.out_fd, c.err_fd, sync[0], sync[1], rep[0], rep[1]};
	for (size_t i = 0; i < GG_ARRAY_LEN(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

int sandbox_adopt_leftovers(void)
{
	int r = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return r < 0 ? gg_error_errno("prctl(PR_SET_CHILD_SUBREAPER)") : 0;
}

int sandbox_kill_leftovers(uint64_t timeout_ms)
{
	int n = end_children(timeout_ms);
	if (n < 0)
		return gg_error("processes a thunk left are still alive after %llu ms of SIGKILL",
		                (unsigned long long)timeout_ms);
	return n;
}

int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *result)
{
	memset(result, 0, sizeof *result);
	if (!spec->root || !spec->exe || !spec->argv)
		return gg_error("sandbox: root, exe and argv are required");
	bool isolated = !spec->no_isolation && sandbox_available();
	if (!isolated && !spec->no_isolation)
		pthread_once(&notice_once, print_notice);
	struct msg fail;
	return run(spec, isolated, result, &fail);
}
