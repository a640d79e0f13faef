/**
 * @file test_engine_slurm.c
 * Specification of the slurm engine's transport (backend/engine/
 * engine_slurm.c) against fake sbatch, squeue, scancel and gg programs,
 * shell scripts first on $PATH that record their arguments. The fake sbatch
 * prints a job id (its own pid) and does what the test wrote for the job's
 * name: "hang" (PENDING in the queue for ever, no worker: the job never
 * responds), "gone" (never in the queue, no response) or, by default, runs
 * the job's command, whose fake `gg worker` writes the prepared response
 * after a delay. With GG_REMOTE_TIMEOUT=1, jobs at once:
 *  - a hung job is cancelled (scancel JOBID) 1 s after submission
 *    (GG_SLURM_GRACE=0), time PENDING included, failing with an error
 *    naming the job and the limit, and the engine no longer takes the thunk
 *    (GG_ELIMIT from can_execute);
 *  - a thunk's own timeout replaces GG_REMOTE_TIMEOUT in the limit;
 *  - a job that responds after GG_REMOTE_TIMEOUT but within the grace
 *    (GG_SLURM_GRACE=3) succeeds;
 *  - a job that squeue says is gone, without a response, fails as before
 *    (no scancel, the thunk is still taken);
 *  - with GG_REMOTE_TIMEOUT=0 (none) a hung job waits until cancelled.
 * A fake that hangs (while dir/NAME-hang exists, it waits for a child
 * sleeping for ever) is killed, child included, after
 * GG_SLURM_COMMAND_TIMEOUT=1: a hung sbatch fails its job naming the
 * command and the limit, the jobs queued behind it fail at once without an
 * sbatch, and the engine takes no thunk for ten times the limit; a hung
 * squeue only delays the response, a hung scancel the cancellation; with
 * the limit at 60 a cancel ends a hung sbatch or squeue at once.
 * And a bad GG_SLURM_GRACE (not a number, above 86400) or
 * GG_SLURM_COMMAND_TIMEOUT (0, above 3600) is refused before any job. Files
 * live in a mkdtemp directory removed at the end.
 */
#include "backend/engine/engine.h"
#include "backend/remote/wire.h"
#include "core/thunk.h"
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static struct store *store;
static struct engine_config cfg;
static struct gg_name value; /* "hello\n": every thunk's input, the output of ok jobs */

/* ---- the fakes ---- */

/* (Shell builtins only where the engine waits for them: the test keeps
 * its timing when the machine is busy.) */
#define HANG_SH(cmd)                                                                               \
	"[ -f \"$d/" cmd "-hang\" ] && { sleep 1000 & echo $! >\"$d/pids/" cmd                     \
	"-child\"; echo $$ >\"$d/pids/" cmd "\"; wait; exit 1; }\n"

static const char sbatch_sh[] =
    "#!/bin/sh\n"
    "d=$FAKE_SLURM_DIR\n"
    "printf '%s\\n' \"$*\" >>\"$d/sbatch.args\"\n" HANG_SH(
        "sbatch") "name= wrap=\n"
                  "while [ $# -gt 0 ]; do\n"
                  "\tcase $1 in --job-name) name=$2; shift ;; --wrap) wrap=$2; shift ;; esac\n"
                  "\tshift\n"
                  "done\n"
                  "id=$$\n"
                  "echo \"$id\" >\"$d/ids/$name\"\n"
                  "b=run\n"
                  "[ -f \"$d/behave/$name\" ] && read -r b <\"$d/behave/$name\"\n"
                  "case $b in\n"
                  "hang) echo \"$id PENDING\" >>\"$d/queue\" ;;\n"
                  "gone) ;;\n"
                  "*) echo \"$id RUNNING\" >>\"$d/queue\"\n"
                  "   FAKE_NAME=$name sh -c \"$wrap\" </dev/null >/dev/null 2>&1 & ;;\n"
                  "esac\n"
                  "echo \"$id\"\n";

static const char squeue_sh[] =
    "#!/bin/sh\n"
    "d=$FAKE_SLURM_DIR\n"
    "printf '%s\\n' \"$*\" >>\"$d/squeue.args\"\n" HANG_SH(
        "squeue") "[ -f \"$d/queue\" ] && while read -r l; do echo \"$l\"; done <\"$d/queue\"\n"
                  "exit 0\n";

static const char scancel_sh[] = "#!/bin/sh\n"
                                 "d=$FAKE_SLURM_DIR\n"
                                 "printf '%s\\n' \"$*\" >>\"$d/scancel.args\"\n" HANG_SH("scancel");

/* `gg worker --dir D --once REQUEST RESPONSE`: after delay/NAME seconds,
 * resp/NAME becomes RESPONSE (whole, by a rename) */
static const char gg_sh[] =
    "#!/bin/sh\n"
    "d=$FAKE_SLURM_DIR\n"
    "for a; do out=$a; done\n"
    "read -r s <\"$d/delay/$FAKE_NAME\"\n"
    "sleep \"${s:-0}\"\n"
    "cp \"$d/resp/$FAKE_NAME\" \"$out.part\" && mv \"$out.part\" \"$out\"\n";

static void put(const char *sub, const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s/%s", dir, sub, name);
	CHECK(write_file_atomic(p, text, strlen(text), mode) == 0);
	free(p);
}

/* A file under dir ("" when there is none). */
static char *slurp(const char *sub, const char *name)
{
	char *p = xasprintf("%s/%s%s", dir, sub, name);
	struct buf b = BUF_INIT;
	if (read_file(p, &b, 1 << 20) < 0)
		buf_reset(&b);
	free(p);
	return buf_steal(&b);
}

/* The fakes' record of their calls, one line each ("" when none). */
static char *record(const char *what)
{
	char *name = xasprintf("%s.args", what);
	char *s = slurp("", name);
	free(name);
	return s;
}

/* ---- thunks and jobs ---- */

struct tjob {
	struct engine_job job;
	struct thunk thunk;
	char jobname[16]; /* the Slurm job's name: gg-<12 characters of the thunk's name> */
	bool finished;    /* protected by mu */
	uint64_t t_start, t_end;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void on_done(struct engine_job *job)
{
	struct tjob *tj = job->owner;
	pthread_mutex_lock(&mu);
	tj->t_end = now_ns();
	tj->finished = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits up to s seconds for the job; whether it finished. */
static bool wait_done(struct tjob *tj, int s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	pthread_mutex_lock(&mu);
	while (!tj->finished)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	bool f = tj->finished;
	pthread_mutex_unlock(&mu);
	return f;
}

/* A thunk of its own (arg), with a timeout (ms, 0: none), and what its job does. */
static void make_job(struct tjob *tj, const char *arg, uint64_t timeout_ms, const char *behave)
{
	memset(tj, 0, sizeof *tj);
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\narg %zu %s\nin x %s 4 prog\n"
	                      "out 1 o\ntimeout %llu\n",
	                      strlen(arg), arg, value.s, (unsigned long long)timeout_ms);
	CHECK(thunk_parse(enc, strlen(enc), &tj->thunk) == 0);
	free(enc);
	struct buf b = BUF_INIT;
	CHECK(thunk_name(&tj->thunk, &tj->job.name, &b) == 0);
	buf_free(&b);
	snprintf(tj->jobname, sizeof tj->jobname, "gg-%.12s", tj->job.name.s + 1);
	put("behave", tj->jobname, behave, 0644);
	tj->job.thunk = &tj->thunk;
	tj->job.done = on_done;
	tj->job.owner = tj;
}

/* The response its worker writes: the thunk ran, output o is the value. */
static void respond_after(struct tjob *tj, const char *seconds)
{
	struct wire_response rs = {.thunk = tj->job.name, .status = WIRE_OK};
	wire_response_add_output(&rs, "o", &value, false);
	struct buf b = BUF_INIT;
	CHECK(wire_response_encode(&rs, &b) == 0);
	char *p = xasprintf("%s/resp/%s", dir, tj->jobname);
	CHECK(write_file_atomic(p, b.data, b.len, 0644) == 0);
	free(p);
	buf_free(&b);
	wire_response_free(&rs);
	put("delay", tj->jobname, seconds, 0644);
}

/* Whether the job ended by itself within s seconds; if not it is cancelled
 * (the engine is then destroyed without waiting for ever). */
static bool ended(struct tjob *tj, int s)
{
	if (wait_done(tj, s))
		return true;
	tj->job.engine->ops->cancel(tj->job.engine, &tj->job);
	CHECK(wait_done(tj, 10));
	return false;
}

static void submit(struct engine *e, struct tjob *tj)
{
	tj->job.engine = e;
	tj->t_start = now_ns();
	CHECK(e->ops->submit(e, &tj->job) == 0);
}

/* The id the fake sbatch gave the job ("" if it was not submitted). */
static char *job_id(const struct tjob *tj)
{
	char *id = slurp("ids/", tj->jobname);
	id[strcspn(id, "\n")] = 0;
	return id;
}

/* How many times the fake CMD was run. */
static int calls(const char *what)
{
	char *r = record(what);
	int n = 0;
	for (const char *c = r; *c; c++)
		n += *c == '\n';
	free(r);
	return n;
}

/* Whether scancel was called with just this job id. */
static bool scancelled(const struct tjob *tj)
{
	char *id = job_id(tj), *calls = record("scancel");
	char *all = xasprintf("\n%s", calls), *line = xasprintf("\n%s\n", id);
	bool found = *id && strstr(all, line);
	free(line);
	free(all);
	free(id);
	free(calls);
	return found;
}

static double seconds(const struct tjob *tj)
{
	return (double)(tj->t_end - tj->t_start) / 1e9;
}

static void job_free(struct tjob *tj)
{
	if (tj->job.rc == 0)
		exec_result_free(&tj->job.result);
	free(tj->job.error);
	thunk_free(&tj->thunk);
}

/* ---- the tests ---- */

/* An engine made with VAR=VAL is refused, saying needle. */
static void refused(const char *var, const char *val, const char *needle)
{
	struct engine *e = NULL;
	setenv(var, val, 1);
	CHECK_ERR(engine_create("slurm", 1, &cfg, &e), needle);
	unsetenv(var);
}

static void test_config(void)
{
	struct engine *e = NULL;
	refused("GG_SLURM_GRACE", "soon", "GG_SLURM_GRACE=soon: expected a whole number");
	refused("GG_SLURM_GRACE", "-1", "GG_SLURM_GRACE=-1: expected a whole number");
	refused("GG_SLURM_GRACE", "86401",
	        "GG_SLURM_GRACE=86401: expected a whole number from 0 to 86400");
	setenv("GG_SLURM_GRACE", "86400", 1);
	CHECK(engine_create("slurm", 1, &cfg, &e) == 0);
	if (e)
		engine_destroy(e);
	unsetenv("GG_SLURM_GRACE");
	refused("GG_SLURM_COMMAND_TIMEOUT", "0",
	        "GG_SLURM_COMMAND_TIMEOUT=0: expected a whole number from 1 to 3600");
	refused("GG_SLURM_COMMAND_TIMEOUT", "3601",
	        "GG_SLURM_COMMAND_TIMEOUT=3601: expected a whole number from 1 to 3600");
	refused("GG_REMOTE_TIMEOUT", "1m", "GG_REMOTE_TIMEOUT=1m: expected a whole number");
	refused("GG_REMOTE_TIMEOUT", "31536001",
	        "GG_REMOTE_TIMEOUT=31536001: expected a whole number from 0 to 31536000");
	char *calls = record("sbatch");
	CHECK_STR(calls, ""); /* refused before any job */
	free(calls);
}

/* A slurm engine made with these GG_REMOTE_TIMEOUT and GG_SLURM_GRACE, or NULL. */
static struct engine *slurm_engine(const char *timeout, const char *grace, int limit)
{
	struct engine *e = NULL;
	setenv("GG_REMOTE_TIMEOUT", timeout, 1);
	setenv("GG_SLURM_GRACE", grace, 1);
	CHECK(engine_create("slurm", limit, &cfg, &e) == 0);
	unsetenv("GG_REMOTE_TIMEOUT");
	unsetenv("GG_SLURM_GRACE");
	return e;
}

/* Three engines at once, so that no job's limit races another's event:
 * limits without grace (hung jobs), a long grace (a late response), no
 * limit (a job squeue loses, one that waits until cancelled). */
static void test_time_limit(void)
{
	struct engine *e = slurm_engine("1", "0", 4), *eg = slurm_engine("1", "3", 1),
	              *e0 = slurm_engine("0", "0", 2);
	if (!e || !eg || !e0) {
		struct engine *made[] = {e, eg, e0};
		for (size_t i = 0; i < 3; i++)
			if (made[i])
				engine_destroy(made[i]);
		return;
	}
	struct tjob hung, own, slow, gone, waits;
	make_job(&hung, "hung", 0, "hang");
	make_job(&own, "own-timeout", 300, "hang");
	make_job(&slow, "slow", 0, "run");
	respond_after(&slow, "1.5"); /* after GG_REMOTE_TIMEOUT, within the grace */
	make_job(&gone, "gone", 0, "gone");
	make_job(&waits, "no-timeout", 0, "hang");
	submit(e, &hung);
	submit(e, &own);
	submit(eg, &slow);
	submit(e0, &gone);
	submit(e0, &waits);

	/* the hung job: cancelled at its limit, PENDING time included */
	CHECK(ended(&hung, 8));
	char *id = job_id(&hung);
	CHECK(*id);
	char *want = xasprintf("slurm engine: slurm job %s: no response within its limit of 1 s "
	                       "(the thunk's timeout or GG_REMOTE_TIMEOUT, 1 s, plus "
	                       "GG_SLURM_GRACE, 0 s, from submission, time in the queue included); "
	                       "squeue last said PENDING; cancelled with scancel",
	                       id);
	CHECK(hung.job.rc == -1);
	CHECK_STR(hung.job.error, want);
	free(want);
	free(id);
	CHECK(seconds(&hung) >= 0.9);
	CHECK(scancelled(&hung));
	/* ran out of the time it had here: the next attempt is another engine's */
	char *why = NULL;
	CHECK(e->ops->can_execute(e, &hung.thunk, &why) == GG_ELIMIT);
	CHECK(why && strstr(why, "it exceeded the slurm deadline on an earlier attempt (no "
	                         "response within GG_REMOTE_TIMEOUT plus GG_SLURM_GRACE)"));
	free(why);

	/* the thunk's own timeout (300 ms) instead of GG_REMOTE_TIMEOUT */
	CHECK(ended(&own, 8));
	CHECK(own.job.rc == -1 && own.job.error &&
	      strstr(own.job.error, "no response within its limit of 0.3 s (the thunk's timeout "
	                            "or GG_REMOTE_TIMEOUT, 0.3 s, plus GG_SLURM_GRACE, 0 s"));
	CHECK(seconds(&own) >= 0.25);
	CHECK(scancelled(&own));

	/* a response after GG_REMOTE_TIMEOUT but within the grace: the thunk ran */
	CHECK(ended(&slow, 8));
	CHECK(slow.job.rc == 0 && slow.job.result.outcome == EXEC_OK);
	if (slow.job.rc < 0)
		fprintf(stderr, "slow: %s\n", slow.job.error);
	CHECK(seconds(&slow) >= 1.4);
	CHECK(!scancelled(&slow));

	/* gone from squeue without a response: the error it always had */
	CHECK(ended(&gone, 8));
	CHECK(gone.job.rc == -1 && gone.job.error &&
	      strstr(gone.job.error, "ended (gone from squeue) without a response; its log: "));
	CHECK(gone.job.code == 0);
	CHECK(!scancelled(&gone));
	CHECK(e0->ops->can_execute(e0, &gone.thunk, &why) == GG_OK);

	/* no limit (GG_REMOTE_TIMEOUT=0): still waiting after the others, until cancelled */
	CHECK(!wait_done(&waits, 0));
	e0->ops->cancel(e0, &waits.job);
	CHECK(wait_done(&waits, 10));
	CHECK(waits.job.rc == -1 && waits.job.code == GG_ECANCELLED);
	CHECK(scancelled(&waits));

	char *calls = record("squeue");
	CHECK(strstr(calls, "-h -t all -o %i %T\n") == calls);
	free(calls);
	engine_destroy(e);
	engine_destroy(eg);
	engine_destroy(e0);
	job_free(&hung);
	job_free(&own);
	job_free(&slow);
	job_free(&gone);
	job_free(&waits);
}

/* ---- a command that does not end ---- */

/* The fake CMD (sbatch, squeue, scancel) hangs from now on, or no longer. */
static void hang(const char *cmd, bool on)
{
	char *p = xasprintf("%s/%s-hang", dir, cmd);
	if (on)
		CHECK(write_file_atomic(p, "", 0, 0644) == 0);
	else
		unlink(p);
	free(p);
}

/* The pid of the hung fake CMD ("sbatch") or of its child ("sbatch-child"),
 * once it has written it (within 5 s); -1 if it did not. */
static pid_t hung_pid(const char *what)
{
	char *p = xasprintf("%s/pids/%s", dir, what);
	pid_t pid = -1;
	for (int i = 0; i < 500 && (pid = harness_pid_in(p)) < 0; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	free(p);
	return pid;
}

/* Neither the hung fake CMD nor its child is left running. */
static void check_killed(const char *cmd)
{
	char *child = xasprintf("%s-child", cmd);
	pid_t a = hung_pid(cmd), b = hung_pid(child);
	CHECK(a > 0 && b > 0);
	if (a <= 0 || b <= 0)
		fprintf(stderr, "the hung %s wrote no pid (%d) or its child's (%d)\n", cmd, (int)a,
		        (int)b);
	if (a > 0)
		CHECK(harness_process_ended(a, 3));
	if (b > 0)
		CHECK(harness_process_ended(b, 3));
	free(child);
}

/* With CMD hanging, the job is submitted and cancelled once CMD runs: it
 * ends at once, cancelled, with nothing left running. */
static void cancel_while_hung(struct engine *e, struct tjob *tj, const char *cmd)
{
	hang(cmd, true);
	submit(e, tj);
	char *pidfile = xasprintf("%s/pids/%s", dir, cmd);
	for (int i = 0; i < 500 && access(pidfile, F_OK) != 0; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	free(pidfile);
	uint64_t t0 = now_ns();
	e->ops->cancel(e, &tj->job);
	CHECK(wait_done(tj, 10));
	CHECK(tj->job.rc == -1 && tj->job.code == GG_ECANCELLED);
	CHECK((double)(now_ns() - t0) / 1e9 < 2);
	check_killed(cmd);
	hang(cmd, false);
}

static void test_command_limit(void)
{
	/* an engine each: one that killed a command takes no thunk for a while */
	setenv("GG_SLURM_COMMAND_TIMEOUT", "1", 1);
	struct engine *esb = slurm_engine("0", "0", 4), *esq = slurm_engine("0", "0", 4),
	              *e = slurm_engine("0", "0", 4);
	setenv("GG_SLURM_COMMAND_TIMEOUT", "60", 1);
	struct engine *e60 = slurm_engine("0", "0", 4);
	unsetenv("GG_SLURM_COMMAND_TIMEOUT");
	if (!esb || !esq || !e || !e60) {
		struct engine *made[] = {esb, esq, e, e60};
		for (size_t i = 0; i < 4; i++)
			if (made[i])
				engine_destroy(made[i]);
		return;
	}
	struct tjob sb, queued, sq, sc, csb, csq;

	/* sbatch: killed at the limit, its job failed naming it and the limit;
	 * the job queued behind it is not submitted, and the engine takes no
	 * thunk (the scheduler hands them to the next engine) */
	hang("sbatch", true);
	make_job(&sb, "sbatch-hangs", 0, "run");
	make_job(&queued, "sbatch-queued", 0, "run");
	submit(esb, &sb);
	char *pidfile = xasprintf("%s/pids/sbatch", dir);
	for (int i = 0; i < 500 && access(pidfile, F_OK) != 0; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	free(pidfile);
	submit(esb, &queued);
	CHECK(ended(&sb, 6));
	CHECK(sb.job.rc == -1);
	CHECK_STR(sb.job.error, "slurm engine: sbatch did not end within 1 s: killed (the limit is "
	                        "GG_SLURM_COMMAND_TIMEOUT)");
	CHECK(sb.job.code == 0);
	CHECK(seconds(&sb) >= 0.9 && seconds(&sb) < 5);
	check_killed("sbatch");
	const char *unreachable = "sbatch did not answer within 1 s (GG_SLURM_COMMAND_TIMEOUT): "
	                          "Slurm's controller is taken as unreachable for 10 s";
	CHECK(ended(&queued, 3));
	CHECK(queued.job.rc == -1 && queued.job.error &&
	      strstr(queued.job.error, "not submitted: ") && strstr(queued.job.error, unreachable));
	char *ids = record("sbatch");
	CHECK(!strstr(ids, queued.jobname)); /* sbatch was not run for it */
	free(ids);
	char *why = NULL;
	CHECK(esb->ops->can_execute(esb, &sb.thunk, &why) == GG_EREMOTE);
	CHECK(why && !strcmp(why, unreachable));
	free(why);
	hang("sbatch", false);

	/* squeue: killed at the limit, the response is then read */
	hang("squeue", true);
	make_job(&sq, "squeue-hangs", 0, "run");
	respond_after(&sq, "0.3");
	submit(esq, &sq);
	CHECK(ended(&sq, 6));
	CHECK(sq.job.rc == 0 && sq.job.result.outcome == EXEC_OK);
	CHECK(seconds(&sq) >= 0.9 && seconds(&sq) < 5); /* waited for squeue's end */
	check_killed("squeue");
	hang("squeue", false);

	/* scancel: killed at the limit, the cancellation then done */
	make_job(&sc, "scancel-hangs", 0, "hang");
	submit(e, &sc);
	char *id = NULL;
	for (int i = 0; i < 500 && !(id && *id); i++) {
		free(id);
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
		id = job_id(&sc);
	}
	CHECK(id && *id);
	free(id);
	/* The fake wrote the id before its output ended: a cancel now would
	 * end that sbatch (a call's cancellation does), and no job would be
	 * known to cancel. Once squeue is asked again, the engine (one
	 * thread) has read sbatch's answer. */
	int asked = calls("squeue");
	for (int i = 0; i < 500 && calls("squeue") <= asked; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	CHECK(calls("squeue") > asked);
	hang("scancel", true);
	uint64_t t0 = now_ns();
	e->ops->cancel(e, &sc.job);
	CHECK(wait_done(&sc, 6));
	CHECK(sc.job.rc == -1 && sc.job.code == GG_ECANCELLED);
	double took = (double)(now_ns() - t0) / 1e9;
	CHECK(took >= 0.9 && took < 5);
	CHECK(scancelled(&sc));
	check_killed("scancel");
	hang("scancel", false);

	/* with a minute's limit, a cancel ends a hung sbatch or squeue at once */
	make_job(&csb, "cancel-sbatch", 0, "run");
	cancel_while_hung(e60, &csb, "sbatch");
	make_job(&csq, "cancel-squeue", 0, "hang");
	cancel_while_hung(e60, &csq, "squeue");
	CHECK(scancelled(&csq));

	engine_destroy(esb);
	engine_destroy(esq);
	engine_destroy(e);
	engine_destroy(e60);
	job_free(&queued);
	job_free(&sb);
	job_free(&sq);
	job_free(&sc);
	job_free(&csb);
	job_free(&csq);
}

static void setup(void)
{
	char tmpl[] = "/tmp/gg-test-slurm-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	dir = xstrdup(tmpl);
	const char *subs[] = {"bin",  "behave", "delay",  "resp", "ids",
	                      "jobs", "store",  "bucket", "pids"};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);
		CHECK(mkdir_p(p, 0700) == 0);
		free(p);
	}
	put("bin", "sbatch", sbatch_sh, 0755);
	put("bin", "squeue", squeue_sh, 0755);
	put("bin", "scancel", scancel_sh, 0755);
	put("bin", "gg", gg_sh, 0755);
	setenv("FAKE_SLURM_DIR", dir, 1);
	const char *path = getenv("PATH");
	char *p = xasprintf("%s/bin:%s", dir, path ? path : "/usr/bin:/bin");
	setenv("PATH", p, 1);
	free(p);
	p = xasprintf("%s/bin/gg", dir);
	setenv("GG_SLURM_GG", p, 1);
	free(p);
	p = xasprintf("%s/jobs", dir);
	setenv("GG_SLURM_DIR", p, 1);
	free(p);
	p = xasprintf("%s/worker", dir);
	setenv("GG_SLURM_WORKER_DIR", p, 1);
	free(p);
	unsetenv("GG_SLURM_ARGS");
	unsetenv("GG_SLURM_KEEP");
	unsetenv("GG_SLURM_GRACE");
	unsetenv("GG_SLURM_COMMAND_TIMEOUT");
	unsetenv("GG_REMOTE_TIMEOUT");
	unsetenv("GG_STORAGE");

	/* the client's store, and the storage it shares with the (fake) workers */
	char *root = NULL;
	p = xasprintf("%s/store", dir);
	CHECK(store_init(p, &root) == 0 && store_open(root, &store) == 0);
	free(root);
	free(p);
	CHECK(store_put_buf(store, "hello\n", 6, 'V', &value) == 0);
	cfg.store = store;
	cfg.storage_uri = xasprintf("file://%s/bucket", dir);
}

static void teardown(void)
{
	store_close(store);
	free((char *)cfg.storage_uri);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

TEST_MAIN(setup, test_config, test_time_limit, test_command_limit, teardown)
