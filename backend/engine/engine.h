/**
 * @file engine.h
 * Making execution engines: the local sandboxed engine, and remote ones
 * (HTTP functions, AWS Lambda, Slurm), each filling in the executor
 * contract (core/executor.h). Adding an engine is adding one file that
 * fills in one table and registers a constructor in engine.c. The caller
 * (the gg command, the mount) makes the engines, hands them to the
 * scheduler and destroys them after it.
 */
#ifndef GG_ENGINE_H
#define GG_ENGINE_H

#include "core/executor.h"
#include "core/store.h"

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
/* Parses "[N:]SPEC [N:]SPEC..." ($GG_ENGINE) and appends to *v, of *n
 * elements and room for *cap (ALLOC_GROW); what it appended before an error
 * stays, for engine_specs_free. The error does not name GG_ENGINE: the
 * caller knows where the list came from. */
int engine_specs_parse(const char *list, struct engine_spec **v, size_t *n, size_t *cap);
void engine_specs_free(struct engine_spec *v, size_t n);
/* Creates every engine; on failure destroys those made and names the spec. */
int engine_create_all(const struct engine_spec *specs, size_t n, const struct engine_config *cfg,
                      struct engine ***out);
/* The engines $GG_ENGINE names; when it is unset or empty, one local engine
 * with `jobs` slots (0 = the number of CPUs). */
int engine_create_from_env(const struct engine_config *cfg, int jobs, struct engine ***out,
                           size_t *n);
/* Destroys n engines and frees the array (as made by the calls above). */
void engines_destroy(struct engine **v, size_t n);
/* Whether work sent to this engine starts at once (worth speculative copies). */
bool engine_starts_at_once(const struct engine *e);

/* The local sandboxed engine (engine_local.c). */
int engine_local_create(int limit, const struct engine_config *cfg, struct engine **out);

#endif
