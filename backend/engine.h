/**
 * @file engine.h
 * Execution engines behind one small table of functions (like
 * fuse_lowlevel_ops or sqlite3_vfs): the local sandboxed engine, and remote
 * ones (HTTP functions, AWS Lambda, Slurm). Adding an engine is adding one
 * file that fills in one table and registers a constructor in engine.c.
 *
 * The scheduler submits reduced thunks (every input a value) and gets each
 * job back exactly once through engine->done, from any thread. An engine
 * never blocks in submit: it queues, starts a transfer, or hands the job to
 * its own threads or event loop.
 */
#ifndef GG_ENGINE_H
#define GG_ENGINE_H

#include "exec.h"
#include "store.h"
#include "thunk.h"

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
	void *owner;               /* the scheduler's */
};

struct engine_ops {
	const char *name;
	/* false with *why set (malloc'd) when this engine cannot run the thunk,
	 * e.g. its inputs exceed the engine's size limit. */
	bool (*can_execute)(struct engine *e, const struct thunk *t, char **why);
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
	/* Set by the scheduler before the first submit: */
	void (*done)(struct engine_job *job);
	void *priv_sched; /* the scheduler's */
	void *priv;       /* the engine's state */
};

/* Shared settings for engines that need them. */
struct engine_config {
	struct store *store;
	struct exec_opts exec;
	const char *storage_uri; /* for remote engines; NULL = $GG_STORAGE */
	/* The local engine runs this instead of exec_thunk when set (tests, benchmarks). */
	int (*execute)(void *ctx, struct store *s, const struct thunk *t, const struct exec_opts *o,
	               struct exec_result *r);
	void *execute_ctx;
};

/*
 * Creates an engine from a spec: "local", "http=URL", "lambda=FUNCTION[@REGION]",
 * "slurm[=PARTITION]". limit is how many jobs it runs at once (0 = default).
 */
int engine_create(const char *spec, int limit, const struct engine_config *cfg,
                  struct engine **out);
void engine_destroy(struct engine *e);

/* An engine named on a command line or in $GG_ENGINE, with its limit. */
struct engine_spec {
	char *spec;
	int limit; /* 0 = the engine's default */
};
/* Checks that the spec names a known engine (without creating it). */
int engine_spec_check(const char *spec);
/* Parses "[N:]SPEC [N:]SPEC..." ($GG_ENGINE) and appends to *v. */
int engine_specs_parse(const char *list, struct engine_spec **v, size_t *n);
/* Creates every engine; on failure destroys those made and names the spec. */
int engine_create_all(const struct engine_spec *specs, size_t n, const struct engine_config *cfg,
                      struct engine ***out);
/* The engines $GG_ENGINE names (none when it is unset or empty). */
int engine_create_from_env(const struct engine_config *cfg, struct engine ***out, size_t *n);
/* Whether work sent to this engine starts at once (worth speculative copies). */
bool engine_starts_at_once(const struct engine *e);

/* The local sandboxed engine (engine_local.c). */
int engine_local_create(int limit, const struct engine_config *cfg, struct engine **out);

#endif
