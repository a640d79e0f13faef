/**
 * @file test_json.c
 * Specification of core/json (the one JSON reader and writer): the writer's
 * escapes; any bytes round-trip through writer and reader; the reader's
 * grammar, its refusals with the byte where and why, and its limits; the
 * tree's accessors.
 */
#include "core/json.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static const struct json_limits plain = {.max_depth = 16};

static void test_writer_escapes(void)
{
	struct buf b = BUF_INIT;
	json_add_cstring(&b, "plain");
	CHECK_STR(b.data, "\"plain\"");
	buf_reset(&b);
	json_add_cstring(&b, "q\"b\\s\nn\tt\x01\x1f\r/\x7f\xc3\xa9\b\f");
	CHECK_STR(b.data, "\"q\\\"b\\\\s\\nn\\tt\\u0001\\u001f\\r/\x7f\xc3\xa9\\b\\f\"");
	buf_reset(&b);
	json_add_cstring(&b, "");
	CHECK_STR(b.data, "\"\"");
	buf_reset(&b);
	/* bytes that are not UTF-8 (a lone byte, an overlong form, a surrogate
	 * encoded, a truncated sequence) as \udcXX; valid UTF-8 as is */
	json_add_cstring(&b, "\xff-\xc0\xaf-\xed\xa0\x80-\xf0\x9f\x98\x80-\xe2\x82");
	CHECK_STR(b.data, "\"\\udcff-\\udcc0\\udcaf-\\udced\\udca0\\udc80-\xf0\x9f\x98\x80-"
	                  "\\udce2\\udc82\"");
	buf_reset(&b);
	json_add_string(&b, "a\0b", 3);
	CHECK_STR(b.data, "\"a\\u0000b\"");
	buf_free(&b);
}

static void test_any_bytes_round_trip(void)
{
	char all[256 * 2];
	for (int i = 0; i < 256; i++) {
		all[i] = (char)i;
		all[511 - i] = (char)i;
	}
	struct buf b = BUF_INIT;
	json_add_string(&b, all, sizeof all);
	struct json_value v;
	struct json_doc d = {.data = b.data, .len = b.len};
	CHECK(json_parse(&d, &plain, &v) == 0);
	CHECK(v.type == JSON_STR && v.u.str.len == sizeof all &&
	      !memcmp(v.u.str.data, all, sizeof all));
	json_free(&v);
	buf_free(&b);
}

/* data must be refused with why at byte where. */
static void refused(const char *data, const struct json_limits *lim, const char *why, size_t where)
{
	struct json_value v;
	struct json_doc d = {.data = data, .len = strlen(data), .what = "doc"};
	int r = json_parse(&d, lim, &v);
	size_t w = d.where;
	CHECK(r < 0 && d.failed);
	if (r == 0) {
		json_free(&v);
		return;
	}
	if (!strstr(gg_last_error(), why) || w != where)
		fprintf(stderr, "for %s: wanted \"%s\" at %zu, got \"%s\" at %zu\n", data, why,
		        where, gg_last_error(), w);
	CHECK(strstr(gg_last_error(), why) && w == where);
	CHECK(v.type == JSON_NULL);
}

static void test_refusals(void)
{
	refused("", &plain, "expected a value, found the end", 0);
	refused("[1,2", &plain, "expected ',' or ']' in an array, found the end", 4);
	refused("{\"a\":1,\n \"a\":2}", &plain, "duplicate key \"a\"", 9);
	refused("{\"a\" 1}", &plain, "expected ':' after a member name, found '1'", 5);
	refused("{1:2}", &plain, "expected a member name (a string), found '1'", 1);
	refused("[01]", &plain, "a number with a leading zero", 1);
	refused("[1.]", &plain, "a number needs digits after '.'", 3);
	refused("[1e]", &plain, "a number needs digits in its exponent", 3);
	refused("[-]", &plain, "invalid number", 1);
	refused("1e999", &plain, "a number out of range", 0);
	refused("\"a\\x\"", &plain, "invalid escape in a string", 2);
	refused("\"a\\u12\"", &plain, "\\u needs four hex digits", 2);
	refused("\"a\\ud800b\"", &plain, "unpaired surrogate \\ud800", 2);
	/* \udc00 .. \udc7f would be ASCII bytes: the writer never writes them */
	refused("\"\\udc41\"", &plain, "unpaired surrogate \\udc41", 1);
	refused("\"a\tb\"", &plain, "control character 0x09", 2);
	refused("\"unterminated", &plain, "unterminated string", 13);
	refused("\"\xff\"", &plain, "invalid UTF-8 in a string", 1);
	refused("{\"a\\u0000\":1}", &plain, "NUL (\\u0000) in a member name", 1);
	refused("{} {}", &plain, "unexpected '{' after the end of the JSON value", 3);
	refused("nul", &plain, "expected a value, found 'n'", 0);
	/* the limits */
	refused("[[[]]]", &(struct json_limits){.max_depth = 2}, "nested deeper than 2 levels", 2);
	refused("{\"a\":1,\"b\":2,\"c\":3}", &(struct json_limits){.max_depth = 2, .max_keys = 2},
	        "more than 2 members in an object", 13);
	refused("[1,2,3]", &(struct json_limits){.max_depth = 2, .max_values = 3},
	        "too many values", 5);
}

static void test_values(void)
{
	const char *doc = " {\"s\":\"\\u00e9\\ud83d\\ude00\\udcff\\/\",\"n\":[0,-3,12.5,1e2,"
	                  "18446744073709551616],\"t\":true,\"f\":false,\"z\":null,\"e\":\"\"} ";
	struct json_value v;
	struct json_doc d = {.data = doc, .len = strlen(doc)};
	CHECK(json_parse(&d, &plain, &v) == 0 && !d.failed);
	CHECK(v.type == JSON_OBJ && v.off == 1 && v.u.obj.n == 6);
	struct json_value *s = json_get(&v, "s");
	CHECK(s && s->type == JSON_STR && s->u.str.len == 8 &&
	      !memcmp(s->u.str.data, "\xc3\xa9\xf0\x9f\x98\x80\xff/", 8));
	struct json_value *n = json_get(&v, "n");
	CHECK(n && n->type == JSON_ARR && n->u.arr.n == 5);
	if (n && n->type == JSON_ARR && n->u.arr.n == 5) {
		const struct json_value *x = n->u.arr.v;
		CHECK(x[0].u.num.whole && !x[0].u.num.neg && x[0].u.num.u == 0);
		CHECK(x[1].u.num.whole && x[1].u.num.neg && x[1].u.num.u == 3 &&
		      x[1].u.num.d == -3);
		CHECK(!x[2].u.num.whole && x[2].u.num.d == 12.5);
		CHECK(!x[3].u.num.whole && x[3].u.num.d == 100);
		CHECK(x[4].u.num.whole && x[4].u.num.u == UINT64_MAX); /* 2^64: saturated */
	}
	struct json_value *t = json_get(&v, "t"), *f = json_get(&v, "f");
	CHECK(t && t->type == JSON_BOOL && t->u.b && f && f->type == JSON_BOOL && !f->u.b);
	/* z and e not yet asked for */
	const struct json_member *m = json_unused(&v);
	CHECK(m && !strcmp(m->key, "z") && m->v.type == JSON_NULL);
	CHECK(json_get(&v, "z") && json_get(&v, "missing") == NULL);
	struct json_value *e = json_get(&v, "e");
	CHECK(e && e->type == JSON_STR && e->u.str.data && e->u.str.len == 0);
	CHECK(json_unused(&v) == NULL);
	CHECK(json_get(s, "x") == NULL); /* not an object */
	json_free(&v);
	CHECK(v.type == JSON_NULL);
}

static void test_raw_bytes(void)
{
	/* older traces hold bytes as they are: accepted only when asked */
	const char *doc = "\"caf\xe9\"";
	struct json_value v;
	struct json_doc d = {.data = doc, .len = strlen(doc)};
	CHECK(json_parse(&d, &plain, &v) < 0 && d.where == 4);
	const struct json_limits raw = {.max_depth = 1, .raw_bytes = true};
	d.failed = false;
	CHECK(json_parse(&d, &raw, &v) == 0);
	CHECK(v.type == JSON_STR && v.u.str.len == 4 && !memcmp(v.u.str.data, "caf\xe9", 4));
	json_free(&v);
}

/* Where an error is: "WHAT: at byte N" or "line L, column C" (in bytes);
 * the first error is kept, later ones are not. */
static void test_where(void)
{
	const char *doc = "[1,\n  2,\n  \"\xc3\xa9\" x]";
	struct json_value v;
	struct json_doc d = {.data = doc, .len = strlen(doc)};
	CHECK(json_parse(&d, &plain, &v) < 0);
	CHECK_STR(gg_last_error(), "line 3, column 8: expected ',' or ']' in an array, found 'x'");
	CHECK(json_fail(&d, 0, "a later error") < 0);
	CHECK_STR(gg_last_error(), "line 3, column 8: expected ',' or ']' in an array, found 'x'");
	struct json_doc w = {.data = doc, .len = strlen(doc), .what = "thing"};
	CHECK(json_parse(&w, &plain, &v) < 0 && w.where == 16);
	CHECK_STR(gg_last_error(), "thing: at byte 16: expected ',' or ']' in an array, found 'x'");
	/* an offset past the end (a schema's "missing" at the end) */
	struct json_doc e = {.data = "ab", .len = 2};
	CHECK(json_fail(&e, 99, "past") < 0);
	CHECK_STR(gg_last_error(), "line 1, column 3: past");
}

TEST_MAIN(test_writer_escapes, test_any_bytes_round_trip, test_refusals, test_values,
          test_raw_bytes, test_where)
