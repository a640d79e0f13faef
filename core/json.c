/**
 * @file json.c
 * The JSON writer and the strict, bounded reader (see json.h). The reader
 * is recursive descent over the bytes; it records the first error only (the
 * innermost cause is the useful one) and unwinds, freeing what it built.
 */
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

void json_add_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	buf_grow(b, len + 2);
	buf_addc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t k = c >= 0x80 ? utf8_len(p + i, len - i) : 1;
		if (k == 0) {
			buf_printf(b, "\\udc%02x", c);
			i++;
			continue;
		}
		if (k > 1) {
			buf_add(b, p + i, k);
			i += k;
			continue;
		}
		switch (c) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\b': buf_adds(b, "\\b"); break;
		case '\f': buf_adds(b, "\\f"); break;
		default:
			if (c < 0x20)
				buf_printf(b, "\\u%04x", c);
			else
				buf_addc(b, (char)c);
		}
		i++;
	}
	buf_addc(b, '"');
}

void json_add_cstring(struct buf *b, const char *s)
{
	json_add_string(b, s, strlen(s));
}

/* ---- reading ---- */

struct jparser {
	struct json_doc *d;
	const char *data;
	size_t len, pos;
	const struct json_limits *lim;
	int depth;
	size_t values;
};

void json_free(struct json_value *v)
{
	switch (v->type) {
	case JSON_STR: buf_free(&v->u.str); break;
	case JSON_ARR:
		for (size_t i = 0; i < v->u.arr.n; i++)
			json_free(&v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case JSON_OBJ:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.m[i].key);
			json_free(&v->u.obj.m[i].v);
		}
		free(v->u.obj.m);
		break;
	default: break;
	}
	v->type = JSON_NULL;
}

static void line_col(const char *data, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (data[i] == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

int json_fail(struct json_doc *d, size_t off, const char *fmt, ...)
{
	if (d->failed)
		return -1;
	d->failed = true;
	d->where = off;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->what)
		return gg_error("%s: at byte %zu: %s", d->what, off, msg);
	size_t line, col;
	line_col(d->data, d->len, off, &line, &col);
	return gg_error("line %zu, column %zu: %s", line, col, msg);
}

#define jfail_at(p, off, ...) json_fail((p)->d, off, __VA_ARGS__)
#define jfail(p, ...)         jfail_at(p, (p)->pos, __VA_ARGS__)

static bool more(const struct jparser *p)
{
	return p->pos < p->len;
}

static char at(const struct jparser *p)
{
	return p->data[p->pos];
}

static void skip_ws(struct jparser *p)
{
	while (more(p) && (at(p) == ' ' || at(p) == '\t' || at(p) == '\n' || at(p) == '\r'))
		p->pos++;
}

/* What is at the current position, for "expected X, found Y". */
static const char *found(const struct jparser *p, char out[32])
{
	if (!more(p))
		return "the end";
	unsigned char c = (unsigned char)at(p);
	if (c >= 0x21 && c < 0x7f)
		snprintf(out, 32, "'%c'", c);
	else
		snprintf(out, 32, "byte 0x%02x", c);
	return out;
}

static int hex4(const struct jparser *p, size_t off, uint32_t *out)
{
	if (p->len - off < 4)
		return -1;
	uint32_t v = 0;
	for (size_t i = 0; i < 4; i++) {
		char c = p->data[off + i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t k;
	if (cp < 0x80) {
		u[0] = (char)cp, k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)), k = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), k = 4;
	}
	buf_add(b, u, k);
}

/* At the opening quote; decodes into out (whose data is then never NULL). */
static int parse_string(struct jparser *p, struct buf *out)
{
	buf_grow(out, 0);
	out->data[out->len] = 0;
	p->pos++;
	for (;;) {
		/* a run of plain bytes at once */
		size_t run = p->pos;
		while (more(p) && at(p) != '"' && at(p) != '\\' && (unsigned char)at(p) >= 0x20 &&
		       (unsigned char)at(p) < 0x80)
			p->pos++;
		buf_add(out, p->data + run, p->pos - run);
		if (!more(p))
			return jfail(p, "unterminated string");
		unsigned char c = (unsigned char)at(p);
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return jfail(p, "control character 0x%02x in a string (must be escaped)",
			             c);
		if (c >= 0x80) {
			size_t k =
			    utf8_len((const unsigned char *)p->data + p->pos, p->len - p->pos);
			if (!k && !p->lim->raw_bytes)
				return jfail(p, "invalid UTF-8 in a string");
			k = k ? k : 1;
			buf_add(out, p->data + p->pos, k);
			p->pos += k;
			continue;
		}
		/* a backslash */
		if (p->len - p->pos < 2)
			return jfail(p, "unterminated string");
		char e = p->data[p->pos + 1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (simple && e) {
			static const char repl[] = "\"\\/\b\f\n\r\t";
			buf_addc(out, repl[simple - "\"\\/bfnrt"]);
			p->pos += 2;
			continue;
		}
		uint32_t cp;
		if (e != 'u')
			return jfail(p, "invalid escape in a string");
		if (hex4(p, p->pos + 2, &cp) < 0)
			return jfail(p, "\\u needs four hex digits");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (p->len - p->pos < 12 || p->data[p->pos + 6] != '\\' ||
			    p->data[p->pos + 7] != 'u' || hex4(p, p->pos + 8, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return jfail(p, "unpaired surrogate \\u%04x in a string", cp);
			add_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			p->pos += 12;
			continue;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			/* surrogateescape: a byte that is not UTF-8 */
			if (cp < 0xdc80 || cp > 0xdcff)
				return jfail(p, "unpaired surrogate \\u%04x in a string", cp);
			buf_addc(out, (char)(cp - 0xdc00));
			p->pos += 6;
			continue;
		}
		add_utf8(out, cp);
		p->pos += 6;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct jparser *p, struct json_value *v)
{
	size_t s = p->pos, i = s;
	v->type = JSON_NUM;
	v->u.num.neg = i < p->len && p->data[i] == '-';
	if (v->u.num.neg)
		i++;
	if (i >= p->len || !is_digit(p->data[i]))
		return jfail(p, "invalid number");
	size_t digits = i;
	if (p->data[i] == '0') {
		i++;
		if (i < p->len && is_digit(p->data[i]))
			return jfail(p, "a number with a leading zero");
	} else {
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	size_t int_end = i;
	v->u.num.whole = true;
	if (i < p->len && p->data[i] == '.') {
		v->u.num.whole = false;
		i++;
		if (i >= p->len || !is_digit(p->data[i]))
			return jfail_at(p, i, "a number needs digits after '.'");
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	if (i < p->len && (p->data[i] == 'e' || p->data[i] == 'E')) {
		v->u.num.whole = false;
		i++;
		if (i < p->len && (p->data[i] == '+' || p->data[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->data[i]))
			return jfail_at(p, i, "a number needs digits in its exponent");
		while (i < p->len && is_digit(p->data[i]))
			i++;
	}
	/* strtod needs a terminated copy: the input need not end in a NUL */
	if (i - s > 400)
		return jfail(p, "a number of more than 400 characters");
	char tmp[401];
	memcpy(tmp, p->data + s, i - s);
	tmp[i - s] = 0;
	double d = strtod(tmp, NULL);
	if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
		return jfail(p, "a number out of range");
	v->u.num.d = d;
	uint64_t u = 0;
	for (size_t k = digits; v->u.num.whole && k < int_end; k++) {
		unsigned dg = (unsigned)(p->data[k] - '0');
		if (u > (UINT64_MAX - dg) / 10) {
			u = UINT64_MAX;
			break;
		}
		u = u * 10 + dg;
	}
	v->u.num.u = u;
	p->pos = i;
	return 0;
}

static int parse_value(struct jparser *p, struct json_value *v);

static int parse_array(struct jparser *p, struct json_value *v)
{
	size_t cap = 0;
	v->type = JSON_ARR;
	p->pos++;
	skip_ws(p);
	if (more(p) && at(p) == ']') {
		p->pos++;
		return 0;
	}
	char f[32];
	for (;;) {
		ALLOC_GROW(v->u.arr.v, v->u.arr.n + 1, cap);
		/* counted before it is parsed, so that a failure frees what it holds */
		struct json_value *e = &v->u.arr.v[v->u.arr.n++];
		if (parse_value(p, e) < 0)
			return -1;
		skip_ws(p);
		if (more(p) && at(p) == ',') {
			p->pos++;
			continue;
		}
		if (more(p) && at(p) == ']') {
			p->pos++;
			return 0;
		}
		return jfail(p, "expected ',' or ']' in an array, found %s", found(p, f));
	}
}

static int parse_object(struct jparser *p, struct json_value *v)
{
	size_t cap = 0;
	v->type = JSON_OBJ;
	p->pos++;
	skip_ws(p);
	if (more(p) && at(p) == '}') {
		p->pos++;
		return 0;
	}
	char f[32];
	for (;;) {
		skip_ws(p);
		if (!more(p) || at(p) != '"')
			return jfail(p, "expected a member name (a string), found %s", found(p, f));
		if (p->lim->max_keys && v->u.obj.n == p->lim->max_keys)
			return jfail(p, "more than %zu members in an object", p->lim->max_keys);
		size_t key_off = p->pos;
		struct buf key = BUF_INIT;
		if (parse_string(p, &key) < 0) {
			buf_free(&key);
			return -1;
		}
		if (memchr(key.data, 0, key.len)) {
			buf_free(&key);
			return jfail_at(p, key_off, "NUL (\\u0000) in a member name");
		}
		for (size_t i = 0; i < v->u.obj.n; i++)
			if (!strcmp(v->u.obj.m[i].key, key.data)) {
				buf_free(&key);
				return jfail_at(p, key_off, "duplicate key \"%.40s\"",
				                v->u.obj.m[i].key);
			}
		ALLOC_GROW(v->u.obj.m, v->u.obj.n + 1, cap);
		struct json_member *m = &v->u.obj.m[v->u.obj.n++];
		m->key = buf_steal(&key);
		m->used = false;
		m->v.type = JSON_NULL;
		skip_ws(p);
		if (!more(p) || at(p) != ':')
			return jfail(p, "expected ':' after a member name, found %s", found(p, f));
		p->pos++;
		if (parse_value(p, &m->v) < 0)
			return -1;
		skip_ws(p);
		if (more(p) && at(p) == ',') {
			p->pos++;
			continue;
		}
		if (more(p) && at(p) == '}') {
			p->pos++;
			return 0;
		}
		return jfail(p, "expected ',' or '}' in an object, found %s", found(p, f));
	}
}

static bool literal(struct jparser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->data + p->pos, word, n))
		return false;
	p->pos += n;
	return true;
}

/* On failure *v is still safe to json_free (partial containers included). */
static int parse_value(struct jparser *p, struct json_value *v)
{
	memset(v, 0, sizeof *v);
	skip_ws(p);
	v->off = p->pos;
	char f[32];
	if (!more(p))
		return jfail(p, "expected a value, found the end");
	if (p->lim->max_values && ++p->values > p->lim->max_values)
		return jfail(p, "too many values for a document of this size");
	char c = at(p);
	int r;
	switch (c) {
	case '{':
	case '[':
		if (++p->depth > p->lim->max_depth)
			return jfail(p, "nested deeper than %d levels", p->lim->max_depth);
		r = c == '{' ? parse_object(p, v) : parse_array(p, v);
		p->depth--;
		return r;
	case '"': v->type = JSON_STR; return parse_string(p, &v->u.str);
	default:
		if (c == '-' || is_digit(c))
			return parse_number(p, v);
		if (literal(p, "true") || literal(p, "false")) {
			v->type = JSON_BOOL;
			v->u.b = c == 't';
			return 0;
		}
		if (literal(p, "null"))
			return 0;
		return jfail(p, "expected a value, found %s", found(p, f));
	}
}

int json_parse(struct json_doc *d, const struct json_limits *lim, struct json_value *out)
{
	struct jparser p = {.d = d, .data = d->data, .len = d->len, .lim = lim};
	int r = parse_value(&p, out);
	if (r == 0) {
		skip_ws(&p);
		if (more(&p)) {
			char f[32];
			r = jfail(&p, "unexpected %s after the end of the JSON value",
			          found(&p, f));
		}
	}
	if (r < 0) {
		json_free(out);
		return -1;
	}
	return 0;
}

struct json_value *json_get(struct json_value *obj, const char *key)
{
	if (obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->u.obj.n; i++)
		if (!strcmp(obj->u.obj.m[i].key, key)) {
			obj->u.obj.m[i].used = true;
			return &obj->u.obj.m[i].v;
		}
	return NULL;
}

const struct json_member *json_unused(const struct json_value *obj)
{
	for (size_t i = 0; obj->type == JSON_OBJ && i < obj->u.obj.n; i++)
		if (!obj->u.obj.m[i].used)
			return &obj->u.obj.m[i];
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {"null",     "true or false", "a number",
	                                    "a string", "an array",      "an object"};
	return names[t];
}
