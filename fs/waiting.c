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
 *
 * A caller killed while its request waits its turn would wait for the
 * lease-breaks of those before it (the kernel keeps a request it sent
 * until answered, and the killed caller with it): FUSE_INTERRUPT takes it
 * out of the queue and has its handler answer EINTR at once. One a thread
 * took already waits in open(2) for its break.
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
	struct ggfs *fs;
	bool interrupted; /* protected by fs->waiting_mu */
};

/*
 * FUSE_INTERRUPT of a request handed here (libfuse's callback, under the
 * request's lock). Still queued: taken out and answered here, which is
 * safe as libfuse holds the request until the callback returns (its count,
 * raised by find_interrupted in libfuse 3.14's fuse_lowlevel.c: not
 * documented, so checked again when libfuse changes). Else
 * marked: for the thread that took it, or for waiting_run, which
 * registers the callback before it queues the request (a callback run
 * inside that registration must not answer: libfuse would then free the
 * request under its own lock).
 */
static void waiting_interrupt(fuse_req_t req, void *data)
{
	struct waiting *w = data;
	struct ggfs *fs = w->fs;
	bool queued;
	pthread_mutex_lock(&fs->waiting_mu);
	w->interrupted = true;
	FIFO_REMOVE(fs->waiting_head, fs->waiting_tail, next, w, queued);
	if (queued)
		fs->waiting_len--;
	pthread_mutex_unlock(&fs->waiting_mu);
	if (queued) {
		w->fn(fs, req, w->arg, true);
		free(w);
	}
}

/* Runs w's handler, and frees w; without fs->waiting_mu. */
static void waiting_answer(struct ggfs *fs, struct waiting *w)
{
	fuse_req_interrupt_func(w->req, NULL, NULL); /* waits for a running callback */
	pthread_mutex_lock(&fs->waiting_mu);
	bool interrupted = w->interrupted;
	pthread_mutex_unlock(&fs->waiting_mu);
	waiting_fn *fn = w->fn;
	fuse_req_t req = w->req;
	void *arg = w->arg;
	free(w);
	fn(fs, req, arg, interrupted);
}

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
		waiting_answer(fs, w);
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
	w->fs = fs;
	/* before anyone may take it (and free it); runs here if the interrupt
	 * came first */
	fuse_req_interrupt_func(req, waiting_interrupt, w);
	pthread_mutex_lock(&fs->waiting_mu);
	bool here = fs->waiting_stop || w->interrupted;
	if (!here) {
		FIFO_PUSH(fs->waiting_head, fs->waiting_tail, w, next);
		fs->waiting_len++;
		/* a thread for each item waiting, unless one is free (a thread
		 * counts as busy only once it took an item) */
		if (fs->waiting_threads.n - fs->waiting_busy < fs->waiting_len &&
		    fs->waiting_threads.n < GGFS_WAITING_THREADS)
			(void)workers_add(&fs->waiting_threads, waiting_main, fs);
		if (!fs->waiting_threads.n) {
			here = true; /* none could start: it waits here */
			fs->waiting_head = fs->waiting_tail = NULL;
			fs->waiting_len = 0;
		}
		pthread_cond_signal(&fs->waiting_cv);
	}
	pthread_mutex_unlock(&fs->waiting_mu);
	if (here)
		waiting_answer(fs, w);
}

void waiting_stop(struct ggfs *fs)
{
	workers_stop(&fs->waiting_threads, &fs->waiting_mu, &fs->waiting_cv, &fs->waiting_stop);
}
