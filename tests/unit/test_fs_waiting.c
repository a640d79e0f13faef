/**
 * @file test_fs_waiting.c
 * Specification of fs/waiting (requests that wait for someone else,
 * answered off FUSE's threads): a handler runs on a thread of its own with
 * its argument and the caller's CAP_FSETID note; threads start only when
 * needed (a free one takes the next request) and never more than
 * GGFS_WAITING_THREADS, the others wait their turn and each runs once;
 * waiting_stop runs what still waits, then later requests run on the
 * caller's thread; a request interrupted while it waits its turn (or
 * before it was handed over) is answered by its handler at once, and one
 * taken is no longer interruptible there. The handlers here wait
 * on a gate the test opens; the requests are fs_fakes.h's. ident.c's
 * notes are faked below.
 */
#define FS_FAKES_REPLIES
#include "fs_fakes.h"

/* ---- a fake of fs/ident.c's note of the kernel's flags ---- */

static _Thread_local bool noted_kills;

void ident_note_kills(bool kills)
{
	noted_kills = kills;
}

bool ident_noted_kills(void)
{
	return noted_kills;
}

/* ---- handlers that wait on a gate ---- */

#define NREQ (GGFS_WAITING_THREADS + 3)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int running, ran[NREQ];
static pthread_t main_thread, ran_on[NREQ];
static bool ran_kills[NREQ], ran_interrupted[NREQ];
static struct fuse_req reqs[NREQ];

struct arg {
	int i;
};

static void handler(struct ggfs *f, fuse_req_t req, void *p, bool interrupted)
{
	(void)f;
	struct arg *a = p;
	pthread_mutex_lock(&mu);
	CHECK(req == &reqs[a->i]);
	ran[a->i]++;
	ran_on[a->i] = pthread_self();
	ran_kills[a->i] = ident_noted_kills();
	ran_interrupted[a->i] = interrupted;
	running++;
	pthread_cond_broadcast(&cv);
	while (!gate_open && !interrupted) /* answered at once, EINTR */
		pthread_cond_wait(&cv, &mu);
	running--;
	pthread_mutex_unlock(&mu);
	free(a);
}

static void submit(struct ggfs *f, int i)
{
	struct arg *a = xmalloc(sizeof *a);
	a->i = i;
	waiting_run(f, handler, &reqs[i], a);
}

/* Waits (at most 5 s) until `k` handlers have run or are running. */
static bool started(int k)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&mu);
	int n = 0;
	for (;;) {
		n = 0;
		for (int i = 0; i < NREQ; i++)
			n += ran[i];
		if (n >= k || pthread_cond_timedwait(&cv, &mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&mu);
	return n >= k;
}

static void reset(bool open)
{
	pthread_mutex_lock(&mu);
	gate_open = open;
	running = 0;
	memset(ran, 0, sizeof ran);
	memset(ran_kills, 0, sizeof ran_kills);
	memset(ran_interrupted, 0, sizeof ran_interrupted);
	memset(reqs, 0, sizeof reqs);
	pthread_mutex_unlock(&mu);
}

static void open_gate(void)
{
	pthread_mutex_lock(&mu);
	gate_open = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Does no handler run, and is nothing left for the threads to take? */
static bool is_idle(void *arg)
{
	struct ggfs *f = arg;
	pthread_mutex_lock(&f->waiting_mu);
	bool done = !f->waiting_len && !f->waiting_busy;
	pthread_mutex_unlock(&f->waiting_mu);
	return done;
}

/* Polls holds(arg) for at most 5 s. */
static bool within_5s(bool (*holds)(void *), void *arg)
{
	for (int i = 0; i < 5000; i++) {
		if (holds(arg))
			return true;
		usleep(1000);
	}
	return false;
}

/* Waits until no handler runs and the threads took nothing else. */
static bool idle(struct ggfs *f)
{
	return within_5s(is_idle, f);
}

/* A fresh mount's NREQ requests, whose handlers wait on the gate, shut;
 * once as many run as there may be threads. The request interrupted_first
 * (if not -1) was interrupted before it was handed over. */
static void submit_all_gated(struct ggfs *f, int interrupted_first)
{
	ggfs_init(f);
	reset(false);
	if (interrupted_first >= 0)
		reqs[interrupted_first].interrupted = true;
	for (int i = 0; i < NREQ; i++)
		submit(f, i);
	CHECK(started(GGFS_WAITING_THREADS));
}

/* A handler runs on a thread of its own, with its argument and the note
 * of the thread that read the request; the thread is started for it, and
 * the next request, once it is free, takes the same thread. */
static void test_runs_elsewhere(void)
{
	struct ggfs f;
	ggfs_init(&f);
	reset(true);
	CHECK(f.waiting_threads.n == 0); /* none before a request waits */
	ident_note_kills(true);
	submit(&f, 0);
	ident_note_kills(false);
	CHECK(started(1) && idle(&f));
	CHECK(!pthread_equal(ran_on[0], main_thread) && ran_kills[0]);
	submit(&f, 1);
	CHECK(started(2) && idle(&f));
	CHECK(pthread_equal(ran_on[1], ran_on[0]) && !ran_kills[1]);
	CHECK(f.waiting_threads.n == 1);
	waiting_stop(&f);
}

/* At most GGFS_WAITING_THREADS at once, each started when a request finds
 * no free one; the rest wait their turn, and each runs once. */
static void test_at_most_the_limit(void)
{
	struct ggfs f;
	submit_all_gated(&f, -1);
	pthread_mutex_lock(&f.waiting_mu);
	CHECK(f.waiting_threads.n == GGFS_WAITING_THREADS);
	CHECK(f.waiting_len == NREQ - GGFS_WAITING_THREADS);
	CHECK(f.waiting_busy == GGFS_WAITING_THREADS);
	pthread_mutex_unlock(&f.waiting_mu);
	pthread_mutex_lock(&mu);
	CHECK(running == GGFS_WAITING_THREADS);
	pthread_mutex_unlock(&mu);
	open_gate();
	CHECK(started(NREQ) && idle(&f));
	for (int i = 0; i < NREQ; i++)
		CHECK(ran[i] == 1 && !pthread_equal(ran_on[i], main_thread));
	CHECK(f.waiting_threads.n == GGFS_WAITING_THREADS);
	waiting_stop(&f);
}

static void *stopper(void *arg)
{
	waiting_stop(arg);
	return NULL;
}

/* waiting_stop runs what still waits (every request gets its answer),
 * then a later request runs on the caller's own thread. */
static void test_stop_runs_what_waits(void)
{
	struct ggfs f;
	submit_all_gated(&f, -1);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, stopper, &f) == 0);
	open_gate();
	pthread_join(t, NULL);
	for (int i = 0; i < NREQ; i++)
		CHECK(ran[i] == 1);
	CHECK(f.waiting_threads.n == 0 && f.waiting_len == 0);
	submit(&f, 0);
	CHECK(ran[0] == 2 && pthread_equal(ran_on[0], main_thread));
}

/* Waits (at most 5 s) until `k` handlers wait at the gate. */
/* Do *arg handlers wait at the gate? */
static bool k_at_gate(void *arg)
{
	pthread_mutex_lock(&mu);
	bool there = running == *(int *)arg;
	pthread_mutex_unlock(&mu);
	return there;
}

static bool at_gate(int k)
{
	return within_5s(k_at_gate, &k);
}

/* A request interrupted while it waits its turn is taken out of the queue
 * and its handler answers at once (EINTR), on the interrupt's thread, not
 * after the lease-breaks of those before it; so is one interrupted before
 * it was handed over, on the thread that hands it. The others, and those
 * taken already (no longer registered), are not interrupted. */
static void test_interrupted_while_waiting(void)
{
	struct ggfs f;
	int last = NREQ - 1, early = NREQ - 2;
	submit_all_gated(&f, early);
	CHECK(at_gate(GGFS_WAITING_THREADS));
	CHECK(ran[early] == 1 && ran_interrupted[early] &&
	      pthread_equal(ran_on[early], main_thread));
	pthread_mutex_lock(&replies_mu);
	fuse_interrupt_func_t intr = reqs[last].intr;
	void *data = reqs[last].intr_data;
	bool taken_unregistered = true;
	for (int i = 0; i < GGFS_WAITING_THREADS; i++)
		taken_unregistered &= reqs[i].intr == NULL;
	pthread_mutex_unlock(&replies_mu);
	CHECK(intr != NULL && taken_unregistered);
	if (intr)
		intr(&reqs[last], data); /* as libfuse, for FUSE_INTERRUPT */
	CHECK(ran[last] == 1 && ran_interrupted[last] && pthread_equal(ran_on[last], main_thread));
	pthread_mutex_lock(&f.waiting_mu);
	CHECK(f.waiting_len == NREQ - GGFS_WAITING_THREADS - 2);
	pthread_mutex_unlock(&f.waiting_mu);
	open_gate();
	CHECK(started(NREQ) && idle(&f));
	for (int i = 0; i < NREQ; i++)
		CHECK(ran[i] == 1 && ran_interrupted[i] == (i == last || i == early));
	waiting_stop(&f);
}

static void setup(void)
{
	main_thread = pthread_self();
}

TEST_MAIN(setup, test_runs_elsewhere, test_at_most_the_limit, test_stop_runs_what_waits,
          test_interrupted_while_waiting)
