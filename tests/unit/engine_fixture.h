/**
 * @file engine_fixture.h
 * What the tests of the remote engines (test_engine_http, test_engine_lambda)
 * share: a mkdtemp directory `dir` with a store, a file:// bucket and one
 * thunk `tname` (prog reading the value "hello\n", `input`, writing o);
 * a fake endpoint in a thread on 127.0.0.1 (`ep.port`) that reads each
 * request whole (head and Content-Length body) and hands it to the test's
 * answer function; and one job run through an engine, waited for and
 * cancelled when it takes too long.
 */
#ifndef GG_ENGINE_FIXTURE_H
#define GG_ENGINE_FIXTURE_H

#include "backend/engine/engine.h"
#include "core/thunk.h"
#include "harness.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char *dir, *bucket;
static struct store *store;
static struct engine_config cfg;
static struct thunk thunk;
static struct gg_name tname, input; /* input: "hello\n", the thunk's prog */

/* ---- the fake endpoint: one connection at a time ---- */

/* Answers one request on c: req is its text (NUL-terminated, the body from
 * req->data + head; the answer function takes it over). */
typedef void ep_answer_fn(int c, struct buf *req, size_t head);

static struct {
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	ep_answer_fn *answer;
} ep;

/* Reads what comes next on c onto b (kept NUL-terminated); false at the end. */
static inline bool ep_read_more(int c, struct buf *b)
{
	char chunk[65536];
	ssize_t n = read(c, chunk, sizeof chunk);
	if (n <= 0)
		return false;
	buf_add(b, chunk, (size_t)n);
	buf_add(b, "", 1);
	b->len--;
	return true;
}

/* One whole request (head, then as much body as Content-Length says) onto b,
 * NUL-terminated, and the head's length; false if the peer hung up first. */
static inline bool ep_read_request(int c, struct buf *b, size_t *head)
{
	char *end = NULL;
	while (!end) {
		if (!ep_read_more(c, b))
			return false;
		end = strstr(b->data, "\r\n\r\n");
	}
	size_t h = (size_t)(end + 4 - b->data), body = 0;
	const char *cl = strcasestr(b->data, "\r\ncontent-length:");
	if (cl && cl < end)
		body = strtoul(cl + 17, NULL, 10);
	while (b->len < h + body)
		if (!ep_read_more(c, b))
			return false;
	*head = h;
	return true;
}

static inline void *ep_serve(void *p)
{
	(void)p;
	while (!atomic_load(&ep.stop)) {
		struct pollfd pf = {.fd = ep.fd, .events = POLLIN};
		if (poll(&pf, 1, 20) <= 0)
			continue;
		int c = accept(ep.fd, NULL, NULL);
		if (c < 0)
			continue;
		struct buf b = BUF_INIT;
		size_t head;
		if (ep_read_request(c, &b, &head))
			ep.answer(c, &b, head);
		else
			buf_free(&b);
		close(c);
	}
	return NULL;
}

static inline void ep_start(ep_answer_fn *answer)
{
	ep.answer = answer;
	ep.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(ep.fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(ep.fd, 16) == 0);
	CHECK(getsockname(ep.fd, (struct sockaddr *)&a, &al) == 0);
	ep.port = ntohs(a.sin_port);
	CHECK(pthread_create(&ep.thread, NULL, ep_serve, NULL) == 0);
}

static inline void ep_stop(void)
{
	atomic_store(&ep.stop, true);
	pthread_join(ep.thread, NULL);
	close(ep.fd);
}

/* ---- the store, the bucket and the thunk ---- */

/* dir (named after prefix), its store with input, the bucket, the thunk. */
static inline void ef_setup(const char *prefix)
{
	char *tmpl = xasprintf("/tmp/%s-XXXXXX", prefix);
	CHECK(mkdtemp(tmpl) != NULL);
	dir = tmpl;
	char *root = NULL, *sdir = xasprintf("%s/store", dir);
	CHECK(mkdir_p(sdir, 0700) == 0);
	CHECK(store_init(sdir, &root) == 0 && store_open(root, &store) == 0);
	CHECK(store_put_buf(store, "hello\n", 6, 'V', &input) == 0);
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\nin x %s 4 prog\nout 1 o\n"
	                      "timeout 0\n",
	                      input.s);
	CHECK(thunk_parse(enc, strlen(enc), &thunk) == 0);
	struct buf b = BUF_INIT;
	CHECK(thunk_name(&thunk, &tname, &b) == 0);
	buf_free(&b);
	free(enc);
	cfg.store = store;
	bucket = xasprintf("%s/bucket", dir);
	CHECK(mkdir_p(bucket, 0700) == 0);
	cfg.storage_uri = xasprintf("file://%s", bucket);
	free(root);
	free(sdir);
}

static inline void ef_teardown(void)
{
	thunk_free(&thunk);
	store_close(store);
	free((char *)cfg.storage_uri);
	CHECK(remove_tree(dir) == 0);
	free(dir);
	free(bucket);
}

/* ---- one job through an engine ---- */

static pthread_mutex_t ef_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ef_cv = PTHREAD_COND_INITIALIZER;
static bool ef_finished;

static inline void ef_on_done(struct engine_job *job)
{
	(void)job;
	pthread_mutex_lock(&ef_mu);
	ef_finished = true;
	pthread_cond_signal(&ef_cv);
	pthread_mutex_unlock(&ef_mu);
}

/* Whether the job submitted last has finished within ms. */
static inline bool ef_wait(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000)
		ts.tv_sec++, ts.tv_nsec -= 1000000000;
	pthread_mutex_lock(&ef_mu);
	while (!ef_finished)
		if (pthread_cond_timedwait(&ef_cv, &ef_mu, &ts) != 0)
			break;
	bool f = ef_finished;
	pthread_mutex_unlock(&ef_mu);
	return f;
}

/* Submits job (its name and thunk set by the caller) to e. */
static inline void ef_submit(struct engine *e, struct engine_job *job)
{
	job->engine = e;
	job->done = ef_on_done;
	pthread_mutex_lock(&ef_mu);
	ef_finished = false;
	pthread_mutex_unlock(&ef_mu);
	CHECK(e->ops->submit(e, job) == 0);
}

/* Runs job on e (cancelled after 20 s); its rc (error, code and result in job). */
static inline int ef_run(struct engine *e, struct engine_job *job)
{
	ef_submit(e, job);
	if (!ef_wait(20000)) {
		e->ops->cancel(e, job);
		CHECK(ef_wait(10000));
	}
	return job->rc;
}

#endif
