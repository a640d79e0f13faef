/**
 * @file json.h
 * The one JSON reader and writer (RFC 8259): the engines' wire format
 * (backend/remote/wire.c), the trace that `gg force --trace` writes
 * (core/scheduler.c) and `gg report` reads (core/trace.c), and
 * `gg describe --json`. tests/rules.sh keeps a second reader from appearing.
 *
 * Strings are byte strings. The writer passes valid UTF-8 through, escapes
 * '"', '\' and control characters, and writes any other byte as \udcXX (a
 * lone low surrogate, as Python's "surrogateescape" does); the reader turns
 * \udc80 .. \udcff back into that byte. So any bytes, NULs included, come
 * back exactly, and the reader accepts whatever the writer writes.
 *
 * The reader builds a tree bounded by struct json_limits, and rejects
 * anything beyond the grammar: invalid UTF-8 (unless raw_bytes), unpaired
 * surrogates other than the escaped bytes, duplicate member names, NULs in
 * member names, numbers with a leading zero or beyond a double's range, and
 * bytes after the value. It does no I/O.
 */
#ifndef GG_JSON_H
#define GG_JSON_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- writing ---- */

/* Appends s (len bytes) as a quoted JSON string, byte-exact as above. */
void json_add_string(struct buf *b, const char *s, size_t len);
/* The same for a C string. */
void json_add_cstring(struct buf *b, const char *s);

/* ---- reading ---- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_member;

struct json_value {
	enum json_type type;
	size_t off; /* the byte where the value starts, for messages */
	union {
		bool b;
		struct {
			double d;   /* the value */
			bool whole; /* written without a fraction or an exponent */
			bool neg;   /* written with a '-' */
			uint64_t u; /* whole: the magnitude, UINT64_MAX when larger */
		} num;
		struct buf str; /* data is never NULL; may hold NULs */
		struct {
			struct json_value *v;
			size_t n;
		} arr;
		struct {
			struct json_member *m;
			size_t n;
		} obj;
	} u;
};

struct json_member {
	char *key; /* never holds a NUL */
	struct json_value v;
	bool used; /* set by json_get */
};

struct json_limits {
	int max_depth;     /* arrays and objects nested at most this deep */
	size_t max_keys;   /* members in one object; 0: no limit */
	size_t max_values; /* values in the whole document; 0: no limit */
	bool raw_bytes;    /* accept bytes that are not UTF-8 in strings, as is */
};

/*
 * A document being read: its bytes, and how its errors say where. The
 * reader's errors and its callers' (a schema's) go through json_fail, so
 * that all say where the same way and the first error, the innermost cause,
 * is the one kept.
 */
struct json_doc {
	const char *data;
	size_t len;
	const char *what; /* "WHAT: at byte N: ..."; NULL: "line L, column C: ..." */
	bool failed;      /* an error is recorded; later ones are not */
	size_t where;     /* the byte offset of that error */
};

/* Records "WHAT: at byte N: MSG" (or "line L, column C: MSG", columns
 * counting bytes) for the byte at off, unless an error is recorded already;
 * returns -1. */
int json_fail(struct json_doc *d, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Parses the JSON value that fills d->data[0 .. d->len) (whitespace around
 * it allowed). 0, or -1 with the error recorded by json_fail and *out empty
 * (JSON_NULL, nothing to free).
 */
int json_parse(struct json_doc *d, const struct json_limits *lim, struct json_value *out);
void json_free(struct json_value *v);

/* The member named key of an object (marked used), or NULL: absent, or v is
 * not an object. */
struct json_value *json_get(struct json_value *obj, const char *key);
/* The first member of an object that json_get has not asked for, or NULL. */
const struct json_member *json_unused(const struct json_value *obj);
/* "null", "true or false", "a number", "a string", "an array", "an object". */
const char *json_type_name(enum json_type t);

#endif
