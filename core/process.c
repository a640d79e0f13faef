/**
 * @file process.c
 * Starting programs (see process.h): posix_spawn when nothing is to run in the
 * child, else fork, the hook, and exec.
 */
#include "core/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void child_exec(char *const argv[], const struct spawn_opts *o)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP, ... */
	sigprocmask(SIG_SETMASK, &none, NULL);
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
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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

int spawn_capture(char *const argv[], const struct spawn_opts *o, struct buf *out, size_t max,
                  int *status)
{
	struct spawn_opts so = o ? *o : (struct spawn_opts){0};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return gg_error_errno("cannot run %s: pipe", argv[0]);
	so.inherit_stdin = false;
	so.out_fd = so.err_fd = p[1];
	pid_t pid;
	int r = spawn_start(argv, &so, &pid);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return -1;
	}
	bool over = false;
	char chunk[1 << 14];
	for (;;) {
		ssize_t k = read(p[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out->len + (size_t)k > max)
			over = true; /* read on, so that the program can end */
		else
			buf_add(out, chunk, (size_t)k);
	}
	close(p[0]);
	if (spawn_wait(pid, status) < 0)
		return gg_error("%s: %s", argv[0], gg_last_error());
	if (over)
		return gg_error("%s: its output is larger than %zu bytes", argv[0], max);
	return 0;
}
