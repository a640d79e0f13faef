/**
 * @file worker.h
 * `gg worker`: runs thunks for remote engines. One request (backend/remote/wire.h)
 * is handled by worker_handle() whatever carried it; the carriers are an
 * HTTP/1.1 server (worker_http.c), the AWS Lambda Runtime API loop and a
 * request file for Slurm (cmd_worker.c).
 */
#ifndef GG_WORKER_H
#define GG_WORKER_H

#include "core/exec.h"
#include "core/store.h"

#include <pthread.h>

struct storage;
struct worker_tls;

/* How long before Lambda's deadline the worker stops a thunk, to leave time
 * to end its processes and post the reply. */
#define LAMBDA_DEADLINE_MARGIN_MS 1500

/* Test-only behaviour (--fault-inject), each for the first N requests. */
struct worker_faults {
	unsigned status_429, status_500; /* answer with this HTTP status */
	unsigned status_503;             /* answer 503 with "Retry-After: retry_after" */
	unsigned retry_after;            /* seconds (default 2) */
	unsigned hang;                   /* never answer */
	unsigned drop;                   /* close the connection without answering */
	unsigned die;                    /* exit(137) in the middle of the run */
	unsigned slow_ms;                /* sleep this long before running */
	/* the client's checks of a reply, end to end: */
	unsigned corrupt;     /* flip a byte of the first inline output (its name kept) */
	unsigned other_thunk; /* answer with the first request's reply */
	unsigned drop_reply;  /* run the thunk, then close without answering */
};

struct worker {
	struct store *store;
	struct exec_opts exec;
	uint64_t cache_size; /* the local store is shrunk to this (0 = no limit) */
	int jobs;            /* requests executing at once */
	bool verbose;        /* a line per request on stderr */
	/* Thunks run unisolated (--no-sandbox, or no sandbox here, as on
	 * Lambda): they can write the store, so its memo entries and verdicts
	 * are not evidence; set by worker_init. */
	bool unisolated;
	bool fake_exec;              /* benchmarks: write made-up outputs, run nothing */
	char ident[96];              /* "host:pid", in replies */
	struct strvec storage_allow; /* the storage URIs a request may name (exactly) */
	/* Lambda: when (now_ns()) the thunk of the invocation being handled must
	 * be stopped, LAMBDA_DEADLINE_MARGIN_MS before Lambda-Runtime-Deadline-Ms;
	 * 0 = none. Set by the Runtime API loop before each worker_handle (it
	 * handles one request at a time). A thunk stopped by it gets an
	 * infrastructure reply with "deadline": true (run it elsewhere). */
	uint64_t deadline_ns;

	pthread_mutex_t mu;
	/* protected by mu */
	struct worker_faults faults;
	struct pooled_storage *idle; /* storage handles not in use, any URI */
	int busy;                    /* requests executing */
	pthread_cond_t slot_cv;
	uint64_t est_size; /* bytes in the store, estimated since the last gc */
	uint64_t served;
	struct buf last_reply; /* the first reply, kept only for faults.other_thunk */

	/* held shared by every request, exclusively by gc */
	pthread_rwlock_t gc_lock;
};

int worker_init(struct worker *w, struct store *s);
void worker_fini(struct worker *w);

/*
 * Handles one request: its JSON in, the response JSON out (always filled,
 * also for errors). *http_status is 200 for every structured reply
 * (success, program failure, infrastructure error) and 400 for a request
 * that cannot be understood and 403 for one naming a storage not in
 * w->storage_allow (then the body is an error reply without a thunk name:
 * {"v":1,"error":"..."}).
 * cancel (NULL: none) stops the thunk's program when fired, e.g. when the
 * client that asked has gone away.
 */
void worker_handle(struct worker *w, const char *req, size_t len, struct buf *resp,
                   int *http_status, const struct gg_cancel *cancel);

/*
 * Opens a handle to each storage in w->storage_allow now and keeps it for
 * requests (Lambda: before env_scrub_secrets() takes the credentials they
 * need from the environment). A storage that cannot be opened is reported
 * on stderr; requests naming it try again, and fail saying why.
 */
void worker_open_storage(struct worker *w);

/* Takes the next pending fault of a kind (under w->mu); true if one applies. */
bool worker_take_fault(struct worker *w, unsigned *counter);

/* The HTTP server's settings (gg worker --listen and its limits). */
struct worker_http_opts {
	const char *listen;          /* ADDR:PORT */
	const char *port_file;       /* or NULL */
	int max_conns;               /* open connections; more are answered 503 */
	int max_inflight;            /* /execute requests admitted: running or waiting */
	uint64_t max_body;           /* one request body (413) */
	uint64_t max_memory;         /* admitted request bodies in all (503) */
	unsigned read_timeout_s;     /* a request arrives whole within this (408) */
	unsigned idle_timeout_s;     /* a connection between requests is closed after this */
	const struct strvec *tokens; /* bearer tokens accepted; none = no authentication */
	bool allow_unauthenticated;  /* no tokens on a non-loopback address */
	struct worker_tls *tls;      /* TLS settings, or NULL for plain HTTP */
	bool client_certs;           /* tls requires client certificates */
};

/* The HTTP server: serves until SIGINT/SIGTERM, then drains. */
int worker_http_serve(struct worker *w, const struct worker_http_opts *o);

#endif
