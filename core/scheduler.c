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
 *  - work: requests not yet looked at. sched_force_async only queues them;
 *    the loader thread loads them (drain), as do engine threads after a
 *    job (a dynamic graph's new thunks). Loading a graph is iterative (no
 *    recursion), so a chain of 100,000 thunks loads in constant stack.
 *  - ready: FIFO of nodes whose inputs are all values. dispatch() hands them
 *    to the first engine (core/executor.h) with a free slot; engines call
 *    job_done() from their own threads. A timer thread sleeps until the
 *    next deadline (never polls): it wakes delayed nodes (retry backoff, a
 *    lock held by another process), starts speculative copies of
 *    stragglers and draws the progress line. A watcher thread waits for
 *    the cancel token's fd, when there is one.
 * Callbacks are collected while the lock is held and delivered after it is
 * released.
 */
#include "core/scheduler.h"

#include "core/namemap.h"
#include "core/trace.h"
#include "core/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * WAITING: some input unresolved; READY: in the ready queue; DELAYED: held
 * back (a retry's backoff, or another process holds the thunk's lock);
 * STARTING: an engine's slot is reserved for it, and one thread takes its
 * cross-process lock and reads its memo entry again with mu dropped
 * (dispatch); RUNNING: one or two (speculative) jobs in flight.
 */
enum node_state { N_WAITING, N_READY, N_DELAYED, N_STARTING, N_RUNNING, N_DONE, N_FAILED };

struct node;

struct waiter {
	struct waiter *next;
	char *output;      /* NULL = the node's primary output; else in buf */
	struct node *node; /* internal: this node's input `input` waits */
	size_t input;      /* (counting thunk-output inputs only) */
	sched_done_fn fn;  /* external */
	void *arg;
	const struct gg_cancel *cancel; /* external: fired, the asker wants no answer */
	/* The thunks whose outputs were thunks, followed in order to reach the
	 * one it now waits for (a dynamic graph); the last one is the "via". */
	struct gg_name *chain;
	size_t nchain, chain_cap;
	char buf[];
};

/* For the trace only (allocated when there is one). */
struct node_trace {
	struct strvec deps;     /* thunks whose outputs it waited for */
	struct gg_name emitter; /* the thunk that output this one */
	bool has_emitter;
};

/* Execution, from the node's first dispatch until it is decided and no job
 * of it is in flight. */
struct run {
	struct thunk reduced;
	struct gg_name rname;
};

/*
 * A graph of many thunks waits in memory before anything runs, so a node is
 * kept small: while waiting it holds the thunk's encoding (parsed again when
 * it is ready), not the parsed form.
 */
struct node {
	struct gg_name name;
	unsigned char state; /* enum node_state */
	bool cached;
	bool prepared;      /* run is set */
	bool fallback_told; /* on_fallback was called for it */
	bool abandoned;     /* nobody waits for it any more: its jobs were asked to stop */
	bool wanted;        /* scratch for abandon_unwanted */
	int lock_fd;        /* the thunk's lock while it runs, or -1 */
	int njobs;
	int attempts;   /* infrastructure failures so far */
	size_t pending; /* inputs still unresolved */
	char *raw;      /* the thunk's bytes, until prepared */
	size_t raw_len;
	struct gg_name *resolved;    /* until prepared: per thunk-output input, its value */
	bool *resolved_link;         /* ... and whether that value is a symbolic link */
	char *primary;               /* first output (one allocation with label) */
	char *label;                 /* short description for progress and trace */
	struct memo memo;            /* when done */
	const struct failure *error; /* when failed (kept in errors) */
	struct waiter *waiters;
	struct node *next_ready;
	struct node_trace *tr;
	struct run *run;
	struct engine_job *jobs[2]; /* in flight: the original and a speculative copy */
	uint64_t not_before;        /* DELAYED until then (ns) */
	uint64_t started;           /* when the first job was submitted */
};

struct work {
	struct gg_name name;
	struct waiter *w; /* its output is the reference's */
};

/* Why a node or a request failed; kept until sched_free. */
struct failure {
	enum gg_code code;
	char *msg;
};

struct callback {
	sched_done_fn fn;
	void *arg;
	struct sched_outcome o;
};

/* A message for the caller (on_fallback, on_retry, on_failure): made under
 * mu, told once it is dropped, since the caller prints or logs it and a
 * blocked terminal or log must not stop every thread of the scheduler. */
struct note {
	enum { NOTE_FALLBACK, NOTE_RETRY, NOTE_FAILURE } kind;
	char *thunk, *engine, *why;
	int attempt;
	const char *failure; /* a kept failure's message (keep_error), as is */
};

/* Things to do once the lock is dropped: thunks' cross-process locks to
 * release (fds), messages to tell, the status line to draw, then callbacks
 * to call. */
struct cbs {
	struct callback *v;
	size_t n, cap;
	int *unlock;
	size_t nunlock, unlock_cap;
	struct note *notes;
	size_t nnotes, notes_cap;
	char *progress;
};

struct sched {
	struct store *store;
	struct sched_opts o;
	pthread_mutex_t mu;
	/* everything below is protected by mu */
	struct nameidx nodes; /* of struct node, by name */
	struct work *work;
	size_t nwork, work_cap;
	struct node *ready_head, *ready_tail;
	struct node **delayed; /* N_DELAYED nodes */
	size_t ndelayed, delayed_cap;
	struct node **running; /* N_RUNNING nodes, for speculation */
	size_t nrunning, running_cap;
	struct engine **engines;
	size_t nengines;
	int *in_flight; /* per engine */
	size_t jobs_in_flight;
	size_t loading;         /* drains and run starts doing I/O with mu dropped */
	size_t draining;        /* of them, drains (graphs being loaded) */
	bool abandon_pending;   /* abandon_unwanted once every request is loaded */
	pthread_cond_t idle_cv; /* signalled when jobs_in_flight drops to 0 */
	/* Held (never with mu) while the caller is told notes and the status
	 * line is drawn: one at a time, in the order they were made by one
	 * thread. */
	pthread_mutex_t notes_mu;
	bool shutdown, stopping;
	bool cancelled;                   /* the force's cancel token fired */
	const struct failure *stop_error; /* once stopping: why nothing new starts */
	struct sched_stats stats;
	size_t ndone;        /* nodes in the map that are N_DONE */
	uint64_t *durations; /* run times of finished jobs, for speculation */
	size_t ndurations, durations_cap;
	struct node **graveyard;
	size_t ngrave, grave_cap;
	struct failure **errors; /* handed out in outcomes */
	size_t nerrors, errors_cap;
	struct buf trace;
	uint64_t t0;
	/* The timer thread sleeps until the next deadline (timer_at): a delayed
	 * node's, a straggler's (speculation), the status line's; whoever sets
	 * an earlier one signals timer_cv (CLOCK_MONOTONIC). */
	pthread_t timer;
	pthread_cond_t timer_cv;
	uint64_t timer_at;      /* what the timer waits for; UINT64_MAX: a signal */
	uint64_t next_progress; /* when the status line is drawn again */
	bool progress_on;
	/* The loader thread loads the graphs that sched_force_async asks for
	 * (drain), so that no asker's thread (a FUSE worker) reads the store;
	 * loader_cv is signalled when work is queued, when a withdrawal asks
	 * it to dispatch (dispatch_asked), and at shutdown. */
	pthread_t loader;
	pthread_cond_t loader_cv;
	bool dispatch_asked; /* by sched_withdraw_cancelled: the loader dispatches */
	struct work *asked;  /* queued by sched_force_async, in order: asked[asked_head ..] */
	size_t nasked, asked_head, asked_cap;
	int failing_dependents; /* in waiter_fail: failures already told */
	pthread_t watcher;      /* waits for the cancel token, when one is given */
	bool have_watcher;
	int watcher_stop[2]; /* a pipe: written by sched_free */
};

static void add_cb(struct cbs *c, sched_done_fn fn, void *arg, const struct sched_outcome *o)
{
	ALLOC_GROW(c->v, c->n + 1, c->cap);
	c->v[c->n++] = (struct callback){fn, arg, *o};
}

/*
 * Releases the thunks' locks that release_lock handed over (an fcntl each,
 * so not under mu). Before any outcome is delivered: whoever hears of a
 * thunk's end and asks for it again, here or in another process, finds its
 * lock free (and its memo entry, written before job_done took mu).
 */
static void unlock_released(struct sched *s, struct cbs *c)
{
	for (size_t i = 0; i < c->nunlock; i++)
		store_unlock_thunk(s->store, c->unlock[i]);
	free(c->unlock);
	c->unlock = NULL;
	c->nunlock = c->unlock_cap = 0;
}

static void add_note(struct cbs *c, struct note note)
{
	ALLOC_GROW(c->notes, c->nnotes + 1, c->notes_cap);
	c->notes[c->nnotes++] = note;
}

/* Tells the caller the notes and draws the status line (without mu). */
static void tell_notes(struct sched *s, struct cbs *c)
{
	if (!c->nnotes && !c->progress)
		return;
	pthread_mutex_lock(&s->notes_mu);
	for (size_t i = 0; i < c->nnotes; i++) {
		struct note *x = &c->notes[i];
		if (x->kind == NOTE_FALLBACK)
			s->o.on_fallback(s->o.fallback_arg, x->thunk, x->engine, x->why);
		else if (x->kind == NOTE_RETRY)
			s->o.on_retry(s->o.fallback_arg, x->thunk, x->engine, x->attempt, x->why);
		else
			s->o.on_failure(s->o.fallback_arg, x->failure);
		free(x->thunk), free(x->engine), free(x->why);
	}
	if (c->progress) {
		fputs(c->progress, stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&s->notes_mu);
	free(c->notes);
	free(c->progress);
	c->notes = NULL;
	c->nnotes = c->notes_cap = 0;
	c->progress = NULL;
}

static bool cbs_empty(const struct cbs *c)
{
	return !c->n && !c->nunlock && !c->nnotes && !c->progress;
}

/* What was collected under mu, once it is dropped. */
static void deliver(struct sched *s, struct cbs *c)
{
	unlock_released(s, c);
	tell_notes(s, c);
	for (size_t i = 0; i < c->n; i++)
		c->v[i].fn(c->v[i].arg, &c->v[i].o);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/*
 * Takes n's cross-process lock away from it (mu held); deliver releases it
 * once mu is dropped. Meanwhile nobody takes the thunk from this process
 * twice: its caller leaves n DONE (never started again), FAILED (out of the
 * map: a later request makes a new node, whose start, finding the lock
 * still held, looks again 20 ms later as it does for another process's
 * run), DELAYED for a retry's backoff (which the lock does not outlast), or
 * READY at shutdown (nothing starts then). The one way back to READY while
 * it runs, asked for again after its job was stopped (job_done), keeps the
 * lock instead, and the next start uses it (dispatch).
 */
static void release_lock(struct node *n, struct cbs *cbs)
{
	if (n->lock_fd < 0)
		return;
	ALLOC_GROW(cbs->unlock, cbs->nunlock + 1, cbs->unlock_cap);
	cbs->unlock[cbs->nunlock++] = n->lock_fd;
	n->lock_fd = -1;
}

/* Keeps a failure (its message taken over) until sched_free; returns it. */
static const struct failure *keep_error(struct sched *s, enum gg_code code, char *e)
{
	struct failure *f = xmalloc(sizeof *f);
	*f = (struct failure){code == GG_OK ? GG_EFAIL : code, e};
	ALLOC_GROW(s->errors, s->nerrors + 1, s->errors_cap);
	s->errors[s->nerrors++] = f;
	return f;
}

const char *sched_keep_message(struct sched *s, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	const char *r = keep_error(s, GG_EFAIL, xstrdup(msg))->msg;
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* w waits for name#(w->output). */
static void push_work(struct sched *s, const struct gg_name *name, struct waiter *w)
{
	ALLOC_GROW(s->work, s->nwork + 1, s->work_cap);
	s->work[s->nwork++] = (struct work){*name, w};
}

static struct waiter *new_waiter(const char *output)
{
	size_t len = output ? strlen(output) + 1 : 0;
	struct waiter *w = xcalloc(1, sizeof *w + len);
	if (output) {
		memcpy(w->buf, output, len);
		w->output = w->buf;
	}
	return w;
}

static void free_waiter(struct waiter *w)
{
	free(w->chain);
	free(w);
}

static const struct gg_name *waiter_via(const struct waiter *w)
{
	return w->nchain ? &w->chain[w->nchain - 1] : NULL;
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
}

static void fail_node(struct sched *s, struct node *n, const struct failure *err, struct cbs *cbs);
static void dispatch(struct sched *s, struct cbs *cbs);
static void fail_cycles(struct sched *s, struct cbs *cbs);
static void abandon_unwanted(struct sched *s, struct cbs *cbs);

/* For the trace: n waited for thunk d (once per name). */
static void add_dep(struct sched *s, struct node *n, const struct gg_name *d)
{
	if (!n->tr)
		return;
	for (size_t i = 0; i < n->tr->deps.n; i++)
		if (!strcmp(n->tr->deps.v[i], d->s))
			return;
	strvec_push(&n->tr->deps, d->s);
}

/* A waiter got its value. */
static void waiter_ok(struct sched *s, struct waiter *w, const struct gg_name *v, bool exec,
                      bool link, struct cbs *cbs)
{
	if (w->fn) {
		struct sched_outcome o = {.status = 0, .value = *v, .exec = exec, .link = link};
		add_cb(cbs, w->fn, w->arg, &o);
	} else {
		struct node *t = w->node;
		if (t->state == N_WAITING) {
			t->resolved[w->input] = *v;
			t->resolved_link[w->input] = link;
			if (--t->pending == 0)
				make_ready(s, t);
		}
	}
	free_waiter(w);
}

static void waiter_fail(struct sched *s, struct waiter *w, const struct failure *err,
                        struct cbs *cbs)
{
	if (w->fn) {
		struct sched_outcome o = {.status = -1, .error = err->msg, .code = err->code};
		add_cb(cbs, w->fn, w->arg, &o);
	} else if (w->node->state == N_WAITING) {
		s->failing_dependents++;
		fail_node(s, w->node, err, cbs);
		s->failing_dependents--;
	}
	free_waiter(w);
}

/* "LABEL (NAME)" of a thunk, or its name where no node has it. */
static void describe_thunk(struct sched *s, struct buf *b, const struct gg_name *name)
{
	const struct node *n = nameidx_get(&s->nodes, name);
	if (n)
		buf_printf(b, "%s (%s)", n->label, name->s);
	else
		buf_adds(b, name->s);
}

/*
 * w is about to wait for `next`, which thunk `from` output. A thunk can
 * output any thunk, itself or one that leads back to it, so a dynamic graph
 * may loop: every node on the way is already done, and following it would
 * never end. Records the step; returns the error (kept) on a cycle or past
 * the depth limit, else NULL.
 */
static const struct failure *follow_thunk_output(struct sched *s, struct waiter *w,
                                                 const struct gg_name *from,
                                                 const struct gg_name *next)
{
	size_t limit = s->o.max_dynamic_depth ? s->o.max_dynamic_depth : SCHED_MAX_DYNAMIC_DEPTH;
	ALLOC_GROW(w->chain, w->nchain + 1, w->chain_cap);
	w->chain[w->nchain++] = *from;
	size_t start = w->nchain;
	for (size_t i = 0; i < w->nchain && start == w->nchain; i++)
		if (gg_name_eq(&w->chain[i], next))
			start = i;
	struct buf b = BUF_INIT;
	enum gg_code code = GG_EINVALID;
	if (start < w->nchain) {
		buf_adds(&b, "a dynamic graph loops: ");
		for (size_t i = start; i < w->nchain; i++) {
			describe_thunk(s, &b, &w->chain[i]);
			buf_adds(&b, " outputs ");
		}
		describe_thunk(s, &b, next);
	} else if (w->nchain > limit) {
		code = GG_ELIMIT;
		buf_printf(&b,
		           "a dynamic graph is deeper than %zu thunks output by thunks (a thunk "
		           "output by a thunk output by ...); the last: ",
		           limit);
		describe_thunk(s, &b, next);
	} else {
		return NULL;
	}
	return keep_error(s, code, buf_steal(&b));
}

/* The node is done: answer the waiter, following a dynamic graph. */
static void resolve_waiter(struct sched *s, struct node *n, struct waiter *w, struct cbs *cbs)
{
	const char *out = w->output ? w->output : n->primary;
	const struct memo_output *mo = memo_find(&n->memo, out);
	if (w->node && w->node->state == N_WAITING)
		add_dep(s, w->node, &n->name);
	if (!mo) {
		char *e = xasprintf("thunk %s has no output '%s'", n->name.s, out);
		waiter_fail(s, w, keep_error(s, GG_EINVALID, e), cbs);
		return;
	}
	if (gg_name_kind(&mo->value) == GG_THUNK) {
		/* A dynamic graph: the output is a thunk; its primary output is the answer. */
		w->output = NULL;
		const struct failure *bad = follow_thunk_output(s, w, &n->name, &mo->value);
		if (bad)
			waiter_fail(s, w, bad, cbs);
		else
			push_work(s, &mo->value, w);
		return;
	}
	waiter_ok(s, w, &mo->value, mo->exec, mo->link, cbs);
}

static void bury(struct sched *s, struct node *n)
{
	nameidx_del(&s->nodes, &n->name);
	ALLOC_GROW(s->graveyard, s->ngrave + 1, s->grave_cap);
	s->graveyard[s->ngrave++] = n;
}

#define STOP_FAILED "not started: an earlier thunk failed (use --keep-going to go on)"

/* Nothing new starts; what waits fails with `why` (mu held). */
static void stop_everything(struct sched *s, struct cbs *cbs, enum gg_code code, const char *why)
{
	if (s->stopping)
		return;
	s->stopping = true;
	const struct failure *e = s->stop_error = keep_error(s, code, xstrdup(why));
	/* Collect first: failing nodes removes them from the map. */
	struct node **v = xmalloc((s->nodes.len + 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < s->nodes.cap; i++) {
		struct node *n = s->nodes.slots[i];
		if (n && (n->state == N_WAITING || n->state == N_READY || n->state == N_DELAYED))
			v[k++] = n;
	}
	for (size_t i = 0; i < k; i++)
		if (v[i]->state == N_WAITING || v[i]->state == N_READY || v[i]->state == N_DELAYED)
			fail_node(s, v[i], e, cbs);
	free(v);
}

/*
 * The force was cancelled (mu held): nothing new starts, what waits fails
 * with "cancelled", and every job in flight is asked to stop; a job that
 * still comes back with its outputs counts, one that does not fails its
 * node as cancelled (job_done).
 */
static void cancel_everything(struct sched *s, struct cbs *cbs)
{
	if (s->cancelled)
		return;
	s->cancelled = true;
	s->stopping = false; /* the reason becomes "cancelled" */
	stop_everything(s, cbs, GG_ECANCELLED, "cancelled");
	for (size_t i = 0; i < s->nrunning; i++) {
		struct node *n = s->running[i];
		for (int j = 0; j < n->njobs; j++)
			n->jobs[j]->engine->ops->cancel(n->jobs[j]->engine, n->jobs[j]);
	}
}

static void remove_ptr(struct node **v, size_t *n, struct node *x)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == x) {
			v[i] = v[--*n];
			return;
		}
}

static void fail_node(struct sched *s, struct node *n, const struct failure *err, struct cbs *cbs)
{
	if (n->state == N_DELAYED)
		remove_ptr(s->delayed, &s->ndelayed, n);
	if (n->state == N_READY) {
		bool queued;
		FIFO_REMOVE(s->ready_head, s->ready_tail, next_ready, n, queued);
		if (queued)
			s->stats.queued--;
	}
	release_lock(n, cbs); /* a READY one asked for again kept it */
	n->state = N_FAILED;
	n->error = err;
	s->stats.failed++;
	if (s->o.on_failure && !s->failing_dependents && err != s->stop_error)
		add_note(cbs, (struct note){.kind = NOTE_FAILURE, .failure = err->msg});
	bury(s, n);
	struct waiter *w = n->waiters;
	n->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		waiter_fail(s, w, err, cbs);
		w = next;
	}
}

static bool is_input(const struct thunk *t, const char *path)
{
	size_t lo = 0, hi = t->ninputs; /* inputs are sorted by path */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->inputs[mid].path, path);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* What the label names: the first output, unless that is an intermediate
 * under .gg-sys/ (cc1's .s for as): then the first argument that is one of
 * the build's own inputs (cc1's source file), which reads better. */
static const char *shown_file(const struct thunk *t)
{
	const char *out = t->outputs.v[0];
	if (strncmp(out, ".gg-sys/", 8) != 0)
		return out;
	for (size_t i = 1; i < t->argv.n; i++) {
		const char *a = t->argv.v[i];
		if (a[0] != '-' && strncmp(a, ".gg-sys/", 8) != 0 && is_input(t, a))
			return a;
	}
	return out;
}

/* Sets primary (the first output) and label, "PROGRAM FILE Tabcdef12" (FILE
 * from shown_file): readable, and unique enough to tell thunks with the same
 * program and file apart. One allocation for both. */
static void set_label(struct node *n, const struct thunk *t)
{
	const char *a0 =
	    t->argv.n >= 5 && !strcmp(t->argv.v[1], "--library-path") ? t->argv.v[4] : t->argv.v[0];
	const char *base = strrchr(a0, '/');
	base = base ? base + 1 : a0;
	const char *out = t->outputs.v[0], *shown = shown_file(t);
	size_t lb = strlen(base), lo = strlen(out), ls = strlen(shown);
	char *p = xmalloc(lo + 1 + lb + 1 + ls + 1 + 9 + 1);
	memcpy(p, out, lo + 1);
	n->primary = p;
	p += lo + 1;
	n->label = p;
	memcpy(p, base, lb);
	p += lb;
	*p++ = ' ';
	memcpy(p, shown, ls);
	p += ls;
	*p++ = ' ';
	memcpy(p, n->name.s, 9);
	p[9] = 0;
}

/* Marks in the trace that n's result came from the shared cache: an instant
 * event ("ph":"i", category "shared cache"), which gg report counts apart
 * from runs (mu held). */
static void trace_shared_hit(struct sched *s, const struct node *n)
{
	if (s->o.trace_path)
		trace_add_instant(&s->trace, n->label, "shared cache",
		                  (double)(now_ns() - s->t0) / 1e3, n->name.s);
}

/* A thunk as read from the store, before it becomes a node: all the file
 * I/O of loading a graph, done without the scheduler's lock. */
struct loaded {
	int rc; /* 0, or -1 with error and code */
	char *error;
	enum gg_code code;
	struct buf b; /* the thunk's bytes */
	struct thunk t;
	bool memo_hit, remote_hit; /* memo found, in the shared cache */
	struct memo memo;
};

/* Reads a thunk and its memo entry: the local one, else the shared cache's
 * (asked without the scheduler's lock: it may go over the network). */
static void load_thunk(struct sched *s, const struct gg_name *name, struct loaded *l)
{
	struct store *st = s->store;
	*l = (struct loaded){.b = BUF_INIT};
	if (store_read(st, name, &l->b, THUNK_MAX_SIZE) < 0 ||
	    thunk_parse(l->b.data, l->b.len, &l->t) < 0) {
		l->rc = -1;
		l->code = gg_last_code();
		l->error = xasprintf("cannot load thunk %s: %s", name->s, gg_last_error());
		buf_free(&l->b);
		return;
	}
	l->memo_hit = memo_get(st, name, &l->memo) == 1;
	if (!l->memo_hit && s->o.remote_lookup)
		l->memo_hit = l->remote_hit =
		    s->o.remote_lookup(s->o.remote_arg, name, &l->memo) == 1;
}

static void loaded_free(struct loaded *l)
{
	if (l->rc == 0)
		thunk_free(&l->t);
	if (l->memo_hit)
		memo_free(&l->memo);
	buf_free(&l->b);
	free(l->error);
}

/* Makes the node of a loaded thunk (mu held; it is not in the map). NULL
 * with the error set if it could not be loaded. Takes l's contents. */
static struct node *node_new(struct sched *s, const struct gg_name *name, struct loaded *l)
{
	if (l->rc < 0) {
		gg_fail(l->code, "%s", l->error);
		return NULL;
	}
	struct buf b = l->b;
	struct thunk t = l->t;
	l->b = (struct buf)BUF_INIT;
	l->rc = -1; /* t is now ours */
	struct node *n = xcalloc(1, sizeof *n);
	n->name = *name;
	n->lock_fd = -1;
	set_label(n, &t);
	if (s->o.trace_path)
		n->tr = xcalloc(1, sizeof *n->tr);
	nameidx_put(&s->nodes, n);
	if (l->memo_hit) {
		n->memo = l->memo;
		l->memo_hit = false;
		if (l->remote_hit) {
			s->stats.remote++;
			trace_shared_hit(s, n); /* found as it loaded */
		}
		memo_index(&n->memo); /* every output may be asked for */
		n->state = N_DONE;
		s->ndone++;
		n->cached = true;
		s->stats.cached++;
		thunk_free(&t);
		buf_free(&b);
		return n;
	}
	n->state = N_WAITING;
	size_t nthunks = 0;
	for (size_t i = 0; i < t.ninputs; i++)
		nthunks += t.inputs[i].ref.output != NULL;
	n->raw_len = b.len;
	n->raw = xrealloc(buf_steal(&b), n->raw_len + 1); /* no slack */
	if (nthunks)
		n->resolved = xcalloc(nthunks, sizeof *n->resolved);
	if (nthunks)
		n->resolved_link = xcalloc(nthunks, sizeof *n->resolved_link);
	n->pending = 1; /* a guard while the inputs are requested */
	for (size_t i = 0, k = 0; i < t.ninputs; i++) {
		if (!t.inputs[i].ref.output)
			continue;
		n->pending++;
		struct waiter *w = new_waiter(t.inputs[i].ref.output);
		w->node = n;
		w->input = k++;
		push_work(s, &t.inputs[i].ref.name, w);
	}
	thunk_free(&t);
	if (--n->pending == 0)
		make_ready(s, n);
	return n;
}

/* Is the value the waiter wants of a done node still in the store? Asks
 * the store with mu dropped (mu held on entry and return). */
static bool output_stored(struct sched *s, const struct node *n, const struct waiter *w)
{
	const struct memo_output *mo = memo_find(&n->memo, w->output ? w->output : n->primary);
	if (!mo || gg_name_kind(&mo->value) == GG_THUNK)
		return true;
	struct gg_name v = mo->value;
	s->loading++, s->draining++;
	pthread_mutex_unlock(&s->mu);
	bool has = store_known(s->store, &v) == 1; /* here, or remote (store.h) */
	pthread_mutex_lock(&s->mu);
	s->loading--, s->draining--;
	return has;
}

/*
 * Processes queued requests until none is left (mu held). The file I/O of
 * loading a graph (a value's presence, a thunk's bytes, its memo entry) is
 * done with the lock dropped for that one request, which is this thread's
 * alone meanwhile; another thread may load the same thunk at the same time,
 * and the first to take the lock again makes its node.
 */
static void drain(struct sched *s, struct cbs *cbs)
{
	while (s->nwork) {
		struct work wk = s->work[--s->nwork];
		struct waiter *w = wk.w;
		if (gg_name_kind(&wk.name) == GG_VALUE) {
			s->loading++, s->draining++;
			pthread_mutex_unlock(&s->mu);
			int has = store_known(s->store, &wk.name);
			pthread_mutex_lock(&s->mu);
			s->loading--, s->draining--;
			if (has == 1) {
				waiter_ok(s, w, &wk.name, false, false, cbs);
			} else {
				char *e = xasprintf("object %s is not in the store", wk.name.s);
				waiter_fail(s, w, keep_error(s, GG_ENOTFOUND, e), cbs);
			}
			continue;
		}
		struct node *done = nameidx_get(&s->nodes, &wk.name);
		if (done && done->state == N_DONE && !done->njobs && !output_stored(s, done, w) &&
		    nameidx_get(&s->nodes, &wk.name) == done /* not buried meanwhile */) {
			/* Its value has left the store since (quarantined as damaged,
			 * or gc): forget the node, so it is loaded (a memo miss now)
			 * and run again. */
			bury(s, done);
			s->ndone--;
		}
		bool fresh = false;
		struct node *n = w->node && w->node->state != N_WAITING
		                     ? NULL
		                     : nameidx_get(&s->nodes, &wk.name);
		if (!n && !(w->node && w->node->state != N_WAITING)) {
			struct loaded l;
			s->loading++, s->draining++;
			pthread_mutex_unlock(&s->mu);
			load_thunk(s, &wk.name, &l);
			pthread_mutex_lock(&s->mu);
			s->loading--, s->draining--;
			/* meanwhile its node may have been made, or w's node failed */
			n = w->node && w->node->state != N_WAITING
			        ? NULL
			        : nameidx_get(&s->nodes, &wk.name);
			if (!n && !(w->node && w->node->state != N_WAITING)) {
				n = node_new(s, &wk.name, &l);
				fresh = n && s->o.trace_path;
			}
			loaded_free(&l);
		}
		const struct gg_name *via = waiter_via(w);
		if (n && fresh && via) {
			n->tr->emitter = *via;
			n->tr->has_emitter = true;
		} else if (n && fresh && w->node && w->node->tr->has_emitter) {
			/* Discovered through a thunk another thunk output: it could
			 * not start before that one ended. */
			add_dep(s, n, &w->node->tr->emitter);
		}
		if (!n) {
			if (w->node && w->node->state != N_WAITING)
				free_waiter(w); /* its node already failed */
			else
				waiter_fail(s, w,
				            keep_error(s, gg_last_code(), xstrdup(gg_last_error())),
				            cbs);
		} else if (n->state == N_DONE) {
			if (via)
				add_dep(s, n, via);
			resolve_waiter(s, n, w, cbs);
		} else if (w->fn && gg_cancel_fired(w->cancel)) {
			/* withdrawn while its graph loaded, where
			 * sched_withdraw_cancelled could not see it */
			waiter_fail(s, w, keep_error(s, GG_ECANCELLED, xstrdup("cancelled")), cbs);
			s->abandon_pending = true;
		} else {
			if (via)
				add_dep(s, n, via);
			w->next = n->waiters;
			n->waiters = w;
		}
	}
	if (s->abandon_pending && !s->draining && s->asked_head == s->nasked) {
		/* requests were withdrawn while others were being loaded */
		s->abandon_pending = false;
		if (!s->cancelled)
			abandon_unwanted(s, cbs);
	}
}

void sched_force_async(struct sched *s, const struct gg_ref *ref, sched_done_fn fn, void *arg)
{
	sched_force_async_cancel(s, ref, fn, arg, NULL);
}

void sched_force_async_cancel(struct sched *s, const struct gg_ref *ref, sched_done_fn fn,
                              void *arg, const struct gg_cancel *cancel)
{
	struct cbs cbs = {0};
	pthread_mutex_lock(&s->mu);
	struct waiter *w = new_waiter(ref->output);
	w->fn = fn;
	w->arg = arg;
	w->cancel = cancel;
	ALLOC_GROW(s->asked, s->nasked + 1, s->asked_cap);
	s->asked[s->nasked++] = (struct work){ref->name, w};
	if (gg_cancel_fired(s->o.cancel))
		cancel_everything(s, &cbs);
	pthread_cond_signal(&s->loader_cv); /* the loader thread loads it */
	pthread_mutex_unlock(&s->mu);
	deliver(s, &cbs);
}

/* Loads what sched_force_async queued, one request after the other in the
 * order asked, and starts what it can (also when sched_withdraw_cancelled
 * asks it to: a run's start does file and network I/O, which the asker's
 * thread must not); at shutdown it loads what is left (what is found in the
 * memo is answered) and ends. */
static void *loader_main(void *p)
{
	struct sched *s = p;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->asked_head == s->nasked && !s->dispatch_asked && !s->shutdown)
			pthread_cond_wait(&s->loader_cv, &s->mu);
		if (s->asked_head == s->nasked && s->shutdown)
			break;
		struct cbs cbs = {0};
		if (s->dispatch_asked) {
			s->dispatch_asked = false;
			dispatch(s, &cbs);
		}
		while (s->asked_head < s->nasked) {
			struct work wk = s->asked[s->asked_head++];
			push_work(s, &wk.name, wk.w);
			drain(s, &cbs);
			dispatch(s, &cbs);
		}
		s->nasked = s->asked_head = 0;
		pthread_mutex_unlock(&s->mu);
		deliver(s, &cbs);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- withdrawn requests ---- */

struct wait_edge {
	struct node *from, *to; /* from waits for to */
};

static int cmp_edge(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct wait_edge *)a)->from;
	uintptr_t y = (uintptr_t)((const struct wait_edge *)b)->from;
	return x < y ? -1 : x > y;
}

/* The first of the edges from n (edges sorted by from), or ne. */
static size_t edges_from(const struct wait_edge *e, size_t ne, const struct node *n)
{
	size_t lo = 0, hi = ne;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)e[mid].from < (uintptr_t)n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * After requests were withdrawn (mu held): a node not yet done is wanted
 * while an external request waits for it, or a wanted node waiting for its
 * output does (a reference count, in effect, kept by the waiter lists). The
 * others are abandoned: a running one's jobs are asked to stop (job_done
 * then fails it, or runs it again if someone asked for it meanwhile); one
 * not yet running fails as cancelled, which nobody sees, and a later
 * request starts afresh.
 */
static void abandon_unwanted(struct sched *s, struct cbs *cbs)
{
	struct wait_edge *e = NULL;
	size_t ne = 0, cap = 0, nstack = 0, nv = 0;
	struct node **stack = xmalloc((s->nodes.len + 1) * sizeof *stack);
	for (size_t i = 0; i < s->nodes.cap; i++) {
		struct node *x = s->nodes.slots[i];
		if (!x)
			continue;
		x->wanted = false;
		for (struct waiter *w = x->waiters; w; w = w->next) {
			if (w->fn) {
				if (!x->wanted)
					stack[nstack++] = x;
				x->wanted = true;
			} else if (w->node->state == N_WAITING) {
				ALLOC_GROW(e, ne + 1, cap);
				e[ne++] = (struct wait_edge){w->node, x};
			}
		}
	}
	if (ne)
		qsort(e, ne, sizeof *e, cmp_edge);
	while (nstack) {
		struct node *x = stack[--nstack];
		for (size_t k = edges_from(e, ne, x); k < ne && e[k].from == x; k++)
			if (!e[k].to->wanted) {
				e[k].to->wanted = true;
				stack[nstack++] = e[k].to;
			}
	}
	free(e);
	struct node **v = stack; /* reused: the unwanted ones */
	for (size_t i = 0; i < s->nodes.cap; i++) {
		struct node *x = s->nodes.slots[i];
		if (!x || x->wanted || x->state == N_DONE || x->state == N_FAILED)
			continue;
		if (x->state != N_RUNNING && x->state != N_STARTING) {
			v[nv++] = x;
		} else if (!x->abandoned) {
			/* a STARTING one has no job yet: dispatch sees the mark */
			x->abandoned = true;
			for (int j = 0; j < x->njobs; j++)
				x->jobs[j]->engine->ops->cancel(x->jobs[j]->engine, x->jobs[j]);
		}
	}
	const struct failure *err = NULL;
	for (size_t i = 0; i < nv; i++) {
		if (v[i]->state != N_WAITING && v[i]->state != N_READY && v[i]->state != N_DELAYED)
			continue; /* failed meanwhile, with what waited for it */
		if (!err)
			err =
			    keep_error(s, GG_ECANCELLED, xstrdup("cancelled: nobody waits for it"));
		fail_node(s, v[i], err, cbs);
	}
	free(stack);
}

void sched_withdraw_cancelled(struct sched *s)
{
	struct cbs cbs = {0};
	pthread_mutex_lock(&s->mu);
	const struct failure *err = NULL;
	/* requests the loader has not looked at yet (kept in order) */
	size_t k = s->asked_head;
	for (size_t i = s->asked_head; i < s->nasked; i++) {
		struct waiter *w = s->asked[i].w;
		if (!gg_cancel_fired(w->cancel)) {
			s->asked[k++] = s->asked[i];
			continue;
		}
		if (!err)
			err = keep_error(s, GG_ECANCELLED, xstrdup("cancelled"));
		waiter_fail(s, w, err, &cbs);
	}
	s->nasked = k;
	for (size_t i = 0; i < s->nodes.cap; i++) {
		struct node *x = s->nodes.slots[i];
		for (struct waiter **pp = x ? &x->waiters : NULL; pp && *pp;) {
			struct waiter *w = *pp;
			if (!w->fn || !gg_cancel_fired(w->cancel)) {
				pp = &w->next;
				continue;
			}
			*pp = w->next;
			if (!err)
				err = keep_error(s, GG_ECANCELLED, xstrdup("cancelled"));
			waiter_fail(s, w, err, &cbs);
		}
	}
	/* What the requests not loaded yet need is not known: the last drain
	 * decides, once they are loaded. */
	if (err && !s->cancelled && (s->nwork || s->draining || s->asked_head < s->nasked))
		s->abandon_pending = true;
	else if (err && !s->cancelled)
		abandon_unwanted(s, &cbs);
	/* What can start now (slots freed, the idle check) is started by the
	 * loader thread: a run's start takes a lock file, reads the memo and
	 * may ask the shared cache over the network, and the caller is a FUSE
	 * worker answering an interrupt. */
	s->dispatch_asked = true;
	pthread_cond_signal(&s->loader_cv);
	pthread_mutex_unlock(&s->mu);
	deliver(s, &cbs);
}

/* ---- execution ---- */

static void trace_event(struct sched *s, const struct node *n, const char *phase, int slot,
                        uint64_t a, uint64_t b)
{
	if (!s->o.trace_path || b < a)
		return;
	trace_add_span(&s->trace, n->label, phase, slot, (double)(a - s->t0) / 1e3,
	               (double)(b - a) / 1e3, n->name.s, n->tr ? &n->tr->deps : NULL);
}

static char *failure_message(const struct node *n, const struct thunk *t,
                             const struct exec_result *r)
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

/*
 * Parses the node's thunk again and replaces every thunk-output input by its
 * value (filled in by the waiters): the reduced thunk, and its name. Inputs
 * stay in canonical order. Frees the bytes.
 */
static int prepare(struct node *n)
{
	struct run *r = xcalloc(1, sizeof *r);
	int rc = thunk_parse(n->raw, n->raw_len, &r->reduced);
	for (size_t i = 0, k = 0; rc == 0 && i < r->reduced.ninputs; i++) {
		struct gg_ref *ref = &r->reduced.inputs[i].ref;
		if (!ref->output)
			continue;
		free(ref->output);
		ref->output = NULL;
		/* the kind is what the thunk produced: a link, or a file as declared */
		r->reduced.inputs[i].link = n->resolved_link[k];
		if (n->resolved_link[k])
			r->reduced.inputs[i].exec = false;
		ref->name = n->resolved[k++];
	}
	if (rc == 0 && !n->resolved)
		r->rname = n->name; /* nothing to replace: the same canonical bytes */
	else if (rc == 0)
		rc = thunk_name(&r->reduced, &r->rname, NULL);
	if (rc < 0) {
		thunk_free(&r->reduced);
		free(r);
		return -1;
	}
	n->run = r;
	n->prepared = true;
	free(n->raw);
	n->raw = NULL;
	free(n->resolved);
	free(n->resolved_link);
	n->resolved = NULL;
	n->resolved_link = NULL;
	return 0;
}

/* Frees the execution state once no job uses it. */
static void free_run(struct node *n)
{
	if (!n->run || n->njobs)
		return;
	thunk_free(&n->run->reduced);
	free(n->run);
	n->run = NULL;
}

/* Finishes a node whose memo is known (executed or found). */
static void complete_node(struct sched *s, struct node *n, struct memo *memo, bool cached,
                          struct cbs *cbs)
{
	n->state = N_DONE;
	s->ndone++;
	n->memo = *memo;
	memset(memo, 0, sizeof *memo);
	memo_index(&n->memo); /* every output may be asked for */
	n->cached = cached;
	if (cached)
		s->stats.cached++;
	else
		s->stats.executed++;
	free_run(n); /* a speculative copy still running keeps it */
	free(n->raw);
	n->raw = NULL;
	free(n->resolved);
	free(n->resolved_link);
	n->resolved = NULL;
	n->resolved_link = NULL;
	struct waiter *w = n->waiters;
	n->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		resolve_waiter(s, n, w, cbs);
		w = next;
	}
}

/* Whether an infrastructure failure of this kind may go away on a retry.
 * Remote engines leave the code 0 (GG_EREMOTE) for what may be transient,
 * such as an object not yet visible in remote storage. */
static bool retry_may_help(enum gg_code code)
{
	return code != GG_EDENIED && code != GG_EINVALID && code != GG_EUSAGE &&
	       code != GG_ECANCELLED && code != GG_ENOTFOUND && code != GG_ECORRUPT;
}

/* Whether engine e, asked again, would not take thunk t (e.g. the thunk ran
 * past its deadline there): the next attempt is then another engine's. */
static bool engine_refuses(struct engine *e, const struct thunk *t)
{
	char *why = NULL;
	enum gg_code refused = e->ops->can_execute(e, t, &why);
	free(why);
	return refused != GG_OK;
}

/* Wakes the timer if it sleeps past `at` (mu held). */
static void timer_wake(struct sched *s, uint64_t at)
{
	if (at < s->timer_at)
		pthread_cond_signal(&s->timer_cv);
}

static void delay(struct sched *s, struct node *n, uint64_t until)
{
	n->state = N_DELAYED;
	n->not_before = until;
	ALLOC_GROW(s->delayed, s->ndelayed + 1, s->delayed_cap);
	s->delayed[s->ndelayed++] = n;
	timer_wake(s, until);
}

/* A node that n waits for (edges sorted by from), or NULL. */
static struct node *waits_for(const struct wait_edge *e, size_t ne, struct node *n)
{
	struct wait_edge key = {n, NULL};
	const struct wait_edge *f = bsearch(&key, e, ne, sizeof *e, cmp_edge);
	return f ? f->to : NULL;
}

/*
 * Nothing runs, is ready or delayed, and no request is pending, yet some
 * thunks still wait: they wait for each other. Static inputs cannot form a
 * cycle (a thunk's name covers its inputs' names), but thunks output by
 * thunks can. Each cycle's thunks fail with an error naming them, and what
 * waits for them fails in turn, so nobody waits for ever (mu held).
 */
static void fail_cycles(struct sched *s, struct cbs *cbs)
{
	while (!s->nwork && !s->loading && s->asked_head == s->nasked && !s->ready_head &&
	       !s->ndelayed && !s->nrunning && !s->jobs_in_flight && s->nodes.len > s->ndone) {
		struct wait_edge *e = NULL;
		size_t ne = 0, cap = 0;
		for (size_t i = 0; i < s->nodes.cap; i++) {
			struct node *x = s->nodes.slots[i];
			for (struct waiter *w = x ? x->waiters : NULL; w; w = w->next) {
				if (!w->node || w->node->state != N_WAITING)
					continue;
				ALLOC_GROW(e, ne + 1, cap);
				e[ne++] = (struct wait_edge){w->node, x};
			}
		}
		struct node *start = NULL;
		for (size_t i = 0; i < s->nodes.cap && !start; i++) {
			struct node *x = s->nodes.slots[i];
			if (x && x->state == N_WAITING)
				start = x;
		}
		if (!start) { /* every node left is done or failing: not stuck */
			free(e);
			return;
		}
		qsort(e, ne, sizeof *e, cmp_edge);
		/* Every waiting node waits for another waiting one, so walking
		 * the edges from any of them ends in a cycle (Floyd's). */
		struct node *t = waits_for(e, ne, start), *h = t ? waits_for(e, ne, t) : NULL;
		while (t && h && t != h) {
			t = waits_for(e, ne, t);
			h = waits_for(e, ne, h);
			h = h ? waits_for(e, ne, h) : NULL;
		}
		struct buf b = BUF_INIT;
		struct node **cycle = NULL;
		size_t nc = 0, cycle_cap = 0;
		if (t && h) {
			buf_adds(&b, "thunks of a dynamic graph wait for each other: ");
			struct node *c = t;
			do {
				ALLOC_GROW(cycle, nc + 1, cycle_cap);
				cycle[nc++] = c;
				buf_printf(&b, "%s (%s) waits for ", c->label, c->name.s);
				c = waits_for(e, ne, c);
			} while (c && c != t);
			buf_printf(&b, "%s (%s)", t->label, t->name.s);
		} else {
			/* cannot happen; never hang on it */
			buf_printf(&b, "internal error: %s (%s) waits for nothing that can run",
			           start->label, start->name.s);
			ALLOC_GROW(cycle, nc + 1, cycle_cap);
			cycle[nc++] = start;
		}
		free(e);
		const struct failure *err = keep_error(s, GG_EINVALID, buf_steal(&b));
		for (size_t i = 0; i < nc; i++)
			if (cycle[i]->state == N_WAITING)
				fail_node(s, cycle[i], err, cbs);
		free(cycle);
	}
}

/* The first engine, in order, that can run t and has a free slot. NULL if
 * all are busy; sets *why (malloc'd) if none can run it at all, and *code:
 * GG_ELIMIT when every engine refused the thunk for its limits, else the
 * first other cause (an engine with no live worker: GG_EREMOTE). */
static struct engine *pick_engine(struct sched *s, struct node *n, struct engine * not, char **why,
                                  enum gg_code *code, struct cbs *cbs)
{
	const struct thunk *t = &n->run->reduced;
	bool any = false;
	struct buf reasons = BUF_INIT;
	struct engine *pick = NULL;
	enum gg_code cause = GG_ELIMIT;
	for (size_t i = 0; i < s->nengines && !pick; i++) {
		struct engine *e = s->engines[i];
		char *r = NULL;
		enum gg_code refused = e->ops->can_execute(e, t, &r);
		if (refused != GG_OK) {
			buf_printf(&reasons, "%s%s: %s", reasons.len ? "; " : "", e->label,
			           r ? r : "cannot run it");
			free(r);
			if (cause == GG_ELIMIT)
				cause = refused;
			continue;
		}
		any = true;
		if (e != not &&s->in_flight[i] < e->limit)
			pick = e;
	}
	if (!any && why)
		*why = buf_steal(&reasons), *code = cause;
	if (pick && reasons.len && !n->fallback_told && s->o.on_fallback) {
		n->fallback_told = true;
		add_note(cbs, (struct note){.kind = NOTE_FALLBACK,
		                            .thunk = xstrdup(n->label),
		                            .engine = xstrdup(pick->label),
		                            .why = xstrdup(reasons.data)});
	}
	buf_free(&reasons);
	return pick;
}

static size_t engine_index(struct sched *s, struct engine *e)
{
	for (size_t i = 0; i < s->nengines; i++)
		if (s->engines[i] == e)
			return i;
	return 0;
}

static void job_done(struct engine_job *job);

static void submit_job(struct sched *s, struct node *n, struct engine *e)
{
	struct engine_job *job = xcalloc(1, sizeof *job);
	job->name = n->run->rname;
	job->thunk = &n->run->reduced;
	job->engine = e;
	job->owner = n;
	job->sched = s;
	job->done = job_done;
	n->jobs[n->njobs++] = job;
	s->in_flight[engine_index(s, e)]++;
	s->jobs_in_flight++;
	if (e->ops->submit(e, job) < 0) {
		/* reported through the normal completion path */
		job->rc = -1;
		job->error = xstrdup(gg_last_error());
		pthread_mutex_unlock(&s->mu);
		job->done(job);
		pthread_mutex_lock(&s->mu);
	}
}

/* What start_io found. */
struct start {
	int lock;    /* the thunk's lock (an fd), -2: another process holds it, -1: error */
	bool hit;    /* a memo entry: lock released, memo set */
	bool remote; /* ... from the shared cache */
	struct memo memo;
	enum gg_code code; /* lock -1: why */
	char *error;
};

/*
 * The file I/O of a run's start, without mu (n is STARTING: this thread's
 * alone, and n->run does not change): takes the thunk's cross-process lock
 * (single execution across processes), then reads its memo entry again
 * under that lock: it may have been run while we waited. Both names are
 * memoised; the reduced one catches more (early cut-off). The shared cache
 * was asked for the original name as the graph loaded; the reduced one is
 * asked here. `held`: the lock n kept from its last run (or -1).
 */
static void start_io(struct sched *s, const struct node *n, int held, struct start *st)
{
	const struct gg_name *rname = &n->run->rname;
	*st = (struct start){.lock = held >= 0 ? held : store_trylock_thunk(s->store, rname)};
	if (st->lock == -1) {
		st->code = gg_last_code();
		st->error = xstrdup(gg_last_error());
		return;
	}
	if (st->lock < 0)
		return;
	if (memo_get(s->store, rname, &st->memo) == 1)
		st->hit = true;
	else if (!gg_name_eq(rname, &n->name) && s->o.remote_lookup &&
	         s->o.remote_lookup(s->o.remote_arg, rname, &st->memo) == 1)
		st->hit = st->remote = true;
	if (st->hit) {
		(void)memo_put(s->store, &n->name, &st->memo); /* a cache: best effort */
		store_unlock_thunk(s->store, st->lock);
		st->lock = -1;
	}
}

/* start_io with mu dropped (held on entry and return). */
static void start_unlocked(struct sched *s, struct node *n, struct start *st)
{
	int held = n->lock_fd;
	n->lock_fd = -1;
	pthread_mutex_unlock(&s->mu);
	start_io(s, n, held, st);
	pthread_mutex_lock(&s->mu);
}

/* Starts ready nodes while some engine has a free slot. Called with mu held;
 * drops it while a run starts (start_io). */
static void dispatch(struct sched *s, struct cbs *cbs)
{
	while (s->ready_head && !s->shutdown) {
		struct node *n = s->ready_head;
		if (s->stopping) {
			/* asked for after the first failure: not started either */
			fail_node(s, n, s->stop_error, cbs);
			continue;
		}
		if (!n->prepared) {
			if (prepare(n) < 0) {
				s->ready_head = n->next_ready;
				if (!s->ready_head)
					s->ready_tail = NULL;
				s->stats.queued--;
				n->state = N_WAITING;
				char *e = xasprintf("thunk %s: %s", n->name.s, gg_last_error());
				fail_node(s, n, keep_error(s, gg_last_code(), e), cbs);
				continue;
			}
		}
		char *why = NULL;
		enum gg_code why_code = GG_ELIMIT;
		struct engine *e = pick_engine(s, n, NULL, &why, &why_code, cbs);
		if (!e && !why)
			break; /* every engine is busy */
		s->ready_head = n->next_ready;
		if (!s->ready_head)
			s->ready_tail = NULL;
		s->stats.queued--;
		if (!e) {
			n->state = N_WAITING;
			char *m = xasprintf("thunk %s (%s): no engine can run it: %s", n->name.s,
			                    n->label, why);
			free(why);
			fail_node(s, n, keep_error(s, why_code, m), cbs);
			continue;
		}
		/* The run's start, with mu dropped (file I/O, and the shared cache
		 * may go over the network): e's slot is reserved, n is STARTING,
		 * out of every queue, and counted in `loading` so that the idle
		 * check waits for it. */
		size_t ei = engine_index(s, e);
		struct start st;
		n->state = N_STARTING;
		s->in_flight[ei]++;
		s->loading++;
		start_unlocked(s, n, &st);
		s->loading--;
		s->in_flight[ei]--;
		if (st.hit) {
			if (st.remote) {
				s->stats.remote++;
				trace_shared_hit(s, n);
			}
			n->abandoned = false;
			complete_node(s, n, &st.memo, true, cbs);
			drain(s, cbs);
			continue;
		}
		if (st.lock == -2) {
			/* another process runs it: look again shortly */
			delay(s, n, now_ns() + 20000000);
			continue;
		}
		if (st.lock < 0) {
			n->state = N_WAITING;
			fail_node(s, n, keep_error(s, st.code, st.error), cbs);
			continue;
		}
		n->lock_fd = st.lock;
		if (s->shutdown) {
			release_lock(n, cbs);
			make_ready(s, n); /* not started, as the others still queued */
			break;
		}
		/* the token itself, not only the watcher's word: the watcher may
		 * not have woken yet, and this start must not outrun it */
		if (gg_cancel_fired(s->o.cancel))
			cancel_everything(s, cbs);
		if (s->stopping || (n->abandoned && !n->waiters)) {
			/* stopped, cancelled or withdrawn meanwhile */
			release_lock(n, cbs);
			n->state = N_WAITING;
			n->abandoned = false;
			fail_node(s, n,
			          s->stopping
			              ? s->stop_error
			              : keep_error(s, GG_ECANCELLED,
			                           xstrdup("cancelled: nobody waits for it")),
			          cbs);
			continue;
		}
		n->abandoned = false; /* asked for again meanwhile */
		n->state = N_RUNNING;
		n->started = now_ns();
		s->stats.running++;
		ALLOC_GROW(s->running, s->nrunning + 1, s->running_cap);
		s->running[s->nrunning++] = n;
		submit_job(s, n, e);
		if (s->o.speculate)
			timer_wake(s, n->started); /* its straggler deadline */
	}
	fail_cycles(s, cbs);
}

static void record_duration(struct sched *s, uint64_t d)
{
	ALLOC_GROW(s->durations, s->ndurations + 1, s->durations_cap);
	s->durations[s->ndurations++] = d;
}

static void free_job(struct engine_job *job)
{
	exec_result_free(&job->result);
	free(job->error);
	free(job);
}

/*
 * The end of job_done. Once no job is in flight sched_free may go on and
 * free s, so a job counts until all it collected was delivered, and the
 * last one out asks whether what still waits waits for itself (fail_cycles),
 * delivering what that fails (still counted) before it leaves.
 */
static void job_leave(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	while (--s->jobs_in_flight == 0) {
		struct cbs more = {0};
		fail_cycles(s, &more);
		if (cbs_empty(&more)) {
			pthread_cond_broadcast(&s->idle_cv);
			break;
		}
		s->jobs_in_flight++;
		pthread_mutex_unlock(&s->mu);
		deliver(s, &more);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
}

/* An engine finished a job (any thread). */
static void job_done(struct engine_job *job)
{
	struct node *n = job->owner;
	struct sched *s = job->sched;
	struct cbs cbs = {0};
	/* Memoise a success before taking the lock (file system work, which
	 * the other threads need not wait for), under the reduced name and the
	 * original one. The thunk's lock is still held. A copy whose twin has
	 * already won writes an equally valid entry. */
	char *memo_err = NULL, *failed = NULL;
	if (job->rc == 0 && job->result.outcome == EXEC_OK &&
	    memo_put2(s->store, &job->name, &n->name, &job->result.outputs) < 0)
		memo_err = xstrdup(gg_last_error());
	else if (job->rc == 0 && job->result.outcome == EXEC_OK && s->o.remote_publish)
		s->o.remote_publish(s->o.remote_arg, &n->name, &job->name, &job->result.outputs);
	/* A program's failure is kept for `gg log` (a log, so no error). */
	if (job->rc == 0 && job->result.outcome != EXEC_OK && !job->cancelled) {
		failed = failure_message(n, job->thunk, &job->result);
		(void)store_log_failure(s->store, &n->name, failed);
	}
	bool show_stderr = false;
	struct gg_name stderr_value;
	pthread_mutex_lock(&s->mu);
	s->in_flight[engine_index(s, job->engine)]--;
	for (int i = 0; i < n->njobs; i++)
		if (n->jobs[i] == job) {
			n->jobs[i] = n->jobs[--n->njobs];
			break;
		}
	struct exec_result *r = &job->result;
	int tid = (int)engine_index(s, job->engine) * 1000 + job->slot;
	if (job->rc == 0) {
		trace_event(s, n, "materialise", tid, r->t_start, r->t_ran);
		trace_event(s, n, "run", tid, r->t_ran, r->t_run_end);
		trace_event(s, n, "store outputs", tid, r->t_run_end, r->t_end);
		if (r->t_run_end > r->t_ran) {
			record_duration(s, r->t_run_end - r->t_ran);
			s->stats.cost +=
			    job->engine->cost_per_second * (double)(r->t_end - r->t_start) / 1e9;
		}
	}
	bool ok = job->rc == 0 && r->outcome == EXEC_OK && !memo_err;
	if (s->cancelled && n->state == N_RUNNING && !ok) {
		/* stopped because the force was cancelled: the node fails as
		 * cancelled once no copy of it runs */
		if (n->njobs == 0) {
			s->stats.running--;
			remove_ptr(s->running, &s->nrunning, n);
			release_lock(n, &cbs);
			n->state = N_WAITING;
			fail_node(s, n, s->stop_error, &cbs);
		}
	} else if (n->abandoned && n->state == N_RUNNING && !ok) {
		/* stopped because nobody waited for it any more (abandon_unwanted) */
		if (n->njobs == 0) {
			s->stats.running--;
			remove_ptr(s->running, &s->nrunning, n);
			n->abandoned = false;
			if (n->waiters) {
				/* asked for again meanwhile: run it anew, keeping
				 * its lock (no other run may come between) */
				make_ready(s, n);
			} else {
				release_lock(n, &cbs);
				n->state = N_WAITING;
				fail_node(s, n,
				          keep_error(s, GG_ECANCELLED,
				                     xstrdup("cancelled: nobody waits for it")),
				          &cbs);
			}
		}
	} else if (n->state != N_RUNNING || (job->cancelled && !s->cancelled)) {
		/* the other copy already decided this node */
	} else if (job->rc < 0) {
		/* an engine that no longer takes the thunk after this failure (it
		 * ran past Lambda's deadline) hands it on: that is not a retry */
		bool handed_on = n->njobs == 0 && retry_may_help(job->code) &&
		                 engine_refuses(job->engine, job->thunk);
		if (n->njobs > 0) {
			/* a speculative copy is still running: let it decide */
		} else if (handed_on ||
		           (n->attempts < (s->o.max_retries < 0 ? 3 : s->o.max_retries) &&
		            retry_may_help(job->code))) {
			int nth = n->attempts + 1; /* the attempt that failed */
			if (!handed_on) {
				n->attempts++;
				s->stats.retried++;
			}
			if (s->o.on_retry)
				add_note(&cbs, (struct note){
				                   .kind = NOTE_RETRY,
				                   .thunk = xstrdup(n->label),
				                   .engine = xstrdup(job->engine->label),
				                   .attempt = nth,
				                   .why = xstrdup(job->error ? job->error
				                                             : "unknown error")});
			s->stats.running--;
			remove_ptr(s->running, &s->nrunning, n);
			release_lock(n, &cbs);
			delay(s, n, now_ns() + backoff_ns((unsigned)nth, 100, 10000));
		} else {
			s->stats.running--;
			remove_ptr(s->running, &s->nrunning, n);
			release_lock(n, &cbs);
			n->state = N_WAITING;
			char *e =
			    xasprintf("thunk %s (%s) could not be run after %d attempt%s: %s",
			              n->name.s, n->label, n->attempts + 1, n->attempts ? "s" : "",
			              job->error ? job->error : "unknown error");
			fail_node(s, n, keep_error(s, job->code ? job->code : GG_EREMOTE, e), &cbs);
			if (!s->o.keep_going)
				stop_everything(s, &cbs, n->error->code, STOP_FAILED);
		}
	} else {
		/* decided: cancel a speculative copy */
		for (int i = 0; i < n->njobs; i++) {
			n->jobs[i]->cancelled = true;
			n->jobs[i]->engine->ops->cancel(n->jobs[i]->engine, n->jobs[i]);
		}
		s->stats.running--;
		remove_ptr(s->running, &s->nrunning, n);
		if (r->outcome != EXEC_OK) {
			release_lock(n, &cbs);
			n->state = N_WAITING;
			fail_node(s, n,
			          keep_error(s,
			                     r->timed_out || r->limit_hit ? GG_ELIMIT : GG_EPROGRAM,
			                     failed ? failed : failure_message(n, job->thunk, r)),
			          &cbs);
			failed = NULL;
			if (!s->o.keep_going)
				stop_everything(s, &cbs, n->error->code, STOP_FAILED);
		} else {
			struct memo memo = r->outputs;
			r->outputs = (struct memo){0};
			release_lock(n, &cbs);
			if (memo_err) {
				memo_free(&memo);
				n->state = N_WAITING;
				fail_node(s, n, keep_error(s, GG_ESYSTEM, memo_err), &cbs);
				memo_err = NULL;
			} else {
				show_stderr = memo.has_stderr && s->o.on_stderr;
				stderr_value = memo.stderr_value;
				complete_node(s, n, &memo, false, &cbs);
			}
		}
	}
	free(memo_err);
	free(failed);
	free_job(job);
	const char *label = n->label; /* the node lives until sched_free */
	if (n->state == N_DONE || n->state == N_FAILED)
		free_run(n); /* once the last copy is back */
	drain(s, &cbs);
	if (s->o.speculate)
		timer_wake(s, 0); /* a free slot, and the run times changed */
	dispatch(s, &cbs);
	pthread_mutex_unlock(&s->mu);
	/* The stderr before the outcomes: whoever waits for this thunk (and then
	 * ends the status line) finds it shown. */
	if (show_stderr)
		s->o.on_stderr(s->o.fallback_arg, label, &stderr_value);
	deliver(s, &cbs);
	job_leave(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Submits a second copy of stragglers to a free slot (mu held). Returns
 * when the next running job becomes a straggler (UINT64_MAX: none will
 * before something else changes, which wakes the timer). */
static uint64_t speculate(struct sched *s, struct cbs *cbs)
{
	uint64_t next = UINT64_MAX;
	if (!s->o.speculate || !s->nrunning)
		return next;
	uint64_t limit = s->o.speculate_ms * 1000000ull;
	if (!limit) {
		if (s->ndurations < 5)
			return next;
		uint64_t *v = xmalloc(s->ndurations * sizeof *v);
		memcpy(v, s->durations, s->ndurations * sizeof *v);
		qsort(v, s->ndurations, sizeof *v, cmp_u64);
		limit = 4 * v[s->ndurations / 2];
		free(v);
		if (limit < 2000000000ull)
			limit = 2000000000ull;
	}
	uint64_t now = now_ns();
	for (size_t i = 0; i < s->nrunning; i++) {
		struct node *n = s->running[i];
		if (n->njobs != 1)
			continue;
		if (now - n->started < limit) {
			if (n->started + limit < next)
				next = n->started + limit;
			continue;
		}
		struct engine *e = pick_engine(s, n, n->jobs[0]->engine, NULL, NULL, cbs);
		if (!e)
			e = pick_engine(s, n, NULL, NULL, NULL, cbs);
		if (!e)
			return UINT64_MAX; /* no free slot: a finished job wakes the timer */
		s->stats.speculated++;
		submit_job(s, n, e);
	}
	return next;
}

/* ---- the timer: delayed nodes, speculation, progress ---- */

double sched_estimate_left(const struct sched_stats *st, size_t known, double elapsed)
{
	size_t finished = st->executed + st->cached + st->failed;
	size_t worked = st->executed + st->failed;
	if (st->executed < 3 || known <= finished)
		return -1;
	return elapsed / (double)worked * (double)(known - finished);
}

/*
 * The status line, on a terminal only: how many of the thunks known so far
 * (a dynamic graph reveals more as it goes) are done, from the memo, failed
 * and running on each engine, the time so far and a rough estimate of the
 * rest (mu held). Drawn by tell_notes once mu is dropped.
 */
static char *progress_line(struct sched *s, bool final)
{
	struct sched_stats st = s->stats;
	size_t known = s->nodes.len + s->ngrave, finished = st.executed + st.cached + st.failed;
	double el = (double)(now_ns() - s->t0) / 1e9;
	struct buf b = BUF_INIT;
	buf_printf(&b, "\r[gg] %zu/%zu done", finished, known);
	if (st.cached)
		buf_printf(&b, " (%zu cached)", st.cached);
	if (st.failed)
		buf_printf(&b, ", %zu failed", st.failed);
	buf_adds(&b, "; running");
	for (size_t i = 0; i < s->nengines; i++)
		buf_printf(&b, " %s %d", s->engines[i]->label, s->in_flight[i]);
	if (st.cost > 0)
		buf_printf(&b, "; ~$%.4f", st.cost);
	buf_printf(&b, "; %.1fs", el);
	double left = sched_estimate_left(&st, known, el);
	if (!final && left >= 0)
		buf_printf(&b, ", ~%.0fs left", left);
	buf_printf(&b, "\x1b[K%s", final ? "\n" : "");
	return buf_steal(&b);
}

void sched_progress_end(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	struct cbs c = {.progress = s->progress_on ? progress_line(s, true) : NULL};
	s->progress_on = false;
	pthread_mutex_unlock(&s->mu);
	tell_notes(s, &c);
}

static void *timer_main(void *p)
{
	struct sched *s = p;
	pthread_mutex_lock(&s->mu);
	while (!s->shutdown) {
		struct cbs cbs = {0};
		uint64_t now = now_ns();
		for (size_t i = 0; i < s->ndelayed;) {
			struct node *n = s->delayed[i];
			if (n->not_before <= now) {
				s->delayed[i] = s->delayed[--s->ndelayed];
				make_ready(s, n);
			} else {
				i++;
			}
		}
		uint64_t next = speculate(s, &cbs);
		dispatch(s, &cbs);
		/* after dispatch, which may have delayed more (a thunk another
		 * process runs) */
		for (size_t i = 0; i < s->ndelayed; i++)
			if (s->delayed[i]->not_before < next)
				next = s->delayed[i]->not_before;
		if (s->progress_on) {
			if (now >= s->next_progress) {
				cbs.progress = progress_line(s, false);
				s->next_progress = now + 100000000ull;
			}
			next = s->next_progress < next ? s->next_progress : next;
		}
		if (!cbs_empty(&cbs)) {
			pthread_mutex_unlock(&s->mu);
			deliver(s, &cbs);
			pthread_mutex_lock(&s->mu);
			continue; /* things may have changed meanwhile */
		}
		s->timer_at = next;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&s->timer_cv, &s->mu);
		} else {
			struct timespec ts = {(time_t)(next / 1000000000u),
			                      (long)(next % 1000000000u)};
			pthread_cond_timedwait(&s->timer_cv, &s->mu, &ts);
		}
		s->timer_at = 0; /* awake: nobody needs to signal */
	}
	struct cbs c = {.progress = s->progress_on ? progress_line(s, true) : NULL};
	pthread_mutex_unlock(&s->mu);
	tell_notes(s, &c);
	return NULL;
}

/* Waits for the cancel token (its fd) or sched_free, whichever comes first. */
static void *watcher_main(void *p)
{
	struct sched *s = p;
	struct pollfd fds[2] = {{.fd = gg_cancel_fd(s->o.cancel), .events = POLLIN},
	                        {.fd = s->watcher_stop[0], .events = POLLIN}};
	while (poll(fds, 2, -1) < 0 && errno == EINTR)
		;
	if (!(fds[0].revents & POLLIN))
		return NULL;
	struct cbs cbs = {0};
	pthread_mutex_lock(&s->mu);
	cancel_everything(s, &cbs);
	pthread_mutex_unlock(&s->mu);
	deliver(s, &cbs);
	return NULL;
}

int sched_new(struct store *st, const struct sched_opts *o, struct sched **out)
{
	if (!o->nengines)
		return gg_fail(GG_EUSAGE, "the scheduler was given no engine to run thunks on");
	struct sched *s = xcalloc(1, sizeof *s);
	s->nodes = (struct nameidx)NAMEIDX_INIT(struct node, name);
	s->store = st;
	s->o = *o;
	s->t0 = now_ns();
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->notes_mu, NULL);
	pthread_cond_init(&s->idle_cv, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines are now_ns() */
	pthread_cond_init(&s->timer_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->loader_cv, NULL);
	s->watcher_stop[0] = s->watcher_stop[1] = -1;
	s->nengines = o->nengines;
	s->engines = xcalloc(o->nengines, sizeof *s->engines);
	memcpy(s->engines, o->engines, o->nengines * sizeof *s->engines);
	s->in_flight = xcalloc(s->nengines, sizeof *s->in_flight);
	s->progress_on = o->progress && isatty(2);
	if (pthread_create(&s->loader, NULL, loader_main, s) != 0) {
		free(s->engines);
		free(s->in_flight);
		free(s);
		return gg_error("cannot start the scheduler's loader thread");
	}
	if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
		pthread_mutex_lock(&s->mu);
		s->shutdown = true;
		pthread_cond_broadcast(&s->loader_cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->loader, NULL);
		free(s->engines);
		free(s->in_flight);
		free(s);
		return gg_error("cannot start the scheduler's thread");
	}
	if (o->cancel) {
		if (pipe2(s->watcher_stop, O_CLOEXEC) < 0 ||
		    pthread_create(&s->watcher, NULL, watcher_main, s) != 0) {
			int e = errno;
			sched_free(s);
			errno = e;
			return gg_error_errno("cannot start the scheduler's cancel watcher");
		}
		s->have_watcher = true;
	}
	*out = s;
	return 0;
}

static void write_trace(struct sched *s)
{
	if (trace_write_file(s->o.trace_path, &s->trace) < 0)
		fprintf(stderr, "gg: cannot write trace: %s\n", gg_last_error());
}

static void free_node(struct node *n)
{
	n->njobs = 0;
	free_run(n);
	free(n->raw);
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	free(n->resolved);
	free(n->resolved_link);
	free(n->primary); /* and label */
	if (n->tr)
		strvec_free(&n->tr->deps);
	free(n->tr);
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
	struct cbs cbs = {0};
	pthread_mutex_lock(&s->mu);
	if (gg_cancel_fired(s->o.cancel))
		cancel_everything(s, &cbs); /* the watcher may not have seen it */
	s->shutdown = true;
	pthread_cond_broadcast(&s->timer_cv);
	pthread_cond_broadcast(&s->loader_cv);
	/* Jobs already handed to engines finish; nothing new starts. */
	pthread_mutex_unlock(&s->mu);
	deliver(s, &cbs);
	pthread_mutex_lock(&s->mu);
	while (s->jobs_in_flight)
		pthread_cond_wait(&s->idle_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->loader, NULL);
	pthread_join(s->timer, NULL);
	if (s->have_watcher) {
		if (write(s->watcher_stop[1], "x", 1) < 0)
			abort(); /* a pipe of our own: cannot fail */
		pthread_join(s->watcher, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (s->watcher_stop[i] >= 0)
			close(s->watcher_stop[i]);
	if (s->o.trace_path)
		write_trace(s);
	for (size_t i = 0; i < s->nodes.cap; i++)
		if (s->nodes.slots[i])
			free_node(s->nodes.slots[i]);
	nameidx_free(&s->nodes);
	for (size_t i = 0; i < s->ngrave; i++)
		free_node(s->graveyard[i]);
	free(s->graveyard);
	for (size_t i = 0; i < s->nerrors; i++)
		free(s->errors[i]->msg), free(s->errors[i]);
	free(s->errors);
	for (size_t i = 0; i < s->nwork; i++)
		free_waiter(s->work[i].w);
	free(s->work);
	for (size_t i = s->asked_head; i < s->nasked; i++)
		free_waiter(s->asked[i].w);
	free(s->asked);
	free(s->delayed);
	free(s->running);
	free(s->durations);
	free(s->engines);
	free(s->in_flight);
	buf_free(&s->trace);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->notes_mu);
	pthread_cond_destroy(&s->idle_cv);
	pthread_cond_destroy(&s->timer_cv);
	pthread_cond_destroy(&s->loader_cv);
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

size_t sched_force_all(struct sched *s, const struct gg_ref *refs, size_t n,
                       struct sched_outcome *outs)
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

/* memo_resolve's lookup for sched_state_of: a thunk this scheduler holds
 * answers for itself (2 while it runs); any other, the store. */
static int state_lookup(void *sched, struct store *store, const struct gg_name *thunk,
                        struct memo *out)
{
	struct sched *s = sched;
	pthread_mutex_lock(&s->mu);
	/* a failed node is buried: never found here */
	struct node *n = nameidx_get(&s->nodes, thunk);
	int r = !n ? -2 : n->state != N_DONE ? 2 : 1;
	if (r == 1) {
		*out = (struct memo){0};
		for (size_t i = 0; i < n->memo.n; i++) {
			const struct memo_output *o = &n->memo.v[i];
			if (o->link)
				memo_add_link(out, o->path, &o->value);
			else
				memo_add(out, o->path, &o->value, o->exec);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return r == -2 ? memo_get(store, thunk, out) : r;
}

enum sched_state sched_state_of(struct sched *s, const struct gg_ref *ref)
{
	struct memo_output end;
	int r = memo_resolve(s->store, ref, state_lookup, s, &end);
	return r == 2 ? SCHED_RUNNING : r == 1 ? SCHED_FORCED : SCHED_UNFORCED;
}
