/**
 * @file test_namemap.c
 * Specification of the name → pointer hash table (core/namemap): put, get,
 * replace, delete (including from the middle of probe runs and runs that wrap
 * around the end of the table), growth, and iteration.
 */
#include "core/namemap.h"
#include "core/util.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VAL(i) ((void *)(uintptr_t)(i))

static struct gg_name name_of_int(int i, char kind)
{
	char s[32];
	int n = snprintf(s, sizeof s, "key %d", i);
	struct gg_name out;
	gg_name_of_buf(s, (size_t)n, kind, &out);
	return out;
}

/*
 * A name whose first 16 digest digits are `prefix` (so all names with the
 * same prefix collide in the table) and whose remaining digits encode i.
 */
static struct gg_name colliding(const char *prefix16, unsigned i)
{
	char s[GG_NAME_LEN + 1];
	snprintf(s, sizeof s, "V%s%048x%012x", prefix16, i, i);
	struct gg_name n;
	if (gg_name_parse(s, GG_NAME_LEN, &n) < 0)
		abort();
	return n;
}

static size_t count_used(const struct namemap *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			n++;
	return n;
}

static void test_empty(void)
{
	struct namemap m = {0};
	struct gg_name n = name_of_int(1, GG_VALUE);
	CHECK(namemap_get(&m, &n) == NULL);
	CHECK(namemap_del(&m, &n) == NULL);
	CHECK(m.len == 0);
	namemap_free(&m);
	CHECK(m.slots == NULL && m.cap == 0 && m.len == 0);
}

static void test_put_get_replace(void)
{
	struct namemap m = {0};
	struct gg_name a = name_of_int(1, GG_VALUE), b = name_of_int(2, GG_VALUE);
	int x = 0, y = 0;
	namemap_put(&m, &a, &x);
	CHECK(namemap_get(&m, &a) == &x);
	CHECK(namemap_get(&m, &b) == NULL);
	CHECK(m.len == 1);
	namemap_put(&m, &a, &y); /* replace */
	CHECK(namemap_get(&m, &a) == &y);
	CHECK(m.len == 1);
	namemap_put(&m, &b, &x);
	CHECK(m.len == 2);

	/* The kind is part of the key: V and T with the same digest differ. */
	struct gg_name t = a;
	t.s[0] = GG_THUNK;
	CHECK(namemap_get(&m, &t) == NULL);
	namemap_put(&m, &t, &x);
	CHECK(namemap_get(&m, &t) == &x && namemap_get(&m, &a) == &y);

	CHECK(namemap_del(&m, &a) == &y);
	CHECK(namemap_get(&m, &a) == NULL);
	CHECK(namemap_del(&m, &a) == NULL);
	CHECK(m.len == 2);
	CHECK(count_used(&m) == m.len);
	namemap_free(&m);
}

static void test_many_names_with_deletions(void)
{
	enum { N = 10000 };
	struct namemap m = {0};
	struct gg_name *names = xmalloc(N * sizeof *names);
	for (int i = 0; i < N; i++) {
		names[i] = name_of_int(i, i % 2 ? GG_VALUE : GG_THUNK);
		namemap_put(&m, &names[i], VAL(i + 1));
	}
	CHECK(m.len == N);
	CHECK(m.cap >= 2 * N); /* grows at 50% load */
	CHECK((m.cap & (m.cap - 1)) == 0);
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += namemap_get(&m, &names[i]) != VAL(i + 1);
	CHECK(bad == 0);

	/* Delete every third name. */
	bad = 0;
	for (int i = 0; i < N; i += 3)
		bad += namemap_del(&m, &names[i]) != VAL(i + 1);
	CHECK(bad == 0);
	CHECK(m.len == N - (N + 2) / 3);
	CHECK(count_used(&m) == m.len);
	int missing = 0, ghosts = 0;
	for (int i = 0; i < N; i++) {
		void *v = namemap_get(&m, &names[i]);
		if (i % 3 == 0)
			ghosts += v != NULL;
		else
			missing += v != VAL(i + 1);
	}
	CHECK(missing == 0);
	CHECK(ghosts == 0);

	/* Put them back with new values. */
	for (int i = 0; i < N; i += 3)
		namemap_put(&m, &names[i], VAL(N + i));
	CHECK(m.len == N);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += namemap_get(&m, &names[i]) != VAL(i % 3 ? i + 1 : N + i);
	CHECK(bad == 0);

	/* Delete everything. */
	for (int i = N - 1; i >= 0; i--)
		namemap_del(&m, &names[i]);
	CHECK(m.len == 0 && count_used(&m) == 0);
	free(names);
	namemap_free(&m);
}

static void test_deletion_inside_a_probe_run(void)
{
	/* Twelve names with the same hash: one probe run. */
	struct namemap m = {0};
	struct gg_name k[12];
	for (unsigned i = 0; i < 12; i++) {
		k[i] = colliding("0123456789abcdef", i);
		namemap_put(&m, &k[i], VAL(i + 1));
	}
	int bad = 0;
	for (unsigned i = 0; i < 12; i++)
		bad += namemap_get(&m, &k[i]) != VAL(i + 1);
	CHECK(bad == 0);

	/* Remove from the head, the middle and the tail of the run. */
	unsigned order[] = {0, 6, 11, 5, 1};
	for (size_t j = 0; j < GG_ARRAY_LEN(order); j++) {
		CHECK(namemap_del(&m, &k[order[j]]) == VAL(order[j] + 1));
		bad = 0;
		for (unsigned i = 0; i < 12; i++) {
			bool gone = false;
			for (size_t g = 0; g <= j; g++)
				gone |= order[g] == i;
			bad += namemap_get(&m, &k[i]) != (gone ? NULL : VAL(i + 1));
		}
		CHECK(bad == 0);
	}
	CHECK(m.len == 7);
	namemap_free(&m);
}

static void test_probe_run_wrapping_around_the_table(void)
{
	/*
	 * With the initial 64 slots these names all hash to slot 62 (the hash is
	 * the first 16 digest digits, xor the kind), so their run wraps to slots
	 * 0, 1, ... Whatever the hash, the assertions hold.
	 */
	struct namemap m = {0};
	struct gg_name k[14], other = colliding("fedcba9876543210", 99);
	namemap_put(&m, &other, VAL(999));
	for (unsigned i = 0; i < 14; i++) {
		k[i] = colliding("0000000000000028", i);
		namemap_put(&m, &k[i], VAL(i + 1));
	}
	CHECK(m.cap == 64);
	for (unsigned del = 0; del < 14; del += 2) {
		CHECK(namemap_del(&m, &k[del]) == VAL(del + 1));
		int bad = 0;
		for (unsigned i = 0; i < 14; i++)
			bad += namemap_get(&m, &k[i]) !=
			       ((i <= del && i % 2 == 0) ? NULL : VAL(i + 1));
		CHECK(bad == 0);
		CHECK(namemap_get(&m, &other) == VAL(999));
	}
	CHECK(m.len == 8);
	CHECK(count_used(&m) == m.len);
	namemap_free(&m);
}

/* Random operations on few hash buckets, compared with a plain array. */
static void test_random_operations_match_a_model(void)
{
	enum { KEYS = 240, OPS = 30000 };
	static const char *prefixes[] = {"0000000000000028", "0000000000000029", "000000000000002a",
	                                 "ffffffffffffffff", "8000000000000000"};
	struct gg_name *keys = xmalloc(KEYS * sizeof *keys);
	void **model = xcalloc(KEYS, sizeof *model);
	for (unsigned i = 0; i < KEYS; i++)
		keys[i] = colliding(prefixes[i % GG_ARRAY_LEN(prefixes)], i);
	struct namemap m = {0};
	uint64_t x = 88172645463325252u;
	size_t len = 0;
	int bad = 0;
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned k = (unsigned)(x % KEYS);
		switch ((x >> 32) % 3) {
		case 0:
			if (!model[k])
				len++;
			model[k] = VAL(op + 1);
			namemap_put(&m, &keys[k], model[k]);
			break;
		case 1:
			bad += namemap_del(&m, &keys[k]) != model[k];
			if (model[k])
				len--;
			model[k] = NULL;
			break;
		default: bad += namemap_get(&m, &keys[k]) != model[k];
		}
		bad += m.len != len;
	}
	CHECK(bad == 0);
	for (unsigned i = 0; i < KEYS; i++)
		bad += namemap_get(&m, &keys[i]) != model[i];
	CHECK(bad == 0);
	CHECK(count_used(&m) == m.len);
	namemap_free(&m);
	free(model);
	free(keys);
}

static void test_iteration_visits_every_entry_once(void)
{
	struct namemap m = {0};
	enum { N = 500 };
	for (int i = 0; i < N; i++) {
		struct gg_name n = name_of_int(i, GG_VALUE);
		namemap_put(&m, &n, VAL(i + 1));
	}
	char *seen = xcalloc(N, 1);
	int dup = 0, bad = 0;
	for (size_t i = 0; i < m.cap; i++) {
		if (!m.slots[i].used)
			continue;
		uintptr_t v = (uintptr_t)m.slots[i].value;
		if (v < 1 || v > N) {
			bad++;
			continue;
		}
		struct gg_name want = name_of_int((int)v - 1, GG_VALUE);
		bad += !gg_name_eq(&want, &m.slots[i].key);
		dup += seen[v - 1]++;
	}
	CHECK(bad == 0 && dup == 0);
	int unseen = 0;
	for (int i = 0; i < N; i++)
		unseen += !seen[i];
	CHECK(unseen == 0);
	free(seen);
	namemap_free(&m);
}

TEST_MAIN(test_empty, test_put_get_replace, test_many_names_with_deletions,
          test_deletion_inside_a_probe_run, test_probe_run_wrapping_around_the_table,
          test_random_operations_match_a_model, test_iteration_visits_every_entry_once)
