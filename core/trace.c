/**
 * @file trace.c
 * The trace-event model on top of the JSON reader (core/json.h; see
 * trace.h): the file is read whole (up to TRACE_MAX_SIZE) into a tree, then
 * the events are checked field by field. Strings may hold bytes that are not
 * UTF-8 (gg writes file names as they are: escaped as \udcXX now, raw in
 * traces of older versions); callers that print them must sanitize.
 */
#include "core/trace.h"

#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const trace_phase_names[TP_COUNT] = {"materialise", "run", "store outputs", "other"};

/* The member as a type, or an error naming the event. Absent: *out NULL.
 * Strings are used as C strings: one holding a NUL is refused. */
static int get(struct json_doc *d, struct json_value *ev, size_t idx, const char *key,
               enum json_type want, bool required, struct json_value **out)
{
	*out = json_get(ev, key);
	if (!*out) {
		if (required)
			return json_fail(d, ev->off, "event %zu has no \"%s\"", idx, key);
		return 0;
	}
	if ((*out)->type != want)
		return json_fail(d, (*out)->off, "event %zu: \"%s\" is %s, expected %s", idx, key,
		                 json_type_name((*out)->type), json_type_name(want));
	if (want == JSON_STR && memchr((*out)->u.str.data, 0, (*out)->u.str.len))
		return json_fail(d, (*out)->off, "event %zu: \"%s\" holds a NUL byte", idx, key);
	return 0;
}

static void event_free(struct trace_event *e)
{
	free(e->name);
	free(e->thunk);
	strvec_free(&e->deps);
}

static int add_event(struct json_doc *d, struct trace *t, struct json_value *ev, size_t idx)
{
	if (ev->type != JSON_OBJ)
		return json_fail(d, ev->off, "event %zu is %s, expected an object", idx,
		                 json_type_name(ev->type));
	struct json_value *ph, *name, *cat, *tid, *ts, *dur, *args;
	if (get(d, ev, idx, "ph", JSON_STR, true, &ph) < 0)
		return -1;
	if (strcmp(ph->u.str.data, "X")) {
		struct json_value *c = json_get(ev, "cat");
		t->ignored++;
		if (!strcmp(ph->u.str.data, "i") && c && c->type == JSON_STR &&
		    !strcmp(c->u.str.data, "shared cache"))
			t->shared_hits++;
		return 0;
	}
	if (get(d, ev, idx, "name", JSON_STR, true, &name) < 0 ||
	    get(d, ev, idx, "cat", JSON_STR, false, &cat) < 0 ||
	    get(d, ev, idx, "tid", JSON_NUM, true, &tid) < 0 ||
	    get(d, ev, idx, "ts", JSON_NUM, true, &ts) < 0 ||
	    get(d, ev, idx, "dur", JSON_NUM, true, &dur) < 0 ||
	    get(d, ev, idx, "args", JSON_OBJ, false, &args) < 0)
		return -1;
	double tv = tid->u.num.d;
	if (tv > 9007199254740992.0 || tv < -9007199254740992.0 || tv != (double)(long long)tv)
		return json_fail(d, tid->off, "event %zu: \"tid\" must be a whole number", idx);
	if (dur->u.num.d < 0 || dur->u.num.d > TRACE_MAX_US)
		return json_fail(d, dur->off, "event %zu: \"dur\" is not from 0 to %.0f", idx,
		                 TRACE_MAX_US);
	if (ts->u.num.d < -TRACE_MAX_US || ts->u.num.d > TRACE_MAX_US)
		return json_fail(d, ts->off, "event %zu: \"ts\" is not from -%.0f to %.0f", idx,
		                 TRACE_MAX_US, TRACE_MAX_US);
	struct json_value *thunk = NULL, *deps = NULL;
	if (args && (get(d, args, idx, "thunk", JSON_STR, false, &thunk) < 0 ||
	             get(d, args, idx, "deps", JSON_ARR, false, &deps) < 0))
		return -1;
	for (size_t i = 0; deps && i < deps->u.arr.n; i++) {
		const struct json_value *dep = &deps->u.arr.v[i];
		if (dep->type != JSON_STR || memchr(dep->u.str.data, 0, dep->u.str.len))
			return json_fail(d, dep->off, "event %zu: \"deps\" must hold strings", idx);
	}
	ALLOC_GROW(t->ev, t->n + 1, t->cap);
	struct trace_event *e = &t->ev[t->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name->u.str.data);
	e->phase = TP_OTHER;
	for (int i = 0; cat && i < TP_OTHER; i++)
		if (!strcmp(cat->u.str.data, trace_phase_names[i]))
			e->phase = (enum trace_phase)i;
	e->tid = (long long)tv;
	e->ts = ts->u.num.d;
	e->dur = dur->u.num.d;
	if (thunk)
		e->thunk = xstrdup(thunk->u.str.data);
	for (size_t i = 0; deps && i < deps->u.arr.n; i++)
		strvec_push(&e->deps, deps->u.arr.v[i].u.str.data);
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct trace_event *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (int)x->phase - (int)y->phase;
}

static int cmp_run(const void *a, const void *b)
{
	const struct trace_run *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/*
 * Timestamps are printed with three decimals (nanoseconds), so "starts where
 * the previous ended" allows a few nanoseconds of rounding.
 */
#define CONTIGUOUS_US 0.005

static void make_runs(struct trace *t)
{
	if (t->n > 1) /* qsort's pointer must not be NULL, even for no elements */
		qsort(t->ev, t->n, sizeof *t->ev, cmp_event);
	t->runs = xcalloc(t->n ? t->n : 1, sizeof *t->runs);
	struct trace_run *cur = NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_event *e = &t->ev[i];
		const struct trace_event *prev = i ? &t->ev[i - 1] : NULL;
		bool joins = cur && prev && prev->tid == e->tid && !strcmp(prev->name, e->name) &&
		             e->phase != TP_OTHER && prev->phase < e->phase &&
		             e->ts - (prev->ts + prev->dur) <= CONTIGUOUS_US &&
		             (prev->ts + prev->dur) - e->ts <= CONTIGUOUS_US;
		if (!joins) {
			cur = &t->runs[t->nruns++];
			cur->name = e->name;
			cur->tid = e->tid;
			cur->start = e->ts;
			cur->end = e->ts + e->dur;
			cur->first = i;
		}
		cur->nev++;
		cur->phase[e->phase] += e->dur;
		if (e->ts + e->dur > cur->end)
			cur->end = e->ts + e->dur;
		if (e->thunk && !cur->thunk)
			cur->thunk = e->thunk;
	}
	if (t->nruns > 1)
		qsort(t->runs, t->nruns, sizeof *t->runs, cmp_run);
}

int trace_parse(const char *data, size_t len, struct trace *out)
{
	memset(out, 0, sizeof *out);
	struct json_doc d = {.data = data, .len = len};
	/* raw_bytes: traces of older versions hold file names' bytes as they are */
	const struct json_limits lim = {
	    .max_depth = TRACE_MAX_DEPTH, .max_keys = TRACE_MAX_KEYS, .raw_bytes = true};
	struct json_value root;
	if (json_parse(&d, &lim, &root) < 0)
		return -1;
	struct json_value *events = &root;
	if (root.type == JSON_OBJ) {
		events = json_get(&root, "traceEvents");
		if (!events) {
			json_free(&root);
			return json_fail(&d, 0,
			                 "no \"traceEvents\" member: not a trace-event file");
		}
	}
	if (events->type != JSON_ARR) {
		int r = json_fail(&d, events->off, "expected an array of events, found %s",
		                  json_type_name(events->type));
		json_free(&root);
		return r;
	}
	int r = 0;
	for (size_t i = 0; i < events->u.arr.n && r == 0; i++)
		r = add_event(&d, out, &events->u.arr.v[i], i);
	json_free(&root);
	if (r < 0) {
		trace_free(out);
		return -1;
	}
	make_runs(out);
	return 0;
}

int trace_load(const char *path, struct trace *out)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b, TRACE_MAX_SIZE) < 0) {
		memset(out, 0, sizeof *out);
		buf_free(&b);
		return -1; /* read_file names the path */
	}
	int r = trace_parse(b.data ? b.data : "", b.len, out);
	buf_free(&b);
	if (r < 0)
		return gg_error("%s: %s", path, gg_last_error());
	return 0;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		event_free(&t->ev[i]);
	free(t->ev);
	free(t->runs);
	memset(t, 0, sizeof *t);
}

/* ---- writing ---- */

static void event_start(struct buf *events, const char *label)
{
	if (events->len)
		buf_adds(events, ",\n");
	buf_adds(events, "{\"name\":");
	json_add_cstring(events, label);
}

void trace_add_span(struct buf *events, const char *label, const char *phase, int slot,
                    double ts_us, double dur_us, const char *thunk, const struct strvec *deps)
{
	event_start(events, label);
	buf_printf(events,
	           ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f",
	           phase, slot, ts_us, dur_us);
	buf_printf(events, ",\"args\":{\"thunk\":\"%s\",\"deps\":[", thunk);
	for (size_t i = 0; deps && i < deps->n; i++)
		buf_printf(events, "%s\"%s\"", i ? "," : "", deps->v[i]);
	buf_adds(events, "]}}");
}

void trace_add_instant(struct buf *events, const char *label, const char *cat, double ts_us,
                       const char *thunk)
{
	event_start(events, label);
	buf_printf(events,
	           ",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":0,\"ts\":%.3f,"
	           "\"args\":{\"thunk\":\"%s\"}}",
	           cat, ts_us, thunk);
}

int trace_write_file(const char *path, const struct buf *events)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "{\"traceEvents\":[\n");
	buf_add(&b, events->data ? events->data : "", events->len);
	buf_adds(&b, "\n],\"displayTimeUnit\":\"ms\"}\n");
	int r = write_file_atomic(path, b.data, b.len, 0644);
	buf_free(&b);
	return r;
}
