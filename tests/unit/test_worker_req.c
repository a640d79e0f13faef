/**
 * @file test_worker_req.c
 * Specification of the worker's HTTP request framing (backend/remote/worker_req):
 * routes, keep-alive, pipelining, Expect, Authorization, and the status each
 * kind of bad request is refused with, including limits at their edge and
 * garbage refused before a line ends.
 */
#include "backend/remote/worker_req.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static const struct worker_req_limits lim = {
    .line_max = 32, .head_max = 96, .fields_max = 3, .body_max = 10};

static enum worker_req_state parse(const char *s, struct worker_req *rq)
{
	/* a heap copy of exactly the bytes: an overread would be visible to ASan */
	size_t n = strlen(s);
	char *copy = malloc(n ? n : 1);
	memcpy(copy, s, n);
	enum worker_req_state st = worker_req_parse(copy, n, &lim, rq);
	/* pointers into the copy are not used after this */
	rq->target = rq->target ? s + (rq->target - copy) : NULL;
	rq->authorization = rq->authorization ? s + (rq->authorization - copy) : NULL;
	free(copy);
	return st;
}

static int status_of(const char *s)
{
	struct worker_req rq;
	return parse(s, &rq) == WORKER_REQ_BAD ? rq.status : 0;
}

static void test_routes(void)
{
	struct worker_req rq;
	CHECK(parse("GET /health HTTP/1.1\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_HEALTH && rq.keep_alive && rq.head_len == 24);
	CHECK(parse("GET /health?x HTTP/1.0\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_HEALTH && !rq.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_METHOD);
	CHECK(parse("GET /x HTTP/1.1\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_NOTFOUND);
	CHECK(parse("GET /HEALTH HTTP/1.1\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_NOTFOUND);
	CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_EXECUTE && rq.body_len == 2);
	CHECK(parse("POST /execute HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}", &rq) ==
	      WORKER_REQ_HEAD);
	CHECK(rq.route == WORKER_ROUTE_EXECUTE && rq.body_len == 5 && rq.head_len == 45);
}

static void test_headers(void)
{
	struct worker_req rq;
	CHECK(parse("GET /health HTTP/1.0\r\nConnection: x, Keep-Alive\r\n\r\n", &rq) ==
	      WORKER_REQ_DONE);
	CHECK(rq.keep_alive);
	CHECK(parse("GET /health HTTP/1.1\r\nconnection:close\r\n\r\n", &rq) == WORKER_REQ_DONE);
	CHECK(!rq.keep_alive);
	CHECK(parse("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", &rq) ==
	      WORKER_REQ_HEAD);
	CHECK(rq.expect_continue);
	CHECK(parse("GET /health HTTP/1.1\r\nAuthorization:  Bearer t  \r\n\r\n", &rq) ==
	      WORKER_REQ_DONE);
	CHECK(rq.authorization_len == 8 && !memcmp(rq.authorization, "Bearer t", 8));
	CHECK(rq.heartbeat_s == 0);
	CHECK(parse("POST / HTTP/1.1\r\nX-GG-Heartbeat: 7\r\nContent-Length: 0\r\n\r\n", &rq) ==
	      WORKER_REQ_DONE);
	CHECK(rq.heartbeat_s == 7);
	CHECK(parse("POST / HTTP/1.1\r\nx-gg-heartbeat: 3600\r\nContent-Length: 0\r\n\r\n", &rq) ==
	      WORKER_REQ_DONE);
	CHECK(rq.heartbeat_s == 3600);
}

static void test_pipelined(void)
{
	const char *two =
	    "\r\nGET /health HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
	struct worker_req rq;
	CHECK(parse(two, &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_HEALTH && rq.head_len == 26 && rq.body_len == 0);
	CHECK(parse(two + 26, &rq) == WORKER_REQ_DONE);
	CHECK(rq.route == WORKER_ROUTE_EXECUTE && rq.body_len == 1);
	CHECK(rq.head_len + rq.body_len == strlen(two + 26));
}

static void test_incomplete(void)
{
	struct worker_req rq;
	CHECK(parse("", &rq) == WORKER_REQ_MORE);
	CHECK(parse("\r\n", &rq) == WORKER_REQ_MORE);
	CHECK(parse("GE", &rq) == WORKER_REQ_MORE);
	CHECK(parse("GET /health HTTP/1.", &rq) == WORKER_REQ_MORE);
	CHECK(parse("GET /health HTTP/1.1\r", &rq) == WORKER_REQ_MORE);
	CHECK(parse("GET /health HTTP/1.1\r\nHost: x\r", &rq) == WORKER_REQ_MORE);
	CHECK(parse("GET /health HTTP/1.1\r\nHost: x\r\n\r", &rq) == WORKER_REQ_MORE);
}

static void test_refused(void)
{
	/* garbage is refused at its first byte, not at a line end that never comes */
	CHECK(status_of("\x16\x03\x01") == 400);
	CHECK(status_of("get / HTTP/1.1") == 400);
	CHECK(status_of("SSH-2.0-OpenSSH_9.6") == 400);
	CHECK(status_of("GET /\x01") == 400);
	CHECK(status_of("GET / HTTX") == 400);
	CHECK(status_of("GET / HTTP/1.1\n\n") == 400);
	CHECK(status_of("GET / HTTP/1.1 \r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/2.0\r\n\r\n") == 505);
	CHECK(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n") == 0); /* strlen stops at NUL */
	CHECK(status_of("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/1.1\r\nA: b\r\nB: c\nC: d\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\n\r\n") == 411);
	CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 411);
	CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
	CHECK(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n"
	                "\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") ==
	      400);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx") == 0);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nExpect: teapot\r\n\r\n") == 417);
	CHECK(status_of("POST / HTTP/1.1\r\nX-GG-Heartbeat: 0\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nX-GG-Heartbeat: 3601\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nX-GG-Heartbeat: 99999999999999999999\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nX-GG-Heartbeat: 5s\r\n\r\n") == 400);
	CHECK(status_of("POST / HTTP/1.1\r\nX-GG-Heartbeat:\r\n\r\n") == 400);
	CHECK(status_of("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n") == 400);
}

static void test_limits(void)
{
	/* body_max 10 */
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n") == 0);
	CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n") == 413);
	CHECK(status_of("GET /health HTTP/1.1\r\nContent-Length: 11\r\n\r\n") == 413);
	/* line_max 32: "GET /" + 18 + " HTTP/1.1" is 32 bytes */
	CHECK(status_of("GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n") == 0);
	CHECK(status_of("GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n") == 414);
	CHECK(status_of("GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r") == 0);
	CHECK(status_of("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 414);
	/* fields_max 3 */
	CHECK(status_of("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") == 0);
	CHECK(status_of("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n") == 431);
	/* head_max 96, a whole head of 96 bytes and one of 97 */
	CHECK(status_of("GET / HTTP/1.1\r\nA: 12345678901234567890123456789012345\r\n"
	                "B: 123456789012345678901234567890123\r\n\r\n") == 0);
	CHECK(status_of("GET / HTTP/1.1\r\nA: 12345678901234567890123456789012345\r\n"
	                "B: 1234567890123456789012345678901234\r\n\r\n") == 431);
	CHECK(status_of("GET / HTTP/1.1\r\nA: 1234567890123456789012345678901234567890123456789"
	                "01234567890123456789012345678901234567890") == 431);
	/* blank lines count */
	char blank[200];
	memset(blank, '\n', sizeof blank - 1);
	blank[sizeof blank - 1] = 0;
	CHECK(status_of(blank) == 431);
}

TEST_MAIN(test_routes, test_headers, test_pipelined, test_incomplete, test_refused, test_limits)
