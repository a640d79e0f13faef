/**
 * @file worker_http.c
 * `gg worker --listen`: a small HTTP/1.1 server, one thread per connection,
 * keep-alive and pipelining. The bytes of a request are parsed by
 * backend/remote/worker_req.c (no I/O there, fuzzed); this file does the sockets,
 * the limits and the answers:
 *
 *     POST /execute (or POST /)   a wire request -> a wire response
 *     GET /health                 200 "ok"
 *
 * A client that sends "X-GG-Heartbeat: SECONDS" gets an interim
 * "102 Processing" that often while its request runs, so that it can tell
 * a long thunk from a hung worker.
 *
 * Everything a client can make it hold is bounded: connections
 * (--max-connections, then 503), requests admitted to run or wait for a
 * slot (--max-inflight, then 503 with Retry-After), body bytes held at once
 * (--max-memory, 503), one body (--max-body, 413), the head (431/414), and
 * time: a request must arrive whole within --read-timeout of its first byte
 * (408), an idle connection is closed after --idle-timeout, a client that
 * does not read its answer is dropped after --read-timeout. SIGINT/SIGTERM
 * stop accepting, end idle connections and let running requests answer.
 * With --tls-cert and --tls-key connections are TLS (worker_tls.c), with
 * client certificates required by --tls-client-ca; the limits are the same
 * (a handshake must finish within --read-timeout). It does not do HTTP/2.
 */
#include "backend/remote/worker.h"

#include "backend/remote/wire.h"
#include "backend/remote/worker_auth.h"
#include "backend/remote/worker_req.h"
#include "backend/remote/worker_tls.h"
#include "core/json.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* What a connection may read ahead of the request it is on. */
#define READ_CHUNK (64u << 10)
/* A buffer larger than this is given back after its request. */
#define KEEP_CAP (256u << 10)
/* After an error answer, unread request bytes are drained this long, so that
 * closing does not reset the connection before the client reads the answer. */
#define LINGER_NS    (2000000000ull)
#define LINGER_BYTES (1u << 20)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct server {
	struct worker *w;
	const struct worker_http_opts *o;
	struct worker_req_limits lim;
	atomic_bool stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* protected by mu */
	int *fds; /* open connections, for shutdown */
	size_t nfds, cap;
	int active;
	int inflight;        /* /execute requests admitted */
	uint64_t body_bytes; /* their bodies' sizes, in all */
};

struct conn {
	struct server *srv;
	int fd;
};

/* The write side of a connection, for every answer. */
static int send_all(struct conn_io *c, const char *p, size_t n)
{
	return conn_send_all(c, p, n, false);
}

static void track(struct server *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	ALLOC_GROW(s->fds, s->nfds + 1, s->cap);
	s->fds[s->nfds++] = fd;
	s->active++;
	pthread_mutex_unlock(&s->mu);
}

static void untrack(struct server *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i] == fd) {
			s->fds[i] = s->fds[--s->nfds];
			break;
		}
	/* close under the lock: shutdown() in stop() never hits a reused fd */
	close(fd);
	if (--s->active == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Admits an /execute request with a body of `bytes`: false when the worker is full. */
static bool admit(struct server *s, uint64_t bytes)
{
	pthread_mutex_lock(&s->mu);
	bool ok = s->inflight < s->o->max_inflight && bytes <= s->o->max_memory - s->body_bytes;
	if (ok) {
		s->inflight++;
		s->body_bytes += bytes;
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static void release(struct server *s, uint64_t bytes)
{
	pthread_mutex_lock(&s->mu);
	s->inflight--;
	s->body_bytes -= bytes;
	pthread_mutex_unlock(&s->mu);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* extra: more header lines, each ending in CRLF, or NULL. dontwait: never block. */
static int reply(struct conn_io *c, int status, const char *type, const char *body, size_t len,
                 bool close_after, const char *extra, bool dontwait)
{
	char head[512];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
	                 status, reason(status), type, len, extra ? extra : "",
	                 close_after ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	if (conn_send_all(c, head, (size_t)n, dontwait) < 0)
		return -1;
	return len ? conn_send_all(c, body, len, dontwait) : 0;
}

static int reply_error(struct conn_io *c, int status, const char *msg, bool close_after,
                       const char *extra)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "{\"v\":%d,\"error\":", WIRE_VERSION);
	json_add_string(&b, msg, strlen(msg));
	buf_addc(&b, '}');
	int r = reply(c, status, "application/json", b.data, b.len, close_after, extra, false);
	buf_free(&b);
	return r;
}

/* 1 when c is readable (or at EOF), 0 on an error, -1 at the deadline (now_ns() clock). */
static int wait_readable(struct conn_io *c, uint64_t deadline)
{
	if (conn_buffered(c))
		return 1;
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return -1;
		uint64_t ms = (deadline - now + 999999) / 1000000;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (r < 0 && errno != EINTR)
			return 0;
		if (r > 0)
			return 1;
	}
}

/* Receives at most `want` more bytes into b: 1 got some, 0 EOF or error, -1 deadline. */
static int recv_some(struct conn_io *c, struct buf *b, size_t want, uint64_t deadline)
{
	for (;;) {
		int r = wait_readable(c, deadline);
		if (r <= 0)
			return r;
		buf_grow(b, want);
		ssize_t k = conn_recv(c, b->data + b->len, want);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return 0;
		b->len += (size_t)k;
		b->data[b->len] = 0;
		return 1;
	}
}

/* Reads and drops n bytes: 0, or -1 at EOF, an error or the deadline. */
static int discard(struct conn_io *c, uint64_t n, uint64_t deadline)
{
	char tmp[16384];
	while (n) {
		if (wait_readable(c, deadline) <= 0)
			return -1;
		ssize_t k = conn_recv(c, tmp, n < sizeof tmp ? (size_t)n : sizeof tmp);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		n -= (uint64_t)k;
	}
	return 0;
}

/* After an error answer: no more writing; read what the client still sends for a while. */
static void linger(struct conn_io *c)
{
	conn_shutdown_write(c);
	struct conn_io raw = {.fd = c->fd}; /* what still comes is dropped undecrypted */
	uint64_t deadline = now_ns() + LINGER_NS;
	char tmp[4096];
	size_t got = 0;
	while (got < LINGER_BYTES && wait_readable(&raw, deadline) == 1) {
		ssize_t k = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
}

/* Drops the first n bytes of b (n <= b->len); a large buffer is given back. */
static void consume(struct buf *b, size_t n)
{
	size_t rest = b->len - n;
	if (b->cap > KEEP_CAP) {
		struct buf nb = BUF_INIT;
		buf_add(&nb, b->data + n, rest);
		buf_free(b);
		*b = nb;
		return;
	}
	if (rest)
		memmove(b->data, b->data + n, rest);
	b->len = rest;
	if (b->data)
		b->data[rest] = 0;
}

/* Drops a request from the connection: what is buffered and the body still to come. */
static int skip_request(struct conn_io *c, struct buf *in, const struct worker_req *rq,
                        uint64_t deadline)
{
	uint64_t total = rq->head_len + rq->body_len;
	if (in->len >= total) {
		consume(in, (size_t)total);
		return 0;
	}
	uint64_t rest = total - in->len;
	consume(in, in->len);
	return discard(c, rest, deadline);
}

/* Test-only faults that act at the HTTP level. 0 = none, else what to do. */
static int http_fault(struct worker *w)
{
	if (worker_take_fault(w, &w->faults.status_429))
		return 429;
	if (worker_take_fault(w, &w->faults.status_500))
		return 500;
	if (worker_take_fault(w, &w->faults.status_503))
		return 503;
	if (worker_take_fault(w, &w->faults.hang))
		return -1;
	if (worker_take_fault(w, &w->faults.drop))
		return -2;
	return 0;
}

/* Watches a connection while its request runs: when the client goes away
 * (its end closed or reset), fires the request's cancel token, which kills
 * the thunk's program. A client that only shuts down its sending side
 * after a request counts as gone too, as for most HTTP servers. */
struct hangup_watch {
	struct conn_io *c;
	struct gg_cancel cancel; /* the request's */
	struct gg_cancel done;   /* fired when the request is answered */
	bool verbose;
	unsigned heartbeat_s; /* the client asked for "102 Processing" this often; 0 = not */
};

/* An interim answer: the client learns the worker is alive while a long
 * thunk runs (it gives up on a worker that stays silent, e.g. a stopped
 * process, long before the thunk's timeout). */
static bool heartbeat(struct hangup_watch *hw)
{
	static const char line[] = "HTTP/1.1 102 Processing\r\n\r\n";
	/* whole or not at all: a part would garble the answer that follows */
	if (send_all(hw->c, line, sizeof line - 1) == 0)
		return true;
	if (hw->verbose)
		fprintf(stderr, "gg worker: cannot send a heartbeat: %s\n", strerror(errno));
	return false;
}

static void *hangup_main(void *p)
{
	struct hangup_watch *hw = p;
	struct pollfd pfd[2] = {{.fd = hw->c->fd, .events = POLLRDHUP},
	                        {.fd = gg_cancel_fd(&hw->done), .events = POLLIN}};
	/* the first was sent before the request began (execute) */
	uint64_t every = (uint64_t)hw->heartbeat_s * 1000000000u, next = now_ns() + every;
	for (;;) {
		int ms = -1;
		if (every) {
			uint64_t now = now_ns();
			if (now >= next) {
				next = now + every;
				if (!heartbeat(hw))
					every = 0;
			}
			if (every)
				ms = (int)((next - now + 999999) / 1000000);
		}
		int n = poll(pfd, 2, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue;
		if (n < 0 || pfd[1].revents)
			break;
		if (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			if (hw->verbose)
				fprintf(stderr,
				        "gg worker: the client went away: stopping its thunk\n");
			gg_cancel_fire(&hw->cancel);
			break;
		}
	}
	return NULL;
}

/* Runs a whole /execute request and answers; false when the connection should end. */
static bool execute(struct server *s, struct conn_io *c, const char *body,
                    const struct worker_req *rq)
{
	bool keep = rq->keep_alive;
	int fault = http_fault(s->w);
	if (fault > 0) {
		char after[48];
		snprintf(after, sizeof after, "Retry-After: %u\r\n",
		         s->w->faults.retry_after ? s->w->faults.retry_after : 2);
		fprintf(stderr, "gg worker: --fault-inject: answering %d\n", fault);
		return reply_error(c, fault,
		                   fault == 429   ? "fault injected: too many requests"
		                   : fault == 503 ? "fault injected: full"
		                                  : "fault injected: internal error",
		                   !keep, fault == 503 ? after : NULL) == 0 &&
		       keep;
	}
	if (fault == -1) {
		fprintf(stderr, "gg worker: --fault-inject hang: not answering\n");
		while (!stop_requested)
			sleep(1);
		return false;
	}
	if (fault == -2) {
		fprintf(stderr, "gg worker: --fault-inject drop: closing without an answer\n");
		return false;
	}
	struct buf out = BUF_INIT;
	int status;
	struct hangup_watch hw = {.c = c, .verbose = s->w->verbose, .heartbeat_s = rq->heartbeat_s};
	/* The first heartbeat before any work: a worker seen running the thunk
	 * has told its client it sends them, whatever becomes of it (or of the
	 * watcher thread, which sends the next ones) afterwards. */
	if (hw.heartbeat_s && !heartbeat(&hw))
		hw.heartbeat_s = 0;
	pthread_t th;
	bool watching = gg_cancel_init(&hw.cancel) == 0;
	if (watching && gg_cancel_init(&hw.done) < 0) {
		gg_cancel_destroy(&hw.cancel);
		watching = false;
	}
	if (watching && pthread_create(&th, NULL, hangup_main, &hw) != 0) {
		gg_cancel_destroy(&hw.cancel);
		gg_cancel_destroy(&hw.done);
		watching = false;
	}
	if (!watching)
		fprintf(stderr, "gg worker: cannot watch the connection: a client that goes "
		                "away will not stop its thunk\n");
	worker_handle(s->w, body, (size_t)rq->body_len, &out, &status,
	              watching ? &hw.cancel : NULL);
	if (watching) {
		gg_cancel_fire(&hw.done);
		pthread_join(th, NULL);
		gg_cancel_destroy(&hw.cancel);
		gg_cancel_destroy(&hw.done);
	}
	if (worker_take_fault(s->w, &s->w->faults.drop_reply)) {
		fprintf(stderr, "gg worker: --fault-inject drop-reply: ran it, closing without "
		                "an answer\n");
		buf_free(&out);
		return false;
	}
	bool alive =
	    reply(c, status, "application/json", out.data, out.len, !keep, NULL, false) == 0 &&
	    keep;
	buf_free(&out);
	return alive;
}

/* GET /health, and the 404 and 405 answers; false when the connection should end. */
static bool answer_other(struct conn_io *c, const struct worker_req *rq)
{
	bool keep = rq->keep_alive;
	switch (rq->route) {
	case WORKER_ROUTE_HEALTH:
		return reply(c, 200, "text/plain", "ok\n", 3, !keep, NULL, false) == 0 && keep;
	case WORKER_ROUTE_METHOD:
		return reply_error(c, 405, "use POST /execute (or POST /) with a request", !keep,
		                   "Allow: POST\r\n") == 0 &&
		       keep;
	default:
		return reply_error(c, 404,
		                   "not found: use POST /execute (or POST /) with a request, or "
		                   "GET /health",
		                   !keep, NULL) == 0 &&
		       keep;
	}
}

static void serve_conn(struct server *s, int fd)
{
	const struct worker_http_opts *o = s->o;
	struct conn_io conn = {.fd = fd, .timeout_ms = o->read_timeout_s * 1000u}, *c = &conn;
	if (o->tls) {
		char why[300];
		if (conn_tls_accept(o->tls, c, o->read_timeout_s * 1000u, why, sizeof why) < 0) {
			if (s->w->verbose)
				fprintf(stderr, "gg worker: refused a connection: TLS: %s\n", why);
			/* no TLS goodbye after a failed handshake; but the alert must
			 * reach the client before a reset could overtake it */
			conn_free(c);
			linger(c);
			return;
		}
	}
	struct buf in = BUF_INIT;
	uint64_t begun = 0; /* when the current request's first byte came; 0 = between requests */
	bool admitted = false, continued = false;
	uint64_t held = 0;
	for (;;) {
		struct worker_req rq;
		enum worker_req_state st =
		    worker_req_parse(in.data ? in.data : "", in.len, &s->lim, &rq);
		uint64_t deadline = begun + (uint64_t)o->read_timeout_s * 1000000000u;
		if (st == WORKER_REQ_BAD) {
			if (s->w->verbose)
				fprintf(stderr, "gg worker: refused a request: %d %s\n", rq.status,
				        rq.error);
			reply_error(c, rq.status, rq.error, true, NULL);
			break;
		}
		if (st != WORKER_REQ_MORE && rq.route != WORKER_ROUTE_HEALTH && o->tokens->n &&
		    !worker_token_ok(o->tokens, rq.authorization, rq.authorization_len)) {
			const char *why = rq.authorization ? "a wrong token" : "no token";
			if (s->w->verbose)
				fprintf(stderr, "gg worker: refused a request with %s: 401\n", why);
			reply_error(c, 401,
			            rq.authorization
			                ? "unauthorized: the bearer token is not accepted"
			                : "unauthorized: this worker needs "
			                  "\"Authorization: Bearer TOKEN\"",
			            true,
			            rq.authorization
			                ? "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
			                : "WWW-Authenticate: Bearer\r\n");
			break;
		}
		/* a client that sent "Expect: 100-continue" and gets a final answer may
		 * never send the body: close rather than wait for it */
		if (st == WORKER_REQ_HEAD && rq.expect_continue && !continued)
			rq.keep_alive = false;
		if (st != WORKER_REQ_MORE && rq.route != WORKER_ROUTE_EXECUTE) {
			if (!answer_other(c, &rq) || skip_request(c, &in, &rq, deadline) < 0)
				break;
			begun = in.len ? now_ns() : 0;
			continue;
		}
		if (st != WORKER_REQ_MORE && !admitted) {
			if (!admit(s, rq.body_len)) {
				if (s->w->verbose)
					fprintf(stderr, "gg worker: full: answering 503\n");
				if (reply_error(
				        c, 503,
				        "the worker is full (--max-inflight, --max-memory): "
				        "retry later",
				        !rq.keep_alive, "Retry-After: 1\r\n") < 0 ||
				    !rq.keep_alive || skip_request(c, &in, &rq, deadline) < 0)
					break;
				begun = in.len ? now_ns() : 0;
				continue;
			}
			admitted = true;
			held = rq.body_len;
		}
		if (st == WORKER_REQ_DONE) {
			bool alive = execute(s, c, in.data + rq.head_len, &rq);
			release(s, held);
			admitted = continued = false;
			consume(&in, rq.head_len + (size_t)rq.body_len);
			begun = in.len ? now_ns() : 0;
			if (!alive)
				break;
			continue;
		}
		if (st == WORKER_REQ_HEAD && rq.expect_continue && !continued) {
			if (send_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
				break;
			continued = true;
		}
		if (atomic_load(&s->stopping) && !in.len)
			break;
		size_t want = READ_CHUNK;
		if (st == WORKER_REQ_HEAD) {
			uint64_t need = rq.head_len + rq.body_len - in.len;
			want = need < READ_CHUNK ? (size_t)need : READ_CHUNK;
		}
		if (!begun)
			deadline = now_ns() + (uint64_t)o->idle_timeout_s * 1000000000u;
		int r = recv_some(c, &in, want, deadline);
		if (r < 0 && begun) {
			char msg[96];
			snprintf(msg, sizeof msg, "the request did not arrive within %u s",
			         o->read_timeout_s);
			if (s->w->verbose)
				fprintf(stderr, "gg worker: %s: answering 408\n", msg);
			reply_error(c, 408, msg, true, NULL);
		}
		if (r <= 0)
			break;
		if (!begun)
			begun = now_ns();
	}
	if (admitted)
		release(s, held);
	buf_free(&in);
	/* whatever ended it, unread bytes must not turn the close into a reset */
	linger(c);
	conn_free(c);
}

static void *conn_main(void *p)
{
	struct conn *c = p;
	serve_conn(c->srv, c->fd);
	untrack(c->srv, c->fd);
	free(c);
	return NULL;
}

/* 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104 */
static bool loopback_only(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Refuses a non-loopback address without tokens or client certificates unless allowed. */
static int open_listener(const char *listen_on, bool authenticates, bool allow_unauthenticated,
                         int *out, char *bound, size_t bound_len)
{
	char *spec = xstrdup(listen_on);
	char *host = spec, *port = strrchr(spec, ':');
	if (!port) {
		free(spec);
		return gg_error("--listen %s: expected ADDR:PORT (e.g. 127.0.0.1:9000)", listen_on);
	}
	*port++ = 0;
	if (*host == '[' && host[strlen(host) - 1] == ']') {
		host++;
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE},
	                *ai;
	int e = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (e) {
		free(spec);
		return gg_error("--listen %s: %s", listen_on, gai_strerror(e));
	}
	if (!loopback_only(ai->ai_addr) && !authenticates && !allow_unauthenticated) {
		freeaddrinfo(ai);
		free(spec);
		return gg_error(
		    "--listen %s is not a loopback address: anyone who can reach it could "
		    "run programs here. Give tokens (--token-file FILE or "
		    "GG_WORKER_TOKENS) or --tls-client-ca, or --allow-unauthenticated behind "
		    "an authenticating proxy",
		    listen_on);
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	int r = fd < 0 ? gg_error_errno("socket") : 0;
	if (r == 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (r == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		r = gg_error_errno("cannot listen on %s", listen_on);
	if (r == 0 && listen(fd, 4096) < 0)
		r = gg_error_errno("cannot listen on %s", listen_on);
	freeaddrinfo(ai);
	if (r == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char h[NI_MAXHOST], sv[NI_MAXSERV];
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, sv, sizeof sv,
		                NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(bound, bound_len, "%s%s%s:%s", strchr(h, ':') ? "[" : "", h,
			         strchr(h, ':') ? "]" : "", sv);
		*out = fd;
	} else if (fd >= 0) {
		close(fd);
	}
	free(spec);
	return r;
}

int worker_http_serve(struct worker *w, const struct worker_http_opts *o)
{
	int lfd = -1;
	char bound[NI_MAXHOST + NI_MAXSERV + 4] = "?";
	if (open_listener(o->listen, o->tokens->n || o->client_certs, o->allow_unauthenticated,
	                  &lfd, bound, sizeof bound) < 0)
		return -1;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
	        "gg worker: listening on %s://%s (store %s, %d at once, %d admitted, "
	        "%d connections, %s%s)\n",
	        o->tls ? "https" : "http", bound, w->store->root, w->jobs, o->max_inflight,
	        o->max_conns,
	        o->tokens->n && o->client_certs ? "bearer tokens and client certificates required"
	        : o->tokens->n                  ? "bearer tokens required"
	        : o->client_certs               ? "client certificates required"
	                                        : "no authentication",
	        o->tls ? ", TLS" : "");
	if (o->port_file) {
		const char *port = strrchr(bound, ':');
		char text[32];
		int n = snprintf(text, sizeof text, "%s\n", port ? port + 1 : "0");
		if (write_file_atomic(o->port_file, text, (size_t)n, 0644) < 0) {
			close(lfd);
			return -1;
		}
	}
	struct server srv = {.w = w, .o = o, .lim = worker_req_limits_default(o->max_body)};
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.cv, NULL);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256u << 10);
	while (!stop_requested) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* a client that does not read its answer cannot hold a thread for ever */
		struct timeval tv = {(time_t)o->read_timeout_s, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		pthread_mutex_lock(&srv.mu);
		bool full = srv.active >= o->max_conns;
		pthread_mutex_unlock(&srv.mu);
		if (full) {
			/* from the accepting thread: never wait on this client (over TLS
			 * that would take a handshake: then only the close says it) */
			struct conn_io plain = {.fd = fd};
			if (!o->tls)
				reply(&plain, 503, "text/plain", "too many connections\n", 21, true,
				      "Retry-After: 1\r\n", true);
			close(fd);
			continue;
		}
		struct conn *c = xmalloc(sizeof *c);
		*c = (struct conn){&srv, fd};
		track(&srv, fd);
		pthread_t th;
		if (pthread_create(&th, &attr, conn_main, c) != 0) {
			untrack(&srv, fd);
			free(c);
		}
	}
	close(lfd);
	/* Idle keep-alive connections end now; a running request still answers. */
	pthread_mutex_lock(&srv.mu);
	atomic_store(&srv.stopping, true);
	for (size_t i = 0; i < srv.nfds; i++)
		shutdown(srv.fds[i], SHUT_RD);
	while (srv.active)
		pthread_cond_wait(&srv.cv, &srv.mu);
	pthread_mutex_unlock(&srv.mu);
	pthread_attr_destroy(&attr);
	free(srv.fds);
	pthread_mutex_destroy(&srv.mu);
	pthread_cond_destroy(&srv.cv);
	fprintf(stderr, "gg worker: stopped after %llu requests\n", (unsigned long long)w->served);
	return 0;
}
