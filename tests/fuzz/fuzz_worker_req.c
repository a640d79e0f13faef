/**
 * @file fuzz_worker_req.c
 * Fuzz target for the worker's HTTP request framing (backend/remote/worker_req.c)
 * and the request JSON it carries (backend/remote/wire.c): the input is a stream of
 * pipelined requests, parsed one after the other as the server does, with
 * tight limits and with the server's. What is checked: every answer stays
 * within the bytes given; a refusal has an HTTP status and a message; an
 * incomplete head never exceeds the head limit; a whole request parses the
 * same from exactly its own bytes (no look-ahead) and every shorter prefix
 * of it is "incomplete", never an error or another request; a body never
 * exceeds the body limit; an /execute body is accepted or refused by the
 * wire parser with its message; an Authorization value is accepted exactly
 * when it is "Bearer", spaces and one of the tokens.
 */
#include "backend/remote/wire.h"
#include "backend/remote/worker_auth.h"
#include "backend/remote/worker_req.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool status_known(int s)
{
	static const int known[] = {400, 411, 413, 414, 417, 431, 501, 505};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (s == known[i])
			return true;
	return false;
}

/* The same request, parsed from fewer bytes. */
static void check_prefixes(const char *p, size_t total, const struct worker_req *rq,
                           const struct worker_req_limits *lim, const uint8_t *data, size_t size)
{
	struct worker_req again;
	if (worker_req_parse(p, total, lim, &again) != WORKER_REQ_DONE ||
	    again.head_len != rq->head_len || again.body_len != rq->body_len ||
	    again.route != rq->route || again.keep_alive != rq->keep_alive)
		fuzz_fail("a request parses differently from exactly its own bytes", NULL, data,
		          size);
	/* a few prefixes: every length up to 64, then spread out */
	for (size_t k = 0; k < total; k = k < 64 ? k + 1 : k + 1 + k / 8) {
		enum worker_req_state st = worker_req_parse(p, k, lim, &again);
		if (st == WORKER_REQ_BAD || st == WORKER_REQ_DONE)
			fuzz_fail("a prefix of a whole request is not 'incomplete'", NULL, data,
			          size);
		if (st == WORKER_REQ_HEAD && (again.head_len != rq->head_len || k < rq->head_len))
			fuzz_fail("a prefix has another head", NULL, data, size);
	}
}

static void check_body(const char *body, size_t len, const uint8_t *data, size_t size)
{
	struct wire_request wr;
	if (wire_request_parse(body, len, &wr) < 0) {
		if (strncmp(gg_last_error(), "wire request: ", 14))
			fuzz_fail("a wire rejection without the prefix", NULL, data, size);
		return;
	}
	if (!wr.storage || wr.thunk.s[0] != 'T')
		fuzz_fail("an accepted wire request without storage or thunk", NULL, data, size);
	wire_request_free(&wr);
}

#define TOKEN "fuzz-token-0123456789"

static void check_authorization(const char *v, size_t n, const uint8_t *data, size_t size)
{
	struct strvec tokens = {0};
	strvec_push(&tokens, "another-token-0123456789");
	strvec_push(&tokens, TOKEN);
	bool ok = worker_token_ok(&tokens, v, n);
	size_t i = 7, t = sizeof TOKEN - 1;
	while (n >= 7 && i < n && v[i] == ' ')
		i++;
	bool want =
	    n >= 7 && !strncasecmp(v, "Bearer ", 7) && n - i == t && !memcmp(v + i, TOKEN, t);
	if (ok != want)
		fuzz_fail(ok ? "a wrong Authorization was accepted" : "the right token was refused",
		          NULL, data, size);
	strvec_free(&tokens);
}

static void check_stream(const uint8_t *data, size_t size, const struct worker_req_limits *lim)
{
	const char *p = (const char *)data;
	size_t off = 0;
	for (int n = 0; n < 256 && off <= size; n++) {
		size_t left = size - off;
		struct worker_req rq;
		enum worker_req_state st = worker_req_parse(p + off, left, lim, &rq);
		switch (st) {
		case WORKER_REQ_BAD:
			if (!status_known(rq.status) || !rq.error || !*rq.error || rq.keep_alive)
				fuzz_fail("a refusal without a known status and a message", NULL,
				          data, size);
			return;
		case WORKER_REQ_MORE:
			if (left > lim->head_max || rq.route != WORKER_ROUTE_NONE)
				fuzz_fail("an incomplete head beyond the head limit", NULL, data,
				          size);
			return;
		case WORKER_REQ_HEAD:
		case WORKER_REQ_DONE:
			if (rq.route == WORKER_ROUTE_NONE || rq.head_len == 0 ||
			    rq.head_len > left || rq.head_len > lim->head_max ||
			    rq.body_len > lim->body_max)
				fuzz_fail("a head outside the bytes or the limits", NULL, data,
				          size);
			if (rq.target < p + off ||
			    rq.target + rq.target_len > p + off + rq.head_len ||
			    (rq.authorization &&
			     (rq.authorization < p + off ||
			      rq.authorization + rq.authorization_len > p + off + rq.head_len)))
				fuzz_fail("a field outside the head", NULL, data, size);
			if (st == WORKER_REQ_HEAD) {
				if (rq.body_len <= left - rq.head_len)
					fuzz_fail("'head only' with the whole body there", NULL,
					          data, size);
				return;
			}
			if (rq.body_len > left - rq.head_len)
				fuzz_fail("'done' without the whole body", NULL, data, size);
			break;
		}
		if (rq.authorization)
			check_authorization(rq.authorization, rq.authorization_len, data, size);
		size_t total = rq.head_len + (size_t)rq.body_len;
		check_prefixes(p + off, total, &rq, lim, data, size);
		if (rq.route == WORKER_ROUTE_EXECUTE)
			check_body(p + off + rq.head_len, (size_t)rq.body_len, data, size);
		off += total;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker_req_limits tight = {
	    .line_max = 40, .head_max = 160, .fields_max = 4, .body_max = 2048};
	check_stream(data, size, &tight);
	struct worker_req_limits dflt = worker_req_limits_default(WIRE_MAX_REQUEST);
	check_stream(data, size, &dflt);
	return 0;
}
