/**
 * @file http_batch.h
 * Runs a batch of HTTP requests through one libcurl multi handle: many in
 * flight, connections kept and reused across batches, each request retried a
 * bounded number of times with exponential backoff and jitter.
 *
 * A request is an http_job embedded in the caller's own struct. The runner
 * calls prepare() before every attempt (on a freshly reset easy handle that
 * already carries the common options: timeouts, no signals, http(s) only)
 * and finish() after it; finish() judges the attempt and, when it is not a
 * success, writes why into job->error. Resources an attempt opens in
 * prepare() are released by finish() (called for every prepared attempt);
 * what a job keeps across attempts is released by release(), so that a
 * batch of thousands holds open files only for jobs not yet settled.
 */
#ifndef GG_HTTP_BATCH_H
#define GG_HTTP_BATCH_H

#include "backend/curl_dl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_verdict {
	HTTP_DONE,   /* success (or a definite answer such as "absent") */
	HTTP_RETRY,  /* transient: try again after a backoff, if attempts remain */
	HTTP_FAILED, /* this job failed for good */
	HTTP_FATAL,  /* failed, and so would every other job (e.g. 403): stop the batch */
};

enum http_job_state { HTTP_JOB_PENDING, HTTP_JOB_OK, HTTP_JOB_FAILED };

struct http_job {
	int (*prepare)(struct http_job *job, CURL *easy);
	enum http_verdict (*finish)(struct http_job *job, CURL *easy, CURLcode rc, long status);
	/* optional: called once when the job is settled (done or failed for
	 * good), to free what it keeps across attempts (temp files...) */
	void (*release)(struct http_job *job);
	/* set by the runner */
	enum http_job_state state;
	unsigned attempts;
	uint64_t not_before_ns;
	/* set by prepare/finish when an attempt does not succeed */
	char error[768];
};

struct http_batch_config {
	unsigned max_inflight;    /* transfers at once (and connections kept) */
	unsigned max_attempts;    /* per job, at least 1 */
	unsigned timeout_s;       /* an attempt that moves no byte this long fails, and
	                           * stops the batch: the store is hung */
	unsigned deadline_s;      /* an attempt not done this long fails likewise; 0 = none */
	unsigned backoff_base_ms; /* first retry waits about this long, doubling */
	unsigned backoff_cap_ms;
	long connect_ms; /* libcurl's connect timeout (GG_CONNECT_TIMEOUT) */
};

struct http_batch;

/* Fills cfg from GG_STORAGE_PARALLEL, GG_STORAGE_RETRIES, GG_STORAGE_TIMEOUT,
 * GG_STORAGE_DEADLINE, GG_STORAGE_BACKOFF_MS and GG_CONNECT_TIMEOUT. A value that is not a whole
 * number in the variable's range is refused (env_u64): -1 with GG_EUSAGE. */
int http_batch_config_from_env(struct http_batch_config *cfg);
int http_batch_new(const struct http_batch_config *cfg, struct http_batch **out);
void http_batch_free(struct http_batch *hb);

/*
 * Runs the jobs to completion. Returns how many ended in HTTP_JOB_FAILED
 * (jobs never attempted because the batch stopped say so in their error).
 */
size_t http_batch_run(struct http_batch *hb, struct http_job **jobs, size_t n);

/* A "Retry-After: SECONDS" header line (as libcurl's header callback gets
 * it): true and *ms; false for another header or an HTTP-date. */
bool http_retry_after(const char *line, size_t len, uint64_t *ms);

/* $GG_RETRY_AFTER_MAX (seconds, default 30, at most 3600) in ms: the
 * longest Retry-After honoured. Another value is refused (env_u64): -1. */
int http_retry_after_max_ms(uint64_t *ms);

/* Whether a transfer result or HTTP status is worth another attempt. */
bool http_transient(CURLcode rc, long status);

/*
 * Describes a failed attempt for an error message: libcurl's words for a
 * transport error, else "HTTP 503" plus " (detail)" when detail is not empty.
 */
void http_describe(char *out, size_t size, CURLcode rc, long status, const char *detail);

#endif
