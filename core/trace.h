/**
 * @file trace.h
 * The trace: Chrome trace-event JSON that `gg force --trace` (and ggfs
 * -o trace=FILE) write, and `gg report` reads; both sides are here, so the
 * format has one home. Reading: A small strict JSON reader (RFC 8259 grammar; bounded depth
 * and size; errors name the line and column) turns the file into events;
 * only complete events ("ph":"X") are kept, anything else is counted and
 * skipped. Runs group the phase events of one thunk execution.
 *
 * The event fields used: "name" (the thunk's label), "cat" (the phase:
 * "materialise", "run", "store outputs"; others are kept as "other"),
 * "tid" (engine index * 1000 + slot), "ts" and "dur" (microseconds), and
 * optionally "args":{"thunk":NAME,"deps":[NAME...]} (the thunk's name and
 * the thunks it waited for), from which the critical path is computed.
 */
#ifndef GG_CORE_TRACE_H
#define GG_CORE_TRACE_H

#include "core/util.h"

#include <stddef.h>

/* Largest trace file read, and deepest nesting of arrays and objects. */
#define TRACE_MAX_SIZE  (512u << 20)
#define TRACE_MAX_DEPTH 64
/* Most members of one object (an event has about 8): a limit that also keeps
 * the reader's duplicate-key check short on a hostile trace. */
#define TRACE_MAX_KEYS 256
/* Times beyond this many microseconds (about 31 years) are rejected. */
#define TRACE_MAX_US 1e15

enum trace_phase { TP_MATERIALISE, TP_RUN, TP_STORE, TP_OTHER, TP_COUNT };

struct trace_event {
	char *name;
	enum trace_phase phase;
	long long tid;
	double ts, dur;     /* microseconds */
	char *thunk;        /* args.thunk, or NULL */
	struct strvec deps; /* args.deps */
};

/*
 * One execution of one thunk: consecutive phase events of the same name on
 * the same slot (each starting where the previous one ended, in phase
 * order). An event that follows no such run starts a new one.
 */
struct trace_run {
	const char *name;  /* borrowed from the first event */
	const char *thunk; /* args.thunk of any of its events, or NULL */
	long long tid;
	double start, end;
	double phase[TP_COUNT]; /* time spent in each phase */
	size_t first, nev;      /* its events: ev[first .. first+nev) after sorting */
};

struct trace {
	struct trace_event *ev; /* sorted by (tid, ts) once runs are made */
	size_t n, cap;
	size_t ignored;     /* events other than complete ("X") events */
	size_t shared_hits; /* of ignored: results from the shared cache ("i", "shared cache") */
	struct trace_run *runs; /* sorted by start */
	size_t nruns;
};

/* Phase names as they appear in "cat" (TP_OTHER: "other"). */
extern const char *const trace_phase_names[TP_COUNT];

/*
 * Parses a whole trace: an object with a "traceEvents" array (other members
 * ignored) or a bare array of events. On error returns -1 with a message
 * "line L, column C: WHAT" (1-based; columns count bytes).
 */
int trace_parse(const char *data, size_t len, struct trace *out);
/* Reads and parses a file; errors are prefixed with the path. */
int trace_load(const char *path, struct trace *out);
void trace_free(struct trace *t);

/*
 * Writing (the scheduler): events are appended to a buffer as they happen,
 * comma-separated, and the file is written once at the end.
 *
 * A complete event ("ph":"X"): one phase of one thunk's run on a slot,
 * from ts_us for dur_us microseconds (since the force began), with the
 * thunk's name and the thunks it waited for.
 */
void trace_add_span(struct buf *events, const char *label, const char *phase, int slot,
                    double ts_us, double dur_us, const char *thunk, const struct strvec *deps);
/* An instant event ("ph":"i") of category cat, e.g. a result from the
 * shared cache ("shared cache"), which the reader counts apart from runs. */
void trace_add_instant(struct buf *events, const char *label, const char *cat, double ts_us,
                       const char *thunk);
/* Writes {"traceEvents":[EVENTS]} to path, atomically. */
int trace_write_file(const char *path, const struct buf *events);

#endif
