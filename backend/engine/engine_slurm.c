/**
 * @file engine_slurm.c
 * The `slurm` engine: each ready thunk becomes one Slurm batch job,
 * `sbatch --wrap "gg worker --once REQUEST RESPONSE"`, whose worker shares
 * the storage back-end with the client. This file is only the transport
 * (engine_remote.c does uploads, replies and downloads): one thread writes
 * request files, submits, notices response files appearing (every 100 ms)
 * and asks `squeue` (every second) about jobs that ended without one, and
 * cancels with `scancel`. It does not use the Slurm C API, job arrays or
 * srun; the sbatch/squeue/scancel on PATH and $SLURM_CONF decide the
 * cluster.
 *
 * Time limit: a job whose response file has not appeared within the call's
 * timeout (the thunk's own, else GG_REMOTE_TIMEOUT) plus GG_SLURM_GRACE,
 * counted from its submission, is cancelled with scancel and its call fails
 * with GG_ELIMIT (the pipeline then hands the thunk to the next engine
 * instead of queueing it here again). Time spent PENDING in the queue
 * counts: GG_REMOTE_TIMEOUT bounds how long a force waits for a job, not
 * how long the job runs (the worker stops the thunk at its own timeout; the
 * grace covers the job's start-up and its uploads). This also ends jobs
 * whose worker hangs or whose node died without squeue saying so.
 *
 * Environment: GG_SLURM_DIR (request/response/log files; must be visible to
 * the compute nodes; default a fresh directory under $TMPDIR or /tmp, fine
 * for a single node), GG_SLURM_GG (the gg binary on the nodes; default this
 * one), GG_SLURM_WORKER_DIR (the workers' store on the nodes; default
 * $TMPDIR/gg-slurm-worker), GG_SLURM_ARGS (more sbatch options, split at
 * spaces, e.g. "--time=30 --mem=4G"), GG_SLURM_GRACE (seconds added to the
 * time limit above, default 60, at most 86400), GG_SLURM_COMMAND_TIMEOUT.
 *
 * Command limit: sbatch, squeue and scancel each get GG_SLURM_COMMAND_TIMEOUT
 * seconds (default 60, 1 to 3600), after which the command and whatever it
 * started are killed (spawn_capture's deadline): a slurmctld that does not
 * answer must not hold this thread, and with it every call, for ever. A
 * killed sbatch fails its call, a killed squeue is asked again later, a
 * killed scancel is given up (as a failed one is); and for ten times the
 * limit (or until a command answers) the engine takes no thunk and submits
 * none of those it holds: they go to the next engine. A call's cancellation
 * ends its sbatch at once, and any cancellation a squeue, so that cancels
 * are not held up behind them.
 */
#include "backend/engine/engine_remote.h"
#include "core/process.h"

#include "backend/remote/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POLL_MS         100
#define SQUEUE_EVERY_MS 1000
/* squeue must say "gone" this many times in a row without a response file */
#define GONE_POLLS 2

struct sjob {
	struct sjob *next;
	struct remote_call *call;
	char *req, *resp, *log;
	char jobid[32];
	char state[32]; /* what squeue last said of it, or "" */
	int gone;
};

struct strans {
	struct remote_transport base;
	char *dir;
	bool own_dir; /* made by us: removed at the end */
	char *partition;
	char *gg, *worker_dir;
	struct strvec extra;
	uint64_t grace_ms;   /* added to each call's timeout */
	uint64_t command_ms; /* how long sbatch, squeue or scancel may run */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* protected by mu */
	struct sjob *inbox;
	bool cancel_pending, stopping;
	size_t nlive;
	uint64_t hung_until; /* a command was killed at the limit: unusable until then */
	char hung_cmd[16];   /* which */
	/* owned by the thread */
	struct sjob *active;
	unsigned seq;
	uint64_t last_squeue;
};

/* Runs argv (found on $PATH) for at most the command limit, and less when
 * stop(arg) says so; its stdout and stderr (at most 4 MiB) into out. The
 * exit status, or -1 with the error set (GG_ELIMIT: it ran out of time and
 * was killed, GG_ECANCELLED: stopped). */
static int run_capture(struct strans *t, char *const *argv, struct buf *out, bool (*stop)(void *),
                       void *arg)
{
	struct spawn_opts so = {
	    .search = true, .deadline_ms = t->command_ms, .stop = stop, .stop_arg = arg};
	int st;
	int r = spawn_capture(argv, &so, out, 4u << 20, &st);
	bool hung = r < 0 && gg_last_code() == GG_ELIMIT;
	if (hung)
		gg_error("%s (the limit is GG_SLURM_COMMAND_TIMEOUT)", gg_last_error());
	if (hung || r == 0) {
		pthread_mutex_lock(&t->mu);
		t->hung_until = hung ? remote_hung_until(now_ns(), t->command_ms * 1000000) : 0;
		snprintf(t->hung_cmd, sizeof t->hung_cmd, "%s", argv[0]);
		pthread_mutex_unlock(&t->mu);
	}
	if (r < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Whether a command was killed at the limit lately (*why says so). */
static bool controller_hung(struct strans *t, char **why)
{
	uint64_t now = now_ns();
	pthread_mutex_lock(&t->mu);
	bool hung = now < t->hung_until;
	if (hung)
		*why =
		    xasprintf("%s did not answer within %g s (GG_SLURM_COMMAND_TIMEOUT): Slurm's "
		              "controller is taken as unreachable for %g s",
		              t->hung_cmd, (double)t->command_ms / 1000,
		              (double)(REMOTE_HUNG_FOR * t->command_ms) / 1000);
	pthread_mutex_unlock(&t->mu);
	return hung;
}

/* A call's own cancellation ends its sbatch. */
static bool call_cancelled(void *arg)
{
	struct sjob *j = arg;
	return atomic_load(&j->call->cancel_requested);
}

/* Any cancellation ends squeue: the jobs are cancelled first, it is asked
 * again later. */
static bool cancel_waiting(void *arg)
{
	struct strans *t = arg;
	pthread_mutex_lock(&t->mu);
	bool c = t->cancel_pending;
	pthread_mutex_unlock(&t->mu);
	return c;
}

/* The last lines of a job's log, for messages. */
static char *log_tail(const char *path)
{
	struct buf b = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > 600)
			lseek(fd, st.st_size - 600, SEEK_SET);
		read_fd_all(fd, &b, 700);
		close(fd);
	}
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n' || (unsigned char)b.data[i] < 0x20)
			b.data[i] = ' ';
	char *s = b.len ? buf_steal(&b) : xstrdup("(empty log)");
	buf_free(&b);
	return s;
}

static void complete(struct strans *t, struct sjob *j, int rc, char *error)
{
	struct remote_call *c = j->call;
	c->rc = rc;
	c->error = error;
	c->where = xasprintf("slurm job %s", j->jobid[0] ? j->jobid : "(not submitted)");
	c->t_received = now_ns();
	if (j->req && (rc == 0 || !getenv("GG_SLURM_KEEP"))) { /* none if never submitted */
		unlink(j->req);
		unlink(j->resp);
		unlink(j->log);
	}
	free(j->req);
	free(j->resp);
	free(j->log);
	free(j);
	pthread_mutex_lock(&t->mu);
	t->nlive--;
	pthread_mutex_unlock(&t->mu);
	remote_call_done(c);
}

static void unlink_active(struct strans *t, struct sjob *j)
{
	for (struct sjob **pp = &t->active; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

static int submit(struct strans *t, struct sjob *j)
{
	unsigned id = t->seq++;
	j->req = xasprintf("%s/%u-%.13s.req", t->dir, id, j->call->name.s);
	j->resp = xasprintf("%s/%u-%.13s.resp", t->dir, id, j->call->name.s);
	j->log = xasprintf("%s/%u-%.13s.log", t->dir, id, j->call->name.s);
	if (write_file_atomic(j->req, j->call->body.data, j->call->body.len, 0600) < 0)
		return -1;
	char *wrapv[] = {t->gg, "worker", "--dir", t->worker_dir, "--once", j->req, j->resp, NULL};
	char *wrap = argv_to_shell(wrapv);
	char *cmd = xasprintf("exec %s", wrap);
	free(wrap);
	char *name = xasprintf("gg-%.12s", j->call->name.s + 1);
	struct strvec av = STRVEC_INIT;
	strvec_push(&av, "sbatch");
	strvec_push(&av, "--parsable");
	strvec_push(&av, "--job-name");
	strvec_push(&av, name);
	strvec_push(&av, "--output");
	strvec_push(&av, j->log);
	strvec_push(&av, "--chdir");
	strvec_push(&av, t->dir);
	if (t->partition) {
		strvec_push(&av, "--partition");
		strvec_push(&av, t->partition);
	}
	for (size_t i = 0; i < t->extra.n; i++)
		strvec_push(&av, t->extra.v[i]);
	strvec_push(&av, "--wrap");
	strvec_push(&av, cmd);
	struct buf out = BUF_INIT;
	int st = run_capture(t, av.v, &out, call_cancelled, j);
	strvec_free(&av);
	free(cmd);
	free(name);
	int r = 0;
	if (st != 0) {
		r = st < 0 ? -1
		           : gg_error("sbatch failed (status %d): %.300s", st,
		                      out.data ? out.data : "");
	} else {
		/* "JOBID" or "JOBID;CLUSTER" on a line of its own */
		r = gg_error("sbatch printed no job id: %.300s", out.data ? out.data : "");
		for (char *line = out.data; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t n = strspn(line, "0123456789");
			if (n && n < sizeof j->jobid &&
			    (line[n] == ';' || line[n] == '\n' || !line[n])) {
				memcpy(j->jobid, line, n);
				j->jobid[n] = 0;
				r = 0;
				break;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	buf_free(&out);
	return r;
}

/* A response file has appeared: the call is answered. */
static bool try_response(struct strans *t, struct sjob *j)
{
	if (access(j->resp, F_OK) != 0)
		return false;
	unlink_active(t, j);
	struct buf b = BUF_INIT;
	if (read_file(j->resp, &b, WIRE_MAX_RESPONSE) < 0) {
		buf_free(&b);
		complete(t, j, -1, xasprintf("slurm job %s: %s", j->jobid, gg_last_error()));
		return true;
	}
	j->call->reply = b;
	complete(t, j, 0, NULL);
	return true;
}

static bool terminal_state(const char *s)
{
	static const char *const done[] = {"COMPLETED",     "FAILED",    "CANCELLED", "TIMEOUT",
	                                   "NODE_FAIL",     "PREEMPTED", "BOOT_FAIL", "DEADLINE",
	                                   "OUT_OF_MEMORY", "REVOKED"};
	for (size_t i = 0; i < GG_ARRAY_LEN(done); i++)
		if (!strncmp(s, done[i], strlen(done[i])))
			return true;
	return false;
}

/* Asks squeue about every job; ends those that are gone without a response. */
static void check_queue(struct strans *t)
{
	char *av[] = {"squeue", "-h", "-t", "all", "-o", "%i %T", NULL};
	struct buf out = BUF_INIT;
	int st = run_capture(t, av, &out, cancel_waiting, t);
	if (st != 0) {
		buf_free(&out);
		return; /* the controller may be busy (or a call is cancelled): ask again later */
	}
	for (struct sjob *j = t->active, *next; j; j = next) {
		next = j->next;
		const char *state = NULL;
		size_t n = strlen(j->jobid);
		for (char *line = out.data; line && *line;) {
			char *nl = strchr(line, '\n');
			if (!strncmp(line, j->jobid, n) && line[n] == ' ') {
				state = line + n + 1;
				break;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (state)
			snprintf(j->state, sizeof j->state, "%.*s", (int)strcspn(state, " \n"),
			         state);
		if (state && !terminal_state(state)) {
			j->gone = 0;
			continue;
		}
		if (try_response(t, j))
			continue;
		if (++j->gone < GONE_POLLS)
			continue;
		char st_name[32] = "gone from squeue";
		if (state) {
			size_t k = strcspn(state, "\n");
			snprintf(st_name, sizeof st_name, "%.*s", (int)(k < 31 ? k : 31), state);
		}
		unlink_active(t, j);
		char *tail = log_tail(j->log);
		char *e = xasprintf("slurm job %s ended (%s) without a response; its log: %s",
		                    j->jobid, st_name, tail);
		free(tail);
		complete(t, j, -1, e);
	}
	buf_free(&out);
}

/* Takes the job off the active list and cancels it in Slurm (whatever
 * scancel says: a job that already ended is no error). */
static void scancel(struct strans *t, struct sjob *j)
{
	unlink_active(t, j);
	char *av[] = {"scancel", j->jobid, NULL};
	struct buf out = BUF_INIT;
	run_capture(t, av, &out, NULL, NULL); /* not stopped: it is the cancellation */
	buf_free(&out);
}

static void cancel_flagged(struct strans *t)
{
	for (struct sjob *j = t->active, *next; j; j = next) {
		next = j->next;
		if (!atomic_load(&j->call->cancel_requested))
			continue;
		scancel(t, j);
		complete(t, j, -1, xstrdup("cancelled"));
	}
}

/* Cancels the jobs without a response past their call's timeout plus the
 * grace, counted from submission (see the header): they fail with
 * GG_ELIMIT. A call without a timeout (GG_REMOTE_TIMEOUT=0) waits. */
static void expire_late(struct strans *t, uint64_t now)
{
	for (struct sjob *j = t->active, *next; j; j = next) {
		next = j->next;
		uint64_t timeout_ms = j->call->timeout_ms,
		         waited_ms = (now - j->call->t_sent) / 1000000;
		uint64_t limit_ms =
		    timeout_ms > UINT64_MAX - t->grace_ms ? UINT64_MAX : timeout_ms + t->grace_ms;
		if (!timeout_ms || waited_ms < limit_ms || try_response(t, j))
			continue;
		scancel(t, j);
		char seen[64] = "";
		if (j->state[0])
			snprintf(seen, sizeof seen, "; squeue last said %s", j->state);
		char *e = xasprintf("slurm job %s: no response within its limit of %g s (the "
		                    "thunk's timeout or GG_REMOTE_TIMEOUT, %g s, plus "
		                    "GG_SLURM_GRACE, %g s, from submission, time in the queue "
		                    "included)%s; cancelled with scancel",
		                    j->jobid, (double)limit_ms / 1000, (double)timeout_ms / 1000,
		                    (double)t->grace_ms / 1000, seen);
		j->call->code = GG_ELIMIT; /* before complete(): the call is then the pipeline's */
		complete(t, j, -1, e);
	}
}

static void *slurm_main(void *p)
{
	struct strans *t = p;
	for (;;) {
		pthread_mutex_lock(&t->mu);
		if (!t->inbox && !t->cancel_pending && !(t->stopping && !t->nlive)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += POLL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L)
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			pthread_cond_timedwait(&t->cv, &t->mu, &ts);
		}
		struct sjob *in = t->inbox;
		t->inbox = NULL;
		bool cancels = t->cancel_pending;
		t->cancel_pending = false;
		bool done = t->stopping && !t->nlive;
		pthread_mutex_unlock(&t->mu);
		if (done)
			break;
		while (in) {
			struct sjob *j = in;
			in = in->next;
			j->call->t_sent = now_ns();
			char *why = NULL;
			if (controller_hung(t, &why)) {
				/* not one more sbatch to wait for: the call goes elsewhere */
				complete(t, j, -1, xasprintf("not submitted: %s", why));
				free(why);
			} else if (submit(t, j) < 0) {
				complete(t, j, -1, xstrdup(gg_last_error()));
			} else {
				j->next = t->active;
				t->active = j;
			}
		}
		if (cancels)
			cancel_flagged(t);
		for (struct sjob *j = t->active, *next; j; j = next) {
			next = j->next;
			try_response(t, j);
		}
		uint64_t now = now_ns();
		if (t->active && now - t->last_squeue >= SQUEUE_EVERY_MS * 1000000ull) {
			t->last_squeue = now;
			check_queue(t);
		}
		expire_late(t, now);
	}
	return NULL;
}

static int s_start(struct remote_transport *rt, struct remote_call *call)
{
	struct strans *t = (struct strans *)rt;
	struct sjob *j = xcalloc(1, sizeof *j);
	j->call = call;
	pthread_mutex_lock(&t->mu);
	j->next = t->inbox;
	t->inbox = j;
	t->nlive++;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void s_cancel(struct remote_transport *rt, struct remote_call *call)
{
	struct strans *t = (struct strans *)rt;
	(void)call;
	pthread_mutex_lock(&t->mu);
	t->cancel_pending = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Not while Slurm's controller does not answer: the scheduler then hands
 * thunks to the next engine. */
static bool s_usable(struct remote_transport *rt, char **why)
{
	return !controller_hung((struct strans *)rt, why);
}

static void s_destroy(struct remote_transport *rt)
{
	struct strans *t = (struct strans *)rt;
	if (t->thread_started) {
		pthread_mutex_lock(&t->mu);
		t->stopping = true;
		pthread_cond_signal(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->thread, NULL);
	}
	if (t->own_dir && !getenv("GG_SLURM_KEEP"))
		rmdir(t->dir); /* only if empty: failed jobs' logs stay when kept */
	free(t->dir);
	free(t->partition);
	free(t->gg);
	free(t->worker_dir);
	strvec_free(&t->extra);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

static const struct remote_transport_ops slurm_transport_ops = {
    .start = s_start,
    .cancel = s_cancel,
    .destroy = s_destroy,
    .usable = s_usable,
};

static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return xstrdup(buf);
}

int engine_slurm_create(const char *args, int limit, const struct engine_config *cfg,
                        struct engine **out)
{
	if (args &&
	    (!*args ||
	     strspn(args, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-,.") !=
	         strlen(args)))
		return gg_error("engine slurm: '%s' is not a partition name", args);
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct strans *t = xcalloc(1, sizeof *t);
	t->base.ops = &slurm_transport_ops;
	t->partition = args ? xstrdup(args) : NULL;
	const char *d = getenv("GG_SLURM_DIR");
	int r = 0;
	if (d && *d) {
		t->dir = xstrdup(d);
		r = mkdir_p(t->dir, 0700);
	} else {
		t->dir = xasprintf("%s/gg-slurm.XXXXXX", tmp);
		t->own_dir = true;
		if (!mkdtemp(t->dir)) /* 0700: requests are for this user's jobs only */
			r = gg_error_errno("cannot create %s", t->dir);
	}
	const char *g = getenv("GG_SLURM_GG");
	t->gg = g && *g ? xstrdup(g) : self_path();
	if (r == 0 && !t->gg)
		r = gg_error("engine slurm: cannot find this gg binary; set GG_SLURM_GG");
	const char *wd = getenv("GG_SLURM_WORKER_DIR");
	t->worker_dir = wd && *wd ? xstrdup(wd) : xasprintf("%s/gg-slurm-worker", tmp);
	const char *extra = getenv("GG_SLURM_ARGS");
	if (extra) {
		char *copy = xstrdup(extra), *save = NULL;
		for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			strvec_push(&t->extra, w);
		free(copy);
	}
	uint64_t timeout_ms = 0, grace_s = 0, command_s = 0;
	if (r == 0 && (remote_env_timeout_ms(&timeout_ms) < 0 ||
	               env_u64("GG_SLURM_GRACE", 60, 0, 86400, &grace_s) < 0 ||
	               env_u64("GG_SLURM_COMMAND_TIMEOUT", 60, 1, 3600, &command_s) < 0))
		r = -1;
	t->grace_ms = grace_s * 1000;
	t->command_ms = command_s * 1000;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (r == 0 && pthread_create(&t->thread, NULL, slurm_main, t) != 0)
		r = gg_error("engine slurm: cannot start its thread");
	if (r < 0) {
		s_destroy(&t->base);
		return -1;
	}
	t->thread_started = true;
	struct remote_config rc = {
	    .label = "slurm",
	    .max_inline_thunk = 4u << 20,
	    .inline_limit = WIRE_INLINE_TOTAL,
	    .default_timeout_ms = timeout_ms,
	    .deadline_hint = "no response within GG_REMOTE_TIMEOUT plus GG_SLURM_GRACE",
	};
	return remote_engine_create(&t->base, &rc, limit > 0 ? limit : 100, cfg, out);
}
