/**
 * @file test_plumbing.c
 * Specification of the shared plumbing, one helper of each kind: starting
 * programs (core/process.h), copying between fds, the retry backoff and
 * ALLOC_GROW (core/util.h), a pool's threads and queue (core/workers.h). A capture with a deadline
 * or a stop kills a program that does not end (a script sleeping, one that closed its output first)
 * with the children it started, within the limit, and says which it was; one whose output cannot be
 * waited for (poll fails) is killed alike; every one is reaped. One that ends in time is read as
 * without them.
 */
#include "core/process.h"
#include "core/util.h"
#include "core/workers.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-plumbing-XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

static void teardown(void)
{
	remove_tree(dir);
	free(dir);
}

static void test_spawn_capture(void)
{
	char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	struct buf out = BUF_INIT;
	int st = -1;
	CHECK(spawn_capture(argv, NULL, &out, 1000, &st) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	CHECK_STR(out.data, "out\nerr\n");
	buf_free(&out);

	/* stdin is /dev/null, the environment is the one given */
	char *env[] = {"GG_PLUMBING=here", NULL};
	char *argv2[] = {"/bin/sh", "-c", "cat; echo $GG_PLUMBING", NULL};
	struct spawn_opts so = {.env = env};
	CHECK(spawn_capture(argv2, &so, &out, 1000, &st) == 0 && st == 0);
	CHECK_STR(out.data, "here\n");
	buf_free(&out);

	/* more output than allowed is an error, never a cut */
	char *big[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero", NULL};
	CHECK_ERR(spawn_capture(big, NULL, &out, 1000, &st),
	          "its output is larger than 1000 bytes");
	buf_free(&out);

	char *missing[] = {"/nonexistent/program", NULL};
	CHECK_ERR(spawn_capture(missing, NULL, &out, 1000, &st),
	          "cannot run /nonexistent/program: No such file");
	buf_free(&out);
	char *onpath[] = {"sh", "-c", "exit 0", NULL};
	struct spawn_opts search = {.search = true};
	CHECK(spawn_capture(onpath, &search, &out, 10, &st) == 0 && st == 0);
	buf_free(&out);
}

/* The pid a script wrote into dir/NAME, or -1. */
static pid_t pid_in(const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	pid_t pid = harness_pid_in(p);
	free(p);
	return pid;
}

/* Whether this process has no child left, running or a zombie: every
 * program a capture started has been reaped. */
static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static bool stop_third(void *arg)
{
	int *asked = arg;
	return ++*asked >= 3;
}

static void test_spawn_deadline(void)
{
	struct buf out = BUF_INIT;
	int st = -1;
	/* a script that waits for its child for ever: both killed at the limit */
	char *script =
	    xasprintf("sleep 1000 & echo $! >%s/child; echo $$ >%s/leader; wait", dir, dir);
	char *hangs[] = {"/bin/sh", "-c", script, NULL};
	struct spawn_opts so = {.deadline_ms = 1000}; /* the script writes its pids first */
	uint64_t t0 = now_ns();
	CHECK_ERR(spawn_capture(hangs, &so, &out, 1000, &st),
	          "/bin/sh did not end within 1 s: killed");
	double took = (double)(now_ns() - t0) / 1e9;
	CHECK(gg_last_code() == GG_ELIMIT);
	CHECK(took >= 0.99 && took < 4);
	pid_t leader = pid_in("leader"), child = pid_in("child");
	CHECK(leader > 0 && child > 0);
	CHECK(kill(leader, 0) < 0 && errno == ESRCH); /* reaped */
	CHECK(harness_process_ended(child, 3));
	buf_free(&out);
	free(script);

	/* one that closed its output first, then hangs */
	script = xasprintf("echo $$ >%s/leader; exec >/dev/null 2>&1; sleep 1000", dir);
	char *closes[] = {"/bin/sh", "-c", script, NULL};
	t0 = now_ns();
	CHECK_ERR(spawn_capture(closes, &so, &out, 1000, &st), "did not end within 1 s: killed");
	took = (double)(now_ns() - t0) / 1e9;
	CHECK(took >= 0.99 && took < 4);
	leader = pid_in("leader");
	CHECK(leader > 0 && kill(leader, 0) < 0 && errno == ESRCH);
	buf_free(&out);
	free(script);

	/* one that writes for ever */
	char *writes[] = {"yes", NULL};
	struct spawn_opts floods = {.search = true, .deadline_ms = 300};
	t0 = now_ns();
	CHECK_ERR(spawn_capture(writes, &floods, &out, 1000, &st), "yes did not end within 0.3 s");
	took = (double)(now_ns() - t0) / 1e9;
	CHECK(took >= 0.29 && took < 3);
	CHECK(no_children());
	buf_free(&out);

	/* stopped: cancelled, long before the deadline */
	int asked = 0;
	struct spawn_opts stop = {.stop = stop_third, .stop_arg = &asked, .deadline_ms = 20000};
	char *sleeps[] = {"sleep", "1000", NULL};
	stop.search = true;
	t0 = now_ns();
	CHECK_ERR(spawn_capture(sleeps, &stop, &out, 1000, &st), "sleep cancelled; killed");
	CHECK(gg_last_code() == GG_ECANCELLED);
	CHECK(asked == 3 && (double)(now_ns() - t0) / 1e9 < 3);
	CHECK(no_children());
	buf_free(&out);

	/* in time: read as without a deadline */
	char *quick[] = {"/bin/sh", "-c", "echo out; sleep 0.1; echo err >&2; exit 3", NULL};
	so.deadline_ms = 5000;
	so.stop = stop_third;
	asked = -1000;
	so.stop_arg = &asked;
	t0 = now_ns();
	CHECK(spawn_capture(quick, &so, &out, 1000, &st) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	CHECK_STR(out.data, "out\nerr\n");
	CHECK((double)(now_ns() - t0) / 1e9 < 3);
	buf_free(&out);
}

struct starve {
	char *pidfile; /* the script's child writes its pid there */
	pid_t child;
	struct rlimit was;
};

/* A stop that never stops: once the script's child is known, it takes this
 * process's open files limit down to none, so that the capture's next poll
 * fails (EINVAL: more fds asked about than the limit). */
static bool starve_poll(void *arg)
{
	struct starve *s = arg;
	if (s->child > 0)
		return false;
	s->child = harness_pid_in(s->pidfile);
	if (s->child > 0) {
		struct rlimit none = {0, s->was.rlim_max};
		setrlimit(RLIMIT_NOFILE, &none);
	}
	return false;
}

/* A capture whose poll fails kills and reaps the program and its group as
 * one cut short does (and fails, saying why). */
static void test_spawn_poll_error(void)
{
	struct starve s = {.pidfile = xasprintf("%s/child", dir)};
	CHECK(getrlimit(RLIMIT_NOFILE, &s.was) == 0);
	char *script = xasprintf("sleep 1000 & echo $! >%s; wait", s.pidfile);
	char *hangs[] = {"/bin/sh", "-c", script, NULL};
	struct spawn_opts so = {.deadline_ms = 20000, .stop = starve_poll, .stop_arg = &s};
	struct buf out = BUF_INIT;
	int st = -1;
	uint64_t t0 = now_ns();
	int r = spawn_capture(hangs, &so, &out, 1000, &st);
	setrlimit(RLIMIT_NOFILE, &s.was);
	CHECK_ERR(r, "/bin/sh: waiting for its output: Invalid argument");
	CHECK((double)(now_ns() - t0) / 1e9 < 10);
	CHECK(s.child > 0 && harness_process_ended(s.child, 3)); /* the group was killed */
	CHECK(no_children());                                    /* the leader was reaped */
	buf_free(&out);
	free(script);
	free(s.pidfile);
}

static int in_child(void *arg)
{
	/* runs in the child before exec: what it does is seen by the program */
	return setenv("GG_PLUMBING_HOOK", arg, 1);
}

static int refuse(void *arg)
{
	(void)arg;
	return -1;
}

static void test_spawn_child_hook(void)
{
	char *argv[] = {"/bin/sh", "-c", "echo \"$GG_PLUMBING_HOOK\"", NULL};
	struct spawn_opts so = {.child = in_child, .child_arg = "hooked"};
	struct buf out = BUF_INIT;
	int st;
	CHECK(spawn_capture(argv, &so, &out, 100, &st) == 0 && st == 0);
	CHECK_STR(out.data, "hooked\n");
	buf_free(&out);
	so.child = refuse;
	CHECK(spawn_capture(argv, &so, &out, 100, &st) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127 && out.len == 0);
	buf_free(&out);
	char *missing[] = {"/nonexistent/program", NULL};
	so.child = in_child;
	CHECK(spawn_capture(missing, &so, &out, 1000, &st) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
	CHECK(strstr(out.data, "cannot run /nonexistent/program") != NULL);
	buf_free(&out);
}

static void test_copy_fd(void)
{
	char *src = xasprintf("%s/src", dir), *dst = xasprintf("%s/dst", dir);
	struct buf data = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_addc(&data, (char)('a' + i % 26));
	CHECK(write_file_atomic(src, data.data, data.len, 0644) == 0);
	/* file to file (in the kernel) */
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(copy_fd(in, out, data.len) == 0);
	close(in), close(out);
	struct buf got = BUF_INIT;
	CHECK(read_file(dst, &got, 1 << 20) == 0 && got.len == data.len &&
	      !memcmp(got.data, data.data, data.len));
	buf_free(&got);
	/* exactly len bytes, from the current offsets */
	in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_TRUNC);
	CHECK(lseek(in, 26, SEEK_SET) == 26);
	CHECK(copy_fd(in, out, 5) == 0);
	close(in), close(out);
	CHECK(read_file(dst, &got, 100) == 0 && !strcmp(got.data, "abcde"));
	buf_free(&got);
	/* into a pipe (read and write) */
	int p[2];
	CHECK(pipe(p) == 0);
	in = open(src, O_RDONLY);
	CHECK(copy_fd(in, p[1], 10) == 0);
	close(p[1]);
	CHECK(read_fd_all(p[0], &got, 100) == 0 && !strcmp(got.data, "abcdefghij"));
	buf_free(&got);
	close(p[0]);
	/* a source shorter than said is an error naming it */
	lseek(in, 0, SEEK_SET);
	out = open(dst, O_WRONLY | O_TRUNC);
	CHECK_ERR(copy_fd(in, out, data.len + 7), "ended after 100000 of 100007 bytes");
	CHECK(gg_last_code() == GG_ECORRUPT);
	close(in), close(out);
	buf_free(&data);
	free(src), free(dst);
}

static void test_backoff(void)
{
	/* equal jitter: between half and all of base doubled, capped */
	for (int i = 0; i < 200; i++) {
		uint64_t a1 = backoff_ns(1, 100, 10000), a3 = backoff_ns(3, 100, 10000);
		uint64_t cap = backoff_ns(30, 100, 10000);
		CHECK(a1 >= 50000000ull && a1 <= 100000000ull);
		CHECK(a3 >= 200000000ull && a3 <= 400000000ull);
		CHECK(cap >= 5000000000ull && cap <= 10000000000ull);
	}
	/* and it varies */
	uint64_t first = backoff_ns(5, 100, 10000);
	bool varied = false;
	for (int i = 0; i < 50 && !varied; i++)
		varied = backoff_ns(5, 100, 10000) != first;
	CHECK(varied);
}

static void test_alloc_grow(void)
{
	int *v = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < 1000; i++) {
		ALLOC_GROW(v, n + 1, cap);
		CHECK(cap >= n + 1);
		v[n++] = i;
	}
	bool ok = true;
	for (int i = 0; i < 1000; i++)
		ok &= v[i] == i;
	CHECK(ok);
	/* room for many at once */
	ALLOC_GROW(v, 5000, cap);
	CHECK(cap >= 5000);
	v[4999] = 1;
	free(v);
}

/* A pool of the shape workers.h gives: jobs pushed while it runs and just
 * before it stops are all done, each once; stopping joins every thread. */
struct pool_job {
	struct pool_job *next;
	int id;
};
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pool_job *head, *tail;
	bool stopping;
	int done[200]; /* times each job was done */
	int running;   /* threads inside pool_main */
};

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	p->running++;
	for (;;) {
		struct pool_job *job;
		WORKERS_NEXT(p->head, p->tail, next, job, p->stopping, &p->cv, &p->mu);
		if (!job)
			break;
		pthread_mutex_unlock(&p->mu);
		usleep(100);
		pthread_mutex_lock(&p->mu);
		p->done[job->id]++;
	}
	p->running--;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void test_workers(void)
{
	/* the FIFO alone: first in, first out; empty gives NULL */
	struct pool_job a = {.id = 1}, b = {.id = 2}, *head = NULL, *tail = NULL, *out;
	FIFO_PUSH(head, tail, &a, next);
	FIFO_PUSH(head, tail, &b, next);
	FIFO_POP(head, tail, next, out);
	CHECK(out == &a);
	FIFO_PUSH(head, tail, &a, next); /* behind b */
	FIFO_POP(head, tail, next, out);
	CHECK(out == &b);
	FIFO_POP(head, tail, next, out);
	CHECK(out == &a && !head && !tail);
	FIFO_POP(head, tail, next, out);
	CHECK(out == NULL);

	struct pool p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct pool_job jobs[200];
	struct workers w = {0};
	for (int i = 0; i < 3; i++)
		CHECK(workers_add(&w, pool_main, &p) == 0);
	CHECK(w.n == 3);
	for (int i = 0; i < 200; i++) {
		jobs[i].id = i;
		pthread_mutex_lock(&p.mu);
		FIFO_PUSH(p.head, p.tail, &jobs[i], next);
		pthread_cond_signal(&p.cv);
		pthread_mutex_unlock(&p.mu);
	}
	workers_stop(&w, &p.mu, &p.cv, &p.stopping);
	CHECK(p.stopping && w.n == 0 && !w.v);
	CHECK(p.running == 0); /* every thread had returned */
	bool each_once = true;
	for (int i = 0; i < 200; i++)
		each_once &= p.done[i] == 1;
	CHECK(each_once);
	CHECK(!p.head && !p.tail);
	/* stopping a pool that never started is harmless */
	workers_stop(&w, &p.mu, &p.cv, &p.stopping);
	CHECK(w.n == 0);
}

TEST_MAIN(setup, test_spawn_capture, test_spawn_deadline, test_spawn_poll_error,
          test_spawn_child_hook, test_copy_fd, test_backoff, test_alloc_grow, test_workers,
          teardown)
