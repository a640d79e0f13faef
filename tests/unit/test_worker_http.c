/**
 * @file test_worker_http.c
 * Specification of the worker's HTTP server (backend/remote/worker_http.c)
 * as a client on the network sees it: each answer's status and framing for
 * hostile and malformed bytes (NUL bytes, bare LF, oversized heads, bad,
 * huge and duplicate Content-Lengths), pipelining (bodies of GET requests
 * are skipped, not read as requests), Expect: 100-continue, heartbeats,
 * bearer tokens, the limits (connections, admitted requests, body memory,
 * read and idle timeouts) and the refusal to listen unauthenticated on a
 * non-loopback address. Each server runs in a child process on 127.0.0.1:0
 * and stops cleanly on SIGTERM.
 */
#include "backend/remote/worker.h"
#include "backend/remote/worker_auth.h"
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN "test-token-0123456789abcdef"

static char *dir;

struct server {
	pid_t pid;
	int port;
	const char *name;
};

/* Starts a worker serving HTTP in a child process; o->listen is set here. */
static struct server serve(const char *name, struct worker_http_opts *o,
                           const struct worker_faults *faults)
{
	struct server sv = {-1, 0, name};
	char *port_file = xasprintf("%s/%s.port", dir, name);
	char *store_dir = xasprintf("%s/%s", dir, name);
	o->listen = "127.0.0.1:0";
	o->port_file = port_file;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* its log (and any sanitizer report), shown when it fails */
		char *log = xasprintf("%s/%s.log", dir, name);
		if (!freopen(log, "w", stderr))
			_exit(89);
		free(log);
		struct store *s = NULL;
		struct worker w = {.jobs = 1};
		if (mkdir_p(store_dir, 0700) < 0 || store_init(store_dir, NULL) < 0)
			_exit(90);
		char *root = xasprintf("%s/.gg", store_dir);
		if (store_open(root, &s) < 0)
			_exit(91);
		strvec_push(&w.storage_allow, "file:///nonexistent-test-bucket");
		if (faults)
			w.faults = *faults;
		if (worker_init(&w, s) < 0)
			_exit(92);
		int rc = worker_http_serve(&w, o);
		worker_fini(&w);
		strvec_free(&w.storage_allow);
		store_close(s);
		free(root), free(port_file), free(store_dir), free(dir);
		exit(rc == 0 ? 0 : 93);
	}
	CHECK(pid > 0);
	sv.pid = pid;
	for (int i = 0; i < 500 && !sv.port; i++) {
		struct buf b = BUF_INIT;
		if (read_file(port_file, &b, 64) == 0 && b.len && b.data[b.len - 1] == '\n')
			sv.port = atoi(b.data);
		buf_free(&b);
		if (!sv.port)
			usleep(10000);
	}
	CHECK(sv.port > 0);
	free(port_file), free(store_dir);
	return sv;
}

/* SIGTERM: the server drains and exits 0 (also: no sanitizer report). */
static void stop(struct server *sv)
{
	int st = -1;
	CHECK(kill(sv->pid, SIGTERM) == 0);
	CHECK(waitpid(sv->pid, &st, 0) == sv->pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char *log = xasprintf("%s/%s.log", dir, sv->name);
		struct buf b = BUF_INIT;
		if (read_file(log, &b, 1 << 20) == 0)
			fprintf(stderr, "server %s: wait status %d, its log:\n%.*s\n", sv->name, st,
			        (int)b.len, b.data);
		buf_free(&b);
		free(log);
	}
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		abort();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Sends what it can: the server may close early (a refusal), which is no error here. */
static void put(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

static void puts_(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

/*
 * Reads answers until the server closes or wait_ms pass without a byte, or
 * until `until` (if not NULL) appears. Returns the bytes (malloc'd); *closed
 * tells whether the connection was closed (EOF or reset).
 */
static char *slurp(int fd, int wait_ms, const char *until, bool *closed, size_t *len)
{
	struct buf b = BUF_INIT;
	*closed = false;
	for (;;) {
		if (until && b.len && memmem(b.data, b.len, until, strlen(until)))
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, wait_ms) <= 0)
			break;
		char tmp[4096];
		ssize_t k = recv(fd, tmp, sizeof tmp, 0);
		if (k <= 0) {
			*closed = true;
			break;
		}
		buf_add(&b, tmp, (size_t)k);
	}
	buf_addc(&b, 0);
	*len = b.len - 1;
	return b.data;
}

/*
 * The answers in text[0..len), as "STATUS STATUS ... closed|open": each
 * must be a whole HTTP/1.1 answer (status line, header fields, a body of
 * its Content-Length; 1xx without one), else "garbled" ends the list.
 */
static char *summary(const char *text, size_t len, bool closed)
{
	struct buf out = BUF_INIT;
	size_t i = 0;
	while (i < len) {
		const char *end = memmem(text + i, len - i, "\r\n\r\n", 4);
		int status = 0, used = 0;
		if (!end || sscanf(text + i, "HTTP/1.1 %3d %*[^\r]\r\n%n", &status, &used) < 1 ||
		    !used) {
			buf_printf(&out, "garbled ");
			break;
		}
		size_t head = (size_t)(end - (text + i)) + 4;
		size_t body = 0;
		if (status >= 200) {
			const char *cl = memmem(text + i, head, "\r\nContent-Length: ", 18);
			if (!cl) {
				buf_printf(&out, "garbled ");
				break;
			}
			body = strtoul(cl + 18, NULL, 10);
		}
		if (head + body > len - i) {
			buf_printf(&out, "garbled ");
			break;
		}
		buf_printf(&out, "%d ", status);
		i += head + body;
	}
	buf_printf(&out, "%s", closed ? "closed" : "open");
	return out.data;
}

/*
 * One connection: sends req[0..n), half-closes when asked (the server then
 * sees EOF after the requests), and sums up the answers. *raw (if not NULL)
 * gets the bytes.
 */
static char *ask_n(int port, const char *req, size_t n, bool half_close, int wait_ms, char **raw)
{
	int fd = dial(port);
	put(fd, req, n);
	if (half_close)
		shutdown(fd, SHUT_WR);
	bool closed;
	size_t len;
	char *text = slurp(fd, wait_ms, NULL, &closed, &len);
	close(fd);
	char *s = summary(text, len, closed);
	if (raw)
		*raw = text;
	else
		free(text);
	return s;
}

/* ask_n() of a C string */
static char *ask(int port, const char *req, bool half_close, char **raw)
{
	return ask_n(port, req, strlen(req), half_close, 3000, raw);
}

/* A request that the server must answer and close on its own (no half-close). */
#define CHECK_ASK(req, want)                                                                       \
	do {                                                                                       \
		char *s_ = ask_n(port, (req), sizeof(req) - 1, false, 3000, NULL);                 \
		CHECK_STR(s_, (want));                                                             \
		free(s_);                                                                          \
	} while (0)

/* Requests on one connection, then EOF from the client. */
#define CHECK_PIPE(req, want)                                                                      \
	do {                                                                                       \
		char *s_ = ask_n(port, (req), sizeof(req) - 1, true, 3000, NULL);                  \
		CHECK_STR(s_, (want));                                                             \
		free(s_);                                                                          \
	} while (0)

static struct strvec no_tokens;

static struct worker_http_opts opts(void)
{
	return (struct worker_http_opts){
	    .max_conns = 8,
	    .max_inflight = 2,
	    .max_body = 64,
	    .max_memory = 100,
	    .read_timeout_s = 1,
	    .idle_timeout_s = 1,
	    .tokens = &no_tokens,
	};
}

static void test_hostile(void)
{
	struct worker_http_opts o = opts();
	struct server sv = serve("hostile", &o, NULL);
	int port = sv.port;
	CHECK_PIPE("GET /health HTTP/1.1\r\n\r\n", "200 closed");
	/* NUL bytes: in the request line, in a header value, alone */
	CHECK_ASK("GET /hea\0lth HTTP/1.1\r\n\r\n", "400 closed");
	CHECK_ASK("GET /health HTTP/1.1\r\nX: a\0b\r\n\r\n", "400 closed");
	CHECK_ASK("GET /health HTTP/1.1\r\nX\0: b\r\n\r\n", "400 closed");
	CHECK_ASK("\0\0\0\0", "400 closed");
	/* line ends */
	CHECK_ASK("GET /health HTTP/1.1\n\n", "400 closed");
	CHECK_ASK("GET /health HTTP/1.1\r\nHost: x\n\r\n", "400 closed");
	CHECK_ASK("GET /health HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "400 closed");
	CHECK_PIPE("GET /health HTTP/1.1\r\n\r", "closed"); /* cut short: no answer */
	/* Content-Length */
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 0x2\r\n\r\n{}", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n", "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", "413 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", "413 closed");
	/* two different lengths: 400, and what follows is not read as a request */
	CHECK_PIPE("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}"
	           "GET /health HTTP/1.1\r\n\r\n",
	           "400 closed");
	/* the same length twice is one length: the body is read (bad JSON: 400), kept alive */
	CHECK_PIPE("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}"
	           "GET /health HTTP/1.1\r\n\r\n",
	           "400 200 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}",
	          "400 closed");
	CHECK_ASK("POST / HTTP/1.1\r\n\r\n", "411 closed");
	CHECK_ASK("GET /health HTTP/2.0\r\n\r\n", "505 closed");
	CHECK_ASK("GET /health HTTP/1.1\r\nExpect: x\r\n\r\n", "417 closed");

	/* oversized: a request line, a header, many fields, blank lines alone */
	struct buf big = BUF_INIT;
	buf_printf(&big, "GET /");
	for (int i = 0; i < 10000; i++)
		buf_addc(&big, 'a');
	buf_printf(&big, " HTTP/1.1\r\n\r\n");
	char *s = ask_n(port, big.data, big.len, false, 3000, NULL);
	CHECK_STR(s, "414 closed");
	free(s);
	big.len = 0;
	buf_printf(&big, "GET /health HTTP/1.1\r\nX-Big: ");
	for (int i = 0; i < 20000; i++)
		buf_addc(&big, 'a');
	buf_printf(&big, "\r\n\r\n");
	s = ask_n(port, big.data, big.len, false, 3000, NULL);
	CHECK_STR(s, "431 closed");
	free(s);
	big.len = 0;
	buf_printf(&big, "GET /health HTTP/1.1\r\n");
	for (int i = 0; i < 100; i++)
		buf_printf(&big, "X-%d: y\r\n", i);
	buf_printf(&big, "\r\n");
	s = ask_n(port, big.data, big.len, false, 3000, NULL);
	CHECK_STR(s, "431 closed");
	free(s);
	big.len = 0;
	for (int i = 0; i < 9000; i++)
		buf_printf(&big, "\r\n");
	s = ask_n(port, big.data, big.len, false, 3000, NULL);
	CHECK_STR(s, "431 closed");
	free(s);
	/* a body far over --max-body sent along: 413, and the answer is not lost to a reset */
	big.len = 0;
	buf_printf(&big, "POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
	for (int i = 0; i < 1000000; i++)
		buf_addc(&big, 'x');
	s = ask_n(port, big.data, big.len, false, 3000, NULL);
	CHECK_STR(s, "413 closed");
	free(s);
	buf_free(&big);
	stop(&sv);
}

static void test_pipelining(void)
{
	struct worker_http_opts o = opts();
	struct server sv = serve("pipe", &o, NULL);
	int port = sv.port;
	/* every route in a row, one connection */
	CHECK_PIPE("GET /health HTTP/1.1\r\n\r\n"
	           "GET / HTTP/1.1\r\n\r\n"
	           "GET /nothing HTTP/1.1\r\n\r\n"
	           "POST /execute HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
	           "\r\nGET /health?x=1 HTTP/1.1\r\n\r\n",
	           "200 405 404 400 200 closed");
	/* the body of a GET is skipped, not taken for the next request */
	CHECK_PIPE("GET /health HTTP/1.1\r\nContent-Length: 25\r\n\r\n"
	           "GET /nothing HTTP/1.1\r\n\r\n"
	           "GET /health HTTP/1.1\r\n\r\n",
	           "200 200 closed");
	/* nor is an /execute body, even when it looks like requests */
	CHECK_PIPE("POST / HTTP/1.1\r\nContent-Length: 25\r\n\r\n"
	           "GET /nothing HTTP/1.1\r\n\r\n"
	           "GET /health HTTP/1.1\r\n\r\n",
	           "400 200 closed");
	/* answers up to garbage, then 400 and close */
	CHECK_PIPE("GET /health HTTP/1.1\r\n\r\nHELLO\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
	           "200 400 closed");
	/* Connection: close and HTTP/1.0 end the connection after their answer */
	CHECK_PIPE("GET /health HTTP/1.1\r\nConnection: close\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
	           "200 closed");
	CHECK_PIPE("GET /health HTTP/1.0\r\n\r\nGET /health HTTP/1.1\r\n\r\n", "200 closed");
	CHECK_PIPE("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	           "GET /health HTTP/1.1\r\n\r\n",
	           "200 200 closed");
	/* the body of a GET that comes after its answer is skipped too */
	int fd = dial(port);
	puts_(fd, "GET /health HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
	bool closed;
	size_t len;
	char *t = slurp(fd, 3000, "ok\n", &closed, &len);
	CHECK(strstr(t, "HTTP/1.1 200 OK\r\n") && !closed);
	free(t);
	puts_(fd, "HEL");
	usleep(50000);
	puts_(fd, "LOGET /nothing HTTP/1.1\r\n\r\n");
	shutdown(fd, SHUT_WR);
	t = slurp(fd, 3000, NULL, &closed, &len);
	char *s = summary(t, len, closed);
	CHECK_STR(s, "404 closed");
	free(s), free(t);
	close(fd);
	/* a request that comes a byte at a time is answered as a whole one */
	const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	fd = dial(port);
	for (size_t i = 0; i < sizeof req - 1; i++)
		put(fd, req + i, 1);
	shutdown(fd, SHUT_WR);
	t = slurp(fd, 3000, NULL, &closed, &len);
	s = summary(t, len, closed);
	CHECK_STR(s, "200 closed");
	CHECK(strstr(t, "\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"));
	free(s), free(t);
	close(fd);
	/* an error answer is JSON naming the cause, and says it closes */
	char *raw = NULL;
	s = ask(port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, &raw);
	CHECK_STR(s, "405 closed");
	CHECK(strstr(raw, "HTTP/1.1 405 Method Not Allowed\r\n") && strstr(raw, "Allow: POST\r\n"));
	CHECK(strstr(raw, "Connection: close\r\n") && strstr(raw, "{\"v\":1,\"error\":\"use POST"));
	free(s), free(raw);
	stop(&sv);
}

static void test_expect_and_heartbeat(void)
{
	struct worker_http_opts o = opts();
	struct server sv = serve("expect", &o, NULL);
	int port = sv.port;
	/* the head alone: "100 Continue", then the body is read and answered */
	int fd = dial(port);
	puts_(fd, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	bool closed;
	size_t len;
	char *t = slurp(fd, 3000, "\r\n\r\n", &closed, &len);
	CHECK_STR(t, "HTTP/1.1 100 Continue\r\n\r\n");
	free(t);
	puts_(fd, "{}GET /health HTTP/1.1\r\n\r\n");
	shutdown(fd, SHUT_WR);
	t = slurp(fd, 3000, NULL, &closed, &len);
	char *s = summary(t, len, closed);
	CHECK_STR(s, "400 200 closed");
	free(s), free(t);
	close(fd);
	/* the body sent along with the head: no 100 */
	CHECK_PIPE("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
	           "400 closed");
	/* a final answer before the body closes at once (not after --read-timeout):
	 * the body may never come */
	const char early[] =
	    "GET /nothing HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	s = ask_n(port, early, sizeof early - 1, false, 500, NULL);
	CHECK_STR(s, "404 closed");
	free(s);
	/* a heartbeat is sent before any work, then the answer */
	char *raw = NULL;
	s = ask(port, "POST / HTTP/1.1\r\nX-GG-Heartbeat: 1\r\nContent-Length: 2\r\n\r\n{}", true,
	        &raw);
	CHECK_STR(s, "102 400 closed");
	const char *hb = "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 400 Bad Request\r\n";
	CHECK(!strncmp(raw, hb, strlen(hb)));
	free(s), free(raw);
	/* a request that does not arrive whole within --read-timeout: 408 */
	CHECK_ASK("GET /health HTTP/1.1\r\nHost: x\r\n", "408 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{", "408 closed");
	/* an idle connection is closed after --idle-timeout, without an answer */
	CHECK_ASK("", "closed");
	CHECK_ASK("GET /health HTTP/1.1\r\n\r\n", "200 closed");
	stop(&sv);
}

/* Holds an /execute request admitted: its head sent, its body not. */
static int hold(int port, unsigned body_len)
{
	int fd = dial(port);
	char head[128];
	snprintf(head, sizeof head,
	         "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %u\r\n\r\n", body_len);
	puts_(fd, head);
	bool closed;
	size_t len;
	char *t = slurp(fd, 3000, "\r\n\r\n", &closed, &len);
	CHECK_STR(t, "HTTP/1.1 100 Continue\r\n\r\n"); /* admitted */
	free(t);
	return fd;
}

static void test_limits(void)
{
	struct worker_http_opts o = opts();
	o.read_timeout_s = 5;
	o.idle_timeout_s = 5;
	struct server sv = serve("limits", &o, NULL);
	int port = sv.port;
	char *raw = NULL;
	/* --max-memory 100: 60 bytes held, 50 more are refused, 40 fit */
	int a = hold(port, 60);
	char *s = ask(port, "POST / HTTP/1.1\r\nContent-Length: 50\r\nConnection: close\r\n\r\n",
	              false, &raw);
	CHECK_STR(s, "503 closed");
	CHECK(strstr(raw, "\r\nRetry-After: 1\r\n") != NULL);
	free(s), free(raw);
	int b = hold(port, 40);
	/* --max-inflight 2: a third is refused; kept alive, its body skipped */
	CHECK_PIPE("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n\r\n",
	           "503 200 closed");
	/* a held request that completes releases its share */
	put(b, "0123456789012345678901234567890123456789", 40);
	shutdown(b, SHUT_WR);
	bool closed;
	size_t len;
	char *t = slurp(b, 3000, NULL, &closed, &len);
	s = summary(t, len, closed);
	CHECK_STR(s, "400 closed");
	free(s), free(t);
	close(b);
	usleep(50000);
	CHECK_PIPE("POST / HTTP/1.1\r\nContent-Length: 40\r\n\r\n"
	           "0123456789012345678901234567890123456789",
	           "400 closed");
	close(a);
	stop(&sv);
}

static void test_connections(void)
{
	struct worker_http_opts o = opts();
	o.read_timeout_s = 5;
	o.idle_timeout_s = 5;
	o.max_conns = 4;
	struct server sv = serve("conns", &o, NULL);
	int port = sv.port;
	char *raw = NULL, *s, *t;
	bool closed;
	size_t len;
	/* --max-connections 4: a fifth connection gets 503 at once */
	int fds[4];
	for (int i = 0; i < 4; i++) {
		fds[i] = dial(port);
		puts_(fds[i], "GET /health HTTP/1.1\r\n\r\n");
		t = slurp(fds[i], 3000, "ok\n", &closed, &len);
		CHECK(strstr(t, "200 OK") && !closed);
		free(t);
	}
	s = ask(port, "GET /health HTTP/1.1\r\n\r\n", false, &raw);
	CHECK_STR(s, "503 closed");
	CHECK(strstr(raw, "too many connections") && strstr(raw, "Retry-After: 1\r\n"));
	free(s), free(raw);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	/* and once they are closed, connections are served again */
	s = NULL;
	for (int i = 0; i < 100; i++) {
		free(s);
		s = ask(port, "GET /health HTTP/1.1\r\n\r\n", true, NULL);
		if (!strcmp(s, "200 closed"))
			break;
		usleep(20000);
	}
	CHECK_STR(s, "200 closed");
	free(s);
	stop(&sv);
}

static void test_tokens(void)
{
	struct strvec tokens = {0};
	strvec_push(&tokens, TOKEN);
	struct worker_http_opts o = opts();
	o.tokens = &tokens;
	struct server sv = serve("tokens", &o, NULL);
	int port = sv.port;
	char *raw = NULL;
	/* /health needs none; everything else does, checked before the route */
	CHECK_PIPE("GET /health HTTP/1.1\r\n\r\n", "200 closed");
	char *s = ask(port, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", false, &raw);
	CHECK_STR(s, "401 closed");
	CHECK(strstr(raw, "\r\nWWW-Authenticate: Bearer\r\n") != NULL);
	free(s), free(raw);
	s = ask(port,
	        "POST / HTTP/1.1\r\nAuthorization: Bearer test-token-0123456789abcdeF\r\n"
	        "Content-Length: 2\r\n\r\n{}",
	        false, &raw);
	CHECK_STR(s, "401 closed");
	CHECK(strstr(raw, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n") != NULL);
	free(s), free(raw);
	CHECK_ASK("GET /nothing HTTP/1.1\r\n\r\n", "401 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nAuthorization: Bearer " TOKEN
	          "x\r\nContent-Length: 0\r\n\r\n",
	          "401 closed");
	CHECK_ASK("POST / HTTP/1.1\r\nAuthorization: " TOKEN "\r\nContent-Length: 0\r\n\r\n",
	          "401 closed");
	/* framing errors are answered first (the request cannot be delimited) */
	CHECK_ASK("POST / HTTP/1.1\r\nAuthorization: Bearer " TOKEN "x\r\n\r\n", "411 closed");
	/* the head is judged before the body is waited for */
	CHECK_ASK("POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n", "401 closed");
	/* each request of a connection is checked */
	CHECK_PIPE("POST / HTTP/1.1\r\nAuthorization: Bearer " TOKEN
	           "\r\nContent-Length: 2\r\n\r\n{}"
	           "GET /nothing HTTP/1.1\r\nAuthorization: bearer " TOKEN "\r\n\r\n"
	           "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
	           "400 404 401 closed");
	stop(&sv);
	strvec_free(&tokens);
}

static void test_faults(void)
{
	struct worker_faults f = {.status_429 = 1, .status_503 = 1, .retry_after = 7, .drop = 1};
	struct worker_http_opts o = opts();
	struct server sv = serve("faults", &o, &f);
	int port = sv.port;
	char *raw = NULL;
	const char req[] = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	CHECK_PIPE(req, "429 closed");
	char *s = ask_n(port, req, sizeof req - 1, true, 3000, &raw);
	CHECK_STR(s, "503 closed");
	CHECK(strstr(raw, "\r\nRetry-After: 7\r\n") != NULL);
	free(s), free(raw);
	CHECK_PIPE(req, "closed");
	CHECK_PIPE(req, "400 closed");
	stop(&sv);
}

static void test_listen_refused(void)
{
	struct worker w = {0};
	struct worker_http_opts o = opts();
	o.listen = "0.0.0.0:0"; /* refused before any socket is made */
	CHECK_ERR(worker_http_serve(&w, &o), "is not a loopback address");
	o.listen = "127.0.0.1";
	CHECK_ERR(worker_http_serve(&w, &o), "expected ADDR:PORT");
	o.listen = "127.0.0.1:notaport";
	CHECK(worker_http_serve(&w, &o) < 0);
}

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-worker-http-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	unsetenv("GG_DIR");
}

static void teardown(void)
{
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

TEST_MAIN(setup, test_listen_refused, test_hostile, test_pipelining, test_expect_and_heartbeat,
          test_limits, test_connections, test_tokens, test_faults, teardown)
