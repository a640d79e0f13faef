/**
 * @file process.h
 * The one place that starts programs (fork and exec), for everything but the
 * sandbox (core/sandbox.c, which needs its own clone with namespaces): the
 * closure's library lists, Slurm's sbatch/squeue/scancel, the models' real
 * tools, the build under `gg infer`. The child's signal mask is emptied and
 * every signal set back to its default (a parent's SIG_IGN is not inherited).
 * Also the one fork without exec: becoming a daemon (ggfs); and the one way
 * a command catches the stop signals (signals_catch).
 */
#ifndef GG_PROCESS_H
#define GG_PROCESS_H

#include "core/util.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct spawn_opts {
	const char *path;   /* the program; NULL: argv[0] */
	bool search;        /* look it up on $PATH when it has no '/' */
	char *const *env;   /* NULL: this process's environment */
	bool inherit_stdin; /* else stdin is /dev/null */
	int out_fd, err_fd; /* made the child's stdout / stderr; 0: inherited */
	/* Run in the child before exec (then the child is made with fork, and
	 * a failure to exec is said on its stderr, with exit status 127): 0, or
	 * nonzero to exit 127 at once (it says why itself). */
	int (*child)(void *arg);
	void *child_arg;
	/* spawn_capture only. deadline_ms: a program still running this long
	 * after its start is killed, with every process of its group (it is made
	 * the leader of a new one, so that a script's children go too, and none
	 * of them keeps the output pipe open), and reaped; the call fails with
	 * GG_ELIMIT, naming it and the limit. stop: asked every 50 ms while the
	 * program runs; true kills it alike, and the call fails with
	 * GG_ECANCELLED. 0 and NULL: the program is waited for however long. */
	uint64_t deadline_ms;
	bool (*stop)(void *arg);
	void *stop_arg;
};

/* Starts the program (o->path or argv[0]) with argv; 0 with *pid set, or -1 with the error set
 * ("cannot run PROGRAM: why"). With a deadline_ms or a stop the program leads a process group
 * of its own (its pid). */
int spawn_start(char *const argv[], const struct spawn_opts *o, pid_t *pid);
/* waitpid, retried on EINTR: 0 with the wait status, or -1. */
int spawn_wait(pid_t pid, int *status);
/*
 * Runs argv to its end with stdout and stderr into out (stdin /dev/null):
 * 0 with its wait status, or -1 with the error set. Output beyond max bytes
 * is an error (after the program has ended), never cut short silently.
 */
int spawn_capture(char *const argv[], const struct spawn_opts *o, struct buf *out, size_t max,
                  int *status);

/*
 * Puts handler on each of the n signals sigs, except on one the process was
 * started ignoring (nohup; a background job of a script ignores SIGINT):
 * that stays ignored, as libfuse and the shells leave it (ggfs, whose FUSE
 * loop libfuse's own handlers end; gg force for SIGHUP only). old[i] receives
 * the action in place before (SIG_IGN for a signal left ignored), for
 * signals_restore or for chaining.
 */
void signals_catch(const int *sigs, size_t n, void (*handler)(int), struct sigaction *old);
void signals_restore(const int *sigs, size_t n, const struct sigaction *old);

/*
 * Becomes a daemon, as fuse_daemonize (a new session, the working directory
 * /), except that the parent waits for the daemon's set-up and exits with
 * its outcome: 0 once daemon_ready(fd, NULL) is called, or 1 after printing
 * "PROG: ERROR" on stderr for daemon_ready(fd, ERROR) (or saying that the
 * daemon died, if it ends first). SIGINT, SIGTERM and SIGHUP end only the
 * wait (their default action in the parent, unless it was started ignoring
 * them); the daemon, in a session of its own, goes on. They are held across
 * the fork: the caller's handlers run on neither side, and those sent to
 * the caller's process group meanwhile do not reach the daemon. Returns in
 * the child only: 0 with *ready_fd set, or -1 (the fork failed: no child;
 * the caller goes on).
 */
int daemon_fork(const char *prog, int *ready_fd);

/*
 * In the daemon: tells the waiting parent that the set-up is done (error
 * NULL) or why it failed (call it once the failure's traces, e.g. a mount,
 * are gone: the parent then exits at once), and points stdin, stdout and
 * stderr at /dev/null.
 * Only the first call does anything (*ready_fd is then -1), so error paths
 * may call it after success.
 */
void daemon_ready(int *ready_fd, const char *error);

/*
 * Starts a watcher: a child that runs on in this program's code, without
 * exec. In the child the signal mask is empty, every signal has its default
 * action except SIGINT, SIGTERM and SIGHUP, which are ignored (a Ctrl-C to
 * the process group is the parent's to act on), stdin, stdout and stderr are
 * /dev/null, and every other descriptor is closed but the n (at most 5) in
 * keep. Those three signals are blocked across the fork, so that none runs
 * the parent's handlers in the child. Returns the child's pid in the parent,
 * 0 in the child, or -1 with the error set (no child).
 */
pid_t watcher_fork(const int *keep, int n);

/*
 * Closes every descriptor except the (at most 8) listed ones (negative ones
 * are ignored). Async-signal-safe: raw system calls only, for a child
 * between fork (or clone) and exec.
 */
void close_fds_except(const int *keep, int n);

#endif
