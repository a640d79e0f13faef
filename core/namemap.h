/**
 * @file namemap.h
 * A hash table from object names to pointers (open addressing, linear
 * probing, grows at 50% load). Not thread-safe: the owner locks.
 */
#ifndef GG_NAMEMAP_H
#define GG_NAMEMAP_H

#include "hash.h"

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

#endif
