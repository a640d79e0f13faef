/**
 * @file trace.c
 * A strict, bounded JSON reader and the trace-event model on top of it (see
 * trace.h). The reader builds a small tree, then the events are checked
 * field by field. It does not stream (a trace is read whole, up to
 * TRACE_MAX_SIZE), does not keep numbers' exact text, and does not reject
 * bytes >= 0x80 in strings that are not UTF-8 (gg writes file names as they
 * are); callers that print them must sanitize.
 */
#include "tools/trace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const trace_phase_names[TP_COUNT] = {"materialise", "run", "store outputs", "other"};

/* ---- the JSON tree ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jmember;

struct jv {
	enum jtype type;
	size_t off; /* where the value starts, for error messages */
	union {
		bool b;
		double num;
		struct {
			char *s;
			size_t len;
		} str;
		struct {
			struct jv *v;
			size_t n;
		} arr;
		struct {
			struct jmember *m;
			size_t n;
		} obj;
	} u;
};

struct jmember {
	char *key;
	struct jv val;
};

struct jparser {
	const char *data;
	size_t len, pos;
	int depth;
};

static void jv_free(struct jv *v)
{
	switch (v->type) {
	case J_STR: free(v->u.str.s); break;
	case J_ARR:
		for (size_t i = 0; i < v->u.arr.n; i++)
			jv_free(&v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case J_OBJ:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.m[i].key);
			jv_free(&v->u.obj.m[i].val);
		}
		free(v->u.obj.m);
		break;
	default: break;
	}
	v->type = J_NULL;
}

/* Records "line L, column C: MSG" for byte offset off. */
static int jerr_at(const char *data, size_t len, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int jerr_at(const char *data, size_t len, size_t off, const char *fmt, ...)
{
	size_t line = 1, col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (data[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return gg_error("line %zu, column %zu: %s", line, col, msg);
}

#define JERR(p, ...) jerr_at((p)->data, (p)->len, (p)->pos, __VA_ARGS__)

static void skip_ws(struct jparser *p)
{
	while (p->pos < p->len) {
		char c = p->data[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* What is at the current position, for "expected X, found Y". */
static const char *found(const struct jparser *p)
{
	if (p->pos >= p->len)
		return "the end of the file";
	unsigned char c = (unsigned char)p->data[p->pos];
	static _Thread_local char b[32];
	if (c >= 0x21 && c < 0x7f)
		snprintf(b, sizeof b, "'%c'", c);
	else
		snprintf(b, sizeof b, "byte 0x%02x", c);
	return b;
}

static int hex4(const struct jparser *p, size_t at, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < 4; i++) {
		if (at + i >= p->len)
			return -1;
		char c = p->data[at + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | (cp >> 6)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | (cp >> 12)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | (cp >> 18)));
		buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A string at p->pos (which is '"'); the result is NUL-terminated. */
static int parse_string(struct jparser *p, char **out, size_t *outlen)
{
	struct buf b = BUF_INIT;
	p->pos++; /* the opening quote */
	for (;;) {
		if (p->pos >= p->len) {
			buf_free(&b);
			return JERR(p, "unterminated string");
		}
		unsigned char c = (unsigned char)p->data[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			buf_free(&b);
			return JERR(p, "control character 0x%02x in a string (escape it)", c);
		}
		if (c != '\\') {
			buf_addc(&b, (char)c);
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->len) {
			buf_free(&b);
			return JERR(p, "unterminated string");
		}
		char e = p->data[p->pos + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char to[] = "\"\\/\b\f\n\r\t";
			buf_addc(&b, to[simple - "\"\\/bfnrt"]);
			p->pos += 2;
			continue;
		}
		if (e != 'u') {
			buf_free(&b);
			return JERR(p, "invalid escape in a string");
		}
		unsigned cp;
		if (hex4(p, p->pos + 2, &cp) < 0) {
			buf_free(&b);
			return JERR(p, "\\u needs four hex digits");
		}
		size_t adv = 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;
			if (p->pos + 7 >= p->len || p->data[p->pos + 6] != '\\' ||
			    p->data[p->pos + 7] != 'u' || hex4(p, p->pos + 8, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff) {
				buf_free(&b);
				return JERR(p, "a high surrogate without its low surrogate");
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			adv = 12;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			buf_free(&b);
			return JERR(p, "a low surrogate without a high surrogate");
		} else if (cp == 0) {
			buf_free(&b);
			return JERR(p, "\\u0000 (NUL) in a string is not supported");
		}
		put_utf8(&b, cp);
		p->pos += adv;
	}
	*outlen = b.len;
	*out = b.data ? buf_steal(&b) : xstrdup("");
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct jparser *p, double *out)
{
	size_t s = p->pos, i = s;
	if (i < p->len && p->data[i] == '-')
		i++;
	if (i >= p->len || !is_digit(p->data[i]))
		return JERR(p, "invalid number");
	if (p->data[i] == '0') {
		i++;
		if (i < p->len && is_digit(p->data[i]))
			return JERR(p, "a number with a leading zero");
	} else {
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	if (i < p->len && p->data[i] == '.') {
		i++;
		if (i >= p->len || !is_digit(p->data[i]))
			return JERR(p, "a number needs digits after '.'");
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	if (i < p->len && (p->data[i] == 'e' || p->data[i] == 'E')) {
		i++;
		if (i < p->len && (p->data[i] == '+' || p->data[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->data[i]))
			return JERR(p, "a number needs digits in its exponent");
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	/* strtod needs a terminated copy: the input need not end in NUL. */
	if (i - s > 400)
		return JERR(p, "a number of more than 400 characters");
	char tmp[401];
	memcpy(tmp, p->data + s, i - s);
	tmp[i - s] = 0;
	double v = strtod(tmp, NULL);
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
		return JERR(p, "number out of range");
	*out = v;
	p->pos = i;
	return 0;
}

static int parse_value(struct jparser *p, struct jv *v);

static int parse_array(struct jparser *p, struct jv *v)
{
	size_t cap = 0;
	v->type = J_ARR;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->data[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		ALLOC_GROW(v->u.arr.v, v->u.arr.n + 1, cap);
		/* Counted before it is parsed, so a failure frees what it holds. */
		struct jv *item = &v->u.arr.v[v->u.arr.n++];
		if (parse_value(p, item) < 0)
			return -1;
		skip_ws(p);
		if (p->pos < p->len && p->data[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->data[p->pos] == ']') {
			p->pos++;
			return 0;
		}
		return JERR(p, "expected ',' or ']' in an array, found %s", found(p));
	}
}

static int parse_object(struct jparser *p, struct jv *v)
{
	size_t cap = 0;
	v->type = J_OBJ;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->data[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len || p->data[p->pos] != '"')
			return JERR(p, "expected a member name (a string), found %s", found(p));
		size_t key_off = p->pos;
		char *key;
		size_t klen;
		if (parse_string(p, &key, &klen) < 0)
			return -1;
		for (size_t i = 0; i < v->u.obj.n; i++)
			if (!strcmp(v->u.obj.m[i].key, key)) {
				free(key);
				return jerr_at(p->data, p->len, key_off, "duplicate member \"%s\"",
				               v->u.obj.m[i].key);
			}
		ALLOC_GROW(v->u.obj.m, v->u.obj.n + 1, cap);
		struct jmember *m = &v->u.obj.m[v->u.obj.n];
		m->key = key;
		m->val.type = J_NULL;
		v->u.obj.n++;
		skip_ws(p);
		if (p->pos >= p->len || p->data[p->pos] != ':')
			return JERR(p, "expected ':' after a member name, found %s", found(p));
		p->pos++;
		if (parse_value(p, &m->val) < 0)
			return -1;
		skip_ws(p);
		if (p->pos < p->len && p->data[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->data[p->pos] == '}') {
			p->pos++;
			return 0;
		}
		return JERR(p, "expected ',' or '}' in an object, found %s", found(p));
	}
}

static int parse_literal(struct jparser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->data + p->pos, word, n))
		return JERR(p, "expected a value, found %s", found(p));
	p->pos += n;
	return 0;
}

/* On failure *v is still safe to jv_free (partial containers included). */
static int parse_value(struct jparser *p, struct jv *v)
{
	memset(v, 0, sizeof *v);
	skip_ws(p);
	v->off = p->pos;
	if (p->pos >= p->len)
		return JERR(p, "expected a value, found the end of the file");
	char c = p->data[p->pos];
	int r;
	switch (c) {
	case '{':
	case '[':
		if (++p->depth > TRACE_MAX_DEPTH)
			return JERR(p, "nested more than %d deep", TRACE_MAX_DEPTH);
		r = c == '{' ? parse_object(p, v) : parse_array(p, v);
		p->depth--;
		return r;
	case '"': v->type = J_STR; return parse_string(p, &v->u.str.s, &v->u.str.len);
	case 't':
		v->type = J_BOOL;
		v->u.b = true;
		return parse_literal(p, "true");
	case 'f': v->type = J_BOOL; return parse_literal(p, "false");
	case 'n': return parse_literal(p, "null");
	default:
		if (c == '-' || is_digit(c)) {
			v->type = J_NUM;
			return parse_number(p, &v->u.num);
		}
		return JERR(p, "expected a value, found %s", found(p));
	}
}

/* ---- from the tree to events ---- */

static const struct jv *member(const struct jv *o, const char *key)
{
	for (size_t i = 0; i < o->u.obj.n; i++)
		if (!strcmp(o->u.obj.m[i].key, key))
			return &o->u.obj.m[i].val;
	return NULL;
}

static const char *type_name(enum jtype t)
{
	static const char *const n[] = {"null",     "a boolean", "a number",
	                                "a string", "an array",  "an object"};
	return n[t];
}

/* The member as a type, or an error naming the event. Absent: *out NULL. */
static int get(const struct jparser *p, const struct jv *ev, size_t idx, const char *key,
               enum jtype want, bool required, const struct jv **out)
{
	*out = member(ev, key);
	if (!*out) {
		if (required)
			return jerr_at(p->data, p->len, ev->off, "event %zu has no \"%s\"", idx,
			               key);
		return 0;
	}
	if ((*out)->type != want)
		return jerr_at(p->data, p->len, (*out)->off, "event %zu: \"%s\" is %s, expected %s",
		               idx, key, type_name((*out)->type), type_name(want));
	return 0;
}

static void event_free(struct trace_event *e)
{
	free(e->name);
	free(e->thunk);
	strvec_free(&e->deps);
}

static int add_event(const struct jparser *p, struct trace *t, const struct jv *ev, size_t idx)
{
	if (ev->type != J_OBJ)
		return jerr_at(p->data, p->len, ev->off, "event %zu is %s, expected an object", idx,
		               type_name(ev->type));
	const struct jv *ph, *name, *cat, *tid, *ts, *dur, *args;
	if (get(p, ev, idx, "ph", J_STR, true, &ph) < 0)
		return -1;
	if (strcmp(ph->u.str.s, "X")) {
		const struct jv *c = member(ev, "cat");
		t->ignored++;
		if (!strcmp(ph->u.str.s, "i") && c && c->type == J_STR &&
		    !strcmp(c->u.str.s, "shared cache"))
			t->shared_hits++;
		return 0;
	}
	if (get(p, ev, idx, "name", J_STR, true, &name) < 0 ||
	    get(p, ev, idx, "cat", J_STR, false, &cat) < 0 ||
	    get(p, ev, idx, "tid", J_NUM, true, &tid) < 0 ||
	    get(p, ev, idx, "ts", J_NUM, true, &ts) < 0 ||
	    get(p, ev, idx, "dur", J_NUM, true, &dur) < 0 ||
	    get(p, ev, idx, "args", J_OBJ, false, &args) < 0)
		return -1;
	double tv = tid->u.num;
	if (tv > 9007199254740992.0 || tv < -9007199254740992.0 || tv != (double)(long long)tv)
		return jerr_at(p->data, p->len, tid->off,
		               "event %zu: \"tid\" must be a whole number", idx);
	if (dur->u.num < 0 || dur->u.num > TRACE_MAX_US)
		return jerr_at(p->data, p->len, dur->off,
		               "event %zu: \"dur\" is not from 0 to %.0f", idx, TRACE_MAX_US);
	if (ts->u.num < -TRACE_MAX_US || ts->u.num > TRACE_MAX_US)
		return jerr_at(p->data, p->len, ts->off,
		               "event %zu: \"ts\" is not from -%.0f to %.0f", idx, TRACE_MAX_US,
		               TRACE_MAX_US);
	const struct jv *thunk = NULL, *deps = NULL;
	if (args && (get(p, args, idx, "thunk", J_STR, false, &thunk) < 0 ||
	             get(p, args, idx, "deps", J_ARR, false, &deps) < 0))
		return -1;
	if (deps)
		for (size_t i = 0; i < deps->u.arr.n; i++)
			if (deps->u.arr.v[i].type != J_STR)
				return jerr_at(p->data, p->len, deps->u.arr.v[i].off,
				               "event %zu: \"deps\" must hold strings", idx);
	ALLOC_GROW(t->ev, t->n + 1, t->cap);
	struct trace_event *e = &t->ev[t->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name->u.str.s);
	e->phase = TP_OTHER;
	for (int i = 0; cat && i < TP_OTHER; i++)
		if (!strcmp(cat->u.str.s, trace_phase_names[i]))
			e->phase = (enum trace_phase)i;
	e->tid = (long long)tv;
	e->ts = ts->u.num;
	e->dur = dur->u.num;
	if (thunk)
		e->thunk = xstrdup(thunk->u.str.s);
	for (size_t i = 0; deps && i < deps->u.arr.n; i++)
		strvec_push(&e->deps, deps->u.arr.v[i].u.str.s);
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
	struct jparser p = {data, len, 0, 0};
	struct jv root;
	if (parse_value(&p, &root) < 0) {
		jv_free(&root);
		return -1;
	}
	skip_ws(&p);
	if (p.pos != len) {
		jv_free(&root);
		return JERR(&p, "unexpected %s after the end of the JSON value", found(&p));
	}
	const struct jv *events = &root;
	if (root.type == J_OBJ) {
		events = member(&root, "traceEvents");
		if (!events) {
			jv_free(&root);
			return jerr_at(data, len, 0,
			               "no \"traceEvents\" member: not a trace-event file");
		}
	}
	if (events->type != J_ARR) {
		int r = jerr_at(data, len, events->off, "expected an array of events, found %s",
		                type_name(events->type));
		jv_free(&root);
		return r;
	}
	int r = 0;
	for (size_t i = 0; i < events->u.arr.n && r == 0; i++)
		r = add_event(&p, out, &events->u.arr.v[i], i);
	jv_free(&root);
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
