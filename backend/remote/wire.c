/**
 * @file wire.c
 * The engines' request/response format (see wire.h): the schema checks that
 * turn a JSON tree (core/json.h) into a request or response, the canonical
 * writer, and base64. It does no I/O and knows nothing about HTTP, Lambda or
 * Slurm.
 *
 * Bounds on the tree: nesting depth WIRE_DEPTH, object keys WIRE_KEYS, and
 * values at most 64 + len/8 in all (a real message spends far more than 8
 * bytes per value), so a hostile input cannot make it much larger than
 * itself.
 */
#include "backend/remote/wire.h"

#include "core/json.h"
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

/* ---- the document ---- */

/* Parses one object filling the whole input. */
static int parse_document(struct json_doc *j, size_t max, struct json_value *root)
{
	root->type = JSON_NULL;
	if (j->len > max)
		return gg_error("%s: %zu bytes, more than the limit of %zu", j->what, j->len, max);
	const struct json_limits lim = {
	    .max_depth = WIRE_DEPTH, .max_keys = WIRE_KEYS, .max_values = 64 + j->len / 8};
	if (json_parse(j, &lim, root) < 0)
		return -1;
	if (root->type != JSON_OBJ) {
		json_fail(j, root->off, "expected an object ('{'), found %s",
		          json_type_name(root->type));
		json_free(root);
		return -1;
	}
	return 0;
}

/* ---- schema helpers ---- */

static int no_unknown_keys(struct json_doc *j, const struct json_value *obj, const char *where)
{
	const struct json_member *m = json_unused(obj);
	if (m)
		return json_fail(j, m->v.off, "unknown key \"%.40s\" in %s", m->key, where);
	return 0;
}

static int want_type(struct json_doc *j, const struct json_value *v, enum json_type t,
                     const char *key)
{
	if (v->type != t)
		return json_fail(j, v->off, "\"%s\" must be %s", key, json_type_name(t));
	return 0;
}

/* The format's numbers: whole, not negative, below 2^53. */
static int want_whole(struct json_doc *j, const struct json_value *v, const char *key)
{
	if (v->type != JSON_NUM)
		return json_fail(j, v->off, "\"%s\" must be a whole number", key);
	if (v->u.num.neg)
		return json_fail(j, v->off, "\"%s\": negative numbers are not used in this format",
		                 key);
	if (!v->u.num.whole)
		return json_fail(j, v->off, "\"%s\": only whole numbers are used in this format",
		                 key);
	if (v->u.num.u > WIRE_MAX_INT)
		return json_fail(j, v->off, "\"%s\": a number above 2^53", key);
	return 0;
}

static int get_cstring(struct json_doc *j, struct json_value *obj, const char *key, bool required,
                       char **out)
{
	*out = NULL;
	struct json_value *v = json_get(obj, key);
	if (!v) {
		if (required)
			return json_fail(j, obj->off, "missing \"%s\"", key);
		return 0;
	}
	if (want_type(j, v, JSON_STR, key) < 0)
		return -1;
	if (memchr(v->u.str.data, 0, v->u.str.len))
		return json_fail(j, v->off, "\"%s\" contains a NUL byte", key);
	*out = buf_steal(&v->u.str);
	return 0;
}

static int name_from(struct json_doc *j, struct json_value *v, const char *key, char kind,
                     struct gg_name *out)
{
	if (want_type(j, v, JSON_STR, key) < 0)
		return -1;
	if (gg_name_parse(v->u.str.data, v->u.str.len, out) < 0 ||
	    (kind && gg_name_kind(out) != kind))
		return json_fail(j, v->off, "\"%s\" is not %s", key,
		                 kind == 'T' ? "a thunk's name" : "an object name");
	return 0;
}

static int get_name(struct json_doc *j, struct json_value *obj, const char *key, char kind,
                    struct gg_name *out)
{
	struct json_value *v = json_get(obj, key);
	if (!v)
		return json_fail(j, obj->off, "missing \"%s\"", key);
	return name_from(j, v, key, kind, out);
}

static int get_u64(struct json_doc *j, struct json_value *obj, const char *key, uint64_t max,
                   bool *present, uint64_t *out)
{
	struct json_value *v = json_get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (want_whole(j, v, key) < 0)
		return -1;
	if (v->u.num.u > max)
		return json_fail(j, v->off, "\"%s\" is %llu, above the limit of %llu", key,
		                 (unsigned long long)v->u.num.u, (unsigned long long)max);
	*out = v->u.num.u;
	return 0;
}

static int get_bool(struct json_doc *j, struct json_value *obj, const char *key, bool *present,
                    bool *out)
{
	struct json_value *v = json_get(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (want_type(j, v, JSON_BOOL, key) < 0)
		return -1;
	*out = v->u.b;
	return 0;
}

static int get_base64(struct json_doc *j, struct json_value *obj, const char *key, size_t max,
                      bool *present, struct buf *out)
{
	struct json_value *v = json_get(obj, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (want_type(j, v, JSON_STR, key) < 0)
		return -1;
	if (v->u.str.len / 4 * 3 > max + 2)
		return json_fail(j, v->off, "\"%s\" holds more than %zu bytes", key, max);
	if (wire_base64_decode(v->u.str.data, v->u.str.len, out) < 0) {
		char *e = xstrdup(gg_last_error());
		json_fail(j, v->off, "\"%s\": %s", key, e);
		free(e);
		return -1;
	}
	if (out->len > max)
		return json_fail(j, v->off, "\"%s\" holds more than %zu bytes", key, max);
	return 0;
}

static int check_version(struct json_doc *j, struct json_value *root)
{
	struct json_value *v = json_get(root, "v");
	if (!v)
		return json_fail(j, 0, "missing \"v\" (the format's version)");
	if (want_whole(j, v, "v") < 0)
		return -1;
	if (v->u.num.u != WIRE_VERSION)
		return json_fail(j, v->off,
		                 "version %llu is not supported (this gg speaks version %d)",
		                 (unsigned long long)v->u.num.u, WIRE_VERSION);
	return 0;
}

/* ---- requests ---- */

int wire_request_encode(const struct wire_request *r, struct buf *out)
{
	if (!r->storage)
		return gg_error("wire request: no storage URI");
	buf_printf(out, "{\"v\":%d,\"thunk\":\"%s\",\"storage\":", WIRE_VERSION, r->thunk.s);
	json_add_cstring(out, r->storage);
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
	struct json_doc j = {.data = data, .len = len, .what = "wire request"};
	struct json_value root;
	if (parse_document(&j, WIRE_MAX_REQUEST, &root) < 0)
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
		r = json_fail(&j, 0, "\"storage\" is empty");
	if (r == 0)
		r = get_u64(&j, &root, "timeout_ms", WIRE_MAX_INT, NULL, &out->timeout_ms);
	if (r == 0)
		r = get_u64(&j, &root, "inline_limit", WIRE_INLINE_MAX, NULL, &out->inline_limit);
	if (r == 0)
		r = no_unknown_keys(&j, &root, "the request");
	json_free(&root);
	if (r < 0)
		wire_request_free(out);
	return r;
}

/* ---- responses ---- */

void wire_response_add_output(struct wire_response *r, const char *path,
                              const struct gg_name *value, bool exec)
{
	ALLOC_GROW(r->outputs, r->noutputs + 1, r->outputs_cap);
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
			json_add_cstring(out, o->path);
			buf_printf(out, ",\"value\":\"%s\",\"exec\":%s", o->value.s,
			           o->exec ? "true" : "false");
			if (o->link)
				buf_adds(out, ",\"link\":true");
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
		json_add_cstring(out, r->why ? r->why : "failed");
		if (r->has_exit)
			buf_printf(out, ",\"exit\":{\"%s\":%llu}",
			           r->exit_signalled ? "signal" : "status",
			           (unsigned long long)r->exit_code);
		if (r->timed_out)
			buf_adds(out, ",\"timed_out\":true");
		break;
	case WIRE_INFRA:
		buf_adds(out, ",\"infra_error\":");
		json_add_cstring(out, r->infra_error ? r->infra_error : "unknown error");
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
		json_add_cstring(out, r->worker);
	}
	if (r->has_times)
		buf_printf(out, ",\"times\":{\"fetch_ms\":%llu,\"run_ms\":%llu,\"upload_ms\":%llu}",
		           (unsigned long long)r->fetch_ms, (unsigned long long)r->run_ms,
		           (unsigned long long)r->upload_ms);
	if (r->stderr_tail) {
		buf_adds(out, ",\"stderr_tail\":");
		json_add_cstring(out, r->stderr_tail);
	}
	buf_addc(out, '}');
	return 0;
}

static int parse_output(struct json_doc *j, struct json_value *v, struct wire_output *o)
{
	if (want_type(j, v, JSON_OBJ, "outputs[]") < 0)
		return -1;
	if (get_cstring(j, v, "path", true, &o->path) < 0)
		return -1;
	if (path_check_relative(o->path, "output") < 0)
		return json_fail(j, v->off,
		                 "output path \"%.80s\" is not a relative path inside the thunk",
		                 o->path);
	if (get_name(j, v, "value", 0, &o->value) < 0)
		return -1;
	bool present;
	if (get_bool(j, v, "exec", &present, &o->exec) < 0)
		return -1;
	if (!present)
		return json_fail(j, v->off, "missing \"exec\" in an output");
	if (get_bool(j, v, "link", &present, &o->link) < 0)
		return -1;
	if (o->link && (o->exec || gg_name_kind(&o->value) != GG_VALUE))
		return json_fail(
		    j, v->off, "symbolic link output \"%.80s\" is executable or a thunk", o->path);
	if (get_base64(j, v, "inline", WIRE_INLINE_MAX, &o->has_inline, &o->data) < 0)
		return -1;
	if (o->has_inline && o->data.len != gg_name_size(&o->value))
		return json_fail(j, v->off,
		                 "inline data of \"%.80s\" is %zu bytes, its name says %llu",
		                 o->path, o->data.len, (unsigned long long)gg_name_size(&o->value));
	return no_unknown_keys(j, v, "an output");
}

static int parse_outputs(struct json_doc *j, struct json_value *arr, struct wire_response *r)
{
	if (want_type(j, arr, JSON_ARR, "outputs") < 0)
		return -1;
	if (!arr->u.arr.n)
		return json_fail(j, arr->off, "\"outputs\" is empty");
	r->outputs = xcalloc(arr->u.arr.n, sizeof *r->outputs);
	r->noutputs = r->outputs_cap = arr->u.arr.n;
	for (size_t i = 0; i < arr->u.arr.n; i++)
		if (parse_output(j, &arr->u.arr.v[i], &r->outputs[i]) < 0)
			return -1;
	return 0;
}

static int parse_exit(struct json_doc *j, struct json_value *v, struct wire_response *r)
{
	if (want_type(j, v, JSON_OBJ, "exit") < 0)
		return -1;
	bool st, sig;
	uint64_t a = 0, b = 0;
	if (get_u64(j, v, "status", 255, &st, &a) < 0 || get_u64(j, v, "signal", 64, &sig, &b) < 0)
		return -1;
	if (st == sig)
		return json_fail(j, v->off,
		                 "\"exit\" must hold exactly one of \"status\" and \"signal\"");
	if (sig && b == 0)
		return json_fail(j, v->off, "\"signal\" must be from 1 to 64");
	r->has_exit = true;
	r->exit_signalled = sig;
	r->exit_code = sig ? b : a;
	return no_unknown_keys(j, v, "\"exit\"");
}

static int parse_missing(struct json_doc *j, struct json_value *v, struct wire_response *r)
{
	if (want_type(j, v, JSON_ARR, "missing") < 0)
		return -1;
	r->missing = xcalloc(v->u.arr.n ? v->u.arr.n : 1, sizeof *r->missing);
	r->nmissing = v->u.arr.n;
	for (size_t i = 0; i < v->u.arr.n; i++)
		if (name_from(j, &v->u.arr.v[i], "missing[]", 0, &r->missing[i]) < 0)
			return -1;
	return 0;
}

static int parse_times(struct json_doc *j, struct json_value *v, struct wire_response *r)
{
	if (want_type(j, v, JSON_OBJ, "times") < 0)
		return -1;
	bool a, b, c;
	if (get_u64(j, v, "fetch_ms", WIRE_MAX_INT, &a, &r->fetch_ms) < 0 ||
	    get_u64(j, v, "run_ms", WIRE_MAX_INT, &b, &r->run_ms) < 0 ||
	    get_u64(j, v, "upload_ms", WIRE_MAX_INT, &c, &r->upload_ms) < 0)
		return -1;
	if (!a || !b || !c)
		return json_fail(j, v->off, "\"times\" needs fetch_ms, run_ms and upload_ms");
	r->has_times = true;
	return no_unknown_keys(j, v, "\"times\"");
}

static int parse_response_fields(struct json_doc *j, struct json_value *root,
                                 struct wire_response *r)
{
	if (check_version(j, root) < 0 || get_name(j, root, "thunk", 'T', &r->thunk) < 0)
		return -1;
	bool has_ok, ok = false;
	if (get_bool(j, root, "ok", &has_ok, &ok) < 0)
		return -1;
	if (!has_ok)
		return json_fail(j, 0, "missing \"ok\"");
	struct json_value *outputs = json_get(root, "outputs"), *exitv = json_get(root, "exit"),
	                  *missing = json_get(root, "missing");
	bool has_to, has_deadline;
	if (get_cstring(j, root, "why", false, &r->why) < 0 ||
	    get_cstring(j, root, "infra_error", false, &r->infra_error) < 0 ||
	    get_bool(j, root, "timed_out", &has_to, &r->timed_out) < 0 ||
	    get_bool(j, root, "deadline", &has_deadline, &r->deadline) < 0)
		return -1;
	if (ok) {
		if (!outputs)
			return json_fail(j, 0, "\"ok\": true without \"outputs\"");
		if (r->why || r->infra_error || exitv || has_to || missing || has_deadline)
			return json_fail(
			    j, 0,
			    "\"ok\": true with a failure's keys (why, exit, timed_out, "
			    "infra_error, missing, deadline)");
		r->status = WIRE_OK;
		if (parse_outputs(j, outputs, r) < 0)
			return -1;
	} else {
		if (outputs)
			return json_fail(j, outputs->off, "\"outputs\" in a failure");
		if (!r->why == !r->infra_error)
			return json_fail(
			    j, 0, "\"ok\": false needs exactly one of \"why\" and \"infra_error\"");
		if (r->why) {
			r->status = WIRE_FAILED;
			if (missing || has_deadline)
				return json_fail(j, missing ? missing->off : 0,
				                 "\"%s\" in a program failure",
				                 missing ? "missing" : "deadline");
			if (exitv && parse_exit(j, exitv, r) < 0)
				return -1;
		} else {
			r->status = WIRE_INFRA;
			if (exitv || has_to)
				return json_fail(
				    j, 0, "\"exit\" or \"timed_out\" in an infrastructure error");
			if (missing && parse_missing(j, missing, r) < 0)
				return -1;
		}
	}
	struct json_value *times = json_get(root, "times");
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
	struct json_doc j = {.data = data, .len = len, .what = "wire response"};
	struct json_value root;
	if (parse_document(&j, WIRE_MAX_RESPONSE, &root) < 0)
		return -1;
	int r = parse_response_fields(&j, &root, out);
	json_free(&root);
	if (r < 0)
		wire_response_free(out);
	return r;
}
