/**
 * @file test_engine_local.c
 * Specification of the local engine (backend/engine/engine_local.c) through
 * its executor table, as the scheduler drives it: its limit (0: the CPUs),
 * never more jobs at once than that and as many as that, jobs taken in the
 * order submitted (also across the queue's growth), cancel skipping a
 * queued job and stopping a running one, infrastructure errors with their
 * code; and with real sandboxed runs of /bin/sh thunks: a failing thunk's
 * cause, exit status or signal and stderr tail (its last 2 KiB), a timeout
 * from the engine's settings, cancel killing the program, and thunks whose
 * outputs leave their directory (symbolic links out, a directory replaced
 * by a link, a write to a host path) failing.
 */
#include "backend/engine/engine.h"
#include "core/sandbox.h"
#include "core/thunk_build.h"
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static struct store *st;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ndone;      /* jobs done'd; protected by mu */
static int order[300]; /* indexes of jobs in the order they were executed */
static int nordered;   /* protected by mu */
static atomic_int running, most, executions, released;

struct tjob {
	struct engine_job job;
	struct thunk t;
	int index;
};

static void job_done(struct engine_job *job)
{
	pthread_mutex_lock(&mu);
	ndone++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits (at most 10 s) until n jobs are done; whether they are. */
static bool wait_done(int n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&mu);
	while (ndone < n && pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	bool ok = ndone >= n;
	pthread_mutex_unlock(&mu);
	return ok;
}

/* Waits (at most 10 s) until `running` is n. */
static bool wait_running(int n)
{
	for (int i = 0; i < 10000 && atomic_load(&running) != n; i++)
		usleep(1000);
	return atomic_load(&running) == n;
}

static void reset(void)
{
	pthread_mutex_lock(&mu);
	ndone = nordered = 0;
	pthread_mutex_unlock(&mu);
	atomic_store(&running, 0);
	atomic_store(&most, 0);
	atomic_store(&executions, 0);
	atomic_store(&released, 0);
}

/*
 * argv[1] says what to do; argv[2] is the job's index:
 *   run    note the order, then output "ok" after 2 ms
 *   block  wait until the test sets `released` or its run's cancel token
 *          fires (at most 10 s), then output "ok" or fail "killed"
 *   infra  an infrastructure failure with code GG_EDENIED
 */
static int fake_execute(void *ctx, struct store *s, const struct thunk *t,
                        const struct exec_opts *o, struct exec_result *r)
{
	(void)ctx;
	memset(r, 0, sizeof *r);
	const char *op = t->argv.v[1];
	atomic_fetch_add(&executions, 1);
	int now = atomic_fetch_add(&running, 1) + 1;
	for (int m = atomic_load(&most); now > m && !atomic_compare_exchange_weak(&most, &m, now);)
		;
	pthread_mutex_lock(&mu);
	if (nordered < (int)GG_ARRAY_LEN(order))
		order[nordered++] = atoi(t->argv.v[2]);
	pthread_mutex_unlock(&mu);
	int rc = 0;
	if (!strcmp(op, "infra")) {
		rc = gg_fail(GG_EDENIED, "simulated: permission denied by the fake");
	} else if (!strcmp(op, "block")) {
		for (int i = 0; i < 10000 && !atomic_load(&released) && !gg_cancel_fired(o->cancel);
		     i++)
			usleep(1000);
		if (gg_cancel_fired(o->cancel)) {
			r->outcome = EXEC_PROGRAM_FAILED;
			r->why = xstrdup("killed");
		}
	} else {
		usleep(2000);
	}
	if (rc == 0 && !r->why) {
		struct gg_name v;
		rc = store_put_buf(s, "ok", 2, GG_VALUE, &v);
		if (rc == 0)
			memo_add(&r->outputs, t->outputs.v[0], &v, false);
	}
	atomic_fetch_sub(&running, 1);
	return rc;
}

static struct engine *fake_engine(int limit)
{
	struct engine_config cfg = {.store = st, .execute = fake_execute};
	struct engine *e;
	if (engine_local_create(limit, &cfg, &e) < 0)
		abort();
	return e;
}

/* A job for the fake: "prog OP INDEX". */
static struct tjob *fake_job(const char *op, int index)
{
	struct tjob *j = xcalloc(1, sizeof *j);
	thunk_init(&j->t);
	j->t.exe = xstrdup("prog");
	char num[16];
	snprintf(num, sizeof num, "%d", index);
	strvec_push(&j->t.argv, "prog");
	strvec_push(&j->t.argv, op);
	strvec_push(&j->t.argv, num);
	strvec_push(&j->t.outputs, "o");
	j->index = index;
	j->job.thunk = &j->t;
	j->job.done = job_done;
	j->job.slot = -1;
	return j;
}

/* A job running `sh -c script` for real, with output "o" (or "d/o" when
 * `nested`); `tools`: ln and mv on PATH. */
static struct tjob *sh_job(const char *script, bool tools, bool nested)
{
	struct tjob *j = xcalloc(1, sizeof *j);
	thunk_init(&j->t);
	char *args[] = {"-c", (char *)script};
	if (tbuild_set_program(st, &j->t, "sh", "sh", NULL, args, 2) < 0)
		abort();
	if (tools) {
		if (tbuild_add_tool(st, &j->t, "ln") < 0 || tbuild_add_tool(st, &j->t, "mv") < 0)
			abort();
		strvec_push(&j->t.env, "PATH=" TBUILD_TOOL_PATH);
		strvec_push(&j->t.env, "LD_LIBRARY_PATH=" TBUILD_TOOL_LIBS);
	}
	strvec_push(&j->t.outputs, nested ? "d/o" : "o");
	if (thunk_name(&j->t, &j->job.name, NULL) < 0)
		abort();
	j->job.thunk = &j->t;
	j->job.done = job_done;
	return j;
}

static void job_free(struct tjob *j)
{
	exec_result_free(&j->job.result);
	free(j->job.error);
	thunk_free(&j->t);
	free(j);
}

static int submit(struct engine *e, struct tjob *j)
{
	j->job.engine = e;
	return e->ops->submit(e, &j->job);
}

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-elocal-XXXXXX");
	char *root;
	if (!mkdtemp(dir) || store_init(dir, &root) < 0 || store_open(root, &st) < 0)
		abort();
	free(root);
}

static void test_limit_and_table(void)
{
	reset();
	struct engine *e = fake_engine(0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK(e->limit == (cpus > 0 ? (int)cpus : 1));
	CHECK_STR(e->label, "local");
	CHECK_STR(e->ops->name, "local");
	char *why = NULL;
	struct tjob *j = fake_job("run", 0);
	CHECK(e->ops->can_execute(e, &j->t, &why) == GG_OK && !why);
	engine_destroy(e); /* nothing submitted: nothing ran */
	CHECK(atomic_load(&executions) == 0);
	e = fake_engine(3);
	CHECK(e->limit == 3);
	CHECK(submit(e, j) == 0 && wait_done(1));
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_OK && j->job.slot >= 0 &&
	      j->job.slot < 3 && j->job.result.outputs.n == 1);
	engine_destroy(e);
	job_free(j);
}

static void test_concurrency_limit(void)
{
	reset();
	struct engine *e = fake_engine(2);
	struct tjob *j[5];
	for (int i = 0; i < 5; i++) {
		j[i] = fake_job("block", i);
		CHECK(submit(e, j[i]) == 0);
	}
	/* two run at once, a third waits for a free slot */
	CHECK(wait_running(2));
	usleep(100000);
	CHECK(atomic_load(&running) == 2 && atomic_load(&executions) == 2);
	atomic_store(&released, 1);
	CHECK(wait_done(5));
	CHECK(atomic_load(&most) == 2 && atomic_load(&executions) == 5);
	bool slots[2] = {false, false};
	for (int i = 0; i < 5; i++) {
		CHECK(j[i]->job.rc == 0 && j[i]->job.result.outcome == EXEC_OK);
		CHECK(j[i]->job.slot == 0 || j[i]->job.slot == 1);
		if (j[i]->job.slot == 0 || j[i]->job.slot == 1)
			slots[j[i]->job.slot] = true;
		job_free(j[i]);
	}
	CHECK(slots[0] && slots[1]);
	engine_destroy(e);
}

static void test_order_across_queue_growth(void)
{
	reset();
	struct engine *e = fake_engine(1);
	enum { N = 200 };
	struct tjob *j[N];
	j[0] = fake_job("block", 0);
	CHECK(submit(e, j[0]) == 0);
	CHECK(wait_running(1));
	/* queued behind it past the first ring (64) and the second (128), the
	 * ring's start not at its first cell */
	for (int i = 1; i < N; i++) {
		j[i] = fake_job("run", i);
		CHECK(submit(e, j[i]) == 0);
	}
	atomic_store(&released, 1);
	CHECK(wait_done(N));
	pthread_mutex_lock(&mu);
	bool in_order = nordered == N;
	for (int i = 0; in_order && i < N; i++)
		in_order = order[i] == i;
	pthread_mutex_unlock(&mu);
	CHECK(in_order);
	for (int i = 0; i < N; i++) {
		CHECK(j[i]->job.rc == 0);
		job_free(j[i]);
	}
	engine_destroy(e);
}

static void test_cancel_fake(void)
{
	reset();
	struct engine *e = fake_engine(1);
	struct tjob *run = fake_job("block", 0), *queued = fake_job("run", 1);
	CHECK(submit(e, run) == 0);
	CHECK(wait_running(1));
	CHECK(submit(e, queued) == 0);
	/* a queued job is skipped: done with "cancelled", never executed */
	e->ops->cancel(e, &queued->job);
	/* a running one has its run's token fired */
	e->ops->cancel(e, &run->job);
	CHECK(wait_done(2));
	CHECK(run->job.rc == 0 && run->job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK_STR(run->job.result.why, "killed");
	CHECK(queued->job.rc == -1);
	CHECK_STR(queued->job.error, "cancelled");
	CHECK(atomic_load(&executions) == 1);

	/* the token was the run's: the next job runs unhindered */
	struct tjob *next = fake_job("run", 2);
	CHECK(submit(e, next) == 0 && wait_done(3));
	CHECK(next->job.rc == 0 && next->job.result.outcome == EXEC_OK);
	engine_destroy(e);
	job_free(run), job_free(queued), job_free(next);
}

static void test_infrastructure_error(void)
{
	reset();
	struct engine *e = fake_engine(1);
	struct tjob *j = fake_job("infra", 0);
	CHECK(submit(e, j) == 0 && wait_done(1));
	CHECK(j->job.rc == -1 && j->job.code == GG_EDENIED);
	CHECK_STR(j->job.error, "simulated: permission denied by the fake");
	engine_destroy(e);
	job_free(j);
}

/* Runs one real job on a fresh engine with these settings; done. */
static struct tjob *run_real(struct tjob *j, const struct exec_opts *eo)
{
	reset();
	struct engine_config cfg = {.store = st};
	if (eo)
		cfg.exec = *eo;
	struct engine *e;
	CHECK(engine_local_create(1, &cfg, &e) == 0);
	CHECK(submit(e, j) == 0);
	CHECK(wait_done(1));
	engine_destroy(e);
	return j;
}

static void test_real_failures(void)
{
	/* exit status and the stderr tail */
	struct tjob *j =
	    run_real(sh_job("echo out; echo last words >&2; exit 7", false, false), NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK_STR(j->job.result.why, "exited with status 7");
	CHECK(j->job.result.has_status && WIFEXITED(j->job.result.wait_status) &&
	      WEXITSTATUS(j->job.result.wait_status) == 7);
	CHECK_STR(j->job.result.stderr_tail, "last words\n");
	CHECK(j->job.result.outputs.n == 0);
	job_free(j);

	/* only the last 2048 bytes of a long stderr */
	j = run_real(sh_job("i=0; while [ $i -lt 300 ]; do printf 'abcdefghi\\n' >&2; i=$((i+1)); "
	                    "done; echo THE END >&2; exit 1",
	                    false, false),
	             NULL);
	const char *tail = j->job.result.stderr_tail;
	CHECK(tail && strlen(tail) == 2048);
	CHECK(tail && !strcmp(tail + strlen(tail) - 8, "THE END\n"));
	job_free(j);

	/* a signal */
	j = run_real(sh_job("kill -TERM $$", false, false), NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK_STR(j->job.result.why, "killed by signal 15 (Terminated)");
	job_free(j);

	/* the engine's default timeout for a thunk without its own */
	struct exec_opts eo = {.default_timeout_ms = 200};
	uint64_t t0 = now_ns();
	j = run_real(sh_job("while :; do :; done", false, false), &eo);
	CHECK(j->job.rc == 0 && j->job.result.timed_out);
	CHECK_STR(j->job.result.why, "timed out after 200 ms");
	CHECK(now_ns() - t0 < 3000000000ull);
	job_free(j);

	/* success: the output and what it wrote on stderr kept */
	j = run_real(sh_job("echo fine > o; echo note >&2", false, false), NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_OK);
	CHECK(j->job.result.outputs.n == 1 && j->job.result.outputs.has_stderr);
	struct gg_name fine;
	gg_name_of_buf("fine\n", 5, GG_VALUE, &fine);
	CHECK(j->job.result.outputs.n == 1 && gg_name_eq(&j->job.result.outputs.v[0].value, &fine));
	job_free(j);
}

/*
 * A large output (STORE_VOUCH_MIN bytes or more) was hashed as it was stored,
 * so its first use hashes nothing where the store keeps exact change times:
 * also when an isolated run's output became the object itself (linked, not
 * copied) and the run directory, its other name, was removed afterwards.
 */
static void test_real_output_vouched(void)
{
	struct tjob *j = run_real(sh_job("s=0123456789abcdef; i=0; while [ $i -lt 13 ]; do "
	                                 "s=$s$s; i=$((i+1)); done; printf %s \"$s\" > o",
	                                 false, false),
	                          NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_OK && j->job.result.outputs.n == 1);
	if (j->job.result.outputs.n == 1) {
		const struct gg_name *v = &j->job.result.outputs.v[0].value;
		bool exact = store_exact_times(st);
		CHECK(gg_name_size(v) >= STORE_VOUCH_MIN);
		uint64_t h0 = store_verify_hashes();
		CHECK(store_verify(st, v) == 0);
		CHECK(store_verify_hashes() == h0 + (exact ? 0 : 1));
		printf("output vouched: %s run, %s change times\n",
		       j->job.result.isolated ? "isolated (linked)" : "unisolated (copied)",
		       exact ? "exact" : "coarse");
	}
	job_free(j);
}

struct firing {
	struct engine *e;
	struct engine_job *job;
};

static void *cancel_later(void *p)
{
	struct firing *f = p;
	usleep(300000);
	f->e->ops->cancel(f->e, f->job);
	return NULL;
}

static void test_real_cancel_kills(void)
{
	reset();
	/* a timeout, so that a cancel that does not kill fails the test, not hangs it */
	struct engine_config cfg = {.store = st, .exec = {.default_timeout_ms = 8000}};
	struct engine *e;
	CHECK(engine_local_create(1, &cfg, &e) == 0);
	struct tjob *j = sh_job("while :; do :; done", false, false);
	uint64_t t0 = now_ns();
	CHECK(submit(e, j) == 0);
	struct firing f = {e, &j->job};
	pthread_t tid;
	CHECK(pthread_create(&tid, NULL, cancel_later, &f) == 0);
	CHECK(wait_done(1));
	pthread_join(tid, NULL);
	CHECK(now_ns() - t0 < 5000000000ull); /* not the hour's default timeout */
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK_STR(j->job.result.why, "cancelled");
	engine_destroy(e);
	job_free(j);
}

static void test_real_escapes_fail(void)
{
	static const struct {
		const char *script, *why;
	} cases[] = {
	    {"ln -s /etc/passwd o",
	     "output 'o': a symbolic link to the absolute path '/etc/passwd'"},
	    {"ln -s ../outside o",
	     "output 'o': a symbolic link to '../outside' climbs out with '..'"},
	    {"mv d e; ln -s e d; echo x > e/o",
	     "output 'd/o' is reached through a symbolic link (a directory on its path was "
	     "replaced by a link); links are never followed"},
	};
	for (size_t i = 0; i < GG_ARRAY_LEN(cases); i++) {
		struct tjob *j = run_real(
		    sh_job(cases[i].script, true, strstr(cases[i].script, "e/o") != NULL), NULL);
		CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_PROGRAM_FAILED);
		const char *why = j->job.result.why;
		if (!why || !strstr(why, cases[i].why)) {
			harness_failed++;
			fprintf(stderr, "escape case %zu (%s): why \"%s\"\n", i, cases[i].script,
			        why ? why : "(null)");
		} else {
			harness_passed++;
		}
		CHECK(j->job.result.outputs.n == 0);
		job_free(j);
	}
	/* a relative link beneath the directory is an output (a link value) */
	struct tjob *j = run_real(sh_job("echo x > a; ln -s a o", true, false), NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_OK);
	CHECK(j->job.result.outputs.n == 1 && j->job.result.outputs.v[0].link);
	job_free(j);

	/* isolated, a host path is not there to write */
	if (!sandbox_available())
		return;
	char *host = xasprintf("%s/escaped", dir);
	char *script = xasprintf("echo out > %s || exit 9; echo x > o", host);
	j = run_real(sh_job(script, false, false), NULL);
	CHECK(j->job.rc == 0 && j->job.result.outcome == EXEC_PROGRAM_FAILED);
	CHECK_STR(j->job.result.why, "exited with status 9");
	struct stat sb;
	CHECK(stat(host, &sb) < 0);
	job_free(j);
	free(host), free(script);
}

static void teardown(void)
{
	store_close(st);
	remove_tree(dir);
	free(dir);
}

TEST_MAIN(setup, test_limit_and_table, test_concurrency_limit, test_order_across_queue_growth,
          test_cancel_fake, test_infrastructure_error, test_real_failures, test_real_output_vouched,
          test_real_cancel_kills, test_real_escapes_fail, teardown)
