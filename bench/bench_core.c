/**
 * @file bench_core.c
 * Benchmarks of the foundation, each printed against a baseline measured in
 * the same run (the machine is shared and noisy, so ratios matter more than
 * absolute numbers):
 *
 *  1. sandbox: the hermetic executor (namespaces, chroot, rlimits) running a
 *     trivial static program N times, vs plain fork/exec of the same program
 *     in the same directory. Goal: <= 3 ms overhead per thunk.
 *  2. graph: forcing a graph of G trivial thunks (layers of 100, each thunk
 *     depending on one of the previous layer) with the local engine:
 *     coordinator CPU per thunk (this process's user+sys time minus nothing:
 *     the children's time is reported separately), peak memory per thunk.
 *     Goals: <= 100 us coordinator CPU and <= 2 KiB per thunk.
 *
 *  3. outputs: the bookkeeping of one thunk with many outputs (checking the
 *     thunk, recording each output, the memo entry, answering a reference to
 *     every output), with an engine that does no work, at 1,000 and 100,000
 *     outputs: the cost per output. Goal: the ratio <= 1.5x (flat).
 *
 * usage: build/bench/bench_core STORE_DIR TRIVIAL_STATIC_PROGRAM [N] [G] [WHICH]
 * WHICH is "all" (the default), "sandbox", "null" (the coordinator-only
 * graph), "local" (the graph with the local engine) or "outputs", to
 * profile one part.
 * (bench/run.sh builds the program and calls this.)
 */
#include "backend/engine/engine.h"
#include "core/sandbox.h"
#include "core/scheduler.h"
#include "core/store.h"
#include "core/thunk.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Lets the filesystem settle before a measurement: on ext4 without a journal
 * (this machine's root) the inode allocator skips, one by one, inodes freed
 * in the last 5 to 35 seconds, so file creation right after an earlier part's
 * deletions (or the previous run's rm -rf) costs up to 20x more and would be
 * charged to the part measured. $GG_BENCH_SETTLE seconds (default 6).
 */
static void settle(void)
{
	const char *e = getenv("GG_BENCH_SETTLE");
	sync();
	sleep(e ? (unsigned)atoi(e) : 6);
}

static double cpu_self_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* This process's system (kernel) CPU time: most of the coordinator's is. */
static double sys_self_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int plain_run(const char *dir, char *const *argv)
{
	pid_t p = fork();
	if (p == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		execve(argv[0], argv, (char *[]){NULL});
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void bench_sandbox(struct store *s, const char *prog, int n)
{
	char *root;
	if (store_make_tmpdir(s, "bench", &root) < 0)
		exit(1);
	char *dst = xasprintf("%s/prog", root), *out = xasprintf("%s.out", root),
	     *err = xasprintf("%s.err", root);
	struct buf b = BUF_INIT;
	if (read_file(prog, &b, 1 << 26) < 0 || write_file_atomic(dst, b.data, b.len, 0555) < 0) {
		fprintf(stderr, "bench: %s\n", gg_last_error());
		exit(1);
	}
	buf_free(&b);
	chmod(root, 0777);
	char *argv[] = {"./prog", "o", "x", NULL};
	char *pargv[] = {dst, "p", "x", NULL};
	/* warm up both */
	for (int i = 0; i < 5; i++)
		plain_run(root, pargv);
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (plain_run(root, pargv) < 0)
			fprintf(stderr, "bench: plain run failed\n");
	uint64_t plain = now_ns() - t0;
	struct sandbox_spec spec = {.root = root,
	                            .exe = "prog",
	                            .argv = argv,
	                            .env = (char *[]){NULL},
	                            .stdout_path = out,
	                            .stderr_path = err};
	struct sandbox_result r;
	for (int i = 0; i < 5; i++)
		sandbox_run(&spec, &r);
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (sandbox_run(&spec, &r) < 0 || !WIFEXITED(r.wait_status) ||
		    WEXITSTATUS(r.wait_status))
			fprintf(stderr, "bench: sandboxed run failed: %s\n", gg_last_error());
	uint64_t sandboxed = now_ns() - t0;
	double per_plain = (double)plain / n / 1e6, per_sb = (double)sandboxed / n / 1e6;
	printf("sandbox: %d runs of a trivial static program (%s)\n", n,
	       r.isolated ? "isolated" : "NOT isolated");
	printf("  plain fork/exec      %8.3f ms/run   (baseline)\n", per_plain);
	printf("  sandboxed            %8.3f ms/run   ratio %.2fx   overhead %.3f ms/thunk (goal "
	       "<= 3 ms)\n",
	       per_sb, per_sb / per_plain, per_sb - per_plain);
	/* As exec.c runs a thunk: in a control group of its own (cgroup.h). */
	if (cgroup_version()) {
		struct cgroup_run cg;
		t0 = now_ns();
		for (int i = 0; i < n; i++) {
			if (cgroup_run_create(1ull << 30, 4096, &cg) < 0) {
				fprintf(stderr, "bench: %s\n", gg_last_error());
				break;
			}
			spec.cgroup = &cg;
			if (sandbox_run(&spec, &r) < 0)
				fprintf(stderr, "bench: sandboxed run failed: %s\n",
				        gg_last_error());
			cgroup_run_destroy(&cg);
		}
		spec.cgroup = NULL;
		double per_cg = (double)(now_ns() - t0) / n / 1e6;
		printf(
		    "  sandboxed, cgroup v%d %8.3f ms/run   ratio %.2fx   overhead %.3f ms/thunk\n",
		    cgroup_version(), per_cg, per_cg / per_plain, per_cg - per_plain);
	}
	remove_tree(root);
	unlink(out);
	unlink(err);
	free(root), free(dst), free(out), free(err);
}

/*
 * An engine that does no work: it stores argv[2] as the output. Forcing a
 * graph with it measures the coordinator alone (graph loading, memo lookups,
 * dispatch, storing results and memo entries), without the sandbox.
 */
static int null_engine(void *ctx, struct store *s, const struct thunk *t, const struct exec_opts *o,
                       struct exec_result *r)
{
	(void)ctx, (void)o;
	memset(r, 0, sizeof *r);
	r->t_start = r->t_ran = r->t_run_end = r->t_end = now_ns();
	struct gg_name v;
	if (store_put_buf(s, t->argv.v[2], strlen(t->argv.v[2]), GG_VALUE, &v) < 0)
		return -1;
	memo_add(&r->outputs, t->outputs.v[0], &v, false);
	r->outcome = EXEC_OK;
	return 0;
}

/* An engine that does no work for a thunk with many outputs: each is one
 * small value (the same one), recorded as a real engine records outputs. */
static int many_engine(void *ctx, struct store *s, const struct thunk *t, const struct exec_opts *o,
                       struct exec_result *r)
{
	(void)ctx, (void)o;
	memset(r, 0, sizeof *r);
	r->t_start = r->t_ran = r->t_run_end = r->t_end = now_ns();
	struct gg_name v;
	if (store_put_buf(s, t->argv.v[1], strlen(t->argv.v[1]), GG_VALUE, &v) < 0)
		return -1;
	for (size_t i = 0; i < t->outputs.n; i++)
		memo_add(&r->outputs, t->outputs.v[i], &v, false);
	r->outcome = EXEC_OK;
	return 0;
}

/* Seconds to make, check, run and answer every output of a thunk with n outputs. */
static double many_outputs(struct store *s, const struct gg_name *prog, size_t n)
{
	char salt[32];
	snprintf(salt, sizeof salt, "%llu", (unsigned long long)now_ns());
	uint64_t t0 = now_ns();
	struct thunk t;
	thunk_init(&t);
	t.exe = xstrdup("prog");
	strvec_push(&t.argv, "prog");
	strvec_push(&t.argv, salt);
	/* Shuffled, as a build's outputs come: sorted ones would flatter a check. */
	for (size_t i = 0; i < n; i++)
		strvec_push_take(&t.outputs,
		                 xasprintf("out/%zu/f%zu.o", (i * 7919) % 97, (i * 104729) % n));
	struct gg_ref pref = {*prog, NULL};
	thunk_add_input(&t, "prog", &pref, true);
	struct gg_name tn;
	struct buf enc = BUF_INIT;
	if (thunk_name(&t, &tn, &enc) < 0 ||
	    store_put_buf(s, enc.data, enc.len, GG_THUNK, &tn) < 0) {
		fprintf(stderr, "bench: %s\n", gg_last_error());
		exit(1);
	}
	buf_free(&enc);
	struct gg_ref *refs = xcalloc(n, sizeof *refs);
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct gg_ref){tn, t.outputs.v[i]};
	struct sched_outcome *outs = xcalloc(n, sizeof *outs);
	struct engine_config cfg = {.store = s, .execute = many_engine};
	struct engine *local;
	if (engine_local_create(0, &cfg, &local) < 0)
		exit(1);
	struct sched_opts so = {.max_retries = -1, .engines = &local, .nengines = 1};
	struct sched *sc;
	if (sched_new(s, &so, &sc) < 0)
		exit(1);
	size_t failed = sched_force_all(sc, refs, n, outs);
	if (failed)
		fprintf(stderr, "bench: %zu of %zu outputs failed: %s\n", failed, n, outs[0].error);
	sched_free(sc);
	engine_destroy(local);
	double wall = (double)(now_ns() - t0) / 1e9;
	thunk_free(&t);
	free(refs);
	free(outs);
	return wall;
}

static void bench_outputs(struct store *s, const char *prog)
{
	struct gg_name pname;
	if (store_put_file(s, prog, &pname) < 0) {
		fprintf(stderr, "bench: %s\n", gg_last_error());
		exit(1);
	}
	size_t small = 1000, large = getenv("GG_BENCH_OUTPUTS")
	                                 ? (size_t)atol(getenv("GG_BENCH_OUTPUTS"))
	                                 : 100000;
	/* The least of a few runs of each size, so both are timed with a warm
	 * heap (the goal: bookkeeping that stays flat), less the cost of a
	 * thunk with one output (the thunk, the scheduler, the memo entry),
	 * charged to no output. The large size's first run is printed too: a
	 * real gg force of such a thunk is a fresh process, which also pays a
	 * page fault for each new page (costly on this VM). */
	double fixed = 1e9, a = 1e9, b = 1e9, first = 0;
	for (int i = 0; i < 5; i++) {
		double f = many_outputs(s, &pname, 1), x = many_outputs(s, &pname, small);
		fixed = f < fixed ? f : fixed;
		a = x < a ? x : a;
	}
	for (int i = 0; i < 3; i++) {
		double x = many_outputs(s, &pname, large);
		first = i ? first : x;
		b = x < b ? x : b;
	}
	a = (a - fixed) / (double)small;
	b = (b - fixed) / (double)large;
	first = (first - fixed) / (double)large;
	printf("outputs: one thunk with many outputs (check, record, memo, answer each), an engine "
	       "that does no work\n");
	printf("  one output           %8.2f us (the thunk's own cost, not counted below)\n",
	       fixed * 1e6);
	printf("  %6zu outputs         %8.2f us/output\n", small, a * 1e6);
	printf("  %6zu outputs         %8.2f us/output   ratio %.2fx (goal <= 1.5x)\n", large,
	       b * 1e6, b / a);
	printf("  %6zu outputs, first  %8.2f us/output   ratio %.2fx (its first run, on a fresh "
	       "heap)\n",
	       large, first * 1e6, first / a);
}

static void bench_graph(struct store *s, const char *prog, int g, bool null)
{
	struct gg_name pname;
	if (store_put_file(s, prog, &pname) < 0) {
		fprintf(stderr, "bench: %s\n", gg_last_error());
		exit(1);
	}
	/* A fresh salt makes every run's thunks new (no memo hits). */
	char salt[32];
	snprintf(salt, sizeof salt, "%llu", (unsigned long long)now_ns());
	struct gg_name *names = xcalloc((size_t)g, sizeof *names);
	double c0 = cpu_self_s();
	long rss0 = maxrss_kib();
	for (int i = 0; i < g; i++) {
		struct thunk t;
		thunk_init(&t);
		t.exe = xstrdup("prog");
		strvec_push(&t.argv, "prog");
		strvec_push(&t.argv, "o");
		strvec_push_take(&t.argv, xasprintf("%s-%d", salt, i));
		strvec_push(&t.outputs, "o");
		struct gg_ref pref = {pname, NULL};
		thunk_add_input(&t, "prog", &pref, true);
		if (i >= 100) {
			/* one input from a pseudo-random thunk of the previous layer */
			struct gg_ref dep = {names[(i / 100 - 1) * 100 + (i * 7) % 100], "o"};
			thunk_add_input(&t, "dep", &dep, false);
		}
		struct buf enc = BUF_INIT;
		if (thunk_name(&t, &names[i], &enc) < 0 ||
		    store_put_buf(s, enc.data, enc.len, GG_THUNK, &names[i]) < 0) {
			fprintf(stderr, "bench: %s\n", gg_last_error());
			exit(1);
		}
		buf_free(&enc);
		thunk_free(&t);
	}
	double create_cpu = cpu_self_s() - c0;
	/* Force the last layer: everything else is a dependency. */
	int last = g >= 100 ? 100 : g;
	struct gg_ref *refs = xcalloc((size_t)last, sizeof *refs);
	for (int i = 0; i < last; i++)
		refs[i] = (struct gg_ref){names[g - last + i], "o"};
	struct sched_outcome *outs = xcalloc((size_t)last, sizeof *outs);
	struct engine_config cfg = {.store = s, .execute = null ? null_engine : NULL};
	struct engine *local;
	if (engine_local_create(0, &cfg, &local) < 0)
		exit(1);
	struct sched_opts so = {.max_retries = -1, .engines = &local, .nengines = 1};
	struct sched *sc;
	if (sched_new(s, &so, &sc) < 0)
		exit(1);
	settle();
	c0 = cpu_self_s();
	double s0 = sys_self_s();
	uint64_t t0 = now_ns();
	size_t failed = sched_force_all(sc, refs, (size_t)last, outs);
	double wall = (double)(now_ns() - t0) / 1e9;
	double cpu = cpu_self_s() - c0, sys = sys_self_s() - s0;
	long rss = maxrss_kib();
	for (int i = 0; i < last; i++)
		if (outs[i].status) {
			fprintf(stderr, "bench: %s\n", outs[i].error);
			break;
		}
	struct sched_stats st;
	sched_get_stats(sc, &st);
	sched_free(sc);
	engine_destroy(local);
	struct rusage ch;
	getrusage(RUSAGE_CHILDREN, &ch);
	printf("graph: %d trivial thunks in layers of 100, %s, -j %ld (%zu failed, %zu executed)\n",
	       g,
	       null ? "coordinator only (an engine that does no work)" : "local sandboxed engine",
	       sysconf(_SC_NPROCESSORS_ONLN), failed, st.executed);
	printf("  wall                 %8.2f s        %.0f thunks/s\n", wall, g / wall);
	printf("  creating thunks      %8.1f us/thunk CPU\n", create_cpu * 1e6 / g);
	if (null)
		printf("  coordinator CPU      %8.1f us/thunk (goal <= 100 us; user %.1f, system "
		       "%.1f)\n",
		       cpu * 1e6 / g, (cpu - sys) * 1e6 / g, sys * 1e6 / g);
	else
		printf("  this process's CPU   %8.1f us/thunk (coordinator plus the executor: "
		       "materialising\n"
		       "                       inputs, creating namespaces, storing outputs)\n",
		       cpu * 1e6 / g);
	printf("  peak memory          %8.2f KiB/thunk above the start (goal <= 2 KiB); peak RSS "
	       "%ld KiB\n",
	       (double)(rss - rss0) / g, rss);
	free(refs);
	free(outs);
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
		        "usage: %s STORE_DIR TRIVIAL_STATIC_PROGRAM [SANDBOX_RUNS] [GRAPH_THUNKS] "
		        "[all|sandbox|null|local|outputs]\n",
		        argv[0]);
		return 2;
	}
	struct store *s;
	char *root;
	if (store_init(argv[1], &root) < 0 || store_open(root, &s) < 0) {
		fprintf(stderr, "bench: %s\n", gg_last_error());
		return 1;
	}
	int n = argc > 3 ? atoi(argv[3]) : 300, g = argc > 4 ? atoi(argv[4]) : 10000;
	const char *which = argc > 5 ? argv[5] : "all";
	bool all = !strcmp(which, "all");
	if (!all && strcmp(which, "sandbox") && strcmp(which, "null") && strcmp(which, "local") &&
	    strcmp(which, "outputs")) {
		fprintf(stderr, "bench: unknown part '%s' (all, sandbox, null, local or outputs)\n",
		        which);
		return 2;
	}
	settle();
	if (all || !strcmp(which, "sandbox"))
		bench_sandbox(s, argv[2], n);
	if (all || !strcmp(which, "null"))
		bench_graph(s, argv[2], g, true);
	if (all || !strcmp(which, "local"))
		bench_graph(s, argv[2], g / 10 > 100 ? g / 10 : g,
		            false); /* 10x fewer: real runs */
	if (all || !strcmp(which, "outputs"))
		bench_outputs(s, argv[2]);
	store_close(s);
	free(root);
	return 0;
}
