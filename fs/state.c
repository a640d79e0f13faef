/**
 * @file state.c
 * The daemon's state before a mount: struct ggfs's defaults and locks, in
 * one place for ggfs's main and for the unit tests of fs/ (each links this
 * module beside the one it tests).
 */
#include "fs/ggfs.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

void ggfs_init(struct ggfs *fs)
{
	memset(fs, 0, sizeof *fs);
	fs->timeout = 1.0;
	fs->backing = 1;
	fs->devfd = -1;
	fs->watch_fd = fs->watch_wake = -1;
	fs->cancel.fd = -1;
	fs->root.fd = -1;
	pthread_mutex_init(&fs->mu, NULL);
	/* backing.c's timed waits for a mode change are on the monotonic clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->mode_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&fs->done_mu, NULL);
	pthread_cond_init(&fs->done_cv, NULL);
	pthread_mutex_init(&fs->waiting_mu, NULL);
	pthread_cond_init(&fs->waiting_cv, NULL);
}
