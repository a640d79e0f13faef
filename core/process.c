/**
 * @file process.c
 * Starting programs (see process.h): posix_spawn when nothing is to run in the
 * child, else fork, the hook, and exec. A capture with a deadline or a stop
 * polls the output pipe and, once the pipe is closed, the process itself;
 * nothing it started is left behind when it is cut short (its process group
 * is killed), but a program that ends on its own may leave children running
 * (sbatch's fake in the tests starts the job so), as without a deadline.
 */
#include "core/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STOP_POLL_MS 50

static void close_range_raw(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	struct rlimit rl;
	unsigned max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
		max = (unsigned)rl.rlim_cur;
	for (unsigned fd = lo; fd <= hi && fd < max; fd++)
		close((int)fd);
}

void close_fds_except(const int *keep_in, int n)
{
	int keep[8];
	for (int i = 0; i < n; i++) {
		int v = keep_in[i], j = i;
		for (; j > 0 && keep[j - 1] > v; j--)
			keep[j] = keep[j - 1];
		keep[j] = v;
	}
	unsigned lo = 0;
	for (int i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range_raw(lo, (unsigned)keep[i] - 1);
		if ((unsigned)keep[i] + 1 > lo)
			lo = (unsigned)keep[i] + 1;
	}
	close_range_raw(lo, ~0u);
}

static bool own_group(const struct spawn_opts *o)
{
	return o->deadline_ms || o->stop;
}

/* In a child: every signal's action back to its default, none ignored nor
 * caught (what the parent set is not the child's business). */
static void default_all_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP, ... */
}

static void child_exec(char *const argv[], const struct spawn_opts *o)
{
	sigset_t none;
	sigemptyset(&none);
	default_all_signals();
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (own_group(o) && setpgid(0, 0) < 0)
		_exit(127);
	if (!o->inherit_stdin) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0)
			_exit(127);
		if (null != 0)
			close(null);
	}
	if ((o->out_fd > 0 && dup2(o->out_fd, 1) < 0) || (o->err_fd > 0 && dup2(o->err_fd, 2) < 0))
		_exit(127);
	if (o->child && o->child(o->child_arg) != 0)
		_exit(127);
	char *const *env = o->env ? o->env : environ;
	const char *path = o->path ? o->path : argv[0];
	if (o->search)
		execvpe(path, argv, env);
	else
		execve(path, argv, env);
	const char *why = strerror(errno);
	const char *parts[] = {"gg: cannot run ", path, ": ", why, "\n"};
	for (size_t i = 0; i < GG_ARRAY_LEN(parts); i++)
		if (write(2, parts[i], strlen(parts[i])) < 0)
			break;
	_exit(127);
}

int spawn_start(char *const argv[], const struct spawn_opts *o, pid_t *pid)
{
	static const struct spawn_opts none = {0};
	if (!o)
		o = &none;
	if (o->child) {
		fflush(NULL);
		pid_t p = fork();
		if (p < 0)
			return gg_error_errno("cannot run %s: fork", o->path ? o->path : argv[0]);
		if (p == 0)
			child_exec(argv, o);
		if (own_group(o))
			setpgid(p, p); /* also here: the group exists when we return */
		*pid = p;
		return 0;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	if (!o->inherit_stdin)
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (o->out_fd > 0)
		posix_spawn_file_actions_adddup2(&fa, o->out_fd, 1);
	if (o->err_fd > 0)
		posix_spawn_file_actions_adddup2(&fa, o->err_fd, 2);
	posix_spawnattr_init(&attr);
	sigset_t empty, all;
	sigemptyset(&empty);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setsigdefault(&attr, &all);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (own_group(o)) {
		posix_spawnattr_setpgroup(&attr, 0);
		flags |= POSIX_SPAWN_SETPGROUP;
	}
	posix_spawnattr_setflags(&attr, flags);
	char *const *env = o->env ? o->env : environ;
	const char *path = o->path ? o->path : argv[0];
	int e = o->search ? posix_spawnp(pid, path, &fa, &attr, argv, env)
	                  : posix_spawn(pid, path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e) {
		errno = e;
		return gg_error_errno("cannot run %s", path);
	}
	return 0;
}

int spawn_wait(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return gg_error_errno("waiting for process %d", (int)pid);
	return 0;
}

/* Whether the program is to be cut short: the reason is then set (end_group
 * kills it). */
static bool cut_short(const struct spawn_opts *o, const char *prog, uint64_t t0)
{
	if (o->deadline_ms && (now_ns() - t0) / 1000000 >= o->deadline_ms)
		gg_fail(GG_ELIMIT, "%s did not end within %g s: killed", prog,
		        (double)o->deadline_ms / 1000);
	else if (o->stop && o->stop(o->stop_arg))
		gg_fail(GG_ECANCELLED, "%s cancelled; killed", prog);
	else
		return false;
	return true;
}

/* Kills the program, with its process group when it leads one, and reaps
 * it; the error set before is kept. Every way a capture cuts a program
 * short ends here. */
static void end_group(const struct spawn_opts *o, pid_t pid)
{
	if (own_group(o))
		kill(-pid, SIGKILL); /* the group outlives its leader until it is reaped */
	kill(pid, SIGKILL);
	struct gg_error_saved why;
	gg_error_save(&why);
	int st;
	spawn_wait(pid, &st); /* SIGKILL: it ends at once */
	gg_error_restore(&why);
}

/* How long to wait for the pipe or the process before asking cut_short
 * again (-1: for ever). */
static int wait_ms(const struct spawn_opts *o, uint64_t t0)
{
	int ms = -1;
	if (o->deadline_ms) {
		uint64_t spent = (now_ns() - t0) / 1000000;
		uint64_t left = spent < o->deadline_ms ? o->deadline_ms - spent : 0;
		ms = left > INT32_MAX ? INT32_MAX : (int)left;
	}
	if (o->stop && (ms < 0 || ms > STOP_POLL_MS))
		ms = STOP_POLL_MS;
	return ms;
}

int spawn_capture(char *const argv[], const struct spawn_opts *o, struct buf *out, size_t max,
                  int *status)
{
	struct spawn_opts so = o ? *o : (struct spawn_opts){0};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return gg_error_errno("cannot run %s: pipe", argv[0]);
	so.inherit_stdin = false;
	so.out_fd = so.err_fd = p[1];
	uint64_t t0 = now_ns();
	pid_t pid;
	int r = spawn_start(argv, &so, &pid);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return -1;
	}
	bool over = false, cut = false;
	char chunk[1 << 14];
	int fd = p[0];
	while (fd >= 0 && !cut) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n = poll(&pf, 1, wait_ms(&so, t0));
		if (n < 0 && errno != EINTR) {
			gg_error_errno("%s: waiting for its output", argv[0]);
			cut = true;
			break;
		}
		if (n > 0) {
			ssize_t k = read(fd, chunk, sizeof chunk);
			if (k == 0 || (k < 0 && errno != EINTR)) {
				close(fd);
				fd = -1;
				break;
			}
			if (k > 0 && out->len + (size_t)k > max)
				over = true; /* read on, so that the program can end */
			else if (k > 0)
				buf_add(out, chunk, (size_t)k);
		}
		/* also after output: a program that writes for ever is cut short too */
		cut = cut_short(&so, argv[0], t0);
	}
	if (fd >= 0)
		close(fd);
	/* the output is closed; the program may still run (it closed its stdout) */
	while (!cut && own_group(&so)) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) /* not ours to reap, nor to kill: gone */
			return gg_error_errno("%s: waiting for process %d", argv[0], (int)pid);
		cut = cut_short(&so, argv[0], t0);
		if (cut)
			break;
		int ms = wait_ms(&so, t0);
		struct timespec ts = {0, (ms < 0 || ms > 10 ? 10 : ms) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (cut) {
		end_group(&so, pid);
		return -1;
	}
	if (!own_group(&so) && spawn_wait(pid, status) < 0)
		return gg_error("%s: %s", argv[0], gg_last_error());
	if (over)
		return gg_error("%s: its output is larger than %zu bytes", argv[0], max);
	return 0;
}

void signals_catch(const int *sigs, size_t n, void (*handler)(int), struct sigaction *old)
{
	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < n; i++) {
		if (sigaction(sigs[i], NULL, &old[i]) == 0 && old[i].sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, &old[i]);
	}
}

void signals_restore(const int *sigs, size_t n, const struct sigaction *old)
{
	for (size_t i = 0; i < n; i++)
		sigaction(sigs[i], &old[i], NULL);
}

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* Blocks SIGINT, SIGTERM and SIGHUP across a fork, so that neither side
 * runs the caller's handler before it has chosen its own; *old is the mask
 * to put back. */
static void hold_stop_signals(sigset_t *old)
{
	sigset_t held;
	sigemptyset(&held);
	for (size_t i = 0; i < GG_ARRAY_LEN(stop_signals); i++)
		sigaddset(&held, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &held, old);
}

/* In a child made with the stop signals held: drops those that arrived
 * meanwhile (sent to the process group it has just left: the caller's). */
static void drop_held_stop_signals(void)
{
	sigset_t pending, one;
	struct timespec now = {0, 0};
	sigpending(&pending);
	for (size_t i = 0; i < GG_ARRAY_LEN(stop_signals); i++) {
		if (sigismember(&pending, stop_signals[i]) != 1)
			continue;
		sigemptyset(&one);
		sigaddset(&one, stop_signals[i]);
		sigtimedwait(&one, NULL, &now);
	}
}

int daemon_fork(const char *prog, int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return gg_error_errno("cannot start the daemon");
	sigset_t mask;
	hold_stop_signals(&mask);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &mask, NULL);
		close(p[0]);
		close(p[1]);
		errno = e;
		return gg_error_errno("cannot start the daemon");
	}
	if (pid > 0) {
		close(p[1]);
		/* The caller's handlers (a cancel token shared with the child)
		 * are not this waiting process's: Ctrl-C ends the wait only,
		 * and the daemon, in its own session, carries on as after
		 * fuse_daemonize. A signal the caller was started ignoring
		 * stays ignored. */
		struct sigaction replaced[GG_ARRAY_LEN(stop_signals)];
		signals_catch(stop_signals, GG_ARRAY_LEN(stop_signals), SIG_DFL, replaced);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		char buf[4096];
		size_t n = 0;
		ssize_t r;
		while (n < sizeof buf - 1 && ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0 ||
		                              (r < 0 && errno == EINTR))) {
			if (r > 0)
				n += (size_t)r;
			if (n > 0 && buf[0] == 0)
				_exit(0); /* serving */
		}
		buf[n] = 0;
		fprintf(stderr, "%s: %s\n", prog,
		        n > 1 ? buf + 1 : "the daemon ended during its set-up (see its log)");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0) {
		/* as fuse_daemonize: neither can fail here */
	}
	drop_held_stop_signals();
	sigprocmask(SIG_SETMASK, &mask, NULL);
	*ready_fd = p[1];
	return 0;
}

pid_t watcher_fork(const int *keep, int n)
{
	fflush(NULL);
	sigset_t old;
	hold_stop_signals(&old);
	pid_t pid = fork();
	if (pid != 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = e;
		return pid < 0 ? gg_error_errno("cannot start a watcher process") : pid;
	}
	/* A group of its own: a key the terminal sends the parent's group
	 * (Ctrl-\ is SIGQUIT) must not end both at once. */
	setpgid(0, 0);
	default_all_signals();
	/* (ignoring also drops any of them held since the fork) */
	for (size_t i = 0; i < GG_ARRAY_LEN(stop_signals); i++)
		signal(stop_signals[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	int k[8] = {0, 1, 2};
	int nk = 3;
	for (int i = 0; i < n && nk < (int)GG_ARRAY_LEN(k); i++)
		k[nk++] = keep[i];
	close_fds_except(k, nk);
	return 0;
}

void daemon_ready(int *ready_fd, const char *error)
{
	if (*ready_fd < 0)
		return;
	char *msg = xasprintf("%c%s", error ? 1 : 0, error ? error : "");
	size_t len = strlen(msg + 1) + 1;
	if (write(*ready_fd, msg, len) < 0) {
		/* the parent is gone: nobody to tell */
	}
	free(msg);
	close(*ready_fd);
	*ready_fd = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}
