/**
 * @file engine_http.c
 * The libcurl transport of remote engines, and the `http` engine built on
 * it: POST the wire request to a worker URL (`gg worker --listen`, a
 * Knative/OpenFaaS/Cloud Run service, a Lambda function URL) and hand the
 * reply body to the pipeline (engine_remote.c).
 *
 * One thread per engine drives every request through one libcurl multi
 * handle (curl_multi_poll; curl_multi_wakeup for new calls and cancels), so
 * thousands are in flight without a thread each; connections are kept and
 * reused. With several URLs each call goes to the least loaded one that is
 * not marked down and not already running the same thunk (so a speculative
 * copy lands elsewhere). Connection errors, 429 and 5xx are retried after an
 * exponential backoff with jitter, a bounded number of times, preferably on
 * another URL. It does not interpret the reply (the pipeline does) beyond
 * Lambda's X-Amz-Function-Error header. The http engine asks gg workers
 * for heartbeats ("102 Processing", see check_silence) so that a hung
 * worker is told from a long thunk.
 */
#include "backend/curl_setup.h"
#include "backend/engine/engine_remote.h"
#include "backend/http_batch.h"
#include "backend/url.h"

#include "backend/remote/wire.h"
#include "backend/remote/worker_auth.h"
#include "core/namemap.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void wipe_free(char *s);

struct target {
	char *url;
	int inflight;            /* loop-owned */
	uint64_t down_until;     /* loop-owned: after a connection error or 5xx */
	bool heartbeats;         /* loop-owned: it has sent "102 Processing" before */
	uint64_t probe_answered; /* loop-owned: when it last answered a probe (0: never) */
	CURL *probe;             /* loop-owned: a probe in flight (see check_silence) */
	uint64_t hung_until;     /* protected by mu: it stopped answering mid-call */
};

struct hcall {
	struct hcall *prev, *next; /* in `active` or `delayed` */
	struct remote_call *call;
	CURL *easy; /* while a transfer is in flight */
	struct curl_slist *headers;
	unsigned attempts;
	int target;          /* of the current or last attempt, -1 before */
	uint64_t not_before; /* delayed until */
	struct buf reply;
	bool too_big;
	char fn_error[64];       /* X-Amz-Function-Error */
	uint64_t retry_after_ms; /* Retry-After of the last answer, 0 = none */
	char errbuf[CURL_ERROR_SIZE];
	/* set by libcurl's callbacks, read by the loop (same thread) */
	uint64_t last_heard; /* a byte of the answer came, or one of the request went */
	bool heard_beat;     /* an interim "102 Processing" came */
	bool answered;       /* a byte of an answer came (a status line, interim or not) */
	curl_off_t last_ul;
};

struct htrans {
	struct remote_transport base;
	struct http_transport_config cfg;
	struct target *targets;
	size_t ntargets;
	CURLM *multi;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	/* protected by mu */
	struct hcall *inbox;
	bool cancel_pending, stopping;
	size_t nlive; /* calls started and not yet done */
	/* owned by the loop thread */
	struct hcall *active, *delayed;
	struct namemap running; /* thunk -> (void *)(target + 1) */
	CURL **spare;           /* reset easy handles for reuse */
	size_t nspare, spare_cap;
	unsigned rr;
	uint64_t retry_after_max_ms;
	long connect_ms; /* GG_CONNECT_TIMEOUT, read once */
};

/* ---- lists ---- */

static void list_add(struct hcall **head, struct hcall *h)
{
	h->prev = NULL;
	h->next = *head;
	if (*head)
		(*head)->prev = h;
	*head = h;
}

static void list_del(struct hcall **head, struct hcall *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		*head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

/* ---- libcurl callbacks ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hcall *h = arg;
	size_t k = size * n;
	h->last_heard = now_ns();
	h->answered = true;
	if (h->reply.len + k > WIRE_MAX_RESPONSE) {
		h->too_big = true;
		return 0;
	}
	buf_add(&h->reply, p, k);
	return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hcall *h = arg;
	static const char name[] = "X-Amz-Function-Error:";
	size_t len = size * n, k = sizeof name - 1;
	h->last_heard = now_ns();
	h->answered = true;
	http_retry_after(p, len, &h->retry_after_ms);
	/* the status line of an interim answer: a heartbeat (see gg-worker(1)) */
	if (len >= 12 && !memcmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', len);
		if (sp && (size_t)(p + len - sp) > 4 && !memcmp(sp + 1, "102", 3) &&
		    (sp[4] == ' ' || sp[4] == '\r'))
			h->heard_beat = true;
	}
	if (len > k && !strncasecmp(p, name, k)) {
		const char *v = p + k, *e = p + len;
		while (v < e && *v == ' ')
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			e--;
		size_t m = (size_t)(e - v) < sizeof h->fn_error - 1 ? (size_t)(e - v)
		                                                    : sizeof h->fn_error - 1;
		memcpy(h->fn_error, v, m);
		h->fn_error[m] = 0;
	}
	return len;
}

/* Upload progress counts as hearing from the worker: it takes the bytes. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct hcall *h = arg;
	(void)dltotal, (void)dlnow, (void)ultotal;
	if (ulnow != h->last_ul) {
		h->last_ul = ulnow;
		h->last_heard = now_ns();
	}
	return 0;
}

/* ---- attempts ---- */

/* The least loaded usable target; -1 if none is configured. */
static int pick_target(struct htrans *t, struct hcall *h, uint64_t now)
{
	void *v = namemap_get(&t->running, &h->call->name);
	int avoid = v ? (int)(uintptr_t)v - 1 : -1;
	int last = h->target;
	for (int pass = 0; pass < 3; pass++) {
		int best = -1;
		for (size_t k = 0; k < t->ntargets; k++) {
			int i = (int)((t->rr + k) % t->ntargets);
			if (pass < 2 && t->targets[i].down_until > now)
				continue;
			if (pass < 1 && t->ntargets > 1 && (i == avoid || i == last))
				continue;
			if (best < 0 || t->targets[i].inflight < t->targets[best].inflight)
				best = i;
		}
		if (best >= 0) {
			t->rr++;
			return best;
		}
	}
	return 0;
}

static CURL *get_easy(struct htrans *t)
{
	if (t->nspare)
		return t->spare[--t->nspare];
	return gg_curl_easy(t->connect_ms);
}

static void put_easy(struct htrans *t, CURL *e)
{
	curl_easy_reset(e);
	ALLOC_GROW(t->spare, t->nspare + 1, t->spare_cap);
	t->spare[t->nspare++] = e;
}

static void complete(struct htrans *t, struct hcall *h, int rc, char *error)
{
	struct remote_call *c = h->call;
	c->rc = rc;
	c->error = error;
	c->where = xstrdup(h->target >= 0 ? t->targets[h->target].url : t->targets[0].url);
	c->t_received = now_ns();
	if (rc == 0) {
		c->reply = h->reply;
		h->reply = (struct buf)BUF_INIT;
	}
	buf_free(&h->reply);
	curl_slist_free_all(h->headers);
	free(h);
	pthread_mutex_lock(&t->mu);
	t->nlive--;
	pthread_mutex_unlock(&t->mu);
	remote_call_done(c);
}

/* The connect timeout, CA bundle and certificates (again: put_easy reset them). */
static void apply_tls(struct htrans *t, CURL *e)
{
	gg_curl_apply(e, t->connect_ms);
	/* certificates are always verified (libcurl's default, never turned off) */
	if (t->cfg.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->cfg.ca_file);
	if (t->cfg.client_cert) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, t->cfg.client_cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, t->cfg.client_key);
	}
}

static int launch(struct htrans *t, struct hcall *h)
{
	uint64_t now = now_ns();
	int i = pick_target(t, h, now);
	CURL *e = get_easy(t);
	if (!e)
		return gg_error("%s: cannot create a libcurl handle", t->cfg.what);
	h->target = i;
	h->attempts++;
	h->too_big = false;
	h->fn_error[0] = 0;
	h->errbuf[0] = 0;
	h->retry_after_ms = 0;
	h->last_heard = now;
	h->heard_beat = false;
	h->answered = false;
	h->last_ul = 0;
	buf_reset(&h->reply);
	if (!h->call->t_sent)
		h->call->t_sent = now;
	if (!h->headers) {
		h->headers = curl_slist_append(NULL, "Content-Type: application/json");
		h->headers = curl_slist_append(h->headers, "Expect:");
		if (t->cfg.session_token) {
			char *tok = xasprintf("X-Amz-Security-Token: %s", t->cfg.session_token);
			h->headers = curl_slist_append(h->headers, tok);
			free(tok);
		}
		if (t->cfg.bearer) {
			char *auth = xasprintf("Authorization: Bearer %s", t->cfg.bearer);
			h->headers = curl_slist_append(h->headers, auth);
			wipe_free(auth);
		}
		if (t->cfg.silence_s) {
			/* four beats per silence limit: one lost or late is no alarm */
			char hb[48];
			unsigned every = t->cfg.silence_s / 4 ? t->cfg.silence_s / 4 : 1;
			snprintf(hb, sizeof hb, "X-GG-Heartbeat: %u", every);
			h->headers = curl_slist_append(h->headers, hb);
		}
	}
	curl_easy_setopt(e, CURLOPT_URL, t->targets[i].url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->call->body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->call->body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	apply_tls(t, e);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a minute more for the worker's uploads; a thunk's timeout too long to
	 * add it to (a thunk may give any) is no limit, never a wrapped one */
	if (h->call->timeout_ms && h->call->timeout_ms < (uint64_t)LONG_MAX - 60000)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(h->call->timeout_ms + 60000));
	if (t->cfg.silence_s) {
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	}
	if (t->cfg.sigv4) {
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, t->cfg.sigv4);
		curl_easy_setopt(e, CURLOPT_USERNAME, t->cfg.access_key);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->cfg.secret_key);
	}
	h->easy = e;
	t->targets[i].inflight++;
	if (!namemap_get(&t->running, &h->call->name))
		namemap_put(&t->running, &h->call->name, (void *)(uintptr_t)(i + 1));
	list_add(&t->active, h);
	if (curl_multi_add_handle(t->multi, e) != CURLM_OK) {
		list_del(&t->active, h);
		t->targets[i].inflight--;
		h->easy = NULL;
		put_easy(t, e);
		return gg_error("%s: cannot start a transfer", t->cfg.what);
	}
	return 0;
}

/* Ends the transfer of an active call (not the call). */
static void detach(struct htrans *t, struct hcall *h)
{
	list_del(&t->active, h);
	curl_multi_remove_handle(t->multi, h->easy);
	put_easy(t, h->easy);
	h->easy = NULL;
	t->targets[h->target].inflight--;
	void *v = namemap_get(&t->running, &h->call->name);
	if (v && (int)(uintptr_t)v - 1 == h->target)
		namemap_del(&t->running, &h->call->name);
}

static bool transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return true;
	default: return false;
	}
}

/* What a final HTTP status says about every retry of the call: a refusal
 * (wrong token or credentials, a clock too far off to sign) or a missing
 * endpoint or function stays so, and the scheduler must not try again. */
static enum gg_code permanent_code(long status)
{
	switch (status) {
	case 401:
	case 403: return GG_EDENIED;
	case 404: return GG_ENOTFOUND;
	default: return 0;
	}
}

/* The start of a reply body, printable, for messages. */
static char *body_head(const struct buf *b)
{
	size_t n = b->len < 200 ? b->len : 200;
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = b->data[i] >= 0x20 && b->data[i] < 0x7f ? b->data[i] : ' ';
	s[n] = 0;
	return s;
}

static void on_finished(struct htrans *t, struct hcall *h, CURLcode rc)
{
	long status = 0;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	const char *url = t->targets[h->target].url;
	int target = h->target;
	if (h->heard_beat) /* also when the call ended before check_silence saw it */
		t->targets[target].heartbeats = true;
	detach(t, h);
	if (rc == CURLE_OK && status == 200 && !h->fn_error[0]) {
		pthread_mutex_lock(&t->mu);
		t->targets[target].hung_until = 0;
		pthread_mutex_unlock(&t->mu);
		complete(t, h, 0, NULL);
		return;
	}
	char *why;
	if (h->too_big) {
		complete(t, h, -1,
		         xasprintf("POST %s: the reply is larger than %u bytes", url,
		                   WIRE_MAX_RESPONSE));
		return;
	}
	if (rc == CURLE_OK && status == 200) {
		/* Lambda: the function failed (crashed, timed out, or refused the request).
		 * Timed out, it would again: the pipeline sends it elsewhere (the code
		 * is set before complete(): the call is then the pipeline's). */
		static const char timed_out[] = "Task timed out after";
		if (h->reply.len &&
		    memmem(h->reply.data, h->reply.len, timed_out, sizeof timed_out - 1))
			h->call->code = GG_ELIMIT;
		char *head = body_head(&h->reply);
		complete(t, h, -1,
		         xasprintf("%s: the function failed (%s): %s", url, h->fn_error, head));
		free(head);
		return;
	}
	/* a TLS worker that refused our client certificate (or our lack of one) */
	bool cert_refused = rc != CURLE_OK && (strstr(h->errbuf, "alert certificate required") ||
	                                       strstr(h->errbuf, "alert bad certificate") ||
	                                       strstr(h->errbuf, "alert unknown ca"));
	bool transient = rc != CURLE_OK ? transient_curl(rc) && !cert_refused
	                                : status == 429 || status == 500 || status == 502 ||
	                                      status == 503 || status == 504;
	if (rc != CURLE_OK) {
		why = xasprintf("%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	} else {
		char *head = body_head(&h->reply);
		why = xasprintf("HTTP %ld%s%s", status, *head ? ": " : "", head);
		free(head);
	}
	if (transient && h->attempts < t->cfg.max_attempts &&
	    !atomic_load(&h->call->cancel_requested)) {
		/* between half and all of the exponential step, at most 10 s, or a full
		 * or throttling server's Retry-After (bounded) when that is longer */
		uint64_t after = status == 429 || status == 503 ? h->retry_after_ms : 0;
		uint64_t wait = backoff_after_ns(h->attempts, t->cfg.backoff_ms, 10000, after,
		                                 t->retry_after_max_ms);
		uint64_t now = now_ns();
		if (status != 429) /* a throttle is not the target's fault */
			t->targets[target].down_until = now + wait;
		h->not_before = now + wait;
		list_add(&t->delayed, h);
		free(why);
		return;
	}
	char after[48] = "";
	if (h->attempts > 1)
		snprintf(after, sizeof after, " (after %u attempts)", h->attempts);
	enum gg_code code = rc == CURLE_OK ? permanent_code(status) : 0;
	const char *hint = "";
	if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		code = GG_EDENIED;
		hint = " (the worker's certificate is not trusted: give the CA that signed it "
		       "in GG_WORKER_CA; not retried)";
	} else if (cert_refused) {
		code = GG_EDENIED;
		hint = t->cfg.client_cert ? " (the worker does not trust the client certificate "
		                            "in GG_WORKER_CERT; not retried)"
		                          : " (the worker requires a client certificate: give "
		                            "GG_WORKER_CERT and GG_WORKER_KEY; not retried)";
	} else if (rc == CURLE_SSL_CERTPROBLEM) {
		code = GG_EUSAGE;
		hint = " (check GG_WORKER_CERT and GG_WORKER_KEY; not retried)";
	} else if (code == GG_EDENIED)
		hint = t->cfg.sigv4
		           ? " (refused: check the AWS credentials, their permissions and this "
		             "machine's clock; not retried)"
		           : " (refused: check GG_WORKER_TOKEN or GG_WORKER_TOKEN_FILE against "
		             "the worker's tokens; not retried)";
	else if (code == GG_ENOTFOUND)
		hint = t->cfg.sigv4 ? " (no such function in that region; not retried)"
		                    : " (no such endpoint: check the URL; not retried)";
	h->call->code = code; /* before complete(): the call is then the pipeline's */
	complete(t, h, -1, xasprintf("POST %s: %s%s%s", url, why, hint, after));
	free(why);
}

/* Gives up on a call to a hung worker: the call goes to another worker, or
 * fails naming this one; the worker counts as down for a while, and when
 * every worker is, the engine declines thunks (h_usable) so that the
 * scheduler routes them to the next engine. */
static void give_up(struct htrans *t, struct hcall *h, uint64_t now, const char *how)
{
	uint64_t limit = (uint64_t)t->cfg.silence_s * 1000000000u;
	int target = h->target;
	struct target *tg = &t->targets[target];
	detach(t, h);
	tg->down_until = remote_hung_until(now, limit);
	pthread_mutex_lock(&t->mu);
	tg->hung_until = tg->down_until;
	pthread_mutex_unlock(&t->mu);
	bool elsewhere = false;
	for (size_t k = 0; k < t->ntargets; k++)
		elsewhere |= (int)k != target && t->targets[k].down_until <= now;
	if (elsewhere && h->attempts < t->cfg.max_attempts &&
	    !atomic_load(&h->call->cancel_requested)) {
		h->not_before = now;
		list_add(&t->delayed, h);
		return;
	}
	complete(t, h, -1,
	         xasprintf("POST %s: the worker stopped answering: %s (a stopped or hung "
	                   "worker; GG_WORKER_SILENCE sets the limit)",
	                   tg->url, how));
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

/* Asks target i whether anything answers there at all: a GET of its URL on
 * a connection of its own, which any live HTTP server answers with some
 * status (a gg worker: 405) within the silence limit. */
static void start_probe(struct htrans *t, size_t i)
{
	CURL *e = get_easy(t);
	if (!e)
		return; /* no handle: the call is waited on as before */
	curl_easy_setopt(e, CURLOPT_URL, t->targets[i].url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	apply_tls(t, e);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->cfg.silence_s * 1000);
	if (curl_multi_add_handle(t->multi, e) != CURLM_OK) {
		put_easy(t, e);
		return;
	}
	t->targets[i].probe = e;
}

/* A probe ended: an answer (any status) shows a live server that sends no
 * heartbeats, not cut off while it answers (probed again after each silent
 * period); none shows a hung one, and every call there that has heard
 * nothing for the whole limit is given up on. */
static void probe_finished(struct htrans *t, size_t i, CURLcode rc, uint64_t now)
{
	struct target *tg = &t->targets[i];
	long status = 0;
	curl_easy_getinfo(tg->probe, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(t->multi, tg->probe);
	put_easy(t, tg->probe);
	tg->probe = NULL;
	if (rc == CURLE_OK && status > 0) {
		tg->probe_answered = now;
		return;
	}
	char how[120];
	snprintf(how, sizeof how,
	         "no answer for %u s after the request, nor to a probe on a new connection",
	         t->cfg.silence_s);
	/* only calls silent for the whole limit: one sent since may yet be answered */
	uint64_t limit = (uint64_t)t->cfg.silence_s * 1000000000u;
	for (struct hcall *h = t->active, *nx; h; h = nx) {
		nx = h->next;
		if (h->target == (int)i && !h->answered && !tg->heartbeats &&
		    now - h->last_heard >= limit)
			give_up(t, h, now, how);
	}
}

/*
 * A worker that has sent heartbeats before and now stays silent for
 * silence_s while it holds a call is hung (a stopped process, a dead host
 * whose connection has not broken yet): give_up. A call that has heard no
 * answer at all for silence_s from a worker not yet known to send
 * heartbeats (this process's first calls to a worker stopped before it
 * answered) gets the worker probed: a gg worker sends its first heartbeat
 * at once, so the silence is either a server without heartbeats, which
 * answers the probe, or a hung one, which does not (probe_finished).
 */
static void check_silence(struct htrans *t, uint64_t now)
{
	if (!t->cfg.silence_s)
		return;
	uint64_t limit = (uint64_t)t->cfg.silence_s * 1000000000u;
	char how[80];
	snprintf(how, sizeof how, "no heartbeat for %u s while it held the thunk",
	         t->cfg.silence_s);
	for (struct hcall *h = t->active, *nx; h; h = nx) {
		nx = h->next;
		struct target *tg = &t->targets[h->target];
		if (h->heard_beat)
			tg->heartbeats = true;
		/* a server without heartbeats is probed again after each silent
		 * period: one that answered once may hang later (a mount lives long) */
		uint64_t quiet_since =
		    h->last_heard > tg->probe_answered ? h->last_heard : tg->probe_answered;
		if (!tg->heartbeats && !h->answered && now - quiet_since >= limit && !tg->probe)
			start_probe(t, (size_t)h->target);
		if (!tg->heartbeats || now - h->last_heard < limit)
			continue;
		give_up(t, h, now, how);
	}
}

static void cancel_flagged(struct htrans *t, struct hcall **list, bool active)
{
	for (struct hcall *h = *list, *next; h; h = next) {
		next = h->next;
		if (!atomic_load(&h->call->cancel_requested))
			continue;
		if (active)
			detach(t, h);
		else
			list_del(list, h);
		complete(t, h, -1, xstrdup("cancelled"));
	}
}

static void *loop_main(void *p)
{
	struct htrans *t = p;
	for (;;) {
		pthread_mutex_lock(&t->mu);
		struct hcall *in = t->inbox;
		t->inbox = NULL;
		bool cancels = t->cancel_pending, stop = t->stopping;
		t->cancel_pending = false;
		pthread_mutex_unlock(&t->mu);
		while (in) {
			struct hcall *h = in;
			in = in->next;
			if (launch(t, h) < 0)
				complete(t, h, -1, xstrdup(gg_last_error()));
		}
		if (cancels) {
			cancel_flagged(t, &t->active, true);
			cancel_flagged(t, &t->delayed, false);
		}
		uint64_t now = now_ns(), next_due = UINT64_MAX;
		for (struct hcall *h = t->delayed, *nx; h; h = nx) {
			nx = h->next;
			if (h->not_before <= now) {
				list_del(&t->delayed, h);
				if (launch(t, h) < 0)
					complete(t, h, -1, xstrdup(gg_last_error()));
			} else if (h->not_before < next_due) {
				next_due = h->not_before;
			}
		}
		int running;
		curl_multi_perform(t->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(t->multi, &left)))
			if (m->msg == CURLMSG_DONE) {
				size_t k = 0;
				while (k < t->ntargets && t->targets[k].probe != m->easy_handle)
					k++;
				if (k < t->ntargets) {
					probe_finished(t, k, m->data.result, now_ns());
					continue;
				}
				struct hcall *h;
				curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
				on_finished(t, h, m->data.result);
			}
		check_silence(t, now_ns());
		/* completions may have added delayed retries */
		for (struct hcall *h = t->delayed; h; h = h->next)
			if (h->not_before < next_due)
				next_due = h->not_before;
		pthread_mutex_lock(&t->mu);
		bool idle = stop && !t->nlive;
		pthread_mutex_unlock(&t->mu);
		if (idle)
			break;
		int timeout = 1000;
		if (next_due != UINT64_MAX) {
			uint64_t ms = next_due > now ? (next_due - now) / 1000000 + 1 : 0;
			if (ms < (uint64_t)timeout)
				timeout = (int)ms;
		}
		curl_multi_poll(t->multi, NULL, 0, timeout, NULL);
	}
	return NULL;
}

/* ---- the transport table ---- */

static int h_start(struct remote_transport *rt, struct remote_call *call)
{
	struct htrans *t = (struct htrans *)rt;
	struct hcall *h = xcalloc(1, sizeof *h);
	h->call = call;
	h->target = -1;
	pthread_mutex_lock(&t->mu);
	h->next = t->inbox;
	t->inbox = h;
	t->nlive++;
	pthread_mutex_unlock(&t->mu);
	curl_multi_wakeup(t->multi);
	return 0;
}

static void h_cancel(struct remote_transport *rt, struct remote_call *call)
{
	struct htrans *t = (struct htrans *)rt;
	(void)call; /* flagged by the pipeline; the loop looks for flags */
	pthread_mutex_lock(&t->mu);
	t->cancel_pending = true;
	pthread_mutex_unlock(&t->mu);
	curl_multi_wakeup(t->multi);
}

static bool h_usable(struct remote_transport *rt, char **why)
{
	struct htrans *t = (struct htrans *)rt;
	if (!t->cfg.silence_s)
		return true;
	uint64_t now = now_ns();
	size_t hung = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->ntargets; i++)
		hung += t->targets[i].hung_until > now;
	pthread_mutex_unlock(&t->mu);
	if (hung < t->ntargets)
		return true;
	if (t->ntargets == 1)
		*why = xasprintf("worker %s stopped answering (silent for %u s)", t->targets[0].url,
		                 t->cfg.silence_s);
	else
		*why = xasprintf("all %zu workers stopped answering (silent for %u s; "
		                 "the first is %s)",
		                 t->ntargets, t->cfg.silence_s, t->targets[0].url);
	return false;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

static void h_destroy(struct remote_transport *rt)
{
	struct htrans *t = (struct htrans *)rt;
	if (t->thread_started) {
		pthread_mutex_lock(&t->mu);
		t->stopping = true;
		pthread_mutex_unlock(&t->mu);
		curl_multi_wakeup(t->multi);
		pthread_join(t->thread, NULL);
	}
	for (size_t i = 0; i < t->ntargets && t->targets; i++)
		if (t->targets[i].probe) {
			curl_multi_remove_handle(t->multi, t->targets[i].probe);
			curl_easy_cleanup(t->targets[i].probe);
		}
	for (size_t i = 0; i < t->nspare; i++)
		curl_easy_cleanup(t->spare[i]);
	free(t->spare);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	for (size_t i = 0; i < t->ntargets; i++)
		free(t->targets[i].url);
	free(t->targets);
	namemap_free(&t->running);
	free((char *)t->cfg.sigv4);
	wipe_free((char *)t->cfg.access_key);
	wipe_free((char *)t->cfg.secret_key);
	wipe_free((char *)t->cfg.session_token);
	wipe_free((char *)t->cfg.bearer);
	free((char *)t->cfg.ca_file);
	free((char *)t->cfg.client_cert);
	free((char *)t->cfg.client_key);
	free((char *)t->cfg.what);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static const struct remote_transport_ops http_transport_ops = {
    .start = h_start,
    .cancel = h_cancel,
    .destroy = h_destroy,
    .usable = h_usable,
};

int http_transport_create(const struct http_transport_config *c, struct remote_transport **out)
{
	if (!c->nurls)
		return gg_error("%s: no URL", c->what);
	uint64_t retry_after_max_ms;
	long connect_ms;
	if (http_retry_after_max_ms(&retry_after_max_ms) < 0 ||
	    gg_curl_connect_timeout_ms(&connect_ms) < 0 || gg_curl_load() < 0)
		return gg_error("%s: %s", c->what, gg_last_error());
	struct htrans *t = xcalloc(1, sizeof *t);
	t->retry_after_max_ms = retry_after_max_ms;
	t->connect_ms = connect_ms;
	t->base.ops = &http_transport_ops;
	t->cfg = *c;
	t->cfg.urls = NULL;
	t->cfg.what = xstrdup(c->what);
	t->cfg.sigv4 = c->sigv4 ? xstrdup(c->sigv4) : NULL;
	t->cfg.access_key = c->access_key ? xstrdup(c->access_key) : NULL;
	t->cfg.secret_key = c->secret_key ? xstrdup(c->secret_key) : NULL;
	t->cfg.session_token = c->session_token ? xstrdup(c->session_token) : NULL;
	t->cfg.bearer = c->bearer ? xstrdup(c->bearer) : NULL;
	t->cfg.ca_file = c->ca_file ? xstrdup(c->ca_file) : NULL;
	t->cfg.client_cert = c->client_cert ? xstrdup(c->client_cert) : NULL;
	t->cfg.client_key = c->client_key ? xstrdup(c->client_key) : NULL;
	if (!t->cfg.max_attempts)
		t->cfg.max_attempts = 1;
	if (!t->cfg.backoff_ms)
		t->cfg.backoff_ms = 100;
	t->targets = xcalloc(c->nurls, sizeof *t->targets);
	t->ntargets = c->nurls;
	for (size_t i = 0; i < c->nurls; i++)
		t->targets[i].url = xstrdup(c->urls[i]);
	pthread_mutex_init(&t->mu, NULL);
	t->multi = curl_multi_init();
	if (!t->multi) {
		h_destroy(&t->base);
		return gg_error("%s: cannot create a libcurl multi handle", c->what);
	}
	curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, 4096L);
	if (pthread_create(&t->thread, NULL, loop_main, t) != 0) {
		h_destroy(&t->base);
		return gg_error("%s: cannot start the event loop thread", c->what);
	}
	t->thread_started = true;
	*out = &t->base;
	return 0;
}

/* ---- the http engine ---- */

int engine_http_create(const char *args, int limit, const struct engine_config *cfg,
                       struct engine **out)
{
	if (!args || !*args)
		return gg_error("engine 'http' needs a URL: http=URL[,URL...] (e.g. "
		                "http=http://127.0.0.1:9000/execute)");
	struct strvec urls = STRVEC_INIT;
	char *copy = xstrdup(args), *save = NULL;
	int r = 0;
	for (char *u = strtok_r(copy, ",", &save); u && r == 0; u = strtok_r(NULL, ",", &save)) {
		struct url_authority a;
		if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
			r = gg_fail(GG_EUSAGE,
			            "engine http: '%s' is not an http:// or https:// URL", u);
		else if (url_authority_parse(strstr(u, "://") + 3, &a) < 0)
			r = gg_fail(GG_EUSAGE, "engine http: '%s': %s", u, gg_last_error());
		else
			url_authority_free(&a), strvec_push(&urls, u);
	}
	free(copy);
	uint64_t max_input, attempts, timeout_ms, silence_s;
	char *bearer = NULL;
	if (r == 0 && !urls.n)
		r = gg_error("engine http: no URL in '%s'", args);
	if (r == 0 && worker_token_for_client(&bearer) < 0)
		r = gg_error("engine http: %s", gg_last_error());
	if (r == 0)
		r = env_size("GG_HTTP_MAX_INPUT", 200ull << 20, 0, REMOTE_MAX_INPUT_MAX,
		             &max_input);
	if (r == 0)
		r = env_u64("GG_REMOTE_ATTEMPTS", 5, 0, REMOTE_ATTEMPTS_MAX, &attempts);
	if (r == 0)
		r = remote_env_timeout_ms(&timeout_ms);
	if (r == 0)
		r = env_u64("GG_WORKER_SILENCE", 30, 0, 86400, &silence_s);
	const char *ca = getenv("GG_WORKER_CA"), *cert = getenv("GG_WORKER_CERT"),
	           *key = getenv("GG_WORKER_KEY");
	ca = ca && *ca ? ca : NULL;
	cert = cert && *cert ? cert : NULL;
	key = key && *key ? key : cert; /* a PEM file may hold both */
	if (r == 0 && ca && access(ca, R_OK) < 0)
		r = gg_error_errno("engine http: GG_WORKER_CA=%s", ca);
	if (r == 0 && cert && access(cert, R_OK) < 0)
		r = gg_error_errno("engine http: GG_WORKER_CERT=%s", cert);
	if (r == 0 && key && access(key, R_OK) < 0)
		r = gg_error_errno("engine http: GG_WORKER_KEY=%s", key);
	if (r == 0 && key && !cert)
		r = gg_fail(GG_EUSAGE, "engine http: GG_WORKER_KEY without GG_WORKER_CERT");
	if (r < 0) {
		strvec_free(&urls);
		free(bearer);
		return -1;
	}
	struct http_transport_config hc = {
	    .urls = urls.v,
	    .nurls = urls.n,
	    .bearer = bearer,
	    .ca_file = ca,
	    .client_cert = cert,
	    .client_key = key,
	    .max_attempts = attempts ? (unsigned)attempts : 1,
	    .backoff_ms = 100,
	    .silence_s = (unsigned)silence_s,
	    .what = "http",
	};
	struct remote_transport *t;
	r = http_transport_create(&hc, &t);
	strvec_free(&urls);
	wipe_free(bearer);
	if (r < 0)
		return -1;
	struct remote_config rc = {
	    .label = "http",
	    .max_input_bytes = max_input,
	    .limit_hint = "set GG_HTTP_MAX_INPUT to change it",
	    .max_inline_thunk = 4u << 20,
	    .inline_limit = WIRE_INLINE_TOTAL,
	    .default_timeout_ms = timeout_ms,
	};
	return remote_engine_create(t, &rc, limit > 0 ? limit : 100, cfg, out);
}
