/**
 * @file http_batch.c
 * The transfer loop behind the HTTP storage back-ends: one curl multi handle
 * per batch object (so its connection cache outlives a call), a free list of
 * easy handles, bounded retries with exponential backoff and full jitter.
 * It knows nothing about S3 or objects: jobs say what to send and how to
 * judge the answer (see http_batch.h). Not thread-safe: one thread per batch.
 */
#include "backend/http_batch.h"
#include "backend/curl_setup.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct http_batch {
	CURLM *multi;
	struct http_batch_config cfg;
	CURL **idle; /* easy handles ready for reuse */
	size_t n_idle;
};

int http_batch_config_from_env(struct http_batch_config *cfg)
{
	uint64_t parallel, retries, timeout_s, deadline_s, backoff_ms;
	if (gg_curl_connect_timeout_ms(&cfg->connect_ms) < 0 ||
	    env_u64("GG_STORAGE_PARALLEL", 64, 1, 1024, &parallel) < 0 ||
	    env_u64("GG_STORAGE_RETRIES", 5, 0, 100, &retries) < 0 ||
	    env_u64("GG_STORAGE_TIMEOUT", 10, 1, 3600, &timeout_s) < 0 ||
	    env_u64("GG_STORAGE_DEADLINE", 600, 0, 86400, &deadline_s) < 0 ||
	    env_u64("GG_STORAGE_BACKOFF_MS", 100, 1, 60000, &backoff_ms) < 0)
		return -1;
	cfg->max_inflight = (unsigned)parallel;
	cfg->max_attempts = 1 + (unsigned)retries;
	cfg->timeout_s = (unsigned)timeout_s;
	cfg->deadline_s = (unsigned)deadline_s;
	cfg->backoff_base_ms = (unsigned)backoff_ms;
	cfg->backoff_cap_ms = 10000;
	return 0;
}

int http_batch_new(const struct http_batch_config *cfg, struct http_batch **out)
{
	if (gg_curl_load() < 0)
		return -1;
	CURLM *m = curl_multi_init();
	if (!m)
		return gg_error("cannot create a libcurl multi handle");
	struct http_batch *hb = xcalloc(1, sizeof *hb);
	hb->multi = m;
	hb->cfg = *cfg;
	if (hb->cfg.max_attempts < 1)
		hb->cfg.max_attempts = 1;
	if (hb->cfg.max_inflight < 1)
		hb->cfg.max_inflight = 1;
	hb->idle = xcalloc(hb->cfg.max_inflight, sizeof *hb->idle);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)hb->cfg.max_inflight);
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)hb->cfg.max_inflight);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)hb->cfg.max_inflight);
	*out = hb;
	return 0;
}

void http_batch_free(struct http_batch *hb)
{
	if (!hb)
		return;
	for (size_t i = 0; i < hb->n_idle; i++)
		curl_easy_cleanup(hb->idle[i]);
	free(hb->idle);
	curl_multi_cleanup(hb->multi);
	free(hb);
}

bool http_retry_after(const char *line, size_t len, uint64_t *ms)
{
	static const char name[] = "retry-after:";
	size_t k = sizeof name - 1;
	if (len <= k || strncasecmp(line, name, k))
		return false;
	size_t i = k;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	uint64_t s = 0;
	size_t digits = 0;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++, digits++)
		if (s < 1000000)
			s = s * 10 + (uint64_t)(line[i] - '0');
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (!digits || i != len)
		return false;
	*ms = s * 1000;
	return true;
}

int http_retry_after_max_ms(uint64_t *ms)
{
	uint64_t s;
	*ms = 30000;
	if (env_u64("GG_RETRY_AFTER_MAX", 30, 0, 3600, &s) < 0)
		return -1;
	*ms = s * 1000;
	return 0;
}

bool http_transient(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK: return status >= 500 || status == 429 || status == 408 || status == 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	/* The scheme was checked when the URL was made, so at transfer time
	 * this means a garbled status line (e.g. on a reused connection). */
	case CURLE_UNSUPPORTED_PROTOCOL: return true;
	default: return false;
	}
}

void http_describe(char *out, size_t size, CURLcode rc, long status, const char *detail)
{
	if (rc != CURLE_OK)
		snprintf(out, size, "%s", curl_easy_strerror(rc));
	else if (detail && *detail)
		snprintf(out, size, "HTTP %ld (%s)", status, detail);
	else
		snprintf(out, size, "HTTP %ld", status);
}

static CURL *take_easy(struct http_batch *hb)
{
	CURL *e;
	if (hb->n_idle > 0) {
		e = hb->idle[--hb->n_idle];
		curl_easy_reset(e); /* keeps the connection cache (it is the multi's) */
		gg_curl_apply(e, hb->cfg.connect_ms); /* reset dropped them too */
	} else {
		e = gg_curl_easy(hb->cfg.connect_ms);
		if (!e)
			return NULL;
	}
	const struct http_batch_config *c = &hb->cfg;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A stalled transfer (no byte for timeout_s) fails and is retried;
	 * a large object that keeps moving is never cut off. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout_s);
	/* ... and one that keeps trickling ends at the deadline */
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->deadline_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
	/* Waiting for "100 Continue" costs a round trip; servers that want
	 * it answer at once, so do not sit on the default second. */
	curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
	return e;
}

static void give_easy(struct http_batch *hb, CURL *e)
{
	if (hb->n_idle < hb->cfg.max_inflight)
		hb->idle[hb->n_idle++] = e;
	else
		curl_easy_cleanup(e);
}

/* A job's last word: its state, then release() of what it still holds. */
static void settle(struct http_job *j, enum http_job_state state)
{
	j->state = state;
	if (j->release)
		j->release(j);
}

/* Starts one attempt. false if it could not start (the job is then final). */
static bool start_job(struct http_batch *hb, struct http_job *j)
{
	CURL *e = take_easy(hb);
	if (!e) {
		snprintf(j->error, sizeof j->error, "cannot create a libcurl handle");
		settle(j, HTTP_JOB_FAILED);
		return false;
	}
	j->attempts++;
	j->error[0] = 0;
	if (j->prepare(j, e) < 0) {
		if (!j->error[0])
			snprintf(j->error, sizeof j->error, "%s", gg_last_error());
		settle(j, HTTP_JOB_FAILED);
		give_easy(hb, e);
		return false;
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)j);
	CURLMcode mc = curl_multi_add_handle(hb->multi, e);
	if (mc != CURLM_OK) {
		/* finish() releases what prepare() opened */
		j->finish(j, e, CURLE_FAILED_INIT, 0);
		snprintf(j->error, sizeof j->error, "libcurl: %s", curl_multi_strerror(mc));
		settle(j, HTTP_JOB_FAILED);
		give_easy(hb, e);
		return false;
	}
	return true;
}

size_t http_batch_run(struct http_batch *hb, struct http_job **jobs, size_t n)
{
	size_t next = 0, settled = 0, failed = 0, inflight = 0;
	/* jobs waiting for a retry; at most every job */
	struct http_job **wait = xcalloc(n ? n : 1, sizeof *wait);
	size_t n_wait = 0;
	bool stop = false;

	for (size_t i = 0; i < n; i++) {
		jobs[i]->state = HTTP_JOB_PENDING;
		jobs[i]->attempts = 0;
		jobs[i]->error[0] = 0;
	}
	while (settled < n) {
		uint64_t now = now_ns();
		if (stop) {
			/* nothing new starts; what never ran says why */
			for (; next < n; next++) {
				snprintf(jobs[next]->error, sizeof jobs[next]->error,
				         "not attempted after an earlier fatal error");
				settle(jobs[next], HTTP_JOB_FAILED);
				settled++, failed++;
			}
			for (size_t i = 0; i < n_wait; i++) {
				settle(wait[i], HTTP_JOB_FAILED);
				settled++, failed++;
			}
			n_wait = 0;
			if (settled == n)
				break;
		}
		/* retries whose time has come first, then new jobs */
		for (size_t i = 0; i < n_wait && inflight < hb->cfg.max_inflight;) {
			struct http_job *j = wait[i];
			if (j->not_before_ns > now) {
				i++;
				continue;
			}
			wait[i] = wait[--n_wait];
			if (start_job(hb, j))
				inflight++;
			else
				settled++, failed++;
		}
		while (!stop && inflight < hb->cfg.max_inflight && next < n) {
			if (start_job(hb, jobs[next++]))
				inflight++;
			else
				settled++, failed++;
		}
		if (settled == n)
			break;

		int running;
		curl_multi_perform(hb->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(hb->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *e = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct http_job *j = NULL;
			long status = 0;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			enum http_verdict v = j->finish(j, e, rc, status);
			if (rc == CURLE_OPERATION_TIMEDOUT && v != HTTP_DONE) {
				/* A store that did not take the connection in
				 * connect_ms, moved no byte for timeout_s, or did not
				 * finish by the deadline, is down or hung, not flaky:
				 * retrying every request against it only multiplies
				 * the wait. The message names the timeout that ended it. */
				double took = 0;
				/* 0 until a request could be sent: not connected
				 * (CONNECT_TIME is 0 on a reused connection too) */
				curl_off_t ready_us = 0;
				curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &took);
				curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &ready_us);
				size_t l = strlen(j->error);
				if (!ready_us)
					snprintf(
					    j->error + l, sizeof j->error - l,
					    "; no connection within %ld s (GG_CONNECT_TIMEOUT): "
					    "the store is not answering",
					    hb->cfg.connect_ms / 1000);
				else if (hb->cfg.deadline_s && took + 0.5 >= hb->cfg.deadline_s)
					snprintf(
					    j->error + l, sizeof j->error - l,
					    "; not done within %u s (GG_STORAGE_DEADLINE): the "
					    "store is not answering",
					    hb->cfg.deadline_s);
				else
					snprintf(j->error + l, sizeof j->error - l,
					         "; no byte for %u s: the store is not answering",
					         hb->cfg.timeout_s);
				v = HTTP_FATAL;
			}
			curl_multi_remove_handle(hb->multi, e);
			give_easy(hb, e);
			inflight--;
			if (v == HTTP_RETRY && j->attempts < hb->cfg.max_attempts && !stop) {
				j->not_before_ns =
				    now_ns() + backoff_ns(j->attempts, hb->cfg.backoff_base_ms,
				                          hb->cfg.backoff_cap_ms);
				wait[n_wait++] = j;
				continue;
			}
			settled++;
			if (v == HTTP_DONE) {
				settle(j, HTTP_JOB_OK);
			} else {
				failed++;
				if (v == HTTP_FATAL)
					stop = true;
				if (v == HTTP_RETRY && j->attempts > 1) {
					size_t l = strlen(j->error);
					snprintf(j->error + l, sizeof j->error - l,
					         ", after %u attempts", j->attempts);
				}
				settle(j, HTTP_JOB_FAILED);
			}
		}
		if (settled == n)
			break;
		/* a finished transfer freed a slot: fill it before waiting */
		if (!stop && next < n && inflight < hb->cfg.max_inflight)
			continue;
		/* sleep until there is socket activity or a retry is due */
		int timeout_ms = 1000;
		now = now_ns();
		for (size_t i = 0; i < n_wait; i++) {
			uint64_t d =
			    wait[i]->not_before_ns > now ? wait[i]->not_before_ns - now : 0;
			if (d / 1000000 < (uint64_t)timeout_ms)
				timeout_ms = (int)(d / 1000000);
		}
		if (inflight == 0 && n_wait == 0 && next >= n)
			break; /* cannot happen; never spin */
		if (inflight > 0)
			curl_multi_poll(hb->multi, NULL, 0, timeout_ms, NULL);
		else if (timeout_ms > 0)
			usleep((useconds_t)timeout_ms * 1000);
	}
	free(wait);
	return failed;
}
