/**
 * @file cmd_force.c
 * `gg force`, `gg cat` and `gg run` (also reached as `gg-run` from a
 * placeholder's "#!" line): everything that forces references.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "backend/engine/engine.h"
#include "backend/storage/remote_cache.h"
#include "core/discover.h"
#include "core/force.h"
#include "core/process.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char force_help[] =
    "usage: gg force [-j N] [-e ENGINE]... [--keep-going] [--stdout] [--trace FILE] "
    "[--no-progress] TARGET...\n"
    "\n"
    "TARGET is a placeholder file (replaced in place by its output) or an object\n"
    "name / THUNK#OUTPUT reference (its value's name is printed).\n"
    "\n"
    "  -j, --jobs N       thunks to run at once (default: number of CPUs)\n"
    "  -k, --keep-going   go on with everything that does not depend on a failure\n"
    "  --stdout           print the outputs' bytes instead of replacing placeholders\n"
    "  --trace FILE       write a Chrome trace-event JSON timeline of every thunk\n"
    "  --no-progress      no status line even on a terminal\n"
    "  --summary          print how many thunks ran, came from the memo and failed\n"
    "  --no-sandbox       run thunks in a plain directory, without namespaces\n"
    "\n"
    "Limits per thunk run here (see LIMITS in gg-force(1)), each a number or none:\n"
    "  --memory-limit SIZE    memory (default $GG_MEMORY_LIMIT, else half the RAM)\n"
    "  --process-limit N      processes and threads (default $GG_PROCESS_LIMIT, else 4096)\n"
    "  --default-timeout SEC  for thunks without --timeout (default $GG_TIMEOUT, else 3600)\n"
    "\n"
    "Engines (see ENGINES in gg-force(1)); without -e, $GG_ENGINE, else local:\n"
    "  -e, --engine ENGINE[=ARGS]  run thunks there, up to the -j given before it;\n"
    "                     repeat to mix, tried in order: -j 1000 -e lambda=f -j 2 -e local\n"
    "                     local | http=URL[,URL...] | lambda=FUNCTION[@REGION] | "
    "slurm[=PARTITION]\n"
    "  --storage URI      where remote workers find inputs, and the shared cache\n"
    "                     (default $GG_STORAGE)\n"
    "  --remote-cache MODE  off | read | readwrite: ask the shared cache in the\n"
    "                     storage before running a thunk; publish what ran\n"
    "                     (default $GG_REMOTE_CACHE, else off; see gg-storage(7))\n"
    "  --speculate MS     copy a thunk still running after MS ms to a free slot\n"
    "                     (on by default with http and lambda, from observed run times)\n"
    "  --no-speculate     never run speculative copies\n"
    "  --retries N        retries of infrastructure failures per thunk (default 3)\n"
    "  --max-depth N      follow at most N thunks output by thunks (default 10000)\n";

/* What the scheduler's notices need. */
struct notice_ctx {
	bool status_line; /* one is drawn on stderr */
	struct store *store;
	const char **failures; /* the messages of failures shown as they happened */
	size_t nfailures, failures_cap;
};

/* Notices while thunks run: above the status line where one is drawn (it is
 * drawn again at the next tick), plain lines otherwise. */
static void print_notice(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void print_notice(void *arg, const char *fmt, ...)
{
	const struct notice_ctx *nc = arg;
	va_list ap;
	va_start(ap, fmt);
	flockfile(stderr);
	fputs(nc->status_line ? "\r\x1b[Kgg: " : "gg: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

/* A thunk that ran wrote on stderr (a compiler's warnings, a script's "not
 * found"): shown as make shows it, once; `gg log` shows it again. */
#define STDERR_SHOWN (64u << 10)
static void print_stderr(void *arg, const char *thunk, const struct gg_name *value)
{
	const struct notice_ctx *nc = arg;
	struct buf b = BUF_INIT;
	if (store_read(nc->store, value, &b, 1u << 20) < 0) {
		print_notice(arg, "%s wrote on stderr, but it cannot be read: %s", thunk,
		             gg_last_error());
		buf_free(&b);
		return;
	}
	size_t skip = b.len > STDERR_SHOWN ? b.len - STDERR_SHOWN : 0;
	flockfile(stderr);
	print_notice(arg, "%s wrote on stderr:", thunk);
	if (skip)
		fprintf(stderr, "[... %zu bytes before; gg log shows them all]\n", skip);
	fwrite(b.data + skip, 1, b.len - skip, stderr);
	if (b.len && b.data[b.len - 1] != '\n')
		fputc('\n', stderr);
	funlockfile(stderr);
	buf_free(&b);
}

static void print_notice_msg(void *arg, const char *msg)
{
	print_notice(arg, "%s", msg);
}

/* ", N from the shared cache" for the summary line. */
static const char *shared_count_text(size_t n)
{
	static char b[64];
	snprintf(b, sizeof b, " (%zu of them from the shared cache)", n);
	return b;
}

static void print_fallback(void *arg, const char *thunk, const char *engine, const char *why)
{
	print_notice(arg, "%s runs on %s: %s", thunk, engine, why);
}

/* -k: a failure is shown as it happens (the rest goes on); the end names
 * the targets it failed, in one line each. */
static void print_failure(void *arg, const char *msg)
{
	struct notice_ctx *nc = arg;
	print_notice(arg, "%s", msg);
	ALLOC_GROW(nc->failures, nc->nfailures + 1, nc->failures_cap);
	nc->failures[nc->nfailures++] = msg;
}

static bool failure_shown(const struct notice_ctx *nc, const char *msg)
{
	for (size_t i = 0; i < nc->nfailures; i++)
		if (nc->failures[i] == msg)
			return true;
	return false;
}

static void print_retry(void *arg, const char *thunk, const char *engine, int attempt,
                        const char *why)
{
	print_notice(arg, "%s: attempt %d on %s failed (%s); trying again", thunk, attempt, engine,
	             why);
}

/*
 * SIGINT, SIGTERM and SIGHUP cancel the force: running thunks are killed,
 * nothing new starts, and gg says what finished and exits with 130. A
 * second signal exits at once.
 */
static struct gg_cancel force_cancel;
static volatile sig_atomic_t signals_seen;

static void on_cancel_signal(int sig)
{
	if (signals_seen++)
		_exit(128 + sig);
	static const char msg[] = "\ngg: cancelling (send it again to stop at once)\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	gg_cancel_fire(&force_cancel);
}

/* SIGINT and SIGTERM always cancel: a script's background job starts with
 * SIGINT ignored, and a `kill -INT` is still a request to stop. A hangup
 * does not after nohup: a force started ignoring SIGHUP goes on. */
static void catch_cancel_signals(bool on)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	static struct sigaction before[GG_ARRAY_LEN(sigs)];
	if (!on) {
		signals_restore(sigs, GG_ARRAY_LEN(sigs), before);
		return;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_cancel_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &before[0]);
	sigaction(SIGTERM, &sa, &before[1]);
	signals_catch(&sigs[2], 1, on_cancel_signal, &before[2]);
}

int cmd_force(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"jobs", required_argument, 0, 'j'},
	    {"keep-going", no_argument, 0, 'k'},
	    {"stdout", no_argument, 0, 's'},
	    {"trace", required_argument, 0, 't'},
	    {"no-progress", no_argument, 0, 'P'},
	    {"no-sandbox", no_argument, 0, 'S'},
	    {"summary", no_argument, 0, 'M'},
	    {"help", no_argument, 0, 'h'},
	    {"engine", required_argument, 0, 'e'},
	    {"storage", required_argument, 0, 'U'},
	    {"remote-cache", required_argument, 0, 'C'},
	    {"speculate", required_argument, 0, 'x'},
	    {"no-speculate", no_argument, 0, 'X'},
	    {"retries", required_argument, 0, 'R'},
	    {"max-depth", required_argument, 0, 'D'},
	    {"memory-limit", required_argument, 0, 'L'},
	    {"process-limit", required_argument, 0, 'N'},
	    {"default-timeout", required_argument, 0, 'T'},
	    {0},
	};
	bool summary = false;
	struct sched_opts so = {.max_retries = -1, .progress = true};
	int jobs = 0; /* -j */
	bool to_stdout = false;
	struct engine_spec *specs = NULL;
	size_t nspecs = 0, specs_cap = 0;
	const char *storage = NULL, *cache_mode = NULL;
	int spec_mode = 0; /* 1: --speculate given, -1: --no-speculate */
	bool j_before_e = false;
	int c;
	/* Flags win over the environment (and the configuration file). */
	if (exec_limits_from_env(&so.exec.limits) < 0)
		return report_last();
	/* Its own getopt loop, not read_options: more options than that takes.
	 * optind 0, not 1: getopt starts afresh (see read_options). */
	optind = 0;
	while ((c = getopt_long(argc, argv, "j:e:kh", opts, NULL)) != -1) {
		uint64_t j;
		switch (c) {
		case 'j':
			if (parse_u64(optarg, &j) < 0 || j == 0 || j > 100000)
				return report_usage(
				    "-j %s: expected a number of jobs from 1 to 100000", optarg);
			jobs = (int)j;
			j_before_e |= nspecs == 0;
			break;
		case 'e':
			if (engine_spec_check(optarg) < 0)
				return report_usage("%s", gg_last_error());
			ALLOC_GROW(specs, nspecs + 1, specs_cap);
			specs[nspecs++] = (struct engine_spec){xstrdup(optarg), jobs};
			break;
		case 'U': storage = optarg; break;
		case 'C':
			if (remote_cache_mode_parse(optarg, &(enum remote_cache_mode){0}) < 0)
				return report_last();
			cache_mode = optarg;
			break;
		case 'x':
			if (parse_u64(optarg, &j) < 0 || j == 0)
				return report_usage("--speculate %s: expected milliseconds",
				                    optarg);
			so.speculate_ms = j;
			spec_mode = 1;
			break;
		case 'X': spec_mode = -1; break;
		case 'R':
			if (parse_u64(optarg, &j) < 0 || j > 100)
				return report_usage("--retries %s: expected a number from 0 to 100",
				                    optarg);
			so.max_retries = (int)j;
			break;
		case 'D':
			if (parse_u64(optarg, &j) < 0 || j == 0 || j > 100000000)
				return report_usage(
				    "--max-depth %s: expected a number from 1 to 100000000",
				    optarg);
			so.max_dynamic_depth = (size_t)j;
			break;
		case 'k': so.keep_going = true; break;
		case 's': to_stdout = true; break;
		case 't': so.trace_path = optarg; break;
		case 'P': so.progress = false; break;
		case 'S': so.exec.no_isolation = true; break;
		case 'L':
			if (exec_limit_parse("memory", "--memory-limit", optarg,
			                     &so.exec.limits.memory) < 0)
				return report_usage("%s", gg_last_error());
			break;
		case 'N':
			if (exec_limit_parse("process", "--process-limit", optarg,
			                     &so.exec.limits.procs) < 0)
				return report_usage("%s", gg_last_error());
			break;
		case 'T':
			if (exec_limit_parse("timeout", "--default-timeout", optarg,
			                     &so.exec.limits.timeout_ms) < 0)
				return report_usage("%s", gg_last_error());
			break;
		case 'M': summary = true; break;
		case 'h': fputs(force_help, stdout); return 0;
		default: fputs(force_help, stderr); return 2;
		}
	}
	/* -j given only after every -e: it is the limit of all of them */
	for (size_t i = 0; i < nspecs && !j_before_e; i++)
		specs[i].limit = jobs;
	int bad = optind == argc ? report_usage("force: no TARGET given") : 0;
	if (!bad && !nspecs && getenv("GG_ENGINE") && *getenv("GG_ENGINE") &&
	    engine_specs_parse(getenv("GG_ENGINE"), &specs, &nspecs, &specs_cap) < 0) {
		gg_error("GG_ENGINE: %s", gg_last_error());
		bad = report_last();
	}
	if (bad) {
		engine_specs_free(specs, nspecs);
		return bad;
	}
	if (!nspecs) { /* no -e and no $GG_ENGINE: the local engine */
		ALLOC_GROW(specs, nspecs + 1, specs_cap);
		specs[nspecs++] = (struct engine_spec){xstrdup("local"), jobs};
	}
	for (size_t i = 0; i < nspecs; i++)
		if (!specs[i].limit && jobs && !strcmp(specs[i].spec, "local"))
			specs[i].limit = jobs;
	size_t n = (size_t)(argc - optind);
	/* Ordinary files need no store, thunk names do. */
	struct store *s = NULL;
	char *no_store = open_store(false, &s) < 0 ? xstrdup(gg_last_error()) : NULL;
	enum gg_code no_store_code = gg_last_code();
	struct force_target *t = xcalloc(n, sizeof *t);
	int rc = 0;
	size_t nt = 0, k = 0; /* parsed targets; of them, to force */
	for (size_t i = 0; i < n; i++) {
		if (force_target_parse(s, argv[optind + (int)i], &t[nt]) < 0) {
			int st = report_last();
			rc = st > rc ? st : rc;
			continue;
		}
		k += !t[nt++].plain;
	}
	if (k && !s) {
		report_error("%s", no_store);
		rc = exit_status_of(no_store_code);
		k = 0;
	}
	struct engine **engines = NULL;
	bool engines_failed = false;
	if (k) {
		struct engine_config cfg = {.store = s, .exec = so.exec, .storage_uri = storage};
		if (engine_create_all(specs, nspecs, &cfg, &engines) < 0) {
			rc = report_last();
			engines_failed = true;
		} else {
			so.engines = engines;
			so.nengines = nspecs;
			for (size_t i = 0; i < nspecs; i++)
				if (engine_starts_at_once(engines[i]))
					so.speculate = true;
		}
	}
	if (spec_mode)
		so.speculate = spec_mode > 0;
	static struct notice_ctx notices;
	notices = (struct notice_ctx){so.progress && isatty(2), s, NULL, 0, 0};
	struct remote_cache *cache = NULL;
	struct remote_cache_opts co = {
	    .mode = cache_mode, .uri = storage, .notice = print_notice_msg, .notice_arg = &notices};
	if (k && !engines_failed && remote_cache_open(s, &co, &cache) < 0) {
		rc = report_last();
		engines_failed = true; /* nothing is forced */
	}
	remote_cache_attach(cache, &so);
	so.on_fallback = print_fallback;
	so.on_retry = print_retry;
	so.on_stderr = print_stderr;
	if (so.keep_going)
		so.on_failure = print_failure;
	so.fallback_arg = &notices;
	bool have_cancel = k && !engines_failed && gg_cancel_init(&force_cancel) == 0;
	if (have_cancel) {
		so.cancel = &force_cancel;
		catch_cancel_signals(true);
	}
	struct force_run run = {0};
	if (k && !engines_failed && force_targets(s, &so, t, nt, !to_stdout, &run) < 0) {
		rc = report_last();
	} else if (k && !engines_failed) {
		bool cancelled = gg_cancel_fired(so.cancel);
		if (summary || cancelled)
			fprintf(stderr, "gg: %sexecuted %zu, from memo %zu, failed %zu%s\n",
			        cancelled ? "cancelled; before that: " : "", run.stats.executed,
			        run.stats.cached, run.stats.failed,
			        cache ? shared_count_text(run.stats.remote) : "");
		for (size_t j = 0; j < nt; j++) {
			const struct sched_outcome *o = &t[j].result;
			if (t[j].plain)
				continue;
			if (o->status != 0) {
				/* Print each distinct failure once. */
				bool seen = false;
				for (size_t m = 0; m < j; m++)
					seen |= !t[m].plain && t[m].result.status != 0 &&
					        t[m].result.error == o->error;
				if (!seen && failure_shown(&notices, o->error))
					fprintf(stderr, "gg: %s: %.*s\n", t[j].arg,
					        (int)strcspn(o->error, "\n"), o->error);
				else if (!seen)
					fprintf(stderr, "gg: %s: %s\n", t[j].arg, o->error);
				int st = exit_status_of(o->code);
				rc = st > rc ? st : rc;
			} else if (to_stdout && o->link) {
				/* its value is the target's text, not a file's bytes */
				rc = report_error(
				    "%s is a symbolic link (its target is value %s); gg "
				    "never follows links",
				    t[j].arg, o->value.s);
			} else if (to_stdout && copy_object_to_fd(s, &o->value, 1) < 0) {
				rc = report_last();
			} else if (!to_stdout && !t[j].is_file) {
				printf("%s\n", o->value.s);
			}
		}
		if (cancelled)
			rc = 130;
	}
	force_run_end(&run);
	free(notices.failures);
	remote_cache_close(cache);
	if (have_cancel) {
		catch_cancel_signals(false);
		gg_cancel_destroy(&force_cancel);
	}
	engines_destroy(engines, nspecs);
	engine_specs_free(specs, nspecs);
	for (size_t j = 0; j < nt; j++)
		force_target_free(&t[j]);
	free(t);
	free(no_store);
	store_close(s);
	return rc;
}

/*
 * The store of a placeholder: the nearest ".gg" above the file it really is
 * (symlinks resolved), so that it runs by absolute path, from any directory
 * and through links; its bytes name no path, which would tie them to one
 * checkout. Found as every store is found (discover.h: never another user's
 * unless shared or listed). NULL when there is none above it, or it was
 * refused (the error says which).
 */
static char *store_above(const char *file)
{
	char *dir = realpath(file, NULL);
	if (!dir)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0; /* a file in / */
	else if (slash)
		*slash = 0;
	char *found = store_discover(dir);
	free(dir);
	return found;
}

/* Forces one target and returns its value (and exec bit): 1, or 0 for an
 * ordinary file, or -1. `own_store`: a placeholder's store is the one above
 * it (then $GG_DIR, then the one above here). A symbolic link is refused,
 * naming its target: its value is the target's text, not the file's bytes,
 * and gg never follows a link. */
static int force_one(const char *arg, bool own_store, struct store **s, struct gg_name *value,
                     bool *exec)
{
	struct force_target t;
	if (force_target_parse(NULL, arg, &t) < 0)
		return -1;
	if (t.plain)
		return 0;
	force_target_free(&t);
	char *own = own_store ? store_above(arg) : NULL;
	if (own_store && !own && gg_last_code() == GG_EDENIED)
		return gg_fail(GG_EDENIED, "%s: %s", arg, gg_last_error());
	int opened = own ? store_open(own, s) : open_store(false, s);
	if (opened < 0 && own_store && !own && gg_last_code() == GG_ENOTFOUND)
		gg_fail(
		    GG_ENOTFOUND,
		    "%s: no .gg directory above the placeholder, in $GG_DIR or above the current "
		    "directory (run 'gg init' where it was built, or set GG_DIR)",
		    arg);
	free(own);
	if (opened < 0 || force_target_parse(*s, arg, &t) < 0)
		return -1;
	struct engine *local;
	struct engine_config cfg = {.store = *s};
	if (engine_local_create(0, &cfg, &local) < 0) {
		force_target_free(&t);
		return -1;
	}
	struct sched_opts so = {
	    .max_retries = -1, .progress = true, .engines = &local, .nengines = 1};
	/* the shared cache as configured ($GG_REMOTE_CACHE, $GG_STORAGE) */
	struct remote_cache *cache = NULL;
	if (remote_cache_open(*s, &(struct remote_cache_opts){0}, &cache) < 0) {
		engine_destroy(local);
		force_target_free(&t);
		return -1;
	}
	remote_cache_attach(cache, &so);
	struct force_run run;
	int r = -1;
	/* The value is read whole: a remote one (store.h) is fetched now, while
	 * the cache is open; one the remote store lost or damaged is forgotten
	 * on the way, so that forcing once more computes or fetches it anew. */
	for (int attempt = 0; attempt < 2; attempt++) {
		r = force_targets(*s, &so, &t, 1, false, &run);
		if (r == 0 && t.result.status != 0)
			r = gg_fail(t.result.code, "%s: %s", arg, t.result.error);
		bool again = false;
		if (r == 0 && store_is_remote(*s, &t.result.value) &&
		    store_verify(*s, &t.result.value) < 0) {
			r = gg_error("%s: %s", arg, gg_last_error());
			again = gg_last_code() == GG_ECORRUPT;
		}
		if (r == 0 && t.result.link) {
			char *target = NULL;
			if (store_read_link(*s, &t.result.value, &target) == 0)
				r = gg_fail(
				    GG_EINVALID,
				    "%s is a symbolic link to '%s' (gg never follows links; "
				    "'gg force' on its placeholder makes the link)",
				    arg, target);
			else
				r = gg_error("%s: %s", arg, gg_last_error());
			free(target);
		}
		if (r == 0) {
			*value = t.result.value;
			*exec = t.result.exec;
		}
		force_run_end(&run);
		if (!again)
			break;
	}
	engine_destroy(local);
	remote_cache_close(cache);
	force_target_free(&t);
	return r < 0 ? -1 : 1;
}

int cmd_cat(int argc, char **argv)
{
	int done = read_flags(argc, argv, NULL,
	                      "usage: gg cat TARGET\nPrints a value; forces a thunk output or "
	                      "placeholder first.\n",
	                      "usage: gg cat TARGET");
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return report_usage("usage: gg cat TARGET");
	const char *target = argv[optind];
	struct store *s = NULL;
	struct gg_name v;
	bool exec;
	int r = force_one(target, false, &s, &v, &exec);
	int rc = 0;
	if (r < 0) {
		rc = report_last();
	} else if (r == 0) {
		/* an ordinary file: print it as it is */
		int fd = open(target, O_RDONLY | O_CLOEXEC);
		struct buf b = BUF_INIT;
		if (fd < 0 || read_fd_all(fd, &b, SIZE_MAX / 2) < 0 ||
		    write_all(1, b.data, b.len) < 0)
			rc = report_error("%s: %s", target, strerror(errno));
		if (fd >= 0)
			close(fd);
		buf_free(&b);
	} else if (copy_object_to_fd(s, &v, 1) < 0) {
		rc = report_last();
	}
	store_close(s);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs("usage: gg run PLACEHOLDER [ARG...]   (or: ./PLACEHOLDER [ARG...])\n"
		      "Forces the placeholder and executes the result with the arguments.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	struct store *s = NULL;
	struct gg_name v;
	bool exec;
	int r = force_one(argv[1], true, &s, &v, &exec);
	if (r < 0)
		return report_last();
	if (r == 0) {
		execv(argv[1], argv + 1);
		return report_error("cannot execute %s: %s", argv[1], strerror(errno));
	}
	char *path;
	if (store_object_path_mode(s, &v, true, &path) < 0)
		return report_last();
	execv(path, argv + 1);
	return report_error("cannot execute %s (%s): %s", argv[1], v.s, strerror(errno));
}
