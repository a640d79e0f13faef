/**
 * @file fuzz_json.c
 * Fuzz target for the one JSON reader and writer (core/json.c):
 *   - any bytes, written by json_add_string, read back as exactly those bytes;
 *   - a rejection says where (an offset within the input) and leaves nothing;
 *   - an accepted document written out again (strings by json_add_string)
 *     reads back as the same tree, and writing that gives the same bytes;
 *   - the limits hold: an accepted tree is within them, and a document
 *     within them is not refused because of them;
 *   - what is accepted without raw_bytes is accepted with it, as the same tree.
 */
#include "core/json.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A canonical writing of a tree: no spaces, numbers as the reader saw them. */
static void write_tree(struct buf *b, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL: buf_adds(b, "null"); break;
	case JSON_BOOL: buf_adds(b, v->u.b ? "true" : "false"); break;
	case JSON_NUM:
		if (v->u.num.whole && v->u.num.u != UINT64_MAX)
			buf_printf(b, "%s%llu", v->u.num.neg ? "-" : "",
			           (unsigned long long)v->u.num.u);
		else
			buf_printf(b, "%.17g", v->u.num.d);
		break;
	case JSON_STR: json_add_string(b, v->u.str.data, v->u.str.len); break;
	case JSON_ARR:
		buf_addc(b, '[');
		for (size_t i = 0; i < v->u.arr.n; i++) {
			if (i)
				buf_addc(b, ',');
			write_tree(b, &v->u.arr.v[i]);
		}
		buf_addc(b, ']');
		break;
	case JSON_OBJ:
		buf_addc(b, '{');
		for (size_t i = 0; i < v->u.obj.n; i++) {
			if (i)
				buf_addc(b, ',');
			json_add_cstring(b, v->u.obj.m[i].key);
			buf_addc(b, ':');
			write_tree(b, &v->u.obj.m[i].v);
		}
		buf_addc(b, '}');
		break;
	}
}

/* Same shape, strings, keys and numbers' values. */
static bool same(const struct json_value *a, const struct json_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL: return true;
	case JSON_BOOL: return a->u.b == b->u.b;
	case JSON_NUM: return a->u.num.d == b->u.num.d;
	case JSON_STR:
		return a->u.str.len == b->u.str.len &&
		       !memcmp(a->u.str.data, b->u.str.data, a->u.str.len);
	case JSON_ARR:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (size_t i = 0; i < a->u.arr.n; i++)
			if (!same(&a->u.arr.v[i], &b->u.arr.v[i]))
				return false;
		return true;
	case JSON_OBJ:
		if (a->u.obj.n != b->u.obj.n)
			return false;
		for (size_t i = 0; i < a->u.obj.n; i++)
			if (strcmp(a->u.obj.m[i].key, b->u.obj.m[i].key) ||
			    !same(&a->u.obj.m[i].v, &b->u.obj.m[i].v))
				return false;
		return true;
	}
	return false;
}

/* Deepest nesting of containers, most members of one object, values in all. */
static void measure(const struct json_value *v, int depth, int *max_depth, size_t *max_keys,
                    size_t *values)
{
	++*values;
	if (v->type != JSON_ARR && v->type != JSON_OBJ)
		return;
	if (++depth > *max_depth)
		*max_depth = depth;
	if (v->type == JSON_OBJ) {
		if (v->u.obj.n > *max_keys)
			*max_keys = v->u.obj.n;
		for (size_t i = 0; i < v->u.obj.n; i++)
			measure(&v->u.obj.m[i].v, depth, max_depth, max_keys, values);
	} else {
		for (size_t i = 0; i < v->u.arr.n; i++)
			measure(&v->u.arr.v[i], depth, max_depth, max_keys, values);
	}
}

static void check_string(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	json_add_string(&b, (const char *)data, size);
	struct json_value v;
	struct json_doc d = {.data = b.data, .len = b.len};
	const struct json_limits lim = {.max_depth = 1};
	if (json_parse(&d, &lim, &v) < 0)
		fuzz_fail("a written string is refused", gg_last_error(), data, size);
	if (v.type != JSON_STR || v.u.str.len != size || (size && memcmp(v.u.str.data, data, size)))
		fuzz_fail("a string changed through the writer and the reader", b.data, data, size);
	json_free(&v);
	buf_free(&b);
}

static int parse(const uint8_t *data, size_t size, const struct json_limits *lim,
                 struct json_value *v)
{
	struct json_doc d = {.data = (const char *)data, .len = size, .what = "fuzz"};
	if (json_parse(&d, lim, v) == 0) {
		if (d.failed)
			fuzz_fail("accepted with an error recorded", gg_last_error(), data, size);
		return 0;
	}
	if (!d.failed || d.where > size || strncmp(gg_last_error(), "fuzz: at byte ", 14))
		fuzz_fail("a rejection that does not say where", gg_last_error(), data, size);
	if (v->type != JSON_NULL)
		fuzz_fail("a rejection left a tree", gg_last_error(), data, size);
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_string(data, size);

	const struct json_limits strict = {.max_depth = 64};
	const struct json_limits raw = {.max_depth = 64, .raw_bytes = true};
	const struct json_limits small = {
	    .max_depth = 3, .max_keys = 3, .max_values = 12, .raw_bytes = true};
	struct json_value a, r, s;
	int ra = parse(data, size, &strict, &a);
	int rr = parse(data, size, &raw, &r);
	int rs = parse(data, size, &small, &s);
	if (ra == 0 && (rr < 0 || !same(&a, &r)))
		fuzz_fail("accepted strictly, but not the same with raw bytes", NULL, data, size);
	if (rr == 0) {
		int depth = 0;
		size_t keys = 0, values = 0;
		measure(&r, 0, &depth, &keys, &values);
		if (depth > raw.max_depth)
			fuzz_fail("a tree deeper than the limit", NULL, data, size);
		bool within = depth <= small.max_depth && keys <= small.max_keys &&
		              values <= small.max_values;
		if (within != (rs == 0))
			fuzz_fail(within ? "refused within the limits"
			                 : "accepted beyond the limits",
			          rs < 0 ? gg_last_error() : NULL, data, size);
		if (rs == 0 && !same(&r, &s))
			fuzz_fail("the limits changed the tree", NULL, data, size);
	} else if (rs == 0) {
		fuzz_fail("accepted within limits, refused without", NULL, data, size);
	}
	if (ra == 0) {
		struct buf e1 = BUF_INIT, e2 = BUF_INIT;
		write_tree(&e1, &a);
		struct json_value b;
		struct json_doc d = {.data = e1.data, .len = e1.len};
		if (json_parse(&d, &strict, &b) < 0)
			fuzz_fail("a written tree is refused", gg_last_error(), data, size);
		if (!same(&a, &b))
			fuzz_fail("a tree changed through the writer and the reader", e1.data, data,
			          size);
		write_tree(&e2, &b);
		if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len))
			fuzz_fail("writing is not canonical", e1.data, data, size);
		json_free(&b);
		buf_free(&e1);
		buf_free(&e2);
	}
	if (ra == 0)
		json_free(&a);
	if (rr == 0)
		json_free(&r);
	if (rs == 0)
		json_free(&s);
	return 0;
}
