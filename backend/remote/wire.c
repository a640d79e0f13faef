/**
 * @file wire.c
 * The engines' request/response format (see wire.h): a small strict JSON
 * reader that builds a bounded tree, the schema checks that turn the tree
 * into a request or response, the canonical writer, and base64. It does no
 * I/O and knows nothing about HTTP, Lambda or Slurm.
 *
 * Bounds: nesting depth WIRE_DEPTH, object keys WIRE_KEYS, and values at
 * most 64 + len/8 in all (a real message spends far more than 8 bytes per
 * value), so a hostile input cannot make the tree much larger than itself.
 */
#include "backend/remote/wire.h"

#include "core/thunk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_DEPTH   5
#define WIRE_KEYS    16
#define WIRE_MAX_INT ((UINT64_C(1) << 53) - 1)

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void wire_base64_encode(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	buf_grow(out, (len + 2) / 3 * 4 + 1);
	char *o = out->data + out->len;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int wire_base64_decode(const char *s, size_t len, struct buf *out)
{
	if (len % 4)
		return gg_error("base64: length %zu is not a multiple of 4", len);
	buf_grow(out, len / 4 * 3 + 1);
	unsigned char *o = (unsigned char *)out->data + out->len;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || s[i + 3] == '=')) {
				v[k] = 0;
				pad++;
				continue;
			}
			if ((v[k] = b64_value(c)) < 0)
				return gg_error("base64: invalid character at offset %zu",
				                i + (size_t)k);
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
			return gg_error("base64: non-zero padding bits at offset %zu", i);
		*o++ = (unsigned char)(x >> 16);
		if (pad < 2)
			*o++ = (unsigned char)(x >> 8);
		if (pad < 1)
			*o++ = (unsigned char)x;
	}
	out->len = (size_t)((char *)o - out->data);
	out->data[out->len] = 0;
	return 0;
}

/* ---- strings ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t k;
	uint32_t cp, min;
	if ((c & 0xe0) == 0xc0)
		k = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		k = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		k = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

void wire_add_string(struct buf *b, const char *s, size_t len)
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

static void add_cstring(struct buf *b, const char *s)
{
	wire_add_string(b, s, strlen(s));
}

/* ---- the JSON tree ---- */

enum jtype { J_OBJ, J_ARR, J_STR, J_INT, J_BOOL };

struct jval;
struct jmember;

struct jval {
	enum jtype t;
	size_t off; /* where the value starts, for messages */
	union {
		struct {
			struct jmember *m;
			size_t n;
		} obj;
		struct {
			struct jval *v;
			size_t n;
		} arr;
		struct buf str;
		uint64_t i;
		bool b;
	} u;
};

struct jmember {
	char *key;
	struct jval v;
	bool used;
};

struct jparser {
	const char *start, *p, *end;
	size_t values, max_values;
	const char *what; /* "wire request" or "wire response" */
	bool failed;
};

static void jval_free(struct jval *v)
{
	switch (v->t) {
	case J_OBJ:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.m[i].key);
			jval_free(&v->u.obj.m[i].v);
		}
		free(v->u.obj.m);
		break;
	case J_ARR:
		for (size_t i = 0; i < v->u.arr.n; i++)
			jval_free(&v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case J_STR: buf_free(&v->u.str); break;
	default: break;
	}
	v->t = J_BOOL;
}

/* Records the first error only: the innermost cause is the useful one. */
static int jfail_at(struct jparser *j, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jfail_at(struct jparser *j, size_t off, const char *fmt, ...)
{
	if (j->failed)
		return -1;
	j->failed = true;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return gg_error("%s: at byte %zu: %s", j->what, off, msg);
}

#define jfail(j, ...) jfail_at(j, (size_t)((j)->p - (j)->start), __VA_ARGS__)

static void skip_ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
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
	if (cp < 0x80)
		u[0] = (char)cp, k = 1;
	else if (cp < 0x800)
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), k = 2;
	else if (cp < 0x10000)
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
		u[2] = (char)(0x80 | (cp & 0x3f)), k = 3;
	else
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), k = 4;
	buf_add(b, u, k);
}

/* At the opening quote; decodes into out. */
static int parse_string(struct jparser *j, struct buf *out)
{
	j->p++;
	for (;;) {
		/* copy a run of plain bytes at once */
		const char *run = j->p;
		while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
		       (unsigned char)*j->p >= 0x20 && (unsigned char)*j->p < 0x80)
			j->p++;
		buf_add(out, run, (size_t)(j->p - run));
		if (j->p >= j->end)
			return jfail(j, "unterminated string");
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return jfail(j, "control character 0x%02x in a string (must be escaped)",
			             c);
		if (c >= 0x80) {
			size_t k = utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));
			if (!k)
				return jfail(j, "invalid UTF-8 in a string");
			buf_add(out, j->p, k);
			j->p += k;
			continue;
		}
		/* a backslash */
		if (j->end - j->p < 2)
			return jfail(j, "unterminated escape");
		char e = j->p[1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (simple && e) {
			static const char repl[] = "\"\\/\b\f\n\r\t";
			buf_addc(out, repl[simple - "\"\\/bfnrt"]);
			j->p += 2;
			continue;
		}
		uint32_t cp;
		if (e != 'u' || j->end - j->p < 6 || hex4(j->p + 2, &cp) < 0)
			return jfail(j, "invalid escape in a string");
		if (cp == 0)
			return jfail(j, "NUL (\\u0000) in a string");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (j->end - j->p < 12 || j->p[6] != '\\' || j->p[7] != 'u' ||
			    hex4(j->p + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
				return jfail(j, "unpaired surrogate \\u%04x in a string", cp);
			add_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			j->p += 12;
			continue;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			/* surrogateescape: a raw byte that is not UTF-8 */
			if (cp < 0xdc80 || cp > 0xdcff)
				return jfail(j, "unpaired surrogate \\u%04x in a string", cp);
			buf_addc(out, (char)(cp - 0xdc00));
			j->p += 6;
			continue;
		}
		add_utf8(out, cp);
		j->p += 6;
	}
}

static int parse_value(struct jparser *j, struct jval *v, int depth);

static int parse_object(struct jparser *j, struct jval *v, int depth)
{
	v->t = J_OBJ;
	v->u.obj.m = NULL;
	v->u.obj.n = 0;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		skip_ws(j);
		if (j->p >= j->end || *j->p != '"')
			return jfail(j, "expected a key (a string)");
		if (v->u.obj.n == WIRE_KEYS)
			return jfail(j, "more than %d keys in an object", WIRE_KEYS);
		size_t key_off = (size_t)(j->p - j->start);
		struct buf key = BUF_INIT;
		if (parse_string(j, &key) < 0) {
			buf_free(&key);
			return -1;
		}
		for (size_t i = 0; i < v->u.obj.n; i++)
			if (!strcmp(v->u.obj.m[i].key, key.data ? key.data : "")) {
				jfail_at(j, key_off, "duplicate key \"%.40s\"", v->u.obj.m[i].key);
				buf_free(&key);
				return -1;
			}
		v->u.obj.m = xrealloc(v->u.obj.m, (v->u.obj.n + 1) * sizeof *v->u.obj.m);
		struct jmember *m = &v->u.obj.m[v->u.obj.n++];
		m->key = key.data ? buf_steal(&key) : xstrdup("");
		m->used = false;
		m->v.t = J_BOOL;
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return jfail(j, "expected ':' after a key");
		j->p++;
		if (parse_value(j, &m->v, depth + 1) < 0)
			return -1;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return 0;
		}
		return jfail(j, "expected ',' or '}' in an object");
	}
}

static int parse_array(struct jparser *j, struct jval *v, int depth)
{
	v->t = J_ARR;
	v->u.arr.v = NULL;
	v->u.arr.n = 0;
	size_t cap = 0;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (v->u.arr.n == cap) {
			cap = cap ? 2 * cap : 4;
			v->u.arr.v = xrealloc(v->u.arr.v, cap * sizeof *v->u.arr.v);
		}
		struct jval *e = &v->u.arr.v[v->u.arr.n++];
		e->t = J_BOOL;
		if (parse_value(j, e, depth + 1) < 0)
			return -1;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		return jfail(j, "expected ',' or ']' in an array");
	}
}

static int parse_value(struct jparser *j, struct jval *v, int depth)
{
	skip_ws(j);
	v->t = J_BOOL;
	v->off = (size_t)(j->p - j->start);
	if (depth > WIRE_DEPTH)
		return jfail(j, "nested deeper than %d levels", WIRE_DEPTH);
	if (++j->values > j->max_values)
		return jfail(j, "too many values for a message of this size");
	if (j->p >= j->end)
		return jfail(j, "expected a value, found the end");
	char c = *j->p;
	if (c == '{')
		return parse_object(j, v, depth);
	if (c == '[')
		return parse_array(j, v, depth);
	if (c == '"') {
		v->t = J_STR;
		v->u.str = (struct buf)BUF_INIT;
		return parse_string(j, &v->u.str);
	}
	if (c >= '0' && c <= '9') {
		if (c == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
			return jfail(j, "a number with a leading zero");
		uint64_t x = 0;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
			x = x * 10 + (uint64_t)(*j->p - '0');
			if (x > WIRE_MAX_INT)
				return jfail(j, "a number above 2^53");
			j->p++;
		}
		if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
			return jfail(j, "only whole numbers are used in this format");
		v->t = J_INT;
		v->u.i = x;
		return 0;
	}
	if (j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
		j->p += 4;
		v->u.b = true;
		return 0;
	}
	if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
		j->p += 5;
		v->u.b = false;
		return 0;
	}
	if (c == '-')
		return jfail(j, "negative numbers are not used in this format");
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4))
		return jfail(j, "null is not used in this format");
	return jfail(j, "expected a value");
}

/* Parses one object filling the whole input. */
static int parse_document(struct jparser *j, const char *data, size_t len, size_t max,
                          struct jval *root)
{
	j->start = j->p = data;
	j->end = data + len;
	j->values = 0;
	j->max_values = 64 + len / 8;
	j->failed = false;
	root->t = J_BOOL;
	if (len > max)
		return gg_error("%s: %zu bytes, more than the limit of %zu", j->what, len, max);
	skip_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return jfail(j, "expected an object ('{')");
	if (parse_value(j, root, 0) < 0) {
		jval_free(root);
		return -1;
	}
	skip_ws(j);
	if (j->p != j->end) {
		jfail(j, "unexpected bytes after the object");
		jval_free(root);
		return -1;
	}
	return 0;
}

/* ---- schema helpers ---- */

static struct jval *get(struct jval *obj, const char *key)
{
	for (size_t i = 0; i < obj->u.obj.n; i++)
		if (!strcmp(obj->u.obj.m[i].key, key)) {
			obj->u.obj.m[i].used = true;
			return &obj->u.obj.m[i].v;
		}
	return NULL;
}

static int no_unknown_keys(struct jparser *j, struct jval *obj, const char *where)
{
	for (size_t i = 0; i < obj->u.obj.n; i++)
		if (!obj->u.obj.m[i].used)
			return jfail_at(j, obj->u.obj.m[i].v.off, "unknown key \"%.40s\" in %s",
			                obj->u.obj.m[i].key, where);
	return 0;
}

static int want_type(struct jparser *j, struct jval *v, enum jtype t, const char *key)
{
	static const char *const names[] = {"an object", "an array", "a string", "a whole number",
	                                    "true or false"};
	if (v->t != t)
		return jfail_at(j, v->off, "\"%s\" must be %s", key, names[t]);
	return 0;
}

/* A string field without NULs (C strings); *out is malloc'd. */
static int get_cstring(struct jparser *j, struct jval *obj, const char *key, bool required,
                       char **out)
{
	*out = NULL;
	struct jval *v = get(obj, key);
	if (!v) {
		if (required)
			return jfail_at(j, obj->off, "missing \"%s\"", key);
		return 0;
	}
	if (want_type(j, v, J_STR, key) < 0)
		return -1;
	if (memchr(v->u.str.data ? v->u.str.data : "", 0, v->u.str.len))
		return jfail_at(j, v->off, "\"%s\" contains a NUL byte", key);
	*out = v->u.str.data ? buf_steal(&v->u.str) : xstrdup("");
	return 0;
}

static int name_from(struct jparser *j, struct jval *v, const char *key, char kind,
                     struct gg_name *out)
{
	if (want_type(j, v, J_STR, key) < 0)
		return -1;
	if (gg_name_parse(v->u.str.data ? v->u.str.data : "", v->u.str.len, out) < 0 ||
	    (kind && gg_name_kind(out) != kind))
		return jfail_at(j, v->off, "\"%s\" is not %s", key,
		                kind == 'T' ? "a thunk's name" : "an object name");
	return 0;
}

static int get_name(struct jparser *j, struct jval *obj, const char *key, char kind,
                    struct gg_name *out)
{
	struct jval *v = get(obj, key);
	if (!v)
		return jfail_at(j, obj->off, "missing \"%s\"", key);
	return name_from(j, v, key, kind, out);
}

static int get_u64(struct jparser *j, struct jval *obj, const char *key, uint64_t max,
                   bool *present, uint64_t *out)
{
	struct jval *v = get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (want_type(j, v, J_INT, key) < 0)
		return -1;
	if (v->u.i > max)
		return jfail_at(j, v->off, "\"%s\" is %llu, above the limit of %llu", key,
		                (unsigned long long)v->u.i, (unsigned long long)max);
	*out = v->u.i;
	return 0;
}

static int get_bool(struct jparser *j, struct jval *obj, const char *key, bool *present, bool *out)
{
	struct jval *v = get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (want_type(j, v, J_BOOL, key) < 0)
		return -1;
	*out = v->u.b;
	return 0;
}

static int get_base64(struct jparser *j, struct jval *obj, const char *key, size_t max,
                      bool *present, struct buf *out)
{
	struct jval *v = get(obj, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (want_type(j, v, J_STR, key) < 0)
		return -1;
	if (v->u.str.len / 4 * 3 > max + 2)
		return jfail_at(j, v->off, "\"%s\" holds more than %zu bytes", key, max);
	if (wire_base64_decode(v->u.str.data ? v->u.str.data : "", v->u.str.len, out) < 0) {
		char *e = xstrdup(gg_last_error());
		jfail_at(j, v->off, "\"%s\": %s", key, e);
		free(e);
		return -1;
	}
	if (out->len > max)
		return jfail_at(j, v->off, "\"%s\" holds more than %zu bytes", key, max);
	return 0;
}

static int check_version(struct jparser *j, struct jval *root)
{
	struct jval *v = get(root, "v");
	if (!v)
		return jfail_at(j, 0, "missing \"v\" (the format's version)");
	if (want_type(j, v, J_INT, "v") < 0)
		return -1;
	if (v->u.i != WIRE_VERSION)
		return jfail_at(j, v->off,
		                "version %llu is not supported (this gg speaks version %d)",
		                (unsigned long long)v->u.i, WIRE_VERSION);
	return 0;
}

/* ---- requests ---- */

int wire_request_encode(const struct wire_request *r, struct buf *out)
{
	if (!r->storage)
		return gg_error("wire request: no storage URI");
	buf_printf(out, "{\"v\":%d,\"thunk\":\"%s\",\"storage\":", WIRE_VERSION, r->thunk.s);
	add_cstring(out, r->storage);
	if (r->timeout_ms)
		buf_printf(out, ",\"timeout_ms\":%llu", (unsigned long long)r->timeout_ms);
	if (r->inline_limit != WIRE_INLINE_TOTAL)
		buf_printf(out, ",\"inline_limit\":%llu", (unsigned long long)r->inline_limit);
	if (r->has_encoding) {
		buf_adds(out, ",\"encoding\":\"");
		wire_base64_encode(out, r->encoding.data, r->encoding.len);
		buf_addc(out, '"');
	}
	buf_addc(out, '}');
	return 0;
}

void wire_request_free(struct wire_request *r)
{
	buf_free(&r->encoding);
	free(r->storage);
	memset(r, 0, sizeof *r);
}

int wire_request_parse(const char *data, size_t len, struct wire_request *out)
{
	memset(out, 0, sizeof *out);
	out->inline_limit = WIRE_INLINE_TOTAL;
	struct jparser j = {.what = "wire request"};
	struct jval root;
	if (parse_document(&j, data, len, WIRE_MAX_REQUEST, &root) < 0)
		return -1;
	int r = check_version(&j, &root);
	if (r == 0)
		r = get_name(&j, &root, "thunk", 'T', &out->thunk);
	if (r == 0)
		r = get_base64(&j, &root, "encoding", THUNK_MAX_SIZE, &out->has_encoding,
		               &out->encoding);
	if (r == 0)
		r = get_cstring(&j, &root, "storage", true, &out->storage);
	if (r == 0 && !*out->storage)
		r = jfail_at(&j, 0, "\"storage\" is empty");
	if (r == 0)
		r = get_u64(&j, &root, "timeout_ms", WIRE_MAX_INT, NULL, &out->timeout_ms);
	if (r == 0)
		r = get_u64(&j, &root, "inline_limit", WIRE_INLINE_MAX, NULL, &out->inline_limit);
	if (r == 0)
		r = no_unknown_keys(&j, &root, "the request");
	jval_free(&root);
	if (r < 0)
		wire_request_free(out);
	return r;
}

/* ---- responses ---- */

void wire_response_add_output(struct wire_response *r, const char *path,
                              const struct gg_name *value, bool exec)
{
	r->outputs = xrealloc(r->outputs, (r->noutputs + 1) * sizeof *r->outputs);
	struct wire_output *o = &r->outputs[r->noutputs++];
	memset(o, 0, sizeof *o);
	o->path = xstrdup(path);
	o->value = *value;
	o->exec = exec;
}

void wire_response_free(struct wire_response *r)
{
	for (size_t i = 0; i < r->noutputs; i++) {
		free(r->outputs[i].path);
		buf_free(&r->outputs[i].data);
	}
	free(r->outputs);
	free(r->why);
	free(r->infra_error);
	free(r->missing);
	free(r->stderr_tail);
	free(r->worker);
	memset(r, 0, sizeof *r);
}

int wire_response_encode(const struct wire_response *r, struct buf *out)
{
	buf_printf(out, "{\"v\":%d,\"thunk\":\"%s\",\"ok\":%s", WIRE_VERSION, r->thunk.s,
	           r->status == WIRE_OK ? "true" : "false");
	switch (r->status) {
	case WIRE_OK:
		if (!r->noutputs)
			return gg_error("wire response: a success lists no outputs");
		buf_adds(out, ",\"outputs\":[");
		for (size_t i = 0; i < r->noutputs; i++) {
			const struct wire_output *o = &r->outputs[i];
			buf_adds(out, i ? ",{\"path\":" : "{\"path\":");
			add_cstring(out, o->path);
			buf_printf(out, ",\"value\":\"%s\",\"exec\":%s", o->value.s,
			           o->exec ? "true" : "false");
			if (o->has_inline) {
				buf_adds(out, ",\"inline\":\"");
				wire_base64_encode(out, o->data.data, o->data.len);
				buf_addc(out, '"');
			}
			buf_addc(out, '}');
		}
		buf_addc(out, ']');
		break;
	case WIRE_FAILED:
		buf_adds(out, ",\"why\":");
		add_cstring(out, r->why ? r->why : "failed");
		if (r->has_exit)
			buf_printf(out, ",\"exit\":{\"%s\":%llu}",
			           r->exit_signalled ? "signal" : "status",
			           (unsigned long long)r->exit_code);
		if (r->timed_out)
			buf_adds(out, ",\"timed_out\":true");
		break;
	case WIRE_INFRA:
		buf_adds(out, ",\"infra_error\":");
		add_cstring(out, r->infra_error ? r->infra_error : "unknown error");
		if (r->nmissing) {
			buf_adds(out, ",\"missing\":[");
			for (size_t i = 0; i < r->nmissing; i++)
				buf_printf(out, "%s\"%s\"", i ? "," : "", r->missing[i].s);
			buf_addc(out, ']');
		}
		if (r->deadline)
			buf_adds(out, ",\"deadline\":true");
		break;
	}
	if (r->cached)
		buf_adds(out, ",\"cached\":true");
	if (r->worker) {
		buf_adds(out, ",\"worker\":");
		add_cstring(out, r->worker);
	}
	if (r->has_times)
		buf_printf(out, ",\"times\":{\"fetch_ms\":%llu,\"run_ms\":%llu,\"upload_ms\":%llu}",
		           (unsigned long long)r->fetch_ms, (unsigned long long)r->run_ms,
		           (unsigned long long)r->upload_ms);
	if (r->stderr_tail) {
		buf_adds(out, ",\"stderr_tail\":");
		add_cstring(out, r->stderr_tail);
	}
	buf_addc(out, '}');
	return 0;
}

static int parse_output(struct jparser *j, struct jval *v, struct wire_output *o)
{
	if (want_type(j, v, J_OBJ, "outputs[]") < 0)
		return -1;
	if (get_cstring(j, v, "path", true, &o->path) < 0)
		return -1;
	if (path_check_relative(o->path, "output") < 0)
		return jfail_at(j, v->off,
		                "output path \"%.80s\" is not a relative path inside the thunk",
		                o->path);
	if (get_name(j, v, "value", 0, &o->value) < 0)
		return -1;
	bool present;
	if (get_bool(j, v, "exec", &present, &o->exec) < 0)
		return -1;
	if (!present)
		return jfail_at(j, v->off, "missing \"exec\" in an output");
	if (get_base64(j, v, "inline", WIRE_INLINE_MAX, &o->has_inline, &o->data) < 0)
		return -1;
	if (o->has_inline && o->data.len != gg_name_size(&o->value))
		return jfail_at(j, v->off,
		                "inline data of \"%.80s\" is %zu bytes, its name says %llu",
		                o->path, o->data.len, (unsigned long long)gg_name_size(&o->value));
	return no_unknown_keys(j, v, "an output");
}

static int parse_outputs(struct jparser *j, struct jval *arr, struct wire_response *r)
{
	if (want_type(j, arr, J_ARR, "outputs") < 0)
		return -1;
	if (!arr->u.arr.n)
		return jfail_at(j, arr->off, "\"outputs\" is empty");
	r->outputs = xcalloc(arr->u.arr.n, sizeof *r->outputs);
	r->noutputs = arr->u.arr.n;
	for (size_t i = 0; i < arr->u.arr.n; i++)
		if (parse_output(j, &arr->u.arr.v[i], &r->outputs[i]) < 0)
			return -1;
	return 0;
}

static int parse_exit(struct jparser *j, struct jval *v, struct wire_response *r)
{
	if (want_type(j, v, J_OBJ, "exit") < 0)
		return -1;
	bool st, sig;
	uint64_t a = 0, b = 0;
	if (get_u64(j, v, "status", 255, &st, &a) < 0 || get_u64(j, v, "signal", 64, &sig, &b) < 0)
		return -1;
	if (st == sig)
		return jfail_at(j, v->off,
		                "\"exit\" must hold exactly one of \"status\" and \"signal\"");
	if (sig && b == 0)
		return jfail_at(j, v->off, "\"signal\" must be from 1 to 64");
	r->has_exit = true;
	r->exit_signalled = sig;
	r->exit_code = sig ? b : a;
	return no_unknown_keys(j, v, "\"exit\"");
}

static int parse_missing(struct jparser *j, struct jval *v, struct wire_response *r)
{
	if (want_type(j, v, J_ARR, "missing") < 0)
		return -1;
	r->missing = xcalloc(v->u.arr.n ? v->u.arr.n : 1, sizeof *r->missing);
	r->nmissing = v->u.arr.n;
	for (size_t i = 0; i < v->u.arr.n; i++)
		if (name_from(j, &v->u.arr.v[i], "missing[]", 0, &r->missing[i]) < 0)
			return -1;
	return 0;
}

static int parse_times(struct jparser *j, struct jval *v, struct wire_response *r)
{
	if (want_type(j, v, J_OBJ, "times") < 0)
		return -1;
	bool a, b, c;
	if (get_u64(j, v, "fetch_ms", WIRE_MAX_INT, &a, &r->fetch_ms) < 0 ||
	    get_u64(j, v, "run_ms", WIRE_MAX_INT, &b, &r->run_ms) < 0 ||
	    get_u64(j, v, "upload_ms", WIRE_MAX_INT, &c, &r->upload_ms) < 0)
		return -1;
	if (!a || !b || !c)
		return jfail_at(j, v->off, "\"times\" needs fetch_ms, run_ms and upload_ms");
	r->has_times = true;
	return no_unknown_keys(j, v, "\"times\"");
}

static int parse_response_fields(struct jparser *j, struct jval *root, struct wire_response *r)
{
	if (check_version(j, root) < 0 || get_name(j, root, "thunk", 'T', &r->thunk) < 0)
		return -1;
	bool has_ok, ok = false;
	if (get_bool(j, root, "ok", &has_ok, &ok) < 0)
		return -1;
	if (!has_ok)
		return jfail_at(j, 0, "missing \"ok\"");
	struct jval *outputs = get(root, "outputs"), *exitv = get(root, "exit"),
	            *missing = get(root, "missing");
	bool has_to, has_deadline;
	if (get_cstring(j, root, "why", false, &r->why) < 0 ||
	    get_cstring(j, root, "infra_error", false, &r->infra_error) < 0 ||
	    get_bool(j, root, "timed_out", &has_to, &r->timed_out) < 0 ||
	    get_bool(j, root, "deadline", &has_deadline, &r->deadline) < 0)
		return -1;
	if (ok) {
		if (!outputs)
			return jfail_at(j, 0, "\"ok\": true without \"outputs\"");
		if (r->why || r->infra_error || exitv || has_to || missing || has_deadline)
			return jfail_at(j, 0,
			                "\"ok\": true with a failure's keys (why, exit, timed_out, "
			                "infra_error, missing, deadline)");
		r->status = WIRE_OK;
		if (parse_outputs(j, outputs, r) < 0)
			return -1;
	} else {
		if (outputs)
			return jfail_at(j, outputs->off, "\"outputs\" in a failure");
		if (!r->why == !r->infra_error)
			return jfail_at(
			    j, 0, "\"ok\": false needs exactly one of \"why\" and \"infra_error\"");
		if (r->why) {
			r->status = WIRE_FAILED;
			if (missing || has_deadline)
				return jfail_at(j, missing ? missing->off : 0,
				                "\"%s\" in a program failure",
				                missing ? "missing" : "deadline");
			if (exitv && parse_exit(j, exitv, r) < 0)
				return -1;
		} else {
			r->status = WIRE_INFRA;
			if (exitv || has_to)
				return jfail_at(
				    j, 0, "\"exit\" or \"timed_out\" in an infrastructure error");
			if (missing && parse_missing(j, missing, r) < 0)
				return -1;
		}
	}
	struct jval *times = get(root, "times");
	if (times && parse_times(j, times, r) < 0)
		return -1;
	if (get_bool(j, root, "cached", NULL, &r->cached) < 0 ||
	    get_cstring(j, root, "worker", false, &r->worker) < 0 ||
	    get_cstring(j, root, "stderr_tail", false, &r->stderr_tail) < 0)
		return -1;
	return no_unknown_keys(j, root, "the response");
}

int wire_response_parse(const char *data, size_t len, struct wire_response *out)
{
	memset(out, 0, sizeof *out);
	struct jparser j = {.what = "wire response"};
	struct jval root;
	if (parse_document(&j, data, len, WIRE_MAX_RESPONSE, &root) < 0)
		return -1;
	int r = parse_response_fields(&j, &root, out);
	jval_free(&root);
	if (r < 0)
		wire_response_free(out);
	return r;
}
