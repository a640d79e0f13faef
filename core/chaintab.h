/**
 * @file chaintab.h
 * A hash table of objects that carry their own link (intrusive, separate
 * chaining, grown to keep at most one object per two buckets): no
 * allocation per object, and an object can be in several tables through
 * several links (ggfs's nodes are found by (dev, ino), by (directory,
 * name) and by watch descriptor). The owner computes hashes and compares
 * keys; not thread-safe (the owner locks).
 *
 *     for (struct node *n = chaintab_first(&t, h); n; n = chaintab_next(&t, n))
 *             if (key matches) return n;
 */
#ifndef GG_CHAINTAB_H
#define GG_CHAINTAB_H

#include <stdbool.h>
#include <stddef.h>

struct chaintab {
	void **buckets;
	size_t cap, len;
	size_t link_off;                 /* where an object keeps its `void *` link */
	size_t (*hash)(const void *obj); /* an object's hash, to grow and to remove */
	size_t min_cap;                  /* a power of two */
};
#define CHAINTAB_INIT(type, link, hash_fn, min)                                                    \
	(struct chaintab)                                                                          \
	{                                                                                          \
		NULL, 0, 0, offsetof(type, link), hash_fn, min                                     \
	}

static inline void **chaintab_link_(const struct chaintab *t, const void *obj)
{
	return (void **)((char *)obj + t->link_off);
}

/* The first object of hash h's bucket (any key), or NULL. */
static inline void *chaintab_first(const struct chaintab *t, size_t h)
{
	return t->cap ? t->buckets[h & (t->cap - 1)] : NULL;
}

/* The object after obj in its bucket, or NULL. */
static inline void *chaintab_next(const struct chaintab *t, const void *obj)
{
	return *chaintab_link_(t, obj);
}

/* Adds obj (not already in t), under t->hash(obj). */
void chaintab_insert(struct chaintab *t, void *obj);
/* Removes obj, found under t->hash(obj); false if it is not in t. */
bool chaintab_remove(struct chaintab *t, void *obj);
/* Frees the buckets (not the objects): t is empty, ready for use again. */
void chaintab_free(struct chaintab *t);

#endif
