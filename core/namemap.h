/**
 * @file namemap.h
 * A hash table from object names to pointers (open addressing, linear
 * probing, grows at 50% load). Not thread-safe: the owner locks.
 */
#ifndef GG_NAMEMAP_H
#define GG_NAMEMAP_H

#include "core/hash.h"

#include <stddef.h>

struct namemap_slot {
	struct gg_name key;
	void *value;
	bool used;
};

struct namemap {
	struct namemap_slot *slots;
	size_t cap, len;
};

void *namemap_get(const struct namemap *m, const struct gg_name *key);
/* Inserts or replaces. */
void namemap_put(struct namemap *m, const struct gg_name *key, void *value);
/* Removes; returns the old value or NULL. */
void *namemap_del(struct namemap *m, const struct gg_name *key);
void namemap_free(struct namemap *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].used) ... */

/*
 * An index of objects that hold their own name, key_off bytes from their
 * start: a slot is just a pointer (8 bytes, a namemap slot has 96), for big
 * tables such as the scheduler's nodes. Same probing and growth; the objects
 * must not move or change their name while indexed.
 */
struct nameidx {
	void **slots;
	size_t cap, len;
	size_t key_off;
};
#define NAMEIDX_INIT(type, member)                                                                 \
	{                                                                                          \
		NULL, 0, 0, offsetof(type, member)                                                 \
	}

void *nameidx_get(const struct nameidx *m, const struct gg_name *key);
/* Inserts obj, replacing an object of the same name. */
void nameidx_put(struct nameidx *m, void *obj);
/* Removes; returns the old object or NULL. */
void *nameidx_del(struct nameidx *m, const struct gg_name *key);
void nameidx_free(struct nameidx *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i]) ... */

#endif
