/**
 * @file cmd_report.c
 * `gg report`: turns a `gg force --trace` file into a text summary (wall
 * time, busy time per phase, utilisation, the slowest thunks, the critical
 * path) and, with --svg, a timeline picture (report_svg.c).
 *
 * The critical path needs dependency edges. When the events carry
 * "args":{"thunk":NAME,"deps":[...]} it is the longest chain of runs through
 * those edges. Without them it prints the "timing chain" instead, clearly
 * labelled: walking back from the run that ended last, each step is the run
 * that ended last before the current one began (a dependency, or only a
 * slot that became free). It does not read the store.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"
#include "tools/trace/report_svg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: gg report [--svg FILE] [--top N] TRACE.json\n"
    "\n"
    "Summarises a trace written by `gg force --trace FILE`: wall time, busy time\n"
    "per phase, utilisation of the slots, the slowest thunks and the critical\n"
    "path.\n"
    "\n"
    "  --svg FILE   also draw the timeline as SVG: one row per worker slot, one bar\n"
    "               per phase, the thunk's label as a tooltip\n"
    "  --top N      how many of the slowest thunks to list (default 10; 0 = none)\n";

/* Durations in the text: seconds with millisecond precision. */
static void print_secs(double us)
{
	printf("%9.3f s", us / 1e6);
}

/* Label for printing on a terminal: control bytes become '?'. */
static void print_label(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int cmp_run_total_desc(const void *a, const void *b)
{
	const struct trace_run *x = *(const struct trace_run *const *)a,
	                       *y = *(const struct trace_run *const *)b;
	double dx = x->end - x->start, dy = y->end - y->start;
	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

static void print_slowest(const struct trace *t, size_t top)
{
	if (!top || !t->nruns)
		return;
	const struct trace_run **v = xcalloc(t->nruns, sizeof *v);
	for (size_t i = 0; i < t->nruns; i++)
		v[i] = &t->runs[i];
	qsort(v, t->nruns, sizeof *v, cmp_run_total_desc);
	if (top > t->nruns)
		top = t->nruns;
	printf("\nslowest %zu thunk run%s:\n", top, top == 1 ? "" : "s");
	printf("      total          run  materialise        store   slot  thunk\n");
	for (size_t i = 0; i < top; i++) {
		const struct trace_run *u = v[i];
		print_secs(u->end - u->start);
		printf("  ");
		print_secs(u->phase[TP_RUN]);
		printf("  ");
		print_secs(u->phase[TP_MATERIALISE]);
		printf("  ");
		print_secs(u->phase[TP_STORE]);
		printf("  %5lld  ", u->tid);
		print_label(u->name);
		putchar('\n');
	}
	free(v);
}

static void print_chain(const struct trace *t, const size_t *chain, size_t n, double t0)
{
	for (size_t i = n; i-- > 0;) {
		const struct trace_run *u = &t->runs[chain[i]];
		printf("  at ");
		print_secs(u->start - t0);
		printf("  for ");
		print_secs(u->end - u->start);
		printf("  slot %lld  ", u->tid);
		print_label(u->name);
		putchar('\n');
	}
}

/* Index of a run by thunk name: the earliest-ending run of that thunk. */
static size_t find_thunk(const struct trace *t, const char *name)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < t->nruns; i++)
		if (t->runs[i].thunk && !strcmp(t->runs[i].thunk, name) &&
		    (best == SIZE_MAX || t->runs[i].end < t->runs[best].end))
			best = i;
	return best;
}

/*
 * The longest chain through the dependency edges, weighted by run time.
 * Runs are sorted by start, and a dependency ends before its dependent
 * starts, so one pass in start order sees every dependency first. Returns
 * false when the trace has no edges.
 */
static bool critical_path_from_deps(const struct trace *t, double t0)
{
	bool any = false;
	for (size_t i = 0; i < t->n && !any; i++)
		any = t->ev[i].thunk != NULL;
	if (!any)
		return false;
	double *len = xcalloc(t->nruns, sizeof *len);
	size_t *pred = xcalloc(t->nruns, sizeof *pred);
	size_t best = 0;
	for (size_t i = 0; i < t->nruns; i++) {
		const struct trace_run *u = &t->runs[i];
		pred[i] = SIZE_MAX;
		double longest = 0;
		/* the first of the run's events that carries edges */
		const struct strvec *deps = &t->ev[u->first].deps;
		for (size_t e = u->first; e < u->first + u->nev && !deps->n; e++)
			deps = &t->ev[e].deps;
		for (size_t k = 0; k < deps->n; k++) {
			size_t d = find_thunk(t, deps->v[k]);
			if (d == SIZE_MAX || d == i || t->runs[d].start >= u->start)
				continue; /* from the memo, or not before it */
			if (len[d] > longest) {
				longest = len[d];
				pred[i] = d;
			}
		}
		len[i] = longest + (u->end - u->start);
		if (len[i] > len[best])
			best = i;
	}
	size_t *chain = xcalloc(t->nruns, sizeof *chain), n = 0;
	for (size_t i = best; i != SIZE_MAX && n < t->nruns; i = pred[i])
		chain[n++] = i;
	printf("\ncritical path (longest chain of dependencies, by run time): %zu thunk%s, ", n,
	       n == 1 ? "" : "s");
	print_secs(len[best]);
	printf("\n");
	print_chain(t, chain, n, t0);
	free(chain);
	free(len);
	free(pred);
	return true;
}

static int cmp_by_end(const void *a, const void *b, void *arg)
{
	const struct trace *t = arg;
	const struct trace_run *x = &t->runs[*(const size_t *)a], *y = &t->runs[*(const size_t *)b];
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* See the file comment: the chain that timing alone allows. */
static void timing_chain(const struct trace *t, double t0)
{
	size_t n = t->nruns;
	size_t *by_end = xcalloc(n, sizeof *by_end), *chain = xcalloc(n, sizeof *chain), len = 0;
	for (size_t i = 0; i < n; i++)
		by_end[i] = i;
	qsort_r(by_end, n, sizeof *by_end, cmp_by_end, (void *)t);
	/* pos walks down by_end: each step moves strictly earlier, so it ends. */
	size_t pos = n - 1;
	double busy = 0;
	for (;;) {
		const struct trace_run *u = &t->runs[by_end[pos]];
		chain[len++] = by_end[pos];
		busy += u->end - u->start;
		size_t lo = 0, hi = pos; /* the last in [0, pos) with end <= u->start */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (t->runs[by_end[mid]].end <= u->start + 0.005)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			break;
		pos = lo - 1;
	}
	printf("\ncritical path: not in this trace (its events have no dependency edges).\n"
	       "timing chain instead: walking back from the last run to end, each step is the\n"
	       "run that ended last before the next one began (a dependency, or a slot that\n"
	       "became free): %zu thunk%s, ",
	       len, len == 1 ? "" : "s");
	print_secs(busy);
	printf(" busy\n");
	print_chain(t, chain, len, t0);
	free(by_end);
	free(chain);
}

static void print_summary(const char *path, const struct trace *t, size_t top)
{
	double t0 = 0, t1 = 0, busy[TP_COUNT] = {0}, total = 0;
	size_t slots = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_event *e = &t->ev[i];
		if (i == 0 || e->ts < t0)
			t0 = e->ts;
		if (i == 0 || e->ts + e->dur > t1)
			t1 = e->ts + e->dur;
		busy[e->phase] += e->dur;
		total += e->dur;
		if (i == 0 || e->tid != t->ev[i - 1].tid)
			slots++;
	}
	double wall = t1 - t0;
	printf("trace %s: %zu thunk run%s, %zu event%s on %zu slot%s", path, t->nruns,
	       t->nruns == 1 ? "" : "s", t->n, t->n == 1 ? "" : "s", slots, slots == 1 ? "" : "s");
	if (t->ignored > t->shared_hits)
		printf(" (%zu other event%s ignored)", t->ignored - t->shared_hits,
		       t->ignored - t->shared_hits == 1 ? "" : "s");
	printf("\n");
	if (t->shared_hits)
		printf("%zu result%s from the shared cache\n", t->shared_hits,
		       t->shared_hits == 1 ? "" : "s");
	if (!t->nruns) {
		printf("no thunk ran (everything came from the memo, or the trace is empty)\n");
		return;
	}
	printf("wall time      ");
	print_secs(wall);
	printf("  (first start to last end)\n");
	printf("busy time      ");
	print_secs(total);
	printf("\n");
	for (int p = 0; p < TP_COUNT; p++) {
		if (p == TP_OTHER && busy[p] == 0)
			continue;
		printf("  %-13s", trace_phase_names[p]);
		print_secs(busy[p]);
		printf("  %5.1f%%\n", total > 0 ? 100 * busy[p] / total : 0.0);
	}
	printf("utilisation    %9.1f%%  (busy time / (%zu slot%s x wall time))\n",
	       wall > 0 ? 100 * total / (wall * (double)slots) : 100.0, slots,
	       slots == 1 ? "" : "s");
	print_slowest(t, top);
	if (!critical_path_from_deps(t, t0))
		timing_chain(t, t0);
}

/* --svg and --top: long only (their val is not a letter) */
enum { OPT_SVG = 256, OPT_TOP };
struct report_opts {
	const char *svg;
	uint64_t top;
};

static int take_option(void *ctx, int opt, const char *arg)
{
	struct report_opts *o = ctx;
	if (opt == OPT_SVG)
		o->svg = arg;
	else if (parse_u64(arg, &o->top) < 0 || o->top > 1000000)
		return report_usage("--top %s: expected a number from 0 to 1000000", arg);
	return -1;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"svg", required_argument, 0, OPT_SVG},
	    {"top", required_argument, 0, OPT_TOP},
	    {0},
	};
	struct report_opts o = {.top = 10};
	int done =
	    read_options(argc, argv, opts, help,
	                 "usage: gg report [--svg FILE] [--top N] TRACE.json", take_option, &o);
	if (done >= 0)
		return done;
	const char *svg = o.svg;
	uint64_t top = o.top;
	if (optind != argc - 1) {
		fputs(help, stderr);
		return 2;
	}
	const char *path = argv[optind];
	struct trace t;
	if (trace_load(path, &t) < 0)
		return report_last();
	print_summary(path, &t, (size_t)top);
	int rc = 0;
	if (svg) {
		const char *base = strrchr(path, '/');
		char *title = xasprintf("gg force timeline: %s", base ? base + 1 : path);
		if (trace_write_svg(&t, svg, title) < 0)
			rc = report_last();
		else
			printf("\ntimeline written to %s\n", svg);
		free(title);
	}
	trace_free(&t);
	return rc;
}
