/**
 * @file test_chaintab.c
 * The intrusive hash table: objects found by key through many growths and
 * collisions (every key in a few buckets), removed from the middle of a
 * chain, one object in two tables at once through two links.
 */
#include "core/chaintab.h"
#include "core/util.h"
#include "harness.h"

#include <stdlib.h>

struct obj {
	int key;
	void *link_a, *link_b;
};

static size_t hash_a(const void *o)
{
	return (size_t)((const struct obj *)o)->key * 2654435761u;
}

static size_t hash_b(const void *o)
{
	return (size_t)(((const struct obj *)o)->key % 7); /* 7 buckets used: long chains */
}

static struct obj *find(const struct chaintab *t, size_t h, int key)
{
	for (struct obj *o = chaintab_first(t, h); o; o = chaintab_next(t, o))
		if (o->key == key)
			return o;
	return NULL;
}

static void test_insert_find_remove(void)
{
	enum { N = 5000 };
	struct obj *v = xcalloc(N, sizeof *v);
	struct chaintab a = CHAINTAB_INIT(struct obj, link_a, hash_a, 16);
	struct chaintab b = CHAINTAB_INIT(struct obj, link_b, hash_b, 4);
	CHECK(find(&a, 1, 1) == NULL && !chaintab_remove(&a, &v[0])); /* empty */
	for (int i = 0; i < N; i++) {
		v[i].key = i;
		chaintab_insert(&a, &v[i]);
		chaintab_insert(&b, &v[i]);
	}
	CHECK(a.len == N && b.len == N && a.cap >= 2 * N && b.cap >= 2 * N);
	int found = 0;
	for (int i = 0; i < N; i++)
		found += find(&a, hash_a(&v[i]), i) == &v[i] && find(&b, hash_b(&v[i]), i) == &v[i];
	CHECK(found == N);
	for (int i = 0; i < N; i += 2) /* every other one: ends and middles of chains */
		CHECK(chaintab_remove(&b, &v[i]));
	CHECK(!chaintab_remove(&b, &v[0]) && b.len == N / 2 && a.len == N);
	found = 0;
	for (int i = 0; i < N; i++)
		found += (find(&b, hash_b(&v[i]), i) == &v[i]) == (i % 2 == 1) &&
		         find(&a, hash_a(&v[i]), i) == &v[i];
	CHECK(found == N);
	chaintab_free(&a);
	chaintab_free(&b);
	CHECK(a.cap == 0 && a.len == 0 && chaintab_first(&a, 3) == NULL);
	chaintab_insert(&a, &v[3]); /* usable again */
	CHECK(find(&a, hash_a(&v[3]), 3) == &v[3]);
	chaintab_free(&a);
	free(v);
}

TEST_MAIN(test_insert_find_remove)
