/**
 * @file scheduler.h
 * The scheduler: forces references to thunk outputs.
 *
 * A request for "T#OUTPUT" loads T's graph from the store, consults the memo
 * before running anything, runs ready thunks on the engines it is given and
 * calls back with the output's value name. A thunk whose output is itself a
 * thunk (a dynamic graph) is forced in turn. Each thunk runs at most once per
 * scheduler however many requests ask, and at most once per store across
 * processes (a flock per thunk, then the memo is checked again).
 *
 * A dynamic graph that loops (a thunk that outputs itself, or thunks that
 * output or wait for each other) fails at once with an error naming the
 * thunks of the loop, as does one deeper than max_dynamic_depth.
 *
 * Failures: a program that fails is never retried; infrastructure failures
 * (cannot materialise, cannot start) are retried max_retries times with
 * backoff. Without keep_going the first failure stops everything not yet
 * started. A failed thunk is forgotten, so a later request tries again.
 *
 * Thread-safety: all functions may be called from any thread. Callbacks run
 * on a scheduler thread (or on the caller's, when the answer is known at
 * once), never with the scheduler's lock held.
 */
#ifndef GG_SCHED_H
#define GG_SCHED_H

#include "core/cancel.h"
#include "core/exec.h"
#include "core/executor.h"
#include "core/store.h"

/* What a placeholder's state and size say (memo_resolve) follows as far. */
#define SCHED_MAX_DYNAMIC_DEPTH MEMO_CHAIN_MAX

struct sched_opts {
	bool keep_going; /* go on with everything that does not depend on a failure */
	int max_retries; /* for infrastructure failures; -1 = default (3) */
	/* How many thunks output by thunks one reference may follow before it
	 * fails as too deep; 0 = SCHED_MAX_DYNAMIC_DEPTH. */
	size_t max_dynamic_depth;
	/* When it fires, nothing new starts, running jobs are asked to stop,
	 * and every reference not yet answered fails with "cancelled". */
	struct gg_cancel *cancel;
	const char *trace_path; /* Chrome trace-event JSON, written by sched_free */
	bool progress;          /* live status line on stderr (only if it is a terminal) */
	struct exec_opts exec;
	/*
	 * Engines to run thunks on (at least one), tried in order for each
	 * ready thunk: the first that can run it and has a free slot gets it.
	 * The caller makes them (backend/engine/engine.h) and destroys them after
	 * sched_free; the scheduler does not own them.
	 */
	struct engine **engines;
	size_t nengines;
	/* Speculative duplicates of stragglers: a job running longer than
	 * speculate_ms (0 = 4x the median run time so far, at least 2 s) gets a
	 * second copy on a free slot; the first result wins. */
	bool speculate;
	uint64_t speculate_ms;
	/* Called when a thunk goes to a later engine because earlier ones
	 * cannot run it. This and on_retry and on_failure are called without
	 * the scheduler's lock (they may print or log, and block), one at a
	 * time, from any thread. */
	void (*on_fallback)(void *arg, const char *thunk, const char *engine, const char *why);
	void *fallback_arg;
	/* Called (as on_fallback) when an attempt failed for a reason outside
	 * the program and the thunk will be tried again. */
	void (*on_retry)(void *arg, const char *thunk, const char *engine, int attempt,
	                 const char *why);
	/* Called (without the lock) when a thunk ran and its program wrote on
	 * stderr: stderr_value names those bytes (kept with its memo entry).
	 * Not called for memo hits. */
	void (*on_stderr)(void *arg, const char *thunk, const struct gg_name *stderr_value);
	/* Called (as on_fallback) when a thunk fails, once per failure: not
	 * again for what depends on it (they fail with the same message), nor
	 * for what a stop after the first failure withdraws. msg lives until
	 * sched_free, and is the pointer the failed outcomes' error carry. */
	void (*on_failure)(void *arg, const char *msg);
	/*
	 * A shared action cache (backend/storage/remote_cache.h), or NULL. remote_lookup
	 * is asked after a miss of the local memo, for a thunk as it is loaded
	 * and again for the reduced thunk before it runs: 1 and *out when its
	 * outputs are now in the store (verified), else 0. It must be
	 * thread-safe: it is called without the scheduler's lock as a thunk is
	 * loaded, and with it held at a run's start (that lookup holds up the
	 * scheduler).
	 * remote_publish is told (without the lock) of every thunk that ran and
	 * succeeded, under its name and the reduced one.
	 */
	int (*remote_lookup)(void *arg, const struct gg_name *thunk, struct memo *out);
	void (*remote_publish)(void *arg, const struct gg_name *thunk,
	                       const struct gg_name *reduced, const struct memo *m);
	void *remote_arg;
};

struct sched_outcome {
	int status;           /* 0 ok, -1 failed */
	struct gg_name value; /* the forced value */
	bool exec;            /* the output's executable bit */
	bool link;            /* a symbolic link: the value is its target (store.h) */
	const char *error;    /* when failed: what failed, its command, status and stderr tail */
	enum gg_code code;    /* when failed: what kind of failure (GG_EPROGRAM, ...) */
};

typedef void (*sched_done_fn)(void *arg, const struct sched_outcome *o);

struct sched;

int sched_new(struct store *s, const struct sched_opts *o, struct sched **out);
/* Waits for running thunks, writes the trace, frees everything. */
void sched_free(struct sched *s);

/* Asks for a reference; fn is called exactly once, never inside this call:
 * the scheduler's loader thread loads the graph (the caller's thread reads
 * nothing from the store). */
void sched_force_async(struct sched *s, const struct gg_ref *ref, sched_done_fn fn, void *arg);

/*
 * sched_force_async for an asker who may stop waiting: once `cancel` has
 * fired and sched_withdraw_cancelled has been called, fn is called with
 * "cancelled" (GG_ECANCELLED) if it was not called before. The token must
 * live until fn is called.
 */
void sched_force_async_cancel(struct sched *s, const struct gg_ref *ref, sched_done_fn fn,
                              void *arg, const struct gg_cancel *cancel);
/*
 * Answers every request whose token has fired with "cancelled", and stops
 * what nobody waits for any more: a thunk that no other request needs,
 * directly or through the thunks waiting for it, is not started, and a
 * running one is killed (if it is asked for again before it is gone, it
 * runs again). What another request still needs goes on. (A mount calls it
 * when the last reader of a forced file is killed: FUSE_INTERRUPT.)
 */
void sched_withdraw_cancelled(struct sched *s);

/* Forces n references and waits; outs[i].error stays valid until sched_free.
 * Returns the number that failed. */
size_t sched_force_all(struct sched *s, const struct gg_ref *refs, size_t n,
                       struct sched_outcome *outs);

/* A copy of msg that lives until sched_free, for outcomes made outside the
 * scheduler (e.g. a forced value that could not be delivered). */
const char *sched_keep_message(struct sched *s, const char *msg);

/* Leaves the status line (if one is drawn) as its final state on its own
 * line and draws no more, so that what the caller prints next comes out
 * whole below it. */
void sched_progress_end(struct sched *s);

struct sched_stats {
	size_t queued, running, executed, cached, failed, speculated, retried;
	size_t remote; /* of cached: from the shared cache */
	double cost;   /* estimated, from engines' cost_per_second */
};
void sched_get_stats(struct sched *s, struct sched_stats *st);

/* The status line's estimate of the seconds left, after elapsed seconds,
 * for the known thunks not yet finished: each is taken to cost what an
 * executed (or failed) one has cost so far; memo hits cost nothing, so
 * they do not make the rest look quick. Negative when there is no ground
 * for one yet (fewer than 3 executed, or nothing left). */
double sched_estimate_left(const struct sched_stats *st, size_t known, double elapsed);

/* State of a reference without forcing, followed through a dynamic graph
 * to its value (memo_resolve): forced when that value is known, running
 * while a thunk on the way runs here. A failure is not remembered (a
 * failed node is buried: the next request runs it afresh), so a thunk whose
 * last force failed is unforced here; the mount keeps its own word of it. */
enum sched_state { SCHED_UNFORCED, SCHED_RUNNING, SCHED_FORCED };
enum sched_state sched_state_of(struct sched *s, const struct gg_ref *ref);

#endif
