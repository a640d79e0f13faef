/**
 * @file sandbox.h
 * Runs one process hermetically in a prepared directory.
 *
 * The directory ROOT already holds exactly the thunk's inputs (read-only hard
 * links). sandbox_run() starts the program in new user, mount, pid, net, ipc
 * and uts namespaces with ROOT as its root directory: no network (only a
 * loopback interface that is down), nothing outside ROOT visible except an
 * empty /tmp (tmpfs) and /dev/null, /dev/zero, /dev/urandom — each added only
 * when no input path claims that name. stdin is /dev/null; stdout and stderr
 * go to the given files (on the host). The program runs with cwd "/" (= ROOT)
 * and exactly the given argv and env. rlimits and the timeout are enforced;
 * on timeout the whole pid namespace is killed. Given a control group (see
 * cgroup.h), its first process joins it before anything runs (so all of the
 * run is in it), and a fork failing at its process limit ends the run.
 *
 * When ggfs/gg runs as root, the sandbox's root user maps to an unprivileged
 * id outside (65534), and ROOT is made writable for that id.
 *
 * Where namespaces cannot be created (e.g. inside a container that forbids
 * them), sandbox_run says so once on stderr and runs the program with ROOT as
 * its cwd instead (result->isolated == false). exe is relative to ROOT.
 */
#ifndef GG_SANDBOX_H
#define GG_SANDBOX_H

#include "core/cancel.h"
#include "core/cgroup.h"

#include <stdbool.h>
#include <stdint.h>

struct sandbox_spec {
	const char *root;                /* host path of the prepared directory */
	const char *exe;                 /* relative to root */
	char *const *argv;               /* NULL-terminated */
	char *const *env;                /* NULL-terminated, the complete environment */
	uint64_t timeout_ms;             /* 0 = none */
	const char *stdout_path;         /* host path, created/truncated */
	const char *stderr_path;         /* host path, created/truncated */
	uint64_t max_output;             /* RLIMIT_FSIZE for files it writes; 0 = default 16 GiB */
	uint64_t max_memory;             /* RLIMIT_AS; 0 = no limit */
	uint64_t max_procs;              /* RLIMIT_NPROC inside; 0 = default 4096 */
	const struct cgroup_run *cgroup; /* NULL or one with version 0: none */
	bool no_isolation;               /* force the plain-directory mode (tests, workers) */
	const struct gg_cancel *cancel;  /* fired: kill the program (result->cancelled) */
	/* Files shown read-only (isolated runs only; a plain-mode run with any
	 * is refused): host file bind_src[i] bind-mounted over the existing
	 * file root/bind_dst[i] (relative), then made read-only. The program
	 * can neither write nor remove them, and bind_src's inode is not
	 * touched (a hard link would change its ctime). */
	const char *const *bind_src, *const *bind_dst;
	size_t nbinds;
	/* When not NULL, bind_id[i] is the inode bind_src[i] was checked as:
	 * if the bind shows another (the path was given to another file in
	 * between), the run fails saying so instead of showing it. */
	const struct sandbox_file_id *bind_id;
};

/* A file's identity, as stat(2) gives it. */
struct sandbox_file_id {
	dev_t dev;
	ino_t ino;
};

struct sandbox_result {
	int wait_status; /* as from waitpid(), of the program */
	bool timed_out;
	bool cancelled;       /* killed because cancel_fd became readable */
	bool procs_limit;     /* killed because a fork failed at the cgroup's process limit */
	bool isolated;        /* false if it ran in plain-directory mode */
	int leftovers;        /* processes it left running, ended after it exited */
	bool supervisor_lost; /* plain mode: its supervisor died before reporting (the
	                       * program, running as us, may have killed it) */
	int exec_errno;       /* when sandbox_run fails because execve failed: its errno */
	uint64_t wall_ns, cpu_ns;
};

/*
 * Returns 0 when the program was started and waited for (whatever its exit
 * status), or -1 with gg_last_error() set when it could not be run at all
 * (an infrastructure failure the scheduler may retry; e.g. exec failed).
 */
int sandbox_run(const struct sandbox_spec *spec, struct sandbox_result *result);

/* Whether namespaces work here (probed once, cached). */
bool sandbox_available(void);
/* Why they do not (the probe's failing step and errno); "" when they do. */
const char *sandbox_unavailable_reason(void);
/* Whether isolated runs can bind inputs read-only (spec->bind_src): the
 * probe binds one; where it cannot, runs are still isolated, with hard
 * links. Why not; "" when they can. */
bool sandbox_binds_available(void);
const char *sandbox_binds_unavailable_reason(void);

/*
 * Without a pid namespace nothing contains what a program starts: a process
 * it detaches (setsid, a double fork) would outlive the run. So in plain
 * mode each run's supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER):
 * every such process stays its descendant instead of becoming init's, and
 * when the program exits (or gg dies) the supervisor kills and reaps them
 * all, before sandbox_run returns (result->leftovers says how many).
 *
 * The same two steps serve a process that runs thunks one after another
 * with nothing around it (gg worker under Lambda), as a net for a
 * supervisor the program itself killed: sandbox_adopt_leftovers() once
 * makes it a child subreaper; between runs, when it has no child of its
 * own, sandbox_kill_leftovers() kills all its children with SIGKILL and
 * reaps them, and what they leave in turn, until none is left. It returns
 * how many it ended, or -1 with an error when some are still there after
 * timeout_ms.
 */
int sandbox_adopt_leftovers(void);
int sandbox_kill_leftovers(uint64_t timeout_ms);

#endif
