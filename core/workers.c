/**
 * @file workers.c
 * A pool's threads, started one by one and stopped together (workers.h).
 */
#include "core/workers.h"

#include "core/util.h"

#include <errno.h>
#include <stdlib.h>

int workers_add(struct workers *w, void *(*main)(void *), void *arg)
{
	ALLOC_GROW(w->v, w->n + 1, w->alloc);
	int e = pthread_create(&w->v[w->n], NULL, main, arg);
	if (e) {
		errno = e;
		return -1;
	}
	w->n++;
	return 0;
}

void workers_stop(struct workers *w, pthread_mutex_t *mu, pthread_cond_t *cv, bool *stopping)
{
	pthread_mutex_lock(mu);
	*stopping = true;
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(mu);
	for (size_t i = 0; i < w->n; i++)
		pthread_join(w->v[i], NULL);
	free(w->v);
	*w = (struct workers){0};
}
