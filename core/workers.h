/**
 * @file workers.h
 * The one way to run a pool of threads: the threads are started one by one
 * and stopped together, and the jobs they wait for are kept in a FIFO linked
 * through the jobs themselves. Each pool keeps its own lock, condition
 * variable and job type (the local engine, the remote engines' transfers,
 * the mount's finished forces); what they share is here.
 *
 * A thread's loop, under the pool's lock:
 *     WORKERS_NEXT(head, tail, next, job, stopping, &cv, &mu);
 *     if (!job)
 *             break;               (stopped, and nothing is left to do)
 */
#ifndef GG_WORKERS_H
#define GG_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* The threads of one pool. Zero-initialised: none yet. */
struct workers {
	pthread_t *v;
	size_t n, alloc; /* n: started, and not yet stopped */
};

/* Starts one more thread running main(arg): 0, or -1 if it could not start. */
int workers_add(struct workers *w, void *(*main)(void *), void *arg);

/*
 * Stops the pool: sets *stopping under mu, wakes every thread waiting on cv
 * and joins them all (each returns once its queue is empty: see above).
 * Afterwards w holds no thread.
 */
void workers_stop(struct workers *w, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stopping);

/* Appends item to the FIFO (head, tail) of items linked by their field next. */
#define FIFO_PUSH(head, tail, item, next)                                                          \
	do {                                                                                       \
		(item)->next = NULL;                                                               \
		if (tail)                                                                          \
			(tail)->next = (item);                                                     \
		else                                                                               \
			(head) = (item);                                                           \
		(tail) = (item);                                                                   \
	} while (0)

/* Takes the FIFO's first item into out (NULL when it is empty). */
#define FIFO_POP(head, tail, next, out)                                                            \
	do {                                                                                       \
		(out) = (head);                                                                    \
		if (out) {                                                                         \
			(head) = (out)->next;                                                      \
			if (!(head))                                                               \
				(tail) = NULL;                                                     \
		}                                                                                  \
	} while (0)

/* Takes item out of the FIFO wherever it is; removed: whether it was in. */
#define FIFO_REMOVE(head, tail, next, item, removed)                                               \
	do {                                                                                       \
		__typeof__(head) *pp_ = &(head), prev_ = NULL;                                     \
		while (*pp_ && *pp_ != (item)) {                                                   \
			prev_ = *pp_;                                                              \
			pp_ = &prev_->next;                                                        \
		}                                                                                  \
		(removed) = *pp_ != NULL;                                                          \
		if (removed) {                                                                     \
			*pp_ = (item)->next;                                                       \
			if ((tail) == (item))                                                      \
				(tail) = prev_;                                                    \
		}                                                                                  \
	} while (0)

/* Under the pool's lock mu: waits for an item and takes the FIFO's first
 * into out; NULL once stopping and the FIFO is empty. */
#define WORKERS_NEXT(head, tail, next, out, stopping, cv, mu)                                      \
	do {                                                                                       \
		while (!(head) && !(stopping))                                                     \
			pthread_cond_wait(cv, mu);                                                 \
		FIFO_POP(head, tail, next, out);                                                   \
	} while (0)

#endif
