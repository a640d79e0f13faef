/**
 * @file cancel.c
 * The cancel token (see cancel.h).
 */
#include "core/cancel.h"

#include "core/util.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int gg_cancel_init(struct gg_cancel *c)
{
	atomic_init(&c->fired, false);
	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return c->fd < 0 ? gg_error_errno("cannot create a cancel token") : 0;
}

void gg_cancel_destroy(struct gg_cancel *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void gg_cancel_fire(struct gg_cancel *c)
{
	if (atomic_exchange(&c->fired, true))
		return;
	uint64_t one = 1;
	ssize_t w = write(c->fd, &one, sizeof one); /* only write(2): signal-safe */
	(void)w;
}

bool gg_cancel_fired(const struct gg_cancel *c)
{
	return c && atomic_load(&c->fired);
}

int gg_cancel_fd(const struct gg_cancel *c)
{
	return c ? c->fd : -1;
}
