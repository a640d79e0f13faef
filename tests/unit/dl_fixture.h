/**
 * @file dl_fixture.h
 * What the tests of the libraries loaded on first use (test_curl_dl,
 * test_ssl_dl) share: many threads calling a loader at once, and a library
 * hidden under a bind mount in a mount namespace of the calling process
 * only (the loaders' sonames are fixed, so that is the way to make one
 * missing or wrong). Run both in a child (harness_in_child).
 */
#ifndef GG_DL_FIXTURE_H
#define GG_DL_FIXTURE_H

#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>

#define DL_FIXTURE_THREADS 8

struct dl_fixture_threads {
	int (*load)(void);
	const void *table; /* what load fills */
	size_t size;
	pthread_barrier_t barrier;
	unsigned char *seen; /* each thread's copy of table right after its call */
};

struct dl_fixture_thread {
	struct dl_fixture_threads *all;
	int i;
};

static inline void *dl_fixture_thread(void *arg)
{
	struct dl_fixture_thread *t = arg;
	struct dl_fixture_threads *all = t->all;
	pthread_barrier_wait(&all->barrier);
	int r = all->load();
	memcpy(all->seen + (size_t)t->i * all->size, all->table, all->size);
	return (void *)(intptr_t)r;
}

/* DL_FIXTURE_THREADS threads call load at once: each call succeeds and
 * sees, as soon as it returns, the whole table as it is at the end. */
static inline void dl_fixture_load_from_threads(int (*load)(void), const void *table, size_t size)
{
	struct dl_fixture_threads all = {load, table, size,
	                                 .seen = xmalloc(DL_FIXTURE_THREADS * size)};
	struct dl_fixture_thread one[DL_FIXTURE_THREADS];
	pthread_t t[DL_FIXTURE_THREADS];
	pthread_barrier_init(&all.barrier, NULL, DL_FIXTURE_THREADS);
	for (int i = 0; i < DL_FIXTURE_THREADS; i++) {
		one[i] = (struct dl_fixture_thread){&all, i};
		CHECK(pthread_create(&t[i], NULL, dl_fixture_thread, &one[i]) == 0);
	}
	for (int i = 0; i < DL_FIXTURE_THREADS; i++) {
		void *r = (void *)-1;
		pthread_join(t[i], &r);
		CHECK(r == 0);
		CHECK(!memcmp(all.seen + (size_t)i * size, table, size));
	}
	pthread_barrier_destroy(&all.barrier);
	free(all.seen);
}

/* Puts `with` over the file of soname (in /lib/x86_64-linux-gnu or
 * /usr/lib) in a mount namespace of this process only; umount() of the
 * returned path (to free) brings it back. */
static inline char *dl_fixture_hide(const char *soname, const char *with)
{
	char *lib = xasprintf("/lib/x86_64-linux-gnu/%s", soname);
	char *real = realpath(lib, NULL);
	free(lib);
	if (!real) {
		lib = xasprintf("/usr/lib/%s", soname);
		real = realpath(lib, NULL);
		free(lib);
	}
	bool ok = real && unshare(CLONE_NEWNS | (getuid() == 0 ? 0 : CLONE_NEWUSER)) == 0 &&
	          mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	          mount(with, real, NULL, MS_BIND, NULL) == 0;
	if (!ok)
		fprintf(stderr, "cannot hide %s (%s): %s\n", soname, real ? real : "not found",
		        strerror(errno));
	CHECK(ok);
	return real;
}

#endif
