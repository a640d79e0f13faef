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

#include "cancel.h"
#include "store.h"
#include "thunk.h"

struct exec_opts {
	bool no_isolation;           /* run in plain-directory mode */
	uint64_t default_timeout_ms; /* for thunks whose timeout is 0; 0 = none */
	bool keep_dir;               /* leave the directory (debugging) */
	/* Fired: the program is killed, and the thunk fails as cancelled. */
	const struct gg_cancel *cancel;
};

enum exec_outcome {
	EXEC_OK,             /* exited 0 and produced every output */
	EXEC_PROGRAM_FAILED, /* non-zero exit, signal, timeout or a missing output: not retried */
};

struct exec_result {
	enum exec_outcome outcome;
	int wait_status;
	bool timed_out, isolated;
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
