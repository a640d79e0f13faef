/**
 * @file scheduler.c
 * The dependency scheduler (API and guarantees in scheduler.h).
 *
 * Data structures, all protected by sched.mu:
 *  - nodes: thunk name -> struct node, one per thunk being or already forced.
 *    A failed node is removed from the map (kept in `graveyard` until
 *    sched_free) so that a later request starts afresh.
 *  - a waiter is one pending resolution of "NODE#OUTPUT": either an external
 *    request (a callback) or an input slot of another node (an edge of the
 *    graph). Resolving may follow a dynamic graph: an output that is itself a
 *    thunk is requested in turn.
 *  - work: requests not yet looked at. Loading a graph is iterative (no
 *    recursion), so a chain of 100,000 thunks loads in constant stack.
 *  - ready: FIFO of nodes whose inputs are all values; worker threads take
 *    from it and execute outside the lock.
 * Callbacks are collected while the lock is held and delivered after it is
 * released.
 */
#include "scheduler.h"

#include "namemap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum node_state { N_WAITING, N_READY, N_RUNNING, N_DONE, N_FAILED };

struct node;

struct waiter {
	struct waiter *next;
	char *output; /* NULL = the node's primary output */
	struct node *node; /* internal: this node's input `input` waits */
	size_t input;
	sched_done_fn fn; /* external */
	void *arg;
};

struct node {
	struct gg_name name;
	enum node_state state;
	struct thunk thunk;       /* freed once done */
	struct gg_name *resolved; /* per input: the value of a thunk-output input */
	size_t pending;           /* inputs still unresolved */
	char *primary;            /* first output */
	char *label;              /* short description for progress and trace */
	struct memo memo;         /* when done */
	const char *error;        /* when failed (owned by the graveyard) */
	struct waiter *waiters;
	struct node *next_ready;
	bool cached;
};

struct work {
	struct gg_ref ref;
	struct waiter *w;
};

struct callback {
	sched_done_fn fn;
	void *arg;
	struct sched_outcome o;
};

/* Things to do once the lock is dropped. */
struct cbs {
	struct callback *v;
	size_t n, cap;
};

struct sched {
	struct store *store;
	struct sched_opts o;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	struct namemap nodes;
	struct work *work;
	size_t nwork, work_cap;
	struct node *ready_head, *ready_tail;
	pthread_t *workers;
	int nworkers;
	bool shutdown, stopping;
	struct sched_stats stats;
	struct node **graveyard;
	size_t ngrave;
	char **errors; /* strings handed out in outcomes */
	size_t nerrors;
	struct buf trace;
	uint64_t t0;
	pthread_t progress;
	bool progress_on;
	pthread_cond_t progress_cv;
};

static void add_cb(struct cbs *c, sched_done_fn fn, void *arg, const struct sched_outcome *o)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = (struct callback){fn, arg, *o};
}

static void deliver(struct cbs *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->v[i].fn(c->v[i].arg, &c->v[i].o);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* Keeps an error string alive until sched_free; returns it. */
static const char *keep_error(struct sched *s, char *e)
{
	s->errors = xrealloc(s->errors, (s->nerrors + 1) * sizeof *s->errors);
	s->errors[s->nerrors++] = e;
	return e;
}

static void push_work(struct sched *s, const struct gg_ref *ref, struct waiter *w)
{
	if (s->nwork == s->work_cap) {
		s->work_cap = s->work_cap ? 2 * s->work_cap : 64;
		s->work = xrealloc(s->work, s->work_cap * sizeof *s->work);
	}
	struct work *wk = &s->work[s->nwork++];
	gg_ref_copy(&wk->ref, ref);
	wk->w = w;
}

static struct waiter *new_waiter(const char *output)
{
	struct waiter *w = xcalloc(1, sizeof *w);
	w->output = output ? xstrdup(output) : NULL;
	return w;
}

static void free_waiter(struct waiter *w)
{
	free(w->output);
	free(w);
}

static void make_ready(struct sched *s, struct node *n)
{
	n->state = N_READY;
	n->next_ready = NULL;
	if (s->ready_tail)
		s->ready_tail->next_ready = n;
	else
		s->ready_head = n;
	s->ready_tail = n;
	s->stats.queued++;
	pthread_cond_signal(&s->work_cv);
}

static void fail_node(struct sched *s, struct node *n, const char *err, struct cbs *cbs);

/* A waiter got its value. */
static void waiter_ok(struct sched *s, struct waiter *w, const struct gg_name *v, bool exec, struct cbs *cbs)
{
	if (w->fn) {
		struct sched_outcome o = {.status = 0, .value = *v, .exec = exec};
		add_cb(cbs, w->fn, w->arg, &o);
	} else {
		struct node *t = w->node;
		if (t->state == N_WAITING) {
			t->resolved[w->input] = *v;
			if (--t->pending == 0)
				make_ready(s, t);
		}
	}
	free_waiter(w);
}

static void waiter_fail(struct sched *s, struct waiter *w, const char *err, struct cbs *cbs)
{
	if (w->fn) {
		struct sched_outcome o = {.status = -1, .error = err};
		add_cb(cbs, w->fn, w->arg, &o);
	} else if (w->node->state == N_WAITING) {
		fail_node(s, w->node, err, cbs);
	}
	free_waiter(w);
}

/* The node is done: answer the waiter, following a dynamic graph. */
static void resolve_waiter(struct sched *s, struct node *n, struct waiter *w, struct cbs *cbs)
{
	const char *out = w->output ? w->output : n->primary;
	const struct memo_output *mo = memo_find(&n->memo, out);
	if (!mo) {
		char *e = xasprintf("thunk %s has no output '%s'", n->name.s, out);
		waiter_fail(s, w, keep_error(s, e), cbs);
		return;
	}
	if (gg_name_kind(&mo->value) == GG_THUNK) {
		/* A dynamic graph: the output is a thunk; its primary output is the answer. */
		free(w->output);
		w->output = NULL;
		struct gg_ref next = {mo->value, NULL};
		push_work(s, &next, w);
		return;
	}
	waiter_ok(s, w, &mo->value, mo->exec, cbs);
}

static void bury(struct sched *s, struct node *n)
{
	namemap_del(&s->nodes, &n->name);
	s->graveyard = xrealloc(s->graveyard, (s->ngrave + 1) * sizeof *s->graveyard);
	s->graveyard[s->ngrave++] = n;
}

static void stop_everything(struct sched *s, struct cbs *cbs)
{
	if (s->stopping)
		return;
	s->stopping = true;
	const char *e = keep_error(
		s, xstrdup("not started: an earlier thunk failed (use --keep-going to go on)"));
	/* Collect first: failing nodes removes them from the map. */
	struct node **v = xmalloc((s->nodes.len + 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < s->nodes.cap; i++) {
		struct node *n = s->nodes.slots[i].used ? s->nodes.slots[i].value : NULL;
		if (n && (n->state == N_WAITING || n->state == N_READY))
			v[k++] = n;
	}
	for (size_t i = 0; i < k; i++)
		if (v[i]->state == N_WAITING || v[i]->state == N_READY)
			fail_node(s, v[i], e, cbs);
	free(v);
}

static void fail_node(struct sched *s, struct node *n, const char *err, struct cbs *cbs)
{
	if (n->state == N_READY) {
		/* unlink from the ready queue */
		struct node **pp = &s->ready_head, *prev = NULL;
		while (*pp && *pp != n)
			prev = *pp, pp = &(*pp)->next_ready;
		if (*pp) {
			*pp = n->next_ready;
			if (s->ready_tail == n)
				s->ready_tail = prev;
			s->stats.queued--;
		}
	}
	n->state = N_FAILED;
	n->error = err;
	s->stats.failed++;
	bury(s, n);
	struct waiter *w = n->waiters;
	n->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		waiter_fail(s, w, err, cbs);
		w = next;
	}
}

static char *make_label(const struct thunk *t)
{
	const char *a0 = t->argv.n >= 5 && !strcmp(t->argv.v[1], "--library-path") ? t->argv.v[4] : t->argv.v[0];
	const char *base = strrchr(a0, '/');
	return xasprintf("%s %s", base ? base + 1 : a0, t->outputs.v[0]);
}

/* Finds or loads a node. NULL with an error if the thunk cannot be read. */
static struct node *node_get(struct sched *s, const struct gg_name *name, struct cbs *cbs)
{
	struct node *n = namemap_get(&s->nodes, name);
	if (n)
		return n;
	struct buf b = BUF_INIT;
	struct thunk t;
	if (store_read(s->store, name, &b, THUNK_MAX_SIZE) < 0 || thunk_parse(b.data, b.len, &t) < 0) {
		char *e = xasprintf("cannot load thunk %s: %s", name->s, gg_last_error());
		gg_error("%s", e);
		free(e);
		buf_free(&b);
		return NULL;
	}
	buf_free(&b);
	n = xcalloc(1, sizeof *n);
	n->name = *name;
	n->primary = xstrdup(t.outputs.v[0]);
	n->label = make_label(&t);
	namemap_put(&s->nodes, name, n);
	if (memo_get(s->store, name, &n->memo) == 1) {
		n->state = N_DONE;
		n->cached = true;
		s->stats.cached++;
		thunk_free(&t);
		return n;
	}
	n->thunk = t;
	n->state = N_WAITING;
	n->resolved = xcalloc(t.ninputs ? t.ninputs : 1, sizeof *n->resolved);
	n->pending = 1; /* a guard while the inputs are requested */
	for (size_t i = 0; i < t.ninputs; i++) {
		if (!t.inputs[i].ref.output)
			continue;
		n->pending++;
		struct waiter *w = new_waiter(t.inputs[i].ref.output);
		w->node = n;
		w->input = i;
		push_work(s, &t.inputs[i].ref, w);
	}
	if (--n->pending == 0)
		make_ready(s, n);
	(void)cbs;
	return n;
}

/* Processes queued requests until none is left. */
static void drain(struct sched *s, struct cbs *cbs)
{
	while (s->nwork) {
		struct work wk = s->work[--s->nwork];
		struct waiter *w = wk.w;
		if (gg_name_kind(&wk.ref.name) == GG_VALUE) {
			if (store_has(s->store, &wk.ref.name) == 1) {
				waiter_ok(s, w, &wk.ref.name, false, cbs);
			} else {
				char *e = xasprintf("object %s is not in the store", wk.ref.name.s);
				waiter_fail(s, w, keep_error(s, e), cbs);
			}
			gg_ref_free(&wk.ref);
			continue;
		}
		if (!w->output && wk.ref.output)
			w->output = xstrdup(wk.ref.output);
		struct node *n = w->node && w->node->state != N_WAITING ? NULL : node_get(s, &wk.ref.name, cbs);
		if (!n) {
			if (w->node && w->node->state != N_WAITING)
				free_waiter(w); /* its node already failed */
			else
				waiter_fail(s, w, keep_error(s, xstrdup(gg_last_error())), cbs);
		} else if (n->state == N_DONE) {
			resolve_waiter(s, n, w, cbs);
		} else {
			w->next = n->waiters;
			n->waiters = w;
		}
		gg_ref_free(&wk.ref);
	}
}

void sched_force_async(struct sched *s, const struct gg_ref *ref, sched_done_fn fn, void *arg)
{
	struct cbs cbs = {0};
	pthread_mutex_lock(&s->mu);
	struct waiter *w = new_waiter(ref->output);
	w->fn = fn;
	w->arg = arg;
	push_work(s, ref, w);
	drain(s, &cbs);
	pthread_mutex_unlock(&s->mu);
	deliver(&cbs);
}

/* ---- execution ---- */

static void trace_event(struct sched *s, const char *name, const char *phase, int slot, uint64_t a, uint64_t b)
{
	if (!s->o.trace_path || b < a)
		return;
	if (s->trace.len)
		buf_adds(&s->trace, ",\n");
	buf_adds(&s->trace, "{\"name\":");
	buf_add_json_string(&s->trace, name);
	buf_printf(&s->trace, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f}", phase,
		   slot, (double)(a - s->t0) / 1e3, (double)(b - a) / 1e3);
}

static char *failure_message(const struct node *n, const struct thunk *t, const struct exec_result *r)
{
	struct buf b = BUF_INIT;
	char *cmd = thunk_command_line(t);
	buf_printf(&b, "thunk %s (%s) failed: %s\n  command: %s", n->name.s, n->label, r->why, cmd);
	free(cmd);
	if (r->stderr_tail && *r->stderr_tail) {
		buf_adds(&b, "\n  stderr (last lines):");
		const char *p = r->stderr_tail;
		size_t len = strlen(p);
		/* at most the last 10 lines */
		int lines = 0;
		for (size_t i = len; i > 0; i--)
			if (p[i - 1] == '\n' && i != len && ++lines == 10) {
				p += i;
				break;
			}
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t k = nl ? (size_t)(nl - p) : strlen(p);
			buf_printf(&b, "\n    %.*s", (int)k, p);
			p += k + (nl ? 1 : 0);
		}
	}
	return buf_steal(&b);
}

/* Runs a node outside the lock. 0 = done (memo filled), -1 = failed (*err set). */
static int run_node(struct sched *s, struct node *n, struct thunk *reduced, int slot, struct memo *memo,
		    bool *cached, char **err)
{
	struct gg_name rname;
	if (thunk_name(reduced, &rname, NULL) < 0) {
		*err = xasprintf("thunk %s: %s", n->name.s, gg_last_error());
		return -1;
	}
	int lock = store_lock_thunk(s->store, &rname);
	if (lock < 0) {
		*err = xstrdup(gg_last_error());
		return -1;
	}
	int ret = 0;
	/* Another process may have run it while we waited for the lock; both
	 * names are memoised, the reduced one catches more (early cut-off). */
	if (memo_get(s->store, &rname, memo) == 1) {
		*cached = true;
	} else {
		int retries = s->o.max_retries < 0 ? 3 : s->o.max_retries;
		struct exec_result r;
		for (int attempt = 0;; attempt++) {
			int e = s->o.execute ? s->o.execute(s->o.execute_ctx, s->store, reduced, &s->o.exec, &r)
					     : exec_thunk(s->store, reduced, &s->o.exec, &r);
			if (e == 0)
				break;
			if (attempt >= retries) {
				*err = xasprintf("thunk %s (%s) could not be run after %d attempts: %s", n->name.s,
						 n->label, attempt + 1, gg_last_error());
				exec_result_free(&r);
				close(lock);
				return -1;
			}
			exec_result_free(&r);
			struct timespec ts = {0, (long)(50000000L << attempt) + rand() % 50000000L};
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&s->mu);
		trace_event(s, n->label, "materialise", slot, r.t_start, r.t_ran);
		trace_event(s, n->label, "run", slot, r.t_ran, r.t_run_end);
		trace_event(s, n->label, "store outputs", slot, r.t_run_end, r.t_end);
		pthread_mutex_unlock(&s->mu);
		if (r.outcome != EXEC_OK) {
			*err = failure_message(n, reduced, &r);
			ret = -1;
		} else {
			*memo = r.outputs;
			r.outputs = (struct memo){0};
			if (memo_put(s->store, &rname, memo) < 0) {
				*err = xstrdup(gg_last_error());
				ret = -1;
			}
		}
		exec_result_free(&r);
	}
	if (ret == 0 && !gg_name_eq(&rname, &n->name) && memo_put(s->store, &n->name, memo) < 0) {
		*err = xstrdup(gg_last_error());
		ret = -1;
	}
	close(lock);
	return ret;
}

/* The node's thunk with every thunk-output input replaced by its value
 * (filled in by the waiters). Inputs stay in canonical order. */
static void make_reduced(const struct node *n, struct thunk *out)
{
	const struct thunk *t = &n->thunk;
	thunk_init(out);
	out->exe = xstrdup(t->exe);
	for (size_t i = 0; i < t->argv.n; i++)
		strvec_push(&out->argv, t->argv.v[i]);
	for (size_t i = 0; i < t->env.n; i++)
		strvec_push(&out->env, t->env.v[i]);
	for (size_t i = 0; i < t->outputs.n; i++)
		strvec_push(&out->outputs, t->outputs.v[i]);
	out->timeout_ms = t->timeout_ms;
	out->inputs = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *out->inputs);
	out->inputs_cap = t->ninputs;
	for (size_t i = 0; i < t->ninputs; i++) {
		struct thunk_input *in = &out->inputs[out->ninputs++];
		in->path = xstrdup(t->inputs[i].path);
		in->ref.name = t->inputs[i].ref.output ? n->resolved[i] : t->inputs[i].ref.name;
		in->ref.output = NULL;
		in->exec = t->inputs[i].exec;
	}
}

struct worker_arg {
	struct sched *s;
	int slot;
};

static void *worker_main(void *p)
{
	struct worker_arg *wa = p;
	struct sched *s = wa->s;
	int slot = wa->slot;
	free(wa);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->shutdown && !s->ready_head)
			pthread_cond_wait(&s->work_cv, &s->mu);
		if (!s->ready_head)
			break;
		struct node *n = s->ready_head;
		s->ready_head = n->next_ready;
		if (!s->ready_head)
			s->ready_tail = NULL;
		s->stats.queued--;
		s->stats.running++;
		n->state = N_RUNNING;
		struct thunk reduced;
		make_reduced(n, &reduced);
		pthread_mutex_unlock(&s->mu);

		struct memo memo = {0};
		bool cached = false;
		char *err = NULL;
		int r = run_node(s, n, &reduced, slot, &memo, &cached, &err);
		thunk_free(&reduced);

		struct cbs cbs = {0};
		pthread_mutex_lock(&s->mu);
		s->stats.running--;
		if (r == 0) {
			n->state = N_DONE;
			n->memo = memo;
			n->cached = cached;
			if (cached)
				s->stats.cached++;
			else
				s->stats.executed++;
			thunk_free(&n->thunk);
			free(n->resolved);
			n->resolved = NULL;
			struct waiter *w = n->waiters;
			n->waiters = NULL;
			while (w) {
				struct waiter *next = w->next;
				resolve_waiter(s, n, w, &cbs);
				w = next;
			}
			drain(s, &cbs);
		} else {
			memo_free(&memo);
			fail_node(s, n, keep_error(s, err), &cbs);
			if (!s->o.keep_going)
				stop_everything(s, &cbs);
			drain(s, &cbs);
		}
		pthread_mutex_unlock(&s->mu);
		deliver(&cbs);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- progress line ---- */

static void print_progress(struct sched *s, bool final)
{
	struct sched_stats st = s->stats;
	double el = (double)(now_ns() - s->t0) / 1e9;
	fprintf(stderr, "\r[gg] queued %zu  running %zu  done %zu  cached %zu  failed %zu  %.1fs\x1b[K%s",
		st.queued, st.running, st.executed, st.cached, st.failed, el, final ? "\n" : "");
	fflush(stderr);
}

static void *progress_main(void *p)
{
	struct sched *s = p;
	pthread_mutex_lock(&s->mu);
	while (!s->shutdown) {
		print_progress(s, false);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&s->progress_cv, &s->mu, &ts);
	}
	print_progress(s, true);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int sched_new(struct store *st, const struct sched_opts *o, struct sched **out)
{
	struct sched *s = xcalloc(1, sizeof *s);
	s->store = st;
	s->o = *o;
	if (s->o.jobs <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->o.jobs = n > 0 ? (int)n : 1;
	}
	s->t0 = now_ns();
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->progress_cv, NULL);
	s->workers = xcalloc((size_t)s->o.jobs, sizeof *s->workers);
	for (int i = 0; i < s->o.jobs; i++) {
		struct worker_arg *wa = xmalloc(sizeof *wa);
		*wa = (struct worker_arg){s, i};
		if (pthread_create(&s->workers[i], NULL, worker_main, wa) != 0) {
			free(wa);
			break;
		}
		s->nworkers++;
	}
	if (s->nworkers == 0) {
		sched_free(s);
		return gg_error("cannot start worker threads");
	}
	if (o->progress && isatty(2))
		s->progress_on = pthread_create(&s->progress, NULL, progress_main, s) == 0;
	*out = s;
	return 0;
}

static void write_trace(struct sched *s)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"traceEvents\":[\n");
	buf_add(&b, s->trace.data ? s->trace.data : "", s->trace.len);
	buf_adds(&b, "\n],\"displayTimeUnit\":\"ms\"}\n");
	if (write_file_atomic(s->o.trace_path, b.data, b.len, 0644) < 0)
		fprintf(stderr, "gg: cannot write trace: %s\n", gg_last_error());
	buf_free(&b);
}

static void free_node(struct node *n)
{
	thunk_free(&n->thunk);
	free(n->resolved);
	free(n->primary);
	free(n->label);
	memo_free(&n->memo);
	struct waiter *w = n->waiters;
	while (w) {
		struct waiter *next = w->next;
		free_waiter(w);
		w = next;
	}
	free(n);
}

void sched_free(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	s->shutdown = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->progress_cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	if (s->progress_on)
		pthread_join(s->progress, NULL);
	if (s->o.trace_path)
		write_trace(s);
	for (size_t i = 0; i < s->nodes.cap; i++)
		if (s->nodes.slots && s->nodes.slots[i].used)
			free_node(s->nodes.slots[i].value);
	namemap_free(&s->nodes);
	for (size_t i = 0; i < s->ngrave; i++)
		free_node(s->graveyard[i]);
	free(s->graveyard);
	for (size_t i = 0; i < s->nerrors; i++)
		free(s->errors[i]);
	free(s->errors);
	for (size_t i = 0; i < s->nwork; i++) {
		gg_ref_free(&s->work[i].ref);
		free_waiter(s->work[i].w);
	}
	free(s->work);
	buf_free(&s->trace);
	free(s->workers);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->progress_cv);
	free(s);
}

struct all_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t left;
	struct sched_outcome *outs;
};

struct all_slot {
	struct all_state *st;
	size_t i;
};

static void all_done(void *arg, const struct sched_outcome *o)
{
	struct all_slot *slot = arg;
	struct all_state *st = slot->st;
	pthread_mutex_lock(&st->mu);
	st->outs[slot->i] = *o;
	if (--st->left == 0)
		pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

size_t sched_force_all(struct sched *s, const struct gg_ref *refs, size_t n, struct sched_outcome *outs)
{
	struct all_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, n, outs};
	struct all_slot *slots = xcalloc(n ? n : 1, sizeof *slots);
	for (size_t i = 0; i < n; i++) {
		slots[i] = (struct all_slot){&st, i};
		sched_force_async(s, &refs[i], all_done, &slots[i]);
	}
	pthread_mutex_lock(&st.mu);
	while (st.left)
		pthread_cond_wait(&st.cv, &st.mu);
	pthread_mutex_unlock(&st.mu);
	free(slots);
	size_t failed = 0;
	for (size_t i = 0; i < n; i++)
		failed += outs[i].status != 0;
	return failed;
}

void sched_get_stats(struct sched *s, struct sched_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->stats;
	pthread_mutex_unlock(&s->mu);
}

enum sched_state sched_state_of(struct sched *s, const struct gg_ref *ref)
{
	if (gg_name_kind(&ref->name) == GG_VALUE)
		return store_has(s->store, &ref->name) == 1 ? SCHED_FORCED : SCHED_UNFORCED;
	pthread_mutex_lock(&s->mu);
	struct node *n = namemap_get(&s->nodes, &ref->name);
	enum sched_state st = !n ? SCHED_UNFORCED : n->state == N_DONE ? SCHED_FORCED : SCHED_RUNNING;
	pthread_mutex_unlock(&s->mu);
	if (!n) {
		struct memo m;
		if (memo_get(s->store, &ref->name, &m) == 1) {
			st = SCHED_FORCED;
			memo_free(&m);
		}
	}
	return st;
}
