/**
 * @file test_engine_http.c
 * Specification of the http engine (backend/engine/engine_http.c) and the
 * remote pipeline behind it (backend/engine/engine_remote.c) against a fake
 * `gg worker` in a thread on 127.0.0.1, which answers each request with the
 * next step of a script: a whole HTTP response, a close without one, or a
 * stall (silent, or after a "102 Processing" heartbeat) until the engine
 * hangs up, or a response 300 ms late. Storage is file:// in a mkdtemp directory removed at the
 * end.
 *  - Settings refused before any request: no URL or not http(s), a bad
 *    GG_REMOTE_TIMEOUT, GG_REMOTE_ATTEMPTS, GG_HTTP_MAX_INPUT,
 *    GG_WORKER_SILENCE, GG_REMOTE_THREADS, an unreadable GG_WORKER_CA, a
 *    key without a certificate, no storage; each named.
 *  - The request: a POST of a wire request naming the thunk, carrying it,
 *    the storage and the inline limit, the bearer token and the heartbeat
 *    period; the inputs uploaded first.
 *  - Replies: inline outputs stored, others downloaded; bytes that are not
 *    the output they claim to be refused, inline or downloaded; an output
 *    not in storage; a program failure; an infrastructure error forgetting
 *    the inputs it lists missing (uploaded again next time); malformed,
 *    truncated and oversized replies, another thunk's reply, the wrong
 *    outputs; a closed connection retried GG_REMOTE_ATTEMPTS times; 503 and
 *    429 retried after their Retry-After; 401 not retried.
 *  - GG_REMOTE_TIMEOUT at most a year; a thunk's own timeout too long to
 *    add the transport's minute of grace to is no limit (not a wrapped one).
 *  - A stalled worker given up after GG_WORKER_SILENCE (after a heartbeat,
 *    or when a probe is not answered either), and then declined; cancel.
 */
#include "backend/remote/wire.h"
#include "engine_fixture.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *url;
static struct gg_name world; /* "world\n": the output of ok replies */

/* ---- a fake worker: each request gets the next step of a script ---- */

#define STALL "<stall>" /* read the request, answer nothing until hung up on */
#define BEAT  "<beat>"  /* a "102 Processing" heartbeat, then a stall */
#define CLOSE "<close>" /* close the connection without an answer */
#define SLOW  "<slow>"  /* prefixed to a response: sent after 300 ms */

static struct {
	pthread_mutex_t mu;
	char *steps[4]; /* the last one repeats */
	int nsteps;
	int requests;
	char *last; /* the last request, head and body */
	size_t last_head;
	uint64_t at[8]; /* when requests came (now_ns) */
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Waits until the engine hangs up (or the test ends). */
static void stall(int c)
{
	while (!atomic_load(&ep.stop)) {
		struct pollfd pf = {.fd = c, .events = POLLIN};
		if (poll(&pf, 1, 20) <= 0)
			continue;
		char sink[4096];
		if (read(c, sink, sizeof sink) <= 0)
			return;
	}
}

static void answer(int c, struct buf *b, size_t head)
{
	pthread_mutex_lock(&srv.mu);
	int i = srv.requests < srv.nsteps ? srv.requests : srv.nsteps - 1;
	if (srv.requests < 8)
		srv.at[srv.requests] = now_ns();
	srv.requests++;
	free(srv.last);
	srv.last = b->data;
	srv.last_head = head;
	char *step = xstrdup(srv.steps[i]);
	pthread_mutex_unlock(&srv.mu);
	if (!strcmp(step, STALL)) {
		stall(c);
	} else if (!strcmp(step, BEAT)) {
		static const char beat[] = "HTTP/1.1 102 Processing\r\n\r\n";
		if (write_all(c, beat, sizeof beat - 1) == 0)
			stall(c);
	} else if (!strncmp(step, SLOW, strlen(SLOW))) {
		usleep(300000);
		(void)write_all(c, step + strlen(SLOW), strlen(step + strlen(SLOW)));
	} else if (strcmp(step, CLOSE)) {
		(void)write_all(c, step, strlen(step)); /* the engine may hang up first */
	}
	free(step);
}

/* A whole HTTP response: status line and headers, then body. */
static char *http(const char *head, const char *body, size_t len)
{
	char *s = xmalloc(strlen(head) + len + 100);
	int k = sprintf(s, "%sContent-Length: %zu\r\nConnection: close\r\n\r\n", head, len);
	memcpy(s + k, body, len);
	s[k + (int)len] = 0;
	return s;
}

/* The script: up to 4 steps (malloc'd, taken over), the last repeated. */
static void script(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	pthread_mutex_lock(&srv.mu);
	for (int i = 0; i < srv.nsteps; i++)
		free(srv.steps[i]);
	for (int i = 0; i < n; i++)
		srv.steps[i] = va_arg(ap, char *);
	srv.nsteps = n;
	srv.requests = 0;
	free(srv.last);
	srv.last = NULL;
	pthread_mutex_unlock(&srv.mu);
	va_end(ap);
}

static char *ok(const char *body)
{
	return http("HTTP/1.1 200 OK\r\n", body, strlen(body));
}

/* A 200 answer carrying rs. */
static char *ok_wire(const struct wire_response *rs)
{
	struct buf b = BUF_INIT;
	CHECK(wire_response_encode(rs, &b) == 0);
	buf_add(&b, "", 1);
	char *s = ok(b.data);
	buf_free(&b);
	return s;
}

/* A wire response for thunk t: one output "o" with value v, inline bytes
 * (NULL: none). */
static char *success(const struct gg_name *t, const char *path, const struct gg_name *v,
                     const char *inline_bytes)
{
	struct wire_response rs = {.thunk = *t, .status = WIRE_OK, .worker = "fake"};
	wire_response_add_output(&rs, path, v, false);
	if (inline_bytes) {
		rs.outputs[0].has_inline = true;
		buf_add(&rs.outputs[0].data, inline_bytes, strlen(inline_bytes));
	}
	char *s = ok_wire(&rs);
	rs.worker = NULL;
	wire_response_free(&rs);
	return s;
}

static char *failure(void)
{
	struct wire_response rs = {.thunk = tname,
	                           .status = WIRE_FAILED,
	                           .why = "exited with status 3",
	                           .has_exit = true,
	                           .exit_code = 3,
	                           .stderr_tail = "oops\n",
	                           .worker = "w1"};
	return ok_wire(&rs);
}

static char *infra_missing(const struct gg_name *missing)
{
	struct wire_response rs = {.thunk = tname,
	                           .status = WIRE_INFRA,
	                           .infra_error = "inputs missing from storage",
	                           .missing = (struct gg_name *)missing,
	                           .nmissing = 1};
	return ok_wire(&rs);
}

/* ---- jobs ---- */

static struct engine *http_engine(void)
{
	struct engine *e = NULL;
	char *spec = xasprintf("http=%s", url);
	CHECK(engine_create(spec, 1, &cfg, &e) == 0);
	free(spec);
	return e;
}

/* A job of the thunk, nothing else set. */
static void job_init(struct engine_job *job)
{
	memset(job, 0, sizeof *job);
	job->name = tname;
	job->thunk = &thunk;
}

static void submit(struct engine *e, struct engine_job *job)
{
	job_init(job);
	ef_submit(e, job);
}

/* Runs one job on e; its rc (job->error, code and result for the caller). */
static int run_on(struct engine *e, struct engine_job *job)
{
	job_init(job);
	return ef_run(e, job);
}

static void job_free(struct engine_job *job)
{
	if (job->rc == 0)
		exec_result_free(&job->result);
	free(job->error);
}

/* One job on a new engine: rc, and *error (malloc'd or NULL), *code. */
static int run_job(char **error, enum gg_code *code)
{
	struct engine *e = http_engine();
	if (!e) {
		*error = xstrdup(gg_last_error());
		return -2;
	}
	struct engine_job job;
	int rc = run_on(e, &job);
	engine_destroy(e);
	*error = job.error;
	*code = job.code;
	if (rc == 0)
		exec_result_free(&job.result);
	return rc;
}

static char *in_bucket(const struct gg_name *n)
{
	return xasprintf("%s/%.2s/%s", bucket, n->s + 1, n->s);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void put_file(const char *path, const char *text)
{
	char *d = xstrdup(path);
	*strrchr(d, '/') = 0;
	CHECK(mkdir_p(d, 0700) == 0);
	free(d);
	CHECK(write_file_atomic(path, text, strlen(text), 0644) == 0);
}

/* Whether the fake worker has had n requests within 5 s. */
static bool wait_requests(int n)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&srv.mu);
		bool got = srv.requests >= n;
		pthread_mutex_unlock(&srv.mu);
		if (got)
			return true;
		usleep(10000);
	}
	return false;
}

/* Removes n from the local store (so that it is fetched again). */
static int drop(const struct gg_name *n)
{
	char *p = store_object_path(store, n);
	int r = unlink(p);
	free(p);
	return r;
}

static double since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e9;
}

/* ---- settings ---- */

static void check_env(const char *var, const char *value, const char *needle)
{
	struct engine *e = NULL;
	char *spec = xasprintf("http=%s", url);
	setenv(var, value, 1);
	CHECK_ERR(engine_create(spec, 1, &cfg, &e), needle);
	unsetenv(var);
	free(spec);
}

static void test_config(void)
{
	struct engine *e = NULL;
	script(1, ok("x"));
	CHECK_ERR(engine_create("http", 1, &cfg, &e), "engine 'http' needs a URL");
	CHECK_ERR(engine_create("http=", 1, &cfg, &e), "engine 'http' needs a URL");
	CHECK_ERR(engine_create("http=ftp://127.0.0.1/x", 1, &cfg, &e),
	          "'ftp://127.0.0.1/x' is not an http:// or https:// URL");
	CHECK_ERR(engine_create("http=,", 1, &cfg, &e), "no URL in ','");
	check_env("GG_REMOTE_TIMEOUT", "soon", "GG_REMOTE_TIMEOUT=soon: expected a whole number");
	check_env("GG_REMOTE_TIMEOUT", "-1", "GG_REMOTE_TIMEOUT=-1: expected a whole number");
	check_env("GG_REMOTE_TIMEOUT", "99999999999999999999",
	          "GG_REMOTE_TIMEOUT=99999999999999999999: expected a whole number");
	check_env("GG_REMOTE_ATTEMPTS", "3x",
	          "GG_REMOTE_ATTEMPTS=3x: expected a whole number from 0 to 1000");
	check_env("GG_REMOTE_ATTEMPTS", "1001",
	          "GG_REMOTE_ATTEMPTS=1001: expected a whole number from 0 to 1000");
	check_env("GG_HTTP_MAX_INPUT", "12Q",
	          "GG_HTTP_MAX_INPUT=12Q: expected a size from 0 to 1T");
	check_env("GG_HTTP_MAX_INPUT", "1025G", "GG_HTTP_MAX_INPUT=1025G: expected a size");
	check_env("GG_WORKER_SILENCE", "86401",
	          "GG_WORKER_SILENCE=86401: expected a whole number from 0 to 86400");
	check_env("GG_WORKER_SILENCE", "1s",
	          "GG_WORKER_SILENCE=1s: expected a whole number from 0 to 86400");
	check_env("GG_REMOTE_THREADS", "0",
	          "GG_REMOTE_THREADS=0: expected a whole number from 1 to 256");
	check_env("GG_REMOTE_THREADS", "257",
	          "GG_REMOTE_THREADS=257: expected a whole number from 1 to 256");
	check_env("GG_RETRY_AFTER_MAX", "3601",
	          "GG_RETRY_AFTER_MAX=3601: expected a whole number from 0 to 3600");
	check_env("GG_RETRY_AFTER_MAX", "1m",
	          "GG_RETRY_AFTER_MAX=1m: expected a whole number from 0 to 3600");
	check_env("GG_CONNECT_TIMEOUT", "0",
	          "GG_CONNECT_TIMEOUT=0: expected a whole number from 1 to 600");
	check_env("GG_CONNECT_TIMEOUT", "601",
	          "GG_CONNECT_TIMEOUT=601: expected a whole number from 1 to 600");
	check_env("GG_WORKER_TOKEN", "short", "GG_WORKER_TOKEN: a token must be 16 to 256");
	char *nope = xasprintf("%s/no-such-ca.pem", dir);
	check_env("GG_WORKER_CA", nope, "GG_WORKER_CA=");
	CHECK(strstr(gg_last_error(), "no-such-ca.pem") && strstr(gg_last_error(), "No such file"));
	free(nope);
	char *key = xasprintf("%s/key.pem", dir);
	put_file(key, "not a key\n");
	check_env("GG_WORKER_KEY", key, "GG_WORKER_KEY without GG_WORKER_CERT");
	free(key);
	/* no storage */
	struct engine_config nocfg = cfg;
	nocfg.storage_uri = NULL;
	unsetenv("GG_STORAGE");
	char *spec = xasprintf("http=%s", url);
	CHECK_ERR(engine_create(spec, 1, &nocfg, &e), "needs a storage back-end");
	free(spec);
	CHECK(srv.requests == 0);
}

/* ---- the request and good replies ---- */

static void test_request_and_success(void)
{
	setenv("GG_WORKER_TOKEN", "tok-0123456789abcdef", 1);
	script(1, success(&tname, "o", &world, "world\n"));
	struct engine *e = http_engine();
	struct engine_job job;
	CHECK(run_on(e, &job) == 0);
	CHECK(job.result.outcome == EXEC_OK);
	CHECK(job.result.outputs.n == 1);
	CHECK_STR(job.result.outputs.v[0].path, "o");
	CHECK(gg_name_eq(&job.result.outputs.v[0].value, &world));
	CHECK(store_has(store, &world) == 1); /* stored, its bytes checked */
	job_free(&job);
	engine_destroy(e);
	unsetenv("GG_WORKER_TOKEN");

	/* what the worker got: the inputs in storage first, then the request */
	char *p = in_bucket(&input);
	CHECK(exists(p));
	free(p);
	CHECK(srv.requests == 1);
	CHECK(srv.last && !strncmp(srv.last, "POST /execute HTTP/1.1\r\n", 24));
	CHECK(strcasestr(srv.last, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(srv.last, "\r\nAuthorization: Bearer tok-0123456789abcdef\r\n") != NULL);
	CHECK(strstr(srv.last, "\r\nX-GG-Heartbeat: 7\r\n") != NULL); /* 30 s / 4 */
	struct wire_request rq;
	const char *body = srv.last + srv.last_head;
	CHECK(wire_request_parse(body, strlen(body), &rq) == 0);
	CHECK(gg_name_eq(&rq.thunk, &tname));
	CHECK(rq.has_encoding);
	struct thunk sent;
	struct gg_name sent_name;
	thunk_init(&sent);
	CHECK(thunk_parse(rq.encoding.data, rq.encoding.len, &sent) == 0);
	CHECK(thunk_name(&sent, &sent_name, NULL) == 0 && gg_name_eq(&sent_name, &tname));
	thunk_free(&sent);
	CHECK_STR(rq.storage, cfg.storage_uri);
	CHECK(rq.inline_limit == WIRE_INLINE_TOTAL);
	wire_request_free(&rq);

	/* no token: no Authorization header */
	CHECK(drop(&world) == 0);
	char *err;
	enum gg_code code;
	CHECK(run_job(&err, &code) == 0);
	CHECK(strstr(srv.last, "Authorization") == NULL);

	/* an output uploaded by the worker is downloaded */
	CHECK(drop(&world) == 0);
	char *wp = in_bucket(&world);
	put_file(wp, "world\n");
	script(1, success(&tname, "o", &world, NULL));
	CHECK(run_job(&err, &code) == 0);
	CHECK(err == NULL);
	CHECK(store_has(store, &world) == 1);
	CHECK(drop(&world) == 0);
	remove(wp);
	free(wp);
}

/* ---- outputs that are not what they claim ---- */

static void test_lying_outputs(void)
{
	char *err;
	enum gg_code code;
	/* inline bytes that are not the named output */
	script(1, success(&tname, "o", &world, "WORLD\n"));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "http engine: worker") && strstr(err, "sent output 'o' as ") &&
	      strstr(err, world.s) && strstr(err, "but its bytes are"));
	free(err);
	CHECK(store_has(store, &world) != 1);

	/* an uploaded output whose bytes in storage are not it */
	char *wp = in_bucket(&world);
	put_file(wp, "WORLD\n");
	script(1, success(&tname, "o", &world, NULL));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "cannot download output ") && strstr(err, world.s) &&
	      strstr(err, "is corrupt"));
	free(err);
	CHECK(store_has(store, &world) != 1);
	remove(wp);
	put_file(wp, "world"); /* cut short */
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "cannot download output ") && strstr(err, "is truncated"));
	free(err);
	CHECK(store_has(store, &world) != 1);
	remove(wp);

	/* one that is not there at all */
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "cannot download output ") && strstr(err, "not there"));
	free(err);
	CHECK(store_has(store, &world) != 1);
	free(wp);

	/* another thunk's reply, the wrong outputs */
	struct gg_name other = world;
	other.s[0] = 'T';
	script(1, success(&other, "o", &world, "world\n"));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "answered for thunk") && strstr(err, tname.s));
	free(err);
	script(1, success(&tname, "p", &world, "world\n"));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "listed output 'p' where the thunk declares 'o'"));
	free(err);
	CHECK(store_has(store, &world) != 1);
}

/* ---- other replies ---- */

static void test_replies(void)
{
	char *err;
	enum gg_code code;
	/* a program failure: no error, the failure with its status and stderr */
	script(1, failure());
	struct engine *e = http_engine();
	struct engine_job job;
	CHECK(run_on(e, &job) == 0);
	CHECK(job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK(job.result.why && strstr(job.result.why, "exited with status 3 (on http worker w1)"));
	CHECK(job.result.has_status && WIFEXITED(job.result.wait_status) &&
	      WEXITSTATUS(job.result.wait_status) == 3);
	CHECK_STR(job.result.stderr_tail, "oops\n");
	job_free(&job);

	/* an infrastructure error listing the input missing: uploaded again */
	char *ip = in_bucket(&input);
	CHECK(exists(ip));
	CHECK(remove(ip) == 0);
	script(2, infra_missing(&input), ok("x"));
	CHECK(run_on(e, &job) == -1);
	CHECK(job.error && strstr(job.error, "http worker ") &&
	      strstr(job.error, "inputs missing from storage"));
	free(job.error);
	CHECK(!exists(ip));
	CHECK(run_on(e, &job) == -1);
	free(job.error);
	CHECK(exists(ip)); /* forgotten as known, put back */
	free(ip);
	engine_destroy(e);

	/* malformed: no wire response, a truncated one */
	script(1, ok("<html>hello</html>"));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "http engine: a bad reply from http://127.0.0.1:") &&
	      strstr(err, "wire response"));
	free(err);
	char *good = success(&tname, "o", &world, "world\n");
	char *body = strstr(good, "\r\n\r\n") + 4;
	body[strlen(body) / 2] = 0;
	script(1, ok(body));
	free(good);
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "a bad reply from"));
	free(err);
	CHECK(srv.requests == 1);

	/* a body cut short of its Content-Length: retried, then failed */
	setenv("GG_REMOTE_ATTEMPTS", "2", 1);
	script(1, xstrdup("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"v\":1,"));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "POST http://127.0.0.1:") && strstr(err, "(after 2 attempts)"));
	free(err);
	CHECK(srv.requests == 2);

	/* closed without an answer: retried GG_REMOTE_ATTEMPTS times */
	setenv("GG_REMOTE_ATTEMPTS", "3", 1);
	script(1, xstrdup(CLOSE));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "(after 3 attempts)"));
	CHECK(code == 0);
	free(err);
	CHECK(srv.requests == 3);
	/* ... and a success on the last one is a success */
	script(3, xstrdup(CLOSE), xstrdup(CLOSE), success(&tname, "o", &world, "world\n"));
	CHECK(run_job(&err, &code) == 0);
	CHECK(srv.requests == 3);
	CHECK(drop(&world) == 0);

	/* wrong token: denied, not retried */
	script(1, http("HTTP/1.1 401 Unauthorized\r\n", "bad token", 9));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 401: bad token") && strstr(err, "check GG_WORKER_TOKEN"));
	CHECK(code == GG_EDENIED);
	free(err);
	CHECK(srv.requests == 1);
	script(1, http("HTTP/1.1 404 Not Found\r\n", "", 0));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 404") && strstr(err, "no such endpoint"));
	CHECK(code == GG_ENOTFOUND);
	free(err);
	CHECK(srv.requests == 1);

	/* oversized: refused at WIRE_MAX_RESPONSE, not retried */
	size_t big = WIRE_MAX_RESPONSE + 1;
	char *huge = xmalloc(big);
	memset(huge, ' ', big);
	script(1, http("HTTP/1.1 200 OK\r\n", huge, big));
	free(huge);
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "the reply is larger than 16777216 bytes"));
	free(err);
	CHECK(srv.requests == 1);
	unsetenv("GG_REMOTE_ATTEMPTS");
}

/* ---- busy workers: Retry-After ---- */

static void test_retry_after(void)
{
	char *err;
	enum gg_code code;
	setenv("GG_REMOTE_ATTEMPTS", "2", 1);
	script(2, http("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n", "busy", 4),
	       success(&tname, "o", &world, "world\n"));
	CHECK(run_job(&err, &code) == 0);
	CHECK(srv.requests == 2);
	CHECK(srv.at[1] - srv.at[0] >= 950000000ull); /* not the 100 ms backoff */
	CHECK(drop(&world) == 0);
	script(2, http("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n", "", 0),
	       success(&tname, "o", &world, "world\n"));
	CHECK(run_job(&err, &code) == 0);
	CHECK(srv.requests == 2);
	CHECK(srv.at[1] - srv.at[0] >= 950000000ull);
	CHECK(drop(&world) == 0);
	/* still busy on the last attempt: the status and body said */
	script(1, http("HTTP/1.1 503 Service Unavailable\r\n", "full", 4));
	CHECK(run_job(&err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 503: full") && strstr(err, "(after 2 attempts)"));
	free(err);
	unsetenv("GG_REMOTE_ATTEMPTS");
}

/* ---- timeouts ---- */

static void test_timeouts(void)
{
	/* GG_REMOTE_TIMEOUT is seconds up to a year: more, in milliseconds,
	 * would wrap (this one to a 1 s limit for every request) */
	check_env("GG_REMOTE_TIMEOUT", "2305843009213693893",
	          "GG_REMOTE_TIMEOUT=2305843009213693893: expected a whole number from 0 to "
	          "31536000");
	check_env("GG_REMOTE_TIMEOUT", "31536001",
	          "GG_REMOTE_TIMEOUT=31536001: expected a whole number from 0 to 31536000");
	setenv("GG_REMOTE_TIMEOUT", "31536000", 1);
	struct engine *e = http_engine();
	CHECK(e != NULL);
	if (e)
		engine_destroy(e);
	unsetenv("GG_REMOTE_TIMEOUT");

	/* a thunk's own timeout too long to add the minute of grace to is no
	 * limit, not a wrapped one (here 1 ms) */
	struct thunk t2;
	struct gg_name n2;
	struct buf b = BUF_INIT;
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\nin x %s 4 prog\nout 1 o\n"
	                      "timeout 18446744073709491617\n",
	                      input.s);
	CHECK(thunk_parse(enc, strlen(enc), &t2) == 0);
	CHECK(thunk_name(&t2, &n2, &b) == 0);
	buf_free(&b);
	free(enc);
	char *reply = success(&n2, "o", &world, "world\n");
	char *slow = xasprintf("%s%s", SLOW, reply);
	free(reply);
	script(1, slow);
	e = http_engine();
	struct engine_job job = {.name = n2, .thunk = &t2};
	ef_submit(e, &job);
	CHECK(ef_wait(20000));
	CHECK(job.rc == 0);
	if (job.rc < 0)
		fprintf(stderr, "the job failed: %s\n", job.error);
	job_free(&job);
	engine_destroy(e);
	thunk_free(&t2);
	drop(&world);
}

/* ---- hung workers and cancel ---- */

static void test_silence(void)
{
	setenv("GG_WORKER_SILENCE", "1", 1);
	setenv("GG_REMOTE_ATTEMPTS", "1", 1);
	/* a heartbeat, then nothing: given up after the limit */
	script(1, xstrdup(BEAT));
	struct engine *e = http_engine();
	struct engine_job job;
	uint64_t t0 = now_ns();
	CHECK(run_on(e, &job) == -1);
	double s = since(t0);
	CHECK(s >= 0.9 && s < 10);
	CHECK(job.error && strstr(job.error, "the worker stopped answering: no heartbeat for 1 s"));
	free(job.error);
	CHECK(strstr(srv.last, "\r\nX-GG-Heartbeat: 1\r\n") != NULL);
	/* the engine then declines thunks */
	char *why = NULL;
	CHECK(e->ops->can_execute(e, &thunk, &why) == GG_EREMOTE);
	CHECK(why && strstr(why, "stopped answering (silent for 1 s)"));
	free(why);
	engine_destroy(e);

	/* silent from the start, and a probe unanswered: given up too */
	script(1, xstrdup(STALL));
	e = http_engine();
	t0 = now_ns();
	CHECK(run_on(e, &job) == -1);
	s = since(t0);
	CHECK(s >= 0.9 && s < 10);
	CHECK(job.error && strstr(job.error, "the worker stopped answering: no answer for 1 s") &&
	      strstr(job.error, "nor to a probe"));
	free(job.error);
	engine_destroy(e);
	unsetenv("GG_REMOTE_ATTEMPTS");

	/* without a limit, a stalled call waits until cancelled */
	setenv("GG_WORKER_SILENCE", "0", 1);
	script(1, xstrdup(STALL));
	e = http_engine();
	submit(e, &job);
	CHECK(wait_requests(1));
	CHECK(!ef_wait(300));
	t0 = now_ns();
	e->ops->cancel(e, &job);
	CHECK(ef_wait(3000));
	CHECK(since(t0) < 2);
	CHECK(job.rc == -1 && job.code == GG_ECANCELLED);
	CHECK(job.error && strstr(job.error, "cancelled"));
	free(job.error);
	engine_destroy(e);
	unsetenv("GG_WORKER_SILENCE");
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ef_setup("gg-test-http");
	ep_start(answer);
	url = xasprintf("http://127.0.0.1:%d/execute", ep.port);
	static const char *const unset[] = {"GG_REMOTE_TIMEOUT",
	                                    "GG_REMOTE_ATTEMPTS",
	                                    "GG_HTTP_MAX_INPUT",
	                                    "GG_WORKER_SILENCE",
	                                    "GG_REMOTE_THREADS",
	                                    "GG_WORKER_TOKEN",
	                                    "GG_WORKER_TOKEN_FILE",
	                                    "GG_WORKER_CA",
	                                    "GG_WORKER_CERT",
	                                    "GG_WORKER_KEY",
	                                    "GG_RETRY_AFTER_MAX",
	                                    "GG_CONNECT_TIMEOUT",
	                                    "http_proxy",
	                                    "HTTP_PROXY",
	                                    "all_proxy",
	                                    "ALL_PROXY"};
	for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++)
		unsetenv(unset[i]);

	gg_name_of_buf("world\n", 6, 'V', &world);
}

static void teardown(void)
{
	ep_stop();
	script(0);
	ef_teardown();
	free(url);
}

TEST_MAIN(setup, test_config, test_request_and_success, test_lying_outputs, test_replies,
          test_retry_after, test_timeouts, test_silence, teardown)
