/**
 * @file worker_req.h
 * The HTTP/1.1 requests `gg worker --listen` accepts, parsed from a byte
 * buffer with explicit lengths: no socket, no allocation, no reliance on a
 * terminator. The server (backend/remote/worker_http.c) calls worker_req_parse() on
 * what it has received so far and acts on the answer; the fuzz target
 * (tests/fuzz/fuzz_worker_req.c) calls it on arbitrary bytes. The body of
 * POST /execute is a wire request (wire.h).
 *
 * Accepted: "METHOD SP TARGET SP HTTP/1.x CRLF", header fields "name: value
 * CRLF" (a token name, no space before the colon, no control bytes, no
 * folded lines), an empty line, then Content-Length bytes of body. Blank
 * lines before a request are skipped. Transfer-Encoding is refused (chunked
 * with 411, others with 501, with Content-Length as well with 400, since
 * two framings are how requests are smuggled). Bytes that cannot start an
 * HTTP request are refused as soon as they arrive, not at the line's end.
 */
#ifndef GG_WORKER_REQ_H
#define GG_WORKER_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_REQ_LINE_MAX   (8u << 10)  /* request line (414) */
#define WORKER_REQ_HEAD_MAX   (16u << 10) /* request line and header fields (431) */
#define WORKER_REQ_FIELDS_MAX 64u         /* header fields (431) */

struct worker_req_limits {
	size_t line_max;     /* bytes of the request line */
	size_t head_max;     /* bytes before the body, blank lines and CRLFs included */
	unsigned fields_max; /* header fields */
	uint64_t body_max;   /* Content-Length (413) */
};

enum worker_req_state {
	WORKER_REQ_MORE, /* not a whole head yet, nothing wrong so far */
	WORKER_REQ_HEAD, /* the head is whole, the body is not all there yet */
	WORKER_REQ_DONE, /* head and body are there: head_len + body_len bytes */
	WORKER_REQ_BAD,  /* answer `status` with `error`, then close */
};

enum worker_route {
	WORKER_ROUTE_NONE,     /* before the head is whole */
	WORKER_ROUTE_HEALTH,   /* GET /health */
	WORKER_ROUTE_EXECUTE,  /* POST /execute or POST / */
	WORKER_ROUTE_NOTFOUND, /* 404 */
	WORKER_ROUTE_METHOD,   /* 405: /execute or / with another method */
};

struct worker_req {
	enum worker_route route;
	bool keep_alive;      /* the connection may carry another request */
	bool expect_continue; /* "Expect: 100-continue" */
	bool has_length;      /* a Content-Length was given */
	uint64_t body_len;    /* Content-Length, at most limits->body_max */
	size_t head_len;      /* bytes before the body */
	const char *target;   /* within the buffer, not NUL-terminated */
	size_t target_len;
	const char *authorization; /* the Authorization value, or NULL */
	size_t authorization_len;
	unsigned heartbeat_s; /* "X-GG-Heartbeat: SECONDS" (1..3600): send "102 Processing"
	                       * this often while the request runs; 0 = not asked */
	int status;           /* WORKER_REQ_BAD: 400, 411, 413, 414, 417, 431, 501, 505 */
	const char *error;    /* WORKER_REQ_BAD: a static message */
};

/* Default limits, with body_max as given. */
struct worker_req_limits worker_req_limits_default(uint64_t body_max);

/*
 * Parses the request at the start of buf[0..len). *rq is always filled:
 * route and framing from WORKER_REQ_HEAD on (the body is then
 * buf + head_len, body_len bytes, all there only with WORKER_REQ_DONE),
 * status and error with WORKER_REQ_BAD. Bytes after the request (the next
 * pipelined one) are not looked at. head_len + body_len never overflows.
 */
enum worker_req_state worker_req_parse(const char *buf, size_t len,
                                       const struct worker_req_limits *lim, struct worker_req *rq);

#endif
