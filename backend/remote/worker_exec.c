/**
 * @file worker_exec.c
 * What a worker does with one request, whatever carried it: check the thunk
 * against its name, fetch the missing inputs from the storage back-end in
 * one batch, run it by the execution contract (exec_thunk: namespaces where
 * they work, the plain directory otherwise), upload the outputs that do not
 * travel inline, and describe the outcome in a wire response. The worker's
 * own store is a warm cache, shrunk to --cache-size between requests. It
 * does not parse HTTP or talk to the Lambda Runtime API.
 */
#include "backend/remote/worker.h"

#include "backend/remote/wire.h"
#include "backend/storage/storage.h"
#include "core/json.h"
#include "core/sandbox.h"
#include "core/thunk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A storage handle not in use; one thread uses a handle at a time. */
struct pooled_storage {
	struct pooled_storage *next;
	struct storage *st;
	const char *key; /* the URI it was opened with (st->uri may have lost a password) */
};

int worker_init(struct worker *w, struct store *s)
{
	w->store = s;
	w->unisolated = w->exec.no_isolation || !sandbox_available();
	if (w->unisolated)
		store_distrust(s);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->slot_cv, NULL);
	pthread_rwlock_init(&w->gc_lock, NULL);
	char host[64] = "?";
	gethostname(host, sizeof host - 1);
	snprintf(w->ident, sizeof w->ident, "%s:%d", host, (int)getpid());
	if (w->jobs <= 0)
		w->jobs = 1;
	if (w->cache_size) {
		struct gc_stats st;
		if (store_gc(s, w->cache_size, &st) < 0)
			return -1;
		w->est_size = st.after;
	}
	return 0;
}

void worker_fini(struct worker *w)
{
	while (w->idle) {
		struct pooled_storage *p = w->idle;
		w->idle = p->next;
		storage_close(p->st);
		free(p);
	}
	buf_free(&w->last_reply);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->slot_cv);
	pthread_rwlock_destroy(&w->gc_lock);
}

bool worker_take_fault(struct worker *w, unsigned *counter)
{
	pthread_mutex_lock(&w->mu);
	bool hit = *counter > 0;
	if (hit)
		(*counter)--;
	pthread_mutex_unlock(&w->mu);
	return hit;
}

/* A handle for uri: an idle one if any, else a new one. */
static int storage_acquire(struct worker *w, const char *uri, struct storage **out)
{
	pthread_mutex_lock(&w->mu);
	for (struct pooled_storage **pp = &w->idle; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, uri)) {
			struct pooled_storage *p = *pp;
			*pp = p->next;
			pthread_mutex_unlock(&w->mu);
			*out = p->st;
			free(p);
			return 0;
		}
	pthread_mutex_unlock(&w->mu);
	return storage_open(uri, out);
}

/* key: the URI st was opened with, one of w->storage_allow (lives as long as w) */
static void storage_release(struct worker *w, struct storage *st, const char *key)
{
	if (!st)
		return;
	struct pooled_storage *p = xmalloc(sizeof *p);
	p->st = st;
	p->key = key;
	pthread_mutex_lock(&w->mu);
	p->next = w->idle;
	w->idle = p;
	pthread_mutex_unlock(&w->mu);
}

void worker_open_storage(struct worker *w)
{
	for (size_t i = 0; i < w->storage_allow.n; i++) {
		struct storage *st;
		if (storage_open(w->storage_allow.v[i], &st) < 0) {
			fprintf(stderr, "gg worker: %s\n", gg_last_error());
			continue;
		}
		storage_release(w, st, w->storage_allow.v[i]);
	}
}

static uint64_t ms_between(uint64_t a, uint64_t b)
{
	return b > a ? (b - a) / 1000000 : 0;
}

static void set_infra(struct wire_response *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_infra(struct wire_response *rs, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	rs->status = WIRE_INFRA;
	free(rs->infra_error);
	rs->infra_error = m;
}

/* Puts the thunk in the local store (from the request or from storage) and parses it. */
static int load_thunk(struct worker *w, const struct wire_request *rq, struct storage *st,
                      struct thunk *t, struct wire_response *rs)
{
	if (rq->has_encoding) {
		struct gg_name n;
		gg_name_of_buf(rq->encoding.data, rq->encoding.len, 'T', &n);
		if (!gg_name_eq(&n, &rq->thunk)) {
			set_infra(rs, "the request's encoding is not the thunk %s (its name is %s)",
			          rq->thunk.s, n.s);
			return -1;
		}
		if (store_put_buf(w->store, rq->encoding.data, rq->encoding.len, 'T', &n) < 0) {
			set_infra(rs, "cannot store the thunk: %s", gg_last_error());
			return -1;
		}
	} else if (store_has(w->store, &rq->thunk) != 1) {
		bool ok = false;
		int r = st->ops->get(st, w->store, &rq->thunk, 1, &ok);
		if (!ok) {
			set_infra(rs, "cannot fetch the thunk from %s: %s", st->uri,
			          r < 0 ? gg_last_error() : "not there");
			rs->missing = xmalloc(sizeof *rs->missing);
			rs->missing[0] = rq->thunk;
			rs->nmissing = 1;
			return -1;
		}
	}
	struct buf b = BUF_INIT;
	int r = store_read(w->store, &rq->thunk, &b, THUNK_MAX_SIZE);
	if (r == 0)
		r = thunk_parse(b.data, b.len, t);
	buf_free(&b);
	if (r < 0) {
		set_infra(rs, "cannot read the thunk: %s", gg_last_error());
		return -1;
	}
	if (!thunk_is_reduced(t)) {
		thunk_free(t);
		set_infra(rs, "the thunk is not reduced: an input is still a thunk's output");
		return -1;
	}
	return 0;
}

/* Fetches the inputs the local store lacks, in one batch. */
static int fetch_inputs(struct worker *w, const struct thunk *t, struct storage *st,
                        struct wire_response *rs, uint64_t *fetched)
{
	struct gg_name *want = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *want);
	size_t n = 0;
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct gg_name *v = &t->inputs[i].ref.name;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = gg_name_eq(&want[k], v);
		if (!dup && store_has(w->store, v) != 1)
			want[n++] = *v;
	}
	int ret = 0;
	if (n) {
		bool *ok = xcalloc(n, sizeof *ok);
		int r = st->ops->get(st, w->store, want, n, ok);
		char *err = r < 0 ? xstrdup(gg_last_error()) : NULL;
		size_t nmiss = 0;
		for (size_t i = 0; i < n; i++) {
			if (ok[i])
				*fetched += gg_name_size(&want[i]);
			else
				want[nmiss++] = want[i];
		}
		if (nmiss) {
			set_infra(rs, "%zu of %zu inputs could not be fetched from %s%s%s", nmiss,
			          n, st->uri, err ? ": " : " (not there)", err ? err : "");
			rs->missing = xmalloc(nmiss * sizeof *rs->missing);
			memcpy(rs->missing, want, nmiss * sizeof *want);
			rs->nmissing = nmiss;
			ret = -1;
		}
		free(err);
		free(ok);
	}
	free(want);
	return ret;
}

/* Benchmarks: outputs made from the thunk's name, nothing run. */
static int fake_exec(struct store *s, const struct gg_name *name, const struct thunk *t,
                     struct exec_result *r)
{
	memset(r, 0, sizeof *r);
	r->t_start = r->t_ran = now_ns();
	for (size_t i = 0; i < t->outputs.n; i++) {
		char *text = xasprintf("%s %s\n", name->s, t->outputs.v[i]);
		struct gg_name v;
		int k = store_put_buf(s, text, strlen(text), 'V', &v);
		free(text);
		if (k < 0)
			return -1;
		memo_add(&r->outputs, t->outputs.v[i], &v, false);
	}
	r->outcome = EXEC_OK;
	r->t_run_end = r->t_end = now_ns();
	return 0;
}

static void describe_failure(struct wire_response *rs, struct exec_result *er)
{
	rs->status = WIRE_FAILED;
	rs->why = er->why ? er->why : xstrdup("failed");
	er->why = NULL;
	rs->stderr_tail = er->stderr_tail;
	er->stderr_tail = NULL;
	rs->timed_out = er->timed_out;
	/* "exit" only when the program ran and its end is known (not when it
	 * could not be executed: its wait status is no status then) */
	if (er->has_status && WIFEXITED(er->wait_status)) {
		rs->has_exit = true;
		rs->exit_code = (uint64_t)WEXITSTATUS(er->wait_status);
	} else if (er->has_status && WIFSIGNALED(er->wait_status)) {
		rs->has_exit = true;
		rs->exit_signalled = true;
		rs->exit_code = (uint64_t)WTERMSIG(er->wait_status);
	}
}

/* Lists the outputs in the thunk's order, inlining small ones; uploads the rest. */
static int reply_outputs(struct worker *w, const struct wire_request *rq, const struct thunk *t,
                         const struct memo *m, struct storage *st, struct wire_response *rs)
{
	struct gg_name *up = xcalloc(t->outputs.n, sizeof *up);
	size_t nup = 0;
	uint64_t budget = rq->inline_limit;
	for (size_t i = 0; i < t->outputs.n; i++) {
		const struct memo_output *o = memo_find(m, t->outputs.v[i]);
		if (!o) {
			free(up);
			set_infra(rs, "the memo lacks output '%s'", t->outputs.v[i]);
			return -1;
		}
		wire_response_add_output(rs, o->path, &o->value, o->exec);
		struct wire_output *wo = &rs->outputs[rs->noutputs - 1];
		wo->link = o->link;
		uint64_t size = gg_name_size(&o->value);
		if (size <= WIRE_INLINE_EACH && size <= budget &&
		    store_read(w->store, &o->value, &wo->data, WIRE_INLINE_EACH) == 0) {
			wo->has_inline = true;
			budget -= size;
		} else {
			buf_free(&wo->data);
			up[nup++] = o->value;
		}
	}
	int r = nup ? storage_sync_up(st, w->store, up, nup) : 0;
	free(up);
	if (r < 0) {
		set_infra(rs, "cannot upload outputs to %s: %s", st->uri, gg_last_error());
		return -1;
	}
	return 0;
}

/* The request's work, under a slot and the shared gc lock. */
static void run_request(struct worker *w, const char *storage_uri, const struct wire_request *rq,
                        struct wire_response *rs, uint64_t *added, const struct gg_cancel *cancel)
{
	uint64_t t0 = now_ns(), t1 = t0, t2 = t0;
	struct storage *st = NULL;
	if (storage_acquire(w, storage_uri, &st) < 0) {
		set_infra(rs, "cannot open storage: %s", gg_last_error());
		return;
	}
	struct thunk t;
	if (load_thunk(w, rq, st, &t, rs) < 0) {
		storage_release(w, st, storage_uri);
		return;
	}
	int lock = store_lock_thunk(w->store, &rq->thunk);
	struct memo memo = {0};
	struct exec_result er;
	memset(&er, 0, sizeof er);
	if (lock < 0) {
		set_infra(rs, "%s", gg_last_error());
	} else if (!w->unisolated && memo_get(w->store, &rq->thunk, &memo) == 1) {
		/* (unisolated, an earlier thunk could have written that entry) */
		rs->cached = true;
		t1 = t2 = now_ns();
	} else if (w->deadline_ns && now_ns() >= w->deadline_ns) {
		set_infra(rs, "no time was left before the Lambda deadline to run it");
		rs->deadline = true;
	} else if (fetch_inputs(w, &t, st, rs, added) == 0) {
		t1 = now_ns();
		if (worker_take_fault(w, &w->faults.die)) {
			fprintf(stderr,
			        "gg worker: --fault-inject die: exiting in the middle of %s\n",
			        rq->thunk.s);
			_exit(137);
		}
		if (w->faults.slow_ms) {
			struct timespec ts = {w->faults.slow_ms / 1000,
			                      (long)(w->faults.slow_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		struct exec_opts eo = w->exec;
		if (cancel)
			eo.cancel = cancel;
		if (rq->timeout_ms)
			eo.default_timeout_ms = rq->timeout_ms;
		eo.deadline_ns = w->deadline_ns;
		int r = w->fake_exec ? fake_exec(w->store, &rq->thunk, &t, &er)
		                     : exec_thunk(w->store, &t, &eo, &er);
		t2 = now_ns();
		if (er.leftovers > 0 && w->verbose)
			fprintf(stderr,
			        "gg worker: %s: ended %d processes the thunk left running\n",
			        rq->thunk.s, er.leftovers);
		if (r < 0) {
			set_infra(rs, "%s", gg_last_error());
		} else if (er.deadline_hit) {
			set_infra(
			    rs,
			    "it ran past the Lambda deadline: stopped after %.1f s, %.1f s before "
			    "Lambda-Runtime-Deadline-Ms (the function's timeout is too short for "
			    "it)",
			    (double)ms_between(t1, t2) / 1000.0,
			    (double)LAMBDA_DEADLINE_MARGIN_MS / 1000.0);
			rs->deadline = true;
		} else if (er.outcome != EXEC_OK) {
			describe_failure(rs, &er);
		} else if (memo_put(w->store, &rq->thunk, &er.outputs) < 0) {
			set_infra(rs, "%s", gg_last_error());
		} else {
			memo = er.outputs;
			er.outputs = (struct memo){0};
			for (size_t i = 0; i < memo.n; i++)
				*added += gg_name_size(&memo.v[i].value);
		}
	}
	if (lock >= 0 && rs->status == WIRE_OK && reply_outputs(w, rq, &t, &memo, st, rs) < 0) {
		for (size_t i = 0; i < rs->noutputs; i++) {
			free(rs->outputs[i].path);
			buf_free(&rs->outputs[i].data);
		}
		free(rs->outputs);
		rs->outputs = NULL;
		rs->noutputs = rs->outputs_cap = 0;
	}
	if (lock >= 0)
		close(lock);
	rs->has_times = true;
	rs->fetch_ms = ms_between(t0, t1);
	rs->run_ms = ms_between(t1, t2);
	rs->upload_ms = ms_between(t2, now_ns());
	memo_free(&memo);
	exec_result_free(&er);
	thunk_free(&t);
	storage_release(w, st, storage_uri);
}

static void maybe_gc(struct worker *w, uint64_t added)
{
	if (!w->cache_size)
		return;
	pthread_mutex_lock(&w->mu);
	w->est_size += added;
	bool due = w->est_size > w->cache_size;
	pthread_mutex_unlock(&w->mu);
	if (!due)
		return;
	pthread_rwlock_wrlock(&w->gc_lock);
	struct gc_stats st;
	/* shrink below the cap, so that gc does not run after every request */
	if (store_gc(w->store, w->cache_size / 10 * 8, &st) == 0) {
		pthread_mutex_lock(&w->mu);
		w->est_size = st.after;
		pthread_mutex_unlock(&w->mu);
		if (w->verbose)
			fprintf(stderr,
			        "gg worker: cache shrunk from %llu to %llu bytes (%llu objects "
			        "removed)\n",
			        (unsigned long long)st.before, (unsigned long long)st.after,
			        (unsigned long long)st.removed_objects);
	}
	pthread_rwlock_unlock(&w->gc_lock);
}

/*
 * The worker's own URI (with its credentials) for the storage a request
 * names, or NULL: a request may name only storage the worker was given (its
 * own, and the allow-list), exactly or in its public form (no password, as
 * engines send it). Otherwise a client could make it write anywhere it can
 * (file://) or connect anywhere (an s3:// or redis:// endpoint of its choosing).
 */
static const char *storage_allowed(const struct worker *w, const char *uri)
{
	for (size_t i = 0; i < w->storage_allow.n; i++) {
		const char *own = w->storage_allow.v[i];
		char *pub = storage_uri_public(own);
		bool same = !strcmp(own, uri) || !strcmp(pub, uri);
		free(pub);
		if (same)
			return own;
	}
	return NULL;
}

/* --fault-inject corrupt: a byte of the first inline output changes, its name stays. */
static void fault_corrupt(struct worker *w, struct wire_response *rs)
{
	if (rs->status != WIRE_OK)
		return;
	for (size_t i = 0; i < rs->noutputs; i++) {
		struct wire_output *o = &rs->outputs[i];
		if (!o->has_inline || !o->data.len)
			continue;
		if (worker_take_fault(w, &w->faults.corrupt)) {
			o->data.data[0] ^= 0x20;
			fprintf(stderr,
			        "gg worker: --fault-inject corrupt: changed a byte of output '%s' "
			        "of %s\n",
			        o->path, rs->thunk.s);
		}
		return;
	}
}

/* --fault-inject other-thunk: from the second request on, the reply goes out
 * as the first request's. */
static void fault_other_thunk(struct worker *w, struct buf *resp, const char *thunk)
{
	pthread_mutex_lock(&w->mu);
	if (w->faults.other_thunk && w->last_reply.len) {
		w->faults.other_thunk--;
		buf_reset(resp);
		buf_add(resp, w->last_reply.data, w->last_reply.len);
		fprintf(stderr,
		        "gg worker: --fault-inject other-thunk: answering %s with an earlier "
		        "request's reply\n",
		        thunk);
	} else if (w->faults.other_thunk) {
		buf_add(&w->last_reply, resp->data, resp->len);
	}
	pthread_mutex_unlock(&w->mu);
}

void worker_handle(struct worker *w, const char *req, size_t len, struct buf *resp,
                   int *http_status, const struct gg_cancel *cancel)
{
	struct wire_request rq;
	uint64_t t0 = now_ns();
	if (wire_request_parse(req, len, &rq) < 0) {
		*http_status = 400;
		buf_printf(resp, "{\"v\":%d,\"error\":", WIRE_VERSION);
		json_add_cstring(resp, gg_last_error());
		buf_addc(resp, '}');
		if (w->verbose)
			fprintf(stderr, "gg worker: bad request: %s\n", gg_last_error());
		return;
	}
	const char *own = storage_allowed(w, rq.storage);
	if (!own) {
		/* not echoed: a URI may carry a password */
		static const char msg[] =
		    "the request names a storage this worker does not allow (it allows its "
		    "GG_STORAGE and --storage-allow URIs)";
		*http_status = 403;
		buf_printf(resp, "{\"v\":%d,\"error\":", WIRE_VERSION);
		json_add_string(resp, msg, sizeof msg - 1);
		buf_addc(resp, '}');
		if (w->verbose)
			fprintf(stderr, "gg worker: refused %s: %s\n", rq.thunk.s, msg);
		wire_request_free(&rq);
		return;
	}
	*http_status = 200;
	struct wire_response rs = {.thunk = rq.thunk, .status = WIRE_OK};
	pthread_mutex_lock(&w->mu);
	while (w->busy >= w->jobs)
		pthread_cond_wait(&w->slot_cv, &w->mu);
	w->busy++;
	pthread_mutex_unlock(&w->mu);

	uint64_t added = 0;
	pthread_rwlock_rdlock(&w->gc_lock);
	run_request(w, own, &rq, &rs, &added, cancel);
	pthread_rwlock_unlock(&w->gc_lock);

	pthread_mutex_lock(&w->mu);
	w->busy--;
	w->served++;
	pthread_cond_signal(&w->slot_cv);
	pthread_mutex_unlock(&w->mu);
	maybe_gc(w, added);

	rs.worker = xstrdup(w->ident);
	fault_corrupt(w, &rs);
	if (wire_response_encode(&rs, resp) < 0) {
		buf_reset(resp);
		struct wire_response e = {.thunk = rq.thunk, .status = WIRE_INFRA};
		e.infra_error = xstrdup(gg_last_error());
		wire_response_encode(&e, resp);
		wire_response_free(&e);
	}
	fault_other_thunk(w, resp, rq.thunk.s);
	if (w->verbose)
		fprintf(stderr, "gg worker: %s %s in %llu ms%s%s%s\n", rq.thunk.s,
		        rs.status == WIRE_OK       ? "ok"
		        : rs.status == WIRE_FAILED ? "failed"
		                                   : "infra error",
		        (unsigned long long)ms_between(t0, now_ns()), rs.cached ? " (memo)" : "",
		        rs.infra_error ? ": " : "", rs.infra_error ? rs.infra_error : "");
	wire_response_free(&rs);
	wire_request_free(&rq);
}
