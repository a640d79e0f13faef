/**
 * @file cancel.h
 * A cancel token: one per force (a `gg force`, a mount, a worker's request).
 *
 * Firing it is async-signal-safe, so a SIGINT or SIGTERM handler, a FUSE
 * interrupt or a closed connection can fire it. Everything that waits on
 * behalf of the force watches it: the scheduler starts nothing more and
 * fails what waits with "cancelled", a sandbox kills its program, a remote
 * engine drops its transfers. Its fd becomes readable once fired and stays
 * so (nobody reads it), for poll() beside other fds.
 */
#ifndef GG_CANCEL_H
#define GG_CANCEL_H

#include <stdatomic.h>
#include <stdbool.h>

struct gg_cancel {
	atomic_bool fired;
	int fd; /* an eventfd, readable once fired */
};

/* 0, or -1 with gg_last_error() set. */
int gg_cancel_init(struct gg_cancel *c);
void gg_cancel_destroy(struct gg_cancel *c);
/* Async-signal-safe; firing twice is firing once. */
void gg_cancel_fire(struct gg_cancel *c);
/* NULL (no token) is never fired. */
bool gg_cancel_fired(const struct gg_cancel *c);
/* For poll(): POLLIN once fired; -1 for NULL. */
int gg_cancel_fd(const struct gg_cancel *c);

#endif
