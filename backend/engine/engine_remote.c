/**
 * @file engine_remote.c
 * The pipeline of every remote engine (see engine_remote.h): per ready
 * thunk, upload the inputs the storage back-end lacks, build the wire
 * request, hand it to the transport, then check the reply, store inline
 * outputs, download the others (verified by name) and report to the
 * scheduler. Uploads and reply handling run on a few transfer threads, each
 * with its own storage handle, so they overlap with other executions and
 * the transport's thread only moves bytes. It does no HTTP and no retrying
 * of its own (transports retry transient errors; the scheduler retries
 * infrastructure failures).
 *
 * What storage has is remembered for this engine's lifetime only, and
 * forgotten as soon as a worker reports an object missing (an emptied
 * bucket is refilled on the retry, never looped on).
 */
#include "backend/engine/engine_remote.h"

#include "backend/remote/wire.h"
#include "backend/storage/storage.h"
#include "core/namemap.h"
#include "core/workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum phase { PH_UPLOAD, PH_CALL, PH_REPLY, PH_DONE };

struct rjob {
	struct rjob *prev, *next; /* the live list */
	struct rjob *qnext;       /* the transfer queue */
	struct engine_job *job;
	struct thunk copy; /* ours to encode (the scheduler's stays untouched) */
	struct remote_call call;
	enum phase phase; /* protected by mu */
	bool cancelled;   /* protected by mu */
};

struct remote {
	struct engine e;
	struct engine_config cfg;
	struct remote_config rc;
	char *storage_uri;
	char *storage_public;          /* without a password: what requests carry */
	struct storage *first_storage; /* opened by create, handed to a thread */
	struct remote_transport *t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* protected by mu */
	struct rjob *qhead, *qtail;
	struct rjob *live;
	struct namemap known; /* objects storage is known to have (value: (void *)1) */
	/* thunks a worker stopped at its carrier's deadline (value: (void *)1):
	 * this engine does not take them again */
	struct namemap too_long;
	size_t ntoo_long;
	int *free_slots;
	int nfree;
	bool stopping;
	struct workers threads;
};

/* ---- small helpers ---- */

int remote_env_timeout_ms(uint64_t *out)
{
	uint64_t s;
	*out = 0;
	if (env_u64("GG_REMOTE_TIMEOUT", 900, 0, REMOTE_TIMEOUT_MAX_S, &s) < 0)
		return -1;
	*out = s * 1000;
	return 0;
}

static void thunk_copy(const struct thunk *t, struct thunk *c)
{
	thunk_init(c);
	c->exe = xstrdup(t->exe);
	for (size_t i = 0; i < t->argv.n; i++)
		strvec_push(&c->argv, t->argv.v[i]);
	for (size_t i = 0; i < t->env.n; i++)
		strvec_push(&c->env, t->env.v[i]);
	for (size_t i = 0; i < t->outputs.n; i++)
		strvec_push(&c->outputs, t->outputs.v[i]);
	c->inputs = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *c->inputs);
	c->inputs_cap = t->ninputs;
	for (size_t i = 0; i < t->ninputs; i++) {
		c->inputs[i].path = xstrdup(t->inputs[i].path);
		gg_ref_copy(&c->inputs[i].ref, &t->inputs[i].ref);
		c->inputs[i].exec = t->inputs[i].exec;
		c->inputs[i].link = t->inputs[i].link;
	}
	c->ninputs = t->ninputs;
	c->timeout_ms = t->timeout_ms;
}

static void enqueue(struct remote *r, struct rjob *rj)
{
	FIFO_PUSH(r->qhead, r->qtail, rj, qnext);
	pthread_cond_signal(&r->cv);
}

/* Reports the job to the scheduler and forgets it. */
static void finish(struct remote *r, struct rjob *rj)
{
	pthread_mutex_lock(&r->mu);
	rj->phase = PH_DONE;
	if (rj->prev)
		rj->prev->next = rj->next;
	else
		r->live = rj->next;
	if (rj->next)
		rj->next->prev = rj->prev;
	if (r->nfree < r->e.limit)
		r->free_slots[r->nfree++] = rj->job->slot;
	pthread_mutex_unlock(&r->mu);
	struct engine_job *job = rj->job;
	thunk_free(&rj->copy);
	buf_free(&rj->call.body);
	buf_free(&rj->call.reply);
	free(rj->call.error);
	free(rj->call.where);
	free(rj);
	job->done(job);
}

/* Fails the job; code is a cause no retry can change (see permanent()), or 0. */
static void fail(struct remote *r, struct rjob *rj, enum gg_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct remote *r, struct rjob *rj, enum gg_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	rj->job->rc = -1;
	rj->job->code = code;
	free(rj->job->error);
	rj->job->error = m;
	finish(r, rj);
}

/* The code of the last error when a retry cannot change it (storage that
 * refuses the credentials, a bucket that does not exist), else 0: a storage
 * hiccup is worth another attempt. */
static enum gg_code permanent(enum gg_code c)
{
	return c == GG_EDENIED || c == GG_ENOTFOUND || c == GG_EUSAGE ? c : 0;
}

static bool is_cancelled(struct remote *r, struct rjob *rj)
{
	pthread_mutex_lock(&r->mu);
	bool c = rj->cancelled;
	pthread_mutex_unlock(&r->mu);
	return c;
}

/* ---- before the call: uploads and the request ---- */

static int upload(struct remote *r, struct storage *st, struct gg_name *names, size_t n)
{
	pthread_mutex_lock(&r->mu);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!namemap_get(&r->known, &names[i]))
			names[k++] = names[i];
	pthread_mutex_unlock(&r->mu);
	if (k == 0)
		return 0;
	if (storage_sync_up(st, r->cfg.store, names, k) < 0)
		return -1;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < k; i++)
		namemap_put(&r->known, &names[i], (void *)1);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void prepare(struct remote *r, struct rjob *rj, struct storage *st)
{
	struct buf enc = BUF_INIT;
	struct gg_name n;
	if (thunk_name(&rj->copy, &n, &enc) < 0 || !gg_name_eq(&n, &rj->job->name)) {
		buf_free(&enc);
		fail(r, rj, 0, "%s engine: the thunk does not encode to its name %s", r->rc.label,
		     rj->job->name.s);
		return;
	}
	struct gg_name *names = xcalloc(rj->copy.ninputs + 1, sizeof *names);
	size_t k = 0;
	for (size_t i = 0; i < rj->copy.ninputs; i++)
		names[k++] = rj->copy.inputs[i].ref.name;
	struct wire_request rq = {.thunk = rj->job->name,
	                          .storage = r->storage_public,
	                          .timeout_ms = r->cfg.exec.default_timeout_ms,
	                          .inline_limit = r->rc.inline_limit};
	bool inline_thunk = enc.len <= r->rc.max_inline_thunk;
	if (!inline_thunk) {
		/* too big for the payload: the worker fetches it by name */
		if (store_put_buf(r->cfg.store, enc.data, enc.len, 'T', &n) < 0) {
			free(names);
			buf_free(&enc);
			fail(r, rj, permanent(gg_last_code()), "%s engine: %s", r->rc.label,
			     gg_last_error());
			return;
		}
		names[k++] = n;
	}
	if (upload(r, st, names, k) < 0) {
		free(names);
		buf_free(&enc);
		fail(r, rj, permanent(gg_last_code()),
		     "%s engine: cannot upload the inputs of %s: %s", r->rc.label, rj->job->name.s,
		     gg_last_error());
		return;
	}
	free(names);
	if (inline_thunk) {
		rq.has_encoding = true;
		rq.encoding = enc;
		enc = (struct buf)BUF_INIT;
	}
	wire_request_encode(&rq, &rj->call.body);
	buf_free(&rq.encoding);
	buf_free(&enc);
	rj->call.timeout_ms = rj->copy.timeout_ms ? rj->copy.timeout_ms : r->rc.default_timeout_ms;
	pthread_mutex_lock(&r->mu);
	if (rj->cancelled) {
		pthread_mutex_unlock(&r->mu);
		fail(r, rj, GG_ECANCELLED, "cancelled");
		return;
	}
	rj->phase = PH_CALL;
	/* under mu: a cancel() always finds the call started */
	int s = r->t->ops->start(r->t, &rj->call);
	pthread_mutex_unlock(&r->mu);
	if (s < 0)
		fail(r, rj, permanent(gg_last_code()), "%s engine: %s", r->rc.label,
		     gg_last_error());
}

/* ---- after the call: the reply ---- */

static void forget_missing(struct remote *r, const struct wire_response *rs)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < rs->nmissing; i++)
		namemap_del(&r->known, &rs->missing[i]);
	pthread_mutex_unlock(&r->mu);
}

/* Checks the outputs against the thunk, stores inline ones, downloads the rest. */
static int collect_outputs(struct remote *r, struct rjob *rj, struct storage *st,
                           struct wire_response *rs, struct memo *m)
{
	const struct thunk *t = &rj->copy;
	const char *who = rj->call.where ? rj->call.where : "?";
	if (rs->noutputs != t->outputs.n)
		return gg_error("worker %s listed %zu outputs, the thunk declares %zu", who,
		                rs->noutputs, t->outputs.n);
	struct gg_name *down = xcalloc(rs->noutputs, sizeof *down);
	size_t ndown = 0;
	int ret = 0;
	for (size_t i = 0; i < rs->noutputs && ret == 0; i++) {
		struct wire_output *o = &rs->outputs[i];
		if (strcmp(o->path, t->outputs.v[i])) {
			ret = gg_error("worker %s listed output '%s' where the thunk declares '%s'",
			               who, o->path, t->outputs.v[i]);
			break;
		}
		if (o->link)
			memo_add_link(m, o->path, &o->value);
		else
			memo_add(m, o->path, &o->value, o->exec);
		if (o->has_inline) {
			struct gg_name got;
			if (store_put_buf(r->cfg.store, o->data.data, o->data.len,
			                  gg_name_kind(&o->value), &got) < 0)
				ret = -1;
			else if (!gg_name_eq(&got, &o->value))
				ret = gg_error(
				    "worker %s sent output '%s' as %s, but its bytes are %s", who,
				    o->path, o->value.s, got.s);
		} else if (store_has(r->cfg.store, &o->value) != 1) {
			down[ndown++] = o->value;
		}
	}
	if (ret == 0 && ndown) {
		/* what the worker uploaded, storage has */
		pthread_mutex_lock(&r->mu);
		for (size_t i = 0; i < ndown; i++)
			namemap_put(&r->known, &down[i], (void *)1);
		pthread_mutex_unlock(&r->mu);
	}
	const char *from = store_fetch_from(r->cfg.store);
	bool lazy = from && !strcmp(from, st->uri);
	if (ret == 0 && ndown) {
		/* Where the store fetches from this same storage, the outputs stay
		 * there, recorded as remote, until something reads them (a
		 * dependent thunk run here, the mount, gg cat, a placeholder
		 * replaced), and the fetch verifies them against their names; here
		 * the storage is only asked whether it has them. Otherwise they are
		 * downloaded (and verified) now. */
		bool *ok = xcalloc(ndown, sizeof *ok);
		int g = lazy ? st->ops->has(st, down, ndown, ok)
		             : st->ops->get(st, r->cfg.store, down, ndown, ok);
		for (size_t i = 0; lazy && g == 0 && i < ndown && ret == 0; i++)
			if (ok[i])
				ret = store_mark_remote(r->cfg.store, &down[i]);
		for (size_t i = 0; i < ndown && ret == 0; i++)
			if (!ok[i]) {
				pthread_mutex_lock(&r->mu);
				namemap_del(&r->known, &down[i]);
				pthread_mutex_unlock(&r->mu);
				ret = gg_error(
				    "cannot download output %s from %s (worker %s uploaded it): %s",
				    down[i].s, r->storage_public, who,
				    g < 0 ? gg_last_error() : "not there");
			}
		free(ok);
	}
	free(down);
	return ret;
}

static void fill_times(struct rjob *rj, const struct wire_response *rs, struct exec_result *er)
{
	uint64_t a = rj->call.t_sent, b = rj->call.t_received > a ? rj->call.t_received : a;
	er->t_start = a;
	er->t_end = b;
	if (rs->has_times && !rs->cached) {
		uint64_t ran = a + rs->fetch_ms * 1000000ull, end = ran + rs->run_ms * 1000000ull;
		er->t_ran = ran < b ? ran : b;
		er->t_run_end = end < b ? end : b;
		if (er->t_run_end < er->t_ran)
			er->t_run_end = er->t_ran;
	} else {
		er->t_ran = er->t_run_end = a;
	}
}

/* The thunk ran out of the carrier's time (Lambda's deadline): this engine
 * does not take it again, and the next attempt goes to another engine
 * (remote_can_execute). */
static void too_long(struct remote *r, const struct gg_name *thunk)
{
	pthread_mutex_lock(&r->mu);
	if (!namemap_get(&r->too_long, thunk)) {
		namemap_put(&r->too_long, thunk, (void *)1);
		r->ntoo_long++;
	}
	pthread_mutex_unlock(&r->mu);
}

static void handle_reply(struct remote *r, struct rjob *rj, struct storage *st)
{
	const char *who = rj->call.where ? rj->call.where : "?";
	if (is_cancelled(r, rj)) {
		fail(r, rj, GG_ECANCELLED, "cancelled");
		return;
	}
	if (rj->call.rc < 0) {
		enum gg_code code = rj->call.code;
		if (code == GG_ELIMIT) {
			/* timed out there: another engine may run it (see WIRE "deadline") */
			too_long(r, &rj->job->name);
			code = 0;
		}
		fail(r, rj, code, "%s engine: %s", r->rc.label,
		     rj->call.error ? rj->call.error : "the call failed");
		return;
	}
	struct wire_response rs;
	if (wire_response_parse(rj->call.reply.data ? rj->call.reply.data : "", rj->call.reply.len,
	                        &rs) < 0) {
		fail(r, rj, 0, "%s engine: a bad reply from %s: %s", r->rc.label, who,
		     gg_last_error());
		return;
	}
	if (!gg_name_eq(&rs.thunk, &rj->job->name)) {
		fail(r, rj, 0, "%s engine: %s answered for thunk %s instead of %s", r->rc.label,
		     who, rs.thunk.s, rj->job->name.s);
		wire_response_free(&rs);
		return;
	}
	const char *w = rs.worker ? rs.worker : who;
	struct engine_job *job = rj->job;
	struct exec_result *er = &job->result;
	memset(er, 0, sizeof *er);
	fill_times(rj, &rs, er);
	switch (rs.status) {
	case WIRE_INFRA:
		forget_missing(r, &rs);
		if (rs.deadline)
			too_long(r, &rj->job->name);
		fail(r, rj, 0, "%s worker %s: %s", r->rc.label, w, rs.infra_error);
		break;
	case WIRE_FAILED:
		job->rc = 0;
		er->outcome = EXEC_PROGRAM_FAILED;
		er->why = xasprintf("%s (on %s worker %s)", rs.why, r->rc.label, w);
		er->stderr_tail = rs.stderr_tail ? rs.stderr_tail : xstrdup("");
		rs.stderr_tail = NULL;
		er->timed_out = rs.timed_out;
		er->has_status = rs.has_exit;
		er->wait_status = !rs.has_exit        ? 0
		                  : rs.exit_signalled ? (int)rs.exit_code
		                                      : (int)rs.exit_code << 8;
		finish(r, rj);
		break;
	case WIRE_OK: {
		struct memo m = {0};
		if (collect_outputs(r, rj, st, &rs, &m) < 0) {
			memo_free(&m);
			fail(r, rj, permanent(gg_last_code()), "%s engine: %s", r->rc.label,
			     gg_last_error());
			break;
		}
		job->rc = 0;
		er->outcome = EXEC_OK;
		er->outputs = m;
		er->stderr_tail = xstrdup("");
		finish(r, rj);
		break;
	}
	}
	wire_response_free(&rs);
}

void remote_call_done(struct remote_call *call)
{
	struct rjob *rj = (struct rjob *)((char *)call - offsetof(struct rjob, call));
	struct remote *r = rj->job->engine->priv;
	pthread_mutex_lock(&r->mu);
	rj->phase = PH_REPLY;
	enqueue(r, rj);
	pthread_mutex_unlock(&r->mu);
}

/* ---- transfer threads ---- */

static void *transfer_main(void *p)
{
	struct remote *r = p;
	struct storage *st = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->first_storage) {
		st = r->first_storage;
		r->first_storage = NULL;
	}
	for (;;) {
		struct rjob *rj;
		WORKERS_NEXT(r->qhead, r->qtail, qnext, rj, r->stopping, &r->cv, &r->mu);
		if (!rj)
			break;
		enum phase ph = rj->phase;
		bool cancelled = rj->cancelled;
		pthread_mutex_unlock(&r->mu);
		if (cancelled && ph == PH_UPLOAD) {
			fail(r, rj, GG_ECANCELLED, "cancelled");
		} else if (!st && storage_open(r->storage_uri, &st) < 0) {
			st = NULL;
			fail(r, rj, permanent(gg_last_code()), "%s engine: %s", r->rc.label,
			     gg_last_error());
		} else if (ph == PH_UPLOAD) {
			prepare(r, rj, st);
		} else {
			handle_reply(r, rj, st);
		}
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	storage_close(st);
	return NULL;
}

/* ---- the engine table ---- */

static const char *human_size(uint64_t n, char out[32])
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return out;
}

static enum gg_code remote_can_execute(struct engine *e, const struct thunk *t, char **why)
{
	struct remote *r = e->priv;
	if (r->t->ops->usable && !r->t->ops->usable(r->t, why))
		return GG_EREMOTE;
	pthread_mutex_lock(&r->mu);
	bool any_too_long = r->ntoo_long > 0;
	pthread_mutex_unlock(&r->mu);
	if (any_too_long) {
		/* named from a copy: the scheduler's thunk is not ours to canonicalise */
		struct thunk c;
		struct gg_name n;
		bool too_long = false;
		thunk_copy(t, &c);
		int named = thunk_name(&c, &n, NULL);
		thunk_free(&c);
		if (named == 0) {
			pthread_mutex_lock(&r->mu);
			too_long = namemap_get(&r->too_long, &n) != NULL;
			pthread_mutex_unlock(&r->mu);
		}
		if (too_long) {
			*why = xasprintf(
			    "it exceeded the %s deadline on an earlier attempt (%s)", r->rc.label,
			    r->rc.deadline_hint ? r->rc.deadline_hint
			                        : "the function's timeout is too short for it");
			return GG_ELIMIT;
		}
	}
	if (!r->rc.max_input_bytes)
		return GG_OK;
	uint64_t total = 0;
	for (size_t i = 0; i < t->ninputs; i++)
		total += gg_name_size(&t->inputs[i].ref.name);
	if (total <= r->rc.max_input_bytes)
		return GG_OK;
	char a[32], b[32];
	*why = xasprintf("its inputs total %s, above the %s engine's limit of %s%s%s",
	                 human_size(total, a), r->rc.label, human_size(r->rc.max_input_bytes, b),
	                 r->rc.limit_hint ? "; " : "", r->rc.limit_hint ? r->rc.limit_hint : "");
	return GG_ELIMIT;
}

static int remote_submit(struct engine *e, struct engine_job *job)
{
	struct remote *r = e->priv;
	struct rjob *rj = xcalloc(1, sizeof *rj);
	rj->job = job;
	rj->call.name = job->name;
	thunk_copy(job->thunk, &rj->copy);
	pthread_mutex_lock(&r->mu);
	job->slot = r->nfree ? r->free_slots[--r->nfree] : 0;
	rj->next = r->live;
	if (r->live)
		r->live->prev = rj;
	r->live = rj;
	rj->phase = PH_UPLOAD;
	enqueue(r, rj);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void remote_cancel(struct engine *e, struct engine_job *job)
{
	struct remote *r = e->priv;
	pthread_mutex_lock(&r->mu);
	for (struct rjob *rj = r->live; rj; rj = rj->next)
		if (rj->job == job) {
			rj->cancelled = true;
			if (rj->phase == PH_CALL) {
				atomic_store(&rj->call.cancel_requested, true);
				r->t->ops->cancel(r->t, &rj->call);
			}
			break;
		}
	pthread_mutex_unlock(&r->mu);
}

static void remote_destroy(struct engine *e)
{
	struct remote *r = e->priv;
	/* the scheduler has had every job back: only idle threads remain */
	workers_stop(&r->threads, &r->mu, &r->cv, &r->stopping);
	if (r->t)
		r->t->ops->destroy(r->t);
	storage_close(r->first_storage);
	namemap_free(&r->known);
	namemap_free(&r->too_long);
	free(r->free_slots);
	free(r->storage_uri);
	free(r->storage_public);
	free(r->e.label);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

static const struct engine_ops remote_ops = {
    .name = "remote",
    .can_execute = remote_can_execute,
    .submit = remote_submit,
    .cancel = remote_cancel,
    .destroy = remote_destroy,
};

int remote_engine_create(struct remote_transport *t, const struct remote_config *rc, int limit,
                         const struct engine_config *cfg, struct engine **out)
{
	const char *uri =
	    cfg->storage_uri && *cfg->storage_uri ? cfg->storage_uri : getenv("GG_STORAGE");
	if (!uri || !*uri) {
		t->ops->destroy(t);
		return gg_error("the %s engine needs a storage back-end that its workers share: "
		                "give --storage URI "
		                "or set GG_STORAGE (s3://BUCKET, redis://HOST:PORT, file:///DIR)",
		                rc->label);
	}
	struct storage *st;
	if (storage_open(uri, &st) < 0) {
		t->ops->destroy(t);
		return -1;
	}
	uint64_t nthreads;
	if (env_u64("GG_REMOTE_THREADS", 8, 1, 256, &nthreads) < 0) {
		storage_close(st);
		t->ops->destroy(t);
		return -1;
	}
	struct remote *r = xcalloc(1, sizeof *r);
	r->e.ops = &remote_ops;
	r->e.label = xstrdup(rc->label);
	r->e.limit = limit;
	r->e.cost_per_second = rc->cost_per_second;
	r->e.priv = r;
	r->cfg = *cfg;
	r->rc = *rc;
	r->storage_uri = xstrdup(uri);
	r->storage_public = storage_uri_public(uri);
	r->first_storage = st;
	r->t = t;
	t->pipeline = r;
	r->free_slots = xcalloc((size_t)limit, sizeof *r->free_slots);
	for (int i = limit - 1; i >= 0; i--)
		r->free_slots[r->nfree++] = i;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (uint64_t i = 0; i < nthreads; i++)
		if (workers_add(&r->threads, transfer_main, r) < 0)
			break;
	if (!r->threads.n) {
		remote_destroy(&r->e);
		return gg_error("cannot start the %s engine's threads", rc->label);
	}
	*out = &r->e;
	return 0;
}
