/**
 * @file test_remote_cache.c
 * Specification of a shared cache entry (backend/storage/remote_cache.c): what
 * remote_cache_encode writes, remote_cache_decode reads back; an entry is
 * refused when it is another thunk's, malformed, cut short, not signed
 * while a key is configured, signed with another key, or altered after
 * signing (any byte); a reader without a key ignores a signature.
 */
#include "backend/storage/remote_cache.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static const char key[] = "team-key-0123456789abcdef";
static const char other_key[] = "another-key-0123456789abcdef";

static void names(struct gg_name *thunk, struct gg_name *other, struct memo *m)
{
	gg_name_of_buf("ggthunk\x01 a", 10, GG_THUNK, thunk);
	gg_name_of_buf("ggthunk\x01 b", 10, GG_THUNK, other);
	struct gg_name v;
	gg_name_of_buf("output bytes", 12, GG_VALUE, &v);
	memset(m, 0, sizeof *m);
	memo_add(m, "out/prog", &v, true);
}

static int decode(const struct gg_name *t, const struct buf *b, const char *k, struct memo *out)
{
	int r = remote_cache_decode(t, b->data, b->len, k, k ? strlen(k) : 0, out);
	if (r == 0)
		memo_free(out);
	return r;
}

static void test_round_trip(void)
{
	struct gg_name t, o;
	struct memo m, got;
	names(&t, &o, &m);
	struct buf plain = BUF_INIT, signed_ = BUF_INIT;
	remote_cache_encode(&t, &m, NULL, 0, &plain);
	remote_cache_encode(&t, &m, key, strlen(key), &signed_);
	CHECK(!memcmp(plain.data, "ggcache 1 T", 11));
	CHECK(strstr(signed_.data, "\nhmac ") != NULL);

	CHECK(remote_cache_decode(&t, signed_.data, signed_.len, key, strlen(key), &got) == 0);
	CHECK(got.n == 1 && !strcmp(got.v[0].path, "out/prog") && got.v[0].exec &&
	      gg_name_eq(&got.v[0].value, &m.v[0].value));
	memo_free(&got);
	CHECK(decode(&t, &plain, NULL, &got) == 0);
	CHECK(decode(&t, &signed_, NULL, &got) == 0); /* no key: not checked */

	CHECK_ERR(decode(&o, &plain, NULL, &got), "not of this thunk");
	CHECK_ERR(decode(&t, &plain, key, &got), "not signed");
	CHECK_ERR(decode(&t, &signed_, other_key, &got), "signature does not match");

	/* any byte changed after signing: refused */
	size_t bad = 0;
	for (size_t i = 0; i < signed_.len; i++) {
		struct buf c = BUF_INIT;
		buf_add(&c, signed_.data, signed_.len);
		c.data[i] ^= 0x01;
		bad += decode(&t, &c, key, &got) < 0;
		buf_free(&c);
	}
	CHECK(bad == signed_.len);
	/* cut short anywhere: refused, with or without a key */
	size_t cut = 0;
	for (size_t n = 0; n < plain.len; n++) {
		struct buf c = BUF_INIT;
		buf_add(&c, plain.data, n);
		cut += decode(&t, &c, NULL, &got) < 0;
		buf_free(&c);
	}
	CHECK(cut == plain.len);
	buf_free(&plain);
	buf_free(&signed_);
	memo_free(&m);
}

static void test_modes(void)
{
	enum remote_cache_mode m;
	CHECK(remote_cache_mode_parse("off", &m) == 0 && m == REMOTE_CACHE_OFF);
	CHECK(remote_cache_mode_parse("read", &m) == 0 && m == REMOTE_CACHE_READ);
	CHECK(remote_cache_mode_parse("readwrite", &m) == 0 && m == REMOTE_CACHE_READWRITE);
	CHECK_ERR(remote_cache_mode_parse("write", &m), "expected off, read or readwrite");
}

TEST_MAIN(test_round_trip, test_modes)
