/**
 * @file resp.c
 * RESP2 over a non-blocking TCP socket (see resp.h): connect with a timeout,
 * pipelined writes, bounded reply parsing. It knows Redis's wire format and
 * nothing about objects; storage_redis.c decides what to send.
 */
#include "backend/storage/resp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE   (64 * 1024)
#define MAX_LINE  4096 /* status, error and length lines */
#define MAX_ARRAY 1024

static int conn_error(struct resp_conn *c, const char *fmt, const char *detail)
{
	char msg[300];
	snprintf(msg, sizeof msg, fmt, detail ? detail : "");
	resp_close(c);
	return gg_error("%s: %s", c->where, msg);
}

/* Waits until fd is ready for `events`; -1 with an error on timeout. */
static int wait_for(struct resp_conn *c, short events, const char *doing)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	for (;;) {
		int ms = c->timeout_ms;
		bool by_deadline = false;
		if (c->until) {
			uint64_t now = now_ns();
			uint64_t left = now < c->until ? (c->until - now + 999999) / 1000000 : 0;
			if (left <= (uint64_t)ms) {
				ms = (int)left;
				by_deadline = true;
			}
		}
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0 && by_deadline)
			return conn_error(c,
			                  "timed out %s (still not done at the deadline, "
			                  "GG_STORAGE_DEADLINE)",
			                  doing);
		if (r == 0)
			return conn_error(c, "timed out %s (no answer within GG_STORAGE_TIMEOUT)",
			                  doing);
		if (errno != EINTR)
			return conn_error(c, "poll failed: %s", strerror(errno));
	}
}

int resp_connect(struct resp_conn *c, const char *host, const char *port, int timeout_ms,
                 const char *where)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->where = where;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0)
		return gg_error("%s: cannot resolve %s: %s", where, host, gai_strerror(gai));
	int saved = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			saved = errno;
			close(fd);
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int pr;
		while ((pr = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
			;
		int err = 0;
		socklen_t len = sizeof err;
		if (pr <= 0)
			err = pr == 0 ? ETIMEDOUT : errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			saved = err;
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->fd = fd;
		break;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return gg_error("%s: cannot connect: %s", where,
		                strerror(saved ? saved : ECONNREFUSED));
	c->in = xmalloc(IN_SIZE);
	return 0;
}

void resp_close(struct resp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->out);
	free(c->in);
	c->in = NULL;
	c->in_pos = c->in_len = 0;
}

void resp_queue(struct resp_conn *c, int argc, const char *const *argv, const size_t *lens)
{
	buf_printf(&c->out, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		buf_printf(&c->out, "$%zu\r\n", lens[i]);
		buf_add(&c->out, argv[i], lens[i]);
		buf_add(&c->out, "\r\n", 2);
	}
}

int resp_flush(struct resp_conn *c)
{
	if (c->fd < 0)
		return gg_error("%s: not connected", c->where);
	size_t off = 0;
	c->until = c->deadline_ms ? now_ns() + (uint64_t)c->deadline_ms * 1000000u : 0;
	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(c, POLLOUT, "sending") < 0)
				return -1;
			continue;
		}
		return conn_error(c, "cannot send: %s", strerror(errno));
	}
	buf_reset(&c->out);
	return 0;
}

/* Reads more bytes into the buffer (compacting it first). */
static int fill(struct resp_conn *c)
{
	if (c->fd < 0)
		return gg_error("%s: not connected", c->where);
	if (c->in_pos > 0) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_len == IN_SIZE)
		return conn_error(c, "protocol error: reply line too long%s", NULL);
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return conn_error(c, "the server closed the connection%s", NULL);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_for(c, POLLIN, "waiting for a reply") < 0)
				return -1;
			continue;
		}
		return conn_error(c, "cannot receive: %s", strerror(errno));
	}
}

/* Next "\r\n"-terminated line (without the terminator), at most MAX_LINE. */
static int read_line(struct resp_conn *c, const char **line, size_t *len)
{
	for (;;) {
		const char *start = c->in + c->in_pos;
		size_t avail = c->in_len - c->in_pos;
		const char *cr = avail ? memchr(start, '\r', avail) : NULL;
		if (cr && (size_t)(cr - start) + 1 < avail) {
			if (cr[1] != '\n')
				return conn_error(c, "protocol error: CR without LF in a reply%s",
				                  NULL);
			*line = start;
			*len = (size_t)(cr - start);
			c->in_pos += *len + 2;
			return 0;
		}
		if (avail > MAX_LINE)
			return conn_error(c, "protocol error: reply line longer than 4096 bytes%s",
			                  NULL);
		if (fill(c) < 0)
			return -1;
	}
}

/* Strict decimal, optional '-', no overflow. */
static int parse_ll(const char *s, size_t len, long long *out)
{
	bool neg = len > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (i == len || len - i > 18)
		return -1;
	long long v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

int resp_read(struct resp_conn *c, struct resp_reply *r)
{
	const char *line = NULL;
	size_t len = 0;
	c->until = c->deadline_ms ? now_ns() + (uint64_t)c->deadline_ms * 1000000u : 0;
	if (read_line(c, &line, &len) < 0)
		return -1;
	r->text[0] = 0;
	r->n = 0;
	if (len == 0)
		return conn_error(c, "protocol error: empty reply line%s", NULL);
	char t = line[0];
	if (t == '+' || t == '-') {
		size_t k = 0;
		for (size_t i = 1; i < len && k < sizeof r->text - 1; i++)
			r->text[k++] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
		r->text[k] = 0;
		r->type = t == '+' ? RESP_STATUS : RESP_ERROR;
		return 0;
	}
	if (t != ':' && t != '$' && t != '*') {
		char shown[8];
		snprintf(shown, sizeof shown, "0x%02x", (unsigned char)t);
		return conn_error(c, "protocol error: unexpected reply type %s", shown);
	}
	if (parse_ll(line + 1, len - 1, &r->n) < 0)
		return conn_error(c, "protocol error: bad number in a reply%s", NULL);
	if (t == ':') {
		r->type = RESP_INT;
	} else if (t == '$') {
		if (r->n < -1 || (r->n >= 0 && (uint64_t)r->n > RESP_MAX_BULK))
			return conn_error(c, "protocol error: impossible bulk length%s", NULL);
		r->type = r->n == -1 ? RESP_NIL : RESP_BULK;
	} else {
		if (r->n < -1 || r->n > MAX_ARRAY)
			return conn_error(c, "protocol error: impossible array length%s", NULL);
		r->type = r->n == -1 ? RESP_NIL : RESP_ARRAY;
	}
	return 0;
}

int resp_read_bulk(struct resp_conn *c, uint64_t len,
                   int (*sink)(void *arg, const void *data, size_t n), void *arg)
{
	int sink_r = 0;
	uint64_t left = len + 2; /* the payload and its CRLF */
	while (left > 0) {
		if (c->in_pos == c->in_len && fill(c) < 0)
			return -1;
		size_t avail = c->in_len - c->in_pos;
		size_t take = avail < left ? avail : (size_t)left;
		/* the payload part of what is buffered */
		uint64_t payload_left = left > 2 ? left - 2 : 0;
		size_t data = take < payload_left ? take : (size_t)payload_left;
		if (data > 0 && sink && sink_r == 0)
			sink_r = sink(arg, c->in + c->in_pos, data);
		/* the terminator bytes, if this chunk reaches them */
		for (size_t i = data; i < take; i++) {
			char want = left - i == 2 ? '\r' : '\n';
			if (c->in[c->in_pos + i] != want)
				return conn_error(
				    c, "protocol error: bulk reply not followed by CRLF%s", NULL);
		}
		c->in_pos += take;
		left -= take;
	}
	return sink_r;
}

int resp_expect_ok(struct resp_conn *c, const char *what)
{
	struct resp_reply r;
	if (resp_read(c, &r) < 0)
		return -1;
	if (r.type == RESP_STATUS)
		return 0;
	if (r.type == RESP_ERROR)
		return gg_error("%s: %s: %s", c->where, what, r.text);
	if (r.type == RESP_BULK)
		resp_read_bulk(c, (uint64_t)r.n, NULL, NULL);
	return conn_error(c, "protocol error: unexpected reply to %s", what);
}

int resp_expect_int(struct resp_conn *c, const char *what, long long *out)
{
	struct resp_reply r;
	if (resp_read(c, &r) < 0)
		return -1;
	if (r.type == RESP_INT) {
		*out = r.n;
		return 0;
	}
	if (r.type == RESP_ERROR)
		return gg_error("%s: %s: %s", c->where, what, r.text);
	return conn_error(c, "protocol error: unexpected reply to %s", what);
}
