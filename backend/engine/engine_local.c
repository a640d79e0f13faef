/**
 * @file engine_local.c
 * The local engine: a pool of `limit` threads, each executing one reduced
 * thunk at a time with exec_thunk() (the hermetic sandbox). It runs
 * everything; it has no size limits. The threads start with the first job,
 * so a force that is all memo hits starts none.
 */
#include "backend/engine/engine.h"

#include "core/workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct local {
	struct engine e;
	struct engine_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct engine_job **queue; /* FIFO ring; protected by mu */
	size_t head, len, cap;
	bool stopping;          /* protected by mu */
	struct workers threads; /* thread i runs slot i; protected by mu */
	/* per slot: the job it runs and that job's cancel token; protected by mu */
	struct engine_job **running;
	struct gg_cancel **tokens;
	bool started; /* start_threads ran; protected by mu */
};

struct thread_arg {
	struct local *l;
	int slot;
};

static void *local_thread(void *p)
{
	struct thread_arg *ta = p;
	struct local *l = ta->l;
	int slot = ta->slot;
	free(ta);
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->len && !l->stopping)
			pthread_cond_wait(&l->cv, &l->mu);
		if (!l->len)
			break;
		struct engine_job *job = l->queue[l->head];
		l->head = (l->head + 1) % l->cap;
		l->len--;
		/* A token per run, so cancelling this job (a speculative copy
		 * that lost, a cancelled force) kills its program. */
		struct gg_cancel token;
		bool have_token = gg_cancel_init(&token) == 0;
		l->running[slot] = job;
		l->tokens[slot] = have_token ? &token : NULL;
		pthread_mutex_unlock(&l->mu);
		job->slot = slot;
		struct exec_opts eo = l->cfg.exec;
		eo.cancel = have_token ? &token : NULL;
		if (job->cancelled) {
			job->rc = -1;
			job->error = xstrdup("cancelled");
		} else {
			job->rc = l->cfg.execute
			              ? l->cfg.execute(l->cfg.execute_ctx, l->cfg.store, job->thunk,
			                               &eo, &job->result)
			              : exec_thunk(l->cfg.store, job->thunk, &eo, &job->result);
			if (job->rc < 0) {
				job->error = xstrdup(gg_last_error());
				job->code = gg_last_code();
			}
		}
		pthread_mutex_lock(&l->mu);
		l->running[slot] = NULL;
		l->tokens[slot] = NULL;
		pthread_mutex_unlock(&l->mu);
		if (have_token)
			gg_cancel_destroy(&token);
		job->done(job);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static enum gg_code local_can_execute(struct engine *e, const struct thunk *t, char **why)
{
	(void)e, (void)t, (void)why;
	return GG_OK;
}

/* Starts the pool (mu held). Fails only if no thread at all can start. */
static int start_threads(struct local *l)
{
	l->started = true;
	for (int i = 0; i < l->e.limit; i++) {
		struct thread_arg *ta = xmalloc(sizeof *ta);
		*ta = (struct thread_arg){l, i};
		if (workers_add(&l->threads, local_thread, ta) < 0) {
			free(ta);
			break;
		}
	}
	return l->threads.n ? 0 : gg_error("cannot start threads for the local engine");
}

static int local_submit(struct engine *e, struct engine_job *job)
{
	struct local *l = e->priv;
	pthread_mutex_lock(&l->mu);
	if (!l->started && start_threads(l) < 0) {
		pthread_mutex_unlock(&l->mu);
		return -1;
	}
	if (l->len == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct engine_job **q = xcalloc(cap, sizeof *q);
		for (size_t i = 0; i < l->len; i++)
			q[i] = l->queue[(l->head + i) % l->cap];
		free(l->queue);
		l->queue = q;
		l->head = 0;
		l->cap = cap;
	}
	l->queue[(l->head + l->len++) % l->cap] = job;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static void local_cancel(struct engine *e, struct engine_job *job)
{
	struct local *l = e->priv;
	pthread_mutex_lock(&l->mu);
	job->cancelled = true; /* a queued job is skipped */
	for (size_t i = 0; i < l->threads.n; i++)
		if (l->running[i] == job && l->tokens[i])
			gg_cancel_fire(l->tokens[i]); /* a running one is killed */
	pthread_mutex_unlock(&l->mu);
}

static void local_destroy(struct engine *e)
{
	struct local *l = e->priv;
	workers_stop(&l->threads, &l->mu, &l->cv, &l->stopping);
	free(l->running);
	free(l->tokens);
	free(l->queue);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->e.label);
	free(l);
}

static const struct engine_ops local_ops = {
    .name = "local",
    .can_execute = local_can_execute,
    .submit = local_submit,
    .cancel = local_cancel,
    .destroy = local_destroy,
};

int engine_local_create(int limit, const struct engine_config *cfg, struct engine **out)
{
	if (limit <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		limit = n > 0 ? (int)n : 1;
	}
	struct local *l = xcalloc(1, sizeof *l);
	l->e.ops = &local_ops;
	l->e.label = xstrdup("local");
	l->e.limit = limit;
	l->e.priv = l;
	l->cfg = *cfg;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->running = xcalloc((size_t)limit, sizeof *l->running);
	l->tokens = xcalloc((size_t)limit, sizeof *l->tokens);
	*out = &l->e;
	return 0;
}
