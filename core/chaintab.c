/**
 * @file chaintab.c
 * An intrusive hash table with chaining (chaintab.h).
 */
#include "core/chaintab.h"

#include "core/util.h"

#include <stdlib.h>

void chaintab_insert(struct chaintab *t, void *obj)
{
	if (t->len + 1 > t->cap / 2) {
		size_t cap = t->cap ? t->cap * 2 : t->min_cap;
		void **b = xcalloc(cap, sizeof *b);
		for (size_t i = 0; i < t->cap; i++)
			for (void *m = t->buckets[i], *next; m; m = next) {
				next = *chaintab_link_(t, m);
				size_t k = t->hash(m) & (cap - 1);
				*chaintab_link_(t, m) = b[k];
				b[k] = m;
			}
		free(t->buckets);
		t->buckets = b;
		t->cap = cap;
	}
	size_t k = t->hash(obj) & (t->cap - 1);
	*chaintab_link_(t, obj) = t->buckets[k];
	t->buckets[k] = obj;
	t->len++;
}

bool chaintab_remove(struct chaintab *t, void *obj)
{
	if (!t->cap)
		return false;
	for (void **pp = &t->buckets[t->hash(obj) & (t->cap - 1)]; *pp; pp = chaintab_link_(t, *pp))
		if (*pp == obj) {
			*pp = *chaintab_link_(t, obj);
			t->len--;
			return true;
		}
	return false;
}

void chaintab_free(struct chaintab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->cap = t->len = 0;
}
