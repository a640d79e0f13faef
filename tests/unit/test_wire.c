/**
 * @file test_wire.c
 * Specification of backend/remote/wire (what remote engines and `gg worker` say to
 * each other): requests and responses round-trip exactly through their
 * canonical encodings, paths and stderr that are not UTF-8 included; the
 * parsers refuse what the format does not allow, saying at which byte and
 * why, and leave nothing to free.
 */
#include "backend/remote/wire.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static struct gg_name name_of(const char *text, char kind)
{
	struct gg_name n;
	gg_name_of_buf(text, strlen(text), kind, &n);
	return n;
}

static void test_request_round_trip(void)
{
	struct wire_request r = {.thunk = name_of("a thunk", 'T'),
	                         .storage = "s3://bucket/prefix?region=x",
	                         .timeout_ms = 1500,
	                         .inline_limit = 4096,
	                         .has_encoding = true,
	                         .encoding = BUF_INIT};
	buf_add(&r.encoding, "\0\1\2bytes\xff", 9);
	struct buf enc = BUF_INIT;
	CHECK(wire_request_encode(&r, &enc) == 0);
	struct wire_request back;
	CHECK(wire_request_parse(enc.data, enc.len, &back) == 0);
	CHECK(gg_name_eq(&back.thunk, &r.thunk));
	CHECK_STR(back.storage, r.storage);
	CHECK(back.timeout_ms == 1500 && back.inline_limit == 4096);
	CHECK(back.has_encoding && back.encoding.len == 9 &&
	      !memcmp(back.encoding.data, "\0\1\2bytes\xff", 9));
	/* canonical: encoding what was parsed gives the same bytes */
	struct buf again = BUF_INIT;
	CHECK(wire_request_encode(&back, &again) == 0 && again.len == enc.len &&
	      !memcmp(again.data, enc.data, enc.len));
	wire_request_free(&back);
	buf_free(&again);
	buf_free(&enc);
	buf_free(&r.encoding);
	/* defaults: no timeout, the default inline limit, no encoding */
	const char *min = "{ \"v\": 1, \"thunk\": \"%s\", \"storage\": \"file:///x\" }";
	char doc[256];
	snprintf(doc, sizeof doc, min, r.thunk.s);
	CHECK(wire_request_parse(doc, strlen(doc), &back) == 0);
	CHECK(back.timeout_ms == 0 && back.inline_limit == WIRE_INLINE_TOTAL && !back.has_encoding);
	wire_request_free(&back);
}

static void test_response_round_trip_byte_exact(void)
{
	struct wire_response r = {.thunk = name_of("t", 'T'), .status = WIRE_OK};
	/* a path that is not UTF-8, and one that is */
	struct gg_name v1 = name_of("v1", 'V'), v2 = name_of("inline\n", 'V');
	wire_response_add_output(&r, "out/\xff\xfe.o", &v1, true);
	wire_response_add_output(&r, "caf\xc3\xa9.txt", &v2, false);
	r.outputs[1].has_inline = true;
	buf_add(&r.outputs[1].data, "inline\n", 7);
	r.stderr_tail = xstrdup("warning: \x80 odd byte\n\ttab \"quoted\"");
	r.worker = xstrdup("w1");
	r.cached = true;
	r.has_times = true;
	r.fetch_ms = 1, r.run_ms = 2, r.upload_ms = 3;
	struct buf enc = BUF_INIT;
	CHECK(wire_response_encode(&r, &enc) == 0);
	CHECK(strstr(enc.data, "\\udcff\\udcfe") != NULL); /* raw bytes as surrogate escapes */
	struct wire_response back;
	CHECK(wire_response_parse(enc.data, enc.len, &back) == 0);
	CHECK(back.status == WIRE_OK && back.noutputs == 2);
	CHECK_STR(back.outputs[0].path, "out/\xff\xfe.o");
	CHECK(back.outputs[0].exec && !back.outputs[1].exec);
	CHECK_STR(back.outputs[1].path, "caf\xc3\xa9.txt");
	CHECK(back.outputs[1].has_inline && back.outputs[1].data.len == 7);
	CHECK(gg_name_eq(&back.outputs[0].value, &r.outputs[0].value));
	CHECK_STR(back.stderr_tail, r.stderr_tail);
	CHECK(back.cached && back.has_times && back.run_ms == 2);
	CHECK_STR(back.worker, "w1");
	wire_response_free(&back);
	/* inline bytes of another size than the value's name says are refused
	 * here (the engine checks their hash when it stores them) */
	buf_reset(&r.outputs[1].data);
	buf_add(&r.outputs[1].data, "inline!\n", 8);
	buf_reset(&enc);
	CHECK(wire_response_encode(&r, &enc) == 0);
	CHECK_ERR(wire_response_parse(enc.data, enc.len, &back), "is 8 bytes, its name says 7");
	wire_response_free(&r);
	buf_free(&enc);

	struct wire_response f = {.thunk = name_of("t", 'T'),
	                          .status = WIRE_FAILED,
	                          .why = xstrdup("exited with status 3"),
	                          .has_exit = true,
	                          .exit_code = 3};
	CHECK(wire_response_encode(&f, &enc) == 0);
	CHECK(wire_response_parse(enc.data, enc.len, &back) == 0);
	CHECK(back.status == WIRE_FAILED && back.has_exit && !back.exit_signalled &&
	      back.exit_code == 3);
	CHECK_STR(back.why, "exited with status 3");
	wire_response_free(&back);
	wire_response_free(&f);
	buf_free(&enc);
}

/* A document built from fmt with the thunk's name in it must be refused with why. */
static void refused(bool request, const char *fmt, const char *why)
{
	struct gg_name t = name_of("t", 'T');
	char doc[512];
	snprintf(doc, sizeof doc, fmt, t.s);
	int r;
	if (request) {
		struct wire_request q;
		r = wire_request_parse(doc, strlen(doc), &q);
	} else {
		struct wire_response p;
		r = wire_response_parse(doc, strlen(doc), &p);
	}
	CHECK(r < 0);
	if (r < 0 && !strstr(gg_last_error(), why))
		fprintf(stderr, "for %s: wanted \"%s\", got \"%s\"\n", doc, why, gg_last_error());
	CHECK(r < 0 && strstr(gg_last_error(), why));
}

static void test_parsers_refuse(void)
{
	refused(true, "{\"v\":2,\"thunk\":\"%s\",\"storage\":\"x\"}", "version 2 is not supported");
	refused(true, "{\"thunk\":\"%s\",\"storage\":\"x\"}", "missing \"v\"");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\",\"extra\":1}",
	        "unknown key \"extra\"");
	refused(true, "{\"v\":1,\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\"}",
	        "duplicate key \"v\"");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"\"}", "\"storage\" is empty");
	refused(true,
	        "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\",\"timeout_ms\":9007199254740993}",
	        "a number above 2^53");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\",\"timeout_ms\":-1}",
	        "negative numbers are not used");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\",\"timeout_ms\":1.5}",
	        "only whole numbers");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\"} trailing",
	        "unexpected 't' after the end of the JSON value");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"a\\ud800b\"}", "unpaired surrogate");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"a\\u0000b\"}", "NUL");
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\",\"encoding\":\"a===\"}",
	        "encoding");
	refused(true, "{\"v\":1,\"thunk\":\"V%s\",\"storage\":\"x\"}", "thunk");
	refused(false, "{\"v\":1,\"thunk\":\"%s\",\"ok\":true,\"outputs\":[]}", "outputs");
	refused(false, "{\"v\":1,\"thunk\":\"%s\",\"ok\":true}", "outputs");
	/* where: the byte offset */
	refused(true, "{\"v\":1,\"thunk\":\"%s\",\"storage\":\"x\"", "at byte");
}

static void test_base64(void)
{
	struct buf e = BUF_INIT, d = BUF_INIT;
	wire_base64_encode(&e, "any carnal pleas", 16);
	CHECK_STR(e.data, "YW55IGNhcm5hbCBwbGVhcw==");
	CHECK(wire_base64_decode(e.data, e.len, &d) == 0 && d.len == 16 &&
	      !memcmp(d.data, "any carnal pleas", 16));
	buf_reset(&d);
	CHECK(wire_base64_decode("YW55\n", 5, &d) < 0); /* no whitespace */
	buf_reset(&d);
	CHECK(wire_base64_decode("YR==", 4, &d) < 0); /* non-zero padding bits */
	buf_free(&e);
	buf_free(&d);
}

/* A symbolic link output keeps its kind ("link": true); a link that is
 * executable or names a thunk is refused. */
static void test_link_outputs(void)
{
	struct wire_response r = {.thunk = name_of("t", 'T'), .status = WIRE_OK};
	struct gg_name v = name_of("libfoo.so.1", 'V');
	wire_response_add_output(&r, "libfoo.so", &v, false);
	r.outputs[0].link = true;
	wire_response_add_output(&r, "libfoo.so.1", &v, false);
	struct buf enc = BUF_INIT;
	CHECK(wire_response_encode(&r, &enc) == 0);
	CHECK(strstr(enc.data, "\"exec\":false,\"link\":true}") != NULL);
	struct wire_response back;
	CHECK(wire_response_parse(enc.data, enc.len, &back) == 0);
	CHECK(back.noutputs == 2 && back.outputs[0].link && !back.outputs[1].link);
	wire_response_free(&back);
	r.outputs[0].exec = true;
	buf_reset(&enc);
	CHECK(wire_response_encode(&r, &enc) == 0);
	CHECK_ERR(wire_response_parse(enc.data, enc.len, &back),
	          "symbolic link output \"libfoo.so\" is executable or a thunk");
	wire_response_free(&r);
	buf_free(&enc);
}

TEST_MAIN(test_request_round_trip, test_response_round_trip_byte_exact, test_parsers_refuse,
          test_link_outputs, test_base64)
