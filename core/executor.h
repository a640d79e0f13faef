/**
 * @file executor.h
 * The executor contract: what the scheduler needs of whatever runs thunks,
 * behind one small table of functions (like fuse_lowlevel_ops or
 * sqlite3_vfs). The engines themselves (local, HTTP functions, Lambda,
 * Slurm) live in backend/ and are made by the caller (backend/engine/engine.h),
 * which hands them to the scheduler (sched_opts.engines) and destroys them
 * after the scheduler is freed; the scheduler never creates one.
 *
 * The scheduler submits reduced thunks (every input a value) and gets each
 * job back exactly once through job->done, from any thread. An engine never
 * blocks in submit: it queues, starts a transfer, or hands the job to its
 * own threads or event loop. Each job carries its own completion callback,
 * so one engine may serve several schedulers one after the other.
 */
#ifndef GG_EXECUTOR_H
#define GG_EXECUTOR_H

#include "core/error.h"
#include "core/exec.h"
#include "core/thunk.h"

#include <stdbool.h>

struct engine;

struct engine_job {
	struct gg_name name; /* the reduced thunk's name */
	struct thunk *thunk; /* the reduced thunk; valid until done */
	struct engine *engine;
	/* Filled in by the engine before calling done: */
	int rc;                    /* 0: ran, see result; -1: infrastructure failure, see error */
	struct exec_result result; /* outputs are in the local store when rc == 0 and outcome OK */
	char *error;               /* malloc'd, when rc == -1 */
	enum gg_code code;         /* when rc == -1: GG_EREMOTE (or 0) is retried; a code
	                            * that cannot change on a retry (GG_EDENIED,
	                            * GG_EINVALID, GG_EUSAGE) is not */
	int slot;                  /* which of the engine's slots ran it (for the trace) */
	bool cancelled;            /* set by the scheduler: the result will be ignored */
	/* Set by the scheduler before submit: the engine calls done(job) exactly
	 * once, from any thread, and never touches the job afterwards. */
	void (*done)(struct engine_job *job);
	void *owner; /* the scheduler's */
	void *sched; /* the scheduler's */
};

struct engine_ops {
	const char *name;
	/* GG_OK when this engine can run the thunk; else why not, with *why set
	 * (malloc'd): GG_ELIMIT for the thunk against the engine's limits (its
	 * inputs exceed the size limit), GG_EREMOTE when the engine cannot run
	 * anything now (no worker answers). */
	enum gg_code (*can_execute)(struct engine *e, const struct thunk *t, char **why);
	/* Starts a job; returns at once. 0, or -1 if it could not even be queued. */
	int (*submit)(struct engine *e, struct engine_job *job);
	/* Best effort: stop a job whose result is no longer wanted (done is still called). */
	void (*cancel)(struct engine *e, struct engine_job *job);
	/* Waits for the engine's own threads; every submitted job has been done'd. */
	void (*destroy)(struct engine *e);
};

struct engine {
	const struct engine_ops *ops;
	char *label;            /* "local", "http", "lambda", "slurm"... */
	int limit;              /* jobs in flight at most */
	double cost_per_second; /* an estimate of what a second of execution costs (USD) */
	void *priv;             /* the engine's state */
};

#endif
