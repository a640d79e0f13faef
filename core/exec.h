/**
 * @file exec.h
 * Executes one reduced thunk (every input a value) on this machine by the
 * execution contract: a fresh directory under .gg/tmp holding exactly the
 * inputs (read-only hard links from the store) and the output directories,
 * the program run by the sandbox, then every declared output opened beneath
 * the directory's descriptor (never through a link; refused unless a regular
 * file of its own) and stored from that descriptor; the directory is removed
 * by descriptors too. Used by the local engine and by the worker.
 */
#ifndef GG_EXEC_H
#define GG_EXEC_H

#include "core/cancel.h"
#include "core/store.h"
#include "core/thunk.h"

/* A limit value meaning "no limit". */
#define EXEC_NO_LIMIT UINT64_MAX

/*
 * Per-thunk limits. Memory and processes are enforced by a control group per
 * run (cgroup.h); where none can be made, by rlimits: RLIMIT_NPROC (which
 * does nothing for root) and, only for a memory limit set explicitly,
 * RLIMIT_AS (which breaks sanitizers and runtimes that reserve address
 * space). A thunk stopped by one fails naming the limit and its peak.
 */
struct exec_limits {
	uint64_t memory;     /* bytes; 0 = default (half the RAM) */
	uint64_t procs;      /* processes and threads; 0 = default (4096) */
	uint64_t timeout_ms; /* for thunks whose timeout is 0; 0 = default (1 hour) */
};

/*
 * The limits from $GG_MEMORY_LIMIT (a size: 512M, 2G, or "none"),
 * $GG_PROCESS_LIMIT (a count or "none") and $GG_TIMEOUT (seconds or "none");
 * unset variables leave *l as it is. -1 with an error naming the variable.
 */
int exec_limits_from_env(struct exec_limits *l);
/* Parses one limit value as those variables do (what: "memory", "process"
 * or "timeout"); -1 with an error naming `name`. */
int exec_limit_parse(const char *what, const char *name, const char *value, uint64_t *out);

struct exec_opts {
	bool no_isolation;           /* run in plain-directory mode */
	uint64_t default_timeout_ms; /* for thunks whose timeout is 0; 0 = limits.timeout_ms */
	struct exec_limits limits;
	bool keep_dir; /* leave the directory (debugging) */
	/* Fired: the program is killed, and the thunk fails as cancelled. */
	const struct gg_cancel *cancel;
	/* now_ns() time by which the program must be stopped, whatever the
	 * thunk's timeout (0: none): the deadline of what carried the request
	 * (a Lambda invocation). A run stopped by it, or not started because it
	 * had passed, fails with deadline_hit set: not the thunk's failure. */
	uint64_t deadline_ns;
};

enum exec_outcome {
	EXEC_OK,             /* exited 0 and produced every output */
	EXEC_PROGRAM_FAILED, /* non-zero exit, signal, timeout or a missing output: not retried */
};

struct exec_result {
	enum exec_outcome outcome;
	int wait_status; /* how the program ended, when has_status */
	bool has_status; /* it ran and ended (not: could not be executed, changed an input) */
	bool timed_out, isolated;
	bool limit_hit;    /* stopped at the memory or process limit (why says which) */
	bool deadline_hit; /* stopped at (or not started for) exec_opts.deadline_ns */
	int leftovers;     /* processes the program left running, ended after it (plain mode) */
	char *stderr_tail; /* last bytes of stderr (malloc'd, may be empty) */
	char *why;         /* for EXEC_PROGRAM_FAILED: one line saying what went wrong */
	struct memo outputs;
	/* phase boundaries (now_ns()): materialise, run, store outputs */
	uint64_t t_start, t_ran, t_run_end, t_end;
};

/*
 * Returns 0 with result->outcome set, or -1 for an infrastructure failure
 * (could not materialise, could not start the program, could not store):
 * such failures may be retried.
 */
int exec_thunk(struct store *s, const struct thunk *t, const struct exec_opts *o,
               struct exec_result *r);
void exec_result_free(struct exec_result *r);

#endif
