/**
 * @file engine_remote.h
 * What the remote engines share (not a public header). engine_remote.c is
 * the pipeline every remote job goes through:
 *
 *   submit -> upload the inputs storage lacks (a transfer thread)
 *          -> the transport carries the wire request to a worker
 *          -> the reply is checked, inline outputs stored, the others
 *             downloaded (a transfer thread) -> engine->done
 *
 * A transport only moves a request body to a worker and a reply body back:
 * engine_http.c (libcurl multi: the http and lambda engines) and
 * engine_slurm.c (sbatch, a request and a response file).
 *
 * Transport contract:
 *  - start() never blocks and never calls remote_call_done itself; the
 *    transport then calls remote_call_done(call) exactly once, from its own
 *    thread, without holding its own locks.
 *  - cancel() may be called at any time between start and remote_call_done
 *    (with the pipeline's lock held: it must only flag the call and wake the
 *    transport's thread); the call then ends soon, with an error.
 *  - destroy() runs after every started call has been done.
 */
#ifndef GG_ENGINE_REMOTE_H
#define GG_ENGINE_REMOTE_H

#include "backend/engine/engine.h"

#include <stdatomic.h>

struct remote_call {
	struct gg_name name; /* the thunk */
	struct buf body;     /* the wire request (the transport may consume it) */
	uint64_t timeout_ms; /* the thunk's timeout or the default, 0 = none */
	/* filled in by the transport before remote_call_done: */
	int rc; /* 0: reply holds a wire response; -1: error */
	struct buf reply;
	char *error;       /* malloc'd, when rc == -1 */
	enum gg_code code; /* when rc == -1: a cause a retry cannot change
	                    * (GG_EDENIED: 401/403, GG_ENOTFOUND: 404), or
	                    * GG_ELIMIT: the carrier's time ran out (Lambda's
	                    * "Task timed out"): not worth sending there again,
	                    * or 0 */
	char *where;       /* malloc'd: which worker/URL/job answered */
	uint64_t t_sent, t_received;
	/* for the transport */
	void *tpriv;
	atomic_bool cancel_requested;
};

struct remote_transport;

struct remote_transport_ops {
	int (*start)(struct remote_transport *t, struct remote_call *call);
	void (*cancel)(struct remote_transport *t, struct remote_call *call);
	void (*destroy)(struct remote_transport *t);
	/* optional: false (and *why, malloc'd) while no worker can take a call,
	 * e.g. every one stopped answering; the scheduler then routes the thunk
	 * to the next engine. Any thread. */
	bool (*usable)(struct remote_transport *t, char **why);
};

/* A carrier that hung (a worker silent past GG_WORKER_SILENCE, a Slurm
 * command killed at GG_SLURM_COMMAND_TIMEOUT) is avoided, and its engine's
 * usable() says no when it was the last one, for this many times that limit
 * or until it answers again. */
#define REMOTE_HUNG_FOR 10

/* Until when (now_ns) a carrier that hung at limit_ns is avoided. */
static inline uint64_t remote_hung_until(uint64_t now, uint64_t limit_ns)
{
	return now + REMOTE_HUNG_FOR * limit_ns;
}

struct remote_transport {
	const struct remote_transport_ops *ops;
	void *pipeline; /* set by remote_engine_create */
};

struct remote_config {
	const char *label;           /* "http", "lambda", "slurm" */
	uint64_t max_input_bytes;    /* can_execute's limit, 0 = none */
	const char *limit_hint;      /* how to raise it, for the message */
	size_t max_inline_thunk;     /* a bigger thunk travels through storage */
	uint64_t inline_limit;       /* inline output bytes a reply may carry */
	uint64_t default_timeout_ms; /* requests for thunks without a timeout */
	double cost_per_second;
	/* why a thunk that ran out of the carrier's time (GG_ELIMIT) is not
	 * taken again, for the message; NULL: "the function's timeout is too
	 * short for it" (Lambda) */
	const char *deadline_hint;
};

/*
 * Creates an engine around a transport (which it then owns). Opens storage
 * from cfg->storage_uri or $GG_STORAGE (required).
 */
int remote_engine_create(struct remote_transport *t, const struct remote_config *rc, int limit,
                         const struct engine_config *cfg, struct engine **out);

/* The transport's report that a call ended (see the contract above). */
void remote_call_done(struct remote_call *call);

/* ---- the libcurl transport (engine_http.c), used by http and lambda ---- */

struct http_transport_config {
	char **urls; /* targets, tried least-loaded first */
	size_t nurls;
	/* AWS SigV4 (lambda): "aws:amz:REGION:lambda"; NULL = none */
	const char *sigv4;
	const char *access_key, *secret_key, *session_token;
	const char *bearer; /* "Authorization: Bearer" (gg worker's tokens); NULL = none */
	/* https: the CAs that vouch for workers (NULL: the system's), and a
	 * client certificate and key to show them (NULL: none) */
	const char *ca_file, *client_cert, *client_key;
	bool lambda;           /* X-Amz-Function-Error marks a failed invocation */
	unsigned max_attempts; /* per call, for 429/5xx/connection errors */
	unsigned backoff_ms;   /* the first retry's wait, doubling, with jitter */
	unsigned silence_s;    /* ask workers for heartbeats; a worker silent this long
	                        * while it runs a call is hung (0 = do not ask) */
	const char *what;      /* "http", "lambda": in messages */
};

int http_transport_create(const struct http_transport_config *c, struct remote_transport **out);

/* The engines' constructors, for engine.c: ARGS is what follows "NAME=". */
int engine_http_create(const char *args, int limit, const struct engine_config *cfg,
                       struct engine **out);
int engine_lambda_create(const char *args, int limit, const struct engine_config *cfg,
                         struct engine **out);
int engine_slurm_create(const char *args, int limit, const struct engine_config *cfg,
                        struct engine **out);

/* GG_REMOTE_TIMEOUT in milliseconds (default 900 s, 0: no limit); more
 * seconds than REMOTE_TIMEOUT_MAX_S are refused (in milliseconds they
 * could wrap around to a short limit). */
#define REMOTE_TIMEOUT_MAX_S 31536000u /* a year */
/* GG_REMOTE_ATTEMPTS, GG_LAMBDA_ATTEMPTS: at most (an unsigned, kept whole) */
#define REMOTE_ATTEMPTS_MAX 1000u
/* GG_HTTP_MAX_INPUT, GG_LAMBDA_MAX_INPUT (env_size): at most 1T */
#define REMOTE_MAX_INPUT_MAX (UINT64_C(1) << 40)
int remote_env_timeout_ms(uint64_t *out);

#endif
