/*
 * Requests that wait for someone else, answered off FUSE's threads.
 *
 * An open of a file someone holds a lease on (fcntl F_SETLEASE: Samba, an
 * NFS server, or any owner of the file) waits until the holder lets go or
 * the lease-break time ends (/proc/sys/fs/lease-break-time, 45 s). On a
 * FUSE thread that wait is everyone's: a user with a lease on a file of
 * its own and a few dozen opens of it through an allow_other mount would
 * hold every thread of the mount. open_source_file tries without waiting
 * (O_NONBLOCK: EWOULDBLOCK while a lease is in the way) and hands such an
 * open here (and a truncation by path: truncate(2) waits as an open for
 * writing does); these threads wait for it and answer it, and FUSE's
 * threads go on with the other requests. They start when first needed (most
 * mounts never meet a lease), at most GGFS_WAITING_THREADS.
 */
#include "fs/ggfs.h"

#include "core/util.h"

#include <stdlib.h>

struct waiting {
	struct waiting *next; /* in fs->waiting_head, protected by waiting_mu */
	waiting_fn *fn;
	fuse_req_t req;
	void *arg;
	bool kills; /* ident_noted_kills of the thread that read the request */
};

static void *waiting_main(void *arg)
{
	struct ggfs *fs = arg;
	pthread_mutex_lock(&fs->waiting_mu);
	for (;;) {
		struct waiting *w;
		WORKERS_NEXT(fs->waiting_head, fs->waiting_tail, next, w, fs->waiting_stop,
		             &fs->waiting_cv, &fs->waiting_mu);
		if (!w)
			break;
		fs->waiting_len--;
		fs->waiting_busy++;
		pthread_mutex_unlock(&fs->waiting_mu);
		ident_note_kills(w->kills);
		w->fn(fs, w->req, w->arg);
		free(w);
		pthread_mutex_lock(&fs->waiting_mu);
		fs->waiting_busy--;
	}
	pthread_mutex_unlock(&fs->waiting_mu);
	return NULL;
}

void waiting_run(struct ggfs *fs, waiting_fn *fn, fuse_req_t req, void *arg)
{
	struct waiting *w = xcalloc(1, sizeof *w);
	w->fn = fn;
	w->req = req;
	w->arg = arg;
	w->kills = ident_noted_kills();
	pthread_mutex_lock(&fs->waiting_mu);
	bool stopping = fs->waiting_stop;
	if (!stopping) {
		FIFO_PUSH(fs->waiting_head, fs->waiting_tail, w, next);
		fs->waiting_len++;
		/* a thread for each item waiting, unless one is free (a thread
		 * counts as busy only once it took an item) */
		if (fs->waiting_threads.n - fs->waiting_busy < fs->waiting_len &&
		    fs->waiting_threads.n < GGFS_WAITING_THREADS)
			(void)workers_add(&fs->waiting_threads, waiting_main, fs);
		if (!fs->waiting_threads.n) {
			stopping = true; /* none could start: it waits here */
			fs->waiting_head = fs->waiting_tail = NULL;
			fs->waiting_len = 0;
		}
		pthread_cond_signal(&fs->waiting_cv);
	}
	pthread_mutex_unlock(&fs->waiting_mu);
	if (stopping) {
		free(w);
		fn(fs, req, arg);
	}
}

void waiting_stop(struct ggfs *fs)
{
	workers_stop(&fs->waiting_threads, &fs->waiting_mu, &fs->waiting_cv, &fs->waiting_stop);
}
