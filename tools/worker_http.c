/**
 * @file worker_http.c
 * `gg worker --listen`: a small HTTP/1.1 server, one thread per connection
 * (at most --max-connections), keep-alive, bounded headers and bodies.
 *
 *     POST /execute (or POST /)   a wire request -> a wire response
 *     GET /health                 200 "ok"
 *
 * Request bodies need a Content-Length (chunked uploads get 411); "Expect:
 * 100-continue" is answered. Executions are limited by worker_handle's
 * slots, not here, so a connection may wait for a slot. SIGINT/SIGTERM stop
 * accepting, end idle connections and let running requests answer. It does
 * not do TLS (put a proxy in front) or HTTP/2.
 */
#include "worker.h"

#include "wire.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX     (16u << 10)
#define IDLE_TIMEOUT_S 120

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct server {
	struct worker *w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* protected by mu */
	int *fds; /* open connections, for shutdown */
	size_t nfds, cap;
	int active;
	bool stopping;
};

struct conn {
	struct server *srv;
	int fd;
};

static void track(struct server *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	if (s->nfds == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->fds = xrealloc(s->fds, s->cap * sizeof *s->fds);
	}
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

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static int reply(int fd, int status, const char *type, const char *body, size_t len,
                 bool close_after)
{
	char head[256];
	int n =
	    snprintf(head, sizeof head,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
	             reason(status), type, len, close_after ? "Connection: close\r\n" : "");
	if (send_all(fd, head, (size_t)n) < 0)
		return -1;
	return len ? send_all(fd, body, len) : 0;
}

static int reply_error(int fd, int status, const char *msg, bool close_after)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "{\"v\":%d,\"error\":", WIRE_VERSION);
	wire_add_string(&b, msg, strlen(msg));
	buf_addc(&b, '}');
	int r = reply(fd, status, "application/json", b.data, b.len, close_after);
	buf_free(&b);
	return r;
}

/* Reads more into b; 0 on EOF or error. */
static ssize_t read_more(int fd, struct buf *b, size_t want)
{
	buf_grow(b, want);
	for (;;) {
		ssize_t k = recv(fd, b->data + b->len, want, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k > 0) {
			b->len += (size_t)k;
			b->data[b->len] = 0;
		}
		return k < 0 ? 0 : k;
	}
}

/* The value of header `name` within the header block, or NULL (not NUL-terminated: up to \r). */
static const char *header(const char *hdrs, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (const char *p = hdrs; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *e = eol;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*vlen = (size_t)(e - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

static bool header_is(const char *hdrs, const char *name, const char *value)
{
	size_t n;
	const char *v = header(hdrs, name, &n);
	return v && n == strlen(value) && !strncasecmp(v, value, n);
}

/* Test-only faults that act at the HTTP level. 0 = none, else what to do. */
static int http_fault(struct worker *w)
{
	if (worker_take_fault(w, &w->faults.status_429))
		return 429;
	if (worker_take_fault(w, &w->faults.status_500))
		return 500;
	if (worker_take_fault(w, &w->faults.hang))
		return -1;
	if (worker_take_fault(w, &w->faults.drop))
		return -2;
	return 0;
}

/* One request on the connection; false when the connection should end. */
static bool serve_one(struct server *s, int fd, struct buf *in)
{
	/* the header block */
	char *end;
	/* by length, never by terminator: after a request the bytes beyond len are stale */
	while (!(end = in->len ? memmem(in->data, in->len, "\r\n\r\n", 4) : NULL)) {
		if (in->len >= HEADER_MAX) {
			reply_error(fd, 431, "request headers too large", true);
			return false;
		}
		if (read_more(fd, in, 4096) <= 0)
			return false;
		if (memchr(in->data, 0, in->len)) {
			reply_error(fd, 400, "NUL byte in the request headers", true);
			return false;
		}
	}
	size_t head_len = (size_t)(end - in->data) + 4;
	char *line_end = memmem(in->data, head_len, "\r\n", 2);
	char method[16], target[256], version[16];
	*line_end = 0;
	int ok = sscanf(in->data, "%15s %255s %15s", method, target, version) == 3 &&
	         !strncmp(version, "HTTP/1.", 7);
	*line_end = '\r';
	if (!ok) {
		reply_error(fd, 400, "malformed request line", true);
		return false;
	}
	char saved = in->data[head_len - 2];
	in->data[head_len - 2] = 0; /* headers end with the last \r\n */
	const char *hdrs = line_end + 2;
	bool keep = strcmp(version, "HTTP/1.0") ? !header_is(hdrs, "Connection", "close")
	                                        : header_is(hdrs, "Connection", "keep-alive");
	size_t clen_n;
	const char *clen = header(hdrs, "Content-Length", &clen_n);
	bool chunked = header(hdrs, "Transfer-Encoding", &clen_n) != NULL;
	bool expect = header_is(hdrs, "Expect", "100-continue");
	uint64_t body_len = 0;
	if (clen) {
		char num[24];
		size_t k = clen_n < sizeof num - 1 ? clen_n : sizeof num - 1;
		memcpy(num, clen, k);
		num[k] = 0;
		if (parse_u64(num, &body_len) < 0) {
			reply_error(fd, 400, "bad Content-Length", true);
			return false;
		}
	}
	in->data[head_len - 2] = saved;
	bool is_post = !strcmp(method, "POST");
	if (!strcmp(method, "GET") && !strcmp(target, "/health")) {
		memmove(in->data, in->data + head_len, in->len - head_len);
		in->len -= head_len;
		in->data[in->len] = 0;
		return reply(fd, 200, "text/plain", "ok\n", 3, !keep) == 0 && keep;
	}
	if (!is_post || (strcmp(target, "/execute") && strcmp(target, "/"))) {
		bool known = !strcmp(target, "/execute") || !strcmp(target, "/");
		reply_error(fd, known && !is_post ? 405 : 404,
		            "use POST /execute (or POST /) with a request, or GET /health", true);
		return false;
	}
	if (chunked || !clen) {
		reply_error(fd, 411, "a request body needs a Content-Length", true);
		return false;
	}
	if (body_len > WIRE_MAX_REQUEST) {
		reply_error(fd, 413, "request body too large", true);
		return false;
	}
	if (expect && in->len - head_len < body_len &&
	    send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return false;
	while (in->len - head_len < body_len)
		if (read_more(fd, in,
		              (size_t)(body_len - (in->len - head_len)) < (1u << 20)
		                  ? (size_t)(body_len - (in->len - head_len))
		                  : (1u << 20)) <= 0)
			return false;
	int fault = http_fault(s->w);
	bool alive = true;
	if (fault > 0) {
		fprintf(stderr, "gg worker: --fault-inject: answering %d\n", fault);
		alive = reply_error(fd, fault,
		                    fault == 429 ? "fault injected: too many requests"
		                                 : "fault injected: internal error",
		                    !keep) == 0 &&
		        keep;
	} else if (fault == -1) {
		fprintf(stderr, "gg worker: --fault-inject hang: not answering\n");
		while (!stop_requested)
			sleep(1);
		alive = false;
	} else if (fault == -2) {
		fprintf(stderr, "gg worker: --fault-inject drop: closing without an answer\n");
		alive = false;
	} else {
		struct buf out = BUF_INIT;
		int status;
		worker_handle(s->w, in->data + head_len, (size_t)body_len, &out, &status);
		alive =
		    reply(fd, status, "application/json", out.data, out.len, !keep) == 0 && keep;
		buf_free(&out);
	}
	size_t used = head_len + (size_t)body_len;
	memmove(in->data, in->data + used, in->len - used);
	in->len -= used;
	in->data[in->len] = 0;
	return alive;
}

static void *conn_main(void *p)
{
	struct conn *c = p;
	struct buf in = BUF_INIT;
	buf_grow(&in, 4096);
	while (!c->srv->stopping && serve_one(c->srv, c->fd, &in))
		;
	buf_free(&in);
	untrack(c->srv, c->fd);
	free(c);
	return NULL;
}

static int open_listener(const char *listen_on, int *out, char *bound, size_t bound_len)
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

int worker_http_serve(struct worker *w, const char *listen_on, const char *port_file, int max_conns)
{
	int lfd = -1;
	char bound[NI_MAXHOST + NI_MAXSERV + 4] = "?";
	if (open_listener(listen_on, &lfd, bound, sizeof bound) < 0)
		return -1;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "gg worker: listening on http://%s (store %s, %d at once)\n", bound,
	        w->store->root, w->jobs);
	if (port_file) {
		const char *port = strrchr(bound, ':');
		char text[32];
		int n = snprintf(text, sizeof text, "%s\n", port ? port + 1 : "0");
		if (write_file_atomic(port_file, text, (size_t)n, 0644) < 0) {
			close(lfd);
			return -1;
		}
	}
	struct server srv = {.w = w};
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
		struct timeval tv = {IDLE_TIMEOUT_S, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		pthread_mutex_lock(&srv.mu);
		bool full = srv.active >= max_conns;
		pthread_mutex_unlock(&srv.mu);
		if (full) {
			reply_error(fd, 503, "too many connections", true);
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
	srv.stopping = true;
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
