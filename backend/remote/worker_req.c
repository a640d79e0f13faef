/**
 * @file worker_req.c
 * The worker's HTTP/1.1 request framing (see worker_req.h): a strict,
 * allocation-free parser over (pointer, length). Every index stays below
 * len, every length is checked before it is added or subtracted. It does no
 * I/O and knows nothing of threads, slots or tokens.
 */
#include "backend/remote/worker_req.h"

#include <string.h>
#include <strings.h>

struct worker_req_limits worker_req_limits_default(uint64_t body_max)
{
	return (struct worker_req_limits){
	    .line_max = WORKER_REQ_LINE_MAX,
	    .head_max = WORKER_REQ_HEAD_MAX,
	    .fields_max = WORKER_REQ_FIELDS_MAX,
	    .body_max = body_max,
	};
}

static enum worker_req_state bad(struct worker_req *rq, int status, const char *error)
{
	rq->status = status;
	rq->error = error;
	rq->keep_alive = false;
	return WORKER_REQ_BAD;
}

/* RFC 9110 5.6.2 token characters */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field-name equality, case-insensitive, by length (no terminator needed). */
static bool name_is(const unsigned char *p, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp((const char *)p, name, n);
}

/* Exact (case-sensitive) equality of p[0..n) and s. */
static bool bytes_are(const unsigned char *p, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(p, s, n);
}

/* Is the comma-separated list v[0..n) holding the token tok (case-insensitive)? */
static bool list_has(const unsigned char *v, size_t n, const char *tok)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && name_is(v + s, e - s, tok))
			return true;
	}
	return false;
}

/* Is the last coding of the list v[0..n) "chunked"? */
static bool last_is_chunked(const unsigned char *v, size_t n)
{
	size_t s = n;
	while (s > 0 && v[s - 1] != ',')
		s--;
	while (s < n && (v[s] == ' ' || v[s] == '\t'))
		s++;
	return name_is(v + s, n - s, "chunked");
}

/* Checks the partial request line p[from..len) so far: WORKER_REQ_MORE or BAD. */
static enum worker_req_state line_so_far(const unsigned char *p, size_t from, size_t len,
                                         const struct worker_req_limits *lim, struct worker_req *rq)
{
	/* method: capital letters; target: visible ASCII; version: HTTP/d.d */
	static const char version[] = "HTTP/";
	size_t i = from, m = 0;
	while (i < len && p[i] >= 'A' && p[i] <= 'Z' && m < 16)
		i++, m++;
	if (i == len)
		return WORKER_REQ_MORE;
	if (m == 0 || m == 16 || p[i] != ' ')
		return bad(rq, 400, "not an HTTP request (expected METHOD /PATH HTTP/1.1)");
	size_t t0 = ++i;
	while (i < len && p[i] > 0x20 && p[i] < 0x7f && i - from <= lim->line_max)
		i++;
	if (i - from > lim->line_max)
		return bad(rq, 414, "request line too long");
	if (i == len)
		return WORKER_REQ_MORE;
	if (i == t0 || p[i] != ' ')
		return bad(rq, 400, "malformed request line (expected METHOD /PATH HTTP/1.1)");
	i++;
	for (size_t k = 0; k < 5; k++, i++) {
		if (i == len)
			return WORKER_REQ_MORE;
		if (p[i] != (unsigned char)version[k])
			return bad(rq, 400, "malformed request line: no HTTP version");
	}
	/* digit '.' digit CR LF */
	static const char shape[] = "9.9\r\n";
	for (size_t k = 0; k < 5 && i < len; k++, i++) {
		bool okc = shape[k] == '9' ? p[i] >= '0' && p[i] <= '9' : p[i] == shape[k];
		if (!okc)
			return bad(rq, 400, "malformed request line: bad HTTP version");
	}
	return WORKER_REQ_MORE;
}

enum worker_req_state worker_req_parse(const char *buf, size_t len,
                                       const struct worker_req_limits *lim, struct worker_req *rq)
{
	*rq = (struct worker_req){.route = WORKER_ROUTE_NONE};
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;
	/* blank lines before a request are skipped (RFC 9112 2.2), within the head limit */
	while (i < len && (p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i > lim->head_max)
		return bad(rq, 431, "request header too large");

	/* the request line: whole, or checked as far as it goes */
	size_t from = i;
	const unsigned char *nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
	if (!nl) {
		if (line_so_far(p, from, len, lim, rq) == WORKER_REQ_BAD)
			return WORKER_REQ_BAD;
		size_t seen = len - from;
		if (seen && p[len - 1] == '\r')
			seen--; /* it may be the CR of the CRLF */
		if (seen > lim->line_max)
			return bad(rq, 414, "request line too long");
		if (len > lim->head_max)
			return bad(rq, 431, "request header too large");
		return WORKER_REQ_MORE;
	}
	size_t eol = (size_t)(nl - p); /* the line is p[from..eol), then \n */
	if (line_so_far(p, from, eol + 1, lim, rq) == WORKER_REQ_BAD)
		return WORKER_REQ_BAD;
	if (eol - from > lim->line_max + 1)
		return bad(rq, 414, "request line too long");
	/* line_so_far accepted a prefix of the shape; the whole line must be it exactly */
	size_t m = 0;
	while (p[from + m] != ' ')
		m++;
	size_t t0 = from + m + 1, t1 = t0;
	while (p[t1] != ' ')
		t1++;
	if (eol - t1 != 10) /* " HTTP/d.d\r" */
		return bad(rq, 400, "malformed request line (expected METHOD /PATH HTTP/1.1)");
	unsigned char major = p[t1 + 6], minor = p[t1 + 8];
	if (major != '1')
		return bad(rq, 505, "HTTP version not supported (use HTTP/1.1)");
	bool http10 = minor == '0';
	rq->target = buf + t0;
	rq->target_len = t1 - t0;
	i = eol + 1;

	/* header fields, up to the empty line */
	bool conn_close = false, conn_keep = false, te = false, chunked = false;
	unsigned fields = 0;
	for (;;) {
		size_t ls = i;
		nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
		size_t end = nl ? (size_t)(nl - p) : len;
		for (size_t j = ls; j < end; j++) {
			unsigned char c = p[j];
			if (c == '\r' && (j + 1 == end))
				continue; /* the CR of CRLF, or of one not complete yet */
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return bad(rq, 400, "control character in a request header");
		}
		if (!nl) {
			if (len > lim->head_max)
				return bad(rq, 431, "request header too large");
			return WORKER_REQ_MORE;
		}
		if (end + 1 > lim->head_max)
			return bad(rq, 431, "request header too large");
		if (end == ls || p[end - 1] != '\r')
			return bad(rq, 400, "a request header line does not end in CRLF");
		size_t le = end - 1;
		i = end + 1;
		if (le == ls)
			break; /* the empty line */
		if (++fields > lim->fields_max)
			return bad(rq, 431, "too many request header fields");
		if (p[ls] == ' ' || p[ls] == '\t')
			return bad(rq, 400, "folded request header lines are not accepted");
		size_t ne = ls;
		while (ne < le && is_tchar(p[ne]))
			ne++;
		if (ne == ls || ne == le || p[ne] != ':')
			return bad(rq, 400,
			           "malformed request header field (expected Name: value)");
		size_t vs = ne + 1, ve = le;
		while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		const unsigned char *name = p + ls, *v = p + vs;
		size_t nlen = ne - ls, vlen = ve - vs;
		if (name_is(name, nlen, "Content-Length")) {
			uint64_t n = 0;
			if (vlen == 0 || vlen > 19)
				return bad(rq, 400, "bad Content-Length");
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9')
					return bad(rq, 400, "bad Content-Length");
				n = n * 10 + (uint64_t)(v[k] - '0'); /* 19 digits fit */
			}
			if (rq->has_length && n != rq->body_len)
				return bad(rq, 400, "conflicting Content-Length fields");
			rq->has_length = true;
			rq->body_len = n;
		} else if (name_is(name, nlen, "Transfer-Encoding")) {
			te = true;
			chunked = last_is_chunked(v, vlen);
		} else if (name_is(name, nlen, "Connection")) {
			conn_close |= list_has(v, vlen, "close");
			conn_keep |= list_has(v, vlen, "keep-alive");
		} else if (name_is(name, nlen, "Expect")) {
			if (!name_is(v, vlen, "100-continue"))
				return bad(rq, 417, "only \"Expect: 100-continue\" is understood");
			rq->expect_continue = true;
		} else if (name_is(name, nlen, "X-GG-Heartbeat")) {
			unsigned n = 0;
			for (size_t k = 0; k < vlen && n <= 3600; k++)
				n = v[k] >= '0' && v[k] <= '9' ? n * 10 + (unsigned)(v[k] - '0')
				                               : 3601;
			if (n == 0 || n > 3600)
				return bad(rq, 400,
				           "bad X-GG-Heartbeat (expected seconds, 1 to 3600)");
			rq->heartbeat_s = n;
		} else if (name_is(name, nlen, "Authorization")) {
			if (rq->authorization)
				return bad(rq, 400, "more than one Authorization field");
			rq->authorization = (const char *)v;
			rq->authorization_len = vlen;
		}
	}
	rq->head_len = i;
	rq->keep_alive = http10 ? conn_keep && !conn_close : !conn_close;

	if (te && rq->has_length)
		return bad(rq, 400, "both Transfer-Encoding and Content-Length");
	if (te && chunked)
		return bad(rq, 411,
		           "chunked request bodies are not accepted: send a Content-Length");
	if (te)
		return bad(rq, 501, "this Transfer-Encoding is not supported");
	if (rq->body_len > lim->body_max)
		return bad(rq, 413, "request body too large");

	size_t plen = 0;
	while (plen < rq->target_len && rq->target[plen] != '?')
		plen++;
	const unsigned char *path = (const unsigned char *)rq->target;
	const unsigned char *method = p + from;
	if (bytes_are(path, plen, "/health") && bytes_are(method, m, "GET")) {
		rq->route = WORKER_ROUTE_HEALTH;
	} else if (bytes_are(path, plen, "/execute") || bytes_are(path, plen, "/")) {
		rq->route =
		    bytes_are(method, m, "POST") ? WORKER_ROUTE_EXECUTE : WORKER_ROUTE_METHOD;
	} else {
		rq->route = WORKER_ROUTE_NOTFOUND;
	}
	if (rq->route == WORKER_ROUTE_EXECUTE && !rq->has_length)
		return bad(rq, 411, "a request body needs a Content-Length");
	/* body_len <= body_max: fits in size_t when body_max does */
	if (rq->body_len > (uint64_t)(SIZE_MAX - rq->head_len))
		return bad(rq, 413, "request body too large");
	return len - rq->head_len >= rq->body_len ? WORKER_REQ_DONE : WORKER_REQ_HEAD;
}
