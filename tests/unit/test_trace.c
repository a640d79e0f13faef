/**
 * @file test_trace.c
 * Specification of core/trace (writing and reading what `gg force --trace` writes, for
 * gg report): complete events are kept and others counted; consecutive
 * phases of one thunk on one slot make one run; a malformed trace is
 * refused with its line and column, never half read.
 */
#include "core/json.h"
#include "core/trace.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char good[] =
    "{\"traceEvents\":[\n"
    "{\"name\":\"cc a.c\",\"cat\":\"materialise\",\"ph\":\"X\",\"tid\":1,\"ts\":0,\"dur\":10,"
    "\"args\":{\"thunk\":\"Ta\",\"deps\":[]}},\n"
    "{\"name\":\"cc a.c\",\"cat\":\"run\",\"ph\":\"X\",\"tid\":1,\"ts\":10,\"dur\":100},\n"
    "{\"name\":\"cc a.c\",\"cat\":\"store outputs\",\"ph\":\"X\",\"tid\":1,\"ts\":110,\"dur\":5},\n"
    "{\"name\":\"ld prog\",\"cat\":\"run\",\"ph\":\"X\",\"tid\":1002,\"ts\":200,\"dur\":50,"
    "\"args\":{\"thunk\":\"Tb\",\"deps\":[\"Ta\"]}},\n"
    "{\"name\":\"meta\",\"ph\":\"M\",\"tid\":1,\"ts\":0}\n"
    "],\"displayTimeUnit\":\"ms\"}\n";

static void test_events_and_runs(void)
{
	struct trace t;
	CHECK(trace_parse(good, strlen(good), &t) == 0);
	CHECK(t.n == 4 && t.ignored == 1);
	CHECK(t.nruns == 2);
	if (t.nruns == 2) {
		const struct trace_run *a = &t.runs[0], *b = &t.runs[1];
		CHECK_STR(a->name, "cc a.c");
		CHECK(a->tid == 1 && a->start == 0 && a->end == 115 && a->nev == 3);
		CHECK(a->phase[TP_MATERIALISE] == 10 && a->phase[TP_RUN] == 100 &&
		      a->phase[TP_STORE] == 5);
		CHECK(a->thunk && !strcmp(a->thunk, "Ta"));
		CHECK_STR(b->name, "ld prog");
		CHECK(b->tid == 1002 && b->start == 200 && b->phase[TP_RUN] == 50);
	}
	trace_free(&t);
	/* a bare array of events is a trace too */
	const char *bare =
	    "[{\"name\":\"x\",\"cat\":\"run\",\"ph\":\"X\",\"tid\":0,\"ts\":1,\"dur\":2}]";
	CHECK(trace_parse(bare, strlen(bare), &t) == 0 && t.n == 1 && t.nruns == 1);
	trace_free(&t);
}

static void refused(const char *doc, const char *why)
{
	struct trace t;
	int r = trace_parse(doc, strlen(doc), &t);
	CHECK(r < 0);
	if (r < 0 && !strstr(gg_last_error(), why))
		fprintf(stderr, "for %s: wanted \"%s\", got \"%s\"\n", doc, why, gg_last_error());
	CHECK(r < 0 && strstr(gg_last_error(), why));
	if (r == 0)
		trace_free(&t);
}

static void test_malformed_refused_with_place(void)
{
	refused("{\"traceEvents\":[\n{\"name\":\"x\",}]}", "line 2, column");
	refused(
	    "{\"traceEvents\":[{\"name\":\"x\",\"ph\":\"X\",\"tid\":0,\"ts\":\"soon\",\"dur\":1}]}",
	    "ts");
	refused("{\"traceEvents\":[{\"name\":\"x\",\"ph\":\"X\",\"tid\":0,\"ts\":1,\"dur\":-5}]}",
	        "dur");
	refused("[1,2", "line 1, column 5");
	refused("{\"traceEvents\":[]} x", "after the end of the JSON value");
	refused("\"just a string\"", "");
	/* nested deeper than TRACE_MAX_DEPTH */
	char deep[2 * TRACE_MAX_DEPTH + 8];
	size_t k = 0;
	for (int i = 0; i < TRACE_MAX_DEPTH + 2; i++)
		deep[k++] = '[';
	deep[k] = 0;
	refused(deep, "line 1");
	/* an event with more members than TRACE_MAX_KEYS (checking each new
	 * key against the others would otherwise take minutes on a big one) */
	struct buf wide = BUF_INIT;
	buf_adds(&wide, "[{\"name\":\"x\",\"ph\":\"X\",\"tid\":0,\"ts\":1,\"dur\":2");
	for (int i = 0; i < TRACE_MAX_KEYS; i++)
		buf_printf(&wide, ",\"k%d\":0", i);
	buf_adds(&wide, "}]");
	refused(wide.data, "more than 256 members");
	buf_free(&wide);
}

/* What the writer (the scheduler's, trace_add_*) writes is read: spans
 * with their thunk and dependencies, an instant shared-cache hit counted
 * apart, and a label that is not UTF-8 (written as \udcXX escapes) comes
 * back as the same bytes. A trace of an older gg, with such bytes raw, is
 * read too. */
static void test_reads_what_the_writer_writes(void)
{
	const char *label = "cc caf\xe9.c \xff\x01\"q\"";
	struct buf b = BUF_INIT;
	struct strvec deps = {0};
	strvec_push(&deps, "Tdep1");
	strvec_push(&deps, "Tdep2");
	trace_add_span(&b, label, "run", 3, 1.5, 2.25, "Tthunk", &deps);
	trace_add_instant(&b, "hit", "shared cache", 4.0, "Tother");
	trace_add_span(&b, "ld", "store outputs", 3, 4.0, 1.0, "Tthunk", NULL);
	CHECK(strstr(b.data, "\\udce9") != NULL);
	char path[] = "/tmp/gg-test-trace-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(trace_write_file(path, &b) == 0);
	struct trace t;
	int r = trace_load(path, &t);
	if (r < 0)
		fprintf(stderr, "refused: %s\n", gg_last_error());
	CHECK(r == 0 && t.n == 2 && !strcmp(t.ev[0].name, label) && t.shared_hits == 1 &&
	      t.ignored == 1);
	if (r == 0) {
		CHECK(t.ev[0].tid == 3 && t.ev[0].ts > 1.49 && t.ev[0].ts < 1.51 &&
		      t.ev[0].dur > 2.24 && t.ev[0].dur < 2.26);
		CHECK(t.ev[0].thunk && !strcmp(t.ev[0].thunk, "Tthunk") && t.ev[0].deps.n == 2 &&
		      !strcmp(t.ev[0].deps.v[1], "Tdep2"));
		CHECK(t.ev[1].deps.n == 0);
		trace_free(&t);
	}
	unlink(path);
	strvec_free(&deps);
	buf_free(&b);
	const char *old = "[{\"name\":\"caf\xe9\",\"ph\":\"X\",\"tid\":0,\"ts\":1,\"dur\":2}]";
	r = trace_parse(old, strlen(old), &t);
	CHECK(r == 0 && t.n == 1 && !strcmp(t.ev[0].name, "caf\xe9"));
	if (r == 0)
		trace_free(&t);
	/* a NUL would cut the name short: refused */
	refused("[{\"name\":\"a\\u0000b\",\"ph\":\"X\",\"tid\":0,\"ts\":1,\"dur\":2}]",
	        "\"name\" holds a NUL byte");
}

TEST_MAIN(test_events_and_runs, test_malformed_refused_with_place,
          test_reads_what_the_writer_writes)
