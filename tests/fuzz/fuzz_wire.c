/**
 * @file fuzz_wire.c
 * Fuzz target for the engines' wire format (backend/remote/wire.c): an accepted
 * request or response re-encodes canonically (encode, parse, encode gives
 * the same bytes), a rejection says where and leaves nothing allocated, any
 * byte string survives the string escaping exactly, and base64 round-trips.
 */
#include "backend/remote/wire.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void check_request(const uint8_t *data, size_t size)
{
	struct wire_request r;
	if (wire_request_parse((const char *)data, size, &r) < 0) {
		if (strncmp(gg_last_error(), "wire request: ", 14))
			fuzz_fail("a request rejection without the prefix", gg_last_error(), data,
			          size);
		r.inline_limit = 0;
		if (!all_zero(&r, sizeof r))
			fuzz_fail("a rejected request left fields set", NULL, data, size);
		return;
	}
	struct buf a = BUF_INIT, b = BUF_INIT;
	if (wire_request_encode(&r, &a) < 0)
		fuzz_fail("a parsed request does not encode", gg_last_error(), data, size);
	struct wire_request r2;
	if (wire_request_parse(a.data, a.len, &r2) < 0)
		fuzz_fail("an encoded request does not parse", gg_last_error(), data, size);
	if (wire_request_encode(&r2, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
		fuzz_fail("a request's encoding is not canonical", a.data, data, size);
	if (!gg_name_eq(&r.thunk, &r2.thunk) || r.has_encoding != r2.has_encoding ||
	    r.encoding.len != r2.encoding.len || strcmp(r.storage, r2.storage))
		fuzz_fail("a request changed on the round trip", a.data, data, size);
	wire_request_free(&r);
	wire_request_free(&r2);
	buf_free(&a);
	buf_free(&b);
}

static void check_response(const uint8_t *data, size_t size)
{
	struct wire_response r;
	if (wire_response_parse((const char *)data, size, &r) < 0) {
		if (strncmp(gg_last_error(), "wire response: ", 15))
			fuzz_fail("a response rejection without the prefix", gg_last_error(), data,
			          size);
		if (!all_zero(&r, sizeof r))
			fuzz_fail("a rejected response left fields set", NULL, data, size);
		return;
	}
	if (r.status == WIRE_OK && !r.noutputs)
		fuzz_fail("a success with no outputs", NULL, data, size);
	if (r.status == WIRE_FAILED && !r.why)
		fuzz_fail("a failure without why", NULL, data, size);
	if (r.status == WIRE_INFRA && !r.infra_error)
		fuzz_fail("an infrastructure error without a message", NULL, data, size);
	for (size_t i = 0; i < r.noutputs; i++)
		if (r.outputs[i].has_inline &&
		    r.outputs[i].data.len != gg_name_size(&r.outputs[i].value))
			fuzz_fail("inline data of the wrong size", r.outputs[i].path, data, size);
	struct buf a = BUF_INIT, b = BUF_INIT;
	if (wire_response_encode(&r, &a) < 0)
		fuzz_fail("a parsed response does not encode", gg_last_error(), data, size);
	struct wire_response r2;
	if (wire_response_parse(a.data, a.len, &r2) < 0)
		fuzz_fail("an encoded response does not parse", gg_last_error(), data, size);
	if (wire_response_encode(&r2, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
		fuzz_fail("a response's encoding is not canonical", a.data, data, size);
	if (r.deadline && r.status != WIRE_INFRA)
		fuzz_fail("a deadline outside an infrastructure error", NULL, data, size);
	if (r.status != r2.status || r.noutputs != r2.noutputs || r.nmissing != r2.nmissing ||
	    r.deadline != r2.deadline || (r.stderr_tail && strcmp(r.stderr_tail, r2.stderr_tail)))
		fuzz_fail("a response changed on the round trip", a.data, data, size);
	wire_response_free(&r);
	wire_response_free(&r2);
	buf_free(&a);
	buf_free(&b);
}

/* Any bytes (without NUL) survive the escaping exactly. */
static void check_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = data[i] ? (char)data[i] : 'x';
	s[size] = 0;
	struct wire_response r = {.status = WIRE_INFRA, .infra_error = s};
	gg_name_of_buf("", 0, 'T', &r.thunk);
	struct buf a = BUF_INIT;
	if (wire_response_encode(&r, &a) < 0)
		fuzz_fail("cannot encode an infrastructure error", gg_last_error(), data, size);
	struct wire_response r2;
	if (wire_response_parse(a.data, a.len, &r2) < 0)
		fuzz_fail("an escaped string does not parse", gg_last_error(), data, size);
	if (strlen(r2.infra_error) != size || memcmp(r2.infra_error, s, size))
		fuzz_fail("a string changed through the escaping", a.data, data, size);
	wire_response_free(&r2);
	buf_free(&a);
	free(s);
}

static void check_base64(const uint8_t *data, size_t size)
{
	struct buf e = BUF_INIT, d = BUF_INIT;
	wire_base64_encode(&e, data, size);
	if (wire_base64_decode(e.data, e.len, &d) < 0 || d.len != size ||
	    (size && memcmp(d.data, data, size)))
		fuzz_fail("base64 does not round-trip", gg_last_error(), data, size);
	buf_reset(&d);
	if (wire_base64_decode((const char *)data, size, &d) == 0) {
		buf_reset(&e);
		wire_base64_encode(&e, d.data, d.len);
		if (e.len != size || (size && memcmp(e.data, data, size)))
			fuzz_fail("accepted base64 that is not canonical", e.data, data, size);
	}
	buf_free(&e);
	buf_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_response(data, size);
	check_string(data, size);
	check_base64(data, size);
	return 0;
}
